"""Convert a Databento MBO file (DBN) to hftbacktest's L3 npz format with hftbacktest's own
converter (``hftbacktest.data.utils.databento.convert``, which reads the file with the
``databento`` package).

    python convert_dbn.py IN.dbn OUT.npz --symbol ESH1

Prints one JSON line: the rows written and how many of them the local (strategy) side and
the exchange side each process. Skips the work when OUT.npz is newer than IN.dbn.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import warnings

import numpy as np

from hftbacktest import EXCH_EVENT, LOCAL_EVENT
from hftbacktest.data.utils import databento


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--symbol", required=True)
    args = ap.parse_args()
    cached = os.path.exists(args.output) and os.path.getmtime(args.output) >= os.path.getmtime(
        args.input
    )
    if not cached:
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        tmp = args.output + ".tmp.npz"
        # The converter prints progress lines on stdout; stdout carries only the JSON line.
        # pandas' deprecation warnings about the databento package's own calls are noise here.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            databento.convert(args.input, args.symbol, output_filename=tmp)
        os.replace(tmp, args.output)
    data = np.load(args.output)["data"]
    ev = data["ev"]
    print(
        json.dumps(
            {
                "workload": "convert dbn",
                "input": args.input,
                "output": args.output,
                "cached": cached,
                "rows": int(len(data)),
                "local_rows": int(np.count_nonzero(ev & LOCAL_EVENT)),
                "exch_rows": int(np.count_nonzero(ev & EXCH_EVENT)),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
