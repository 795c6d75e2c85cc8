//! Wait strategies: what a ring's consumer does while its ring is empty (and what a
//! producer does while its ring is full).
//!
//! A layout chooses one [`WaitKind`] per thread:
//!
//! - **`busy-spin`** — poll again at once, with a [`std::hint::spin_loop`] hint. Lowest
//!   latency; burns the core. For isolated cores (`config/colo.toml`).
//! - **`yield`** — [`std::thread::yield_now`] between polls. Lets another runnable thread on
//!   the same core run; a `sched_yield` syscall per empty poll.
//! - **`block`** — park the thread ([`std::thread::park_timeout`], at most
//!   [`BLOCK_PARK_TIMEOUT`]) until the producer wakes it. For shared machines and CI where a
//!   spinning thread would steal the core another stage needs.
//!
//! Each kind has a type implementing the `disruptor` crate's
//! [`disruptor::wait_strategies::WaitStrategy`] (`Copy + Send`), so it can also
//! be handed to the crate's managed processors: [`SpinWait`] (the crate's own
//! `BusySpinWithSpinLoopHint`), [`YieldWait`] and [`BlockWait`], the blocking strategy the
//! crate lacks. Our rings ([`super::ring`](mod@super::ring)) use them through event pollers.
//!
//! # Idling
//!
//! [`Idle`] is the one back-off of every wait loop in the runtime and the gateways: a ring
//! consumer with nothing to read, a producer whose ring is full (after its spins, see
//! [`super::ring::PUBLISH_SPINS`]), the journaler with both rings empty, the FIX gateway
//! and venue threads, a stats reader racing the writer. Call [`Idle::idle`] (or
//! [`Idle::idle_unless`]) each time a poll found nothing and [`Idle::reset`] when it found
//! work. Per [`WaitKind`]:
//!
//! - **`busy-spin`**: a [`std::hint::spin_loop`] hint per round.
//! - **`yield`**: a [`std::thread::yield_now`] per round.
//! - **`block`**: with a [`Notifier`] (an [`Idle`] from [`Idle::with_wake`] or a ring
//!   consumer's), a park until the producer wakes it ([the block protocol](#the-block-protocol),
//!   at most [`BLOCK_PARK_TIMEOUT`]). Without one (a thread reading several rings, a
//!   producer waiting for room: nobody wakes them), [`IDLE_BLOCK_YIELDS`] yields after the
//!   last reset, then a sleep of [`IDLE_BLOCK_SLEEP`] per round.
//!
//! # The block protocol
//!
//! One [`Waiter`] per consumer holds a `parked` flag, the consumer's [`Thread`] handle and
//! two counters. The [`Notifier`] of a ring owns the waiters of all its consumers.
//!
//! Consumer ([`BlockWait::park_unless`]), when a poll found nothing:
//!
//! 1. register its `Thread` in the waiter (only if it changed: a lock, no allocation);
//! 2. `parked.store(true)`;
//! 3. **`fence(SeqCst)`** (fence *C*);
//! 4. re-check the ring (`ready()`: the producer cursor, an `Acquire` load; or "closed");
//!    if something is there, clear `parked` and return without parking;
//! 5. `park_timeout(timeout)`; then clear `parked`.
//!
//! Producer ([`Notifier::notify`]), after every publication (the cursor store is a
//! `Release` store inside the crate):
//!
//! 1. **`fence(SeqCst)`** (fence *P*);
//! 2. for each waiter: `parked.load(Relaxed)`; only if it is `true`, `parked.swap(false)`
//!    and, if that returned `true`, `unpark` the registered thread (the only syscall, and
//!    only for a consumer that said it is parked).
//!
//! **Why no wake-up is lost.** It is the store-buffering (Dekker) pattern: the consumer
//! writes `parked` then reads the cursor, the producer writes the cursor then reads
//! `parked`. The two `SeqCst` fences are totally ordered. If *C* comes first, the producer's
//! load of `parked` after *P* sees `true` (or a later value) and it unparks; if *P* comes
//! first, the consumer's cursor load after *C* sees the publication and it does not park.
//! `unpark` before `park` leaves a token, so an unpark that races ahead of the `park` call
//! makes that `park` return at once. Memory written before `unpark` is visible after `park`
//! returns (std documents that `unpark` synchronises with `park`). The `park_timeout`
//! bound is a safety net, not part of the protocol: a missed wake-up (a bug, or a consumer
//! driven through the crate's own processors, whose producer never notifies) costs at most
//! [`BLOCK_PARK_TIMEOUT`]. A stale `parked == true` seen by the producer only costs an
//! `unpark` of a running thread: an atomic swap in std's parker, no syscall; the consumer's
//! next `park` then returns at once and it polls again.
//!
//! **Cost.** A `block` producer pays one `fence(SeqCst)` (`mfence` or a locked
//! instruction on x86-64) and one relaxed load per consumer per publication; the `unpark`
//! syscall only when a consumer is parked. `busy-spin` and `yield` rings skip all of it.
//!
//! # Why waiters are leaked
//!
//! `WaitStrategy` requires `Copy`, so [`BlockWait`] holds a `&'static Waiter`. A
//! [`Notifier`] is therefore allocated once when a `block` ring is built and deliberately
//! leaked ([`Notifier::leak`]): about 128 bytes per consumer. The number of leaked notifiers
//! per process is bounded by [`MAX_BLOCK_RINGS`] (a layout builds a handful of rings at
//! start-up); past it, building another `block` ring fails with a typed error instead of
//! growing without bound.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread::{self, Thread};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use disruptor::wait_strategies::WaitStrategy;
use disruptor::Sequence;

