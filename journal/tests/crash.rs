//! Crash test: a child process appends in a loop and is killed with SIGKILL at random
//! moments. After each kill, every record the child reported as committed must read back
//! intact, recovery must cut the torn tail, and no corrupt record is ever returned.
//!
//! `TICKRAIL_CRASH_KILLS` sets the number of kills (default 200).
//!
//! The child is this same test binary, re-run on the `child_writer` test with
//! `TICKRAIL_CRASH_CHILD` set to the journal directory.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;
use tickrail_journal::{verify, Durability, JournalOptions, JournalReader, JournalWriter};

fn crash_opts() -> JournalOptions {
    // 256 KiB segments: a roll every few thousand records, so kills land in rolls too.
    JournalOptions {
        segment_bytes: 256 * 1024,
        durability: Durability::None,
        ..small_opts()
    }
}

/// The child: recover, report, then append and report each committed sequence.
#[test]
fn child_writer() {
    let Ok(dir) = std::env::var("TICKRAIL_CRASH_CHILD") else {
        return;
    };
    let (mut w, report) =
        JournalWriter::open(std::path::Path::new(&dir), crash_opts(), &manifest()).unwrap();
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut seq = report.last_sequence.unwrap_or(0) + 1;
    writeln!(out, "ready {} cuts={}", seq - 1, report.cuts.len()).unwrap();
    out.flush().unwrap();
    // Progress goes to a side file with one pwrite every 128 records, so that the child spends
    // its time appending (where kills should land), not in a syscall per record.
    let progress = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(std::env::var("TICKRAIL_CRASH_PROGRESS").unwrap())
        .unwrap();
    use std::os::unix::fs::FileExt;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        buf.extend_from_slice(&payload_for(seq));
        if seq % 97 == 0 {
            buf.resize(6000, 0xA5); // now and then a large record: a wider window to tear
        }
        w.append(KIND, seq, seq as i64, &buf).unwrap();
        // Reported only after `append` returned: committed.
        if seq % 128 == 0 {
            progress.write_all_at(&seq.to_le_bytes(), 0).unwrap();
        }
        seq += 1;
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[test]
fn sigkill_loop_loses_no_committed_record() {
    if std::env::var("TICKRAIL_CRASH_CHILD").is_ok() {
        return;
    }
    let kills: u32 = std::env::var("TICKRAIL_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let side = tempfile::tempdir().unwrap();
    let progress = side.path().join("progress");
    let seed: u64 = std::env::var("TICKRAIL_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5EED);
    eprintln!("crash test: {kills} kills, seed {seed} (TICKRAIL_CRASH_KILLS, TICKRAIL_CRASH_SEED)");
    let mut rng = Rng(seed);
    let mut reported_max = 0u64;
    let mut verified_upto = 0u64;
    let mut cuts_seen = 0u32;
    let mut readies = 0u32;
    for round in 0..kills {
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env("TICKRAIL_CRASH_CHILD", dir.path())
            .env("TICKRAIL_CRASH_PROGRESS", &progress)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut ready = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may print "test child_writer ... " on the same line first.
                if let Some((_, rest)) = line.split_once("ready ") {
                    ready = Some(rest.to_string());
                }
            }
            ready
        });
        // Kill at a random moment: sometimes during start-up and recovery, mostly while
        // appending.
        let delay_us = match rng.next() % 10 {
            0 => rng.next() % 2_000,
            _ => 2_000 + rng.next() % 25_000,
        };
        std::thread::sleep(Duration::from_micros(delay_us));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let ready = reader.join().unwrap();
        let last = std::fs::read(&progress)
            .ok()
            .filter(|b| b.len() == 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
        if let Some(r) = &ready {
            let recovered: u64 = r.split(' ').next().unwrap().parse().unwrap();
            assert!(recovered >= reported_max, "round {round}: recovery lost committed records: recovered {recovered}, reported {reported_max}");
            readies += 1;
            if r.ends_with("cuts=1") {
                cuts_seen += 1;
            }
        }
        if let Some(n) = last {
            reported_max = reported_max.max(n);
        }
        // Read back from a little before what we had verified: every record intact and in
        // order, at least up to what the child reported. The torn tail is not returned.
        let mut r = JournalReader::open(dir.path()).unwrap();
        r.seek(verified_upto.saturating_sub(5).max(1)).unwrap();
        let mut expect = verified_upto.saturating_sub(5).max(1);
        while let Some(rec) = r
            .next()
            .unwrap_or_else(|e| panic!("round {round}: corrupt record returned: {e}"))
        {
            assert_eq!(rec.sequence, expect, "round {round}: gap or reorder");
            let mut want = payload_for(expect);
            if expect.is_multiple_of(97) {
                want.resize(6000, 0xA5);
            }
            assert_eq!(rec.payload, &want[..], "round {round}: payload of {expect}");
            expect += 1;
        }
        let read_max = expect - 1;
        assert!(read_max >= reported_max, "round {round}: committed record lost: read up to {read_max}, child reported {reported_max}");
        verified_upto = read_max;
    }
    // Final: recovery cuts any torn tail, then the whole journal verifies clean and reads back.
    let (w, report) = JournalWriter::open(dir.path(), crash_opts(), &manifest()).unwrap();
    drop(w);
    let rep = verify(dir.path()).unwrap();
    assert!(
        rep.is_clean(),
        "after recovery: {:?} {:?} ({report})",
        rep.problems,
        rep.torn_tail
    );
    assert!(rep.last_sequence.unwrap() >= reported_max);
    eprintln!(
        "{kills} kills ({readies} after start-up), {} records, {} segments, {} recoveries cut a torn tail",
        rep.records, rep.segments, cuts_seen
    );
    assert!(
        reported_max > 1000,
        "the child should have appended a lot ({reported_max})"
    );
}
