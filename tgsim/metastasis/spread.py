"""Metastatic spread from simulated primaries: :func:`metastatic_spread`, :func:`simulate_spread`.

Labels outside, arrays inside: this module validates the inputs, builds the emission
intensity (:mod:`~tgsim.metastasis.seeding`) and the colony growth
(:mod:`~tgsim.metastasis.colonies`), calls the deterministic or the stochastic solver and
wraps the result as an :class:`xarray.Dataset` with a ``size_class`` dimension.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._version import __version__
from ..errors import TgsimError, TgsimWarning
from ..simulation import check_times, simulate
from ..treatment import (
    Acceleration,
    Chemotherapy,
    Immunotherapy,
    Radiotherapy,
    Schedule,
    Surgery,
    Swelling,
    TargetedTherapy,
)
from .colonies import colony_growth
from .deterministic import expected_counts
from .model import MetastasisModel
from .readouts import build_dataset, class_bounds_mm, diameter_to_volume
from .seeding import emission_intensity
from .stochastic import sample_counts

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

    from ..engine.catalogue import Model

__all__ = ["metastatic_spread", "simulate_spread", "schedule_from_attrs", "MODES"]

MODES = ("deterministic", "stochastic")

_TYPES = {c.__name__: c for c in (Surgery, Radiotherapy, Chemotherapy, TargetedTherapy,
                                  Immunotherapy, Acceleration)}

_REFERENCES = (
    "Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186; "
    "Benzekry S, Tracz A, Mastri M, et al. Cancer Res 2016;76:535-547"
)


def schedule_from_attrs(attrs: Mapping[str, Any]) -> Schedule:
    """Rebuild the Schedule stored (as JSON) in the attrs of a :func:`tgsim.simulate` result."""
    text = attrs.get("schedule")
    if not text:
        return Schedule()
    try:
        items = json.loads(text)
    except (TypeError, ValueError):
        raise TgsimError("the primary Dataset's attrs['schedule'] is not valid JSON; pass "
                         "schedule= explicitly") from None
    out = []
    for d in items:
        d = dict(d)
        cls = _TYPES.get(d.pop("type", None))
        if cls is None:
            raise TgsimError(f"unknown intervention in attrs['schedule']: {d!r}; pass "
                             "schedule= explicitly")
        if isinstance(d.get("acceleration"), dict):
            d["acceleration"] = Acceleration(**d["acceleration"])
        if isinstance(d.get("swelling"), dict):
            d["swelling"] = Swelling(**d["swelling"])
        out.append(cls(**d))
    return Schedule(out)


def _check_primary(primary: Any):
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        raise
    if not isinstance(primary, xr.Dataset) or "volume" not in primary:
        raise TgsimError("`primary` must be an xarray.Dataset with a `volume(subject, time)` "
                         f"variable (a tgsim.simulate result); got {type(primary).__name__}")
    vol = primary["volume"]
    if set(vol.dims) != {"subject", "time"}:
        raise TgsimError(f"`primary.volume` must have dims (subject, time); got {vol.dims}")
    u = check_times(primary["time"].values, "primary.time")
    V = np.asarray(vol.transpose("subject", "time").values, dtype=np.float64)
    if u.size < 2:
        raise TgsimError("`primary` needs at least 2 times to define the seeding rate")
    return u, V


def metastatic_spread(
    primary: xr.Dataset | str | Model,
    model: MetastasisModel,
    *,
    times: Sequence[float] | np.ndarray | None = None,
    params: Mapping[str, Any] | None = None,
    t0: float | None = None,
    primary_points: int = 2001,
    mode: str = "deterministic",
    replicates: int = 1000,
    seed: int | None = None,
    schedule: Schedule | Sequence[Any] | None = None,
    age_points: int = 4097,
    birth_points: int = 400,
    rtol: float = 1e-8,
    atol: float | None = None,
    max_steps: int = 100_000,
    max_colonies: int = 20_000_000,
    secondary_points: int = 1001,
) -> xr.Dataset:
    r"""Metastatic colonies seeded by simulated primaries: counts by size class over time.

    The primary of each subject emits colonies at rate :math:`\beta(t) = m S(t)
    V(t)^\alpha` (see :class:`MetastasisModel`); each colony grows from one cell by the
    colony card, under the systemic part of the schedule. **Deterministic** mode gives the
    expected counts by the method of characteristics (exact for untreated colonies with an
    increasing growth curve, and for exponential growth throughout; see
    :mod:`tgsim.metastasis.deterministic`). **Stochastic** mode samples the Poisson
    emission and follows individual colonies over ``replicates`` replicates (see
    :mod:`tgsim.metastasis.stochastic`).

    Surgery: a resection with ``resected_fraction >= model.complete_resection`` removes
    the primary, which emits nothing from that day; ``Surgery(shed_colonies=n)`` sheds a
    Poisson number (mean n) of colonies born at the operation day (a biopsy is
    ``Surgery(day, resected_fraction=0, shed_colonies=n)``). ``Acceleration.seeding_factor``
    multiplies the emission from its onset; with ``colony_growth=True`` the acceleration
    also speeds up the colonies.

    Parameters
    ----------
    primary : xarray.Dataset, str or Model
        Result of :func:`tgsim.simulate` (``volume(subject, time)`` in mm^3; attrs naming
        the model and schedule); seeding starts at its first time and between its times
        the volume is interpolated log-linearly (exact for exponential growth), so give a
        fine grid. Or the primary's card (name or Model) with ``times`` and ``params``:
        it is then simulated at ``times`` plus ``primary_points`` uniform times from ``t0``.
    model : MetastasisModel
        Seeding, colony growth, size bins and detection limit.
    times : array_like, optional
        Output times (days) within the primary's times; default the primary's times.
        Required with a card.
    params : mapping, optional
        With a card: the primary's parameters (scalars or one value per primary).
    t0 : float, optional
        With a card: the start (days; default ``times[0]``), where seeding starts.
    primary_points : int, default 2001
        With a card: uniform simulation times of the primary.
    mode : {"deterministic", "stochastic"}
    replicates : int, default 1000
        Stochastic mode: replicates per primary (>= 2).
    seed : int, optional
        Stochastic mode: seed of ``numpy.random.default_rng``.
    schedule : Schedule, optional
        The primary's treatment; default: rebuilt from ``primary.attrs["schedule"]``.
    age_points : int, default 4097
        Nodes of the tabulated untreated colony curve (ages 0 to the time span).
    birth_points : int, default 400
        Uniform birth-time nodes (added to the event days and output times) for treated
        colonies; also the time resolution of extinction and of detection for them.
    rtol, atol : float
        Tolerances of the colony integrator (atol default: 1e-9 colony start volumes).
    max_steps : int
        Step budget per colony.
    max_colonies : int
        Stochastic mode: refuse a run expected to follow more colonies than this.
    secondary_points : int, default 1001
        Uniform nodes of the renewal equation of secondary seeding (colonies seeding
        colonies; ``model.secondary_seeding_rate`` > 0, deterministic mode). Its cost
        grows as the square of this number per primary. With secondary seeding the
        colonies are clustered, so ``p_any = 1 - exp(-count)`` overstates the
        probability of at least one colony.

    Returns
    -------
    xarray.Dataset
        Dims ``subject, time, size_class`` (ITC, micrometastasis, macrometastasis) and
        ``size_bin``. Variables: ``colonies(subject, time, size_class)``, ``p_any`` (P(at
        least one colony in the class)), ``detectable`` and ``p_detectable`` (colonies
        above the detection limit), ``total_colonies``, ``burden`` (mm^3),
        ``size_histogram(subject, time, size_bin)``, ``seeded`` (cumulative emission),
        ``seeding_rate`` (1/day), ``primary_volume`` (mm^3), ``time_to_detection(subject)``
        (median time to the first detectable metastasis, days),
        ``cumulative_detection(subject, time)`` (probability that a metastasis has been
        detectable by then), ``p_detected(subject)`` (its last value) and
        ``status(subject)``; in stochastic mode also ``*_se`` standard errors.
        Counts are expected values (deterministic) or replicate means (stochastic).

    Raises
    ------
    TgsimError
        For invalid input; the message names the argument and value.

    References
    ----------
    Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186.
    Benzekry S, Tracz A, Mastri M, et al. Cancer Res 2016;76:535-547.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> from tgsim.metastasis import MetastasisModel, metastatic_spread
    >>> prim = tgsim.simulate("exponential", np.linspace(0, 100, 101),
    ...                       {"initial_volume": 10.0, "growth_rate": 0.02})
    >>> res = metastatic_spread(prim, MetastasisModel(seeding_rate=1e-3,
    ...                                               seeding_exponent=1.0))
    >>> float(res.total_colonies.isel(subject=0, time=-1)) > 0
    True
    """
    if isinstance(primary, str) or hasattr(primary, "parameter_names"):  # a card
        primary, times = _simulated_primary(primary, times, params, schedule, t0,
                                            primary_points)
    elif params is not None or t0 is not None:
        raise TgsimError("`params` and `t0` go with a card as `primary`, not with a "
                         "simulated Dataset")
    return _spread(primary, model, times=times, mode=mode, replicates=replicates, seed=seed,
                   schedule=schedule, age_points=age_points, birth_points=birth_points,
                   rtol=rtol, atol=atol, max_steps=max_steps, max_colonies=max_colonies,
                   secondary_points=secondary_points)


def _spread(primary: xr.Dataset, model: MetastasisModel, *, times: Any, mode: str,
            replicates: int, seed: int | None, schedule: Any, age_points: int,
            birth_points: int, rtol: float, atol: float | None, max_steps: int,
            max_colonies: int, secondary_points: int) -> xr.Dataset:
    """:func:`metastatic_spread` of a simulated primary."""
    if not isinstance(model, MetastasisModel):
        raise TgsimError(f"`model` must be a MetastasisModel; got {type(model).__name__}")
    if mode not in MODES:
        raise TgsimError(f"`mode` must be one of {', '.join(MODES)}; got {mode!r}")
    u, V = _check_primary(primary)
    n = V.shape[0]
    t = _output_times(times, u)
    atol = _check_solver_options(
        model, mode, replicates, seed, rtol, atol, age_points=age_points,
        birth_points=birth_points, max_steps=max_steps, max_colonies=max_colonies,
        secondary_points=secondary_points)
    sched, t0 = _schedule_and_start(primary, schedule, u)

    intensity = emission_intensity(u, V, sched, model, t0)
    growth = colony_growth(model, primary.attrs, *_primary_parameters(primary), n, sched)
    edges_mm = np.asarray(model.size_bins_mm, dtype=np.float64)
    common = dict(v_ext=model.extinction_volume, age_points=int(age_points),
                  birth_points=int(birth_points), rtol=float(rtol), atol=float(atol),
                  max_steps=int(max_steps))
    if mode == "deterministic":
        out = _deterministic_counts(intensity, growth, t, model, edges_mm,
                                    int(secondary_points), common)
    else:
        out = _stochastic_counts(intensity, growth, t, model, edges_mm, int(replicates), seed,
                                 int(max_colonies), common)
    seeded = intensity.cumulative(t)
    rate = intensity.rate(t)
    pvol = intensity.volume(t)
    status = _mark_failures(primary, intensity, out, n, (seeded, rate, pvol))

    attrs = _spread_attrs(primary, model, mode, out.counts.method, growth.model.name, sched,
                          replicates, seed)
    counts = out.counts
    subjects = primary["subject"].values if "subject" in primary.coords else np.arange(n)
    return build_dataset(
        subjects=subjects, times=t, classes=out.classes, p_any=out.p_any,
        detectable=out.detectable, p_detectable=out.p_detectable, total=out.total,
        burden=counts.burden, hist=out.hist, bins_mm=edges_mm, seeded=seeded, rate=rate,
        primary_volume=pvol, time_to_detection=counts.time_to_detection,
        p_detected=counts.p_detected, cum_detected=counts.cum_detected, status=status,
        attrs=attrs, se=out.se)


def _schedule_and_start(
    primary: xr.Dataset, schedule: Schedule | Sequence[Any] | None, u: np.ndarray
) -> tuple[Schedule, float]:
    """The primary's schedule (given, or rebuilt from its attrs) and its start ``t0``."""
    sched = schedule_from_attrs(primary.attrs) if schedule is None else Schedule.coerce(schedule)
    t0 = float(primary.attrs.get("t0", u[0]))
    if t0 < u[0] - 1e-12:
        warnings.warn(
            f"the primary starts at t0={t0:g} but its first time is {u[0]:g}; seeding is "
            "counted from the first time", TgsimWarning, stacklevel=3)
    return sched, t0


