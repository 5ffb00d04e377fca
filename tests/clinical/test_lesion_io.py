"""tgsim.io.read_lesions / write_lesions: layout, round trip and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tgsim.errors import DataError, TgsimWarning
from tgsim.io import read_lesions, write_lesions

GOOD = """subject,day,lesion,diameter_mm,kind,status,organ,is_node
P1,0,L1,21.5,target,,lung,false
P1,0,LN,17,target,,mediastinum,true
P1,0,NT,,non-target,present,bone,
P1,56,L1,15.0,target,,lung,false
P1,56,LN,9.5,target,,mediastinum,true
P1,56,NT,,non-target,absent,bone,
P1,56,X1,6,new,,liver,
P2,0,L1,40,,,,
P2,42,L1,44,,,,
"""


def write(tmp_path, text, name="lesions.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_layout_and_units(tmp_path):
    ds = read_lesions(write(tmp_path, GOOD))
    assert ds.sizes == {"record": 9}
    assert ds["day"].attrs["units"] == "days"
    assert ds["diameter_mm"].attrs["units"] == "mm"
    assert ds["subject"].values.tolist()[:2] == ["P1", "P1"]
    assert ds["kind"].values.tolist()[-1] == "target"  # default kind
    assert ds["is_node"].values.tolist()[:2] == [False, True]
    assert np.isnan(ds["diameter_mm"].values[2])
    assert ds["diameter_mm"].dtype == np.float64


def test_round_trip(tmp_path):
    ds = read_lesions(write(tmp_path, GOOD))
    out = write_lesions(ds, tmp_path / "sub" / "copy.csv")
    assert out.exists()
    back = read_lesions(out)
    xr.testing.assert_identical(ds, back)
    # no temporary files left behind
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["copy.csv"]


def test_minimal_columns(tmp_path):
    ds = read_lesions(write(tmp_path, "subject,day,lesion,diameter_mm\n1,0,a,12\n1,28,a,10\n"))
    assert ds["subject"].values.tolist() == ["1", "1"]
    assert ds["status"].values.tolist() == ["", ""]


def test_missing_column_names_file_and_column(tmp_path):
    p = write(tmp_path, "subject,day,diameter_mm\nP1,0,12\n")
    with pytest.raises(DataError, match=r"lesions.csv: missing required column `lesion`"):
        read_lesions(p)


def test_negative_diameter_names_line_and_column(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm\nP1,0,a,12\nP1,28,a,-3\n")
    with pytest.raises(DataError, match=r"lesions.csv: line 3, column `diameter_mm`.*-3"):
        read_lesions(p)


def test_nan_target_diameter(tmp_path):
    for bad in ("", "NaN", "nan"):
        p = write(tmp_path, f"subject,day,lesion,diameter_mm\nP1,0,a,12\nP1,28,a,{bad}\n")
        with pytest.raises(DataError, match=r"line 3, column `diameter_mm`.*target"):
            read_lesions(p)


def test_text_diameter(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm\nP1,0,a,12mm\n")
    with pytest.raises(DataError, match=r"line 2, column `diameter_mm`: must be a number"):
        read_lesions(p)


def test_bad_day(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm\nP1,zero,a,12\n")
    with pytest.raises(DataError, match=r"line 2, column `day`"):
        read_lesions(p)


def test_duplicate_names_both_lines(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm\nP1,0,a,12\nP1,28,a,10\nP1,28,a,11\n")
    with pytest.raises(DataError, match=r"line 3 and line 4.*duplicate.*'P1', 28.0, 'a'"):
        read_lesions(p)


def test_unsorted_days_warn_and_sort(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm\nP1,28,a,10\nP1,0,a,12\n")
    with pytest.warns(TgsimWarning, match="sorted"):
        ds = read_lesions(p)
    assert ds["day"].values.tolist() == [0.0, 28.0]


def test_kind_changes_and_bad_values(tmp_path):
    p = write(tmp_path, "subject,day,lesion,diameter_mm,kind\nP1,0,a,12,target\nP1,28,a,10,new\n")
    with pytest.raises(DataError, match=r"line 3, column `kind`.*must keep one kind"):
        read_lesions(p)
    p = write(tmp_path, "subject,day,lesion,diameter_mm,is_node\nP1,0,a,12,maybe\n")
    with pytest.raises(DataError, match=r"line 2, column `is_node`"):
        read_lesions(p)
    p = write(tmp_path, "subject,day,lesion,diameter_mm\n,0,a,12\n")
    with pytest.raises(DataError, match=r"line 2, column `subject`"):
        read_lesions(p)


def test_non_target_default_status(tmp_path):
    text = (
        "subject,day,lesion,diameter_mm,kind,is_node\n"
        "P1,0,a,12,non-target,false\nP1,0,b,0,non-target,false\nP1,0,n,8,non-target,true\n"
    )
    ds = read_lesions(write(tmp_path, text))
    assert ds["status"].values.tolist() == ["present", "absent", "absent"]


def test_empty_file(tmp_path):
    with pytest.raises(DataError, match="empty"):
        read_lesions(write(tmp_path, ""))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_lesions(tmp_path / "nope.csv")
