//! One-way hop latency between two pinned threads: our ring (`tickrail_engine::runtime`)
//! against crossbeam and std queues, in the same process on the same two cores.
//!
//! Method of one measurement ([`hop`]: one [`Peer`], one block of messages):
//!
//! - A producer thread pinned to one core sends `warmup + messages` [`Msg`]s (64 bytes)
//!   over a fresh queue of the peer to a consumer thread pinned to another core.
//! - Paced: the producer busy-waits until `interval` has passed since its previous send, so
//!   the queue is almost always empty when a message arrives and the figure is the hop, not
//!   queueing (pacing is relative to the previous send, so a preempted producer does not
//!   burst to catch up).
//! - Each message carries the [`Instant`] read just before the send call; the consumer
//!   reads the clock as soon as it has the message and records `now − sent` into an
//!   HdrHistogram (the first `warmup` messages are not recorded). So a sample is: the send
//!   call, the cache-line transfers, the consumer noticing (its wait strategy), the receive
//!   call, and one clock read (~20 ns, see the `timer only` row). `Instant` is
//!   `CLOCK_MONOTONIC`, consistent across cores.
//! - Waiting: the `spin` peers and our `busy-spin` ring poll in a loop with a spin-loop
//!   hint on empty (like for like); the `recv` peers use their blocking receive (they spin
//!   briefly, then park); our `yield` and `block` rings wait their way.
//! - Every peer gets the same capacity; the consumer checks that the sequence numbers
//!   arrive in order with none missing.
//! - The [`Peer::Floor`] row is the physical floor of the same measurement: no queue, the
//!   message reduced to one atomic word (sequence and send time) in one cache line.
//!
//! The binary (`ring_bench`) runs short blocks of every peer in turn, many rounds, so that
//! peers compared "in the same run" are measured milliseconds apart (see there why).

use std::hint;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context, Result};
use crossbeam::channel;
use crossbeam::queue::ArrayQueue;
use crossbeam::utils::CachePadded;
use hdrhistogram::Histogram;
use tickrail_engine::runtime::{ring, WaitKind, WaitStats};

use crate::report::{latency_histogram, nanos, Latency};
use tickrail_engine::runtime::clock;

/// The message: 64 bytes, 8-byte aligned — the send time, a sequence number and payload.
/// (The engine's `Event` is 96 bytes, 8-byte aligned.)
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Msg {
    /// Read just before the send call.
    pub sent: Instant,
    /// 0, 1, 2, … in send order.
    pub seq: u64,
    /// Filler, written on every send so the whole message is copied.
    pub payload: [u64; 5],
}

/// Size of [`Msg`] in bytes.
pub const MSG_BYTES: usize = std::mem::size_of::<Msg>();

const _: () = assert!(MSG_BYTES == 64, "the benchmark message is 64 bytes");

impl Msg {
    fn new(sent: Instant, seq: u64) -> Self {
        Self {
            sent,
            seq,
            payload: [seq; 5],
        }
    }
}

/// What carries the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The floor: no queue, one cache line. The producer stores the sequence number and the
    /// send time packed in one atomic word; the consumer spins on that word. Lossy (a
    /// consumer that falls behind sees only the latest message): the cost of moving one
    /// cache line from core to core, plus the clock read.
    Floor,
    /// `tickrail_engine::runtime::ring` with one consumer, waiting the given way.
    Ours(WaitKind),
    /// `crossbeam::channel::bounded`, consumer spinning on `try_recv`.
    CrossbeamChannelSpin,
    /// `crossbeam::queue::ArrayQueue`, consumer spinning on `pop` (producer on `push`).
    ArrayQueueSpin,
    /// `std::sync::mpsc::sync_channel`, consumer spinning on `try_recv`.
    StdMpscSpin,
    /// `crossbeam::channel::bounded`, consumer blocked in `recv`.
    CrossbeamChannelRecv,
    /// `std::sync::mpsc::sync_channel`, consumer blocked in `recv`.
    StdMpscRecv,
}

impl Peer {
    /// Every peer, in table order.
    pub const ALL: [Peer; 9] = [
        Peer::Floor,
        Peer::Ours(WaitKind::BusySpin),
        Peer::CrossbeamChannelSpin,
        Peer::ArrayQueueSpin,
        Peer::StdMpscSpin,
        Peer::Ours(WaitKind::Yield),
        Peer::Ours(WaitKind::Block),
        Peer::CrossbeamChannelRecv,
        Peer::StdMpscRecv,
    ];

