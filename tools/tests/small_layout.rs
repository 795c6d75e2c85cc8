//! `config/small.toml`: the chain inline on the feed thread, the journaler on the other core.
//! A run on it keeps the replay guarantee of every layout (`tickrail replay RUN --verify`
//! finds the journaled outputs identical), keeps `before-send` (every order request waited
//! for the journal), and allocates nothing on the feed thread (market, Sequencer, chain,
//! gateway side) or the journaler after warm-up.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{text, tickrail};
use tickrail_engine::alloc_count::{thread_allocations, CountingAllocator};
use tickrail_engine::config::{EngineConfig, FeedSpec, Pace, SendDurability, ThreadRole};
use tickrail_engine::runtime::counters::get;
use tickrail_engine::runtime::probe::set_alloc_probe;
use tickrail_engine::runtime::LiveControl;
use tickrail_gateways::live::run_live;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn small_toml() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/small.toml")
}

/// `config/small.toml` with `edits` applied (each `from` must be there), written to
/// `dir/NAME`; unpinned, as tests share the machine.
fn small_config(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut t = std::fs::read_to_string(small_toml()).unwrap();
    for (from, to) in edits
        .iter()
        .chain(&[("core = 0\n", ""), ("core = 1\n", "")])
    {
        assert!(t.contains(from), "{from:?} not in config/small.toml");
        t = t.replacen(from, to, 1);
    }
    let path = dir.join(name);
    std::fs::write(&path, t).unwrap();
    path
}

/// A short market (2 s) at max pace.
const SHORT: [(&str, &str); 2] = [
    (
        "duration_ns = 10_000_000_000",
        "duration_ns = 2_000_000_000",
    ),
    ("pace = \"realtime\"", "pace = \"max\""),
];

/// Runs `tickrail run` on `cfg` into `cwd/r`, then `tickrail replay r --verify`; returns
/// the run's output.
fn run_and_verify(cfg: &Path, cwd: &Path) -> String {
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        cwd,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let v = tickrail(&["replay", "r", "--verify"], cwd);
    let vt = text(&v);
    assert!(v.status.success(), "{vt}");
    assert!(vt.contains("verify      identical:"), "{vt}");
    t
}

/// The count printed after `label` on a line of `t` (`orders      123 new, …`).
fn count_after(t: &str, label: &str) -> u64 {
    t.lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{t}"))
}

#[test]
fn a_run_on_the_small_layout_replays_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = small_config(tmp.path(), "small.toml", &SHORT);
    let t = run_and_verify(&cfg, tmp.path());
    for want in [
        "feed=feed+[signal,order]",
        "chain inline on the `feed` thread",
        "signal stage",
        "order stage",
        "journal gate",
        "closed cleanly",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // Orders were made and sent, and each went through the journal gate.
    let orders = count_after(&t, "orders");
    assert!(orders > 50, "{t}");
    // The manifest records the inline layout.
    let m = tickrail(
        &[
            "journal",
            "inspect",
            "r/inputs",
            "--internal",
            "--kind",
            "manifest",
        ],
        tmp.path(),
    );
    assert!(text(&m).contains("feed+[signal,order]"), "{}", text(&m));
}

#[test]
fn a_tight_output_ring_holds_inputs_back_and_still_replays_identically() {
    // The smallest output ring the inline chain accepts with this config (2 × 64 open
    // orders + 8 × 2 venues + 16 = 160 outputs of one input at most → 256 slots) and a small
    // input ring, at max pace: the feed thread keeps finding the rings short of room, holds
    // inputs back (quotes conflate), and must never wait on the ring it drains itself.
    let tmp = tempfile::tempdir().unwrap();
    let mut edits = SHORT.to_vec();
    edits.push(("input_ring = 65_536", "input_ring = 256"));
    edits.push(("output_ring = 65_536", "output_ring = 256"));
    let cfg = small_config(tmp.path(), "tight.toml", &edits);
    let t = run_and_verify(&cfg, tmp.path());
    assert!(t.contains("closed cleanly"), "{t}");
    println!("{t}");
}

