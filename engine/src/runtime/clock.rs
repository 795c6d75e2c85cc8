//! The workspace's clock seam: the only module that reads the monotonic or the wall clock
//! (the workspace lint forbids `Instant::now` / `SystemTime::now` everywhere else), and
//! the one place that turns wall-clock nanoseconds into UTC civil time and back.
//!
//! Stages never read a clock (time is in the event). The runtime's threads read the
//! monotonic counter ([`now_ns`], [`monotonic`]) only to *measure* — when an input was
//! published, when a stage started and ended, when an order left — and to pace a live feed
//! or time out a wait; no reading of it reaches an event.
//!
//! [`now_ns`] reads the CPU's time-stamp counter where it is a clock: on x86-64 with an
//! invariant TSC (CPUID: constant rate, not stopped in sleep states) that the kernel itself
//! uses as its clocksource (so it is synchronised across cores), scaled to nanoseconds
//! with a factor calibrated against `CLOCK_MONOTONIC` at [`init`]. A bare `rdtsc` costs
//! about 10 ns on the development VM against 24 ns for the vDSO `clock_gettime` behind
//! `Instant::now` (which adds a fence and the kernel's conversion), and the live feed
//! thread reads the clock several times per input. Elsewhere — or with
//! `TICKRAIL_CLOCK=os` in the environment — it reads `Instant::now`. [`clock_source`]
//! says which. The calibration error is a few parts per million: a rate error, never a
//! jump, and irrelevant to the microsecond intervals measured with it. [`monotonic`] always
//! reads `Instant::now` (waits and time-outs).
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

/// What [`now_ns`] reads, chosen once by [`init`].
#[derive(Debug, Clone, Copy)]
enum Source {
    /// `Instant::now`, from this origin.
    Os(Instant),
    /// The time-stamp counter.
    #[cfg(target_arch = "x86_64")]
    Tsc(tsc::Scale),
}

static SOURCE: OnceLock<Source> = OnceLock::new();

/// Starts the clock (idempotent): picks its source and, for the TSC, calibrates it (about
/// 5 ms). Call once at start-up so the hot path never initialises.
pub fn init() {
    let _ = source();
}

#[inline]
fn source() -> &'static Source {
    SOURCE.get_or_init(choose)
}

fn choose() -> Source {
    let forced_os = std::env::var("TICKRAIL_CLOCK").is_ok_and(|v| v == "os");
    #[cfg(target_arch = "x86_64")]
    if !forced_os {
        if let Some(scale) = tsc::calibrate() {
            return Source::Tsc(scale);
        }
    }
    let _ = forced_os;
    Source::Os(Instant::now())
}

/// Which clock [`now_ns`] reads: `"tsc"` or `"os"` (for reports and benchmarks).
pub fn clock_source() -> &'static str {
    match source() {
        Source::Os(_) => "os",
        #[cfg(target_arch = "x86_64")]
        Source::Tsc(_) => "tsc",
    }
}

/// Monotonic nanoseconds since [`init`] (or since the first call).
#[inline]
pub fn now_ns() -> u64 {
    match source() {
        Source::Os(origin) => {
            u64::try_from(Instant::now().duration_since(*origin).as_nanos()).unwrap_or(u64::MAX)
        }
        #[cfg(target_arch = "x86_64")]
        Source::Tsc(scale) => scale.ns(tsc::read()),
    }
}

/// The time-stamp counter as a clock (x86-64).
#[cfg(target_arch = "x86_64")]
#[allow(
    unsafe_code,
    reason = "rdtsc: 10 ns against the vDSO clock's 24 ns on the feed thread's path (measured)"
)]
mod tsc {
    use std::time::{Duration, Instant};

