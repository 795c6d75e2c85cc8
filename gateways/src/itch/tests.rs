//! Unit tests of the ITCH adapter: message layouts, framing, the event mapping.

#![allow(clippy::unwrap_used)]

use std::io::{self, BufReader, Cursor, Read};

use tickrail_engine::book::l3::L3Book;
use tickrail_engine::{
    Aggressor, Event, EventBody, InstrumentId, Price, Qty, Scale, Side, TradingState,
};

use super::framing::{Frame, FrameError, Framer};
use super::messages::*;
use super::source::ItchSource;
use super::{local_midnight_ns, trading_day_midnight_ns, TradingDayError, MAX_FRAME_LEN};
use crate::feed::{FeedSource, InstrumentMap, MappedInstrument};

// ---------------------------------------------------------------------------------------
// Builders

fn header(ty: u8, locate: u16, ts: u64) -> Vec<u8> {
    let mut v = vec![ty];
    v.extend(locate.to_be_bytes());
    v.extend(7u16.to_be_bytes());
    v.extend(&ts.to_be_bytes()[2..]);
    v
}

fn stock(s: &str) -> [u8; 8] {
    let mut b = [b' '; 8];
    b[..s.len()].copy_from_slice(s.as_bytes());
    b
}

fn directory(locate: u16, ts: u64, s: &str) -> Vec<u8> {
    let mut v = header(b'R', locate, ts);
    v.extend(stock(s));
    v.extend(b"QN");
    v.extend(100u32.to_be_bytes());
    v.extend(b"NCZ PNN2N");
    v.extend(0u32.to_be_bytes());
    v.push(b'N');
    v
}

fn system(ts: u64, code: u8) -> Vec<u8> {
    let mut v = header(b'S', 0, ts);
    v.push(code);
    v
}

#[allow(clippy::too_many_arguments)]
fn add(locate: u16, ts: u64, r: u64, side: u8, shares: u32, s: &str, px: u32) -> Vec<u8> {
    let mut v = header(b'A', locate, ts);
    v.extend(r.to_be_bytes());
    v.push(side);
    v.extend(shares.to_be_bytes());
    v.extend(stock(s));
    v.extend(px.to_be_bytes());
    v
}

fn add_mpid(locate: u16, ts: u64, r: u64, side: u8, shares: u32, s: &str, px: u32) -> Vec<u8> {
    let mut v = add(locate, ts, r, side, shares, s, px);
    v[0] = b'F';
    v.extend(b"MPID");
    v
}

fn executed(locate: u16, ts: u64, r: u64, shares: u32, m: u64) -> Vec<u8> {
    let mut v = header(b'E', locate, ts);
    v.extend(r.to_be_bytes());
    v.extend(shares.to_be_bytes());
    v.extend(m.to_be_bytes());
    v
}

fn executed_px(locate: u16, ts: u64, r: u64, shares: u32, m: u64, px: u32) -> Vec<u8> {
    let mut v = executed(locate, ts, r, shares, m);
    v[0] = b'C';
    v.push(b'Y');
    v.extend(px.to_be_bytes());
    v
}

fn cancel(locate: u16, ts: u64, r: u64, shares: u32) -> Vec<u8> {
    let mut v = header(b'X', locate, ts);
    v.extend(r.to_be_bytes());
    v.extend(shares.to_be_bytes());
    v
}

fn delete(locate: u16, ts: u64, r: u64) -> Vec<u8> {
    let mut v = header(b'D', locate, ts);
    v.extend(r.to_be_bytes());
    v
}

fn replace(locate: u16, ts: u64, old: u64, new: u64, shares: u32, px: u32) -> Vec<u8> {
    let mut v = header(b'U', locate, ts);
    v.extend(old.to_be_bytes());
    v.extend(new.to_be_bytes());
    v.extend(shares.to_be_bytes());
    v.extend(px.to_be_bytes());
    v
}

fn trade(locate: u16, ts: u64, shares: u32, s: &str, px: u32, m: u64) -> Vec<u8> {
    let mut v = header(b'P', locate, ts);
    v.extend(0u64.to_be_bytes());
    v.push(b'B');
    v.extend(shares.to_be_bytes());
    v.extend(stock(s));
    v.extend(px.to_be_bytes());
    v.extend(m.to_be_bytes());
    v
}

fn cross(locate: u16, ts: u64, shares: u64, s: &str, px: u32, m: u64) -> Vec<u8> {
    let mut v = header(b'Q', locate, ts);
    v.extend(shares.to_be_bytes());
    v.extend(stock(s));
    v.extend(px.to_be_bytes());
    v.extend(m.to_be_bytes());
    v.push(b'O');
    v
}

