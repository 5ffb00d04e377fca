"""Numba kernels of the spread model (arrays only; card-independent).

The emission intensity of one primary is stored piecewise on a shared grid of nodes
``w[0] < ... < w[L]`` (days). On piece ``j`` (``w[j] <= t < w[j+1]``) the rate is
``beta(t) = amp[j] * exp(kk[j] * (t - w[j]))`` (colonies/day). ``C[j]`` is the continuous
cumulative intensity up to ``w[j]`` and ``Acum[j]`` the cumulative point masses (shed
colonies) at nodes ``<= w[j]``. Everything is float64; kernels write in place and never
raise: they are compiled with ``error_model="numpy"`` (a division by zero gives inf/NaN,
as NumPy does, instead of an exception from inside Numba).
"""

from __future__ import annotations

import math
import sys

import numpy as np
from numba import njit, prange

from ..engine.kernels.cache import guard_module

__all__ = [
    "expm1_over",
    "lam_cont",
    "lam_total",
    "inverse_lam_cont",
    "counts_autonomous",
    "counts_shared_queries",
    "sample_births",
    "interp_log_table",
    "invert_log_table",
    "counts_general",
    "ever_detected_general",
    "tally",
    "inverse_lam_total",
    "burden_table_index",
    "secondary_rate",
]


@njit(cache=True, error_model="numpy", inline="always")
def expm1_over(k, h):
    """``(exp(k h) - 1) / k``, equal to ``h`` in the limit ``k -> 0``."""
    x = k * h
    if abs(x) < 1e-10:
        return h * (1.0 + 0.5 * x)
    return math.expm1(x) / k


@njit(cache=True, error_model="numpy", inline="always")
def lam_cont(w, C, amp, kk, x):
    """Continuous part of the cumulative intensity at ``x`` (colonies)."""
    L = w.shape[0] - 1
    j = np.searchsorted(w, x, side="right") - 1
    if j < 0:
        return 0.0
    if j >= L:
        return C[L]
    return C[j] + amp[j] * expm1_over(kk[j], x - w[j])


@njit(cache=True, error_model="numpy", inline="always")
def lam_total(w, C, amp, kk, Acum, x):
    """Cumulative intensity including point masses at nodes ``<= x`` (right-continuous)."""
    j = np.searchsorted(w, x, side="right") - 1
    if j < 0:
        return 0.0
    return lam_cont(w, C, amp, kk, x) + Acum[j]


@njit(cache=True, error_model="numpy", inline="always")
def inverse_lam_cont(w, C, amp, kk, u):
    """The time ``t`` with ``lam_cont(t) = u`` for ``0 <= u <= C[L]`` (analytic per piece)."""
    L = w.shape[0] - 1
    j = np.searchsorted(C, u, side="right") - 1
    if j < 0:
        j = 0
    if j >= L:
        j = L - 1
        while j > 0 and amp[j] <= 0.0:
            j -= 1
    r = u - C[j]
    dw = w[j + 1] - w[j]
    if amp[j] <= 0.0:
        return w[j]
    q = r / amp[j]
    z = kk[j] * q
    if abs(z) < 1e-10:
        h = q * (1.0 - 0.5 * z)
    elif z <= -1.0:
        h = dw
    else:
        h = math.log1p(z) / kk[j]
    if h < 0.0:
        h = 0.0
    if h > dw:
        h = dw
    return w[j] + h


@njit(cache=True, error_model="numpy", parallel=True)
def counts_autonomous(w, C, amp, kk, Acum, t, A, out):
    """Expected colonies above thresholds when every colony follows one age curve.

    out[i, k, q] = Lambda_i(t[k] - A[iA, q]) with ``A`` the age (days) at which a colony
    reaches threshold q (inf if never); iA = i when A has one row per subject, else 0.
    ``t`` is increasing, so the piece of each query is found by a forward walk.
    """
    n = C.shape[0]
    L = w.shape[0] - 1
    per = A.shape[0] > 1
    for i in prange(n):
        Arow = A[i] if per else A[0]
        Ci = C[i]
        ampi = amp[i]
        kki = kk[i]
        Ai = Acum[i]
        for q in range(A.shape[1]):
            a = Arow[q]
            if not a < np.inf:
                for k in range(t.shape[0]):
                    out[i, k, q] = 0.0
                continue
            j = -1
            for k in range(t.shape[0]):
                x = t[k] - a
                while j < L and w[j + 1] <= x:
                    j += 1
                if j < 0:
                    out[i, k, q] = 0.0
                elif j >= L:
                    out[i, k, q] = Ci[L] + Ai[L]
                else:
                    out[i, k, q] = Ci[j] + Ai[j] + ampi[j] * expm1_over(kki[j], x - w[j])


