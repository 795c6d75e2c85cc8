//! `tickrail state` end to end: the state rebuilt from a real `tickrail run`'s journal
//! matches what the run printed, `--at` an earlier input gives that input's state, the
//! command works from any working directory, and bad input is a clear error.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::{text, tickrail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tickrail_engine::{decode_event, EventBody, ExecKind, Side};
use tickrail_journal::JournalReader;

/// `config/default.toml` (10 s of market: long enough to trade) at max pace, unpinned,
/// written to `dir/state.toml`. Runs in well under a second.
fn trading_config(dir: &Path) -> PathBuf {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml");
    let text = std::fs::read_to_string(default)
        .unwrap()
        .replace("pace = \"realtime\"", "pace = \"max\"")
        .replace("core = 0\n", "")
        .replace("core = 1\n", "");
    let path = dir.join("state.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the engine into `dir/r`; returns what it printed.
fn make_run(dir: &Path) -> String {
    let cfg = trading_config(dir);
    let o = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "r"],
        dir,
    );
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    t
}

/// `tickrail state ARGS --json` in `cwd`, parsed.
fn state_json(args: &[&str], cwd: &Path) -> Value {
    let mut all = vec!["state"];
    all.extend_from_slice(args);
    all.push("--json");
    let o = tickrail(&all, cwd);
    assert!(o.status.success(), "{}", text(&o));
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", String::from_utf8_lossy(&o.stdout)))
}

