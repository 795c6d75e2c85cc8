//! The synthetic market: seeded participant flow on simulated venues, for backtests, demos
//! and benchmarks that need a live-looking market without a data file.
//!
//! # The model
//!
//! - **Fair value.** Each instrument has a fair value whose logarithm follows a driftless
//!   Gaussian random walk in event time: over `dt` seconds it moves by `σ·√dt·Z`, with `σ`
//!   the current regime's volatility (basis points per √second) times the instrument's
//!   `vol_multiplier`. It is advanced lazily, at every participant action on the instrument
//!   and at every regime switch, and clamped to a wide band so prices stay positive.
//! - **Volatility regimes.** A Markov process over [`VolRegime`]s shared by all
//!   instruments: it starts in the first, stays an exponentially distributed time with the
//!   regime's mean, then jumps to a uniformly drawn other regime.
//! - **Participant flow.** Per venue and instrument, actions arrive as a Poisson process of
//!   `events_per_s`. At the first arrival (the start) the flow places an initial book: half
//!   of `max_resting_orders` limit orders spread over the depth on both sides. Then each
//!   arrival is
//!   - with probability `marketable_fraction`, a **marketable IOC** order through the touch
//!     (up to two ticks deeper), buying with probability `0.5 + 0.45·tanh((fair − mid)/tick)`
//!     — the flow leans toward the fair value, so the venue's prices follow it and trades
//!     print;
//!   - otherwise, with probability `resting / max_resting_orders`, a **cancel** of one of
//!     two randomly drawn resting participant orders, the one farther from the fair value
//!     (stale orders go first; the number of resting orders stays bounded);
//!   - otherwise a **limit order** (GTC) on a random side, 1 to `depth_levels` ticks beyond
//!     the fair value (buys below it, sells above it), so the book keeps several levels of
//!     depth. When the venue's book lags a moving fair value, such an order crosses and
//!     trades first.
//!
//!   Sizes come from [`OrderSize`], in lots. Participant orders go through
//!   [`SimVenue::submit_participant`]: processed at once, their reports never delivered.
//! - **Several venues** each get their own flow around the same fair values: their prices
//!   agree within a few ticks while their books (orders, queues, trades) differ.
//!
//! # What the engine sees
//!
//! [`SyntheticMarket::next_event`] returns the public L3 market data of every venue
//! (`OrderAdd`, `OrderExecute`, `OrderDelete`, `OrderModify` keyed by venue order id, and a
//! `Trade` print per match: take trades from `Trade` and the book from the L3 events) and the
//! execution reports of **our** orders, in delivery-time order. Everything runs in event time
//! in one global order — participant actions, regime switches and each venue's request and
//! delivery queues — so causality holds: an order we submit at `t` (the receive time of the
//! last event returned, or later) is processed at `t + entry_latency_ns`, after every
//! participant action due before then and before every later one. Ties at the same
//! nanosecond go to venue queues first (in venue order), then a regime switch, then flows (in
//! venue, then instrument order).
//!
//! # Determinism
//!
//! No clock, no unseeded randomness, no hash-map iteration: with the same config and the
//! same orders of ours, the stream is the same. Randomness comes from independent seeded
//! ChaCha8 streams behind one seam (`synthetic/rng.rs`): arrival times and fair values depend
//! on the seed only, so submitting orders changes how participants react (the books differ)
//! but not the fair value path.

pub mod config;
mod flow;
mod from_engine;
mod rng;

use std::collections::{BTreeMap, VecDeque};

use tickrail_engine::{Event, EventBody, EventKind, InstrumentId};

pub use config::{ConfigError, InstrumentConfig, OrderSize, SyntheticConfig, VolRegime};
pub use from_engine::SYNTHETIC_START_NS;

use crate::venue::{SimVenue, VenueError};
use flow::{Action, FairValue, Flow, Regimes};