fn action(locate: u16, ts: u64, s: &str, state: u8) -> Vec<u8> {
    let mut v = header(b'H', locate, ts);
    v.extend(stock(s));
    v.push(state);
    v.push(b' ');
    v.extend(b"T1  ");
    v
}

/// Frames `msgs` with zero length prefixes (`real`: with their lengths).
fn framed(msgs: &[Vec<u8>], real: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        let len = if real { m.len() as u16 } else { 0 };
        out.extend(len.to_be_bytes());
        out.extend(m);
    }
    out
}

fn map() -> InstrumentMap {
    let inst = |symbol: &str, id: u32, ps: u8, qs: u8| MappedInstrument {
        symbol: symbol.into(),
        id: InstrumentId::new(id),
        price_scale: Scale::new(ps),
        qty_scale: Scale::new(qs),
    };
    InstrumentMap::new(vec![
        inst("AAA", 1, 4, 0),
        inst("BBB", 2, 2, 2),
        inst("DDD", 4, 6, 0),
    ])
}

const MIDNIGHT: i64 = 1_577_682_000_000_000_000;

fn source(msgs: &[Vec<u8>]) -> ItchSource<Cursor<Vec<u8>>> {
    ItchSource::from_reader(
        Cursor::new(framed(msgs, false)),
        "t.itch",
        9,
        map(),
        MIDNIGHT,
    )
}

fn drain<S: FeedSource>(src: &mut S) -> Vec<Event> {
    std::iter::from_fn(|| src.next_event()).collect()
}

fn px(raw: i64) -> Price {
    Price::new(raw)
}

// ---------------------------------------------------------------------------------------
// Messages

#[test]
fn every_type_has_its_spec_size() {
    let spec: [(u8, usize); 23] = [
        (b'S', 12),
        (b'R', 39),
        (b'H', 25),
        (b'Y', 20),
        (b'L', 26),
        (b'V', 35),
        (b'W', 12),
        (b'K', 28),
        (b'J', 35),
        (b'h', 21),
        (b'A', 36),
        (b'F', 40),
        (b'E', 31),
        (b'C', 36),
        (b'X', 23),
        (b'D', 19),
        (b'U', 35),
        (b'P', 44),
        (b'Q', 40),
        (b'B', 19),
        (b'I', 50),
        (b'N', 20),
        (b'O', 48),
    ];
    assert_eq!(MESSAGE_TYPES.len(), spec.len());
    for (ty, len) in spec {
        assert_eq!(message_len(ty), Some(len), "{}", ty as char);
        assert!(message_name(ty).is_some());
        assert!(MESSAGE_TYPES.contains(&ty));
    }
    for ty in [0u8, b'Z', b'a', b'G', 0xff] {
        assert_eq!(message_len(ty), None);
    }
    assert_eq!(
        spec.iter().map(|s| s.1).max(),
        Some(MAX_MESSAGE_LEN),
        "MAX_MESSAGE_LEN"
    );
    assert_eq!(MAX_FRAME_LEN, MAX_MESSAGE_LEN + 2);
    assert_eq!(AddOrder::LEN, 36);
    assert_eq!(Noii::TYPE, b'I');
}

/// Checks that the visited fields tile the message: each field read at the running offset,
/// in wire order, with nothing left over.
struct Tiler<'b> {
    bytes: &'b [u8],
    at: usize,
    names: Vec<&'static str>,
}

impl Tiler<'_> {
    fn take(&mut self, name: &'static str, n: usize) -> &[u8] {
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        self.names.push(name);
        s
    }
    fn be(&mut self, name: &'static str, n: usize) -> u64 {
        self.take(name, n)
            .iter()
            .fold(0u64, |acc, &b| acc << 8 | u64::from(b))
    }
}

impl FieldVisitor for Tiler<'_> {
    fn char(&mut self, name: &'static str, value: u8) {
        assert_eq!(value, self.take(name, 1)[0], "{name}");
    }
    fn u16(&mut self, name: &'static str, value: u16) {
        assert_eq!(u64::from(value), self.be(name, 2), "{name}");
    }
    fn u32(&mut self, name: &'static str, value: u32) {
        assert_eq!(u64::from(value), self.be(name, 4), "{name}");
    }
    fn u64(&mut self, name: &'static str, value: u64) {
        let n = if name == "timestamp" { 6 } else { 8 };
        assert_eq!(value, self.be(name, n), "{name}");
    }
    fn price4(&mut self, name: &'static str, value: Price4) {
        assert_eq!(u64::from(value.raw()), self.be(name, 4), "{name}");
    }
    fn price8(&mut self, name: &'static str, value: Price8) {
        assert_eq!(value.raw(), self.be(name, 8), "{name}");
    }
    fn alpha(&mut self, name: &'static str, value: &[u8]) {
        let n = value.len();
        assert_eq!(value, self.take(name, n), "{name}");
    }
}