#[test]
fn an_output_ring_smaller_than_one_inputs_outputs_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut edits = SHORT.to_vec();
    edits.push(("output_ring = 65_536", "output_ring = 128"));
    let cfg = small_config(tmp.path(), "small-ring.toml", &edits);
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        tmp.path(),
    );
    let t = text(&o);
    assert!(!o.status.success(), "{t}");
    assert!(
        t.contains("runtime.output_ring = 128 slots") && t.contains("160"),
        "{t}"
    );
    // Refused before the journals were created.
    assert!(!tmp.path().join("r/inputs").exists());
}

#[test]
fn no_allocation_on_the_feed_thread_running_the_chain_or_the_journaler_after_warm_up() {
    assert!(set_alloc_probe(thread_allocations));
    // The counter counts: an allocation on this thread shows.
    let before = thread_allocations();
    std::hint::black_box(vec![1u8; 64]);
    assert!(thread_allocations() > before);

    let mut cfg = EngineConfig::load(small_toml()).unwrap();
    assert!(cfg.runtime.inline_chain);
    let FeedSpec::Synthetic(feed) = &mut cfg.feed;
    feed.duration_ns = 3_000_000_000;
    let rt = &mut cfg.runtime;
    for t in &mut rt.threads {
        t.core = None;
    }
    rt.pace = Pace::Max;
    assert_eq!(rt.durability, SendDurability::BeforeSend);
    rt.progress_interval_ms = 0;
    rt.journal_segment_mib = 256;
    let dir = tempfile::tempdir().unwrap();
    let report = run_live(&cfg, dir.path(), Arc::new(LiveControl::default()), |_| {}).unwrap();
    let c = &report.counters;
    let inputs = get(&c.feed.inputs);
    println!(
        "{inputs} inputs, {} orders, {} fills; tick-to-order {:?}",
        get(&c.feed.new_orders),
        get(&c.feed.fills),
        report.feed.tick_to_order.percentiles()
    );
    assert!(inputs > 20_000 && get(&c.feed.new_orders) > 50);
    // The chain ran on the feed thread, on every input, and reports there.
    assert_eq!(get(&c.chain.inputs), inputs);
    assert!(report.feed.chain.is_none(), "moved to the engine's stages");
    let feed_name = &cfg
        .runtime
        .threads
        .iter()
        .find(|t| t.role == ThreadRole::Feed)
        .unwrap()
        .name;
    assert_eq!(report.engine.stages.len(), 1);
    let (name, part, lat) = &report.engine.stages[0];
    assert_eq!(name, feed_name);
    assert!(part.order_stage().is_some() && part.signal_stage().is_some());
    assert_eq!(lat.hop.count(), 0, "no hop into an inline chain");
    assert_eq!(lat.signal.count(), inputs);
    // Every order request passed the journal gate (before-send), and the journal has all.
    assert_eq!(
        report.feed.journal_gate.count(),
        get(&c.feed.orders_sent) + get(&c.feed.submit_errors)
    );
    assert_eq!(report.engine.journal.inputs, inputs);
    assert!(report.engine.journal.error.is_none() && report.engine.panicked.is_empty());
    // The chain's calls on the feed thread (and the publication of their outputs).
    let a = lat.allocs;
    println!("chain on {name}: {a:?}");
    assert_eq!(a.events, inputs, "{name}: {a:?}");
    assert_eq!(a.at_start, Some(0), "{name}: {a:?}");
    assert_eq!(a.after_warmup_allocations(), Some(0), "{name}: {a:?}");
    // The whole feed thread, the synthetic market (and its simulated venues) included.
    println!("feed thread, all of it: {:?}", report.feed.allocs);
    assert_eq!(report.feed.allocs.events, inputs);
    let j = report.engine.journal.allocs;
    println!("journal: {j:?}");
    assert!(j.events > 20_000);
    assert_eq!(j.after_warmup_allocations(), Some(0), "journal: {j:?}");
}
