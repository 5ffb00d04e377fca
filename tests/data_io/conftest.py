"""Fixtures for the data-set and series I/O tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))


def shared_data_dir() -> Path | None:
    """The shared data folder: $TGSIM_SHARED_DATA, else ``../shared/data`` from the repo."""
    env = os.environ.get("TGSIM_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for cand in candidates:
        if (cand / "README.md").is_file() or (cand / "benzekry2014_lung").is_dir():
            return cand
    return None


@pytest.fixture
def shared_data() -> Path:
    """Path of the shared data folder; skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data folder not found (set TGSIM_SHARED_DATA)")
    return path


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write text to a CSV file in tmp_path and return its path."""

    def _write(text: str, name: str = "series.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def _assert_layout(ds: xr.Dataset) -> None:
    """The series Dataset contract of tgsim.io.series."""
    assert set(ds.dims) == {"subject", "obs"}
    assert ds["subject"].dtype.kind == "U"
    for var in ("time", "value", "censored"):
        assert ds[var].dims == ("subject", "obs")
    assert ds["n_obs"].dims == ("subject",)
    assert ds["time"].dtype == np.float64
    assert ds["value"].dtype == np.float64
    assert ds["censored"].dtype == bool
    assert ds["n_obs"].dtype.kind == "i"
    assert ds["time"].attrs["units"] == "day"
    assert ds["value"].attrs["units"]
    assert ds["value"].attrs["long_name"]
    assert ds.attrs["quantity"]
    assert "source" in ds.attrs
    n = ds["n_obs"].values
    assert n.min() >= 1
    assert ds.sizes["obs"] == n.max()
    t = ds["time"].values
    v = ds["value"].values
    valid = np.arange(ds.sizes["obs"])[None, :] < n[:, None]
    assert np.all(np.isfinite(t[valid])) and np.all(np.isfinite(v[valid]))
    assert np.all(np.isnan(t[~valid])) and np.all(np.isnan(v[~valid]))
    assert not ds["censored"].values[~valid].any()
    for s in range(t.shape[0]):
        assert np.all(np.diff(t[s, : n[s]]) > 0)
    for name in ("arm", "group"):
        if name in ds.coords:
            assert ds[name].dims == ("subject",)


@pytest.fixture
def assert_layout():
    """Check that a Dataset follows the series layout of tgsim.io.series."""
    return _assert_layout
