//! The single-thread runner: a market, the Sequencer and the fused chain in one loop.
//!
//! This is the all-fused layout (docs/DESIGN.md §1), the one a backtest and a replay use:
//!
//! ```text
//!   loop:
//!     scripted inputs (operator commands) now due enter first
//!     timers whose deadline is at or before the market's next due time enter next
//!       (tickrail_engine::timers: the same rule as a live run's feed thread; the
//!       housekeeping timer and the session start of `risk.session_start`)
//!     next input = the market's next event
//!     Sequencer: check and stamp it (a refused input is counted and never reaches a stage)
//!     chain.on_event(input) → outputs
//!     every order request among the outputs is submitted to the market at the input's
//!     receive time (the market adds its entry latency)
//! ```
//!
//! Inputs and outputs are handed to a [`Sink`] in the order they happen, so a sink that
//! journals them writes exactly the stream a live run of the same inputs would.

use std::collections::VecDeque;

use tickrail_engine::runtime::Market;
use tickrail_engine::sequencer::{InputReject, Sequencer};
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::timers::Timers;
use tickrail_engine::{Event, EventBody};

/// Where a run's events go.
pub trait Sink {
    /// An input, after the Sequencer stamped it, before the chain sees it.
    fn input(&mut self, event: &Event);
    /// An output of the chain, in output-sequence order.
    fn output(&mut self, event: &Event);
}

/// A sink that drops everything.
#[derive(Debug, Default)]
pub struct NullSink;

impl Sink for NullSink {
    fn input(&mut self, _: &Event) {}
    fn output(&mut self, _: &Event) {}
}

/// A sink that keeps every event in memory (tests, small runs).
#[derive(Debug, Default)]
pub struct Recorder {
    /// The inputs, in sequence order.
    pub inputs: Vec<Event>,
    /// The outputs, in output order.
    pub outputs: Vec<Event>,
}

