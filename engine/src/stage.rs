//! The stage interface and the fused chain (docs/DESIGN.md §1).
//!
//! A [`Stage`] is a deterministic state machine: `on_event` sees one event — an input from
//! the Sequencer, or an output of a stage upstream of it — and pushes the outputs it causes
//! into an [`Outbox`]. It reads no clock (time is in the event), draws no unseeded
//! randomness and keeps no thread. Each stage keeps the state it needs (its own book, its own
//! view of positions) from the events it sees, so a stage can run on any thread: fused into
//! direct calls with its neighbours ([`Fused`]) or behind a ring (`crate::runtime`).
//!
//! Every output carries the sequence of the *input* that caused it (`cause_sequence`), also
//! when a downstream stage reacts to an upstream output, and a sequence of its own from the
//! chain's output counter, so a replay can compare outputs one by one.

use crate::event::{Event, EventBody, EventHeader};
use crate::instrument::InstrumentId;

/// A deterministic processing stage.
pub trait Stage {
    /// Process `event`; push the outputs it causes into `out`.
    fn on_event(&mut self, event: &Event, out: &mut Outbox);
}

/// Outputs of one event, with a fixed capacity, and the chain's output sequence counter.
///
/// A stage that pushes more than the capacity for one event is a bug, not a load condition
/// (each event causes a handful of outputs); the extra outputs are refused and counted in
/// [`Outbox::overflowed`], never silently lost, and `debug_assert!` stops tests at once.
#[derive(Debug, Clone)]
pub struct Outbox {
    events: Vec<Event>,
    capacity: usize,
    next_sequence: u64,
    overflowed: u64,
}

impl Outbox {
    /// An outbox for up to `capacity` outputs per event, numbering outputs from
    /// `first_sequence`. Allocates once, here.
    pub fn new(capacity: usize, first_sequence: u64) -> Self {
        Self {
            events: Vec::with_capacity(capacity),
            capacity,
            next_sequence: first_sequence,
            overflowed: 0,
        }
    }

    /// Push an output caused by `cause` (an input, or an output caused by an input): it gets
    /// the next output sequence, `cause_sequence` = the originating input's sequence, and
    /// `cause`'s instrument, scales, source and timestamps. Returns the output's sequence, or
    /// `None` if the outbox was full (counted).
    pub fn push(&mut self, cause: &Event, body: EventBody) -> Option<u64> {
        let h = cause.header;
        self.push_as(cause, h.instrument, h.price_scale, h.qty_scale, body)
    }

    /// Like [`Outbox::push`], for an output about another instrument than its cause's (e.g.
    /// the cancels a kill-switch command causes): the header takes `instrument` and its
    /// scales instead of the cause's.
    pub fn push_as(
        &mut self,
        cause: &Event,
        instrument: InstrumentId,
        price_scale: u8,
        qty_scale: u8,
        body: EventBody,
    ) -> Option<u64> {
        let input_sequence = if cause.kind().is_input() {
            cause.header.sequence
        } else {
            cause.header.cause_sequence
        };
        let header = EventHeader {
            sequence: self.next_sequence,
            cause_sequence: input_sequence,
            instrument,
            price_scale,
            qty_scale,
            ..cause.header
        };
        self.push_with(Event::new(header, body))
    }

    /// Push a fully formed output (its sequence is replaced by the next output sequence).
    pub fn push_with(&mut self, mut event: Event) -> Option<u64> {
        if self.events.len() >= self.capacity {
            self.overflowed += 1;
            debug_assert!(
                false,
                "outbox overflow: more than {} outputs for one event",
                self.capacity
            );
            return None;
        }
        event.header.sequence = self.next_sequence;
        self.next_sequence += 1;
        self.events.push(event);
        Some(event.header.sequence)
    }

    /// The outputs pushed since the last [`Outbox::clear`], in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Forget the outputs (after they were consumed); the sequence counter continues.
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// The most outputs one event may push.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The sequence the next output will get.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Outputs refused because the outbox was full.
    pub fn overflowed(&self) -> u64 {
        self.overflowed
    }

    /// Move the outputs out to `f` in order, then clear.
    pub fn drain(&mut self, mut f: impl FnMut(&Event)) {
        for e in &self.events {
            f(e);
        }
        self.events.clear();
    }
}

/// Two stages fused into direct calls on one thread: `B` is downstream of `A`.
///
/// For each event, `A` runs first; then `B` sees the event itself, then each of `A`'s outputs
/// in order. The chain's outputs are `A`'s outputs followed by, for each event `B` saw, `B`'s
/// outputs — all numbered from one counter in that order, so the output stream is a pure
/// function of the input stream. Nest to build longer chains: `Fused<Fused<A, B>, C>`.
#[derive(Debug)]
pub struct Fused<A, B> {
    pub upstream: A,
    pub downstream: B,
    scratch: Vec<Event>,
}

impl<A: Stage, B: Stage> Fused<A, B> {
    /// Fuse `upstream` and `downstream`; `max_outputs` bounds `A`'s outputs per event.
    pub fn new(upstream: A, downstream: B, max_outputs: usize) -> Self {
        Self {
            upstream,
            downstream,
            scratch: Vec::with_capacity(max_outputs),
        }
    }
}