#[test]
fn fields_tile_every_message() {
    for ty in MESSAGE_TYPES {
        let len = message_len(ty).unwrap();
        let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        bytes[0] = ty;
        let msg = Message::parse(&bytes).unwrap();
        assert_eq!(msg.message_type(), ty);
        assert_eq!(msg.bytes(), &bytes[..]);
        let mut t = Tiler {
            bytes: &bytes,
            at: 1,
            names: Vec::new(),
        };
        msg.visit(&mut t);
        assert_eq!(t.at, len, "{}: fields do not cover the message", ty as char);
        assert_eq!(
            &t.names[..3],
            ["stock_locate", "tracking_number", "timestamp"]
        );
        assert_eq!(msg.stock_locate(), u16::from_be_bytes([bytes[1], bytes[2]]));
        assert_eq!(
            msg.tracking_number(),
            u16::from_be_bytes([bytes[3], bytes[4]])
        );
    }
}

#[test]
fn accessors_read_an_add_order() {
    let bytes = add(
        3,
        34_200_000_000_123,
        987_654_321,
        b'S',
        500,
        "ABCD",
        1_234_500,
    );
    let Message::AddOrder(a) = Message::parse(&bytes).unwrap() else {
        panic!("not an add");
    };
    assert_eq!(a.stock_locate(), 3);
    assert_eq!(a.tracking_number(), 7);
    assert_eq!(a.timestamp(), 34_200_000_000_123);
    assert_eq!(a.order_ref(), 987_654_321);
    assert_eq!(a.side(), b'S');
    assert_eq!(a.shares(), 500);
    assert_eq!(a.stock().as_str(), Some("ABCD"));
    assert_eq!(a.stock().bytes(), b"ABCD    ");
    assert_eq!(a.price(), Price4(1_234_500));
    assert_eq!(a.price().to_string(), "123.4500");
    assert_eq!(a.validate(), Ok(()));
    let line = Message::AddOrder(a).to_string();
    assert_eq!(
        line,
        "'A' Add Order stock_locate=3 tracking_number=7 timestamp=34200000000123 \
         order_ref=987654321 side=\"S\" shares=500 stock=\"ABCD    \" price=123.4500"
    );
    assert_eq!(Price8(123_400_000_001).to_string(), "1234.00000001");
}

#[test]
fn validation_names_the_field() {
    let mut bad = add(1, 1, 1, b'Z', 1, "A", 1);
    let e = Message::parse(&bad).unwrap().validate().unwrap_err();
    assert_eq!((e.ty, e.field), (b'A', "side"));
    assert!(e.to_string().contains("field side"), "{e}");
    bad[19] = b'B';
    bad[25] = 0x01;
    let e = Message::parse(&bad).unwrap().validate().unwrap_err();
    assert_eq!(e.field, "stock");
    let mut r = directory(1, 1, "X");
    assert_eq!(Message::parse(&r).unwrap().validate(), Ok(()));
    r[27..29].copy_from_slice(b"ZZ");
    let e = Message::parse(&r).unwrap().validate().unwrap_err();
    assert_eq!(e.field, "issue_subtype");
    for ty in MESSAGE_TYPES {
        // All-zero bodies: alpha fields are not printable, enumerated fields not listed,
        // unless the message has neither (V, B, E, D, X, U: numbers only).
        let mut b = vec![0u8; message_len(ty).unwrap()];
        b[0] = ty;
        let numbers_only = matches!(ty, b'V' | b'B' | b'E' | b'D' | b'X' | b'U');
        assert_eq!(
            Message::parse(&b).unwrap().validate().is_ok(),
            numbers_only,
            "{}",
            ty as char
        );
    }
}

#[test]
fn printable_is_the_byte_by_byte_check() {
    fn naive(b: &[u8]) -> bool {
        b.iter().all(|b| (0x20..0x7f).contains(b))
    }
    fn check<const N: usize>(base: [u8; N]) {
        for at in 0..N {
            for v in 0..=255u8 {
                let mut a = base;
                a[at] = v;
                assert_eq!(Alpha(a).is_printable(), naive(&a), "{a:?}");
                // A second byte out of range next to it (borrows and carries).
                for w in [0x00, 0x1f, 0x7f, 0x80, 0xff] {
                    let mut a2 = a;
                    a2[(at + 1) % N] = w;
                    assert_eq!(Alpha(a2).is_printable(), naive(&a2), "{a2:?}");
                }
            }
        }
    }
    check(*b"AAPL    ");
    check([0x7e; 8]);
    check([0x20; 8]);
    check(*b"NSDQ");
    check(*b"A ");
    check([b'x'; 12]);
}

