//! The benchmark's clock seam: the only place in this crate that reads time.
//!
//! Everything else takes time as a value returned from here, so the workspace lint that
//! forbids `Instant::now` / `SystemTime::now` holds everywhere but in these two functions.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Monotonic time, for measuring intervals. One call costs on the order of 20 ns (vDSO
/// `clock_gettime`); a pair around an operation adds that to every recorded sample.
#[inline(always)]
#[allow(clippy::disallowed_methods, reason = "the benchmark's clock seam")]
pub fn now() -> Instant {
    Instant::now()
}

/// Wall-clock seconds since the Unix epoch, for dating a report (never for measuring).
#[allow(clippy::disallowed_methods, reason = "the benchmark's clock seam")]
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
