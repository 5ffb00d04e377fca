"""Structure regression of key figures against stored baselines.

A figure is reduced to its structure (per axes: title, axis labels and scales, each
line's label and up to 12 evenly spaced data points, legend and text strings, counts of
patches and collections, bar rectangles), which does not depend on fonts or the rendering machine.
Strings must match exactly; numbers to a relative tolerance of 1e-3 (the simulations
behind them are solved to rtol 1e-8).

Regenerate after an intended change with ``TGSIM_UPDATE_BASELINES=1 pytest
tests/plot/test_baseline.py`` and review the diff of ``tests/plot/baseline/``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

BASELINE = Path(__file__).resolve().parent / "baseline"
RTOL = 1e-3
N_POINTS = 12


def _sample(a) -> list[float | None]:
    a = np.asarray(a, dtype=float).ravel()
    if a.size == 0:
        return []
    idx = np.unique(np.linspace(0, a.size - 1, min(a.size, N_POINTS)).round().astype(int))
    return [None if not np.isfinite(v) else float(f"{v:.6g}") for v in a[idx]]


def structure(fig) -> dict:
    """The font-independent content of a figure."""
    from matplotlib.patches import Rectangle

    out = []
    for ax in fig.axes:
        legend = ax.get_legend()
        out.append({
            "title": ax.get_title(),
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
            "xscale": ax.get_xscale(),
            "yscale": ax.get_yscale(),
            "lines": [{"label": "" if ln.get_label().startswith("_") else ln.get_label(),
                       "n": int(np.size(ln.get_xdata())),
                       "x": _sample(ln.get_xdata()), "y": _sample(ln.get_ydata())}
                      for ln in ax.lines],
            "n_patches": len(ax.patches),
            "bars": [[float(f"{v:.6g}") for v in (p.get_x(), p.get_y(), p.get_width(),
                                                    p.get_height())]
                     for p in ax.patches if isinstance(p, Rectangle)][:40],
            "n_collections": len(ax.collections),
            "texts": sorted(t.get_text() for t in ax.texts),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
        })
    return {"axes": out}


def _compare(got, want, where="figure"):
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), \
            f"{where}: keys {sorted(got)} != {sorted(want)}"
        for k in want:
            _compare(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), \
            f"{where}: length {len(got)} != {len(want)}"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _compare(g, w, f"{where}[{i}]")
    elif isinstance(want, float) or (isinstance(want, int) and isinstance(got, float)):
        assert got is not None and np.isclose(got, want, rtol=RTOL, atol=1e-12), \
            f"{where}: {got} != {want}"
    else:
        assert got == want, f"{where}: {got!r} != {want!r}"


def check(name: str, fig) -> None:
    got = json.loads(json.dumps(structure(fig)))
    path = BASELINE / f"{name}.json"
    if os.environ.get("TGSIM_UPDATE_BASELINES"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        pytest.skip(f"baseline {path.name} written")
    assert path.exists(), f"missing baseline {path}; run with TGSIM_UPDATE_BASELINES=1"
    _compare(got, json.loads(path.read_text(encoding="utf-8")), name)


def test_waterfall_structure(lesion_table):
    import tgsim.plot as tp
    from tgsim.clinical import recist

    check("waterfall", tp.waterfall(recist(lesion_table)).figure)


def test_pseudoprogression_structure():
    import tgsim.plot as tp
    from tgsim.clinical import assess_pseudoprogression
    from tgsim.simulation import simulate
    from tgsim.treatment import Immunotherapy, Swelling

    t = np.linspace(0.0, 168.0, 169)
    ds = simulate("exponential", t, {"initial_volume": 1.4e4, "growth_rate": 0.01},
                  schedule=[Immunotherapy(0.0, 169.0, 0.025, swelling=Swelling(0.1, 0.03))])
    reading = assess_pseudoprogression(ds, every_days=42.0)
    check("pseudoprogression", tp.pseudoprogression(reading, title="x").figure)


def test_growth_laws_gallery_structure():
    from studies.gallery import _base
    from studies.gallery.laws import LAWS

    with _base.style():
        fig, _ = LAWS.build(True)
    check("growth_laws", fig)


def test_explorer_view_structure():
    from tgsim.explore import Explorer
    from tgsim.treatment import Immunotherapy, Swelling

    ex = Explorer("exponential", params={"initial_volume": 1.4e4, "growth_rate": 0.01},
                  schedule=[Immunotherapy(0.0, 365.0, 0.025, swelling=Swelling(0.1, 0.03))])
    check("explorer", ex.figure())


def test_compare_detects_a_change():
    """The comparison is not vacuous: a moved point or a new label fails it."""
    base = {"axes": [{"title": "t", "lines": [{"label": "a", "y": [1.0, 2.0]}]}]}
    _compare(json.loads(json.dumps(base)), base)
    moved = {"axes": [{"title": "t", "lines": [{"label": "a", "y": [1.0, 2.01]}]}]}
    with pytest.raises(AssertionError, match="2.01"):
        _compare(moved, base)
    renamed = {"axes": [{"title": "t", "lines": [{"label": "b", "y": [1.0, 2.0]}]}]}
    with pytest.raises(AssertionError, match="'b'"):
        _compare(renamed, base)
