//! [`Router`]: which venue gets an order, and how much of it.
//!
//! # Rules
//!
//! - **Passive orders** (quotes) go to the venue with the lowest maker fee for the
//!   instrument (the biggest rebate); ties go to the venue listed first.
//! - **Taking orders** (IOC up to a limit price) look at each venue's displayed book. Venues
//!   are ranked by the best opposite price (lowest ask for a buy, highest bid for a sell),
//!   then by the lower taker fee, then by config order. A venue showing nothing at or inside
//!   the limit is skipped. With `split_by_displayed`, the order is cut into children of at
//!   most the size each venue displays at or inside the limit, best venue first, in whole
//!   lots, until the quantity is placed; what no venue displays is **not** sent (an IOC
//!   beyond the displayed size would only be canceled). Without it, the whole quantity goes
//!   to the best-ranked venue.
//!
//! Routing reads the books and fees only: it is a pure function, allocation-free (children
//! are returned in a fixed array of [`MAX_VENUES`]).

use super::params::{RouteRule, RouterParams};
use crate::book::BookView;
use crate::event::Side;
use crate::instrument::InstrumentId;

/// Most venues a router handles.
pub const MAX_VENUES: usize = 8;

/// One child order: the venue (by its index in the router's venue list, and its id) and the
/// quantity, raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Child {
    /// The venue's index in [`RouterParams::venues`].
    pub slot: usize,
    /// The venue id.
    pub venue: u16,
    /// Quantity, raw, a positive multiple of the lot.
    pub qty: i64,
}

/// The children of one routed order, best venue first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Routes {
    children: [Child; MAX_VENUES],
    len: usize,
}

impl Routes {
    /// The children.
    pub fn as_slice(&self) -> &[Child] {
        &self.children[..self.len]
    }

    /// Total quantity routed.
    pub fn total_qty(&self) -> i64 {
        self.as_slice().iter().map(|c| c.qty).sum()
    }

    fn push(&mut self, child: Child) {
        if self.len < MAX_VENUES {
            self.children[self.len] = child;
            self.len += 1;
        }
    }
}

/// A router configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// No venue, or more than [`MAX_VENUES`].
    #[error("router: {0} venues configured, expected 1 to {MAX_VENUES}")]
    VenueCount(usize),
    /// Two venues share an id.
    #[error("router: venue id {0} appears twice")]
    DuplicateVenue(u16),
    /// A venue's fee table does not cover every instrument.
    #[error("router: venue {venue} has fees for {found} instruments, expected {expected}")]
    FeeTable {
        /// The venue.
        venue: u16,
        /// Fee entries.
        found: usize,
        /// Instruments.
        expected: usize,
    },
}

/// Routes orders across venues; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Router {
    params: RouterParams,
}

impl Router {
    /// A router over `params.venues` for instruments `0 .. n_instruments`.
    pub fn new(params: RouterParams, n_instruments: usize) -> Result<Self, RouterError> {
        let n = params.venues.len();
        if n == 0 || n > MAX_VENUES {
            return Err(RouterError::VenueCount(n));
        }
        for (i, v) in params.venues.iter().enumerate() {
            if params.venues[..i].iter().any(|w| w.venue == v.venue) {
                return Err(RouterError::DuplicateVenue(v.venue));
            }
            if v.fees.len() != n_instruments {
                return Err(RouterError::FeeTable {
                    venue: v.venue,
                    found: v.fees.len(),
                    expected: n_instruments,
                });
            }
        }
        Ok(Self { params })
    }

    /// The parameters.
    pub fn params(&self) -> &RouterParams {
        &self.params
    }

    /// The index of venue `venue` in the venue list.
    pub fn slot_of(&self, venue: u16) -> Option<usize> {
        self.params.venues.iter().position(|v| v.venue == venue)
    }

