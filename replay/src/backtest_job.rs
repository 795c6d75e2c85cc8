//! One backtest, end to end: historical data files → [`HistoricalMarket`] → the
//! single-thread [`Runner`] with the config's chain and timers → a journal of every input
//! and output (so `tickrail replay RUN --verify` re-drives it) and the [`report`](crate::report).
//! This is what `tickrail backtest` runs, once per sweep point.
//!
//! The data's venue is the config's **first** `[[venues]]` entry: its id is the `source`
//! of the data's events and the venue our orders go to; its `entry_latency_ns` and
//! `ack_latency_ns` are the simulated order-entry and acknowledgement latencies (unless
//! `[backtest.latency]` sets models per request type or for the responses:
//! [`crate::backtest::latency_model`]; the manifest of a backtest from a journal records the
//! latency profile files read, `latency_profile.<kind>`), and its
//! `feed_latency_ns` is added to the exchange time of formats that carry no receive time
//! (ITCH). The queue model is `JobOptions::queue` (the command line), else the config's
//! `[backtest.queue]`, else FIFO for per-order data (ITCH, DBN) and the probabilistic model
//! (power 2) for level data (Binance, CSV).

use std::path::{Path, PathBuf};

use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, BuildError};
use tickrail_gateways::binance::{BinanceOptions, BinanceSource};
use tickrail_gateways::csv_feed::CsvSource;
use tickrail_gateways::dbn_feed::DbnSource;
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, Merged, OpenError};
use tickrail_gateways::itch::{trading_day_midnight_ns, ItchSource};

use crate::backtest::latency_model::profile_manifest_keys;
use crate::backtest::queue::{write_queue_fills_csv, QueueFill, QueueFillStats};
use crate::backtest::{BacktestError, BacktestParams, HistoricalMarket, Latencies, QueueModel};
use crate::import::{ImportError, ImportedFeed, InputJournal};
use crate::journal_sink::{JournalSink, JournalSinkError};
use crate::report::{Collector, Report};
use crate::{NullSink, RunSummary, Runner, Sink};

/// A market data file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFormat {
    /// NASDAQ TotalView-ITCH 5.0 (`.itch`, `.itch.gz`, or a name containing `ITCH`).
    Itch,
    /// A Binance websocket capture (a name containing `binance`, `spot_` or `usdm_`).
    Binance,
    /// Databento DBN (`.dbn`, `.dbn.zst`).
    Dbn,
    /// CSV quotes or trades (`.csv`, `.csv.gz`).
    Csv,
}

impl DataFormat {
    /// The format a file's name says, if it says one.
    pub fn detect(path: &Path) -> Option<Self> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.contains(".dbn") {
            Some(Self::Dbn)
        } else if name.contains(".csv") {
            Some(Self::Csv)
        } else if name.contains("itch") {
            Some(Self::Itch)
        } else if name.contains("binance") || name.starts_with("spot_") || name.starts_with("usdm_")
        {
            Some(Self::Binance)
        } else {
            None
        }
    }

    /// Parses `itch`, `binance`, `dbn` or `csv`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "itch" => Some(Self::Itch),
            "binance" => Some(Self::Binance),
            "dbn" => Some(Self::Dbn),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The name [`DataFormat::from_name`] parses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Itch => "itch",
            Self::Binance => "binance",
            Self::Dbn => "dbn",
            Self::Csv => "csv",
        }
    }

    /// Whether the format carries individual orders (L3), so FIFO queue positions are exact.
    pub fn per_order(self) -> bool {
        matches!(self, Self::Itch | Self::Dbn)
    }
}

/// The data of a backtest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSpec {
    /// The files, merged by receive time.
    pub files: Vec<PathBuf>,
    /// Their format (`None`: detected per file from its name).
    pub format: Option<DataFormat>,
    /// DBN instrument definitions file, if the data files lack symbol mappings.
    pub definitions: Option<PathBuf>,
    /// ITCH: the trading date `(year, month, day)`; timestamps count from its midnight in
    /// New York, EST or EDT as on that day
    /// ([`tickrail_gateways::itch::trading_day_midnight_ns`]). Default 1970-01-01.
    pub itch_date: Option<(i32, u32, u32)>,
}

impl DataSpec {
    /// Data that is an input journal: `path` is an import's output directory, a run
    /// directory, or an input journal directory.
    pub fn journal(&self) -> Option<&Path> {
        match self.files.as_slice() {
            [one] if one.is_dir() => Some(one),
            _ => None,
        }
    }
}