@njit(cache=True, error_model="numpy", parallel=True)
def counts_shared_queries(C, amp, kk, Acum, jq, dq, out):
    """Lambda_i at query points shared by every subject, their pieces found beforehand.

    jq (K, Q): piece of each query (-1 before the first node, L at or after the last);
    dq (K, Q): query minus the piece's start node (days). out (n, K, Q).
    """
    n = C.shape[0]
    L = C.shape[1] - 1
    for i in prange(n):
        for k in range(jq.shape[0]):
            for q in range(jq.shape[1]):
                j = jq[k, q]
                if j < 0:
                    out[i, k, q] = 0.0
                elif j >= L:
                    out[i, k, q] = C[i, L] + Acum[i, L]
                else:
                    out[i, k, q] = C[i, j] + Acum[i, j] + amp[i, j] * expm1_over(kk[i, j],
                                                                                dq[k, q])


@njit(cache=True, error_model="numpy", parallel=True)
def sample_births(w, C, amp, kk, owner, u, out):
    """Birth times by inversion: out[m] = Lambda_cont^-1(u[m]) for subject owner[m]."""
    for m in prange(u.shape[0]):
        i = owner[m]
        out[m] = inverse_lam_cont(w, C[i], amp[i], kk[i], u[m])


@njit(cache=True, error_model="numpy", inline="always")
def _interp_log(ages, logF, a):
    """Log-linear interpolation of a tabulated volume curve at age ``a`` (mm^3)."""
    M = ages.shape[0]
    if a <= ages[0]:
        return math.exp(logF[0])
    if a >= ages[M - 1]:
        return math.exp(logF[M - 1])
    j = np.searchsorted(ages, a, side="right") - 1
    f = (a - ages[j]) / (ages[j + 1] - ages[j])
    return math.exp(logF[j] + f * (logF[j + 1] - logF[j]))


@njit(cache=True, error_model="numpy", parallel=True)
def interp_log_table(ages, logF, owner, births, t, out):
    """Colony volumes from the age table: out[m, k] = F(t[k] - births[m]) or 0 if unborn."""
    per = logF.shape[0] > 1
    for m in prange(births.shape[0]):
        row = logF[owner[m]] if per else logF[0]
        for k in range(t.shape[0]):
            a = t[k] - births[m]
            out[m, k] = _interp_log(ages, row, a) if a >= 0.0 else 0.0


@njit(cache=True, error_model="numpy", parallel=True)
def invert_log_table(ages, logF, logs, out):
    """Age at which a non-decreasing tabulated curve first exceeds each level.

    out[r, q] = the age ``a`` with ``log F(a) = logs[q]`` (log-linear interpolation); 0 when
    the level is below the start value, inf when the curve never reaches it.
    """
    M = ages.shape[0]
    for r in prange(logF.shape[0]):
        row = logF[r]
        for q in range(logs.shape[0]):
            s = logs[q]
            if s <= row[0]:
                out[r, q] = 0.0
            elif s > row[M - 1]:
                out[r, q] = np.inf
            else:
                j = np.searchsorted(row, s, side="left")  # row[j-1] < s <= row[j]
                d = row[j] - row[j - 1]
                f = 1.0 if d <= 0.0 else (s - row[j - 1]) / d
                out[r, q] = ages[j - 1] + f * (ages[j] - ages[j - 1])


