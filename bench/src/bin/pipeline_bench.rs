//! The threaded pipeline: tick-to-order latency under coordinated-omission-corrected load at
//! fixed rates with the per-stage breakdown, and sustained throughput with journaling on.
//!
//! ```text
//! cargo build --release -p tickrail-bench --bin pipeline_bench
//! ./target/release/pipeline_bench [--config config/default.toml] \
//!     [--rates 20000,100000,300000] [--repeat 3] [--split-cores 1,1] [--inline-cores 0,1] \
//!     [--waits KIND] [--no-pin] [--hop-messages 200000] [--hop-interval-ns 2000] \
//!     [--market-s SECONDS] [--dir PATH]
//! ```
//!
//! Records the config's synthetic stream once, then per repetition: the ring hop floor
//! (our ring, busy-spin, between the feed core and the chain core), one paced run per rate
//! (fresh engine each), the flat-out runs (the config's layout, a split signal | order
//! layout, the config's layout with `durability = "immediate"`, and the chain inline on the
//! feed thread with the journaler on another core — `config/small.toml`'s layout, whatever
//! the config) and the single-thread fused chain floor. With `--config config/small.toml`
//! the config's layout is the inline one, and the paced runs measure it. Prints the machine line (before pinning), one line per repetition,
//! the Markdown tables of the median repetitions and the issue's targets with PASS/FAIL.
//! See `bench/src/pipeline_harness.rs` and `docs/BENCHMARKS.md` for the method.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::pipeline_harness::{
    bench_config, check_recording, feed_spec, first_stage_core, input_peer_core, order_news,
    run_flat_out, run_paced, FlatOutRun, LayoutKind, PacedRun,
};
use tickrail_bench::report::{machine_line, verdict, Latency};
use tickrail_bench::ring_harness::{hop, HopConfig, Peer};
use tickrail_bench::stage_harness::{chain, measure_stage, record, verify_replay, Measured};
use tickrail_engine::config::{EngineConfig, SendDurability};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::threads::pin;
use tickrail_engine::runtime::WaitKind;

/// Tick-to-order under CO-corrected load and sustained throughput of the threaded engine.
#[derive(Debug, Parser)]
#[command(name = "pipeline_bench")]
struct Args {
    /// The engine config: its synthetic stream is recorded, its layout measured
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml"))]
    config: PathBuf,
    /// Fixed offer rates of the paced runs, inputs per second
    #[arg(long, value_delimiter = ',', default_value = "20000,100000,300000")]
    rates: Vec<u64>,
    /// Repetitions; each table row reports its median repetition
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Cores of the split layout's signal and order threads (`core_affinity` indices)
    #[arg(long, value_delimiter = ',', default_value = "1,1")]
    split_cores: Vec<usize>,
    /// Cores of the inline layout's feed thread (Sequencer, chain, gateway) and journaler
    #[arg(long, value_delimiter = ',', default_value = "0,1")]
    inline_cores: Vec<usize>,
    /// Wait strategy of the feed and stage threads (busy-spin, yield, block) instead of
    /// the config's
    #[arg(long, value_parser = parse_wait)]
    waits: Option<WaitKind>,
    /// Pin nothing: no thread of the layout, not the feed thread, not the hop floor
    #[arg(long)]
    no_pin: bool,
    /// Recorded messages of each hop-floor measurement (a tenth as many warm-up messages)
    #[arg(long, default_value_t = 200_000)]
    hop_messages: u64,
    /// Time between two hop-floor messages, busy-waited (ns)
    #[arg(long, default_value_t = 2_000)]
    hop_interval_ns: u64,
    /// Seconds of synthetic market to record instead of the config's `feed.duration_ns`
    /// (a longer stream spreads the run's fixed costs — journal open and the sync at close
    /// — over more inputs)
    #[arg(long)]
    market_s: Option<u64>,
    /// Parent directory of the runs' journals [default: the system temp dir]
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn parse_wait(s: &str) -> Result<WaitKind, String> {
    WaitKind::ALL
        .into_iter()
        .find(|w| w.name() == s)
        .ok_or_else(|| format!("{s:?}: busy-spin, yield or block"))
}

/// The end-to-end target: tick-to-order p50 ≤ this × the ring hop floor p50.
const E2E_TARGET_RATIO: f64 = 3.0;
/// The throughput target, M inputs/s.
const THROUGHPUT_TARGET_MEPS: f64 = 5.0;

/// One repetition.
struct Rep {
    hop_spin: Latency,
    hop_yield: Latency,
    paced: Vec<PacedRun>,
    /// (label, layout description, run)
    flat: Vec<(&'static str, String, FlatOutRun)>,
    single: Measured,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat >= 1, "--repeat must be at least 1");
    ensure!(
        !args.rates.is_empty() && args.rates.iter().all(|&r| r > 0),
        "--rates: give positive rates"
    );
    ensure!(
        args.split_cores.len() == 2,
        "--split-cores: give two cores (signal, order)"
    );
    ensure!(
        args.inline_cores.len() == 2,
        "--inline-cores: give two cores (feed, journal)"
    );
    // The machine line first, before anything is pinned (a pinned thread sees fewer cores).
    println!("{}", machine_line(clock::unix_seconds()));
    let nproc = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let loadavg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", loadavg().trim());

