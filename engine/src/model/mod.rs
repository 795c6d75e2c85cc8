//! # Inference
//!
//! The [`Model`] trait maps a feature vector to one number (a predicted return, a
//! probability, …) that the strategy acts on. Two kinds exist so far:
//!
//! - [`LinearModel`]: `link(bias + Σ wᵢ·xᵢ)` with an identity or logistic [`Link`]; weights
//!   come from config.
//! - [`GbtModel`]: gradient-boosted trees loaded from an **XGBoost JSON model** (the file
//!   `Booster.save_model("m.json")` writes), objectives `reg:squarederror` and
//!   `binary:logistic`.
//!
//! ONNX models run with `tract-onnx` are **not** here yet: they are the third kind asked for
//! by issue 3 and arrive in a later change.
//!
//! ## Contract
//!
//! - **Feature order** is fixed by the caller: `features[i]` is the i-th feature the model
//!   was trained on. A model config lists feature names in order; [`resolve_features`] maps
//!   them to [`FeatureKind`]s once, at load, so the hot path only indexes.
//! - **Deterministic and allocation-free**: [`Model::predict`] is a pure function of the
//!   loaded model and `features`; it reads owned, flat arrays built at load and allocates
//!   nothing per call.
//! - **Never panics**: a slice shorter than [`Model::n_features`] is read as if the absent
//!   entries were missing (NaN for trees, 0 for linear models); extra entries are ignored.
//!   NaN is XGBoost's "missing" for trees (the node's `default_left` branch); a linear model
//!   propagates NaN. For finite input the output is finite (a linear model with identity
//!   link can still overflow to ±∞ for astronomically large inputs).
//! - **Bad model files** give a [`ModelError`] naming the file and the JSON path of the
//!   problem, never a panic.
//!
//! The example models, the Python script that made them and the predictions it printed live
//! in `config/models/`; the tests here reproduce those predictions within 1e-6.

mod gbt;
mod linear;

pub use gbt::{GbtModel, MAX_TREE_DEPTH};
pub use linear::{LinearModel, Link};

use crate::features::FeatureKind;

/// A loaded model: features in, one prediction out.
///
/// Implementations are deterministic and do not allocate in [`Model::predict`].
pub trait Model {
    /// How many features the model reads, in the caller's fixed order.
    fn n_features(&self) -> usize;

    /// The prediction for `features` (see the [module docs](self) for missing values, short
    /// slices and NaN). Deterministic, allocation-free, never panics.
    fn predict(&self, features: &[f64]) -> f64;
}

/// Why a model could not be built or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("linear model: weight {index} is not finite ({value})")]
    NonFiniteWeight { index: usize, value: f64 },
    #[error("linear model: bias is not finite ({0})")]
    NonFiniteBias(f64),
    #[error("unknown feature name {name:?} at position {index}")]
    UnknownFeature { index: usize, name: String },
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not valid JSON: {source}")]
    Json {
        file: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{file}: {path}: missing")]
    Missing { file: String, path: String },
    #[error("{file}: {path}: expected {expected}")]
    WrongType {
        file: String,
        path: String,
        expected: &'static str,
    },
    #[error("{file}: {path}: length {found}, expected {expected} (the tree's node count)")]
    LengthMismatch {
        file: String,
        path: String,
        expected: usize,
        found: usize,
    },
    #[error("{file}: {path}: child index {index} out of range (tree has {len} nodes)")]
    ChildOutOfRange {
        file: String,
        path: String,
        index: i64,
        len: usize,
    },
    #[error(
        "{file}: {path}: feature index {index} out of range (model has {n_features} features)"
    )]
    FeatureOutOfRange {
        file: String,
        path: String,
        index: i64,
        n_features: usize,
    },
    #[error("{file}: {path}: node reached twice (cycle or shared child)")]
    Cycle { file: String, path: String },
    #[error("{file}: {path}: tree deeper than {max}")]
    TooDeep {
        file: String,
        path: String,
        max: usize,
    },
    #[error("{file}: {path}: not finite")]
    NonFinite { file: String, path: String },
    #[error(
        "{file}: learner.objective.name: unsupported objective {name:?} \
         (supported: reg:squarederror, binary:logistic)"
    )]
    UnsupportedObjective { file: String, name: String },
    #[error("{file}: {path}: unsupported: {what}")]
    Unsupported {
        file: String,
        path: String,
        what: String,
    },
}

/// Map a model config's ordered feature names to [`FeatureKind`]s (see
/// [`FeatureKind::name`]); the result is the order to fill `features` in.
pub fn resolve_features<S: AsRef<str>>(names: &[S]) -> Result<Vec<FeatureKind>, ModelError> {
    names
        .iter()
        .enumerate()
        .map(|(index, name)| {
            FeatureKind::from_name(name.as_ref()).ok_or_else(|| ModelError::UnknownFeature {
                index,
                name: name.as_ref().to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_feature_names_in_order() {
        let kinds = resolve_features(&["spread", "mid"]).unwrap();
        assert_eq!(kinds, vec![FeatureKind::Spread, FeatureKind::Mid]);
        let err = resolve_features(&["mid", "nope"]).unwrap_err();
        assert!(
            matches!(err, ModelError::UnknownFeature { index: 1, .. }),
            "{err}"
        );
    }
}
