//! Typed errors. Every variant that concerns a place on disk names the file and, where it
//! has one, the byte offset.

use std::path::PathBuf;

/// What can go wrong opening, writing or reading a journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O call failed.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The journal directory does not exist (readers never create it).
    #[error("{path}: journal directory does not exist")]
    MissingDirectory { path: PathBuf },
    /// The journal path exists but is not a directory.
    #[error("{path}: not a directory (a journal is a directory of segment files)")]
    NotADirectory { path: PathBuf },
    /// The directory holds no segment file.
    #[error("{path}: no journal segments in this directory")]
    Empty { path: PathBuf },
    /// Another process holds the writer lock.
    #[error("{path}: journal is locked by another writer{}", holder.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked { path: PathBuf, holder: Option<u32> },
    /// A segment header is unreadable, of another version, or inconsistent.
    #[error("{path}: offset 0: {reason}")]
    BadSegment { path: PathBuf, reason: String },
    /// Segment files are missing from the middle of the sequence.
    #[error("{path}: segment {missing} is missing (segments must be contiguous)")]
    MissingSegment { path: PathBuf, missing: u64 },
    /// A record failed its checks. It is never returned to the caller.
    #[error("{path}: offset {offset}: corrupt record: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// Recovery found a corrupt record with committed data after it and refused to cut.
    #[error(
        "{path}: offset {offset}: corrupt record with {bytes_after} bytes of data after it: {reason}; \
         refusing to truncate what may be committed records (run `tickrail journal verify`)"
    )]
    CorruptMiddle {
        path: PathBuf,
        offset: u64,
        bytes_after: u64,
        reason: String,
    },
    /// The configuration is out of range.
    #[error("invalid journal option {key}: {reason}")]
    BadOption { key: &'static str, reason: String },
    /// An append was refused before anything was written.
    #[error("append refused: {reason}")]
    AppendRefused { reason: String },
    /// The payload cannot fit in one segment.
    #[error(
        "record of {payload_bytes} payload bytes cannot fit in a segment of {segment_bytes} bytes"
    )]
    TooLarge {
        payload_bytes: usize,
        segment_bytes: u64,
    },
    /// `msync` failed. The writer is poisoned: a retried sync can lie (fsyncgate), so no
    /// further append succeeds.
    #[error("{path}: msync failed, journal writer is poisoned: {source}")]
    SyncFailed {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The writer was poisoned by an earlier sync failure.
    #[error("journal writer is poisoned by an earlier msync failure")]
    Poisoned,
    /// The first record is not a valid manifest.
    #[error("{path}: offset {offset}: bad manifest: {reason}")]
    BadManifest {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    /// The existing journal was written with another configuration.
    #[error("journal manifest mismatch on {key}: journal has {journal:?}, this run has {ours:?}")]
    ManifestMismatch {
        key: String,
        journal: String,
        ours: String,
    },
}

impl JournalError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// Shorthand result.
pub type Result<T, E = JournalError> = std::result::Result<T, E>;
