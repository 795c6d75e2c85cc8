//! A deterministic price-time matching engine for one instrument.
//!
//! Limit orders rest in price-time priority: price levels are `BTreeMap`s keyed by raw price,
//! each holding a FIFO `VecDeque` of client order ids. An incoming order matches against the
//! opposite side best price first, FIFO within a level, at the **resting** order's price.
//! Every output is an [`EventBody`] handed to a caller's sink, in a fixed order, so the same
//! input stream always yields the same output stream. No clock, no randomness, no hash map.
//!
//! ## Which `client_order_id` a report carries
//!
//! - `Ack`, `PartialFill`, `Fill`, `Canceled`: the order's current client id (after a replace,
//!   the id of the amend that replaced it).
//! - `Replaced`: the amend request's id, which from then on names the order.
//! - `Rejected`: the refused order's id. `CancelRejected`: the cancel or amend request's id.
//!
//! ## Output order
//!
//! For a new order: `Rejected`, or `Ack` then, per match, the aggressor's fill report, the
//! resting order's fill report and the `Trade` print; then an IOC remainder's `Canceled`.
//! For an amend that loses priority: `Replaced`, then matches as for a new order.
//!
//! ## Public market data (L3), when enabled
//!
//! With [`MatchingEngine::set_publish`] on, the engine also emits, interleaved with the
//! reports, every change of its book as L3 market data keyed by **venue order id**, so that a
//! consumer applying them in order to a per-order book (ITCH semantics, like the engine's
//! `L3Book`) holds exactly this book after each request:
//!
//! - an order that rests (after any matching): `OrderAdd` with its remaining quantity;
//! - per match: `OrderExecute` of the resting order (quantity, price, `match_id` = trade id),
//!   right before the match's `Trade` print;
//! - a resting order canceled (by request, or by an amend to at most its filled quantity):
//!   `OrderDelete`;
//! - an amend that keeps priority (same price, quantity not raised): `OrderModify` with the
//!   new remaining quantity (a lower quantity keeps priority in the L3 book too);
//! - an amend that loses priority and does not cross: `OrderModify` to the new price and
//!   remaining quantity (a price change or a raised quantity loses priority in the L3 book
//!   too, so both books move the order to the back of its level);
//! - an amend that loses priority and crosses: `OrderDelete`, the matches as above, then
//!   `OrderAdd` of what rests, under the same venue order id.
//!
//! Orders that never rest (IOC/FOK, or filled on arrival) publish only their matches.
//!
//! ## Transient client ids
//!
//! [`MatchingEngine::set_transient_ids`] names a bit mask: orders whose client id has one of
//! those bits set are forgotten once finished, and their ids are checked for duplicates only
//! against live orders. The simulated venue uses it for other participants' orders, so that
//! memory stays bounded however long the synthetic market runs.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tickrail_engine::{Aggressor, EventBody, ExecKind, Liquidity, Price, Qty, Side, TimeInForce};

use super::reject;

/// A live or finished order as the engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    /// Current client order id.
    pub client_order_id: u64,
    /// The venue's id, from a counter starting at 1.
    pub venue_order_id: u64,
    /// Buy or sell.
    pub side: Side,
    /// Time in force.
    pub tif: TimeInForce,
    /// Limit price.
    pub price: Price,
    /// Order quantity.
    pub qty: Qty,
    /// Quantity filled so far.
    pub cum_qty: Qty,
}

impl OrderView {
    /// Quantity still open (`qty - cum_qty`).
    pub fn leaves_qty(&self) -> Qty {
        qty(self.qty.raw() - self.cum_qty.raw())
    }
}

/// Counters of what the engine did, for reports and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Orders acknowledged.
    pub acks: u64,
    /// Order, cancel and amend requests refused (`Rejected` + `CancelRejected`).
    pub rejects: u64,
    /// Trades printed.
    pub trades: u64,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    client_order_id: u64,
    venue_order_id: u64,
    side: Side,
    tif: TimeInForce,
    price: Price,
    qty: i64,
    cum: i64,
}

