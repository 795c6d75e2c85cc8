//! Order books in integer ticks (raw fixed-point values of the instrument's scale).
//!
//! - [`l2`]: a price-level book of bounded depth, fed by L2 level updates
//!   ([`crate::EventBody::BookLevel`]); preallocated, no allocation per update.
//! - [`l3`]: a per-order book (add, modify, delete, execute, replace) with price-time
//!   queues, fed by L3 events; sized at start-up.
//! - [`market`]: [`MarketBook`], one venue's book of one instrument fed by either family
//!   (L1/L2 or L3, fixed by the first book event; the other family is refused and counted).
//!
//! Books never panic on feed input: an update that cannot be applied, or that leaves the
//! book crossed, is a counted [`Anomaly`].

pub mod l2;
pub mod l3;
pub mod market;

pub use l2::{L2Book, Level};
pub use market::MarketBook;

use crate::event::Side;

/// Read access to a book's aggregated price levels, for the stages that read a book
/// (features, strategy, risk reference prices) without caring whether it is L2 or L3.
pub trait BookView {
    /// Level `i` (0 = best) of `side`, in raw ticks.
    fn depth(&self, side: Side, i: usize) -> Option<Level>;
    /// Best bid.
    fn best_bid(&self) -> Option<Level> {
        self.depth(Side::Buy, 0)
    }
    /// Best ask.
    fn best_ask(&self) -> Option<Level> {
        self.depth(Side::Sell, 0)
    }
}

impl<const DEPTH: usize> BookView for L2Book<DEPTH> {
    fn depth(&self, side: Side, i: usize) -> Option<Level> {
        L2Book::depth(self, side, i)
    }
}

/// Why an update was flagged. Counted per kind in [`AnomalyCounts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// The update left the best bid at or above the best ask (it was applied: the book
    /// follows its feed, and a consistent feed uncrosses it).
    Crossed,
    /// A delete named a price level the book does not hold.
    UnknownLevel,
    /// A price ≤ 0 or a negative quantity (the update was ignored).
    InvalidValue,
    /// The side already held its maximum depth and the level was outside it (ignored), or a
    /// better level pushed the worst one out.
    DepthTruncated,
    /// An add named an order id the book already holds (ignored).
    DuplicateOrder,
    /// An execute, cancel, modify, delete or replace named an order the book does not hold.
    UnknownOrder,
    /// An execution larger than the order's remaining quantity (the order was removed).
    OverExecution,
    /// The book is at its configured order capacity (the add was ignored).
    CapacityFull,
}

/// How many updates were flagged, per [`Anomaly`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AnomalyCounts {
    pub crossed: u64,
    pub unknown_level: u64,
    pub invalid_value: u64,
    pub depth_truncated: u64,
    pub duplicate_order: u64,
    pub unknown_order: u64,
    pub over_execution: u64,
    pub capacity_full: u64,
}

impl AnomalyCounts {
    /// No anomaly yet.
    pub const fn new() -> Self {
        Self {
            crossed: 0,
            unknown_level: 0,
            invalid_value: 0,
            depth_truncated: 0,
            duplicate_order: 0,
            unknown_order: 0,
            over_execution: 0,
            capacity_full: 0,
        }
    }

    /// Count one anomaly.
    pub fn count(&mut self, a: Anomaly) {
        let c = match a {
            Anomaly::Crossed => &mut self.crossed,
            Anomaly::UnknownLevel => &mut self.unknown_level,
            Anomaly::InvalidValue => &mut self.invalid_value,
            Anomaly::DepthTruncated => &mut self.depth_truncated,
            Anomaly::DuplicateOrder => &mut self.duplicate_order,
            Anomaly::UnknownOrder => &mut self.unknown_order,
            Anomaly::OverExecution => &mut self.over_execution,
            Anomaly::CapacityFull => &mut self.capacity_full,
        };
        *c += 1;
    }

    /// All anomalies together.
    pub fn total(&self) -> u64 {
        self.crossed
            + self.unknown_level
            + self.invalid_value
            + self.depth_truncated
            + self.duplicate_order
            + self.unknown_order
            + self.over_execution
            + self.capacity_full
    }
}
