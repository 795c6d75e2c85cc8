//! # The engine config: one TOML file, validated at load
//!
//! [`EngineConfig::load`] reads a TOML file (see `config/default.toml`, and the key reference
//! in `config/README.md`), checks every key and value, and returns plain data for the parts
//! that build the engine: [`InstrumentSpec`]s, a [`FeatureConfig`], a [`ModelConfig`],
//! [`StrategyParams`], [`RiskConfig`] (risk limits, one set per instrument), [`VenueSpec`]s,
//! [`RouterParams`], an [`OmsConfig`], a [`FeedSpec`] and a [`RuntimeConfig`]. Nothing is built or loaded here
//! (a model file is only checked to exist), and nothing here runs on the hot path.
//!
//! ## Errors
//!
//! Every failure is a [`ConfigError`] that displays as `FILE: KEY: REASON`, the key being
//! the full dotted path with array indices, and ends with `(line L, column C)` when the key
//! is in the file:
//!
//! ```text
//! config/default.toml: risk.max_order_qty: must be positive, got 0 (line 98, column 17)
//! x.toml: instruments[1].tick_size: "0.003" is not representable at price_scale 2 (line 13, column 13)
//! ```
//!
//! TOML syntax errors, unknown keys (every table is closed: a misspelt key is an error, never
//! ignored), missing keys and wrong types are reported the same way. Loading stops at the
//! first error.
//!
//! ## Numbers
//!
//! - Prices, quantities, fees and money are **decimal text** (`"0.01"`, or a TOML integer),
//!   parsed exactly with [`crate::value::parse_raw`] at the instrument's scales; a TOML float
//!   there is an error. No `f64` touches them.
//! - Times are integer nanoseconds (`_ns`); model weights, half-lives and basis-point
//!   thresholds are TOML floats or integers.
//!
//! ## Units of the built values
//!
//! - Risk quantities are raw quantities of each instrument; notionals and money are in *raw
//!   price × raw quantity* units (`i128`), as [`crate::risk`] expects. `[risk]` gives defaults
//!   for every instrument, converted at each instrument's scales; `[[instruments]]` may
//!   override them; [`RiskConfig::instruments`] holds the result, index = instrument id.
//! - `risk.max_gross_position` sums raw quantities and `risk.max_daily_loss` sums raw PnL
//!   across instruments, so every instrument must share one `price_scale` and one
//!   `qty_scale` (checked).
//! - Fees are given per side, per unit of quantity in price currency (converted, per
//!   instrument, to raw price units per raw quantity unit; a fee that does not convert exactly
//!   is an error) or in basis points of notional (exact to 4 decimals), per venue with
//!   `[[fees]]` overrides per venue and instrument ([`VenueSpec::fee_schedule`]).
//!
//! ## Adding a section
//!
//! A field on `raw::RawConfig` (a `deny_unknown_fields` serde struct), a `build_*` step in
//! `build.rs` that reports problems as an `Issue` carrying the full dotted key, a field on
//! [`EngineConfig`], and rows in `config/README.md`. Unknown-key, missing-key and type errors
//! need no code: the key path is found from `toml`'s error span.

mod backtest;
mod backtest_latency;
mod build;
mod error;
mod live;
mod locate;
mod raw;
mod runtime;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use backtest::{BacktestSpec, QueueSpec};
pub use backtest_latency::{
    format_time_of_day, parse_profile, parse_time_of_day, LatencyKind, LatencyModelSpec,
    LatencyProfile, LatencySpec, ProfileError, ProfileSeries, NS_PER_DAY, PROFILE_HEADER,
};
pub use live::{parse_date, FixSessionSpec, LiveSpec, UdpFeedSpec};
pub use runtime::{Pace, RuntimeConfig, SendDurability, StageName, ThreadRole, ThreadSpec};

pub use error::{ConfigError, ConfigErrorKind, Location};

use crate::features::{FeatureConfig, FeatureKind};
use crate::instrument::InstrumentSpec;
use crate::model::Link;
use crate::oms::{FeeSchedule, Fees};
use crate::risk::{InstrumentLimits, RiskLimits};
use crate::router::RouterParams;
use crate::strategy::StrategyParams;
use crate::timers::SessionSchedule;
use crate::value::Price;

/// `[oms] max_orders` when not given.
pub const DEFAULT_OMS_MAX_ORDERS: usize = 65_536;

/// The largest accepted `[oms] max_orders` (the order table is preallocated).
pub const MAX_OMS_MAX_ORDERS: usize = 1 << 24;

/// The largest accepted `[feed] depth_levels`.
pub const MAX_FEED_DEPTH_LEVELS: u32 = 1_000;

