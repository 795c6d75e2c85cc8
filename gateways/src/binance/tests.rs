//! Unit tests of the Binance adapter on hand-written lines: message parsing, each event kind,
//! exact values, timestamps, continuity and gaps (spot and USD-M), snapshots and their
//! replay, and every kind of bad input — counted, reported with its line, never a panic.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::io::Cursor;

use proptest::prelude::*;
use tickrail_engine::book::L2Book;
use tickrail_engine::{
    Aggressor, Event, EventBody, InstrumentId, LevelAction, Price, Qty, Scale, Side,
};

use super::messages::{Field, Message};
use super::*;
use crate::feed::{FeedSource, InstrumentMap, MappedInstrument};

const BTC: InstrumentId = InstrumentId::new(1);
const ETH: InstrumentId = InstrumentId::new(2);
const MS: i64 = 1_000_000;

fn map() -> InstrumentMap {
    InstrumentMap::new(vec![
        MappedInstrument {
            symbol: "BTCUSDT".into(),
            id: BTC,
            price_scale: Scale::new(2),
            qty_scale: Scale::new(5),
        },
        MappedInstrument {
            symbol: "ETHUSDT".into(),
            id: ETH,
            price_scale: Scale::new(2),
            qty_scale: Scale::new(3),
        },
    ])
}

fn source(text: &str, options: BinanceOptions) -> BinanceSource<Cursor<Vec<u8>>> {
    BinanceSource::from_reader(
        Cursor::new(text.as_bytes().to_vec()),
        "t.log",
        9,
        map(),
        options,
    )
    .unwrap()
}

fn drain<S: FeedSource>(src: &mut S) -> Vec<Event> {
    let mut out = Vec::new();
    while let Some(e) = src.next_event() {
        assert_eq!(e.validate(), Ok(()), "{e}");
        out.push(e);
    }
    out
}

fn run(text: &str, options: BinanceOptions) -> (Vec<Event>, BinanceSource<Cursor<Vec<u8>>>) {
    let mut src = source(text, options);
    let events = drain(&mut src);
    (events, src)
}

fn reports(src: &impl FeedSource) -> Vec<String> {
    src.stats()
        .reports
        .iter()
        .map(ToString::to_string)
        .collect()
}

// Line builders. `E` is the receive time in ms + 1000 (exchange clock ahead, as in the
// real captures).
fn depth(recv_ms: i64, sym: &str, first: u64, last: u64, b: &str, a: &str) -> String {
    format!(
        "{} {{\"stream\":\"{}@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":{},\
         \"s\":\"{sym}\",\"U\":{first},\"u\":{last},\"b\":[{b}],\"a\":[{a}]}}}}\n",
        recv_ms * MS,
        sym.to_lowercase(),
        recv_ms + 1000
    )
}

fn fdepth(recv_ms: i64, first: u64, last: u64, prev: u64, b: &str, a: &str) -> String {
    format!(
        "{} {{\"stream\":\"ethusdt@depth@0ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":{},\
         \"T\":{},\"s\":\"ETHUSDT\",\"U\":{first},\"u\":{last},\"pu\":{prev},\"b\":[{b}],\
         \"a\":[{a}]}}}}\n",
        recv_ms * MS,
        recv_ms + 1000,
        recv_ms + 999
    )
}

fn trade(recv_ms: i64, sym: &str, id: u64, p: &str, q: &str, maker: bool) -> String {
    format!(
        "{} {{\"stream\":\"x@trade\",\"data\":{{\"e\":\"trade\",\"E\":{},\"s\":\"{sym}\",\
         \"t\":{id},\"p\":\"{p}\",\"q\":\"{q}\",\"T\":{},\"m\":{maker},\"M\":true}}}}\n",
        recv_ms * MS,
        recv_ms + 1000,
        recv_ms + 999
    )
}

fn ticker(recv_ms: i64, u: u64, b: &str, bq: &str, a: &str, aq: &str) -> String {
    format!(
        "{} {{\"stream\":\"btcusdt@bookTicker\",\"data\":{{\"u\":{u},\"s\":\"BTCUSDT\",\
         \"b\":\"{b}\",\"B\":\"{bq}\",\"a\":\"{a}\",\"A\":\"{aq}\"}}}}\n",
        recv_ms * MS
    )
}

