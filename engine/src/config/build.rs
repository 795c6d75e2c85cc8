//! From [`RawConfig`] (the file as written) to [`EngineConfig`] (validated engine data).
//!
//! One `build_*` step per section, in dependency order; each returns the first [`Issue`]
//! found, named by its full dotted key. Checks that the engine's own `validate` methods make
//! ([`FeatureConfig::validate`], [`StrategyParams::validate`], [`RiskLimits::validate`]) are
//! run too, and their field names mapped to keys.

use std::path::Path;

use super::error::{ConfigErrorKind, Issue};
use super::live::RawMarket;
use super::raw::{
    DecimalText, RawConfig, RawFeatures, RawFee, RawFeed, RawFeedKind, RawInstrument, RawModel,
    RawModelKind, RawOms, RawQuote, RawRisk, RawRouter, RawStrategy, RawVenue, VenueRef,
};
use super::{
    EngineConfig, FeedSpec, ModelConfig, ModelSpec, OmsConfig, RegimeSpec, RiskConfig,
    SyntheticFeedSpec, VenueSpec, MAX_FEED_DEPTH_LEVELS, MAX_OMS_MAX_ORDERS,
};
use crate::features::{FeatureConfig, FeatureKind, FeatureSet};
use crate::instrument::{InstrumentId, InstrumentSpec};
use crate::model::{feature_disabled_reason, resolve_features, ModelError};
use crate::oms::{FeeRate, FeeSchedule, Fees, BPS_DECIMALS, BPS_PER_UNIT};
use crate::risk::{InstrumentLimits, RiskLimits, RiskLimitsError};
use crate::router::{RouteRule, Router, RouterParams, VenueRoute, MAX_VENUES};
use crate::strategy::{
    QuoteParams, QuotePrice, QuoteRefresh, SignalMap, StrategyParams, StrategyParamsError,
    TakeParams,
};
use crate::timers::{SessionError, SessionSchedule};
use crate::value::{parse_raw, FixedDisplay, Price, Scale, ValueError};

/// Build and validate everything.
pub(crate) fn build(
    raw: RawConfig,
    base_dir: &Path,
    model_file: Option<&Path>,
    file: &str,
    hash: u64,
) -> Result<EngineConfig, Issue> {
    let instruments = build_instruments(&raw.instruments)?;
    let features = build_features(&raw.features)?;
    let model = build_model(&raw.model, &features, base_dir, model_file)?;
    let risk = build_risk(&raw.risk, &raw.instruments, &instruments)?;
    let strategy = build_strategy(&raw.strategy, &instruments, &risk)?;
    let venues = build_venues(&raw.venues, &raw.fees, &instruments)?;
    let router = build_router(&raw.router, &venues, instruments.len())?;
    let oms = build_oms(&raw.oms, &risk)?;
    let feed = build_feed(&raw.feed, &raw.instruments, &instruments)?;
    let runtime = super::runtime::build_runtime(&raw.runtime)?;
    if raw.live.market == Some(RawMarket::Gateways) && !cfg!(feature = "fix") {
        return Err(Issue::invalid(
            "live.market",
            "market \"gateways\" (FIX order entry) needs the `fix` feature; this binary was \
             built without it",
        ));
    }
    let live = super::live::build_live(&raw.live, base_dir, &venues)?;
    let backtest = super::backtest::build_backtest(&raw.backtest)?;
    Ok(EngineConfig {
        file: file.to_owned(),
        instruments,
        features,
        model,
        strategy,
        risk,
        venues,
        router,
        oms,
        feed,
        runtime,
        live,
        backtest,
        hash,
        text: String::new(),
    })
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// Why decimal text failed to parse, `at` describing the scale (`price_scale 2`).
fn value_reason(err: &ValueError, at: &str) -> String {
    match err {
        ValueError::Empty => "empty text is not a decimal number".to_owned(),
        ValueError::NotANumber { text } => format!("{text:?} is not a decimal number"),
        ValueError::InexactForScale { text, .. } => {
            format!("{text:?} is not representable at {at}")
        }
        ValueError::Overflow { text, .. } => {
            format!("{text:?} is too large for a 64-bit value at {at}")
        }
        other => other.to_string(),
    }
}

/// Decimal text as a raw value at `scale` (`at` describes the scale for the error).
fn decimal(key: &str, text: &DecimalText, scale: Scale, at: &str) -> Result<i64, Issue> {
    parse_raw(&text.0, scale).map_err(|e| Issue::invalid(key, value_reason(&e, at)))
}

/// Decimal text as a raw value `> 0` at `scale`.
fn positive(key: &str, text: &DecimalText, scale: Scale, at: &str) -> Result<i64, Issue> {
    let raw = decimal(key, text, scale, at)?;
    if raw > 0 {
        Ok(raw)
    } else {
        Err(Issue::invalid(
            key,
            format!("must be positive, got {}", text.0),
        ))
    }
}

/// Money (price currency) as raw price × raw quantity units: exact at the price scale, then
/// times `10^qty_scale`.
fn money(key: &str, text: &DecimalText, spec: &InstrumentSpec, at: &str) -> Result<i128, Issue> {
    let raw = decimal(key, text, spec.price_scale, at)?;
    Ok(i128::from(raw) * i128::from(spec.qty_scale.unit()))
}

/// `instruments[i] ("SYM")`.
fn instrument_name(i: usize, spec: &InstrumentSpec) -> String {
    format!("instruments[{i}] ({:?})", spec.symbol)
}

fn finite_positive(key: &str, value: f64) -> Result<f64, Issue> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(Issue::invalid(
            key,
            format!("must be a finite number > 0, got {value}"),
        ))
    }
}