def _output_times(times: Sequence[float] | np.ndarray | None, u: np.ndarray) -> np.ndarray:
    """The output times: the primary's times ``u`` by default, else ``times`` within them."""
    if times is None:
        return u.copy()
    t = check_times(times)
    if t[0] < u[0] or t[-1] > u[-1]:
        raise TgsimError(
            f"`times` must lie within the primary's times [{u[0]:g}, {u[-1]:g}]; got "
            f"[{t[0]:g}, {t[-1]:g}]")
    return t


def _check_solver_options(
    model: MetastasisModel, mode: str, replicates: int, seed: int | None, rtol: float,
    atol: float | None, **sizes: int,
) -> float:
    """Check the replicate, seed, size and tolerance options; returns ``atol`` (default
    1e-9 colony start volumes)."""
    if mode == "stochastic":
        if int(replicates) != replicates or replicates < 2:
            raise TgsimError(f"`replicates` must be an integer >= 2; got {replicates!r}")
        if seed is not None and (int(seed) != seed or seed < 0):
            raise TgsimError(f"`seed` must be a non-negative integer or None; got {seed!r}")
    lowest = {"age_points": 3, "birth_points": 2, "max_steps": 1, "max_colonies": 1,
              "secondary_points": 3}
    for name, lo in lowest.items():
        val = sizes[name]
        if int(val) != val or val < lo:
            raise TgsimError(f"`{name}` must be an integer >= {lo}; got {val!r}")
    if not (isinstance(rtol, int | float) and math.isfinite(rtol) and rtol > 0):
        raise TgsimError(f"`rtol` must be a positive number; got {rtol!r}")
    if atol is None:
        return 1e-9 * model.colony_start_volume
    if not (isinstance(atol, int | float) and math.isfinite(atol) and atol > 0):
        raise TgsimError(f"`atol` must be a positive number; got {atol!r}")
    return atol


