//! `tickrail run` against the outside world on loopback, with the real binaries: the venue
//! simulator (`tickrail venue`, a FIX 4.4 acceptor), the market data (`tickrail feed
//! publish`, ITCH 5.0 in MoldUDP64 over multicast joined on 127.0.0.1) and the engine
//! (`tickrail run` with `[live] market = "gateways"`, config/live-sim.toml with its ports,
//! group and paths moved into a temporary directory).
//!
//! 1. The ITCH sample end to end: every message arrives, the run journals, and `tickrail
//!    replay --verify` reproduces it byte for byte.
//! 2. The venue killed (SIGKILL) mid-session and restarted on its message store: the FIX
//!    session logs on again with its sequence numbers, the orders in flight are reconciled,
//!    and the venue's own record (the execution reports in its QuickFIX store) matches the
//!    run's journal: every order the engine sent reached the venue once, every fill the
//!    venue sent is in the journal once, and the positions are the sum of those fills.
//! 3. The engine killed (SIGKILL) mid-session and resumed (`tickrail run --resume`): the
//!    recovered run logs on to the same FIX session with the same ClOrdIDs, the orders in
//!    flight are reconciled against its journal, and every fill the venue sent in either
//!    session is in the journal once — those the gateway took but the journal never got
//!    included — so the positions are the venue's, and the journal replays exactly.
//!
//! Every wait has a timeout; every child process is killed when its guard drops.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tickrail_engine::runtime::clock::now_ns;
use tickrail_engine::runtime::stats_file::StatsReader;

use common::{text, tickrail};

/// A child process killed on drop, its output in a file.
struct Proc {
    child: Child,
    out: PathBuf,
}

