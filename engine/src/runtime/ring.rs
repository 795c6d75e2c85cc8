//! Rings between threads: one producer, any number of parallel consumers, preallocated.
//!
//! [`ring`] builds a ring on the `disruptor` crate's **single producer** with one **event
//! poller** per consumer: the consumers run on threads we own (pinned by the layout) and
//! poll, instead of threads the crate would spawn.
//!
//! # Semantics
//!
//! - **Preallocated.** `capacity` slots (a power of two) are made by the factory when the
//!   ring is built. A publication writes into a slot in place (`FnOnce(&mut T)`); a poll
//!   lends each slot out by reference (`FnMut(&T)`). Nothing is allocated, locked or logged
//!   after [`ring`] returns; in `busy-spin` and `yield` modes no syscall either (a `yield`
//!   consumer's `sched_yield` aside). A `block` ring adds, per publication, one
//!   `fence(SeqCst)` and a relaxed load per consumer, and an `unpark` syscall only when a
//!   consumer is parked (see [`super::wait`] for that protocol).
//! - **Parallel consumers.** Every consumer sees every event, in publication order. The
//!   producer is gated by the slowest: a slot is reused only once every consumer has
//!   finished with it. A slot stays lent out for the whole batch of a [`RingConsumer::poll`]
//!   call, so the batch's callbacks see stable data.
//! - **Sequences.** Publications are numbered 0, 1, 2, … ([`RingProducer::try_publish`]
//!   returns the number). A ring carries at most 2^63 − 1 events (never reached: a century
//!   at 2.9 G events/s).
//! - **Full is a typed outcome.** [`RingProducer::try_publish`] never waits: on a full ring
//!   it returns [`RingFull`] without calling the closure, so the caller decides (conflate
//!   market data, count it, …). [`RingProducer::publish`] waits for room — it spins
//!   [`PUBLISH_SPINS`] times, then backs off with an [`Idle`] of the ring's [`WaitKind`]:
//!   spins on (`busy-spin`), yields (`yield`) or yields and then sleeps (`block`; consumers
//!   do not wake a waiting producer; see [`super::wait`]). It returns [`Disconnected`]
//!   instead of waiting forever when the ring is full and a consumer has been dropped.
//!   [`RingProducer::publish_while_full`] also runs a closure each round it waits, for a
//!   thread that must keep draining another ring meanwhile (a cycle of rings that all wait
//!   for room deadlocks).
//! - **Closing.** Dropping the [`RingProducer`] closes the ring: each consumer still gets
//!   every event published before, then [`RingConsumer::poll`] returns [`Closed`] (and keeps
//!   returning it). Parked consumers are woken.
//! - **Dropping a consumer** does not remove it from the gating: its last position keeps
//!   holding the producer back, so the ring fills up; `publish` then reports
//!   [`Disconnected`] and `try_publish` keeps reporting [`RingFull`]
//!   ([`RingProducer::is_disconnected`] tells them apart).
//! - **Waiting** is the consumer's choice of when: [`RingConsumer::poll`] never waits;
//!   [`RingConsumer::wait`] applies the ring's [`WaitKind`] once (an [`Idle`] round);
//!   [`RingConsumer::run`] loops poll/wait until [`Closed`].
//!
//! # Memory ordering
//!
//! Publication and consumption are the crate's: the producer writes the slot, then stores
//! its cursor with `Release`; a poller loads the cursor with `Acquire` before it reads
//! slots, and stores its own cursor with `Release` when the batch is done; the producer
//! loads the consumers' cursors with `Acquire` before it reuses a slot. What this module
//! adds:
//!
//! - `closed` (per ring): stored `Release` by the producer's drop *after* the crate's own
//!   shutdown mark (a relaxed store, sequenced before), loaded `Acquire` by a consumer about
//!   to park; so a consumer that sees it also sees the shutdown mark and its next poll
//!   returns [`Closed`].
//! - `consumed` (per consumer): the consumer's position, stored `Relaxed` after each batch,
//!   read `Relaxed` only by [`RingProducer::fill`] — a statistic, never used for safety.
//! - `dropped` (per consumer): `Release` on drop, `Relaxed` load by a producer that found the
//!   ring full (it only decides whether to stop waiting).
//!
//! `closed` sits on its own cache line, and each consumer's `consumed` and `dropped` on
//! another ([`CachePadded`]), written only by that consumer.

use std::fmt;
use std::hint;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use crossbeam_utils::CachePadded;
use disruptor::{
    build_single_producer, EventPoller, MultiConsumerBarrier, Polling, Producer, RingBufferFull,
    SingleProducer, SingleProducerBarrier,
};

