//! The Binance adapter on the real captures in `gateways/samples/binance/` (committed; see
//! `tickrail_gateways::feed::sample_data_dir`): counts by kind, every event valid and accepted by the engine's
//! Sequencer, the depth book never crossed at a diff boundary, its best levels equal to
//! Binance's own `bookTicker` wherever both name the same update id, gaps and skips.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use tickrail_engine::book::{BookView, L2Book, Level, MarketBook};
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::{Event, EventBody, InstrumentId, Price, Qty, Scale};
use tickrail_gateways::binance::{BinanceOptions, BinanceSource, BinanceStats, Streams};
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, MappedInstrument};

const SPOT: &str = "spot_btcusdt_20240808.gz";
const USDM: &str = "usdm_ethusdt_20240808.gz";

/// A capture of the committed samples; a missing one fails the test, naming the path.
fn data(name: &str) -> PathBuf {
    let path = tickrail_gateways::feed::sample_data_dir()
        .join("binance")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing (the Binance samples are committed in gateways/samples/binance; \
         TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
        path.display()
    );
    path
}

/// BTCUSDT: cents, and the 8 decimals Binance prints for quantities (a few aggregated
/// quantities in the capture have 6 significant decimals, finer than the 5 of the lot size).
/// ETHUSDT futures: cents and 3 decimals.
fn map(name: &str) -> (InstrumentMap, Scale, Scale) {
    let (symbol, px, qty) = if name == SPOT {
        ("BTCUSDT", 2, 8)
    } else {
        ("ETHUSDT", 2, 3)
    };
    let (px, qty) = (Scale::new(px), Scale::new(qty));
    let map = InstrumentMap::new(vec![MappedInstrument {
        symbol: symbol.into(),
        id: InstrumentId::new(0),
        price_scale: px,
        qty_scale: qty,
    }]);
    (map, px, qty)
}

/// Every event of a run, checked on the way.
struct Run {
    events: Vec<Event>,
    stats: FeedStats,
    binance: BinanceStats,
}

fn run(name: &str, options: BinanceOptions) -> Run {
    let path = data(name);
    let (map, _, _) = map(name);
    let mut src = BinanceSource::open(&path, 7, map, options).unwrap();
    let mut seq = Sequencer::new(1, 1);
    let mut events = Vec::new();
    let mut last_recv = i64::MIN;
    while let Some(e) = src.next_event() {
        assert_eq!(e.validate(), Ok(()), "{e}");
        assert_eq!(e.header.sequence, events.len() as u64 + 1, "{e}");
        assert_eq!(e.header.source, 7);
        assert!(e.header.receive_ts_ns >= last_recv, "{e}");
        last_recv = e.header.receive_ts_ns;
        // The engine's Sequencer accepts every event (exchange time never goes backwards).
        seq.stamp(e).unwrap_or_else(|r| panic!("{e}: {r}"));
        events.push(e);
    }
    let stats = src.stats().clone();
    assert_eq!(stats.fatal, None);
    assert_eq!(stats.events, events.len() as u64);
    Run {
        events,
        stats,
        binance: src.binance_stats().clone(),
    }
}

fn kinds(events: &[Event]) -> BTreeMap<&'static str, u64> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts.entry(e.kind().name()).or_insert(0) += 1;
    }
    counts
}

fn print(name: &str, what: &str, r: &Run) {
    let s = &r.stats;
    println!(
        "{name} [{what}]: {} lines, {} bytes, {} events {:?}; ignored {}, skipped {}, \
         unknown {}, out_of_order {}, gaps {}",
        s.records,
        s.bytes,
        s.events,
        kinds(&r.events),
        s.ignored,
        s.skipped,
        s.unknown_instrument,
        s.out_of_order,
        s.gaps
    );
    println!("{name} [{what}]: {:?}", r.binance);
    for rep in &s.reports {
        println!("{name} [{what}]: report: {rep}");
    }
}

/// Binance's `bookTicker` by update id, and each depth line's `u` by receive time, read
/// independently with `serde_json::Value`.
struct Reference {
    tickers: HashMap<u64, (i64, i64, i64, i64)>,
    diff_u: HashMap<i64, u64>,
}