fn known_features() -> String {
    FeatureKind::ALL.map(FeatureKind::name).join(", ")
}

// ---------------------------------------------------------------------------------------
// [[instruments]]

fn build_instruments(raw: &[RawInstrument]) -> Result<Vec<InstrumentSpec>, Issue> {
    if raw.is_empty() {
        return Err(Issue::invalid(
            "instruments",
            "at least one [[instruments]] table is required",
        ));
    }
    let mut specs = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let key = |k: &str| format!("instruments[{i}].{k}");
        if r.symbol.is_empty() || r.symbol.trim() != r.symbol {
            return Err(Issue::invalid(
                key("symbol"),
                format!(
                    "must be non-empty, without leading or trailing spaces, got {:?}",
                    r.symbol
                ),
            ));
        }
        if let Some(j) = raw[..i].iter().position(|o| o.symbol == r.symbol) {
            return Err(Issue::invalid(
                key("symbol"),
                format!("duplicate symbol {:?}, also instruments[{j}]", r.symbol),
            ));
        }
        let scale = |k: &str, places: u8| {
            Scale::new_checked(places).map_err(|_| {
                Issue::invalid(
                    key(k),
                    format!("must be at most {}, got {places}", Scale::MAX),
                )
            })
        };
        let price_scale = scale("price_scale", r.price_scale)?;
        let qty_scale = scale("qty_scale", r.qty_scale)?;
        let tick_size = positive(
            &key("tick_size"),
            &r.tick_size,
            price_scale,
            &format!("price_scale {price_scale}"),
        )?;
        let lot_size = positive(
            &key("lot_size"),
            &r.lot_size,
            qty_scale,
            &format!("qty_scale {qty_scale}"),
        )?;
        let id = u32::try_from(i)
            .map_err(|_| Issue::invalid("instruments", "more than 2^32 instruments"))?;
        specs.push(InstrumentSpec {
            id: InstrumentId::new(id),
            symbol: r.symbol.clone(),
            price_scale,
            qty_scale,
            tick_size,
            lot_size,
        });
    }
    Ok(specs)
}

// ---------------------------------------------------------------------------------------
// [features]

fn build_features(raw: &RawFeatures) -> Result<FeatureConfig, Issue> {
    let mut kinds: Vec<FeatureKind> = Vec::with_capacity(raw.enabled.len());
    for (i, name) in raw.enabled.iter().enumerate() {
        let key = format!("features.enabled[{i}]");
        let kind = FeatureKind::from_name(name).ok_or_else(|| {
            Issue::invalid(
                &key,
                format!("unknown feature {name:?} (known: {})", known_features()),
            )
        })?;
        if let Some(j) = kinds.iter().position(|&k| k == kind) {
            return Err(Issue::invalid(
                key,
                format!("{name:?} is listed twice, also features.enabled[{j}]"),
            ));
        }
        kinds.push(kind);
    }
    let config = FeatureConfig {
        enabled: FeatureSet::of(&kinds),
        imbalance_levels: raw.imbalance_levels,
        return_half_life_ns: raw.return_half_life_ns,
        vol_half_life_ns: raw.vol_half_life_ns,
        trade_flow_half_life_ns: raw.trade_flow_half_life_ns,
        vwap_half_life_ns: raw.vwap_half_life_ns,
    };
    config.validate().map_err(|e| {
        let field = e.field();
        let text = e.to_string();
        let reason = text
            .strip_prefix(field)
            .and_then(|r| r.strip_prefix(": "))
            .unwrap_or(&text);
        Issue::invalid(format!("features.{field}"), reason)
    })?;
    Ok(config)
}

// ---------------------------------------------------------------------------------------
// [model]

