//! Ring hop latency: our ring against crossbeam-channel, crossbeam `ArrayQueue` and
//! `std::sync::mpsc`, in the same run on the same two pinned cores.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin ring_bench -- \
//!     [--messages 1000000] [--block 20000] [--warmup 2000] [--interval-ns 2000] \
//!     [--capacity 1024] [--repeat 3] [--producer-core 0] [--consumer-core 1] [--no-pin] \
//!     [--peers floor,ring-spin,…]
//! ```
//!
//! Each repetition sends `--messages` recorded messages through every peer, in blocks of
//! `--block` (each on a fresh queue, after `--warmup` unrecorded messages): round after
//! round, every peer runs one block, in an order rotated each round. A whole first round
//! runs untimed before anything is recorded.
//!
//! Why blocks: on a VM the two vCPUs move between host cores that are near or far from each
//! other (here the floor's p50 jumps between ~50, ~90 and ~250 ns from one second to the
//! next), which moves every peer's latency together. Measured in long runs one after the
//! other, two peers may sit in different placements and their ratio means nothing; blocks
//! of ~40 ms interleaved keep the peers of one round within ~0.5 s of each other.
//!
//! Prints the machine line (before pinning), one line per peer and repetition (its blocks
//! merged), the Markdown table of each peer's median repetition (by p50), the p50 of every
//! repetition, and the PASS/FAIL line for the issue's target — our busy-spin hop p50 ≤ 0.5×
//! crossbeam-channel's p50 in the same run — judged on the median over all rounds of the
//! ratio of the two peers' block p50s within a round. See `docs/BENCHMARKS.md`.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use tickrail_bench::report::{latency_histogram, machine_line, verdict, Latency};
use tickrail_bench::ring_harness::{hop, timer_only, HopConfig, Peer, MSG_BYTES};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::{WaitKind, WaitStats};