fn reference(name: &str) -> Reference {
    let path = data(name);
    let (_, px, qty) = map(name);
    let file = std::fs::File::open(path).unwrap();
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(file));
    let mut r = Reference {
        tickers: HashMap::new(),
        diff_u: HashMap::new(),
    };
    for line in reader.lines() {
        let line = line.unwrap();
        let (recv, json) = line.split_once(' ').unwrap();
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let d = v.get("data").unwrap_or(&v);
        let s = |k: &str| d[k].as_str().unwrap();
        if d.get("B").is_some() {
            let t = (
                Price::parse(s("b"), px).unwrap().raw(),
                Qty::parse(s("B"), qty).unwrap().raw(),
                Price::parse(s("a"), px).unwrap().raw(),
                Qty::parse(s("A"), qty).unwrap().raw(),
            );
            r.tickers.insert(d["u"].as_u64().unwrap(), t);
        } else if d.get("e").and_then(|e| e.as_str()) == Some("depthUpdate") {
            r.diff_u
                .insert(recv.parse().unwrap(), d["u"].as_u64().unwrap());
        }
    }
    r
}

/// Book checks of a depth run, at each line boundary (events of one line share its receive
/// time): crossed books, and the best levels against `bookTicker` of the same update id —
/// for the engine's `MarketBook` (32 levels a side) and for a deep `L2Book` (4096).
#[derive(Debug, Default)]
struct BookCheck {
    lines: u64,
    crossed_at_boundary: u64,
    one_sided_at_boundary: u64,
    compared: u64,
    mismatched_deep: u64,
    mismatched_market_book: u64,
    first_mismatch: Option<String>,
    market_book_anomalies: String,
}

/// Best bid and ask of a book, `(px, qty)` each.
type Top = (Option<Level>, Option<Level>);

fn check_book(r: &Run, reference: &Reference) -> BookCheck {
    let mut book = MarketBook::new(1, 1);
    let mut deep = Box::new(L2Book::<4096>::new());
    let mut c = BookCheck::default();
    let mut i = 0;
    while i < r.events.len() {
        let recv = r.events[i].header.receive_ts_ns;
        while i < r.events.len() && r.events[i].header.receive_ts_ns == recv {
            let e = &r.events[i];
            if let EventBody::BookLevel {
                side,
                action,
                price,
                qty,
                ..
            } = e.body
            {
                assert!(book.apply(e));
                deep.apply(side, action, price.raw(), qty.raw());
            }
            i += 1;
        }
        c.lines += 1;
        let tops: [Top; 2] = [
            (book.best_bid(), book.best_ask()),
            (deep.best_bid(), deep.best_ask()),
        ];
        match tops[0] {
            (Some(b), Some(a)) if b.px >= a.px => c.crossed_at_boundary += 1,
            (Some(_), Some(_)) => {}
            _ => c.one_sided_at_boundary += 1,
        }
        let Some(t) = reference
            .diff_u
            .get(&recv)
            .and_then(|u| reference.tickers.get(u))
        else {
            continue;
        };
        c.compared += 1;
        for (k, top) in tops.iter().enumerate() {
            let (Some(b), Some(a)) = top else {
                continue;
            };
            if (b.px, b.qty, a.px, a.qty) != *t {
                if k == 0 {
                    c.mismatched_market_book += 1;
                    c.first_mismatch.get_or_insert_with(|| {
                        format!("line at {recv}: MarketBook {b:?} {a:?}, bookTicker {t:?}")
                    });
                } else {
                    c.mismatched_deep += 1;
                }
            }
        }
    }
    assert_eq!(book.mixed_feed(), 0);
    c.market_book_anomalies = format!("{:?}", book.anomalies());
    c
}

fn depth_and_trades(name: &str) {
    let r = run(name, BinanceOptions::default());
    print(name, "depth+trade", &r);
    let s = &r.stats;
    assert_eq!(s.skipped, 0, "{:?}", s.reports);
    assert_eq!(s.unknown_instrument, 0);
    assert_eq!(s.out_of_order, 0);
    assert_eq!(s.gaps, 0, "the captures' depth streams are continuous");
    assert_eq!(
        r.binance.snapshots, 1,
        "each capture holds one REST snapshot"
    );
    assert!(r.binance.replayed_diffs >= 1);
    let k = kinds(&r.events);
    assert_eq!(k.get("feed_gap"), None);
    assert!(k["book_level"] > 0 && k["trade"] > 0);
    assert_eq!(k.get("quote"), None);
    let reference = reference(name);
    let c = check_book(&r, &reference);
    println!("{name} [depth+trade]: book {c:?}");
    assert_eq!(c.crossed_at_boundary, 0);
    assert!(c.compared > 500, "{c:?}");
    // The full book is Binance's own best levels wherever both name the same update id.
    assert_eq!(c.mismatched_deep, 0, "{c:?}");
    // The engine's 32-level book can lose a level that was beyond its depth when it was
    // sent and became the best later (depth_truncated): rare.
    assert!(c.mismatched_market_book <= 5, "{c:?}");
    // No transient crossing inside a diff either (deletes are emitted first).
    assert!(
        c.market_book_anomalies.contains("crossed: 0"),
        "{}",
        c.market_book_anomalies
    );
}

