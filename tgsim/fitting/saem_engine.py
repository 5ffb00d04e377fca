r"""The SAEM engine of :func:`tgsim.fit_population`: several independent runs in one batch.

Every run r has its own fixed effects :math:`\theta_r`, covariance :math:`\Omega_r` and
error parameters, and its own Markov chains (``n_chains`` per subject); all runs' chains
are simulated together, one model evaluation per kernel move for the whole batch. The
runs start from different typical values (run 0 from the medians of the individual fits,
the others displaced by N(0, 0.2²) on the log scale), all with the *capped* initial
variances (at most ``OMEGA2_START_CAP``, as Monolix starts from ω = 1); while exploring,
a variance above the cap may grow by at most 10 % per iteration, so the first
statistics (from the scattered individual fits) do not undo the cap.

Burn-in is extended automatically (:func:`trend_test`): at the end of the planned
exploration phase, and every ``extend`` iterations after, the parameter traces of the
last ``window`` iterations (typical values and coefficients, log variances, log error
parameters, averaged over the runs) are cut into 10 batches; a least-squares line through
the batch means gives the change over the window and its t statistic from the scatter
about the line. A trace *trends* when the change exceeds its tolerance (0.01 on log typical
values and coefficients, i.e. 1 %; 0.05 on log variances and log error parameters) **and**
|t| > 3. While any trace trends, exploration goes on, up to ``max_burn`` iterations; the
smoothing phase (step 1/k) starts after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import lm_numpy
from .data import SeriesBatch
from .lm import Setup, predict
from .saem_design import Design
from .saem_error import EP_BOUNDS, m_step_error, neg2ll_rows

__all__ = ["SaemProblem", "SaemOutput", "run_saem", "trend_test", "OMEGA2_START_CAP"]

#: initial random-effect variances are capped here (omega = 1 on the log scale)
OMEGA2_START_CAP = 1.0
VAR_FLOOR = 1e-6
_TOL_MU, _TOL_VAR, _T_CRIT = 0.01, 0.05, 3.0


@dataclass
class SaemProblem:
    """Everything fixed during SAEM (N kept subjects, p estimated parameters)."""

    setup: Setup            # one row per subject
    batch: SeriesBatch
    use: np.ndarray         # (N, m) measured points
    design: Design
    idx: np.ndarray         # (p,) card indices of the estimated parameters
    re: np.ndarray          # (p,) bool: has a random effect
    fixed_w: np.ndarray     # (N, NP) working values of fixed parameters
    em: str
    covariance: str

    @property
    def N(self) -> int:
        return self.batch.n

    @property
    def n_obs(self) -> int:
        return int(self.use.sum())


@dataclass
class SaemOutput:
    theta: np.ndarray       # (R, q)
    omega: np.ndarray       # (R, p, p)
    ep: np.ndarray          # (R, 2)
    phi: np.ndarray         # (M, NP) last states (run-major, subject, chain)
    n_burn: int             # exploration iterations actually run
    burn_trending: list[str] = field(default_factory=list)  # traces trending at the end
    trend_evidence: str = ""
    trace_theta: np.ndarray | None = None  # (iters, R, q)
    trace_omega2: np.ndarray | None = None  # (iters, R, p)
    trace_ep: np.ndarray | None = None      # (iters, R, 2)


def fast_predict(setup: Setup, b: SeriesBatch, P: np.ndarray, jacobian: bool = False):
    """:func:`tgsim.fitting.lm.predict`, straight to NumPy for untreated closed forms (the
    SAEM loop calls it thousands of times; the dispatch check would dominate)."""
    if setup.mode == 0 and setup.untreated:
        F, J, st = lm_numpy.predict_numpy(setup, b.T, b.nu, b.t0, P, jacobian)
        F = F.copy()
        F[st != 0] = np.nan
        F[np.arange(F.shape[1])[None, :] >= np.asarray(b.nu)[:, None]] = np.nan
        return F, (J if jacobian else None), st.astype(np.int8)
    return predict(setup, b.T, b.nu, b.t0, P, jacobian=jacobian)


class _Chains:
    """Rows of the batch: run-major, then subject, then chain."""

    def __init__(self, prob: SaemProblem, R: int, nc: int):
        N = prob.N
        self.R, self.nc, self.N = R, nc, N
        self.subj = np.tile(np.repeat(np.arange(N), nc), R)
        self.run = np.repeat(np.arange(R), N * nc)
        self.setup = prob.setup.rows(self.subj)
        self.batch = prob.batch.subset(self.subj)
        self.use = prob.use[self.subj]
        self.prob = prob

    def natural(self, ph: np.ndarray) -> np.ndarray:
        return self.setup.to_natural(np.concatenate([ph, np.zeros((ph.shape[0], 2))], 1))

    def u_y(self, ph: np.ndarray, ep: np.ndarray) -> np.ndarray:
        b = self.batch
        F, _, st = fast_predict(self.setup, b, self.natural(ph))
        U = neg2ll_rows(self.prob.em, b.Y, F, ep[self.run], self.use)
        U[st != 0] = np.inf
        return U

    def predictions(self, ph: np.ndarray) -> np.ndarray:
        return fast_predict(self.setup, self.batch, self.natural(ph))[0]


def _mh(ch: _Chains, phi, Uy, prop, mean_row, Oinv_row, ep, rng, *, prior: bool):
    """One Metropolis-Hastings accept/reject over all rows; returns the acceptance rate."""
    idx = ch.prob.idx
    Up = ch.u_y(prop, ep)
    dlog = -0.5 * (Up - Uy)
    if prior:
        d1 = prop[:, idx] - mean_row
        d0 = phi[:, idx] - mean_row
        dlog -= 0.5 * (np.einsum("ni,nij,nj->n", d1, Oinv_row, d1)
                       - np.einsum("ni,nij,nj->n", d0, Oinv_row, d0))
    acc = np.log(rng.uniform(size=Uy.size)) < dlog
    phi[acc], Uy[acc] = prop[acc], Up[acc]
    return float(acc.mean())


def mcmc_sweep(ch: _Chains, phi, Uy, theta, Omega, ep, rng, steps, scales):
    """The three kernels (population proposal, random walk, component-wise walk)."""
    prob = ch.prob
    idx = prob.idx
    p = idx.size
    M = phi.shape[0]
    L = np.linalg.cholesky(Omega)          # (R, p, p)
    Oinv = np.linalg.inv(Omega)
    mean_row = prob.design.mean(theta)[ch.run, ch.subj]  # (M, p)
    L_row, Oinv_row = L[ch.run], Oinv[ch.run]
    sd_row = np.sqrt(np.diagonal(Omega, axis1=1, axis2=2))[ch.run]
    for _ in range(steps[0]):
        prop = phi.copy()
        prop[:, idx] = mean_row + np.einsum("nij,nj->ni", L_row, rng.standard_normal((M, p)))
        _mh(ch, phi, Uy, prop, mean_row, Oinv_row, ep, rng, prior=False)
    for _ in range(steps[1]):
        prop = phi.copy()
        prop[:, idx] += scales[0] * np.einsum("nij,nj->ni", L_row,
                                              rng.standard_normal((M, p)))
        rate = _mh(ch, phi, Uy, prop, mean_row, Oinv_row, ep, rng, prior=True)
        scales[0] *= 1.0 + 0.4 * (rate - 0.4)
    for _ in range(steps[2]):
        for c in range(p):
            prop = phi.copy()
            prop[:, idx[c]] += scales[1 + c] * sd_row[:, c] * rng.standard_normal(M)
            rate = _mh(ch, phi, Uy, prop, mean_row, Oinv_row, ep, rng, prior=True)
            scales[1 + c] *= 1.0 + 0.4 * (rate - 0.4)


def _m_step_theta_omega(prob: SaemProblem, Sphi: np.ndarray, S2: np.ndarray,
                        Omega: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GLS fixed effects and Omega from the statistics of one run (two alternations)."""
    X = prob.design.X
    N = prob.N
    theta = None
    for _ in range(2 if prob.covariance == "full" and prob.design.has_covariates else 1):
        Oi = np.linalg.inv(Omega)
        A = np.einsum("npq,pk,nkr->qr", X, Oi, X)
        rhs = np.einsum("npq,pk,nk->q", X, Oi, Sphi)
        theta = np.linalg.solve(A, rhs)
        m = X @ theta                                   # (N, p)
        Om = (S2 - Sphi.T @ m - m.T @ Sphi + m.T @ m) / N
        Omega = 0.5 * (Om + Om.T)
    return theta, Omega


