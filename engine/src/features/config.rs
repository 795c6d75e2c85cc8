//! Which features to compute and with which parameters.
//!
//! A plain struct; the config layer (`crate::config`) builds it from TOML.
//! [`FeatureConfig::validate`] names the offending field in every error, so the config layer
//! can add file and key.

use super::FeatureKind;

/// Largest [`FeatureConfig::imbalance_levels`]: the N-level imbalance walks N levels per book
/// update, so N is bounded to keep the update cheap.
pub const MAX_IMBALANCE_LEVELS: usize = 64;

/// Which features are computed. A disabled feature stays `None` in
/// [`super::Features`] and costs nothing per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureSet {
    pub mid: bool,
    pub spread: bool,
    pub microprice: bool,
    pub top_imbalance: bool,
    pub depth_imbalance: bool,
    pub trade_flow_imbalance: bool,
    pub ret_ewma: bool,
    pub vol_ewma: bool,
    pub vwap: bool,
    pub ns_since_last_trade: bool,
}

impl FeatureSet {
    /// Every feature.
    pub const ALL: Self = Self {
        mid: true,
        spread: true,
        microprice: true,
        top_imbalance: true,
        depth_imbalance: true,
        trade_flow_imbalance: true,
        ret_ewma: true,
        vol_ewma: true,
        vwap: true,
        ns_since_last_trade: true,
    };

    /// No feature.
    pub const NONE: Self = Self {
        mid: false,
        spread: false,
        microprice: false,
        top_imbalance: false,
        depth_imbalance: false,
        trade_flow_imbalance: false,
        ret_ewma: false,
        vol_ewma: false,
        vwap: false,
        ns_since_last_trade: false,
    };

    /// The set holding exactly `kinds` (e.g. the names listed in a config, parsed with
    /// [`FeatureKind::from_name`]).
    pub fn of(kinds: &[FeatureKind]) -> Self {
        kinds.iter().fold(Self::NONE, |set, &k| set.with(k, true))
    }

    /// Is `kind` enabled?
    pub const fn contains(&self, kind: FeatureKind) -> bool {
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
            FeatureKind::NsSinceLastTrade => self.ns_since_last_trade,
        }
    }

    /// This set with `kind` switched `on` or off.
    pub const fn with(mut self, kind: FeatureKind, on: bool) -> Self {
        let flag = match kind {
            FeatureKind::Mid => &mut self.mid,
            FeatureKind::Spread => &mut self.spread,
            FeatureKind::Microprice => &mut self.microprice,
            FeatureKind::TopImbalance => &mut self.top_imbalance,
            FeatureKind::DepthImbalance => &mut self.depth_imbalance,
            FeatureKind::TradeFlowImbalance => &mut self.trade_flow_imbalance,
            FeatureKind::RetEwma => &mut self.ret_ewma,
            FeatureKind::VolEwma => &mut self.vol_ewma,
            FeatureKind::Vwap => &mut self.vwap,
            FeatureKind::NsSinceLastTrade => &mut self.ns_since_last_trade,
        };
        *flag = on;
        self
    }
}

impl Default for FeatureSet {
    fn default() -> Self {
        Self::ALL
    }
}

/// Feature parameters. Half-lives are in nanoseconds of event time (see
/// [`super::FeatureEngine`] for which timestamp).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureConfig {
    /// Which features are computed.
    pub enabled: FeatureSet,
    /// N for the N-level depth imbalance, `1..=`[`MAX_IMBALANCE_LEVELS`].
    pub imbalance_levels: usize,
    /// Half-life of the EWMA of log-mid returns.
    pub return_half_life_ns: f64,
    /// Half-life of the EWMA of squared log-mid returns.
    pub vol_half_life_ns: f64,
    /// Half-life of the exponentially decayed buy and sell aggressor volumes.
    pub trade_flow_half_life_ns: f64,
    /// Half-life of the decayed VWAP; `None` is the session VWAP (cumulative since start).
    pub vwap_half_life_ns: Option<f64>,
}

impl Default for FeatureConfig {
    /// Every feature; 5-level imbalance; half-lives of 1 s (returns), 60 s (volatility) and
    /// 5 s (trade flow); session VWAP.
    fn default() -> Self {
        Self {
            enabled: FeatureSet::ALL,
            imbalance_levels: 5,
            return_half_life_ns: 1e9,
            vol_half_life_ns: 60e9,
            trade_flow_half_life_ns: 5e9,
            vwap_half_life_ns: None,
        }
    }
}

