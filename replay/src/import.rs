//! `tickrail import`: vendor market data → a tickrail **input journal** of validated,
//! sequenced events, read once and then backtested from in place as often as needed
//! ([`ImportedFeed`], `tickrail backtest --data DIR`).
//!
//! ```text
//!   DIR/inputs/   the journal: one record per event, exactly as a live run journals its
//!                 inputs (docs/JOURNAL.md); sequences 1, 2, … in receive-time order
//! ```
//!
//! The journal's manifest holds what a backtest needs to trust it:
//!
//! - `stream = inputs`, `origin = import`, `import_format` (itch, binance, dbn, csv) and
//!   `venue` (the `source` of its events: the config's first venue);
//! - the instrument map, one key per instrument: `instrument.<id> = "<symbol> <price scale>
//!   <qty scale>"` ([`instrument_map_keys`]); a backtest refuses a config whose map differs;
//! - the source files, one key each: `source.<n> = "<xxh3-64 hex> <bytes> <path>"`.
//!
//! Its closing run mark adds the outcome: `event = close`, `import = complete` or
//! `stopped`, the counts, and `content_hash`: the fold of every record's CRC32C
//! ([`ContentHash`], folded by the writer as it appends), which a backtest names in its
//! own manifest and `replay --verify` recomputes ([`hash_journal`]).
//!
//! Bad input: the adapters skip malformed and out-of-order records and report the file and
//! offset of each (the first [`tickrail_gateways::feed::MAX_REPORTS`] are kept); the
//! Sequencer refuses what it would refuse live. The import keeps going and counts them, or,
//! with [`ImportOptions::stop_on_bad`], stops at the first bad record with an error naming
//! it (the journal is closed with `import = stopped`, and backtests refuse it).

use std::collections::BTreeMap;
use std::hash::Hasher as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::run_journals::journal_options;
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::{append_event, event_kind, CodecError, Event, EventKind, InstrumentSpec};
use tickrail_gateways::feed::{FeedSource, FeedStats, Merged, SkipReport};
use tickrail_journal::{ContentHash, JournalError, JournalReader, JournalWriter, Manifest};

use crate::backtest_job::{open_feed, DataFormat, DataSpec, JobError};

/// The manifest's `origin` value of an imported journal.
pub const ORIGIN_IMPORT: &str = "import";

/// How to import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The output directory; the journal goes to `out_dir/inputs` (which must not exist).
    pub out_dir: PathBuf,
    /// Stop at the first bad record (malformed, out of order, refused by the Sequencer)
    /// instead of skipping and counting it.
    pub stop_on_bad: bool,
}

/// A source file of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Its path, as given.
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// XXH3-64 of its bytes, hex.
    pub hash: String,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    /// The journal written (`out_dir/inputs`).
    pub journal_dir: PathBuf,
    /// The data format.
    pub format: DataFormat,
    /// Events journaled.
    pub events: u64,
    /// Bad records skipped by the adapters (malformed, out of order).
    pub skipped: u64,
    /// Events the Sequencer refused (not journaled).
    pub rejected: u64,
    /// The adapters' counters, summed over the files (with the first skip reports).
    pub feed: FeedStats,
    /// The source files.
    pub sources: Vec<SourceFile>,
    /// The journal's content hash ([`ContentHash`]), hex.
    pub content_hash: String,
    /// Receive times of the first and last event journaled, ns since the epoch.
    pub first_last_ts_ns: Option<(i64, i64)>,
    /// Events journaled by kind.
    pub by_kind: BTreeMap<EventKind, u64>,
}

