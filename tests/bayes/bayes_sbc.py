"""Simulation-based calibration (Talts et al. 2018) of :func:`tgsim.sample`.

Parameters are drawn from the prior, data simulated from the model with log-normal
error, and the posterior sampled by :func:`tgsim.sample` with the same prior; the rank of
each true value among ``L`` thinned posterior draws must be uniform on 0..L. All data
sets are sampled in one call (one subject each).

Talts S, Betancourt M, Simpson D, Vehtari A, Gelman A. Validating Bayesian inference
algorithms with simulation-based calibration. arXiv:1804.06788 (2018).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

import tgsim
from tgsim.fitting.bayes import Prior

#: informative priors (natural scale) that give plausible series over 0..21 days
PRIORS = {
    "exponential": {"initial_volume": Prior.lognormal(100.0, 0.5),
                    "growth_rate": Prior.lognormal(0.1, 0.4),
                    "sigma": Prior.lognormal(0.15, 0.3)},
    "logistic": {"initial_volume": Prior.lognormal(100.0, 0.5),
                 "growth_rate": Prior.lognormal(0.25, 0.3),
                 "carrying_capacity": Prior.lognormal(1500.0, 0.4),
                 "sigma": Prior.lognormal(0.15, 0.3)},
    "gompertz": {"initial_volume": Prior.lognormal(100.0, 0.5),
                 "growth_rate": Prior.lognormal(0.08, 0.3),
                 "carrying_capacity": Prior.lognormal(2000.0, 0.4),
                 "sigma": Prior.lognormal(0.15, 0.3)},
}
TIMES = np.arange(0.0, 22.0, 3.0)


def simulate(model: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """True parameters from the prior and series with log-normal error."""
    rng = np.random.default_rng(seed)
    mdl = tgsim.model(model)
    pri = PRIORS[model]
    truth = {k: p.draw(rng, n) for k, p in pri.items()}
    P = np.column_stack([truth[p.name] for p in mdl.parameters])
    from tgsim.engine.compile import numpy_volume_vg

    F, _ = numpy_volume_vg(mdl)(np.tile(TIMES, (n, 1)), P, False)
    Y = F * np.exp(truth["sigma"][:, None] * rng.standard_normal(F.shape))
    return np.tile(TIMES, (n, 1)), Y, truth


def ranks(model: str, n: int, *, draws: int = 1000, warmup: int = 500, thin: int = 10,
          seed: int = 0) -> dict[str, np.ndarray]:
    """Rank of each true value among the thinned draws (0 .. draws // thin), per parameter."""
    T, Y, truth = simulate(model, n, seed)
    res = tgsim.sample((T, Y), model, priors=PRIORS[model], chains=1, draws=draws,
                       warmup=warmup, seed=seed + 1, quiet=True)
    out = {}
    for j, name in enumerate(res.param_names):
        x = res.draws[0, ::thin, :, j]  # (L, n)
        out[name] = (x < truth[name][None, :]).sum(axis=0)
    return out


def uniformity_pvalue(r: np.ndarray, L: int, bins: int = 20) -> float:
    """Chi-squared test of uniform ranks on 0..L in ``bins`` equal bins."""
    edges = np.linspace(0, L + 1, bins + 1)
    counts, _ = np.histogram(r, bins=edges)
    return float(stats.chisquare(counts).pvalue)
