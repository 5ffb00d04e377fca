r"""Response figures: waterfall, spider and swimmer plots.

All three take a :class:`tgsim.clinical.ResponseAssessment` (from
:func:`tgsim.recist` or :func:`tgsim.irecist`); the waterfall and spider plots also take
plain tables. Percentages are changes of the sum of target-lesion diameters,

.. math:: \Delta_{\%}(t) = 100\,\frac{S(t) - S_0}{S_0},

with :math:`S_0` the baseline sum (mm); days are counted from the baseline assessment.
RECIST 1.1 thresholds (Eisenhauer et al. 2009): partial response at a decrease of at
least 30 % from baseline, progression at an increase of at least 20 % (and 5 mm) over
the nadir.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid
tumours: revised RECIST guideline (version 1.1). *Eur J Cancer* 2009;45(2):228-247.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import GREY, RESPONSE_ORDER, new_axes, reference_line, response_colour

#: PR threshold on the change from baseline (%)
PR_LINE_PCT = -30.0
#: PD threshold on the change over the nadir (%)
PD_LINE_PCT = 20.0

_PROGRESSION = ("PD", "iCPD")
_RESPONSE = ("CR", "PR", "iCR", "iPR")


def _is_assessment(obj: Any) -> bool:
    return hasattr(obj, "table") and hasattr(obj, "best") and hasattr(obj, "criteria")


def _on_study(table: Any):
    """Rows after each subject's baseline (the baseline row has no response)."""
    return table.loc[table["response"].notna()]


def best_change(assessment: Any):
    """Best (smallest) change of the target sum from baseline per subject, in %.

    Parameters
    ----------
    assessment : ResponseAssessment
        From :func:`tgsim.recist` or :func:`tgsim.irecist`.

    Returns
    -------
    pandas.DataFrame
        ``subject, best_change_pct, best_response``: the minimum over the on-study
        assessments of ``change_from_baseline_pct`` (NaN without one), and the best
        overall response.
    """
    import pandas as pd

    if not _is_assessment(assessment):
        raise TgsimError("`assessment` must be a ResponseAssessment (from tgsim.recist or "
                         f"tgsim.irecist); got {type(assessment).__name__}")
    on = _on_study(assessment.table)
    best_pct = on.groupby("subject", sort=False)["change_from_baseline_pct"].min()
    out = assessment.best[["subject", "best_response"]].copy()
    out["best_change_pct"] = out["subject"].map(best_pct).astype(float)
    return pd.DataFrame(out[["subject", "best_change_pct", "best_response"]])


def _legend_by_category(ax: Any, categories: list[str], **kw: Any) -> None:
    from matplotlib.patches import Patch

    present = [c for c in RESPONSE_ORDER if c in set(categories)]
    present += sorted({c for c in categories if c not in RESPONSE_ORDER})
    if present:
        handles = [Patch(color=response_colour(c), label=c) for c in present]
        ax.legend(handles=handles, frameon=False, fontsize=8, **kw)