impl Order {
    fn leaves(&self) -> i64 {
        self.qty - self.cum
    }

    fn view(&self) -> OrderView {
        OrderView {
            client_order_id: self.client_order_id,
            venue_order_id: self.venue_order_id,
            side: self.side,
            tif: self.tif,
            price: self.price,
            qty: qty(self.qty),
            cum_qty: qty(self.cum),
        }
    }

    fn report(&self, exec: ExecKind, price: Price, last_qty: i64) -> EventBody {
        self.report_as(exec, Liquidity::Unknown, price, last_qty)
    }

    fn report_as(
        &self,
        exec: ExecKind,
        liquidity: Liquidity,
        price: Price,
        last_qty: i64,
    ) -> EventBody {
        EventBody::ExecReport {
            exec,
            side: self.side,
            liquidity,
            reject_code: 0,
            client_order_id: self.client_order_id,
            venue_order_id: self.venue_order_id,
            price,
            qty: qty(last_qty),
            leaves_qty: qty(self.leaves()),
            cum_qty: qty(self.cum),
        }
    }

    /// `Fill` if nothing is left, else `PartialFill`; `liquidity` says which side of the
    /// match this order was.
    fn fill_report(&self, liquidity: Liquidity, price: Price, fill: i64) -> EventBody {
        let exec = if self.leaves() == 0 {
            ExecKind::Fill
        } else {
            ExecKind::PartialFill
        };
        self.report_as(exec, liquidity, price, fill)
    }
}

/// A raw quantity as a [`Qty`]; the engine's quantities are never negative (clamped to zero
/// with a debug assertion, never a panic).
fn qty(raw: i64) -> Qty {
    debug_assert!(raw >= 0, "negative quantity {raw}");
    Qty::new_checked(raw).unwrap_or(Qty::ZERO)
}

/// The price put in a `CancelRejected` for an order the engine has never seen.
const UNKNOWN_PRICE: Price = Price::new(1);

/// A reject report for a request that never reached a book: `Rejected` for a new order,
/// `CancelRejected` for a cancel or amend. `None` if `request` is not an order request.
pub(crate) fn reject_request(request: &EventBody, code: u16) -> Option<EventBody> {
    let body = match *request {
        EventBody::OrderNew {
            side,
            client_order_id,
            price,
            qty,
            ..
        } => rejected(
            ExecKind::Rejected,
            code,
            side,
            client_order_id,
            0,
            price,
            qty,
        ),
        EventBody::OrderCancel {
            client_order_id, ..
        } => rejected(
            ExecKind::CancelRejected,
            code,
            Side::Buy,
            client_order_id,
            0,
            UNKNOWN_PRICE,
            Qty::ZERO,
        ),
        EventBody::OrderAmend {
            client_order_id,
            price,
            qty,
            ..
        } => rejected(
            ExecKind::CancelRejected,
            code,
            Side::Buy,
            client_order_id,
            0,
            price,
            qty,
        ),
        _ => return None,
    };
    Some(body)
}

fn rejected(
    exec: ExecKind,
    reject_code: u16,
    side: Side,
    client_order_id: u64,
    venue_order_id: u64,
    price: Price,
    qty: Qty,
) -> EventBody {
    EventBody::ExecReport {
        exec,
        side,
        liquidity: Liquidity::Unknown,
        reject_code,
        client_order_id,
        venue_order_id,
        price,
        qty,
        leaves_qty: Qty::ZERO,
        cum_qty: Qty::ZERO,
    }
}

