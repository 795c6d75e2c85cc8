//! The stats file: a running engine's counters in a memory-mapped file that `tickrail stat`
//! (another process) reads live, in the spirit of Aeron's `cnc.dat` and AeronStat.
//!
//! The engine's main thread — never a hot thread — copies a snapshot of [`Counters`] and a few
//! gauges into the file about every 100 ms ([`snapshot`] then [`StatsWriter::publish`]). The
//! hot threads keep writing their own [`Counters`] and never see this file.
//!
//! # Layout (version [`LAYOUT_VERSION`])
//!
//! One page, [`FILE_BYTES`] long, fixed at create time. Integers are 64-bit words in the
//! host's byte order (writer and reader share the machine), at 8-aligned offsets:
//!
//! | offset | field | written |
//! |---|---|---|
//! | 0 | magic `b"TRSTATS1"` | once |
//! | 8 | layout version | once |
//! | 16 | pid of the engine | once |
//! | 24 | start time, wall clock, ns since the Unix epoch (i64) | once |
//! | 32 | value slots ([`MAX_VALUES`]) | once |
//! | 40 | bytes per label ([`LABEL_BYTES`]) | once |
//! | 48 | values in use (`count ≤ MAX_VALUES`) | once |
//! | 56 | file length ([`FILE_BYTES`]) | once |
//! | 64 | status: 1 running, 2 finished ([`Status`]) | atomically |
//! | 72 | seqlock sequence: odd while a publish is in progress, publishes = sequence / 2 | atomically |
//! | 128 | label table: `MAX_VALUES` × `LABEL_BYTES`, UTF-8, NUL-padded | once |
//! | 3200 | values: `MAX_VALUES` × i64 | atomically, under the seqlock |
//!
//! The file is built complete in `<path>.tmp` and renamed into place, so a reader never
//! sees a half-written header or label table: what is written "once" is immutable for the
//! life of the file, and the reader takes it with plain file reads at open. The file is
//! never truncated or resized while mapped.
//!
//! # Memory ordering (a seqlock)
//!
//! Writer ([`StatsWriter::publish`], one thread, `&mut self`):
//! 1. `sequence.store(s + 1, Relaxed)` then `fence(Release)`: the odd sequence is ordered
//!    before every value store that follows (a release *store* alone would not keep later
//!    stores from becoming visible before it);
//! 2. `value[i].store(v, Relaxed)` for each value;
//! 3. `sequence.store(s + 2, Release)`: every value store is ordered before the even sequence.
//!
//! Reader ([`StatsReader::read`]): `s1 = sequence.load(Relaxed)` + `fence(Acquire)` (an
//! acquire load on a read-only mapping, as in `tickrail_journal`'s `commit`), retry while
//! `s1` is odd; load the values `Relaxed`; `fence(Acquire)`; `s2 = sequence.load(Relaxed)`;
//! keep the values only if `s1 == s2`. If a value load saw any store of a later publish,
//! the acquire fence after the value loads synchronises with that publish's release fence,
//! so `s2` sees its odd sequence (or later) and the read is retried: a torn snapshot is
//! never returned. Retries are bounded ([`READ_ATTEMPTS`]); a reader that keeps losing the
//! race gets `None` and tries again later.
//!
//! Status: [`StatsWriter::finish`] publishes the last values, then stores `finished` with
//! `Release`; the reader loads the status (relaxed + acquire fence) *before* the values, so
//! a snapshot whose status is finished holds the final values.
#![allow(
    unsafe_code,
    reason = "mapping the stats file and atomics over the mapping; each block says why it is sound"
)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{fence, AtomicU64, Ordering};

use memmap2::{Mmap, MmapMut, MmapOptions};

use super::counters::{get, Counters, RISK_CODES};
use super::wait::{Idle, WaitKind};
use crate::event::RiskCode;

/// The first eight bytes of every stats file.
pub const MAGIC: [u8; 8] = *b"TRSTATS1";
/// The layout described in the module docs; bumped on any change to it.
pub const LAYOUT_VERSION: u64 = 1;
/// Value slots in a file (labels beyond are refused at create).
pub const MAX_VALUES: usize = 64;
/// Bytes of a label's slot; a label is at most this long (UTF-8, no NUL).
pub const LABEL_BYTES: usize = 48;
/// The stats file's name in a run directory (`<run_dir>/stats`).
pub const STATS_FILE_NAME: &str = "stats";