/// How to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOptions {
    /// The queue model (`None`: the config's `[backtest.queue]`, else by format; see the
    /// [module docs](self)).
    pub queue: Option<QueueModel>,
    /// Event time between equity samples, ns (`> 0`).
    pub sample_interval_ns: i64,
    /// Where the journal goes (`out_dir/inputs`, `out_dir/outputs`).
    pub out_dir: PathBuf,
}

/// Why a backtest could not run.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// A data file could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A file's format is neither given nor recognisable from its name.
    #[error("{0}: unknown data format (pass --format itch|binance|dbn|csv)")]
    UnknownFormat(String),
    /// The config has no venue.
    #[error("the config has no [[venues]]: the first one is the data's venue")]
    NoVenue,
    /// The market simulator refused its parameters.
    #[error("backtest market: {0}")]
    Market(#[from] BacktestError),
    /// The chain could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Journaling failed.
    #[error(transparent)]
    Journal(#[from] JournalSinkError),
    /// The input journal cannot be used.
    #[error(transparent)]
    InputJournal(Box<ImportError>),
    /// A bad option.
    #[error("{0}")]
    Invalid(String),
}

impl From<ImportError> for JobError {
    fn from(e: ImportError) -> Self {
        Self::InputJournal(Box::new(e))
    }
}

/// What a backtest produced.
#[derive(Debug)]
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// The runner's summary (inputs, outputs, Sequencer rejects, timers).
    pub summary: RunSummary,
    /// The data sources' counters (summed over files).
    pub feed: FeedStats,
    /// The simulated venue's counters, printed.
    pub market: String,
    /// Every fill of a resting order of ours, with its queue position at entry and just
    /// before the fill (written to `queue_fills.csv` by [`run_backtest`]).
    pub queue_fills: Vec<QueueFill>,
    /// Records journaled: `[inputs, outputs]`.
    pub journaled: [u64; 2],
}

fn open_one(
    path: &Path,
    format: DataFormat,
    source: u16,
    map: InstrumentMap,
    data: &DataSpec,
) -> Result<Box<dyn FeedSource + Send>, JobError> {
    Ok(match format {
        DataFormat::Itch => {
            let (y, m, d) = data.itch_date.unwrap_or((1970, 1, 1));
            // Midnight New York time of the trading day, with that day's DST rules.
            let midnight = trading_day_midnight_ns(y, m, d)
                .map_err(|e| JobError::Invalid(format!("ITCH date: {e}")))?;
            Box::new(ItchSource::open(path, source, map, midnight)?)
        }
        DataFormat::Binance => Box::new(BinanceSource::open(
            path,
            source,
            map,
            BinanceOptions::default(),
        )?),
        DataFormat::Dbn => Box::new(DbnSource::open(
            path,
            source,
            map,
            data.definitions.as_deref(),
        )?),
        DataFormat::Csv => Box::new(CsvSource::open(path, source, map)?),
    })
}

/// Opens every file of `data` for venue `source` with `cfg`'s instruments, merged by
/// receive time; also returns the format of the first file.
pub fn open_feed(
    cfg: &EngineConfig,
    data: &DataSpec,
    source: u16,
) -> Result<(Merged, DataFormat), JobError> {
    let map = InstrumentMap::from_specs(&cfg.instruments);
    let mut sources = Vec::with_capacity(data.files.len());
    let mut first = None;
    for path in &data.files {
        let format = data
            .format
            .or_else(|| DataFormat::detect(path))
            .ok_or_else(|| JobError::UnknownFormat(path.display().to_string()))?;
        first.get_or_insert(format);
        sources.push(open_one(path, format, source, map.clone(), data)?);
    }
    let first = first.ok_or_else(|| JobError::Invalid("no data files".into()))?;
    Ok((Merged::new(sources), first))
}

