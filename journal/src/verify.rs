//! Full integrity check of a journal: every segment header, every record's CRC and fields,
//! sequence order, the manifest, markers, zeroed tails and the sparse index.

use std::path::{Path, PathBuf};

use crate::error::{JournalError, Result};
use crate::format::{kind, record_span, RECORD_HEADER_BYTES};
use crate::manifest::Manifest;
use crate::record::{check_at, end_of_nonzero, find_valid_after, read_index_slot, Slot};
use crate::segment::{list_segments, ReadSegment};

/// One thing wrong, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: offset {}: {}",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    pub segments: u64,
    /// Records of user kinds.
    pub records: u64,
    /// Manifest and end-of-segment markers.
    pub internal_records: u64,
    pub payload_bytes: u64,
    pub first_sequence: Option<u64>,
    pub last_sequence: Option<u64>,
    pub manifest: Option<Manifest>,
    /// Damage to committed data: corrupt records, bad headers, broken order or index.
    pub problems: Vec<Problem>,
    /// Uncommitted bytes after the last record of the last segment: what a crashed writer
    /// left and the next writer's recovery will cut. No committed record is affected.
    pub torn_tail: Option<Problem>,
}

impl VerifyReport {
    /// True when every record is intact and nothing follows the last one.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty() && self.torn_tail.is_none()
    }
}

/// Check the whole journal in `dir`. Errors only when it cannot be read at all.
///
/// Meant for a journal no writer is appending to: it also inspects the bytes after the
/// last record (a live writer would be writing them).
pub fn verify(dir: &Path) -> Result<VerifyReport> {
    let segments = list_segments(dir)?;
    if segments.is_empty() {
        return Err(JournalError::Empty {
            path: dir.to_path_buf(),
        });
    }
    let mut rep = VerifyReport {
        segments: segments.len() as u64,
        ..Default::default()
    };
    // A writer prepares the next segment ahead of time, so the journal may end with
    // segments that hold nothing yet. The last segment with any byte of data is the tail.
    let mut last_data = 0;
    for (i, &index) in segments.iter().enumerate().rev() {
        match ReadSegment::open(dir, index) {
            Ok(seg) => {
                let hdr = crate::format::SEGMENT_HEADER_BYTES;
                if end_of_nonzero(&seg.map, hdr, seg.map.len()) > hdr {
                    last_data = i;
                    break;
                }
            }
            Err(_) => {
                last_data = i;
                break;
            }
        }
    }
    let mut first_record = true;
    for (i, &index) in segments.iter().enumerate().take(last_data + 1) {
        let is_last = i == last_data;
        let seg = match ReadSegment::open(dir, index) {
            Ok(s) => s,
            Err(e) => {
                let path = crate::segment::segment_path(dir, index);
                rep.problems.push(Problem {
                    path,
                    offset: 0,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let len = seg.map.len();
        let ro = seg.header.records_offset as usize;
        let problem = |offset: usize, reason: String| Problem {
            path: seg.path.clone(),
            offset: offset as u64,
            reason,
        };
        let mut off = ro;
        let mut ended = false;
        let mut valid_offsets: Vec<(usize, u64)> = Vec::new();
        loop {
            match check_at(&seg.map, off) {
                Slot::Record(h) => {
                    if first_record {
                        first_record = false;
                        if h.kind != kind::MANIFEST {
                            rep.problems.push(problem(
                                off,
                                format!("first record has kind {}, not the manifest", h.kind),
                            ));
                        } else {
                            let p = seg.map.bytes(off + RECORD_HEADER_BYTES, h.payload_len());
                            match Manifest::decode(p) {
                                Ok(m) => rep.manifest = Some(m),
                                Err(r) => rep
                                    .problems
                                    .push(problem(off, format!("bad manifest: {r}"))),
                            }
                        }
                    } else if h.kind == kind::MANIFEST {
                        rep.problems.push(problem(
                            off,
                            "a manifest record after the first record".into(),
                        ));
                    } else if h.kind == kind::RUN_MARK {
                        let p = seg.map.bytes(off + RECORD_HEADER_BYTES, h.payload_len());
                        if let Err(r) = Manifest::decode(p) {
                            rep.problems
                                .push(problem(off, format!("bad run mark: {r}")));
                        }
                    }
                    if let Some(last) = rep.last_sequence {
                        if h.sequence < last {
                            rep.problems.push(problem(
                                off,
                                format!("sequence {} goes backwards (previous {last})", h.sequence),
                            ));
                        }
                    }
                    rep.last_sequence = Some(h.sequence);
                    valid_offsets.push((off, h.sequence));
                    if h.kind < kind::FIRST_USER_KIND {
                        rep.internal_records += 1;
                    } else {
                        rep.records += 1;
                        rep.payload_bytes += h.payload_len() as u64;
                        rep.first_sequence.get_or_insert(h.sequence);
                    }
                    if h.kind == kind::END_OF_SEGMENT {
                        ended = true;
                        off += RECORD_HEADER_BYTES;
                        break;
                    }
                    off += record_span(h.payload_len());
                }
                Slot::Empty | Slot::Claimed(_) => break,
                Slot::Bad(reason) => {
                    rep.problems
                        .push(problem(off, format!("corrupt record: {reason}")));
                    // Resynchronise on the next valid record to report everything.
                    match find_valid_after(&seg.map, off + 8, end_of_nonzero(&seg.map, off, len)) {
                        Some(next) => off = next,
                        None => break,
                    }
                }
            }
        }
        if !ended && !is_last {
            rep.problems.push(problem(
                off,
                "segment ends without an end-of-segment marker".into(),
            ));
        }
        if ended && i + 1 == segments.len() {
            rep.problems.push(problem(
                off,
                "end-of-segment marker in the last segment, but no next segment".into(),
            ));
        }
        let data_end = end_of_nonzero(&seg.map, off, len);
        if data_end > off {
            let what = match check_at(&seg.map, off) {
                Slot::Claimed(l) => format!("{l}-byte record claimed but never committed, "),
                _ => String::new(),
            };
            let p = problem(
                off,
                format!(
                    "{what}{} uncommitted byte(s) after the last record",
                    data_end - off
                ),
            );
            if is_last && !ended && rep.torn_tail.is_none() {
                rep.torn_tail = Some(p);
            } else {
                rep.problems.push(p);
            }
        }
        for slot in 0..seg.header.index_slots {
            if let Some((seq, at)) = read_index_slot(&seg.map, slot) {
                let ok = valid_offsets
                    .binary_search_by_key(&(at as usize), |&(o, _)| o)
                    .ok()
                    .is_some_and(|k| valid_offsets[k].1 == seq);
                if !ok {
                    rep.problems.push(problem(
                        crate::record::index_slot_offset(slot),
                        format!("index slot {slot} points at offset {at} with sequence {seq}, which is not a valid record"),
                    ));
                }
            }
        }
    }
    Ok(rep)
}
