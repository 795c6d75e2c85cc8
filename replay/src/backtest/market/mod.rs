//! [`HistoricalMarket`]: historical market data plus a simulated venue for our orders. The
//! rules are in the [module docs](super).

mod fills;
mod latency;
mod orders;

use std::collections::VecDeque;
use std::fmt;

use tickrail_engine::book::MarketBook;
use tickrail_engine::{
    Event, EventBody, ExecKind, InstrumentId, InstrumentSpec, Liquidity, Price, Qty, Side,
    TimeInForce,
};
use tickrail_gateways::feed::{FeedSource, FeedStats};

use super::latency_model::Latencies;
use super::queue::{QueueFill, QueuePosition};
use super::{BacktestError, BacktestParams, BacktestStats};
use tickrail_engine::runtime::Market;

/// The slot of a client id that names no order (a cancel's id, a refused order's id).
const NO_ORDER: u32 = u32::MAX;

/// The price put in a `CancelRejected` for an order never seen (as the simulated venue does).
const UNKNOWN_PRICE: Price = Price::new(1);

/// Which family of book events an instrument's data is (the last one applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// No book event yet.
    Empty,
    /// L1 quotes: only the top of each side is visible.
    Quotes,
    /// L2 levels, up to `MARKET_BOOK_L2_DEPTH` per side.
    Levels,
    /// L3 orders: every level and every order.
    Orders,
}

/// One simulated instrument.
#[derive(Debug)]
struct Listing {
    instrument: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
    book: MarketBook,
    family: Family,
    /// Slab slots of our resting orders, in time priority (arrival order).
    live: Vec<u32>,
}

/// One order of ours, for the whole run.
#[derive(Debug, Clone, Copy)]
struct OurOrder {
    /// Current client id (an amend's id after a replace).
    client_order_id: u64,
    venue_order_id: u64,
    listing: u32,
    side: Side,
    tif: TimeInForce,
    price: Price,
    qty: i64,
    cum: i64,
    /// Resting at the venue.
    live: bool,
    queue: QueuePosition,
}

impl OurOrder {
    fn leaves(&self) -> i64 {
        (self.qty - self.cum).max(0)
    }

    fn report(&self, exec: ExecKind, price: Price, qty_raw: i64, leaves: i64) -> EventBody {
        self.report_as(exec, Liquidity::Unknown, price, qty_raw, leaves)
    }

    fn report_as(
        &self,
        exec: ExecKind,
        liquidity: Liquidity,
        price: Price,
        qty_raw: i64,
        leaves: i64,
    ) -> EventBody {
        EventBody::ExecReport {
            exec,
            side: self.side,
            liquidity,
            reject_code: 0,
            client_order_id: self.client_order_id,
            venue_order_id: self.venue_order_id,
            price,
            qty: qty(qty_raw),
            leaves_qty: qty(leaves),
            cum_qty: qty(self.cum),
        }
    }
}

/// A raw quantity as a [`Qty`] (never negative here; clamped, never a panic).
fn qty(raw: i64) -> Qty {
    Qty::new_checked(raw).unwrap_or(Qty::ZERO)
}

/// The next feed event, read ahead, with its simulation times. The event itself is already
/// the last one in `market_data` (receive time set), not yet processed at the venue: read
/// ahead into its delivery slot, it is copied once on its way through the venue.
#[derive(Debug, Clone, Copy)]
struct Peeked {
    venue_ns: i64,
    /// The listing it simulates, `None` for events that only pass through.
    listing: Option<u32>,
}

/// A request on its way to the venue.
#[derive(Debug, Clone, Copy)]
struct Pending {
    at_ns: i64,
    request: Event,
}

/// What the venue processes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VenueItem {
    Feed,
    Request,
}

/// What is delivered next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    MarketData,
    Report,
}

/// How a fill came about (for the counters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FillKind {
    Taker,
    Queue,
    Through,
}

/// Where a report goes: venue time and header fields.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    at_ns: i64,
    instrument: InstrumentId,
    price_scale: u8,
    qty_scale: u8,
}

/// The L3 order an event names, as it was before the event.
#[derive(Debug, Clone, Copy)]
struct Target {
    id: u64,
    side: Side,
    px: i64,
    qty: i64,
}

