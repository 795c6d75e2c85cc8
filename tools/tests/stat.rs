//! `tickrail stat` end to end: the real binary reading stats files this test publishes
//! (another process, as with a live engine).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use tickrail_engine::runtime::stats_file::{StatsWriter, STATS_LABELS};

fn tickrail(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

/// The value printed on `label`'s line.
fn value_of(out: &str, label: &str) -> Option<i64> {
    out.lines()
        .map(str::split_whitespace)
        .find_map(|mut w| (w.next() == Some(label)).then(|| w.next()).flatten())
        .and_then(|v| v.parse().ok())
}

/// Engine-shaped values: `feed.inputs` = `inputs`, a few others set.
fn values(inputs: i64) -> Vec<i64> {
    let mut v = vec![0i64; STATS_LABELS.len()];
    let mut set = |label: &str, x: i64| {
        v[STATS_LABELS.iter().position(|l| *l == label).unwrap()] = x;
    };
    set("feed.inputs", inputs);
    set("risk_reject.throttle", 3);
    set("chain.pnl_net", -1234);
    set("tick_to_order_p99_ns", 8_500);
    v
}

#[test]
fn once_prints_every_counter() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("stats");
    let mut w = StatsWriter::create_for_counters(&path, 1_700_000_000_000_000_000).unwrap();
    w.publish(&values(123_456));
    let o = tickrail(&["stat", path.to_str().unwrap(), "--once"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("running"), "{out}");
    assert!(
        out.contains(&format!("pid {}", std::process::id())),
        "{out}"
    );
    assert!(out.contains("2023-11-14 22:13:20 UTC"), "{out}");
    assert!(out.contains("1 publishes"), "{out}");
    assert!(
        !out.contains('\x1b'),
        "no screen control when not a terminal: {out:?}"
    );
    for label in STATS_LABELS {
        assert!(value_of(&out, label).is_some(), "{label} missing: {out}");
    }
    assert_eq!(value_of(&out, "feed.inputs"), Some(123_456));
    assert_eq!(value_of(&out, "risk_reject.throttle"), Some(3));
    assert_eq!(value_of(&out, "chain.pnl_net"), Some(-1234));
    assert_eq!(value_of(&out, "tick_to_order_p99_ns"), Some(8_500));
    drop(w);
}

#[test]
fn follows_until_the_engine_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("data/run-20250101-000000");
    std::fs::create_dir_all(&run).unwrap();
    let mut w = StatsWriter::create_for_counters(&run.join("stats"), 0).unwrap();
    w.publish(&values(1));
    // The directory form of PATH.
    let child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(["stat", run.to_str().unwrap(), "--interval-ms", "50"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for i in 2..=10 {
        std::thread::sleep(Duration::from_millis(30));
        w.publish(&values(i * 1000));
    }
    w.finish();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = stdout(&o);
    assert!(out.contains("engine finished"), "{out}");
    // The last screen shows the final values, with rates after the first screen.
    let last = out.rsplit(" — pid ").next().unwrap();
    assert_eq!(value_of(last, "feed.inputs"), Some(10_000), "{out}");
    assert!(out.contains("/s)"), "{out}");
    assert!(out.matches(" — pid ").count() >= 2, "refreshed: {out}");
}

#[test]
fn default_path_is_the_newest_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut writers = Vec::new();
    for (name, inputs) in [
        ("run-20250102-000000", 2),
        ("run-20250103-000000", 3),
        ("run-20250101-000000", 1),
    ] {
        std::fs::create_dir_all(data.join(name)).unwrap();
        let mut w = StatsWriter::create_for_counters(&data.join(name).join("stats"), 0).unwrap();
        w.publish(&values(inputs));
        writers.push(w);
    }
    // A newer run without a stats file is skipped.
    std::fs::create_dir_all(data.join("run-20250104-000000")).unwrap();
    let o = tickrail(&["stat", "--once"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(stdout(&o).contains("run-20250103-000000"), "{}", text(&o));
    assert_eq!(value_of(&stdout(&o), "feed.inputs"), Some(3));

    let empty = tempfile::tempdir().unwrap();
    let o = tickrail(&["stat", "--once"], empty.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no stats file given"), "{}", text(&o));
}

#[test]
fn a_vanished_engine_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("stats");
    let w = StatsWriter::create_for_counters(&path, 0).unwrap();
    // A copy taken while "running", then given the pid of a process that has exited
    // (offset 16 is the pid: see the layout in stats_file.rs).
    let mut bytes = std::fs::read(&path).unwrap();
    drop(w);
    let mut dead = Command::new("true").spawn().unwrap();
    let pid = u64::from(dead.id());
    dead.wait().unwrap();
    bytes[16..24].copy_from_slice(&pid.to_ne_bytes());
    let crashed = tmp.path().join("crashed");
    std::fs::write(&crashed, &bytes).unwrap();
    let o = tickrail(
        &["stat", crashed.to_str().unwrap(), "--interval-ms", "20"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        stdout(&o).contains(&format!("engine pid {pid} is gone")),
        "{}",
        text(&o)
    );
}

#[test]
fn bad_files_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage");
    std::fs::write(&garbage, vec![b'x'; 8192]).unwrap();
    let o = tickrail(&["stat", garbage.to_str().unwrap(), "--once"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a tickrail stats file"), "{err}");
    assert!(err.contains("garbage"), "{err}");

    let good = tmp.path().join("good");
    drop(StatsWriter::create_for_counters(&good, 0).unwrap());
    let truncated = tmp.path().join("truncated");
    std::fs::write(&truncated, &std::fs::read(&good).unwrap()[..1000]).unwrap();
    let o = tickrail(&["stat", truncated.to_str().unwrap()], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("truncated (1000 bytes"), "{}", text(&o));

    let o = tickrail(&["stat", "no-such-file", "--once"], tmp.path());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no-such-file: open"), "{}", text(&o));
}
