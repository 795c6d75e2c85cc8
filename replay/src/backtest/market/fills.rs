//! Market data against our resting orders: a feed event applied to the venue's book, the
//! queue positions it moves and the fills it gives.

use tickrail_engine::book::market::MARKET_BOOK_L2_DEPTH;
use tickrail_engine::book::{BookView, MarketBook};
use tickrail_engine::{Aggressor, EventBody, ExecKind, Liquidity, Price, Side};
use tickrail_gateways::feed::FeedSource;

use super::{Family, FillKind, HistoricalMarket, Target};
use crate::backtest::queue::{QueueFill, RestingFill};

impl<F> HistoricalMarket<F> {
    /// Every fill of a resting order of ours so far (from the queue or traded through), in
    /// the order the venue made them, with the order's estimated queue position when it
    /// started resting and just before the fill. Grows by one record per such fill.
    pub fn queue_fills(&self) -> &[QueueFill] {
        &self.queue_fills
    }
}

impl<F: FeedSource> HistoricalMarket<F> {
    /// Applies the feed event read ahead (the last in `market_data`, just taken off
    /// `peeked`), of a simulated instrument, at venue time `at_ns`: the book, then its effect
    /// on our resting orders.
    pub(super) fn on_market(&mut self, li: u32, at_ns: i64) {
        let fifo = self.params.queue.is_exact_fifo();
        let on_cross = self.fill_on_cross;
        let Self {
            listings,
            orders,
            fills,
            market_data,
            ..
        } = self;
        let (Some(listing), Some(event)) = (listings.get_mut(li as usize), market_data.back())
        else {
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
            // The position before this event, for the record of a fill it gives.
            let before = o.queue.ahead();
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
            // Rule (c): the opposite best reached the order's price.
            if on_cross && applied && !through {
                through = listing
                    .book
                    .depth(side.opposite(), 0)
                    .is_some_and(|best| !better(side.opposite(), px, best.px));
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
                o.queue.filled_from(before);
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

    /// Fills `fill` of `slot`'s order at `price`; a complete order stops resting.
    pub(super) fn fill(&mut self, slot: u32, fill: i64, price: Price, kind: FillKind, at_ns: i64) {
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
        let resting = match kind {
            FillKind::Taker => None,
            FillKind::Queue => Some(RestingFill::Queue),
            FillKind::Through => Some(RestingFill::Through),
        };
        let record = resting.map(|kind| QueueFill {
            at_ns,
            client_order_id: o.client_order_id,
            instrument: ctx.instrument,
            side: o.side,
            price,
            qty: fill,
            price_scale: ctx.price_scale,
            qty_scale: ctx.qty_scale,
            kind,
            entry_ahead: o.queue.entry_ahead(),
            fill_ahead: o.queue.fill_ahead(),
        });
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
        if let Some(record) = record {
            self.queue_fills.push(record);
        }
        if stop {
            self.unlist(listing, slot);
        }
        self.emit(ctx, body);
    }
}

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
pub(super) fn displayed_at(book: &MarketBook, family: Family, side: Side, px: i64) -> Option<i64> {
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
