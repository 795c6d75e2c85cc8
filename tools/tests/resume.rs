//! `tickrail run --resume`: a run killed (SIGKILL) at random points and resumed, over and
//! over, on the split layout (signal and order stages on threads of their own).
//!
//! After every kill and resume:
//! - `tickrail replay RUN --verify` over the whole multi-resume journal is identical (exit
//!   0), or a crash tail (exit 4) while the run has not closed — never a divergence;
//! - no order is sent twice: every `order_new` client id in the output journal is unique,
//!   and every order request re-derived for a crash tail is answered by a `rejected` or
//!   `cancel_rejected` input with the never-sent code;
//! - each resume continues at the sequence after the journal's last input;
//! - the state a resume rebuilds (the newest snapshot, then the inputs after it) equals
//!   that of an uninterrupted replay of the whole journal (`tickrail state`'s).
//!
//! Every few cycles the run is stopped cleanly (SIGTERM) instead: then the positions the
//! live chain ended with — rebuilt by every resume before, and carried on by the threads —
//! must equal those of `tickrail state`, an uninterrupted single-thread replay of the whole
//! journal.
//!
//! `TICKRAIL_RESUME_CYCLES` sets the number of cycles (default 20; more than 20 run the
//! market in real time, so the journal every cycle re-verifies stays small), and
//! `TICKRAIL_BIN` the binary (default: the one built with the tests).

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tickrail_engine::runtime::clock::now_ns;

/// Time since `t0` (a [`now_ns`] reading).
fn since(t0: u64) -> Duration {
    Duration::from_nanos(now_ns().saturating_sub(t0))
}

/// The binary under test (`TICKRAIL_BIN` overrides it: a long run on a frozen copy).
fn bin() -> String {
    std::env::var("TICKRAIL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tickrail").to_owned())
}

