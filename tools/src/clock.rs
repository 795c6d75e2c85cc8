//! The CLI's clock seam: the only place the binary reads the wall or monotonic clock.

#![allow(clippy::disallowed_methods, reason = "this module is the clock seam")]

use std::time::Instant;

/// Monotonic now, for measuring elapsed time.
pub fn monotonic() -> Instant {
    Instant::now()
}

/// The current UTC time as `YYYYMMDD-HHMMSS` (run directory names).
pub fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// (year, month, day, hour, minute, second) in UTC for seconds since the Unix epoch.
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = tickrail_engine::calendar::civil_from_days(days);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the Unix epoch of a UTC civil date and time (the inverse of [`civil`]).
pub fn from_civil(year: i64, month: i64, day: i64, h: i64, mi: i64, s: i64) -> i64 {
    let days = tickrail_engine::calendar::days_from_civil(year, month, day);
    days * 86_400 + h * 3600 + mi * 60 + s
}

/// Sleeps `d` (the CLI's pacing for `replay --speed`).
pub fn sleep(d: std::time::Duration) {
    std::thread::sleep(d);
}
