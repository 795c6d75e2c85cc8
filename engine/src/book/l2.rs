//! A price-level (L2) book of bounded depth.
//!
//! Each side is a ladder of at most `DEPTH` levels kept sorted best-first in two fixed
//! arrays (prices and quantities): an update is a binary search and, when a level appears or
//! disappears, a shift of the levels behind it — O(`DEPTH`) bytes moved, no allocation, and
//! cache-friendly for the small depths feeds publish (10 for MBP-10, 20 – 1000 for crypto).

use super::{Anomaly, AnomalyCounts};
use crate::event::{LevelAction, Side};

/// One price level: price and total quantity, in raw ticks of the instrument's scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub px: i64,
    pub qty: i64,
}

/// One side of the book, best level first.
///
/// Serialized (engine snapshots) as its side and its `len` live levels: the slots behind
/// them are never read, so a restored ladder behaves the same with them zeroed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(into = "LadderRepr", try_from = "LadderRepr")]
struct Ladder<const DEPTH: usize> {
    px: [i64; DEPTH],
    qty: [i64; DEPTH],
    len: usize,
    /// Bids: best = highest price; asks: best = lowest.
    bids: bool,
}

impl<const DEPTH: usize> Ladder<DEPTH> {
    const fn new(bids: bool) -> Self {
        Self {
            px: [0; DEPTH],
            qty: [0; DEPTH],
            len: 0,
            bids,
        }
    }

    /// Is `a` a better price than `b` on this side?
    #[inline]
    fn better(&self, a: i64, b: i64) -> bool {
        if self.bids {
            a > b
        } else {
            a < b
        }
    }

    /// Index of `px`, or where it would be inserted.
    ///
    /// A price behind the worst level held is answered with one comparison: a deep feed
    /// sends most of its updates there (on the Binance captures about 60% of level updates
    /// fall behind a 32-level ladder, as truncated upserts or deletes of levels never held).
    #[inline]
    fn find(&self, px: i64) -> Result<usize, usize> {
        if let Some(&worst) = self.len.checked_sub(1).and_then(|w| self.px.get(w)) {
            if self.better(worst, px) {
                return Err(self.len);
            }
        }
        let bids = self.bids;
        self.px[..self.len].binary_search_by(|&p| {
            if p == px {
                std::cmp::Ordering::Equal
            } else if (p > px) == bids {
                // `p` is better, so it sorts before `px`.
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            }
        })
    }

