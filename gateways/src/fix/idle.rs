//! How the FIX gateway and venue threads wait when they have nothing to do: the engine's
//! wait strategies ([`WaitKind`], `engine/src/runtime/wait.rs`), so a gateway thread can
//! spin on an isolated core, yield on a shared one, or park until woken.
//!
//! With `block`, the thread parks on a leaked [`Notifier`] (one consumer: this thread) and
//! every producer — the QuickFIX callback thread after pushing a message, the engine's
//! feed thread after submitting a request — calls [`Wake::wake`]: a fence and one load, and
//! an `unpark` only when the thread is parked. The park is bounded by
//! [`BLOCK_PARK_TIMEOUT`], which also paces the thread's own timers (reconciliation
//! deadline, the venue's synthetic market).

use std::time::Duration;

use tickrail_engine::runtime::wait::{BlockWait, Notifier, NotifierError, BLOCK_PARK_TIMEOUT};
use tickrail_engine::runtime::WaitKind;

/// The producers' side: wakes the thread if it is parked (`block` only).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wake(Option<&'static Notifier>);

impl Wake {
    /// Call after pushing work for the thread.
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(n) = self.0 {
            n.notify();
        }
    }
}

/// The thread's side.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idle {
    kind: WaitKind,
    block: Option<BlockWait>,
}

impl Idle {
    /// The strategy for `kind` and the wake handle its producers call.
    pub(crate) fn new(kind: WaitKind) -> Result<(Self, Wake), NotifierError> {
        if kind != WaitKind::Block {
            return Ok((Self { kind, block: None }, Wake(None)));
        }
        let notifier = Notifier::leak(1, BLOCK_PARK_TIMEOUT)?;
        let block = notifier.strategy(0);
        Ok((Self { kind, block }, Wake(Some(notifier))))
    }

    /// Waits once: spins, yields, or parks unless `ready()` (which must read what the
    /// producers push before they wake).
    pub(crate) fn wait(&self, ready: impl FnOnce() -> bool) {
        match (self.kind, self.block) {
            (WaitKind::BusySpin, _) => std::hint::spin_loop(),
            (WaitKind::Yield, _) => std::thread::yield_now(),
            (WaitKind::Block, Some(b)) => {
                b.park_unless(ready);
            }
            (WaitKind::Block, None) => std::thread::sleep(Duration::from_micros(200)),
        }
    }
}
