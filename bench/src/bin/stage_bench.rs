//! Trading-logic benchmark: ns per event for each stage and the fused chain on a recorded
//! synthetic stream, and the cost of one model call per model kind.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin stage_bench -- \
//!     [--config config/default.toml] [--repeat 3] [--model-calls 200000] [--pin]
//! ```
//!
//! Prints a machine line, one line per repetition and the Markdown tables of the per-row
//! median repetition (by untimed mean). See `docs/BENCHMARKS.md` for the method.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::report::{machine_line, Latency};
use tickrail_bench::stage_harness::{
    self as h, measure_model, measure_sequencer, measure_stage, measure_timer, Measured, NopStage,
};
use tickrail_engine::config::{EngineConfig, ModelSpec};
use tickrail_engine::model::{GbtModel, LinearModel, Link, OnnxModel};
use tickrail_engine::runtime::clock;

/// Per-event cost of the Sequencer, each stage and the fused chain, and per-call model cost.
#[derive(Debug, Parser)]
#[command(name = "stage_bench")]
struct Args {
    /// The engine config whose synthetic market is recorded and whose chain is measured
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/default.toml"))]
    config: PathBuf,
    /// Repetitions; each row reports its median repetition (by the untimed mean)
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Model calls per model kind in the untimed loop (ONNX: a tenth of it)
    #[arg(long, default_value_t = 200_000)]
    model_calls: usize,
    /// Pin the measuring thread to the last core
    #[arg(long)]
    pin: bool,
}

/// One repetition: the timer overhead, the stage rows and the model rows.
type Rep = (Latency, Vec<RowResult>, Vec<RowResult>);

/// One row: a name, how many events/calls, and the measurement.
struct RowResult {
    what: String,
    m: Measured,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    // The machine line first: after pinning, the process sees one core.
    println!("{}", machine_line(clock::unix_seconds()));
    // The config before pinning: its layout's cores are checked against the cores this
    // process may run on, which pinning narrows to one.
    let cfg = EngineConfig::load(&args.config)?;
    if args.pin {
        let cores = core_affinity::get_core_ids().context("list cores")?;
        let last = *cores.last().context("no cores")?;
        ensure!(core_affinity::set_for_current(last), "pin to {last:?}");
    }
    let models = models_dir(&cfg)?;
    println!(
        "config: {} (hash {:016x}); pinned: {}",
        cfg.file,
        cfg.config_hash(),
        args.pin
    );

    // The model kinds, each as a variant of the config (same features, same strategy).
    let variants = [
        ("linear", cfg.clone()),
        (
            "xgboost",
            with_model(
                &cfg,
                ModelSpec::Xgboost {
                    path: models.join("gbt_reg.json"),
                },
            ),
        ),
        (
            "onnx",
            with_model(
                &cfg,
                ModelSpec::Onnx {
                    path: models.join("mlp.onnx"),
                },
            ),
        ),
    ];
    let mut recordings = Vec::new();
    for (name, c) in &variants {
        let rec = h::record(c)?;
        h::verify_replay(c, &rec)?;
        println!(
            "recorded ({name} model): {} inputs, {} order-stage events, {} outputs \
             ({} signals, {} order requests); replay verified identical",
            rec.inputs.len(),
            rec.order_stage_inputs.len(),
            rec.outputs.len(),
            rec.signals(),
            rec.requests()
        );
        recordings.push(rec);
    }
    let rows = feature_rows(&models)?;
    let linear = linear_model(&cfg)?;
    let gbt = GbtModel::load(models.join("gbt_reg.json"))?;
    let onnx = OnnxModel::load(models.join("mlp.onnx"), rows[0].len())?;