/// Why [`SyntheticMarket::submit`] refused a request (nothing was submitted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Only `order_new`, `order_cancel` and `order_amend` can be submitted.
    #[error("not an order request: {kind}")]
    NotAnOrderRequest {
        /// The kind submitted.
        kind: EventKind,
    },
    /// An `order_new` names a venue the market does not have.
    #[error("unknown venue {venue}")]
    UnknownVenue {
        /// The `venue` field.
        venue: u16,
    },
    /// A cancel or amend targets a client id never submitted as a new order or amend.
    #[error("cancel or amend of unknown client order id {orig_client_order_id}")]
    UnknownOrder {
        /// The targeted id.
        orig_client_order_id: u64,
    },
    /// `now_ns` is before the receive time of the last event returned: the market has
    /// already moved past it.
    #[error("submitted at {now_ns} ns, before the market time {market_ns} ns")]
    InThePast {
        /// The submission time given.
        now_ns: i64,
        /// The receive time of the last event returned.
        market_ns: i64,
    },
    /// The venue refused the call.
    #[error(transparent)]
    Venue(#[from] VenueError),
}

/// Counters of what the market did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyntheticStats {
    /// Participant limit orders (initial book included).
    pub participant_limit_orders: u64,
    /// Participant marketable IOC orders.
    pub participant_marketable_orders: u64,
    /// Participant cancels.
    pub participant_cancels: u64,
    /// Regime switches so far.
    pub regime_switches: u64,
    /// Requests of ours accepted by [`SyntheticMarket::submit`].
    pub our_requests: u64,
    /// Events returned by [`SyntheticMarket::next_event`].
    pub events: u64,
    /// `Trade` prints returned.
    pub trades: u64,
    /// Events returned, by input kind code (1..=12).
    by_kind: [u64; EventKind::FIRST_OUTPUT_CODE as usize],
}

impl SyntheticStats {
    /// Participant orders (limit and marketable; cancels not included).
    pub fn participant_orders(&self) -> u64 {
        self.participant_limit_orders + self.participant_marketable_orders
    }

    /// Events of `kind` returned (0 for output kinds, which the market never returns).
    pub fn events_of(&self, kind: EventKind) -> u64 {
        self.by_kind
            .get(usize::from(kind.code()))
            .copied()
            .unwrap_or(0)
    }
}

/// Which source acts next in the global event-time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Venue(usize),
    RegimeSwitch,
    Flow(usize),
}

/// A seeded synthetic market: venues, fair values, regimes and participant flow. See the
/// module docs.
#[derive(Debug)]
pub struct SyntheticMarket {
    config: SyntheticConfig,
    venues: Vec<SimVenue>,
    fair: Vec<FairValue>,
    regimes: Regimes,
    flows: Vec<Flow>,
    /// The earliest flow arrival and its flow (cached: only the flow that acted moves).
    next_flow: Option<(i64, usize)>,
    /// Delivered events not yet returned, in order.
    ready: VecDeque<Event>,
    /// Our client ids (orders and amends) to the index of the venue they went to.
    routes: BTreeMap<u64, usize>,
    /// The receive time of the last event returned (the start before any).
    now_ns: i64,
    end_ns: i64,
    stats: SyntheticStats,
}

