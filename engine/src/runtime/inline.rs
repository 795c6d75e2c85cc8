//! The chain run inline on the feed thread (`runtime.threads`: `stages = ["signal",
//! "order"]` on the feed thread; [`crate::config::RuntimeConfig::inline_chain`]): for a
//! small box, where a ring hop between the Sequencer and the stages costs more than it
//! buys.
//!
//! ```text
//!   feed thread                                                            feed thread
//!   Sequencer ─ stamp ─► [signal → order] (direct calls) ── output ring ──┬──► OutputTap
//!        └──── input ring ──► journaler ◄─────────────────────────────────┘
//! ```
//!
//! The feed thread stamps an input, publishes it to the input ring (whose only consumer is
//! the journaler), then calls the fused chain on it ([`StageThread::process`], the very
//! code a stage thread runs, so the outputs are the same, byte for byte) and publishes the
//! chain's outputs to the output ring. That ring's consumers are the journaler and the
//! feed thread's own gateway side ([`super::OutputTap`]): the feed loop reads the outputs
//! back in its next round and sends the order requests itself, through the same
//! journal gate and send queue as in any layout ([`super::feed`]), so `before-send` and
//! `immediate` keep their meaning.
//!
//! The feed thread is the output ring's only producer and one of its two consumers, so a
//! publication that waited for room could wait for itself. An input is therefore stamped
//! only when the output ring has room for the most outputs one input can make
//! ([`crate::pipeline::max_outputs_per_event`]); otherwise the offer is refused as a full
//! ring's is ([`super::Offered::Full`], or conflated), and the feed loop drains the outputs
//! before it offers again. The journaler reads both rings on its own and never waits for
//! the feed thread, so room always comes.

use super::probe::{allocations, AllocCounts, WARMUP_EVENTS};
use super::ring::RingProducer;
use super::slot::Slot;
use super::stage_thread::{StageLatencies, StagePart, StageThread};

/// The chain as the feed thread runs it, with the producer of the output ring.
#[derive(Debug)]
pub struct InlineChain {
    stage: StageThread,
    output: RingProducer<Slot>,
    /// Outputs one input may make at most: the room an input needs before it is stamped.
    reserve: usize,
    /// Free slots of the output ring at the last look at its consumers...
    room: usize,
    /// ...and the publications made by then: the room left is `room` minus those made
    /// since. Looking at the consumers' positions costs a cache miss on the journaler's
    /// line, so it is done only when this count says the room may be short.
    published_at_look: u64,
    /// Allocations made on the feed thread inside the chain's calls and the publication of
    /// its outputs (with a registered probe), and the inputs run.
    chain_allocs: u64,
    inputs: u64,
    /// The same reading at warm-up.
    chain_allocs_at_warmup: Option<u64>,
}

/// What the inline chain hands back after the run (as a stage thread does).
#[derive(Debug)]
pub struct InlineRun {
    /// The chain.
    pub part: StagePart,
    /// What was measured: signal and order stage times per input (no hop: there is none).
    /// Its allocation counts are those made inside the chain's calls and the publication
    /// of its outputs, summed from 0 (the feed thread also runs the market, whose
    /// allocations are not the chain's): `at_start` 0, `after_warmup` after the first
    /// [`WARMUP_EVENTS`] inputs, `at_end` at the close. The feed thread's own counts,
    /// everything on it included, are [`super::FeedReport::allocs`].
    pub latencies: StageLatencies,
}

impl InlineChain {
    /// The chain of `stage` (a [`StagePart::Chain`] marked last), publishing to `output`;
    /// `reserve` is [`crate::pipeline::max_outputs_per_event`].
    pub(crate) fn new(stage: StageThread, output: RingProducer<Slot>, reserve: usize) -> Self {
        Self {
            stage,
            output,
            reserve: reserve.max(1),
            room: 0,
            published_at_look: 0,
            chain_allocs: 0,
            inputs: 0,
            chain_allocs_at_warmup: None,
        }
    }

    /// Whether the output ring has room for every output of one more input.
    #[inline]
    pub(crate) fn has_room(&mut self) -> bool {
        let since = self.output.published_count() - self.published_at_look;
        if (self.room as u64).saturating_sub(since) >= self.reserve as u64 {
            return true;
        }
        // `fill` may lag behind the consumers (it over-counts): the room is never
        // over-estimated.
        self.room = self.output.capacity() - self.output.fill();
        self.published_at_look = self.output.published_count();
        self.room >= self.reserve
    }

    /// Runs the chain on `slot` (an input just stamped and published to the input ring) and
    /// publishes its outputs; call it only after [`InlineChain::has_room`] said yes, so that
    /// no publication waits.
    #[inline]
    pub(crate) fn run(&mut self, slot: &Slot) {
        let before = allocations();
        self.stage.process(slot, &mut self.output, slot.ingress_ns);
        if let (Some(b), Some(a)) = (before, allocations()) {
            self.chain_allocs += a.saturating_sub(b);
        }
        self.inputs += 1;
        if self.inputs == WARMUP_EVENTS {
            self.chain_allocs_at_warmup = Some(self.chain_allocs);
        }
    }

    /// Closes the output ring (the journaler and the gateway side read what is left, then
    /// see it closed) and hands back the chain and what was measured.
    pub(crate) fn finish(self) -> InlineRun {
        let Self {
            stage,
            output,
            chain_allocs,
            inputs,
            chain_allocs_at_warmup,
            ..
        } = self;
        drop(output);
        let probed = allocations().is_some();
        let (part, mut latencies) = stage.finish();
        latencies.allocs = AllocCounts {
            at_start: probed.then_some(0),
            after_warmup: chain_allocs_at_warmup.filter(|_| probed),
            at_end: probed.then_some(chain_allocs),
            events: inputs,
        };
        InlineRun { part, latencies }
    }
}
