//! The threaded pipeline benchmark: tick-to-order latency under coordinated-omission
//! corrected load at fixed rates, and sustained throughput with journaling on.
//!
//! The synthetic stream of a config is recorded once ([`crate::stage_harness::record`]: the
//! single-thread runner's Sequencer-stamped inputs and the chain's outputs). Each
//! measurement starts a fresh engine ([`tickrail_engine::runtime::start`]: stage threads,
//! journaler, rings, journals in a fresh run directory) and replays the recorded inputs into
//! its [`InputSide`] from a feed thread spawned for the run and pinned as the layout says
//! (the caller's thread stays unpinned, because the engine's threads inherit its affinity
//! and `runtime::threads::pin` only finds cores inside it). Every pin of the layout is
//! checked in `/proc` before the measurement. The feed thread runs the live feed loop
//! itself ([`FeedLoop`]) over a [`RecordedMarket`]: it reads the output ring as in a live
//! run — every order request waits for the journal gate (`before-send`) before it "leaves"
//! — and a [`FeedObserver`] measures. The replayed chain is deterministic, so it emits the
//! recorded outputs; every output is compared with the recorded one and a run that differs
//! is an error.
//!
//! - [`run_paced`]: input *i* (0-based) is offered at its intended time `t0 + i / rate` (the
//!   feed loop's `pace = "realtime"` over a market whose input *i* is due `i / rate` after
//!   the first; it drains the output ring meanwhile). Tick-to-order of each
//!   `OrderNew` is measured from the intended time of its cause input (`cause_sequence`),
//!   not from when it was actually published: a stall anywhere (feed, ring full, stage,
//!   journal) delays the later inputs against their schedule, and that delay shows in their
//!   samples instead of being hidden (coordinated omission). A ring-full input is offered
//!   again, never dropped; quote conflation is off so every input is processed.
//! - [`run_flat_out`]: every input offered as fast as the engine takes them (held-input
//!   retry on a full ring); time from the first offer until every thread has finished
//!   (everything processed and journaled).
//!
//! [`LayoutKind`] picks the threads: the config's, the chain split over two stage threads,
//! or the chain inline on the feed thread (`config/small.toml`'s layout: the feed thread
//! stamps, runs the chain and sends; the journaler on the other core). Inline, the
//! "published" time of an input is its stamp, and an output's is when the feed thread put
//! it on the output ring, right after the chain returned.

use std::path::Path;
use std::thread;

use anyhow::{bail, ensure, Context, Result};
use hdrhistogram::Histogram;
use tickrail_engine::config::{EngineConfig, Pace, StageName, ThreadRole, ThreadSpec};
use tickrail_engine::runtime::clock::now_ns;
use tickrail_engine::runtime::counters::{get, Counters};
use tickrail_engine::runtime::threads::pin;
use tickrail_engine::runtime::{
    start, FeedLoop, FeedObserver, FeedReport, Finished, InlineRun, InputSide, LiveControl,
    LiveMarket, Market, Offered, OutputTap, Slot, WaitKind,
};
use tickrail_engine::timers::Timers;
use tickrail_engine::{Event, EventBody};

use crate::report::{latency_histogram, Latency};
use crate::stage_harness::Recording;

/// Lead time between the engine's start and the first intended offer (threads come up).
pub const LEAD_NS: u64 = 2_000_000;

/// The layout a measurement runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind {
    /// The config's own threads.
    Config,
    /// The chain split over two stage threads: signal | order, on these cores.
    Split {
        /// The signal thread's core.
        signal_core: Option<usize>,
        /// The order thread's core.
        order_core: Option<usize>,
    },
    /// The whole chain inline on the feed thread (`config/small.toml`'s layout): the feed
    /// thread and the journaler only, on these cores.
    Inline {
        /// The feed thread's core (Sequencer, chain, order gateway).
        feed_core: Option<usize>,
        /// The journaler's core.
        journal_core: Option<usize>,
    },
}

