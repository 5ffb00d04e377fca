"""NumPy implementations of the card-independent fitting kernels (no JIT).

Each function here has the signature and the outputs of its compiled counterpart in
:mod:`tgsim.fitting._kernels` (which documents them) and is used in its place when the
compiled one is not cached and the batch is small (:mod:`tgsim.fitting.paths`). They are
vectorised over subjects: per-subject loops become masked array operations over the
(subject, point) grid, in the same order of operations where it matters (cumulative
sums run in point order).
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_rows", "compact_rows", "series_features", "integral_start", "start_guess",
           "result_rows"]

# start rules (the values of tgsim.fitting._kernels.RULE_*)
_V0, _RATE, _CAPACITY, _LINEAR, _RESISTANT, _POWER = 1, 2, 3, 4, 5, 6


def _first(mask: np.ndarray) -> np.ndarray:
    """Index of the first True of each row, -1 where there is none."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], -1)
    return np.where(mask.any(axis=1), mask.argmax(axis=1), -1)


def _sum(a: np.ndarray) -> np.ndarray:
    """Row sums in point order (as the kernels add; NumPy's pairwise sum may differ in
    the last bits, which ill-conditioned starts amplify)."""
    return np.cumsum(a, axis=1)[:, -1] if a.shape[1] else np.zeros(a.shape[0])


def _usable(T: np.ndarray, Y: np.ndarray, log_scale: bool) -> tuple[np.ndarray, np.ndarray]:
    """Usable points and points left out for a log scale (see _kernels._unusable)."""
    some = ~(np.isnan(T) | np.isnan(Y))
    with np.errstate(invalid="ignore"):
        logbad = some & ~(Y > 0.0) if log_scale else np.zeros(Y.shape, bool)
    return some & ~logbad, logbad


def count_rows(T, Y, check_negative, log_scale, nu, flags) -> None:
    """See :func:`tgsim.fitting._kernels.count_rows`."""
    T = np.broadcast_to(T, Y.shape)
    use, logbad = _usable(T, Y, log_scale)
    nu[:] = use.sum(axis=1)
    flags[:, 0] = _first(np.isinf(T) | np.isinf(Y))
    if check_negative:
        with np.errstate(invalid="ignore"):
            flags[:, 1] = _first(Y < 0.0)
    else:
        flags[:, 1] = -1
    flags[:, 2] = logbad.sum(axis=1)
    flags[:, 3] = (~(np.isnan(T) & np.isnan(Y))).sum(axis=1)


def compact_rows(T, Y, C, log_scale, nu, Tc, Yc, Wc, OI, unsorted, alleq) -> None:
    """See :func:`tgsim.fitting._kernels.compact_rows`."""
    n, m = Y.shape
    width = Tc.shape[1]
    T = np.broadcast_to(T, Y.shape)
    use, _ = _usable(T, Y, log_scale)
    order = np.argsort(~use, axis=1, kind="stable")  # usable columns first, in input order
    k = np.minimum(use.sum(axis=1), width)
    cols = order[:, :min(width, m)]
    if cols.shape[1] < width:
        cols = np.concatenate([cols, np.zeros((n, width - cols.shape[1]), np.int64)], axis=1)
    rows = np.arange(n)[:, None]
    valid = np.arange(width)[None, :] < k[:, None]
    tv = T[rows, cols]
    last = np.where(k > 0, tv[np.arange(n), np.maximum(k - 1, 0)], 0.0)
    Tc[:] = np.where(valid, tv, last[:, None])
    Yc[:] = np.where(valid, Y[rows, cols], 0.0)
    Wc[:] = np.where(valid, np.where(C[rows, cols], 2.0, 1.0), 0.0)
    OI[:] = np.where(valid, cols, -1)
    if width > 1:
        bad = ~(Tc[:, 1:] > Tc[:, :-1]) & (np.arange(width - 1)[None, :] < (k - 1)[:, None])
        unsorted[:] = _first(bad)
    else:
        unsorted[:] = -1
    meas = Wc == 1.0
    ref = Yc[np.arange(n), np.maximum(_first(meas), 0)]
    alleq[:] = np.all(~meas | (Yc == ref[:, None]), axis=1) & (meas.sum(axis=1) >= 2)


