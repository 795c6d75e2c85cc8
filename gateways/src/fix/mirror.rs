//! [`FeedMirror`]: the venue simulator's books fed by a market data feed — ITCH 5.0 in
//! MoldUDP64 over multicast, as `tickrail feed publish` sends a market data file — so that
//! FIX clients trade against the book the feed shows.
//!
//! Every order of the feed becomes a participant order on the matching engine of its
//! instrument (ids with [`PARTICIPANT_ID_BIT`] set, forgotten once finished):
//!
//! | feed event | on the book |
//! |---|---|
//! | `order_add` | a day limit order, same side, price and size |
//! | `order_replace` | the old order cancelled, the new one added (time priority lost) |
//! | `order_modify` | a smaller size at the same price: amended in place (priority kept); otherwise cancelled and added again |
//! | `order_delete` | cancelled |
//! | `order_execute` | an immediate-or-cancel order from the other side at the execution price for the executed size: it trades with the best-priced, earliest order there — a client order that improves on the feed's order, or is ahead of it, is filled first; otherwise the feed's order is |
//! | anything else | ignored (trades of hidden orders, quotes, status) |
//!
//! A client order therefore gets filled when the feed's flow would have reached it: by an
//! incoming order crossing it (taker flow shown as an add at a crossing price) or by an
//! execution at its price or through it. Where the client's fills make the mirror differ
//! from the feed (the feed's order was not hit because the client's was), later feed events
//! for the missing quantity find nothing and are counted in [`MirrorStats::missing`].
//! Likewise a partial cancel from the feed of an order a client has partly taken puts the
//! feed's remaining size back on the book (cancel and add), as the feed says it is. The
//! receiver's sequence rules hold for the venue's life: a second publication of the same
//! session (sequence numbers from 1 again) is all duplicates — start the venue again for
//! each replay of a file. A feed whose own book crosses (the repository's ITCH sample does, often) trades with itself
//! here; such adds are counted in [`MirrorStats::crossed`].

use std::collections::{BTreeMap, HashMap};

use tickrail_engine::{EventBody, ExecKind, InstrumentId, Price, Qty, Side, TimeInForce};

use crate::feed::InstrumentMap;
use crate::udp::{Receiver, ReceiverConfig, ReceiverError, ReceiverStats};
use crate::venue::{MatchingEngine, OrderView, PARTICIPANT_ID_BIT};

/// The largest id counter below [`PARTICIPANT_ID_BIT`].
const ID_MASK: u64 = PARTICIPANT_ID_BIT - 1;

/// What the mirror did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MirrorStats {
    /// Feed orders added to the books.
    pub adds: u64,
    /// Feed orders cancelled (deletes, and the old side of replaces and modifies).
    pub cancels: u64,
    /// Feed orders reduced in place (partial cancels).
    pub amends: u64,
    /// Adds that traded on arrival (crossing the book: a client's order, or another feed
    /// order where the feed's book is crossed).
    pub crossed: u64,
    /// Executions played as aggressing orders.
    pub executions: u64,
    /// Feed events naming an order the mirror does not hold (already filled by a client's
    /// trade, or added before the venue joined the feed).
    pub missing: u64,
    /// Feed events for instruments the venue does not list.
    pub foreign: u64,
}

/// A multicast receiver whose events are played onto matching engines.
#[derive(Debug)]
pub struct FeedMirror {
    receiver: Receiver,
    books: BookMirror,
    events: Vec<(InstrumentId, EventBody)>,
}

impl FeedMirror {
    /// Joins the feed (see [`Receiver::open`]).
    pub fn open(config: &ReceiverConfig, map: InstrumentMap) -> Result<Self, ReceiverError> {
        Ok(Self {
            receiver: Receiver::open(config, map)?,
            books: BookMirror::default(),
            events: Vec::with_capacity(1024),
        })
    }

    /// The mirror's counters.
    pub fn stats(&self) -> MirrorStats {
        self.books.stats
    }

    /// The receiver's counters (packets, gaps, rejects).
    pub fn feed_stats(&self) -> ReceiverStats {
        *self.receiver.stats()
    }

