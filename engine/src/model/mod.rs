//! # Inference
//!
//! The [`Model`] trait maps a feature vector to one number (a predicted return, a
//! probability, …) that the strategy acts on. Three kinds exist:
//!
//! - [`LinearModel`]: `link(bias + Σ wᵢ·xᵢ)` with an identity or logistic [`Link`]; weights
//!   come from config.
//! - [`GbtModel`]: gradient-boosted trees loaded from an **XGBoost JSON model** (the file
//!   `Booster.save_model("m.json")` writes), objectives `reg:squarederror` and
//!   `binary:logistic`.
//! - [`OnnxModel`]: an **ONNX model** run with `tract-onnx`: one `f32 [1, n_features]` input,
//!   one value out, typed and optimised at load. Unlike the other two it **allocates** on
//!   every call and costs microseconds, not nanoseconds (see [`OnnxModel`] for the
//!   measured numbers). Needs the `onnx` feature (on by default): without it
//!   [`OnnxModel::load`] fails with [`ModelError::FeatureDisabled`], and a config asking
//!   for an ONNX model is refused at load.
//!
//! ## Contract
//!
//! - **Feature order** is fixed by the caller: `features[i]` is the i-th feature the model
//!   was trained on. A model config lists feature names in order; [`resolve_features`] maps
//!   them to [`FeatureKind`]s once, at load, so the hot path only indexes.
//! - **Deterministic**: [`Model::predict`] is a pure function of the loaded model and
//!   `features`. Linear and tree models read owned, flat arrays built at load and
//!   **allocate nothing per call**; an ONNX model allocates (tract's run state and
//!   intermediate tensors: 33 allocations per call for the example MLP).
//! - **Never panics**: a slice shorter than [`Model::n_features`] is read as if the absent
//!   entries were missing (NaN for trees, 0 for linear and ONNX models); extra entries are
//!   ignored. NaN is XGBoost's "missing" for trees (the node's `default_left` branch); a
//!   linear model propagates NaN; an ONNX model gets the NaN as it is (the example MLP
//!   propagates it). For finite input the output of a linear or tree model is finite (a
//!   linear model with identity link can still overflow to ±∞ for astronomically large
//!   inputs). An ONNX model returns NaN if tract fails a run, and counts it
//!   ([`OnnxModel::run_errors`]).
//! - **Bad model files** give a [`ModelError`] naming the file and the problem (the JSON path
//!   for XGBoost files, the reason for ONNX files), never a panic.
//!
//! The example models, the Python scripts that made them and the predictions the reference
//! implementations computed live in `config/models/`; the tests here reproduce those
//! predictions, within 1e-6 for XGBoost and within 1e-5 for onnxruntime.

mod gbt;
mod linear;
#[cfg(feature = "onnx")]
mod onnx;
#[cfg(not(feature = "onnx"))]
mod onnx_disabled;

pub use gbt::{GbtModel, MAX_TREE_DEPTH};
pub use linear::{LinearModel, Link};
#[cfg(feature = "onnx")]
pub use onnx::OnnxModel;
#[cfg(not(feature = "onnx"))]
pub use onnx_disabled::OnnxModel;

use crate::features::FeatureKind;

/// A loaded model: features in, one prediction out.
///
/// Implementations are deterministic; [`LinearModel`] and [`GbtModel`] do not allocate in
/// [`Model::predict`], [`OnnxModel`] does.
pub trait Model {
    /// How many features the model reads, in the caller's fixed order.
    fn n_features(&self) -> usize;

    /// The prediction for `features` (see the [module docs](self) for missing values, short
    /// slices and NaN). Deterministic, never panics; allocation-free except for ONNX models.
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
    #[error("{file}: ONNX: {reason}")]
    Onnx { file: String, reason: String },
    #[error("{file}: ONNX: the input is {found} features wide, expected {expected}")]
    OnnxInputWidth {
        file: String,
        expected: usize,
        found: usize,
    },
    /// The model kind needs a Cargo feature this build was made without.
    #[error("{file}: {}", feature_disabled_reason(.kind, .feature))]
    FeatureDisabled {
        file: String,
        /// The model kind, as `[model] kind` names it.
        kind: &'static str,
        /// The Cargo feature it needs.
        feature: &'static str,
    },
}

/// Why a model `kind` is refused by a build without `feature`; the config's error for
/// `[model] kind` says the same.
pub(crate) fn feature_disabled_reason(kind: &str, feature: &str) -> String {
    format!("model kind {kind:?} needs the `{feature}` feature; this binary was built without it")
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
