//! `tickrail backtest --data FILE... --config FILE`: the pipeline on one thread as fast as it
//! goes over historical data against the simulated venue (`tickrail_replay::backtest_job`),
//! journaled (so `tickrail replay OUT --verify` re-drives it), with a report: text on
//! stdout, `OUT/report.json` and `OUT/report.html`.
//!
//! `--sweep key=v1,v2,...` (repeatable; keys are the config's dotted keys) runs every
//! combination in parallel on all cores, each in `OUT/sweep-<n>/` with its own config file,
//! journal and report, and prints a comparison table.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use tickrail_engine::config::EngineConfig;
use tickrail_replay::backtest::QueueModel;
use tickrail_replay::backtest_job::{run_backtest, DataFormat, DataSpec, JobOptions, Outcome};
use tickrail_replay::report::write_html;

/// `tickrail backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Market data files (merged by receive time), or one directory holding an input
    /// journal: `tickrail import`'s output, or a live run whose market data is replayed
    /// (its execution reports are left out; the simulated venue makes its own). A backtest
    /// from a journal reads it in place and journals only its outputs.
    #[arg(long, required = true, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// The engine config: instruments named as in the data, strategy, risk; its first
    /// `[[venues]]` entry is the data's venue (latencies, fees).
    #[arg(long)]
    pub config: PathBuf,
    /// Data format: itch, binance, dbn or csv (default: from each file's name).
    #[arg(long)]
    pub format: Option<String>,
    /// DBN instrument definitions file (when the data lacks symbol mappings).
    #[arg(long)]
    pub definitions: Option<PathBuf>,
    /// ITCH trading date, YYYY-MM-DD (timestamps count from its midnight, US Eastern).
    #[arg(long)]
    pub itch_date: Option<String>,
    /// Queue model: `fifo`, `risk_averse`, `prob[:POWER]`, `log_prob` or `log_prob2`
    /// (overrides the config's `[backtest.queue]`; default: that, else fifo for ITCH/DBN,
    /// prob:2 for Binance/CSV).
    #[arg(long)]
    pub queue: Option<String>,
    /// Event time between equity samples (and progress updates), ms.
    #[arg(long, default_value_t = 1000)]
    pub sample_ms: u64,
    /// Output directory (journal, report.json, report.html).
    #[arg(long, default_value = "data/backtest")]
    pub out: PathBuf,
    /// `key=v1,v2,...`: a config key to sweep (repeatable; every combination runs).
    #[arg(long)]
    pub sweep: Vec<String>,
    /// No progress line.
    #[arg(long)]
    pub quiet: bool,
}

