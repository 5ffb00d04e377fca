"""The batched fitter against scipy.optimize on the same objective.

Reference: scipy.optimize.least_squares on residuals whose sum of squares is a monotone
function of the profile likelihood (sigma maximised out):

* additive:      r_i = y_i - f_i
* proportional:  r_i = (y_i - f_i) G / f_i, G = geometric mean of f (so that
  sum r^2 = G^2 sum ((y-f)/f)^2 and n log(sum r^2 / n) = the profile -2 log L up to a
  constant: n log(S/n) + 2 sum log f)
* log-normal:    r_i = log y_i - log f_i

The model is written out in numpy (closed form) or solved with solve_ivp (ODE path), both
independently of the card compiler. Tolerance: relative difference <= 1e-5 in every
parameter.
"""

from __future__ import annotations

import numpy as np
import pytest
from fit_helpers import GOMPERTZ_TRUE, TIMES, gompertz, noisy
from scipy.integrate import solve_ivp
from scipy.optimize import least_squares, minimize
from scipy.stats import norm

import tgsim.fitting as tf

REL = 1e-5


def _residuals(error, y, model):
    def res(q):
        f = model(np.exp(q))
        if error == "additive":
            return y - f
        if error == "lognormal":
            return np.log(y) - np.log(f)
        g = np.exp(np.mean(np.log(f)))
        return (y - f) * g / f

    return res


def _oracle(y, error, model, x0):
    r = least_squares(_residuals(error, y, model), np.log(x0), xtol=1e-15, ftol=1e-15,
                      gtol=1e-15, method="lm", max_nfev=20000)
    assert r.success
    return np.exp(r.x)


@pytest.mark.parametrize("error", ["proportional", "additive", "lognormal"])
def test_closed_form_agrees_with_least_squares(rng, error):
    f = gompertz(TIMES, *GOMPERTZ_TRUE.values())
    sigma = {"additive": 15.0}.get(error, 0.1)
    Y = noisy(f, rng, error, sigma, n=6)
    res = tf.fit((TIMES, Y), "gompertz", error_model=error, ftol=1e-14)
    assert res.success.all()
    for i in range(Y.shape[0]):
        ref = _oracle(Y[i], error, lambda p: gompertz(TIMES, *p), [40.0, 0.1, 2500.0])
        got = res.growth_estimate[i]
        np.testing.assert_allclose(got, ref, rtol=REL, err_msg=f"subject {i}")


def test_ode_path_agrees_with_least_squares_and_solve_ivp(rng):
    f = gompertz(TIMES, *GOMPERTZ_TRUE.values())
    Y = noisy(f, rng, "proportional", 0.1, n=3)
    res = tf.fit((TIMES, Y), "gompertz", solver="ode", ftol=1e-14)
    assert res.options["solver"] == "ode"
    assert res.success.all()

    def ode_model(p):
        v0, r, k = p
        sol = solve_ivp(lambda t, v: r * v * np.log(k / v), (TIMES[0], TIMES[-1]), [v0],
                        t_eval=TIMES, method="DOP853", rtol=1e-13, atol=1e-12)
        return sol.y[0]

    for i in range(Y.shape[0]):
        ref = _oracle(Y[i], "proportional", ode_model, [40.0, 0.1, 2500.0])
        np.testing.assert_allclose(res.growth_estimate[i], ref, rtol=REL)


def test_combined_error_agrees_with_direct_likelihood_minimisation(rng):
    t = np.arange(0.0, 30.0, 1.5)
    f = gompertz(t, *GOMPERTZ_TRUE.values())
    y = f + (40.0 + 0.05 * f) * rng.standard_normal(f.size)
    res = tf.fit((t, y), "gompertz", error_model="combined", ftol=1e-14)
    assert res.success[0]
    assert res.estimate[0, 3] > 1.0  # an interior optimum (both error terms present)

    def nll(q):
        v0, r, k, a, b = np.exp(q)
        fm = gompertz(t, v0, r, k)
        sd = a + b * fm
        return np.sum(np.log(2 * np.pi * sd**2) + (y - fm) ** 2 / sd**2)

    x0 = np.log(res.estimate[0])
    ref = minimize(nll, x0 + 0.05, method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000})
    assert nll(x0) <= ref.fun + 1e-8  # ours is at least as good
    np.testing.assert_allclose(res.neg2ll[0], ref.fun, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(res.estimate[0], np.exp(ref.x), rtol=1e-4)


def test_censored_points_use_the_m3_likelihood(rng):
    """With a detection limit the fit maximises the M3 likelihood (checked against
    Nelder-Mead on the same -2 log L written here with scipy.stats.norm)."""
    f = gompertz(TIMES, 5.0, 0.08, 3000.0)
    y = noisy(f, rng, "proportional", 0.1)[0]
    limit = 25.0
    cens = y < limit
    assert 1 <= cens.sum() <= 4
    yc = np.where(cens, limit, y)
    res = tf.fit((TIMES, yc), "gompertz", censored=cens, ftol=1e-14, t0=0.0)
    assert res.success[0]

    def nll(q):
        v0, r, k, s = np.exp(q)
        fm = gompertz(TIMES, v0, r, k)
        sd = s * fm
        z = (yc - fm) / sd
        return (np.sum(np.log(2 * np.pi * sd[~cens] ** 2) + z[~cens] ** 2)
                - 2 * np.sum(norm.logcdf(z[cens])))

    x0 = np.log(res.estimate[0])
    ref = minimize(nll, x0 + 0.05, method="Nelder-Mead",
                   options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 40000, "maxfev": 40000})
    assert nll(x0) <= ref.fun + 1e-8
    np.testing.assert_allclose(res.neg2ll[0], nll(x0), rtol=1e-10)
    np.testing.assert_allclose(res.estimate[0], np.exp(ref.x), rtol=1e-4)
