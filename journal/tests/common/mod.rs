//! Helpers shared by the journal's integration tests.
#![allow(dead_code)]

use std::path::Path;

use tickrail_journal::{Durability, JournalOptions, JournalWriter, Manifest};

/// Small segments so that tests roll often.
pub fn small_opts() -> JournalOptions {
    JournalOptions {
        segment_bytes: 64 * 1024,
        index_stride_bytes: 256,
        durability: Durability::None,
        preallocate: true,
        prepared_segments: 2,
        create_dir: true,
    }
}

pub fn manifest() -> Manifest {
    Manifest::new("test", "cfg-1")
}

pub fn open(dir: &Path, opts: JournalOptions) -> JournalWriter {
    JournalWriter::open(dir, opts, &manifest())
        .expect("open writer")
        .0
}

/// Deterministic payload for a sequence: its length varies and every byte depends on it.
pub fn payload_for(seq: u64) -> Vec<u8> {
    let len = ((seq.wrapping_mul(7919)) % 300) as usize;
    (0..len)
        .map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

pub const KIND: u16 = 0x100;
