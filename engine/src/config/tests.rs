//! Config tests: the default file, one test per error class (each pinning the exact
//! `file: key: reason (line, column)` text), conversions, and never-panic properties.

use std::path::Path;

use proptest::prelude::*;

use super::locate::guess_key;
use super::*;
use crate::features::FeatureSet;
use crate::instrument::InstrumentId;
use crate::oms::FeeRate;
use crate::router::RouteRule;
#[cfg(feature = "fix")]
use crate::runtime::WaitKind;

/// A small valid config; tests edit it with [`edit`]. Line numbers matter to the tests.
const BASE: &str = r#"[[instruments]]
symbol = "AAA"
price_scale = 2
qty_scale = 0
tick_size = "0.01"
lot_size = "1"
initial_mid = "100.00"

[[instruments]]
symbol = "BBB"
price_scale = 2
qty_scale = 0
tick_size = "0.05"
lot_size = 10
initial_mid = "20.00"
max_order_qty = "200"

[features]
enabled = ["mid", "top_imbalance", "ret_ewma"]
imbalance_levels = 3
return_half_life_ns = 1_000_000_000
vol_half_life_ns = 60_000_000_000
trade_flow_half_life_ns = 5e9

[model]
kind = "linear"
model_id = 7
features = ["top_imbalance", "ret_ewma"]
weights = [1.5, 5000]
bias = -0.25

[strategy]
signal_offset = 0.0
signal_to_bps = 1.0
order_lots = 5
max_position_lots = 20
min_interval_ns = 0

[strategy.take]
threshold_bps = 2.0
max_slippage_ticks = 1

[risk]
max_order_qty = "100"
max_notional = "10000.00"
price_band_bps = 300
max_position = "1000"
max_gross_position = "3000"
max_open_orders = 16
throttle_rate_per_s = 100
throttle_burst = 10
max_daily_loss = "500.50"

[[venues]]
id = 3
name = "X"
entry_latency_ns = 10_000
ack_latency_ns = 12_000
feed_latency_ns = 9_000
maker_fee = "-0.01"
taker_fee = "0.02"

[router]
rule = "best_price_then_fee"
split_by_displayed = false

[feed]
kind = "synthetic"
seed = 7
duration_ns = 1_000_000_000
participant_rate_per_s = 100
depth_levels = 5

[[feed.regimes]]
vol_bps_per_sqrt_s = 2.0
mean_duration_s = 1.5
"#;

/// `BASE` with the first `from` replaced by `to` (which must be found).
fn edit(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "{from:?} not in BASE");
    BASE.replacen(from, to, 1)
}

fn load(text: &str) -> Result<EngineConfig, ConfigError> {
    EngineConfig::from_toml_str(text, "x.toml")
}

/// The error `text` gives; its Display must be `x.toml: KEY: REASON…`.
fn error(text: &str) -> ConfigError {
    let err = load(text).unwrap_err();
    assert!(err.to_string().starts_with("x.toml: "), "{err}");
    err
}

#[track_caller]
fn assert_error(text: &str, kind: ConfigErrorKind, expected: &str) {
    let err = error(text);
    assert_eq!(err.to_string(), expected);
    assert_eq!(err.kind, kind, "{err}");
}

fn default_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/default.toml")
}

#[test]
fn base_loads_with_converted_values() {
    let c = load(BASE).unwrap();
    assert_eq!(c.file, "x.toml");
    assert_eq!(c.instruments.len(), 2);
    let bbb = &c.instruments[1];
    assert_eq!(bbb.id, InstrumentId::new(1));
    assert_eq!(
        (bbb.symbol.as_str(), bbb.tick_size, bbb.lot_size),
        ("BBB", 5, 10)
    );
    assert!(c.features.enabled.contains(FeatureKind::Mid));
    assert!(!c.features.enabled.contains(FeatureKind::Spread));
    assert_eq!(c.features.imbalance_levels, 3);
    assert_eq!(c.features.trade_flow_half_life_ns, 5e9);
    assert_eq!(c.features.vwap_half_life_ns, None);
    assert_eq!(c.model.model_id, 7);
    assert_eq!(
        c.model.features,
        vec![FeatureKind::TopImbalance, FeatureKind::RetEwma]
    );
    assert_eq!(
        c.model.spec,
        ModelSpec::Linear {
            weights: vec![1.5, 5000.0],
            bias: -0.25,
            link: Link::Identity
        }
    );
    assert!(c.strategy.quote.is_none());
    assert_eq!(c.strategy.take.map(|t| t.threshold_bps), Some(2.0));
    // Risk: defaults converted per instrument, BBB's override applied.
    assert_eq!(c.risk.instruments.len(), 2);
    assert_eq!(c.risk.instruments[0].max_order_qty, 100);
    assert_eq!(c.risk.instruments[1].max_order_qty, 200);
    assert_eq!(c.risk.instruments[0].max_notional, 1_000_000);
    assert_eq!(c.risk.limits.instrument, c.risk.instruments[0]);
    assert_eq!(c.risk.limits.max_daily_loss, 50_050);
    assert_eq!(c.risk.limits.max_gross_position, 3000);
    // Fees: -0.01 and 0.02 per share at price_scale 2 → -1 and 2 raw per share.
    let fees = Fees {
        maker_per_qty: -1,
        taker_per_qty: 2,
    };
    assert_eq!(c.venues[0].fees, vec![fees, fees]);
    assert_eq!(c.router.venues[0].venue, 3);
    assert_eq!(c.router.venues[0].fees, vec![fees, fees]);
    assert_eq!(c.router.rule, RouteRule::BestPriceThenFee);
    assert_eq!(c.oms.max_orders, DEFAULT_OMS_MAX_ORDERS);
    let FeedSpec::Synthetic(feed) = &c.feed;
    assert_eq!(
        feed.initial_mid,
        vec![Price::new(10_000), Price::new(2_000)]
    );
    assert_eq!(feed.regimes[0].name, "regime0");
    assert_eq!(feed.participant_rate_per_s, 100.0);
    assert_eq!(c.config_hash(), config_hash(BASE.as_bytes()));
}

