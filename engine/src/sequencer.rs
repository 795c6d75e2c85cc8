//! The Sequencer's checks and stamping (docs/DESIGN.md §1): the single writer of the input stream.
//!
//! [`Sequencer::stamp`] takes an input from a source (feed, venue, timer, operator), refuses
//! what must never reach a stage — counted by [`InputReject`] — and gives the rest the next
//! sequence number (its own `cause_sequence` too). Checks, in order:
//!
//! 1. [`InputReject::NotAnInput`]: an output kind (signals, orders, rejects) offered as input.
//! 2. [`InputReject::UnknownInstrument`]: market data or an execution report for an
//!    instrument outside `0 .. n_instruments` (timers, commands and feed gaps may name any).
//! 3. [`InputReject::BadQty`]: market data with a zero quantity where an order or a trade
//!    needs one. (Zero and negative prices, and negative quantities, cannot be built: the
//!    [`Price`](crate::Price) and [`Qty`](crate::Qty) constructors refuse them, so a feed
//!    decoder meets them as parse errors and counts them there.)
//! 4. [`InputReject::Invalid`]: [`Event::validate`] fails (scale out of range, any other
//!    value out of its range).
//! 5. [`InputReject::TimeBackwards`]: market data whose exchange timestamp is earlier than
//!    the last accepted one from the same source for the same instrument.
//!
//! Nothing here allocates after [`Sequencer::new`] except the first time a new feed source
//! is seen (a start-up event in practice).

use crate::event::{Event, EventBody, EventKind};

/// Why the Sequencer refused an input. Counted per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputReject {
    /// An output kind offered as an input.
    #[error("{0} is not an input kind")]
    NotAnInput(EventKind),
    /// The event does not validate.
    #[error("invalid {0} event")]
    Invalid(EventKind),
    /// Unknown instrument.
    #[error("{kind} for unknown instrument {instrument}")]
    UnknownInstrument {
        /// The kind.
        kind: EventKind,
        /// The instrument id.
        instrument: u32,
    },
    /// A zero quantity where one is needed.
    #[error("{0} with a bad quantity")]
    BadQty(EventKind),
    /// Exchange time went backwards for this source and instrument.
    #[error("{kind} exchange time {ts_ns} is before the last one ({last_ns}) of its source")]
    TimeBackwards {
        /// The kind.
        kind: EventKind,
        /// The event's exchange time.
        ts_ns: i64,
        /// The last accepted one.
        last_ns: i64,
    },
}

impl InputReject {
    /// A dense index per reject kind, for counters.
    pub const fn index(&self) -> usize {
        match self {
            Self::NotAnInput(_) => 0,
            Self::Invalid(_) => 1,
            Self::UnknownInstrument { .. } => 2,
            Self::BadQty(_) => 3,
            Self::TimeBackwards { .. } => 4,
        }
    }

    /// Reject kind names, by [`InputReject::index`].
    pub const NAMES: [&'static str; 5] = [
        "not_an_input",
        "invalid",
        "unknown_instrument",
        "bad_qty",
        "time_backwards",
    ];
}

/// Stamps sequence numbers on inputs after checking them; see the [module docs](self).
///
/// Serializable, so that its state can go into an engine snapshot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sequencer {
    next_sequence: u64,
    n_instruments: usize,
    /// Per feed source: the last accepted exchange time per instrument.
    last_exchange_ns: Vec<(u16, Vec<i64>)>,
    accepted: u64,
    rejects: [u64; 5],
}

impl Sequencer {
    /// A sequencer numbering from `first_sequence`, for instruments `0 .. n_instruments`.
    pub fn new(first_sequence: u64, n_instruments: usize) -> Self {
        Self {
            next_sequence: first_sequence,
            n_instruments,
            last_exchange_ns: Vec::with_capacity(8),
            accepted: 0,
            rejects: [0; 5],
        }
    }

    /// The sequence the next accepted input gets.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// The instrument count it checks against (`0 .. n_instruments`).
    pub fn n_instruments(&self) -> usize {
        self.n_instruments
    }

    /// Inputs accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Rejects so far, by [`InputReject::index`] (names in [`InputReject::NAMES`]).
    pub fn rejects(&self) -> [u64; 5] {
        self.rejects
    }

    /// Checks `event` and, if it may enter, stamps the next sequence on it.
    pub fn stamp(&mut self, mut event: Event) -> Result<Event, InputReject> {
        match self.validate(&event) {
            Ok(()) => {
                self.assign(&mut event);
                Ok(event)
            }
            Err(r) => {
                self.count_reject(&r);
                Err(r)
            }
        }
    }

