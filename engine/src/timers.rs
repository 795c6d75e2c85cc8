//! Timers as inputs (docs/DESIGN.md §1): a timer that fires is an [`EventBody::Timer`] event
//! offered to the Sequencer like any other input, so it is journaled, sequenced, and a
//! replay sees it at the same place in the stream. Stages never read a clock.
//!
//! [`Timers`] is a fixed set of periodic timers on an **event-time** clock: the feed loop
//! (live) and the single-thread runner (backtest) both ask it, before taking the market's
//! next input due at time `t`, for every deadline `<= t`, and offer those first. The timer
//! events therefore fall between the same market inputs in a live run, a backtest and a
//! replay. A live run also fires them when the market is silent (their deadline is reached
//! on the paced clock), which is what a stale-quote guard needs.
//!
//! A timer that falls more than [`Timers::MAX_CATCH_UP`] periods behind (a market that
//! jumps forward by hours) fires once for the last missed deadline and counts the skipped
//! ones, instead of replaying every period. No allocation after construction.
//!
//! # Session boundaries
//!
//! Besides the periodic timers, a [`Timers`] may hold a [`SessionSchedule`] (`[risk]
//! session_start` and `session_time_zone`): a time of day in an IANA time zone, at which a
//! new trading day begins. When event time reaches the next such boundary, [`Timers`]
//! yields a [`SESSION_START`] timer event whose deadline is the boundary (on which the
//! order stage resets risk's daily loss). Boundaries are computed in the zone's local time
//! with its daylight-saving rules (the bundled tz database, never the host's), so
//! `17:00 America/Chicago` is 22:00 UTC in summer and 23:00 UTC in winter. The first
//! boundary is the first one strictly after the clock's start (no reset at a run's start),
//! or after the last journaled input's time on a resume ([`Timers::resume_after`]). A
//! market that jumps over several boundaries gets one event, for the last one.

use jiff::civil::{Date, Time};
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::Timestamp;

use crate::event::{Event, EventBody, EventHeader};
use crate::instrument::InstrumentId;

/// The feed source number carried by timer events (`EventHeader::source`).
pub const TIMER_SOURCE: u16 = u16::MAX - 1;

/// The housekeeping timer: the order stage's periodic checks (stale quotes).
pub const HOUSEKEEPING: u32 = 1;

/// The session-start timer: a new trading day begins at its deadline (see
/// [Session boundaries](self#session-boundaries)); risk's daily loss starts again.
pub const SESSION_START: u32 = 2;

/// Most timers a [`Timers`] holds.
pub const MAX_TIMERS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Periodic {
    id: u32,
    period_ns: i64,
    next_ns: i64,
}

/// The session-start timer's state.
#[derive(Debug, Clone)]
struct SessionTimer {
    schedule: SessionSchedule,
    /// The next boundary (`i64::MAX` until started).
    next_ns: i64,
    /// On a resume: the last journaled input's time; the first boundary is after it.
    after_ns: Option<i64>,
}

/// A fixed set of periodic timers and an optional session boundary; see the
/// [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Timers {
    timers: [Periodic; MAX_TIMERS],
    len: usize,
    session: Option<SessionTimer>,
    started: bool,
    fired: u64,
    skipped: u64,
}

/// A timer could not be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    /// The period is not positive.
    #[error("timer {id}: the period must be positive, got {period_ns} ns")]
    BadPeriod {
        /// The timer.
        id: u32,
        /// The period given.
        period_ns: i64,
    },
    /// Already [`MAX_TIMERS`] timers.
    #[error("timer {id}: at most {MAX_TIMERS} timers")]
    Full {
        /// The timer.
        id: u32,
    },
}

impl Timers {
    /// A timer this far behind its deadline (in periods) skips to the last missed one.
    pub const MAX_CATCH_UP: i64 = 16;

    /// No timers.
    pub fn new() -> Self {
        Self::default()
    }

    /// The timers a config asks for: the housekeeping timer every `housekeeping_ns` of
    /// event time (`0`: none).
    pub fn from_interval(housekeeping_ns: i64) -> Self {
        let mut t = Self::new();
        if housekeeping_ns > 0 {
            // Cannot fail: one positive-period timer in an empty set.
            let _ = t.add(HOUSEKEEPING, housekeeping_ns);
        }
        t
    }