#[test]
fn spot_depth_and_trades() {
    depth_and_trades(SPOT);
}

#[test]
fn usdm_depth_and_trades() {
    depth_and_trades(USDM);
}

/// Without the snapshot the book holds only what the diffs touched: never crossed, but its
/// best levels can be missing or wrong until the touch has been updated.
#[test]
fn diffs_only_without_the_snapshot() {
    for name in [SPOT, USDM] {
        let options = BinanceOptions {
            apply_snapshots: false,
            ..BinanceOptions::default()
        };
        let r = run(name, options);
        print(name, "depth+trade, no snapshot", &r);
        assert_eq!(r.stats.skipped + r.stats.gaps + r.stats.out_of_order, 0);
        let c = check_book(&r, &reference(name));
        println!("{name} [depth+trade, no snapshot]: book {c:?}");
        assert_eq!(c.crossed_at_boundary, 0);
    }
}

#[test]
fn book_ticker_only() {
    for name in [SPOT, USDM] {
        let r = run(name, BinanceOptions::with_streams(Streams::BOOK_TICKER));
        print(name, "bookTicker", &r);
        let k = kinds(&r.events);
        assert_eq!(k.len(), 1, "{k:?}");
        assert_eq!(r.stats.skipped + r.stats.gaps + r.stats.out_of_order, 0);
        let reference = reference(name);
        assert_eq!(k["quote"], reference.tickers.len() as u64);
        // Every quote is two-sided and not crossed; the MarketBook follows them.
        let mut book = MarketBook::new(1, 1);
        for e in &r.events {
            let EventBody::Quote { bid_px, ask_px, .. } = e.body else {
                unreachable!()
            };
            assert!(bid_px < ask_px, "{e}");
            assert!(book.apply(e));
            assert!(book.two_sided().is_some());
        }
        if name == SPOT {
            // Spot bookTicker has no event time: every quote's is estimated.
            assert_eq!(r.binance.exchange_ts_estimated, k["quote"]);
        } else {
            assert_eq!(r.binance.exchange_ts_estimated, 0);
        }
    }
}

/// The same stream through `open` (file, `.gz`) and `from_reader` (any `BufRead`).
#[test]
fn reader_and_file_agree() {
    let path = data(USDM);
    let (map, _, _) = map(USDM);
    let mut a = BinanceSource::open(&path, 1, map.clone(), BinanceOptions::default()).unwrap();
    let reader = BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(&path).unwrap(),
    ));
    let mut b =
        BinanceSource::from_reader(reader, "mem", 1, map, BinanceOptions::default()).unwrap();
    let mut n = 0u64;
    loop {
        let (x, y) = (a.next_event(), b.next_event());
        assert_eq!(x, y);
        if x.is_none() {
            break;
        }
        n += 1;
    }
    assert_eq!(a.stats().events, n);
    assert_eq!(a.stats().records, b.stats().records);
}

/// With both symbols in the map (as in `config/backtest-binance.toml`), the snapshot (which
/// names no symbol) goes to the one instrument whose depth stream the capture has shown.
#[test]
fn snapshots_find_their_instrument_in_a_two_symbol_map() {
    for (name, want) in [(SPOT, 0), (USDM, 1)] {
        let path = data(name);
        let entry = |symbol: &str, id, qty| MappedInstrument {
            symbol: symbol.into(),
            id: InstrumentId::new(id),
            price_scale: Scale::new(2),
            qty_scale: Scale::new(qty),
        };
        let map = InstrumentMap::new(vec![entry("BTCUSDT", 0, 8), entry("ETHUSDT", 1, 8)]);
        let mut src = BinanceSource::open(&path, 1, map, BinanceOptions::default()).unwrap();
        let mut n = 0u64;
        while let Some(e) = src.next_event() {
            assert_eq!(e.header.instrument, InstrumentId::new(want));
            n += 1;
        }
        let s = src.stats();
        assert_eq!(
            s.skipped + s.unknown_instrument + s.gaps + s.out_of_order,
            0
        );
        assert_eq!(src.binance_stats().snapshots, 1);
        assert!(n > 100_000);
    }
}