const MAGIC_OFFSET: usize = 0;
const VERSION_OFFSET: usize = 8;
const PID_OFFSET: usize = 16;
const START_OFFSET: usize = 24;
const CAPACITY_OFFSET: usize = 32;
const LABEL_BYTES_OFFSET: usize = 40;
const COUNT_OFFSET: usize = 48;
const FILE_BYTES_OFFSET: usize = 56;
const STATUS_OFFSET: usize = 64;
const SEQUENCE_OFFSET: usize = 72;
const LABELS_OFFSET: usize = 128;
const VALUES_OFFSET: usize = LABELS_OFFSET + MAX_VALUES * LABEL_BYTES;
const VALUES_END: usize = VALUES_OFFSET + MAX_VALUES * 8;
/// Length of every stats file (one page).
pub const FILE_BYTES: usize = 4096;

const _: () = assert!(VALUES_OFFSET.is_multiple_of(8) && STATUS_OFFSET.is_multiple_of(8));
const _: () = assert!(SEQUENCE_OFFSET + 8 <= LABELS_OFFSET);
const _: () = assert!(VALUES_END <= FILE_BYTES);
// The offsets in the module docs.
const _: () = assert!(LABELS_OFFSET == 128 && VALUES_OFFSET == 3200);
const _: () = assert!(LABEL_BYTES.is_multiple_of(8));

const STATUS_RUNNING: u64 = 1;
const STATUS_FINISHED: u64 = 2;

/// Attempts of [`StatsReader::read`] before it gives up on a busy writer.
pub const READ_ATTEMPTS: u32 = 10_000;

/// Why a stats file could not be created or opened.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A file operation failed.
    #[error("stats file {path}: {op}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file does not start with [`MAGIC`]: not a stats file.
    #[error(
        "stats file {path}: not a tickrail stats file (magic {found:?}, expected \"TRSTATS1\")"
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Its first eight bytes, escaped.
        found: String,
    },
    /// A stats file of another layout version.
    #[error("stats file {path}: layout version {found}, this binary reads version {expected}")]
    Version {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u64,
        /// Ours.
        expected: u64,
    },
    /// The file is shorter than the layout.
    #[error("stats file {path}: truncated ({len} bytes, the layout needs {need})")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
        /// [`FILE_BYTES`].
        need: usize,
    },
    /// A header field or label is inconsistent with the layout.
    #[error("stats file {path}: corrupt at offset {offset}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A label given to [`StatsWriter::create`] does not fit the layout.
    #[error("stats label {label:?}: {reason}")]
    BadLabel {
        /// The label.
        label: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// More labels than [`MAX_VALUES`].
    #[error("{count} stats labels, the layout holds {max}")]
    TooManyLabels {
        /// Labels given.
        count: usize,
        /// [`MAX_VALUES`].
        max: usize,
    },
}

impl StatsError {
    fn io(path: &Path, op: &'static str, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    }
}

/// The engine's state as the stats file says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The engine is publishing.
    Running,
    /// The engine finished (or its writer was dropped): the values are final.
    Finished,
    /// A status word this binary does not know.
    Unknown(u64),
}

impl Status {
    fn from_raw(raw: u64) -> Self {
        match raw {
            STATUS_RUNNING => Self::Running,
            STATUS_FINISHED => Self::Finished,
            other => Self::Unknown(other),
        }
    }
}

/// Checks `label` fits a label slot.
fn check_label(label: &str) -> Result<(), StatsError> {
    let bad = |reason| {
        Err(StatsError::BadLabel {
            label: label.to_owned(),
            reason,
        })
    };
    if label.is_empty() {
        return bad("empty");
    }
    if label.len() > LABEL_BYTES {
        return bad("longer than 48 bytes");
    }
    if label.bytes().any(|b| b == 0 || b.is_ascii_control()) {
        return bad("contains a control character");
    }
    Ok(())
}

/// `offset + len <= total` without overflow.
#[inline]
fn in_bounds(offset: usize, len: usize, total: usize) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= total)
}