    let mut base = EngineConfig::load(&args.config)?;
    if let Some(s) = args.market_s {
        ensure!(s > 0, "--market-s must be positive");
        let tickrail_engine::config::FeedSpec::Synthetic(feed) = &mut base.feed;
        feed.duration_ns = i64::try_from(s.saturating_mul(1_000_000_000)).unwrap_or(i64::MAX);
    }
    let pinned = !args.no_pin;
    let fused = bench_config(&base, LayoutKind::Config, args.waits, pinned);
    let split = bench_config(
        &base,
        LayoutKind::Split {
            signal_core: Some(args.split_cores[0]),
            order_core: Some(args.split_cores[1]),
        },
        args.waits,
        pinned,
    );
    let inline = bench_config(
        &base,
        LayoutKind::Inline {
            feed_core: Some(args.inline_cores[0]),
            journal_core: Some(args.inline_cores[1]),
        },
        args.waits,
        pinned,
    );
    let mut immediate = fused.clone();
    immediate.runtime.durability = SendDurability::Immediate;
    println!(
        "config: {} (hash {:016x}); durability {}; rings {} / {} slots; journal segments {} MiB; quote conflation off (every input processed)",
        base.file,
        base.config_hash(),
        fused.runtime.durability.name(),
        fused.runtime.input_ring,
        fused.runtime.output_ring,
        fused.runtime.journal_segment_mib
    );
    println!("layout (config): {}", fused.runtime.describe());
    println!("layout (split):  {}", split.runtime.describe());
    println!("layout (inline): {}", inline.runtime.describe());

    let rec = record(&fused)?;
    verify_replay(&fused, &rec)?;
    check_recording(&rec)?;
    println!(
        "recorded: {} inputs (sequences 1..={} in order), {} outputs, {} OrderNew; replay verified identical",
        rec.inputs.len(),
        rec.inputs.len(),
        rec.outputs.len(),
        order_news(&rec)
    );

    let feed_core = feed_spec(&fused)?.core;
    let chain_core = first_stage_core(&fused);
    let peer_core = input_peer_core(&fused);
    let hop_cores = match (pinned, feed_core, peer_core) {
        (true, Some(f), Some(c)) if f != c => Some((
            core_affinity::CoreId { id: f },
            core_affinity::CoreId { id: c },
        )),
        _ => None,
    };
    let hop_cfg = HopConfig {
        messages: args.hop_messages,
        warmup: (args.hop_messages / 10).max(1),
        interval: Duration::from_nanos(args.hop_interval_ns),
        capacity: 1024,
        cores: hop_cores,
    };
    println!(
        "feed thread (the live feed loop, spawned per run): core {}; chain core {}; input ring's consumer core {}; hop floor: {} + {} warm-up messages of 64 B, one every {} ns, {}",
        feed_core.map_or("–".into(), |c| c.to_string()),
        chain_core.map_or("–".into(), |c| c.to_string()),
        peer_core.map_or("–".into(), |c| c.to_string()),
        hop_cfg.messages,
        hop_cfg.warmup,
        args.hop_interval_ns,
        hop_cores.map_or("not pinned".into(), |(p, c)| format!(
            "producer on core {}, consumer on core {}",
            p.id, c.id
        ))
    );

    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let root = tempfile::Builder::new()
        .prefix("pipeline_bench")
        .tempdir_in(&parent)
        .with_context(|| format!("temp dir in {}", parent.display()))?;
    println!("journals under {}", root.path().display());

