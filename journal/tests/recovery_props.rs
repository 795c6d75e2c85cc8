//! Property tests for framing and recovery: random record sizes, random torn-write points.
//!
//! A torn write is modelled as the state a process leaves when it dies after some prefix of
//! its stores in program order: every record before the tear is whole; the record being
//! written has its claim (length without commit bit) and a prefix of its bytes; nothing
//! after it exists. Recovery must keep exactly the whole records and cut the rest.
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;
use common::*;
use proptest::prelude::*;
use std::os::unix::fs::FileExt;
use tickrail_journal::format::{record_span, COMMIT_BIT, RECORD_HEADER_BYTES};
use tickrail_journal::{verify, JournalError, JournalReader, JournalWriter};

fn write_journal(dir: &std::path::Path, sizes: &[usize]) -> Vec<(u64, u64, Vec<u8>)> {
    let mut w = open(dir, small_opts());
    let mut out = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        let seq = i as u64 + 1;
        let payload: Vec<u8> = (0..len).map(|b| (b as u8) ^ (seq as u8)).collect();
        let pos = w.append(KIND, seq, seq as i64, &payload).unwrap();
        out.push((pos.segment, pos.offset, payload));
    }
    w.close().unwrap();
    out
}

fn read_all(dir: &std::path::Path) -> Vec<(u64, Vec<u8>)> {
    let mut r = JournalReader::open(dir).unwrap();
    let mut v = Vec::new();
    while let Some(rec) = r.next().unwrap() {
        v.push((rec.sequence, rec.payload.to_vec()));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn framing_round_trips(sizes in prop::collection::vec(0usize..3000, 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let written = write_journal(dir.path(), &sizes);
        let back = read_all(dir.path());
        prop_assert_eq!(back.len(), written.len());
        for (i, (seq, payload)) in back.iter().enumerate() {
            prop_assert_eq!(*seq, i as u64 + 1);
            prop_assert_eq!(payload, &written[i].2);
        }
        prop_assert!(verify(dir.path()).unwrap().is_clean());
    }

    #[test]
    fn recovery_keeps_whole_records_and_cuts_the_torn_one(
        sizes in prop::collection::vec(0usize..2000, 2..80),
        victim_frac in 0.0f64..1.0,
        tear_frac in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let written = write_journal(dir.path(), &sizes);
        // Tear record `victim` (any record after the manifest): keep its claim and a prefix.
        let victim = ((written.len() as f64 * victim_frac) as usize).min(written.len() - 1);
        let (seg, off, payload) = &written[victim];
        let path = dir.path().join(format!("{seg:020}.seg"));
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let span = record_span(payload.len());
        let torn_bytes = ((span as f64) * tear_frac) as usize; // bytes after the word that landed
        let len = file.metadata().unwrap().len();
        // Zero everything from the victim on, in this segment and every later one.
        let zeros = vec![0u8; (len - off) as usize];
        let mut orig = vec![0u8; span];
        file.read_exact_at(&mut orig, *off).unwrap();
        file.write_all_at(&zeros, *off).unwrap();
        for later in seg + 1.. {
            let p = dir.path().join(format!("{later:020}.seg"));
            let Ok(f) = std::fs::OpenOptions::new().write(true).open(&p) else { break };
            let l = f.metadata().unwrap().len();
            f.write_all_at(&vec![0u8; (l - 64) as usize], 64).unwrap();
        }
        if tear_frac > 0.05 {
            // The claim: length without the commit bit, then a prefix of the other bytes.
            let word = (RECORD_HEADER_BYTES + payload.len()) as u32;
            assert_eq!(u32::from_le_bytes(orig[0..4].try_into().unwrap()), word | COMMIT_BIT);
            file.write_all_at(&word.to_le_bytes(), *off).unwrap();
            let end = (4 + torn_bytes).min(span);
            file.write_all_at(&orig[4..end], off + 4).unwrap();
        }
        drop(file);

        let (w, report) = JournalWriter::open(dir.path(), small_opts(), &manifest()).unwrap();
        prop_assert_eq!(report.last_sequence, Some(victim as u64));
        prop_assert_eq!(report.tail_offset, *off);
        if tear_frac > 0.05 {
            prop_assert_eq!(report.cuts.len(), 1, "{}", report);
            prop_assert_eq!(report.cuts[0].offset, *off);
        }
        drop(w);
        let back = read_all(dir.path());
        prop_assert_eq!(back.len(), victim);
        for (i, (seq, p)) in back.iter().enumerate() {
            prop_assert_eq!(*seq, i as u64 + 1);
            prop_assert_eq!(p, &written[i].2);
        }
        let rep = verify(dir.path()).unwrap();
        prop_assert!(rep.is_clean(), "{:?} {:?}", rep.problems, rep.torn_tail);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    /// A segment file cut short at any length (a bad copy, a full disk) is refused with an
    /// error naming the file; nothing panics and verify reports it.
    #[test]
    fn truncated_segment_files_are_refused_by_name(
        sizes in prop::collection::vec(0usize..1500, 1..60),
        which in 0usize..8,
        cut_frac in 0.0f64..1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        write_journal(dir.path(), &sizes);
        let mut segs: Vec<_> = std::fs::read_dir(dir.path()).unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        segs.sort();
        let victim = &segs[which % segs.len()];
        let len = std::fs::metadata(victim).unwrap().len();
        let cut = (len as f64 * cut_frac) as u64;
        std::fs::OpenOptions::new().write(true).open(victim).unwrap().set_len(cut).unwrap();
        let name = victim.file_name().unwrap().to_string_lossy().to_string();
        let rep = verify(dir.path()).unwrap();
        prop_assert!(rep.problems.iter().any(|p| p.path.ends_with(&name)), "{:?}", rep.problems);
        match JournalWriter::open(dir.path(), small_opts(), &manifest()) {
            Ok(_) => prop_assert!(false, "a truncated segment was accepted"),
            Err(e) => prop_assert!(e.to_string().contains(&name), "{e}"),
        }
        // Readers fail at the damaged segment with its name, or before it.
        if let Ok(mut r) = JournalReader::open(dir.path()) {
            loop {
                match r.next() {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(e) => {
                        prop_assert!(e.to_string().contains(".seg"), "{e}");
                        break;
                    }
                }
            }
        }
    }
}

#[test]
fn corruption_in_the_middle_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let sizes: Vec<usize> = (0..50).map(|i| 40 + i).collect();
    let written = write_journal(dir.path(), &sizes);
    let (seg, off, _) = &written[10];
    let path = dir.path().join(format!("{seg:020}.seg"));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, off + 40).unwrap();
    file.write_all_at(&[b[0] ^ 0x04], off + 40).unwrap();
    let err = JournalWriter::open(dir.path(), small_opts(), &manifest()).unwrap_err();
    match &err {
        JournalError::CorruptMiddle { offset, .. } => assert_eq!(offset, off),
        other => panic!("expected CorruptMiddle, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("CRC32C mismatch") && msg.contains(".seg"),
        "{msg}"
    );
    // Nothing was cut: readers still get every record up to the damage, then an error.
    let mut r = JournalReader::open(dir.path()).unwrap();
    for _ in 0..10 {
        r.next().unwrap().unwrap();
    }
    assert!(matches!(r.next(), Err(JournalError::Corrupt { .. })));
}
