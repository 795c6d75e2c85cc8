//! Depth-diff continuity: Binance's rules for keeping a local book from `depthUpdate` diffs
//! and REST snapshots, as a small state machine per instrument ([`DepthSync`]).
//!
//! Ids: a diff covers the book's update ids `U ..= u`; USD-M diffs also carry `pu`, the `u`
//! of the diff before them (USD-M ids are not contiguous, so only `pu` links diffs). A
//! snapshot is the book as of its `lastUpdateId` (`L`).
//!
//! | state | spot | USD-M |
//! |---|---|---|
//! | no diff yet | apply (the book starts from nothing) | same |
//! | after diff `u` | continuous iff `U ≤ u + 1` (normally `U = u + 1`; an overlap re-applies absolute quantities, harmless) | continuous iff `pu = u` |
//! | after snapshot `L` | drop (stale) diffs with `u ≤ L`; the first kept one must have `U ≤ L + 1` | drop diffs with `u < L`; the first kept one must have `U ≤ L` |
//! | any | `u ≤` the last applied `u`: duplicate or reordered, dropped | same |
//!
//! A break is applied anyway, after a `FeedGap` whose `expected`/`received` are the id the
//! rule wanted and the id that came instead:
//! - spot: `expected = u + 1` (previous `u`), `received = U`;
//! - USD-M: `expected = u` (previous), `received = pu`;
//! - after a snapshot: `expected = L + 1` (spot) or `L` (USD-M), `received = U`.
//!
//! The book after a gap holds only what the diffs since then said on top of what it had:
//! levels that changed during the gap and are not updated again stay wrong (there is no
//! fresh REST snapshot unless the capture has one; when it does, the source applies it).

/// Which continuity rule a diff follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// `U = previous u + 1`.
    Spot,
    /// `pu = previous u`.
    UsdM,
}

/// The ids of one diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DiffIds {
    /// `U`.
    pub(crate) first: u64,
    /// `u`.
    pub(crate) last: u64,
    /// `pu` (USD-M).
    pub(crate) prev: Option<u64>,
}

/// What to do with a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Continuous: apply.
    Apply,
    /// A break: emit `FeedGap { expected, received }`, then apply.
    Gap {
        /// The id the rule wanted.
        expected: u64,
        /// The id that came instead.
        received: u64,
    },
    /// Covered by the snapshot just applied: drop (Binance's procedure, not an error).
    Stale,
    /// At or before the last applied diff: a duplicate or reordered message, dropped.
    Duplicate,
}

/// Continuity state of one instrument's depth stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DepthSync {
    /// `u` of the last applied diff, or the last snapshot's `lastUpdateId`.
    last: Option<u64>,
    /// `last` is a snapshot's and no diff has been applied since.
    after_snapshot: bool,
}

impl DepthSync {
    /// What to do with a diff with `ids`, under `rule`.
    pub(crate) fn check(&self, rule: Rule, ids: DiffIds) -> Verdict {
        let Some(last) = self.last else {
            return Verdict::Apply;
        };
        match (rule, self.after_snapshot) {
            (Rule::Spot, after_snapshot) => {
                if ids.last <= last {
                    if after_snapshot {
                        Verdict::Stale
                    } else {
                        Verdict::Duplicate
                    }
                } else if ids.first <= last.saturating_add(1) {
                    Verdict::Apply
                } else {
                    Verdict::Gap {
                        expected: last.saturating_add(1),
                        received: ids.first,
                    }
                }
            }
            (Rule::UsdM, true) => {
                if ids.last < last {
                    Verdict::Stale
                } else if ids.first <= last {
                    Verdict::Apply
                } else {
                    Verdict::Gap {
                        expected: last,
                        received: ids.first,
                    }
                }
            }
            (Rule::UsdM, false) => {
                if ids.last <= last {
                    Verdict::Duplicate
                } else if ids.prev == Some(last) {
                    Verdict::Apply
                } else {
                    Verdict::Gap {
                        expected: last,
                        received: ids.prev.unwrap_or(0),
                    }
                }
            }
        }
    }

