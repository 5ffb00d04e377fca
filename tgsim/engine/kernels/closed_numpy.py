"""Vectorised closed-form evaluation for untreated cohorts (NumPy ufuncs, threads).

Without treatment events the closed form is one expression over a (subject × time) grid.
NumPy evaluates ``exp``/``log``/``expm1`` with SIMD (AVX2/AVX-512) code paths, several
times faster per value than the scalar libm calls a compiled per-subject loop makes, and
it needs no JIT start-up. The grid is cut into blocks of subjects (each block's
temporaries stay in cache) and the blocks run on a thread pool: NumPy releases the GIL
inside ufuncs.

Status codes and output conventions match the compiled ``closed_one`` kernel: outputs at
times ``<= t0`` are the initial state; a subject with any non-finite output gets
``NON_FINITE`` and NaN outputs from its first non-finite one on (never ``inf``);
one whose final state is negative gets ``NEGATIVE_STATE`` with the final
output NaN.

The same blocks and thread pool serve :func:`exp_rows`, which turns the log-states left
by the ODE kernels (subjects integrated in log form) back into volumes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ...errors import Status

__all__ = ["solve_closed_numpy", "worker_count", "exp_rows"]

#: values per block: large enough to amortise the Python overhead of each block (the
#: ufunc calls hold the GIL between them), small enough for the temporaries to stay in
#: cache (2 MiB each)
BLOCK_VALUES = 1 << 18


def worker_count() -> int:
    """Threads to use: ``$TGSIM_NUM_THREADS``, else ``$NUMBA_NUM_THREADS``, else the CPUs
    this process may run on."""
    for var in ("TGSIM_NUM_THREADS", "NUMBA_NUM_THREADS"):
        val = os.environ.get(var, "").strip()
        if val.isdigit() and int(val) > 0:
            return int(val)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _blocks(n: int, per_row: int) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of about BLOCK_VALUES values each (``per_row`` per row)."""
    rows = max(1, BLOCK_VALUES // max(1, per_row))
    return [(a, min(n, a + rows)) for a in range(0, n, rows)]


_POOL: tuple[int, int, ThreadPoolExecutor] | None = None  # (pid, workers, pool)
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool kept for the process (starting threads costs ~1 ms a call); a new
    one after a fork (the parent's threads do not exist in the child) or a change in the
    number of workers."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] != workers:
            if _POOL is not None and _POOL[0] == os.getpid():
                _POOL[2].shutdown(wait=False)
            _POOL = (os.getpid(), workers,
                     ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tgsim"))
        return _POOL[2]


def _run_blocks(run: Callable[[tuple[int, int]], None], blocks: list[tuple[int, int]]) -> None:
    """``run`` every block, on the thread pool when there is more than one worker."""
    workers = min(worker_count(), len(blocks))
    if workers <= 1:
        for blk in blocks:
            run(blk)
        return
    for _ in _pool(worker_count()).map(run, blocks):
        pass


def solve_closed_numpy(
    closed_np: Callable[..., None],
    init_np: Callable[..., tuple],
    times: np.ndarray,
    t0: float,
    P: np.ndarray,
    out: np.ndarray,
    status: np.ndarray,
) -> None:
    """Fill ``out[s, k, i]`` (state ``i`` of subject ``s`` at ``times[k]``) and ``status``.

    Parameters
    ----------
    closed_np, init_np
        The generated array functions of a card (:func:`tgsim.engine.compile.numpy_closed`):
        ``closed_np(dt, P, out)`` writes the states at elapsed times ``dt`` into ``out``.
    times : ndarray, shape (T,)
        Output times (days), sorted, all ``>= t0``.
    t0 : float
        Time (days) of the initial state.
    P : ndarray, shape (n, NP)
        Parameter rows.
    out : ndarray, shape (n, T, NS)
        Written in place.
    status : ndarray of int, shape (n,)
        Written in place (see :class:`tgsim.errors.Status`).
    """
    n, nt = P.shape[0], times.shape[0]
    if n == 0 or nt == 0:
        return
    dt = np.ascontiguousarray(times - t0, dtype=np.float64)
    at_start = int(np.searchsorted(dt, 0.0, side="right"))  # outputs with times <= t0
    blocks = _blocks(n, nt)

    def run(block: tuple[int, int]) -> None:
        a, b = block
        Pb = P[a:b]
        block_out = out[a:b]
        with np.errstate(all="ignore"):  # non-finite values become a status, not a warning
            closed_np(dt, Pb, block_out)
            if at_start:
                for i, value in enumerate(init_np(Pb)):
                    block_out[:, :at_start, i] = value
        # a row is finite iff its sum is (a sum can also overflow: those rows are rechecked)
        finite = np.isfinite(block_out.sum(axis=(1, 2)))
        if not finite.all():
            bad_rows = np.flatnonzero(~finite)
            finite[bad_rows] = np.isfinite(block_out[bad_rows]).all(axis=(1, 2))
        negative = (block_out[:, -1, :] < 0.0).any(axis=1)
        st = status[a:b]
        st[:] = Status.SUCCESS
        bad_neg = negative & finite
        if bad_neg.any():
            st[bad_neg] = Status.NEGATIVE_STATE
            block_out[bad_neg, -1, :] = np.nan
        if not finite.all():
            st[~finite] = Status.NON_FINITE
            _blank_after_failure(block_out, np.flatnonzero(~finite))

    _run_blocks(run, blocks)


def _blank_after_failure(out: np.ndarray, rows: np.ndarray) -> None:
    """Rows that overflowed: NaN from the first non-finite output on (as the ODE
    kernels leave a failed subject), never ``inf``."""
    for r in rows:
        bad_t = ~np.isfinite(out[r]).all(axis=1)
        out[r, int(np.argmax(bad_t)):, :] = np.nan


def exp_rows(out: np.ndarray, rows: np.ndarray, ns: int, status: np.ndarray) -> None:
    """``out[s, :, :ns] = exp(out[s, :, :ns])`` for the subjects with ``rows[s]``, in place.

    The ODE kernels leave log-states for the subjects they integrated in log form; this
    takes their exp with NumPy's SIMD code, in blocks on the thread pool. A log-state
    too large for float64 overflows here: the subject gets ``NON_FINITE`` (unless it
    already failed) and its infinite outputs become NaN, as on the linear path.
    """
    n = out.shape[0]
    if n == 0 or not rows.any():
        return
    if not rows.all():
        idx = np.flatnonzero(rows)
        with np.errstate(all="ignore"):
            out[idx, :, :ns] = np.exp(out[idx, :, :ns])
        _flag_overflow(out, idx, ns, status)
        return
    blocks = _blocks(n, out.shape[1] * out.shape[2])

    def run(block: tuple[int, int]) -> None:
        view = out[block[0]:block[1], :, :ns]
        with np.errstate(all="ignore"):
            np.exp(view, out=view)
            bad = np.flatnonzero(~np.isfinite(view.sum(axis=(1, 2)))) + block[0]
        if bad.size:
            _flag_overflow(out, bad, ns, status)

    _run_blocks(run, blocks)


def _flag_overflow(out: np.ndarray, idx: np.ndarray, ns: int, status: np.ndarray) -> None:
    """Subjects ``idx`` whose outputs hold inf after the exp: flag and blank them."""
    for s in idx:
        vals = out[s, :, :ns]
        inf = np.isinf(vals)
        if inf.any():
            vals[inf] = np.nan
            if status[s] == Status.SUCCESS:
                status[s] = Status.NON_FINITE
