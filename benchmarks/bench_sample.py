"""Benchmark: tgsim.sample (batched NUTS) against emcee on the same posteriors.

1. Effective samples per second per subject. The 20 Benzekry 2014 mice, Gompertz with
   log-normal error and the default priors. tgsim: 4 chains x 1000 draws after 1000
   warm-up iterations per mouse, all mice in one call (warm-up included in the time,
   compilation excluded by a first call). emcee (affine-invariant ensemble, 24 walkers,
   vectorised over walkers) twice: on the very same log density (tgsim's compiled one,
   so the comparison is of the samplers, not of the model code), and on the same
   posterior written in NumPy on log-parameters (as a user of emcee would), with
   `--emcee-steps` steps, the first third discarded, on `--emcee-subjects` mice.
   ESS: ArviZ bulk ESS, the minimum over the parameters of each mouse (emcee's walkers
   counted as chains).
2. Wall time for N Gompertz series (default 10,000) x 4 chains x 1000 draws (+ 1000
   warm-up), 8 points over 21 days each, simulated from log-normal parameters, sampled
   with that population as the priors; then M series (default 1000) with the default
   (vague) priors, where a carrying capacity the data do not determine makes long
   trajectories. Wall and CPU time, mean tree depth and leapfrog steps are printed.

Run:  python benchmarks/bench_sample.py [--cohort 10000] [--emcee-subjects 5]
      [--emcee-steps 4000]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import tgsim
from tgsim.fitting.bayes import engine


def ess_min(draws: np.ndarray) -> float:
    import arviz as az

    return min(float(np.ravel(az.ess(np.ascontiguousarray(draws[..., j]), method="bulk"))[0])
               for j in range(draws.shape[-1]))


def numpy_logp(res, s):
    """The same posterior as a user would code it in NumPy for emcee: log-parameters
    z = log(theta), the priors of ``res``, the card bounds as support, log-normal error."""
    from tgsim.engine.compile import numpy_volume_vg

    vg = numpy_volume_vg(res.model)
    b = res.data
    t = b.T[s, : b.nu[s]] - b.t0[s]
    logy = np.log(b.Y[s, : b.nu[s]])
    pri = [res.priors[k] for k in res.param_names]
    lo = np.array([p.lower for p in res.model.parameters] + [0.0])
    hi = np.array([p.upper for p in res.model.parameters] + [np.inf])

    def logp(Z):
        th = np.exp(Z)
        NP = th.shape[1] - 1
        with np.errstate(all="ignore"):
            F, _ = vg(np.broadcast_to(t, (th.shape[0], t.size)), th[:, :NP], False)
            sig = th[:, NP:]
            ll = np.sum(-np.log(sig) - 0.5 * ((logy - np.log(F)) / sig) ** 2, axis=1)
            lp = ll + sum(p.logpdf(th[:, j]) for j, p in enumerate(pri)) + Z.sum(axis=1)
        ok = np.all((th >= lo) & (th <= hi), axis=1) & np.isfinite(lp)
        return np.where(ok, lp, -np.inf)

    return logp


def run_emcee(logp, x0, steps, seed):
    import emcee

    rng = np.random.default_rng(seed)
    sampler = emcee.EnsembleSampler(24, x0.size, logp, vectorize=True)
    t = time.perf_counter()
    sampler.run_mcmc(x0 + 1e-3 * rng.standard_normal((24, x0.size)), steps, progress=False)
    el = time.perf_counter() - t
    ch = sampler.get_chain(discard=steps // 3)  # (steps, walkers, D)
    return ess_min(ch.transpose(1, 0, 2)) / el


def bench_ess(n_emcee: int, steps: int) -> None:

    ds = tgsim.datasets.load("benzekry2014_lung")
    tgsim.sample(ds.isel(subject=[0]), "gompertz", quiet=True, draws=10, warmup=10)
    t = time.perf_counter()
    res = tgsim.sample(ds, "gompertz", quiet=True)
    wall = time.perf_counter() - t
    n = res.n_subjects
    ours = [ess_min(np.log(res.draws[:, :, s, :])) for s in range(n)]
    ours_rate = np.array(ours) / (wall / n)
    tg = res._target
    rates, rates_np = [], []
    for s in range(n_emcee):
        med = np.median(res.draws[:, :, s, :], axis=(0, 1))
        U0 = tg.to_unconstrained(med[None, :])[0]

        def logp(U, s=s):
            lp, _ = engine.logp(tg, U, np.full(U.shape[0], s))
            return np.where(np.isfinite(lp), lp, -np.inf)

        rates.append(run_emcee(logp, U0, steps, s))
        rates_np.append(run_emcee(numpy_logp(res, s), np.log(med), steps, s))
    print(f"tgsim.sample: {n} mice, {wall:.1f} s wall (4 chains x 2000 iterations each); "
          f"min bulk ESS per mouse: median {np.median(ours):.0f}; "
          f"ESS/s per subject: median {np.median(ours_rate):.0f}")
    print(f"emcee ({n_emcee} mice, 24 walkers x {steps} steps, same compiled density): "
          f"ESS/s per subject: median {np.median(rates):.1f}")
    print(f"emcee ({n_emcee} mice, 24 walkers x {steps} steps, the density in NumPy on log "
          f"parameters): ESS/s per subject: median {np.median(rates_np):.1f}")
    print(f"ratio (medians): {np.median(ours_rate) / np.median(rates):.0f}x against emcee on "
          f"tgsim's compiled density, {np.median(ours_rate) / np.median(rates_np):.0f}x "
          "against emcee on a NumPy density")


def bench_cohort(n: int, informative: bool) -> None:
    from tgsim.fitting.bayes import Prior

    rng = np.random.default_rng(0)
    t = np.arange(0.0, 22.0, 3.0)
    v0 = np.exp(rng.normal(np.log(100), 0.5, n))
    r = np.exp(rng.normal(np.log(0.08), 0.3, n))
    K = np.exp(rng.normal(np.log(2000), 0.4, n))
    from tgsim.engine.compile import numpy_volume_vg

    F, _ = numpy_volume_vg(tgsim.model("gompertz"))(np.tile(t, (n, 1)),
                                                    np.column_stack([v0, r, K]), False)
    Y = F * np.exp(0.15 * rng.standard_normal(F.shape))
    priors = None
    if informative:  # the population the series were drawn from, as priors
        priors = {"initial_volume": Prior.lognormal(100.0, 0.5),
                  "growth_rate": Prior.lognormal(0.08, 0.3),
                  "carrying_capacity": Prior.lognormal(2000.0, 0.4),
                  "sigma": Prior.lognormal(0.15, 0.3)}
    tt, cpu = time.perf_counter(), time.process_time()
    res = tgsim.sample((np.tile(t, (n, 1)), Y), "gompertz", priors=priors, quiet=True)
    wall, cpu = time.perf_counter() - tt, time.process_time() - cpu
    depth = res.stats[..., engine.STAT_NAMES.index("tree_depth")]
    steps = res.stats[..., engine.STAT_NAMES.index("n_steps")]
    print(f"{n} Gompertz series x 4 chains x 1000 draws (+1000 warm-up), "
          f"{'informative' if informative else 'default'} priors: {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU ({wall / n * 1e3:.1f} ms wall per series; "
          f"x 10,000 = {wall / n * 1e4:.0f} s); mean tree depth {depth.mean():.2f}, "
          f"mean leapfrog steps {steps.mean():.1f}; divergences "
          f"{int((res.stats[..., 4] > 0.5).sum())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cohort", type=int, default=10_000,
                    help="series in the wall-time run with informative priors")
    ap.add_argument("--cohort-default", type=int, default=1000,
                    help="series in the wall-time run with the default (vague) priors")
    ap.add_argument("--skip-ess", action="store_true")
    ap.add_argument("--emcee-subjects", type=int, default=5)
    ap.add_argument("--emcee-steps", type=int, default=4000)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import numba

    print(f"threads: {numba.get_num_threads()}")
    if not a.skip_ess:
        bench_ess(a.emcee_subjects, a.emcee_steps)
    bench_cohort(a.cohort, informative=True)
    if a.cohort_default:
        bench_cohort(a.cohort_default, informative=False)


if __name__ == "__main__":
    main()
