//! `tickrail run` and `tickrail config check` end to end: the real binary.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{short_config, text, tickrail};
use std::path::Path;
use std::process::Command;

#[test]
fn run_journals_and_summarises() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = short_config(tmp.path());
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        tmp.path(),
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for want in [
        "== summary ==",
        "tick-to-order",
        "signal stage",
        "order stage",
        "PnL total",
        "closed cleanly",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
    // Both journals verify.
    for stream in ["inputs", "outputs"] {
        let dir = tmp.path().join("r").join(stream);
        let v = tickrail(&["journal", "verify", dir.to_str().unwrap()], tmp.path());
        assert!(v.status.success(), "{}", text(&v));
    }
    // The manifest records version, config hash, model hash and layout.
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
    let mt = text(&m);
    for key in ["config_hash", "model_hash", "layout", "binary_version"] {
        assert!(mt.contains(key), "manifest lacks {key}:\n{mt}");
    }
}

#[test]
fn config_check_names_file_key_and_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let ok = tickrail(&["config", "check", default], tmp.path());
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("layout:"));
    let bad = tmp.path().join("bad.toml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(default).unwrap().replacen(
            "wait = \"yield\"",
            "wait = \"snooze\"",
            1,
        ),
    )
    .unwrap();
    let o = tickrail(&["config", "check", bad.to_str().unwrap()], tmp.path());
    let t = text(&o);
    assert!(!o.status.success());
    assert!(
        t.contains("bad.toml") && t.contains("runtime.threads[0].wait") && t.contains("snooze"),
        "{t}"
    );
}

/// `config/default.toml` as it is (real time, 10 s) but unpinned (tests share the machine).
fn realtime_config(dir: &Path) -> std::path::PathBuf {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let realtime = std::fs::read_to_string(default)
        .unwrap()
        .replace("core = 0\n", "")
        .replace("core = 1\n", "");
    let path = dir.join("rt.toml");
    std::fs::write(&path, realtime).unwrap();
    path
}

#[test]
fn sigkill_loses_no_committed_record() {
    // A real-time run killed with SIGKILL mid-session: every committed record of both
    // journals survives; recovery only cuts an uncommitted tail.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = realtime_config(tmp.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for stream in ["inputs", "outputs"] {
        let dir = tmp.path().join("r").join(stream);
        let d = dir.to_str().unwrap();
        // 0: intact; 2: intact records and a torn tail awaiting recovery. Never 1 (damage).
        let v = tickrail(&["journal", "verify", d], tmp.path());
        let code = v.status.code();
        assert!(
            matches!(code, Some(0 | 2)),
            "{stream}: {code:?}\n{}",
            text(&v)
        );
        let r = tickrail(&["journal", "recover", d], tmp.path());
        assert!(r.status.success(), "{}", text(&r));
        let v = tickrail(&["journal", "verify", d], tmp.path());
        assert!(v.status.success(), "{}", text(&v));
        let s = text(&tickrail(&["journal", "stats", d], tmp.path()));
        let records: u64 = s
            .lines()
            .find_map(|l| l.strip_prefix("records"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        println!("{stream}: {records} records after SIGKILL and recovery");
        // ~1 s of a real-time session: thousands of inputs, and their outputs.
        assert!(records > 1_000, "{stream}: {s}");
    }
}

#[test]
fn sigusr1_throws_the_kill_switch_and_sigterm_closes_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = realtime_config(tmp.path());
    let child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"])
        .current_dir(tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let signal = |sig: &str| {
        let k = Command::new("kill").args([sig, &pid]).status().unwrap();
        assert!(k.success());
    };
    std::thread::sleep(std::time::Duration::from_millis(1500));
    signal("-USR1");
    std::thread::sleep(std::time::Duration::from_millis(500));
    signal("-TERM");
    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("kill switch thrown 1 time(s)"), "{t}");
    assert!(t.contains("closed cleanly"), "{t}");
    // Stopped before its 10 s: the summary says how much market time ran.
    assert!(t.contains("== summary =="), "{t}");
    for stream in ["inputs", "outputs"] {
        let dir = tmp.path().join("r").join(stream);
        // Exit 0: every record intact and no torn tail (closed, not crashed).
        let v = tickrail(&["journal", "verify", dir.to_str().unwrap()], tmp.path());
        assert!(v.status.success(), "{stream}: {}", text(&v));
    }
    // The kill switch is an input like any other: sequenced and journaled.
    let k = tickrail(
        &["journal", "inspect", "r/inputs", "--kind", "command"],
        tmp.path(),
    );
    assert!(text(&k).contains("kill"), "{}", text(&k));
}

/// live-sim.toml trades over a FIX session: a binary built without `fix` refuses it.
#[cfg(feature = "fix")]
#[test]
fn every_shipped_engine_config_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // venue-sim.toml is the venue simulator's file, not an engine config.
        if !name.ends_with(".toml") || name == "venue-sim.toml" {
            continue;
        }
        let o = tickrail(&["config", "check", path.to_str().unwrap()], tmp.path());
        // colo.toml pins threads to cores a small machine (CI's two) does not have: the only
        // error allowed is that one.
        let small_machine = name == "colo.toml" && text(&o).contains("this machine has cores");
        assert!(o.status.success() || small_machine, "{name}: {}", text(&o));
        checked.push(name);
    }
    checked.sort();
    for want in [
        "default.toml",
        "colo.toml",
        "live-sim.toml",
        "backtest-itch.toml",
    ] {
        assert!(
            checked.iter().any(|c| c == want),
            "{want} not checked: {checked:?}"
        );
    }
}
