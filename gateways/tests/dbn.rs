//! The DBN adapter against the Databento sample files (CME ES, two records per schema) and
//! against DBN written here with the `dbn` crate's encoder: exact events for a large
//! generated MBO stream, MBP-10 levels that rebuild the record's book, mapping through
//! definitions, gaps, and truncated or corrupted files (reported, never a panic).
//!
//! The samples (committed in `gateways/samples/dbn/`) are zstd-compressed: the adapter opens
//! the `.zst` files directly.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::c_char;
use std::path::{Path, PathBuf};

use dbn::encode::{DbnEncodable, DbnEncoder, EncodeRecord};
use dbn::record::{str_to_c_chars, ts_to_dt};
use dbn::{
    rtype, BidAskPair, FlagSet, InstrumentDefMsg, MappingInterval, MboMsg, Mbp10Msg, Mbp1Msg,
    Metadata, RecordHeader, SType, Schema, SymbolMapping, TradeMsg,
};
use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::book::{BookView, MarketBook};
use tickrail_engine::{
    Aggressor, Event, EventBody, EventHeader, InstrumentId, LevelAction, Price, Qty, Scale, Side,
};
use tickrail_gateways::dbn_feed::{DbnOptions, DbnSource};
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, MappedInstrument};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator;

const SOURCE: u16 = 7;
/// The sample files' instrument: ESH1 on GLBX.MDP3.
const ES_ID: u32 = 5482;
/// 2020-12-28 13:00 UTC, the samples' start.
const T0: u64 = 1_609_160_400_000_000_000;

fn es_map() -> InstrumentMap {
    InstrumentMap::new(vec![
        MappedInstrument {
            symbol: "ESH1".into(),
            id: InstrumentId::new(1),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(0),
        },
        MappedInstrument {
            symbol: "ESM1".into(),
            id: InstrumentId::new(2),
            price_scale: Scale::new(4),
            qty_scale: Scale::new(0),
        },
        MappedInstrument {
            symbol: "MSFT".into(),
            id: InstrumentId::new(3),
            price_scale: Scale::new(4),
            qty_scale: Scale::new(0),
        },
    ])
}

fn drain(src: &mut impl FeedSource) -> Vec<Event> {
    std::iter::from_fn(|| src.next_event()).collect()
}

/// A fresh directory for this test's files.
fn tmp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tickrail-dbn-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn c(b: u8) -> c_char {
    b as c_char
}

/// A DBN (v3) file of `records` with `metadata`.
fn write_dbn<R: DbnEncodable>(path: &Path, metadata: &Metadata, records: &[R]) {
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = DbnEncoder::new(file, metadata).unwrap();
    for r in records {
        enc.encode_record(r).unwrap();
    }
    enc.flush().unwrap();
}

/// Metadata of a GLBX.MDP3 file of `schema` starting at `start`, mapping each raw symbol
/// to its instrument id for that day.
fn metadata(schema: Schema, start: u64, mappings: &[(&str, u32)]) -> Metadata {
    let day = ts_to_dt(start).unwrap().date();
    let next = day.next_day().unwrap();
    Metadata::builder()
        .dataset("GLBX.MDP3")
        .schema(Some(schema))
        .start(start)
        .stype_in(Some(SType::RawSymbol))
        .stype_out(SType::InstrumentId)
        .symbols(mappings.iter().map(|m| m.0.to_owned()).collect())
        .mappings(
            mappings
                .iter()
                .map(|&(symbol, id)| SymbolMapping {
                    raw_symbol: symbol.to_owned(),
                    intervals: vec![MappingInterval {
                        start_date: day,
                        end_date: next,
                        symbol: id.to_string(),
                    }],
                })
                .collect(),
        )
        .build()
}

fn header(instrument: u32, ps: u8, exchange: u64, receive: u64) -> EventHeader {
    EventHeader {
        sequence: 0,
        cause_sequence: 0,
        exchange_ts_ns: exchange as i64,
        receive_ts_ns: receive as i64,
        instrument: InstrumentId::new(instrument),
        price_scale: ps,
        qty_scale: 0,
        source: SOURCE,
    }
}

/// `events` numbered from 1, as the adapter yields them.
fn numbered(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.header.sequence = i as u64 + 1;
            e.header.cause_sequence = i as u64 + 1;
            e
        })
        .collect()
}

fn assert_clean(stats: &FeedStats) {
    assert_eq!(stats.skipped, 0, "{:?}", stats.reports);
    assert_eq!(stats.unknown_instrument, 0, "{:?}", stats.reports);
    assert_eq!(stats.fatal, None);
    assert!(stats.reports.is_empty(), "{:?}", stats.reports);
}

// ---------------------------------------------------------------------------------------
// The sample files.

/// A sample file of the committed samples; a missing one fails the test, naming the path.
fn sample_zst(schema: &str) -> PathBuf {
    let zst = tickrail_gateways::feed::sample_data_dir()
        .join("dbn")
        .join(format!("test_data.{schema}.v3.dbn.zst"));
    assert!(
        zst.is_file(),
        "{} is missing (the DBN samples are committed in gateways/samples/dbn; \
         TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
        zst.display()
    );
    zst
}

/// Opens a sample `.dbn.zst` directly (decompressed on the fly).
fn open_sample(
    schema: &str,
    _dir: &Path,
    map: InstrumentMap,
    definitions: Option<&Path>,
) -> DbnSource {
    DbnSource::open(&sample_zst(schema), SOURCE, map, definitions).unwrap()
}