fn build_model(
    raw: &RawModel,
    features: &FeatureConfig,
    base_dir: &Path,
    model_file: Option<&Path>,
) -> Result<ModelConfig, Issue> {
    let kinds = resolve_features(&raw.features).map_err(|e| match e {
        ModelError::UnknownFeature { index, name } => Issue::invalid(
            format!("model.features[{index}]"),
            format!("unknown feature {name:?} (known: {})", known_features()),
        ),
        other => Issue::invalid("model.features", other.to_string()),
    })?;
    if kinds.is_empty() {
        return Err(Issue::invalid(
            "model.features",
            "must list at least one feature",
        ));
    }
    for (i, &kind) in kinds.iter().enumerate() {
        let key = format!("model.features[{i}]");
        if let Some(j) = kinds[..i].iter().position(|&k| k == kind) {
            return Err(Issue::invalid(
                key,
                format!(
                    "{:?} is listed twice, also model.features[{j}]",
                    kind.name()
                ),
            ));
        }
        if !features.enabled.contains(kind) {
            return Err(Issue::invalid(
                key,
                format!("{:?} is not in features.enabled", kind.name()),
            ));
        }
    }
    let kind = raw.kind.name();
    let not_for_kind = |present: bool, k: &str| {
        if present {
            Err(Issue::unknown(
                format!("model.{k}"),
                format!("not used by kind = {kind:?}"),
            ))
        } else {
            Ok(())
        }
    };
    let required = |k: &str| {
        Issue::missing(
            format!("model.{k}"),
            format!("required for kind = {kind:?}"),
        )
    };
    let spec = match raw.kind {
        RawModelKind::Linear => {
            not_for_kind(raw.path.is_some(), "path")?;
            let weights = raw.weights.clone().ok_or_else(|| required("weights"))?;
            let bias = raw.bias.ok_or_else(|| required("bias"))?;
            if weights.len() != kinds.len() {
                return Err(Issue::invalid(
                    "model.weights",
                    format!(
                        "has {} entries but model.features has {}",
                        weights.len(),
                        kinds.len()
                    ),
                ));
            }
            if let Some((i, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
                return Err(Issue::invalid(
                    format!("model.weights[{i}]"),
                    format!("must be a finite number, got {w}"),
                ));
            }
            if !bias.is_finite() {
                return Err(Issue::invalid(
                    "model.bias",
                    format!("must be a finite number, got {bias}"),
                ));
            }
            ModelSpec::Linear {
                weights,
                bias,
                link: raw.link.unwrap_or_default(),
            }
        }
        RawModelKind::Xgboost | RawModelKind::Onnx => {
            not_for_kind(raw.weights.is_some(), "weights")?;
            not_for_kind(raw.bias.is_some(), "bias")?;
            not_for_kind(raw.link.is_some(), "link")?;
            if raw.kind == RawModelKind::Onnx && !cfg!(feature = "onnx") {
                return Err(Issue::invalid(
                    "model.kind",
                    feature_disabled_reason(kind, "onnx"),
                ));
            }
            let path = raw.path.as_deref().ok_or_else(|| required("path"))?;
            let resolved = model_file.map_or_else(|| base_dir.join(path), Path::to_path_buf);
            if !resolved.is_file() {
                return Err(Issue {
                    kind: ConfigErrorKind::MissingFile,
                    key: "model.path".to_owned(),
                    reason: format!(
                        "no such file: {path:?} (resolved to {:?})",
                        resolved.display().to_string()
                    ),
                });
            }
            if raw.kind == RawModelKind::Xgboost {
                ModelSpec::Xgboost { path: resolved }
            } else {
                ModelSpec::Onnx { path: resolved }
            }
        }
    };
    Ok(ModelConfig {
        model_id: raw.model_id,
        features: kinds,
        spec,
    })
}

// ---------------------------------------------------------------------------------------
// [risk] and the per-instrument overrides

/// A risk limit that failed [`RiskLimits::validate`], as `risk.<field>`.
fn risk_issue(err: &RiskLimitsError) -> Issue {
    match err {
        RiskLimitsError::NotPositive { field, value } => Issue::invalid(
            format!("risk.{field}"),
            format!("must be positive, got {value}"),
        ),
        RiskLimitsError::Negative { field, value } => Issue::invalid(
            format!("risk.{field}"),
            format!("must not be negative, got {value}"),
        ),
        RiskLimitsError::AboveCap { field, value, cap } => Issue::invalid(
            format!("risk.{field}"),
            format!("must be at most {cap}, got {value}"),
        ),
        other => Issue::invalid("risk", other.to_string()),
    }
}

fn build_risk(
    raw: &RawRisk,
    raws: &[RawInstrument],
    specs: &[InstrumentSpec],
) -> Result<RiskConfig, Issue> {
    let first = specs
        .first()
        .ok_or_else(|| Issue::invalid("instruments", "at least one instrument is required"))?;
    let mut per_instrument = Vec::with_capacity(specs.len());
    for (i, (r, spec)) in raws.iter().zip(specs).enumerate() {
        let (ps, qs) = (spec.price_scale, spec.qty_scale);
        // The override's key and text, else the `[risk]` default's, and the scale it is read
        // at (naming the instrument when the key is the shared default).
        let pick =
            |own: &Option<DecimalText>, default: &DecimalText, k: &str, scale: String| match own {
                Some(text) => (format!("instruments[{i}].{k}"), text.clone(), scale),
                None => (
                    format!("risk.{k}"),
                    default.clone(),
                    format!("{scale} of {}", instrument_name(i, spec)),
                ),
            };
        let (key, text, at) = pick(
            &r.max_order_qty,
            &raw.max_order_qty,
            "max_order_qty",
            format!("qty_scale {qs}"),
        );
        let max_order_qty = positive(&key, &text, qs, &at)?;
        let (key, text, at) = pick(
            &r.max_notional,
            &raw.max_notional,
            "max_notional",
            format!("price_scale {ps}"),
        );
        let max_notional = money(&key, &text, spec, &at)?;
        if max_notional <= 0 {
            return Err(Issue::invalid(
                key,
                format!("must be positive, got {}", text.0),
            ));
        }
        let (key, text, at) = pick(
            &r.max_position,
            &raw.max_position,
            "max_position",
            format!("qty_scale {qs}"),
        );
        let max_position = positive(&key, &text, qs, &at)?;
        let limits = InstrumentLimits {
            max_order_qty,
            max_notional,
            price_band_bps: r.price_band_bps.unwrap_or(raw.price_band_bps),
            max_position,
        };
        limits.validate().map_err(|e| risk_issue(&e))?;
        per_instrument.push(limits);
    }
    for (i, spec) in specs.iter().enumerate().skip(1) {
        if spec.qty_scale != first.qty_scale {
            return Err(Issue::invalid(
                "risk.max_gross_position",
                format!(
                    "sums raw quantities across instruments, so they must share one qty_scale, \
                     but {} has {} and {} has {}",
                    instrument_name(0, first),
                    first.qty_scale,
                    instrument_name(i, spec),
                    spec.qty_scale
                ),
            ));
        }
        if spec.price_scale != first.price_scale {
            return Err(Issue::invalid(
                "risk.max_daily_loss",
                format!(
                    "sums raw PnL across instruments, so they must share one price_scale, \
                     but {} has {} and {} has {}",
                    instrument_name(0, first),
                    first.price_scale,
                    instrument_name(i, spec),
                    spec.price_scale
                ),
            ));
        }
    }
    let max_gross_position = positive(
        "risk.max_gross_position",
        &raw.max_gross_position,
        first.qty_scale,
        &format!("qty_scale {}", first.qty_scale),
    )?;
    let max_daily_loss = money(
        "risk.max_daily_loss",
        &raw.max_daily_loss,
        first,
        &format!("price_scale {}", first.price_scale),
    )?;
    if max_daily_loss < 0 {
        return Err(Issue::invalid(
            "risk.max_daily_loss",
            format!("must not be negative, got {}", raw.max_daily_loss.0),
        ));
    }
    let limits = RiskLimits {
        instrument: *per_instrument
            .first()
            .ok_or_else(|| Issue::invalid("instruments", "at least one instrument is required"))?,
        max_gross_position,
        max_open_orders: raw.max_open_orders,
        throttle_rate_per_s: raw.throttle_rate_per_s,
        throttle_burst: raw.throttle_burst,
        max_daily_loss,
    };
    limits.validate().map_err(|e| risk_issue(&e))?;
    Ok(RiskConfig {
        limits,
        instruments: per_instrument,
        session: build_session(raw)?,
    })
}

/// `risk.session_start` and `risk.session_time_zone`: both or neither.
fn build_session(raw: &RawRisk) -> Result<Option<SessionSchedule>, Issue> {
    let (start, zone) = match (&raw.session_start, &raw.session_time_zone) {
        (None, None) => return Ok(None),
        (Some(start), Some(zone)) => (start, zone),
        (Some(_), None) => {
            return Err(Issue::missing(
                "risk.session_time_zone",
                "required with risk.session_start: the IANA time zone the start time is in \
                 (e.g. \"America/Chicago\")",
            ))
        }
        (None, Some(_)) => {
            return Err(Issue::missing(
                "risk.session_start",
                "required with risk.session_time_zone: the local time of day the trading day \
                 starts (e.g. \"17:00\")",
            ))
        }
    };
    SessionSchedule::new(start, zone).map(Some).map_err(|e| {
        let key = match e {
            SessionError::BadTime { .. } => "risk.session_start",
            SessionError::UnknownZone { .. } => "risk.session_time_zone",
        };
        Issue::invalid(key, e.to_string())
    })
}

// ---------------------------------------------------------------------------------------
// [strategy]

/// `[strategy.quote]`: the price and refresh rules by name, the fair-price keys required
/// with `price = "fair"` and refused with `"touch"` (which has no spread or skew).
fn build_quote(q: &RawQuote) -> Result<QuoteParams, Issue> {
    let price = match q.price.as_deref() {
        None | Some("fair") => QuotePrice::Fair,
        Some("touch") => QuotePrice::Touch,
        Some(other) => {
            return Err(Issue::invalid(
                "strategy.quote.price",
                format!("unknown price rule {other:?}: expected \"fair\" or \"touch\""),
            ))
        }
    };
    let refresh = match q.refresh.as_deref() {
        None | Some("on_change") => QuoteRefresh::OnChange,
        Some("every_timer") => QuoteRefresh::EveryTimer,
        Some(other) => {
            return Err(Issue::invalid(
                "strategy.quote.refresh",
                format!(
                    "unknown refresh rule {other:?}: expected \"on_change\" or \"every_timer\""
                ),
            ))
        }
    };
    let fair_key = |key: &str, given: bool| match (price, given) {
        (QuotePrice::Fair, false) => Err(Issue::missing(
            format!("strategy.quote.{key}"),
            "required with price = \"fair\"",
        )),
        (QuotePrice::Touch, true) => Err(Issue::invalid(
            format!("strategy.quote.{key}"),
            "not used with price = \"touch\" (quotes sit at the best bid and ask): remove it",
        )),
        _ => Ok(()),
    };
    fair_key("half_spread_ticks", q.half_spread_ticks.is_some())?;
    fair_key("inventory_skew_ticks", q.inventory_skew_ticks.is_some())?;
    Ok(QuoteParams {
        half_spread_ticks: q.half_spread_ticks.unwrap_or(0),
        inventory_skew_ticks: q.inventory_skew_ticks.unwrap_or(0.0),
        requote_ticks: q.requote_ticks,
        price,
        refresh,
    })
}

fn build_strategy(
    raw: &RawStrategy,
    specs: &[InstrumentSpec],
    risk: &RiskConfig,
) -> Result<StrategyParams, Issue> {
    let params = StrategyParams {
        signal: SignalMap {
            signal_offset: raw.signal_offset,
            signal_to_bps: raw.signal_to_bps,
        },
        quote: raw.quote.as_ref().map(build_quote).transpose()?,
        take: raw.take.as_ref().map(|t| TakeParams {
            threshold_bps: t.threshold_bps,
            max_slippage_ticks: t.max_slippage_ticks,
        }),
        order_lots: raw.order_lots,
        max_position_lots: raw.max_position_lots,
        min_interval_ns: raw.min_interval_ns,
        timer_interval_ns: raw.timer_interval_ns,
        stale_quote_ns: raw.stale_quote_ns,
    };
    params.validate().map_err(|e| match e {
        StrategyParamsError::OutOfRange { field, reason } => {
            Issue::invalid(format!("strategy.{field}"), reason)
        }
    })?;
    // An order the risk engine would always reject is a config mistake.
    for (i, (spec, limits)) in specs.iter().zip(&risk.instruments).enumerate() {
        let qty = i64::from(params.order_lots).checked_mul(spec.lot_size);
        if qty.is_none_or(|q| q > limits.max_order_qty) {
            let shown = qty.map_or_else(
                || "too large".to_owned(),
                |q| FixedDisplay::new(q, spec.qty_scale).to_string(),
            );
            return Err(Issue::invalid(
                "strategy.order_lots",
                format!(
                    "{} lots of {} is {shown}, above its max_order_qty {}",
                    params.order_lots,
                    instrument_name(i, spec),
                    FixedDisplay::new(limits.max_order_qty, spec.qty_scale)
                ),
            ));
        }
    }
    Ok(params)
}

// ---------------------------------------------------------------------------------------
// [[venues]] and [router]

/// A fee per unit of quantity, in price currency, as raw price units per raw quantity unit
/// of instrument `i`: `fee × 10^price_scale / 10^qty_scale`, exactly.
fn fee(key: &str, text: &DecimalText, i: usize, spec: &InstrumentSpec) -> Result<i64, Issue> {
    let inexact = || {
        Issue::invalid(
            key,
            format!(
                "{:?} per unit of quantity is not a whole number of raw price units per raw \
                 quantity unit of {} (price_scale {}, qty_scale {})",
                text.0,
                instrument_name(i, spec),
                spec.price_scale,
                spec.qty_scale
            ),
        )
    };
    let raw = match parse_raw(&text.0, spec.price_scale) {
        Ok(raw) => raw,
        Err(ValueError::InexactForScale { .. }) => return Err(inexact()),
        Err(e) => {
            let at = format!(
                "price_scale {} of {}",
                spec.price_scale,
                instrument_name(i, spec)
            );
            return Err(Issue::invalid(key, value_reason(&e, &at)));
        }
    };
    let unit = spec.qty_scale.unit();
    if raw % unit == 0 {
        Ok(raw / unit)
    } else {
        Err(inexact())
    }
}

/// One side's fee as written: the key that gave it and its text, per unit of quantity or in
/// basis points of notional.
#[derive(Debug, Clone, Copy)]
enum SideText<'a> {
    PerQty(&'a str, &'a DecimalText),
    Bps(&'a str, &'a DecimalText),
}

