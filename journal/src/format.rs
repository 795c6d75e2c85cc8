//! The on-disk format: segment header, record header, kinds and alignment.
//!
//! Everything is little-endian. `docs/JOURNAL.md` describes the same layout byte by byte;
//! change both together and bump [`FORMAT_VERSION`].

/// Magic at the start of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"TKRLJRNL";
/// Version of the on-disk format. A reader refuses any other value.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the segment header at offset 0 of every segment file.
pub const SEGMENT_HEADER_BYTES: usize = 64;
/// Size of a record header.
pub const RECORD_HEADER_BYTES: usize = 32;
/// Records start on and are padded to this boundary.
pub const RECORD_ALIGN: usize = 8;
/// Size of one sparse-index slot.
pub const INDEX_SLOT_BYTES: usize = 16;
/// Bit 31 of the length word: set when the record is committed (published).
pub const COMMIT_BIT: u32 = 1 << 31;
/// Largest record length expressible in the length word.
pub const MAX_RECORD_BYTES: u32 = COMMIT_BIT - 1;
/// Segment files are named `{index:020}.seg` inside the journal directory.
pub const SEGMENT_SUFFIX: &str = "seg";
/// Name of the writer's lock file inside the journal directory.
pub const LOCK_FILE: &str = "LOCK";
/// Smallest allowed segment.
pub const MIN_SEGMENT_BYTES: u64 = 64 * 1024;
/// Largest allowed segment (offsets in the index are u64, but lengths are u32).
pub const MAX_SEGMENT_BYTES: u64 = 1 << 40;
/// Page size assumed for alignment of segment sizes and pre-touching.
pub const PAGE_BYTES: u64 = 4096;

const _: () = assert!(SEGMENT_HEADER_BYTES.is_multiple_of(RECORD_ALIGN));
const _: () = assert!(RECORD_HEADER_BYTES.is_multiple_of(RECORD_ALIGN));
const _: () = assert!(INDEX_SLOT_BYTES.is_multiple_of(RECORD_ALIGN));
const _: () = assert!(MIN_SEGMENT_BYTES.is_multiple_of(PAGE_BYTES));

/// Record kinds below [`FIRST_USER_KIND`] belong to the journal itself.
pub mod kind {
    /// Never written: a header whose kind is 0 is corrupt.
    pub const INVALID: u16 = 0;
    /// The run manifest; always the first record of a journal.
    pub const MANIFEST: u16 = 1;
    /// End-of-segment marker; the reader continues in the next segment.
    pub const END_OF_SEGMENT: u16 = 2;
    /// A mark in the run's life — a resume, a clean close — as `key=value` text like the
    /// manifest's, at the sequence of the last record before it. Readers skip it like the
    /// manifest ([`crate::read_marks`] lists them).
    pub const RUN_MARK: u16 = 3;
    /// First kind available to applications.
    pub const FIRST_USER_KIND: u16 = 0x100;
}
pub use kind::FIRST_USER_KIND;

/// Round `n` up to the record alignment.
#[inline]
pub const fn align_up(n: usize) -> usize {
    (n + RECORD_ALIGN - 1) & !(RECORD_ALIGN - 1)
}

/// Space a record with `payload_len` bytes occupies in a segment, padding included.
#[inline]
pub const fn record_span(payload_len: usize) -> usize {
    align_up(RECORD_HEADER_BYTES + payload_len)
}

/// The file name of segment `index`.
pub fn segment_file_name(index: u64) -> String {
    format!("{index:020}.{SEGMENT_SUFFIX}")
}

/// Parse a segment file name back to its index; `None` for any other file.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(SEGMENT_SUFFIX)?.strip_suffix('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The fixed fields at the start of each segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Position of this segment in the journal, from 0.
    pub segment_index: u64,
    /// Total size of the segment file in bytes.
    pub segment_bytes: u64,
    /// A sparse-index slot is written for the first record at or past each multiple of this.
    pub index_stride_bytes: u32,
    /// Number of sparse-index slots following the header.
    pub index_slots: u32,
    /// Offset of the first record.
    pub records_offset: u64,
}

