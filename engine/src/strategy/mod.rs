//! The strategy: the model's signal, the book and the inventory in, the orders it wants
//! out. The rule is documented in [`decide`](mod@decide); its parameters in [`params`].
//! Turning a decision into order requests (and keeping track of the quotes that rest) is the
//! order stage's job ([`crate::pipeline`]).

pub mod decide;
pub mod params;

pub use decide::{decide, edge_bps, Decision, Inputs, Take};
pub use params::{
    QuoteParams, QuotePrice, QuoteRefresh, SignalMap, StrategyParams, StrategyParamsError,
    TakeParams,
};
