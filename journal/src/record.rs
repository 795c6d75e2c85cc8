//! Reading and checking one record in a mapped segment: shared by readers, recovery and
//! `verify`, so that all three apply the same rules.

use crate::commit::Word;
use crate::format::{
    align_up, kind, le_u32, le_u64, record_crc, RecordHeader, CRC_AT, CRC_FROM, INDEX_SLOT_BYTES,
    RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES,
};
use crate::mapped::{ReadMap, WriteMap};

/// Byte access to a mapped segment, for the checks below.
pub trait SegmentBytes {
    /// Mapping length.
    fn map_len(&self) -> usize;
    /// Acquire-load the length word at `offset`.
    fn word_at(&self, offset: usize) -> Word;
    /// Bytes of a published (or writer-owned) range.
    fn bytes_at(&self, offset: usize, len: usize) -> &[u8];
    /// Atomic load of a u64 (index slots).
    fn u64_at(&self, offset: usize) -> u64;
}

impl SegmentBytes for ReadMap {
    fn map_len(&self) -> usize {
        self.len()
    }
    fn word_at(&self, offset: usize) -> Word {
        self.word(offset)
    }
    fn bytes_at(&self, offset: usize, len: usize) -> &[u8] {
        self.bytes(offset, len)
    }
    fn u64_at(&self, offset: usize) -> u64 {
        self.load_u64(offset)
    }
}

impl SegmentBytes for WriteMap {
    fn map_len(&self) -> usize {
        self.len()
    }
    fn word_at(&self, offset: usize) -> Word {
        self.word(offset)
    }
    fn bytes_at(&self, offset: usize, len: usize) -> &[u8] {
        self.bytes(offset, len)
    }
    fn u64_at(&self, offset: usize) -> u64 {
        le_u64(self.bytes(offset, 8), 0)
    }
}

/// What sits at a record position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Nothing published here (the length word is zero).
    Empty,
    /// Claimed, not committed: a live writer is writing it, or a crash tore it.
    Claimed(u32),
    /// A committed record that passed every check.
    Record(RecordHeader),
    /// A record that failed a check; the reason says which.
    Bad(String),
}

/// Check the record at `offset` (8-aligned, past the segment's index area).
pub fn check_at<M: SegmentBytes + ?Sized>(m: &M, offset: usize) -> Slot {
    let seg_len = m.map_len();
    debug_assert!(offset.is_multiple_of(8));
    if offset + RECORD_HEADER_BYTES > seg_len {
        return Slot::Bad(format!(
            "record position {offset} leaves no room for a header"
        ));
    }
    let length = match m.word_at(offset) {
        Word::Empty => return Slot::Empty,
        Word::Claimed(len) => return Slot::Claimed(len),
        Word::Committed(len) => len,
    };
    if (length as usize) < RECORD_HEADER_BYTES {
        return Slot::Bad(format!(
            "length {length} is shorter than the {RECORD_HEADER_BYTES}-byte header"
        ));
    }
    let span = align_up(length as usize);
    if offset + span > seg_len {
        return Slot::Bad(format!(
            "length {length} runs past the end of the segment ({seg_len} bytes)"
        ));
    }
    let rec = m.bytes_at(offset, span);
    let h = &rec[..RECORD_HEADER_BYTES];
    let stored = le_u32(h, CRC_AT);
    let computed = record_crc(length, &rec[CRC_FROM..length as usize]);
    if stored != computed {
        return Slot::Bad(format!(
            "CRC32C mismatch (stored {stored:#010x}, computed {computed:#010x})"
        ));
    }
    let kind_v = u16::from_le_bytes([h[8], h[9]]);
    if kind_v == kind::INVALID {
        return Slot::Bad("kind 0 is never written".into());
    }
    if h[10..16] != [0u8; 6] {
        return Slot::Bad("reserved header bytes are not zero".into());
    }
    if kind_v != kind::END_OF_SEGMENT && offset + span + RECORD_HEADER_BYTES > seg_len {
        return Slot::Bad("record leaves no room for the end-of-segment marker".into());
    }
    if rec[length as usize..].iter().any(|&b| b != 0) {
        return Slot::Bad("padding bytes after the payload are not zero".into());
    }
    Slot::Record(RecordHeader {
        length,
        kind: kind_v,
        sequence: le_u64(h, 16),
        timestamp_ns: le_u64(h, 24) as i64,
        crc: stored,
    })
}

/// Offset just past the last byte in `[from, to)` that is not zero (`from` if none).
pub fn end_of_nonzero<M: SegmentBytes + ?Sized>(m: &M, from: usize, to: usize) -> usize {
    const CHUNK: usize = 64 * 1024;
    let mut end = to;
    while end > from {
        let start = end.saturating_sub(CHUNK).max(from);
        if let Some(i) = m.bytes_at(start, end - start).iter().rposition(|&b| b != 0) {
            return start + i + 1;
        }
        end = start;
    }
    from
}

/// The first valid committed record at an 8-aligned position in `[from, to)`, if any. Used
/// to tell a torn tail (nothing valid after it) from corruption in the middle.
pub fn find_valid_after<M: SegmentBytes + ?Sized>(m: &M, from: usize, to: usize) -> Option<usize> {
    let mut at = align_up(from);
    // `check_at` bounds itself against the segment; a valid record may end in zeros, so its
    // start is the only thing that must lie before `to`.
    while at < to {
        if let Slot::Record(h) = check_at(m, at) {
            if h.kind != kind::INVALID {
                return Some(at);
            }
        }
        at += 8;
    }
    None
}

/// Byte offset of index slot `slot`.
#[inline]
pub fn index_slot_offset(slot: u32) -> usize {
    SEGMENT_HEADER_BYTES + slot as usize * INDEX_SLOT_BYTES
}

/// Read index slot `slot`: `(sequence, record offset)`, `None` if empty.
pub fn read_index_slot<M: SegmentBytes + ?Sized>(m: &M, slot: u32) -> Option<(u64, u64)> {
    let at = index_slot_offset(slot);
    let offset = m.u64_at(at + 8);
    if offset == 0 {
        return None;
    }
    Some((m.u64_at(at), offset))
}
