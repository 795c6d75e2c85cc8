//! [`MarketBook`]: one venue's book of one instrument, built from whatever the feed sends.
//!
//! A feed sends either per-order (L3) events or price-level (L2: `BookLevel`, L1: `Quote`)
//! events. The first book event fixes the mode; an event of the other family afterwards is
//! counted in [`MarketBook::mixed_feed`] and ignored (a feed does not switch families
//! mid-session; if it does, that is a configuration error worth seeing). Trades do not
//! change the book: L3 feeds report executions with `OrderExecute`, L2 feeds with the next
//! level update.

use super::l3::L3Book;
use super::{AnomalyCounts, BookView, L2Book, Level};
use crate::event::{Event, EventBody, LevelAction, Side};

/// Depth kept by the L2 side of a [`MarketBook`].
pub const MARKET_BOOK_L2_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
enum Mode {
    Empty,
    Levels,
    Orders,
}

/// One venue's book of one instrument; see the [module docs](self).
///
/// Serializable for engine snapshots; restore one with [`MarketBook::restore_from`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MarketBook {
    mode: Mode,
    l2: L2Book<MARKET_BOOK_L2_DEPTH>,
    l3: L3Book,
    mixed_feed: u64,
}

impl MarketBook {
    /// An empty book holding up to `max_orders` orders on `max_levels` levels per side when
    /// fed L3 (allocated here, once).
    pub fn new(max_orders: usize, max_levels: usize) -> Self {
        Self {
            mode: Mode::Empty,
            l2: L2Book::new(),
            l3: L3Book::with_capacity(max_orders, max_levels),
            mixed_feed: 0,
        }
    }

    /// Applies a market data event; returns whether it was a book event that was applied
    /// (other kinds, and refused mixed-family events, return `false`). Anomalies are counted
    /// by the underlying book.
    pub fn apply(&mut self, event: &Event) -> bool {
        let levels = matches!(
            event.body,
            EventBody::Quote { .. } | EventBody::BookLevel { .. }
        );
        let orders = matches!(
            event.body,
            EventBody::OrderAdd { .. }
                | EventBody::OrderModify { .. }
                | EventBody::OrderDelete { .. }
                | EventBody::OrderExecute { .. }
                | EventBody::OrderReplace { .. }
        );
        let wanted = match (levels, orders) {
            (true, _) => Mode::Levels,
            (_, true) => Mode::Orders,
            _ => return false,
        };
        if self.mode == Mode::Empty {
            self.mode = wanted;
        } else if self.mode != wanted {
            self.mixed_feed += 1;
            return false;
        }
        match event.body {
            EventBody::Quote {
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
            } => {
                self.l2.clear();
                for (side, px, qty) in [(Side::Buy, bid_px, bid_qty), (Side::Sell, ask_px, ask_qty)]
                {
                    if qty.raw() != 0 {
                        self.l2
                            .apply(side, LevelAction::Upsert, px.raw(), qty.raw());
                    }
                }
            }
            EventBody::BookLevel {
                side,
                action,
                price,
                qty,
                ..
            } => {
                self.l2.apply(side, action, price.raw(), qty.raw());
            }
            _ if wanted == Mode::Orders => {
                // Anomalies (unknown order, over-execution, ...) are counted by the book.
                let _ = self.l3.apply_event(event);
            }
            _ => return false,
        }
        true
    }

    /// Book events refused because they came from the other feed family.
    pub fn mixed_feed(&self) -> u64 {
        self.mixed_feed
    }

    /// Anomalies counted by the book in use.
    pub fn anomalies(&self) -> AnomalyCounts {
        match self.mode {
            Mode::Orders => self.l3.anomalies(),
            Mode::Empty | Mode::Levels => self.l2.anomalies(),
        }
    }

    /// The L3 book (empty unless fed L3 events).
    pub fn orders(&self) -> &L3Book {
        &self.l3
    }

    /// Takes the state of `saved` (a snapshot of a book), keeping this book's L3 sizing and
    /// allocations (see [`L3Book::restore_from`]).
    pub fn restore_from(&mut self, saved: MarketBook) {
        let MarketBook {
            mode,
            l2,
            l3,
            mixed_feed,
        } = saved;
        self.mode = mode;
        self.l2 = l2;
        self.l3.restore_from(l3);
        self.mixed_feed = mixed_feed;
    }

    /// Both sides present and not crossed: `(best bid, best ask)`.
    pub fn two_sided(&self) -> Option<(Level, Level)> {
        let bid = self.best_bid()?;
        let ask = self.best_ask()?;
        (bid.px < ask.px).then_some((bid, ask))
    }
}

impl BookView for MarketBook {
    fn depth(&self, side: Side, i: usize) -> Option<Level> {
        match self.mode {
            Mode::Empty => None,
            Mode::Levels => self.l2.depth(side, i),
            Mode::Orders => self.l3.depth(side, i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventHeader;
    use crate::instrument::InstrumentId;
    use crate::value::{Price, Qty};

    fn ev(body: EventBody) -> Event {
        Event::new(
            EventHeader {
                sequence: 1,
                cause_sequence: 1,
                exchange_ts_ns: 0,
                receive_ts_ns: 0,
                instrument: InstrumentId::new(0),
                price_scale: 2,
                qty_scale: 0,
                source: 1,
            },
            body,
        )
    }

    #[test]
    fn l3_events_build_levels_and_the_other_family_is_refused() {
        let mut b = MarketBook::new(16, 8);
        for (id, side, px) in [(1, Side::Buy, 99), (2, Side::Sell, 101), (3, Side::Buy, 99)] {
            assert!(b.apply(&ev(EventBody::OrderAdd {
                side,
                order_id: id,
                price: Price::new(px),
                qty: Qty::new(5),
            })));
        }
        assert_eq!(b.best_bid(), Some(Level { px: 99, qty: 10 }));
        assert!(b.apply(&ev(EventBody::OrderExecute {
            order_id: 2,
            qty: Qty::new(2),
            price: Price::new(101),
            match_id: 1,
        })));
        assert_eq!(b.best_ask(), Some(Level { px: 101, qty: 3 }));
        let quote = EventBody::Quote {
            bid_px: Price::new(1),
            bid_qty: Qty::new(1),
            ask_px: Price::new(2),
            ask_qty: Qty::new(1),
        };
        assert!(!b.apply(&ev(quote)));
        assert_eq!(b.mixed_feed(), 1);
        assert_eq!(
            b.two_sided(),
            Some((Level { px: 99, qty: 10 }, Level { px: 101, qty: 3 }))
        );
    }

    #[test]
    fn quotes_replace_the_top() {
        let mut b = MarketBook::new(1, 1);
        let q = |bp, bq, ap, aq| {
            ev(EventBody::Quote {
                bid_px: Price::new(bp),
                bid_qty: Qty::new(bq),
                ask_px: Price::new(ap),
                ask_qty: Qty::new(aq),
            })
        };
        assert!(b.apply(&q(99, 1, 101, 2)));
        assert!(b.apply(&q(100, 3, 101, 0)));
        assert_eq!(b.best_bid(), Some(Level { px: 100, qty: 3 }));
        assert_eq!(b.best_ask(), None);
        assert_eq!(b.two_sided(), None);
    }
}
