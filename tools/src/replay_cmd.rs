//! `tickrail replay RUN [--verify] …`: re-drive a run's journaled inputs through the same
//! stages on one thread (`tickrail_replay::replay_run`), print what they do and, with
//! `--verify`, compare every output with the journaled one byte for byte.
//!
//! Exit codes: 0 identical (or a replay without `--verify`), 3 diverged, 4 a crash tail
//! (every journaled output matched, but the run never closed and the outputs of its last
//! inputs are missing), 1 an error (the run cannot be read, or its manifest does not match
//! this binary and config).

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::threads::model_hash;
use tickrail_engine::{decode_event, Event, EventKind};
use tickrail_journal::{read_manifest, JournalReader, Manifest};
use tickrail_replay::backtest_verify::{input_journal_of, verify_journal_backtest};
use tickrail_replay::verify::{replay_run, Point, ReplayOptions, ReplaySummary, Replayed, Verdict};

use crate::run_cmd::{load, DEFAULT_ORIGIN};

/// Exit code of a replay that diverged.
const DIVERGED: u8 = 3;
/// Exit code of a verified replay of a run that did not close: every journaled output
/// matched, the outputs of its last inputs were never journaled.
const CRASH_TAIL: u8 = 4;

/// `tickrail replay`.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The run directory (holding `inputs/` and `outputs/`), or either journal in it.
    pub run: PathBuf,
    /// Compare every output with the journaled output, byte for byte; exit 3 at the first
    /// difference.
    #[arg(long)]
    pub verify: bool,
    /// The config to replay with (default: the one the manifest names; the built-in
    /// default config for a run of the built-in config).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replay even if the binary version, config hash or model hash differ from the run's
    /// manifest (to see where a changed config or model diverges).
    #[arg(long)]
    pub allow_mismatch: bool,
    /// First input shown: a sequence number (`1200`), a receive time (`@<ns since epoch>`
    /// or `2026-11-29T04:01:30.25Z`) or an offset from the first input (`+2.5s`, `+300ms`).
    /// Earlier inputs still rebuild the stages' state, silently.
    #[arg(long)]
    pub from: Option<String>,
    /// Last input replayed (same forms as `--from`).
    #[arg(long)]
    pub to: Option<String>,
    /// `max` (default) or a multiple of recorded time (`1` = as recorded, `10` = ten times
    /// faster), pacing the window by the inputs' receive times.
    #[arg(long, default_value = "max")]
    pub speed: String,
    /// What to print per event in the window: `none`, `orders` (order requests, risk
    /// rejects, execution reports, commands, gaps; the default without `--verify`) or
    /// `all`. With `--verify` the default is `none`.
    #[arg(long)]
    pub print: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Print {
    None,
    Orders,
    All,
}

/// `tickrail replay`.
pub fn run(args: ReplayArgs) -> Result<ExitCode> {
    if let Some(code) = journal_backtest(&args)? {
        return Ok(code);
    }
    let run_dir = run_dir(&args.run)?;
    let manifest = read_manifest(&run_dir.join("inputs"))
        .with_context(|| format!("{}: reading the run manifest", run_dir.display()))?;
    let cfg = config(args.config.as_deref(), &run_dir, &manifest)?;
    check_manifest(&manifest, &cfg, args.allow_mismatch)?;
    let first_ts = first_input_ts(&run_dir)?;
    let opts = ReplayOptions {
        from: args
            .from
            .as_deref()
            .map(|p| parse_point(p, first_ts))
            .transpose()
            .context("--from")?,
        to: args
            .to
            .as_deref()
            .map(|p| parse_point(p, first_ts))
            .transpose()
            .context("--to")?,
        verify: args.verify,
    };
    let speed = parse_speed(&args.speed)?;
    let print = parse_print(&args)?;
    outln!(
        "tickrail replay: {} with {} (config hash {}){}",
        run_dir.display(),
        cfg.file,
        cfg.config_hash_hex(),
        if args.verify { ", verifying" } else { "" }
    );

    let mut pacer = Pacer::new(speed);
    let mut write_error = None;
    let summary = replay_run(&cfg, &run_dir, opts, |ev| {
        if let Replayed::Input(e) = ev {
            pacer.wait_for(e.header.receive_ts_ns);
        }
        show_event(ev, print, &mut write_error)
    })
    .with_context(|| format!("replaying {}", run_dir.display()))?;
    if let Some(err) = write_error {
        return Err(err.into());
    }
    print_summary(&summary)?;
    print_verdict(&summary)
}