/// Why an import failed, or why an input journal cannot be read for a backtest.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The data could not be opened.
    #[error(transparent)]
    Open(Box<JobError>),
    /// A source file could not be read (for its hash).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The output exists already.
    #[error("{0}: exists already (choose a new --out directory)")]
    Exists(PathBuf),
    /// The journal could not be written or read.
    #[error("{dir}: {source}")]
    Journal {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: JournalError,
    },
    /// An event could not be written or read.
    #[error("{dir}: {source}")]
    Codec {
        /// The journal directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: CodecError,
    },
    /// Stopped at the first bad record ([`ImportOptions::stop_on_bad`]).
    #[error(
        "stopped at a bad record: {file}, {at}: {reason} ({written} events journaled before \
         it; the journal is marked stopped)"
    )]
    BadRecord {
        /// The file.
        file: String,
        /// Where in it ("offset N" or "line N").
        at: String,
        /// What is wrong.
        reason: String,
        /// Events journaled before it.
        written: u64,
    },
    /// The directory holds no input journal.
    #[error("{dir}: not an input journal ({why})")]
    NotInputJournal {
        /// The directory.
        dir: PathBuf,
        /// Why not.
        why: String,
    },
    /// The journal's instruments are not the config's.
    #[error(
        "{dir}: its instrument map differs from the config's: {why} (import the data again \
         with this config, or use the config it was imported with)"
    )]
    InstrumentMap {
        /// The journal directory.
        dir: PathBuf,
        /// The first difference.
        why: String,
    },
    /// The journal's content is not what its import (or the backtest's manifest) says.
    #[error(
        "{dir}: content hash {found} differs from the expected {expected}: the journal changed"
    )]
    ContentChanged {
        /// The journal directory.
        dir: PathBuf,
        /// The expected hash.
        expected: String,
        /// The hash of what was read.
        found: String,
    },
}

impl From<JobError> for ImportError {
    fn from(e: JobError) -> Self {
        Self::Open(Box::new(e))
    }
}

/// The manifest keys naming `instruments` (`instrument.<id> = "<symbol> <price scale> <qty
/// scale>"`).
pub fn instrument_map_keys(instruments: &[InstrumentSpec]) -> Vec<(String, String)> {
    instruments
        .iter()
        .map(|s| {
            (
                format!("instrument.{}", s.id.get()),
                format!(
                    "{} {} {}",
                    s.symbol.trim(),
                    s.price_scale.get(),
                    s.qty_scale.get()
                ),
            )
        })
        .collect()
}

/// The first difference between `manifest`'s instrument map and `instruments`, if any.
pub fn instrument_map_difference(
    manifest: &Manifest,
    instruments: &[InstrumentSpec],
) -> Option<String> {
    let ours = instrument_map_keys(instruments);
    for (k, v) in &ours {
        match manifest.get(k) {
            None => return Some(format!("the journal has no {k} (the config: {v:?})")),
            Some(theirs) if theirs != v => {
                return Some(format!(
                    "{k} is {theirs:?} in the journal, {v:?} in the config"
                ))
            }
            Some(_) => {}
        }
    }
    let theirs = manifest
        .entries()
        .filter(|(k, _)| k.starts_with("instrument."))
        .count();
    (theirs != ours.len()).then(|| {
        format!(
            "the journal maps {theirs} instruments, the config {}",
            ours.len()
        )
    })
}

fn hash_file(path: &Path) -> Result<SourceFile, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = twox_hash::XxHash3_64::with_seed(0);
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.write(&buf[..n]);
        bytes += n as u64;
    }
    Ok(SourceFile {
        path: path.display().to_string(),
        bytes,
        hash: format!("{:016x}", hasher.finish()),
    })
}