    /// A diff with `ids` was applied (or given up on with a gap mark).
    pub(crate) fn applied(&mut self, ids: DiffIds) {
        self.last = Some(ids.last);
        self.after_snapshot = false;
    }

    /// A snapshot as of `last_update_id` was applied.
    pub(crate) fn snapshot(&mut self, last_update_id: u64) {
        self.last = Some(last_update_id);
        self.after_snapshot = true;
    }

    /// Whether a diff ending at `u` is already covered by the last snapshot (and so is not
    /// re-applied after it).
    pub(crate) fn covered_by_snapshot(&self, rule: Rule, u: u64) -> bool {
        match (self.last, self.after_snapshot) {
            (Some(last), true) => match rule {
                Rule::Spot => u <= last,
                Rule::UsdM => u < last,
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(first: u64, last: u64, prev: Option<u64>) -> DiffIds {
        DiffIds { first, last, prev }
    }

    #[test]
    fn spot_rule() {
        let mut s = DepthSync::default();
        assert_eq!(s.check(Rule::Spot, ids(10, 20, None)), Verdict::Apply);
        s.applied(ids(10, 20, None));
        assert_eq!(s.check(Rule::Spot, ids(21, 25, None)), Verdict::Apply);
        assert_eq!(s.check(Rule::Spot, ids(15, 25, None)), Verdict::Apply);
        assert_eq!(s.check(Rule::Spot, ids(18, 20, None)), Verdict::Duplicate);
        assert_eq!(
            s.check(Rule::Spot, ids(23, 25, None)),
            Verdict::Gap {
                expected: 21,
                received: 23
            }
        );
        s.snapshot(30);
        assert_eq!(s.check(Rule::Spot, ids(21, 30, None)), Verdict::Stale);
        assert_eq!(s.check(Rule::Spot, ids(25, 31, None)), Verdict::Apply);
        assert_eq!(
            s.check(Rule::Spot, ids(32, 40, None)),
            Verdict::Gap {
                expected: 31,
                received: 32
            }
        );
        assert!(s.covered_by_snapshot(Rule::Spot, 30));
        assert!(!s.covered_by_snapshot(Rule::Spot, 31));
    }

    #[test]
    fn usdm_rule() {
        let mut s = DepthSync::default();
        assert_eq!(s.check(Rule::UsdM, ids(100, 120, Some(90))), Verdict::Apply);
        s.applied(ids(100, 120, Some(90)));
        assert_eq!(
            s.check(Rule::UsdM, ids(130, 150, Some(120))),
            Verdict::Apply
        );
        assert_eq!(
            s.check(Rule::UsdM, ids(130, 150, Some(125))),
            Verdict::Gap {
                expected: 120,
                received: 125
            }
        );
        assert_eq!(
            s.check(Rule::UsdM, ids(130, 150, None)),
            Verdict::Gap {
                expected: 120,
                received: 0
            }
        );
        assert_eq!(
            s.check(Rule::UsdM, ids(110, 120, Some(100))),
            Verdict::Duplicate
        );
        s.snapshot(200);
        assert_eq!(
            s.check(Rule::UsdM, ids(150, 199, Some(140))),
            Verdict::Stale
        );
        // u == L is the first diff to apply after a USD-M snapshot.
        assert_eq!(
            s.check(Rule::UsdM, ids(190, 200, Some(180))),
            Verdict::Apply
        );
        assert_eq!(
            s.check(Rule::UsdM, ids(195, 230, Some(180))),
            Verdict::Apply
        );
        assert_eq!(
            s.check(Rule::UsdM, ids(201, 230, Some(200))),
            Verdict::Gap {
                expected: 200,
                received: 201
            }
        );
        assert!(s.covered_by_snapshot(Rule::UsdM, 199));
        assert!(!s.covered_by_snapshot(Rule::UsdM, 200));
        s.applied(ids(195, 230, Some(180)));
        assert!(!s.covered_by_snapshot(Rule::UsdM, 199));
    }
}
