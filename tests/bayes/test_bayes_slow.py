"""Slow checks of tgsim.sample: simulation-based calibration, agreement with emcee,
forecast coverage and the hierarchical model (run with ``pytest -m slow``)."""

from __future__ import annotations

import numpy as np
import pytest

import tgsim

pytestmark = pytest.mark.slow
pytest.importorskip("arviz")


@pytest.mark.parametrize("model", ["exponential", "logistic", "gompertz"])
def test_simulation_based_calibration(model):
    # Talts et al. 2018: 500 data sets from the prior, ranks of the truth among 100
    # thinned draws; chi-squared uniformity over 20 bins, p > 0.01 for every parameter
    from bayes_sbc import ranks, uniformity_pvalue

    r = ranks(model, 500)
    for name, v in r.items():
        assert uniformity_pvalue(v, 100) > 0.01, name


def _emcee_reference(res, s, n_steps=6000, walkers=24, seed=0):
    """A long emcee run on subject s's posterior in the sampler's coordinates."""
    import importlib

    emcee = pytest.importorskip("emcee")
    engine = importlib.import_module("tgsim.fitting.bayes.engine")
    tg = res._target
    U0 = tg.to_unconstrained(np.median(res.draws[:, :, s, :], axis=(0, 1))[None, :])[0]
    rng = np.random.default_rng(seed)

    def logp(U):
        lp, _ = engine.logp(tg, U, np.full(U.shape[0], s))
        return np.where(np.isfinite(lp), lp, -np.inf)

    p0 = U0 + 1e-3 * rng.standard_normal((walkers, U0.size))
    sampler = emcee.EnsembleSampler(walkers, U0.size, logp, vectorize=True)
    sampler.run_mcmc(p0, n_steps, progress=False)
    flat = sampler.get_chain(discard=n_steps // 3, flat=True)
    theta = np.array(tg.fixed[np.full(flat.shape[0], s)], copy=True)
    from tgsim.fitting.bayes.hierarchical import _natural

    _natural(tg, flat, theta)
    return theta


@pytest.mark.parametrize("name,subjects", [("benzekry2014_lung", slice(0, 20)),
                                           ("vaghi2020_breast", slice(0, 10))])
def test_agrees_with_emcee(name, subjects):
    ds = tgsim.datasets.load(name).isel(subject=subjects)
    res = tgsim.sample(ds, "gompertz", quiet=True, draws=2500)
    d = res.diagnostics()
    for s in range(res.n_subjects):
        ref = _emcee_reference(res, s)
        for j, p in enumerate(res.param_names):
            if not bool(d["identified"].sel(param=p).values[s]):
                continue
            x, y = np.log(res.draws[:, :, s, j].ravel()), np.log(ref[:, j])
            sd = y.std()
            assert abs(x.mean() - y.mean()) < 0.1 * sd, (s, p)
            for q in (0.05, 0.95):
                assert abs(np.quantile(x, q) - np.quantile(y, q)) < 0.15 * sd, (s, p, q)


def test_forecast_coverage_benzekry():
    # fit the first 5 points of each mouse, 90 % predictive intervals on the rest
    ds = tgsim.datasets.load("benzekry2014_lung")
    from tgsim.fitting.data import as_batch

    b = as_batch(ds, log_scale=True)
    T5 = np.where(np.arange(b.T.shape[1]) < 5, b.T, np.nan)
    Y5 = np.where(np.arange(b.T.shape[1]) < 5, b.Y, np.nan)
    res = tgsim.sample((T5, Y5), "gompertz", quiet=True)
    hits = []
    for s in range(b.n):
        t_out, y_out = b.T[s, 5:b.nu[s]], b.Y[s, 5:b.nu[s]]
        pp = res.predict(t_out)["volume"].isel(subject=s).values.reshape(-1, t_out.size)
        lo, hi = np.quantile(pp, [0.05, 0.95], axis=0)
        hits += list((y_out >= lo) & (y_out <= hi))
    cover = float(np.mean(hits))
    assert 0.85 <= cover <= 0.95, cover


def test_population_close_to_saem_on_vaghi():
    ds = tgsim.datasets.load("vaghi2020_breast")
    keep = [i for i in range(ds.sizes["subject"])
            if np.all(ds["value"].values[i][~np.isnan(ds["value"].values[i])] > 0)]
    ds = ds.isel(subject=keep)
    pop = tgsim.fit_population(ds, "gompertz", error_model="lognormal")
    res = tgsim.fitting.bayes.sample_population(ds, "gompertz", quiet=True)
    med = res.population["typical"].median(("chain", "draw")).values
    np.testing.assert_allclose(med, pop.typical, rtol=0.05)


def _population_replicate(seed, n=100):
    rng = np.random.default_rng(seed)
    mu = np.log([100.0, 0.08, 2000.0])
    omega = np.array([0.3, 0.2, 0.3])
    theta = np.exp(mu + omega * rng.standard_normal((n, 3)))
    t = np.arange(0.0, 22.0, 3.0)
    from tgsim.engine.compile import numpy_volume_vg

    F, _ = numpy_volume_vg(tgsim.model("gompertz"))(np.tile(t, (n, 1)), theta, False)
    Y = F * np.exp(0.1 * rng.standard_normal(F.shape))
    res = tgsim.fitting.bayes.sample_population((np.tile(t, (n, 1)), Y), "gompertz", chains=2,
                                        draws=500, warmup=500, seed=seed, quiet=True)
    P = res.population
    hits = []
    for name, truth in (("mu", mu), ("omega", omega)):
        lo, hi = P[name].quantile([0.05, 0.95], dim=("chain", "draw")).values
        hits.append((truth >= lo) & (truth <= hi))
    return np.concatenate(hits)


def test_population_coverage():
    # 100 replicate populations of 100 subjects: the 90 % posterior intervals of the
    # fixed effects (mu) and of omega cover the truth at the nominal rate (binomial 99 %
    # range for 100 replicates: 0.81 .. 0.97)
    hits = np.array([_population_replicate(seed) for seed in range(100)])
    rate = hits.mean(axis=0)
    assert np.all((rate >= 0.81) & (rate <= 0.97)), rate