    /// Adds timer `id` firing every `period_ns`, first at start + `period_ns`.
    pub fn add(&mut self, id: u32, period_ns: i64) -> Result<(), TimerError> {
        if period_ns <= 0 {
            return Err(TimerError::BadPeriod { id, period_ns });
        }
        if self.len == MAX_TIMERS {
            return Err(TimerError::Full { id });
        }
        self.timers[self.len] = Periodic {
            id,
            period_ns,
            next_ns: i64::MAX,
        };
        self.len += 1;
        Ok(())
    }

    /// Adds the session-start timer ([`SESSION_START`]) on `schedule`, replacing any
    /// earlier one. Call before [`Timers::start`].
    pub fn set_session(&mut self, schedule: SessionSchedule) {
        self.session = Some(SessionTimer {
            schedule,
            next_ns: i64::MAX,
            after_ns: None,
        });
    }

    /// The session schedule, if any.
    pub fn session(&self) -> Option<&SessionSchedule> {
        self.session.as_ref().map(|s| &s.schedule)
    }

    /// A resumed run: the last journaled input was received at `last_input_ns`, so the
    /// first session boundary is the next one strictly after it (one crossed while the
    /// engine was down enters with the first input; one already journaled is not repeated),
    /// instead of the next one after [`Timers::start`]'s time. Periodic timers are not
    /// affected. Call before [`Timers::start`]; nothing without a session.
    pub fn resume_after(&mut self, last_input_ns: i64) {
        if let Some(s) = self.session.as_mut() {
            s.after_ns = Some(last_input_ns);
        }
    }

    /// Whether there is any timer.
    pub fn is_empty(&self) -> bool {
        self.len == 0 && self.session.is_none()
    }

    /// Starts the clock at event time `t0_ns` (the first market input's receive time);
    /// later calls do nothing. The first session boundary is the first strictly after
    /// `t0_ns` (or after [`Timers::resume_after`]'s time).
    pub fn start(&mut self, t0_ns: i64) {
        if self.started {
            return;
        }
        self.started = true;
        for t in &mut self.timers[..self.len] {
            t.next_ns = t0_ns.saturating_add(t.period_ns);
        }
        if let Some(s) = self.session.as_mut() {
            s.next_ns = s.schedule.next_after(s.after_ns.unwrap_or(t0_ns));
        }
    }

    /// The earliest deadline, if started and any timer exists.
    pub fn next_deadline(&self) -> Option<i64> {
        if !self.started {
            return None;
        }
        let periodic = self.timers[..self.len].iter().map(|t| t.next_ns);
        periodic
            .chain(self.session.as_ref().map(|s| s.next_ns))
            .min()
    }

    /// The next timer event due at or before event time `now_ns`, earliest deadline first
    /// (ties: the session start, then the periodic timers in the order added), and advances
    /// that timer. Its exchange and receive times are its deadline.
    pub fn pop_due(&mut self, now_ns: i64) -> Option<Event> {
        if !self.started {
            return None;
        }
        let mut best: Option<usize> = None;
        for (i, t) in self.timers[..self.len].iter().enumerate() {
            if t.next_ns <= now_ns && best.is_none_or(|b| t.next_ns < self.timers[b].next_ns) {
                best = Some(i);
            }
        }
        let earliest = best.map_or(i64::MAX, |b| self.timers[b].next_ns);
        if let Some(s) = self.session.as_mut() {
            if s.next_ns <= now_ns && s.next_ns <= earliest {
                // The last boundary at or before `now_ns`; earlier ones are skipped.
                let mut deadline = s.next_ns;
                loop {
                    let next = s.schedule.next_after(deadline);
                    if next > now_ns {
                        s.next_ns = next;
                        break;
                    }
                    self.skipped += 1;
                    deadline = next;
                }
                self.fired += 1;
                return Some(timer_event(SESSION_START, deadline));
            }
        }
        let t = &mut self.timers[best?];
        let mut deadline = t.next_ns;
        let behind = (now_ns - deadline) / t.period_ns;
        if behind > Self::MAX_CATCH_UP {
            // Fire once, for the last missed deadline.
            self.skipped += u64::try_from(behind).unwrap_or(0);
            deadline = deadline.saturating_add(behind.saturating_mul(t.period_ns));
        }
        t.next_ns = deadline.saturating_add(t.period_ns);
        self.fired += 1;
        Some(timer_event(t.id, deadline))
    }

