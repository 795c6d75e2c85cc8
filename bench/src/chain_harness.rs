//! The chain benchmark: what the backtest's single-thread loop costs per input, and where
//! that time goes, on historical data decoded into memory first.
//!
//! [`load`] decodes every data file (through `backtest_job::open_feed`, the backtest's own
//! adapters and merge) into a `Vec<Event>`, so no reading, inflating or parsing is timed.
//! [`run_loop`] then runs what `tickrail backtest` runs per input — the [`HistoricalMarket`]
//! (the venue's books, queue positions, fills, latencies) over a [`VecFeed`] of those
//! events, the [`Runner`] (timers, Sequencer, outbox, submits) and the config's chain from
//! `build_chain` — into a sink of the caller's choice; timed runs use [`NullSink`]
//! (output journaling off) and leave the report collector out.
//!
//! The per-part split ([`split`]) replays what one recorded run did, part by part, each
//! into fresh state:
//!
//! - the venue alone: every call the runner made to the market (`next_due_ns`,
//!   `next_input`, `submit` with its time and request), in order, against a fresh market —
//!   checked once to return exactly what it returned in the recorded run;
//! - the Sequencer, the fused chain, the signal stage and the order stage over the recorded
//!   inputs ([`stage_harness::measure_stage`], after [`stage_harness::verify_replay`] checked
//!   the replay emits the recorded outputs);
//! - one pass of books (`MarketBook::apply` per venue and instrument on the book events),
//!   and books plus features (the signal stage's feature engines on the reference venue's
//!   books and on every trade), each a stage of its own built from the config.
//!
//! The chain applies each book event twice (the signal stage's reference book and the
//! order stage's per-venue book) and the venue once more: the report states those counts.

use std::time::Duration;

use anyhow::{ensure, Context, Result};
use tickrail_engine::book::MarketBook;
use tickrail_engine::codec::archive_event;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::features::FeatureEngine;
use tickrail_engine::pipeline::{build_chain, max_outputs_per_event, BookSizing, TradingChain};
use tickrail_engine::runtime::{clock, Market};
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{Event, EventBody};
use tickrail_gateways::feed::{FeedSource, FeedStats};
use tickrail_replay::backtest::{BacktestError, BacktestParams, HistoricalMarket, QueueModel};
use tickrail_replay::backtest_job::{open_feed, DataFormat, DataSpec};
use tickrail_replay::{NullSink, Recorder, RunSummary, Runner, Sink};

use crate::stage_harness::{self, Measured, Recording};

/// A [`FeedSource`] over events already in memory.
#[derive(Debug)]
pub struct VecFeed<'a> {
    events: &'a [Event],
    next: usize,
    stats: FeedStats,
}

impl<'a> VecFeed<'a> {
    /// A feed yielding `events` in order; `stats` is what [`FeedSource::stats`] answers.
    pub fn new(events: &'a [Event], stats: FeedStats) -> Self {
        Self {
            events,
            next: 0,
            stats,
        }
    }
}

impl FeedSource for VecFeed<'_> {
    #[inline]
    fn next_event(&mut self) -> Option<Event> {
        let e = self.events.get(self.next).copied();
        self.next += usize::from(e.is_some());
        e
    }

    fn stats(&self) -> &FeedStats {
        &self.stats
    }
}

/// The data of a run, decoded.
#[derive(Debug)]
pub struct Workload {
    /// The merged feed's events, in the order the backtest reads them.
    pub events: Vec<Event>,
    /// The format of the first file (it picks the queue model, as in a backtest).
    pub format: DataFormat,
    /// The adapters' counters.
    pub feed_stats: FeedStats,
}

impl Workload {
    /// Market data events (every event of the feed).
    pub fn data_events(&self) -> u64 {
        self.events.len() as u64
    }
}

/// Decodes `data` for `cfg`'s first venue into memory.
pub fn load(cfg: &EngineConfig, data: &DataSpec) -> Result<Workload> {
    let venue = cfg.venues.first().context("the config has no venue")?.id;
    let (mut feed, format) = open_feed(cfg, data, venue)?;
    let mut events = Vec::with_capacity(1 << 20);
    while let Some(e) = feed.next_event() {
        events.push(e);
    }
    let feed_stats = feed.stats().clone();
    if let Some(fatal) = &feed_stats.fatal {
        anyhow::bail!("reading the data failed: {fatal}");
    }
    Ok(Workload {
        events,
        format,
        feed_stats,
    })
}

