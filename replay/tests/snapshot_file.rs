//! Snapshot files (`tickrail_engine::runtime::snapshot_file`) of a real chain state: the
//! synthetic market's first seconds through the single-thread runner.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::fs;
use std::path::PathBuf;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::snapshot::encode_chain;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::snapshot_file::*;
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket, SYNTHETIC_START_NS};
use tickrail_replay::{Recorder, Runner};

fn config() -> EngineConfig {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    EngineConfig::load(path).unwrap()
}

/// The chain and Sequencer after the synthetic market's first `ms` milliseconds, with
/// the meta of a snapshot there.
fn state_after(cfg: &EngineConfig, ms: i64) -> (SnapshotMeta, TradingChain, Sequencer) {
    let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg)).unwrap();
    let chain = build_chain(cfg, BookSizing::default()).unwrap();
    let max = max_outputs_per_event(cfg);
    let mut runner =
        Runner::new(market, chain, cfg.instruments.len(), max).with_timers(cfg.timers());
    let mut rec = Recorder::default();
    runner.run_until(SYNTHETIC_START_NS + ms * 1_000_000, &mut rec);
    // The same state again, by feeding the recorded inputs to a fresh chain.
    let mut chain = build_chain(cfg, BookSizing::default()).unwrap();
    let mut sequencer = Sequencer::new(1, cfg.instruments.len());
    for v in &cfg.venues {
        sequencer.register_source(v.id);
    }
    let mut out = Outbox::new(max, 1);
    for e in &rec.inputs {
        sequencer.observe(e);
        chain.on_event(e, &mut out);
        out.clear();
    }
    assert_eq!(out.next_sequence(), rec.outputs.len() as u64 + 1);
    let last = rec.inputs.last().unwrap().header;
    let meta = SnapshotMeta::new(cfg, last.sequence, out.next_sequence(), last.receive_ts_ns);
    (meta, chain, sequencer)
}

fn written(ms: i64) -> (tempfile::TempDir, EngineConfig, SnapshotMeta, PathBuf) {
    let cfg = config();
    let (meta, chain, sequencer) = state_after(&cfg, ms);
    let dir = tempfile::tempdir().unwrap();
    let path = write_snapshot(dir.path(), &meta, &chain, &sequencer).unwrap();
    (dir, cfg, meta, path)
}

#[test]
fn a_snapshot_round_trips() {
    let cfg = config();
    let (meta, chain, sequencer) = state_after(&cfg, 1_000);
    assert!(meta.input_sequence > 1_000, "{meta:?}");
    assert!(chain.downstream.counters().orders > 0, "the chain traded");
    let dir = tempfile::tempdir().unwrap();
    let t0 = clock::now_ns();
    let path = write_snapshot(dir.path(), &meta, &chain, &sequencer).unwrap();
    let t1 = clock::now_ns();
    let (got, restored, seq2) = load_snapshot(&path, &cfg).unwrap();
    let t2 = clock::now_ns();
    eprintln!(
        "snapshot after input {}: {} bytes, write {} µs, load {} µs",
        meta.input_sequence,
        fs::metadata(&path).unwrap().len(),
        (t1 - t0) / 1_000,
        (t2 - t1) / 1_000
    );
    assert_eq!(got, meta);
    assert_eq!(seq2, sequencer);
    assert_eq!(encode_chain(&restored), encode_chain(&chain));
    assert_eq!(
        path.file_name().unwrap().to_str().unwrap(),
        format!("{:020}.snap", meta.input_sequence)
    );
    assert_eq!(read_snapshot_meta(&path).unwrap(), meta);
    assert_eq!(
        restored.downstream.oms().orders_by_id().count(),
        chain.downstream.oms().orders_by_id().count()
    );

    // Listed newest first; temporary and foreign files are not snapshots.
    let (meta2, chain2, sequencer2) = state_after(&cfg, 300);
    let older = write_snapshot(dir.path(), &meta2, &chain2, &sequencer2).unwrap();
    fs::write(snapshot_dir(dir.path()).join(".x.snap.tmp"), b"partial").unwrap();
    fs::write(snapshot_dir(dir.path()).join("notes.txt"), b"").unwrap();
    assert_eq!(
        list_snapshots(dir.path()).unwrap(),
        vec![
            (meta.input_sequence, path.clone()),
            (meta2.input_sequence, older)
        ]
    );
    let none = tempfile::tempdir().unwrap();
    assert!(list_snapshots(none.path()).unwrap().is_empty());
}