@njit(cache=True, error_model="numpy", inline="always")
def _above_part(xa, xb, s):
    """Fraction interval [f0, f1] of a birth interval whose colonies exceed ``s``.

    Colony volume is log-linear in birth time between the end values ``xa`` and ``xb``
    (linear when one end is 0, i.e. unborn or extinct). Returns (f0, f1), empty if f0 >= f1.
    """
    ia = xa > s
    ib = xb > s
    if ia and ib:
        return 0.0, 1.0
    if not ia and not ib:
        return 0.0, 0.0
    if xa > 0.0 and xb > 0.0:
        la = math.log(xa)
        lb = math.log(xb)
        f = (math.log(s) - la) / (lb - la)
    else:
        f = (s - xa) / (xb - xa)
    if f < 0.0:
        f = 0.0
    if f > 1.0:
        f = 1.0
    if ia:
        return 0.0, f
    return f, 1.0


@njit(cache=True, error_model="numpy", inline="always")
def _burden_interval(w, amp, kk, a, b, xa, xb):
    """Integral of beta(tau) X(tau) over [a, b] with X log-linear from xa to xb.

    beta is exponential on each piece of w, so the integral is exact piece by piece.
    """
    L = w.shape[0] - 1
    sx = math.log(xb / xa) / (b - a)
    p = np.searchsorted(w, a, side="right") - 1
    if p < 0:
        p = 0
    tot = 0.0
    c = a
    while c < b and p < L:
        d = w[p + 1]
        if d > b:
            d = b
        if d > c and amp[p] > 0.0:
            beta_c = amp[p] * math.exp(kk[p] * (c - w[p]))
            x_c = xa * math.exp(sx * (c - a))
            tot += beta_c * x_c * expm1_over(kk[p] + sx, d - c)
        c = d
        p += 1
    return tot


@njit(cache=True, error_model="numpy", parallel=True)
def counts_general(tb, X, kidx, w, C, amp, kk, atoms, thr, counts, burden):
    """Expected colonies above thresholds and burden from sizes on a birth grid.

    tb     (J,)       birth nodes (days), containing every output time
    X      (n, J, K)  volume at output time k of the colony born at tb[j] (0 if unborn or
                      extinct, NaN if failed)
    kidx   (K,)       index of output time k in tb
    atoms  (n, J)     point masses (expected shed colonies) at the birth nodes
    thr    (Q,)       volume thresholds (mm^3)
    counts (n, K, Q)  expected number of colonies with volume > thr[q]
    burden (n, K)     expected total metastatic volume (mm^3)
    """
    n = X.shape[0]
    for i in prange(n):
        Ci = C[i]
        ampi = amp[i]
        kki = kk[i]
        for k in range(kidx.shape[0]):
            jk = kidx[k]
            for q in range(thr.shape[0]):
                counts[i, k, q] = 0.0
            b = 0.0
            for j in range(jk + 1):
                xa = X[i, j, k]
                if atoms[i, j] > 0.0:
                    for q in range(thr.shape[0]):
                        if xa > thr[q]:
                            counts[i, k, q] += atoms[i, j]
                    if xa > 0.0:
                        b += atoms[i, j] * xa
                if j == jk:
                    break
                xb = X[i, j + 1, k]
                l0 = lam_cont(w, Ci, ampi, kki, tb[j])
                l1 = lam_cont(w, Ci, ampi, kki, tb[j + 1])
                if l1 <= l0:
                    continue
                if not (math.isfinite(xa) and math.isfinite(xb)):
                    for q in range(thr.shape[0]):
                        counts[i, k, q] = np.nan
                    b = np.nan
                    continue
                dt = tb[j + 1] - tb[j]
                if xa > 0.0 and xb > 0.0:
                    b += _burden_interval(w, ampi, kki, tb[j], tb[j + 1], xa, xb)
                else:
                    b += 0.5 * (l1 - l0) * (xa + xb)
                for q in range(thr.shape[0]):
                    f0, f1 = _above_part(xa, xb, thr[q])
                    if f1 <= f0:
                        continue
                    if f0 == 0.0 and f1 == 1.0:
                        counts[i, k, q] += l1 - l0
                    else:
                        u0 = l0 if f0 == 0.0 else lam_cont(w, Ci, ampi, kki, tb[j] + f0 * dt)
                        u1 = l1 if f1 == 1.0 else lam_cont(w, Ci, ampi, kki, tb[j] + f1 * dt)
                        counts[i, k, q] += u1 - u0
            burden[i, k] = b