impl SyntheticMarket {
    /// Builds the market: validates `config`, creates the venues and lists every instrument
    /// on each. Nothing happens until [`Self::next_event`] is called.
    pub fn new(config: SyntheticConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let mut venues = Vec::with_capacity(config.venues.len());
        for (i, vc) in config.venues.iter().enumerate() {
            let mut venue = SimVenue::new(*vc).map_err(|source| ConfigError::Venue {
                field: format!("venues[{i}]"),
                source,
            })?;
            for inst in &config.instruments {
                venue.add_instrument(inst.instrument, inst.price_scale, inst.qty_scale);
            }
            venues.push(venue);
        }
        let seed = config.seed;
        let start_ns = config.start_ns;
        let fair = config
            .instruments
            .iter()
            .enumerate()
            .map(|(i, inst)| FairValue::new(seed, i, inst, start_ns))
            .collect();
        let mut flows = Vec::with_capacity(config.venues.len() * config.instruments.len());
        for (v, vc) in config.venues.iter().enumerate() {
            for (i, inst) in config.instruments.iter().enumerate() {
                let index = flows.len();
                flows.push(Flow::new(seed, index, v, vc.venue_id, i, inst, start_ns));
            }
        }
        let next_flow = (!flows.is_empty()).then_some((start_ns, 0));
        Ok(Self {
            next_flow,
            regimes: Regimes::new(seed, &config.regimes, start_ns),
            end_ns: config.end_ns(),
            now_ns: start_ns,
            venues,
            fair,
            flows,
            ready: VecDeque::with_capacity(256),
            routes: BTreeMap::new(),
            stats: SyntheticStats::default(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// A lower bound on the receive time of the next event: nothing arrives before it.
    /// `None` when the market is done. For pacing a live run against the wall clock.
    pub fn next_due_ns(&self) -> Option<i64> {
        match self.ready.front() {
            Some(e) => Some(e.header.receive_ts_ns),
            None => self.next_source().map(|(t, _)| t),
        }
    }

    /// The next input for the engine — public market data of any venue or an execution
    /// report of ours — in delivery-time order (`receive_ts_ns` never decreases), or `None`
    /// once participants have stopped (at the end of the duration) and every queue is
    /// drained. Header `sequence`s are venue-local (the Sequencer re-stamps inputs).
    pub fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                debug_assert!(event.header.receive_ts_ns >= self.now_ns);
                self.now_ns = event.header.receive_ts_ns;
                self.count(&event);
                return Some(event);
            }
            let (t_ns, source) = self.next_source()?;
            match source {
                Source::Venue(v) => {
                    let ready = &mut self.ready;
                    if let Some(venue) = self.venues.get_mut(v) {
                        venue.advance_to(t_ns, &mut |e| ready.push_back(e));
                    }
                }
                Source::RegimeSwitch => {
                    let sigma = self.regimes.sigma_per_sqrt_s();
                    for fv in &mut self.fair {
                        fv.advance(t_ns, sigma);
                    }
                    self.regimes.switch();
                    self.stats.regime_switches = self.regimes.switches();
                }
                Source::Flow(f) => {
                    self.act(f, t_ns);
                    self.update_next_flow();
                }
            }
        }
    }

    /// The earliest pending source, if any (flows and switches stop at the end). Ties go
    /// to venues (in order), then the regime switch, then the earliest flow.
    fn next_source(&self) -> Option<(i64, Source)> {
        let mut best: Option<(i64, Source)> = None;
        for (i, venue) in self.venues.iter().enumerate() {
            if let Some(t) = venue.next_due_ns() {
                if best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, Source::Venue(i)));
                }
            }
        }
        let switch_ns = self.regimes.next_switch_ns();
        if switch_ns < self.end_ns && best.is_none_or(|(b, _)| switch_ns < b) {
            best = Some((switch_ns, Source::RegimeSwitch));
        }
        if let Some((t, f)) = self.next_flow {
            if t < self.end_ns && best.is_none_or(|(b, _)| t < b) {
                best = Some((t, Source::Flow(f)));
            }
        }
        best
    }

    /// Recomputes the earliest flow (lowest index on ties) after one acted.
    fn update_next_flow(&mut self) {
        let mut best: Option<(i64, usize)> = None;
        for (i, flow) in self.flows.iter().enumerate() {
            if best.is_none_or(|(b, _)| flow.next_ns < b) {
                best = Some((flow.next_ns, i));
            }
        }
        self.next_flow = best;
    }

    fn act(&mut self, f: usize, t_ns: i64) {
        let sigma = self.regimes.sigma_per_sqrt_s();
        let Some(flow) = self.flows.get_mut(f) else {
            return;
        };
        let (Some(fv), Some(venue)) = (
            self.fair.get_mut(flow.instrument),
            self.venues.get_mut(flow.venue),
        ) else {
            return;
        };
        fv.advance(t_ns, sigma);
        match flow.act(venue, fv.raw()) {
            Action::Limit(n) => self.stats.participant_limit_orders += u64::from(n),
            Action::Marketable => self.stats.participant_marketable_orders += 1,
            Action::Cancel => self.stats.participant_cancels += 1,
            Action::Nothing => {}
        }
    }

    fn count(&mut self, event: &Event) {
        let kind = event.kind();
        self.stats.events += 1;
        if kind == EventKind::Trade {
            self.stats.trades += 1;
        }
        if let Some(n) = self.stats.by_kind.get_mut(usize::from(kind.code())) {
            *n += 1;
        }
    }

    /// Submits an order request of ours at event time `now_ns` (at or after the receive time
    /// of the last event returned). An `order_new` goes to the venue its `venue` field
    /// names; a cancel or amend to the venue its target went to (an amend's new id is then
    /// routed there too). The venue processes it at `now_ns + entry_latency_ns` and delivers
    /// its reports (and its effect on the public book) through [`Self::next_event`].
    pub fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), SubmitError> {
        if now_ns < self.now_ns {
            return Err(SubmitError::InThePast {
                now_ns,
                market_ns: self.now_ns,
            });
        }
        let (venue, new_id) = match request.body {
            EventBody::OrderNew {
                venue,
                client_order_id,
                ..
            } => {
                let index = self
                    .config
                    .venues
                    .iter()
                    .position(|v| v.venue_id == venue)
                    .ok_or(SubmitError::UnknownVenue { venue })?;
                (index, Some(client_order_id))
            }
            EventBody::OrderCancel {
                orig_client_order_id,
                ..
            } => (self.route(orig_client_order_id)?, None),
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                ..
            } => (self.route(orig_client_order_id)?, Some(client_order_id)),
            other => return Err(SubmitError::NotAnOrderRequest { kind: other.kind() }),
        };
        let Some(sim) = self.venues.get_mut(venue) else {
            return Err(SubmitError::UnknownVenue { venue: 0 });
        };
        sim.submit(now_ns, request)?;
        if let Some(id) = new_id {
            // The first use of an id wins (a duplicate is rejected by that venue anyway).
            self.routes.entry(id).or_insert(venue);
        }
        self.stats.our_requests += 1;
        Ok(())
    }

    fn route(&self, orig_client_order_id: u64) -> Result<usize, SubmitError> {
        self.routes
            .get(&orig_client_order_id)
            .copied()
            .ok_or(SubmitError::UnknownOrder {
                orig_client_order_id,
            })
    }

    /// The receive time of the last event returned (the start before any): the earliest
    /// time [`Self::submit`] accepts.
    pub fn now_ns(&self) -> i64 {
        self.now_ns
    }

    /// When participants stop: `start_ns + duration_ns`.
    pub fn end_ns(&self) -> i64 {
        self.end_ns
    }

    /// The venues, in config order.
    pub fn venues(&self) -> &[SimVenue] {
        &self.venues
    }

    /// The venue with id `venue_id`.
    pub fn venue(&self, venue_id: u16) -> Option<&SimVenue> {
        self.venues.iter().find(|v| v.config().venue_id == venue_id)
    }

    /// The fair value of `instrument` in raw price units, as of its last update (the last
    /// participant action on it or regime switch).
    pub fn fair_value_raw(&self, instrument: InstrumentId) -> Option<f64> {
        let i = self
            .config
            .instruments
            .iter()
            .position(|c| c.instrument == instrument)?;
        self.fair.get(i).map(FairValue::raw)
    }

    /// The index (in [`SyntheticConfig::regimes`]) of the current volatility regime.
    pub fn regime(&self) -> usize {
        self.regimes.current()
    }

    /// What the market did so far.
    pub fn stats(&self) -> &SyntheticStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests;
