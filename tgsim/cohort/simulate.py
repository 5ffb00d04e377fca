r"""Virtual cohorts: scenario grids, chunked simulation, Dask and Zarr streaming.

Units: days, mm³ (volumes), mm (diameters).

:func:`simulate_cohort` draws ``n`` virtual subjects from a
:class:`~tgsim.cohort.virtual.VirtualPopulation`, simulates each of them under every
:class:`Scenario` (treatment schedule and parameter overrides), optionally scans them
(:class:`~tgsim.cohort.readouts.ScanProtocol`) and computes per-subject read-outs
(:class:`~tgsim.cohort.readouts.ReadoutSettings`). Every scenario sees the *same* subjects (and the
same measurement-error draws), so scenario differences are paired comparisons.

Scale
-----
Subjects are processed in chunks of ``chunk_size`` (default :data:`DEFAULT_CHUNK_SIZE`):
a chunk samples its subjects from the counter-based streams of
:mod:`tgsim.cohort.virtual` (so the results do not depend on the chunking or the thread
count), simulates them with the compiled kernels and returns plain arrays. The chunks
then go

* in process, one after another (``scheduler="synchronous"``), with a progress bar;
  with ``store="cohort.zarr"`` each chunk is appended to the Zarr store as soon as it is
  done, so memory is bounded by the chunk, not the cohort;
* through ``dask.distributed`` (``pip install "tgsim[dask]"``): each chunk is a
  ``dask.delayed`` task and the variables are ``dask.array`` s concatenated over
  ``subject``, written with ``Dataset.to_zarr`` (or computed) on a ``LocalCluster``
  (``scheduler="local"``) or on the cluster at ``scheduler="tcp://host:8786"``. With the
  default ``scheduler=None`` a cohort of more than one chunk uses a LocalCluster when
  Dask is installed, and runs in process otherwise.

The result is identical whichever way the chunks run.

Result layout
-------------
Dims ``scenario, subject, time`` (+ ``param``, ``state``, ``effect``, ``scan``,
``reading``, ``burden_day``, ``definition`` as needed):

* ``volume(scenario, subject, time)`` mm³ — tumour burden; ``observed`` and
  ``swelling`` (mm³) only when a scenario has pseudoprogression swelling (otherwise the
  observed size is the volume); ``state_volume`` for multi-state cards;
* ``parameters(scenario, subject, param)`` — the values used (the population draw with
  the scenario's overrides); ``effects(subject, effect)`` — per-subject treatment
  magnitudes; ``status(scenario, subject)`` — 0 = success (see
  :data:`tgsim.errors.STATUS_MESSAGES`);
* with an observation: ``diameter_mm(scenario, subject, scan)`` (measured) and
  ``true_diameter_mm`` (without error, when there is an error model); coordinate
  ``day(scan)``;
* read-outs per ``reading`` (see :mod:`tgsim.cohort.readouts`) and ``burden(scenario, subject,
  burden_day)`` mm³.

Coordinates on ``scenario``: ``solver``, ``schedule`` (JSON), ``description`` and one
per grid axis (:func:`scenario_grid`).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..engine.kernels.rows import LANES
from ..errors import STATUS_MESSAGES, Status, TgsimError, TgsimWarning, flag_attrs
from ..simulation import check_max_steps, check_times, simulate
from ..treatment import (
    Acceleration,
    Chemotherapy,
    Immunotherapy,
    Radiotherapy,
    Schedule,
    Surgery,
    TargetedTherapy,
)
from .readouts import (
    ReadoutSettings,
    ScanProtocol,
    readings_of,
    readout_chunk,
    readout_layout,
    scan_chunk,
)
from .streams import check_seed
from .virtual import EFFECT_FIELDS, VirtualPopulation

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Scenario",
    "scenario_grid",
    "simulate_cohort",
    "apply_effects",
    "open_cohort",
    "check_observation",
]

#: Subjects per chunk unless told otherwise.
DEFAULT_CHUNK_SIZE: int = 100_000

_SCHEDULERS_IN_PROCESS = ("synchronous", "in-process", "none")


# ----------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Scenario:
    """One arm of an in-silico experiment: a schedule and parameter overrides.

    Parameters
    ----------
    name : str
        Label on the ``scenario`` coordinate.
    schedule : Schedule or list of interventions, optional
        Treatment (see :mod:`tgsim.treatment`); empty = untreated.
    parameters : mapping, optional
        Card parameter -> value replacing the population draw for every subject in this
        scenario (e.g. ``{"carrying_capacity": 5e4}``, mm³); effect parameters
        (``{"immunotherapy.kill_rate": 0.0}``) override the per-subject treatment
        magnitudes in this scenario.
    labels : mapping, optional
        Grid axis -> level (set by :func:`scenario_grid`); each axis becomes a
        coordinate on ``scenario``.
    description : str
        Free text.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> pop = tgsim.VirtualPopulation("gompertz", {
    ...     "initial_volume": tgsim.LogNormal(500.0, 0.5),
    ...     "growth_rate": tgsim.LogNormal(0.03, 0.3), "carrying_capacity": 3e4})
    >>> arms = [tgsim.Scenario("small plateau", parameters={"carrying_capacity": 5e3}),
    ...         tgsim.Scenario("large plateau", parameters={"carrying_capacity": 5e4})]
    >>> ds = tgsim.simulate_cohort("gompertz", np.arange(0.0, 365.0, 7.0), pop, 50, seed=1,
    ...                            scenarios=arms)
    >>> ds.scenario.values.tolist()
    ['small plateau', 'large plateau']
    >>> bool((ds.volume.isel(time=-1).max("subject") <= [5e3, 5e4]).all())
    True
    """

    name: str
    schedule: Any = None
    parameters: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise TgsimError(f"Scenario: `name` must be a non-empty string; got {self.name!r}")
        object.__setattr__(self, "schedule", Schedule.coerce(self.schedule))
        if not isinstance(self.parameters, Mapping):
            raise TgsimError(f"Scenario {self.name!r}: `parameters` must be a mapping; got "
                             f"{self.parameters!r}")
        params = {}
        for k, v in self.parameters.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise TgsimError(f"Scenario {self.name!r}: parameters.{k} must be a finite "
                                 f"number; got {v!r}")
            params[str(k)] = float(v)
        object.__setattr__(self, "parameters", params)
        object.__setattr__(self, "labels", {str(k): str(v) for k, v in self.labels.items()})

    def combine(self, other: Scenario, name: str | None = None) -> Scenario:
        """This scenario and ``other`` together: schedules concatenated, overrides and
        labels merged (a parameter set differently by both is an error)."""
        clash = {k for k in set(self.parameters) & set(other.parameters)
                 if self.parameters[k] != other.parameters[k]}
        if clash:
            raise TgsimError(f"scenarios {self.name!r} and {other.name!r} set "
                             f"{', '.join(sorted(clash))} differently")
        return Scenario(
            name or f"{self.name}/{other.name}",
            self.schedule + other.schedule,
            {**self.parameters, **other.parameters},
            {**self.labels, **other.labels},
            "; ".join(d for d in (self.description, other.description) if d),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "schedule": self.schedule.to_dict(),
                "parameters": dict(self.parameters), "labels": dict(self.labels),
                "description": self.description}


def _as_scenario(name: str, value: Any) -> Scenario:
    if isinstance(value, Scenario):
        return replace(value, name=name) if value.name != name else value
    return Scenario(name, value)


def scenario_grid(axes: Mapping[str, Mapping[str, Any]], *, common: Any = None,
                  separator: str = "/") -> list[Scenario]:
    """Every combination of the levels of several axes.

    Parameters
    ----------
    axes : mapping
        Axis name -> {level name -> Scenario, Schedule, list of interventions or None}.
        A level's schedule and parameter overrides are added to those of the other axes.
    common : Scenario, Schedule or list, optional
        Added to every combination (e.g. the therapy all arms receive).
    separator : str
        Joins the level names into the scenario name.

    Returns
    -------
    list of Scenario
        In row-major order of the axes; each carries ``labels`` {axis: level}, which
        :func:`simulate_cohort` turns into coordinates on ``scenario``.

    Examples
    --------
    >>> import tgsim
    >>> grid = scenario_grid({
    ...     "surgery": {"day30": [tgsim.Surgery(30, 0.95)], "day60": [tgsim.Surgery(60, 0.95)]},
    ...     "acceleration": {"none": None, "x2": [tgsim.Acceleration(onset_day=0, factor=2)]},
    ... })
    >>> [s.name for s in grid]
    ['day30/none', 'day30/x2', 'day60/none', 'day60/x2']
    """
    if not isinstance(axes, Mapping) or not axes:
        raise TgsimError("`axes` must be a non-empty mapping of axis name to levels")
    combos: list[Scenario] = [Scenario("_", common if not isinstance(common, Scenario)
                                       else common.schedule,
                                       common.parameters if isinstance(common, Scenario) else {})]
    for axis, levels in axes.items():
        if not isinstance(levels, Mapping) or not levels:
            raise TgsimError(f"`axes[{axis!r}]` must be a non-empty mapping of level name to "
                             f"schedule; got {levels!r}")
        new = []
        for c in combos:
            for level, value in levels.items():
                s = _as_scenario(str(level), value)
                s = replace(s, labels={**s.labels, axis: str(level)})
                name = str(level) if c.name == "_" else f"{c.name}{separator}{level}"
                new.append(c.combine(s, name=name))
        combos = new
    return combos


def _coerce_scenarios(scenarios: Any) -> list[Scenario]:
    if scenarios is None:
        return [Scenario("untreated")]
    if isinstance(scenarios, Scenario):
        return [scenarios]
    if isinstance(scenarios, Schedule):
        return [Scenario("treated", scenarios)]
    if isinstance(scenarios, Mapping):
        out = [_as_scenario(str(k), v) for k, v in scenarios.items()]
    elif isinstance(scenarios, Iterable) and not isinstance(scenarios, str):
        out = []
        for s in scenarios:
            if not isinstance(s, Scenario):
                raise TgsimError("`scenarios` must be Scenario objects, a mapping name -> "
                                 f"schedule, or a Schedule; got {s!r}")
            out.append(s)
    else:
        raise TgsimError(f"`scenarios` must be a list of Scenario, a mapping name -> schedule "
                         f"or a Schedule; got {scenarios!r}")
    if not out:
        raise TgsimError("`scenarios` is empty")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise TgsimError(f"scenario names must be unique; {', '.join(map(repr, dup))} repeated")
    return out


# ------------------------------------------------------------------------ effects
_EFFECT_TYPES: dict[str, type] = {
    "surgery": Surgery,
    "radiotherapy": Radiotherapy,
    "chemotherapy": Chemotherapy,
    "targeted": TargetedTherapy,
    "immunotherapy": Immunotherapy,
    "acceleration": Acceleration,
}


def apply_effects(schedule: Schedule, effects: Mapping[str, np.ndarray]) -> Schedule:
    """Substitute per-subject effect parameters into every matching intervention.

    ``effects`` maps ``"<intervention>.<field>"`` (``immunotherapy.kill_rate``,
    ``immunotherapy.swelling.infiltration_rate``, ``chemotherapy.acceleration.factor``)
    to one value per subject; see :data:`tgsim.cohort.virtual.EFFECT_FIELDS`. Interventions
    are matched by exact type (``targeted`` does not match an Immunotherapy).
    """
    if not effects:
        return schedule
    items = []
    for x in schedule:
        table = next((k for k, t in _EFFECT_TYPES.items() if type(x) is t), None)
        mine = {k.partition(".")[2]: v for k, v in effects.items()
                if k.partition(".")[0] == table}
        if mine:
            direct = {k: v for k, v in mine.items() if "." not in k}
            nested: dict[str, dict[str, Any]] = {}
            for k, v in mine.items():
                if "." in k:
                    sub, _, f = k.partition(".")
                    nested.setdefault(sub, {})[f] = v
            for sub, vals in nested.items():
                cur = getattr(x, sub, None)
                if cur is None:
                    continue  # this intervention has no swelling/acceleration to vary
                direct[sub] = replace(cur, **vals)
            x = replace(x, **direct)
        items.append(x)
    return Schedule(items)


# ----------------------------------------------------------------------------- plan
@dataclass
class _Var:
    dims: tuple[str, ...]
    dtype: Any
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Plan:
    """Everything a chunk needs (picklable: sent to Dask workers)."""

    model_path: str
    times: np.ndarray
    t0: float
    population: VirtualPopulation
    seed: int
    n: int
    scenarios: list[Scenario]
    solvers: list[str]
    rtol: float
    atol: float
    max_steps: int
    observation: ScanProtocol | None
    readouts: ReadoutSettings | None
    scan_days: np.ndarray | None
    readings: tuple[str, ...]
    swelling: bool
    n_states: int
    burden_index: np.ndarray
    numba_threads: int | None = None

    def sizes(self, nb: int) -> dict[str, int]:
        mdl = get_model(self.model_path)
        return {
            "scenario": len(self.scenarios), "subject": nb, "time": self.times.size,
            "param": len(mdl.parameters), "state": self.n_states,
            "effect": len(self.population.effect_names),
            "scan": 0 if self.scan_days is None else self.scan_days.size,
            "reading": len(self.readings), "burden_day": self.burden_index.size,
            "definition": len(self.readouts.hyperprogression) if self.readouts else 0,
        }

    def layout(self) -> dict[str, _Var]:
        """Every data variable of the result: dims, dtype, attrs."""
        S, T = ("scenario", "subject"), ("scenario", "subject", "time")
        out: dict[str, _Var] = {
            "volume": _Var(T, np.float64, {"units": "mm^3", "long_name": "tumour volume"}),
        }
        if self.swelling:
            out["observed"] = _Var(T, np.float64, {
                "units": "mm^3", "long_name": "observed size (tumour + swelling)"})
            out["swelling"] = _Var(T, np.float64, {
                "units": "mm^3", "long_name": "treatment-induced swelling"})
        if self.n_states > 1:
            out["state_volume"] = _Var((*T, "state"), np.float64, {
                "units": "mm^3", "long_name": "volume by compartment"})
        out["parameters"] = _Var((*S, "param"), np.float64, {
            "long_name": "model parameters (population draw with scenario overrides)"})
        if self.population.effect_names:
            out["effects"] = _Var(("subject", "effect"), np.float64, {
                "long_name": "per-subject treatment magnitudes (units as in tgsim.treatment)"})
        out["status"] = _Var(S, np.int8, flag_attrs())
        if self.burden_index.size:
            out["burden"] = _Var((*S, "burden_day"), np.float64, {
                "units": "mm^3", "long_name": "tumour volume on the burden days"})
        if self.scan_days is not None:
            out["diameter_mm"] = _Var((*S, "scan"), np.float64, {
                "units": "mm", "long_name": "measured longest diameter (0 if not seen)"})
            if self.observation is not None and self.observation.error is not None:
                out["true_diameter_mm"] = _Var((*S, "scan"), np.float64, {
                    "units": "mm",
                    "long_name": "longest diameter without measurement error (0 if not seen)"})
            if self.readouts is not None:
                for k, v in readout_layout(self.readouts, True).items():
                    out[k] = _Var(v.dims, v.dtype, v.attrs)
        return out


def _scenario_values(mdl: Model, sc: Scenario, card: Mapping[str, np.ndarray],
                     effects: Mapping[str, np.ndarray], nb: int):
    """Card parameters and effect parameters of one scenario (draws with its overrides)."""
    params = dict(card)
    eff = dict(effects)
    for k, v in sc.parameters.items():
        if "." in k:
            eff[k] = np.full(nb, v)
        else:
            params[mdl.parameter(k).name] = np.full(nb, v)
    return params, eff


def _run_chunk(plan: _Plan, start: int, stop: int) -> dict[str, np.ndarray]:
    """Simulate, scan and read out subjects ``start .. stop-1``: plain arrays."""
    if plan.numba_threads:
        import numba

        numba.set_num_threads(min(plan.numba_threads, numba.config.NUMBA_NUM_THREADS))
    mdl = get_model(plan.model_path)
    nb = stop - start
    sizes = plan.sizes(nb)
    layout = plan.layout()
    out = {k: np.zeros(tuple(sizes[d] for d in v.dims), dtype=v.dtype) for k, v in layout.items()}
    # simulate from and to multiples of the lane width: the groups of subjects that the
    # untreated ODE kernels integrate together are fixed by subject index, so a group cut
    # by a chunk boundary is simulated whole (by both chunks; the extra rows are dropped)
    # and the results do not depend on the chunk size
    a0 = start - start % LANES
    b0 = min(plan.n, -(-stop // LANES) * LANES)
    keep = slice(start - a0, start - a0 + nb)
    draw = plan.population.sample_arrays(a0, b0, plan.seed)
    card = {p: draw[p] for p in mdl.parameter_names}
    effects = {k: draw[k] for k in plan.population.effect_names}
    if effects:
        out["effects"][:] = np.stack([effects[k][keep] for k in plan.population.effect_names],
                                     1)
    ns = len(mdl.states)
    for i, sc in enumerate(plan.scenarios):
        params, eff = _scenario_values(mdl, sc, card, effects, b0 - a0)
        sched = apply_effects(sc.schedule, eff)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TgsimWarning)
            ds = simulate(mdl, plan.times, params, schedule=sched, t0=plan.t0,
                          solver=plan.solvers[i], rtol=plan.rtol, atol=plan.atol,
                          max_steps=plan.max_steps)
        vol = ds["volume"].values[keep]
        out["volume"][i] = vol
        out["parameters"][i] = ds["parameters"].values[keep]
        out["status"][i] = ds["status"].values[keep]
        if ns > 1:
            out["state_volume"][i] = ds["state_volume"].values[keep]
        observed = None
        if plan.swelling:  # some scenario has swelling: keep observed for all of them
            observed = ds["observed"].values[keep] if "observed" in ds else vol
            out["observed"][i] = observed
            if "swelling" in ds:
                out["swelling"][i] = ds["swelling"].values[keep]
        if plan.burden_index.size:
            out["burden"][i] = vol[:, plan.burden_index]
        if plan.scan_days is None:
            continue
        failed = ds["status"].values != 0
        if failed.any():  # a failed subject is not scanned: its read-outs are not evaluable
            vol = np.where(failed[:, None], np.nan, vol)
            observed = None if observed is None else np.where(failed[:, None], np.nan, observed)
        scans = scan_chunk(plan.observation, plan.times, vol, observed, plan.seed, start)
        out["diameter_mm"][i] = scans["diameter_mm"]
        if "true_diameter_mm" in out:
            out["true_diameter_mm"][i] = scans["true_diameter_mm"]
        if plan.readouts is None:
            continue
        for r, (_, diam) in enumerate(readings_of(scans).items()):
            res = readout_chunk(plan.readouts, plan.observation, plan.scan_days, diam)
            for k, v in res.items():
                out[k][i, :, r] = v
    return out


def _coords(plan: _Plan, start: int, stop: int) -> dict[str, Any]:
    mdl = get_model(plan.model_path)
    c: dict[str, Any] = {
        "scenario": [s.name for s in plan.scenarios],
        "subject": ("subject", np.arange(start, stop, dtype=np.int64),
                    {"long_name": "virtual subject index"}),
        "time": ("time", plan.times, {"units": "day", "long_name": "time"}),
        "param": list(mdl.parameter_names),
        "param_unit": ("param", [p.unit for p in mdl.parameters]),
        "solver": ("scenario", list(plan.solvers)),
        "schedule": ("scenario", [json.dumps(s.schedule.to_dict()) for s in plan.scenarios],
                     {"long_name": "treatment schedule (JSON)"}),
        "description": ("scenario", [s.description for s in plan.scenarios]),
    }
    axes: list[str] = []
    for s in plan.scenarios:
        axes += [a for a in s.labels if a not in axes]
    for a in axes:
        name = a if a not in c else f"{a}_level"
        c[name] = ("scenario", [s.labels.get(a, "") for s in plan.scenarios],
                   {"long_name": f"scenario grid axis {a!r}"})
    if plan.n_states > 1:
        c["state"] = list(mdl.states)
    if plan.population.effect_names:
        c["effect"] = list(plan.population.effect_names)
    if plan.scan_days is not None:
        c["scan"] = np.arange(plan.scan_days.size)
        c["day"] = ("scan", plan.scan_days, {"units": "day", "long_name": "scan day"})
        if plan.readings:
            c["reading"] = list(plan.readings)
    if plan.burden_index.size:
        c["burden_day"] = ("burden_day", plan.times[plan.burden_index], {"units": "day"})
    if plan.readouts is not None and plan.readouts.hyperprogression and plan.scan_days is not None:
        c["definition"] = list(plan.readouts.hyperprogression)
    return c


def _attrs(plan: _Plan) -> dict[str, Any]:
    mdl = get_model(plan.model_path)
    refs = "; ".join(r.get("citation", "") for r in mdl.references)
    attrs: dict[str, Any] = {
        "title": "tgsim virtual cohort",
        "model": mdl.name,
        "model_title": mdl.title,
        "card_hash": mdl.card_hash,
        "card_path": mdl.path,
        "tgsim_version": __version__,
        "seed": str(plan.seed),
        "n_subjects": int(plan.n),
        "t0": float(plan.t0),
        "t0_units": "day",
        "rtol": float(plan.rtol),
        "atol": float(plan.atol),
        "max_steps": int(plan.max_steps),
        "population": plan.population.to_json(),
        "scenarios": json.dumps([s.to_dict() for s in plan.scenarios]),
        "citation": refs,
        "status_messages": json.dumps({Status(k).name.lower(): v
                                       for k, v in STATUS_MESSAGES.items()}),
    }
    if plan.observation is not None:
        attrs["observation"] = json.dumps(plan.observation.to_dict())
    if plan.readouts is not None:
        attrs["readouts"] = json.dumps(plan.readouts.to_dict())
    return attrs


def _chunk_dataset(plan: _Plan, arrays: Mapping[str, np.ndarray], start: int, stop: int,
                   *, with_attrs: bool = True):
    import xarray as xr

    layout = plan.layout()
    data = {k: (v.dims, arrays[k], v.attrs) for k, v in layout.items()}
    return xr.Dataset(data, coords=_coords(plan, start, stop),
                      attrs=_attrs(plan) if with_attrs else {})


def _choose_solvers(mdl: Model, plan_times: np.ndarray, t0: float, population: VirtualPopulation,
                    seed: int, scenarios: list[Scenario], solver: str | None) -> list[str]:
    """One solver per scenario, the same for every chunk (chunking must not change it)."""
    draw = population.sample_arrays(0, 1, seed)
    card = {p: draw[p] for p in mdl.parameter_names}
    effects = {k: draw[k] for k in population.effect_names}
    varying = {k.rsplit(".", 1)[-1] for k in population.effect_names
               if population.distribution(k) is not None and population.distribution(k).is_random}
    out = []
    for sc in scenarios:
        params, eff = _scenario_values(mdl, sc, card, effects, 1)
        sched = apply_effects(sc.schedule, eff)
        if solver is None and varying & {"resistance_rate", "ramp_days"}:
            chosen = "ode"  # a per-subject resistance or ramp can break the closed form
        else:
            try:
                ds = simulate(mdl, plan_times, params, schedule=sched, t0=t0, solver=solver)
            except TgsimError as exc:
                raise TgsimError(f"scenario {sc.name!r}: {exc}") from None
            chosen = str(ds.attrs["solver"])
        out.append(chosen)
    return out


def _table_name(obj: Any) -> str:
    return next((k for k, t in _EFFECT_TYPES.items() if type(obj) is t),
                type(obj).__name__.lower())


def _check_shared_schedule(sc: Scenario) -> None:
    """Scenario schedules hold one value per field (every subject shares it); per-subject
    magnitudes come from the population's effect parameters, drawn chunk by chunk."""
    from dataclasses import fields as dc_fields

    def check(obj: Any, label: str) -> None:
        for f in dc_fields(obj):
            v = getattr(obj, f.name)
            if f.name == "days" or v is None or isinstance(v, str | bool):
                continue
            if hasattr(v, "__dataclass_fields__"):
                check(v, f"{label}.{f.name}")
            elif np.size(v) > 1:
                raise TgsimError(
                    f"scenario {sc.name!r}: {label}.{f.name} has {np.size(v)} values; in a "
                    "cohort every subject shares a scenario's schedule. Give per-subject "
                    "values as population effect parameters (e.g. "
                    f"'{_table_name(obj)}.{f.name}' with a distribution)"
                )

    for x in sc.schedule:
        check(x, x.label)


