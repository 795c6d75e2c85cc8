//! Writer options and the durability policy.

use std::time::Duration;

use crate::error::{JournalError, Result};
use crate::format::{MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES, PAGE_BYTES, RECORD_ALIGN};

/// When committed records are forced to stable storage with `msync`.
///
/// Records are visible to readers (in any process) as soon as they are appended, in every
/// mode; durability is only about surviving a machine or kernel crash. A process crash
/// (SIGKILL) loses nothing in any mode: the page cache keeps what was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Never `msync` except on close and roll; the kernel writes back in its own time.
    None,
    /// A background thread `msync`s what was appended, every `interval`.
    Async { interval: Duration },
    /// The writer `msync`s synchronously after every `every_records` appends.
    Sync { every_records: u32 },
}

/// How a writer opens a journal.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// Size of each segment file; a multiple of 4096 between 64 KiB and 1 TiB.
    pub segment_bytes: u64,
    /// One sparse-index slot per this many bytes of segment; a multiple of 8.
    pub index_stride_bytes: u32,
    /// The durability policy.
    pub durability: Durability,
    /// Prepare the next segments on a background thread (off the hot path).
    pub preallocate: bool,
    /// How many segments the background thread keeps prepared ahead of the writer (at
    /// least 1). Each is a pre-touched `segment_bytes` of page cache.
    pub prepared_segments: usize,
    /// Create the directory if it does not exist.
    pub create_dir: bool,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 * 1024 * 1024,
            index_stride_bytes: 4096,
            durability: Durability::None,
            preallocate: true,
            prepared_segments: 2,
            create_dir: true,
        }
    }
}

impl JournalOptions {
    /// Check every field; the error names the field and why.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_SEGMENT_BYTES..=MAX_SEGMENT_BYTES).contains(&self.segment_bytes)
            || !self.segment_bytes.is_multiple_of(PAGE_BYTES)
        {
            return Err(JournalError::BadOption {
                key: "segment_bytes",
                reason: format!(
                    "{} must be a multiple of {PAGE_BYTES} between {MIN_SEGMENT_BYTES} and {MAX_SEGMENT_BYTES}",
                    self.segment_bytes
                ),
            });
        }
        if self.index_stride_bytes < 256
            || !(self.index_stride_bytes as usize).is_multiple_of(RECORD_ALIGN)
        {
            return Err(JournalError::BadOption {
                key: "index_stride_bytes",
                reason: format!(
                    "{} must be a multiple of 8 and at least 256",
                    self.index_stride_bytes
                ),
            });
        }
        if !(1..=64).contains(&self.prepared_segments) {
            return Err(JournalError::BadOption {
                key: "prepared_segments",
                reason: format!("{} must be between 1 and 64", self.prepared_segments),
            });
        }
        match self.durability {
            Durability::Sync { every_records: 0 } => Err(JournalError::BadOption {
                key: "durability",
                reason: "sync every 0 records".into(),
            }),
            Durability::Async { interval } if interval.is_zero() => Err(JournalError::BadOption {
                key: "durability",
                reason: "async interval of 0".into(),
            }),
            _ => Ok(()),
        }
    }
}

impl std::str::FromStr for Durability {
    type Err = String;
    /// `none`, `async` (10 ms), `async:MS`, `sync` (every record), `sync:N`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (name, arg) = s.split_once(':').map_or((s, None), |(a, b)| (a, Some(b)));
        let num = |d: u64| -> std::result::Result<u64, String> {
            arg.map_or(Ok(d), |a| {
                a.parse().map_err(|_| format!("{a:?} is not a number"))
            })
        };
        match name {
            "none" if arg.is_none() => Ok(Self::None),
            "async" => Ok(Self::Async {
                interval: Duration::from_millis(num(10)?),
            }),
            "sync" => Ok(Self::Sync {
                every_records: u32::try_from(num(1)?).map_err(|_| "count too large".to_string())?,
            }),
            _ => Err(format!(
                "unknown durability {s:?}: expected none, async[:MS] or sync[:N]"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_parses() {
        assert_eq!("none".parse(), Ok(Durability::None));
        assert_eq!("sync:8".parse(), Ok(Durability::Sync { every_records: 8 }));
        assert_eq!(
            "async:5".parse(),
            Ok(Durability::Async {
                interval: Duration::from_millis(5)
            })
        );
        assert!("fast".parse::<Durability>().is_err());
    }

    #[test]
    fn bad_options_are_named() {
        let o = JournalOptions {
            segment_bytes: 1000,
            ..Default::default()
        };
        assert!(o
            .validate()
            .unwrap_err()
            .to_string()
            .contains("segment_bytes"));
    }
}
