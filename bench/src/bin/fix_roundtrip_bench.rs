//! FIX order round trip on loopback: `FixOrderGateway::submit` of an order → its ack from
//! `poll_report`, and cancel → canceled, against our [`FixVenue`] simulator, beside a bare
//! TCP echo floor of one NewOrderSingle's size, in the same run.
//!
//! ```text
//! cargo build --release -p tickrail-bench --bin fix_roundtrip_bench
//! ./target/release/fix_roundtrip_bench [--orders 20000] [--warmup 1000] [--rounds 2] \
//!     [--msg-size BYTES] [--wait yield|block|busy-spin]
//! ```
//!
//! **What is measured.** One process starts the venue (a QuickFIX acceptor on a free
//! loopback port, empty books: `VenueLiquidity::None`) and the gateway (a QuickFIX
//! initiator), with the FIX session settings of `config/fix/*.cfg` (file store,
//! `PersistMessages=Y`) written to a temporary directory, and waits for the logon. Then
//! the rows alternate, per round, on the measuring thread:
//!
//! - `floor`: a `std::net::TcpStream` client and an echo server thread on 127.0.0.1, both
//!   with `TCP_NODELAY`; the client writes a message of `--msg-size` bytes (by default the
//!   length of a typical NewOrderSingle as the gateway sends it, printed) and busy-reads
//!   (non-blocking socket, spinning) until the same number of bytes is back; the server
//!   thread blocks in `read` and writes them back. One sample = write → whole echo read:
//!   **one TCP round trip** (two loopback hops, one wake-up of a blocked thread, one
//!   spinning reader).
//! - `ours`: closed loop, one order at a time. A limit buy (rests on the empty book) is
//!   handed to `FixOrderGateway::submit`; the measuring thread busy-polls `poll_report`
//!   until the order's `Ack` comes out: **new → ack**. Then a cancel of that order is
//!   submitted and timed the same way until its `Canceled` report: **cancel → canceled**.
//!   The book stays empty, the next order goes out only after the previous cancel is
//!   settled. Each sample crosses: the request ring, the gateway thread (in-flight file
//!   written before the send), QuickFIX on our side (message built, stored in the file
//!   store, written to the socket), TCP, the venue's QuickFIX thread and its callback
//!   ring, the venue thread (matching engine, ExecutionReport built, stored, sent), TCP
//!   back, our QuickFIX thread and callback ring, the gateway thread (report parsed and
//!   checked, in-flight file written) and the report ring: two QuickFIX engines, two TCP
//!   hops, four of our thread hand-offs. How the gateway and venue threads wait when they
//!   find nothing to do is `--wait` (gateways/src/fix/idle.rs): `yield` (the default, as
//!   `[live.fix] wait`), `block` (park until a producer wakes them) or `busy-spin`. Before
//!   `--wait` existed they slept 200 µs, which this closed loop met on most samples.
//! - `reference` (not a floor): `std::thread::sleep(200 µs)` timed on the measuring thread,
//!   2,000 per round — what one such idle sleep really lasts here (timer slack and wake-up
//!   included), to read the earlier runs against.
//!
//! So the floor is one TCP round trip of the order's size (the ExecutionReport coming back
//! is ~30 B longer) — the part of the path no
//! FIX implementation on this socket set-up can avoid — not an equivalent system. `--warmup`
//! untimed echoes and order/cancel pairs precede every row of every round. Two-core noisy
//! VM: the measuring thread spins on one core while the gateway, venue and both QuickFIX
//! socket threads share the other; compare rows of the same run.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use tickrail_bench::report::{latency_histogram, machine_line, nanos, Latency};
use tickrail_engine::runtime::clock;
use tickrail_engine::runtime::WaitKind;
use tickrail_engine::{
    Event, EventBody, EventHeader, ExecKind, InstrumentId, Price, Qty, Scale, Side, TimeInForce,
};
use tickrail_gateways::fix::{
    FixGatewayConfig, FixInstrument, FixOrderGateway, FixVenue, FixVenueConfig, VenueLiquidity,
};

