//! A live run: the threaded engine ([`super::threads`]) against a [`LiveMarket`] on the
//! layout of the config, with its feed thread ([`super::feed`]), its stats file and, if
//! configured, the snapshot thread ([`super::shadow`]). This is what `tickrail run` runs:
//! `tickrail_gateways::live::run_live` picks the market (the synthetic one, or the UDP feed
//! and FIX session) and `tickrail_replay::resume::resume_live` continues a crashed run.
//!
//! The caller's thread spawns the feed thread (pinned as the layout says), then samples the
//! counters into the stats file and calls `progress` until the feed is done. With the chain
//! inline on the feed thread ([`super::inline`]) it comes back with the feed thread and is
//! reported among [`Finished::stages`] under the feed thread's name.
//!
//! The synthetic market is a simulation, so its reaction to an order depends on when the
//! order came back — like a real venue, and unlike the single-thread runner. What is exact
//! is the engine: the journaled inputs replayed through the same stages give the journaled
//! outputs.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;

use crate::config::{EngineConfig, ThreadRole};
use crate::runtime::clock::now_ns;
use crate::runtime::counters::Counters;
use crate::runtime::feed::{FeedLoop, FeedReport, LiveControl};
use crate::runtime::market::LiveMarket;
use crate::runtime::shadow::{Shadow, ShadowReport, ShadowStart};
use crate::runtime::stats_file::{
    snapshot, Gauges, StatsError, StatsWriter, STATS_FILE_NAME, STATS_VALUES,
};
use crate::runtime::threads::{pin, Finished};
use crate::runtime::{start_from, Resume, StartError};

/// Why a live run failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The engine did not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The market (synthetic, or the gateways) refused its config or did not start.
    #[error("market: {0}")]
    Market(String),
    /// A thread could not be spawned or panicked.
    #[error("feed thread: {0}")]
    Feed(String),
    /// The stats file could not be created.
    #[error(transparent)]
    Stats(#[from] StatsError),
}

/// A finished live run; `R` is the market's report.
#[derive(Debug)]
pub struct LiveReport<R> {
    /// The feed thread's report.
    pub feed: FeedReport<R>,
    /// The engine threads' results.
    pub engine: Finished,
    /// The counters at the end.
    pub counters: Arc<Counters>,
    /// The snapshot thread's report (`None` with `runtime.snapshot_every_inputs = 0`).
    pub snapshots: Option<ShadowReport>,
}

impl<R> LiveReport<R> {
    /// The same report with the market's part mapped by `f`.
    pub fn map_market<S>(self, f: impl FnOnce(R) -> S) -> LiveReport<S> {
        LiveReport {
            feed: self.feed.map_market(f),
            engine: self.engine,
            counters: self.counters,
            snapshots: self.snapshots,
        }
    }
}

/// Where a resumed run continues: the recovered state, and the receive time of the last
/// journaled input (`None` if there was none), after which the session clock continues
/// ([`crate::timers::Timers::resume_after`]).
#[derive(Debug)]
pub struct ResumeFrom {
    /// The recovered chain, Sequencer and open journals.
    pub state: Resume,
    /// The receive time of the last journaled input.
    pub last_input_ns: Option<i64>,
}