/// The maker and taker side of a fee table (`[[venues]]` or `[[fees]]`).
const SIDES: [&str; 2] = ["maker", "taker"];

/// The fee keys of one side, given as `(per unit, basis points)` texts under `prefix`:
/// `None` when neither is given, an error when both are.
fn side_text<'a>(
    prefix: &str,
    side: &str,
    keys: &'a [String; 4],
    per_qty: Option<&'a DecimalText>,
    bps: Option<&'a DecimalText>,
) -> Result<Option<SideText<'a>>, Issue> {
    let (k_qty, k_bps) = match side {
        "maker" => (&keys[0], &keys[2]),
        _ => (&keys[1], &keys[3]),
    };
    match (per_qty, bps) {
        (Some(_), Some(_)) => Err(Issue::invalid(
            k_bps,
            format!(
                "{prefix}.{side}_fee is given too: a side's fee is either per unit of quantity \
                 ({side}_fee) or in basis points of notional ({side}_fee_bps), not both"
            ),
        )),
        (Some(text), None) => Ok(Some(SideText::PerQty(k_qty, text))),
        (None, Some(text)) => Ok(Some(SideText::Bps(k_bps, text))),
        (None, None) => Ok(None),
    }
}

/// `maker_fee`, `taker_fee`, `maker_fee_bps`, `taker_fee_bps` under `prefix`.
fn fee_keys(prefix: &str) -> [String; 4] {
    ["maker_fee", "taker_fee", "maker_fee_bps", "taker_fee_bps"].map(|k| format!("{prefix}.{k}"))
}