/// A price-time priority matching engine for one instrument. See the module docs.
///
/// Memory grows with the run: every client id ever used is remembered (to reject duplicates)
/// and finished orders are kept (to tell "too late" from "unknown") — except transient ids
/// (see the module docs). That is fine for a simulated venue replaying a session; it is not a
/// production design.
#[derive(Debug, Default)]
pub struct MatchingEngine {
    /// Live (resting) orders by current client id.
    live: BTreeMap<u64, Order>,
    /// Finished orders (filled, canceled, replaced away) by their last client id.
    done: BTreeMap<u64, Order>,
    /// Every client id seen on an accepted-or-refused request.
    used_ids: BTreeSet<u64>,
    bids: BTreeMap<i64, VecDeque<u64>>,
    asks: BTreeMap<i64, VecDeque<u64>>,
    next_venue_order_id: u64,
    next_trade_id: u64,
    stats: EngineStats,
    /// Emit L3 market data along with the reports.
    publish: bool,
    /// Client ids with one of these bits set are transient (not remembered once finished).
    transient_mask: u64,
}

impl MatchingEngine {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns the emission of public L3 market data (see the module docs) on or off. Off by
    /// default: the engine then emits reports and trade prints only.
    pub fn set_publish(&mut self, on: bool) {
        self.publish = on;
    }

    /// Whether L3 market data is emitted.
    pub fn publishes(&self) -> bool {
        self.publish
    }

    /// Client ids with one of the bits of `mask` set are transient: their orders are
    /// forgotten once finished (so [`Self::order`] no longer finds them and a late cancel gets
    /// [`reject::UNKNOWN_ORDER`]) and their ids are checked for duplicates against live
    /// orders only. 0 (the default) makes every id permanent.
    pub fn set_transient_ids(&mut self, mask: u64) {
        self.transient_mask = mask;
    }

    fn is_transient(&self, client_order_id: u64) -> bool {
        client_order_id & self.transient_mask != 0
    }

    /// Records `id` as used; `false` if it was already used (a duplicate).
    fn use_id(&mut self, id: u64) -> bool {
        if self.is_transient(id) {
            !self.live.contains_key(&id)
        } else {
            self.used_ids.insert(id)
        }
    }

    fn id_used(&self, id: u64) -> bool {
        if self.is_transient(id) {
            self.live.contains_key(&id)
        } else {
            self.used_ids.contains(&id)
        }
    }

    /// Remembers a finished order under `id` (unless transient).
    fn remember_done(&mut self, id: u64, order: Order) {
        if !self.is_transient(id) {
            self.done.insert(id, order);
        }
    }

    /// Handles an `OrderNew`, `OrderCancel` or `OrderAmend` body; returns `false` (and emits
    /// nothing) for any other body.
    pub fn handle(&mut self, request: &EventBody, out: &mut impl FnMut(EventBody)) -> bool {
        match *request {
            EventBody::OrderNew {
                side,
                tif,
                client_order_id,
                price,
                qty,
                ..
            } => self.new_order(side, tif, client_order_id, price, qty, out),
            EventBody::OrderCancel {
                client_order_id,
                orig_client_order_id,
            } => self.cancel(client_order_id, orig_client_order_id, out),
            EventBody::OrderAmend {
                client_order_id,
                orig_client_order_id,
                price,
                qty,
            } => self.amend(client_order_id, orig_client_order_id, price, qty, out),
            _ => return false,
        }
        true
    }

    /// A new limit order. Rejects with [`reject::DUPLICATE_CLIENT_ID`],
    /// [`reject::INVALID_QTY`], [`reject::INVALID_PRICE`], [`reject::WOULD_CROSS`] (post-only)
    /// or [`reject::FOK_UNFILLABLE`]; otherwise acks, matches, and rests or cancels the rest.
    pub fn new_order(
        &mut self,
        side: Side,
        tif: TimeInForce,
        client_order_id: u64,
        price: Price,
        order_qty: Qty,
        out: &mut impl FnMut(EventBody),
    ) {
        let mut reject = |engine: &mut Self, code| {
            engine.stats.rejects += 1;
            out(rejected(
                ExecKind::Rejected,
                code,
                side,
                client_order_id,
                0,
                price,
                order_qty,
            ));
        };
        if !self.use_id(client_order_id) {
            return reject(self, reject::DUPLICATE_CLIENT_ID);
        }
        if order_qty.raw() <= 0 {
            return reject(self, reject::INVALID_QTY);
        }
        if price.raw() <= 0 {
            return reject(self, reject::INVALID_PRICE);
        }
        match tif {
            TimeInForce::PostOnly if self.crosses(side, price) => {
                return reject(self, reject::WOULD_CROSS);
            }
            TimeInForce::Fok if self.available(side, price) < i128::from(order_qty.raw()) => {
                return reject(self, reject::FOK_UNFILLABLE);
            }
            _ => {}
        }
        self.next_venue_order_id += 1;
        let mut order = Order {
            client_order_id,
            venue_order_id: self.next_venue_order_id,
            side,
            tif,
            price,
            qty: order_qty.raw(),
            cum: 0,
        };
        self.stats.acks += 1;
        out(order.report(ExecKind::Ack, price, order.qty));
        self.match_and_rest(&mut order, out);
    }