fn lv(px: &str, qty: &str) -> String {
    format!("[\"{px}\",\"{qty}\"]")
}

fn level(e: &Event) -> (Side, LevelAction, i64, i64) {
    match e.body {
        EventBody::BookLevel {
            side,
            action,
            price,
            qty,
            level,
        } => {
            assert_eq!(level, 0);
            (side, action, price.raw(), qty.raw())
        }
        _ => panic!("not a level: {e}"),
    }
}

fn gaps(events: &[Event]) -> Vec<(u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::FeedGap { expected, received } => Some((expected, received)),
            _ => None,
        })
        .collect()
}

#[test]
fn parses_wrapped_and_raw_messages_borrowing_from_the_line() {
    let mut levels = Vec::new();
    let json = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":5,"s":"BTCUSDT","U":1,"u":2,"b":[["1.5","2"]],"a":[["1.6","0"],["1.7","3"]],"extra":{"x":[1,2]}}}"#;
    let m = Message::parse(json, &mut levels).unwrap();
    assert_eq!(m.stream, Some("btcusdt@depth@100ms"));
    assert_eq!(
        (m.event, m.event_time, m.symbol),
        (Some("depthUpdate"), Some(5), Some("BTCUSDT"))
    );
    assert_eq!(
        (m.first_id, m.last_id, m.prev_last_id),
        (Some(1), Some(2), None)
    );
    assert_eq!(m.b, Some(Field::Levels(0..1)));
    assert_eq!(m.a, Some(Field::Levels(1..3)));
    let texts: Vec<_> = levels
        .iter()
        .map(|l| (l.px.get(json).unwrap(), l.qty.get(json).unwrap()))
        .collect();
    assert_eq!(texts, [("1.5", "2"), ("1.6", "0"), ("1.7", "3")]);

    let json = r#"{"u":7,"s":"BTCUSDT","b":"1.00","B":"2","a":"1.01","A":"3"}"#;
    let m = Message::parse(json, &mut levels).unwrap();
    assert!(levels.is_empty());
    assert_eq!(
        (m.b, m.a),
        (Some(Field::Str("1.00")), Some(Field::Str("1.01")))
    );
    let json = r#"{"e":"aggTrade","a":77,"p":"1","q":"2","m":false}"#;
    let m = Message::parse(json, &mut levels).unwrap();
    assert_eq!((m.a, m.buyer_is_maker), (Some(Field::Num(77)), Some(false)));

    for bad in [
        "",
        "{",
        "[]",
        "{\"e\":\"trade\"} x",
        "{\"p\":\"6\\u0030\"}",
        "{\"E\":-1}",
        "{\"E\":1.5}",
        "{\"b\":[[\"1\",\"2\",\"3\"]]}",
        "{\"b\":[[\"1\"]]}",
        "{\"data\":{\"data\":{}}}",
        "{\"data\":null}",
    ] {
        assert!(Message::parse(bad, &mut levels).is_err(), "{bad:?}");
    }
}