    let mut reps = Vec::with_capacity(args.repeat);
    for r in 1..=args.repeat {
        let rep = repetition(
            &args,
            &rec,
            &fused,
            &split,
            &immediate,
            &inline,
            &hop_cfg,
            chain_core,
            root.path(),
            r,
        )?;
        if r == 1 {
            println!(
                "threads and the CPUs they may run on (checked against the layout): config layout: {}; split layout: {}",
                rep.paced[0].pins, rep.flat[1].2.pins
            );
        }
        println!("{}", rep_line(r, &rep));
        reps.push(rep);
    }
    println!("load average at end: {}", loadavg().trim());
    println!();
    print_tables(&args, &reps, nproc);
    Ok(())
}

#[allow(
    clippy::too_many_arguments,
    reason = "a plain helper of main, called once"
)]
fn repetition(
    args: &Args,
    rec: &tickrail_bench::stage_harness::Recording,
    fused: &EngineConfig,
    split: &EngineConfig,
    immediate: &EngineConfig,
    inline: &EngineConfig,
    hop_cfg: &HopConfig,
    chain_core: Option<usize>,
    root: &Path,
    r: usize,
) -> Result<Rep> {
    let hop_spin = hop(Peer::Ours(WaitKind::BusySpin), hop_cfg)
        .context("hop floor (busy-spin)")?
        .latency;
    let hop_yield = hop(Peer::Ours(WaitKind::Yield), hop_cfg)
        .context("hop floor (yield)")?
        .latency;
    let run_dir = |what: &str| root.join(format!("rep{r}-{what}"));
    let mut paced = Vec::with_capacity(args.rates.len());
    for &rate in &args.rates {
        let dir = run_dir(&format!("paced-{rate}"));
        let p = run_paced(fused, rec, rate, &dir).with_context(|| format!("paced {rate}/s"))?;
        remove(&dir)?;
        paced.push(p);
    }
    let mut flat = Vec::new();
    for (label, cfg) in [
        ("threaded, config layout", fused),
        ("threaded, split layout", split),
        ("threaded, config layout, durability immediate", immediate),
        ("threaded, chain inline on the feed thread", inline),
    ] {
        let dir = run_dir("flat");
        let f = run_flat_out(cfg, rec, &dir).with_context(|| format!("flat out: {label}"))?;
        remove(&dir)?;
        flat.push((label, cfg.runtime.describe(), f));
    }
    let single = single_thread_floor(fused, rec, chain_core)?;
    Ok(Rep {
        hop_spin,
        hop_yield,
        paced,
        flat,
        single,
    })
}

fn remove(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))
}

/// The fused chain over the recorded inputs on one thread (pinned to the chain's core): no
/// rings, no journal, no Sequencer.
fn single_thread_floor(
    cfg: &EngineConfig,
    rec: &tickrail_bench::stage_harness::Recording,
    core: Option<usize>,
) -> Result<Measured> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let _ = pin(core);
            measure_stage(&rec.inputs, rec.max_outputs, || chain(cfg))
        })
        .join()
        .map_err(|_| anyhow::anyhow!("single-thread floor panicked"))?
    })
}

fn p(l: &Latency) -> String {
    format!("p50 {} / p99 {} / max {}", l.p50, l.p99, l.max)
}

fn rep_line(r: usize, rep: &Rep) -> String {
    let mut s = format!(
        "rep {r}: hop floor ring busy-spin p50 {} ns, yield p50 {} ns;",
        rep.hop_spin.p50, rep.hop_yield.p50
    );
    for run in &rep.paced {
        let g = &run.gateway;
        let _ = write!(
            s,
            " {}/s: tick-to-order corrected {} ns, uncorrected {} ns, {} orders, offer lag p99 {} ns, {} full;",
            run.rate,
            g.corrected.as_ref().map_or("–".into(), p),
            p(&g.uncorrected),
            g.order_news,
            run.offer_lag.p99,
            run.full_retries
        );
    }
    for (label, _, f) in &rep.flat {
        let _ = write!(
            s,
            " flat out {label}: {:.2} M inputs/s (feed side {:.2});",
            f.minputs_per_s(),
            f.inputs as f64 / (f.feed_ns.max(1) as f64 / 1e9) / 1e6
        );
    }
    let _ = write!(
        s,
        " single-thread chain {:.2} M inputs/s",
        rep.single.mcalls_per_s()
    );
    s
}

/// Index of the median of `xs` by `key`.
fn median_idx(n: usize, key: impl Fn(usize) -> f64) -> usize {
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| key(a).total_cmp(&key(b)));
    idx[n / 2]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn row(out: &mut String, first: &str, what: &str, l: &Latency) {
    let _ = writeln!(
        out,
        "| {first} | {what} | {} | {} | {} | {} | {} | {} |",
        l.samples, l.p50, l.p99, l.p999, l.p9999, l.max
    );
}

