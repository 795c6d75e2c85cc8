//! Readers: zero-copy, any number, in this process or another, following a live writer.
//!
//! `next()` returns `Ok(None)` when no further committed record exists *yet*; a tailing
//! reader simply calls it again later. A record is returned only after its CRC32C held.

use std::path::{Path, PathBuf};

use crate::error::{JournalError, Result};
use crate::format::{kind, record_span, RECORD_HEADER_BYTES};
use crate::manifest::Manifest;
use crate::record::{check_at, read_index_slot, Slot};
use crate::segment::{list_segments, segment_path, ReadSegment};
use crate::writer::Position;

/// One committed record, borrowed from the mapping (no copy).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub kind: u16,
    pub sequence: u64,
    pub timestamp_ns: i64,
    pub payload: &'a [u8],
    pub position: Position,
    /// The record's CRC32C (over its header and payload; checked when it was read). Folding
    /// the CRCs of a journal's records identifies its content cheaply.
    pub crc: u32,
}

/// A reader over a journal directory.
#[derive(Debug)]
pub struct JournalReader {
    dir: PathBuf,
    seg: ReadSegment,
    pos: usize,
    include_internal: bool,
}

impl JournalReader {
    /// Open the journal in `dir` at its first record. Journal-internal records (manifest,
    /// end-of-segment markers) are skipped; see [`JournalReader::include_internal`].
    pub fn open(dir: &Path) -> Result<Self> {
        let segments = list_segments(dir)?;
        let first = *segments.first().ok_or_else(|| JournalError::Empty {
            path: dir.to_path_buf(),
        })?;
        let seg = ReadSegment::open(dir, first)?;
        let pos = seg.header.records_offset as usize;
        Ok(Self {
            dir: dir.to_path_buf(),
            seg,
            pos,
            include_internal: false,
        })
    }

    /// Also return the manifest and end-of-segment markers.
    pub fn include_internal(mut self, yes: bool) -> Self {
        self.include_internal = yes;
        self
    }

    /// Position of the next record to read.
    pub fn position(&self) -> Position {
        Position {
            segment: self.seg.index,
            offset: self.pos as u64,
        }
    }

    /// The path of the segment being read.
    pub fn segment_path(&self) -> &Path {
        &self.seg.path
    }

