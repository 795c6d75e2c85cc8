//! `tickrail journal demo`: the journal on its own — a burst of sample events written, read
//! back and inspected, without the engine.
//!
//! It writes a journal of synthetic market data (seeded random walk, four instruments:
//! quotes, trades, L2 level updates, and now and then an order request and its
//! acknowledgement) through the real journal and event codec, then runs the same `verify`,
//! `stats` and `inspect` a user would. It is a demonstration of the journal, not a strategy:
//! no stage computes anything yet.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use tickrail_engine::{
    append_event, Aggressor, Event, EventBody, EventHeader, ExecKind, InstrumentId, LevelAction,
    Liquidity, Price, Qty, Side, TimeInForce,
};
use tickrail_journal::{Durability, JournalOptions, JournalWriter, Manifest};

/// splitmix64: the demo's only randomness, seeded.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const INSTRUMENTS: u32 = 4;
/// Prices have 2 decimals (cents), quantities 0.
const PRICE_SCALE: u8 = 2;
const QTY_SCALE: u8 = 0;
/// Synthetic session start: 2026-11-20 14:30:00 UTC.
const START_NS: i64 = 1_795_703_400_000_000_000;

/// Run the demo; `fresh` removes `dir` first.
pub fn run(
    dir: &Path,
    events: u64,
    segment_mib: u64,
    durability: &str,
    seed: u64,
    fresh: bool,
) -> Result<ExitCode> {
    let durability: Durability = durability.parse().map_err(anyhow::Error::msg)?;
    if fresh && dir.exists() {
        let looks_like_journal = std::fs::read_dir(dir)?.flatten().all(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n == "LOCK" || n.ends_with(".seg") || n.ends_with(".seg.tmp")
        });
        if !looks_like_journal {
            bail!(
                "{}: --fresh would delete a directory that holds more than a journal",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let segment_bytes = segment_mib
        .checked_mul(1024 * 1024)
        .with_context(|| format!("--segment-mib {segment_mib} is too large"))?;
    let opts = JournalOptions {
        segment_bytes,
        durability,
        ..Default::default()
    };
    let manifest = Manifest::new(env!("CARGO_PKG_VERSION"), &format!("demo-seed-{seed}"))
        .with("layout", "demo (single thread, no stages)");
    let (mut w, report) = JournalWriter::open(dir, opts, &manifest).context("opening journal")?;
    // As an engine does before going live: the next segments are ready and pre-touched.
    w.wait_prepared();
    outln!(
        "journal demo: writing {events} synthetic events to {} ({report})",
        dir.display()
    );

    let mut rng = Rng(seed);
    let mut mid = [10_000i64; INSTRUMENTS as usize]; // in cents
    let mut seq = w.last_sequence().unwrap_or(0);
    // Continuing an existing demo journal continues its clock: record timestamps (receive
    // times) never go backwards.
    let mut last_recv = w.last_timestamp_ns().max(START_NS);
    let mut ts = last_recv;
    let started = crate::clock::monotonic();
    let mut written = 0u64;
    while written < events {
        let inst = rng.below(u64::from(INSTRUMENTS)) as u32;
        let m = &mut mid[inst as usize];
        *m = (*m + rng.below(3) as i64 - 1).max(100);
        ts += 200 + rng.below(2_000) as i64;
        seq += 1;
        let header = EventHeader {
            sequence: seq,
            cause_sequence: seq,
            exchange_ts_ns: ts,
            receive_ts_ns: (ts + 15_000 + rng.below(5_000) as i64).max(last_recv + 1),
            instrument: InstrumentId::new(inst + 1),
            price_scale: PRICE_SCALE,
            qty_scale: QTY_SCALE,
            source: 1,
        };
        let qty = |r: &mut Rng| Qty::new(1 + r.below(500) as i64);
        let body = match rng.below(100) {
            0..=59 => EventBody::Quote {
                bid_px: Price::new(*m - 1),
                bid_qty: qty(&mut rng),
                ask_px: Price::new(*m + 1),
                ask_qty: qty(&mut rng),
            },
            60..=84 => {
                let buy = rng.below(2) == 0;
                EventBody::Trade {
                    aggressor: if buy { Aggressor::Buy } else { Aggressor::Sell },
                    price: Price::new(if buy { *m + 1 } else { *m - 1 }),
                    qty: qty(&mut rng),
                    trade_id: seq,
                }
            }
            _ => {
                let side = if rng.below(2) == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let level = rng.below(5) as u16;
                let px = match side {
                    Side::Buy => *m - 1 - i64::from(level),
                    Side::Sell => *m + 1 + i64::from(level),
                };
                EventBody::BookLevel {
                    side,
                    action: LevelAction::Upsert,
                    level,
                    price: Price::new(px),
                    qty: qty(&mut rng),
                }
            }
        };
        last_recv = header.receive_ts_ns;
        append_event(&mut w, &Event::new(header, body))?;
        written += 1;
        if seq % 10_000 == 0 && written + 2 <= events {
            // An order request caused by this input, and the venue's acknowledgement.
            seq += 1;
            let order_id = seq; // unique across demo runs into the same journal
            let new = EventBody::OrderNew {
                side: Side::Buy,
                tif: TimeInForce::Day,
                venue: 1,
                client_order_id: order_id,
                price: Price::new(*m - 1),
                qty: Qty::new(100),
            };
            append_event(&mut w, &Event::new(header.output(seq), new))?;
            seq += 1;
            let mut ack_h = header;
            ack_h.sequence = seq;
            ack_h.cause_sequence = seq;
            ack_h.exchange_ts_ns += 40_000;
            ack_h.receive_ts_ns += 55_000;
            let ack = EventBody::ExecReport {
                exec: ExecKind::Ack,
                side: Side::Buy,
                liquidity: Liquidity::Unknown,
                reject_code: 0,
                client_order_id: order_id,
                venue_order_id: 1_000_000 + order_id,
                price: Price::new(*m - 1),
                qty: Qty::new(100),
                leaves_qty: Qty::new(100),
                cum_qty: Qty::new(0),
            };
            append_event(&mut w, &Event::new(ack_h, ack))?;
            (ts, last_recv) = (ack_h.exchange_ts_ns, ack_h.receive_ts_ns);
            written += 2;
        }
    }
    let write_s = started.elapsed().as_secs_f64();
    let stats = w.stats();
    w.close()?;
    outln!(
        "wrote {written} events in {write_s:.3} s ({:.2} M events/s, {} rolls, durability {}); closed cleanly\n",
        written as f64 / write_s.max(1e-9) / 1e6,
        stats.rolls,
        describe_durability(durability)
    );

    outln!("$ tickrail journal verify {}", dir.display());
    let code = crate::journal_cmd::run(crate::journal_cmd::JournalCmd::Verify {
        dir: dir.to_path_buf(),
    })?;
    if code != ExitCode::SUCCESS {
        bail!("the demo journal did not verify");
    }
    outln!("\n$ tickrail journal stats {}", dir.display());
    crate::journal_cmd::run(crate::journal_cmd::JournalCmd::Stats {
        dir: dir.to_path_buf(),
    })?;
    outln!(
        "\n$ tickrail journal inspect {} --internal -n 8",
        dir.display()
    );
    crate::journal_cmd::inspect_n(dir, 8, &[], true)?;
    outln!(
        "\n$ tickrail journal inspect {} --kind order_new,exec_report -n 4",
        dir.display()
    );
    crate::journal_cmd::inspect_n(dir, 4, &["order_new".into(), "exec_report".into()], false)?;
    outln!(
        "\nThis is the journal demo; the trading engine itself is `tickrail run`.\n\
         Try: tickrail journal tail --follow {}   (in another terminal while a demo writes)",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// A durability policy in words, as the summary line prints it.
fn describe_durability(d: Durability) -> String {
    match d {
        Durability::None => "none (msync on close and roll only)".to_owned(),
        Durability::Async { interval } => {
            format!("async (msync every {} ms)", interval.as_millis())
        }
        Durability::Sync { every_records } => {
            format!("sync (msync every {every_records} appends)")
        }
    }
}
