"""The browser explorer's page, built with Bokeh widgets and plots.

:func:`make_document` fills one Bokeh document (one browser tab) with the controls and
plots for a :class:`~tgsim.web.state.View`; every control change recomputes the view
(:func:`tgsim.web.state.compute`) on the server and replaces the plotted data. Named
models (``growth_rate`` slider, ``volume`` and ``calls`` data sources, ``calls_table``)
are what the browser test drives and reads.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import numpy as np

from ..errors import TgsimError
from .state import HYPOTHESES, PICKS, TREATMENTS, Field, View, assess_view, simulate_view

__all__ = ["make_document"]

ROWS = ["LI-RADS threshold growth", "iRECIST", "RECIST 1.1"]
_CSS_SMALL = "font-size: 11px; color: #555; margin-top: -6px;"


def _colour(category: str) -> str:
    from ..plot import GREY, response_colour

    if category == "TG":
        return "#D55E00"
    return response_colour(category) if category else GREY


def _param_slider(name: str, p: Any, value: float):
    """A slider for a card parameter: log10 scale for positive parameters."""
    from bokeh.models import CustomJSTickFormatter, Slider

    unit = "" if p.unit in ("1", "") else f" ({p.unit.replace('^3', '³')})"
    title = f"{p.name.replace('_', ' ')} {p.symbol}{unit}"
    if value > 0 and p.lower >= 0:
        lo = max(value / 10.0, p.lower if p.lower > 0 else value / 10.0)
        hi = min(value * 10.0, p.upper)
        fmt = CustomJSTickFormatter(code="return Number(Math.pow(10, tick).toPrecision(3))"
                                    ".toString();")
        return Slider(start=math.log10(lo), end=math.log10(hi), value=math.log10(value),
                      step=(math.log10(hi) - math.log10(lo)) / 400.0, title=title,
                      format=fmt, name=name,
                      sizing_mode="stretch_width", tags=["log"])
    hi = min(p.upper, max(1.0, abs(value) * 2.0))
    lo = max(p.lower, min(0.0, value))
    return Slider(start=lo, end=hi, value=value, step=(hi - lo) / 400.0, title=title,
                  name=name, sizing_mode="stretch_width",
                  tags=["linear"])


def _field_slider(kind: str, fld: Field, value: float):
    from bokeh.models import Slider

    unit = f" ({fld.unit})" if fld.unit not in ("1", "") else ""
    return Slider(start=fld.lower, end=fld.upper, step=fld.step, value=value,
                  title=f"{fld.name.replace('_', ' ')}{unit}", name=f"{kind}.{fld.name}",
                  sizing_mode="stretch_width")


def _meaning(text: str):
    from bokeh.models import Div

    return Div(text=html.escape(text), styles={"font-size": "11px", "color": "#555"},
               margin=(-8, 5, 2, 5), sizing_mode="stretch_width")


def _figures():
    """The four plots and their data sources."""
    from bokeh.models import ColumnDataSource, FactorRange, Legend, Range1d, Span
    from bokeh.plotting import figure

    from .state import HORIZON_DAYS

    src = {
        "volume": ColumnDataSource({"t": [], "v": [], "obs": []}, name="volume"),
        "scans": ColumnDataSource({"day": [], "vol": [], "d": [], "dt": [], "dtlabel": []},
                                  name="scans"),
        "calls": ColumnDataSource({"day": [], "row": [], "label": [], "colour": []},
                                  name="calls"),
    }
    kw = {"height": 230, "sizing_mode": "stretch_width", "toolbar_location": "right",
          "tools": "pan,box_zoom,wheel_zoom,reset,save"}
    fv = figure(title="Tumour volume: true and observed by scans", y_axis_label="volume (mm³)",
                x_range=Range1d(-5.0, HORIZON_DAYS + 5.0), name="volume_plot", **kw)
    r1 = fv.line("t", "v", source=src["volume"], line_width=2, color="#0072B2")
    r2 = fv.line("t", "obs", source=src["volume"], line_width=2, line_dash="dashed",
                 color="#D55E00")
    r3 = fv.scatter("day", "vol", source=src["scans"], size=7, color="black")
    fv.add_layout(Legend(items=[("true tumour", [r1]), ("observed (tumour + swelling)", [r2]),
                                ("scans", [r3])], location="top_left", background_fill_alpha=0.6))
    fd = figure(title="Scan diameter (sphere-equivalent)", y_axis_label="diameter (mm)",
                x_range=fv.x_range, name="diameter_plot", **kw)
    fd.line("day", "d", source=src["scans"], color="black")
    fd.scatter("day", "d", source=src["scans"], size=7, color="black")
    fd.add_layout(Span(location=10.0, dimension="width", line_dash="dotted",
                       line_color="#7F7F7F"))
    fc = figure(title="Calls per scan (RECIST 1.1 and iRECIST from baseline; LI-RADS: TG = "
                "≥ 50 % diameter growth within 6 months)", y_range=FactorRange(*ROWS),
                x_range=fv.x_range, height=170, sizing_mode="stretch_width",
                toolbar_location=None, name="calls_plot")
    fc.text("day", "row", text="label", source=src["calls"], text_color="colour",
            text_align="center", text_baseline="middle", text_font_size="12px",
            text_font_style="bold")
    fc.ygrid.grid_line_color = None
    ft = figure(title="Doubling time between scans (negative: halving time)",
                y_axis_label="days", x_axis_label="time (day)", x_range=fv.x_range,
                y_range=Range1d(-400, 400), name="doubling_plot", **kw)
    ft.scatter("day", "dt", source=src["scans"], size=7, color="#009E73")
    ft.text("day", "dt", text="dtlabel", source=src["scans"], text_font_size="10px",
            y_offset=-6, text_align="center")
    ft.add_layout(Span(location=0.0, dimension="width", line_color="#7F7F7F"))
    return src, [fv, fd, fc, ft]


class _Page:
    """State and callbacks of one browser tab."""

    def __init__(self, doc: Any, view: View, *, model_path: Any = None,
                 notes: list[str] | None = None) -> None:
        from bokeh.layouts import column, row
        from bokeh.models import (
            Button,
            CheckboxGroup,
            ColumnDataSource,
            Div,
            RadioButtonGroup,
            Select,
            TextAreaInput,
        )

        from ..engine.catalogue import models

        self.doc, self.view, self.model_path = doc, view, model_path
        self.start_notes = list(notes or [])
        self.curves: dict[str, Any] = {}
        self.update_ms = float("nan")
        self.table_html, self.table_pending = "", False
        self.src, figs = _figures()
        self.status = Div(text="", name="status", sizing_mode="stretch_width")
        self.model_select = Select(title="growth law", value=view.model,
                                   options=list(models(path=model_path)), name="model")
        self.model_select.on_change("value", self._on_model)
        self.params_col = column(sizing_mode="stretch_width")
        self._build_params()
        keys = list(PICKS)
        self.picker = CheckboxGroup(labels=[PICKS[k] for k in keys], name="treatments",
                                    active=[i for i, k in enumerate(keys)
                                            if k in view.enabled])
        self.picker.on_change("active", self._on_pick)
        self.hyp = RadioButtonGroup(labels=["log-kill", "Norton–Simon"], name="hypothesis",
                                    active=HYPOTHESES.index(view.hypothesis))
        self.hyp.on_change("active", self._on_hyp)
        self.groups: dict[str, Any] = {}
        for kind, flds in TREATMENTS.items():
            kids: list[Any] = [Div(text=f"<b>{kind}</b>", margin=(8, 5, 0, 5))]
            if kind == "chemotherapy":
                kids.append(self.hyp)
            for fld in flds:
                s = _field_slider(kind, fld, view.fields[kind][fld.name])
                s.on_change("value", self._field_cb(kind, fld.name))
                kids += [s, _meaning(fld.meaning)]
            self.groups[kind] = column(*kids, sizing_mode="stretch_width")
        self.share_button = Button(label="Share this view", button_type="primary",
                                   name="share")
        self.share_button.on_click(self._on_share)
        self.share_url = Div(text="", name="share_url", sizing_mode="stretch_width")
        self.share_toml = TextAreaInput(value="", rows=6, name="share_toml",
                                        title="view as TOML (tgsim explore --web --view FILE)",
                                        sizing_mode="stretch_width", visible=False)
        self.calls_table = Div(text="", name="calls_table", sizing_mode="stretch_width")
        # the view the plots show, as a share query: read by tests, and kept out of the page
        # (a data model with no view, so an update costs the browser no layout)
        self.shown = ColumnDataSource({"query": [""]}, name="shown_view")
        controls = column(
            Div(text="<h2 style='margin:0'>tgsim explorer</h2>"), self.model_select,
            Div(text="<b>parameters</b> (from the card)"), self.params_col,
            Div(text="<b>treatments</b>"), self.picker,
            *self.groups.values(), self.share_button, self.share_url, self.share_toml,
            width=340, height=900, styles={"overflow-y": "auto"}, name="controls")
        plots = column(self.status, *figs, self.calls_table, sizing_mode="stretch_width")
        self._show_groups()
        doc.title = "tgsim explorer"
        doc.add_root(row(controls, plots, sizing_mode="stretch_width"))
        doc.add_root(self.shown)
        self._recompute()

    # ---------------------------------------------------------------- controls
    def _build_params(self) -> None:
        mdl = _card(self.view.model, self.model_path)
        kids = []
        self.param_sliders = {}
        for p in mdl.parameters:
            s = _param_slider(p.name, p, self.view.params[p.name])
            s.on_change("value", self._param_cb(p.name, "log" in s.tags))
            self.param_sliders[p.name] = s
            kids += [s, _meaning(f"{p.description} [{p.unit}]")]
        self.params_col.children = kids

    def _show_groups(self) -> None:
        for kind, group in self.groups.items():
            group.visible = kind == "scans" or self.view.picked(kind)

    def _param_cb(self, name: str, log: bool):
        def cb(attr: str, old: Any, new: Any) -> None:
            self.view.params[name] = 10.0 ** float(new) if log else float(new)
            self._schedule()
        return cb

    def _field_cb(self, kind: str, name: str):
        def cb(attr: str, old: Any, new: Any) -> None:
            self.view.fields[kind][name] = float(new)
            self._schedule()
        return cb

    def _on_model(self, attr: str, old: Any, new: Any) -> None:
        fresh = View.default(new, model_path=self.model_path)
        self.view.model, self.view.params = fresh.model, fresh.params
        self._build_params()
        self._schedule()

    def _on_pick(self, attr: str, old: Any, new: Any) -> None:
        keys = list(PICKS)
        self.view.enabled = {keys[i] for i in new}
        self._show_groups()
        self._schedule()

    def _on_hyp(self, attr: str, old: Any, new: Any) -> None:
        self.view.hypothesis = HYPOTHESES[int(new)]
        self._schedule()

    def _on_share(self) -> None:
        request = getattr(self.doc.session_context, "request", None)
        headers = getattr(request, "headers", None) or {}
        host = headers.get("Host", "127.0.0.1")
        url = f"http://{host}/?{self.view.to_query()}"
        self.share_url.text = (f"<a href='{html.escape(url)}' target='_blank'>link to this "
                               f"view</a><br><code style='font-size:10px;word-break:break-all'>"
                               f"{html.escape(url)}</code>")
        self.share_toml.value = self.view.to_toml()
        self.share_toml.visible = True

    # ---------------------------------------------------------------- updates
    def _schedule(self) -> None:
        """Recompute the view (one simulation and its calls take a few milliseconds)."""
        self._recompute()

    def _recompute(self) -> None:
        """Simulate, read the scans and redraw: one message to the browser per change."""
        t0 = time.perf_counter()
        c = simulate_view(self.view, model_path=self.model_path)
        a = assess_view(c)
        self._draw_curves(c)
        self._draw_calls(c, a)
        self.curves = c
        query = self.view.to_query()
        if self.shown.data["query"] != [query]:
            self.shown.data = {"query": [query]}
        notes = self.start_notes + [n for n in (c["notes"], a["notes"]) if n]
        text = " · ".join(html.escape(n) for n in notes)
        self._set_div(self.status, f"<span style='color:#D55E00'>{text}</span>" if text else
                      "<span style='color:#555'>each change is simulated by the compiled "
                      "kernels and read by RECIST 1.1 / iRECIST on the server</span>")
        self.update_ms = 1e3 * (time.perf_counter() - t0)

    @staticmethod
    def _set_div(div: Any, text: str) -> None:
        if div.text != text:  # an unchanged Div keeps the page layout as it is
            div.text = text

    def _draw_curves(self, c: dict[str, Any]) -> None:
        t = np.asarray(c["time"], dtype=float)
        vol = self.src["volume"]
        if len(vol.data["t"]) == t.size:  # the days stay: send the two new curves only
            vol.data.update(v=c["volume"], obs=c["observed"])
        else:
            vol.data = {"t": t, "v": c["volume"], "obs": c["observed"]}
        d = np.asarray(c["scan_diameter_mm"], dtype=float)
        dt = np.asarray(c["doubling_days"], dtype=float)
        shown = np.where(np.isfinite(dt), np.clip(dt, -390.0, 390.0), np.nan)
        labels = ["" if not np.isfinite(x) else ("> 400" if x > 400 else "< −400" if x < -400
                                                  else f"{x:.0f}") for x in dt]
        self.src["scans"].data = {"day": c["scan_day"], "vol": np.pi / 6.0 * d**3, "d": d,
                                  "dt": shown, "dtlabel": labels}

    def _draw_calls(self, c: dict[str, Any], a: dict[str, Any]) -> None:
        rec = [_short(x) for x in a["recist"]]
        irec = [_short(x) for x in a["irecist"]]
        tg = ["TG" if f else "–" for f in c["threshold_growth"]]
        days = [float(x) for x in c["scan_day"]]
        n = len(rec)
        data = {
            "day": days[:n] + days[:n] + days,
            "row": [ROWS[2]] * n + [ROWS[1]] * n + [ROWS[0]] * len(days),
            "label": rec + irec + tg,
            "colour": [_colour(x) for x in rec + irec + tg],
        }
        if data != dict(self.src["calls"].data):
            self.src["calls"].data = data
        head = "".join(f"<th>{x:g}</th>" for x in days)
        body = "".join(
            f"<tr><th style='text-align:left'>{name}</th>"
            + "".join(f"<td style='color:{_colour(x)}'>{x}</td>" for x in vals) + "</tr>"
            for name, vals in (("RECIST 1.1", rec), ("iRECIST", irec),
                               ("LI-RADS threshold growth", tg)))
        self.table_html = (f"<table style='font-size:12px;border-spacing:8px 2px'><tr>"
                           f"<th style='text-align:left'>scan day</th>{head}</tr>{body}"
                           f"</table>")
        if self.calls_table.text != self.table_html and not self.table_pending:
            # the table re-lays out the page in the browser: sent on the next tick, after
            # the plots (which show the same calls) have been redrawn
            self.table_pending = True
            self.doc.add_next_tick_callback(self._draw_table)

    def _draw_table(self) -> None:
        self.table_pending = False
        self._set_div(self.calls_table, self.table_html)


def _short(category: str) -> str:
    return {"baseline": "BL", "pre-baseline": "pre"}.get(str(category), str(category))


def _card(name: str, model_path: Any):
    from ..engine.catalogue import model as get_model

    return get_model(name, path=model_path)


def make_document(doc: Any, view: View | None = None, *, model_path: Any = None,
                  notes: list[str] | None = None) -> None:
    """Fill a Bokeh document with the explorer for ``view``.

    Parameters
    ----------
    doc : bokeh.document.Document
        The document of a server session (or of ``bokeh.io.show(app)`` in a notebook).
    view : View, optional
        Starting view (default :meth:`View.default`). The session's URL query, when it has
        one, overrides it (the share links).
    model_path : path or list of paths, optional
        Extra folders of user cards.
    notes : list of str, optional
        Lines shown above the plots (e.g. what of a schedule file is not shown).
    """
    start = (view or View.default(model_path=model_path)).copy()
    request = getattr(getattr(doc, "session_context", None), "request", None)
    args = getattr(request, "arguments", None) or {}
    if args:
        query = {k: (v[0].decode() if isinstance(v[0], bytes) else str(v[0]))
                 for k, v in args.items() if v}
        try:
            start = View.from_query(query, model_path=model_path)
        except TgsimError as exc:
            notes = [*(notes or []), f"link ignored: {exc}"]
    _Page(doc, start, model_path=model_path, notes=notes)
