//! `tickrail`: the one command-line binary.
//!
//! `run` (the main job), `stat` (live counters of a running engine), `replay` (re-drive and
//! verify a run), `state` (a run's engine state rebuilt from its journal, at its end or at
//! an earlier input), `import` (vendor data into an input journal), `backtest` (historical
//! data, raw or imported), `config check` and the journal tools
//! (`tickrail journal …`), `venue` (the FIX 4.4 venue simulator) and `feed publish`
//! (replays an ITCH file as MoldUDP64 over UDP multicast), `latency-profile` (a live run's
//! measured order latencies, for a backtest's latency model).

/// `println!` for commands: a write error (stdout closed, disk full) is returned with `?`
/// instead of panicking; `main` exits quietly on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod backtest_cmd;
mod demo;
mod export_cmd;
mod feed_cmd;
mod import_cmd;
mod journal_cmd;
mod latency_profile_cmd;
mod replay_cmd;
mod run_cmd;
mod stat_cmd;
mod state_cmd;
mod venue_cmd;

use clap::{Parser, Subcommand};
/// The clock seam, for the commands as `crate::clock`.
use tickrail_engine::runtime::clock;

/// tickrail: a low-latency, event-sourced trading engine.
#[derive(Debug, Parser)]
#[command(name = "tickrail", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine live: the threaded pipeline on the config's layout against its
    /// synthetic market and simulated venues, journaling every event (the main job).
    Run(run_cmd::RunArgs),
    /// Engine configs.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Inspect, follow, verify, summarise and recover journals.
    #[command(subcommand)]
    Journal(journal_cmd::JournalCmd),
    /// Backtest on historical data (ITCH, DBN, Binance captures, CSV): the chain on one
    /// thread against the simulated venue, journaled, with a report; `--sweep` runs
    /// parameter grids in parallel.
    Backtest(backtest_cmd::BacktestArgs),
    /// Import vendor market data (ITCH, DBN, Binance captures, CSV) into an input journal
    /// of validated, sequenced events that `backtest --data DIR` reads in place.
    Import(import_cmd::ImportArgs),
    /// Re-drive a run's journaled inputs through the same stages on one thread; with
    /// `--verify`, compare every output with the journal byte for byte (exit 3 at the first
    /// difference).
    Replay(replay_cmd::ReplayArgs),
    /// Show a run's engine state rebuilt from its journaled inputs — positions, PnL, fees,
    /// top of book, open orders, risk halts, throttle and rejects — at the end of the
    /// journal or `--at` an earlier input; `--json` for scripts.
    State(state_cmd::StateArgs),
    /// Show a running engine's counters live from its stats file (`<run_dir>/stats`):
    /// one line per counter with its rate, until the engine finishes or its process is gone.
    Stat(stat_cmd::StatArgs),
    /// The FIX 4.4 venue simulator: a QuickFIX acceptor in front of the matching engines,
    /// with synthetic participant liquidity, until SIGINT/SIGTERM; prints counts at exit.
    Venue(venue_cmd::VenueArgs),
    /// Market data feed tools: `feed publish` replays an ITCH file as MoldUDP64 packets
    /// over UDP multicast.
    #[command(subcommand)]
    Feed(feed_cmd::FeedCmd),
    /// The order latencies a live run measured, as a latency profile file for
    /// `[backtest.latency.<kind>] model = "profile"`.
    LatencyProfile(latency_profile_cmd::LatencyProfileArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCmd {
    /// Load and validate a config (and its model files); print what it holds or the error
    /// naming file, key and reason.
    Check {
        /// The config file.
        file: std::path::PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TICKRAIL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Config(ConfigCmd::Check { file }) => run_cmd::check(&file),
        Command::Journal(cmd) => journal_cmd::run(cmd),
        Command::Stat(args) => stat_cmd::run(args),
        Command::Replay(args) => replay_cmd::run(args),
        Command::State(args) => state_cmd::run(args),
        Command::Backtest(args) => backtest_cmd::run(args),
        Command::Import(args) => import_cmd::run(args),
        Command::Venue(args) => venue_cmd::run(args),
        Command::Feed(cmd) => feed_cmd::run(cmd),
        Command::LatencyProfile(args) => latency_profile_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        // `tickrail journal inspect … | head`: the reader went away; not an error.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
