//! Queue-position models: where a resting order of ours stands in its price level's queue,
//! and how much of an execution at its price reaches it.
//!
//! The historical data never contains our orders, so the position of one of them in the
//! queue of its price level (same side, same price) is estimated from what the data shows
//! about the *other* orders at that level. [`QueuePosition`] keeps that estimate for one
//! order; [`HistoricalMarket`](super::HistoricalMarket) feeds it the events that touch the
//! order's level. Quantities are raw (the instrument's `qty_scale`).
//!
//! Every model keeps `ahead`: the displayed quantity queued in front of our order. It starts
//! at the level's displayed quantity when the order starts resting (our order joins the back
//! of the queue; orders that arrive later are behind it). When the level is not visible at
//! that moment (L1 data and a price behind the best, or a price beyond the depth an L2 book
//! keeps) `ahead` is *unknown*: the order cannot fill from the queue (a trade-through still
//! fills it) until the level becomes visible, and `ahead` is then set to the displayed
//! quantity. A resting order fills from the queue only with quantity executed **beyond**
//! `ahead`.
//!
//! # [`QueueModel::Fifo`]: exact price-time priority (L3 data)
//!
//! With per-order (L3) data the orders in front of ours are known exactly: they are the
//! orders resting at the level when our order arrived, minus those that left or lost their
//! priority since. They always form a *prefix* of the level's queue (orders only ever join at
//! the back, and an order that loses priority moves to the back, behind us), so an order `X`
//! of the level is ahead of us exactly when the quantity queued in front of `X` (the L3
//! book's [`queue_ahead`](tickrail_engine::book::l3::L3Book::queue_ahead), taken before the
//! event is applied) is less than `ahead`. Then, per event naming an order `X` of our level:
//!
//! | event | `X` ahead of us | `X` behind us |
//! |---|---|---|
//! | `OrderExecute` of `q` | `ahead -= q` | if `ahead == 0`: `q` reaches us (a queue fill) |
//! | `OrderDelete` | `ahead -= qty(X)` | — |
//! | `OrderModify`, same price, lower quantity (keeps priority) | `ahead -= qty(X) − new qty` | — |
//! | `OrderModify` to another price or a higher quantity (loses priority), `OrderReplace` | `ahead -= qty(X)` | — |
//! | `OrderAdd` at our level | — (it joins behind us) | — |
//!
//! An execution of an order behind us while `ahead > 0` (the data is not FIFO there: hidden
//! or reserve priority, a broken book) does not fill us: the conservative choice. Trade prints
//! (`Trade`) never move an L3 queue — the executions (`OrderExecute`) do; an L3 feed prints
//! both for displayed liquidity, and ITCH prints `Trade` only for non-displayed executions.
//!
//! On L2 or L1 data there is no order identity, and `Fifo` degrades to the **risk-averse**
//! model: `ahead` falls only by trades at our price (`ahead -= traded`; what is traded beyond
//! `ahead` reaches us) and is capped by the level's displayed quantity after every update of
//! the level (`ahead = min(ahead, displayed)`); a cancel is always assumed to come from behind.
//!
//! # [`QueueModel::Probabilistic`]: power-probability queue (L2 data)
//!
//! The model of hftbacktest's `ProbQueueModel` with its power function: with `f(x) = x^power`,
//!
//! - `ahead` starts at the level's displayed quantity; `level` remembers the last displayed
//!   quantity of the level (ours not included);
//! - a **trade** of `t` at our price against our side: `ahead -= t`, and `t` is remembered as
//!   `traded` (the level update that follows will show it); what goes below zero reaches us (a
//!   queue fill, rounded to a whole raw unit) and `ahead` becomes 0;
//! - an **update of the level** from `level` to `new`: the decrease not explained by trades
//!   is `d = level − new − traded` (then `traded = 0`). If `d <= 0` (the level grew, or the
//!   decrease was the trades): `ahead = min(ahead, new)`. Otherwise, with
//!   `behind = max(0, level − traded − ahead)` (the old `traded`), the share of `d` taken from
//!   the front is `p = f(ahead) / (f(ahead) + f(behind))` (computed as
//!   `1 / (1 + (behind/ahead)^power)`; `p = 0` when `ahead = 0`, `p = 1` when `behind = 0`):
//!   `ahead -= d·p`, plus whatever part of `d·(1 − p)` exceeds `behind` (cancels cannot come
//!   from an empty back); then `ahead = min(max(ahead, 0), new)`.
//!
//! `power = 0` splits every unexplained decrease half and half (`p = ½` whatever the sizes);
//! a large `power` makes cancels come from the larger side: when less is ahead of us than
//! behind, `p → 0` and our position barely moves; when more is ahead, `p → 1` and it moves by
//! nearly the whole decrease. `ahead` is an `f64` (fractions of a raw unit accumulate).
//!
//! On L3 data the model reads each L3 event as the level change it makes (an execution is a
//! trade plus the decrease it causes), ignoring the order identities.

use super::BacktestError;

/// How the queue position of our resting orders is estimated; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QueueModel {
    /// Exact price-time priority from per-order (L3) data; risk-averse on L2/L1 data.
    Fifo,
    /// hftbacktest's power-probability model, for L2 data.
    Probabilistic {
        /// `f(x) = x^power`; finite and `>= 0`.
        power: f64,
    },
}

