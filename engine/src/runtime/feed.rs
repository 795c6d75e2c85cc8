//! The feed thread of a live run: the one thread that talks to the outside world. It owns
//! the [`LiveMarket`] (the synthetic market, or the gateways), the Sequencer side of the
//! input ring and the gateway side of the output ring. [`FeedLoop::run`] repeats four
//! phases, one method each:
//!
//! ```text
//!   loop:
//!     1. drain_outputs   every output of the chain: count it; an order request goes to
//!                        the market at the market's clock once the journal has it
//!                        (durability = "before-send"; until then it waits in the send
//!                        queue, in order, and the loop goes on)
//!     2. offer_held      an input the full ring refused earlier goes first (never dropped)
//!     3. operator        an operator command (kill switch) or a stop request, if one came
//!     4. market          a timer whose deadline is at or before both the market's next due
//!                        time and the paced clock → Sequencer → input ring (the
//!                        single-thread runner's rule, so timers fall between the same
//!                        market inputs; a silent market still gets its timers); else the
//!                        market's next event once it is due (pace = "realtime": event
//!                        time follows the wall clock from the first event; "max": at
//!                        once) → Sequencer → input ring
//!   until the output ring is closed and drained
//! ```
//!
//! A phase either lets the loop go on to the next one ([`Phase::Next`]) or sends it back to
//! draining outputs ([`Phase::Again`]): a full input ring only empties while the outputs
//! are read. An [`FeedObserver`] sees every output and every sent request (the pipeline
//! benchmark measures through it; a live run uses `()`).
//!
//! With the chain inline on the feed thread ([`super::inline`]) the loop is the same: an
//! offer runs the chain on the input it publishes and leaves the chain's outputs in the
//! output ring, and the next round's phase 1 reads them back from there and sends the
//! order requests, through the same journal gate. When the input closes, the chain comes
//! back in [`FeedReport::chain`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::Pace;
use crate::runtime::clock::now_ns;
use crate::runtime::counters::{bump, FeedCounters};
use crate::runtime::inline::InlineRun;
use crate::runtime::latency::Latency;
use crate::runtime::market::{LiveMarket, Market};
use crate::runtime::probe::AllocCounts;
use crate::runtime::wait::Idle;
use crate::runtime::{InputSide, Offered, OutputTap, Slot, WaitKind};
use crate::timers::Timers;
use crate::{Event, EventBody, EventHeader, ExecKind, InstrumentId, OperatorCommand};

/// Requests from outside the run (signal handlers, a control socket, a test).
#[derive(Debug, Default)]
pub struct LiveControl {
    /// Stop the feed now; drain and close the journal.
    pub stop: AtomicBool,
    /// Throw the kill switch (taken once, then cleared).
    pub kill: AtomicBool,
}

/// What the feed thread measured and counted.
#[derive(Debug, Default)]
pub struct FeedReport<R> {
    /// Tick to order: from the Sequencer publishing an input to the gateway receiving a
    /// new order that input caused.
    pub tick_to_order: Latency,
    /// The last hop: from the last stage thread (or, with the chain inline, the feed
    /// thread itself) publishing an output to the gateway reading it.
    pub output_hop: Latency,
    /// Time an order request waited for the journal (`before-send`).
    pub journal_gate: Latency,
    /// The market's own report at the end ([`LiveMarket::finish`]).
    pub market: R,
    /// Wall time of the feed loop, ns.
    pub wall_ns: u64,
    /// Event time covered, ns.
    pub event_ns: i64,
    /// Timer events offered.
    pub timers: u64,
    /// The first error the market gave for a request, if any.
    pub first_submit_error: Option<String>,
    /// The chain and its measurements, when the feed thread ran it inline.
    pub chain: Option<InlineRun>,
    /// Allocations on the feed thread (with a registered probe), everything on it included
    /// — the market, the loop, the Sequencer and an inline chain — counted per published
    /// input.
    pub allocs: AllocCounts,
}

