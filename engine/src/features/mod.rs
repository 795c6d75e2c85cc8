//! Incremental market features, updated in O(1) per event .
//!
//! A [`FeatureEngine`] holds the state of one instrument's features and a [`Features`]
//! snapshot of their current values. Feed it every book change ([`FeatureEngine::on_book`])
//! and every trade ([`FeatureEngine::on_trade`]); read the snapshot with
//! [`FeatureEngine::values`]. Which features are computed, and their half-lives, come from a
//! [`FeatureConfig`].
//!
//! | feature | definition |
//! |---|---|
//! | `mid` | (best bid + best ask) / 2 |
//! | `spread` | best ask − best bid |
//! | `microprice` | (bid·ask_qty + ask·bid_qty) / (bid_qty + ask_qty) |
//! | `top_imbalance` | (bid_qty − ask_qty) / (bid_qty + ask_qty) at the best level, in [−1, 1] |
//! | `depth_imbalance` | the same over the quantities of the best N levels of each side |
//! | `trade_flow_imbalance` | (buy − sell aggressor volume) / (buy + sell), both decayed |
//! | `ret_ewma` | event-time EWMA of log-mid returns |
//! | `vol_ewma` | event-time EWMA of squared log-mid returns (a variance, not its root) |
//! | `vwap` | Σ price·qty / Σ qty over trades, cumulative or decayed |
//! | `ns_since_last_trade` | event time since the last valid trade |
//!
//! # Units
//!
//! Prices (`mid`, `spread`, `microprice`, `vwap`) are `f64` in **price units**: the raw
//! fixed-point value divided by `10^price_scale` (raw `10050` at scale 2 is `100.5`), so a
//! model sees the same numbers whatever the feed's scale. Quantities enter only through
//! ratios (imbalances) or as weights (VWAP); they are converted to quantity units the same
//! way. Returns are natural-log returns; times are nanoseconds.
//!
//! # Determinism
//!
//! No clock, no randomness, no maps: every value is a function of the sequence of calls and
//! their arguments, computed with `f64` operations in a fixed order. Time is the timestamp
//! passed in; see [`FeatureEngine`] for which one the caller should pass.
//!
//! # Undefined values
//!
//! A value that is not defined — no two-sided book yet, a crossed book, no trade yet, or a
//! disabled feature — is `None`. A `Some` value is always finite: every division is guarded
//! and bad input (crossed books, non-positive prices or quantities, timestamps going
//! backwards, scales out of range) is counted in [`FeatureAnomalies`], never a panic.

mod config;
mod engine;

pub use config::{FeatureConfig, FeatureConfigError, FeatureSet, MAX_IMBALANCE_LEVELS};
pub use engine::{FeatureAnomalies, FeatureEngine};

use std::fmt;

/// One feature, for selecting features by name in a config and reading them in a fixed
/// order as model inputs ([`Features::get`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeatureKind {
    Mid,
    Spread,
    Microprice,
    TopImbalance,
    DepthImbalance,
    TradeFlowImbalance,
    RetEwma,
    VolEwma,
    Vwap,
    NsSinceLastTrade,
}

impl FeatureKind {
    /// Every feature, in declaration order.
    pub const ALL: [FeatureKind; 10] = [
        Self::Mid,
        Self::Spread,
        Self::Microprice,
        Self::TopImbalance,
        Self::DepthImbalance,
        Self::TradeFlowImbalance,
        Self::RetEwma,
        Self::VolEwma,
        Self::Vwap,
        Self::NsSinceLastTrade,
    ];

    /// The stable snake_case name, as used in configs and reports (the [`Features`] field).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mid => "mid",
            Self::Spread => "spread",
            Self::Microprice => "microprice",
            Self::TopImbalance => "top_imbalance",
            Self::DepthImbalance => "depth_imbalance",
            Self::TradeFlowImbalance => "trade_flow_imbalance",
            Self::RetEwma => "ret_ewma",
            Self::VolEwma => "vol_ewma",
            Self::Vwap => "vwap",
            Self::NsSinceLastTrade => "ns_since_last_trade",
        }
    }

    /// The feature named `name` (see [`Self::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for FeatureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The current feature values: a fixed-size, `Copy` snapshot. `None` where a value is
