//! File adapter decode throughput: [`DbnSource`] on a generated DBN MBO stream and
//! [`CsvSource`] on a generated CSV quotes file, both held in memory, against floors over
//! the same bytes.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin file_decode_bench -- \
//!     [--records 1000000] [--rows 1000000] [--repeat 5] [--seed 1]
//! ```
//!
//! The inputs are generated once (seeded) and encoded into memory: `--records` MBO records
//! of one instrument (adds, partial and full cancels, modifies, trades, fills, about a
//! thousand live orders) written with the `dbn` crate's encoder (`tickrail_bench::dbn_gen`,
//! shared with `peers_bench`), and `--rows` quote rows over two symbols. Rows per input:
//!
//! - `floor: plain read` — `Read::read` of the same bytes in 64 KiB chunks into one buffer,
//!   adding one byte per 64 (what any decoder pays to get the bytes);
//! - DBN only: `dbn decoder alone` — the `dbn` crate's `DbnDecoder` over the bytes,
//!   `decode_record_ref` of every record, reading its price (no conversion, no events);
//! - `DbnSource` / `CsvSource` — the adapter, every event drained.
//!
//! Prints the machine line, the setup, one line per repetition and the Markdown table of
//! each row's median repetition (by elapsed time), with its time relative to the floor.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{Cursor, Read};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{ensure, Result};
use clap::Parser;
use tickrail_bench::dbn_gen::{mbo_stream, Rng};
use tickrail_bench::report::machine_line;
use tickrail_engine::runtime::clock;
use tickrail_engine::{EventBody, InstrumentId, Scale};
use tickrail_gateways::csv_feed::CsvSource;
use tickrail_gateways::dbn_feed::dbn::decode::{DbnDecoder, DecodeRecordRef};
use tickrail_gateways::dbn_feed::dbn::MboMsg;
use tickrail_gateways::dbn_feed::{DbnOptions, DbnSource};
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, MappedInstrument};

/// Decode throughput of the DBN and CSV adapters against a plain read of the same bytes.
#[derive(Debug, Parser)]
#[command(name = "file_decode_bench")]
struct Args {
    /// MBO records in the generated DBN stream
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Rows in the generated CSV quotes file
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Repetitions; each row reports its median repetition
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Seed of the generated data
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// One generated input held in memory.
struct Input {
    name: &'static str,
    bytes: Arc<[u8]>,
    /// Records (DBN) or data rows (CSV).
    records: u64,
}

/// What a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Floor,
    DbnDecoder,
    DbnSource,
    CsvSource,
}

impl Row {
    fn name(self) -> &'static str {
        match self {
            Row::Floor => "floor: plain read",
            Row::DbnDecoder => "dbn decoder alone",
            Row::DbnSource => "DbnSource (events)",
            Row::CsvSource => "CsvSource (events)",
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Copy)]
struct Measured {
    elapsed: Duration,
    records: u64,
    events: u64,
    checksum: u64,
}