    /// Cancels the live order `orig_client_order_id`. Refuses with
    /// [`reject::DUPLICATE_CLIENT_ID`], [`reject::ORDER_NOT_LIVE`] or
    /// [`reject::UNKNOWN_ORDER`].
    pub fn cancel(
        &mut self,
        client_order_id: u64,
        orig_client_order_id: u64,
        out: &mut impl FnMut(EventBody),
    ) {
        if let Some(code) = self.check_request(client_order_id, orig_client_order_id) {
            return self.cancel_reject(client_order_id, orig_client_order_id, code, out);
        }
        self.use_id(client_order_id);
        if let Some(order) = self.unlink(orig_client_order_id) {
            self.finish_canceled(order, out);
            self.publish_delete(&order, out);
        }
    }

    /// Amends (cancel/replaces) the live order `orig_client_order_id` to `price` and
    /// `new_qty` (the new total quantity, fills included); the order is then known by
    /// `client_order_id`. A price change or a quantity increase loses time priority (and may
    /// trade, as an incoming order would); a quantity decrease at the same price keeps it. A
    /// new quantity at or below the filled quantity cancels the order. Refuses with
    /// [`reject::DUPLICATE_CLIENT_ID`], [`reject::INVALID_QTY`], [`reject::INVALID_PRICE`],
    /// [`reject::ORDER_NOT_LIVE`], [`reject::UNKNOWN_ORDER`] or [`reject::WOULD_CROSS`] (a
    /// post-only order amended through the opposite side; it stays unchanged).
    pub fn amend(
        &mut self,
        client_order_id: u64,
        orig_client_order_id: u64,
        price: Price,
        new_qty: Qty,
        out: &mut impl FnMut(EventBody),
    ) {
        let code = self
            .check_request(client_order_id, orig_client_order_id)
            .or(if new_qty.raw() <= 0 {
                Some(reject::INVALID_QTY)
            } else if price.raw() <= 0 {
                Some(reject::INVALID_PRICE)
            } else {
                None
            });
        if let Some(code) = code {
            return self.cancel_reject(client_order_id, orig_client_order_id, code, out);
        }
        let Some(current) = self.live.get(&orig_client_order_id).copied() else {
            return;
        };
        if current.tif == TimeInForce::PostOnly
            && price != current.price
            && self.crosses(current.side, price)
        {
            return self.cancel_reject(
                client_order_id,
                orig_client_order_id,
                reject::WOULD_CROSS,
                out,
            );
        }
        self.use_id(client_order_id);
        if new_qty.raw() <= current.cum {
            if let Some(order) = self.unlink(orig_client_order_id) {
                self.finish_canceled(order, out);
                self.publish_delete(&order, out);
            }
            return;
        }
        let keeps_priority = price == current.price && new_qty.raw() <= current.qty;
        if keeps_priority {
            let Some(mut order) = self.live.remove(&orig_client_order_id) else {
                return;
            };
            order.client_order_id = client_order_id;
            order.qty = new_qty.raw();
            let queue = self.levels_mut(order.side).get_mut(&order.price.raw());
            if let Some(slot) =
                queue.and_then(|q| q.iter_mut().find(|id| **id == orig_client_order_id))
            {
                *slot = client_order_id;
            }
            self.live.insert(client_order_id, order);
            self.remember_done(
                orig_client_order_id,
                Order {
                    qty: order.cum,
                    ..current
                },
            );
            out(order.report(ExecKind::Replaced, order.price, order.qty));
            self.publish_modify(&order, out);
        } else {
            let Some(mut order) = self.unlink(orig_client_order_id) else {
                return;
            };
            self.remember_done(
                orig_client_order_id,
                Order {
                    qty: order.cum,
                    ..order
                },
            );
            order.client_order_id = client_order_id;
            order.price = price;
            order.qty = new_qty.raw();
            out(order.report(ExecKind::Replaced, order.price, order.qty));
            if !self.crosses(order.side, order.price) {
                // Rests at once: one modify moves it in the public book as it moved here.
                self.rest(&order);
                self.publish_modify(&order, out);
            } else {
                self.publish_delete(&order, out);
                self.match_and_rest(&mut order, out);
            }
        }
    }

