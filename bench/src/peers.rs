//! Peers in the same run: tickrail and hftbacktest on the same files, for `peers_bench`.
//!
//! The peer side runs Python scripts (`bench/peers/*.py`, in the virtual environment
//! `make bench-peers` makes), each printing one JSON line; [`run_script`] runs one and
//! parses that line into a [`Measured`]. The tickrail side is here: [`import`] (vendor data →
//! an input journal, [`tickrail_replay::import`]), [`book_only`] (the imported journal's
//! market data applied to the engine's books) and [`backtest`] (`run_backtest` on the
//! imported journal or on a raw file). [`Row`] pairs the two sides of a workload against
//! a target and [`table`] prints them.
//!
//! A ratio is **peer time / tickrail time over the same file**: how many times faster
//! tickrail replays it. The two sides count events differently (tickrail: one event per
//! price level changed, trade or order message; hftbacktest: one row per level or trade,
//! some rows doubled when the exchange and local orders differ), so the events/s columns
//! each use their own count, and the ratio uses neither.

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use tickrail_engine::book::{BookView, MarketBook};
use tickrail_engine::config::EngineConfig;
use tickrail_engine::pipeline::BookSizing;
use tickrail_engine::runtime::clock;
use tickrail_gateways::feed::FeedSource;
use tickrail_replay::backtest::QueueModel;
use tickrail_replay::backtest_job::{run_backtest, DataSpec, JobOptions};
use tickrail_replay::import::{ImportOptions, ImportSummary, ImportedFeed};

/// One side's measurement of a workload: the median of its repetitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// Events in the file, in this side's own unit.
    pub events: u64,
    /// Median seconds of the timed loop.
    pub seconds: f64,
    /// Every repetition's seconds.
    pub runs_s: Vec<f64>,
    /// Orders sent (quoting workloads).
    pub orders: Option<u64>,
    /// Fills.
    pub fills: Option<u64>,
    /// Final position, units of the instrument.
    pub position: Option<f64>,
    /// Anything else worth printing (counts that show the work done).
    pub detail: String,
}

impl Measured {
    /// Events per second at the median.
    pub fn events_per_s(&self) -> f64 {
        self.events as f64 / self.seconds
    }

    /// The counts, for the table's last columns.
    pub fn counts(&self) -> String {
        let mut s = format!("{} ev", self.events);
        if let Some(o) = self.orders {
            let _ = write!(s, ", {o} orders");
        }
        if let Some(f) = self.fills {
            let _ = write!(s, ", {f} fills");
        }
        if let Some(p) = self.position {
            let _ = write!(s, ", pos {p:.4}");
        }
        s
    }

    fn from_runs(mut runs: Vec<(f64, Measured)>) -> Result<Self> {
        ensure!(!runs.is_empty(), "no repetitions");
        let runs_s: Vec<f64> = runs.iter().map(|r| r.0).collect();
        runs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (secs, mut m) = runs.swap_remove(runs.len() / 2);
        m.seconds = secs;
        m.runs_s = runs_s;
        Ok(m)
    }
}

/// A workload's two sides and its target.
#[derive(Debug, Clone)]
pub struct Row {
    /// What runs.
    pub workload: String,
    /// Tickrail's side (`Err`: it failed, with why).
    pub tickrail: Result<Measured, String>,
    /// What the peer runs.
    pub peer_name: String,
    /// The peer's side.
    pub peer: Result<Measured, String>,
    /// The least ratio that passes (`None`: printed for reference, no verdict).
    pub target: Option<f64>,
}

impl Row {
    /// Peer time / tickrail time, if both sides ran.
    pub fn ratio(&self) -> Option<f64> {
        match (&self.tickrail, &self.peer) {
            (Ok(t), Ok(p)) if t.seconds > 0.0 => Some(p.seconds / t.seconds),
            _ => None,
        }
    }

    /// `PASS`, `FAIL`, `ERROR` (a side did not run) or `—` (no target).
    pub fn verdict(&self) -> &'static str {
        match (self.target, self.ratio()) {
            (None, _) => "—",
            (Some(_), None) => "ERROR",
            (Some(t), Some(r)) if r >= t => "PASS",
            (Some(_), Some(_)) => "FAIL",
        }
    }

    /// Whether a side failed to run.
    pub fn errored(&self) -> bool {
        self.tickrail.is_err() || self.peer.is_err()
    }
}

