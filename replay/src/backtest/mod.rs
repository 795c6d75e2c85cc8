//! # The historical market simulator
//!
//! [`HistoricalMarket`] is the [`Market`](tickrail_engine::runtime::Market) a backtest runs against: it reads
//! historical market data from a [`FeedSource`](tickrail_gateways::feed::FeedSource) (ITCH,
//! DBN, Binance or CSV adapters, or anything else yielding [`Event`](tickrail_engine::Event)s),
//! hands it to the engine unchanged, and simulates one venue's handling of **our** orders
//! against the book that data describes: acknowledgements, fills when an order takes
//! liquidity at arrival, fills of resting orders from trades through their price and from
//! their estimated queue position, cancels and amends, with entry, acknowledgement and feed
//! latencies in event time. It runs on the single-thread [`Runner`](crate::Runner) like any
//! market; the same data and the same orders give the same stream, byte for byte.
//!
//! ## Time
//!
//! Two clocks: *venue time*, when something happens at the venue, and *receive time*, when
//! the engine gets to know it.
//!
//! - A feed event's **venue time** is its `exchange_ts_ns` (its `receive_ts_ns` when the
//!   exchange time is 0, i.e. unknown), capped at its receive time and never earlier than
//!   the previous feed event's venue time.
//! - Its **receive time** is `exchange_ts_ns + l` with [`BacktestParams::feed_latency_ns`]
//!   `= Some(l)` (for events with an exchange time), or the `receive_ts_ns` it came with
//!   (`None`: a capture's receive time; adapters without one repeat the exchange time).
//!   Receive times are made non-decreasing (an earlier one is raised to the previous one and
//!   counted in [`BacktestStats::receive_clamped`]); this is the only change made to a feed
//!   event.
//! - A request of ours submitted at `now` (the receive time of the input that caused it)
//!   reaches the venue at **`now +` its entry latency**: [`BacktestParams::entry_latency_ns`],
//!   or the model of its type ([`latency_model`], `[backtest.latency]`: `new`, `cancel`,
//!   `replace`) given with [`HistoricalMarket::with_latency`]. In order (the default), never
//!   before an earlier request's arrival: a request drawing a shorter latency than the one
//!   before it waits for it, so requests are handled in submission order (hftbacktest's
//!   order bus does the same). With `in_order = false` a request arrives at its own time and
//!   may overtake earlier ones (a cancel overtaking its order is answered `UNKNOWN_ORDER`);
//!   requests arriving at the same nanosecond keep their submission order.
//! - At the venue, feed events and our requests are processed in venue-time order. A feed
//!   event and a request at the same nanosecond: **the feed event first** — an order
//!   arriving at `T` sees the book as of the last market event with venue time `<= T`.
//! - Every execution report carries `exchange_ts_ns` = the venue time of the processing that
//!   produced it (the request's arrival, or the feed event that filled a resting order) and
//!   `receive_ts_ns` = that **+ the response latency** ([`BacktestParams::ack_latency_ns`],
//!   or the `response` model), raised to the previous report's receive time: reports are
//!   delivered in the order the venue produced them.
//! - Inputs are returned in receive-time order; at the same receive time **market data
//!   first**, then reports; each stream in its processing order.
//! - [`Market::next_due_ns`](tickrail_engine::runtime::Market::next_due_ns) peeks the feed (one event is kept
//!   buffered) and returns a lower bound on the next input's receive time: the earliest of
//!   what is queued for delivery, the next feed event's receive time, the next request's
//!   arrival `+` the least response latency, and, when orders of ours rest on the next feed
//!   event's instrument, that event's venue time `+` the least response latency (it might
//!   fill one).
//!
//! Causality: the venue never processes anything later than the last returned input's
//! receive time `+` the least entry latency of any request type (a model's lower bound: a
//! constant, a distribution's floor, a profile's least point) before a request submitted at
//! that time could arrive —
//! except what precedes the next input to be returned, which no later request can overtake.
//! Submitting before the last returned input's receive time is refused
//! ([`BacktestError::InThePast`]). The Runner never asks for the next input before the
//! current one's orders were submitted, which is what makes this exact.
//!
//! ## Our orders
//!
//! Requests are `OrderNew` for [`BacktestParams::venue`] (another venue is refused at
//! [`submit`](tickrail_engine::runtime::Market::submit) with [`BacktestError::UnknownVenue`]), `OrderCancel` and
//! `OrderAmend`. At its arrival an `OrderNew` is checked, in this order, and refused with a
//! `Rejected` report carrying a [`venue::reject`](tickrail_gateways::venue::reject) code:
//! client id already used ([`DUPLICATE_CLIENT_ID`](tickrail_gateways::venue::reject::DUPLICATE_CLIENT_ID)),
//! instrument not given at construction ([`UNKNOWN_INSTRUMENT`](tickrail_gateways::venue::reject::UNKNOWN_INSTRUMENT)),
//! quantity `<= 0` ([`INVALID_QTY`](tickrail_gateways::venue::reject::INVALID_QTY)), price `<= 0`
//! ([`INVALID_PRICE`](tickrail_gateways::venue::reject::INVALID_PRICE)), post-only that would
//! cross ([`WOULD_CROSS`](tickrail_gateways::venue::reject::WOULD_CROSS)), fill-or-kill that
//! cannot fill completely against the displayed book ([`FOK_UNFILLABLE`](tickrail_gateways::venue::reject::FOK_UNFILLABLE)).
//! Otherwise it is acknowledged (`Ack`, with a venue order id counting from 1) and:
//!
//! - **Taking at arrival.** A limit order that crosses takes liquidity from the displayed
//!   opposite levels, best first, up to its limit, each level capped by its displayed size:
//!   one fill report per level, at the level's price. IOC: the rest is `Canceled`. FOK:
//!   checked above, so it fills completely. `Day`, `Gtc`, `PostOnly`: the rest rests.
//! - **Resting.** A resting order gets a queue position ([`queue`]) at the back of its level
//!   and fills, at **its own price**, when
//!   - (a) **a trade prints through its price**: for a buy, a trade below its price; for a
//!     sell, above — a `Trade` print whose aggressor is the other side (or unknown), or on L3
//!     data an `OrderExecute` of a resting order on our side at a worse price. Whatever is
//!     left fills at once (one report);
//!   - (b) **the queue reaches it**: executions at its price against its side beyond the
//!     quantity still ahead of it (see [`queue`] for what moves the queue under each model):
//!     the quantity beyond the queue fills, up to what is left. Several orders of ours at the
//!     same level share one execution in their arrival order (their fills from one execution
//!     never exceed it); each tracks its position among the historical orders only.
//!
//!   - (c) **the opposite best reaches it**, only with `[backtest] fill_on_cross = true`
//!     ([`HistoricalMarket::with_fill_on_cross`]): after a feed event, a buy whose price is
//!     at or above the data's best ask, or a sell at or below its best bid, fills whatever
//!     is left at once (one report), as hftbacktest's exchange models fill a resting order
//!     the best price moves through.
//!
//!   A `Trade` whose aggressor is our own side (buyers lifting asks at or below our bid) is
//!   liquidity on the other side, not a fill of ours. Without rule (c), an opposite order
//!   that merely *rests* at or through our price in the data does not fill us either (the
//!   conservative default).
//! - **No market impact.** Our fills do not remove liquidity from the simulated book: the
//!   data does not know about our orders, and the book keeps following it (hftbacktest makes
//!   the same choice). Consequences: two of our orders can take the same displayed
//!   liquidity; after taking everything displayed up to its limit, an order may rest crossed
//!   with the historical book (it then fills only by rules (a) and (b)); our orders never
//!   match each other (no self-trade).
//! - **Cancel** (`OrderCancel` naming the order's current client id): at its arrival, a live
//!   order is `Canceled` (the report carries the order's quantity, `leaves_qty` 0 and its
//!   `cum_qty`). Otherwise `CancelRejected`: [`ORDER_NOT_LIVE`](tickrail_gateways::venue::reject::ORDER_NOT_LIVE)
//!   when the order is filled, canceled or was replaced by another client id (a fill that
//!   happened before the cancel arrived wins the race), [`UNKNOWN_ORDER`](tickrail_gateways::venue::reject::UNKNOWN_ORDER)
//!   for an id that never named an order, [`DUPLICATE_CLIENT_ID`](tickrail_gateways::venue::reject::DUPLICATE_CLIENT_ID)
//!   when the cancel's own id was used before.
//! - **Amend** (`OrderAmend`, cancel/replace to a new total quantity and price): the rules of
//!   the simulated venue's [`MatchingEngine`](tickrail_gateways::venue::MatchingEngine). It is
//!   refused like a cancel (plus `INVALID_QTY`/`INVALID_PRICE`, and `WOULD_CROSS` for a
//!   post-only order moved through the opposite side). A new quantity at or below the filled
//!   quantity cancels the order (`Canceled`). Otherwise one `Replaced` report under the
//!   amend's id, which names the order from then on. The same price and a quantity not
//!   raised **keep the queue position**; a price change or a raised quantity **loses
//!   it**: the order is handled as arriving now — it takes liquidity if it crosses, then
//!   rests at the back of its new level.
//!
//! Every report has `leaves_qty` = quantity − filled and `cum_qty` = filled so far (after this
//! report), `qty` = the fill's quantity for fills and the order's quantity otherwise, `price`
//! = the fill's price for fills and the order's price otherwise; `source` = the venue, and the
//! instrument and scales of the order (of the request, for a request naming an unknown
//! instrument or order). A `CancelRejected` carries the request's own id and the targeted
//! order's side, venue id, price, quantity, leaves and cum as they are at that moment (side buy,
//! venue id 0, price 1 raw and zero quantities for an id that never named an order, as the
//! simulated venue does). Header `sequence`s are the market's own running count (the
//! Sequencer re-stamps inputs).
//!
//! ## Market data
//!
//! Every feed event is returned, unchanged but for its receive time. Events of another
//! `source` than [`BacktestParams::venue`], or for an instrument not given at construction,
//! pass through without touching the simulation (the Sequencer refuses unknown instruments;
//! counted in [`BacktestStats::foreign_events`]). The simulation keeps one
//! [`MarketBook`](tickrail_engine::book::MarketBook) per instrument, fed like the engine's:
//! L3 events make it a per-order book, `BookLevel`/`Quote` a price-level book of at most
//! [`MARKET_BOOK_L2_DEPTH`](tickrail_engine::book::market::MARKET_BOOK_L2_DEPTH) levels per
//! side (a `Quote` shows the top only). Trading status and feed gaps pass through and change
//! nothing here (orders keep working through a halt; a gap leaves the book as it is).
//!
//! ## Not modelled
//!
//! Fees (the OMS's business), market impact, hidden or reserve liquidity, auctions, halts,
//! session end (resting orders stay until canceled), self-trade prevention.
//!
//! ## Memory
//!
//! Queues for delivery and in-flight requests are reused `VecDeque`s; books are allocated at
//! construction ([`BacktestParams::book`]). Our orders live in a `Vec` (a slab, one record per
//! order for the whole run, to tell "too late" from "unknown"), found by client id through a
//! sorted `Vec` (appended to while ids increase, as the engine's do); resting orders are
//! listed per instrument. The log of resting fills (queue and trade-through fills, with the
//! queue position at entry and before the fill) grows by one record per such fill (1024
//! preallocated). A feed event allocates nothing once these have grown to their working
//! size.

