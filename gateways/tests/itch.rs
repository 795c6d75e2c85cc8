//! The ITCH 5.0 adapter against real data and the `itchy` reference decoder:
//!
//! 1. every message of the repository's sample (and generated messages of every type
//!    `itchy` knows) decoded by both decoders, compared field by field;
//! 2. L3 books built from [`ItchSource`] events of the sample, their invariants checked;
//! 3. corrupt files — truncated, garbage type byte, wrong length prefix, timestamps going
//!    back — counted and reported with file and offset, never a panic (and random bytes);
//! 4. a generated stream of more than a million messages decoded with bounded memory and
//!    no allocation in the steady state.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::book::l3::L3Book;
use tickrail_engine::book::{AnomalyCounts, BookView};
use tickrail_engine::{Event, EventKind, InstrumentId, Scale, Side};
use tickrail_gateways::feed::{FeedSource, FeedStats, InstrumentMap, MappedInstrument};
use tickrail_gateways::itch::{
    local_midnight_ns, message_len, message_name, trading_day_midnight_ns, FieldVisitor, Frame,
    Framer, ItchSource, Message, Price4, Price8, MESSAGE_TYPES,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static SAMPLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    tickrail_gateways::feed::sample_data_dir()
        .join("itch/ex20101224.TEST_ITCH_50.gz")
        .display()
        .to_string()
});

