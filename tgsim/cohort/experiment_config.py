"""Experiment files: the TOML tables read and checked into an :class:`Experiment`.

The file format is described in :mod:`tgsim.cohort.experiment`, which runs experiments;
this module only parses. Every error is a :class:`~tgsim.errors.ConfigError` naming the
file, the table and the key.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import CardError, ConfigError, ScheduleError, TgsimError
from ..schema import check_unknown, closest
from ..treatment import schedule_from_tables
from .readouts import (
    HYPERPROGRESSION_DEFINITIONS,
    ReadoutSettings,
    ScanProtocol,
)
from .simulate import (
    DEFAULT_CHUNK_SIZE,
    Scenario,
    check_observation,
)
from .tables import _estimates_frame, _read_table, _resolve
from .virtual import VirtualPopulation, distribution_from_dict

if TYPE_CHECKING:  # pragma: no cover
    from .experiment import ExperimentResult
    pass

__all__ = ["Experiment", "load_experiment", "FIGURES", "RUNNER_KEYS"]

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
        check_unknown(value, allowed, f"{where}: [{key}]")
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
    population: VirtualPopulation | None = None
    scenarios: list[Scenario] = field(default_factory=list)
    observation: ScanProtocol | None = None
    readouts: ReadoutSettings | None = None
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
        from .experiment import _run

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
    if "analysis" not in cfg:
        check_unknown(cfg, _TOP_KEYS, where, what="top-level key")
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
        raise _fail(where, f"analysis must be 'module:function'; got {value!r}")
    mod, func = value.split(":")
    if not mod.startswith(("tgsim.", "studies.")) or not func.isidentifier() or \
            not all(part.isidentifier() for part in mod.split(".")):
        raise _fail(where, "analysis must name a function in a module under 'tgsim.' or in "
                           "the checkout's studies/ folder ('studies.module:function'); "
                           f"got {value!r}")
    return value


def studies_checkout(where: str | None = None) -> Path | None:
    """The source checkout that holds ``studies/`` (the reproductions and studies are not
    installed): the nearest folder above ``where`` (an experiment file), else above the
    working folder, else the checkout tgsim itself runs from; None if there is none."""
    here = Path.cwd().resolve()
    above = Path(where).resolve().parents if where is not None else ()
    for folder in (*above, here, *here.parents, Path(__file__).resolve().parents[2]):
        if (folder / "studies" / "__init__.py").is_file():
            return folder
    return None


def _resolve_hook(spec: str, where: str) -> Callable[..., Any]:
    mod, func = spec.split(":")
    if mod.startswith("studies."):
        root = studies_checkout(where)
        if root is None:
            raise _fail(where, f"analysis {spec!r} is one of the studies of a tgsim source "
                               "checkout (its studies/ folder is not installed with the "
                               "package): clone the tgsim repository and run the experiment "
                               "file from there")
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
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
                from ..observe import scan_schedule

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


def _population(cfg: dict[str, Any], where: str, mdl: Model, base: Path) -> VirtualPopulation:
    pop = _table(cfg, "population", where, None)
    here = f"{where}: [population]"
    dists: dict[str, Any] = {}
    for key, spec in pop.items():
        if key in _POP_SPECIAL:
            continue
        try:
            name = key if "." in key else mdl.parameter(key).name
        except KeyError:
            hint = closest(key, [*mdl.parameter_names, *_POP_SPECIAL])
            mean = f" (did you mean {hint!r}?)" if hint else ""
            raise _fail(where, f"[population]: unknown key {key!r}{mean}: model {mdl.name!r} "
                               f"has parameters {', '.join(mdl.parameter_names)} (effect "
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
            check_unknown(est, ("file", "kind", "parameters"), w)
            if "file" not in est:
                raise ConfigError(f"{w}: missing key 'file' (a CSV or NetCDF of estimates)")
            frame = _read_table(_resolve(est["file"], base), w)
            kind = est.get("kind", "empirical")
            if kind not in ("empirical", "lognormal"):
                raise ConfigError(f"{w}: kind must be 'empirical' or 'lognormal'; got {kind!r}")
            if corr is not None:
                raise ConfigError(f"{here}: correlation cannot be combined with estimates "
                                  "(the estimates carry their own correlation)")
            return VirtualPopulation.from_estimates(mdl, _estimates_frame(frame, w), kind=kind,
                                             parameters=est.get("parameters"),
                                             distributions=dists, truncate=truncate)
        return VirtualPopulation(mdl, dists, correlation=corr, truncate=truncate)
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
    check_unknown(value, _FRAGMENT_KEYS | {"name", "labels"}, where)
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
    from .simulate import scenario_grid

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


def _observation(cfg: dict[str, Any], where: str) -> ScanProtocol | None:
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
        return ScanProtocol(**kw)
    except TgsimError as exc:
        raise _fail(where, f"[observation] {exc}") from None


def _error_model(spec: Any, where: str):
    from .. import observe

    if not isinstance(spec, Mapping) or "model" not in spec:
        raise ConfigError(f"{where}: must be a table with model = additive | proportional | "
                          f"combined | lognormal; got {spec!r}")
    kind = spec["model"]
    if kind not in _ERROR_MODELS:
        raise ConfigError(f"{where}: unknown error model {kind!r}; choose one of "
                          f"{', '.join(_ERROR_MODELS)}")
    cls_name, keys = _ERROR_MODELS[kind]
    args = {k: v for k, v in spec.items() if k != "model"}
    check_unknown(args, keys, f"{where} (model {kind!r})")
    missing = [k for k in keys if k not in args]
    if missing:
        raise ConfigError(f"{where}: model {kind!r} needs key {missing[0]!r}")
    for k, v in args.items():
        _num(v, where, k, minimum=0)
    try:
        return getattr(observe, cls_name)(**{k: float(v) for k, v in args.items()})
    except TgsimError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _readouts(cfg: dict[str, Any], where: str, has_obs: bool) -> ReadoutSettings | None:
    if "readouts" not in cfg:
        return ReadoutSettings(recist=has_obs)
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
        r = ReadoutSettings(**kw)
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
    if bad and hook and bad[0] in _OUTPUT_KEYS:
        raise _fail(where, f"[output]: unknown key {bad[0]!r} (with an analysis hook the "
                           f"function writes its own files); allowed keys are "
                           f"{', '.join(sorted(allowed))}")
    check_unknown(out, allowed, f"{where}: [output]")
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
            from .simulate import have_zarr

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
    from ..limits import check_grid

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