/// `base` prepared for a benchmark run: quote conflation off (every input is processed,
/// never replaced), the layout of `layout`, the feed and stage threads waiting the `waits`
/// way if given (the journal thread keeps its own), and no core pinning at all unless `pin`.
pub fn bench_config(
    base: &EngineConfig,
    layout: LayoutKind,
    waits: Option<WaitKind>,
    pin: bool,
) -> EngineConfig {
    let mut cfg = base.clone();
    let rt = &mut cfg.runtime;
    rt.conflate_quotes = false;
    rt.progress_interval_ms = 0;
    if let LayoutKind::Split {
        signal_core,
        order_core,
    } = layout
    {
        // Keep the config's feed and journal threads; its stage threads' wait for both.
        let stage_wait = rt
            .stage_threads()
            .next()
            .map_or(WaitKind::Yield, |(t, _)| t.wait);
        let mut threads: Vec<ThreadSpec> = rt
            .threads
            .iter()
            .filter(|t| t.role == ThreadRole::Feed)
            .cloned()
            .collect();
        for (name, stage, core) in [
            ("signal", StageName::Signal, signal_core),
            ("order", StageName::Order, order_core),
        ] {
            threads.push(ThreadSpec {
                name: name.into(),
                role: ThreadRole::Stages(vec![stage]),
                core,
                wait: stage_wait,
            });
        }
        threads.extend(
            rt.threads
                .iter()
                .filter(|t| t.role == ThreadRole::Journal)
                .cloned(),
        );
        rt.threads = threads;
        rt.inline_chain = false;
    }
    if let LayoutKind::Inline {
        feed_core,
        journal_core,
    } = layout
    {
        // The config's feed and journal threads, moved to these cores; no stage thread.
        rt.threads
            .retain(|t| matches!(t.role, ThreadRole::Feed | ThreadRole::Journal));
        for t in &mut rt.threads {
            t.core = if t.role == ThreadRole::Feed {
                feed_core
            } else {
                journal_core
            };
        }
        rt.inline_chain = true;
    }
    for t in &mut rt.threads {
        if !pin {
            t.core = None;
        }
        if let (Some(w), false) = (waits, t.role == ThreadRole::Journal) {
            t.wait = w;
        }
    }
    cfg
}

/// The feed thread's spec in `cfg`.
pub fn feed_spec(cfg: &EngineConfig) -> Result<ThreadSpec> {
    cfg.runtime
        .thread(&ThreadRole::Feed)
        .cloned()
        .context("the layout has no feed thread")
}

/// The core the chain runs on in `cfg`: the first stage thread's, or with the chain inline
/// the feed thread's.
pub fn first_stage_core(cfg: &EngineConfig) -> Option<usize> {
    if cfg.runtime.inline_chain {
        return cfg.runtime.thread(&ThreadRole::Feed).and_then(|t| t.core);
    }
    cfg.runtime.stage_threads().next().and_then(|(t, _)| t.core)
}

/// The core at the other end of the first ring the feed thread publishes inputs to: the
/// first stage thread's, or with the chain inline the journaler's.
pub fn input_peer_core(cfg: &EngineConfig) -> Option<usize> {
    if cfg.runtime.inline_chain {
        return cfg
            .runtime
            .thread(&ThreadRole::Journal)
            .and_then(|t| t.core);
    }
    first_stage_core(cfg)
}

/// Checks that the recording's inputs are numbered 1, 2, 3, … in order (the runtime's
/// Sequencer numbers them again from 1, in offer order: the same numbers).
pub fn check_recording(rec: &Recording) -> Result<()> {
    for (i, e) in rec.inputs.iter().enumerate() {
        ensure!(
            e.header.sequence == i as u64 + 1,
            "recorded input {i} has sequence {}, expected {}",
            e.header.sequence,
            i + 1
        );
    }
    Ok(())
}

/// `OrderNew` outputs in the recording.
pub fn order_news(rec: &Recording) -> u64 {
    rec.outputs
        .iter()
        .filter(|e| matches!(e.body, EventBody::OrderNew { .. }))
        .count() as u64
}