def _constrain(prob: SaemProblem, Om_new: np.ndarray, Om_old: np.ndarray,
               exploring: bool) -> np.ndarray:
    """Covariance structure, annealing and floors."""
    p = Om_new.shape[0]
    re = prob.re
    if prob.covariance == "diagonal":
        Om_new = np.diag(np.diag(Om_new))
    else:  # random effects correlated among themselves only
        Om_new = np.where(np.outer(re, re) | np.eye(p, dtype=bool), Om_new, 0.0)
    d_old = np.diag(Om_old)
    d_new = np.diag(Om_new).copy()
    if exploring:
        d_new = np.maximum(d_new, 0.95 * d_old)  # simulated annealing
        # the cap of the start holds while exploring: above it, growth of 10 % a step
        d_new = np.minimum(d_new, np.maximum(OMEGA2_START_CAP, 1.1 * d_old))
        d_new[~re] = np.maximum(0.9 * d_old[~re], VAR_FLOOR)
    else:
        d_new[~re] = VAR_FLOOR
    d_new = np.maximum(d_new, 1e-10)
    # keep correlations strictly inside (-1, 1)
    s_old = np.sqrt(np.diag(Om_new).clip(1e-300))
    C = Om_new / np.outer(s_old, s_old)
    np.fill_diagonal(C, 1.0)
    C = np.clip(C, -0.995, 0.995)
    np.fill_diagonal(C, 1.0)
    s = np.sqrt(d_new)
    return C * np.outer(s, s)


