"""The compiled covariance and start-feature kernels against their NumPy definitions."""

from __future__ import annotations

import numpy as np
import pytest

import tgsim.fitting as tf
from tgsim.engine.catalogue import model
from tgsim.fitting._kernels import covariance_rows
from tgsim.fitting.covariance import dof_factor, natural_covariance, working_covariance
from tgsim.fitting.likelihood import error_model
from tgsim.fitting.lm import build_setup, run_lm

T8 = np.linspace(0.0, 21.0, 8)


@pytest.fixture(autouse=True)
def _compiled_kernels(monkeypatch):
    """These tests are about the compiled kernels: never the NumPy path
    (tgsim.fitting.paths, tested against them in test_fit_numpy_path.py)."""
    monkeypatch.setenv("TGSIM_FIT_PATH", "numba")


def _gompertz(n, seed=3, noise=0.1):
    rng = np.random.default_rng(seed)
    v0 = 50.0 * rng.lognormal(0, 0.3, n)
    r = 0.1 * rng.lognormal(0, 0.3, n)
    k = 3000.0 * rng.lognormal(0, 0.3, n)
    f = v0[:, None] * np.exp(np.log(v0 / k)[:, None] * np.expm1(-r[:, None] * T8))
    return f * (1 + noise * rng.standard_normal(f.shape))


def _numpy_covariances(setup, X, info, nu, dof_correction):
    cw, ab = working_covariance(setup, X, info, nu, dof_correction=dof_correction)
    return cw, natural_covariance(setup, X, cw), ab


@pytest.mark.parametrize("em", ["proportional", "combined", "additive"])
@pytest.mark.parametrize("dof_correction", [True, False])
def test_covariance_kernel_matches_eigen_path(em, dof_correction):
    """Rows the kernel settles agree with the eigenvalue path to 1e-9 relative; rows it
    leaves are exactly those that are not clearly positive definite."""
    Y = _gompertz(300)
    kw = {"fixed": {"initial_volume": 40.0}} if em == "additive" else {}
    res = tf.fit((T8, Y), "gompertz", error_model=em, restarts=0, **kw)
    ok = res.success
    setup = res.setup
    # the Fisher information at the estimates: rerun the kernel from them
    rows = np.flatnonzero(ok)
    batch = res.data.subset(rows)
    out = run_lm(setup.rows(rows), batch, np.ascontiguousarray(res.x[ok]))
    X, info, nu = out["X"], out["info"], batch.nu
    n, K = X.shape
    q = setup.NP + setup.n_err
    fac = dof_factor(nu, setup.k_free, dof_correction)
    cw = np.empty((n, K, K))
    c = np.empty((n, q, q))
    ab = np.empty((n, K), bool)
    back = np.zeros(n, bool)
    covariance_rows(X, info, setup.free, setup.lo, setup.hi, setup.scale, setup.NP,
                    em == "combined", fac, cw, c, ab, back)
    cw0, c0, ab0 = _numpy_covariances(setup, X, info, nu, dof_correction)
    keep = ~back
    assert keep.mean() > 0.9
    np.testing.assert_array_equal(ab[keep], ab0[keep])
    np.testing.assert_array_equal(np.isnan(cw[keep]), np.isnan(cw0[keep]))
    np.testing.assert_array_equal(np.isnan(c[keep]), np.isnan(c0[keep]))
    sc = np.sqrt(np.abs(np.diagonal(c0, axis1=1, axis2=2)))
    scale = sc[:, :, None] * sc[:, None, :]
    rel = np.abs(np.nan_to_num(c - c0)) / np.where(scale > 0, scale, 1.0)
    assert np.max(rel[keep]) < 1e-9


