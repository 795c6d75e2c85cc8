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

/// A file of the committed sample data (`gateways/samples`, see
/// `tickrail_gateways::feed::sample_data_dir`).
fn sample(rel: &str) -> String {
    let p = tickrail_gateways::feed::sample_data_dir().join(rel);
    assert!(
        p.is_file(),
        "{} is missing (the samples are committed in gateways/samples; \
         TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
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
    // A fills chart for each instrument with fills only: no empty axes.
    let mut filled: Vec<u64> = json["fill_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["instrument"].as_u64().unwrap())
        .collect();
    filled.sort_unstable();
    filled.dedup();
    assert!(!filled.is_empty() && filled.len() < 3, "{filled:?}");
    assert_eq!(
        html.matches("<svg").count(),
        3 + filled.len(),
        "equity, drawdown, position, one per instrument with fills"
    );
    println!("{}", verify("bt", tmp.path()));
}

/// The exchange time (ns since the Unix epoch) of the first market data event a backtest
/// journaled (its first input that is not a timer), read back with `journal export`.
fn first_market_event_ts(run: &str, cwd: &Path) -> i64 {
    let o = tickrail(
        &[
            "journal",
            "export",
            &format!("{run}/inputs"),
            "--format",
            "csv",
            "-o",
            "-",
            "--to",
            "100",
        ],
        cwd,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let stdout = String::from_utf8(o.stdout).unwrap();
    let mut lines = stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|c| *c == name).unwrap();
    let (kind, ts) = (col("kind"), col("exchange_ts_ns"));
    let first = lines
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .find(|r| r[kind] != "timer")
        .unwrap_or_else(|| panic!("no market data event in the first inputs of {run}:\n{t}"));
    first[ts].parse().unwrap()
}

/// ITCH times count from midnight New York time of the `--itch-date`, with that day's
/// daylight saving time: the same file stamped with a summer date starts one hour earlier
/// in UTC, relative to its day, than with a winter date (EDT: midnight 04:00 UTC; EST:
/// 05:00 UTC).
#[test]
fn an_itch_backtest_takes_the_dates_new_york_midnight_with_dst() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-itch.toml");
    let data = itch_sample();
    // (--itch-date, that day's 00:00 UTC in ns since the Unix epoch)
    let days = [
        ("2019-07-30", 1_564_444_800_000_000_000_i64),
        ("2019-12-30", 1_577_664_000_000_000_000_i64),
    ];
    let mut after_utc_midnight = Vec::new();
    for (date, utc_midnight) in days {
        let out = format!("bt-{date}");
        let mut args = itch_args(&cfg, &data, &out);
        let at = args.iter().position(|a| *a == "--itch-date").unwrap();
        args[at + 1] = date;
        let o = tickrail(&args, tmp.path());
        let t = text(&o);
        assert!(o.status.success(), "{date}: {t}");
        assert!(t.contains("data        12012 records"), "{date}: {t}");
        let first = first_market_event_ts(&out, tmp.path());
        println!("--itch-date {date}: first event at {first} ns");
        after_utc_midnight.push(first - utc_midnight);
    }
    let (summer, winter) = (after_utc_midnight[0], after_utc_midnight[1]);
    // The winter day's first event is its ITCH time after 05:00 UTC.
    assert!(winter >= 5 * 3_600_000_000_000, "{winter}");
    assert_eq!(winter - summer, 3_600_000_000_000, "{summer} vs {winter}");
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