/// `tickrail backtest`.
pub fn run(args: BacktestArgs) -> Result<ExitCode> {
    let data = data_spec(
        &args.data,
        args.format.as_deref(),
        args.definitions.as_ref(),
        args.itch_date.as_deref(),
    )?;
    let queue = args.queue.as_deref().map(parse_queue).transpose()?;
    let sample_interval_ns = i64::try_from(args.sample_ms)
        .ok()
        .and_then(|ms| ms.checked_mul(1_000_000))
        .filter(|&ns| ns > 0)
        .context("--sample-ms must be a positive number of milliseconds")?;
    let base_text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("{}: cannot read", args.config.display()))?;
    if args.sweep.is_empty() {
        let cfg = EngineConfig::load(&args.config)?;
        let opts = JobOptions {
            queue,
            sample_interval_ns,
            out_dir: args.out.clone(),
        };
        let outcome = single(&cfg, &data, &opts, args.quiet)?;
        print_outcome(&outcome)?;
        write_reports(&outcome, &args.out, &cfg.file)?;
        if data.journal().is_some() {
            outln!(
                "journal     {} outputs in {} (the inputs are the input journal, named by hash \
                 in its manifest) — check it: tickrail replay {} --verify",
                outcome.journaled[1],
                args.out.display(),
                args.out.display()
            );
        } else {
            outln!(
                "journal     {} inputs + {} outputs in {} — check it: tickrail replay {} \
                 --verify",
                outcome.journaled[0],
                outcome.journaled[1],
                args.out.display(),
                args.out.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    sweep(&args, &base_text, &data, queue, sample_interval_ns)
}

/// The data of `backtest` and `import`: files, `--format`, `--definitions`, `--itch-date`.
pub(crate) fn data_spec(
    files: &[PathBuf],
    format: Option<&str>,
    definitions: Option<&PathBuf>,
    itch_date: Option<&str>,
) -> Result<DataSpec> {
    Ok(DataSpec {
        files: files.to_vec(),
        format: format
            .map(|f| {
                DataFormat::from_name(f).with_context(|| {
                    format!("--format: expected itch, binance, dbn or csv, got {f:?}")
                })
            })
            .transpose()?,
        definitions: definitions.cloned(),
        itch_date: itch_date.map(parse_date).transpose()?,
    })
}

/// One run, with a progress line on stderr.
fn single(cfg: &EngineConfig, data: &DataSpec, opts: &JobOptions, quiet: bool) -> Result<Outcome> {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    };
    let t0 = crate::clock::monotonic();
    let outcome = run_backtest(cfg, data, opts, |events, ts| {
        let secs = t0.elapsed().as_secs_f64().max(1e-9);
        let (y, mo, d, h, mi, s) = crate::clock::civil(ts.div_euclid(1_000_000_000));
        bar.set_message(format!(
            "{events} inputs ({:.2} M/s), event time {y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}",
            events as f64 / secs / 1e6
        ));
        bar.tick();
    })
    .with_context(|| format!("backtest of {}", cfg.file))?;
    bar.finish_and_clear();
    Ok(outcome)
}

fn print_outcome(o: &Outcome) -> Result<()> {
    let f = &o.feed;
    outln!(
        "data        {} records, {} events; {} ignored, {} skipped, {} unknown instrument, {} \
         out of order, {} gaps{}",
        f.records,
        f.events,
        f.ignored,
        f.skipped,
        f.unknown_instrument,
        f.out_of_order,
        f.gaps,
        f.fatal
            .as_ref()
            .map_or_else(String::new, |e| format!("; stopped early: {e}"))
    );
    for r in f.reports.iter().take(5) {
        outln!("  {r}");
    }
    let rejects: u64 = o.summary.input_rejects.iter().sum();
    outln!(
        "engine      {} inputs ({} timers), {} outputs, {} refused by the Sequencer; {:.2} M \
         inputs/s",
        o.summary.inputs,
        o.summary.timers,
        o.summary.outputs,
        rejects,
        o.summary.inputs as f64 / o.report.wall_s.max(1e-9) / 1e6
    );
    outln!("venue       {}", o.market);
    if let Some(queue) = &o.report.queue {
        outln!("queue       {queue}");
    }
    outln!("{}", o.report);
    Ok(())
}

fn write_reports(o: &Outcome, out: &Path, title: &str) -> Result<()> {
    let json = out.join("report.json");
    std::fs::write(&json, serde_json::to_vec_pretty(&o.report)?)
        .with_context(|| format!("{}", json.display()))?;
    let html = out.join("report.html");
    write_html(&o.report, &format!("tickrail backtest: {title}"), &html)?;
    outln!("report      {} and {}", json.display(), html.display());
    Ok(())
}

/// Sets dotted `key` of `doc` to `raw` (parsed as a TOML value, else a string). The key must
/// exist: a typo is an error, not a new key the config would refuse later.
fn set_key(doc: &mut toml::Table, key: &str, raw: &str) -> Result<()> {
    let parts: Vec<&str> = key.split('.').collect();
    let (last, path) = parts.split_last().context("empty key")?;
    let mut table = doc;
    for p in path {
        table = table
            .get_mut(*p)
            .and_then(toml::Value::as_table_mut)
            .with_context(|| format!("--sweep {key}: no table [{p}] in the config"))?;
    }
    if !table.contains_key(*last) {
        bail!("--sweep {key}: the config has no key {last:?} there");
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    table.insert((*last).to_owned(), value);
    Ok(())
}

/// Every combination of the sweeps: a list of `[(key, value)]`.
fn combinations(sweeps: &[String]) -> Result<Vec<Vec<(String, String)>>> {
    let mut combos: Vec<Vec<(String, String)>> = vec![vec![]];
    for s in sweeps {
        let (key, values) = s
            .split_once('=')
            .with_context(|| format!("--sweep {s:?}: expected key=v1,v2,..."))?;
        let values: Vec<&str> = values
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if values.is_empty() {
            bail!("--sweep {s:?}: no values");
        }
        combos = combos
            .into_iter()
            .flat_map(|c| {
                values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((key.trim().to_owned(), (*v).to_owned()));
                    c
                })
            })
            .collect();
    }
    Ok(combos)
}