/// The built-in config on the split layout, for a long session: as fast as it goes (`max`,
/// a deep crash tail at every kill), or paced in real time (`realtime`, for long runs of
/// many cycles: the journal, which every cycle replays whole, grows slowly).
fn config(dir: &Path, pace: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/default.toml"
    ))
    .unwrap();
    let layout_at = text.find("[[runtime.threads]]").unwrap();
    let mut text = text[..layout_at]
        .replace(
            "duration_ns = 10_000_000_000",
            "duration_ns = 36_000_000_000_000",
        )
        .replace("pace = \"realtime\"", &format!("pace = \"{pace}\""))
        .replace(
            "progress_interval_ms = 1000",
            "progress_interval_ms = 0\nsnapshot_every_inputs = 20_000",
        );
    text.push_str(
        r#"
[[runtime.threads]]
name = "feed"
role = "feed"
core = 0
wait = "yield"

[[runtime.threads]]
name = "signal"
role = "stages"
stages = ["signal"]
core = 1
wait = "yield"

[[runtime.threads]]
name = "order"
role = "stages"
stages = ["order"]
core = 1
wait = "yield"

[[runtime.threads]]
name = "journal"
role = "journal"
core = 0
wait = "yield"
"#,
    );
    let path = dir.join("torture.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(args: &[&str], cwd: &Path, out: &Path) -> Child {
    let file = std::fs::File::create(out).unwrap();
    Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

fn wait(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let t0 = now_ns();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if since(t0) > timeout {
            let _ = child.kill();
            panic!("process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn tickrail(args: &[&str], cwd: &Path) -> (i32, String) {
    let out = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// A small deterministic generator for the kill points (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} not in:\n{text}"))
        + label.len();
    text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in:\n{text}"))
}

/// The last input sequence in the run's input journal.
fn last_input(cwd: &Path) -> u64 {
    let (code, text) = tickrail(&["journal", "verify", "run/inputs"], cwd);
    assert!(code == 0 || code == 2, "{text}");
    number_after(&text, "sequences 1..")
}

/// `order_new` client ids are unique; each never-sent request has its answer.
fn check_orders(cwd: &Path) {
    let (code, text) = tickrail(
        &["journal", "inspect", "run/outputs", "--kind", "order_new"],
        cwd,
    );
    assert_eq!(code, 0, "{text}");
    let mut ids = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| l.contains("clid=")) {
        let id = line
            .split("clid=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap();
        assert!(ids.insert(id.to_owned()), "order {id} sent twice:\n{line}");
    }
}

/// The state a resume rebuilds (the newest snapshot, then the inputs after it) equals the
/// state of an uninterrupted replay of the whole journal from its first input.
fn same_state_from_snapshot(cfg_path: &Path, run: &Path, cycle: u32) {
    use tickrail_engine::runtime::snapshot_file::{list_snapshots, load_snapshot};
    use tickrail_replay::state::EngineState;
    use tickrail_replay::verify::{replay_chain_from, ReplayOptions, ReplayStart};
    let cfg = tickrail_engine::config::EngineConfig::load(cfg_path).unwrap();
    let (full, _) = EngineState::rebuild(&cfg, run, None).unwrap();
    let Some((_, path)) = list_snapshots(run).unwrap().into_iter().next() else {
        return;
    };
    let (meta, chain, _) = load_snapshot(&path, &cfg).unwrap();
    let start = ReplayStart {
        chain,
        next_input: meta.input_sequence + 1,
        next_output: meta.next_output_sequence,
    };
    let (_, chain) = replay_chain_from(&cfg, run, ReplayOptions::default(), Some(start), |_| {
        std::ops::ControlFlow::Continue(())
    })
    .unwrap();
    let resumed = EngineState::of(&chain, &cfg, full.at_sequence, full.at_event_time_ns);
    assert_eq!(
        (&resumed.instruments, &resumed.open_orders, &resumed.risk),
        (&full.instruments, &full.open_orders, &full.risk),
        "cycle {cycle}: the state from {} and the inputs after it differs from a full replay",
        path.display()
    );
}

/// Positions per symbol from `tickrail run`'s summary (`PnL SYM … position N`).
fn summary_positions(text: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter(|l| l.starts_with("PnL ") && l.contains("position"))
        .map(|l| {
            let sym = l.split_whitespace().nth(1).unwrap().to_owned();
            let pos = l.rsplit("position").next().unwrap().trim().parse().unwrap();
            (sym, pos)
        })
        .collect()
}

#[test]
fn killed_at_random_and_resumed_the_run_is_one_journal_that_verifies() {
    let cycles: u32 = std::env::var("TICKRAIL_RESUME_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // Long runs (more than the CI default) are paced in real time; see `config`.
    let pace = if cycles > 20 { "realtime" } else { "max" };
    let cfg = config(cwd, pace);
    let mut rng = Rng(0x7e57_c0de ^ u64::from(cycles));
    let mut clean_stops = 0;
    for cycle in 0..cycles {
        let before = (cycle > 0).then(|| last_input(cwd));
        let out = cwd.join(format!("cycle-{cycle}.txt"));
        let mut child = if cycle == 0 {
            spawn(
                &["run", "--config", cfg.to_str().unwrap(), "--run-dir", "run"],
                cwd,
                &out,
            )
        } else {
            spawn(&["run", "--resume", "run"], cwd, &out)
        };
        // Run a while (recovery first, on resumes), then kill at a random point.
        let t0 = now_ns();
        while cycle > 0
            && !std::fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("resumed ")
            && since(t0) < Duration::from_secs(60)
        {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{}",
                std::fs::read_to_string(&out).unwrap()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        let clean = cycle % 5 == 4;
        if clean {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let status = wait(&mut child, Duration::from_secs(60));
            let text = std::fs::read_to_string(&out).unwrap();
            assert!(status.success(), "cycle {cycle}: {text}");
            let live = summary_positions(&text);
            assert!(!live.is_empty(), "{text}");
            let (code, state) = tickrail(&["state", "run"], cwd);
            assert_eq!(code, 0, "{state}");
            // The same symbols and positions in the replayed state.
            for (sym, pos) in &live {
                let line = state
                    .lines()
                    .find(|l| l.split_whitespace().next() == Some(sym.as_str()))
                    .unwrap_or_else(|| panic!("{sym} not in the state:\n{state}"));
                let words: Vec<&str> = line.split_whitespace().collect();
                assert_eq!(
                    words.get(1).and_then(|w| w.parse::<i64>().ok()),
                    Some(*pos),
                    "cycle {cycle}: {sym}: live chain position {pos}, replayed state:\n{state}\n{text}"
                );
            }
            clean_stops += 1;
        } else {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        let text = std::fs::read_to_string(&out).unwrap();
        if let Some(before) = before {
            assert_eq!(
                number_after(&text, "continuing at input"),
                before + 1,
                "cycle {cycle}: {text}"
            );
        }
        let (code, verify) = tickrail(&["replay", "run", "--verify"], cwd);
        assert!(
            code == 0 || (code == 4 && !clean),
            "cycle {cycle}: replay --verify exit {code}:\n{verify}\nrun:\n{text}"
        );
        check_orders(cwd);
        same_state_from_snapshot(&cfg, &cwd.join("run"), cycle);
    }
    // A last resume runs to a clean stop: the whole journal verifies identical.
    let out = cwd.join("final.txt");
    let mut child = spawn(&["run", "--resume", "run"], cwd, &out);
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = wait(&mut child, Duration::from_secs(120));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(status.success(), "{text}");
    let (code, verify) = tickrail(&["replay", "run", "--verify"], cwd);
    assert_eq!(code, 0, "{verify}");
    assert!(verify.contains("identical"), "{verify}");
    eprintln!("{cycles} cycles ({clean_stops} clean stops); {verify}");
}

/// Risk continuity: a run killed with an open position, recovered. An order that breaches
/// `max_position` only because of the old position is rejected with `max_position` (the
/// same order on the other side is not), and the day's PnL as risk counts it is the one the
/// journal gives, not zero.
#[test]
fn a_recovered_run_keeps_its_position_and_daily_loss_for_risk() {
    use tickrail_engine::{InstrumentId, RiskCode, Side};
    use tickrail_replay::state::EngineState;

    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/default.toml"
    ))
    .unwrap()
    .replace("pace = \"realtime\"", "pace = \"max\"")
    .replace("progress_interval_ms = 1000", "progress_interval_ms = 0")
    .replace("max_position = \"1500\"", "max_position = \"200\"")
    .replace("max_position = \"2000\"", "max_position = \"200\"");
    let cfg_path = cwd.join("small-limits.toml");
    std::fs::write(&cfg_path, text).unwrap();
    let limit = 200i128;

    // Kill once some instrument holds a position worth testing (checked from the journal).
    let run = cwd.join("run");
    let cfg = tickrail_engine::config::EngineConfig::load(&cfg_path).unwrap();
    let mut found = None;
    for attempt in 0..16u64 {
        let _ = std::fs::remove_dir_all(&run);
        let out = cwd.join(format!("run-{attempt}.txt"));
        let mut child = spawn(
            &[
                "run",
                "--config",
                cfg_path.to_str().unwrap(),
                "--run-dir",
                "run",
            ],
            cwd,
            &out,
        );
        std::thread::sleep(Duration::from_millis(150 + 120 * (attempt % 8)));
        child.kill().unwrap();
        child.wait().unwrap();
        if !run.join("inputs").is_dir() {
            continue;
        }
        let (before, _) = EngineState::rebuild(&cfg, &run, None).unwrap();
        let Some(i) = before
            .instruments
            .iter()
            .find(|i| i.position.raw.abs() >= 50 && i.mark.is_some())
        else {
            continue;
        };
        // A reducing order must have room: the orders already working on the reducing side
        // may use up the limit the other way (then this kill is no test of it).
        let recovered = tickrail_replay::resume::recover(&cfg, &run).unwrap();
        let risk = recovered.chain.downstream.risk();
        let id = InstrumentId::new(i.id);
        let reducing = if i.position.raw > 0 {
            Side::Sell
        } else {
            Side::Buy
        };
        if limit + i.position.raw.abs() - risk.working_qty(id, reducing).unwrap() > 0 {
            found = Some((before.clone(), i.clone(), recovered));
            break;
        }
    }
    let (before, inst, recovered) =
        found.expect("no run held a position of 50 or more, with room to reduce it, when killed");

    let after = EngineState::of(
        &recovered.chain,
        &cfg,
        before.at_sequence,
        before.at_event_time_ns,
    );
    assert_eq!(after.instruments, before.instruments);
    assert_eq!(after.risk, before.risk, "risk state after recovery");
    assert_ne!(
        after.risk.daily_pnl.raw, 0,
        "the day's PnL counts: {:?}",
        after.risk
    );

    let id = InstrumentId::new(inst.id);
    let risk = recovered.chain.downstream.risk();
    let position = risk.position(id).unwrap();
    assert_eq!(position, inst.position.raw, "risk's position is the OMS's");
    let (same, other) = if position > 0 {
        (Side::Buy, Side::Sell)
    } else {
        (Side::Sell, Side::Buy)
    };
    let working = risk.working_qty(id, same).unwrap();
    // Exposure after the order: |position ± (working + qty)| = limit + 1.
    let qty = limit + 1 - (position.abs() + working);
    assert!(
        qty > 0 && qty <= limit,
        "qty {qty} (position {position}, working {working})"
    );
    let qty = i64::try_from(qty).unwrap();
    let mark = i64::try_from(inst.mark.as_ref().unwrap().raw).unwrap();
    // Inside the price band, away from our own quotes.
    let price = |side: Side| match side {
        Side::Buy => mark - mark / 50,
        Side::Sell => mark + mark / 50,
    };
    let ts = before.at_event_time_ns.unwrap();
    let mut risk = recovered.chain.downstream.risk().clone();
    assert_eq!(
        risk.check(ts, id, same, price(same), qty, u64::MAX - 1),
        Err(RiskCode::MaxPosition),
        "an order breaching max_position only with the old position {position}"
    );
    // The same order on the other side reduces the position; it only breaches if the
    // orders already working on that side take it past the limit the other way, so it is
    // cut to what keeps |position − (working + qty)| within the limit.
    let working_other = recovered
        .chain
        .downstream
        .risk()
        .working_qty(id, other)
        .unwrap();
    let reduce =
        i64::try_from((limit + position.abs() - working_other).min(i128::from(qty))).unwrap();
    assert!(reduce > 0, "working {working_other} on the reducing side");
    let mut risk = recovered.chain.downstream.risk().clone();
    assert_ne!(
        risk.check(ts, id, other, price(other), reduce, u64::MAX - 2),
        Err(RiskCode::MaxPosition),
        "the same order reducing the position (working on that side: {working_other})"
    );
}

/// A short clean run of the built-in config (pace max): leaves a snapshot at its end.
fn clean_run(cwd: &Path, name: &str, seed: u64) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../config/default.toml"
    ))
    .unwrap()
    .replace("pace = \"realtime\"", "pace = \"max\"")
    .replace("progress_interval_ms = 1000", "progress_interval_ms = 0")
    .replace(
        "duration_ns = 10_000_000_000",
        "duration_ns = 2_000_000_000",
    )
    .replace("seed = 42", &format!("seed = {seed}"));
    let cfg = cwd.join(format!("{name}.toml"));
    std::fs::write(&cfg, text).unwrap();
    let (code, out) = tickrail(
        &["run", "--config", cfg.to_str().unwrap(), "--run-dir", name],
        cwd,
    );
    assert_eq!(code, 0, "{out}");
    cwd.join(name)
}

fn snapshots(run: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(run.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "snap"))
        .collect();
    v.sort();
    v
}

