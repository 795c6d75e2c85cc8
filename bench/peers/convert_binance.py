"""Convert a Binance USD-M futures capture to hftbacktest's npz format with hftbacktest's
own converter (``hftbacktest.data.utils.binancefutures.convert``).

The capture format is the collector's: per line the local receive time in nanoseconds, a
space, and the websocket message (combined stream) or a REST depth snapshot. The converter
keeps depth diffs, snapshots and MARKET trades (no bookTicker, no mark price), the streams
tickrail's Binance adapter reads by default.

    python convert_binance.py IN.gz OUT.npz

Prints one JSON line: the rows written and how many of them the local (strategy) side and
the exchange side each process. Skips the work when OUT.npz is newer than IN.gz.
"""

import argparse
import contextlib
import io
import json
import os
import sys

import numpy as np

from hftbacktest import EXCH_EVENT, LOCAL_EVENT
from hftbacktest.data.utils import binancefutures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    args = ap.parse_args()
    cached = os.path.exists(args.output) and os.path.getmtime(args.output) >= os.path.getmtime(
        args.input
    )
    if not cached:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tmp = args.output + ".tmp.npz"
        # The converter prints progress lines on stdout; stdout carries only the JSON line.
        with contextlib.redirect_stdout(io.StringIO()):
            binancefutures.convert(args.input, output_filename=tmp, buffer_size=20_000_000)
        os.replace(tmp, args.output)
    data = np.load(args.output)["data"]
    ev = data["ev"]
    print(
        json.dumps(
            {
                "workload": "convert binance",
                "input": args.input,
                "output": args.output,
                "cached": cached,
                "rows": int(len(data)),
                "local_rows": int(np.count_nonzero(ev & LOCAL_EVENT)),
                "exch_rows": int(np.count_nonzero(ev & EXCH_EVENT)),
                "min_px": float(data["px"][data["px"] > 0].min()),
                "max_px": float(data["px"].max()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
