//! Memory-mapped segment files: the only module of the journal with `unsafe` code.
//!
//! A mapping is accessed through its raw base pointer, never through a `&[u8]` of the whole
//! file, because other threads or processes write to the unpublished part while we read the
//! published part. Slices are only formed over byte ranges that are immutable for their
//! lifetime: a committed record (for readers) or an unpublished slot owned by the single
//! writer (for the writer).
#![allow(
    unsafe_code,
    reason = "raw access to shared memory maps; each block says why it is sound"
)]

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::{Mmap, MmapMut, MmapOptions};

use crate::commit::{self, Word};
use crate::error::{JournalError, Result};

/// Read-only view of a segment file, shared with a writer that may be appending.
#[derive(Debug)]
pub struct ReadMap {
    map: Mmap,
}

impl ReadMap {
    /// Map `file` read-only and shared.
    pub fn open(file: &File, path: &Path) -> Result<Self> {
        // SAFETY: the journal's files are only ever modified by appending committed records
        // (and by recovery zeroing an uncommitted tail); they are never truncated while
        // mapped. We never form references to unpublished bytes.
        // MAP_POPULATE: map what is in the page cache now, in one call, instead of one fault
        // per 64 KiB of a sequential scan.
        let map = unsafe { MmapOptions::new().populate().map(file) }
            .map_err(|e| JournalError::io(path, "mmap (read)", e))?;
        Ok(Self { map })
    }

    /// Length of the mapping.
    #[inline]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Acquire-load the length word at `offset` (a relaxed load and an acquire fence: the
    /// mapping is read-only, see [`commit::observe_read_only`]).
    #[inline]
    pub fn word(&self, offset: usize) -> Word {
        assert!(offset.is_multiple_of(4) && in_bounds(offset, 4, self.map.len()));
        // SAFETY: 4-aligned and in bounds (asserted; the mapping is page-aligned) and alive
        // as long as `self`. The memory is mapped read-only: std's atomic docs ("Atomic
        // accesses to read-only memory") allow relaxed loads of register-sized atomics there,
        // which is all `observe_read_only` does. The writer stores this word atomically.
        let word = unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU32) };
        commit::observe_read_only(word)
    }

    /// Load a u64 (sparse-index slots): relaxed, then an acquire fence.
    #[inline]
    pub fn load_u64(&self, offset: usize) -> u64 {
        assert!(offset.is_multiple_of(8) && in_bounds(offset, 8, self.map.len()));
        // SAFETY: as in `word`: aligned, in bounds, a relaxed load of read-only memory; the
        // writer stores index slots atomically.
        let cell = unsafe { &*(self.map.as_ptr().add(offset) as *const AtomicU64) };
        let v = cell.load(Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Acquire);
        v
    }

    /// Bytes `[offset, offset + len)`. Callers ask for bytes of a record whose commit bit they
    /// observed (immutable from then on), or of a segment no writer is appending to (verify,
    /// recovery); see the crate docs for the one exception (a stale index hint).
    #[inline]
    pub fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        assert!(
            in_bounds(offset, len, self.map.len()),
            "read past the end of the segment"
        );
        // SAFETY: in bounds (asserted); published bytes are never written again, so no
        // mutable access aliases this shared slice.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(offset), len) }
    }
}

/// `offset + len <= total` without overflow.
#[inline]
fn in_bounds(offset: usize, len: usize, total: usize) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= total)
}

/// The writer's mapping of a segment file.
#[derive(Debug)]
pub struct WriteMap {
    map: Arc<MmapMut>,
    base: *mut u8,
    len: usize,
}

// SAFETY: `base` points into `map`, which is owned and moves with the struct; the mapping
// is process-wide memory, valid on any thread.
unsafe impl Send for WriteMap {}

impl WriteMap {
    /// Map `file` read-write and shared.
    pub fn open(file: &File, path: &Path) -> Result<Self> {
        // SAFETY: we hold the journal's writer lock, so no other process writes this file;
        // the file is never truncated while mapped.
        let mut map = unsafe { MmapOptions::new().map_mut(file) }
            .map_err(|e| JournalError::io(path, "mmap (write)", e))?;
        let base = map.as_mut_ptr();
        let len = map.len();
        Ok(Self {
            map: Arc::new(map),
            base,
            len,
        })
    }

    /// Length of the mapping.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Make every page from `from` on resident and writable in this mapping, so that the
    /// hot path never takes a page fault: one `madvise(MADV_POPULATE_WRITE)` (Linux 5.14+),
    /// or a write of one byte per page where the kernel lacks it.
    pub fn pre_touch(&mut self, from: usize) {
        let page = crate::format::PAGE_BYTES as usize;
        let start = from.div_ceil(page) * page;
        if start >= self.len {
            return;
        }
        // SAFETY: the range is inside our mapping; MADV_POPULATE_WRITE only faults pages in
        // (it does not change their contents).
        let rc = unsafe {
            libc::madvise(
                self.base.add(start) as *mut libc::c_void,
                self.len - start,
                libc::MADV_POPULATE_WRITE,
            )
        };
        if rc == 0 {
            return;
        }
        let mut at = start;
        while at < self.len {
            // SAFETY: in bounds; the segment is not yet handed to the writer, so nobody else
            // reads these bytes; a volatile read-modify-write of a byte keeps its value.
            unsafe {
                let p = self.base.add(at);
                std::ptr::write_volatile(p, std::ptr::read_volatile(p));
            }
            at += page;
        }
    }

    /// Copy `src` to `offset`.
    #[inline]
    pub fn write(&mut self, offset: usize, src: &[u8]) {
        assert!(
            offset + src.len() <= self.len,
            "write past the end of the segment"
        );
        // SAFETY: in bounds (asserted); `&mut self` means only the writer writes; readers do
        // not read unpublished bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), self.base.add(offset), src.len()) }
    }

