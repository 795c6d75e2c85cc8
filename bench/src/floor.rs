//! The raw floor: the cheapest possible "append" and "read" on the same storage medium.
//!
//! A plain file of exactly the payload bytes a run copies, created in the same directory,
//! filled with real zero bytes (so its blocks are allocated, like a preallocated segment),
//! mapped shared and read-write, and pre-touched by writing every page before any timing. An
//! append is then a bare `copy_from_slice` of the payload at consecutive offsets (stride =
//! payload size, no header, no padding, no checksum); a read is one byte per event at the
//! same stride. The harness sizes the file so that a run never wraps (the wrap below is only
//! a guard), so the floor writes as much fresh memory as it copies, like the journal.
#![allow(
    unsafe_code,
    reason = "memmap2's map constructors are unsafe; the floor needs a raw mapped file"
)]

use std::fs::{File, OpenOptions};
use std::hint::black_box;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use memmap2::{Mmap, MmapMut};

const PAGE: usize = 4096;

/// A pre-touched, writable, shared mapping of a plain file.
#[derive(Debug)]
pub struct Floor {
    path: PathBuf,
    map: MmapMut,
    pos: usize,
}

impl Floor {
    /// Create `path` with `bytes` zero bytes, map it and pre-touch every page.
    pub fn create(path: &Path, bytes: usize) -> Result<Self> {
        ensure!(
            bytes >= PAGE && bytes & (PAGE - 1) == 0,
            "floor size {bytes} must be whole pages"
        );
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("create floor file {}", path.display()))?;
        let chunk = vec![0u8; 1 << 20];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            file.write_all(&chunk[..n])
                .with_context(|| format!("fill floor file {}", path.display()))?;
            left -= n;
        }
        file.sync_all()
            .with_context(|| format!("sync floor file {}", path.display()))?;
        // SAFETY: the file was created (truncated) by us just above, in a private benchmark
        // directory; no other process maps or truncates it while this mapping lives.
        let mut map = unsafe { MmapMut::map_mut(&file) }
            .with_context(|| format!("mmap floor file {}", path.display()))?;
        ensure!(
            map.len() == bytes,
            "floor mapping is {} bytes, wanted {bytes}",
            map.len()
        );
        let mut at = 0;
        while at < bytes {
            // Write every page (a byte per page) so page cache, blocks and writable page-table
            // entries all exist before the timed loops.
            map[at] = black_box(0);
            at += PAGE;
        }
        Ok(Self {
            path: path.to_path_buf(),
            map,
            pos: 0,
        })
    }

    /// Size of the mapping.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the mapping is empty (never, once created).
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Restart appends at offset 0.
    pub fn rewind(&mut self) {
        self.pos = 0;
    }

    /// The floor "append": copy `payload` to the next position, wrapping at the end.
    #[inline(always)]
    pub fn append(&mut self, payload: &[u8]) {
        let len = payload.len();
        if self.pos + len > self.map.len() {
            self.pos = 0;
        }
        self.map[self.pos..self.pos + len].copy_from_slice(payload);
        self.pos += len;
    }

    /// Map the same file afresh, read-only, as a reader process would.
    pub fn reader(&self) -> Result<FloorReader> {
        let file = File::open(&self.path)
            .with_context(|| format!("open floor file {}", self.path.display()))?;
        // SAFETY: as in `create`: our own private file, never truncated while mapped; the
        // writable mapping above is not written while this one is read (single thread).
        let map = unsafe { Mmap::map(&file) }
            .with_context(|| format!("mmap floor file {} (read)", self.path.display()))?;
        Ok(FloorReader { map })
    }
}

/// A fresh read-only mapping of the floor file.
#[derive(Debug)]
pub struct FloorReader {
    map: Mmap,
}

impl FloorReader {
    /// Touch `events` payloads of `size` bytes at consecutive offsets (wrapping like the
    /// writer), summing the first byte of each; returns the sum (feed it to `black_box`).
    #[inline(never)]
    pub fn scan(&self, events: u64, size: usize) -> u64 {
        let mut sum = 0u64;
        let mut pos = 0usize;
        let bytes: &[u8] = &self.map;
        for _ in 0..events {
            if pos + size > bytes.len() {
                pos = 0;
            }
            sum = sum.wrapping_add(u64::from(black_box(bytes[pos])));
            pos += size;
        }
        sum
    }
}
