"""xarray does not import dask.array for the first Dataset, yet dask arrays still work."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("dask") is None, reason="needs the dask extra"
)

CODE = """
import sys
import tgsim
ds = tgsim.simulate("gompertz", [0.0, 10.0, 20.0],
                    {"initial_volume": 1.0, "growth_rate": 0.1, "carrying_capacity": 1e3})
print("after_simulate", "dask.array" in sys.modules)
import dask.array as da
import xarray as xr
chunked = ds.chunk({"time": 1})
print("chunked_is_dask", isinstance(chunked.volume.data, da.Array))
wrapped = xr.DataArray(da.ones(4, chunks=2))
print("wrapped_is_dask", isinstance(wrapped.data, da.Array), wrapped.chunks)
print("same_values", float(abs(chunked.volume - ds.volume).max().compute()))
"""


def test_first_dataset_does_not_import_dask_array_and_dask_still_works():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                         check=True).stdout
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["after_simulate"] == "False"
    assert lines["chunked_is_dask"] == "True"
    assert lines["wrapped_is_dask"] == "True ((2, 2),)"
    assert lines["same_values"] == "0.0"


def test_placeholder_defers_to_xarray_once_dask_array_is_imported():
    code = (
        "import tgsim, sys\n"
        "from tgsim._xarray_compat import defer_dask_import\n"
        "from xarray.namedarray import pycompat\n"
        "defer_dask_import()\n"
        "print(pycompat.array_type('dask') == ())\n"
        "import dask.array\n"
        "print(pycompat.array_type('dask') == (dask.array.Array,))\n"
        "print(pycompat.mod_version('dask') > pycompat.Version('0.0.0'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True", "True"]