#[test]
fn a_flipped_byte_is_a_crc_error_naming_the_file() {
    let (_dir, cfg, _meta, path) = written(200);
    let mut bytes = fs::read(&path).unwrap();
    // One byte in the payload, one in the header: both are covered.
    for at in [bytes.len() - 7, 14] {
        bytes[at] ^= 0x10;
        fs::write(&path, &bytes).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(matches!(err, SnapshotError::Crc { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("CRC mismatch"), "{text}");
        bytes[at] ^= 0x10;
    }
    fs::write(&path, &bytes).unwrap();
    assert!(load_snapshot(&path, &cfg).is_ok());
}

#[test]
fn a_truncated_file_is_refused() {
    let (_dir, cfg, _meta, path) = written(200);
    let bytes = fs::read(&path).unwrap();
    for len in [0, 5, 11, 40, bytes.len() / 2, bytes.len() - 1] {
        fs::write(&path, &bytes[..len]).unwrap();
        let err = load_snapshot(&path, &cfg).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Truncated { .. }),
            "{len}: {err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));
    }
    // A byte too many is refused too.
    let mut longer = bytes.clone();
    longer.push(0);
    fs::write(&path, &longer).unwrap();
    let err = load_snapshot(&path, &cfg).unwrap_err();
    assert!(matches!(err, SnapshotError::Malformed { .. }), "{err}");
    // Not a snapshot at all; a future format version.
    fs::write(&path, b"PAR1 not a snapshot").unwrap();
    let err = load_snapshot(&path, &cfg).unwrap_err();
    assert!(matches!(err, SnapshotError::BadMagic { .. }), "{err}");
    let mut future = bytes.clone();
    let next = FORMAT_VERSION + 1;
    future[8..12].copy_from_slice(&next.to_le_bytes());
    fs::write(&path, &future).unwrap();
    let err = load_snapshot(&path, &cfg).unwrap_err();
    assert!(
        matches!(err, SnapshotError::UnsupportedVersion { found, .. } if found == next),
        "{err}"
    );
}

#[test]
fn another_config_hash_or_model_is_a_mismatch() {
    let (_dir, cfg, meta, path) = written(200);
    // The same config text with a comment added: another config hash.
    let text = format!("{}\n# another run\n", cfg.text());
    let other = EngineConfig::from_toml_str(&text, &cfg.file).unwrap();
    assert_ne!(other.config_hash_hex(), meta.config_hash);
    let err = load_snapshot(&path, &other).unwrap_err();
    match &err {
        SnapshotError::Mismatch {
            what,
            snapshot,
            current,
            ..
        } => {
            assert_eq!(*what, "config hash");
            assert_eq!(snapshot, &meta.config_hash);
            assert_eq!(current, &other.config_hash_hex());
        }
        e => panic!("not a mismatch: {e}"),
    }
    let text = err.to_string();
    assert!(text.contains(&meta.config_hash) && text.contains(&other.config_hash_hex()));
    assert!(text.contains(&path.display().to_string()), "{text}");

    // Another binary version in the header (CRC recomputed: a well-formed file).
    let f = SnapshotFile::read(&path).unwrap();
    let older = SnapshotFile {
        meta: SnapshotMeta {
            binary_version: "0.0.1".into(),
            ..meta.clone()
        },
        ..f
    };
    fs::write(&path, older.encode().unwrap()).unwrap();
    let err = load_snapshot(&path, &cfg).unwrap_err();
    assert!(
        matches!(
            err,
            SnapshotError::Mismatch {
                what: "binary version",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_snapshot_is_refused_by_a_chain_of_another_shape() {
    let (_dir, cfg, meta, path) = written(200);
    // Header and payload of another run's chain under this config's hashes: the
    // payload is read against the chain built from the config and refused.
    let f = SnapshotFile::read(&path).unwrap();
    let other = SnapshotFile {
        meta: meta.clone(),
        chain: vec![0, 0, 0],
        ..f
    };
    fs::write(&path, other.encode().unwrap()).unwrap();
    let err = load_snapshot(&path, &cfg).unwrap_err();
    assert!(matches!(err, SnapshotError::Payload { .. }), "{err}");
    assert!(err.to_string().contains("does not decode"), "{err}");
}