impl QueueModel {
    /// Checks the model's parameters.
    pub fn validate(&self) -> Result<(), BacktestError> {
        match *self {
            Self::Fifo => Ok(()),
            Self::Probabilistic { power } if power.is_finite() && power >= 0.0 => Ok(()),
            Self::Probabilistic { power } => Err(BacktestError::InvalidPower { power }),
        }
    }
}

/// The estimated queue position of one resting order of ours; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePosition {
    /// `None`: FIFO (exact or risk-averse); `Some(power)`: probabilistic.
    power: Option<f64>,
    /// FIFO: quantity ahead, exact.
    ahead: i64,
    /// Probabilistic: quantity ahead, estimated.
    ahead_est: f64,
    /// The level's last displayed quantity (ours not included).
    level: i64,
    /// Probabilistic: quantity traded at our price since the last level update.
    traded: i64,
    /// Whether the level was visible yet (`ahead` is meaningful).
    known: bool,
}

impl QueuePosition {
    /// A position at the back of a level displaying `displayed` (`None`: the level is not
    /// visible; the position is unknown until it is).
    pub fn new(model: QueueModel, displayed: Option<i64>) -> Self {
        let power = match model {
            QueueModel::Fifo => None,
            QueueModel::Probabilistic { power } => Some(power),
        };
        let level = displayed.unwrap_or(0).max(0);
        Self {
            power,
            ahead: level,
            ahead_est: level as f64,
            level,
            traded: 0,
            known: displayed.is_some(),
        }
    }

    /// The quantity ahead of the order (`None` while unknown).
    pub fn ahead(&self) -> Option<f64> {
        if !self.known {
            return None;
        }
        Some(match self.power {
            None => self.ahead as f64,
            Some(_) => self.ahead_est,
        })
    }

    /// The level's last displayed quantity (`None` while unknown).
    pub fn level_qty(&self) -> Option<i64> {
        self.known.then_some(self.level)
    }

    /// FIFO on L3 data: whether an order of our level with `queue_ahead_of_it` queued in front
    /// of it (before the event) is ahead of us.
    pub fn is_ahead(&self, queue_ahead_of_it: i64) -> bool {
        self.known && self.power.is_none() && queue_ahead_of_it < self.ahead
    }

    /// FIFO on L3 data: an order ahead of us lost `qty` (executed, deleted, reduced or moved
    /// behind us).
    pub fn remove_ahead(&mut self, qty: i64) {
        if self.power.is_none() {
            self.ahead = self.ahead.saturating_sub(qty.max(0)).max(0);
        }
    }

    /// FIFO on L3 data: an order behind us executed `qty`; returns what reaches us (all of it
    /// once nothing is ahead, else nothing).
    pub fn behind_executed(&mut self, qty: i64) -> i64 {
        if self.known && self.power.is_none() && self.ahead == 0 {
            qty.max(0)
        } else {
            0
        }
    }

    /// A trade of `qty` at our price against our side (L2/L1 data under either model, L3
    /// data under the probabilistic model); returns the quantity traded beyond the queue,
    /// which reaches us.
    pub fn trade(&mut self, qty: i64) -> i64 {
        let qty = qty.max(0);
        if !self.known {
            return 0;
        }
        match self.power {
            None => {
                let left = self.ahead.saturating_sub(qty);
                self.ahead = left.max(0);
                left.min(0).saturating_neg()
            }
            Some(_) => {
                self.traded = self.traded.saturating_add(qty);
                self.ahead_est -= qty as f64;
                if self.ahead_est < 0.0 {
                    let beyond = (-self.ahead_est).round();
                    self.ahead_est = 0.0;
                    // A whole number below i64::MAX: the cast is exact.
                    beyond.min(qty as f64) as i64
                } else {
                    0
                }
            }
        }
    }

    /// The level now displays `qty` (ours not included).
    pub fn level(&mut self, qty: i64) {
        let new = qty.max(0);
        let prev = self.level;
        self.level = new;
        if !self.known {
            self.known = true;
            self.ahead = new;
            self.ahead_est = new as f64;
            self.traded = 0;
            return;
        }
        let Some(power) = self.power else {
            self.ahead = self.ahead.min(new);
            return;
        };
        let traded = std::mem::take(&mut self.traded);
        let d = prev.saturating_sub(new).saturating_sub(traded);
        if d <= 0 {
            self.ahead_est = self.ahead_est.min(new as f64);
            return;
        }
        let front = self.ahead_est;
        let behind = ((prev.saturating_sub(traded)) as f64 - front).max(0.0);
        let d = d as f64;
        let p = front_share(front, behind, power);
        let from_behind = d * (1.0 - p);
        let overflow = (from_behind - behind).max(0.0);
        let ahead = front - d * p - overflow;
        self.ahead_est = ahead.max(0.0).min(new as f64);
    }
}

/// `f(front) / (f(front) + f(behind))` with `f(x) = x^power`, computed without overflow.
pub(crate) fn front_share(front: f64, behind: f64, power: f64) -> f64 {
    if front <= 0.0 {
        0.0
    } else if behind <= 0.0 {
        1.0
    } else {
        1.0 / (1.0 + (behind / front).powf(power))
    }
}
