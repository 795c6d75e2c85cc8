//! The journaler: a parallel consumer of the input ring and of the output ring that writes
//! every input to the run's input journal and every output to its output journal.
//!
//! Two journals, because each has one sequence stream that never decreases: inputs carry
//! the Sequencer's sequence, outputs the chain's output sequence (and `cause_sequence`
//! linking each to its input). A replay reads the first and compares with the second.
//!
//! After writing outputs it publishes the highest output sequence written
//! ([`super::counters::JournalCounters::output_sequence`], `Release`): with
//! `durability = "before-send"` the gateway sends an order only once that position has
//! reached it (`Acquire`), so nothing leaves the box before it — and its cause — is in the
//! journal: each round takes what the output ring holds, writes what the input ring holds
//! (by then the cause of every output taken), then writes the outputs taken and only then
//! publishes the position — so the input journal never lacks the cause of a journaled
//! output, even after a crash. A write error is fatal:
//! the journaler sets `failed`, stops writing and drains the rings so nothing upstream
//! stalls; the gateway sends nothing more.

use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::Arc;

use tickrail_journal::{JournalWriter, WriterStats};

use crate::codec::{append_event, ARCHIVED_EVENT_BYTES};
use crate::event::Event;

use super::counters::{add, bump, Counters};
use super::probe::AllocCounts;
use super::ring::RingConsumer;
use super::slot::Slot;
use super::wait::{Idle, WaitKind};

/// What the journaler did.
#[derive(Debug)]
pub struct JournalReport {
    /// Inputs written.
    pub inputs: u64,
    /// Outputs written.
    pub outputs: u64,
    /// The first write error, if any (then nothing after it was written).
    pub error: Option<String>,
    /// The input writer's statistics at close.
    pub input_stats: WriterStats,
    /// The output writer's statistics at close.
    pub output_stats: WriterStats,
    /// Allocations on the journaler thread (with a registered probe).
    pub allocs: AllocCounts,
}

/// Runs until both rings are closed and drained, then closes both journals. `wait` is the
/// journal thread's own wait when both rings are empty, an [`Idle`] of that kind: spin,
/// yield, or for `block` a few yields and then short sleeps
/// ([`IDLE_BLOCK_SLEEP`](super::wait::IDLE_BLOCK_SLEEP)). It reads two rings, so it cannot
/// park on one ring's notifier; the bounded sleep keeps it off its core (shared with the
/// feed thread on small machines) at the cost of up to that much journal lag.
pub fn run(
    mut inputs: RingConsumer<Slot>,
    mut outputs: RingConsumer<Slot>,
    mut input_journal: JournalWriter,
    mut output_journal: JournalWriter,
    counters: Arc<Counters>,
    wait: WaitKind,
) -> JournalReport {
    let c = &counters.journal;
    let mut allocs = AllocCounts::start();
    let mut error: Option<String> = None;
    let (mut n_in, mut n_out) = (0u64, 0u64);
    let (mut in_open, mut out_open) = (true, true);
    let mut idle = Idle::new(wait);
    // The outputs taken in a round, written after that round's inputs; room for a full
    // ring, reserved at start-up, so a round never allocates.
    let mut held: Vec<Event> = Vec::with_capacity(outputs.capacity());
    while in_open || out_open {
        let mut did = 0usize;
        // Outputs are taken first, inputs are then written, and the outputs taken are
        // written last, followed by the gate position: an output's cause was published
        // before the output was, so the inputs polled after taking it include its cause.
        // The input journal therefore always holds the cause of every journaled output
        // (a crash leaves at most outputs missing, never an output without its cause),
        // and the gate opens for an order only once it and its cause are written.
        held.clear();
        if out_open {
            match outputs.poll_up_to(held.capacity(), |slot| held.push(slot.event)) {
                Ok(n) => did += n,
                Err(_) => out_open = false,
            }
        }
        if in_open {
            match inputs.poll(|slot| {
                if error.is_none() {
                    match append_event(&mut input_journal, &slot.event) {
                        Ok(_) => {
                            allocs.event();
                            n_in += 1;
                            bump(&c.inputs);
                            add(&c.bytes, ARCHIVED_EVENT_BYTES as u64);
                        }
                        Err(e) => error = Some(format!("input journal: {e}")),
                    }
                }
            }) {
                Ok(n) => did += n,
                Err(_) => in_open = false,
            }
        }
        let mut last = None;
        for event in &held {
            if error.is_some() {
                break;
            }
            match append_event(&mut output_journal, event) {
                Ok(_) => {
                    allocs.event();
                    n_out += 1;
                    bump(&c.outputs);
                    add(&c.bytes, ARCHIVED_EVENT_BYTES as u64);
                    last = Some(event.header.sequence);
                }
                Err(e) => error = Some(format!("output journal: {e}")),
            }
        }
        if let (Some(seq), None) = (last, &error) {
            c.output_sequence.store(seq, Release);
        }
        if error.is_some() && c.failed.load(Relaxed) == 0 {
            c.failed.store(1, Release);
        }
        if did == 0 {
            idle.idle();
        } else {
            idle.reset();
        }
    }
    allocs.end();
    let input_stats = input_journal.stats();
    let output_stats = output_journal.stats();
    for (name, mut w) in [("input", input_journal), ("output", output_journal)] {
        // The run closed: a crash leaves no such mark, so `replay --verify` can tell a
        // journal that ends early (a crash tail) from outputs that went missing.
        if error.is_none() {
            let mark = super::run_files::mark(w.manifest(), "close");
            if let Err(e) = w.append_mark(&mark) {
                error = Some(format!("{name} journal: close mark: {e}"));
            }
        }
        if let Err(e) = w.close() {
            error.get_or_insert_with(|| format!("{name} journal: close: {e}"));
        }
    }
    JournalReport {
        inputs: n_in,
        outputs: n_out,
        error,
        input_stats,
        output_stats,
        allocs,
    }
}
