r"""The closed-form fitter in NumPy: no JIT, every subject advanced together.

The same iteration as the compiled fast path (``_fit_fast_rows`` in
``tgsim/engine/kernels/templates/fit.py``, described in :mod:`tgsim.fitting.lm`), for untreated
closed-form fits with additive, proportional or log-normal error, no prior and no
censored point:

* model and exact gradient from the card's generated array code
  (:func:`tgsim.engine.compile.numpy_volume_vg`), chain rule to the working scale;
* -2 log L, its gradient and Fisher matrix from the raw sums over the points, with
  :math:`\log\sigma` profiled out (set to its conditional maximum after every
  evaluation) when it is estimated; the step solves the Schur complement of the Fisher
  matrix (the Fisher matrix of the profile likelihood);
* Levenberg-Marquardt steps :math:`(S + \lambda\,\mathrm{diag})\delta = -g` with
  Marquardt scaling, Nielsen's damping update, projection on the bounds, components at a
  bound whose gradient points outwards held for the iteration;
* converged when the Newton decrement :math:`g^T S^{-1} g` falls below ``ftol``, or a
  step below ``xtol`` relative to x (a success only if the decrement is below 1e-4).

The per-subject loop of the kernel becomes a loop of rounds: in each round every subject
still running either starts an iteration or retries its damped step, and all trial
points are evaluated in one vectorised call. Each subject follows exactly the kernel's
sequence of decisions, so both paths stop at the same optimum with the same status
(tested: -2 log L to 1e-7, estimates to 1e-3 of their standard errors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..engine.compile import numpy_volume_vg
from ..errors import Status
from .data import SeriesBatch

if TYPE_CHECKING:
    from .lm import Setup

__all__ = ["eligible", "run_lm_numpy", "predict_numpy"]

LOG2PI = 1.8378770664093453


def eligible(setup: Setup, batch: SeriesBatch, prior: object, fast: bool) -> bool:
    """Whether :func:`run_lm_numpy` covers this fit: the fast path's cases (untreated
    closed form, additive, proportional or log-normal error, no prior, no censored
    point)."""
    if not fast or prior is not None or setup.mode != 0 or not setup.untreated:
        return False
    if setup.em.code not in (0, 1, 3):
        return False
    used = np.arange(batch.T.shape[1])[None, :] < np.asarray(batch.nu)[:, None]
    return not np.any(used & (batch.W != 1.0))


class _Data:
    """The compact series of the rows being fitted, as the evaluations need them."""

    def __init__(self, setup: Setup, batch: SeriesBatch):
        self.vg: Callable[..., tuple] = numpy_volume_vg(setup.model)
        self.em = int(setup.em.code)
        self.scale = setup.scale == 1
        self.NP = setup.NP
        nu = np.asarray(batch.nu, np.int64)
        self.nt = nu.astype(np.float64)
        self.mask = np.arange(batch.T.shape[1])[None, :] < nu[:, None]
        self.t = np.asarray(batch.T, np.float64) - np.asarray(batch.t0, np.float64)[:, None]
        self.y = np.where(self.mask, batch.Y, 1.0)
        self.cst = np.zeros(len(nu))
        if self.em == 3:
            self.ly = np.log(self.y)
            self.cst = 2.0 * np.where(self.mask, self.ly, 0.0).sum(axis=1)


def _evaluate(d: _Data, rows: np.ndarray, x: np.ndarray):
    """Model at working rows ``x`` of subjects ``rows`` and the raw sums of the scoring
    model: ``ok`` (all finite), f, sums (S = sum v v', sum v, sum v u, sum v u^2,
    sum u^2, sum log f) with v = df/dx / f (df/dx for additive error), u the scaled
    residual."""
    NP = d.NP
    p = np.where(d.scale, np.exp(x[:, :NP]), x[:, :NP])
    mask, t = d.mask[rows], d.t[rows]
    with np.errstate(all="ignore"):
        f, g = d.vg(t, p, True)
        f = np.broadcast_to(f, t.shape)
        J = np.stack([np.broadcast_to(g[j] * p[:, j:j + 1] if d.scale[j] else g[j], t.shape)
                      for j in range(NP)], axis=1)  # (r, NP, m)
        ok = np.all(np.isfinite(f) | ~mask, axis=1)
        y = d.y[rows]
        if d.em == 0:
            u = y - f
            V = J
            slog = np.zeros(len(rows))
        else:
            ok &= np.all((f > 0.0) | ~mask, axis=1)
            c = 1.0 / f
            u = (y - f) * c if d.em == 1 else d.ly[rows] - np.log(f)
            V = J * c[:, None, :]
            slog = (np.where(mask, np.log(f), 0.0).sum(axis=1) if d.em == 1
                    else np.zeros(len(rows)))
        ok &= np.all(np.isfinite(V) | ~mask[:, None, :], axis=(1, 2))
        u = np.where(mask, u, 0.0)
        V = np.where(mask[:, None, :], V, 0.0)
        s2 = (u * u).sum(axis=1)
        sums = (np.einsum("rak,rbk->rab", V, V), V.sum(axis=2), (V * u[:, None, :]).sum(axis=2),
                (V * (u * u)[:, None, :]).sum(axis=2), s2, slog)
    ok &= np.isfinite(s2) & np.isfinite(slog)
    return ok, f, sums


def _finalize(d: _Data, rows: np.ndarray, x: np.ndarray, sums):
    """-2 log L, its gradient and Fisher matrix at log sigma = x[:, NP] (as the kernel's
    _fit_fast_finalize)."""
    NP = d.NP
    SVV, Sv, Svu, Svu2, s2, slog = sums
    r = len(rows)
    nt = d.nt[rows]
    prop = d.em == 1
    with np.errstate(all="ignore"):
        is2 = np.exp(-2.0 * x[:, NP])
        grad = np.zeros((r, NP + 2))
        H = np.zeros((r, NP + 2, NP + 2))
        ga = -2.0 * is2[:, None] * Svu
        if prop:
            ga = ga + (2.0 * Sv - 2.0 * is2[:, None] * Svu2)
            H[:, NP, :NP] = 4.0 * Sv
            H[:, :NP, NP] = 4.0 * Sv
        grad[:, :NP] = ga
        H[:, :NP, :NP] = (2.0 * is2 + (4.0 if prop else 0.0))[:, None, None] * SVV
        grad[:, NP] = 2.0 * nt - 2.0 * is2 * s2
        H[:, NP, NP] = 4.0 * nt
        phi = s2 * is2 + nt * (LOG2PI + 2.0 * x[:, NP]) + d.cst[rows]
        if prop:
            phi = phi + 2.0 * slog
    return np.where(np.isfinite(phi), phi, np.inf), grad, H


def _profile_sigma(d: _Data, rows: np.ndarray, x: np.ndarray, s2: np.ndarray, lo, hi
                   ) -> np.ndarray:
    """Set log sigma (x[:, NP], in place) to its conditional maximum within its bounds
    where the residuals do not vanish; returns where it was set."""
    with np.errstate(all="ignore"):
        v = s2 / d.nt[rows]
        good = (v > 0.0) & np.isfinite(v)
        x[good, d.NP] = np.minimum(np.maximum(0.5 * np.log(v[good]), lo[d.NP]), hi[d.NP])
    return good


def _solve(S: np.ndarray, act: np.ndarray, lam, diag: np.ndarray, rhs: np.ndarray):
    """Solve (S + lam diag) step = rhs on the active components of each row by Cholesky
    (inactive components: step 0). Returns (ok, step); ok is False where the matrix is
    not positive definite."""
    r, N = act.shape
    lam = np.broadcast_to(np.asarray(lam, np.float64), (r,))
    both = act[:, :, None] & act[:, None, :]
    A = np.where(both, S, 0.0)
    idx = np.arange(N)
    A[:, idx, idx] = np.where(act, S[:, idx, idx] + lam[:, None] * diag, 1.0)
    b = np.where(act, rhs, 0.0)
    L = np.zeros((r, N, N))
    ok = np.ones(r, bool)
    with np.errstate(all="ignore"):
        for i in range(N):
            for j in range(i + 1):
                s = A[:, i, j] - (L[:, i, :j] * L[:, j, :j]).sum(axis=1)
                if i == j:
                    good = s > 0.0
                    ok &= good
                    L[:, i, i] = np.sqrt(np.where(good, s, 1.0))
                else:
                    L[:, i, j] = s / L[:, j, j]
        v = np.zeros((r, N))
        for i in range(N):
            v[:, i] = (b[:, i] - (L[:, i, :i] * v[:, :i]).sum(axis=1)) / L[:, i, i]
        step = np.zeros((r, N))
        for i in range(N - 1, -1, -1):
            step[:, i] = (v[:, i] - (L[:, i + 1:, i] * step[:, i + 1:]).sum(axis=1)) / L[:, i, i]
    return ok, np.where(act, step, 0.0)


class _Run:
    """Per-subject state of the iteration (one row per subject; see the module doc)."""

    def __init__(self, setup: Setup, batch: SeriesBatch, X0: np.ndarray, ftol: float,
                 xtol: float):
        self.d = _Data(setup, batch)
        n, K = X0.shape
        NP = setup.NP
        self.NP, self.ftol, self.xtol = NP, float(ftol), float(xtol)
        self.free = setup.free != 0
        self.prof = bool(self.free[NP])
        self.lo, self.hi = setup.lo, setup.hi
        self.x = np.clip(np.asarray(X0, np.float64), self.lo, self.hi)
        self.f = np.zeros(batch.T.shape)
        self.phi = np.full(n, np.inf)
        self.grad = np.zeros((n, K))
        self.H = np.zeros((n, K, K))
        self.it = np.zeros(n, np.int64)
        self.nfev = np.ones(n, np.int64)
        self.status = np.full(n, int(Status.MAX_ITERATIONS), np.int64)
        self.live = np.ones(n, bool)  # still iterating
        self.fresh = np.ones(n, bool)  # starts a new iteration in the next round
        self.lam = np.full(n, 1e-3)
        self.nu = np.full(n, 2.0)
        self.diag = np.zeros((n, NP))
        self.act = np.zeros((n, NP), bool)
        self.Sc = np.zeros((n, NP, NP))
        self.dvec = np.zeros((n, NP))
        self.dec = np.full(n, np.inf)
        self.exact = np.zeros(n, bool)
        self.checked = np.zeros(n, bool)

    def finish(self, rows: np.ndarray, status) -> None:
        """Stop ``rows`` with ``status`` (one code, or one per row)."""
        self.live[rows] = False
        self.status[rows] = status

    def start(self) -> None:
        """Model, sigma and objective at the starts; rows that fail are NON_FINITE."""
        rows = np.arange(len(self.x))
        ok, f, sums = _evaluate(self.d, rows, self.x)
        if self.prof:
            xs = self.x[ok]
            _profile_sigma(self.d, rows[ok], xs, sums[4][ok], self.lo, self.hi)
            self.x[ok] = xs
        phi, grad, H = _finalize(self.d, rows, self.x, sums)
        phi = np.where(ok, phi, np.inf)
        good = np.isfinite(phi)
        self.phi[good], self.grad[good], self.H[good] = phi[good], grad[good], H[good]
        self.f[good] = f[good]
        self.finish(rows[~good], int(Status.NON_FINITE))

    def begin(self, rows: np.ndarray, max_iter: int) -> None:
        """A new iteration for ``rows``: the active set, the (Schur-complement) scoring
        matrix, Marquardt's scaling and the right-hand side."""
        NP = self.NP
        out = rows[self.it[rows] >= max_iter]
        self.finish(out, int(Status.MAX_ITERATIONS))
        rows = rows[self.it[rows] < max_iter]
        self.it[rows] += 1
        x, g, H = self.x[rows, :NP], self.grad[rows, :NP], self.H[rows]
        act = (self.free[None, :NP] & ~((x <= self.lo[:NP]) & (g > 0.0))
               & ~((x >= self.hi[:NP]) & (g < 0.0)))
        none = ~act.any(axis=1)
        self.finish(rows[none], int(Status.SUCCESS))
        rows, act, H, g = rows[~none], act[~none], H[~none], g[~none]
        Sc = H[:, :NP, :NP]
        if self.prof:
            with np.errstate(all="ignore"):
                ihss = 1.0 / H[:, NP, NP]
                Sc = Sc - H[:, :NP, NP][:, :, None] * H[:, NP, :NP][:, None, :] * ihss[:, None,
                                                                                        None]
        idx = np.arange(NP)
        diag = self.diag[rows]
        diag = np.where(act & (Sc[:, idx, idx] > diag), Sc[:, idx, idx], diag)
        diag = np.where(act & (diag <= 0.0), 1e-12, diag)
        self.diag[rows] = diag
        self.act[rows], self.Sc[rows] = act, Sc
        self.dvec[rows] = np.where(act, -g, 0.0)
        self.dec[rows] = np.inf
        self.exact[rows] = False
        self.checked[rows] = False
        self.fresh[rows] = False

    def decrement(self, rows: np.ndarray) -> np.ndarray:
        """The undamped Newton decrement g'S^-1 g of ``rows`` (inf where S is singular)."""
        ok, step = _solve(self.Sc[rows], self.act[rows], 1e-12, self.diag[rows],
                          self.dvec[rows])
        return np.where(ok, (self.dvec[rows] * step).sum(axis=1), np.inf)

    def trial(self, rows: np.ndarray) -> None:
        """One damped step for each of ``rows`` (mid-iteration): solve, test convergence
        on the first solve of the iteration, project, evaluate, accept or not, update
        the damping (as one pass of the kernel's inner loop)."""
        NP = self.NP
        lam = self.lam[rows]
        ok, step = _solve(self.Sc[rows], self.act[rows], lam, self.diag[rows], self.dvec[rows])
        bad = rows[~ok]  # not positive definite: more damping, same iteration
        self.lam[bad] *= self.nu[bad]
        self.nu[bad] *= 2.0
        self.finish(bad[self.lam[bad] > 1e20], int(Status.NOT_CONVERGED))
        rows, step = rows[ok], step[ok]
        first = ~self.checked[rows]
        if first.any():  # damped decrement: a lower bound of the undamped one
            r1 = rows[first]
            self.checked[r1] = True
            low = ~((self.dvec[r1] * step[first]).sum(axis=1) >= self.ftol)
            r2 = r1[low]
            self.exact[r2] = True
            self.dec[r2] = self.decrement(r2)
            conv = r2[self.dec[r2] < self.ftol]
            self.finish(conv, int(Status.SUCCESS))
            keep = ~np.isin(rows, conv)
            rows, step = rows[keep], step[keep]
        if not rows.size:
            return
        act, x = self.act[rows], self.x[rows]
        xt = x.copy()
        xt[:, :NP] = np.where(act, np.clip(x[:, :NP] + step, self.lo[:NP], self.hi[:NP]),
                              x[:, :NP])
        dx = np.where(act, xt[:, :NP] - x[:, :NP], 0.0)
        pred = (-(self.grad[rows, :NP] * dx).sum(axis=1)
                - 0.5 * np.einsum("ra,rab,rb->r", dx, self.Sc[rows], dx))
        snorm = (dx * dx).sum(axis=1)
        xnorm = np.where(act, x[:, :NP] ** 2, 0.0).sum(axis=1)
        small = np.sqrt(snorm) <= self.xtol * (np.sqrt(xnorm) + self.xtol)
        self.nfev[rows] += 1
        good, f, sums = _evaluate(self.d, rows, xt)
        if self.prof:
            gi = np.flatnonzero(good)
            xs = xt[gi]
            good[gi] = _profile_sigma(self.d, rows[gi], xs, sums[4][gi], self.lo, self.hi)
            xt[gi] = xs
        phi2, grad2, H2 = _finalize(self.d, rows, xt, sums)
        phi2 = np.where(good, phi2, np.inf)
        self.accept(rows, xt, phi2, pred, f, grad2, H2, small)

    def accept(self, rows, xt, phi2, pred, f, grad2, H2, small) -> None:
        """Gain ratio, acceptance, Nielsen's damping update and the stopping tests of a
        trial step (see :meth:`trial`)."""
        phi = self.phi[rows]
        with np.errstate(all="ignore"):
            rho = np.where(np.isfinite(phi2) & (phi2 <= phi),
                           np.where(pred > 0.0, (phi - phi2) / pred, 1.0), -1.0)
        acc = rho > 1e-4
        ra = rows[acc]
        self.x[ra], self.phi[ra] = xt[acc], phi2[acc]
        self.grad[ra], self.H[ra], self.f[ra] = grad2[acc], H2[acc], f[acc]
        self.fresh[ra] = True
        lam, nu = self.lam[rows], self.nu[rows]
        q = 2.0 * rho - 1.0
        self.lam[rows] = np.where(acc, lam * np.maximum(1.0 / 3.0, 1.0 - q * q * q), lam * nu)
        self.nu[rows] = np.where(acc, 2.0, nu * 2.0)
        rs = rows[small]  # below the resolution of x: stop, a success if within reach
        late = rs[~self.exact[rs]]
        self.dec[late] = self.decrement(late)
        self.finish(rs, np.where(self.dec[rs] < 1e-4, int(Status.SUCCESS),
                                 int(Status.NOT_CONVERGED)))
        self.finish(rows[~small & ~acc & (self.lam[rows] > 1e20)], int(Status.NOT_CONVERGED))