/// A whole engine configuration, validated. Built by [`EngineConfig::load`] or
/// [`EngineConfig::from_toml_str`].
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// The file it came from, as given (used in error messages and reports).
    pub file: String,
    /// The instruments, index = [`InstrumentSpec::id`] (dense, in file order).
    pub instruments: Vec<InstrumentSpec>,
    /// Which features to compute and their half-lives (`[features]`).
    pub features: FeatureConfig,
    /// The model (`[model]`).
    pub model: ModelConfig,
    /// The strategy (`[strategy]`).
    pub strategy: StrategyParams,
    /// Pre-trade risk limits (`[risk]` and the per-instrument overrides).
    pub risk: RiskConfig,
    /// The venues, in file order (`[[venues]]`).
    pub venues: Vec<VenueSpec>,
    /// The router (`[router]`), its venues built from `[[venues]]` in file order.
    pub router: RouterParams,
    /// The OMS (`[oms]`).
    pub oms: OmsConfig,
    /// The market-data feed (`[feed]`).
    pub feed: FeedSpec,
    /// How the engine runs live (`[runtime]`, optional).
    pub runtime: RuntimeConfig,
    /// What a live run trades against (`[live]`, optional: the synthetic market).
    pub live: LiveSpec,
    /// How `tickrail backtest`'s historical venue simulates the exchange (`[backtest]`,
    /// optional; a live run ignores it).
    pub backtest: BacktestSpec,
    /// [`config_hash`] of the file's bytes.
    hash: u64,
    /// The file's text, as read (a run directory keeps a copy of it).
    text: String,
}

/// The model to build: which features it reads, in order, its id and its parameters or file.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Carried in every `Signal` event the model produces.
    pub model_id: u16,
    /// The model's inputs, in the order it was trained on (each is enabled in `[features]`).
    pub features: Vec<FeatureKind>,
    /// Kind and parameters.
    pub spec: ModelSpec,
}

/// What kind of model, with what it needs to be built. Model files are not opened here.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSpec {
    /// `link(bias + Σ wᵢ·xᵢ)`; `weights` has one finite entry per feature.
    Linear {
        /// One per feature, in feature order.
        weights: Vec<f64>,
        /// The intercept.
        bias: f64,
        /// Applied to the margin.
        link: Link,
    },
    /// An XGBoost JSON model; the path is resolved against the config file's directory and
    /// existed at load.
    Xgboost {
        /// The model file.
        path: PathBuf,
    },
    /// An ONNX model; the path is resolved like [`ModelSpec::Xgboost`]'s.
    Onnx {
        /// The model file.
        path: PathBuf,
    },
}

/// Risk limits: the global ones and one [`InstrumentLimits`] per instrument.
///
/// [`RiskLimits::instrument`] holds instrument 0's limits (the engine applies it to every
/// instrument until told otherwise); a caller building a `RiskEngine` sets every
/// instrument's limits from [`RiskConfig::instruments`] with `set_instrument_limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskConfig {
    /// The global limits (validated with [`RiskLimits::validate`]).
    pub limits: RiskLimits,
    /// Per-instrument limits, index = instrument id: the `[risk]` defaults converted at the
    /// instrument's scales, with its `[[instruments]]` overrides applied.
    pub instruments: Vec<InstrumentLimits>,
    /// When the trading day starts again (`risk.session_start` in `risk.session_time_zone`):
    /// the daily loss resets there ([`crate::timers::SESSION_START`]). `None`: never after
    /// the run's start.
    pub session: Option<SessionSchedule>,
}

/// One venue: identity, simulated latencies and fees per instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueSpec {
    /// The venue id: `OrderNew::venue` and the `source` of its events. Unique.
    pub id: u16,
    /// A name for reports.
    pub name: String,
    /// From submission to the matching engine, ns, `>= 0`.
    pub entry_latency_ns: i64,
    /// From matching to our receipt of the reports, ns, `>= 0`.
    pub ack_latency_ns: i64,
    /// From matching to our receipt of market data, ns, `>= 0`.
    pub feed_latency_ns: i64,
    /// The router's fee figures per instrument (index = instrument id): a per-unit rate in
    /// raw price units per raw quantity unit, a rate in basis points as its raw
    /// [`FeeRate::Bps`](crate::oms::FeeRate::Bps) value (an instrument's side is on one basis
    /// across venues, so the figures compare).
    pub fees: Vec<Fees>,
    /// What fills pay, per instrument (index = instrument id): `[[venues]]`'s fee keys with the
    /// `[[fees]]` overrides applied.
    pub fee_schedule: Vec<FeeSchedule>,
}