impl<R> FeedReport<R> {
    /// The same report with the market's part mapped by `f`.
    pub fn map_market<S>(self, f: impl FnOnce(R) -> S) -> FeedReport<S> {
        FeedReport {
            tick_to_order: self.tick_to_order,
            output_hop: self.output_hop,
            journal_gate: self.journal_gate,
            market: f(self.market),
            wall_ns: self.wall_ns,
            event_ns: self.event_ns,
            timers: self.timers,
            first_submit_error: self.first_submit_error,
            chain: self.chain,
            allocs: self.allocs,
        }
    }
}

/// Sees what the feed thread reads and sends, on the feed thread. Every method has an
/// empty default; `()` observes nothing.
pub trait FeedObserver {
    /// The loop started at `wall_ns` ([`now_ns`]); with `pace = "realtime"`, an input due
    /// `d` ns of event time after the first is offered from `wall_ns + d` on.
    fn started(&mut self, _wall_ns: u64) {}
    /// An output was read from the output ring at `read_ns` ([`now_ns`]).
    fn output(&mut self, _slot: &Slot, _read_ns: u64) {}
    /// An order request read at `read_ns` passed the journal gate at `sent_ns` (before it
    /// went to the market).
    fn sent(&mut self, _request: &Event, _read_ns: u64, _sent_ns: u64) {}
    /// An input was offered to the input ring, with this result.
    fn offered(&mut self, _result: &Offered) {}
}

impl FeedObserver for () {}

/// How often the feed thread refreshes the live tick-to-order percentiles (when idle).
const PERCENTILES_EVERY_NS: u64 = 100_000_000;

/// What a phase tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Go on to the next phase; this many things were done.
    Next(usize),
    /// Back to draining outputs (after waiting, if the phase waited).
    Again,
}

/// The feed thread's loop; see the [module docs](self).
#[derive(Debug)]
pub struct FeedLoop<'a, M: LiveMarket, O: FeedObserver = ()> {
    market: M,
    timers: Timers,
    input: Option<InputSide>,
    output: OutputTap,
    counters: &'a FeedCounters,
    control: &'a LiveControl,
    pace: Pace,
    idle: Idle,
    observer: O,
    report: FeedReport<M::Report>,
    /// Order requests read from the output ring that the journal has not reached yet, with
    /// the time each was read.
    pending: VecDeque<(Event, u64)>,
    /// How the loop waits while only the journal is awaited: it yields (a sleep would delay
    /// the orders), or spins if the feed thread busy-spins (it has its core to itself).
    gate_idle: Idle,
    wall0: u64,
    event0: i64,
    output_open: bool,
    held: Option<Event>,
    stopping: bool,
    last_percentiles: u64,
}

