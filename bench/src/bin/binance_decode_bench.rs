//! Binance capture decode throughput: [`BinanceSource`] on the decompressed sample captures
//! held in memory, against a floor over the same bytes.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin binance_decode_bench -- \
//!     [--data-dir gateways/samples/binance] [--target-mb 100] [--repeat 5]
//! ```
//!
//! Each capture is decompressed once into memory. A measurement decodes it `copies` times
//! in a row (a fresh source per copy — a copy pasted after itself would only replay
//! duplicates), `copies` chosen so that about `--target-mb` MB go through, and drains every
//! event. Rows per capture:
//!
//! - `floor: split + sum` — a plain pass over the same bytes: split into lines, add one
//!   byte of each;
//! - `floor: read_until` — the source's own framing: `BufRead::read_until` of each line into
//!   one reused buffer, adding one byte of each;
//! - `decode depth+trade` — the default streams (`BookLevel`, `Trade`; `bookTicker` lines
//!   parsed and ignored);
//! - `decode bookTicker` — the L1 mode (`Quote`; the other lines parsed and ignored).
//!
//! Every line is parsed in both decode rows; they differ in what is converted and emitted.
//! Prints the machine line, the setup, one line per repetition and the Markdown table of
//! each row's median repetition (by elapsed time), with its ratio to the split floor.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufRead, Cursor, Read};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::report::machine_line;
use tickrail_engine::runtime::clock;
use tickrail_engine::{EventBody, InstrumentId, Scale};
use tickrail_gateways::binance::{BinanceOptions, BinanceSource, Streams};
use tickrail_gateways::feed::{open_maybe_gz, FeedSource, InstrumentMap, MappedInstrument};

/// Decode throughput of the Binance capture adapter against a line-splitting floor.
#[derive(Debug, Parser)]
#[command(name = "binance_decode_bench")]
struct Args {
    /// Directory holding the sample captures
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateways/samples/binance"))]
    data_dir: PathBuf,
    /// About this many MB (10^6 bytes) of capture text per measurement
    #[arg(long, default_value_t = 100)]
    target_mb: u64,
    /// Repetitions; each row reports its median repetition
    #[arg(long, default_value_t = 5)]
    repeat: usize,
}

/// A capture held in memory.
struct Capture {
    name: &'static str,
    symbol: &'static str,
    price_scale: u8,
    qty_scale: u8,
    bytes: Vec<u8>,
    lines: u64,
}

impl Capture {
    fn map(&self) -> InstrumentMap {
        InstrumentMap::new(vec![MappedInstrument {
            symbol: self.symbol.into(),
            id: InstrumentId::new(0),
            price_scale: Scale::new(self.price_scale),
            qty_scale: Scale::new(self.qty_scale),
        }])
    }
}

/// What a row measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    FloorSplit,
    FloorReadUntil,
    Decode(Streams),
}

impl Row {
    const ALL: [Row; 4] = [
        Row::FloorSplit,
        Row::FloorReadUntil,
        Row::Decode(Streams::DEPTH_AND_TRADES),
        Row::Decode(Streams::BOOK_TICKER),
    ];

    fn name(self) -> &'static str {
        match self {
            Row::FloorSplit => "floor: split + sum",
            Row::FloorReadUntil => "floor: read_until",
            Row::Decode(s) if s == Streams::DEPTH_AND_TRADES => "decode depth+trade",
            Row::Decode(_) => "decode bookTicker",
        }
    }
}