def trend_test(theta: np.ndarray, omega2: np.ndarray, ep: np.ndarray, labels: list[str],
               n_err: int) -> tuple[list[str], str]:
    """Traces (window, R, .) -> the labels of trending traces and a line of evidence."""
    series = [theta.mean(axis=1)]
    series.append(np.log(omega2).mean(axis=1))
    series.append(np.log(ep[..., :n_err]).mean(axis=1))
    X = np.concatenate(series, axis=1)  # (W, K)
    tol = np.r_[np.full(theta.shape[2], _TOL_MU), np.full(omega2.shape[2] + n_err, _TOL_VAR)]
    W = X.shape[0]
    nb = 10
    bm = X[: W - W % nb].reshape(nb, -1, X.shape[1]).mean(axis=1)
    x = np.arange(nb) - (nb - 1) / 2
    slope = (x[:, None] * bm).sum(0) / (x**2).sum()
    resid = bm - bm.mean(0) - slope * x[:, None]
    se = np.sqrt((resid**2).sum(0) / (nb - 2) / (x**2).sum())
    change = slope * nb
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(slope) / se
    bad = (np.abs(change) > tol) & (t > _T_CRIT)
    trending = [labels[k] for k in np.flatnonzero(bad)]
    ev = "; ".join(f"{labels[k]} changed by {change[k]:+.3g} over the last {W} iterations "
                   f"(t = {t[k]:.1f}, tolerance {tol[k]:g})" for k in np.flatnonzero(bad))
    return trending, ev


def _init_runs(prob: SaemProblem, theta0, om0, ep0, R, rng):
    q, p = theta0.size, om0.size
    theta = np.repeat(theta0[None], R, 0)
    if R > 1:
        theta[1:, prob.design.is_mu] += 0.2 * rng.standard_normal((R - 1, p))
    Omega = np.repeat(np.diag(om0)[None], R, 0)
    ep = np.repeat(np.asarray(ep0, float)[None], R, 0)
    assert theta.shape == (R, q)
    return theta, Omega, ep