/// The historical venue's parameters, as `backtest_job` sets them for `format`.
pub fn params(cfg: &EngineConfig, format: DataFormat) -> Result<BacktestParams> {
    let venue = cfg.venues.first().context("the config has no venue")?;
    Ok(BacktestParams {
        venue: venue.id,
        feed_latency_ns: (format == DataFormat::Itch).then_some(venue.feed_latency_ns),
        entry_latency_ns: venue.entry_latency_ns,
        ack_latency_ns: venue.ack_latency_ns,
        queue: if format.per_order() {
            QueueModel::Fifo
        } else {
            QueueModel::Probabilistic { power: 2.0 }
        },
        book: BookSizing::default(),
    })
}

/// A fresh market over the workload's events.
pub fn market<'a>(cfg: &EngineConfig, w: &'a Workload) -> Result<HistoricalMarket<VecFeed<'a>>> {
    let feed = VecFeed::new(&w.events, w.feed_stats.clone());
    Ok(HistoricalMarket::new(
        feed,
        params(cfg, w.format)?,
        &cfg.instruments,
    )?)
}

/// The backtest's runner: a fresh market, Runner and chain, the config's timers.
pub fn runner<'a>(
    cfg: &EngineConfig,
    w: &'a Workload,
) -> Result<Runner<HistoricalMarket<VecFeed<'a>>, TradingChain>> {
    Ok(Runner::new(
        market(cfg, w)?,
        build_chain(cfg, BookSizing::default())?,
        cfg.instruments.len(),
        max_outputs_per_event(cfg),
    )
    .with_timers(cfg.timers()))
}

/// One timed run of the whole loop into `sink` (construction not timed).
pub fn run_loop(
    cfg: &EngineConfig,
    w: &Workload,
    sink: &mut impl Sink,
) -> Result<(Duration, RunSummary)> {
    let mut r = runner(cfg, w)?;
    let t0 = clock::monotonic();
    r.run(sink);
    let elapsed = clock::monotonic() - t0;
    let summary = r.summary().clone();
    ensure!(
        summary.submit_errors == 0 && summary.outbox_overflows == 0,
        "the run was not clean: {summary:?}"
    );
    Ok((elapsed, summary))
}

/// A sink folding every input's and output's archived bytes into a 64-bit FNV-1a digest:
/// two runs with the same digest journal the same bytes.
#[derive(Debug, Clone, Copy)]
pub struct DigestSink {
    /// The digest so far.
    pub digest: u64,
}

impl Default for DigestSink {
    fn default() -> Self {
        Self {
            digest: 0xcbf2_9ce4_8422_2325,
        }
    }
}

impl DigestSink {
    fn fold(&mut self, tag: u8, event: &Event) {
        let mut h = self.digest;
        for &b in std::iter::once(&tag).chain(archive_event(event).iter()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.digest = h;
    }
}

impl Sink for DigestSink {
    fn input(&mut self, event: &Event) {
        self.fold(0, event);
    }
    fn output(&mut self, event: &Event) {
        self.fold(1, event);
    }
}

/// One call the runner made to its market, with what the market answered (checked once).
#[derive(Debug, Clone, Copy)]
enum Answer {
    NextDue(Option<i64>),
    NextInput(Option<Event>),
    Submit(bool),
}

/// The calls the runner made to its market, in order: one byte per call, the submitted
/// requests apart (the timed replay streams 1 byte per call, not an `Event`), and the
/// answers for the checking pass.
#[derive(Debug, Default)]
struct CallLog {
    ops: Vec<u8>,
    submits: Vec<(i64, Event)>,
    answers: Vec<Answer>,
}

const NEXT_DUE: u8 = 0;
const NEXT_INPUT: u8 = 1;
const SUBMIT: u8 = 2;

/// A market that records every call made to it and its answer.
#[derive(Debug)]
struct Logged<M> {
    inner: M,
    log: CallLog,
}

impl<M: Market> Market for Logged<M> {
    type Error = M::Error;

    fn next_input(&mut self) -> Option<Event> {
        let e = self.inner.next_input();
        self.log.ops.push(NEXT_INPUT);
        self.log.answers.push(Answer::NextInput(e));
        e
    }

    fn next_due_ns(&mut self) -> Option<i64> {
        let d = self.inner.next_due_ns();
        self.log.ops.push(NEXT_DUE);
        self.log.answers.push(Answer::NextDue(d));
        d
    }

    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), M::Error> {
        let r = self.inner.submit(now_ns, request);
        self.log.ops.push(SUBMIT);
        self.log.submits.push((now_ns, *request));
        self.log.answers.push(Answer::Submit(r.is_ok()));
        r
    }
}