/// One-way hop latency of our ring and its peers between two pinned threads.
#[derive(Debug, Parser)]
#[command(name = "ring_bench")]
struct Args {
    /// Recorded messages per peer and repetition
    #[arg(long, default_value_t = 1_000_000)]
    messages: u64,
    /// Recorded messages per block (one peer, one fresh queue)
    #[arg(long, default_value_t = 20_000)]
    block: u64,
    /// Unrecorded messages at the start of every block
    #[arg(long, default_value_t = 2_000)]
    warmup: u64,
    /// Time from one send to the next, busy-waited (ns)
    #[arg(long, default_value_t = 2_000)]
    interval_ns: u64,
    /// Capacity of every queue (a power of two)
    #[arg(long, default_value_t = 1024)]
    capacity: usize,
    /// Repetitions; each peer reports its median repetition by p50
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
    /// Peers to measure, comma-separated: floor, ring-spin, channel-spin, arrayqueue-spin,
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

/// (p10, p50, p90) of `v` (sorted in place); NaN when empty.
fn quantiles(v: &mut [f64]) -> (f64, f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    (at(0.1), at(0.5), at(0.9))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat >= 1, "--repeat must be at least 1");
    ensure!(
        args.block >= 1 && args.messages >= args.block,
        "need --messages ≥ --block ≥ 1"
    );
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
    let rounds = args.messages.div_ceil(args.block);

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
        messages: args.block,
        warmup: args.warmup,
        interval: Duration::from_nanos(args.interval_ns),
        capacity: args.capacity,
        cores,
    };
    // Other load on this shared machine shows in the tails; say how much there was.
    println!("load average at start: {}", loadavg());
    println!(
        "config: {} recorded messages of {MSG_BYTES} B per peer and repetition, in {rounds} blocks of {} (+{} warm-up each), one every {} ns, capacity {}, {}, {} repetitions",
        rounds * args.block,
        args.block,
        args.warmup,
        args.interval_ns,
        cfg.capacity,
        match cores {
            Some((p, c)) => format!("producer on core {}, consumer on core {}", p.id, c.id),
            None => "not pinned".to_string(),
        },
        args.repeat
    );

    // Warm-up: one untimed round of every peer.
    for &peer in &peers {
        hop(peer, &cfg).with_context(|| format!("warm up {}", peer.name()))?;
    }

    let idx = |p: Peer| peers.iter().position(|&q| q == p);
    let pairs = [
        (
            "busy-spin ring / crossbeam-channel",
            idx(OURS),
            idx(BASELINE),
        ),
        ("busy-spin ring / floor", idx(OURS), idx(Peer::Floor)),
        ("crossbeam-channel / floor", idx(BASELINE), idx(Peer::Floor)),
    ];
    // Per-round ratios of block p50s, over all repetitions, per pair; and per repetition.
    let mut round_ratios: Vec<Vec<f64>> = vec![Vec::new(); pairs.len()];
    let mut rep_target_ratio: Vec<f64> = Vec::new();
    // runs[peer][rep]
    let mut runs: Vec<Vec<Latency>> = vec![Vec::new(); peers.len()];
    for rep in 1..=args.repeat {
        let mut hists: Vec<Histogram<u64>> = peers
            .iter()
            .map(|_| latency_histogram())
            .collect::<Result<_>>()?;
        let mut stats = vec![WaitStats::default(); peers.len()];
        let mut this_rep = Vec::new();
        for round in 0..rounds {
            let mut p50 = vec![0u64; peers.len()];
            for k in 0..peers.len() {
                let i = (k + round as usize) % peers.len();
                let h =
                    hop(peers[i], &cfg).with_context(|| format!("measure {}", peers[i].name()))?;
                hists[i]
                    .add(&h.hist)
                    .map_err(|e| anyhow::anyhow!("merge histograms: {e}"))?;
                stats[i].parks += h.wait_stats.parks;
                stats[i].wakes += h.wait_stats.wakes;
                p50[i] = h.latency.p50;
            }
            for (j, (_, a, b)) in pairs.iter().enumerate() {
                if let (Some(a), Some(b)) = (a, b) {
                    let r = ratio(p50[*a], p50[*b]);
                    round_ratios[j].push(r);
                    if j == 0 {
                        this_rep.push(r);
                    }
                }
            }
        }
        rep_target_ratio.push(quantiles(&mut this_rep).1);
        for (i, peer) in peers.iter().enumerate() {
            let l = Latency::of(&hists[i]);
            let waits = if *peer == Peer::Ours(WaitKind::Block) {
                format!(
                    " (consumer parked {} times, woken {} times)",
                    stats[i].parks, stats[i].wakes
                )
            } else {
                String::new()
            };
            println!("rep {rep}: {}: {}{waits}", peer.name(), line(&l));
            runs[i].push(l);
        }
    }
    let timer = timer_only(&cfg, args.messages)?;
    println!("load average at end: {}", loadavg());

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
    let floor = idx(Peer::Floor).map_or(0, |i| median[i].p50);

    let mut table = String::from(
        "| peer | p50 ns | p99 | p99.9 | p99.99 | max | p50 / crossbeam-channel p50 | p50 / floor p50 |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (peer, l) in peers.iter().zip(&median) {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {:.2} | {:.2} |",
            peer.name(),
            l.p50,
            l.p99,
            l.p999,
            l.p9999,
            l.max,
            ratio(l.p50, base),
            ratio(l.p50, floor)
        );
    }
    let _ = writeln!(
        table,
        "| timer only (two clock reads, consumer core) | {} | {} | {} | {} | {} | – | – |",
        timer.p50, timer.p99, timer.p999, timer.p9999, timer.max
    );
    println!();
    println!("{table}");

    let mut by_rep = String::from("| p50 ns by repetition |");
    for rep in 1..=args.repeat {
        let _ = write!(by_rep, " rep {rep} |");
    }
    by_rep.push_str("\n|---|");
    by_rep.push_str(&"---:|".repeat(args.repeat));
    by_rep.push('\n');
    for (peer, reps) in peers.iter().zip(&runs) {
        let _ = write!(by_rep, "| {} |", peer.name());
        for l in reps {
            let _ = write!(by_rep, " {} |", l.p50);
        }
        by_rep.push('\n');
    }
    println!("{by_rep}");

    for ((label, a, b), v) in pairs.iter().zip(round_ratios.iter_mut()) {
        if a.is_some() && b.is_some() {
            let n = v.len();
            let (p10, p50, p90) = quantiles(v);
            println!(
                "p50 ratio {label}, per round: median {p50:.2} (p10 {p10:.2}, p90 {p90:.2}; {n} rounds)"
            );
        }
    }
    println!();

    // The target: the per-round ratio (same run = the same round, blocks ~40 ms apart).
    let Some(target) = round_ratios.first_mut().filter(|v| !v.is_empty()) else {
        println!("target not judged: needs the ring-spin and channel-spin peers");
        return Ok(());
    };
    let (p10, mid, p90) = quantiles(target);
    let reps: Vec<String> = rep_target_ratio.iter().map(|r| format!("{r:.2}")).collect();
    println!(
        "{}: our hop p50 (busy-spin) ≤ {TARGET_RATIO}× crossbeam-channel's p50 (try_recv spin) in the same run: median {mid:.2}× over {} rounds (p10 {p10:.2}, p90 {p90:.2}; per repetition {})",
        verdict(mid <= TARGET_RATIO),
        target.len(),
        reps.join(", ")
    );
    Ok(())
}
