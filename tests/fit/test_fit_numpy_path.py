"""The NumPy fitting path (no JIT) against the compiled kernels it stands in for.

Each path is forced with ``TGSIM_FIT_PATH`` (see :mod:`tgsim.fitting.paths`); both must give
the same statuses, -2 log L to 1e-7 and estimates to 1e-3 of their standard errors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tgsim.fitting as tf
from tgsim.engine.catalogue import model
from tgsim.engine.compile import numpy_volume_vg
from tgsim.errors import TgsimError
from tgsim.fitting import _kernels as fk
from tgsim.fitting import _rows_numpy as rn
from tgsim.fitting.likelihood import error_model
from tgsim.fitting.lm import build_setup, run_lm
from tgsim.fitting.paths import ENV, force_path, use_numpy

#: true parameters of each closed-form card, the parameter the "fixed" case fixes and
#: the one whose upper bound the "bounds" case pulls below most estimates' reach
CARDS = {
    "exponential": ({"initial_volume": 50.0, "growth_rate": 0.08}, "initial_volume",
                    "growth_rate"),
    "logistic": ({"initial_volume": 50.0, "growth_rate": 0.2, "carrying_capacity": 2500.0},
                 "initial_volume", "growth_rate"),
    "gompertz": ({"initial_volume": 50.0, "growth_rate": 0.1, "carrying_capacity": 3000.0},
                 "carrying_capacity", "growth_rate"),
    "von_bertalanffy": ({"initial_volume": 50.0, "growth_rate": 1.5, "loss_rate": 0.05,
                         "exponent": 0.7}, "exponent", "loss_rate"),
    "power_law": ({"initial_volume": 50.0, "growth_rate": 1.0, "exponent": 0.7},
                  "initial_volume", "exponent"),
    "stein": ({"initial_volume": 200.0, "growth_rate": 0.02, "decay_rate": 0.03},
              "initial_volume", "decay_rate"),
}
ERRORS = ("additive", "proportional", "lognormal")
SIGMA = {"additive": 20.0, "proportional": 0.1, "lognormal": 0.1}


def _data(name, em, n=16, seed=0):
    """n noisy series of the card (10 points over 40 days, subject parameters spread
    log-normally around CARDS), one of them short (4 points), one decreasing for the
    card that can shrink (Stein). (A growth law forced onto a shrinking series runs to
    degenerate parameters whose predictions cancel to a few digits: there, rounding
    differences between NumPy's and libm's exp decide where each path stops.)"""
    mdl = model(name)
    truth = CARDS[name][0]
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 40.0, 10)
    P = np.array([[truth[p.name] for p in mdl.parameters]] * n)
    P = P * rng.lognormal(0.0, 0.15, P.shape)
    if "exponent" in mdl.parameter_names:
        j = mdl.parameter_names.index("exponent")
        P[:, j] = np.minimum(P[:, j], 0.9)
    f, _ = numpy_volume_vg(mdl)(np.tile(t, (n, 1)), P, False)
    eps = rng.standard_normal(f.shape)
    s = SIGMA[em]
    y = f + s * eps if em == "additive" else (f * (1 + s * eps) if em == "proportional"
                                               else f * np.exp(s * eps))
    y = np.abs(y) + 1e-3
    y[1, 4:] = np.nan
    if name == "stein":
        y[2] = y[2, ::-1]
    return t, y


def _fit_both(monkeypatch, data, name, em, **kw):
    out = {}
    for path in ("numpy", "numba"):
        monkeypatch.setenv(ENV, path)
        out[path] = tf.fit(data, name, error_model=em, **kw)
    return out["numpy"], out["numba"]


def _assert_agree(a, b):
    np.testing.assert_array_equal(a.status, b.status)
    ok = a.success
    assert ok.sum() >= 0.75 * ok.size
    np.testing.assert_allclose(a.neg2ll[ok], b.neg2ll[ok], rtol=0, atol=1e-7)
    # estimates where they are determined: a direction in which the information is
    # singular (NaN standard error, e.g. a rate that saturates a logistic curve at once)
    # leaves them free along a flat likelihood
    se = np.where(np.isfinite(b.stderr), b.stderr, 0.0)[ok]
    det = np.isfinite(b.stderr[ok]) | ~b.free[None, :]
    diff = np.abs(a.estimate[ok] - b.estimate[ok])
    tol = np.maximum(1e-3 * se, 1e-6 * np.abs(b.estimate[ok]))
    assert np.all((diff <= tol) | ~det), np.max(np.where(det, diff / tol, 0.0))
    np.testing.assert_array_equal(a.at_bound, b.at_bound)
    np.testing.assert_allclose(a.stderr[ok], b.stderr[ok], rtol=1e-3, atol=1e-12)


@pytest.mark.parametrize("em", ERRORS)
@pytest.mark.parametrize("name", sorted(CARDS))
def test_numpy_path_matches_compiled_fit(monkeypatch, name, em):
    """Every closed-form card and one-sd error model, free, with a fixed parameter, and
    with a binding bound: same statuses, optimum and standard errors on both paths."""
    truth, fixed, bounded = CARDS[name]
    data = _data(name, em)
    _assert_agree(*_fit_both(monkeypatch, data, name, em))
    _assert_agree(*_fit_both(monkeypatch, data, name, em, fixed={fixed: truth[fixed]}))
    par = model(name).parameter(bounded)
    a, b = _fit_both(monkeypatch, data, name, em,
                     bounds={bounded: (par.lower, 0.97 * truth[bounded])})
    _assert_agree(a, b)
    assert a.at_bound.any()


@pytest.mark.parametrize("name", ["gompertz", "von_bertalanffy"])
def test_numpy_path_with_fixed_sigma(monkeypatch, name):
    """A fixed sigma (not profiled out) and per-subject fixed values."""
    truth, fixed, _ = CARDS[name]
    data = _data(name, "proportional", seed=3)
    n = data[1].shape[0]
    values = truth[fixed] * np.linspace(0.9, 1.1, n)
    _assert_agree(*_fit_both(monkeypatch, data, name, "proportional",
                             fixed={"sigma": 0.1, fixed: values}))


def test_run_lm_numpy_matches_kernel_statuses_and_counts(monkeypatch):
    """run_lm itself on both paths: the same statuses (max iterations and non-finite
    starts included), iterations and evaluations, from the same starts."""
    data = _data("gompertz", "proportional", n=40, seed=5)
    res = tf.fit(data, "gompertz", restarts=0)
    setup, batch = res.setup, res.data
    X0 = res.x.copy()
    X0[np.isnan(X0)] = 0.0
    rng = np.random.default_rng(2)
    X0[:, :3] += rng.normal(0.0, 0.5, (batch.n, 3))
    X0[0, 1] = np.nan  # a non-finite start
    outs = {}
    for path in ("numpy", "numba"):
        monkeypatch.setenv(ENV, path)
        outs[path] = [run_lm(setup, batch, X0, max_iter=it) for it in (3, 200)]
    for a, b in zip(outs["numpy"], outs["numba"], strict=True):
        np.testing.assert_array_equal(a["status"], b["status"])
        np.testing.assert_array_equal(a["iterations"], b["iterations"])
        np.testing.assert_array_equal(a["nfev"], b["nfev"])
        ok = a["status"] == 0
        np.testing.assert_allclose(a["objective"][ok], b["objective"][ok], atol=1e-7, rtol=0)
        np.testing.assert_allclose(a["info"][ok], b["info"][ok], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(a["F"][ok], b["F"][ok], rtol=1e-6)
    assert a["status"][0] == 3 and (outs["numpy"][0]["status"] == 8).any()


def _raw_rows(n=60, m=9, seed=8):
    rng = np.random.default_rng(seed)
    T = np.sort(rng.uniform(0, 50, (n, m)), axis=1)
    Y = rng.lognormal(3, 1, (n, m))
    Y[rng.random((n, m)) < 0.15] = np.nan
    T[rng.random((n, m)) < 0.05] = np.nan
    Y[rng.random((n, m)) < 0.1] = 0.0
    Y[3] = 5.0
    Y[4] = np.nan
    Y[5, 2] = -1.0
    T[6, 3] = np.inf
    T[7, 4] = T[7, 3]  # not increasing
    C = rng.random((n, m)) < 0.1
    return T, Y, C


@pytest.mark.parametrize("log_scale", [False, True])
def test_numpy_compaction_equals_kernels(log_scale):
    """count_rows and compact_rows: the NumPy versions give the kernels' outputs."""
    T, Y, C = _raw_rows()
    n, m = Y.shape
    res = {}
    for path in ("numpy", "numba"):
        with force_path(path):
            nu, flags = np.empty(n, np.int64), np.empty((n, 4), np.int64)
            fk.count_rows(T, Y, True, log_scale, nu, flags)
            w = max(int(nu.max()), 1)
            out = [np.empty((n, w)), np.empty((n, w)), np.empty((n, w)),
                   np.empty((n, w), np.int64), np.empty(n, np.int64), np.empty(n, bool)]
            fk.compact_rows(T, Y, C, log_scale, nu, *out)
            res[path] = [nu, flags, *out]
    for a, b in zip(res["numpy"], res["numba"], strict=True):
        np.testing.assert_array_equal(a, b)
    shared = np.ascontiguousarray(T[:1])  # one time row for every subject
    nu_a, nu_b = np.empty(n, np.int64), np.empty(n, np.int64)
    fl_a, fl_b = np.empty((n, 4), np.int64), np.empty((n, 4), np.int64)
    rn.count_rows(shared, Y, False, log_scale, nu_a, fl_a)
    with force_path("numba"):
        fk.count_rows(shared, Y, False, log_scale, nu_b, fl_b)
    np.testing.assert_array_equal(nu_a, nu_b)
    np.testing.assert_array_equal(fl_a, fl_b)