impl<'a, M: LiveMarket, O: FeedObserver> FeedLoop<'a, M, O> {
    /// A feed loop over `market`, feeding `input` and reading `output`; `timers` enter as
    /// the runner's rule says; idles the `wait` way; `observer` sees what it reads and sends
    /// (`()`: nothing).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        market: M,
        timers: Timers,
        input: InputSide,
        output: OutputTap,
        counters: &'a FeedCounters,
        control: &'a LiveControl,
        pace: Pace,
        wait: WaitKind,
        observer: O,
    ) -> Self {
        let send_queue = output.consumer.capacity();
        Self {
            market,
            timers,
            input: Some(input),
            output,
            counters,
            control,
            pace,
            idle: Idle::new(wait),
            observer,
            report: FeedReport::default(),
            pending: VecDeque::with_capacity(send_queue),
            gate_idle: Idle::new(match wait {
                WaitKind::BusySpin => WaitKind::BusySpin,
                WaitKind::Yield | WaitKind::Block => WaitKind::Yield,
            }),
            wall0: 0,
            event0: 0,
            output_open: true,
            held: None,
            stopping: false,
            last_percentiles: 0,
        }
    }

    /// Runs until the market is done (or a stop request) and the output ring is drained
    /// and closed; returns the report and the observer.
    pub fn run(mut self) -> (FeedReport<M::Report>, O) {
        self.report.allocs = AllocCounts::start();
        self.wall0 = now_ns();
        self.observer.started(self.wall0);
        self.last_percentiles = self.wall0;
        self.event0 = Market::next_due_ns(&mut self.market).unwrap_or(0);
        self.timers.start(self.event0);
        'round: while self.output_open {
            let mut did = self.drain_outputs();
            for phase in [Self::offer_held, Self::operator, Self::market] {
                match phase(&mut self) {
                    Phase::Next(n) => did += n,
                    Phase::Again => continue 'round,
                }
            }
            if did > 0 {
                self.idle.reset();
            } else if !self.pending.is_empty() {
                self.gate_idle.idle();
            } else {
                self.on_idle();
            }
        }
        // Closed already, unless the output ring closed first (a stage thread ended early).
        self.close_input();
        self.report.allocs.end();
        let mut report = self.report;
        report.wall_ns = now_ns() - self.wall0;
        report.event_ns = self.market.now_ns() - self.event0;
        report.market = self.market.finish();
        (report, self.observer)
    }

    /// Phase 1: every output of the chain now in the ring. An order request never leaves
    /// before the journal has it (`before-send`), nor after the journal failed; one the
    /// journal has not reached yet waits in the send queue, in order, while the loop goes on
    /// (the journaler is a few records behind at most).
    fn drain_outputs(&mut self) -> usize {
        let Self {
            output,
            counters: c,
            observer,
            report,
            pending,
            ..
        } = self;
        let r = output.consumer.poll(|slot| {
            let now = now_ns();
            report
                .output_hop
                .record(now.saturating_sub(slot.published_ns));
            observer.output(slot, now);
            bump(&c.outputs);
            let e = &slot.event;
            match e.body {
                EventBody::RiskReject { code, .. } => c.risk_reject(code),
                EventBody::OrderNew { .. }
                | EventBody::OrderCancel { .. }
                | EventBody::OrderAmend { .. } => {
                    if matches!(e.body, EventBody::OrderNew { .. }) {
                        report
                            .tick_to_order
                            .record(now.saturating_sub(slot.ingress_ns));
                        bump(&c.new_orders);
                    }
                    // Within capacity: the feed is never more than a ring ahead of the
                    // journaler, and the queue holds only what the journaler has not passed.
                    pending.push_back((slot.event, now));
                }
                _ => {}
            }
        });
        let n = match r {
            Ok(n) => n,
            Err(_) => {
                self.output_open = false;
                0
            }
        };
        // The last outputs: wait for the journal to reach them (it closes after them).
        self.send_ready(!self.output_open);
        n
    }

    /// Sends the queued order requests the journal has reached, in order; with `wait`, waits
    /// for it to reach all of them. After a journal failure nothing more is sent.
    fn send_ready(&mut self, wait: bool) {
        while let Some(&(request, read_ns)) = self.pending.front() {
            let gate = &self.output.gate;
            if gate.journal_failed() {
                self.pending.clear();
                return;
            }
            if !gate.may_send(request.header.sequence) {
                if !wait {
                    return;
                }
                self.gate_idle.idle();
                continue;
            }
            self.pending.pop_front();
            let sent = now_ns();
            self.report
                .journal_gate
                .record(sent.saturating_sub(read_ns));
            self.observer.sent(&request, read_ns, sent);
            let at = self.market.now_ns();
            match Market::submit(&mut self.market, at, &request) {
                Ok(()) => bump(&self.counters.orders_sent),
                Err(err) => {
                    bump(&self.counters.submit_errors);
                    self.report
                        .first_submit_error
                        .get_or_insert(err.to_string());
                }
            }
        }
    }

    /// Closes the input ring (and with the chain inline, the output ring after the chain's
    /// last outputs), keeping the inline chain for the report.
    fn close_input(&mut self) {
        if let Some(input) = self.input.take() {
            self.report.chain = input.close();
        }
    }

    /// Offers `event` to the input ring (which must be open); a full ring's refusal is held
    /// and offered again first.
    fn offer(&mut self, event: Event) -> Offered {
        let Some(inp) = self.input.as_mut() else {
            return Offered::Full;
        };
        let offered = inp.offer(event);
        match offered {
            Offered::Full => self.held = Some(event),
            Offered::Published(_) => self.report.allocs.event(),
            Offered::Conflated | Offered::Rejected(_) => {}
        }
        self.observer.offered(&offered);
        offered
    }

    /// Phase 2: an input the full ring refused earlier goes first.
    fn offer_held(&mut self) -> Phase {
        if self.input.is_none() {
            return Phase::Next(0);
        }
        let Some(ev) = self.held.take() else {
            return Phase::Next(0);
        };
        if matches!(self.offer(ev), Offered::Full) {
            self.idle.idle();
            return Phase::Again;
        }
        Phase::Next(1)
    }

    /// Phase 3: the kill switch, a stop request.
    fn operator(&mut self) -> Phase {
        if self.input.is_none() {
            return Phase::Next(0);
        }
        let mut did = 0;
        if self.control.kill.swap(false, Ordering::AcqRel) {
            bump(&self.counters.kill_switches);
            let cmd = command(self.market.now_ns(), OperatorCommand::KillSwitch);
            if matches!(self.offer(cmd), Offered::Full) {
                return Phase::Again;
            }
            did += 1;
        }
        if !self.stopping && self.control.stop.load(Ordering::Acquire) {
            self.stopping = true;
            if !self.market.request_stop() {
                self.close_input(); // the stages drain and close theirs
                return Phase::Again;
            }
        }
        Phase::Next(did)
    }

    /// Phase 4: a due timer, else the market's next event once due; closes the input
    /// when the market is done.
    fn market(&mut self) -> Phase {
        let Some(inp) = self.input.as_mut() else {
            return Phase::Next(0);
        };
        let Some(due) = Market::next_due_ns(&mut self.market) else {
            // The market is done: once every conflated quote is out, close.
            if inp.flush() {
                self.close_input();
            } else {
                self.idle.idle();
            }
            return Phase::Again;
        };
        // Event time now: the market's next due time, or the paced clock if earlier.
        let clock = match self.pace {
            Pace::Max => due,
            Pace::Realtime => {
                let elapsed = i64::try_from(now_ns() - self.wall0).unwrap_or(i64::MAX);
                due.min(self.event0.saturating_add(elapsed))
            }
        };
        if let Some(mut timer) = self.timers.pop_due(clock) {
            let at = &mut timer.header.receive_ts_ns;
            *at = (*at).max(self.market.now_ns());
            bump(&self.counters.timers);
            self.report.timers += 1;
            self.offer(timer);
            self.idle.reset();
            return Phase::Again;
        }
        if due > clock {
            return Phase::Next(0);
        }
        let Some(ev) = self.market.next_input() else {
            return Phase::Next(0);
        };
        if let EventBody::ExecReport { exec, .. } = ev.body {
            bump(&self.counters.exec_reports);
            if matches!(exec, ExecKind::Fill | ExecKind::PartialFill) {
                bump(&self.counters.fills);
            }
        }
        match self.offer(ev) {
            Offered::Published(_) | Offered::Conflated => Phase::Next(1),
            Offered::Full | Offered::Rejected(_) => Phase::Next(0),
        }
    }

    /// Nothing was done this round: publish the ring fill and (about every 100 ms) the live
    /// tick-to-order percentiles for the stats file, then wait.
    fn on_idle(&mut self) {
        if let Some(inp) = self.input.as_ref() {
            self.counters
                .input_ring_fill
                .store(inp.ring_fill() as u64, Ordering::Relaxed);
        }
        let now = now_ns();
        if now.saturating_sub(self.last_percentiles) >= PERCENTILES_EVERY_NS {
            self.last_percentiles = now;
            let [p50, p99, _, _, max] = self.report.tick_to_order.percentiles();
            for (slot, v) in self.counters.tick_to_order_ns.iter().zip([p50, p99, max]) {
                slot.store(v, Ordering::Relaxed);
            }
        }
        self.idle.idle();
    }
}

/// An operator command input at `at_ns`.
pub fn command(at_ns: i64, command: OperatorCommand) -> Event {
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: at_ns,
            receive_ts_ns: at_ns,
            instrument: InstrumentId::new(0),
            price_scale: 0,
            qty_scale: 0,
            source: 0,
        },
        EventBody::Command { command, arg: 0 },
    )
}
