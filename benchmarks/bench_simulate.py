"""Benchmark: tgsim.simulate vs scipy.integrate.solve_ivp, one call per subject.

Work: Gompertz growth, N subjects (default 1e5) with log-normal parameter spread, 100
output times over 365 days, untreated and under a treatment schedule. scipy's time is
measured on a random subsample of subjects and scaled to N (per-subject cost is flat).
Accuracy of every method is checked against the exact solution (untreated) or a tight
DOP853 reference (treated).

Run:  python benchmarks/bench_simulate.py [--subjects 100000] [--sample 300]
Prints one table with the speed ratios, plus `import tgsim` and first-call times measured
in fresh processes.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

import tgsim

TIMES = np.linspace(0.0, 365.0, 100)


def cohort(n: int, seed: int = 1, v0: float = 1.0, r: float = 0.05,
           k: float = 2000.0) -> dict[str, np.ndarray]:
    """Log-normal cohort (CV about 30 %) around V0 (mm^3), r (1/day), K (mm^3)."""
    rng = np.random.default_rng(seed)
    return {
        "initial_volume": v0 * rng.lognormal(0, 0.3, n),
        "growth_rate": r * rng.lognormal(0, 0.3, n),
        "carrying_capacity": k * rng.lognormal(0, 0.3, n),
    }


#: a milder cohort (slow growth from 30 mm^3 towards 1000 mm^3) on which solve_ivp takes
#: fewer steps: the honest floor of the untreated ratios
MILD = {"v0": 30.0, "r": 0.012, "k": 1000.0}


def exact(p: dict[str, np.ndarray]) -> np.ndarray:
    v0, r, k = (
        p["initial_volume"][:, None],
        p["growth_rate"][:, None],
        p["carrying_capacity"][:, None],
    )
    return k * (v0 / k) ** np.exp(-r * TIMES[None, :])


SCHEDULE = [
    tgsim.Chemotherapy(days=[30.0, 51.0, 72.0, 93.0], dose=1.0, half_life_days=2.0, kill_rate=0.15),
    tgsim.Surgery(day=120.5, resected_fraction=0.9),
    tgsim.TargetedTherapy(start=150.0, stop=300.0, kill_rate=0.08, resistance_rate=0.02),
]


DOSE_DAYS = (30.0, 51.0, 72.0, 93.0)


def scipy_rhs(treated: bool):
    """The same right-hand sides in plain Python for solve_ivp."""

    def rhs(t, v, r, k):
        g = r * v * np.log(k / v)
        if not treated:
            return g
        conc = sum(2.0 ** (-(t - d) / 2.0) for d in DOSE_DAYS if t >= d)
        kill = 0.15 * conc
        if 150.0 <= t < 300.0:
            kill += 0.08 * math.exp(-0.02 * (t - 150.0))
        return g - kill * v

    return rhs


def run_scipy(p, idx, treated: bool, rtol: float, method: str = "RK45"):
    """solve_ivp per subject; when treated, one call per segment between events (so no
    step straddles an event, as in tgsim) with the surgery applied between segments."""
    out = np.empty((idx.size, TIMES.size))
    rhs = scipy_rhs(treated)
    events = [0.0, *DOSE_DAYS, 120.5, 150.0, 300.0, 365.0] if treated else [0.0, 365.0]
    atol = 1e-9 if method == "RK45" else 1e-14
    t0 = time.perf_counter()
    for row, i in enumerate(idx):
        v = np.array([p["initial_volume"][i]])
        r, k = p["growth_rate"][i], p["carrying_capacity"][i]
        for a, b in zip(events[:-1], events[1:], strict=True):
            last = b == events[-1]
            mask = (TIMES >= a) & ((TIMES <= b) if last else (TIMES < b))
            t_eval = np.append(TIMES[mask], b) if not last else TIMES[mask]
            sol = solve_ivp(
                rhs, (a, b), v, method=method, rtol=rtol, atol=atol, t_eval=t_eval, args=(r, k)
            )
            if not sol.success:
                raise RuntimeError(sol.message)
            out[row, mask] = sol.y[0, : mask.sum()]
            v = sol.y[:, -1].copy()
            if b == 120.5:
                v *= 0.1  # surgery: 90 % resected
    return out, (time.perf_counter() - t0) / idx.size


def timed(fn, repeat=3):
    """Best of ``repeat`` calls. The previous result is released before each call, so a
    call reuses memory the process already has rather than faulting in fresh pages while
    an old 80 MB result is still alive (a cost of the benchmark, not of the method)."""
    best = math.inf
    res = None
    for _ in range(repeat):
        res = None
        t0 = time.perf_counter()
        res = fn()
        best = min(best, time.perf_counter() - t0)
    return res, best


def fresh_process_times(block_dask: bool = False) -> tuple[float, float]:
    """`import tgsim` and first simulate() times in fresh processes (best of 3).

    With dask installed, xarray imports it when building its first Dataset (tgsim keeps it
    from importing dask.array, which is what costs); ``block_dask`` measures an
    environment without the dask extra.
    """
    code = (
        ("import sys; sys.modules['dask'] = None;" if block_dask else "")
        + "import time; t=time.perf_counter(); import tgsim; a=time.perf_counter()-t;"
        "t=time.perf_counter(); tgsim.simulate('gompertz', [0.0, 10.0], {'initial_volume': 1.0,"
        " 'growth_rate': 0.1, 'carrying_capacity': 1000.0}); b=time.perf_counter()-t;"
        "print(a, b)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
        ).stdout.split()
        for _ in range(3)
    ]
    return min(float(r[0]) for r in runs), min(float(r[1]) for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--subjects", type=int, default=100_000)
    ap.add_argument("--sample", type=int, default=300, help="subjects timed with scipy")
    args = ap.parse_args()
    n = args.subjects
    p = cohort(n)
    ref = exact(p)
    idx = np.random.default_rng(2).choice(n, size=min(args.sample, n), replace=False)
    import numba

    print(
        f"Gompertz, {n} subjects x {TIMES.size} times over 365 days; "
        f"{numba.get_num_threads()} Numba threads; scipy timed on {idx.size} subjects"
    )
    # warm up (compile) outside the timings
    tgsim.simulate("gompertz", TIMES, {k: v[:2] for k, v in p.items()}, solver="ode", rtol=1e-6)
    tgsim.simulate("gompertz", TIMES, {k: v[:2] for k, v in p.items()}, solver="closed_form")
    tgsim.simulate("gompertz", TIMES, {k: v[:2] for k, v in p.items()}, schedule=SCHEDULE)

    sc, sc_t = run_scipy(p, idx, False, 1e-6)
    sc_err = np.max(np.abs(sc - ref[idx]) / ref[idx])
    rows = [("scipy solve_ivp RK45 rtol 1e-6", sc_t, sc_err, 1.0)]
    for label, kw in (
        ("tgsim ODE (DOPRI5) rtol 1e-6", {"solver": "ode", "rtol": 1e-6, "atol": 1e-9}),
        ("tgsim ODE (DOPRI5) rtol 1e-5", {"solver": "ode", "rtol": 1e-5, "atol": 1e-9}),
        ("tgsim ODE (DOPRI5) rtol 1e-8", {"solver": "ode", "rtol": 1e-8}),
        ("tgsim closed form", {"solver": "closed_form"}),
    ):
        ds, t = timed(lambda kw=kw: tgsim.simulate("gompertz", TIMES, p, **kw))
        err = float(np.max(np.abs(ds.volume.values - ref) / ref))
        ds = None
        rows.append((label, t / n, err, sc_t / (t / n)))
    print(f"\nuntreated{'':34s} {'s/subject':>11} {'max rel err':>12} {'speed-up':>10}")
    for label, per, err, ratio in rows:
        print(f"  {label:<40} {per:11.3e} {err:12.2e} {ratio:9.0f}x")

    # the milder cohort: fewer solve_ivp steps per subject
    pm = cohort(n, seed=3, **MILD)
    refm = exact(pm)
    scm, scm_t = run_scipy(pm, idx, False, 1e-6)
    scm_err = np.max(np.abs(scm - refm[idx]) / refm[idx])
    print("\nuntreated, milder cohort (V0 ~ 30 mm^3, r ~ 0.012/day, K ~ 1000 mm^3)")
    print(f"  {'scipy solve_ivp RK45 rtol 1e-6':<40} {scm_t:11.3e} {scm_err:12.2e} {1:9.0f}x")
    for label, kw in (
        ("tgsim ODE (DOPRI5) rtol 1e-6", {"solver": "ode", "rtol": 1e-6, "atol": 1e-9}),
        ("tgsim closed form", {"solver": "closed_form"}),
    ):
        ds, t = timed(lambda kw=kw: tgsim.simulate("gompertz", TIMES, pm, **kw))
        err = float(np.max(np.abs(ds.volume.values - refm) / refm))
        ds = None
        print(f"  {label:<40} {t / n:11.3e} {err:12.2e} {scm_t / (t / n):9.0f}x")

    # treated: chemotherapy + surgery + waning targeted therapy (ODE path)
    sct, sct_t = run_scipy(p, idx, True, 1e-6)
    tight, _ = run_scipy(p, idx[:50], True, 1e-12, method="DOP853")
    err_sc = float(np.max(np.abs(sct[:50] - tight) / tight))
    print("\ntreated (chemo x4, surgery, waning targeted therapy; ODE path)")
    label = "scipy solve_ivp RK45 rtol 1e-6 (per segment)"
    print(f"  {label:<40} {sct_t:11.3e} {err_sc:12.2e} {1:9.0f}x")
    for rtol in (1e-6, 1e-7):
        ds, t = timed(
            lambda rtol=rtol: tgsim.simulate("gompertz", TIMES, p, schedule=SCHEDULE,
                                             rtol=rtol, atol=1e-9)
        )
        ours = ds.volume.values[idx[:50]]
        ds = None
        err_ours = float(np.max(np.abs(ours - tight) / tight))
        label = f"tgsim ODE (DOPRI5) rtol {rtol:g}"
        print(f"  {label:<40} {t / n:11.3e} {err_ours:12.2e} {sct_t / (t / n):9.0f}x")

    imp, first = fresh_process_times()
    _, first_nodask = fresh_process_times(block_dask=True)
    print(f"\n`import tgsim` in a fresh process: {imp * 1e3:.1f} ms")
    print(f"first simulate() call with a warm kernel cache (fresh process): {first:.3f} s; "
          f"without the dask extra importable: {first_nodask:.3f} s")
    print("(untreated closed-form cohorts run as NumPy array code and need no JIT; the "
          "numbers above include importing xarray, and dask itself when it is installed)")


if __name__ == "__main__":
    main()
