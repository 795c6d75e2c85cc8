//! `[backtest.latency]` end to end: backtests with each latency model (constant, seeded
//! lognormal, a profile) that replay exactly; `tickrail latency-profile` on a live run; a
//! profile changed after the backtest is refused; bad profiles and keys name file and line.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{short_config, text, tickrail};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(rel);
    p.to_str().unwrap().to_owned()
}

fn itch_sample() -> String {
    let p = tickrail_gateways::feed::sample_data_dir().join("itch/ex20101224.TEST_ITCH_50.gz");
    assert!(p.is_file(), "{} is missing", p.display());
    p.to_str().unwrap().to_owned()
}

fn ok(args: &[&str], cwd: &Path) -> String {
    let o = tickrail(args, cwd);
    let t = text(&o);
    assert!(o.status.success(), "{args:?}:\n{t}");
    t
}

fn fails(args: &[&str], cwd: &Path, want: &[&str]) -> String {
    let o = tickrail(args, cwd);
    let t = text(&o);
    assert!(!o.status.success(), "{args:?} succeeded:\n{t}");
    for w in want {
        assert!(t.contains(w), "{args:?}: wanted {w:?} in:\n{t}");
    }
    t
}

/// `config/backtest-itch.toml` with `extra` appended, written to `dir/name`.
fn itch_config(dir: &Path, name: &str, extra: &str) -> String {
    let base = std::fs::read_to_string(repo("config/backtest-itch.toml")).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("{base}\n{extra}")).unwrap();
    path.to_str().unwrap().to_owned()
}

fn itch_backtest(cfg: &str, out: &str, cwd: &Path) -> String {
    let data = itch_sample();
    ok(
        &[
            "backtest",
            "--config",
            cfg,
            "--itch-date",
            "2019-12-30",
            "--data",
            &data,
            "--out",
            out,
            "--quiet",
        ],
        cwd,
    )
}

fn verify(dir: &str, cwd: &Path) {
    let v = ok(&["replay", dir, "--verify"], cwd);
    assert!(v.contains("verify      identical:"), "{v}");
}

