"""hftbacktest (2.4.4) replay and quoting workloads on a converted npz file, for
``peers_bench``: the same data tickrail runs, timed the way hftbacktest's examples time a
backtest (the whole file through the backtester, the data already converted and loaded).

    python hbt_bench.py --workload book --depth roi|hashmap --data FILE.npz [options]
    python hbt_bench.py --workload quote --depth roi|hashmap --data FILE.npz [options]
    python hbt_bench.py --workload quote-l3 --depth roi|hashmap --data FILE.npz [options]

Workloads:

- ``book``: replay the book only: ``wait_next_feed`` until the end of the data (no
  orders), hftbacktest's way of just replaying the feed.
- ``quote``: the 100 ms quoting example: every 100 ms of data time (``elapse``) clear the
  inactive orders, cancel every working order, and post a GTX buy at the best bid and a
  GTX sell at the best ask (``--qty`` each, a side skipped once the position reaches
  ``--max-position``); power-probability queue model (power 2), no partial fills,
  constant order latency (``--latency-ns`` entry and response, 100 µs by default).
- ``quote-l3``: the same strategy with the L3 FIFO queue model on L3 (MBO) data.

Every run builds a fresh backtester from the data held in memory (``np.load`` once, not
timed), then times only the loop, over the whole file. The loop is compiled by numba on an
untimed warm-up run over the first ``--warmup-rows`` rows. ``--repeat`` timed runs; the
median is reported. Prints ONE JSON line on stdout.
"""

import argparse
import json
import statistics
import sys
import time

import numpy as np
from numba import njit

from hftbacktest import (
    GTX,
    LIMIT,
    LOCAL_EVENT,
    BacktestAsset,
    HashMapMarketDepthBacktest,
    ROIVectorMarketDepthBacktest,
)

# wait_next_feed's timeout: longer than any gap in the data (1 hour of data time).
FEED_TIMEOUT_NS = 3_600_000_000_000


@njit
def book_loop(hbt):
    """Replays the whole feed through the book; returns the feeds seen (or -code)."""
    feeds = 0
    while True:
        r = hbt.wait_next_feed(False, FEED_TIMEOUT_NS)
        if r == 2:
            feeds += 1
        elif r == 1:
            return feeds
        elif r != 0:
            return -r


@njit
def quote_loop(hbt, interval_ns, qty, max_position):
    """Every interval: cancel all working orders, post GTX at the best bid and best ask.
    Returns (orders submitted, cancels sent, error code)."""
    asset_no = 0
    order_id = 0
    submitted = 0
    cancels = 0
    while True:
        r = hbt.elapse(interval_ns)
        if r == 1:
            return submitted, cancels, 0
        if r != 0:
            return submitted, cancels, r
        hbt.clear_inactive_orders(asset_no)
        orders = hbt.orders(asset_no)
        values = orders.values()
        while values.has_next():
            order = values.get()
            if order.cancellable:
                hbt.cancel(asset_no, order.order_id, False)
                cancels += 1
        depth = hbt.depth(asset_no)
        best_bid = depth.best_bid
        best_ask = depth.best_ask
        if not (np.isfinite(best_bid) and np.isfinite(best_ask)) or best_bid >= best_ask:
            continue
        position = hbt.position(asset_no)
        if position < max_position:
            order_id += 1
            hbt.submit_buy_order(asset_no, order_id, best_bid, qty, GTX, LIMIT, False)
            submitted += 1
        if position > -max_position:
            order_id += 1
            hbt.submit_sell_order(asset_no, order_id, best_ask, qty, GTX, LIMIT, False)
            submitted += 1