def _features(T, Y, W, nu, t0) -> np.ndarray:
    """series_features as an (n, 6) array."""
    n, m = T.shape
    out = np.full((n, 6), np.nan)
    if m == 0:
        return out
    meas = (W == 1.0) & (np.arange(m)[None, :] < nu[:, None])
    pos = meas & (Y > 0.0)
    npos = pos.sum(axis=1)
    rows = np.arange(n)
    with np.errstate(all="ignore"):
        ly = np.where(pos, np.log(np.where(pos, Y, 1.0)), 0.0)
        sel = pos & (np.cumsum(pos, axis=1) <= 4)
        k = sel.sum(axis=1)
        x = np.where(sel, T - t0[:, None], 0.0)
        lys = np.where(sel, ly, 0.0)
        sx, sy = _sum(x), _sum(lys)
        sxx, sxy = _sum(x * x), _sum(x * lys)
        den = k * sxx - sx * sx
        ok = (k >= 2) & (den > 0.0)
        slope = np.where(ok, (k * sxy - sx * sy) / np.where(ok, den, 1.0), np.nan)
        out[:, 0] = slope
        out[:, 1] = (sy - np.where(np.isfinite(slope), slope, 0.0) * sx) / np.maximum(k, 1)
        out[:, 2] = np.where(npos > 0, ly[rows, np.maximum(_first(pos), 0)], np.nan)
        ys = np.sort(np.where(pos, Y, np.inf), axis=1)
        h = npos // 2
        upper = ys[rows, np.minimum(h, m - 1)]
        lower = ys[rows, np.maximum(h - 1, 0)]
        out[:, 3] = np.where(npos > 0, np.where(pos, Y, -np.inf).max(axis=1), np.nan)
        out[:, 4] = np.where(npos == 0, np.nan,
                             np.where(npos % 2 == 1, upper, 0.5 * (lower + upper)))
        rank = np.cumsum(meas, axis=1)
        nmeas = meas.sum(axis=1)
        ih = _first(meas & (rank == (nmeas // 2 + 1)[:, None]))
        il = m - 1 - _first(meas[:, ::-1])
        ih, il = np.maximum(ih, 0), np.clip(il, 0, m - 1)
        dt = T[rows, il] - T[rows, ih]
        good = (nmeas >= 3) & (dt > 0.0)
        out[:, 5] = np.where(good, (Y[rows, il] - Y[rows, ih]) / np.where(good, dt, 1.0), np.nan)
    return out


def series_features(T, Y, W, nu, t0, out) -> None:
    """See :func:`tgsim.fitting._kernels.series_features`."""
    out[:] = _features(T, Y, W, nu, t0)


def _integral(T, Y, W, nu, t0, law) -> np.ndarray:
    """integral_start as an (n, 3) array."""
    n, m = T.shape
    out = np.full((n, 3), np.nan)
    if m == 0:
        return out
    sel = (W == 1.0) & (np.arange(m)[None, :] < nu[:, None]) & (Y > 0.0)
    order = np.argsort(~sel, axis=1, kind="stable")  # the selected points first, in order
    rows = np.arange(n)[:, None]
    k = sel.sum(axis=1)
    on = np.arange(m)[None, :] < k[:, None]
    t, y = T[rows, order], np.where(on, Y[rows, order], 1.0)
    with np.errstate(all="ignore"):
        u = np.log(y)
        g = u if law == 0 else y
        trap = np.zeros((n, m))
        trap[:, 1:] = 0.5 * (g[:, 1:] + g[:, :-1]) * (t[:, 1:] - t[:, :-1])
        z = np.where(on, -np.cumsum(np.where(on, trap, 0.0), axis=1), 0.0)
        x = np.where(on, t - t[:, :1], 0.0)
        u = np.where(on, u, 0.0)
        sx, sz, su = _sum(x), _sum(z), _sum(u)
        sxx, szz, sxz = _sum(x * x), _sum(z * z), _sum(x * z)
        sxu, szu = _sum(x * u), _sum(z * u)
        kk = np.maximum(k, 1)
        cxx, czz = sxx - sx * sx / kk, szz - sz * sz / kk
        cxz, cxu, czu = sxz - sx * sz / kk, sxu - sx * su / kk, szu - sz * su / kk
        det = cxx * czz - cxz * cxz
        A = (czz * cxu - cxz * czu) / det
        B = (cxx * czu - cxz * cxu) / det
        c = (su - A * sx - B * sz) / kk
        dt0 = t[:, 0] - t0
        if law == 0:
            r, logk = B, A / B
            K = np.exp(logk)
            V0 = np.exp(logk + (c - logk) * np.exp(B * dt0))
            grows = r > 0.0
        else:
            r, K = A, A / B
            V0 = K / (1.0 + (K / np.exp(c) - 1.0) * np.exp(A * dt0))
            grows = (r > 0.0) & (B > 0.0)
        good = ((k >= 4) & (det > 1e-12 * cxx * czz) & grows & np.isfinite(K) & (K > 0.0)
                & np.isfinite(V0) & (V0 > 0.0) & np.isfinite(r))
    out[good] = np.stack([V0, r, K], axis=1)[good]
    return out


def integral_start(T, Y, W, nu, t0, law, out) -> None:
    """See :func:`tgsim.fitting._kernels.integral_start`."""
    out[:] = _integral(T, Y, W, nu, t0, law)


def start_guess(T, Y, W, nu, t0, law, rules, aux, defaults, lo, hi, scale, X) -> None:
    """See :func:`tgsim.fitting._kernels.start_guess`."""
    n = T.shape[0]
    NP = rules.shape[0]
    slope, icpt, first_ly, vmax, vmed, lin = _features(T, Y, W, nu, t0).T
    P = np.tile(np.asarray(defaults, np.float64), (n, 1))

    def put(j: int, g: np.ndarray) -> None:
        ok = np.isfinite(g) & (g > 0.0)
        P[ok, j] = g[ok]

    with np.errstate(all="ignore"):
        v0 = np.where(np.isfinite(vmax), np.where(slope > 0.0, np.exp(icpt), np.exp(first_ly)),
                      np.nan)
        rate = np.where(np.isfinite(slope), np.minimum(np.maximum(slope, 1e-3), 2.0), np.nan)
        guess = {_V0: v0, _RATE: rate, _CAPACITY: 2.0 * vmax, _LINEAR: lin,
                 _RESISTANT: 0.7 * rate}
        for j in range(NP):
            if int(rules[j]) in guess:
                put(j, guess[int(rules[j])])
        if law >= 0:
            est = _integral(T, Y, W, nu, t0, law)
            if law == 1:
                est[~(est[:, 2] >= vmax)] = np.nan
            for c in range(3):
                put(int(aux[2 + c]), est[:, c])
        for j in range(NP):
            if rules[j] == _POWER:
                gam = P[:, aux[0]]
                loss = P[:, aux[1]] if aux[1] >= 0 else 0.0
                base = np.where(np.isfinite(rate), rate, 0.1)
                put(j, (base + loss) * vmed ** (1.0 - gam))
        V = np.minimum(np.maximum(P, lo), hi)
        X[:, :NP] = np.where(np.asarray(scale) == 1, np.log(V), V)
    X[:, NP:] = 0.0


def result_rows(est, cov, free_q, log_type, tq, F, Y, nu, emodel, NP, se, lo, hi, resid,
                wres) -> None:
    """See :func:`tgsim.fitting._kernels.result_rows`."""
    n, q = est.shape
    m = F.shape[1]
    v = np.diagonal(cov, axis1=1, axis2=2)
    free = np.asarray(free_q, bool)[None, :]
    with np.errstate(all="ignore"):
        sd = np.where(v > 0.0, np.sqrt(np.where(v > 0.0, v, 0.0)), np.where(v <= 0.0, 0.0, np.nan))
        t = np.asarray(tq, np.float64)[:, None]
        logt = np.asarray(log_type, bool)[None, :] & (est > 0.0)
        rel = sd / np.abs(est)
        lo_ = np.where(logt, est * np.exp(-t * rel), est - t * sd)
        hi_ = np.where(logt, est * np.exp(t * rel), est + t * sd)
        se[:] = np.where(free, sd, np.nan)
        lo[:] = np.where(free, lo_, np.nan)
        hi[:] = np.where(free, hi_, np.nan)
        blank = (np.arange(m)[None, :] >= nu[:, None]) | np.isnan(F)
        F[blank] = np.nan
        r = Y - F
        sig = est[:, NP:NP + 1]
        if emodel == 3:
            w = (np.log(Y) - np.log(F)) / sig
        elif emodel == 0:
            w = r / sig
        elif emodel == 1:
            w = r / (sig * F)
        else:
            w = r / (sig + est[:, NP + 1:NP + 2] * F)
        resid[:] = np.where(blank, np.nan, r)
        wres[:] = np.where(blank, np.nan, w)