use super::wait::{
    Idle, Notifier, NotifierError, SpinWait, WaitKind, WaitStats, BLOCK_PARK_TIMEOUT, MAX_CONSUMERS,
};

/// The largest ring: 2^24 slots.
pub const MAX_CAPACITY: usize = 1 << 24;

/// Tries a waiting [`RingProducer::publish`] spins before it backs off with an [`Idle`] of
/// its [`WaitKind`]: room on a full ring usually comes with the slowest consumer's next
/// batch, sooner than a yield returns.
pub const PUBLISH_SPINS: u32 = 128;

const _: () = assert!(MAX_CAPACITY.is_power_of_two());
const _: () = assert!((MAX_CAPACITY as u64) < i64::MAX as u64);

/// A ring could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RingError {
    /// The capacity must be a power of two (and not zero).
    #[error("ring capacity {capacity} is not a power of two")]
    CapacityNotPowerOfTwo {
        /// Asked for.
        capacity: usize,
    },
    /// The capacity exceeds [`MAX_CAPACITY`].
    #[error("ring capacity {capacity} exceeds the maximum {max}")]
    CapacityTooLarge {
        /// Asked for.
        capacity: usize,
        /// [`MAX_CAPACITY`].
        max: usize,
    },
    /// A ring has 1 to [`MAX_CONSUMERS`] consumers.
    #[error("a ring has 1 to {max} consumers, not {consumers}")]
    Consumers {
        /// Asked for.
        consumers: usize,
        /// [`MAX_CONSUMERS`].
        max: usize,
    },
    /// The `block` strategy's notifier could not be made.
    #[error(transparent)]
    Notifier(#[from] NotifierError),
}

/// [`RingProducer::try_publish`] found the ring full (the slowest consumer is a whole ring
/// behind). The closure was not called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring full")]
pub struct RingFull;

/// [`RingConsumer::poll`]: the producer is gone and every event was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring closed")]
pub struct Closed;

/// [`RingProducer::publish`]: the ring is full and a consumer has been dropped, so room
/// would never come. The closure was not called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("ring full and a consumer is gone")]
pub struct Disconnected;

/// Builds a ring of `capacity` slots (a power of two, at most [`MAX_CAPACITY`]), each made
/// by `factory`, with `consumers` parallel consumers (1 to [`MAX_CONSUMERS`]) that wait the
/// `wait` way. Every consumer sees every event; the producer is gated by the slowest.
///
/// All allocation happens here (slots, cursors and, for `block`, the leaked notifier; see
/// [`super::wait`]).
pub fn ring<T: Send + Sync + 'static>(
    capacity: usize,
    consumers: usize,
    wait: WaitKind,
    factory: impl FnMut() -> T,
) -> Result<(RingProducer<T>, Vec<RingConsumer<T>>), RingError> {
    if !capacity.is_power_of_two() {
        return Err(RingError::CapacityNotPowerOfTwo { capacity });
    }
    if capacity > MAX_CAPACITY {
        return Err(RingError::CapacityTooLarge {
            capacity,
            max: MAX_CAPACITY,
        });
    }
    if consumers == 0 || consumers > MAX_CONSUMERS {
        return Err(RingError::Consumers {
            consumers,
            max: MAX_CONSUMERS,
        });
    }
    let notifier = match wait {
        WaitKind::Block => Some(Notifier::leak(consumers, BLOCK_PARK_TIMEOUT)?),
        WaitKind::BusySpin | WaitKind::Yield => None,
    };
    let shared = Arc::new(Shared {
        closed: CachePadded::new(AtomicBool::new(false)),
        consumers: (0..consumers)
            .map(|_| {
                CachePadded::new(ConsumerSlot {
                    consumed: AtomicI64::new(0),
                    dropped: AtomicBool::new(false),
                })
            })
            .collect(),
    });

    // The builder's own wait strategy is used only by processors the crate would spawn;
    // we have none (pollers only).
    let mut builder = build_single_producer(capacity, factory, SpinWait).with_multi_consumer();
    let mut polled = Vec::with_capacity(consumers);
    for index in 0..consumers {
        let (poller, next) = builder.new_event_poller();
        builder = next;
        let wait = match (wait, notifier) {
            (WaitKind::Block, Some(n)) => match n.strategy(index) {
                Some(b) => Idle::parking(b),
                // Unreachable: the notifier has `consumers` waiters.
                None => {
                    return Err(NotifierError::Consumers {
                        consumers,
                        max: n.consumers(),
                    }
                    .into())
                }
            },
            (kind, _) => Idle::new(kind),
        };
        polled.push(RingConsumer {
            poller,
            next: 0,
            index,
            wait,
            capacity,
            shared: Arc::clone(&shared),
        });
    }
    let producer = RingProducer {
        inner: builder.build(),
        next: 0,
        capacity,
        wait,
        notifier,
        link: ProducerLink { shared, notifier },
    };
    debug_assert_eq!(polled.len(), consumers);
    Ok((producer, polled))
}