/// Runs one backtest of `cfg` over `data`, journaling under `opts.out_dir`;
/// `progress(inputs, event_ts_ns)` is called every sample interval.
///
/// Data that is an input journal ([`DataSpec::journal`]: an import's, or a live run's) is
/// read in place and only the outputs are journaled: the inputs are already a journal. The
/// output journal's manifest names the input journal by path and content hash, with the
/// queue model, so that `tickrail replay OUT --verify` re-drives the backtest exactly
/// ([`crate::backtest_verify`]).
pub fn run_backtest(
    cfg: &EngineConfig,
    data: &DataSpec,
    opts: &JobOptions,
    progress: impl FnMut(u64, i64),
) -> Result<Outcome, JobError> {
    let venue = cfg.venues.first().ok_or(JobError::NoVenue)?;
    if let Some(dir) = data.journal() {
        let input = InputJournal::open(dir, &cfg.instruments)?;
        let queue = queue_for(chosen_queue(opts, cfg), input.format);
        let layout = format!(
            "backtest: one thread, {} queue, inputs from a journal",
            queue.name()
        );
        let mut keys = journal_backtest_keys(&input, queue)?;
        // The latency profiles read: a re-run refuses changed files.
        keys.extend(profile_manifest_keys(&cfg.backtest.latency));
        let journal = JournalSink::create_outputs(cfg, &opts.out_dir, &layout, &keys)?;
        let feed = ImportedFeed::open(&input.dir)?;
        let (mut outcome, journal) = drive(cfg, feed, input.format, opts, journal, progress)?;
        outcome.journaled = journal.close()?;
        write_queue_fills(&opts.out_dir, &outcome.queue_fills)?;
        return Ok(outcome);
    }
    let (feed, format) = open_feed(cfg, data, venue.id)?;
    let layout = format!(
        "backtest: one thread, {} queue",
        queue_for(chosen_queue(opts, cfg), Some(format)).name()
    );
    let journal = JournalSink::create(cfg, &opts.out_dir, &layout)?;
    let (mut outcome, journal) = drive(cfg, feed, Some(format), opts, journal, progress)?;
    outcome.journaled = journal.close()?;
    write_queue_fills(&opts.out_dir, &outcome.queue_fills)?;
    Ok(outcome)
}

/// The file of a backtest's resting fills and their queue positions, in its output
/// directory ([`crate::backtest::queue::write_queue_fills_csv`]).
pub const QUEUE_FILLS_FILE: &str = "queue_fills.csv";

/// Writes `fills` to `dir/queue_fills.csv`.
fn write_queue_fills(dir: &Path, fills: &[QueueFill]) -> Result<(), JobError> {
    use std::io::Write;
    let path = dir.join(QUEUE_FILLS_FILE);
    let bad = |e: std::io::Error| JobError::Invalid(format!("{}: {e}", path.display()));
    let file = std::fs::File::create(&path).map_err(bad)?;
    let mut out = std::io::BufWriter::new(file);
    write_queue_fills_csv(&mut out, fills).map_err(bad)?;
    out.flush().map_err(bad)
}

/// [`run_backtest`] without the journal (a benchmark floor: what journaling costs).
pub fn run_backtest_unjournaled(
    cfg: &EngineConfig,
    data: &DataSpec,
    opts: &JobOptions,
) -> Result<Outcome, JobError> {
    let venue = cfg.venues.first().ok_or(JobError::NoVenue)?;
    if let Some(dir) = data.journal() {
        let input = InputJournal::open(dir, &cfg.instruments)?;
        let feed = ImportedFeed::open(&input.dir)?;
        return drive(cfg, feed, input.format, opts, NullSink, |_, _| {}).map(|(o, _)| o);
    }
    let (feed, format) = open_feed(cfg, data, venue.id)?;
    drive(cfg, feed, Some(format), opts, NullSink, |_, _| {}).map(|(o, _)| o)
}

/// The output manifest keys of a backtest from an input journal (see [`run_backtest`]).
fn journal_backtest_keys(
    input: &InputJournal,
    queue: QueueModel,
) -> Result<Vec<(String, String)>, JobError> {
    let dir = std::fs::canonicalize(&input.dir).unwrap_or_else(|_| input.dir.clone());
    Ok(vec![
        (INPUT_JOURNAL_KEY.into(), dir.display().to_string()),
        ("input_hash".into(), input.content_hash()?),
        (
            "input_format".into(),
            input.format.map_or("run", DataFormat::name).into(),
        ),
        ("queue".into(), queue_name(queue)),
    ])
}

/// The output manifest key naming a backtest's input journal (present only in backtests
/// whose inputs were a journal).
pub const INPUT_JOURNAL_KEY: &str = "input_journal";

/// `fifo`, `risk_averse`, `prob:POWER`, `log_prob` or `log_prob2`, as [`parse_queue`]
/// reads it ([`QueueModel::name`]).
pub fn queue_name(queue: QueueModel) -> String {
    queue.name()
}

