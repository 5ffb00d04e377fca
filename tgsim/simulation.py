"""Simulate tumour growth for one subject or a cohort: ``tgsim.simulate``.

Labels outside, arrays inside: this module validates and copies the inputs, packs the
parameter matrix in the card's order, encodes the schedule, calls a compiled kernel and
wraps the result as an :class:`xarray.Dataset`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._version import __version__
from .engine.catalogue import Model
from .engine.catalogue import model as get_model
from .engine.compile import announce, kernels, numpy_closed
from .engine.kernels.closed_numpy import exp_rows, solve_closed_numpy
from .engine.kernels.rows import run_rows
from .errors import STATUS_MESSAGES, Status, TgsimError, TgsimWarning, flag_attrs
from .treatment import PackedSchedule, Schedule

__all__ = ["simulate", "check_times", "parameter_matrix", "run_kernel", "check_max_steps",
           "check_output_size"]

SOLVERS = (None, "auto", "ode", "closed_form")


def check_times(times: Any, name: str = "times") -> np.ndarray:
    """Validate output times (days): 1-D, finite, non-empty, strictly increasing.

    Dates and durations (numpy datetime64/timedelta64, pandas Timestamps) are refused:
    as numbers they would be nanoseconds, not days; the message says how to convert.
    """
    kind = getattr(getattr(times, "dtype", None), "kind", None)
    if kind is None and not isinstance(times, str | bytes):
        import datetime as _dt

        flat = np.asarray(times, dtype=object).ravel() if np.ndim(times) else [times]
        if len(flat) and isinstance(flat[0], _dt.date | _dt.timedelta | np.datetime64
                                    | np.timedelta64):
            kind = "M"
    if kind in ("M", "m"):
        raise TgsimError(
            f"`{name}` holds dates or durations, not days; convert them explicitly, e.g. "
            "(dates - dates[0]) / np.timedelta64(1, 'D')"
        )
    try:
        t = np.array(times, dtype=np.float64)
    except (TypeError, ValueError):
        raise TgsimError(f"`{name}` must be an array of numbers (days); got {times!r}") from None
    if t.ndim == 0:
        t = t.reshape(1)
    if t.ndim != 1:
        raise TgsimError(f"`{name}` must be 1-D; got shape {t.shape}")
    if t.size == 0:
        raise TgsimError(f"`{name}` is empty; give at least one time (days)")
    bad = ~np.isfinite(t)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TgsimError(f"`{name}` must be finite; got {name}[{i}]={float(t[i])!r}")
    d = np.diff(t)
    if np.any(d <= 0):
        i = int(np.flatnonzero(d <= 0)[0]) + 1
        what = "duplicate" if d[i - 1] == 0 else "unsorted"
        raise TgsimError(
            f"`{name}` must be strictly increasing ({what}); got {name}[{i}]={t[i]:g} "
            f"after {name}[{i - 1}]={t[i - 1]:g}"
        )
    return t


def check_max_steps(max_steps: Any, name: str = "max_steps") -> int:
    """A step budget must be an integer >= 1 (not a bool, NaN or text)."""
    ok = isinstance(max_steps, int | np.integer) or (
        isinstance(max_steps, float | np.floating) and float(max_steps).is_integer())
    if isinstance(max_steps, bool) or not ok or max_steps < 1:
        raise TgsimError(f"`{name}` must be a positive integer; got {max_steps!r}")
    return int(max_steps)


def check_output_size(mdl: Model, n: int, n_times: int, what: str, scenarios: int = 1) -> None:
    """Refuse a result larger than the output budget (:mod:`tgsim.limits`) before
    allocating it: subjects x times x (states + volume + swelling/observed) x 8 bytes."""
    from .limits import check_bytes

    nbytes = 8.0 * n * scenarios * n_times * (len(mdl.states) + 4)
    check_bytes(nbytes, f"{what} with {n} subject(s) x {n_times} time(s)",
                "use fewer subjects or output times, or a cohort run streamed to Zarr "
                "(tgsim.simulate_cohort(..., store='cohort.zarr'); [output] dataset = "
                "'cohort.zarr' in an experiment file)")


def parameter_matrix(
    mdl: Model, params: Mapping[str, Any], n: int | None = None, *, where: str = "params"
) -> np.ndarray:
    """Validate a name -> value mapping and return the (n_subjects, n_params) matrix.

    Values may be scalars or 1-D arrays (one per subject); they are broadcast together.
    Names may be descriptive names or symbols. Parameters marked not required take their
    default when missing.
    """
    if not isinstance(params, Mapping):
        raise TgsimError(f"`{where}` must be a mapping of parameter name to value; got {params!r}")
    resolved: dict[str, np.ndarray] = {}
    for key, value in params.items():
        try:
            par = mdl.parameter(key)
        except KeyError as exc:
            raise TgsimError(f"`{where}`: {exc.args[0]}") from None
        if par.name in resolved:
            raise TgsimError(f"`{where}`: parameter {par.name!r} given twice (as name and symbol)")
        try:
            a = np.array(value, dtype=np.float64)
            if np.asarray(value).dtype.kind not in "iuf":
                raise TypeError
        except (TypeError, ValueError):
            raise TgsimError(
                f"`{where}`: {par.name} must be a number or 1-D array; got {value!r}"
            ) from None
        if a.ndim > 1:
            raise TgsimError(f"`{where}`: {par.name} must be a scalar or 1-D; got shape {a.shape}")
        if a.ndim == 1 and a.size == 0:
            raise TgsimError(f"`{where}`: {par.name} is an empty array; give at least one value")
        resolved[par.name] = a
    missing = [p.name for p in mdl.parameters if p.name not in resolved and p.required]
    if missing:
        raise TgsimError(
            f"`{where}`: missing value(s) for {', '.join(missing)} (model {mdl.name!r}); "
            f"defaults are {', '.join(f'{k}={mdl.parameter(k).default:g}' for k in missing)} "
            "(see tgsim.model(name).defaults())"
        )
    lengths = {k: v.shape[0] for k, v in resolved.items() if v.ndim == 1}
    sizes = set(lengths.values()) - {1}
    if n is None:
        if len(sizes) > 1:
            desc = ", ".join(f"{k} has {m}" for k, m in lengths.items())
            raise TgsimError(f"`{where}`: arrays of mismatched length: {desc}")
        n = sizes.pop() if sizes else 1
    else:
        bad = {k: m for k, m in lengths.items() if m not in (1, n)}
        if bad:
            desc = ", ".join(f"{k} has {m}" for k, m in bad.items())
            raise TgsimError(f"`{where}`: arrays of mismatched length ({n} subjects): {desc}")
    P = np.empty((n, len(mdl.parameters)))
    for j, par in enumerate(mdl.parameters):
        v = resolved.get(par.name, np.float64(par.default))
        col = np.broadcast_to(v.reshape(-1) if v.ndim else v, (n,))
        bad = ~np.isfinite(col) | (col < par.lower) | (col > par.upper)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            idx = f"[{i}]" if v.ndim else ""
            rule = "finite" if not np.isfinite(col[i]) else f"in [{par.lower:g}, {par.upper:g}]"
            raise TgsimError(
                f"`{where}`: {par.name}{idx} must be {rule} ({par.unit}); got {float(col[i])!r}"
            )
        P[:, j] = col
    return P


def _closed_form_reason(mdl: Model, packed: PackedSchedule) -> str | None:
    """Why the closed form cannot be used with this schedule (None if it can)."""
    if not mdl.has_closed_form:
        return f"model {mdl.name!r} has no closed form"
    if packed.has_doses:
        return "chemotherapy doses have time-varying concentration (no closed form)"
    if packed.has_swelling:
        return "pseudoprogression swelling adds a state with no closed form"
    if packed.expo.shape[1]:
        if not packed.constant_kill:
            return "a therapy with resistance_rate > 0 has a time-varying kill"
        if "kill" not in mdl.closed_form_supports:
            return f"the closed form of {mdl.name!r} does not include a constant kill"
    if packed.acc.shape[1]:
        if not packed.step_acceleration:
            return "a ramped acceleration is time-varying"
        if "accel" not in mdl.closed_form_supports:
            return f"the closed form of {mdl.name!r} does not include acceleration"
    return None


def _untreated(packed: PackedSchedule) -> bool:
    """True when the packed schedule holds no event at all (no jump, dose, exposure,
    acceleration or breakpoint)."""
    return not (packed.jt.shape[1] or packed.dose.shape[1] or packed.expo.shape[1]
                or packed.acc.shape[1] or packed.bp.shape[1])


def _treated_kernel(mdl: Model, k: Any, P: np.ndarray, packed: PackedSchedule,
                    nsw: int) -> str:
    """The row kernel for a treated ODE run that compiles least: the log-state form alone
    when every subject can take it (initial states positive, no jump to zero, no
    swelling), the linear form alone when none can, else the per-subject choice."""
    if nsw > 0 or not k.LOGSPACE:
        return "sim_lin_rows"
    if not mdl.has_closed_form:  # no NumPy initial states to check: decide per subject
        return "sim_ode_rows"
    _, init_np = numpy_closed(mdl)
    with np.errstate(all="ignore"):
        y0 = [np.asarray(v, dtype=float) for v in init_np(P)]  # (n, 1) columns or scalars
    ok = all(bool(np.all(v > 0) and np.all(np.isfinite(v))) for v in y0)
    ok = ok and bool(np.all(packed.jf != 0.0))
    return "sim_log_rows" if ok else "sim_ode_rows"


def run_kernel(
    mdl: Model,
    times: np.ndarray,
    t0: float,
    P: np.ndarray,
    packed: PackedSchedule,
    *,
    solver: str,
    rtol: float,
    atol: float,
    max_steps: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Call the compiled kernel on validated arrays.

    Returns
    -------
    states : ndarray, shape (n_subjects, n_times, n_states [+ 1 swelling])
    status : ndarray of int8, shape (n_subjects,)
    """
    n = P.shape[0]
    nsw = 1 if packed.has_swelling else 0
    ns = len(mdl.states)
    status = np.zeros(n, dtype=np.int64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    P = np.ascontiguousarray(P, dtype=np.float64)
    if solver == "closed_form" and _untreated(packed):
        # one expression over the whole grid: NumPy's SIMD ufuncs, no JIT start-up
        out = np.empty((n, times.size, ns))
        closed_np, init_np = numpy_closed(mdl)
        solve_closed_numpy(closed_np, init_np, times, float(t0), P, out, status)
        return out, status.astype(np.int8)
    k = kernels(mdl, "simulate")
    if solver == "closed_form":
        out = np.empty((n, times.size, ns))
        announce(k, "sim_closed_rows")
        run_rows(k.sim_closed_rows, n, times, float(t0), P, packed.jt, packed.jf, packed.expo,
                 packed.acc, packed.bp, out, status)
    else:
        out = np.empty((n, times.size, ns + nsw))  # every output is written by the kernels
        logged = np.zeros(n, dtype=np.bool_)
        # untreated cohorts: groups of subjects share steps, in SIMD lanes
        name = ("sim_lanes_rows" if nsw == 0 and _untreated(packed)
                else _treated_kernel(mdl, k, P, packed, nsw))
        announce(k, name)
        run_rows(getattr(k, name), n, times, float(t0), P, packed.jt, packed.jf, packed.dose,
                 packed.expo, packed.acc, packed.clear, packed.bp, nsw, float(rtol),
                 float(atol), int(max_steps), out, status, logged)
        exp_rows(out, logged, ns, status)  # rows integrated in log-states hold logs
    return out, status.astype(np.int8)


def simulate(
    model: str | Model,
    times: Sequence[float] | np.ndarray,
    params: Mapping[str, Any],
    *,
    schedule: Schedule | Sequence[Any] | None = None,
    t0: float | None = None,
    solver: str | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-12,
    max_steps: int = 100_000,
    subjects: Sequence[Any] | None = None,
    strict: bool = False,
):
    """Simulate tumour volume over time for one subject or a cohort.

    Parameters
    ----------
    model : str or Model
        A card name (see :func:`tgsim.models`), a path to a ``.toml`` card, or a Model.
    times : array_like
        Output times in **days**, strictly increasing. May be negative (pre-treatment
        scans); every time must be ``>= t0``.
    params : mapping
        Parameter name (or symbol) -> scalar, or 1-D array with one value per subject;
        arrays are broadcast together. ``initial_volume`` (mm³) is the volume at ``t0``.
    schedule : Schedule or list of interventions, optional
        Treatment (see :mod:`tgsim.treatment`). Events outside ``[t0, times[-1]]`` warn.
    t0 : float, optional
        Start time (days) at which the state equals the initial state; defaults to
        ``times[0]``.
    solver : {None, "ode", "closed_form"}
        ``None`` uses the card's closed form when it exists and the schedule keeps it
        exact, else the ODE; ``"ode"`` forces adaptive Dormand-Prince 5(4) integration;
        ``"closed_form"`` forces the formula and raises if it is not available.
    rtol, atol : float
        Integrator tolerances (relative, and absolute in mm³).
    max_steps : int
        Step budget per subject; a subject that exceeds it gets status ``max_steps``.
    subjects : sequence, optional
        Labels for the ``subject`` coordinate (default 0..n-1).
    strict : bool
        Raise instead of flagging a failed subject in ``status``.

    Returns
    -------
    xarray.Dataset
        Dims ``subject, time``. Variables: ``volume`` (mm³, the tumour burden: the sum of
        the card's states); when the schedule has pseudoprogression swelling, also
        ``swelling`` (mm³) and ``observed`` (mm³, volume plus swelling: what a scan sees;
        without swelling a scan sees ``volume``); ``state_volume(subject, time,
        state)`` for multi-state cards, ``parameters(subject, param)`` and
        ``status(subject)`` (0 = success; ``flag_meanings`` in attrs). Attrs name the
        model, card hash, tgsim version, solver, t0 and the schedule (JSON).

    Raises
    ------
    TgsimError
        For any invalid input; the message names the argument and the value.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> ds = tgsim.simulate("gompertz", np.linspace(0, 60, 61),
    ...                     {"initial_volume": 1.0, "growth_rate": 0.1,
    ...                      "carrying_capacity": 2000.0})
    >>> float(ds.volume.isel(subject=0, time=-1)) > 1.0
    True
    """
    mdl = get_model(model)
    t = check_times(times)
    if t0 is None:
        t0 = float(t[0])
    else:
        try:
            t0 = float(t0)
        except (TypeError, ValueError):
            raise TgsimError(f"`t0` must be a number (days); got {t0!r}") from None
        if not math.isfinite(t0):
            raise TgsimError(f"`t0` must be finite; got {t0!r}")
        if t[0] < t0:
            raise TgsimError(f"every time must be >= t0; got times[0]={t[0]:g} < t0={t0:g}")
    if solver not in SOLVERS:
        raise TgsimError(f"`solver` must be None, 'ode' or 'closed_form'; got {solver!r}")
    for nm, val in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(val, int | float) and math.isfinite(val) and val > 0):
            raise TgsimError(f"`{nm}` must be a positive number; got {val!r}")
    check_max_steps(max_steps)
    P = parameter_matrix(mdl, params)
    n = P.shape[0]
    check_output_size(mdl, n, t.size, "`simulate`")
    sched = Schedule.coerce(schedule)
    packed = sched.pack(n, t0, float(t[-1]))
    reason = _closed_form_reason(mdl, packed)
    if solver == "closed_form" and reason is not None:
        raise TgsimError(f"solver='closed_form' is not available: {reason}; use solver='ode'")
    chosen = (
        "ode"
        if solver == "ode" or (solver in (None, "auto") and reason is not None)
        else "closed_form"
    )
    states, status = run_kernel(
        mdl, t, t0, P, packed, solver=chosen, rtol=rtol, atol=atol, max_steps=max_steps
    )
    if strict and np.any(status != 0):
        bad = np.flatnonzero(status != 0)
        msgs = "; ".join(f"subject {i}: {STATUS_MESSAGES[int(status[i])]}" for i in bad[:5])
        raise TgsimError(f"{bad.size} subject(s) failed: {msgs}")
    if np.any(status != 0):
        warnings.warn(
            f"{int(np.sum(status != 0))} of {n} subject(s) failed; see the `status` variable "
            "(their outputs after the failure are NaN)",
            TgsimWarning,
            stacklevel=2,
        )
    return _to_dataset(
        mdl, t, t0, P, states, status, packed, sched, chosen, subjects, rtol=rtol, atol=atol
    )


