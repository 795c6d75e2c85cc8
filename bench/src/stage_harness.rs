//! The trading-logic benchmark: what each stage, the fused chain and each model kind cost
//! per event, on a recorded synthetic stream.
//!
//! A run of the single-thread [`Runner`] over the synthetic market of a config is recorded
//! once (its Sequencer-stamped inputs and the chain's outputs). Every measurement then
//! builds fresh stages from the same config and replays the recorded inputs into them, so
//! they do exactly the work of the recorded run — [`verify_replay`] checks that the replayed
//! outputs equal the recorded ones before anything is timed.

use std::hint::black_box;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use hdrhistogram::Histogram;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::model::Model;
use tickrail_engine::pipeline::{
    build_chain, max_outputs_per_event, BookSizing, OrderStage, SignalStage, TradingChain,
};
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::stage::{Outbox, Stage};
use tickrail_engine::{Event, EventKind};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket};
use tickrail_replay::{Recorder, Runner};

use crate::report::{latency_histogram, nanos, Latency};
use tickrail_engine::runtime::clock;

/// A recorded run: the inputs the chain saw and what it emitted.
#[derive(Debug)]
pub struct Recording {
    /// Sequencer-stamped inputs, in sequence order.
    pub inputs: Vec<Event>,
    /// The chain's outputs, in output order.
    pub outputs: Vec<Event>,
    /// What the order stage sees when fused behind the signal stage: each input followed by
    /// the signal stage's outputs for it.
    pub order_stage_inputs: Vec<Event>,
    /// Outputs per event the chain's outbox must hold.
    pub max_outputs: usize,
    /// Instruments in the config.
    pub n_instruments: usize,
}

impl Recording {
    /// Signal-stage outputs (`Signal` events) in the recording.
    pub fn signals(&self) -> usize {
        self.outputs
            .iter()
            .filter(|e| e.kind() == EventKind::Signal)
            .count()
    }

    /// Order requests (new, cancel, amend) in the recording.
    pub fn requests(&self) -> usize {
        self.outputs
            .iter()
            .filter(|e| {
                matches!(
                    e.kind(),
                    EventKind::OrderNew | EventKind::OrderCancel | EventKind::OrderAmend
                )
            })
            .count()
    }
}

/// A fresh chain for `cfg`.
pub fn chain(cfg: &EngineConfig) -> Result<TradingChain> {
    build_chain(cfg, BookSizing::default()).with_context(|| format!("build chain for {}", cfg.file))
}

/// Runs the synthetic market of `cfg` through the chain on one thread and records it.
pub fn record(cfg: &EngineConfig) -> Result<Recording> {
    let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg))
        .with_context(|| format!("synthetic market for {}", cfg.file))?;
    let max_outputs = max_outputs_per_event(cfg);
    let mut runner = Runner::new(market, chain(cfg)?, cfg.instruments.len(), max_outputs)
        .with_timers(cfg.timers());
    let mut rec = Recorder::default();
    let summary = runner.run(&mut rec).clone();
    ensure!(
        summary.submit_errors == 0 && summary.outbox_overflows == 0,
        "recording run was not clean: {summary:?}"
    );
    // The order stage's input stream, from a fresh signal stage over the recorded inputs.
    let mut signal = chain(cfg)?.upstream;
    let mut out = Outbox::new(max_outputs, 1);
    let mut order_stage_inputs = Vec::with_capacity(rec.inputs.len() * 2);
    for e in &rec.inputs {
        order_stage_inputs.push(*e);
        signal.on_event(e, &mut out);
        order_stage_inputs.extend_from_slice(out.events());
        out.clear();
    }
    Ok(Recording {
        inputs: rec.inputs,
        outputs: rec.outputs,
        order_stage_inputs,
        max_outputs,
        n_instruments: cfg.instruments.len(),
    })
}

/// Replays the recording into a fresh chain and checks every output equals the recorded
/// one: the measurements replay the same way, so they do the recorded run's work.
pub fn verify_replay(cfg: &EngineConfig, rec: &Recording) -> Result<()> {
    let mut chain = chain(cfg)?;
    let mut out = Outbox::new(rec.max_outputs, 1);
    let mut expected = rec.outputs.iter();
    for input in &rec.inputs {
        chain.on_event(input, &mut out);
        for got in out.events() {
            match expected.next() {
                Some(want) if want == got => {}
                Some(want) => bail!(
                    "replay diverged at input {}: expected {want}, got {got}",
                    input.header.sequence
                ),
                None => bail!("replay emitted more outputs than the recording: {got}"),
            }
        }
        out.clear();
    }
    ensure!(
        expected.next().is_none(),
        "replay emitted fewer outputs than the recording"
    );
    Ok(())
}

/// One measured thing: per-call latency (timer pair included) and the untimed loop's mean.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Per call, two clock reads around each call.
    pub latency: Latency,
    /// Calls in the untimed loop.
    pub calls: u64,
    /// The untimed loop's duration (one clock pair around the whole loop).
    pub elapsed: Duration,
    /// Outputs produced in the untimed loop (a check that the work was done).
    pub outputs: u64,
}

impl Measured {
    /// Mean nanoseconds per call in the untimed loop.
    pub fn mean_ns(&self) -> f64 {
        self.elapsed.as_nanos() as f64 / self.calls.max(1) as f64
    }