/// Imports `data` for `cfg`'s instruments (the config's first venue is the data's venue,
/// as in a backtest) into `opts.out_dir/inputs`.
pub fn import(
    cfg: &EngineConfig,
    data: &DataSpec,
    opts: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let venue = cfg.venues.first().ok_or(JobError::NoVenue)?.id;
    let dir = opts.out_dir.join("inputs");
    if dir.exists() {
        return Err(ImportError::Exists(dir));
    }
    let sources = data
        .files
        .iter()
        .map(|p| hash_file(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut feed, format) = open_feed(cfg, data, venue)?;

    let mut manifest = Manifest::new(
        env!("CARGO_PKG_VERSION"),
        &format!("{:016x}", cfg.config_hash()),
    )
    .with("stream", "inputs")
    .with("origin", ORIGIN_IMPORT)
    .with("import_format", format.name())
    .with("venue", &venue.to_string())
    .with("config_file", &cfg.file);
    for (k, v) in instrument_map_keys(&cfg.instruments) {
        manifest.set(&k, &v);
    }
    for (i, s) in sources.iter().enumerate() {
        manifest.set(
            &format!("source.{i}"),
            &format!("{} {} {}", s.hash, s.bytes, s.path),
        );
    }
    let journal_err = |source| ImportError::Journal {
        dir: dir.clone(),
        source,
    };
    // Two threads, so the import goes at the adapters' pace: this one reads and decodes
    // (the adapters), the writer stamps and journals, batches passing between them (and
    // coming back empty to be refilled). The writer opens the journal — pre-faulting its
    // first segment — while the reader already decodes into the queue.
    let stop_flag = AtomicBool::new(false);
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Event>>(IMPORT_QUEUE_BATCHES);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Event>>();
    let (written_out, read_stop) = std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("import-writer".into())
            .spawn_scoped(scope, || {
                write_batches(
                    cfg, &dir, &manifest, opts, data, full_rx, empty_tx, &stop_flag,
                )
            })
            .map_err(|e| ImportError::Io {
                path: dir.clone(),
                source: e,
            });
        let writer = match writer {
            Ok(w) => w,
            Err(e) => return (Err(e), None),
        };
        // Bad records per source so far (with `stop_on_bad`: a rise names the source).
        let mut bad_seen: Vec<u64> = feed.source_stats().map(bad_records).collect();
        let mut read_stop: Option<Option<SkipReport>> = None;
        let mut done = false;
        while !done && !stop_flag.load(Ordering::Relaxed) {
            let mut batch = empty_rx
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(IMPORT_BATCH));
            while batch.len() < IMPORT_BATCH {
                let Some(event) = feed.next_event() else {
                    done = true;
                    break;
                };
                if opts.stop_on_bad {
                    if let Some(report) = new_bad_record(&feed, &mut bad_seen) {
                        read_stop = Some(report);
                        done = true;
                        break;
                    }
                }
                batch.push(event);
            }
            if full_tx.send(batch).is_err() {
                break;
            }
        }
        // A bad record after the last good event.
        if opts.stop_on_bad && read_stop.is_none() {
            read_stop = new_bad_record(&feed, &mut bad_seen);
        }
        drop(full_tx);
        let written = writer.join().unwrap_or_else(|_| {
            Err(ImportError::Io {
                path: dir.clone(),
                source: std::io::Error::other("the import's writer thread panicked"),
            })
        });
        (written, read_stop)
    });
    let Written {
        mut writer,
        written,
        rejected,
        by_kind,
        first_last,
        stop: seq_stop,
    } = written_out?;
    let stop = match (seq_stop, read_stop) {
        (Some(e), _) => Some(e),
        (None, Some(report)) => Some(bad_record(report, written)),
        (None, None) => None,
    };
    let feed_stats = {
        let mut total = FeedStats::default();
        for s in feed.source_stats() {
            total.merge(s);
        }
        total
    };
    let skipped = bad_records(&feed_stats);
    let mut mark = tickrail_engine::runtime::run_files::mark(writer.manifest(), "close")
        .with(
            "import",
            if stop.is_some() {
                "stopped"
            } else {
                "complete"
            },
        )
        .with("events", &written.to_string())
        .with("skipped", &skipped.to_string())
        .with("rejected", &rejected.to_string());
    if let Some(fatal) = &feed_stats.fatal {
        mark.set("read_error", fatal);
    }
    // The content hash covers every record before the closing mark: the writer folded
    // each record's CRC as it appended it.
    let content = writer.appended_hash();
    mark.set("content_hash", &content.hex());
    writer.append_mark(&mark).map_err(journal_err)?;
    writer.close().map_err(journal_err)?;
    if let Some(e) = stop {
        return Err(e);
    }
    Ok(ImportSummary {
        journal_dir: dir,
        format,
        events: written,
        skipped,
        rejected,
        feed: feed_stats,
        sources,
        content_hash: content.hex(),
        first_last_ts_ns: first_last,
        by_kind,
    })
}

