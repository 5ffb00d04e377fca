# Kernel template for fitting: predictions with parameter Jacobians, and a batched
# Levenberg-Marquardt / Fisher-scoring maximum-likelihood fitter (one row at a time).
#
# Uses the card globals NS, NP, NQV, SENS, card_init, card_rhs, card_volume,
# card_volume_prep, card_volume_vg, card_rhs_jac, card_init_jac
# and, from integrate.py, treatment_rates, apply_treatment, the ST_* codes and the
# Dormand-Prince tableau (A.., C.., E.., D..). Every name defined here starts with fit_ /
# _fit_ / FIT_. Entry points: fit_rows (fit a range of rows) and fit_predict_rows
# (predictions and Jacobians), both releasing the GIL so that threads can run disjoint
# row ranges (tgsim.engine.compile.run_rows); fit_lm_one, fit_model_eval, fit_sens_one for single
# rows; fit_fast_rows, the fast path of fit_rows for untreated closed-form fits.
# Job constants (set by tgsim.engine.compile for each fit module): FIT_ODE compiles the
# sensitivity integrator (treated or ODE-card fits), FIT_FAST the closed-form fast path.
#
# Arrays only. Per subject s the observations are compacted to the front of its row:
#   T[s, :nu[s]] times (days, strictly increasing, >= t0[s]); Y[s, :nu[s]] values;
#   W[s, :nu[s]] kind: 1.0 = measured, 2.0 = left-censored (Y holds the detection limit).
# Parameters use the card's order. The optimiser works on x = (transformed parameters,
# log sigma, log c): a parameter with scale[j] == 1 is fitted as log p_j, else as p_j;
# box bounds lo/hi (on the working scale) hold by projection.
#
# Error models (emodel): 0 additive sd = sigma; 1 proportional sd = sigma f;
# 2 combined sd = sigma (c + f) (= a + b f with b = sigma, a = sigma c);
# 3 log-normal: log y ~ N(log f, sigma^2).
# Objective: phi = -2 log L (normal densities and, for censored points, log Phi), plus an
# optional Gaussian prior (x - m)' Q (x - m) on the parameter part (empirical Bayes).
#
# Prediction modes: 0 = untreated closed form (card_volume / card_volume_vg, exact
# gradient); 1 = ODE with forward sensitivities from the card's symbolic Jacobians.
#
# Leaf functions called in the inner loops (per stage, per evaluation) that allocate
# nothing are compiled with _nrt=False: without it every call would increment and
# decrement the reference counts of all its array arguments (atomic operations, which
# took a third of the fitting time).

import math

import numpy as np
from numba import njit

from tgsim.engine.kernels.templates.common import *  # noqa: F403  @common

FIT_LOG2PI = 1.8378770664093453


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_aug_rhs(z, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp, want, dz):
    """Augmented right-hand side: state and forward sensitivities.

    z holds the state y (n values) followed by nj sensitivity columns S_c = dy/dp_jcols[c].
    With the treated right-hand side F_i = a (1 - ns s_i) g_i(y, p) - lk s_i y_i (and the
    swelling F = infil sum(y) - clear y_sw), dS_c/dt = dF/dy S_c + dF/dp_j, using the
    card's symbolic Jacobians jy = dg/dy and jp = dg/dp (card_rhs_jac; want[j] != 0 for
    the columns jcols). The treatment rates (a, lk, ns, infil) come from the caller:
    this function makes no call, so its array arguments need no reference counting.
    """
    for i in range(n):
        yp[i] = z[i]
    card_rhs_jac(yp, p, d0, jy, jp, want)
    apply_treatment(yp, d0, a, lk, ns, infil, clear, nsw)
    for i in range(n):
        dz[i] = d0[i]
    for c in range(nj):
        j = jcols[c]
        off = n * (c + 1)
        tot = 0.0
        for i in range(NS):
            acc_ = jp[i, j]
            for k in range(NS):
                acc_ += jy[i, k] * z[off + k]
            s = SENS[i]
            dz[off + i] = a * (1.0 - ns * s) * acc_ - lk * s * z[off + i]
            tot += z[off + i]
        if nsw > 0:
            dz[off + NS] = infil * tot - clear * z[off + NS]


