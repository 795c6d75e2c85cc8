//! Live counters of a running engine, written by the threads that own them and read by
//! anyone (the progress line, `tickrail stat` through the memory-mapped stats file).
//!
//! Each group is written by exactly one thread (`Relaxed` stores of values only it
//! changes) and sits on its own cache lines, so writers never share a line. Readers load
//! `Relaxed`: a snapshot is a set of individually current values, not a consistent cut.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::event::RiskCode;

/// Risk codes are 1..=RISK_CODES (index = code).
pub const RISK_CODES: usize = 15;

/// Written by the feed thread.
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub struct FeedCounters {
    /// Inputs the Sequencer published.
    pub inputs: AtomicU64,
    /// Inputs the Sequencer refused (bad price, unknown instrument, time backwards, ...).
    pub input_rejects: AtomicU64,
    /// L1 quotes conflated because the input ring was full.
    pub conflated: AtomicU64,
    /// Times the feed found the input ring full.
    pub ring_full: AtomicU64,
    /// Outputs of the chain seen by the gateway.
    pub outputs: AtomicU64,
    /// Order requests sent (new, cancel, amend).
    pub orders_sent: AtomicU64,
    /// New orders among them.
    pub new_orders: AtomicU64,
    /// Execution reports received.
    pub exec_reports: AtomicU64,
    /// Fills (partial or full) received.
    pub fills: AtomicU64,
    /// Risk rejects by code (index = code).
    pub risk_rejects: [AtomicU64; RISK_CODES],
    /// Requests the venue refused to take.
    pub submit_errors: AtomicU64,
    /// Kill switches thrown.
    pub kill_switches: AtomicU64,
    /// Timer events offered (published or held for a full ring; see [`crate::timers`]).
    pub timers: AtomicU64,
    /// Input ring occupancy (slots), sampled when the feed is idle.
    pub input_ring_fill: AtomicU64,
    /// Tick-to-order p50 / p99 / max so far (ns), refreshed by the feed thread about every
    /// 100 ms while idle.
    pub tick_to_order_ns: [AtomicU64; 3],
}

/// Written by the last stage thread.
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub struct ChainCounters {
    /// Inputs processed.
    pub inputs: AtomicU64,
    /// Net PnL (realised + unrealised − fees), raw price × raw qty, summed over instruments
    /// (saturated to i64).
    pub pnl_net: AtomicI64,
    /// Events a stage thread could not publish because a consumer thread had died (a
    /// broken run; never expected). The one counter with several writers (`fetch_add`).
    pub lost_outputs: AtomicU64,
    /// Output ring occupancy (slots), sampled every 1024 inputs by the last stage thread.
    pub output_ring_fill: AtomicU64,
}

/// Written by the journaler.
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub struct JournalCounters {
    /// Inputs written.
    pub inputs: AtomicU64,
    /// Outputs written.
    pub outputs: AtomicU64,
    /// Highest output sequence written (the gate for `durability = "before-send"`).
    pub output_sequence: AtomicU64,
    /// Payload bytes written.
    pub bytes: AtomicU64,
    /// Non-zero once a journal write failed (the gateway then sends nothing more).
    pub failed: AtomicU64,
}

/// All of a running engine's counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Threads whose pinning to their configured core failed (start-up only; any thread).
    pub pin_failures: AtomicU64,
    /// The feed thread's.
    pub feed: FeedCounters,
    /// The last stage thread's.
    pub chain: ChainCounters,
    /// The journaler's.
    pub journal: JournalCounters,
}

/// Adds one to a counter only this thread writes.
#[inline]
pub fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}

/// Adds `n` to a counter only this thread writes.
#[inline]
pub fn add(c: &AtomicU64, n: u64) {
    c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Reads a counter.
#[inline]
pub fn get(c: &AtomicU64) -> u64 {
    c.load(Relaxed)
}

impl FeedCounters {
    /// Counts a risk reject.
    #[inline]
    pub fn risk_reject(&self, code: RiskCode) {
        if let Some(c) = self.risk_rejects.get(usize::from(code.code())) {
            bump(c);
        }
    }
}