/// Every sample decodes with no skip; the events (printed) are checked exactly.
#[test]
fn every_sample_file_decodes_with_zero_skips() {
    let dir = tmp_dir("samples");
    let es = |ex: u64, rx: u64| header(1, 2, ex, rx);
    let px = |p: i64| Price::new(p);
    let quote = |bid: i64, bq: i64, ask: i64, aq: i64| EventBody::Quote {
        bid_px: px(bid),
        bid_qty: Qty::new(bq),
        ask_px: px(ask),
        ask_qty: Qty::new(aq),
    };
    let trade = |p: i64, q: i64, id: u64| EventBody::Trade {
        aggressor: Aggressor::Sell,
        price: px(p),
        qty: Qty::new(q),
        trade_id: id,
    };
    // mbp-10, first record: all twenty levels (bids 3720.25 down, asks 3720.50 up).
    let bids = [24, 31, 32, 39, 50, 42, 44, 64, 53, 67];
    let asks = [10, 34, 39, 28, 33, 45, 55, 59, 49, 44];
    let mut mbp10 = Vec::new();
    for (side, sizes, best, step) in [
        (Side::Buy, bids, 372_025, -25),
        (Side::Sell, asks, 372_050, 25),
    ] {
        for (i, q) in sizes.into_iter().enumerate() {
            mbp10.push(Event::new(
                es(1_609_160_400_000_429_831, 1_609_160_400_000_704_060),
                EventBody::BookLevel {
                    side,
                    action: LevelAction::Upsert,
                    level: i as u16,
                    price: px(best + step * i as i64),
                    qty: Qty::new(q),
                },
            ));
        }
    }
    // Second record: one bid order of 3720.00 canceled (31 -> 30).
    mbp10.push(Event::new(
        es(1_609_160_400_000_435_673, 1_609_160_400_000_750_544),
        EventBody::BookLevel {
            side: Side::Buy,
            action: LevelAction::Upsert,
            level: 1,
            price: px(372_000),
            qty: Qty::new(30),
        },
    ));
    let cases: Vec<(&str, Vec<Event>)> = vec![
        (
            // Two cancels of orders added before the sample starts: deletes the book
            // counts as unknown orders.
            "mbo",
            vec![
                Event::new(
                    es(1_609_160_400_000_429_831, 1_609_160_400_000_704_060),
                    EventBody::OrderDelete {
                        order_id: 647_784_973_705,
                    },
                ),
                Event::new(
                    es(1_609_160_400_000_431_665, 1_609_160_400_000_711_344),
                    EventBody::OrderDelete {
                        order_id: 647_784_973_631,
                    },
                ),
            ],
        ),
        (
            "mbp-1",
            vec![
                Event::new(
                    es(1_609_160_400_006_001_487, 1_609_160_400_006_136_329),
                    quote(372_025, 24, 372_050, 11),
                ),
                Event::new(
                    es(1_609_160_400_006_146_661, 1_609_160_400_006_246_513),
                    quote(372_025, 24, 372_050, 12),
                ),
            ],
        ),
        ("mbp-10", mbp10),
        (
            "tbbo",
            vec![
                Event::new(
                    es(1_609_160_400_098_821_953, 1_609_160_400_099_150_057),
                    quote(372_025, 26, 372_050, 7),
                ),
                Event::new(
                    es(1_609_160_400_098_821_953, 1_609_160_400_099_150_057),
                    trade(372_025, 5, 1_170_380),
                ),
                Event::new(
                    es(1_609_160_400_107_665_963, 1_609_160_400_108_142_648),
                    quote(372_025, 21, 372_050, 22),
                ),
                Event::new(
                    es(1_609_160_400_107_665_963, 1_609_160_400_108_142_648),
                    trade(372_025, 21, 1_170_414),
                ),
            ],
        ),
        (
            "trades",
            vec![
                Event::new(
                    es(1_609_160_400_098_821_953, 1_609_160_400_099_150_057),
                    trade(372_025, 5, 1_170_380),
                ),
                Event::new(
                    es(1_609_160_400_107_665_963, 1_609_160_400_108_142_648),
                    trade(372_025, 21, 1_170_414),
                ),
            ],
        ),
        // Definitions of MSFT (XNAS): understood, no events.
        ("definition", vec![]),
    ];
    for (schema, expected) in cases {
        let mut src = open_sample(schema, &dir, es_map(), None);
        let events = drain(&mut src);
        println!("== {schema}: {:?}", src.metadata().schema);
        for e in &events {
            println!("{e}");
            assert_eq!(e.validate(), Ok(()), "{e}");
        }
        let stats = src.stats();
        println!("{stats:?}");
        assert_clean(stats);
        assert_eq!(stats.records, 2, "{schema}");
        assert_eq!(stats.events, events.len() as u64);
        assert_eq!(events, numbered(expected), "{schema}");
        if schema == "definition" {
            assert_eq!(stats.ignored, 2);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// A large generated MBO stream, round-tripped to the exact events.

/// xorshift64*: seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A generated instrument: its DBN id, engine id and scale, and its live orders.
struct GenInst {
    dbn_id: u32,
    engine: u32,
    price_scale: u8,
    orders: BTreeMap<u64, (Side, i64, u32)>,
}

impl GenInst {
    fn px(&self, dbn_px: i64) -> Price {
        Price::new(dbn_px / 10i64.pow(9 - u32::from(self.price_scale)))
    }
    fn random_order(&self, rng: &mut Rng) -> Option<u64> {
        if self.orders.is_empty() {
            return None;
        }
        let k = rng.below(self.orders.len() as u64) as usize;
        self.orders.keys().nth(k).copied()
    }
}

const TICK: i64 = 250_000_000; // 0.25
const BASE: i64 = 3_720_000_000_000; // 3720.00

/// A price on `side` of the base (bids below, asks above: the book never crosses).
fn gen_price(rng: &mut Rng, side: Side) -> i64 {
    let ticks = 1 + rng.below(20) as i64;
    match side {
        Side::Buy => BASE - ticks * TICK,
        Side::Sell => BASE + (ticks - 1) * TICK,
    }
}

#[allow(clippy::too_many_arguments)]
fn mbo(
    inst: u32,
    ts: u64,
    seq: u32,
    action: u8,
    side: u8,
    order_id: u64,
    price: i64,
    size: u32,
) -> MboMsg {
    MboMsg {
        hd: RecordHeader::new::<MboMsg>(rtype::MBO, 1, inst, ts),
        order_id,
        price,
        size,
        flags: FlagSet::new(dbn::flags::LAST),
        channel_id: 0,
        action: c(action),
        side: c(side),
        ts_recv: ts + 5_000,
        ts_in_delta: 0,
        sequence: seq,
    }
}

fn side_char(side: Side) -> u8 {
    match side {
        Side::Buy => b'B',
        Side::Sell => b'A',
    }
}

/// Expected counts besides the events.
#[derive(Debug, Default)]
struct Expect {
    events: Vec<Event>,
    ignored: u64,
    unknown: u64,
    unknown_order_deletes: u64,
}

/// `n` MBO records over ESH1 (5482), ESM1 (5483, price scale 4) and an unmapped id, and the
/// events they must become.
fn gen_mbo(n: usize, seed: u64) -> (Vec<MboMsg>, Expect, Vec<GenInst>) {
    let mut rng = Rng(seed);
    let mut insts = vec![
        GenInst {
            dbn_id: ES_ID,
            engine: 1,
            price_scale: 2,
            orders: BTreeMap::new(),
        },
        GenInst {
            dbn_id: 5483,
            engine: 2,
            price_scale: 4,
            orders: BTreeMap::new(),
        },
    ];
    let mut recs = Vec::with_capacity(n);
    let mut ex = Expect::default();
    let mut next_id = 1_000_000u64;
    let mut ts = T0;
    for k in 0..n {
        ts += 1 + rng.below(2_000);
        let seq = k as u32 + 1;
        let r = rng.below(1000);
        if r < 60 {
            // An instrument outside the map: counted, nothing yielded.
            next_id += 1;
            recs.push(mbo(9_999, ts, seq, b'A', b'B', next_id, BASE, 3));
            ex.unknown += 1;
            continue;
        }
        let g = &mut insts[(r % 2) as usize];
        let hd = header(g.engine, g.price_scale, ts, ts + 5_000);
        let mut push = |body| ex.events.push(Event::new(hd, body));
        let live = g.random_order(&mut rng);
        let r = rng.below(1000);
        // Cancels, modifies and fills need a live order: without one, an add.
        let r = if live.is_none() && matches!(r, 350..=749 | 850..=949) {
            0
        } else {
            r
        };
        match r {
            0..=349 => {
                let side = if rng.below(2) == 0 {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let price = gen_price(&mut rng, side);
                let size = 1 + rng.below(50) as u32;
                next_id += 1;
                recs.push(mbo(
                    g.dbn_id,
                    ts,
                    seq,
                    b'A',
                    side_char(side),
                    next_id,
                    price,
                    size,
                ));
                g.orders.insert(next_id, (side, price, size));
                push(EventBody::OrderAdd {
                    side,
                    order_id: next_id,
                    price: g.px(price),
                    qty: Qty::new(i64::from(size)),
                });
            }
            350..=599 => {
                let id = live.unwrap();
                let (side, price, size) = g.orders[&id];
                let cancel = 1 + rng.below(u64::from(size)) as u32;
                recs.push(mbo(
                    g.dbn_id,
                    ts,
                    seq,
                    b'C',
                    side_char(side),
                    id,
                    price,
                    cancel,
                ));
                if cancel == size {
                    g.orders.remove(&id);
                    push(EventBody::OrderDelete { order_id: id });
                } else {
                    g.orders.insert(id, (side, price, size - cancel));
                    push(EventBody::OrderModify {
                        order_id: id,
                        price: g.px(price),
                        qty: Qty::new(i64::from(size - cancel)),
                    });
                }
            }
            600..=749 => {
                let id = live.unwrap();
                let (side, _, _) = g.orders[&id];
                let price = gen_price(&mut rng, side);
                let size = rng.below(40) as u32; // 0: the order leaves the book
                recs.push(mbo(
                    g.dbn_id,
                    ts,
                    seq,
                    b'M',
                    side_char(side),
                    id,
                    price,
                    size,
                ));
                if size == 0 {
                    g.orders.remove(&id);
                    push(EventBody::OrderDelete { order_id: id });
                } else {
                    g.orders.insert(id, (side, price, size));
                    push(EventBody::OrderModify {
                        order_id: id,
                        price: g.px(price),
                        qty: Qty::new(i64::from(size)),
                    });
                }
            }
            750..=849 => {
                let (side, aggressor) = match rng.below(3) {
                    0 => (b'B', Aggressor::Buy),
                    1 => (b'A', Aggressor::Sell),
                    _ => (b'N', Aggressor::Unknown),
                };
                let price = BASE + (rng.below(9) as i64 - 4) * TICK;
                let size = 1 + rng.below(20) as u32;
                recs.push(mbo(g.dbn_id, ts, seq, b'T', side, 0, price, size));
                push(EventBody::Trade {
                    aggressor,
                    price: g.px(price),
                    qty: Qty::new(i64::from(size)),
                    trade_id: u64::from(seq),
                });
            }
            850..=949 => {
                let id = live.unwrap();
                // A fill of a resting order: the book changes with the next cancel.
                let (side, price, size) = g.orders[&id];
                recs.push(mbo(
                    g.dbn_id,
                    ts,
                    seq,
                    b'F',
                    side_char(side),
                    id,
                    price,
                    size,
                ));
                ex.ignored += 1;
            }
            950..=979 => {
                recs.push(mbo(g.dbn_id, ts, seq, b'N', b'N', 0, dbn::UNDEF_PRICE, 0));
                ex.ignored += 1;
            }
            980..=984 => {
                // A cancel of an order never added: a delete the book counts.
                next_id += 1;
                recs.push(mbo(g.dbn_id, ts, seq, b'C', b'B', next_id, BASE - TICK, 1));
                push(EventBody::OrderDelete { order_id: next_id });
                ex.unknown_order_deletes += 1;
            }
            985..=989 => {
                // A modify of an unknown order is an add.
                next_id += 1;
                let price = gen_price(&mut rng, Side::Sell);
                recs.push(mbo(g.dbn_id, ts, seq, b'M', b'A', next_id, price, 4));
                g.orders.insert(next_id, (Side::Sell, price, 4));
                push(EventBody::OrderAdd {
                    side: Side::Sell,
                    order_id: next_id,
                    price: g.px(price),
                    qty: Qty::new(4),
                });
            }
            _ => {
                // Clear: every live order of the instrument goes, in id order.
                recs.push(mbo(g.dbn_id, ts, seq, b'R', b'N', 0, dbn::UNDEF_PRICE, 0));
                if g.orders.is_empty() {
                    ex.ignored += 1;
                }
                for (id, _) in std::mem::take(&mut g.orders) {
                    push(EventBody::OrderDelete { order_id: id });
                }
            }
        }
    }
    (recs, ex, insts)
}

#[test]
fn a_generated_mbo_stream_round_trips_to_the_exact_events() {
    let dir = tmp_dir("mbo");
    let path = dir.join("gen.mbo.dbn");
    let n = 200_000;
    let (recs, ex, insts) = gen_mbo(n, 0x5eed_0001);
    let meta = metadata(Schema::Mbo, T0, &[("ESH1", ES_ID), ("ESM1", 5483)]);
    write_dbn(&path, &meta, &recs);
    let size = std::fs::metadata(&path).unwrap().len();

    let mut src = DbnSource::open(&path, SOURCE, es_map(), None).unwrap();
    let mut events = Vec::with_capacity(ex.events.len());
    let (allocs, ()) = allocations_in(|| {
        while let Some(e) = src.next_event() {
            events.push(e);
        }
    });
    let stats = src.stats().clone();
    println!(
        "{n} records -> {} events; {allocs} allocations while decoding (events vector \
         preallocated); live orders at the end {}; {stats:?}",
        events.len(),
        src.live_orders()
    );
    assert_eq!(stats.records, n as u64);
    assert_eq!(stats.skipped, 0, "{:?}", stats.reports);
    assert_eq!(stats.fatal, None);
    assert_eq!(stats.unknown_instrument, ex.unknown);
    assert_eq!(stats.ignored, ex.ignored);
    assert_eq!(stats.gaps, 0);
    assert_eq!(stats.bytes, size);
    assert_eq!(
        stats.reports.len(),
        1,
        "one report: the unmapped instrument"
    );
    assert!(stats.reports[0].reason.contains("instrument_id 9999"));
    let expected = numbered(ex.events);
    assert_eq!(events.len(), expected.len());
    for (i, (got, want)) in events.iter().zip(&expected).enumerate() {
        assert_eq!(got, want, "event {i}");
    }
    // Memory stays bounded: no allocation per record (only the order map's growth).
    assert!(allocs < 200, "{allocs} allocations for {n} records");
    let live: usize = insts.iter().map(|g| g.orders.len()).sum();
    assert_eq!(src.live_orders(), live);

    // The engine's L3 books built from the events hold the generator's orders.
    let mut books: HashMap<u32, MarketBook> = HashMap::new();
    for e in &events {
        books
            .entry(e.header.instrument.get())
            .or_insert_with(|| MarketBook::new(100_000, 1_000))
            .apply(e);
    }
    let mut unknown_orders = 0;
    for g in &insts {
        let book = &books[&g.engine];
        let a = book.anomalies();
        unknown_orders += a.unknown_order;
        assert_eq!(a.total(), a.unknown_order, "{a:?}");
        let best = |side: Side| {
            g.orders
                .values()
                .filter(|o| o.0 == side)
                .map(|o| o.1)
                .reduce(|a, b| if (side == Side::Buy) == (b > a) { b } else { a })
                .map(|p| g.px(p).raw())
        };
        assert_eq!(book.best_bid().map(|l| l.px), best(Side::Buy));
        assert_eq!(book.best_ask().map(|l| l.px), best(Side::Sell));
    }
    assert_eq!(unknown_orders, ex.unknown_order_deletes);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// MBP-10, MBP-1 edge cases and values that do not fit.

fn pair(bid: Option<(i64, u32)>, ask: Option<(i64, u32)>) -> BidAskPair {
    let mut p = BidAskPair::default();
    if let Some((px, sz)) = bid {
        p.bid_px = px;
        p.bid_sz = sz;
    }
    if let Some((px, sz)) = ask {
        p.ask_px = px;
        p.ask_sz = sz;
    }
    p
}

#[test]
fn mbp10_level_updates_rebuild_each_records_book() {
    let dir = tmp_dir("mbp10");
    let path = dir.join("gen.mbp-10.dbn");
    let mut rng = Rng(77);
    let mut recs = Vec::new();
    let mut ts = T0;
    for k in 0..5_000u32 {
        ts += 1_000;
        let mut m = Mbp10Msg {
            hd: RecordHeader::new::<Mbp10Msg>(rtype::MBP_10, 1, ES_ID, ts),
            ts_recv: ts + 100,
            sequence: k + 1,
            action: c(if k % 10 == 9 { b'T' } else { b'A' }),
            side: c(b'B'),
            price: BASE,
            size: 2,
            ..Mbp10Msg::default()
        };
        // Random depth per side (0..=10 levels) on random ticks; sizes random.
        for (side, levels) in [(0, rng.below(11)), (1, rng.below(11))] {
            let mut tick = rng.below(3) as i64;
            for i in 0..levels as usize {
                let px = if side == 0 {
                    BASE - tick * TICK
                } else {
                    BASE + (tick + 1) * TICK
                };
                let sz = 1 + rng.below(5) as u32;
                if side == 0 {
                    m.levels[i].bid_px = px;
                    m.levels[i].bid_sz = sz;
                } else {
                    m.levels[i].ask_px = px;
                    m.levels[i].ask_sz = sz;
                }
                tick += 1 + rng.below(2) as i64;
            }
        }
        recs.push(m);
    }
    write_dbn(
        &path,
        &metadata(Schema::Mbp10, T0, &[("ESH1", ES_ID)]),
        &recs,
    );
    let mut src = DbnSource::open(&path, SOURCE, es_map(), None).unwrap();
    let mut book = MarketBook::new(16, 64);
    let mut trades = 0;
    // The record an event came from, by its timestamp; the book is checked against a
    // record once all of its events are in (a record that changes nothing has none).
    let mut k: Option<usize> = None;
    while let Some(e) = src.next_event() {
        let idx = ((e.header.exchange_ts_ns as u64 - T0) / 1_000 - 1) as usize;
        if let Some(prev) = k.filter(|&p| p != idx) {
            check_book(&book, &recs[prev]);
        }
        k = Some(idx);
        if matches!(e.body, EventBody::Trade { .. }) {
            trades += 1;
        } else {
            assert!(matches!(e.body, EventBody::BookLevel { .. }), "{e}");
            assert!(book.apply(&e));
        }
    }
    let k = k.unwrap();
    check_book(&book, &recs[k]);
    assert_clean(src.stats());
    assert_eq!(trades, 500);
    assert_eq!(book.anomalies().total(), 0, "{:?}", book.anomalies());
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_book(book: &MarketBook, m: &Mbp10Msg) {
    for i in 0..10 {
        let l = &m.levels[i];
        let want = |px: i64, sz: u32| (sz != 0).then_some((px / 10_000_000, i64::from(sz)));
        let got = |side| book.depth(side, i).map(|l| (l.px, l.qty));
        assert_eq!(got(Side::Buy), want(l.bid_px, l.bid_sz), "bid {i}");
        assert_eq!(got(Side::Sell), want(l.ask_px, l.ask_sz), "ask {i}");
    }
    assert_eq!(book.depth(Side::Buy, 10), None);
    assert_eq!(book.depth(Side::Sell, 10), None);
}

#[test]
fn values_that_do_not_fit_are_counted_skips_never_rounded() {
    let dir = tmp_dir("values");
    let path = dir.join("q.mbp-1.dbn");
    let q = |k: u64, bid: Option<(i64, u32)>, ask: Option<(i64, u32)>, action: u8| Mbp1Msg {
        hd: RecordHeader::new::<Mbp1Msg>(rtype::MBP_1, 1, ES_ID, T0 + k),
        ts_recv: T0 + k + 10,
        action: c(action),
        side: c(b'A'),
        price: BASE,
        size: 3,
        levels: [pair(bid, ask)],
        ..Mbp1Msg::default()
    };
    let recs = [
        q(1, Some((BASE, 5)), Some((BASE + TICK, 6)), b'A'),
        // 3720.125 does not fit scale 2: skipped whole.
        q(2, Some((BASE + TICK / 2, 5)), Some((BASE + TICK, 6)), b'A'),
        // An empty bid: quantity 0, the last bid price repeated.
        q(3, None, Some((BASE + TICK, 7)), b'A'),
        // An undefined price on a side with a size is an empty side too.
        q(4, Some((dbn::UNDEF_PRICE, 9)), Some((BASE + TICK, 8)), b'A'),
        // A negative price: skipped.
        q(5, Some((-TICK, 1)), Some((BASE + TICK, 8)), b'A'),
        // A trade of size 0: skipped whole (the Sequencer refuses zero-size trades).
        Mbp1Msg {
            size: 0,
            ..q(6, Some((BASE, 5)), Some((BASE + TICK, 6)), b'T')
        },
        q(7, Some((BASE, 5)), Some((BASE + TICK, 6)), b'T'),
    ];
    write_dbn(
        &path,
        &metadata(Schema::Mbp1, T0, &[("ESH1", ES_ID)]),
        &recs,
    );
    let mut src = DbnSource::open(&path, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    for e in &events {
        println!("{e}");
    }
    let stats = src.stats();
    for r in &stats.reports {
        println!("{r}");
    }
    assert_eq!(stats.records, 7);
    assert_eq!(stats.skipped, 3);
    assert_eq!(stats.reports.len(), 3);
    assert!(stats.reports[0]
        .reason
        .contains("bid_px: price 3720.125000000 has digits below the instrument's scale 2"));
    assert!(stats.reports[1].reason.contains("is not positive"));
    assert!(stats.reports[2].reason.contains("size: zero size"));
    // Offsets: the records are 80 bytes each, after the metadata.
    let meta_end = std::fs::metadata(&path).unwrap().len() - 7 * 80;
    assert_eq!(stats.reports[0].offset, meta_end + 80);
    let bodies: Vec<_> = events.iter().map(|e| e.body).collect();
    let quote = |bq: i64, aq: i64| EventBody::Quote {
        bid_px: Price::new(372_000),
        bid_qty: Qty::new(bq),
        ask_px: Price::new(372_025),
        ask_qty: Qty::new(aq),
    };
    assert_eq!(
        bodies,
        [
            quote(5, 6),
            quote(0, 7),
            quote(0, 8),
            quote(5, 6),
            EventBody::Trade {
                aggressor: Aggressor::Sell,
                price: Price::new(372_000),
                qty: Qty::new(3),
                trade_id: 0
            }
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Instruments through definitions.

fn definition(id: u32, symbol: &str) -> InstrumentDefMsg {
    InstrumentDefMsg {
        hd: RecordHeader::new::<InstrumentDefMsg>(rtype::INSTRUMENT_DEF, 1, id, T0 - 1_000),
        ts_recv: T0 - 900,
        raw_symbol: str_to_c_chars(symbol).unwrap(),
        ..InstrumentDefMsg::default()
    }
}

fn trade_msg(id: u32, k: u64, seq: u32, flags: u8) -> TradeMsg {
    TradeMsg {
        hd: RecordHeader::new::<TradeMsg>(rtype::MBP_0, 1, id, T0 + k),
        price: BASE,
        size: 2,
        action: c(b'T'),
        side: c(b'B'),
        flags: FlagSet::new(flags),
        depth: 0,
        ts_recv: T0 + k + 7,
        ts_in_delta: 0,
        sequence: seq,
    }
}

#[test]
fn a_definitions_file_maps_the_es_instrument() {
    let dir = tmp_dir("defs");
    // Trades of 5482 in a file whose metadata maps nothing.
    let data = dir.join("trades.dbn");
    let recs: Vec<_> = (0..10)
        .map(|k| trade_msg(ES_ID, k, 100 + k as u32, 0))
        .collect();
    write_dbn(&data, &metadata(Schema::Trades, T0, &[]), &recs);
    let defs = dir.join("definitions.dbn");
    let meta = metadata(Schema::Definition, T0, &[]);
    write_dbn(
        &defs,
        &meta,
        &[definition(ES_ID, "ESH1"), definition(5483, "ESM1")],
    );

    let mut without = DbnSource::open(&data, SOURCE, es_map(), None).unwrap();
    assert!(drain(&mut without).is_empty());
    let s = without.stats();
    println!("without definitions: {s:?}");
    assert_eq!((s.unknown_instrument, s.reports.len()), (10, 1));
    assert!(s.reports[0]
        .reason
        .contains("instrument_id 5482 (symbol unknown) is not in the instrument map"));

    let mut with = DbnSource::open(&data, SOURCE, es_map(), Some(&defs)).unwrap();
    assert_eq!(with.defined_instruments(), 2);
    let events = drain(&mut with);
    println!("with definitions: {}", events[0]);
    assert_clean(with.stats());
    assert_eq!(events.len(), 10);
    assert!(events
        .iter()
        .all(|e| e.header.instrument == InstrumentId::new(1) && e.header.price_scale == 2));

    // A definition record in the stream maps the records after it.
    let mixed = dir.join("mixed.dbn");
    {
        let file = std::io::BufWriter::new(std::fs::File::create(&mixed).unwrap());
        let mut enc = DbnEncoder::new(file, &metadata(Schema::Trades, T0, &[])).unwrap();
        enc.encode_record(&trade_msg(ES_ID, 0, 1, 0)).unwrap();
        enc.encode_record(&definition(ES_ID, "ESH1")).unwrap();
        enc.encode_record(&trade_msg(ES_ID, 1, 2, 0)).unwrap();
        enc.flush().unwrap();
    }
    let mut src = DbnSource::open(&mixed, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    assert_eq!(
        (events.len(), s.unknown_instrument, s.ignored),
        (1, 1, 1),
        "{s:?}"
    );

    // The sample definitions (MSFT on XNAS, ids 6819 and 6830) map MSFT.
    // (read straight from the .zst, like the data files)
    {
        let sample = sample_zst("definition");
        let data = dir.join("msft.dbn");
        write_dbn(
            &data,
            &metadata(Schema::Trades, T0, &[]),
            &[trade_msg(6819, 0, 1, 0), trade_msg(6830, 1, 2, 0)],
        );
        let mut src = DbnSource::open(&data, SOURCE, es_map(), Some(&sample)).unwrap();
        let events = drain(&mut src);
        assert_clean(src.stats());
        assert_eq!(events.len(), 2);
        assert!(events
            .iter()
            .all(|e| e.header.instrument == InstrumentId::new(3)));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Gaps.

#[test]
fn a_sequence_gap_gives_a_feed_gap() {
    let dir = tmp_dir("gaps");
    let path = dir.join("trades.dbn");
    let bad = dbn::flags::LAST | dbn::flags::MAYBE_BAD_BOOK;
    let recs = [
        trade_msg(ES_ID, 0, 10, 0),
        trade_msg(ES_ID, 1, 11, 0),
        trade_msg(ES_ID, 2, 11, 0), // same packet: no gap
        trade_msg(ES_ID, 3, 15, 0), // 12..=14 lost
        trade_msg(ES_ID, 4, 16, bad),
        trade_msg(ES_ID, 5, 17, bad), // same bad run: one mark
        trade_msg(ES_ID, 6, 18, 0),
    ];
    write_dbn(
        &path,
        &metadata(Schema::Trades, T0, &[("ESH1", ES_ID)]),
        &recs,
    );

    let opts = DbnOptions {
        sequence_gaps: true,
    };
    let mut src = DbnSource::open_with(&path, SOURCE, es_map(), None, opts).unwrap();
    let events = drain(&mut src);
    for e in &events {
        println!("{e}");
    }
    let gaps: Vec<_> = events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::FeedGap { expected, received } => Some((
                e.header.sequence,
                e.header.instrument.get(),
                expected,
                received,
            )),
            _ => None,
        })
        .collect();
    // The gap comes before the trade that revealed it; the bad-book mark before its record.
    assert_eq!(gaps, [(4, 1, 12, 15), (6, 1, 16, 0)]);
    let s = src.stats();
    assert_eq!((s.gaps, s.events, s.skipped), (2, 9, 0));
    assert_eq!(s.reports.len(), 2);
    assert!(s.reports[0]
        .reason
        .contains("sequence gap, expected 12, received 15"));
    assert!(s.reports[1].reason.contains("F_MAYBE_BAD_BOOK"));

    // Off by default: only Databento's own bad-book flag marks a gap.
    let mut src = DbnSource::open(&path, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    assert_eq!(src.stats().gaps, 1);
    assert_eq!(events.len(), 8);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Truncated and corrupted files.

/// A small MBO file (adds of 5482) and the offset of its first record.
fn small_mbo(dir: &Path, n: usize) -> (PathBuf, Vec<u8>, u64) {
    let path = dir.join("small.mbo.dbn");
    let recs: Vec<_> = (0..n)
        .map(|k| {
            let side = if k % 2 == 0 { b'B' } else { b'A' };
            let px = if k % 2 == 0 { BASE - TICK } else { BASE + TICK };
            mbo(
                ES_ID,
                T0 + k as u64,
                k as u32 + 1,
                b'A',
                side,
                k as u64 + 1,
                px,
                1,
            )
        })
        .collect();
    write_dbn(&path, &metadata(Schema::Mbo, T0, &[("ESH1", ES_ID)]), &recs);
    let bytes = std::fs::read(&path).unwrap();
    let first = bytes.len() as u64 - 56 * n as u64;
    (path, bytes, first)
}

#[test]
fn a_truncated_file_is_reported_with_its_offset() {
    let dir = tmp_dir("truncated");
    let (_, bytes, first) = small_mbo(&dir, 1_000);
    let cut = dir.join("cut.dbn");
    let keep = first as usize + 500 * 56 + 20;
    std::fs::write(&cut, &bytes[..keep]).unwrap();
    let mut src = DbnSource::open(&cut, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    println!("{s:?}");
    assert_eq!(events.len(), 500);
    assert_eq!((s.records, s.skipped), (501, 1));
    let fatal = s.fatal.clone().unwrap();
    assert!(fatal.contains("truncated"), "{fatal}");
    let report = &s.reports[0];
    assert_eq!(report.offset, first + 500 * 56);
    assert!(!report.line);
    assert!(
        report.reason.contains("ends 20 bytes into the record"),
        "{report}"
    );
    assert_eq!(s.bytes, keep as u64);
    // Cut inside the metadata: refused at open.
    std::fs::write(&cut, &bytes[..40]).unwrap();
    let err = DbnSource::open(&cut, SOURCE, es_map(), None).unwrap_err();
    println!("{err}");
    assert!(err.to_string().contains("DBN metadata"), "{err}");
    // An empty file and a file that is not DBN at all.
    std::fs::write(&cut, b"").unwrap();
    assert!(DbnSource::open(&cut, SOURCE, es_map(), None).is_err());
    std::fs::write(&cut, b"ts_recv_ns,symbol\n1,ESH1\n").unwrap();
    let err = DbnSource::open(&cut, SOURCE, es_map(), None).unwrap_err();
    assert!(err.to_string().contains("not a DBN stream"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupted_file_is_reported_with_its_offset_and_never_panics() {
    let dir = tmp_dir("corrupted");
    let (_, bytes, first) = small_mbo(&dir, 1_000);
    let bad = dir.join("bad.dbn");
    // Record 300's length byte says 0 words: shorter than a header.
    let mut b = bytes.clone();
    b[first as usize + 300 * 56] = 0;
    std::fs::write(&bad, &b).unwrap();
    let mut src = DbnSource::open(&bad, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    println!("{s:?}");
    assert_eq!(events.len(), 300);
    assert_eq!((s.records, s.skipped), (301, 1));
    assert!(s
        .fatal
        .as_deref()
        .unwrap()
        .contains("impossible record length 0 bytes"));
    assert_eq!(s.reports[0].offset, first + 300 * 56);
    // An unknown record type: a counted skip, the stream goes on.
    let mut b = bytes.clone();
    b[first as usize + 10 * 56 + 1] = 0x7e;
    std::fs::write(&bad, &b).unwrap();
    let mut src = DbnSource::open(&bad, SOURCE, es_map(), None).unwrap();
    assert_eq!(drain(&mut src).len(), 999);
    let s = src.stats();
    assert_eq!((s.skipped, s.fatal.is_none()), (1, true));
    assert!(s.reports[0].reason.contains("unknown record type 0x7e"));

    // Random damage anywhere (metadata included) and random truncation: reported or
    // refused, never a panic, and the counters add up.
    let mut rng = Rng(99);
    let mut fatal = 0;
    for round in 0..300 {
        let mut b = bytes[..(first as usize + 40 * 56)].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() as u64) as usize;
            b[at] = rng.next() as u8;
        }
        if round % 3 == 0 {
            b.truncate(rng.below(b.len() as u64) as usize);
        }
        std::fs::write(&bad, &b).unwrap();
        if let Ok(mut src) = DbnSource::open(&bad, SOURCE, es_map(), None) {
            let events = drain(&mut src);
            let s = src.stats();
            assert_eq!(s.events, events.len() as u64);
            assert!(s.records <= 40 * 56 / 16 + 1, "{s:?}");
            assert!(s.records >= s.skipped + s.unknown_instrument, "{s:?}");
            fatal += u64::from(s.fatal.is_some());
            for e in &events {
                assert_eq!(e.validate(), Ok(()), "{e}");
            }
        }
    }
    println!("300 damaged files: {fatal} ended with a fatal error, none panicked");
    let _ = std::fs::remove_dir_all(&dir);
}

/// An MBO snapshot: a clear, then adds flagged `F_SNAPSHOT` whose `ts_event` is each order's
/// original entry time (out of order). Their exchange times are raised so that they never go
/// backwards; receive times stay as given.
#[test]
fn snapshot_records_keep_exchange_time_monotonic() {
    let dir = tmp_dir("snapshot");
    let path = dir.join("snap.mbo.dbn");
    let snap = dbn::flags::SNAPSHOT | dbn::flags::BAD_TS_RECV;
    let gen_ts = T0;
    let mut recs = vec![mbo(ES_ID, T0 - 900, 0, b'R', b'N', 0, dbn::UNDEF_PRICE, 0)];
    for (k, entry) in [T0 - 500, T0 - 800, T0 - 100, T0 - 700]
        .into_iter()
        .enumerate()
    {
        recs.push(mbo(
            ES_ID,
            entry,
            0,
            b'A',
            b'B',
            k as u64 + 1,
            BASE - TICK,
            1,
        ));
    }
    recs.push(mbo(ES_ID, T0 + 50, 77, b'C', b'B', 2, BASE - TICK, 1));
    for r in &mut recs[..5] {
        r.flags = FlagSet::new(snap);
        r.ts_recv = gen_ts;
    }
    write_dbn(&path, &metadata(Schema::Mbo, T0, &[("ESH1", ES_ID)]), &recs);
    let mut src = DbnSource::open(&path, SOURCE, es_map(), None).unwrap();
    let events = drain(&mut src);
    for e in &events {
        println!("{e}");
    }
    assert_clean(src.stats());
    // The clear of an empty book yields nothing.
    assert_eq!(src.stats().ignored, 1);
    let times: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.header.exchange_ts_ns - T0 as i64,
                e.header.receive_ts_ns - T0 as i64,
            )
        })
        .collect();
    assert_eq!(
        times,
        [(-500, 0), (-500, 0), (-100, 0), (-100, 0), (50, 5_050)]
    );
    assert_eq!(src.live_orders(), 3);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sources_are_send_and_gz_works() {
    fn send<T: Send>() {}
    send::<DbnSource>();
    let dir = tmp_dir("gz");
    let (_, bytes, _) = small_mbo(&dir, 100);
    let gz = dir.join("small.mbo.dbn.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, &bytes).unwrap();
    enc.finish().unwrap();
    let mut src = DbnSource::open(&gz, SOURCE, es_map(), None).unwrap();
    assert_eq!(drain(&mut src).len(), 100);
    assert_clean(src.stats());
    assert_eq!(src.stats().bytes, bytes.len() as u64);
    let _ = std::fs::remove_dir_all(&dir);
}