@njit(cache=True, error_model="numpy")
def fit_sens_one(times, nt, t0, p, jcols, nj, jt, jf, dose, expo, acc, clear, bp, nsw, rtol,
             atol, max_steps, fout, jout):
    """Observed size (sum of states and swelling) and its parameter Jacobian by ODE.

    Adaptive Dormand-Prince 5(4) on the state augmented with forward sensitivities; the
    error estimate controls the state only (sensitivities ride on the same steps, as with
    CVODES' default). fout[k] and jout[k, jcols[c]] for k < nt; returns a status code.
    """
    n = NS + nsw
    N = n * (1 + nj)
    for k in range(nt):
        fout[k] = np.nan
        for j in range(NP):
            jout[k, j] = 0.0
    z = np.zeros(N)
    znew = np.empty(N)
    zt = np.empty(N)
    k1 = np.empty(N)
    k2 = np.empty(N)
    k3 = np.empty(N)
    k4 = np.empty(N)
    k5 = np.empty(N)
    k6 = np.empty(N)
    k7 = np.empty(N)
    yp = np.empty(n)
    d0 = np.empty(n)
    jy = np.zeros((NS, NS))
    jp = np.zeros((NS, NP))
    want = np.zeros(NP, dtype=np.int64)
    for c in range(nj):
        want[jcols[c]] = 1
    treated = dose.shape[0] > 0 or expo.shape[0] > 0 or acc.shape[0] > 0
    m = max(dose.shape[0], 1)
    gk = np.empty(m)
    gh = np.empty(m)
    gsum = np.empty(m)
    y0 = np.zeros(NS)
    card_init(p, y0)
    for i in range(NS):
        if not (y0[i] >= 0.0) or not math.isfinite(y0[i]):
            return ST_NON_FINITE
        z[i] = y0[i]
    card_init_jac(p, jp)  # dy0/dp (jp reused as work space here)
    for c in range(nj):
        for i in range(NS):
            z[n * (c + 1) + i] = jp[i, jcols[c]]
    ij = apply_jumps(z, jt, jf, 0, t0, nj + 1, n)
    kk = 0
    while kk < nt and times[kk] <= t0:
        _fit_record(z, n, nj, jcols, kk, fout, jout)
        kk += 1
    if nt == 0:
        return ST_SUCCESS
    tend = times[nt - 1]
    t = t0
    ib = 0
    steps = 0
    while t < tend:
        ib, b = segment_end(bp, ib, t, tend)
        tseg = t
        ng = dose_groups(dose, tseg, gk, gh, gsum)
        a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
        if treated:
            a, lk, ns, infil = treatment_rates(t, tseg, gk, gh, gsum, ng, expo, acc)
        _fit_aug_rhs(z, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp, want,
                     k1)
        # step-size control restarts at every event (see the simulation integrator)
        s0 = 0.0
        s1 = 0.0
        for i in range(n):
            s0 += z[i] * z[i]
            s1 += k1[i] * k1[i]
        h = first_step(math.sqrt(s0 / n), math.sqrt(s1 / n), b - t)
        while t < b:
            steps += 1
            if steps > max_steps:
                return ST_MAX_STEPS
            hs, last = step_to(t, h, b)
            for i in range(N):
                zt[i] = z[i] + hs * A21 * k1[i]
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + C2 * hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(zt, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k2)
            for i in range(N):
                zt[i] = z[i] + hs * (A31 * k1[i] + A32 * k2[i])
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + C3 * hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(zt, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k3)
            for i in range(N):
                zt[i] = z[i] + hs * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i])
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + C4 * hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(zt, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k4)
            for i in range(N):
                zt[i] = z[i] + hs * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i])
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + C5 * hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(zt, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k5)
            for i in range(N):
                zt[i] = z[i] + hs * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i]
                                     + A65 * k5[i])
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(zt, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k6)
            for i in range(N):
                znew[i] = z[i] + hs * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i]
                                       + A76 * k6[i])
            a, lk, ns, infil = 1.0, 0.0, 0.0, 0.0
            if treated:
                a, lk, ns, infil = treatment_rates(t + hs, tseg, gk, gh, gsum, ng, expo, acc)
            _fit_aug_rhs(znew, p, jcols, nj, a, lk, ns, infil, clear, nsw, n, yp, d0, jy, jp,
                         want, k7)
            err = 0.0
            for i in range(n):
                e = hs * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i]
                          + E7 * k7[i])
                sc = atol + rtol * max(abs(z[i]), abs(znew[i]))
                err += (e / sc) * (e / sc)
            err = math.sqrt(err / n)
            if not math.isfinite(err):
                h = 0.2 * hs
                if h < 1e-14 * max(1.0, abs(t)):
                    return ST_NON_FINITE
                continue
            if err <= 1.0:
                tnew = b if last else t + hs
                for i in range(NS):
                    if znew[i] < 0.0:
                        return ST_NEGATIVE_STATE
                    if not math.isfinite(znew[i]):
                        return ST_NON_FINITE
                while kk < nt and times[kk] <= tnew and times[kk] < b:
                    th = (times[kk] - t) / hs
                    th1 = 1.0 - th
                    for i in range(N):
                        zdiff = znew[i] - z[i]
                        bspl = hs * k1[i] - zdiff
                        r4 = zdiff - hs * k7[i] - bspl
                        r5 = hs * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i]
                                   + D6 * k6[i] + D7 * k7[i])
                        zt[i] = z[i] + th * (zdiff + th1 * (bspl + th * (r4 + th1 * r5)))
                    _fit_record(zt, n, nj, jcols, kk, fout, jout)
                    kk += 1
                for i in range(N):
                    z[i] = znew[i]
                    k1[i] = k7[i]
                t = tnew
                fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err ** -0.2))
                if not last or hs * fac < h:
                    h = hs * fac
            else:
                fac = max(0.2, 0.9 * err ** -0.2)
                h = hs * fac
                if h < 1e-14 * max(1.0, abs(t)):
                    return ST_STEP_TOO_SMALL
        ij = apply_jumps(z, jt, jf, ij, b, nj + 1, n)
        while kk < nt and times[kk] <= b:
            _fit_record(z, n, nj, jcols, kk, fout, jout)
            kk += 1
    for k in range(nt):
        if not math.isfinite(fout[k]):
            return ST_NON_FINITE
    return ST_SUCCESS


@njit(cache=True, error_model="numpy", inline="always")
def _fit_record(z, n, nj, jcols, k, fout, jout):
    s = 0.0
    for i in range(n):
        s += z[i]
    fout[k] = s
    for c in range(nj):
        s = 0.0
        off = n * (c + 1)
        for i in range(n):
            s += z[off + i]
        jout[k, jcols[c]] = s


@njit(cache=True, error_model="numpy")
def fit_model_eval(mode, times, nt, t0, p, jcols, nj, jt, jf, dose, expo, acc, clear, bp, nsw,
               rtol, atol, max_steps, fout, jout, g):
    """Predictions fout[:nt] and, for the nj parameters jcols, Jacobian jout[:nt, j].

    g is a work array of length NP + NQV.
    """
    if FIT_ODE:  # a job constant: the closed-form fit module compiles no integrator
        if mode == 1:
            return fit_sens_one(times, nt, t0, p, jcols, nj, jt, jf, dose, expo, acc, clear,
                                bp, nsw, rtol, atol, max_steps, fout, jout)
    return _fit_closed_eval(times, nt, t0, p, jcols, nj, fout, jout, g)


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_closed_eval(times, nt, t0, p, jcols, nj, fout, jout, g):
    """fit_model_eval for the untreated closed form (exact gradient).

    g is a work array of length NP + NQV: the gradient at one time, then the
    parameter-only terms of card_volume_prep.
    """
    q = g[NP:]
    if nj > 0:
        card_volume_prep(p, q)
    for k in range(nt):
        dt = times[k] - t0
        for j in range(NP):
            jout[k, j] = 0.0
        if nj == 0:
            fout[k] = card_volume(dt, p)
            if not math.isfinite(fout[k]):
                return ST_NON_FINITE
            continue
        fout[k] = card_volume_vg(dt, p, q, g)
        if not math.isfinite(fout[k]):
            return ST_NON_FINITE
        for c in range(nj):
            j = jcols[c]
            if not math.isfinite(g[j]):
                return ST_NON_FINITE
            jout[k, j] = g[j]
    return ST_SUCCESS


