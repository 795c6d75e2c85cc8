//! `tickrail backtest` with each queue model, from the command line and from the config's
//! `[backtest.queue]`: the output manifest records the model used, `replay --verify`
//! re-drives every one of them identically, the command line overrides the config, and a
//! bad model is refused naming the file, key and line.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{text, tickrail};
use std::path::{Path, PathBuf};

use tickrail_journal::reader::read_manifest;

fn repo(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel);
    p.to_str().unwrap().to_owned()
}

fn ok(args: &[&str], cwd: &Path) -> String {
    let o = tickrail(args, cwd);
    let t = text(&o);
    assert!(o.status.success(), "{args:?}:\n{t}");
    t
}

/// The `queue` key of the output manifest of the backtest in `cwd/dir`.
fn manifest_queue(cwd: &Path, dir: &str) -> String {
    let m = read_manifest(&cwd.join(dir).join("outputs")).unwrap();
    m.get("queue").unwrap().to_owned()
}

/// The fill reports of `cwd/dir`'s report.
fn fills(cwd: &Path, dir: &str) -> u64 {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join(dir).join("report.json")).unwrap()).unwrap();
    json["fills"].as_u64().unwrap()
}

#[test]
fn every_queue_model_is_recorded_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let cfg = repo("config/backtest-binance.toml");
    let data = tickrail_gateways::feed::sample_data_dir().join("binance/spot_btcusdt_20240808.gz");
    let data = data.to_str().unwrap();
    ok(&["import", data, "--config", &cfg, "--out", "imp"], cwd);
    let backtest = |out: &str, config: &str, queue: Option<&str>| {
        let mut args = vec![
            "backtest", "--config", config, "--data", "imp", "--out", out, "--quiet",
        ];
        if let Some(q) = queue {
            args.extend(["--queue", q]);
        }
        ok(&args, cwd);
        let v = ok(&["replay", out, "--verify"], cwd);
        assert!(v.contains("verify      identical:"), "{out}: {v}");
    };
    // No choice: level data defaults to the power model with power 2, as before.
    backtest("default", &cfg, None);
    assert_eq!(manifest_queue(cwd, "default"), "prob:2");
    // One row per resting fill, after the header; every row says how it filled.
    let csv = std::fs::read_to_string(cwd.join("default/queue_fills.csv")).unwrap();
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some(tickrail_replay::backtest::queue::QUEUE_FILLS_CSV_HEADER)
    );
    let rows: Vec<&str> = rows.collect();
    assert!(!rows.is_empty(), "{csv}");
    for row in &rows {
        let cols: Vec<&str> = row.split(',').collect();
        assert_eq!(cols.len(), 9, "{row}");
        assert!(cols[6] == "queue" || cols[6] == "through", "{row}");
    }
    // The report counts the same fills, by kind, and the page shows them.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cwd.join("default/report.json")).unwrap()).unwrap();
    let kind = |k: &str| {
        rows.iter()
            .filter(|r| r.split(',').nth(6) == Some(k))
            .count() as u64
    };
    assert_eq!(json["queue"]["queue_fills"].as_u64(), Some(kind("queue")));
    assert_eq!(
        json["queue"]["through_fills"].as_u64(),
        Some(kind("through"))
    );
    let html = std::fs::read_to_string(cwd.join("default/report.html")).unwrap();
    assert!(html.contains("<h2>Resting fills and queue positions</h2>"));
    for (queue, recorded) in [
        ("fifo", "fifo"),
        ("risk_averse", "risk_averse"),
        ("prob:0.5", "prob:0.5"),
        ("power_prob:3", "prob:3"),
        ("log_prob", "log_prob"),
        ("log_prob2", "log_prob2"),
    ] {
        let out = format!("cli-{}", queue.replace(':', "_"));
        backtest(&out, &cfg, Some(queue));
        assert_eq!(manifest_queue(cwd, &out), recorded, "{queue}");
    }
    // The config chooses when the command line does not; the command line wins.
    let text = std::fs::read_to_string(&cfg).unwrap();
    let with_queue = cwd.join("log.toml");
    std::fs::write(
        &with_queue,
        format!("{text}\n[backtest.queue]\nmodel = \"log_prob\"\n"),
    )
    .unwrap();
    let with_queue = with_queue.to_str().unwrap();
    backtest("cfg", with_queue, None);
    assert_eq!(manifest_queue(cwd, "cfg"), "log_prob");
    assert_eq!(fills(cwd, "cfg"), fills(cwd, "cli-log_prob"));
    backtest("cfg-override", with_queue, Some("risk_averse"));
    assert_eq!(manifest_queue(cwd, "cfg-override"), "risk_averse");
    assert_eq!(fills(cwd, "cfg-override"), fills(cwd, "cli-risk_averse"));

    // A bad model or power is refused before anything runs.
    let lines = text.lines().count();
    for (section, want) in [
        (
            "[backtest.queue]\nmodel = \"lifo\"\n",
            format!(
                "backtest.queue.model: unknown queue model \"lifo\", expected one of \"fifo\", \
                 \"risk_averse\", \"power_prob\", \"log_prob\", \"log_prob2\" (line {}, column 9)",
                lines + 3
            ),
        ),
        (
            "[backtest.queue]\nmodel = \"log_prob\"\npower = 2\n",
            format!(
                "backtest.queue.power: only the \"power_prob\" model has a power, not \
                 \"log_prob\" (line {}, column 9)",
                lines + 4
            ),
        ),
    ] {
        let bad = cwd.join("bad.toml");
        std::fs::write(&bad, format!("{text}\n{section}")).unwrap();
        let o = tickrail(
            &[
                "backtest",
                "--config",
                bad.to_str().unwrap(),
                "--data",
                "imp",
                "--out",
                "bad",
                "--quiet",
            ],
            cwd,
        );
        let t = common::text(&o);
        assert!(!o.status.success(), "{t}");
        assert!(
            t.contains(&format!("bad.toml: {want}")),
            "wanted {want:?} in:\n{t}"
        );
    }
    let o = tickrail(
        &[
            "backtest", "--config", &cfg, "--data", "imp", "--out", "bad", "--queue", "lifo",
        ],
        cwd,
    );
    assert!(
        !o.status.success() && common::text(&o).contains("--queue: expected fifo, risk_averse"),
        "{}",
        common::text(&o)
    );
}
