//! Journal append/read benchmark against a raw `mmap` floor, in one run.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin journal_bench -- \
//!     [--events N] [--sizes 64,256] [--segment-mib 256] [--dir PATH] [--pin]
//! ```
//!
//! Prints a machine line, a Markdown table and PASS/FAIL lines for the targets. See
//! `docs/BENCHMARKS.md` for the method.

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::clock;
use tickrail_bench::journal_harness::{self, Config, SizeResult};
use tickrail_bench::report::{machine_line, table, verdict, Row};

/// Journal append latency/throughput and sequential read, each beside a raw mmap floor.
#[derive(Debug, Parser)]
#[command(name = "journal_bench")]
struct Args {
    /// Events per measurement [default: enough for ~4 segment rolls per size]
    #[arg(long)]
    events: Option<u64>,
    /// Payload sizes in bytes, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "64,256")]
    sizes: Vec<usize>,
    /// Journal segment size in MiB (the floor file has the same size)
    #[arg(long, default_value_t = 256)]
    segment_mib: u64,
    /// Parent directory for the benchmark's files [default: the system temp dir]
    #[arg(long)]
    dir: Option<PathBuf>,
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

fn checks(r: &SizeResult) -> Vec<String> {
    let mut out = Vec::new();
    let t = ratio(r.ours_append.mev_per_s(), r.floor_append.mev_per_s());
    out.push(format!(
        "{}: {} B append throughput ≥ 0.8× floor: {:.1} vs {:.1} Mev/s = {t:.2}×",
        verdict(t >= 0.8),
        r.size,
        r.ours_append.mev_per_s(),
        r.floor_append.mev_per_s(),
    ));
    let (o, f) = (r.ours_latency.p9999, r.floor_latency.p9999);
    out.push(format!(
        "{}: {} B append p99.99 ≤ 2× floor p99.99: {o} ns vs {f} ns = {:.2}×",
        verdict(o <= 2 * f),
        r.size,
        ratio(o as f64, f as f64),
    ));
    if r.size == 64 {
        let m = r.ours_read.mev_per_s();
        out.push(format!(
            "{}: 64 B sequential read ≥ 50 M events/s: {m:.1} Mev/s",
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

    let started = clock::now();
    println!("{}", machine_line(clock::unix_seconds()));
    println!(
        "setup: segment {} MiB, durability none, preallocate on, dir {}, pin {}",
        args.segment_mib,
        root.path().display(),
        if cfg.pin { "on" } else { "off" }
    );

    let mut results = Vec::new();
    for &size in &args.sizes {
        eprintln!(
            "measuring {size} B payloads, {} events ...",
            cfg.events_for(size)
        );
        results.push(journal_harness::run_size(&cfg, root.path(), size)?);
    }

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
    for r in &results {
        for line in checks(r) {
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
