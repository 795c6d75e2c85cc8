//! The single writer: appends records, rolls segments, applies the durability policy.
//!
//! Hot path (`append`/`append_with`): bounds checks, the payload copy (or in-place
//! serialisation), one CRC32C, a claim store and a release store of the length word,
//! optionally an index slot, one atomic position store. No allocation, lock or syscall,
//! except `msync` under `Durability::Sync` and the roll to a new segment (prepared ahead
//! by a background thread).

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use crate::background::{AsyncSyncer, Preallocator, POSITION_SHIFT};
use crate::content::ContentHash;
use crate::error::{JournalError, Result};
use crate::format::{
    encode_header_fields, header_words, kind, record_crc, record_crc_of, record_span, CRC_AT,
    CRC_FROM, FIRST_USER_KIND, MAX_RECORD_BYTES, RECORD_HEADER_BYTES,
};
use crate::lock::WriterLock;
use crate::manifest::Manifest;
use crate::options::{Durability, JournalOptions};
use crate::reader::read_manifest;
use crate::record::index_slot_offset;
use crate::recovery::{recover, RecoveryReport};
use crate::segment::{list_segments, remove_temporaries, WriteSegment};

/// Where a record lives: segment index and byte offset in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Position {
    pub segment: u64,
    pub offset: u64,
}

/// Counters kept by the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Records appended by this writer (markers excluded).
    pub records: u64,
    /// Payload bytes appended.
    pub payload_bytes: u64,
    /// Segment rolls.
    pub rolls: u64,
    /// Rolls that had to wait for (or make) the next segment.
    pub roll_waits: u64,
    /// Synchronous `msync` calls.
    pub syncs: u64,
}

/// The one writer of a journal directory.
#[derive(Debug)]
pub struct JournalWriter {
    dir: PathBuf,
    opts: JournalOptions,
    seg: WriteSegment,
    write_pos: usize,
    synced_pos: usize,
    /// The next record at or past this offset opens a new index bucket.
    next_index_at: usize,
    /// Largest payload that fits an empty segment of both the active geometry and the
    /// configured one (with room for the marker).
    max_payload: usize,
    last_sequence: Option<u64>,
    last_timestamp_ns: i64,
    since_sync: u32,
    stats: WriterStats,
    /// The content hash of the records this writer appended.
    appended: ContentHash,
    poisoned: bool,
    prealloc: Option<Preallocator>,
    syncer: Option<AsyncSyncer>,
    manifest: Manifest,
    _lock: WriterLock,
}

