r"""The browser explorer's view: what is shown, as plain data, with no web library.

A :class:`View` holds the model name, its parameter values, which treatments are picked
and every field of each, and the scan interval. It turns into a
:class:`~tgsim.treatment.Schedule` (:meth:`View.schedule`), into the curves the page draws
(:func:`compute`), and into a share text that reproduces it: a TOML file
(:meth:`View.to_toml`, read back by :meth:`View.from_toml`) or a URL query
(:meth:`View.to_query`, read back by :meth:`View.from_query`).

Examples
--------
>>> v = View.default("exponential")
>>> v.enabled = {"immunotherapy", "swelling"}
>>> View.from_query(v.to_query()) == v
True
"""

from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np

from ..errors import ConfigError, TgsimError

__all__ = ["View", "Field", "TREATMENTS", "PICKS", "compute", "simulate_view", "assess_view"]

#: explored time span: one year, daily outputs (days)
HORIZON_DAYS = 364.0


@dataclass(frozen=True)
class Field:
    """One slider of a treatment or of the scans.

    Attributes
    ----------
    name : str
        Field name (the keyword of the intervention where one exists).
    unit : str
        Unit shown on the slider.
    lower, upper, step : float
        Slider range and step.
    default : float
        Starting value.
    meaning : str
        One line shown under the slider.
    """

    name: str
    unit: str
    lower: float
    upper: float
    step: float
    default: float
    meaning: str


def _f(name: str, unit: str, lo: float, hi: float, step: float, default: float,
       meaning: str) -> Field:
    return Field(name, unit, lo, hi, step, default, meaning)


_DAY = HORIZON_DAYS
#: treatment kind -> its fields (every field of the intervention, and its timing)
TREATMENTS: dict[str, tuple[Field, ...]] = {
    "surgery": (
        _f("day", "day", 0, _DAY, 1, 120, "day of the resection"),
        _f("resected_fraction", "1", 0, 0.999, 0.001, 0.9, "fraction of the tumour removed"),
    ),
    "chemotherapy": (
        _f("start", "day", 0, _DAY, 1, 0, "day of the first dose"),
        _f("doses", "doses", 1, 20, 1, 6, "number of doses"),
        _f("interval", "day", 1, 42, 1, 21, "days between doses"),
        _f("dose", "dose unit", 0, 6, 0.1, 3.0, "dose given each time"),
        _f("half_life_days", "day", 0.1, 14, 0.1, 1.0, "drug half-life"),
        _f("kill_rate", "1/(dose unit·day)", 0, 1, 0.01, 0.25,
           "kill per unit drug concentration"),
    ),
    "radiotherapy": (
        _f("start", "day", 0, _DAY, 1, 0, "day of the first fraction (Monday)"),
        _f("fractions", "fractions", 1, 40, 1, 30, "number of fractions, Monday to Friday"),
        _f("dose_gy", "Gy", 0, 20, 0.1, 2.0, "dose per fraction"),
        _f("alpha", "1/Gy", 0, 1, 0.01, 0.3, "linear-quadratic α: lethal single hits"),
        _f("beta", "1/Gy²", 0, 0.3, 0.005, 0.03, "linear-quadratic β: lethal pairs of hits"),
    ),
    "targeted": (
        _f("start", "day", 0, _DAY, 1, 0, "first day of exposure"),
        _f("stop", "day", 1, _DAY + 1, 1, _DAY + 1, "day exposure stops"),
        _f("kill_rate", "1/day", 0, 0.2, 0.001, 0.03, "kill rate at the start"),
        _f("resistance_rate", "1/day", 0, 0.1, 0.001, 0.01,
           "rate at which the kill wanes (acquired resistance)"),
    ),
    "immunotherapy": (
        _f("start", "day", 0, _DAY, 1, 0, "first day of exposure"),
        _f("stop", "day", 1, _DAY + 1, 1, _DAY + 1, "day exposure stops"),
        _f("kill_rate", "1/day", 0, 0.1, 0.001, 0.025, "immune kill rate"),
        _f("resistance_rate", "1/day", 0, 0.1, 0.001, 0.0, "rate at which the kill wanes"),
    ),
    "swelling": (
        _f("infiltration_rate", "1/day", 0, 0.5, 0.005, 0.10,
           "infiltrate/oedema fed per unit tumour volume (pseudoprogression)"),
        _f("clearance_rate", "1/day", 0.001, 0.3, 0.001, 0.03, "clearance of the swelling"),
    ),
    "acceleration": (
        _f("onset_day", "day", 0, _DAY, 1, 0, "day the growth speeds up"),
        _f("factor", "1", 0.1, 6, 0.05, 3.0, "growth multiplied by (hyperprogression)"),
        _f("ramp_days", "day", 0, 90, 1, 0, "days to reach the full factor"),
    ),
    "scans": (
        _f("every_days", "day", 7, 120, 1, 42, "days between scans (6 weeks = 42)"),
    ),
}