/// Replays the logged calls into `market`, untimed, failing on the first answer that
/// differs from the logged one. Returns the inputs it returned.
fn replay_checked<M: Market<Error = BacktestError>>(market: &mut M, log: &CallLog) -> Result<u64> {
    let mut inputs = 0u64;
    let mut submits = log.submits.iter();
    for (k, (&op, answer)) in log.ops.iter().zip(&log.answers).enumerate() {
        match (op, *answer) {
            (NEXT_DUE, Answer::NextDue(want)) => {
                let got = market.next_due_ns();
                ensure!(got == want, "call {k}: next_due {got:?} != {want:?}");
            }
            (NEXT_INPUT, Answer::NextInput(want)) => {
                let got = market.next_input();
                inputs += u64::from(got.is_some());
                ensure!(got == want, "call {k}: next_input differs");
            }
            (SUBMIT, Answer::Submit(ok)) => {
                let (now, request) = submits.next().context("fewer submits than logged")?;
                let got = market.submit(*now, request).is_ok();
                ensure!(got == ok, "call {k}: submit {got} != {ok}");
            }
            _ => anyhow::bail!("call {k}: the log is inconsistent"),
        }
    }
    Ok(inputs)
}

/// Replays the logged calls into `market` (the timed pass). Returns the inputs returned.
fn replay<M: Market>(market: &mut M, log: &CallLog) -> u64 {
    let mut inputs = 0u64;
    let mut submits = log.submits.iter();
    for &op in &log.ops {
        match op {
            NEXT_DUE => {
                std::hint::black_box(market.next_due_ns());
            }
            NEXT_INPUT => inputs += u64::from(market.next_input().is_some()),
            _ => {
                if let Some((now, request)) = submits.next() {
                    std::hint::black_box(market.submit(*now, request).is_ok());
                }
            }
        }
    }
    inputs
}

/// What one run did, recorded for the split.
#[derive(Debug)]
pub struct Recorded {
    log: CallLog,
    /// The chain's inputs and outputs (for the stage rows).
    pub recording: Recording,
    /// The runner's summary.
    pub summary: RunSummary,
}

/// Runs the loop once with every market call and every input and output recorded.
pub fn record(cfg: &EngineConfig, w: &Workload) -> Result<Recorded> {
    let logged = Logged {
        inner: market(cfg, w)?,
        log: CallLog::default(),
    };
    let max_outputs = max_outputs_per_event(cfg);
    let mut r = Runner::new(
        logged,
        build_chain(cfg, BookSizing::default())?,
        cfg.instruments.len(),
        max_outputs,
    )
    .with_timers(cfg.timers());
    let mut rec = Recorder::default();
    let summary = r.run(&mut rec).clone();
    // The order stage's input stream: each input, then the signal stage's outputs for it.
    let mut signal = build_chain(cfg, BookSizing::default())?.upstream;
    let mut out = Outbox::new(max_outputs, 1);
    let mut order_stage_inputs = Vec::with_capacity(rec.inputs.len() * 2);
    for e in &rec.inputs {
        order_stage_inputs.push(*e);
        signal.on_event(e, &mut out);
        order_stage_inputs.extend_from_slice(out.events());
        out.clear();
    }
    let log = &r.market().log;
    Ok(Recorded {
        log: CallLog {
            ops: log.ops.clone(),
            submits: log.submits.clone(),
            answers: log.answers.clone(),
        },
        recording: Recording {
            inputs: rec.inputs,
            outputs: rec.outputs,
            order_stage_inputs,
            max_outputs,
            n_instruments: cfg.instruments.len(),
        },
        summary,
    })
}

/// The venue alone: the logged calls against a fresh market, untimed once with every
/// answer checked, then timed.
pub fn measure_venue(cfg: &EngineConfig, w: &Workload, rec: &Recorded) -> Result<Measured> {
    let inputs = replay_checked(&mut market(cfg, w)?, &rec.log)?;
    let mut m = market(cfg, w)?;
    let t0 = clock::monotonic();
    let n = replay(&mut m, &rec.log);
    let elapsed = clock::monotonic() - t0;
    ensure!(
        n == inputs,
        "venue replay returned {n} inputs, not {inputs}"
    );
    Ok(Measured {
        // Not timed call by call: the calls are too fine-grained for a clock pair each.
        latency: crate::report::Latency::of(&crate::report::latency_histogram()?),
        calls: inputs,
        elapsed,
        outputs: n,
    })
}

/// Books only: one `MarketBook` per (venue, instrument), every book event applied.
#[derive(Debug)]
pub struct BooksOnly {
    venues: Vec<u16>,
    n: usize,
    books: Vec<MarketBook>,
}

impl BooksOnly {
    /// Books for the config's router venues and instruments.
    pub fn new(cfg: &EngineConfig) -> Self {
        let venues: Vec<u16> = cfg.router.venues.iter().map(|v| v.venue).collect();
        let n = cfg.instruments.len();
        let s = BookSizing::default();
        Self {
            books: (0..n * venues.len())
                .map(|_| MarketBook::new(s.max_orders, s.max_levels))
                .collect(),
            venues,
            n,
        }
    }