#[test]
fn parse_errors() {
    assert_eq!(Message::parse(&[]), Err(DecodeError::Empty));
    assert_eq!(
        Message::parse(b"Zxxxxxxxxxxxxxxx"),
        Err(DecodeError::UnknownType { ty: b'Z' })
    );
    let short = &add(1, 1, 1, b'B', 1, "A", 1)[..30];
    assert_eq!(
        Message::parse(short),
        Err(DecodeError::Length {
            ty: b'A',
            expected: 36,
            got: 30
        })
    );
    assert!(AddOrder::new(&delete(1, 1, 1)).is_err());
    assert_eq!(
        DecodeError::UnknownType { ty: 0x01 }.to_string(),
        "unknown message type 0x01"
    );
}

// ---------------------------------------------------------------------------------------
// Framing

fn sample_stream() -> Vec<Vec<u8>> {
    vec![
        system(1, b'O'),
        directory(1, 2, "AAA"),
        add(1, 3, 10, b'B', 100, "AAA", 100_000),
        add_mpid(1, 4, 11, b'S', 100, "AAA", 100_100),
        executed(1, 5, 10, 10, 1),
        executed_px(1, 6, 11, 10, 2, 100_050),
        cancel(1, 7, 10, 5),
        replace(1, 8, 11, 12, 30, 100_200),
        delete(1, 9, 12),
        trade(1, 10, 5, "AAA", 100_000, 3),
        cross(1, 11, 500, "AAA", 100_000, 4),
        action(1, 12, "AAA", b'T'),
    ]
}

/// `(offset, bytes)` of every message, or the skip/fatal frames' `(offset, error)`.
#[derive(Debug, PartialEq)]
enum Got {
    Msg(u64, Vec<u8>),
    Skip(u64, u64, FrameError),
    Fatal(u64, FrameError),
}

fn frames<R: io::BufRead>(r: R) -> io::Result<Vec<Got>> {
    let mut f = Framer::new(r);
    let mut out = Vec::new();
    while let Some(frame) = f.next_frame()? {
        out.push(match frame {
            Frame::Message { offset, bytes } => Got::Msg(offset, bytes.to_vec()),
            Frame::Skipped { offset, len, error } => Got::Skip(offset, len, error),
            Frame::Fatal { offset, error } => Got::Fatal(offset, error),
        });
    }
    assert!(f.is_done());
    assert!(f.next_frame()?.is_none(), "stays done");
    Ok(out)
}

#[test]
fn zero_and_real_prefixes_frame_alike() {
    let msgs = sample_stream();
    for real in [false, true] {
        let bytes = framed(&msgs, real);
        let got = frames(&bytes[..]).unwrap();
        let mut at = 0u64;
        let want: Vec<Got> = msgs
            .iter()
            .map(|m| {
                let g = Got::Msg(at, m.clone());
                at += 2 + m.len() as u64;
                g
            })
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn frames_survive_any_buffer_split() {
    let msgs = sample_stream();
    let mut bytes = framed(&msgs, false);
    // A wrong prefix and an unknown type, both skipped by their prefixes, then a truncated
    // end.
    let mut bad = delete(1, 13, 99);
    bad.push(0);
    bytes.extend((bad.len() as u16).to_be_bytes());
    bytes.extend(&bad);
    bytes.extend([0, 4, b'Z', 1, 2, 3]);
    bytes.extend(framed(&[delete(1, 14, 10)], true));
    bytes.extend(&framed(&[add(1, 15, 1, b'B', 1, "AAA", 1)], false)[..20]);
    let reference = frames(&bytes[..]).unwrap();
    assert_eq!(reference.len(), msgs.len() + 4);
    assert!(matches!(
        reference[msgs.len()],
        Got::Skip(
            _,
            22,
            FrameError::LengthMismatch {
                ty: b'D',
                prefix: 20,
                expected: 19
            }
        )
    ));
    assert!(matches!(
        reference[msgs.len() + 1],
        Got::Skip(
            _,
            6,
            FrameError::UnknownType {
                ty: b'Z',
                prefix: 4
            }
        )
    ));
    assert!(matches!(reference[msgs.len() + 2], Got::Msg(..)));
    assert!(matches!(
        reference[msgs.len() + 3],
        Got::Fatal(_, FrameError::Truncated { have: 20, need: 38 })
    ));
    for cap in 1..=80 {
        let got = frames(BufReader::with_capacity(cap, &bytes[..])).unwrap();
        assert_eq!(got, reference, "buffer of {cap} bytes");
    }
}

#[test]
fn unknown_type_with_a_zero_prefix_stops_framing() {
    let mut bytes = framed(&[system(1, b'O')], false);
    bytes.extend([0, 0, b'z', 9, 9, 9, 9]);
    bytes.extend(framed(&[system(2, b'C')], false));
    let got = frames(&bytes[..]).unwrap();
    assert_eq!(
        got,
        [
            Got::Msg(0, system(1, b'O')),
            Got::Fatal(14, FrameError::Unframeable { ty: b'z' })
        ]
    );
    // A stream of one or two bytes is a truncated frame.
    assert_eq!(
        frames(&[0u8][..]).unwrap(),
        [Got::Fatal(0, FrameError::Truncated { have: 1, need: 3 })]
    );
    assert_eq!(frames(&[][..]).unwrap(), []);
}

/// Gives `n` bytes, then an error.
struct Failing<'b> {
    data: &'b [u8],
    n: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.n == 0 {
            return Err(io::Error::other("disk on fire"));
        }
        let k = buf.len().min(self.n).min(self.data.len());
        buf[..k].copy_from_slice(&self.data[..k]);
        self.data = &self.data[k..];
        self.n -= k;
        Ok(k)
    }
}

