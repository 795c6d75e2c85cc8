//! Write, read back, seek, reopen, lock, manifest and error cases.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use tickrail_journal::{
    verify, Durability, JournalError, JournalOptions, JournalReader, JournalWriter, Manifest,
};

#[test]
fn records_round_trip_across_segments_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    for seq in 1..=2000u64 {
        w.append(
            KIND + (seq % 3) as u16,
            seq,
            seq as i64 * 10,
            &payload_for(seq),
        )
        .unwrap();
    }
    assert!(
        w.stats().rolls >= 5,
        "small segments should roll: {:?}",
        w.stats()
    );
    w.close().unwrap();

    let (mut w, report) = JournalWriter::open(dir.path(), small_opts(), &manifest()).unwrap();
    assert!(report.cuts.is_empty(), "{report}");
    assert_eq!(report.last_sequence, Some(2000));
    for seq in 2001..=2500u64 {
        w.append(KIND, seq, seq as i64 * 10, &payload_for(seq))
            .unwrap();
    }
    drop(w);

    let mut r = JournalReader::open(dir.path()).unwrap();
    let mut expect = 1u64;
    while let Some(rec) = r.next().unwrap() {
        assert_eq!(rec.sequence, expect);
        assert_eq!(rec.timestamp_ns, expect as i64 * 10);
        assert_eq!(rec.payload, &payload_for(expect)[..]);
        assert_eq!(
            rec.payload.as_ptr() as usize % 8,
            0,
            "payloads are 8-byte aligned"
        );
        expect += 1;
    }
    assert_eq!(expect, 2501);
    let rep = verify(dir.path()).unwrap();
    assert!(rep.is_clean(), "{:?}", rep.problems);
    assert_eq!(rep.records, 2500);
}

#[test]
fn seek_finds_every_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    // Sequences with gaps and repeats: 10, 10, 20, 20, 30, ...
    for i in 0..3000u64 {
        w.append(KIND, (i / 2 + 1) * 10, 0, &payload_for(i))
            .unwrap();
    }
    drop(w);
    let mut r = JournalReader::open(dir.path()).unwrap();
    for target in [0u64, 1, 10, 11, 15, 20, 777, 7770, 14990, 15000] {
        r.seek(target).unwrap();
        let rec = r.next().unwrap().unwrap();
        let want = target.div_ceil(10).max(1) * 10;
        assert_eq!(rec.sequence, want, "seek({target})");
        // The first of two equal sequences.
        let i = (want / 10 - 1) * 2;
        assert_eq!(
            rec.payload,
            &payload_for(i)[..],
            "seek({target}) landed on the first record"
        );
    }
    r.seek(15001).unwrap();
    assert!(r.next().unwrap().is_none());
}

#[test]
fn second_writer_is_refused_with_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let _w = open(dir.path(), small_opts());
    let err = JournalWriter::open(dir.path(), small_opts(), &manifest()).unwrap_err();
    match &err {
        JournalError::Locked { holder, path } => {
            assert_eq!(*holder, Some(std::process::id()));
            assert!(path.ends_with("LOCK"));
        }
        other => panic!("expected Locked, got {other}"),
    }
    assert!(
        err.to_string().contains("locked by another writer"),
        "{err}"
    );
}

#[test]
fn manifest_mismatch_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path(), small_opts()));
    let other = Manifest::new("test", "cfg-2");
    let err = JournalWriter::open(dir.path(), small_opts(), &other).unwrap_err();
    assert!(err.to_string().contains("config_hash"), "{err}");
    let m = tickrail_journal::read_manifest(dir.path()).unwrap();
    assert_eq!(m.get("config_hash"), Some("cfg-1"));
}

#[test]
fn bad_input_gives_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = JournalReader::open(&missing).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");

    let j = dir.path().join("j");
    drop(open(&j, small_opts()));
    let seg = j.join("00000000000000000000.seg");
    // Wrong version.
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[8] = 7;
    std::fs::write(&seg, &bytes).unwrap();
    let err = JournalReader::open(&j).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("00000000000000000000.seg") && msg.contains("version 7"),
        "{msg}"
    );
    // Truncated file.
    bytes[8] = 1;
    std::fs::write(&seg, &bytes[..1000]).unwrap();
    let msg = JournalReader::open(&j).unwrap_err().to_string();
    assert!(
        msg.contains("segment_bytes differs from the file size"),
        "{msg}"
    );
    std::fs::write(&seg, &bytes[..10]).unwrap();
    let msg = JournalReader::open(&j).unwrap_err().to_string();
    assert!(
        msg.contains("shorter than the 64-byte segment header"),
        "{msg}"
    );
    // Not a journal.
    std::fs::write(&seg, vec![0xEEu8; 65536]).unwrap();
    let msg = JournalWriter::open(&j, small_opts(), &manifest())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("bad magic"), "{msg}");
}

#[test]
fn appends_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    w.append(KIND, 5, 0, b"x").unwrap();
    assert!(matches!(
        w.append(KIND, 4, 0, b"x"),
        Err(JournalError::AppendRefused { .. })
    ));
    assert!(matches!(
        w.append(1, 6, 0, b"x"),
        Err(JournalError::AppendRefused { .. })
    ));
    let big = vec![0u8; 70 * 1024];
    assert!(matches!(
        w.append(KIND, 6, 0, &big),
        Err(JournalError::TooLarge { .. })
    ));
    // Still usable.
    w.append(KIND, 6, 0, b"y").unwrap();
}

#[test]
fn every_durability_mode_writes_readable_journals() {
    for d in [
        Durability::None,
        Durability::Sync { every_records: 7 },
        Durability::Async {
            interval: std::time::Duration::from_millis(1),
        },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut w = open(
            dir.path(),
            JournalOptions {
                durability: d,
                ..small_opts()
            },
        );
        for seq in 1..=1500u64 {
            w.append(KIND, seq, 0, &payload_for(seq)).unwrap();
            if seq % 500 == 0 {
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
        }
        if let Durability::Sync { .. } = d {
            assert!(w.stats().syncs >= 1500 / 7);
        }
        w.close().unwrap();
        let rep = verify(dir.path()).unwrap();
        assert!(rep.is_clean(), "{d:?}: {:?}", rep.problems);
        assert_eq!(rep.records, 1500);
    }
}