#[test]
fn constant_latencies_per_type_set_the_order_to_ack_time_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // The venue's constants (20 µs entry, 25 µs ack): 45 µs order→ack.
    let plain = itch_config(tmp.path(), "plain.toml", "");
    let t = itch_backtest(&plain, "plain", tmp.path());
    assert!(t.contains("order→ack p50 45.0µs"), "{t}");
    // The same constants as models: byte-identical outputs.
    let same = itch_config(
        tmp.path(),
        "same.toml",
        "[backtest.latency.new]\nmodel = \"constant\"\nns = 20_000\n\
         [backtest.latency.response]\nmodel = \"constant\"\nns = 25_000\n",
    );
    itch_backtest(&same, "same", tmp.path());
    let outputs = |d: &str| {
        let t = ok(&["journal", "inspect", &format!("{d}/outputs")], tmp.path());
        t.lines()
            .filter(|l| !l.contains("manifest"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(outputs("plain"), outputs("same"));
    // New orders 100 µs, responses 20 µs: every ack 120 µs after its order.
    let slow = itch_config(
        tmp.path(),
        "slow.toml",
        "[backtest.latency.new]\nmodel = \"constant\"\nns = 100_000\n\
         [backtest.latency.cancel]\nmodel = \"constant\"\nns = 5_000\n\
         [backtest.latency.response]\nmodel = \"constant\"\nns = 20_000\n",
    );
    let t = itch_backtest(&slow, "slow", tmp.path());
    assert!(
        t.contains("order→ack p50 120.0µs p99 120.0µs max 120.0µs"),
        "{t}"
    );
    verify("slow", tmp.path());
}

#[test]
fn a_seeded_lognormal_backtest_is_reproducible_and_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let extra = |seed: u64| {
        format!(
            "[backtest.latency.new]\nmodel = \"lognormal\"\nmedian_ns = 60_000\nsigma = 0.6\n\
             floor_ns = 10_000\ncap_ns = 1_000_000\nseed = {seed}\n\
             [backtest.latency.cancel]\nmodel = \"lognormal\"\nmedian_ns = 30_000\nsigma = 0.3\nseed = {seed}\n\
             [backtest.latency.response]\nmodel = \"lognormal\"\nmedian_ns = 25_000\nsigma = 0.5\nseed = {seed}\n"
        )
    };
    let a = itch_config(tmp.path(), "a.toml", &extra(7));
    let b = itch_config(tmp.path(), "b.toml", &extra(8));
    itch_backtest(&a, "a1", tmp.path());
    itch_backtest(&a, "a2", tmp.path());
    itch_backtest(&b, "b", tmp.path());
    let report = |d: &str| {
        let mut j: serde_json::Value =
            serde_json::from_slice(&std::fs::read(tmp.path().join(d).join("report.json")).unwrap())
                .unwrap();
        // The wall-clock time differs between runs; everything else is event time.
        if let Some(o) = j.as_object_mut() {
            o.remove("wall_s");
        }
        j
    };
    assert_eq!(report("a1"), report("a2"), "same seed, same backtest");
    let ack = |d: &str| report(d)["ack_latency"].clone();
    assert_ne!(ack("a1"), ack("b"), "another seed draws other latencies");
    let p50 = ack("a1")["p50_ns"].as_i64().unwrap();
    // 60 µs entry + 25 µs response medians: the round trip's median is near 85 µs.
    assert!((60_000..120_000).contains(&p50), "{p50}");
    verify("a1", tmp.path());
}

#[test]
fn a_live_runs_profile_drives_a_backtest_that_replays_and_refuses_a_changed_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = short_config(tmp.path());
    let cfg = cfg.to_str().unwrap();
    ok(&["run", "--config", cfg, "--run-dir", "live"], tmp.path());
    let t = ok(
        &["latency-profile", "live", "--out", "profile.csv"],
        tmp.path(),
    );
    assert!(t.contains("requests answered"), "{t}");
    let profile = std::fs::read_to_string(tmp.path().join("profile.csv")).unwrap();
    let rows: Vec<Vec<&str>> = profile
        .lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert!(rows.iter().any(|r| r[1] == "new"), "{profile}");
    assert!(rows.iter().any(|r| r[1] == "response"), "{profile}");
    // The synthetic venues take 20 µs or 35 µs to an order and 25 µs or 40 µs to report
    // (config/default.toml); the engine sends when the market has reached its own time, so
    // the measured entry latency also holds however far the market ran ahead meanwhile.
    let column = |kind: &str| -> Vec<i64> {
        rows.iter()
            .filter(|r| r[1] == kind)
            .map(|r| r[2].parse().unwrap())
            .collect()
    };
    assert!(column("new").iter().all(|&l| l >= 20_000), "{profile}");
    assert!(
        column("response")
            .iter()
            .all(|&l| (25_000..=40_000).contains(&l)),
        "{profile}"
    );

    // A backtest of the run's market data with the profile; cancels and amends read the
    // `new` series.
    let base = std::fs::read_to_string(cfg).unwrap();
    let bt_cfg = tmp.path().join("bt.toml");
    std::fs::write(
        &bt_cfg,
        format!(
            "{base}\n[backtest.latency.new]\nmodel = \"profile\"\nfile = \"profile.csv\"\n\
             [backtest.latency.cancel]\nmodel = \"profile\"\nfile = \"profile.csv\"\nseries = \"new\"\n\
             [backtest.latency.replace]\nmodel = \"profile\"\nfile = \"profile.csv\"\nseries = \"new\"\n\
             [backtest.latency.response]\nmodel = \"profile\"\nfile = \"profile.csv\"\n"
        ),
    )
    .unwrap();
    // Named relative to the working directory: the manifest records the file by its
    // absolute path, and the re-run finds it through the run's config directory.
    ok(
        &[
            "backtest", "--config", "bt.toml", "--data", "live", "--out", "bt", "--quiet",
        ],
        tmp.path(),
    );
    let m = ok(
        &[
            "journal",
            "inspect",
            "bt/outputs",
            "--internal",
            "--kind",
            "manifest",
        ],
        tmp.path(),
    );
    assert!(m.contains("latency_profile.new"), "{m}");
    verify("bt", tmp.path());

    // Seeded distributions, requests allowed to overtake: the re-run draws the same values.
    let ln_cfg = tmp.path().join("ln.toml");
    std::fs::write(
        &ln_cfg,
        format!(
            "{base}\n[backtest.latency]\nin_order = false\n\
             [backtest.latency.new]\nmodel = \"lognormal\"\nmedian_ns = 40_000\nsigma = 0.8\nseed = 3\n\
             [backtest.latency.cancel]\nmodel = \"lognormal\"\nmedian_ns = 20_000\nsigma = 0.8\nseed = 3\n\
             [backtest.latency.response]\nmodel = \"lognormal\"\nmedian_ns = 30_000\nsigma = 0.4\nseed = 3\n"
        ),
    )
    .unwrap();
    ok(
        &[
            "backtest",
            "--config",
            ln_cfg.to_str().unwrap(),
            "--data",
            "live",
            "--out",
            "ln",
            "--quiet",
        ],
        tmp.path(),
    );
    verify("ln", tmp.path());

    // The profile changed after the backtest: the re-run refuses it.
    std::fs::write(
        tmp.path().join("profile.csv"),
        profile.replace(",new,", ",new,1"),
    )
    .unwrap();
    fails(
        &["replay", "bt", "--verify"],
        tmp.path(),
        &["latency_profile.new", "the latency profile changed"],
    );
}

