//! # tickrail-replay
//!
//! Running the trading chain single-threaded against a market, and (issue 5) replaying and
//! verifying journals, backtesting on historical data and reporting.
//!
//! - [`runner`]: the single-thread loop — market, Sequencer, fused chain — used by the
//!   end-to-end and determinism tests and, later, by `tickrail backtest` and `replay`. The
//!   synthetic market of `tickrail-gateways` implements its [`Market`] trait.

pub mod backtest;
pub mod backtest_job;
pub mod gateway_market;
pub mod journal_sink;
pub mod live;
pub mod report;
pub mod resume;
pub mod runner;
pub mod shadow;
pub mod snapshot;
pub mod state;
mod synthetic;
pub mod verify;

pub use gateway_market::{GatewayMarket, GatewayReport};
pub use journal_sink::{JournalSink, JournalSinkError};
pub use live::{
    resume_live, run_live, run_live_with, FeedReport, LiveControl, LiveError, LiveMarket,
    LiveReport,
};
pub use runner::{Market, NullSink, Recorder, RunSummary, Runner, Sink};
pub use verify::{replay_run, verify_run, Point, ReplayOptions, Replayed, Verdict, VerifyError};
