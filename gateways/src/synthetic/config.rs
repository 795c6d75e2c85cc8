//! The synthetic market's configuration and its validation.

use tickrail_engine::{InstrumentId, Scale};

use crate::venue::{VenueConfig, VenueError};

/// Why a [`SyntheticConfig`] was refused. `field` names the offending field as a path, e.g.
/// `instruments[1].tick_raw` or `regimes[0].mean_duration_s`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// A field is out of range or inconsistent with another.
    #[error("synthetic config: {field}: {reason}")]
    Invalid {
        /// The field, as a path from the config root.
        field: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A venue config was refused by [`crate::venue::SimVenue::new`].
    #[error("synthetic config: {field}: {source}")]
    Venue {
        /// The venue, as `venues[i]`.
        field: String,
        /// Why the venue refused it.
        source: VenueError,
    },
}

fn invalid(field: impl Into<String>, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason,
    }
}

/// A volatility regime of the fair value's log random walk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VolRegime {
    /// Volatility of the log fair value, in basis points per square root of a second of
    /// event time (10 bps/√s is about 6% per √hour). Non-negative, finite.
    pub vol_bps_per_sqrt_s: f64,
    /// Mean time spent in the regime before switching, in seconds (exponentially
    /// distributed). Positive, finite.
    pub mean_duration_s: f64,
}

/// How many lots a participant order has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OrderSize {
    /// Always `lots`.
    Fixed {
        /// Lots per order, at least 1.
        lots: u32,
    },
    /// Uniform in `min_lots..=max_lots`.
    Uniform {
        /// At least 1.
        min_lots: u32,
        /// At least `min_lots`.
        max_lots: u32,
    },
    /// Log-normal around `median_lots` with log-deviation `sigma`, rounded, clamped to
    /// `1..=max_lots` (heavy-ish tail: a few large orders among many small ones).
    LogNormal {
        /// The median, at least 1.
        median_lots: f64,
        /// Standard deviation of the log size, non-negative, finite, at most 5.
        sigma: f64,
        /// The cap, at least 1.
        max_lots: u32,
    },
}

impl OrderSize {
    /// The largest size it can draw, in lots.
    pub fn max_lots(&self) -> u32 {
        match *self {
            Self::Fixed { lots } => lots,
            Self::Uniform { max_lots, .. } | Self::LogNormal { max_lots, .. } => max_lots,
        }
    }

