//! ITCH 5.0 decoder throughput: our zero-copy decoder (`tickrail_gateways::itch`) against
//! the `itchy` 0.3.4 parser and a framing-only floor, over the same bytes in the same run.
//!
//! ```text
//! cargo run --release -p tickrail-bench --bin itch_decode_bench -- \
//!     [--file gateways/samples/itch/ex20101224.TEST_ITCH_50.gz] [--mb 128] [--repeat 5] [--pin]
//! ```
//!
//! **Input.** The sample file, gunzipped, re-framed with correct 2-byte length prefixes (the
//! file's own prefixes are zero and `itchy` needs real ones) and repeated in memory until it
//! holds at least `--mb` × 10^6 bytes. Every row reads these same bytes.
//!
//! **Rows.** Each row is one pass over the whole input, timed once (two clock reads); each
//! repetition runs every row once, in an order rotated from one repetition to the next,
//! after one untimed warm-up pass of every row. A row reports its median repetition.
//!
//! - `floor`: a plain loop over the byte slice — read the length prefix, add the message's
//!   type byte to a sum, jump to the next frame. The cheapest framing there is.
//! - `ours, framing only`: [`Framer`] over an 8 KiB `BufReader` over the bytes (so it copies
//!   the input in 8 KiB blocks, like `itchy`), adding each message's type byte to a sum.
//! - `ours, every field`: the same framing, then [`Message::parse`] (the type match and the
//!   length check) and every field of every message read through [`Message::visit`] —
//!   header (locate, tracking number, 6-byte timestamp) and body, integers byte-swapped,
//!   alpha fields copied out — each folded into a checksum.
//! - `ours, every field + validate`: the same, plus [`Message::validate`]: every enumerated
//!   field checked against the values the spec lists and every alpha field checked for
//!   printable ASCII. This is the work `itchy` does (its parser refuses unlisted codes and
//!   checks stocks as UTF-8), so this row is the one compared with it.
//! - `itchy`: `itchy::MessageStream::from_reader` over the same bytes (it copies them into
//!   its own 8 KiB buffer), building an `itchy::Message` per message, and every field of
//!   every message folded into a checksum the same way (enumerations by discriminant,
//!   strings by their bytes, prices by their raw integers).
//! - `ours, ItchSource → events`: not a decoder row — the whole adapter: a fresh
//!   [`ItchSource`] per copy of the file (each copy's timestamps and order references start
//!   over) over an 8 KiB `BufReader`, every stock of the file's `R` messages mapped, every
//!   event yielded (stock-locate and order-index lookups, value conversion, skips counted)
//!   and folded. Its messages/s counts the messages read, events or not.
//!
//! Every row must see the same number of messages (checked). The target: ours
//! (every field + validate) at least 2× `itchy`'s messages per second, judged on the medians
//! of the same run; printed as a PASS/FAIL line. MB/s counts the framed input bytes
//! (10^6 bytes), prefixes included.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{ensure, Context, Result};
use clap::Parser;
use tickrail_bench::report::{machine_line, verdict};
use tickrail_engine::runtime::clock;
use tickrail_engine::{InstrumentId, Scale};
use tickrail_gateways::feed::{open_maybe_gz, FeedSource, InstrumentMap, MappedInstrument};
use tickrail_gateways::itch::{FieldVisitor, Frame, Framer, ItchSource, Message, Price4, Price8};

/// ITCH decoder throughput: floor, ours, itchy.
#[derive(Debug, Parser)]
#[command(name = "itch_decode_bench")]
struct Args {
    /// The ITCH 5.0 file to repeat (`.gz` is decompressed)
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../gateways/samples/itch/ex20101224.TEST_ITCH_50.gz"))]
    file: PathBuf,
    /// Size of the in-memory input, in 10^6 bytes (whole copies of the file, at least one)
    #[arg(long, default_value_t = 128)]
    mb: u64,
    /// Repetitions; each row reports its median repetition
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Pin the measuring thread to the last core
    #[arg(long)]
    pin: bool,
}

/// The ratio `ours (every field + validate)` / `itchy` in messages per second to pass.
const TARGET_SPEEDUP: f64 = 2.0;