    /// Reads every datagram waiting and plays its events onto `engines`; the engines'
    /// execution reports go to `out` with their instrument. Whether anything arrived.
    pub fn poll(
        &mut self,
        engines: &mut BTreeMap<InstrumentId, MatchingEngine>,
        out: &mut impl FnMut(InstrumentId, EventBody),
    ) -> bool {
        let events = &mut self.events;
        events.clear();
        // A socket error other than "nothing to read" on a bound UDP socket: nothing now.
        let _ = self
            .receiver
            .poll(&mut |e| events.push((e.header.instrument, e.body)));
        let any = !self.events.is_empty();
        for i in 0..self.events.len() {
            let (instrument, body) = self.events[i];
            match engines.get_mut(&instrument) {
                Some(engine) => self.books.apply(engine, instrument, body, out),
                None => {
                    if matches!(
                        body,
                        EventBody::OrderAdd { .. }
                            | EventBody::OrderDelete { .. }
                            | EventBody::OrderExecute { .. }
                            | EventBody::OrderReplace { .. }
                            | EventBody::OrderModify { .. }
                    ) {
                        self.books.stats.foreign += 1;
                    }
                }
            }
        }
        any
    }
}

/// The feed's orders on the books, without the socket: [`BookMirror::apply`] plays one feed
/// event onto the matching engine of its instrument.
#[derive(Debug, Default)]
pub struct BookMirror {
    /// The feed's order (instrument, reference) → the participant id its order has on
    /// the book now (amends rename it).
    ids: HashMap<(InstrumentId, u64), u64>,
    next_id: u64,
    stats: MirrorStats,
}

impl BookMirror {
    /// The counters.
    pub fn stats(&self) -> MirrorStats {
        self.stats
    }

    /// A fresh participant id (for orders, cancels and aggressors alike).
    fn fresh_id(&mut self) -> u64 {
        self.next_id = (self.next_id + 1) & ID_MASK;
        PARTICIPANT_ID_BIT | self.next_id
    }

    /// The live book order of the feed's order `key`, forgetting it if it is gone.
    fn live(&mut self, engine: &MatchingEngine, key: (InstrumentId, u64)) -> Option<OrderView> {
        let id = *self.ids.get(&key)?;
        let order = engine.live_order(id);
        if order.is_none() {
            self.ids.remove(&key);
        }
        order
    }

    fn add(
        &mut self,
        engine: &mut MatchingEngine,
        key: (InstrumentId, u64),
        side: Side,
        price: Price,
        qty: Qty,
        out: &mut impl FnMut(EventBody),
    ) {
        let id = self.fresh_id();
        let mut traded = false;
        engine.new_order(side, TimeInForce::Day, id, price, qty, &mut |b| {
            traded |= matches!(
                b,
                EventBody::ExecReport {
                    exec: ExecKind::Fill | ExecKind::PartialFill,
                    ..
                }
            );
            out(b);
        });
        self.stats.adds += 1;
        self.stats.crossed += u64::from(traded);
        if engine.is_live(id) {
            self.ids.insert(key, id);
        }
    }

    /// Cancels the feed's order `key`; its side if the book held it.
    fn cancel(
        &mut self,
        engine: &mut MatchingEngine,
        key: (InstrumentId, u64),
        out: &mut impl FnMut(EventBody),
    ) -> Option<Side> {
        let Some(order) = self.live(engine, key) else {
            self.stats.missing += 1;
            return None;
        };
        self.ids.remove(&key);
        let req = self.fresh_id();
        engine.cancel(req, order.client_order_id, out);
        self.stats.cancels += 1;
        Some(order.side)
    }

