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
//! On L2 or L1 data there is no order identity, and `Fifo` degrades to the risk-averse
//! model below.
//!
//! # [`QueueModel::RiskAverse`]: the queue advances only on trades (any data)
//!
//! hftbacktest's `RiskAdverseQueueModel`: `ahead` falls only by executions at our price
//! against our side (`ahead -= traded`; what is traded beyond `ahead` reaches us) and is
//! capped by the level's displayed quantity after every update of the level
//! (`ahead = min(ahead, displayed)`); a cancel is always assumed to come from behind. On L3
//! data an execution of any order at our level counts as a trade (order identities are
//! ignored), so an order of ours can only fill later than under exact FIFO, never earlier.
//!
//! # The probabilistic models: [`QueueModel::Probabilistic`] (power), [`QueueModel::LogProbabilistic`], [`QueueModel::LogProbabilistic2`] (L2 data)
//!
//! hftbacktest's `ProbQueueModel` with one of its probability functions. Each gives the share
//! `p` of a decrease of the level that is taken from the **front** (ahead of us), from the
//! quantities `front = ahead` and `back` (behind us):
//!
//! | model | hftbacktest | `p` (front share) |
//! |---|---|---|
//! | `Probabilistic { power: n }` | `PowerProbQueueFunc(n)` | `f(front) / (f(front) + f(back))`, `f(x) = x^n` |
//! | `LogProbabilistic` | `LogProbQueueFunc` | `f(front) / (f(front) + f(back))`, `f(x) = ln(1 + x)` |
//! | `LogProbabilistic2` | `LogProbQueueFunc2` | `1 − f(back) / f(back + front)`, `f(x) = ln(1 + x)` |
//!
//! (hftbacktest's functions return `1 − p`, the share taken from behind.) With every function
//! `p = 0` when `front = 0` and `p = 1` when `back = 0` (there is nothing to take on the other
//! side). Then:
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
//!   the front is `p` (`front = ahead`, `back = behind`; the power function is computed as
//!   `1 / (1 + (behind/ahead)^power)`): `ahead -= d·p`, plus whatever part of `d·(1 − p)`
//!   exceeds `behind` (cancels cannot come from an empty back); then
//!   `ahead = min(max(ahead, 0), new)`.
//!
//! `power = 0` splits every unexplained decrease half and half (`p = ½` whatever the sizes);
//! a large `power` makes cancels come from the larger side: when less is ahead of us than
//! behind, `p → 0` and our position barely moves; when more is ahead, `p → 1` and it moves by
//! nearly the whole decrease. `LogProbabilistic` sits between `power = 0` and `power = 1`:
//! it favours the larger side, but weakly for large queues. `LogProbabilistic2` is
//! cautious: it takes most of a decrease from behind unless little is behind (100 ahead and
//! 50 behind: `p = 0.22`; 100 ahead and 1 behind: `p = 0.85`). `ahead` is an `f64`
//! (fractions of a raw unit accumulate).
//!
//! ## Where this differs from hftbacktest, and why
//!
//! - **`back` after trades.** hftbacktest takes `back = prev − front` where `front` has
//!   already been lowered by the trades since the last update while `prev` (the level as last
//!   displayed) still contains them; its `back` is therefore too large by the traded
//!   quantity. Here `behind = prev − traded − ahead`: the traded quantity came from the front,
//!   not from behind. (This is also what every existing backtest with the power model
//!   computed; changing it would change their results.)
//! - **`ahead` never goes below 0 on a level update.** hftbacktest lets a decrease push
//!   `front` below 0 (with `p = ½` at `front = 0` under `power = 0`, or when the decrease
//!   exceeds the level); the next trade then fills `−front + traded`, more than was traded.
//!   Here `ahead` is clamped at 0 and a trade never fills more than its own quantity.
//! - **Several orders of ours at one level share an execution** in their arrival order
//!   (their fills together never exceed it); hftbacktest lets each of them fill from the
//!   same trade.
//! - A fill is rounded to a whole raw unit (hftbacktest rounds to a lot).
//!
//! On L3 data the model reads each L3 event as the level change it makes (an execution is a
//! trade plus the decrease it causes), ignoring the order identities.

use std::fmt;
use std::io::{self, Write};

use tickrail_engine::config::QueueSpec;
use tickrail_engine::{InstrumentId, Price, Qty, Scale, Side};

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
    /// The queue ahead shrinks only by trades at our price, on any data.
    RiskAverse,
    /// hftbacktest's probabilistic model with `f(x) = ln(1 + x)`, front share
    /// `f(front) / (f(front) + f(back))`.
    LogProbabilistic,
    /// hftbacktest's probabilistic model with `f(x) = ln(1 + x)`, front share
    /// `1 − f(back) / f(back + front)`.
    LogProbabilistic2,
}