impl Proc {
    fn spawn(args: &[&str], cwd: &Path, out: PathBuf) -> Self {
        let file = std::fs::File::create(&out).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
            .args(args)
            .current_dir(cwd)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, out }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Waits for the exit (up to `timeout`); the output and whether it succeeded.
    fn wait(&mut self, timeout: Duration) -> (bool, String) {
        let t0 = now_ns();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status.success(), self.output());
            }
            assert!(
                Duration::from_nanos(now_ns() - t0) < timeout,
                "process did not exit within {timeout:?}; output so far:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to `timeout`) until `started` says so; fails if the process exits first.
    fn wait_until_started(
        &mut self,
        what: &str,
        timeout: Duration,
        started: impl Fn(&Self) -> bool,
    ) {
        let t0 = now_ns();
        while !started(self) {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "{what} exited:\n{}",
                self.output()
            );
            assert!(
                Duration::from_nanos(now_ns() - t0) < timeout,
                "{what} did not start within {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (a clean stop), then [`wait`](Self::wait).
    fn terminate(&mut self, timeout: Duration) -> (bool, String) {
        self.signal("TERM");
        self.wait(timeout)
    }

    /// Sends the signal `name` (`TERM`, `STOP`, `CONT`).
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (bound and released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The files of one loopback session in `dir`: FIX settings on a free port, the live
/// config on a multicast group of its own, the venue file.
struct Setup {
    dir: PathBuf,
    live: PathBuf,
    venue: PathBuf,
    group: String,
    venue_store: PathBuf,
}

impl Setup {
    /// `edit` changes the text of config/live-sim.toml after the paths are moved.
    fn new(dir: &Path, k: u8, liquidity: &str, edit: impl Fn(String) -> String) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let port = free_port();
        let group = format!(
            "239.255.78.{k}:{}",
            21_000 + (std::process::id() % 4_000) * 8 + u32::from(k)
        );
        let common = "PersistMessages=Y\nResetOnLogon=N\nResetOnLogout=N\n\
                      ResetOnDisconnect=N\nRefreshOnLogon=Y\nNonStopSession=Y\nHeartBtInt=30\n\
                      UseDataDictionary=N\nCheckLatency=N\n";
        let venue_store = dir.join("venue-store");
        std::fs::create_dir_all(dir.join("fix")).unwrap();
        std::fs::write(
            dir.join("fix/initiator.cfg"),
            format!(
                "[DEFAULT]\nConnectionType=initiator\nFileStorePath={}\nReconnectInterval=1\n\
                 {common}[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TICKRAIL\n\
                 TargetCompID=VENUE\nSocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
                dir.join("gateway-store").display()
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("acceptor.cfg"),
            format!(
                "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\n\
                 FileStorePath={}\n{common}[SESSION]\nBeginString=FIX.4.4\n\
                 SenderCompID=VENUE\nTargetCompID=TICKRAIL\n",
                venue_store.display()
            ),
        )
        .unwrap();
        let live_sim = std::fs::read_to_string(repo.join("config/live-sim.toml")).unwrap();
        let mut text = live_sim
            .replace(
                "group = \"239.255.10.1:31001\"",
                &format!("group = \"{group}\""),
            )
            .replace(
                "state = \"data/fix/gateway/in-flight.state\"",
                &format!(
                    "state = \"{}\"",
                    dir.join("gateway-store/in-flight.state").display()
                ),
            )
            .replace("journal_dir = \"data\"", "journal_dir = \"journal\"")
            // Tests share the machine: no pinning.
            .replace("core = 0\n", "")
            .replace("core = 1\n", "");
        assert_ne!(text, live_sim);
        text = edit(text);
        let live = dir.join("live.toml");
        std::fs::write(&live, text).unwrap();
        let venue = dir.join("venue.toml");
        std::fs::write(
            &venue,
            format!(
                "engine_config = \"live.toml\"\nfix_config = \"acceptor.cfg\"\n\
                 liquidity = \"{liquidity}\"\nvenue_id = 1\n"
            ),
        )
        .unwrap();
        Self {
            dir: dir.to_owned(),
            live,
            venue,
            group,
            venue_store,
        }
    }

    /// Starts `tickrail venue` and waits until it accepts (its banner: the acceptor is
    /// listening and, with `liquidity = "feed"`, the group is joined).
    fn venue(&self, n: u32) -> Proc {
        let mut p = Proc::spawn(
            &["venue", "--config", self.venue.to_str().unwrap()],
            &self.dir,
            self.dir.join(format!("venue{n}.out")),
        );
        p.wait_until_started("tickrail venue", Duration::from_secs(30), |p| {
            p.output().contains("tickrail venue: accepting")
        });
        p
    }

    /// Starts `tickrail run` and waits until it runs (see [`engine_running`]).
    fn run(&self) -> Proc {
        self.run_in("run")
    }

    /// [`run`](Self::run) journaling to `self.dir/name`.
    fn run_in(&self, name: &str) -> Proc {
        let args = [
            "run",
            "--config",
            self.live.to_str().unwrap(),
            "--run-dir",
            name,
        ];
        self.engine(&args, name, &format!("{name}.out"))
    }

    /// `tickrail run --resume self.dir/name` (output in `name-resumed.out`), once its engine
    /// runs: recovered from the journal and trading.
    fn resume(&self, name: &str) -> Proc {
        self.engine(
            &["run", "--resume", name],
            name,
            &format!("{name}-resumed.out"),
        )
    }

    /// Starts `tickrail args` and waits until the engine journaling to `self.dir/run` runs.
    fn engine(&self, args: &[&str], run: &str, out: &str) -> Proc {
        let mut p = Proc::spawn(args, &self.dir, self.dir.join(out));
        let stats = self.dir.join(run).join("stats");
        let pid = p.child.id();
        // The engine's start-up (models, journals, threads; a resume's replay of the
        // journal) is CPU-bound: slow when tests and builds share the machine.
        p.wait_until_started("tickrail run", Duration::from_secs(120), |_| {
            engine_running(&stats, pid)
        });
        p
    }

    fn publish(&self, file: &Path, rate: u32) -> Proc {
        Proc::spawn(
            &[
                "feed",
                "publish",
                file.to_str().unwrap(),
                "--group",
                &self.group,
                "--rate",
                &rate.to_string(),
                "--itch-date",
                "2019-12-30",
            ],
            &self.dir,
            self.dir.join("publish.out"),
        )
    }
}

/// Whether the engine of `stats` (its stats file), process `pid`, runs: the file has been
/// published once by it (a resumed run's file is an earlier process's until it starts).
/// The file appears earlier, once the gateways are open — the UDP socket has joined the
/// group — but before the engine starts (models, journals, threads), which takes seconds on
/// a loaded machine: a feed published meanwhile piles up in the socket's buffer, and what
/// does not fit (some 10,000 small datagrams) is lost to a gap.
fn engine_running(stats: &Path, pid: u32) -> bool {
    StatsReader::open(stats)
        .ok()
        .and_then(|r| r.read())
        .is_some_and(|s| s.pid == pid && s.publishes > 0)
}

/// The number after `label` in `text` (`"fills       12 fills"` → 12 for `"fills"`).
fn number_after(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} not in:\n{text}"));
    text[at + label.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .unwrap()
        .parse()
        .unwrap()
}

/// The committed ITCH sample (`gateways/samples/itch/`).
fn sample() -> PathBuf {
    let p = tickrail_gateways::feed::sample_data_dir().join("itch/ex20101224.TEST_ITCH_50.gz");
    assert!(
        p.is_file(),
        "{} is missing (the ITCH sample is committed in gateways/samples/itch; \
         TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
        p.display()
    );
    p
}

#[test]
fn itch_sample_over_udp_and_fix_replays_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    // The venue's books mirror the same feed (config/venue-sim.toml's mode).
    let s = Setup::new(tmp.path(), 1, "feed", |t| t);
    let mut venue = s.venue(1);
    let mut run = s.run();
    // Garbage first, on the same group: a short packet, a message block that does not
    // match its header, another session's packet. Counted and dropped by both receivers.
    {
        use tickrail_gateways::udp::craft::add_order;
        use tickrail_gateways::udp::{encode, Publisher, PublisherConfig, Session};
        let mut tx = Publisher::new(PublisherConfig::new(s.group.parse().unwrap())).unwrap();
        let add = add_order(1, 1, 1, b'B', 100, "BOB", 60_000);
        let mut malformed = encode("20191230".parse::<Session>().unwrap(), 1, &[&add]);
        malformed[19] = 3; // three messages announced, one there
        for packet in [
            vec![0u8; 5],
            malformed,
            encode("OTHER".parse::<Session>().unwrap(), 1, &[&add]),
        ] {
            tx.send_raw(&packet).unwrap();
        }
    }
    let (ok, out) = s.publish(&sample(), 20_000).wait(Duration::from_secs(60));
    assert!(ok, "{out}");
    assert!(out.contains("12012 messages"), "{out}");
    let (ok, out) = run.wait(Duration::from_secs(60));
    assert!(ok, "{out}");
    // Every message of the file arrived, in order, nothing rejected.
    for want in [
        "12012 messages, 11886 events; gaps 0 (0 messages missing), duplicates 0",
        "rejected packets 3 (short 1, malformed 1, wrong session 1)",
        "session ended",
        "dropped; 1 logons",
        "closed cleanly",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Orders went out over FIX and their reports came back as inputs.
    let sent = number_after(&out, "fix session");
    assert!(sent > 0, "no order sent:\n{out}");
    assert_eq!(
        number_after(&out, "requests sent (new + cancel + amend), ") as usize,
        0,
        "{out}"
    );
    let (ok, vout) = venue.terminate(Duration::from_secs(20));
    assert!(ok, "{vout}");
    assert_eq!(number_after(&vout, "new_orders"), sent, "{vout}");
    // The venue mirrored the whole feed onto its books.
    assert!(vout.contains("11886 events, 0 gaps; mirrored"), "{vout}");
    // The journal replays exactly.
    let v = tickrail(&["replay", "--verify", "run"], tmp.path());
    let vt = text(&v);
    assert!(v.status.success(), "{vt}");
    assert!(vt.contains("identical"), "{vt}");
    assert!(vt.contains("order_new"), "{vt}");
}

// ---- the venue killed mid-session -------------------------------------------------------

/// An ITCH file (2-byte length prefixes) of `steps` book changes for BOB around 6.00: a
/// bid and an ask that move by a tick at random and change size, so the model's imbalance
/// features swing and the strategy quotes and takes.
fn bob_book_file(path: &Path, steps: u32) {
    use tickrail_gateways::udp::craft::{add_order, order_delete, system_event};
    let mut out = Vec::new();
    let mut push = |m: &[u8]| {
        out.extend_from_slice(&u16::try_from(m.len()).unwrap().to_be_bytes());
        out.extend_from_slice(m);
    };
    let t0: u64 = 9 * 3_600_000_000_000 + 30 * 60_000_000_000;
    push(&system_event(t0, b'O'));
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let (mut bid, mut ask) = (None::<u64>, None::<u64>);
    for i in 0..u64::from(steps) {
        let ts = t0 + (i + 1) * 1_000_000;
        let r = next();
        let mid_ticks: u32 = 600 + u32::try_from(r % 3).unwrap(); // 6.00 .. 6.02
        let size = 100 + 100 * u32::try_from((r >> 8) % 10).unwrap();
        let reference = 1_000 + i;
        if i % 2 == 0 {
            if let Some(old) = bid.replace(reference) {
                push(&order_delete(1, ts, old));
            }
            push(&add_order(
                1,
                ts,
                reference,
                b'B',
                size,
                "BOB",
                (mid_ticks - 1) * 100,
            ));
        } else {
            if let Some(old) = ask.replace(reference) {
                push(&order_delete(1, ts, old));
            }
            push(&add_order(
                1,
                ts,
                reference,
                b'S',
                size,
                "BOB",
                (mid_ticks + 1) * 100,
            ));
        }
    }
    push(&system_event(t0 + u64::from(steps + 2) * 1_000_000, b'C'));
    std::fs::write(path, out).unwrap();
}

/// Waits (up to 30 s) until the venue has sent `n` ExecutionReports — the session is up
/// and orders flow — so that a kill lands mid-session however slowly the processes start.
fn wait_for_trading(store: &Path, n: usize) {
    let t0 = now_ns();
    loop {
        let sent: usize = std::fs::read_dir(store)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == "body"))
                    .map(|e| {
                        let bytes = std::fs::read(e.path()).unwrap_or_default();
                        bytes.windows(5).filter(|w| w == b"\x0135=8").count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        if sent >= n {
            return;
        }
        assert!(
            Duration::from_nanos(now_ns() - t0) < Duration::from_secs(30),
            "the venue sent {sent} execution reports in 30 s, {n} expected"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The next MsgSeqNum the gateway expects from the venue (the second number of its QuickFIX
/// store's `.seqnums` file): every message below it reached the gateway.
fn gateway_next_incoming(dir: &Path) -> u64 {
    for entry in std::fs::read_dir(dir.join("gateway-store")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "seqnums") {
            let text = std::fs::read_to_string(&path).unwrap();
            let (_, target) = text.split_once(':').unwrap();
            return target.trim().parse().unwrap();
        }
    }
    panic!("no .seqnums file in the gateway's store");
}

/// The ExecutionReports (35=8) a QuickFIX file store holds — its `.body` file: every
/// message the venue sent, kept across its restarts — that reached the gateway (MsgSeqNum
/// below `delivered_below`), each as tag → value. (What the venue sent to no one — fills
/// of orders left at the venue after the last run logged out — is not the runs' to see.)
fn venue_store_exec_reports(store: &Path, delivered_below: u64) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(store).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "body") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        for msg in String::from_utf8_lossy(&bytes).split("8=FIX.4.4\u{1}") {
            let fields: BTreeMap<String, String> = msg
                .split('\u{1}')
                .filter_map(|f| f.split_once('='))
                .map(|(t, v)| (t.to_owned(), v.to_owned()))
                .collect();
            let delivered = fields
                .get("34")
                .is_some_and(|n| n.parse::<u64>().unwrap() < delivered_below);
            if fields.get("35").is_some_and(|t| t == "8") && delivered {
                out.push(fields);
            }
        }
    }
    out
}

/// From the venue's store: per ClOrdID (11) less `base`, the fills' LastQty (32) sum, and
/// how many times each NewOrderSingle was answered (acked, 150=0, or rejected, 150=8).
fn venue_store_reports(
    store: &Path,
    delivered_below: u64,
    base: u64,
) -> (BTreeMap<u64, u64>, BTreeMap<u64, u32>) {
    let mut fills = BTreeMap::new();
    let mut answered = BTreeMap::new();
    for r in venue_store_exec_reports(store, delivered_below) {
        let cl: u64 = r["11"].parse::<u64>().unwrap() - base;
        match r["150"].as_str() {
            "F" => *fills.entry(cl).or_insert(0) += r["32"].parse::<u64>().unwrap(),
            "0" | "8" => *answered.entry(cl).or_insert(0) += 1,
            _ => {}
        }
    }
    (fills, answered)
}

/// What a run's journal says: per clid the sum of fill quantities, the signed position per
/// instrument, the number of fills, the clids with any execution report, and (from the
/// outputs) the clids of the new orders sent. A clid at or above 2^32 is an earlier run's
/// whole ClOrdID (see `gateways/src/live/gateway_market.rs`).
struct Journaled {
    fills_by_clid: BTreeMap<u64, u64>,
    position: BTreeMap<u32, i64>,
    fills: usize,
    reported: BTreeSet<u64>,
    sent: BTreeSet<u64>,
}

fn journaled(dir: &Path, run: &str) -> Journaled {
    let lines = |stream: &String, kind: &str| {
        let o = tickrail(&["journal", "inspect", stream, "--kind", kind], dir);
        let t = text(&o);
        assert!(o.status.success(), "{t}");
        t
    };
    let value = |line: &str, key: &str| -> String {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("{key} not in {line}"))
            .to_owned()
    };
    let mut j = Journaled {
        fills_by_clid: BTreeMap::new(),
        position: BTreeMap::new(),
        fills: 0,
        reported: BTreeSet::new(),
        sent: BTreeSet::new(),
    };
    for line in lines(&format!("{run}/inputs"), "exec_report").lines() {
        let Some(at) = line.rfind("exec_report ") else {
            continue;
        };
        let clid: u64 = value(line, "clid=").parse().unwrap();
        j.reported.insert(clid);
        let kind = line[at..].split_whitespace().nth(1).unwrap_or_default();
        if kind != "fill" && kind != "partial_fill" {
            continue;
        }
        // `qty=` of a fill is the fill's quantity.
        let qty: u64 = value(line, "qty=").parse().unwrap();
        let inst: u32 = value(line, "inst=").parse().unwrap();
        let sign = if value(line, "side=") == "buy" { 1 } else { -1 };
        *j.fills_by_clid.entry(clid).or_insert(0) += qty;
        *j.position.entry(inst).or_insert(0) += sign * i64::try_from(qty).unwrap();
        j.fills += 1;
    }
    for line in lines(&format!("{run}/outputs"), "order_new").lines() {
        if line.contains("order_new clid=") {
            j.sent.insert(value(line, "clid=").parse().unwrap());
        }
    }
    j
}

#[test]
fn venue_killed_mid_session_recovers_without_duplicates_or_lost_fills() {
    let tmp = tempfile::tempdir().unwrap();
    let s = trading_setup(tmp.path(), 2);
    let feed = tmp.path().join("bob.itch");
    bob_book_file(&feed, 12_000);
    let mut venue = s.venue(1);
    let mut run = s.run();
    let mut publish = s.publish(&feed, 2_000); // ~12 s of market data
    wait_for_trading(&s.venue_store, 20);
    drop(venue); // SIGKILL: no logout, books lost, the store keeps what it sent
    std::thread::sleep(Duration::from_millis(1_500));
    venue = s.venue(2);
    let (ok, out) = publish.wait(Duration::from_secs(60));
    assert!(ok, "{out}");
    let (ok, out) = run.wait(Duration::from_secs(60));
    assert!(ok, "{out}");
    let (ok, vout) = venue.terminate(Duration::from_secs(20));
    assert!(ok, "{vout}");

    // The session came back with its sequence numbers (no reset) and reconciled.
    let logons = number_after(&out, "duplicates dropped; ");
    assert!(logons >= 2, "{logons} logons:\n{out}");
    assert!(out.contains("gaps 0 (0 messages missing)"), "{out}");
    // The venue saw ClOrdID = base + the engine's client order id.
    let base = number_after(&out, "ClOrdID = ");
    let delivered = gateway_next_incoming(tmp.path());
    let (store_fills, answered) = venue_store_reports(&s.venue_store, delivered, base);
    let j = journaled(tmp.path(), "run");
    assert!(j.fills > 0, "no fill in the run:\n{out}");
    // Every fill the venue sent (before or after its restart) is in the journal, once.
    assert_eq!(
        j.fills_by_clid, store_fills,
        "fills: journal vs the venue's store\n{out}"
    );
    // No order reached the venue twice: each was answered (acked or rejected) at most once,
    // and only orders the engine sent were.
    let sent = number_after(&out, "fix session");
    assert_eq!(j.sent.len() as u64, sent, "{out}");
    for (cl, n) in &answered {
        assert_eq!(*n, 1, "order {cl} answered {n} times by the venue");
        assert!(
            j.sent.contains(cl),
            "the venue answered order {cl}, never sent"
        );
    }
    // No order was lost: each one sent has an execution report in the journal (those the
    // venue lost with its books were settled by the reconciliation after the restart).
    let unsettled: Vec<_> = j.sent.difference(&j.reported).collect();
    assert!(
        unsettled.is_empty(),
        "orders without any report: {unsettled:?}\n{out}"
    );
    eprintln!(
        "{out}\n{} fills in the journal ({} orders filled), {} of {} orders answered in the \
         venue's store\nvenue after restart:\n{vout}",
        j.fills,
        j.fills_by_clid.len(),
        answered.len(),
        j.sent.len()
    );
    // The positions are the fills.
    for (inst, symbol) in [(0u32, "BOB"), (1, "CHAR"), (2, "ALC")] {
        let want = j.position.get(&inst).copied().unwrap_or(0);
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("PnL {symbol}")))
            .unwrap();
        assert!(
            line.ends_with(&format!("position {want}")),
            "{symbol}: journal fills give {want}: {line}"
        );
    }
}

// ---- the engine process killed mid-session ------------------------------------------------

/// From the venue's store: per symbol (55) the signed sum of the fills (54 side, 32
/// LastQty), and per whole ClOrdID the fills' LastQty sum.
fn venue_store_positions(
    store: &Path,
    delivered_below: u64,
) -> (BTreeMap<String, i64>, BTreeMap<u64, u64>) {
    let (mut position, mut by_id) = (BTreeMap::new(), BTreeMap::new());
    for r in venue_store_exec_reports(store, delivered_below) {
        if r["150"] != "F" {
            continue;
        }
        let qty: u64 = r["32"].parse().unwrap();
        let sign = if r["54"] == "1" { 1 } else { -1 };
        *position.entry(r["55"].clone()).or_insert(0) += sign * i64::try_from(qty).unwrap();
        *by_id.entry(r["11"].parse::<u64>().unwrap()).or_insert(0) += qty;
    }
    (position, by_id)
}

/// A session whose venue runs synthetic participants around BOB 6.01, where the crafted
/// feed of [`bob_book_file`] is, with a low take threshold so that the strategy trades.
fn trading_setup(dir: &Path, k: u8) -> Setup {
    Setup::new(dir, k, "synthetic", |t| {
        t.replace("initial_mid = \"6.00\"", "initial_mid = \"6.01\"")
            .replace(
                "participant_rate_per_s = 200.0",
                "participant_rate_per_s = 2000.0",
            )
            .replace("threshold_bps = 2.5", "threshold_bps = 0.5")
    })
}

/// The positions `tickrail state RUN --json` rebuilds from the run's journal, per symbol.
fn state_positions(dir: &Path, run: &str) -> BTreeMap<String, i64> {
    let o = tickrail(&["state", run, "--json"], dir);
    assert!(o.status.success(), "{}", text(&o));
    let state: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    state["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let symbol = i["symbol"].as_str().unwrap().to_owned();
            assert_eq!(i["position"]["scale"], 0, "{i}");
            (symbol, i["position"]["raw"].as_i64().unwrap())
        })
        .collect()
}