    /// Millions of calls per second in the untimed loop.
    pub fn mcalls_per_s(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64() / 1e6
    }
}

/// A stage that reads the event and does nothing: the loop-and-call floor.
#[derive(Debug, Default)]
pub struct NopStage;

impl Stage for NopStage {
    #[inline(never)]
    fn on_event(&mut self, event: &Event, _out: &mut Outbox) {
        black_box(event);
    }
}

/// Times each `stage.on_event` over `events` into a histogram (the stage built by `make`,
/// run once untimed first on another instance as warm-up), then runs a fresh stage over
/// the same events untimed, as one loop.
pub fn measure_stage<S: Stage>(
    events: &[Event],
    max_outputs: usize,
    mut make: impl FnMut() -> Result<S>,
) -> Result<Measured> {
    // Warm-up: code, branch predictors and the allocator's free lists.
    run_untimed(&mut make()?, events, max_outputs);
    let mut h = latency_histogram()?;
    let mut stage = make()?;
    let mut out = Outbox::new(max_outputs, 1);
    for e in events {
        let t0 = clock::monotonic();
        stage.on_event(e, &mut out);
        let t1 = clock::monotonic();
        out.clear();
        sample(&mut h, t1 - t0);
    }
    let mut stage = make()?;
    let t0 = clock::monotonic();
    let outputs = run_untimed(&mut stage, events, max_outputs);
    let elapsed = clock::monotonic() - t0;
    Ok(Measured {
        latency: Latency::of(&h),
        calls: events.len() as u64,
        elapsed,
        outputs,
    })
}

fn run_untimed<S: Stage>(stage: &mut S, events: &[Event], max_outputs: usize) -> u64 {
    let mut out = Outbox::new(max_outputs, 1);
    let mut n = 0u64;
    for e in events {
        stage.on_event(e, &mut out);
        n += out.events().len() as u64;
        out.clear();
    }
    n
}

/// The Sequencer's `stamp` over the recorded inputs (re-stamped from sequence 1).
pub fn measure_sequencer(rec: &Recording) -> Result<Measured> {
    let stamp_all =
        |seq: &mut Sequencer| rec.inputs.iter().filter(|e| seq.stamp(**e).is_ok()).count() as u64;
    stamp_all(&mut Sequencer::new(1, rec.n_instruments));
    let mut h = latency_histogram()?;
    let mut seq = Sequencer::new(1, rec.n_instruments);
    for e in &rec.inputs {
        let t0 = clock::monotonic();
        let r = seq.stamp(*e);
        let t1 = clock::monotonic();
        black_box(r.is_ok());
        sample(&mut h, t1 - t0);
    }
    let mut seq = Sequencer::new(1, rec.n_instruments);
    let t0 = clock::monotonic();
    let accepted = stamp_all(&mut seq);
    let elapsed = clock::monotonic() - t0;
    ensure!(
        accepted == rec.inputs.len() as u64,
        "the Sequencer refused {} recorded inputs",
        rec.inputs.len() as u64 - accepted
    );
    Ok(Measured {
        latency: Latency::of(&h),
        calls: rec.inputs.len() as u64,
        elapsed,
        outputs: accepted,
    })
}

/// Two clock reads back to back, `n` times: the overhead inside every latency sample.
pub fn measure_timer(n: usize) -> Result<Latency> {
    let mut h = latency_histogram()?;
    for _ in 0..n {
        let t0 = clock::monotonic();
        let t1 = clock::monotonic();
        sample(&mut h, t1 - t0);
    }
    Ok(Latency::of(&h))
}

/// `model.predict` over `rows` cycled: `timed_calls` calls timed one by one, then
/// `loop_calls` calls in one untimed loop.
pub fn measure_model(
    model: &dyn Model,
    rows: &[Vec<f64>],
    timed_calls: usize,
    loop_calls: usize,
) -> Result<Measured> {
    ensure!(!rows.is_empty(), "no feature rows");
    let mut sink = 0.0f64;
    for row in rows.iter().cycle().take(timed_calls.min(1000)) {
        sink += model.predict(row);
    }
    let mut h = latency_histogram()?;
    for row in rows.iter().cycle().take(timed_calls) {
        let t0 = clock::monotonic();
        let y = model.predict(black_box(row));
        let t1 = clock::monotonic();
        sink += y;
        sample(&mut h, t1 - t0);
    }
    let t0 = clock::monotonic();
    for row in rows.iter().cycle().take(loop_calls) {
        sink += model.predict(black_box(row));
    }
    let elapsed = clock::monotonic() - t0;
    black_box(sink);
    Ok(Measured {
        latency: Latency::of(&h),
        calls: loop_calls as u64,
        elapsed,
        outputs: loop_calls as u64,
    })
}

fn sample(h: &mut Histogram<u64>, d: Duration) {
    // Saturating: a sample beyond the histogram's 60 s bound is recorded at the bound.
    let _ = h.record(nanos(d).clamp(1, h.high()));
}

/// The signal stage of a fresh chain for `cfg`.
pub fn signal_stage(cfg: &EngineConfig) -> Result<SignalStage> {
    Ok(chain(cfg)?.upstream)
}

/// The order stage of a fresh chain for `cfg`.
pub fn order_stage(cfg: &EngineConfig) -> Result<OrderStage> {
    Ok(chain(cfg)?.downstream)
}