    /// Mutable view of `[offset, offset + len)`: an unpublished slot owned by the writer.
    #[inline]
    pub fn slot(&mut self, offset: usize, len: usize) -> &mut [u8] {
        assert!(
            in_bounds(offset, len, self.len),
            "slot past the end of the segment"
        );
        // SAFETY: in bounds (asserted); the range is not published yet, so no reader reads
        // it, and `&mut self` makes it the only reference in this process.
        unsafe { std::slice::from_raw_parts_mut(self.base.add(offset), len) }
    }

    /// Read `[offset, offset + len)` (the writer's own bytes).
    #[inline]
    pub fn bytes(&self, offset: usize, len: usize) -> &[u8] {
        assert!(
            in_bounds(offset, len, self.len),
            "read past the end of the segment"
        );
        // SAFETY: in bounds; only this writer mutates the mapping and it needs `&mut self` to
        // do so, which cannot coexist with this borrow.
        unsafe { std::slice::from_raw_parts(self.base.add(offset), len) }
    }

    /// Publish a record by release-storing its length word (see [`crate::commit`]).
    #[inline]
    pub fn publish(&mut self, offset: usize, length: u32) {
        assert!(offset.is_multiple_of(4) && in_bounds(offset, 4, self.len));
        // SAFETY: aligned and in bounds (asserted; the base is page-aligned) in a writable
        // mapping that lives as long as `self`. Readers access this word atomically; recovery
        // (holding the lock, before any append) zeroes a cut tail starting with this word.
        let word = unsafe { AtomicU32::from_ptr(self.base.add(offset) as *mut u32) };
        commit::publish(word, length);
    }

    /// Store 0 into the length word at `offset` (recovery, before zeroing a cut tail).
    #[inline]
    pub fn publish_zero(&mut self, offset: usize) {
        assert!(offset.is_multiple_of(4) && in_bounds(offset, 4, self.len));
        // SAFETY: as in `publish`.
        let word = unsafe { AtomicU32::from_ptr(self.base.add(offset) as *mut u32) };
        word.store(0, Ordering::Release);
    }

    /// Claim the slot at `offset` for a record of `length` bytes (see [`crate::commit`]).
    #[inline]
    pub fn claim(&mut self, offset: usize, length: u32) {
        assert!(offset.is_multiple_of(4) && in_bounds(offset, 4, self.len));
        // SAFETY: as in `publish`.
        let word = unsafe { AtomicU32::from_ptr(self.base.add(offset) as *mut u32) };
        commit::claim(word, length);
    }

    /// Store a u64 atomically (sparse-index slots, read by other processes as hints).
    #[inline]
    pub fn store_u64(&mut self, offset: usize, value: u64, order: Ordering) {
        assert!(offset.is_multiple_of(8) && in_bounds(offset, 8, self.len));
        // SAFETY: 8-aligned (asserted, page-aligned base) and in bounds; readers access index
        // slots only atomically.
        let cell = unsafe { AtomicU64::from_ptr(self.base.add(offset) as *mut u64) };
        cell.store(value, order);
    }

    /// Acquire-load the length word at `offset` (used by recovery).
    #[inline]
    pub fn word(&self, offset: usize) -> Word {
        assert!(offset.is_multiple_of(4) && in_bounds(offset, 4, self.len));
        // SAFETY: as in `publish`.
        let word = unsafe { AtomicU32::from_ptr(self.base.add(offset) as *mut u32) };
        commit::observe(word)
    }

    /// Flush `[offset, offset + len)` to the file with `msync(MS_SYNC)`.
    pub fn sync_range(&self, offset: usize, len: usize) -> std::io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        self.map.flush_range(offset, len)
    }

    /// A handle that can `msync` this mapping from another thread; it keeps the mapping
    /// alive for as long as it exists.
    pub fn syncer(&self) -> Syncer {
        Syncer {
            map: Arc::clone(&self.map),
        }
    }
}

/// Lets a background thread `msync` a writer's mapping.
#[derive(Debug, Clone)]
pub struct Syncer {
    map: Arc<MmapMut>,
}

impl Syncer {
    /// `msync(MS_SYNC)` of `[offset, offset + len)`.
    pub fn sync_range(&self, offset: usize, len: usize) -> std::io::Result<()> {
        let end = (offset + len).min(self.map.len());
        if end <= offset {
            return Ok(());
        }
        // memmap2 rounds the start down to a page and calls msync(MS_SYNC); it forms no
        // reference to the bytes, so it does not alias the writer's stores.
        self.map.flush_range(offset, end - offset)
    }
}

/// Reserve the blocks of `[0, len)` so that writes through a mapping cannot hit ENOSPC
/// (which would arrive as SIGBUS). Falls back to `set_len` where the filesystem cannot.
pub fn preallocate(file: &File, path: &Path, len: u64) -> Result<()> {
    use std::os::fd::AsRawFd;
    let off_len = libc::off_t::try_from(len).map_err(|_| JournalError::BadOption {
        key: "segment_bytes",
        reason: format!("{len} does not fit the platform's file offset"),
    })?;
    // SAFETY: plain syscall on a descriptor we own for the duration of the call.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, off_len) };
    match rc {
        0 => Ok(()),
        libc::EOPNOTSUPP | libc::EINVAL => file
            .set_len(len)
            .map_err(|e| JournalError::io(path, "set_len", e)),
        errno => Err(JournalError::io(
            path,
            "posix_fallocate",
            std::io::Error::from_raw_os_error(errno),
        )),
    }
}
