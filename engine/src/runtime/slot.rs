//! What travels in a ring slot: an event and the times the runtime measured about it.

use crate::event::{Event, EventBody, EventHeader};
use crate::instrument::InstrumentId;

/// One ring slot. The event is what the stages see and the journal keeps; the times are
/// measurements only (runtime clock, [`super::clock::now_ns`]) and never reach an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The event.
    pub event: Event,
    /// When the Sequencer published the input this event is (or was caused by).
    pub ingress_ns: u64,
    /// When the publishing thread put this slot on its ring.
    pub published_ns: u64,
    /// On a ring between stage threads: `true` for an output of the upstream stages (sent
    /// ahead of the input that caused it), `false` for the input itself.
    pub upstream: bool,
}

impl Slot {
    /// An empty slot (ring preallocation).
    pub fn empty() -> Self {
        Self {
            event: Event::new(
                EventHeader {
                    sequence: 0,
                    cause_sequence: 0,
                    exchange_ts_ns: 0,
                    receive_ts_ns: 0,
                    instrument: InstrumentId::new(0),
                    price_scale: 0,
                    qty_scale: 0,
                    source: 0,
                },
                EventBody::Timer {
                    timer_id: 0,
                    deadline_ns: 0,
                },
            ),
            ingress_ns: 0,
            published_ns: 0,
            upstream: false,
        }
    }
}