/// One order of ours as the simulated venue sees it ([`HistoricalMarket::order`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderStatus {
    /// Its current client id.
    pub client_order_id: u64,
    /// The venue's id.
    pub venue_order_id: u64,
    /// The instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price.
    pub price: Price,
    /// Order quantity.
    pub qty: Qty,
    /// Filled so far.
    pub cum_qty: Qty,
    /// Resting at the venue.
    pub live: bool,
    /// Estimated quantity ahead in its level's queue, while resting and known.
    pub queue_ahead: Option<f64>,
}

/// Historical market data and a simulated venue for our orders; see the
/// [module docs](super).
pub struct HistoricalMarket<F> {
    feed: F,
    params: BacktestParams,
    listings: Vec<Listing>,
    /// `(instrument, listing index)`, sorted by instrument.
    by_instrument: Vec<(InstrumentId, u32)>,
    /// The feed event read ahead (the back of `market_data`), if any.
    peeked: Option<Peeked>,
    feed_done: bool,
    last_feed_venue_ns: i64,
    last_feed_receive_ns: i64,
    /// Feed events processed at the venue, waiting for their receive time; then, while
    /// `peeked` is set, the feed event read ahead.
    market_data: VecDeque<Event>,
    /// Reports waiting for their receive time.
    reports: VecDeque<Event>,
    /// Requests waiting for their arrival, in arrival order.
    requests: VecDeque<Pending>,
    last_arrival_ns: i64,
    /// Entry latencies per request type and the response latency.
    latency: Latencies,
    /// Receive time of the last report queued (reports are delivered in venue order).
    last_report_receive_ns: i64,
    /// Receive time of the last input returned.
    clock_ns: i64,
    /// Every order of ours.
    orders: Vec<OurOrder>,
    /// `(client id, slot in orders or NO_ORDER)`, sorted by id: every id used.
    ids: Vec<(u64, u32)>,
    next_venue_order_id: u64,
    next_report_sequence: u64,
    /// Scratch: fills found while applying one feed event.
    fills: Vec<(u32, i64, FillKind)>,
    /// Every fill of a resting order, with its queue position ([`Self::queue_fills`]).
    queue_fills: Vec<QueueFill>,
    /// Whether a resting order fills, whole, when the opposite best price reaches it
    /// ([`Self::with_fill_on_cross`]).
    fill_on_cross: bool,
    /// Scratch: levels taken by one arriving order.
    taken: Vec<(i64, i64)>,
    stats: BacktestStats,
}

impl<F> fmt::Debug for HistoricalMarket<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HistoricalMarket")
            .field("params", &self.params)
            .field("instruments", &self.listings.len())
            .field("clock_ns", &self.clock_ns)
            .field("orders", &self.orders.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The counters as labelled figures, on one line (the backtest summary's `venue` line).
impl fmt::Display for BacktestStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} feed events ({} delivered, {} passed through, {} receive times raised); \
             {} requests, {} new orders: {} acks, {} fills, {} partial fills ({} by the queue, \
             {} traded through), {} rejects, {} cancels, {} cancel rejects, {} replaces; \
             {} reports delivered; quantity filled {} maker, {} taker (raw units)",
            self.feed_events,
            self.market_data,
            self.foreign_events,
            self.receive_clamped,
            self.requests,
            self.orders,
            self.acks,
            self.fills,
            self.partial_fills,
            self.queue_fills,
            self.trade_through_fills,
            self.rejects,
            self.cancels,
            self.cancel_rejects,
            self.replaces,
            self.reports,
            self.maker_qty,
            self.taker_qty,
        )
    }
}

