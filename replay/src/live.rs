//! A live run: the threaded engine (`tickrail_engine::runtime`) against a [`LiveMarket`] —
//! the synthetic market by default, or the UDP feed and FIX session of
//! [`GatewayMarket`] — on the layout of the config. This is what `tickrail run` runs.
//!
//! The caller's thread spawns the **feed thread** (pinned as the layout says), which owns
//! the market (the synthetic one with its simulated venues, or the gateways), the
//! Sequencer side of the input ring and the gateway side of the output ring:
//!
//! ```text
//!   loop:
//!     every output of the chain: count it; an order request waits for the journal if
//!       durability = "before-send", then goes to the market at the market's clock
//!     an operator command (kill switch) or a stop request, if one came
//!     a timer whose deadline is at or before both the market's next due time and the
//!       paced clock → Sequencer → input ring (the single-thread runner's rule, so timers
//!       fall between the same market inputs; a silent market still gets its timers)
//!     the market's next event, once it is due (pace = "realtime": event time follows
//!       the wall clock from the first event; "max": at once) → Sequencer → input ring
//! ```
//!
//! The synthetic market is a simulation, so its reaction to an order depends on when the order came
//! back — like a real venue, and unlike the single-thread [`crate::Runner`]. What is exact
//! is the engine: the journaled inputs replayed through the same stages give the journaled
//! outputs (see the tests).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use tickrail_engine::config::{EngineConfig, LiveSpec, Pace, ThreadRole};
use tickrail_engine::runtime::clock::now_ns;
use tickrail_engine::runtime::counters::{bump, Counters};
use tickrail_engine::runtime::latency::Latency;
use tickrail_engine::runtime::stats_file::{
    snapshot, Gauges, StatsError, StatsWriter, STATS_FILE_NAME, STATS_VALUES,
};
use tickrail_engine::runtime::threads::{pin, Finished};
use tickrail_engine::runtime::{start_from, Offered, OutputTap, StartError, WaitKind};
use tickrail_engine::timers::Timers;
use tickrail_engine::{Event, EventBody, EventHeader, ExecKind, InstrumentId, OperatorCommand};
use tickrail_gateways::synthetic::{SyntheticConfig, SyntheticMarket, SyntheticStats};

use crate::gateway_market::GatewayMarket;
use crate::runner::Market;
use crate::shadow::{Shadow, ShadowStart};

/// Requests from outside the run (signal handlers, a control socket, a test).
#[derive(Debug, Default)]
pub struct LiveControl {
    /// Stop the feed now; drain and close the journal.
    pub stop: AtomicBool,
    /// Throw the kill switch (taken once, then cleared).
    pub kill: AtomicBool,
}

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
    /// The run could not be recovered from its journal.
    #[error(transparent)]
    Resume(#[from] Box<crate::resume::ResumeError>),
}

/// What the feed thread measured and counted.
#[derive(Debug, Clone, Default)]
pub struct FeedReport {
    /// Tick to order: from the Sequencer publishing an input to the gateway receiving a
    /// new order that input caused.
    pub tick_to_order: Latency,
    /// The last hop: from the last stage thread publishing an output to the gateway
    /// reading it.
    pub output_hop: Latency,
    /// Time an order request waited for the journal (`before-send`).
    pub journal_gate: Latency,
    /// The synthetic market's statistics at the end (zero for other markets).
    pub market: SyntheticStats,
    /// The gateways' counters at the end (`[live] market = "gateways"` only).
    pub gateways: Option<crate::gateway_market::GatewayReport>,
    /// Wall time of the feed loop, ns.
    pub wall_ns: u64,
    /// Event time covered, ns.
    pub event_ns: i64,
    /// Timer events offered.
    pub timers: u64,
    /// The first error the market gave for a request, if any.
    pub first_submit_error: Option<String>,
}

/// A finished live run.
#[derive(Debug)]
pub struct LiveReport {
    /// The feed thread's report.
    pub feed: FeedReport,
    /// The engine threads' results.
    pub engine: Finished,
    /// The counters at the end.
    pub counters: Arc<Counters>,
    /// The snapshot thread's report (`None` with `runtime.snapshot_every_inputs = 0`).
    pub snapshots: Option<crate::shadow::ShadowReport>,
}

