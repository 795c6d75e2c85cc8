//! Time to resume a run against its journal's size, with and without a snapshot, the cost
//! of writing snapshots, and their effect on tick-to-order — measured in one process.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin resume_bench -- --inputs 1000000 --inputs 10000000
//! cargo run --release -p tickrail-bench --bin resume_bench -- --inputs 0 --tick-to-order
//! ```
//!
//! For each N: a live run of the built-in config (synthetic market, `pace = "max"`, the
//! fused layout, a snapshot every 1 M inputs) is stopped once N + 0.5 M inputs are in. The
//! snapshot the stop wrote at the journal's end is removed, as after a crash: the newest one
//! left is 0.5 M inputs behind the end. Then (repeated, median):
//! - `from snapshot`: `tickrail_replay::resume::recover` — integrity check of both journals,
//!   open with recovery, the newest snapshot loaded, the 0.5 M inputs after it re-driven with
//!   every output compared, resume marks;
//! - `full replay`: the same with the snapshots moved away: every input re-driven;
//! - `check`: the integrity check alone (`tickrail_journal::verify` of both journals);
//! - `decode`: the floor — every input record read and decoded, no chain.
//!
//! Snapshot writes: the snapshot thread's count, mean and longest write (encode, write,
//! fsync). `--tick-to-order`: the built-in config as `tickrail run` runs it (realtime, 10 s),
//! once without snapshots and once with one every 20,000 inputs; tick-to-order percentiles
//! of both.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::counters::get;
use tickrail_engine::runtime::{LiveControl, LiveReport};
use tickrail_gateways::live::{run_live, MarketReport};
use tickrail_journal::JournalReader;

#[derive(Debug, Parser)]
#[command(name = "resume_bench")]
struct Args {
    /// Journal sizes to measure, in inputs (repeat the flag).
    #[arg(long = "inputs", default_values_t = vec![1_000_000u64])]
    inputs: Vec<u64>,
    /// Repetitions of each timing; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Where the runs go (default: a temporary directory, removed at the end).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also measure tick-to-order without and with snapshots.
    #[arg(long)]
    tick_to_order: bool,
}

/// The built-in config, as fast as it goes, for a session long enough for any N.
fn fast_config() -> Result<EngineConfig> {
    let text = include_str!("../../../config/default.toml")
        .replace(
            "duration_ns = 10_000_000_000",
            "duration_ns = 36_000_000_000_000",
        )
        .replace("pace = \"realtime\"", "pace = \"max\"")
        .replace(
            "progress_interval_ms = 1000",
            "progress_interval_ms = 50\nsnapshot_every_inputs = 1_000_000",
        );
    let origin = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/resume-bench.toml");
    Ok(EngineConfig::from_toml_str(&text, origin)?)
}

/// The built-in config as `tickrail run` runs it, with snapshots every `every` inputs.
fn realtime_config(every: u64) -> Result<EngineConfig> {
    let text = include_str!("../../../config/default.toml").replace(
        "progress_interval_ms = 1000",
        &format!("progress_interval_ms = 0\nsnapshot_every_inputs = {every}"),
    );
    let origin = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/resume-bench.toml");
    Ok(EngineConfig::from_toml_str(&text, origin)?)
}

/// A live run stopped once `n` inputs are in.
fn make_run(cfg: &EngineConfig, dir: &Path, n: u64) -> Result<LiveReport<MarketReport>> {
    let control = Arc::new(LiveControl::default());
    let stop = control.clone();
    Ok(run_live(cfg, dir, control, |c| {
        if get(&c.journal.inputs) >= n {
            stop.stop.store(true, Ordering::Release);
        }
    })?)
}

fn snapshot_line(r: &LiveReport<MarketReport>) -> String {
    match &r.snapshots {
        Some(s) if s.snapshots > 0 => format!(
            "{} snapshots written, mean {:.2} ms, longest {:.2} ms{}",
            s.snapshots,
            s.write_ns as f64 / s.snapshots as f64 / 1e6,
            s.write_ns_max as f64 / 1e6,
            s.last
                .as_ref()
                .and_then(|p| std::fs::metadata(p).ok())
                .map_or(String::new(), |m| format!(", {} bytes each", m.len()))
        ),
        Some(s) => format!(
            "no snapshot written ({})",
            s.error.as_deref().unwrap_or("no error recorded")
        ),
        None => "snapshots off".into(),
    }
}