/// How a model moves `ahead` on L2/L1 data.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Exact FIFO on L3 data, risk-averse on level data.
    Fifo,
    /// Risk-averse on any data.
    RiskAverse,
    /// A probabilistic split of unexplained decreases.
    Prob(Split),
}

/// The front share function of a probabilistic model.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Split {
    Power(f64),
    Log,
    Log2,
}

impl QueueModel {
    /// Checks the model's parameters.
    pub fn validate(&self) -> Result<(), BacktestError> {
        match *self {
            Self::Probabilistic { power } if !(power.is_finite() && power >= 0.0) => {
                Err(BacktestError::InvalidPower { power })
            }
            _ => Ok(()),
        }
    }

    /// The model's name, as [`QueueModel::parse`] reads it back (`tickrail backtest
    /// --queue` and the output manifest's `queue` key): `fifo`, `risk_averse`, `prob:POWER`,
    /// `log_prob`, `log_prob2`.
    pub fn name(&self) -> String {
        match *self {
            Self::Fifo => "fifo".into(),
            Self::RiskAverse => "risk_averse".into(),
            Self::Probabilistic { power } => format!("prob:{power}"),
            Self::LogProbabilistic => "log_prob".into(),
            Self::LogProbabilistic2 => "log_prob2".into(),
        }
    }

    /// Parses a model name: `fifo`, `risk_averse`, `prob` or `power_prob` (power 2),
    /// `prob:POWER` or `power_prob:POWER` (finite, `>= 0`), `log_prob`, `log_prob2`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "fifo" => return Some(Self::Fifo),
            "risk_averse" => return Some(Self::RiskAverse),
            "log_prob" => return Some(Self::LogProbabilistic),
            "log_prob2" => return Some(Self::LogProbabilistic2),
            _ => {}
        }
        let rest = text
            .strip_prefix("power_prob")
            .or_else(|| text.strip_prefix("prob"))?;
        let power = match rest {
            "" => 2.0,
            p => p
                .strip_prefix(':')?
                .parse::<f64>()
                .ok()
                .filter(|p| p.is_finite() && *p >= 0.0)?,
        };
        Some(Self::Probabilistic { power })
    }

    fn rule(self) -> Rule {
        match self {
            Self::Fifo => Rule::Fifo,
            Self::RiskAverse => Rule::RiskAverse,
            Self::Probabilistic { power } => Rule::Prob(Split::Power(power)),
            Self::LogProbabilistic => Rule::Prob(Split::Log),
            Self::LogProbabilistic2 => Rule::Prob(Split::Log2),
        }
    }

    /// Whether the model follows L3 order identities (exact FIFO).
    pub fn is_exact_fifo(&self) -> bool {
        matches!(self, Self::Fifo)
    }
}

/// `[backtest.queue]` of the config: `power_prob` is [`QueueModel::Probabilistic`].
impl From<QueueSpec> for QueueModel {
    fn from(spec: QueueSpec) -> Self {
        match spec {
            QueueSpec::Fifo => Self::Fifo,
            QueueSpec::RiskAverse => Self::RiskAverse,
            QueueSpec::PowerProb { power } => Self::Probabilistic { power },
            QueueSpec::LogProb => Self::LogProbabilistic,
            QueueSpec::LogProb2 => Self::LogProbabilistic2,
        }
    }
}

/// The estimated queue position of one resting order of ours; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueuePosition {
    rule: Rule,
    /// FIFO and risk-averse: quantity ahead, exact.
    ahead: i64,
    /// Probabilistic: quantity ahead, estimated.
    ahead_est: f64,
    /// The level's last displayed quantity (ours not included).
    level: i64,
    /// Probabilistic: quantity traded at our price since the last level update.
    traded: i64,
    /// Whether the level was visible yet (`ahead` is meaningful).
    known: bool,
    /// `ahead` when the order started resting (`None`: the level was not visible then).
    entry: Option<f64>,
    /// `ahead` just before the feed event that gave the last fill (`None`: unknown then).
    at_fill: Option<f64>,
}

impl QueuePosition {
    /// A position at the back of a level displaying `displayed` (`None`: the level is not
    /// visible; the position is unknown until it is).
    pub fn new(model: QueueModel, displayed: Option<i64>) -> Self {
        let level = displayed.unwrap_or(0).max(0);
        Self {
            rule: model.rule(),
            ahead: level,
            ahead_est: level as f64,
            level,
            traded: 0,
            known: displayed.is_some(),
            entry: displayed.is_some().then_some(level as f64),
            at_fill: None,
        }
    }

    /// The quantity ahead of the order (`None` while unknown).
    pub fn ahead(&self) -> Option<f64> {
        if !self.known {
            return None;
        }
        Some(match self.rule {
            Rule::Fifo | Rule::RiskAverse => self.ahead as f64,
            Rule::Prob(_) => self.ahead_est,
        })
    }