pub mod latency_model;
mod market;
pub mod queue;

#[cfg(test)]
mod latency_tests;
#[cfg(test)]
mod tests;

pub use latency_model::{Latencies, LatencyModel};
pub use market::{HistoricalMarket, OrderStatus};
pub use queue::{QueueModel, QueuePosition};
pub use tickrail_engine::pipeline::BookSizing;

use tickrail_engine::{EventKind, InstrumentId};

/// What a [`HistoricalMarket`] simulates; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestParams {
    /// The venue our orders are for (`OrderNew::venue`) and the `source` of the feed's
    /// events that build its book; the `source` of our execution reports.
    pub venue: u16,
    /// `None`: each feed event's `receive_ts_ns` is used as given. `Some(l)`: receive time =
    /// exchange time `+ l` ns (`>= 0`).
    pub feed_latency_ns: Option<i64>,
    /// From a request's submission to its arrival at the venue, ns, `>= 0`.
    pub entry_latency_ns: i64,
    /// From processing at the venue to the delivery of the execution report, ns, `>= 0`.
    pub ack_latency_ns: i64,
    /// How queue positions are estimated.
    pub queue: QueueModel,
    /// Size of each instrument's simulated book (L3: resting orders and levels per side;
    /// allocated at construction).
    pub book: BookSizing,
}

