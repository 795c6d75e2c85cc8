//! Peers in the same run: tickrail and hftbacktest 2.4.4 replaying and backtesting the same
//! files, one process, one table (`make bench-peers`).
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin peers_bench -- \
//!     --python bench/peers/.venv/bin/python [--repeat 3] [--l3-records 1000000]
//! ```
//!
//! Steps, in order:
//!
//! 1. **Data.** The Binance USD-M capture (`--binance`) is converted to hftbacktest's npz
//!    by hftbacktest's own converter (`bench/peers/convert_binance.py`); a synthetic DBN
//!    MBO file of `--l3-records` records (`tickrail_bench::dbn_gen`, seeded) is written and
//!    converted to hftbacktest's L3 npz by its Databento converter
//!    (`bench/peers/convert_dbn.py`). Both go to `--cache-dir` and are reused while newer
//!    than their source. Tickrail imports the same files into input journals
//!    (`tickrail_replay::import`) under a temporary directory. None of this is timed.
//! 2. **Workloads**, each side timed `--repeat` times over the whole file (median):
//!    - book-only: tickrail applies the imported journal's events to its books
//!      ([`peers::book_only`]); hftbacktest `wait_next_feed` to the end of the data on its
//!      ROI-vector and hash-map books;
//!    - quoting parity: `config/backtest-hbt-parity.toml` backtested on the imported
//!      journal (journaled); hftbacktest's 100 ms quoting example (GTX at the touch, power-2
//!      probability queue, 100 µs latency) on both books;
//!    - full chain: `config/backtest-binance.toml` restricted to ETHUSDT, on the imported
//!      journal and on the raw `.gz` (adapters included), both journaled; against
//!      hftbacktest's hash-map quoting;
//!    - L3: `bench/peers/backtest-hbt-l3.toml` (FIFO queue) on the imported DBN file;
//!      hftbacktest's quoting example with its L3 FIFO queue model on the converted file.
//! 3. **Table**: per workload both sides' events/s, the ratio (peer time / tickrail time
//!    on the same file), the target and PASS/FAIL, then each side's counts (events,
//!    orders, fills, position) so comparable work can be checked.
//!
//! Tickrail's backtest time is the report's `wall_s` (the run's loop, journal appends
//! included; opening and closing the journal excluded, as hftbacktest's time excludes
//! building its backtester and loading the npz); the end-to-end time is printed beside it.
//! FAIL is a finding, not an error: the process exits non-zero only when something could
//! not run.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use clap::Parser;
use serde_json::Value;
use tickrail_bench::dbn_gen;
use tickrail_bench::peers::{self, Measured, Row};
use tickrail_bench::report::machine_line;
use tickrail_engine::config::EngineConfig;
use tickrail_engine::runtime::clock;
use tickrail_replay::backtest::QueueModel;

#[derive(Debug, Parser)]
#[command(name = "peers_bench")]
struct Args {
    /// The Python of the peers' virtual environment (hftbacktest installed).
    #[arg(long)]
    python: PathBuf,
    /// Where the peer scripts are.
    #[arg(long, default_value = "bench/peers")]
    peers_dir: PathBuf,
    /// Where converted and generated data is kept between runs.
    #[arg(long, default_value = "bench/peers/.cache")]
    cache_dir: PathBuf,
    /// The Binance USD-M futures capture.
    #[arg(
        long,
        default_value = "gateways/samples/binance/usdm_ethusdt_20240808.gz"
    )]
    binance: PathBuf,
    /// Its instrument.
    #[arg(long, default_value = "ETHUSDT")]
    symbol: String,
    /// Tickrail's config for the quoting parity workload.
    #[arg(long, default_value = "config/backtest-hbt-parity.toml")]
    parity_config: PathBuf,
    /// Tickrail's full-chain config (restricted to `--symbol`).
    #[arg(long, default_value = "config/backtest-binance.toml")]
    chain_config: PathBuf,
    /// Tickrail's config for the L3 workload.
    #[arg(long, default_value = "bench/peers/backtest-hbt-l3.toml")]
    l3_config: PathBuf,
    /// MBO records in the synthetic DBN file.
    #[arg(long, default_value_t = 1_000_000)]
    l3_records: usize,
    /// Seed of the synthetic DBN file.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Event time between two records of the synthetic DBN file: 1 to this many ns (the
    /// default makes 1 M records about 50 s, 500 rounds of 100 ms quoting).
    #[arg(long, default_value_t = 100_000)]
    l3_max_gap_ns: u64,
    /// Timed repetitions per side and workload; the median is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

