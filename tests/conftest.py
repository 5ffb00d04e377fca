"""Shared test configuration.

Numba kernels are cached on disk; point the cache at one folder for the whole run so
that every test process shares it (CI sets TGSIM_CACHE_DIR too).
"""

import os
import tempfile

os.environ.setdefault("TGSIM_CACHE_DIR", os.path.join(tempfile.gettempdir(), "tgsim-test-kernels"))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
