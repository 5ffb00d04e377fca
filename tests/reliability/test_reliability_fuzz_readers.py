"""Fuzz tests (hypothesis) of the CSV readers: random bytes and near-valid CSVs.

The only outcomes allowed are a TgsimError subclass (a clear message) or a valid
Dataset; never another exception.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tgsim.errors import TgsimError
from tgsim.io import read_lesions, read_series

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SERIES_HEADER = "subject,day,value,unit"
LESION_HEADER = "subject,day,lesion,diameter_mm,kind,status,organ,is_node"

#: cells that are nearly valid: numbers, blanks, junk, units, keywords, quotes
_CELLS = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "2.5", "1e308", "1e999", "nan", "NaN", "inf", "-inf",
                     "mm", "mm^3", "mm3", "cm", "target", "non-target", "new", "present",
                     "absent", "true", "false", "lung", "liver", "x", '"', '""', "a,b", " ",
                     "\x00", "\x7f", "é", "1,5", "0x10", "  3 "]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(max_size=6),
)


def _near_valid(header: str):
    names = header.split(",")

    @st.composite
    def build(draw):
        cols = draw(st.permutations(names))
        cols = cols[: draw(st.integers(max(1, len(cols) - 2), len(cols)))]
        if draw(st.booleans()):
            cols = [*cols, draw(st.sampled_from(["extra", "subject", "", "day"]))]
        rows = draw(st.lists(st.lists(_CELLS, min_size=len(cols) - 1,
                                      max_size=len(cols) + 1), max_size=8))
        lines = [",".join(cols)] + [",".join(r) for r in rows]
        return ("\n" if draw(st.booleans()) else "\r\n").join(lines)

    return build()


def _check(reader, payload: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "data.csv"
        path.write_bytes(payload)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = reader(path)
            except TgsimError:
                return
        assert isinstance(ds, xr.Dataset)
        for name in ds.data_vars:  # a valid Dataset: labelled arrays, numeric data finite
            values = np.asarray(ds[name].values)
            if values.dtype.kind == "f" and name in ("value", "diameter_mm", "day", "time"):
                assert not np.isinf(values).any(), name


@FUZZ
@given(st.binary(max_size=400))
def test_read_series_random_bytes(payload):
    _check(read_series, payload)


@FUZZ
@given(st.binary(max_size=400))
def test_read_lesions_random_bytes(payload):
    _check(read_lesions, payload)


@FUZZ
@given(_near_valid(SERIES_HEADER))
def test_read_series_near_valid(text):
    _check(read_series, text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(_near_valid(LESION_HEADER))
def test_read_lesions_near_valid(text):
    _check(read_lesions, text.encode("utf-8", "surrogatepass"))
