//! Positions, average cost, realised and unrealised PnL, fees and rebates for one instrument.

/// Basis points in one whole (a fee of 1 bp is `notional / 10_000`).
pub const BPS_PER_UNIT: i64 = 10_000;

/// Decimal places of a [`FeeRate::Bps`] rate: it holds the rate in basis points times
/// `10^BPS_DECIMALS` (`-0.5` bps is `-5_000`), so every rate written with up to four
/// decimals of a basis point is exact.
pub const BPS_DECIMALS: u8 = 4;

/// `10^BPS_DECIMALS`.
const BPS_SCALE: i128 = 10_000;

/// The divisor from `price × qty × rate` to money: basis points per unit times the rate's
/// own scale.
const NOTIONAL_DIVISOR: i128 = BPS_PER_UNIT as i128 * BPS_SCALE;

/// Fees for one instrument, in raw price units per raw unit of quantity (so a fill's fee is
/// `rate × qty` in the same *raw price × raw qty* units as PnL). Negative is a rebate.
///
/// The per-unit form the router ranks venues by; [`FeeSchedule`] is what the OMS charges
/// (per unit or a fraction of notional per side), and every `Fees` converts into one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fees {
    /// Rate for fills that rested (the order was acknowledged first).
    pub maker_per_qty: i64,
    /// Rate for fills that took liquidity (filled before the ack; see the module docs).
    pub taker_per_qty: i64,
}

/// How one side (maker or taker) of an instrument is charged. Negative rates are rebates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FeeRate {
    /// Raw price units per raw unit of quantity: the fee of a fill is `rate × qty`, exactly.
    PerQty(i64),
    /// A fraction of notional, in basis points times `10^`[`BPS_DECIMALS`]: the fee of a
    /// fill is `price × qty × rate / (10_000 × 10^4)` (raw price × raw qty is already money
    /// in raw units), rounded to the nearest raw money unit, halves away from zero.
    Bps(i64),
}

impl Default for FeeRate {
    fn default() -> Self {
        Self::PerQty(0)
    }
}

impl FeeRate {
    /// No fee.
    pub const ZERO: Self = Self::PerQty(0);

    /// The fee of a fill of `qty` (raw, either sign: its size counts) at `price` (raw), in
    /// raw price × raw qty units; negative is a rebate. Exact for per-unit rates; for basis
    /// points rounded half away from zero to the raw money unit. Saturates instead of
    /// overflowing, and never allocates.
    pub fn fee(self, price: i64, qty: i64) -> i128 {
        let size = i128::from(qty).abs();
        match self {
            Self::PerQty(rate) => i128::from(rate) * size,
            Self::Bps(rate) => notional_fee(i128::from(price).abs() * size, rate),
        }
    }

    /// `true` for a rate that is charged on notional.
    pub const fn is_bps(self) -> bool {
        matches!(self, Self::Bps(_))
    }
}

/// `notional × rate / NOTIONAL_DIVISOR`, rounded half away from zero, without the wide
/// product: `notional = whole × D + part` (both with the sign of `notional`, `|part| < D`),
/// so the result is `whole × rate` plus `part × rate / D` rounded; every term has the sign of
/// `notional × rate`, so rounding the last term rounds the sum.
fn notional_fee(notional: i128, rate: i64) -> i128 {
    let rate = i128::from(rate);
    let whole = (notional / NOTIONAL_DIVISOR).saturating_mul(rate);
    // |notional % D| < 10^8 and |rate| < 2^63: the product fits easily.
    let tail = (notional % NOTIONAL_DIVISOR) * rate;
    let mut part = tail / NOTIONAL_DIVISOR;
    let rem = tail % NOTIONAL_DIVISOR;
    if 2 * rem.abs() >= NOTIONAL_DIVISOR {
        part += rem.signum();
    }
    whole.saturating_add(part)
}

/// What an instrument's fills pay on one venue: a [`FeeRate`] per side.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeeSchedule {
    /// For fills that rested (see [`Fees::maker_per_qty`]).
    pub maker: FeeRate,
    /// For fills that took liquidity.
    pub taker: FeeRate,
}

