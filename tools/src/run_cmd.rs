//! `tickrail run` (the main job) and `tickrail config check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::counters::{get, Counters, RISK_CODES};
use tickrail_engine::runtime::latency::Latency;
use tickrail_engine::runtime::{LiveControl, LiveReport};
use tickrail_engine::RiskCode;
#[cfg(feature = "fix")]
use tickrail_gateways::live::GatewayReport;
use tickrail_gateways::live::{run_live, MarketReport};
use tickrail_replay::resume_live;

/// The config `tickrail run` uses without `--config`: `config/default.toml`, built in.
pub const DEFAULT_CONFIG: &str = include_str!("../../config/default.toml");
/// Where the built-in default claims to come from (model paths resolve against it).
pub const DEFAULT_ORIGIN: &str = "config/default.toml (built in)";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Engine config (TOML) [default: the built-in config/default.toml]
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run directory for the journals [default: `runtime.journal_dir`/run-<UTC time>]
    #[arg(long, conflicts_with = "resume")]
    run_dir: Option<PathBuf>,
    /// Continue the run in RUN_DIR (after a crash or a stop): its state is rebuilt from its
    /// journal and it goes on appending to it, with the config it ran with (its copy in
    /// RUN_DIR) unless `--config` is given.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// With `--resume`: continue even if this binary or the config differ from the run's
    /// manifest.
    #[arg(long, requires = "resume")]
    allow_mismatch: bool,
}

/// Loads `path`, or the built-in default.
pub fn load(path: Option<&Path>) -> Result<EngineConfig> {
    Ok(match path {
        Some(p) => EngineConfig::load(p)?,
        None => EngineConfig::from_toml_str(DEFAULT_CONFIG, DEFAULT_ORIGIN)?,
    })
}

/// `tickrail config check FILE`: loads and validates, prints what it found.
pub fn check(path: &Path) -> Result<ExitCode> {
    let cfg = EngineConfig::load(path)?;
    // Build the chain too: model files load, feature counts match.
    tickrail_engine::pipeline::build_chain(&cfg, Default::default())?;
    outln!("{}: ok (config hash {})", cfg.file, cfg.config_hash_hex());
    let symbols: Vec<_> = cfg.instruments.iter().map(|i| i.symbol.as_str()).collect();
    outln!("  instruments: {}", symbols.join(", "));
    outln!(
        "  model:       id {}, {} features ({})",
        cfg.model.model_id,
        cfg.model.features.len(),
        model_kind(&cfg)
    );
    let venues: Vec<_> = cfg.venues.iter().map(|v| v.name.as_str()).collect();
    outln!("  venues:      {}", venues.join(", "));
    outln!("  layout:      {}", cfg.runtime.describe());
    outln!(
        "  journal:     {}/ (durability {}), pace {}",
        cfg.runtime.journal_dir.display(),
        cfg.runtime.durability.name(),
        cfg.runtime.pace.name()
    );
    Ok(ExitCode::SUCCESS)
}

fn model_kind(cfg: &EngineConfig) -> String {
    use tickrail_engine::config::ModelSpec;
    match &cfg.model.spec {
        ModelSpec::Linear { link, .. } => format!("linear, {} link", link.name()),
        ModelSpec::Xgboost { path } => format!("xgboost {}", path.display()),
        ModelSpec::Onnx { path } => format!("onnx {}", path.display()),
    }
}

/// Installs the signal handlers: SIGINT/SIGTERM stop the run (drained, journal closed),
/// SIGUSR1 throws the kill switch.
fn signals(control: &Arc<LiveControl>) -> Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
    use signal_hook::flag::register;
    let c = control.clone();
    // `signal_hook::flag` handlers only store into an atomic.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        register(sig, stop.clone()).context("install signal handler")?;
    }
    let kill = Arc::new(std::sync::atomic::AtomicBool::new(false));
    register(SIGUSR1, kill.clone()).context("install SIGUSR1 handler")?;
    // Forward the flags to the run's control from a small watcher thread (handlers must
    // not do more than store).
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            if stop.swap(false, Ordering::AcqRel) {
                c.stop.store(true, Ordering::Release);
            }
            if kill.swap(false, Ordering::AcqRel) {
                c.kill.store(true, Ordering::Release);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        })
        .context("spawn signal watcher")?;
    Ok(())
}