/// Events per batch between the import's reader and writer.
const IMPORT_BATCH: usize = 4096;
/// Batches queued between them (about 17 MB of events): room for the reader to go on
/// while the writer pre-faults the journal's first segment.
const IMPORT_QUEUE_BATCHES: usize = 64;

/// What the import's writer thread did.
struct Written {
    writer: JournalWriter,
    written: u64,
    rejected: u64,
    by_kind: BTreeMap<EventKind, u64>,
    first_last: Option<(i64, i64)>,
    /// Stopped at an event the Sequencer refused (with `stop_on_bad`).
    stop: Option<ImportError>,
}

/// The import's writer: opens the journal, then stamps and appends every event of every
/// batch received, handing the emptied batches back; with `stop_on_bad`, the first event
/// the Sequencer refuses stops it (and, through `stop_flag`, the reader).
#[allow(
    clippy::too_many_arguments,
    reason = "the writer thread's whole context"
)]
fn write_batches(
    cfg: &EngineConfig,
    dir: &Path,
    manifest: &Manifest,
    opts: &ImportOptions,
    data: &DataSpec,
    full: mpsc::Receiver<Vec<Event>>,
    empty: mpsc::Sender<Vec<Event>>,
    stop_flag: &AtomicBool,
) -> Result<Written, ImportError> {
    let (mut writer, _) =
        JournalWriter::open(dir, journal_options(cfg), manifest).map_err(|source| {
            ImportError::Journal {
                dir: dir.to_path_buf(),
                source,
            }
        })?;
    let mut sequencer = Sequencer::new(1, cfg.instruments.len());
    let (mut written, mut rejected) = (0u64, 0u64);
    // Counted by kind code (inputs' codes are below 32), folded into a map at the end: a
    // map lookup per event costs the writer more than the Sequencer does.
    let mut kind_counts = [0u64; EventKind::FIRST_OUTPUT_CODE as usize];
    let mut first_last: Option<(i64, i64)> = None;
    let mut stop: Option<ImportError> = None;
    for mut batch in full {
        if stop.is_none() {
            for stamped in batch.iter_mut() {
                match sequencer.stamp_in_place(stamped) {
                    Ok(()) => {}
                    Err(r) => {
                        rejected += 1;
                        if opts.stop_on_bad {
                            stop = Some(ImportError::BadRecord {
                                file: data_files(data),
                                at: format!("event {} of the merged stream", written + rejected),
                                reason: format!("refused by the Sequencer: {r}"),
                                written,
                            });
                            stop_flag.store(true, Ordering::Relaxed);
                            break;
                        }
                        continue;
                    }
                }
                append_event(&mut writer, stamped).map_err(|source| ImportError::Codec {
                    dir: dir.to_path_buf(),
                    source,
                })?;
                written += 1;
                if let Some(n) = kind_counts.get_mut(usize::from(stamped.kind().code())) {
                    *n += 1;
                }
                let ts = stamped.header.receive_ts_ns;
                first_last = Some(first_last.map_or((ts, ts), |(f, _)| (f, ts)));
            }
        }
        batch.clear();
        let _ = empty.send(batch);
    }
    let by_kind = (0u16..)
        .zip(kind_counts)
        .filter(|&(_, n)| n > 0)
        .filter_map(|(code, n)| Some((EventKind::from_code(code)?, n)))
        .collect();
    Ok(Written {
        writer,
        written,
        rejected,
        by_kind,
        first_last,
        stop,
    })
}

