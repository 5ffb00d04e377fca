r"""Interactive explorer: sliders for a card's parameters and the main treatment knobs.

:class:`Explorer` holds the state and the update logic, which needs no display: each
:meth:`Explorer.update` re-simulates the card (:func:`tgsim.simulate`), scans the
observed size every ``every_days`` (:func:`tgsim.scan`, no measurement error) and reads
the scans by RECIST 1.1 and iRECIST (:func:`tgsim.recist`, :func:`tgsim.irecist`). The
figure (:meth:`Explorer.figure`) draws

* top: tumour volume and, with pseudoprogression swelling, the observed size (tumour +
  swelling), in mm³ against days, with the scans marked;
* bottom: the change of the scanned sphere-equivalent diameter from baseline (%), with
  the RECIST 1.1 lines at -30 % (PR) and +20 % (PD, relative to the nadir) and each
  scan's RECIST / iRECIST category;
* sliders (matplotlib widgets) for the parameters and knobs.

Used by ``tgsim explore MODEL [--schedule FILE] [--save out.png]``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .engine.catalogue import Model
from .engine.catalogue import model as get_model
from .errors import STATUS_MESSAGES, TgsimError, TgsimWarning
from .treatment import (
    Acceleration,
    Chemotherapy,
    Immunotherapy,
    Radiotherapy,
    Schedule,
    Surgery,
    TargetedTherapy,
)

__all__ = ["Explorer", "Knob"]

#: default explored time span: one year, daily outputs (days)
DEFAULT_TIMES = np.arange(0.0, 365.0)


@dataclass(frozen=True)
class Knob:
    """One slider: a card parameter or a treatment magnitude.

    Attributes
    ----------
    name : str
        Keyword of :meth:`Explorer.update` (a parameter name, or e.g.
        ``immunotherapy_kill_rate``; a second intervention of the same kind gets
        ``immunotherapy2_...``).
    label : str
        Slider label, with units.
    value : float
        Initial value.
    lower, upper : float
        Slider range.
    log : bool
        Whether the slider moves on a log10 scale.
    target : tuple
        ``("param", name)``, ``("schedule", index, field)`` or
        ``("schedule", index, "swelling"|"acceleration", field)``.
    """

    name: str
    label: str
    value: float
    lower: float
    upper: float
    log: bool
    target: tuple


def _first(value: Any) -> float:
    return float(np.ravel(np.asarray(value, dtype=np.float64))[0])


def _range(value: float, lower: float, upper: float, *, factor: float = 10.0
           ) -> tuple[float, float, bool]:
    """Slider range around ``value`` within [lower, upper]: log-scaled for positive values."""
    if value > 0 and lower >= 0:
        lo = max(value / factor, lower if lower > 0 else value / factor)
        hi = min(value * factor, upper)
        if hi > lo:
            return lo, hi, True
    hi = min(upper, max(1.0, abs(value) * 2.0))
    lo = max(lower, min(0.0, value))
    return lo, max(hi, lo + 1e-9), False


# (type, field, unit, lower, upper or None for "around the value", log)
_TREATMENT_FIELDS: tuple[tuple[type, str, str], ...] = (
    (Surgery, "resected_fraction", "1"),
    (Radiotherapy, "dose_gy", "Gy"),
    (Chemotherapy, "kill_rate", "per dose unit per day"),
    (Chemotherapy, "dose", "dose unit"),
    (TargetedTherapy, "kill_rate", "1/day"),
    (TargetedTherapy, "resistance_rate", "1/day"),
    (Acceleration, "factor", "1"),
)
_KIND = {Surgery: "surgery", Radiotherapy: "radiotherapy", Chemotherapy: "chemotherapy",
         Immunotherapy: "immunotherapy", TargetedTherapy: "targeted", Acceleration: "acceleration"}


def _kind(item: Any) -> str:
    return _KIND[type(item)] if type(item) in _KIND else type(item).__name__.lower()


def _treatment_knobs(schedule: Schedule) -> list[Knob]:
    """Sliders for the magnitudes of every intervention of ``schedule``."""
    knobs: list[Knob] = []
    counts: dict[str, int] = {}
    for i, item in enumerate(schedule):
        kind = _kind(item)
        counts[kind] = counts.get(kind, 0) + 1
        prefix = kind if counts[kind] == 1 else f"{kind}{counts[kind]}"
        title = item.name or kind
        for cls, field, unit in _TREATMENT_FIELDS:
            if not isinstance(item, cls):
                continue
            v = _first(getattr(item, field))
            if field == "resected_fraction":
                lo, hi, log = 0.0, 0.999, False
            elif field == "resistance_rate":
                lo, hi, log = 0.0, max(0.1, 5.0 * v), False
            elif field == "factor":
                lo, hi, log = 0.1, max(5.0, 2.0 * v), False
            elif field == "dose_gy":
                lo, hi, log = 0.0, max(10.0, 2.0 * v), False
            else:
                lo, hi, log = _range(v, 0.0, math.inf)
            u = "" if unit == "1" else f" ({unit})"
            knobs.append(Knob(f"{prefix}_{field}", f"{title}: {field.replace('_', ' ')}{u}",
                              v, lo, hi, log, ("schedule", i, field)))
        sw = getattr(item, "swelling", None)
        if sw is not None:
            v = _first(sw.infiltration_rate)
            knobs.append(Knob(f"{prefix}_infiltration_rate",
                              f"{title}: swelling infiltration (1/day)", v, 0.0,
                              max(0.5, 5.0 * v), False, ("schedule", i, "swelling",
                                                          "infiltration_rate")))
            v = _first(sw.clearance_rate)
            lo, hi, log = _range(v, 0.0, math.inf)
            knobs.append(Knob(f"{prefix}_clearance_rate",
                              f"{title}: swelling clearance (1/day)", v, lo, hi, log,
                              ("schedule", i, "swelling", "clearance_rate")))
        acc = getattr(item, "acceleration", None)
        if acc is not None and not isinstance(item, Acceleration):
            v = _first(acc.factor)
            knobs.append(Knob(f"{prefix}_acceleration_factor",
                              f"{title}: acceleration factor", v, 0.1, max(5.0, 2.0 * v),
                              False, ("schedule", i, "acceleration", "factor")))
    return knobs


def _default_treatment_day(schedule: Schedule, t0: float) -> float:
    """First therapy day of the schedule (surgery, first fraction or dose, exposure start)."""
    days = []
    for item in schedule:
        if isinstance(item, Acceleration):
            continue
        d = item.event_days()
        if d.size:
            days.append(float(np.min(d)))
    return min(days) if days else t0


class Explorer:
    """Explore a growth law and a treatment: parameters and knobs in, curves out.

    Parameters
    ----------
    model : str or Model
        A card name (see :func:`tgsim.models`) or Model.
    schedule : Schedule, list of interventions or path, optional
        The treatment whose magnitudes get sliders (a ``.toml`` path is read with
        :func:`tgsim.load_schedule`).
    params : mapping, optional
        Starting parameter values (default the card defaults).
    times : array_like, optional
        Simulated times in days (default 0 to 364, daily).
    every_days : float or str
        Scan interval (days, or "6w", "8w", "3mo"); scans start at the first time.
    treatment_day : float, optional
        Treatment start for RECIST baseline (default: the schedule's first therapy day,
        or the first time without a schedule).
    log : bool
        Logarithmic volume axis in the figure.

    Attributes
    ----------
    knobs : dict
        Name -> :class:`Knob`.
    values : dict
        Current value of every knob.
    curves : dict
        After :meth:`update`: ``time`` (days), ``volume`` and ``observed`` (mm³; observed
        equals volume without swelling), ``scan_day`` (days), ``scan_diameter_mm``,
        ``change_pct`` (from baseline), ``recist`` and ``irecist`` (category per scan;
        "baseline" first), ``status`` (0 = success) and ``message``.

    Examples
    --------
    >>> ex = Explorer("exponential", params={"initial_volume": 100.0, "growth_rate": 0.01})
    >>> c = ex.update(growth_rate=0.02)
    >>> round(float(c["volume"][10] / c["volume"][0]), 4) == round(math.exp(0.2), 4)
    True
    """

    def __init__(self, model: str | Model, *, schedule: Any = None,
                 params: Mapping[str, float] | None = None, times: Any = None,
                 every_days: float | str = "6w", treatment_day: float | None = None,
                 log: bool = False) -> None:
        from .observe import parse_interval
        from .simulation import check_times

        self.model = get_model(model)
        if isinstance(schedule, str) or hasattr(schedule, "__fspath__"):
            from .treatment import load_schedule

            schedule = load_schedule(schedule)
        self.schedule = Schedule.coerce(schedule)
        self.times = check_times(DEFAULT_TIMES if times is None else times)
        self.every_days = parse_interval(every_days)
        self.treatment_day = (_default_treatment_day(self.schedule, float(self.times[0]))
                              if treatment_day is None else float(treatment_day))
        self.log = bool(log)
        start = self.model.defaults()
        for k, v in dict(params or {}).items():
            try:
                par = self.model.parameter(k)
            except KeyError as exc:
                raise TgsimError(f"`params`: {exc.args[0]}") from None
            start[par.name] = float(v)
        self.knobs: dict[str, Knob] = {}
        for p in self.model.parameters:
            v = start[p.name]
            lo, hi, lg = _range(v, p.lower, p.upper)
            u = "" if p.unit in ("1", "") else f" ({p.unit.replace('^3', '³')})"
            self.knobs[p.name] = Knob(p.name, f"{p.name.replace('_', ' ')} {p.symbol}{u}", v,
                                      lo, hi, lg, ("param", p.name))
        for k in _treatment_knobs(self.schedule):
            self.knobs[k.name] = k
        self.values: dict[str, float] = {k: kn.value for k, kn in self.knobs.items()}
        self.curves: dict[str, Any] = {}
        self._fig: Any = None
        self._artists: dict[str, Any] = {}
        self.sliders: dict[str, Any] = {}
        self._busy = False
        self.update()

    # ------------------------------------------------------------------ logic (headless)
    def current_schedule(self) -> Schedule:
        """The schedule with the current knob values substituted."""
        items = list(self.schedule)
        for name, knob in self.knobs.items():
            if knob.target[0] != "schedule":
                continue
            i, v = knob.target[1], self.values[name]
            item = items[i]
            if len(knob.target) == 3:
                items[i] = dataclasses.replace(item, **{knob.target[2]: v})
            else:
                sub = getattr(item, knob.target[2])
                items[i] = dataclasses.replace(
                    item, **{knob.target[2]: dataclasses.replace(sub, **{knob.target[3]: v})})
        return Schedule(items)

    def current_params(self) -> dict[str, float]:
        """Card parameter values now set."""
        return {p.name: self.values[p.name] for p in self.model.parameters}

    def update(self, **values: float) -> dict[str, Any]:
        """Set knob values and recompute the curves (no display needed).

        Parameters
        ----------
        **values
            Knob name -> value (see :attr:`knobs`). Values outside a slider's range are
            allowed if the model and schedule accept them.

        Returns
        -------
        dict
            :attr:`curves`.
        """
        for k, v in values.items():
            if k not in self.knobs:
                raise TgsimError(f"unknown knob {k!r}; knobs are {', '.join(self.knobs)}")
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise TgsimError(f"knob {k!r} must be a number; got {v!r}") from None
            if not math.isfinite(fv):
                raise TgsimError(f"knob {k!r} must be finite; got {v!r}")
        old = dict(self.values)
        self.values.update({k: float(v) for k, v in values.items()})
        try:
            self.curves = self._compute()
        except TgsimError:
            self.values = old
            raise
        if self._fig is not None:
            self._redraw()
        return self.curves

    def _compute(self) -> dict[str, Any]:
        from .observe import scan, scan_schedule
        from .simulation import simulate

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TgsimWarning)
            ds = simulate(self.model, self.times, self.current_params(),
                          schedule=self.current_schedule())
        t = self.times
        vol = np.asarray(ds["volume"].values[0], dtype=float)
        obs = np.asarray(ds["observed"].values[0], dtype=float) if "observed" in ds else vol
        status = int(ds["status"].values[0])
        out: dict[str, Any] = {"time": t, "volume": vol, "observed": obs, "status": status,
                               "message": STATUS_MESSAGES.get(status, "")}
        days = scan_schedule(self.every_days, float(t[0]), float(t[-1]))
        empty = np.array([], dtype=float)
        out.update(scan_day=empty, scan_diameter_mm=empty, change_pct=empty,
                   recist=[], irecist=[], notes="")
        if status != 0 or not np.all(np.isfinite(obs)):
            out["notes"] = f"simulation failed: {out['message']}"
            return out
        sc = scan(ds, days=days)
        d = np.asarray(sc["diameter"].values[0], dtype=float)
        out["scan_day"] = days
        out["scan_diameter_mm"] = d
        base = int(np.flatnonzero(days <= self.treatment_day + 1e-9)[-1]) \
            if np.any(days <= self.treatment_day + 1e-9) else 0
        with np.errstate(divide="ignore", invalid="ignore"):
            out["change_pct"] = 100.0 * (d - d[base]) / d[base]
        from .clinical.pseudoprogression import scan_categories

        try:
            cats = scan_categories(sc, treatment_day=self.treatment_day)
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

    # ------------------------------------------------------------------------- display
    def figure(self, *, figsize: tuple[float, float] | None = None):
        """Build (once) the interactive figure: curves and sliders. Returns the Figure."""
        if self._fig is not None:
            return self._fig
        import matplotlib.pyplot as plt
        from matplotlib.widgets import Slider

        from .plot import OKABE_ITO, reference_line

        n = len(self.knobs)
        h = 5.2 + 0.32 * n
        fig = plt.figure(figsize=figsize or (8.0, h))
        slider_h = 0.32 * n / h
        top = fig.add_axes((0.1, slider_h + 0.36 * (1 - slider_h) + 0.06, 0.62,
                            0.52 * (1 - slider_h) - 0.06))
        bottom = fig.add_axes((0.1, slider_h + 0.07, 0.62, 0.3 * (1 - slider_h) - 0.02),
                              sharex=top)
        c = self.curves
        a = self._artists
        (a["volume"],) = top.plot(c["time"], c["volume"], color=OKABE_ITO[0], lw=2,
                                  label="tumour volume")
        (a["observed"],) = top.plot(c["time"], c["observed"], color=OKABE_ITO[1], lw=2,
                                    ls="--", label="observed (tumour + swelling)")
        (a["scans"],) = top.plot([], [], ls="none", marker="o", color="black", ms=5,
                                 label="scans")
        top.set_ylabel("volume (mm³)")
        if self.log:
            top.set_yscale("log")
        top.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        top.set_title(f"{self.model.title}: scans every {self.every_days:g} days")
        top.tick_params(labelbottom=False)
        (a["change"],) = bottom.plot([], [], color="black", lw=1, marker="o", ms=4)
        bottom.axhline(0.0, color="black", lw=0.6)
        reference_line(bottom, -30.0, "PR −30 %", gid="recist-pr")
        reference_line(bottom, 20.0, "PD +20 %", gid="recist-pd")
        bottom.set_xlabel("time (day)")
        bottom.set_ylabel("diameter change\nfrom baseline (%)")
        a["notes"] = fig.text(0.1, 0.995, "", ha="left", va="top", fontsize=8, color="#D55E00")
        a["labels"] = []
        self._top, self._bottom = top, bottom
        for k, (name, knob) in enumerate(self.knobs.items()):
            y = (n - k - 0.75) * 0.32 / h
            sax = fig.add_axes((0.4, y, 0.32, 0.2 / h))
            lo, hi = (math.log10(knob.lower), math.log10(knob.upper)) if knob.log \
                else (knob.lower, knob.upper)
            v = self.values[name]
            v0 = math.log10(v) if knob.log else v
            s = Slider(sax, knob.label, lo, hi, valinit=min(max(v0, lo), hi))
            s.label.set_fontsize(8)
            s.valtext.set_fontsize(8)
            s.valtext.set_text(f"{v:.4g}")
            s.on_changed(self._slider_callback(name))
            self.sliders[name] = s
        self._fig = fig
        self._redraw()
        return fig

    def _slider_callback(self, name: str):
        def cb(val: float) -> None:
            knob = self.knobs[name]
            v = 10.0 ** val if knob.log else float(val)
            self.sliders[name].valtext.set_text(f"{v:.4g}")
            if self._busy:
                return
            try:
                self.update(**{name: v})
            except TgsimError as exc:
                self._artists["notes"].set_text(str(exc))
                self._fig.canvas.draw_idle()

        return cb

    def set_value(self, name: str, value: float) -> dict[str, Any]:
        """Move a slider (when the figure exists) or just update; returns the curves."""
        if name not in self.knobs:
            raise TgsimError(f"unknown knob {name!r}; knobs are {', '.join(self.knobs)}")
        if name in self.sliders:
            knob = self.knobs[name]
            self._busy = True
            try:
                self.sliders[name].set_val(math.log10(value) if knob.log else float(value))
            finally:
                self._busy = False
        return self.update(**{name: value})

    def _redraw(self) -> None:
        from .plot import GREY, response_colour

        c = self.curves
        a = self._artists
        a["volume"].set_data(c["time"], c["volume"])
        a["observed"].set_data(c["time"], c["observed"])
        a["observed"].set_visible(not np.array_equal(c["observed"], c["volume"]))
        sd = c["scan_day"]
        with np.errstate(divide="ignore", invalid="ignore"):
            scan_vol = np.pi / 6.0 * c["scan_diameter_mm"] ** 3
        a["scans"].set_data(sd, scan_vol)
        a["change"].set_data(sd, c["change_pct"])
        for txt in a["labels"]:
            txt.remove()
        a["labels"] = []
        for d, p, r, i in zip(sd, c["change_pct"], c["recist"], c["irecist"], strict=False):
            if r in ("baseline", "pre-baseline") or not np.isfinite(p):
                continue
            a["labels"].append(self._bottom.annotate(
                f"{r}\n{i}", xy=(d, p), xytext=(0, 6), textcoords="offset points",
                ha="center", va="bottom", fontsize=7, color=response_colour(r)))
        a["notes"].set_text(c.get("notes", ""))
        a["notes"].set_color("#D55E00" if c.get("notes") else GREY)
        for ax in (self._top, self._bottom):
            ax.relim()
            ax.autoscale_view()
        ch = c["change_pct"][np.isfinite(c["change_pct"])]
        lo = min(-40.0, float(ch.min()) if ch.size else 0.0)
        hi = max(30.0, float(ch.max()) if ch.size else 0.0)
        self._bottom.set_ylim(lo - 0.1 * (hi - lo), hi + 0.25 * (hi - lo))
        self._fig.canvas.draw_idle()

    def save(self, path: Any, *, dpi: int = 120) -> None:
        """Render the view to an image file (written atomically; format from the suffix)."""
        from pathlib import Path

        from .io import atomic_path

        fig = self.figure()
        fmt = Path(path).suffix.lstrip(".").lower() or "png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=fmt)

    def show(self) -> None:
        """Open the interactive window (needs a GUI matplotlib backend)."""
        import matplotlib.pyplot as plt

        self.figure()
        plt.show()

    def summary(self) -> str:
        """Current values and scan categories, as text."""
        c = self.curves
        lines = [f"{self.model.title}: " + ", ".join(f"{k}={v:.4g}" for k, v in
                                                      self.values.items())]
        for d, r, i in zip(c["scan_day"], c["recist"], c["irecist"], strict=False):
            lines.append(f"  day {d:g}: RECIST {r}, iRECIST {i}")
        if c.get("notes"):
            lines.append(f"  note: {c['notes']}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explorer {self.model.name}: {len(self.knobs)} knobs>"

