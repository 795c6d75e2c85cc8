//! [`GatewayMarket`] on loopback, in process: a FIX venue ([`FixVenue`], empty books) and a
//! MoldUDP64 publisher on a multicast group joined on 127.0.0.1.
//!
//! The feed thread's side of the market — `next_due_ns`, `next_input` and `submit`, i.e.
//! reading datagrams, decoding ITCH, taking execution reports off the FIX gateway's ring and
//! handing order requests to it — allocates nothing once warm (counted per thread by the
//! counting allocator; the QuickFIX threads allocate on their own threads, off the hot
//! path). Also: events come out stamped with their receive times, the orders reach the
//! venue and their reports come back, and an order for another venue is refused.

#![cfg(feature = "fix")]
#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use tickrail_engine::runtime::clock::now_ns;

use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::config::{EngineConfig, LiveSpec};
use tickrail_engine::runtime::{LiveMarket, Market};
use tickrail_engine::{
    Event, EventBody, EventHeader, ExecKind, InstrumentId, Price, Qty, Side, TimeInForce,
};
use tickrail_gateways::fix::{FixInstrument, FixVenue, FixVenueConfig, VenueLiquidity};
use tickrail_gateways::live::gateway_market::{SubmitError, GATEWAY_REFUSED};
use tickrail_gateways::live::GatewayMarket;
use tickrail_gateways::udp::craft::{add_order, order_delete};
use tickrail_gateways::udp::{Publisher, PublisherConfig};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const COMMON: &str = "PersistMessages=Y\nResetOnLogon=N\nResetOnLogout=N\nResetOnDisconnect=N\n\
RefreshOnLogon=Y\nNonStopSession=Y\nHeartBtInt=30\nUseDataDictionary=N\nCheckLatency=N\n";

