"""Benchmark: deterministic metastatic spread for a cohort of primaries.

Work: 1e4 Gompertz primaries with log-normal parameter spread (each its own colony
parameters: colonies grow by the primary's law), simulated on 100 times over 365 days;
metastatic_spread in deterministic mode at those 100 times with 50 diameter bins
(counts by size class, detectable colonies, histogram, burden, time to detection).
A second run gives every primary the same colony parameters (one shared age curve).
Times are the median of ``--repeat`` warm runs (the first call compiles the kernels and
is reported separately).

Run:  python benchmarks/bench_metastasis.py [--subjects 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tgsim.metastasis import MetastasisModel, metastatic_spread
from tgsim.simulation import simulate

TIMES = np.linspace(0.0, 365.0, 100)
BINS_MM = np.geomspace(0.0124, 50.0, 51)  # 50 bins from one cell to 5 cm


def cohort(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "initial_volume": 50.0 * rng.lognormal(0, 0.5, n),
        "growth_rate": 0.01 * rng.lognormal(0, 0.3, n),
        "carrying_capacity": 1e5 * rng.lognormal(0, 0.3, n),
    }


def run(primary, model) -> float:
    t = time.perf_counter()
    res = metastatic_spread(primary, model)
    elapsed = time.perf_counter() - t
    assert int(res.status.max()) == 0
    assert res.size_histogram.shape == (primary.sizes["subject"], TIMES.size, 50)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.subjects
    t = time.perf_counter()
    primary = simulate("gompertz", TIMES, cohort(n))
    t_sim = time.perf_counter() - t
    per_subject = MetastasisModel.iwata2000(size_bins_mm=BINS_MM)
    shared = MetastasisModel.iwata2000(size_bins_mm=BINS_MM, colony_model="gompertz",
                                       colony_params={"growth_rate": 0.01,
                                                      "carrying_capacity": 1e5})
    rows = []
    for label, model in (("per-primary colony curves", per_subject),
                         ("shared colony curve", shared)):
        first = run(primary, model)
        warm = sorted(run(primary, model) for _ in range(max(1, args.repeat)))
        rows.append((label, first, warm[len(warm) // 2]))
    print(f"deterministic spread: {n} primaries x {TIMES.size} times x {BINS_MM.size - 1} bins "
          f"(primary simulation {t_sim:.2f} s)")
    print(f"{'colonies':28s} {'first call (s)':>15s} {'warm median (s)':>16s}")
    for label, first, warm in rows:
        print(f"{label:28s} {first:15.2f} {warm:16.2f}")


if __name__ == "__main__":
    main()
