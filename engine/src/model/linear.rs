//! Linear and logistic models: `link(bias + Σ wᵢ·xᵢ)`.

use super::{Model, ModelError};

/// The function applied to a model's raw score (margin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// The score itself (regression).
    #[default]
    Identity,
    /// `1 / (1 + e^-x)`, a probability in [0, 1].
    Logistic,
}

impl Link {
    /// The config name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Logistic => "logistic",
        }
    }

    /// Apply the link to a margin. NaN stays NaN.
    #[inline]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Self::Identity => x,
            Self::Logistic => sigmoid(x),
        }
    }
}

/// `1 / (1 + e^-x)` without overflow: `e^x` is only taken of a non-positive number.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `link(bias + Σ wᵢ·xᵢ)` over `weights.len()` features.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    weights: Vec<f64>,
    bias: f64,
    link: Link,
}

impl LinearModel {
    /// A model with these weights (one per feature, in feature order), bias and link.
    /// Every weight and the bias must be finite.
    pub fn new(weights: Vec<f64>, bias: f64, link: Link) -> Result<Self, ModelError> {
        if let Some((index, &value)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite()) {
            return Err(ModelError::NonFiniteWeight { index, value });
        }
        if !bias.is_finite() {
            return Err(ModelError::NonFiniteBias(bias));
        }
        Ok(Self {
            weights,
            bias,
            link,
        })
    }

    /// The weights, in feature order.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The bias (intercept).
    pub fn bias(&self) -> f64 {
        self.bias
    }

    /// The link.
    pub fn link(&self) -> Link {
        self.link
    }

    /// `bias + Σ wᵢ·xᵢ`, before the link. Absent trailing features count as 0.
    #[inline]
    pub fn margin(&self, features: &[f64]) -> f64 {
        self.weights
            .iter()
            .zip(features)
            .fold(self.bias, |acc, (w, x)| acc + w * x)
    }
}

impl Model for LinearModel {
    fn n_features(&self) -> usize {
        self.weights.len()
    }

    #[inline]
    fn predict(&self, features: &[f64]) -> f64 {
        self.link.apply(self.margin(features))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_exact() {
        let m = LinearModel::new(vec![0.5, -2.0, 0.25], 1.0, Link::Identity).unwrap();
        assert_eq!(m.n_features(), 3);
        assert_eq!(m.predict(&[2.0, 1.0, 4.0]), 1.0 + 1.0 - 2.0 + 1.0);
        assert_eq!(m.predict(&[0.0, 0.0, 0.0]), 1.0);
        // Short slice: absent features count as 0; extras are ignored.
        assert_eq!(m.predict(&[2.0]), 2.0);
        assert_eq!(m.predict(&[2.0, 1.0, 4.0, 99.0]), 1.0);
    }

    #[test]
    fn logistic_values() {
        let m = LinearModel::new(vec![1.0, 1.0], 0.0, Link::Logistic).unwrap();
        assert_eq!(m.predict(&[0.0, 0.0]), 0.5);
        let p = m.predict(&[1.0, 1.0]);
        assert!((p - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-15, "{p}");
        assert!((p - 0.880_797_077_977_882_3).abs() < 1e-15, "{p}");
        let q = m.predict(&[-1.0, -1.0]);
        assert!((p + q - 1.0).abs() < 1e-15);
        // Stable at the extremes: no NaN from inf/inf.
        assert_eq!(m.predict(&[1e308, 1e308]), 1.0);
        assert_eq!(m.predict(&[-1e308, -1e308]), 0.0);
        assert_eq!(m.predict(&[-800.0, 0.0]), 0.0);
        assert!(m.predict(&[f64::NAN, 0.0]).is_nan());
    }

    #[test]
    fn rejects_non_finite_weights() {
        let err = LinearModel::new(vec![1.0, f64::NAN], 0.0, Link::Identity).unwrap_err();
        assert!(
            matches!(err, ModelError::NonFiniteWeight { index: 1, .. }),
            "{err}"
        );
        let err = LinearModel::new(vec![f64::INFINITY], 0.0, Link::Identity).unwrap_err();
        assert!(
            matches!(err, ModelError::NonFiniteWeight { index: 0, .. }),
            "{err}"
        );
        let err = LinearModel::new(vec![], f64::NEG_INFINITY, Link::Logistic).unwrap_err();
        assert!(matches!(err, ModelError::NonFiniteBias(_)), "{err}");
    }

    #[test]
    fn link_deserializes_from_snake_case() {
        let l: Link = serde_json::from_str("\"logistic\"").unwrap();
        assert_eq!(l, Link::Logistic);
        let l: Link = serde_json::from_str("\"identity\"").unwrap();
        assert_eq!(l, Link::Identity);
    }
}