/// One stage thread's breakdown (per input it processed).
#[derive(Debug, Clone)]
pub struct StageRow {
    /// The thread's name.
    pub thread: String,
    /// Publication on its input ring → start of its processing (hop and queueing); `None`
    /// for the feed thread running the chain inline (no hop).
    pub hop: Option<Latency>,
    /// Signal stage time per input, where this thread runs it.
    pub signal: Option<Latency>,
    /// Order stage time per input, where this thread runs it.
    pub order: Option<Latency>,
}

/// What the feed/gateway thread measured and checked in one run.
#[derive(Debug, Clone)]
pub struct GatewayReport {
    /// Outputs read.
    pub outputs: u64,
    /// `OrderNew` outputs read.
    pub order_news: u64,
    /// Order requests (new, cancel, amend) that passed the journal gate.
    pub requests: u64,
    /// Outputs that differed from the recording (0 in a correct run).
    pub mismatches: u64,
    /// The first difference, if any.
    pub first_mismatch: Option<String>,
    /// Intended offer time of the cause input → gateway reads the `OrderNew` (paced only).
    pub corrected: Option<Latency>,
    /// Intended offer time → the `OrderNew` passes the journal gate (may leave).
    pub corrected_sent: Option<Latency>,
    /// Actual publication of the cause input (`Slot::ingress_ns`) → gateway reads it.
    pub uncorrected: Latency,
    /// Per `OrderNew`: its cause input published on the input ring → the `OrderNew`
    /// published on the output ring (input hop, queueing, the stages' work for that input
    /// up to this output). With [`GatewayReport::order_out_hop`] it sums to `uncorrected`.
    pub order_chain: Latency,
    /// Per `OrderNew`: published on the output ring → gateway reads it.
    pub order_out_hop: Latency,
    /// Last stage thread publishes an output → gateway reads it (every output).
    pub output_hop: Latency,
    /// Time an order request waited for the journal gate.
    pub gate: Latency,
}

/// One paced run.
#[derive(Debug, Clone)]
pub struct PacedRun {
    /// Inputs per second offered.
    pub rate: u64,
    /// The gateway's measurements.
    pub gateway: GatewayReport,
    /// Intended time → the offer that published the input returned (every input): how far
    /// behind its schedule the feed was.
    pub offer_lag: Latency,
    /// Offers refused by a full input ring (and made again).
    pub full_retries: u64,
    /// First intended offer → last output read, ns.
    pub elapsed_ns: u64,
    /// The stage threads' breakdown, in chain order.
    pub stages: Vec<StageRow>,
    /// The layout's threads and the CPUs each was seen to be allowed on (checked).
    pub pins: String,
}

/// One flat-out run.
#[derive(Debug, Clone)]
pub struct FlatOutRun {
    /// Inputs offered and processed.
    pub inputs: u64,
    /// Records journaled (inputs and outputs).
    pub journaled: u64,
    /// First offer → `finish()` returned, ns.
    pub elapsed_ns: u64,
    /// First offer → the feed thread read the last output, ns.
    pub feed_ns: u64,
    /// Offers refused by a full input ring (and made again).
    pub full_retries: u64,
    /// The gateway's measurements.
    pub gateway: GatewayReport,
    /// The stage threads' breakdown, in chain order.
    pub stages: Vec<StageRow>,
    /// The layout's threads and the CPUs each was seen to be allowed on (checked).
    pub pins: String,
}

impl FlatOutRun {
    /// Millions of inputs per second.
    pub fn minputs_per_s(&self) -> f64 {
        self.inputs as f64 / (self.elapsed_ns.max(1) as f64 / 1e9) / 1e6
    }
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1));
}

fn summary(h: &Histogram<u64>) -> Latency {
    Latency::of(h)
}

/// The recorded inputs as a market: input *i* (0-based) is due `i / rate` s of event time
/// after the first (`rate = None`: all due at once); order requests go nowhere (the
/// [`Observer`] counts them).
#[derive(Debug)]
pub struct RecordedMarket {
    inputs: std::sync::Arc<[Event]>,
    rate: Option<u64>,
    next: usize,
}