@njit(cache=True, error_model="numpy", nogil=True)
def fit_predict_rows(start, stop, mode, T, nu, t0, P, jcols, jt, jf, dose, expo, acc, clear,
                     bp, nsw, rtol, atol, max_steps, F, J, status):
    """Predictions F[s, :nu[s]] and Jacobians J[s, :nu[s], jcols] for rows start..stop-1
    (the GIL released: threads run disjoint row ranges)."""
    nj = jcols.shape[0]
    g = np.empty(NP + NQV)
    for s in range(start, stop):
        status[s] = fit_model_eval(mode, T[s], nu[s], t0[s], P[s], jcols, nj, jt[s], jf[s],
                                   dose[s], expo[s], acc[s], clear[s], bp[s], nsw, rtol, atol,
                                   max_steps, F[s], J[s], g)


@njit(cache=True, error_model="numpy", inline="always")
def _fit_log_ndtr(z):
    """log Phi(z) and the inverse Mills ratio phi(z) / Phi(z), stable for z << 0."""
    if z > -8.0:
        cdf = 0.5 * math.erfc(-z / math.sqrt(2.0))
        pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return math.log(cdf), pdf / cdf
    # asymptotic series Phi(z) = phi(z)/(-z) (1 - 1/z^2 + 3/z^4 - 15/z^6 + ...)
    z2 = z * z
    ser = 1.0 - 1.0 / z2 + 3.0 / (z2 * z2) - 15.0 / (z2 * z2 * z2)
    logcdf = -0.5 * z2 - 0.5 * FIT_LOG2PI - math.log(-z) + math.log(ser)
    return logcdf, -z / ser


@njit(cache=True, error_model="numpy", _nrt=False)
def fit_assemble(y, w, nt, f, jx, x, emodel, free, K, pm, pq, use_prior, grad, H, da, db):
    """-2 log L (+ prior), its gradient and the Fisher-scoring matrix on the working scale.

    jx[k, j] holds df_k/dx_j (working scale). For a measured point with residual
    u = y - f (log y - log f under the log-normal model) and sd s:
      rho = u^2/s^2 + 2 log s + log 2 pi; grad = -2 z df/s + 2 (1 - z^2) dlog s;
      expected Hessian 2 (df df')/s^2 + 4 dlog s dlog s'.
    For a left-censored point: rho = -2 log Phi(z_L), z_L = (L - f)/s, with the exact
    Hessian in z, 2 m (z + m) (m the inverse Mills ratio), times dz dz'.
    da, db are work arrays of length K. Returns phi, or inf when a term is not finite.
    """
    for a in range(K):
        grad[a] = 0.0
        for b in range(K):
            H[a, b] = 0.0
    sig = math.exp(x[NP])
    c = math.exp(x[NP + 1])
    phi = 0.0
    # sum of log s over measured points as the log of a running product (one log call
    # per evaluation, not one per point), renormalised before it can overflow
    sprod = 1.0
    slog = 0.0
    for k in range(nt):
        fk = f[k]
        if emodel == 3:
            if not fk > 0.0:
                return np.inf
            ft = math.log(fk)
            yt = math.log(y[k])
            invf = 1.0 / fk
            for j in range(NP):
                da[j] = jx[k, j] * invf
            s = sig
            for j in range(K):
                db[j] = 0.0
            db[NP] = 1.0
        else:
            ft = fk
            yt = y[k]
            for j in range(NP):
                da[j] = jx[k, j]
            for j in range(K):
                db[j] = 0.0
            db[NP] = 1.0
            if emodel == 0:
                s = sig
            elif emodel == 1:
                if not fk > 0.0:
                    return np.inf
                s = sig * fk
                invf = 1.0 / fk
                for j in range(NP):
                    db[j] = jx[k, j] * invf
            else:
                h = c + fk
                if not h > 0.0:
                    return np.inf
                s = sig * h
                invh = 1.0 / h
                for j in range(NP):
                    db[j] = jx[k, j] * invh
                db[NP + 1] = c / h
        da[NP] = 0.0
        da[NP + 1] = 0.0
        z = (yt - ft) / s
        if w[k] < 1.5:
            phi += z * z + FIT_LOG2PI
            sprod *= s
            if not (1e-150 < sprod < 1e150):
                slog += math.log(sprod)
                sprod = 1.0
            if emodel == 3:
                phi += 2.0 * yt
            inv = 1.0 / s
            cz = -2.0 * z * inv
            cd = 2.0 * inv * inv
            omz = 2.0 * (1.0 - z * z)
            for a in range(K):
                if free[a] == 0:
                    continue
                grad[a] += cz * da[a] + omz * db[a]
                daa = cd * da[a]
                dba = 4.0 * db[a]
                for b in range(a + 1):
                    if free[b] == 0:
                        continue
                    H[a, b] += daa * da[b] + dba * db[b]
        else:
            lc, m = _fit_log_ndtr(z)
            phi += -2.0 * lc
            curv = 2.0 * m * (z + m)
            for a in range(K):
                da[a] = -da[a] / s - z * db[a]  # dz/dx
            for a in range(K):
                if free[a] == 0:
                    continue
                grad[a] += -2.0 * m * da[a]
                for b in range(a + 1):
                    if free[b] == 0:
                        continue
                    H[a, b] += curv * da[a] * da[b]
    phi += 2.0 * (slog + math.log(sprod))
    if use_prior:
        for a in range(NP):
            if free[a] == 0:
                continue
            for b in range(NP):
                if free[b] == 0:
                    continue
                q = pq[a, b]
                phi += (x[a] - pm[a]) * q * (x[b] - pm[b])
                grad[a] += 2.0 * q * (x[b] - pm[b])
                if b <= a:
                    H[a, b] += 2.0 * q
    for a in range(K):
        for b in range(a + 1, K):
            H[a, b] = H[b, a]
    if not math.isfinite(phi):
        return np.inf
    return phi


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_chol(A, rhs, idx, m, out, L, v):
    """Solve A[idx, idx] out = rhs[idx] by Cholesky (work arrays L, v); False if not
    positive definite."""
    for i in range(m):
        for j in range(i + 1):
            s = A[idx[i], idx[j]]
            for k in range(j):
                s -= L[i, k] * L[j, k]
            if i == j:
                if not s > 0.0:
                    return False
                L[i, i] = math.sqrt(s)
            else:
                L[i, j] = s / L[j, j]
    for i in range(m):
        s = rhs[idx[i]]
        for k in range(i):
            s -= L[i, k] * v[k]
        v[i] = s / L[i, i]
    for i in range(m - 1, -1, -1):
        s = v[i]
        for k in range(i + 1, m):
            s -= L[k, i] * out[k]
        out[i] = s / L[i, i]
    return True


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_damping(rho, lam, nu):
    """Nielsen's update of the damping (lam, nu) after a trial step with gain ratio rho
    (accepted when rho > 1e-4)."""
    if rho > 1e-4:
        q = 2.0 * rho - 1.0
        return lam * max(1.0 / 3.0, 1.0 - q * q * q), 2.0
    return lam * nu, nu * 2.0


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_project(x, step, idx, m, lo, hi, xt):
    """Trial point xt: x plus the step on the components idx[:m], projected on [lo, hi]."""
    for a in range(x.shape[0]):
        xt[a] = x[a]
    for i in range(m):
        a = idx[i]
        val = x[a] + step[i]
        if val < lo[a]:
            val = lo[a]
        elif val > hi[a]:
            val = hi[a]
        xt[a] = val


