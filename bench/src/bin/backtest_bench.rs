//! Backtest throughput: `tickrail_replay::backtest_job::run_backtest` — data files → adapter
//! → historical venue → Sequencer → the config's chain on one thread, journaling every input
//! and output, report collected — timed end to end, with the process's peak RSS.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin backtest_bench -- \
//!     --config config/backtest-binance.toml --data gateways/samples/binance/spot_btcusdt_20240808.gz \
//!     [--itch-date 2019-12-30] [--repeat 3]
//! ```
//!
//! Rows per repetition: events/s (the data's events, the unit of the issue's target), engine
//! inputs/s (events + our execution reports + timers, what the Sequencer stamped), and three
//! floors on the same files in the same process: reading (and for `.gz` inflating) the files
//! with nothing decoded, the adapters alone (the merged feed drained, no engine) and the
//! engine without journaling (a null sink). Then the same data imported once
//! (`tickrail_replay::import`, timed: the import's events/s against the adapters') and
//! backtested from the imported journal, with its outputs journaled and without: the cost
//! per input of the chain and the historical venue alone (no adapters), journal off and
//! outputs journaled. "Drive loop" is the backtest's own wall time (its report's `wall_s`:
//! market, Sequencer, chain, sink), without opening and closing the journals; the whole
//! call is shown too. (The journal's cost per record inside the backtest is not the
//! difference of two runs' loops — on a shared VM that is mostly noise — but comes from
//! `perf`, see docs/BENCHMARKS.md; the live journaler's from `journaler_bench`.) Peak RSS
//! is the process's `VmHWM` after all repetitions: run the binary once per data set to
//! compare sizes (the figure then belongs to that data set alone).

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::clock;
use tickrail_gateways::feed::FeedSource;
use tickrail_replay::backtest_job::{
    open_feed, run_backtest, run_backtest_unjournaled, DataFormat, DataSpec, JobOptions,
};
use tickrail_replay::import::{import, ImportOptions};