/// config/live-sim.toml with the FIX session on `port`, the group `group` and the stores
/// in `dir`.
fn config(dir: &Path, port: u16, group: &str) -> EngineConfig {
    std::fs::write(
        dir.join("initiator.cfg"),
        format!(
            "[DEFAULT]\nConnectionType=initiator\nFileStorePath={}\nReconnectInterval=1\n\
             {COMMON}[SESSION]\nBeginString=FIX.4.4\nSenderCompID=TICKRAIL\nTargetCompID=VENUE\n\
             SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
            dir.join("gateway-store").display()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("acceptor.cfg"),
        format!(
            "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nFileStorePath={}\n\
             {COMMON}[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=TICKRAIL\n",
            dir.join("venue-store").display()
        ),
    )
    .unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/live-sim.toml");
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace(
            "group = \"239.255.10.1:31001\"",
            &format!("group = \"{group}\""),
        )
        .replace(
            "settings = \"fix/initiator.cfg\"",
            &format!("settings = \"{}\"", dir.join("initiator.cfg").display()),
        )
        .replace(
            "state = \"data/fix/gateway/in-flight.state\"",
            &format!(
                "state = \"{}\"",
                dir.join("gateway-store/in-flight.state").display()
            ),
        );
    EngineConfig::from_toml_str(&text, path).unwrap()
}

fn order(clid: u64, venue: u16, price_raw: i64) -> Event {
    Event::new(
        EventHeader {
            sequence: clid,
            cause_sequence: clid,
            exchange_ts_ns: 0,
            receive_ts_ns: 0,
            instrument: InstrumentId::new(0), // BOB, price scale 4
            price_scale: 4,
            qty_scale: 0,
            source: 0,
        },
        EventBody::OrderNew {
            side: Side::Buy,
            tif: TimeInForce::Day,
            venue,
            client_order_id: clid,
            price: Price::new(price_raw),
            qty: Qty::new(100),
        },
    )
}

/// Pulls inputs the way the feed loop does until `want` feed events and `acks` acks came.
fn drain(m: &mut GatewayMarket, want: usize, acks: usize, log: &mut Vec<Event>) -> (usize, usize) {
    let (mut feed, mut acked) = (0, 0);
    let t0 = now_ns();
    while (feed < want || acked < acks)
        && Duration::from_nanos(now_ns() - t0) < Duration::from_secs(10)
    {
        if m.next_due_ns().is_none() {
            break;
        }
        if let Some(ev) = m.next_input() {
            match ev.body {
                EventBody::ExecReport {
                    exec: ExecKind::Ack,
                    ..
                } => acked += 1,
                EventBody::ExecReport { .. } => {}
                _ => feed += 1,
            }
            if log.len() < log.capacity() {
                log.push(ev);
            }
        }
    }
    (feed, acked)
}

#[test]
fn the_feed_threads_side_allocates_nothing_once_warm() {
    let tmp = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = 22_000 + (std::process::id() % 4_000) as u16 * 4;
    let group = format!("239.255.79.1:{base}");
    let cfg = config(tmp.path(), port, &group);
    let LiveSpec::Gateways { udp, fix } = &cfg.live else {
        panic!("live-sim.toml is not a gateways config")
    };
    let venue = FixVenue::start(FixVenueConfig {
        settings_path: tmp.path().join("acceptor.cfg"),
        instruments: cfg.instruments.iter().map(FixInstrument::from).collect(),
        liquidity: VenueLiquidity::None,
        ring_capacity: 1024,
        wait: tickrail_engine::runtime::WaitKind::Block,
    })
    .unwrap();
    let mut market = GatewayMarket::open(&cfg, udp, fix).unwrap();
    let t0 = now_ns();
    while !market.fix().is_logged_on() {
        assert!(
            Duration::from_nanos(now_ns() - t0) < Duration::from_secs(20),
            "no FIX logon"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut pc = PublisherConfig::new(udp.group);
    pc.max_packet = 200;
    // live-sim.toml accepts one session (what `feed publish --itch-date 2019-12-30` names).
    pc.session = udp
        .session
        .as_deref()
        .unwrap_or("TICKRAIL")
        .parse()
        .unwrap();
    let mut tx = Publisher::new(pc).unwrap();
    let mut log = Vec::with_capacity(1_000);
    let (mut clid, mut reference) = (0u64, 0u64);
    let mut round = |m: &mut GatewayMarket, log: &mut Vec<Event>| {
        // 100 adds and their deletes for BOB, and 5 resting buy orders on the FIX session.
        for _ in 0..100 {
            reference += 1;
            let ts = 34_200_000_000_000 + reference * 1_000;
            tx.push(&add_order(1, ts, reference, b'B', 100, "BOB", 59_900))
                .unwrap();
            tx.push(&order_delete(1, ts + 1, reference)).unwrap();
        }
        tx.flush().unwrap();
        log.clear();
        allocations_in(|| {
            for _ in 0..5 {
                clid += 1;
                m.submit(0, &order(clid, 1, 59_000)).unwrap();
            }
            drain(m, 200, 5, log)
        })
    };
    let (_, (feed, acks)) = round(&mut market, &mut log);
    assert_eq!((feed, acks), (200, 5), "warm-up round");
    let (allocs, (feed, acks)) = round(&mut market, &mut log);
    assert_eq!((feed, acks), (200, 5), "{:?}", market.feed_stats());
    assert_eq!(
        allocs, 0,
        "allocations on the feed thread's side of the market"
    );

    // Inputs carry their receive times (wall clock, non-decreasing per source).
    let now = tickrail_engine::runtime::clock::wall_ns();
    for e in &log {
        assert!(e.header.receive_ts_ns > now - 60_000_000_000, "{e:?}");
        assert!(e.header.receive_ts_ns <= now, "{e:?}");
    }
    // Reports carry the engine's ids again (the ClOrdIDs were base + id).
    assert!(market.client_id_base() >= 1 << 32);
    for e in &log {
        if let EventBody::ExecReport {
            client_order_id, ..
        } = e.body
        {
            assert!((6..=10).contains(&client_order_id), "{e:?}");
        }
    }
    // An order the session cannot take is refused and answered locally, so that the OMS
    // does not keep it open: an id beyond a run's range, an order for another venue.
    assert_eq!(
        market.submit(0, &order(1 << 32, 1, 59_000)),
        Err(SubmitError::IdRange(1 << 32))
    );
    assert_eq!(
        market.submit(0, &order(99, 2, 59_000)),
        Err(SubmitError::WrongVenue(2, 1))
    );
    let refused: Vec<(u64, u16)> = (0..2)
        .filter_map(|_| match market.next_input().map(|e| e.body) {
            Some(EventBody::ExecReport {
                exec: ExecKind::Rejected,
                client_order_id,
                reject_code,
                ..
            }) => Some((client_order_id, reject_code)),
            _ => None,
        })
        .collect();
    assert_eq!(refused, [(1 << 32, GATEWAY_REFUSED), (99, GATEWAY_REFUSED)]);
    // A stop: the session closes (logout), what it took is handed over, then the market
    // is done; an order after that is refused locally too.
    clid += 1;
    market.submit(0, &order(clid, 1, 59_000)).unwrap();
    assert!(market.request_stop());
    assert_eq!(
        market.submit(0, &order(clid + 1, 1, 59_000)),
        Err(SubmitError::Closed)
    );
    let mut tail = Vec::new();
    while market.next_due_ns().is_some() {
        if let Some(e) = market.next_input() {
            tail.push(e.body);
        }
    }
    assert!(
        matches!(tail.last(), Some(EventBody::ExecReport { exec: ExecKind::Rejected, client_order_id, .. }) if *client_order_id == clid + 1),
        "{tail:?}"
    );
    drop(market);
    venue.stop().unwrap();
}