impl RecordedMarket {
    fn due(&self, i: usize) -> i64 {
        self.rate.map_or(0, |r| {
            i64::try_from(i as u64 * 1_000_000_000 / r).unwrap_or(i64::MAX)
        })
    }
}

impl Market for RecordedMarket {
    type Error = std::convert::Infallible;
    fn next_input(&mut self) -> Option<Event> {
        let e = self.inputs.get(self.next).copied();
        self.next += usize::from(e.is_some());
        e
    }
    fn next_due_ns(&mut self) -> Option<i64> {
        (self.next < self.inputs.len()).then(|| self.due(self.next))
    }
    fn submit(&mut self, _now_ns: i64, _request: &Event) -> Result<(), Self::Error> {
        Ok(())
    }
}

impl LiveMarket for RecordedMarket {
    type Report = ();
    fn now_ns(&self) -> i64 {
        self.due(self.next.saturating_sub(1))
    }
    fn finish(&self) {}
}

/// The order gateway's measurements, taken through the feed loop's [`FeedObserver`]: checks
/// each output against the recording, measures the hops and the journal gate, and (paced)
/// the offer lag and coordinated-omission corrected tick-to-order.
struct Observer<'a> {
    expected: &'a [Event],
    rate: Option<u64>,
    t0: u64,
    next: usize,
    order_news: u64,
    requests: u64,
    mismatches: u64,
    first_mismatch: Option<String>,
    published: u64,
    full_retries: u64,
    offer_error: Option<String>,
    offer_lag: Histogram<u64>,
    corrected: Histogram<u64>,
    corrected_sent: Histogram<u64>,
    uncorrected: Histogram<u64>,
    order_chain: Histogram<u64>,
    order_out_hop: Histogram<u64>,
    output_hop: Histogram<u64>,
    gate: Histogram<u64>,
}

impl<'a> Observer<'a> {
    fn new(expected: &'a [Event], rate: Option<u64>) -> Result<Self> {
        Ok(Self {
            expected,
            rate,
            t0: 0,
            next: 0,
            order_news: 0,
            requests: 0,
            mismatches: 0,
            first_mismatch: None,
            published: 0,
            full_retries: 0,
            offer_error: None,
            offer_lag: latency_histogram()?,
            corrected: latency_histogram()?,
            corrected_sent: latency_histogram()?,
            uncorrected: latency_histogram()?,
            order_chain: latency_histogram()?,
            order_out_hop: latency_histogram()?,
            output_hop: latency_histogram()?,
            gate: latency_histogram()?,
        })
    }

    /// The intended offer time of the input with `sequence` (paced runs).
    #[inline]
    fn intended(&self, sequence: u64) -> Option<u64> {
        self.rate
            .map(|r| self.t0 + sequence.saturating_sub(1) * 1_000_000_000 / r)
    }

    fn report(self) -> GatewayReport {
        let paced = self.rate.is_some();
        GatewayReport {
            outputs: self.next as u64,
            order_news: self.order_news,
            requests: self.requests,
            mismatches: self.mismatches,
            first_mismatch: self.first_mismatch,
            corrected: paced.then(|| summary(&self.corrected)),
            corrected_sent: paced.then(|| summary(&self.corrected_sent)),
            uncorrected: summary(&self.uncorrected),
            order_chain: summary(&self.order_chain),
            order_out_hop: summary(&self.order_out_hop),
            output_hop: summary(&self.output_hop),
            gate: summary(&self.gate),
        }
    }
}

