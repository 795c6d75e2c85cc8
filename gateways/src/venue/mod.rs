//! The simulated venue: price-time matching engines behind order-entry and ack latency,
//! publishing L3 market data.
//!
//! - [`MatchingEngine`] ([`matching`]): one instrument's book. Limit orders rest in
//!   price-time priority; an incoming order trades against the opposite side best price
//!   first, FIFO within a level, at the resting order's price. Time in force: `Ioc` cancels
//!   the rest, `Fok` fills completely or is rejected without trading, `PostOnly` is rejected
//!   if it would cross, `Day` and `Gtc` rest (there is no session end yet: both behave
//!   alike). Cancels and amends (cancel/replace) by client id.
//! - [`SimVenue`]: an engine per registered instrument, fed in **event time**. Our request
//!   submitted at `t` ([`SimVenue::submit`]) is processed at `t + entry_latency_ns`; its
//!   execution reports carry `exchange_ts_ns` = processing time and are delivered (with
//!   `receive_ts_ns`) at processing time `+ ack_latency_ns`. Ties are broken by submission
//!   order, so the output is a pure function of the submitted stream.
//!
//! Reports are [`EventBody::ExecReport`]s (ack, partial fill, fill, canceled, replaced,
//! rejected, cancel-rejected) with `leaves_qty`/`cum_qty`. Venue order ids and trade ids come
//! from per-instrument counters starting at 1. Output headers carry a venue-local `sequence`
//! (the Sequencer re-stamps inputs), the request's sequence as `cause_sequence`, the venue id
//! as `source` and the listing's scales.
//!
//! ## Public market data
//!
//! With [`VenueConfig::publish_market_data`] on, every change of a venue book is published as
//! L3 market data keyed by **venue order id**, for every order — other participants' and ours
//! alike, as a real L3 feed does: `OrderAdd` when an order rests, `OrderExecute` per fill of
//! a resting order, `OrderDelete` when a resting order is canceled, `OrderModify` (or
//! `OrderDelete` + `OrderAdd`) for an amend, following the engine's priority rules (see
//! [`matching`] for the exact mapping), plus one [`EventBody::Trade`] print per match (the
//! tape). A consumer takes **trades from `Trade`** events and **the book from `OrderExecute`**
//! (and the other L3 events): counting both would count each trade twice. Applied in order to
//! the engine's `L3Book`, the feed reproduces the venue's book exactly.
//!
//! Market data is delivered at processing time `+ feed_latency_ns` (`exchange_ts_ns` =
//! processing time, `receive_ts_ns` = delivery time), in the order the engine produced it.
//! With publishing off, the trade prints are delivered with the reports (at the ack latency)
//! and nothing else is public.
//!
//! ## Liquidity: other participants
//!
//! Other market participants' order requests enter through [`SimVenue::submit_participant`]:
//! processed at exactly the given time (no entry latency), with client order ids in the
//! reserved range — ids with [`PARTICIPANT_ID_BIT`] (the top bit) set. Their execution reports
//! are **not delivered**: only the public market data shows their activity, and the venue
//! forgets their orders once finished (memory stays bounded). Our requests must use ids
//! without that bit: an order, cancel or amend of ours naming a reserved id (as its own id or
//! as the order it targets) is refused with [`reject::RESERVED_CLIENT_ID`]. Our orders trade
//! against theirs like any other. The synthetic market (`crate::synthetic`) drives this
//! participant flow.
//!
//! ## Time
//!
//! Requests, reports and market data wait in three queues (requests ordered by due time,
//! reports and market data FIFO) and are handled in `(due time, submission sequence)` order
//! across them. The venue never processes in the past: a request submitted late (due before
//! the last processing time) is processed at the last processing time.

pub mod matching;

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

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
    /// One of our requests uses (or targets) a client id in the participants' reserved range
    /// (see [`super::PARTICIPANT_ID_BIT`]).
    pub const RESERVED_CLIENT_ID: u16 = 9;
}

/// The client order ids of other market participants (see the module docs) are those with
/// this bit — the top bit — set; ours must not have it.
pub const PARTICIPANT_ID_BIT: u64 = 1 << 63;

