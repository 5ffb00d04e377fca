"""Experiment files: load, validate, run and write in-silico experiments.

Units: days, mm³ (volumes), mm (diameters), as everywhere in tgsim.

An experiment is a TOML file (``experiments/*.toml``) run by ``tgsim run FILE`` or
:func:`run_experiment`. A cohort experiment declares:

.. code-block:: toml

    title = "Quick start"
    description = "A small Gompertz cohort, untreated vs surgery"

    [model]                     # or: model = "gompertz"
    name = "gompertz"           # a card name, or path = "my_card.toml" (relative to this file)
    # solver = "ode"; rtol = 1e-8; atol = 1e-12; max_steps = 100000

    [cohort]
    subjects = 200              # tgsim run --subjects N overrides
    seed = 2024                 # --seed S overrides; omitted: drawn and recorded
    chunk_size = 100000
    # scheduler = "local"       # or "synchronous", or a dask scheduler address

    [times]                     # days; or values = [0, 7, 14, ...]
    start = -56                 # a pre-treatment scan for growth kinetics
    stop = 364
    step = 7
    # t0 = -56                  # day at which initial_volume holds (default start)

    [population]                # a number (fixed) or a distribution per parameter
    initial_volume = { distribution = "lognormal", median = 1000.0, cv = 0.5 }
    growth_rate = { distribution = "lognormal", median = 0.01, cv = 0.3 }
    carrying_capacity = { distribution = "normal", mean = 5e4, sd = 1e4, lower = 1e4 }
    "immunotherapy.kill_rate" = { distribution = "uniform", low = 0.0, high = 0.05 }
    correlation = [["growth_rate", "carrying_capacity", -0.3]]
    # or: correlation = { names = [...], matrix = [[...], ...] }
    # estimates = { file = "fit.csv", kind = "empirical" }   # resample fitted subjects

    [common]                    # interventions every scenario gets (optional)
    [[common.immunotherapy]]
    start = 0
    stop = 365
    kill_rate = 0.03

    [[scenario]]                # explicit scenarios ...
    name = "untreated"

    [[scenario]]
    name = "surgery"
    labels = { arm = "surgery" }                    # coordinates on `scenario` (optional)
    parameters = { carrying_capacity = 6e4 }        # overrides (optional)
    [[scenario.surgery]]
    day = 30
    resected_fraction = 0.9

    # ... or a grid: the product of the levels of every axis
    # [grid.surgery.day30]
    # surgery = [{ day = 30, resected_fraction = 0.9 }]
    # [grid.surgery.day60]
    # surgery = [{ day = 60, resected_fraction = 0.9 }]
    # [grid.acceleration.none]
    # [grid.acceleration.x2]
    # acceleration = [{ onset_day = 0, factor = 2.0 }]

    [observation]               # scans (needed by the response read-outs)
    every = "8w"                # days, or "6w", "8 weeks", "3mo"; or days = [...]
    start = -56                 # first scan (default: first time)
    treatment_day = 0           # RECIST baseline = last scan on or before it
    detection_limit_mm = 5.0
    error = { model = "proportional", cv = 0.1 }  # additive{sd_mm} | combined{sd_mm, cv}
                                                  # | lognormal{sigma}

    [readouts]
    recist = true
    irecist = true
    confirm = false             # confirm_days = 28; min_sd_days = 0
    threshold_growth = true
    hyperprogression = ["champiat2017", "ferrara2018"]   # or true: all
    burden_days = [90, 180]

    [output]
    dir = "quickstart_results"  # default <file stem>_results; -o DIR overrides
    dataset = "cohort.nc"       # .nc (NetCDF, in memory) or .zarr (streamed); false: none
    summary = "summary.csv"     # tidy rates, tgsim.readouts.summarise; false: none
    figures = ["volume", "response", "waterfall"]        # true: all that apply; false
                                # (also "pseudoprogression": one falsely progressed subject)

Intervention tables are those of :func:`tgsim.treatment.schedule_from_tables`
(``surgery``, ``radiotherapy``, ``chemotherapy``, ``targeted``, ``immunotherapy``,
``acceleration``). Scan days and burden days are added to the time grid. Unknown keys,
wrong types and invalid values raise :class:`~tgsim.errors.ConfigError` naming the file,
the table and the key.

Output
------
``tgsim run`` writes into a temporary sibling of the output directory and renames it at
the end, so a failed run (an error, a full disk, an interrupt) leaves nothing under the
final name. The directory holds the dataset, the summary CSV, the figures, the resolved
configuration ``config.toml`` (defaults filled in, the seed and subject count used, paths
made absolute: ``tgsim run DIR/config.toml`` repeats the run) and ``manifest.json`` (tgsim
version, files, run time). An output directory that exists and is not empty is an error
unless ``overwrite`` (``--overwrite``) is given. ``--overwrite`` replaces only the files
listed in the folder's ``manifest.json`` (what an earlier run wrote): other files stay,
and a new output that would replace a file no run wrote is an error that changes nothing.
Temporary folders ``.<dir>.tmp-<pid>-*`` left by a killed run are removed by the next run
into the same folder once their process has exited.

Analysis hook
-------------
Other modules ship experiments run by the same command through a top-level key

.. code-block:: toml

    analysis = "tgsim.some.module:function"

Only modules under ``tgsim.`` are allowed. ``tgsim run`` then calls::

    function(config: dict, *, where: str, out_dir: pathlib.Path,
             subjects: int | None, seed: int | None) -> dict[str, str]

where ``config`` is the parsed TOML minus the keys the runner owns (``analysis``,
``title``, ``description`` and the ``[output]`` table), ``where`` is the experiment file
(for error messages), ``out_dir`` the temporary folder to write into, ``subjects`` and
``seed`` the command-line overrides (None when not given). The function validates its
own keys — raising :class:`~tgsim.errors.ConfigError` that names ``where``, the table and
the key — writes its files into ``out_dir`` and returns ``{label: file name}`` (names
relative to ``out_dir``). The runner still provides the atomic output directory,
``--overwrite``, ``config.toml`` and ``manifest.json``; with an analysis hook ``[output]``
takes only ``dir`` and ``config``.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import math
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .catalogue import Model
from .catalogue import model as get_model
from .cohort import (
    DEFAULT_CHUNK_SIZE,
    Scenario,
    check_observation,
    open_cohort,
    simulate_cohort,
)
from .errors import CardError, ConfigError, ScheduleError, TgsimError
from .population import (
    Population,
    _estimates_frame,
    _read_table,
    _resolve,
    distribution_from_dict,
)
from .readouts import (
    HYPERPROGRESSION_DEFINITIONS,
    RECIST_CODES,
    Observation,
    Readouts,
    summarise,
)
from .treatment import schedule_from_tables

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["Experiment", "ExperimentResult", "load_experiment", "run_experiment",
           "FIGURES", "RUNNER_KEYS"]

#: top-level keys the runner owns (not passed to an analysis hook)
RUNNER_KEYS: tuple[str, ...] = ("analysis", "title", "description", "output")
#: figure names ``[output] figures`` accepts
FIGURES: tuple[str, ...] = ("volume", "response", "waterfall", "pseudoprogression")

_TOP_KEYS = {"title", "description", "analysis", "model", "cohort", "times", "population",
             "common", "scenario", "grid", "observation", "readouts", "output"}
_MODEL_KEYS = {"name", "path", "solver", "rtol", "atol", "max_steps"}
_COHORT_KEYS = {"subjects", "seed", "chunk_size", "scheduler"}
_TIMES_KEYS = {"start", "stop", "step", "values", "t0"}
_POP_SPECIAL = {"correlation", "estimates", "truncate"}
_INTERVENTIONS = {"surgery", "radiotherapy", "chemotherapy", "targeted", "targeted_therapy",
                  "immunotherapy", "acceleration"}
_FRAGMENT_KEYS = _INTERVENTIONS | {"parameters", "description"}
_OBS_KEYS = {"every", "start", "stop", "days", "treatment_day", "detection_limit_mm", "error"}
_ERROR_MODELS = {"additive": ("AdditiveError", ("sd_mm",)),
                 "proportional": ("ProportionalError", ("cv",)),
                 "combined": ("CombinedError", ("sd_mm", "cv")),
                 "lognormal": ("LogNormalError", ("sigma",))}
_READOUT_KEYS = {"recist", "irecist", "confirm", "confirm_days", "min_sd_days",
                 "threshold_growth", "hyperprogression", "burden_days"}
_OUTPUT_KEYS = {"dir", "dataset", "summary", "figures", "config"}
_HOOK_OUTPUT_KEYS = {"dir", "config"}


# ----------------------------------------------------------------------- helpers
def _fail(where: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: {msg}")


def _table(cfg: Mapping[str, Any], key: str, where: str, allowed: set[str] | None
           ) -> dict[str, Any]:
    value = cfg.get(key, {})
    if not isinstance(value, Mapping):
        raise _fail(where, f"[{key}] must be a table; got {value!r}")
    if allowed is not None:
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise _fail(where, f"[{key}] unknown key {unknown[0]!r}; allowed keys are "
                               f"{', '.join(sorted(allowed))}")
    return dict(value)


def _num(value: Any, where: str, key: str, *, minimum: float | None = None,
         strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(where, f"{key} must be a finite number; got {value!r}")
    if minimum is not None and (value <= minimum if strict else value < minimum):
        raise _fail(where, f"{key} must be {'>' if strict else '>='} {minimum:g}; got {value!r}")
    return float(value)


def _int(value: Any, where: str, key: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _fail(where, f"{key} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _bool(value: Any, where: str, key: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(where, f"{key} must be true or false; got {value!r}")
    return value


def _str(value: Any, where: str, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be a non-empty string; got {value!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"experiment file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"experiment file {str(path)!r} is a folder, not a .toml file") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


# ----------------------------------------------------------------------- experiment
@dataclass
class Experiment:
    """A validated experiment file. Build with :func:`load_experiment`.

    Attributes
    ----------
    path : Path
        The experiment file.
    title, description : str
    config : dict
        The parsed TOML.
    analysis : str or None
        ``"tgsim.module:function"`` for an analysis-hook experiment (then the cohort
        attributes below are None).
    model, times, t0, population, scenarios, observation, readouts, subjects, seed,
    chunk_size, scheduler, solver, rtol, atol, max_steps
        The cohort experiment, resolved.
    output : dict
        ``dir``, ``dataset``, ``summary``, ``figures``, ``config``.

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''
    ... title = "Exponential growth, untreated"
    ... [model]
    ... name = "exponential"
    ... [cohort]
    ... subjects = 20
    ... seed = 1
    ... [times]
    ... start = 0
    ... stop = 84
    ... step = 7
    ... [population]
    ... initial_volume = { distribution = "lognormal", median = 1.4e4, cv = 0.3 }
    ... growth_rate = 0.01
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "small.toml")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     exp = tgsim.load_experiment(path)
    >>> exp.times[[0, -1]].tolist(), exp.population.names
    ([0.0, 84.0], ('initial_volume', 'growth_rate'))
    """

    path: Path
    title: str
    description: str
    config: dict[str, Any]
    analysis: str | None = None
    model: Model | None = None
    times: np.ndarray | None = None
    t0: float | None = None
    population: Population | None = None
    scenarios: list[Scenario] = field(default_factory=list)
    observation: Observation | None = None
    readouts: Readouts | None = None
    subjects: int = 100
    seed: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    scheduler: str | None = None
    solver: str | None = None
    rtol: float = 1e-8
    atol: float = 1e-12
    max_steps: int = 100_000
    output: dict[str, Any] = field(default_factory=dict)

    def run(self, out_dir: str | os.PathLike[str] | None = None, *, subjects: int | None = None,
            seed: int | None = None, scheduler: str | None = None, overwrite: bool = False,
            progress: bool | None = None) -> ExperimentResult:
        """Run the experiment and write its outputs; see :func:`run_experiment`."""
        return _run(self, out_dir, subjects=subjects, seed=seed, scheduler=scheduler,
                    overwrite=overwrite, progress=progress)

    def summary(self) -> str:
        """What the experiment does, as text."""
        lines = [f"{self.title} ({self.path.name})"]
        if self.description:
            lines.append(self.description.strip())
        if self.analysis:
            lines.append(f"analysis: {self.analysis}")
            return "\n".join(lines)
        lines.append(f"model {self.model.name}; {self.subjects} subjects; seed {self.seed}; "
                     f"times {self.times[0]:g}..{self.times[-1]:g} days ({self.times.size})")
        lines.append("scenarios: " + ", ".join(s.name for s in self.scenarios))
        lines.append(self.population.summary())
        return "\n".join(lines)


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` wrote.

    Attributes
    ----------
    out_dir : Path
        The output directory.
    files : dict
        Label -> path of each file written.
    table : pandas.DataFrame or None
        The summary table (:func:`tgsim.readouts.summarise`) of a cohort experiment.
    elapsed_s : float
        Wall time of the run (seconds).
    experiment : Experiment

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''
    ... title = "Exponential growth, untreated"
    ... [model]
    ... name = "exponential"
    ... [cohort]
    ... subjects = 20
    ... seed = 1
    ... [times]
    ... start = 0
    ... stop = 84
    ... step = 7
    ... [population]
    ... initial_volume = { distribution = "lognormal", median = 1.4e4, cv = 0.3 }
    ... growth_rate = 0.01
    ... [observation]
    ... every = "6w"
    ... [readouts]
    ... recist = true
    ... [output]
    ... dataset = false
    ... figures = false
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "small.toml")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     result = tgsim.run_experiment(path, os.path.join(tmp, "out"), progress=False)
    >>> result.experiment.title
    'Exponential growth, untreated'
    >>> row = result.table.set_index("statistic").loc["progressed"]
    >>> float(row["value"]), row["unit"]
    (100.0, '%')
    """

    out_dir: Path
    files: dict[str, Path]
    table: Any
    elapsed_s: float
    experiment: Experiment

    def dataset(self) -> xr.Dataset:
        """Open the written dataset (Zarr lazily, NetCDF into memory)."""
        if "dataset" not in self.files:
            raise TgsimError("this run wrote no dataset ([output] dataset = false)")
        return open_cohort(self.files["dataset"])

    def summary(self) -> str:
        """A short report: files written and the headline rates."""
        lines = [f"{self.experiment.title}: wrote {self.out_dir} in {self.elapsed_s:.1f} s"]
        for label, p in self.files.items():
            lines.append(f"  {label:<10} {p.name}")
        if self.table is not None and len(self.table):
            t = self.table
            keep = t["statistic"].isin(["objective_response_rate", "PD_rate", "median",
                                        "unconfirmed_iupd_rate", "category_flip_rate",
                                        "false_progression_rate"]) | (
                t["readout"] == "hyperprogression")
            keep &= t["reading"].isin(["measured", "tumour", "measured vs error_free",
                                       "measured vs tumour"])
            for _, r in t[keep].iterrows():
                lines.append(f"  {r['scenario']:<24} {r['readout']:<16} {r['reading']:<22} "
                             f"{r['statistic']:<26} {r['value']:>10.4g} {r['unit']}")
        return "\n".join(lines)


