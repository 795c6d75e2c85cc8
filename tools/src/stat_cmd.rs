//! `tickrail stat`: a running engine's counters, live, from its memory-mapped stats file
//! (`<run_dir>/stats`, see `tickrail_engine::runtime::stats_file`), in the spirit of
//! AeronStat. Reading never disturbs the engine: the file is mapped read-only and read
//! under its seqlock.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use tickrail_engine::runtime::stats_file::{Snapshot, StatsReader, Status, STATS_FILE_NAME};

/// Where `tickrail run` puts its run directories by default (`runtime.journal_dir`).
const DEFAULT_RUNS_DIR: &str = "data";

#[derive(Debug, Args)]
pub struct StatArgs {
    /// A stats file, or a run directory holding one [default: the newest data/run-*/stats]
    path: Option<PathBuf>,
    /// Print the counters once and exit.
    #[arg(long)]
    once: bool,
    /// Refresh interval, milliseconds.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..))]
    interval_ms: u64,
}

/// `tickrail stat`.
pub fn run(args: StatArgs) -> Result<ExitCode> {
    let path = match args.path {
        Some(p) if p.is_dir() => p.join(STATS_FILE_NAME),
        Some(p) => p,
        None => newest(Path::new(DEFAULT_RUNS_DIR))?,
    };
    let reader = StatsReader::open(&path)?;
    let live = !args.once;
    let clear = live && std::io::stdout().is_terminal();
    let interval = Duration::from_millis(args.interval_ms);
    let mut previous: Option<(Instant, Snapshot)> = None;
    loop {
        let Some(snap) = read(&reader, live) else {
            // The writer kept publishing through every attempt; try next time.
            std::thread::sleep(interval);
            continue;
        };
        let now = crate::clock::monotonic();
        let gone = snap.status == Status::Running && !alive(snap.pid);
        let mut frame = String::new();
        if clear {
            frame.push_str("\x1b[H\x1b[2J");
        }
        render(
            &mut frame,
            &path,
            &snap,
            previous.as_ref().map(|(t, s)| (now - *t, s)),
        )?;
        match snap.status {
            Status::Finished if live => frame.push_str("engine finished: the values are final\n"),
            _ if gone => {
                let _ = writeln!(
                    frame,
                    "engine pid {} is gone without finishing (killed or crashed): the values \
                     are its last",
                    snap.pid
                );
            }
            _ => {}
        }
        let mut out = std::io::stdout().lock();
        out.write_all(frame.as_bytes())?;
        out.flush()?;
        drop(out);
        if !live || gone || snap.status != Status::Running {
            return Ok(ExitCode::SUCCESS);
        }
        previous = Some((now, snap));
        std::thread::sleep(interval);
    }
}

/// A consistent snapshot; for `--once`, insists a little (a few ms) before giving up.
fn read(reader: &StatsReader, live: bool) -> Option<Snapshot> {
    for _ in 0..if live { 1 } else { 100 } {
        if let Some(s) = reader.read() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if !live {
        eprintln!(
            "warning: {}: the engine kept publishing; no consistent snapshot",
            reader.path().display()
        );
    }
    None
}

/// One screen: a status line, then `label  value  (delta/s)` per value.
fn render(
    out: &mut String,
    path: &Path,
    snap: &Snapshot,
    previous: Option<(Duration, &Snapshot)>,
) -> Result<()> {
    let status = match snap.status {
        Status::Running => "running".to_owned(),
        Status::Finished => "finished".to_owned(),
        Status::Unknown(raw) => format!("status {raw}?"),
    };
    writeln!(
        out,
        "{} — pid {}, started {}, {status}, {} publishes",
        path.display(),
        snap.pid,
        utc(snap.start_wall_ns),
        snap.publishes
    )?;
    let width = snap.labels.iter().map(String::len).max().unwrap_or(0);
    for (i, (label, value)) in snap.iter().enumerate() {
        write!(out, "  {label:<width$}  {value:>20}")?;
        if let Some((elapsed, before)) = previous {
            let secs = elapsed.as_secs_f64();
            let old = before.values.get(i).copied().unwrap_or(value);
            if secs > 0.0 {
                let rate = (i128::from(value) - i128::from(old)) as f64 / secs;
                write!(out, "  ({rate:>12.0}/s)")?;
            }
        }
        out.push('\n');
    }
    Ok(())
}

/// The stats file of the newest `run-*` directory under `root` (run directories are named
/// `run-<UTC time>`, so the greatest name is the newest).
fn newest(root: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(root).with_context(|| {
        format!(
            "no stats file given and no {} directory here to look for runs in; pass a stats \
             file or a run directory",
            root.display()
        )
    })?;
    let mut best: Option<PathBuf> = None;
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", root.display()))?;
        let name = entry.file_name();
        let stats = entry.path().join(STATS_FILE_NAME);
        let newer = best.as_ref().is_none_or(|b| stats > *b);
        if newer && name.to_string_lossy().starts_with("run-") && stats.is_file() {
            best = Some(stats);
        }
    }
    match best {
        Some(p) => Ok(p),
        None => bail!(
            "no run with a stats file under {}/ (run-*/{STATS_FILE_NAME}); pass a stats file \
             or a run directory",
            root.display()
        ),
    }
}

/// Whether process `pid` exists (Linux: `/proc/<pid>`; elsewhere assumed alive).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// `YYYY-MM-DD HH:MM:SS UTC` for ns since the Unix epoch.
fn utc(ns: i64) -> String {
    let (y, mo, d, h, mi, sec) = crate::clock::civil(ns.div_euclid(1_000_000_000));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{sec:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_999_999_999), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400_000_000_000), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn own_pid_is_alive() {
        assert!(alive(std::process::id()));
    }
}