impl Sink for Recorder {
    fn input(&mut self, event: &Event) {
        self.inputs.push(*event);
    }
    fn output(&mut self, event: &Event) {
        self.outputs.push(*event);
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunSummary {
    /// Inputs that reached the chain.
    pub inputs: u64,
    /// Outputs of the chain.
    pub outputs: u64,
    /// Order requests submitted to the market.
    pub submitted: u64,
    /// Requests the market refused to take (with the first reason).
    pub submit_errors: u64,
    /// The first submit error, as text.
    pub first_submit_error: Option<String>,
    /// Inputs refused by the Sequencer, by [`InputReject::index`].
    pub input_rejects: [u64; InputReject::NAMES.len()],
    /// Outputs refused because the outbox was full (a bug if ever non-zero).
    pub outbox_overflows: u64,
    /// Timer events that entered (see [`tickrail_engine::timers`]).
    pub timers: u64,
}

/// The single-thread runner; see the [module docs](self).
#[derive(Debug)]
pub struct Runner<M, S> {
    market: M,
    chain: S,
    sequencer: Sequencer,
    outbox: Outbox,
    script: VecDeque<Event>,
    timers: Timers,
    summary: RunSummary,
    /// Receive time of the last market input (event time).
    now: i64,
    /// The market is done and the script drained.
    done: bool,
}

impl<M: Market, S: Stage> Runner<M, S> {
    /// A runner feeding `market`'s inputs for instruments `0 .. n_instruments` through
    /// `chain`. Input sequences start at 1, output sequences at 1. `max_outputs` bounds the
    /// outputs one input may cause.
    pub fn new(market: M, chain: S, n_instruments: usize, max_outputs: usize) -> Self {
        Self {
            market,
            chain,
            sequencer: Sequencer::new(1, n_instruments),
            outbox: Outbox::new(max_outputs, 1),
            script: VecDeque::new(),
            timers: Timers::new(),
            summary: RunSummary::default(),
            now: i64::MIN,
            done: false,
        }
    }

    /// Runs `timers` (normally `EngineConfig::timers()`) on the market's event clock,
    /// started at the first input's due time.
    pub fn with_timers(mut self, timers: Timers) -> Self {
        self.timers = timers;
        self
    }

    /// Schedules an extra input (an operator command, a timer) for event time
    /// `event.header.receive_ts_ns`. It enters right after the first market input received
    /// at or after that time (or at the end, if the market finishes first), and its receive
    /// time becomes that input's: like a live command, it is sequenced when the Sequencer
    /// gets to it, and orders it causes are submitted at that time. Scripted inputs must be
    /// added in time order.
    pub fn schedule(&mut self, event: Event) {
        self.script.push_back(event);
    }

    /// The chain (for reading its state after a run).
    pub fn chain(&self) -> &S {
        &self.chain
    }

    /// The market.
    pub fn market(&self) -> &M {
        &self.market
    }

    /// The summary so far.
    pub fn summary(&self) -> &RunSummary {
        &self.summary
    }

    /// Runs until the market is done (scripted inputs after that still enter), handing
    /// every event to `sink`.
    ///
    /// The market is never asked for its next input before the current one has been
    /// processed and its orders submitted: asking advances the market's clock, and a request
    /// submitted behind that clock would be out of causal order.
    pub fn run(&mut self, sink: &mut impl Sink) -> &RunSummary {
        while self.run_until(i64::MAX, sink) {}
        &self.summary
    }

    /// Runs the inputs due at or before event time `until_ns` (by the market's
    /// [`Market::next_due_ns`] lower bound), then returns `true`; returns `false` once the
    /// market is done (after feeding the remaining scripted inputs). A caller can look at
    /// the chain between calls (a backtest samples its PnL this way); the events are the
    /// same as one [`Runner::run`].
    pub fn run_until(&mut self, until_ns: i64, sink: &mut impl Sink) -> bool {
        if self.done {
            return false;
        }
        loop {
            self.inject_due(self.now, sink);
            let Some(due) = self.market.next_due_ns() else {
                break;
            };
            if due > until_ns {
                return true;
            }
            self.timers.start(due);
            while let Some(mut timer) = self.timers.pop_due(due) {
                // Orders it causes go to the market at a time it has reached.
                let at = &mut timer.header.receive_ts_ns;
                *at = (*at).max(self.now);
                self.now = self.now.max(*at);
                self.summary.timers += 1;
                self.step(timer, sink);
            }
            let Some(event) = self.market.next_input() else {
                break;
            };
            self.now = self.now.max(event.header.receive_ts_ns);
            self.step(event, sink);
        }
        self.inject_due(i64::MAX, sink);
        self.done = true;
        false
    }

    /// A lower bound on the next market input's receive time (`None`: the market is done).
    pub fn next_due_ns(&mut self) -> Option<i64> {
        self.market.next_due_ns()
    }

    /// Event time: the receive time of the last input.
    pub fn now_ns(&self) -> i64 {
        self.now
    }

    /// Feeds the scripted inputs due at or before `now`, stamped with receive time
    /// `max(due, now)` (`now` is the last market input's receive time).
    fn inject_due(&mut self, now: i64, sink: &mut impl Sink) {
        while self
            .script
            .front()
            .is_some_and(|e| e.header.receive_ts_ns <= now)
        {
            if let Some(mut event) = self.script.pop_front() {
                if now != i64::MAX {
                    event.header.receive_ts_ns = event.header.receive_ts_ns.max(now);
                }
                self.step(event, sink);
            }
        }
    }

    /// One input through the Sequencer, the chain and the market.
    ///
    /// The event is stamped where it lies and handed on by reference: a whole-event copy
    /// read back right after its fields were written stalls on store forwarding.
    fn step(&mut self, mut event: Event, sink: &mut impl Sink) {
        if let Err(reject) = self.sequencer.stamp_in_place(&mut event) {
            self.summary.input_rejects[reject.index()] += 1;
            return;
        }
        let input = &event;
        self.summary.inputs += 1;
        sink.input(input);
        self.chain.on_event(input, &mut self.outbox);
        let now = input.header.receive_ts_ns;
        for out in self.outbox.events() {
            self.summary.outputs += 1;
            sink.output(out);
            if matches!(
                out.body,
                EventBody::OrderNew { .. }
                    | EventBody::OrderCancel { .. }
                    | EventBody::OrderAmend { .. }
            ) {
                self.summary.submitted += 1;
                if let Err(e) = self.market.submit(now, out) {
                    self.summary.submit_errors += 1;
                    if self.summary.first_submit_error.is_none() {
                        self.summary.first_submit_error = Some(e.to_string());
                    }
                }
            }
        }
        self.summary.outbox_overflows = self.outbox.overflowed();
        self.outbox.clear();
    }
}