/// Parses `fifo`, `risk_averse`, `prob` or `power_prob` (power 2), `prob:POWER` or
/// `power_prob:POWER` (finite, `>= 0`), `log_prob`, `log_prob2` ([`QueueModel::parse`]).
pub fn parse_queue(text: &str) -> Option<QueueModel> {
    QueueModel::parse(text)
}

/// The queue model chosen for a backtest: `opts.queue` (the command line, or the manifest of
/// the backtest being verified) over the config's `[backtest.queue]`; `None` when neither
/// chooses (then [`queue_for`] picks by format).
pub fn chosen_queue(opts: &JobOptions, cfg: &EngineConfig) -> Option<QueueModel> {
    opts.queue
        .or_else(|| cfg.backtest.queue.map(QueueModel::from))
}

/// The queue model: `queue` if given, else by format (FIFO for per-order data; the
/// probabilistic model for level data and for a live run's journal).
pub fn queue_for(queue: Option<QueueModel>, format: Option<DataFormat>) -> QueueModel {
    queue.unwrap_or(if format.is_some_and(DataFormat::per_order) {
        QueueModel::Fifo
    } else {
        QueueModel::Probabilistic { power: 2.0 }
    })
}

/// A sink whose write failures a backtest checks between steps.
pub trait Checked: Sink {
    /// The first failure, as text.
    fn failure(&self) -> Option<String>;
}

impl Checked for JournalSink {
    fn failure(&self) -> Option<String> {
        self.error().map(ToString::to_string)
    }
}

impl Checked for NullSink {
    fn failure(&self) -> Option<String> {
        None
    }
}

/// The backtest over an opened `feed` of `format` (`None`: a live run's journal) for the
/// config's first venue.
pub(crate) fn drive<F: FeedSource, S: Checked>(
    cfg: &EngineConfig,
    feed: F,
    format: Option<DataFormat>,
    opts: &JobOptions,
    sink: S,
    mut progress: impl FnMut(u64, i64),
) -> Result<(Outcome, S), JobError> {
    if opts.sample_interval_ns <= 0 {
        return Err(JobError::Invalid(
            "the sample interval must be positive".into(),
        ));
    }
    let venue = cfg.venues.first().ok_or(JobError::NoVenue)?;
    let params = BacktestParams {
        venue: venue.id,
        feed_latency_ns: (format == Some(DataFormat::Itch)).then_some(venue.feed_latency_ns),
        entry_latency_ns: venue.entry_latency_ns,
        ack_latency_ns: venue.ack_latency_ns,
        queue: queue_for(chosen_queue(opts, cfg), format),
        book: BookSizing::default(),
    };
    let latency = Latencies::from_spec(
        &cfg.backtest.latency,
        venue.entry_latency_ns,
        venue.ack_latency_ns,
    );
    let market = HistoricalMarket::new(feed, params, &cfg.instruments)?
        .with_latency(latency)?
        .with_fill_on_cross(cfg.backtest.fill_on_cross);
    let chain = build_chain(cfg, BookSizing::default())?;
    let mut runner = Runner::new(
        market,
        chain,
        cfg.instruments.len(),
        max_outputs_per_event(cfg),
    )
    .with_timers(cfg.timers());
    let mut sink = Collector::new(sink, &cfg.instruments);
    let wall0 = tickrail_engine::runtime::clock::now_ns();
    if let Some(t0) = runner.next_due_ns() {
        let mut t = t0;
        loop {
            t = t.saturating_add(opts.sample_interval_ns);
            let more = runner.run_until(t, &mut sink);
            let at = if more { t } else { runner.now_ns() };
            sink.sample(at, runner.chain().downstream.oms());
            progress(runner.summary().inputs, at);
            if let Some(e) = sink.inner().failure() {
                return Err(JobError::Invalid(format!("journal: {e}")));
            }
            if !more {
                break;
            }
        }
    }
    let wall_s = tickrail_engine::runtime::clock::now_ns().saturating_sub(wall0) as f64 / 1e9;
    let report = sink.finish(
        runner.chain().downstream.oms(),
        wall_s,
        opts.sample_interval_ns,
    );
    let market = runner.market();
    let queue = QueueFillStats::of(market.queue_fills());
    let outcome = Outcome {
        report: Report {
            queue: Some(queue),
            ..report
        },
        summary: runner.summary().clone(),
        feed: market.feed_stats().clone(),
        market: market.stats().to_string(),
        queue_fills: market.queue_fills().to_vec(),
        journaled: [0, 0],
    };
    Ok((outcome, sink.into_inner()))
}