/// The sweep: every combination in parallel, then a comparison table.
fn sweep(
    args: &BacktestArgs,
    base_text: &str,
    data: &DataSpec,
    queue: Option<QueueModel>,
    sample_interval_ns: i64,
) -> Result<ExitCode> {
    let combos = combinations(&args.sweep)?;
    let base_dir = args
        .config
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // Build and check every config first: a bad key fails before anything runs.
    let mut jobs = Vec::with_capacity(combos.len());
    for (n, combo) in combos.iter().enumerate() {
        let mut doc: toml::Table = base_text
            .parse()
            .with_context(|| format!("{}", args.config.display()))?;
        for (k, v) in combo {
            set_key(&mut doc, k, v)?;
        }
        // Model files resolve against the original config's directory, wherever this copy is.
        if let Some(path) = doc
            .get_mut("model")
            .and_then(toml::Value::as_table_mut)
            .and_then(|m| m.get_mut("path"))
        {
            if let Some(p) = path.as_str() {
                let abs =
                    std::path::absolute(base_dir.join(p)).unwrap_or_else(|_| base_dir.join(p));
                *path = toml::Value::String(abs.display().to_string());
            }
        }
        // So do latency profile files ([backtest.latency.<kind>] file).
        if let Some(latency) = doc
            .get_mut("backtest")
            .and_then(toml::Value::as_table_mut)
            .and_then(|b| b.get_mut("latency"))
            .and_then(toml::Value::as_table_mut)
        {
            for (_, table) in latency.iter_mut() {
                let Some(table) = table.as_table_mut() else {
                    continue;
                };
                if let Some(file) = table.get_mut("file") {
                    if let Some(p) = file.as_str() {
                        let abs = std::path::absolute(base_dir.join(p))
                            .unwrap_or_else(|_| base_dir.join(p));
                        *file = toml::Value::String(abs.display().to_string());
                    }
                }
            }
        }
        let dir = args.out.join(format!("sweep-{n}"));
        std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
        let file = dir.join("config.toml");
        std::fs::write(&file, toml::to_string(&doc)?)
            .with_context(|| format!("{}", file.display()))?;
        let cfg = EngineConfig::load(&file)
            .with_context(|| format!("sweep point {}", describe(combo)))?;
        jobs.push((combo.clone(), cfg, dir));
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    outln!(
        "sweep: {} runs of {} on {threads} threads",
        jobs.len(),
        args.config.display()
    );
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Outcome, String>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((combo, cfg, dir)) = jobs.get(i) else {
                    break;
                };
                let opts = JobOptions {
                    queue,
                    sample_interval_ns,
                    out_dir: dir.join("run"),
                };
                let r = run_backtest(cfg, data, &opts, |_, _| {})
                    .map_err(|e| format!("{e}"))
                    .and_then(|o| write_reports_quiet(&o, dir, &describe(combo)).map(|()| o));
                eprintln!(
                    "  sweep-{i} {} {}",
                    describe(combo),
                    if r.is_ok() { "done" } else { "FAILED" }
                );
                if let Ok(mut v) = results.lock() {
                    v[i] = Some(r);
                }
            });
        }
    });
    let results = results
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a sweep thread panicked"))?;
    outln!(
        "\n{:<4} {:<40} {:>12} {:>9} {:>12} {:>7} {:>7} {:>7} {:>14}",
        "run",
        "parameters",
        "net PnL",
        "Sharpe/d",
        "max DD",
        "orders",
        "fills",
        "fill %",
        "turnover"
    );
    let mut failed = 0;
    for (i, ((combo, _, _), r)) in jobs.iter().zip(results).enumerate() {
        match r {
            Some(Ok(o)) => {
                let r = &o.report;
                outln!(
                    "{:<4} {:<40} {:>12.4} {:>9} {:>12.4} {:>7} {:>7} {:>7} {:>14.2}",
                    i,
                    describe(combo),
                    r.net_pnl,
                    r.sharpe_daily
                        .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
                    r.max_drawdown,
                    r.orders,
                    r.fills,
                    r.fill_ratio
                        .map_or_else(|| "–".to_owned(), |v| format!("{:.1}", v * 100.0)),
                    r.turnover
                );
            }
            Some(Err(e)) => {
                failed += 1;
                outln!("{i:<4} {:<40} FAILED: {e}", describe(combo));
            }
            None => {
                failed += 1;
                outln!("{i:<4} {:<40} did not run", describe(combo));
            }
        }
    }
    outln!(
        "\neach run: {}/sweep-<run>/ (config.toml, report.json, report.html, run/ journal: \
         tickrail replay {}/sweep-<run>/run --verify)",
        args.out.display(),
        args.out.display()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe(combo: &[(String, String)]) -> String {
    combo
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_reports_quiet(o: &Outcome, dir: &Path, title: &str) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(&o.report).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("report.json"), json).map_err(|e| e.to_string())?;
    write_html(
        &o.report,
        &format!("tickrail backtest: {title}"),
        &dir.join("report.html"),
    )
    .map_err(|e| e.to_string())
}