    /// [`Sequencer::stamp`] on the caller's event: checks it and, if it may enter, stamps
    /// the next sequence on it where it is. Refused, it is left with that sequence written
    /// in (it must not be published) and the reject is counted.
    ///
    /// The single-thread runner's path: no whole-event copy in or out (a wide copy of an
    /// event whose fields were just written stalls on store forwarding).
    pub fn stamp_in_place(&mut self, event: &mut Event) -> Result<(), InputReject> {
        let seq = self.next_sequence;
        event.header.sequence = seq;
        event.header.cause_sequence = seq;
        match self.check(event) {
            Ok(()) => {
                self.record(event);
                Ok(())
            }
            Err(r) => {
                self.count_reject(&r);
                Err(r)
            }
        }
    }

    /// Counts a reject found by [`Sequencer::validate`] (what [`Sequencer::stamp`] does
    /// on a refused input).
    pub fn count_reject(&mut self, reject: &InputReject) {
        self.rejects[reject.index()] += 1;
    }

    /// Registers feed source `source` ahead of time, so that its first input does not
    /// allocate (the runtime registers every venue at start-up).
    pub fn register_source(&mut self, source: u16) {
        if !self.last_exchange_ns.iter().any(|(s, _)| *s == source) {
            self.last_exchange_ns
                .push((source, vec![i64::MIN; self.n_instruments]));
        }
    }

    /// Whether `event` may enter now, without stamping it or changing any state. An input
    /// that passes is stamped by [`Sequencer::assign`] before any other input is checked.
    pub fn validate(&self, event: &Event) -> Result<(), InputReject> {
        // Validated as it will be published: stamped with the next sequence.
        let mut stamped = *event;
        stamped.header.sequence = self.next_sequence;
        stamped.header.cause_sequence = self.next_sequence;
        self.check(&stamped)
    }

    /// [`Sequencer::validate`] of an event already carrying the next sequence.
    #[inline]
    fn check(&self, stamped: &Event) -> Result<(), InputReject> {
        let kind = stamped.kind();
        if !kind.is_input() {
            return Err(InputReject::NotAnInput(kind));
        }
        let market_data = is_market_data(stamped);
        let instrument = stamped.header.instrument.get();
        let known = usize::try_from(instrument).is_ok_and(|i| i < self.n_instruments);
        if !known && (market_data || kind == EventKind::ExecReport) {
            return Err(InputReject::UnknownInstrument { kind, instrument });
        }
        if market_data {
            check_values(stamped)?;
        }
        stamped.validate().map_err(|_| InputReject::Invalid(kind))?;
        if market_data {
            let source = stamped.header.source;
            let last = self
                .last_exchange_ns
                .iter()
                .find(|(s, _)| *s == source)
                .map_or(i64::MIN, |(_, v)| v[instrument as usize]);
            let ts = stamped.header.exchange_ts_ns;
            if ts < last {
                return Err(InputReject::TimeBackwards {
                    kind,
                    ts_ns: ts,
                    last_ns: last,
                });
            }
        }
        Ok(())
    }

    /// Takes in an input stamped earlier (a journaled one, on recovery): the next input gets
    /// the sequence after it, and its exchange time counts as the last of its source, as
    /// if this Sequencer had stamped it.
    pub fn observe(&mut self, event: &Event) {
        let mut e = *event;
        self.next_sequence = event.header.sequence;
        self.assign(&mut e);
    }

    /// Stamps the next sequence on an input that passed [`Sequencer::validate`] and
    /// records its exchange time.
    pub fn assign(&mut self, event: &mut Event) {
        let seq = self.next_sequence;
        event.header.sequence = seq;
        event.header.cause_sequence = seq;
        self.record(event);
    }

    /// The state change of [`Sequencer::assign`] for an event already carrying the next
    /// sequence: its exchange time recorded, the count advanced.
    fn record(&mut self, event: &Event) {
        if is_market_data(event) {
            let source = event.header.source;
            self.register_source(source);
            let i = event.header.instrument.get() as usize;
            if let Some((_, v)) = self.last_exchange_ns.iter_mut().find(|(s, _)| *s == source) {
                if let Some(last) = v.get_mut(i) {
                    *last = (*last).max(event.header.exchange_ts_ns);
                }
            }
        }
        self.next_sequence += 1;
        self.accepted += 1;
    }
}

/// Market data, as opposed to execution reports, timers, commands and feed gap marks.
fn is_market_data(event: &Event) -> bool {
    !matches!(
        event.body,
        EventBody::ExecReport { .. }
            | EventBody::Timer { .. }
            | EventBody::Command { .. }
            | EventBody::FeedGap { .. }
    )
}