fn data_files(data: &DataSpec) -> String {
    data.files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Malformed and out-of-order records of one source.
fn bad_records(stats: &FeedStats) -> u64 {
    stats.skipped + stats.out_of_order
}

/// The report of a bad record found since `seen` (per source; updated), if any: the
/// source's latest report.
fn new_bad_record(feed: &Merged, seen: &mut [u64]) -> Option<Option<SkipReport>> {
    for (stats, seen) in feed.source_stats().zip(seen.iter_mut()) {
        let now = bad_records(stats);
        if now > *seen {
            *seen = now;
            return Some(stats.reports.last().cloned());
        }
    }
    None
}

fn bad_record(report: Option<SkipReport>, written: u64) -> ImportError {
    match report {
        Some(r) => ImportError::BadRecord {
            file: r.file,
            at: if r.line {
                format!("line {}", r.offset)
            } else {
                format!("offset {}", r.offset)
            },
            reason: r.reason,
            written,
        },
        None => ImportError::BadRecord {
            file: "(unknown)".into(),
            at: "(unknown)".into(),
            reason: "a record was skipped".into(),
            written,
        },
    }
}

/// The [`ContentHash`] of the journal in `dir`, every record read (CRCs checked), the
/// closing run mark excluded when it is the last record.
pub fn hash_journal(dir: &Path) -> Result<ContentHash, ImportError> {
    let err = |source| ImportError::Journal {
        dir: dir.to_path_buf(),
        source,
    };
    let mut reader = JournalReader::open(dir)
        .map_err(err)?
        .include_internal(true);
    let mut hash = ContentHash::default();
    let mut pending_mark: Option<u32> = None;
    while let Some(r) = reader.next().map_err(err)? {
        if r.kind == tickrail_journal::format::kind::END_OF_SEGMENT {
            continue;
        }
        if let Some(crc) = pending_mark.take() {
            hash.add(crc);
        }
        if r.kind == tickrail_journal::format::kind::RUN_MARK {
            pending_mark = Some(r.crc);
        } else {
            hash.add(r.crc);
        }
    }
    Ok(hash)
}

/// An input journal opened for a backtest: an import's, or a live run's.
#[derive(Debug, Clone)]
pub struct InputJournal {
    /// The journal directory (`…/inputs`).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The data format of an import (`None`: a live run's journal).
    pub format: Option<DataFormat>,
    /// The content hash the import recorded (`None` for a live run's journal: computed by
    /// reading it, [`InputJournal::content_hash`]).
    pub recorded_hash: Option<String>,
}

impl InputJournal {
    /// Opens the input journal at `path`: a directory holding `inputs/` (an import's
    /// output, a run directory) or the journal directory itself. Checks it is an input
    /// journal, that an import completed, and that its instrument map is `instruments`
    /// (for a live run: the instruments of the config copy in its run directory).
    pub fn open(path: &Path, instruments: &[InstrumentSpec]) -> Result<Self, ImportError> {
        let dir = if path.join("inputs").is_dir() {
            path.join("inputs")
        } else {
            path.to_path_buf()
        };
        let not = |why: String| ImportError::NotInputJournal {
            dir: dir.clone(),
            why,
        };
        let manifest = tickrail_journal::read_manifest(&dir)
            .map_err(|e| not(format!("no journal manifest: {e}")))?;
        match manifest.get("stream") {
            Some("inputs") => {}
            Some(other) => {
                return Err(not(format!(
                    "its manifest says stream {other:?}; backtests read the inputs journal"
                )))
            }
            None => return Err(not("its manifest names no stream".into())),
        }
        let marks = tickrail_journal::read_marks(&dir).map_err(|source| ImportError::Journal {
            dir: dir.clone(),
            source,
        })?;
        let (format, recorded_hash) = if manifest.get("origin") == Some(ORIGIN_IMPORT) {
            let format = manifest
                .get("import_format")
                .and_then(DataFormat::from_name)
                .ok_or_else(|| not("an import without a known import_format".into()))?;
            let close = marks
                .last()
                .map(|(_, m)| m)
                .filter(|m| m.get("event") == Some("close"));
            let Some(close) = close else {
                return Err(not("the import did not finish (no closing mark)".into()));
            };
            if close.get("import") != Some("complete") {
                return Err(not(format!(
                    "the import {} (import again, without --stop-on-bad or with the bad \
                     records fixed)",
                    close.get("import").unwrap_or("did not complete")
                )));
            }
            if let Some(why) = instrument_map_difference(&manifest, instruments) {
                return Err(ImportError::InstrumentMap { dir, why });
            }
            (Some(format), close.get("content_hash").map(str::to_owned))
        } else {
            let run_dir = dir.parent().unwrap_or(Path::new("."));
            let copy = run_dir.join(tickrail_engine::runtime::run_files::CONFIG_COPY);
            let run_cfg = EngineConfig::load(&copy).map_err(|e| {
                not(format!(
                    "a run journal whose config copy does not load: {e}"
                ))
            })?;
            let run_map = instrument_map_keys(&run_cfg.instruments);
            let ours = instrument_map_keys(instruments);
            if run_map != ours {
                let why = ours
                    .iter()
                    .zip(run_map.iter().map(Some).chain(std::iter::repeat(None)))
                    .find(|(o, t)| Some(*o) != *t)
                    .map_or_else(
                        || {
                            format!(
                                "the run has {} instruments, the config {}",
                                run_map.len(),
                                ours.len()
                            )
                        },
                        |((k, v), t)| match t {
                            Some((_, tv)) => {
                                format!("{k} is {tv:?} in the run, {v:?} in the config")
                            }
                            None => format!("the run has no {k} (the config: {v:?})"),
                        },
                    );
                return Err(ImportError::InstrumentMap { dir, why });
            }
            (None, None)
        };
        Ok(Self {
            dir,
            manifest,
            format,
            recorded_hash,
        })
    }

    /// The content hash: the import's record of it, or computed by reading the journal.
    pub fn content_hash(&self) -> Result<String, ImportError> {
        match &self.recorded_hash {
            Some(h) => Ok(h.clone()),
            None => hash_journal(&self.dir).map(|h| h.hex()),
        }
    }
}

/// A [`FeedSource`] over an input journal, read in place: market data, trading status and
/// feed gaps, in journal order; execution reports, timers and commands (a live run's) are
/// left out and counted in [`FeedStats::ignored`] (a backtest's simulated venue makes its
/// own). Records are decoded from the mapping one at a time (the archive is checked, then
/// deserialised into the returned [`Event`]); nothing is copied or loaded whole.
#[derive(Debug)]
pub struct ImportedFeed {
    reader: JournalReader,
    dir: String,
    stats: FeedStats,
}

impl ImportedFeed {
    /// Opens the journal in `dir` (a journal directory, e.g. [`InputJournal::dir`]).
    pub fn open(dir: &Path) -> Result<Self, ImportError> {
        // Without internal records: the reader skips the manifest, marks and markers.
        let reader = JournalReader::open(dir).map_err(|source| ImportError::Journal {
            dir: dir.to_path_buf(),
            source,
        })?;
        Ok(Self {
            reader,
            dir: dir.display().to_string(),
            stats: FeedStats::default(),
        })
    }
}

impl FeedSource for ImportedFeed {
    fn next_event(&mut self) -> Option<Event> {
        loop {
            let record = match self.reader.next() {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    self.stats.fatal = Some(format!("{}: {e}", self.dir));
                    return None;
                }
            };
            self.stats.records += 1;
            self.stats.bytes += record.payload.len() as u64;
            match event_kind(record.kind) {
                Some(EventKind::ExecReport | EventKind::Timer | EventKind::Command) => {
                    self.stats.ignored += 1;
                    continue;
                }
                Some(_) => {}
                None => {
                    self.stats.skipped += 1;
                    let at = record.position;
                    self.stats.report(
                        &self.dir,
                        at.offset,
                        false,
                        format_args!(
                            "segment {}: record kind {:#x} is not an event",
                            at.segment, record.kind
                        ),
                    );
                    continue;
                }
            }
            match tickrail_engine::decode_event(&record) {
                Ok(e) => {
                    self.stats.events += 1;
                    if e.kind() == EventKind::FeedGap {
                        self.stats.gaps += 1;
                    }
                    return Some(e);
                }
                Err(err) => {
                    self.stats.skipped += 1;
                    let at = record.position;
                    self.stats.report(
                        &self.dir,
                        at.offset,
                        false,
                        format_args!("segment {}: {err}", at.segment),
                    );
                }
            }
        }
    }

    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}
