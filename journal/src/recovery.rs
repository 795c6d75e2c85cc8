//! Recovery on open: find where the writer stopped, keep every record whose CRC holds, cut
//! a torn tail and report exactly what was cut.
//!
//! Rules (docs/JOURNAL.md, "Recovery"):
//! 0. Every segment header is valid (magic, version, CRC, size).
//! 1. The active segment is the last one whose first record is valid (or segment 0).
//! 2. Records are read from its start until the first position that is not a valid
//!    committed record. An end-of-segment marker moves on to the next segment.
//! 3. At that position the tail is clean if every byte after it is zero.
//! 4. Otherwise, if any valid committed record exists after it, this is corruption in the
//!    middle, not a torn tail: open fails with [`JournalError::CorruptMiddle`] and nothing is
//!    cut. Else the non-zero bytes are zeroed (the cut), synced, and reported.
//! 5. Segments after the active one must hold no valid record; stray bytes are cut likewise.

use std::path::{Path, PathBuf};

use crate::error::{JournalError, Result};
use crate::format::{kind, record_span};
use crate::record::{
    check_at, end_of_nonzero, find_valid_after, index_slot_offset, read_index_slot, Slot,
};
use crate::segment::WriteSegment;

/// Bytes that recovery zeroed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub path: PathBuf,
    pub offset: u64,
    pub bytes: u64,
    pub reason: String,
}

/// What recovery found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segment files found.
    pub segments: u64,
    /// Segment the writer continues in.
    pub active_segment: u64,
    /// Valid records in the active segment (markers included).
    pub records_in_active: u64,
    /// Offset where the next record goes.
    pub tail_offset: u64,
    /// Sequence of the last record kept.
    pub last_sequence: Option<u64>,
    /// Torn or stray bytes that were zeroed.
    pub cuts: Vec<Cut>,
    /// Half-made segment files removed.
    pub removed_temporaries: usize,
}

impl std::fmt::Display for RecoveryReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} segment(s); continuing in segment {} at offset {} after {} record(s)",
            self.segments, self.active_segment, self.tail_offset, self.records_in_active
        )?;
        for c in &self.cuts {
            write!(
                f,
                "; cut {} byte(s) at {}:{} ({})",
                c.bytes,
                c.path.display(),
                c.offset,
                c.reason
            )?;
        }
        Ok(())
    }
}

/// Where the writer resumes.
#[derive(Debug)]
pub struct Resume {
    pub segment: WriteSegment,
    pub write_pos: usize,
    pub last_bucket: Option<u64>,
    pub last_sequence: Option<u64>,
    pub last_timestamp_ns: i64,
    pub report: RecoveryReport,
}

/// Recover the journal in `dir` whose segment indices are `segments` (non-empty, sorted).
pub fn recover(dir: &Path, segments: &[u64]) -> Result<Resume> {
    let mut report = RecoveryReport {
        segments: segments.len() as u64,
        ..Default::default()
    };
    // Rule 0: every segment's header, not only the tail's: a damaged or truncated file
    // anywhere is reported at open, not when a reader reaches it.
    for &idx in segments {
        crate::segment::check_segment(dir, idx)?;
    }
    // Rule 1: the active segment.
    let mut active_pos = 0;
    for (i, &idx) in segments.iter().enumerate().rev() {
        let seg = WriteSegment::open(dir, idx)?;
        if matches!(
            check_at(&seg.map, seg.header.records_offset as usize),
            Slot::Record(_)
        ) {
            active_pos = i;
            break;
        }
    }
    let mut last_sequence = None;
    let mut last_ts = 0i64;
    let mut pos = active_pos;
    loop {
        let mut seg = WriteSegment::open(dir, segments[pos])?;
        let Scan {
            end,
            records,
            last_bucket,
            ended,
            problem,
        } = scan(&seg, &mut last_sequence, &mut last_ts);
        if ended {
            // Rule 2: a marker; the writer had moved on.
            if pos + 1 < segments.len() {
                pos += 1;
                continue;
            }
            // The next segment was never made: make it now.
            let next = WriteSegment::create(
                dir,
                segments[pos] + 1,
                seg.header.segment_bytes,
                seg.header.index_stride_bytes,
            )?;
            report.segments += 1;
            report.active_segment = next.index;
            report.tail_offset = next.header.records_offset;
            let write_pos = next.header.records_offset as usize;
            return Ok(Resume {
                segment: next,
                write_pos,
                last_bucket: None,
                last_sequence,
                last_timestamp_ns: last_ts,
                report,
            });
        }
        // Rules 3 and 4 on the active segment.
        if let Some(cut) = cut_tail(&mut seg, end, &problem)? {
            report.cuts.push(cut);
        }
        // Rule 5 on any later segment.
        for &later in &segments[pos + 1..] {
            let mut s = WriteSegment::open(dir, later)?;
            let start = s.header.records_offset as usize;
            if let Some(cut) = cut_tail(
                &mut s,
                start,
                &Some("stray bytes in a segment after the tail".into()),
            )? {
                report.cuts.push(cut);
            }
        }
        report.active_segment = seg.index;
        report.records_in_active = records;
        report.tail_offset = end as u64;
        report.last_sequence = last_sequence;
        return Ok(Resume {
            segment: seg,
            write_pos: end,
            last_bucket,
            last_sequence,
            last_timestamp_ns: last_ts,
            report,
        });
    }
}

