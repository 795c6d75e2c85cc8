//! Timers as inputs (DESIGN.md §1): a timer that fires is an [`EventBody::Timer`] event
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

use crate::event::{Event, EventBody, EventHeader};
use crate::instrument::InstrumentId;

/// The feed source number carried by timer events (`EventHeader::source`).
pub const TIMER_SOURCE: u16 = u16::MAX - 1;

/// The housekeeping timer: the order stage's periodic checks (stale quotes).
pub const HOUSEKEEPING: u32 = 1;

/// Most timers a [`Timers`] holds.
pub const MAX_TIMERS: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Periodic {
    id: u32,
    period_ns: i64,
    next_ns: i64,
}

/// A fixed set of periodic timers; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Timers {
    timers: [Periodic; MAX_TIMERS],
    len: usize,
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

    /// Whether there is any timer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Starts the clock at event time `t0_ns` (the first market input's receive time);
    /// later calls do nothing.
    pub fn start(&mut self, t0_ns: i64) {
        if self.started {
            return;
        }
        self.started = true;
        for t in &mut self.timers[..self.len] {
            t.next_ns = t0_ns.saturating_add(t.period_ns);
        }
    }

    /// The earliest deadline, if started and any timer exists.
    pub fn next_deadline(&self) -> Option<i64> {
        if !self.started {
            return None;
        }
        self.timers[..self.len].iter().map(|t| t.next_ns).min()
    }

    /// The next timer event due at or before event time `now_ns`, earliest deadline first
    /// (ties: the timer added first), and advances that timer. Its exchange and receive
    /// times are its deadline.
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

    #[test]
    fn timer_events_are_valid_inputs() {
        let mut seq = crate::sequencer::Sequencer::new(1, 1);
        let e = seq.stamp(timer_event(HOUSEKEEPING, 42)).unwrap();
        assert_eq!(e.header.sequence, 1);
        assert_eq!(e.header.source, TIMER_SOURCE);
    }
}
