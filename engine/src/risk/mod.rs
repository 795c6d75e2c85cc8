//! Pre-trade risk: every order request passes [`RiskEngine::check`] before it may leave.
//!
//! The engine is deterministic (docs/DESIGN.md §1): time arrives as event-time nanoseconds in the
//! arguments, there is no randomness, and all state lives in `Vec`s indexed by the dense
//! instrument index or in a bounded `Vec` of working orders scanned in insertion order. After
//! [`RiskEngine::new`] nothing allocates: the working-order table and the kill-switch cancel
//! list are preallocated to [`RiskLimits::max_open_orders`].
//!
//! # Units
//!
//! - Prices and quantities are raw fixed-point `i64`s (`Price::raw`, `Qty::raw`).
//! - **Notional** and **PnL** are in *raw price × raw quantity* units, computed in `i128` so
//!   that no product overflows. With a price scale of 2 and a quantity scale of 0, a notional
//!   of `1_000_000` is 10 000.00 currency units.
//! - Positions and quantity limits are raw quantities. The gross position sums raw quantities
//!   across instruments; configure instruments with a common quantity scale for it to mean
//!   what it says.
//!
//! # Check order
//!
//! [`RiskEngine::check`] applies these checks in this order and returns the first failure:
//!
//! 1. [`RiskCode::UnknownInstrument`] — the instrument index is not below `n_instruments`.
//! 2. [`RiskCode::KillSwitch`] — the kill switch is engaged.
//! 3. [`RiskCode::Halted`] — the operator halted trading.
//! 4. [`RiskCode::MaxDailyLoss`] — the daily-loss halt has latched.
//! 5. [`RiskCode::InvalidQty`] — quantity `<= 0`.
//! 6. [`RiskCode::InvalidPrice`] — price `<= 0`.
//! 7. [`RiskCode::MaxOrderQty`] — `qty > max_order_qty`.
//! 8. [`RiskCode::MaxNotional`] — `price × qty > max_notional`.
//! 9. [`RiskCode::PriceBand`] — no reference price yet, or
//!    `|price − ref| × 10 000 > ref × price_band_bps`.
//! 10. [`RiskCode::SelfTrade`] — a buy at or above one of our working sells (or a sell at or
//!     below one of our working buys) on the same instrument.
//! 11. [`RiskCode::MaxPosition`] — a buy with `|position + working buys + qty| > max_position`
//!     or a sell with `|position − working sells − qty| > max_position`.
//! 12. [`RiskCode::MaxGrossPosition`] — the sum over instruments of
//!     `max(|pos + working buys|, |pos − working sells|)`, with this order counted, would exceed
//!     `max_gross_position`.
//! 13. [`RiskCode::MaxOpenOrders`] — already `max_open_orders` working orders.
//! 14. [`RiskCode::Throttle`] — the event-time token bucket is empty. It is last so that only
//!     an order that is accepted spends a token.
//!
//! [`RiskCode`]: crate::event::RiskCode
//! [`RiskCode::UnknownInstrument`]: crate::event::RiskCode::UnknownInstrument
//! [`RiskCode::KillSwitch`]: crate::event::RiskCode::KillSwitch
//! [`RiskCode::Halted`]: crate::event::RiskCode::Halted
//! [`RiskCode::MaxDailyLoss`]: crate::event::RiskCode::MaxDailyLoss
//! [`RiskCode::InvalidQty`]: crate::event::RiskCode::InvalidQty
//! [`RiskCode::InvalidPrice`]: crate::event::RiskCode::InvalidPrice
//! [`RiskCode::MaxOrderQty`]: crate::event::RiskCode::MaxOrderQty
//! [`RiskCode::MaxNotional`]: crate::event::RiskCode::MaxNotional
//! [`RiskCode::PriceBand`]: crate::event::RiskCode::PriceBand
//! [`RiskCode::SelfTrade`]: crate::event::RiskCode::SelfTrade
//! [`RiskCode::MaxPosition`]: crate::event::RiskCode::MaxPosition
//! [`RiskCode::MaxGrossPosition`]: crate::event::RiskCode::MaxGrossPosition
//! [`RiskCode::MaxOpenOrders`]: crate::event::RiskCode::MaxOpenOrders
//! [`RiskCode::Throttle`]: crate::event::RiskCode::Throttle

mod engine;
mod limits;

#[cfg(test)]
mod tests;

pub use engine::{ExecUpdate, RiskEngine, WorkingOrder};
pub use limits::{InstrumentLimits, RiskLimits, RiskLimitsError, MAX_OPEN_ORDERS_CAP};