/// The Markdown table of `rows`, then one line of counts per row.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| workload | tickrail M ev/s | peer | peer M ev/s | ratio (peer time / tickrail time) \
         | target | verdict |\n|---|---:|---|---:|---:|---:|---|\n",
    );
    let eps = |m: &Result<Measured, String>| match m {
        Ok(m) => format!("{:.2}", m.events_per_s() / 1e6),
        Err(_) => "error".to_owned(),
    };
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            eps(&r.tickrail),
            r.peer_name,
            eps(&r.peer),
            r.ratio()
                .map_or_else(|| "–".to_owned(), |x| format!("{x:.2}×")),
            r.target
                .map_or_else(|| "–".to_owned(), |t| format!("≥ {t}×")),
            r.verdict()
        );
    }
    out.push('\n');
    for r in rows {
        let side = |m: &Result<Measured, String>| match m {
            Ok(m) => format!(
                "{}; {:.4} s (runs {}){}",
                m.counts(),
                m.seconds,
                m.runs_s
                    .iter()
                    .map(|s| format!("{s:.4}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if m.detail.is_empty() {
                    String::new()
                } else {
                    format!("; {}", m.detail)
                }
            ),
            Err(e) => format!("ERROR: {e}"),
        };
        let _ = writeln!(
            out,
            "- {}: tickrail {} | {}: {}",
            r.workload,
            side(&r.tickrail),
            r.peer_name,
            side(&r.peer)
        );
    }
    out
}

/// Runs `python script args…`, its standard error passed through, and parses the last
/// line of its standard output as JSON.
pub fn run_script(python: &Path, script: &Path, args: &[String]) -> Result<Value> {
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("run {} {}", python.display(), script.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{} {} {}: {}; stdout: {}",
            python.display(),
            script.display(),
            args.join(" "),
            out.status,
            stdout.trim()
        );
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .with_context(|| format!("{}: no output", script.display()))?;
    serde_json::from_str(line).with_context(|| format!("{}: not JSON: {line}", script.display()))
}