#: the treatment picker: key -> label ("swelling" and "acceleration" act through
#: the immunotherapy and pick it too)
PICKS: dict[str, str] = {
    "surgery": "surgery",
    "chemotherapy": "chemotherapy",
    "radiotherapy": "radiotherapy (weekday fractions)",
    "targeted": "targeted therapy with resistance",
    "immunotherapy": "immunotherapy",
    "swelling": "+ swelling (pseudoprogression)",
    "acceleration": "+ acceleration (hyperprogression)",
}
HYPOTHESES = ("log-kill", "norton-simon")

#: teaching starting values per built-in card: a measurable tumour (about 30 mm across)
#: growing at a clinical pace; other cards start from their defaults at the same size
_TEACHING: dict[str, dict[str, float]] = {
    "exponential": {"growth_rate": 0.01},
    "gompertz": {"growth_rate": 0.005, "carrying_capacity": 2.0e5},
    "logistic": {"growth_rate": 0.015, "carrying_capacity": 2.0e5},
    "power_law": {"growth_rate": 0.3},
    "von_bertalanffy": {"loss_rate": 0.02},
    "two_population": {"growth_rate": 0.02, "resistant_growth_rate": 0.015,
                       "carrying_capacity": 2.0e5},
    "exponential_linear": {"growth_rate": 0.3, "linear_rate": 150.0},
}
TEACHING_VOLUME = 1.4e4  # mm³: a sphere 30 mm across


def _get_model(name: str, model_path: Any = None):
    from ..engine.catalogue import model as get_model

    return get_model(name, path=model_path)


def _clip(value: float, fld: Field) -> float:
    return min(max(float(value), fld.lower), fld.upper)


