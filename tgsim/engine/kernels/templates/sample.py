# Kernel template for Bayesian sampling: the No-U-Turn Sampler (NUTS) with windowed
# step-size and diagonal mass-matrix adaptation, one independent chain per row.
#
# Uses the card globals NP, NQV, card_volume_prep and card_volume_vg (untreated closed
# form and its exact symbolic gradient). Every name defined here starts with smp_ / SMP_.
# Entry points: smp_rows (advance a range of rows by some iterations; releases the GIL so
# threads can run disjoint ranges, see tgsim.engine.kernels.rows.run_rows) and smp_logp_rows
# (log density and gradient at given points, for checks and initial values).
#
# Algorithm: multinomial NUTS with the generalised no-U-turn criterion (Hoffman & Gelman
# 2014, JMLR 15:1593; Betancourt 2017, arXiv:1701.02434, appendix A), trees built
# iteratively with U-turn checkpoints (Phan, Pradhan & Jankowiak 2019, arXiv:1912.11554);
# dual-averaging step size (Hoffman & Gelman 2014, algorithm 5) targeting a mean
# acceptance statistic `delta`; a diagonal inverse metric from the regularised variance of
# the draws of each slow warm-up window (Stan's windowed adaptation: an initial fast
# buffer, doubling slow windows, a terminal fast buffer).
#
# Arrays only. Per subject s the observations are compacted to the front of its row:
#   T[s, :nu[s]] times (days), Y[s, :nu[s]] values (their logs under the log-normal
#   error model); only measured points (censored ones are refused before the kernel).
#   t0[s]: time origin of initial_volume.
# The natural parameter vector has NP + 1 slots: the card's parameters, then the error
# parameter sigma. D of them are free: comp[c] (c < D) is the slot of free coordinate c;
# the others keep their value in fixed[s, :].
# Transforms (tkind, per slot): 0 identity; 1 log (theta = exp(u)); 2 logit between
# tlo and thi (theta = tlo + (thi - tlo) / (1 + exp(-u))); 3 logit of log theta between
# 0 < tlo and thi (theta = exp(log tlo + log(thi / tlo) / (1 + exp(-u))): a positive
# parameter with finite bounds, which then are no walls). The log density of u includes
# the log Jacobian of the transform.
# Priors (pkind, per slot; natural scale): 0 flat; 1 normal(pa, pb); 2 log-normal
# (pa, pb: mean and sd of log theta); 3 half-normal(pb); 4 uniform(pa, pb) (support from
# the logit transform); 5 joint normal on log theta, mean MVM[s, slot], precision
# MVQ[s, slot, slot] (over the slots of kind 5; the hierarchical model's population prior).
# Card bounds clo/chi (per slot) are the support: outside them the density is zero.
# Error models (emodel): 0 additive sd = sigma; 1 proportional sd = sigma f;
# 3 log-normal: log y ~ N(log f, sigma^2) (the likelihood on the original scale).
#
# Row state (persists between calls, so a Gibbs sampler can interleave its own steps):
#   X[r, :D] position (unconstrained), LP[r] log density, G[r, :D] its gradient,
#   EPS[r] step size, DA[r, 4] dual averaging (mu, log eps_bar, h_bar, count),
#   MET[r, 0] inverse metric C (D x D; diagonal unless `dense`), MET[r, 1] its lower
#   Cholesky factor, WN[r], WMEAN[r, :D], WM2[r, :D, :D] Welford accumulators,
#   IT[r] iterations done.
# Warm-up: iterations 0 .. warmup-1 adapt; slow-window ends (iteration counts) in wend,
# Welford accumulation from iteration wbeg on.
# Outputs per draw d = IT - warmup (only when >= 0 and < ndraw):
#   OUT[r, d, :NP+1] natural parameters; ST[r, d, :] accept stat, step size, tree depth,
#   leapfrog steps, divergent, energy, log density.

import math

import numpy as np
from numba import njit

from tgsim.engine.kernels.stub import *  # noqa: F403  @card (the card functions)

SMP_NSTAT = 7
SMP_MAX_DH = 1000.0  # an energy error above this is a divergence
SMP_GAMMA = 0.05  # dual averaging: shrinkage, offset and decay (Hoffman & Gelman 2014)
SMP_T0 = 10.0
SMP_KAPPA = 0.75