/// The header and label table, as created (the immutable part of the file).
fn build_image(labels: &[&str], pid: u32, start_wall_ns: i64) -> Vec<u8> {
    let mut image = vec![0u8; FILE_BYTES];
    let mut put = |offset: usize, v: u64| {
        image[offset..offset + 8].copy_from_slice(&v.to_ne_bytes());
    };
    put(VERSION_OFFSET, LAYOUT_VERSION);
    put(PID_OFFSET, u64::from(pid));
    put(START_OFFSET, start_wall_ns as u64);
    put(CAPACITY_OFFSET, MAX_VALUES as u64);
    put(LABEL_BYTES_OFFSET, LABEL_BYTES as u64);
    put(COUNT_OFFSET, labels.len() as u64);
    put(FILE_BYTES_OFFSET, FILE_BYTES as u64);
    put(STATUS_OFFSET, STATUS_RUNNING);
    put(SEQUENCE_OFFSET, 0);
    image[MAGIC_OFFSET..MAGIC_OFFSET + 8].copy_from_slice(&MAGIC);
    for (i, label) in labels.iter().enumerate() {
        let at = LABELS_OFFSET + i * LABEL_BYTES;
        image[at..at + label.len()].copy_from_slice(label.as_bytes());
    }
    image
}

/// Publishes a fixed set of named values to a stats file; one per running engine, used by
/// its main thread.
#[derive(Debug)]
pub struct StatsWriter {
    map: MmapMut,
    path: PathBuf,
    count: usize,
    /// The sequence word as last stored (only this writer stores it).
    sequence: u64,
    finished: bool,
}

impl StatsWriter {
    /// Creates the stats file at `path` (replacing any; its directory is created if need
    /// be) with `labels` (fixed for the file's
    /// life; at most [`MAX_VALUES`], each at most [`LABEL_BYTES`] bytes), this process's pid
    /// and `start_wall_ns` (wall clock, ns since the Unix epoch, from the caller's clock
    /// seam). Values start at 0, status running. Start-up only: allocates and does I/O.
    pub fn create(
        path: &Path,
        labels: &[&str],
        start_wall_ns: i64,
    ) -> Result<StatsWriter, StatsError> {
        if labels.len() > MAX_VALUES {
            return Err(StatsError::TooManyLabels {
                count: labels.len(),
                max: MAX_VALUES,
            });
        }
        labels.iter().try_for_each(|l| check_label(l))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StatsError::io(dir, "create directory", e))?;
        }
        let image = build_image(labels, std::process::id(), start_wall_ns);
        let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let map = (|| {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)
                .map_err(|e| StatsError::io(&tmp, "create", e))?;
            file.write_all(&image)
                .map_err(|e| StatsError::io(&tmp, "write", e))?;
            // SAFETY: the file is ours (just created under a temporary name, then renamed
            // into place); it is never truncated or resized while mapped, and every access
            // to the mapping after this goes through `word` (atomics).
            let map = unsafe { MmapOptions::new().len(FILE_BYTES).map_mut(&file) }
                .map_err(|e| StatsError::io(&tmp, "mmap", e))?;
            std::fs::rename(&tmp, path).map_err(|e| StatsError::io(path, "rename", e))?;
            Ok(map)
        })();
        if map.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(StatsWriter {
            map: map?,
            path: path.to_path_buf(),
            count: labels.len(),
            sequence: 0,
            finished: false,
        })
    }

    /// [`Self::create`] with [`STATS_LABELS`] (what [`snapshot`] fills).
    pub fn create_for_counters(path: &Path, start_wall_ns: i64) -> Result<Self, StatsError> {
        Self::create(path, &STATS_LABELS, start_wall_ns)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The atomic word at `offset` of the mapping.
    #[inline]
    fn word(&mut self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && in_bounds(offset, 8, self.map.len()));
        // SAFETY: 8-aligned (asserted; the mapping is page-aligned) and in bounds (asserted)
        // of a writable shared mapping that lives as long as the returned borrow of `self`.
        // Every access to these bytes, in this process or a reader's, is atomic.
        unsafe { AtomicU64::from_ptr(self.map.as_mut_ptr().add(offset).cast::<u64>()) }
    }

    /// Publishes `values` (one per label, in label order) under the seqlock (see the module
    /// docs). No allocation, no syscall: a few dozen stores to shared memory.
    pub fn publish(&mut self, values: &[i64]) {
        debug_assert_eq!(values.len(), self.count, "one value per label");
        debug_assert!(self.sequence.is_multiple_of(2));
        let n = values.len().min(self.count);
        let s = self.sequence;
        self.word(SEQUENCE_OFFSET)
            .store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (i, v) in values[..n].iter().enumerate() {
            self.word(VALUES_OFFSET + 8 * i)
                .store(*v as u64, Ordering::Relaxed);
        }
        self.sequence = s.wrapping_add(2);
        let even = self.sequence;
        self.word(SEQUENCE_OFFSET).store(even, Ordering::Release);
    }

    /// Marks the engine finished: a reader then shows the last published values as final.
    /// Publish the final values first. Idempotent; also done on drop.
    pub fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.word(STATUS_OFFSET)
                .store(STATUS_FINISHED, Ordering::Release);
        }
    }

    /// Publishes since create.
    pub fn publishes(&self) -> u64 {
        self.sequence / 2
    }
}

