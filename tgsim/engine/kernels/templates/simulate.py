# Kernel template for simulation: adaptive Dormand-Prince 5(4) per subject, in the states
# or in their logs, SIMD lanes for untreated cohorts, and the piecewise closed form.
# Row kernels (sim_*_rows) take a range of subjects and release the GIL: tgsim.engine.compile's
# run_rows splits a cohort over threads.

import math

import numpy as np
from numba import njit

from tgsim.engine.kernels.templates.common import *  # noqa: F403  @common

# ---- the two forms of the integrated states -------------------------------------------
# The integrator below is compiled twice: on the states themselves (suffix _lin) and on
# their logs u = log y (suffix _log, for cards whose log form is cheaper: see
# tgsim.engine.logform). Each form supplies its right-hand side, error scale and jumps; they are
# inlined, so neither copy carries a branch on the form in its inner loop.
LOG_lin = False
LOG_log = True
NT_lin = NT  # slots stepped: the swelling compartment only exists in the _lin form
NT_log = NS


@njit(cache=True, error_model="numpy", inline="always")
def card_rhs_lin(y, p, q, dy):
    """The growth term in the states (``q`` is unused)."""
    card_rhs(y, p, dy)


@njit(cache=True, error_model="numpy", inline="always")
def treat_lin(y, dy, a, lk, ns, infil, clear, nsw):
    apply_treatment(y, dy, a, lk, ns, infil, clear, nsw)


@njit(cache=True, error_model="numpy", inline="always")
def treat_log(u, du, a, lk, ns, infil, clear, nsw):
    """Treatment in log-states: d log(y_i)/dt = a (1 - ns s_i) g_i / y_i - lk s_i (no
    swelling compartment in this form)."""
    for i in range(NS):
        du[i] = a * (1.0 - ns * SENS[i]) * du[i] - lk * SENS[i]


@njit(cache=True, error_model="numpy", inline="always")
def scale_lin(y, ynew, rtol, atol):
    """Error scale of a state: atol + rtol |y|."""
    return atol + rtol * max(abs(y), abs(ynew))


@njit(cache=True, error_model="numpy", inline="always")
def scale_log(u, unew, rtol, atol):
    """The same criterion on u = log y: an error e in u is a relative error e in y, so
    (atol + rtol y) / y = rtol + atol exp(-u)."""
    return rtol + atol * math.exp(-max(u, unew))


@njit(cache=True, error_model="numpy", inline="always")
def jumps_lin(y, jt, jf, ij, at):
    return apply_jumps(y, jt, jf, ij, at, 1, 0)


@njit(cache=True, error_model="numpy", inline="always")
def jumps_log(u, jt, jf, ij, at):
    """apply_jumps for log-states: each jump factor adds its log."""
    nj = jt.shape[0]
    while ij < nj and jt[ij] <= at:
        if jt[ij] == at:
            for i in range(NS):
                u[i] += math.log(jump_factor(jf[ij], i))
        ij += 1
    return ij


@njit(cache=True, error_model="numpy")
def log_eligible(y, jf, nsw):
    """Whether a subject can be integrated in log-states: the card's log form is the
    cheaper one, there is no swelling compartment, every initial state is positive and
    no jump sets a state to zero."""
    if not LOGSPACE or nsw > 0:
        return False
    for i in range(NS):
        if not (y[i] > 0.0):
            return False
    for j in range(jf.shape[0]):
        for i in range(NS):
            if not (jump_factor(jf[j], i) > 0.0):
                return False
    return True


