//! The shadow chain: snapshots written without stalling the hot threads (the LMAX way).
//!
//! A cold thread follows the run's input journal as the journaler writes it, drives its own
//! copy of the chain (and of the Sequencer's state) over every input, and every
//! `runtime.snapshot_every_inputs` inputs writes a snapshot ([`super::snapshot_file`]). When the
//! run stops it drains the journal to its end and writes a last snapshot there, so a clean
//! stop always leaves one at the journal's end. The hot threads never wait for it: it only
//! reads the memory-mapped journal. Its cost is CPU (one more replay of the inputs), which
//! on a machine with fewer cores than threads is shared with them; `docs/BENCHMARKS.md`
//! measures the effect on tick-to-order.
//!
//! Only the newest [`KEEP`] snapshots are kept.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::config::EngineConfig;
use crate::pipeline::snapshot::{decode_chain_into, encode_chain};
use crate::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use crate::sequencer::Sequencer;
use crate::stage::{Outbox, Stage};
use crate::{decode_event, Event};
use tickrail_journal::JournalReader;

use crate::runtime::snapshot_file::{list_snapshots, write_snapshot, SnapshotMeta};

/// Snapshots kept per run (older ones are removed after a new one is written).
pub const KEEP: usize = 3;

/// How long the shadow sleeps when it has caught up with the journal.
const IDLE: Duration = Duration::from_millis(2);

/// Where the shadow chain starts: the state after input `next_input - 1`.
#[derive(Debug)]
pub struct ShadowStart {
    /// The chain (a copy: the shadow owns it).
    pub chain: TradingChain,
    /// The Sequencer's state.
    pub sequencer: Sequencer,
    /// The first input to follow.
    pub next_input: u64,
    /// The next output sequence.
    pub next_output: u64,
}

impl ShadowStart {
    /// A fresh run: a new chain at input 1.
    pub fn fresh(cfg: &EngineConfig) -> Result<Self, String> {
        let mut sequencer = Sequencer::new(1, cfg.instruments.len());
        for v in &cfg.venues {
            sequencer.register_source(v.id);
        }
        Ok(Self {
            chain: build_chain(cfg, BookSizing::default()).map_err(|e| e.to_string())?,
            sequencer,
            next_input: 1,
            next_output: 1,
        })
    }

    /// A copy of a recovered chain (through its snapshot encoding: the model is rebuilt
    /// from `cfg`).
    pub fn copy_of(
        cfg: &EngineConfig,
        chain: &TradingChain,
        sequencer: &Sequencer,
        next_output: u64,
    ) -> Result<Self, String> {
        let mut copy = build_chain(cfg, BookSizing::default()).map_err(|e| e.to_string())?;
        decode_chain_into(&mut copy, &encode_chain(chain)).map_err(|e| e.to_string())?;
        Ok(Self {
            chain: copy,
            sequencer: sequencer.clone(),
            next_input: sequencer.next_sequence(),
            next_output,
        })
    }
}

/// What the shadow did.
#[derive(Debug, Clone, Default)]
pub struct ShadowReport {
    /// Inputs it followed.
    pub inputs: u64,
    /// Snapshots written, the last one's path.
    pub snapshots: u64,
    /// The newest snapshot.
    pub last: Option<PathBuf>,
    /// Time spent writing snapshots (encode, write, fsync), ns, and the longest one.
    pub write_ns: u64,
    /// The longest single snapshot write, ns.
    pub write_ns_max: u64,
    /// The first error (the shadow stops at it; the run goes on).
    pub error: Option<String>,
}

/// The running shadow thread.
#[derive(Debug)]
pub struct Shadow {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<ShadowReport>>,
}

impl Shadow {
    /// Starts following `run_dir/inputs` from `start`, writing a snapshot every `every`
    /// inputs (and one at the end).
    pub fn start(
        cfg: EngineConfig,
        run_dir: &Path,
        every: u64,
        start: ShadowStart,
    ) -> Result<Self, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let dir = run_dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("snapshot".into())
            .spawn(move || {
                let mut report = ShadowReport::default();
                if let Err(e) = follow(&cfg, &dir, every, start, &flag, &mut report) {
                    report.error = Some(e);
                }
                report
            })
            .map_err(|e| format!("spawn the snapshot thread: {e}"))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Call once the journals are closed: the shadow reads to their end, writes the last
    /// snapshot and stops.
    pub fn finish(mut self) -> ShadowReport {
        self.stop.store(true, Ordering::Release);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => ShadowReport {
                error: Some("the snapshot thread panicked".into()),
                ..Default::default()
            },
            None => ShadowReport::default(),
        }
    }
}

impl Drop for Shadow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn follow(
    cfg: &EngineConfig,
    run_dir: &Path,
    every: u64,
    start: ShadowStart,
    stop: &AtomicBool,
    report: &mut ShadowReport,
) -> Result<(), String> {
    let dir = run_dir.join("inputs");
    let ShadowStart {
        mut chain,
        mut sequencer,
        next_input,
        next_output,
    } = start;
    let mut reader = JournalReader::open(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    reader
        .seek(next_input)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut out = Outbox::new(max_outputs_per_event(cfg), next_output);
    let mut last: Option<Event> = None;
    let mut snapped = next_input.saturating_sub(1);
    loop {
        // Read the stop flag before reading: once set, the journals are closed, so the
        // reader's end is the journal's end.
        let stopping = stop.load(Ordering::Acquire);
        let record = reader
            .next()
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        let Some(record) = record else {
            if stopping {
                break;
            }
            std::thread::sleep(IDLE);
            continue;
        };
        let input = decode_event(&record).map_err(|e| format!("{}: {e}", dir.display()))?;
        chain.on_event(&input, &mut out);
        out.clear();
        sequencer.observe(&input);
        report.inputs += 1;
        let seq = input.header.sequence;
        last = Some(input);
        if every > 0 && seq % every == 0 {
            snapshot(cfg, run_dir, &chain, &sequencer, &out, &input, report)?;
            snapped = seq;
        }
    }
    if let Some(input) = last.filter(|l| l.header.sequence > snapped) {
        snapshot(cfg, run_dir, &chain, &sequencer, &out, &input, report)?;
    }
    Ok(())
}

fn snapshot(
    cfg: &EngineConfig,
    run_dir: &Path,
    chain: &TradingChain,
    sequencer: &Sequencer,
    out: &Outbox,
    input: &Event,
    report: &mut ShadowReport,
) -> Result<(), String> {
    let t0 = crate::runtime::clock::now_ns();
    let meta = SnapshotMeta::new(
        cfg,
        input.header.sequence,
        out.next_sequence(),
        input.header.receive_ts_ns,
    );
    let path = write_snapshot(run_dir, &meta, chain, sequencer).map_err(|e| e.to_string())?;
    let ns = crate::runtime::clock::now_ns().saturating_sub(t0);
    report.write_ns += ns;
    report.write_ns_max = report.write_ns_max.max(ns);
    report.snapshots += 1;
    report.last = Some(path);
    if let Ok(all) = list_snapshots(run_dir) {
        for (_, old) in all.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
    }
    Ok(())
}
