//! ONNX models, run with `tract-onnx` (0.22).
//!
//! ## Load
//!
//! [`OnnxModel::load`] reads the file, decodes it as an ONNX `ModelProto` and builds tract's
//! graph from it (tensors stored in side files are looked up next to the model). The graph
//! must have exactly one input and one output. Where the file declares the input, it must be
//! `f32`, rank 2 (`[batch, features]`), batch 1 or symbolic and `n_features` wide
//! ([`ModelError::OnnxInputWidth`] otherwise). The input is then fixed to `f32
//! [1, n_features]`, and the model is typed and **optimised at load** (`into_optimized()`,
//! then `into_runnable()`), so the plan that runs is specialised to one row. The output must
//! be one `f32` value (shape `[1, 1]` or `[1]`). Every failure is a [`ModelError`] naming the
//! file ([`ModelError::Io`], [`ModelError::Onnx`] with the reason,
//! [`ModelError::OnnxInputWidth`]), never a panic.
//!
//! ## Predict
//!
//! - Each feature is converted to `f32` (rounded to nearest; a finite value beyond the `f32`
//!   range becomes ±∞). A slice shorter than [`Model::n_features`] is **padded with 0.0**
//!   (not NaN: a network has no notion of "missing"); extra entries are ignored.
//! - **NaN is passed to the model as it is**; what happens to it is the model's business.
//!   Through the example MLP (`Gemm → Relu → Gemm`) it comes out as NaN, as in onnxruntime.
//! - The output `f32` is returned as `f64`.
//! - [`Model::predict`] never panics: a tract run error (not expected: the plan was typed for
//!   exactly this input) gives NaN and is counted in [`OnnxModel::run_errors`].
//!
//! ## Cost: it allocates
//!
//! Unlike [`LinearModel`](super::LinearModel) and [`GbtModel`](super::GbtModel), a call
//! **allocates**: tract builds a run state, the input tensor and every intermediate tensor
//! afresh each time. Measured by `onnx_model_predict_allocation_count` in
//! `engine/tests/no_alloc.rs` for the example 4 → 8 → 1 MLP (8 plan steps after
//! optimisation): **a call allocates 33 times** (the same with and without debug assertions;
//! the test asserts between 1 and 40, to leave room for another CPU's kernel choice). It
//! **costs ~3–3.5 µs** per call on this 2-core VM (a quick loop of 200 000 calls, `ci`
//! profile with debug assertions off; ~5 µs with them on, as `cargo test --profile ci`
//! builds tract, which then checks every step's facts; not measured with LTO). Most of that
//! is tract's per-call bookkeeping, not arithmetic: the XGBoost example in
//! [`GbtModel`](super::GbtModel) takes ~30 ns per call in the same loop. Loading and
//! optimising the example takes ~1 ms.
//!
//! Also measured: keeping one tract `SimpleState` and reusing its input tensor, with a
//! `predict(&mut self)` trait, allocates 25 times per call and was ~15–20 % faster in a
//! noisy side-by-side run (2.6–4.0 µs against 3.2–4.7 µs). Not taken: `SimpleState` holds
//! `Rc`s and so is not `Send`, and the pipeline moves models to their stage's thread as
//! `Box<dyn Model + Send>`. So [`Model::predict`] keeps `&self`, and [`OnnxModel`] is `Send`
//! (not `Sync`: the error counter is a `Cell`).

use std::cell::Cell;
use std::path::Path;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::Onnx;

use super::{Model, ModelError};

/// The optimised execution plan.
type Plan = TypedSimplePlan<TypedModel>;