@njit(cache=True, error_model="numpy", inline="always")
def _fit_natural(x, scale, p):
    for j in range(NP):
        p[j] = math.exp(x[j]) if scale[j] == 1 else x[j]


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_objective(y, w, nt, f, jn, jx, x, p, scale, emodel, free, K, pm, pq, use_prior, grad,
                   H, da, db):
    """Chain rule from the model Jacobian jn to the working scale (jx), then fit_assemble()."""
    for k in range(nt):
        for j in range(NP):
            jx[k, j] = jn[k, j] * p[j] if scale[j] == 1 else jn[k, j]
    return fit_assemble(y, w, nt, f, jx, x, emodel, free, K, pm, pq, use_prior, grad, H, da, db)


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_evaluate_closed(t, y, w, nt, t0, x, scale, emodel, free, K, jcols, nj, pm, pq,
                         use_prior, p, f, jn, jx, grad, H, da, db, g):
    """_fit_evaluate for the untreated closed form (mode 0), free of reference counting."""
    _fit_natural(x, scale, p)
    if _fit_closed_eval(t, nt, t0, p, jcols, nj, f, jn, g) != 0:
        return np.inf
    return _fit_objective(y, w, nt, f, jn, jx, x, p, scale, emodel, free, K, pm, pq,
                          use_prior, grad, H, da, db)


@njit(cache=True, error_model="numpy")
def _fit_evaluate(mode, t, y, w, nt, t0, x, scale, emodel, free, K, jcols, nj, jt, jf, dose,
              expo, acc, clear, bp, nsw, rtol, atol, max_steps, pm, pq, use_prior, p, f, jn,
              jx, grad, H, da, db, g):
    """Model, chain rule to the working scale, and fit_assemble(). Returns phi (inf on failure)."""
    _fit_natural(x, scale, p)
    st = fit_model_eval(mode, t, nt, t0, p, jcols, nj, jt, jf, dose, expo, acc, clear, bp, nsw,
                    rtol, atol, max_steps, f, jn, g)
    if st != 0:
        return np.inf
    return _fit_objective(y, w, nt, f, jn, jx, x, p, scale, emodel, free, K, pm, pq,
                          use_prior, grad, H, da, db)


@njit(cache=True, error_model="numpy")
def fit_work_arrays(m):
    """Work arrays of fit_lm_one for series of up to m points (allocated once per chunk)."""
    K = NP + 2
    m = max(m, 1)
    return (np.empty(NP), np.zeros((m, NP)), np.zeros((m, NP)), np.zeros(K), np.zeros((K, K)),
            np.empty(m), np.zeros((m, NP)), np.zeros((m, NP)), np.zeros(K), np.zeros((K, K)),
            np.empty(K), np.zeros((K, K)), np.zeros(K), np.zeros(K), np.zeros(K),
            np.zeros((K, K)), np.zeros(K), np.zeros(K), np.zeros(K), np.empty(NP + NQV),
            np.zeros(K, dtype=np.int64), np.zeros(NP, dtype=np.int64))


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_sigma(y, w, nt, f, x, emodel):
    """Set log sigma to its conditional maximum (closed form when nothing is censored)."""
    c = math.exp(x[NP + 1])
    acc2 = 0.0
    for k in range(nt):
        if w[k] > 1.5:
            return False
        if emodel == 3:
            u = math.log(y[k]) - math.log(f[k])
        elif emodel == 0:
            u = y[k] - f[k]
        elif emodel == 1:
            u = (y[k] - f[k]) / f[k]
        else:
            u = (y[k] - f[k]) / (c + f[k])
        acc2 += u * u
    v = acc2 / nt
    if not (v > 0.0) or not math.isfinite(v):
        return False
    x[NP] = 0.5 * math.log(v)
    return True


