"""Arrays for the sampler kernel, and the driver that runs it over subjects x chains.

Labels stop here: :class:`Target` holds the model as the kernel sees it (transforms,
priors, fixed values, data), :class:`Chains` the state of every chain between calls
(position, step size, dual averaging, metric, Welford sums), so a caller such as the
hierarchical Gibbs sampler can advance the chains a few iterations at a time. The kernel
is the compiled ``sample`` job of the card (``tgsim/engine/kernels/templates/sample.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from ...engine.kernels.rows import run_rows

__all__ = ["Target", "Chains", "warmup_windows", "advance", "logp", "N_STATS", "STAT_NAMES"]

N_STATS = 7
#: sample-stat names in the kernel's order (ArviZ's conventions)
STAT_NAMES = ("acceptance_rate", "step_size", "tree_depth", "n_steps", "diverging", "energy",
              "lp")

#: transform codes
IDENTITY, LOG, LOGIT, LOGLOGIT = 0, 1, 2, 3


@dataclass
class Target:
    """The posterior of every subject as kernel arrays (see the template's header)."""

    kernels: ModuleType
    comp: np.ndarray  # int64 (D,)
    tkind: np.ndarray  # int64 (NP + 1,)
    tlo: np.ndarray
    thi: np.ndarray
    pkind: np.ndarray  # int64 (NP + 1,)
    pa: np.ndarray
    pb: np.ndarray
    mvm: np.ndarray  # (n, NP + 1)
    mvq: np.ndarray  # (n, NP + 1, NP + 1)
    clo: np.ndarray
    chi: np.ndarray
    T: np.ndarray
    Y: np.ndarray
    nu: np.ndarray
    t0: np.ndarray
    emodel: int
    fixed: np.ndarray  # (n, NP + 1)

    @property
    def D(self) -> int:
        return int(self.comp.size)

    def args(self) -> tuple:
        return (self.D, self.comp, self.tkind, self.tlo, self.thi, self.pkind, self.pa,
                self.pb, self.mvm, self.mvq, self.clo, self.chi, self.T, self.Y, self.nu,
                self.t0)

    def to_unconstrained(self, theta: np.ndarray) -> np.ndarray:
        """Natural values (rows, NP + 1) -> free unconstrained coordinates (rows, D)."""
        out = np.empty((theta.shape[0], self.D))
        with np.errstate(all="ignore"):
            for c, i in enumerate(self.comp):
                v = theta[:, i]
                if self.tkind[i] == LOG:
                    out[:, c] = np.log(v)
                elif self.tkind[i] == LOGIT:
                    s = (v - self.tlo[i]) / (self.thi[i] - self.tlo[i])
                    out[:, c] = np.log(s) - np.log1p(-s)
                elif self.tkind[i] == LOGLOGIT:
                    s = (np.log(v) - np.log(self.tlo[i])) / np.log(self.thi[i] / self.tlo[i])
                    out[:, c] = np.log(s) - np.log1p(-s)
                else:
                    out[:, c] = v
        return out


@dataclass
class Chains:
    """State of ``rows`` chains (row r is chain ``r % chains`` of subject ``r // chains``)."""

    subj: np.ndarray
    X: np.ndarray
    LP: np.ndarray
    G: np.ndarray
    EPS: np.ndarray
    DA: np.ndarray
    MET: np.ndarray
    WN: np.ndarray
    WMEAN: np.ndarray
    WM2: np.ndarray
    IT: np.ndarray
    OUT: np.ndarray
    ST: np.ndarray
    warmup: int
    draws: int
    wbeg: int
    wend: np.ndarray
    extra: dict = field(default_factory=dict)

    @classmethod
    def start(cls, subj: np.ndarray, X0: np.ndarray, n_par: int, warmup: int,
              draws: int) -> Chains:
        rows, D = X0.shape
        wbeg, wend = warmup_windows(warmup)
        return cls(subj=np.ascontiguousarray(subj, dtype=np.int64),
                   X=np.ascontiguousarray(X0, dtype=np.float64), LP=np.full(rows, np.nan),
                   G=np.zeros((rows, D)), EPS=np.full(rows, 0.1), DA=np.zeros((rows, 4)),
                   MET=np.ascontiguousarray(np.broadcast_to(np.eye(D), (rows, 2, D, D))),
                   WN=np.zeros(rows), WMEAN=np.zeros((rows, D)),
                   WM2=np.zeros((rows, D, D)), IT=np.zeros(rows, dtype=np.int64),
                   OUT=np.full((rows, draws, n_par), np.nan),
                   ST=np.full((rows, draws, N_STATS), np.nan), warmup=int(warmup),
                   draws=int(draws), wbeg=wbeg, wend=wend)


def warmup_windows(warmup: int) -> tuple[int, np.ndarray]:
    """Stan's windowed adaptation: the first slow-window iteration and each slow window's
    end (an initial buffer of 75 iterations, windows of 25, 50, 100, ... and a terminal
    buffer of 50; 15 % / 75 % / 10 % of a warm-up shorter than 150). A warm-up under 20
    iterations adapts the step size only."""
    if warmup < 20:
        return warmup, np.array([0], dtype=np.int64)
    init, term, base = 75, 50, 25
    if init + term + base > warmup:
        init, term = int(0.15 * warmup), int(0.1 * warmup)
        base = warmup - init - term
    ends: list[int] = []
    start, size = init, base
    while True:
        end = start + size
        if end + 2 * size > warmup - term:
            ends.append(warmup - term)
            break
        ends.append(end)
        start, size = end, 2 * size
    return init, np.asarray(ends, dtype=np.int64)


def advance(target: Target, chains: Chains, n_iter: int, seed_seq: np.random.SeedSequence,
            *, delta: float = 0.8, max_depth: int = 10, dense: bool = False,
            progress: Callable[[int], None] | None = None, chunk: int | None = None) -> None:
    """Advance every chain by ``n_iter`` NUTS iterations (in chunks, for a progress bar)."""
    rows = chains.X.shape[0]
    k = target.kernels
    done = 0
    chunk = n_iter if chunk is None else max(1, chunk)
    while done < n_iter:
        step = min(chunk, n_iter - done)
        seeds = seed_seq.spawn(1)[0].generate_state(rows).astype(np.int64)
        run_rows(k.smp_rows, rows, step, chains.warmup, chains.draws, chains.wbeg, chains.wend,
                 float(delta), int(max_depth), bool(dense), seeds, chains.X, chains.LP,
                 chains.G, chains.EPS, chains.DA, chains.MET, chains.WN, chains.WMEAN, chains.WM2,
                 chains.IT, chains.OUT, chains.ST, target.D, target.comp, target.tkind,
                 target.tlo, target.thi, target.pkind, target.pa, target.pb, target.mvm,
                 target.mvq, target.clo, target.chi, target.T, target.Y, target.nu, target.t0,
                 chains.subj, target.emodel, target.fixed, per_thread=2)
        done += step
        if progress is not None:
            progress(step)


def logp(target: Target, U: np.ndarray, subj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log density (up to a constant) and gradient at unconstrained points ``U``."""
    U = np.ascontiguousarray(U, dtype=np.float64)
    lp = np.empty(U.shape[0])
    g = np.empty_like(U)
    run_rows(target.kernels.smp_logp_rows, U.shape[0], U, lp, g, target.D, target.comp,
             target.tkind, target.tlo, target.thi, target.pkind, target.pa, target.pb,
             target.mvm, target.mvq, target.clo, target.chi, target.T, target.Y, target.nu,
             target.t0, np.ascontiguousarray(subj, dtype=np.int64), target.emodel,
             target.fixed)
    return lp, g
