//! `tickrail venue --config FILE [--fix-config FILE] [--duration SECS]`: the FIX 4.4 venue
//! simulator (a QuickFIX acceptor in front of the matching engines), until SIGINT/SIGTERM or
//! the duration; prints its counters at exit. The venue file is described in
//! `config/venue-sim.toml`.
//!
//! Needs the `fix` feature (QuickFIX C++); a binary built without it keeps the subcommand
//! and refuses to run it, with an error saying so.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

#[cfg(feature = "fix")]
use std::path::Path;
#[cfg(feature = "fix")]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "fix")]
use std::sync::Arc;
#[cfg(feature = "fix")]
use std::time::Duration;

#[cfg(feature = "fix")]
use anyhow::{bail, Context};
#[cfg(feature = "fix")]
use tickrail_engine::config::{EngineConfig, LiveSpec};
#[cfg(feature = "fix")]
use tickrail_engine::runtime::WaitKind;
#[cfg(feature = "fix")]
use tickrail_gateways::fix::{FixInstrument, FixVenue, FixVenueConfig, VenueLiquidity};
#[cfg(feature = "fix")]
use tickrail_gateways::synthetic::SyntheticConfig;
#[cfg(feature = "fix")]
use tickrail_gateways::udp::ReceiverConfig;

#[cfg(feature = "fix")]
use crate::clock;

/// Arguments of `tickrail venue`.
#[derive(Debug, clap::Args)]
pub struct VenueArgs {
    /// The venue file (TOML), e.g. config/venue-sim.toml.
    #[arg(long)]
    config: PathBuf,
    /// QuickFIX acceptor settings; overrides the file's `fix_config`.
    #[arg(long)]
    fix_config: Option<PathBuf>,
    /// Stop after this many seconds (default: run until SIGINT/SIGTERM).
    #[arg(long)]
    duration: Option<u64>,
}

/// The venue file (see `config/venue-sim.toml`).
#[cfg(feature = "fix")]
#[derive(Debug)]
struct VenueFile {
    engine_config: PathBuf,
    fix_config: PathBuf,
    liquidity: String,
    venue_id: u16,
    duration_ns: i64,
    wait: WaitKind,
}

#[cfg(feature = "fix")]
impl VenueFile {
    fn parse(text: &str, origin: &Path) -> Result<Self> {
        let table: toml::Table =
            toml::from_str(text).with_context(|| origin.display().to_string())?;
        let o = origin.display();
        for key in table.keys() {
            if ![
                "engine_config",
                "fix_config",
                "liquidity",
                "venue_id",
                "duration_ns",
                "wait",
            ]
            .contains(&key.as_str())
            {
                bail!("{o}: unknown key {key:?}");
            }
        }
        let string = |key: &str| -> Result<Option<String>> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => bail!("{o}: {key}: expected a string"),
            }
        };
        let int = |key: &str| -> Result<Option<i64>> {
            match table.get(key) {
                None => Ok(None),
                Some(toml::Value::Integer(i)) => Ok(Some(*i)),
                Some(_) => bail!("{o}: {key}: expected an integer"),
            }
        };
        Ok(Self {
            engine_config: string("engine_config")?
                .with_context(|| format!("{o}: engine_config is required"))?
                .into(),
            fix_config: string("fix_config")?
                .unwrap_or_else(|| "fix/acceptor.cfg".into())
                .into(),
            liquidity: string("liquidity")?.unwrap_or_else(|| "synthetic".into()),
            venue_id: u16::try_from(int("venue_id")?.unwrap_or(1))
                .with_context(|| format!("{o}: venue_id out of range"))?,
            duration_ns: int("duration_ns")?.unwrap_or(3_600_000_000_000),
            wait: match string("wait")? {
                None => WaitKind::Block,
                Some(w) => w.parse().map_err(|_| {
                    anyhow::anyhow!(
                        "{o}: wait: must be \"busy-spin\", \"yield\" or \"block\", got {w:?}"
                    )
                })?,
            },
        })
    }
}

