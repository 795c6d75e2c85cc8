//! The threaded engine against the synthetic market: every layout journals a run whose
//! inputs, replayed through the same stages on one thread, give the journaled outputs
//! byte for byte; the kill switch stops new orders in a threaded run too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tickrail_engine::config::{
    EngineConfig, FeedSpec, Pace, SendDurability, StageName, ThreadRole, ThreadSpec,
};
use tickrail_engine::runtime::counters::get;
use tickrail_engine::runtime::WaitKind;
use tickrail_engine::runtime::{LiveControl, LiveReport};
use tickrail_engine::{decode_event, Event, EventBody, OperatorCommand};
use tickrail_gateways::live::{run_live, MarketReport};
use tickrail_journal::JournalReader;
use tickrail_replay::{verify_run, Verdict};

fn config(stage_threads: &[&[StageName]], durability: SendDurability) -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let mut cfg = EngineConfig::load(path).unwrap();
    let FeedSpec::Synthetic(feed) = &mut cfg.feed;
    feed.duration_ns = 2_000_000_000;
    let rt = &mut cfg.runtime;
    // Tests share 2 cores with other tests: nobody spins, nobody is pinned.
    let mut threads = vec![ThreadSpec {
        name: "feed".into(),
        role: ThreadRole::Feed,
        core: None,
        wait: WaitKind::Yield,
    }];
    for (i, stages) in stage_threads.iter().enumerate() {
        threads.push(ThreadSpec {
            name: format!("stages{i}"),
            role: ThreadRole::Stages(stages.to_vec()),
            core: None,
            wait: WaitKind::Yield,
        });
    }
    threads.push(ThreadSpec {
        name: "journal".into(),
        role: ThreadRole::Journal,
        core: None,
        wait: WaitKind::Block,
    });
    rt.threads = threads;
    rt.pace = Pace::Max;
    rt.durability = durability;
    rt.input_ring = 1 << 12;
    rt.output_ring = 1 << 12;
    rt.journal_segment_mib = 8;
    rt.progress_interval_ms = 0;
    cfg
}

fn run(cfg: &EngineConfig, dir: &Path, control: Arc<LiveControl>) -> LiveReport<MarketReport> {
    let report = run_live(cfg, dir, control, |_| {}).unwrap();
    assert!(
        report.engine.panicked.is_empty(),
        "{:?}",
        report.engine.panicked
    );
    assert_eq!(report.engine.journal.error, None);
    report
}

fn events(dir: &Path) -> Vec<Event> {
    let mut r = JournalReader::open(dir).unwrap();
    let mut v = Vec::new();
    while let Some(rec) = r.next().unwrap() {
        v.push(decode_event(&rec).unwrap());
    }
    v
}

fn check_replays_exactly(cfg: &EngineConfig) {
    let dir = tempfile::tempdir().unwrap();
    let report = run(cfg, dir.path(), Arc::new(LiveControl::default()));
    let c = &report.counters;
    let f = &c.feed;
    println!(
        "layout {}: inputs {}, outputs {}, orders {}, fills {}, journal {} in / {} out, \
         tick-to-order p50 {} ns",
        cfg.runtime.describe(),
        get(&f.inputs),
        get(&f.outputs),
        get(&f.orders_sent),
        get(&f.fills),
        report.engine.journal.inputs,
        report.engine.journal.outputs,
        report.feed.tick_to_order.percentiles()[0]
    );
    // It traded, and everything that went through the rings is in the journal.
    assert!(get(&f.inputs) > 10_000);
    assert!(get(&f.new_orders) > 10 && get(&f.fills) > 10);
    assert_eq!(
        get(&f.submit_errors),
        0,
        "{:?}",
        report.feed.first_submit_error
    );
    assert_eq!(report.engine.journal.inputs, get(&f.inputs));
    assert_eq!(report.engine.journal.outputs, get(&f.outputs));
    assert_eq!(get(&c.chain.inputs), get(&f.inputs));
    assert_eq!(get(&c.chain.lost_outputs), 0);
    // Replayed on one thread, the journaled inputs give the journaled outputs exactly.
    match verify_run(cfg, dir.path()).unwrap() {
        Verdict::Identical { inputs, outputs } => {
            assert_eq!(inputs, get(&f.inputs));
            assert_eq!(outputs, get(&f.outputs));
        }
        d => panic!("diverged: {d:?}"),
    }
}

#[test]
fn fused_layout_replays_exactly() {
    check_replays_exactly(&config(&[&StageName::ALL], SendDurability::BeforeSend));
}

#[test]
fn split_layout_replays_exactly() {
    check_replays_exactly(&config(
        &[&[StageName::Signal], &[StageName::Order]],
        SendDurability::Immediate,
    ));
}

#[test]
fn a_tampered_output_journal_is_caught() {
    // The verifier is not a tautology: a run verified against another seed's outputs
    // diverges at the first differing output.
    let cfg = config(&[&StageName::ALL], SendDurability::Immediate);
    let dir = tempfile::tempdir().unwrap();
    run(&cfg, dir.path(), Arc::new(LiveControl::default()));
    let mut other = cfg.clone();
    other.strategy.quote = None;
    match verify_run(&other, dir.path()).unwrap() {
        Verdict::Diverged { input_sequence, .. } => assert!(input_sequence.is_some()),
        v => panic!("a different strategy verified identical: {v:?}"),
    }
}

