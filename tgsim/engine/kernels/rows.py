"""Run a row kernel over subjects on several threads.

Every row kernel of a job module (``sim_ode_rows``, ``fit_rows``, ...) takes a half-open
range ``start, stop`` of subjects first and releases the GIL, so Python threads can run
disjoint ranges at once. This replaces Numba's ``parallel=True`` loops, whose compilation
cost several seconds per card and job, with no loss of speed: each range is thousands of
microseconds of work against a few microseconds of dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .closed_numpy import _pool, worker_count

__all__ = ["run_rows", "SERIAL_MAX", "LANES"]

#: at most this many subjects run on the calling thread (no thread hand-off)
SERIAL_MAX = 16
#: subjects integrated together by the lane kernels: range boundaries are multiples of it,
#: so how a cohort is split never changes which subjects share steps
LANES = 8


def _threads() -> int:
    import numba

    return max(1, int(numba.get_num_threads()))


def run_rows(kernel: Callable[..., Any], n: int, *args: Any, per_thread: int = 4,
             max_rows: int | None = None) -> None:
    """Call ``kernel(start, stop, *args)`` over rows ``0 .. n-1``.

    Small batches (``n <= SERIAL_MAX``) or a single thread (``numba.set_num_threads(1)``)
    run on the calling thread. Otherwise the rows are split into about ``per_thread``
    ranges per thread (at most ``max_rows`` rows each), with boundaries at multiples of
    :data:`LANES`, and ``numba.get_num_threads()`` workers of the process's thread pool
    (the one the NumPy closed form uses, renewed after a fork) take them in turn.
    """
    if n <= 0:
        return
    k = _threads()
    if n <= SERIAL_MAX or k == 1:
        kernel(0, n, *args)
        return
    size = -(-n // (k * per_thread))
    if max_rows is not None:
        size = min(size, max_rows)
    size = max(LANES, -(-size // LANES) * LANES)
    ranges = iter([(a, min(n, a + size)) for a in range(0, n, size)])

    def work() -> None:  # k workers take the next range as they finish (dynamic schedule)
        for a, b in ranges:  # a list iterator's next() is atomic under the GIL
            kernel(a, b, *args)

    pool_size = worker_count()
    workers = min(k, pool_size, -(-n // size))
    futures = [_pool(pool_size).submit(work) for _ in range(workers)]
    for f in futures:
        f.result()