#[test]
fn default_toml_loads() {
    let c = EngineConfig::load(default_path()).unwrap();
    let symbols: Vec<_> = c.instruments.iter().map(|i| i.symbol.as_str()).collect();
    assert_eq!(symbols, ["AAA", "BBB", "CCC"]);
    assert!(c.instruments.iter().all(|i| (
        i.price_scale.get(),
        i.qty_scale.get(),
        i.tick_size,
        i.lot_size
    ) == (4, 0, 100, 1)));
    assert_eq!(c.features.enabled, FeatureSet::ALL);
    assert_eq!(c.model.model_id, 1);
    assert!(matches!(c.model.spec, ModelSpec::Linear { ref weights, .. } if weights.len() == 4));
    assert_eq!(c.strategy.quote.map(|q| q.half_spread_ticks), Some(1));
    assert!(c.strategy.take.is_some());
    let ids: Vec<_> = c.venues.iter().map(|v| v.id).collect();
    assert_eq!(ids, [1, 2]);
    // "-0.0020" and "0.0030" per share at price_scale 4, qty_scale 0.
    assert_eq!(
        c.venues[0].fees[0],
        Fees {
            maker_per_qty: -20,
            taker_per_qty: 30
        }
    );
    assert!(c.router.split_by_displayed);
    let FeedSpec::Synthetic(feed) = &c.feed;
    assert_eq!((feed.seed, feed.duration_ns), (42, 10_000_000_000));
    assert_eq!(feed.regimes.len(), 2);
}

// ---- one test per error class ------------------------------------------------------------

#[test]
fn syntax_error_names_line_and_key() {
    assert_error(
        &edit("throttle_burst = 10", "throttle_burst = 10 10"),
        ConfigErrorKind::Syntax,
        "x.toml: risk.throttle_burst: invalid TOML: expected newline, `#` (line 51, column 21)",
    );
    assert_error(
        &edit("tick_size = \"0.05\"", "tick_size = \"0.05"),
        ConfigErrorKind::Syntax,
        "x.toml: instruments[1].tick_size: invalid TOML: invalid basic string \
         (line 13, column 18)",
    );
}

#[test]
fn duplicate_key_is_a_syntax_error() {
    let err = error(&edit("seed = 7", "seed = 7\nseed = 8"));
    assert_eq!(err.kind, ConfigErrorKind::Syntax);
    assert_eq!(err.key, "feed.seed");
    assert_eq!(err.location.map(|l| l.line), Some(70));
}

#[test]
fn unknown_key_is_named_with_its_path() {
    assert_error(
        &edit(
            "throttle_burst = 10",
            "throttle_burst = 10\nthrotle_rate = 5",
        ),
        ConfigErrorKind::UnknownKey,
        "x.toml: risk.throtle_rate: unknown key, expected one of `max_order_qty`, \
         `max_notional`, `price_band_bps`, `max_position`, `max_gross_position`, \
         `max_open_orders`, `throttle_rate_per_s`, `throttle_burst`, `max_daily_loss`, \
         `session_start`, `session_time_zone` (line 52, column 1)",
    );
    let err = error(&edit(
        "initial_mid = \"20.00\"",
        "initial_mid = \"20.00\"\ncolour = 1",
    ));
    assert_eq!(err.key, "instruments[1].colour");
    assert_eq!(err.kind, ConfigErrorKind::UnknownKey);
    let err = error(&format!("{BASE}\n[journal]\npath = \"j\"\n"));
    assert_eq!(err.key, "journal");
    assert!(
        err.reason
            .starts_with("unknown key, expected one of `instruments`"),
        "{err}"
    );
    let err = error(&edit(
        "mean_duration_s = 1.5",
        "mean_duration_s = 1.5\nmean = 2",
    ));
    assert_eq!(err.key, "feed.regimes[0].mean");
}

#[test]
fn missing_key_is_named() {
    assert_error(
        &edit("max_open_orders = 16\n", ""),
        ConfigErrorKind::MissingKey,
        "x.toml: risk.max_open_orders: missing required key (line 43, column 1)",
    );
    let err = error(&edit("symbol = \"BBB\"\n", ""));
    assert_eq!(err.key, "instruments[1].symbol");
    assert_eq!(err.kind, ConfigErrorKind::MissingKey);
    let cut = BASE.find("[router]").unwrap();
    let end = BASE.find("[feed]").unwrap();
    let err = error(&format!("{}{}", &BASE[..cut], &BASE[end..]));
    assert_eq!(err.key, "router");
    assert_eq!(err.reason, "missing required key");
    // Kind-dependent keys are required (or refused) per kind.
    assert_error(
        &edit("bias = -0.25\n", ""),
        ConfigErrorKind::MissingKey,
        "x.toml: model.bias: required for kind = \"linear\"",
    );
}

#[test]
fn wrong_type_names_the_key() {
    assert_error(
        &edit(
            "price_scale = 2\nqty_scale = 0\ntick_size = \"0.05\"",
            "price_scale = \"2\"\nqty_scale = 0\ntick_size = \"0.05\"",
        ),
        ConfigErrorKind::WrongType,
        "x.toml: instruments[1].price_scale: invalid type: string \"2\", expected u8 \
         (line 11, column 15)",
    );
    // A float where exact decimal text belongs.
    assert_error(
        &edit("max_notional = \"10000.00\"", "max_notional = 10000.5"),
        ConfigErrorKind::WrongType,
        "x.toml: risk.max_notional: invalid type: floating point `10000.5`, expected decimal \
         text in quotes, e.g. \"0.01\" (a TOML float is not exact) (line 45, column 16)",
    );
    let err = error(&edit("[1.5, 5000]", "[1.5, \"w\"]"));
    assert_eq!(err.key, "model.weights[1]");
    assert_eq!(err.kind, ConfigErrorKind::WrongType);
}

