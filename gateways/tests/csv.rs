//! The CSV adapter: both layouts (columns in any order), header errors naming the column,
//! bad rows counted with their line numbers, rows going back in time, unknown symbols,
//! `.csv.gz`, and random rows that never panic.

#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::path::PathBuf;

use proptest::prelude::*;
use tickrail_engine::{Aggressor, Event, EventBody, InstrumentId, Price, Qty, Scale};
use tickrail_gateways::csv_feed::{CsvLayout, CsvSource, QUOTE_COLUMNS, TRADE_COLUMNS};
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, MappedInstrument};

const SOURCE: u16 = 3;

fn map() -> InstrumentMap {
    InstrumentMap::new(vec![
        MappedInstrument {
            symbol: "BTCUSDT".into(),
            id: InstrumentId::new(0),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(5),
        },
        MappedInstrument {
            symbol: "ETHUSDT".into(),
            id: InstrumentId::new(1),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(4),
        },
    ])
}

fn source(text: &str) -> Result<CsvSource, String> {
    CsvSource::from_reader(
        Box::new(Cursor::new(text.as_bytes().to_vec())),
        "mem.csv",
        SOURCE,
        map(),
    )
    .map_err(|e| e.to_string())
}

fn drain(src: &mut CsvSource) -> Vec<Event> {
    std::iter::from_fn(|| src.next_event()).collect()
}

fn quote(bid: i64, bq: i64, ask: i64, aq: i64) -> EventBody {
    EventBody::Quote {
        bid_px: Price::new(bid),
        bid_qty: Qty::new(bq),
        ask_px: Price::new(ask),
        ask_qty: Qty::new(aq),
    }
}

fn print(events: &[Event], stats: &FeedStats) {
    for e in events {
        println!("{e}");
    }
    for r in &stats.reports {
        println!("{r}");
    }
}

#[test]
fn quotes_layout_in_any_column_order() {
    let text = "\
symbol, bid_qty,bid_px,ask_px,ask_qty,ts_event_ns,ts_recv_ns
 BTCUSDT , 0.5,64000.10 ,64000.20,1.25,1000,1005
ETHUSDT,2,3000,3000.5,3,1001,1006
BTCUSDT,0,,64000.30,0.00001,1002,1007
BTCUSDT,0,,0,0,1003,1008
";
    let mut src = source(text).unwrap();
    assert_eq!(src.layout(), CsvLayout::Quotes);
    let events = drain(&mut src);
    print(&events, src.stats());
    let s = src.stats();
    assert_eq!((s.records, s.events, s.skipped), (4, 4, 0));
    assert!(s.reports.is_empty() && s.fatal.is_none());
    assert_eq!(s.bytes, text.len() as u64);
    let bodies: Vec<_> = events.iter().map(|e| e.body).collect();
    assert_eq!(
        bodies,
        [
            quote(6_400_010, 50_000, 6_400_020, 125_000),
            quote(300_000, 20_000, 300_050, 30_000),
            // An empty bid repeats the last bid price.
            quote(6_400_010, 0, 6_400_030, 1),
            // Both sides empty: both prices repeated.
            quote(6_400_010, 0, 6_400_030, 0),
        ]
    );
    let h = events[1].header;
    assert_eq!(
        (
            h.sequence,
            h.cause_sequence,
            h.exchange_ts_ns,
            h.receive_ts_ns
        ),
        (2, 2, 1001, 1006)
    );
    assert_eq!(
        (h.instrument, h.price_scale, h.qty_scale, h.source),
        (InstrumentId::new(1), 2, 4, SOURCE)
    );
    for e in &events {
        assert_eq!(e.validate(), Ok(()), "{e}");
    }
}

#[test]
fn trades_layout() {
    let text = "\
trade_id,side,qty,price,symbol,ts_event_ns,ts_recv_ns
17,buy,0.001,64000.5,BTCUSDT,10,11
18,SELL,1,64000.4,BTCUSDT,12,13
,unknown,0.25,3001.25,ETHUSDT,12,14
";
    let mut src = source(text).unwrap();
    assert_eq!(src.layout(), CsvLayout::Trades);
    let events = drain(&mut src);
    print(&events, src.stats());
    assert_eq!(src.stats().skipped, 0);
    let bodies: Vec<_> = events.iter().map(|e| e.body).collect();
    assert_eq!(
        bodies,
        [
            EventBody::Trade {
                aggressor: Aggressor::Buy,
                price: Price::new(6_400_050),
                qty: Qty::new(100),
                trade_id: 17
            },
            EventBody::Trade {
                aggressor: Aggressor::Sell,
                price: Price::new(6_400_040),
                qty: Qty::new(100_000),
                trade_id: 18
            },
            EventBody::Trade {
                aggressor: Aggressor::Unknown,
                price: Price::new(300_125),
                qty: Qty::new(2_500),
                trade_id: 0
            },
        ]
    );
}

