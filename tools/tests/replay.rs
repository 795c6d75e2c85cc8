//! `tickrail replay` end to end: a `tickrail run` in a multi-threaded layout replays exactly,
//! a changed model weight is refused by the manifest check and, with `--allow-mismatch`, is
//! caught at the first affected input.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{text, tickrail};
use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing};
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{archive_event, decode_event};
use tickrail_journal::JournalReader;

/// `config/default.toml`, 1 s of market at max pace, unpinned, with the chain split over
/// two stage threads (signal | order): four threads in all.
fn split_config(dir: &Path, name: &str, weight: &str) -> PathBuf {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let original = std::fs::read_to_string(default).unwrap();
    assert!(original.contains("weights = [1.5, 1.0, 0.8, 5000.0]"));
    let text = original
        .replace(
            "duration_ns = 10_000_000_000",
            "duration_ns = 1_000_000_000",
        )
        .replace("pace = \"realtime\"", "pace = \"max\"")
        .replace("core = 0\n", "")
        .replace("core = 1\n", "")
        .replace(
            "stages = [\"signal\", \"order\"]\nwait = \"yield\"",
            "stages = [\"signal\"]\nwait = \"yield\"\n\n[[runtime.threads]]\nname = \"orders\"\n\
             role = \"stages\"\nstages = [\"order\"]\nwait = \"yield\"",
        )
        .replace(
            "weights = [1.5, 1.0, 0.8, 5000.0]",
            &format!("weights = [1.5, 1.0, 0.8, {weight}]"),
        );
    assert!(text.contains("name = \"orders\""), "layout edit applied");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The first input whose outputs differ between `a` and `b`, replaying the journal in-process.
fn first_difference(run: &Path, a: &EngineConfig, b: &EngineConfig) -> Option<u64> {
    let mut reader = JournalReader::open(&run.join("inputs")).unwrap();
    let (mut ca, mut cb) = (
        build_chain(a, BookSizing::default()).unwrap(),
        build_chain(b, BookSizing::default()).unwrap(),
    );
    let (mut oa, mut ob) = (
        Outbox::new(max_outputs_per_event(a), 1),
        Outbox::new(max_outputs_per_event(b), 1),
    );
    while let Some(r) = reader.next().unwrap() {
        let e = decode_event(&r).unwrap();
        ca.on_event(&e, &mut oa);
        cb.on_event(&e, &mut ob);
        let bytes =
            |o: &Outbox| -> Vec<[u8; 96]> { o.events().iter().map(archive_event).collect() };
        if bytes(&oa) != bytes(&ob) {
            return Some(e.header.sequence);
        }
        oa.clear();
        ob.clear();
    }
    None
}

#[test]
fn a_multi_threaded_run_replays_exactly_and_a_changed_weight_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = split_config(tmp.path(), "split.toml", "5000.0");
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("orders=[order]"),
        "ran split: {}",
        text(&o)
    );

    // The same binary and config: identical, exit 0 (config taken from the manifest).
    let v = tickrail(&["replay", "r", "--verify"], tmp.path());
    let vt = text(&v);
    println!("{vt}");
    assert!(v.status.success(), "{vt}");
    assert!(vt.contains("verify      identical:"), "{vt}");

    // A changed weight: refused, naming what differs.
    let changed = split_config(tmp.path(), "changed.toml", "5200.0");
    let c = changed.to_str().unwrap();
    let refused = tickrail(&["replay", "r", "--verify", "--config", c], tmp.path());
    let rt = text(&refused);
    assert_eq!(refused.status.code(), Some(1), "{rt}");
    assert!(
        rt.contains("config_hash: run") && rt.contains("--allow-mismatch"),
        "{rt}"
    );

    // Allowed: diverges exactly where the changed model first changes an output.
    let d = tickrail(
        &["replay", "r", "--verify", "--config", c, "--allow-mismatch"],
        tmp.path(),
    );
    let dt = text(&d);
    println!("{dt}");
    assert_eq!(d.status.code(), Some(3), "{dt}");
    let a = EngineConfig::load(&cfg).unwrap();
    let b = EngineConfig::load(&changed).unwrap();
    let first = first_difference(&tmp.path().join("r"), &a, &b).expect("the weight matters");
    assert!(
        dt.contains(&format!("DIVERGED at input sequence {first}\n")),
        "expected the divergence at {first}:\n{dt}"
    );
    assert!(dt.contains("  expected  seq=") && dt.contains("  actual    seq="));
    assert!(dt.contains("the inputs just before:"), "{dt}");
}

#[test]
fn windows_and_bad_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = split_config(tmp.path(), "split.toml", "5000.0");
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o));
    // A window by sequence, everything printed: the window's first input is 100.
    let w = tickrail(
        &[
            "replay", "r", "--from", "100", "--to", "120", "--print", "all",
        ],
        tmp.path(),
    );
    let wt = text(&w);
    assert!(w.status.success(), "{wt}");
    assert!(wt.contains("\nin  seq=100 cause=100 "), "{wt}");
    assert!(
        !wt.contains("in  seq=99 ") && !wt.contains("in  seq=121 "),
        "{wt}"
    );
    assert!(
        wt.contains("replayed    120 inputs (21 in the window)"),
        "{wt}"
    );
    // A window by time offset, verified, at 10× recorded speed.
    let t = tickrail(
        &[
            "replay",
            "r/outputs",
            "--verify",
            "--from",
            "+100ms",
            "--to",
            "+200ms",
            "--speed",
            "10",
        ],
        tmp.path(),
    );
    assert!(t.status.success(), "{}", text(&t));
    // Errors name what is wrong.
    for (args, want) in [
        (vec!["replay", "nowhere"], "not a run directory"),
        (vec!["replay", "r", "--from", "soon"], "--from"),
        (vec!["replay", "r", "--speed", "0"], "--speed"),
        (vec!["replay", "r", "--print", "some"], "--print"),
    ] {
        let e = tickrail(&args, tmp.path());
        assert_eq!(e.status.code(), Some(1), "{args:?}");
        assert!(text(&e).contains(want), "{args:?}: {}", text(&e));
    }
}
