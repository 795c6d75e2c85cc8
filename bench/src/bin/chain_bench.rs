//! The chain benchmark: the backtest's single-thread loop — historical venue, Runner,
//! Sequencer and the config's fused chain — per input, on data decoded into memory first,
//! output journaling off; and the split of that time by part.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin chain_bench -- \
//!     --config config/backtest-binance.toml \
//!     --data gateways/samples/binance/spot_btcusdt_20240808.gz \
//!            gateways/samples/binance/usdm_ethusdt_20240808.gz \
//!     [--repeat 5] [--pin] [--loop-only]
//! ```
//!
//! Prints a machine line, the workload, one line per repetition (the whole loop's mean ns
//! per input and per data event; unless `--loop-only`, each part's mean) and the table of
//! medians with ranges. Every repetition runs the whole loop into a digest sink (the FNV-1a
//! of every input's and output's archived bytes, untimed) and checks the digest is the
//! same each time; the digest is printed, so two builds can be checked to do the same work.
//! Method: `chain_harness` (module docs).

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::chain_harness::{self as h, DigestSink};
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::clock;
use tickrail_replay::backtest_job::{DataFormat, DataSpec};

#[derive(Debug, Parser)]
#[command(name = "chain_bench")]
struct Args {
    /// The engine config.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/backtest-binance.toml"))]
    config: PathBuf,
    /// Data files (merged by receive time).
    #[arg(long, num_args = 1.., default_values = [
        concat!(env!("CARGO_MANIFEST_DIR"), "/../gateways/samples/binance/spot_btcusdt_20240808.gz"),
        concat!(env!("CARGO_MANIFEST_DIR"), "/../gateways/samples/binance/usdm_ethusdt_20240808.gz"),
    ])]
    data: Vec<PathBuf>,
    /// Format (default: from the file names).
    #[arg(long)]
    format: Option<String>,
    /// Repetitions; the median is reported with the range.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Pin the measuring thread to the last core.
    #[arg(long)]
    pin: bool,
    /// Time the whole loop only (no per-part split): for profiling.
    #[arg(long)]
    loop_only: bool,
    /// Extra untimed-loop runs per repetition (profiling: more samples of the loop).
    #[arg(long, default_value_t = 0)]
    extra_loops: usize,
}

fn median_range(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0], s[s.len() - 1])
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    let cfg = EngineConfig::load(&args.config)?;
    if args.pin {
        let cores = core_affinity::get_core_ids().context("list cores")?;
        let last = *cores.last().context("no cores")?;
        ensure!(core_affinity::set_for_current(last), "pin to {last:?}");
    }
    let data = DataSpec {
        files: args.data.clone(),
        format: args
            .format
            .as_deref()
            .map(|f| DataFormat::from_name(f).context("--format"))
            .transpose()?,
        definitions: None,
        itch_date: None,
    };
    let t = clock::monotonic();
    let w = h::load(&cfg, &data)?;
    println!(
        "config: {}; {} data events from {} file(s) decoded in {:.2} s (untimed); pinned: {}",
        cfg.file,
        w.data_events(),
        args.data.len(),
        t.elapsed().as_secs_f64(),
        args.pin
    );
    let rec = if args.loop_only {
        None
    } else {
        let rec = h::record(&cfg, &w)?;
        tickrail_bench::stage_harness::verify_replay(&cfg, &rec.recording)?;
        Some(rec)
    };
    let mut digest = None;
    let mut loop_ns = vec![];
    let mut loop_ns_data = vec![];
    let mut parts: Vec<(&'static str, Vec<f64>)> = vec![];
    let mut inputs = 0;
    for rep in 1..=args.repeat {
        let mut d = DigestSink::default();
        let (_, s) = h::run_loop(&cfg, &w, &mut d)?;
        ensure!(
            *digest.get_or_insert(d.digest) == d.digest,
            "the digest changed between repetitions"
        );
        for _ in 0..args.extra_loops {
            h::measure_loop(&cfg, &w)?;
        }
        let (elapsed, summary) = h::measure_loop(&cfg, &w)?;
        ensure!(summary == s, "the timed run differs from the digest run");
        inputs = summary.inputs;
        let per_input = elapsed.as_nanos() as f64 / summary.inputs as f64;
        let per_data = elapsed.as_nanos() as f64 / w.data_events() as f64;
        loop_ns.push(per_input);
        loop_ns_data.push(per_data);
        let mut line = format!(
            "rep {rep}: loop {:.1} ns/input, {:.1} ns/data event ({:.3} s; {} inputs, {} outputs, {} timers)",
            per_input,
            per_data,
            elapsed.as_secs_f64(),
            summary.inputs,
            summary.outputs,
            summary.timers,
        );
        if let Some(rec) = &rec {
            let split = h::split(&cfg, &w, rec)?;
            for (k, (name, m)) in split.rows.iter().enumerate() {
                // Every part is reported per chain input (the venue's row too).
                let ns = m.elapsed.as_nanos() as f64 / summary.inputs as f64;
                if parts.len() <= k {
                    parts.push((name, vec![]));
                }
                parts[k].1.push(ns);
                line.push_str(&format!("; {name} {ns:.1}"));
            }
        }
        println!("{line}");
    }
    println!(
        "digest of every input and output (archived bytes, FNV-1a): {:016x}",
        digest.unwrap_or(0)
    );
    println!();
    println!("| part | ns per input (median of {}, range) |", args.repeat);
    println!("|---|---:|");
    let (m, lo, hi) = median_range(&loop_ns);
    println!("| **whole loop** (venue + Runner + Sequencer + chain), {inputs} inputs | **{m:.1}** ({lo:.1}–{hi:.1}) |");
    let (m2, lo2, hi2) = median_range(&loop_ns_data);
    println!(
        "| whole loop per data event ({}) | {m2:.1} ({lo2:.1}–{hi2:.1}) |",
        w.data_events()
    );
    let mut med = std::collections::HashMap::new();
    for (name, v) in &parts {
        let (m, lo, hi) = median_range(v);
        med.insert(*name, m);
        println!("| {name} | {m:.1} ({lo:.1}–{hi:.1}) |");
    }
    if !parts.is_empty() {
        let g = |k: &str| med.get(k).copied().unwrap_or(f64::NAN);
        let books = g("books, one pass (venue x instrument)");
        let bf = g("books + features");
        println!(
            "| derived: features (books + features − books) | {:.1} |",
            bf - books
        );
        println!(
            "| derived: model + signal emission (SignalStage − books + features) | {:.1} |",
            g("SignalStage (books, features, model)") - bf
        );
        println!(
            "| derived: strategy + router + risk + OMS (OrderStage − one book pass) | {:.1} |",
            g("OrderStage (books, strategy, router, risk, OMS)") - books
        );
        println!(
            "| derived: Runner overhead (loop − venue − Sequencer − fused chain) | {:.1} |",
            m - g("historical venue") - g("Sequencer") - g("fused chain")
        );
        println!();
        println!("Per-part rows time each part alone over the recorded run (fresh state, one clock pair around the loop); the chain applies every book event twice (signal stage, order stage) and the venue once more. Parts alone run with warmer caches than inside the loop, so the derived Runner overhead also holds the loop's extra cache misses.");
    }
    Ok(())
}