    /// The venue for a passive order on `instrument`: lowest maker fee, then config order.
    pub fn route_passive(&self, instrument: InstrumentId) -> Option<Child> {
        let i = usize::try_from(instrument.get()).ok()?;
        let mut best: Option<(i64, usize)> = None;
        for (slot, v) in self.params.venues.iter().enumerate() {
            let fee = v.fees.get(i)?.maker_per_qty;
            if best.is_none_or(|(f, _)| fee < f) {
                best = Some((fee, slot));
            }
        }
        best.map(|(_, slot)| Child {
            slot,
            venue: self.params.venues[slot].venue,
            qty: 0,
        })
    }

    /// Children for a taking order: `side` up to `limit_px` (raw), `qty` raw in lots of
    /// `lot` raw. `book(slot)` is the venue's current book for the instrument (`None` if the
    /// venue has none). See the module docs for the ranking and the split.
    pub fn route_take<'a, B: BookView + 'a>(
        &self,
        instrument: InstrumentId,
        side: Side,
        limit_px: i64,
        qty: i64,
        lot: i64,
        book: impl Fn(usize) -> Option<&'a B>,
    ) -> Routes {
        let mut routes = Routes::default();
        let Some(i) = usize::try_from(instrument.get()).ok() else {
            return routes;
        };
        if qty <= 0 || lot <= 0 {
            return routes;
        }
        let RouteRule::BestPriceThenFee = self.params.rule;
        // (best opposite price as a "lower is better" key, taker fee, slot, displayed qty)
        let mut ranked = [(0i64, 0i64, 0usize, 0i64); MAX_VENUES];
        let mut n = 0;
        for (slot, v) in self.params.venues.iter().enumerate() {
            let Some(b) = book(slot) else { continue };
            let Some(fee) = v.fees.get(i).map(|f| f.taker_per_qty) else {
                continue;
            };
            let (best, shown) = displayed_within(b, side, limit_px);
            if shown <= 0 {
                continue;
            }
            let key = match side {
                Side::Buy => best,
                Side::Sell => best.saturating_neg(),
            };
            ranked[n] = (key, fee, slot, shown);
            n += 1;
        }
        let ranked = &mut ranked[..n];
        ranked.sort_unstable_by_key(|&(key, fee, slot, _)| (key, fee, slot));
        let mut left = qty - qty % lot;
        for &(_, _, slot, shown) in ranked.iter() {
            if left <= 0 {
                break;
            }
            let take = if self.params.split_by_displayed {
                let s = shown.min(left);
                s - s % lot
            } else {
                left
            };
            if take > 0 {
                routes.push(Child {
                    slot,
                    venue: self.params.venues[slot].venue,
                    qty: take,
                });
                left -= take;
            }
            if !self.params.split_by_displayed {
                break;
            }
        }
        routes
    }
}