/// Symbol → raw position of a state.
fn positions(state: &Value) -> BTreeMap<String, i64> {
    state["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["symbol"].as_str().unwrap().to_owned(),
                i["position"]["raw"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// An input: sequence, receive time and, for a fill, (instrument, signed quantity).
type Input = (u64, i64, Option<(u32, i64)>);

/// Every input of `run`.
fn inputs(run: &Path) -> Vec<Input> {
    let mut reader = JournalReader::open(&run.join("inputs")).unwrap();
    let mut all = Vec::new();
    while let Some(r) = reader.next().unwrap() {
        let e = decode_event(&r).unwrap();
        let fill = match e.body {
            EventBody::ExecReport {
                exec: ExecKind::Fill | ExecKind::PartialFill,
                side,
                qty,
                ..
            } => {
                let q = if side == Side::Buy {
                    qty.raw()
                } else {
                    -qty.raw()
                };
                Some((e.header.instrument.get(), q))
            }
            _ => None,
        };
        all.push((e.header.sequence, e.header.receive_ts_ns, fill));
    }
    all
}

#[test]
fn state_of_a_finished_run_matches_its_summary_and_its_fills() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = make_run(tmp.path());
    let state = state_json(&["r"], tmp.path());

    // `PnL AAA  -26.0890 (realised -28.4346, unrealised -4.1604, fees -6.5060), position 279`
    let mut printed = BTreeMap::new();
    for line in summary.lines().filter(|l| l.starts_with("PnL ")) {
        let Some((head, pos)) = line.rsplit_once(", position ") else {
            continue;
        };
        let symbol = head.split_whitespace().nth(1).unwrap().to_owned();
        let money = |key: &str| {
            head.split(key)
                .nth(1)
                .unwrap()
                .split([',', ')'])
                .next()
                .unwrap()
                .to_owned()
        };
        printed.insert(
            symbol,
            (
                pos.trim().parse::<i64>().unwrap(),
                money("realised "),
                money("fees "),
            ),
        );
    }
    assert_eq!(printed.len(), 3, "three PnL lines in:\n{summary}");
    let pos = positions(&state);
    assert_eq!(
        pos,
        printed
            .iter()
            .map(|(s, (p, _, _))| (s.clone(), *p))
            .collect::<BTreeMap<_, _>>(),
        "positions: state vs the run's summary\n{summary}"
    );
    assert!(pos.values().any(|&p| p != 0), "the run traded: {pos:?}");
    for i in state["instruments"].as_array().unwrap() {
        let (_, realised, fees) = &printed[i["symbol"].as_str().unwrap()];
        assert_eq!(i["realised_pnl"]["decimal"].as_str().unwrap(), realised);
        assert_eq!(i["fees"]["decimal"].as_str().unwrap(), fees);
    }

    // The same positions from the journal's fills, and the state is at its last input.
    let all = inputs(&tmp.path().join("r"));
    let mut fills: BTreeMap<u32, i64> = BTreeMap::new();
    for (_, _, f) in &all {
        if let Some((i, q)) = f {
            *fills.entry(*i).or_default() += q;
        }
    }
    for i in state["instruments"].as_array().unwrap() {
        let id = u32::try_from(i["id"].as_u64().unwrap()).unwrap();
        assert_eq!(
            i["position"]["raw"].as_i64().unwrap(),
            fills.get(&id).copied().unwrap_or(0),
            "fill sum of instrument {id}"
        );
    }
    let (last_seq, last_ts, _) = *all.last().unwrap();
    assert_eq!(state["at_sequence"].as_u64(), Some(last_seq));
    assert_eq!(state["at_event_time_ns"].as_i64(), Some(last_ts));
    assert_eq!(state["inputs"].as_u64(), Some(all.len() as u64));

    // Deterministic: a second rebuild prints the same bytes.
    let again = tickrail(&["state", "r", "--json"], tmp.path());
    assert_eq!(
        serde_json::from_slice::<Value>(&again.stdout).unwrap(),
        state
    );

    // The text report shows the same state.
    let o = tickrail(&["state", "r"], tmp.path());
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    println!("{t}");
    assert!(t.contains(&format!("at input {last_seq} ")), "{t}");
    for i in state["instruments"].as_array().unwrap() {
        let symbol = i["symbol"].as_str().unwrap();
        let row = t
            .lines()
            .find(|l| l.split_whitespace().next() == Some(symbol))
            .unwrap_or_else(|| panic!("no row for {symbol} in:\n{t}"));
        assert_eq!(
            row.split_whitespace().nth(1),
            i["position"]["decimal"].as_str(),
            "{row}"
        );
    }
    for want in ["open orders", "kill switch off", "throttle", "rejects"] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
}

#[test]
fn state_at_an_earlier_input_is_that_inputs_state() {
    let tmp = tempfile::tempdir().unwrap();
    make_run(tmp.path());
    let all = inputs(&tmp.path().join("r"));
    let end = state_json(&["r"], tmp.path());

    // Just before the first fill: flat everywhere; at it: that fill's position.
    let (k, &(seq, ts, fill)) = all
        .iter()
        .enumerate()
        .find(|(_, (_, _, f))| f.is_some())
        .expect("the run has fills");
    let (instrument, qty) = fill.unwrap();
    let before = state_json(&["r", "--at", &(seq - 1).to_string()], tmp.path());
    assert_eq!(before["at_sequence"].as_u64(), Some(seq - 1));
    assert_eq!(before["inputs"].as_u64(), Some(k as u64));
    assert!(positions(&before).values().all(|&p| p == 0), "{before:#}");
    let at = state_json(&["r", "--at", &seq.to_string()], tmp.path());
    assert_eq!(at["at_sequence"].as_u64(), Some(seq));
    assert_eq!(at["at_event_time_ns"].as_i64(), Some(ts));
    let i = usize::try_from(instrument).unwrap();
    assert_eq!(at["instruments"][i]["position"]["raw"].as_i64(), Some(qty));
    assert_ne!(at, end, "an earlier state differs from the end");
    assert_ne!(at, before);

    // By receive time: every input received by then, i.e. the last one with that time.
    let last_at_ts = all.iter().rev().find(|(_, t, _)| *t == ts).unwrap().0;
    let by_time = state_json(&["r", "--at", &format!("@{ts}")], tmp.path());
    let by_seq = state_json(&["r", "--at", &last_at_ts.to_string()], tmp.path());
    assert_eq!(by_time["at_sequence"].as_u64(), Some(last_at_ts));
    assert_eq!(by_time, by_seq);

    // The text report names the point; past the end it is the last state, and says so.
    let o = tickrail(&["state", "r", "--at", &seq.to_string()], tmp.path());
    assert!(
        text(&o).contains(&format!("at input {seq} ")),
        "{}",
        text(&o)
    );
    let past = all.last().unwrap().0 + 1000;
    let o = tickrail(&["state", "r", "--at", &past.to_string()], tmp.path());
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains(&format!("the journal ends before input {past}")),
        "{t}"
    );
    assert_eq!(
        state_json(&["r", "--at", &past.to_string()], tmp.path()),
        end
    );
}

#[test]
fn state_works_from_another_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    make_run(&a);
    let here = state_json(&["r"], &a);
    // The config the run was started with is gone: the run directory's copy is used.
    std::fs::remove_file(a.join("state.toml")).unwrap();
    let run = a.join("r");
    let there = state_json(&[run.to_str().unwrap()], &b);
    assert_eq!(here, there);
    // Either journal of the run names it too.
    let inputs = run.join("inputs");
    assert_eq!(state_json(&[inputs.to_str().unwrap()], &b), here);
    let o = tickrail(&["state", run.to_str().unwrap()], &b);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn bad_input_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    for (args, want) in [
        (vec!["state", "empty"], "empty: not a run directory"),
        (vec!["state", "missing"], "missing: not a run directory"),
        (vec!["state", "file", "--json"], "file: not a run directory"),
    ] {
        let o = tickrail(&args, tmp.path());
        let t = text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {t}");
        assert!(t.contains(want), "{args:?}: {t}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout: {t}");
    }

    // A run, but a point that is not one.
    make_run(tmp.path());
    let o = tickrail(&["state", "r", "--at", "yesterday"], tmp.path());
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(
        t.contains("--at") && t.contains("expected a sequence number"),
        "{t}"
    );
}
