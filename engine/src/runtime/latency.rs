//! Latency histograms recorded by the runtime threads: preallocated HdrHistograms (1 ns to
//! 10 s, 3 significant digits) that never grow, so recording never allocates.

use hdrhistogram::Histogram;

/// Highest trackable latency (10 s); longer samples are recorded at this value.
pub const MAX_LATENCY_NS: u64 = 10_000_000_000;

/// A fixed-range latency histogram.
#[derive(Debug, Clone)]
pub struct Latency {
    h: Histogram<u64>,
}

impl Latency {
    /// Allocates the histogram (start-up only).
    pub fn new() -> Self {
        let mut h = Histogram::new_with_bounds(1, MAX_LATENCY_NS, 3)
            .unwrap_or_else(|_| unreachable!("constant, valid bounds"));
        h.auto(false);
        Self { h }
    }

    /// Records `ns` (clamped into range); never allocates.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        let _ = self.h.record(ns.clamp(1, MAX_LATENCY_NS));
    }

    /// The histogram.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.h
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// p50, p99, p99.9, p99.99 and max in ns (zeros when empty).
    pub fn percentiles(&self) -> [u64; 5] {
        if self.h.is_empty() {
            return [0; 5];
        }
        [
            self.h.value_at_quantile(0.5),
            self.h.value_at_quantile(0.99),
            self.h.value_at_quantile(0.999),
            self.h.value_at_quantile(0.9999),
            self.h.max(),
        ]
    }

    /// Adds `other`'s samples.
    pub fn merge(&mut self, other: &Latency) {
        let _ = self.h.add(&other.h);
    }
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}
