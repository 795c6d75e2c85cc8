//! The journal CLI end to end: the real binary on real journals.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn tickrail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn demo(dir: &Path, events: u64) {
    let o = tickrail(&[
        "journal",
        "demo",
        "--dir",
        dir.to_str().unwrap(),
        "--events",
        &events.to_string(),
        "--segment-mib",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn demo_verify_stats_inspect() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    demo(&dir, 30_000);
    let d = dir.to_str().unwrap();

    let o = tickrail(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("OK: every record intact"));

    let o = tickrail(&["journal", "stats", d]);
    assert!(o.status.success());
    let t = text(&o);
    assert!(
        t.contains("quote") && t.contains("trade") && t.contains("book_level"),
        "{t}"
    );
    assert!(t.contains("records      30000"), "{t}");

    let o = tickrail(&[
        "journal", "inspect", d, "--kind", "trade", "--from", "100", "--to", "200",
    ]);
    let t = text(&o);
    let lines: Vec<&str> = t.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(l.contains(" trade ") && l.contains("px="), "{l}");
        let seq: u64 = l
            .split("seq=")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!((100..=200).contains(&seq), "{l}");
    }

    let o = tickrail(&["journal", "inspect", d, "--kind", "nonsense"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("unknown kind \"nonsense\""),
        "{}",
        text(&o)
    );

    let o = tickrail(&["journal", "tail", d, "-n", "3"]);
    assert_eq!(text(&o).lines().count(), 3, "{}", text(&o));
}

#[test]
fn verify_exit_codes_follow_damage_and_torn_tails() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    demo(&dir, 5_000);
    let d = dir.to_str().unwrap();
    let seg = dir.join("00000000000000000000.seg");
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg)
        .unwrap();
    // Find the 100th record via inspect's "segment:offset" column.
    let o = tickrail(&["journal", "inspect", d, "--from", "100", "-n", "1"]);
    let t = text(&o);
    let off: u64 = t
        .split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, off + 50).unwrap();
    f.write_all_at(&[b[0] ^ 1], off + 50).unwrap();
    let o = tickrail(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(
        t.contains(&format!(
            "00000000000000000000.seg: offset {off}: corrupt record: CRC32C mismatch"
        )),
        "{t}"
    );
    // Reading stops at the damage with the same place named, exit 1.
    let o = tickrail(&["journal", "inspect", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains(&format!("offset {off}")), "{}", text(&o));
    // Recovery refuses to cut committed records behind damage.
    let o = tickrail(&["journal", "recover", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("refusing to truncate"), "{}", text(&o));
    f.write_all_at(&b, off + 50).unwrap();

    // A torn tail: bytes after the last record that were never committed.
    let o = tickrail(&["journal", "stats", d]);
    assert!(o.status.success());
    let last = tickrail(&["journal", "tail", d, "-n", "1", "--internal"]);
    let t = text(&last);
    let (segment, rest) = t.trim_start().split_once(':').unwrap();
    let segment: u64 = segment.trim().parse().unwrap();
    let off: u64 = rest.split_whitespace().next().unwrap().parse().unwrap();
    let seg = dir.join(format!("{segment:020}.seg"));
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    let torn_at = off + 128; // after the last 96-byte event's 128-byte record
    f.write_all_at(&[0x60, 0, 0, 0, 1, 1, 7, 7], torn_at)
        .unwrap(); // a claim, no commit bit
    let o = tickrail(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("TORN TAIL"), "{}", text(&o));
    let o = tickrail(&["journal", "recover", d]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("cut 8 byte(s) at {}:{torn_at}", seg.display())),
        "{}",
        text(&o)
    );
    let o = tickrail(&["journal", "verify", d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn clear_errors_for_missing_locked_and_foreign_journals() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let o = tickrail(&["journal", "verify", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o).contains("journal directory does not exist"),
        "{}",
        text(&o)
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = tickrail(&["journal", "stats", empty.to_str().unwrap()]);
    assert!(text(&o).contains("no journal segments"), "{}", text(&o));

    let dir = tmp.path().join("j");
    demo(&dir, 1000);
    let d = dir.to_str().unwrap();
    let writer = tickrail_journal::JournalWriter::open(
        &dir,
        tickrail_journal::JournalOptions {
            segment_bytes: 1 << 20,
            ..Default::default()
        },
        &tickrail_journal::read_manifest(&dir).unwrap(),
    )
    .unwrap();
    let o = tickrail(&["journal", "recover", d]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("LOCK: journal is locked by another writer (pid"),
        "{t}"
    );
    drop(writer);

    let seg = dir.join("00000000000000000000.seg");
    let f = std::fs::OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all_at(&9u32.to_le_bytes(), 8).unwrap();
    let o = tickrail(&["journal", "inspect", d]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains("00000000000000000000.seg: offset 0: journal format version 9 is not supported"),
        "{t}"
    );
}

#[test]
fn tail_follows_a_live_writer_in_another_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("live");
    let d = dir.to_str().unwrap().to_string();
    // Start the follower first on an empty journal written by a short demo, then let a
    // second writer session append while it follows.
    demo(&dir, 10);
    let follower = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args([
            "journal",
            "tail",
            &d,
            "-n",
            "0",
            "--follow",
            "--idle-exit-ms",
            "3000",
            "--kind",
            "quote",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // Append more with the same manifest (the demo's), across segment rolls.
    let manifest = tickrail_journal::read_manifest(&dir).unwrap();
    let opts = tickrail_journal::JournalOptions {
        segment_bytes: 256 * 1024,
        ..Default::default()
    };
    let (mut w, _) = tickrail_journal::JournalWriter::open(&dir, opts, &manifest).unwrap();
    let first = w.last_sequence().unwrap() + 1;
    let mut quotes = 0;
    for i in 0..20_000u64 {
        let seq = first + i;
        let h = tickrail_engine::EventHeader {
            sequence: seq,
            cause_sequence: seq,
            exchange_ts_ns: 1_000 + i as i64,
            receive_ts_ns: 2_000 + i as i64,
            instrument: tickrail_engine::InstrumentId::new(1),
            price_scale: 2,
            qty_scale: 0,
            source: 1,
        };
        let body = tickrail_engine::EventBody::Quote {
            bid_px: tickrail_engine::Price::new(10_000),
            bid_qty: tickrail_engine::Qty::new(5),
            ask_px: tickrail_engine::Price::new(10_001),
            ask_qty: tickrail_engine::Qty::new(7),
        };
        tickrail_engine::append_event(&mut w, &tickrail_engine::Event::new(h, body)).unwrap();
        quotes += 1;
    }
    assert!(w.stats().rolls >= 2, "{:?}", w.stats());
    drop(w);
    let out = follower.wait_with_output().unwrap();
    let t = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(
        lines.len(),
        quotes,
        "the follower printed every new quote once"
    );
    assert!(lines
        .iter()
        .all(|l| l.contains("quote bid=100.00x5 ask=100.01x7")));
}

#[test]
fn every_command_has_help() {
    for cmd in [
        "inspect", "tail", "verify", "stats", "recover", "export", "demo",
    ] {
        let o = tickrail(&["journal", cmd, "--help"]);
        assert!(o.status.success(), "{cmd}");
        assert!(
            text(&o).contains("Usage: tickrail journal"),
            "{cmd}: {}",
            text(&o)
        );
    }
    for cmd in ["run", "replay", "backtest", "stat"] {
        let o = tickrail(&[cmd, "--help"]);
        assert!(o.status.success(), "{cmd}");
        assert!(
            text(&o).contains(&format!("Usage: tickrail {cmd}")),
            "{cmd}: {}",
            text(&o)
        );
    }
}

#[test]
fn edge_cases_of_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("j");
    demo(&dir, 3000);
    let d = dir.to_str().unwrap();

    // -n 0 prints nothing; a numeric internal kind finds the manifest.
    let o = tickrail(&["journal", "inspect", d, "-n", "0"]);
    assert!(o.status.success() && o.stdout.is_empty(), "{}", text(&o));
    let o = tickrail(&["journal", "inspect", d, "--kind", "1"]);
    assert!(
        text(&o).contains("manifest") && text(&o).contains("config_hash="),
        "{}",
        text(&o)
    );
    // A huge -n does not allocate it up front.
    let o = tickrail(&[
        "journal",
        "tail",
        d,
        "-n",
        "18446744073709551615",
        "--kind",
        "order_new",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // A reader that goes away (| head -1) is not an error and not a panic.
    for args in [
        vec!["journal", "tail", d, "-n", "3000"],
        vec!["journal", "inspect", d],
        vec!["journal", "stats", d],
        vec!["journal", "verify", d],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickrail"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // close the pipe at once
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    // A file where a journal directory should be.
    let file = tmp.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let o = tickrail(&["journal", "stats", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a directory"), "{}", text(&o));
    // --idle-exit-ms needs --follow.
    let o = tickrail(&["journal", "tail", d, "--idle-exit-ms", "5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A one-word relative path for a new journal.
    let o = Command::new(env!("CARGO_BIN_EXE_tickrail"))
        .args([
            "journal",
            "demo",
            "--dir",
            "rel",
            "--events",
            "10",
            "--segment-mib",
            "1",
        ])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    // An absurd segment size is an error, not an overflow.
    let o = tickrail(&[
        "journal",
        "demo",
        "--dir",
        d,
        "--segment-mib",
        "17592186044416",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("too large"), "{}", text(&o));
}