def load_experiment(path: str | os.PathLike[str]) -> Experiment:
    """Read and validate an experiment file.

    Raises
    ------
    ConfigError
        Malformed TOML, unknown keys, wrong types or invalid values: the message names the
        file, the table and the key.

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''
    ... title = "Exponential growth, untreated"
    ... [model]
    ... name = "exponential"
    ... [cohort]
    ... subjects = 20
    ... seed = 1
    ... [times]
    ... start = 0
    ... stop = 84
    ... step = 7
    ... [population]
    ... initial_volume = { distribution = "lognormal", median = 1.4e4, cv = 0.3 }
    ... growth_rate = 0.01
    ... [[scenario]]
    ... name = "untreated"
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "small.toml")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     exp = tgsim.load_experiment(path)
    >>> exp.title, exp.model.name, [s.name for s in exp.scenarios]
    ('Exponential growth, untreated', 'exponential', ['untreated'])
    """
    p = Path(path).expanduser().resolve()
    cfg = _read_toml(p)
    where = str(p)
    unknown = sorted(set(cfg) - _TOP_KEYS)
    if unknown and "analysis" not in cfg:
        raise _fail(where, f"unknown top-level key {unknown[0]!r}; allowed keys are "
                           f"{', '.join(sorted(_TOP_KEYS))}")
    title = _str(cfg.get("title", p.stem), where, "title")
    description = cfg.get("description", "")
    if not isinstance(description, str):
        raise _fail(where, f"description must be a string; got {description!r}")
    exp = Experiment(path=p, title=title, description=description, config=cfg)
    if "analysis" in cfg:
        exp.analysis = _check_analysis(cfg["analysis"], where)
        exp.output = _output(cfg, where, p, hook=True)
        return exp
    _cohort_experiment(exp, cfg, where)
    return exp