impl Drop for StatsWriter {
    fn drop(&mut self) {
        // Nobody will publish to this file again: say so rather than leave "running".
        self.finish();
    }
}

/// One consistent reading of a stats file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The engine's pid.
    pub pid: u32,
    /// The engine's start, wall clock, ns since the Unix epoch.
    pub start_wall_ns: i64,
    /// Running or finished.
    pub status: Status,
    /// Publishes the values come from (0: none yet, all values 0).
    pub publishes: u64,
    /// The labels, in file order.
    pub labels: Vec<String>,
    /// The values, one per label.
    pub values: Vec<i64>,
}

impl Snapshot {
    /// `(label, value)` pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i64)> + '_ {
        self.labels
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }

    /// The value labelled `label`.
    pub fn get(&self, label: &str) -> Option<i64> {
        self.iter().find(|(l, _)| *l == label).map(|(_, v)| v)
    }
}

/// Reads a stats file another process (or thread) publishes to.
#[derive(Debug)]
pub struct StatsReader {
    map: Mmap,
    path: PathBuf,
    pid: u32,
    start_wall_ns: i64,
    labels: Vec<String>,
}

impl StatsReader {
    /// Opens and checks the stats file at `path`: magic, version, length, header and labels.
    /// Any mismatch is a typed error naming the file (never a panic).
    pub fn open(path: &Path) -> Result<StatsReader, StatsError> {
        let mut file = File::open(path).map_err(|e| StatsError::io(path, "open", e))?;
        let len = file
            .metadata()
            .map_err(|e| StatsError::io(path, "stat", e))?
            .len();
        let mut head = vec![0u8; VALUES_OFFSET];
        let readable = usize::try_from(len).map_or(head.len(), |l| l.min(head.len()));
        file.read_exact(&mut head[..readable])
            .map_err(|e| StatsError::io(path, "read", e))?;
        if readable >= MAGIC.len() && head[..MAGIC.len()] != MAGIC {
            return Err(StatsError::BadMagic {
                path: path.to_path_buf(),
                found: head[..MAGIC.len()].escape_ascii().to_string(),
            });
        }
        if len < FILE_BYTES as u64 {
            return Err(StatsError::Truncated {
                path: path.to_path_buf(),
                len,
                need: FILE_BYTES,
            });
        }
        let field = |offset: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&head[offset..offset + 8]);
            u64::from_ne_bytes(b)
        };
        let corrupt = |offset: usize, reason: String| StatsError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason,
        };
        let version = field(VERSION_OFFSET);
        if version != LAYOUT_VERSION {
            return Err(StatsError::Version {
                path: path.to_path_buf(),
                found: version,
                expected: LAYOUT_VERSION,
            });
        }
        for (offset, name, expected) in [
            (CAPACITY_OFFSET, "value slots", MAX_VALUES),
            (LABEL_BYTES_OFFSET, "label bytes", LABEL_BYTES),
            (FILE_BYTES_OFFSET, "file length", FILE_BYTES),
        ] {
            let found = field(offset);
            if found != expected as u64 {
                return Err(corrupt(
                    offset,
                    format!("{name} {found}, layout version {LAYOUT_VERSION} has {expected}"),
                ));
            }
        }
        let count = field(COUNT_OFFSET);
        let count = usize::try_from(count)
            .ok()
            .filter(|c| *c <= MAX_VALUES)
            .ok_or_else(|| {
                corrupt(
                    COUNT_OFFSET,
                    format!("{count} values, at most {MAX_VALUES}"),
                )
            })?;
        let pid = u32::try_from(field(PID_OFFSET)).map_err(|_| {
            corrupt(
                PID_OFFSET,
                format!("pid {} out of range", field(PID_OFFSET)),
            )
        })?;
        let start_wall_ns = field(START_OFFSET) as i64;
        let labels = (0..count)
            .map(|i| {
                let at = LABELS_OFFSET + i * LABEL_BYTES;
                let slot = &head[at..at + LABEL_BYTES];
                let end = slot.iter().position(|b| *b == 0).unwrap_or(LABEL_BYTES);
                let label = std::str::from_utf8(&slot[..end])
                    .map_err(|e| corrupt(at, format!("label {i} is not UTF-8: {e}")))?;
                check_label(label).map_err(|e| corrupt(at, format!("label {i}: {e}")))?;
                Ok(label.to_owned())
            })
            .collect::<Result<Vec<_>, StatsError>>()?;
        // SAFETY: a stats file is never truncated or resized while mapped (its writer builds it
        // complete, renames it into place, then only stores words atomically); the length was
        // checked above. The mapping is read-only and read only through `word` (atomics).
        let map = unsafe { MmapOptions::new().len(FILE_BYTES).map(&file) }
            .map_err(|e| StatsError::io(path, "mmap", e))?;
        Ok(StatsReader {
            map,
            path: path.to_path_buf(),
            pid,
            start_wall_ns,
            labels,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The labels, in file order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The engine's pid.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The engine's start, wall clock, ns since the Unix epoch.
    pub fn start_wall_ns(&self) -> i64 {
        self.start_wall_ns
    }

    /// Loads the word at `offset`: relaxed, then an acquire fence (the mapping is read-only;
    /// see the module docs).
    #[inline]
    fn load(&self, offset: usize) -> u64 {
        let v = self.word(offset).load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        v
    }

    /// The atomic word at `offset` of the mapping.
    #[inline]
    fn word(&self, offset: usize) -> &AtomicU64 {
        assert!(offset.is_multiple_of(8) && in_bounds(offset, 8, self.map.len()));
        // SAFETY: 8-aligned (asserted; the mapping is page-aligned), in bounds (asserted),
        // alive as long as `self`. The mapping is read-only: std's atomic docs ("Atomic
        // accesses to read-only memory") allow relaxed loads of a lock-free 64-bit atomic
        // there, and `load`/`read_values` only ever load `Relaxed`. The writer stores these
        // words atomically.
        unsafe { &*self.map.as_ptr().add(offset).cast::<AtomicU64>() }
    }

    /// The status word now.
    pub fn status(&self) -> Status {
        Status::from_raw(self.load(STATUS_OFFSET))
    }

    /// Reads the values into `out` (up to one per label) under the seqlock; returns the
    /// number of publishes they come from, or `None` if the writer kept publishing through
    /// [`READ_ATTEMPTS`] attempts. Never returns a torn set of values. No allocation.
    pub fn read_values(&self, out: &mut [i64]) -> Option<u64> {
        let n = out.len().min(self.labels.len());
        // A writer mid-publish may be descheduled: give its core back between attempts.
        let mut idle = Idle::new(WaitKind::Yield);
        for attempt in 0..READ_ATTEMPTS {
            if attempt > 0 {
                idle.idle();
            }
            let s1 = self.load(SEQUENCE_OFFSET);
            if s1 % 2 == 1 {
                continue;
            }
            for (i, v) in out[..n].iter_mut().enumerate() {
                *v = self.word(VALUES_OFFSET + 8 * i).load(Ordering::Relaxed) as i64;
            }
            fence(Ordering::Acquire);
            let s2 = self.word(SEQUENCE_OFFSET).load(Ordering::Relaxed);
            if s1 == s2 {
                return Some(s1 / 2);
            }
        }
        None
    }

    /// A consistent snapshot: labels, values, status, pid (see the module docs); `None` if
    /// the writer kept publishing through [`READ_ATTEMPTS`] attempts (try again later).
    pub fn read(&self) -> Option<Snapshot> {
        // Status first: if it says finished, the values read after it are the final ones.
        let status = self.status();
        let mut values = vec![0i64; self.labels.len()];
        let publishes = self.read_values(&mut values)?;
        Some(Snapshot {
            pid: self.pid,
            start_wall_ns: self.start_wall_ns,
            status,
            publishes,
            labels: self.labels.clone(),
            values,
        })
    }
}

/// Gauges the caller measures and publishes beside the counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Gauges {
    /// Slots in use in the input ring.
    pub input_ring_fill: i64,
    /// Slots in use in the output ring.
    pub output_ring_fill: i64,
    /// Tick to order latency, p50, ns.
    pub tick_to_order_p50_ns: i64,
    /// Tick to order latency, p99, ns.
    pub tick_to_order_p99_ns: i64,
    /// Tick to order latency, max, ns.
    pub tick_to_order_max_ns: i64,
}