    /// The quantity ahead when the order started resting (`None`: unknown then).
    pub fn entry_ahead(&self) -> Option<f64> {
        self.entry
    }

    /// The quantity ahead just before the feed event that gave the order's last fill while
    /// resting (`None`: unknown then, or no such fill yet).
    pub fn fill_ahead(&self) -> Option<f64> {
        self.at_fill
    }

    /// Records `ahead`, the position before the feed event being applied, as the position
    /// at the fill that event gives.
    pub fn filled_from(&mut self, ahead: Option<f64>) {
        self.at_fill = ahead;
    }

    /// The level's last displayed quantity (`None` while unknown).
    pub fn level_qty(&self) -> Option<i64> {
        self.known.then_some(self.level)
    }

    /// FIFO on L3 data: whether an order of our level with `queue_ahead_of_it` queued in front
    /// of it (before the event) is ahead of us.
    pub fn is_ahead(&self, queue_ahead_of_it: i64) -> bool {
        self.known && self.rule == Rule::Fifo && queue_ahead_of_it < self.ahead
    }

    /// FIFO on L3 data: an order ahead of us lost `qty` (executed, deleted, reduced or moved
    /// behind us).
    pub fn remove_ahead(&mut self, qty: i64) {
        if self.rule == Rule::Fifo {
            self.ahead = self.ahead.saturating_sub(qty.max(0)).max(0);
        }
    }

    /// FIFO on L3 data: an order behind us executed `qty`; returns what reaches us (all of it
    /// once nothing is ahead, else nothing).
    pub fn behind_executed(&mut self, qty: i64) -> i64 {
        if self.known && self.rule == Rule::Fifo && self.ahead == 0 {
            qty.max(0)
        } else {
            0
        }
    }

