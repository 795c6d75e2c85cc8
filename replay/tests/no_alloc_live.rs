//! The hot path does not allocate after start-up: a whole threaded run (synthetic market,
//! Sequencer, fused chain, journaler) under a counting global allocator. The stage threads
//! and the journaler read their own thread's count through the runtime's probe
//! (`tickrail_engine::runtime::probe`) at start, after warm-up and at the end; the counting
//! allocator is `tickrail_engine::alloc_count::CountingAllocator`.
//!
//! Default: 3 s of market time at max pace. `TICKRAIL_SOAK_S=60` runs a longer market.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use tickrail_engine::alloc_count::{thread_allocations, CountingAllocator};
use tickrail_engine::config::{
    EngineConfig, FeedSpec, Pace, SendDurability, StageName, ThreadRole, ThreadSpec,
};
use tickrail_engine::runtime::counters::get;
use tickrail_engine::runtime::probe::set_alloc_probe;
use tickrail_engine::runtime::LiveControl;
use tickrail_engine::runtime::WaitKind;
use tickrail_gateways::live::run_live;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

#[test]
fn no_allocation_on_stage_and_journal_threads_after_warm_up() {
    assert!(set_alloc_probe(thread_allocations));
    // The counter counts: an allocation on this thread shows.
    let before = thread_allocations();
    std::hint::black_box(vec![1u8; 64]);
    assert!(thread_allocations() > before);
    let seconds: i64 = std::env::var("TICKRAIL_SOAK_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let mut cfg = EngineConfig::load(path).unwrap();
    let FeedSpec::Synthetic(feed) = &mut cfg.feed;
    feed.duration_ns = seconds * 1_000_000_000;
    let rt = &mut cfg.runtime;
    let spec = |name: &str, role, wait| ThreadSpec {
        name: name.into(),
        role,
        core: None,
        wait,
    };
    rt.threads = vec![
        spec("feed", ThreadRole::Feed, WaitKind::Yield),
        spec(
            "signal",
            ThreadRole::Stages(vec![StageName::Signal]),
            WaitKind::Yield,
        ),
        spec(
            "order",
            ThreadRole::Stages(vec![StageName::Order]),
            WaitKind::Yield,
        ),
        spec("journal", ThreadRole::Journal, WaitKind::Block),
    ];
    rt.pace = Pace::Max;
    rt.durability = SendDurability::BeforeSend;
    rt.progress_interval_ms = 0;
    rt.journal_segment_mib = 256;
    let dir = tempfile::tempdir().unwrap();
    let report = run_live(&cfg, dir.path(), Arc::new(LiveControl::default()), |_| {}).unwrap();
    let inputs = get(&report.counters.feed.inputs);
    println!(
        "{inputs} inputs, {} orders, {} fills",
        get(&report.counters.feed.new_orders),
        get(&report.counters.feed.fills)
    );
    assert!(inputs > 20_000 && get(&report.counters.feed.new_orders) > 50);
    for (name, _, lat) in &report.engine.stages {
        let a = lat.allocs;
        println!("{name}: {a:?}");
        assert!(a.events > 20_000, "{name}: {a:?}");
        assert_eq!(a.after_warmup_allocations(), Some(0), "{name}: {a:?}");
    }
    let j = report.engine.journal.allocs;
    println!("journal: {j:?}");
    assert!(j.events > 20_000);
    assert_eq!(j.after_warmup_allocations(), Some(0), "journal: {j:?}");
}
