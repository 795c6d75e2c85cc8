//! What the engine trades against: a [`Market`] produces inputs (market data, execution
//! reports) in delivery order and takes order requests; a [`LiveMarket`] also has a clock
//! and can wind down on request, so the feed thread ([`super::feed`]) can drive it.
//!
//! The single-thread runner of a backtest or a replay (`tickrail_replay::Runner`) drives a
//! [`Market`]; a live run drives a [`LiveMarket`]. The implementations live with the outside
//! world they stand for: the synthetic market and the gateways (UDP feed + FIX session) in
//! `tickrail_gateways::live`, the historical market in `tickrail_replay::backtest`.

use crate::Event;

/// A market to trade against: it produces inputs (market data, execution reports) in
/// delivery-time order and accepts order requests.
pub trait Market {
    /// Why a request could not be submitted.
    type Error: std::fmt::Display;

    /// The next input, or `None` when the market is done.
    fn next_input(&mut self) -> Option<Event>;

    /// A lower bound on the receive time of the next input, without taking it (`None`
    /// when the market is done). Timers due by then enter before that input.
    fn next_due_ns(&mut self) -> Option<i64>;

    /// Submits an order request at event time `now_ns`.
    fn submit(&mut self, now_ns: i64, request: &Event) -> Result<(), Self::Error>;
}

/// What the feed thread of a live run trades against: a [`Market`] with a clock. The
/// synthetic market is one; real gateways (a UDP feed and a FIX session) are another.
pub trait LiveMarket: Market + Send + 'static {
    /// What the market reports about itself at the end of the run.
    type Report: std::fmt::Debug + Default + Send + 'static;

    /// The market's clock: event time now, ns since the Unix epoch.
    fn now_ns(&self) -> i64;

    /// The market's report at the end of the run.
    fn finish(&self) -> Self::Report;

    /// A stop was requested (SIGINT/SIGTERM, `LiveControl::stop`). `false` (the default):
    /// the input closes now. `true`: the market winds down by itself and the feed thread
    /// keeps taking its inputs until it says it is done (the gateways hand over the reports
    /// their session took before it closed).
    fn request_stop(&mut self) -> bool {
        false
    }
}
