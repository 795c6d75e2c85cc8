//! # tickrail-replay
//!
//! Replay, verification, backtests and reports: the trading chain run single-threaded
//! against a market, and a live run's journal re-driven and checked.
//!
//! - [`runner`]: the single-thread loop — market, Sequencer, fused chain — of a backtest, a
//!   replay and the determinism tests; any `tickrail_engine::runtime::Market` drives it.
//! - [`verify`]: `tickrail replay RUN --verify`; [`state`]: the state at an input.
//! - [`backtest`], [`backtest_job`]: historical data through the chain against a modelled
//!   venue; [`report`]: its HTML report; [`journal_sink`]: journaling a single-thread run.
//! - [`import`]: vendor data → an input journal, and reading one back for a backtest.
//! - [`resume`], [`resume_live`]: recovering a crashed run from its journal and continuing
//!   it live.

pub mod backtest;
pub mod backtest_job;
pub mod backtest_verify;
pub mod import;
pub mod journal_sink;
pub mod report;
pub mod resume;
pub mod resume_live;
pub mod runner;
pub mod state;
pub mod verify;

pub use journal_sink::{JournalSink, JournalSinkError};
pub use resume_live::{resume_live, ResumeLiveError};
pub use runner::{NullSink, Recorder, RunSummary, Runner, Sink};
pub use verify::{replay_run, verify_run, Point, ReplayOptions, Replayed, Verdict, VerifyError};