# ---- begin per-form integrator (expanded for FORM in lin, log by tgsim.engine.compile)
@njit(cache=True, error_model="numpy")
def integrate_FORM(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                   max_steps, out):
    """Integrate one subject with adaptive Dormand-Prince 5(4); write out[k, state].

    In the _log form the tumour states are integrated as their logs and ``out`` receives
    the logs (the caller takes their exp). Returns a status code. Outputs not reached
    (after a failure) are NaN.
    """
    # state vectors always hold NS + 1 slots (the last is the swelling, zero when unused)
    # so that every loop has a compile-time trip count; `nso` columns are written out
    nso = NS + nsw
    nout = times.shape[0]
    for k in range(nout):
        for i in range(nso):
            out[k, i] = np.nan
    # one scratch allocation per subject: state rows, then q, then the dose groups
    m = max(dose.shape[0], 1)
    w = np.zeros(14 * NT + NQ + 3 * m)
    q = w[14 * NT:14 * NT + NQ]
    gk = w[14 * NT + NQ:14 * NT + NQ + m]
    gh = w[14 * NT + NQ + m:14 * NT + NQ + 2 * m]
    gsum = w[14 * NT + NQ + 2 * m:]
    y = w[0 * NT:1 * NT]
    ynew = w[1 * NT:2 * NT]
    yt = w[2 * NT:3 * NT]
    k1 = w[3 * NT:4 * NT]
    k2 = w[4 * NT:5 * NT]
    k3 = w[5 * NT:6 * NT]
    k4 = w[6 * NT:7 * NT]
    k5 = w[7 * NT:8 * NT]
    k6 = w[8 * NT:9 * NT]
    k7 = w[9 * NT:10 * NT]
    c1 = w[10 * NT:11 * NT]  # dense-output coefficients of the current step
    c2 = w[11 * NT:12 * NT]
    c3 = w[12 * NT:13 * NT]
    c4 = w[13 * NT:14 * NT]
    treated = dose.shape[0] > 0 or expo.shape[0] > 0 or acc.shape[0] > 0
    ng = 0
    card_init(p, y)
    for i in range(NS):
        if not (y[i] >= 0.0) or not math.isfinite(y[i]):
            return ST_NON_FINITE
    if LOG_FORM and not log_eligible(y, jf, nsw):
        return ST_NOT_LOG
    if LOG_FORM:
        card_prep(p, q)
        for i in range(NS):
            y[i] = math.log(y[i])
    ij = jumps_FORM(y, jt, jf, 0, t0)
    k = record_until(out, 0, times, t0, y, nso)
    tend = times[nout - 1]
    t = t0
    ib = 0
    steps = 0
    while t < tend:
        ib, b = segment_end(bp, ib, t, tend)
        tseg = t
        ng = dose_groups(dose, tseg, gk, gh, gsum)
        card_rhs_FORM(y, p, q, k1)
        if treated:
            a, lk, ns, infil = treatment_rates(t, tseg, gk, gh, gsum, ng, expo, acc)
            treat_FORM(y, k1, a, lk, ns, infil, clear, nsw)
        # first step of every segment: about a 1 % change (d0 / d1: the time scale of
        # relative change). The step size is not carried over an event: a step grown
        # on a quiet stretch and cut to the next breakpoint can pass the error test by
        # accident (the embedded estimate crossing zero), so control restarts there.
        h = first_step(1.0 if LOG_FORM else _norm(y[:nso]), _norm(k1[:nso]), b - t)
        while t < b:
            steps += 1
            if steps > max_steps:
                return ST_MAX_STEPS
            hs, last = step_to(t, h, b)
            for i in range(NT_FORM):
                yt[i] = y[i] + hs * A21 * k1[i]
            card_rhs_FORM(yt, p, q, k2)
            if treated:
                a, lk, ns, infil = treatment_rates(t + C2 * hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(yt, k2, a, lk, ns, infil, clear, nsw)
            for i in range(NT_FORM):
                yt[i] = y[i] + hs * (A31 * k1[i] + A32 * k2[i])
            card_rhs_FORM(yt, p, q, k3)
            if treated:
                a, lk, ns, infil = treatment_rates(t + C3 * hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(yt, k3, a, lk, ns, infil, clear, nsw)
            for i in range(NT_FORM):
                yt[i] = y[i] + hs * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i])
            card_rhs_FORM(yt, p, q, k4)
            if treated:
                a, lk, ns, infil = treatment_rates(t + C4 * hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(yt, k4, a, lk, ns, infil, clear, nsw)
            for i in range(NT_FORM):
                yt[i] = y[i] + hs * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i])
            card_rhs_FORM(yt, p, q, k5)
            if treated:
                a, lk, ns, infil = treatment_rates(t + C5 * hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(yt, k5, a, lk, ns, infil, clear, nsw)
            for i in range(NT_FORM):
                yt[i] = y[i] + hs * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i]
                                     + A65 * k5[i])
            card_rhs_FORM(yt, p, q, k6)
            if treated:
                a, lk, ns, infil = treatment_rates(t + hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(yt, k6, a, lk, ns, infil, clear, nsw)
            for i in range(NT_FORM):
                ynew[i] = y[i] + hs * (A71 * k1[i] + A73 * k3[i] + A74 * k4[i] + A75 * k5[i]
                                       + A76 * k6[i])
            card_rhs_FORM(ynew, p, q, k7)
            if treated:
                a, lk, ns, infil = treatment_rates(t + hs, tseg, gk, gh, gsum, ng, expo, acc)
                treat_FORM(ynew, k7, a, lk, ns, infil, clear, nsw)
            err = 0.0
            for i in range(NT_FORM):
                e = hs * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i]
                          + E7 * k7[i])
                sc = scale_FORM(y[i], ynew[i], rtol, atol)
                err += (e / sc) * (e / sc)
            err = math.sqrt(err / nso)
            if not math.isfinite(err):
                h = 0.2 * hs
                if h < 1e-14 * max(1.0, abs(t)):
                    return ST_NON_FINITE
                continue
            if err <= 1.0:
                tnew = b if last else t + hs
                # a failed state ends the subject before any output of this step is written:
                # outputs after the last good time stay NaN
                for i in range(NS):
                    if not LOG_FORM and ynew[i] < 0.0:
                        return ST_NEGATIVE_STATE
                    if not math.isfinite(ynew[i]):
                        return ST_NON_FINITE
                # dense output for requested times inside (t, tnew]
                if k < nout and times[k] <= tnew and times[k] < b:
                    for i in range(nso):
                        ydiff = ynew[i] - y[i]
                        bspl = hs * k1[i] - ydiff
                        c1[i] = ydiff
                        c2[i] = bspl
                        c3[i] = ydiff - hs * k7[i] - bspl
                        c4[i] = hs * (D1 * k1[i] + D3 * k3[i] + D4 * k4[i] + D5 * k5[i]
                                      + D6 * k6[i] + D7 * k7[i])
                    while k < nout and times[k] <= tnew and times[k] < b:
                        th = (times[k] - t) / hs
                        th1 = 1.0 - th
                        for i in range(nso):
                            out[k, i] = y[i] + th * (c1[i] + th1 * (c2[i] + th * (
                                c3[i] + th1 * c4[i])))
                        k += 1
                for i in range(NT_FORM):
                    y[i] = ynew[i]
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
        # at the breakpoint b: apply jumps, then record outputs at b (right-continuous)
        ij = jumps_FORM(y, jt, jf, ij, b)
        k = record_until(out, k, times, b, y, nso)
    return ST_SUCCESS


