//! Codec round trips, the sequence rules on hand-made packets (no sockets), and random
//! bytes never panicking.

use proptest::prelude::*;
use tickrail_engine::{Event, EventBody, InstrumentId, Scale};

use super::craft::{add_order, order_delete, system_event};
use super::moldudp64::{encode, peek_header, Header, LENGTH_PREFIX};
use super::*;
use crate::feed::{InstrumentMap, MappedInstrument};
use crate::itch::ALL_INSTRUMENTS;

fn session() -> Session {
    "S1".parse().unwrap()
}

fn map() -> InstrumentMap {
    InstrumentMap::new(vec![MappedInstrument {
        symbol: "AAPL".into(),
        id: InstrumentId::new(1),
        price_scale: Scale::new(4),
        qty_scale: Scale::new(0),
    }])
}

fn decoder() -> MoldDecoder {
    MoldDecoder::new(None, Some(1), "test", 7, map(), 1_000)
}

/// `n` add orders, order refs and timestamps from `first`.
fn adds(first: u64, n: u64) -> Vec<[u8; 36]> {
    (first..first + n)
        .map(|i| add_order(3, i * 10, i, b'B', 100, "AAPL", 1_000_000 + i as u32))
        .collect()
}

fn packet(seq: u64, msgs: &[[u8; 36]]) -> Vec<u8> {
    let refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
    encode(session(), seq, &refs)
}

fn feed(d: &mut MoldDecoder, bytes: &[u8], ts: i64) -> Vec<Event> {
    let mut out = Vec::new();
    d.on_packet(bytes, ts, &mut |e| out.push(e));
    out
}

fn order_ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e.body {
            EventBody::OrderAdd { order_id, .. } => Some(order_id),
            _ => None,
        })
        .collect()
}

#[test]
fn session_names_pad_and_refuse() {
    assert_eq!(session().bytes(), b"S1        ");
    assert_eq!(session().to_string(), "S1        ");
    assert!(matches!(
        "ELEVENCHARS".parse::<Session>(),
        Err(SessionError::TooLong(_))
    ));
    assert!(matches!(
        "a\tb".parse::<Session>(),
        Err(SessionError::NotPrintable(_))
    ));
    assert_eq!(Session(*b"A\x01        ").to_string(), "A\\x01        ");
}

#[test]
fn packets_round_trip() {
    let a = add_order(1, 5, 9, b'S', 10, "AAPL", 123);
    let d = order_delete(1, 6, 9);
    let bytes = encode(session(), 42, &[&a, &d]);
    assert_eq!(bytes.len(), HEADER_LEN + 2 * LENGTH_PREFIX + 36 + 19);
    let p = Packet::parse(&bytes).unwrap();
    assert_eq!(
        *p.header(),
        Header {
            session: session(),
            sequence: 42,
            count: 2
        }
    );
    assert_eq!(p.header().kind(), PacketKind::Messages);
    let msgs: Vec<&[u8]> = p.messages().collect();
    assert_eq!(msgs, vec![&a[..], &d[..]]);
    assert_eq!(peek_header(&bytes).unwrap(), *p.header());
}

#[test]
fn builder_packs_up_to_its_size_and_numbers_packets() {
    let mut b = PacketBuilder::new(session(), 10, 200);
    let msgs = adds(1, 20);
    let mut packets = Vec::new();
    for m in &msgs {
        match b.push(m) {
            Ok(()) => {}
            Err(PushError::Full) => {
                packets.push(b.finish().unwrap().to_vec());
                b.push(m).unwrap();
            }
            Err(e) => panic!("{e}"),
        }
    }
    packets.push(b.finish().unwrap().to_vec());
    assert!(b.finish().is_none());
    // (200 - 20) / 38 = 4 messages a packet.
    assert_eq!(packets.len(), 5);
    let mut seq = 10;
    let mut got = Vec::new();
    for p in &packets {
        assert!(p.len() <= 200);
        let p = Packet::parse(p).unwrap();
        assert_eq!(p.header().sequence, seq);
        seq += u64::from(p.header().count);
        got.extend(p.messages().map(<[u8]>::to_vec));
    }
    assert_eq!(seq, 30);
    assert_eq!(b.next_sequence(), 30);
    assert_eq!(got, msgs.iter().map(|m| m.to_vec()).collect::<Vec<_>>());
    let hb = b.heartbeat();
    let hb = Packet::parse(&hb).unwrap();
    assert_eq!(hb.header().kind(), PacketKind::Heartbeat);
    assert_eq!(hb.header().sequence, 30);
    let eos = b.end_of_session();
    let eos = Packet::parse(&eos).unwrap();
    assert_eq!(eos.header().kind(), PacketKind::EndOfSession);
    assert_eq!(eos.messages().count(), 0);
    assert!(matches!(
        PacketBuilder::new(session(), 1, 30).push(&msgs[0]),
        Err(PushError::TooLong { len: 36, .. })
    ));
}

