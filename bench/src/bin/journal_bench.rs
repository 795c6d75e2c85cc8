//! Journal append/read benchmark against a raw `mmap` floor, in one run.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin journal_bench -- \
//!     [--events N] [--sizes 64,256] [--segment-mib 256] [--repeat 5] [--dir PATH] [--pin]
//! ```
//!
//! Prints a machine line, one line per repetition, the Markdown table of the median
//! repetition and PASS/FAIL lines for the targets judged on the medians over repetitions.
//! See `docs/BENCHMARKS.md` for the method.

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::journal_harness::{self, Config, SizeResult};
use tickrail_bench::report::{machine_line, table, verdict, Row};
use tickrail_engine::runtime::clock;

/// Journal append latency/throughput and sequential read, each beside a raw mmap floor.
#[derive(Debug, Parser)]
#[command(name = "journal_bench")]
struct Args {
    /// Events per measurement [default: enough for ~1.5 segments per size]
    #[arg(long)]
    events: Option<u64>,
    /// Payload sizes in bytes, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "64,256")]
    sizes: Vec<usize>,
    /// Journal segment size in MiB
    #[arg(long, default_value_t = 256)]
    segment_mib: u64,
    /// Parent directory for the benchmark's files [default: the system temp dir]
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Repetitions of the whole measurement (interleaved over sizes); targets are judged on
    /// the median over repetitions, since single runs on a shared VM vary by 2×
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Pin each measuring thread to the last core
    #[arg(long)]
    pin: bool,
}

fn ratio(ours: f64, floor: f64) -> f64 {
    if floor > 0.0 {
        ours / floor
    } else {
        f64::NAN
    }
}

fn rows(r: &SizeResult) -> Vec<Row> {
    let t = ratio(r.ours_append.mev_per_s(), r.floor_append.mev_per_s());
    let p = ratio(r.ours_latency.p9999 as f64, r.floor_latency.p9999 as f64);
    let rd = ratio(r.ours_read.mev_per_s(), r.floor_read.mev_per_s());
    vec![
        Row {
            size: r.size,
            what: "ours append",
            latency: Some(r.ours_latency),
            throughput: Some(r.ours_append),
            ratio: format!("tput {t:.2}×, p99.99 {p:.2}×"),
        },
        Row {
            size: r.size,
            what: "ours append, cold",
            latency: None,
            throughput: Some(r.ours_append_cold),
            ratio: format!(
                "tput {:.2}× (segments prepared during the run)",
                ratio(r.ours_append_cold.mev_per_s(), r.floor_append.mev_per_s())
            ),
        },
        Row {
            size: r.size,
            what: "floor append",
            latency: Some(r.floor_latency),
            throughput: Some(r.floor_append),
            ratio: "1".into(),
        },
        Row {
            size: r.size,
            what: "floor append, framed",
            latency: None,
            throughput: Some(r.floor_framed_append),
            ratio: format!(
                "ours/framed {:.2}× (copies of the record's size; no target)",
                ratio(r.ours_append.mev_per_s(), r.floor_framed_append.mev_per_s())
            ),
        },
        Row {
            size: r.size,
            what: "ours read",
            latency: None,
            throughput: Some(r.ours_read),
            ratio: format!("tput {rd:.2}×"),
        },
        Row {
            size: r.size,
            what: "floor read",
            latency: None,
            throughput: Some(r.floor_read),
            ratio: "1".into(),
        },
        Row {
            size: r.size,
            what: "timer only",
            latency: Some(r.timer),
            throughput: None,
            ratio: "(cost of a clock pair)".into(),
        },
    ]
}

fn tput_ratio(r: &SizeResult) -> f64 {
    ratio(r.ours_append.mev_per_s(), r.floor_append.mev_per_s())
}

fn tail_ratio(r: &SizeResult) -> f64 {
    ratio(r.ours_latency.p9999 as f64, r.floor_latency.p9999 as f64)
}