/// Values [`snapshot`] writes: every counter of [`Counters`] and the [`Gauges`].
pub const STATS_VALUES: usize = 39;

/// The labels of [`snapshot`]'s values, in order (the label table of an engine's stats
/// file). Risk rejects are `risk_reject.<RiskCode::name>` for codes 1..[`RISK_CODES`].
pub const STATS_LABELS: [&str; STATS_VALUES] = [
    "feed.inputs",
    "feed.input_rejects",
    "feed.conflated",
    "feed.ring_full",
    "feed.outputs",
    "feed.orders_sent",
    "feed.new_orders",
    "feed.exec_reports",
    "feed.fills",
    "feed.submit_errors",
    "feed.kill_switches",
    "feed.timers",
    "risk_reject.max_order_qty",
    "risk_reject.max_notional",
    "risk_reject.price_band",
    "risk_reject.max_position",
    "risk_reject.max_gross_position",
    "risk_reject.max_open_orders",
    "risk_reject.throttle",
    "risk_reject.max_daily_loss",
    "risk_reject.halted",
    "risk_reject.kill_switch",
    "risk_reject.self_trade",
    "risk_reject.unknown_instrument",
    "risk_reject.invalid_price",
    "risk_reject.invalid_qty",
    "chain.inputs",
    "chain.pnl_net",
    "chain.lost_outputs",
    "journal.inputs",
    "journal.outputs",
    "journal.output_sequence",
    "journal.bytes",
    "journal.failed",
    "input_ring_fill",
    "output_ring_fill",
    "tick_to_order_p50_ns",
    "tick_to_order_p99_ns",
    "tick_to_order_max_ns",
];

