//! Our orders at the simulated venue: new orders, cancels and amends arriving, what they
//! take on arrival, and the execution reports queued for delivery.

use tickrail_engine::book::{BookView, MarketBook};
use tickrail_engine::{
    Event, EventBody, EventHeader, ExecKind, Liquidity, Price, Qty, Side, TimeInForce,
};
use tickrail_gateways::feed::FeedSource;
use tickrail_gateways::venue::reject;

use super::fills::displayed_at;
use super::{qty, Ctx, FillKind, HistoricalMarket, OurOrder, NO_ORDER, UNKNOWN_PRICE};
use crate::backtest::queue::QueuePosition;

impl<F: FeedSource> HistoricalMarket<F> {
    /// Header fields for reports about `slot`'s order, at venue time `at_ns`.
    pub(super) fn ctx_of(&self, slot: u32, at_ns: i64) -> Option<Ctx> {
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

    /// Queues a report for delivery at `ctx.at_ns` + the response latency (no earlier than
    /// the report before it).
    pub(super) fn emit(&mut self, ctx: Ctx, body: EventBody) {
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
        // The response latency, never delivering a report before an earlier one.
        let receive_ns = ctx
            .at_ns
            .saturating_add(self.latency.response.latency_ns(ctx.at_ns))
            .max(self.last_report_receive_ns);
        self.last_report_receive_ns = receive_ns;
        self.reports.push_back(Event::new(
            EventHeader {
                sequence,
                cause_sequence: sequence,
                exchange_ts_ns: ctx.at_ns,
                receive_ts_ns: receive_ns,
                instrument: ctx.instrument,
                price_scale: ctx.price_scale,
                qty_scale: ctx.qty_scale,
                source: self.params.venue,
            },
            body,
        ));
    }

    /// Removes `slot` from its listing's resting orders.
    pub(super) fn unlist(&mut self, listing: u32, slot: u32) {
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
    pub(super) fn new_order(&mut self, at_ns: i64, request: &Event) {
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
    pub(super) fn cancel(&mut self, at_ns: i64, request: &Event) {
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
    pub(super) fn amend(&mut self, at_ns: i64, request: &Event) {
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
