r"""Fitting growth and free treatment parameters to treated series (one subject at a time).

:func:`fit_treatment` estimates, per subject, the free growth parameters of a card and
the free treatment fields of a schedule (:class:`tgsim.Free`, named ``<name>.<field>``) by
least squares under an error model whose scale is profiled out:

* ``"lognormal"``: residuals :math:`\log y_i - \log f_i`;
* ``"additive"``: residuals :math:`y_i - f_i` (mm³).

How it computes
---------------
Predictions come from the compiled simulation kernels (adaptive Dormand-Prince at
``rtol``); the Jacobian by **central finite differences**, all :math:`2p + 1` parameter
vectors of one Jacobian in one batched kernel call (one packed schedule row per vector).
With ``rtol = 1e-10`` the differences carry an error of about :math:`h^2 + \text{rtol}/h`
with :math:`h = \text{rtol}^{1/3}` relative steps, i.e. :math:`\sim 10^{-7}` relative —
enough for the estimates to agree with a ``least_squares`` + ``solve_ivp`` (DOP853) oracle
to 1e-5 (see the tests). The optimiser is SciPy's ``least_squares`` (trust-region
reflective, bounds from the card and from each :class:`~tgsim.Free`). This path is the
place where exact forward sensitivities through the treatment terms, computed inside
the compiled kernels, will replace the differences: :func:`_jacobian` is the one
function to swap.

Standard errors come from :math:`\hat\sigma^2 (J^T J)^{-1}` with
:math:`\hat\sigma^2 = \text{RSS}/(n - p)`.

A free parameter that a subject's data cannot inform (its intervention starts on or
after the last observation) is refused with a :class:`~tgsim.errors.ScheduleError` naming
it, or — with ``uninformed="fix"`` — held at its start and flagged not identifiable.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DataError, ScheduleError
from ..treatment import PackedSchedule, Schedule

__all__ = ["fit_treatment", "TreatmentFit"]

_ERROR_MODELS = ("lognormal", "additive")


@dataclass
class TreatmentFit:
    """Per-subject estimates of growth and free treatment parameters.

    Attributes
    ----------
    names : tuple of str
        Estimated parameters: card parameters, then ``<name>.<field>`` treatment ones.
    subjects : list
        Subject labels.
    estimate, stderr : numpy.ndarray, shape (n_subjects, n_params)
        Estimates and standard errors (NaN for a parameter held fixed).
    covariance : numpy.ndarray, shape (n_subjects, n_params, n_params)
    identifiable : numpy.ndarray of bool, shape (n_subjects, n_params)
        False where the data cannot inform the parameter (it was held at its start).
    success : numpy.ndarray of bool; message : list of str; nfev : numpy.ndarray
    rss, aic : numpy.ndarray
        Residual sum of squares and Akaike's criterion (scale counted as a parameter).
    dof : numpy.ndarray
        Residual degrees of freedom (points minus estimated parameters).
    error_model : str
    """

    names: tuple[str, ...]
    subjects: list[Any]
    estimate: np.ndarray
    stderr: np.ndarray
    covariance: np.ndarray
    identifiable: np.ndarray
    success: np.ndarray
    message: list[str]
    nfev: np.ndarray
    rss: np.ndarray
    aic: np.ndarray
    error_model: str
    dof: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    fitted: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(repr=False,
                                                                   default_factory=list)

    def params(self) -> Any:
        """Estimates as a DataFrame (subject x parameter)."""
        import pandas as pd

        return pd.DataFrame(self.estimate, index=self.subjects, columns=list(self.names))

    def ci(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Wald intervals ``estimate ± t SE`` with Student's t on :attr:`dof` degrees of
        freedom (as :func:`tgsim.fit` does): arrays (lower, upper), NaN where undefined."""
        from scipy.stats import t as student

        if not 0 < level < 1:
            raise DataError(f"level must be in (0, 1); got {level!r}")
        d = np.asarray(self.dof, float)
        q = np.where(d > 0, student.ppf(0.5 + level / 2, np.maximum(d, 1)), np.nan)[:, None]
        return self.estimate - q * self.stderr, self.estimate + q * self.stderr

    def summary(self) -> str:
        """A text table: estimate ± SE per subject and parameter."""
        lines = [f"treated fit ({self.error_model} error), {len(self.subjects)} subject(s)"]
        for i, s in enumerate(self.subjects):
            lines.append(f"  {s}: {'ok' if self.success[i] else 'FAILED'} "
                         f"(AIC {self.aic[i]:.2f}, {self.nfev[i]} evaluations)")
            for j, n in enumerate(self.names):
                flag = "" if self.identifiable[i, j] else "  (not identifiable: held)"
                lines.append(f"    {n:32s} {self.estimate[i, j]:12.6g} ± "
                             f"{self.stderr[i, j]:.3g}{flag}")
        return "\n".join(lines)

    def plot(self, subject: int = 0, ax: Any = None) -> Any:
        """Data and fitted curve of one subject (log scale); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        t, y, f = self.fitted[subject]
        ax.plot(t, y, "o", label="measured")
        ax.plot(t, f, "-", label="fit")
        ax.set_yscale("log")
        ax.set_xlabel("time (day)")
        ax.set_ylabel("tumour volume (mm^3)")
        ax.set_title(str(self.subjects[subject]))
        ax.legend()
        return ax


def _series(data: Any) -> tuple[list[Any], list[tuple[np.ndarray, np.ndarray]]]:
    """Subjects and (times, values) from a series Dataset or one (times, values) pair."""
    if isinstance(data, tuple) and len(data) == 2:
        t = np.asarray(data[0], dtype=np.float64)
        y = np.asarray(data[1], dtype=np.float64)
        if t.ndim != 1 or t.shape != y.shape:
            raise DataError("data as (times, values) needs two 1-D arrays of one length")
        return [0], [(t, y)]
    if hasattr(data, "data_vars") and "value" in data and "time" in data:
        unit = str(data["value"].attrs.get("units", ""))
        if unit != "mm^3":
            raise DataError(f"fit_treatment fits volumes in mm^3; the data are in {unit!r}")
        subs = list(data["subject"].values)
        out = []
        for i in range(len(subs)):
            t = np.asarray(data["time"].values[i], dtype=np.float64)
            y = np.asarray(data["value"].values[i], dtype=np.float64)
            keep = np.isfinite(t) & np.isfinite(y)
            out.append((t[keep], y[keep]))
        return subs, out
    raise DataError("data must be a series Dataset (tgsim.io.read_series) or (times, values)")


def _for_subject(schedule: Schedule, label: Any) -> Schedule:
    """The schedule with each dose-table drug restricted to ``label``'s doses."""
    from ..io.doses import DoseTable

    items = []
    for x in schedule.interventions:
        if isinstance(getattr(x, "doses", None), DoseTable):
            x = dataclasses.replace(x, subjects=(str(label),))
        items.append(x)
    return Schedule(items)