@njit(cache=True, error_model="numpy")
def smp_logp(u, D, comp, tkind, tlo, thi, pkind, pa, pb, mvm, mvq, clo, chi, T, Y, nu, t0,
             emodel, theta, dth, gth, q, g, grad):
    """Log density of the unconstrained point u (D coordinates) and its gradient.

    theta holds the NP + 1 natural values (fixed slots pre-filled); dth, gth, q, g are
    work arrays (NP + 1, NP + 1, NQV, NP). Returns -inf outside the support.
    """
    lj = 0.0
    for c in range(D):
        i = comp[c]
        k = tkind[i]
        if k == 0:
            theta[i] = u[c]
            dth[i] = 1.0
            grad[c] = 0.0
        elif k == 1:
            theta[i] = math.exp(u[c])
            dth[i] = theta[i]
            lj += u[c]
            grad[c] = 1.0
        elif k == 2:
            s = 1.0 / (1.0 + math.exp(-u[c]))
            w = thi[i] - tlo[i]
            theta[i] = tlo[i] + w * s
            dth[i] = w * s * (1.0 - s)
            lj += math.log(w) + math.log(s) + math.log1p(-s)
            grad[c] = 1.0 - 2.0 * s
        else:
            s = 1.0 / (1.0 + math.exp(-u[c]))
            w = math.log(thi[i]) - math.log(tlo[i])
            theta[i] = math.exp(math.log(tlo[i]) + w * s)
            dth[i] = theta[i] * w * s * (1.0 - s)
            lj += math.log(theta[i]) + math.log(w) + math.log(s) + math.log1p(-s)
            grad[c] = w * s * (1.0 - s) + 1.0 - 2.0 * s
    for i in range(NP + 1):
        gth[i] = 0.0
        if tkind[i] < 2 and not (theta[i] >= clo[i] and theta[i] <= chi[i]):
            return -np.inf
    sig = theta[NP]
    p = theta[:NP]
    card_volume_prep(p, q)
    ll = 0.0
    ssq = 0.0
    isig2 = 1.0 / (sig * sig)
    for k in range(nu):
        f = card_volume_vg(T[k] - t0, p, q, g)
        if not (f > 0.0 and math.isfinite(f)):
            return -np.inf
        y = Y[k]
        if emodel == 3:  # Y holds log values
            r = y - math.log(f)
            ssq += r * r
            ll -= y
            dldf = r * isig2 / f
        elif emodel == 1:
            z = (y - f) / (sig * f)
            ssq += z * z
            ll -= math.log(f)
            dldf = -1.0 / f + z * y / (sig * f * f)
        else:
            z = y - f
            ssq += z * z
            dldf = z * isig2
        for j in range(NP):
            gth[j] += dldf * g[j]
    if emodel == 3 or emodel == 0:
        ll -= nu * math.log(sig) + 0.5 * ssq * isig2
        gth[NP] = -nu / sig + ssq * isig2 / sig
    else:
        ll -= nu * math.log(sig) + 0.5 * ssq
        gth[NP] = -nu / sig + ssq / sig
    ll -= nu * 0.5 * math.log(2.0 * math.pi)
    lp = ll + lj
    for c in range(D):
        i = comp[c]
        k = pkind[i]
        th = theta[i]
        if k == 1:
            z = (th - pa[i]) / pb[i]
            lp -= 0.5 * z * z
            gth[i] -= z / pb[i]
        elif k == 2:
            lt = math.log(th)
            z = (lt - pa[i]) / pb[i]
            lp -= lt + 0.5 * z * z
            gth[i] -= (1.0 + z / pb[i]) / th
        elif k == 3:
            z = th / pb[i]
            lp -= 0.5 * z * z
            gth[i] -= z / pb[i]
        elif k == 5:
            acc = 0.0
            for c2 in range(D):
                i2 = comp[c2]
                if pkind[i2] == 5:
                    acc += mvq[i, i2] * (math.log(theta[i2]) - mvm[i2])
            lp -= math.log(th) + 0.5 * (math.log(th) - mvm[i]) * acc
            gth[i] -= (1.0 + acc) / th
    for c in range(D):
        i = comp[c]
        grad[c] += gth[i] * dth[i]
    if not math.isfinite(lp):
        return -np.inf
    return lp