/// One measurement: `copies` passes over a capture.
#[derive(Debug, Clone, Copy)]
struct Measured {
    elapsed: Duration,
    bytes: u64,
    lines: u64,
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
    ensure!(args.target_mb > 0, "--target-mb must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    let captures = [
        load(&args, "spot_btcusdt_20240808.gz", "BTCUSDT", 2, 8)?,
        load(&args, "usdm_ethusdt_20240808.gz", "ETHUSDT", 2, 3)?,
    ];
    let target = args.target_mb * 1_000_000;
    let copies: Vec<u64> = captures
        .iter()
        .map(|c| target.div_ceil(c.bytes.len().max(1) as u64))
        .collect();
    for (c, n) in captures.iter().zip(&copies) {
        println!(
            "setup: {}: {} lines, {:.1} MB decompressed, decoded {n}× per measurement \
             ({:.0} MB); {} repetitions",
            c.name,
            c.lines,
            c.bytes.len() as f64 / 1e6,
            (*n * c.bytes.len() as u64) as f64 / 1e6,
            args.repeat
        );
    }
    // Untimed warm-up of every row, and the check that a decode is clean.
    for c in &captures {
        for row in Row::ALL {
            measure(c, row, 1)?;
        }
    }
    let mut reps: Vec<Vec<Vec<Measured>>> = vec![vec![Vec::new(); Row::ALL.len()]; 2];
    for rep in 1..=args.repeat {
        let mut line = format!("rep {rep}:");
        for (ci, (c, &n)) in captures.iter().zip(&copies).enumerate() {
            for (ri, row) in Row::ALL.into_iter().enumerate() {
                let m = measure(c, row, n)?;
                let _ = write!(
                    line,
                    " {} {}: {:.0} MB/s;",
                    c.symbol,
                    row.name(),
                    m.per_s(m.bytes) / 1e6
                );
                reps[ci][ri].push(m);
            }
        }
        println!("{line}");
    }
    println!();
    println!(
        "| capture | what | MB | lines | events | median s | Mlines/s | Mevents/s | MB/s \
         | time vs split floor |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (c, rows) in captures.iter().zip(&reps) {
        let floor = median(&rows[0]).elapsed.as_secs_f64();
        for (row, ms) in Row::ALL.iter().zip(rows) {
            let m = median(ms);
            black_box(m.checksum);
            println!(
                "| {} | {} | {:.0} | {} | {} | {:.3} | {:.2} | {:.2} | {:.0} | {:.1}× |",
                c.symbol,
                row.name(),
                m.bytes as f64 / 1e6,
                m.lines,
                m.events,
                m.elapsed.as_secs_f64(),
                m.per_s(m.lines) / 1e6,
                m.per_s(m.events) / 1e6,
                m.per_s(m.bytes) / 1e6,
                m.elapsed.as_secs_f64() / floor
            );
        }
    }
    Ok(())
}

/// Decompresses capture `file` into memory.
fn load(
    args: &Args,
    file: &'static str,
    symbol: &'static str,
    price_scale: u8,
    qty_scale: u8,
) -> Result<Capture> {
    let path = args.data_dir.join(file);
    let mut reader = open_maybe_gz(&path)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("read {}", path.display()))?;
    let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64
        + u64::from(bytes.last().is_some_and(|&b| b != b'\n'));
    Ok(Capture {
        name: file,
        symbol,
        price_scale,
        qty_scale,
        bytes,
        lines,
    })
}

/// `copies` passes of `row` over capture `c`, timed as a whole.
fn measure(c: &Capture, row: Row, copies: u64) -> Result<Measured> {
    let bytes = black_box(&c.bytes[..]);
    let map = c.map();
    let (mut lines, mut events, mut checksum) = (0u64, 0u64, 0u64);
    let start = clock::monotonic();
    for _ in 0..copies {
        match row {
            Row::FloorSplit => {
                for line in bytes.split(|&b| b == b'\n') {
                    if let Some(&b) = line.first() {
                        checksum = checksum.wrapping_add(u64::from(b));
                        lines += 1;
                    }
                }
            }
            Row::FloorReadUntil => {
                let mut reader = Cursor::new(bytes);
                let mut buf = Vec::with_capacity(1 << 16);
                loop {
                    buf.clear();
                    if reader.read_until(b'\n', &mut buf)? == 0 {
                        break;
                    }
                    checksum = checksum.wrapping_add(u64::from(buf[0]));
                    lines += 1;
                }
            }
            Row::Decode(streams) => {
                let options = BinanceOptions::with_streams(streams);
                let mut src = BinanceSource::from_reader(
                    Cursor::new(bytes),
                    c.name,
                    1,
                    map.clone(),
                    options,
                )?;
                while let Some(e) = src.next_event() {
                    let raw = match e.body {
                        EventBody::BookLevel { price, .. } | EventBody::Trade { price, .. } => {
                            price.raw()
                        }
                        EventBody::Quote { bid_px, .. } => bid_px.raw(),
                        _ => 0,
                    };
                    checksum = checksum.wrapping_add(raw as u64);
                    events += 1;
                }
                let s = src.stats();
                ensure!(
                    s.skipped + s.unknown_instrument + s.out_of_order + s.gaps == 0
                        && s.fatal.is_none(),
                    "{}: unclean decode: {s:?}",
                    c.name
                );
                lines += s.records;
            }
        }
    }
    let elapsed = clock::monotonic().duration_since(start);
    ensure!(
        lines == copies * c.lines,
        "{} {}: {lines} lines, expected {}",
        c.name,
        row.name(),
        copies * c.lines
    );
    Ok(Measured {
        elapsed,
        bytes: copies * bytes.len() as u64,
        lines,
        events,
        checksum: black_box(checksum),
    })
}

/// The measurement with the median elapsed time.
fn median(ms: &[Measured]) -> Measured {
    let mut sorted = ms.to_vec();
    sorted.sort_by_key(|m| m.elapsed);
    sorted[sorted.len() / 2]
}
