//! Snapshots restore the chain exactly: a chain built from the config, given the snapshot
//! of another chain at input `S`, produces from `S + 1` on the same outputs byte for byte
//! (`archive_event`) and the same state (re-snapshots are equal), on the synthetic market
//! of `config/default.toml` with operator commands mixed in.
#![allow(clippy::unwrap_used)]

use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::snapshot::{
    decode_chain_into, decode_stages_into, encode_chain, encode_stages, ChainState, SnapshotError,
};
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::snapshot_file::{load_snapshot, write_snapshot, SnapshotMeta};
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{
    archive_event, Event, EventBody, EventHeader, EventKind, InstrumentId, OperatorCommand,
};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket, SYNTHETIC_START_NS};
use tickrail_replay::{Recorder, Runner};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    EngineConfig::load(path).unwrap()
}

fn command(at_ms: i64, command: OperatorCommand) -> Event {
    let at = SYNTHETIC_START_NS + at_ms * 1_000_000;
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: at,
            receive_ts_ns: at,
            instrument: InstrumentId::new(0),
            price_scale: 0,
            qty_scale: 0,
            source: 0,
        },
        EventBody::Command { command, arg: 0 },
    )
}

/// The inputs and outputs of a whole synthetic run with operator commands.
fn record(cfg: &EngineConfig) -> Recorder {
    let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg)).unwrap();
    let chain = build_chain(cfg, BookSizing::default()).unwrap();
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(cfg),
    )
    .with_timers(cfg.timers());
    for c in [
        command(2_000, OperatorCommand::Halt),
        command(2_400, OperatorCommand::Resume),
        command(3_500, OperatorCommand::CancelAll),
        command(5_000, OperatorCommand::Flatten),
        command(8_500, OperatorCommand::KillSwitch),
        command(9_000, OperatorCommand::ReleaseKillSwitch),
    ] {
        runner.schedule(c);
    }
    let mut rec = Recorder::default();
    runner.run(&mut rec);
    rec
}

type Archived = [u8; tickrail_engine::codec::ARCHIVED_EVENT_BYTES];

/// Feeds `inputs` to `chain` (and `sequencer`), returning the outputs archived.
fn feed(
    chain: &mut TradingChain,
    sequencer: &mut Sequencer,
    out: &mut Outbox,
    inputs: &[Event],
) -> Vec<Archived> {
    let mut outputs = Vec::new();
    for e in inputs {
        sequencer.observe(e);
        chain.on_event(e, out);
        outputs.extend(out.events().iter().map(archive_event));
        out.clear();
    }
    outputs
}

fn fresh(cfg: &EngineConfig) -> (TradingChain, Sequencer) {
    let mut sequencer = Sequencer::new(1, cfg.instruments.len());
    for v in &cfg.venues {
        sequencer.register_source(v.id);
    }
    (build_chain(cfg, BookSizing::default()).unwrap(), sequencer)
}