/// An ONNX model run with `tract-onnx`, typed for one input row `f32 [1, n_features]` and
/// optimised at load.
///
/// - [`OnnxModel::load`] checks the model (one input, `n_features` wide where declared; one
///   `f32` value out) and gives a [`ModelError`] naming the file on any failure.
/// - [`Model::predict`]: features as `f32`, a short slice padded with 0.0, extras ignored,
///   NaN passed to the model as it is; never panics (a tract run error gives NaN and counts
///   in [`OnnxModel::run_errors`]).
/// - **Cost**: unlike the other models a call allocates, 33 times for the example 4 → 8 → 1
///   MLP in `config/models/mlp.onnx`, and takes ~3–3.5 µs on a 2-core VM (~100× the XGBoost
///   example): tract builds a run state and every intermediate tensor per call.
/// - `Send`, not `Sync`.
pub struct OnnxModel {
    file: String,
    n_features: usize,
    plan: Plan,
    run_errors: Cell<u64>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("file", &self.file)
            .field("n_features", &self.n_features)
            .field("nodes", &self.plan.model().nodes().len())
            .field("run_errors", &self.run_errors.get())
            .finish()
    }
}

impl OnnxModel {
    /// Load an ONNX model file that reads `n_features` features: decode it, check it has one
    /// input (`f32`, rank 2, batch 1 or symbolic, `n_features` wide where the file declares
    /// it) and one output, fix the input to `f32 [1, n_features]`, type and optimise it, and
    /// check the output is one `f32` value. Tensors in side files are looked up next to it.
    pub fn load(path: impl AsRef<Path>, n_features: usize) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            file: file.clone(),
            source,
        })?;
        let onnx = tract_onnx::onnx();
        let proto = onnx
            .proto_model_for_read(&mut bytes.as_slice())
            .map_err(|e| onnx_error(&file, format!("not an ONNX model: {e:#}")))?;
        Self::from_proto(
            &onnx,
            &proto,
            path.parent().and_then(Path::to_str),
            &file,
            n_features,
        )
    }

    /// Build from a decoded model; `file` names it in errors, `model_dir` is where side
    /// files (external tensor data) are looked up.
    fn from_proto(
        onnx: &Onnx,
        proto: &ModelProto,
        model_dir: Option<&str>,
        file: &str,
        n_features: usize,
    ) -> Result<Self, ModelError> {
        let err = |reason: String| onnx_error(file, reason);
        if n_features == 0 {
            return Err(err("n_features must be at least 1".to_owned()));
        }
        if proto.graph.is_none() {
            return Err(err("not an ONNX model: no graph".to_owned()));
        }
        let parsed = onnx
            .parse(proto, model_dir)
            .map_err(|e| err(format!("cannot read the graph: {e:#}")))?;
        if !parsed.unresolved_inputs.is_empty() {
            return Err(err(format!(
                "unresolved inputs: {:?}",
                parsed.unresolved_inputs
            )));
        }
        let model = parsed.model;
        if model.inputs.len() != 1 {
            return Err(err(format!(
                "{} inputs, expected exactly one",
                model.inputs.len()
            )));
        }
        if model.outputs.len() != 1 {
            return Err(err(format!(
                "{} outputs, expected exactly one",
                model.outputs.len()
            )));
        }
        check_declared_input(&model, file, n_features)?;
        let typed = model
            .with_input_fact(0, f32::fact([1, n_features]).into())
            .and_then(InferenceModelExt::into_optimized)
            .map_err(|e| {
                err(format!(
                    "cannot type and optimise for input f32 [1, {n_features}]: {e:#}"
                ))
            })?;
        let out = typed
            .output_fact(0)
            .map_err(|e| err(format!("no output: {e:#}")))?;
        if out.datum_type != f32::datum_type()
            || !matches!(out.shape.as_concrete(), Some([1, 1] | [1]))
        {
            return Err(err(format!(
                "the output is {out:?}, expected one f32 value (shape [1, 1] or [1])"
            )));
        }
        let plan = typed
            .into_runnable()
            .map_err(|e| err(format!("cannot plan: {e:#}")))?;
        Ok(Self {
            file: file.to_owned(),
            n_features,
            plan,
            run_errors: Cell::new(0),
        })
    }

    /// How many [`Model::predict`] calls failed inside tract (and returned NaN).
    pub fn run_errors(&self) -> u64 {
        self.run_errors.get()
    }

    /// One run of the plan on `features`, zero-padded or truncated to `n_features`.
    fn run(&self, features: &[f64]) -> TractResult<f64> {
        let mut input = Tensor::zero::<f32>(&[1, self.n_features])?;
        for (dst, &src) in input.as_slice_mut::<f32>()?.iter_mut().zip(features) {
            #[allow(clippy::cast_possible_truncation, reason = "the model reads f32")]
            let x = src as f32;
            *dst = x;
        }
        let outputs = self.plan.run(tvec!(input.into()))?;
        let y = outputs
            .first()
            .ok_or_else(|| TractError::msg("no output"))?
            .as_slice::<f32>()?
            .first()
            .copied()
            .ok_or_else(|| TractError::msg("empty output"))?;
        Ok(f64::from(y))
    }
}