/// `itchy`'s and our decoders read through a buffer of this size.
const READ_BUFFER: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Floor,
    Framing,
    Fields,
    Validate,
    Itchy,
    Source,
}

impl Row {
    const ALL: [Row; 6] = [
        Row::Floor,
        Row::Framing,
        Row::Fields,
        Row::Validate,
        Row::Itchy,
        Row::Source,
    ];

    fn name(self) -> &'static str {
        match self {
            Row::Floor => "floor: slice walk, 1 byte/msg",
            Row::Framing => "ours, framing only",
            Row::Fields => "ours, every field",
            Row::Validate => "ours, every field + validate",
            Row::Itchy => "itchy 0.3.4, every field",
            Row::Source => "ours, ItchSource → events (all stocks mapped)",
        }
    }
}

/// One timed pass: messages seen, the checksum, the time.
#[derive(Debug, Clone, Copy)]
struct Pass {
    messages: u64,
    checksum: u64,
    elapsed: Duration,
}

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.repeat > 0, "--repeat must be at least 1");
    println!("{}", machine_line(clock::unix_seconds()));
    if args.pin {
        let cores = core_affinity::get_core_ids().context("list cores")?;
        let last = *cores.last().context("no cores")?;
        ensure!(core_affinity::set_for_current(last), "pin to {last:?}");
    }
    let Input {
        bytes: input,
        copies,
        per_copy,
        map,
    } = build_input(&args)?;
    let copy_len = input.len() / copies as usize;
    println!(
        "input: {} × {} ({} messages, {} framed bytes, {:.1} MB); pinned: {}",
        copies,
        args.file.display(),
        per_copy * copies,
        input.len(),
        input.len() as f64 / 1e6,
        args.pin
    );

    // Warm-up, and the message count every row must agree on.
    let mut checksums = Vec::new();
    for row in Row::ALL {
        let p = run(row, &input, copy_len, &map)?;
        ensure!(
            p.messages == per_copy * copies,
            "{}: {} messages, expected {}",
            row.name(),
            p.messages,
            per_copy * copies
        );
        checksums.push(p.checksum);
    }

    let mut reps: Vec<Vec<Pass>> = Vec::new();
    for rep in 0..args.repeat {
        let mut passes = [None; Row::ALL.len()];
        for k in 0..Row::ALL.len() {
            let i = (k + rep) % Row::ALL.len();
            let p = run(Row::ALL[i], &input, copy_len, &map)?;
            ensure!(
                p.checksum == checksums[i],
                "{}: checksum changed between passes",
                Row::ALL[i].name()
            );
            passes[i] = Some(p);
        }
        let passes: Vec<Pass> = passes.into_iter().flatten().collect();
        let mut line = format!("rep {}:", rep + 1);
        for (row, p) in Row::ALL.iter().zip(&passes) {
            let _ = write!(
                line,
                " {} {:.1} Mmsg/s;",
                row.name(),
                mmsgs(p.messages, p.elapsed)
            );
        }
        println!("{line}");
        reps.push(passes);
    }

    let medians: Vec<Pass> = (0..Row::ALL.len())
        .map(|i| {
            let mut xs: Vec<Pass> = reps.iter().map(|r| r[i]).collect();
            xs.sort_by_key(|p| p.elapsed);
            xs[xs.len() / 2]
        })
        .collect();
    let floor = medians[0].elapsed.as_secs_f64();
    let itchy = medians[4].elapsed.as_secs_f64();
    let mut table = String::from(
        "| what | messages | median ms | Mmsg/s | MB/s | ns/msg | time vs floor | speed vs itchy |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (row, p) in Row::ALL.iter().zip(&medians) {
        let secs = p.elapsed.as_secs_f64();
        let _ = writeln!(
            table,
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.2} | {:.2}× | {:.2}× |",
            row.name(),
            p.messages,
            secs * 1e3,
            mmsgs(p.messages, p.elapsed),
            input.len() as f64 / secs / 1e6,
            secs * 1e9 / p.messages as f64,
            secs / floor,
            itchy / secs
        );
    }
    println!("\nmedian of {} repetitions:\n\n{table}", args.repeat);
    let speedup = itchy / medians[3].elapsed.as_secs_f64();
    println!(
        "{}: ours (every field + validate) is {speedup:.2}× itchy's messages/s (target ≥ \
         {TARGET_SPEEDUP}×)",
        verdict(speedup >= TARGET_SPEEDUP)
    );
    Ok(())
}