    /// The short name (`--peers`).
    pub fn key(self) -> &'static str {
        match self {
            Peer::Floor => "floor",
            Peer::Ours(WaitKind::BusySpin) => "ring-spin",
            Peer::Ours(WaitKind::Yield) => "ring-yield",
            Peer::Ours(WaitKind::Block) => "ring-block",
            Peer::CrossbeamChannelSpin => "channel-spin",
            Peer::ArrayQueueSpin => "arrayqueue-spin",
            Peer::StdMpscSpin => "mpsc-spin",
            Peer::CrossbeamChannelRecv => "channel-recv",
            Peer::StdMpscRecv => "mpsc-recv",
        }
    }

    /// The peer of a short name.
    pub fn from_key(key: &str) -> Option<Peer> {
        Peer::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The table label.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Floor => "floor: one cache line (atomic word), spin",
            Peer::Ours(WaitKind::BusySpin) => "tickrail ring, busy-spin",
            Peer::Ours(WaitKind::Yield) => "tickrail ring, yield",
            Peer::Ours(WaitKind::Block) => "tickrail ring, block",
            Peer::CrossbeamChannelSpin => "crossbeam-channel bounded, try_recv spin",
            Peer::ArrayQueueSpin => "crossbeam ArrayQueue, pop spin",
            Peer::StdMpscSpin => "std mpsc sync_channel, try_recv spin",
            Peer::CrossbeamChannelRecv => "crossbeam-channel bounded, recv (blocking)",
            Peer::StdMpscRecv => "std mpsc sync_channel, recv (blocking)",
        }
    }
}

/// One measurement's parameters.
#[derive(Debug, Clone, Copy)]
pub struct HopConfig {
    /// Recorded messages.
    pub messages: u64,
    /// Messages sent first and not recorded.
    pub warmup: u64,
    /// Time from one send to the next (busy-waited).
    pub interval: Duration,
    /// Queue capacity (a power of two, for our ring).
    pub capacity: usize,
    /// Producer core, consumer core (`core_affinity` ids); `None`: not pinned.
    pub cores: Option<(core_affinity::CoreId, core_affinity::CoreId)>,
}

/// One measurement's result.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The peer measured.
    pub peer: Peer,
    /// One-way latency of the recorded messages.
    pub latency: Latency,
    /// The recorded samples (to merge measurements).
    pub hist: Histogram<u64>,
    /// Parks and wakes of the consumer (our `block` ring; zeros otherwise), warm-up
    /// included.
    pub wait_stats: WaitStats,
}

/// The consumer's side: records each message's age and checks the order.
struct Sink {
    hist: Histogram<u64>,
    warmup: u64,
    total: u64,
    next: u64,
    out_of_order: u64,
}

impl Sink {
    fn new(cfg: &HopConfig) -> Result<Self> {
        Ok(Self {
            hist: latency_histogram()?,
            warmup: cfg.warmup,
            total: cfg.warmup + cfg.messages,
            next: 0,
            out_of_order: 0,
        })
    }

    #[inline(always)]
    fn take(&mut self, m: &Msg) {
        let ns = nanos(clock::monotonic().saturating_duration_since(m.sent));
        if m.seq != self.next {
            self.out_of_order += 1;
        }
        self.next = m.seq + 1;
        if m.seq >= self.warmup {
            self.hist.saturating_record(ns.max(1));
        }
    }

    /// The floor's consumer: a message `seq` sent `ns` ago (earlier ones may be skipped).
    #[inline(always)]
    fn take_lossy(&mut self, seq: u64, ns: u64) {
        if seq < self.next {
            self.out_of_order += 1;
        }
        self.next = seq + 1;
        if seq >= self.warmup {
            self.hist.saturating_record(ns.max(1));
        }
    }

    #[inline(always)]
    fn done(&self) -> bool {
        self.next >= self.total
    }

    fn finish_lossy(self, peer: Peer) -> Result<Histogram<u64>> {
        ensure!(
            self.out_of_order == 0 && self.next == self.total,
            "{}: {} went backwards, last {} of {}",
            peer.name(),
            self.out_of_order,
            self.next,
            self.total
        );
        Ok(self.hist)
    }

