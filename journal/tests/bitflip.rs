//! A flipped bit anywhere in any record (header, payload, padding, the manifest, the
//! end-of-segment markers) is caught by `verify`, and no reader returns the damaged record.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use std::os::unix::fs::FileExt;
use tickrail_journal::format::record_span;
use tickrail_journal::{verify, JournalReader};

#[test]
fn verify_catches_a_flip_in_every_byte_of_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = open(dir.path(), small_opts());
    // Sizes chosen to include empty payloads and padding; enough records for a roll.
    let mut records = Vec::new();
    for seq in 1..=1000u64 {
        let len = [0usize, 1, 7, 8, 13, 64, 250][seq as usize % 7];
        let p: Vec<u8> = (0..len)
            .map(|i| (i as u8).wrapping_add(seq as u8))
            .collect();
        let pos = w.append(KIND, seq, seq as i64, &p).unwrap();
        records.push((pos, len));
    }
    assert!(w.stats().rolls >= 1);
    drop(w);
    assert!(verify(dir.path()).unwrap().is_clean());

    // Every record (internal ones too) with its span, found by a reader.
    let mut spans = Vec::new();
    let mut r = JournalReader::open(dir.path())
        .unwrap()
        .include_internal(true);
    while let Some(rec) = r.next().unwrap() {
        spans.push((rec.position, record_span(rec.payload.len()), rec.sequence));
    }
    assert!(spans.len() > records.len(), "manifest and markers included");

    let mut flips = 0u64;
    // All bytes of a sample of records (every 7th, plus the first and the markers) and one
    // random-ish byte of every other record.
    for (i, &(pos, span, seq)) in spans.iter().enumerate() {
        let path = dir.path().join(format!("{:020}.seg", pos.segment));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let all = i % 7 == 0 || i == 0 || span == 32;
        let offsets: Vec<usize> = if all {
            (0..span).collect()
        } else {
            vec![(seq as usize * 13) % span]
        };
        for at in offsets {
            let off = pos.offset + at as u64;
            let mut b = [0u8; 1];
            file.read_exact_at(&mut b, off).unwrap();
            let bit = 1u8 << (off % 8);
            file.write_all_at(&[b[0] ^ bit], off).unwrap();
            let rep = verify(dir.path()).unwrap();
            assert!(
                !rep.is_clean(),
                "flip of bit {bit:#x} at {}:{off} (record seq {seq}, byte {at} of {span}) not caught",
                path.display()
            );
            // A reader never returns the damaged record as valid.
            let mut rd = JournalReader::open(dir.path())
                .unwrap()
                .include_internal(true);
            while let Ok(Some(rec)) = rd.next() {
                assert!(
                    rec.position != pos || rec.sequence != seq,
                    "damaged record returned"
                );
            }
            file.write_all_at(&b, off).unwrap();
            flips += 1;
        }
    }
    assert!(verify(dir.path()).unwrap().is_clean());
    eprintln!("{flips} single-bit flips, all caught");
    assert!(flips > 2000);
}