/// A fee in basis points of notional, exact to [`BPS_DECIMALS`] decimals, at most 100% of
/// notional either way.
fn bps_rate(key: &str, text: &DecimalText) -> Result<i64, Issue> {
    let scale = Scale::new(BPS_DECIMALS);
    let raw = match parse_raw(&text.0, scale) {
        Ok(raw) => raw,
        Err(ValueError::InexactForScale { .. }) => {
            return Err(Issue::invalid(
                key,
                format!(
                    "{:?} basis points has more than {BPS_DECIMALS} decimals",
                    text.0
                ),
            ))
        }
        Err(e) => return Err(Issue::invalid(key, value_reason(&e, "4 decimals"))),
    };
    let limit = BPS_PER_UNIT.saturating_mul(scale.unit());
    if raw.abs() > limit {
        return Err(Issue::invalid(
            key,
            format!(
                "must be between -{BPS_PER_UNIT} and {BPS_PER_UNIT} basis points (100% of \
                 notional), got {}",
                text.0
            ),
        ));
    }
    Ok(raw)
}

/// The rate `text` gives instrument `i`.
fn side_rate(text: SideText<'_>, i: usize, spec: &InstrumentSpec) -> Result<FeeRate, Issue> {
    match text {
        SideText::PerQty(key, text) => fee(key, text, i, spec).map(FeeRate::PerQty),
        SideText::Bps(key, text) => bps_rate(key, text).map(FeeRate::Bps),
    }
}

