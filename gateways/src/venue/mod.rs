//! The simulated venue: price-time matching engines behind order-entry and ack latency.
//!
//! - [`MatchingEngine`] ([`matching`]): one instrument's book. Limit orders rest in
//!   price-time priority; an incoming order trades against the opposite side best price
//!   first, FIFO within a level, at the resting order's price. Time in force: `Ioc` cancels
//!   the rest, `Fok` fills completely or is rejected without trading, `PostOnly` is rejected
//!   if it would cross, `Day` and `Gtc` rest (there is no session end yet: both behave
//!   alike). Cancels and amends (cancel/replace) by client id.
//! - [`SimVenue`]: an engine per registered instrument, fed through a time-ordered queue in
//!   **event time**. A request submitted at `t` is processed at `t + entry_latency_ns`; its
//!   reports and trade prints carry `exchange_ts_ns` = processing time and are delivered
//!   (with `receive_ts_ns`) at processing time `+ ack_latency_ns`. Ties are broken by
//!   submission order, so the output is a pure function of the submitted stream.
//!
//! Outputs are [`EventBody::ExecReport`]s (ack, partial fill, fill, canceled, replaced,
//! rejected, cancel-rejected) with `leaves_qty`/`cum_qty`, and [`EventBody::Trade`] prints.
//! Venue order ids and trade ids come from per-instrument counters starting at 1. Output
//! headers carry a venue-local `sequence` (the Sequencer re-stamps inputs), the request's
//! sequence as `cause_sequence`, the venue id as `source` and the listing's scales.
//!
//! **Liquidity**: for now a book holds only orders submitted to the venue. Reports are
//! produced for *every* order, whoever sent it: a test (or a backtest) plays "other
//! participants" by submitting orders from a client id range of its own and filtering the
//! reports by id. Injecting the market data feed as resting liquidity comes later.

pub mod matching;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use tickrail_engine::{Event, EventBody, EventHeader, EventKind, InstrumentId, Scale};

pub use matching::{EngineStats, MatchingEngine, OrderView};

/// Venue reject codes, carried in `ExecReport::reject_code` of `Rejected` and
/// `CancelRejected` reports (0 otherwise). Stable: never renumbered or reused.
pub mod reject {
    /// A cancel or amend names a client id the venue has never seen.
    pub const UNKNOWN_ORDER: u16 = 1;
    /// The request's client id was already used (by any order, cancel or amend).
    pub const DUPLICATE_CLIENT_ID: u16 = 2;
    /// Quantity zero (or negative).
    pub const INVALID_QTY: u16 = 3;
    /// Price zero or negative.
    pub const INVALID_PRICE: u16 = 4;
    /// A post-only order (or amend of one) would cross the opposite side.
    pub const WOULD_CROSS: u16 = 5;
    /// A fill-or-kill order cannot fill completely right now; nothing traded.
    pub const FOK_UNFILLABLE: u16 = 6;
    /// Too late: the order is filled, canceled or was replaced by another client id.
    pub const ORDER_NOT_LIVE: u16 = 7;
    /// The request's instrument is not registered with the venue.
    pub const UNKNOWN_INSTRUMENT: u16 = 8;
}

/// Why [`SimVenue`] refused a call (a bad *request* becomes a reject report instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VenueError {
    /// A latency in the config is negative.
    #[error("venue latency must not be negative: {field} = {value_ns} ns")]
    NegativeLatency {
        /// The config field.
        field: &'static str,
        /// Its value.
        value_ns: i64,
    },
    /// Only `order_new`, `order_cancel` and `order_amend` events can be submitted.
    #[error("not an order request: {kind}")]
    NotAnOrderRequest {
        /// The kind submitted.
        kind: EventKind,
    },
}

/// Latencies and identity of a [`SimVenue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VenueConfig {
    /// The `source` stamped on every output header.
    pub venue_id: u16,
    /// From submission to processing by the matching engine, in nanoseconds.
    pub entry_latency_ns: i64,
    /// From processing to delivery of the reports and prints, in nanoseconds.
    pub ack_latency_ns: i64,
}

#[derive(Debug)]
enum Payload {
    /// A request to process at `due_ns`.
    Request(Event),
    /// An output to deliver at `due_ns`.
    Deliver(Event),
}

#[derive(Debug)]
struct Pending {
    due_ns: i64,
    seq: u64,
    payload: Payload,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.due_ns, self.seq) == (other.due_ns, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    /// Reversed, so that `BinaryHeap` pops the earliest `(due_ns, seq)` first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due_ns, other.seq).cmp(&(self.due_ns, self.seq))
    }
}

#[derive(Debug)]
struct Listing {
    engine: MatchingEngine,
    price_scale: Scale,
    qty_scale: Scale,
}