/// Every byte of every file under `dir`, by path (to show nothing changed).
fn tree_bytes(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn flip(path: &Path, offset: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[offset] ^= 0x5a;
    std::fs::write(path, b).unwrap();
}

#[test]
fn a_resume_uses_the_newest_good_snapshot_and_names_the_ones_it_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let run = clean_run(cwd, "run", 42);
    let snaps = snapshots(&run);
    assert_eq!(snaps.len(), 1, "a clean stop leaves a snapshot at the end");

    // A good snapshot at the journal's end: nothing to re-drive.
    let (code, out) = tickrail(&["run", "--resume", "run"], cwd);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("snapshot    "), "{out}");
    assert!(out.contains("resumed     0 inputs re-driven"), "{out}");

    // Damaged: the newest snapshot (of the resumed run's end) is skipped with its name
    // and the reason; the older one is used.
    let snaps = snapshots(&run);
    assert_eq!(snaps.len(), 2, "{snaps:?}");
    let newest = snaps.last().unwrap().clone();
    let len = std::fs::metadata(&newest).unwrap().len() as usize;
    flip(&newest, len / 2);
    let (code, out) = tickrail(&["run", "--resume", "run"], cwd);
    assert_eq!(code, 0, "{out}");
    let name = newest.file_name().unwrap().to_str().unwrap();
    assert!(
        out.lines().any(|l| l.starts_with("warning     snapshot")
            && l.contains(name)
            && l.contains("CRC")),
        "{out}"
    );
    assert!(
        out.contains(snaps[0].file_name().unwrap().to_str().unwrap()),
        "{out}"
    );

    // Another config's snapshot (another seed: another config hash) is skipped, named.
    let other = clean_run(cwd, "other", 7);
    for s in snapshots(&run) {
        std::fs::remove_file(s).unwrap();
    }
    let foreign = snapshots(&other).pop().unwrap();
    let target = run.join("snapshots").join(foreign.file_name().unwrap());
    std::fs::copy(&foreign, &target).unwrap();
    let (code, out) = tickrail(&["run", "--resume", "run"], cwd);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("warning     snapshot")
            && l.contains(target.file_name().unwrap().to_str().unwrap())
            && (l.contains("config hash") || l.contains("after the journal"))),
        "{out}"
    );
    let (code, verify) = tickrail(&["replay", "run", "--verify"], cwd);
    assert_eq!(code, 0, "{verify}");
}