@njit(cache=True, error_model="numpy")
def fit_lm_one(mode, t, y, w, nt, t0, x, free, scale, lo, hi, emodel, jt, jf, dose, expo, acc,
           clear, bp, nsw, pm, pq, use_prior, max_iter, ftol, xtol, rtol, atol, max_steps,
           info, f, res, wk):
    """Maximum-likelihood fit of one subject (x is the start in, the estimate out).

    A Levenberg-Marquardt iteration with Marquardt scaling on the Fisher-scoring model
    phi(x + d) ~ phi + g'd + d'Hd/2; trial points are projected on the box [lo, hi] and
    accepted on the gain ratio (Nielsen's damping update). A parameter at a bound whose
    gradient pushes outwards is held for that iteration. Converged when the Newton
    decrement g'H^-1 g of the free, inactive part falls below ftol (-2 log L units: the
    distance to the optimum in log-likelihood) or a step is below xtol relative to x.
    res[0] = phi, res[1] = iterations, res[2] = model evaluations; wk = fit_work_arrays(m).
    Returns a status code; info receives H/2 (Fisher information, working scale).
    """
    (p, jn, jx, grad, H, f2, jn2, jx2, grad2, H2, xt, A, step, dvec, diag, L, v, da, db, g,
     idx, jcols) = wk
    K = NP + 2
    nj = 0
    for j in range(NP):
        if free[j] != 0:
            jcols[nj] = j
            nj += 1
    for a in range(K):
        diag[a] = 0.0
        for b in range(K):
            info[a, b] = 0.0
    res[0] = np.inf
    res[1] = 0.0
    res[2] = 0.0
    for a in range(K):
        if x[a] < lo[a]:
            x[a] = lo[a]
        elif x[a] > hi[a]:
            x[a] = hi[a]
    nfev = 1
    # model at the start, then sigma at its conditional maximum (closed form when nothing
    # is censored), then the objective: one assembly
    _fit_natural(x, scale, p)
    if mode == 0:
        st = _fit_closed_eval(t, nt, t0, p, jcols, nj, f, jn, g)
    else:
        st = fit_model_eval(mode, t, nt, t0, p, jcols, nj, jt, jf, dose, expo, acc, clear, bp,
                            nsw, rtol, atol, max_steps, f, jn, g)
    phi = np.inf
    if st == 0:
        if free[NP] != 0:
            _fit_sigma(y, w, nt, f, x, emodel)
        phi = _fit_objective(y, w, nt, f, jn, jx, x, p, scale, emodel, free, K, pm, pq,
                             use_prior, grad, H, da, db)
    if not math.isfinite(phi):
        res[2] = nfev
        return ST_NON_FINITE
    lam = 1e-3
    nu = 2.0
    status = ST_MAX_ITERATIONS
    it = 0
    done = False
    dec = np.inf
    while not done and it < max_iter:
        it += 1
        # active set: free components at a bound with the gradient pushing outwards
        m = 0
        for a in range(K):
            if free[a] == 0:
                continue
            if x[a] <= lo[a] and grad[a] > 0.0:
                continue
            if x[a] >= hi[a] and grad[a] < 0.0:
                continue
            idx[m] = a
            m += 1
        if m == 0:
            status = ST_SUCCESS
            break
        for i in range(m):
            a = idx[i]
            if H[a, a] > diag[a]:
                diag[a] = H[a, a]
            if diag[a] <= 0.0:
                diag[a] = 1e-12
            dvec[a] = -grad[a]
        # Newton decrement g'H^-1 g (undamped, tiny ridge for singular directions)
        for i in range(m):
            for j in range(m):
                A[idx[i], idx[j]] = H[idx[i], idx[j]]
            A[idx[i], idx[i]] += 1e-12 * diag[idx[i]]
        dec = np.inf
        if _fit_chol(A, dvec, idx, m, step, L, v):
            dec = 0.0
            for i in range(m):
                dec -= grad[idx[i]] * step[i]
            if dec < ftol:
                status = ST_SUCCESS
                break
        accepted = False
        while not accepted:
            for i in range(m):
                for j in range(m):
                    A[idx[i], idx[j]] = H[idx[i], idx[j]]
                A[idx[i], idx[i]] += lam * diag[idx[i]]
            if not _fit_chol(A, dvec, idx, m, step, L, v):
                lam *= nu
                nu *= 2.0
                if lam > 1e20:
                    break
                continue
            _fit_project(x, step, idx, m, lo, hi, xt)
            # predicted reduction of the quadratic model for the projected step
            pred = 0.0
            snorm = 0.0
            xnorm = 0.0
            for i in range(m):
                a = idx[i]
                da_ = xt[a] - x[a]
                pred -= grad[a] * da_
                for j in range(m):
                    b = idx[j]
                    pred -= 0.5 * da_ * H[a, b] * (xt[b] - x[b])
                snorm += da_ * da_
                xnorm += x[a] * x[a]
            small = math.sqrt(snorm) <= xtol * (math.sqrt(xnorm) + xtol)
            nfev += 1
            if mode == 0:
                phi2 = _fit_evaluate_closed(t, y, w, nt, t0, xt, scale, emodel, free, K, jcols,
                                            nj, pm, pq, use_prior, p, f2, jn2, jx2, grad2, H2,
                                            da, db, g)
            else:
                phi2 = _fit_evaluate(mode, t, y, w, nt, t0, xt, scale, emodel, free, K, jcols,
                                     nj, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                                     max_steps, pm, pq, use_prior, p, f2, jn2, jx2, grad2, H2,
                                     da, db, g)
            rho = -1.0
            if math.isfinite(phi2) and phi2 <= phi:
                rho = (phi - phi2) / pred if pred > 0.0 else 1.0
            if rho > 1e-4:
                accepted = True
                for a in range(K):
                    x[a] = xt[a]
                    grad[a] = grad2[a]
                    for b in range(K):
                        H[a, b] = H2[a, b]
                for k in range(nt):
                    f[k] = f2[k]
                    for j in range(NP):
                        jn[k, j] = jn2[k, j]
                        jx[k, j] = jx2[k, j]
                phi = phi2
            lam, nu = _fit_damping(rho, lam, nu)
            if small:
                # the step is below the resolution of x: stop; a success only if the
                # log-likelihood is within reach of its optimum
                accepted = True
                done = True
                status = ST_SUCCESS if dec < 1e-4 else ST_NOT_CONVERGED
            elif lam > 1e20:
                break
        if not accepted:
            status = ST_NOT_CONVERGED
            break
    for a in range(K):
        for b in range(K):
            info[a, b] = 0.5 * H[a, b]
    res[0] = phi
    res[1] = it
    res[2] = nfev
    return status