/// `per unit of quantity` or `in basis points of notional`.
fn basis_name(rate: FeeRate) -> &'static str {
    if rate.is_bps() {
        "in basis points of notional"
    } else {
        "per unit of quantity"
    }
}

/// One `[[fees]]` entry, checked: the venue's index, the instrument's, and the sides it sets.
struct FeeOverride<'a> {
    venue: usize,
    instrument: usize,
    sides: [Option<SideText<'a>>; 2],
}

fn build_fee_overrides<'a>(
    raw: &'a [RawFee],
    keys: &'a [[String; 4]],
    venues: &[RawVenue],
    specs: &[InstrumentSpec],
) -> Result<Vec<FeeOverride<'a>>, Issue> {
    let mut out: Vec<FeeOverride<'a>> = Vec::with_capacity(raw.len());
    for (k, (f, keys)) in raw.iter().zip(keys).enumerate() {
        let prefix = format!("fees[{k}]");
        let venue = match &f.venue {
            VenueRef::Name(name) => venues.iter().position(|v| &v.name == name),
            VenueRef::Id(id) => venues.iter().position(|v| i64::from(v.id) == *id),
        }
        .ok_or_else(|| {
            let known = venues
                .iter()
                .map(|v| format!("{:?} (id {})", v.name, v.id))
                .collect::<Vec<_>>()
                .join(", ");
            Issue::invalid(
                format!("{prefix}.venue"),
                format!("no venue {} in [[venues]] (known: {known})", f.venue),
            )
        })?;
        let instrument = specs
            .iter()
            .position(|s| s.symbol == f.instrument)
            .ok_or_else(|| {
                let known = specs
                    .iter()
                    .map(|s| format!("{:?}", s.symbol))
                    .collect::<Vec<_>>()
                    .join(", ");
                Issue::invalid(
                    format!("{prefix}.instrument"),
                    format!(
                        "no instrument {:?} in [[instruments]] (known: {known})",
                        f.instrument
                    ),
                )
            })?;
        if let Some(j) = out
            .iter()
            .position(|o| o.venue == venue && o.instrument == instrument)
        {
            return Err(Issue::invalid(
                format!("{prefix}.instrument"),
                format!(
                    "fees[{j}] already gives the fees of {:?} on venue {:?}",
                    f.instrument, venues[venue].name
                ),
            ));
        }
        let sides = [
            side_text(
                &prefix,
                "maker",
                keys,
                f.maker_fee.as_ref(),
                f.maker_fee_bps.as_ref(),
            )?,
            side_text(
                &prefix,
                "taker",
                keys,
                f.taker_fee.as_ref(),
                f.taker_fee_bps.as_ref(),
            )?,
        ];
        if sides.iter().all(Option::is_none) {
            return Err(Issue::missing(
                prefix,
                "gives no fee: set maker_fee or maker_fee_bps, and/or taker_fee or taker_fee_bps",
            ));
        }
        out.push(FeeOverride {
            venue,
            instrument,
            sides,
        });
    }
    Ok(out)
}