#[test]
fn read_errors_end_the_source_with_fatal() {
    let bytes = framed(&sample_stream(), false);
    let reader = BufReader::with_capacity(
        16,
        Failing {
            data: &bytes,
            n: 100,
        },
    );
    let mut src = ItchSource::from_reader(reader, "f.itch", 1, map(), 0);
    let events = drain(&mut src);
    assert_eq!(events.len(), 1, "the add before the error");
    let fatal = src.stats().fatal.clone().unwrap();
    assert!(fatal.starts_with("f.itch: offset "), "{fatal}");
    assert!(fatal.contains("disk on fire"), "{fatal}");
    let debug = format!("{src:?}");
    assert!(
        debug.starts_with("ItchSource { file: \"f.itch\""),
        "{debug}"
    );
    assert!(src.next_event().is_none());
}

// ---------------------------------------------------------------------------------------
// Mapping

#[test]
fn every_order_message_maps() {
    let aaa = 1;
    let msgs = vec![
        system(1, b'O'),
        directory(aaa, 2, "AAA"),
        directory(2, 2, "BBB"),
        directory(3, 2, "CCC"),
        action(aaa, 3, "AAA", b'Q'),
        add(aaa, 4, 10, b'B', 100, "AAA", 100_000),
        add_mpid(aaa, 5, 11, b'S', 60, "AAA", 100_100),
        executed(aaa, 6, 10, 30, 501),
        executed_px(aaa, 7, 11, 10, 502, 100_050),
        cancel(aaa, 8, 10, 20),
        cancel(aaa, 9, 10, 50),
        replace(aaa, 10, 11, 12, 40, 100_200),
        delete(aaa, 11, 12),
        trade(aaa, 12, 5, "AAA", 100_000, 503),
        cross(aaa, 13, 500, "AAA", 100_000, 504),
        cross(aaa, 13, 0, "AAA", 100_000, 0),
        action(aaa, 14, "AAA", b'T'),
        action(aaa, 15, "AAA", b'H'),
        action(aaa, 16, "AAA", b'P'),
        system(17, b'C'),
    ];
    let mut src = source(&msgs);
    let events = drain(&mut src);
    let bodies: Vec<EventBody> = events.iter().map(|e| e.body).collect();
    let q = Qty::new;
    assert_eq!(
        bodies,
        [
            EventBody::TradingStatus {
                status: TradingState::Auction
            },
            EventBody::OrderAdd {
                side: Side::Buy,
                order_id: 10,
                price: px(100_000),
                qty: q(100)
            },
            EventBody::OrderAdd {
                side: Side::Sell,
                order_id: 11,
                price: px(100_100),
                qty: q(60)
            },
            EventBody::OrderExecute {
                order_id: 10,
                qty: q(30),
                price: px(100_000),
                match_id: 501
            },
            EventBody::OrderExecute {
                order_id: 11,
                qty: q(10),
                price: px(100_050),
                match_id: 502
            },
            EventBody::OrderModify {
                order_id: 10,
                price: px(100_000),
                qty: q(50)
            },
            EventBody::OrderDelete { order_id: 10 },
            EventBody::OrderReplace {
                old_order_id: 11,
                new_order_id: 12,
                price: px(100_200),
                qty: q(40)
            },
            EventBody::OrderDelete { order_id: 12 },
            EventBody::Trade {
                aggressor: Aggressor::Unknown,
                price: px(100_000),
                qty: q(5),
                trade_id: 503
            },
            EventBody::Trade {
                aggressor: Aggressor::Unknown,
                price: px(100_000),
                qty: q(500),
                trade_id: 504
            },
            EventBody::TradingStatus {
                status: TradingState::Open
            },
            EventBody::TradingStatus {
                status: TradingState::Halted
            },
            EventBody::TradingStatus {
                status: TradingState::Halted
            },
        ]
    );
    for (i, e) in events.iter().enumerate() {
        let h = e.header;
        assert_eq!(h.sequence, i as u64 + 1);
        assert_eq!(h.cause_sequence, h.sequence);
        assert_eq!(h.instrument, InstrumentId::new(1));
        assert_eq!((h.price_scale, h.qty_scale, h.source), (4, 0, 9));
        assert_eq!(h.receive_ts_ns, h.exchange_ts_ns);
        assert_eq!(e.validate(), Ok(()));
    }
    assert_eq!(events[0].header.exchange_ts_ns, MIDNIGHT + 3);
    assert_eq!(events[13].header.exchange_ts_ns, MIDNIGHT + 16);
    let s = src.stats();
    assert_eq!(s.records, msgs.len() as u64);
    assert_eq!(s.events, events.len() as u64);
    // S ×2, R ×3, the empty cross.
    assert_eq!(s.ignored, 6);
    assert_eq!(
        (s.skipped, s.unknown_instrument, s.out_of_order, s.gaps),
        (0, 0, 0, 0)
    );
    assert_eq!(s.bytes, framed(&msgs, false).len() as u64);
    assert!(s.reports.is_empty() && s.fatal.is_none());
    assert_eq!(src.live_orders(), 0);
    assert_eq!(src.peak_live_orders(), 2);
    assert_eq!(src.message_counts().get(b'A'), 1);
    assert_eq!(src.message_counts().total(), msgs.len() as u64);
    assert_eq!(
        src.message_counts().to_string(),
        "S=2 R=3 H=4 A=1 F=1 E=1 C=1 X=2 D=1 U=1 P=1 Q=2"
    );

    // The events build a consistent book.
    let mut book = L3Book::with_capacity(16, 16);
    for e in &events {
        assert_eq!(book.apply_event(e), None, "{e}");
        book.check_invariants().unwrap();
    }
    assert_eq!(book.orders(), 0);
}