#[test]
fn a_journal_with_a_corrupt_middle_is_refused_and_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let run = clean_run(cwd, "run", 42);
    let seg = std::fs::read_dir(run.join("inputs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .min()
        .unwrap();
    flip(&seg, 1_000_003);
    let before = tree_bytes(&run);
    let (code, out) = tickrail(&["run", "--resume", "run"], cwd);
    assert_ne!(code, 0, "{out}");
    let file = seg.file_name().unwrap().to_str().unwrap();
    assert!(
        out.contains(file) && out.contains("offset"),
        "names file and offset: {out}"
    );
    assert!(out.contains("nothing was changed"), "{out}");
    assert_eq!(tree_bytes(&run), before, "the run directory changed");

    // Not a run directory, or a run of another config: clear errors, nothing changed.
    let (code, out) = tickrail(&["run", "--resume", "nowhere"], cwd);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("not a run directory"), "{out}");
    let other = clean_run(cwd, "other", 7);
    let before = tree_bytes(&other);
    let cfg = cwd.join("run.toml");
    let (code, out) = tickrail(
        &[
            "run",
            "--resume",
            "other",
            "--config",
            cfg.to_str().unwrap(),
        ],
        cwd,
    );
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("config_hash"), "{out}");
    assert_eq!(tree_bytes(&other), before, "the run directory changed");
}