    fn validate(&self, field: &str) -> Result<(), ConfigError> {
        match *self {
            Self::Fixed { lots } => {
                if lots == 0 {
                    return Err(invalid(format!("{field}.lots"), "must be at least 1"));
                }
            }
            Self::Uniform { min_lots, max_lots } => {
                if min_lots == 0 {
                    return Err(invalid(format!("{field}.min_lots"), "must be at least 1"));
                }
                if max_lots < min_lots {
                    return Err(invalid(
                        format!("{field}.max_lots"),
                        "must be at least min_lots",
                    ));
                }
            }
            Self::LogNormal {
                median_lots,
                sigma,
                max_lots,
            } => {
                if !(median_lots.is_finite() && median_lots >= 1.0) {
                    return Err(invalid(
                        format!("{field}.median_lots"),
                        "must be finite and at least 1",
                    ));
                }
                if !(sigma.is_finite() && (0.0..=5.0).contains(&sigma)) {
                    return Err(invalid(format!("{field}.sigma"), "must be within 0..=5"));
                }
                if max_lots == 0 {
                    return Err(invalid(format!("{field}.max_lots"), "must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

/// One instrument of the synthetic market and its participant flow (per venue).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstrumentConfig {
    /// The instrument id, listed on every venue. Unique within the config.
    pub instrument: InstrumentId,
    /// Decimal places of prices.
    pub price_scale: Scale,
    /// Decimal places of quantities.
    pub qty_scale: Scale,
    /// Tick size in raw price units (every participant price is a multiple). Positive.
    pub tick_raw: i64,
    /// Lot size in raw quantity units (every participant quantity is a multiple). Positive.
    pub lot_raw: i64,
    /// The fair value at the start, in raw price units. At least `4 * depth_levels` ticks.
    pub initial_mid_raw: i64,
    /// Participant actions (limit orders, cancels, marketable orders) per second of event
    /// time, **per venue**. Positive, at most 10 million.
    pub events_per_s: f64,
    /// Limit orders are placed 1 to `depth_levels` ticks away from the fair value on either
    /// side, so the book keeps about that many levels per side. 1..=10_000.
    pub depth_levels: u32,
    /// Participants keep the number of orders resting in each venue book (ours counted too)
    /// at or below this bound: cancels become likelier as the book fills and no limit order
    /// is added once it is full. At least 1, at most 1 million.
    pub max_resting_orders: u32,
    /// Share of participant actions that are marketable IOC orders (the rest are limit
    /// orders and cancels). Within `0..=0.9`.
    pub marketable_fraction: f64,
    /// Size of participant orders.
    pub order_size: OrderSize,
    /// Multiplies the regime's volatility for this instrument. Non-negative, finite.
    pub vol_multiplier: f64,
}

impl InstrumentConfig {
    /// An instrument with a default flow: 1000 actions/s per venue, 10 levels, at most 200
    /// resting participant orders, 10% marketable, sizes log-normal around 2 lots (at most
    /// 50), volatility as the regime says.
    pub fn new(
        instrument: InstrumentId,
        price_scale: Scale,
        qty_scale: Scale,
        tick_raw: i64,
        lot_raw: i64,
        initial_mid_raw: i64,
    ) -> Self {
        Self {
            instrument,
            price_scale,
            qty_scale,
            tick_raw,
            lot_raw,
            initial_mid_raw,
            events_per_s: 1_000.0,
            depth_levels: 10,
            max_resting_orders: 200,
            marketable_fraction: 0.1,
            order_size: OrderSize::LogNormal {
                median_lots: 2.0,
                sigma: 0.8,
                max_lots: 50,
            },
            vol_multiplier: 1.0,
        }
    }

    fn validate(&self, field: &str) -> Result<(), ConfigError> {
        let f = |name: &str| format!("{field}.{name}");
        if self.tick_raw <= 0 {
            return Err(invalid(f("tick_raw"), "must be positive"));
        }
        if self.lot_raw <= 0 {
            return Err(invalid(f("lot_raw"), "must be positive"));
        }
        if !(1..=10_000).contains(&self.depth_levels) {
            return Err(invalid(f("depth_levels"), "must be within 1..=10000"));
        }
        let min_mid = self
            .tick_raw
            .checked_mul(4 * i64::from(self.depth_levels))
            .ok_or_else(|| invalid(f("tick_raw"), "too large: tick * depth overflows"))?;
        if self.initial_mid_raw < min_mid {
            return Err(invalid(
                f("initial_mid_raw"),
                "must be at least 4 * depth_levels ticks",
            ));
        }
        // Prices stay within a factor 1e6 of the start (see the fair value's clamp).
        if self.initial_mid_raw > i64::MAX / 4_000_000 {
            return Err(invalid(f("initial_mid_raw"), "too large"));
        }
        if !(self.events_per_s.is_finite() && self.events_per_s > 0.0 && self.events_per_s <= 1e7) {
            return Err(invalid(f("events_per_s"), "must be within (0, 1e7]"));
        }
        if !(1..=1_000_000).contains(&self.max_resting_orders) {
            return Err(invalid(
                f("max_resting_orders"),
                "must be within 1..=1000000",
            ));
        }
        if !(self.marketable_fraction.is_finite()
            && (0.0..=0.9).contains(&self.marketable_fraction))
        {
            return Err(invalid(f("marketable_fraction"), "must be within 0..=0.9"));
        }
        self.order_size.validate(&f("order_size"))?;
        if self
            .lot_raw
            .checked_mul(i64::from(self.order_size.max_lots()))
            .is_none()
        {
            return Err(invalid(f("order_size"), "lot_raw * max lots overflows"));
        }
        if !(self.vol_multiplier.is_finite() && self.vol_multiplier >= 0.0) {
            return Err(invalid(
                f("vol_multiplier"),
                "must be finite and non-negative",
            ));
        }
        Ok(())
    }
}

/// Everything that defines a synthetic market: with the same config (and the same orders of
/// ours), the event stream is the same, byte for byte.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticConfig {
    /// Seeds every random stream.
    pub seed: u64,
    /// Event time of the start, in nanoseconds since the Unix epoch. Non-negative.
    pub start_ns: i64,
    /// How long participants trade, in nanoseconds of event time. Positive.
    pub duration_ns: i64,
    /// The instruments, each listed on every venue. At least one, ids unique.
    pub instruments: Vec<InstrumentConfig>,
    /// Volatility regimes; the market starts in the first and switches (to a uniformly drawn
    /// other one) after exponentially distributed durations. At least one.
    pub regimes: Vec<VolRegime>,
    /// The venues. At least one; ids unique; each must publish market data (the market's
    /// liquidity is visible only through it).
    pub venues: Vec<VenueConfig>,
}

impl SyntheticConfig {
    /// A small market for demos and tests: three instruments (a 100.00 stock with 0.01
    /// ticks, a 25.000 one with 0.005 ticks and a 40,000.0 coin with 0.1 ticks and 0.001
    /// lots), one venue (id 1: 50 µs entry, 50 µs ack, 20 µs feed), a calm (5 bps/√s, mean
    /// 60 s) and a volatile (25 bps/√s, mean 20 s) regime.
    pub fn demo(seed: u64, duration_ns: i64) -> Self {
        let s = Scale::new;
        Self {
            seed,
            start_ns: 1_700_000_000_000_000_000,
            duration_ns,
            instruments: vec![
                InstrumentConfig::new(InstrumentId::new(1), s(2), s(0), 1, 1, 10_000),
                InstrumentConfig::new(InstrumentId::new(2), s(3), s(0), 5, 100, 25_000),
                InstrumentConfig {
                    events_per_s: 2_000.0,
                    ..InstrumentConfig::new(InstrumentId::new(3), s(1), s(3), 1, 1, 400_000)
                },
            ],
            regimes: vec![
                VolRegime {
                    vol_bps_per_sqrt_s: 5.0,
                    mean_duration_s: 60.0,
                },
                VolRegime {
                    vol_bps_per_sqrt_s: 25.0,
                    mean_duration_s: 20.0,
                },
            ],
            venues: vec![VenueConfig {
                venue_id: 1,
                entry_latency_ns: 50_000,
                ack_latency_ns: 50_000,
                feed_latency_ns: 20_000,
                publish_market_data: true,
            }],
        }
    }

    /// The end of participant trading: `start_ns + duration_ns` (saturating).
    pub fn end_ns(&self) -> i64 {
        self.start_ns.saturating_add(self.duration_ns)
    }

    /// Checks every field; the error names the first offending one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.start_ns < 0 {
            return Err(invalid("start_ns", "must not be negative"));
        }
        if self.duration_ns <= 0 {
            return Err(invalid("duration_ns", "must be positive"));
        }
        if self.instruments.is_empty() {
            return Err(invalid("instruments", "must not be empty"));
        }
        if self.instruments.len() > 1 << 16 {
            return Err(invalid("instruments", "at most 65536"));
        }
        for (i, inst) in self.instruments.iter().enumerate() {
            let field = format!("instruments[{i}]");
            inst.validate(&field)?;
            if self.instruments[..i]
                .iter()
                .any(|o| o.instrument == inst.instrument)
            {
                return Err(invalid(format!("{field}.instrument"), "duplicate id"));
            }
        }
        if self.regimes.is_empty() {
            return Err(invalid("regimes", "must not be empty"));
        }
        for (i, r) in self.regimes.iter().enumerate() {
            if !(r.vol_bps_per_sqrt_s.is_finite() && r.vol_bps_per_sqrt_s >= 0.0) {
                return Err(invalid(
                    format!("regimes[{i}].vol_bps_per_sqrt_s"),
                    "must be finite and non-negative",
                ));
            }
            if !(r.mean_duration_s.is_finite() && r.mean_duration_s > 0.0) {
                return Err(invalid(
                    format!("regimes[{i}].mean_duration_s"),
                    "must be finite and positive",
                ));
            }
        }
        if self.venues.is_empty() {
            return Err(invalid("venues", "must not be empty"));
        }
        if self.venues.len() > 1 << 16 {
            return Err(invalid("venues", "at most 65536"));
        }
        for (i, v) in self.venues.iter().enumerate() {
            if !v.publish_market_data {
                return Err(invalid(
                    format!("venues[{i}].publish_market_data"),
                    "must be true",
                ));
            }
            if self.venues[..i].iter().any(|o| o.venue_id == v.venue_id) {
                return Err(invalid(format!("venues[{i}].venue_id"), "duplicate id"));
            }
        }
        Ok(())
    }
}