def run_lm_numpy(setup: Setup, batch: SeriesBatch, X0: np.ndarray, *, max_iter: int = 200,
                 ftol: float = 1e-10, xtol: float = 1e-12) -> dict[str, np.ndarray]:
    """:func:`tgsim.fitting.lm.run_lm` on NumPy for the rows :func:`eligible` accepts.

    Parameters and outputs as ``run_lm``: ``X`` (working estimates), ``info`` (Fisher
    information on the working scale, zero for fixed components), ``F`` (fitted values,
    0 past each subject's points), ``objective`` and ``neg2ll`` (-2 log L), ``iterations``,
    ``nfev`` and ``status`` (int8, :class:`tgsim.errors.Status`).
    """
    n, K = batch.n, setup.K
    X0 = np.asarray(X0, np.float64).reshape(n, K)
    if n == 0:
        return {"X": X0.copy(), "info": np.zeros((0, K, K)), "F": np.zeros(batch.T.shape),
                "objective": np.zeros(0), "neg2ll": np.zeros(0),
                "iterations": np.zeros(0, np.int64), "nfev": np.zeros(0, np.int64),
                "status": np.zeros(0, np.int8)}
    run = _Run(setup, batch, X0, ftol, xtol)
    run.start()
    while run.live.any():
        fresh = np.flatnonzero(run.live & run.fresh)
        if fresh.size:
            run.begin(fresh, int(max_iter))
        rows = np.flatnonzero(run.live)
        if rows.size:
            run.trial(rows)
    both = run.free[:, None] & run.free[None, :]
    info = np.where(both, 0.5 * run.H, 0.0)
    F = np.where(run.d.mask, run.f, 0.0)
    return {"X": run.x, "info": info, "F": F, "objective": run.phi.copy(),
            "neg2ll": run.phi.copy(), "iterations": run.it.copy(), "nfev": run.nfev.copy(),
            "status": run.status.astype(np.int8)}


