//! `tickrail import --format FMT FILE... --config FILE --out DIR`: vendor market data →
//! an input journal in `DIR/inputs` (`tickrail_replay::import`), which `tickrail backtest
//! --data DIR` then reads in place as often as needed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use tickrail_engine::config::EngineConfig;
use tickrail_replay::import::{import, ImportOptions};

use crate::backtest_cmd::data_spec;

/// `tickrail import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// Market data files (merged by receive time).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// Data format: itch, binance, dbn or csv (default: from each file's name).
    #[arg(long)]
    pub format: Option<String>,
    /// The engine config: its instruments (the map the journal records) and its first
    /// `[[venues]]` entry (the data's venue).
    #[arg(long)]
    pub config: PathBuf,
    /// Output directory; the journal goes to `DIR/inputs`.
    #[arg(long)]
    pub out: PathBuf,
    /// DBN instrument definitions file (when the data lacks symbol mappings).
    #[arg(long)]
    pub definitions: Option<PathBuf>,
    /// ITCH trading date, YYYY-MM-DD (timestamps count from its midnight, US Eastern).
    #[arg(long)]
    pub itch_date: Option<String>,
    /// Stop at the first bad record (exit 1, naming its file and offset) instead of
    /// skipping and counting it.
    #[arg(long)]
    pub stop_on_bad: bool,
}

/// `tickrail import`.
pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let cfg = EngineConfig::load(&args.config)?;
    let data = data_spec(
        &args.files,
        args.format.as_deref(),
        args.definitions.as_ref(),
        args.itch_date.as_deref(),
    )?;
    let opts = ImportOptions {
        out_dir: args.out.clone(),
        stop_on_bad: args.stop_on_bad,
    };
    let t0 = crate::clock::monotonic();
    let s = import(&cfg, &data, &opts).context("import")?;
    let secs = t0.elapsed().as_secs_f64().max(1e-9);
    outln!(
        "imported    {} events into {} ({:.2} M events/s, {:.3} s)",
        s.events,
        s.journal_dir.display(),
        s.events as f64 / secs / 1e6,
        secs
    );
    let f = &s.feed;
    outln!(
        "skipped     {} bad records ({} malformed, {} out of order); {} refused by the \
         Sequencer; {} ignored, {} unknown instrument, {} gaps",
        s.skipped,
        f.skipped,
        f.out_of_order,
        s.rejected,
        f.ignored,
        f.unknown_instrument,
        f.gaps
    );
    for r in &f.reports {
        let at = if r.line { "line" } else { "offset" };
        outln!("  {}, {at} {}: {}", r.file, r.offset, r.reason);
    }
    if let Some(fatal) = &f.fatal {
        outln!("read error  {fatal}");
    }
    let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    outln!("events      {}", kinds.join(", "));
    for src in &s.sources {
        outln!(
            "source      {} ({} bytes, xxh3 {})",
            src.path,
            src.bytes,
            src.hash
        );
    }
    outln!(
        "journal     format {}, content hash {} — backtest it: tickrail backtest --config {} \
         --data {}",
        s.format.name(),
        s.content_hash,
        args.config.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