@njit(cache=True, error_model="numpy")
def lanes_FORM(times, t0, P, s0, rtol, atol, max_steps, out):
    """Integrate untreated subjects ``s0 .. s0 + LANES - 1`` together (``out[s0 + l]``).

    The lanes share one step size: each step is the largest that every lane accepts
    (the error norm is the maximum of the lanes' norms), so every lane is integrated at
    least as accurately as on its own. The arithmetic runs across lanes in SIMD
    registers, and the step-control work is shared. Returns False, with ``out`` partly
    written, when the group must be integrated subject by subject instead: a lane that
    this form cannot take, a failure in any lane, or the step budget spent.
    """
    nout = times.shape[0]
    PL = np.empty((NP, LANES))
    Q = np.zeros((NQ, LANES))
    y1 = np.zeros(NT)
    q1 = np.zeros(NQ)
    Y = np.zeros((NS, LANES))
    YN = np.zeros((NS, LANES))
    YT = np.zeros((NS, LANES))
    K1 = np.zeros((NS, LANES))
    K2 = np.zeros((NS, LANES))
    K3 = np.zeros((NS, LANES))
    K4 = np.zeros((NS, LANES))
    K5 = np.zeros((NS, LANES))
    K6 = np.zeros((NS, LANES))
    K7 = np.zeros((NS, LANES))
    EL = np.zeros(LANES)
    for l in range(LANES):
        p = P[s0 + l]
        for j in range(NP):
            PL[j, l] = p[j]
        card_init(p, y1)
        for i in range(NS):
            if not (y1[i] >= 0.0) or not math.isfinite(y1[i]):
                return False
            if LOG_FORM:
                if not (y1[i] > 0.0):
                    return False
                Y[i, l] = math.log(y1[i])
            else:
                Y[i, l] = y1[i]
        if LOG_FORM:
            card_prep(p, q1)
            for j in range(NQ):
                Q[j, l] = q1[j]
    k = 0
    while k < nout and times[k] <= t0:
        for l in range(LANES):
            for i in range(NS):
                out[s0 + l, k, i] = Y[i, l]
        k += 1
    t = t0
    b = times[nout - 1]
    if not t < b:
        return True
    card_rhs_lanes_FORM(Y, PL, Q, K1)
    # first step: the smallest of the lanes' (about a 1 % change in each)
    h = 0.1 * (b - t)
    for l in range(LANES):
        d0 = 0.0
        d1 = 0.0
        for i in range(NS):
            d0 += Y[i, l] * Y[i, l]
            d1 += K1[i, l] * K1[i, l]
        d0 = 1.0 if LOG_FORM else math.sqrt(d0 / NS)
        d1 = math.sqrt(d1 / NS)
        h = min(h, first_step(d0, d1, b - t))
    steps = 0
    while t < b:
        steps += 1
        if steps > max_steps:
            return False
        hs, last = step_to(t, h, b)
        for i in range(NS):
            for l in range(LANES):
                YT[i, l] = Y[i, l] + hs * A21 * K1[i, l]
        card_rhs_lanes_FORM(YT, PL, Q, K2)
        for i in range(NS):
            for l in range(LANES):
                YT[i, l] = Y[i, l] + hs * (A31 * K1[i, l] + A32 * K2[i, l])
        card_rhs_lanes_FORM(YT, PL, Q, K3)
        for i in range(NS):
            for l in range(LANES):
                YT[i, l] = Y[i, l] + hs * (A41 * K1[i, l] + A42 * K2[i, l] + A43 * K3[i, l])
        card_rhs_lanes_FORM(YT, PL, Q, K4)
        for i in range(NS):
            for l in range(LANES):
                YT[i, l] = Y[i, l] + hs * (A51 * K1[i, l] + A52 * K2[i, l] + A53 * K3[i, l]
                                           + A54 * K4[i, l])
        card_rhs_lanes_FORM(YT, PL, Q, K5)
        for i in range(NS):
            for l in range(LANES):
                YT[i, l] = Y[i, l] + hs * (A61 * K1[i, l] + A62 * K2[i, l] + A63 * K3[i, l]
                                           + A64 * K4[i, l] + A65 * K5[i, l])
        card_rhs_lanes_FORM(YT, PL, Q, K6)
        for i in range(NS):
            for l in range(LANES):
                YN[i, l] = Y[i, l] + hs * (A71 * K1[i, l] + A73 * K3[i, l] + A74 * K4[i, l]
                                           + A75 * K5[i, l] + A76 * K6[i, l])
        card_rhs_lanes_FORM(YN, PL, Q, K7)
        for l in range(LANES):
            EL[l] = 0.0
        for i in range(NS):
            for l in range(LANES):
                e = hs * (E1 * K1[i, l] + E3 * K3[i, l] + E4 * K4[i, l] + E5 * K5[i, l]
                          + E6 * K6[i, l] + E7 * K7[i, l])
                e = e / scale_FORM(Y[i, l], YN[i, l], rtol, atol)
                EL[l] += e * e
        err = 0.0
        for l in range(LANES):
            if not (EL[l] <= err):  # the largest; NaN propagates
                err = EL[l]
        err = math.sqrt(err / NS)
        if not math.isfinite(err):
            return False
        if err <= 1.0:
            tnew = b if last else t + hs
            while k < nout and times[k] <= tnew:
                th = (times[k] - t) / hs
                th1 = 1.0 - th
                for i in range(NS):
                    for l in range(LANES):
                        ydiff = YN[i, l] - Y[i, l]
                        bspl = hs * K1[i, l] - ydiff
                        r4 = ydiff - hs * K7[i, l] - bspl
                        r5 = hs * (D1 * K1[i, l] + D3 * K3[i, l] + D4 * K4[i, l]
                                   + D5 * K5[i, l] + D6 * K6[i, l] + D7 * K7[i, l])
                        out[s0 + l, k, i] = Y[i, l] + th * (ydiff + th1 * (
                            bspl + th * (r4 + th1 * r5)))
                k += 1
            for i in range(NS):
                for l in range(LANES):
                    Y[i, l] = YN[i, l]
                    K1[i, l] = K7[i, l]
                    if not LOG_FORM and Y[i, l] < 0.0:
                        return False
                    if not math.isfinite(Y[i, l]):
                        return False
            t = tnew
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err ** -0.2))
            if not last or hs * fac < h:
                h = hs * fac
        else:
            h = hs * max(0.2, 0.9 * err ** -0.2)
            if h < 1e-14 * max(1.0, abs(t)):
                return False
    return True