/// `--print`, defaulting to none with `--verify` and to orders without.
fn parse_print(args: &ReplayArgs) -> Result<Print> {
    Ok(match args.print.as_deref() {
        None if args.verify => Print::None,
        None | Some("orders") => Print::Orders,
        Some("none") => Print::None,
        Some("all") => Print::All,
        Some(other) => bail!("--print: expected none, orders or all, got {other:?}"),
    })
}

/// Prints a replayed event if `print` shows it; a write error stops the replay.
fn show_event(
    ev: Replayed<'_>,
    print: Print,
    write_error: &mut Option<std::io::Error>,
) -> ControlFlow<()> {
    let (tag, e) = match ev {
        Replayed::Input(e) => ("in ", e),
        Replayed::Output(e) => ("out", e),
    };
    let show = match print {
        Print::None => false,
        Print::All => true,
        Print::Orders => notable(e.kind()),
    };
    if show {
        use std::io::Write as _;
        if let Err(err) = writeln!(std::io::stdout().lock(), "{tag} {e}") {
            *write_error = Some(err);
            return ControlFlow::Break(());
        }
    }
    ControlFlow::Continue(())
}

/// The `replayed` line: inputs, outputs by kind.
fn print_summary(summary: &ReplaySummary) -> Result<()> {
    let kinds: Vec<String> = summary
        .window_outputs_by_kind
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    outln!(
        "replayed    {} inputs ({} in the window), {} outputs; in the window: {}",
        summary.inputs,
        summary.window_inputs,
        summary.outputs,
        if kinds.is_empty() {
            "no outputs".to_owned()
        } else {
            kinds.join(", ")
        }
    );
    Ok(())
}

/// Prints a replay's verdict; the exit code it means.
fn print_verdict(summary: &ReplaySummary) -> Result<ExitCode> {
    match summary.verdict {
        None => Ok(ExitCode::SUCCESS),
        Some(Verdict::Identical { inputs, outputs }) => {
            outln!(
                "verify      identical: {outputs} outputs of {inputs} inputs match the journal \
                 byte for byte"
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Verdict::CrashTail {
            outputs,
            from_input,
            to_input,
            missing_outputs,
        }) => {
            outln!(
                "verify      crash tail: {outputs} journaled outputs match byte for byte; the \
                 outputs of inputs {from_input}..{to_input} ({missing_outputs} outputs) were \
                 never journaled: the run did not close (`tickrail run --resume` continues it)"
            );
            Ok(ExitCode::from(CRASH_TAIL))
        }
        Some(Verdict::Diverged {
            input_sequence,
            expected,
            actual,
        }) => {
            match input_sequence {
                Some(s) => outln!("verify      DIVERGED at input sequence {s}"),
                None => outln!("verify      DIVERGED after the last input"),
            }
            let show = |e: &Option<Event>| e.map_or("(nothing)".to_owned(), |e| e.to_string());
            outln!("  expected  {}", show(&expected));
            outln!("  actual    {}", show(&actual));
            if !summary.context.is_empty() {
                outln!("  the inputs just before:");
                for e in &summary.context {
                    outln!("    {e}");
                }
            }
            Ok(ExitCode::from(DIVERGED))
        }
    }
}

/// `tickrail replay OUT` of a backtest whose inputs were a journal (only its outputs are
/// journaled): re-runs it against the input journal its manifest names; `None` for any
/// other run.
fn journal_backtest(args: &ReplayArgs) -> Result<Option<ExitCode>> {
    let out_dir = args.run.join("outputs");
    let Ok(manifest) = read_manifest(&out_dir) else {
        return Ok(None);
    };
    let Some(input) = input_journal_of(&manifest).map(str::to_owned) else {
        return Ok(None);
    };
    if args.from.is_some() || args.to.is_some() {
        bail!(
            "--from/--to: a backtest from an input journal is replayed whole (it re-runs the \
             simulated venue from the start)"
        );
    }
    let cfg = config(args.config.as_deref(), &args.run, &manifest)?;
    check_manifest(&manifest, &cfg, args.allow_mismatch)?;
    let print = parse_print(args)?;
    outln!(
        "tickrail replay: {} with {} (config hash {}), re-running the backtest on {}{}",
        args.run.display(),
        cfg.file,
        cfg.config_hash_hex(),
        input,
        if args.verify { ", verifying" } else { "" }
    );
    let mut write_error = None;
    let summary = verify_journal_backtest(&cfg, &args.run, &manifest, |ev| {
        show_event(ev, print, &mut write_error)
    })
    .with_context(|| format!("replaying {}", args.run.display()))?;
    if let Some(err) = write_error {
        return Err(err.into());
    }
    print_summary(&summary)?;
    if args.verify {
        print_verdict(&summary).map(Some)
    } else {
        Ok(Some(ExitCode::SUCCESS))
    }
}

/// Order flow and the inputs that matter to it (not every book update and signal).
fn notable(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::OrderNew
            | EventKind::OrderCancel
            | EventKind::OrderAmend
            | EventKind::RiskReject
            | EventKind::ExecReport
            | EventKind::Command
            | EventKind::FeedGap
    )
}

