//! The model's moving parts: volatility regimes, fair values and participant flows.
//!
//! See the module docs of [`super`] for the model; this file holds its mechanics.

use tickrail_engine::{Event, EventBody, EventHeader, Price, Qty, Side, TimeInForce};

use super::config::{InstrumentConfig, OrderSize, VolRegime};
use super::rng::{self, Stream, StreamRng};
use crate::venue::{SimVenue, PARTICIPANT_ID_BIT};

/// The Markov process of volatility regimes, shared by every instrument.
#[derive(Debug)]
pub(crate) struct Regimes {
    regimes: Vec<VolRegime>,
    current: usize,
    /// When the current regime ends (`i64::MAX` with a single regime).
    next_switch_ns: i64,
    rng: StreamRng,
    switches: u64,
}

impl Regimes {
    pub(crate) fn new(seed: u64, regimes: &[VolRegime], start_ns: i64) -> Self {
        let mut r = Self {
            regimes: regimes.to_vec(),
            current: 0,
            next_switch_ns: i64::MAX,
            rng: rng::stream(seed, Stream::Regime),
            switches: 0,
        };
        r.schedule(start_ns);
        r
    }

    fn schedule(&mut self, from_ns: i64) {
        self.next_switch_ns = if self.regimes.len() < 2 {
            i64::MAX
        } else {
            let mean_s = self.regimes[self.current].mean_duration_s;
            from_ns.saturating_add(rng::exp_gap_ns(&mut self.rng, 1.0 / mean_s))
        };
    }

    /// The time of the next switch.
    pub(crate) fn next_switch_ns(&self) -> i64 {
        self.next_switch_ns
    }

    /// Switches, at its scheduled time, to a uniformly drawn other regime.
    pub(crate) fn switch(&mut self) {
        let n = self.regimes.len();
        if n < 2 {
            return;
        }
        let at_ns = self.next_switch_ns;
        let step = 1 + rng::below(&mut self.rng, n - 1);
        self.current = (self.current + step) % n;
        self.switches += 1;
        self.schedule(at_ns);
    }

    /// The current regime's index.
    pub(crate) fn current(&self) -> usize {
        self.current
    }

    /// The current volatility of the log fair value, per square root of a second.
    pub(crate) fn sigma_per_sqrt_s(&self) -> f64 {
        self.regimes
            .get(self.current)
            .map_or(0.0, |r| r.vol_bps_per_sqrt_s * 1e-4)
    }

    pub(crate) fn switches(&self) -> u64 {
        self.switches
    }
}

/// An instrument's fair value: a driftless random walk of its logarithm, advanced lazily
/// (whenever a flow acts on the instrument, and at every regime switch).
#[derive(Debug)]
pub(crate) struct FairValue {
    log_px: f64,
    px: f64,
    last_ns: i64,
    vol_multiplier: f64,
    min_log: f64,
    max_log: f64,
    rng: StreamRng,
}

impl FairValue {
    pub(crate) fn new(seed: u64, index: usize, inst: &InstrumentConfig, start_ns: i64) -> Self {
        let initial = inst.initial_mid_raw as f64;
        let floor = (2.0 * inst.tick_raw as f64 * f64::from(inst.depth_levels)).max(initial / 1e6);
        Self {
            log_px: initial.ln(),
            px: initial,
            last_ns: start_ns,
            vol_multiplier: inst.vol_multiplier,
            min_log: floor.ln(),
            max_log: (initial * 1e6).ln(),
            rng: rng::stream(seed, Stream::FairValue(index)),
        }
    }

    /// Moves the walk to `t_ns` under volatility `sigma_per_sqrt_s` (which must have held
    /// since the last update). Draws nothing if no time passed or the volatility is zero.
    pub(crate) fn advance(&mut self, t_ns: i64, sigma_per_sqrt_s: f64) {
        if t_ns <= self.last_ns {
            return;
        }
        let dt_s = (t_ns - self.last_ns) as f64 * 1e-9;
        self.last_ns = t_ns;
        let sigma = sigma_per_sqrt_s * self.vol_multiplier;
        if sigma <= 0.0 {
            return;
        }
        let step = sigma * dt_s.sqrt() * rng::normal(&mut self.rng);
        self.log_px = (self.log_px + step).clamp(self.min_log, self.max_log);
        self.px = self.log_px.exp();
    }

    /// The fair value in raw price units.
    pub(crate) fn raw(&self) -> f64 {
        self.px
    }
}

