//! Building the chain from a validated [`EngineConfig`].

use crate::config::{EngineConfig, ModelConfig, ModelSpec};
use crate::features::FeatureConfigError;
use crate::model::{GbtModel, LinearModel, Model, ModelError, OnnxModel};
use crate::oms::Oms;
use crate::risk::{RiskEngine, RiskLimitsError};
use crate::router::{Router, RouterError};

use super::{BookSizing, OrderStage, SignalStage, TradingChain};

/// Why a chain could not be built from a config that validated (a model file that does not
/// load, mostly). Each names the config file.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The model could not be built or loaded.
    #[error("{file}: model: {source}")]
    Model {
        /// The config file.
        file: String,
        /// Why.
        #[source]
        source: ModelError,
    },
    /// The model reads a different number of features than `[model] features` lists.
    #[error("{file}: model.features: {listed} features listed, the model reads {model}")]
    FeatureCount {
        /// The config file.
        file: String,
        /// Listed in the config.
        listed: usize,
        /// Read by the model.
        model: usize,
    },
    /// Feature parameters refused by the feature engine.
    #[error("{file}: features: {source}")]
    Features {
        /// The config file.
        file: String,
        /// Why.
        #[source]
        source: FeatureConfigError,
    },
    /// Risk limits refused by the risk engine.
    #[error("{file}: risk: {source}")]
    Risk {
        /// The config file.
        file: String,
        /// Why.
        #[source]
        source: RiskLimitsError,
    },
    /// The router refused its venues.
    #[error("{file}: router: {source}")]
    Router {
        /// The config file.
        file: String,
        /// Why.
        #[source]
        source: RouterError,
    },
}

/// Loads or builds the configured model.
pub fn build_model(cfg: &ModelConfig) -> Result<Box<dyn Model + Send>, ModelError> {
    Ok(match &cfg.spec {
        ModelSpec::Linear {
            weights,
            bias,
            link,
        } => Box::new(LinearModel::new(weights.clone(), *bias, *link)?),
        ModelSpec::Xgboost { path } => Box::new(GbtModel::load(path)?),
        ModelSpec::Onnx { path } => Box::new(OnnxModel::load(path, cfg.features.len())?),
    })
}

/// Most outputs one input can cause in a chain built from `cfg`: a kill switch cancels every
/// working order; otherwise a signal and a handful of requests per instrument decision.
pub fn max_outputs_per_event(cfg: &EngineConfig) -> usize {
    let open = usize::try_from(cfg.risk.limits.max_open_orders).unwrap_or(usize::MAX);
    open.saturating_mul(2)
        .saturating_add(8 * cfg.venues.len() + 16)
}

/// The fused chain for `cfg`: [`SignalStage`] then [`OrderStage`], sized by `sizing`.
pub fn build_chain(cfg: &EngineConfig, sizing: BookSizing) -> Result<TradingChain, BuildError> {
    let file = || cfg.file.clone();
    let model = build_model(&cfg.model).map_err(|source| BuildError::Model {
        file: file(),
        source,
    })?;
    if model.n_features() != cfg.model.features.len() {
        return Err(BuildError::FeatureCount {
            file: file(),
            listed: cfg.model.features.len(),
            model: model.n_features(),
        });
    }
    let reference_venue = cfg.router.venues.first().map_or(0, |v| v.venue);
    let signal = SignalStage::new(
        cfg.instruments.clone(),
        reference_venue,
        cfg.features.clone(),
        model,
        cfg.model.model_id,
        cfg.model.features.clone(),
        sizing,
    )
    .map_err(|source| BuildError::Features {
        file: file(),
        source,
    })?;
    let n = cfg.instruments.len();
    let mut risk = RiskEngine::new(cfg.risk.limits, n).map_err(|source| BuildError::Risk {
        file: file(),
        source,
    })?;
    for (spec, limits) in cfg.instruments.iter().zip(cfg.risk.instruments.iter()) {
        risk.set_instrument_limits(spec.id, *limits)
            .map_err(|source| BuildError::Risk {
                file: file(),
                source,
            })?;
    }
    let router = Router::new(cfg.router.clone(), n).map_err(|source| BuildError::Router {
        file: file(),
        source,
    })?;
    let mut orders = OrderStage::new(
        cfg.instruments.clone(),
        cfg.strategy,
        cfg.model.model_id,
        router,
        risk,
        Oms::new(cfg.oms.max_orders, n),
        sizing,
    );
    // The router's table ranks venues; the OMS charges each venue's exact schedules (per
    // unit or basis points of notional, `[[fees]]` overrides applied).
    for venue in &cfg.venues {
        for (spec, schedule) in cfg.instruments.iter().zip(&venue.fee_schedule) {
            orders.oms.set_venue_fees(venue.id, spec.id, *schedule);
        }
    }
    Ok(TradingChain::new(signal, orders, 4))
}
