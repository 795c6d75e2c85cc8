//! The workspace's clock seam: the only module that reads the monotonic or the wall clock
//! (the workspace lint forbids `Instant::now` / `SystemTime::now` everywhere else), and
//! the one place that turns wall-clock nanoseconds into UTC civil time and back.
//!
//! Stages never read a clock (time is in the event). The runtime's threads read the
//! monotonic counter ([`now_ns`], [`monotonic`]) only to *measure* — when an input was
//! published, when a stage started and ended, when an order left — and to pace a live feed
//! or time out a wait; no reading of it reaches an event. `Instant::now` is a vDSO
//! `clock_gettime`, not a syscall (on the order of 20 ns: a pair around an operation adds
//! that to every sample measured with it).
//!
//! The wall clock ([`wall_ns`], [`unix_seconds`]) dates things for humans and for other
//! systems — the stats file's start time, a report's date, FIX `SendingTime`, a UDP
//! packet's receive time — and is never used to measure.
//!
//! Civil time is UTC on the proleptic Gregorian calendar, computed by `jiff`: [`civil`] /
//! [`from_civil`] for callers that format or parse their own layouts, [`utc_timestamp`]
//! for FIX `UTCTimestamp`s and [`utc_stamp`] for run directory names.

#![allow(
    clippy::disallowed_methods,
    reason = "this module is the workspace's clock seam"
)]

use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

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

/// Monotonic now, for measuring intervals and timing out waits.
#[inline(always)]
pub fn monotonic() -> Instant {
    Instant::now()
}

/// Wall clock, ns since the Unix epoch (`CLOCK_REALTIME`; 0 if the clock is before the
/// epoch). Never for measuring and never into a stage's input.
#[inline]
pub fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Wall clock, whole seconds since the Unix epoch (0 if the clock is before the epoch).
pub fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The UTC civil date and time of `ns` since the Unix epoch. Every `i64` is in range
/// (years 1677 to 2262).
pub fn utc_datetime(ns: i64) -> DateTime {
    // An i64 of nanoseconds spans years 1677..=2262, well inside jiff's ±9999 years.
    let ts = Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(Timestamp::UNIX_EPOCH);
    TimeZone::UTC.to_datetime(ts)
}

/// `(year, month, day, hour, minute, second)` in UTC of `secs` since the Unix epoch
/// (clamped to jiff's range, years −9999 to 9999).
pub fn civil(secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let ts = Timestamp::from_second(secs).unwrap_or(if secs < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    let dt = TimeZone::UTC.to_datetime(ts);
    (
        i64::from(dt.year()),
        i64::from(dt.month()),
        i64::from(dt.day()),
        i64::from(dt.hour()),
        i64::from(dt.minute()),
        i64::from(dt.second()),
    )
}

/// Seconds since the Unix epoch of a UTC date and time (the inverse of [`civil`]); `None`
/// if the date does not exist (month 13, February 30, a year outside ±9999). The time of
/// day is not checked against 23:59:59 (a leap second `60` is the next minute's `00`).
pub fn from_civil(year: i64, month: i64, day: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let date = Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()?;
    let midnight = TimeZone::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight()));
    let days_secs = midnight.ok()?.as_second();
    days_secs.checked_add(
        h.checked_mul(3600)?
            .checked_add(mi.checked_mul(60)?)?
            .checked_add(s)?,
    )
}

/// The current UTC time as `YYYYMMDD-HHMMSS` (run directory names).
pub fn utc_stamp() -> String {
    let (y, mo, d, h, mi, s) = civil(wall_ns().div_euclid(1_000_000_000));
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// FIX `UTCTimestamp` with milliseconds (`YYYYMMDD-HH:MM:SS.sss`) of `ns` since the Unix
/// epoch (FIX `SendingTime`, `TransactTime`).
pub fn utc_timestamp(ns: i64) -> String {
    let dt = utc_datetime(ns);
    format!(
        "{:04}{:02}{:02}-{:02}:{:02}:{:02}.{:03}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
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
        assert_eq!(utc_timestamp(-1), "19691231-23:59:59.999");
        assert_eq!(utc_timestamp(i64::MIN), "16770921-00:12:43.145");
        assert_eq!(utc_timestamp(i64::MAX), "22620411-23:47:16.854");
    }

    #[test]
    fn civil_round_trips_and_known_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(-1), (1969, 12, 31, 23, 59, 59));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(civil(18_260 * 86_400), (2019, 12, 30, 0, 0, 0));
        for secs in (-80_000_000_000i64..80_000_000_000).step_by(9_700_001) {
            let (y, mo, d, h, mi, s) = civil(secs);
            assert_eq!(from_civil(y, mo, d, h, mi, s), Some(secs), "{secs}");
        }
        assert_eq!(from_civil(1970, 1, 1, 0, 0, 60), Some(60));
        assert_eq!(from_civil(2019, 2, 29, 0, 0, 0), None);
        assert_eq!(from_civil(2019, 13, 1, 0, 0, 0), None);
        assert_eq!(from_civil(2024, 2, 29, 12, 0, 0), Some(1_709_208_000));
    }

    #[test]
    fn utc_datetime_matches_civil() {
        let ns = 1_700_000_000_123_456_789;
        let dt = utc_datetime(ns);
        assert_eq!(
            civil(ns.div_euclid(1_000_000_000)),
            (
                i64::from(dt.year()),
                i64::from(dt.month()),
                i64::from(dt.day()),
                i64::from(dt.hour()),
                i64::from(dt.minute()),
                i64::from(dt.second())
            )
        );
        assert_eq!(dt.subsec_nanosecond(), 123_456_789);
    }

    #[test]
    fn stamps_have_their_shape() {
        let s = utc_stamp();
        assert_eq!(s.len(), 15, "{s}");
        assert_eq!(s.as_bytes()[8], b'-');
        assert!(utc_now().starts_with('2'));
        assert!(wall_ns() > 1_600_000_000_000_000_000);
        assert!(unix_seconds() > 1_600_000_000);
        let a = monotonic();
        assert!(monotonic() >= a);
    }
}