@njit(cache=True, error_model="numpy", parallel=True)
def ever_detected_general(tb, D, w, C, amp, kk, atoms, tq, out):
    """Expected number of colonies detected by each query time.

    D (n, J) is the first detection time of the colony born at tb[j] (inf if never);
    between nodes it is interpolated linearly. out[i, r] counts births whose detection
    time is <= tq[r].
    """
    n = D.shape[0]
    J = tb.shape[0]
    for i in prange(n):
        for r in range(tq.shape[0]):
            s = tq[r]
            tot = 0.0
            for j in range(J):
                if D[i, j] <= s:
                    tot += atoms[i, j]
                if j == J - 1:
                    break
                da = D[i, j]
                db = D[i, j + 1]
                ia = da <= s
                ib = db <= s
                if not ia and not ib:
                    continue
                l0 = lam_cont(w, C[i], amp[i], kk[i], tb[j])
                l1 = lam_cont(w, C[i], amp[i], kk[i], tb[j + 1])
                if ia and ib:
                    tot += l1 - l0
                    continue
                dtj = tb[j + 1] - tb[j]
                if math.isfinite(da) and math.isfinite(db) and db != da:
                    f = (s - da) / (db - da)
                elif math.isfinite(da):
                    # later births are not detected within the grid: continue the slope of
                    # the previous interval (1 day per day for untreated growth)
                    slope = 1.0
                    if j > 0 and math.isfinite(D[i, j - 1]) and D[i, j] > D[i, j - 1]:
                        slope = (D[i, j] - D[i, j - 1]) / (tb[j] - tb[j - 1])
                    f = (s - da) / (slope * dtj)
                else:
                    # earlier births never detected (eradicated), later ones detected: the
                    # switch lies somewhere inside the interval
                    f = 0.5
                if f < 0.0:
                    f = 0.0
                if f > 1.0:
                    f = 1.0
                tm = tb[j] + f * (tb[j + 1] - tb[j])
                lm = lam_cont(w, C[i], amp[i], kk[i], tm)
                tot += (lm - l0) if ia else (l1 - lm)
            out[i, r] = tot


@njit(cache=True, error_model="numpy", parallel=True)
def tally(X, offsets, R, thr, det, edges, sums, sumsq, anyc, bsum, bsq, hist, firstk):
    """Per-replicate counts of sampled colonies, reduced over replicates.

    X       (M, K)    colony volumes at the output times (0 unborn/extinct, NaN failed)
    offsets (n*R+1,)  colonies of replicate r of subject i are X[offsets[i*R+r]:...]
    thr     (2,)      class boundaries (mm^3): ITC <= thr[0] < micro <= thr[1] < macro
    det     float     detection volume (mm^3): detectable if > det
    edges   (B+1,)    histogram bin edges (mm^3), [edges[b], edges[b+1])
    sums, sumsq, anyc (n, K, 5)   sum, sum of squares and number of replicates with >= 1,
                      of counts per [ITC, micro, macro, detectable, total]
    bsum, bsq (n, K)  sum and sum of squares of the burden (mm^3)
    hist    (n, K, B) sum of histogram counts
    firstk  (n*R,)    first output index with a detectable colony (-1 if none)
    """
    n = sums.shape[0]
    K = X.shape[1]
    B = edges.shape[0] - 1
    for i in prange(n):
        cnt = np.zeros((K, 5))
        bur = np.zeros(K)
        for r in range(R):
            g = i * R + r
            cnt[:, :] = 0.0
            bur[:] = 0.0
            for m in range(offsets[g], offsets[g + 1]):
                for k in range(K):
                    x = X[m, k]
                    if not x > 0.0:
                        if x != x:
                            bur[k] = np.nan
                        continue
                    bur[k] += x
                    cnt[k, 4] += 1.0
                    if x <= thr[0]:
                        cnt[k, 0] += 1.0
                    elif x <= thr[1]:
                        cnt[k, 1] += 1.0
                    else:
                        cnt[k, 2] += 1.0
                    if x > det:
                        cnt[k, 3] += 1.0
                    if B > 0 and x >= edges[0] and x < edges[B]:
                        b = np.searchsorted(edges, x, side="right") - 1
                        hist[i, k, b] += 1.0
            fk = -1
            for k in range(K):
                if cnt[k, 3] > 0.0:
                    fk = k
                    break
            firstk[g] = fk
            for k in range(K):
                for c in range(5):
                    v = cnt[k, c]
                    sums[i, k, c] += v
                    sumsq[i, k, c] += v * v
                    if v > 0.0:
                        anyc[i, k, c] += 1.0
                bsum[i, k] += bur[k]
                bsq[i, k] += bur[k] * bur[k]