    /// The best bid price and the best ask price, without summing quantities (cheaper than
    /// [`Self::best_bid`] and [`Self::best_ask`]).
    pub fn best_prices(&self) -> (Option<Price>, Option<Price>) {
        (
            self.bids.keys().next_back().map(|&p| Price::new(p)),
            self.asks.keys().next().map(|&p| Price::new(p)),
        )
    }

    /// Number of price levels on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.levels(side).len()
    }

    /// The price levels of `side`, best first: price and total remaining quantity.
    pub fn depth(&self, side: Side) -> impl Iterator<Item = (Price, Qty)> + '_ {
        let (asks, bids) = match side {
            Side::Buy => (None, Some(self.bids.values().rev())),
            Side::Sell => (Some(self.asks.values()), None),
        };
        asks.into_iter()
            .flatten()
            .chain(bids.into_iter().flatten())
            .filter_map(|q| self.level_summary(q))
    }

    /// The best bid: price and total quantity at that level.
    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.bids
            .iter()
            .next_back()
            .and_then(|(_, q)| self.level_summary(q))
    }

    /// The best ask: price and total quantity at that level.
    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.asks
            .iter()
            .next()
            .and_then(|(_, q)| self.level_summary(q))
    }

    /// Whether the best bid is at or above the best ask (never, after any call returns).
    pub fn is_crossed(&self) -> bool {
        match (self.bids.keys().next_back(), self.asks.keys().next()) {
            (Some(bid), Some(ask)) => bid >= ask,
            _ => false,
        }
    }

    /// The order currently named `client_order_id`, live or finished.
    pub fn order(&self, client_order_id: u64) -> Option<OrderView> {
        self.live
            .get(&client_order_id)
            .or_else(|| self.done.get(&client_order_id))
            .map(Order::view)
    }

    /// The resting order currently named `client_order_id`, if any (one lookup; finished
    /// orders are not returned).
    pub fn live_order(&self, client_order_id: u64) -> Option<OrderView> {
        self.live.get(&client_order_id).map(Order::view)
    }

    /// Whether `client_order_id` names a resting order.
    pub fn is_live(&self, client_order_id: u64) -> bool {
        self.live.contains_key(&client_order_id)
    }

    /// The client ids resting at `price` on `side`, in time priority.
    pub fn queue(&self, side: Side, price: Price) -> Vec<u64> {
        self.levels(side)
            .get(&price.raw())
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Number of resting orders.
    pub fn open_orders(&self) -> usize {
        self.live.len()
    }

    /// What the engine has done so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Checks the book's internal consistency: every queued id is live at that side and
    /// price, every live order is queued exactly once, no level is empty, the book is not
    /// crossed. For tests and debugging.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut queued = 0usize;
        for side in [Side::Buy, Side::Sell] {
            for (px, queue) in self.levels(side) {
                if queue.is_empty() {
                    return Err(format!("empty {side} level {px}"));
                }
                for id in queue {
                    let order = self
                        .live
                        .get(id)
                        .ok_or_else(|| format!("queued id {id} not live"))?;
                    if order.side != side || order.price.raw() != *px || order.leaves() <= 0 {
                        return Err(format!("order {id} misplaced: {order:?}"));
                    }
                    queued += 1;
                }
            }
        }
        if queued != self.live.len() {
            return Err(format!("{queued} queued, {} live", self.live.len()));
        }
        if self.is_crossed() {
            return Err("crossed book".into());
        }
        Ok(())
    }

    fn level_summary(&self, queue: &VecDeque<u64>) -> Option<(Price, Qty)> {
        let first = self.live.get(queue.front()?)?;
        let total: i64 = queue
            .iter()
            .filter_map(|id| self.live.get(id))
            .map(Order::leaves)
            .fold(0i64, i64::saturating_add);
        Some((first.price, qty(total)))
    }

    fn levels(&self, side: Side) -> &BTreeMap<i64, VecDeque<u64>> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn levels_mut(&mut self, side: Side) -> &mut BTreeMap<i64, VecDeque<u64>> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best opposite price for an incoming `side` order, if it crosses `price`.
    fn crossing_level(&self, side: Side, price: Price) -> Option<i64> {
        match side {
            Side::Buy => self
                .asks
                .keys()
                .next()
                .copied()
                .filter(|&a| a <= price.raw()),
            Side::Sell => self
                .bids
                .keys()
                .next_back()
                .copied()
                .filter(|&b| b >= price.raw()),
        }
    }

    fn crosses(&self, side: Side, price: Price) -> bool {
        self.crossing_level(side, price).is_some()
    }

    /// Quantity an incoming `side` order limited at `price` could take right now.
    fn available(&self, side: Side, price: Price) -> i128 {
        let sum = |levels: &mut dyn Iterator<Item = &VecDeque<u64>>| -> i128 {
            levels
                .flat_map(|q| q.iter())
                .filter_map(|id| self.live.get(id))
                .map(|o| i128::from(o.leaves()))
                .sum()
        };
        match side {
            Side::Buy => sum(&mut self.asks.range(..=price.raw()).map(|(_, q)| q)),
            Side::Sell => sum(&mut self.bids.range(price.raw()..).map(|(_, q)| q)),
        }
    }

    fn check_request(&self, client_order_id: u64, orig: u64) -> Option<u16> {
        if self.id_used(client_order_id) {
            Some(reject::DUPLICATE_CLIENT_ID)
        } else if self.live.contains_key(&orig) {
            None
        } else if self.done.contains_key(&orig) {
            Some(reject::ORDER_NOT_LIVE)
        } else {
            Some(reject::UNKNOWN_ORDER)
        }
    }

    fn cancel_reject(
        &mut self,
        client_order_id: u64,
        orig: u64,
        code: u16,
        out: &mut impl FnMut(EventBody),
    ) {
        // A duplicate id stays owned by whoever used it first; any other refused request id
        // is consumed so that it cannot be reused either.
        self.use_id(client_order_id);
        self.stats.rejects += 1;
        let known = self.live.get(&orig).or_else(|| self.done.get(&orig));
        let (side, venue_order_id, price, order_qty, leaves, cum) = match known {
            Some(o) => (o.side, o.venue_order_id, o.price, o.qty, o.leaves(), o.cum),
            None => (Side::Buy, 0, UNKNOWN_PRICE, 0, 0, 0),
        };
        out(EventBody::ExecReport {
            exec: ExecKind::CancelRejected,
            side,
            liquidity: Liquidity::Unknown,
            reject_code: code,
            client_order_id,
            venue_order_id,
            price,
            qty: qty(order_qty),
            leaves_qty: qty(leaves),
            cum_qty: qty(cum),
        });
    }

    /// Removes a live order from its queue and from `live`.
    fn unlink(&mut self, client_order_id: u64) -> Option<Order> {
        let order = self.live.remove(&client_order_id)?;
        let levels = self.levels_mut(order.side);
        let px = order.price.raw();
        if let Some(queue) = levels.get_mut(&px) {
            queue.retain(|id| *id != client_order_id);
            if queue.is_empty() {
                levels.remove(&px);
            }
        }
        Some(order)
    }

    fn finish_canceled(&mut self, mut order: Order, out: &mut impl FnMut(EventBody)) {
        // The report carries the order's quantity (as `ExecReport` documents for non-fills)
        // with nothing left; the finished order keeps only what it filled.
        let order_qty = order.qty;
        order.qty = order.cum;
        out(order.report(ExecKind::Canceled, order.price, order_qty));
        self.remember_done(order.client_order_id, order);
    }

    /// Puts `order` at the back of its level and into `live`.
    fn rest(&mut self, order: &Order) {
        let (side, px, id) = (order.side, order.price.raw(), order.client_order_id);
        self.levels_mut(side).entry(px).or_default().push_back(id);
        self.live.insert(id, *order);
    }

    fn publish_delete(&self, order: &Order, out: &mut impl FnMut(EventBody)) {
        if self.publish {
            out(EventBody::OrderDelete {
                order_id: order.venue_order_id,
            });
        }
    }

    fn publish_modify(&self, order: &Order, out: &mut impl FnMut(EventBody)) {
        if self.publish {
            out(EventBody::OrderModify {
                order_id: order.venue_order_id,
                price: order.price,
                qty: qty(order.leaves()),
            });
        }
    }

    /// Matches `taker` against the opposite side, then rests what is left (Day, Gtc,
    /// PostOnly) or cancels it (Ioc; a Fok order was checked to fill completely).
    fn match_and_rest(&mut self, taker: &mut Order, out: &mut impl FnMut(EventBody)) {
        while taker.leaves() > 0 {
            let Some(level_px) = self.crossing_level(taker.side, taker.price) else {
                break;
            };
            let maker_side = taker.side.opposite();
            let levels = match maker_side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            let Some(queue) = levels.get_mut(&level_px) else {
                break;
            };
            let Some(&maker_id) = queue.front() else {
                levels.remove(&level_px);
                continue;
            };
            let Some(maker) = self.live.get_mut(&maker_id) else {
                debug_assert!(false, "queued id {maker_id} not live");
                queue.pop_front();
                if queue.is_empty() {
                    levels.remove(&level_px);
                }
                continue;
            };
            let fill = taker.leaves().min(maker.leaves());
            maker.cum += fill;
            taker.cum += fill;
            let fill_px = maker.price;
            let maker_copy = *maker;
            if maker_copy.leaves() == 0 {
                queue.pop_front();
                if queue.is_empty() {
                    levels.remove(&level_px);
                }
                self.live.remove(&maker_id);
                self.remember_done(maker_id, maker_copy);
            }
            self.next_trade_id += 1;
            self.stats.trades += 1;
            out(taker.fill_report(Liquidity::Taker, fill_px, fill));
            out(maker_copy.fill_report(Liquidity::Maker, fill_px, fill));
            if self.publish {
                out(EventBody::OrderExecute {
                    order_id: maker_copy.venue_order_id,
                    qty: qty(fill),
                    price: fill_px,
                    match_id: self.next_trade_id,
                });
            }
            out(EventBody::Trade {
                aggressor: match taker.side {
                    Side::Buy => Aggressor::Buy,
                    Side::Sell => Aggressor::Sell,
                },
                price: fill_px,
                qty: qty(fill),
                trade_id: self.next_trade_id,
            });
        }
        if taker.leaves() == 0 {
            self.remember_done(taker.client_order_id, *taker);
            return;
        }
        match taker.tif {
            TimeInForce::Ioc | TimeInForce::Fok => self.finish_canceled(*taker, out),
            TimeInForce::Day | TimeInForce::Gtc | TimeInForce::PostOnly => {
                self.rest(taker);
                if self.publish {
                    out(EventBody::OrderAdd {
                        side: taker.side,
                        order_id: taker.venue_order_id,
                        price: taker.price,
                        qty: qty(taker.leaves()),
                    });
                }
            }
        }
    }
}
