//! Strategy parameters (the `[strategy]` section of the config).

/// How the strategy turns the model's output into a predicted edge:
/// `edge_bps = (output − signal_offset) × signal_to_bps`.
///
/// A regression model predicting the mid return in basis points has offset 0 and factor 1;
/// a classifier predicting the probability of an up move has offset 0.5 and a factor that
/// says how many basis points a sure call is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalMap {
    /// Subtracted from the model output.
    pub signal_offset: f64,
    /// Multiplies the centred output into basis points of the mid.
    pub signal_to_bps: f64,
}

/// Passive quoting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteParams {
    /// Half the quoted spread around the fair price, in ticks, `>= 1` (with
    /// [`QuotePrice::Fair`]).
    pub half_spread_ticks: u32,
    /// Inventory skew: the fair price moves against the position by this many ticks at the
    /// full `max_position` (linearly in between), `>= 0` (with [`QuotePrice::Fair`]).
    pub inventory_skew_ticks: f64,
    /// A working quote is moved (amended) only when its desired price differs by at least
    /// this many ticks, `>= 1` (with [`QuoteRefresh::OnChange`]).
    pub requote_ticks: u32,
    /// Where the quotes are priced.
    pub price: QuotePrice,
    /// When they are re-priced.
    pub refresh: QuoteRefresh,
}

/// Where quotes are priced (`[strategy.quote] price`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuotePrice {
    /// `"fair"`: `half_spread_ticks` either side of the fair price (the microprice moved by
    /// the model's edge and the inventory skew).
    #[default]
    Fair,
    /// `"touch"`: at the best bid and the best ask (hftbacktest's quoting example).
    Touch,
}

/// When quotes are re-priced (`[strategy.quote] refresh`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuoteRefresh {
    /// `"on_change"`: at each decision (book change, signal, fill), a quote whose price
    /// moved by `requote_ticks` or more is cancelled and sent again.
    #[default]
    OnChange,
    /// `"every_timer"`: only at the housekeeping timer, and then every working quote is
    /// cancelled and sent again at the new price, moved or not (hftbacktest's quoting
    /// example: every 100 ms, cancel all, post at the touch).
    EveryTimer,
}

/// Aggressive taking when the predicted edge is large.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TakeParams {
    /// Take when `|edge_bps|` is at least this, `> 0`.
    pub threshold_bps: f64,
    /// How far through the touch an IOC may reach, in ticks, `>= 0`.
    pub max_slippage_ticks: u32,
}

/// The strategy's parameters. Quantities are in **lots** of each instrument (its
/// `lot_size`), so one set of parameters fits instruments of different scales.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StrategyParams {
    /// Model output → edge.
    pub signal: SignalMap,
    /// Quote passively (`None`: do not quote).
    pub quote: Option<QuoteParams>,
    /// Take aggressively (`None`: never take).
    pub take: Option<TakeParams>,
    /// Size of each order, lots, `>= 1`.
    pub order_lots: u32,
    /// The position the strategy works toward and never beyond, lots, `>= 1` (risk limits
    /// apply on top).
    pub max_position_lots: u32,
    /// Least event time between two decisions (new orders or moves) per instrument, ns,
    /// `>= 0`.
    pub min_interval_ns: i64,
    /// Period of the housekeeping timer, ns of event time (`0`: no timer). Timers are
    /// inputs ([`crate::timers`]): journaled and replayed like market data.
    pub timer_interval_ns: i64,
    /// At each housekeeping timer, the quotes of an instrument whose reference-venue book
    /// has not changed for this long are pulled (cancelled) until it changes again, ns
    /// (`0`: never). Needs `timer_interval_ns > 0`.
    pub stale_quote_ns: i64,
}

/// A strategy parameter out of range, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StrategyParamsError {
    /// The field's value is out of its range.
    #[error("strategy.{field}: {reason}")]
    OutOfRange {
        /// The field, as named in the config.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

impl StrategyParams {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), StrategyParamsError> {
        let bad = |field, reason| Err(StrategyParamsError::OutOfRange { field, reason });
        if !self.signal.signal_offset.is_finite() {
            return bad("signal_offset", "must be a finite number");
        }
        if !self.signal.signal_to_bps.is_finite() {
            return bad("signal_to_bps", "must be a finite number");
        }
        if self.quote.is_none() && self.take.is_none() {
            return bad(
                "quote",
                "neither [strategy.quote] nor [strategy.take] is configured",
            );
        }
        if let Some(q) = self.quote {
            if q.refresh == QuoteRefresh::EveryTimer && self.timer_interval_ns == 0 {
                return bad(
                    "quote.refresh",
                    "\"every_timer\" needs the housekeeping timer: set timer_interval_ns > 0",
                );
            }
            if q.price == QuotePrice::Touch {
                // The touch has no spread or skew to check.
            } else if q.half_spread_ticks == 0 {
                return bad("quote.half_spread_ticks", "must be at least 1");
            }
            if q.price == QuotePrice::Fair
                && !(q.inventory_skew_ticks.is_finite() && q.inventory_skew_ticks >= 0.0)
            {
                return bad("quote.inventory_skew_ticks", "must be a finite number >= 0");
            }
            if q.requote_ticks == 0 {
                return bad("quote.requote_ticks", "must be at least 1");
            }
        }
        if let Some(t) = self.take {
            if !(t.threshold_bps.is_finite() && t.threshold_bps > 0.0) {
                return bad("take.threshold_bps", "must be a finite number > 0");
            }
        }
        if self.order_lots == 0 {
            return bad("order_lots", "must be at least 1");
        }
        if self.max_position_lots == 0 {
            return bad("max_position_lots", "must be at least 1");
        }
        if self.min_interval_ns < 0 {
            return bad("min_interval_ns", "must not be negative");
        }
        if self.timer_interval_ns < 0 {
            return bad("timer_interval_ns", "must not be negative");
        }
        if self.stale_quote_ns < 0 {
            return bad("stale_quote_ns", "must not be negative");
        }
        if self.stale_quote_ns > 0 && self.timer_interval_ns == 0 {
            return bad(
                "stale_quote_ns",
                "needs the housekeeping timer: set timer_interval_ns > 0",
            );
        }
        Ok(())
    }
}

impl Default for StrategyParams {
    /// Quote one tick either side of the microprice, one lot, up to 10 lots; no taking.
    fn default() -> Self {
        Self {
            signal: SignalMap {
                signal_offset: 0.0,
                signal_to_bps: 1.0,
            },
            quote: Some(QuoteParams {
                half_spread_ticks: 1,
                inventory_skew_ticks: 1.0,
                requote_ticks: 1,
                price: QuotePrice::Fair,
                refresh: QuoteRefresh::OnChange,
            }),
            take: None,
            order_lots: 1,
            max_position_lots: 10,
            min_interval_ns: 0,
            timer_interval_ns: 0,
            stale_quote_ns: 0,
        }
    }
}
