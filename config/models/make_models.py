#!/usr/bin/env python3
"""Make the example gradient-boosted-tree models in config/models/.

Trains two tiny XGBoost models (5 trees, depth 3, 4 features) on seeded synthetic
data and saves them in XGBoost's JSON model format (`Booster.save_model("m.json")`):

- gbt_reg.json       objective reg:squarederror
- gbt_logistic.json  objective binary:logistic

and writes gbt_expected.json: the xgboost version, 10 input rows (some with a
missing value, NaN, written as null) and xgboost's predictions for them
(`predict(output_margin=False)`), which the Rust tests in
engine/src/model/ must reproduce within 1e-6.

    pip install xgboost numpy      # or xgboost-cpu
    python3 config/models/make_models.py
"""
import json
import os

import numpy as np
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
N_FEATURES = 4
PARAMS = {"max_depth": 3, "eta": 0.3, "seed": 7, "nthread": 1, "tree_method": "exact"}
ROUNDS = 5


def main():
    rng = np.random.default_rng(20240601)
    x = rng.normal(size=(400, N_FEATURES))
    y_reg = 0.8 * x[:, 0] - 0.5 * x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=400)
    y_bin = (x[:, 0] + 0.5 * x[:, 3] + 0.3 * rng.normal(size=400) > 0).astype(np.float64)

    # A few missing values so default_left is exercised in training too.
    x_train = x.copy()
    x_train[rng.random(size=x.shape) < 0.05] = np.nan

    rows = rng.normal(size=(10, N_FEATURES))
    rows[2, 0] = np.nan
    rows[5, 1] = np.nan
    rows[7, :] = np.nan
    drows = xgb.DMatrix(rows, missing=np.nan)

    expected = {"xgboost_version": xgb.__version__, "n_features": N_FEATURES}
    expected["rows"] = [[None if np.isnan(v) else float(v) for v in r] for r in rows]
    for name, objective, y in [
        ("gbt_reg", "reg:squarederror", y_reg),
        ("gbt_logistic", "binary:logistic", y_bin),
    ]:
        dtrain = xgb.DMatrix(x_train, label=y, missing=np.nan)
        booster = xgb.train({**PARAMS, "objective": objective}, dtrain, ROUNDS)
        booster.save_model(os.path.join(HERE, name + ".json"))
        preds = booster.predict(drows, output_margin=False)
        expected[name] = [float(p) for p in preds]
        print(name, objective, [f"{p:.9f}" for p in preds])

    with open(os.path.join(HERE, "gbt_expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    print("xgboost", xgb.__version__)


if __name__ == "__main__":
    main()