/// How a thread waits when its input ring is empty (config: `"busy-spin"`, `"yield"` or
/// `"block"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitKind {
    /// Poll again at once (spin-loop hint). Lowest latency; burns the core.
    BusySpin,
    /// Yield the core between polls.
    Yield,
    /// Park until the producer publishes (bounded by [`BLOCK_PARK_TIMEOUT`]).
    Block,
}

impl WaitKind {
    /// Every kind, in the order above.
    pub const ALL: [WaitKind; 3] = [WaitKind::BusySpin, WaitKind::Yield, WaitKind::Block];

    /// The config name: `busy-spin`, `yield` or `block`.
    pub fn name(self) -> &'static str {
        match self {
            WaitKind::BusySpin => "busy-spin",
            WaitKind::Yield => "yield",
            WaitKind::Block => "block",
        }
    }
}

impl fmt::Display for WaitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A string that names no [`WaitKind`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown wait strategy {0:?}: expected \"busy-spin\", \"yield\" or \"block\"")]
pub struct ParseWaitKindError(pub String);

impl FromStr for WaitKind {
    type Err = ParseWaitKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WaitKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| ParseWaitKindError(s.to_string()))
    }
}

/// Busy-spin with a spin-loop hint: the `disruptor` crate's own strategy.
pub use disruptor::BusySpinWithSpinLoopHint as SpinWait;

/// Yield the core between polls ([`std::thread::yield_now`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct YieldWait;

impl WaitStrategy for YieldWait {
    #[inline]
    fn wait_for(&self, _sequence: Sequence) {
        thread::yield_now();
    }
}

/// How long a blocked consumer parks at most before it polls again, woken or not. Bounds
/// the cost of a missed wake-up; a correct wake-up comes much sooner.
pub const BLOCK_PARK_TIMEOUT: Duration = Duration::from_micros(200);

/// The most `block` rings (leaked [`Notifier`]s) one process may build.
pub const MAX_BLOCK_RINGS: usize = 1024;

/// The most consumers one [`Notifier`] (one ring) may serve.
pub const MAX_CONSUMERS: usize = 64;

/// Notifiers leaked so far in this process.
static LEAKED_NOTIFIERS: AtomicUsize = AtomicUsize::new(0);

/// A notifier could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotifierError {
    /// [`MAX_BLOCK_RINGS`] notifiers were already leaked in this process.
    #[error("at most {max} block rings per process (each leaks its notifier; see runtime::wait)")]
    TooManyBlockRings {
        /// [`MAX_BLOCK_RINGS`].
        max: usize,
    },
    /// Zero or more than [`MAX_CONSUMERS`] consumers.
    #[error("a notifier serves 1 to {max} consumers, not {consumers}")]
    Consumers {
        /// Asked for.
        consumers: usize,
        /// [`MAX_CONSUMERS`].
        max: usize,
    },
}