/// What producer and consumers share besides the crate's ring.
#[derive(Debug)]
struct Shared {
    /// The producer is gone (see the module docs for the ordering).
    closed: CachePadded<AtomicBool>,
    /// One per consumer.
    consumers: Box<[CachePadded<ConsumerSlot>]>,
}

#[derive(Debug)]
struct ConsumerSlot {
    /// Events this consumer has finished (its next sequence); `Relaxed`, statistics only.
    consumed: AtomicI64,
    /// The consumer was dropped.
    dropped: AtomicBool,
}

impl Shared {
    fn any_consumer_dropped(&self) -> bool {
        self.consumers
            .iter()
            .any(|c| c.dropped.load(Ordering::Relaxed))
    }
}

/// Closes the ring when the producer is dropped. A field of [`RingProducer`] declared after
/// the crate's producer, so it runs after that producer's own drop (which stores the
/// shutdown mark that makes pollers report [`Closed`]).
#[derive(Debug)]
struct ProducerLink {
    shared: Arc<Shared>,
    notifier: Option<&'static Notifier>,
}

impl Drop for ProducerLink {
    fn drop(&mut self) {
        // Release: a consumer that loads `true` (Acquire) also sees the crate's shutdown
        // mark, stored (relaxed) before this.
        self.shared.closed.store(true, Ordering::Release);
        if let Some(n) = self.notifier {
            // Fence P inside: a consumer about to park either sees `closed` or is unparked.
            n.notify();
        }
    }
}

/// The writing end of a ring. One per ring; `Send`, so it can move to its thread.
pub struct RingProducer<T> {
    // Field order matters: `inner` drops before `link` (see `ProducerLink`).
    inner: SingleProducer<T, MultiConsumerBarrier>,
    /// The next sequence to publish (= events published).
    next: i64,
    capacity: usize,
    wait: WaitKind,
    /// `Some` for `block` rings: consumers to wake after each publication.
    notifier: Option<&'static Notifier>,
    link: ProducerLink,
}

impl<T> RingProducer<T> {
    /// Publishes one event without waiting: `f` fills the slot in place (the slot holds
    /// whatever was last published there; overwrite every field that matters). Returns the
    /// event's sequence, or [`RingFull`] without calling `f`.
    #[inline]
    pub fn try_publish(&mut self, f: impl FnOnce(&mut T)) -> Result<i64, RingFull> {
        match self.inner.try_publish(f) {
            Ok(sequence) => {
                self.published(sequence);
                Ok(sequence)
            }
            Err(RingBufferFull) => Err(RingFull),
        }
    }

    /// Publishes one event, waiting for room if the ring is full (see the module docs for
    /// how it waits). Returns the event's sequence, or [`Disconnected`] (without calling
    /// `f`) if the ring is full and a consumer was dropped.
    #[inline]
    pub fn publish(&mut self, f: impl FnOnce(&mut T)) -> Result<i64, Disconnected> {
        self.publish_while_full(f, || {})
    }

