//! The synthetic market as a [`Market`] for the runner.

use tickrail_engine::Event;
use tickrail_gateways::synthetic::{SubmitError, SyntheticMarket};

use crate::runner::Market;

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