/// undefined or disabled; every `Some` is finite. Units are in the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Features {
    /// Mid price, price units.
    pub mid: Option<f64>,
    /// Best ask − best bid, price units; > 0 (a book with bid ≥ ask has no book features).
    pub spread: Option<f64>,
    /// Size-weighted mid, price units, within [bid, ask].
    pub microprice: Option<f64>,
    /// Best-level quantity imbalance, in [−1, 1]; positive = more bid quantity.
    pub top_imbalance: Option<f64>,
    /// Quantity imbalance over the best [`FeatureConfig::imbalance_levels`] levels of each
    /// side (fewer if the book holds fewer), in [−1, 1].
    pub depth_imbalance: Option<f64>,
    /// Decayed buy minus sell aggressor volume over their sum, in [−1, 1]; positive = buyers
    /// lifting. Trades without a known aggressor do not count.
    pub trade_flow_imbalance: Option<f64>,
    /// EWMA of log-mid returns (dimensionless). Starts at 0 (no bias correction): the first
    /// half-life is a warm-up.
    pub ret_ewma: Option<f64>,
    /// EWMA of squared log-mid returns (a variance per update; take the root for a
    /// volatility). Starts at 0 like `ret_ewma`.
    pub vol_ewma: Option<f64>,
    /// Volume-weighted average trade price, price units.
    pub vwap: Option<f64>,
    /// Event-time nanoseconds since the last valid trade, as of the latest event.
    pub ns_since_last_trade: Option<u64>,
}

impl Features {
    /// No value defined.
    pub const EMPTY: Self = Self {
        mid: None,
        spread: None,
        microprice: None,
        top_imbalance: None,
        depth_imbalance: None,
        trade_flow_imbalance: None,
        ret_ewma: None,
        vol_ewma: None,
        vwap: None,
        ns_since_last_trade: None,
    };

    /// The value of `kind` as an `f64` (a model input); `ns_since_last_trade` is converted
    /// from `u64` (exact below 2^53 ns, about 104 days).
    pub fn get(&self, kind: FeatureKind) -> Option<f64> {
        match kind {
            FeatureKind::Mid => self.mid,
            FeatureKind::Spread => self.spread,
            FeatureKind::Microprice => self.microprice,
            FeatureKind::TopImbalance => self.top_imbalance,
            FeatureKind::DepthImbalance => self.depth_imbalance,
            FeatureKind::TradeFlowImbalance => self.trade_flow_imbalance,
            FeatureKind::RetEwma => self.ret_ewma,
            FeatureKind::VolEwma => self.vol_ewma,
            FeatureKind::Vwap => self.vwap,
            FeatureKind::NsSinceLastTrade => self.ns_since_last_trade.map(|ns| ns as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for k in FeatureKind::ALL {
            assert_eq!(FeatureKind::from_name(k.name()), Some(k));
            assert_eq!(k.to_string(), k.name());
        }
        assert_eq!(FeatureKind::from_name("nope"), None);
    }

    #[test]
    fn get_reads_each_field() {
        let f = Features {
            mid: Some(1.0),
            spread: Some(2.0),
            microprice: Some(3.0),
            top_imbalance: Some(4.0),
            depth_imbalance: Some(5.0),
            trade_flow_imbalance: Some(6.0),
            ret_ewma: Some(7.0),
            vol_ewma: Some(8.0),
            vwap: Some(9.0),
            ns_since_last_trade: Some(10),
        };
        let got: Vec<_> = FeatureKind::ALL.iter().map(|&k| f.get(k)).collect();
        let want: Vec<_> = (1..=10).map(|i| Some(f64::from(i))).collect();
        assert_eq!(got, want);
        assert!(FeatureKind::ALL
            .iter()
            .all(|&k| Features::EMPTY.get(k).is_none()));
        assert_eq!(Features::default(), Features::EMPTY);
    }
}