@njit(cache=True, error_model="numpy", nogil=True)
def sim_FORM_rows(start, stop, times, t0, P, jt, jf, dose, expo, acc, clear, bp, nsw, rtol,
                  atol, max_steps, out, status, logged):
    """sim_ode_rows in one form only, when the caller knows which every subject takes:
    log-states (all ``log_eligible``) or the states themselves (a card without a cheaper
    log form, or a swelling compartment). Only that form is compiled."""
    for s in range(start, stop):
        status[s] = integrate_FORM(times, t0, P[s], jt[s], jf[s], dose[s], expo[s], acc[s],
                                   clear[s], bp[s], nsw, rtol, atol, max_steps, out[s])
        logged[s] = LOG_FORM


# ---- end per-form integrator


@njit(cache=True, error_model="numpy")
def integrate_subject(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                      max_steps, out):
    """Integrate one subject in log-states when it is eligible (``log_eligible``), else in
    the states. Returns ``(status, logged)``; with ``logged``, ``out`` holds the logs of
    the tumour states."""
    if LOGSPACE and nsw == 0:
        st = integrate_log(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                           max_steps, out)
        if st != ST_NOT_LOG:
            return st, True
    st = integrate_lin(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                       max_steps, out)
    return st, False


@njit(cache=True, error_model="numpy")
def integrate_one(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw, rtol, atol,
                  max_steps, out):
    """Integrate one subject (see integrate_subject); ``out`` holds the states themselves.
    Returns a status code."""
    st, logged = integrate_subject(times, t0, p, jt, jf, dose, expo, acc, clear, bp, nsw,
                                   rtol, atol, max_steps, out)
    if logged:
        for k in range(times.shape[0]):
            for i in range(NS):
                v = math.exp(out[k, i])
                if math.isinf(v):  # beyond float64: as on the linear path, NaN and flagged
                    v = np.nan
                    if st == ST_SUCCESS:
                        st = ST_NON_FINITE
                out[k, i] = v
    return st


