//! `tickrail import` and `tickrail backtest --data DIR` end to end: a backtest from an
//! imported journal journals only its outputs and replays exactly; a live run's input
//! journal backtests too; bad records are reported with file and line, and `--stop-on-bad`
//! stops at the first; journals that do not fit are refused with a clear error.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{short_config, text, tickrail};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel);
    p.to_str().unwrap().to_owned()
}

fn sample(rel: &str) -> String {
    let p = tickrail_gateways::feed::sample_data_dir().join(rel);
    assert!(p.is_file(), "{} is missing", p.display());
    p.to_str().unwrap().to_owned()
}

fn ok(args: &[&str], cwd: &Path) -> String {
    let o = tickrail(args, cwd);
    let t = text(&o);
    assert!(o.status.success(), "{args:?}:\n{t}");
    t
}

fn fails(args: &[&str], cwd: &Path, want: &str) -> String {
    let o = tickrail(args, cwd);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{args:?}:\n{t}");
    assert!(t.contains(want), "{args:?}: wanted {want:?} in:\n{t}");
    t
}

#[test]
fn an_imported_binance_capture_backtests_outputs_only_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-binance.toml");
    let data = sample("binance/usdm_ethusdt_20240808.gz");
    let t = ok(
        &[
            "import", "--format", "binance", &data, "--config", &cfg, "--out", "imp",
        ],
        tmp.path(),
    );
    assert!(t.contains("skipped     0 bad records"), "{t}");
    assert!(
        t.contains("usdm_ethusdt_20240808.gz (3598848 bytes, xxh3 "),
        "{t}"
    );
    assert!(tmp.path().join("imp/inputs").is_dir());

    let t = ok(
        &[
            "backtest", "--config", &cfg, "--data", "imp", "--out", "bt", "--quiet",
        ],
        tmp.path(),
    );
    assert!(
        t.contains("outputs in bt (the inputs are the input journal"),
        "{t}"
    );
    assert!(
        !tmp.path().join("bt/inputs").exists(),
        "only outputs are journaled"
    );
    let v = ok(&["replay", "bt", "--verify"], tmp.path());
    assert!(v.contains("verify      identical:"), "{v}");

    // The same data straight from the file: the same orders, byte for byte.
    ok(
        &[
            "backtest", "--config", &cfg, "--data", &data, "--out", "raw", "--quiet",
        ],
        tmp.path(),
    );
    let outputs = |run: &str| {
        let o = tickrail(
            &[
                "journal",
                "inspect",
                &format!("{run}/outputs"),
                "--limit",
                "1000000",
            ],
            tmp.path(),
        );
        text(&o)
            .lines()
            // Without the record's position: the manifests differ in size.
            .filter_map(|l| l.split_once("seq=").map(|(_, rest)| rest.to_owned()))
            .collect::<Vec<_>>()
    };
    let (a, b) = (outputs("bt"), outputs("raw"));
    assert!(a.len() > 100, "{}", a.len());
    assert_eq!(
        a, b,
        "outputs from the imported journal differ from the raw file's"
    );

    // A journal that changed since the backtest: replay refuses it.
    std::fs::remove_dir_all(tmp.path().join("imp")).unwrap();
    let spot = sample("binance/spot_btcusdt_20240808.gz");
    ok(
        &["import", &data, &spot, "--config", &cfg, "--out", "imp"],
        tmp.path(),
    );
    fails(
        &["replay", "bt", "--verify"],
        tmp.path(),
        "the journal changed",
    );
}

#[test]
fn a_live_runs_input_journal_backtests_its_market_data() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = short_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    ok(&["run", "--config", cfg, "--run-dir", "live"], tmp.path());
    let t = ok(
        &[
            "backtest", "--config", cfg, "--data", "live", "--out", "bt", "--quiet",
        ],
        tmp.path(),
    );
    // The run's execution reports are left out (the simulated venue makes its own).
    assert!(t.contains(" ignored,"), "{t}");
    let v = ok(&["replay", "bt", "--verify"], tmp.path());
    assert!(v.contains("verify      identical:"), "{v}");
}

#[test]
fn bad_records_are_reported_skipped_or_stop_the_import() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-binance.toml");
    // The capture with two garbage lines.
    let raw = std::process::Command::new("gzip")
        .args(["-dc", &sample("binance/usdm_ethusdt_20240808.gz")])
        .output()
        .unwrap()
        .stdout;
    let text_in = String::from_utf8(raw).unwrap();
    let mut lines: Vec<&str> = text_in.lines().collect();
    lines.insert(100, "1723075200000000000 {\"e\":\"depthUpdate\",garbage");
    lines.insert(2000, "not a capture line");
    let bad = tmp.path().join("usdm_bad.txt");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let bad = bad.to_str().unwrap();

    let t = ok(
        &[
            "import", "--format", "binance", bad, "--config", &cfg, "--out", "a",
        ],
        tmp.path(),
    );
    assert!(t.contains("skipped     2 bad records"), "{t}");
    assert!(t.contains("usdm_bad.txt, line 101:"), "{t}");
    assert!(t.contains("usdm_bad.txt, line 2001:"), "{t}");

    let t = fails(
        &[
            "import",
            "--format",
            "binance",
            bad,
            "--config",
            &cfg,
            "--out",
            "b",
            "--stop-on-bad",
        ],
        tmp.path(),
        "stopped at a bad record: ",
    );
    assert!(t.contains("usdm_bad.txt, line 101"), "{t}");
    // A stopped import is not backtested.
    fails(
        &["backtest", "--config", &cfg, "--data", "b", "--out", "bt"],
        tmp.path(),
        "the import stopped",
    );
    // An existing output is not overwritten.
    fails(
        &[
            "import", "--format", "binance", bad, "--config", &cfg, "--out", "a",
        ],
        tmp.path(),
        "exists already",
    );
}

#[test]
fn journals_that_do_not_fit_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = repo("config/backtest-binance.toml");
    let data = sample("binance/usdm_ethusdt_20240808.gz");
    ok(
        &["import", &data, "--config", &cfg, "--out", "imp"],
        tmp.path(),
    );
    // The outputs journal of a run is not an input journal.
    ok(
        &[
            "backtest", "--config", &cfg, "--data", "imp", "--out", "bt", "--quiet",
        ],
        tmp.path(),
    );
    fails(
        &[
            "backtest",
            "--config",
            &cfg,
            "--data",
            "bt/outputs",
            "--out",
            "x",
        ],
        tmp.path(),
        "not an input journal (its manifest says stream \"outputs\"",
    );
    // A config whose instruments differ from the import's.
    let other = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("symbol = \"ETHUSDT\"", "symbol = \"ETHUSDC\"")
        .replace("instrument = \"ETHUSDT\"", "instrument = \"ETHUSDC\"");
    let other_path = tmp.path().join("other.toml");
    std::fs::write(&other_path, other).unwrap();
    fails(
        &[
            "backtest",
            "--config",
            other_path.to_str().unwrap(),
            "--data",
            "imp",
            "--out",
            "y",
        ],
        tmp.path(),
        "its instrument map differs from the config's: instrument.1 is \"ETHUSDT 2 8\" in the \
         journal, \"ETHUSDC 2 8\" in the config",
    );
    // A directory with no journal at all.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    fails(
        &[
            "backtest", "--config", &cfg, "--data", "empty", "--out", "z",
        ],
        tmp.path(),
        "not an input journal",
    );
}