/// Index of the first risk reject in [`STATS_LABELS`].
const RISK_FIRST: usize = 12;
const _: () = assert!(STATS_VALUES <= MAX_VALUES);
const _: () = assert!(RISK_FIRST + (RISK_CODES - 1) + 8 + 5 == STATS_VALUES);

/// A counter as a stats value (saturating).
#[inline]
fn value(c: &AtomicU64) -> i64 {
    i64::try_from(get(c)).unwrap_or(i64::MAX)
}

/// Flattens `c` and `g` into `out`, in [`STATS_LABELS`] order. Each counter is loaded
/// `Relaxed` (see [`Counters`]: individually current, not a consistent cut). No allocation.
pub fn snapshot(c: &Counters, g: &Gauges, out: &mut [i64; STATS_VALUES]) {
    let f = &c.feed;
    let head = [
        &f.inputs,
        &f.input_rejects,
        &f.conflated,
        &f.ring_full,
        &f.outputs,
        &f.orders_sent,
        &f.new_orders,
        &f.exec_reports,
        &f.fills,
        &f.submit_errors,
        &f.kill_switches,
        &f.timers,
    ];
    let mut at = 0;
    for counter in head {
        out[at] = value(counter);
        at += 1;
    }
    debug_assert_eq!(at, RISK_FIRST);
    for counter in &f.risk_rejects[1..] {
        out[at] = value(counter);
        at += 1;
    }
    let j = &c.journal;
    for v in [
        value(&c.chain.inputs),
        c.chain.pnl_net.load(Ordering::Relaxed),
        value(&c.chain.lost_outputs),
        value(&j.inputs),
        value(&j.outputs),
        value(&j.output_sequence),
        value(&j.bytes),
        value(&j.failed),
        g.input_ring_fill,
        g.output_ring_fill,
        g.tick_to_order_p50_ns,
        g.tick_to_order_p99_ns,
        g.tick_to_order_max_ns,
    ] {
        out[at] = v;
        at += 1;
    }
    debug_assert_eq!(at, STATS_VALUES);
}