    /// Like [`RingProducer::publish`], calling `on_full` once per round while the ring is
    /// full (before each back-off). For a thread that must keep other work going while it
    /// waits — e.g. draining a ring that its own consumers feed back into, which would
    /// otherwise deadlock: A waits for room in ring 1, whose consumer waits for room in
    /// ring 2, which only A drains.
    #[inline]
    pub fn publish_while_full(
        &mut self,
        f: impl FnOnce(&mut T),
        mut on_full: impl FnMut(),
    ) -> Result<i64, Disconnected> {
        let mut f = Some(f);
        let mut spins: u32 = 0;
        let mut idle = Idle::new(self.wait);
        loop {
            // On a full ring the crate drops this closure uncalled, so `f` stays for the
            // next try.
            let attempt = self.inner.try_publish(|slot| {
                if let Some(f) = f.take() {
                    f(slot);
                }
            });
            match attempt {
                Ok(sequence) => {
                    debug_assert!(f.is_none(), "the slot was written");
                    self.published(sequence);
                    return Ok(sequence);
                }
                Err(RingBufferFull) => {
                    if self.link.shared.any_consumer_dropped() {
                        return Err(Disconnected);
                    }
                    on_full();
                    if spins < PUBLISH_SPINS {
                        spins += 1;
                        hint::spin_loop();
                    } else {
                        idle.idle();
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn published(&mut self, sequence: i64) {
        debug_assert_eq!(sequence, self.next, "sequences are consecutive");
        self.next = sequence + 1;
        if let Some(n) = self.notifier {
            n.notify();
        }
    }

    /// Approximate occupancy: events published that the slowest consumer has not finished
    /// yet (0 to capacity). Cheap (a relaxed load per consumer); may lag by the batches in
    /// progress. For statistics only.
    pub fn fill(&self) -> usize {
        let slowest = self
            .link
            .shared
            .consumers
            .iter()
            .map(|c| c.consumed.load(Ordering::Relaxed))
            .min()
            .unwrap_or(self.next);
        usize::try_from(self.next - slowest)
            .unwrap_or(0)
            .min(self.capacity)
    }

    /// Events published so far (= the next sequence).
    pub fn published_count(&self) -> u64 {
        self.next.unsigned_abs()
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Consumers the ring was built with.
    pub fn consumers(&self) -> usize {
        self.link.shared.consumers.len()
    }

    /// How the ring waits.
    pub fn wait_kind(&self) -> WaitKind {
        self.wait
    }

    /// Whether a consumer has been dropped (the ring will fill up and stay full).
    pub fn is_disconnected(&self) -> bool {
        self.link.shared.any_consumer_dropped()
    }
}

impl<T> fmt::Debug for RingProducer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingProducer")
            .field("capacity", &self.capacity)
            .field("consumers", &self.consumers())
            .field("wait", &self.wait)
            .field("published", &self.next)
            .finish_non_exhaustive()
    }
}

/// A reading end of a ring: sees every event, in order. `Send`, so it can move to its
/// thread; [`RingConsumer::wait`] must then be called from that thread.
pub struct RingConsumer<T> {
    poller: EventPoller<T, SingleProducerBarrier>,
    /// The next sequence to read (= events finished).
    next: i64,
    index: usize,
    /// A parking [`Idle`] for `block` rings (woken by the producer).
    wait: Idle,
    capacity: usize,
    shared: Arc<Shared>,
}

impl<T> RingConsumer<T> {
    /// Slots in the ring: no consumer is ever more than this many events ahead of another.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Handles every event available now, in order, calling `f` on each; returns how many
    /// (0: none now). Never waits. [`Closed`] once the producer is gone and every event was
    /// read.
    #[inline]
    pub fn poll(&mut self, f: impl FnMut(&T)) -> Result<usize, Closed> {
        self.poll_up_to(usize::MAX, f)
    }

    /// Like [`RingConsumer::poll`] but handles at most `limit` events (the rest stay for the
    /// next call); a `limit` of 0 handles none.
    #[inline]
    pub fn poll_up_to(&mut self, limit: usize, mut f: impl FnMut(&T)) -> Result<usize, Closed> {
        match self.poller.take(limit as u64) {
            Ok(mut batch) => {
                let mut n = 0usize;
                for event in &mut batch {
                    f(event);
                    n += 1;
                }
                // Dropping the guard hands the slots back (the crate's Release store).
                drop(batch);
                self.next += n as i64;
                self.shared.consumers[self.index]
                    .consumed
                    .store(self.next, Ordering::Relaxed);
                Ok(n)
            }
            Err(Polling::NoEvents) => Ok(0),
            Err(Polling::Shutdown) => Err(Closed),
        }
    }

    /// Waits once the ring's way: a spin-loop hint (`busy-spin`), a yield (`yield`), or a
    /// park until the producer publishes or closes, at most [`BLOCK_PARK_TIMEOUT`]
    /// (`block`). Call it after a poll returned 0; it may return without anything new.
    #[inline]
    pub fn wait(&mut self) {
        let poller = &self.poller;
        let closed = &self.shared.closed;
        self.wait
            .idle_unless(|| poller.has_available() || closed.load(Ordering::Acquire));
    }

    /// Polls and waits until [`Closed`], calling `f` on every event; returns how many.
    pub fn run(&mut self, mut f: impl FnMut(&T)) -> u64 {
        let mut handled = 0u64;
        loop {
            match self.poll(&mut f) {
                Ok(0) => self.wait(),
                Ok(n) => handled += n as u64,
                Err(Closed) => return handled,
            }
        }
    }

    /// Which consumer of the ring this is (0-based, in build order).
    pub fn index(&self) -> usize {
        self.index
    }

    /// Events handled so far (= the next sequence to read).
    pub fn consumed(&self) -> u64 {
        self.next.unsigned_abs()
    }

    /// How this consumer waits.
    pub fn wait_kind(&self) -> WaitKind {
        self.wait.kind()
    }

    /// Parks and wakes of this consumer (`block` rings; zeros otherwise).
    pub fn wait_stats(&self) -> WaitStats {
        self.wait.stats()
    }
}

impl<T> Drop for RingConsumer<T> {
    fn drop(&mut self) {
        self.shared.consumers[self.index]
            .dropped
            .store(true, Ordering::Release);
    }
}

impl<T> fmt::Debug for RingConsumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingConsumer")
            .field("index", &self.index)
            .field("wait", &self.wait_kind())
            .field("consumed", &self.next)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<T: Copy>(c: &mut RingConsumer<T>) -> Vec<T> {
        let mut out = Vec::new();
        let _ = c.poll(|v| out.push(*v));
        out
    }

    #[test]
    fn capacity_and_consumers_are_validated() {
        for capacity in [0, 3, 6, 1000] {
            assert_eq!(
                ring(capacity, 1, WaitKind::BusySpin, || 0u64).err(),
                Some(RingError::CapacityNotPowerOfTwo { capacity })
            );
        }
        assert_eq!(
            ring(MAX_CAPACITY * 2, 1, WaitKind::Yield, || 0u64).err(),
            Some(RingError::CapacityTooLarge {
                capacity: MAX_CAPACITY * 2,
                max: MAX_CAPACITY
            })
        );
        for consumers in [0, MAX_CONSUMERS + 1] {
            assert_eq!(
                ring(8, consumers, WaitKind::Block, || 0u64).err(),
                Some(RingError::Consumers {
                    consumers,
                    max: MAX_CONSUMERS
                })
            );
        }
        let err = ring(12, 1, WaitKind::Yield, || 0u64).unwrap_err();
        assert_eq!(err.to_string(), "ring capacity 12 is not a power of two");
        assert!(ring(1, 1, WaitKind::BusySpin, || 0u64).is_ok());
    }

    #[test]
    fn full_is_a_typed_outcome_and_the_closure_is_not_called() {
        let (mut p, mut cs) = ring(4, 1, WaitKind::BusySpin, || 0u64).unwrap();
        for i in 0..4u64 {
            assert_eq!(p.try_publish(|v| *v = i), Ok(i as i64));
        }
        assert_eq!(p.fill(), 4);
        let mut called = false;
        assert_eq!(p.try_publish(|_| called = true), Err(RingFull));
        assert!(!called, "a full ring does not call the closure");
        assert_eq!(drain(&mut cs[0]), vec![0, 1, 2, 3]);
        assert_eq!(p.fill(), 0);
        assert_eq!(p.try_publish(|v| *v = 4), Ok(4));
        assert_eq!(p.publish(|v| *v = 5), Ok(5));
        assert_eq!(drain(&mut cs[0]), vec![4, 5]);
        assert_eq!(p.published_count(), 6);
        assert_eq!(cs[0].consumed(), 6);
    }

    #[test]
    fn closed_after_the_producer_is_dropped_and_everything_was_read() {
        for wait in WaitKind::ALL {
            let (mut p, mut cs) = ring(8, 2, wait, || 0u64).unwrap();
            for i in 0..3 {
                p.publish(|v| *v = i).unwrap();
            }
            drop(p);
            for c in &mut cs {
                // Events published before the drop still arrive, then Closed, for good.
                assert_eq!(drain(c), vec![0, 1, 2]);
                assert_eq!(c.poll(|_| {}), Err(Closed));
                c.wait(); // Returns at once: the ring is closed.
                assert_eq!(c.poll(|_| {}), Err(Closed));
                assert_eq!(c.run(|_| {}), 0);
            }
        }
        // Closed without any event.
        let (p, mut cs) = ring(2, 1, WaitKind::Yield, || 0u8).unwrap();
        drop(p);
        assert_eq!(cs[0].poll(|_| {}), Err(Closed));
    }

    #[test]
    fn every_consumer_sees_every_event_in_order_across_wraps() {
        let (mut p, mut cs) = ring(8, 3, WaitKind::Yield, || 0u64).unwrap();
        let mut seen = vec![Vec::new(); 3];
        let mut next = 0u64;
        // Publish uneven bursts (some filling the ring), drain consumers at different paces.
        for round in 0..50u64 {
            let burst = round % 9;
            for _ in 0..burst {
                match p.try_publish(|v| *v = next) {
                    Ok(seq) => {
                        assert_eq!(seq as u64, next);
                        next += 1;
                    }
                    Err(RingFull) => break,
                }
            }
            for (i, c) in cs.iter_mut().enumerate() {
                if (round + i as u64).is_multiple_of(2) || p.fill() == 8 {
                    let _ = c.poll(|v| seen[i].push(*v));
                }
            }
        }
        drop(p);
        for (i, c) in cs.iter_mut().enumerate() {
            c.run(|v| seen[i].push(*v));
            assert_eq!(seen[i], (0..next).collect::<Vec<_>>(), "consumer {i}");
        }
        assert!(next > 100, "the test wraps the ring many times");
    }

    #[test]
    fn the_slowest_consumer_gates_the_producer() {
        let (mut p, mut cs) = ring(4, 2, WaitKind::BusySpin, || 0u32).unwrap();
        for i in 0..4 {
            p.try_publish(|v| *v = i).unwrap();
        }
        assert_eq!(drain(&mut cs[0]).len(), 4);
        assert_eq!(p.try_publish(|_| {}), Err(RingFull), "consumer 1 is behind");
        assert_eq!(p.fill(), 4);
        assert_eq!(cs[1].poll_up_to(1, |v| assert_eq!(*v, 0)), Ok(1));
        assert_eq!(p.fill(), 3);
        assert_eq!(p.try_publish(|v| *v = 4), Ok(4));
        assert_eq!(p.try_publish(|_| {}), Err(RingFull));
        assert_eq!(cs[1].poll_up_to(0, |_| {}), Ok(0));
        assert_eq!(drain(&mut cs[1]), vec![1, 2, 3, 4]);
        assert_eq!(drain(&mut cs[0]), vec![4]);
    }

    #[test]
    fn publish_reports_a_dropped_consumer_instead_of_hanging() {
        for wait in WaitKind::ALL {
            let (mut p, mut cs) = ring(4, 2, wait, || 0u32).unwrap();
            let gone = cs.pop().unwrap();
            assert!(!p.is_disconnected());
            drop(gone);
            assert!(p.is_disconnected());
            // Room is left: publications still succeed (consumer 0 reads them).
            for i in 0..4 {
                assert_eq!(p.publish(|v| *v = i), Ok(i64::from(i)));
            }
            assert_eq!(drain(&mut cs[0]).len(), 4);
            assert_eq!(p.publish(|_| {}), Err(Disconnected));
            assert_eq!(p.try_publish(|_| {}), Err(RingFull));
        }
    }

    #[test]
    fn publish_while_full_runs_other_work_until_there_is_room() {
        let (mut p, mut cs) = ring(2, 1, WaitKind::Yield, || 0u32).unwrap();
        p.publish(|v| *v = 0).unwrap();
        p.publish(|v| *v = 1).unwrap();
        // The "other work" here is the consumer itself: the wait ends when it reads.
        let mut rounds = 0;
        let mut seen = Vec::new();
        let seq = p
            .publish_while_full(
                |v| *v = 2,
                || {
                    rounds += 1;
                    if rounds == 3 {
                        let _ = cs[0].poll(|v| seen.push(*v));
                    }
                },
            )
            .unwrap();
        assert_eq!((seq, rounds, seen), (2, 3, vec![0, 1]));
        assert_eq!(drain(&mut cs[0]), vec![2]);
    }

    #[test]
    fn debug_and_accessors() {
        let (p, cs) = ring(16, 2, WaitKind::Block, || 0u8).unwrap();
        assert_eq!(
            (p.capacity(), p.consumers(), p.wait_kind()),
            (16, 2, WaitKind::Block)
        );
        assert_eq!(cs[1].index(), 1);
        assert_eq!(cs[1].wait_kind(), WaitKind::Block);
        assert_eq!(cs[1].wait_stats(), WaitStats::default());
        assert!(format!("{p:?}").contains("capacity: 16"));
        assert!(format!("{:?}", cs[0]).contains("index: 0"));
    }

    #[test]
    fn types_are_send() {
        fn send<S: Send>() {}
        send::<RingProducer<u64>>();
        send::<RingConsumer<u64>>();
    }
}