    /// Set the level at `px` to `qty` (> 0). `Err` if the level could not be kept.
    fn upsert(&mut self, px: i64, qty: i64) -> Result<(), Anomaly> {
        match self.find(px) {
            Ok(i) => {
                self.qty[i] = qty;
                Ok(())
            }
            Err(i) if i >= DEPTH => Err(Anomaly::DepthTruncated),
            Err(i) => {
                let truncated = self.len == DEPTH;
                let end = if truncated { DEPTH - 1 } else { self.len };
                self.px.copy_within(i..end, i + 1);
                self.qty.copy_within(i..end, i + 1);
                self.px[i] = px;
                self.qty[i] = qty;
                self.len = end + 1;
                if truncated {
                    Err(Anomaly::DepthTruncated)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Remove the level at `px`.
    fn delete(&mut self, px: i64) -> Result<(), Anomaly> {
        let i = self.find(px).map_err(|_| Anomaly::UnknownLevel)?;
        self.px.copy_within(i + 1..self.len, i);
        self.qty.copy_within(i + 1..self.len, i);
        self.len -= 1;
        Ok(())
    }

    #[inline]
    fn level(&self, i: usize) -> Option<Level> {
        (i < self.len).then(|| Level {
            px: self.px[i],
            qty: self.qty[i],
        })
    }

    fn check(&self) -> Result<(), String> {
        for i in 0..self.len {
            if self.px[i] <= 0 || self.qty[i] <= 0 {
                return Err(format!(
                    "level {i}: price {} qty {}",
                    self.px[i], self.qty[i]
                ));
            }
            if i > 0 && !self.better(self.px[i - 1], self.px[i]) {
                return Err(format!("levels {} and {i} out of order", i - 1));
            }
        }
        Ok(())
    }
}

/// The serialized form of a [`Ladder`]: its live levels `(price, quantity)`, best first.
#[derive(serde::Serialize, serde::Deserialize)]
struct LadderRepr {
    bids: bool,
    levels: Vec<(i64, i64)>,
}

impl<const DEPTH: usize> From<Ladder<DEPTH>> for LadderRepr {
    fn from(l: Ladder<DEPTH>) -> Self {
        Self {
            bids: l.bids,
            levels: (0..l.len).map(|i| (l.px[i], l.qty[i])).collect(),
        }
    }
}

impl<const DEPTH: usize> TryFrom<LadderRepr> for Ladder<DEPTH> {
    type Error = String;

    fn try_from(r: LadderRepr) -> Result<Self, String> {
        if r.levels.len() > DEPTH {
            return Err(format!(
                "{} levels for a ladder of depth {DEPTH}",
                r.levels.len()
            ));
        }
        let mut l = Self::new(r.bids);
        l.len = r.levels.len();
        for (i, (px, qty)) in r.levels.into_iter().enumerate() {
            l.px[i] = px;
            l.qty[i] = qty;
        }
        Ok(l)
    }
}

/// An L2 book keeping the best `DEPTH` levels of each side.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct L2Book<const DEPTH: usize> {
    bids: Ladder<DEPTH>,
    asks: Ladder<DEPTH>,
    anomalies: AnomalyCounts,
}

impl<const DEPTH: usize> Default for L2Book<DEPTH> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const DEPTH: usize> L2Book<DEPTH> {
    const DEPTH_IS_POSITIVE: () = assert!(DEPTH > 0, "an L2 book needs at least one level");

    /// An empty book.
    pub const fn new() -> Self {
        let () = Self::DEPTH_IS_POSITIVE;
        Self {
            bids: Ladder::new(true),
            asks: Ladder::new(false),
            anomalies: AnomalyCounts::new(),
        }
    }

    /// Apply one level update, price and quantity in raw ticks (`Price::raw`, `Qty::raw`).
    /// `Upsert` with a zero quantity removes the level (feeds send both forms). Returns the
    /// anomaly it raised, if any; it is also counted.
    pub fn apply(&mut self, side: Side, action: LevelAction, px: i64, q: i64) -> Option<Anomaly> {
        let result = if px <= 0 || q < 0 {
            Err(Anomaly::InvalidValue)
        } else {
            let ladder = match side {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            match action {
                LevelAction::Upsert if q > 0 => ladder.upsert(px, q),
                LevelAction::Upsert | LevelAction::Delete => ladder.delete(px),
            }
        };
        let anomaly = match result {
            Err(a) => Some(a),
            Ok(()) if self.is_crossed() => Some(Anomaly::Crossed),
            Ok(()) => None,
        };
        if let Some(a) = anomaly {
            self.anomalies.count(a);
        }
        anomaly
    }

    /// Remove every level (a snapshot follows, or the feed was reset).
    pub fn clear(&mut self) {
        self.bids.len = 0;
        self.asks.len = 0;
    }

    /// Best bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.level(0)
    }

    /// Best ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.level(0)
    }

    /// Level `i` (0 = best) of `side`.
    pub fn depth(&self, side: Side, i: usize) -> Option<Level> {
        match side {
            Side::Buy => self.bids.level(i),
            Side::Sell => self.asks.level(i),
        }
    }

    /// Number of levels held on `side`.
    pub fn levels(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.bids.len,
            Side::Sell => self.asks.len,
        }
    }

    /// Best bid at or above best ask.
    pub fn is_crossed(&self) -> bool {
        match (self.bids.level(0), self.asks.level(0)) {
            (Some(b), Some(a)) => b.px >= a.px,
            _ => false,
        }
    }

    /// Anomalies counted so far.
    pub fn anomalies(&self) -> AnomalyCounts {
        self.anomalies
    }

    /// The invariants: each side sorted best-first with distinct prices, positive prices
    /// and quantities, and the book not crossed.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.bids.check().map_err(|e| format!("bids: {e}"))?;
        self.asks.check().map_err(|e| format!("asks: {e}"))?;
        if self.is_crossed() {
            return Err("crossed".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn px(p: i64) -> i64 {
        p
    }
    fn q(x: i64) -> i64 {
        x
    }
    fn lv(px: i64, qty: i64) -> Option<Level> {
        Some(Level { px, qty })
    }

    #[test]
    fn levels_sort_best_first_and_update_in_place() {
        let mut b = L2Book::<8>::new();
        for p in [100, 102, 101] {
            assert_eq!(b.apply(Side::Buy, LevelAction::Upsert, px(p), q(p)), None);
        }
        for p in [105, 103, 104] {
            assert_eq!(b.apply(Side::Sell, LevelAction::Upsert, px(p), q(p)), None);
        }
        assert_eq!(b.best_bid(), lv(102, 102));
        assert_eq!(b.best_ask(), lv(103, 103));
        assert_eq!(b.depth(Side::Buy, 2), lv(100, 100));
        assert_eq!(b.depth(Side::Sell, 2), lv(105, 105));
        b.apply(Side::Buy, LevelAction::Upsert, px(101), q(7));
        assert_eq!(b.depth(Side::Buy, 1), lv(101, 7));
        b.apply(Side::Buy, LevelAction::Delete, px(102), q(0));
        assert_eq!(b.best_bid(), lv(101, 7));
        b.apply(Side::Sell, LevelAction::Upsert, px(103), q(0)); // zero qty removes
        assert_eq!(b.best_ask(), lv(104, 104));
        assert_eq!(b.anomalies().total(), 0);
        b.check_invariants().unwrap();
    }

    #[test]
    fn inconsistent_updates_are_counted_not_fatal() {
        let mut b = L2Book::<2>::new();
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Delete, px(5), q(0)),
            Some(Anomaly::UnknownLevel)
        );
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, 1, 0),
            Some(Anomaly::UnknownLevel)
        );
        b.apply(Side::Sell, LevelAction::Upsert, px(10), q(1));
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, px(10), q(1)),
            Some(Anomaly::Crossed)
        );
        assert!(b.is_crossed());
        assert!(b.check_invariants().is_err());
        b.apply(Side::Buy, LevelAction::Delete, px(10), q(0));
        b.check_invariants().unwrap();
        // Depth 2: a third, worse level is dropped; a better one pushes the worst out.
        b.apply(Side::Buy, LevelAction::Upsert, px(8), q(1));
        b.apply(Side::Buy, LevelAction::Upsert, px(7), q(1));
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, px(6), q(1)),
            Some(Anomaly::DepthTruncated)
        );
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, px(9), q(1)),
            Some(Anomaly::DepthTruncated)
        );
        assert_eq!(
            (b.depth(Side::Buy, 0), b.depth(Side::Buy, 1)),
            (lv(9, 1), lv(8, 1))
        );
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, 0, 5),
            Some(Anomaly::InvalidValue)
        );
        assert_eq!(
            b.apply(Side::Buy, LevelAction::Upsert, 5, -1),
            Some(Anomaly::InvalidValue)
        );
        let c = b.anomalies();
        assert_eq!(
            (
                c.unknown_level,
                c.crossed,
                c.depth_truncated,
                c.invalid_value
            ),
            (2, 1, 2, 2)
        );
    }

    #[derive(Debug, Clone)]
    struct Op {
        bid: bool,
        delete: bool,
        px: i64,
        qty: i64,
    }

    fn op() -> impl Strategy<Value = Op> {
        (any::<bool>(), prop::bool::weighted(0.3), 1i64..40, 0i64..5).prop_map(
            |(bid, delete, px, qty)| Op {
                bid,
                delete,
                px,
                qty,
            },
        )
    }

    proptest! {
        /// Against a BTreeMap model: same levels in the same order, and a stream that never
        /// crosses (bids below 20, asks at 20 or above) raises no anomaly but unknown deletes.
        #[test]
        fn matches_a_sorted_map_model(ops in prop::collection::vec(op(), 0..400)) {
            let mut b = L2Book::<64>::new();
            let (mut bids, mut asks) = (BTreeMap::new(), BTreeMap::new());
            let mut unknown = 0;
            for o in &ops {
                let (model, p) = if o.bid {
                    (&mut bids, o.px.min(19))
                } else {
                    (&mut asks, o.px.max(20))
                };
                let (side, action) = (
                    if o.bid { Side::Buy } else { Side::Sell },
                    if o.delete { LevelAction::Delete } else { LevelAction::Upsert },
                );
                if o.delete || o.qty == 0 {
                    if model.remove(&p).is_none() {
                        unknown += 1;
                    }
                } else {
                    model.insert(p, o.qty);
                }
                b.apply(side, action, px(p), q(o.qty));
                prop_assert!(b.check_invariants().is_ok());
            }
            prop_assert_eq!(b.anomalies(), AnomalyCounts { unknown_level: unknown, ..Default::default() });
            let got_bids: Vec<_> = (0..b.levels(Side::Buy)).map(|i| b.depth(Side::Buy, i).unwrap()).collect();
            let want_bids: Vec<_> = bids.iter().rev().map(|(&p, &x)| lv(p, x).unwrap()).collect();
            prop_assert_eq!(got_bids, want_bids);
            let got_asks: Vec<_> = (0..b.levels(Side::Sell)).map(|i| b.depth(Side::Sell, i).unwrap()).collect();
            let want_asks: Vec<_> = asks.iter().map(|(&p, &x)| lv(p, x).unwrap()).collect();
            prop_assert_eq!(got_asks, want_asks);
        }

        /// The search answers what a linear scan does: the index of the price, or the
        /// number of better levels, on both sides and at every fill of the ladder.
        #[test]
        fn find_is_the_count_of_better_levels(
            prices in prop::collection::btree_set(1i64..200, 0..8),
            probe in 0i64..202,
            bids in any::<bool>(),
        ) {
            let mut ladder = Ladder::<8>::new(bids);
            let mut sorted: Vec<i64> = prices.into_iter().collect();
            if bids {
                sorted.reverse();
            }
            for (i, &p) in sorted.iter().enumerate() {
                ladder.px[i] = p;
                ladder.qty[i] = 1;
            }
            ladder.len = sorted.len();
            let better = sorted.iter().filter(|&&p| if bids { p > probe } else { p < probe }).count();
            let want = if sorted.contains(&probe) { Ok(better) } else { Err(better) };
            prop_assert_eq!(ladder.find(probe), want);
        }

        /// Arbitrary raw values (including non-positive prices and negative quantities,
        /// as a corrupt feed could carry) never panic and never break the ordering.
        #[test]
        fn arbitrary_input_never_panics(ops in prop::collection::vec(
            (any::<bool>(), any::<bool>(), any::<i64>(), any::<i64>()), 0..300)) {
            let mut b = L2Book::<4>::new();
            for (bid, del, p, x) in ops {
                let side = if bid { Side::Buy } else { Side::Sell };
                let action = if del { LevelAction::Delete } else { LevelAction::Upsert };
                let _ = b.apply(side, action, p, x);
                prop_assert!(b.bids.check().is_ok() && b.asks.check().is_ok());
            }
        }
    }
}
