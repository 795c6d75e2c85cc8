#!/usr/bin/env python3
"""Make the example ONNX model in config/models/.

Builds a tiny multilayer perceptron with seeded random weights, directly as an ONNX
graph (no training, no deep-learning framework):

    y = W2 · relu(W1 · x + b1) + b2      x: 4 features, 8 hidden units, y: 1 output

as `Gemm → Relu → Gemm` (opset 13), input `x` of shape [N, 4] (N symbolic), output
`y` of shape [N, 1], float32 throughout; saves it as mlp.onnx (under 1 KB).

Then writes onnx_expected.json: the onnx and onnxruntime versions, 10 input rows and
the outputs **onnxruntime** computed for them (the reference, not our code), which the
Rust tests in engine/src/model/onnx.rs must reproduce within 1e-5.

    pip install onnx onnxruntime numpy
    python3 config/models/make_onnx.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
N_FEATURES = 4
N_HIDDEN = 8
OPSET = 13
# IR version 8 is what opset 13 tools wrote; readers of older files (tract) know it.
IR_VERSION = 8


def build(rng):
    # He-style scale so a fair share of the hidden units is active for N(0, 1) input.
    w1 = (rng.normal(size=(N_FEATURES, N_HIDDEN)) * np.sqrt(2.0 / N_FEATURES)).astype(np.float32)
    b1 = (0.1 * rng.normal(size=N_HIDDEN)).astype(np.float32)
    w2 = (rng.normal(size=(N_HIDDEN, 1)) * np.sqrt(1.0 / N_HIDDEN)).astype(np.float32)
    b2 = np.array([0.05], dtype=np.float32)

    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="dense1"),
        helper.make_node("Relu", ["h"], ["a"], name="relu1"),
        helper.make_node("Gemm", ["a", "w2", "b2"], ["y"], name="dense2"),
    ]
    graph = helper.make_graph(
        nodes,
        "tickrail_example_mlp",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", N_FEATURES])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
        initializer=[
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(b1, "b1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(b2, "b2"),
        ],
    )
    model = helper.make_model(
        graph,
        producer_name="tickrail make_onnx.py",
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    rng = np.random.default_rng(20240602)
    model = build(rng)
    path = os.path.join(HERE, "mlp.onnx")
    onnx.save(model, path)

    rows = rng.normal(size=(10, N_FEATURES)).astype(np.float32)
    rows[3, :] = 0.0  # every hidden unit at its bias
    rows[8, :] = [3.0, -2.5, 4.0, -3.5]  # far out: other units active
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    # One row per run, as the engine calls it (batch of 1).
    outputs = [float(session.run(["y"], {"x": r.reshape(1, -1)})[0][0, 0]) for r in rows]
    # The whole batch at once gives the same numbers (a check on the reference itself).
    batch = session.run(["y"], {"x": rows})[0][:, 0]
    assert np.allclose(batch, outputs, rtol=0, atol=1e-6), (batch, outputs)

    expected = {
        "onnx_version": onnx.__version__,
        "onnxruntime_version": ort.__version__,
        "n_features": N_FEATURES,
        # float32 values, written exactly (as float64 they round-trip to the same f32).
        "rows": [[float(v) for v in r] for r in rows],
        "outputs": outputs,
    }
    with open(os.path.join(HERE, "onnx_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("mlp.onnx", os.path.getsize(path), "bytes")
    print("outputs", [f"{y:.7f}" for y in outputs])
    print("onnx", onnx.__version__, "onnxruntime", ort.__version__)


if __name__ == "__main__":
    main()
