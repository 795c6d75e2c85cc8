//! # tickrail-engine
//!
//! The engine crate: the event model every other part speaks, and the deterministic stages
//! of the trading logic.
//!
//! The event model:
//!
//! - [`value`]: fixed-point [`Price`], [`Qty`] and [`Scale`], parsed from and printed to text
//!   exactly, never through `f64`.
//! - [`instrument`]: [`InstrumentId`], interned at config load, and [`InstrumentSpec`]
//!   (symbol, scales, tick); no strings on the hot path.
//! - [`event`]: the fixed-size, `Copy`, heap-free [`Event`] — an [`EventHeader`] (sequence,
//!   cause, exchange and receive timestamps, instrument, scales, source) and an [`EventBody`]
//!   for each input (market data L1/L2/L3, execution reports, timers, operator commands) and
//!   output (signals, order requests, risk rejects) — with stable [`EventKind`] and
//!   [`RiskCode`] numbers.
//! - [`codec`]: events in the journal as rkyv archives, written in place without allocating
//!   and read back zero-copy with validation.
//! - [`config`]: the TOML engine config, validated; errors name file, key and reason.
//!
//! The trading logic, each a pure function of its state and the sequenced input:
//!
//! - [`sequencer`]: the single writer of the input stream; checks and stamps every input.
//! - [`stage`]: the deterministic [`stage::Stage`] interface and the fused chain.
//! - [`book`]: order books in integer ticks: bounded-depth L2, per-order L3, `MarketBook`.
//! - [`features`]: incremental O(1) features per instrument.
//! - [`model`]: linear/logistic, XGBoost trees and ONNX models behind one trait.
//! - [`strategy`], [`router`], [`risk`], [`oms`]: decisions, venue choice, pre-trade checks
//!   with stable reject codes, order state and positions.
//! - [`pipeline`]: the stages above assembled into the signal stage and the order stage.
//!
//! See `docs/DESIGN.md` §1 for why the sequenced input log is the truth and what that asks
//! of these types.

#[cfg(any(test, feature = "test-support"))]
pub mod alloc_count;
pub mod book;
pub mod codec;
pub mod config;
pub mod event;
pub mod features;
pub mod instrument;
pub mod model;
pub mod oms;
pub mod pipeline;
pub mod risk;
pub mod router;
pub mod runtime;
pub mod sequencer;
pub mod stage;
pub mod strategy;
pub mod timers;
pub mod value;

pub use codec::{
    access_event, append_event, archive_event, decode_event, event_kind, journal_kind, CodecError,
    ARCHIVED_EVENT_BYTES, EVENT_KIND_BASE,
};
pub use event::{
    Aggressor, ArchivedEvent, ArchivedEventBody, ArchivedEventHeader, Event, EventBody, EventError,
    EventHeader, EventKind, ExecKind, LevelAction, Liquidity, OperatorCommand, RiskCode, Side,
    TimeInForce, TradingState, SIGNAL_SCALE,
};
pub use instrument::{InstrumentId, InstrumentSpec};
pub use value::{FixedDisplay, Price, Qty, Scale, ValueError};