impl From<Fees> for FeeSchedule {
    fn from(f: Fees) -> Self {
        Self {
            maker: FeeRate::PerQty(f.maker_per_qty),
            taker: FeeRate::PerQty(f.taker_per_qty),
        }
    }
}

/// One instrument's position and PnL. All money is in raw price × raw qty units (`i128`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Signed raw quantity: long positive, short negative.
    pub qty: i64,
    /// Cost of the open position: Σ price × signed qty of the opening fills, less what
    /// closing fills removed. `cost / qty` is the average cost; `0` when flat.
    pub cost: i128,
    /// Realised PnL, before fees.
    pub realised: i128,
    /// Net fees: fees paid less rebates earned (negative when rebates exceed fees).
    pub fees: i128,
    /// Rebates earned (the fills with a negative fee), `>= 0`. Fees paid are
    /// [`Position::fees_paid`] `= fees + rebates`.
    pub rebates: i128,
    /// Last mark price (raw), if any.
    pub mark: Option<i64>,
}

/// A PnL snapshot, in raw price × raw qty units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pnl {
    /// Realised, before fees.
    pub realised: i128,
    /// `qty × mark − cost`; `None` before the first mark.
    pub unrealised: Option<i128>,
    /// Net fees: `fees_paid − rebates`.
    pub fees: i128,
    /// Fees paid (fills with a positive fee), `>= 0`.
    pub fees_paid: i128,
    /// Rebates earned (fills with a negative fee), `>= 0`.
    pub rebates: i128,
}

impl Pnl {
    /// `realised + unrealised (0 without a mark) − fees` (net of rebates).
    pub fn net(&self) -> i128 {
        self.realised
            .saturating_add(self.unrealised.unwrap_or(0))
            .saturating_sub(self.fees)
    }
}

impl Position {
    /// Average cost of the open position in raw price units, truncated toward zero; `None`
    /// when flat.
    pub fn avg_cost(&self) -> Option<i128> {
        (self.qty != 0).then(|| self.cost / i128::from(self.qty))
    }

    /// Fees paid, `>= 0`: the net fees plus the rebates earned.
    pub fn fees_paid(&self) -> i128 {
        self.fees.saturating_add(self.rebates)
    }

    /// The PnL snapshot at the last mark.
    pub fn pnl(&self) -> Pnl {
        Pnl {
            realised: self.realised,
            unrealised: self
                .mark
                .map(|m| (i128::from(self.qty) * i128::from(m)).saturating_sub(self.cost)),
            fees: self.fees,
            fees_paid: self.fees_paid(),
            rebates: self.rebates,
        }
    }

    /// Applies a fill of signed quantity `signed_qty` (buy positive) at `price` charged at
    /// `rate` ([`FeeRate::fee`]). Returns `false` (and changes nothing) if the position would
    /// overflow `i64`. `signed_qty` must be non-zero and `price` positive (checked by the
    /// caller).
    pub(crate) fn apply_fill(&mut self, signed_qty: i64, price: i64, rate: FeeRate) -> bool {
        let Some(new_qty) = self.qty.checked_add(signed_qty) else {
            return false;
        };
        let px = i128::from(price);
        let q = i128::from(signed_qty);
        let pos = i128::from(self.qty);
        if pos == 0 || (pos > 0) == (q > 0) {
            // Opening or adding.
            self.cost = self.cost.saturating_add(px * q);
        } else {
            // Closing `c` of `|pos|`, possibly flipping through zero.
            let c = q.abs().min(pos.abs());
            // Truncated toward zero; when the position closes fully `c == |pos|` and the whole
            // remaining cost is removed, so a round trip realises its exact cash flow.
            let removed = self.cost.saturating_mul(c) / pos.abs();
            self.realised = self
                .realised
                .saturating_add(pos.signum() * px * c)
                .saturating_sub(removed);
            self.cost = self.cost.saturating_sub(removed);
            let opened = q.abs() - c;
            if opened > 0 {
                self.cost = self.cost.saturating_add(px * opened * q.signum());
            }
        }
        self.qty = new_qty;
        let fee = rate.fee(price, signed_qty);
        self.fees = self.fees.saturating_add(fee);
        if fee < 0 {
            self.rebates = self.rebates.saturating_sub(fee);
        }
        true
    }
}