/// `[[venues]]` and the `[[fees]]` overrides. Each venue's side gives every instrument its
/// rate; a `[[fees]]` entry replaces the sides it sets for one venue and instrument. With
/// more than one venue, each instrument's side must be on one basis across venues (the
/// router ranks venues by the figures in [`VenueSpec::fees`]).
fn build_venues(
    raw: &[RawVenue],
    raw_fees: &[RawFee],
    specs: &[InstrumentSpec],
) -> Result<Vec<VenueSpec>, Issue> {
    if raw.is_empty() {
        return Err(Issue::invalid(
            "venues",
            "at least one [[venues]] table is required",
        ));
    }
    if raw.len() > MAX_VENUES {
        return Err(Issue::invalid(
            "venues",
            format!(
                "{} venues configured, the router handles at most {MAX_VENUES}",
                raw.len()
            ),
        ));
    }
    let venue_keys: Vec<[String; 4]> = (0..raw.len())
        .map(|v| fee_keys(&format!("venues[{v}]")))
        .collect();
    let mut venue_sides = Vec::with_capacity(raw.len());
    for (v, r) in raw.iter().enumerate() {
        let key = |k: &str| format!("venues[{v}].{k}");
        if let Some(j) = raw[..v].iter().position(|o| o.id == r.id) {
            return Err(Issue::invalid(
                key("id"),
                format!("duplicate venue id {}, also venues[{j}]", r.id),
            ));
        }
        if r.name.trim().is_empty() {
            return Err(Issue::invalid(key("name"), "must not be empty"));
        }
        if let Some(j) = raw[..v].iter().position(|o| o.name == r.name) {
            return Err(Issue::invalid(
                key("name"),
                format!("duplicate venue name {:?}, also venues[{j}]", r.name),
            ));
        }
        for (k, value) in [
            ("entry_latency_ns", r.entry_latency_ns),
            ("ack_latency_ns", r.ack_latency_ns),
            ("feed_latency_ns", r.feed_latency_ns),
        ] {
            if value < 0 {
                return Err(Issue::invalid(
                    key(k),
                    format!("must not be negative, got {value}"),
                ));
            }
        }
        let prefix = format!("venues[{v}]");
        let keys = &venue_keys[v];
        let required = |side: &str, per_qty, bps| {
            side_text(&prefix, side, keys, per_qty, bps)?.ok_or_else(|| {
                Issue::missing(
                    key(&format!("{side}_fee")),
                    format!(
                        "missing required key: the {side} fee, per unit of quantity \
                         ({side}_fee) or in basis points of notional ({side}_fee_bps)"
                    ),
                )
            })
        };
        venue_sides.push([
            required("maker", r.maker_fee.as_ref(), r.maker_fee_bps.as_ref())?,
            required("taker", r.taker_fee.as_ref(), r.taker_fee_bps.as_ref())?,
        ]);
    }
    let override_keys: Vec<[String; 4]> = (0..raw_fees.len())
        .map(|k| fee_keys(&format!("fees[{k}]")))
        .collect();
    let overrides = build_fee_overrides(raw_fees, &override_keys, raw, specs)?;

    // The text that sets each venue's, instrument's and side's rate, and the rate.
    let mut venues = Vec::with_capacity(raw.len());
    let mut set_by: Vec<Vec<[&str; 2]>> = Vec::with_capacity(raw.len());
    for (v, r) in raw.iter().enumerate() {
        let mut schedules = Vec::with_capacity(specs.len());
        let mut keys = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            let over = overrides.iter().find(|o| o.venue == v && o.instrument == i);
            let mut rates = [FeeRate::ZERO; 2];
            let mut by = [""; 2];
            for s in 0..SIDES.len() {
                let text = over.and_then(|o| o.sides[s]).unwrap_or(venue_sides[v][s]);
                rates[s] = side_rate(text, i, spec)?;
                by[s] = match text {
                    SideText::PerQty(k, _) | SideText::Bps(k, _) => k,
                };
            }
            schedules.push(FeeSchedule {
                maker: rates[0],
                taker: rates[1],
            });
            keys.push(by);
        }
        set_by.push(keys);
        venues.push(VenueSpec {
            id: r.id,
            name: r.name.clone(),
            entry_latency_ns: r.entry_latency_ns,
            ack_latency_ns: r.ack_latency_ns,
            feed_latency_ns: r.feed_latency_ns,
            fees: schedules.iter().map(|s| ranking_fees(*s)).collect(),
            fee_schedule: schedules,
        });
    }
    // The router compares one venue's figure with another's: they must be on one basis.
    for (i, spec) in specs.iter().enumerate() {
        for (s, side) in SIDES.iter().enumerate() {
            let rate = |v: usize| {
                let f = venues[v].fee_schedule[i];
                if s == 0 {
                    f.maker
                } else {
                    f.taker
                }
            };
            if let Some(v) = (1..venues.len()).find(|&v| rate(v).is_bps() != rate(0).is_bps()) {
                return Err(Issue::invalid(
                    set_by[v][i][s],
                    format!(
                        "gives the {side} fee of {} on venue {:?} {}, but {} gives it on venue \
                         {:?} {}: the router ranks venues by fee, so an instrument's {side} fee \
                         must be on the same basis on every venue",
                        instrument_name(i, spec),
                        venues[v].name,
                        basis_name(rate(v)),
                        set_by[0][i][s],
                        venues[0].name,
                        basis_name(rate(0)),
                    ),
                ));
            }
        }
    }
    Ok(venues)
}

