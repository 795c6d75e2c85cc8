//! `tickrail backtest` end to end on the real samples: ITCH and Binance runs that report,
//! journal and replay exactly; a parameter sweep; bad input.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{text, tickrail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel);
    p.to_str().unwrap().to_owned()
}

/// A file of the shared sample data (`tickrail_gateways::feed::sample_data_dir`).
fn sample(rel: &str) -> String {
    let p = tickrail_gateways::feed::sample_data_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing (set TICKRAIL_SAMPLE_DATA)",
        p.display()
    );
    p.to_str().unwrap().to_owned()
}

fn itch_sample() -> String {
    sample("itch/ex20101224.TEST_ITCH_50.gz")
}

fn itch_args<'a>(cfg: &'a str, data: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "backtest",
        "--config",
        cfg,
        "--itch-date",
        "2019-12-30",
        "--data",
        data,
        "--out",
        out,
        "--quiet",
    ]
}

fn verify(dir: &str, cwd: &Path) -> String {
    let v = tickrail(&["replay", dir, "--verify"], cwd);
    let t = text(&v);
    assert!(v.status.success(), "{t}");
    assert!(t.contains("verify      identical:"), "{t}");
    t
}

#[test]
fn an_itch_backtest_reports_journals_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-itch.toml");
    let data = itch_sample();
    let o = tickrail(&itch_args(&cfg, &data, "bt"), tmp.path());
    let t = text(&o);
    println!("{t}");
    assert!(o.status.success(), "{t}");
    for want in [
        "data        12012 records",
        "PnL         net",
        "Sharpe",
        "max drawdown",
        "fill ratio",
        "order→ack p50 45.0µs",
        "BOB",
    ] {
        assert!(t.contains(want), "missing {want:?}:\n{t}");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("bt/report.json")).unwrap()).unwrap();
    assert!(json["orders"].as_u64().unwrap() > 0, "{json}");
    let html = std::fs::read_to_string(tmp.path().join("bt/report.html")).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        3 + 3,
        "equity, drawdown, position, 3 fills"
    );
    println!("{}", verify("bt", tmp.path()));
}

#[test]
fn a_binance_backtest_trades_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-binance.toml");
    let data = sample("binance/spot_btcusdt_20240808.gz");
    let o = tickrail(
        &[
            "backtest", "--config", &cfg, "--data", &data, "--out", "bt", "--quiet",
        ],
        tmp.path(),
    );
    let t = text(&o);
    println!("{t}");
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains(" 0 skipped, 0 unknown instrument, 0 out of order, 0 gaps"),
        "{t}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("bt/report.json")).unwrap()).unwrap();
    assert!(json["fills"].as_u64().unwrap() > 10, "{json}");
    verify("bt", tmp.path());
}

#[test]
fn a_sweep_runs_every_combination_and_each_run_replays() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-itch.toml");
    let data = itch_sample();
    let mut args = itch_args(&cfg, &data, "sw");
    args.extend([
        "--sweep",
        "strategy.take.threshold_bps=2.5,50",
        "--sweep",
        "risk.throttle_burst=5,20",
    ]);
    let o = tickrail(&args, tmp.path());
    let t = text(&o);
    println!("{t}");
    assert!(o.status.success(), "{t}");
    assert!(t.contains("sweep: 4 runs"), "{t}");
    for want in [
        "strategy.take.threshold_bps=2.5 risk.throttle_burst=5",
        "strategy.take.threshold_bps=50 risk.throttle_burst=20",
    ] {
        assert!(t.contains(want), "missing {want:?}:\n{t}");
    }
    for n in 0..4 {
        let dir = tmp.path().join(format!("sw/sweep-{n}"));
        assert!(dir.join("report.html").is_file() && dir.join("config.toml").is_file());
    }
    // A sweep point is a run of its own config: it replays exactly.
    verify("sw/sweep-3/run", tmp.path());
}

#[test]
fn bad_input_is_reported_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-itch.toml");
    // A truncated ITCH file (cut inside a message): the run completes and names the offset.
    let raw = {
        use std::io::Read as _;
        let mut d = flate2_free_gunzip(&itch_sample());
        let mut v = Vec::new();
        d.read_to_end(&mut v).unwrap();
        v
    };
    let cut = tmp.path().join("cut.itch");
    std::fs::write(&cut, &raw[..raw.len() / 2 + 7]).unwrap();
    let o = tickrail(&itch_args(&cfg, cut.to_str().unwrap(), "bt"), tmp.path());
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("cut.itch: offset"), "{t}");
    // Errors that stop before running name what is wrong.
    for (args, want) in [
        (
            vec!["backtest", "--config", &cfg, "--data", "x.bin"],
            "unknown data format",
        ),
        (
            vec![
                "backtest", "--config", &cfg, "--data", "x.csv", "--format", "xls",
            ],
            "--format",
        ),
        (
            vec!["backtest", "--config", &cfg, "--data", "missing.csv"],
            "missing.csv",
        ),
        (
            vec![
                "backtest",
                "--config",
                &cfg,
                "--data",
                "x.csv",
                "--sweep",
                "strategy.typo=1",
            ],
            "typo",
        ),
    ] {
        let e = tickrail(&args, tmp.path());
        assert_eq!(e.status.code(), Some(1), "{args:?}: {}", text(&e));
        assert!(text(&e).contains(want), "{args:?}: {}", text(&e));
    }
}

/// Gunzips with the system's `gzip -dc` (the test has no gzip crate of its own).
fn flate2_free_gunzip(path: &str) -> impl std::io::Read {
    let out = Command::new("gzip").args(["-dc", path]).output().unwrap();
    assert!(out.status.success());
    std::io::Cursor::new(out.stdout)
}