#[test]
fn kill_switch_stops_new_orders_in_a_threaded_run() {
    let mut cfg2 = config(&[&StageName::ALL], SendDurability::Immediate);
    cfg2.runtime.progress_interval_ms = 1;
    // In real time (2 s), so that the run is still going when the kill switch is thrown.
    cfg2.runtime.pace = Pace::Realtime;
    let dir2 = tempfile::tempdir().unwrap();
    let ctl = Arc::new(LiveControl::default());
    let mut thrown = false;
    let report = run_live(&cfg2, dir2.path(), ctl.clone(), |c| {
        if !thrown && get(&c.feed.new_orders) >= 20 {
            ctl.kill.store(true, Ordering::Release);
            thrown = true;
        }
    })
    .unwrap();
    assert!(thrown, "orders never flowed");
    assert_eq!(get(&report.counters.feed.kill_switches), 1);
    let inputs = events(&dir2.path().join("inputs"));
    let kill_seq = inputs
        .iter()
        .find(|e| {
            matches!(
                e.body,
                EventBody::Command {
                    command: OperatorCommand::KillSwitch,
                    ..
                }
            )
        })
        .map(|e| e.header.sequence)
        .unwrap();
    let outputs = events(&dir2.path().join("outputs"));
    let before = outputs
        .iter()
        .filter(|e| matches!(e.body, EventBody::OrderNew { .. }))
        .filter(|e| e.header.cause_sequence < kill_seq)
        .count();
    let after = outputs
        .iter()
        .filter(|e| matches!(e.body, EventBody::OrderNew { .. }))
        .filter(|e| e.header.cause_sequence >= kill_seq)
        .count();
    println!("kill switch at input {kill_seq}: {before} new orders before, {after} after");
    assert!(before >= 20);
    assert_eq!(after, 0);
    assert!(matches!(
        verify_run(&cfg2, dir2.path()).unwrap(),
        Verdict::Identical { .. }
    ));
}

#[test]
fn a_tiny_ring_drops_nothing() {
    // 4-slot rings are full most of the time: book events and execution reports wait for
    // room (never conflated, never dropped), and the run still replays exactly.
    let mut cfg = config(&[&StageName::ALL], SendDurability::BeforeSend);
    cfg.runtime.input_ring = 4;
    cfg.runtime.output_ring = 4;
    let dir = tempfile::tempdir().unwrap();
    let report = run(&cfg, dir.path(), Arc::new(LiveControl::default()));
    let f = &report.counters.feed;
    println!(
        "ring full {} times; {} market events, {} inputs",
        get(&f.ring_full),
        report.feed.market.synthetic().unwrap().events,
        get(&f.inputs)
    );
    assert!(get(&f.ring_full) > 0);
    assert_eq!(get(&f.conflated), 0);
    // Every market event and every timer went in.
    assert!(report.feed.timers > 0);
    assert_eq!(get(&f.timers), report.feed.timers);
    assert_eq!(
        get(&f.inputs),
        report.feed.market.synthetic().unwrap().events + report.feed.timers
    );
    assert!(matches!(
        verify_run(&cfg, dir.path()).unwrap(),
        Verdict::Identical { .. }
    ));
}

#[test]
fn a_session_start_enters_a_threaded_run_once_at_its_boundary() {
    use tickrail_engine::timers::{SessionSchedule, SESSION_START};
    // The synthetic market starts at 2023-11-14 22:13:20 UTC, 17:13:20 in New York: a
    // session starting at 17:13:21 begins one second into the 2-second run.
    let mut cfg = config(&[&StageName::ALL], SendDurability::BeforeSend);
    cfg.risk.session = Some(SessionSchedule::new("17:13:21", "America/New_York").unwrap());
    let boundary = 1_700_000_001_000_000_000;
    let dir = tempfile::tempdir().unwrap();
    run(&cfg, dir.path(), Arc::new(LiveControl::default()));
    let inputs = events(&dir.path().join("inputs"));
    let starts: Vec<usize> = inputs
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(e.body, EventBody::Timer { timer_id, .. } if timer_id == SESSION_START)
        })
        .map(|(k, _)| k)
        .collect();
    let [k] = starts[..] else {
        panic!("one session start expected, got {}", starts.len());
    };
    assert!(matches!(
        inputs[k].body,
        EventBody::Timer { deadline_ns, .. } if deadline_ns == boundary
    ));
    // At the first event time at or after the boundary: every market input before it
    // was received before the boundary, and the next one at or after it.
    let market = |e: &&Event| !matches!(e.body, EventBody::Timer { .. });
    assert!(inputs[..k]
        .iter()
        .filter(market)
        .all(|e| e.header.receive_ts_ns < boundary));
    let next = inputs[k + 1..].iter().find(market).unwrap();
    assert!(next.header.receive_ts_ns >= boundary);
    assert!(matches!(
        verify_run(&cfg, dir.path()).unwrap(),
        Verdict::Identical { .. }
    ));
}