/// The bench's input.
struct Input {
    /// The file's messages re-framed with real length prefixes, repeated to `--mb`.
    bytes: Vec<u8>,
    /// Copies of the file.
    copies: u64,
    /// Messages per copy.
    per_copy: u64,
    /// Every stock of the file's `R` messages (ids from 1, price scale 4, qty scale 0).
    map: InstrumentMap,
}

fn build_input(args: &Args) -> Result<Input> {
    let mut raw = Vec::new();
    open_maybe_gz(&args.file)?.read_to_end(&mut raw)?;
    let mut one = Vec::with_capacity(raw.len());
    let mut framer = Framer::new(&raw[..]);
    let mut messages = 0u64;
    let mut stocks = Vec::new();
    while let Some(frame) = framer.next_frame()? {
        match frame {
            Frame::Message { bytes, .. } => {
                let m = Message::parse(bytes)?;
                // itchy 0.3.4 panics on the types it does not know.
                ensure!(
                    !matches!(m.message_type(), b'h' | b'O'),
                    "{}: has message type {}, which itchy cannot parse",
                    args.file.display(),
                    m.message_type() as char
                );
                if let Message::StockDirectory(r) = m {
                    let symbol = r.stock().as_str().context("stock not ASCII")?.to_owned();
                    stocks.push(MappedInstrument {
                        symbol,
                        id: InstrumentId::new(stocks.len() as u32 + 1),
                        price_scale: Scale::new(4),
                        qty_scale: Scale::new(0),
                    });
                }
                one.extend(u16::try_from(bytes.len())?.to_be_bytes());
                one.extend(bytes);
                messages += 1;
            }
            other => anyhow::bail!("{}: {other:?}", args.file.display()),
        }
    }
    ensure!(messages > 0, "{}: no messages", args.file.display());
    let copies = (args.mb * 1_000_000).div_ceil(one.len() as u64).max(1);
    let mut input = Vec::with_capacity(one.len() * copies as usize);
    for _ in 0..copies {
        input.extend(&one);
    }
    Ok(Input {
        bytes: input,
        copies,
        per_copy: messages,
        map: InstrumentMap::new(stocks),
    })
}

fn mmsgs(messages: u64, elapsed: Duration) -> f64 {
    messages as f64 / elapsed.as_secs_f64() / 1e6
}

/// Timed pass of `row` over `input` (copies of `copy_len` bytes).
fn run(row: Row, input: &[u8], copy_len: usize, map: &InstrumentMap) -> Result<Pass> {
    let start = clock::monotonic();
    let (messages, checksum) = match row {
        Row::Floor => floor(black_box(input)),
        Row::Framing => framing(black_box(input))?,
        Row::Fields => ours(black_box(input), false)?,
        Row::Validate => ours(black_box(input), true)?,
        Row::Itchy => itchy(black_box(input))?,
        Row::Source => source(black_box(input), copy_len, map)?,
    };
    let elapsed = start.elapsed();
    black_box(checksum);
    Ok(Pass {
        messages,
        checksum,
        elapsed,
    })
}

fn floor(input: &[u8]) -> (u64, u64) {
    let (mut at, mut n, mut sum) = (0usize, 0u64, 0u64);
    while at + 2 < input.len() {
        let len = usize::from(u16::from_be_bytes([input[at], input[at + 1]]));
        sum = sum.wrapping_add(u64::from(input[at + 2]));
        at += 2 + len;
        n += 1;
    }
    (n, sum)
}