#[test]
fn depth_trades_and_exact_values() {
    let text = [
        depth(
            1,
            "BTCUSDT",
            10,
            12,
            &[lv("56000.12000000", "0.50000000"), lv("55999.00", "0")].join(","),
            &lv("56001.5", "1.25"),
        ),
        trade(2, "BTCUSDT", 100, "56000.12000000", "0.00100000", true),
        trade(3, "BTCUSDT", 101, "56001.50", "0.2", false),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(events.len(), 5);
    let seqs: Vec<u64> = events.iter().map(|e| e.header.sequence).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    // The delete first, then the upserts (bids before asks).
    assert_eq!(
        level(&events[0]),
        (Side::Buy, LevelAction::Delete, 5_599_900, 0)
    );
    assert_eq!(
        level(&events[1]),
        (Side::Buy, LevelAction::Upsert, 5_600_012, 50_000)
    );
    assert_eq!(
        level(&events[2]),
        (Side::Sell, LevelAction::Upsert, 5_600_150, 125_000)
    );
    let h = events[0].header;
    assert_eq!(
        (h.instrument, h.price_scale, h.qty_scale, h.source),
        (BTC, 2, 5, 9)
    );
    assert_eq!((h.exchange_ts_ns, h.receive_ts_ns), (1001 * MS, MS));
    assert_eq!(h.cause_sequence, h.sequence);
    assert_eq!(
        events[3].body,
        EventBody::Trade {
            aggressor: Aggressor::Sell,
            price: Price::new(5_600_012),
            qty: Qty::new(100),
            trade_id: 100,
        }
    );
    assert!(matches!(
        events[4].body,
        EventBody::Trade {
            aggressor: Aggressor::Buy,
            trade_id: 101,
            ..
        }
    ));
    assert_eq!(events[4].header.exchange_ts_ns, 1003 * MS);
    let s = src.stats();
    assert_eq!((s.records, s.events, s.skipped, s.gaps), (3, 5, 0, 0));
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(src.binance_stats().depth_diffs, 1);
}

#[test]
fn values_that_do_not_fit_the_scale_are_skipped_never_rounded() {
    let text = [
        trade(1, "BTCUSDT", 1, "0.123", "1", false),
        trade(2, "BTCUSDT", 2, "1.00", "0.000001", false),
        trade(3, "BTCUSDT", 3, "0", "1", false),
        trade(4, "BTCUSDT", 4, "1.00", "0.00000", false),
        trade(5, "BTCUSDT", 5, "1e3", "1", false),
        trade(6, "BTCUSDT", 6, "92233720368547758.08", "1", false),
        trade(7, "BTCUSDT", 7, "1.00", "1", false),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].header.receive_ts_ns, 7 * MS);
    let s = src.stats();
    assert_eq!(s.skipped, 6);
    let r = reports(&src);
    assert!(
        r[0].starts_with("t.log: line 1: trade price: \"0.123\" has more than 2"),
        "{r:?}"
    );
    assert!(r[1].starts_with("t.log: line 2: trade qty:"), "{r:?}");
    assert!(
        r[2].contains("line 3") && r[2].contains("not positive"),
        "{r:?}"
    );
    assert!(
        r[3].contains("line 4") && r[3].contains("zero quantity"),
        "{r:?}"
    );
    assert!(
        r[4].contains("line 5") && r[4].contains("not a decimal"),
        "{r:?}"
    );
    assert!(
        r[5].contains("line 6") && r[5].contains("overflows"),
        "{r:?}"
    );
}

