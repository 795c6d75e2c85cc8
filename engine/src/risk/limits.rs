//! Risk limits and their validation.

use thiserror::Error;

/// The largest accepted [`RiskLimits::max_open_orders`]: the working-order table is
/// preallocated to that size and scanned linearly.
pub const MAX_OPEN_ORDERS_CAP: u32 = 1 << 16;

/// Limits that apply to each instrument separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstrumentLimits {
    /// Largest quantity of one order, raw.
    pub max_order_qty: i64,
    /// Largest notional of one order, in raw price × raw quantity units.
    pub max_notional: i128,
    /// Half-width of the allowed price band around the reference price, in basis points.
    pub price_band_bps: u32,
    /// Largest absolute position, raw, counting working orders as if filled.
    pub max_position: i64,
}

/// The full set of pre-trade limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RiskLimits {
    /// Limits applied to every instrument (override one with
    /// [`RiskEngine::set_instrument_limits`](super::RiskEngine::set_instrument_limits)).
    pub instrument: InstrumentLimits,
    /// Largest sum over instruments of the absolute exposure (position plus working orders
    /// on the worse side), raw quantity.
    pub max_gross_position: i64,
    /// Largest number of working orders across all instruments.
    pub max_open_orders: u32,
    /// Token-bucket refill rate, orders per second of event time.
    pub throttle_rate_per_s: u32,
    /// Token-bucket capacity: how many orders may go out back to back.
    pub throttle_burst: u32,
    /// Largest daily loss (realised + unrealised), raw price × raw quantity units, `>= 0`.
    /// Reaching a PnL below `-max_daily_loss` halts trading until
    /// [`RiskEngine::reset_daily`](super::RiskEngine::reset_daily).
    pub max_daily_loss: i128,
}

/// A limit that makes no sense, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RiskLimitsError {
    /// A limit that must be positive is not.
    #[error("risk limit `{field}` must be positive, got {value}")]
    NotPositive {
        /// The field.
        field: &'static str,
        /// Its value.
        value: i128,
    },
    /// A limit that must not be negative is.
    #[error("risk limit `{field}` must not be negative, got {value}")]
    Negative {
        /// The field.
        field: &'static str,
        /// Its value.
        value: i128,
    },
    /// A limit above its hard cap.
    #[error("risk limit `{field}` is {value}, above the cap {cap}")]
    AboveCap {
        /// The field.
        field: &'static str,
        /// Its value.
        value: i128,
        /// The cap.
        cap: i128,
    },
    /// Per-instrument limits for an instrument index outside the engine.
    #[error("instrument {instrument} is unknown to the risk engine")]
    UnknownInstrument {
        /// The instrument number.
        instrument: u32,
    },
}

fn positive(field: &'static str, value: i128) -> Result<(), RiskLimitsError> {
    if value > 0 {
        Ok(())
    } else {
        Err(RiskLimitsError::NotPositive { field, value })
    }
}

impl InstrumentLimits {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), RiskLimitsError> {
        positive("max_order_qty", self.max_order_qty.into())?;
        positive("max_notional", self.max_notional)?;
        positive("max_position", self.max_position.into())?;
        // A band of 0 bps is legal: only the reference price itself is accepted.
        Ok(())
    }
}

impl RiskLimits {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), RiskLimitsError> {
        self.instrument.validate()?;
        positive("max_gross_position", self.max_gross_position.into())?;
        positive("max_open_orders", self.max_open_orders.into())?;
        if self.max_open_orders > MAX_OPEN_ORDERS_CAP {
            return Err(RiskLimitsError::AboveCap {
                field: "max_open_orders",
                value: self.max_open_orders.into(),
                cap: MAX_OPEN_ORDERS_CAP.into(),
            });
        }
        positive("throttle_rate_per_s", self.throttle_rate_per_s.into())?;
        positive("throttle_burst", self.throttle_burst.into())?;
        if self.max_daily_loss < 0 {
            return Err(RiskLimitsError::Negative {
                field: "max_daily_loss",
                value: self.max_daily_loss,
            });
        }
        Ok(())
    }
}