fn parse_date(text: &str) -> Result<(i32, u32, u32)> {
    let parts: Vec<&str> = text.split('-').collect();
    let bad = || format!("--itch-date: expected YYYY-MM-DD, got {text:?}");
    if parts.len() != 3 {
        bail!(bad());
    }
    Ok((
        parts[0].parse().with_context(bad)?,
        parts[1].parse().with_context(bad)?,
        parts[2].parse().with_context(bad)?,
    ))
}

fn parse_queue(text: &str) -> Result<QueueModel> {
    tickrail_replay::backtest_job::parse_queue(text).with_context(|| {
        format!(
            "--queue: expected fifo, risk_averse, prob, prob:POWER (POWER >= 0), log_prob or \
             log_prob2, got {text:?}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_make_every_combination_and_check_keys() {
        let c = combinations(&["a.b=1,2".into(), "c=x,y,z".into()]).unwrap();
        assert_eq!(c.len(), 6);
        assert_eq!(
            c[5],
            vec![("a.b".into(), "2".into()), ("c".into(), "z".into())]
        );
        let mut doc: toml::Table = "[strategy]\norder_lots = 1\nname = \"q\"\n"
            .parse()
            .unwrap();
        set_key(&mut doc, "strategy.order_lots", "5").unwrap();
        set_key(&mut doc, "strategy.name", "other").unwrap();
        assert_eq!(doc["strategy"]["order_lots"].as_integer(), Some(5));
        assert_eq!(doc["strategy"]["name"].as_str(), Some("other"));
        assert!(set_key(&mut doc, "strategy.typo", "1").is_err());
        assert!(set_key(&mut doc, "nope.order_lots", "1").is_err());
        assert!(combinations(&["novalues=".into()]).is_err());
    }

    #[test]
    fn queue_and_date_options_parse() {
        assert_eq!(parse_queue("fifo").unwrap(), QueueModel::Fifo);
        assert_eq!(
            parse_queue("prob:3").unwrap(),
            QueueModel::Probabilistic { power: 3.0 }
        );
        assert!(parse_queue("prob:-1").is_err() && parse_queue("lifo").is_err());
        assert_eq!(parse_queue("risk_averse").unwrap(), QueueModel::RiskAverse);
        assert_eq!(
            parse_queue("log_prob").unwrap(),
            QueueModel::LogProbabilistic
        );
        assert_eq!(
            parse_queue("log_prob2").unwrap(),
            QueueModel::LogProbabilistic2
        );
        assert_eq!(parse_date("2019-12-30").unwrap(), (2019, 12, 30));
        assert!(parse_date("2019/12/30").is_err());
    }
}