/// Why a segment header was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    /// The first 8 bytes are not [`SEGMENT_MAGIC`].
    BadMagic,
    /// The format version is not [`FORMAT_VERSION`].
    WrongVersion(u32),
    /// The header's CRC does not match its bytes.
    BadCrc { stored: u32, computed: u32 },
    /// A field is out of range.
    BadField(&'static str),
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadMagic => write!(f, "not a tickrail journal segment (bad magic)"),
            Self::WrongVersion(v) => write!(
                f,
                "journal format version {v} is not supported (this build reads version {FORMAT_VERSION})"
            ),
            Self::BadCrc { stored, computed } => write!(
                f,
                "segment header CRC mismatch (stored {stored:#010x}, computed {computed:#010x})"
            ),
            Self::BadField(what) => write!(f, "segment header field out of range: {what}"),
        }
    }
}

impl SegmentHeader {
    /// Lay out a new segment of `segment_bytes` with the given index stride.
    ///
    /// The slot count saturates at `u32::MAX`; `JournalOptions::validate` refuses geometries
    /// that would need more, and `decode` then sees a mismatch.
    pub fn new(segment_index: u64, segment_bytes: u64, index_stride_bytes: u32) -> Self {
        let slots = (segment_bytes / u64::from(index_stride_bytes.max(1))).max(1);
        let index_slots = u32::try_from(slots).unwrap_or(u32::MAX);
        let records_offset =
            (SEGMENT_HEADER_BYTES + index_slots as usize * INDEX_SLOT_BYTES) as u64;
        Self {
            segment_index,
            segment_bytes,
            index_stride_bytes,
            index_slots,
            records_offset,
        }
    }

