//! A stage thread: consecutive stages of the chain, fused into direct calls, between an
//! input ring and an output ring.
//!
//! With every stage on one thread ([`StagePart::Chain`]) the thread runs the chain's
//! [`Fused::on_event_with`](crate::stage::Fused::on_event_with), timing each stage. With
//! the chain split over two threads, the signal thread ([`StagePart::Signal`]) sends, for
//! each input, the signal stage's outputs (marked `upstream`) and then the input itself;
//! the order thread ([`StagePart::Order`]) numbers those outputs as chain outputs and then
//! runs the order stage through [`feed_downstream`], the fused chain's own downstream half
//! — the same calls in the same order, so every layout emits the same output stream, byte
//! for byte.
//!
//! Nothing here allocates after construction: the outbox, the scratch buffers and the
//! histograms are sized at start-up.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::event::{Event, EventBody};
use crate::instrument::InstrumentId;
use crate::pipeline::{OrderStage, SignalStage, TradingChain};
use crate::stage::{feed_downstream, Outbox, Stage};

use super::clock::now_ns;
use super::counters::{bump, Counters};
use super::latency::Latency;
use super::probe::AllocCounts;
use super::ring::{RingConsumer, RingProducer};
use super::slot::Slot;

/// The stages one thread runs.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per thread, built once and never moved on the hot path"
)]
pub enum StagePart {
    /// The whole chain.
    Chain(TradingChain),
    /// The signal stage only (first of two threads).
    Signal(SignalStage),
    /// The order stage only (second of two threads).
    Order(OrderStage),
}

impl StagePart {
    /// The order stage, if this part has it (for reports after the run).
    pub fn order_stage(&self) -> Option<&OrderStage> {
        match self {
            StagePart::Chain(c) => Some(&c.downstream),
            StagePart::Order(o) => Some(o),
            StagePart::Signal(_) => None,
        }
    }

    /// The signal stage, if this part has it.
    pub fn signal_stage(&self) -> Option<&SignalStage> {
        match self {
            StagePart::Chain(c) => Some(&c.upstream),
            StagePart::Signal(s) => Some(s),
            StagePart::Order(_) => None,
        }
    }
}

/// What a stage thread measured.
#[derive(Debug, Clone, Default)]
pub struct StageLatencies {
    /// From the slot's publication on the input ring to the start of its processing (the
    /// hop and any queueing).
    pub hop: Latency,
    /// Signal stage time per input (only where this thread runs it).
    pub signal: Latency,
    /// Order stage time per input (all the order stage's calls for one input).
    pub order: Latency,
    /// The fused chain only: signal and order stage time of the inputs that made a new
    /// order (tick-to-order is this, the publication of the outputs and the loop that
    /// reads them back).
    pub chain_to_order: Latency,
    /// Allocations on this thread (with a registered probe).
    pub allocs: AllocCounts,
}

/// A stage thread's state, built on the spawning thread and moved to its own.
#[derive(Debug)]
pub struct StageThread {
    part: StagePart,
    out: Outbox,
    scratch: Vec<Event>,
    pending: Vec<Slot>,
    latencies: StageLatencies,
    counters: Arc<Counters>,
    last: bool,
    instruments: Vec<InstrumentId>,
    processed: u64,
}

/// How often (in inputs) the last stage thread refreshes the live PnL counter.
const PNL_EVERY: u64 = 1024;

impl StageThread {
    /// A thread running `part`; `max_outputs` bounds the outputs of one input (see
    /// [`crate::pipeline::max_outputs_per_event`]); `last` if it publishes the chain's
    /// outputs (and keeps the chain counters).
    pub fn new(
        part: StagePart,
        max_outputs: usize,
        counters: Arc<Counters>,
        last: bool,
        n_instruments: usize,
    ) -> Self {
        Self {
            part,
            out: Outbox::new(max_outputs, 1),
            scratch: Vec::with_capacity(max_outputs),
            pending: Vec::with_capacity(max_outputs),
            latencies: StageLatencies::default(),
            counters,
            last,
            instruments: (0..n_instruments)
                .map(|i| InstrumentId::new(u32::try_from(i).unwrap_or(u32::MAX)))
                .collect(),
            processed: 0,
        }
    }

    /// Numbers the chain's outputs from `sequence` (a resumed run continues its journal's
    /// numbering) instead of 1.
    pub fn with_first_output(mut self, sequence: u64) -> Self {
        self.out = Outbox::new(self.out.capacity(), sequence);
        self
    }

    /// Runs until the input ring is closed and drained, then closes the output ring (by
    /// dropping its producer) and returns the stages and what was measured.
    pub fn run(
        mut self,
        mut input: RingConsumer<Slot>,
        mut output: RingProducer<Slot>,
    ) -> (StagePart, StageLatencies) {
        self.begin();
        while let Ok(n) = input.poll(|slot| {
            self.on_slot(slot, &mut output);
            self.latencies.allocs.event();
        }) {
            if n == 0 {
                input.wait();
            }
        }
        drop(output);
        self.finish()
    }

