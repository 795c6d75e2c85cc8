//! Stress tests for the rings: a producer thread publishes N sequence numbers to two
//! parallel consumer threads, for each wait strategy; each consumer checks that it sees
//! 0..N in order, with no gap, no duplicate and no torn slot. The same runs count heap
//! allocations on the producer and consumer threads (a counting global allocator): after
//! the ring is built, publishing and polling allocate nothing.
//!
//! Short by default (2 M events per scenario); set `TICKRAIL_STRESS_EVENTS` for longer runs:
//!
//! ```text
//! TICKRAIL_STRESS_EVENTS=50000000 cargo test -p tickrail-engine --profile ci --test ring_stress
//! ```
//!
//! The scenarios run one at a time (a lock): each uses three threads, and on a 2-core
//! machine two busy-spinning scenarios at once would starve each other.

use std::hint;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use tickrail_engine::alloc_count::{allocations_in, CountingAllocator};
use tickrail_engine::runtime::{ring, RingConsumer, RingFull, WaitKind, WaitStats};

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// One scenario at a time (see the module docs).
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Events per scenario: `TICKRAIL_STRESS_EVENTS` or 2 M.
fn events() -> u64 {
    std::env::var("TICKRAIL_STRESS_EVENTS")
        .ok()
        .and_then(|s| s.trim().replace('_', "").parse().ok())
        .unwrap_or(2_000_000)
}

/// A 64-byte slot whose every word is derived from the sequence, so a slot read while it
/// is being overwritten (a torn read) shows.
#[derive(Debug, Clone, Copy, Default)]
struct Msg {
    seq: u64,
    words: [u64; 7],
}

const _: () = assert!(std::mem::size_of::<Msg>() == 64);

impl Msg {
    #[inline]
    fn write(&mut self, seq: u64) {
        self.seq = seq;
        for (i, w) in self.words.iter_mut().enumerate() {
            *w = seq.rotate_left(i as u32 * 9) ^ 0x9e37_79b9_7f4a_7c15;
        }
    }

    #[inline]
    fn intact(&self) -> bool {
        self.words
            .iter()
            .enumerate()
            .all(|(i, w)| *w == self.seq.rotate_left(i as u32 * 9) ^ 0x9e37_79b9_7f4a_7c15)
    }
}

#[derive(Debug, Clone, Copy)]
struct Scenario {
    wait: WaitKind,
    capacity: usize,
    events: u64,
    /// Publish with `try_publish`, counting full outcomes and retrying, instead of `publish`.
    try_publish: bool,
    /// Pause this long after every `burst` events (consumers drain and wait).
    burst: Option<(u64, Duration)>,
    /// Consumer 1 spins this many times per event (it falls behind; the ring fills).
    slow_spins: u32,
}

#[derive(Debug)]
struct ConsumerOutcome {
    handled: u64,
    /// The first (expected, seen) mismatch or torn slot.
    first_bad: Option<(u64, u64)>,
    allocations: u64,
    stats: WaitStats,
}

#[derive(Debug)]
struct Outcome {
    published: u64,
    fulls: u64,
    producer_allocations: u64,
    consumers: Vec<ConsumerOutcome>,
}

fn consume(mut c: RingConsumer<Msg>, slow_spins: u32) -> ConsumerOutcome {
    let mut expected = 0u64;
    let mut first_bad = None;
    let (allocations, handled) = allocations_in(|| {
        c.run(|m| {
            if (m.seq != expected || !m.intact()) && first_bad.is_none() {
                first_bad = Some((expected, m.seq));
            }
            expected += 1;
            for _ in 0..slow_spins {
                hint::spin_loop();
            }
        })
    });
    ConsumerOutcome {
        handled,
        first_bad,
        allocations,
        stats: c.wait_stats(),
    }
}