# ---- fast path: untreated closed form, measured points only, no prior, one-sd models
# (additive, proportional, log-normal). The same Levenberg-Marquardt / Fisher scoring as
# fit_lm_one, with three differences that make it about twice as fast and change no
# optimum:
# * sigma is profiled out: after every model evaluation log sigma is set to its
#   conditional maximum 1/2 log(mean u^2) (u the scaled residual), and the step solves
#   the Schur complement H_tt - H_ts H_ss^-1 H_st of the Fisher matrix, the Fisher
#   matrix of the profile likelihood in the growth parameters. The Newton decrement is
#   unchanged (the sigma gradient vanishes at its conditional maximum).
# * the Fisher matrix is built from raw sums over the points (sum v v', sum v, sum v u,
#   sum v u^2 with v = df/dx scaled per error model), in a second pass without library
#   calls, so the accumulators stay in registers;
# * no reference counting: every function is compiled with _nrt=False, work arrays come
#   from the caller, and rows are indexed instead of sliced.


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_fast_eval(t, y, ly, nt, t0, x, scale, emodel, p, q, g, J, f, S):
    """Model at x and the raw sums of the Fisher-scoring model; False if not finite.

    J (NP, m) receives df/dx (working scale) and then v = df/dx * c, with c = 1 (additive)
    or 1/f (proportional, log-normal). S rows: 0..NP-1 sum v v' (lower triangle), NP
    sum v, NP+1 sum v u, NP+2 sum v u^2; S[NP+3] = (sum u^2, sum log f) (S has at
    least two columns). u = y - f, (y - f)/f or log y - log f (ly holds log y).
    """
    for j in range(NP):
        p[j] = math.exp(x[j]) if scale[j] == 1 else x[j]
    card_volume_prep(p, q)
    for k in range(nt):
        f[k] = card_volume_vg(t[k] - t0, p, q, g)
        for j in range(NP):
            J[j, k] = g[j] * p[j] if scale[j] == 1 else g[j]
    s2 = 0.0
    sprod = 1.0
    slog = 0.0
    for a in range(NP + 3):
        for b in range(NP):
            S[a, b] = 0.0
    for k in range(nt):
        fk = f[k]
        if not math.isfinite(fk):
            return False
        if emodel == 0:
            c = 1.0
            u = y[k] - fk
        else:
            if not fk > 0.0:
                return False
            c = 1.0 / fk
            if emodel == 1:
                u = (y[k] - fk) * c
                sprod *= fk
                if not (1e-150 < sprod < 1e150):
                    slog += math.log(sprod)
                    sprod = 1.0
            else:
                u = ly[k] - math.log(fk)
        s2 += u * u
        u2 = u * u
        for a in range(NP):
            va = J[a, k] * c
            if not math.isfinite(va):
                return False
            J[a, k] = va
            S[NP, a] += va
            S[NP + 1, a] += va * u
            S[NP + 2, a] += va * u2
            for b in range(a + 1):
                S[a, b] += va * J[b, k]
    S[NP + 3, 0] = s2
    S[NP + 3, 1] = slog + math.log(sprod) if emodel == 1 else 0.0
    return math.isfinite(s2) and math.isfinite(S[NP + 3, 1])


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_fast_finalize(S, nt, x, emodel, cst, grad, H):
    """-2 log L, its gradient and Fisher matrix (as fit_assemble) at log sigma = x[NP],
    from the raw sums of _fit_fast_eval; cst is added to -2 log L (2 sum log y for the
    log-normal model)."""
    K = NP + 2
    prop = emodel == 1
    is2 = math.exp(-2.0 * x[NP])
    for a in range(K):
        grad[a] = 0.0
        for b in range(K):
            H[a, b] = 0.0
    alpha = 2.0 * is2 + (4.0 if prop else 0.0)
    for a in range(NP):
        # sum v w with w = -2 u / sigma^2 (+ 2 (1 - u^2 / sigma^2) proportional)
        ga = -2.0 * is2 * S[NP + 1, a]
        if prop:
            ga += 2.0 * S[NP, a] - 2.0 * is2 * S[NP + 2, a]
            H[NP, a] = 4.0 * S[NP, a]
            H[a, NP] = H[NP, a]
        grad[a] = ga
        for b in range(a + 1):
            H[a, b] = alpha * S[a, b]
            H[b, a] = H[a, b]
    s2 = S[NP + 3, 0]
    grad[NP] = 2.0 * nt - 2.0 * is2 * s2
    H[NP, NP] = 4.0 * nt
    phi = s2 * is2 + nt * (FIT_LOG2PI + 2.0 * x[NP]) + cst
    if prop:
        phi += 2.0 * S[NP + 3, 1]
    return phi if math.isfinite(phi) else np.inf


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_fast_sigma(S, nt, x, lo, hi):
    """Set log sigma to its conditional maximum (within its bounds); False if the
    residuals vanish."""
    v = S[NP + 3, 0] / nt
    if not (v > 0.0) or not math.isfinite(v):
        return False
    x[NP] = min(max(0.5 * math.log(v), lo[NP]), hi[NP])
    return True


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_fast_solve(Sc, dvec, idx, m, lam, diag, A, L, v, step):
    """Solve (Sc + lam diag) step = dvec on the components idx[:m]; False if the matrix is
    not positive definite. Two or three components (the usual cases) are solved by
    explicit formulas: loops over so few entries cost more than the arithmetic."""
    if m == 2:
        a, b = idx[0], idx[1]
        a00 = Sc[a, a] + lam * diag[a]
        if not a00 > 0.0:
            return False
        i0 = 1.0 / math.sqrt(a00)
        l10 = Sc[b, a] * i0
        d1 = Sc[b, b] + lam * diag[b] - l10 * l10
        if not d1 > 0.0:
            return False
        i1 = 1.0 / math.sqrt(d1)
        v0 = dvec[a] * i0
        v1 = (dvec[b] - l10 * v0) * i1
        s1 = v1 * i1
        step[1] = s1
        step[0] = (v0 - l10 * s1) * i0
        return True
    if m == 3:
        a, b, c = idx[0], idx[1], idx[2]
        a00 = Sc[a, a] + lam * diag[a]
        if not a00 > 0.0:
            return False
        i0 = 1.0 / math.sqrt(a00)
        l10 = Sc[b, a] * i0
        l20 = Sc[c, a] * i0
        d1 = Sc[b, b] + lam * diag[b] - l10 * l10
        if not d1 > 0.0:
            return False
        i1 = 1.0 / math.sqrt(d1)
        l21 = (Sc[c, b] - l20 * l10) * i1
        d2 = Sc[c, c] + lam * diag[c] - l20 * l20 - l21 * l21
        if not d2 > 0.0:
            return False
        i2 = 1.0 / math.sqrt(d2)
        v0 = dvec[a] * i0
        v1 = (dvec[b] - l10 * v0) * i1
        v2 = (dvec[c] - l20 * v0 - l21 * v1) * i2
        s2 = v2 * i2
        s1 = (v1 - l21 * s2) * i1
        step[2] = s2
        step[1] = s1
        step[0] = (v0 - l10 * s1 - l20 * s2) * i0
        return True
    for i in range(m):
        for j in range(m):
            A[idx[i], idx[j]] = Sc[idx[i], idx[j]]
        A[idx[i], idx[i]] += lam * diag[idx[i]]
    return _fit_chol(A, dvec, idx, m, step, L, v)