impl FeedObserver for Observer<'_> {
    fn started(&mut self, wall_ns: u64) {
        self.t0 = wall_ns;
    }

    fn output(&mut self, slot: &Slot, now: u64) {
        record(&mut self.output_hop, now.saturating_sub(slot.published_ns));
        let e = &slot.event;
        match self.expected.get(self.next) {
            Some(want) if want == e => {}
            want => {
                self.mismatches += 1;
                if self.first_mismatch.is_none() {
                    self.first_mismatch = Some(format!(
                        "output {}: expected {}, got {e}",
                        self.next + 1,
                        want.map_or_else(|| "nothing".to_string(), ToString::to_string)
                    ));
                }
            }
        }
        self.next += 1;
        if matches!(e.body, EventBody::OrderNew { .. }) {
            self.order_news += 1;
            record(&mut self.uncorrected, now.saturating_sub(slot.ingress_ns));
            record(
                &mut self.order_chain,
                slot.published_ns.saturating_sub(slot.ingress_ns),
            );
            record(
                &mut self.order_out_hop,
                now.saturating_sub(slot.published_ns),
            );
            if let Some(due) = self.intended(e.header.cause_sequence) {
                record(&mut self.corrected, now.saturating_sub(due));
            }
        }
    }

    fn sent(&mut self, request: &Event, read_ns: u64, sent_ns: u64) {
        record(&mut self.gate, sent_ns.saturating_sub(read_ns));
        self.requests += 1;
        if matches!(request.body, EventBody::OrderNew { .. }) {
            if let Some(due) = self.intended(request.header.cause_sequence) {
                record(&mut self.corrected_sent, sent_ns.saturating_sub(due));
            }
        }
    }

    fn offered(&mut self, result: &Offered) {
        let i = self.published;
        match *result {
            Offered::Published(seq) if seq == i + 1 => {
                self.published += 1;
                if let Some(due) = self.intended(seq) {
                    record(&mut self.offer_lag, now_ns().saturating_sub(due));
                }
            }
            Offered::Full => self.full_retries += 1,
            other => {
                self.published += 1;
                self.offer_error.get_or_insert(format!(
                    "input {i}: {other:?} (expected publication with sequence {}; conflation is off)",
                    i + 1
                ));
            }
        }
    }
}

/// The stage threads' breakdown from a finished run.
fn stage_rows(f: &Finished) -> Vec<StageRow> {
    let opt = |l: &tickrail_engine::runtime::latency::Latency| {
        (l.count() > 0).then(|| summary(l.histogram()))
    };
    f.stages
        .iter()
        .map(|(name, _, lat)| StageRow {
            thread: name.clone(),
            hop: opt(&lat.hop),
            signal: opt(&lat.signal),
            order: opt(&lat.order),
        })
        .collect()
}

/// Checks a finished run: no panic, no journal error, nothing lost, every input and the
/// recorded outputs processed and journaled, the outputs equal to the recording's.
fn check_run(rec: &Recording, f: &Finished, gw: &GatewayReport, counters: &Counters) -> Result<()> {
    ensure!(f.panicked.is_empty(), "threads panicked: {:?}", f.panicked);
    if let Some(e) = &f.journal.error {
        bail!("journal error: {e}");
    }
    let n = rec.inputs.len() as u64;
    let outs = rec.outputs.len() as u64;
    ensure!(
        gw.mismatches == 0 && gw.outputs == outs,
        "outputs differ from the recording: {} of {} differ, {} read, {} recorded; first: {}",
        gw.mismatches,
        gw.outputs,
        gw.outputs,
        outs,
        gw.first_mismatch.as_deref().unwrap_or("–")
    );
    ensure!(
        gw.order_news == order_news(rec),
        "OrderNew outputs: {} read, {} recorded",
        gw.order_news,
        order_news(rec)
    );
    ensure!(
        f.journal.inputs == n && f.journal.outputs == outs,
        "journal: {} inputs / {} outputs written, expected {n} / {outs}",
        f.journal.inputs,
        f.journal.outputs
    );
    ensure!(
        get(&counters.chain.inputs) == n,
        "the chain processed {} inputs, expected {n}",
        get(&counters.chain.inputs)
    );
    ensure!(
        get(&counters.chain.lost_outputs) == 0 && get(&counters.feed.conflated) == 0,
        "lost outputs {}, conflated quotes {}",
        get(&counters.chain.lost_outputs),
        get(&counters.feed.conflated)
    );
    Ok(())
}