    fn apply(&mut self, event: &Event) -> Option<usize> {
        let i = usize::try_from(event.header.instrument.get())
            .ok()
            .filter(|&i| i < self.n)?;
        let slot = self.venues.iter().position(|&v| v == event.header.source)?;
        let book = self.books.get_mut(slot * self.n + i)?;
        (book.apply(event) && slot == 0).then_some(i)
    }
}

fn is_book(e: &Event) -> bool {
    matches!(
        e.body,
        EventBody::Quote { .. }
            | EventBody::BookLevel { .. }
            | EventBody::OrderAdd { .. }
            | EventBody::OrderModify { .. }
            | EventBody::OrderDelete { .. }
            | EventBody::OrderExecute { .. }
            | EventBody::OrderReplace { .. }
    )
}

impl Stage for BooksOnly {
    fn on_event(&mut self, event: &Event, _out: &mut Outbox) {
        if is_book(event) {
            std::hint::black_box(self.apply(event));
        }
    }
}

/// Books and features: the reference venue's books (as [`BooksOnly`]) and a feature engine
/// per instrument, updated on reference book changes and on every trade, as the signal
/// stage does before it calls the model.
#[derive(Debug)]
pub struct BooksAndFeatures {
    books: BooksOnly,
    features: Vec<FeatureEngine>,
}

impl BooksAndFeatures {
    /// From the config.
    pub fn new(cfg: &EngineConfig) -> Result<Self> {
        Ok(Self {
            books: BooksOnly::new(cfg),
            features: (0..cfg.instruments.len())
                .map(|_| FeatureEngine::new(cfg.features.clone()))
                .collect::<Result<Vec<_>, _>>()?,
        })
    }
}

impl Stage for BooksAndFeatures {
    fn on_event(&mut self, event: &Event, _out: &mut Outbox) {
        let h = event.header;
        if is_book(event) {
            if let (Some(i), Some(f)) = (
                self.books.apply(event),
                usize::try_from(h.instrument.get()).ok(),
            ) {
                if let (Some(fe), Some(book)) = (self.features.get_mut(f), self.books.books.get(i))
                {
                    fe.on_book(h.exchange_ts_ns, book, h.price_scale);
                    std::hint::black_box(fe.values());
                }
            }
        } else if let EventBody::Trade {
            aggressor,
            price,
            qty,
            ..
        } = event.body
        {
            let Some(fe) = usize::try_from(h.instrument.get())
                .ok()
                .and_then(|i| self.features.get_mut(i))
            else {
                return;
            };
            fe.on_trade(
                h.exchange_ts_ns,
                price.raw(),
                qty.raw(),
                aggressor,
                h.price_scale,
                h.qty_scale,
            );
            std::hint::black_box(fe.values());
        }
    }
}

/// The split of one repetition: each row's untimed mean.
#[derive(Debug, Clone)]
pub struct Split {
    /// `(row, measured)`, in report order.
    pub rows: Vec<(&'static str, Measured)>,
}

/// Measures every part over the recorded run.
pub fn split(cfg: &EngineConfig, w: &Workload, rec: &Recorded) -> Result<Split> {
    let r = &rec.recording;
    let mo = r.max_outputs;
    let mut rows = vec![("historical venue", measure_venue(cfg, w, rec)?)];
    rows.push(("Sequencer", stage_harness::measure_sequencer(r)?));
    rows.push((
        "books, one pass (venue x instrument)",
        stage_harness::measure_stage(&r.inputs, mo, || Ok(BooksOnly::new(cfg)))?,
    ));
    rows.push((
        "books + features",
        stage_harness::measure_stage(&r.inputs, mo, || BooksAndFeatures::new(cfg))?,
    ));
    rows.push((
        "SignalStage (books, features, model)",
        stage_harness::measure_stage(&r.inputs, mo, || stage_harness::signal_stage(cfg))?,
    ));
    rows.push((
        "OrderStage (books, strategy, router, risk, OMS)",
        stage_harness::measure_stage(&r.order_stage_inputs, mo, || {
            stage_harness::order_stage(cfg)
        })?,
    ));
    rows.push((
        "fused chain",
        stage_harness::measure_stage(&r.inputs, mo, || stage_harness::chain(cfg))?,
    ));
    Ok(Split { rows })
}

/// The timed loop with a [`NullSink`].
pub fn measure_loop(cfg: &EngineConfig, w: &Workload) -> Result<(Duration, RunSummary)> {
    run_loop(cfg, w, &mut NullSink)
}