@njit(cache=True, error_model="numpy", _nrt=False, inline="always")
def _fit_decrement(dvec, idx, m, step):
    """dvec' step (dvec = -g) for the step of _fit_fast_solve: the Newton decrement when
    undamped."""
    dec = 0.0
    for i in range(m):
        dec += dvec[idx[i]] * step[i]
    return dec


@njit(cache=True, error_model="numpy", _nrt=False)
def _fit_fast_rows(start, stop, T, Y, W, nu, t0, X, free, scale, lo, hi, emodel, max_iter, ftol,
                   xtol, INFO, F, RES, status, ly, p, q, g, J, fb, Sb, gb, Hb, xt, Sc, A, step,
                   dvec, diag, L, v, idx, act, dx):
    """Fit rows start..stop-1 that have no censored point (status[s] = -1 for the others:
    left to fit_lm_one). Outputs as fit_lm_one; work arrays from fit_rows."""
    K = NP + 2
    prof = free[NP] != 0
    for s in range(start, stop):
        nt = nu[s]
        y = Y[s]
        t = T[s]
        x = X[s]
        cens = False
        for k in range(nt):
            if W[s, k] != 1.0:
                cens = True
        if cens:
            status[s] = -1
            continue
        for a in range(K):
            diag[a] = 0.0
            for b in range(K):
                INFO[s, a, b] = 0.0
            if x[a] < lo[a]:
                x[a] = lo[a]
            elif x[a] > hi[a]:
                x[a] = hi[a]
        RES[s, 0] = np.inf
        RES[s, 1] = 0.0
        RES[s, 2] = 1.0
        cst = 0.0
        if emodel == 3:
            for k in range(nt):
                ly[k] = math.log(y[k])
                cst += 2.0 * ly[k]
        cur = 0
        phi = np.inf
        if _fit_fast_eval(t, y, ly, nt, t0[s], x, scale, emodel, p, q, g, J, fb[0], Sb[0]):
            if prof:
                _fit_fast_sigma(Sb[0], nt, x, lo, hi)
            phi = _fit_fast_finalize(Sb[0], nt, x, emodel, cst, gb[0], Hb[0])
        if not math.isfinite(phi):
            status[s] = ST_NON_FINITE
            continue
        nfev = 1
        lam = 1e-3
        nu_ = 2.0
        st = ST_MAX_ITERATIONS
        it = 0
        done = False
        dec = np.inf
        while not done and it < max_iter:
            it += 1
            grad = gb[cur]
            H = Hb[cur]
            # active set (sigma excluded when profiled), as in fit_lm_one
            # (sigma, when free, is profiled: the steps are in the growth parameters)
            m = 0
            for a in range(NP):
                act[a] = 0
                if free[a] == 0:
                    continue
                if x[a] <= lo[a] and grad[a] > 0.0:
                    continue
                if x[a] >= hi[a] and grad[a] < 0.0:
                    continue
                act[a] = 1
                idx[m] = a
                m += 1
            if m == 0:
                st = ST_SUCCESS
                break
            # loops over all NP components (a constant: unrolled), the inactive ones skipped
            ihss = 1.0 / H[NP, NP]
            for a in range(NP):
                for b in range(NP):
                    Sc[a, b] = H[a, b] - H[a, NP] * H[NP, b] * ihss if prof else H[a, b]
            for a in range(NP):
                if act[a] != 0:
                    if Sc[a, a] > diag[a]:
                        diag[a] = Sc[a, a]
                    if diag[a] <= 0.0:
                        diag[a] = 1e-12
                    dvec[a] = -grad[a]
            # The convergence test is the undamped Newton decrement g'S^-1 g, and its
            # damped value g'(S + lam D)^-1 g is a lower bound: the undamped system is
            # factorized only when the damped decrement falls below ftol (at the last
            # iteration) or a step is too small to go on.
            dec = np.inf
            exact = False
            checked = False
            conv = False
            accepted = False
            while not accepted:
                if not _fit_fast_solve(Sc, dvec, idx, m, lam, diag, A, L, v, step):
                    lam *= nu_
                    nu_ *= 2.0
                    if lam > 1e20:
                        break
                    continue
                if not checked:
                    checked = True
                    if not _fit_decrement(dvec, idx, m, step) >= ftol:
                        exact = True
                        if _fit_fast_solve(Sc, dvec, idx, m, 1e-12, diag, A, L, v, step):
                            dec = _fit_decrement(dvec, idx, m, step)
                        if dec < ftol:
                            conv = True
                            break
                        _fit_fast_solve(Sc, dvec, idx, m, lam, diag, A, L, v, step)
                _fit_project(x, step, idx, m, lo, hi, xt)
                pred = 0.0
                snorm = 0.0
                xnorm = 0.0
                for a in range(NP):
                    dx[a] = xt[a] - x[a]
                for a in range(NP):
                    if act[a] == 0:
                        continue
                    pred -= grad[a] * dx[a]
                    for b in range(NP):
                        if act[b] != 0:
                            pred -= 0.5 * dx[a] * Sc[a, b] * dx[b]
                    snorm += dx[a] * dx[a]
                    xnorm += x[a] * x[a]
                small = math.sqrt(snorm) <= xtol * (math.sqrt(xnorm) + xtol)
                nfev += 1
                o = 1 - cur
                phi2 = np.inf
                if _fit_fast_eval(t, y, ly, nt, t0[s], xt, scale, emodel, p, q, g, J, fb[o],
                                  Sb[o]):
                    if not prof or _fit_fast_sigma(Sb[o], nt, xt, lo, hi):
                        phi2 = _fit_fast_finalize(Sb[o], nt, xt, emodel, cst, gb[o], Hb[o])
                rho = -1.0
                if math.isfinite(phi2) and phi2 <= phi:
                    rho = (phi - phi2) / pred if pred > 0.0 else 1.0
                if rho > 1e-4:
                    accepted = True
                    for a in range(K):
                        x[a] = xt[a]
                    cur = o
                    grad = gb[cur]
                    H = Hb[cur]
                    phi = phi2
                lam, nu_ = _fit_damping(rho, lam, nu_)
                if small:
                    if not exact:
                        if _fit_fast_solve(Sc, dvec, idx, m, 1e-12, diag, A, L, v, step):
                            dec = _fit_decrement(dvec, idx, m, step)
                    accepted = True
                    done = True
                    st = ST_SUCCESS if dec < 1e-4 else ST_NOT_CONVERGED
                elif lam > 1e20:
                    break
            if conv:
                st = ST_SUCCESS
                break
            if not accepted:
                st = ST_NOT_CONVERGED
                break
        H = Hb[cur]
        for a in range(K):
            for b in range(K):
                INFO[s, a, b] = 0.5 * H[a, b] if free[a] != 0 and free[b] != 0 else 0.0
        f = fb[cur]
        for k in range(nt):
            F[s, k] = f[k]
        RES[s, 0] = phi
        RES[s, 1] = it
        RES[s, 2] = nfev
        status[s] = st