#[test]
fn bad_packets_are_typed_errors_saying_where() {
    assert_eq!(
        Packet::parse(&[0u8; 19]),
        Err(PacketError::Short { len: 19 })
    );
    let a = add_order(1, 5, 9, b'S', 10, "AAPL", 123);
    let good = encode(session(), 1, &[&a]);
    // A message past the end.
    let cut = &good[..good.len() - 1];
    assert_eq!(
        Packet::parse(cut),
        Err(PacketError::MessagePastEnd {
            index: 0,
            count: 1,
            offset: 22,
            msg_len: 36,
            len: 57
        })
    );
    // A prefix cut in half: claim two messages.
    let mut two = good.clone();
    two[19] = 2;
    two.push(0);
    assert!(matches!(
        Packet::parse(&two),
        Err(PacketError::PrefixPastEnd { index: 1, .. })
    ));
    // Trailing bytes, also after a heartbeat header.
    let mut extra = good.clone();
    extra.extend([1, 2, 3]);
    assert_eq!(
        Packet::parse(&extra),
        Err(PacketError::Trailing {
            count: 1,
            offset: 58,
            extra: 3
        })
    );
    let mut hb = encode(session(), 5, &[]);
    hb.push(0);
    assert!(matches!(
        Packet::parse(&hb),
        Err(PacketError::Trailing { count: 0, .. })
    ));
    let e = PacketError::MessagePastEnd {
        index: 0,
        count: 1,
        offset: 22,
        msg_len: 36,
        len: 57,
    };
    assert_eq!(
        e.to_string(),
        "message 0 of 1: 36 bytes at offset 22 run past the packet's end (57 bytes)"
    );
}