/// What the feed thread trades against: a [`Market`] (inputs in delivery order, order
/// requests in) with a clock. The synthetic market is one; real gateways (a UDP feed and a
/// FIX session) are another.
pub trait LiveMarket: Market + Send + 'static {
    /// The market's clock: event time now, ns since the Unix epoch.
    fn now_ns(&self) -> i64;
    /// Fills the market's part of the feed thread's report at the end of the run.
    fn finish(&self, report: &mut FeedReport);
    /// A stop was requested (SIGINT/SIGTERM, [`LiveControl::stop`]). `false` (the default):
    /// the input closes now. `true`: the market winds down by itself and the feed thread
    /// keeps taking its inputs until it says it is done (the gateways hand over the reports
    /// their session took before it closed).
    fn request_stop(&mut self) -> bool {
        false
    }
}

impl LiveMarket for SyntheticMarket {
    fn now_ns(&self) -> i64 {
        SyntheticMarket::now_ns(self)
    }
    fn finish(&self, report: &mut FeedReport) {
        report.market = *self.stats();
    }
}

/// Runs `cfg` live against its market — the synthetic one, or the UDP feed and FIX
/// session of `[live] market = "gateways"` ([`GatewayMarket`]) — journaling under `run_dir`. `progress`
/// is called on the calling thread about every `cfg.runtime.progress_interval_ms` with
/// the live counters, until the feed is done.
pub fn run_live(
    cfg: &EngineConfig,
    run_dir: &Path,
    control: Arc<LiveControl>,
    progress: impl FnMut(&Counters),
) -> Result<LiveReport, LiveError> {
    match &cfg.live {
        LiveSpec::Synthetic => {
            let market = SyntheticMarket::new(SyntheticConfig::from_engine(cfg))
                .map_err(|e| LiveError::Market(e.to_string()))?;
            run_live_with(cfg, run_dir, market, control, progress)
        }
        LiveSpec::Gateways { udp, fix } => {
            let market = GatewayMarket::open(cfg, udp, fix)?;
            crate::gateway_market::save_run_base(run_dir, market.client_id_base())?;
            run_live_with(cfg, run_dir, market, control, progress)
        }
    }
}

/// Continues the run in `run_dir` (`tickrail run --resume`): recovers its state from its
/// journal ([`crate::resume::recover`]), then runs on as [`run_live`] does, appending to the
/// same journals with the next sequences. `cfg` must be the run's own (the caller checks the
/// manifest).
///
/// The market is the outside world, not engine state, and is restarted: the synthetic
/// market and its simulated venues begin again at the journal's last event time, for what
/// remains of the configured session, knowing nothing of the old orders. The engine
/// reconciles as with a venue that lost its books: before anything else, each order still
/// open in the recovered OMS is answered as the venue would answer a status request for an
/// order it does not know — `canceled` if it was acknowledged, `rejected`
/// ([`reject::UNKNOWN_ORDER`](tickrail_gateways::venue::reject::UNKNOWN_ORDER)) if not.
/// With the gateways, the FIX session's own logon reconciliation does this from the
/// gateway's in-flight file, and fills the venue resends are applied once.
pub fn resume_live(
    cfg: &EngineConfig,
    run_dir: &Path,
    control: Arc<LiveControl>,
    on_recovered: impl FnOnce(&crate::resume::RecoverySummary),
    progress: impl FnMut(&Counters),
) -> Result<(LiveReport, crate::resume::RecoverySummary), LiveError> {
    let recovered = crate::resume::recover(cfg, run_dir).map_err(Box::new)?;
    let summary = recovered.summary.clone();
    on_recovered(&summary);
    let at = summary.last_event_ns;
    // The session clock continues after the last journaled input (none: a fresh start).
    let after = (summary.next_input > 1).then_some(at);
    let mut first: std::collections::VecDeque<Event> =
        recovered.first_inputs.iter().copied().collect();
    let resume = tickrail_engine::runtime::Resume {
        chain: recovered.chain,
        sequencer: recovered.sequencer,
        next_output: recovered.next_output,
        journals: recovered.journals,
    };
    let report = match &cfg.live {
        LiveSpec::Synthetic => {
            let not_sent: Vec<u64> = first.iter().filter_map(exec_client_id).collect();
            first.extend(venue_lost_answers(cfg, &resume.chain, &not_sent, at));
            let mut sc = SyntheticConfig::from_engine(cfg);
            let end = sc.end_ns();
            sc.start_ns = sc.start_ns.max(at.saturating_add(1));
            sc.duration_ns = end.saturating_sub(sc.start_ns).max(1);
            let market = SyntheticMarket::new(sc).map_err(|e| LiveError::Market(e.to_string()))?;
            let market = Resumed {
                first,
                at_ns: at,
                inner: market,
            };
            run_live_from(
                cfg,
                run_dir,
                market,
                control,
                progress,
                Some((resume, after)),
            )?
        }
        LiveSpec::Gateways { udp, fix } => {
            let base = crate::gateway_market::run_base(run_dir)?;
            // The journal is the truth: the gateway's in-flight orders are set to what the
            // recovered OMS says of them before it logs on (a fill the gateway took but the
            // journal lacks is then reported again). Without a recorded base, no order of
            // the new ClOrdIDs was sent yet.
            let journal = match base {
                Some(base) => {
                    let not_sent: Vec<u64> = first.iter().filter_map(exec_client_id).collect();
                    crate::gateway_market::journaled_orders(
                        resume.chain.downstream.oms(),
                        base,
                        fix.venue,
                        &not_sent,
                    )
                }
                None => Vec::new(),
            };
            let market = Resumed {
                first,
                at_ns: at,
                inner: GatewayMarket::open_with_base(cfg, udp, fix, base, journal)?,
            };
            run_live_from(
                cfg,
                run_dir,
                market,
                control,
                progress,
                Some((resume, after)),
            )?
        }
    };
    Ok((report, summary))
}

