"""Which implementation a fitting step runs on: compiled Numba kernels or plain NumPy.

The compiled kernels are the fast path for large batches (10^4 closed-form subjects in
tens of milliseconds) but must be compiled once per card and machine, which takes tens
of seconds. A small fit with nothing compiled yet would spend almost all of its time
compiling, so the commonest fits (untreated closed forms with additive, proportional or
log-normal error, no censored point) and the card-independent steps around them (data
compaction, starting values, covariances, intervals) also have NumPy implementations
vectorised over subjects, which need no JIT at all.

A step runs on NumPy when

* the kernels it would call are neither compiled in this process nor cached on disk
  (:func:`tgsim.engine.kernels.cache._is_cached`), and
* the batch has at most :data:`NUMPY_MAX_SUBJECTS` subjects.

Otherwise it runs the compiled kernels (compiling them first if need be, announced on
stderr), so once a card's kernels are cached every fit uses them. Both paths reach the
same optimum (tested: -2 log L to 1e-7, estimates to 1e-3 of their standard errors).

The environment variable ``TGSIM_FIT_PATH`` forces a path: ``numpy`` (every step that
has a NumPy implementation uses it; other fits, e.g. treated, ODE-card, combined-error,
censored or prior fits, still use the kernels), ``numba`` (always the kernels), or
``auto`` (the default rule above). :func:`force_path` does the same for a block of code.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from ..errors import TgsimError

__all__ = ["ENV", "NUMPY_MAX_SUBJECTS", "PATHS", "fit_path", "force_path", "use_numpy"]

#: the environment variable that forces a path
ENV = "TGSIM_FIT_PATH"
#: accepted values of :data:`ENV`
PATHS = ("auto", "numpy", "numba")
#: largest batch fitted on NumPy when the kernels are not compiled yet. On the 2-core
#: machine NumPy fits 2,000 Gompertz series of 8 points in 0.08 s and 10^4 in 0.3 s;
#: the kernels fit 10^4 in about 20 ms but take 40-90 s to compile the first time.
#: NumPy wins a single call far beyond this size; the limit is where a batch is large
#: enough that its user likely fits such batches again, so the one-off compile (cached
#: afterwards) pays for itself.
NUMPY_MAX_SUBJECTS = 5000

_FORCED: list[str] = []


@contextlib.contextmanager
def force_path(path: str) -> Iterator[None]:
    """Run the block with the fitting path forced to ``path`` (one of :data:`PATHS`),
    whatever :data:`ENV` says (``tgsim compile`` forces ``"numba"``)."""
    if path not in PATHS:
        raise TgsimError(f"fitting path must be one of {', '.join(map(repr, PATHS))}; "
                         f"got {path!r}")
    _FORCED.append(path)
    try:
        yield
    finally:
        _FORCED.pop()


def fit_path() -> str:
    """The path in force: the innermost :func:`force_path`, else ``$TGSIM_FIT_PATH``,
    else ``"auto"``."""
    if _FORCED:
        return _FORCED[-1]
    value = os.environ.get(ENV, "").strip().lower() or "auto"
    if value not in PATHS:
        raise TgsimError(f"environment variable {ENV} must be one of "
                         f"{', '.join(map(repr, PATHS))}; got {value!r}")
    return value


def use_numpy(n: int, *dispatchers: Any) -> bool:
    """Whether a step over ``n`` subjects that would call the compiled ``dispatchers``
    should run its NumPy implementation instead (see the module doc)."""
    path = fit_path()
    if path != "auto":
        return path == "numpy"
    if n > NUMPY_MAX_SUBJECTS:
        return False
    from ..engine.kernels.cache import _is_cached

    return not all(_is_cached(d) for d in dispatchers)