    let mut reps: Vec<Rep> = Vec::new();
    for rep in 1..=args.repeat {
        let timer = measure_timer(1_000_000)?;
        let (c, rec) = (&variants[0].1, &recordings[0]);
        let mut stages = vec![
            RowResult {
                what: "floor: no-op stage".into(),
                m: measure_stage(&rec.inputs, rec.max_outputs, || Ok(NopStage))?,
            },
            RowResult {
                what: "Sequencer::stamp".into(),
                m: measure_sequencer(rec)?,
            },
            RowResult {
                what: "SignalStage (book, features, model)".into(),
                m: measure_stage(&rec.inputs, rec.max_outputs, || h::signal_stage(c))?,
            },
            RowResult {
                what: "OrderStage (strategy, router, risk, OMS)".into(),
                m: measure_stage(&rec.order_stage_inputs, rec.max_outputs, || {
                    h::order_stage(c)
                })?,
            },
        ];
        for ((name, c), rec) in variants.iter().zip(&recordings) {
            stages.push(RowResult {
                what: format!("fused chain, {name} model"),
                m: measure_stage(&rec.inputs, rec.max_outputs, || h::chain(c))?,
            });
        }
        let n = args.model_calls;
        let model_rows = vec![
            RowResult {
                what: "linear".into(),
                m: measure_model(&linear, &rows, n, n)?,
            },
            RowResult {
                what: format!("xgboost ({} trees)", gbt.n_trees()),
                m: measure_model(&gbt, &rows, n, n)?,
            },
            RowResult {
                what: "onnx (MLP 4-16-1, tract)".into(),
                m: measure_model(&onnx, &rows, (n / 10).max(1), (n / 10).max(1))?,
            },
        ];
        let mut line = format!("rep {rep}: timer p50 {} ns;", timer.p50);
        for r in stages.iter().chain(&model_rows) {
            let _ = write!(line, " {} {:.1} ns;", r.what, r.m.mean_ns());
        }
        println!("{line}");
        reps.push((timer, stages, model_rows));
    }
    ensure!(
        onnx.run_errors() == 0,
        "ONNX runs failed: {}",
        onnx.run_errors()
    );

    let timer = median_by(&reps, |r| r.0.p50 as f64).0;
    println!(
        "\ntimer only (two clock reads): p50 {} / p99 {} / p99.9 {} / p99.99 {} / max {} ns \
         (median repetition)\n",
        timer.p50, timer.p99, timer.p999, timer.p9999, timer.max
    );
    println!("{}", table(&reps, |r| &r.1, timer, "event"));
    println!("{}", table(&reps, |r| &r.2, timer, "call"));
    Ok(())
}

/// The rows of `pick`, each from its median repetition by untimed mean.
fn table(
    reps: &[Rep],
    pick: impl for<'r> Fn(&'r Rep) -> &'r Vec<RowResult>,
    timer: Latency,
    unit: &str,
) -> String {
    let mut out = format!(
        "| what | {unit}s | p50 ns | p99 | p99.9 | p99.99 | max | mean ns/{unit} (untimed) \
         | M{unit}s/s | p50 − timer p50 |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for i in 0..pick(&reps[0]).len() {
        let row = median_by(reps, |r| pick(r)[i].m.mean_ns());
        let r = &pick(row)[i];
        let l = r.m.latency;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} | {:.2} | {} |",
            r.what,
            r.m.calls,
            l.p50,
            l.p99,
            l.p999,
            l.p9999,
            l.max,
            r.m.mean_ns(),
            r.m.mcalls_per_s(),
            l.p50.saturating_sub(timer.p50)
        );
    }
    out
}

/// The element of `xs` with the median key.
fn median_by<T>(xs: &[T], key: impl Fn(&T) -> f64) -> &T {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| key(&xs[a]).total_cmp(&key(&xs[b])));
    &xs[idx[idx.len() / 2]]
}

fn with_model(cfg: &EngineConfig, spec: ModelSpec) -> EngineConfig {
    let mut c = cfg.clone();
    c.model.spec = spec;
    c
}

/// `config/models/` next to the config file.
fn models_dir(cfg: &EngineConfig) -> Result<PathBuf> {
    let dir = Path::new(&cfg.file)
        .parent()
        .map_or_else(|| PathBuf::from("models"), |p| p.join("models"));
    ensure!(
        dir.join("mlp.onnx").is_file() && dir.join("gbt_reg.json").is_file(),
        "{}: the example models (mlp.onnx, gbt_reg.json) are not there",
        dir.display()
    );
    Ok(dir)
}

/// The linear model of the config, or one with unit weights over the example rows' width.
fn linear_model(cfg: &EngineConfig) -> Result<LinearModel> {
    Ok(match &cfg.model.spec {
        ModelSpec::Linear {
            weights,
            bias,
            link,
        } => LinearModel::new(weights.clone(), *bias, *link)?,
        _ => LinearModel::new(vec![1.0; cfg.model.features.len()], 0.0, Link::Identity)?,
    })
}

/// The feature rows the model scripts printed predictions for (`onnx_expected.json`).
fn feature_rows(models: &Path) -> Result<Vec<Vec<f64>>> {
    let file = models.join("onnx_expected.json");
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("read {}", file.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let rows: Vec<Vec<f64>> = v["rows"]
        .as_array()
        .context("rows")?
        .iter()
        .map(|r| {
            r.as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
                .unwrap_or_default()
        })
        .collect();
    ensure!(
        !rows.is_empty() && rows.iter().all(|r| r.len() == rows[0].len()),
        "{}: rows malformed",
        file.display()
    );
    Ok(rows)
}