/// Counters of a blocking consumer: how often it parked and how often its producer woke it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaitStats {
    /// Times the consumer parked (it found nothing after announcing itself).
    pub parks: u64,
    /// Times the producer unparked it (saw it parked after a publication).
    pub wakes: u64,
}

/// One consumer's parking spot (see the module docs for the protocol).
#[derive(Debug)]
pub struct Waiter {
    /// `true` from just before the consumer re-checks its ring until it is awake again.
    /// Set only by the consumer; cleared by the consumer (after waking or when the re-check
    /// found work) or by the producer (the swap that decides who unparks).
    parked: AtomicBool,
    /// The consumer's thread, registered before `parked` is set. The producer reads it only
    /// after it swapped `parked` from `true`, i.e. after the registration (see
    /// [`Waiter::wake`]).
    thread: Mutex<Option<Thread>>,
    /// Written by the consumer only (relaxed; statistics).
    parks: AtomicU64,
    /// Written by the producer only (relaxed; statistics).
    wakes: AtomicU64,
}

impl Waiter {
    fn new() -> Self {
        Self {
            parked: AtomicBool::new(false),
            thread: Mutex::new(None),
            parks: AtomicU64::new(0),
            wakes: AtomicU64::new(0),
        }
    }

    /// Registers the calling thread as the one to unpark, if it is not already. Slow path
    /// only (right before a park): a `thread::current()` handle clone (a reference count,
    /// no allocation for threads std spawned) and an uncontended lock.
    fn register_current_thread(&self) {
        let me = thread::current();
        let mut slot = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().map(Thread::id) != Some(me.id()) {
            *slot = Some(me);
        }
    }

    /// Unparks the consumer if it said it is parked. The caller must have issued
    /// `fence(SeqCst)` after its publication (fence *P*). Returns whether it unparked.
    #[inline]
    fn wake(&self) -> bool {
        // Relaxed: ordered after the publication by fence P; the common case (consumer
        // busy) ends here with one load of a line the consumer rarely writes.
        if !self.parked.load(Ordering::Relaxed) {
            return false;
        }
        // The swap decides which publication does the unpark (one per park).
        // Acquire: pairs with the consumer's Release store of `true`, so the thread
        // registration (sequenced before it) is visible below. (The mutex would order
        // it too; this keeps the argument local.)
        if !self.parked.swap(false, Ordering::Acquire) {
            return false;
        }
        let slot = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(t) = slot.as_ref() {
            t.unpark();
        }
        drop(slot);
        self.wakes.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Its counters.
    pub fn stats(&self) -> WaitStats {
        WaitStats {
            parks: self.parks.load(Ordering::Relaxed),
            wakes: self.wakes.load(Ordering::Relaxed),
        }
    }
}

/// The waiters of one ring's consumers, owned by the ring's producer side. Leaked once per
/// `block` ring ([`Notifier::leak`]).
#[derive(Debug)]
pub struct Notifier {
    /// One per consumer, each on its own cache line: the producer reads every `parked` flag
    /// after each publication, and a consumer writes only its own.
    waiters: Box<[CachePadded<Waiter>]>,
    /// How long a consumer parks at most.
    timeout: Duration,
}

impl Notifier {
    /// Allocates a notifier for `consumers` consumers and leaks it (see the module docs):
    /// fails past [`MAX_BLOCK_RINGS`] per process or outside 1..=[`MAX_CONSUMERS`]
    /// consumers.
    pub fn leak(consumers: usize, timeout: Duration) -> Result<&'static Notifier, NotifierError> {
        if consumers == 0 || consumers > MAX_CONSUMERS {
            return Err(NotifierError::Consumers {
                consumers,
                max: MAX_CONSUMERS,
            });
        }
        // Count first, so concurrent builders cannot overshoot the bound.
        let counted = LEAKED_NOTIFIERS.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            (n < MAX_BLOCK_RINGS).then_some(n + 1)
        });
        if counted.is_err() {
            return Err(NotifierError::TooManyBlockRings {
                max: MAX_BLOCK_RINGS,
            });
        }
        let waiters = (0..consumers)
            .map(|_| CachePadded::new(Waiter::new()))
            .collect();
        Ok(Box::leak(Box::new(Notifier { waiters, timeout })))
    }

    /// Consumers served.
    pub fn consumers(&self) -> usize {
        self.waiters.len()
    }

    /// The wait strategy of consumer `index`, or `None` past the last consumer.
    pub fn strategy(&'static self, index: usize) -> Option<BlockWait> {
        self.waiters.get(index).map(|w| BlockWait {
            waiter: w,
            timeout: self.timeout,
        })
    }

    /// Consumer `index`'s counters (zeros past the last consumer).
    pub fn stats(&self, index: usize) -> WaitStats {
        self.waiters
            .get(index)
            .map_or_else(WaitStats::default, |w| w.stats())
    }

    /// Call after every publication: wakes every consumer that said it is parked. Returns
    /// how many were woken. No syscall unless one was parked.
    #[inline]
    pub fn notify(&self) -> usize {
        // Fence P: orders the caller's cursor store (Release, inside the crate) before the
        // loads of `parked` below. Pairs with fence C in `BlockWait::park_unless`.
        fence(Ordering::SeqCst);
        let mut woken = 0;
        for w in self.waiters.iter() {
            woken += usize::from(w.wake());
        }
        woken
    }
}

