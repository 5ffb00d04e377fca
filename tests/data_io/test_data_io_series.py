"""read_series / write_series / series_from_frame: layout, units, round trip, bad input."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tgsim.errors import DataError, TgsimError, TgsimWarning
from tgsim.io.series import read_series, series_from_frame, write_series

SIMPLE = """subject,day,value
m1,0,10
m1,2,20.5
m1,5,40
m2,1,5
m2,3,7
"""


def test_simple_layout(write_csv, assert_layout):
    ds = read_series(write_csv(SIMPLE), unit="mm^3")
    assert_layout(ds)
    assert list(ds.subject.values) == ["m1", "m2"]
    assert ds.n_obs.values.tolist() == [3, 2]
    np.testing.assert_array_equal(ds.time.values[1], [1.0, 3.0, np.nan])
    np.testing.assert_array_equal(ds.value.values[0], [10.0, 20.5, 40.0])
    assert ds.value.attrs["units"] == "mm^3"
    assert ds.attrs["quantity"] == "tumour_volume"
    assert ds.attrs["n_zero_values"] == 0
    assert not ds.censored.values.any()


def test_tidy_layout_with_time_units(write_csv, assert_layout):
    text = (
        "subject,group,time,time_unit,value,unit,quantity,note\n"
        "a,ctl,1,week,1.5,cm3,tumour_volume,x\n"
        "a,ctl,2,weeks,2.0,cm^3,tumour_volume,y\n"
        "b,trt,1,month,300,mm3,tumour_volume,z\n"
        "b,trt,10,day,100,mm³,tumour_volume,w\n"
    )
    with pytest.warns(TgsimWarning, match="sorted"):
        ds = read_series(write_csv(text))
    assert_layout(ds)
    np.testing.assert_allclose(ds.time.values[0], [7.0, 14.0])
    np.testing.assert_allclose(ds.time.values[1], [10.0, 30.4375])
    np.testing.assert_allclose(ds.value.values[0], [1500.0, 2000.0])
    np.testing.assert_allclose(ds.value.values[1], [100.0, 300.0])
    assert ds.value.attrs["units"] == "mm^3"
    assert "cm3 x 1000 on 1 row" in ds.attrs["unit_conversion"]
    assert "week x 7" in ds.attrs["time_conversion"]
    assert list(ds.group.values) == ["ctl", "trt"]
    assert ds["note"].dims == ("subject", "obs")


@pytest.mark.parametrize(
    ("unit", "factor", "stored"),
    [
        ("mm^3", 1.0, "mm^3"),
        ("mm3", 1.0, "mm^3"),
        ("MM³", 1.0, "mm^3"),
        ("cm^3", 1000.0, "mm^3"),
        ("cm3", 1000.0, "mm^3"),
        ("mm", 1.0, "mm"),
        ("cm", 10.0, "mm"),
    ],
)
def test_unit_conversion(write_csv, unit, factor, stored):
    ds = read_series(write_csv(f"subject,day,value,unit\na,0,1.5,{unit}\na,1,2,{unit}\n"))
    np.testing.assert_allclose(ds.value.values[0], [1.5 * factor, 2 * factor])
    assert ds.value.attrs["units"] == stored
    assert ds.attrs["quantity"] == ("tumour_volume" if stored == "mm^3" else "tumour_diameter")
    assert ("unit_conversion" in ds.attrs) == (factor != 1.0)


def test_unit_argument_without_column(write_csv):
    ds = read_series(write_csv(SIMPLE), unit="cm")
    assert ds.value.attrs["units"] == "mm"
    np.testing.assert_allclose(ds.value.values[0], [100.0, 205.0, 400.0])


def test_pass_through_unit(write_csv):
    path = write_csv("subject,day,value,unit\na,0,1e9,photons/s\na,2,-3e8,photons/s\n")
    ds = read_series(path, quantity="bioluminescence")
    assert ds.value.attrs["units"] == "photons/s"
    assert ds.attrs["quantity"] == "bioluminescence"
    np.testing.assert_allclose(ds.value.values[0], [1e9, -3e8])


def test_pass_through_needs_a_unit():
    df = pd.DataFrame({"subject": ["a"], "day": [0.0], "value": [1e9]})
    with pytest.raises(DataError, match="'bioluminescence' is not a size"):
        series_from_frame(df, quantity="bioluminescence")
    ds = series_from_frame(df, quantity="bioluminescence", unit="photons/s")
    assert ds.value.attrs["units"] == "photons/s"


def test_censoring_column(write_csv):
    text = (
        "subject,day,value,censored\n"
        "a,0,5,TRUE\na,1,6,no\na,2,7,\na,3,8,1\nb,0,2,yes\nb,1,3,false\n"
    )
    ds = read_series(write_csv(text), unit="mm^3")
    assert ds.censored.values[0].tolist() == [True, False, False, True]
    assert ds.censored.values[1].tolist() == [True, False, False, False]
    np.testing.assert_allclose(ds.value.values[0], [5, 6, 7, 8])


def test_zeros_are_flagged(write_csv):
    ds = read_series(write_csv("subject,day,value\na,0,0\na,1,3\nb,4,0.0\n"), unit="mm^3")
    assert ds.attrs["n_zero_values"] == 2
    assert "a at day 0" in ds.attrs["zero_values"]
    assert "b at day 4" in ds.attrs["zero_values"]


def test_unsorted_times_are_sorted_with_warning(write_csv):
    path = write_csv("subject,day,value\na,3,30\na,1,10\na,2,20\nb,1,1\n")
    with pytest.warns(TgsimWarning, match="not in increasing order.*'?a"):
        ds = read_series(path, unit="mm^3")
    np.testing.assert_array_equal(ds.time.values[0], [1, 2, 3])
    np.testing.assert_array_equal(ds.value.values[0], [10, 20, 30])
    assert "a" in ds.attrs["sorted_subjects"]


def test_interleaved_subjects_keep_first_appearance_order(write_csv):
    ds = read_series(write_csv("subject,day,value\nz,0,1\ny,0,2\nz,1,3\ny,1,4\n"), unit="mm^3")
    assert list(ds.subject.values) == ["z", "y"]
    np.testing.assert_array_equal(ds.value.values, [[1, 3], [2, 4]])


def test_arm_and_extra_columns(write_csv):
    text = (
        "subject,arm,day,value,weight,label\n"
        "a,ctl,0,1,20.5,x\na,ctl,1,2,21,x\nb,trt,0,3,,y\nb,trt,2,4,19,y\n"
    )
    ds = read_series(write_csv(text), unit="mm^3")
    assert list(ds.arm.values) == ["ctl", "trt"]
    assert ds["weight"].dims == ("subject", "obs")
    assert np.isnan(ds["weight"].values[1, 0])
    assert ds["label"].dims == ("subject",)
    assert list(ds["label"].values) == ["x", "y"]
    assert read_series(write_csv(text), unit="mm^3", keep_extra=False).data_vars.keys() == {
        "time",
        "value",
        "censored",
        "n_obs",
    }


# ------------------------------------------------------------------- duplicates


DUP = "subject,day,value\na,0,1\na,1,2\na,1,2\nb,0,5\nb,0,6\n"


def test_duplicate_times_error_names_both_lines(write_csv):
    with pytest.raises(DataError, match=r"subject 'a'.*day 1 \(line 3 and line 4"):
        read_series(write_csv(DUP), unit="mm^3")


def test_duplicate_policies(write_csv):
    path = write_csv(DUP)
    with pytest.raises(DataError, match=r"subject 'b'.*line 5 and line 6.*differ"):
        read_series(path, unit="mm^3", duplicates="drop_identical")
    with pytest.warns(TgsimWarning, match="duplicate"):
        first = read_series(path, unit="mm^3", duplicates="first")
    assert first.value.values[1, 0] == 5
    assert first.n_obs.values.tolist() == [2, 1]
    assert "line 6" in first.attrs["duplicates_dropped"]
    with pytest.warns(TgsimWarning):
        last = read_series(path, unit="mm^3", duplicates="last")
    assert last.value.values[1, 0] == 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # identical repeats are dropped silently (noted in attrs)
        ok = read_series(
            write_csv("subject,day,value\na,0,1\na,0,1\n"), unit="mm^3", duplicates="drop_identical"
        )
    assert ok.n_obs.values.tolist() == [1]
    assert "line 3" in ok.attrs["duplicates_dropped"]
    with pytest.raises(DataError, match="duplicates must be one of"):
        read_series(path, unit="mm^3", duplicates="mean")  # type: ignore[arg-type]


# ------------------------------------------------------------------- bad input

BAD_CASES = {
    "missing value column": (
        "subject,day,size\na,0,1\n",
        r"line 1 \(header\): missing column "
        r"'value'",
    ),
    "missing subject column": ("who,day,value\na,0,1\n", r"missing column 'subject'"),
    "missing day column": ("subject,value\na,1\n", r"missing column 'day'"),
    "time without time_unit": ("subject,time,value\na,0,1\n", r"missing column 'time_unit'"),
    "both day and time": ("subject,day,time,time_unit,value\na,0,0,day,1\n", r"both 'day'"),
    "empty value": ("subject,day,value\na,0,1\na,1,\n", r"line 3, column 'value': missing"),
    "nan value": ("subject,day,value\na,0,NaN\n", r"line 2, column 'value'"),
    "non-numeric value": (
        "subject,day,value\na,0,1\nb,1,big\n",
        r"line 3, column 'value': 'big' is not a number",
    ),
    "non-numeric day": (
        "subject,day,value\na,x1,1\n",
        r"line 2, column 'day': 'x1' is not a number",
    ),
    "empty day": ("subject,day,value\na,,1\n", r"line 2, column 'day': missing"),
    "infinite value": ("subject,day,value\na,0,inf\n", r"line 2, column 'value'.*not finite"),
    "negative size": (
        "subject,day,value\na,0,1\na,1,-2\n",
        r"line 3, column 'value': negative size '-2'",
    ),
    "missing subject": ("subject,day,value\n,0,1\n", r"line 2, column 'subject'"),
    "unknown unit": (
        "subject,day,value,unit\na,0,1,mm3\na,1,1,mm^4\n",
        r"line 3, column 'unit': unknown unit 'mm\^4'",
    ),
    "unit vs quantity": (
        "subject,day,value,unit,quantity\na,0,1,mm,tumour_volume\n",
        r"line 2, column 'unit': unit 'mm' is a length",
    ),
    "non-size without quantity": (
        "subject,day,value,unit\na,0,1,photons/s\n",
        r"line 2, column 'unit'.*quantity=",
    ),
    "mixed volume and length": (
        "subject,day,value,unit\na,0,1,mm3\na,1,1,cm\n",
        r"line 3, column 'unit'.*mixes lengths and volumes",
    ),
    "mixed pass-through units": (
        "subject,day,value,unit,quantity\na,0,1,ng/mL,psa\na,1,1,ug/L,psa\n",
        r"line 3, column 'unit'.*use one unit",
    ),
    "mixed quantities": (
        "subject,day,value,unit,quantity\na,0,1,mm3,tumour_volume\na,1,1,mm3,volume\n",
        r"line 3, column 'quantity'",
    ),
    "missing unit cell": ("subject,day,value,unit\na,0,1,\n", r"line 2, column 'unit'"),
    "unknown time unit": (
        "subject,time,time_unit,value\na,0,day,1\na,1,fortnight,2\n",
        r"line 3, column 'time_unit': unknown time unit 'fortnight'",
    ),
    "bad censored": (
        "subject,day,value,censored\na,0,1,maybe\n",
        r"line 2, column 'censored': 'maybe' is not a boolean",
    ),
    "arm changes within subject": (
        "subject,arm,day,value\na,x,0,1\na,y,1,1\n",
        r"line 3, column 'arm'.*constant within a subject",
    ),
    "duplicate column": ("subject,day,value,Value\na,0,1,2\n", r"column 'value' appears twice"),
    "empty file": ("", r"the file is empty"),
    "blank file": ("\n  \n", r"the file is empty"),
    "header only": ("subject,day,value\n", r"no data rows"),
    "too few fields": (
        "subject,day,value\na,0,1\nb,2\n",
        r"line 3: malformed CSV row: 2 fields where the header",
    ),
    "too many fields": ("subject,day,value\na,0,1,9\n", r"line 2: malformed CSV row: 4 fields"),
    "unterminated quote": ('subject,day,value\na,0,1\n"b,2,3\n', r"line 3: malformed CSV"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_raises_data_error(write_csv, case):
    text, pattern = BAD_CASES[case]
    path = write_csv(text)
    with pytest.raises(DataError, match=pattern) as info:
        read_series(path, unit=None if ",unit" in text.split("\n")[0] else "mm^3")
    assert str(path) in str(info.value)
    assert isinstance(info.value, TgsimError) and isinstance(info.value, ValueError)


def test_blank_lines_keep_line_numbers(write_csv):
    with pytest.raises(DataError, match=r"line 5, column 'value'"):
        read_series(write_csv("subject,day,value\n\na,0,1\n\na,1,oops\n"), unit="mm^3")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("subject,day,value\nmaus\xe9,0,1\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        read_series(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_series(tmp_path / "nope.csv")


def test_bad_arguments(write_csv):
    path = write_csv(SIMPLE)
    with pytest.raises(DataError, match="quantity argument 'diameter' contradicts"):
        read_series(
            write_csv("subject,day,value,quantity\na,0,1,tumour_volume\n", "q.csv"),
            quantity="diameter",
        )
    with pytest.raises(DataError, match="unit must be a string"):
        read_series(path, unit=3)  # type: ignore[arg-type]


# ------------------------------------------------------------------- frames


def test_series_from_frame_matches_read_series(write_csv):
    from_file = read_series(write_csv(SIMPLE), unit="mm^3")
    from_frame = series_from_frame(pd.read_csv(write_csv(SIMPLE)), unit="mm^3")
    xr.testing.assert_identical(from_file.drop_attrs(), from_frame.drop_attrs())
    assert from_frame.attrs["source"] == "<DataFrame>"


def test_series_from_frame_errors_name_row_and_column():
    df = pd.DataFrame(
        {"subject": ["a", "a", "b"], "day": [0.0, 1.0, 2.0], "value": [1.0, np.nan, 2.0]},
        index=[10, 11, 12],
    )
    with pytest.raises(DataError, match=r"row 2 \(index 11\), column 'value': missing"):
        series_from_frame(df, unit="mm^3")
    df2 = df.assign(value=[1.0, 2.0, 3.0], day=pd.to_timedelta([0, 1, 2], unit="D"))
    with pytest.raises(DataError, match="column 'day': durations"):
        series_from_frame(df2, unit="mm^3")
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        series_from_frame({"subject": ["a"]})  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no data rows"):
        series_from_frame(df.iloc[:0], unit="mm^3")


def test_series_from_frame_numeric_subjects():
    df = pd.DataFrame({"subject": [1, 1, 2], "day": [0, 1, 0], "value": [1, 2, 3]})
    ds = series_from_frame(df, unit="mm")
    assert list(ds.subject.values) == ["1", "2"]
    assert ds.value.attrs["units"] == "mm"


# ------------------------------------------------------------------- round trip


def _data_equal(a: xr.Dataset, b: xr.Dataset) -> None:
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))


def test_round_trip(write_csv, tmp_path):
    text = (
        "subject,arm,day,value,unit,censored,weight,label\n"
        "a,ctl,0,0.1234567890123,cm3,false,20.5,x\n"
        "a,ctl,1.5,2e-7,cm3,true,21,x\n"
        "b,trt,0,3,mm3,false,,y\n"
        "b,trt,2,0,mm3,false,19,y\n"
    )
    ds = read_series(write_csv(text))
    out = write_series(ds, tmp_path / "out" / "copy.csv")
    assert out == tmp_path / "out" / "copy.csv"
    back = read_series(out)
    _data_equal(ds, back)
    assert back.value.values[0, 0] == 0.1234567890123 * 1000
    # only the final file is left behind (atomic write)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["copy.csv"]
    header = out.read_text().splitlines()[0]
    assert header == "subject,arm,day,value,unit,quantity,censored,weight,label"


def test_round_trip_gzip(write_csv, tmp_path):
    ds = read_series(write_csv(SIMPLE), unit="mm^3")
    out = write_series(ds, tmp_path / "copy.csv.gz")
    with gzip.open(out, "rt") as fh:
        assert fh.readline().startswith("subject,day,value,unit,quantity")
    _data_equal(ds, read_series(out))


def test_round_trip_pass_through(write_csv, tmp_path):
    text = "subject,group,time,time_unit,value,unit,quantity\na,g,1,day,2e9,photons/s,biolum\n"
    ds = read_series(write_csv(text))
    back = read_series(write_series(ds, tmp_path / "b.csv"))
    _data_equal(ds, back)
    assert back.value.attrs["units"] == "photons/s"
    assert back.attrs["quantity"] == "biolum"


def test_write_series_rejects_non_series(tmp_path):
    with pytest.raises(DataError, match="dataset must be an xarray.Dataset"):
        write_series({"time": 1}, tmp_path / "x.csv")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="missing variable 'value'"):
        write_series(
            xr.Dataset({"time": (("subject", "obs"), np.zeros((1, 1)))}), tmp_path / "x.csv"
        )
    assert not list(tmp_path.iterdir())


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch, write_csv):
    ds = read_series(write_csv(SIMPLE), unit="mm^3")
    target = tmp_path / "keep.csv"
    target.write_text("previous\n")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError, match="disk full"):
        write_series(ds, target)
    assert target.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv", "series.csv"]


def test_no_warnings_on_clean_input(write_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_series(write_csv(SIMPLE), unit="mm^3")


def test_module_docstring_documents_layout():
    import tgsim.io.series as mod

    doc = mod.__doc__ or ""
    for word in (
        "subject",
        "obs",
        "time(subject, obs)",
        "value(subject, obs)",
        "censored(subject, obs)",
        "n_obs(subject)",
        "quantity",
        "source",
    ):
        assert word in doc, word
    assert re.search(r"strictly increasing", doc)


def test_lazy_reexport():
    import tgsim.io

    assert tgsim.io.read_series is read_series
    assert tgsim.io.write_series is write_series


def test_path_types(write_csv):
    path = write_csv(SIMPLE)
    assert read_series(str(path), unit="mm^3").attrs["source"] == str(path)
    assert read_series(Path(path), unit="mm^3").sizes["subject"] == 2


def test_atomic_files_get_umask_mode(tmp_path):
    """Files written through atomic_path are readable like any other (not mkstemp's 0600)."""
    import os

    from tgsim.io._atomic import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "x.txt") as tmp:
            tmp.write_text("hello")
    finally:
        os.umask(old)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o644
