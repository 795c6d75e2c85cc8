//! The FIX code's clock seam: the only place in the gateways crate that reads the wall or
//! monotonic clock (FIX `SendingTime`/`TransactTime` are wall-clock UTC by definition, and
//! the gateway and venue threads time out waits). Everything else takes time as a value.

#![allow(
    clippy::disallowed_methods,
    reason = "this module is the FIX clock seam"
)]

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Monotonic now, for timeouts.
pub fn monotonic() -> Instant {
    Instant::now()
}

/// Wall-clock nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// FIX `UTCTimestamp` with milliseconds (`YYYYMMDD-HH:MM:SS.sss`) of `ns` since the epoch.
pub fn utc_timestamp(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let millis = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = tickrail_engine::calendar::civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}-{:02}:{:02}:{:02}.{millis:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// [`utc_timestamp`] of now.
pub fn utc_now() -> String {
    utc_timestamp(wall_ns())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_timestamps() {
        assert_eq!(utc_timestamp(0), "19700101-00:00:00.000");
        assert_eq!(
            utc_timestamp(1_700_000_000_123_456_789),
            "20231114-22:13:20.123"
        );
        assert_eq!(
            utc_timestamp(951_782_400_000_000_000),
            "20000229-00:00:00.000"
        );
    }
}
