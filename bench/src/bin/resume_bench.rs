//! Time to resume a run against its journal's size: `tickrail_replay::resume::recover` on a
//! run of N inputs, beside the floors it is made of, measured in the same process.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin resume_bench -- --inputs 1000000 --inputs 10000000
//! ```
//!
//! For each N: a live run of the built-in config (synthetic market, `pace = "max"`, the
//! fused layout) is stopped once N inputs are in, then (repeated, median):
//! - `recover`: the whole resume up to the point the threads would start (integrity check
//!   of both journals, open with recovery, replay of every input with every output compared,
//!   resume marks);
//! - `check`: the integrity check alone (`tickrail_journal::verify` of both journals);
//! - `replay`: the verified replay alone (`tickrail_replay::verify_run`);
//! - `decode`: the floor — every input record read and decoded, no chain.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Parser;
use tickrail_bench::clock;
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::counters::get;
use tickrail_journal::JournalReader;
use tickrail_replay::{run_live, LiveControl};

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
}

/// The built-in config, as fast as it goes, for a session long enough for any N.
fn config() -> Result<EngineConfig> {
    let text = include_str!("../../../config/default.toml")
        .replace(
            "duration_ns = 10_000_000_000",
            "duration_ns = 36_000_000_000_000",
        )
        .replace("pace = \"realtime\"", "pace = \"max\"")
        .replace("progress_interval_ms = 1000", "progress_interval_ms = 50");
    let origin = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/resume-bench.toml");
    Ok(EngineConfig::from_toml_str(&text, origin)?)
}

/// A live run stopped once `n` inputs are in; returns the inputs journaled.
fn make_run(cfg: &EngineConfig, dir: &Path, n: u64) -> Result<u64> {
    let control = Arc::new(LiveControl::default());
    let stop = control.clone();
    let report = run_live(cfg, dir, control, |c| {
        if get(&c.journal.inputs) >= n {
            stop.stop.store(true, Ordering::Release);
        }
    })?;
    Ok(report.engine.journal.inputs)
}

fn median_ms(mut f: impl FnMut() -> Result<()>, repeat: usize) -> Result<f64> {
    let mut v = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t0 = clock::now();
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
    let cfg = config()?;
    let tmp = tempfile::tempdir()?;
    let root = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    println!("{}", machine_line(clock::unix_seconds()));
    println!(
        "{:>10} {:>9} {:>10} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "inputs", "MiB", "recover", "check", "replay", "decode", "recover/s", "÷decode"
    );
    for &n in &args.inputs {
        let run = root.join(format!("run-{n}"));
        let _ = std::fs::remove_dir_all(&run);
        let inputs = make_run(&cfg, &run, n).context("making the run")?;
        let mib = (dir_bytes(&run.join("inputs")) + dir_bytes(&run.join("outputs"))) as f64
            / (1024.0 * 1024.0);
        let recover = median_ms(
            || {
                let r = tickrail_replay::resume::recover(&cfg, &run)?;
                drop(r);
                Ok(())
            },
            args.repeat,
        )?;
        let check = median_ms(
            || Ok(tickrail_replay::resume::check_journals(&run)?),
            args.repeat,
        )?;
        let replay = median_ms(
            || {
                let v = tickrail_replay::verify_run(&cfg, &run)?;
                anyhow::ensure!(
                    matches!(v, tickrail_replay::Verdict::Identical { .. }),
                    "{v:?}"
                );
                Ok(())
            },
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
            "{:>10} {:>9.0} {:>8.0}ms {:>8.0}ms {:>8.0}ms {:>8.0}ms {:>10.2}M/s {:>7.1}×",
            inputs,
            mib,
            recover,
            check,
            replay,
            decode,
            inputs as f64 / recover / 1e3,
            recover / decode
        );
        if args.dir.is_none() {
            let _ = std::fs::remove_dir_all(&run);
        }
    }
    Ok(())
}