def build(args, data):
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(args.latency_ns, args.latency_ns)
        .trading_value_fee_model(0.0, 0.0)
        .tick_size(args.tick)
        .lot_size(args.lot)
        .last_trades_capacity(0)
    )
    # hftbacktest's example fills a whole order or nothing; --partial-fill fills what the
    # traded quantity reaches, as tickrail's simulated venue does (the parity check).
    if getattr(args, "partial_fill", False):
        asset = asset.partial_fill_exchange()
    else:
        asset = asset.no_partial_fill_exchange()
    if args.workload == "quote-l3":
        asset = asset.l3_fifo_queue_model()
    else:
        asset = asset.power_prob_queue_model(2.0)
    if args.depth == "roi":
        px = data["px"]
        positive = px[px > 0]
        # The range of interest covers every price in the file: no update falls outside it.
        lb = args.roi_lb if args.roi_lb is not None else float(np.floor(positive.min()))
        ub = args.roi_ub if args.roi_ub is not None else float(np.ceil(positive.max()))
        asset = asset.roi_lb(lb).roi_ub(ub)
        return ROIVectorMarketDepthBacktest([asset])
    return HashMapMarketDepthBacktest([asset])


def run_once(args, data):
    hbt = build(args, data)
    out = {}
    if args.workload == "book":
        t0 = time.perf_counter()
        feeds = book_loop(hbt)
        secs = time.perf_counter() - t0
        if feeds < 0:
            raise RuntimeError(f"wait_next_feed returned {-feeds}")
        out["feeds"] = int(feeds)
    else:
        interval = args.interval_ns
        t0 = time.perf_counter()
        submitted, cancels, err = quote_loop(hbt, interval, args.qty, args.max_position)
        secs = time.perf_counter() - t0
        if err != 0:
            raise RuntimeError(f"elapse returned {err}")
        sv = hbt.state_values(0)
        out["orders"] = int(submitted)
        out["cancels"] = int(cancels)
        out["fills"] = int(sv.num_trades)
        out["position"] = float(hbt.position(0))
        out["traded_qty"] = float(sv.trading_volume)
        # Net PnL as tickrail reports it: cash flows, the open position at the last mid,
        # fees.
        depth = hbt.depth(0)
        mid = (depth.best_bid + depth.best_ask) / 2.0
        out["pnl"] = float(sv.balance + sv.position * mid - sv.fee)
        out["fee"] = float(sv.fee)
    hbt.close()
    out["seconds"] = secs
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=["book", "quote", "quote-l3"], required=True)
    ap.add_argument("--depth", choices=["roi", "hashmap"], required=True)
    ap.add_argument("--data", required=True, help="npz file written by a converter")
    ap.add_argument("--tick", type=float, default=0.01)
    ap.add_argument("--lot", type=float, default=0.001)
    ap.add_argument("--qty", type=float, default=0.1, help="size of each quote")
    ap.add_argument("--max-position", type=float, default=1.0)
    ap.add_argument("--latency-ns", type=int, default=100_000)
    ap.add_argument("--interval-ns", type=int, default=100_000_000)
    ap.add_argument("--roi-lb", type=float, default=None)
    ap.add_argument("--roi-ub", type=float, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup-rows", type=int, default=20_000)
    ap.add_argument(
        "--partial-fill",
        action="store_true",
        help="partial_fill_exchange instead of the example's no_partial_fill_exchange",
    )
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    data = np.load(args.data)["data"]
    # Untimed: numba compiles the loop for this backtester type.
    run_once(args, data[: min(len(data), args.warmup_rows)].copy())
    runs = [run_once(args, data) for _ in range(args.repeat)]
    secs = [r["seconds"] for r in runs]
    median = statistics.median(secs)
    mid = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    events = int(len(data))
    result = {
        "workload": f"hbt {args.workload} {args.depth}",
        "peer": "hftbacktest 2.4.4",
        "data": args.data,
        "events": events,
        "local_events": int(np.count_nonzero(data["ev"] & LOCAL_EVENT)),
        "seconds": median,
        "events_per_s": events / median,
        "runs_s": secs,
    }
    for k, v in mid.items():
        if k != "seconds":
            result[k] = v
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