impl BacktestParams {
    /// Parameters for `venue` with the `queue` model, no latencies (feed events received as
    /// given) and [`BookSizing::default`].
    pub fn new(venue: u16, queue: QueueModel) -> Self {
        Self {
            venue,
            feed_latency_ns: None,
            entry_latency_ns: 0,
            ack_latency_ns: 0,
            queue,
            book: BookSizing::default(),
        }
    }

    /// Checks every parameter.
    pub fn validate(&self) -> Result<(), BacktestError> {
        for (field, value_ns) in [
            ("entry_latency_ns", Some(self.entry_latency_ns)),
            ("ack_latency_ns", Some(self.ack_latency_ns)),
            ("feed_latency_ns", self.feed_latency_ns),
        ] {
            if let Some(value_ns) = value_ns.filter(|&v| v < 0) {
                return Err(BacktestError::NegativeLatency { field, value_ns });
            }
        }
        if self.book.max_orders == 0 || self.book.max_levels == 0 {
            return Err(BacktestError::InvalidBookSizing {
                max_orders: self.book.max_orders,
                max_levels: self.book.max_levels,
            });
        }
        self.queue.validate()
    }
}

/// Why a [`HistoricalMarket`] could not be built, or refused a request. A request that is
/// merely bad (unknown order, duplicate id, ...) is not an error: the venue answers it with a
/// reject report.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// A latency is negative.
    #[error("backtest latency must not be negative: {field} = {value_ns} ns")]
    NegativeLatency {
        /// The parameter.
        field: &'static str,
        /// Its value.
        value_ns: i64,
    },
    /// The probabilistic queue model's power is not finite and `>= 0`.
    #[error("queue model power must be finite and >= 0, got {power}")]
    InvalidPower {
        /// The value given.
        power: f64,
    },
    /// A book size of zero.
    #[error("book sizing must be positive: max_orders {max_orders}, max_levels {max_levels}")]
    InvalidBookSizing {
        /// Resting orders per book.
        max_orders: usize,
        /// Levels per side.
        max_levels: usize,
    },
    /// Two instruments with the same id.
    #[error("instrument {instrument} is listed twice")]
    DuplicateInstrument {
        /// The id.
        instrument: InstrumentId,
    },
    /// Only `order_new`, `order_cancel` and `order_amend` can be submitted.
    #[error("not an order request: {kind}")]
    NotAnOrderRequest {
        /// The kind submitted.
        kind: EventKind,
    },
    /// An `order_new` for another venue than the simulated one.
    #[error("order for venue {venue}, but the backtest simulates venue {simulated}")]
    UnknownVenue {
        /// The order's `venue`.
        venue: u16,
        /// [`BacktestParams::venue`].
        simulated: u16,
    },
    /// `now_ns` is before the receive time of the last input returned.
    #[error("submitted at {now_ns} ns, before the market time {market_ns} ns")]
    InThePast {
        /// The submission time given.
        now_ns: i64,
        /// The receive time of the last input returned.
        market_ns: i64,
    },
}