impl Measured {
    fn per_s(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    ensure!(
        args.records > 0 && args.rows > 0,
        "--records and --rows must be at least 1"
    );
    println!("{}", machine_line(clock::unix_seconds()));
    let dbn_input = Input {
        name: "DBN mbo",
        bytes: mbo_stream(args.records, args.seed)?.into(),
        records: args.records as u64,
    };
    let csv_input = Input {
        name: "CSV quotes",
        bytes: quotes_csv(args.rows, args.seed).into_bytes().into(),
        records: args.rows as u64,
    };
    let plan: [(&Input, &[Row]); 2] = [
        (&dbn_input, &[Row::Floor, Row::DbnDecoder, Row::DbnSource]),
        (&csv_input, &[Row::Floor, Row::CsvSource]),
    ];
    for (input, _) in &plan {
        println!(
            "setup: {}: {} records, {:.1} MB in memory; {} repetitions",
            input.name,
            input.records,
            input.bytes.len() as f64 / 1e6,
            args.repeat
        );
    }
    // Untimed warm-up of every row, and the check that each decode is clean.
    for (input, rows) in &plan {
        for &row in *rows {
            measure(input, row)?;
        }
    }
    let mut reps: Vec<Vec<Vec<Measured>>> = plan
        .iter()
        .map(|(_, rows)| vec![Vec::new(); rows.len()])
        .collect();
    for rep in 1..=args.repeat {
        let mut line = format!("rep {rep}:");
        for (pi, (input, rows)) in plan.iter().enumerate() {
            for (ri, &row) in rows.iter().enumerate() {
                let m = measure(input, row)?;
                let _ = write!(
                    line,
                    " {} {}: {:.0} MB/s;",
                    input.name,
                    row.name(),
                    m.per_s(input.bytes.len() as u64) / 1e6
                );
                reps[pi][ri].push(m);
            }
        }
        println!("{line}");
    }
    println!();
    println!(
        "| input | what | MB | records | events | median s | Mrecords/s | Mevents/s | MB/s \
         | time vs floor |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for ((input, rows), ms) in plan.iter().zip(&reps) {
        let floor = median(&ms[0]).elapsed.as_secs_f64();
        for (row, ms) in rows.iter().zip(ms) {
            let m = median(ms);
            black_box(m.checksum);
            println!(
                "| {} | {} | {:.1} | {} | {} | {:.4} | {:.2} | {:.2} | {:.0} | {:.1}× |",
                input.name,
                row.name(),
                input.bytes.len() as f64 / 1e6,
                m.records,
                m.events,
                m.elapsed.as_secs_f64(),
                m.per_s(m.records) / 1e6,
                m.per_s(m.events) / 1e6,
                m.per_s(input.bytes.len() as u64) / 1e6,
                m.elapsed.as_secs_f64() / floor
            );
        }
    }
    Ok(())
}

fn map() -> InstrumentMap {
    let inst = |symbol: &str, id, price_scale, qty_scale| MappedInstrument {
        symbol: symbol.into(),
        id: InstrumentId::new(id),
        price_scale: Scale::new(price_scale),
        qty_scale: Scale::new(qty_scale),
    };
    InstrumentMap::new(vec![
        inst("ESH1", 0, 2, 0),
        inst("BTCUSDT", 1, 2, 5),
        inst("ETHUSDT", 2, 2, 4),
    ])
}

/// Fails unless `s` is a clean decode.
fn ensure_clean(name: &str, s: &FeedStats) -> Result<()> {
    ensure!(
        s.skipped + s.unknown_instrument + s.out_of_order + s.gaps == 0 && s.fatal.is_none(),
        "{name}: unclean decode: {s:?}"
    );
    Ok(())
}

/// One pass of `row` over `input`, timed as a whole.
fn measure(input: &Input, row: Row) -> Result<Measured> {
    let (mut records, mut events, mut checksum) = (0u64, 0u64, 0u64);
    let start = clock::monotonic();
    match row {
        Row::Floor => {
            let mut reader = Cursor::new(Arc::clone(&input.bytes));
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                for b in buf[..n].iter().step_by(64) {
                    checksum = checksum.wrapping_add(u64::from(*b));
                }
            }
            records = input.records;
        }
        Row::DbnDecoder => {
            let mut decoder = DbnDecoder::new(Cursor::new(Arc::clone(&input.bytes)))?;
            while let Some(rec) = decoder.decode_record_ref()? {
                if let Some(m) = rec.get::<MboMsg>() {
                    checksum = checksum.wrapping_add(m.price as u64);
                }
                records += 1;
            }
        }
        Row::DbnSource => {
            let mut src = DbnSource::from_reader(
                Cursor::new(Arc::clone(&input.bytes)),
                input.name,
                1,
                map(),
                None,
                DbnOptions::default(),
            )?;
            while let Some(e) = src.next_event() {
                checksum = checksum.wrapping_add(price_of(&e.body));
                events += 1;
            }
            ensure_clean(input.name, src.stats())?;
            records = src.stats().records;
        }
        Row::CsvSource => {
            let mut src = CsvSource::from_reader(
                Box::new(Cursor::new(Arc::clone(&input.bytes))),
                input.name,
                1,
                map(),
            )?;
            while let Some(e) = src.next_event() {
                checksum = checksum.wrapping_add(price_of(&e.body));
                events += 1;
            }
            ensure_clean(input.name, src.stats())?;
            records = src.stats().records;
        }
    }
    let elapsed = clock::monotonic().duration_since(start);
    ensure!(
        records == input.records,
        "{} {}: {records} records, expected {}",
        input.name,
        row.name(),
        input.records
    );
    Ok(Measured {
        elapsed,
        records,
        events,
        checksum: black_box(checksum),
    })
}

fn price_of(body: &EventBody) -> u64 {
    match *body {
        EventBody::OrderAdd { price, .. }
        | EventBody::OrderModify { price, .. }
        | EventBody::Trade { price, .. } => price.raw() as u64,
        EventBody::OrderDelete { order_id } => order_id,
        EventBody::Quote { bid_px, .. } => bid_px.raw() as u64,
        _ => 0,
    }
}

/// The measurement with the median elapsed time.
fn median(ms: &[Measured]) -> Measured {
    let mut sorted = ms.to_vec();
    sorted.sort_by_key(|m| m.elapsed);
    sorted[sorted.len() / 2]
}

/// `n` quote rows over BTCUSDT and ETHUSDT.
fn quotes_csv(n: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed ^ 0x5a5a);
    let mut out = String::with_capacity(n * 64 + 80);
    out.push_str("ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n");
    let mut ts = 1_723_075_200_000_000_000u64;
    let mut mid = [6_400_000i64, 300_000i64]; // cents
    for _ in 0..n {
        ts += 1 + rng.below(100_000);
        let i = rng.below(2) as usize;
        mid[i] += rng.below(3) as i64 - 1;
        let (symbol, qty_places) = if i == 0 {
            ("BTCUSDT", 5)
        } else {
            ("ETHUSDT", 4)
        };
        let bid = mid[i] - 1;
        let ask = mid[i] + 1;
        let bq = 1 + rng.below(100_000);
        let aq = 1 + rng.below(100_000);
        let unit = 10u64.pow(qty_places);
        let _ = writeln!(
            out,
            "{ts},{},{symbol},{}.{:02},{}.{:0w$},{}.{:02},{}.{:0w$}",
            ts - 3_000,
            bid / 100,
            bid % 100,
            bq / unit,
            bq % unit,
            ask / 100,
            ask % 100,
            aq / unit,
            aq % unit,
            w = qty_places as usize
        );
    }
    out
}
