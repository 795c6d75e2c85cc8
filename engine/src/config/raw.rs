//! The file as written: serde structs mirroring the TOML, one per table, every one
//! `deny_unknown_fields`. Nothing here is validated beyond TOML types; [`super::build`]
//! turns a [`RawConfig`] into an [`super::EngineConfig`].
//!
//! Prices, quantities, fees and money are [`DecimalText`]: quoted decimal text (`"0.01"`) or
//! a TOML integer, never a TOML float, so they reach [`crate::value::parse_raw`] exactly.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Unexpected, Visitor};

use crate::model::Link;

/// Exact decimal text: a TOML string (`"0.01"`, `"-0.0020"`) or integer (`100`). A TOML
/// float is refused: `0.1` has no exact binary value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecimalText(pub String);

struct DecimalVisitor;

impl Visitor<'_> for DecimalVisitor {
    type Value = DecimalText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("decimal text in quotes, e.g. \"0.01\" (a TOML float is not exact)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DecimalText, E> {
        Ok(DecimalText(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<DecimalText, E> {
        Ok(DecimalText(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<DecimalText, E> {
        Ok(DecimalText(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<DecimalText, E> {
        Err(E::invalid_type(Unexpected::Float(v), &self))
    }
}

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DecimalVisitor)
    }
}

/// The whole file. To add a section: a field here, a struct below, a `build_*` step in
/// [`super::build`] and a field on [`super::EngineConfig`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    pub instruments: Vec<RawInstrument>,
    pub features: RawFeatures,
    pub model: RawModel,
    pub strategy: RawStrategy,
    pub risk: RawRisk,
    pub venues: Vec<RawVenue>,
    pub router: RawRouter,
    #[serde(default)]
    pub oms: RawOms,
    pub feed: RawFeed,
    #[serde(default)]
    pub runtime: super::runtime::RawRuntime,
    #[serde(default)]
    pub live: super::live::RawLive,
    #[serde(default)]
    pub backtest: super::backtest::RawBacktest,
    #[serde(default)]
    pub fees: Vec<RawFee>,
}

/// `[[instruments]]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstrument {
    pub symbol: String,
    pub price_scale: u8,
    pub qty_scale: u8,
    pub tick_size: DecimalText,
    pub lot_size: DecimalText,
    pub initial_mid: Option<DecimalText>,
    pub max_order_qty: Option<DecimalText>,
    pub max_notional: Option<DecimalText>,
    pub price_band_bps: Option<u32>,
    pub max_position: Option<DecimalText>,
}

/// `[features]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeatures {
    pub enabled: Vec<String>,
    pub imbalance_levels: usize,
    pub return_half_life_ns: f64,
    pub vol_half_life_ns: f64,
    pub trade_flow_half_life_ns: f64,
    pub vwap_half_life_ns: Option<f64>,
}

/// `[model] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawModelKind {
    Linear,
    Xgboost,
    Onnx,
}

impl RawModelKind {
    pub const fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Xgboost => "xgboost",
            Self::Onnx => "onnx",
        }
    }
}

/// `[model]`: one flat table; which keys are required depends on `kind`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawModel {
    pub kind: RawModelKind,
    pub model_id: u16,
    pub features: Vec<String>,
    pub weights: Option<Vec<f64>>,
    pub bias: Option<f64>,
    pub link: Option<Link>,
    pub path: Option<String>,
}

/// `[strategy]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStrategy {
    pub signal_offset: f64,
    pub signal_to_bps: f64,
    pub order_lots: u32,
    pub max_position_lots: u32,
    pub min_interval_ns: i64,
    #[serde(default)]
    pub timer_interval_ns: i64,
    #[serde(default)]
    pub stale_quote_ns: i64,
    pub quote: Option<RawQuote>,
    pub take: Option<RawTake>,
}

/// `[strategy.quote]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuote {
    /// Required with `price = "fair"` (the default).
    pub half_spread_ticks: Option<u32>,
    /// Required with `price = "fair"`.
    pub inventory_skew_ticks: Option<f64>,
    pub requote_ticks: u32,
    #[serde(default)]
    pub price: Option<String>,
    #[serde(default)]
    pub refresh: Option<String>,
}

/// `[strategy.take]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTake {
    pub threshold_bps: f64,
    pub max_slippage_ticks: u32,
}

/// `[risk]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRisk {
    pub max_order_qty: DecimalText,
    pub max_notional: DecimalText,
    pub price_band_bps: u32,
    pub max_position: DecimalText,
    pub max_gross_position: DecimalText,
    pub max_open_orders: u32,
    pub throttle_rate_per_s: u32,
    pub throttle_burst: u32,
    pub max_daily_loss: DecimalText,
    pub session_start: Option<String>,
    pub session_time_zone: Option<String>,
}

/// `[[venues]]`. Each side's fee is per unit of quantity (`maker_fee`) or in basis points of
/// notional (`maker_fee_bps`): [`super::build`] requires exactly one of the two.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVenue {
    pub id: u16,
    pub name: String,
    pub entry_latency_ns: i64,
    pub ack_latency_ns: i64,
    pub feed_latency_ns: i64,
    pub maker_fee: Option<DecimalText>,
    pub taker_fee: Option<DecimalText>,
    pub maker_fee_bps: Option<DecimalText>,
    pub taker_fee_bps: Option<DecimalText>,
}

/// A venue named by `[[fees]] venue`: its name (a string) or its id (an integer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VenueRef {
    Name(String),
    Id(i64),
}

impl fmt::Display for VenueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => write!(f, "{name:?}"),
            Self::Id(id) => write!(f, "{id}"),
        }
    }
}

struct VenueRefVisitor;

impl Visitor<'_> for VenueRefVisitor {
    type Value = VenueRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a venue name (a string) or a venue id (an integer)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<VenueRef, E> {
        Ok(VenueRef::Name(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<VenueRef, E> {
        Ok(VenueRef::Id(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<VenueRef, E> {
        i64::try_from(v)
            .map(VenueRef::Id)
            .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }
}

impl<'de> Deserialize<'de> for VenueRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(VenueRefVisitor)
    }
}

/// `[[fees]]`: one venue's fees for one instrument, overriding the venue's.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFee {
    pub venue: VenueRef,
    pub instrument: String,
    pub maker_fee: Option<DecimalText>,
    pub taker_fee: Option<DecimalText>,
    pub maker_fee_bps: Option<DecimalText>,
    pub taker_fee_bps: Option<DecimalText>,
}

/// `[router]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRouter {
    pub rule: String,
    pub split_by_displayed: bool,
}

/// `[oms]` (optional, every key defaulted).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOms {
    #[serde(default = "default_max_orders")]
    pub max_orders: u64,
}

fn default_max_orders() -> u64 {
    super::DEFAULT_OMS_MAX_ORDERS as u64
}

impl Default for RawOms {
    fn default() -> Self {
        Self {
            max_orders: default_max_orders(),
        }
    }
}

/// `[feed] kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawFeedKind {
    Synthetic,
}

/// `[feed]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFeed {
    pub kind: RawFeedKind,
    pub seed: u64,
    pub duration_ns: i64,
    pub participant_rate_per_s: f64,
    pub depth_levels: u32,
    pub regimes: Vec<RawRegime>,
}

/// `[[feed.regimes]]`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRegime {
    pub name: Option<String>,
    pub vol_bps_per_sqrt_s: f64,
    pub mean_duration_s: f64,
}