/// Counters of a [`HistoricalMarket`]. Quantities are raw, summed over instruments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BacktestStats {
    /// Events read from the feed.
    pub feed_events: u64,
    /// Feed events returned as inputs.
    pub market_data: u64,
    /// Feed events of another source or an instrument not simulated (passed through).
    pub foreign_events: u64,
    /// Feed events whose receive time was raised to keep receive times in order.
    pub receive_clamped: u64,
    /// Requests accepted by `submit`.
    pub requests: u64,
    /// Execution reports returned as inputs.
    pub reports: u64,
    /// `OrderNew` requests processed at the venue.
    pub orders: u64,
    /// `Ack` reports.
    pub acks: u64,
    /// `Fill` reports (the order is complete).
    pub fills: u64,
    /// `PartialFill` reports.
    pub partial_fills: u64,
    /// Quantity filled while taking liquidity at arrival (or at an amend's re-arrival).
    pub taker_qty: u64,
    /// Quantity filled while resting.
    pub maker_qty: u64,
    /// Fill reports of resting orders reached by the queue (rule (b)).
    pub queue_fills: u64,
    /// Fill reports of resting orders traded through (rule (a)).
    pub trade_through_fills: u64,
    /// `Rejected` reports.
    pub rejects: u64,
    /// `Canceled` reports (on request, IOC remainders, amends to at most the filled
    /// quantity).
    pub cancels: u64,
    /// `CancelRejected` reports.
    pub cancel_rejects: u64,
    /// `Replaced` reports.
    pub replaces: u64,
}
