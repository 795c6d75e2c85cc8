//! [`HistoricalMarket`]: historical market data plus a simulated venue for our orders. The
//! rules are in the [module docs](super).

use std::collections::VecDeque;
use std::fmt;

use tickrail_engine::book::market::MARKET_BOOK_L2_DEPTH;
use tickrail_engine::book::{BookView, MarketBook};
use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, ExecKind, InstrumentId, InstrumentSpec, Liquidity,
    Price, Qty, Side, TimeInForce,
};
use tickrail_gateways::feed::{FeedSource, FeedStats};
use tickrail_gateways::venue::reject;

use super::queue::{QueueModel, QueuePosition};
use super::{BacktestError, BacktestParams, BacktestStats};
use crate::runner::Market;

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

/// The next feed event, read ahead, with its simulation times.
#[derive(Debug, Clone, Copy)]
struct Peeked {
    /// The event, receive time already set.
    event: Event,
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
    peeked: Option<Peeked>,
    feed_done: bool,
    last_feed_venue_ns: i64,
    last_feed_receive_ns: i64,
    /// Feed events processed at the venue, waiting for their receive time.
    market_data: VecDeque<Event>,
    /// Reports waiting for their receive time.
    reports: VecDeque<Event>,
    /// Requests waiting for their arrival, in arrival order.
    requests: VecDeque<Pending>,
    last_arrival_ns: i64,
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
            clock_ns: i64::MIN,
            orders: Vec::with_capacity(1024),
            ids: Vec::with_capacity(2048),
            next_venue_order_id: 0,
            next_report_sequence: 0,
            fills: Vec::with_capacity(64),
            taken: Vec::with_capacity(64),
            stats: BacktestStats::default(),
        })
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

    // ---- time and ordering ---------------------------------------------------------------

    /// Reads the next feed event into `peeked`, if none is there.
    fn fill_peek(&mut self) {
        if self.peeked.is_some() || self.feed_done {
            return;
        }
        let Some(mut event) = self.feed.next_event() else {
            self.feed_done = true;
            return;
        };
        self.stats.feed_events += 1;
        let exchange = event.header.exchange_ts_ns;
        let given = match self.params.feed_latency_ns {
            Some(l) if exchange > 0 => exchange.saturating_add(l),
            _ => event.header.receive_ts_ns,
        };
        let receive = given.max(self.last_feed_receive_ns);
        if receive != given {
            self.stats.receive_clamped += 1;
        }
        self.last_feed_receive_ns = receive;
        event.header.receive_ts_ns = receive;
        let venue = if exchange > 0 {
            exchange.min(receive)
        } else {
            receive
        };
        let venue_ns = venue.max(self.last_feed_venue_ns);
        self.last_feed_venue_ns = venue_ns;
        let listing = if event.header.source == self.params.venue {
            self.listing_of(event.header.instrument)
        } else {
            None
        };
        self.peeked = Some(Peeked {
            event,
            venue_ns,
            listing,
        });
    }

    /// The next thing the venue processes: feed events and requests by venue time, the feed
    /// event first on a tie.
    fn next_venue_item(&self) -> Option<(i64, VenueItem)> {
        let feed = self.peeked.as_ref().map(|p| p.venue_ns);
        let request = self.requests.front().map(|r| r.at_ns);
        match (feed, request) {
            (Some(f), Some(r)) if r < f => Some((r, VenueItem::Request)),
            (Some(f), _) => Some((f, VenueItem::Feed)),
            (None, Some(r)) => Some((r, VenueItem::Request)),
            (None, None) => None,
        }
    }

    /// The next thing delivered: by receive time, market data first on a tie.
    fn next_delivery(&self) -> Option<(i64, Delivery)> {
        let md = self.market_data.front().map(|e| e.header.receive_ts_ns);
        let report = self.reports.front().map(|e| e.header.receive_ts_ns);
        match (md, report) {
            (Some(m), Some(r)) if r < m => Some((r, Delivery::Report)),
            (Some(m), _) => Some((m, Delivery::MarketData)),
            (None, Some(r)) => Some((r, Delivery::Report)),
            (None, None) => None,
        }
    }

    fn process(&mut self, item: VenueItem) {
        match item {
            VenueItem::Feed => {
                if let Some(p) = self.peeked.take() {
                    match p.listing {
                        Some(li) => self.on_market(li, &p.event, p.venue_ns),
                        None => self.stats.foreign_events += 1,
                    }
                    self.market_data.push_back(p.event);
                }
            }
            VenueItem::Request => {
                if let Some(p) = self.requests.pop_front() {
                    match p.request.body {
                        EventBody::OrderNew { .. } => self.new_order(p.at_ns, &p.request),
                        EventBody::OrderCancel { .. } => self.cancel(p.at_ns, &p.request),
                        EventBody::OrderAmend { .. } => self.amend(p.at_ns, &p.request),
                        _ => {}
                    }
                }
            }
        }
    }

    fn deliver(&mut self, which: Delivery) -> Option<Event> {
        let event = match which {
            Delivery::MarketData => {
                self.stats.market_data += 1;
                self.market_data.pop_front()
            }
            Delivery::Report => {
                self.stats.reports += 1;
                self.reports.pop_front()
            }
        }?;
        self.clock_ns = self.clock_ns.max(event.header.receive_ts_ns);
        Some(event)
    }

    // ---- market data ---------------------------------------------------------------------

    /// Applies a feed event of a simulated instrument at venue time `at_ns`: the book, then
    /// its effect on our resting orders.
    fn on_market(&mut self, li: u32, event: &Event, at_ns: i64) {
        let fifo = matches!(self.params.queue, QueueModel::Fifo);
        let Self {
            listings,
            orders,
            fills,
            ..
        } = self;
        let Some(listing) = listings.get_mut(li as usize) else {
            return;
        };
        let has_live = !listing.live.is_empty();
        let target = if has_live && listing.family == Family::Orders {
            l3_target(&listing.book, &event.body)
        } else {
            None
        };
        // FIFO: the quantity queued in front of the named order, if it is at a level of ours.
        let target_ahead = target.and_then(|t| {
            let at_ours = listing.live.iter().any(|&s| {
                orders
                    .get(s as usize)
                    .is_some_and(|o| o.side == t.side && o.price.raw() == t.px)
            });
            (fifo && at_ours)
                .then(|| listing.book.orders().queue_ahead(t.id))
                .flatten()
        });
        let applied = listing.book.apply(event);
        if applied {
            listing.family = family_after(listing.family, &event.body);
        }
        if !has_live {
            return;
        }
        let family = listing.family;
        // What one execution can give to our orders at its level, shared in time priority.
        let mut budget = match event.body {
            EventBody::Trade { qty, .. } => qty.raw(),
            EventBody::OrderExecute { qty, .. } => target.map_or(0, |t| qty.raw().min(t.qty)),
            _ => 0,
        };
        fills.clear();
        for &slot in &listing.live {
            let Some(o) = orders.get_mut(slot as usize) else {
                continue;
            };
            let (side, px) = (o.side, o.price.raw());
            let mut through = false;
            let mut reach = 0i64;
            match event.body {
                EventBody::Trade {
                    aggressor,
                    price,
                    qty,
                    ..
                } if hit_by(side, aggressor) => {
                    if is_through(side, px, price.raw()) {
                        through = true;
                    } else if price.raw() == px && family != Family::Orders {
                        reach = o.queue.trade(qty.raw());
                    }
                }
                EventBody::OrderExecute { qty, .. } if applied => {
                    if let Some(t) = target.filter(|t| t.side == side) {
                        if t.px == px {
                            let q = qty.raw().min(t.qty);
                            if !fifo {
                                reach = o.queue.trade(q);
                            } else if target_ahead.is_some_and(|a| o.queue.is_ahead(a)) {
                                o.queue.remove_ahead(q);
                            } else {
                                reach = o.queue.behind_executed(q);
                            }
                        } else if is_through(side, px, t.px) {
                            through = true;
                        }
                    }
                }
                EventBody::OrderDelete { .. }
                | EventBody::OrderModify { .. }
                | EventBody::OrderReplace { .. }
                    if applied && fifo =>
                {
                    if let (Some(t), Some(a)) = (target, target_ahead) {
                        if t.side == side && t.px == px && o.queue.is_ahead(a) {
                            let removed = match event.body {
                                EventBody::OrderModify { price, qty, .. }
                                    if price.raw() == t.px && qty.raw() <= t.qty =>
                                {
                                    t.qty - qty.raw()
                                }
                                _ => t.qty,
                            };
                            o.queue.remove_ahead(removed);
                        }
                    }
                }
                _ => {}
            }
            if applied && touches(&event.body, target, side, px) {
                if let Some(displayed) = displayed_at(&listing.book, family, side, px) {
                    o.queue.level(displayed);
                }
            }
            let leaves = o.leaves();
            let (fill, kind) = if through {
                (leaves, FillKind::Through)
            } else {
                let f = reach.min(leaves).min(budget).max(0);
                budget -= f;
                (f, FillKind::Queue)
            };
            if fill > 0 {
                fills.push((slot, fill, kind));
            }
        }
        let mut found = std::mem::take(&mut self.fills);
        for &(slot, fill, kind) in &found {
            if let Some(price) = self.orders.get(slot as usize).map(|o| o.price) {
                self.fill(slot, fill, price, kind, at_ns);
            }
        }
        found.clear();
        self.fills = found;
    }

    // ---- our orders ----------------------------------------------------------------------

    /// Header fields for reports about `slot`'s order, at venue time `at_ns`.
    fn ctx_of(&self, slot: u32, at_ns: i64) -> Option<Ctx> {
        let o = self.orders.get(slot as usize)?;
        let l = self.listings.get(o.listing as usize)?;
        Some(Ctx {
            at_ns,
            instrument: l.instrument,
            price_scale: l.price_scale,
            qty_scale: l.qty_scale,
        })
    }

    /// Header fields from a request (for a request naming nothing the venue knows).
    fn ctx_of_request(request: &Event, at_ns: i64) -> Ctx {
        Ctx {
            at_ns,
            instrument: request.header.instrument,
            price_scale: request.header.price_scale,
            qty_scale: request.header.qty_scale,
        }
    }

    /// Queues a report for delivery at `ctx.at_ns + ack_latency_ns`.
    fn emit(&mut self, ctx: Ctx, body: EventBody) {
        if let EventBody::ExecReport { exec, .. } = body {
            let s = &mut self.stats;
            let counter = match exec {
                ExecKind::Ack => &mut s.acks,
                ExecKind::PartialFill => &mut s.partial_fills,
                ExecKind::Fill => &mut s.fills,
                ExecKind::Canceled => &mut s.cancels,
                ExecKind::Replaced => &mut s.replaces,
                ExecKind::Rejected => &mut s.rejects,
                ExecKind::CancelRejected => &mut s.cancel_rejects,
            };
            *counter += 1;
        }
        self.next_report_sequence += 1;
        let sequence = self.next_report_sequence;
        self.reports.push_back(Event::new(
            EventHeader {
                sequence,
                cause_sequence: sequence,
                exchange_ts_ns: ctx.at_ns,
                receive_ts_ns: ctx.at_ns.saturating_add(self.params.ack_latency_ns),
                instrument: ctx.instrument,
                price_scale: ctx.price_scale,
                qty_scale: ctx.qty_scale,
                source: self.params.venue,
            },
            body,
        ));
    }

    /// Fills `fill` of `slot`'s order at `price`; a complete order stops resting.
    fn fill(&mut self, slot: u32, fill: i64, price: Price, kind: FillKind, at_ns: i64) {
        let Some(ctx) = self.ctx_of(slot, at_ns) else {
            return;
        };
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        let fill = fill.min(o.leaves());
        if fill <= 0 {
            return;
        }
        o.cum += fill;
        let leaves = o.leaves();
        let exec = if leaves == 0 {
            ExecKind::Fill
        } else {
            ExecKind::PartialFill
        };
        let liquidity = match kind {
            FillKind::Taker => Liquidity::Taker,
            FillKind::Queue | FillKind::Through => Liquidity::Maker,
        };
        let body = o.report_as(exec, liquidity, price, fill, leaves);
        let stop = leaves == 0 && o.live;
        if leaves == 0 {
            o.live = false;
        }
        let listing = o.listing;
        let s = &mut self.stats;
        let add = u64::try_from(fill).unwrap_or(0);
        match kind {
            FillKind::Taker => s.taker_qty = s.taker_qty.saturating_add(add),
            FillKind::Queue => {
                s.maker_qty = s.maker_qty.saturating_add(add);
                s.queue_fills += 1;
            }
            FillKind::Through => {
                s.maker_qty = s.maker_qty.saturating_add(add);
                s.trade_through_fills += 1;
            }
        }
        if stop {
            self.unlist(listing, slot);
        }
        self.emit(ctx, body);
    }

    /// Removes `slot` from its listing's resting orders.
    fn unlist(&mut self, listing: u32, slot: u32) {
        if let Some(l) = self.listings.get_mut(listing as usize) {
            l.live.retain(|&s| s != slot);
        }
    }

    /// Cancels `slot`'s order (on request, IOC remainder, amend to the filled quantity).
    fn finish_canceled(&mut self, slot: u32, at_ns: i64) {
        let Some(ctx) = self.ctx_of(slot, at_ns) else {
            return;
        };
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        let was_live = o.live;
        o.live = false;
        let body = o.report(ExecKind::Canceled, o.price, o.qty, 0);
        let listing = o.listing;
        if was_live {
            self.unlist(listing, slot);
        }
        self.emit(ctx, body);
    }

    /// An `OrderNew` arriving at `at_ns`.
    fn new_order(&mut self, at_ns: i64, request: &Event) {
        let EventBody::OrderNew {
            side,
            tif,
            client_order_id,
            price,
            qty: order_qty,
            ..
        } = request.body
        else {
            return;
        };
        self.stats.orders += 1;
        let listing = self.listing_of(request.header.instrument);
        let ctx = match listing {
            Some(li) => {
                let l = &self.listings[li as usize];
                Ctx {
                    at_ns,
                    instrument: l.instrument,
                    price_scale: l.price_scale,
                    qty_scale: l.qty_scale,
                }
            }
            None => Self::ctx_of_request(request, at_ns),
        };
        let refused = if self.find_id(client_order_id).is_some() {
            Some(reject::DUPLICATE_CLIENT_ID)
        } else if listing.is_none() {
            Some(reject::UNKNOWN_INSTRUMENT)
        } else if order_qty.raw() <= 0 {
            Some(reject::INVALID_QTY)
        } else if price.raw() <= 0 {
            Some(reject::INVALID_PRICE)
        } else {
            let book = listing.and_then(|li| self.listings.get(li as usize).map(|l| &l.book));
            match (tif, book) {
                (TimeInForce::PostOnly, Some(b)) if crosses(b, side, price.raw()) => {
                    Some(reject::WOULD_CROSS)
                }
                (TimeInForce::Fok, Some(b))
                    if available(b, side, price.raw()) < i128::from(order_qty.raw()) =>
                {
                    Some(reject::FOK_UNFILLABLE)
                }
                _ => None,
            }
        };
        let (Some(li), None) = (listing, refused) else {
            if refused != Some(reject::DUPLICATE_CLIENT_ID) {
                self.use_id(client_order_id, NO_ORDER);
            }
            let code = refused.unwrap_or(reject::UNKNOWN_INSTRUMENT);
            self.emit(
                ctx,
                EventBody::ExecReport {
                    exec: ExecKind::Rejected,
                    side,
                    liquidity: Liquidity::Unknown,
                    reject_code: code,
                    client_order_id,
                    venue_order_id: 0,
                    price,
                    qty: order_qty,
                    leaves_qty: Qty::ZERO,
                    cum_qty: Qty::ZERO,
                },
            );
            return;
        };
        self.next_venue_order_id += 1;
        let slot = u32::try_from(self.orders.len()).unwrap_or(NO_ORDER);
        let order = OurOrder {
            client_order_id,
            venue_order_id: self.next_venue_order_id,
            listing: li,
            side,
            tif,
            price,
            qty: order_qty.raw(),
            cum: 0,
            live: false,
            queue: QueuePosition::new(self.params.queue, Some(0)),
        };
        self.orders.push(order);
        self.use_id(client_order_id, slot);
        self.emit(
            ctx,
            order.report(ExecKind::Ack, price, order.qty, order.leaves()),
        );
        self.take_and_rest(slot, at_ns);
    }

    /// `slot`'s order arrives (new, or amended with loss of priority): it takes what it
    /// crosses, then rests or (IOC, FOK) cancels the rest.
    fn take_and_rest(&mut self, slot: u32, at_ns: i64) {
        let Some(o) = self.orders.get(slot as usize).copied() else {
            return;
        };
        let Some(listing) = self.listings.get(o.listing as usize) else {
            return;
        };
        self.taken.clear();
        let mut want = o.leaves();
        let mut i = 0;
        while want > 0 {
            let Some(level) = listing.book.depth(o.side.opposite(), i) else {
                break;
            };
            if !crosses_px(o.side, o.price.raw(), level.px) {
                break;
            }
            let take = want.min(level.qty);
            if take > 0 {
                self.taken.push((level.px, take));
                want -= take;
            }
            i += 1;
        }
        let resting = displayed_at(&listing.book, listing.family, o.side, o.price.raw());
        let mut taken = std::mem::take(&mut self.taken);
        for &(px, take) in &taken {
            let price = Price::new_checked(px).unwrap_or(o.price);
            self.fill(slot, take, price, FillKind::Taker, at_ns);
        }
        taken.clear();
        self.taken = taken;
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        if o.leaves() == 0 {
            return;
        }
        match o.tif {
            TimeInForce::Ioc | TimeInForce::Fok => self.finish_canceled(slot, at_ns),
            TimeInForce::Day | TimeInForce::Gtc | TimeInForce::PostOnly => {
                o.live = true;
                o.queue = QueuePosition::new(self.params.queue, resting);
                let listing = o.listing;
                if let Some(l) = self.listings.get_mut(listing as usize) {
                    l.live.push(slot);
                }
            }
        }
    }

    /// Checks a cancel's or amend's ids: the live order's slot, or the reject code.
    fn check_target(&self, client_order_id: u64, orig: u64) -> Result<u32, u16> {
        if self.find_id(client_order_id).is_some() {
            return Err(reject::DUPLICATE_CLIENT_ID);
        }
        let slot = self
            .find_id(orig)
            .filter(|&s| s != NO_ORDER)
            .ok_or(reject::UNKNOWN_ORDER)?;
        match self.orders.get(slot as usize) {
            Some(o) if o.live && o.client_order_id == orig => Ok(slot),
            Some(_) => Err(reject::ORDER_NOT_LIVE),
            None => Err(reject::UNKNOWN_ORDER),
        }
    }

    /// Refuses a cancel or amend with `code` (a `CancelRejected` under the request's id).
    fn cancel_reject(&mut self, at_ns: i64, request: &Event, client_order_id: u64, code: u16) {
        let orig = match request.body {
            EventBody::OrderCancel {
                orig_client_order_id,
                ..
            }
            | EventBody::OrderAmend {
                orig_client_order_id,
                ..
            } => orig_client_order_id,
            _ => return,
        };
        if code != reject::DUPLICATE_CLIENT_ID {
            self.use_id(client_order_id, NO_ORDER);
        }
        let known = self.find_id(orig).filter(|&s| s != NO_ORDER);
        let ctx = known
            .and_then(|s| self.ctx_of(s, at_ns))
            .unwrap_or_else(|| Self::ctx_of_request(request, at_ns));
        let body = match known.and_then(|s| self.orders.get(s as usize)) {
            Some(o) => EventBody::ExecReport {
                exec: ExecKind::CancelRejected,
                side: o.side,
                liquidity: Liquidity::Unknown,
                reject_code: code,
                client_order_id,
                venue_order_id: o.venue_order_id,
                price: o.price,
                qty: qty(o.qty),
                leaves_qty: qty(if o.live { o.leaves() } else { 0 }),
                cum_qty: qty(o.cum),
            },
            None => EventBody::ExecReport {
                exec: ExecKind::CancelRejected,
                side: Side::Buy,
                liquidity: Liquidity::Unknown,
                reject_code: code,
                client_order_id,
                venue_order_id: 0,
                price: UNKNOWN_PRICE,
                qty: Qty::ZERO,
                leaves_qty: Qty::ZERO,
                cum_qty: Qty::ZERO,
            },
        };
        self.emit(ctx, body);
    }

    /// An `OrderCancel` arriving at `at_ns`.
    fn cancel(&mut self, at_ns: i64, request: &Event) {
        let EventBody::OrderCancel {
            client_order_id,
            orig_client_order_id,
        } = request.body
        else {
            return;
        };
        match self.check_target(client_order_id, orig_client_order_id) {
            Ok(slot) => {
                self.use_id(client_order_id, NO_ORDER);
                self.finish_canceled(slot, at_ns);
            }
            Err(code) => self.cancel_reject(at_ns, request, client_order_id, code),
        }
    }

    /// An `OrderAmend` arriving at `at_ns`.
    fn amend(&mut self, at_ns: i64, request: &Event) {
        let EventBody::OrderAmend {
            client_order_id,
            orig_client_order_id,
            price,
            qty: new_qty,
        } = request.body
        else {
            return;
        };
        let checked = self
            .check_target(client_order_id, orig_client_order_id)
            .and_then(|slot| {
                if new_qty.raw() <= 0 {
                    Err(reject::INVALID_QTY)
                } else if price.raw() <= 0 {
                    Err(reject::INVALID_PRICE)
                } else {
                    Ok(slot)
                }
            })
            .and_then(|slot| {
                let o = self
                    .orders
                    .get(slot as usize)
                    .ok_or(reject::UNKNOWN_ORDER)?;
                let book = self
                    .listings
                    .get(o.listing as usize)
                    .map(|l| &l.book)
                    .ok_or(reject::UNKNOWN_INSTRUMENT)?;
                if o.tif == TimeInForce::PostOnly
                    && price != o.price
                    && crosses(book, o.side, price.raw())
                {
                    Err(reject::WOULD_CROSS)
                } else {
                    Ok(slot)
                }
            });
        let slot = match checked {
            Ok(slot) => slot,
            Err(code) => return self.cancel_reject(at_ns, request, client_order_id, code),
        };
        self.use_id(client_order_id, slot);
        let Some(ctx) = self.ctx_of(slot, at_ns) else {
            return;
        };
        let Some(o) = self.orders.get_mut(slot as usize) else {
            return;
        };
        if new_qty.raw() <= o.cum {
            return self.finish_canceled(slot, at_ns);
        }
        let keeps_priority = price == o.price && new_qty.raw() <= o.qty;
        o.client_order_id = client_order_id;
        o.qty = new_qty.raw();
        o.price = price;
        let body = o.report(ExecKind::Replaced, price, o.qty, o.leaves());
        let listing = o.listing;
        if keeps_priority {
            self.emit(ctx, body);
            return;
        }
        o.live = false;
        self.unlist(listing, slot);
        self.emit(ctx, body);
        self.take_and_rest(slot, at_ns);
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
    /// `+ entry_latency_ns`).
    fn next_due_ns(&mut self) -> Option<i64> {
        let horizon = self.clock_ns.saturating_add(self.params.entry_latency_ns);
        loop {
            self.fill_peek();
            match self.next_venue_item() {
                Some((t, item)) if t <= horizon => self.process(item),
                _ => break,
            }
        }
        let ack = self.params.ack_latency_ns;
        let mut due = self.next_delivery().map(|(t, _)| t);
        let mut lower = |t: i64| due = Some(due.map_or(t, |d| d.min(t)));
        if let Some(p) = &self.peeked {
            lower(p.event.header.receive_ts_ns);
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

    /// Sends an order request submitted at `now_ns`; it reaches the venue at
    /// `now_ns + entry_latency_ns`. Refused (nothing sent) for a kind that is not an order
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
        let at_ns = now_ns
            .saturating_add(self.params.entry_latency_ns)
            .max(self.last_arrival_ns);
        self.last_arrival_ns = at_ns;
        self.requests.push_back(Pending {
            at_ns,
            request: *request,
        });
        self.stats.requests += 1;
        Ok(())
    }
}

// ---- pure helpers ----------------------------------------------------------------------

/// The L3 order `body` names (execute, delete, modify, replace), as the book holds it now.
fn l3_target(book: &MarketBook, body: &EventBody) -> Option<Target> {
    let id = match *body {
        EventBody::OrderExecute { order_id, .. }
        | EventBody::OrderDelete { order_id }
        | EventBody::OrderModify { order_id, .. } => order_id,
        EventBody::OrderReplace { old_order_id, .. } => old_order_id,
        _ => return None,
    };
    let info = book.orders().order(id)?;
    Some(Target {
        id,
        side: info.side,
        px: info.px,
        qty: info.qty,
    })
}

/// The family of the book after `body` was applied to it.
fn family_after(family: Family, body: &EventBody) -> Family {
    match body {
        EventBody::Quote { .. } => Family::Quotes,
        EventBody::BookLevel { .. } => Family::Levels,
        EventBody::OrderAdd { .. }
        | EventBody::OrderModify { .. }
        | EventBody::OrderDelete { .. }
        | EventBody::OrderExecute { .. }
        | EventBody::OrderReplace { .. } => Family::Orders,
        _ => family,
    }
}

/// Whether an applied book event may have changed the level `side`/`px`.
fn touches(body: &EventBody, target: Option<Target>, side: Side, px: i64) -> bool {
    let at = |t: &Target| t.side == side && t.px == px;
    match *body {
        EventBody::Quote { .. } => true,
        EventBody::BookLevel { side: s, price, .. }
        | EventBody::OrderAdd { side: s, price, .. } => s == side && price.raw() == px,
        EventBody::OrderExecute { .. } | EventBody::OrderDelete { .. } => {
            target.as_ref().is_some_and(at)
        }
        EventBody::OrderModify { price, .. } | EventBody::OrderReplace { price, .. } => target
            .as_ref()
            .is_some_and(|t| t.side == side && (t.px == px || price.raw() == px)),
        _ => false,
    }
}

/// The displayed quantity at `px` on `side`, or `None` when the book cannot show that level
/// (L1: behind the best; L2: beyond a full ladder).
fn displayed_at(book: &MarketBook, family: Family, side: Side, px: i64) -> Option<i64> {
    match family {
        Family::Empty => Some(0),
        Family::Quotes => match book.depth(side, 0) {
            None => Some(0),
            Some(l) if l.px == px => Some(l.qty),
            Some(l) if better(side, l.px, px) => None,
            Some(_) => Some(0),
        },
        Family::Levels | Family::Orders => {
            let mut i = 0;
            loop {
                match book.depth(side, i) {
                    Some(l) if l.px == px => return Some(l.qty),
                    Some(l) if better(side, l.px, px) => i += 1,
                    Some(_) => return Some(0),
                    None if family == Family::Levels && i >= MARKET_BOOK_L2_DEPTH => return None,
                    None => return Some(0),
                }
            }
        }
    }
}

/// Is `a` a better price than `b` on `side`?
fn better(side: Side, a: i64, b: i64) -> bool {
    match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    }
}

