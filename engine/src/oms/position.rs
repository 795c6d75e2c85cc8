//! Positions, average cost, realised and unrealised PnL and fees for one instrument.

/// Fees for one instrument, in raw price units per raw unit of quantity (so a fill's fee is
/// `rate × qty` in the same *raw price × raw qty* units as PnL). Negative is a rebate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fees {
    /// Rate for fills that rested (the order was acknowledged first).
    pub maker_per_qty: i64,
    /// Rate for fills that took liquidity (filled before the ack; see the module docs).
    pub taker_per_qty: i64,
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
    /// Fees paid (negative: rebates earned).
    pub fees: i128,
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
    /// Fees paid.
    pub fees: i128,
}

impl Pnl {
    /// `realised + unrealised (0 without a mark) − fees`.
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

    /// The PnL snapshot at the last mark.
    pub fn pnl(&self) -> Pnl {
        Pnl {
            realised: self.realised,
            unrealised: self
                .mark
                .map(|m| (i128::from(self.qty) * i128::from(m)).saturating_sub(self.cost)),
            fees: self.fees,
        }
    }

    /// Applies a fill of signed quantity `signed_qty` (buy positive) at `price` with fee
    /// `rate` per unit. Returns `false` (and changes nothing) if the position would overflow
    /// `i64`. `signed_qty` must be non-zero and `price` positive (checked by the caller).
    pub(crate) fn apply_fill(&mut self, signed_qty: i64, price: i64, rate: i64) -> bool {
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
        self.fees = self.fees.saturating_add(i128::from(rate) * q.abs());
        true
    }
}