def check_observation(times: np.ndarray, observation: ScanProtocol | None,
                      readouts: ReadoutSettings | None) -> tuple[np.ndarray | None, np.ndarray]:
    """Check that the scans and read-outs fit the simulated ``times`` (days).

    Returns the scan days (None without an observation) and the indices of the burden
    days in ``times``. Raises :class:`~tgsim.errors.TgsimError` for read-outs without
    scans, no scan after the baseline, hyperprogression without a pre-treatment scan, or
    a burden day that is not a simulated time.
    """
    scan_days = observation.scan_days(times) if observation is not None else None
    if readouts is not None and readouts.needs_scans:
        if observation is None:
            raise TgsimError("read-outs recist/irecist/threshold_growth/hyperprogression need "
                             "an `observation` (scan schedule)")
        b = observation.baseline_index(scan_days)
        if b == scan_days.size - 1:
            raise TgsimError(f"no scan after the baseline (day {scan_days[b]:g}); extend the "
                             "times or the scan schedule")
        if b == 0 and set(readouts.hyperprogression) - {"matos2020"}:
            raise TgsimError("hyperprogression needs a scan before the baseline (a reference "
                             f"period); the first scan is the baseline, day {scan_days[0]:g}")
    burden = np.empty(0, dtype=np.int64)
    if readouts is not None and readouts.burden_days:
        idx = []
        for d in readouts.burden_days:
            hit = np.flatnonzero(np.isclose(times, d, rtol=0, atol=1e-9 * max(1.0, abs(d))))
            if hit.size == 0:
                raise TgsimError(f"burden day {d:g} is not one of the simulated times; add it "
                                 "to `times`")
            idx.append(int(hit[0]))
        burden = np.array(idx, dtype=np.int64)
    return scan_days, burden