/// Does an opposite level at `level_px` cross an order of `side` limited at `limit`?
fn crosses_px(side: Side, limit: i64, level_px: i64) -> bool {
    match side {
        Side::Buy => level_px <= limit,
        Side::Sell => level_px >= limit,
    }
}

/// Does an order of `side` at `limit` cross the displayed opposite side?
fn crosses(book: &MarketBook, side: Side, limit: i64) -> bool {
    book.depth(side.opposite(), 0)
        .is_some_and(|l| crosses_px(side, limit, l.px))
}

/// Displayed quantity an order of `side` limited at `limit` could take.
fn available(book: &MarketBook, side: Side, limit: i64) -> i128 {
    let mut sum = 0i128;
    let mut i = 0;
    while let Some(l) = book.depth(side.opposite(), i) {
        if !crosses_px(side, limit, l.px) {
            break;
        }
        sum += i128::from(l.qty);
        i += 1;
    }
    sum
}

/// A trade at `trade_px` went through a resting order of `side` at `px`.
fn is_through(side: Side, px: i64, trade_px: i64) -> bool {
    better(side, px, trade_px)
}

/// Can a trade with this aggressor hit a resting order of `side`? (Not when the aggressor is
/// on our own side: that trade took the other side's liquidity.)
fn hit_by(side: Side, aggressor: Aggressor) -> bool {
    !matches!(
        (side, aggressor),
        (Side::Buy, Aggressor::Buy) | (Side::Sell, Aggressor::Sell)
    )
}