@njit(cache=True, error_model="numpy")
def fit_fast_rows(start, stop, T, Y, W, nu, t0, X, free, scale, lo, hi, emodel, max_iter, ftol,
                  xtol, INFO, F, RES, status):
    """_fit_fast_rows with its work arrays (allocated once for the rows)."""
    K = NP + 2
    m = max(T.shape[1], 1)
    _fit_fast_rows(start, stop, T, Y, W, nu, t0, X, free, scale, lo, hi, emodel, max_iter, ftol,
                   xtol, INFO, F, RES, status, np.empty(m), np.empty(NP), np.empty(NQV),
                   np.empty(NP), np.empty((NP, m)), np.empty((2, m)),
                   np.empty((2, NP + 4, max(NP, 2))),
                   np.empty((2, K)), np.zeros((2, K, K)), np.empty(K), np.zeros((K, K)),
                   np.zeros((K, K)), np.zeros(K), np.zeros(K), np.zeros(K), np.zeros((K, K)),
                   np.zeros(K), np.zeros(K, dtype=np.int64), np.zeros(K, dtype=np.int64),
                   np.zeros(K))


@njit(cache=True, error_model="numpy", nogil=True)
def fit_rows(start, stop, mode, T, Y, W, nu, t0, X, free, scale, lo, hi, emodel, jt, jf, dose,
             expo, acc, clear, bp, nsw, PM, PQ, max_iter, ftol, xtol, rtol, atol, max_steps,
             INFO, F, RES, status, fast):
    """Fit rows start..stop-1: the fast path where it applies (fast, untreated closed
    form, no prior, one-sd error model, no censored point), fit_lm_one for the rest."""
    use_prior = PM.shape[0] > 0
    todo = stop - start
    if FIT_FAST and fast and mode == 0 and not use_prior and emodel != 2:
        fit_fast_rows(start, stop, T, Y, W, nu, t0, X, free, scale, lo, hi, emodel, max_iter,
                      ftol, xtol, INFO, F, RES, status)
        todo = 0
        for s in range(start, stop):
            if status[s] == -1:
                todo += 1
    if todo == 0:
        return
    wk = fit_work_arrays(T.shape[1])
    zm = np.zeros(NP)
    zq = np.zeros((NP, NP))
    for s in range(start, stop):
        if todo < stop - start and status[s] != -1:
            continue
        pm = PM[s] if use_prior else zm
        pq = PQ[s] if use_prior else zq
        status[s] = fit_lm_one(mode, T[s], Y[s], W[s], nu[s], t0[s], X[s], free, scale, lo, hi,
                           emodel, jt[s], jf[s], dose[s], expo[s], acc[s], clear[s], bp[s], nsw,
                           pm, pq, use_prior, max_iter, ftol, xtol, rtol, atol, max_steps,
                           INFO[s], F[s], RES[s], wk)