def _primary_parameters(primary: xr.Dataset) -> tuple[np.ndarray | None, list[str] | None]:
    """The primary's ``parameters(subject, param)`` and parameter names, when present."""
    if "parameters" in primary and "param" in primary["parameters"].dims:
        params = np.asarray(primary["parameters"].transpose("subject", "param").values,
                            dtype=np.float64)
        return params, [str(p) for p in primary["param"].values]
    return None, None


@dataclass
class _ClassCounts:
    """Colony counts by size class and size bin, as the solver of one mode gives them."""

    counts: Any  # the solver's result (burden, status, detection, method)
    classes: np.ndarray  # (subject, time, size_class)
    hist: np.ndarray  # (subject, time, size_bin)
    p_any: np.ndarray
    detectable: np.ndarray
    p_detectable: np.ndarray
    total: np.ndarray
    se: dict[str, np.ndarray] | None


def _deterministic_counts(
    intensity: Any, growth: Any, t: np.ndarray, model: MetastasisModel, edges_mm: np.ndarray,
    secondary_points: int, common: dict[str, Any],
) -> _ClassCounts:
    """Expected counts by the method of characteristics."""
    vol_itc, vol_micro = model.class_volume_bounds()
    edges = np.asarray(diameter_to_volume(edges_mm), dtype=np.float64)
    thr = np.concatenate([[0.0, vol_itc, vol_micro, model.detection_volume], edges])
    counts = expected_counts(intensity, growth, t, thr, 3, model=model,
                             secondary_points=secondary_points, **common)
    a = counts.above
    classes = np.stack([a[..., 0] - a[..., 1], a[..., 1] - a[..., 2], a[..., 2]], axis=2)
    classes = np.maximum(classes, 0.0)
    hist = a[..., 4:-1]  # N(> edge b) - N(> edge b+1), in place (a is large)
    hist -= a[..., 5:]
    np.maximum(hist, 0.0, out=hist)
    detectable = a[..., 3]
    return _ClassCounts(counts, classes, hist, p_any=-np.expm1(-classes),
                        detectable=detectable, p_detectable=-np.expm1(-detectable),
                        total=a[..., 0], se=None)


