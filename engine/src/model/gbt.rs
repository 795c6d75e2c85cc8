//! Gradient-boosted trees from an XGBoost JSON model (`Booster.save_model("m.json")`).
//!
//! What is read, under `learner`:
//!
//! - `objective.name`: `reg:squarederror` (identity) or `binary:logistic` (sigmoid of the
//!   margin); anything else is [`ModelError::UnsupportedObjective`].
//! - `learner_model_param.base_score`: a string, `"5E-1"` (XGBoost 1.x/2.x) or `"[5E-1]"`
//!   (3.x). It is in **output** space: for `binary:logistic` it is a probability and the
//!   margin starts at `logit(base_score)`, as XGBoost's `ProbToMargin` does.
//!   `learner_model_param.num_feature` bounds the split indices; `num_class` and
//!   `num_target` above 1 are unsupported.
//! - `gradient_booster` (`name` = `gbtree`; `dart` is unsupported) `.model.trees[*]`: the
//!   parallel arrays `left_children`, `right_children`, `split_indices`, `split_conditions`,
//!   `default_left` and `base_weights` (all of the tree's length), and `split_type` if
//!   present (categorical splits are unsupported). A node is a leaf when its left child is
//!   `-1`; a leaf's value is its `split_conditions` entry (learning rate already applied).
//!
//! Prediction follows XGBoost: at a split, go left if `x < split_condition` compared in
//! `f32` (XGBoost stores inputs and thresholds as `f32`), and a missing value (NaN) goes to
//! the `default_left` side. The margin is `base_margin + Σ leaf`, then the objective's link.
//!
//! At load every tree is checked to be a tree: children in range, every node reached from
//! the root at most once (no cycles, no sharing), depth at most [`MAX_TREE_DEPTH`]. So the
//! walk in [`Model::predict`] always ends at a leaf within that many steps.

use std::path::Path;

use serde_json::Value;

use super::linear::Link;
use super::{Model, ModelError};

/// The deepest tree accepted at load (root at depth 0).
pub const MAX_TREE_DEPTH: usize = 64;

/// Marks a leaf in [`Node::left`].
const LEAF: u32 = u32::MAX;

/// One node, flattened; children index the model-wide node array.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Node {
    /// Left child, or [`LEAF`].
    left: u32,
    right: u32,
    feature: u32,
    /// The split threshold (internal node) or the leaf value.
    value: f32,
    default_left: bool,
}

/// An XGBoost gradient-boosted tree ensemble, owned and flat.
#[derive(Debug, Clone, PartialEq)]
pub struct GbtModel {
    nodes: Vec<Node>,
    /// Index of each tree's root in `nodes`.
    roots: Vec<u32>,
    n_features: usize,
    base_margin: f64,
    link: Link,
}

impl GbtModel {
    /// Load an XGBoost JSON model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_json_str(&text, &file)
    }

    /// Parse an XGBoost JSON model from `text`; `origin` names it in errors (a file name).
    pub fn from_json_str(text: &str, origin: &str) -> Result<Self, ModelError> {
        let root: Value = serde_json::from_str(text).map_err(|source| ModelError::Json {
            file: origin.to_owned(),
            source,
        })?;
        Parser { file: origin }.model(&root)
    }

    /// The number of trees.
    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// The link applied to the margin (from the objective).
    pub fn link(&self) -> Link {
        self.link
    }

    /// The margin before any tree (`base_score` in margin space).
    pub fn base_margin(&self) -> f64 {
        self.base_margin
    }

    /// `base_margin + Σ leaf value`, before the link.
    pub fn margin(&self, features: &[f64]) -> f64 {
        let mut sum = self.base_margin;
        for &root in &self.roots {
            let mut i = root as usize;
            // Load guarantees a leaf within MAX_TREE_DEPTH steps; the bound is belt and braces.
            for _ in 0..=MAX_TREE_DEPTH {
                let Some(node) = self.nodes.get(i) else { break };
                if node.left == LEAF {
                    sum += f64::from(node.value);
                    break;
                }
                let x = features
                    .get(node.feature as usize)
                    .copied()
                    .unwrap_or(f64::NAN);
                #[allow(clippy::cast_possible_truncation, reason = "XGBoost compares in f32")]
                let go_left = if x.is_nan() {
                    node.default_left
                } else {
                    (x as f32) < node.value
                };
                i = if go_left { node.left } else { node.right } as usize;
            }
        }
        sum
    }
}

