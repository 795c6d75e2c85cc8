//! MoldUDP64/ITCH over real UDP multicast on loopback (groups 239.255.77.x joined on
//! 127.0.0.1, a port per test):
//!
//! 1. the repository's ITCH sample published with `publish_file` and received: the event
//!    stream equals the file adapter's (receive times aside), no gap, no reject;
//! 2. hand-made packets — a gap, a duplicate, a late packet, a short one, another session's,
//!    a message length past the end — counted, nothing panics, later packets decode;
//! 3. the receiver's poll allocates nothing in the steady state.
//!
//! Every wait has a timeout. If multicast datagrams do not reach the loopback member at
//! all, each test stops at its probe with an explanation instead of hanging.

#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::{Event, EventBody, InstrumentId, Scale};
use tickrail_gateways::feed::{FeedSource, InstrumentMap, MappedInstrument};
use tickrail_gateways::itch::{trading_day_midnight_ns, ItchSource, ALL_INSTRUMENTS};
use tickrail_gateways::udp::craft::{add_order, order_delete};
use tickrail_gateways::udp::{
    encode, publish_file, PublishStats, Publisher, PublisherConfig, Receiver, ReceiverConfig,
    Session, HEADER_LEN,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const IDLE: Duration = Duration::from_secs(5);

/// A group and port for test `k`, spread by process id so that concurrent runs (other
/// worktrees, CI jobs) do not meet.
fn group(k: u16) -> SocketAddrV4 {
    let base = 20_000 + (std::process::id() % 4_000) as u16 * 8;
    SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, k as u8), base + k)
}

/// The committed ITCH sample (`gateways/samples/itch/`).
fn sample() -> PathBuf {
    let p = tickrail_gateways::feed::sample_data_dir().join("itch/ex20101224.TEST_ITCH_50.gz");
    assert!(
        p.is_file(),
        "{} is missing (the ITCH sample is committed in gateways/samples/itch; \
         TICKRAIL_SAMPLE_DATA, if set, must point at a directory laid out the same way)",
        p.display()
    );
    p
}

fn sample_map() -> InstrumentMap {
    InstrumentMap::new(
        ["ALC", "BOB", "CHAR"]
            .iter()
            .enumerate()
            .map(|(i, s)| MappedInstrument {
                symbol: (*s).into(),
                id: InstrumentId::new(i as u32 + 1),
                price_scale: Scale::new(4),
                qty_scale: Scale::new(0),
            })
            .collect(),
    )
}

/// 2019-12-30, the sample's trading day: midnight New York time (EST, 05:00 UTC).
fn midnight() -> i64 {
    trading_day_midnight_ns(2019, 12, 30).unwrap()
}

/// A `[live.udp]` feed's receiver takes the trading day's midnight in New York with that
/// day's daylight saving time, and refuses a date that is not one.
#[test]
fn a_live_feed_s_midnight_follows_new_york_s_dst() {
    let spec = |itch_date| tickrail_engine::config::UdpFeedSpec {
        group: group(0),
        interface: Ipv4Addr::LOCALHOST,
        session: None,
        itch_date,
    };
    let midnight_of = |date| ReceiverConfig::from_spec(&spec(date)).map(|c| c.date_midnight_ns);
    let hour = 3_600_000_000_000i64;
    // 2019-12-30 05:00 UTC (EST), the sample's day.
    assert_eq!(midnight_of((2019, 12, 30)), Ok(1_577_682_000_000_000_000));
    assert_eq!(midnight_of((2019, 12, 30)), Ok(midnight()));
    // 2019-07-30 04:00 UTC (EDT).
    assert_eq!(midnight_of((2019, 7, 30)), Ok(1_564_459_200_000_000_000));
    // The switch days: midnight before the 02:00 change, so the previous offset.
    assert_eq!(
        midnight_of((2019, 3, 10)),
        Ok(1_552_176_000_000_000_000 + 5 * hour)
    );
    assert_eq!(
        midnight_of((2019, 11, 3)),
        Ok(1_572_739_200_000_000_000 + 4 * hour)
    );
    for bad in [(2019, 2, 30), (2019, 13, 1)] {
        let e = midnight_of(bad).unwrap_err();
        assert!(e.contains("is not a date"), "{bad:?}: {e}");
    }
}