/// FIX order round-trip latency (new → ack, cancel → canceled) against a TCP echo floor.
#[derive(Debug, Parser)]
#[command(name = "fix_roundtrip_bench")]
struct Args {
    /// Recorded orders (and echoes) per row and round
    #[arg(long, default_value_t = 20_000)]
    orders: u64,
    /// Untimed orders (and echoes) before each row of each round
    #[arg(long, default_value_t = 1_000)]
    warmup: u64,
    /// Rounds (each runs the floor, then ours)
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Echo message size in bytes (default: a typical NewOrderSingle's length)
    #[arg(long)]
    msg_size: Option<usize>,
    /// How the gateway and venue threads wait when idle: yield, block or busy-spin
    #[arg(long, default_value = "yield")]
    wait: WaitKind,
}

const AAA: InstrumentId = InstrumentId::new(0);

/// Longest wait for one report (or one echo) before the run is declared broken.
const TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    let args = Args::parse();
    ensure!(args.orders > 0, "--orders must be positive");
    println!("{}", machine_line(clock::unix_seconds()));
    let typical = typical_new_order_single();
    let size = args.msg_size.unwrap_or(typical.len()).max(1);
    println!(
        "fix_roundtrip_bench: {} orders/row/round (+{} warm-up), {} rounds, closed loop, \
         gateway and venue threads wait {}; echo floor {} B each way (a typical NewOrderSingle \
         is {} B: {})",
        args.orders,
        args.warmup,
        args.rounds,
        args.wait,
        size,
        typical.len(),
        String::from_utf8_lossy(&typical).replace('\x01', "|")
    );

    let dir = tempfile::Builder::new()
        .prefix("tickrail-fix-bench-")
        .tempdir()
        .context("temporary directory")?;
    let port = free_port()?;
    let (init, acc) = write_configs(dir.path(), port)?;
    let venue = FixVenue::start(FixVenueConfig {
        settings_path: acc,
        instruments: instruments(),
        liquidity: VenueLiquidity::None,
        ring_capacity: 1024,
        wait: args.wait,
    })
    .map_err(|e| anyhow!("start the venue: {e}"))?;
    let gw = match FixOrderGateway::start(FixGatewayConfig {
        settings_path: init,
        state_path: dir.path().join("gateway-store").join("inflight.state"),
        instruments: instruments(),
        ring_capacity: 1024,
        reconcile_timeout: Duration::from_secs(5),
        source: 7,
        wait: args.wait,
    }) {
        Ok(g) => g,
        Err(e) => {
            let _ = venue.stop();
            bail!("start the gateway: {e}");
        }
    };
    let measured = measure(&args, size, &gw);
    let gw_stats = gw.stats();
    let venue_stats = venue.stats();
    // Gateway first (it logs out), then the venue.
    let stopped_gw = gw.stop().map_err(|e| anyhow!("stop the gateway: {e}"));
    let stopped_venue = venue.stop().map_err(|e| anyhow!("stop the venue: {e}"));
    let (floor, ack, canceled, idle) = measured?;
    stopped_gw?;
    stopped_venue?;