@njit(cache=True, error_model="numpy", nogil=True)
def sim_ode_rows(start, stop, times, t0, P, jt, jf, dose, expo, acc, clear, bp, nsw, rtol,
                 atol, max_steps, out, status, logged):
    """Integrate subjects start..stop-1 one by one (see integrate_subject). Rows with
    ``logged[s]`` hold the logs of the tumour states (the caller takes their exp, which
    NumPy does with SIMD code). Releases the GIL: threads run disjoint row ranges."""
    for s in range(start, stop):
        status[s], logged[s] = integrate_subject(times, t0, P[s], jt[s], jf[s], dose[s],
                                                 expo[s], acc[s], clear[s], bp[s], nsw, rtol,
                                                 atol, max_steps, out[s])


@njit(cache=True, error_model="numpy", nogil=True)
def sim_lanes_rows(start, stop, times, t0, P, jt, jf, dose, expo, acc, clear, bp, nsw, rtol,
                   atol, max_steps, out, status, logged):
    """sim_ode_rows for untreated cohorts (no events, no swelling): the groups of LANES
    subjects that start at multiples of LANES are integrated together (``lanes_log`` or
    ``lanes_lin``), each group falling back to integrate_subject when its lanes cannot
    finish together; subjects of an incomplete group one by one. Groups are fixed by the
    subject index, so results do not depend on how a cohort is split into row ranges."""
    s = start
    while s < stop:
        if s % LANES != 0 or s + LANES > stop:
            status[s], logged[s] = integrate_subject(times, t0, P[s], jt[s], jf[s], dose[s],
                                                     expo[s], acc[s], clear[s], bp[s], nsw,
                                                     rtol, atol, max_steps, out[s])
            s += 1
            continue
        done = False
        if LOGSPACE:
            done = lanes_log(times, t0, P, s, rtol, atol, max_steps, out)
            if done:
                for l in range(LANES):
                    status[s + l] = ST_SUCCESS
                    logged[s + l] = True
        if not done:
            done = lanes_lin(times, t0, P, s, rtol, atol, max_steps, out)
            if done:
                for l in range(LANES):
                    status[s + l] = ST_SUCCESS
                    logged[s + l] = False
        if not done:
            for r in range(s, s + LANES):
                status[r], logged[r] = integrate_subject(times, t0, P[r], jt[r], jf[r], dose[r],
                                                         expo[r], acc[r], clear[r], bp[r], nsw,
                                                         rtol, atol, max_steps, out[r])
        s += LANES


