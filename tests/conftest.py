"""Shared test configuration.

Numba kernels are cached on disk; point the cache at one folder for the whole run so
that every test process shares it (CI sets TGSIM_CACHE_DIR too).
"""

import os
import sys
import tempfile
from pathlib import Path

# the applications in studies/ (reproductions, gallery, metastasis studies) are run from the
# checkout, not installed: make them importable as `studies`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("TGSIM_CACHE_DIR", os.path.join(tempfile.gettempdir(), "tgsim-test-kernels"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