/// The OMS's sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OmsConfig {
    /// How many orders the OMS remembers (preallocated), `risk.max_open_orders ..=`
    /// [`MAX_OMS_MAX_ORDERS`].
    pub max_orders: usize,
}

/// Where market data comes from. Plain data: the feed itself is built elsewhere.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedSpec {
    /// A seeded synthetic market.
    Synthetic(SyntheticFeedSpec),
}

/// A seeded synthetic market: participants trading around a mid that follows a random walk
/// whose volatility switches between regimes.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticFeedSpec {
    /// The seed of every random draw.
    pub seed: u64,
    /// Event time to generate, ns, `> 0`.
    pub duration_ns: i64,
    /// Participant order events per second of event time, per venue and instrument,
    /// finite `> 0`.
    pub participant_rate_per_s: f64,
    /// Price levels per side of the generated books, `1..=`[`MAX_FEED_DEPTH_LEVELS`].
    pub depth_levels: u32,
    /// Starting mid per instrument (index = id), raw at its `price_scale`
    /// (`[[instruments]] initial_mid`).
    pub initial_mid: Vec<Price>,
    /// The volatility regimes, at least one, in file order.
    pub regimes: Vec<RegimeSpec>,
}

/// One volatility regime of the synthetic feed.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeSpec {
    /// A name for reports (`regime<i>` if not given).
    pub name: String,
    /// Volatility of the mid, basis points per √second, finite `>= 0`.
    pub vol_bps_per_sqrt_s: f64,
    /// Mean time spent in the regime before switching, seconds, finite `> 0`.
    pub mean_duration_s: f64,
}

impl EngineConfig {
    /// The timers this config runs (the housekeeping timer every
    /// `strategy.timer_interval_ns`, and the session start of `risk.session_start`), for
    /// the feed thread or the single-thread runner.
    pub fn timers(&self) -> crate::timers::Timers {
        let mut timers = crate::timers::Timers::from_interval(self.strategy.timer_interval_ns);
        if let Some(session) = &self.risk.session {
            timers.set_session(session.clone());
        }
        timers
    }

    /// Read and validate the config file at `path`. Relative model paths are resolved
    /// against the file's directory.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            key: "(file)".to_owned(),
            reason: format!("cannot read: {e}"),
            kind: ConfigErrorKind::Io,
            location: None,
        })?;
        Self::from_toml_str(&text, &file)
    }

    /// Validate config `text`; `origin` names it in errors and, read as a path, its parent
    /// directory is where relative model paths are resolved (`"x.toml"`: the working
    /// directory).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let base_dir = Path::new(origin)
            .parent()
            .map_or_else(PathBuf::new, Path::to_path_buf);
        Self::from_toml_str_in(text, origin, &base_dir, None)
    }

    /// [`Self::from_toml_str`] with relative paths resolved against `base_dir`, and the
    /// model file taken from `model_file` instead of the path the text names (a run
    /// directory's copies: `runtime::run_files`).
    pub fn from_toml_str_in(
        text: &str,
        origin: &str,
        base_dir: &Path,
        model_file: Option<&Path>,
    ) -> Result<Self, ConfigError> {
        let keys = match locate::KeyMap::parse(text) {
            Ok(keys) => keys,
            Err(e) => {
                let (issue, location) = locate::syntax_issue(text, &e);
                return Err(issue.into_error(origin, location));
            }
        };
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
            let (issue, location) = locate::schema_issue(text, &keys, &e);
            issue.into_error(origin, location)
        })?;
        let hash = config_hash(text.as_bytes());
        let built = build::build(raw, base_dir, model_file, origin, hash).and_then(|mut c| {
            // Latency profile files resolve against the config's directory, like models.
            backtest_latency::load_profiles(&mut c.backtest.latency, base_dir)?;
            Ok(c)
        });
        built
            .map(|c| Self {
                text: text.to_owned(),
                ..c
            })
            .map_err(|issue| {
                let location = keys
                    .span_of(&issue.key)
                    .map(|s| Location::of_offset(text, s.start));
                issue.into_error(origin, location)
            })
    }

    /// A stable hash of the config file's bytes ([`config_hash`]); the journal's run manifest
    /// carries it.
    pub fn config_hash(&self) -> u64 {
        self.hash
    }

    /// The config file's text, exactly as read (its [`Self::config_hash`] is of these bytes).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// [`Self::config_hash`] as 16 lowercase hex digits, as written in a run manifest.
    pub fn config_hash_hex(&self) -> String {
        format!("{:016x}", self.hash)
    }
}

/// FNV-1a, 64-bit, of `bytes`: stable across builds, platforms and versions.
pub fn config_hash(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}