def _stack(packs: Sequence[PackedSchedule]) -> PackedSchedule:
    def cat(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.concatenate([getattr(p, name) for p in packs], 0))

    return PackedSchedule(
        jt=cat("jt"), jf=cat("jf"), dose=cat("dose"), expo=cat("expo"), acc=cat("acc"),
        clear=cat("clear"), bp=cat("bp"),
        has_swelling=any(p.has_swelling for p in packs),
        constant_kill=all(p.constant_kill for p in packs),
        step_acceleration=all(p.step_acceleration for p in packs),
    )


@dataclass
class _Problem:
    """One subject: data, card, schedule and the split of parameters."""

    mdl: Any
    schedule: Schedule
    t: np.ndarray
    y: np.ndarray
    t0: float
    base: np.ndarray            # card parameter vector (fixed values and starts)
    card_free: list[int]        # indices of free card parameters
    treat_free: list[str]       # names of free treatment fields
    error_model: str
    rtol: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Sizes at ``t`` for each row of ``X`` (free parameters), one kernel call."""
        from ..freeparams import with_values
        from ..simulation import run_kernel

        X = np.atleast_2d(X)
        P = np.repeat(self.base[None, :], X.shape[0], 0)
        k = len(self.card_free)
        P[:, self.card_free] = X[:, :k]
        packs = []
        for row in X:
            vals = {n: float(v) for n, v in zip(self.treat_free, row[k:], strict=True)}
            s = with_values(self.schedule, vals, validate=False) if vals else self.schedule
            packs.append(s.pack(1, self.t0, float(self.t[-1]), warn=False))
        states, status = run_kernel(self.mdl, self.t, self.t0, P, _stack(packs), solver="ode",
                                    rtol=self.rtol, atol=1e-12, max_steps=200_000)
        out = states[:, :, : len(self.mdl.states)].sum(2)
        out[status != 0] = np.nan
        return out

    def residuals(self, f: np.ndarray) -> np.ndarray:
        if self.error_model == "lognormal":
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.log(self.y) - np.log(f)
        else:
            r = self.y - f
        return np.where(np.isfinite(r), r, 1e6)


def _jacobian(pb: _Problem, x: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              f0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Residuals and their Jacobian at ``x`` by central differences (one-sided at a bound),
    every perturbed vector in one batched kernel call."""
    p = x.size
    h = pb.rtol ** (1.0 / 3.0) * np.maximum(np.abs(x), 1e-8)
    up = np.minimum(x + h, hi)
    dn = np.maximum(x - h, lo)
    X = np.vstack([x[None, :], np.repeat(x[None, :], 2 * p, 0)])
    for j in range(p):
        X[1 + 2 * j, j] = up[j]
        X[2 + 2 * j, j] = dn[j]
    F = pb.predict(X)
    R = np.array([pb.residuals(f) for f in F])
    J = np.empty((pb.t.size, p))
    for j in range(p):
        J[:, j] = (R[1 + 2 * j] - R[2 + 2 * j]) / (up[j] - dn[j])
    return R[0], J