/// Whether `client_order_id` is in the participants' reserved range.
pub const fn is_participant_id(client_order_id: u64) -> bool {
    client_order_id & PARTICIPANT_ID_BIT != 0
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
    /// A participant request whose client id (or target id) lacks [`PARTICIPANT_ID_BIT`].
    #[error("participant client order id {client_order_id:#x} is outside the reserved range")]
    NotAParticipantId {
        /// The offending id.
        client_order_id: u64,
    },
}

/// Latencies, identity and publication of a [`SimVenue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VenueConfig {
    /// The `source` stamped on every output header.
    pub venue_id: u16,
    /// From submission to processing by the matching engine, in nanoseconds.
    pub entry_latency_ns: i64,
    /// From processing to delivery of the reports (and, without publishing, the prints), in
    /// nanoseconds.
    pub ack_latency_ns: i64,
    /// From processing to delivery of the public market data, in nanoseconds.
    pub feed_latency_ns: i64,
    /// Publish every book change as L3 market data plus trade prints (see the module docs).
    pub publish_market_data: bool,
}

/// A request waiting for its processing time.
#[derive(Debug)]
struct Pending {
    due_ns: i64,
    seq: u64,
    participant: bool,
    request: Event,
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

/// An output waiting for its delivery time.
#[derive(Debug, Clone, Copy)]
struct Outgoing {
    due_ns: i64,
    seq: u64,
    event: Event,
}

/// Counters of what a [`SimVenue`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VenueStats {
    /// Our requests processed.
    pub requests: u64,
    /// Participant requests processed.
    pub participant_requests: u64,
    /// Execution reports queued for delivery (ours only).
    pub reports: u64,
    /// Participant execution reports dropped (not delivered).
    pub participant_reports_dropped: u64,
    /// Market data events queued for delivery (L3 events and trade prints).
    pub market_data: u64,
}

/// Where [`SimVenue::process`] sends what an engine emits: the delivery queues and counters.
#[derive(Debug, Default)]
struct Outbox {
    acks: VecDeque<Outgoing>,
    feed: VecDeque<Outgoing>,
    next_seq: u64,
    next_output_seq: u64,
    stats: VenueStats,
}

impl Outbox {
    fn push(queue: &mut VecDeque<Outgoing>, seq: &mut u64, due_ns: i64, event: Event) {
        *seq += 1;
        debug_assert!(queue.back().is_none_or(|o| o.due_ns <= due_ns));
        queue.push_back(Outgoing {
            due_ns,
            seq: *seq,
            event,
        });
    }

    /// Queues `body` as an output of `request`: reports to the ack queue (ours only),
    /// market data to the feed queue.
    fn route(&mut self, body: EventBody, ctx: &OutputContext) {
        let to_feed = match body {
            EventBody::ExecReport {
                client_order_id, ..
            } => {
                if is_participant_id(client_order_id) && !ctx.ours_rejected {
                    self.stats.participant_reports_dropped += 1;
                    return;
                }
                self.stats.reports += 1;
                false
            }
            EventBody::Trade { .. } => ctx.publish,
            _ => true,
        };
        let (queue, due_ns) = if to_feed {
            self.stats.market_data += 1;
            (&mut self.feed, ctx.feed_ns)
        } else {
            (&mut self.acks, ctx.ack_ns)
        };
        self.next_output_seq += 1;
        let event = Event {
            header: EventHeader {
                sequence: self.next_output_seq,
                cause_sequence: ctx.cause_sequence,
                exchange_ts_ns: ctx.at_ns,
                receive_ts_ns: due_ns,
                instrument: ctx.instrument,
                price_scale: ctx.price_scale,
                qty_scale: ctx.qty_scale,
                source: ctx.venue_id,
            },
            body,
        };
        Self::push(queue, &mut self.next_seq, due_ns, event);
    }
}

/// What every output of one processed request shares.
#[derive(Debug)]
struct OutputContext {
    at_ns: i64,
    ack_ns: i64,
    feed_ns: i64,
    cause_sequence: u64,
    instrument: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
    venue_id: u16,
    publish: bool,
    /// The request is ours but was refused for a reserved id: deliver its reject anyway.
    ours_rejected: bool,
}