def _plan(model: Any, times: Any, population: Any, n: Any, *, seed: Any, scenarios: Any,
          t0: Any, solver: Any, rtol: float, atol: float, max_steps: int,
          observation: ScanProtocol | None, readouts: ReadoutSettings | None) -> _Plan:
    from .virtual import _count

    mdl = get_model(model)
    t = check_times(times)
    max_steps = check_max_steps(max_steps)
    if t0 is None:
        t0 = float(t[0])
    else:
        if isinstance(t0, bool) or not isinstance(t0, int | float) or not math.isfinite(t0):
            raise TgsimError(f"`t0` must be a finite number (days); got {t0!r}")
        t0 = float(t0)
        if t[0] < t0:
            raise TgsimError(f"every time must be >= t0; got times[0]={t[0]:g} < t0={t0:g}")
    if isinstance(population, VirtualPopulation):
        if population.model.card_hash != mdl.card_hash:
            raise TgsimError(f"`population` is for model {population.model.name!r}, not "
                             f"{mdl.name!r}")
        pop = population
    elif isinstance(population, Mapping):
        pop = VirtualPopulation(mdl, population)
    else:
        raise TgsimError("`population` must be a tgsim.VirtualPopulation or a mapping of parameter "
                         f"name to distribution; got {population!r}")
    n = _count(n, "n")
    seed = check_seed(seed)
    scen = _coerce_scenarios(scenarios)
    for sc in scen:
        for k in sc.parameters:
            if "." in k:
                table, _, fld = k.partition(".")
                if table not in EFFECT_FIELDS or fld not in EFFECT_FIELDS[table]:
                    raise TgsimError(f"scenario {sc.name!r}: unknown effect parameter {k!r} "
                                     "(see tgsim.cohort.virtual.EFFECT_FIELDS)")
                continue
            try:
                mdl.parameter(k)
            except KeyError as exc:
                raise TgsimError(f"scenario {sc.name!r}: {exc.args[0]}") from None
    if observation is not None and not isinstance(observation, ScanProtocol):
        raise TgsimError(f"`observation` must be a tgsim.cohort.readouts.ScanProtocol; "
                         f"got {observation!r}")
    if readouts is not None and not isinstance(readouts, ReadoutSettings):
        raise TgsimError(f"`readouts` must be a tgsim.cohort.readouts.Readouts; got {readouts!r}")
    for sc in scen:
        _check_shared_schedule(sc)
    scan_days, burden = check_observation(t, observation, readouts)
    swelling = any(isinstance(x, Immunotherapy) and x.swelling is not None
                   for sc in scen for x in sc.schedule)
    readings: tuple[str, ...] = ()
    if readouts is not None and readouts.needs_scans:
        readings = ("measured",)
        if observation.error is not None:
            readings += ("error_free",)
        if swelling:
            readings += ("tumour",)
    solvers = _choose_solvers(mdl, t, t0, pop, seed, scen, solver)
    return _Plan(
        model_path=mdl.path, times=t, t0=t0, population=pop, seed=seed, n=n, scenarios=scen,
        solvers=solvers, rtol=float(rtol), atol=float(atol), max_steps=int(max_steps),
        observation=observation, readouts=readouts, scan_days=scan_days, readings=readings,
        swelling=swelling, n_states=len(mdl.states), burden_index=burden,
    )