impl JournalWriter {
    /// Open (creating or recovering) the journal in `dir`.
    ///
    /// A new journal gets `manifest` as its first record. An existing one is recovered (see
    /// [`crate::recovery`]) and its manifest must agree with `manifest` on every required key.
    pub fn open(
        dir: &Path,
        opts: JournalOptions,
        manifest: &Manifest,
    ) -> Result<(Self, RecoveryReport)> {
        opts.validate()?;
        if !dir.is_dir() {
            if dir.exists() {
                return Err(JournalError::NotADirectory {
                    path: dir.to_path_buf(),
                });
            }
            if !opts.create_dir {
                return Err(JournalError::MissingDirectory {
                    path: dir.to_path_buf(),
                });
            }
            std::fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, "create_dir_all", e))?;
            // A relative one-component path has the parent "" (the current directory).
            let parent = dir
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            crate::segment::sync_dir(parent)?;
        }
        let lock = WriterLock::acquire(dir)?;
        let removed = remove_temporaries(dir)?;
        let segments = list_segments(dir)?;
        let (resume, fresh) = if segments.is_empty() {
            let seg = WriteSegment::create(dir, 0, opts.segment_bytes, opts.index_stride_bytes)?;
            let pos = seg.header.records_offset as usize;
            let report = RecoveryReport {
                segments: 1,
                tail_offset: pos as u64,
                ..Default::default()
            };
            (
                crate::recovery::Resume {
                    segment: seg,
                    write_pos: pos,
                    last_bucket: None,
                    last_sequence: None,
                    last_timestamp_ns: 0,
                    report,
                },
                true,
            )
        } else {
            (recover(dir, &segments)?, false)
        };
        let mut resume = resume;
        let mut report = std::mem::take(&mut resume.report);
        let next_index_at = next_index_at(&resume.segment, resume.last_bucket);
        report.removed_temporaries = removed;
        // Start-up, not the hot path: fault in the rest of the active segment now.
        resume.segment.map.pre_touch(resume.write_pos);
        let mut w = Self {
            dir: dir.to_path_buf(),
            seg: resume.segment,
            write_pos: resume.write_pos,
            synced_pos: resume.write_pos,
            next_index_at,
            max_payload: 0,
            last_sequence: resume.last_sequence,
            last_timestamp_ns: resume.last_timestamp_ns,
            since_sync: 0,
            stats: WriterStats::default(),
            appended: ContentHash::default(),
            poisoned: false,
            prealloc: None,
            syncer: None,
            manifest: manifest.clone(),
            opts,
            _lock: lock,
        };
        w.max_payload = w.max_payload_for_active();
        if fresh || w.last_sequence.is_none() {
            w.append_raw(kind::MANIFEST, 0, 0, &manifest.encode())?;
            w.sync_now()?;
        } else {
            let existing = read_manifest(dir)?;
            for key in crate::manifest::REQUIRED_KEYS {
                let (j, o) = (
                    existing.get(key).unwrap_or(""),
                    manifest.get(key).unwrap_or(""),
                );
                if j != o {
                    return Err(JournalError::ManifestMismatch {
                        key: key.to_string(),
                        journal: j.to_string(),
                        ours: o.to_string(),
                    });
                }
            }
            w.manifest = existing;
        }
        if let Durability::Async { interval } = w.opts.durability {
            let s = AsyncSyncer::start(interval)?;
            s.track(w.seg.index, w.seg.path.clone(), w.seg.map.syncer());
            w.syncer = Some(s);
            w.publish_position();
        }
        if w.opts.preallocate {
            let ahead = w.opts.prepared_segments;
            let p =
                Preallocator::start(dir, w.opts.segment_bytes, w.opts.index_stride_bytes, ahead)?;
            w.prealloc = Some(p);
            w.request_ahead();
        }
        Ok((w, report))
    }

    /// Append a run mark ([`kind::RUN_MARK`]: a resume, a clean close) at the last
    /// record's sequence and time, and sync it.
    pub fn append_mark(&mut self, mark: &Manifest) -> Result<Position> {
        let (seq, ts) = (self.last_sequence.unwrap_or(0), self.last_timestamp_ns);
        let pos = self.append_raw(kind::RUN_MARK, seq, ts, &mark.encode())?;
        self.sync_now()?;
        Ok(pos)
    }

    /// Append a record with `payload`. `kind` must be at least [`FIRST_USER_KIND`];
    /// sequences must not decrease.
    ///
    /// Under `Durability::Sync`, an error from the `msync` that follows every N-th record is
    /// returned *after* that record was committed: it is in the journal (readers see it,
    /// recovery keeps it) but not known to be durable, and the writer is poisoned.
    #[inline]
    pub fn append(
        &mut self,
        kind: u16,
        sequence: u64,
        timestamp_ns: i64,
        payload: &[u8],
    ) -> Result<Position> {
        check_user_kind(kind)?;
        self.append_raw(kind, sequence, timestamp_ns, payload)
    }

    /// Append a record of `len` payload bytes written in place by `fill` (zero-copy
    /// serialisation straight into the mapped segment). The slot starts zeroed.
    #[inline]
    pub fn append_with(
        &mut self,
        kind: u16,
        sequence: u64,
        timestamp_ns: i64,
        len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Position> {
        check_user_kind(kind)?;
        self.append_inner(kind, sequence, timestamp_ns, len, None, fill)
    }

    /// `append` without the user-kind check (the manifest).
    #[inline]
    fn append_raw(
        &mut self,
        kind: u16,
        sequence: u64,
        timestamp_ns: i64,
        payload: &[u8],
    ) -> Result<Position> {
        self.append_inner(
            kind,
            sequence,
            timestamp_ns,
            payload.len(),
            Some(payload),
            |s| s.copy_from_slice(payload),
        )
    }

    #[inline]
    fn append_inner(
        &mut self,
        kind: u16,
        sequence: u64,
        timestamp_ns: i64,
        len: usize,
        source: Option<&[u8]>,
        fill: impl FnOnce(&mut [u8]),
    ) -> Result<Position> {
        self.check_health()?;
        if let Some(last) = self.last_sequence {
            if sequence < last {
                return Err(JournalError::AppendRefused {
                    reason: format!(
                        "sequence {sequence} is below the last appended sequence {last}"
                    ),
                });
            }
        }
        // Checked before any arithmetic on `len`, so nothing below can overflow.
        if len > self.max_payload {
            return Err(self.too_large(len));
        }
        let span = record_span(len);
        if self.write_pos + span + RECORD_HEADER_BYTES > self.seg.map.len() {
            self.roll(timestamp_ns)?;
            // The new segment may be smaller than the old one (another geometry on disk).
            if self.write_pos + span + RECORD_HEADER_BYTES > self.seg.map.len() {
                return Err(self.too_large(len));
            }
        }
        let off = self.write_pos;
        let length = (RECORD_HEADER_BYTES + len) as u32;
        self.seg.map.claim(off, length);
        fill(self.seg.map.slot(off + RECORD_HEADER_BYTES, len));
        // The CRC comes from the header values and the caller's payload when we have it, so
        // nothing just stored is read back (see crc.rs).
        let words = header_words(kind, sequence, timestamp_ns);
        let crc = match source {
            Some(p) => record_crc_of(length, words, p),
            None => record_crc_of(
                length,
                words,
                self.seg.map.bytes(off + RECORD_HEADER_BYTES, len),
            ),
        };
        self.seg.map.write(off + CRC_AT, &crc.to_le_bytes());
        self.appended.add(crc);
        self.seg.map.write(off + CRC_FROM, &words[0].to_le_bytes());
        self.seg
            .map
            .write(off + CRC_FROM + 8, &words[1].to_le_bytes());
        self.seg
            .map
            .write(off + CRC_FROM + 16, &words[2].to_le_bytes());
        debug_assert!(
            self.seg
                .map
                .bytes(off + length as usize, span - length as usize)
                .iter()
                .all(|&b| b == 0),
            "padding must be zero"
        );
        self.index(off, sequence);
        self.seg.map.publish(off, length);
        debug_assert!(matches!(
            crate::record::check_at(&self.seg.map, off),
            crate::record::Slot::Record(h) if h.sequence == sequence && h.kind == kind
        ));
        self.write_pos = off + span;
        self.last_sequence = Some(sequence);
        self.last_timestamp_ns = timestamp_ns;
        self.stats.records += 1;
        self.stats.payload_bytes += len as u64;
        self.after_append()?;
        Ok(Position {
            segment: self.seg.index,
            offset: off as u64,
        })
    }

    /// Index the record at `off` if it is the first in its bucket. The common case is one
    /// compare; the division happens once per bucket.
    #[inline]
    fn index(&mut self, off: usize, sequence: u64) {
        if off >= self.next_index_at {
            self.index_slow(off, sequence);
        }
    }

    #[cold]
    fn index_slow(&mut self, off: usize, sequence: u64) {
        let ro = self.seg.header.records_offset as usize;
        let stride = self.seg.header.index_stride_bytes as usize;
        let bucket = (off - ro) / stride;
        self.next_index_at = ro + (bucket + 1) * stride;
        if bucket >= self.seg.header.index_slots as usize {
            return;
        }
        let at = index_slot_offset(bucket as u32);
        self.seg.map.store_u64(at, sequence, Ordering::Relaxed);
        self.seg
            .map
            .store_u64(at + 8, off as u64, Ordering::Release);
    }

    #[inline]
    fn check_health(&mut self) -> Result<()> {
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        if let Some(s) = &self.syncer {
            if s.shared.poisoned.load(Ordering::Relaxed) {
                self.poisoned = true;
                let taken = s.shared.failure.lock().ok().and_then(|mut f| f.take());
                return Err(match taken {
                    Some((path, source)) => JournalError::SyncFailed { path, source },
                    None => JournalError::Poisoned,
                });
            }
        }
        Ok(())
    }

    #[inline]
    fn after_append(&mut self) -> Result<()> {
        match self.opts.durability {
            Durability::None => {}
            Durability::Async { .. } => self.publish_position(),
            Durability::Sync { every_records } => {
                self.since_sync += 1;
                if self.since_sync >= every_records {
                    self.sync_now()?;
                }
            }
        }
        Ok(())
    }

    fn publish_position(&self) {
        if let Some(s) = &self.syncer {
            let pos = (self.seg.index << POSITION_SHIFT) | self.write_pos as u64;
            s.shared.position.store(pos, Ordering::Release);
        }
    }

    /// `msync` everything appended since the last sync, now. Failure poisons the writer.
    pub fn sync_now(&mut self) -> Result<()> {
        self.check_health()?;
        let (from, to) = (self.synced_pos.min(self.write_pos), self.write_pos);
        if let Err(e) = self.seg.map.sync_range(from, to - from) {
            self.poisoned = true;
            return Err(JournalError::SyncFailed {
                path: self.seg.path.clone(),
                source: e,
            });
        }
        self.synced_pos = to;
        self.since_sync = 0;
        self.stats.syncs += 1;
        Ok(())
    }

    fn roll(&mut self, timestamp_ns: i64) -> Result<()> {
        let next_index = self.seg.index + 1;
        // The next segment must exist before the marker is published: a reader that sees
        // the marker opens it at once.
        let (next, waited) = match self.prealloc.as_mut().and_then(|p| p.take(next_index)) {
            Some((seg, waited)) => (seg?, waited),
            None => {
                let path = crate::segment::segment_path(&self.dir, next_index);
                let seg = if path.exists() {
                    WriteSegment::open(&self.dir, next_index)?
                } else {
                    WriteSegment::create(
                        &self.dir,
                        next_index,
                        self.opts.segment_bytes,
                        self.opts.index_stride_bytes,
                    )?
                };
                (seg, true)
            }
        };
        let seq = self.last_sequence.unwrap_or(0);
        let marker_at = self.write_pos;
        if marker_at + RECORD_HEADER_BYTES > self.seg.map.len() {
            // Every record is checked to leave room for the marker (appends here, and
            // `check_at` for recovered ones), so this is a broken invariant, not bad input.
            return Err(JournalError::Corrupt {
                path: self.seg.path.clone(),
                offset: marker_at as u64,
                reason: "no room left for the end-of-segment marker".into(),
            });
        }
        let length = RECORD_HEADER_BYTES as u32;
        self.seg.map.claim(marker_at, length);
        let slot = self.seg.map.slot(marker_at, RECORD_HEADER_BYTES);
        encode_header_fields(slot, kind::END_OF_SEGMENT, seq, timestamp_ns);
        let crc = record_crc(length, &slot[CRC_FROM..]);
        slot[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        self.seg.map.publish(marker_at, length);
        self.write_pos = marker_at + RECORD_HEADER_BYTES;
        if !matches!(
            self.opts.durability,
            Durability::None | Durability::Async { .. }
        ) {
            self.sync_now()?;
        }
        let old = std::mem::replace(&mut self.seg, next);
        drop(old);
        self.write_pos = self.seg.header.records_offset as usize;
        self.synced_pos = self.write_pos;
        self.next_index_at = self.seg.header.records_offset as usize;
        self.max_payload = self.max_payload_for_active();
        self.stats.rolls += 1;
        if waited {
            self.stats.roll_waits += 1;
        }
        if let Some(s) = &self.syncer {
            s.track(self.seg.index, self.seg.path.clone(), self.seg.map.syncer());
            self.publish_position();
        }
        self.request_ahead();
        Ok(())
    }

    /// See `max_payload`.
    fn max_payload_for_active(&self) -> usize {
        let empty = |segment_bytes: u64, stride: u32| {
            let h = crate::format::SegmentHeader::new(0, segment_bytes, stride);
            (segment_bytes - h.records_offset) as usize
        };
        let room = empty(
            self.seg.header.segment_bytes,
            self.seg.header.index_stride_bytes,
        )
        .min(empty(self.opts.segment_bytes, self.opts.index_stride_bytes));
        // A record plus the marker must fit: align_up(32 + len) + 32 <= room.
        let by_segment = (room - 2 * RECORD_HEADER_BYTES) & !(crate::format::RECORD_ALIGN - 1);
        by_segment.min(MAX_RECORD_BYTES as usize - RECORD_HEADER_BYTES)
    }

    fn too_large(&self, len: usize) -> JournalError {
        JournalError::TooLarge {
            payload_bytes: len,
            segment_bytes: self.seg.header.segment_bytes,
        }
    }

    /// Keep `prepared_segments` segments requested ahead of the active one (skipping
    /// segments that already exist on disk, prepared by an earlier run).
    fn request_ahead(&mut self) {
        let Some(p) = &mut self.prealloc else { return };
        for next in self.seg.index + 1..=self.seg.index + self.opts.prepared_segments as u64 {
            p.request(next);
        }
    }

    /// Block until the segments being prepared in the background are ready. Call it at
    /// start-up, before going live, so that the first rolls find their segments pre-touched.
    pub fn wait_prepared(&mut self) {
        if let Some(p) = &mut self.prealloc {
            p.wait_all();
        }
    }

    /// Where the next record will go.
    pub fn position(&self) -> Position {
        Position {
            segment: self.seg.index,
            offset: self.write_pos as u64,
        }
    }

    /// Sequence of the last record appended (or recovered).
    pub fn last_sequence(&self) -> Option<u64> {
        self.last_sequence
    }

    /// Timestamp of the last record appended (or recovered); 0 for an empty journal.
    pub fn last_timestamp_ns(&self) -> i64 {
        self.last_timestamp_ns
    }

    /// The [`ContentHash`] of the records this writer appended (manifest and marks
    /// included): of the whole journal when the writer created it.
    pub fn appended_hash(&self) -> ContentHash {
        self.appended
    }

    /// The journal's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Counters.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// The journal directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stop the helper threads, `msync` everything and release the lock.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        self.prealloc.take();
        if let Some(mut s) = self.syncer.take() {
            s.stop();
            if s.shared.poisoned.load(Ordering::Acquire) {
                self.syncer = Some(s);
                return self.check_health();
            }
        }
        if self.poisoned {
            return Err(JournalError::Poisoned);
        }
        self.sync_now()
    }
}