#[test]
fn out_of_range_values_are_named() {
    assert_error(
        &edit("max_order_qty = \"100\"", "max_order_qty = \"0\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: risk.max_order_qty: must be positive, got 0 (line 44, column 17)",
    );
    assert_error(
        &edit("model_id = 7", "model_id = 70000"),
        ConfigErrorKind::InvalidValue,
        "x.toml: model.model_id: invalid value: integer `70000`, expected u16 \
         (line 27, column 12)",
    );
    assert_error(
        &edit("tick_size = \"0.05\"", "tick_size = \"0.003\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: instruments[1].tick_size: \"0.003\" is not representable at price_scale 2 \
         (line 13, column 13)",
    );
    assert_error(
        &edit("max_open_orders = 16", "max_open_orders = 70000"),
        ConfigErrorKind::InvalidValue,
        "x.toml: risk.max_open_orders: must be at most 65536, got 70000 (line 49, column 19)",
    );
    assert_error(
        &edit("imbalance_levels = 3", "imbalance_levels = 0"),
        ConfigErrorKind::InvalidValue,
        "x.toml: features.imbalance_levels: must be in 1..=64, got 0 (line 20, column 20)",
    );
    assert_error(
        &edit("ack_latency_ns = 12_000", "ack_latency_ns = -1"),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].ack_latency_ns: must not be negative, got -1 (line 58, column 18)",
    );
    let err = error(&edit("mean_duration_s = 1.5", "mean_duration_s = 0"));
    assert_eq!(err.key, "feed.regimes[0].mean_duration_s");
    let err = error(&edit("max_order_qty = \"100\"", "max_order_qty = \"0.5\""));
    assert_eq!(
        err.reason,
        "\"0.5\" is not representable at qty_scale 0 of instruments[0] (\"AAA\")"
    );
    let err = error(&edit("max_order_qty = \"200\"", "max_order_qty = \"-5\""));
    assert_eq!(err.key, "instruments[1].max_order_qty");
    assert_eq!(err.reason, "must be positive, got -5");
}

#[test]
fn strategy_errors_map_to_keys() {
    let err = error(&edit("max_slippage_ticks = 1\n", "max_slippage_ticks = 1\n\n[strategy.quote]\nhalf_spread_ticks = 0\ninventory_skew_ticks = 0.5\nrequote_ticks = 1\n"));
    assert_eq!(err.key, "strategy.quote.half_spread_ticks");
    assert_eq!(err.reason, "must be at least 1");
    assert!(err.location.is_some(), "{err}");
    let err = error(&edit(
        "[strategy.take]\nthreshold_bps = 2.0\nmax_slippage_ticks = 1\n",
        "",
    ));
    assert_eq!(
        err.to_string(),
        "x.toml: strategy.quote: neither [strategy.quote] nor [strategy.take] is configured"
    );
    // 5 lots of BBB (lot 10) is 50 ≤ 200; 11 lots of AAA is 11 ≤ 100; 30 lots of BBB is 300.
    let err = error(&edit("order_lots = 5", "order_lots = 30"));
    assert_eq!(err.key, "strategy.order_lots");
    assert_eq!(
        err.reason,
        "30 lots of instruments[1] (\"BBB\") is 300, above its max_order_qty 200"
    );
}

#[test]
fn unknown_feature_name_names_the_index() {
    assert_error(
        &edit("\"mid\", \"top_imbalance\"", "\"mid\", \"top_imbalanse\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: features.enabled[1]: unknown feature \"top_imbalanse\" (known: mid, spread, \
         microprice, top_imbalance, depth_imbalance, trade_flow_imbalance, ret_ewma, \
         vol_ewma, vwap, ns_since_last_trade) (line 19, column 19)",
    );
    let err = error(&edit(
        "[\"top_imbalance\", \"ret_ewma\"]",
        "[\"top_imbalance\", \"nope\"]",
    ));
    assert_eq!(err.key, "model.features[1]");
    let err = error(&edit(
        "[\"top_imbalance\", \"ret_ewma\"]",
        "[\"top_imbalance\", \"vwap\"]",
    ));
    assert_eq!(
        err.to_string(),
        "x.toml: model.features[1]: \"vwap\" is not in features.enabled (line 28, column 30)"
    );
}

#[test]
fn weights_must_match_features() {
    assert_error(
        &edit("weights = [1.5, 5000]", "weights = [1.5]"),
        ConfigErrorKind::InvalidValue,
        "x.toml: model.weights: has 1 entries but model.features has 2 (line 29, column 11)",
    );
    let err = error(&edit("weights = [1.5, 5000]", "weights = [1.5, nan]"));
    assert_eq!(err.key, "model.weights[1]");
    assert_eq!(err.reason, "must be a finite number, got NaN");
}

#[test]
fn duplicate_symbol_is_an_error() {
    assert_error(
        &edit("symbol = \"BBB\"", "symbol = \"AAA\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: instruments[1].symbol: duplicate symbol \"AAA\", also instruments[0] \
         (line 10, column 10)",
    );
}

#[test]
fn duplicate_venue_id_is_an_error() {
    let second = "\n[[venues]]\nid = 3\nname = \"Y\"\nentry_latency_ns = 0\nack_latency_ns = 0\n\
                  feed_latency_ns = 0\nmaker_fee = \"0\"\ntaker_fee = \"0\"\n";
    assert_error(
        &edit(
            "taker_fee = \"0.02\"\n",
            &format!("taker_fee = \"0.02\"\n{second}"),
        ),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[1].id: duplicate venue id 3, also venues[0] (line 64, column 6)",
    );
}

#[test]
fn fee_must_be_exact_per_raw_unit() {
    assert_error(
        &edit("maker_fee = \"-0.01\"", "maker_fee = \"-0.005\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].maker_fee: \"-0.005\" per unit of quantity is not a whole number of \
         raw price units per raw quantity unit of instruments[0] (\"AAA\") (price_scale 2, \
         qty_scale 0) (line 60, column 13)",
    );
    // Exact per whole unit but not per raw unit when quantities have decimals.
    let text = BASE
        .replace("qty_scale = 0", "qty_scale = 1")
        .replace("lot_size = 10", "lot_size = \"1.0\"");
    let err = error(&text);
    assert_eq!(err.key, "venues[0].maker_fee");
    assert!(err.reason.contains("(price_scale 2, qty_scale 1)"), "{err}");
    // …and fine once it is: 0.10 per unit = 0.01 per 0.1 unit = raw 1.
    let text = text
        .replace("maker_fee = \"-0.01\"", "maker_fee = \"-0.10\"")
        .replace("taker_fee = \"0.02\"", "taker_fee = \"0.20\"");
    let c = load(&text).unwrap();
    assert_eq!(
        c.venues[0].fees[1],
        Fees {
            maker_per_qty: -1,
            taker_per_qty: 2
        }
    );
    assert_eq!(c.risk.instruments[0].max_notional, 10_000_000);
}

/// `BASE` with `extra` appended (a `[[fees]]` table, say), and the line it starts on.
fn with_fees(extra: &str) -> (String, usize) {
    (format!("{BASE}{extra}"), BASE.lines().count() + 1)
}

const VENUE_FEES: &str = "maker_fee = \"-0.01\"\ntaker_fee = \"0.02\"";

#[test]
fn venue_fees_in_basis_points() {
    let c = load(&edit(
        VENUE_FEES,
        "maker_fee_bps = \"-0.5\"\ntaker_fee_bps = 2",
    ))
    .unwrap();
    let bps = FeeSchedule {
        maker: FeeRate::Bps(-5_000),
        taker: FeeRate::Bps(20_000),
    };
    assert_eq!(c.venues[0].fee_schedule, vec![bps, bps]);
    // The router ranks by the raw rate.
    let figures = Fees {
        maker_per_qty: -5_000,
        taker_per_qty: 20_000,
    };
    assert_eq!(c.venues[0].fees, vec![figures, figures]);
    assert_eq!(c.router.venues[0].fees, c.venues[0].fees);
    // Per-unit fees give the same figures as before and a per-unit schedule.
    let c = load(BASE).unwrap();
    let per_unit = FeeSchedule {
        maker: FeeRate::PerQty(-1),
        taker: FeeRate::PerQty(2),
    };
    assert_eq!(c.venues[0].fee_schedule, vec![per_unit, per_unit]);
    // One side per unit, the other in basis points.
    let c = load(&edit("taker_fee = \"0.02\"", "taker_fee_bps = \"0.0001\"")).unwrap();
    assert_eq!(c.venues[0].fee_schedule[1].maker, FeeRate::PerQty(-1));
    assert_eq!(c.venues[0].fee_schedule[1].taker, FeeRate::Bps(1));
}

#[test]
fn a_venue_side_takes_exactly_one_fee_form() {
    assert_error(
        &edit(
            "maker_fee = \"-0.01\"",
            "maker_fee = \"-0.01\"\nmaker_fee_bps = \"-0.5\"",
        ),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].maker_fee_bps: venues[0].maker_fee is given too: a side's fee is \
         either per unit of quantity (maker_fee) or in basis points of notional \
         (maker_fee_bps), not both (line 61, column 17)",
    );
    assert_error(
        &edit("taker_fee = \"0.02\"\n", ""),
        ConfigErrorKind::MissingKey,
        "x.toml: venues[0].taker_fee: missing required key: the taker fee, per unit of \
         quantity (taker_fee) or in basis points of notional (taker_fee_bps)",
    );
}

#[test]
fn bps_fees_are_exact_and_bounded() {
    assert_error(
        &edit(
            VENUE_FEES,
            "maker_fee_bps = \"0.00005\"\ntaker_fee = \"0.02\"",
        ),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].maker_fee_bps: \"0.00005\" basis points has more than 4 decimals \
         (line 60, column 17)",
    );
    assert_error(
        &edit(
            VENUE_FEES,
            "maker_fee = \"-0.01\"\ntaker_fee_bps = \"10000.5\"",
        ),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].taker_fee_bps: must be between -10000 and 10000 basis points \
         (100% of notional), got 10000.5 (line 61, column 17)",
    );
    assert_error(
        &edit(VENUE_FEES, "maker_fee = \"-0.01\"\ntaker_fee_bps = \"ten\""),
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[0].taker_fee_bps: \"ten\" is not a decimal number (line 61, column 17)",
    );
    // A TOML float is not exact: refused like every money value.
    let err = error(&edit(
        VENUE_FEES,
        "maker_fee = \"-0.01\"\ntaker_fee_bps = 0.5",
    ));
    assert_eq!(err.key, "venues[0].taker_fee_bps");
    assert_eq!(err.location.map(|l| l.line), Some(61));
    // The limits themselves are fine.
    let c = load(&edit(
        VENUE_FEES,
        "maker_fee_bps = \"-10000\"\ntaker_fee_bps = \"10000.0000\"",
    ))
    .unwrap();
    assert_eq!(
        c.venues[0].fee_schedule[0].maker,
        FeeRate::Bps(-100_000_000)
    );
    assert_eq!(c.venues[0].fee_schedule[0].taker, FeeRate::Bps(100_000_000));
}

#[test]
fn fees_override_one_venue_and_instrument() {
    // By venue name: BBB's maker side in basis points; its taker side stays the venue's.
    // By venue id: AAA's taker side per unit.
    let (text, _) = with_fees(
        "\n[[fees]]\nvenue = \"X\"\ninstrument = \"BBB\"\nmaker_fee_bps = \"-0.25\"\n\
         \n[[fees]]\nvenue = 3\ninstrument = \"AAA\"\ntaker_fee = \"0.05\"\n",
    );
    let c = load(&text).unwrap();
    assert_eq!(
        c.venues[0].fee_schedule,
        vec![
            FeeSchedule {
                maker: FeeRate::PerQty(-1),
                taker: FeeRate::PerQty(5),
            },
            FeeSchedule {
                maker: FeeRate::Bps(-2_500),
                taker: FeeRate::PerQty(2),
            },
        ]
    );
    assert_eq!(
        c.venues[0].fees[1],
        Fees {
            maker_per_qty: -2_500,
            taker_per_qty: 2
        }
    );
    // An override spares the instrument the venue's per-unit fee, even one it could not
    // represent: BBB at qty_scale 1 cannot pay 0.005 per unit (0.0005 per raw unit).
    let text = format!(
        "{}\n[[fees]]\nvenue = \"X\"\ninstrument = \"AAA\"\nmaker_fee_bps = 1\n",
        edit("maker_fee = \"-0.01\"", "maker_fee = \"-0.005\"")
    );
    assert_eq!(error(&text).key, "venues[0].maker_fee");
    let text = text.replace("instrument = \"AAA\"", "instrument = \"AAA\"\n")
        + "\n[[fees]]\nvenue = \"X\"\ninstrument = \"BBB\"\nmaker_fee_bps = 1\n";
    let c = load(&text).unwrap();
    assert_eq!(c.venues[0].fee_schedule[0].maker, FeeRate::Bps(10_000));
    assert_eq!(c.venues[0].fee_schedule[1].maker, FeeRate::Bps(10_000));
}

#[test]
fn bad_fees_entries_name_their_key_and_line() {
    let entry = "\n[[fees]]\nvenue = \"X\"\ninstrument = \"BBB\"\nmaker_fee_bps = \"1\"\n";
    let (_, start) = with_fees(entry);
    // The lines of the entry: blank, header, venue, instrument, maker_fee_bps.
    let (venue, instrument, maker) = (start + 2, start + 3, start + 4);
    assert_error(
        &with_fees(&entry.replace("\"X\"", "\"Y\"")).0,
        ConfigErrorKind::InvalidValue,
        &format!(
            "x.toml: fees[0].venue: no venue \"Y\" in [[venues]] (known: \"X\" (id 3)) \
             (line {venue}, column 9)"
        ),
    );
    assert_error(
        &with_fees(&entry.replace("\"X\"", "4")).0,
        ConfigErrorKind::InvalidValue,
        &format!(
            "x.toml: fees[0].venue: no venue 4 in [[venues]] (known: \"X\" (id 3)) \
             (line {venue}, column 9)"
        ),
    );
    assert_error(
        &with_fees(&entry.replace("\"BBB\"", "\"CCC\"")).0,
        ConfigErrorKind::InvalidValue,
        &format!(
            "x.toml: fees[0].instrument: no instrument \"CCC\" in [[instruments]] (known: \
             \"AAA\", \"BBB\") (line {instrument}, column 14)"
        ),
    );
    assert_error(
        &with_fees(&format!("{entry}maker_fee = \"0.01\"\n")).0,
        ConfigErrorKind::InvalidValue,
        &format!(
            "x.toml: fees[0].maker_fee_bps: fees[0].maker_fee is given too: a side's fee is \
             either per unit of quantity (maker_fee) or in basis points of notional \
             (maker_fee_bps), not both (line {maker}, column 17)"
        ),
    );
    assert_error(
        &with_fees(&entry.replace("maker_fee_bps = \"1\"\n", "")).0,
        ConfigErrorKind::MissingKey,
        &format!(
            "x.toml: fees[0]: gives no fee: set maker_fee or maker_fee_bps, and/or taker_fee \
             or taker_fee_bps (line {}, column 1)",
            start + 1
        ),
    );
    assert_error(
        &with_fees(&format!(
            "{entry}{}",
            entry.replace("maker_fee_bps", "taker_fee_bps")
        ))
        .0,
        ConfigErrorKind::InvalidValue,
        &format!(
            "x.toml: fees[1].instrument: fees[0] already gives the fees of \"BBB\" on venue \
             \"X\" (line {}, column 14)",
            instrument + 5
        ),
    );
    // A per-unit override is checked at the instrument's scales.
    let err = error(&with_fees(&entry.replace("maker_fee_bps = \"1\"", "maker_fee = \"0.001\"")).0);
    assert_eq!(err.key, "fees[0].maker_fee");
    assert!(err.reason.contains("instruments[1] (\"BBB\")"), "{err}");
    assert_eq!(err.location.map(|l| l.line), Some(maker));
    // An unknown key names the table's keys.
    let err = error(&with_fees(&entry.replace("maker_fee_bps", "maker_bps")).0);
    assert_eq!(err.kind, ConfigErrorKind::UnknownKey, "{err}");
    assert_eq!(err.key, "fees[0].maker_bps");
    assert!(err.reason.contains("maker_fee_bps"), "{err}");
    assert_eq!(err.location.map(|l| l.line), Some(maker));
}

#[test]
fn with_several_venues_a_side_is_on_one_basis() {
    let second = "\n[[venues]]\nid = 4\nname = \"Y\"\nentry_latency_ns = 0\nack_latency_ns = 0\n\
                  feed_latency_ns = 0\nmaker_fee_bps = \"-0.2\"\ntaker_fee = \"0.01\"\n";
    let text = edit(
        "taker_fee = \"0.02\"\n",
        &format!("taker_fee = \"0.02\"\n{second}"),
    );
    assert_error(
        &text,
        ConfigErrorKind::InvalidValue,
        "x.toml: venues[1].maker_fee_bps: gives the maker fee of instruments[0] (\"AAA\") on \
         venue \"Y\" in basis points of notional, but venues[0].maker_fee gives it on venue \
         \"X\" per unit of quantity: the router ranks venues by fee, so an instrument's maker \
         fee must be on the same basis on every venue (line 69, column 17)",
    );
    // On one basis everywhere, the router's figures compare: X's -0.5 bps beats Y's -0.2.
    let text = text.replace("maker_fee = \"-0.01\"", "maker_fee_bps = \"-0.5\"");
    let c = load(&text).unwrap();
    assert_eq!(c.router.venues[0].fees[0].maker_per_qty, -5_000);
    assert_eq!(c.router.venues[1].fees[0].maker_per_qty, -2_000);
    // A [[fees]] entry that puts one venue's instrument on another basis is refused too.
    let err = error(&format!(
        "{text}\n[[fees]]\nvenue = \"Y\"\ninstrument = \"BBB\"\nmaker_fee = \"0\"\n"
    ));
    assert_eq!(err.key, "fees[0].maker_fee");
    assert!(err.reason.contains("instruments[1] (\"BBB\")"), "{err}");
}

#[test]
fn model_path_must_exist() {
    let text = edit(
        "weights = [1.5, 5000]\nbias = -0.25\n",
        "path = \"models/nope.json\"\n",
    )
    .replace("kind = \"linear\"", "kind = \"xgboost\"");
    let err = EngineConfig::from_toml_str(&text, "conf/x.toml").unwrap_err();
    assert_eq!(
        err.to_string(),
        "conf/x.toml: model.path: no such file: \"models/nope.json\" (resolved to \
         \"conf/models/nope.json\") (line 29, column 8)"
    );
    assert_eq!(err.kind, ConfigErrorKind::MissingFile);
    // Linear keys are refused for file models, and the other way round.
    let err = error(&edit("kind = \"linear\"", "kind = \"onnx\""));
    assert_eq!(
        (err.key.as_str(), err.kind),
        ("model.weights", ConfigErrorKind::UnknownKey)
    );
    assert_eq!(err.reason, "not used by kind = \"onnx\"");
    let err = error(&edit("bias = -0.25", "bias = -0.25\npath = \"m.json\""));
    assert_eq!(err.key, "model.path");
}

/// A build without the `onnx` feature refuses an ONNX model at load, before its file is
/// looked at.
#[cfg(not(feature = "onnx"))]
#[test]
fn onnx_model_needs_the_onnx_feature() {
    let text = edit(
        "weights = [1.5, 5000]\nbias = -0.25\n",
        "path = \"models/absent.onnx\"\n",
    )
    .replace("kind = \"linear\"", "kind = \"onnx\"");
    assert_error(
        &text,
        ConfigErrorKind::InvalidValue,
        "x.toml: model.kind: model kind \"onnx\" needs the `onnx` feature; this binary was \
         built without it (line 26, column 8)",
    );
}

#[test]
fn risk_totals_need_shared_scales() {
    let text = edit(
        "qty_scale = 0\ntick_size = \"0.05\"\nlot_size = 10",
        "qty_scale = 1\ntick_size = \"0.05\"\nlot_size = 10",
    );
    assert_error(
        &text,
        ConfigErrorKind::InvalidValue,
        "x.toml: risk.max_gross_position: sums raw quantities across instruments, so they \
         must share one qty_scale, but instruments[0] (\"AAA\") has 0 and instruments[1] \
         (\"BBB\") has 1 (line 48, column 22)",
    );
    let err = error(&edit(
        "price_scale = 2\nqty_scale = 0\ntick_size = \"0.05\"",
        "price_scale = 3\nqty_scale = 0\ntick_size = \"0.05\"",
    ));
    assert_eq!(err.key, "risk.max_daily_loss");
}

#[test]
fn session_start_is_a_time_of_day_in_a_named_zone() {
    assert_eq!(load(BASE).unwrap().risk.session, None);
    let with = |start: &str, zone: &str| {
        edit(
            "max_daily_loss = \"500.50\"",
            &format!("max_daily_loss = \"500.50\"\n{start}{zone}"),
        )
    };
    let c = load(&with(
        "session_start = \"17:00\"\n",
        "session_time_zone = \"America/Chicago\"\n",
    ))
    .unwrap();
    let session = c.risk.session.clone().unwrap();
    assert_eq!(session.start_text(), "17:00:00");
    assert_eq!(session.zone_name(), "America/Chicago");
    assert_eq!(c.timers().session(), Some(&session));
    assert!(!c.timers().is_empty());
    assert_error(
        &with("session_start = \"5pm\"\n", "session_time_zone = \"UTC\"\n"),
        ConfigErrorKind::InvalidValue,
        "x.toml: risk.session_start: \"5pm\" is not a time of day: expected HH:MM or \
         HH:MM:SS on a 24-hour clock, e.g. \"17:00\" (line 53, column 17)",
    );
    assert_error(
        &with(
            "session_start = \"17:00\"\n",
            "session_time_zone = \"US/Chicago\"\n",
        ),
        ConfigErrorKind::InvalidValue,
        "x.toml: risk.session_time_zone: \"US/Chicago\" is not an IANA time zone name (e.g. \
         \"America/Chicago\", \"Europe/London\", \"UTC\") (line 54, column 21)",
    );
    assert_error(
        &with("session_start = \"17:00\"\n", ""),
        ConfigErrorKind::MissingKey,
        "x.toml: risk.session_time_zone: required with risk.session_start: the IANA time \
         zone the start time is in (e.g. \"America/Chicago\")",
    );
    assert_error(
        &with("", "session_time_zone = \"Europe/London\"\n"),
        ConfigErrorKind::MissingKey,
        "x.toml: risk.session_start: required with risk.session_time_zone: the local time of \
         day the trading day starts (e.g. \"17:00\")",
    );
    let err = error(&with("session_start = 1700\n", ""));
    assert_eq!(
        (err.key.as_str(), err.kind),
        ("risk.session_start", ConfigErrorKind::WrongType)
    );
}

#[test]
fn feed_needs_mids_and_regimes() {
    assert_error(
        &edit("initial_mid = \"20.00\"\n", ""),
        ConfigErrorKind::MissingKey,
        "x.toml: instruments[1].initial_mid: required by the synthetic feed ([feed] kind = \
         \"synthetic\")",
    );
    let cut = BASE.find("\n[[feed.regimes]]").unwrap();
    let err = error(&format!("{}\nregimes = []\n", &BASE[..cut]));
    assert_eq!(err.key, "feed.regimes");
    let err = error(&edit("kind = \"synthetic\"", "kind = \"itch\""));
    assert_eq!(err.key, "feed.kind");
    assert_eq!(err.reason, "unknown variant `itch`, expected `synthetic`");
}

#[test]
fn oms_bounds() {
    let err = error(&format!("{BASE}\n[oms]\nmax_orders = 8\n"));
    assert_eq!(
        err.to_string(),
        "x.toml: oms.max_orders: must be at least risk.max_open_orders (16), got 8 \
         (line 79, column 14)"
    );
}

// ---- helpers ---------------------------------------------------------------------------

#[test]
fn hash_is_fnv1a_64() {
    assert_eq!(config_hash(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(config_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(config_hash(b"foobar"), 0x8594_4171_f739_67e8);
    let c = load(BASE).unwrap();
    assert_eq!(
        c.config_hash_hex(),
        format!("{:016x}", config_hash(BASE.as_bytes()))
    );
    assert_ne!(
        c.config_hash(),
        load(&format!("{BASE}#\n")).unwrap().config_hash()
    );
}

#[test]
fn locations_count_characters() {
    let text = "a = 1\nbé = \"x\"\n";
    assert_eq!(
        Location::of_offset(text, 0),
        Location { line: 1, column: 1 }
    );
    assert_eq!(
        Location::of_offset(text, 6),
        Location { line: 2, column: 1 }
    );
    // Byte 9 is after "bé " (4 bytes, 3 characters).
    assert_eq!(
        Location::of_offset(text, 10),
        Location { line: 2, column: 4 }
    );
    assert_eq!(Location::of_offset(text, 999).line, 3);
}

#[test]
fn guessed_keys() {
    let text = "[[a]]\nx = 1\n[[a]]\ny = 2\n[b.c]\nz = 3\n";
    assert_eq!(guess_key(text, 2), "a[0].x");
    assert_eq!(guess_key(text, 4), "a[1].y");
    assert_eq!(guess_key(text, 6), "b.c.z");
    assert_eq!(guess_key(text, 5), "b.c");
    assert_eq!(guess_key(text, 3), "a[1]");
    assert_eq!(guess_key("[x]\n[y\n", 2), "x");
    assert_eq!(guess_key("= 1", 1), "(top level)");
    assert_eq!(guess_key("", 9), "(top level)");
}

#[test]
fn missing_file_is_an_io_error() {
    let err = EngineConfig::load("/nonexistent/tickrail.toml").unwrap_err();
    assert_eq!(err.kind, ConfigErrorKind::Io);
    assert!(
        err.to_string()
            .starts_with("/nonexistent/tickrail.toml: (file): cannot read: "),
        "{err}"
    );
}

// ---- never panics ------------------------------------------------------------------------

/// Display an outcome (exercises the error formatting too).
fn outcome(text: &str) -> String {
    match load(text) {
        Ok(c) => format!("ok {}", c.instruments.len()),
        Err(e) => {
            assert!(!e.key.is_empty() && !e.reason.is_empty(), "{e:?}");
            e.to_string()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_tomlish_text_never_panics(text in "([a-z_\\[\\].=\"0-9 #{},-]{0,12}\n){0,12}") {
        let _ = outcome(&text);
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = outcome(&text);
    }

    #[test]
    fn mutated_base_never_panics(
        at in 0..BASE.len(),
        cut in 0usize..40,
        insert in "[a-z0-9_=\\[\\]\". \n-]{0,8}",
    ) {
        let start = (0..=at).rev().find(|&i| BASE.is_char_boundary(i)).unwrap_or(0);
        let end = (start + cut).min(BASE.len());
        let end = (end..=BASE.len()).find(|&i| BASE.is_char_boundary(i)).unwrap_or(BASE.len());
        let text = format!("{}{insert}{}", &BASE[..start], &BASE[end..]);
        let _ = outcome(&text);
    }

    #[test]
    fn dropped_or_doubled_lines_never_panic(line in 0usize..90, double in any::<bool>()) {
        let default = std::fs::read_to_string(default_path()).unwrap();
        let mut lines: Vec<&str> = default.lines().collect();
        let i = line % lines.len();
        if double {
            lines.insert(i, lines[i]);
        } else {
            lines.remove(i);
        }
        let _ = outcome(&lines.join("\n"));
    }
}

// ---- [live] ------------------------------------------------------------------------------

const LIVE_GATEWAYS: &str = r#"
[live]
market = "gateways"

[live.udp]
group = "239.255.10.1:31001"
interface = "127.0.0.1"
session = "TICKRAIL01"
itch_date = "2019-12-30"

[live.fix]
settings = "fix/initiator.cfg"
venue = 3
"#;

#[test]
fn live_defaults_to_the_synthetic_market() {
    assert_eq!(load(BASE).unwrap().live, LiveSpec::Synthetic);
}

#[cfg(feature = "fix")]
#[test]
fn live_gateways_loads() {
    let c = load(&format!("{BASE}{LIVE_GATEWAYS}")).unwrap();
    let LiveSpec::Gateways { udp, fix } = &c.live else {
        panic!("{:?}", c.live)
    };
    assert_eq!(udp.group.to_string(), "239.255.10.1:31001");
    assert_eq!(udp.interface.to_string(), "127.0.0.1");
    assert_eq!(udp.session.as_deref(), Some("TICKRAIL01"));
    assert_eq!(udp.itch_date, (2019, 12, 30));
    assert_eq!(fix.settings, Path::new("fix/initiator.cfg"));
    assert_eq!((fix.venue, fix.reconcile_timeout_ms), (3, 5_000));
    assert_eq!(fix.state, Path::new("data/fix/gateway/in-flight.state"));
    assert_eq!(fix.drain_ms, 500);
    assert_eq!(fix.wait, WaitKind::Block);
    let c = load(&format!(
        "{BASE}{LIVE_GATEWAYS}state = \"/tmp/x/in-flight\"\ndrain_ms = 2000\nwait = \"yield\"\n"
    ))
    .unwrap();
    let LiveSpec::Gateways { fix, .. } = &c.live else {
        panic!("{:?}", c.live)
    };
    assert_eq!(
        (fix.state.as_path(), fix.drain_ms),
        (Path::new("/tmp/x/in-flight"), 2000)
    );
    assert_eq!(fix.wait, WaitKind::Yield);
}

#[cfg(feature = "fix")]
#[test]
fn live_errors_name_the_key() {
    let with = |from: &str, to: &str| {
        assert!(LIVE_GATEWAYS.contains(from), "{from}");
        format!("{BASE}{}", LIVE_GATEWAYS.replacen(from, to, 1))
    };
    let cases = [
        (
            with("market = \"gateways\"", "market = \"synthetic\""),
            "live.udp",
            "only used with [live] market = \"gateways\"",
        ),
        (
            with(
                "[live.fix]\nsettings = \"fix/initiator.cfg\"\nvenue = 3\n",
                "",
            ),
            "live.fix",
            "required by [live] market = \"gateways\"",
        ),
        (
            with("239.255.10.1:31001", "239.255.10.1"),
            "live.udp.group",
            "\"239.255.10.1\" is not an IPv4 address:port",
        ),
        (
            with("239.255.10.1:31001", "10.0.0.1:31001"),
            "live.udp.group",
            "10.0.0.1 is not a multicast address (224.0.0.0/4)",
        ),
        (
            with("interface = \"127.0.0.1\"", "interface = \"lo\""),
            "live.udp.interface",
            "\"lo\" is not an IPv4 address",
        ),
        (
            with("TICKRAIL01", "TICKRAIL0123"),
            "live.udp.session",
            "\"TICKRAIL0123\": 1 to 10 printable ASCII characters",
        ),
        (
            with("2019-12-30", "2019-02-30"),
            "live.udp.itch_date",
            "\"2019-02-30\" is not a YYYY-MM-DD date",
        ),
        (
            with("venue = 3", "venue = 9"),
            "live.fix.venue",
            "9 is not the id of a [[venues]] entry",
        ),
        (
            with("venue = 3", "venue = 3\nreconcile_timeout_ms = 0"),
            "live.fix.reconcile_timeout_ms",
            "must be positive",
        ),
        (
            with("venue = 3", "venue = 3\nwait = \"sleep\""),
            "live.fix.wait",
            "must be \"busy-spin\", \"yield\" or \"block\", got \"sleep\"",
        ),
        (
            with("venue = 3", "venue = 3\nstate = \"\""),
            "live.fix.state",
            "must name a file",
        ),
        (
            with("venue = 3", "venue = 3\nretries = 3"),
            "live.fix.retries",
            "unknown key, expected one of `settings`, `venue`, `reconcile_timeout_ms`, `state`, \
             `drain_ms`, `wait`",
        ),
    ];
    for (text, key, reason) in cases {
        let err = error(&text);
        assert_eq!(
            (err.key.as_str(), err.reason.as_str()),
            (key, reason),
            "{err}"
        );
    }
}

/// A build without the `fix` feature (no FIX session to trade over) refuses
/// `[live] market = "gateways"` at load, whatever the `[live.*]` tables say; the synthetic
/// market needs no feature.
#[cfg(not(feature = "fix"))]
#[test]
fn live_gateways_needs_the_fix_feature() {
    let text = format!("{BASE}{LIVE_GATEWAYS}");
    let line = 1 + text[..text.find("market = \"gateways\"").unwrap()]
        .matches('\n')
        .count();
    let expected = format!(
        "x.toml: live.market: market \"gateways\" (FIX order entry) needs the `fix` feature; \
         this binary was built without it (line {line}, column 10)"
    );
    assert_error(&text, ConfigErrorKind::InvalidValue, &expected);
    let without_fix_table = text.replace(
        "[live.fix]\nsettings = \"fix/initiator.cfg\"\nvenue = 3\n",
        "",
    );
    assert_error(&without_fix_table, ConfigErrorKind::InvalidValue, &expected);
    let synthetic = format!("{BASE}\n[live]\nmarket = \"synthetic\"\n");
    assert_eq!(load(&synthetic).unwrap().live, LiveSpec::Synthetic);
}

// ---- runtime layouts -------------------------------------------------------------------------

/// `BASE` with a `[runtime]` section whose threads are `threads` (TOML tables).
fn with_threads(threads: &str) -> String {
    format!("{BASE}\n[runtime]\n{threads}")
}

const FEED_INLINE: &str = r#"
[[runtime.threads]]
name = "feed"
role = "feed"
stages = ["signal", "order"]
wait = "busy-spin"
"#;

const JOURNAL: &str = r#"
[[runtime.threads]]
name = "journal"
role = "journal"
wait = "busy-spin"
"#;

const CHAIN: &str = r#"
[[runtime.threads]]
name = "chain"
role = "stages"
stages = ["signal", "order"]
wait = "yield"
"#;

#[test]
fn stage_threads_run_the_chain_by_default() {
    let c = load(BASE).unwrap();
    assert!(!c.runtime.inline_chain);
    assert_eq!(c.runtime.stage_threads().count(), 1);
    let d = EngineConfig::load(default_path()).unwrap();
    assert!(!d.runtime.inline_chain);
    assert_eq!(
        d.runtime.describe(),
        "feed=feed@0/yield chain=[signal,order]@1/yield journal=journal@0/yield"
    );
}

#[test]
fn the_feed_thread_may_run_the_whole_chain_inline() {
    let c = load(&with_threads(&format!("{FEED_INLINE}{JOURNAL}"))).unwrap();
    assert!(c.runtime.inline_chain);
    assert_eq!(c.runtime.stage_threads().count(), 0);
    assert_eq!(c.runtime.threads.len(), 2);
    assert_eq!(
        c.runtime.describe(),
        "feed=feed+[signal,order]@any/busy-spin journal=journal@any/busy-spin"
    );
    // The shipped small-box layout is that one, on cores 0 and 1.
    let small = EngineConfig::load(default_path().with_file_name("small.toml")).unwrap();
    assert!(small.runtime.inline_chain);
    assert_eq!(
        small.runtime.describe(),
        "feed=feed+[signal,order]@0/busy-spin journal=journal@1/busy-spin"
    );
    assert_eq!(small.runtime.durability, SendDurability::BeforeSend);
}

#[test]
fn the_feed_thread_runs_all_of_the_chain_or_none_of_it() {
    for stages in [r#"["order"]"#, r#"["signal"]"#, r#"["order", "signal"]"#] {
        let text = with_threads(&format!(
            "{}{JOURNAL}",
            FEED_INLINE.replace(r#"["signal", "order"]"#, stages)
        ));
        let err = error(&text);
        assert_eq!(err.kind, ConfigErrorKind::InvalidValue, "{err}");
        assert_eq!(err.key, "runtime.threads[0].stages", "{err}");
        assert!(
            err.reason.starts_with(
                "a feed thread runs the whole chain inline or none of it: stages = \
                 [\"signal\", \"order\"] (in chain order), or no stages; got"
            ),
            "{err}"
        );
    }
    // Part of the chain on the feed thread and the rest on a stage thread is refused too.
    let text = with_threads(&format!(
        "{}{}{JOURNAL}",
        FEED_INLINE.replace(r#"["signal", "order"]"#, r#"["signal"]"#),
        CHAIN.replace(r#"["signal", "order"]"#, r#"["order"]"#)
    ));
    assert_eq!(error(&text).key, "runtime.threads[0].stages");
}

#[test]
fn an_inline_chain_and_stage_threads_do_not_mix() {
    let reason = |at: &str| {
        format!(
            "the chain's stages run either all inline on the feed thread or on stage \
             threads, never split: {at} already runs them there"
        )
    };
    // A stage thread after the inline feed thread: named at the stage thread.
    let err = error(&with_threads(&format!("{FEED_INLINE}{CHAIN}{JOURNAL}")));
    assert_eq!(
        (err.key.as_str(), err.reason.clone()),
        ("runtime.threads[1].role", reason("runtime.threads[0]"))
    );
    // The feed thread after a stage thread: named at the feed thread's stages.
    let err = error(&with_threads(&format!("{CHAIN}{FEED_INLINE}{JOURNAL}")));
    assert_eq!(
        (err.key.as_str(), err.reason.clone()),
        ("runtime.threads[1].stages", reason("runtime.threads[0]"))
    );
    // A second stage thread with only part of the chain does not slip through either.
    let err = error(&with_threads(&format!(
        "{FEED_INLINE}{}{JOURNAL}",
        CHAIN.replace(r#"["signal", "order"]"#, r#"["order"]"#)
    )));
    assert_eq!(err.key, "runtime.threads[1].role");
}

#[test]
fn the_journal_thread_runs_no_stage_and_the_chain_must_run_somewhere() {
    let err = error(&with_threads(&format!(
        "{}{}",
        FEED_INLINE.replace("stages = [\"signal\", \"order\"]\n", ""),
        JOURNAL.replace("wait", "stages = [\"signal\", \"order\"]\nwait")
    )));
    assert_eq!(err.key, "runtime.threads[1].stages");
    assert!(
        err.reason.starts_with("the journal thread runs no stage"),
        "{err}"
    );
    // A feed thread without stages and no stage thread: the chain runs nowhere.
    let err = error(&with_threads(&format!(
        "{}{JOURNAL}",
        FEED_INLINE.replace("stages = [\"signal\", \"order\"]\n", "")
    )));
    assert_eq!(err.key, "runtime.threads");
    assert_eq!(
        err.reason,
        "the stage threads must run every stage of [\"signal\", \"order\"] (or the feed \
         thread all of them, inline: stages = [\"signal\", \"order\"] on the feed thread)"
    );
}

#[test]
fn touch_quotes_refreshed_every_timer_load_and_their_errors_name_the_key() {
    use crate::strategy::{QuotePrice, QuoteRefresh};
    let with_quote = |quote: &str, timer: &str| {
        edit(
            "min_interval_ns = 0\n",
            &format!("min_interval_ns = 0\n{timer}\n[strategy.quote]\n{quote}\n"),
        )
    };
    let timer = "timer_interval_ns = 100_000_000";
    let c = load(&with_quote(
        "price = \"touch\"\nrefresh = \"every_timer\"\nrequote_ticks = 1",
        timer,
    ))
    .unwrap();
    let q = c.strategy.quote.unwrap();
    assert_eq!(
        (q.price, q.refresh),
        (QuotePrice::Touch, QuoteRefresh::EveryTimer)
    );
    // The defaults are today's rule.
    let c = load(&with_quote(
        "half_spread_ticks = 1\ninventory_skew_ticks = 0.5\nrequote_ticks = 1",
        "",
    ))
    .unwrap();
    let q = c.strategy.quote.unwrap();
    assert_eq!(
        (q.price, q.refresh),
        (QuotePrice::Fair, QuoteRefresh::OnChange)
    );

    let err = error(&with_quote("price = \"mid\"\nrequote_ticks = 1", ""));
    assert_eq!(err.key, "strategy.quote.price");
    assert!(err.reason.contains("\"fair\" or \"touch\""), "{err}");
    assert!(err.location.is_some(), "{err}");
    let err = error(&with_quote(
        "price = \"touch\"\nrefresh = \"sometimes\"\nrequote_ticks = 1",
        timer,
    ));
    assert_eq!(err.key, "strategy.quote.refresh");
    let err = error(&with_quote(
        "inventory_skew_ticks = 0.5\nrequote_ticks = 1",
        "",
    ));
    assert_eq!(err.key, "strategy.quote.half_spread_ticks");
    assert_eq!(err.reason, "required with price = \"fair\"");
    let err = error(&with_quote(
        "price = \"touch\"\nhalf_spread_ticks = 1\nrequote_ticks = 1",
        "",
    ));
    assert_eq!(err.key, "strategy.quote.half_spread_ticks");
    assert!(
        err.reason.starts_with("not used with price = \"touch\""),
        "{err}"
    );
    let err = error(&with_quote(
        "price = \"touch\"\nrefresh = \"every_timer\"\nrequote_ticks = 1",
        "",
    ));
    assert_eq!(err.key, "strategy.quote.refresh");
    assert!(err.reason.contains("timer_interval_ns > 0"), "{err}");
}