    /// Starts counting allocations on the calling thread (the one that runs the stages).
    pub fn begin(&mut self) {
        self.latencies.allocs = AllocCounts::start();
    }

    /// Takes the final allocation reading and the last PnL, and hands back the stages and
    /// what was measured.
    pub fn finish(mut self) -> (StagePart, StageLatencies) {
        self.latencies.allocs.end();
        self.refresh_pnl();
        (self.part, self.latencies)
    }

    /// Processes one slot of the input ring.
    pub fn on_slot(&mut self, slot: &Slot, output: &mut RingProducer<Slot>) {
        let t0 = now_ns();
        self.latencies
            .hop
            .record(t0.saturating_sub(slot.published_ns));
        self.process(slot, output, t0);
    }

    /// Runs this thread's stages on `slot` (whose processing started at `t0`) and publishes
    /// what they emit to `output`. The feed thread calls it directly when it runs the whole
    /// chain inline ([`super::inline`]), with no hop to record.
    #[inline]
    pub fn process(&mut self, slot: &Slot, output: &mut RingProducer<Slot>, t0: u64) {
        match &mut self.part {
            StagePart::Chain(chain) => {
                let mut t1 = t0;
                chain.on_event_with(&slot.event, &mut self.out, || t1 = now_ns());
                let t2 = now_ns();
                self.latencies.signal.record(t1 - t0);
                self.latencies.order.record(t2 - t1);
                let new_order = self
                    .out
                    .events()
                    .iter()
                    .any(|e| matches!(e.body, EventBody::OrderNew { .. }));
                publish_all(
                    &mut self.out,
                    slot.ingress_ns,
                    t2,
                    false,
                    output,
                    &self.counters,
                );
                if new_order {
                    self.latencies.chain_to_order.record(t2 - t0);
                }
            }
            StagePart::Signal(signal) => {
                signal.on_event(&slot.event, &mut self.out);
                let t1 = now_ns();
                self.latencies.signal.record(t1 - t0);
                // The upstream outputs first, then the input that caused them.
                publish_all(
                    &mut self.out,
                    slot.ingress_ns,
                    t1,
                    true,
                    output,
                    &self.counters,
                );
                let sent = output.publish(|s| {
                    *s = Slot {
                        published_ns: now_ns(),
                        upstream: false,
                        ..*slot
                    };
                });
                if sent.is_err() {
                    self.counters.chain.lost_outputs.fetch_add(1, Relaxed);
                }
            }
            StagePart::Order(order) => {
                if slot.upstream {
                    if self.pending.len() < self.pending.capacity() {
                        self.pending.push(*slot);
                    } else {
                        debug_assert!(false, "more upstream outputs than max_outputs");
                    }
                    return;
                }
                // As the fused chain: the upstream outputs are chain outputs first...
                let mark = self.out.events().len();
                for u in &self.pending {
                    // A full outbox refuses and counts it (as in the fused chain).
                    let _ = self.out.push_with(u.event);
                }
                self.pending.clear();
                // ...then the order stage sees the input, then each of them.
                feed_downstream(order, &slot.event, &mut self.out, mark, &mut self.scratch);
                let t1 = now_ns();
                self.latencies.order.record(t1 - t0);
                publish_all(
                    &mut self.out,
                    slot.ingress_ns,
                    t1,
                    false,
                    output,
                    &self.counters,
                );
            }
        }
        if self.last && !slot.upstream {
            self.processed += 1;
            bump(&self.counters.chain.inputs);
            if self.processed.is_multiple_of(PNL_EVERY) {
                self.refresh_pnl();
                self.counters
                    .chain
                    .output_ring_fill
                    .store(output.fill() as u64, Relaxed);
            }
        }
    }

    fn refresh_pnl(&self) {
        if !self.last {
            return;
        }
        if let Some(order) = self.part.order_stage() {
            let oms = order.oms();
            let net: i128 = self
                .instruments
                .iter()
                .filter_map(|i| oms.pnl(*i))
                .map(|p| p.net())
                .sum();
            let clamped = i64::try_from(net).unwrap_or(if net < 0 { i64::MIN } else { i64::MAX });
            self.counters.chain.pnl_net.store(clamped, Relaxed);
        }
    }
}

/// Publishes every event of `out` (blocking while the ring is full: outputs are never
/// dropped; only a dead consumer makes a publication fail, and that is counted) and clears
/// it. `published_ns` stamps the batch: the clock reading that ended the stage's work (the
/// events of one input are published back to back right after it).
fn publish_all(
    out: &mut Outbox,
    ingress_ns: u64,
    published_ns: u64,
    upstream: bool,
    ring: &mut RingProducer<Slot>,
    counters: &Counters,
) {
    for e in out.events() {
        let sent = ring.publish(|s| {
            *s = Slot {
                event: *e,
                ingress_ns,
                published_ns,
                upstream,
            };
        });
        if sent.is_err() {
            counters.chain.lost_outputs.fetch_add(1, Relaxed);
        }
    }
    out.clear();
}