@pytest.mark.parametrize("name", ["exponential", "gompertz", "logistic", "power_law",
                                  "von_bertalanffy", "stein"])
def test_numpy_starts_equal_kernels(name):
    """Features, integral-method and rule-based starts agree with the kernels (censored,
    padded, shrinking, short and empty series included)."""
    from tgsim.fitting.data import as_batch
    from tgsim.fitting.lm import heuristic_start

    rng = np.random.default_rng(4)
    T = np.linspace(0.0, 30.0, 9)
    Y = 40 * np.exp(0.08 * T)[None, :] * rng.lognormal(0, 0.3, (60, 1))
    Y *= 1 + 0.1 * rng.standard_normal(Y.shape)
    Y[5] = Y[5, ::-1]
    Y[7, 2:5] = np.nan
    Y[9, 3:] = np.nan
    Y[11, 1:] = np.nan
    Y[12] = 5.0
    cens = rng.random(Y.shape) < 0.1
    batch = as_batch((T, Y), censored=cens)
    setup = build_setup(model(name), batch.n, error_model("proportional"), t_range=(0.0, 30.0))
    rows = (batch.T, batch.Y, batch.W, batch.nu.astype(np.int64), batch.t0)
    got = {}
    for path in ("numpy", "numba"):
        with force_path(path):
            feat, est = np.empty((batch.n, 6)), np.empty((batch.n, 3))
            fk.series_features(*rows, feat)
            fk.integral_start(*rows, 0 if name != "logistic" else 1, est)
            starts = [heuristic_start(setup, batch, None, integral=i) for i in (True, False)]
            got[path] = [feat, est, *starts]
    for a, b in zip(got["numpy"], got["numba"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("em", ["proportional", "lognormal", "combined"])
def test_numpy_results_equal_kernels(monkeypatch, em):
    """Covariances (all rows through the eigenvalue path on NumPy), standard errors,
    intervals and residuals agree with the kernels'."""
    data = _data("gompertz", "proportional", n=30, seed=9)
    monkeypatch.setenv(ENV, "numba")
    ref = tf.fit(data, "gompertz", error_model=em)
    est, cov = ref.estimate, ref.covariance
    out = {}
    for path in ("numpy", "numba"):
        with force_path(path):
            arrs = [np.empty(est.shape) for _ in range(3)] + [np.empty(ref.fitted.shape)
                                                              for _ in range(2)]
            F = ref.fitted.copy()
            log_type = np.ones(est.shape[1], bool)
            tq = np.full(est.shape[0], 2.0)
            fk.result_rows(est, np.ascontiguousarray(cov), ref.free, log_type, tq, F,
                           ref.data.Y, ref.data.nu.astype(np.int64), ref.error_model.code,
                           ref.setup.NP, *arrs)
            out[path] = [F, *arrs]
    for a, b in zip(out["numpy"], out["numba"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    monkeypatch.setenv(ENV, "numpy")
    alt = tf.fit(data, "gompertz", error_model=em)
    np.testing.assert_array_equal(alt.status, ref.status)
    ok = ref.success & alt.success
    np.testing.assert_allclose(alt.covariance[ok], ref.covariance[ok], rtol=2e-3,
                               atol=1e-10)


def test_predict_numpy_equals_kernel(monkeypatch):
    """FitResult.predict (predictions and Jacobians) on both paths."""
    from tgsim.fitting.lm import predict

    data = _data("von_bertalanffy", "proportional", n=10)
    monkeypatch.setenv(ENV, "numba")
    res = tf.fit(data, "von_bertalanffy")
    P = np.nan_to_num(res.estimate[:, :4], nan=1.0)
    out = {}
    for path in ("numpy", "numba"):
        monkeypatch.setenv(ENV, path)
        out[path] = predict(res.setup, res.data.T, res.data.nu, res.data.t0, P, jacobian=True)
    (Fa, Ja, sa), (Fb, Jb, sb) = out["numpy"], out["numba"]
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_allclose(Fa, Fb, rtol=1e-12)
    ok = sa == 0  # (a failed row's Jacobian is left part-written by the kernel)
    assert ok.sum() >= 8
    np.testing.assert_allclose(Ja[ok], Jb[ok], rtol=1e-9, atol=1e-12)


def test_auto_rule(monkeypatch):
    """auto: NumPy for a small batch whose kernel is not cached, the kernel otherwise;
    the variable is checked."""

    class Disp:
        def __init__(self, compiled):
            self.signatures = ["x"] if compiled else []
            self._cache = None

    monkeypatch.delenv(ENV, raising=False)
    assert use_numpy(20, Disp(False))
    assert not use_numpy(20, Disp(True))
    assert not use_numpy(20, Disp(True), Disp(True))
    assert use_numpy(20, Disp(True), Disp(False))
    assert not use_numpy(10**6, Disp(False))
    monkeypatch.setenv(ENV, "numba")
    assert not use_numpy(20, Disp(False))
    with force_path("numpy"):
        assert use_numpy(10**6, Disp(True))
    monkeypatch.setenv(ENV, "fast")
    with pytest.raises(TgsimError, match=ENV):
        use_numpy(20, Disp(False))


_COLD = textwrap.dedent("""
    import json
    import numpy as np
    from numba.core import event

    with event.install_recorder("numba:compile") as rec:
        import tgsim
        rng = np.random.default_rng(1)
        t = np.linspace(0.0, 21.0, 8)
        v0, r, k = (m * rng.lognormal(0, 0.3, 20) for m in (50.0, 0.1, 3000.0))
        f = v0[:, None] * np.exp(np.log(v0 / k)[:, None] * np.expm1(-r[:, None] * t))
        res = tgsim.fit((t, f * (1 + 0.1 * rng.standard_normal(f.shape))), "gompertz")
        text = res.summary()
    names = sorted({e.data["dispatcher"].py_func.__name__ for _, e in rec.buffer})
    print(json.dumps({"compiled": names, "success": int(res.success.sum())}))
""")


def test_cold_small_fit_compiles_nothing(tmp_path):
    """A fresh process with empty caches fits 20 Gompertz series without compiling any
    Numba kernel (the default, automatic path)."""
    env = dict(os.environ, TGSIM_CACHE_DIR=str(tmp_path / "kernels"),
               NUMBA_CACHE_DIR=str(tmp_path / "numba"), MPLBACKEND="Agg")
    env.pop(ENV, None)
    run = subprocess.run([sys.executable, "-c", _COLD], env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["compiled"] == []
    assert out["success"] == 20
    assert "compiling" not in run.stderr