/// The sample, gunzipped in memory (zeroed length prefixes).
fn sample_bytes() -> Vec<u8> {
    let file = std::fs::File::open(&*SAMPLE).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the ITCH sample is committed in gateways/samples/itch; \
             TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
            *SAMPLE
        )
    });
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// The messages of a stream, in order, without their prefixes (asserting clean framing).
fn messages(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut f = Framer::new(bytes);
    let mut out = Vec::new();
    while let Some(frame) = f.next_frame().unwrap() {
        match frame {
            Frame::Message { offset, bytes } => out.push((offset, bytes.to_vec())),
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

/// The same messages with correct length prefixes (what `itchy` expects).
fn reframe(msgs: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, m) in msgs {
        out.extend((m.len() as u16).to_be_bytes());
        out.extend(m);
    }
    out
}

/// Which symbols the sample has, as an instrument map (ids from 1, price scale 4).
fn sample_map(price_scale: u8) -> InstrumentMap {
    InstrumentMap::new(
        ["ALC", "BOB", "CHAR"]
            .iter()
            .enumerate()
            .map(|(i, s)| MappedInstrument {
                symbol: (*s).into(),
                id: InstrumentId::new(i as u32 + 1),
                price_scale: Scale::new(price_scale),
                qty_scale: Scale::new(0),
            })
            .collect(),
    )
}

/// 2019-12-30 (the day the sample was taken from), midnight New York time (EST: 05:00 UTC).
fn sample_midnight() -> i64 {
    let midnight = trading_day_midnight_ns(2019, 12, 30).unwrap();
    assert_eq!(midnight, 1_577_682_000_000_000_000);
    midnight
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("tickrail-itch-{}-{name}", std::process::id()))
}

/// Writes `bytes` to a fresh temp file; removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> Self {
        let path = temp_path(name);
        std::fs::write(&path, bytes).unwrap();
        Self(path)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn name(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn drain<S: FeedSource>(src: &mut S) -> Vec<Event> {
    std::iter::from_fn(|| src.next_event()).collect()
}

// ---------------------------------------------------------------------------------------
// 1. Cross-check against itchy

/// A field value, as both decoders can express it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum V {
    C(u8),
    N(u64),
    S(Vec<u8>),
}

/// Our fields, in wire order, with their names.
#[derive(Default)]
struct Collect(Vec<(&'static str, V)>);

impl FieldVisitor for Collect {
    fn char(&mut self, name: &'static str, value: u8) {
        self.0.push((name, V::C(value)));
    }
    fn u16(&mut self, name: &'static str, value: u16) {
        self.0.push((name, V::N(value.into())));
    }
    fn u32(&mut self, name: &'static str, value: u32) {
        self.0.push((name, V::N(value.into())));
    }
    fn u64(&mut self, name: &'static str, value: u64) {
        self.0.push((name, V::N(value)));
    }
    fn price4(&mut self, name: &'static str, value: Price4) {
        self.0.push((name, V::N(value.raw().into())));
    }
    fn price8(&mut self, name: &'static str, value: Price8) {
        self.0.push((name, V::N(value.raw())));
    }
    fn alpha(&mut self, name: &'static str, value: &[u8]) {
        self.0.push((name, V::S(value.to_vec())));
    }
}

/// Our decoding of `bytes`: the fields `itchy` also exposes (not `H`'s reserved byte), the
/// ETP flag `M` read as `Y` as `itchy` does.
fn ours(bytes: &[u8]) -> (u8, Vec<(&'static str, V)>) {
    let msg = Message::parse(bytes).unwrap();
    let mut c = Collect::default();
    msg.visit(&mut c);
    let fields =
        c.0.into_iter()
            .filter(|(name, _)| *name != "reserved")
            .map(|(name, v)| match (name, v) {
                ("etp_flag", V::C(b'M')) => (name, V::C(b'Y')),
                other => other,
            })
            .collect();
    (msg.message_type(), fields)
}

fn yn(b: bool) -> V {
    V::C(if b { b'Y' } else { b'N' })
}

fn yn_opt(b: Option<bool>) -> V {
    V::C(match b {
        Some(true) => b'Y',
        Some(false) => b'N',
        None => b' ',
    })
}

fn s(a: &str) -> V {
    V::S(a.as_bytes().to_vec())
}

/// `itchy`'s decoding, every field in wire order, enumerations back to their wire codes.
fn theirs(m: &itchy::Message) -> (u8, Vec<V>) {
    use itchy::Body;
    let mut f = vec![
        V::N(m.stock_locate.into()),
        V::N(m.tracking_number.into()),
        V::N(m.timestamp),
    ];
    let n = |x: u64| V::N(x);
    let p4 = |p: itchy::Price4| V::N(p.raw().into());
    match &m.body {
        Body::SystemEvent { event } => f.push(V::C(wire_event_code(*event))),
        Body::StockDirectory(d) => f.extend([
            s(&d.stock),
            V::C(wire_market_category(d.market_category)),
            V::C(wire_financial_status(d.financial_status)),
            n(d.round_lot_size.into()),
            yn(d.round_lots_only),
            V::C(wire_issue_classification(d.issue_classification)),
            V::S(wire_issue_sub_type(d.issue_subtype).to_vec()),
            V::C(if d.authenticity { b'P' } else { b'T' }),
            yn_opt(d.short_sale_threshold),
            yn_opt(d.ipo_flag),
            V::C(wire_luld_ref_price_tier(d.luld_ref_price_tier)),
            yn_opt(d.etp_flag),
            n(d.etp_leverage_factor.into()),
            yn(d.inverse_indicator),
        ]),
        Body::TradingAction {
            stock,
            trading_state,
            reason,
        } => f.extend([
            s(stock),
            V::C(wire_trading_state(*trading_state)),
            s(reason),
        ]),
        Body::RegShoRestriction { stock, action } => {
            f.extend([s(stock), V::C(wire_reg_sho_action(*action))])
        }
        Body::ParticipantPosition(p) => f.extend([
            s(&p.mpid),
            s(&p.stock),
            yn(p.primary_market_maker),
            V::C(wire_market_maker_mode(p.market_maker_mode)),
            V::C(wire_market_participant_state(p.market_participant_state)),
        ]),
        Body::MwcbDeclineLevel {
            level1,
            level2,
            level3,
        } => f.extend([n(level1.raw()), n(level2.raw()), n(level3.raw())]),
        Body::Breach(l) => f.push(V::C(wire_level_breached(*l))),
        Body::IpoQuotingPeriod(k) => f.extend([
            s(&k.stock),
            n(k.release_time.into()),
            V::C(wire_ipo_release_qualifier(k.release_qualifier)),
            p4(k.price),
        ]),
        Body::LULDAuctionCollar {
            stock,
            ref_price,
            upper_price,
            lower_price,
            extension,
        } => f.extend([
            s(stock),
            p4(*ref_price),
            p4(*upper_price),
            p4(*lower_price),
            n((*extension).into()),
        ]),
        Body::AddOrder(a) => {
            f.extend([
                n(a.reference),
                V::C(wire_side(a.side)),
                n(a.shares.into()),
                s(&a.stock),
                p4(a.price),
            ]);
            if let Some(mpid) = &a.mpid {
                f.push(s(mpid));
            }
        }
        Body::OrderExecuted {
            reference,
            executed,
            match_number,
        } => f.extend([n(*reference), n((*executed).into()), n(*match_number)]),
        Body::OrderExecutedWithPrice {
            reference,
            executed,
            match_number,
            printable,
            price,
        } => f.extend([
            n(*reference),
            n((*executed).into()),
            n(*match_number),
            yn(*printable),
            p4(*price),
        ]),
        Body::OrderCancelled {
            reference,
            cancelled,
        } => f.extend([n(*reference), n((*cancelled).into())]),
        Body::DeleteOrder { reference } => f.push(n(*reference)),
        Body::ReplaceOrder(r) => f.extend([
            n(r.old_reference),
            n(r.new_reference),
            n(r.shares.into()),
            p4(r.price),
        ]),
        Body::NonCrossTrade(t) => f.extend([
            n(t.reference),
            V::C(wire_side(t.side)),
            n(t.shares.into()),
            s(&t.stock),
            p4(t.price),
            n(t.match_number),
        ]),
        Body::CrossTrade(c) => f.extend([
            n(c.shares),
            s(&c.stock),
            p4(c.cross_price),
            n(c.match_number),
            V::C(wire_cross_type(c.cross_type)),
        ]),
        Body::BrokenTrade { match_number } => f.push(n(*match_number)),
        Body::Imbalance(i) => f.extend([
            n(i.paired_shares),
            n(i.imbalance_shares),
            V::C(wire_imbalance_direction(i.imbalance_direction)),
            s(&i.stock),
            p4(i.far_price),
            p4(i.near_price),
            p4(i.current_ref_price),
            V::C(wire_cross_type(i.cross_type)),
            V::C(i.price_variation_indicator as u8),
        ]),
        Body::RetailPriceImprovementIndicator(r) => {
            f.extend([s(&r.stock), V::C(wire_interest_flag(r.interest_flag))])
        }
    }
    (m.tag, f)
}

/// Decodes `msgs` with both decoders and compares every field; the counts by type.
fn cross_check(msgs: &[(u64, Vec<u8>)]) -> HashMap<u8, u64> {
    let framed = reframe(msgs);
    let mut stream = itchy::MessageStream::from_reader(&framed[..]);
    let mut counts = HashMap::new();
    for (i, (offset, bytes)) in msgs.iter().enumerate() {
        let theirs_msg = stream
            .next()
            .unwrap_or_else(|| panic!("itchy ended at message {i}"))
            .unwrap_or_else(|e| panic!("itchy failed on message {i} (offset {offset}): {e}"));
        let (ty, fields) = ours(bytes);
        let (their_ty, their_fields) = theirs(&theirs_msg);
        assert_eq!(ty, their_ty, "message {i} at offset {offset}: type");
        let our_values: Vec<V> = fields.iter().map(|(_, v)| v.clone()).collect();
        if our_values != their_fields {
            let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
            panic!(
                "message {i} at offset {offset} ({}): fields differ\n names {names:?}\n ours \
                 {our_values:?}\n itchy {their_fields:?}",
                ty as char
            );
        }
        *counts.entry(ty).or_insert(0u64) += 1;
    }
    assert!(stream.next().is_none(), "itchy has more messages");
    counts
}

fn print_counts(what: &str, counts: &HashMap<u8, u64>) {
    let line: Vec<String> = MESSAGE_TYPES
        .iter()
        .filter_map(|t| counts.get(t).map(|n| format!("{}={n}", *t as char)))
        .collect();
    println!("{what}: {}", line.join(" "));
}

#[test]
fn sample_decodes_like_itchy() {
    let raw = sample_bytes();
    let msgs = messages(&raw);
    assert_eq!(msgs.len(), 12_012, "the README's message count");
    let mut framed_len = 0;
    for (_, m) in &msgs {
        framed_len += 2 + m.len();
        let msg = Message::parse(m).unwrap();
        if let Err(e) = msg.validate() {
            panic!("{msg}: {e}");
        }
    }
    assert_eq!(framed_len, raw.len(), "every byte framed");
    let counts = cross_check(&msgs);
    print_counts("sample messages by type", &counts);
    let expect = [
        (b'S', 6),
        (b'R', 3),
        (b'H', 3),
        (b'A', 4997),
        (b'F', 3),
        (b'E', 198),
        (b'X', 45),
        (b'D', 1745),
        (b'U', 12),
        (b'P', 5000),
    ];
    assert_eq!(counts.len(), expect.len());
    for (t, n) in expect {
        assert_eq!(counts.get(&t), Some(&n), "{}", t as char);
    }
    println!("first message: {}", Message::parse(&msgs[0].1).unwrap());
}

/// Fields a generated message must hold valid values in (for `itchy`, which refuses
/// unlisted codes): `(offset, allowed)`; an empty set means an alpha field of that many
/// bytes (given by `len`).
fn fixups(ty: u8) -> Vec<(usize, &'static [u8], usize)> {
    const A: &[u8] = b"";
    match ty {
        b'S' => vec![(11, b"OSQMEC", 1)],
        b'R' => vec![
            (11, A, 8),
            (19, b"QGSNAPZV ", 1),
            (20, b"DEQSGHJKCN ", 1),
            (25, b"YN", 1),
            (26, b"ABCFILNOPQRSTUVW", 1),
            (27, b"S", 2),
            (29, b"PT", 1),
            (30, b"YN ", 1),
            (31, b"YN ", 1),
            (32, b"12 ", 1),
            (33, b"YNM ", 1),
            (38, b"YN", 1),
        ],
        b'H' => vec![(11, A, 8), (19, b"HPQT", 1), (21, A, 4)],
        b'Y' => vec![(11, A, 8), (19, b"012", 1)],
        b'L' => vec![
            (11, A, 4),
            (15, A, 8),
            (23, b"YN", 1),
            (24, b"NPSRL", 1),
            (25, b"AEWSD", 1),
        ],
        b'W' => vec![(11, b"123", 1)],
        b'K' => vec![(11, A, 8), (23, b"AC", 1)],
        b'J' => vec![(11, A, 8)],
        b'A' | b'P' => vec![(19, b"BS", 1), (24, A, 8)],
        b'F' => vec![(19, b"BS", 1), (24, A, 8), (36, A, 4)],
        b'C' => vec![(31, b"YN", 1)],
        b'Q' => vec![(19, A, 8), (39, b"OCHIA", 1)],
        b'I' => vec![
            (27, b"BSNO", 1),
            (28, A, 8),
            (48, b"OCHA", 1),
            (49, b"L123456789ABC ", 1),
        ],
        b'N' => vec![(11, A, 8), (19, b"BSAN", 1)],
        _ => vec![],
    }
}

/// A random but valid message of type `ty`.
fn random_message(rng: &mut ChaCha8Rng, ty: u8) -> Vec<u8> {
    let len = message_len(ty).unwrap();
    let mut m: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
    m[0] = ty;
    // Timestamps are 6 bytes: any value is fine.
    for (off, set, n) in fixups(ty) {
        if set == b"S" {
            // An issue sub-type: a few of the spec's codes.
            let codes: [&[u8; 2]; 5] = [b"A ", b"CB", b"Z ", b"LL", b"WC"];
            m[off..off + 2].copy_from_slice(codes[rng.gen_range(0..codes.len())]);
        } else if set.is_empty() {
            let used = rng.gen_range(1..=n);
            for (i, b) in m[off..off + n].iter_mut().enumerate() {
                *b = if i < used {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123456789"[rng.gen_range(0..37)]
                } else {
                    b' '
                };
            }
        } else {
            m[off] = set[rng.gen_range(0..set.len())];
        }
    }
    m
}

#[test]
fn generated_messages_of_every_type_decode_like_itchy() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    // `itchy` 0.3.4 knows neither `h` (Operational Halt) nor `O` (DLCR).
    let types: Vec<u8> = MESSAGE_TYPES
        .iter()
        .copied()
        .filter(|t| !matches!(t, b'h' | b'O'))
        .collect();
    assert_eq!(types.len(), 21);
    let msgs: Vec<(u64, Vec<u8>)> = (0..20_000)
        .map(|i| {
            let ty = types[i % types.len()];
            let m = random_message(&mut rng, ty);
            Message::parse(&m).unwrap().validate().unwrap();
            (i as u64, m)
        })
        .collect();
    let counts = cross_check(&msgs);
    assert_eq!(counts.len(), 21);
    print_counts("generated messages compared with itchy", &counts);
}

// ---------------------------------------------------------------------------------------
// 2. L3 books from the sample

fn print_stats(what: &str, s: &FeedStats) {
    println!(
        "{what}: records {} events {} ignored {} skipped {} unknown_instrument {} out_of_order \
         {} gaps {} bytes {} fatal {:?}",
        s.records,
        s.events,
        s.ignored,
        s.skipped,
        s.unknown_instrument,
        s.out_of_order,
        s.gaps,
        s.bytes,
        s.fatal
    );
}

#[test]
fn sample_builds_consistent_l3_books() {
    let mut src = ItchSource::open(&*SAMPLE, 7, sample_map(4), sample_midnight()).unwrap();
    let mut books: Vec<L3Book> = (0..3).map(|_| L3Book::with_capacity(8192, 1024)).collect();
    let mut kinds: HashMap<EventKind, u64> = HashMap::new();
    let mut crossed_events = 0u64;
    let mut last_seq = 0;
    let mut last_ts = i64::MIN;
    while let Some(e) = src.next_event() {
        assert_eq!(e.header.sequence, last_seq + 1);
        last_seq = e.header.sequence;
        assert!(e.header.exchange_ts_ns >= last_ts);
        last_ts = e.header.exchange_ts_ns;
        assert_eq!(e.header.source, 7);
        assert_eq!(e.validate(), Ok(()));
        *kinds.entry(e.kind()).or_insert(0) += 1;
        let book = &mut books[e.header.instrument.get() as usize - 1];
        book.apply_event(&e);
        if book.is_crossed() {
            crossed_events += 1;
        }
        if let Err(why) = book.check_invariants() {
            // Crossing is the only invariant a book may break by following its feed.
            assert_eq!(why, "crossed", "event {e}");
        }
    }
    let stats = src.stats().clone();
    println!("{src:?}");
    println!("sample messages by type: {}", src.message_counts());
    print_stats("sample, ALC/BOB/CHAR mapped at price scale 4", &stats);
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!("events by kind: {kinds:?}");
    let mut total = AnomalyCounts::new();
    for (i, b) in books.iter().enumerate() {
        let a = b.anomalies();
        println!(
            "book {}: {} orders, {} bid / {} ask levels, best bid {:?} ask {:?}, anomalies \
             {a:?}",
            i + 1,
            b.orders(),
            b.level_count(Side::Buy),
            b.level_count(Side::Sell),
            b.best_bid(),
            b.best_ask()
        );
        total.crossed += a.crossed;
        total.unknown_order += a.unknown_order;
        total.duplicate_order += a.duplicate_order;
        total.over_execution += a.over_execution;
        total.invalid_value += a.invalid_value;
        total.capacity_full += a.capacity_full;
    }
    println!(
        "events leaving a book crossed: {crossed_events}; skipped: {} (orders never added: \
         {}); first reports:",
        stats.skipped,
        src.unknown_orders()
    );
    for r in stats.reports.iter().take(5) {
        println!("  {r}");
    }

    assert_eq!(stats.records, 12_012);
    assert_eq!(stats.bytes, 465_048);
    assert_eq!(src.message_counts().total(), 12_012);
    assert!(stats.fatal.is_none());
    assert_eq!(
        (stats.out_of_order, stats.gaps, stats.unknown_instrument),
        (0, 0, 0)
    );
    // The sample is a sample of a day: 117 order messages name orders added before it
    // starts or not sampled (94 D, 18 E, 3 X, 2 U) — each a reported skip, nothing else.
    assert_eq!(src.unknown_orders(), 117);
    assert_eq!(stats.skipped, 117);
    assert!(stats
        .reports
        .iter()
        .all(|r| r.file == *SAMPLE && r.reason.contains("was never added")));
    // S, R and the rest: every record ends up somewhere.
    assert_eq!(
        stats.records,
        stats.events + stats.ignored + stats.skipped + stats.unknown_instrument
    );
    assert_eq!(stats.ignored, 6 + 3);
    // The book sees only orders it holds: no unknown orders, duplicates, over-executions.
    assert_eq!(total.unknown_order, 0);
    assert_eq!(total.duplicate_order, 0);
    assert_eq!(total.over_execution, 0);
    assert_eq!(total.invalid_value + total.capacity_full, 0);
    assert_eq!(
        books.iter().map(L3Book::orders).sum::<usize>(),
        src.live_orders()
    );
    // Crossing: the sample kept 5,000 adds but only 2,000 of the messages that remove
    // orders, so stale orders rest while prices drift through the day (ALC from 20.03 to
    // 27.38) and the books cross — in a plain reconstruction straight from the bytes too,
    // which our books match exactly at the end.
    println!("crossed anomalies: {}", total.crossed);
    let plain = plain_reconstruction(&sample_bytes());
    for (i, b) in books.iter().enumerate() {
        let locate = i as u16 + 1;
        let (orders, bid, ask) = plain[&locate];
        assert_eq!(b.orders(), orders, "book {locate}");
        assert_eq!(b.best_bid().map(|l| l.px), bid, "book {locate}");
        assert_eq!(b.best_ask().map(|l| l.px), ask, "book {locate}");
        assert!(bid >= ask, "book {locate}: the data leaves it crossed");
    }
    assert!(total.crossed > 0);
}

/// Live orders, best bid and best ask per stock locate after the whole stream, rebuilt
/// directly from the bytes (offsets from the spec, no decoder) — skipping order messages
/// for orders never added, as the adapter does.
fn plain_reconstruction(raw: &[u8]) -> HashMap<u16, (usize, Option<i64>, Option<i64>)> {
    let be = |b: &[u8]| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
    // order → (locate, buy, shares, price)
    let mut live: HashMap<u64, (u16, bool, u64, i64)> = HashMap::new();
    let mut at = 0;
    while at < raw.len() {
        let m = &raw[at + 2..];
        let ty = m[0];
        let locate = be(&m[1..3]) as u16;
        match ty {
            b'A' | b'F' => {
                live.insert(
                    be(&m[11..19]),
                    (locate, m[19] == b'B', be(&m[20..24]), be(&m[32..36]) as i64),
                );
            }
            b'E' | b'C' | b'X' => {
                let r = be(&m[11..19]);
                if let Some(o) = live.get_mut(&r) {
                    o.2 = o.2.saturating_sub(be(&m[19..23]));
                    if o.2 == 0 {
                        live.remove(&r);
                    }
                }
            }
            b'D' => {
                live.remove(&be(&m[11..19]));
            }
            b'U' => {
                if let Some(mut o) = live.remove(&be(&m[11..19])) {
                    o.2 = be(&m[27..31]);
                    o.3 = be(&m[31..35]) as i64;
                    live.insert(be(&m[19..27]), o);
                }
            }
            _ => {}
        }
        at += 2 + message_len(ty).unwrap();
    }
    let mut out: HashMap<u16, (usize, Option<i64>, Option<i64>)> = HashMap::new();
    for &(locate, buy, _, px) in live.values() {
        let e = out.entry(locate).or_insert((0, None, None));
        e.0 += 1;
        if buy {
            e.1 = e.1.max(Some(px));
        } else {
            e.2 = Some(e.2.map_or(px, |a| a.min(px)));
        }
    }
    out
}

#[test]
fn sample_at_cent_scale_skips_sub_penny_prices() {
    // The sample's prices have 4 significant decimals (3,593 of its adds are sub-penny):
    // at a price scale of 2 those are counted skips, never rounded.
    let raw = sample_bytes();
    let sub_penny_adds = messages(&raw)
        .iter()
        .filter(|(_, m)| {
            matches!(m[0], b'A' | b'F')
                && u32::from_be_bytes([m[32], m[33], m[34], m[35]]) % 100 != 0
        })
        .count() as u64;
    assert_eq!(sub_penny_adds, 3_593);
    let mut src = ItchSource::open(&*SAMPLE, 7, sample_map(2), sample_midnight()).unwrap();
    let events = drain(&mut src);
    let s = src.stats();
    print_stats("sample at price scale 2", s);
    println!(
        "sub-penny adds: {sub_penny_adds}; orders never added: {}",
        src.unknown_orders()
    );
    assert_eq!(s.records, 12_012);
    assert!(events.iter().all(|e| e.header.price_scale == 2));
    // Every skip is a price that does not fit (adds, trades, the 12 replaces at most) or an
    // order message for an order whose add was skipped (or never in the sample).
    assert!(s.skipped >= sub_penny_adds + 117);
    let other_price_skips = s.skipped - src.unknown_orders() - sub_penny_adds;
    let trade_skips = 5_000 - trades(&events);
    assert!(
        (trade_skips..=trade_skips + 12).contains(&other_price_skips),
        "{other_price_skips} vs {trade_skips}"
    );
    assert!(s
        .reports
        .iter()
        .all(|r| r.reason.contains("does not fit") || r.reason.contains("was never added")));
}

fn trades(events: &[Event]) -> u64 {
    events
        .iter()
        .filter(|e| e.kind() == EventKind::Trade)
        .count() as u64
}

/// The sample's event times, each as ns after UTC midnight of `date`, decoded as if it were
/// from that trading day.
fn times_after_utc_midnight(date: (i32, u32, u32)) -> Vec<i64> {
    let (y, m, d) = date;
    let mut src = ItchSource::open(
        &*SAMPLE,
        7,
        sample_map(4),
        trading_day_midnight_ns(y, m, d).unwrap(),
    )
    .unwrap();
    let utc_midnight = local_midnight_ns(y, m, d, 0).unwrap();
    drain(&mut src)
        .iter()
        .map(|e| e.header.exchange_ts_ns - utc_midnight)
        .collect()
}

/// The same file stamped with a summer date (EDT, UTC-4) has every event one hour earlier
/// in UTC, relative to its day, than with a winter date (EST, UTC-5); on both DST switch
/// days midnight still has the previous day's offset.
#[test]
fn the_trading_date_s_daylight_saving_time_is_applied() {
    let hour = 3_600_000_000_000;
    let winter = times_after_utc_midnight((2019, 12, 30));
    assert_eq!(winter.len(), 11_886);
    // The first event of the winter day: its ITCH time after 05:00 UTC.
    assert!(winter[0] >= 5 * hour, "{}", winter[0]);
    for (date, offset) in [
        ((2019, 7, 30), -hour),
        ((2019, 3, 10), 0),
        ((2019, 3, 11), -hour),
        ((2019, 11, 3), -hour),
        ((2019, 11, 4), 0),
    ] {
        let times = times_after_utc_midnight(date);
        assert_eq!(times.len(), winter.len(), "{date:?}");
        for (t, w) in times.iter().zip(&winter) {
            assert_eq!(t - w, offset, "{date:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// 3. Corrupt data

/// Decodes `path` with no instrument mapped: every skip is then a framing or timing one
/// (with the sample's instruments mapped, its 117 unknown-order reports would fill the
/// first [`MAX_REPORTS`](tickrail_gateways::feed::MAX_REPORTS)).
fn decode_file(path: &Path) -> (Vec<Event>, FeedStats) {
    decode_file_with(path, InstrumentMap::new(Vec::new()))
}

fn decode_file_with(path: &Path, map: InstrumentMap) -> (Vec<Event>, FeedStats) {
    let mut src = ItchSource::open(path, 1, map, sample_midnight()).unwrap();
    let events = drain(&mut src);
    (events, src.stats().clone())
}

#[test]
fn truncated_file_reports_the_last_message() {
    let raw = sample_bytes();
    let msgs = messages(&raw);
    let (last_offset, last) = msgs.last().unwrap();
    let cut = raw.len() - 10;
    let f = TempFile::new("truncated.itch", &raw[..cut]);
    let (_, s) = decode_file(f.path());
    assert_eq!(s.records, 12_012);
    assert_eq!(s.skipped, 1);
    assert_eq!(s.bytes, cut as u64);
    let r = s
        .reports
        .iter()
        .find(|r| r.reason.contains("truncated"))
        .unwrap();
    assert_eq!(
        (r.file.as_str(), r.offset),
        (f.name().as_str(), *last_offset)
    );
    assert_eq!(
        r.reason,
        format!(
            "truncated message at the end of the stream: {} of {} bytes",
            2 + last.len() - 10,
            2 + last.len()
        )
    );
    println!("truncated: {r}");
    // A .gz cut short is a read error (the decompressor's), reported as fatal.
    let gz = std::fs::read(&*SAMPLE).unwrap();
    let g = TempFile::new("truncated.itch.gz", &gz[..gz.len() / 2]);
    let (events, s) = decode_file_with(g.path(), sample_map(4));
    println!(
        "truncated gzip: {} events, fatal {:?}",
        events.len(),
        s.fatal
    );
    assert!(!events.is_empty());
    assert!(s.fatal.as_deref().is_some_and(|f| f.starts_with(&g.name())));
}

#[test]
fn garbage_type_byte_is_skipped_with_prefixes_and_stops_without() {
    let raw = sample_bytes();
    let msgs = messages(&raw);
    let (off100, _) = msgs[100];

    // Real prefixes: the frame is skipped by its length, decoding goes on.
    let mut framed = reframe(&msgs);
    let at = framed_offset(&msgs, 100);
    framed[at + 2] = b'Z';
    let f = TempFile::new("garbage-prefixed.itch", &framed);
    let (_, s) = decode_file(f.path());
    assert_eq!(s.records, 12_012);
    assert_eq!(s.skipped, 1);
    let r = s
        .reports
        .iter()
        .find(|r| r.reason.contains("unknown message type"))
        .unwrap();
    assert_eq!((r.file.as_str(), r.offset), (f.name().as_str(), at as u64));
    assert!(
        r.reason
            .starts_with("unknown message type 'Z' (length prefix "),
        "{r}"
    );
    println!("garbage type, prefixed: {r}");

    // Zero prefixes: the frame's end is unknown, the stream stops there.
    let mut zeroed = raw.clone();
    zeroed[off100 as usize + 2] = b'Z';
    let f = TempFile::new("garbage-zero.itch", &zeroed);
    let (_, s) = decode_file(f.path());
    assert_eq!(s.records, 101);
    let r = s
        .reports
        .iter()
        .find(|r| r.reason.contains("unknown message type"))
        .unwrap();
    assert_eq!((r.file.as_str(), r.offset), (f.name().as_str(), off100));
    let fatal = s.fatal.clone().unwrap();
    assert!(fatal.contains("cannot find the next message"), "{fatal}");
    println!("garbage type, zero prefixes: {r}");
}

/// Offset of message `i` in the re-framed stream (same as in the zero-prefixed one).
fn framed_offset(msgs: &[(u64, Vec<u8>)], i: usize) -> usize {
    msgs[..i].iter().map(|(_, m)| 2 + m.len()).sum()
}

#[test]
fn wrong_length_prefix_is_skipped_and_resynced() {
    let raw = sample_bytes();
    let msgs = messages(&raw);
    // Message 200 (a trade) cut to 22 bytes, its prefix saying so: not a trade's 44.
    let mut framed = reframe(&msgs[..200]);
    let at = framed.len();
    let mut bad = msgs[200].1.clone();
    bad.resize(22, 0);
    framed.extend(22u16.to_be_bytes());
    framed.extend(&bad);
    framed.extend(reframe(&msgs[200..]));
    let f = TempFile::new("wrong-prefix.itch", &framed);
    let (_, s) = decode_file_with(f.path(), sample_map(4));
    let (_, whole) = decode_file_with(Path::new(&*SAMPLE), sample_map(4));
    assert_eq!(s.records, 12_013);
    assert_eq!(s.skipped, whole.skipped + 1);
    assert_eq!(s.events, whole.events);
    let r = s
        .reports
        .iter()
        .find(|r| r.reason.contains("length prefix"))
        .unwrap();
    assert_eq!((r.file.as_str(), r.offset), (f.name().as_str(), at as u64));
    println!("wrong prefix: {r}");

    // A wrong prefix inside a zero-prefixed stream throws framing off: whatever follows
    // is counted and reported, never a panic.
    let mut zeroed = raw.clone();
    let off = msgs[300].0 as usize;
    zeroed[off + 1] = 5;
    let f = TempFile::new("wrong-prefix-zero.itch", &zeroed);
    let (_, s) = decode_file(f.path());
    assert!(s.reports[..].iter().any(|r| r.offset == off as u64));
    print_stats("a wrong prefix in the zero-prefixed sample", &s);
}

#[test]
fn timestamps_going_back_are_counted() {
    let raw = sample_bytes();
    let msgs = messages(&raw);
    let ts = |m: &[u8]| u64::from_be_bytes([0, 0, m[5], m[6], m[7], m[8], m[9], m[10]]);
    // Two consecutive messages with increasing times, the next one not earlier than both.
    let i = (1000..msgs.len() - 2)
        .find(|&i| {
            let (a, b, c) = (ts(&msgs[i].1), ts(&msgs[i + 1].1), ts(&msgs[i + 2].1));
            a < b && b <= c
        })
        .unwrap();
    let mut bytes = raw.clone();
    let (oa, ob) = (msgs[i].0 as usize + 2, msgs[i + 1].0 as usize + 2);
    let (ta, tb) = (ts(&msgs[i].1), ts(&msgs[i + 1].1));
    bytes[oa + 5..oa + 11].copy_from_slice(&tb.to_be_bytes()[2..]);
    bytes[ob + 5..ob + 11].copy_from_slice(&ta.to_be_bytes()[2..]);
    let f = TempFile::new("swapped.itch", &bytes);
    let (_, s) = decode_file(f.path());
    assert_eq!(s.out_of_order, 1);
    let r = s
        .reports
        .iter()
        .find(|r| r.reason.contains("before the previous"))
        .unwrap();
    assert_eq!(
        (r.file.as_str(), r.offset),
        (f.name().as_str(), msgs[i + 1].0)
    );
    println!("out of order: {r}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // No regression files from an integration test.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random bytes never panic, and every record is accounted for.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096), cap in 1usize..64) {
        let reader = std::io::BufReader::with_capacity(cap, &bytes[..]);
        let mut src = ItchSource::from_reader(reader, "random", 1, sample_map(4), 0);
        let events = drain(&mut src);
        let s = src.stats();
        prop_assert_eq!(s.events, events.len() as u64);
        prop_assert!(s.records <= bytes.len() as u64);
        prop_assert!(s.bytes <= bytes.len() as u64);
    }

    /// The sample with random bytes overwritten never panics.
    #[test]
    fn mutated_sample_never_panics(
        edits in proptest::collection::vec((0usize..20_000, any::<u8>()), 1..20),
        cut in 1usize..20_000,
    ) {
        let raw = sample_prefix();
        let mut bytes = raw[..cut.min(raw.len())].to_vec();
        for (at, b) in edits {
            if at < bytes.len() {
                bytes[at] = b;
            }
        }
        let mut src = ItchSource::from_reader(&bytes[..], "mutated", 1, sample_map(4), 0);
        let events = drain(&mut src);
        let s = src.stats();
        prop_assert_eq!(s.events, events.len() as u64);
        // A record yields one event at most, or is ignored, unmapped or out of order (a
        // replace that cannot be converted both skips and deletes the old order).
        prop_assert!(s.events + s.ignored + s.unknown_instrument + s.out_of_order <= s.records);
        prop_assert!(s.skipped <= s.records);
        for e in events {
            prop_assert_eq!(e.validate(), Ok(()));
        }
    }
}

/// The first 20 kB of the sample, read once.
fn sample_prefix() -> &'static [u8] {
    static PREFIX: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let mut raw = sample_bytes();
        raw.truncate(20_000);
        raw
    })
}

// ---------------------------------------------------------------------------------------
// 4. Bounded memory on a long stream

struct Gen {
    out: Vec<u8>,
    ts: u64,
    messages: u64,
    mapped: u64,
}

impl Gen {
    fn msg(&mut self, ty: u8, locate: u16, body: &[u8]) {
        self.ts += 1_000;
        self.out.extend([0, 0, ty]);
        self.out.extend(locate.to_be_bytes());
        self.out.extend(0u16.to_be_bytes());
        self.out.extend(&self.ts.to_be_bytes()[2..]);
        self.out.extend(body);
        assert_eq!(body.len() + 11, message_len(ty).unwrap());
        self.messages += 1;
        if locate == 1 {
            self.mapped += 1;
        }
    }
}

fn body(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn a_million_messages_with_bounded_memory() {
    const ORDERS: u64 = 420_000;
    const WINDOW: u64 = 1_000;
    let path = temp_path("long.itch.gz");
    let mut gen = Gen {
        out: Vec::with_capacity(1 << 16),
        ts: 0,
        messages: 0,
        mapped: 0,
    };
    let file = std::fs::File::create(&path).unwrap();
    let mut gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let stock = |locate: u16| {
        if locate == 1 {
            *b"AAA     "
        } else {
            *b"ZZZ     "
        }
    };
    for (locate, name) in [(1u16, b"AAA     "), (2, b"ZZZ     ")] {
        let mut b = name.to_vec();
        b.extend(b"QN");
        b.extend(100u32.to_be_bytes());
        b.extend(b"NCZ PNN2N");
        b.extend(0u32.to_be_bytes());
        b.push(b'N');
        gen.msg(b'R', locate, &b);
    }
    gen.mapped -= 1; // the R of AAA yields no event
                     // Buys at 9.00 to 9.49, sells at 10.00 to 10.49: the book never crosses.
    let side_of = |i: u64| if i.is_multiple_of(3) { b'B' } else { b'S' };
    let px_of = |i: u64| {
        let px = (100_000 + (i % 50) * 100) as u32;
        if side_of(i) == b'B' {
            px - 10_000
        } else {
            px
        }
    };
    for i in 0..ORDERS {
        let r = i + 1;
        let locate = 1 + (i % 2) as u16;
        let (side, px) = (side_of(i), px_of(i));
        let add = body(&[
            &r.to_be_bytes(),
            &[side],
            &100u32.to_be_bytes(),
            &stock(locate),
            &px.to_be_bytes(),
        ]);
        if i.is_multiple_of(5) {
            gen.msg(b'F', locate, &[&add[..], b"MPID"].concat());
        } else {
            gen.msg(b'A', locate, &add);
        }
        if i >= WINDOW {
            let j = i - WINDOW;
            let (rj, lj) = (j + 1, 1 + (j % 2) as u16);
            match j % 4 {
                0 => gen.msg(b'D', lj, &rj.to_be_bytes()),
                1 => {
                    gen.msg(
                        b'E',
                        lj,
                        &body(&[&rj.to_be_bytes(), &10u32.to_be_bytes(), &j.to_be_bytes()]),
                    );
                    gen.msg(b'X', lj, &body(&[&rj.to_be_bytes(), &90u32.to_be_bytes()]));
                }
                2 => {
                    let new = ORDERS + rj;
                    gen.msg(
                        b'U',
                        lj,
                        &body(&[
                            &rj.to_be_bytes(),
                            &new.to_be_bytes(),
                            &50u32.to_be_bytes(),
                            &px_of(j).to_be_bytes(),
                        ]),
                    );
                    gen.msg(b'D', lj, &new.to_be_bytes());
                }
                _ => gen.msg(
                    b'C',
                    lj,
                    &body(&[
                        &rj.to_be_bytes(),
                        &100u32.to_be_bytes(),
                        &j.to_be_bytes(),
                        b"Y",
                        &px.to_be_bytes(),
                    ]),
                ),
            }
        }
        if i.is_multiple_of(10) {
            gen.msg(
                b'P',
                locate,
                &body(&[
                    &0u64.to_be_bytes(),
                    b"B",
                    &5u32.to_be_bytes(),
                    &stock(locate),
                    &px.to_be_bytes(),
                    &i.to_be_bytes(),
                ]),
            );
        }
        if gen.out.len() > 1 << 16 {
            gz.write_all(&gen.out).unwrap();
            gen.out.clear();
        }
    }
    gz.write_all(&gen.out).unwrap();
    gz.finish().unwrap().flush().unwrap();
    let file_len = std::fs::metadata(&path).unwrap().len();
    assert!(gen.messages > 1_000_000, "{} messages", gen.messages);

    let map = InstrumentMap::new(vec![MappedInstrument {
        symbol: "AAA".into(),
        id: InstrumentId::new(1),
        price_scale: Scale::new(4),
        qty_scale: Scale::new(0),
    }]);
    let mut src = ItchSource::open(&path, 1, map, 0).unwrap();
    let mut book = L3Book::with_capacity(4 * WINDOW as usize, 256);
    let mut events = 0u64;
    // Warm up: the order index reaches its working size.
    for _ in 0..100_000 {
        let e = src.next_event().unwrap();
        book.apply_event(&e);
        events += 1;
    }
    let (allocs, ()) = allocations_in(|| {
        while let Some(e) = src.next_event() {
            book.apply_event(&e);
            events += 1;
        }
    });
    let s = src.stats().clone();
    let _ = std::fs::remove_file(&path);
    print_stats("generated stream", &s);
    println!(
        "generated: {} messages ({} gz bytes), peak live orders {}, order index capacity {}, \
         locate table {}, allocations after warm-up {allocs}",
        gen.messages,
        file_len,
        src.peak_live_orders(),
        src.order_index_capacity(),
        src.locate_table_len()
    );
    assert_eq!(s.records, gen.messages);
    assert_eq!(s.events, events);
    assert_eq!(events, gen.mapped);
    assert_eq!(s.unknown_instrument, gen.messages - gen.mapped - 2);
    assert_eq!((s.skipped, s.out_of_order, s.ignored), (0, 0, 2));
    assert!(s.fatal.is_none());
    // Live orders of AAA only: half the window (and one replaced order at a time).
    assert!(
        src.peak_live_orders() <= WINDOW as usize / 2 + 2,
        "{}",
        src.peak_live_orders()
    );
    assert!(src.order_index_capacity() <= 4 * WINDOW as usize);
    assert_eq!(src.locate_table_len(), 3);
    assert_eq!(allocs, 0, "no allocation per message in the steady state");
    assert_eq!(book.anomalies().total(), 0, "{:?}", book.anomalies());
    book.check_invariants().unwrap();
    assert_eq!(book.orders(), src.live_orders());
    // Every message type the generator wrote was read.
    for t in [b'R', b'A', b'F', b'E', b'C', b'X', b'D', b'U', b'P'] {
        assert!(
            src.message_counts().get(t) > 0,
            "{}",
            message_name(t).unwrap()
        );
    }
}

// ---------------------------------------------------------------------------------------
// itchy's enumerations back to their wire codes (generated from itchy 0.3.4's parsers).

fn wire_cross_type(v: itchy::CrossType) -> u8 {
    match v {
        itchy::CrossType::Opening => b'O',
        itchy::CrossType::Closing => b'C',
        itchy::CrossType::IpoOrHalted => b'H',
        itchy::CrossType::ExtendedTradingClose => b'A',
        itchy::CrossType::Intraday => b'I',
    }
}

fn wire_event_code(v: itchy::EventCode) -> u8 {
    match v {
        itchy::EventCode::StartOfMessages => b'O',
        itchy::EventCode::StartOfSystemHours => b'S',
        itchy::EventCode::StartOfMarketHours => b'Q',
        itchy::EventCode::EndOfMarketHours => b'M',
        itchy::EventCode::EndOfSystemHours => b'E',
        itchy::EventCode::EndOfMessages => b'C',
    }
}

fn wire_financial_status(v: itchy::FinancialStatus) -> u8 {
    match v {
        itchy::FinancialStatus::Normal => b'N',
        itchy::FinancialStatus::Deficient => b'D',
        itchy::FinancialStatus::Delinquent => b'E',
        itchy::FinancialStatus::Bankrupt => b'Q',
        itchy::FinancialStatus::Suspended => b'S',
        itchy::FinancialStatus::DeficientBankrupt => b'G',
        itchy::FinancialStatus::DeficientDelinquent => b'H',
        itchy::FinancialStatus::DelinquentBankrupt => b'J',
        itchy::FinancialStatus::DeficientDelinquentBankrupt => b'K',
        itchy::FinancialStatus::EtpSuspended => b'C',
        itchy::FinancialStatus::Unavailable => b' ',
    }
}

fn wire_imbalance_direction(v: itchy::ImbalanceDirection) -> u8 {
    match v {
        itchy::ImbalanceDirection::Buy => b'B',
        itchy::ImbalanceDirection::Sell => b'S',
        itchy::ImbalanceDirection::NoImbalance => b'N',
        itchy::ImbalanceDirection::InsufficientOrders => b'O',
    }
}

fn wire_interest_flag(v: itchy::InterestFlag) -> u8 {
    match v {
        itchy::InterestFlag::RPIAvailableBuySide => b'B',
        itchy::InterestFlag::RPIAvailableSellSide => b'S',
        itchy::InterestFlag::RPIAvailableBothSides => b'A',
        itchy::InterestFlag::RPINoneAvailable => b'N',
    }
}

fn wire_ipo_release_qualifier(v: itchy::IpoReleaseQualifier) -> u8 {
    match v {
        itchy::IpoReleaseQualifier::Anticipated => b'A',
        itchy::IpoReleaseQualifier::Cancelled => b'C',
    }
}

fn wire_issue_classification(v: itchy::IssueClassification) -> u8 {
    match v {
        itchy::IssueClassification::AmericanDepositaryShare => b'A',
        itchy::IssueClassification::Bond => b'B',
        itchy::IssueClassification::CommonStock => b'C',
        itchy::IssueClassification::DepositoryReceipt => b'F',
        itchy::IssueClassification::A144 => b'I',
        itchy::IssueClassification::LimitedPartnership => b'L',
        itchy::IssueClassification::Notes => b'N',
        itchy::IssueClassification::OrdinaryShare => b'O',
        itchy::IssueClassification::PreferredStock => b'P',
        itchy::IssueClassification::OtherSecurities => b'Q',
        itchy::IssueClassification::Right => b'R',
        itchy::IssueClassification::SharesOfBeneficialInterest => b'S',
        itchy::IssueClassification::ConvertibleDebenture => b'T',
        itchy::IssueClassification::Unit => b'U',
        itchy::IssueClassification::UnitsPerBenifInt => b'V',
        itchy::IssueClassification::Warrant => b'W',
    }
}

fn wire_level_breached(v: itchy::LevelBreached) -> u8 {
    match v {
        itchy::LevelBreached::L1 => b'1',
        itchy::LevelBreached::L2 => b'2',
        itchy::LevelBreached::L3 => b'3',
    }
}

fn wire_luld_ref_price_tier(v: itchy::LuldRefPriceTier) -> u8 {
    match v {
        itchy::LuldRefPriceTier::Na => b' ',
        itchy::LuldRefPriceTier::Tier1 => b'1',
        itchy::LuldRefPriceTier::Tier2 => b'2',
    }
}

fn wire_market_category(v: itchy::MarketCategory) -> u8 {
    match v {
        itchy::MarketCategory::NasdaqGlobalSelect => b'Q',
        itchy::MarketCategory::NasdaqGlobalMarket => b'G',
        itchy::MarketCategory::NasdaqCapitalMarket => b'S',
        itchy::MarketCategory::Nyse => b'N',
        itchy::MarketCategory::NyseMkt => b'A',
        itchy::MarketCategory::NyseArca => b'P',
        itchy::MarketCategory::BatsZExchange => b'Z',
        itchy::MarketCategory::InvestorsExchange => b'V',
        itchy::MarketCategory::Unavailable => b' ',
    }
}

fn wire_market_maker_mode(v: itchy::MarketMakerMode) -> u8 {
    match v {
        itchy::MarketMakerMode::Normal => b'N',
        itchy::MarketMakerMode::Passive => b'P',
        itchy::MarketMakerMode::Syndicate => b'S',
        itchy::MarketMakerMode::Presyndicate => b'R',
        itchy::MarketMakerMode::Penalty => b'L',
    }
}

fn wire_market_participant_state(v: itchy::MarketParticipantState) -> u8 {
    match v {
        itchy::MarketParticipantState::Active => b'A',
        itchy::MarketParticipantState::Excused => b'E',
        itchy::MarketParticipantState::Withdrawn => b'W',
        itchy::MarketParticipantState::Suspended => b'S',
        itchy::MarketParticipantState::Deleted => b'D',
    }
}

fn wire_reg_sho_action(v: itchy::RegShoAction) -> u8 {
    match v {
        itchy::RegShoAction::None => b'0',
        itchy::RegShoAction::Intraday => b'1',
        itchy::RegShoAction::Extant => b'2',
    }
}

fn wire_side(v: itchy::Side) -> u8 {
    match v {
        itchy::Side::Buy => b'B',
        itchy::Side::Sell => b'S',
    }
}

fn wire_trading_state(v: itchy::TradingState) -> u8 {
    match v {
        itchy::TradingState::Halted => b'H',
        itchy::TradingState::Paused => b'P',
        itchy::TradingState::QuotationOnly => b'Q',
        itchy::TradingState::Trading => b'T',
    }
}

fn wire_issue_sub_type(v: itchy::IssueSubType) -> [u8; 2] {
    match v {
        itchy::IssueSubType::PreferredTrustSecurities => *b"A ",
        itchy::IssueSubType::AlphaIndexETNs => *b"AI",
        itchy::IssueSubType::IndexBasedDerivative => *b"B ",
        itchy::IssueSubType::CommonShares => *b"C ",
        itchy::IssueSubType::CommodityBasedTrustShares => *b"CB",
        itchy::IssueSubType::CommodityFuturesTrustShares => *b"CF",
        itchy::IssueSubType::CommodityLinkedSecurities => *b"CL",
        itchy::IssueSubType::CommodityIndexTrustShares => *b"CM",
        itchy::IssueSubType::CollateralizedMortgageObligation => *b"CO",
        itchy::IssueSubType::CurrencyTrustShares => *b"CT",
        itchy::IssueSubType::CommodityCurrencyLinkedSecurities => *b"CU",
        itchy::IssueSubType::CurrencyWarrants => *b"CW",
        itchy::IssueSubType::GlobalDepositaryShares => *b"D ",
        itchy::IssueSubType::ETFPortfolioDepositaryReceipt => *b"E ",
        itchy::IssueSubType::EquityGoldShares => *b"EG",
        itchy::IssueSubType::ETNEquityIndexLinkedSecurities => *b"EI",
        itchy::IssueSubType::ExchangeTradedManagedFunds => *b"EM",
        itchy::IssueSubType::ExchangeTradedNotes => *b"EN",
        itchy::IssueSubType::EquityUnits => *b"EU",
        itchy::IssueSubType::Holdrs => *b"F ",
        itchy::IssueSubType::ETNFixedIncomeLinkedSecurities => *b"FI",
        itchy::IssueSubType::ETNFuturesLinkedSecurities => *b"FL",
        itchy::IssueSubType::GlobalShares => *b"G ",
        itchy::IssueSubType::ETFIndexFundShares => *b"I ",
        itchy::IssueSubType::InterestRate => *b"IR",
        itchy::IssueSubType::IndexWarrant => *b"IW",
        itchy::IssueSubType::IndexLinkedExchangeableNotes => *b"IX",
        itchy::IssueSubType::CorporateBackedTrustSecurity => *b"J ",
        itchy::IssueSubType::ContingentLitigationRight => *b"L ",
        itchy::IssueSubType::Llc => *b"LL",
        itchy::IssueSubType::EquityBasedDerivative => *b"M ",
        itchy::IssueSubType::ManagedFundShares => *b"MF",
        itchy::IssueSubType::ETNMultiFactorIndexLinkedSecurities => *b"ML",
        itchy::IssueSubType::ManagedTrustSecurities => *b"MT",
        itchy::IssueSubType::NYRegistryShares => *b"N ",
        itchy::IssueSubType::OpenEndedMutualFund => *b"O ",
        itchy::IssueSubType::PrivatelyHeldSecurity => *b"P ",
        itchy::IssueSubType::PoisonPill => *b"PP",
        itchy::IssueSubType::PartnershipUnits => *b"PU",
        itchy::IssueSubType::ClosedEndFunds => *b"Q ",
        itchy::IssueSubType::RegS => *b"R ",
        itchy::IssueSubType::CommodityRedeemableCommodityLinkedSecurities => *b"RC",
        itchy::IssueSubType::ETNRedeemableFuturesLinkedSecurities => *b"RF",
        itchy::IssueSubType::REIT => *b"RT",
        itchy::IssueSubType::CommodityRedeemableCurrencyLinkedSecurities => *b"RU",
        itchy::IssueSubType::Seed => *b"S ",
        itchy::IssueSubType::SpotRateClosing => *b"SC",
        itchy::IssueSubType::SpotRateIntraday => *b"SI",
        itchy::IssueSubType::TrackingStock => *b"T ",
        itchy::IssueSubType::TrustCertificates => *b"TC",
        itchy::IssueSubType::TrustUnits => *b"TU",
        itchy::IssueSubType::Portal => *b"U ",
        itchy::IssueSubType::ContingentValueRight => *b"V ",
        itchy::IssueSubType::TrustIssuedReceipts => *b"W ",
        itchy::IssueSubType::WorldCurrencyOption => *b"WC",
        itchy::IssueSubType::Trust => *b"X ",
        itchy::IssueSubType::Other => *b"Y ",
        itchy::IssueSubType::NotApplicable => *b"Z ",
    }
}