    /// A trade of `qty` at our price against our side (L2/L1 data under every model, L3
    /// data under every model but exact FIFO); returns the quantity traded beyond the queue,
    /// which reaches us (never more than `qty`).
    pub fn trade(&mut self, qty: i64) -> i64 {
        let qty = qty.max(0);
        if !self.known {
            return 0;
        }
        match self.rule {
            Rule::Fifo | Rule::RiskAverse => {
                let left = self.ahead.saturating_sub(qty);
                self.ahead = left.max(0);
                left.min(0).saturating_neg()
            }
            Rule::Prob(_) => {
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
        let Rule::Prob(split) = self.rule else {
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
        let p = match split {
            Split::Power(power) => front_share(front, behind, power),
            Split::Log => log_front_share(front, behind),
            Split::Log2 => log2_front_share(front, behind),
        };
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

/// `f(front) / (f(front) + f(behind))` with `f(x) = ln(1 + x)`.
pub(crate) fn log_front_share(front: f64, behind: f64) -> f64 {
    if front <= 0.0 {
        0.0
    } else if behind <= 0.0 {
        1.0
    } else {
        let (f, b) = (front.ln_1p(), behind.ln_1p());
        f / (f + b)
    }
}

/// `1 − f(behind) / f(behind + front)` with `f(x) = ln(1 + x)`.
pub(crate) fn log2_front_share(front: f64, behind: f64) -> f64 {
    if front <= 0.0 {
        0.0
    } else if behind <= 0.0 {
        1.0
    } else {
        1.0 - behind.ln_1p() / (behind + front).ln_1p()
    }
}

/// How a resting order of ours was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestingFill {
    /// Executions at its price beyond the queue ahead of it reached it.
    Queue,
    /// A trade printed through its price.
    Through,
}

/// One fill of a resting order of ours, with its estimated queue position
/// ([`HistoricalMarket::queue_fills`](super::HistoricalMarket::queue_fills)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueFill {
    /// Venue time of the fill (the feed event that gave it).
    pub at_ns: i64,
    /// The order's client id at the time of the fill.
    pub client_order_id: u64,
    /// The instrument.
    pub instrument: InstrumentId,
    /// The order's side.
    pub side: Side,
    /// The fill's price (the order's own).
    pub price: Price,
    /// The quantity filled, raw.
    pub qty: i64,
    /// Its price scale.
    pub price_scale: u8,
    /// Its quantity scale.
    pub qty_scale: u8,
    /// From the queue or traded through.
    pub kind: RestingFill,
    /// The quantity ahead when the order started resting (its last arrival: an amend that
    /// loses priority starts it again); `None`: the level was not visible then.
    pub entry_ahead: Option<f64>,
    /// The quantity ahead just before the feed event that filled it; `None`: unknown then.
    pub fill_ahead: Option<f64>,
}

/// The header line of [`write_queue_fills_csv`].
pub const QUEUE_FILLS_CSV_HEADER: &str =
    "venue_ts_ns,client_order_id,instrument,side,price,qty,kind,ahead_at_entry,ahead_at_fill";

/// Writes `fills` as CSV: [`QUEUE_FILLS_CSV_HEADER`], then one line per fill, prices and
/// quantities in decimal, `kind` `queue` or `through`, positions with up to 3 decimals
/// (empty when unknown).
pub fn write_queue_fills_csv(out: &mut impl Write, fills: &[QueueFill]) -> io::Result<()> {
    writeln!(out, "{QUEUE_FILLS_CSV_HEADER}")?;
    let ahead = |a: Option<f64>, scale: Scale| match a {
        // Raw units to the instrument's units; 3 decimals of a raw unit are enough for an
        // estimate (the probabilistic models keep fractions).
        Some(a) => trim(a / 10f64.powi(i32::from(scale.get())), scale),
        None => String::new(),
    };
    for f in fills {
        let ps = Scale::new_checked(f.price_scale).unwrap_or(Scale::new(0));
        let qs = Scale::new_checked(f.qty_scale).unwrap_or(Scale::new(0));
        writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            f.at_ns,
            f.client_order_id,
            f.instrument.get(),
            match f.side {
                Side::Buy => "buy",
                Side::Sell => "sell",
            },
            f.price.display(ps),
            Qty::new_checked(f.qty).unwrap_or(Qty::ZERO).display(qs),
            match f.kind {
                RestingFill::Queue => "queue",
                RestingFill::Through => "through",
            },
            ahead(f.entry_ahead, qs),
            ahead(f.fill_ahead, qs),
        )?;
    }
    Ok(())
}

/// `x` with `scale + 3` decimals, trailing zeros dropped.
fn trim(x: f64, scale: Scale) -> String {
    trim_places(x, usize::from(scale.get()) + 3)
}

/// `x` with `places` decimals, trailing zeros dropped.
fn trim_places(x: f64, places: usize) -> String {
    let s = format!("{x:.places$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Queue statistics of a backtest's resting fills: how many came from the queue and how many
/// were traded through, and the position at entry and just before the fill (in each
/// instrument's units, not raw; median and 90th percentile by nearest rank over the fills
/// whose position was known).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct QueueFillStats {
    /// Fills from the queue.
    pub queue_fills: u64,
    /// Fills by a trade through the price.
    pub through_fills: u64,
    /// Fills whose position at entry was unknown.
    pub entry_unknown: u64,
    /// Median position at entry.
    pub entry_median: Option<f64>,
    /// 90th percentile of the position at entry.
    pub entry_p90: Option<f64>,
    /// Median position just before the fill.
    pub fill_median: Option<f64>,
    /// 90th percentile of the position just before the fill.
    pub fill_p90: Option<f64>,
}

impl QueueFillStats {
    /// The statistics of `fills`.
    pub fn of(fills: &[QueueFill]) -> Self {
        let known = |pick: fn(&QueueFill) -> Option<f64>| {
            let mut v: Vec<f64> = fills
                .iter()
                .filter_map(|f| Some(pick(f)? / 10f64.powi(i32::from(f.qty_scale))))
                .collect();
            v.sort_unstable_by(f64::total_cmp);
            v
        };
        let entry = known(|f| f.entry_ahead);
        let fill = known(|f| f.fill_ahead);
        let count = |k: RestingFill| fills.iter().filter(|f| f.kind == k).count() as u64;
        Self {
            queue_fills: count(RestingFill::Queue),
            through_fills: count(RestingFill::Through),
            entry_unknown: fills.iter().filter(|f| f.entry_ahead.is_none()).count() as u64,
            entry_median: nearest_rank(&entry, 50),
            entry_p90: nearest_rank(&entry, 90),
            fill_median: nearest_rank(&fill, 50),
            fill_p90: nearest_rank(&fill, 90),
        }
    }
}

/// The `pct`-th percentile of sorted `v` by nearest rank: the value at rank
/// `ceil(pct/100 · n)` (from 1).
fn nearest_rank(v: &[f64], pct: usize) -> Option<f64> {
    let rank = (pct * v.len()).div_ceil(100).max(1);
    v.get(rank - 1).copied()
}

/// One line: `12 fills from the queue, 3 traded through; queue ahead at entry median 150
/// p90 400 (1 unknown), just before the fill median 0 p90 20 (instrument units)`; `-` for
/// a figure without any known position.
impl fmt::Display for QueueFillStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| trim_places(x, 6));
        write!(
            f,
            "{} fills from the queue, {} traded through; queue ahead at entry median {} p90 {} \
             ({} unknown), just before the fill median {} p90 {} (instrument units)",
            self.queue_fills,
            self.through_fills,
            v(self.entry_median),
            v(self.entry_p90),
            self.entry_unknown,
            v(self.fill_median),
            v(self.fill_p90),
        )
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