/// Checks that a datagram sent to `g` from 127.0.0.1 reaches a member joined on 127.0.0.1
/// within 2 s; panics with what to look at otherwise.
fn probe(g: SocketAddrV4) {
    let mut rx = Receiver::open(&ReceiverConfig::new(g), InstrumentMap::new(vec![]))
        .unwrap_or_else(|e| panic!("cannot set up a multicast receiver: {e}"));
    let mut tx = Publisher::new(PublisherConfig::new(g))
        .unwrap_or_else(|e| panic!("cannot set up a multicast sender: {e}"));
    tx.heartbeat().unwrap();
    let got = rx
        .run_until(Duration::from_secs(2), &mut |_| {}, |d| {
            d.stats().packets > 0
        })
        .unwrap();
    assert!(
        got,
        "multicast on loopback does not work here: a datagram sent to {g} with \
         IP_MULTICAST_IF=127.0.0.1 and IP_MULTICAST_LOOP on did not reach a socket that \
         joined {} on 127.0.0.1 within 2 s. Check for a firewall dropping multicast \
         (`iptables -S`, `nft list ruleset`) and `ip maddr show dev lo`; the lo interface \
         needs neither the MULTICAST flag nor a route for this.",
        g.ip()
    );
}

#[test]
fn the_sample_published_is_the_file_adapters_stream() {
    probe(group(1));
    let g = group(2);
    let mut config = ReceiverConfig::new(g);
    config.date_midnight_ns = midnight();
    config.venue_source = 3;
    let mut rx = Receiver::open(&config, sample_map()).unwrap();
    let mut pc = PublisherConfig::new(g);
    pc.session = "20191230".parse().unwrap();
    pc.rate = Some(200_000);
    let path = sample();
    let publisher = std::thread::spawn(move || publish_file(&path, pc));
    let mut got = Vec::new();
    let ended = rx
        .run_until(IDLE, &mut |e| got.push(e), |d| d.is_ended())
        .unwrap();
    let sent: PublishStats = publisher.join().unwrap().unwrap();
    let s = *rx.stats();
    assert!(
        ended,
        "no end of session within {IDLE:?} of silence: {s:?}, sent {sent:?}"
    );

    let mut file = ItchSource::open(sample(), 3, sample_map(), midnight()).unwrap();
    let want: Vec<Event> = std::iter::from_fn(|| file.next_event()).collect();
    println!(
        "sample: {} messages in {} packets ({} bytes, {} heartbeats) → {} events; \
         receive buffer {} bytes",
        sent.messages,
        sent.packets,
        sent.bytes,
        sent.heartbeats,
        got.len(),
        rx.recv_buffer_bytes()
    );
    assert_eq!(sent.skipped_frames, 0);
    assert_eq!(sent.fatal, None);
    assert_eq!(sent.end_of_session, 1);
    assert_eq!(s.gaps, 0, "{s:?}");
    assert_eq!(s.rejected() + s.duplicates + s.bad_messages, 0, "{s:?}");
    assert_eq!(s.messages, sent.messages);
    assert_eq!(
        s.packets,
        sent.packets + sent.heartbeats + sent.end_of_session
    );
    assert_eq!(rx.decoder().session(), Some("20191230".parse().unwrap()));
    assert_eq!(rx.decoder().next_sequence(), Some(sent.messages + 1));
    assert!(!want.is_empty());
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        let mut g = *g;
        assert!(
            g.header.receive_ts_ns > 1_500_000_000_000_000_000,
            "event {i}"
        );
        g.header.receive_ts_ns = w.header.receive_ts_ns;
        assert_eq!(g, *w, "event {i}");
    }
    assert_eq!(rx.decoder().feed_stats().skipped, file.stats().skipped);
    assert_eq!(
        rx.decoder().message_counts().total(),
        file.message_counts().total()
    );
}

/// Events as (order id or gap) for compact comparison.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Add(u64),
    Gap(u64, u64),
    Other,
}

fn seen(e: &Event) -> Seen {
    match e.body {
        EventBody::OrderAdd { order_id, .. } => Seen::Add(order_id),
        EventBody::FeedGap { expected, received } => {
            assert_eq!(e.header.instrument, ALL_INSTRUMENTS);
            Seen::Gap(expected, received)
        }
        _ => Seen::Other,
    }
}

fn map_one() -> InstrumentMap {
    InstrumentMap::new(vec![MappedInstrument {
        symbol: "AAPL".into(),
        id: InstrumentId::new(1),
        price_scale: Scale::new(4),
        qty_scale: Scale::new(0),
    }])
}