    println!(
        "gateway: {} new, {} cancels sent, {} reports, {} duplicates, {} ignored, rejects {}; \
         venue: {} new, {} cancels, {} exec reports, rejects {}",
        gw_stats.sent_new,
        gw_stats.sent_cancel,
        gw_stats.reports,
        gw_stats.duplicates,
        gw_stats.ignored,
        rejects(&gw_stats.rejects),
        venue_stats.new_orders,
        venue_stats.cancels,
        venue_stats.exec_reports,
        rejects(&venue_stats.rejects)
    );
    let f = Latency::of(&floor);
    println!();
    println!(
        "| what | samples | p50 µs | p99 | p99.9 | p99.99 | max | ours/floor p50 | ours/floor p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let floor_name = format!("floor: TCP echo, {size} B each way (one round trip)");
    for (name, h, ratio) in [
        (floor_name.as_str(), &floor, Some(false)),
        ("ours: submit new → Ack polled", &ack, Some(true)),
        (
            "ours: submit cancel → Canceled polled",
            &canceled,
            Some(true),
        ),
        (
            "reference: one `thread::sleep(200 µs)` (the threads' idle wait before `--wait`)",
            &idle,
            None,
        ),
    ] {
        let l = Latency::of(h);
        let r = |o: u64, f: u64| match ratio {
            Some(true) => format!("{:.1}×", o as f64 / f.max(1) as f64),
            Some(false) => "1.0×".to_string(),
            None => "–".to_string(),
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
            l.samples,
            us(l.p50),
            us(l.p99),
            us(l.p999),
            us(l.p9999),
            us(l.max),
            r(l.p50, f.p50),
            r(l.p99, f.p99)
        );
    }
    Ok(())
}

/// The histograms of one run: floor, new → ack, cancel → canceled, the idle-sleep reference.
type Measured = (
    Histogram<u64>,
    Histogram<u64>,
    Histogram<u64>,
    Histogram<u64>,
);

/// Idle-sleep reference samples per round.
const SLEEP_SAMPLES: u64 = 2_000;

/// Runs the rounds.
fn measure(args: &Args, size: usize, gw: &FixOrderGateway) -> Result<Measured> {
    let start = clock::monotonic();
    while !gw.is_logged_on() {
        ensure!(
            clock::monotonic() - start < Duration::from_secs(15),
            "no FIX logon within 15 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let (mut floor, mut ack, mut canceled, mut idle) = (
        latency_histogram()?,
        latency_histogram()?,
        latency_histogram()?,
        latency_histogram()?,
    );
    let mut next_id = 1u64;
    for round in 0..args.rounds {
        let mut f = latency_histogram()?;
        echo_row(size, args.warmup, args.orders, &mut f)?;
        let l = Latency::of(&f);
        println!(
            "round {round} floor: {} echoes, p50 {} µs, p99 {} µs, max {} µs",
            l.samples,
            us(l.p50),
            us(l.p99),
            us(l.max)
        );
        floor.add(&f).map_err(|e| anyhow!("{e}"))?;

        let (mut a, mut c) = (latency_histogram()?, latency_histogram()?);
        order_row(gw, &mut next_id, args.warmup, args.orders, &mut a, &mut c)?;
        let (la, lc) = (Latency::of(&a), Latency::of(&c));
        println!(
            "round {round} ours: {} orders, new → ack p50 {} µs, p99 {} µs, max {} µs; \
             cancel → canceled p50 {} µs, p99 {} µs, max {} µs",
            la.samples,
            us(la.p50),
            us(la.p99),
            us(la.max),
            us(lc.p50),
            us(lc.p99),
            us(lc.max)
        );
        ack.add(&a).map_err(|e| anyhow!("{e}"))?;
        canceled.add(&c).map_err(|e| anyhow!("{e}"))?;

        for _ in 0..SLEEP_SAMPLES {
            let t0 = clock::monotonic();
            std::thread::sleep(IDLE_SLEEP);
            let _ = idle.record(nanos(clock::monotonic() - t0).max(1));
        }
    }
    Ok((floor, ack, canceled, idle))
}

/// What the gateway and venue threads sleep when idle (gateways/src/fix/{gateway,venue}.rs).
const IDLE_SLEEP: Duration = Duration::from_micros(200);

/// One floor row: `warmup` untimed then `n` timed echoes of `size` bytes on a fresh
/// connection to a fresh echo thread.
fn echo_row(size: usize, warmup: u64, n: u64, hist: &mut Histogram<u64>) -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind the echo server")?;
    let addr = listener.local_addr()?;
    let server = std::thread::Builder::new()
        .name("echo-server".into())
        .spawn(move || -> Result<()> {
            let (mut s, _) = listener.accept()?;
            s.set_nodelay(true)?;
            let mut buf = vec![0u8; size];
            loop {
                match s.read_exact(&mut buf) {
                    Ok(()) => s.write_all(&buf)?,
                    Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
            }
        })
        .context("spawn the echo server")?;
    // On a client error the server thread is left behind (it may still wait in `accept`);
    // the error ends the process.
    echo_client(addr, size, warmup, n, hist)?;
    server.join().map_err(|_| anyhow!("echo server panicked"))?
}

/// The floor's client: `warmup` untimed then `n` timed echoes, busy-reading.
fn echo_client(
    addr: std::net::SocketAddr,
    size: usize,
    warmup: u64,
    n: u64,
    hist: &mut Histogram<u64>,
) -> Result<()> {
    let mut client = TcpStream::connect(addr).context("connect to the echo server")?;
    client.set_nodelay(true)?;
    client.set_nonblocking(true)?;
    let msg: Vec<u8> = (0..size).map(|i| b'0' + (i % 10) as u8).collect();
    let mut back = vec![0u8; size];
    for i in 0..warmup + n {
        let t0 = clock::monotonic();
        write_all_nonblocking(&mut client, &msg)?;
        let mut got = 0;
        while got < size {
            match client.read(&mut back[got..]) {
                Ok(0) => bail!("echo server closed the connection"),
                Ok(k) => got += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if clock::monotonic() - t0 > TIMEOUT {
                        bail!("no echo within {TIMEOUT:?}");
                    }
                    std::hint::spin_loop();
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        let t1 = clock::monotonic();
        ensure!(back == msg, "echo differs from what was sent");
        if i >= warmup {
            let _ = hist.record(nanos(t1 - t0).max(1));
        }
    }
    client.shutdown(Shutdown::Write)?;
    Ok(())
}

/// `write_all` on a non-blocking socket (spins on `WouldBlock`, which a 200-byte write
/// into an empty send buffer never meets in practice).
fn write_all_nonblocking(s: &mut TcpStream, mut buf: &[u8]) -> Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => bail!("echo connection closed"),
            Ok(k) => buf = &buf[k..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                std::hint::spin_loop();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// One `ours` row: `warmup` untimed then `n` timed order/cancel pairs, closed loop.
fn order_row(
    gw: &FixOrderGateway,
    next_id: &mut u64,
    warmup: u64,
    n: u64,
    ack: &mut Histogram<u64>,
    canceled: &mut Histogram<u64>,
) -> Result<()> {
    for i in 0..warmup + n {
        let order_id = *next_id;
        let cancel_id = *next_id + 1;
        *next_id += 2;
        let new = order_new(order_id);
        let t0 = clock::monotonic();
        gw.submit(&new)
            .map_err(|_| anyhow!("gateway request ring full"))?;
        let t1 = wait_report(gw, t0, order_id, ExecKind::Ack)?;
        let cancel = order_cancel(cancel_id, order_id);
        let t2 = clock::monotonic();
        gw.submit(&cancel)
            .map_err(|_| anyhow!("gateway request ring full"))?;
        let t3 = wait_report(gw, t2, order_id, ExecKind::Canceled)?;
        if i >= warmup {
            let _ = ack.record(nanos(t1 - t0).max(1));
            let _ = canceled.record(nanos(t3 - t2).max(1));
        }
    }
    Ok(())
}

/// Busy-polls the gateway's report ring until the report `want` for `order_id` comes out;
/// returns the time it was seen. Any other report is an error (nothing else is live).
fn wait_report(
    gw: &FixOrderGateway,
    t0: Instant,
    order_id: u64,
    want: ExecKind,
) -> Result<Instant> {
    loop {
        match gw.poll_report() {
            Some(e) => {
                let now = clock::monotonic();
                match e.body {
                    EventBody::ExecReport {
                        exec,
                        client_order_id,
                        ..
                    } if exec == want && client_order_id == order_id => return Ok(now),
                    other => bail!("order {order_id}: expected {want:?}, got {other:?}"),
                }
            }
            None => {
                if clock::monotonic() - t0 > TIMEOUT {
                    bail!("order {order_id}: no {want:?} within {TIMEOUT:?}");
                }
                std::hint::spin_loop();
            }
        }
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

/// A limit buy of 10 at 100.00, day: rests on the venue's empty book.
fn order_new(id: u64) -> Event {
    Event::new(
        header(),
        EventBody::OrderNew {
            side: Side::Buy,
            tif: TimeInForce::Day,
            venue: 1,
            client_order_id: id,
            price: Price::new(10_000),
            qty: Qty::new(10),
        },
    )
}

fn order_cancel(id: u64, orig: u64) -> Event {
    Event::new(
        header(),
        EventBody::OrderCancel {
            client_order_id: id,
            orig_client_order_id: orig,
        },
    )
}

fn instruments() -> Vec<FixInstrument> {
    vec![FixInstrument {
        id: AAA,
        symbol: "AAA".into(),
        price_scale: Scale::new(2),
        qty_scale: Scale::new(0),
    }]
}

/// A NewOrderSingle as the gateway sends one in this run (header fields as QuickFIX writes
/// them, the body of `messages::new_order_single`, a five-digit ClOrdID and MsgSeqNum):
/// its length is the floor's default message size.
fn typical_new_order_single() -> Vec<u8> {
    let ts = clock::utc_now();
    let body: String = [
        ("35", "D"),
        ("34", "20001"),
        ("49", "TICKRAIL"),
        ("52", &ts),
        ("56", "VENUE"),
        ("11", "20001"),
        ("38", "10"),
        ("40", "2"),
        ("44", "100.00"),
        ("54", "1"),
        ("55", "AAA"),
        ("59", "0"),
        ("60", &ts),
    ]
    .iter()
    .map(|(t, v)| format!("{t}={v}\x01"))
    .collect();
    let msg = format!("8=FIX.4.4\x019={}\x01{body}", body.len());
    let sum = msg.bytes().map(u32::from).sum::<u32>() % 256;
    format!("{msg}10={sum:03}\x01").into_bytes()
}

/// A free loopback port: bound to port 0, read, released.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("bind a free port")?
        .local_addr()?
        .port())
}

/// The session settings of `config/fix/*.cfg`, with the stores in `dir` and `port`.
fn write_configs(dir: &Path, port: u16) -> Result<(PathBuf, PathBuf)> {
    const COMMON: &str = "PersistMessages=Y\nResetOnLogon=N\nResetOnLogout=N\n\
ResetOnDisconnect=N\nRefreshOnLogon=Y\nNonStopSession=Y\nHeartBtInt=30\nUseDataDictionary=N\n\
CheckLatency=N\n";
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
    .with_context(|| format!("write {}", init.display()))?;
    std::fs::write(
        &acc,
        format!(
            "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort={port}\nFileStorePath={}\n\
             {COMMON}[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=TICKRAIL\n",
            dir.join("venue-store").display()
        ),
    )
    .with_context(|| format!("write {}", acc.display()))?;
    Ok((init, acc))
}

/// Nanoseconds as microseconds with one decimal.
fn us(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1_000.0)
}

/// Reject counts as `reason n, …` ("none" if there were none).
fn rejects(counts: &[(tickrail_gateways::fix::RejectReason, u64)]) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(reason, n)| format!("{} {n}", reason.name()))
        .collect::<Vec<_>>()
        .join(", ")
}