/// Park until the producer publishes (see the module docs): the blocking strategy the
/// `disruptor` crate lacks. `Copy` because the crate's trait requires it: it refers to its
/// consumer's [`Waiter`] inside a leaked [`Notifier`].
#[derive(Debug, Clone, Copy)]
pub struct BlockWait {
    waiter: &'static Waiter,
    timeout: Duration,
}

impl BlockWait {
    /// The consumer side of the protocol: announces itself parked, re-checks `ready` after
    /// fence C and parks (at most the timeout) only if `ready()` is `false`. `ready` must
    /// read what the producer publishes before it notifies (the producer cursor, a
    /// closed flag) with at least `Relaxed` ordering. Returns whether it parked.
    ///
    /// Must be called by the consumer's own thread (it registers the calling thread).
    pub fn park_unless(&self, ready: impl FnOnce() -> bool) -> bool {
        let w = self.waiter;
        w.register_current_thread();
        // Release: the registration above is visible to the producer that swaps this
        // `true` back to `false` with Acquire (`Waiter::wake`).
        w.parked.store(true, Ordering::Release);
        // Fence C: orders the store above before the loads in `ready()`. Pairs with fence P
        // in `Notifier::notify`.
        fence(Ordering::SeqCst);
        if ready() {
            w.parked.store(false, Ordering::Relaxed);
            return false;
        }
        w.parks.fetch_add(1, Ordering::Relaxed);
        thread::park_timeout(self.timeout);
        // Relaxed: only this thread ever sets `true`; a producer that still sees `true`
        // unparks a running thread (a token, no syscall).
        w.parked.store(false, Ordering::Relaxed);
        true
    }

    /// This consumer's counters.
    pub fn stats(&self) -> WaitStats {
        self.waiter.stats()
    }

    /// The park bound.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

impl WaitStrategy for BlockWait {
    /// Through the crate's managed processors there is nothing to re-check here (the trait
    /// passes only the awaited sequence) and the crate's producers do not notify, so this
    /// parks for the timeout unless someone calls [`Notifier::notify`]: a bounded sleep.
    fn wait_for(&self, _sequence: Sequence) {
        self.park_unless(|| false);
    }
}

/// Yields a `block` [`Idle`] without a notifier makes after a reset before it sleeps: the
/// work often comes back within a few scheduler rounds, and a sleep costs at least the
/// timer slack (50 µs by default on Linux) in latency.
pub const IDLE_BLOCK_YIELDS: u32 = 16;

/// How long a `block` [`Idle`] without a notifier sleeps per round once its yields are
/// spent: keeps the thread off a shared core, at the cost of up to this much lag (plus
/// timer slack) when work comes back.
pub const IDLE_BLOCK_SLEEP: Duration = Duration::from_micros(20);

/// A thread's back-off when it has nothing to do (see [Idling](self#idling)). `Copy` and
/// small; no allocation, no syscall but the yield, sleep or park its kind asks for.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    kind: WaitKind,
    /// Rounds idled since the last [`Idle::reset`] (saturating).
    rounds: u32,
    /// `block` with a notifier: park until woken.
    park: Option<BlockWait>,
}