#[test]
fn header_errors_name_the_column() {
    let cases = [
        (
            "ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,venue\n",
            "unexpected column \"venue\" (header column 8)",
        ),
        (
            "ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px\n",
            "missing column \"ask_qty\"",
        ),
        (
            "ts_recv_ns,ts_event_ns,symbol,price,qty,side\n",
            "missing column \"trade_id\"",
        ),
        (
            "ts_recv_ns,ts_event_ns,symbol,price,qty,side,trade_id,price\n",
            "column \"price\" appears twice",
        ),
        (
            "ts_recv_ns,ts_event_ns,symbol,price,qty,side,trade_id,bid_px\n",
            "mixes quote columns",
        ),
        ("time,sym,px\n", "neither the quotes layout"),
        ("", "no header line"),
    ];
    for (text, want) in cases {
        let err = source(text).unwrap_err();
        println!("{err}");
        assert!(err.starts_with("mem.csv: "), "{err}");
        assert!(err.contains(want), "{err:?} should contain {want:?}");
    }
    assert_eq!(
        QUOTE_COLUMNS.join(","),
        "ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty"
    );
    assert_eq!(
        TRADE_COLUMNS.join(","),
        "ts_recv_ns,ts_event_ns,symbol,price,qty,side,trade_id"
    );
    let missing = CsvSource::open(&PathBuf::from("/nonexistent/q.csv"), SOURCE, map()).unwrap_err();
    assert!(missing.to_string().contains("cannot open"));
}

#[test]
fn bad_rows_are_counted_with_their_line_numbers() {
    let text = "\
ts_recv_ns,ts_event_ns,symbol,price,qty,side,trade_id
1,1,BTCUSDT,100.00,1,buy,1
2,2,BTCUSDT,100.001,1,buy,2
3,3,BTCUSDT,100,0,buy,3
4,4,BTCUSDT,100,1,both,4
5,5,BTCUSDT,100,1,buy
6,x,BTCUSDT,100,1,buy,6
7,7,BTCUSDT,-1,1,buy,7
8,8,BTCUSDT,1e3,1,buy,8
9,9,BTCUSDT,100,1,buy,+9
10,10,DOGEUSDT,100,1,buy,10
11,11,DOGEUSDT,100,1,buy,11
12,12,BTCUSDT,100,1,buy,12
";
    let mut src = source(text).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    print(&events, s);
    assert_eq!(events.len(), 2);
    assert_eq!(
        (s.records, s.skipped, s.unknown_instrument, s.out_of_order),
        (12, 8, 2, 0)
    );
    let lines: Vec<_> = s.reports.iter().map(|r| (r.line, r.offset)).collect();
    assert_eq!(
        lines,
        [
            (true, 3),
            (true, 4),
            (true, 5),
            (true, 6),
            (true, 7),
            (true, 8),
            (true, 9),
            (true, 10),
            (true, 11)
        ]
    );
    let reasons: Vec<_> = s.reports.iter().map(|r| r.reason.as_str()).collect();
    assert!(
        reasons[0].starts_with("price: \"100.001\" has more than 2"),
        "{}",
        reasons[0]
    );
    assert_eq!(reasons[1], "qty: zero quantity");
    assert_eq!(reasons[2], "side: \"both\" is not buy, sell or unknown");
    assert_eq!(reasons[3], "6 fields, the header has 7");
    assert_eq!(
        reasons[4],
        "ts_event_ns: \"x\" is not a non-negative integer"
    );
    assert!(
        reasons[5].starts_with("price: price -100 (raw) is not positive"),
        "{}",
        reasons[5]
    );
    assert!(
        reasons[6].contains("\"1e3\" is not a decimal number"),
        "{}",
        reasons[6]
    );
    assert_eq!(reasons[7], "trade_id: \"+9\" is not a non-negative integer");
    // An unknown symbol: counted on every row, reported on its first.
    assert_eq!(
        reasons[8],
        "symbol \"DOGEUSDT\" is not in the instrument map"
    );
    assert_eq!(
        s.reports[0].to_string(),
        format!("mem.csv: line 3: {}", reasons[0])
    );

    // An empty price with a quantity.
    let mut src =
        source("ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n1,1,BTCUSDT,,1,5,1\n")
            .unwrap();
    assert!(drain(&mut src).is_empty());
    assert_eq!(
        src.stats().reports[0].reason,
        "bid_px: empty price with a non-zero quantity"
    );
}