def _to_dataset(
    mdl: Model,
    t: np.ndarray,
    t0: float,
    P: np.ndarray,
    states: np.ndarray,
    status: np.ndarray,
    packed: PackedSchedule,
    sched: Schedule,
    solver: str,
    subjects: Sequence[Any] | None,
    *,
    rtol: float,
    atol: float,
):
    import xarray as xr

    from ._xarray_compat import defer_dask_import
    from .plot import register_accessor

    defer_dask_import()  # xarray would import dask.array (0.3 s) for a type check
    register_accessor()  # ds.tgsim.plot() draws the right figure
    n = P.shape[0]
    ns = len(mdl.states)
    if subjects is None:
        subj = np.arange(n)
    else:
        subj = np.asarray(subjects)
        if subj.shape != (n,):
            raise TgsimError(f"`subjects` must have one label per subject ({n}); got {subj.shape}")
    volume = states[:, :, 0] if ns == 1 else states[:, :, :ns].sum(axis=2)
    vol_attrs = {"units": "mm^3", "long_name": "tumour volume"}
    data: dict[str, Any] = {
        "volume": (("subject", "time"), volume, vol_attrs),
    }
    if packed.has_swelling:
        sw = states[:, :, ns]
        data["swelling"] = (
            ("subject", "time"),
            sw,
            {"units": "mm^3", "long_name": "treatment-induced swelling"},
        )
        data["observed"] = (
            ("subject", "time"),
            volume + sw,
            {"units": "mm^3", "long_name": "observed size (tumour + swelling)"},
        )
    if ns > 1:
        data["state_volume"] = (
            ("subject", "time", "state"),
            states[:, :, :ns],
            {"units": "mm^3", "long_name": "volume by compartment"},
        )
    data["parameters"] = (("subject", "param"), P, {"long_name": "model parameters"})
    data["status"] = (("subject",), status, flag_attrs())
    coords: dict[str, Any] = {
        "subject": subj,
        "time": ("time", t, {"units": "day", "long_name": "time"}),
        "param": list(mdl.parameter_names),
        "param_unit": ("param", [p.unit for p in mdl.parameters]),
    }
    if ns > 1:
        coords["state"] = list(mdl.states)
    refs = "; ".join(r.get("citation", "") for r in mdl.references)
    attrs = {
        "model": mdl.name,
        "model_title": mdl.title,
        "card_hash": mdl.card_hash,
        "card_path": mdl.path,
        "tgsim_version": __version__,
        "solver": solver,
        "rtol": rtol,
        "atol": atol,
        "t0": t0,
        "t0_units": "day",
        "schedule": json.dumps(sched.to_dict()),
        "citation": refs,
        "status_messages": json.dumps(
            {Status(k).name.lower(): v for k, v in STATUS_MESSAGES.items()}
        ),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
