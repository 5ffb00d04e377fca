"""Waterfall, spider and swimmer plots: content checked against hand-computed RECIST."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plot_helpers import EXPECTED_BEST, assert_finite, lines_with_gid

import tgsim.plot as tp
from tgsim.clinical import irecist, recist
from tgsim.errors import TgsimError
from tgsim.plot._labels import response_colour


def _bars(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def test_best_change_matches_hand_computation(lesion_table):
    bc = tp.best_change(recist(lesion_table)).set_index("subject")
    for s, (pct, cat) in EXPECTED_BEST.items():
        assert bc.loc[s, "best_change_pct"] == pytest.approx(pct, abs=1e-9)
        assert bc.loc[s, "best_response"] == cat


def test_waterfall_bars_lines_and_labels(lesion_table):
    ax = tp.waterfall(recist(lesion_table))
    bars = _bars(ax, "waterfall-bars")
    assert len(bars) == 5
    heights = [b.get_height() for b in bars]
    expected = sorted((v[0] for v in EXPECTED_BEST.values()), reverse=True)
    np.testing.assert_allclose(heights, expected, atol=1e-9)
    # colour of each bar is that of its best response
    by_height = {round(v[0], 6): v[1] for v in EXPECTED_BEST.values()}
    for b in bars:
        want = matplotlib_rgba(response_colour(by_height[round(b.get_height(), 6)]))
        np.testing.assert_allclose(b.get_facecolor(), want)
    # the RECIST reference lines: -30 % (PR) and +20 % (PD)
    (pr,) = lines_with_gid(ax, "recist-pr")
    (pd_,) = lines_with_gid(ax, "recist-pd")
    assert set(pr.get_ydata()) == {-30.0}
    assert set(pd_.get_ydata()) == {20.0}
    assert "(%)" in ax.get_ylabel() and "baseline" in ax.get_ylabel()
    assert ax.get_title() == "Best response (RECIST 1.1)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["CR", "PR", "SD", "PD"]
    assert_finite(ax)


def matplotlib_rgba(c):
    from matplotlib.colors import to_rgba

    return to_rgba(c)


def test_waterfall_from_values_with_categories_and_clip():
    values = {"s1": -45.0, "s2": 250.0, "s3": 5.0, "s4": np.nan}
    ax = tp.waterfall(values, categories={"s1": "PR", "s2": "PD", "s3": "SD"}, clip_pct=100)
    bars = _bars(ax, "waterfall-bars")
    assert len(bars) == 3  # the NaN subject is left out
    assert [b.get_height() for b in bars] == [100.0, 5.0, -45.0]
    clipped = [ln for ln in ax.lines if ln.get_label().startswith("clipped")]
    assert len(clipped) == 1 and list(clipped[0].get_ydata()) == [100.0]
    assert lines_with_gid(ax, "recist-pr") and lines_with_gid(ax, "recist-pd")
    assert_finite(ax)


def test_waterfall_bad_input():
    with pytest.raises(TgsimError, match="categories"):
        tp.waterfall([1.0, 2.0], categories=["PR"])
    with pytest.raises(TgsimError, match="finite"):
        tp.waterfall([1.0, np.inf])


def test_spider_one_line_per_subject(lesion_table):
    res = recist(lesion_table)
    ax = tp.spider(res)
    data = [ln for ln in ax.lines if ln.get_gid() is None and len(ln.get_xdata()) > 1]
    assert len(data) == 5
    for ln in data:
        assert ln.get_xdata()[0] == 0.0 and ln.get_ydata()[0] == 0.0  # baseline
    a = next(ln for ln in data if np.isclose(ln.get_ydata()[-1], -60.0))
    np.testing.assert_allclose(a.get_xdata(), [0.0, 42.0, 84.0])
    np.testing.assert_allclose(a.get_ydata(), [0.0, -40.0, -60.0])
    assert lines_with_gid(ax, "recist-pr") and lines_with_gid(ax, "recist-pd")
    assert ax.get_xlabel() == "time from baseline (day)"
    assert "(%)" in ax.get_ylabel()
    assert_finite(ax)


def test_spider_from_table_and_bad_table():
    tab = pd.DataFrame({"subject": ["a", "a", "b", "b"], "day": [0.0, 30, 0, 30],
                        "change_from_baseline_pct": [0.0, -10, 0, 25]})
    ax = tp.spider(tab)
    assert sum(len(ln.get_xdata()) == 2 for ln in ax.lines if ln.get_gid() is None) == 2
    with pytest.raises(TgsimError, match="columns"):
        tp.spider(tab.drop(columns="day"))


def test_swimmer_bars_and_events(lesion_table):
    res = irecist(lesion_table)
    ax = tp.swimmer(res)
    bars = _bars(ax, "swimmer-bars")
    assert len(bars) == 5
    widths = sorted(b.get_width() for b in bars)
    # B progresses at day 84 (iUPD, not confirmed: on study to its last scan), D at day 42
    assert widths == [42.0, 84.0, 84.0, 84.0, 84.0]
    labels = {t.get_text() for t in ax.get_legend().get_texts()}
    assert {"first partial response", "first complete response",
            "unconfirmed progression (iUPD)"} <= labels
    assert ax.get_xlabel() == "time from baseline (day)"
    assert [t.get_text() for t in ax.get_yticklabels()]  # subjects named
    assert_finite(ax)


def test_swimmer_recist_ends_at_progression(lesion_table):
    ax = tp.swimmer(recist(lesion_table))
    widths = sorted(b.get_width() for b in _bars(ax, "swimmer-bars"))
    assert widths == [42.0, 84.0, 84.0, 84.0, 84.0]
    pd_markers = [ln for ln in ax.lines if ln.get_marker() == "X"]
    # B at day 84 and D at day 42 progressed
    assert sorted(float(ln.get_xdata()[0]) for ln in pd_markers) == [42.0, 84.0]
    ongoing = [ln for ln in ax.lines if ln.get_marker() == ">"]
    assert len(ongoing) == 3


def test_swimmer_from_table():
    tab = pd.DataFrame({"subject": ["x", "y"], "start": [0.0, 0.0], "stop": [100.0, 40.0],
                        "ongoing": [True, False]})
    ev = pd.DataFrame({"subject": ["y"], "day": [40.0], "event": ["PD"]})
    ax = tp.swimmer(tab, events=ev)
    assert sorted(b.get_width() for b in _bars(ax, "swimmer-bars")) == [40.0, 100.0]
    with pytest.raises(TgsimError, match="event"):
        tp.swimmer(tab, events=ev.assign(event="bad"))
    with pytest.raises(TgsimError, match="start <= stop"):
        tp.swimmer(tab.assign(stop=[-1.0, 40.0]))
