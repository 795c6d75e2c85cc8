//! [`OnnxModel`] in a build without the `onnx` feature (no tract-onnx).
//!
//! The type exists so that code building a model from a
//! [`ModelSpec::Onnx`](crate::config::ModelSpec::Onnx) compiles either way, but it has no
//! values: [`OnnxModel::load`] always fails with [`ModelError::FeatureDisabled`]. A config
//! file asking for an ONNX model is refused earlier, when it is loaded.

use std::path::Path;

use super::{Model, ModelError};

/// An ONNX model in a build without the `onnx` feature: never loaded, so never a value.
#[derive(Debug)]
pub enum OnnxModel {}

impl OnnxModel {
    /// Always [`ModelError::FeatureDisabled`] naming `path`: this build cannot run ONNX
    /// models.
    pub fn load(path: impl AsRef<Path>, n_features: usize) -> Result<Self, ModelError> {
        let _ = n_features;
        Err(ModelError::FeatureDisabled {
            file: path.as_ref().display().to_string(),
            kind: "onnx",
            feature: "onnx",
        })
    }
}

impl Model for OnnxModel {
    fn n_features(&self) -> usize {
        match *self {}
    }

    fn predict(&self, _features: &[f64]) -> f64 {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_names_the_file_and_the_missing_feature() {
        let err = OnnxModel::load("models/mlp.onnx", 4).unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::FeatureDisabled {
                    kind: "onnx",
                    feature: "onnx",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "models/mlp.onnx: model kind \"onnx\" needs the `onnx` feature; this binary was \
             built without it"
        );
    }
}