#[derive(Debug, Parser)]
#[command(name = "backtest_bench")]
struct Args {
    /// The engine config (instruments named as in the data).
    #[arg(long)]
    config: PathBuf,
    /// Data files (merged by receive time).
    #[arg(long, required = true, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Format (default: from the file names).
    #[arg(long)]
    format: Option<String>,
    /// ITCH trading date, YYYY-MM-DD.
    #[arg(long)]
    itch_date: Option<String>,
    /// Repetitions; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The process's peak resident set, KiB (`VmHWM`).
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    let cfg = EngineConfig::load(&args.config)?;
    let itch_date = args
        .itch_date
        .as_deref()
        .map(|d| -> Result<(i32, u32, u32)> {
            let p: Vec<&str> = d.split('-').collect();
            ensure!(p.len() == 3, "--itch-date YYYY-MM-DD");
            Ok((p[0].parse()?, p[1].parse()?, p[2].parse()?))
        })
        .transpose()?;
    let data = DataSpec {
        files: args.data.clone(),
        format: args
            .format
            .as_deref()
            .map(|f| DataFormat::from_name(f).context("--format"))
            .transpose()?,
        definitions: None,
        itch_date,
    };
    let bytes: u64 = args
        .data
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    println!(
        "config: {}; data: {} file(s), {:.1} MB on disk",
        cfg.file,
        args.data.len(),
        bytes as f64 / 1e6
    );
    let venue = cfg.venues.first().context("no venue")?.id;
    let (mut ev_s, mut in_s, mut feed_s, mut nojournal_s) = (vec![], vec![], vec![], vec![]);
    let mut read_s = vec![];
    // Imported: import events/s; drive ns per input, journal off / on; journal ns per
    // record in the raw and the imported backtest; whole call events/s from the import.
    let (mut import_s, mut imp_off_ns, mut imp_on_ns) = (vec![], vec![], vec![]);
    let mut imp_whole_s = vec![];
    let mut events = 0;
    let mut inputs = 0;
    for rep in 1..=args.repeat {
        // Floor 0: reading (and inflating, for .gz) the files, nothing decoded.
        let t = clock::monotonic();
        let mut raw = 0u64;
        for path in &args.data {
            let mut r = tickrail_gateways::feed::open_maybe_gz(path)?;
            raw += std::io::copy(&mut r, &mut std::io::sink())?;
        }
        let read_secs = t.elapsed().as_secs_f64();
        // Floor 1: the adapters alone.
        let t = clock::monotonic();
        let (mut feed, _) = open_feed(&cfg, &data, venue)?;
        let mut n = 0u64;
        while feed.next_event().is_some() {
            n += 1;
        }
        let feed_secs = t.elapsed().as_secs_f64();
        // The backtest, journaling on.
        let dir = tempfile::tempdir()?;
        let opts = JobOptions {
            queue: None,
            sample_interval_ns: 1_000_000_000,
            out_dir: dir.path().join("run"),
        };
        let t = clock::monotonic();
        let o = run_backtest(&cfg, &data, &opts, |_, _| {})?;
        let secs = t.elapsed().as_secs_f64();
        events = o.feed.events;
        inputs = o.summary.inputs;
        ensure!(
            n == events,
            "feed floor read {n} events, the backtest {events}"
        );
        // The engine without the journal: the same run into a null sink.
        let t = clock::monotonic();
        let _ = run_backtest_unjournaled(&cfg, &data, &opts)?;
        let nj = t.elapsed().as_secs_f64();

        // Import once, then backtest from the imported journal.
        let imp_root = tempfile::tempdir()?;
        let t = clock::monotonic();
        let summary = import(
            &cfg,
            &data,
            &ImportOptions {
                out_dir: imp_root.path().join("imp"),
                stop_on_bad: false,
            },
        )?;
        let import_secs = t.elapsed().as_secs_f64();
        ensure!(
            summary.events == events,
            "imported {} events, the backtest read {events}",
            summary.events
        );
        let journal = DataSpec {
            files: vec![imp_root.path().join("imp")],
            format: None,
            definitions: None,
            itch_date: None,
        };
        let opts_imp = JobOptions {
            out_dir: imp_root.path().join("bt"),
            ..opts.clone()
        };
        let t = clock::monotonic();
        let on = run_backtest(&cfg, &journal, &opts_imp, |_, _| {})?;
        let on_secs = t.elapsed().as_secs_f64();
        let off = run_backtest_unjournaled(&cfg, &journal, &opts_imp)?;
        ensure!(
            on.summary.inputs == inputs && on.journaled[1] == o.journaled[1],
            "the backtest from the import differs: {} inputs, {} outputs (raw: {inputs}, {})",
            on.summary.inputs,
            on.journaled[1],
            o.journaled[1]
        );
        let per_input = |wall: f64| wall * 1e9 / inputs as f64;
        println!(
            "rep {rep}: import {import_secs:.3} s ({:.2} M events/s); from the import: drive \
             loop {:.1} ns/input journal off, {:.1} ns/input outputs journaled ({} records), \
             whole call {on_secs:.3} s ({:.2} M events/s)",
            events as f64 / import_secs / 1e6,
            per_input(off.report.wall_s),
            per_input(on.report.wall_s),
            on.journaled[1],
            events as f64 / on_secs / 1e6,
        );
        import_s.push(events as f64 / import_secs / 1e6);
        imp_off_ns.push(per_input(off.report.wall_s));
        imp_on_ns.push(per_input(on.report.wall_s));
        imp_whole_s.push(events as f64 / on_secs / 1e6);
        println!(
            "rep {rep}: {events} events, {inputs} inputs, {} + {} journaled: backtest {:.3} s \
             ({:.2} M events/s, {:.2} M inputs/s); read+inflate {raw} bytes {:.3} s; adapters \
             alone {:.3} s ({:.2} M events/s); without journal {:.3} s ({:.2} M events/s)",
            o.journaled[0],
            o.journaled[1],
            secs,
            events as f64 / secs / 1e6,
            inputs as f64 / secs / 1e6,
            read_secs,
            feed_secs,
            n as f64 / feed_secs / 1e6,
            nj,
            events as f64 / nj / 1e6
        );
        ev_s.push(events as f64 / secs / 1e6);
        in_s.push(inputs as f64 / secs / 1e6);
        feed_s.push(n as f64 / feed_secs / 1e6);
        read_s.push(events as f64 / read_secs / 1e6);
        nojournal_s.push(events as f64 / nj / 1e6);
    }
    let rss = peak_rss_kib().map_or_else(
        || "unknown".to_owned(),
        |k| format!("{:.1} MiB", k as f64 / 1024.0),
    );
    println!();
    println!("| what | events | M events/s (median of {}) |", args.repeat);
    println!("|---|---:|---:|");
    println!(
        "| read + inflate the files alone (floor; per data event) | {events} | {:.2} |",
        median(&mut read_s)
    );
    println!(
        "| adapters alone (floor) | {events} | {:.2} |",
        median(&mut feed_s)
    );
    println!(
        "| backtest, no journal | {events} | {:.2} |",
        median(&mut nojournal_s)
    );
    println!("| **backtest, journaling on** | {events} | **{:.2}** ({:.2} M inputs/s, {inputs} inputs) |", median(&mut ev_s), median(&mut in_s));
    println!(
        "| import (adapters + Sequencer + journal) | {events} | {:.2} |",
        median(&mut import_s)
    );
    println!(
        "| backtest from the imported journal, outputs journaled, whole call | {events} | {:.2} |",
        median(&mut imp_whole_s)
    );
    println!();
    println!(
        "| from the imported journal, drive loop | ns per input (median of {}) |",
        args.repeat
    );
    println!("|---|---:|");
    println!("| journal off | {:.1} |", median(&mut imp_off_ns));
    println!("| outputs journaled | {:.1} |", median(&mut imp_on_ns));
    println!();
    println!("peak RSS (VmHWM) of this process: {rss}");
    Ok(())
}