/// The run directory of `path` (a run directory, or its `inputs`/`outputs` journal).
pub(crate) fn run_dir(path: &Path) -> Result<PathBuf> {
    let has = |d: &Path| d.join("inputs").is_dir() && d.join("outputs").is_dir();
    if has(path) {
        return Ok(path.to_path_buf());
    }
    if path
        .file_name()
        .is_some_and(|n| n == "inputs" || n == "outputs")
    {
        if let Some(parent) = path.parent().filter(|p| has(p)) {
            return Ok(parent.to_path_buf());
        }
    }
    bail!(
        "{}: not a run directory (expected {}/inputs and {}/outputs, as `tickrail run` writes)",
        path.display(),
        path.display(),
        path.display()
    )
}

/// The config a run is replayed (or resumed, or inspected) with: `explicit` (`--config`),
/// else the run directory's copy, else (a run older than the copies) the file the manifest
/// names.
pub(crate) fn config(
    explicit: Option<&Path>,
    run_dir: &Path,
    manifest: &Manifest,
) -> Result<EngineConfig> {
    if let Some(path) = explicit {
        return load(Some(path));
    }
    if let Some(cfg) = tickrail_engine::runtime::run_files::load(run_dir, manifest)
        .with_context(|| format!("{}: the run's config copy", run_dir.display()))?
    {
        return Ok(cfg);
    }
    match manifest.get("config_file") {
        Some(DEFAULT_ORIGIN) => load(None),
        Some(file) => EngineConfig::load(file).with_context(|| {
            format!("the run's config {file} cannot be loaded; pass --config FILE")
        }),
        None => bail!("the run manifest names no config file; pass --config FILE"),
    }
}

/// Refuses a replay whose binary, config or model differ from the run's, unless allowed.
pub(crate) fn check_manifest(manifest: &Manifest, cfg: &EngineConfig, allow: bool) -> Result<()> {
    let ours = [
        ("binary_version", env!("CARGO_PKG_VERSION").to_owned()),
        ("config_hash", cfg.config_hash_hex()),
        ("model_hash", model_hash(cfg)),
    ];
    let mut diffs = Vec::new();
    for (key, value) in &ours {
        match manifest.get(key) {
            Some(v) if v == value => {}
            recorded => diffs.push(format!(
                "{key}: run {}, now {value}",
                recorded.unwrap_or("(missing)")
            )),
        }
    }
    if diffs.is_empty() {
        return Ok(());
    }
    if allow {
        outln!(
            "warning: replaying despite a manifest mismatch (--allow-mismatch): {}",
            diffs.join("; ")
        );
        return Ok(());
    }
    bail!(
        "the run was recorded with a different binary, config or model: {}; a replay would not \
         be the same run (pass --allow-mismatch to replay anyway)",
        diffs.join("; ")
    )
}

/// Receive time of the run's first input (for `+offset` points).
pub(crate) fn first_input_ts(run_dir: &Path) -> Result<i64> {
    let dir = run_dir.join("inputs");
    let mut reader = JournalReader::open(&dir).with_context(|| format!("{}", dir.display()))?;
    match reader
        .next()
        .with_context(|| format!("{}", dir.display()))?
    {
        Some(r) => Ok(decode_event(&r)
            .with_context(|| format!("{}", dir.display()))?
            .header
            .receive_ts_ns),
        None => Ok(0),
    }
}

/// A `--from`/`--to` point; see [`ReplayArgs::from`].
pub(crate) fn parse_point(text: &str, first_ts: i64) -> Result<Point> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(Point::Sequence(
            t.parse().context("sequence number too large")?,
        ));
    }
    if let Some(ns) = t.strip_prefix('@') {
        return Ok(Point::TimeNs(ns.parse().with_context(|| {
            format!("{t:?}: expected @<ns since the Unix epoch>")
        })?));
    }
    if let Some(d) = t.strip_prefix('+') {
        return Ok(Point::TimeNs(
            first_ts.saturating_add(parse_duration_ns(d)?),
        ));
    }
    parse_utc(t).map(Point::TimeNs).with_context(|| {
        format!(
            "{t:?}: expected a sequence number, @<ns>, +<offset> (e.g. +2.5s) or a UTC time \
             (YYYY-MM-DDTHH:MM:SS[.fff]Z)"
        )
    })
}