/// Which queue holds the next item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Request,
    Ack,
    Feed,
}

/// A simulated venue: matching engines per instrument behind event-time latencies, with
/// participant order entry and public L3 market data. See the module docs.
#[derive(Debug)]
pub struct SimVenue {
    config: VenueConfig,
    listings: BTreeMap<InstrumentId, Listing>,
    requests: BinaryHeap<Pending>,
    outbox: Outbox,
    /// The last processing time: the venue never processes before it.
    clock_ns: i64,
    /// Reused by [`Self::process`] for what an engine emits.
    scratch: Vec<EventBody>,
}

impl SimVenue {
    /// A venue with no instruments. Fails if a latency is negative.
    pub fn new(config: VenueConfig) -> Result<Self, VenueError> {
        for (field, value_ns) in [
            ("entry_latency_ns", config.entry_latency_ns),
            ("ack_latency_ns", config.ack_latency_ns),
            ("feed_latency_ns", config.feed_latency_ns),
        ] {
            if value_ns < 0 {
                return Err(VenueError::NegativeLatency { field, value_ns });
            }
        }
        Ok(Self {
            config,
            listings: BTreeMap::new(),
            requests: BinaryHeap::new(),
            outbox: Outbox::default(),
            clock_ns: i64::MIN,
            scratch: Vec::with_capacity(64),
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
        let publish = self.config.publish_market_data;
        self.listings.entry(instrument).or_insert_with(|| {
            let mut engine = MatchingEngine::new();
            engine.set_publish(publish);
            engine.set_transient_ids(PARTICIPANT_ID_BIT);
            Listing {
                engine,
                price_scale,
                qty_scale,
            }
        });
    }

    /// The book of `instrument`, if listed.
    pub fn engine(&self, instrument: InstrumentId) -> Option<&MatchingEngine> {
        self.listings.get(&instrument).map(|l| &l.engine)
    }

    /// The listed instruments, in id order.
    pub fn instruments(&self) -> impl Iterator<Item = InstrumentId> + '_ {
        self.listings.keys().copied()
    }

    /// What the venue has done so far.
    pub fn stats(&self) -> VenueStats {
        self.outbox.stats
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
        self.push_request(due_ns, false, request);
        Ok(())
    }

    /// Submits another market participant's order request, processed at exactly `at_ns` (no
    /// entry latency; after anything already due at or before `at_ns`). Its client id — and,
    /// for a cancel or amend, the id it targets — must carry [`PARTICIPANT_ID_BIT`]. Its
    /// execution reports are not delivered; with [`VenueConfig::publish_market_data`] its
    /// effect on the book is.
    pub fn submit_participant(&mut self, at_ns: i64, request: &Event) -> Result<(), VenueError> {
        let (id, target) = match request.body {
            EventBody::OrderNew {
                client_order_id, ..
            } => (client_order_id, client_order_id),
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            }
            | EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                ..
            } => (client_order_id, orig_client_order_id),
            other => {
                return Err(VenueError::NotAnOrderRequest { kind: other.kind() });
            }
        };
        for client_order_id in [id, target] {
            if !is_participant_id(client_order_id) {
                return Err(VenueError::NotAParticipantId { client_order_id });
            }
        }
        self.push_request(at_ns, true, request);
        Ok(())
    }

    /// The time of the next queued processing or delivery, if any.
    pub fn next_due_ns(&self) -> Option<i64> {
        self.peek_next().map(|(due_ns, _)| due_ns)
    }

    /// Requests in flight plus outputs not yet delivered.
    pub fn pending(&self) -> usize {
        self.requests.len() + self.outbox.acks.len() + self.outbox.feed.len()
    }

    /// Processes every request and delivers every output due at or before `now_ns`, in
    /// `(due time, submission sequence)` order. Outputs due by `now_ns` that were produced
    /// during this call (zero ack or feed latency) are delivered in the same call.
    pub fn advance_to(&mut self, now_ns: i64, out: &mut impl FnMut(Event)) {
        while let Some((due_ns, next)) = self.peek_next() {
            if due_ns > now_ns {
                break;
            }
            match next {
                Next::Request => {
                    if let Some(p) = self.requests.pop() {
                        self.process(p.due_ns, p.participant, &p.request);
                    }
                }
                Next::Ack => {
                    if let Some(o) = self.outbox.acks.pop_front() {
                        out(o.event);
                    }
                }
                Next::Feed => {
                    if let Some(o) = self.outbox.feed.pop_front() {
                        out(o.event);
                    }
                }
            }
        }
    }

    /// The earliest `(due, seq)` among the three queues' heads.
    fn peek_next(&self) -> Option<(i64, Next)> {
        let mut best: Option<(i64, u64, Next)> = self
            .requests
            .peek()
            .map(|p| (p.due_ns, p.seq, Next::Request));
        for (queue, next) in [
            (&self.outbox.acks, Next::Ack),
            (&self.outbox.feed, Next::Feed),
        ] {
            if let Some(o) = queue.front() {
                if best.is_none_or(|(due_ns, seq, _)| (o.due_ns, o.seq) < (due_ns, seq)) {
                    best = Some((o.due_ns, o.seq, next));
                }
            }
        }
        best.map(|(due_ns, _, next)| (due_ns, next))
    }

    fn push_request(&mut self, due_ns: i64, participant: bool, request: &Event) {
        self.outbox.next_seq += 1;
        self.requests.push(Pending {
            due_ns,
            seq: self.outbox.next_seq,
            participant,
            request: *request,
        });
    }

    /// Runs `request` through its book at `due_ns` (or the venue's clock, if later) and
    /// queues the outputs for delivery.
    fn process(&mut self, due_ns: i64, participant: bool, request: &Event) {
        let at_ns = due_ns.max(self.clock_ns);
        self.clock_ns = at_ns;
        if participant {
            self.outbox.stats.participant_requests += 1;
        } else {
            self.outbox.stats.requests += 1;
        }
        let instrument = request.header.instrument;
        let mut ctx = OutputContext {
            at_ns,
            ack_ns: at_ns.saturating_add(self.config.ack_latency_ns),
            feed_ns: at_ns.saturating_add(self.config.feed_latency_ns),
            cause_sequence: request.header.sequence,
            instrument,
            price_scale: request.header.price_scale,
            qty_scale: request.header.qty_scale,
            venue_id: self.config.venue_id,
            publish: self.config.publish_market_data,
            ours_rejected: false,
        };
        let refused = if !participant && names_reserved_id(&request.body) {
            ctx.ours_rejected = true;
            Some(reject::RESERVED_CLIENT_ID)
        } else if !self.listings.contains_key(&instrument) {
            Some(reject::UNKNOWN_INSTRUMENT)
        } else {
            None
        };
        if let Some(listing) = self.listings.get(&instrument) {
            ctx.price_scale = listing.price_scale.get();
            ctx.qty_scale = listing.qty_scale.get();
        }
        if let Some(code) = refused {
            if let Some(body) = matching::reject_request(&request.body, code) {
                self.outbox.route(body, &ctx);
            }
            return;
        }
        let Some(listing) = self.listings.get_mut(&instrument) else {
            return;
        };
        let scratch = &mut self.scratch;
        scratch.clear();
        listing
            .engine
            .handle(&request.body, &mut |b| scratch.push(b));
        for body in scratch.drain(..) {
            self.outbox.route(body, &ctx);
        }
    }
}

/// Whether an order request of ours uses or targets a participant's reserved client id.
fn names_reserved_id(body: &EventBody) -> bool {
    match *body {
        EventBody::OrderNew {
            client_order_id, ..
        } => is_participant_id(client_order_id),
        EventBody::OrderCancel {
            client_order_id,
            orig_client_order_id,
        }
        | EventBody::OrderAmend {
            client_order_id,
            orig_client_order_id,
            ..
        } => is_participant_id(client_order_id) || is_participant_id(orig_client_order_id),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
