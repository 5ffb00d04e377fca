"""Simulation Datasets as tidy tables: one row per subject and time."""

from __future__ import annotations

import numpy as np
import pytest

import tgsim
from tgsim.errors import DataError
from tgsim.io.frames import simulation_frame


def test_one_row_per_subject_and_time_with_parameters_as_columns():
    t = [0.0, 1.0, 2.0]
    ds = tgsim.simulate("exponential", t, {"initial_volume": [1.0, 2.0], "growth_rate": 0.1})
    frame = ds.tgsim.to_dataframe()
    assert len(frame) == 2 * 3  # Dataset.to_dataframe() gives 2 * 3 * 2 (volume x param)
    assert len(ds.to_dataframe()) == 2 * 3 * 2
    assert frame.index.names == ["subject", "time"]
    np.testing.assert_allclose(frame["volume"].to_numpy(),
                               ds.volume.transpose("subject", "time").values.ravel())
    np.testing.assert_array_equal(frame["initial_volume"], [1.0, 1, 1, 2, 2, 2])
    assert frame.attrs["units"] == {"volume": "mm^3", "initial_volume": "mm^3",
                                    "growth_rate": "1/day"}
    assert (frame["status"] == 0).all()


def test_a_dataset_without_time_is_refused():
    import xarray as xr

    with pytest.raises(DataError, match="dims 'subject' and 'time'"):
        simulation_frame(xr.Dataset({"x": (("a",), [1.0])}))