def _stochastic_counts(
    intensity: Any, growth: Any, t: np.ndarray, model: MetastasisModel, edges_mm: np.ndarray,
    replicates: int, seed: int | None, max_colonies: int, common: dict[str, Any],
) -> _ClassCounts:
    """Replicate means of sampled colonies, with their standard errors."""
    vol_itc, vol_micro = model.class_volume_bounds()
    edges = np.asarray(diameter_to_volume(edges_mm), dtype=np.float64)
    if model.has_secondary_seeding:
        raise TgsimError("secondary seeding (secondary_seeding_rate > 0) is available in "
                         "mode='deterministic' only")
    counts, extra = sample_counts(intensity, growth, t, vol_itc, vol_micro,
                                  model.detection_volume, edges, replicates=replicates,
                                  seed=seed, max_colonies=max_colonies, **common)
    return _ClassCounts(counts, extra["classes"], extra["hist"], p_any=counts.p_any[..., :3],
                        detectable=counts.above[..., 3], p_detectable=counts.p_any[..., 3],
                        total=counts.above[..., 0], se=counts.se)


def _mark_failures(
    primary: xr.Dataset, intensity: Any, out: _ClassCounts, n: int,
    series: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Status per subject (the primary's failures first); the results of a failed subject
    (``out`` and ``series``, in place) become NaN, with a warning."""
    counts = out.counts
    status = counts.status.astype(np.int8).copy()
    if "status" in primary:
        ps = np.asarray(primary["status"].values, dtype=np.int8).reshape(-1)
        if ps.size == n:
            status = np.where(ps != 0, ps, status).astype(np.int8)
    bad = intensity.bad | (status != 0)
    if bad.any():
        for arr in (out.classes, out.hist, out.p_any, out.detectable, out.p_detectable,
                    out.total, counts.burden, *series, counts.cum_detected):
            arr[bad] = np.nan
        counts.time_to_detection[bad] = np.nan
        counts.p_detected[bad] = np.nan
        if out.se is not None:
            for arr in out.se.values():
                arr[bad] = np.nan
        status = np.where((status == 0) & intensity.bad, np.int8(3), status).astype(np.int8)
        warnings.warn(f"{int(bad.sum())} of {n} primary trajector(ies) or colony "
                      "integrations failed; their results are NaN (see `status`)",
                      TgsimWarning, stacklevel=3)
    return status


def _spread_attrs(
    primary: xr.Dataset, model: MetastasisModel, mode: str, method: str, colony_model: str,
    sched: Schedule, replicates: int, seed: int | None,
) -> dict[str, Any]:
    """The result's attributes: mode, method, models, schedule, version and citation."""
    attrs = {
        "mode": mode,
        "method": method,
        "metastasis": json.dumps(model.to_dict()),
        "colony_model": colony_model,
        "colony_start_volume_mm3": model.colony_start_volume,
        "detection_limit_mm": model.detection_limit_mm,
        "itc_max_mm": class_bounds_mm()[0],
        "micro_max_mm": class_bounds_mm()[1],
        "primary_model": str(primary.attrs.get("model", "")),
        "schedule": json.dumps(sched.to_dict()),
        "tgsim_version": __version__,
        "citation": _REFERENCES,
    }
    if mode == "stochastic":
        attrs["replicates"] = int(replicates)
        attrs["seed"] = "none" if seed is None else int(seed)
    return attrs


def _simulated_primary(card: Any, times: Any, params: Any, schedule: Any, t0: Any,
                       primary_points: Any) -> tuple[xr.Dataset, np.ndarray]:
    """Simulate the primary of a card on a fine grid (for :func:`metastatic_spread`)."""
    if times is None or params is None:
        raise TgsimError("with a card as `primary`, give `times` (days) and `params` (the "
                         "primary's parameters); or pass a tgsim.simulate result")
    t = check_times(times)
    start = float(t[0]) if t0 is None else float(t0)
    if isinstance(primary_points, bool) or int(primary_points) != primary_points \
            or primary_points < 2:
        raise TgsimError(f"`primary_points` must be an integer >= 2; got {primary_points!r}")
    grid = np.unique(np.concatenate([[start], t, np.linspace(start, t[-1], int(primary_points))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        prim = simulate(card, grid, params, schedule=schedule, t0=start)
    return prim, t


def simulate_spread(
    primary_model: Any,
    times: Sequence[float] | np.ndarray,
    params: Mapping[str, Any],
    metastasis: MetastasisModel,
    *,
    schedule: Schedule | Sequence[Any] | None = None,
    t0: float | None = None,
    primary_points: int = 2001,
    **options: Any,
) -> xr.Dataset:
    """Deprecated: use ``metastatic_spread(card, model, times=..., params=...)``.

    Kept for one release; it warns and calls :func:`metastatic_spread` with the card.
    """
    warnings.warn("simulate_spread(card, times, params, model) is now "
                  "metastatic_spread(card, model, times=times, params=params); the old name "
                  "will be removed in the next release", DeprecationWarning, stacklevel=2)
    return metastatic_spread(primary_model, metastasis, times=times, params=params,
                             schedule=schedule, t0=t0, primary_points=primary_points,
                             **options)