#[test]
fn cancel_keeps_priority_in_the_book() {
    let msgs = vec![
        add(1, 1, 1, b'B', 100, "AAA", 100_000),
        add(1, 2, 2, b'B', 100, "AAA", 100_000),
        cancel(1, 3, 1, 40),
    ];
    let mut src = source(&msgs);
    let mut book = L3Book::with_capacity(16, 16);
    for e in drain(&mut src) {
        assert_eq!(book.apply_event(&e), None);
    }
    assert_eq!(book.queue_ahead(1), Some(0), "order 1 still first");
    assert_eq!(book.queue_ahead(2), Some(60));
}

#[test]
fn prices_and_quantities_convert_exactly_or_skip() {
    let msgs = vec![
        // BBB: price scale 2, qty scale 2.
        add(2, 1, 1, b'B', 7, "BBB", 12_300),
        add(2, 2, 2, b'B', 7, "BBB", 12_345),
        // DDD: price scale 6.
        add(4, 3, 3, b'S', 9, "DDD", 12_345),
        trade(2, 4, 3, "BBB", 12_301, 1),
        add(1, 5, 4, b'B', 1, "AAA", 0),
    ];
    let mut src = source(&msgs);
    let events = drain(&mut src);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0].body,
        EventBody::OrderAdd {
            side: Side::Buy,
            order_id: 1,
            price: px(123),
            qty: Qty::new(700)
        }
    );
    assert_eq!(
        (events[0].header.price_scale, events[0].header.qty_scale),
        (2, 2)
    );
    assert_eq!(events[0].header.instrument, InstrumentId::new(2));
    assert_eq!(
        events[1].body,
        EventBody::OrderAdd {
            side: Side::Sell,
            order_id: 3,
            price: px(1_234_500),
            qty: Qty::new(9)
        }
    );
    let s = src.stats();
    assert_eq!(s.skipped, 3);
    let r: Vec<String> = s.reports.iter().map(ToString::to_string).collect();
    assert_eq!(
        r[0],
        "t.itch: offset 38: message type 'A': price 1.2345 does not fit instrument 2's \
         price scale 2 exactly"
    );
    assert!(
        r[1].starts_with("t.itch: offset 114: message type 'P': price 1.2301"),
        "{r:?}"
    );
    assert!(r[2].contains("price 0.0000 does not fit"), "{r:?}");
}