/// hftbacktest's quoting parameters for the Binance capture (ETHUSDT): the parity config's.
const BINANCE_QUOTE: [&str; 8] = [
    "--tick",
    "0.01",
    "--lot",
    "0.001",
    "--qty",
    "0.1",
    "--max-position",
    "1.0",
];
/// The same for the synthetic ESH1 L3 file: the L3 config's.
const L3_QUOTE: [&str; 8] = [
    "--tick",
    "0.25",
    "--lot",
    "1",
    "--qty",
    "1",
    "--max-position",
    "10",
];

struct Peers<'a> {
    args: &'a Args,
}

impl Peers<'_> {
    fn script(&self, name: &str) -> PathBuf {
        self.args.peers_dir.join(name)
    }

    fn json(&self, script: &str, args: &[String]) -> Result<Value> {
        peers::run_script(&self.args.python, &self.script(script), args)
    }

    /// One hbt workload on `npz`; the error as text (a row shows it).
    fn hbt(
        &self,
        workload: &str,
        depth: &str,
        npz: &Path,
        extra: &[&str],
    ) -> Result<Measured, String> {
        let mut a: Vec<String> = vec![
            "--workload".into(),
            workload.into(),
            "--depth".into(),
            depth.into(),
            "--data".into(),
            npz.display().to_string(),
            "--repeat".into(),
            self.args.repeat.to_string(),
        ];
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        self.json("hbt_bench.py", &a)
            .and_then(|v| peers::measured_from_json(&v))
            .map_err(|e| format!("{e:#}"))
    }
}