/// Runs `cfg` live against `market`, journaling under `run_dir` — a fresh run, or the
/// continuation of a recovered one (`resume`). `progress` is called on the calling thread
/// about every `cfg.runtime.progress_interval_ms` with the live counters, until the feed is
/// done.
pub fn run<M: LiveMarket>(
    cfg: &EngineConfig,
    run_dir: &Path,
    market: M,
    control: Arc<LiveControl>,
    mut progress: impl FnMut(&Counters),
    resume: Option<ResumeFrom>,
) -> Result<LiveReport<M::Report>, LiveError> {
    let mut timers = cfg.timers();
    let resume = resume.map(|r| {
        if let Some(last_input_ns) = r.last_input_ns {
            timers.resume_after(last_input_ns);
        }
        r.state
    });
    // The stats file first (it creates run_dir): a failure here leaves no thread running.
    let mut stats = StatsWriter::create_for_counters(
        &run_dir.join(STATS_FILE_NAME),
        crate::runtime::clock::wall_ns(),
    )?;
    let mut stats_values = [0i64; STATS_VALUES];
    let mut gauges = Gauges::default();
    // The snapshot thread's copy of the chain, taken before the engine owns it.
    let every = cfg.runtime.snapshot_every_inputs;
    let shadow_start = if every == 0 {
        None
    } else {
        let start = match &resume {
            Some(r) => ShadowStart::copy_of(cfg, &r.chain, &r.sequencer, r.next_output),
            None => ShadowStart::fresh(cfg),
        };
        Some(start.map_err(LiveError::Feed)?)
    };
    let started = start_from(cfg, run_dir, resume)?;
    let shadow = match shadow_start {
        Some(s) => Some(Shadow::start(cfg.clone(), run_dir, every, s).map_err(LiveError::Feed)?),
        None => None,
    };
    let counters = started.running.counters.clone();
    let feed_spec = cfg
        .runtime
        .thread(&ThreadRole::Feed)
        .cloned()
        .ok_or_else(|| LiveError::Feed("no feed thread in the layout".into()))?;
    let pace = cfg.runtime.pace;
    let feed_name = feed_spec.name.clone();
    let (input, output, running) = (started.input, started.output, started.running);
    let fc = counters.clone();
    let ctl = control.clone();
    let feed = thread::Builder::new()
        .name(feed_spec.name.clone())
        .spawn(move || {
            let _ = pin(feed_spec.core);
            FeedLoop::new(
                market,
                timers,
                input,
                output,
                &fc.feed,
                &ctl,
                pace,
                feed_spec.wait,
                (),
            )
            .run()
            .0
        })
        .map_err(|e| LiveError::Feed(e.to_string()))?;
    let interval = std::time::Duration::from_millis(cfg.runtime.progress_interval_ms.max(50));
    while !feed.is_finished() {
        thread::sleep(interval.min(std::time::Duration::from_millis(50)));
        // The stats file gets a snapshot every wake-up (off the hot threads: loads and
        // stores of ~40 counters).
        let fill = |a: &std::sync::atomic::AtomicU64| {
            i64::try_from(a.load(Ordering::Relaxed)).unwrap_or(i64::MAX)
        };
        gauges.input_ring_fill = fill(&counters.feed.input_ring_fill);
        gauges.output_ring_fill = fill(&counters.chain.output_ring_fill);
        let [p50, p99, max] = &counters.feed.tick_to_order_ns;
        gauges.tick_to_order_p50_ns = fill(p50);
        gauges.tick_to_order_p99_ns = fill(p99);
        gauges.tick_to_order_max_ns = fill(max);
        snapshot(&counters, &gauges, &mut stats_values);
        stats.publish(&stats_values);
        if cfg.runtime.progress_interval_ms > 0 && due(interval) {
            progress(&counters);
        }
    }
    let mut feed_report = feed
        .join()
        .map_err(|_| LiveError::Feed("the feed thread panicked".into()))?;
    let mut engine = running.finish(None);
    // A chain run inline on the feed thread reports as that thread's stages.
    if let Some(c) = feed_report.chain.take() {
        engine.stages.insert(0, (feed_name, c.part, c.latencies));
    }
    // The journals are closed: the snapshot thread reads to their end and stops.
    let snapshots = shadow.map(Shadow::finish);
    // Final values, with the run's tick-to-order percentiles, then mark it finished.
    let [p50, p99, _, _, max] = feed_report.tick_to_order.percentiles();
    let ns = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    gauges.tick_to_order_p50_ns = ns(p50);
    gauges.tick_to_order_p99_ns = ns(p99);
    gauges.tick_to_order_max_ns = ns(max);
    snapshot(&counters, &gauges, &mut stats_values);
    stats.publish(&stats_values);
    stats.finish();
    Ok(LiveReport {
        feed: feed_report,
        engine,
        counters,
        snapshots,
    })
}

/// Whether `interval` has passed since the last time this returned `true` (per thread).
fn due(interval: std::time::Duration) -> bool {
    thread_local! {
        static LAST: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    let now = now_ns();
    LAST.with(|l| {
        let every = u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX);
        if now.saturating_sub(l.get()) >= every {
            l.set(now);
            true
        } else {
            false
        }
    })
}
