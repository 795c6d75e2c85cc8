//! A counting global allocator for tests that prove "no allocation on the hot path".
//!
//! A test binary installs it with
//! `#[global_allocator] static A: CountingAllocator = CountingAllocator;` and reads the
//! calling thread's count with [`thread_allocations`] (or [`allocations_in`]). Counts are
//! per thread, so tests running in parallel never charge each other; the threaded runtime
//! reads them on its own threads through [`crate::runtime::probe`].
//!
//! A test fixture, not part of the engine: compiled for this crate's tests and, through the
//! `test-support` feature, for the tests of other crates.

// A `GlobalAlloc` impl is necessarily `unsafe`; it only forwards to `System`.
#![allow(
    unsafe_code,
    reason = "a GlobalAlloc impl is unsafe; it only forwards to System"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

/// Allocations (alloc, alloc_zeroed, realloc) made on the calling thread so far, when
/// [`CountingAllocator`] is the global allocator (0 otherwise).
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

/// Allocations made on the calling thread while running `f`, and its result.
pub fn allocations_in<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = thread_allocations();
    let r = f();
    (thread_allocations() - before, r)
}

/// The counting allocator: `System`, plus a per-thread count.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAllocator;

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; counting touches only a const thread-local.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: forwarded; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded; the caller upholds `dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}
