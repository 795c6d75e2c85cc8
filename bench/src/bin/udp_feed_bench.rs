//! UDP multicast feed latency on loopback: packet send → events sequenced, for our
//! receiver (`tickrail_gateways::udp::Receiver`: recv + MoldUDP64 sequence rules + ITCH
//! decode + events) followed by the engine's `Sequencer`, beside a bare receive floor on the
//! same socket set-up, in the same run.
//!
//! ```text
//! cargo build --release -p tickrail-bench --bin udp_feed_bench
//! ./target/release/udp_feed_bench [--packets 100000] [--rate 20000] [--rounds 2] [--pin]
//! ```
//!
//! **What is measured.** A sender thread sends `--packets` MoldUDP64 packets at `--rate`
//! packets/s to a multicast group joined on 127.0.0.1. Packet `i` holds two ITCH messages,
//! an Add Order and its Order Delete, both with ITCH timestamp `i`; just before the `send`
//! syscall the sender writes the monotonic time into slot `i` of a shared array (the
//! side channel: same host, same clock). The receiving thread busy-polls its non-blocking
//! socket and, for packet `i`, records `now − sent[i]`:
//!
//! - `floor`: the socket of `tickrail_gateways::udp::multicast_socket` (same options as
//!   ours), `recv` into a buffer, `i` read straight from the packet's bytes, clock read.
//!   The kernel's loopback path, the wake-up of a spinning reader and two clock reads.
//! - `ours`: `Receiver::poll` on the same kind of socket, and every event it hands out
//!   offered to a `tickrail_engine::sequencer::Sequencer` (`stamp`: the input checks —
//!   input kind, known instrument, quantity, `Event::validate`, exchange time not going
//!   backwards per source and instrument — then the sequence number), which is what the
//!   live feed thread does before it publishes an input (`InputSide::offer`: `validate` +
//!   `assign`); the clock is read once the packet's last event (the `OrderDelete`) is
//!   stamped — recv, the receive timestamp, packet validation, session and sequence
//!   checks, two ITCH messages converted (stock locate, order index insert and remove,
//!   value conversion), two events built and sequenced. Not included: the publish into
//!   the input ring (a ring hop, measured by `ring_bench`).
//!
//! The difference between the rows is what our receive path adds to the kernel's. Rows
//! alternate (`floor`, `ours`, per round) on fresh groups (and a fresh Sequencer); the first
//! 1,000 packets of each are warm-up and not recorded. Lost packets (not received within
//! 2 s of the last send) are counted and printed; any input the Sequencer refuses fails the
//! run. Two-core noisy VM: compare the rows of the same run, and read the tail (p99.9 and
//! above) as scheduling noise more than code.

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use hdrhistogram::Histogram;
use tickrail_bench::report::{latency_histogram, machine_line, nanos, Latency};
use tickrail_engine::runtime::clock;
use tickrail_engine::sequencer::Sequencer;
use tickrail_engine::{EventBody, InstrumentId, Scale};
use tickrail_gateways::feed::{InstrumentMap, MappedInstrument};
use tickrail_gateways::udp::craft::{add_order, order_delete};
use tickrail_gateways::udp::{
    multicast_socket, Publisher, PublisherConfig, Receiver, ReceiverConfig, HEADER_LEN,
};

/// Packet-to-sequenced-event latency of the UDP multicast receiver against a bare-recv floor.
#[derive(Debug, Parser)]
#[command(name = "udp_feed_bench")]
struct Args {
    /// Packets per row and round
    #[arg(long, default_value_t = 100_000)]
    packets: u64,
    /// Packets per second the sender sends
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Rounds (each runs the floor, then ours)
    #[arg(long, default_value_t = 2)]
    rounds: u32,
    /// Pin the receiving thread to the last core and the sender to the first
    #[arg(long)]
    pin: bool,
}

/// Packets not recorded at the start of each row.
const WARMUP: u64 = 1_000;

/// Where packet `i`'s ITCH timestamp sits: header, the first message's length prefix, then
/// type (1), locate (2), tracking number (2).
const TS_OFFSET: usize = HEADER_LEN + 2 + 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Row {
    Floor,
    Ours,
}

fn main() -> Result<()> {
    let args = Args::parse();
    println!("{}", machine_line(clock::unix_seconds()));
    println!(
        "udp_feed_bench: {} packets/row/round at {}/s, {} rounds, 2 ITCH messages a packet, \
         loopback multicast",
        args.packets, args.rate, args.rounds
    );
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if args.pin {
        if let Some(last) = cores.last() {
            core_affinity::set_for_current(*last);
        }
    }
    let origin = clock::monotonic();
    let mut floor = latency_histogram()?;
    let mut ours = latency_histogram()?;
    let mut lost = [0u64; 2];
    let base_port = 41_000 + (std::process::id() % 1_000) as u16 * 16;
    let mut k = 0u16;
    for round in 0..args.rounds {
        for row in [Row::Floor, Row::Ours] {
            k += 1;
            let group = SocketAddrV4::new(Ipv4Addr::new(239, 255, 88, k as u8), base_port + k);
            let (h, l) = match row {
                Row::Floor => (&mut floor, &mut lost[0]),
                Row::Ours => (&mut ours, &mut lost[1]),
            };
            let mut this = latency_histogram()?;
            let (got, missed) =
                run_row(row, group, &args, origin, cores.first().copied(), &mut this)?;
            h.add(&this).map_err(|e| anyhow::anyhow!("{e}"))?;
            *l += missed;
            let r = Latency::of(&this);
            println!(
                "round {round} {row:?}: {got} packets recorded, {missed} lost; \
                 p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
                r.p50, r.p99, r.p999, r.max
            );
        }
    }
    let f = Latency::of(&floor);
    let o = Latency::of(&ours);
    println!();
    println!("| what | samples | p50 ns | p99 | p99.9 | p99.99 | max | lost |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (name, l, lost) in [
        ("floor: recv only", f, lost[0]),
        (
            "ours: recv + MoldUDP64 + ITCH → events → Sequencer",
            o,
            lost[1],
        ),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {lost} |",
            l.samples, l.p50, l.p99, l.p999, l.p9999, l.max
        );
    }
    println!();
    println!(
        "ours − floor at p50: {} ns; ours / floor: p50 {:.2}×, p99 {:.2}×",
        o.p50 as i64 - f.p50 as i64,
        o.p50 as f64 / f.p50.max(1) as f64,
        o.p99 as f64 / f.p99.max(1) as f64
    );
    Ok(())
}