@njit(cache=True, error_model="numpy")
def closed_one(times, t0, p, jt, jf, expo, acc, bp, out):
    """Evaluate the closed form piecewise between breakpoints for one subject.

    Valid only when every treatment term is constant on each segment: exposures with no
    resistance (constant kill) and step accelerations. Jumps are applied at breakpoints.
    """
    nout = times.shape[0]
    for k in range(nout):
        for i in range(NS):
            out[k, i] = np.nan
    y = np.zeros(NS)
    yt = np.empty(NS)
    card_init(p, y)
    ij = apply_jumps(y, jt, jf, 0, t0, 1, 0)
    k = record_until(out, 0, times, t0, y, NS)
    tend = times[nout - 1]
    t = t0
    ib = 0
    while t < tend:
        ib, b = segment_end(bp, ib, t, tend)
        kill = 0.0
        for i in range(expo.shape[0]):
            if expo[i, 0] <= t and t < expo[i, 1]:
                kill += expo[i, 2]
        accel = 1.0
        for i in range(acc.shape[0]):
            if acc[i, 0] <= t:
                accel *= acc[i, 1]
        while k < nout and times[k] < b:
            card_closed(times[k] - t, y, p, kill, accel, yt)
            for i in range(NS):
                out[k, i] = yt[i]
            k += 1
        card_closed(b - t, y, p, kill, accel, yt)
        for i in range(NS):
            y[i] = yt[i]
            if not math.isfinite(y[i]):
                return ST_NON_FINITE
            if y[i] < 0.0:
                return ST_NEGATIVE_STATE
        t = b
        ij = apply_jumps(y, jt, jf, ij, b, 1, 0)
        k = record_until(out, k, times, b, y, NS)
    for k in range(nout):
        for i in range(NS):
            if not math.isfinite(out[k, i]):
                return ST_NON_FINITE
    return ST_SUCCESS


@njit(cache=True, error_model="numpy", nogil=True)
def sim_closed_rows(start, stop, times, t0, P, jt, jf, expo, acc, bp, out, status):
    """Closed-form evaluation for subjects start..stop-1 (GIL released)."""
    for s in range(start, stop):
        status[s] = closed_one(times, t0, P[s], jt[s], jf[s], expo[s], acc[s], bp[s], out[s])
