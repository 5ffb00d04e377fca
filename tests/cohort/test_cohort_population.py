"""Populations: laws against their definitions, truncation, correlation, streams, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import tgsim.cohort.virtual as tp
from tgsim.errors import ConfigError, TgsimError

N = 200_000  # large samples: sampling errors below are ~4 standard errors


def _draw(dist, n=N, seed=1, name="growth_rate"):
    pop = tp.VirtualPopulation("gompertz", {name: dist}, truncate=False)
    return pop.sample(n, seed)[name].to_numpy()


def test_lognormal_median_and_cv():
    x = _draw(tp.LogNormal(median=0.02, cv=0.4))
    sigma = math.sqrt(math.log1p(0.4**2))
    # log x ~ N(log 0.02, sigma^2): mean within 4 SE, SD within 4 SE (SE of SD ~ s/sqrt(2n))
    assert abs(np.log(x).mean() - math.log(0.02)) < 4 * sigma / math.sqrt(N)
    assert abs(np.log(x).std() - sigma) < 4 * sigma / math.sqrt(2 * N)
    assert abs(np.std(x) / np.mean(x) - 0.4) < 0.01


def test_lognormal_is_exactly_the_transform_of_the_stream():
    d = tp.LogNormal(median=500.0, cv=0.5)
    z = tp.stream_normals(7, 0, 1000, 1)[:, 0]
    x = tp.VirtualPopulation("gompertz", {"initial_volume": d}).sample(1000, 7)["initial_volume"]
    np.testing.assert_allclose(x, 500.0 * np.exp(d.sigma * z), rtol=1e-15)


def test_normal_uniform_fixed():
    x = _draw(tp.Normal(mean=0.05, sd=0.01))
    assert abs(x.mean() - 0.05) < 4 * 0.01 / math.sqrt(N)
    assert abs(x.std() - 0.01) < 4 * 0.01 / math.sqrt(2 * N)
    u = _draw(tp.Uniform(low=0.01, high=0.03))
    assert u.min() >= 0.01 and u.max() <= 0.03
    # Kolmogorov-Smirnov against U(0.01, 0.03); p-value is not a test of our code unless tiny
    assert stats.kstest(u, stats.uniform(0.01, 0.02).cdf).pvalue > 1e-4
    f = _draw(tp.Fixed(0.07), n=10)
    assert np.all(f == 0.07)


def test_empirical_resamples_the_values_with_equal_weights():
    values = np.array([0.01, 0.02, 0.05, 0.1])
    x = _draw(tp.Empirical(values))
    assert set(np.unique(x)) == set(values)
    counts = np.array([(x == v).sum() for v in values]) / N
    np.testing.assert_allclose(counts, 0.25, atol=4 * math.sqrt(0.25 * 0.75 / N))


def test_truncation_to_card_bounds_matches_scipy_truncnorm():
    # growth_rate has card bounds [1e-9, 10]: a Normal(0.001, 0.002) is cut at 1e-9
    d = tp.Normal(mean=0.001, sd=0.002)
    x = tp.VirtualPopulation("gompertz", {"growth_rate": d}).sample(N, 3)["growth_rate"].to_numpy()
    lo = (1e-9 - 0.001) / 0.002
    hi = (10.0 - 0.001) / 0.002
    ref = stats.truncnorm(lo, hi, loc=0.001, scale=0.002)
    assert x.min() >= 1e-9
    assert abs(x.mean() - ref.mean()) < 4 * ref.std() / math.sqrt(N)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-4


def test_user_bounds_intersect_card_bounds():
    d = tp.LogNormal(median=0.01, cv=1.0, lower=0.005, upper=0.02)
    x = _draw(d)
    assert x.min() >= 0.005 and x.max() <= 0.02
    # inversion keeps the law's shape: the median of the truncated law is F^-1 of the
    # middle of [F(l), F(u)]
    fl, fu = d.cdf(0.005), d.cdf(0.02)
    np.testing.assert_allclose(np.median(x), d.ppf(np.array([(fl + fu) / 2]))[0], rtol=0.01)


def test_correlation_on_the_log_scale():
    pop = tp.VirtualPopulation(
        "gompertz",
        {"growth_rate": tp.LogNormal(0.01, 0.3), "carrying_capacity": tp.LogNormal(1e5, 0.5),
         "initial_volume": tp.LogNormal(100.0, 0.2)},
        correlation=[("growth_rate", "carrying_capacity", -0.6)],
    )
    s = pop.sample(N, 11)
    r = np.corrcoef(np.log(s["growth_rate"]), np.log(s["carrying_capacity"]))[0, 1]
    # SE of a correlation ~ (1 - rho^2)/sqrt(n)
    assert abs(r + 0.6) < 4 * (1 - 0.36) / math.sqrt(N)
    r0 = np.corrcoef(np.log(s["growth_rate"]), np.log(s["initial_volume"]))[0, 1]
    assert abs(r0) < 4 / math.sqrt(N)
    R = pop.correlation_matrix()
    assert R.loc["growth_rate", "carrying_capacity"] == pytest.approx(-0.6)


def test_correlation_forms_agree():
    laws = {"growth_rate": tp.LogNormal(0.01, 0.3), "carrying_capacity": tp.LogNormal(1e5, 0.5)}
    names = ["growth_rate", "carrying_capacity"]
    m = [[1.0, 0.4], [0.4, 1.0]]
    forms = [
        {("growth_rate", "carrying_capacity"): 0.4},
        [("r", "K", 0.4)],  # symbols work too
        (names, m),
        pd.DataFrame(m, index=names, columns=names),
    ]
    samples = [tp.VirtualPopulation("gompertz", laws, correlation=f).sample(50, 2) for f in forms]
    for s in samples[1:]:
        pd.testing.assert_frame_equal(s, samples[0])


@pytest.mark.parametrize("chunks", [[0, 1, 1024, 1025, 3000], [0, 999, 2000, 2047, 3000],
                                    [0, 3000]])
def test_sample_range_equals_slices_of_sample(gompertz_population, chunks):
    full = gompertz_population.sample(3000, seed=42)
    bounds = zip(chunks, chunks[1:], strict=False)
    parts = [gompertz_population.sample_range(a, b, seed=42) for a, b in bounds]
    pd.testing.assert_frame_equal(pd.concat(parts), full)
    # a subject does not depend on the cohort size
    pd.testing.assert_frame_equal(gompertz_population.sample(10, seed=42), full.iloc[:10])


def test_seeds_differ(gompertz_population):
    a = gompertz_population.sample(100, 1)
    b = gompertz_population.sample(100, 2)
    assert not np.allclose(a.to_numpy(), b.to_numpy())


def test_from_estimates_empirical_keeps_rows():
    est = pd.DataFrame({"growth_rate": [0.01, 0.02, 0.03], "K": [1e4, 2e4, 3e4],
                        "other": [1, 2, 3]})
    pop = tp.VirtualPopulation.from_estimates("gompertz", est)
    s = pop.sample(500, 1)
    rows = {(0.01, 1e4), (0.02, 2e4), (0.03, 3e4)}
    assert set(zip(s["growth_rate"], s["carrying_capacity"], strict=True)) <= rows
    assert len(set(zip(s["growth_rate"], s["carrying_capacity"], strict=True))) == 3
    assert np.all(s["initial_volume"] == 1.0)  # card default


def test_from_estimates_lognormal_recovers_the_law():
    true = tp.VirtualPopulation("gompertz", {"growth_rate": tp.LogNormal(0.01, 0.3),
                                      "carrying_capacity": tp.LogNormal(1e5, 0.5)},
                         correlation=[("growth_rate", "carrying_capacity", 0.5)])
    est = true.sample(20_000, 5)[["growth_rate", "carrying_capacity"]]
    fit = tp.VirtualPopulation.from_estimates("gompertz", est, kind="lognormal")
    d = fit.distribution("growth_rate")
    assert d.median == pytest.approx(0.01, rel=0.01)
    assert d.cv == pytest.approx(0.3, rel=0.03)
    assert fit.correlation_matrix().iloc[0, 1] == pytest.approx(0.5, abs=0.03)


def test_from_estimates_dataset_in_curvefit_layout():
    import xarray as xr

    ds = xr.Dataset({"curvefit_coefficients": (("subject", "param"),
                                               [[0.01, 5e4], [0.02, 6e4]])},
                    coords={"param": ["growth_rate", "carrying_capacity"]})
    s = tp.VirtualPopulation.from_estimates("gompertz", ds).sample(50, 0)
    assert set(s["growth_rate"]) <= {0.01, 0.02}


def test_effect_parameters_are_sampled():
    pop = tp.VirtualPopulation("gompertz", {"immunotherapy.kill_rate": tp.LogNormal(0.02, 0.5),
                                     "immunotherapy.swelling.infiltration_rate": 0.05})
    s = pop.sample(100, 3)
    assert pop.effect_names == ("immunotherapy.kill_rate",
                                "immunotherapy.swelling.infiltration_rate")
    assert (s["immunotherapy.kill_rate"] > 0).all()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: tp.LogNormal(0.01, 0.0), r"cv.*must be > 0; got 0"),
        (lambda: tp.LogNormal(0.01, -0.2), r"cv.*must be > 0"),
        (lambda: tp.LogNormal(-1.0, 0.2), r"median` must be > 0"),
        (lambda: tp.Normal(0.0, 0.0), r"sd` must be > 0"),
        (lambda: tp.Uniform(1.0, 1.0), r"low` must be < `high"),
        (lambda: tp.Empirical([]), r"empty"),
        (lambda: tp.Empirical([1.0, np.nan]), r"values\[1\]"),
        (lambda: tp.LogNormal(1.0, 0.2, lower=2.0, upper=1.0), r"lower` must be < `upper"),
    ],
)
def test_bad_laws(make, match):
    with pytest.raises(TgsimError, match=match):
        make()


def test_bad_populations():
    with pytest.raises(TgsimError, match="no parameter 'growth'"):
        tp.VirtualPopulation("gompertz", {"growth": 0.1})
    with pytest.raises(TgsimError, match="unknown effect parameter 'chemo.kill'"):
        tp.VirtualPopulation("gompertz", {"chemo.kill": 0.1})
    with pytest.raises(TgsimError, match=r"growth_rate = 20 is outside .*\[1e-09, 10\]"):
        tp.VirtualPopulation("gompertz", {"growth_rate": 20.0})
    laws = {"growth_rate": tp.LogNormal(0.01, 0.3), "carrying_capacity": tp.LogNormal(1e5, 0.5),
            "initial_volume": tp.LogNormal(10.0, 0.3)}
    bad = (["growth_rate", "carrying_capacity", "initial_volume"],
           [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])
    with pytest.raises(TgsimError, match="not positive definite"):
        tp.VirtualPopulation("gompertz", laws, correlation=bad)
    with pytest.raises(TgsimError, match="only random parameters"):
        tp.VirtualPopulation("gompertz", {"growth_rate": tp.LogNormal(0.01, 0.3)},
                      correlation={("growth_rate", "carrying_capacity"): 0.2})
    with pytest.raises(TgsimError, match=r"in \[-1, 1\]"):
        tp.VirtualPopulation("gompertz", laws, correlation={("growth_rate", "initial_volume"): 1.5})
    with pytest.raises(TgsimError, match="keeps no probability mass"):
        tp.VirtualPopulation("gompertz", {"growth_rate": tp.Normal(50.0, 1.0)}).sample(3, 1)
    with pytest.raises(TgsimError, match="`seed` must be an integer >= 0"):
        tp.VirtualPopulation("gompertz", laws).sample(3, -1)


def test_distribution_from_dict_errors_name_the_key():
    w = "exp.toml: [population] growth_rate"
    with pytest.raises(ConfigError, match=r"exp.toml: \[population\] growth_rate: unknown "
                                          r"distribution 'gamma'"):
        tp.distribution_from_dict({"distribution": "gamma", "shape": 2}, where=w)
    with pytest.raises(ConfigError, match=r"growth_rate: LogNormal: `cv`.* must be > 0"):
        tp.distribution_from_dict({"distribution": "lognormal", "median": 1, "cv": 0}, where=w)
    with pytest.raises(ConfigError, match=r"unknown key 'sigma'"):
        tp.distribution_from_dict({"distribution": "lognormal", "median": 1, "sigma": 1},
                                  where=w)
    with pytest.raises(ConfigError, match="needs key"):
        tp.distribution_from_dict({"distribution": "normal", "mean": 1}, where=w)
    assert tp.distribution_from_dict(0.5, where=w) == tp.Fixed(0.5)


def test_summary_and_dict(gompertz_population):
    text = gompertz_population.summary()
    assert "lognormal(median=3000, cv=0.5)" in text and "mm^3" in text
    assert "-0.300" in text
    d = gompertz_population.to_dict()
    assert d["correlation"]["names"] == ["initial_volume", "growth_rate", "carrying_capacity"]