impl Model for GbtModel {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict(&self, features: &[f64]) -> f64 {
        self.link.apply(self.margin(features))
    }
}

/// Walks the JSON, naming the file and path of whatever is wrong.
struct Parser<'a> {
    file: &'a str,
}

impl Parser<'_> {
    fn missing(&self, path: &str) -> ModelError {
        ModelError::Missing {
            file: self.file.to_owned(),
            path: path.to_owned(),
        }
    }

    fn wrong(&self, path: &str, expected: &'static str) -> ModelError {
        ModelError::WrongType {
            file: self.file.to_owned(),
            path: path.to_owned(),
            expected,
        }
    }

    fn unsupported(&self, path: &str, what: impl Into<String>) -> ModelError {
        ModelError::Unsupported {
            file: self.file.to_owned(),
            path: path.to_owned(),
            what: what.into(),
        }
    }

    fn get<'v>(&self, v: &'v Value, parent: &str, key: &str) -> Result<&'v Value, ModelError> {
        let path = join(parent, key);
        match v {
            Value::Object(map) => map.get(key).ok_or_else(|| self.missing(&path)),
            _ => Err(self.wrong(parent, "an object")),
        }
    }

    fn str<'v>(&self, v: &'v Value, parent: &str, key: &str) -> Result<&'v str, ModelError> {
        self.get(v, parent, key)?
            .as_str()
            .ok_or_else(|| self.wrong(&join(parent, key), "a string"))
    }

    fn array<'v>(&self, v: &'v Value, parent: &str, key: &str) -> Result<&'v [Value], ModelError> {
        self.get(v, parent, key)?
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| self.wrong(&join(parent, key), "an array"))
    }

    /// An integer parameter, written by XGBoost as a string ("4") or a number.
    fn int_param(&self, v: &Value, parent: &str, key: &str) -> Result<i64, ModelError> {
        let path = join(parent, key);
        match self.get(v, parent, key)? {
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map_err(|_| self.wrong(&path, "an integer")),
            Value::Number(n) => n.as_i64().ok_or_else(|| self.wrong(&path, "an integer")),
            _ => Err(self.wrong(&path, "an integer")),
        }
    }

    /// An array of the given length, its elements read by `elem`.
    fn column<T>(
        &self,
        tree: &Value,
        parent: &str,
        key: &str,
        len: usize,
        elem: impl Fn(&Value) -> Option<T>,
        expected: &'static str,
    ) -> Result<Vec<T>, ModelError> {
        let path = join(parent, key);
        let items = self.array(tree, parent, key)?;
        if items.len() != len {
            return Err(ModelError::LengthMismatch {
                file: self.file.to_owned(),
                path,
                expected: len,
                found: items.len(),
            });
        }
        items
            .iter()
            .enumerate()
            .map(|(i, v)| elem(v).ok_or_else(|| self.wrong(&format!("{path}[{i}]"), expected)))
            .collect()
    }

    fn model(&self, root: &Value) -> Result<GbtModel, ModelError> {
        let learner = self.get(root, "", "learner")?;
        let lp = "learner";

        let objective = self.get(learner, lp, "objective")?;
        let name = self.str(objective, "learner.objective", "name")?;
        let link = match name {
            "reg:squarederror" => Link::Identity,
            "binary:logistic" => Link::Logistic,
            other => {
                return Err(ModelError::UnsupportedObjective {
                    file: self.file.to_owned(),
                    name: other.to_owned(),
                })
            }
        };

        let mpp = "learner.learner_model_param";
        let mp = self.get(learner, lp, "learner_model_param")?;
        let n_features = self.int_param(mp, mpp, "num_feature")?;
        let n_features = usize::try_from(n_features)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| self.wrong(&join(mpp, "num_feature"), "a positive integer"))?;
        for key in ["num_class", "num_target"] {
            // Optional: absent means one output.
            if self.get(mp, mpp, key).is_ok() && self.int_param(mp, mpp, key)? > 1 {
                return Err(self.unsupported(&join(mpp, key), "more than one output"));
            }
        }
        let base_score = self.base_score(mp, mpp)?;
        let base_margin = match link {
            Link::Identity => base_score,
            Link::Logistic => {
                if !(base_score > 0.0 && base_score < 1.0) {
                    return Err(self.wrong(
                        &join(mpp, "base_score"),
                        "a probability in (0, 1) for binary:logistic",
                    ));
                }
                (base_score / (1.0 - base_score)).ln()
            }
        };

        let gbp = "learner.gradient_booster";
        let gb = self.get(learner, lp, "gradient_booster")?;
        let booster = self.str(gb, gbp, "name")?;
        if booster != "gbtree" {
            return Err(self.unsupported(&join(gbp, "name"), format!("booster {booster:?}")));
        }
        let model = self.get(gb, gbp, "model")?;
        let trees = self.array(model, "learner.gradient_booster.model", "trees")?;
        if trees.is_empty() {
            return Err(self.wrong("learner.gradient_booster.model.trees", "at least one tree"));
        }

        let mut nodes = Vec::new();
        let mut roots = Vec::with_capacity(trees.len());
        for (t, tree) in trees.iter().enumerate() {
            let path = format!("learner.gradient_booster.model.trees[{t}]");
            let offset = nodes.len();
            self.tree(tree, &path, n_features, &mut nodes)?;
            let root = u32::try_from(offset)
                .map_err(|_| self.unsupported(&path, "more than 2^32 nodes in all"))?;
            roots.push(root);
        }
        if u32::try_from(nodes.len()).is_err() {
            return Err(self.unsupported(gbp, "more than 2^32 nodes in all"));
        }
        Ok(GbtModel {
            nodes,
            roots,
            n_features,
            base_margin,
            link,
        })
    }

    /// `base_score`: "5E-1", "[5E-1]" or a number; in output space, finite.
    fn base_score(&self, mp: &Value, mpp: &str) -> Result<f64, ModelError> {
        let path = join(mpp, "base_score");
        let v = match self.get(mp, mpp, "base_score")? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => {
                let s = s.trim();
                let inner = s
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                    .unwrap_or(s);
                if inner.contains(',') {
                    return Err(self.unsupported(&path, "a vector base_score (multi-output)"));
                }
                inner.trim().parse::<f64>().ok()
            }
            _ => None,
        };
        match v {
            Some(x) if x.is_finite() => Ok(x),
            Some(_) => Err(ModelError::NonFinite {
                file: self.file.to_owned(),
                path,
            }),
            None => Err(self.wrong(&path, "a number or a numeric string")),
        }
    }

    /// Append one tree's nodes to `out`, children rebased to `out`'s indices, after checking
    /// it is a well-formed tree.
    fn tree(
        &self,
        tree: &Value,
        path: &str,
        n_features: usize,
        out: &mut Vec<Node>,
    ) -> Result<(), ModelError> {
        let left = self.array(tree, path, "left_children")?;
        let len = left.len();
        if len == 0 {
            return Err(self.wrong(&join(path, "left_children"), "at least one node"));
        }
        let int = |v: &Value| v.as_i64();
        let left = self.column(tree, path, "left_children", len, int, "an integer")?;
        let right = self.column(tree, path, "right_children", len, int, "an integer")?;
        let split_indices = self.column(tree, path, "split_indices", len, int, "an integer")?;
        let conditions = self.column(
            tree,
            path,
            "split_conditions",
            len,
            Value::as_f64,
            "a number",
        )?;
        let default_left = self.column(
            tree,
            path,
            "default_left",
            len,
            |v| match v {
                Value::Bool(b) => Some(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(0) => Some(false),
                    Some(1) => Some(true),
                    _ => None,
                },
                _ => None,
            },
            "0, 1 or a boolean",
        )?;
        // Not used for prediction (leaf values are in split_conditions), but part of the
        // format: check it is there and consistent.
        self.column(tree, path, "base_weights", len, Value::as_f64, "a number")?;
        if let Ok(Value::Array(_)) = self.get(tree, path, "split_type") {
            let types = self.column(tree, path, "split_type", len, int, "an integer")?;
            if let Some(i) = types.iter().position(|&t| t != 0) {
                return Err(
                    self.unsupported(&format!("{path}.split_type[{i}]"), "categorical split")
                );
            }
        }

        let base = out.len();
        let mut seen = vec![false; len];
        // (node, depth) stack: a depth-first walk from the root.
        let mut stack = vec![(0usize, 0usize)];
        seen[0] = true;
        let mut tree_nodes = vec![None; len];
        while let Some((i, depth)) = stack.pop() {
            if depth > MAX_TREE_DEPTH {
                return Err(ModelError::TooDeep {
                    file: self.file.to_owned(),
                    path: format!("{path}.left_children[{i}]"),
                    max: MAX_TREE_DEPTH,
                });
            }
            let value = conditions[i];
            #[allow(clippy::cast_possible_truncation, reason = "XGBoost stores f32")]
            let value32 = value as f32;
            if !value32.is_finite() {
                return Err(ModelError::NonFinite {
                    file: self.file.to_owned(),
                    path: format!("{path}.split_conditions[{i}]"),
                });
            }
            if left[i] == -1 {
                if right[i] != -1 {
                    return Err(ModelError::ChildOutOfRange {
                        file: self.file.to_owned(),
                        path: format!("{path}.right_children[{i}]"),
                        index: right[i],
                        len,
                    });
                }
                tree_nodes[i] = Some(Node {
                    left: LEAF,
                    right: LEAF,
                    feature: 0,
                    value: value32,
                    default_left: false,
                });
                continue;
            }
            let mut child = |key: &str, c: i64| -> Result<u32, ModelError> {
                let idx = usize::try_from(c)
                    .ok()
                    .filter(|&c| c > 0 && c < len)
                    .ok_or_else(|| ModelError::ChildOutOfRange {
                        file: self.file.to_owned(),
                        path: format!("{path}.{key}[{i}]"),
                        index: c,
                        len,
                    })?;
                if seen[idx] {
                    return Err(ModelError::Cycle {
                        file: self.file.to_owned(),
                        path: format!("{path}.{key}[{i}]"),
                    });
                }
                seen[idx] = true;
                stack.push((idx, depth + 1));
                u32::try_from(base + idx)
                    .map_err(|_| self.unsupported(path, "more than 2^32 nodes in all"))
            };
            let l = child("left_children", left[i])?;
            let r = child("right_children", right[i])?;
            let feature = usize::try_from(split_indices[i])
                .ok()
                .filter(|&f| f < n_features)
                .ok_or_else(|| ModelError::FeatureOutOfRange {
                    file: self.file.to_owned(),
                    path: format!("{path}.split_indices[{i}]"),
                    index: split_indices[i],
                    n_features,
                })?;
            tree_nodes[i] = Some(Node {
                left: l,
                right: r,
                feature: u32::try_from(feature)
                    .map_err(|_| self.unsupported(path, "feature index above 2^32"))?,
                value: value32,
                default_left: default_left[i],
            });
        }
        // Nodes not reachable from the root (XGBoost's deleted nodes) become inert leaves so
        // indices stay those of the file.
        out.extend(tree_nodes.into_iter().map(|n| {
            n.unwrap_or(Node {
                left: LEAF,
                right: LEAF,
                feature: 0,
                value: 0.0,
                default_left: false,
            })
        }));
        Ok(())
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn models_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/models")
    }

    fn expected() -> Value {
        let text = std::fs::read_to_string(models_dir().join("gbt_expected.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn rows(exp: &Value) -> Vec<Vec<f64>> {
        exp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect()
    }

    fn check_against_xgboost(name: &str, link: Link) {
        let model = GbtModel::load(models_dir().join(format!("{name}.json"))).unwrap();
        assert_eq!(model.n_features(), 4);
        assert_eq!(model.n_trees(), 5);
        assert_eq!(model.link(), link);
        let exp = expected();
        let want: Vec<f64> = exp[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let rows = rows(&exp);
        assert_eq!(rows.len(), want.len());
        assert!(rows.iter().any(|r| r.iter().any(|x| x.is_nan())));
        for (row, want) in rows.iter().zip(&want) {
            let got = model.predict(row);
            assert!(
                (got - want).abs() < 1e-6,
                "{name}: row {row:?}: got {got}, xgboost {} printed {want}",
                exp["xgboost_version"]
            );
        }
    }

    #[test]
    fn regression_matches_xgboost() {
        check_against_xgboost("gbt_reg", Link::Identity);
    }

    #[test]
    fn logistic_matches_xgboost() {
        check_against_xgboost("gbt_logistic", Link::Logistic);
    }

    fn reg_text() -> String {
        std::fs::read_to_string(models_dir().join("gbt_reg.json")).unwrap()
    }

    /// The regression model with `edit` applied to its JSON, then parsed.
    fn edited(edit: impl FnOnce(&mut Value)) -> Result<GbtModel, ModelError> {
        let mut v: Value = serde_json::from_str(&reg_text()).unwrap();
        edit(&mut v);
        GbtModel::from_json_str(&v.to_string(), "edited.json")
    }

    fn tree0(v: &mut Value) -> &mut Value {
        &mut v["learner"]["gradient_booster"]["model"]["trees"][0]
    }

    #[test]
    fn truncated_file_is_a_json_error() {
        let text = reg_text();
        let err = GbtModel::from_json_str(&text[..text.len() / 2], "trunc.json").unwrap_err();
        assert!(matches!(err, ModelError::Json { .. }), "{err}");
        assert!(
            err.to_string().starts_with("trunc.json: not valid JSON"),
            "{err}"
        );
        let err = GbtModel::from_json_str("", "empty.json").unwrap_err();
        assert!(matches!(err, ModelError::Json { .. }), "{err}");
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let err = GbtModel::load(models_dir().join("no_such_model.json")).unwrap_err();
        assert!(matches!(err, ModelError::Io { .. }), "{err}");
        assert!(err.to_string().contains("no_such_model.json"), "{err}");
    }

    #[test]
    fn wrong_child_index_is_named() {
        let err = edited(|v| tree0(v)["left_children"][0] = 999.into()).unwrap_err();
        assert!(
            matches!(err, ModelError::ChildOutOfRange { index: 999, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "edited.json: learner.gradient_booster.model.trees[0].left_children[0]: \
             child index 999 out of range (tree has 15 nodes)"
        );
        let err = edited(|v| tree0(v)["right_children"][1] = (-5).into()).unwrap_err();
        assert!(
            err.to_string().contains("trees[0].right_children[1]"),
            "{err}"
        );
    }

    #[test]
    fn cycle_is_rejected() {
        // Node 1's left child points back at node 1's sibling subtree root (node 2 is
        // already reached from the root) and at the root itself.
        let err = edited(|v| tree0(v)["left_children"][1] = 2.into()).unwrap_err();
        assert!(matches!(err, ModelError::Cycle { .. }), "{err}");
        let err = edited(|v| tree0(v)["left_children"][1] = 0.into()).unwrap_err();
        assert!(
            matches!(err, ModelError::ChildOutOfRange { index: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn too_deep_is_rejected() {
        // A chain 0 → 1 → … → 70 (left), each right child a leaf 71.. .
        let n = 70;
        let total = 2 * n + 1;
        let mut left = vec![-1i64; total];
        let mut right = vec![-1i64; total];
        for i in 0..n {
            left[i] = if i + 1 < n {
                (i + 1) as i64
            } else {
                (n + n) as i64
            };
            right[i] = (n + i) as i64;
        }
        let err = edited(|v| {
            let t = tree0(v);
            t["left_children"] = left.into();
            t["right_children"] = right.into();
            t["split_indices"] = vec![0; total].into();
            t["split_conditions"] = vec![0.5; total].into();
            t["default_left"] = vec![0; total].into();
            t["base_weights"] = vec![0.5; total].into();
            t["split_type"] = vec![0; total].into();
        })
        .unwrap_err();
        assert!(matches!(err, ModelError::TooDeep { max: 64, .. }), "{err}");
    }

    #[test]
    fn missing_field_is_named() {
        let err = edited(|v| {
            tree0(v).as_object_mut().unwrap().remove("split_conditions");
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "edited.json: learner.gradient_booster.model.trees[0].split_conditions: missing"
        );
        let err = edited(|v| {
            v["learner"]["learner_model_param"]
                .as_object_mut()
                .unwrap()
                .remove("base_score");
        })
        .unwrap_err();
        assert!(matches!(err, ModelError::Missing { .. }), "{err}");
        assert!(err
            .to_string()
            .contains("learner.learner_model_param.base_score"));
        let err = edited(|v| v["learner"] = Value::Null).unwrap_err();
        assert!(matches!(err, ModelError::WrongType { .. }), "{err}");
    }

    #[test]
    fn length_mismatch_is_named() {
        let err = edited(|v| {
            tree0(v)["default_left"].as_array_mut().unwrap().pop();
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                ModelError::LengthMismatch {
                    expected: 15,
                    found: 14,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("trees[0].default_left"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = edited(|v| tree0(v)["split_indices"][0] = 4.into()).unwrap_err();
        assert!(
            matches!(err, ModelError::FeatureOutOfRange { index: 4, .. }),
            "{err}"
        );
        let err = edited(|v| tree0(v)["split_conditions"][3] = "x".into()).unwrap_err();
        assert!(
            err.to_string()
                .contains("split_conditions[3]: expected a number"),
            "{err}"
        );
        let err = edited(|v| tree0(v)["split_conditions"][3] = 1e300.into()).unwrap_err();
        assert!(matches!(err, ModelError::NonFinite { .. }), "{err}");
        let err = edited(|v| tree0(v)["split_type"][0] = 1.into()).unwrap_err();
        assert!(err.to_string().contains("categorical"), "{err}");
    }

    #[test]
    fn unsupported_objective_is_named() {
        let err =
            edited(|v| v["learner"]["objective"]["name"] = "multi:softprob".into()).unwrap_err();
        assert!(
            matches!(&err, ModelError::UnsupportedObjective { name, .. } if name == "multi:softprob"),
            "{err}"
        );
        assert!(err.to_string().contains("learner.objective.name"), "{err}");
        let err = edited(|v| v["learner"]["gradient_booster"]["name"] = "dart".into()).unwrap_err();
        assert!(matches!(err, ModelError::Unsupported { .. }), "{err}");
    }

    #[test]
    fn base_score_forms() {
        // XGBoost < 3 writes a plain string; the value is the same.
        let m =
            edited(|v| v["learner"]["learner_model_param"]["base_score"] = "0.25".into()).unwrap();
        assert_eq!(m.base_margin(), 0.25);
        let err = edited(|v| {
            v["learner"]["learner_model_param"]["base_score"] = "[0.1,0.2]".into();
        })
        .unwrap_err();
        assert!(matches!(err, ModelError::Unsupported { .. }), "{err}");
    }

    fn any_feature() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => -5.0f64..5.0,
            1 => any::<f64>(),
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NEG_INFINITY),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_finite_for_finite_input(
            xs in proptest::collection::vec(any_feature(), 0..8),
            finite in proptest::collection::vec(-1e6f64..1e6, 4),
            weights in proptest::collection::vec(-100.0f64..100.0, 4),
        ) {
            let reg = GbtModel::load(models_dir().join("gbt_reg.json")).unwrap();
            let logit = GbtModel::load(models_dir().join("gbt_logistic.json")).unwrap();
            let lin = super::super::LinearModel::new(weights.clone(), 0.5, Link::Identity).unwrap();
            let log = super::super::LinearModel::new(weights, -0.5, Link::Logistic).unwrap();
            // Any input, any length: no panic; trees always give a finite value.
            prop_assert!(reg.predict(&xs).is_finite());
            let p = logit.predict(&xs);
            prop_assert!((0.0..=1.0).contains(&p));
            let _ = lin.predict(&xs);
            let q = log.predict(&xs);
            prop_assert!(q.is_nan() || (0.0..=1.0).contains(&q));
            // Finite input: finite output from every model.
            prop_assert!(reg.predict(&finite).is_finite());
            prop_assert!(logit.predict(&finite).is_finite());
            prop_assert!(lin.predict(&finite).is_finite());
            prop_assert!(log.predict(&finite).is_finite());
        }
    }
}