fn framing(input: &[u8]) -> Result<(u64, u64)> {
    let mut framer = Framer::new(BufReader::with_capacity(READ_BUFFER, input));
    let (mut n, mut sum) = (0u64, 0u64);
    while let Some(frame) = framer.next_frame()? {
        if let Frame::Message { bytes, .. } = frame {
            sum = sum.wrapping_add(u64::from(bytes[0]));
            n += 1;
        }
    }
    Ok((n, sum))
}

/// Folds values into a checksum.
#[derive(Debug, Default)]
struct Fold(u64);

impl Fold {
    #[inline(always)]
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ v).wrapping_mul(0x0000_0100_0000_01b3);
    }

    #[inline(always)]
    fn bytes(&mut self, b: &[u8]) {
        self.add(b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x)));
    }
}

impl FieldVisitor for Fold {
    #[inline(always)]
    fn char(&mut self, _: &'static str, value: u8) {
        self.add(value.into());
    }
    #[inline(always)]
    fn u16(&mut self, _: &'static str, value: u16) {
        self.add(value.into());
    }
    #[inline(always)]
    fn u32(&mut self, _: &'static str, value: u32) {
        self.add(value.into());
    }
    #[inline(always)]
    fn u64(&mut self, _: &'static str, value: u64) {
        self.add(value);
    }
    #[inline(always)]
    fn price4(&mut self, _: &'static str, value: Price4) {
        self.add(value.raw().into());
    }
    #[inline(always)]
    fn price8(&mut self, _: &'static str, value: Price8) {
        self.add(value.raw());
    }
    #[inline(always)]
    fn alpha(&mut self, _: &'static str, value: &[u8]) {
        self.bytes(value);
    }
}

fn ours(input: &[u8], validate: bool) -> Result<(u64, u64)> {
    let mut framer = Framer::new(BufReader::with_capacity(READ_BUFFER, input));
    let mut fold = Fold::default();
    let mut n = 0u64;
    while let Some(frame) = framer.next_frame()? {
        if let Frame::Message { bytes, .. } = frame {
            let msg = Message::parse(bytes)?;
            if validate {
                msg.validate()?;
            }
            fold.add(msg.message_type().into());
            msg.visit(&mut fold);
            n += 1;
        }
    }
    Ok((n, fold.0))
}

