//! # tickrail-replay
//!
//! Replay-and-verify, the backtest runner and its reports. Nothing is implemented yet:
//! `tickrail replay --verify` and `tickrail backtest` arrive with issue 5. The journal can
//! already be read record by record with `tickrail_journal::JournalReader`.
