"""Print the peers' versions (Python, hftbacktest, numba, numpy) as one JSON line."""

import json
import platform

import hftbacktest
import numba
import numpy

print(
    json.dumps(
        {
            "python": platform.python_version(),
            "hftbacktest": hftbacktest.__version__,
            "numba": numba.__version__,
            "numpy": numpy.__version__,
        }
    )
)
