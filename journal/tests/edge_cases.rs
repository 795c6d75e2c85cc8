//! Edge cases found in review: each was a panic, a wrong cut or a wrong seek before.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use std::os::unix::fs::FileExt;
use tickrail_journal::{verify, JournalError, JournalOptions, JournalReader, JournalWriter};

#[test]
fn absurd_lengths_are_refused_without_arithmetic_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    for len in [usize::MAX, usize::MAX - 20, 1 << 40, 64 * 1024] {
        let r = w.append_with(KIND, 1, 0, len, |_| panic!("fill must not run"));
        assert!(
            matches!(r, Err(JournalError::TooLarge { .. })),
            "len {len}: {r:?}"
        );
    }
    // The largest payload that fits is accepted.
    let mut max = 0;
    for len in (60_000..66_000).rev() {
        if w.append_with(KIND, 2, 0, len, |s| s.fill(1)).is_ok() {
            max = len;
            break;
        }
    }
    assert!(max > 60_000, "{max}");
    drop(w);
    assert!(verify(dir.path()).unwrap().is_clean());
}

#[test]
fn a_valid_record_ending_in_zeros_after_damage_is_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    let a = w.append(KIND, 1, 5, &[7u8; 64]).unwrap();
    w.append(KIND, 2, 0, &[]).unwrap(); // timestamp 0, empty payload: ends in zeros
    drop(w);
    let path = dir.path().join(format!("{:020}.seg", a.segment));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    f.write_all_at(&[8], a.offset + 40).unwrap();
    let err = JournalWriter::open(dir.path(), small_opts(), &manifest()).unwrap_err();
    assert!(matches!(err, JournalError::CorruptMiddle { .. }), "{err}");
    let rep = verify(dir.path()).unwrap();
    assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
    assert_eq!(rep.records, 1, "the record after the damage is still found");
}

#[test]
fn seek_finds_equal_sequences_that_straddle_a_roll() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    let mut seq = 1;
    let mut first_59 = None;
    // Fill most of segment 0, then write sequence 59 three times across the roll.
    while w.position().segment == 0 {
        let p = w.append(KIND, seq, 0, &[1u8; 200]).unwrap();
        if w.position().offset > 60_000 && seq < 59 {
            seq = 59;
            continue;
        }
        if seq == 59 && first_59.is_none() {
            first_59 = Some(p);
        }
    }
    for _ in 0..3 {
        w.append(KIND, 59, 0, &[2u8; 200]).unwrap();
    }
    w.append(KIND, 60, 0, &[3u8; 8]).unwrap();
    drop(w);
    let mut r = JournalReader::open(dir.path()).unwrap();
    r.seek(59).unwrap();
    let rec = r.next().unwrap().unwrap();
    assert_eq!(rec.sequence, 59);
    assert_eq!(
        Some(rec.position),
        first_59,
        "seek lands on the first record with sequence 59"
    );
}

#[test]
fn rolling_into_a_smaller_segment_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let big = JournalOptions {
        segment_bytes: 1 << 20,
        ..small_opts()
    };
    let mut w = open(dir.path(), big.clone());
    w.append(KIND, 1, 0, &[1u8; 500_000]).unwrap();
    drop(w);
    // Reopen with 64 KiB segments: the active segment is 1 MiB, new ones are 64 KiB. A
    // record that fits neither the rest of the active segment nor a new one is refused.
    let mut w = open(dir.path(), small_opts());
    let r = w.append(KIND, 2, 0, &vec![2u8; 600_000]);
    assert!(matches!(r, Err(JournalError::TooLarge { .. })), "{r:?}");
    // Small records still go in, across rolls.
    for seq in 3..2000 {
        w.append(KIND, seq, 0, &[3u8; 100]).unwrap();
    }
    drop(w);
    let rep = verify(dir.path()).unwrap();
    assert!(rep.is_clean(), "{:?}", rep.problems);
    assert_eq!(rep.records, 1 + 1997);
}

#[test]
fn seek_on_a_journal_whose_segments_vanished_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), small_opts()));
    let mut r = JournalReader::open(dir.path()).unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "seg") {
            std::fs::remove_file(p).unwrap();
        }
    }
    assert!(matches!(r.seek(5), Err(JournalError::Empty { .. })));
}