    fn finish(self, peer: Peer) -> Result<Histogram<u64>> {
        ensure!(
            self.out_of_order == 0 && self.next == self.total,
            "{}: {} messages out of order, last {} of {}",
            peer.name(),
            self.out_of_order,
            self.next,
            self.total
        );
        Ok(self.hist)
    }
}

/// The floor's word: the low 24 bits of the sequence number above 40 bits of send time
/// (ns since the measurement's origin, ~18 minutes). Message 0 is sent at a time > 0, so a
/// word is never 0 (the initial value).
const FLOOR_NS_BITS: u32 = 40;
const FLOOR_SEQ_MASK: u64 = (1 << (64 - FLOOR_NS_BITS)) - 1;

fn floor_word(seq: u64, ns: u64) -> u64 {
    ((seq & FLOOR_SEQ_MASK) << FLOOR_NS_BITS) | (ns.max(1) & ((1 << FLOOR_NS_BITS) - 1))
}

fn floor_unpack(word: u64) -> (u64, u64) {
    (word >> FLOOR_NS_BITS, word & ((1 << FLOOR_NS_BITS) - 1))
}

fn pin(core: Option<core_affinity::CoreId>) -> Result<()> {
    if let Some(c) = core {
        ensure!(core_affinity::set_for_current(c), "pin to core {}", c.id);
    }
    Ok(())
}

/// The producer's loop: paced sends of `warmup + messages` messages.
fn produce(cfg: &HopConfig, mut send: impl FnMut(Msg)) {
    let total = cfg.warmup + cfg.messages;
    let mut next_at = clock::monotonic();
    for seq in 0..total {
        while clock::monotonic() < next_at {
            hint::spin_loop();
        }
        let sent = clock::monotonic();
        send(Msg::new(sent, seq));
        next_at = sent + cfg.interval;
    }
}

/// Runs `producer` and `consumer` on two threads, pinned per `cfg`; returns the consumer's
/// result.
fn pair<P, C>(cfg: &HopConfig, producer: P, consumer: C) -> Result<Histogram<u64>>
where
    P: FnOnce() -> Result<()> + Send,
    C: FnOnce() -> Result<Histogram<u64>> + Send,
{
    let (p_core, c_core) = cfg.cores.map_or((None, None), |(p, c)| (Some(p), Some(c)));
    thread::scope(|s| {
        let consumer = s.spawn(move || {
            pin(c_core)?;
            consumer()
        });
        let producer = s.spawn(move || {
            pin(p_core)?;
            producer()
        });
        producer
            .join()
            .map_err(|_| anyhow!("producer thread panicked"))??;
        consumer
            .join()
            .map_err(|_| anyhow!("consumer thread panicked"))?
    })
}