fn exec_client_id(e: &Event) -> Option<u64> {
    match e.body {
        EventBody::ExecReport {
            client_order_id, ..
        } => Some(client_order_id),
        _ => None,
    }
}

/// A restarted venue's answers for the orders still open in the recovered OMS (but those in
/// `not_sent`, answered already), in submission order: `canceled` if acknowledged, else
/// `rejected`.
fn venue_lost_answers(
    cfg: &EngineConfig,
    chain: &tickrail_engine::pipeline::TradingChain,
    not_sent: &[u64],
    at_ns: i64,
) -> Vec<Event> {
    use tickrail_engine::oms::OrderState;
    use tickrail_engine::{Liquidity, Price, Qty};
    let mut open: Vec<_> = chain
        .downstream
        .oms()
        .open_orders()
        .filter(|o| !not_sent.contains(&o.client_order_id))
        .copied()
        .collect();
    open.sort_by_key(|o| o.submit_no);
    open.into_iter()
        .filter_map(|o| {
            let (exec, code) = if o.state == OrderState::PendingNew {
                (
                    ExecKind::Rejected,
                    tickrail_gateways::venue::reject::UNKNOWN_ORDER,
                )
            } else {
                (ExecKind::Canceled, 0)
            };
            let spec = cfg.instruments.get(o.instrument.get() as usize)?;
            Some(Event::new(
                EventHeader {
                    sequence: 0,
                    cause_sequence: 0,
                    exchange_ts_ns: at_ns,
                    receive_ts_ns: at_ns,
                    instrument: o.instrument,
                    price_scale: spec.price_scale.get(),
                    qty_scale: spec.qty_scale.get(),
                    source: o.venue,
                },
                EventBody::ExecReport {
                    exec,
                    side: o.side,
                    liquidity: Liquidity::Unknown,
                    reject_code: code,
                    client_order_id: o.live_client_order_id,
                    venue_order_id: o.venue_order_id,
                    price: Price::new_checked(o.price).ok()?,
                    qty: Qty::new(o.qty),
                    leaves_qty: Qty::ZERO,
                    cum_qty: Qty::new(o.cum_qty),
                },
            ))
        })
        .collect()
}

/// A restarted market behind the inputs that must enter first (the answers recovery
/// derived), all at the journal's last event time.
struct Resumed<M> {
    first: std::collections::VecDeque<Event>,
    at_ns: i64,
    inner: M,
}

impl<M: LiveMarket> Market for Resumed<M> {
    type Error = M::Error;
    fn next_input(&mut self) -> Option<Event> {
        self.first.pop_front().or_else(|| self.inner.next_input())
    }
    fn next_due_ns(&mut self) -> Option<i64> {
        if self.first.is_empty() {
            self.inner.next_due_ns()
        } else {
            Some(self.at_ns)
        }
    }
    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), Self::Error> {
        self.inner.submit(now_ns, request)
    }
}

impl<M: LiveMarket> LiveMarket for Resumed<M> {
    fn now_ns(&self) -> i64 {
        self.inner.now_ns().max(self.at_ns)
    }
    fn finish(&self, report: &mut FeedReport) {
        self.inner.finish(report);
    }
    fn request_stop(&mut self) -> bool {
        self.inner.request_stop()
    }
}