#[test]
fn unmapped_stocks_are_counted_not_reported() {
    let msgs = vec![
        directory(3, 1, "CCC"),
        add(3, 2, 1, b'B', 1, "CCC", 1),
        executed(3, 3, 1, 1, 1),
        cancel(3, 3, 1, 1),
        delete(3, 3, 1),
        replace(3, 3, 1, 2, 1, 1),
        executed_px(3, 3, 1, 1, 1, 1),
        trade(3, 3, 1, "CCC", 1, 1),
        cross(3, 3, 1, "CCC", 1, 1),
        action(3, 3, "CCC", b'T'),
        // A locate never assigned, and a message naming an unmapped stock without R.
        delete(77, 4, 5),
        add(78, 5, 6, b'B', 1, "ZZZ", 1),
        executed(78, 6, 6, 1, 1),
    ];
    let mut src = source(&msgs);
    assert!(drain(&mut src).is_empty());
    let s = src.stats();
    assert_eq!(s.unknown_instrument, 12);
    assert_eq!((s.ignored, s.skipped), (1, 0));
    assert!(s.reports.is_empty());
    assert_eq!(src.live_orders(), 0, "no index entries for unmapped stocks");
}

#[test]
fn stocks_without_directory_are_learned_from_their_messages() {
    let msgs = vec![
        add(40, 1, 1, b'B', 10, "AAA", 10_000),
        executed(40, 2, 1, 4, 9),
        // Same locate, another stock: a counted skip.
        add(40, 3, 2, b'B', 10, "BBB", 10_000),
    ];
    let mut src = source(&msgs);
    let events = drain(&mut src);
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[1].body,
        EventBody::OrderExecute { order_id: 1, price, .. } if price == px(10_000)
    ));
    let s = src.stats();
    assert_eq!(s.skipped, 1);
    assert!(
        s.reports[0]
            .to_string()
            .contains("message type 'A': stock BBB does not match stock locate 40 (AAA)"),
        "{}",
        s.reports[0]
    );
}

#[test]
fn unknown_orders_and_bad_fields_are_reported_skips() {
    let msgs = vec![
        directory(1, 1, "AAA"),
        executed(1, 2, 99, 1, 1),
        cancel(1, 2, 98, 1),
        delete(1, 2, 97),
        replace(1, 2, 96, 95, 1, 1),
        executed_px(1, 2, 94, 1, 1, 10_000),
        add(1, 3, 1, b'X', 10, "AAA", 10_000),
        add(1, 3, 2, b'B', 0, "AAA", 10_000),
        add(1, 3, 3, b'B', 10, "AAA", 10_000),
        executed(1, 3, 3, 0, 1),
        // Order 3 is AAA's (locate 1); this names locate 2.
        delete(2, 3, 3),
        action(1, 3, "AAA", b'Z'),
    ];
    let mut src = source(&msgs);
    let events = drain(&mut src);
    assert_eq!(events.len(), 1);
    assert_eq!(src.unknown_orders(), 5);
    let s = src.stats();
    assert_eq!(s.skipped, 10);
    let r: Vec<String> = s.reports.iter().map(ToString::to_string).collect();
    assert!(
        r[0].ends_with(
            "message type 'E': order 99 (stock locate 1) was never added: price and side \
             unknown"
        ),
        "{r:?}"
    );
    assert!(
        r[5].contains("'A': side 'X' is not an allowed value"),
        "{r:?}"
    );
    assert!(r[6].contains("'A': shares is zero"), "{r:?}");
    assert!(r[7].contains("'E': executed_shares is zero"), "{r:?}");
    assert!(
        r[8].contains("order 3 belongs to stock locate 1, message says 2"),
        "{r:?}"
    );
    assert!(r[9].contains("'H': trading_state 'Z'"), "{r:?}");
}

#[test]
fn timestamps_going_back_are_skipped() {
    let msgs = vec![
        add(1, 100, 1, b'B', 10, "AAA", 10_000),
        add(1, 50, 2, b'B', 10, "AAA", 10_000),
        add(1, 100, 3, b'B', 10, "AAA", 10_000),
    ];
    let mut src = source(&msgs);
    let events = drain(&mut src);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].header.sequence, 2);
    let s = src.stats();
    assert_eq!((s.out_of_order, s.skipped), (1, 0));
    assert_eq!(
        s.reports[0].to_string(),
        "t.itch: offset 38: message type 'A': timestamp 50 ns is before the previous \
         message's 100 ns"
    );
}

#[test]
fn over_cancel_deletes_and_failed_replace_deletes_the_old_order() {
    let msgs = vec![
        add(2, 1, 1, b'B', 10, "BBB", 10_000),
        cancel(2, 2, 1, 11),
        add(2, 3, 2, b'B', 10, "BBB", 10_000),
        // 1.0001 does not fit BBB's scale 2.
        replace(2, 4, 2, 3, 10, 10_001),
        delete(2, 5, 3),
    ];
    let mut src = source(&msgs);
    let bodies: Vec<EventBody> = drain(&mut src).iter().map(|e| e.body).collect();
    assert!(matches!(bodies[1], EventBody::OrderDelete { order_id: 1 }));
    assert!(matches!(bodies[3], EventBody::OrderDelete { order_id: 2 }));
    assert_eq!(bodies.len(), 4);
    assert_eq!(
        src.stats().skipped,
        2,
        "the replace, then the unknown order 3"
    );
    assert_eq!(src.live_orders(), 0);
}