#[test]
fn in_order_packets_decode_with_the_receive_time() {
    let mut d = decoder();
    let e1 = feed(&mut d, &packet(1, &adds(1, 3)), 77);
    let e2 = feed(&mut d, &packet(4, &adds(4, 2)), 88);
    assert_eq!(order_ids(&e1), vec![1, 2, 3]);
    assert_eq!(order_ids(&e2), vec![4, 5]);
    assert!(e1.iter().all(|e| e.header.receive_ts_ns == 77));
    assert_eq!(e1[0].header.exchange_ts_ns, 1_000 + 10);
    assert_eq!(e1[0].header.source, 7);
    assert_eq!(
        e1.iter()
            .chain(&e2)
            .map(|e| e.header.sequence)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(d.next_sequence(), Some(6));
    assert_eq!(d.session(), Some(session()));
    let s = *d.stats();
    assert_eq!((s.packets, s.messages, s.events, s.gaps), (2, 5, 5, 0));
}

#[test]
fn a_gap_is_one_feed_gap_event_then_decoding_goes_on() {
    let mut d = decoder();
    feed(&mut d, &packet(1, &adds(1, 2)), 1);
    let ev = feed(&mut d, &packet(6, &adds(6, 2)), 2);
    assert_eq!(ev.len(), 3);
    assert_eq!(
        ev[0].body,
        EventBody::FeedGap {
            expected: 3,
            received: 6
        }
    );
    assert_eq!(ev[0].header.instrument, ALL_INSTRUMENTS);
    assert_eq!(ev[0].header.receive_ts_ns, 2);
    // The last accepted message's exchange time.
    assert_eq!(ev[0].header.exchange_ts_ns, 1_000 + 20);
    assert_eq!(order_ids(&ev[1..]), vec![6, 7]);
    let s = *d.stats();
    assert_eq!((s.gaps, s.missing), (1, 3));
    assert_eq!(d.feed_stats().gaps, 1);
    assert_eq!(d.next_sequence(), Some(8));
    // A heartbeat announcing a later sequence is a gap too.
    let hb = encode(session(), 10, &[]);
    let ev = feed(&mut d, &hb, 3);
    assert_eq!(
        ev.iter().map(|e| e.body).collect::<Vec<_>>(),
        vec![EventBody::FeedGap {
            expected: 8,
            received: 10
        }]
    );
    assert_eq!(
        (d.stats().gaps, d.stats().missing, d.stats().heartbeats),
        (2, 5, 1)
    );
    // A heartbeat at the expected sequence is nothing.
    assert!(feed(&mut d, &hb, 4).is_empty());
    assert_eq!(d.stats().gaps, 2);
}

#[test]
fn duplicates_and_late_packets_are_dropped_wholly_or_partly() {
    let mut d = decoder();
    let p1 = packet(1, &adds(1, 3));
    feed(&mut d, &p1, 1);
    // The same packet again.
    assert!(feed(&mut d, &p1, 2).is_empty());
    // Overlapping: 2..=5, of which 4 and 5 are new.
    let ev = feed(&mut d, &packet(2, &adds(2, 4)), 3);
    assert_eq!(order_ids(&ev), vec![4, 5]);
    // A gap, then the late packet that would have filled it.
    let ev = feed(&mut d, &packet(8, &adds(8, 1)), 4);
    assert!(matches!(
        ev[0].body,
        EventBody::FeedGap {
            expected: 6,
            received: 8
        }
    ));
    assert!(feed(&mut d, &packet(6, &adds(6, 2)), 5).is_empty());
    let s = *d.stats();
    assert_eq!(s.duplicates, 3 + 2 + 2);
    assert_eq!(s.duplicate_packets, 2);
    assert_eq!(s.messages, 3 + 2 + 1);
    assert_eq!(d.next_sequence(), Some(9));
}

#[test]
fn rejects_are_counted_and_later_packets_still_decode() {
    let mut d = decoder();
    feed(&mut d, &packet(1, &adds(1, 1)), 1);
    // Short.
    assert!(feed(&mut d, &[0u8; 7], 2).is_empty());
    // Wrong session (after the first packet's was adopted).
    let other = encode("OTHER".parse().unwrap(), 2, &[&adds(2, 1)[0]]);
    assert!(feed(&mut d, &other, 3).is_empty());
    // A message length past the end.
    let mut cut = packet(2, &adds(2, 2));
    cut.truncate(cut.len() - 5);
    assert!(feed(&mut d, &cut, 4).is_empty());
    // A message that is no ITCH message: skipped, its sequence number consumed.
    let junk = [b'A', 0, 1];
    let mixed = encode(session(), 2, &[&junk, &adds(3, 1)[0]]);
    let ev = feed(&mut d, &mixed, 5);
    assert_eq!(order_ids(&ev), vec![3]);
    // Still in sequence.
    let ev = feed(&mut d, &packet(4, &adds(4, 1)), 6);
    assert_eq!(order_ids(&ev), vec![4]);
    let s = *d.stats();
    assert_eq!(
        (
            s.short,
            s.wrong_session,
            s.malformed,
            s.bad_messages,
            s.gaps
        ),
        (1, 1, 1, 1, 0)
    );
    assert_eq!(s.rejected(), 3);
    assert_eq!(s.packets, 6);
}

#[test]
fn end_of_session_ends_and_a_configured_session_is_enforced() {
    let mut d = MoldDecoder::new(Some(session()), None, "t", 1, map(), 0);
    let other = encode("X".parse().unwrap(), 1, &[&system_event(1, b'O')]);
    feed(&mut d, &other, 1);
    assert_eq!(d.stats().wrong_session, 1);
    // First sequence adopted from the first packet of the session: no gap.
    let ev = feed(&mut d, &packet(100, &adds(1, 1)), 2);
    assert_eq!(order_ids(&ev), vec![1]);
    assert_eq!(d.stats().gaps, 0);
    let mut eos = [0u8; HEADER_LEN];
    Header {
        session: session(),
        sequence: 101,
        count: END_OF_SESSION,
    }
    .write(&mut eos);
    assert!(!d.is_ended());
    assert!(feed(&mut d, &eos, 3).is_empty());
    assert!(d.is_ended());
    assert_eq!(d.stats().end_of_session, 1);
}

#[test]
fn sequence_overflow_is_malformed_not_a_panic() {
    let mut d = decoder();
    let p = packet(u64::MAX, &adds(1, 2));
    assert!(feed(&mut d, &p, 1).is_empty());
    assert_eq!(d.stats().malformed, 1);
    let del = order_delete(3, 1, 1);
    let p = encode(session(), 1, &[&del]);
    feed(&mut d, &p, 2);
    assert_eq!(d.next_sequence(), Some(2));
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Packet::parse(&bytes);
        let mut d = decoder();
        let mut n = 0u64;
        d.on_packet(&bytes, 0, &mut |_| n += 1);
        let s = *d.stats();
        prop_assert_eq!(s.packets, 1);
        prop_assert!(n <= s.events);
    }

    #[test]
    fn random_packets_with_valid_headers_never_panic(
        seq in 0u64..20,
        count in any::<u16>(),
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = vec![0u8; HEADER_LEN];
        let mut head = [0u8; HEADER_LEN];
        Header { session: session(), sequence: seq, count }.write(&mut head);
        bytes.copy_from_slice(&head);
        bytes.extend(body);
        let mut d = decoder();
        d.on_packet(&packet(1, &adds(1, 3)), 0, &mut |_| {});
        d.on_packet(&bytes, 0, &mut |_| {});
        let s = *d.stats();
        prop_assert_eq!(s.packets, 2);
    }

    #[test]
    fn encode_parse_round_trip(lens in proptest::collection::vec(0usize..60, 0..30)) {
        let msgs: Vec<Vec<u8>> = lens.iter().enumerate().map(|(i, &n)| vec![i as u8; n]).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let bytes = encode(session(), 9, &refs);
        let p = Packet::parse(&bytes).unwrap();
        prop_assert_eq!(usize::from(p.header().message_count()), msgs.len());
        let got: Vec<&[u8]> = p.messages().collect();
        prop_assert_eq!(got, refs);
    }
}