@dataclass
class View:
    """Everything the browser explorer shows.

    Attributes
    ----------
    model : str
        Card name.
    params : dict
        Parameter name -> value (all of the card's parameters).
    enabled : set of str
        Picked treatments (keys of :data:`PICKS`).
    fields : dict
        Treatment kind (keys of :data:`TREATMENTS`) -> field name -> value.
    hypothesis : str
        Chemotherapy hypothesis, "log-kill" or "norton-simon".
    """

    model: str
    params: dict[str, float]
    enabled: set[str] = field(default_factory=set)
    fields: dict[str, dict[str, float]] = field(default_factory=dict)
    hypothesis: str = "log-kill"

    @classmethod
    def default(cls, model: str = "gompertz", *, model_path: Any = None) -> View:
        """The teaching start for ``model``: a 30 mm tumour, nothing picked."""
        mdl = _get_model(model, model_path)
        params = mdl.defaults()
        for k, v in _TEACHING.get(mdl.name, {}).items():
            if k in params:
                params[k] = v
        if "initial_volume" in params:
            params["initial_volume"] = TEACHING_VOLUME
        fields = {kind: {f.name: f.default for f in flds} for kind, flds in TREATMENTS.items()}
        return cls(mdl.name, {k: float(v) for k, v in params.items()}, set(), fields)

    # ------------------------------------------------------------------ schedule
    @property
    def every_days(self) -> float:
        """Days between scans."""
        return float(self.fields["scans"]["every_days"])

    def picked(self, kind: str) -> bool:
        """Whether treatment ``kind`` is in play (swelling/acceleration pick immunotherapy)."""
        if kind == "immunotherapy":
            return bool(self.enabled & {"immunotherapy", "swelling", "acceleration"})
        return kind in self.enabled

    def schedule(self):
        """The :class:`~tgsim.treatment.Schedule` of the picked treatments."""
        from ..treatment import (
            Acceleration,
            Chemotherapy,
            Immunotherapy,
            Radiotherapy,
            Schedule,
            Surgery,
            Swelling,
            TargetedTherapy,
            weekday_fractions,
        )

        f = self.fields
        items: list[Any] = []
        if self.picked("surgery"):
            items.append(Surgery(f["surgery"]["day"], f["surgery"]["resected_fraction"]))
        if self.picked("chemotherapy"):
            c = f["chemotherapy"]
            days = c["start"] + c["interval"] * np.arange(int(round(c["doses"])))
            items.append(Chemotherapy(days[days <= HORIZON_DAYS], c["dose"],
                                      c["half_life_days"], c["kill_rate"],
                                      hypothesis=self.hypothesis))
        if self.picked("radiotherapy"):
            r = f["radiotherapy"]
            days = weekday_fractions(int(round(r["fractions"])), r["start"])
            items.append(Radiotherapy(days[days <= HORIZON_DAYS], r["dose_gy"], r["alpha"],
                                      r["beta"]))
        if self.picked("targeted"):
            t = f["targeted"]
            items.append(TargetedTherapy(t["start"], max(t["stop"], t["start"] + 1.0),
                                         t["kill_rate"], t["resistance_rate"]))
        if self.picked("immunotherapy"):
            i = f["immunotherapy"]
            sw = (Swelling(**f["swelling"]) if self.picked("swelling") else None)
            acc = (Acceleration(**f["acceleration"]) if self.picked("acceleration") else None)
            items.append(Immunotherapy(i["start"], max(i["stop"], i["start"] + 1.0),
                                       i["kill_rate"], i["resistance_rate"], swelling=sw,
                                       acceleration=acc))
        return Schedule(items)

    def treatment_day(self) -> float:
        """First therapy day of the picked treatments (0 when none): the RECIST baseline."""
        days = [float(np.min(it.event_days())) for it in self.schedule()
                if it.event_days().size]
        return min(days) if days else 0.0

    # ------------------------------------------------------------------ sharing
    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (the TOML layout)."""
        out: dict[str, Any] = {"model": self.model, "treatments": sorted(self.enabled),
                               "hypothesis": self.hypothesis,
                               "parameters": dict(self.params)}
        out.update({kind: dict(vals) for kind, vals in self.fields.items()})
        return out

    def to_toml(self) -> str:
        """A TOML text that :meth:`from_toml` (and ``tgsim explore --web --view``) reads."""
        lines = ["# tgsim explore view: tgsim explore --web --view THIS_FILE.toml",
                 f'model = "{self.model}"',
                 "treatments = [" + ", ".join(f'"{k}"' for k in sorted(self.enabled)) + "]",
                 f'hypothesis = "{self.hypothesis}"', "", "[parameters]"]
        lines += [f"{k} = {v!r}" for k, v in self.params.items()]
        for kind, vals in self.fields.items():
            lines += ["", f"[{kind}]"] + [f"{k} = {float(v)!r}" for k, v in vals.items()]
        return "\n".join(lines) + "\n"

    def to_query(self) -> str:
        """URL query string (``model=...&growth_rate=...&immunotherapy.kill_rate=...``)."""
        pairs: list[tuple[str, str]] = [("model", self.model),
                                        ("treatments", ",".join(sorted(self.enabled))),
                                        ("hypothesis", self.hypothesis)]
        pairs += [(k, f"{v:.10g}") for k, v in self.params.items()]
        for kind, vals in self.fields.items():
            pairs += [(f"{kind}.{k}", f"{float(v):.10g}") for k, v in vals.items()]
        return urlencode(pairs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "view",
                  model_path: Any = None) -> View:
        """Build a view from the :meth:`to_dict` layout; missing entries take defaults."""
        data = dict(data)
        view = cls.default(str(data.pop("model", "gompertz")), model_path=model_path)
        mdl = _get_model(view.model, model_path)
        picks = data.pop("treatments", [])
        if isinstance(picks, str):
            picks = [p for p in picks.split(",") if p]
        unknown = set(picks) - set(PICKS)
        if unknown:
            raise ConfigError(f"{source}: unknown treatment(s) {sorted(unknown)}; "
                              f"choose from {list(PICKS)}")
        view.enabled = set(picks)
        hyp = str(data.pop("hypothesis", "log-kill"))
        if hyp not in HYPOTHESES:
            raise ConfigError(f"{source}: `hypothesis` must be one of {HYPOTHESES}; got {hyp!r}")
        view.hypothesis = hyp
        for name, value in dict(data.pop("parameters", {})).items():
            try:
                view.params[mdl.parameter(name).name] = _number(value, name, source)
            except KeyError:
                raise ConfigError(f"{source}: card {view.model!r} has no parameter "
                                  f"{name!r}") from None
        for kind, vals in data.items():
            if kind not in TREATMENTS or not isinstance(vals, Mapping):
                raise ConfigError(f"{source}: unknown entry {kind!r}; expected model, "
                                  f"treatments, hypothesis, parameters or one of "
                                  f"{list(TREATMENTS)}")
            names = {f.name for f in TREATMENTS[kind]}
            for k, v in vals.items():
                if k not in names:
                    raise ConfigError(f"{source}: [{kind}] has no field {k!r}; fields are "
                                      f"{sorted(names)}")
                view.fields[kind][k] = _number(v, f"{kind}.{k}", source)
        return view

    @classmethod
    def from_toml(cls, path: Any, *, model_path: Any = None) -> View:
        """Read a view written by :meth:`to_toml`."""
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"view file {str(path)!r} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=str(path), model_path=model_path)

    @classmethod
    def from_query(cls, query: str | Mapping[str, Any], *, model_path: Any = None) -> View:
        """Read a view from a URL query (a string or a mapping of name -> value)."""
        pairs = parse_qsl(query.lstrip("?")) if isinstance(query, str) else list(query.items())
        data: dict[str, Any] = {"parameters": {}}
        for key, value in pairs:
            if key in ("model", "treatments", "hypothesis"):
                data[key] = value
            elif "." in key:
                kind, name = key.split(".", 1)
                data.setdefault(kind, {})[name] = value
            else:
                data["parameters"][key] = value
        return cls.from_dict(data, source="URL query", model_path=model_path)

    @classmethod
    def from_schedule(cls, model: str, schedule: Any, *, model_path: Any = None
                      ) -> tuple[View, list[str]]:
        """A view showing ``schedule`` (a Schedule, a list or a TOML path).

        The explorer shows one intervention of each kind with regular timing; anything
        else is listed in the returned notes.
        """
        from ..treatment import load_schedule

        if isinstance(schedule, str) or hasattr(schedule, "__fspath__"):
            schedule = load_schedule(schedule)
        view = cls.default(model, model_path=model_path)
        notes: list[str] = []
        for item in schedule:
            notes += _absorb(view, item)
        return view, notes

    def copy(self) -> View:
        """A deep copy."""
        return copy.deepcopy(self)


def _number(value: Any, name: str, source: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: `{name}` must be a number; got {value!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{source}: `{name}` must be finite; got {value!r}")
    return v


def _scalar(value: Any) -> float:
    return float(np.ravel(np.asarray(value, dtype=np.float64))[0])


def _absorb(view: View, item: Any) -> list[str]:
    """Copy one intervention into ``view``; returns notes on what could not be shown."""
    from ..treatment import (
        Acceleration,
        Chemotherapy,
        Immunotherapy,
        Radiotherapy,
        Surgery,
        TargetedTherapy,
    )

    kinds = {Surgery: "surgery", Chemotherapy: "chemotherapy", Radiotherapy: "radiotherapy",
             TargetedTherapy: "targeted", Immunotherapy: "immunotherapy"}
    kind = kinds.get(type(item))
    if kind is None or kind in view.enabled:
        what = type(item).__name__ if kind is None else f"a second {kind}"
        return [f"{what} is not shown (the explorer shows one intervention of each kind)"]
    f = view.fields[kind]
    notes: list[str] = []
    if kind == "surgery":
        f.update(day=_scalar(item.day), resected_fraction=_scalar(item.resected_fraction))
    elif kind in ("chemotherapy", "radiotherapy"):
        days = np.asarray(item.days, dtype=float)
        f["start"] = float(days.min())
        if kind == "chemotherapy":
            gaps = np.diff(np.sort(days))
            f.update(doses=float(days.size), interval=float(np.median(gaps)) if gaps.size
                     else f["interval"], dose=_scalar(item.dose),
                     half_life_days=_scalar(item.half_life_days),
                     kill_rate=_scalar(item.kill_rate))
            view.hypothesis = item.hypothesis
            if gaps.size and np.ptp(gaps) > 1e-9:
                notes.append("chemotherapy doses shown at their median interval")
        else:
            f.update(fractions=float(days.size), dose_gy=_scalar(item.dose_gy),
                     alpha=_scalar(item.alpha), beta=_scalar(item.beta))
            notes.append("radiotherapy shown as Monday-to-Friday fractions")
    else:
        f.update(start=_scalar(item.start), stop=_scalar(item.stop),
                 kill_rate=_scalar(item.kill_rate),
                 resistance_rate=_scalar(item.resistance_rate))
        sw = getattr(item, "swelling", None)
        if sw is not None:
            view.fields["swelling"].update(infiltration_rate=_scalar(sw.infiltration_rate),
                                           clearance_rate=_scalar(sw.clearance_rate))
            view.enabled.add("swelling")
    acc = getattr(item, "acceleration", None)
    if isinstance(acc, Acceleration):
        if kind == "immunotherapy":
            view.fields["acceleration"].update(onset_day=_scalar(acc.onset_day),
                                               factor=_scalar(acc.factor),
                                               ramp_days=_scalar(acc.ramp_days))
            view.enabled.add("acceleration")
        else:
            notes.append(f"the acceleration of the {kind} is not shown")
    for fld in TREATMENTS[kind]:
        f[fld.name] = _clip(f[fld.name], fld)
    view.enabled.add(kind)
    return notes


def simulate_view(view: View, *, model_path: Any = None) -> dict[str, Any]:
    """Simulate ``view`` and scan it: the curves, without the response calls.

    Returns
    -------
    dict
        ``time``, ``volume``, ``observed`` (mm³; observed = tumour + swelling),
        ``scan_day``, ``scan_diameter_mm`` (sphere-equivalent), ``doubling_days`` (per
        scan interval, negative when shrinking; NaN at the first scan),
        ``threshold_growth`` (LI-RADS flag per scan), ``treatment_day``, ``status``
        (0 = success) and ``notes``.
    """
    import warnings

    from ..clinical import doubling_time, threshold_growth
    from ..errors import STATUS_MESSAGES, TgsimWarning
    from ..observe import scan, scan_schedule
    from ..simulation import simulate

    times = np.arange(0.0, HORIZON_DAYS + 1.0)
    empty = np.array([], dtype=float)
    out: dict[str, Any] = {
        "time": times, "volume": np.full(times.size, np.nan),
        "observed": np.full(times.size, np.nan), "scan_day": empty,
        "scan_diameter_mm": empty, "doubling_days": empty,
        "threshold_growth": np.array([], dtype=bool), "treatment_day": 0.0, "status": -1,
        "notes": "", "dataset": None}
    try:
        out["treatment_day"] = view.treatment_day()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TgsimWarning)
            ds = simulate(_get_model(view.model, model_path), times, view.params,
                          schedule=view.schedule())
    except TgsimError as exc:
        out["notes"] = str(exc)
        return out
    vol = np.asarray(ds["volume"].values[0], dtype=float)
    obs = np.asarray(ds["observed"].values[0], dtype=float) if "observed" in ds else vol
    status = int(ds["status"].values[0])
    out.update(volume=vol, observed=obs, status=status)
    if status != 0 or not np.all(np.isfinite(obs)):
        out["notes"] = f"simulation failed: {STATUS_MESSAGES.get(status, status)}"
        return out
    days = scan_schedule(view.every_days, 0.0, HORIZON_DAYS)
    try:
        sc = scan(ds, days=days)
    except TgsimError as exc:  # a curve the scans cannot read: shown, with the reason
        out["notes"] = f"no scans: {exc}"
        return out
    d = np.asarray(sc["diameter_mm"].values[0], dtype=float)
    dt = np.full(days.size, np.nan)
    tg = np.zeros(days.size, dtype=bool)
    if days.size >= 2 and np.all(np.isfinite(d) & (d > 0)):
        with np.errstate(divide="ignore", invalid="ignore"):
            dt[1:] = doubling_time(days, np.pi / 6.0 * d**3)
        tg = np.asarray(threshold_growth(days, d), dtype=bool)
    out.update(scan_day=days, scan_diameter_mm=d, doubling_days=dt, threshold_growth=tg,
               dataset=sc)
    return out


def _baseline_index(days: np.ndarray, treatment_day: float) -> int:
    """The last scan on or before the treatment day (the first scan when none is)."""
    on_or_before = np.flatnonzero(days <= treatment_day + 1e-9 * max(1.0, abs(treatment_day)))
    return int(on_or_before[-1]) if on_or_before.size else 0


def _one_lesion_calls(days: np.ndarray, d: np.ndarray, base: int
                      ) -> tuple[list[str], list[str]] | None:
    """RECIST 1.1 and iRECIST calls from baseline on, by the array rules.

    One measurable target lesion seen at every scan is what the explorer shows almost
    always; :mod:`tgsim.cohort.readouts` reads it by the rule table the lesion-table functions
    share (:mod:`tgsim.clinical.rules`), in well under a millisecond. ``None`` for anything
    else (a baseline under 10 mm, a lesion not measured), which the lesion-table
    functions read.
    """
    from ..cohort.readouts import (
        CONFIRM_DAYS,
        IRECIST_CODES,
        MEASURABLE_MM,
        RECIST_CODES,
        irecist_timepoints,
        recist_timepoints,
    )

    post = d[base:]
    if not (np.all(np.isfinite(post)) and np.all(post > 0.0)
            and post[0] >= MEASURABLE_MM * (1.0 + 1e-6)):
        return None
    rc = recist_timepoints(post[None, :])[0]
    ic = irecist_timepoints(post[None, :], days[base:], confirm_days=CONFIRM_DAYS)[0]
    cpd = IRECIST_CODES.index("iCPD")
    recist = ["baseline"] + [RECIST_CODES[k] for k in rc]
    irecist = ["baseline"] + [IRECIST_CODES[cpd if k < 0 else k] for k in ic]
    return recist, irecist


def assess_view(curves: dict[str, Any]) -> dict[str, Any]:
    """RECIST 1.1 and iRECIST call of every scan of :func:`simulate_view`'s curves.

    Returns
    -------
    dict
        ``recist`` and ``irecist`` (one call per scan: "pre-baseline" before the
        treatment day, "baseline", then the category) and ``notes``.

    Examples
    --------
    >>> view = View.default("exponential")
    >>> view.enabled = {"swelling"}
    >>> calls = assess_view(simulate_view(view))
    >>> calls["recist"][:3], calls["irecist"][:4]
    (['baseline', 'PD', 'PD'], ['baseline', 'iUPD', 'iUPD', 'iSD'])
    """
    from ..clinical.pseudoprogression import scan_categories

    days, d = curves["scan_day"], curves["scan_diameter_mm"]
    out: dict[str, Any] = {"recist": [], "irecist": [], "notes": ""}
    if curves.get("dataset") is None or days.size == 0:
        return out
    td = float(curves["treatment_day"])
    base = _baseline_index(days, td)
    pre = ["pre-baseline"] * base
    fast = _one_lesion_calls(days, d, base)
    if fast is not None:
        out["recist"], out["irecist"] = pre + fast[0], pre + fast[1]
        return out
    try:
        cats = scan_categories(curves["dataset"], treatment_day=td)
    except TgsimError as exc:  # e.g. a lesion gone at baseline
        out["notes"] = f"no RECIST reading: {exc}"
        return out
    pre = ["pre-baseline"] * (days.size - len(cats))
    out["recist"] = pre + cats["recist"].tolist()
    out["irecist"] = pre + cats["irecist"].tolist()
    if d[base] < 10.0:
        out["notes"] = (f"baseline diameter {d[base]:.1f} mm < 10 mm: not measurable by "
                        "RECIST 1.1 (assessed as a non-target lesion)")
    return out


def compute(view: View, *, model_path: Any = None) -> dict[str, Any]:
    """Simulate ``view`` and read its scans: the curves and calls the explorer draws.

    The union of :func:`simulate_view` and :func:`assess_view` (their notes joined).

    Examples
    --------
    >>> view = View.default("exponential")
    >>> c = compute(view)
    >>> c["recist"][:3]
    ['baseline', 'SD', 'PD']
    """
    c = simulate_view(view, model_path=model_path)
    a = assess_view(c)
    notes = " · ".join(n for n in (c["notes"], a["notes"]) if n)
    c.update(a)
    c["notes"] = notes
    return c
