"""Fit figures drawn from real :mod:`tgsim.fit` results (slow: compiles the fitter)."""

from __future__ import annotations

import numpy as np
import pytest
from plot_helpers import assert_finite

import tgsim.plot as tp

pytestmark = pytest.mark.slow


def test_fit_plot_of_a_fit_result():
    from tgsim.fitting.core import fit

    t = np.arange(0.0, 43.0, 3.0)
    rng = np.random.default_rng(4)
    y = 20.0 * np.exp(0.06 * t) * np.exp(0.05 * rng.standard_normal(t.size))
    res = fit((t, y), "exponential")
    grid = np.linspace(0.0, 42.0, 85)
    f, lo, hi = res.prediction_band(grid, 0)
    ax = tp.fit_plot(t, y, grid, f, band=(lo, hi), log=True, model_label="exponential fit")
    (model,) = [ln for ln in ax.lines if ln.get_label() == "exponential fit"]
    np.testing.assert_allclose(model.get_ydata(), res.predict(grid, 0), rtol=1e-12)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert band.min() == pytest.approx(lo.min()) and band.max() == pytest.approx(hi.max())
    res_ax = ax.figure.axes[1]
    (pts,) = res_ax.lines[1:]
    np.testing.assert_allclose(pts.get_ydata(), np.log(y) - np.log(res.predict(t, 0)),
                               rtol=1e-6, atol=1e-9)
    assert_finite(ax)