def run_saem(prob: SaemProblem, phi0: np.ndarray, theta0: np.ndarray, om0: np.ndarray,
             ep0: np.ndarray, *, rng: np.random.Generator, n_burn: int, n_iter: int,
             max_burn: int, n_runs: int, n_chains: int, steps: tuple[int, int, int],
             trace_labels: list[str], bar=None) -> SaemOutput:
    """Run SAEM; see the module docstring."""
    R, nc, N, idx = n_runs, n_chains, prob.N, prob.idx
    ch = _Chains(prob, R, nc)
    theta, Omega, ep = _init_runs(prob, theta0, om0, ep0, R, rng)
    phi = phi0[ch.subj].copy()
    Uy = ch.u_y(phi, ep)
    Uy[~np.isfinite(Uy)] = 1e300
    Sphi = phi[:, idx].reshape(R, N, nc, -1).mean(axis=2)
    S2 = np.einsum("rnci,rncj->rij", *(2 * [phi[:, idx].reshape(R, N, nc, -1)])) / nc
    scales = [np.full(1 + idx.size, 0.5) for _ in range(1)]
    cap = int(max(max_burn, n_burn)) + int(n_iter)
    tr_th, tr_om, tr_ep = np.zeros((cap, R, theta.shape[1])), np.zeros((cap, R, idx.size)), \
        np.zeros((cap, R, 2))
    burn_end, it, trending, evidence = int(n_burn), 0, [], ""
    window = max(50, min(int(n_burn), 200))
    extend = max(25, window // 2)
    n_err = 2 if prob.em == "combined" else 1
    while it < burn_end + n_iter:
        exploring = it < burn_end
        mcmc_sweep(ch, phi, Uy, theta, Omega, ep, rng, steps, scales[0])
        gamma = 1.0 if exploring else 1.0 / (it - burn_end + 1)
        P4 = phi[:, idx].reshape(R, N, nc, -1)
        Sphi += gamma * (P4.mean(axis=2) - Sphi)
        S2 += gamma * (np.einsum("rnci,rncj->rij", P4, P4) / nc - S2)
        F = ch.predictions(phi)
        per = N * nc
        for r in range(R):
            th, Om = _m_step_theta_omega(prob, Sphi[r], S2[r], Omega[r])
            Omega[r] = _constrain(prob, Om, Omega[r], exploring)
            theta[r] = th
            sl = slice(r * per, (r + 1) * per)
            e_new = m_step_error(prob.em, ch.batch.Y[sl], F[sl], ch.use[sl], 1.0 / nc, ep[r])
            if it == 0:
                ep_r = e_new
            else:
                ep_r = ep[r] + gamma * (e_new - ep[r])
            if exploring:
                ep_r = np.maximum(ep_r, 0.95 * ep[r])
            ep[r] = _clip_ep(prob.em, ep_r)
        Uy = ch.u_y(phi, ep)
        Uy[~np.isfinite(Uy)] = 1e300
        tr_th[it], tr_om[it], tr_ep[it] = theta, np.diagonal(Omega, axis1=1, axis2=2), ep
        it += 1
        if it == burn_end and it >= window:
            re_cols = np.flatnonzero(prob.re)
            trending, evidence = trend_test(tr_th[it - window:it],
                                            tr_om[it - window:it][:, :, re_cols],
                                            tr_ep[it - window:it], trace_labels, n_err)
            if trending and burn_end < max_burn:
                burn_end = min(burn_end + extend, int(max_burn))
        if bar is not None:
            bar.update(1)
    return SaemOutput(theta=theta, omega=Omega, ep=ep, phi=phi, n_burn=burn_end,
                      burn_trending=trending, trend_evidence=evidence,
                      trace_theta=tr_th[:it], trace_omega2=tr_om[:it], trace_ep=tr_ep[:it])


def _clip_ep(em: str, ep: np.ndarray) -> np.ndarray:
    lo, hi = EP_BOUNDS["additive" if em == "additive" else "sigma"]
    out = ep.copy()
    out[0] = min(max(out[0], lo), hi)
    if em == "combined":
        out[0] = min(max(ep[0], EP_BOUNDS["additive"][0]), EP_BOUNDS["additive"][1])
        out[1] = min(max(ep[1], EP_BOUNDS["sigma"][0]), EP_BOUNDS["sigma"][1])
    return out


def conditional_sample(prob: SaemProblem, phi: np.ndarray, theta: np.ndarray,
                       Omega: np.ndarray, ep: np.ndarray, *, rng: np.random.Generator,
                       R: int, nc: int, n_sweeps: int, steps=(2, 2, 2)):
    """Draws from every subject's conditional distribution at the final estimates.

    Returns the conditional mean (N, p) and covariance (N, p, p) of the estimated
    components, from ``n_sweeps`` sweeps of all chains (after as many to settle).
    """
    ch = _Chains(prob, R, nc)
    th = np.repeat(theta[None], R, 0)
    Om = np.repeat(Omega[None], R, 0)
    e = np.repeat(ep[None], R, 0)
    Uy = ch.u_y(phi, e)
    Uy[~np.isfinite(Uy)] = 1e300
    scales = np.full(1 + prob.idx.size, 0.5)
    N, p = prob.N, prob.idx.size
    s1, s2 = np.zeros((N, p)), np.zeros((N, p, p))
    count = 0
    for k in range(2 * n_sweeps):
        mcmc_sweep(ch, phi, Uy, th, Om, e, rng, steps, scales)
        if k >= n_sweeps:
            x = phi[:, prob.idx]
            np.add.at(s1, ch.subj, x)
            np.add.at(s2, ch.subj, x[:, :, None] * x[:, None, :])
            count += R * nc
    m = s1 / count
    C = s2 / count - m[:, :, None] * m[:, None, :]
    return m, C, phi