impl Model for OnnxModel {
    fn n_features(&self) -> usize {
        self.n_features
    }

    fn predict(&self, features: &[f64]) -> f64 {
        match self.run(features) {
            Ok(y) => y,
            Err(_) => {
                self.run_errors.set(self.run_errors.get().saturating_add(1));
                f64::NAN
            }
        }
    }
}

fn onnx_error(file: &str, reason: String) -> ModelError {
    ModelError::Onnx {
        file: file.to_owned(),
        reason,
    }
}

/// The input as the file declares it, where it does: f32, rank 2, batch 1 (or symbolic),
/// `n_features` wide. Whatever it leaves open is checked when the model is typed.
fn check_declared_input(
    model: &InferenceModel,
    file: &str,
    n_features: usize,
) -> Result<(), ModelError> {
    let fact = model
        .input_fact(0)
        .map_err(|e| onnx_error(file, format!("no input: {e:#}")))?;
    if let Some(dt) = fact.datum_type.concretize() {
        if dt != f32::datum_type() {
            return Err(onnx_error(
                file,
                format!("the input is {dt:?}, expected f32"),
            ));
        }
    }
    if let Some(rank) = fact.shape.rank().concretize() {
        if rank != 2 {
            return Err(onnx_error(
                file,
                format!("the input has rank {rank}, expected 2 ([batch, features])"),
            ));
        }
    }
    let dim = |i: usize| {
        fact.shape
            .dim(i)
            .and_then(|d| d.concretize())
            .and_then(|d| d.to_i64().ok())
    };
    if let Some(batch) = dim(0) {
        if batch != 1 {
            return Err(onnx_error(
                file,
                format!("the input's batch size is {batch}, expected 1 or symbolic"),
            ));
        }
    }
    if let Some(found) = dim(1) {
        if usize::try_from(found).ok() != Some(n_features) {
            return Err(ModelError::OnnxInputWidth {
                file: file.to_owned(),
                expected: n_features,
                found: usize::try_from(found).unwrap_or(0),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use tract_onnx::pb::tensor_shape_proto::{dimension, Dimension};
    use tract_onnx::pb::{type_proto, TensorProto};

    fn models_dir() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/models")
    }

    fn mlp() -> OnnxModel {
        OnnxModel::load(models_dir().join("mlp.onnx"), 4).unwrap()
    }

    /// The example model decoded, for tests that edit it and build with `from_proto`.
    fn mlp_proto() -> ModelProto {
        tract_onnx::onnx()
            .proto_model_for_path(models_dir().join("mlp.onnx"))
            .unwrap()
    }

    fn build_edited(
        edit: impl FnOnce(&mut ModelProto),
        n_features: usize,
    ) -> Result<OnnxModel, ModelError> {
        let mut proto = mlp_proto();
        edit(&mut proto);
        OnnxModel::from_proto(&tract_onnx::onnx(), &proto, None, "edited.onnx", n_features)
    }

    fn expected() -> (Vec<Vec<f64>>, Vec<f64>, Value) {
        let text = std::fs::read_to_string(models_dir().join("onnx_expected.json")).unwrap();
        let exp: Value = serde_json::from_str(&text).unwrap();
        let rows = exp["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect();
        let outputs = exp["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        (rows, outputs, exp)
    }

    #[test]
    fn onnx_model_matches_onnxruntime() {
        let m = mlp();
        assert_eq!(m.n_features(), 4);
        let (rows, want, exp) = expected();
        assert_eq!(rows.len(), 10);
        assert_eq!(rows.len(), want.len());
        for (row, want) in rows.iter().zip(&want) {
            let got = m.predict(row);
            assert!(
                (got - want).abs() < 1e-5,
                "row {row:?}: got {got}, onnxruntime {} computed {want}",
                exp["onnxruntime_version"]
            );
        }
        assert_eq!(m.run_errors(), 0);
        assert!(format!("{m:?}").contains("mlp.onnx"));
    }

    #[test]
    fn onnx_model_short_slice_pads_with_zero_and_ignores_extras() {
        let m = mlp();
        let (rows, want, _) = expected();
        // Row 3 of the expected file is all zeros.
        assert!(rows[3].iter().all(|&x| x == 0.0));
        assert!((m.predict(&[]) - want[3]).abs() < 1e-5);
        assert_eq!(m.predict(&[]), m.predict(&[0.0; 4]));
        let r = &rows[0];
        assert_eq!(m.predict(&r[..2]), m.predict(&[r[0], r[1], 0.0, 0.0]));
        let mut long = r.clone();
        long.extend([99.0, f64::NAN]);
        assert_eq!(m.predict(&long), m.predict(r));
        assert_eq!(m.run_errors(), 0);
    }

    #[test]
    fn onnx_model_nan_and_extremes_never_panic() {
        let m = mlp();
        // NaN goes to the model as it is; through Gemm → Relu → Gemm it comes out NaN.
        assert!(m.predict(&[f64::NAN, 0.0, 0.0, 0.0]).is_nan());
        assert!(m.predict(&[0.5, 0.5, 0.5, f64::NAN]).is_nan());
        // Any value, any length: no panic, no run error.
        let specials = [
            0.0,
            -1.5,
            1e6,
            -1e6,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for len in 0..7 {
            for (i, &x) in specials.iter().enumerate() {
                let xs: Vec<f64> = (0..len)
                    .map(|j| {
                        if j % 2 == 0 {
                            x
                        } else {
                            specials[(i + j) % specials.len()]
                        }
                    })
                    .collect();
                let y = m.predict(&xs);
                if xs.iter().all(|v| v.is_finite() && v.abs() <= 1e6) {
                    assert!(y.is_finite(), "{xs:?} -> {y}");
                }
            }
        }
        assert_eq!(m.run_errors(), 0);
    }

    #[test]
    fn onnx_model_run_error_is_nan_and_counted() {
        let mut m = mlp();
        // Break the model on purpose: a row one wider than the plan was typed for.
        m.n_features = 5;
        assert!(m.predict(&[0.0; 5]).is_nan());
        assert!(m.predict(&[1.0]).is_nan());
        assert_eq!(m.run_errors(), 2);
    }

    #[test]
    fn onnx_model_is_send() {
        fn send<T: Send>() {}
        send::<OnnxModel>();
    }

    #[test]
    fn onnx_model_missing_file_is_an_io_error() {
        let err = OnnxModel::load(models_dir().join("no_such_model.onnx"), 4).unwrap_err();
        assert!(matches!(err, ModelError::Io { .. }), "{err}");
        assert!(err.to_string().contains("no_such_model.onnx"), "{err}");
    }

    #[test]
    fn onnx_model_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8]); 3] = [
            (
                "garbage.onnx",
                b"\xff\xfe this is not a protobuf \x00\x01\x02\xff\xff\xff\xff",
            ),
            ("empty.onnx", b""),
            ("text.onnx", b"{\"learner\": {}}\n"),
        ];
        for (name, bytes) in cases {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let err = OnnxModel::load(&path, 4).unwrap_err();
            assert!(matches!(err, ModelError::Onnx { .. }), "{name}: {err}");
            let msg = err.to_string();
            assert!(
                msg.contains(name) && msg.contains("not an ONNX model"),
                "{msg}"
            );
        }
        // A real model file of another format.
        let err = OnnxModel::load(models_dir().join("gbt_reg.json"), 4).unwrap_err();
        assert!(matches!(err, ModelError::Onnx { .. }), "{err}");
        assert!(err.to_string().contains("gbt_reg.json"), "{err}");
    }

    #[test]
    fn onnx_model_wrong_width_is_named() {
        for n in [3, 5] {
            let err = OnnxModel::load(models_dir().join("mlp.onnx"), n).unwrap_err();
            assert!(
                matches!(
                    err,
                    ModelError::OnnxInputWidth { expected, found: 4, .. } if expected == n
                ),
                "{err}"
            );
            assert!(err.to_string().contains("mlp.onnx"), "{err}");
            assert!(
                err.to_string()
                    .ends_with(&format!("the input is 4 features wide, expected {n}")),
                "{err}"
            );
        }
        let err = OnnxModel::load(models_dir().join("mlp.onnx"), 0).unwrap_err();
        assert!(matches!(err, ModelError::Onnx { .. }), "{err}");
    }

    /// The input's declared shape, replaced by `dims` (a number or a symbol each).
    fn set_input_dims(proto: &mut ModelProto, dims: &[dimension::Value]) {
        let input = &mut proto.graph.as_mut().unwrap().input[0];
        let Some(type_proto::Value::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut()
        else {
            panic!("input is a tensor")
        };
        t.shape.as_mut().unwrap().dim = dims
            .iter()
            .map(|v| Dimension {
                denotation: String::new(),
                value: Some(v.clone()),
            })
            .collect();
    }

    #[test]
    fn onnx_model_undeclared_wrong_width_fails_typing() {
        use dimension::Value::{DimParam, DimValue};
        // The unedited proto builds.
        build_edited(|_| {}, 4).unwrap();
        // Width left symbolic in the file: the mismatch shows when the model is typed.
        let symbolic = |p: &mut ModelProto| {
            set_input_dims(p, &[DimParam("N".into()), DimParam("F".into())]);
        };
        build_edited(symbolic, 4).unwrap();
        let err = build_edited(symbolic, 3).unwrap_err();
        assert!(matches!(err, ModelError::Onnx { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("edited.onnx: ONNX: cannot type and optimise for input f32 [1, 3]"),
            "{err}"
        );
        // Declared but unusable: batch 2, rank 3.
        let err = build_edited(|p| set_input_dims(p, &[DimValue(2), DimValue(4)]), 4).unwrap_err();
        assert!(err.to_string().contains("batch size is 2"), "{err}");
        let err = build_edited(
            |p| set_input_dims(p, &[DimValue(1), DimValue(1), DimValue(4)]),
            4,
        )
        .unwrap_err();
        assert!(err.to_string().contains("rank 3"), "{err}");
    }

    #[test]
    fn onnx_model_wider_output_is_named() {
        // Two outputs per row: w2 becomes [8, 2], the declared output shape goes.
        let err = build_edited(
            |p| {
                let g = p.graph.as_mut().unwrap();
                let w2 = g.initializer.iter_mut().find(|t| t.name == "w2").unwrap();
                *w2 = TensorProto {
                    name: "w2".into(),
                    dims: vec![8, 2],
                    data_type: 1, // FLOAT
                    float_data: vec![0.1; 16],
                    ..TensorProto::default()
                };
                g.output[0].r#type = None;
            },
            4,
        )
        .unwrap_err();
        assert!(matches!(err, ModelError::Onnx { .. }), "{err}");
        assert!(err.to_string().contains("expected one f32 value"), "{err}");
        assert!(err.to_string().contains("1,2"), "{err}");
    }

    #[test]
    fn onnx_model_two_inputs_or_no_graph_is_named() {
        let err = build_edited(
            |p| {
                let g = p.graph.as_mut().unwrap();
                let mut second = g.input[0].clone();
                second.name = "x2".into();
                g.input.push(second);
            },
            4,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("2 inputs, expected exactly one"),
            "{err}"
        );
        let err = build_edited(|p| p.graph = None, 4).unwrap_err();
        assert!(err.to_string().contains("no graph"), "{err}");
    }
}