@njit(cache=True, error_model="numpy", nogil=True)
def smp_logp_rows(start, stop, U, LPO, GO, D, comp, tkind, tlo, thi, pkind, pa, pb, MVM,
                  MVQ, clo, chi, T, Y, nu, t0, subj, emodel, FIXED):
    """Log density LPO[r] and gradient GO[r, :D] at U[r, :D] for rows start .. stop-1."""
    theta = np.empty(NP + 1)
    dth = np.empty(NP + 1)
    gth = np.empty(NP + 1)
    q = np.empty(NQV)
    g = np.empty(NP)
    for r in range(start, stop):
        s = subj[r]
        for i in range(NP + 1):
            theta[i] = FIXED[s, i]
        LPO[r] = smp_logp(U[r], D, comp, tkind, tlo, thi, pkind, pa, pb, MVM[s], MVQ[s], clo,
                          chi, T[s], Y[s], nu[s], t0[s], emodel, theta, dth, gth, q, g, GO[r])


@njit(cache=True, error_model="numpy")
def smp_natural(u, D, comp, tkind, tlo, thi, theta):
    """Natural values of the free coordinates u written into their slots of theta."""
    for c in range(D):
        i = comp[c]
        if tkind[i] == 0:
            theta[i] = u[c]
        elif tkind[i] == 1:
            theta[i] = math.exp(u[c])
        elif tkind[i] == 2:
            theta[i] = tlo[i] + (thi[i] - tlo[i]) / (1.0 + math.exp(-u[c]))
        else:
            w = math.log(thi[i]) - math.log(tlo[i])
            theta[i] = math.exp(math.log(tlo[i]) + w / (1.0 + math.exp(-u[c])))


@njit(cache=True, error_model="numpy")
def smp_kinetic(p, met, D):
    """Kinetic energy p' C p / 2 (C = met[0], the inverse metric)."""
    e = 0.0
    for i in range(D):
        v = 0.0
        for j in range(D):
            v += met[0, i, j] * p[j]
        e += p[i] * v
    return 0.5 * e


@njit(cache=True, error_model="numpy")
def smp_momentum(p, met, D):
    """p ~ N(0, C^-1): z standard normal, then L' p = z (C = L L', L = met[1])."""
    for i in range(D):
        p[i] = np.random.standard_normal()  # noqa: NPY002 (Numba's per-thread generator)
    for i in range(D - 1, -1, -1):
        acc = p[i]
        for k in range(i + 1, D):
            acc -= met[1, k, i] * p[k]
        p[i] = acc / met[1, i, i]


@njit(cache=True, error_model="numpy")
def smp_turning(pl, pr, rho, met, D):
    """Generalised no-U-turn criterion: the sharp momenta C p at either end of a (sub)tree
    have a non-positive projection on its summed momentum rho."""
    a = 0.0
    b = 0.0
    for i in range(D):
        for j in range(D):
            a += met[0, i, j] * pl[j] * rho[i]
            b += met[0, i, j] * pr[j] * rho[i]
    return a <= 0.0 or b <= 0.0


@njit(cache=True, error_model="numpy")
def smp_popcount(n):
    k = 0
    while n:
        k += n & 1
        n >>= 1
    return k


@njit(cache=True, error_model="numpy")
def smp_leapfrog(x, p, gr, eps, met, D, args, wk):
    """One leapfrog step of size eps (negative: backwards); x, p, gr updated in place;
    returns the new log density."""
    for c in range(D):
        p[c] += 0.5 * eps * gr[c]
    for i in range(D):
        v = 0.0
        for j in range(D):
            v += met[0, i, j] * p[j]
        x[i] += eps * v
    lp = smp_eval(x, args, wk, gr, D)
    if not math.isfinite(lp):
        return -np.inf
    for c in range(D):
        p[c] += 0.5 * eps * gr[c]
    return lp