/// A [`FeatureConfig`] field out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureConfigError {
    /// A half-life that is not a finite number above zero.
    #[error("{field}: a half-life must be a finite number of nanoseconds > 0, got {value}")]
    HalfLife {
        /// The field's name, e.g. `"vol_half_life_ns"`.
        field: &'static str,
        /// The offending value.
        value: f64,
    },
    /// `imbalance_levels` outside `1..=MAX_IMBALANCE_LEVELS`.
    #[error("imbalance_levels: must be in 1..={max}, got {value}", max = MAX_IMBALANCE_LEVELS)]
    ImbalanceLevels {
        /// The offending value.
        value: usize,
    },
}

impl FeatureConfigError {
    /// The name of the offending [`FeatureConfig`] field.
    pub const fn field(&self) -> &'static str {
        match self {
            Self::HalfLife { field, .. } => field,
            Self::ImbalanceLevels { .. } => "imbalance_levels",
        }
    }
}

impl FeatureConfig {
    /// Check every field; the first bad one is named in the error.
    pub fn validate(&self) -> Result<(), FeatureConfigError> {
        if !(1..=MAX_IMBALANCE_LEVELS).contains(&self.imbalance_levels) {
            return Err(FeatureConfigError::ImbalanceLevels {
                value: self.imbalance_levels,
            });
        }
        let half_lives = [
            ("return_half_life_ns", Some(self.return_half_life_ns)),
            ("vol_half_life_ns", Some(self.vol_half_life_ns)),
            (
                "trade_flow_half_life_ns",
                Some(self.trade_flow_half_life_ns),
            ),
            ("vwap_half_life_ns", self.vwap_half_life_ns),
        ];
        for (field, value) in half_lives {
            if let Some(value) = value {
                // `!(v > 0)` also rejects NaN.
                if !(value.is_finite() && value > 0.0) {
                    return Err(FeatureConfigError::HalfLife { field, value });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        FeatureConfig::default().validate().unwrap();
        assert_eq!(FeatureConfig::default().enabled, FeatureSet::ALL);
    }

    #[test]
    fn bad_fields_are_named() {
        let base = FeatureConfig::default();
        let cases: [(FeatureConfig, &str); 9] = [
            (
                FeatureConfig {
                    imbalance_levels: 0,
                    ..base.clone()
                },
                "imbalance_levels",
            ),
            (
                FeatureConfig {
                    imbalance_levels: MAX_IMBALANCE_LEVELS + 1,
                    ..base.clone()
                },
                "imbalance_levels",
            ),
            (
                FeatureConfig {
                    return_half_life_ns: 0.0,
                    ..base.clone()
                },
                "return_half_life_ns",
            ),
            (
                FeatureConfig {
                    return_half_life_ns: f64::NAN,
                    ..base.clone()
                },
                "return_half_life_ns",
            ),
            (
                FeatureConfig {
                    vol_half_life_ns: -1.0,
                    ..base.clone()
                },
                "vol_half_life_ns",
            ),
            (
                FeatureConfig {
                    vol_half_life_ns: f64::INFINITY,
                    ..base.clone()
                },
                "vol_half_life_ns",
            ),
            (
                FeatureConfig {
                    trade_flow_half_life_ns: 0.0,
                    ..base.clone()
                },
                "trade_flow_half_life_ns",
            ),
            (
                FeatureConfig {
                    vwap_half_life_ns: Some(0.0),
                    ..base.clone()
                },
                "vwap_half_life_ns",
            ),
            (
                FeatureConfig {
                    vwap_half_life_ns: Some(f64::NEG_INFINITY),
                    ..base.clone()
                },
                "vwap_half_life_ns",
            ),
        ];
        for (cfg, field) in cases {
            let err = cfg.validate().unwrap_err();
            assert_eq!(err.field(), field, "{cfg:?}");
            assert!(err.to_string().starts_with(field), "{err}");
        }
        let ok = FeatureConfig {
            imbalance_levels: MAX_IMBALANCE_LEVELS,
            vwap_half_life_ns: Some(1e-3),
            ..base
        };
        ok.validate().unwrap();
    }

    #[test]
    fn feature_sets() {
        assert_eq!(FeatureSet::of(&FeatureKind::ALL), FeatureSet::ALL);
        assert_eq!(FeatureSet::of(&[]), FeatureSet::NONE);
        let s = FeatureSet::of(&[FeatureKind::Mid, FeatureKind::Vwap]);
        for k in FeatureKind::ALL {
            assert_eq!(
                s.contains(k),
                matches!(k, FeatureKind::Mid | FeatureKind::Vwap)
            );
            assert!(FeatureSet::ALL.contains(k) && !FeatureSet::NONE.contains(k));
        }
        assert_eq!(
            s.with(FeatureKind::Vwap, false)
                .with(FeatureKind::Mid, false),
            FeatureSet::NONE
        );
    }
}