fn median_ms(mut f: impl FnMut() -> Result<()>, repeat: usize) -> Result<f64> {
    let mut v = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t0 = clock::monotonic();
        f()?;
        v.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    v.sort_by(f64::total_cmp);
    Ok(v[v.len() / 2])
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let cfg = fast_config()?;
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!("{}", machine_line(clock::unix_seconds()));
    for &n in args.inputs.iter().filter(|&&n| n > 0) {
        let run = root.join(format!("run-{n}"));
        let _ = std::fs::remove_dir_all(&run);
        let report = make_run(&cfg, &run, n + 500_000).context("making the run")?;
        let inputs = report.engine.journal.inputs;
        let mib = (dir_bytes(&run.join("inputs")) + dir_bytes(&run.join("outputs"))) as f64
            / (1024.0 * 1024.0);
        println!(
            "\n{inputs} inputs, {mib:.0} MiB of journals; {}",
            snapshot_line(&report)
        );
        // As after a crash: no snapshot at the journal's end.
        let snaps = tickrail_engine::runtime::snapshot_file::list_snapshots(&run)?;
        if let Some((seq, path)) = snaps.first() {
            if *seq == inputs {
                std::fs::remove_file(path)?;
            }
        }
        let newest = tickrail_engine::runtime::snapshot_file::list_snapshots(&run)?
            .first()
            .map_or(0, |(s, _)| *s);
        let mut redriven = 0;
        let from_snapshot = median_ms(
            || {
                let r = tickrail_replay::resume::recover(&cfg, &run)?;
                redriven = r.summary.inputs;
                Ok(())
            },
            args.repeat,
        )?;
        let snapdir = tickrail_engine::runtime::snapshot_file::snapshot_dir(&run);
        let away = run.join("snapshots.away");
        std::fs::rename(&snapdir, &away)?;
        let full = median_ms(
            || {
                tickrail_replay::resume::recover(&cfg, &run)?;
                Ok(())
            },
            args.repeat,
        )?;
        std::fs::rename(&away, &snapdir)?;
        let check = median_ms(
            || Ok(tickrail_replay::resume::check_journals(&run)?),
            args.repeat,
        )?;
        let decode = median_ms(
            || {
                let dir = run.join("inputs");
                let mut r = JournalReader::open(&dir)?;
                let mut k = 0u64;
                while let Some(rec) = r.next()? {
                    let e = tickrail_engine::decode_event(&rec)?;
                    k += e.header.sequence & 1;
                }
                std::hint::black_box(k);
                Ok(())
            },
            args.repeat,
        )?;
        println!(
            "resume from the snapshot after input {newest} ({redriven} inputs re-driven): \
             {from_snapshot:.0} ms; full replay: {full:.0} ms ({:.2} M inputs/s); integrity \
             check alone: {check:.0} ms; decode floor: {decode:.0} ms (full replay {:.1}× it)",
            inputs as f64 / full / 1e3,
            full / decode
        );
        if args.dir.is_none() {
            let _ = std::fs::remove_dir_all(&run);
        }
    }
    if args.tick_to_order {
        println!("\ntick-to-order, the built-in config (realtime, 10 s):");
        println!(
            "{:>22} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "", "p50", "p99", "p99.9", "p99.99", "max"
        );
        for every in [0u64, 20_000] {
            let dir = root.join(format!("t2o-{every}"));
            let _ = std::fs::remove_dir_all(&dir);
            let r = make_run(&realtime_config(every)?, &dir, u64::MAX)?;
            let [p50, p99, p999, p9999, max] = r.feed.tick_to_order.percentiles();
            let us = |v: u64| format!("{:.1}µs", v as f64 / 1e3);
            println!(
                "{:>22} {:>9} {:>9} {:>9} {:>9} {:>9}   {}",
                if every == 0 {
                    "no snapshots".to_owned()
                } else {
                    format!("snapshot every {every}")
                },
                us(p50),
                us(p99),
                us(p999),
                us(p9999),
                us(max),
                snapshot_line(&r)
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(())
}