#[test]
fn a_depth_diff_with_a_bad_value_is_skipped_whole_and_marked_as_a_gap() {
    let text = [
        depth(1, "BTCUSDT", 1, 1, &lv("100.00", "1"), ""),
        depth(2, "BTCUSDT", 2, 3, &lv("100.001", "1"), &lv("101", "1")),
        depth(3, "BTCUSDT", 4, 4, &lv("100.00", "2"), ""),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    let kinds: Vec<_> = events.iter().map(|e| e.kind().name()).collect();
    assert_eq!(kinds, ["book_level", "feed_gap", "book_level"]);
    assert_eq!(gaps(&events), [(2, 0)]);
    let s = src.stats();
    assert_eq!((s.skipped, s.gaps), (1, 1));
    let r = reports(&src);
    assert!(
        r[0].starts_with("t.log: line 2: buy level price: \"100.001\""),
        "{r:?}"
    );
    assert!(
        r[1].starts_with("t.log: line 2: BTCUSDT depth gap (diff skipped)"),
        "{r:?}"
    );
}

#[test]
fn spot_gap_in_u_is_a_feed_gap_then_the_updates_continue() {
    let text = [
        depth(1, "BTCUSDT", 10, 12, &lv("100", "1"), &lv("101", "1")),
        depth(2, "BTCUSDT", 13, 15, &lv("100", "2"), ""),
        // 16..=19 lost.
        depth(3, "BTCUSDT", 20, 22, &lv("100", "3"), ""),
        // Duplicate and reordered.
        depth(4, "BTCUSDT", 20, 22, &lv("100", "3"), ""),
        depth(5, "BTCUSDT", 16, 19, &lv("100", "9"), ""),
        depth(6, "BTCUSDT", 23, 23, &lv("100", "4"), ""),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(gaps(&events), [(16, 20)]);
    let gap = events
        .iter()
        .find(|e| e.kind().name() == "feed_gap")
        .unwrap();
    assert_eq!(gap.header.instrument, BTC);
    assert_eq!(gap.header.receive_ts_ns, 3 * MS);
    // The gap mark comes before the diff that revealed it, which is applied.
    let last_levels: Vec<_> = events.iter().rev().take(2).map(level).collect();
    assert_eq!(
        last_levels[0],
        (Side::Buy, LevelAction::Upsert, 10_000, 400_000)
    );
    assert_eq!(
        last_levels[1],
        (Side::Buy, LevelAction::Upsert, 10_000, 300_000)
    );
    let s = src.stats();
    assert_eq!((s.gaps, s.out_of_order, s.skipped), (1, 2, 0));
    assert_eq!(src.binance_stats().duplicate_diffs, 2);
    let r = reports(&src);
    assert_eq!(
        r[0],
        "t.log: line 3: BTCUSDT depth gap (U): expected 16, received 20"
    );
    assert!(
        r[1].starts_with("t.log: line 4: depthUpdate u 22 not after"),
        "{r:?}"
    );
    assert!(r[2].starts_with("t.log: line 5: "), "{r:?}");
}

#[test]
fn usdm_gap_in_pu_is_a_feed_gap() {
    let text = [
        fdepth(
            1,
            100,
            120,
            90,
            &lv("2000.00", "1.000"),
            &lv("2000.01", "2.5"),
        ),
        fdepth(2, 125, 140, 120, &lv("2000.00", "1.5"), ""),
        fdepth(3, 150, 160, 145, &lv("2000.00", "2"), ""),
        fdepth(4, 161, 170, 160, "", &lv("2000.01", "0")),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(gaps(&events), [(140, 145)]);
    assert_eq!(src.stats().gaps, 1);
    assert_eq!(src.binance_stats().usdm_diffs, 4);
    assert_eq!(
        reports(&src),
        ["t.log: line 3: ETHUSDT depth gap (pu): expected 140, received 145"]
    );
    assert!(events
        .iter()
        .all(|e| e.header.instrument == ETH && e.header.qty_scale == 3));
    // Forced spot rule: the same ids read as spot (U = u + 1) break elsewhere.
    let options = BinanceOptions {
        market: Market::Spot,
        ..BinanceOptions::default()
    };
    let (events, _) = run(&text, options);
    assert_eq!(gaps(&events), [(121, 125), (141, 150)]);
    // Forced USD-M: a diff without `pu` is malformed.
    let options = BinanceOptions {
        market: Market::UsdM,
        ..BinanceOptions::default()
    };
    let (_, src) = run(&depth(1, "ETHUSDT", 1, 2, "", ""), options);
    assert_eq!(src.stats().skipped, 1);
}

/// A spot capture as hftbacktest records it: diffs, then the REST snapshot (arriving after
/// a diff it does not cover), then diffs that continue from that diff.
#[test]
fn a_snapshot_resets_the_book_and_the_diffs_after_it_are_applied_again() {
    let text = [
        // Before the snapshot: 100 (to be deleted), 99 and ask 102.
        depth(
            1,
            "BTCUSDT",
            10,
            12,
            &[lv("100", "1"), lv("99", "1")].join(","),
            &lv("102", "1"),
        ),
        // Covered by the snapshot (u 15 <= 16)...
        depth(2, "BTCUSDT", 13, 15, &lv("98", "1"), ""),
        // ...straddling it (U 16 <= 17 <= u 18): re-applied after it.
        depth(3, "BTCUSDT", 16, 18, &lv("97", "5"), &lv("103", "0")),
        format!(
            "{} {{\"lastUpdateId\":16,\"bids\":[{}],\"asks\":[{}]}}\n",
            4 * MS,
            [lv("99.00", "2"), lv("98.00", "1"), lv("96.00", "0")].join(","),
            [lv("102.00", "3"), lv("103.00", "1")].join(",")
        ),
        depth(5, "BTCUSDT", 19, 19, &lv("99", "0"), ""),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    let b = src.binance_stats();
    assert_eq!(
        (
            b.snapshots,
            b.snapshot_levels,
            b.snapshot_deletes,
            b.replayed_diffs
        ),
        (1, 4, 2, 1)
    );
    assert_eq!(src.stats().gaps, 0);
    // The snapshot's events: deletes of the levels it does not hold (100 and 97), then
    // its levels, then the re-applied diff.
    let snap: Vec<_> = events
        .iter()
        .filter(|e| e.header.receive_ts_ns == 4 * MS)
        .map(level)
        .collect();
    assert_eq!(
        snap,
        [
            (Side::Buy, LevelAction::Delete, 9_700, 0),
            (Side::Buy, LevelAction::Delete, 10_000, 0),
            (Side::Buy, LevelAction::Upsert, 9_900, 200_000),
            (Side::Buy, LevelAction::Upsert, 9_800, 100_000),
            (Side::Sell, LevelAction::Upsert, 10_200, 300_000),
            (Side::Sell, LevelAction::Upsert, 10_300, 100_000),
            (Side::Sell, LevelAction::Delete, 10_300, 0),
            (Side::Buy, LevelAction::Upsert, 9_700, 500_000),
        ]
    );
    let mut book = L2Book::<16>::new();
    for e in &events {
        let (side, action, px, q) = level(e);
        book.apply(side, action, px, q);
    }
    let bids: Vec<_> = (0..book.levels(Side::Buy))
        .map(|i| book.depth(Side::Buy, i).unwrap().px)
        .collect();
    assert_eq!(bids, [9_800, 9_700]);
    assert_eq!(
        book.best_ask().map(|l| (l.px, l.qty)),
        Some((10_200, 300_000))
    );
    assert_eq!(book.anomalies().crossed, 0);
    // Spot snapshots have no event time: stamped with the latest seen (diff line 3's).
    let snap_event = events
        .iter()
        .find(|e| e.header.receive_ts_ns == 4 * MS)
        .unwrap();
    assert_eq!(snap_event.header.exchange_ts_ns, 1003 * MS);
    assert_eq!(b.exchange_ts_estimated, 1);
}

#[test]
fn diffs_a_newer_snapshot_covers_are_stale_and_a_non_straddling_one_is_a_gap() {
    let snapshot = |recv_ms: i64, id: u64| {
        format!(
            "{} {{\"lastUpdateId\":{id},\"E\":{},\"T\":{},\"bids\":[{}],\"asks\":[{}]}}\n",
            recv_ms * MS,
            recv_ms + 1000,
            recv_ms + 999,
            lv("2000.00", "1"),
            lv("2000.01", "1")
        )
    };
    let text = [
        snapshot(1, 500),
        fdepth(2, 400, 450, 390, &lv("1999.00", "1"), ""),
        // u == lastUpdateId: the first USD-M diff to apply.
        fdepth(3, 480, 500, 450, &lv("1999.50", "1"), ""),
        fdepth(4, 501, 510, 500, &lv("1999.60", "1"), ""),
        snapshot(5, 600),
        fdepth(6, 650, 660, 640, &lv("1999.70", "1"), ""),
    ]
    .concat();
    // Two instruments in the map and no diff before the first snapshot: name its symbol.
    let options = BinanceOptions {
        snapshot_symbol: Some("ETHUSDT".into()),
        ..BinanceOptions::default()
    };
    let (events, src) = run(&text, options);
    let b = src.binance_stats();
    assert_eq!((b.snapshots, b.stale_diffs, b.depth_diffs), (2, 1, 3));
    assert_eq!(src.stats().ignored, 1);
    assert_eq!(gaps(&events), [(600, 650)]);
    // The USD-M rule comes from the snapshot's `E` (no diff seen yet).
    assert_eq!(b.usdm_diffs, 3);
}

#[test]
fn a_snapshot_needs_a_symbol_when_the_capture_is_ambiguous() {
    let snap = format!(
        "{} {{\"lastUpdateId\":16,\"bids\":[{}],\"asks\":[]}}\n",
        MS,
        lv("1", "1")
    );
    let (_, src) = run(&snap, BinanceOptions::default());
    assert_eq!(src.stats().skipped, 1);
    assert!(
        reports(&src)[0].contains("snapshot_symbol"),
        "{:?}",
        reports(&src)
    );
    let options = BinanceOptions {
        snapshot_symbol: Some("ETHUSDT".into()),
        ..BinanceOptions::default()
    };
    let (events, src) = run(&snap, options);
    assert_eq!(src.stats().skipped, 0);
    assert_eq!(events[0].header.instrument, ETH);
    let options = BinanceOptions {
        snapshot_symbol: Some("DOGEUSDT".into()),
        ..BinanceOptions::default()
    };
    let (events, src) = run(&snap, options);
    assert!(events.is_empty());
    assert_eq!(src.stats().unknown_instrument, 1);
    let options = BinanceOptions {
        apply_snapshots: false,
        ..BinanceOptions::default()
    };
    let (events, src) = run(&snap, options);
    assert!(events.is_empty());
    assert_eq!(src.stats().ignored, 1);
}

#[test]
fn book_ticker_quotes_and_their_timestamps() {
    let text = [
        ticker(1, 5, "100.00", "1", "100.01", "2"),
        trade(2, "BTCUSDT", 1, "100", "1", true),
        ticker(3, 6, "100.00000000", "1.5", "100.01", "0.00001"),
        ticker(4, 6, "100.00", "1", "100.01", "2"),
        "5000000 {\"e\":\"bookTicker\",\"u\":7,\"s\":\"ETHUSDT\",\"b\":\"1.00\",\"B\":\"1\",\
         \"a\":\"1.01\",\"A\":\"1\",\"T\":3999,\"E\":4000}\n"
            .to_string(),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::with_streams(Streams::BOOK_TICKER));
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[1].body,
        EventBody::Quote {
            bid_px: Price::new(10_000),
            bid_qty: Qty::new(150_000),
            ask_px: Price::new(10_001),
            ask_qty: Qty::new(1),
        }
    );
    // No event time in a spot bookTicker: the receive time before anything else was seen,
    // then the latest event time seen (the trade's, not emitted).
    assert_eq!(events[0].header.exchange_ts_ns, MS);
    assert_eq!(events[1].header.exchange_ts_ns, 1002 * MS);
    assert_eq!(events[2].header.exchange_ts_ns, 4000 * MS);
    assert_eq!(events[2].header.instrument, ETH);
    let s = src.stats();
    assert_eq!((s.ignored, s.out_of_order), (1, 1));
    assert_eq!(src.binance_stats().exchange_ts_estimated, 2);
}

#[test]
fn agg_trades_and_non_market_trades() {
    let text = [
        "1000000 {\"e\":\"aggTrade\",\"E\":10,\"a\":55,\"s\":\"BTCUSDT\",\"p\":\"1.00\",\
         \"q\":\"2\",\"f\":1,\"l\":3,\"T\":9,\"m\":false}\n"
            .to_string(),
        trade(2, "BTCUSDT", 9, "1", "1", false),
        "3000000 {\"e\":\"trade\",\"E\":10,\"s\":\"ETHUSDT\",\"t\":1,\"p\":\"1\",\"q\":\"1\",\
         \"X\":\"INSURANCE_FUND\",\"m\":true}\n"
            .to_string(),
    ]
    .concat();
    let options = BinanceOptions::with_streams(Streams {
        depth: false,
        book_ticker: false,
        trades: TradeStream::AggTrade,
    });
    let (events, src) = run(&text, options);
    assert_eq!(events.len(), 1);
    assert!(matches!(
        events[0].body,
        EventBody::Trade { trade_id: 55, .. }
    ));
    assert_eq!(src.stats().ignored, 2);
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(events.len(), 1);
    assert!(matches!(
        events[0].body,
        EventBody::Trade { trade_id: 9, .. }
    ));
    assert_eq!(src.binance_stats().non_market_trades, 1);
}

#[test]
fn exchange_time_never_goes_backwards_per_instrument() {
    // The trade's event time (1003 ms) is after the next diff's (1002 ms + 0): clamped.
    let mut late = depth(4, "BTCUSDT", 2, 2, &lv("1", "1"), "");
    late = late.replace("\"E\":1004", "\"E\":1001");
    let text = [
        depth(1, "BTCUSDT", 1, 1, &lv("1", "1"), ""),
        trade(3, "BTCUSDT", 1, "1", "1", false),
        late,
        trade(5, "ETHUSDT", 1, "1", "1", false),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    let ts: Vec<i64> = events
        .iter()
        .map(|e| e.header.exchange_ts_ns / MS)
        .collect();
    assert_eq!(ts, [1001, 1003, 1003, 1005]);
    let b = src.binance_stats();
    assert_eq!((b.exchange_ts_clamped, b.max_clamp_ns), (1, 2 * MS));
}

#[test]
fn receive_time_going_backwards_is_out_of_order_and_skipped() {
    let text = [
        trade(5, "BTCUSDT", 1, "1", "1", false),
        trade(4, "BTCUSDT", 2, "1", "1", false),
        trade(6, "BTCUSDT", 3, "1", "1", false),
    ]
    .concat();
    let (events, src) = run(&text, BinanceOptions::default());
    assert_eq!(events.len(), 2);
    assert_eq!(src.stats().out_of_order, 1);
    assert_eq!(src.binance_stats().trade_id_jumps, 1);
    assert_eq!(
        reports(&src),
        ["t.log: line 2: receive time 4000000 before the previous line's 5000000"]
    );
}

#[test]
fn malformed_lines_are_counted_with_their_line_numbers() {
    let good = trade(1, "BTCUSDT", 1, "1", "1", false);
    let truncated = &good[..good.len() / 2];
    let text = [
        good.clone(),
        format!("{truncated}\n"),
        "1000 {not json}\n".into(),
        "no-space-here\n".into(),
        "12a {\"e\":\"trade\"}\n".into(),
        "2000000 {\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":2,\"q\":\"1\",\"m\":true}\n"
            .into(),
        trade(3, "DOGEUSDT", 1, "1", "1", false),
        trade(3, "DOGEUSDT", 2, "1", "1", false),
        "3000000 {\"result\":null,\"id\":1}\n".into(),
        "3000000 {\"code\":2,\"msg\":\"Invalid request\"}\n".into(),
        "3000000 {\"e\":\"kline\",\"s\":\"BTCUSDT\"}\n".into(),
        "3000000 {\"foo\":1}\n".into(),
        "\n".into(),
        "3000000 {\"e\":\"trade\",\"E\":1,\"s\":\"BTCUSDT\",\"t\":3,\"p\":\"1\\u0030\",\
         \"q\":\"1\",\"m\":true}\n"
            .into(),
        "3000000 {\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\
         \"b\":[[\"1\",\"1\",\"1\"]],\"a\":[]}\n"
            .into(),
        "3000000 {\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":5,\"u\":2,\
         \"b\":[],\"a\":[]}\n"
            .into(),
        "3000000 {\"e\":\"depthUpdate\",\"E\":1,\"s\":\"BTCUSDT\",\"U\":1,\"u\":2,\"b\":\"1\",\
         \"a\":[]}\n"
            .into(),
        trade(4, "BTCUSDT", 4, "1", "1", false).replace('\n', "\r\n"),
    ]
    .concat();
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"5000000 {\"e\":\"trade\",\"s\":\"\xff\"}\n");
    // The last line has no end of line.
    bytes.extend_from_slice(
        trade(6, "BTCUSDT", 5, "1", "1", false)
            .trim_end()
            .as_bytes(),
    );
    let mut src =
        BinanceSource::from_reader(Cursor::new(bytes), "t.log", 9, map(), Default::default())
            .unwrap();
    let events = drain(&mut src);
    let ids: Vec<u64> = events
        .iter()
        .map(|e| match e.body {
            EventBody::Trade { trade_id, .. } => trade_id,
            _ => 0,
        })
        .collect();
    assert_eq!(ids, [1, 4, 5]);
    let s = src.stats();
    assert_eq!(s.records, 20);
    assert_eq!(
        (s.skipped, s.unknown_instrument, s.ignored),
        (11, 2, 4),
        "{:#?}",
        s.reports
    );
    let r = reports(&src);
    let line_of = |r: &String| r.split(':').nth(1).unwrap().trim().to_string();
    let lines: Vec<String> = r.iter().map(line_of).collect();
    assert_eq!(
        lines,
        [
            "line 2", "line 3", "line 4", "line 5", "line 6", "line 7", "line 12", "line 14",
            "line 15", "line 16", "line 17", "line 19"
        ],
        "{r:#?}"
    );
    assert!(r[0].contains("bad JSON: EOF while parsing"), "{r:?}");
    assert!(r[2].contains("no space"), "{r:?}");
    assert!(r[3].contains("bad receive time \"12a\""), "{r:?}");
    assert!(
        r[4].contains("trade without id, `E`, `p`, `q` or `m`"),
        "{r:?}"
    );
    assert!(
        r[5].contains("unknown symbol \"DOGEUSDT\" (reported once)"),
        "{r:?}"
    );
    assert!(r[6].contains("not a Binance market data message"), "{r:?}");
    assert!(r[7].contains("bad JSON"), "{r:?}");
    assert!(r[9].contains("U 5 > u 2"), "{r:?}");
    assert!(r[10].contains("level arrays"), "{r:?}");
    assert!(r[11].contains("not UTF-8"), "{r:?}");
    assert_eq!(s.fatal, None);
}

#[test]
fn overlong_lines_are_skipped_with_bounded_memory() {
    let options = BinanceOptions {
        max_line_bytes: 64,
        ..BinanceOptions::default()
    };
    let long = format!("1 {{\"x\":\"{}\"}}\n", "y".repeat(1000));
    let ok = "2 {\"result\":null,\"id\":1}\n";
    let text = [long.as_str(), ok, long.trim_end()].concat();
    let (_, src) = run(&text, options);
    let s = src.stats();
    assert_eq!((s.records, s.skipped, s.ignored), (3, 2, 1));
    assert_eq!(s.bytes, text.len() as u64);
    assert_eq!(
        reports(&src),
        [
            "t.log: line 1: line longer than 64 bytes",
            "t.log: line 3: line longer than 64 bytes"
        ]
    );
}

#[test]
fn depth_and_book_ticker_together_are_refused() {
    let options = BinanceOptions::with_streams(Streams {
        depth: true,
        book_ticker: true,
        trades: TradeStream::Off,
    });
    let err = BinanceSource::from_reader(Cursor::new(Vec::new()), "x", 1, map(), options)
        .err()
        .unwrap();
    assert!(
        err.to_string().starts_with("x: depth and bookTicker"),
        "{err}"
    );
    let err = BinanceSource::open(
        std::path::Path::new("/nonexistent/b.gz"),
        1,
        map(),
        BinanceOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("cannot open"), "{err}");
}

/// Lines close to real ones, with random damage.
fn mutated_line() -> impl Strategy<Value = Vec<u8>> {
    let seeds = prop::sample::select(vec![
        depth(1, "BTCUSDT", 1, 2, &lv("1.00", "1"), &lv("2", "0")),
        fdepth(1, 1, 2, 0, &lv("1.00", "1"), ""),
        trade(1, "BTCUSDT", 1, "1", "1", false),
        ticker(1, 1, "1", "1", "2", "1"),
        format!(
            "1 {{\"lastUpdateId\":3,\"bids\":[{}],\"asks\":[]}}\n",
            lv("1", "1")
        ),
    ]);
    (
        seeds,
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(line, edits, cut)| {
            let mut bytes = line.into_bytes();
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            bytes.truncate(cut.index(bytes.len() + 1));
            bytes
        })
}

proptest! {
    #[test]
    fn random_lines_never_panic(
        lines in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..80),
                "[0-9]{0,20} \\{[\"a-zA-Z:,\\[\\]{}0-9.]{0,60}\\}".prop_map(String::into_bytes),
                mutated_line(),
            ],
            0..20,
        )
    ) {
        let mut text = Vec::new();
        for l in &lines {
            text.extend_from_slice(l);
            text.push(b'\n');
        }
        let mut src = BinanceSource::from_reader(
            Cursor::new(text), "p", 1, map(), BinanceOptions::default(),
        ).unwrap();
        let mut n = 0;
        while let Some(e) = src.next_event() {
            prop_assert_eq!(e.validate(), Ok(()));
            n += 1;
        }
        let s = src.stats();
        prop_assert_eq!(s.events, n);
        prop_assert!(s.records >= lines.iter().filter(|l| !l.contains(&b'\n')).count() as u64);
        prop_assert_eq!(s.fatal.clone(), None);
    }
}