@njit(cache=True, error_model="numpy", parallel=True)
def inverse_lam_total(w, C, amp, kk, Acum, u, out):
    """Smallest time with Lambda_i(t) >= u[i] (inf when Lambda never reaches it)."""
    L = w.shape[0] - 1
    for i in prange(C.shape[0]):
        target = u[i]
        if C[i, L] + Acum[i, L] < target:
            out[i] = np.inf
            continue
        # first node whose right value reaches the target
        j = 0
        while j <= L and C[i, j] + Acum[i, j] < target:
            j += 1
        if j == 0:
            out[i] = w[0]
            continue
        left = C[i, j] + Acum[i, j - 1]  # value just before w[j]
        if left >= target:
            out[i] = inverse_lam_cont(w, C[i], amp[i], kk[i], target - Acum[i, j - 1])
        else:
            out[i] = w[j]


@njit(cache=True, error_model="numpy", parallel=True)
def burden_table_index(logF, jq, fq, nq, dlam, out):
    """Expected metastatic volume with one age curve per subject, ages shared.

    The age of the colonies of birth cell q at output k falls between age nodes jq[k, q]
    and jq[k, q] + 1 at fraction fq[k, q]; only the first nq[k] cells are born by then.
    out[i, k] = sum_q dlam[i, q] F_i(age) with F_i log-linear between the nodes.
    """
    for i in prange(dlam.shape[0]):
        row = logF[i]
        for k in range(jq.shape[0]):
            acc = 0.0
            for q in range(nq[k]):
                d = dlam[i, q]
                if d != 0.0:
                    j = jq[k, q]
                    acc += d * math.exp(row[j] + fq[k, q] * (row[j + 1] - row[j]))
            out[i, k] = acc


@njit(cache=True, error_model="numpy", parallel=True)
def secondary_rate(h, dlp, src, G, m2, out):
    """Emission by the colonies themselves on a uniform grid (renewal equation).

    s(z_j) = m2 [ sum_{c<j} int_cell c G(z_j - tau) dLambda(tau) ] + src[j], where the
    births of cell c are the primary's exact ``dlp[c]`` plus the secondary births
    (trapezoid of s), and G(a) = F(a)^alpha is the seeding power of a colony of age a
    (G[m] at age m h). ``src`` holds the contribution of shed boluses. The implicit
    last-cell term is solved for s(z_j). Shapes: dlp (n, N), src (n, N+1), G (nG, N+1),
    m2 (n,), out (n, N+1).
    """
    n = dlp.shape[0]
    N = dlp.shape[1]
    per = G.shape[0] > 1
    for i in prange(n):
        g = G[i] if per else G[0]
        m = m2[i]
        for j in range(N + 1):
            acc = 0.0
            for c in range(j):
                ga = g[j - c]
                gb = g[j - c - 1]
                acc += dlp[i, c] * 0.5 * (ga + gb) + 0.5 * h * out[i, c] * ga
                if c + 1 < j:
                    acc += 0.5 * h * out[i, c + 1] * gb
            out[i, j] = (src[i, j] + m * acc) / (1.0 - 0.5 * m * h * g[0])


# a cache entry that cannot be read is rebuilt, not an UnpicklingError (see _kernels.cache)
guard_module(sys.modules[__name__])