fn err_text<T>(r: Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{e:#}"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    ensure!(args.l3_records > 0, "--l3-records must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    let peers = Peers { args: &args };
    let version = peers.json("version.py", &[])?;
    println!("peer: {version}");
    std::fs::create_dir_all(&args.cache_dir)
        .with_context(|| format!("create {}", args.cache_dir.display()))?;

    // 1. Data: hbt's conversions (cached) and tickrail's imports (fresh, temporary).
    let stem = args
        .binance
        .file_name()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_suffix(".gz"))
        .context("--binance: a .gz capture")?;
    let binance_npz = args.cache_dir.join(format!("{stem}.npz"));
    let t = clock::monotonic();
    let conv = peers.json(
        "convert_binance.py",
        &[
            args.binance.display().to_string(),
            binance_npz.display().to_string(),
        ],
    )?;
    println!(
        "hbt convert {}: {} rows ({} local, {} exchange){} in {:.1} s",
        args.binance.display(),
        conv["rows"],
        conv["local_rows"],
        conv["exch_rows"],
        if conv["cached"] == Value::Bool(true) {
            ", cached"
        } else {
            ""
        },
        t.elapsed().as_secs_f64()
    );

    // Partial cancels written as modifies: hftbacktest's converter takes every cancel for
    // a full delete (the book is the same either way, see `dbn_gen::MboOptions`).
    let mbo = dbn_gen::MboOptions {
        max_gap_ns: args.l3_max_gap_ns,
        partial_cancels_as_modify: true,
    };
    let dbn_file = args.cache_dir.join(format!(
        "synthetic_mbo_{}_s{}_gap{}.dbn",
        args.l3_records, args.seed, args.l3_max_gap_ns
    ));
    if !dbn_file.exists() {
        let bytes = dbn_gen::mbo_stream_with(args.l3_records, args.seed, &mbo)?;
        let tmp = dbn_file.with_extension("dbn.tmp");
        std::fs::write(&tmp, &bytes).with_context(|| format!("write {}", tmp.display()))?;
        std::fs::rename(&tmp, &dbn_file)?;
    }
    let l3_npz = dbn_file.with_extension("npz");
    let t = clock::monotonic();
    let conv = peers.json(
        "convert_dbn.py",
        &[
            dbn_file.display().to_string(),
            l3_npz.display().to_string(),
            "--symbol".into(),
            dbn_gen::SYMBOL.into(),
        ],
    )?;
    println!(
        "hbt convert {} ({} MBO records): {} rows ({} local, {} exchange){} in {:.1} s",
        dbn_file.display(),
        args.l3_records,
        conv["rows"],
        conv["local_rows"],
        conv["exch_rows"],
        if conv["cached"] == Value::Bool(true) {
            ", cached"
        } else {
            ""
        },
        t.elapsed().as_secs_f64()
    );

    let parity_cfg = EngineConfig::load(&args.parity_config)?;
    let chain_text = std::fs::read_to_string(&args.chain_config)
        .with_context(|| format!("read {}", args.chain_config.display()))?;
    let chain_cfg = EngineConfig::from_toml_str(
        &peers::restrict_instruments(&chain_text, &args.symbol)?,
        &args.chain_config.display().to_string(),
    )?;
    let l3_cfg = EngineConfig::load(&args.l3_config)?;
    let work = tempfile::tempdir()?;
    let configs = Configs {
        parity: &parity_cfg,
        chain: &chain_cfg,
        l3: &l3_cfg,
    };
    let files = Files {
        binance_npz: &binance_npz,
        dbn: &dbn_file,
        l3_npz: &l3_npz,
    };
    let rows = run_workloads(&args, &peers, work.path(), &configs, &files)?;

    println!();
    println!(
        "| repeat {} | ratio = peer seconds / tickrail seconds over the same file |",
        args.repeat
    );
    println!();
    print!("{}", peers::table(&rows));
    let errors = rows.iter().filter(|r| r.errored()).count();
    ensure!(
        errors == 0,
        "{errors} workload(s) could not run (see ERROR above)"
    );
    Ok(())
}

/// Tickrail's configs of the workloads.
struct Configs<'a> {
    parity: &'a EngineConfig,
    chain: &'a EngineConfig,
    l3: &'a EngineConfig,
}

/// The data files besides `--binance`.
struct Files<'a> {
    binance_npz: &'a Path,
    dbn: &'a Path,
    l3_npz: &'a Path,
}

