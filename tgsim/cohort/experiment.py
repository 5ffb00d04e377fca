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
    summary = "summary.csv"     # tidy rates, tgsim.cohort.readouts.summarise_cohort; false: none
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
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ConfigError, TgsimError
from ..io.toml import toml_dumps
from .experiment_config import (
    FIGURES,
    RUNNER_KEYS,
    Experiment,
    _resolve_hook,
    load_experiment,
)
from .experiment_figures import _write_figure
from .readouts import (
    summarise_cohort,
)
from .simulate import (
    open_cohort,
    simulate_cohort,
)
from .tables import _resolve

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["Experiment", "ExperimentResult", "load_experiment", "run_experiment",
           "FIGURES", "RUNNER_KEYS", "toml_dumps"]


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
        The summary table (:func:`tgsim.cohort.readouts.summarise_cohort`) of a cohort experiment.
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
    from ..io import atomic_dir

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
    from ..io import atomic_path

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
    from .streams import check_seed

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
    table = summarise_cohort(ds)
    if out["summary"]:
        _write_summary(table, tmp / out["summary"])
        files["summary"] = out["summary"]
    for name in out["figures"]:
        fname = f"{name}.png"
        if _write_figure(name, ds, tmp / fname, exp.title):
            files[f"figure_{name}"] = fname
    return files, table, _resolved_config(exp, n, s, scheduler)


def _write_dataset(ds, path: Path) -> None:
    """Write a NetCDF file atomically (a temporary file renamed into place).

    The format is NetCDF-3 through scipy, whatever other NetCDF libraries are installed, so
    the files are the same on every machine (as ``tgsim simulate -o`` writes them)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="scipy")


def _write_summary(table, path: Path) -> None:
    from ..io import atomic_path

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


