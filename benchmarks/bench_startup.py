"""Benchmark: first-use time of each job, cold and warm, in fresh processes.

For each job a fresh Python process imports tgsim and runs one small, typical call; the
time printed covers the import and the call. **cold**: empty kernel caches (a new
``TGSIM_CACHE_DIR`` and a new ``NUMBA_CACHE_DIR`` for the card-independent kernels, as on
a fresh install); **warm**: the same caches, in a second and third fresh process (best of
the two). The scipy column is the same work done with scipy (``least_squares`` /
``solve_ivp``, per subject) in a fresh process, import included, for scale.

Run:  python benchmarks/bench_startup.py [--jobs simulate_treated,fit_closed,...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

PRE = """
import time
t0 = time.perf_counter()
import numpy as np
import tgsim
days = np.arange(0.0, 61.0, 5.0)
g = {"initial_volume": 50.0, "growth_rate": 0.06, "carrying_capacity": 4000.0}
rng = np.random.default_rng(0)
def series(model, params, n=20):
    v = tgsim.simulate(model, days, {k: np.full(n, x) for k, x in params.items()}).volume.values
    return days, v * np.exp(0.1 * rng.standard_normal(v.shape))
"""

JOBS = {
    "simulate_untreated": 'tgsim.simulate("gompertz", days, g)',
    "simulate_treated": 'tgsim.simulate("gompertz", days, g, schedule=[tgsim.Chemotherapy('
                        'days=[10.0, 31.0], dose=1.0, half_life_days=2.0, kill_rate=0.2)])',
    "fit_closed": 'tgsim.fit(series("gompertz", g), "gompertz")',
    "fit_ode": 'tgsim.fit(series("exponential_linear", {"initial_volume": 50.0, '
               '"growth_rate": 0.2, "linear_rate": 30.0}), "exponential_linear")',
    "fit_treated": 'tgsim.fit(series("gompertz", g), "gompertz", schedule=['
                   'tgsim.Surgery(day=30.0, resected_fraction=0.5)])',
    "metastasis": textwrap.dedent("""\
        from tgsim.metastasis import MetastasisModel, metastatic_spread
        prim = tgsim.simulate("gompertz", np.linspace(0, 200, 21), g)
        mm = MetastasisModel(seeding_rate=1e-4, colony_model="gompertz",
                             colony_params={"growth_rate": 0.06, "carrying_capacity": 4000.0})
        metastatic_spread(prim, mm, schedule=[tgsim.Chemotherapy(days=[50.0], dose=1.0,
                          half_life_days=2.0, kill_rate=0.2)], birth_points=40)"""),
}

SCIPY = {
    "fit_closed": """
import time
t0 = time.perf_counter()
import numpy as np
from scipy.optimize import least_squares
days = np.arange(0.0, 61.0, 5.0)
rng = np.random.default_rng(0)
def f(p):
    v0, r, k = np.exp(p)
    return k * (v0 / k) ** np.exp(-r * days)
y = f(np.log([50.0, 0.06, 4000.0]))[None, :] * np.exp(0.1 * rng.standard_normal((20, days.size)))
for row in y:
    least_squares(lambda p: np.log(f(p)) - np.log(row), np.log([40.0, 0.1, 3000.0]),
                  method="lm")
""",
    "simulate_treated": """
import time
t0 = time.perf_counter()
import numpy as np
from scipy.integrate import solve_ivp
days = np.arange(0.0, 61.0, 5.0)
def rhs(t, v):
    c = sum(2.0 ** (-(t - d) / 2.0) for d in (10.0, 31.0) if t >= d)
    return 0.06 * v * np.log(4000.0 / v) - 0.2 * c * v
y = [50.0]
for a, b in ((0.0, 10.0), (10.0, 31.0), (31.0, 60.0)):
    y = solve_ivp(rhs, (a, b), y, rtol=1e-8, atol=1e-12).y[:, -1]
""",
}


def _time(code: str, env: dict[str, str]) -> float:
    script = code + "\nprint('ELAPSED', time.perf_counter() - t0)\n"
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                       text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("ELAPSED")][-1]
    return float(line.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", default=",".join(JOBS))
    args = ap.parse_args()
    jobs = [j for j in args.jobs.split(",") if j]
    print(f"{'job':<20} {'cold s':>8} {'warm s':>8} {'scipy s':>8}")
    for job in jobs:
        with tempfile.TemporaryDirectory() as kc, tempfile.TemporaryDirectory() as nc:
            env = {**os.environ, "TGSIM_CACHE_DIR": kc, "NUMBA_CACHE_DIR": nc,
                   "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
            code = PRE + JOBS[job]
            cold = _time(code, env)
            warm = min(_time(code, env) for _ in range(2))
        sc = _time(SCIPY[job], dict(os.environ)) if job in SCIPY else float("nan")
        print(f"{job:<20} {cold:>8.2f} {warm:>8.2f} {sc:>8.2f}", flush=True)
    print("\ncold: empty kernel caches (first use after install); warm: cached kernels; both "
          "in fresh processes, import included. Targets on 2 cores: treated simulate and "
          "closed-form fit <= 5 s cold, ODE-card fit <= 15 s cold, every job <= 0.6 s warm.")


if __name__ == "__main__":
    main()
