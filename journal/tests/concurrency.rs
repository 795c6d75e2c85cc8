//! Live readers against a live writer: in-process threads (a heavy stress test of the
//! commit protocol on real memory maps; `loom` checks the protocol itself, see
//! `src/commit.rs`) and a reader in another process.
//!
//! `TICKRAIL_STRESS_RECORDS` scales the stress test (default 300 000).
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tickrail_journal::{JournalOptions, JournalReader};

/// Follow the journal until `until` records were seen, checking each one.
fn follow(dir: &std::path::Path, until: u64, done: &AtomicBool) -> u64 {
    // The reader may start before the writer created the directory.
    let mut r = loop {
        match JournalReader::open(dir) {
            Ok(r) => break r,
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    };
    let mut expect = 1u64;
    let mut idle = 0u32;
    while expect <= until {
        match r.next().expect("a live reader never sees a corrupt record") {
            Some(rec) => {
                assert_eq!(rec.sequence, expect);
                assert_eq!(rec.payload, &payload_for(expect)[..], "payload of {expect}");
                expect += 1;
                idle = 0;
            }
            None => {
                idle += 1;
                if done.load(Ordering::Acquire) && idle > 1000 {
                    break;
                }
                std::hint::spin_loop();
                if idle.is_multiple_of(64) {
                    std::thread::yield_now();
                }
            }
        }
    }
    expect - 1
}

#[test]
fn readers_follow_a_live_writer_across_rolls() {
    let n: u64 = std::env::var("TICKRAIL_STRESS_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (p, d) = (path.clone(), done.clone());
            std::thread::spawn(move || follow(&p, n, &d))
        })
        .collect();
    let mut w = open(
        &path,
        JournalOptions {
            segment_bytes: 128 * 1024,
            ..small_opts()
        },
    );
    for seq in 1..=n {
        w.append(KIND, seq, seq as i64, &payload_for(seq)).unwrap();
    }
    assert!(w.stats().rolls > 50, "{:?}", w.stats());
    drop(w);
    done.store(true, Ordering::Release);
    for r in readers {
        assert_eq!(r.join().unwrap(), n, "every reader saw every record");
    }
}

/// The child for the cross-process test: writes `TICKRAIL_TAIL_CHILD_N` records slowly.
#[test]
fn tail_child_writer() {
    let Ok(dir) = std::env::var("TICKRAIL_TAIL_CHILD") else {
        return;
    };
    let n: u64 = std::env::var("TICKRAIL_TAIL_CHILD_N")
        .unwrap()
        .parse()
        .unwrap();
    let mut w = open(std::path::Path::new(&dir), small_opts());
    for seq in 1..=n {
        w.append(KIND, seq, seq as i64, &payload_for(seq)).unwrap();
        if seq % 500 == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    w.close().unwrap();
}

#[test]
fn a_reader_in_this_process_tails_a_writer_in_another() {
    if std::env::var("TICKRAIL_TAIL_CHILD").is_ok() {
        return;
    }
    let n = 20_000u64;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "tail_child_writer", "--test-threads=1"])
        .env("TICKRAIL_TAIL_CHILD", &path)
        .env("TICKRAIL_TAIL_CHILD_N", n.to_string())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let done = AtomicBool::new(false);
    let seen = std::thread::scope(|s| {
        let h = s.spawn(|| follow(&path, n, &done));
        let status = child.wait().unwrap();
        assert!(status.success());
        done.store(true, Ordering::Release);
        h.join().unwrap()
    });
    assert_eq!(seen, n);
    let stats = tickrail_journal::verify(&path).unwrap();
    assert!(stats.is_clean() && stats.segments > 5, "{stats:?}");
}