fn run(s: Scenario) -> Outcome {
    let (mut producer, consumers) =
        ring(s.capacity, 2, s.wait, Msg::default).expect("a valid ring");
    let handles: Vec<_> = consumers
        .into_iter()
        .map(|c| {
            let slow = if c.index() == 1 { s.slow_spins } else { 0 };
            thread::spawn(move || consume(c, slow))
        })
        .collect();
    let producer = thread::spawn(move || {
        let mut fulls = 0u64;
        let (allocations, ()) = allocations_in(|| {
            for seq in 0..s.events {
                if s.try_publish {
                    while let Err(RingFull) = producer.try_publish(|m| m.write(seq)) {
                        fulls += 1;
                        thread::yield_now();
                    }
                } else {
                    producer
                        .publish(|m| m.write(seq))
                        .expect("no consumer is dropped");
                }
                if let Some((burst, pause)) = s.burst {
                    if seq % burst == burst - 1 {
                        thread::sleep(pause);
                    }
                }
            }
        });
        let published = producer.published_count();
        drop(producer); // Closes the ring.
        (published, fulls, allocations)
    });
    let (published, fulls, producer_allocations) = producer.join().expect("the producer thread");
    Outcome {
        published,
        fulls,
        producer_allocations,
        consumers: handles
            .into_iter()
            .map(|h| h.join().expect("a consumer thread"))
            .collect(),
    }
}

fn check(s: Scenario, o: &Outcome) {
    eprintln!("{s:?}\n  -> {o:?}");
    assert_eq!(o.published, s.events, "{s:?}");
    assert_eq!(o.producer_allocations, 0, "producer allocated: {s:?} {o:?}");
    for (i, c) in o.consumers.iter().enumerate() {
        assert_eq!(
            c.first_bad, None,
            "consumer {i}: gap, duplicate or torn slot: {s:?}"
        );
        assert_eq!(c.handled, s.events, "consumer {i}: {s:?} {o:?}");
        assert_eq!(c.allocations, 0, "consumer {i} allocated: {s:?} {o:?}");
    }
}

#[test]
fn the_allocation_counter_counts() {
    let (count, v) = allocations_in(|| Vec::<u64>::with_capacity(4));
    assert!(count >= 1 && v.capacity() >= 4);
}

#[test]
fn busy_spin_two_consumers_see_every_event() {
    let _serial = serial();
    let s = Scenario {
        wait: WaitKind::BusySpin,
        // Large: three spinning threads share two cores here; the producer runs ahead by a
        // whole ring per time slice.
        capacity: 1 << 16,
        events: events(),
        try_publish: false,
        burst: None,
        slow_spins: 0,
    };
    let o = run(s);
    check(s, &o);
}

#[test]
fn yield_two_consumers_see_every_event_with_try_publish_and_a_slow_consumer() {
    let _serial = serial();
    let s = Scenario {
        wait: WaitKind::Yield,
        capacity: 1024,
        events: events(),
        try_publish: true,
        burst: None,
        slow_spins: 8,
    };
    let o = run(s);
    check(s, &o);
    assert!(o.fulls > 0, "the slow consumer fills the ring: {o:?}");
}

#[test]
fn block_parks_and_wakes_with_a_bursty_producer_and_a_slow_consumer() {
    let _serial = serial();
    let s = Scenario {
        wait: WaitKind::Block,
        capacity: 256,
        events: events(),
        try_publish: false,
        // Pauses long enough for both consumers to drain and park.
        burst: Some((4096, Duration::from_micros(300))),
        slow_spins: 8,
    };
    let o = run(s);
    check(s, &o);
    for (i, c) in o.consumers.iter().enumerate() {
        assert!(
            c.stats.parks >= 1 && c.stats.wakes >= 1,
            "consumer {i} must have parked and been woken: {:?}",
            c.stats
        );
    }
}

#[test]
fn block_with_a_steady_producer() {
    let _serial = serial();
    let s = Scenario {
        wait: WaitKind::Block,
        capacity: 1024,
        events: events() / 2,
        try_publish: true,
        burst: None,
        slow_spins: 0,
    };
    let o = run(s);
    check(s, &o);
}