/// A simulated venue: matching engines per instrument behind event-time latencies.
/// See the module docs.
#[derive(Debug)]
pub struct SimVenue {
    config: VenueConfig,
    listings: BTreeMap<InstrumentId, Listing>,
    queue: BinaryHeap<Pending>,
    next_seq: u64,
    next_output_seq: u64,
}

impl SimVenue {
    /// A venue with no instruments. Fails if a latency is negative.
    pub fn new(config: VenueConfig) -> Result<Self, VenueError> {
        for (field, value_ns) in [
            ("entry_latency_ns", config.entry_latency_ns),
            ("ack_latency_ns", config.ack_latency_ns),
        ] {
            if value_ns < 0 {
                return Err(VenueError::NegativeLatency { field, value_ns });
            }
        }
        Ok(Self {
            config,
            listings: BTreeMap::new(),
            queue: BinaryHeap::new(),
            next_seq: 0,
            next_output_seq: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> VenueConfig {
        self.config
    }

    /// Lists `instrument` with an empty book (a no-op if already listed). Output headers
    /// carry these scales.
    pub fn add_instrument(
        &mut self,
        instrument: InstrumentId,
        price_scale: Scale,
        qty_scale: Scale,
    ) {
        self.listings.entry(instrument).or_insert_with(|| Listing {
            engine: MatchingEngine::new(),
            price_scale,
            qty_scale,
        });
    }

    /// The book of `instrument`, if listed.
    pub fn engine(&self, instrument: InstrumentId) -> Option<&MatchingEngine> {
        self.listings.get(&instrument).map(|l| &l.engine)
    }

    /// Submits an order request (`order_new`, `order_cancel` or `order_amend`, for the
    /// header's instrument) at event time `now_ns`; it is processed at
    /// `now_ns + entry_latency_ns`. A request for an unlisted instrument is answered with a
    /// [`reject::UNKNOWN_INSTRUMENT`] report.
    pub fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), VenueError> {
        match request.body {
            EventBody::OrderNew { .. }
            | EventBody::OrderCancel { .. }
            | EventBody::OrderAmend { .. } => {}
            other => {
                return Err(VenueError::NotAnOrderRequest { kind: other.kind() });
            }
        }
        let due_ns = now_ns.saturating_add(self.config.entry_latency_ns);
        self.push(due_ns, Payload::Request(*request));
        Ok(())
    }

    /// The time of the next queued processing or delivery, if any.
    pub fn next_due_ns(&self) -> Option<i64> {
        self.queue.peek().map(|p| p.due_ns)
    }

    /// Requests in flight plus outputs not yet delivered.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// Processes every request and delivers every output due at or before `now_ns`, in
    /// `(due time, submission sequence)` order. Outputs due by `now_ns` that were produced
    /// during this call (zero ack latency) are delivered in the same call.
    pub fn advance_to(&mut self, now_ns: i64, out: &mut impl FnMut(Event)) {
        while self.queue.peek().is_some_and(|p| p.due_ns <= now_ns) {
            let Some(Pending {
                due_ns, payload, ..
            }) = self.queue.pop()
            else {
                break;
            };
            match payload {
                Payload::Deliver(event) => out(event),
                Payload::Request(request) => self.process(due_ns, &request),
            }
        }
    }

    fn push(&mut self, due_ns: i64, payload: Payload) {
        self.next_seq += 1;
        self.queue.push(Pending {
            due_ns,
            seq: self.next_seq,
            payload,
        });
    }

    /// Runs `request` through its book at `at_ns` and queues the outputs for delivery.
    fn process(&mut self, at_ns: i64, request: &Event) {
        let deliver_ns = at_ns.saturating_add(self.config.ack_latency_ns);
        let instrument = request.header.instrument;
        let mut bodies = Vec::new();
        let (price_scale, qty_scale) = match self.listings.get_mut(&instrument) {
            Some(listing) => {
                listing
                    .engine
                    .handle(&request.body, &mut |b| bodies.push(b));
                (listing.price_scale.get(), listing.qty_scale.get())
            }
            None => {
                bodies.extend(matching::reject_request(
                    &request.body,
                    reject::UNKNOWN_INSTRUMENT,
                ));
                (request.header.price_scale, request.header.qty_scale)
            }
        };
        for body in bodies {
            self.next_output_seq += 1;
            let header = EventHeader {
                sequence: self.next_output_seq,
                cause_sequence: request.header.sequence,
                exchange_ts_ns: at_ns,
                receive_ts_ns: deliver_ns,
                instrument,
                price_scale,
                qty_scale,
                source: self.config.venue_id,
            };
            self.push(deliver_ns, Payload::Deliver(Event { header, body }));
        }
    }
}

#[cfg(test)]
mod tests;
