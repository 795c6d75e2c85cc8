//! End-to-end FIX tests over loopback: the gateway against the venue simulator, a venue
//! restart with reconciliation, and malformed messages from a raw TCP client.
//!
//! QuickFIX has process-global state (its session registry): tests that start an engine
//! hold `GLOBAL`, and every initiator and acceptor is stopped before the lock is released.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::WaitKind;
use tickrail_engine::{
    Event, EventBody, EventHeader, ExecKind, InstrumentId, Liquidity, Price, Qty, Scale, Side,
    TimeInForce,
};
use tickrail_gateways::fix::{
    FixGatewayConfig, FixInstrument, FixOrderGateway, FixVenue, FixVenueConfig, RejectReason,
    VenueLiquidity,
};

static GLOBAL: Mutex<()> = Mutex::new(());

const AAA: InstrumentId = InstrumentId::new(0);

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tickrail-fix-{name}-{}-{}",
        std::process::id(),
        clock::wall_ns()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn instruments() -> Vec<FixInstrument> {
    vec![FixInstrument {
        id: AAA,
        symbol: "AAA".into(),
        price_scale: Scale::new(2),
        qty_scale: Scale::new(0),
    }]
}

const COMMON: &str = "PersistMessages=Y\nResetOnLogon=N\nResetOnLogout=N\nResetOnDisconnect=N\n\
RefreshOnLogon=Y\nNonStopSession=Y\nHeartBtInt=30\nUseDataDictionary=N\nCheckLatency=N\n";

fn write_configs(dir: &Path, port: u16) -> (PathBuf, PathBuf) {
    let init = dir.join("initiator.cfg");
    let acc = dir.join("acceptor.cfg");
    std::fs::write(
        &init,
        format!(
            "[DEFAULT]\nConnectionType=initiator\nFileStorePath={}\nReconnectInterval=1\n{COMMON}\
             [SESSION]\nBeginString=FIX.4.4\nSenderCompID=TICKRAIL\nTargetCompID=VENUE\n\
             SocketConnectHost=127.0.0.1\nSocketConnectPort={port}\n",
            dir.join("gateway-store").display()
        ),
    )
    .unwrap();
    std::fs::write(
        &acc,
        format!(
            "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nFileStorePath={}\n{COMMON}\
             [SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=TICKRAIL\n\
             [SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=RAW\n",
            dir.join("venue-store").display()
        ),
    )
    .unwrap();
    (init, acc)
}

fn start_venue(acc: &Path) -> FixVenue {
    FixVenue::start(FixVenueConfig {
        settings_path: acc.to_owned(),
        instruments: instruments(),
        liquidity: VenueLiquidity::None,
        ring_capacity: 1024,
        wait: WaitKind::Block,
    })
    .unwrap()
}

fn start_gateway(dir: &Path, init: &Path) -> FixOrderGateway {
    FixOrderGateway::start(FixGatewayConfig {
        settings_path: init.to_owned(),
        state_path: dir.join("gateway-store").join("inflight.state"),
        instruments: instruments(),
        ring_capacity: 1024,
        wait: WaitKind::Block,
        reconcile_timeout: Duration::from_secs(5),
        source: 7,
    })
    .unwrap()
}

fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = clock::monotonic();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn header() -> EventHeader {
    EventHeader {
        sequence: 1,
        cause_sequence: 1,
        exchange_ts_ns: 0,
        receive_ts_ns: 0,
        instrument: AAA,
        price_scale: 2,
        qty_scale: 0,
        source: 0,
    }
}

fn new_order(id: u64, side: Side, price: i64, qty: i64) -> Event {
    Event::new(
        header(),
        EventBody::OrderNew {
            side,
            tif: TimeInForce::Day,
            venue: 1,
            client_order_id: id,
            price: Price::new(price),
            qty: Qty::new(qty),
        },
    )
}

/// (exec, client id, liquidity, qty, price, leaves, cum, reject code) of a report event.
type Seen = (ExecKind, u64, Liquidity, i64, i64, i64, i64, u16);

fn seen(e: &Event) -> Seen {
    match e.body {
        EventBody::ExecReport {
            exec,
            liquidity,
            reject_code,
            client_order_id,
            price,
            qty,
            leaves_qty,
            cum_qty,
            ..
        } => (
            exec,
            client_order_id,
            liquidity,
            qty.raw(),
            price.raw(),
            leaves_qty.raw(),
            cum_qty.raw(),
            reject_code,
        ),
        other => panic!("not an exec report: {other:?}"),
    }
}

fn collect(g: &FixOrderGateway, out: &mut Vec<Seen>, n: usize, what: &str) {
    wait_until(what, Duration::from_secs(15), || {
        while let Some(e) = g.poll_report() {
            assert_eq!(e.header.instrument, AAA);
            assert_eq!(e.header.source, 7);
            out.push(seen(&e));
        }
        out.len() >= n
    });
}

