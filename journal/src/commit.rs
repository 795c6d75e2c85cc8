//! The commit protocol, in one place so that `loom` can check it.
//!
//! The writer first claims the slot (relaxed store of the length without the commit bit),
//! then writes the payload and the other header fields with plain stores. A record is
//! published by a single release store of its length word with the commit bit set, after
//! every other byte of the record has been written. A reader acquire-loads the length word; if it sees
//! the commit bit it also sees every byte written before the store (release/acquire pair),
//! so it can never observe a half-written record. A zero word means "nothing here yet".
//!
//! Memory ordering:
//! - writer: relaxed claim of word 0, plain stores of payload and header bytes 4..32, then
//!   `store(Release)` of word 0.
//! - reader of a read-only map: `load(Relaxed)` then `fence(Acquire)` (see `observe_read_only`).
//! - reader: `load(Acquire)` of word 0, then plain loads of the record bytes.
//! - recovery zeroes a cut tail while holding the writer lock, before any record is appended:
//!   the length word first (atomically), then the rest with plain stores.

#[cfg(loom)]
use loom::sync::atomic::fence;
#[cfg(not(loom))]
use std::sync::atomic::fence;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::format::COMMIT_BIT;

/// What a reader finds in a length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// Zero: no record has been published here (yet).
    Empty,
    /// A committed record of this length (header plus payload).
    Committed(u32),
    /// Claimed but not committed: the writer announced a record of this length and is
    /// writing it (live), or died while writing it (torn tail).
    Claimed(u32),
}

/// A 32-bit atomic cell: the real one over a memory map, or loom's in the model check.
pub(crate) trait Cell32 {
    fn store(&self, v: u32, o: Ordering);
    fn load(&self, o: Ordering) -> u32;
}

impl Cell32 for AtomicU32 {
    #[inline]
    fn store(&self, v: u32, o: Ordering) {
        AtomicU32::store(self, v, o)
    }
    #[inline]
    fn load(&self, o: Ordering) -> u32 {
        AtomicU32::load(self, o)
    }
}

#[cfg(loom)]
impl Cell32 for loom::sync::atomic::AtomicU32 {
    fn store(&self, v: u32, o: Ordering) {
        loom::sync::atomic::AtomicU32::store(self, v, o)
    }
    fn load(&self, o: Ordering) -> u32 {
        loom::sync::atomic::AtomicU32::load(self, o)
    }
}

/// Claim a slot for a record of `length` bytes before writing it. The claim makes a torn
/// record recognisable after a crash: its length word holds the length without the commit
/// bit. Relaxed: the claim carries no data that a reader may rely on.
#[inline]
pub(crate) fn claim(word: &impl Cell32, length: u32) {
    debug_assert!(length & COMMIT_BIT == 0 && length != 0);
    word.store(length, Ordering::Relaxed);
}

/// Publish a record of `length` bytes whose other bytes are already written.
#[inline]
pub(crate) fn publish(word: &impl Cell32, length: u32) {
    debug_assert!(length & COMMIT_BIT == 0);
    word.store(length | COMMIT_BIT, Ordering::Release);
}

/// Observe the length word of a possibly-live record.
#[inline]
pub(crate) fn observe(word: &impl Cell32) -> Word {
    decode(word.load(Ordering::Acquire))
}

/// Observe the length word through a read-only mapping: a relaxed load followed by an
/// acquire fence, which orders the later plain loads of the record exactly as an acquire
/// load would (an acquire load may be an RMW on some targets, not allowed on read-only
/// memory).
#[inline]
pub(crate) fn observe_read_only(word: &impl Cell32) -> Word {
    let raw = word.load(Ordering::Relaxed);
    fence(Ordering::Acquire);
    decode(raw)
}

/// Classify a raw length word.
#[inline]
pub fn decode(raw: u32) -> Word {
    if raw == 0 {
        Word::Empty
    } else if raw & COMMIT_BIT == 0 {
        Word::Claimed(raw)
    } else {
        Word::Committed(raw & !COMMIT_BIT)
    }
}

#[cfg(all(test, loom))]
#[allow(unsafe_code, reason = "loom's UnsafeCell models the record bytes")]
mod loom_tests {
    //! `RUSTFLAGS="--cfg loom" cargo test -p tickrail-journal --release commit::loom`
    use super::*;
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::AtomicU32;
    use loom::sync::Arc;

    struct Slot {
        word: AtomicU32,
        payload: UnsafeCell<[u64; 2]>,
    }
    // SAFETY: access to `payload` is ordered by the commit protocol under test; loom
    // reports any access that is not.
    unsafe impl Sync for Slot {}

    #[test]
    fn reader_never_sees_a_half_written_record() {
        model::<false>();
    }

    #[test]
    fn read_only_reader_never_sees_a_half_written_record() {
        model::<true>();
    }

    fn model<const READ_ONLY: bool>() {
        loom::model(|| {
            let slot = Arc::new(Slot {
                word: AtomicU32::new(0),
                payload: UnsafeCell::new([0; 2]),
            });
            let w = slot.clone();
            let writer = loom::thread::spawn(move || {
                // SAFETY: the single writer owns the slot until it publishes.
                claim(&w.word, 48);
                w.payload.with_mut(|p| unsafe { *p = [0xAB, 0xCD] });
                publish(&w.word, 48);
            });
            let seen = if READ_ONLY {
                observe_read_only(&slot.word)
            } else {
                observe(&slot.word)
            };
            match seen {
                Word::Empty => {}
                Word::Committed(len) => {
                    assert_eq!(len, 48);
                    // SAFETY: published; loom checks the happens-before edge.
                    let p = slot.payload.with(|p| unsafe { *p });
                    assert_eq!(p, [0xAB, 0xCD]);
                }
                Word::Claimed(len) => assert_eq!(len, 48),
            }
            writer.join().unwrap();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_classify() {
        assert_eq!(decode(0), Word::Empty);
        assert_eq!(decode(40), Word::Claimed(40));
        assert_eq!(decode(40 | COMMIT_BIT), Word::Committed(40));
    }
}