/// The config of the run in `run_dir` to resume it with, checked against its manifest.
fn resume_config(args: &RunArgs, run_dir: &Path) -> Result<EngineConfig> {
    use crate::replay_cmd::{check_manifest, config};
    let run_dir = crate::replay_cmd::run_dir(run_dir)?;
    let manifest = tickrail_journal::read_manifest(&run_dir.join("inputs"))
        .with_context(|| format!("{}: reading the run manifest", run_dir.display()))?;
    let cfg = config(args.config.as_deref(), &run_dir, &manifest)?;
    check_manifest(&manifest, &cfg, args.allow_mismatch)?;
    Ok(cfg)
}

/// `tickrail run`.
pub fn run(args: RunArgs) -> Result<ExitCode> {
    let cfg = match &args.resume {
        Some(dir) => resume_config(&args, dir)?,
        None => load(args.config.as_deref())?,
    };
    let run_dir = match (&args.resume, &args.run_dir) {
        (Some(dir), _) | (None, Some(dir)) => dir.clone(),
        (None, None) => cfg
            .runtime
            .journal_dir
            .join(format!("run-{}", crate::clock::utc_stamp())),
    };
    let control = Arc::new(LiveControl::default());
    signals(&control)?;
    outln!(
        "tickrail run: {} (config hash {}), layout {}",
        cfg.file,
        cfg.config_hash_hex(),
        cfg.runtime.describe()
    );
    outln!(
        "journal: {} — live counters: tickrail stat {} — kill switch: kill -USR1 {} — \
         stop: Ctrl-C",
        run_dir.display(),
        run_dir.display(),
        std::process::id()
    );
    let t0 = crate::clock::monotonic();
    let mut last = (0u64, 0f64);
    let on_progress = |c: &tickrail_engine::runtime::counters::Counters| {
        let secs = t0.elapsed().as_secs_f64();
        let inputs = get(&c.feed.inputs);
        let rate = (inputs - last.0) as f64 / (secs - last.1).max(1e-9);
        last = (inputs, secs);
        eprintln!(
            "  {secs:5.1}s  events {inputs:>9}  ({rate:>9.0}/s)  orders {:>6}  fills {:>6}  \
             rejects {:>5}  PnL {:>12}  journal {:>9}",
            get(&c.feed.new_orders),
            get(&c.feed.fills),
            c.feed.risk_rejects.iter().map(get).sum::<u64>(),
            money(c.chain.pnl_net.load(Ordering::Relaxed).into(), &cfg),
            get(&c.journal.inputs) + get(&c.journal.outputs),
        );
    };
    let report = if args.resume.is_some() {
        let mut said = Ok(());
        let on_recovered = |r: &tickrail_replay::resume::RecoverySummary| {
            said = recovered(r);
        };
        let (report, _) = resume_live(&cfg, &run_dir, control, on_recovered, on_progress)?;
        said?;
        report
    } else {
        run_live(&cfg, &run_dir, control, on_progress)?
    };
    summary(&cfg, &run_dir, &report)?;
    let failed = report.engine.journal.error.is_some() || !report.engine.panicked.is_empty();
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints what recovery did (before the resumed run starts).
fn recovered(r: &tickrail_replay::resume::RecoverySummary) -> Result<()> {
    for w in &r.snapshot_warnings {
        outln!("warning     snapshot {w}");
    }
    if let Some(s) = &r.snapshot {
        outln!(
            "snapshot    {}: the state after input {}",
            s.display(),
            r.next_input.saturating_sub(r.inputs + 1)
        );
    }
    outln!(
        "resumed     {} inputs re-driven, {} journaled outputs identical; crash tail: {} \
         outputs re-derived and journaled, {} requests never sent (answered with code {}); \
         continuing at input {} / output {}{}",
        r.inputs,
        r.outputs,
        r.tail_outputs,
        r.not_sent,
        tickrail_replay::resume::NOT_SENT_CRASH,
        r.next_input,
        r.next_output,
        if r.cuts.is_empty() {
            String::new()
        } else {
            format!("; recovery: {}", r.cuts.join("; "))
        }
    );
    Ok(())
}

/// Raw price × raw quantity money as decimal text at the instruments' shared scales.
fn money(raw: i128, cfg: &EngineConfig) -> String {
    let scale = cfg.instruments.first().map_or(0, |i| {
        u32::from(i.price_scale.get()) + u32::from(i.qty_scale.get())
    });
    let unit = 10i128.pow(scale.min(30));
    let sign = if raw < 0 { "-" } else { "" };
    let a = raw.unsigned_abs();
    let u = unit.unsigned_abs();
    if scale == 0 {
        return format!("{sign}{a}");
    }
    format!("{sign}{}.{:0width$}", a / u, a % u, width = scale as usize)
}

fn pcts(l: &Latency) -> String {
    let [p50, p99, p999, _p9999, max] = l.percentiles();
    format!(
        "{:>9} {:>9} {:>9} {:>10}   ({} samples)",
        ns(p50),
        ns(p99),
        ns(p999),
        ns(max),
        l.count()
    )
}

fn ns(v: u64) -> String {
    if v >= 10_000_000 {
        format!("{:.1}ms", v as f64 / 1e6)
    } else if v >= 10_000 {
        format!("{:.1}µs", v as f64 / 1e3)
    } else {
        format!("{v}ns")
    }
}

/// The UDP feed's and the FIX session's counters (`[live] market = "gateways"`).
#[cfg(feature = "fix")]
fn gateway_summary(g: &GatewayReport) -> Result<()> {
    let u = &g.udp;
    outln!(
        "udp feed    {} packets ({} bytes), {} messages, {} events; gaps {} ({} messages \
         missing), duplicates {} ({} whole packets), rejected packets {} (short {}, malformed \
         {}, wrong session {}), bad messages {}; {}; SO_RCVBUF {} bytes",
        u.packets,
        u.bytes,
        u.messages,
        u.events,
        u.gaps,
        u.missing,
        u.duplicates,
        u.duplicate_packets,
        u.rejected(),
        u.short,
        u.malformed,
        u.wrong_session,
        u.bad_messages,
        if g.feed_ended {
            "session ended"
        } else {
            "session not ended"
        },
        g.recv_buffer_bytes
    );
    let x = &g.fix;
    let rejects: Vec<String> = x
        .rejects
        .iter()
        .map(|(reason, n)| format!("{} {n}", reason.name()))
        .collect();
    outln!(
        "fix session {} new, {} cancel, {} replace sent; {} reports, {} duplicates dropped; \
         {} logons, {} logouts; reconciled {} ({} timeouts, {} fill gaps, {} status requests \
         asked again, {} resent, {} settled unknown); {} in flight at the end; {} for another venue, {} refused locally; rejects: {}; ClOrdID = {} + \
         client id ({} reports for an earlier run's orders)",
        x.sent_new,
        x.sent_cancel,
        x.sent_replace,
        x.reports,
        x.duplicates,
        x.logons,
        x.logouts,
        x.reconciled,
        x.reconcile_timeouts,
        x.reconcile_fill_gaps,
        x.reconcile_reasks,
        x.status_resends,
        x.reconcile_settled_unknown,
        x.in_flight,
        g.wrong_venue,
        g.refused,
        if rejects.is_empty() {
            "none".to_string()
        } else {
            rejects.join(", ")
        },
        g.client_id_base,
        g.earlier_run_reports
    );
    if let Some(e) = &g.close_error {
        outln!("fix error   the gateway thread stopped with: {e}");
    }
    Ok(())
}

fn summary(cfg: &EngineConfig, run_dir: &Path, r: &LiveReport<MarketReport>) -> Result<()> {
    let c: &Counters = &r.counters;
    let f = &c.feed;
    let secs = r.feed.wall_ns as f64 / 1e9;
    outln!("\n== summary ==");
    outln!(
        "events      {} inputs in {:.2}s ({:.0}/s), {:.2}s of market time; {} refused by the \
         Sequencer, {} quotes conflated; {} timer events",
        get(&f.inputs),
        secs,
        get(&f.inputs) as f64 / secs.max(1e-9),
        r.feed.event_ns as f64 / 1e9,
        get(&f.input_rejects),
        get(&f.conflated),
        get(&f.timers)
    );
    outln!(
        "orders      {} new, {} requests sent (new + cancel + amend), {} refused by the venue",
        get(&f.new_orders),
        get(&f.orders_sent),
        get(&f.submit_errors)
    );
    outln!(
        "fills       {} fills in {} execution reports",
        get(&f.fills),
        get(&f.exec_reports)
    );
    #[cfg(feature = "fix")]
    if let Some(g) = r.feed.market.gateways() {
        gateway_summary(g)?;
    }
    if get(&f.kill_switches) > 0 {
        outln!(
            "kill switch thrown {} time(s): open orders cancelled, no new order after it",
            get(&f.kill_switches)
        );
    }
    let mut rejects = Vec::new();
    for code in 1..RISK_CODES {
        let n = get(&f.risk_rejects[code]);
        if n > 0 {
            let name = u16::try_from(code)
                .ok()
                .and_then(RiskCode::from_code)
                .map_or("?", RiskCode::name);
            rejects.push(format!("{name} {n}"));
        }
    }
    outln!(
        "rejects     {}",
        if rejects.is_empty() {
            "none".to_string()
        } else {
            rejects.join(", ")
        }
    );
    if let Some((_, part, _)) = r.engine.stages.last() {
        if let Some(order) = part.order_stage() {
            let oms = order.oms();
            let mut total = 0i128;
            for spec in &cfg.instruments {
                if let Some(p) = oms.pnl(spec.id) {
                    total += p.net();
                    let pos = oms.position(spec.id).map_or(0, |p| p.qty);
                    outln!(
                        "PnL {:<7} {:>14} (realised {}, unrealised {}, fees {}), position {}",
                        spec.symbol,
                        money(p.net(), cfg),
                        money(p.realised, cfg),
                        money(p.unrealised.unwrap_or(0), cfg),
                        money(p.fees, cfg),
                        pos
                    );
                }
            }
            outln!("PnL total   {:>14}", money(total, cfg));
        }
    }
    outln!("\nlatency (wall clock)            p50       p99     p99.9        max");
    outln!("tick-to-order           {}", pcts(&r.feed.tick_to_order));
    for (name, _, lat) in &r.engine.stages {
        if cfg.runtime.inline_chain {
            outln!("  chain inline on the `{name}` thread (no hop in)");
        } else {
            outln!("  hop into {name:<13} {}", pcts(&lat.hop));
        }
        if lat.signal.count() > 0 {
            outln!("  signal stage          {}", pcts(&lat.signal));
        }
        if lat.order.count() > 0 {
            outln!("  order stage           {}", pcts(&lat.order));
        }
        if lat.chain_to_order.count() > 0 {
            outln!("  chain → new order     {}", pcts(&lat.chain_to_order));
        }
    }
    outln!("  hop out to gateway    {}", pcts(&r.feed.output_hop));
    outln!("  journal gate          {}", pcts(&r.feed.journal_gate));
    #[cfg(feature = "fix")]
    if let Some(g) = r.feed.market.gateways() {
        outln!("order → FIX → ack       {}", pcts(&g.order_round_trip));
    }
    let j = &r.engine.journal;
    outln!(
        "\njournal     {} inputs + {} outputs in {} ({})",
        j.inputs,
        j.outputs,
        run_dir.display(),
        j.error.as_deref().unwrap_or("closed cleanly")
    );
    outln!(
        "replay      tickrail journal inspect {}/outputs --kind order_new | head",
        run_dir.display()
    );
    if !r.engine.panicked.is_empty() {
        outln!("PANICKED    {}", r.engine.panicked.join(", "));
    }
    let pins = get(&c.pin_failures);
    if pins > 0 {
        outln!("warning     {pins} thread(s) could not be pinned to their configured core");
    }
    Ok(())
}