/// Median of `f` over the repetitions, with the minimum and maximum.
fn spread(runs: &[SizeResult], f: impl Fn(&SizeResult) -> f64) -> (f64, f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn checks(runs: &[SizeResult]) -> Vec<String> {
    let size = runs[0].size;
    let mut out = Vec::new();
    let (t, tmin, tmax) = spread(runs, tput_ratio);
    out.push(format!(
        "{}: {size} B append throughput ≥ 0.8× floor: median {t:.2}× (range {tmin:.2}–{tmax:.2}×)",
        verdict(t >= 0.8),
    ));
    let (p, pmin, pmax) = spread(runs, tail_ratio);
    out.push(format!(
        "{}: {size} B append p99.99 ≤ 2× floor p99.99: median {p:.2}× (range {pmin:.2}–{pmax:.2}×)",
        verdict(p <= 2.0),
    ));
    if size == 64 {
        let (m, mmin, mmax) = spread(runs, |r| r.ours_read.mev_per_s());
        out.push(format!(
            "{}: 64 B sequential read ≥ 50 M events/s: median {m:.1} Mev/s (range {mmin:.1}–{mmax:.1})",
            verdict(m >= 50.0)
        ));
    }
    out
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(!args.sizes.is_empty(), "--sizes is empty");
    ensure!(args.segment_mib > 0, "--segment-mib must be at least 1");
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent).with_context(|| format!("create {}", parent.display()))?;
    let root = tempfile::Builder::new()
        .prefix("journal-bench-")
        .tempdir_in(&parent)
        .with_context(|| format!("make a temporary directory in {}", parent.display()))?;
    let cfg = Config {
        dir: parent,
        segment_bytes: args.segment_mib * 1024 * 1024,
        events: args.events,
        pin: args.pin,
    };

    let started = clock::monotonic();
    println!("{}", machine_line(clock::unix_seconds()));
    println!(
        "setup: segment {} MiB, durability none, preallocate on, dir {}, pin {}",
        args.segment_mib,
        root.path().display(),
        if cfg.pin { "on" } else { "off" }
    );

    ensure!(args.repeat > 0, "--repeat must be at least 1");
    let mut reps: Vec<Vec<SizeResult>> = vec![Vec::new(); args.sizes.len()];
    for rep in 0..args.repeat {
        for (i, &size) in args.sizes.iter().enumerate() {
            eprintln!(
                "repetition {}/{}: {size} B payloads, {} events ...",
                rep + 1,
                args.repeat,
                cfg.events_for(size)
            );
            reps[i].push(journal_harness::run_size(&cfg, root.path(), size)?);
        }
    }
    for runs in &reps {
        for (k, r) in runs.iter().enumerate() {
            println!(
                "repetition {} {} B: append {:.1} vs floor {:.1} Mev/s = {:.2}× (framed floor {:.1}, \
                 {:.2}×); p99.99 {} vs {} ns = {:.2}×; read {:.1} Mev/s",
                k + 1,
                r.size,
                r.ours_append.mev_per_s(),
                r.floor_append.mev_per_s(),
                tput_ratio(r),
                r.floor_framed_append.mev_per_s(),
                ratio(r.ours_append.mev_per_s(), r.floor_framed_append.mev_per_s()),
                r.ours_latency.p9999,
                r.floor_latency.p9999,
                tail_ratio(r),
                r.ours_read.mev_per_s(),
            );
        }
    }
    // The table shows the repetition with the median throughput ratio, per size.
    let results: Vec<SizeResult> = reps
        .iter()
        .map(|runs| {
            let mut by: Vec<&SizeResult> = runs.iter().collect();
            by.sort_by(|a, b| tput_ratio(a).total_cmp(&tput_ratio(b)));
            by[by.len() / 2].clone()
        })
        .collect();

    for r in &results {
        println!(
            "notes {} B: N = {} events per measurement; latency run: {} rolls ({} waited), \
             {} appends ≥ 100 µs totalling {:.1} ms (floor: {}, {:.1} ms); throughput run: \
             {} rolls ({} waited); timer pair p50 {} ns",
            r.size,
            r.events,
            r.latency_stats.rolls,
            r.latency_stats.roll_waits,
            r.ours_latency.stalls,
            r.ours_latency.stall_ns as f64 / 1e6,
            r.floor_latency.stalls,
            r.floor_latency.stall_ns as f64 / 1e6,
            r.append_stats.rolls,
            r.append_stats.roll_waits,
            r.timer.p50,
        );
    }
    println!();
    let all: Vec<Row> = results.iter().flat_map(rows).collect();
    print!("{}", table(&all));
    println!();
    println!(
        "targets, judged on the median over {} repetition(s):",
        args.repeat
    );
    for runs in &reps {
        for line in checks(runs) {
            println!("{line}");
        }
    }
    println!();
    println!(
        "total {:.1} s",
        journal_harness::since(started).as_secs_f64()
    );
    root.close().context("remove the benchmark directory")?;
    Ok(())
}
