//! The CLI's clock seam: the only place the binary reads the wall or monotonic clock.

#![allow(clippy::disallowed_methods, reason = "this module is the clock seam")]

use std::time::Instant;

/// Monotonic now, for measuring elapsed time.
pub fn monotonic() -> Instant {
    Instant::now()
}
