//! Ring hop latency: our ring against crossbeam-channel, crossbeam `ArrayQueue` and
//! `std::sync::mpsc`, in the same run on the same two pinned cores.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin ring_bench -- \
//!     [--messages 1000000] [--warmup 100000] [--interval-ns 2000] [--capacity 1024] \
//!     [--repeat 3] [--producer-core 0] [--consumer-core 1] [--no-pin] [--peers a,b,…]
//! ```
//!
//! Prints the machine line (before pinning), one line per peer and repetition, the Markdown
//! table of each peer's median repetition (by p50) and a PASS/FAIL line for the issue's
//! target: our busy-spin hop p50 ≤ 0.5× crossbeam-channel's p50 in the same run. See
//! `bench/src/ring_harness.rs` and `docs/BENCHMARKS.md` for the method.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::clock;
use tickrail_bench::report::{machine_line, verdict, Latency};
use tickrail_bench::ring_harness::{hop, timer_only, HopConfig, Peer, MSG_BYTES};
use tickrail_engine::runtime::WaitKind;

/// One-way hop latency of our ring and its peers between two pinned threads.
#[derive(Debug, Parser)]
#[command(name = "ring_bench")]
struct Args {
    /// Recorded messages per measurement
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Messages sent (unrecorded) before the recorded ones, in the same measurement
    #[arg(long, default_value_t = 100_000)]
    warmup: u64,
    /// Time from one send to the next, busy-waited (ns)
    #[arg(long, default_value_t = 2_000)]
    interval_ns: u64,
    /// Capacity of every queue (a power of two)
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// Repetitions (peers interleaved within each); each peer reports its median
    /// repetition by p50, the target is judged on the median per-repetition ratio
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Producer core (`core_affinity` index)
    #[arg(long, default_value_t = 0)]
    producer_core: usize,
    /// Consumer core (`core_affinity` index)
    #[arg(long, default_value_t = 1)]
    consumer_core: usize,
    /// Do not pin the threads
    #[arg(long)]
    no_pin: bool,
    /// Peers to measure, comma-separated: ring-spin, channel-spin, arrayqueue-spin,
    /// mpsc-spin, ring-yield, ring-block, channel-recv, mpsc-recv [default: all]
    #[arg(long, value_delimiter = ',')]
    peers: Vec<String>,
}

const BASELINE: Peer = Peer::CrossbeamChannelSpin;
const OURS: Peer = Peer::Ours(WaitKind::BusySpin);
const TARGET_RATIO: f64 = 0.5;

fn ratio(a: u64, b: u64) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        f64::NAN
    }
}

fn line(l: &Latency) -> String {
    format!(
        "p50 {} / p99 {} / p99.9 {} / p99.99 {} / max {} ns",
        l.p50, l.p99, l.p999, l.p9999, l.max
    )
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat >= 1, "--repeat must be at least 1");
    ensure!(args.messages >= 1, "--messages must be at least 1");
    let peers: Vec<Peer> = if args.peers.is_empty() {
        Peer::ALL.to_vec()
    } else {
        let mut v = Vec::new();
        for key in &args.peers {
            let p = Peer::from_key(key).with_context(|| format!("unknown peer {key:?}"))?;
            if !v.contains(&p) {
                v.push(p);
            }
        }
        v
    };
    // The machine line first: after pinning, the process sees fewer cores.
    println!("{}", machine_line(clock::unix_seconds()));

    let cores = if args.no_pin {
        None
    } else {
        let ids = core_affinity::get_core_ids().context("list cores")?;
        let find = |i: usize| {
            ids.iter()
                .copied()
                .find(|c| c.id == i)
                .with_context(|| format!("core {i} not available (cores: {ids:?})"))
        };
        ensure!(
            args.producer_core != args.consumer_core,
            "producer and consumer need two different cores"
        );
        Some((find(args.producer_core)?, find(args.consumer_core)?))
    };
    let cfg = HopConfig {
        messages: args.messages,
        warmup: args.warmup,
        interval: Duration::from_nanos(args.interval_ns),
        capacity: args.capacity,
        cores,
    };
    // Other load on this shared machine shows in the tails; say how much there was.
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", loadavg.trim());
    println!(
        "config: {} recorded + {} warm-up messages of {MSG_BYTES} B per measurement, one every {} ns, capacity {}, {}, {} repetitions",
        cfg.messages,
        cfg.warmup,
        args.interval_ns,
        cfg.capacity,
        match cores {
            Some((p, c)) => format!("producer on core {}, consumer on core {}", p.id, c.id),
            None => "not pinned".to_string(),
        },
        args.repeat
    );

    // runs[peer][rep]
    let mut runs: Vec<Vec<Latency>> = vec![Vec::new(); peers.len()];
    for rep in 1..=args.repeat {
        for (i, &peer) in peers.iter().enumerate() {
            let h = hop(peer, &cfg).with_context(|| format!("measure {}", peer.name()))?;
            let waits = if peer == Peer::Ours(WaitKind::Block) {
                format!(
                    " (consumer parked {} times, woken {} times)",
                    h.wait_stats.parks, h.wait_stats.wakes
                )
            } else {
                String::new()
            };
            println!("rep {rep}: {}: {}{waits}", peer.name(), line(&h.latency));
            runs[i].push(h.latency);
        }
    }
    let timer = timer_only(&cfg, cfg.messages)?;
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at end: {}", loadavg.trim());

    let idx = |p: Peer| peers.iter().position(|&q| q == p);
    // Median repetition by p50, per peer.
    let median: Vec<Latency> = runs
        .iter()
        .map(|reps| {
            let mut v = reps.clone();
            v.sort_by_key(|l| l.p50);
            v[v.len() / 2]
        })
        .collect();
    let base = idx(BASELINE).map_or(0, |i| median[i].p50);

    let mut table = String::from(
        "| peer | p50 ns | p99 | p99.9 | p99.99 | max | p50 / crossbeam-channel p50 |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (peer, l) in peers.iter().zip(&median) {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {:.2} |",
            peer.name(),
            l.p50,
            l.p99,
            l.p999,
            l.p9999,
            l.max,
            ratio(l.p50, base)
        );
    }
    let _ = writeln!(
        table,
        "| timer only (two clock reads, consumer core) | {} | {} | {} | {} | {} | – |",
        timer.p50, timer.p99, timer.p999, timer.p9999, timer.max
    );
    println!();
    println!("{table}");

    // The target, judged per repetition (same run = same repetition), median over them.
    let (Some(ours), Some(baseline)) = (idx(OURS), idx(BASELINE)) else {
        println!("target not judged: needs the ring-spin and channel-spin peers");
        return Ok(());
    };
    let mut per_rep: Vec<f64> = runs[ours]
        .iter()
        .zip(&runs[baseline])
        .map(|(o, b)| ratio(o.p50, b.p50))
        .collect();
    per_rep.sort_by(f64::total_cmp);
    let (mid, lo, hi) = (
        per_rep[per_rep.len() / 2],
        per_rep[0],
        per_rep[per_rep.len() - 1],
    );
    println!(
        "{}: our hop p50 (busy-spin) ≤ {TARGET_RATIO}× crossbeam-channel's p50 (try_recv spin) in the same run: median {mid:.2}× (range {lo:.2}–{hi:.2}× over {} repetitions)",
        verdict(mid <= TARGET_RATIO),
        per_rep.len()
    );
    Ok(())
}