    /// Encode to the 64 header bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut b = [0u8; SEGMENT_HEADER_BYTES];
        b[0..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&(SEGMENT_HEADER_BYTES as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.segment_index.to_le_bytes());
        b[24..32].copy_from_slice(&self.segment_bytes.to_le_bytes());
        b[32..36].copy_from_slice(&self.index_stride_bytes.to_le_bytes());
        b[36..40].copy_from_slice(&self.index_slots.to_le_bytes());
        b[40..48].copy_from_slice(&self.records_offset.to_le_bytes());
        let crc = crc32c::crc32c(&b[0..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decode and validate the 64 header bytes; `file_len` is the actual file size.
    pub fn decode(b: &[u8], file_len: u64) -> Result<Self, HeaderProblem> {
        if b.len() < SEGMENT_HEADER_BYTES {
            return Err(HeaderProblem::BadField(
                "file shorter than the segment header",
            ));
        }
        if b[0..8] != SEGMENT_MAGIC {
            return Err(HeaderProblem::BadMagic);
        }
        let version = le_u32(b, 8);
        if version != FORMAT_VERSION {
            return Err(HeaderProblem::WrongVersion(version));
        }
        let stored = le_u32(b, 60);
        let computed = crc32c::crc32c(&b[0..60]);
        if stored != computed {
            return Err(HeaderProblem::BadCrc { stored, computed });
        }
        if le_u32(b, 12) as usize != SEGMENT_HEADER_BYTES {
            return Err(HeaderProblem::BadField("header_bytes"));
        }
        let h = Self {
            segment_index: le_u64(b, 16),
            segment_bytes: le_u64(b, 24),
            index_stride_bytes: le_u32(b, 32),
            index_slots: le_u32(b, 36),
            records_offset: le_u64(b, 40),
        };
        if h.segment_bytes != file_len {
            return Err(HeaderProblem::BadField(
                "segment_bytes differs from the file size",
            ));
        }
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&h.segment_bytes) {
            return Err(HeaderProblem::BadField("segment_bytes"));
        }
        if !h.segment_bytes.is_multiple_of(PAGE_BYTES) {
            return Err(HeaderProblem::BadField(
                "segment_bytes is not a multiple of 4096",
            ));
        }
        if h.index_stride_bytes == 0 || !h.index_stride_bytes.is_multiple_of(RECORD_ALIGN as u32) {
            return Err(HeaderProblem::BadField("index_stride_bytes"));
        }
        let expect = Self::new(h.segment_index, h.segment_bytes, h.index_stride_bytes);
        if expect != h {
            return Err(HeaderProblem::BadField("index_slots/records_offset"));
        }
        if h.records_offset + (RECORD_HEADER_BYTES as u64) * 2 > h.segment_bytes {
            return Err(HeaderProblem::BadField("records_offset"));
        }
        Ok(h)
    }
}

/// The decoded fields of a record header (the length word is read separately).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Header plus payload, unpadded.
    pub length: u32,
    pub kind: u16,
    pub sequence: u64,
    pub timestamp_ns: i64,
    pub crc: u32,
}

impl RecordHeader {
    /// Payload length in bytes.
    #[inline]
    pub fn payload_len(&self) -> usize {
        self.length as usize - RECORD_HEADER_BYTES
    }
}

/// Offset of the CRC32C in a record header.
pub const CRC_AT: usize = 4;
/// The CRC covers the record from this offset to its end (after the length word value).
pub const CRC_FROM: usize = 8;

/// CRC32C of a record: its `length` (without commit bit, 4 bytes little-endian), then
/// record bytes `8..length` (kind, reserved, sequence, timestamp, payload): one pass.
#[inline]
pub fn record_crc(length: u32, bytes_8_to_end: &[u8]) -> u32 {
    crate::crc::crc32c_u32_then(length, bytes_8_to_end)
}

/// Header bytes 8..32 as three little-endian words: kind (with the reserved bytes zero),
/// sequence, timestamp.
#[inline]
pub const fn header_words(kind: u16, sequence: u64, timestamp_ns: i64) -> [u64; 3] {
    [kind as u64, sequence, timestamp_ns as u64]
}

/// The record CRC from header values and the payload; equals [`record_crc`] over the
/// encoded bytes.
#[inline]
pub fn record_crc_of(length: u32, words: [u64; 3], payload: &[u8]) -> u32 {
    crate::crc::crc32c_record(length, words, payload)
}

/// Write header bytes 8..32 (kind, reserved, sequence, timestamp) into `h`.
#[inline]
pub fn encode_header_fields(h: &mut [u8], kind: u16, sequence: u64, timestamp_ns: i64) {
    h[8..10].copy_from_slice(&kind.to_le_bytes());
    h[10..16].copy_from_slice(&[0u8; 6]);
    h[16..24].copy_from_slice(&sequence.to_le_bytes());
    h[24..32].copy_from_slice(&timestamp_ns.to_le_bytes());
}

/// Read a little-endian u32 at `at`.
#[inline]
pub fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Read a little-endian u64 at `at`.
#[inline]
pub fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_header_round_trips_and_rejects_changes() {
        let h = SegmentHeader::new(7, 1 << 20, 4096);
        let b = h.encode();
        assert_eq!(SegmentHeader::decode(&b, 1 << 20), Ok(h));
        for i in 0..60 {
            let mut c = b;
            c[i] ^= 0x10;
            assert!(
                SegmentHeader::decode(&c, 1 << 20).is_err(),
                "flip at {i} accepted"
            );
        }
        assert_eq!(
            SegmentHeader::decode(&b, 1 << 21),
            Err(HeaderProblem::BadField(
                "segment_bytes differs from the file size"
            ))
        );
    }

    #[test]
    fn wrong_version_is_named() {
        let mut b = SegmentHeader::new(0, 1 << 20, 4096).encode();
        b[8..12].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(
            SegmentHeader::decode(&b, 1 << 20),
            Err(HeaderProblem::WrongVersion(9))
        );
    }

    #[test]
    fn segment_names_round_trip() {
        assert_eq!(segment_file_name(42), "00000000000000000042.seg");
        assert_eq!(
            parse_segment_file_name("00000000000000000042.seg"),
            Some(42)
        );
        assert_eq!(parse_segment_file_name("42.seg"), None);
        assert_eq!(
            parse_segment_file_name("00000000000000000042.seg.tmp"),
            None
        );
    }

    #[test]
    fn spans_are_aligned() {
        assert_eq!(record_span(0), 32);
        assert_eq!(record_span(1), 40);
        assert_eq!(record_span(64), 96);
        assert_eq!(record_span(65), 104);
    }
}
