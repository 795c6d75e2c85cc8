"""Cross-check tickrail's backtest against hftbacktest on the same capture and settings.

Runs `tickrail backtest` with a parity config (by default config/backtest-hbt-parity.toml:
hftbacktest's 100 ms quoting example — every 100 ms cancel both quotes and post GTX at the
best bid and ask —, 100 µs constant latencies, the power-probability queue with power 2, zero
fees, ETHUSDT tick 0.01 and lot 0.001) and hftbacktest's quoting loop (hbt_bench.py) with the
same settings on the same Binance USD-M file, converted by hftbacktest's own converter, then
prints both side by side with the targets: order count, fill count, traded quantity and final
position within 2 % of hftbacktest's, net PnL within 5 %.

hftbacktest runs twice: with `partial_fill_exchange` (fills follow the traded quantity, as
tickrail's simulated venue does: the row the targets are checked against) and with the
example's `no_partial_fill_exchange` (for reference).

    python parity.py --tickrail target/release/tickrail [--config FILE] [--data FILE.gz]

Run from `make bench-parity` (the venv of `make bench-peers`); never in CI.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import hbt_bench  # noqa: E402  (next to this script)

TARGETS = {
    "orders": 0.02,
    "fills": 0.02,
    "traded_qty": 0.02,
    "position": 0.02,
    "pnl": 0.05,
}


def tickrail_run(binary, config, data, out_dir):
    """Runs the backtest; returns its figures from report.json."""
    subprocess.run(
        [binary, "backtest", "--config", config, "--data", data, "--out", out_dir, "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(os.path.join(out_dir, "report.json")) as f:
        report = json.load(f)
    if len(report["instruments"]) != 1:
        raise SystemExit("the parity config must trade one instrument")
    inst = report["instruments"][0]
    return {
        "orders": report["orders"],
        "fills": report["fills"],
        "traded_qty": sum(p["qty"] for p in report["fill_points"]),
        "position": inst["position"],
        "pnl": report["net_pnl"],
    }


def hbt_run(npz, partial_fill, args):
    """hftbacktest's quoting loop (hbt_bench.py's) once on the whole file."""
    ns = argparse.Namespace(
        workload="quote",
        depth="hashmap",
        tick=args.tick,
        lot=args.lot,
        qty=args.qty,
        max_position=args.max_position,
        latency_ns=args.latency_ns,
        interval_ns=args.interval_ns,
        roi_lb=None,
        roi_ub=None,
        partial_fill=partial_fill,
    )
    data = np.load(npz)["data"]
    out = hbt_bench.run_once(ns, data)
    return {k: out[k] for k in ("orders", "fills", "traded_qty", "position", "pnl")}


def convert(data, cache):
    """hftbacktest's converter, once per capture (convert_binance.py keeps the result)."""
    os.makedirs(cache, exist_ok=True)
    npz = os.path.join(cache, os.path.basename(data).removesuffix(".gz") + ".npz")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "convert_binance.py"), data, npz],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return npz


def rel(ours, theirs):
    if theirs == 0:
        return 0.0 if ours == 0 else float("inf")
    return (ours - theirs) / abs(theirs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tickrail", required=True, help="the tickrail binary")
    ap.add_argument("--config", default=os.path.join(ROOT, "config/backtest-hbt-parity.toml"))
    ap.add_argument(
        "--data",
        default=os.path.join(ROOT, "gateways/samples/binance/usdm_ethusdt_20240808.gz"),
    )
    ap.add_argument("--cache", default=os.path.join(HERE, ".cache"))
    ap.add_argument("--tick", type=float, default=0.01)
    ap.add_argument("--lot", type=float, default=0.001)
    ap.add_argument("--qty", type=float, default=0.1)
    ap.add_argument("--max-position", type=float, default=1.0)
    ap.add_argument("--latency-ns", type=int, default=100_000)
    ap.add_argument("--interval-ns", type=int, default=100_000_000)
    ap.add_argument("--json", action="store_true", help="print one JSON line instead")
    args = ap.parse_args()

    npz = convert(args.data, args.cache)
    with tempfile.TemporaryDirectory() as tmp:
        ours = tickrail_run(args.tickrail, args.config, args.data, os.path.join(tmp, "bt"))
    partial = hbt_run(npz, True, args)
    whole = hbt_run(npz, False, args)

    rows = []
    for key, tol in TARGETS.items():
        d = rel(ours[key], partial[key])
        rows.append(
            {
                "metric": key,
                "tickrail": ours[key],
                "hbt_partial_fill": partial[key],
                "diff": d,
                "target": tol,
                "pass": abs(d) <= tol,
                "hbt_no_partial_fill": whole[key],
            }
        )
    if args.json:
        print(json.dumps({"config": args.config, "data": args.data, "rows": rows}))
        return 0
    print(f"config: {os.path.relpath(args.config, ROOT)}; data: {os.path.relpath(args.data, ROOT)}")
    print()
    print(
        "| metric | tickrail | hftbacktest (partial fills) | difference | target "
        "| verdict | hftbacktest (example: no partial fills) |"
    )
    print("|---|---:|---:|---:|---:|---|---:|")
    for r in rows:
        fmt = "{:.0f}" if r["metric"] in ("orders", "fills") else "{:.4f}"
        print(
            f"| {r['metric']} | {fmt.format(r['tickrail'])} | {fmt.format(r['hbt_partial_fill'])} "
            f"| {r['diff'] * 100:+.2f} % | ±{r['target'] * 100:.0f} % "
            f"| {'PASS' if r['pass'] else 'FAIL'} | {fmt.format(r['hbt_no_partial_fill'])} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