/// The router's per-venue figures for a schedule: a per-unit rate as it is, a rate in basis
/// points as its raw [`FeeRate::Bps`] value (comparable across venues because every venue
/// gives the same instrument's side on one basis; see [`build_venues`]).
fn ranking_fees(s: FeeSchedule) -> Fees {
    let figure = |r: FeeRate| match r {
        FeeRate::PerQty(x) | FeeRate::Bps(x) => x,
    };
    Fees {
        maker_per_qty: figure(s.maker),
        taker_per_qty: figure(s.taker),
    }
}

fn build_router(
    raw: &RawRouter,
    venues: &[VenueSpec],
    n_instruments: usize,
) -> Result<RouterParams, Issue> {
    let rule = RouteRule::from_name(&raw.rule).ok_or_else(|| {
        Issue::invalid(
            "router.rule",
            format!(
                "unknown rule {:?}, expected {:?}",
                raw.rule,
                RouteRule::BestPriceThenFee.name()
            ),
        )
    })?;
    let params = RouterParams {
        rule,
        split_by_displayed: raw.split_by_displayed,
        venues: venues
            .iter()
            .map(|v| VenueRoute {
                venue: v.id,
                fees: v.fees.clone(),
            })
            .collect(),
    };
    // The router's own checks, as a backstop (venue count, ids and fee tables are checked
    // above with their keys).
    Router::new(params.clone(), n_instruments)
        .map_err(|e| Issue::invalid("venues", e.to_string()))?;
    Ok(params)
}

// ---------------------------------------------------------------------------------------
// [oms]

fn build_oms(raw: &RawOms, risk: &RiskConfig) -> Result<OmsConfig, Issue> {
    let least = u64::from(risk.limits.max_open_orders);
    if raw.max_orders < least {
        return Err(Issue::invalid(
            "oms.max_orders",
            format!(
                "must be at least risk.max_open_orders ({least}), got {}",
                raw.max_orders
            ),
        ));
    }
    match usize::try_from(raw.max_orders) {
        Ok(max_orders) if max_orders <= MAX_OMS_MAX_ORDERS => Ok(OmsConfig { max_orders }),
        _ => Err(Issue::invalid(
            "oms.max_orders",
            format!(
                "must be at most {MAX_OMS_MAX_ORDERS}, got {}",
                raw.max_orders
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// [feed]

fn build_feed(
    raw: &RawFeed,
    raws: &[RawInstrument],
    specs: &[InstrumentSpec],
) -> Result<FeedSpec, Issue> {
    match raw.kind {
        RawFeedKind::Synthetic => {
            if raw.duration_ns <= 0 {
                return Err(Issue::invalid(
                    "feed.duration_ns",
                    format!("must be positive, got {}", raw.duration_ns),
                ));
            }
            let participant_rate_per_s =
                finite_positive("feed.participant_rate_per_s", raw.participant_rate_per_s)?;
            if !(1..=MAX_FEED_DEPTH_LEVELS).contains(&raw.depth_levels) {
                return Err(Issue::invalid(
                    "feed.depth_levels",
                    format!(
                        "must be in 1..={MAX_FEED_DEPTH_LEVELS}, got {}",
                        raw.depth_levels
                    ),
                ));
            }
            let mut initial_mid = Vec::with_capacity(specs.len());
            for (i, (r, spec)) in raws.iter().zip(specs).enumerate() {
                let key = format!("instruments[{i}].initial_mid");
                let text = r.initial_mid.as_ref().ok_or_else(|| {
                    Issue::missing(
                        &key,
                        "required by the synthetic feed ([feed] kind = \"synthetic\")",
                    )
                })?;
                let at = format!("price_scale {}", spec.price_scale);
                let raw_mid = positive(&key, text, spec.price_scale, &at)?;
                initial_mid.push(
                    Price::new_checked(raw_mid).map_err(|e| Issue::invalid(&key, e.to_string()))?,
                );
            }
            if raw.regimes.is_empty() {
                return Err(Issue::invalid(
                    "feed.regimes",
                    "at least one [[feed.regimes]] table is required",
                ));
            }
            let mut regimes = Vec::with_capacity(raw.regimes.len());
            for (j, r) in raw.regimes.iter().enumerate() {
                let key = |k: &str| format!("feed.regimes[{j}].{k}");
                if !(r.vol_bps_per_sqrt_s.is_finite() && r.vol_bps_per_sqrt_s >= 0.0) {
                    return Err(Issue::invalid(
                        key("vol_bps_per_sqrt_s"),
                        format!("must be a finite number >= 0, got {}", r.vol_bps_per_sqrt_s),
                    ));
                }
                let mean_duration_s = finite_positive(&key("mean_duration_s"), r.mean_duration_s)?;
                regimes.push(RegimeSpec {
                    name: r.name.clone().unwrap_or_else(|| format!("regime{j}")),
                    vol_bps_per_sqrt_s: r.vol_bps_per_sqrt_s,
                    mean_duration_s,
                });
            }
            Ok(FeedSpec::Synthetic(SyntheticFeedSpec {
                seed: raw.seed,
                duration_ns: raw.duration_ns,
                participant_rate_per_s,
                depth_levels: raw.depth_levels,
                initial_mid,
                regimes,
            }))
        }
    }
}