@njit(cache=True, error_model="numpy")
def smp_eval(x, args, wk, gr, D):
    (comp, tkind, tlo, thi, pkind, pa, pb, mvm, mvq, clo, chi, T, Y, nu, t0, emodel) = args
    return smp_logp(x, D, comp, tkind, tlo, thi, pkind, pa, pb, mvm, mvq, clo, chi, T, Y,
                    nu, t0, emodel, wk[0], wk[1], wk[2], wk[3][:NQV], wk[4][:NP], gr)


@njit(cache=True, error_model="numpy")
def smp_init_eps(x, lp, gr, eps, met, D, args, wk, buf):
    """A reasonable first step size (Hoffman & Gelman 2014, algorithm 4): doubled or
    halved until one leapfrog step's acceptance probability crosses 1/2."""
    xs, ps, gs = buf[0], buf[1], buf[2]
    smp_momentum(ps, met, D)
    h0 = -lp + smp_kinetic(ps, met, D)
    direction = 0
    for _ in range(60):
        for c in range(D):
            xs[c] = x[c]
            gs[c] = gr[c]
            buf[3][c] = ps[c]
        lp1 = smp_leapfrog(xs, buf[3], gs, eps, met, D, args, wk)
        dh = h0 - (-lp1 + smp_kinetic(buf[3], met, D))
        if not math.isfinite(dh):
            dh = -np.inf
        if direction == 0:
            direction = 1 if dh > -math.log(2.0) else -1
        if direction == 1 and not (dh > -math.log(2.0)):
            break
        if direction == -1 and dh > -math.log(2.0):
            break
        eps = eps * 2.0 if direction == 1 else eps * 0.5
        if eps < 1e-12 or eps > 1e6:
            break
    return eps


@njit(cache=True, error_model="numpy")
def smp_nuts(x, lp0, g0, eps, met, D, max_depth, args, wk, buf, ck, cks, res):
    """One NUTS transition from x (log density lp0, gradient g0), updated in place.

    buf: (16, D) work rows; ck, cks: (max_depth, D) U-turn checkpoints. res receives
    accept stat, tree depth, leapfrog steps, divergent, energy; returns the new log density.
    """
    p0 = buf[0]
    xl, pl, gl = buf[1], buf[2], buf[3]
    xr, pr, gr = buf[4], buf[5], buf[6]
    xc, pc, gc = buf[7], buf[8], buf[9]
    xs, gs, ps = buf[10], buf[11], buf[12]
    rho, rsub = buf[13], buf[14]
    pprop = buf[15]
    smp_momentum(p0, met, D)
    for c in range(D):
        xl[c] = x[c]
        xr[c] = x[c]
        pl[c] = p0[c]
        pr[c] = p0[c]
        gl[c] = g0[c]
        gr[c] = g0[c]
        rho[c] = p0[c]
        pprop[c] = p0[c]
    h0 = -lp0 + smp_kinetic(p0, met, D)
    lpprop = lp0
    logw = 0.0
    acc = 0.0
    nleap = 0
    divergent = 0
    depth = 0
    while depth < max_depth:
        forward = np.random.random() < 0.5  # noqa: NPY002 (Numba's per-thread generator)
        if forward:
            for c in range(D):
                xc[c] = xr[c]
                pc[c] = pr[c]
                gc[c] = gr[c]
        else:
            for c in range(D):
                xc[c] = xl[c]
                pc[c] = pl[c]
                gc[c] = gl[c]
        step = eps if forward else -eps
        logw_sub = -np.inf
        lps = -np.inf
        valid = True
        for c in range(D):
            rsub[c] = 0.0
        for n in range(1 << depth):
            lpc = smp_leapfrog(xc, pc, gc, step, met, D, args, wk)
            nleap += 1
            h = -lpc + smp_kinetic(pc, met, D)
            dh = h - h0
            if not (dh <= SMP_MAX_DH):
                divergent = 1
                valid = False
                break
            acc += 1.0 if dh <= 0.0 else math.exp(-dh)
            w = -dh
            m = max(logw_sub, w)
            new_logw = m + math.log(math.exp(logw_sub - m) + math.exp(w - m))
            if np.random.random() < math.exp(w - new_logw):  # noqa: NPY002 (Numba's per-thread generator)
                lps = lpc
                for c in range(D):
                    xs[c] = xc[c]
                    gs[c] = gc[c]
                    ps[c] = pc[c]
            logw_sub = new_logw
            for c in range(D):
                rsub[c] += pc[c]
            if n % 2 == 0:
                i = smp_popcount(n >> 1)
                for c in range(D):
                    ck[i, c] = pc[c]
                    cks[i, c] = rsub[c]
            else:
                imax = smp_popcount(n >> 1)
                trail = 0
                mm = n
                while mm & 1:
                    trail += 1
                    mm >>= 1
                imin = imax - trail + 1
                turned = False
                for i in range(imax, imin - 1, -1):
                    for c in range(D):
                        rho_i = rsub[c] - cks[i, c] + ck[i, c]
                        wk[5][c] = rho_i
                    if smp_turning(ck[i], pc, wk[5], met, D):
                        turned = True
                        break
                if turned:
                    valid = False
                    break
        depth += 1
        if not valid:
            break
        if forward:
            for c in range(D):
                xr[c] = xc[c]
                pr[c] = pc[c]
                gr[c] = gc[c]
        else:
            for c in range(D):
                xl[c] = xc[c]
                pl[c] = pc[c]
                gl[c] = gc[c]
        if np.random.random() < math.exp(min(0.0, logw_sub - logw)):  # noqa: NPY002 (Numba's per-thread generator)
            lpprop = lps
            for c in range(D):
                x[c] = xs[c]
                g0[c] = gs[c]
                pprop[c] = ps[c]
        m = max(logw, logw_sub)
        logw = m + math.log(math.exp(logw - m) + math.exp(logw_sub - m))
        for c in range(D):
            rho[c] += rsub[c]
        if smp_turning(pl, pr, rho, met, D):
            break
    res[0] = acc / max(nleap, 1)
    res[1] = depth
    res[2] = nleap
    res[3] = divergent
    res[4] = -lpprop + smp_kinetic(pprop, met, D)
    return lpprop