# ---------------------------------------------------------------------- running
def have_dask() -> bool:
    """Whether ``dask.distributed`` is installed (the ``dask`` extra)."""
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def have_zarr() -> bool:
    """Whether the zarr package is installed (the ``dask`` extra)."""
    try:
        import zarr  # noqa: F401
    except ImportError:
        return False
    return True


def _bounds(n: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk_size, n)) for a in range(0, n, chunk_size)]


def _encoding(plan: _Plan, chunk_size: int) -> dict[str, dict[str, Any]]:
    sizes = plan.sizes(chunk_size)
    return {k: {"chunks": tuple(sizes[d] if d != "subject" else chunk_size for d in v.dims)}
            for k, v in plan.layout().items()}


def open_cohort(path: str | os.PathLike[str]) -> xr.Dataset:
    """Open a cohort written by :func:`simulate_cohort` (``.zarr`` lazily, ``.nc`` in
    memory).

    Examples
    --------
    >>> import os, tempfile, numpy as np, tgsim
    >>> pop = {"initial_volume": tgsim.LogNormal(100.0, 0.3), "growth_rate": 0.02}
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     store = os.path.join(tmp, "cohort.zarr")
    ...     _ = tgsim.simulate_cohort("exponential", [0.0, 30.0, 60.0], pop, 20, seed=1,
    ...                               store=store)
    ...     ds = tgsim.open_cohort(store)
    ...     print(dict(ds.volume.sizes), ds.volume.attrs["units"])
    {'scenario': 1, 'subject': 20, 'time': 3} mm^3
    """
    import xarray as xr

    p = os.fspath(path)
    if p.endswith(".zarr") or os.path.isdir(p):
        if have_dask():
            return xr.open_zarr(p)
        return xr.open_dataset(p, engine="zarr", chunks=None)
    return xr.load_dataset(p)