/// [`run_live`] against any [`LiveMarket`].
pub fn run_live_with<M: LiveMarket>(
    cfg: &EngineConfig,
    run_dir: &Path,
    market: M,
    control: Arc<LiveControl>,
    progress: impl FnMut(&Counters),
) -> Result<LiveReport, LiveError> {
    run_live_from(cfg, run_dir, market, control, progress, None)
}

/// [`run_live_with`], or a resume: the recovered state and the receive time of the last
/// journaled input (`None` if there was none), after which the session clock continues
/// ([`Timers::resume_after`]).
fn run_live_from<M: LiveMarket>(
    cfg: &EngineConfig,
    run_dir: &Path,
    market: M,
    control: Arc<LiveControl>,
    mut progress: impl FnMut(&Counters),
    resume: Option<(tickrail_engine::runtime::Resume, Option<i64>)>,
) -> Result<LiveReport, LiveError> {
    let mut timers = cfg.timers();
    let resume = resume.map(|(resume, after)| {
        if let Some(last_input_ns) = after {
            timers.resume_after(last_input_ns);
        }
        resume
    });
    // The stats file first (it creates run_dir): a failure here leaves no thread running.
    let mut stats = StatsWriter::create_for_counters(
        &run_dir.join(STATS_FILE_NAME),
        tickrail_engine::runtime::clock::wall_ns(),
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
    let (input, output, running) = (started.input, started.output, started.running);
    let fc = counters.clone();
    let ctl = control.clone();
    let feed = thread::Builder::new()
        .name(feed_spec.name.clone())
        .spawn(move || {
            let _ = pin(feed_spec.core);
            feed_loop(
                market,
                timers,
                input,
                output,
                &fc,
                &ctl,
                pace,
                feed_spec.wait,
            )
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
    let feed_report = feed
        .join()
        .map_err(|_| LiveError::Feed("the feed thread panicked".into()))?;
    let engine = running.finish(None);
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

fn command(at_ns: i64, command: OperatorCommand) -> Event {
    Event::new(
        EventHeader {
            sequence: 0,
            cause_sequence: 0,
            exchange_ts_ns: at_ns,
            receive_ts_ns: at_ns,
            instrument: InstrumentId::new(0),
            price_scale: 0,
            qty_scale: 0,
            source: 0,
        },
        EventBody::Command { command, arg: 0 },
    )
}

/// How often the feed thread refreshes the live tick-to-order percentiles (when idle).
const PERCENTILES_EVERY_NS: u64 = 100_000_000;

fn idle(wait: WaitKind, spins: &mut u32) {
    *spins += 1;
    match wait {
        WaitKind::BusySpin => std::hint::spin_loop(),
        WaitKind::Yield => thread::yield_now(),
        WaitKind::Block => {
            if *spins < 64 {
                thread::yield_now();
            } else {
                thread::sleep(std::time::Duration::from_micros(20));
            }
        }
    }
}

/// The feed thread: runs until the market is done (or a stop request) and the output ring
/// is drained and closed.
#[allow(clippy::too_many_arguments)]
fn feed_loop<M: LiveMarket>(
    mut market: M,
    mut timers: Timers,
    input: tickrail_engine::runtime::InputSide,
    mut output: OutputTap,
    counters: &Counters,
    control: &LiveControl,
    pace: Pace,
    wait: WaitKind,
) -> FeedReport {
    let mut input = Some(input);
    let mut report = FeedReport::default();
    let c = &counters.feed;
    let wall0 = now_ns();
    let event0 = Market::next_due_ns(&mut market).unwrap_or(0);
    timers.start(event0);
    let mut spins = 0u32;
    let mut output_open = true;
    let mut held: Option<Event> = None;
    let mut stopping = false;
    let mut last_percentiles = wall0;
    while output_open {
        // 1. Outputs of the chain.
        let mut did = 0usize;
        let market_ref = &mut market;
        let gate = &output.gate;
        let r = output.consumer.poll(|slot| {
            let now = now_ns();
            report
                .output_hop
                .record(now.saturating_sub(slot.published_ns));
            bump(&c.outputs);
            let e = &slot.event;
            match e.body {
                EventBody::RiskReject { code, .. } => c.risk_reject(code),
                EventBody::OrderNew { .. }
                | EventBody::OrderCancel { .. }
                | EventBody::OrderAmend { .. } => {
                    if matches!(e.body, EventBody::OrderNew { .. }) {
                        report
                            .tick_to_order
                            .record(now.saturating_sub(slot.ingress_ns));
                        bump(&c.new_orders);
                    }
                    // Never leaves before the journal has it (before-send), nor after the
                    // journal failed.
                    let gate0 = now_ns();
                    let mut gate_spins = 0u32;
                    while !gate.may_send(e.header.sequence) && !gate.journal_failed() {
                        idle(WaitKind::Yield, &mut gate_spins);
                    }
                    report.journal_gate.record(now_ns() - gate0);
                    if gate.may_send(e.header.sequence) {
                        let at = market_ref.now_ns();
                        match Market::submit(market_ref, at, e) {
                            Ok(()) => bump(&c.orders_sent),
                            Err(err) => {
                                bump(&c.submit_errors);
                                report.first_submit_error.get_or_insert(err.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
        });
        match r {
            Ok(n) => did += n,
            Err(_) => output_open = false,
        }

        // 2. An input the full ring refused earlier goes first (never dropped).
        if let (Some(inp), Some(ev)) = (input.as_mut(), held) {
            if matches!(inp.offer(ev), Offered::Full) {
                idle(wait, &mut spins);
                continue; // back to draining outputs: that is what makes room
            }
            held = None;
            did += 1;
        }

        // 3. Operator requests.
        if let Some(inp) = input.as_mut() {
            if control.kill.swap(false, Ordering::AcqRel) {
                bump(&c.kill_switches);
                let cmd = command(market.now_ns(), OperatorCommand::KillSwitch);
                if matches!(inp.offer(cmd), Offered::Full) {
                    held = Some(cmd);
                    continue;
                }
                did += 1;
            }
            if !stopping && control.stop.load(Ordering::Acquire) {
                stopping = true;
                if !market.request_stop() {
                    input = None; // closes the input ring: the stages drain and close theirs
                    continue;
                }
            }
        }

        // 4. The market's next event, once due.
        if let Some(inp) = input.as_mut() {
            match Market::next_due_ns(&mut market) {
                None => {
                    // The market is done: once every conflated quote is out, close.
                    if inp.flush() {
                        input = None;
                    } else {
                        idle(wait, &mut spins);
                    }
                    continue;
                }
                Some(due) => {
                    // Event time now: the market's next due time, or the paced clock if
                    // that is earlier.
                    let clock = match pace {
                        Pace::Max => due,
                        Pace::Realtime => {
                            let elapsed = i64::try_from(now_ns() - wall0).unwrap_or(i64::MAX);
                            due.min(event0.saturating_add(elapsed))
                        }
                    };
                    if let Some(mut timer) = timers.pop_due(clock) {
                        let at = &mut timer.header.receive_ts_ns;
                        *at = (*at).max(market.now_ns());
                        bump(&c.timers);
                        report.timers += 1;
                        if matches!(inp.offer(timer), Offered::Full) {
                            held = Some(timer);
                        }
                        spins = 0;
                        continue;
                    }
                    if due <= clock {
                        if let Some(ev) = market.next_input() {
                            if let EventBody::ExecReport { exec, .. } = ev.body {
                                bump(&c.exec_reports);
                                if matches!(exec, ExecKind::Fill | ExecKind::PartialFill) {
                                    bump(&c.fills);
                                }
                            }
                            match inp.offer(ev) {
                                Offered::Full => held = Some(ev),
                                Offered::Rejected(_) => {}
                                Offered::Published(_) | Offered::Conflated => did += 1,
                            }
                        }
                    }
                }
            }
        }
        if did == 0 {
            if let Some(inp) = input.as_ref() {
                c.input_ring_fill
                    .store(inp.ring_fill() as u64, Ordering::Relaxed);
            }
            // Live percentiles for the stats file, off the busy path (idle only, ~10 Hz).
            let now = now_ns();
            if now.saturating_sub(last_percentiles) >= PERCENTILES_EVERY_NS {
                last_percentiles = now;
                let [p50, p99, _, _, max] = report.tick_to_order.percentiles();
                for (slot, v) in c.tick_to_order_ns.iter().zip([p50, p99, max]) {
                    slot.store(v, Ordering::Relaxed);
                }
            }
            idle(wait, &mut spins);
        } else {
            spins = 0;
        }
    }
    report.wall_ns = now_ns() - wall0;
    report.event_ns = market.now_ns() - event0;
    market.finish(&mut report);
    report
}
