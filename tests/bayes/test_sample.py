"""tgsim.sample: exact posterior, gradients, containers, forecasts and errors (quick)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import tgsim
from tgsim.errors import TgsimError
from tgsim.fitting.bayes import Prior, engine

az = pytest.importorskip("arviz")
smod = importlib.import_module("tgsim.fitting.bayes.sample")

SIG = 0.2
TIMES = np.linspace(0.0, 14.0, 8)
PRIORS = {"initial_volume": Prior.lognormal(2000.0, 0.5), "growth_rate": Prior.normal(0.15, 0.03)}


def _linear_data(n=6, seed=3):
    rng = np.random.default_rng(seed)
    v0 = np.exp(rng.normal(np.log(2000.0), 0.5, n))
    r = rng.normal(0.15, 0.03, n)
    noise = np.exp(SIG * rng.standard_normal((n, TIMES.size)))
    Y = v0[:, None] * np.exp(r[:, None] * TIMES) * noise
    return np.tile(TIMES, (n, 1)), Y


@pytest.fixture(scope="module")
def exact_run():
    T, Y = _linear_data()
    res = tgsim.sample((T, Y), "exponential", priors=PRIORS, fixed={"sigma": SIG},
                       seed=1, quiet=True)  # the defaults: 4 chains x 1000 draws, 1000 warm-up
    return T, Y, res


def test_matches_the_conjugate_normal_posterior(exact_run):
    # log V = log V0 + r t + sigma eps with normal priors on (log V0, r): Gaussian posterior
    T, Y, res = exact_run
    A = np.column_stack([np.ones(TIMES.size), TIMES])
    P0 = np.diag([1 / 0.5**2, 1 / 0.03**2])
    m0 = np.array([np.log(2000.0), 0.15])
    for s in range(Y.shape[0]):
        C = np.linalg.inv(P0 + A.T @ A / SIG**2)
        mu = C @ (P0 @ m0 + A.T @ np.log(Y[s]) / SIG**2)
        assert mu[1] > 5 * np.sqrt(C[1, 1])  # the truncation at r >= 0 is immaterial
        z = [np.log(res.draws[..., s, 0]), res.draws[..., s, 1]]
        for j in range(2):
            mcse = float(np.ravel(az.mcse(z[j], method="mean"))[0])
            assert abs(z[j].mean() - mu[j]) < 4.5 * mcse, (s, j)
            assert abs(z[j].std() / np.sqrt(C[j, j]) - 1) < 0.12, (s, j)


def test_dense_metric_gives_the_same_posterior(exact_run):
    T, Y, res = exact_run
    dense = tgsim.sample((T[:2], Y[:2]), "exponential", priors=PRIORS, fixed={"sigma": SIG},
                         metric="dense", seed=2, quiet=True)
    for s in range(2):
        for j in range(2):
            a, b = res.draws[..., s, j], dense.draws[..., s, j]
            se = np.hypot(*(float(np.ravel(az.mcse(x, method="mean"))[0]) for x in (a, b)))
            assert abs(a.mean() - b.mean()) < 4.5 * se
    assert float(dense.diagnostics()["r_hat"].max()) < 1.01


def test_diagnostics_and_inference_data(exact_run, tmp_path):
    _, _, res = exact_run
    d = res.diagnostics()
    assert float(d["r_hat"].max()) < 1.01
    assert float(d["ess_bulk"].min()) > 400
    assert int(d["divergences"].sum()) == 0
    idata = res.to_inference_data()
    for group in ("posterior", "sample_stats", "log_likelihood", "posterior_predictive",
                  "observed_data"):
        assert group in idata.groups()
    post = idata.posterior
    assert post["initial_volume"].dims == ("chain", "draw", "subject")
    assert post["initial_volume"].attrs["units"] == "mm^3"
    assert post["growth_rate"].attrs["units"] == "1/day"
    assert idata.log_likelihood["y"].dims == ("chain", "draw", "subject", "obs")
    assert bool(idata.sample_stats["diverging"].dtype == bool)
    assert "summary" not in az.summary(idata, var_names=["growth_rate"]).columns
    # log-likelihood agrees with the error-model formula of tgsim.fitting.likelihood
    from tgsim.fitting.likelihood import neg2_loglik

    F = res.model_volume(TIMES)[0, 0, 0]
    ll = float(idata.log_likelihood["y"].values[0, 0, 0].sum())
    assert ll == pytest.approx(-0.5 * neg2_loglik(res.data.Y[0], F, "lognormal", [SIG]))
    text = res.summary()
    assert "R-hat" in text and "divergences 0" in text and "log-normal" in text
    ax = res.plot(0)
    assert ax.get_xlabel() == "time (days)" and ax.get_ylabel() == "volume (mm^3)"
    path = res.to_netcdf(tmp_path / "post.nc")
    back = az.from_netcdf(path)
    np.testing.assert_allclose(back.posterior["growth_rate"].values,
                               post["growth_rate"].values)


def test_forecasts(exact_run):
    _, _, res = exact_run
    pp = res.predict([20.0, 30.0])
    assert pp["volume"].dims == ("chain", "draw", "subject", "time")
    assert pp["diameter"].attrs["units"] == "mm"
    med = pp["model_volume"].median(("chain", "draw")).values
    assert np.all(med[:, 1] > med[:, 0])  # exponential growth
    p = res.prob_progression(30.0, n_draws=50)
    assert p.dims == ("subject",) and np.all((p >= 0) & (p <= 1))
    # doubling-time scale growth over 16 days past the last scan: progression is likely
    assert float(p.mean()) > 0.5
    age = res.tumour_age()
    assert age.attrs["units"] == "days"
    # closed form: V0 exp(r a) = 1e-6 mm^3 -> a = log(V0 / 1e-6) / r
    a = np.log(res.draws[..., 0] / 1e-6) / res.draws[..., 1]
    np.testing.assert_allclose(age.values, a, rtol=1e-6)


_SLOW = pytest.mark.slow  # another card's kernels: a compile the quick run skips


@pytest.mark.parametrize("card", ["exponential", pytest.param("gompertz", marks=_SLOW),
                                  pytest.param("logistic", marks=_SLOW)])
@pytest.mark.parametrize("em", ["lognormal", "proportional", "additive"])
def test_gradient_matches_finite_differences(card, em):
    from tgsim.fitting.data import as_batch
    from tgsim.fitting.likelihood import error_model

    m = tgsim.model(card)
    e = error_model(em)
    ds = tgsim.datasets.load("benzekry2014_lung").isel(subject=[0, 1])
    b = as_batch(ds, log_scale=e.log_scale)
    tg, _, _, _ = smod.build_target(m, e, b, None, None)
    sig = np.log(0.2) if em != "additive" else np.log(50.0)
    NP = len(m.parameters)
    U = tg.to_unconstrained(np.array([[60.0, 0.1, 3000.0][:NP] + [0.0]] * 2))
    U[:, NP] = sig
    subj = np.array([0, 1])
    lp, g = engine.logp(tg, U, subj)
    assert np.all(np.isfinite(lp))
    for c in range(tg.D):
        h = 1e-5
        Up, Um = U.copy(), U.copy()
        Up[:, c] += h
        Um[:, c] -= h
        num = (engine.logp(tg, Up, subj)[0] - engine.logp(tg, Um, subj)[0]) / (2 * h)
        np.testing.assert_allclose(g[:, c], num, rtol=1e-5, atol=1e-5 * np.abs(lp).max())


def test_default_priors_are_printed(capsys):
    T, Y = _linear_data(n=1)
    tgsim.sample((T, Y), "exponential", chains=1, draws=20, warmup=20, fixed={"sigma": SIG})
    err = capsys.readouterr().err
    assert "* initial_volume" in err and "log-normal(median 1 mm^3, sd of log 13.8)" in err
    assert "* growth_rate" in err and "1/day" in err


def test_bad_input_is_refused():
    T, Y = _linear_data(n=1)
    with pytest.raises(TgsimError, match="schedule"):
        tgsim.sample((T, Y), "exponential",
                     schedule=[tgsim.Surgery(day=3.0, resected_fraction=0.5)])
    with pytest.raises(TgsimError, match="chains"):
        tgsim.sample((T, Y), "exponential", chains=0)
    with pytest.raises(TgsimError, match="unknown parameter"):
        tgsim.sample((T, Y), "exponential", priors={"rate": Prior.normal(0.1, 0.1)})
    with pytest.raises(TgsimError, match="must be a Prior"):
        tgsim.sample((T, Y), "exponential", priors={"growth_rate": 0.1})
    with pytest.raises(TgsimError, match="combined"):
        tgsim.sample((T, Y), "exponential", error_model="combined")
    with pytest.raises(TgsimError, match="median"):
        Prior.lognormal(-1.0, 1.0)


def _numpy_logp(res_model, em, b, theta, priors_logpdf, mvn=None):
    """Independent log density on the natural scale (plus the log-parameter Jacobian
    where the sampler works on logs), for one subject."""
    from tgsim.engine.compile import numpy_volume_vg
    from tgsim.fitting.likelihood import neg2_loglik

    NP = theta.size - 1
    F, _ = numpy_volume_vg(res_model)(b.T[:1, : b.nu[0]] - b.t0[0], theta[None, :NP], False)
    ll = -0.5 * neg2_loglik(b.Y[0, : b.nu[0]], F[0], em, [theta[NP]])
    lp = ll + sum(f(theta[j]) for j, f in priors_logpdf)
    if mvn is not None:
        m, Q, idx = mvn
        z = np.log(theta[idx]) - m
        lp += -0.5 * z @ Q @ z - np.log(theta[idx]).sum()
    return lp


def test_log_density_matches_an_independent_formula():
    # exponential card, log-normal error: the kernel's density (up to its constant and
    # the transform's Jacobian) against the likelihood module and the priors' logpdf
    from types import SimpleNamespace

    from tgsim.fitting.data import as_batch
    from tgsim.fitting.likelihood import error_model

    m = tgsim.model("exponential")
    e = error_model("lognormal")
    T, Y = _linear_data(n=1)
    b = as_batch((T, Y), log_scale=True)
    pri = {"initial_volume": Prior.lognormal(2000.0, 0.7), "growth_rate": Prior.normal(0.1, 0.1),
           "sigma": Prior.half_normal(0.5)}
    tg, _, _, _ = smod.build_target(m, e, b, pri, None)
    pts = np.array([[1500.0, 0.12, 0.3], [2500.0, 0.2, 0.1], [900.0, 0.05, 0.6]])
    U = tg.to_unconstrained(pts)
    lp, _ = engine.logp(tg, U, np.zeros(3, np.int64))
    # transforms: V0 logit-of-log between the card bounds, r log, sigma log
    lo, hi = 1e-12, 1e12
    s = (np.log(pts[:, 0]) - np.log(lo)) / np.log(hi / lo)
    jac = (np.log(pts[:, 0]) + np.log(np.log(hi / lo)) + np.log(s) + np.log1p(-s)
           + np.log(pts[:, 1]) + np.log(pts[:, 2]))
    ref = np.array([_numpy_logp(m, "lognormal", b, p, [(j, pri[k].logpdf) for j, k in
                                                    enumerate(pri)]) for p in pts]) + jac
    d = lp - ref
    np.testing.assert_allclose(d - d[0], 0.0, atol=1e-8)  # equal up to one constant
    # population priors from a fit_population-like result: joint normal on the logs
    pop = SimpleNamespace(param_names=("initial_volume", "growth_rate"), error_model=e,
                          random_effects=("initial_volume", "growth_rate"),
                          typical=np.array([2000.0, 0.1]), sigma=0.3,
                          omega=np.array([[0.25, 0.02], [0.02, 0.09]]))
    tg, used, _, _ = smod.build_target(m, e, b, pop, None)
    assert used["initial_volume"].kind == "population" and "sigma" not in used
    U = tg.to_unconstrained(pts)
    lp, _ = engine.logp(tg, U, np.zeros(3, np.int64))
    Q = np.linalg.inv(pop.omega)
    jac = (np.log(pts[:, 0]) + np.log(np.log(hi / lo)) + np.log(s) + np.log1p(-s)
           + np.log(pts[:, 1]))
    fixed = pts.copy()
    fixed[:, 2] = 0.3
    ref = np.array([_numpy_logp(m, "lognormal", b, p, [], (np.log(pop.typical), Q, [0, 1]))
                    for p in fixed]) + jac
    d = lp - ref
    np.testing.assert_allclose(d - d[0], 0.0, atol=1e-8)