impl<A: Stage, B: Stage> Fused<A, B> {
    /// [`Stage::on_event`], calling `between` after `A` and before `B` (a stage thread reads
    /// its clock there to time each stage). Inlined: no cost when `between` does nothing.
    #[inline]
    pub fn on_event_with(&mut self, event: &Event, out: &mut Outbox, between: impl FnOnce()) {
        let mark = out.events.len();
        self.upstream.on_event(event, out);
        between();
        feed_downstream(&mut self.downstream, event, out, mark, &mut self.scratch);
    }
}

impl<A: Stage, B: Stage> Stage for Fused<A, B> {
    #[inline]
    fn on_event(&mut self, event: &Event, out: &mut Outbox) {
        self.on_event_with(event, out, || {});
    }
}

/// The downstream half of a fused step, the one place the chain's call order is coded:
/// `downstream` sees `event`, then each output pushed to `out` since `mark` — the upstream
/// stage's outputs for `event`, already chain outputs — in order. Used by [`Fused`] and by
/// a stage thread whose upstream stage runs on another thread (it pushes the outputs that
/// came over the ring first). `scratch` holds a copy of those outputs while `downstream`
/// pushes its own; it is reused, so with the capacity of the outbox it never allocates.
#[inline]
pub fn feed_downstream<B: Stage + ?Sized>(
    downstream: &mut B,
    event: &Event,
    out: &mut Outbox,
    mark: usize,
    scratch: &mut Vec<Event>,
) {
    // The upstream outputs stay in `out` (they are chain outputs too); B also sees them.
    scratch.clear();
    scratch.extend_from_slice(&out.events[mark..]);
    downstream.on_event(event, out);
    for upstream_output in scratch.iter() {
        downstream.on_event(upstream_output, out);
    }
}

impl<S: Stage + ?Sized> Stage for &mut S {
    fn on_event(&mut self, event: &Event, out: &mut Outbox) {
        (**self).on_event(event, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Side, TimeInForce};
    use crate::instrument::InstrumentId;
    use crate::value::{Price, Qty};

    fn input(seq: u64) -> Event {
        Event::new(
            EventHeader {
                sequence: seq,
                cause_sequence: seq,
                exchange_ts_ns: 10 * seq as i64,
                receive_ts_ns: 10 * seq as i64 + 1,
                instrument: InstrumentId::new(7),
                price_scale: 2,
                qty_scale: 0,
                source: 1,
            },
            EventBody::Quote {
                bid_px: Price::new(100),
                bid_qty: Qty::new(1),
                ask_px: Price::new(101),
                ask_qty: Qty::new(1),
            },
        )
    }

    /// Emits a signal for every quote.
    struct Signals;
    impl Stage for Signals {
        fn on_event(&mut self, e: &Event, out: &mut Outbox) {
            if e.kind() == EventKind::Quote {
                out.push(
                    e,
                    EventBody::Signal {
                        model_id: 1,
                        value: e.header.sequence as i64,
                    },
                );
            }
        }
    }

    /// Turns every signal into an order; counts what it saw.
    #[derive(Default)]
    struct Orders {
        seen: Vec<(EventKind, u64)>,
    }
    impl Stage for Orders {
        fn on_event(&mut self, e: &Event, out: &mut Outbox) {
            self.seen.push((e.kind(), e.header.sequence));
            if e.kind() == EventKind::Signal {
                out.push(
                    e,
                    EventBody::OrderNew {
                        side: Side::Buy,
                        tif: TimeInForce::Ioc,
                        venue: 1,
                        client_order_id: e.header.sequence,
                        price: Price::new(100),
                        qty: Qty::new(1),
                    },
                );
            }
        }
    }

    #[test]
    fn fused_chain_orders_and_tags_outputs() {
        let mut chain = Fused::new(Signals, Orders::default(), 4);
        let mut out = Outbox::new(8, 1000);
        let mut all = Vec::new();
        for seq in [5, 6] {
            chain.on_event(&input(seq), &mut out);
            out.drain(|e| all.push(*e));
        }
        let got: Vec<_> = all
            .iter()
            .map(|e| (e.kind(), e.header.sequence, e.header.cause_sequence))
            .collect();
        assert_eq!(
            got,
            vec![
                (EventKind::Signal, 1000, 5),
                (EventKind::OrderNew, 1001, 5),
                (EventKind::Signal, 1002, 6),
                (EventKind::OrderNew, 1003, 6),
            ]
        );
        // The downstream stage saw each input, then the upstream output it caused.
        assert_eq!(
            chain.downstream.seen,
            vec![
                (EventKind::Quote, 5),
                (EventKind::Signal, 1000),
                (EventKind::Quote, 6),
                (EventKind::Signal, 1002)
            ]
        );
        assert!(
            all.iter().all(|e| e.validate().is_ok()),
            "outputs are valid events"
        );
        assert_eq!(out.overflowed(), 0);
    }

    #[test]
    fn a_full_outbox_refuses_and_counts() {
        let mut out = Outbox::new(1, 1);
        let e = input(1);
        let body = EventBody::Signal {
            model_id: 1,
            value: 0,
        };
        assert_eq!(out.push(&e, body), Some(1));
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| out.push(&e, body)));
        // debug builds stop at the assertion; release builds return None. Either way the
        // refusal is counted and nothing was overwritten.
        assert!(refused.is_err() || refused.as_ref().ok() == Some(&None));
        assert_eq!((out.overflowed(), out.events().len()), (1, 1));
    }
}