    /// The next committed record, `Ok(None)` if there is none yet, or an error naming the
    /// file and offset of a record that failed its checks (it is never returned).
    #[inline]
    #[allow(
        clippy::should_implement_trait,
        reason = "a lending reader: each record borrows it"
    )]
    pub fn next(&mut self) -> Result<Option<Record<'_>>> {
        loop {
            match check_at(&self.seg.map, self.pos) {
                Slot::Empty | Slot::Claimed(_) => return Ok(None),
                Slot::Bad(reason) => {
                    return Err(JournalError::Corrupt {
                        path: self.seg.path.clone(),
                        offset: self.pos as u64,
                        reason,
                    })
                }
                Slot::Record(h) if h.kind == kind::END_OF_SEGMENT => {
                    if self.include_internal {
                        // Report the marker once, then move on at the next call.
                        let at = self.pos;
                        self.advance_segment()?;
                        return Ok(Some(Record {
                            kind: h.kind,
                            sequence: h.sequence,
                            timestamp_ns: h.timestamp_ns,
                            payload: &[],
                            position: Position {
                                segment: self.seg.index - 1,
                                offset: at as u64,
                            },
                            crc: h.crc,
                        }));
                    }
                    self.advance_segment()?;
                }
                Slot::Record(h) => {
                    let at = self.pos;
                    self.pos += record_span(h.payload_len());
                    if (h.kind == kind::MANIFEST || h.kind == kind::RUN_MARK)
                        && !self.include_internal
                    {
                        continue;
                    }
                    let payload = self
                        .seg
                        .map
                        .bytes(at + RECORD_HEADER_BYTES, h.payload_len());
                    return Ok(Some(Record {
                        kind: h.kind,
                        sequence: h.sequence,
                        timestamp_ns: h.timestamp_ns,
                        payload,
                        position: Position {
                            segment: self.seg.index,
                            offset: at as u64,
                        },
                        crc: h.crc,
                    }));
                }
            }
        }
    }

    fn advance_segment(&mut self) -> Result<()> {
        let next = self.seg.index + 1;
        if !segment_path(&self.dir, next).exists() {
            return Err(JournalError::MissingSegment {
                path: self.dir.clone(),
                missing: next,
            });
        }
        self.seg = ReadSegment::open(&self.dir, next)?;
        self.pos = self.seg.header.records_offset as usize;
        Ok(())
    }

    /// Move to the first record whose sequence is at least `sequence` (or to the end).
    ///
    /// Segments are found by binary search on their first record; inside a segment the
    /// sparse index narrows the scan to one stride. Index slots are hints: one that does not
    /// match a valid record is ignored.
    pub fn seek(&mut self, sequence: u64) -> Result<()> {
        let segments = list_segments(&self.dir)?;
        if segments.is_empty() {
            return Err(JournalError::Empty {
                path: self.dir.clone(),
            });
        }
        // Last segment whose first record's sequence is below the target (sequences may
        // repeat, so equal ones can end the segment before).
        let (mut lo, mut hi) = (0usize, segments.len());
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            let s = ReadSegment::open(&self.dir, segments[mid])?;
            match check_at(&s.map, s.header.records_offset as usize) {
                Slot::Record(h) if h.sequence < sequence => lo = mid,
                _ => hi = mid,
            }
        }
        self.seg = ReadSegment::open(&self.dir, segments[lo])?;
        self.pos = self.seg.header.records_offset as usize;
        // Best index hint below the target.
        let slots = self.seg.header.index_slots;
        let (mut a, mut b) = (0u32, slots);
        let mut best = None;
        while a < b {
            let mid = a + (b - a) / 2;
            match read_index_slot(&self.seg.map, mid) {
                Some((seq, off)) if seq < sequence => {
                    best = Some((seq, off));
                    a = mid + 1;
                }
                Some(_) => b = mid,
                // An empty slot: either past the end or a skipped bucket; look lower.
                None => b = mid,
            }
        }
        if let Some((seq, off)) = best {
            let off = off as usize;
            let ro = self.seg.header.records_offset as usize;
            if off.is_multiple_of(8) && off >= ro && off < self.seg.map.len() {
                if let Slot::Record(h) = check_at(&self.seg.map, off) {
                    if h.sequence == seq {
                        self.pos = off;
                    }
                }
            }
        }
        // Walk forward to the first record at or past the target, then step back onto it.
        let keep = std::mem::replace(&mut self.include_internal, true);
        let result = loop {
            let found = self
                .next()
                .map(|o| o.map(|r| (r.sequence, r.kind, r.position)));
            match found {
                Ok(Some((seq, k, p))) if seq >= sequence && k != kind::END_OF_SEGMENT => {
                    // Markers move to the next segment inside `next`, so a non-marker record
                    // is always in the current segment.
                    debug_assert_eq!(p.segment, self.seg.index);
                    self.pos = p.offset as usize;
                    break Ok(());
                }
                Ok(Some(_)) => continue,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.include_internal = keep;
        result
    }
}

/// Read the manifest (first record of the first segment).
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let mut r = JournalReader::open(dir)?.include_internal(true);
    let path = r.segment_path().to_path_buf();
    match r.next()? {
        Some(rec) if rec.kind == kind::MANIFEST => {
            Manifest::decode(rec.payload).map_err(|reason| JournalError::BadManifest {
                path,
                offset: rec.position.offset,
                reason,
            })
        }
        Some(rec) => Err(JournalError::BadManifest {
            path,
            offset: rec.position.offset,
            reason: format!(
                "first record has kind {} (expected the manifest, kind {})",
                rec.kind,
                kind::MANIFEST
            ),
        }),
        None => Err(JournalError::BadManifest {
            path,
            offset: r.position().offset,
            reason: "journal has no records (no manifest was written)".into(),
        }),
    }
}

/// The run marks ([`kind::RUN_MARK`]: resumes, clean closes) of the journal in `dir`, in
/// order, each with the sequence it was written at. Reads the whole journal.
pub fn read_marks(dir: &Path) -> Result<Vec<(u64, Manifest)>> {
    let mut r = JournalReader::open(dir)?.include_internal(true);
    let mut marks = Vec::new();
    while let Some(rec) = r.next()? {
        if rec.kind == kind::RUN_MARK {
            let (sequence, offset) = (rec.sequence, rec.position.offset);
            let m = Manifest::decode(rec.payload).map_err(|reason| JournalError::BadManifest {
                path: r.segment_path().to_path_buf(),
                offset,
                reason,
            });
            marks.push((sequence, m?));
        }
    }
    Ok(marks)
}