def test_covariance_kernel_bounds_fixed_and_singular():
    """At a bound: NaN; fixed: zero; singular information: left to the eigenvalue path."""
    setup = build_setup(model("gompertz"), 3, error_model("proportional"),
                        fixed={"growth_rate": 0.1})
    K = setup.K
    X = np.tile(np.array([np.log(50.0), np.log(0.1), np.log(3000.0), np.log(0.1), 0.0]),
                (3, 1))
    X[1, 2] = setup.hi[2]  # K at its upper bound
    info = np.tile(np.diag([4.0, 1.0, 2.0, 8.0, 0.0]), (3, 1, 1))
    info[2, 0, 2] = info[2, 2, 0] = np.sqrt(8.0)  # singular V0-K block
    cw = np.empty((3, K, K))
    c = np.empty((3, 4, 4))
    ab = np.empty((3, K), bool)
    back = np.zeros(3, bool)
    covariance_rows(X, info, setup.free, setup.lo, setup.hi, setup.scale, setup.NP, False,
                    np.ones(3), cw, c, ab, back)
    assert back.tolist() == [False, False, True]
    np.testing.assert_allclose(np.diagonal(cw[0])[[0, 2, 3]], [0.25, 0.5, 0.125])
    assert cw[0, 1, 1] == 0.0 and cw[0, 4, 4] == 0.0  # fixed growth rate, fixed log c
    np.testing.assert_allclose(c[0, 0, 0], 50.0**2 * 0.25)
    np.testing.assert_allclose(c[0, 3, 3], 0.1**2 * 0.125)
    assert ab[1].tolist() == [False, False, True, False, False]
    assert np.isnan(cw[1, 2, [0, 2, 3]]).all() and cw[1, 2, 1] == 0.0
    assert not np.isnan(c[1, 0, 0])
    cw0, c0, ab0 = _numpy_covariances(setup, X[:2], info[:2], np.array([8, 8]), False)
    np.testing.assert_array_equal(ab[:2], ab0)
    np.testing.assert_allclose(cw[:2], cw0, rtol=1e-12)
    np.testing.assert_allclose(c[:2], c0, rtol=1e-12)