/// Measures the one-way hop latency of `peer`.
pub fn hop(peer: Peer, cfg: &HopConfig) -> Result<Hop> {
    let mut sink = Sink::new(cfg)?;
    let c = *cfg;
    let mut wait_stats = WaitStats::default();
    let stats = &mut wait_stats;
    let hist = match peer {
        Peer::Ours(wait) => {
            let origin = clock::monotonic();
            let (mut tx, mut rxs) =
                ring(cfg.capacity, 1, wait, || Msg::new(origin, 0)).context("build the ring")?;
            let mut rx = rxs.pop().context("one consumer")?;
            pair(
                cfg,
                move || {
                    let mut gone = false;
                    produce(&c, |m| gone |= tx.publish(|slot| *slot = m).is_err());
                    ensure!(!gone, "ring consumer gone");
                    Ok(())
                },
                move || {
                    rx.run(|m| sink.take(m));
                    *stats = rx.wait_stats();
                    sink.finish(peer)
                },
            )?
        }
        Peer::CrossbeamChannelSpin | Peer::CrossbeamChannelRecv => {
            let (tx, rx) = channel::bounded::<Msg>(cfg.capacity);
            let blocking = peer == Peer::CrossbeamChannelRecv;
            pair(
                cfg,
                move || {
                    let mut gone = false;
                    produce(&c, |m| gone |= tx.send(m).is_err());
                    ensure!(!gone, "channel receiver gone");
                    Ok(())
                },
                move || {
                    while !sink.done() {
                        if blocking {
                            match rx.recv() {
                                Ok(m) => sink.take(&m),
                                Err(channel::RecvError) => break,
                            }
                        } else {
                            match rx.try_recv() {
                                Ok(m) => sink.take(&m),
                                Err(channel::TryRecvError::Empty) => hint::spin_loop(),
                                Err(channel::TryRecvError::Disconnected) => break,
                            }
                        }
                    }
                    sink.finish(peer)
                },
            )?
        }
        Peer::StdMpscSpin | Peer::StdMpscRecv => {
            let (tx, rx) = mpsc::sync_channel::<Msg>(cfg.capacity);
            let blocking = peer == Peer::StdMpscRecv;
            pair(
                cfg,
                move || {
                    let mut gone = false;
                    produce(&c, |m| gone |= tx.send(m).is_err());
                    ensure!(!gone, "mpsc receiver gone");
                    Ok(())
                },
                move || {
                    while !sink.done() {
                        if blocking {
                            match rx.recv() {
                                Ok(m) => sink.take(&m),
                                Err(mpsc::RecvError) => break,
                            }
                        } else {
                            match rx.try_recv() {
                                Ok(m) => sink.take(&m),
                                Err(mpsc::TryRecvError::Empty) => hint::spin_loop(),
                                Err(mpsc::TryRecvError::Disconnected) => break,
                            }
                        }
                    }
                    sink.finish(peer)
                },
            )?
        }
        Peer::Floor => {
            let line = CachePadded::new(AtomicU64::new(0));
            let finished = CachePadded::new(AtomicBool::new(false));
            let (line, finished) = (&line, &finished);
            let origin = clock::monotonic();
            pair(
                cfg,
                move || {
                    produce(&c, |m| {
                        let ns = nanos(m.sent.saturating_duration_since(origin));
                        line.store(floor_word(m.seq, ns), Ordering::Release);
                    });
                    finished.store(true, Ordering::Release);
                    Ok(())
                },
                move || {
                    let (mut last, mut seq) = (0u64, 0u64);
                    loop {
                        // `finished` first: once it reads true, the load below sees the
                        // last message (stored before it).
                        let done = finished.load(Ordering::Acquire);
                        let word = line.load(Ordering::Acquire);
                        if word != last {
                            let now = nanos(clock::monotonic().saturating_duration_since(origin));
                            let (low, sent) = floor_unpack(word);
                            // Sequence numbers advance by less than 2^24 between two looks.
                            let step = low.wrapping_sub(seq) & FLOOR_SEQ_MASK;
                            seq += step;
                            last = word;
                            sink.take_lossy(seq, now.saturating_sub(sent));
                        } else if done {
                            break;
                        } else {
                            hint::spin_loop();
                        }
                    }
                    sink.finish_lossy(peer)
                },
            )?
        }
        Peer::ArrayQueueSpin => {
            let q = ArrayQueue::<Msg>::new(cfg.capacity);
            let q = &q;
            pair(
                cfg,
                move || {
                    produce(&c, |m| {
                        let mut m = m;
                        while let Err(back) = q.push(m) {
                            m = back;
                            hint::spin_loop();
                        }
                    });
                    Ok(())
                },
                move || {
                    while !sink.done() {
                        match q.pop() {
                            Some(m) => sink.take(&m),
                            None => hint::spin_loop(),
                        }
                    }
                    sink.finish(peer)
                },
            )?
        }
    };
    Ok(Hop {
        peer,
        latency: Latency::of(&hist),
        hist,
        wait_stats,
    })
}

/// The cost of the clock alone: two back-to-back reads, `samples` times, on the consumer's
/// core (or unpinned).
pub fn timer_only(cfg: &HopConfig, samples: u64) -> Result<Latency> {
    let core = cfg.cores.map(|(_, c)| c);
    let mut hist = latency_histogram()?;
    thread::scope(|s| {
        s.spawn(|| -> Result<()> {
            pin(core)?;
            for _ in 0..samples {
                let a = clock::monotonic();
                let b = clock::monotonic();
                hist.saturating_record(nanos(b.saturating_duration_since(a)).max(1));
            }
            Ok(())
        })
        .join()
        .map_err(|_| anyhow!("timer thread panicked"))?
    })?;
    Ok(Latency::of(&hist))
}