#[test]
fn rows_going_back_in_time_are_skipped() {
    let text = "\
ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty
100,90,BTCUSDT,1,1,2,1
99,95,BTCUSDT,1,1,2,1
101,80,BTCUSDT,1,1,2,1
102,80,ETHUSDT,1,1,2,1
102,96,BTCUSDT,1,1,2,1
";
    let mut src = source(text).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    print(&events, s);
    let kept: Vec<_> = events.iter().map(|e| e.header.receive_ts_ns).collect();
    assert_eq!(kept, [100, 102, 102]);
    assert_eq!((s.out_of_order, s.skipped), (2, 0));
    assert_eq!(
        s.reports[0].to_string(),
        "mem.csv: line 3: ts_recv_ns 99 is before the last row yielded (100)"
    );
    assert_eq!(
        s.reports[1].to_string(),
        "mem.csv: line 4: ts_event_ns 80 is before the last row of the instrument yielded (90)"
    );
}

#[test]
fn gz_files_stream_and_sources_are_send() {
    fn send<T: Send>() {}
    send::<CsvSource>();
    let dir = std::env::temp_dir().join(format!("tickrail-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("quotes.csv.gz");
    let mut text = String::from("ts_recv_ns,ts_event_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n");
    for i in 0..10_000 {
        text.push_str(&format!(
            "{i},{i},BTCUSDT,{}.25,1,{}.50,2\n",
            100 + i % 7,
            100 + i % 7
        ));
    }
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(&mut enc, text.as_bytes()).unwrap();
    enc.finish().unwrap();
    let mut src = CsvSource::open(&path, SOURCE, map()).unwrap();
    let events = drain(&mut src);
    assert_eq!(events.len(), 10_000);
    assert_eq!(src.stats().bytes, text.len() as u64);
    assert_eq!(events[9_999].header.sequence, 10_000);
    // A corrupt .gz ends the stream with a fatal error, no panic.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    bytes.truncate(n - 10);
    std::fs::write(&path, &bytes).unwrap();
    if let Ok(mut src) = CsvSource::open(&path, SOURCE, map()) {
        let events = drain(&mut src);
        println!(
            "corrupt gz: {} events, fatal {:?}",
            events.len(),
            src.stats().fatal
        );
        assert!(src.stats().fatal.is_some());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A field: plausible values, near misses and garbage.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("BTCUSDT".to_owned()),
        Just("ETHUSDT".to_owned()),
        Just("buy".to_owned()),
        Just("sell".to_owned()),
        Just("unknown".to_owned()),
        (0u64..1_000_000).prop_map(|n| n.to_string()),
        (0u64..100_000, 0u64..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        Just("-1".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("1e9".to_owned()),
        Just("\"quoted, with comma\"".to_owned()),
        "[ -~]{0,12}",
        any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\n').take(8).collect()),
    ]
}

fn row() -> impl Strategy<Value = String> {
    prop::collection::vec(field(), 0..10).prop_map(|f| f.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random rows under either header never panic, and every row is accounted for.
    #[test]
    fn random_rows_never_panic(quotes in any::<bool>(), rows in prop::collection::vec(row(), 0..40)) {
        let header = if quotes { QUOTE_COLUMNS.join(",") } else { TRADE_COLUMNS.join(",") };
        let text = format!("{header}\n{}\n", rows.join("\n"));
        let mut src = source(&text).unwrap();
        let events = drain(&mut src);
        let s = src.stats();
        prop_assert!(s.fatal.is_none());
        prop_assert_eq!(s.events, events.len() as u64);
        prop_assert_eq!(
            s.records,
            s.events + s.skipped + s.unknown_instrument + s.out_of_order + s.ignored
        );
        for (i, e) in events.iter().enumerate() {
            prop_assert_eq!(e.validate(), Ok(()));
            prop_assert_eq!(e.header.sequence, i as u64 + 1);
        }
        for w in events.windows(2) {
            prop_assert!(w[0].header.receive_ts_ns <= w[1].header.receive_ts_ns);
        }
    }
}