#[test]
fn midnight() {
    assert_eq!(local_midnight_ns(1970, 1, 1, 0), Some(0));
    // 2019-12-30 00:00 EST = 05:00 UTC.
    assert_eq!(
        local_midnight_ns(2019, 12, 30, -5 * 3600),
        Some(1_577_682_000_000_000_000)
    );
    assert_eq!(
        local_midnight_ns(2000, 2, 29, 0),
        Some(951_782_400_000_000_000)
    );
    assert_eq!(local_midnight_ns(2001, 2, 29, 0), None);
    assert_eq!(local_midnight_ns(2001, 13, 1, 0), None);
    assert_eq!(local_midnight_ns(2001, 4, 31, 0), None);
    assert_eq!(
        local_midnight_ns(1969, 12, 31, 0),
        Some(-86_400_000_000_000)
    );
}

/// `y-m-d` at `hour`:00 UTC, in ns since the Unix epoch (the expected values, spelled out).
fn utc_ns(y: i32, m: u32, d: u32, hour: i64) -> i64 {
    local_midnight_ns(y, m, d, 0).unwrap() + hour * 3_600_000_000_000
}

#[test]
fn trading_day_midnight_is_new_york_midnight_with_its_dst_rules() {
    // Winter (EST): 2019-12-30 00:00 New York = 05:00 UTC.
    assert_eq!(
        trading_day_midnight_ns(2019, 12, 30),
        Ok(1_577_682_000_000_000_000)
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 12, 30),
        Ok(utc_ns(2019, 12, 30, 5))
    );
    // Summer (EDT): 2019-07-30 00:00 New York = 04:00 UTC.
    assert_eq!(
        trading_day_midnight_ns(2019, 7, 30),
        Ok(1_564_459_200_000_000_000)
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 7, 30),
        Ok(utc_ns(2019, 7, 30, 4))
    );
    // 1970-01-01 (the backtest's date when none is given): EST.
    assert_eq!(
        trading_day_midnight_ns(1970, 1, 1),
        Ok(5 * 3_600_000_000_000)
    );
}

#[test]
fn trading_day_midnight_on_the_dst_switch_days() {
    // 2019-03-10: the clocks go forward at 02:00, so midnight is still EST (05:00 UTC);
    // the next day's is EDT (04:00 UTC): a 23-hour day.
    assert_eq!(
        trading_day_midnight_ns(2019, 3, 10),
        Ok(1_552_194_000_000_000_000)
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 3, 10),
        Ok(utc_ns(2019, 3, 10, 5))
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 3, 11),
        Ok(utc_ns(2019, 3, 11, 4))
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 3, 9),
        Ok(utc_ns(2019, 3, 9, 5))
    );
    // 2019-11-03: the clocks go back at 02:00, so midnight is still EDT (04:00 UTC); the
    // next day's is EST (05:00 UTC): a 25-hour day.
    assert_eq!(
        trading_day_midnight_ns(2019, 11, 3),
        Ok(1_572_753_600_000_000_000)
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 11, 3),
        Ok(utc_ns(2019, 11, 3, 4))
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 11, 4),
        Ok(utc_ns(2019, 11, 4, 5))
    );
    assert_eq!(
        trading_day_midnight_ns(2019, 11, 2),
        Ok(utc_ns(2019, 11, 2, 4))
    );
}

#[test]
fn trading_day_midnight_refuses_what_is_not_a_date() {
    for (y, m, d) in [
        (2019, 2, 30),
        (2019, 13, 1),
        (2019, 0, 10),
        (2019, 4, 31),
        (2019, 12, 0),
        (2019, 12, 32),
        (2001, 2, 29),
        (2019, 256, 1),
        (70_000, 1, 1),
    ] {
        assert_eq!(
            trading_day_midnight_ns(y, m, d),
            Err(TradingDayError::NotADate {
                year: y,
                month: m,
                day: d
            }),
            "{y}-{m}-{d}"
        );
    }
    assert_eq!(
        trading_day_midnight_ns(2019, 2, 30)
            .unwrap_err()
            .to_string(),
        "2019-02-30 is not a date"
    );
    assert_eq!(
        trading_day_midnight_ns(2000, 2, 29),
        Ok(utc_ns(2000, 2, 29, 5))
    );
    // A date that is one but whose midnight is beyond the i64 ns time line.
    assert_eq!(
        trading_day_midnight_ns(2300, 1, 1),
        Err(TradingDayError::OutOfRange {
            year: 2300,
            month: 1,
            day: 1
        })
    );
}
