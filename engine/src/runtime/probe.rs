//! A seam for counting allocations on the runtime's own threads.
//!
//! The runtime cannot see allocations itself (that takes a global allocator, which is the
//! binary's choice). A test installs a counting global allocator and registers, here, a
//! function returning the calling thread's allocation count; the stage threads and the
//! journaler then read it at start, after [`WARMUP_EVENTS`] events and at the end, and
//! report the three numbers ([`AllocCounts`]). That is how the hot-path rule — no
//! allocation after start-up — is shown rather than claimed (see `replay/tests/no_alloc_live.rs`).

use std::sync::OnceLock;

/// Events a thread handles before its "after warm-up" count is taken.
pub const WARMUP_EVENTS: u64 = 1_000;

static PROBE: OnceLock<fn() -> u64> = OnceLock::new();

/// Registers the per-thread allocation counter (once per process; later calls are
/// ignored and return `false`).
pub fn set_alloc_probe(probe: fn() -> u64) -> bool {
    PROBE.set(probe).is_ok()
}

/// The calling thread's allocation count, if a probe is registered.
#[inline]
pub fn allocations() -> Option<u64> {
    PROBE.get().map(|f| f())
}

/// A thread's allocation counts (all `None` without a probe).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocCounts {
    /// When the thread started, before its first event.
    pub at_start: Option<u64>,
    /// After its first [`WARMUP_EVENTS`] events.
    pub after_warmup: Option<u64>,
    /// When it stopped.
    pub at_end: Option<u64>,
    /// Events handled.
    pub events: u64,
}

impl AllocCounts {
    /// Starts counting on the calling thread.
    pub fn start() -> Self {
        Self {
            at_start: allocations(),
            ..Self::default()
        }
    }

    /// Counts one event handled (takes the warm-up reading at the right moment).
    #[inline]
    pub fn event(&mut self) {
        self.events += 1;
        if self.events == WARMUP_EVENTS {
            self.after_warmup = allocations();
        }
    }

    /// Takes the final reading.
    pub fn end(&mut self) {
        self.at_end = allocations();
    }

    /// Allocations between the warm-up reading and the end (`None` without a probe or
    /// before warm-up ended).
    pub fn after_warmup_allocations(&self) -> Option<u64> {
        Some(self.at_end?.saturating_sub(self.after_warmup?))
    }
}
