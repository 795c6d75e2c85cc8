//! The synthetic market as a [`Market`] for the single-thread runner and a [`LiveMarket`]
//! for the feed thread of a live run.

use tickrail_engine::runtime::{LiveMarket, Market};
use tickrail_engine::Event;

use crate::synthetic::{SubmitError, SyntheticMarket, SyntheticStats};

impl Market for SyntheticMarket {
    type Error = SubmitError;

    fn next_input(&mut self) -> Option<Event> {
        self.next_event()
    }

    fn next_due_ns(&mut self) -> Option<i64> {
        SyntheticMarket::next_due_ns(self)
    }

    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), SubmitError> {
        SyntheticMarket::submit(self, now_ns, request)
    }
}

impl LiveMarket for SyntheticMarket {
    type Report = SyntheticStats;

    fn now_ns(&self) -> i64 {
        SyntheticMarket::now_ns(self)
    }

    fn finish(&self) -> SyntheticStats {
        *self.stats()
    }
}