#[test]
fn bad_profiles_and_keys_name_the_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let data = itch_sample();
    let run = |cfg: &str| {
        tickrail(
            &[
                "backtest",
                "--config",
                cfg,
                "--itch-date",
                "2019-12-30",
                "--data",
                &data,
                "--out",
                "x",
                "--quiet",
            ],
            tmp.path(),
        )
    };
    let profile_cfg = itch_config(
        tmp.path(),
        "p.toml",
        "[backtest.latency.new]\nmodel = \"profile\"\nfile = \"bad.csv\"\n",
    );
    let cases = [
        (
            "time_of_day,kind,latency_ns\n09:30:00,new,100\n09:29:59,new,100\n",
            "bad.csv: line 3: time 09:29:59 is before the previous row's 09:30:00.000000000",
        ),
        (
            "# a comment\ntime_of_day,kind,latency_ns\n09:30:00,new,-100\n",
            "bad.csv: line 3: latency -100 ns is negative",
        ),
        (
            "time_of_day,kind,latency_ns\n09:30:00,new,100,7\n",
            "bad.csv: line 2: expected 3 fields",
        ),
        (
            "time_of_day,kind,latency_ns\n09:30:00,cancel,100\n",
            "no rows of kind \"new\"",
        ),
    ];
    for (csv, want) in cases {
        std::fs::write(tmp.path().join("bad.csv"), csv).unwrap();
        let o = run(&profile_cfg);
        let t = text(&o);
        assert!(!o.status.success(), "{t}");
        assert!(t.contains(want), "wanted {want:?} in:\n{t}");
        // The config's key and its line too.
        assert!(t.contains("backtest.latency.new.file"), "{t}");
        assert!(t.contains("p.toml"), "{t}");
    }
    std::fs::remove_file(tmp.path().join("bad.csv")).unwrap();
    let t = text(&run(&profile_cfg));
    assert!(
        t.contains("bad.csv: cannot read the latency profile"),
        "{t}"
    );

    // Bad keys: the key, the reason and the config line.
    for (extra, want) in [
        (
            "[backtest.latency.new]\nmodel = \"constant\"\nns = -1\n",
            "backtest.latency.new.ns: must not be negative, got -1",
        ),
        (
            "[backtest.latency.cancel]\nmodel = \"constant\"\nsigma = 0.5\n",
            "backtest.latency.cancel.sigma: not a key of model \"constant\"",
        ),
        (
            "[backtest.latency.replace]\nmodel = \"lognormal\"\nmedian_ns = 10\nsigma = -1.0\n",
            "backtest.latency.replace.sigma: must be finite and >= 0",
        ),
        (
            "[backtest.latency.response]\nmodel = \"uniform\"\n",
            "backtest.latency.response.model: \"uniform\"",
        ),
        (
            "[backtest.latency.amend]\nmodel = \"constant\"\nns = 1\n",
            "backtest.latency.amend",
        ),
    ] {
        let cfg = itch_config(tmp.path(), "k.toml", extra);
        fails(
            &["config", "check", &cfg],
            tmp.path(),
            &["k.toml", want, "(line "],
        );
    }
}

#[test]
fn latency_profile_refuses_what_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    fails(
        &["latency-profile", "empty", "--out", "p.csv"],
        tmp.path(),
        &["empty: not a run directory"],
    );
}

#[test]
fn a_sweep_over_latencies_finds_profiles_next_to_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("cfg")).unwrap();
    // Responses from a profile: 10 µs all day (one point).
    std::fs::write(
        tmp.path().join("cfg/resp.csv"),
        "time_of_day,kind,latency_ns\n12:00:00,response,10000\n",
    )
    .unwrap();
    let cfg = itch_config(
        &tmp.path().join("cfg"),
        "sweep.toml",
        "[backtest.latency.new]\nmodel = \"constant\"\nns = 1\n\
         [backtest.latency.response]\nmodel = \"profile\"\nfile = \"resp.csv\"\n",
    );
    let data = itch_sample();
    let t = ok(
        &[
            "backtest",
            "--config",
            &cfg,
            "--itch-date",
            "2019-12-30",
            "--data",
            &data,
            "--out",
            "sw",
            "--quiet",
            "--sweep",
            "backtest.latency.new.ns=20000,70000",
        ],
        tmp.path(),
    );
    assert!(t.contains("sweep: 2 runs"), "{t}");
    // Each point's order→ack: its entry latency + the profile's 10 µs.
    for (n, want) in [(0, 30_000), (1, 80_000)] {
        let j: serde_json::Value = serde_json::from_slice(
            &std::fs::read(tmp.path().join(format!("sw/sweep-{n}/report.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(j["ack_latency"]["p50_ns"].as_i64(), Some(want), "{j}");
        assert_eq!(j["ack_latency"]["max_ns"].as_i64(), Some(want), "{j}");
    }
    verify("sw/sweep-1/run", tmp.path());
}