    /// Ticks to nanoseconds: `(ticks − origin) × mult >> 32`.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Scale {
        origin: u64,
        mult: u64,
    }

    impl Scale {
        #[inline(always)]
        pub(super) fn ns(&self, ticks: u64) -> u64 {
            // Another core's counter may trail the origin's by a few ticks: clamp to 0.
            let d = u128::from(ticks.saturating_sub(self.origin));
            u64::try_from((d * u128::from(self.mult)) >> 32).unwrap_or(u64::MAX)
        }
    }

    /// The counter, unserialised: the cheapest read (about 10 ns here). It may execute a few
    /// instructions early or late, which is below what it measures.
    #[inline(always)]
    pub(super) fn read() -> u64 {
        // SAFETY: `rdtsc` exists on every x86-64 CPU and has no memory effects.
        unsafe { core::arch::x86_64::_rdtsc() }
    }

    /// A scale if the counter is a clock here (invariant, and the kernel's clocksource),
    /// calibrated against `Instant` over about 5 ms.
    pub(super) fn calibrate() -> Option<Scale> {
        if !invariant() || !kernel_uses_tsc() {
            return None;
        }
        let (t0, i0) = bracketed_pair()?;
        let mut spin = 0u64;
        while i0.elapsed() < Duration::from_millis(5) {
            spin = spin.wrapping_add(1);
            std::hint::spin_loop();
        }
        let (t1, i1) = bracketed_pair()?;
        let ns = u128::from(u64::try_from(i1.duration_since(i0).as_nanos()).ok()?);
        let ticks = u128::from(t1.checked_sub(t0)?);
        if ticks == 0 || ns == 0 || spin == u64::MAX {
            return None;
        }
        // ns per tick in 32.32 fixed point (a 0.1–10 GHz counter fits easily).
        let mult = u64::try_from((ns << 32) / ticks).ok()?;
        Some(Scale { origin: t0, mult })
    }

    /// A counter reading paired with an `Instant` read between two counter readings: of a
    /// few tries, the one with the narrowest bracket (not preempted between the reads).
    fn bracketed_pair() -> Option<(u64, Instant)> {
        let mut best: Option<(u64, u64, Instant)> = None;
        for _ in 0..16 {
            let a = read();
            let i = Instant::now();
            let b = read();
            let width = b.checked_sub(a)?;
            if best.is_none_or(|(w, _, _)| width < w) {
                best = Some((width, a + width / 2, i));
            }
        }
        best.map(|(_, t, i)| (t, i))
    }

    /// CPUID 0x8000_0007 EDX bit 8: the counter runs at a constant rate in every state.
    fn invariant() -> bool {
        use core::arch::x86_64::__cpuid;
        // Leaf 0x8000_0000 gives the highest extended leaf, so 0x8000_0007 is only queried
        // where it exists.
        let max_ext = __cpuid(0x8000_0000).eax;
        if max_ext < 0x8000_0007 {
            return false;
        }
        let edx = __cpuid(0x8000_0007).edx;
        edx & (1 << 8) != 0
    }

    /// Whether Linux's own clock reads the counter: it then found it synchronised across
    /// cores (and will say so by switching away if it stops being).
    fn kernel_uses_tsc() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|s| s.trim() == "tsc")
    }
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

    /// `now_ns` advances with `Instant` at the same rate: over ~30 ms both clocks measure
    /// the same interval to within 0.1% (the calibration's error is parts per million;
    /// each end is read bracketed, retried if preempted between its reads).
    #[test]
    fn now_ns_keeps_pace_with_the_os_clock() {
        init();
        fn pair() -> (u64, Instant, u64) {
            loop {
                let a = now_ns();
                let i = Instant::now();
                let b = now_ns();
                if b - a < 20_000 {
                    return (a, i, b);
                }
            }
        }
        let (a0, i0, b0) = pair();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let (a1, i1, b1) = pair();
        let os = i1.duration_since(i0).as_nanos() as f64;
        let lo = a1.saturating_sub(b0) as f64;
        let hi = (b1 - a0) as f64;
        assert!(
            lo <= os * 1.001 && hi >= os * 0.999,
            "{} clock: [{lo}, {hi}] ns against the OS clock's {os} ns",
            clock_source()
        );
        assert!(now_ns() >= b1, "monotonic");
    }

    #[test]
    fn the_source_is_the_tsc_where_the_kernel_uses_it() {
        let kernel_tsc = std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc");
        // Linux shows CPUID's invariant-TSC bit as these two flags.
        let invariant = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|s| {
            s.lines().find(|l| l.starts_with("flags")).is_some_and(|l| {
                let mut f = l.split_whitespace();
                f.clone().any(|x| x == "constant_tsc") && f.any(|x| x == "nonstop_tsc")
            })
        });
        let forced_os = std::env::var("TICKRAIL_CLOCK").is_ok_and(|v| v == "os");
        if cfg!(target_arch = "x86_64") && kernel_tsc && invariant && !forced_os {
            assert_eq!(clock_source(), "tsc");
        } else {
            assert_eq!(clock_source(), "os");
        }
    }

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