/// What a flow did, for the market's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// This many limit orders (more than one for the initial book).
    Limit(u32),
    Marketable,
    Cancel,
    Nothing,
}

/// One venue's participant flow for one instrument: Poisson arrivals of limit orders around
/// the fair value, cancels of resting ones and marketable IOC orders leaning toward the fair
/// value.
#[derive(Debug)]
pub(crate) struct Flow {
    /// Index of the venue in the market.
    pub(crate) venue: usize,
    /// Index of the instrument in the config.
    pub(crate) instrument: usize,
    /// The next arrival.
    pub(crate) next_ns: i64,
    /// Whether the initial book has been placed.
    warmed_up: bool,
    clock: StreamRng,
    rng: StreamRng,
    /// Client ids of our participant orders that may still rest (filled ones are pruned
    /// lazily).
    resting: Vec<u64>,
    next_id: u64,
    inst: InstrumentConfig,
    venue_id: u16,
}

impl Flow {
    pub(crate) fn new(
        seed: u64,
        index: usize,
        venue: usize,
        venue_id: u16,
        instrument: usize,
        inst: &InstrumentConfig,
        start_ns: i64,
    ) -> Self {
        Self {
            venue,
            instrument,
            next_ns: start_ns,
            warmed_up: false,
            clock: rng::stream(seed, Stream::FlowClock(index)),
            rng: rng::stream(seed, Stream::FlowDecisions(index)),
            resting: Vec::with_capacity(2 * inst.max_resting_orders as usize + 16),
            next_id: 0,
            inst: *inst,
            venue_id,
        }
    }