/// The CPUs each thread of this process may run on (`Cpus_allowed_list` of
/// `/proc/self/task/*/status`), by thread name; empty where `/proc` is not there.
pub fn thread_cpus() -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return Vec::new();
    };
    let mut v: Vec<(String, String)> = dir
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = std::fs::read_to_string(p.join("comm")).ok()?;
            let status = std::fs::read_to_string(p.join("status")).ok()?;
            let cpus = status
                .lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?;
            Some((name.trim().to_string(), cpus.trim().to_string()))
        })
        .collect();
    v.sort();
    v
}

/// Checks that every thread the layout pins (the engine's and the feed thread) runs on its
/// core only, waiting up to 200 ms for the engine's threads to pin themselves; returns
/// `name core, …` of the layout's threads. (`runtime::threads::pin` fails silently for a
/// core outside the spawning thread's affinity mask, so this is worth checking.)
fn check_pins(cfg: &EngineConfig) -> Result<String> {
    let deadline = now_ns() + 200_000_000;
    loop {
        let tasks = thread_cpus();
        let mut wrong = Vec::new();
        let mut seen = Vec::new();
        for t in &cfg.runtime.threads {
            // Linux thread names are cut to 15 bytes.
            let comm: String = t.name.chars().take(15).collect();
            let cpus: Vec<&str> = tasks
                .iter()
                .filter(|(n, _)| *n == comm)
                .map(|(_, c)| c.as_str())
                .collect();
            let shown = if cpus.is_empty() {
                "?".to_string()
            } else {
                cpus.join("+")
            };
            seen.push(format!("{} {shown}", t.name));
            if let Some(core) = t.core {
                if !tasks.is_empty() && cpus.iter().any(|c| *c != core.to_string()) {
                    wrong.push(format!(
                        "thread {} may run on CPUs {shown}, the layout pins it to core {core}",
                        t.name
                    ));
                }
            }
        }
        if wrong.is_empty() {
            return Ok(seen.join(", "));
        }
        if now_ns() > deadline {
            bail!("{}", wrong.join("; "));
        }
        thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// Starts a fresh engine for `cfg` under `run_dir` on the calling thread (which must not be
/// pinned, or the engine's threads could not pin themselves elsewhere), runs `feed` on a
/// feed thread pinned as the layout says (after checking every pin), then joins the engine.
///
/// `feed` hands back the chain if the feed thread ran it inline ([`FeedReport::chain`]);
/// it is added to the finished run's stages under the feed thread's name, as a live run
/// does.
fn with_engine<T: Send>(
    cfg: &EngineConfig,
    run_dir: &Path,
    feed: impl FnOnce(InputSide, OutputTap, &Counters) -> Result<(T, Option<InlineRun>)> + Send,
) -> Result<(T, Finished, String, std::sync::Arc<Counters>)> {
    let spec = feed_spec(cfg)?;
    let started = start(cfg, run_dir).context("start the engine")?;
    let (input, output, running) = (started.input, started.output, started.running);
    let counters = running.counters.clone();
    let fed = thread::scope(|s| {
        thread::Builder::new()
            .name(spec.name.clone())
            .spawn_scoped(s, || -> Result<((T, Option<InlineRun>), String)> {
                ensure!(
                    pin(spec.core),
                    "pin the feed thread to core {:?} failed",
                    spec.core
                );
                let pins = match check_pins(cfg) {
                    Ok(p) => p,
                    Err(e) => {
                        // Close both rings so that the engine's threads end.
                        drop((input, output));
                        return Err(e);
                    }
                };
                Ok((feed(input, output, &counters)?, pins))
            })
            .map_err(|e| anyhow::anyhow!("spawn the feed thread: {e}"))
            .and_then(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("the feed thread panicked"))
            })
    });
    // The feed thread dropped the input side (closing the input ring) whatever happened:
    // the engine's threads drain and end.
    let mut finished = running.finish(None);
    let ((t, chain), pins) = fed??;
    if let Some(c) = chain {
        finished
            .stages
            .insert(0, (spec.name.clone(), c.part, c.latencies));
    }
    Ok((t, finished, pins, counters))
}

