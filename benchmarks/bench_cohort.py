"""Benchmarks for virtual cohorts: the quick-start experiment and Zarr streaming at scale.

``quickstart``
    ``tgsim run experiments/quickstart.toml`` in a fresh process, first with an empty
    kernel cache (as on a fresh install: every Numba kernel is compiled) and then with
    the cache warm. Target: well under a minute cold.
``stream``
    A Gompertz cohort under a treatment schedule (resection on day 60 and four
    chemotherapy boluses from day 90: the ODE path; ``--schedule closed`` uses surgery and
    a constant-kill targeted therapy instead, which keeps the closed form), 100 output
    times over a year, simulated in chunks of ``--chunk-size`` subjects and streamed to a
    Zarr store. Runs in a child process and reports its wall time and peak resident memory
    (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``: the largest process, so with
    ``--scheduler local`` it is the largest Dask worker or the client). Target: 1e7
    subjects under 2 GB.

Run::

    python benchmarks/bench_cohort.py quickstart
    python benchmarks/bench_cohort.py stream --subjects 10000000 [--scheduler local]
    python benchmarks/bench_cohort.py all

Output stores go to a temporary folder, removed afterwards (``--keep`` keeps them).

Reference run (2 virtual CPUs that give no parallel speed-up over one, 23 GB RAM):
quick start on a fresh install (empty kernel cache) 9.2 s, warm 3.7-6.6 s; 1e7 subjects,
ODE path, chunks of 1e5, in process: 345 s (29,000 subjects/s), peak RSS 545 MiB
(``/usr/bin/time -v``: 558 MB), Zarr store 6.4 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "experiments" / "quickstart.toml"


def _env(cache: str) -> dict[str, str]:
    env = dict(os.environ)
    env["TGSIM_CACHE_DIR"] = cache
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(
        os.pathsep)
    return env


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS of the child in MiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss is the maximum over all children so far (KiB on Linux)
    return wall, max(peak, before) / 1024.0


def bench_quickstart(keep: bool) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="tgsim-bench-qs-"))
    try:
        cache = str(work / "kernels")
        cmd = [sys.executable, "-m", "tgsim", "run", str(QUICKSTART), "--no-progress", "-q"]
        cold, _ = _timed([*cmd, "-o", str(work / "cold")], _env(cache))
        warm, _ = _timed([*cmd, "-o", str(work / "warm")], _env(cache))
        files = sorted(p.name for p in (work / "cold").iterdir())
        print(f"quickstart: cold cache {cold:.1f} s, warm cache {warm:.1f} s; wrote "
              f"{', '.join(files)}")
        return {"quickstart_cold_s": cold, "quickstart_warm_s": warm}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


_STREAM_CHILD = r"""
import json, sys, time
import numpy as np
import tgsim
from tgsim.cohort import simulate_cohort
from tgsim.cohort.virtual import LogNormal, VirtualPopulation

n, chunk, store, schedule, scheduler = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                        sys.argv[4], sys.argv[5])
pop = VirtualPopulation("gompertz", {
    "initial_volume": LogNormal(1000.0, 0.5),       # mm^3
    "growth_rate": LogNormal(0.006, 0.3),           # 1/day
    "carrying_capacity": LogNormal(1.0e5, 0.4)},    # mm^3
    correlation={("growth_rate", "carrying_capacity"): -0.3})
if schedule == "ode":
    sched = [tgsim.Surgery(60.0, 0.9),
             tgsim.Chemotherapy([90.0, 111.0, 132.0, 153.0], dose=1.0, half_life_days=2.0,
                                kill_rate=0.15)]
else:
    sched = [tgsim.Surgery(60.0, 0.9), tgsim.TargetedTherapy(90.0, 365.0, kill_rate=0.02)]
times = np.linspace(0.0, 365.0, 100)
t0 = time.perf_counter()
ds = simulate_cohort("gompertz", times, pop, n, seed=2024, scenarios={"treated": sched},
                     chunk_size=chunk, store=store, scheduler=scheduler, progress=False)
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "solver": str(ds.solver.values[0]),
                  "subjects": int(ds.sizes["subject"]), "times": int(ds.sizes["time"]),
                  "chunks": len(ds.volume.chunks[1]) if ds.volume.chunks else 1,
                  "final_volume_median": float(np.median(ds.volume.isel(
                      scenario=0, time=-1, subject=slice(0, 100000)).values))}))
"""


def bench_stream(n: int, chunk: int, schedule: str, scheduler: str, keep: bool
                 ) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="tgsim-bench-zarr-"))
    cache = os.environ.get("TGSIM_CACHE_DIR") or str(work / "kernels")
    store = work / "cohort.zarr"
    try:
        env = _env(cache)
        # compile outside the measured run so the figure is the streaming itself
        _timed([sys.executable, "-c", _STREAM_CHILD, "1000", "1000", str(work / "w.zarr"),
                schedule, "synchronous"], env)
        cmd = [sys.executable, "-c", _STREAM_CHILD, str(n), str(chunk), str(store), schedule,
               scheduler]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit("streaming benchmark failed")
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        peak = max(peak_kib, before) / 1024.0
        print(f"stream: {n:,} subjects x {info['times']} times, {info['chunks']} chunks of "
              f"{chunk:,}, solver {info['solver']}, scheduler {scheduler}: "
              f"{info['wall_s']:.1f} s in simulate_cohort ({wall:.1f} s with start-up), "
              f"{n / info['wall_s']:,.0f} subjects/s; peak RSS {peak:,.0f} MiB; "
              f"Zarr store {size / 2**30:.2f} GiB")
        return {"stream_subjects": n, "stream_wall_s": info["wall_s"], "stream_peak_mib": peak,
                "stream_store_gib": size / 2**30}
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("which", choices=["quickstart", "stream", "all"], nargs="?", default="all")
    ap.add_argument("--subjects", type=int, default=10_000_000)
    ap.add_argument("--chunk-size", type=int, default=100_000)
    ap.add_argument("--schedule", choices=["ode", "closed"], default="ode")
    ap.add_argument("--scheduler", default="synchronous",
                    help="'synchronous' (in process), 'local' (Dask LocalCluster) or an address")
    ap.add_argument("--keep", action="store_true", help="keep the output folders")
    args = ap.parse_args(argv)
    results: dict[str, float] = {}
    if args.which in ("quickstart", "all"):
        results.update(bench_quickstart(args.keep))
    if args.which in ("stream", "all"):
        results.update(bench_stream(args.subjects, args.chunk_size, args.schedule,
                                    args.scheduler, args.keep))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