    /// Acts at `self.next_ns` against `venue`, given the fair value, and schedules the next
    /// arrival. The first call places the initial book (half the resting bound, spread over
    /// the depth on both sides) instead.
    pub(crate) fn act(&mut self, venue: &mut SimVenue, fair: f64) -> Action {
        let t_ns = self.next_ns;
        self.next_ns =
            t_ns.saturating_add(rng::exp_gap_ns(&mut self.clock, self.inst.events_per_s));
        if !self.warmed_up {
            self.warmed_up = true;
            let n = (self.inst.max_resting_orders / 2).max(1);
            for i in 0..n {
                let side = if i.is_multiple_of(2) {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let k = (i / 2) % self.inst.depth_levels;
                self.place_limit(venue, t_ns, fair, side, k);
            }
            return Action::Limit(n);
        }
        let instrument = self.inst.instrument;
        let (bid, ask, open) = match venue.engine(instrument) {
            Some(e) => {
                let (b, a) = e.best_prices();
                (b, a, e.open_orders())
            }
            None => return Action::Nothing,
        };
        if self.resting.len() > 2 * self.inst.max_resting_orders as usize + 8 {
            if let Some(e) = venue.engine(instrument) {
                self.resting.retain(|&id| e.is_live(id));
            }
        }
        let u = rng::unit(&mut self.rng);
        if u < self.inst.marketable_fraction {
            if let (Some(bid), Some(ask)) = (bid, ask) {
                self.marketable(venue, t_ns, fair, bid, ask);
                return Action::Marketable;
            }
        }
        let fill = open as f64 / f64::from(self.inst.max_resting_orders);
        if rng::unit(&mut self.rng) < fill && self.cancel(venue, t_ns, fair) {
            return Action::Cancel;
        }
        if open >= self.inst.max_resting_orders as usize {
            return Action::Nothing;
        }
        let side = if rng::unit(&mut self.rng) < 0.5 {
            Side::Buy
        } else {
            Side::Sell
        };
        let k = rng::between(&mut self.rng, 0, self.inst.depth_levels - 1);
        self.place_limit(venue, t_ns, fair, side, k);
        Action::Limit(1)
    }

    fn lots(&mut self) -> i64 {
        let lots = match self.inst.order_size {
            OrderSize::Fixed { lots } => lots,
            OrderSize::Uniform { min_lots, max_lots } => {
                rng::between(&mut self.rng, min_lots, max_lots)
            }
            OrderSize::LogNormal {
                median_lots,
                sigma,
                max_lots,
            } => {
                let x = median_lots * (sigma * rng::normal(&mut self.rng)).exp();
                // In range by the clamp; `as` saturates anyway.
                x.round().clamp(1.0, f64::from(max_lots)) as u32
            }
        };
        i64::from(lots.max(1)) * self.inst.lot_raw
    }

    /// A limit order `k` ticks beyond the first tick strictly on `side`'s side of the fair
    /// value (it may cross a lagging book and trade; what is left rests).
    fn place_limit(&mut self, venue: &mut SimVenue, t_ns: i64, fair: f64, side: Side, k: u32) {
        let tick = self.inst.tick_raw;
        let ticks = fair / tick as f64;
        let k = i64::from(k);
        let px_ticks = match side {
            Side::Buy => ticks.ceil() as i64 - 1 - k,
            Side::Sell => ticks.floor() as i64 + 1 + k,
        };
        let price = px_ticks.max(1).saturating_mul(tick);
        let qty = self.lots();
        let id = self.fresh_id();
        self.resting.push(id);
        self.send(
            venue,
            t_ns,
            EventBody::OrderNew {
                side,
                tif: TimeInForce::Gtc,
                venue: self.venue_id,
                client_order_id: id,
                price: Price::new(price),
                qty: Qty::new(qty),
            },
        );
    }

    /// An IOC order through the touch (up to two ticks deeper), buying with a probability
    /// that grows with how far the fair value is above the venue's mid.
    fn marketable(&mut self, venue: &mut SimVenue, t_ns: i64, fair: f64, bid: Price, ask: Price) {
        let tick = self.inst.tick_raw;
        let mid = (bid.raw() as f64 + ask.raw() as f64) / 2.0;
        let p_buy = 0.5 + 0.45 * ((fair - mid) / tick as f64).tanh();
        let sweep = i64::from(rng::between(&mut self.rng, 0, 2)) * tick;
        let (side, price) = if rng::unit(&mut self.rng) < p_buy {
            (Side::Buy, ask.raw().saturating_add(sweep))
        } else {
            (Side::Sell, (bid.raw() - sweep).max(tick))
        };
        let qty = self.lots();
        let id = self.fresh_id();
        self.send(
            venue,
            t_ns,
            EventBody::OrderNew {
                side,
                tif: TimeInForce::Ioc,
                venue: self.venue_id,
                client_order_id: id,
                price: Price::new(price),
                qty: Qty::new(qty),
            },
        );
    }

    /// Cancels one of two randomly drawn live resting orders, the farther from the fair
    /// value (so stale orders left behind by a moving price go first). `false` if none found.
    fn cancel(&mut self, venue: &mut SimVenue, t_ns: i64, fair: f64) -> bool {
        let Some(engine) = venue.engine(self.inst.instrument) else {
            return false;
        };
        // Up to two live candidates: (index in `resting`, distance from the fair value).
        let mut picks: [Option<(usize, f64)>; 2] = [None, None];
        let mut found = 0;
        let mut tries = 0;
        while found < 2 && tries < 8 && !self.resting.is_empty() {
            tries += 1;
            let i = rng::below(&mut self.rng, self.resting.len());
            let id = self.resting[i];
            match engine.live_order(id) {
                Some(o) => {
                    if picks[0].is_some_and(|(j, _)| j == i) {
                        continue;
                    }
                    picks[found] = Some((i, (o.price.raw() as f64 - fair).abs()));
                    found += 1;
                }
                None => {
                    // Filled (or gone): forget it. A pick already taken may have moved.
                    self.resting.swap_remove(i);
                    let last = self.resting.len();
                    for (j, _) in picks.iter_mut().flatten() {
                        if *j == last {
                            *j = i;
                        }
                    }
                }
            }
        }
        let victim = match picks {
            [Some(a), Some(b)] => {
                if b.1 > a.1 {
                    b.0
                } else {
                    a.0
                }
            }
            [Some(a), None] => a.0,
            _ => return false,
        };
        let target = self.resting.swap_remove(victim);
        let id = self.fresh_id();
        self.send(
            venue,
            t_ns,
            EventBody::OrderCancel {
                client_order_id: id,
                orig_client_order_id: target,
            },
        );
        true
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id += 1;
        PARTICIPANT_ID_BIT | self.next_id
    }

    fn send(&mut self, venue: &mut SimVenue, t_ns: i64, body: EventBody) {
        let request = Event {
            header: EventHeader {
                sequence: self.next_id,
                cause_sequence: self.next_id,
                exchange_ts_ns: t_ns,
                receive_ts_ns: t_ns,
                instrument: self.inst.instrument,
                price_scale: self.inst.price_scale.get(),
                qty_scale: self.inst.qty_scale.get(),
                source: self.venue_id,
            },
            body,
        };
        let sent = venue.submit_participant(t_ns, &request);
        debug_assert!(sent.is_ok(), "participant request refused: {sent:?}");
    }
}