def simulate_cohort(
    model: str | Model,
    times: Sequence[float] | np.ndarray,
    population: VirtualPopulation | Mapping[str, Any],
    n: int,
    *,
    seed: int | None = None,
    scenarios: Any = None,
    t0: float | None = None,
    solver: str | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    max_steps: int = 100_000,
    observation: ScanProtocol | None = None,
    readouts: ReadoutSettings | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    store: str | os.PathLike[str] | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Simulate a virtual cohort under one or more scenarios.

    Parameters
    ----------
    model : str or Model
        Card name, card path or Model.
    times : array_like
        Output times (days), strictly increasing.
    population : Population or mapping
        The virtual population (a mapping is passed to :class:`VirtualPopulation`).
    n : int
        Number of subjects.
    seed : int, optional
        Seed of every random draw (parameters and measurement error). ``None`` draws one
        and records it in ``attrs["seed"]``.
    scenarios : list of Scenario, mapping name -> schedule, Schedule or None
        The arms (default: one untreated scenario). See :func:`scenario_grid`.
    t0 : float, optional
        Day at which ``initial_volume`` holds (default ``times[0]``).
    solver, rtol, atol, max_steps
        As in :func:`tgsim.simulate`; the solver is chosen once per scenario.
    observation : ScanProtocol, optional
        Scan schedule, measurement error and detection limit.
    readouts : ReadoutSettings, optional
        Per-subject read-outs (RECIST, iRECIST, threshold growth, hyperprogression,
        burden); see :func:`tgsim.cohort.readouts.summarise_cohort` for the cohort rates.
    chunk_size : int
        Subjects per chunk (memory is about ``chunk_size x n_scenarios x n_times x 8``
        bytes per variable). Does not change the results.
    store : path, optional
        A ``.zarr`` path to stream the result to (must not exist); the Dataset returned is
        then opened lazily from it. Default: in memory.
    scheduler : str, optional
        ``None``: in process for one chunk, else a Dask LocalCluster when Dask is
        installed; ``"synchronous"``: in process; ``"local"``: a new LocalCluster; any
        other string: the address of a running ``dask.distributed`` scheduler.
    progress : bool, optional
        Show a progress bar (default: when there is more than one chunk and the output is
        a terminal).

    Returns
    -------
    xarray.Dataset
        See the module documentation for the layout.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> from tgsim.cohort.virtual import LogNormal, VirtualPopulation
    >>> pop = VirtualPopulation("gompertz", {"initial_volume": LogNormal(500, 0.5),
    ...                               "growth_rate": LogNormal(0.03, 0.3),
    ...                               "carrying_capacity": 3e4})
    >>> ds = simulate_cohort("gompertz", np.arange(0, 91, 7.0), pop, 100, seed=1,
    ...     scenarios={"untreated": None, "surgery": [tgsim.Surgery(28, 0.9)]})
    >>> ds.volume.dims
    ('scenario', 'subject', 'time')
    """
    from .virtual import _count

    chunk_size = _count(chunk_size, "chunk_size")
    plan = _plan(model, times, population, n, seed=seed, scenarios=scenarios, t0=t0,
                 solver=solver, rtol=rtol, atol=atol, max_steps=max_steps,
                 observation=observation, readouts=readouts)
    _check_budget(plan, chunk_size, store)
    bounds = _bounds(plan.n, chunk_size)
    mode = _scheduler_mode(scheduler, len(bounds))
    if store is not None:
        store = os.fspath(store)
        if not have_zarr():
            raise TgsimError("`store` needs the zarr package: pip install 'tgsim[dask]' "
                             "(dask[distributed], zarr)")
        if os.path.exists(store):
            raise TgsimError(f"`store` {store!r} already exists; choose a new path")
    if mode == "synchronous":
        ds = _run_in_process(plan, bounds, chunk_size, store, progress)
    else:
        ds = _run_dask(plan, bounds, chunk_size, store, mode, progress)
    _warn_failures(ds)
    return ds


def _check_budget(plan: _Plan, chunk_size: int, store: Any) -> None:
    """Refuse a run whose result, chunks or task count exceed :mod:`tgsim.limits`."""
    from ..limits import check_bytes, check_count

    def nbytes(nb: int) -> float:
        sizes = plan.sizes(nb)
        return sum(math.prod(float(sizes[d]) for d in v.dims) * np.dtype(v.dtype).itemsize
                   for v in plan.layout().values())

    n_chunks = -(-plan.n // chunk_size)
    shape = f"{plan.n} subject(s) x {len(plan.scenarios)} scenario(s) x {plan.times.size} time(s)"
    check_count("chunks", n_chunks, f"the number of chunks for {plan.n} subject(s) in chunks "
                f"of {chunk_size}", "use fewer subjects or a larger chunk_size")
    check_bytes(nbytes(min(chunk_size, plan.n)), f"one chunk of {min(chunk_size, plan.n)} "
                "subject(s)", "use a smaller chunk_size ([cohort] chunk_size)")
    if store is None:
        check_bytes(nbytes(plan.n), f"the cohort result ({shape})",
                    "stream it to Zarr (store='cohort.zarr'; [output] dataset = 'cohort.zarr' "
                    "in an experiment file), or use fewer subjects, times or outputs")
    else:
        parent = os.path.dirname(os.path.abspath(os.fspath(store)))
        check_bytes(nbytes(plan.n), f"the Zarr store ({shape})",
                    "use fewer subjects, times or outputs", disk=parent)


def _to_zarr(ds: Any, store: str, **kwargs: Any) -> Any:
    """``Dataset.to_zarr`` in the Zarr v2 format (portable: fixed-width strings have no v3
    specification yet), with consolidated metadata."""
    try:
        return ds.to_zarr(store, zarr_format=2, consolidated=True, **kwargs)
    except TypeError as exc:  # xarray before 2024.10 has no zarr_format (and writes v2)
        if "zarr_format" not in str(exc):
            raise
        return ds.to_zarr(store, consolidated=True, **kwargs)


def _scheduler_mode(scheduler: str | None, n_chunks: int) -> str:
    if scheduler is None or scheduler == "auto":
        return "local" if n_chunks > 1 and have_dask() else "synchronous"
    if not isinstance(scheduler, str) or not scheduler:
        raise TgsimError(f"`scheduler` must be None, 'synchronous', 'local' or a scheduler "
                         f"address; got {scheduler!r}")
    if scheduler in _SCHEDULERS_IN_PROCESS:
        return "synchronous"
    m = _ADDRESS.fullmatch(scheduler)
    if m is None:
        raise TgsimError(f"`scheduler` must be 'synchronous', 'local' or a scheduler address "
                         f"such as tcp://host:8786; got {scheduler!r}")
    if m.group("port") and not 0 < int(m.group("port")) < 65536:
        raise TgsimError(f"`scheduler` address {scheduler!r} has a port outside 1-65535")
    if not have_dask():
        raise TgsimError(f"`scheduler`={scheduler!r} needs dask.distributed: "
                         "pip install 'tgsim[dask]' (dask[distributed], zarr)")
    return scheduler


#: a dask.distributed scheduler address: [protocol://]host:port (host: a name, an IPv4
#: address or a bracketed IPv6 address)
_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?"
                      r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
                      r":(?P<port>[0-9]{1,5})|inproc://\S+")


def _progress_enabled(progress: bool | None, n_chunks: int) -> bool | None:
    if progress is None:
        return None if n_chunks > 1 else False  # tqdm: None = only on a terminal
    return bool(progress)


def _run_in_process(plan: _Plan, bounds: list[tuple[int, int]], chunk_size: int,
                    store: str | None, progress: bool | None):
    import xarray as xr
    from tqdm.auto import tqdm

    flag = _progress_enabled(progress, len(bounds))
    bar = tqdm(total=plan.n, unit="subject", desc="cohort",
               disable=None if flag is None else not flag, leave=False)
    parts = []
    try:
        for k, (a, b) in enumerate(bounds):
            arrays = _run_chunk(plan, a, b)
            part = _chunk_dataset(plan, arrays, a, b, with_attrs=(k == 0 or store is not None))
            if store is None:
                parts.append(part)
            elif k == 0:
                _to_zarr(part, store, mode="w-", encoding=_encoding(plan, chunk_size))
            else:
                keep = [v for v in part.variables if "subject" in part[v].dims]
                _to_zarr(part[keep], store, append_dim="subject")
            bar.update(b - a)
    except BaseException:
        if store is not None:
            shutil.rmtree(store, ignore_errors=True)
        raise
    finally:
        bar.close()
    if store is not None:
        return open_cohort(store)
    ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="subject", data_vars="minimal",
                                                    coords="minimal", compat="override",
                                                    join="override")
    ds.attrs = _attrs(plan)
    return ds


def _run_dask(plan: _Plan, bounds: list[tuple[int, int]], chunk_size: int, store: str | None,
              mode: str, progress: bool | None):
    import dask
    import dask.array as da
    import xarray as xr
    from distributed import Client, LocalCluster
    from distributed import progress as show_progress

    layout = plan.layout()
    cluster = None
    if mode == "local":
        workers = max(1, min(len(bounds), os.cpu_count() or 1))
        plan = replace(plan, numba_threads=max(1, (os.cpu_count() or 1) // workers))
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster, set_as_default=False)
    else:
        try:
            client = Client(mode, set_as_default=False, timeout=30)
        except OSError as exc:
            raise TgsimError(f"cannot reach the dask scheduler at {mode!r}: {exc}") from None
    try:
        plan_d = dask.delayed(plan, pure=True, traverse=False)
        pieces = [dask.delayed(_run_chunk, pure=True)(plan_d, a, b) for a, b in bounds]
        data = {}
        for name, v in layout.items():
            arrays = []
            for (a, b), piece in zip(bounds, pieces, strict=True):
                shape = tuple(plan.sizes(b - a)[d] for d in v.dims)
                arrays.append(da.from_delayed(piece[name], shape=shape, dtype=v.dtype))
            axis = v.dims.index("subject")
            data[name] = (v.dims, da.concatenate(arrays, axis=axis), v.attrs)
        ds = xr.Dataset(data, coords=_coords(plan, 0, plan.n), attrs=_attrs(plan))
        flag = _progress_enabled(progress, len(bounds))
        if store is not None:
            job = _to_zarr(ds, store, mode="w-", encoding=_encoding(plan, chunk_size),
                           compute=False)
            future = client.compute(job)
            if flag:
                show_progress(future)
            try:
                future.result()
            except BaseException:
                shutil.rmtree(store, ignore_errors=True)
                raise
            return open_cohort(store)
        future = client.compute(ds)
        if flag:
            show_progress(future)
        out = future.result()
        out.attrs = _attrs(plan)
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _warn_failures(ds) -> None:
    status = np.asarray(ds["status"].values)
    bad = int(np.sum(status != 0))
    if bad:
        codes, counts = np.unique(status[status != 0], return_counts=True)
        what = "; ".join(f"{c} x {STATUS_MESSAGES[int(k)]}" for k, c in zip(codes, counts,
                                                                          strict=True))
        warnings.warn(
            f"{bad} of {status.size} subject-scenario simulation(s) failed ({what}); see "
            "the `status` variable (their outputs after the failure are NaN)",
            TgsimWarning, stacklevel=3,
        )