#[test]
fn engine_killed_mid_session_resumes_reconciles_and_misses_no_fill() {
    let tmp = tempfile::tempdir().unwrap();
    let s = trading_setup(tmp.path(), 3);
    let feed = tmp.path().join("bob.itch");
    bob_book_file(&feed, 14_000);
    let mut venue = s.venue(1);
    let run1 = s.run_in("run");
    let mut publish = s.publish(&feed, 2_000); // ~14 s of market data
    wait_for_trading(&s.venue_store, 20);
    // SIGKILL: orders in flight, quotes resting at the venue, and maybe reports the FIX
    // gateway took (its in-flight file updated, QuickFIX's sequence number past them) that
    // never reached the journal.
    drop(run1);
    let out1 = std::fs::read_to_string(tmp.path().join("run.out")).unwrap();
    // The feed pauses while the resumed run starts: its socket joins the group seconds
    // before its engine reads (see `engine_running`), and a feed that overflowed the
    // socket's buffer meanwhile would lose more than it missed by starting late (on a loaded
    // machine, its end of session too: then it never ends). Resumed, the publisher catches
    // up in full packets. The venue keeps trading; what it sends meanwhile waits in its
    // store.
    publish.signal("STOP");
    std::thread::sleep(Duration::from_millis(2_000));
    let mut run2 = s.resume("run");
    publish.signal("CONT");
    let (ok, out) = publish.wait(Duration::from_secs(60));
    assert!(ok, "{out}");
    let (ok, out2) = run2.wait(Duration::from_secs(60));
    assert!(ok, "{out2}");
    let (ok, vout) = venue.terminate(Duration::from_secs(20));
    assert!(ok, "{vout}");

    // The resumed run joined the feed late (one gap, counted and journaled as a feed_gap)
    // and the same FIX session, sequence numbers continuing: one logon, the orders in
    // flight reconciled against the journal.
    assert!(out2.contains("resumed "), "{out2}");
    assert!(out2.contains("gaps 1 ("), "{out2}");
    assert!(out2.contains("dropped; 1 logons"), "{out2}");
    let reconciled = number_after(&out2, "reconciled ");
    let gaps = number_after(&out2, "timeouts, ");
    assert!(reconciled > 0, "nothing was in flight at the kill:\n{out2}");
    // The same ClOrdIDs: base + the client ids, which continue; every report is for one of
    // the run's orders.
    let base = number_after(&out2, "ClOrdID = ");
    let saved: u64 = std::fs::read_to_string(tmp.path().join("run/clordid.base"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(base, saved, "{out2}");
    assert_eq!(number_after(&out2, "client id ("), 0, "{out2}");

    let delivered = gateway_next_incoming(tmp.path());
    let (store_position, store_fills) = venue_store_positions(&s.venue_store, delivered);
    let (_, answered) = venue_store_reports(&s.venue_store, delivered, base);
    // The journal holds both parts of the run.
    let j = journaled(tmp.path(), "run");
    let journal_fills: BTreeMap<u64, u64> = j
        .fills_by_clid
        .iter()
        .map(|(clid, q)| (base + clid, *q))
        .collect();
    eprintln!(
        "resumed run:\n{out2}\njournal: {} fills ({} orders filled, {} sent), {reconciled} \
         reconciled, {gaps} fill gaps; venue store: {} orders filled, {} answered\n{vout}",
        j.fills,
        j.fills_by_clid.len(),
        j.sent.len(),
        store_fills.len(),
        answered.len()
    );
    // Every fill the venue sent — before the kill (whether or not the journal had it then),
    // while the engine was down (resent on logon), after the restart — is in the journal,
    // once.
    assert_eq!(
        journal_fills, store_fills,
        "fills: journal vs the venue's store\nrun 1:\n{out1}"
    );
    // No order reached the venue twice: each was answered (acked or rejected) at most once,
    // and only orders the run sent were.
    for (cl, n) in &answered {
        assert_eq!(*n, 1, "order {cl} answered {n} times by the venue");
        assert!(
            j.sent.contains(cl),
            "the venue answered order {cl}, never sent"
        );
    }
    // No order was left without an answer: each one sent has an execution report in the
    // journal (those of the crash tail a local one, code 901).
    let unsettled: Vec<_> = j.sent.difference(&j.reported).collect();
    assert!(
        unsettled.is_empty(),
        "orders without any report: {unsettled:?}\n{out2}"
    );
    // The positions are the venue's fills across both sessions: as the journal rebuilds
    // them (`tickrail state`), and as the resumed run's recovered and continued OMS ended.
    let state = state_positions(tmp.path(), "run");
    for (inst, symbol) in [(0u32, "BOB"), (1, "CHAR"), (2, "ALC")] {
        let venue = store_position.get(symbol).copied().unwrap_or(0);
        assert_eq!(
            j.position.get(&inst).copied().unwrap_or(0),
            venue,
            "{symbol}"
        );
        assert_eq!(
            state.get(symbol).copied(),
            Some(venue),
            "{symbol}: {state:?}"
        );
        let line = out2
            .lines()
            .find(|l| l.starts_with(&format!("PnL {symbol}")))
            .unwrap();
        assert!(
            line.ends_with(&format!("position {venue}")),
            "{symbol}: the venue's fills give {venue}: {line}"
        );
    }
    // The journal, across the resume, replays exactly.
    let v = tickrail(&["replay", "--verify", "run"], tmp.path());
    let vt = text(&v);
    assert!(v.status.success(), "{vt}");
    assert!(vt.contains("identical"), "{vt}");
}

// ---- a stop request in the middle ---------------------------------------------------------

#[test]
fn sigterm_mid_session_logs_out_and_journals_everything_it_took() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Setup::new(tmp.path(), 4, "feed", |t| t);
    let mut venue = s.venue(1);
    let mut run = s.run();
    let mut publish = s.publish(&sample(), 2_000); // ~6 s of market data
    std::thread::sleep(Duration::from_millis(2_000));
    let (ok, out) = run.terminate(Duration::from_secs(30));
    assert!(ok, "{out}");
    let (ok, pout) = publish.wait(Duration::from_secs(60));
    assert!(ok, "{pout}");
    let (ok, vout) = venue.terminate(Duration::from_secs(20));
    assert!(ok, "{vout}");
    // Stopped before the feed ended, logged out, journal closed.
    for want in ["session not ended", "1 logouts", "closed cleanly"] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // Every report the venue delivered is in the journal: the acks, rejects and cancels
    // (fills too) the venue sent before the logout.
    let delivered = gateway_next_incoming(tmp.path());
    let base = number_after(&out, "ClOrdID = ");
    let (store_fills, answered) = venue_store_reports(&s.venue_store, delivered, base);
    let j = journaled(tmp.path(), "run");
    assert_eq!(j.fills_by_clid, store_fills, "{out}");
    for cl in answered.keys() {
        assert!(
            j.reported.contains(cl),
            "order {cl}'s answer is not in the journal"
        );
    }
    eprintln!(
        "{}\n{} orders answered by the venue, {} fills",
        out.lines()
            .filter(|l| l.starts_with("fix session") || l.starts_with("udp feed"))
            .collect::<Vec<_>>()
            .join("\n"),
        answered.len(),
        j.fills
    );
    let v = tickrail(&["replay", "--verify", "run"], tmp.path());
    let vt = text(&v);
    assert!(v.status.success() && vt.contains("identical"), "{vt}");
}