/// Runs one row on `group`: returns (packets recorded, packets lost).
fn run_row(
    row: Row,
    group: SocketAddrV4,
    args: &Args,
    origin: Instant,
    sender_core: Option<core_affinity::CoreId>,
    hist: &mut Histogram<u64>,
) -> Result<(u64, u64)> {
    let n = args.packets;
    let sent: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let mut config = ReceiverConfig::new(group);
    config.recv_buffer_bytes = 8 << 20;
    // Set up the receiver before the sender starts.
    let mut rx = match row {
        Row::Floor => Rx::Floor(multicast_socket(&config).context("floor socket")?.0),
        Row::Ours => Rx::Ours(Box::new(
            Receiver::open(&config, map()).context("receiver")?,
        )),
    };
    let sender = {
        let sent = Arc::clone(&sent);
        let done = Arc::clone(&done);
        let rate = args.rate.max(1);
        let pin = args.pin;
        std::thread::spawn(move || -> Result<()> {
            if pin {
                if let Some(c) = sender_core {
                    core_affinity::set_for_current(c);
                }
            }
            let mut tx = Publisher::new(PublisherConfig::new(group)).context("sender")?;
            let start = clock::monotonic();
            for i in 0..n {
                let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
                while clock::monotonic() < due {
                    std::hint::spin_loop();
                }
                tx.push(&add_order(1, i, i + 1, b'B', 100, "BENCH", 1_000_000))?;
                tx.push(&order_delete(1, i, i + 1))?;
                sent[i as usize].store(nanos(clock::monotonic() - origin), Ordering::Release);
                tx.flush()?;
            }
            done.store(true, Ordering::Release);
            Ok(())
        })
    };
    let recorded = std::cell::Cell::new(0u64);
    let received = std::cell::Cell::new(0u64);
    let mut record = |i: u64, now: u64| {
        received.set(received.get() + 1);
        if i >= WARMUP && i < n {
            let t = sent[i as usize].load(Ordering::Acquire);
            if t > 0 && now >= t {
                let _ = hist.record(now - t);
                recorded.set(recorded.get() + 1);
            }
        }
    };
    // The live engine's Sequencer: numbers from 1, instruments 0 and 1 (the map's id), the
    // feed source registered ahead (as the runtime registers every venue at start-up).
    let mut sequencer = Sequencer::new(1, 2);
    sequencer.register_source(config.venue_source);
    let mut first_reject = None;
    let mut last_seen = clock::monotonic();
    let mut buf = vec![0u8; 65_536];
    loop {
        let got = match &mut rx {
            Rx::Floor(sock) => match sock.recv(&mut buf) {
                Ok(len) => {
                    let now = nanos(clock::monotonic() - origin);
                    if let Some(ts) = buf.get(TS_OFFSET..TS_OFFSET + 6).filter(|_| len >= 60) {
                        let mut b = [0u8; 8];
                        b[2..].copy_from_slice(ts);
                        record(u64::from_be_bytes(b), now);
                    }
                    1
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e.into()),
            },
            Rx::Ours(r) => r.poll(&mut |e| match sequencer.stamp(e) {
                Ok(e) => {
                    if let EventBody::OrderDelete { .. } = e.body {
                        let now = nanos(clock::monotonic() - origin);
                        // Midnight 0: the exchange time is the ITCH timestamp, `i`.
                        record(e.header.exchange_ts_ns as u64, now);
                    }
                }
                Err(reject) => {
                    if first_reject.is_none() {
                        first_reject = Some(reject);
                    }
                }
            })?,
        };
        if got > 0 {
            last_seen = clock::monotonic();
        } else if done.load(Ordering::Acquire)
            && clock::monotonic().duration_since(last_seen) > Duration::from_secs(2)
        {
            break;
        } else {
            std::hint::spin_loop();
        }
        if received.get() >= n {
            break;
        }
    }
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("sender panicked"))??;
    if let Rx::Ours(r) = &rx {
        let s = r.stats();
        anyhow::ensure!(
            s.rejected() == 0 && s.bad_messages == 0,
            "receiver rejected packets: {s:?}"
        );
        anyhow::ensure!(
            first_reject.is_none(),
            "the Sequencer refused inputs ({:?}), the first: {first_reject:?}",
            sequencer.rejects()
        );
    }
    Ok((recorded.get(), n - received.get().min(n)))
}

enum Rx {
    Floor(UdpSocket),
    Ours(Box<Receiver>),
}

fn map() -> InstrumentMap {
    InstrumentMap::new(vec![MappedInstrument {
        symbol: "BENCH".into(),
        id: InstrumentId::new(1),
        price_scale: Scale::new(4),
        qty_scale: Scale::new(0),
    }])
}
