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
    primary: xr.Dataset,
    model: MetastasisModel,
    *,
    times: Sequence[float] | np.ndarray | None = None,
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
    primary : xarray.Dataset
        Result of :func:`tgsim.simulate` (``volume(subject, time)`` in mm^3; attrs naming
        the model and schedule). Seeding starts at its first time. Between its times the
        volume is interpolated log-linearly (exact for exponential growth): give a fine
        time grid, or use :func:`simulate_spread`.
    model : MetastasisModel
        Seeding, colony growth, size bins and detection limit.
    times : array_like, optional
        Output times (days) within the primary's times; default the primary's times.
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
    if not isinstance(model, MetastasisModel):
        raise TgsimError(f"`model` must be a MetastasisModel; got {type(model).__name__}")
    if mode not in MODES:
        raise TgsimError(f"`mode` must be one of {', '.join(MODES)}; got {mode!r}")
    u, V = _check_primary(primary)
    n = V.shape[0]
    if times is None:
        t = u.copy()
    else:
        t = check_times(times)
        if t[0] < u[0] or t[-1] > u[-1]:
            raise TgsimError(
                f"`times` must lie within the primary's times [{u[0]:g}, {u[-1]:g}]; got "
                f"[{t[0]:g}, {t[-1]:g}]")
    if mode == "stochastic":
        if int(replicates) != replicates or replicates < 2:
            raise TgsimError(f"`replicates` must be an integer >= 2; got {replicates!r}")
        if seed is not None and (int(seed) != seed or seed < 0):
            raise TgsimError(f"`seed` must be a non-negative integer or None; got {seed!r}")
    for name, val, lo in (("age_points", age_points, 3), ("birth_points", birth_points, 2),
                          ("max_steps", max_steps, 1), ("max_colonies", max_colonies, 1),
                          ("secondary_points", secondary_points, 3)):
        if int(val) != val or val < lo:
            raise TgsimError(f"`{name}` must be an integer >= {lo}; got {val!r}")
    if not (isinstance(rtol, int | float) and math.isfinite(rtol) and rtol > 0):
        raise TgsimError(f"`rtol` must be a positive number; got {rtol!r}")
    x0 = model.colony_start_volume
    if atol is None:
        atol = 1e-9 * x0
    elif not (isinstance(atol, int | float) and math.isfinite(atol) and atol > 0):
        raise TgsimError(f"`atol` must be a positive number; got {atol!r}")
    sched = schedule_from_attrs(primary.attrs) if schedule is None else Schedule.coerce(schedule)
    t0 = float(primary.attrs.get("t0", u[0]))
    if t0 < u[0] - 1e-12:
        warnings.warn(
            f"the primary starts at t0={t0:g} but its first time is {u[0]:g}; seeding is "
            "counted from the first time", TgsimWarning, stacklevel=2)

    intensity = emission_intensity(u, V, sched, model, t0)
    params = names = None
    if "parameters" in primary and "param" in primary["parameters"].dims:
        params = np.asarray(primary["parameters"].transpose("subject", "param").values,
                            dtype=np.float64)
        names = [str(p) for p in primary["param"].values]
    growth = colony_growth(model, primary.attrs, params, names, n, sched)

    vol_itc, vol_micro = model.class_volume_bounds()
    v_det = model.detection_volume
    edges_mm = np.asarray(model.size_bins_mm, dtype=np.float64)
    edges = np.asarray(diameter_to_volume(edges_mm), dtype=np.float64)
    v_ext = model.extinction_volume
    common = dict(v_ext=v_ext, age_points=int(age_points), birth_points=int(birth_points),
                  rtol=float(rtol), atol=float(atol), max_steps=int(max_steps))
    if mode == "deterministic":
        thr = np.concatenate([[0.0, vol_itc, vol_micro, v_det], edges])
        counts = expected_counts(intensity, growth, t, thr, 3, model=model,
                                 secondary_points=int(secondary_points), **common)
        a = counts.above
        classes = np.stack([a[..., 0] - a[..., 1], a[..., 1] - a[..., 2], a[..., 2]], axis=2)
        classes = np.maximum(classes, 0.0)
        hist = a[..., 4:-1]  # N(> edge b) - N(> edge b+1), in place (a is large)
        hist -= a[..., 5:]
        np.maximum(hist, 0.0, out=hist)
        p_any = -np.expm1(-classes)
        detectable = a[..., 3]
        p_detectable = -np.expm1(-detectable)
        total = a[..., 0]
        se = None
    else:
        if model.has_secondary_seeding:
            raise TgsimError("secondary seeding (secondary_seeding_rate > 0) is available in "
                             "mode='deterministic' only")
        counts, extra = sample_counts(intensity, growth, t, vol_itc, vol_micro, v_det, edges,
                                      replicates=int(replicates), seed=seed,
                                      max_colonies=int(max_colonies), **common)
        classes = extra["classes"]
        hist = extra["hist"]
        p_any = counts.p_any[..., :3]
        detectable = counts.above[..., 3]
        p_detectable = counts.p_any[..., 3]
        total = counts.above[..., 0]
        se = counts.se
    seeded = intensity.cumulative(t)
    rate = intensity.rate(t)
    pvol = intensity.volume(t)

    status = counts.status.astype(np.int8).copy()
    if "status" in primary:
        ps = np.asarray(primary["status"].values, dtype=np.int8).reshape(-1)
        if ps.size == n:
            status = np.where(ps != 0, ps, status).astype(np.int8)
    bad = intensity.bad | (status != 0)
    if bad.any():
        for arr in (classes, hist, p_any, detectable, p_detectable, total, counts.burden,
                    seeded, rate, pvol, counts.cum_detected):
            arr[bad] = np.nan
        counts.time_to_detection[bad] = np.nan
        counts.p_detected[bad] = np.nan
        if se is not None:
            for arr in se.values():
                arr[bad] = np.nan
        status = np.where((status == 0) & intensity.bad, np.int8(3), status).astype(np.int8)
        warnings.warn(f"{int(bad.sum())} of {n} primary trajector(ies) or colony "
                      "integrations failed; their results are NaN (see `status`)",
                      TgsimWarning, stacklevel=2)

    attrs = {
        "mode": mode,
        "method": counts.method,
        "metastasis": json.dumps(model.to_dict()),
        "colony_model": growth.model.name,
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
    subjects = primary["subject"].values if "subject" in primary.coords else np.arange(n)
    return build_dataset(
        subjects=subjects, times=t, classes=classes, p_any=p_any, detectable=detectable,
        p_detectable=p_detectable, total=total, burden=counts.burden, hist=hist,
        bins_mm=edges_mm, seeded=seeded, rate=rate, primary_volume=pvol,
        time_to_detection=counts.time_to_detection, p_detected=counts.p_detected,
        cum_detected=counts.cum_detected, status=status, attrs=attrs, se=se)


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
    """Simulate primaries on a fine grid and compute their metastatic spread.

    The primary is simulated with :func:`tgsim.simulate` at ``times`` plus
    ``primary_points`` uniform times over the same span (so that the log-linear
    interpolation of the primary volume used for seeding is accurate), then
    :func:`metastatic_spread` reports at ``times``.

    Parameters
    ----------
    primary_model : str or Model
        Growth law of the primary.
    times : array_like
        Output times (days).
    params : mapping
        Primary parameters (scalars or one value per primary).
    metastasis : MetastasisModel
    schedule : Schedule, optional
    t0 : float, optional
        Start (days); default ``times[0]``. Seeding starts at t0.
    primary_points : int, default 2001
    **options
        Passed to :func:`metastatic_spread` (mode, replicates, seed, ...).

    Examples
    --------
    With exponential growth V = V0 e^(g t) and seeding m V^alpha, the expected number of
    colonies seeded by day T is m V0^alpha (e^(alpha g T) - 1) / (alpha g):

    >>> import numpy as np, tgsim
    >>> mm = tgsim.MetastasisModel(seeding_rate=1e-4, seeding_exponent=2 / 3)
    >>> spread = tgsim.simulate_spread("exponential", [0.0, 100.0, 200.0],
    ...                                {"initial_volume": 1.0, "growth_rate": 0.05}, mm)
    >>> alpha_g = 2 / 3 * 0.05
    >>> closed = 1e-4 * (np.exp(alpha_g * np.array([0.0, 100.0, 200.0])) - 1) / alpha_g
    >>> bool(np.allclose(spread.total_colonies.isel(subject=0), closed, rtol=1e-3))
    True
    """
    t = check_times(times)
    start = float(t[0]) if t0 is None else float(t0)
    if int(primary_points) != primary_points or primary_points < 2:
        raise TgsimError(f"`primary_points` must be an integer >= 2; got {primary_points!r}")
    grid = np.unique(np.concatenate([[start], t, np.linspace(start, t[-1], int(primary_points))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        prim = simulate(primary_model, grid, params, schedule=schedule, t0=start)
    return metastatic_spread(prim, metastasis, times=t, schedule=schedule, **options)