/// Market data quantity checks (see the module docs).
fn check_values(event: &Event) -> Result<(), InputReject> {
    let needs_qty = match event.body {
        EventBody::Trade { qty, .. }
        | EventBody::OrderAdd { qty, .. }
        | EventBody::OrderExecute { qty, .. }
        | EventBody::OrderReplace { qty, .. } => Some(qty),
        _ => None,
    };
    match needs_qty {
        Some(q) if q.raw() <= 0 => Err(InputReject::BadQty(event.kind())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Aggressor, EventHeader, OperatorCommand};
    use crate::instrument::InstrumentId;
    use crate::value::{Price, Qty};

    fn trade(instrument: u32, source: u16, ts: i64, px: i64, qty: i64) -> Event {
        Event::new(
            EventHeader {
                sequence: 0,
                cause_sequence: 0,
                exchange_ts_ns: ts,
                receive_ts_ns: ts + 5,
                instrument: InstrumentId::new(instrument),
                price_scale: 2,
                qty_scale: 0,
                source,
            },
            EventBody::Trade {
                aggressor: Aggressor::Buy,
                price: Price::new(px),
                qty: Qty::new(qty),
                trade_id: 1,
            },
        )
    }

    #[test]
    fn stamping_in_place_stamps_and_refuses_as_stamp_does() {
        let mut bad_scale = trade(0, 1, 200, 5, 1);
        bad_scale.header.price_scale = 200;
        let mut sig = trade(0, 0, 0, 1, 1);
        sig.body = EventBody::Signal {
            model_id: 1,
            value: 0,
        };
        let inputs = [
            trade(0, 1, 100, 5, 1),
            trade(2, 1, 100, 5, 1),
            trade(0, 1, 101, 5, 0),
            trade(0, 1, 99, 5, 1),
            trade(0, 2, 50, 5, 1),
            bad_scale,
            sig,
            trade(1, 1, 50, 5, 1),
            trade(0, 1, 100, 6, 2),
        ];
        let (mut by_value, mut in_place) = (Sequencer::new(10, 2), Sequencer::new(10, 2));
        for e in inputs {
            let want = by_value.stamp(e);
            let mut got = e;
            let r = in_place.stamp_in_place(&mut got);
            assert_eq!(r.map(|()| got), want);
        }
        assert_eq!(in_place, by_value);
        assert_eq!(in_place.accepted(), 4);
        assert_eq!(in_place.rejects(), [1, 1, 1, 1, 1]);
    }

    #[test]
    fn stamps_in_order_and_refuses_bad_inputs_by_name() {
        let mut s = Sequencer::new(10, 2);
        let a = s.stamp(trade(0, 1, 100, 5, 1)).unwrap();
        assert_eq!((a.header.sequence, a.header.cause_sequence), (10, 10));
        assert_eq!(
            s.stamp(trade(2, 1, 100, 5, 1)),
            Err(InputReject::UnknownInstrument {
                kind: EventKind::Trade,
                instrument: 2
            })
        );
        assert_eq!(
            s.stamp(trade(0, 1, 101, 5, 0)),
            Err(InputReject::BadQty(EventKind::Trade))
        );
        assert!(matches!(
            s.stamp(trade(0, 1, 99, 5, 1)),
            Err(InputReject::TimeBackwards {
                ts_ns: 99,
                last_ns: 100,
                ..
            })
        ));
        // Another source, or another instrument, has its own clock.
        assert!(s.stamp(trade(0, 2, 50, 5, 1)).is_ok());
        assert!(s.stamp(trade(1, 1, 50, 5, 1)).is_ok());
        let mut bad_scale = trade(0, 1, 200, 5, 1);
        bad_scale.header.price_scale = 200;
        assert_eq!(
            s.stamp(bad_scale),
            Err(InputReject::Invalid(EventKind::Trade))
        );
        // Commands may name any instrument; outputs are refused.
        let mut cmd = trade(7, 0, 0, 1, 1);
        cmd.body = EventBody::Command {
            command: OperatorCommand::KillSwitch,
            arg: 0,
        };
        assert_eq!(s.stamp(cmd).map(|e| e.header.sequence), Ok(13));
        let mut sig = trade(0, 0, 0, 1, 1);
        sig.body = EventBody::Signal {
            model_id: 1,
            value: 0,
        };
        assert_eq!(
            s.stamp(sig),
            Err(InputReject::NotAnInput(EventKind::Signal))
        );
        assert_eq!(s.accepted(), 4);
        assert_eq!(s.rejects(), [1, 1, 1, 1, 1]);
        assert_eq!(s.next_sequence(), 14);
    }
}
