//! `tickrail`: the one command-line binary.
//!
//! Today it carries the journal tools (`tickrail journal …`). `run`, `replay`, `backtest`,
//! `venue`, `feed`, `bench` and `config check` arrive with the issues that build them.

/// `println!` for commands: a write error (stdout closed, disk full) is returned with `?`
/// instead of panicking; `main` exits quietly on a closed pipe.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?
    }};
}

mod clock;
mod demo;
mod journal_cmd;

use clap::{Parser, Subcommand};

/// tickrail: a low-latency, event-sourced trading engine.
#[derive(Debug, Parser)]
#[command(name = "tickrail", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect, follow, verify, summarise and recover journals.
    #[command(subcommand)]
    Journal(journal_cmd::JournalCmd),
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
        Command::Journal(cmd) => journal_cmd::run(cmd),
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