def waterfall(data: Any, *, categories: Any = None, ax: Any = None, title: str | None = None,
              clip_pct: float | None = None, show_lines: bool = True):
    """Waterfall plot: one bar per subject, its best change of the target sum (%).

    Bars are sorted from the largest increase to the deepest response and coloured by
    best overall response. Dashed lines mark the RECIST 1.1 thresholds: -30 % (partial
    response, from baseline) and +20 % (progression, over the nadir; for the best
    change, whose nadir is the baseline itself, a subject above +20 % at every
    assessment progressed at its first one when the sum also grew by 5 mm).

    Parameters
    ----------
    data : ResponseAssessment, mapping, pandas Series or array
        A :func:`tgsim.recist` / :func:`tgsim.irecist` result, or best changes in %
        (mapping/Series subject -> %, or an array).
    categories : mapping, Series or sequence, optional
        Best-response label per subject when ``data`` is not an assessment.
    ax : matplotlib Axes, optional
    title : str, optional
    clip_pct : float, optional
        Clip bars above this value (an arrowhead marks clipped bars).
    show_lines : bool
        Draw the -30 % and +20 % lines (artists have gid ``recist-pr`` and
        ``recist-pd``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import pandas as pd

    if _is_assessment(data):
        bc = best_change(data)
        subjects = bc["subject"].astype(str).to_numpy()
        values = bc["best_change_pct"].to_numpy(dtype=float)
        cats = bc["best_response"].astype(str).to_numpy()
        criteria = data.criteria
    else:
        if type(data).__name__ in ("Dataset", "DataArray", "DataFrame"):
            raise TgsimError(
                f"`data` must be a ResponseAssessment, a mapping subject -> %, a Series or an "
                f"array; got a {type(data).__name__} (for scans, assess them first, e.g. "
                "tgsim.plot.waterfall(tgsim.recist(lesion_table)))")
        what = ("`data` must be a ResponseAssessment, a mapping subject -> %, a Series or an "
                "array of numbers")
        try:
            if isinstance(data, Mapping):
                data = pd.Series(data)
            if isinstance(data, pd.Series):
                subjects = data.index.astype(str).to_numpy()
                values = data.to_numpy(dtype=float)
            else:
                values = np.asarray(data, dtype=float).reshape(-1)
                subjects = np.arange(values.size).astype(str)
        except (TypeError, ValueError):
            raise TgsimError(f"{what}; got {data!r:.200}") from None
        if categories is None:
            cats = np.array([""] * values.size)
        else:
            if isinstance(categories, Mapping):
                categories = pd.Series(categories)
            if isinstance(categories, pd.Series):
                lookup = {str(k): str(v) for k, v in categories.items()}
                cats = np.array([lookup.get(s, "") for s in subjects])
            else:
                cats = np.asarray(categories, dtype=str).reshape(-1)
            if cats.size != values.size:
                raise TgsimError(f"`categories` must have one label per subject ({values.size});"
                                 f" got {cats.size}")
        criteria = "RECIST 1.1"
    if np.isinf(values).any():
        raise TgsimError("best changes must be finite or NaN (%); got an infinite value")
    keep = np.isfinite(values)
    subjects, values, cats = subjects[keep], values[keep], cats[keep]
    order = np.argsort(-values, kind="stable")
    subjects, values, cats = subjects[order], values[order], cats[order]
    shown = values.copy()
    if clip_pct is not None:
        shown = np.minimum(shown, float(clip_pct))
    ax = new_axes(ax)
    x = np.arange(values.size)
    colours = [response_colour(c) if c else GREY for c in cats]
    bars = ax.bar(x, shown, color=colours, width=0.85, edgecolor="none")
    for patch in bars:
        patch.set_gid("waterfall-bars")
    if clip_pct is not None and np.any(values > clip_pct):
        idx = np.flatnonzero(values > clip_pct)
        ax.plot(x[idx], shown[idx], ls="none", marker="^", color="black", ms=5,
                label=f"clipped at {clip_pct:g} %")
    ax.axhline(0.0, color="black", lw=0.8).set_gid("zero")
    if show_lines:
        reference_line(ax, PR_LINE_PCT, "PR\n−30 %", gid="recist-pr")
        reference_line(ax, PD_LINE_PCT, "PD\n+20 %", gid="recist-pd")
    ax.set_xlim(-0.7, max(values.size, 1) - 0.3)
    ax.set_xticks([])
    ax.set_xlabel(f"subjects ({values.size}), sorted by best change")
    ax.set_ylabel("best change in sum of diameters from baseline (%)")
    lo = min(float(np.min(shown)) if shown.size else 0.0, -40.0)
    hi = max(float(np.max(shown)) if shown.size else 0.0, 30.0)
    pad = 0.08 * (hi - lo)
    ax.set_ylim(lo - pad, hi + pad)
    if any(cats):
        _legend_by_category(ax, [c for c in cats if c], loc="lower left",
                            title="best response", title_fontsize=8)
    ax.set_title(title if title is not None else f"Best response ({criteria})")
    return ax


def _change_table(data: Any):
    """subject, days from baseline, % change from baseline and best response."""
    import pandas as pd

    if _is_assessment(data):
        tab = data.table
        best = dict(zip(data.best["subject"].astype(str), data.best["best_response"].astype(str),
                        strict=True))
    elif isinstance(data, pd.DataFrame):
        tab = data
        best = {}
    else:
        raise TgsimError("`data` must be a ResponseAssessment or a DataFrame with columns "
                         f"subject, day, change_from_baseline_pct; got {type(data).__name__}")
    need = {"subject", "day", "change_from_baseline_pct"}
    if not need <= set(tab.columns):
        raise TgsimError(f"`data` must have columns {sorted(need)}; got {list(tab.columns)}")
    return tab, best


def spider(data: Any, *, ax: Any = None, title: str | None = None, max_subjects: int = 200,
           show_lines: bool = True):
    """Spider plot: % change of the target sum from baseline against days on study.

    One line per subject, starting at (0, 0 %) at baseline, coloured by best overall
    response, with the RECIST 1.1 lines at -30 % and +20 %.

    Parameters
    ----------
    data : ResponseAssessment or pandas.DataFrame
        A :func:`tgsim.recist` / :func:`tgsim.irecist` result, or a table with columns
        ``subject, day, change_from_baseline_pct`` (and optionally ``best_response``);
        days in days. The first row of each subject is its baseline.
    ax : matplotlib Axes, optional
    title : str, optional
    max_subjects : int
        Draw at most this many subjects (the first ones).
    show_lines : bool
        Draw the reference lines (gids ``recist-pr`` and ``recist-pd``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    tab, best = _change_table(data)
    ax = new_axes(ax)
    cats = []
    for k, (subject, g) in enumerate(tab.groupby("subject", sort=False)):
        if k >= max_subjects:
            break
        day = g["day"].to_numpy(dtype=float)
        pct = g["change_from_baseline_pct"].to_numpy(dtype=float)
        ok = np.isfinite(pct)
        if ok.sum() < 1:
            continue
        cat = best.get(str(subject), str(g["best_response"].iloc[0])
                       if "best_response" in g else "")
        cats.append(cat)
        ax.plot(day[ok] - day[0], pct[ok], color=response_colour(cat) if cat else GREY,
                lw=1.2, marker="o", ms=3, alpha=0.85)
    ax.axhline(0.0, color="black", lw=0.8).set_gid("zero")
    if show_lines:
        reference_line(ax, PR_LINE_PCT, "PR\n−30 %", gid="recist-pr")
        reference_line(ax, PD_LINE_PCT, "PD\n+20 %", gid="recist-pd")
    ax.set_xlabel("time from baseline (day)")
    ax.set_ylabel("change in sum of diameters from baseline (%)")
    if any(cats):
        _legend_by_category(ax, [c for c in cats if c], loc="best", title="best response",
                            title_fontsize=8)
    crit = getattr(data, "criteria", "RECIST 1.1")
    ax.set_title(title if title is not None else f"Change from baseline ({crit})")
    return ax


_EVENT_STYLE = {
    "CR": dict(marker="D", color=response_colour("CR")),
    "PR": dict(marker="^", color=response_colour("PR")),
    "UPD": dict(marker="o", color=response_colour("iUPD")),
    "PD": dict(marker="X", color=response_colour("PD")),
}
_EVENT_NAMES = {"CR": "first complete response", "PR": "first partial response",
                "UPD": "unconfirmed progression (iUPD)", "PD": "progression"}


def _swimmer_rows(data: Any):
    """(subject, start, stop, ongoing, events{kind: day}) per subject."""
    rows = []
    for subject, g in data.table.groupby("subject", sort=False):
        days = g["day"].to_numpy(dtype=float)
        resp = g["response"].astype(object).tolist()
        base = days[0]
        events: dict[str, float] = {}
        stop = days[-1]
        ongoing = True
        for d, r in zip(days[1:], resp[1:], strict=True):
            r = "" if r is None or (isinstance(r, float) and np.isnan(r)) else str(r)
            plain = r[1:] if r.startswith("i") and r not in ("iNE",) else r
            if plain in ("CR", "PR") and plain not in events:
                events[plain] = d - base
            if r == "iUPD" and "UPD" not in events:
                events["UPD"] = d - base
            if plain in ("PD", "CPD"):
                events["PD"] = d - base
                stop = d
                ongoing = False
                break
        rows.append((str(subject), 0.0, stop - base, ongoing, events))
    return rows


def swimmer(data: Any, *, ax: Any = None, title: str | None = None, max_subjects: int = 40,
            events: Any = None):
    """Swimmer plot: time on study per subject, with response events.

    Each bar runs from the baseline assessment to progression (PD, or iCPD for iRECIST:
    the usual end of treatment) or, without progression, to the last assessment, where
    an arrow says the subject was still on study. Markers show the first partial and
    complete response, the first unconfirmed progression (iRECIST) and progression.

    Parameters
    ----------
    data : ResponseAssessment or pandas.DataFrame
        A :func:`tgsim.recist` / :func:`tgsim.irecist` result, or a table with columns
        ``subject, start, stop`` (days) and optionally ``ongoing`` (bool).
    ax : matplotlib Axes, optional
    title : str, optional
    max_subjects : int
        Draw the longest ``max_subjects`` bars.
    events : pandas.DataFrame, optional
        With a table: events ``subject, day, event`` (event one of CR, PR, UPD, PD),
        days from the subject's start.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import pandas as pd

    if _is_assessment(data):
        rows = _swimmer_rows(data)
        crit = data.criteria
    elif isinstance(data, pd.DataFrame):
        need = {"subject", "start", "stop"}
        if not need <= set(data.columns):
            raise TgsimError(f"`data` must have columns {sorted(need)}; got {list(data.columns)}")
        ev: dict[str, dict[str, float]] = {}
        if events is not None:
            for s, d, e in zip(events["subject"].astype(str), events["day"].astype(float),
                               events["event"].astype(str), strict=True):
                if e not in _EVENT_STYLE:
                    raise TgsimError(f"`events.event` must be one of {list(_EVENT_STYLE)}; "
                                     f"got {e!r}")
                ev.setdefault(s, {})[e] = d
        rows = []
        for r in data.itertuples(index=False):
            start, stop = float(r.start), float(r.stop)
            if not (np.isfinite(start) and np.isfinite(stop)) or stop < start:
                raise TgsimError(f"`data`: subject {r.subject!r} needs finite start <= stop "
                                 f"(days); got {start!r}, {stop!r}")
            ongoing = bool(getattr(r, "ongoing", False))
            rows.append((str(r.subject), start, stop, ongoing, ev.get(str(r.subject), {})))
        crit = ""
    else:
        raise TgsimError("`data` must be a ResponseAssessment or a DataFrame with columns "
                         f"subject, start, stop; got {type(data).__name__}")
    rows.sort(key=lambda r: r[2] - r[1], reverse=True)
    rows = rows[: int(max_subjects)][::-1]
    ax = new_axes(ax, figsize=(6.4, max(2.5, 0.22 * len(rows) + 1.4)))
    y = np.arange(len(rows))
    starts = np.array([r[1] for r in rows])
    lengths = np.array([r[2] - r[1] for r in rows])
    bars = ax.barh(y, lengths, left=starts, height=0.6, color="#BFBFBF", edgecolor="none")
    for patch in bars:
        patch.set_gid("swimmer-bars")
    seen: set[str] = set()
    for i, r in enumerate(rows):
        for kind, day in r[4].items():
            style = _EVENT_STYLE[kind]
            lab = _EVENT_NAMES[kind] if kind not in seen else None
            seen.add(kind)
            ax.plot([day], [i], ls="none", ms=6, label=lab, zorder=3, **style)
        if r[3]:
            lab = "on study at last assessment" if "ongoing" not in seen else None
            seen.add("ongoing")
            ax.plot([r[2]], [i], ls="none", marker=">", color="black", ms=5, label=lab,
                    zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels([r[0] for r in rows], fontsize=7 if len(rows) > 20 else 8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlim(left=min(0.0, float(starts.min()) if starts.size else 0.0))
    ax.set_xlabel("time from baseline (day)")
    ax.set_ylabel("subject")
    if seen:
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title(title if title is not None else f"Time on study{f' ({crit})' if crit else ''}")
    return ax
