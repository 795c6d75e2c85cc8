//! Segment files: naming, listing, creating (preallocated, pre-touched, then renamed into
//! place so that a segment file is never seen half-made) and opening.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{JournalError, Result};
use crate::format::{
    parse_segment_file_name, segment_file_name, SegmentHeader, SEGMENT_HEADER_BYTES,
};
use crate::mapped::{preallocate, ReadMap, WriteMap};

/// Sorted indices of the segment files in `dir`, checked to be contiguous.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>> {
    if !dir.is_dir() {
        return Err(if dir.exists() {
            JournalError::NotADirectory {
                path: dir.to_path_buf(),
            }
        } else {
            JournalError::MissingDirectory {
                path: dir.to_path_buf(),
            }
        });
    }
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "read_dir", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(dir, "read_dir", e))?;
        if let Some(i) = entry.file_name().to_str().and_then(parse_segment_file_name) {
            out.push(i);
        }
    }
    out.sort_unstable();
    for w in out.windows(2) {
        if w[1] != w[0] + 1 {
            return Err(JournalError::MissingSegment {
                path: dir.to_path_buf(),
                missing: w[0] + 1,
            });
        }
    }
    Ok(out)
}

/// Path of segment `index` in `dir`.
pub fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(segment_file_name(index))
}

/// Remove half-made segment files (`*.seg.tmp`) left by a crash during preallocation.
pub fn remove_temporaries(dir: &Path) -> Result<usize> {
    let mut n = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "read_dir", e))?;
    for entry in entries {
        let entry = entry.map_err(|e| JournalError::io(dir, "read_dir", e))?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|s| s.ends_with(".seg.tmp")) {
            let p = entry.path();
            std::fs::remove_file(&p).map_err(|e| JournalError::io(&p, "remove", e))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Read and validate the header of segment file `path`, which must be segment `index`.
fn read_header(file: &File, path: &Path, index: u64) -> Result<SegmentHeader> {
    use std::os::unix::fs::FileExt;
    let len = file
        .metadata()
        .map_err(|e| JournalError::io(path, "stat", e))?
        .len();
    if len < SEGMENT_HEADER_BYTES as u64 {
        return Err(JournalError::BadSegment {
            path: path.to_path_buf(),
            reason: format!(
                "file is {len} bytes, shorter than the {SEGMENT_HEADER_BYTES}-byte segment header (truncated?)"
            ),
        });
    }
    let mut b = [0u8; SEGMENT_HEADER_BYTES];
    file.read_exact_at(&mut b, 0)
        .map_err(|e| JournalError::io(path, "read header", e))?;
    let header = SegmentHeader::decode(&b, len).map_err(|p| JournalError::BadSegment {
        path: path.to_path_buf(),
        reason: p.to_string(),
    })?;
    if header.segment_index != index {
        return Err(JournalError::BadSegment {
            path: path.to_path_buf(),
            reason: format!(
                "header says segment {}, file name says {index}",
                header.segment_index
            ),
        });
    }
    Ok(header)
}

/// Check the header of segment `index` without mapping it (recovery checks every segment).
pub fn check_segment(dir: &Path, index: u64) -> Result<SegmentHeader> {
    let path = segment_path(dir, index);
    let file = File::open(&path).map_err(|e| JournalError::io(&path, "open", e))?;
    read_header(&file, &path, index)
}

/// A segment mapped for reading.
#[derive(Debug)]
pub struct ReadSegment {
    pub index: u64,
    pub path: PathBuf,
    pub header: SegmentHeader,
    pub map: ReadMap,
}

impl ReadSegment {
    /// Open and validate segment `index` of `dir`.
    pub fn open(dir: &Path, index: u64) -> Result<Self> {
        let path = segment_path(dir, index);
        let file = File::open(&path).map_err(|e| JournalError::io(&path, "open", e))?;
        let header = read_header(&file, &path, index)?;
        let map = ReadMap::open(&file, &path)?;
        Ok(Self {
            index,
            path,
            header,
            map,
        })
    }
}

/// A segment mapped for writing.
#[derive(Debug)]
pub struct WriteSegment {
    pub index: u64,
    pub path: PathBuf,
    pub header: SegmentHeader,
    pub map: WriteMap,
}

impl WriteSegment {
    /// Open and validate an existing segment for writing.
    pub fn open(dir: &Path, index: u64) -> Result<Self> {
        let path = segment_path(dir, index);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "open", e))?;
        let header = read_header(&file, &path, index)?;
        let map = WriteMap::open(&file, &path)?;
        Ok(Self {
            index,
            path,
            header,
            map,
        })
    }

    /// Create segment `index`: write `NAME.seg.tmp`, reserve its blocks, write the header,
    /// map and pre-touch it, then rename it into place and make the name durable. Runs on the
    /// preallocation thread. On failure the temporary file is removed.
    pub fn create(
        dir: &Path,
        index: u64,
        segment_bytes: u64,
        index_stride_bytes: u32,
    ) -> Result<Self> {
        let path = segment_path(dir, index);
        let tmp = path.with_extension("seg.tmp");
        let made = Self::create_at(dir, &path, &tmp, index, segment_bytes, index_stride_bytes);
        if made.is_err() {
            // Leave nothing half-made behind, or every later attempt would hit EEXIST.
            let _ = std::fs::remove_file(&tmp);
        }
        made
    }

    fn create_at(
        dir: &Path,
        path: &Path,
        tmp: &Path,
        index: u64,
        segment_bytes: u64,
        index_stride_bytes: u32,
    ) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(|e| JournalError::io(tmp, "create", e))?;
        preallocate(&file, tmp, segment_bytes)?;
        let header = SegmentHeader::new(index, segment_bytes, index_stride_bytes);
        let mut map = WriteMap::open(&file, tmp)?;
        map.write(0, &header.encode());
        map.pre_touch(SEGMENT_HEADER_BYTES);
        map.sync_range(0, SEGMENT_HEADER_BYTES)
            .map_err(|e| JournalError::io(tmp, "msync header", e))?;
        std::fs::rename(tmp, path).map_err(|e| JournalError::io(path, "rename", e))?;
        // Make the new name durable: records msynced into this segment must not vanish with
        // its directory entry on power loss.
        sync_dir(dir)?;
        Ok(Self {
            index,
            path: path.to_path_buf(),
            header,
            map,
        })
    }
}

/// `fsync` a directory, making the names created in it durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| JournalError::io(dir, "fsync directory", e))
}
