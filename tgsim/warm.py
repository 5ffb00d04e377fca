"""Compile kernels ahead of use (``tgsim compile``): for a classroom image or a cluster node.

Each job's kernels are compiled by running it once on a tiny synthetic problem through
the same code path a real call takes, so the cache entries written are exactly the ones a
later call looks for (one cache serves the CLI and the API).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable, Sequence

import numpy as np

from .engine.catalogue import Model
from .engine.catalogue import model as get_model
from .engine.catalogue import models as list_models
from .engine.kernels.cache import quiet
from .errors import TgsimError

__all__ = ["compile_kernels", "JOB_NAMES"]

#: the jobs ``compile_kernels`` knows, in the order it runs them
JOB_NAMES = ("simulate", "fit", "metastasis")


def _params(mdl: Model) -> dict[str, float]:
    return dict(mdl.parameter_set()) if mdl.parameter_sets else dict(mdl.defaults())


def _simulate(mdl: Model) -> None:
    from .simulation import simulate
    from .treatment import Chemotherapy, Immunotherapy, Surgery, Swelling

    p = _params(mdl)
    t = np.linspace(0.0, 20.0, 5)
    cohort = {k: np.full(8, v) for k, v in p.items()}
    simulate(mdl, t, cohort, solver="ode")  # untreated: SIMD lanes
    simulate(mdl, t, p, schedule=[Chemotherapy(days=[5.0], dose=1.0, half_life_days=1.0,
                                               kill_rate=0.01)], solver="ode")
    simulate(mdl, t, p, schedule=[Immunotherapy(start=5.0, stop=15.0, kill_rate=0.01,
                                                swelling=Swelling(infiltration_rate=0.01,
                                                                  clearance_rate=0.1))])
    if mdl.has_closed_form:
        simulate(mdl, t, p, schedule=[Surgery(day=5.0, resected_fraction=0.1)],
                 solver="closed_form")


def _fit(mdl: Model) -> None:
    from .fitting import fit
    from .simulation import simulate
    from .treatment import Surgery

    p = _params(mdl)
    t = np.linspace(0.0, 30.0, 8)
    vol = simulate(mdl, t, {k: np.full(2, v) for k, v in p.items()}).volume.values
    noise = np.exp(0.05 * np.sin(np.arange(vol.size)).reshape(vol.shape))
    data = (t, vol * noise)
    fit(data, mdl)
    fit(data, mdl, schedule=[Surgery(day=15.0, resected_fraction=0.1)])


def _metastasis(mdl: Model) -> None:
    from .engine.compile import kernels

    k = kernels(mdl, "metastasis")
    n_p = len(mdl.parameters)
    P = np.ascontiguousarray(np.array([[_params(mdl)[q.name] for q in mdl.parameters]]))
    grid = np.linspace(0.0, 10.0, 4)
    out_idx = np.arange(4, dtype=np.int64)
    births = np.zeros(1)
    owner = np.zeros(1, dtype=np.int64)
    assert P.shape == (1, n_p)
    k.metastasis_grow_colonies(0, 1, grid, out_idx, births, owner, P, np.empty((1, 0, 5)),
                               np.empty((1, 0, 5)), np.empty((1, 0, 3)), np.empty((1, 0)),
                               0.0, 1.0, 1e-8, 1e-12, 1000, np.empty((1, 4)), np.empty(1),
                               np.zeros(1, dtype=np.int64))


_RUN = {"simulate": _simulate, "fit": _fit, "metastasis": _metastasis}


def compile_kernels(models: Iterable[str | Model] | None = None,
                    jobs: Sequence[str] = JOB_NAMES, *, verbose: bool = True) -> dict[str, float]:
    """Compile (or load from the cache) every job's kernels for ``models``.

    Parameters
    ----------
    models : iterable of str or Model, optional
        Card names, card paths or models (default: every built-in card).
    jobs : sequence of {"simulate", "fit", "metastasis"}
        Which kernels to build (default: all). ``"fit"`` builds the closed-form and the
        ODE fit kernels.
    verbose : bool
        Print one line per model and job with the time it took.

    Returns
    -------
    dict
        Seconds per ``"model/job"``.
    """
    from .fitting.paths import force_path

    bad = [j for j in jobs if j not in _RUN]
    if bad:
        raise TgsimError(f"unknown job(s) {bad}; choose from {list(JOB_NAMES)}")
    names = list(models) if models is not None else list(list_models())
    took: dict[str, float] = {}
    for name in names:
        mdl = name if isinstance(name, Model) else get_model(name)
        for job in jobs:
            t0 = time.perf_counter()
            # the compiled path even where a small fit would run on NumPy (tgsim.fitting.paths)
            with warnings.catch_warnings(), quiet(), force_path("numba"):
                warnings.simplefilter("ignore")
                _RUN[job](mdl)
            took[f"{mdl.name}/{job}"] = dt = time.perf_counter() - t0
            if verbose:
                print(f"{mdl.name:>20s}  {job:<10s} {dt:6.1f} s", flush=True)
    return took
