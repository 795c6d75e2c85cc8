//! The config files in `config/` load, and file-level behaviour of `EngineConfig::load`:
//! errors name the file as given, model paths resolve against the config's directory.

// In a module so that `cargo test config` selects these tests.
mod config {
    use std::path::{Path, PathBuf};

    use tickrail_engine::config::{ConfigErrorKind, EngineConfig, FeedSpec, ModelSpec};
    use tickrail_engine::features::{FeatureKind, FeatureSet};
    use tickrail_engine::model::Link;
    use tickrail_engine::oms::Fees;
    use tickrail_engine::router::RouteRule;
    use tickrail_engine::{InstrumentId, Price};

    fn config_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
    }

    fn default_text() -> String {
        std::fs::read_to_string(config_dir().join("default.toml")).expect("config/default.toml")
    }

    /// The default config with its `[model]` table replaced by `model`.
    fn with_model(model: &str) -> String {
        let text = default_text();
        let start = text.find("[model]").expect("a [model] table");
        let end = start
            + text[start..]
                .find("\n# ----")
                .expect("a rule after [model]");
        format!("{}{model}{}", &text[..start], &text[end..])
    }

    #[test]
    fn default_toml_loads_with_expected_values() {
        let path = config_dir().join("default.toml");
        let c = EngineConfig::load(&path).unwrap();
        assert_eq!(c.file, path.display().to_string());
        assert_eq!(
            c.config_hash(),
            tickrail_engine::config::config_hash(&std::fs::read(&path).unwrap())
        );
        assert_eq!(c.config_hash_hex().len(), 16);

        // Instruments: dense ids, price scale 4, whole shares, 1-cent ticks.
        let symbols: Vec<_> = c.instruments.iter().map(|i| i.symbol.as_str()).collect();
        assert_eq!(symbols, ["AAA", "BBB", "CCC"]);
        for (i, spec) in c.instruments.iter().enumerate() {
            assert_eq!(spec.id, InstrumentId::new(i as u32));
            assert_eq!((spec.price_scale.get(), spec.qty_scale.get()), (4, 0));
            assert_eq!((spec.tick_size, spec.lot_size), (100, 1));
        }

        assert_eq!(c.features.enabled, FeatureSet::ALL);
        assert_eq!(c.features.imbalance_levels, 5);
        assert_eq!(c.features.return_half_life_ns, 1e9);
        assert_eq!(c.features.vwap_half_life_ns, None);

        assert_eq!(c.model.model_id, 1);
        assert_eq!(
            c.model.features,
            [
                FeatureKind::TopImbalance,
                FeatureKind::DepthImbalance,
                FeatureKind::TradeFlowImbalance,
                FeatureKind::RetEwma
            ]
        );
        let ModelSpec::Linear {
            weights,
            bias,
            link,
        } = &c.model.spec
        else {
            panic!("expected a linear model: {:?}", c.model.spec);
        };
        assert_eq!((weights.len(), *bias, *link), (4, 0.0, Link::Identity));

        let quote = c.strategy.quote.unwrap();
        assert_eq!(quote.half_spread_ticks, 1);
        assert_eq!(c.strategy.take.unwrap().threshold_bps, 2.5);
        assert_eq!(c.strategy.order_lots, 100);

        // Risk: defaults in shares and currency, raw price × raw qty for notional and loss.
        let aaa = c.risk.instruments[0];
        assert_eq!(aaa.max_order_qty, 500);
        assert_eq!(aaa.max_notional, 50_000 * 10_000);
        assert_eq!(aaa.max_position, 2000);
        assert_eq!(aaa.price_band_bps, 500);
        let ccc = c.risk.instruments[2];
        assert_eq!(
            (ccc.max_notional, ccc.max_position),
            (25_000 * 10_000, 1500)
        );
        assert_eq!(c.risk.limits.instrument, aaa);
        assert_eq!(c.risk.limits.max_gross_position, 5000);
        assert_eq!(c.risk.limits.max_daily_loss, 10_000 * 10_000);
        assert_eq!(c.risk.limits.max_open_orders, 64);

        // Venues: "-0.0020" / "0.0030" per share at price scale 4 are -20 / 30 raw per share.
        assert_eq!(c.venues.len(), 2);
        assert_eq!((c.venues[0].id, c.venues[0].name.as_str()), (1, "ALPHA"));
        assert_eq!(c.venues[0].entry_latency_ns, 20_000);
        let alpha = Fees {
            maker_per_qty: -20,
            taker_per_qty: 30,
        };
        assert_eq!(c.venues[0].fees, vec![alpha; 3]);
        assert_eq!(c.venues[1].fees[2].taker_per_qty, 25);

        assert_eq!(c.router.rule, RouteRule::BestPriceThenFee);
        assert!(c.router.split_by_displayed);
        let routed: Vec<_> = c.router.venues.iter().map(|v| v.venue).collect();
        assert_eq!(routed, [1, 2]);
        assert_eq!(c.router.venues[0].fees, c.venues[0].fees);
        assert_eq!(c.oms.max_orders, 65_536);

        let FeedSpec::Synthetic(feed) = &c.feed;
        assert_eq!(feed.seed, 42);
        assert_eq!(feed.duration_ns, 10_000_000_000);
        assert_eq!(
            feed.initial_mid,
            [
                Price::new(1_000_000),
                Price::new(500_000),
                Price::new(200_000)
            ]
        );
        let regimes: Vec<_> = feed.regimes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(regimes, ["calm", "volatile"]);
    }

    #[test]
    fn model_paths_resolve_against_the_config_directory() {
        // The example XGBoost model, named relative to config/.
        let text = with_model(
            "[model]\nkind = \"xgboost\"\nmodel_id = 2\n\
             features = [\"top_imbalance\", \"depth_imbalance\"]\npath = \"models/gbt_reg.json\"\n",
        );
        let origin = config_dir().join("virtual.toml");
        let c = EngineConfig::from_toml_str(&text, &origin.display().to_string()).unwrap();
        assert_eq!(
            c.model.spec,
            ModelSpec::Xgboost {
                path: config_dir().join("models/gbt_reg.json")
            }
        );
    }

    /// [`model_paths_resolve_against_the_config_directory`] for a file loaded from
    /// elsewhere, its model beside it. An ONNX model: a build without the `onnx` feature
    /// refuses the kind (see `config::tests`).
    #[cfg(feature = "onnx")]
    #[test]
    fn model_path_resolves_against_the_loaded_file_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.onnx"), b"not checked at load").unwrap();
        let file = dir.path().join("run.toml");
        std::fs::write(
            &file,
            with_model(
                "[model]\nkind = \"onnx\"\nmodel_id = 3\nfeatures = [\"mid\"]\npath = \"m.onnx\"\n",
            ),
        )
        .unwrap();
        let c = EngineConfig::load(&file).unwrap();
        assert_eq!(
            c.model.spec,
            ModelSpec::Onnx {
                path: dir.path().join("m.onnx")
            }
        );
    }

    #[test]
    fn missing_model_file_names_file_key_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.toml");
        let text = with_model(
            "[model]\nkind = \"xgboost\"\nmodel_id = 2\nfeatures = [\"mid\"]\npath = \"gone.json\"\n",
        );
        let line = 1 + text[..text.find("path = \"gone.json\"").unwrap()]
            .matches('\n')
            .count();
        std::fs::write(&file, text).unwrap();
        let err = EngineConfig::load(&file).unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::MissingFile);
        assert_eq!(
            err.to_string(),
            format!(
                "{}: model.path: no such file: \"gone.json\" (resolved to {:?}) (line {line}, column 8)",
                file.display(),
                dir.path().join("gone.json").display().to_string()
            )
        );
    }

    #[test]
    fn load_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, default_text().replace("seed = 42", "seed = \"42\"")).unwrap();
        let err = EngineConfig::load(&file).unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::WrongType);
        assert_eq!(err.key, "feed.seed");
        assert!(
            err.to_string().starts_with(&format!(
                "{}: feed.seed: invalid type: string \"42\", expected u64 (line ",
                file.display()
            )),
            "{err}"
        );

        // The example in the docs.
        let file = dir.path().join("zero.toml");
        let text = default_text().replace("max_order_qty = \"500\"", "max_order_qty = 0");
        std::fs::write(&file, text).unwrap();
        assert_eq!(
            EngineConfig::load(&file).unwrap_err().to_string(),
            format!(
                "{}: risk.max_order_qty: must be positive, got 0 (line 98, column 17)",
                file.display()
            )
        );

        let err = EngineConfig::load(dir.path().join("absent.toml")).unwrap_err();
        assert_eq!(err.kind, ConfigErrorKind::Io);
        assert_eq!(err.key, "(file)");
    }
}