    /// Plays `body` (a feed event of `instrument`) onto `engine`, the engine's reports to
    /// `out`; see the [module docs](self) for what each event does.
    pub fn apply(
        &mut self,
        engine: &mut MatchingEngine,
        instrument: InstrumentId,
        body: EventBody,
        out: &mut impl FnMut(InstrumentId, EventBody),
    ) {
        let out = &mut |b| out(instrument, b);
        let key = |order_id: u64| (instrument, order_id);
        match body {
            EventBody::OrderAdd {
                side,
                order_id,
                price,
                qty,
            } => self.add(engine, key(order_id), side, price, qty, out),
            EventBody::OrderDelete { order_id } => {
                self.cancel(engine, key(order_id), out);
            }
            EventBody::OrderReplace {
                old_order_id,
                new_order_id,
                price,
                qty,
            } => {
                if let Some(side) = self.cancel(engine, key(old_order_id), out) {
                    self.add(engine, key(new_order_id), side, price, qty, out);
                }
            }
            EventBody::OrderModify {
                order_id,
                price,
                qty,
            } => {
                let Some(order) = self.live(engine, key(order_id)) else {
                    self.stats.missing += 1;
                    return;
                };
                if order.price == price && qty.raw() < order.qty.raw() - order.cum_qty.raw() {
                    // Fewer shares at the same price: amended in place, priority kept.
                    let id = self.fresh_id();
                    let total = Qty::new(qty.raw() + order.cum_qty.raw());
                    engine.amend(id, order.client_order_id, price, total, out);
                    self.ids.insert(key(order_id), id);
                    self.stats.amends += 1;
                } else if let Some(side) = self.cancel(engine, key(order_id), out) {
                    self.add(engine, key(order_id), side, price, qty, out);
                }
            }
            EventBody::OrderExecute {
                order_id,
                qty,
                price,
                ..
            } => {
                let Some(resting) = self.live(engine, key(order_id)) else {
                    self.stats.missing += 1;
                    return;
                };
                let side = match resting.side {
                    Side::Buy => Side::Sell,
                    Side::Sell => Side::Buy,
                };
                let req = self.fresh_id();
                engine.new_order(side, TimeInForce::Ioc, req, price, qty, out);
                self.stats.executions += 1;
                // Forget it if the execution finished it.
                self.live(engine, key(order_id));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const I: InstrumentId = InstrumentId::new(0);

    /// (client order id, fill qty, fill price) of the client's fills (ids without the
    /// participant bit) among `reports`.
    fn client_fills(reports: &[EventBody]) -> Vec<(u64, i64, i64)> {
        reports
            .iter()
            .filter_map(|b| match *b {
                EventBody::ExecReport {
                    exec: ExecKind::Fill | ExecKind::PartialFill,
                    client_order_id,
                    qty,
                    price,
                    ..
                } if client_order_id & PARTICIPANT_ID_BIT == 0 => {
                    Some((client_order_id, qty.raw(), price.raw()))
                }
                _ => None,
            })
            .collect()
    }

    struct Venue {
        engine: MatchingEngine,
        mirror: BookMirror,
        reports: Vec<EventBody>,
    }

    impl Venue {
        fn new() -> Self {
            let mut engine = MatchingEngine::new();
            engine.set_transient_ids(PARTICIPANT_ID_BIT);
            Self {
                engine,
                mirror: BookMirror::default(),
                reports: Vec::new(),
            }
        }
        fn feed(&mut self, body: EventBody) {
            let reports = &mut self.reports;
            self.mirror
                .apply(&mut self.engine, I, body, &mut |_, b| reports.push(b));
        }
        fn add(&mut self, order_id: u64, side: Side, price: i64, qty: i64) {
            self.feed(EventBody::OrderAdd {
                side,
                order_id,
                price: Price::new(price),
                qty: Qty::new(qty),
            });
        }
        fn client(&mut self, id: u64, side: Side, price: i64, qty: i64) {
            let reports = &mut self.reports;
            self.engine.new_order(
                side,
                TimeInForce::Day,
                id,
                Price::new(price),
                Qty::new(qty),
                &mut |b| reports.push(b),
            );
        }
        fn execute(&mut self, order_id: u64, price: i64, qty: i64) {
            self.feed(EventBody::OrderExecute {
                order_id,
                qty: Qty::new(qty),
                price: Price::new(price),
                match_id: 0,
            });
        }
        fn depth(&self, side: Side) -> Vec<(i64, i64)> {
            self.engine
                .depth(side)
                .map(|(p, q)| (p.raw(), q.raw()))
                .collect()
        }
    }

    #[test]
    fn the_book_follows_adds_deletes_replaces_and_partial_cancels() {
        let mut v = Venue::new();
        v.add(1, Side::Buy, 100, 10);
        v.add(2, Side::Buy, 99, 5);
        v.add(3, Side::Sell, 102, 7);
        assert_eq!(v.depth(Side::Buy), [(100, 10), (99, 5)]);
        v.feed(EventBody::OrderDelete { order_id: 2 });
        v.feed(EventBody::OrderReplace {
            old_order_id: 3,
            new_order_id: 4,
            price: Price::new(101),
            qty: Qty::new(8),
        });
        v.feed(EventBody::OrderModify {
            order_id: 1,
            price: Price::new(100),
            qty: Qty::new(6),
        });
        assert_eq!(v.depth(Side::Buy), [(100, 6)]);
        assert_eq!(v.depth(Side::Sell), [(101, 8)]);
        // The replaced order is gone under its old reference, alive under the new one.
        v.feed(EventBody::OrderDelete { order_id: 3 });
        assert_eq!(v.mirror.stats().missing, 1);
        v.feed(EventBody::OrderDelete { order_id: 4 });
        assert!(v.depth(Side::Sell).is_empty());
        let s = v.mirror.stats();
        assert_eq!((s.adds, s.cancels, s.amends, s.crossed), (4, 3, 1, 0));
        assert!(client_fills(&v.reports).is_empty());
        v.engine.check_invariants().unwrap();
    }

    #[test]
    fn a_client_order_crossing_the_feeds_book_takes_it() {
        let mut v = Venue::new();
        v.add(1, Side::Sell, 101, 3);
        v.add(2, Side::Sell, 102, 10);
        v.client(7, Side::Buy, 102, 5);
        assert_eq!(client_fills(&v.reports), [(7, 3, 101), (7, 2, 102)]);
        // The feed's order 1 is gone from the mirror: its later delete finds nothing.
        v.feed(EventBody::OrderDelete { order_id: 1 });
        assert_eq!(v.mirror.stats().missing, 1);
        assert_eq!(v.depth(Side::Sell), [(102, 8)]);
    }

    #[test]
    fn an_execution_fills_a_better_priced_client_order_first() {
        let mut v = Venue::new();
        v.add(1, Side::Buy, 100, 10);
        v.client(7, Side::Buy, 101, 4); // improves on the feed's bid
        v.execute(1, 100, 6); // someone sold 6 at 100
        assert_eq!(client_fills(&v.reports), [(7, 4, 101)]);
        // The rest of the aggressor hit the feed's order.
        assert_eq!(v.depth(Side::Buy), [(100, 8)]);
        assert_eq!(v.mirror.stats().executions, 1);
    }

    #[test]
    fn at_the_same_price_the_feeds_earlier_order_fills_first() {
        let mut v = Venue::new();
        v.add(1, Side::Sell, 105, 5);
        v.client(7, Side::Sell, 105, 5); // behind the feed's order in the queue
        v.execute(1, 105, 5);
        assert!(client_fills(&v.reports).is_empty());
        // The next execution at that price, of an order behind ours, reaches the client.
        v.add(2, Side::Sell, 105, 5);
        v.execute(2, 105, 3);
        assert_eq!(client_fills(&v.reports), [(7, 3, 105)]);
        // A partial cancel keeps the feed order's place: still behind the client's rest.
        v.feed(EventBody::OrderModify {
            order_id: 2,
            price: Price::new(105),
            qty: Qty::new(4),
        });
        assert_eq!(v.depth(Side::Sell), [(105, 6)]);
        v.engine.check_invariants().unwrap();
    }

    #[test]
    fn a_crossed_feed_trades_with_itself_and_is_counted() {
        let mut v = Venue::new();
        v.add(1, Side::Buy, 100, 5);
        v.add(2, Side::Sell, 99, 5);
        assert_eq!(v.mirror.stats().crossed, 1);
        assert!(v.depth(Side::Buy).is_empty() && v.depth(Side::Sell).is_empty());
        v.execute(1, 100, 5);
        assert_eq!(v.mirror.stats().missing, 1);
        assert!(client_fills(&v.reports).is_empty());
    }
}
