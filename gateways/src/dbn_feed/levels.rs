//! MBP-10 as price-level updates: every `Mbp10Msg` carries the top ten levels of each side
//! *after* its event; the adapter keeps the previous ten of each instrument and yields what
//! changed — a `Delete` for each price that left the top ten (at its old depth index), then
//! an `Upsert` for each price that is new or whose total size changed (at its new depth
//! index). Applied in order to a price-keyed L2 book, the book holds exactly the ten levels
//! of the record.

use dbn::BidAskPair;
use tickrail_engine::{LevelAction, Side};

/// Depth of the MBP-10 schema.
pub(crate) const DEPTH: usize = 10;

/// One side's levels as DBN gives them: price (1e-9) and total size; size 0 means absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SideLevels {
    px: [i64; DEPTH],
    sz: [u32; DEPTH],
}

impl SideLevels {
    const EMPTY: Self = Self {
        px: [0; DEPTH],
        sz: [0; DEPTH],
    };
}

/// Both sides: index 0 bids, 1 asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Levels {
    sides: [SideLevels; 2],
}

impl Default for Levels {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// One level change, DBN units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) side: Side,
    pub(crate) action: LevelAction,
    pub(crate) level: u16,
    pub(crate) px: i64,
    pub(crate) sz: u32,
}

impl Levels {
    /// No levels.
    pub(crate) const EMPTY: Self = Self {
        sides: [SideLevels::EMPTY; 2],
    };

    /// The levels of a record. A level with `UNDEF_PRICE` or size 0 is absent.
    pub(crate) fn from_pairs(pairs: &[BidAskPair; DEPTH]) -> Self {
        let mut out = Self::EMPTY;
        for (i, p) in pairs.iter().enumerate() {
            if p.bid_px != dbn::UNDEF_PRICE && p.bid_sz != 0 {
                out.sides[0].px[i] = p.bid_px;
                out.sides[0].sz[i] = p.bid_sz;
            }
            if p.ask_px != dbn::UNDEF_PRICE && p.ask_sz != 0 {
                out.sides[1].px[i] = p.ask_px;
                out.sides[1].sz[i] = p.ask_sz;
            }
        }
        out
    }

    /// The changes from `self` to `new`, appended to `out`: bids then asks, each side's
    /// deletes before its upserts.
    pub(crate) fn diff(&self, new: &Self, out: &mut Vec<Change>) {
        for (s, side) in [Side::Buy, Side::Sell].into_iter().enumerate() {
            let (old, new) = (&self.sides[s], &new.sides[s]);
            for i in 0..DEPTH {
                if old.sz[i] != 0 && !(0..DEPTH).any(|j| new.sz[j] != 0 && new.px[j] == old.px[i]) {
                    out.push(Change {
                        side,
                        action: LevelAction::Delete,
                        level: i as u16,
                        px: old.px[i],
                        sz: 0,
                    });
                }
            }
            for j in 0..DEPTH {
                if new.sz[j] != 0
                    && !(0..DEPTH).any(|i| old.sz[i] == new.sz[j] && old.px[i] == new.px[j])
                {
                    out.push(Change {
                        side,
                        action: LevelAction::Upsert,
                        level: j as u16,
                        px: new.px[j],
                        sz: new.sz[j],
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(bids: &[(i64, u32)], asks: &[(i64, u32)]) -> [BidAskPair; DEPTH] {
        let mut out: [BidAskPair; DEPTH] = std::array::from_fn(|_| BidAskPair::default());
        for (i, &(px, sz)) in bids.iter().enumerate() {
            out[i].bid_px = px;
            out[i].bid_sz = sz;
        }
        for (i, &(px, sz)) in asks.iter().enumerate() {
            out[i].ask_px = px;
            out[i].ask_sz = sz;
        }
        out
    }

    #[test]
    fn yields_deletes_then_upserts_per_side() {
        let a = Levels::from_pairs(&pairs(&[(100, 5), (99, 3)], &[(101, 2)]));
        let b = Levels::from_pairs(&pairs(&[(100, 4), (98, 1)], &[(101, 2)]));
        let mut out = Vec::new();
        Levels::EMPTY.diff(&a, &mut out);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|c| c.action == LevelAction::Upsert));
        out.clear();
        a.diff(&b, &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|c| (c.side, c.action, c.level, c.px, c.sz))
            .collect();
        assert_eq!(
            got,
            [
                (Side::Buy, LevelAction::Delete, 1, 99, 0),
                (Side::Buy, LevelAction::Upsert, 0, 100, 4),
                (Side::Buy, LevelAction::Upsert, 1, 98, 1),
            ]
        );
        out.clear();
        b.diff(&Levels::from_pairs(&pairs(&[], &[])), &mut out);
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|c| c.action == LevelAction::Delete));
    }
}