/// The label of risk code `code` in [`STATS_LABELS`] (`risk_reject.<name>`), if any.
pub fn risk_label(code: u16) -> Option<String> {
    RiskCode::from_code(code).map(|c| format!("risk_reject.{}", c.name()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;
    use crate::runtime::counters::{add, bump};

    #[test]
    fn labels_match_counters_and_risk_codes() {
        for code in 1..RISK_CODES {
            let code16 = u16::try_from(code).unwrap();
            assert_eq!(
                Some(STATS_LABELS[RISK_FIRST + code - 1].to_owned()),
                risk_label(code16),
                "risk code {code}"
            );
        }
        assert_eq!(RiskCode::ALL.len(), RISK_CODES - 1);
        let mut seen = std::collections::BTreeSet::new();
        for l in STATS_LABELS {
            check_label(l).unwrap();
            assert!(seen.insert(l), "duplicate label {l}");
        }
    }

    #[test]
    fn snapshot_flattens_every_counter() {
        let c = Counters::default();
        bump(&c.feed.inputs);
        add(&c.feed.fills, 7);
        c.feed.risk_reject(RiskCode::Throttle);
        c.feed.risk_reject(RiskCode::Throttle);
        c.feed.risk_reject(RiskCode::InvalidQty);
        c.chain.pnl_net.store(-42, Ordering::Relaxed);
        add(&c.journal.bytes, 1 << 40);
        let g = Gauges {
            input_ring_fill: 3,
            tick_to_order_max_ns: 9_000,
            ..Gauges::default()
        };
        let mut out = [0; STATS_VALUES];
        snapshot(&c, &g, &mut out);
        let at = |l: &str| out[STATS_LABELS.iter().position(|x| *x == l).unwrap()];
        assert_eq!(at("feed.inputs"), 1);
        assert_eq!(at("feed.fills"), 7);
        assert_eq!(at("risk_reject.throttle"), 2);
        assert_eq!(at("risk_reject.invalid_qty"), 1);
        assert_eq!(at("risk_reject.halted"), 0);
        assert_eq!(at("chain.pnl_net"), -42);
        assert_eq!(at("journal.bytes"), 1 << 40);
        assert_eq!(at("input_ring_fill"), 3);
        assert_eq!(at("tick_to_order_max_ns"), 9_000);
        assert_eq!(out.iter().filter(|v| **v != 0).count(), 8);
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STATS_FILE_NAME);
        let mut w = StatsWriter::create(&path, &["a", "b.c", "d_ns"], 1_700_000_000_123).unwrap();
        assert!(!dir.path().join("stats.tmp").exists());
        let r = StatsReader::open(&path).unwrap();
        let s = r.read().unwrap();
        assert_eq!(s.labels, ["a", "b.c", "d_ns"]);
        assert_eq!(s.values, [0, 0, 0]);
        assert_eq!(s.publishes, 0);
        assert_eq!(s.status, Status::Running);
        assert_eq!(s.pid, std::process::id());
        assert_eq!(s.start_wall_ns, 1_700_000_000_123);
        w.publish(&[1, -2, i64::MAX]);
        w.publish(&[3, i64::MIN, 5]);
        let s = r.read().unwrap();
        assert_eq!(s.values, [3, i64::MIN, 5]);
        assert_eq!(s.publishes, 2);
        assert_eq!(s.get("b.c"), Some(i64::MIN));
        w.finish();
        assert_eq!(r.read().unwrap().status, Status::Finished);
        drop(w);
        // A second reader after the writer is gone sees the final state.
        let s = StatsReader::open(&path).unwrap().read().unwrap();
        assert_eq!(
            (s.status, s.values[0], s.publishes),
            (Status::Finished, 3, 2)
        );
    }

    #[test]
    fn drop_marks_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats");
        let w = StatsWriter::create_for_counters(&path, 0).unwrap();
        let r = StatsReader::open(&path).unwrap();
        assert_eq!(r.labels().len(), STATS_VALUES);
        assert_eq!(r.status(), Status::Running);
        drop(w);
        assert_eq!(r.status(), Status::Finished);
    }

    #[test]
    fn create_refuses_bad_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats");
        let long = "x".repeat(LABEL_BYTES + 1);
        assert!(matches!(
            StatsWriter::create(&path, &[long.as_str()], 0),
            Err(StatsError::BadLabel { .. })
        ));
        assert!(matches!(
            StatsWriter::create(&path, &[""], 0),
            Err(StatsError::BadLabel { .. })
        ));
        assert!(matches!(
            StatsWriter::create(&path, &["a\nb"], 0),
            Err(StatsError::BadLabel { .. })
        ));
        let many = vec!["x"; MAX_VALUES + 1];
        assert!(matches!(
            StatsWriter::create(&path, &many, 0),
            Err(StatsError::TooManyLabels { .. })
        ));
        let exact = "y".repeat(LABEL_BYTES);
        StatsWriter::create(&path, &[exact.as_str()], 0).unwrap();
        let r = StatsReader::open(&path).unwrap();
        assert_eq!(r.labels(), [exact]);
        // The directory is created; a file in the way is an I/O error.
        StatsWriter::create(&dir.path().join("run-x/stats"), &["a"], 0).unwrap();
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert!(matches!(
            StatsWriter::create(&dir.path().join("file/stats"), &["a"], 0),
            Err(StatsError::Io { .. })
        ));
    }

    /// A valid file's bytes, to damage.
    fn valid_bytes(dir: &Path) -> Vec<u8> {
        let path = dir.join("valid");
        let mut w = StatsWriter::create(&path, &["a", "b"], 7).unwrap();
        w.publish(&[1, 2]);
        drop(w);
        std::fs::read(&path).unwrap()
    }

    fn open_bytes(dir: &Path, bytes: &[u8]) -> StatsError {
        let path = dir.join("damaged");
        std::fs::write(&path, bytes).unwrap();
        let e = StatsReader::open(&path).unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        e
    }

    #[test]
    fn damaged_files_are_typed_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = valid_bytes(dir.path());
        assert_eq!(good.len(), FILE_BYTES);
        let e = open_bytes(dir.path(), &[]);
        assert!(matches!(e, StatsError::Truncated { len: 0, .. }), "{e}");
        let e = open_bytes(dir.path(), &good[..100]);
        assert!(matches!(e, StatsError::Truncated { len: 100, .. }), "{e}");
        let e = open_bytes(dir.path(), &good[..FILE_BYTES - 1]);
        assert!(matches!(e, StatsError::Truncated { .. }), "{e}");
        let e = open_bytes(dir.path(), b"hello");
        assert!(matches!(e, StatsError::Truncated { .. }), "{e}");
        let e = open_bytes(dir.path(), b"not a stats file at all");
        assert!(matches!(e, StatsError::BadMagic { .. }), "{e}");
        let e = open_bytes(dir.path(), &vec![0xa5; FILE_BYTES]);
        assert!(matches!(e, StatsError::BadMagic { .. }), "{e}");

        let mut b = good.clone();
        b[VERSION_OFFSET..VERSION_OFFSET + 8].copy_from_slice(&2u64.to_ne_bytes());
        let e = open_bytes(dir.path(), &b);
        assert!(matches!(e, StatsError::Version { found: 2, .. }), "{e}");

        let mut b = good.clone();
        b[COUNT_OFFSET..COUNT_OFFSET + 8].copy_from_slice(&u64::MAX.to_ne_bytes());
        let e = open_bytes(dir.path(), &b);
        assert!(
            matches!(
                e,
                StatsError::Corrupt {
                    offset: COUNT_OFFSET,
                    ..
                }
            ),
            "{e}"
        );

        let mut b = good.clone();
        b[CAPACITY_OFFSET] ^= 1;
        let e = open_bytes(dir.path(), &b);
        assert!(matches!(e, StatsError::Corrupt { .. }), "{e}");

        let mut b = good.clone();
        b[LABELS_OFFSET] = 0xff;
        let e = open_bytes(dir.path(), &b);
        assert!(matches!(e, StatsError::Corrupt { .. }), "{e}");

        let mut b = good.clone();
        b[LABELS_OFFSET + LABEL_BYTES] = 0;
        let e = open_bytes(dir.path(), &b);
        assert!(matches!(e, StatsError::Corrupt { .. }), "{e}");

        // A longer file (say, a later layout's padding) is fine; garbage in the value area
        // is just values.
        let mut b = good.clone();
        b.extend_from_slice(&[0xee; 100]);
        b[VALUES_OFFSET..VALUES_OFFSET + 8].copy_from_slice(&[0xff; 8]);
        let path = dir.path().join("longer");
        std::fs::write(&path, &b).unwrap();
        assert_eq!(
            StatsReader::open(&path).unwrap().read().unwrap().values,
            [-1, 2]
        );

        let e = StatsReader::open(&dir.path().join("missing")).unwrap_err();
        assert!(matches!(e, StatsError::Io { op: "open", .. }), "{e}");

        // Random bytes after a valid magic: an error or a reading, never a panic.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200 {
            let mut b = good.clone();
            for _ in 0..8 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = 8 + (x as usize) % (VALUES_OFFSET - 8);
                b[at] = (x >> 32) as u8;
            }
            let path = dir.path().join("fuzz");
            std::fs::write(&path, &b).unwrap();
            if let Ok(r) = StatsReader::open(&path) {
                let _ = r.read();
            }
        }
    }
}