impl Drop for JournalWriter {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            tracing::error!("closing journal {}: {e}", self.dir.display());
        }
    }
}

/// Where the first record of the next unindexed bucket may start, after recovery.
fn next_index_at(seg: &WriteSegment, last_bucket: Option<u64>) -> usize {
    let ro = seg.header.records_offset as usize;
    let stride = seg.header.index_stride_bytes as usize;
    last_bucket.map_or(ro, |b| ro + (b as usize + 1) * stride)
}

fn check_user_kind(kind: u16) -> Result<()> {
    if kind < FIRST_USER_KIND {
        return Err(JournalError::AppendRefused {
            reason: format!(
                "kind {kind} is reserved for the journal (user kinds start at {FIRST_USER_KIND})"
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A failed background `msync` poisons the writer: the next append reports the failure
    /// (naming the file), every later one is refused, and close fails too.
    #[test]
    fn a_failed_async_msync_poisons_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let opts = JournalOptions {
            segment_bytes: 1 << 20,
            durability: Durability::Async {
                interval: Duration::from_secs(3600),
            },
            ..Default::default()
        };
        let (mut w, _) = JournalWriter::open(dir.path(), opts, &Manifest::new("t", "c")).unwrap();
        w.append(FIRST_USER_KIND, 1, 0, b"ok").unwrap();
        // Inject what the syncer thread does when msync fails.
        let shared = std::sync::Arc::clone(&w.syncer.as_ref().unwrap().shared);
        *shared.failure.lock().unwrap() = Some((
            dir.path().join("x.seg"),
            std::io::Error::other("injected EIO"),
        ));
        shared.poisoned.store(true, Ordering::Release);
        let err = w.append(FIRST_USER_KIND, 2, 0, b"no").unwrap_err();
        assert!(matches!(err, JournalError::SyncFailed { .. }), "{err}");
        assert!(err.to_string().contains("x.seg") && err.to_string().contains("injected EIO"));
        assert!(matches!(
            w.append(FIRST_USER_KIND, 3, 0, b"no"),
            Err(JournalError::Poisoned)
        ));
        assert!(matches!(w.sync_now(), Err(JournalError::Poisoned)));
        assert!(w.close().is_err());
        // Nothing after the failure was written.
        let mut r = crate::JournalReader::open(dir.path()).unwrap();
        assert_eq!(r.next().unwrap().unwrap().sequence, 1);
        assert!(r.next().unwrap().is_none());
    }
}
