//! The runtime's clock seam: the only place the threaded runtime reads time.
//!
//! Stages never read a clock (time is in the event). The runtime's threads read this
//! monotonic nanosecond counter only to *measure* — when an input was published, when a
//! stage started and ended, when an order left — and to pace a live feed; no reading of it
//! reaches an event. `Instant::now` is a vDSO `clock_gettime`, not a syscall.

#![allow(
    clippy::disallowed_methods,
    reason = "this module is the runtime's clock seam"
)]

use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Starts the clock (idempotent); call once at start-up so the hot path never initialises.
pub fn init() {
    let _ = ORIGIN.get_or_init(Instant::now);
}

/// Monotonic nanoseconds since [`init`] (or since the first call).
#[inline]
pub fn now_ns() -> u64 {
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(Instant::now().duration_since(origin).as_nanos()).unwrap_or(u64::MAX)
}

/// Wall clock, ns since the Unix epoch: for humans only (the stats file's start time),
/// never for measuring and never into an event.
pub fn wall_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