fn adds(session: Session, seq: u64, n: u64) -> Vec<u8> {
    let msgs: Vec<[u8; 36]> = (seq..seq + n)
        .map(|i| add_order(5, i * 1_000, i, b'S', 10, "AAPL", 1_500_000))
        .collect();
    let refs: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
    encode(session, seq, &refs)
}

#[test]
fn gaps_duplicates_and_bad_packets_are_counted_and_survived() {
    probe(group(3));
    let g = group(4);
    let mut config = ReceiverConfig::new(g);
    config.session = Some("INJECT".parse().unwrap());
    let mut rx = Receiver::with_clock(&config, map_one(), || 42).unwrap();
    let mut tx = Publisher::new(PublisherConfig::new(g)).unwrap();
    let s: Session = "INJECT".parse().unwrap();
    let mut cut = adds(s, 10, 2);
    cut.truncate(cut.len() - 3);
    let mut bad_prefix = adds(s, 10, 1);
    bad_prefix[HEADER_LEN] = 0xFF; // length 0xFF24: past the end
    let packets: Vec<Vec<u8>> = vec![
        adds(s, 1, 3),                        // 1..=3
        adds(s, 6, 2),                        // gap: 4, 5 lost
        adds(s, 1, 3),                        // duplicate
        adds(s, 4, 2),                        // late (out of order)
        vec![0u8; 11],                        // short
        adds("OTHER".parse().unwrap(), 8, 2), // wrong session
        cut,                                  // message past the end
        bad_prefix,                           // length prefix past the end
        adds(s, 8, 2),                        // 8..=9: still decodes
    ];
    for p in &packets {
        tx.send_raw(p).unwrap();
    }
    tx.send_raw(&encode(s, 10, &[])).unwrap(); // heartbeat
    let mut got = Vec::new();
    let done = rx
        .run_until(IDLE, &mut |e| got.push(e), |d| {
            d.stats().packets == packets.len() as u64 + 1
        })
        .unwrap();
    let st = *rx.stats();
    assert!(done, "{st:?}");
    assert_eq!(
        got.iter().map(seen).collect::<Vec<_>>(),
        vec![
            Seen::Add(1),
            Seen::Add(2),
            Seen::Add(3),
            Seen::Gap(4, 6),
            Seen::Add(6),
            Seen::Add(7),
            Seen::Add(8),
            Seen::Add(9),
        ]
    );
    assert!(got.iter().all(|e| e.header.receive_ts_ns == 42));
    println!("injected: {st:?}");
    assert_eq!((st.gaps, st.missing), (1, 2));
    assert_eq!((st.duplicates, st.duplicate_packets), (5, 2));
    assert_eq!((st.short, st.wrong_session, st.malformed), (1, 1, 2));
    assert_eq!((st.messages, st.events, st.heartbeats), (7, 8, 1));
    assert_eq!(rx.decoder().next_sequence(), Some(10));
}

#[test]
fn polling_allocates_nothing_in_the_steady_state() {
    probe(group(5));
    let g = group(6);
    let mut rx = Receiver::open(&ReceiverConfig::new(g), map_one()).unwrap();
    let mut pc = PublisherConfig::new(g);
    pc.max_packet = 200;
    let mut tx = Publisher::new(pc).unwrap();
    let mut events = Vec::with_capacity(4_096);
    let mut order = 0u64;
    let mut round = |tx: &mut Publisher, rx: &mut Receiver, events: &mut Vec<Event>| {
        // 200 adds and their deletes, ~60 packets: well inside any receive buffer.
        for _ in 0..200 {
            order += 1;
            let ts = order * 10;
            tx.push(&add_order(5, ts, order, b'B', 1, "AAPL", 10_000))
                .unwrap();
            tx.push(&order_delete(5, ts + 1, order)).unwrap();
        }
        tx.flush().unwrap();
        let want = tx.stats().packets;
        events.clear();
        allocations_in(|| {
            rx.run_until(IDLE, &mut |e| events.push(e), |d| d.stats().packets == want)
                .unwrap()
        })
    };
    let (_, ok) = round(&mut tx, &mut rx, &mut events);
    assert!(ok);
    let (allocs, ok) = round(&mut tx, &mut rx, &mut events);
    assert!(ok, "{:?}", rx.stats());
    assert_eq!(events.len(), 400);
    assert_eq!(rx.stats().gaps, 0);
    assert_eq!(allocs, 0, "allocations while polling");
}
