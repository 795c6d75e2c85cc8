//! The trading chain as stages (docs/DESIGN.md §1): [`SignalStage`] (book → features → model)
//! then [`OrderStage`] (strategy → router → risk → OMS). Fused on one thread they are
//! [`TradingChain`]; the runtime (`crate::runtime`) can also put them on threads of their own.

mod build;
mod orders;
mod signal;
pub mod snapshot;

pub use build::{build_chain, build_model, max_outputs_per_event, BuildError};
pub use orders::{OrderCounters, OrderStage};
pub use signal::{BookSizing, SignalCounters, SignalStage};

use crate::stage::Fused;

/// The whole chain fused into direct calls: signals, then orders.
pub type TradingChain = Fused<SignalStage, OrderStage>;

#[cfg(test)]
mod tests;