impl<F: FeedSource> HistoricalMarket<F> {
    /// A market reading `feed`, simulating `params.venue` for `instruments` (their books are
    /// allocated here). Fails on invalid parameters or a duplicate instrument id.
    pub fn new(
        feed: F,
        params: BacktestParams,
        instruments: &[InstrumentSpec],
    ) -> Result<Self, BacktestError> {
        params.validate()?;
        let mut listings = Vec::with_capacity(instruments.len());
        let mut by_instrument: Vec<(InstrumentId, u32)> = Vec::with_capacity(instruments.len());
        for spec in instruments {
            if by_instrument.iter().any(|&(id, _)| id == spec.id) {
                return Err(BacktestError::DuplicateInstrument {
                    instrument: spec.id,
                });
            }
            let index = u32::try_from(listings.len()).unwrap_or(u32::MAX);
            by_instrument.push((spec.id, index));
            listings.push(Listing {
                instrument: spec.id,
                price_scale: spec.price_scale.get(),
                qty_scale: spec.qty_scale.get(),
                book: MarketBook::new(params.book.max_orders, params.book.max_levels),
                family: Family::Empty,
                live: Vec::with_capacity(64),
            });
        }
        by_instrument.sort_unstable_by_key(|&(id, _)| id);
        Ok(Self {
            feed,
            params,
            listings,
            by_instrument,
            peeked: None,
            feed_done: false,
            last_feed_venue_ns: i64::MIN,
            last_feed_receive_ns: i64::MIN,
            market_data: VecDeque::with_capacity(1024),
            reports: VecDeque::with_capacity(256),
            requests: VecDeque::with_capacity(256),
            last_arrival_ns: i64::MIN,
            latency: Latencies::constant(params.entry_latency_ns, params.ack_latency_ns),
            last_report_receive_ns: i64::MIN,
            clock_ns: i64::MIN,
            orders: Vec::with_capacity(1024),
            ids: Vec::with_capacity(2048),
            next_venue_order_id: 0,
            next_report_sequence: 0,
            fills: Vec::with_capacity(64),
            queue_fills: Vec::with_capacity(1024),
            fill_on_cross: false,
            taken: Vec::with_capacity(64),
            stats: BacktestStats::default(),
        })
    }

    /// This market with `latency`'s models instead of the constant
    /// [`BacktestParams::entry_latency_ns`] and [`BacktestParams::ack_latency_ns`]
    /// (before any input is read). Fails on a model that can give a negative latency.
    pub fn with_latency(mut self, latency: Latencies) -> Result<Self, BacktestError> {
        if let Some((field, value_ns)) = latency.negative() {
            return Err(BacktestError::NegativeLatency { field, value_ns });
        }
        self.latency = latency;
        Ok(self)
    }

    /// This market with rule (c) of the [module docs](crate::backtest) on or off: a resting
    /// order fills completely, at its price, once the data's opposite best price reaches it
    /// (a buy when the best ask falls to or below it, a sell when the best bid rises to or
    /// above it), as hftbacktest's exchange models do. Off (the default), only trades and
    /// the queue fill a resting order.
    pub fn with_fill_on_cross(mut self, on: bool) -> Self {
        self.fill_on_cross = on;
        self
    }

    /// The latency models.
    pub fn latency(&self) -> &Latencies {
        &self.latency
    }

    /// The parameters.
    pub fn params(&self) -> &BacktestParams {
        &self.params
    }

    /// What the market did so far.
    pub fn stats(&self) -> &BacktestStats {
        &self.stats
    }

    /// The feed.
    pub fn feed(&self) -> &F {
        &self.feed
    }

    /// The feed's counters (skips, gaps, ...).
    pub fn feed_stats(&self) -> &FeedStats {
        self.feed.stats()
    }

    /// The simulated venue's book of `instrument` (it may be ahead of the inputs returned
    /// so far: the venue processes market data before the engine receives it).
    pub fn book(&self, instrument: InstrumentId) -> Option<&MarketBook> {
        let i = self.listing_of(instrument)?;
        self.listings.get(i as usize).map(|l| &l.book)
    }

    /// The order currently or formerly named `client_order_id` (an order's or an amend's
    /// id), as the venue has processed it so far.
    pub fn order(&self, client_order_id: u64) -> Option<OrderStatus> {
        let slot = self.find_id(client_order_id).filter(|&s| s != NO_ORDER)?;
        let o = self.orders.get(slot as usize)?;
        let instrument = self.listings.get(o.listing as usize)?.instrument;
        Some(OrderStatus {
            client_order_id: o.client_order_id,
            venue_order_id: o.venue_order_id,
            instrument,
            side: o.side,
            tif: o.tif,
            price: o.price,
            qty: qty(o.qty),
            cum_qty: qty(o.cum),
            live: o.live,
            queue_ahead: if o.live { o.queue.ahead() } else { None },
        })
    }

    /// Orders of ours resting at the venue.
    pub fn open_orders(&self) -> usize {
        self.listings.iter().map(|l| l.live.len()).sum()
    }

    /// The receive time of the last input returned (`i64::MIN` before the first).
    pub fn now_ns(&self) -> i64 {
        self.clock_ns
    }