/// `2.5s`, `300ms`, `40us`, `100ns` → ns.
fn parse_duration_ns(text: &str) -> Result<i64> {
    let (num, unit) = text
        .find(|c: char| c.is_ascii_alphabetic())
        .map_or((text, ""), |i| text.split_at(i));
    let scale = match unit {
        "s" => 1e9,
        "ms" => 1e6,
        "us" => 1e3,
        "ns" => 1.0,
        _ => bail!("{text:?}: expected a duration with a unit: s, ms, us or ns"),
    };
    let v: f64 = num
        .parse()
        .with_context(|| format!("{text:?}: bad number"))?;
    if !(v.is_finite() && v >= 0.0) {
        bail!("{text:?}: a duration is a finite number >= 0");
    }
    Ok((v * scale).round() as i64)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z` → ns since the Unix epoch.
fn parse_utc(text: &str) -> Result<i64> {
    let body = text.strip_suffix('Z').context("a UTC time ends in Z")?;
    let (date, time) = body
        .split_once('T')
        .context("expected a T between date and time")?;
    let num = |s: &str, what: &str| -> Result<i64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            bail!("bad {what} {s:?}");
        }
        Ok(s.parse()?)
    };
    let d: Vec<&str> = date.split('-').collect();
    let (hms, frac) = time.split_once('.').unwrap_or((time, ""));
    let t: Vec<&str> = hms.split(':').collect();
    if d.len() != 3 || t.len() != 3 || frac.len() > 9 {
        bail!("expected YYYY-MM-DDTHH:MM:SS[.fff]Z");
    }
    let (y, mo, da) = (num(d[0], "year")?, num(d[1], "month")?, num(d[2], "day")?);
    let (h, mi, s) = (
        num(t[0], "hour")?,
        num(t[1], "minute")?,
        num(t[2], "second")?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&da) || h > 23 || mi > 59 || s > 60 {
        bail!("date or time out of range");
    }
    let frac_ns = if frac.is_empty() {
        0
    } else {
        num(frac, "fraction")? * 10i64.pow(9 - frac.len() as u32)
    };
    let secs = crate::clock::from_civil(y, mo, da, h, mi, s).context("no such date")?;
    Ok(secs * 1_000_000_000 + frac_ns)
}

/// `max` → `None`; a positive multiple of recorded time otherwise.
fn parse_speed(text: &str) -> Result<Option<f64>> {
    if text == "max" {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
        _ => bail!("--speed: expected max or a positive number, got {text:?}"),
    }
}

/// Paces events by their receive times at `speed` × recorded time.
struct Pacer {
    speed: Option<f64>,
    start: Option<(std::time::Instant, i64)>,
}

impl Pacer {
    fn new(speed: Option<f64>) -> Self {
        Self { speed, start: None }
    }

    fn wait_for(&mut self, ts_ns: i64) {
        let Some(speed) = self.speed else {
            return;
        };
        let (t0, ts0) = *self
            .start
            .get_or_insert_with(|| (crate::clock::monotonic(), ts_ns));
        let due = Duration::from_secs_f64((ts_ns - ts0).max(0) as f64 / 1e9 / speed);
        let elapsed = t0.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_in_every_form() {
        assert_eq!(parse_point("1200", 0).unwrap(), Point::Sequence(1200));
        assert_eq!(parse_point("@17", 0).unwrap(), Point::TimeNs(17));
        assert_eq!(
            parse_point("+2.5s", 1_000).unwrap(),
            Point::TimeNs(2_500_001_000)
        );
        assert_eq!(
            parse_point("+300ms", 0).unwrap(),
            Point::TimeNs(300_000_000)
        );
        assert_eq!(
            parse_point("1970-01-01T00:00:01.5Z", 0).unwrap(),
            Point::TimeNs(1_500_000_000)
        );
        assert_eq!(
            parse_point("2026-11-29T04:01:30Z", 0).unwrap(),
            Point::TimeNs(1_795_924_890_000_000_000)
        );
        for bad in ["", "+3", "+xs", "2026-13-01T00:00:00Z", "12:00", "@x", "-5"] {
            assert!(parse_point(bad, 0).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn speeds_parse() {
        assert_eq!(parse_speed("max").unwrap(), None);
        assert_eq!(parse_speed("10").unwrap(), Some(10.0));
        assert!(parse_speed("0").is_err() && parse_speed("fast").is_err());
    }
}