fn itchy(input: &[u8]) -> Result<(u64, u64)> {
    use itchy::Body;
    let mut fold = Fold::default();
    let mut n = 0u64;
    for msg in itchy::MessageStream::from_reader(input) {
        let m = msg.map_err(|e| anyhow::anyhow!("itchy: {e}"))?;
        let f = &mut fold;
        f.add(m.tag.into());
        f.add(m.stock_locate.into());
        f.add(m.tracking_number.into());
        f.add(m.timestamp);
        match &m.body {
            Body::SystemEvent { event } => f.add(*event as u64),
            Body::StockDirectory(d) => {
                f.bytes(d.stock.as_bytes());
                f.add(d.market_category as u64);
                f.add(d.financial_status as u64);
                f.add(d.round_lot_size.into());
                f.add(d.round_lots_only.into());
                f.add(d.issue_classification as u64);
                f.add(d.issue_subtype as u64);
                f.add(d.authenticity.into());
                f.add(opt(d.short_sale_threshold));
                f.add(opt(d.ipo_flag));
                f.add(d.luld_ref_price_tier as u64);
                f.add(opt(d.etp_flag));
                f.add(d.etp_leverage_factor.into());
                f.add(d.inverse_indicator.into());
            }
            Body::TradingAction {
                stock,
                trading_state,
                reason,
            } => {
                f.bytes(stock.as_bytes());
                f.add(*trading_state as u64);
                f.bytes(reason.as_bytes());
            }
            Body::RegShoRestriction { stock, action } => {
                f.bytes(stock.as_bytes());
                f.add(*action as u64);
            }
            Body::ParticipantPosition(p) => {
                f.bytes(p.mpid.as_bytes());
                f.bytes(p.stock.as_bytes());
                f.add(p.primary_market_maker.into());
                f.add(p.market_maker_mode as u64);
                f.add(p.market_participant_state as u64);
            }
            Body::MwcbDeclineLevel {
                level1,
                level2,
                level3,
            } => {
                f.add(level1.raw());
                f.add(level2.raw());
                f.add(level3.raw());
            }
            Body::Breach(l) => f.add(*l as u64),
            Body::IpoQuotingPeriod(k) => {
                f.bytes(k.stock.as_bytes());
                f.add(k.release_time.into());
                f.add(k.release_qualifier as u64);
                f.add(k.price.raw().into());
            }
            Body::LULDAuctionCollar {
                stock,
                ref_price,
                upper_price,
                lower_price,
                extension,
            } => {
                f.bytes(stock.as_bytes());
                f.add(ref_price.raw().into());
                f.add(upper_price.raw().into());
                f.add(lower_price.raw().into());
                f.add((*extension).into());
            }
            Body::AddOrder(a) => {
                f.add(a.reference);
                f.add(a.side as u64);
                f.add(a.shares.into());
                f.bytes(a.stock.as_bytes());
                f.add(a.price.raw().into());
                if let Some(mpid) = &a.mpid {
                    f.bytes(mpid.as_bytes());
                }
            }
            Body::OrderExecuted {
                reference,
                executed,
                match_number,
            } => {
                f.add(*reference);
                f.add((*executed).into());
                f.add(*match_number);
            }
            Body::OrderExecutedWithPrice {
                reference,
                executed,
                match_number,
                printable,
                price,
            } => {
                f.add(*reference);
                f.add((*executed).into());
                f.add(*match_number);
                f.add((*printable).into());
                f.add(price.raw().into());
            }
            Body::OrderCancelled {
                reference,
                cancelled,
            } => {
                f.add(*reference);
                f.add((*cancelled).into());
            }
            Body::DeleteOrder { reference } => f.add(*reference),
            Body::ReplaceOrder(r) => {
                f.add(r.old_reference);
                f.add(r.new_reference);
                f.add(r.shares.into());
                f.add(r.price.raw().into());
            }
            Body::NonCrossTrade(t) => {
                f.add(t.reference);
                f.add(t.side as u64);
                f.add(t.shares.into());
                f.bytes(t.stock.as_bytes());
                f.add(t.price.raw().into());
                f.add(t.match_number);
            }
            Body::CrossTrade(c) => {
                f.add(c.shares);
                f.bytes(c.stock.as_bytes());
                f.add(c.cross_price.raw().into());
                f.add(c.match_number);
                f.add(c.cross_type as u64);
            }
            Body::BrokenTrade { match_number } => f.add(*match_number),
            Body::Imbalance(i) => {
                f.add(i.paired_shares);
                f.add(i.imbalance_shares);
                f.add(i.imbalance_direction as u64);
                f.bytes(i.stock.as_bytes());
                f.add(i.far_price.raw().into());
                f.add(i.near_price.raw().into());
                f.add(i.current_ref_price.raw().into());
                f.add(i.cross_type as u64);
                f.add(i.price_variation_indicator.into());
            }
            Body::RetailPriceImprovementIndicator(r) => {
                f.bytes(r.stock.as_bytes());
                f.add(r.interest_flag as u64);
            }
        }
        n += 1;
    }
    Ok((n, fold.0))
}

/// A fresh [`ItchSource`] per copy (a copy's timestamps and order references start over),
/// every event folded.
fn source(input: &[u8], copy_len: usize, map: &InstrumentMap) -> Result<(u64, u64)> {
    let mut fold = Fold::default();
    let mut n = 0u64;
    for copy in input.chunks(copy_len) {
        let reader = BufReader::with_capacity(READ_BUFFER, copy);
        let mut src = ItchSource::from_reader(reader, "bench", 1, map.clone(), 0);
        while let Some(e) = src.next_event() {
            fold.add(e.header.sequence ^ e.header.exchange_ts_ns as u64);
            fold.add(u64::from(e.kind().code()));
        }
        let s = src.stats();
        ensure!(
            s.fatal.is_none() && s.out_of_order == 0,
            "ItchSource: {s:?}"
        );
        n += s.records;
    }
    Ok((n, fold.0))
}

fn opt(b: Option<bool>) -> u64 {
    match b {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}
