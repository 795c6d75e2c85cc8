//! Order management: the order state machine, positions, average cost, PnL and fees.
//!
//! [`Oms`] sees our order requests (the `OrderNew`, `OrderCancel` and `OrderAmend` outputs
//! that passed risk) and the venue's `ExecReport` inputs. It is deterministic (docs/DESIGN.md §1):
//! no clock, no randomness; orders live in a `Vec` of slots preallocated by [`Oms::new`] and
//! are found through a sorted `Vec` of `(client_order_id, slot)` (binary search, iterated in
//! id order). Nothing allocates after `new`. No input panics: whatever does not fit is a
//! counted [`AnomalyKind`].
//!
//! # Transition table
//!
//! [`transition`] is the single source of truth; this is the same table. `→ X` moves to `X`;
//! `stay` is legal without a state change; `work` goes back to working — `New` if nothing is
//! filled, `PartiallyFilled` if some is, `Filled` if an amend cut the quantity to what is
//! filled; any other cell is the [`AnomalyKind`] counted, with the state unchanged.
//!
//! | state \ event   | Submit  | Ack       | PartialFill | Fill      | CancelRequest   | Canceled   | ReplaceRequest   | Replaced   | Rejected   | CancelRejected |
//! |-----------------|---------|-----------|-------------|-----------|-----------------|------------|------------------|------------|------------|----------------|
//! | *(none)*        | → PendingNew | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder | UnknownOrder |
//! | PendingNew      | DuplicateOrderId | → New | → PartiallyFilled | → Filled | → PendingCancel | → Canceled | InvalidRequest | UnexpectedReport | → Rejected | UnexpectedReport |
//! | New             | DuplicateOrderId | DuplicateAck | → PartiallyFilled | → Filled | → PendingCancel | → Canceled | → PendingReplace | UnexpectedReport | UnexpectedReport | UnexpectedReport |
//! | PartiallyFilled | DuplicateOrderId | DuplicateAck | → PartiallyFilled | → Filled | → PendingCancel | → Canceled | → PendingReplace | UnexpectedReport | UnexpectedReport | UnexpectedReport |
//! | PendingCancel   | DuplicateOrderId | stay | stay | → Filled | InvalidRequest | → Canceled | InvalidRequest | UnexpectedReport | UnexpectedReport | work |
//! | PendingReplace  | DuplicateOrderId | stay | stay | → Filled | InvalidRequest | → Canceled | InvalidRequest | work (amend applied) | UnexpectedReport | work (amend dropped) |
//! | Filled          | DuplicateOrderId | LateReport | LateFill | LateFill | InvalidRequest | LateReport | InvalidRequest | LateReport | LateReport | LateReport |
//! | Canceled        | DuplicateOrderId | LateReport | LateFill | LateFill | InvalidRequest | LateReport | InvalidRequest | LateReport | LateReport | LateReport |
//! | Rejected        | DuplicateOrderId | LateReport | LateFill | LateFill | InvalidRequest | LateReport | InvalidRequest | LateReport | LateReport | LateReport |
//!
//! `Filled`, `Canceled` and `Rejected` are terminal: no cell leaves them.
//!
//! # Rules around the table
//!
//! - **Fill or partial fill.** A fill report is the table's `Fill` event if the venue says
//!   `Fill` or our count says the order is complete (`cum_qty == qty`), else `PartialFill`.
//!   When the two disagree on a live order, [`AnomalyKind::QtyMismatch`] is also counted;
//!   the venue's `Fill` still ends the order (it is no longer working there).
//! - **Fills are physical.** A fill moves the position whatever the state — including a fill
//!   after our cancel request (legal: fills race cancels), and a *late* fill after `Canceled`
//!   or `Rejected` (counted [`AnomalyKind::LateFill`], applied). Every fill applied to an order
//!   is clipped to its unfilled quantity `qty − cum_qty`, so `cum_qty ≤ qty` always holds; the
//!   excess is counted [`AnomalyKind::Overfill`] and not applied (a second fill after `Filled`
//!   counts both `LateFill` and `Overfill` and applies nothing). A fill for an **unknown**
//!   order (never seen, evicted, or refused for capacity) is counted
//!   [`AnomalyKind::UnknownOrder`] and still moves the position of the report's header
//!   instrument at the report's side, price and quantity, like the risk engine does. Fills
//!   with a non-positive price or quantity, or that would overflow the `i64` position, are
//!   counted [`AnomalyKind::InvalidValue`] and not applied.
//! - **Amend in place.** An `OrderAmend` keeps the order record (keyed by its original id);
//!   the amend's new id becomes an alias, so reports may carry either id. `Replaced` applies
//!   the price and quantity *we requested* (kept while `PendingReplace`) and records the new
//!   id as [`Order::live_client_order_id`]; if fills raced the amend so that `cum_qty` reaches
//!   the new quantity, the quantity becomes `cum_qty` and the order is `Filled`. A cancel's own
//!   id is an alias too. Each order may have up to [`IDS_PER_ORDER`] ids on average.
//! - **Requests.** Our cancel or amend for an unknown order is [`AnomalyKind::UnknownOrder`];
//!   an amend with a non-positive quantity is [`AnomalyKind::InvalidValue`]; neither is
//!   tracked. A request refused by the table leaves the order as it was.
//! - **Capacity.** `max_orders` orders are remembered. When the table is full, a new order
//!   reuses the slot of the terminal order submitted first (its ids are forgotten; its late
//!   reports become unknown-order reports); if every order is live, the new order is counted
//!   [`AnomalyKind::Capacity`] and not tracked.
//!
//! # Money
//!
//! Prices and quantities are raw fixed-point `i64`s. Money — cost, PnL, fees — is in
//! *raw price × raw qty* units, in `i128`, saturating rather than overflowing.
//!
//! - **Average cost.** [`Position::cost`] is the signed cost of the open position
//!   (Σ price × signed qty of the fills that opened it). A fill on the same side adds to it.
//!   A fill on the other side closes `c = min(|fill|, |position|)`: it removes
//!   `cost × c / |position|` (truncated toward zero) from the cost and realises
//!   `sign(position) × price × c − removed`; what is left of the fill opens a position the
//!   other way at the fill price (a flip through zero). Closing a position fully removes its
//!   whole cost, so a round trip realises its exact cash flow with no rounding drift.
//! - **Unrealised** is `position × mark − cost` at the last [`Oms::on_mark`]; `None` before.
//! - **Fees** are a [`FeeSchedule`] per instrument, optionally per venue
//!   ([`Oms::set_venue_fees`]; the order's venue, or an unknown order's report `source`):
//!   a [`FeeRate`] for the maker side and one for the taker side, each either per unit of
//!   raw quantity ([`FeeRate::PerQty`], raw price units, exactly `rate × qty`; the per-unit
//!   [`Fees`] pair converts into a schedule) or a fraction of notional in basis points
//!   ([`FeeRate::Bps`]: `price × qty × bps / 10_000` in raw money units, computed in `i128`
//!   and rounded to the nearest raw unit, halves away from zero — the only rounding). A
//!   negative rate is a rebate. A fill pays the rate of the
//!   [`Liquidity`](crate::Liquidity) the venue reports on it (FIX tag 851). When the venue
//!   does not say (`Unknown`), the OMS infers it: a fill received while the order is still
//!   `PendingNew` (it traded on arrival) pays the taker rate, a fill after the ack the maker
//!   rate; late and unknown-order fills pay taker.
//! - **Fees and rebates** are kept apart: [`Position::fees`] is the net (paid − earned),
//!   [`Position::rebates`] what fills with a negative fee earned (`>= 0`), and
//!   [`Position::fees_paid`] `= fees + rebates` what the others paid (`>= 0`).
//!   [`Pnl::net`] is realised + unrealised − net fees.

mod engine;
mod position;
mod state;

#[cfg(test)]
mod tests;

pub use engine::{ExecOutcome, Oms, Order, IDS_PER_ORDER};
pub use position::{FeeRate, FeeSchedule, Fees, Pnl, Position, BPS_DECIMALS, BPS_PER_UNIT};
pub use state::{transition, AnomalyKind, OrderEvent, OrderState, Transition};
