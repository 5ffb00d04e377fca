"""Compiled helpers of the fitter that do not depend on the card (compiled once, cached).

* :func:`covariance_rows` — the asymptotic covariance of every fitted subject on the working
  and the reported scale (the per-subject form of :mod:`tgsim.fitting.covariance`, run in
  parallel); rows it cannot settle exactly are flagged for the NumPy path;
  :func:`result_rows` — standard errors, Wald intervals and residuals.
* :func:`series_features` — per-subject summaries of the data used to build starting values
  (:func:`tgsim.fitting.lm.heuristic_start`), and :func:`integral_start`, starting values of
  the Gompertz and logistic laws by the integral method (linear least squares).

* :func:`start_guess` — the starting rows of :func:`tgsim.fitting.lm.heuristic_start` in one
  pass (the features, the integral method and the per-parameter rules).
* :func:`count_rows` and :func:`compact_rows` — validation and compaction of raw (subject,
  obs) arrays for :func:`tgsim.fitting.data.as_batch`.

The first two work on the compact arrays of :class:`tgsim.fitting.data.SeriesBatch` and take
no Python objects, so they are called directly with NumPy arrays.

Each public function runs its NumPy implementation (:mod:`tgsim.fitting._rows_numpy`) instead
of its compiled kernel when that kernel is not compiled or cached yet and the batch is
small (:func:`tgsim.fitting.paths.use_numpy`), so a first small fit compiles nothing.
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numba import njit

from ..engine.kernels.cache import guard_module
from ..engine.kernels.rows import run_rows
from . import _rows_numpy
from .paths import use_numpy

__all__ = ["covariance_rows", "result_rows", "series_features", "integral_start", "INTEGRAL_LAWS",
           "CHUNK", "count_rows", "compact_rows", "start_guess"]

#: rows per parallel task
CHUNK = 64
#: a working component within this fraction of max(span, 1) of a bound is "at the bound"
BOUND_TOL = 1e-9
#: eigenvalue ratio below which a direction of the information counts as singular
SINGULAR = 1e-12


@njit(cache=True, error_model="numpy", _nrt=False)
def _cov_one(s, X, INFO, free, lo, hi, scale, NP, combined, FAC, CW, C, ATB, A, L, Ainv, idx,
             d):
    """Covariance of row s; returns False when the row needs the eigenvalue path.

    Rows are sliced here, in a function without reference counting, not by the caller.
    """
    x, info, cw, c, atb, fac = X[s], INFO[s], CW[s], C[s], ATB[s], FAC[s]
    K = x.shape[0]
    q = c.shape[0]
    m = 0
    for a in range(K):
        tol = BOUND_TOL * max(hi[a] - lo[a], 1.0)
        atb[a] = free[a] == 1 and (x[a] - lo[a] <= tol or hi[a] - x[a] <= tol)
        if free[a] == 1 and not atb[a]:
            idx[m] = a
            m += 1
    finite = True
    for i in range(m):
        for j in range(m):
            v = info[idx[i], idx[j]]
            A[i, j] = v
            if not math.isfinite(v):
                finite = False
    if finite and m > 0:
        # Cholesky A = L L' (d holds 1 / L[i, i]: one division per row, not per entry)
        for i in range(m):
            for j in range(i + 1):
                s = A[i, j]
                for k in range(j):
                    s -= L[i, k] * L[j, k]
                if i == j:
                    if not s > 0.0:
                        return False
                    L[i, i] = math.sqrt(s)
                    d[i] = 1.0 / L[i, i]
                else:
                    L[i, j] = s * d[j]
        # A^-1 = L^-T L^-1, column by column
        for col in range(m):
            for i in range(m):
                s = 1.0 if i == col else 0.0
                for k in range(i):
                    s -= L[i, k] * Ainv[k, col]
                Ainv[i, col] = s * d[i]
            for i in range(m - 1, -1, -1):
                s = Ainv[i, col]
                for k in range(i + 1, m):
                    s -= L[k, i] * Ainv[k, col]
                Ainv[i, col] = s * d[i]
        # lambda_min / lambda_max >= 1 / (tr A tr A^-1): certainly not singular above this
        tra = 0.0
        tri = 0.0
        for i in range(m):
            tra += A[i, i]
            tri += Ainv[i, i]
        if not (tri > 0.0 and tra * tri < 1.0 / SINGULAR):
            return False
    for a in range(K):
        for b in range(K):
            cw[a, b] = 0.0
    for i in range(m):
        for j in range(m):
            cw[idx[i], idx[j]] = 0.5 * (Ainv[i, j] + Ainv[j, i]) if finite else np.nan
    for a in range(K):
        if atb[a]:
            for b in range(K):
                cw[a, b] = np.nan
                cw[b, a] = np.nan
    for a in range(K):
        if free[a] == 0:
            for b in range(K):
                cw[a, b] = 0.0
                cw[b, a] = 0.0
    for a in range(K):
        for b in range(K):
            cw[a, b] *= fac
    # reported scale: C = D cw D' with D = d(reported)/d(working), sparse; d holds the
    # diagonal of the growth part (p for a log-scale parameter, else 1)
    for a in range(NP):
        d[a] = math.exp(x[a]) if scale[a] == 1 else 1.0
    for a in range(q):
        for b in range(q):
            c[a, b] = 0.0
    for a in range(NP):
        for b in range(NP):
            c[a, b] = d[a] * cw[a, b] * d[b]
    sig = math.exp(x[NP])
    if combined:
        aa = sig * math.exp(x[NP + 1])
        # a = sigma c: d a = a (d log sigma + d log c); b = sigma: d b = b d log sigma
        for b in range(NP):
            db = d[b]
            v = aa * (cw[NP, b] + cw[NP + 1, b]) * db
            c[NP, b] = v
            c[b, NP] = v
            v = sig * cw[NP, b] * db
            c[NP + 1, b] = v
            c[b, NP + 1] = v
        c[NP, NP] = aa * aa * (cw[NP, NP] + cw[NP, NP + 1] + cw[NP + 1, NP]
                               + cw[NP + 1, NP + 1])
        v = aa * sig * (cw[NP, NP] + cw[NP + 1, NP])
        c[NP, NP + 1] = v
        c[NP + 1, NP] = v
        c[NP + 1, NP + 1] = sig * sig * cw[NP, NP]
    else:
        for b in range(NP):
            db = d[b]
            v = sig * cw[NP, b] * db
            c[NP, b] = v
            c[b, NP] = v
        c[NP, NP] = sig * sig * cw[NP, NP]
    # a reported parameter built from an undetermined component is undetermined throughout
    for a in range(q):
        if math.isnan(c[a, a]):
            for b in range(q):
                c[a, b] = np.nan
                c[b, a] = np.nan
    return True


@njit(cache=True, error_model="numpy", nogil=True)
def _covariance_rows_range(start, stop, X, INFO, free, lo, hi, scale, NP, combined, fac, CW, C, ATB,
                           fallback):
    """covariance_rows for rows start..stop-1 (GIL released; see covariance_rows)."""
    n, K = X.shape
    A = np.empty((K, K))
    L = np.zeros((K, K))
    Ainv = np.empty((K, K))
    idx = np.empty(K, dtype=np.int64)
    d = np.empty(K)
    for s in range(start, stop):
        fallback[s] = not _cov_one(s, X, INFO, free, lo, hi, scale, NP, combined, fac, CW,
                                   C, ATB, A, L, Ainv, idx, d)


def covariance_rows(X, INFO, free, lo, hi, scale, NP, combined, fac, CW, C, ATB, fallback) -> None:
    """Working (CW, n x K x K) and reported (C, n x q x q) covariances of fitted rows.

    INFO[s] is the Fisher information on the working scale, fac[s] the degrees-of-freedom
    factor (1 without correction; NaN when there are no residual degrees of freedom).
    Components at a bound (ATB) get NaN, fixed ones zero. Rows whose information is not
    positive definite, or whose eigenvalue ratio may fall below 1e-12, get fallback[s] =
    True and are left for :func:`tgsim.fitting.covariance.working_covariance`. On the NumPy
    path (:func:`tgsim.fitting.paths.use_numpy`) every row is left to it.
    """
    if use_numpy(X.shape[0], _covariance_rows_range):  # every row to the eigenvalue path
        fallback[:] = True
        return
    run_rows(_covariance_rows_range, X.shape[0], X, INFO, free, lo, hi, scale, NP, combined, fac,
             CW, C, ATB, fallback)


@njit(cache=True, error_model="numpy", nogil=True)
def _series_features_range(start, stop, T, Y, W, nu, t0, out):
    """series_features for rows start..stop-1 (GIL released; see series_features)."""
    n, m = T.shape
    buf = np.empty(max(m, 1))
    for s in range(start, stop):
        _features_one(s, T, Y, W, nu, t0, buf, out)


def series_features(T, Y, W, nu, t0, out) -> None:
    """Summaries of each subject's measured, positive points for starting values.

    out[s] = (slope, intercept, first log value, max, median, second-half slope):
    slope/intercept of a least-squares line through log values of the first (up to) four
    positive measured points against time since t0 (NaN slope with fewer than two points
    or no spread), the log of the first positive measured value, the largest and the
    median positive measured value (NaN when there is none), and the mean slope between
    the measured point of rank nm // 2 + 1 and the last one (NaN with fewer than three
    measured points). Only points with W == 1 and column < nu[s] count as measured.
    """
    if use_numpy(T.shape[0], _series_features_range):
        return _rows_numpy.series_features(T, Y, W, nu, t0, out)
    run_rows(_series_features_range, T.shape[0], T, Y, W, nu, t0, out)


@njit(cache=True, error_model="numpy", _nrt=False)
def _features_one(s, TT, YY, WW, NU, T0, buf, OUT):
    """series_features for row s (buf: work space of the row length)."""
    _features_one_into(TT[s], YY[s], WW[s], NU[s], T0[s], buf, OUT[s])


@njit(cache=True, error_model="numpy", _nrt=False)
def _features_one_into(T, Y, W, nu, t0, buf, out):
    """series_features of one series (T, Y, W its rows, nu its usable points)."""
    k = 0
    sx = sy = sxx = sxy = 0.0
    first = np.nan
    vmax = -np.inf
    npos = 0
    nmeas = 0
    for j in range(nu):
        if W[j] != 1.0:
            continue
        nmeas += 1
        y = Y[j]
        if not y > 0.0:
            continue
        if npos == 0:
            first = math.log(y)
        # insertion into the sorted prefix buf[:npos] (series are short)
        i = npos
        while i > 0 and buf[i - 1] > y:
            buf[i] = buf[i - 1]
            i -= 1
        buf[i] = y
        npos += 1
        if y > vmax:
            vmax = y
        if k < 4:
            ly = math.log(y)
            x = T[j] - t0
            sx += x
            sy += ly
            sxx += x * x
            sxy += x * ly
            k += 1
    den = k * sxx - sx * sx
    slope = (k * sxy - sx * sy) / den if (k >= 2 and den > 0.0) else np.nan
    icpt = (sy - (slope if math.isfinite(slope) else 0.0) * sx) / max(k, 1)
    if npos == 0:
        vmax = np.nan
        med = np.nan
    else:
        h = npos // 2
        med = buf[h] if npos % 2 == 1 else 0.5 * (buf[h - 1] + buf[h])
    lin = np.nan
    if nmeas >= 3:
        h = nmeas // 2 + 1
        rank = 0
        ih = -1
        il = -1
        for j in range(nu):
            if W[j] != 1.0:
                continue
            rank += 1
            if rank == h:
                ih = j
            il = j
        dt = T[il] - T[ih]
        if dt > 0.0:
            lin = (Y[il] - Y[ih]) / dt
    out[0] = slope
    out[1] = icpt
    out[2] = first
    out[3] = vmax
    out[4] = med
    out[5] = lin


#: laws with an integral-method start: du/dt = A - B u (Gompertz), du/dt = A - B V (logistic)
INTEGRAL_LAWS = {"gompertz": 0, "logistic": 1}


@njit(cache=True, error_model="numpy", nogil=True)
def _integral_start_range(start, stop, T, Y, W, nu, t0, law, out):
    """integral_start for rows start..stop-1 (GIL released; see integral_start)."""
    n, m = T.shape
    for s in range(start, stop):
        _integral_one(s, T, Y, W, nu, t0, law, out)


def integral_start(T, Y, W, nu, t0, law, out) -> None:
    """Starting values (V0, r, K) by the integral method, NaN where it does not apply.

    In u = log V the Gompertz law is du/dt = r log K - r u and the logistic law is
    du/dt = r - (r/K) V, both linear in two combinations of the parameters. Integrating
    from the first measured point, u_k = c + A x_k - B I_k with x_k the time since that
    point and I_k the trapezoid integral of u (Gompertz) or V (logistic) up to x_k: a
    linear least-squares problem in (c, A, B), no search. Gompertz: r = B, K = exp(A/B);
    logistic: r = A, K = A/B; V0 follows by running the closed form back to t0.

    Needs four positive measured points; NaN when the fit gives no growth-then-saturation
    (r or K not positive and finite).
    """
    if use_numpy(T.shape[0], _integral_start_range):
        return _rows_numpy.integral_start(T, Y, W, nu, t0, law, out)
    run_rows(_integral_start_range, T.shape[0], T, Y, W, nu, t0, law, out)


#: start rules of :func:`start_guess`, per growth parameter
RULE_DEFAULT, RULE_V0, RULE_RATE, RULE_CAPACITY, RULE_LINEAR, RULE_RESISTANT, RULE_POWER = range(7)


@njit(cache=True, error_model="numpy", nogil=True)
def _start_guess_range(start, stop, T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi, scale, X):
    """start_guess for rows start..stop-1 (GIL released; see start_guess)."""
    n, m = T.shape
    NP = rules.shape[0]
    buf = np.empty(max(m, 1))
    feat = np.empty(6)
    est = np.empty(3)
    P = np.empty(NP)
    for s in range(start, stop):
        _start_one(s, T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi, scale, X, buf,
                   feat, est, P)


def start_guess(T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi, scale, X) -> None:
    """Working-scale starting rows X (n, K) of :func:`tgsim.fitting.lm.heuristic_start`.

    Per subject, from :func:`series_features` (slope, intercept, first log value, max,
    median, second-half slope), a data-driven guess for each growth parameter by its rule
    (the card default where the guess is not finite and positive):

    * RULE_V0: exp(intercept) when the slope is positive, else the first value;
    * RULE_RATE: the slope clipped to [1e-3, 2] (a specific growth rate);
    * RULE_CAPACITY: twice the largest value; RULE_LINEAR: the second-half slope;
    * RULE_RESISTANT: 0.7 times RULE_RATE;
    * RULE_POWER: (the rate, or 0.1, plus the value of column aux[1] when aux[1] >= 0)
      times median^(1 - gamma), gamma the value of column aux[0] (power law, Bertalanffy).

    With law >= 0 the integral-method estimates (:func:`integral_start`) then replace
    columns aux[2], aux[3], aux[4] (V0, r, K) where finite; for the logistic law (1) only
    where K is at least the largest value. Values are clipped to the natural bounds
    [lo, hi] and taken to the working scale (log where scale is 1); X[:, NP:] is zero.
    """
    if use_numpy(T.shape[0], _start_guess_range):
        return _rows_numpy.start_guess(T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi,
                                       scale, X)
    run_rows(_start_guess_range, T.shape[0], T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi,
             scale, X)


@njit(cache=True, error_model="numpy", _nrt=False)
def _start_one(s, T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi, scale, X, buf, feat,
               est, P):
    """start_guess for row s (feat (6,), est (3,), P (NP,): work space)."""
    NP = rules.shape[0]
    x = X[s]
    _features_one_into(T[s], Y[s], W[s], nu[s], t0[s], buf, feat)
    slope, icpt, first_ly, vmax, vmed, lin = feat[0], feat[1], feat[2], feat[3], feat[4], feat[5]
    v0 = np.nan
    if math.isfinite(vmax):
        v0 = math.exp(icpt) if slope > 0.0 else math.exp(first_ly)
    rate = np.nan
    if math.isfinite(slope):
        rate = min(max(slope, 1e-3), 2.0)
    for j in range(NP):
        P[j] = defaults[j]
    for j in range(NP):
        r = rules[j]
        g = np.nan
        if r == RULE_V0:
            g = v0
        elif r == RULE_RATE:
            g = rate
        elif r == RULE_CAPACITY:
            g = 2.0 * vmax
        elif r == RULE_LINEAR:
            g = lin
        elif r == RULE_RESISTANT:
            g = 0.7 * rate
        if math.isfinite(g) and g > 0.0:
            P[j] = g
    if law >= 0:
        _integral_one_into(T[s], Y[s], W[s], nu[s], t0[s], law, est)
        if law != 1 or est[2] >= vmax:
            for c in range(3):
                g = est[c]
                if math.isfinite(g) and g > 0.0:
                    P[aux[2 + c]] = g
    for j in range(NP):
        if rules[j] == RULE_POWER:
            gam = P[aux[0]]
            loss = P[aux[1]] if aux[1] >= 0 else 0.0
            base = rate if math.isfinite(rate) else 0.1
            g = (base + loss) * vmed ** (1.0 - gam)
            if math.isfinite(g) and g > 0.0:
                P[j] = g
    for j in range(NP):
        v = min(max(P[j], lo[j]), hi[j])
        x[j] = math.log(v) if scale[j] == 1 else v
    for j in range(NP, x.shape[0]):
        x[j] = 0.0


@njit(cache=True, error_model="numpy", _nrt=False)
def _integral_one(s, TT, YY, WW, NU, T0, law, OUT):
    """integral_start for row s."""
    _integral_one_into(TT[s], YY[s], WW[s], NU[s], T0[s], law, OUT[s])


@njit(cache=True, error_model="numpy", _nrt=False)
def _integral_one_into(T, Y, W, nu, t0, law, out):
    """integral_start of one series."""
    out[0] = np.nan
    out[1] = np.nan
    out[2] = np.nan
    k = 0
    t1 = 0.0
    tp = 0.0
    gp = 0.0
    integ = 0.0
    sx = sz = su = sxx = szz = sxz = sxu = szu = 0.0
    for j in range(nu):
        y = Y[j]
        if W[j] != 1.0 or not y > 0.0:
            continue
        u = math.log(y)
        g = u if law == 0 else y
        if k == 0:
            t1 = T[j]
        else:
            integ += 0.5 * (g + gp) * (T[j] - tp)
        x = T[j] - t1
        z = -integ
        sx += x
        sz += z
        su += u
        sxx += x * x
        szz += z * z
        sxz += x * z
        sxu += x * u
        szu += z * u
        tp = T[j]
        gp = g
        k += 1
    if k < 4:
        return
    # centred normal equations for (A, B); c from the means
    cxx = sxx - sx * sx / k
    czz = szz - sz * sz / k
    cxz = sxz - sx * sz / k
    cxu = sxu - sx * su / k
    czu = szu - sz * su / k
    det = cxx * czz - cxz * cxz
    if not det > 1e-12 * cxx * czz:
        return
    A = (czz * cxu - cxz * czu) / det
    B = (cxx * czu - cxz * cxu) / det
    c = (su - A * sx - B * sz) / k
    dt0 = t1 - t0
    if law == 0:
        r = B
        if not r > 0.0:
            return
        logk = A / B
        u0 = logk + (c - logk) * math.exp(B * dt0)
        K = math.exp(logk)
        V0 = math.exp(u0)
    else:
        r = A
        if not (r > 0.0 and B > 0.0):
            return
        K = A / B
        V0 = K / (1.0 + (K / math.exp(c) - 1.0) * math.exp(A * dt0))
    if math.isfinite(K) and K > 0.0 and math.isfinite(V0) and V0 > 0.0 and math.isfinite(r):
        out[0] = V0
        out[1] = r
        out[2] = K


@njit(cache=True, error_model="numpy", nogil=True)
def _result_rows_range(start, stop, est, cov, free_q, log_type, tq, F, Y, nu, emodel, NP, se, lo,
                       hi, resid, wres):
    """result_rows for rows start..stop-1 (GIL released; see result_rows)."""
    n, q = est.shape
    m = F.shape[1]
    for s in range(start, stop):
        t = tq[s]
        for j in range(q):
            v = cov[s, j, j]
            e = est[s, j]
            if not free_q[j]:
                se[s, j] = np.nan
                lo[s, j] = np.nan
                hi[s, j] = np.nan
                continue
            sd = math.sqrt(v) if v > 0.0 else (0.0 if v <= 0.0 else np.nan)
            se[s, j] = sd
            if log_type[j] and e > 0.0:
                rel = sd / abs(e)
                lo[s, j] = e * math.exp(-t * rel)
                hi[s, j] = e * math.exp(t * rel)
            else:
                lo[s, j] = e - t * sd
                hi[s, j] = e + t * sd
        for k in range(m):
            f = F[s, k]
            if k >= nu[s] or math.isnan(f):
                F[s, k] = np.nan
                resid[s, k] = np.nan
                wres[s, k] = np.nan
                continue
            y = Y[s, k]
            r = y - f
            resid[s, k] = r
            if emodel == 3:
                wres[s, k] = (math.log(y) - math.log(f)) / est[s, NP]
            elif emodel == 0:
                wres[s, k] = r / est[s, NP]
            elif emodel == 1:
                wres[s, k] = r / (est[s, NP] * f)
            else:
                wres[s, k] = r / (est[s, NP] + est[s, NP + 1] * f)


def result_rows(est, cov, free_q, log_type, tq, F, Y, nu, emodel, NP, se, lo, hi, resid,
                wres) -> None:
    """Standard errors, Wald intervals and residuals of every subject (one pass per row).

    se = sqrt(max(diag(cov), 0)) (NaN where the variance is NaN or the parameter is not
    estimated); intervals q exp(+-t se/|q|) for a positive parameter with log_type, else
    q +- t se (t = tq[s]); residuals y - f and weighted residuals (y - f)/sd (log y - log
    f over sigma for the log-normal model), NaN past nu[s] and where f is NaN (F is set
    to NaN there too). Error models as in the fitting kernel (emodel 0-3).
    """
    if use_numpy(est.shape[0], _result_rows_range):
        return _rows_numpy.result_rows(est, cov, free_q, log_type, tq, F, Y, nu, emodel, NP,
                                       se, lo, hi, resid, wres)
    run_rows(_result_rows_range, est.shape[0], est, cov, free_q, log_type, tq, F, Y, nu, emodel, NP,
             se, lo, hi, resid, wres)


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _unusable(t, y, log_scale):
    """Why a point is left out of a fit: 0 usable, 1 time or value NaN, 2 a value that is
    not positive under a log-scale error model."""
    if math.isnan(t) or math.isnan(y):
        return 1
    if log_scale and not y > 0.0:
        return 2
    return 0


@njit(cache=True, error_model="numpy", nogil=True)
def _count_rows_range(start, stop, T, Y, check_negative, log_scale, nu, flags):
    """count_rows for rows start..stop-1 (GIL released; see count_rows)."""
    n, m = Y.shape
    shared = T.shape[0] == 1
    for s in range(start, stop):
        r = 0 if shared else s
        k = 0
        inf = -1
        neg = -1
        nlog = 0
        some = 0
        for o in range(m):
            t = T[r, o]
            y = Y[s, o]
            if inf < 0 and (math.isinf(t) or math.isinf(y)):
                inf = o
            if check_negative and neg < 0 and y < 0.0:
                neg = o
            if not (math.isnan(t) and math.isnan(y)):
                some += 1
            why = _unusable(t, y, log_scale)
            if why == 2:
                nlog += 1
            if why == 0:
                k += 1
        nu[s] = k
        flags[s, 0] = inf
        flags[s, 1] = neg
        flags[s, 2] = nlog
        flags[s, 3] = some


def count_rows(T, Y, check_negative, log_scale, nu, flags) -> None:
    """First pass of :func:`tgsim.fitting.data.as_batch` over raw (subject, obs) arrays.

    T has one row per subject, or a single row shared by all. For each subject:
    nu[s] usable points (time and value not NaN, and, when ``log_scale``, the value
    > 0), and flags[s] = (first column with an infinite time or value, first column with
    a negative value when ``check_negative`` (-1 where there is none), number of points
    left out for the log scale, number of points with a time or a value).
    """
    if use_numpy(Y.shape[0], _count_rows_range):
        return _rows_numpy.count_rows(T, Y, check_negative, log_scale, nu, flags)
    run_rows(_count_rows_range, Y.shape[0], T, Y, check_negative, log_scale, nu, flags)


@njit(cache=True, error_model="numpy", nogil=True)
def _compact_rows_range(start, stop, T, Y, C, log_scale, nu, Tc, Yc, Wc, OI, unsorted, alleq):
    """compact_rows for rows start..stop-1 (GIL released; see compact_rows)."""
    n, m = Y.shape
    width = Tc.shape[1]
    shared = T.shape[0] == 1
    for s in range(start, stop):
        r = 0 if shared else s
        k = 0
        for o in range(m):
            t = T[r, o]
            y = Y[s, o]
            if _unusable(t, y, log_scale) != 0 or k >= width:
                continue
            Tc[s, k] = t
            Yc[s, k] = y
            Wc[s, k] = 2.0 if C[s, o] else 1.0
            OI[s, k] = o
            k += 1
        last = Tc[s, k - 1] if k > 0 else 0.0
        for j in range(k, width):
            Tc[s, j] = last
            Yc[s, j] = 0.0
            Wc[s, j] = 0.0
            OI[s, j] = -1
        first = -1
        for j in range(k - 1):
            if not Tc[s, j + 1] > Tc[s, j]:
                first = j
                break
        unsorted[s] = first
        nmeas = 0
        same = True
        ref = 0.0
        for j in range(k):
            if Wc[s, j] != 1.0:
                continue
            if nmeas == 0:
                ref = Yc[s, j]
            elif Yc[s, j] != ref:
                same = False
            nmeas += 1
        alleq[s] = same and nmeas >= 2


def compact_rows(T, Y, C, log_scale, nu, Tc, Yc, Wc, OI, unsorted, alleq) -> None:
    """Second pass of :func:`tgsim.fitting.data.as_batch`: the usable points of each subject
    (see :func:`count_rows`), moved to the front of its row in input order.

    Padding after nu[s]: the last usable time (0 when none), value 0, kind 0, index -1.
    Kinds: 1 measured, 2 left-censored (C true). unsorted[s] is the first compact column
    i with T[i + 1] <= T[i] (-1 when the times increase strictly); alleq[s] is True when
    the subject has two or more measured values, all identical.
    """
    if use_numpy(Y.shape[0], _compact_rows_range):
        return _rows_numpy.compact_rows(T, Y, C, log_scale, nu, Tc, Yc, Wc, OI, unsorted,
                                        alleq)
    run_rows(_compact_rows_range, Y.shape[0], T, Y, C, log_scale, nu, Tc, Yc, Wc, OI, unsorted,
             alleq)


# a cache entry that cannot be read is rebuilt, not an UnpicklingError (see _kernels.cache)
guard_module(sys.modules[__name__])