#[test]
fn round_trip_ack_fill_replace_cancel_and_cancel_reject() {
    let _g = lock();
    let dir = temp_dir("round-trip");
    let (init, acc) = write_configs(&dir, free_port());
    let venue = start_venue(&acc);
    let gw = start_gateway(&dir, &init);
    wait_until("logon", Duration::from_secs(15), || gw.is_logged_on());

    let mut got = Vec::new();
    gw.submit(&new_order(1, Side::Buy, 10_000, 10)).unwrap();
    collect(&gw, &mut got, 1, "ack of order 1");
    assert_eq!(
        got[0],
        (ExecKind::Ack, 1, Liquidity::Unknown, 10, 10_000, 10, 0, 0)
    );

    // A crossing sell trades at the resting price: 2 takes, 1 makes.
    gw.submit(&new_order(2, Side::Sell, 9_900, 4)).unwrap();
    collect(&gw, &mut got, 4, "ack and fills");
    assert_eq!(
        got[1],
        (ExecKind::Ack, 2, Liquidity::Unknown, 4, 9_900, 4, 0, 0)
    );
    assert!(got.contains(&(ExecKind::Fill, 2, Liquidity::Taker, 4, 10_000, 0, 4, 0)));
    assert!(got.contains(&(
        ExecKind::PartialFill,
        1,
        Liquidity::Maker,
        4,
        10_000,
        6,
        4,
        0
    )));

    // Replace 1 by 3 (new price and quantity), then cancel 3.
    gw.submit(&Event::new(
        header(),
        EventBody::OrderAmend {
            client_order_id: 3,
            orig_client_order_id: 1,
            price: Price::new(10_050),
            qty: Qty::new(8),
        },
    ))
    .unwrap();
    collect(&gw, &mut got, 5, "replaced");
    assert_eq!(
        got[4],
        (
            ExecKind::Replaced,
            3,
            Liquidity::Unknown,
            8,
            10_050,
            4,
            4,
            0
        )
    );
    gw.submit(&Event::new(
        header(),
        EventBody::OrderCancel {
            client_order_id: 4,
            orig_client_order_id: 3,
        },
    ))
    .unwrap();
    collect(&gw, &mut got, 6, "canceled");
    assert_eq!(got[5].0, ExecKind::Canceled);
    assert_eq!(got[5].1, 3);
    assert_eq!((got[5].5, got[5].6), (0, 4));

    // A cancel of an order nobody knows: the venue's OrderCancelReject (102=1 unknown order).
    gw.submit(&Event::new(
        header(),
        EventBody::OrderCancel {
            client_order_id: 5,
            orig_client_order_id: 999,
        },
    ))
    .unwrap();
    collect(&gw, &mut got, 7, "cancel reject");
    assert_eq!(
        (got[6].0, got[6].1, got[6].7),
        (ExecKind::CancelRejected, 5, 1)
    );

    let stats = gw.stats();
    assert_eq!(
        (stats.sent_new, stats.sent_replace, stats.sent_cancel),
        (2, 1, 2)
    );
    assert_eq!(stats.reports, 7);
    assert_eq!(stats.duplicates, 0);
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    let vs = venue.stats();
    assert_eq!(vs.fills, 2);
    assert_eq!(vs.cancel_rejects, 1);
    gw.stop().unwrap();
    venue.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn venue_restart_reconciles_in_flight_orders_before_new_ones() {
    let _g = lock();
    let dir = temp_dir("restart");
    let (init, acc) = write_configs(&dir, free_port());
    let venue = start_venue(&acc);
    let gw = start_gateway(&dir, &init);
    wait_until("logon", Duration::from_secs(15), || gw.is_logged_on());
    let mut got = Vec::new();
    gw.submit(&new_order(1, Side::Buy, 10_000, 10)).unwrap();
    collect(&gw, &mut got, 1, "ack");
    gw.submit(&new_order(2, Side::Sell, 10_000, 4)).unwrap();
    collect(&gw, &mut got, 4, "fills");
    let seq_before = gw.stats().logon_seq_in;

    // The venue goes away (stopped and dropped); an order is submitted while it is down.
    venue.stop().unwrap();
    wait_until("logout", Duration::from_secs(15), || !gw.is_logged_on());
    gw.submit(&new_order(3, Side::Buy, 9_900, 5)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(gw.stats().sent_new, 2, "held while the venue is down");

    // Restarted with the same file store: sequence numbers continue.
    let venue = start_venue(&acc);
    collect(&gw, &mut got, 6, "reconciliation and the held order");
    let stats = gw.stats();
    assert!(stats.logons >= 2);
    assert!(
        stats.logon_seq_in > seq_before,
        "no sequence reset: {} then {}",
        seq_before,
        stats.logon_seq_in
    );
    assert_eq!(stats.sent_status, 1, "{stats:?}");
    assert_eq!(stats.reconciled, 1);
    assert_eq!(stats.sent_new, 3, "no order sent twice");
    assert_eq!(
        venue.stats().new_orders,
        1,
        "only the held order reached the new venue"
    );
    // Order 1 (acknowledged, partly filled) is unknown to the restarted venue: canceled, and
    // that is settled before order 3 goes out.
    let canceled = got
        .iter()
        .position(|s| s.0 == ExecKind::Canceled && s.1 == 1);
    let ack3 = got.iter().position(|s| s.0 == ExecKind::Ack && s.1 == 3);
    assert!(
        canceled.is_some() && ack3.is_some() && canceled < ack3,
        "{got:?}"
    );
    let fills: Vec<_> = got
        .iter()
        .filter(|s| matches!(s.0, ExecKind::Fill | ExecKind::PartialFill))
        .collect();
    assert_eq!(fills.len(), 2, "every fill exactly once: {got:?}");
    gw.stop().unwrap();
    venue.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// A minimal FIX 4.4 client on a raw socket.
struct RawClient {
    stream: TcpStream,
    received: String,
}

fn frame(fields: &[(u32, String)], bad_checksum: bool) -> Vec<u8> {
    let body: String = fields.iter().map(|(t, v)| format!("{t}={v}\x01")).collect();
    let head = format!("8=FIX.4.4\x019={}\x01", body.len());
    let msg = format!("{head}{body}");
    let sum = msg.bytes().fold(0u32, |a, b| a + u32::from(b)) % 256;
    let sum = if bad_checksum { (sum + 1) % 256 } else { sum };
    format!("{msg}10={sum:03}\x01").into_bytes()
}

impl RawClient {
    fn send(&mut self, msg_type: &str, seq: u64, fields: &[(u32, &str)], bad_checksum: bool) {
        let mut all = vec![
            (35, msg_type.to_owned()),
            (49, "RAW".to_owned()),
            (56, "VENUE".to_owned()),
            (34, seq.to_string()),
            (52, clock::utc_now()),
        ];
        all.extend(fields.iter().map(|(t, v)| (*t, (*v).to_owned())));
        self.stream.write_all(&frame(&all, bad_checksum)).unwrap();
    }

    fn wait_for(&mut self, needle: &str, count: usize) {
        let start = clock::monotonic();
        let mut buf = [0u8; 4096];
        while self.received.matches(needle).count() < count {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "timed out waiting for {count} × {needle:?} in {:?}",
                self.received
            );
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("venue closed the connection: {:?}", self.received),
                Ok(n) => self.received.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
    }
}

#[test]
fn malformed_client_messages_are_counted_rejected_and_the_venue_keeps_working() {
    let _g = lock();
    let dir = temp_dir("malformed");
    let port = free_port();
    let (_init, acc) = write_configs(&dir, port);
    let venue = start_venue(&acc);
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut c = RawClient {
        stream,
        received: String::new(),
    };
    c.send("A", 1, &[(98, "0"), (108, "30")], false);
    c.wait_for("\x0135=A\x01", 1);

    let d = |cl: &'static str, qty: &'static str| {
        vec![
            (11, cl),
            (55, "AAA"),
            (54, "1"),
            (38, qty),
            (40, "2"),
            (44, "100.00"),
            (59, "0"),
            (60, "20240101-00:00:00"),
        ]
    };
    // Bad checksum: dropped by QuickFIX (the sequence number is not consumed), counted.
    c.send("D", 2, &d("bad-sum", "5"), true);
    wait_until("bad checksum counted", Duration::from_secs(10), || {
        venue
            .stats()
            .rejects
            .contains(&(RejectReason::BadChecksum, 1))
    });
    // Missing symbol; unknown order to cancel; impossible quantities; no ClOrdID at all.
    let no_symbol: Vec<_> = d("no-sym", "5").into_iter().filter(|f| f.0 != 55).collect();
    c.send("D", 2, &no_symbol, false);
    c.send(
        "F",
        3,
        &[
            (11, "c1"),
            (41, "nobody"),
            (55, "AAA"),
            (54, "1"),
            (60, "20240101-00:00:00"),
        ],
        false,
    );
    c.send("D", 4, &d("q0", "0"), false);
    c.send("D", 5, &d("qneg", "-5"), false);
    c.send("D", 6, &d("qdec", "1.5"), false);
    let no_id: Vec<_> = d("x", "5").into_iter().filter(|f| f.0 != 11).collect();
    c.send("D", 7, &no_id, false);
    c.wait_for("\x0135=j\x01", 1);
    c.wait_for("\x0135=9\x01", 1);
    c.wait_for("\x01150=8\x01", 4);
    // Still working: a good order is acknowledged.
    c.send("D", 8, &d("good", "5"), false);
    c.wait_for("\x01150=0\x01", 1);

    let stats = venue.stats();
    let count = |r| stats.rejects.iter().find(|x| x.0 == r).map_or(0, |x| x.1);
    assert_eq!(count(RejectReason::BadChecksum), 1, "{stats:?}");
    assert_eq!(count(RejectReason::MissingTag), 2, "{stats:?}");
    assert_eq!(count(RejectReason::UnknownClOrdId), 1, "{stats:?}");
    assert_eq!(count(RejectReason::NotPositive), 2, "{stats:?}");
    assert_eq!(count(RejectReason::TooManyDecimals), 1, "{stats:?}");
    assert_eq!(stats.new_orders, 1);
    assert!(c.received.contains("\x0111=q0\x01") && c.received.contains("\x01103=13\x01"));
    drop(c);
    venue.stop().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}