def _check_analysis(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.count(":") != 1:
        raise _fail(where, f"analysis must be 'tgsim.module:function'; got {value!r}")
    mod, func = value.split(":")
    if not mod.startswith("tgsim.") or not all(part.isidentifier() for part in mod.split(".")) \
            or not func.isidentifier():
        raise _fail(where, f"analysis must name a function in a module under 'tgsim.' "
                           f"('tgsim.module:function'); got {value!r}")
    return value


def _resolve_hook(spec: str, where: str) -> Callable[..., Any]:
    mod, func = spec.split(":")
    try:
        module = importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        raise _fail(where, f"analysis module {mod!r} not found ({exc})") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise _fail(where, f"analysis: module {mod!r} has no function {func!r}")
    return fn


def _model(cfg: dict[str, Any], where: str, base: Path) -> tuple[Model, dict[str, Any]]:
    spec = cfg.get("model")
    if spec is None:
        raise _fail(where, "missing [model] (a card name: model = \"gompertz\", or a table "
                           "with name or path)")
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise _fail(where, f"model must be a card name or a table; got {spec!r}")
    spec = _table({"model": spec}, "model", where, _MODEL_KEYS)
    if ("name" in spec) == ("path" in spec):
        raise _fail(where, "[model] needs exactly one of name (a card) or path (a .toml card)")
    try:
        if "path" in spec:
            path = _resolve(_str(spec["path"], where, "[model] path"), base)
            mdl = get_model(path if path.endswith(".toml") else path + os.sep)
        else:
            mdl = get_model(_str(spec["name"], where, "[model] name"))
    except CardError as exc:
        raise _fail(where, f"[model] {exc}") from None
    return mdl, spec


def _cohort_experiment(exp: Experiment, cfg: dict[str, Any], where: str) -> None:
    base = exp.path.parent
    mdl, mspec = _model(cfg, where, base)
    exp.model = mdl
    if "solver" in mspec:
        if mspec["solver"] not in ("ode", "closed_form", "auto"):
            raise _fail(where, f"[model] solver must be 'ode', 'closed_form' or 'auto'; got "
                               f"{mspec['solver']!r}")
        exp.solver = None if mspec["solver"] == "auto" else mspec["solver"]
    if "rtol" in mspec:
        exp.rtol = _num(mspec["rtol"], where, "[model] rtol", minimum=0, strict=True)
    if "atol" in mspec:
        exp.atol = _num(mspec["atol"], where, "[model] atol", minimum=0, strict=True)
    if "max_steps" in mspec:
        exp.max_steps = _int(mspec["max_steps"], where, "[model] max_steps", minimum=1)

    co = _table(cfg, "cohort", where, _COHORT_KEYS)
    exp.subjects = _int(co.get("subjects", 100), where, "[cohort] subjects", minimum=1)
    if "seed" in co:
        exp.seed = _int(co["seed"], where, "[cohort] seed", minimum=0)
    exp.chunk_size = _int(co.get("chunk_size", DEFAULT_CHUNK_SIZE), where,
                          "[cohort] chunk_size", minimum=1)
    if "scheduler" in co:
        exp.scheduler = _str(co["scheduler"], where, "[cohort] scheduler")

    times, t0 = _times(cfg, where)
    exp.population = _population(cfg, where, mdl, base)
    exp.scenarios = _scenarios(cfg, where)
    exp.observation = _observation(cfg, where)
    exp.readouts = _readouts(cfg, where, exp.observation is not None)
    extra = [times]
    if exp.observation is not None:
        try:
            if exp.observation.days is not None:
                extra.append(np.asarray(exp.observation.days))
            else:
                from .observe import scan_schedule

                o = exp.observation
                extra.append(scan_schedule(o.every_days,
                                           times[0] if o.start_day is None else o.start_day,
                                           times[-1] if o.stop_day is None else o.stop_day))
        except TgsimError as exc:
            raise _fail(where, f"[observation] {exc}") from None
    if exp.readouts is not None and exp.readouts.burden_days:
        extra.append(np.asarray(exp.readouts.burden_days))
    grid = np.unique(np.concatenate(extra))
    exp.times = grid[(grid >= times[0]) & (grid <= times[-1])]
    if exp.readouts is not None and exp.readouts.burden_days:
        bad = [d for d in exp.readouts.burden_days if not times[0] <= d <= times[-1]]
        if bad:
            raise _fail(where, f"[readouts] burden_days: day {bad[0]:g} is outside [times] "
                               f"[{times[0]:g}, {times[-1]:g}]")
    exp.t0 = t0
    try:
        check_observation(exp.times, exp.observation, exp.readouts)
    except TgsimError as exc:
        raise _fail(where, f"[observation]/[readouts] {exc}") from None
    exp.output = _output(cfg, where, exp.path, hook=False)


def _times(cfg: dict[str, Any], where: str) -> tuple[np.ndarray, float | None]:
    tt = _table(cfg, "times", where, _TIMES_KEYS)
    if not tt:
        raise _fail(where, "missing [times] (start, stop, step in days, or values = [...])")
    if "values" in tt:
        if set(tt) - {"values", "t0"}:
            raise _fail(where, "[times] give either values or start/stop/step, not both")
        v = tt["values"]
        if not isinstance(v, list) or not v:
            raise _fail(where, f"[times] values must be a non-empty list of days; got {v!r}")
        t = np.array([_num(x, where, f"[times] values[{i}]") for i, x in enumerate(v)])
    else:
        missing = [k for k in ("start", "stop", "step") if k not in tt]
        if missing:
            raise _fail(where, f"[times] missing key {missing[0]!r} (start, stop, step in days)")
        a = _num(tt["start"], where, "[times] start")
        b = _num(tt["stop"], where, "[times] stop")
        h = _num(tt["step"], where, "[times] step", minimum=0, strict=True)
        if b <= a:
            raise _fail(where, f"[times] stop must be > start; got start={a:g}, stop={b:g}")
        k = int(math.floor((b - a) / h + 1e-9))
        _check_grid(k + 1, where)
        t = a + h * np.arange(k + 1)
        if t[-1] < b - 1e-9 * max(1.0, abs(b)):
            t = np.append(t, b)
    if np.any(np.diff(t) <= 0):
        i = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise _fail(where, f"[times] values must be increasing; got {t[i]:g} after {t[i - 1]:g}")
    t0 = None
    if "t0" in tt:
        t0 = _num(tt["t0"], where, "[times] t0")
        if t0 > t[0]:
            raise _fail(where, f"[times] t0 must be <= the first time ({t[0]:g}); got {t0:g}")
    return t, t0


def _population(cfg: dict[str, Any], where: str, mdl: Model, base: Path) -> Population:
    pop = _table(cfg, "population", where, None)
    here = f"{where}: [population]"
    dists: dict[str, Any] = {}
    for key, spec in pop.items():
        if key in _POP_SPECIAL:
            continue
        try:
            name = key if "." in key else mdl.parameter(key).name
        except KeyError:
            raise _fail(where, f"[population] unknown key {key!r}: model {mdl.name!r} has "
                               f"parameters {', '.join(mdl.parameter_names)} (effect "
                               "parameters are '<intervention>.<field>'; other keys: "
                               "correlation, estimates, truncate)") from None
        dists[name] = distribution_from_dict(spec, where=f"{here} {key}", base_dir=base)
    truncate = _bool(pop.get("truncate", True), where, "[population] truncate")
    corr = pop.get("correlation")
    if corr is not None:
        corr = _correlation_spec(corr, f"{here} correlation")
    try:
        if "estimates" in pop:
            est = pop["estimates"]
            w = f"{here} estimates"
            if not isinstance(est, Mapping):
                raise ConfigError(f"{w}: must be a table {{file, kind, parameters}}")
            bad = sorted(set(est) - {"file", "kind", "parameters"})
            if bad:
                raise ConfigError(f"{w}: unknown key {bad[0]!r}; allowed keys are file, kind, "
                                  "parameters")
            if "file" not in est:
                raise ConfigError(f"{w}: missing key 'file' (a CSV or NetCDF of estimates)")
            frame = _read_table(_resolve(est["file"], base), w)
            kind = est.get("kind", "empirical")
            if kind not in ("empirical", "lognormal"):
                raise ConfigError(f"{w}: kind must be 'empirical' or 'lognormal'; got {kind!r}")
            if corr is not None:
                raise ConfigError(f"{here}: correlation cannot be combined with estimates "
                                  "(the estimates carry their own correlation)")
            return Population.from_estimates(mdl, _estimates_frame(frame, w), kind=kind,
                                             parameters=est.get("parameters"),
                                             distributions=dists, truncate=truncate)
        return Population(mdl, dists, correlation=corr, truncate=truncate)
    except ConfigError:
        raise
    except TgsimError as exc:
        raise ConfigError(f"{here}: {exc}") from None


def _correlation_spec(spec: Any, where: str) -> Any:
    if isinstance(spec, Mapping):
        bad = sorted(set(spec) - {"names", "matrix"})
        if bad or "names" not in spec or "matrix" not in spec:
            extra = f"; unknown key {bad[0]!r}" if bad else ""
            raise ConfigError(f"{where}: a correlation table takes names = [...] and "
                              f"matrix = [[...], ...]{extra}")
        names, matrix = spec["names"], spec["matrix"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{where}: names must be a list of parameter names; got {names!r}")
        try:
            R = np.array(matrix, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: matrix must be a square list of lists of numbers") \
                from None
        if R.ndim != 2:
            raise ConfigError(f"{where}: matrix must be a list of rows (2-D); got {matrix!r}")
        return (names, R)
    if isinstance(spec, list):
        for i, item in enumerate(spec):
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[0], str)
                    and isinstance(item[1], str)):
                raise ConfigError(f"{where}[{i}]: each entry is [name, name, rho]; got {item!r}")
        return [tuple(x) for x in spec]
    raise ConfigError(f"{where}: must be a list of [name, name, rho] or a table with names and "
                      f"matrix; got {spec!r}")


def _fragment(value: Any, where: str, name: str) -> Scenario:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: must be a table; got {value!r}")
    bad = sorted(set(value) - _FRAGMENT_KEYS - {"name", "labels"})
    if bad:
        raise ConfigError(f"{where}: unknown key {bad[0]!r}; allowed keys are name, description, "
                          "labels, parameters and the interventions "
                          f"{', '.join(sorted(_INTERVENTIONS))}")
    labels = value.get("labels", {})
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        raise ConfigError(f"{where}: labels must be a table of strings (axis = level); "
                          f"got {labels!r}")
    tables = {k: v for k, v in value.items() if k in _INTERVENTIONS}
    sched = schedule_from_tables(tables, where)
    params = value.get("parameters", {})
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: parameters must be a table of overrides; got {params!r}")
    desc = value.get("description", "")
    if not isinstance(desc, str):
        raise ConfigError(f"{where}: description must be a string; got {desc!r}")
    try:
        return Scenario(name, sched, dict(params), labels=dict(labels), description=desc)
    except TgsimError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _scenarios(cfg: dict[str, Any], where: str) -> list[Scenario]:
    from .cohort import scenario_grid

    common = None
    if "common" in cfg:
        common = _fragment(cfg["common"], f"{where}: [common]", "common")
        for key in ("name", "labels"):
            if key in cfg["common"]:
                raise _fail(where, f"[common] unknown key {key!r} (common is not a scenario)")
    has_list, has_grid = "scenario" in cfg, "grid" in cfg
    if has_list and has_grid:
        raise _fail(where, "give either [[scenario]] tables or a [grid], not both")
    try:
        if has_grid:
            g = cfg["grid"]
            if not isinstance(g, Mapping) or not g:
                raise _fail(where, "[grid] must hold one table per axis: [grid.AXIS.LEVEL]")
            axes: dict[str, dict[str, Scenario]] = {}
            for axis, levels in g.items():
                if not isinstance(levels, Mapping) or not levels:
                    raise _fail(where, f"[grid.{axis}] must hold one table per level: "
                                       f"[grid.{axis}.LEVEL]")
                axes[axis] = {}
                for level, frag in levels.items():
                    if isinstance(frag, Mapping) and ("name" in frag or "labels" in frag):
                        key = "name" if "name" in frag else "labels"
                        raise _fail(where, f"[grid.{axis}.{level}] unknown key {key!r} (the "
                                           "axis and level names label grid scenarios)")
                    axes[axis][level] = _fragment(frag, f"{where}: [grid.{axis}.{level}]", level)
            out = scenario_grid(axes, common=common)
        elif has_list:
            rows = cfg["scenario"]
            if not isinstance(rows, list) or not rows:
                raise _fail(where, "[[scenario]] must be an array of tables")
            out = []
            for i, row in enumerate(rows):
                here = f"{where}: [[scenario]] #{i + 1}"
                if not isinstance(row, Mapping) or "name" not in row:
                    raise ConfigError(f"{here}: missing key 'name'")
                name = _str(row["name"], here, "name")
                sc = _fragment(row, f"{where}: [[scenario]] {name!r}", name)
                out.append(common.combine(sc, name=name) if common is not None else sc)
        else:
            out = [common.combine(Scenario("untreated"), name="treated")] if common else \
                [Scenario("untreated")]
    except (ScheduleError, TgsimError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{where}: {exc}") from None
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _fail(where, f"scenario name {dup[0]!r} used twice")
    return out


def _observation(cfg: dict[str, Any], where: str) -> Observation | None:
    if "observation" not in cfg:
        return None
    ob = _table(cfg, "observation", where, _OBS_KEYS)
    kw: dict[str, Any] = {}
    if "every" in ob:
        e = ob["every"]
        if not (isinstance(e, str) or (isinstance(e, int | float) and not isinstance(e, bool))):
            raise _fail(where, f"[observation] every must be days or a string like '8w'; got {e!r}")
        kw["every_days"] = e
    for key, arg in (("start", "start_day"), ("stop", "stop_day"),
                     ("treatment_day", "treatment_day")):
        if key in ob:
            kw[arg] = _num(ob[key], where, f"[observation] {key}")
    if "detection_limit_mm" in ob:
        kw["detection_limit_mm"] = _num(ob["detection_limit_mm"], where,
                                        "[observation] detection_limit_mm", minimum=0)
    if "days" in ob:
        d = ob["days"]
        if not isinstance(d, list) or not d:
            raise _fail(where, f"[observation] days must be a non-empty list; got {d!r}")
        kw["days"] = [_num(x, where, f"[observation] days[{i}]") for i, x in enumerate(d)]
    if "error" in ob:
        kw["error"] = _error_model(ob["error"], f"{where}: [observation] error")
    try:
        return Observation(**kw)
    except TgsimError as exc:
        raise _fail(where, f"[observation] {exc}") from None


def _error_model(spec: Any, where: str):
    from . import observe

    if not isinstance(spec, Mapping) or "model" not in spec:
        raise ConfigError(f"{where}: must be a table with model = additive | proportional | "
                          f"combined | lognormal; got {spec!r}")
    kind = spec["model"]
    if kind not in _ERROR_MODELS:
        raise ConfigError(f"{where}: unknown error model {kind!r}; choose one of "
                          f"{', '.join(_ERROR_MODELS)}")
    cls_name, keys = _ERROR_MODELS[kind]
    args = {k: v for k, v in spec.items() if k != "model"}
    bad = sorted(set(args) - set(keys))
    if bad:
        raise ConfigError(f"{where}: unknown key {bad[0]!r} for model {kind!r}; allowed keys "
                          f"are {', '.join(keys)}")
    missing = [k for k in keys if k not in args]
    if missing:
        raise ConfigError(f"{where}: model {kind!r} needs key {missing[0]!r}")
    for k, v in args.items():
        _num(v, where, k, minimum=0)
    try:
        return getattr(observe, cls_name)(**{k: float(v) for k, v in args.items()})
    except TgsimError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _readouts(cfg: dict[str, Any], where: str, has_obs: bool) -> Readouts | None:
    if "readouts" not in cfg:
        return Readouts(recist=has_obs)
    ro = _table(cfg, "readouts", where, _READOUT_KEYS)
    kw: dict[str, Any] = {"recist": has_obs}
    for key in ("recist", "irecist", "confirm", "threshold_growth"):
        if key in ro:
            kw[key] = _bool(ro[key], where, f"[readouts] {key}")
    for key in ("confirm_days", "min_sd_days"):
        if key in ro:
            kw[key] = _num(ro[key], where, f"[readouts] {key}", minimum=0)
    if "hyperprogression" in ro:
        hp = ro["hyperprogression"]
        if hp is True:
            hp = list(HYPERPROGRESSION_DEFINITIONS)
        elif hp is False:
            hp = []
        if not isinstance(hp, list) or not all(isinstance(x, str) for x in hp):
            raise _fail(where, "[readouts] hyperprogression must be true, false or a list of "
                               f"definitions ({', '.join(HYPERPROGRESSION_DEFINITIONS)}); "
                               f"got {hp!r}")
        kw["hyperprogression"] = tuple(hp)
    if "burden_days" in ro:
        bd = ro["burden_days"]
        if not isinstance(bd, list):
            raise _fail(where, f"[readouts] burden_days must be a list of days; got {bd!r}")
        kw["burden_days"] = tuple(_num(x, where, f"[readouts] burden_days[{i}]")
                                  for i, x in enumerate(bd))
    try:
        r = Readouts(**kw)
    except TgsimError as exc:
        raise _fail(where, f"[readouts] {exc}") from None
    if r.needs_scans and not has_obs:
        need = [k for k in ("recist", "irecist", "threshold_growth") if getattr(r, k)]
        need += ["hyperprogression"] if r.hyperprogression else []
        raise _fail(where, f"[readouts] {need[0]} needs an [observation] table (the scans)")
    return r


def _output(cfg: dict[str, Any], where: str, path: Path, *, hook: bool) -> dict[str, Any]:
    allowed = _HOOK_OUTPUT_KEYS if hook else _OUTPUT_KEYS
    out = cfg.get("output", {})
    if not isinstance(out, Mapping):
        raise _fail(where, f"[output] must be a table; got {out!r}")
    bad = sorted(set(out) - allowed)
    if bad:
        extra = " (with an analysis hook the function writes its own files)" if hook and \
            bad[0] in _OUTPUT_KEYS else ""
        raise _fail(where, f"[output] unknown key {bad[0]!r}{extra}; allowed keys are "
                           f"{', '.join(sorted(allowed))}")
    res: dict[str, Any] = {"dir": f"{path.stem}_results", "config": "config.toml"}
    if not hook:
        res.update(dataset="cohort.nc", summary="summary.csv", figures=list(FIGURES))
    if "dir" in out:
        res["dir"] = _str(out["dir"], where, "[output] dir")
    if "config" in out:
        res["config"] = _plain_name(out["config"], where, "config", (".toml",))
    if hook:
        return res
    if "dataset" in out:
        v = out["dataset"]
        res["dataset"] = False if v is False else _plain_name(v, where, "dataset",
                                                              (".nc", ".zarr"))
        if str(res["dataset"]).endswith(".zarr"):
            from .cohort import have_zarr

            if not have_zarr():
                raise _fail(where, "[output] dataset: a .zarr store needs the zarr package: "
                                   "pip install 'tgsim[dask]'")
    if "summary" in out:
        v = out["summary"]
        res["summary"] = False if v is False else _plain_name(v, where, "summary", (".csv",))
    if "figures" in out:
        v = out["figures"]
        if v is True:
            v = list(FIGURES)
        elif v is False:
            v = []
        if not isinstance(v, list) or any(x not in FIGURES for x in v):
            raise _fail(where, f"[output] figures must be true, false or a list of "
                               f"{', '.join(FIGURES)}; got {v!r}")
        res["figures"] = list(v)
    return res


def _check_grid(n: int, where: str) -> None:
    from .limits import check_grid

    try:
        check_grid(n, "[times] start:stop:step")
    except TgsimError as exc:
        raise type(exc)(f"{where}: {exc}") from None


def _plain_name(value: Any, where: str, key: str, suffixes: tuple[str, ...]) -> str:
    v = _str(value, where, f"[output] {key}")
    if os.sep in v or v.startswith(".") or not v.endswith(suffixes):
        raise _fail(where, f"[output] {key} must be a plain file name ending in "
                           f"{' or '.join(suffixes)}; got {v!r}")
    return v


# ---------------------------------------------------------------------- running
def run_experiment(path: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                   *, subjects: int | None = None, seed: int | None = None,
                   scheduler: str | None = None, overwrite: bool = False,
                   progress: bool | None = None) -> ExperimentResult:
    """Run an experiment file and write its outputs atomically.

    Parameters
    ----------
    path : path
        The experiment ``.toml`` file.
    out_dir : path, optional
        Output directory (default ``[output] dir``, else ``<file stem>_results`` in the
        current directory). It must not exist or be empty, unless ``overwrite``.
    subjects, seed : int, optional
        Override ``[cohort] subjects`` / ``seed`` (e.g. a tiny cohort for a smoke test).
    scheduler : str, optional
        Override ``[cohort] scheduler``: "synchronous", "local" or a dask scheduler
        address (see :func:`tgsim.simulate_cohort`).
    overwrite : bool
        Write into an existing non-empty output directory (only once the run succeeded),
        replacing the files an earlier run listed in its ``manifest.json`` and nothing
        else.
    progress : bool, optional
        Progress bars (default: on a terminal, for long runs).

    Returns
    -------
    ExperimentResult

    Raises
    ------
    ConfigError
        For an invalid experiment file (naming the file, table and key) or an output
        directory that exists and is not empty.
    OSError
        When writing fails (e.g. a full disk); nothing is left under the output name.

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''
    ... title = "Exponential growth, untreated"
    ... [model]
    ... name = "exponential"
    ... [cohort]
    ... subjects = 20
    ... seed = 1
    ... [times]
    ... start = 0
    ... stop = 84
    ... step = 7
    ... [population]
    ... initial_volume = { distribution = "lognormal", median = 1.4e4, cv = 0.3 }
    ... growth_rate = 0.01
    ... [observation]
    ... every = "6w"
    ... [readouts]
    ... recist = true
    ... [output]
    ... figures = ["volume"]
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "small.toml")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     result = tgsim.run_experiment(path, os.path.join(tmp, "out"), progress=False)
    ...     written = sorted(os.listdir(result.out_dir))
    >>> [name for name in written if name.endswith((".nc", ".csv", ".png"))]
    ['cohort.nc', 'summary.csv', 'volume.png']
    """
    return load_experiment(path).run(out_dir, subjects=subjects, seed=seed,
                                     scheduler=scheduler, overwrite=overwrite,
                                     progress=progress)


def _check_out_dir(out: Path, overwrite: bool, where: str) -> None:
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{where}: output {str(out)!r} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{where}: output directory {str(out)!r} exists and is not empty; "
                          "choose another (-o DIR) or pass --overwrite")


@contextlib.contextmanager
def _atomic_dir(out: Path, overwrite: bool):
    """Yield a temporary sibling folder; move its files into ``out`` when the body
    succeeds (:func:`tgsim.io._outdir.atomic_dir`: ``overwrite`` replaces only the files
    listed in the folder's ``manifest.json``; stale folders of killed runs are removed)."""
    from .io._outdir import atomic_dir

    with atomic_dir(out, overwrite) as tmp:
        yield tmp
        _default_permissions(tmp)


def _default_permissions(folder: Path) -> None:
    """Give files written through temporary files (mode 0600) the usual permissions."""
    umask = os.umask(0)
    os.umask(umask)
    for p in folder.rglob("*"):
        if p.is_file() and (p.stat().st_mode & 0o777) == 0o600:
            p.chmod(0o666 & ~umask)


def _run(exp: Experiment, out_dir: str | os.PathLike[str] | None, *, subjects: int | None,
         seed: int | None, scheduler: str | None, overwrite: bool,
         progress: bool | None) -> ExperimentResult:
    where = str(exp.path)
    if subjects is not None and (isinstance(subjects, bool) or not isinstance(subjects, int)
                                 or subjects < 1):
        raise TgsimError(f"`subjects` must be an integer >= 1; got {subjects!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise TgsimError(f"`seed` must be an integer >= 0; got {seed!r}")
    out = Path(out_dir if out_dir is not None else exp.output["dir"]).expanduser().resolve()
    _check_out_dir(out, overwrite, where)
    started = time.perf_counter()
    with _atomic_dir(out, overwrite) as tmp:
        if exp.analysis:
            files, table, resolved = _run_hook(exp, tmp, subjects, seed)
        else:
            files, table, resolved = _run_cohort(exp, tmp, subjects, seed, scheduler, progress)
        cfg_name = exp.output["config"]
        _write_text(tmp / cfg_name, toml_dumps(resolved))
        files["config"] = cfg_name
        elapsed = time.perf_counter() - started
        manifest = {"tgsim_version": __version__, "experiment": where, "title": exp.title,
                    "files": files, "elapsed_s": round(elapsed, 3),
                    "subjects": resolved.get("cohort", {}).get("subjects", subjects),
                    "seed": resolved.get("cohort", {}).get("seed", seed)}
        _write_text(tmp / "manifest.json", json.dumps(manifest, indent=2) + "\n")
        files["manifest"] = "manifest.json"
    return ExperimentResult(out, {k: out / v for k, v in files.items()}, table, elapsed, exp)


def _write_text(path: Path, text: str) -> None:
    from .io._atomic import atomic_path

    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _run_hook(exp: Experiment, tmp: Path, subjects: int | None, seed: int | None):
    where = str(exp.path)
    fn = _resolve_hook(exp.analysis, where)
    config = {k: v for k, v in exp.config.items() if k not in RUNNER_KEYS}
    written = fn(config, where=where, out_dir=tmp, subjects=subjects, seed=seed)
    if not isinstance(written, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in written.items()):
        raise TgsimError(f"{where}: analysis {exp.analysis} must return a dict "
                         f"{{label: file name}}; got {written!r}")
    for label, name in written.items():
        if not (tmp / name).exists():
            raise TgsimError(f"{where}: analysis {exp.analysis} reported {label}={name!r} but "
                             "wrote no such file")
    resolved = json.loads(json.dumps(exp.config))  # the file as parsed; overrides in manifest
    resolved["output"] = {"config": exp.output["config"]}
    return dict(written), None, resolved


def _run_cohort(exp: Experiment, tmp: Path, subjects: int | None, seed: int | None,
                scheduler: str | None, progress: bool | None):
    from .population import check_seed

    n = subjects if subjects is not None else exp.subjects
    s = check_seed(seed if seed is not None else exp.seed)
    out = exp.output
    files: dict[str, str] = {}
    store = None
    if out["dataset"] and out["dataset"].endswith(".zarr"):
        store = tmp / out["dataset"]
    ds = simulate_cohort(
        exp.model, exp.times, exp.population, n, seed=s, scenarios=exp.scenarios, t0=exp.t0,
        solver=exp.solver, rtol=exp.rtol, atol=exp.atol, max_steps=exp.max_steps,
        observation=exp.observation, readouts=exp.readouts, chunk_size=exp.chunk_size,
        store=store, scheduler=scheduler if scheduler is not None else exp.scheduler,
        progress=progress,
    )
    ds.attrs["experiment"] = exp.title
    if out["dataset"]:
        if store is None:
            _write_dataset(ds, tmp / out["dataset"])
        files["dataset"] = out["dataset"]
    table = summarise(ds)
    if out["summary"]:
        _write_summary(table, tmp / out["summary"])
        files["summary"] = out["summary"]
    for name in out["figures"]:
        fname = f"{name}.png"
        if _write_figure(name, ds, tmp / fname, exp.title):
            files[f"figure_{name}"] = fname
    return files, table, _resolved_config(exp, n, s, scheduler)


def _write_dataset(ds, path: Path) -> None:
    """Write a NetCDF file atomically (a temporary file renamed into place)."""
    from .io._atomic import atomic_path

    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp)


def _write_summary(table, path: Path) -> None:
    from .io._atomic import atomic_path

    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.10g")


def _resolved_config(exp: Experiment, n: int, seed: int, scheduler: str | None) -> dict[str, Any]:
    cfg = json.loads(json.dumps(exp.config))  # deep copy
    cfg["title"] = exp.title
    if exp.description:
        cfg["description"] = exp.description
    m = cfg.get("model")
    if isinstance(m, Mapping) and "path" in m:
        m["path"] = exp.model.path
    cfg.setdefault("cohort", {})
    cfg["cohort"]["subjects"] = int(n)
    cfg["cohort"]["seed"] = int(seed)
    cfg["cohort"]["chunk_size"] = int(exp.chunk_size)
    if scheduler is not None:
        cfg["cohort"]["scheduler"] = scheduler
    pop = cfg.get("population", {})
    base = exp.path.parent
    for spec in pop.values():
        if isinstance(spec, dict) and "file" in spec:
            spec["file"] = _resolve(spec["file"], base)
    cfg["output"] = {k: v for k, v in exp.output.items() if k != "dir"}
    return cfg


# ---------------------------------------------------------------------- figures
_MAX_PLOTTED = 2000


def _write_figure(name: str, ds, path: Path, title: str) -> bool:
    """Draw one figure to ``path`` (PNG, atomically). False when it does not apply.

    ``volume``: :func:`tgsim.plot.spaghetti` of every scenario; ``response``: stacked bars
    of the RECIST best overall response; ``waterfall``: :func:`tgsim.plot.waterfall`, one
    panel per scenario; ``pseudoprogression``: :func:`tgsim.plot.pseudoprogression` of
    one subject called PD on the observed size whose tumour never progressed. At most the
    first 2000 subjects (a random sample) are drawn.
    """
    from matplotlib.figure import Figure

    from . import plot
    from .io._atomic import atomic_path

    if name in ("response", "waterfall") and "recist_bor" not in ds:
        return False
    if name == "pseudoprogression":
        return _pseudoprogression_figure(ds, path, title)
    sub = ds.isel(subject=slice(0, _MAX_PLOTTED))
    n_scen = sub.sizes["scenario"]
    if name == "waterfall":
        cols = min(n_scen, 3)
        rows = math.ceil(n_scen / cols)
        fig = Figure(figsize=(4.6 * cols, 3.8 * rows), layout="constrained")
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for i, ax in enumerate(axes):
            if i >= n_scen:
                ax.set_visible(False)
                continue
            one = sub.isel(scenario=i).sel(reading="measured")
            best = np.asarray(one["best_change_pct"].values)
            cats = np.asarray(RECIST_CODES)[np.asarray(one["recist_bor"].values)]
            plot.waterfall(best, categories=cats, ax=ax, title=str(sub.scenario.values[i]),
                           clip_pct=200.0)
    else:
        fig = Figure(figsize=(7.5, 4.8), layout="constrained")
        ax = fig.subplots()
        if name == "volume":
            plot.spaghetti(sub, ax=ax, log=True, max_lines=20)
        else:
            _response_bars(sub, ax=ax)
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return True


def _pseudoprogression_figure(ds, path: Path, title: str) -> bool:
    """:func:`tgsim.plot.pseudoprogression` for the first subject whose RECIST progression
    on the observed size is not a progression of the tumour (needs swelling and RECIST)."""
    import xarray as xr
    from matplotlib.figure import Figure

    from . import plot
    from .io._atomic import atomic_path

    need = {"observed", "progressed", "diameter_mm"}
    if not need <= set(ds.data_vars) or "tumour" not in ds.reading.values:
        return False
    prog = ds["progressed"]
    false = prog.sel(reading="measured") & ~prog.sel(reading="tumour")
    hits = np.argwhere(np.asarray(false.values))
    if hits.size == 0:
        return False
    i, j = (int(x) for x in hits[0])
    sc = ds.isel(scenario=i, subject=j)
    one = xr.Dataset({"volume": (("subject", "time"), sc["volume"].values[None, :]),
                      "observed": (("subject", "time"), sc["observed"].values[None, :])},
                     coords={"subject": [int(sc["subject"])], "time": ds["time"]},
                     attrs={"schedule": str(sc["schedule"].values)})
    treatment = json.loads(ds.attrs.get("observation", "{}")).get("treatment_day")
    fig = Figure(figsize=(8.0, 5.0), layout="constrained")
    ax = fig.subplots()
    plot.pseudoprogression(one, days=ds["day"].values, treatment_day=treatment, ax=ax,
                           title=f"{ds.scenario.values[i]}: subject {int(sc['subject'])}")
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    return True


def _response_bars(ds, *, reading: str = "measured", ax=None):
    """Stacked bars: RECIST best overall response (% of measurable subjects) per scenario."""
    from .plot import RESPONSE_COLOURS

    bor = np.asarray(ds["recist_bor"].sel(reading=reading).values)
    meas = np.asarray(ds["measurable"].sel(reading=reading).values).astype(bool)
    names = [str(s) for s in ds.scenario.values]
    bottom = np.zeros(len(names))
    for code, label in enumerate(RECIST_CODES):
        frac = np.array([100.0 * np.mean(bor[i][meas[i]] == code) if meas[i].any() else 0.0
                         for i in range(len(names))])
        ax.bar(names, frac, bottom=bottom, color=RESPONSE_COLOURS.get(label, "0.6"),
               label=label)
        bottom += frac
    ax.set_ylabel("measurable subjects (%)")
    ax.set_title(f"RECIST 1.1 best overall response ({reading})", fontsize="small")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    ax.tick_params(axis="x", labelrotation=20)
    return ax


# ------------------------------------------------------------------- TOML output
def _key(k: str) -> str:
    if k and all(c.isalnum() or c in "_-" for c in k) and k.isascii():
        return k
    return _toml_str(k)


def _toml_str(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character (C0, DEL
    and C1) escaped, so that any text reads back unchanged."""
    out = []
    for c in text:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list | tuple | np.ndarray):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        raise TypeError("TOML has no null value")
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def toml_dumps(data: Mapping[str, Any]) -> str:
    """Serialise a mapping (as read by :mod:`tomllib`) back to TOML text.

    Tables become ``[a.b]`` sections, lists of tables ``[[a.b]]``; tables inside arrays
    of tables are written inline. ``tomllib.loads(toml_dumps(d)) == d`` for such data.
    """
    lines: list[str] = []

    def section(prefix: list[str], table: Mapping[str, Any], array: bool) -> None:
        simple = {k: v for k, v in table.items()
                  if not (isinstance(v, Mapping) or _is_table_array(v)) or array}
        nested = {k: v for k, v in table.items() if k not in simple}
        if prefix:
            head = ".".join(_key(p) for p in prefix)
            if lines:
                lines.append("")
            lines.append(f"[[{head}]]" if array else f"[{head}]")
        for k, v in simple.items():
            lines.append(f"{_key(str(k))} = {_value(v)}")
        for k, v in nested.items():
            if isinstance(v, Mapping):
                section([*prefix, str(k)], v, False)
            else:
                for item in v:
                    section([*prefix, str(k)], item, True)

    section([], data, False)
    return "\n".join(lines) + "\n"