def test_series_features_match_numpy():
    """The start features equal a direct NumPy computation (with censored, padded rows)."""
    from tgsim.fitting._kernels import series_features

    rng = np.random.default_rng(5)
    T = np.tile(np.arange(10.0), (50, 1))
    Y = rng.lognormal(3, 1, (50, 10))
    W = np.where(rng.random((50, 10)) < 0.2, 2.0, 1.0)
    Y[rng.random((50, 10)) < 0.1] = 0.0
    nu = rng.integers(0, 11, 50)
    t0 = np.zeros(50)
    out = np.empty((50, 6))
    series_features(T, Y, W, nu, t0, out)
    for s in range(50):
        meas = (W[s] == 1.0) & (np.arange(10) < nu[s])
        pos = meas & (Y[s] > 0)
        y = Y[s, pos]
        if y.size == 0:
            assert np.isnan(out[s, 3]) and np.isnan(out[s, 4])
        else:
            assert out[s, 3] == y.max() and out[s, 4] == pytest.approx(np.median(y))
            assert out[s, 2] == pytest.approx(np.log(y[0]))
        x4, l4 = T[s, pos][:4], np.log(Y[s, pos][:4])
        if x4.size >= 2:
            assert out[s, 0] == pytest.approx(np.polyfit(x4, l4, 1)[0], rel=1e-9, abs=1e-12)
        else:
            assert np.isnan(out[s, 0])
        idx = np.flatnonzero(meas)
        if idx.size >= 3:
            ih, il = idx[idx.size // 2], idx[-1]
            assert out[s, 5] == pytest.approx((Y[s, il] - Y[s, ih]) / (T[s, il] - T[s, ih]))
        else:
            assert np.isnan(out[s, 5])


@pytest.mark.parametrize("law", ["gompertz", "logistic"])
def test_integral_start_recovers_exact_curves(law):
    """On noise-free series the integral method is exact up to the trapezoid rule's error:
    within 1 % with 15 points over the growth phase; t0 before the first point is handled
    by running the closed form back; fewer than four points give NaN."""
    from tgsim.fitting._kernels import INTEGRAL_LAWS, integral_start

    t = np.linspace(2.0, 30.0, 15)
    v0, r, k = 40.0, 0.15, 2500.0
    t0 = 0.0
    if law == "gompertz":
        y = v0 * np.exp(np.log(v0 / k) * np.expm1(-r * (t - t0)))
    else:
        y = k / (1 + (k / v0 - 1) * np.exp(-r * (t - t0)))
    T = np.vstack([t, t])
    Y = np.vstack([y, y])
    W = np.ones_like(T)
    nu = np.array([15, 3])
    out = np.empty((2, 3))
    integral_start(T, Y, W, nu, np.array([t0, t0]), INTEGRAL_LAWS[law], out)
    np.testing.assert_allclose(out[0], [v0, r, k], rtol=0.01)
    assert np.isnan(out[1]).all()


def test_integral_start_cuts_iterations_and_keeps_estimates():
    """Gompertz fits from the integral start take fewer iterations than from the generic
    start and reach the same estimates (to the convergence tolerance)."""
    Y = _gompertz(200, seed=11)
    res = tf.fit((T8, Y), "gompertz", restarts=0)
    generic = tf.fit((T8, Y), "gompertz", restarts=0,
                     start={"initial_volume": Y[:, 0], "growth_rate": 0.1,
                            "carrying_capacity": 2 * Y.max(axis=1)})
    both = res.success & generic.success
    assert both.mean() > 0.98
    assert res.iterations[both].mean() < generic.iterations[both].mean() - 1.5
    rel = np.abs(res.estimate[both] / generic.estimate[both] - 1)
    assert np.median(rel) < 1e-5


def test_failed_rows_are_refitted_from_the_second_start():
    """fit_batch_rows: a row whose fit from X0 fails is refitted from alt_start (called
    with the failed rows only) before any screened restart."""
    from tgsim.fitting.core import fit_batch_rows
    from tgsim.fitting.data import as_batch
    from tgsim.fitting.lm import heuristic_start

    Y = _gompertz(6, seed=2)
    em = error_model("proportional")
    batch = as_batch((T8, Y), log_scale=True)
    setup = build_setup(model("gompertz"), batch.n, em, t_range=(0.0, 21.0))
    good = heuristic_start(setup, batch, None)
    bad = good.copy()
    bad[[1, 4], :3] = setup.hi[:3]  # every growth parameter at its upper bound: fails
    asked = []

    def alt(rows):
        asked.append(rows.tolist())
        return good[rows]

    plain = fit_batch_rows(setup, batch, bad, restarts=0, max_iter=30)
    assert (plain["status"][[1, 4]] != 0).all()
    out = fit_batch_rows(setup, batch, bad, restarts=1, alt_start=alt, n_candidates=2,
                         max_iter=30)
    assert asked == [[1, 4]]
    assert (out["status"] == 0).all()
    ref = fit_batch_rows(setup, batch, good, restarts=0)
    np.testing.assert_allclose(setup.to_natural(out["X"]), setup.to_natural(ref["X"]),
                               rtol=1e-6)


@pytest.mark.parametrize("em", ["proportional", "combined", "additive", "lognormal"])
def test_result_rows_match_numpy(em):
    """Standard errors, Wald intervals and residuals from the compiled pass equal the NumPy
    formulas (covariance.wald_intervals, ErrorModel.sd), NaN patterns included."""
    from tgsim.fitting._kernels import result_rows
    from tgsim.fitting.covariance import wald_intervals

    Y = _gompertz(40, seed=4)
    Y[3, 5:] = np.nan  # a shorter series: padding
    kw = {"fixed": {"initial_volume": 40.0}} if em == "additive" else {}
    res = tf.fit((T8, Y), "gompertz", error_model=em, restarts=0, **kw)
    est, cov = res.estimate, res.covariance.copy()
    cov[7, 1, 1] = np.nan  # an undetermined parameter
    cov[8, 2, 2] = -1e-30  # a variance rounded below zero
    tq = np.full(est.shape[0], 2.3)
    tq[9] = np.nan
    log_type = np.concatenate([res.setup.scale == 1, np.ones(res.error_model.n_params, bool)])
    F = res.fitted.copy()
    n, q = est.shape
    se, lo, hi = np.empty((n, q)), np.empty((n, q)), np.empty((n, q))
    resid, wres = np.empty(F.shape), np.empty(F.shape)
    result_rows(est, cov, res.free, log_type, tq, F, res.data.Y, res.data.nu.astype(np.int64),
                res.error_model.code, res.setup.NP, se, lo, hi, resid, wres)
    se0 = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    se0[:, ~res.free] = np.nan
    lo0, hi0 = wald_intervals(est, cov, log_type, tq)
    lo0[:, ~res.free] = np.nan
    hi0[:, ~res.free] = np.nan
    np.testing.assert_array_equal(se, se0)
    # NumPy's vectorised exp and the C library's differ in the last bit
    np.testing.assert_allclose(lo, lo0, rtol=1e-14)
    np.testing.assert_allclose(hi, hi0, rtol=1e-14)
    NP = res.setup.NP
    with np.errstate(all="ignore"):
        r0 = res.data.Y - F
        if em == "lognormal":
            w0 = (np.log(res.data.Y) - np.log(F)) / est[:, NP:NP + 1]
        else:
            w0 = r0 / res.error_model.sd(F, est[:, NP:])
    pad = np.arange(F.shape[1])[None, :] >= res.data.nu[:, None]
    r0[pad] = np.nan
    w0[pad] = np.nan
    np.testing.assert_array_equal(resid, r0)
    np.testing.assert_allclose(wres, w0, rtol=1e-15)
    assert np.isnan(wres[3, 5:]).all() and np.isfinite(wres[3, :5]).all()


@pytest.mark.parametrize("em,law,kw", [
    ("proportional", "gompertz", {}),
    ("additive", "logistic", {}),
    ("lognormal", "gompertz", {"fixed": {"initial_volume": 50.0}}),
    ("proportional", "exponential", {"fixed": {"sigma": 0.1}}),
    ("proportional", "von_bertalanffy", {}),
])
def test_fast_path_reaches_the_general_optimum(em, law, kw):
    """The fast closed-form path (sigma profiled, raw sums, explicit 2x2 and 3x3 solves)
    and the general iteration reach the same optimum: -2 log L to 1e-7, estimates to 1e-3
    of their standard errors, the Fisher information to 1e-4 relative. Laws with two,
    three and four free parameters."""
    Y = _gompertz(200, seed=11)
    res = tf.fit((T8, Y), law, error_model=em, restarts=0, **kw)
    setup, batch = res.setup, res.data
    from tgsim.fitting.lm import heuristic_start

    X0 = heuristic_start(setup, batch, None)
    fast = run_lm(setup, batch, X0, ftol=1e-10)
    slow = run_lm(setup, batch, X0, ftol=1e-10, fast=False)
    ok = (fast["status"] == 0) & (slow["status"] == 0)
    assert ok.mean() > 0.95
    # without restarts a hard series may end differently (1 of 200 von Bertalanffy fits:
    # the fast path converges where the general one stops)
    assert np.mean((fast["status"] == 0) != (slow["status"] == 0)) <= 0.01
    np.testing.assert_allclose(fast["neg2ll"][ok], slow["neg2ll"][ok], rtol=0, atol=1e-7)
    se = np.sqrt(np.abs(np.diagonal(np.linalg.pinv(slow["info"][ok]), axis1=1, axis2=2)))
    assert np.all(np.abs(fast["X"][ok] - slow["X"][ok]) <= 1e-3 * se + 1e-9)
    np.testing.assert_allclose(fast["info"][ok], slow["info"][ok], rtol=1e-4,
                               atol=1e-6 * np.abs(slow["info"][ok]).max())
    # about as many evaluations (fewer on well-determined laws, where sigma at its
    # conditional maximum saves a step; the speed comes from cheaper evaluations)
    assert fast["nfev"][ok].mean() <= 1.2 * slow["nfev"][ok].mean()


def test_fast_path_leaves_censored_rows_to_the_general_iteration():
    """A row with a censored point is fitted by the general iteration inside a fast batch:
    its result is the same as in a batch run wholly on the general path."""
    Y = _gompertz(40, seed=5)
    C = np.zeros(Y.shape, bool)
    C[3, 0] = C[17, 1] = True
    res = tf.fit((T8, Y), "gompertz", censored=C, restarts=0)
    from tgsim.fitting.lm import heuristic_start

    X0 = heuristic_start(res.setup, res.data, None)
    fast = run_lm(res.setup, res.data, X0)
    slow = run_lm(res.setup, res.data, X0, fast=False)
    for s in (3, 17):
        np.testing.assert_array_equal(fast["X"][s], slow["X"][s])
        assert fast["nfev"][s] == slow["nfev"][s]
    other = np.setdiff1d(np.arange(40), [3, 17])
    assert np.any(fast["nfev"][other] != slow["nfev"][other])  # the others took the fast path


def _numpy_start(setup, batch, integral=True):
    """The data-driven start of heuristic_start in NumPy (its documented rules), from the
    feature and integral-method kernels (themselves tested against NumPy above)."""
    from tgsim.fitting._kernels import INTEGRAL_LAWS, integral_start, series_features

    mdl, n, NP = setup.model, batch.n, setup.NP
    names = mdl.parameter_names
    rows = (batch.T, batch.Y, batch.W, batch.nu.astype(np.int64), batch.t0)
    feat = np.empty((n, 6))
    series_features(*rows, feat)
    slope, icpt, first_ly, vmax, vmed, lin = feat.T
    P = np.tile([p.default for p in mdl.parameters], (n, 1)).astype(float)
    with np.errstate(all="ignore"):
        v0 = np.where(np.isfinite(vmax), np.where(slope > 0, np.exp(icpt), np.exp(first_ly)),
                      np.nan)
    rate = np.clip(slope, 1e-3, 2.0)

    def put(name, values):
        if name in names:
            ok = np.isfinite(values) & (values > 0)
            P[ok, names.index(name)] = values[ok]

    put("initial_volume", v0)
    if mdl.name in ("exponential", "logistic", "exponential_linear", "two_population"):
        put("growth_rate", rate)
    if mdl.name == "two_population":
        put("resistant_growth_rate", 0.7 * rate)
    put("carrying_capacity", 2.0 * vmax)
    put("linear_rate", lin)
    law = INTEGRAL_LAWS.get(mdl.name)
    if law is not None and integral:
        est = np.empty((n, 3))
        integral_start(*rows, law, est)
        if mdl.name == "logistic":
            est[~(est[:, 2] >= vmax)] = np.nan
        for j, name in enumerate(("initial_volume", "growth_rate", "carrying_capacity")):
            put(name, est[:, j])
    if mdl.name in ("power_law", "von_bertalanffy"):
        gam = P[:, names.index("exponent")]
        loss = P[:, names.index("loss_rate")] if "loss_rate" in names else 0.0
        with np.errstate(all="ignore"):
            put("growth_rate", (np.nan_to_num(rate, nan=0.1) + loss) * vmed ** (1.0 - gam))
    lo = np.where(setup.scale == 1, np.exp(setup.lo[:NP]), setup.lo[:NP])
    hi = np.where(setup.scale == 1, np.exp(setup.hi[:NP]), setup.hi[:NP])
    return setup.to_working(np.clip(P, lo, hi))


@pytest.mark.parametrize("law", ["exponential", "gompertz", "logistic", "power_law", "stein",
                                 "von_bertalanffy", "exponential_linear", "two_population"])
def test_start_kernel_matches_its_rules(law):
    """The compiled start (start_guess) gives the rows of its NumPy definition on growing,
    shrinking and gappy series, with and without the integral method."""
    from tgsim.fitting.data import as_batch
    from tgsim.fitting.lm import heuristic_start

    rng = np.random.default_rng(4)
    T = np.linspace(0.0, 30.0, 9)
    Y = 40 * np.exp(0.08 * T)[None, :] * rng.lognormal(0, 0.3, (60, 1))
    Y *= 1 + 0.1 * rng.standard_normal(Y.shape)
    Y[5] = Y[5, ::-1]  # shrinking
    Y[7, 2:5] = np.nan  # gaps
    Y[9, 3:] = np.nan  # three points
    batch = as_batch((T, Y))
    setup = build_setup(model(law), batch.n, error_model("proportional"), t_range=(0.0, 30.0))
    for integral in (True, False):
        X = heuristic_start(setup, batch, None, integral=integral)
        np.testing.assert_allclose(X[:, :setup.NP], _numpy_start(setup, batch, integral),
                                   rtol=1e-12, atol=1e-12)
        assert np.all(X[:, setup.NP] == 0.0)


@pytest.mark.parametrize("log_scale", [False, True])
def test_compaction_matches_a_row_by_row_definition(log_scale):
    """as_batch's compiled passes (count_rows, compact_rows) against a plain per-row
    definition: usable points moved to the front in input order, padding after them,
    censoring kinds, input positions, points left out, all-equal series."""
    import contextlib

    from tgsim.errors import TgsimWarning
    from tgsim.fitting.data import as_batch

    rng = np.random.default_rng(8)
    n, m = 40, 7
    T = np.sort(rng.uniform(0, 50, (n, m)), axis=1)
    Y = rng.lognormal(3, 1, (n, m))
    Y[rng.random((n, m)) < 0.15] = np.nan
    T[rng.random((n, m)) < 0.05] = np.nan
    Y[rng.random((n, m)) < 0.1] = 0.0
    Y[3] = 5.0  # all equal
    Y[4] = np.nan  # empty
    C = rng.random((n, m)) < 0.1
    with pytest.warns(TgsimWarning) if log_scale else contextlib.nullcontext():
        b = as_batch((T, Y), censored=C, log_scale=log_scale)
    width = b.T.shape[1]
    for s in range(n):
        use = [o for o in range(m) if not (np.isnan(T[s, o]) or np.isnan(Y[s, o]))
               and not (log_scale and Y[s, o] <= 0)]
        k = len(use)
        assert b.nu[s] == k
        np.testing.assert_array_equal(b.T[s, :k], T[s, use])
        np.testing.assert_array_equal(b.Y[s, :k], Y[s, use])
        np.testing.assert_array_equal(b.W[s, :k], np.where(C[s, use], 2.0, 1.0))
        np.testing.assert_array_equal(b.obs_index[s, :k], use)
        assert np.all(b.W[s, k:] == 0) and np.all(b.obs_index[s, k:] == -1)
        assert np.all(b.T[s, k:] == (T[s, use[-1]] if k else 0.0))
        some = np.sum(~np.isnan(T[s]) | ~np.isnan(Y[s]))
        assert b.excluded[s] == max(some - k, 0)
        meas = [Y[s, o] for o in use if not C[s, o]]
        assert b.all_equal[s] == (len(meas) >= 2 and len(set(meas)) == 1)
    assert width == max(b.nu.max(), 1)
