//! Order books in integer ticks (raw fixed-point values of the instrument's scale).
//!
//! - [`l2`]: a price-level book of bounded depth, fed by L2 level updates
//!   ([`crate::EventBody::BookLevel`]); preallocated, no allocation per update.
//!
//! Books never panic on feed input: an update that cannot be applied, or that leaves the
//! book crossed, is a counted [`Anomaly`]. Work in progress for issue 3: the L3 per-order
//! book is not written yet.

pub mod l2;

pub use l2::{L2Book, Level};

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
}

/// How many updates were flagged, per [`Anomaly`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnomalyCounts {
    pub crossed: u64,
    pub unknown_level: u64,
    pub invalid_value: u64,
    pub depth_truncated: u64,
}

impl AnomalyCounts {
    /// Count one anomaly.
    pub fn count(&mut self, a: Anomaly) {
        let c = match a {
            Anomaly::Crossed => &mut self.crossed,
            Anomaly::UnknownLevel => &mut self.unknown_level,
            Anomaly::InvalidValue => &mut self.invalid_value,
            Anomaly::DepthTruncated => &mut self.depth_truncated,
        };
        *c += 1;
    }

    /// All anomalies together.
    pub fn total(&self) -> u64 {
        self.crossed + self.unknown_level + self.invalid_value + self.depth_truncated
    }
}