    /// Timer events produced so far.
    pub fn fired(&self) -> u64 {
        self.fired
    }

    /// Deadlines skipped by catching up.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// A session start that could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// Not a time of day `HH:MM` or `HH:MM:SS` (24-hour clock).
    #[error("{text:?} is not a time of day: expected HH:MM or HH:MM:SS on a 24-hour clock, e.g. \"17:00\"")]
    BadTime {
        /// The text given.
        text: String,
    },
    /// Not a time zone of the (bundled) IANA tz database.
    #[error("{name:?} is not an IANA time zone name (e.g. \"America/Chicago\", \"Europe/London\", \"UTC\")")]
    UnknownZone {
        /// The name given.
        name: String,
    },
}

/// A daily session start: a time of day in an IANA time zone (`[risk] session_start`,
/// `session_time_zone`). See [Session boundaries](self#session-boundaries).
///
/// The boundary of a local date is that date at the start time in the zone, with the
/// zone's rules of that day. A start time the clock skips (spring forward) falls as long
/// after the jump as it was after the skipped hour's start (`02:30` on a day the clock
/// jumps from 02:00 to 03:00 is 03:30); one the clock shows twice (fall back) is the first
/// of the two (jiff's `compatible` disambiguation, as RFC 5545 and Temporal).
#[derive(Debug, Clone)]
pub struct SessionSchedule {
    start: Time,
    zone: TimeZone,
    zone_name: String,
}

impl PartialEq for SessionSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.start == other.start && self.zone_name == other.zone_name
    }
}

impl Eq for SessionSchedule {}

impl SessionSchedule {
    /// The session starting at `start` (`"HH:MM"` or `"HH:MM:SS"`, 24-hour) local time in
    /// the IANA zone `zone` (`"America/Chicago"`), from the tz database bundled into the
    /// binary.
    pub fn new(start: &str, zone: &str) -> Result<Self, SessionError> {
        let start = parse_time_of_day(start)?;
        let tz = time_zone(zone)?;
        Ok(Self {
            start,
            zone_name: tz.iana_name().unwrap_or(zone).to_owned(),
            zone: tz,
        })
    }

    /// The start time of day, as `HH:MM:SS`.
    pub fn start_text(&self) -> String {
        format!(
            "{:02}:{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.start.second()
        )
    }

    /// The time zone's IANA name (as the tz database spells it).
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }

    /// The session start of local date `date`, ns since the Unix epoch (`None` out of
    /// range).
    fn boundary_of(&self, date: Date) -> Option<i64> {
        let at = self
            .zone
            .to_ambiguous_timestamp(date.to_datetime(self.start))
            .compatible()
            .ok()?;
        i64::try_from(at.as_nanosecond()).ok()
    }

    /// The first session boundary strictly after event time `t_ns` (ns since the Unix
    /// epoch); `i64::MAX` if there is none in range.
    pub fn next_after(&self, t_ns: i64) -> i64 {
        let Ok(ts) = Timestamp::from_nanosecond(i128::from(t_ns)) else {
            return i64::MAX;
        };
        // The boundaries increase with the local date; the one after `t` is that of `t`'s
        // local date or the next, but a transition at midnight can shift that by a day.
        let mut date = self.zone.to_datetime(ts).date();
        if let Ok(d) = date.yesterday() {
            date = d;
        }
        for _ in 0..4 {
            match self.boundary_of(date) {
                Some(b) if b > t_ns => return b,
                _ => {}
            }
            match date.tomorrow() {
                Ok(d) => date = d,
                Err(_) => break,
            }
        }
        i64::MAX
    }
}

