"""Benchmark: treated fits with two free drug parameters,
tgsim.fitting.treated.fit_treatment against least_squares + solve_ivp (DOP853) on the
same objective, per subject.

Workload: exponential growth, a one-compartment drug given as three boluses (days 0, 7,
14), linear kill with Claret resistance; free: initial volume, growth rate, resistance
rate and kill slope (two drug parameters); 12 points over 35 days, 10 % log-normal noise.

* tgsim: compiled kernels (rtol 1e-10), central-difference Jacobian with all 2p + 1
  vectors in one batched kernel call, least_squares (trf).
* oracle: least_squares (trf, 3-point Jacobian) around scipy's solve_ivp (DOP853,
  rtol 1e-12) restarted at every dose, the reference of tgsim.tgi.reference.

Both are timed per subject after a warm-up (best of the passes); the estimates of both
are compared (largest relative difference).

Run:  python benchmarks/bench_tgi_fit.py [--subjects 20] [--oracle 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.optimize import least_squares

import tgsim
from tgsim.fitting.treated import fit_treatment
from tgsim.tgi import Drug, Linear, OneCompartment, simulate_reference

T = np.linspace(0.0, 35.0, 12)


def drug(slope, lam):
    return Drug(doses={"day": [0, 7, 14], "amount": 10.0}, pk=OneCompartment(2.0),
                effect=Linear(slope), resistance_rate=lam, name="x")


def data(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        slope, lam = rng.uniform(0.06, 0.14), rng.uniform(0.01, 0.05)
        y = tgsim.simulate("exponential", T, {"initial_volume": 100.0, "growth_rate": 0.1},
                           schedule=[drug(slope, lam)], rtol=1e-11)["volume"].values[0]
        out.append(y * np.exp(0.1 * rng.standard_normal(T.size)))
    return out


def oracle(y):
    def resid(x):
        f = simulate_reference(lambda v: x[1] * v, x[0], drug(x[3], x[2]), T, rtol=1e-12,
                               atol=1e-10)
        return np.log(y) - np.log(f)

    return least_squares(resid, [y[0], 0.2, 0.01, 0.05], bounds=([1e-12, 0, 0, 0],
                                                                 [1e12, 10, 1, 1]),
                         method="trf", x_scale="jac", jac="3-point", ftol=1e-14, xtol=1e-14,
                         gtol=1e-14).x


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subjects", type=int, default=20)
    ap.add_argument("--oracle", type=int, default=3)
    a = ap.parse_args()
    ys = data(a.subjects)
    free = drug(tgsim.Free(0.05, upper=1.0), tgsim.Free(0.01, upper=1.0))
    fit_treatment((T, ys[0]), "exponential", [free])            # warm-up (compilation)
    best = np.inf
    for _ in range(2):
        t1 = time.perf_counter()
        est = [fit_treatment((T, y), "exponential", [free]).estimate[0] for y in ys]
        best = min(best, (time.perf_counter() - t1) / len(ys))
    t1 = time.perf_counter()
    ref = [oracle(y) for y in ys[: a.oracle]]
    t_ref = (time.perf_counter() - t1) / a.oracle
    diff = max(np.max(np.abs(np.array(e) / r - 1)) for e, r in zip(est, ref, strict=False))
    print(f"tgsim fit_treatment : {best * 1e3:9.1f} ms per subject ({a.subjects} subjects)")
    print(f"least_squares+DOP853: {t_ref * 1e3:9.1f} ms per subject ({a.oracle} subjects)")
    print(f"ratio               : {t_ref / best:9.1f}x")
    print(f"max relative difference of the estimates: {diff:.2e}")


if __name__ == "__main__":
    main()
