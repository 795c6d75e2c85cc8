//! The live journaler's cost per record against the journal's own append benchmark, in one
//! process, on the same disk:
//!
//! 1. **In the journaler.** A live run's journaled stream (its inputs and outputs, read
//!    from `--run RUN`, e.g. a `tickrail run --config config/small.toml` run) is put on two
//!    rings exactly as the feed thread and the chain put them, the rings are closed, and the
//!    engine's journaler (`tickrail_engine::runtime::journaler::run`, the code a live run
//!    runs) writes it all into a fresh run directory opened as a live run opens it
//!    (`run_journals::create`: the segments ahead prepared first), on a thread of its own.
//!    Timed from its start to the last record written (watched through its counters from
//!    this thread; the close, with its msync, excluded): ring polls, archive, CRC, append,
//!    the counters and the gate position, per record, with the rings never empty.
//! 2. **journal_bench's append**, for the same 96-byte payload: `JournalWriter::append` of
//!    a fixed payload in a tight loop, segments prepared before timing
//!    (`tickrail_bench::journal_harness::run_size`, as `journal_bench --sizes 96`).
//!
//! ```text
//! tickrail run --config config/small.toml --run-dir /tmp/small-run
//! cargo run --release -p tickrail-bench --bin journaler_bench -- --run /tmp/small-run --repeat 5
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use tickrail_bench::journal_harness::{self, Config as JournalConfig};
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::counters::{get, Counters};
use tickrail_engine::runtime::{clock, journaler, ring, run_journals, Slot, WaitKind};
use tickrail_engine::{decode_event, Event, ARCHIVED_EVENT_BYTES};
use tickrail_journal::JournalReader;

#[derive(Debug, Parser)]
#[command(name = "journaler_bench")]
struct Args {
    /// A live run directory (its `inputs/` and `outputs/` are the stream written).
    #[arg(long)]
    run: PathBuf,
    /// Repetitions; medians are reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

fn read_all(dir: &std::path::Path) -> Result<Vec<Event>> {
    let mut r = JournalReader::open(dir).with_context(|| format!("open {}", dir.display()))?;
    let mut v = Vec::new();
    while let Some(rec) = r.next()? {
        v.push(decode_event(&rec).with_context(|| format!("{}", dir.display()))?);
    }
    Ok(v)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One pass of the journaler over the whole stream; ns per record.
fn journaler_pass(cfg: &EngineConfig, inputs: &[Event], outputs: &[Event]) -> Result<f64> {
    let cap = (inputs.len().max(outputs.len()) + 1).next_power_of_two();
    let (mut in_p, mut in_c) = ring(cap, 1, WaitKind::BusySpin, Slot::empty)?;
    let (mut out_p, mut out_c) = ring(cap, 1, WaitKind::BusySpin, Slot::empty)?;
    for e in inputs {
        in_p.publish(|s| s.event = *e)?;
    }
    for e in outputs {
        out_p.publish(|s| s.event = *e)?;
    }
    drop(in_p);
    drop(out_p);
    let dir = tempfile::tempdir()?;
    let [wi, wo] = run_journals::create(cfg, dir.path(), None)?;
    let counters = Arc::new(Counters::default());
    let (ic, oc) = match (in_c.pop(), out_c.pop()) {
        (Some(i), Some(o)) => (i, o),
        _ => bail!("rings without consumers"),
    };
    // The journaler runs on its own thread; this one watches its counters and stops the
    // clock when the last record is written (the close, with its msync of everything
    // written, comes after and is not the per-record cost).
    let total = (inputs.len() + outputs.len()) as u64;
    let c = counters.clone();
    let t = clock::monotonic();
    let handle = std::thread::spawn(move || journaler::run(ic, oc, wi, wo, c, WaitKind::BusySpin));
    let journal = &counters.journal;
    while get(&journal.inputs) + get(&journal.outputs) < total && !handle.is_finished() {
        // Sleeping, not spinning: the journaler keeps a core to itself (<= 0.1 ms error).
        std::thread::sleep(std::time::Duration::from_micros(100));
    }
    let secs = t.elapsed().as_secs_f64();
    let report = match handle.join() {
        Ok(r) => r,
        Err(_) => bail!("the journaler panicked"),
    };
    if let Some(e) = report.error {
        bail!("journaler: {e}");
    }
    let records = report.inputs + report.outputs;
    ensure!(records == total, "wrote {records} records of {total}");
    Ok(secs * 1e9 / records as f64)
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    let manifest = tickrail_journal::read_manifest(&args.run.join("inputs"))?;
    let cfg = tickrail_engine::runtime::run_files::load(&args.run, &manifest)?
        .context("the run has no config copy")?;
    let inputs = read_all(&args.run.join("inputs"))?;
    let outputs = read_all(&args.run.join("outputs"))?;
    println!(
        "stream: {} inputs + {} outputs of {} ({ARCHIVED_EVENT_BYTES}-byte payloads); \
         journal segments {} MiB",
        inputs.len(),
        outputs.len(),
        args.run.display(),
        cfg.runtime.journal_segment_mib
    );
    let jcfg = JournalConfig {
        dir: std::env::temp_dir(),
        segment_bytes: cfg.runtime.journal_segment_mib * 1024 * 1024,
        events: Some((inputs.len() + outputs.len()) as u64),
        pin: false,
    };
    let (mut ours, mut bench) = (vec![], vec![]);
    for rep in 1..=args.repeat {
        let ns = journaler_pass(&cfg, &inputs, &outputs)?;
        let root = tempfile::tempdir()?;
        let r = journal_harness::run_size(&jcfg, root.path(), ARCHIVED_EVENT_BYTES)?;
        let append_ns = r.ours_append.elapsed.as_secs_f64() * 1e9 / r.ours_append.events as f64;
        println!(
            "rep {rep}: journaler {ns:.1} ns/record; journal_bench append {append_ns:.1} \
             ns/record; ratio {:.2}x",
            ns / append_ns
        );
        ours.push(ns);
        bench.push(append_ns);
    }
    let (o, b) = (median(&mut ours), median(&mut bench));
    println!();
    println!("| what | ns per record (median of {}) |", args.repeat);
    println!("|---|---:|");
    println!("| live journaler (rings → both journals, gate) | {o:.1} |");
    println!("| journal_bench append, {ARCHIVED_EVENT_BYTES} B, segments prepared | {b:.1} |");
    println!(
        "| ratio | {:.2}x (target <= 1.5x): {} |",
        o / b,
        if o / b <= 1.5 { "PASS" } else { "FAIL" }
    );
    Ok(())
}