impl Idle {
    /// The back-off for `kind`; `block` yields, then sleeps (nobody wakes it).
    pub const fn new(kind: WaitKind) -> Self {
        Self {
            kind,
            rounds: 0,
            park: None,
        }
    }

    /// The back-off for `kind` and the handle its producers call after pushing work: for
    /// `block`, the thread parks on a notifier of its own (leaked, one consumer; see
    /// [`Notifier::leak`]) and [`Wake::wake`] unparks it. For the other kinds the handle
    /// does nothing.
    pub fn with_wake(kind: WaitKind) -> Result<(Self, Wake), NotifierError> {
        if kind != WaitKind::Block {
            return Ok((Self::new(kind), Wake(None)));
        }
        let notifier = Notifier::leak(1, BLOCK_PARK_TIMEOUT)?;
        let idle = Self {
            park: notifier.strategy(0),
            ..Self::new(kind)
        };
        Ok((idle, Wake(Some(notifier))))
    }

    /// A `block` back-off that parks on `wait` (a ring consumer's waiter).
    pub(crate) const fn parking(wait: BlockWait) -> Self {
        Self {
            kind: WaitKind::Block,
            rounds: 0,
            park: Some(wait),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> WaitKind {
        self.kind
    }

    /// Waits once (call it when a poll found nothing): spins, yields, parks until woken, or
    /// yields then sleeps (see [Idling](self#idling)).
    #[inline]
    pub fn idle(&mut self) {
        self.idle_unless(|| false);
    }

    /// Like [`Idle::idle`], but a parking `block` back-off re-checks `ready()` after it
    /// announced itself parked and does not park if it is `true`. `ready` must read what the
    /// producers push before they wake (a queue's length, a ring cursor, a closed flag).
    #[inline]
    pub fn idle_unless(&mut self, ready: impl FnOnce() -> bool) {
        match self.kind {
            WaitKind::BusySpin => std::hint::spin_loop(),
            WaitKind::Yield => thread::yield_now(),
            WaitKind::Block => match self.park {
                Some(b) => {
                    b.park_unless(ready);
                }
                None => {
                    if self.rounds < IDLE_BLOCK_YIELDS {
                        self.rounds += 1;
                        thread::yield_now();
                    } else {
                        thread::sleep(IDLE_BLOCK_SLEEP);
                    }
                }
            },
        }
    }

    /// Work was found: the next idle round starts the back-off over.
    #[inline]
    pub fn reset(&mut self) {
        self.rounds = 0;
    }

    /// Parks and wakes (a parking `block` back-off; zeros otherwise).
    pub fn stats(&self) -> WaitStats {
        self.park.map_or_else(WaitStats::default, |b| b.stats())
    }
}

/// The producers' side of an [`Idle::with_wake`]: wakes the thread if it is parked
/// (`block` only; a no-op otherwise).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wake(Option<&'static Notifier>);

impl Wake {
    /// Call after pushing work for the thread: a fence and one load, and an `unpark` only
    /// when the thread is parked.
    #[inline]
    pub fn wake(self) {
        if let Some(n) = self.0 {
            n.notify();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn idle_kinds() {
        for kind in [WaitKind::BusySpin, WaitKind::Yield] {
            let (mut idle, wake) = Idle::with_wake(kind).unwrap();
            assert_eq!(idle.kind(), kind);
            wake.wake();
            idle.idle();
            idle.idle_unless(|| false);
            assert_eq!(idle.stats(), WaitStats::default());
        }
        // Block without a notifier: yields, then bounded sleeps; a reset starts over.
        let mut idle = Idle::new(WaitKind::Block);
        for _ in 0..IDLE_BLOCK_YIELDS + 2 {
            idle.idle();
        }
        assert_eq!(idle.rounds, IDLE_BLOCK_YIELDS);
        idle.reset();
        assert_eq!(idle.rounds, 0);
        assert_eq!(idle.stats(), WaitStats::default());
    }

    #[test]
    fn parking_idle_is_woken() {
        let (mut idle, wake) = Idle::with_wake(WaitKind::Block).unwrap();
        assert_eq!(idle.kind(), WaitKind::Block);
        // Ready: no park.
        idle.idle_unless(|| true);
        assert_eq!(idle.stats().parks, 0);
        let flag = Arc::new(AtomicBool::new(false));
        let consumer = {
            let flag = Arc::clone(&flag);
            thread::spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    idle.idle_unless(|| flag.load(Ordering::Acquire));
                }
                idle.stats()
            })
        };
        flag.store(true, Ordering::Release);
        wake.wake();
        let stats = consumer.join().unwrap();
        assert!(stats.wakes <= stats.parks, "{stats:?}");
    }

    #[test]
    fn names_round_trip() {
        for k in WaitKind::ALL {
            assert_eq!(k.to_string().parse::<WaitKind>(), Ok(k));
        }
        assert_eq!("busy-spin".parse::<WaitKind>(), Ok(WaitKind::BusySpin));
        let err = "spin".parse::<WaitKind>().unwrap_err();
        assert_eq!(err, ParseWaitKindError("spin".into()));
        assert!(err.to_string().contains("busy-spin"), "{err}");
    }

    #[test]
    fn deserializes_kebab_case() {
        #[derive(serde::Deserialize)]
        struct T {
            wait: WaitKind,
        }
        for (text, kind) in [
            ("busy-spin", WaitKind::BusySpin),
            ("yield", WaitKind::Yield),
            ("block", WaitKind::Block),
        ] {
            let t: T = toml::from_str(&format!("wait = \"{text}\"")).unwrap();
            assert_eq!(t.wait, kind);
        }
        assert!(toml::from_str::<T>("wait = \"BusySpin\"").is_err());
        assert!(toml::from_str::<T>("wait = \"busy_spin\"").is_err());
    }

    #[test]
    fn notifier_bounds() {
        assert!(matches!(
            Notifier::leak(0, BLOCK_PARK_TIMEOUT),
            Err(NotifierError::Consumers { consumers: 0, .. })
        ));
        assert!(matches!(
            Notifier::leak(MAX_CONSUMERS + 1, BLOCK_PARK_TIMEOUT),
            Err(NotifierError::Consumers { .. })
        ));
        let n = Notifier::leak(2, BLOCK_PARK_TIMEOUT).unwrap();
        assert_eq!(n.consumers(), 2);
        assert!(n.strategy(1).is_some());
        assert!(n.strategy(2).is_none());
    }

    #[test]
    fn ready_means_no_park_and_no_wake() {
        let n = Notifier::leak(1, BLOCK_PARK_TIMEOUT).unwrap();
        let w = n.strategy(0).unwrap();
        assert!(!w.park_unless(|| true));
        assert_eq!(n.notify(), 0, "nobody is parked");
        assert_eq!(w.stats(), WaitStats::default());
    }

    #[test]
    fn timeout_bounds_a_park_without_wake() {
        let n = Notifier::leak(1, Duration::from_millis(2)).unwrap();
        let w = n.strategy(0).unwrap();
        // Some parks may return early (a stale unpark token); each is bounded.
        for _ in 0..3 {
            assert!(w.park_unless(|| false));
        }
        assert_eq!(w.stats().parks, 3);
        assert_eq!(w.stats().wakes, 0);
    }

    #[test]
    fn producer_wakes_a_parked_consumer() {
        // A long timeout: the consumer returns only because it is woken.
        let n = Notifier::leak(1, Duration::from_secs(30)).unwrap();
        let w = n.strategy(0).unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let consumer = {
            let flag = Arc::clone(&flag);
            thread::spawn(move || {
                while !flag.load(Ordering::Acquire) {
                    w.park_unless(|| flag.load(Ordering::Acquire));
                }
            })
        };
        // Wait until it announced itself parked, then "publish" and notify.
        while w.stats().parks == 0 {
            thread::yield_now();
        }
        flag.store(true, Ordering::Release);
        n.notify();
        consumer.join().unwrap();
        let s = w.stats();
        assert!(s.parks >= 1 && s.wakes >= 1, "{s:?}");
    }
}