def _card_bounds(mdl: Any, bounds: Mapping[str, tuple[float, float]] | None):
    lo = np.array([p.lower for p in mdl.parameters], dtype=float)
    hi = np.array([p.upper for p in mdl.parameters], dtype=float)
    for name, (a, b) in (bounds or {}).items():
        j = mdl.parameter_names.index(mdl.parameter(name).name)
        lo[j], hi[j] = float(a), float(b)
    return lo, hi


def _check_informed(schedule: Schedule, label: Any, t: np.ndarray, uninformed: str
                    ) -> set[str]:
    flagged = {k for k, v in schedule.uninformed(float(t[-1])).items() if bool(v[0])}
    if flagged and uninformed == "raise":
        name = sorted(flagged)[0]
        raise ScheduleError(
            f"{name} cannot be estimated for subject {label!r}: its intervention does not act "
            f"before the last observation (day {t[-1]:g}), so the data cannot inform it (not "
            "identifiable); fix it, or pass uninformed='fix' to hold it at its start"
        )
    return flagged


def fit_treatment(
    data: Any,
    model: Any,
    schedule: Any,
    *,
    free: Mapping[str, Any] | Sequence[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    start: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    error_model: str = "lognormal",
    t0: float | None = None,
    uninformed: str = "raise",
    rtol: float = 1e-10,
    max_nfev: int = 200,
) -> TreatmentFit:
    """Fit card parameters and free treatment fields to treated series, per subject.

    Parameters
    ----------
    data : series Dataset or (times, values)
        Volumes in mm³ (see :func:`tgsim.io.read_series`).
    model : str or Model
        A card (``"exponential"``, ``"gompertz"``, ...).
    schedule : Schedule or list of interventions
        With the fields to estimate given as :class:`tgsim.Free`; a
        :class:`tgsim.tgi.Drug` with a :class:`~tgsim.io.doses.DoseTable` uses each
        subject's own doses (a dose for a subject without data is an error).
    free : sequence of str or mapping, optional
        More treatment fields to estimate, by ``"<name>.<field>"`` or bare field name
        (``["kill_rate", "resistance_rate"]``), see :meth:`tgsim.Schedule.free`; a field
        that does not exist is a :class:`~tgsim.errors.ScheduleError` listing the numeric
        fields.
    fixed : mapping, optional
        Card parameters held at a value.
    start : mapping, optional
        Start values of card parameters (default: ``initial_volume`` the first
        measurement when ``t0`` is the first time, others the card default).
    bounds : mapping, optional
        Bounds of card parameters (default the card's).
    error_model : {"lognormal", "additive"}
    t0 : float, optional
        Time of ``initial_volume`` (default each subject's first time).
    uninformed : {"raise", "fix"}
        What to do with a free treatment field the data cannot inform.
    rtol : float
        Integrator tolerance of the kernels (the finite-difference step follows it).
    max_nfev : int
        Iteration budget of ``least_squares`` per subject.

    Returns
    -------
    TreatmentFit

    Examples
    --------
    >>> import dataclasses, numpy as np, tgsim
    >>> from tgsim.tgi import Drug, Linear, OneCompartment
    >>> from tgsim.fitting.treated import fit_treatment
    >>> drug = Drug(doses={"day": [0, 7, 14], "amount": 10.0}, pk=OneCompartment(2.0),
    ...             effect=Linear(tgsim.Free(0.05, upper=1.0)), name="x")
    >>> t = np.linspace(0, 28, 11)
    >>> truth = dataclasses.replace(drug, effect=Linear(0.1))
    >>> y = tgsim.simulate("exponential", t, {"initial_volume": 100, "growth_rate": 0.1},
    ...                    schedule=[truth])["volume"].values[0]
    >>> res = fit_treatment((t, y), "exponential", [drug])        # doctest: +SKIP
    >>> round(res.params()["x.effect.slope"][0], 6)                 # doctest: +SKIP
    0.1
    """
    from scipy.optimize import least_squares

    from ..engine.catalogue import model as get_model

    if error_model not in _ERROR_MODELS:
        raise DataError(f"error_model must be one of {', '.join(_ERROR_MODELS)}; got "
                        f"{error_model!r}")
    if uninformed not in ("raise", "fix"):
        raise DataError(f"uninformed must be 'raise' or 'fix'; got {uninformed!r}")
    mdl = get_model(model)
    sched = Schedule.coerce(schedule)
    if free:
        sched = sched.free(free)
    free_t = sched.free_parameters()
    if not free_t and not len([n for n in mdl.parameter_names if n not in (fixed or {})]):
        raise DataError("nothing to estimate: every card parameter is fixed and no treatment "
                        "field is free")
    subjects, series = _series(data)
    from ..io.doses import DoseTable

    for x in sched.interventions:
        if isinstance(getattr(x, "doses", None), DoseTable):
            x.doses.check_subjects([str(s) for s in subjects], "the series")
    fixed = dict(fixed or {})
    names_card = [n for n in mdl.parameter_names if n not in fixed]
    names = (*names_card, *free_t)
    clo, chi = _card_bounds(mdl, bounds)
    n, p = len(subjects), len(names)
    res = TreatmentFit(
        names=names, subjects=subjects, estimate=np.full((n, p), np.nan),
        stderr=np.full((n, p), np.nan), covariance=np.full((n, p, p), np.nan),
        identifiable=np.ones((n, p), bool), success=np.zeros(n, bool), message=[""] * n,
        nfev=np.zeros(n, int), rss=np.full(n, np.nan), aic=np.full(n, np.nan),
        error_model=error_model, dof=np.zeros(n, int),
    )
    for i, (label, (t, y)) in enumerate(zip(subjects, series, strict=True)):
        if t.size < 2:
            res.message[i] = "fewer than 2 measurements"
            res.fitted.append((t, y, np.full(t.size, np.nan)))
            continue
        s_i = _for_subject(sched, label)
        held = _check_informed(s_i, label, t, uninformed)
        tf = [k for k in free_t if k not in held]
        if held:
            s_i = s_i.with_values({k: free_t[k].value for k in held})
        start_i = {"initial_volume": float(y[0])} if t0 is None or t0 == t[0] else {}
        start_i.update(start or {})
        base = np.array([fixed.get(nm, start_i.get(nm, pp.default))
                         for nm, pp in zip(mdl.parameter_names, mdl.parameters, strict=True)],
                        dtype=float)
        cf = [mdl.parameter_names.index(nm) for nm in names_card]
        pb = _Problem(mdl, s_i, t, y, float(t[0] if t0 is None else t0), base, cf, tf,
                      error_model, rtol)
        x0 = np.concatenate([base[cf], [free_t[k].value for k in tf]])
        lo = np.concatenate([clo[cf], [free_t[k].lower for k in tf]])
        hi = np.concatenate([chi[cf], [free_t[k].upper for k in tf]])
        x0 = np.clip(x0, lo, hi)
        cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

        def both(x: np.ndarray, _pb=pb, _lo=lo, _hi=hi, _c=cache):
            key = x.tobytes()
            if key not in _c:
                _c.clear()
                _c[key] = _jacobian(_pb, x, _lo, _hi)
            return _c[key]

        sol = least_squares(lambda x, b=both: b(x)[0], x0, jac=lambda x, b=both: b(x)[1],
                            bounds=(lo, hi), method="trf", x_scale="jac", ftol=1e-14,
                            xtol=1e-14, gtol=1e-14, max_nfev=max_nfev)
        _store(res, i, pb, sol, names_card, tf, free_t, held)
    return res


def _store(res: TreatmentFit, i: int, pb: _Problem, sol: Any, names_card: list[str],
           tf: list[str], free_t: Mapping[str, Any], held: set[str]) -> None:
    """Write one subject's solution, covariance and criteria into ``res``."""
    cols = [res.names.index(nm) for nm in (*names_card, *tf)]
    est = np.full(len(res.names), np.nan)
    est[cols] = sol.x
    for k in held:
        est[res.names.index(k)] = free_t[k].value
        res.identifiable[i, res.names.index(k)] = False
    r, J = sol.fun, sol.jac
    m, k = r.size, sol.x.size
    rss = float(r @ r)
    res.estimate[i] = est
    res.rss[i] = rss
    res.dof[i] = m - k
    res.success[i] = bool(sol.success)
    res.message[i] = str(sol.message)
    res.nfev[i] = int(sol.nfev)
    if m > k:
        try:
            cov = rss / (m - k) * np.linalg.inv(J.T @ J)
            res.covariance[i][np.ix_(cols, cols)] = cov
            res.stderr[i, cols] = np.sqrt(np.maximum(np.diag(cov), 0.0))
        except np.linalg.LinAlgError:
            res.message[i] += "; singular Fisher information (no standard errors)"
    n2ll = m * (math.log(2 * math.pi * max(rss, 1e-300) / m) + 1.0)
    if pb.error_model == "lognormal":
        n2ll += 2.0 * float(np.sum(np.log(pb.y)))
    res.aic[i] = n2ll + 2.0 * (k + 1)
    res.fitted.append((pb.t, pb.y, pb.predict(sol.x)[0]))
