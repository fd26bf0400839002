"""Set-up shared by the benchmarks; import it before numpy, scipy or numba.

The figures are per core, so the numeric libraries are pinned to one thread (the
variables are read when those libraries load).  When SkyFence is not installed,
the source tree is put on the path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

try:
    import skyfence  # noqa: F401
except ModuleNotFoundError:  # not installed: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