/// Imports the data for tickrail and runs every workload, tickrail's side right before the
/// peer's.
fn run_workloads(
    args: &Args,
    peers: &Peers<'_>,
    work: &Path,
    cfg: &Configs<'_>,
    files: &Files<'_>,
) -> Result<Vec<Row>> {
    let (parity_cfg, chain_cfg, l3_cfg) = (cfg.parity, cfg.chain, cfg.l3);
    let (binance_npz, l3_npz) = (files.binance_npz, files.l3_npz);
    let imported = |name: &str, cfg: &EngineConfig, file: &Path| -> Result<PathBuf> {
        let out = work.join(name);
        let (s, secs) = peers::import(cfg, file, &out)?;
        println!(
            "tickrail import {} ({}): {} events, {} skipped, {} refused, in {secs:.1} s",
            file.display(),
            cfg.file,
            s.events,
            s.skipped,
            s.rejected
        );
        Ok(out)
    };
    let parity_dir = imported("parity", parity_cfg, &args.binance)?;
    let chain_dir = imported("chain", chain_cfg, &args.binance)?;
    let l3_dir = imported("l3", l3_cfg, files.dbn)?;
    let prob = QueueModel::Probabilistic { power: 2.0 };
    let r = args.repeat;
    let mut rows = Vec::new();

    println!("running: book-only");
    let book = err_text(peers::book_only(parity_cfg, &parity_dir.join("inputs"), r));
    rows.push(Row {
        workload: "(a) book-only, Binance USD-M".into(),
        tickrail: book.clone(),
        peer_name: "hbt ROI-vector, wait_next_feed".into(),
        peer: peers.hbt("book", "roi", binance_npz, &[]),
        target: Some(2.0),
    });
    rows.push(Row {
        workload: "(a') book-only, Binance USD-M".into(),
        tickrail: book,
        peer_name: "hbt hash-map, wait_next_feed".into(),
        peer: peers.hbt("book", "hashmap", binance_npz, &[]),
        target: None,
    });

    println!("running: quoting parity");
    let spec = peers::data_spec(vec![parity_dir]);
    let parity = err_text(peers::backtest(
        parity_cfg,
        &spec,
        prob,
        &work.join("bt-parity"),
        r,
    ));
    rows.push(Row {
        workload: "(b) quoting parity (hbt-parity.toml, imported, journaled)".into(),
        tickrail: parity.clone(),
        peer_name: "hbt ROI-vector, 100 ms quoting".into(),
        peer: peers.hbt("quote", "roi", binance_npz, &BINANCE_QUOTE),
        target: Some(1.5),
    });
    let hbt_hash_quote = peers.hbt("quote", "hashmap", binance_npz, &BINANCE_QUOTE);
    rows.push(Row {
        workload: "(b') quoting parity (hbt-parity.toml, imported, journaled)".into(),
        tickrail: parity,
        peer_name: "hbt hash-map, 100 ms quoting".into(),
        peer: hbt_hash_quote.clone(),
        target: None,
    });

    println!("running: full chain");
    let spec = peers::data_spec(vec![chain_dir]);
    rows.push(Row {
        workload: "(c) full chain (backtest-binance.toml, ETHUSDT, imported, journaled)".into(),
        tickrail: err_text(peers::backtest(
            chain_cfg,
            &spec,
            prob,
            &work.join("bt-chain"),
            r,
        )),
        peer_name: "hbt hash-map, 100 ms quoting".into(),
        peer: hbt_hash_quote.clone(),
        target: Some(1.0),
    });
    let spec = peers::data_spec(vec![args.binance.clone()]);
    rows.push(Row {
        workload: "(c') full chain from the raw .gz (adapters included, journaled)".into(),
        tickrail: err_text(peers::backtest(
            chain_cfg,
            &spec,
            prob,
            &work.join("bt-gz"),
            r,
        )),
        peer_name: "hbt hash-map, 100 ms quoting".into(),
        peer: hbt_hash_quote,
        target: Some(0.5),
    });

    println!("running: L3");
    let spec = peers::data_spec(vec![l3_dir]);
    let l3 = err_text(peers::backtest(
        l3_cfg,
        &spec,
        QueueModel::Fifo,
        &work.join("bt-l3"),
        r,
    ));
    rows.push(Row {
        workload: "(d) L3 quoting, DBN MBO, FIFO queue (imported, journaled)".into(),
        tickrail: l3.clone(),
        peer_name: "hbt ROI-vector, L3 FIFO, 100 ms quoting".into(),
        peer: peers.hbt("quote-l3", "roi", l3_npz, &L3_QUOTE),
        target: Some(1.5),
    });
    rows.push(Row {
        workload: "(d') L3 quoting, DBN MBO, FIFO queue (imported, journaled)".into(),
        tickrail: l3,
        peer_name: "hbt hash-map, L3 FIFO, 100 ms quoting".into(),
        peer: peers.hbt("quote-l3", "hashmap", l3_npz, &L3_QUOTE),
        target: None,
    });
    Ok(rows)
}