#[cfg(feature = "fix")]
fn relative_to(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// `tickrail venue` in a binary built without the `fix` feature: an error.
#[cfg(not(feature = "fix"))]
pub fn run(args: VenueArgs) -> Result<ExitCode> {
    let _ = args;
    anyhow::bail!(
        "`tickrail venue` (the FIX 4.4 venue simulator) needs the `fix` feature; this binary \
         was built without it"
    )
}

/// `tickrail venue`.
#[cfg(feature = "fix")]
pub fn run(args: VenueArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("read {}", args.config.display()))?;
    let file = VenueFile::parse(&text, &args.config)?;
    let engine_path = relative_to(&args.config, &file.engine_config);
    let engine = EngineConfig::load(&engine_path)?;
    let fix_config = args
        .fix_config
        .unwrap_or_else(|| relative_to(&args.config, &file.fix_config));
    let mut feed_group = None;
    let liquidity = match file.liquidity.as_str() {
        "none" => VenueLiquidity::None,
        "synthetic" => {
            let mut s = SyntheticConfig::from_engine(&engine);
            s.venues.retain(|v| v.venue_id == file.venue_id);
            if s.venues.is_empty() {
                bail!(
                    "{}: venue_id {} is not in {}",
                    args.config.display(),
                    file.venue_id,
                    engine_path.display()
                );
            }
            s.duration_ns = file.duration_ns;
            VenueLiquidity::Synthetic(s)
        }
        "feed" => {
            let LiveSpec::Gateways { udp, .. } = &engine.live else {
                bail!(
                    "{}: liquidity = \"feed\" takes the feed from [live.udp] of {}, which has \
                     no [live] market = \"gateways\"",
                    args.config.display(),
                    engine_path.display()
                );
            };
            let rc = ReceiverConfig::from_spec(udp)
                .map_err(|e| anyhow::anyhow!("{}: [live.udp] {e}", engine_path.display()))?;
            feed_group = Some(udp.group);
            VenueLiquidity::Feed(rc)
        }
        other => bail!(
            "{}: liquidity: {other:?} is not \"feed\", \"synthetic\" or \"none\"",
            args.config.display()
        ),
    };
    let venue = FixVenue::start(FixVenueConfig {
        settings_path: fix_config.clone(),
        instruments: engine.instruments.iter().map(FixInstrument::from).collect(),
        liquidity,
        ring_capacity: 65_536,
        wait: file.wait,
    })
    .with_context(|| format!("start the FIX venue ({})", fix_config.display()))?;
    eprintln!(
        "tickrail venue: accepting FIX 4.4 ({}), liquidity {}{}, instruments {}",
        fix_config.display(),
        file.liquidity,
        feed_group.map_or(String::new(), |g| format!(
            " (mirroring the ITCH feed on {g})"
        )),
        engine
            .instruments
            .iter()
            .map(|i| i.symbol.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("install signal handler")?;
    }
    let started = clock::monotonic();
    let limit = args.duration.map(Duration::from_secs);
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| started.elapsed() < l) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stats = venue.stats();
    venue.stop()?;
    outln!("new_orders        {}", stats.new_orders);
    outln!("cancels           {}", stats.cancels);
    outln!("replaces          {}", stats.replaces);
    outln!("status_requests   {}", stats.status_requests);
    outln!("exec_reports      {}", stats.exec_reports);
    outln!("fills             {}", stats.fills);
    outln!("cancel_rejects    {}", stats.cancel_rejects);
    outln!("business_rejects  {}", stats.business_rejects);
    outln!("logons            {}", stats.logons);
    for (reason, n) in stats.rejects {
        outln!("reject.{:<16} {n}", reason.name());
    }
    if let Some((m, f)) = stats.feed {
        outln!(
            "feed              {} packets, {} events, {} gaps; mirrored {} adds ({} traded on \
             arrival), {} cancels, {} partial cancels, {} executions; {} for orders not on the \
             book, {} for unlisted instruments",
            f.packets,
            f.events,
            f.gaps,
            m.adds,
            m.crossed,
            m.cancels,
            m.amends,
            m.executions,
            m.missing,
            m.foreign
        );
    }
    Ok(ExitCode::SUCCESS)
}