/// `HH:MM` or `HH:MM:SS`, two digits each, 24-hour.
fn parse_time_of_day(text: &str) -> Result<Time, SessionError> {
    let bad = || SessionError::BadTime {
        text: text.to_owned(),
    };
    let field = |s: &str, max: i8| -> Result<i8, SessionError> {
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse::<i8>()
            .ok()
            .filter(|v| (0..=max).contains(v))
            .ok_or_else(bad)
    };
    let parts: Vec<&str> = text.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [h, m] => (field(h, 23)?, field(m, 59)?, 0),
        [h, m, s] => (field(h, 23)?, field(m, 59)?, field(s, 59)?),
        _ => return Err(bad()),
    };
    Time::new(h, m, s, 0).map_err(|_| bad())
}

/// The IANA zone `name` from the bundled tz database.
fn time_zone(name: &str) -> Result<TimeZone, SessionError> {
    let unknown = || SessionError::UnknownZone {
        name: name.to_owned(),
    };
    if name.is_empty() {
        return Err(unknown());
    }
    TimeZoneDatabase::bundled().get(name).map_err(|_| unknown())
}

/// The input event of timer `id` due at `deadline_ns`.
pub fn timer_event(id: u32, deadline_ns: i64) -> Event {
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: deadline_ns,
            receive_ts_ns: deadline_ns,
            instrument: InstrumentId::new(0),
            price_scale: 0,
            qty_scale: 0,
            source: TIMER_SOURCE,
        },
        EventBody::Timer {
            timer_id: id,
            deadline_ns,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadlines(t: &mut Timers, now: i64) -> Vec<(u32, i64)> {
        let mut v = Vec::new();
        while let Some(e) = t.pop_due(now) {
            if let EventBody::Timer {
                timer_id,
                deadline_ns,
            } = e.body
            {
                assert_eq!(e.header.receive_ts_ns, deadline_ns);
                v.push((timer_id, deadline_ns));
            }
        }
        v
    }

    #[test]
    fn fires_in_deadline_order_and_only_once_started() {
        let mut t = Timers::new();
        t.add(1, 100).unwrap();
        t.add(2, 250).unwrap();
        assert_eq!(t.pop_due(i64::MAX - 1), None, "not started");
        t.start(1_000);
        t.start(5_000); // ignored
        assert_eq!(t.next_deadline(), Some(1_100));
        assert_eq!(deadlines(&mut t, 1_099), vec![]);
        assert_eq!(
            deadlines(&mut t, 1_500),
            vec![
                (1, 1_100),
                (1, 1_200),
                (2, 1_250),
                (1, 1_300),
                (1, 1_400),
                (1, 1_500),
                (2, 1_500)
            ]
        );
        assert_eq!(t.next_deadline(), Some(1_600));
        assert_eq!(t.fired(), 7);
    }

    #[test]
    fn catches_up_by_skipping_not_by_flooding() {
        let mut t = Timers::from_interval(10);
        t.start(0);
        let got = deadlines(&mut t, 1_000_000);
        assert_eq!(got, vec![(HOUSEKEEPING, 1_000_000)]);
        assert_eq!(t.skipped(), 99_999);
        assert_eq!(t.next_deadline(), Some(1_000_010));
        // Within the catch-up window every deadline fires.
        assert_eq!(deadlines(&mut t, 1_000_100).len(), 10);
    }

    #[test]
    fn bad_timers_are_refused() {
        let mut t = Timers::new();
        assert_eq!(
            t.add(3, 0),
            Err(TimerError::BadPeriod {
                id: 3,
                period_ns: 0
            })
        );
        for i in 0..MAX_TIMERS as u32 {
            t.add(i, 1).unwrap();
        }
        assert_eq!(t.add(99, 1), Err(TimerError::Full { id: 99 }));
        assert!(Timers::from_interval(0).is_empty());
    }

    /// `text` (RFC 3339, UTC) in ns since the epoch.
    fn utc(text: &str) -> i64 {
        let ts: Timestamp = text.parse().unwrap();
        i64::try_from(ts.as_nanosecond()).unwrap()
    }

    fn boundaries(s: &SessionSchedule, from: &str, n: usize) -> Vec<i64> {
        let mut t = utc(from);
        (0..n)
            .map(|_| {
                t = s.next_after(t);
                t
            })
            .collect()
    }

    const HOUR: i64 = 3_600_000_000_000;

    #[test]
    fn session_boundaries_follow_daylight_saving_time() {
        let ny = SessionSchedule::new("17:00", "America/New_York").unwrap();
        assert_eq!(ny.start_text(), "17:00:00");
        assert_eq!(ny.zone_name(), "America/New_York");
        // Spring forward on Sunday 2026-03-08 (02:00 EST -> 03:00 EDT): 17:00 is 22:00 UTC
        // before, 21:00 UTC from that day on; that session day lasts 23 hours.
        let spring = boundaries(&ny, "2026-03-07T12:00:00Z", 3);
        assert_eq!(
            spring,
            vec![
                utc("2026-03-07T22:00:00Z"),
                utc("2026-03-08T21:00:00Z"),
                utc("2026-03-09T21:00:00Z"),
            ]
        );
        assert_eq!(spring[1] - spring[0], 23 * HOUR);
        // Fall back on Sunday 2026-11-01 (02:00 EDT -> 01:00 EST): 21:00 UTC, then 22:00;
        // that session day lasts 25 hours.
        let fall = boundaries(&ny, "2026-10-31T12:00:00Z", 3);
        assert_eq!(
            fall,
            vec![
                utc("2026-10-31T21:00:00Z"),
                utc("2026-11-01T22:00:00Z"),
                utc("2026-11-02T22:00:00Z"),
            ]
        );
        assert_eq!(fall[1] - fall[0], 25 * HOUR);
        // Strictly after: a time exactly on a boundary gives the next one.
        let b = utc("2026-03-08T21:00:00Z");
        assert_eq!(ny.next_after(b - 1), b);
        assert_eq!(ny.next_after(b), utc("2026-03-09T21:00:00Z"));
        // Chicago, the CME's 17:00: 22:00 UTC in summer, 23:00 UTC in winter.
        let cme = SessionSchedule::new("17:00", "America/Chicago").unwrap();
        assert_eq!(
            cme.next_after(utc("2026-07-01T00:00:00Z")),
            utc("2026-07-01T22:00:00Z")
        );
        assert_eq!(
            cme.next_after(utc("2026-12-01T00:00:00Z")),
            utc("2026-12-01T23:00:00Z")
        );
        // A zone east of UTC whose boundary falls on the previous UTC day.
        let tokyo = SessionSchedule::new("08:00", "Asia/Tokyo").unwrap();
        assert_eq!(
            tokyo.next_after(utc("2026-03-08T22:59:59Z")),
            utc("2026-03-08T23:00:00Z")
        );
    }

    #[test]
    fn session_start_in_a_skipped_or_repeated_hour() {
        // 02:30 does not exist in New York on 2026-03-08: the session starts at 03:30 EDT.
        let gap = SessionSchedule::new("02:30", "America/New_York").unwrap();
        assert_eq!(
            boundaries(&gap, "2026-03-07T12:00:00Z", 3),
            vec![
                utc("2026-03-08T07:30:00Z"), // 03:30 EDT, 23 hours after the 7th's
                utc("2026-03-09T06:30:00Z"),
                utc("2026-03-10T06:30:00Z"),
            ]
        );
        // 01:30 happens twice in New York on 2026-11-01: the first (EDT) counts, once.
        let fold = SessionSchedule::new("01:30", "America/New_York").unwrap();
        assert_eq!(
            boundaries(&fold, "2026-10-31T12:00:00Z", 2),
            vec![utc("2026-11-01T05:30:00Z"), utc("2026-11-02T06:30:00Z")]
        );
    }

    #[test]
    fn bad_session_keys_are_refused() {
        for bad in [
            "17",
            "5:00",
            "24:00",
            "17:60",
            "17:00:60",
            "17:00:00:00",
            "",
            "ab:cd",
            "+1:00",
        ] {
            assert_eq!(
                SessionSchedule::new(bad, "UTC"),
                Err(SessionError::BadTime { text: bad.into() }),
                "{bad:?}"
            );
        }
        assert!(SessionSchedule::new("00:00", "UTC").is_ok());
        assert!(SessionSchedule::new("23:59:59", "UTC").is_ok());
        for bad in ["America/Chicag", "", "CST+6", "../../etc/passwd"] {
            assert_eq!(
                SessionSchedule::new("17:00", bad),
                Err(SessionError::UnknownZone { name: bad.into() }),
                "{bad:?}"
            );
        }
        // The tz database's spelling, whatever the case given.
        let s = SessionSchedule::new("17:00", "america/chicago").unwrap();
        assert_eq!(s.zone_name(), "America/Chicago");
        assert_eq!(
            s,
            SessionSchedule::new("17:00:00", "America/Chicago").unwrap()
        );
    }

    fn session_timers(housekeeping_ns: i64) -> Timers {
        let mut t = Timers::from_interval(housekeeping_ns);
        t.set_session(SessionSchedule::new("17:00", "America/New_York").unwrap());
        t
    }

    #[test]
    fn the_session_start_fires_once_per_boundary_on_the_event_clock() {
        let b1 = utc("2026-03-07T22:00:00Z");
        let b2 = utc("2026-03-08T21:00:00Z");
        let mut t = session_timers(0);
        assert!(!t.is_empty());
        assert_eq!(t.pop_due(i64::MAX - 1), None, "not started");
        // A run starting exactly on a boundary gets no reset for it.
        t.start(b1);
        assert_eq!(t.next_deadline(), Some(b2));
        assert_eq!(deadlines(&mut t, b2 - 1), vec![]);
        assert_eq!(deadlines(&mut t, b2), vec![(SESSION_START, b2)]);
        assert_eq!(deadlines(&mut t, b2 + HOUR), vec![]);
        // Three days of silence: one event, for the last boundary crossed.
        let b5 = utc("2026-03-11T21:00:00Z");
        assert_eq!(deadlines(&mut t, b5 + HOUR), vec![(SESSION_START, b5)]);
        assert_eq!(t.skipped(), 2);
        assert_eq!(t.fired(), 2);
        assert_eq!(t.next_deadline(), Some(utc("2026-03-12T21:00:00Z")));
    }

    #[test]
    fn the_session_start_falls_between_periodic_timers() {
        let b = utc("2026-03-08T21:00:00Z");
        let mut t = session_timers(HOUR);
        t.start(b - 2 * HOUR - 1);
        assert_eq!(
            deadlines(&mut t, b + HOUR),
            vec![
                (HOUSEKEEPING, b - HOUR - 1),
                (HOUSEKEEPING, b - 1),
                (SESSION_START, b),
                (HOUSEKEEPING, b + HOUR - 1),
            ]
        );
        // On a tie the session start goes first.
        let mut t = session_timers(HOUR);
        t.start(b - HOUR);
        assert_eq!(
            deadlines(&mut t, b),
            vec![(SESSION_START, b), (HOUSEKEEPING, b)]
        );
    }

    #[test]
    fn a_resume_continues_the_session_clock_after_the_last_input() {
        let b = utc("2026-03-08T21:00:00Z");
        // Down across the boundary: the first event after the restart brings the reset.
        let mut t = session_timers(0);
        t.resume_after(b - HOUR);
        t.start(b + HOUR);
        assert_eq!(deadlines(&mut t, b + HOUR), vec![(SESSION_START, b)]);
        // Restarted within the session (the reset is journaled already, or not due yet):
        // nothing at the restart.
        for last in [b, b + 1, b + HOUR] {
            let mut t = session_timers(0);
            t.resume_after(last);
            t.start(last + HOUR);
            assert_eq!(
                deadlines(&mut t, last + HOUR),
                vec![],
                "last input at {last}"
            );
            assert_eq!(t.next_deadline(), Some(utc("2026-03-09T21:00:00Z")));
        }
        // Without a session, resume_after changes nothing.
        let mut t = Timers::from_interval(10);
        t.resume_after(0);
        t.start(100);
        assert_eq!(t.next_deadline(), Some(110));
    }

    #[test]
    fn timer_events_are_valid_inputs() {
        let mut seq = crate::sequencer::Sequencer::new(1, 1);
        let e = seq.stamp(timer_event(HOUSEKEEPING, 42)).unwrap();
        assert_eq!(e.header.sequence, 1);
        assert_eq!(e.header.source, TIMER_SOURCE);
    }
}