/// The best opposite price and the quantity displayed at or inside `limit_px` on the side a
/// `side` order takes from.
fn displayed_within(book: &impl BookView, side: Side, limit_px: i64) -> (i64, i64) {
    let opposite = side.opposite();
    let mut best = None;
    let mut shown = 0i64;
    let mut level = 0;
    while let Some(l) = book.depth(opposite, level) {
        let inside = match side {
            Side::Buy => l.px <= limit_px,
            Side::Sell => l.px >= limit_px,
        };
        if !inside {
            break;
        }
        best.get_or_insert(l.px);
        shown = shown.saturating_add(l.qty);
        level += 1;
    }
    (best.unwrap_or(0), shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::{L2Book, Level};
    use crate::event::LevelAction;
    use crate::oms::Fees;
    use crate::router::VenueRoute;

    fn fees(maker: i64, taker: i64) -> Vec<Fees> {
        vec![
            Fees {
                maker_per_qty: maker,
                taker_per_qty: taker,
            };
            2
        ]
    }

    fn router(split: bool) -> Router {
        Router::new(
            RouterParams {
                rule: RouteRule::BestPriceThenFee,
                split_by_displayed: split,
                venues: vec![
                    VenueRoute {
                        venue: 1,
                        fees: fees(-2, 3),
                    },
                    VenueRoute {
                        venue: 2,
                        fees: fees(-3, 2),
                    },
                    VenueRoute {
                        venue: 3,
                        fees: fees(-3, 1),
                    },
                ],
            },
            2,
        )
        .unwrap()
    }

    fn book(asks: &[(i64, i64)]) -> L2Book<8> {
        let mut b = L2Book::new();
        for &(px, q) in asks {
            b.apply(Side::Sell, LevelAction::Upsert, px, q);
        }
        b.apply(Side::Buy, LevelAction::Upsert, 90, 5);
        b
    }

    #[test]
    fn passive_goes_to_the_biggest_rebate_first_listed() {
        let r = router(true);
        assert_eq!(
            r.route_passive(InstrumentId::new(1)).map(|c| c.venue),
            Some(2)
        );
        assert_eq!(r.route_passive(InstrumentId::new(9)), None);
    }

    #[test]
    fn take_ranks_by_price_then_fee_and_splits_by_displayed_size() {
        let books = [
            book(&[(100, 4), (101, 10)]),
            book(&[(100, 3)]),
            book(&[(101, 50)]),
        ];
        let get = |slot: usize| books.get(slot);
        let r = router(true);
        // Venue 2 (slot 1) and venue 1 (slot 0) both show 100; venue 2 has the lower taker
        // fee. Limit 100: only the 100 levels count.
        let routes = r.route_take(InstrumentId::new(0), Side::Buy, 100, 20, 1, get);
        let got: Vec<_> = routes.as_slice().iter().map(|c| (c.venue, c.qty)).collect();
        assert_eq!(got, vec![(2, 3), (1, 4)]);
        // Limit 101: venue 3 shows 50 at 101 and ranks last on price.
        let routes = r.route_take(InstrumentId::new(0), Side::Buy, 101, 20, 1, get);
        let got: Vec<_> = routes.as_slice().iter().map(|c| (c.venue, c.qty)).collect();
        assert_eq!(got, vec![(2, 3), (1, 14), (3, 3)]);
        assert_eq!(routes.total_qty(), 20);
        // Without split, everything goes to the best venue.
        let routes = router(false).route_take(InstrumentId::new(0), Side::Buy, 101, 20, 1, get);
        let got: Vec<_> = routes.as_slice().iter().map(|c| (c.venue, c.qty)).collect();
        assert_eq!(got, vec![(2, 20)]);
        // Lots: children are whole lots.
        let routes = r.route_take(InstrumentId::new(0), Side::Buy, 100, 20, 2, get);
        let got: Vec<_> = routes.as_slice().iter().map(|c| (c.venue, c.qty)).collect();
        assert_eq!(got, vec![(2, 2), (1, 4)]);
    }

    #[test]
    fn sells_take_the_highest_bid_and_nothing_shown_routes_nothing() {
        let mut a: L2Book<8> = L2Book::new();
        a.apply(Side::Buy, LevelAction::Upsert, 99, 5);
        let mut b: L2Book<8> = L2Book::new();
        b.apply(Side::Buy, LevelAction::Upsert, 98, 5);
        let books = [b, a];
        let r = router(true);
        let routes = r.route_take(InstrumentId::new(0), Side::Sell, 98, 7, 1, |s| books.get(s));
        let got: Vec<_> = routes.as_slice().iter().map(|c| (c.venue, c.qty)).collect();
        assert_eq!(got, vec![(2, 5), (1, 2)]);
        let routes = r.route_take(InstrumentId::new(0), Side::Sell, 100, 7, 1, |s| {
            books.get(s)
        });
        assert!(routes.as_slice().is_empty());
        assert_eq!(books[0].best_bid(), Some(Level { px: 98, qty: 5 }));
    }

    #[test]
    fn bad_configs_are_refused() {
        let p = router(true).params().clone();
        assert!(matches!(
            Router::new(
                RouterParams {
                    venues: vec![],
                    ..p.clone()
                },
                2
            ),
            Err(RouterError::VenueCount(0))
        ));
        let mut dup = p.clone();
        dup.venues[1].venue = 1;
        assert_eq!(
            Router::new(dup, 2).unwrap_err(),
            RouterError::DuplicateVenue(1)
        );
        assert!(matches!(
            Router::new(p, 3),
            Err(RouterError::FeeTable { .. })
        ));
    }
}