/// What a feed loop hands back.
struct Fed {
    gateway: GatewayReport,
    offer_lag: Option<Latency>,
    full_retries: u64,
    t0: u64,
    t_end: u64,
}

/// Runs the live feed loop on this (the feed) thread over the recorded inputs — due
/// `i / rate` apart with `rate`, all at once without — after a lead time for the engine's
/// threads to come up.
fn feed(
    cfg: &EngineConfig,
    rec: &Recording,
    rate: Option<u64>,
    input: InputSide,
    output: OutputTap,
    counters: &Counters,
) -> Result<(Fed, Option<InlineRun>)> {
    let spec = feed_spec(cfg)?;
    let market = RecordedMarket {
        inputs: rec.inputs.clone().into(),
        rate,
        next: 0,
    };
    let pace = if rate.is_some() {
        Pace::Realtime
    } else {
        Pace::Max
    };
    let control = LiveControl::default();
    let observer = Observer::new(&rec.outputs, rate)?;
    // Let the engine's threads settle.
    let t_up = now_ns() + LEAD_NS;
    while now_ns() < t_up {
        thread::yield_now();
    }
    // The recording holds the timer events already: the loop adds none.
    let (mut report, obs): (FeedReport<()>, _) = FeedLoop::new(
        market,
        Timers::new(),
        input,
        output,
        &counters.feed,
        &control,
        pace,
        spec.wait,
        observer,
    )
    .run();
    let t_end = now_ns();
    if let Some(e) = &obs.offer_error {
        bail!("{e}");
    }
    ensure!(
        obs.published == rec.inputs.len() as u64,
        "{} inputs published, {} recorded",
        obs.published,
        rec.inputs.len()
    );
    let fed = Fed {
        offer_lag: rate.map(|_| summary(&obs.offer_lag)),
        full_retries: obs.full_retries,
        t0: obs.t0,
        t_end,
        gateway: obs.report(),
    };
    Ok((fed, report.chain.take()))
}

/// Offers the recorded inputs at `rate` per second into a fresh engine for `cfg`
/// journaling under `run_dir`, from a feed thread pinned per the layout. Call it from an
/// unpinned thread.
pub fn run_paced(
    cfg: &EngineConfig,
    rec: &Recording,
    rate: u64,
    run_dir: &Path,
) -> Result<PacedRun> {
    ensure!(rate > 0, "rate must be positive");
    let (fed, finished, pins, counters) = with_engine(cfg, run_dir, |input, output, counters| {
        feed(cfg, rec, Some(rate), input, output, counters)
    })?;
    check_run(rec, &finished, &fed.gateway, &counters)?;
    Ok(PacedRun {
        rate,
        gateway: fed.gateway,
        offer_lag: fed
            .offer_lag
            .context("the paced loop measures the offer lag")?,
        full_retries: fed.full_retries,
        elapsed_ns: fed.t_end.saturating_sub(fed.t0),
        stages: stage_rows(&finished),
        pins,
    })
}

/// Offers every recorded input as fast as the engine takes them into a fresh engine for
/// `cfg` journaling under `run_dir`, from a feed thread pinned per the layout; times the
/// first offer until every engine thread has finished (everything processed and
/// journaled). Call it from an unpinned thread.
pub fn run_flat_out(cfg: &EngineConfig, rec: &Recording, run_dir: &Path) -> Result<FlatOutRun> {
    let n = rec.inputs.len();
    let (fed, finished, pins, counters) = with_engine(cfg, run_dir, |input, output, counters| {
        feed(cfg, rec, None, input, output, counters)
    })?;
    // `finish()` has returned: every thread is done and both journals are closed.
    let elapsed_ns = now_ns().saturating_sub(fed.t0);
    check_run(rec, &finished, &fed.gateway, &counters)?;
    Ok(FlatOutRun {
        inputs: n as u64,
        journaled: finished.journal.inputs + finished.journal.outputs,
        elapsed_ns,
        feed_ns: fed.t_end.saturating_sub(fed.t0),
        full_retries: fed.full_retries,
        gateway: fed.gateway,
        stages: stage_rows(&finished),
        pins,
    })
}