    fn listing_of(&self, instrument: InstrumentId) -> Option<u32> {
        self.by_instrument
            .binary_search_by_key(&instrument, |&(id, _)| id)
            .ok()
            .and_then(|k| self.by_instrument.get(k))
            .map(|&(_, i)| i)
    }

    fn find_id(&self, id: u64) -> Option<u32> {
        self.ids
            .binary_search_by_key(&id, |&(i, _)| i)
            .ok()
            .and_then(|k| self.ids.get(k))
            .map(|&(_, slot)| slot)
    }

    /// Records `id` as used by `slot` (an id is recorded once; later uses are duplicates).
    fn use_id(&mut self, id: u64, slot: u32) {
        match self.ids.binary_search_by_key(&id, |&(i, _)| i) {
            Ok(k) => {
                if let Some(e) = self.ids.get_mut(k) {
                    if e.1 == NO_ORDER {
                        e.1 = slot;
                    }
                }
            }
            Err(k) => self.ids.insert(k, (id, slot)),
        }
    }
}

impl<F: FeedSource> Market for HistoricalMarket<F> {
    type Error = BacktestError;

    /// The next input — a feed event or an execution report of ours — in receive-time order
    /// (market data first on a tie), or `None` when the feed is exhausted and nothing is in
    /// flight.
    fn next_input(&mut self) -> Option<Event> {
        loop {
            self.fill_peek();
            let delivery = self.next_delivery();
            match self.next_venue_item() {
                Some((t, item)) if delivery.is_none_or(|(d, _)| t <= d) => self.process(item),
                _ => {
                    let (_, which) = delivery?;
                    return self.deliver(which);
                }
            }
        }
    }

    /// A lower bound on the next input's receive time; see the module docs. Processes at
    /// the venue what no request can overtake any more (up to the last returned receive time
    /// `+` the least entry latency of any request type).
    fn next_due_ns(&mut self) -> Option<i64> {
        let horizon = self.clock_ns.saturating_add(self.latency.min_entry_ns());
        loop {
            self.fill_peek();
            match self.next_venue_item() {
                Some((t, item)) if t <= horizon => self.process(item),
                _ => break,
            }
        }
        let ack = self.latency.response.min_ns();
        let mut due = self.next_delivery().map(|(t, _)| t);
        let mut lower = |t: i64| due = Some(due.map_or(t, |d| d.min(t)));
        if let Some(p) = &self.peeked {
            if let Some(e) = self.market_data.back() {
                lower(e.header.receive_ts_ns);
            }
            let resting = p
                .listing
                .and_then(|li| self.listings.get(li as usize))
                .is_some_and(|l| !l.live.is_empty());
            if resting {
                lower(p.venue_ns.saturating_add(ack));
            }
        }
        if let Some(r) = self.requests.front() {
            lower(r.at_ns.saturating_add(ack));
        }
        due
    }

    /// Sends an order request submitted at `now_ns`; it reaches the venue at `now_ns` + its
    /// type's entry latency (in order: no earlier than the request before it). Refused (nothing sent) for a kind that is not an order
    /// request, an `OrderNew` for another venue, or a time before the last returned input's
    /// receive time.
    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), BacktestError> {
        match request.body {
            EventBody::OrderNew { venue, .. } if venue != self.params.venue => {
                return Err(BacktestError::UnknownVenue {
                    venue,
                    simulated: self.params.venue,
                });
            }
            EventBody::OrderNew { .. }
            | EventBody::OrderCancel { .. }
            | EventBody::OrderAmend { .. } => {}
            other => return Err(BacktestError::NotAnOrderRequest { kind: other.kind() }),
        }
        if now_ns < self.clock_ns {
            return Err(BacktestError::InThePast {
                now_ns,
                market_ns: self.clock_ns,
            });
        }
        let drawn = now_ns.saturating_add(self.latency.entry_ns(now_ns, &request.body));
        let pending = Pending {
            at_ns: drawn,
            request: *request,
        };
        if self.latency.in_order {
            let at_ns = drawn.max(self.last_arrival_ns);
            self.last_arrival_ns = at_ns;
            self.requests.push_back(Pending { at_ns, ..pending });
        } else {
            // Overtaking allowed: in arrival order, after requests arriving at the same time.
            let k = self.requests.partition_point(|p| p.at_ns <= drawn);
            self.requests.insert(k, pending);
        }
        self.stats.requests += 1;
        Ok(())
    }
}