@njit(cache=True, error_model="numpy")
def smp_cholesky(met, D):
    """met[1] = the lower Cholesky factor of met[0] (the inverse metric); a metric that is
    not positive definite falls back to its diagonal."""
    for i in range(D):
        for j in range(D):
            met[1, i, j] = 0.0
    for j in range(D):
        s = met[0, j, j]
        for k in range(j):
            s -= met[1, j, k] * met[1, j, k]
        if not (s > 0.0):
            for i in range(D):
                for c in range(D):
                    if i != c:
                        met[0, i, c] = 0.0
                    met[1, i, c] = math.sqrt(met[0, i, i]) if i == c else 0.0
            return
        met[1, j, j] = math.sqrt(s)
        for i in range(j + 1, D):
            t = met[0, i, j]
            for k in range(j):
                t -= met[1, i, k] * met[1, j, k]
            met[1, i, j] = t / met[1, j, j]


@njit(cache=True, error_model="numpy")
def smp_adapt(it, warmup, wbeg, wend, x, eps, da, met, wn, wmean, wm2, acc_stat, delta, D,
              dense, lp, gr, args, wk, buf):
    """Warm-up bookkeeping after iteration ``it``: dual averaging of the step size,
    Welford (co)variance over the slow windows, metric update at each window's end
    (diagonal, or dense when ``dense``). Returns the step size for the next iteration."""
    da[3] += 1.0
    m = da[3]
    eta = 1.0 / (m + SMP_T0)
    da[2] = (1.0 - eta) * da[2] + eta * (delta - acc_stat)
    log_eps = da[0] - math.sqrt(m) / SMP_GAMMA * da[2]
    w = m ** (-SMP_KAPPA)
    da[1] = w * log_eps + (1.0 - w) * da[1]
    eps = math.exp(log_eps)
    d1 = buf[15]
    if it >= wbeg and it < wend[wend.size - 1]:
        wn[0] += 1.0
        for c in range(D):
            d1[c] = x[c] - wmean[c]
            wmean[c] += d1[c] / wn[0]
        for i in range(D):
            for j in range(D):
                wm2[i, j] += d1[i] * (x[j] - wmean[j])
    for k in range(wend.size):
        if it + 1 == wend[k] and wn[0] > 2.0:
            n = wn[0]
            for i in range(D):
                for j in range(D):
                    cov = wm2[i, j] / (n - 1.0)
                    if i == j:
                        met[0, i, j] = (n / (n + 5.0)) * cov + 1e-3 * (5.0 / (n + 5.0))
                    else:
                        met[0, i, j] = (n / (n + 5.0)) * cov if dense else 0.0
                    wm2[i, j] = 0.0
                wmean[i] = 0.0
            wn[0] = 0.0
            smp_cholesky(met, D)
            eps = smp_init_eps(x, lp, gr, eps, met, D, args, wk, buf)
            da[0] = math.log(10.0 * eps)
            da[1] = 0.0
            da[2] = 0.0
            da[3] = 0.0
    if it + 1 == warmup:
        eps = math.exp(da[1])
    return eps