#[test]
fn a_restored_chain_continues_exactly_as_the_original() {
    let cfg = config();
    let rec = record(&cfg);
    let recorded: Vec<Archived> = rec.outputs.iter().map(archive_event).collect();
    let n = rec.inputs.len();
    assert!(n > 120_000, "{n} inputs");
    assert_eq!(
        rec.inputs
            .iter()
            .filter(|e| e.kind() == EventKind::Command)
            .count(),
        6
    );
    let max = max_outputs_per_event(&cfg);
    let dir = tempfile::tempdir().unwrap();

    for cut in [1, 2_000, 30_000, 100_000, n - 1] {
        // The original: inputs 1 ..= cut.
        let (mut a, mut seq_a) = fresh(&cfg);
        let mut out_a = Outbox::new(max, 1);
        let mut outputs_a = feed(&mut a, &mut seq_a, &mut out_a, &rec.inputs[..cut]);
        let last = rec.inputs[cut - 1].header;
        assert_eq!(last.sequence, cut as u64);

        // Snapshot to a file and back.
        let meta = SnapshotMeta::new(
            &cfg,
            last.sequence,
            out_a.next_sequence(),
            last.receive_ts_ns,
        );
        let t0 = clock::now_ns();
        let path = write_snapshot(dir.path(), &meta, &a, &seq_a).unwrap();
        let t1 = clock::now_ns();
        let (got, mut b, mut seq_b) = load_snapshot(&path, &cfg).unwrap();
        let t2 = clock::now_ns();
        eprintln!(
            "after input {cut:>6}: {:>8} bytes (chain state {} bytes), write {:>5} µs, load {:>5} µs",
            std::fs::metadata(&path).unwrap().len(),
            encode_chain(&a).len(),
            (t1 - t0) / 1_000,
            (t2 - t1) / 1_000,
        );
        assert_eq!(got, meta);
        assert_eq!(seq_b, seq_a);
        assert_eq!(encode_chain(&b), encode_chain(&a), "re-snapshot at {cut}");

        // The per-stage API gives the same state and the same bytes.
        let (mut c, _) = fresh(&cfg);
        c.upstream.restore_state(a.upstream.save_state()).unwrap();
        c.downstream
            .restore_state(a.downstream.save_state())
            .unwrap();
        assert_eq!(encode_chain(&c), encode_chain(&a));
        let parts = ChainState {
            signal: Some(a.upstream.save_state()),
            orders: Some(a.downstream.save_state()),
        };
        assert_eq!(parts.encode(), encode_chain(&a));
        let signal_only = encode_stages(Some(&a.upstream), None);
        let (mut d, _) = fresh(&cfg);
        decode_stages_into(Some(&mut d.upstream), None, &signal_only).unwrap();
        assert!(matches!(
            decode_stages_into(None, Some(&mut d.downstream), &signal_only),
            Err(SnapshotError::MissingStage(_))
        ));
        decode_stages_into(
            None,
            Some(&mut d.downstream),
            &encode_stages(None, Some(&a.downstream)),
        )
        .unwrap();
        assert_eq!(encode_chain(&d), encode_chain(&a));
        let mut e = fresh(&cfg).0;
        decode_chain_into(&mut e, &encode_chain(&a)).unwrap();
        assert_eq!(encode_chain(&e), encode_chain(&a));

        // Both go on with the same inputs: the same outputs, byte for byte, and the
        // restored chain allocates no more than the original.
        let mut out_b = Outbox::new(max, got.next_output_sequence);
        let rest = &rec.inputs[cut..];
        let (alloc_a, rest_a) = allocations_in(|| feed(&mut a, &mut seq_a, &mut out_a, rest));
        let (alloc_b, rest_b) = allocations_in(|| feed(&mut b, &mut seq_b, &mut out_b, rest));
        // Pushing into `outputs` allocates the same in both.
        assert!(
            alloc_b <= alloc_a,
            "after input {cut}: the restored chain allocated {alloc_b} times, the original {alloc_a}"
        );
        assert_eq!(rest_a.len(), rest_b.len(), "output count after input {cut}");
        if let Some(i) = (0..rest_a.len()).find(|&i| rest_a[i] != rest_b[i]) {
            panic!("after input {cut}: output {i} of the rest differs");
        }
        assert_eq!(
            encode_chain(&b),
            encode_chain(&a),
            "final state after input {cut}"
        );
        assert_eq!(seq_b, seq_a);
        assert_eq!(out_b.next_sequence(), out_a.next_sequence());

        // And both are the recorded run.
        outputs_a.extend(rest_a);
        assert!(
            outputs_a == recorded,
            "the chain reproduces the recorded run"
        );
    }
}

#[test]
fn a_chain_of_another_shape_refuses_the_state() {
    let cfg = config();
    let (a, _) = fresh(&cfg);
    let bytes = encode_chain(&a);
    // Two instruments on one venue, not three on two: refused, and nothing changed.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/backtest-binance.toml"
    );
    let other = EngineConfig::load(path).unwrap();
    let mut b = build_chain(&other, BookSizing::default()).unwrap();
    let before = encode_chain(&b);
    let err = decode_chain_into(&mut b, &bytes).unwrap_err();
    assert!(matches!(err, SnapshotError::Shape { .. }), "{err}");
    eprintln!("{err}");
    assert_eq!(encode_chain(&b), before, "nothing changed");
    // The order stage alone is refused as well, the signal stage untouched.
    let err = decode_stages_into(Some(&mut b.upstream), Some(&mut b.downstream), &bytes);
    assert!(matches!(err, Err(SnapshotError::Shape { .. })));
    assert_eq!(encode_chain(&b), before, "nothing changed");

    // Cut or padded bytes do not decode.
    let (mut c, _) = fresh(&cfg);
    assert!(matches!(
        decode_chain_into(&mut c, &bytes[..bytes.len() - 1]),
        Err(SnapshotError::Decode(_))
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(
        decode_chain_into(&mut c, &longer),
        Err(SnapshotError::TrailingBytes(1))
    ));
    decode_chain_into(&mut c, &bytes).unwrap();
}