/// Where a walk over a segment's valid records stopped.
struct Scan {
    /// Offset just past the last valid record (at the marker if `ended`).
    end: usize,
    /// Valid records walked (the marker included).
    records: u64,
    /// Index bucket of the last valid record.
    last_bucket: Option<u64>,
    /// The walk stopped at an end-of-segment marker.
    ended: bool,
    /// Why the walk stopped, if not at a clean end.
    problem: Option<String>,
}

/// Walk the valid records of a segment.
fn scan(seg: &WriteSegment, last_sequence: &mut Option<u64>, last_ts: &mut i64) -> Scan {
    let ro = seg.header.records_offset as usize;
    let stride = seg.header.index_stride_bytes as usize;
    let mut s = Scan {
        end: ro,
        records: 0,
        last_bucket: None,
        ended: false,
        problem: None,
    };
    loop {
        match check_at(&seg.map, s.end) {
            Slot::Record(h) => {
                if let Some(prev) = last_sequence.filter(|&p| h.sequence < p) {
                    s.problem = Some(format!(
                        "sequence {} goes backwards (previous {prev})",
                        h.sequence
                    ));
                    return s;
                }
                *last_sequence = Some(h.sequence);
                *last_ts = h.timestamp_ns;
                s.records += 1;
                s.last_bucket = Some(((s.end - ro) / stride) as u64);
                if h.kind == kind::END_OF_SEGMENT {
                    s.ended = true;
                    return s;
                }
                s.end += record_span(h.payload_len());
            }
            Slot::Empty => return s,
            Slot::Claimed(len) => {
                s.problem = Some(format!(
                    "record of {len} bytes claimed but never committed (torn write)"
                ));
                return s;
            }
            Slot::Bad(reason) => {
                s.problem = Some(reason);
                return s;
            }
        }
    }
}

/// Zero the non-zero bytes from `from` to the end of the segment, unless a valid record
/// follows them (then refuse). Also clears index slots pointing at or past `from`.
fn cut_tail(seg: &mut WriteSegment, from: usize, problem: &Option<String>) -> Result<Option<Cut>> {
    let len = seg.map.len();
    let data_end = end_of_nonzero(&seg.map, from, len);
    if data_end > from {
        // From `from` itself: a CRC-valid record whose sequence went backwards is kept
        // (open fails) rather than cut.
        if let Some(valid) = find_valid_after(&seg.map, from, data_end) {
            return Err(JournalError::CorruptMiddle {
                path: seg.path.clone(),
                offset: from as u64,
                bytes_after: (data_end - from) as u64,
                reason: format!(
                    "{} (a valid record follows at offset {valid})",
                    problem.clone().unwrap_or_else(|| "zero length word".into())
                ),
            });
        }
    }
    let mut cleared_index = false;
    for slot in 0..seg.header.index_slots {
        if let Some((_, off)) = read_index_slot(&seg.map, slot) {
            if off as usize >= from {
                let at = index_slot_offset(slot);
                seg.map.write(at, &[0u8; 16]);
                cleared_index = true;
            }
        }
    }
    if cleared_index {
        let ro = seg.header.records_offset as usize;
        seg.map
            .sync_range(0, ro)
            .map_err(|e| JournalError::SyncFailed {
                path: seg.path.clone(),
                source: e,
            })?;
    }
    if data_end == from {
        return Ok(None);
    }
    // The length word first, atomically: a concurrent reader then sees "nothing yet".
    seg.map.publish_zero(from);
    let zeros = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < data_end {
        let n = zeros.len().min(data_end - at);
        seg.map.write(at, &zeros[..n]);
        at += n;
    }
    seg.map
        .sync_range(from, data_end - from)
        .map_err(|e| JournalError::SyncFailed {
            path: seg.path.clone(),
            source: e,
        })?;
    Ok(Some(Cut {
        path: seg.path.clone(),
        offset: from as u64,
        bytes: (data_end - from) as u64,
        reason: problem
            .clone()
            .unwrap_or_else(|| "uncommitted bytes after the last record".into()),
    }))
}