/// A peer script's JSON line as a [`Measured`] (`events`, `seconds`, `runs_s`, and
/// `orders`, `fills`, `position` when present; `feeds`, `cancels`, `local_events` as
/// detail).
pub fn measured_from_json(v: &Value) -> Result<Measured> {
    let events = v["events"].as_u64().context("peer JSON: no events")?;
    let seconds = v["seconds"].as_f64().context("peer JSON: no seconds")?;
    ensure!(seconds > 0.0, "peer JSON: seconds {seconds}");
    let runs_s = v["runs_s"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    let mut detail = String::new();
    for key in ["local_events", "feeds", "cancels"] {
        if let Some(n) = v[key].as_u64() {
            let _ = write!(
                detail,
                "{}{key} {n}",
                if detail.is_empty() { "" } else { ", " }
            );
        }
    }
    Ok(Measured {
        events,
        seconds,
        runs_s,
        orders: v["orders"].as_u64(),
        fills: v["fills"].as_u64(),
        position: v["position"].as_f64(),
        detail,
    })
}

/// `text` (an engine config) with every `[[instruments]]` table dropped except the one
/// whose `symbol` is `keep`. A table runs from its header to the next table header.
pub fn restrict_instruments(text: &str, keep: &str) -> Result<String> {
    let wanted = format!("symbol = \"{keep}\"");
    let wanted_fee = format!("instrument = \"{keep}\"");
    let mut out = String::with_capacity(text.len());
    // An `[[instruments]]` block is kept if it names `keep`; a `[[fees]]` block (a per
    // instrument override) only if it is for `keep`.
    let mut block: Option<(String, bool)> = None;
    let mut kept = 0;
    let mut flush = |block: &mut Option<(String, bool)>, out: &mut String| {
        if let Some((b, fees)) = block.take() {
            let line = if fees { &wanted_fee } else { &wanted };
            if b.lines()
                .any(|l| l.split('#').next().unwrap_or("").trim() == line)
            {
                kept += usize::from(!fees);
                out.push_str(&b);
            }
        }
    };
    for line in text.split_inclusive('\n') {
        let header = line.trim_start().starts_with('[');
        if header {
            flush(&mut block, &mut out);
            match line.trim() {
                "[[instruments]]" => block = Some((String::new(), false)),
                "[[fees]]" => block = Some((String::new(), true)),
                _ => {}
            }
        }
        match block.as_mut() {
            Some((b, _)) => b.push_str(line),
            None => out.push_str(line),
        }
    }
    flush(&mut block, &mut out);
    ensure!(kept == 1, "the config has {kept} instruments named {keep}");
    Ok(out)
}

/// A data spec of `files`, format from their names (or the journal's manifest).
pub fn data_spec(files: Vec<PathBuf>) -> DataSpec {
    DataSpec {
        files,
        format: None,
        definitions: None,
        itch_date: None,
    }
}

/// Imports `file` for `cfg` into `out_dir` (which must not exist); returns the summary and
/// the seconds it took.
pub fn import(cfg: &EngineConfig, file: &Path, out_dir: &Path) -> Result<(ImportSummary, f64)> {
    let t = clock::monotonic();
    let summary = tickrail_replay::import::import(
        cfg,
        &data_spec(vec![file.to_path_buf()]),
        &ImportOptions {
            out_dir: out_dir.to_path_buf(),
            stop_on_bad: false,
        },
    )
    .with_context(|| format!("import {}", file.display()))?;
    Ok((summary, t.elapsed().as_secs_f64()))
}

/// Book-only replay: every market data event of the imported journal (read in place,
/// [`ImportedFeed`]) applied to its instrument's [`MarketBook`] (one per instrument of
/// `cfg`, sized as the engine sizes them), as the signal stage applies the reference
/// venue's events. Times the loop (opening the journal and making the books excluded),
/// `repeat` times over fresh books; the median is returned.
pub fn book_only(cfg: &EngineConfig, journal_dir: &Path, repeat: usize) -> Result<Measured> {
    let sizing = BookSizing::default();
    let mut runs = Vec::with_capacity(repeat);
    for _ in 0..repeat {
        let mut feed = ImportedFeed::open(journal_dir)
            .with_context(|| format!("open {}", journal_dir.display()))?;
        let mut books: Vec<MarketBook> = cfg
            .instruments
            .iter()
            .map(|_| MarketBook::new(sizing.max_orders, sizing.max_levels))
            .collect();
        let (mut events, mut applied, mut other_instrument) = (0u64, 0u64, 0u64);
        let t = clock::monotonic();
        while let Some(e) = feed.next_event() {
            events += 1;
            let i = e.header.instrument.get() as usize;
            match books.get_mut(i) {
                Some(book) => applied += u64::from(book.apply(&e)),
                None => other_instrument += 1,
            }
        }
        let secs = t.elapsed().as_secs_f64();
        if let Some(f) = &feed.stats().fatal {
            bail!("{}: {f}", journal_dir.display());
        }
        ensure!(events > 0, "{}: no events", journal_dir.display());
        let anomalies = books
            .iter()
            .map(|b| serde_json::to_value(b.anomalies()).unwrap_or_default())
            .filter_map(|v| v.as_object().cloned())
            .flatten()
            .filter_map(|(k, v)| Some((k, v.as_u64()?)))
            .filter(|&(_, n)| n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>();
        let anomalies = if anomalies.is_empty() {
            "none".to_owned()
        } else {
            anomalies.join(", ")
        };
        let top = books
            .first()
            .and_then(|b| Some((b.best_bid()?, b.best_ask()?)))
            .map_or_else(
                || "no two-sided book".to_owned(),
                |(b, a)| format!("last top {}/{} (raw)", b.px, a.px),
            );
        black_box(&books);
        runs.push((
            secs,
            Measured {
                events,
                detail: format!(
                    "{applied} book events applied, {other_instrument} of other instruments, \
                     book anomalies: {anomalies}; {top}"
                ),
                ..Measured::default()
            },
        ));
    }
    Measured::from_runs(runs)
}

/// `run_backtest` of `cfg` on `data` (journaled into a fresh directory under `work_dir`
/// each repetition), `repeat` times. The time is the report's `wall_s`: the run's loop
/// (data read, venue, chain, journal appends, report collection), without opening and
/// closing the journal and the data; the end-to-end time goes in the detail.
pub fn backtest(
    cfg: &EngineConfig,
    data: &DataSpec,
    queue: QueueModel,
    work_dir: &Path,
    repeat: usize,
) -> Result<Measured> {
    let mut runs = Vec::with_capacity(repeat);
    for rep in 0..repeat {
        let out_dir = work_dir.join(format!("run-{rep}"));
        let opts = JobOptions {
            queue: Some(queue),
            sample_interval_ns: 1_000_000_000,
            out_dir: out_dir.clone(),
        };
        let t = clock::monotonic();
        let o = run_backtest(cfg, data, &opts, |_, _| {})
            .with_context(|| format!("backtest {}", data.files[0].display()))?;
        let end_to_end = t.elapsed().as_secs_f64();
        ensure!(o.report.wall_s > 0.0, "the report has no wall time");
        let r = &o.report;
        let cancels: u64 = r.instruments.iter().map(|i| i.cancels).sum();
        let position = r.instruments.first().map(|i| i.position);
        runs.push((
            r.wall_s,
            Measured {
                events: o.feed.events,
                orders: Some(r.orders),
                fills: Some(r.fills),
                position,
                detail: format!(
                    "{} inputs, {cancels} cancels, {} + {} journaled, end to end {end_to_end:.4} s",
                    o.summary.inputs, o.journaled[0], o.journaled[1]
                ),
                ..Measured::default()
            },
        ));
        // Each repetition's journal is a few tens of MB: remove it before the next.
        let _ = std::fs::remove_dir_all(&out_dir);
    }
    Measured::from_runs(runs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn restrict_keeps_only_the_named_instrument() {
        let text = "# head\n[[instruments]]\nsymbol = \"A\"\nx = 1\n\n[[instruments]]\n\
                    symbol = \"B\"\nx = 2\n\n[features]\ny = 3\n";
        let out = restrict_instruments(text, "B").unwrap();
        assert_eq!(
            out,
            "# head\n[[instruments]]\nsymbol = \"B\"\nx = 2\n\n[features]\ny = 3\n"
        );
        assert!(restrict_instruments(text, "C").is_err());
        let fees = "[[instruments]]\nsymbol = \"A\"\n[[instruments]]\nsymbol = \"B\"\n\
                    [[fees]]\nvenue = 1\ninstrument = \"A\"\n[[fees]]\ninstrument = \"B\"\n";
        assert_eq!(
            restrict_instruments(fees, "B").unwrap(),
            "[[instruments]]\nsymbol = \"B\"\n[[fees]]\ninstrument = \"B\"\n"
        );
    }

    #[test]
    fn restricted_binance_config_loads_with_one_instrument() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../config/backtest-binance.toml"
        );
        let text = std::fs::read_to_string(path).unwrap();
        for symbol in ["ETHUSDT", "BTCUSDT"] {
            // BTCUSDT's restriction drops ETHUSDT's [[fees]] override with the instrument.
            let cfg =
                EngineConfig::from_toml_str(&restrict_instruments(&text, symbol).unwrap(), path)
                    .unwrap();
            assert_eq!(cfg.instruments.len(), 1);
            assert_eq!(cfg.instruments[0].symbol, symbol);
        }
    }

    #[test]
    fn ratio_and_verdict() {
        let m = |seconds| Measured {
            events: 10,
            seconds,
            ..Measured::default()
        };
        let mut row = Row {
            workload: "w".into(),
            tickrail: Ok(m(1.0)),
            peer_name: "p".into(),
            peer: Ok(m(2.0)),
            target: Some(2.0),
        };
        assert_eq!(row.ratio(), Some(2.0));
        assert_eq!(row.verdict(), "PASS");
        row.target = Some(2.5);
        assert_eq!(row.verdict(), "FAIL");
        row.peer = Err("x".into());
        assert_eq!(row.verdict(), "ERROR");
        assert!(row.errored());
        row.target = None;
        assert_eq!(row.verdict(), "—");
    }

    #[test]
    fn peer_json_is_read() {
        let v: Value = serde_json::from_str(
            r#"{"events": 100, "seconds": 0.5, "runs_s": [0.4, 0.5, 0.6], "orders": 7,
                "fills": 3, "position": -0.1, "feeds": 9}"#,
        )
        .unwrap();
        let m = measured_from_json(&v).unwrap();
        assert_eq!(m.events, 100);
        assert_eq!(m.runs_s, vec![0.4, 0.5, 0.6]);
        assert_eq!(
            (m.orders, m.fills, m.position),
            (Some(7), Some(3), Some(-0.1))
        );
        assert_eq!(m.detail, "feeds 9");
        assert!(measured_from_json(&serde_json::json!({"events": 1})).is_err());
    }
}
