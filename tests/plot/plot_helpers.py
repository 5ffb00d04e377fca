"""Helpers of the figure tests: artist checks and hand-computed expectations."""

from __future__ import annotations

import numpy as np


def artist_arrays(ax):
    """Every numeric array drawn on ``ax``: line data, bar rectangles, filled polygons."""
    from matplotlib.collections import Collection
    from matplotlib.patches import Rectangle

    out = []
    for line in ax.lines:
        out.append(np.asarray(line.get_xdata(), dtype=float))
        out.append(np.asarray(line.get_ydata(), dtype=float))
    for p in ax.patches:
        if isinstance(p, Rectangle):
            out.append(np.array([p.get_x(), p.get_y(), p.get_width(), p.get_height()]))
        else:
            out.append(np.asarray(p.get_path().vertices, dtype=float).ravel())
    for c in ax.collections:
        if isinstance(c, Collection):
            for path in c.get_paths():
                out.append(np.asarray(path.vertices, dtype=float).ravel())
    return out


def assert_finite(ax):
    """Every artist holds finite numbers only (and there is at least one)."""
    arrays = artist_arrays(ax)
    assert arrays, "nothing was drawn"
    for a in arrays:
        assert np.all(np.isfinite(a)), f"non-finite data in an artist: {a}"


def lines_with_gid(ax, gid):
    return [ln for ln in ax.lines if ln.get_gid() == gid]


#: expected best change (%) and best response for ``lesion_table``
EXPECTED_BEST = {
    "A": (-60.0, "PR"),
    "B": (10.0, "SD"),
    "C": (100.0 * (28.0 - 30.0) / 30.0, "SD"),
    "D": (30.0, "PD"),
    "E": (-100.0, "CR"),
}