@njit(cache=True, error_model="numpy", nogil=True)
def smp_rows(start, stop, n_iter, warmup, ndraw, wbeg, wend, delta, max_depth, dense, seeds, X,
             LP, G, EPS, DA, MET, WN, WMEAN, WM2, IT, OUT, ST, D, comp, tkind, tlo, thi, pkind,
             pa, pb, MVM, MVQ, clo, chi, T, Y, nu, t0, subj, emodel, FIXED):
    """Advance rows start .. stop-1 by n_iter NUTS iterations each (see the header)."""
    wk0 = np.empty(NP + 1)
    wk1 = np.empty(NP + 1)
    wk2 = np.empty(NP + 1)
    wk3 = np.empty(max(NQV, D))
    wk4 = np.empty(max(NP, D))
    wk5 = np.empty(max(NP + 1, D))
    wk = (wk0, wk1, wk2, wk3, wk4, wk5)
    buf = np.empty((16, D))
    ck = np.empty((max_depth + 1, D))
    cks = np.empty((max_depth + 1, D))
    res = np.empty(5)
    for r in range(start, stop):
        np.random.seed(seeds[r])  # noqa: NPY002 (Numba's per-thread generator)
        s = subj[r]
        for i in range(NP + 1):
            wk0[i] = FIXED[s, i]
        args = (comp, tkind, tlo, thi, pkind, pa, pb, MVM[s], MVQ[s], clo, chi, T[s], Y[s],
                nu[s], t0[s], emodel)
        x = X[r]
        gr = G[r]
        met = MET[r]
        if IT[r] == 0:  # the first call: log density, first step size, dual averaging
            LP[r] = smp_eval(x, args, wk, gr, D)
            if math.isfinite(LP[r]):
                EPS[r] = smp_init_eps(x, LP[r], gr, EPS[r], met, D, args, wk, buf)
            DA[r, 0] = math.log(10.0 * EPS[r])
            DA[r, 1] = 0.0
            DA[r, 2] = 0.0
            DA[r, 3] = 0.0
        for _ in range(n_iter):
            it = IT[r]
            if math.isfinite(LP[r]):
                LP[r] = smp_nuts(x, LP[r], gr, EPS[r], met, D, max_depth, args, wk, buf,
                                 ck, cks, res)
            else:
                res[0] = 0.0
                res[1] = 0.0
                res[2] = 0.0
                res[3] = 1.0
                res[4] = np.nan
            eps_used = EPS[r]
            if it < warmup:
                EPS[r] = smp_adapt(it, warmup, wbeg, wend, x, EPS[r], DA[r], met,
                                   WN[r:r + 1], WMEAN[r], WM2[r], res[0], delta, D, dense,
                                   LP[r],
                                   gr, args, wk, buf)
            d = it - warmup
            if d >= 0 and d < ndraw:
                smp_natural(x, D, comp, tkind, tlo, thi, wk0)
                for i in range(NP + 1):
                    OUT[r, d, i] = wk0[i]
                ST[r, d, 0] = res[0]
                ST[r, d, 1] = eps_used
                ST[r, d, 2] = res[1]
                ST[r, d, 3] = res[2]
                ST[r, d, 4] = res[3]
                ST[r, d, 5] = res[4]
                ST[r, d, 6] = LP[r]
            IT[r] = it + 1
