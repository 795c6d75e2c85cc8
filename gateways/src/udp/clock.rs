//! The UDP gateway's clock seam: the only place in [`crate::udp`] that reads time — the
//! receive timestamp of a packet (wall clock, `CLOCK_REALTIME`, what `receive_ts_ns` is
//! on) and the publisher's pacing (monotonic).

#![allow(
    clippy::disallowed_methods,
    reason = "this module is the UDP gateway's clock seam"
)]

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Where a receiver reads packet receive times from: ns since the Unix epoch.
pub trait Clock {
    /// Now, ns since the Unix epoch.
    fn now_ns(&mut self) -> i64;
}

/// `CLOCK_REALTIME` (a vDSO read, no syscall).
#[derive(Debug, Default, Clone, Copy)]
pub struct RealtimeClock;

impl Clock for RealtimeClock {
    #[inline]
    fn now_ns(&mut self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// Any closure returning ns since the epoch (tests, simulated time).
impl<F: FnMut() -> i64> Clock for F {
    #[inline]
    fn now_ns(&mut self) -> i64 {
        self()
    }
}

/// Monotonic now (publisher pacing, receive timeouts).
pub(crate) fn monotonic() -> Instant {
    Instant::now()
}