def predict_numpy(setup: Setup, T: np.ndarray, nu: np.ndarray, t0: np.ndarray, P: np.ndarray,
                  jacobian: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Untreated closed-form predictions F (n, m), natural-scale Jacobian J (n, m, NP)
    (columns of the free growth parameters only, else 0) and status per row, as the
    compiled ``fit_predict_rows`` (mode 0) gives them, before :func:`tgsim.fitting.lm.predict`
    blanks failed rows and the points past ``nu``."""
    T = np.asarray(T, np.float64)
    n, m = T.shape
    NP = setup.NP
    J = np.zeros((n, m, NP))
    if n == 0 or m == 0:
        return np.full((n, m), np.nan), J, np.zeros(n, np.int64)
    mask = np.arange(m)[None, :] < np.asarray(nu)[:, None]
    jcols = np.flatnonzero(setup.free[:NP]) if jacobian else np.zeros(0, np.int64)
    with np.errstate(all="ignore"):
        f, g = numpy_volume_vg(setup.model)(T - np.asarray(t0, np.float64)[:, None],
                                            np.asarray(P, np.float64), jcols.size > 0)
        F = np.array(np.broadcast_to(f, (n, m)))
        bad = ~np.all(np.isfinite(F) | ~mask, axis=1)
        for j in jcols:
            J[:, :, j] = g[j]
            bad |= ~np.all(np.isfinite(J[:, :, j]) | ~mask, axis=1)
    status = np.where(bad, int(Status.NON_FINITE), int(Status.SUCCESS)).astype(np.int64)
    return F, J, status