fn print_tables(args: &Args, reps: &[Rep], nproc: usize) {
    let n = reps.len();
    // Hop floor.
    let mut t = String::from(
        "| hop floor (our ring, 64 B, feed core → chain core) | samples | p50 ns | p99 | p99.9 | p99.99 | max |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (what, get) in [
        ("busy-spin", (|r: &Rep| r.hop_spin) as fn(&Rep) -> Latency),
        ("yield", |r: &Rep| r.hop_yield),
    ] {
        let i = median_idx(n, |k| get(&reps[k]).p50 as f64);
        let l = get(&reps[i]);
        let _ = writeln!(
            t,
            "| {what} | {} | {} | {} | {} | {} | {} |",
            l.samples, l.p50, l.p99, l.p999, l.p9999, l.max
        );
    }
    println!("{t}");

    // Tick-to-order per rate, the median repetition by corrected p50.
    let mut lat = String::from(
        "| rate (inputs/s) | measure | samples | p50 ns | p99 | p99.9 | p99.99 | max |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut brk = String::from(
        "| rate (inputs/s) | part | samples | p50 ns | p99 | p99.9 | p99.99 | max |\n\
         |---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (k, &rate) in args.rates.iter().enumerate() {
        let i = median_idx(n, |j| {
            reps[j].paced[k].gateway.corrected.map_or(0, |l| l.p50) as f64
        });
        let run = &reps[i].paced[k];
        let g = &run.gateway;
        let first = format!("{rate}");
        if let Some(c) = &g.corrected {
            row(
                &mut lat,
                &first,
                "**tick-to-order, corrected** (intended offer → gateway reads OrderNew)",
                c,
            );
        }
        row(
            &mut lat,
            &first,
            "tick-to-order, uncorrected (published → gateway reads OrderNew)",
            &g.uncorrected,
        );
        if let Some(c) = &g.corrected_sent {
            row(
                &mut lat,
                &first,
                "tick-to-send, corrected (intended offer → OrderNew passes the journal gate)",
                c,
            );
        }
        row(
            &mut lat,
            &first,
            &format!(
                "offer lag (intended → published; every input; {} ring-full retries)",
                run.full_retries
            ),
            &run.offer_lag,
        );
        for s in &run.stages {
            if let Some(hop) = &s.hop {
                row(
                    &mut brk,
                    &first,
                    &format!(
                        "input hop → `{}` thread (published → processing starts)",
                        s.thread
                    ),
                    hop,
                );
            }
            if let Some(l) = &s.signal {
                row(
                    &mut brk,
                    &first,
                    &format!("signal stage (`{}`)", s.thread),
                    l,
                );
            }
            if let Some(l) = &s.order {
                row(
                    &mut brk,
                    &first,
                    &format!("order stage (`{}`)", s.thread),
                    l,
                );
            }
        }
        row(
            &mut brk,
            &first,
            "output hop → gateway (every output)",
            &g.output_hop,
        );
        row(
            &mut brk,
            &first,
            "per OrderNew: cause published → OrderNew published (input hop + queueing + stages)",
            &g.order_chain,
        );
        row(
            &mut brk,
            &first,
            "per OrderNew: OrderNew published → gateway reads it (output hop)",
            &g.order_out_hop,
        );
        row(
            &mut brk,
            &first,
            "journal gate wait (every order request)",
            &g.gate,
        );
    }
    println!("{lat}");
    println!("{brk}");

    // Throughput, the median repetition per row.
    let mut tp = String::from(
        "| what | layout | inputs | journaled records | elapsed ms | M inputs/s | × single-thread chain | feed side: M inputs/s (first offer → last output read) | ring-full retries |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let single_i = median_idx(n, |j| reps[j].single.mcalls_per_s());
    let single = &reps[single_i].single;
    let rows = reps[0].flat.len();
    let mut config_meps = 0.0;
    let mut inline_meps = 0.0;
    for k in 0..rows {
        let i = median_idx(n, |j| reps[j].flat[k].2.minputs_per_s());
        let (label, layout, f) = &reps[i].flat[k];
        if k == 0 {
            config_meps = f.minputs_per_s();
        }
        if k + 1 == rows {
            inline_meps = f.minputs_per_s();
        }
        let _ = writeln!(
            tp,
            "| {label} | `{layout}` | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} |",
            f.inputs,
            f.journaled,
            f.elapsed_ns as f64 / 1e6,
            f.minputs_per_s(),
            f.minputs_per_s() / single.mcalls_per_s(),
            f.inputs as f64 / (f.feed_ns.max(1) as f64 / 1e9) / 1e6,
            f.full_retries
        );
    }
    let _ = writeln!(
        tp,
        "| floor: fused chain on one thread (no Sequencer, rings or journal) | one thread | {} | – | {:.1} | {:.2} | 1.00 | – | – |",
        single.calls,
        single.elapsed.as_secs_f64() * 1e3,
        single.mcalls_per_s()
    );
    println!("{tp}");

    // The targets, each judged per repetition (same run), median over repetitions.
    let lowest = args
        .rates
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| **r)
        .map_or(0, |(k, _)| k);
    let ratio = |r: &Rep, l: Option<Latency>| {
        l.map_or(f64::NAN, |l| l.p50 as f64 / r.hop_spin.p50.max(1) as f64)
    };
    let e2e = median(
        reps.iter()
            .map(|r| ratio(r, r.paced[lowest].gateway.corrected))
            .collect(),
    );
    let e2e_unc = median(
        reps.iter()
            .map(|r| ratio(r, Some(r.paced[lowest].gateway.uncorrected)))
            .collect(),
    );
    let e2e_sent = median(
        reps.iter()
            .map(|r| ratio(r, r.paced[lowest].gateway.corrected_sent))
            .collect(),
    );
    let i = median_idx(n, |j| {
        reps[j].paced[lowest].gateway.corrected.map_or(0, |l| l.p50) as f64
    });
    println!(
        "target: end-to-end (tick-to-order, corrected, {} inputs/s) p50 ≤ {E2E_TARGET_RATIO}× ring hop floor p50 (busy-spin) of the same run: \
         median ratio {e2e:.2} (median repetition: {} ns vs {} ns) → {}",
        args.rates[lowest],
        reps[i].paced[lowest].gateway.corrected.map_or(0, |l| l.p50),
        reps[i].hop_spin.p50,
        verdict(e2e <= E2E_TARGET_RATIO)
    );
    println!(
        "  for reference: uncorrected tick-to-order {e2e_unc:.2}×; corrected tick-to-send (after the before-send journal gate) {e2e_sent:.2}×"
    );
    let best = reps
        .iter()
        .flat_map(|r| r.flat.iter().map(|(_, _, f)| f.minputs_per_s()))
        .fold(0.0f64, f64::max);
    println!(
        "target: ≥ {THROUGHPUT_TARGET_MEPS} M events/s sustained through the threaded pipeline with journaling on: \
         config layout {config_meps:.2} M inputs/s (median), best of every layout and repetition {best:.2} → {}",
        verdict(config_meps >= THROUGHPUT_TARGET_MEPS)
    );
    println!(
        "target: ≥ {THROUGHPUT_TARGET_MEPS} M inputs/s through Sequencer, chain and journaler with the chain inline on the feed thread \
         (config/small.toml's layout): {inline_meps:.2} M inputs/s (median), {:.2}× the single-thread chain → {}",
        inline_meps / single.mcalls_per_s(),
        verdict(inline_meps >= THROUGHPUT_TARGET_MEPS)
    );
    if config_meps.min(inline_meps) < THROUGHPUT_TARGET_MEPS
        && single.mcalls_per_s() >= THROUGHPUT_TARGET_MEPS
    {
        println!(
            "  the fused chain alone does {:.2} M inputs/s ({:.0} ns/input) on this machine: what is missing is the rest of \
             the path — the Sequencer, the clock readings that stamp and time every input, the rings and the journaler; \
             the feed side column shows the feed thread's own rate",
            single.mcalls_per_s(),
            single.mean_ns(),
        );
    } else if config_meps.min(inline_meps) < THROUGHPUT_TARGET_MEPS {
        println!(
            "  out of reach here: the fused chain alone, on one thread with no rings and no journal, does {:.2} M inputs/s \
             ({:.0} ns/input) on this machine, so {THROUGHPUT_TARGET_MEPS} M/s would need the chain itself ~{:.1}× faster \
             or spread over more cores than this {}-vCPU VM has",
            single.mcalls_per_s(),
            single.mean_ns(),
            THROUGHPUT_TARGET_MEPS / single.mcalls_per_s(),
            nproc
        );
    }
}
