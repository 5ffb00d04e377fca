"""Dosing records: reading, units, validation."""

import numpy as np
import pandas as pd
import pytest

from tgsim.errors import DataError
from tgsim.io import read_doses


def _write(tmp_path, text):
    p = tmp_path / "doses.csv"
    p.write_text(text)
    return p


def test_csv_with_unit_column_routes_and_durations(tmp_path):
    p = _write(tmp_path, "subject,day,amount,amount_unit,drug,route,duration_hours\n"
                         "m2,7,10,mg/kg,taxol,infusion,2\n"
                         "m1,0,10,mg/kg,taxol,bolus,\n"
                         "m1,0,50,mg/kg,erlotinib,oral,\n"
                         "m1,1,50,mg/kg,erlotinib,po,\n")
    t = read_doses(p, subjects=["m1", "m2"])
    assert len(t) == 4 and t.subjects == ["m1", "m2"]
    assert t.amount_unit == {"taxol": "mg/kg", "erlotinib": "mg/kg"}
    er = t.for_subject("m1", "erlotinib")
    assert er["day"].tolist() == [0.0, 1.0] and er["route"].tolist() == ["oral", "oral"]
    inf = t.for_subject("m2")
    assert inf["route"].tolist() == ["infusion"]
    assert inf["duration"][0] == pytest.approx(2 / 24)
    assert list(t.to_frame().columns)[:4] == ["subject", "day", "amount", "amount_unit"]


def test_unit_from_header_argument_and_time_unit():
    t = read_doses(pd.DataFrame({"subject": ["a"], "time": [2], "time_unit": ["week"],
                                 "amount_mg": [3.0]}))
    assert t.day.tolist() == [14.0] and t.amount_unit == {"drug": "mg"}
    t = read_doses({"subject": ["a"], "day": [0], "amount": [1.0]}, amount_unit="mg/kg")
    assert t.amount_unit == {"drug": "mg/kg"}


@pytest.mark.parametrize("text, match", [
    ("subject,day,amount\na,0,1\n", "unit of 'amount' is not stated"),
    ("subject,day,amount_mg\na,0,-5\n", r"line 2, column 'amount_mg'.*>= 0; got -5"),
    ("subject,day,amount_mg\na,x,5\n", r"line 2, column 'day'.*got 'x'"),
    ("subject,day,amount_mg,route\na,0,5,im\n", "unknown route 'im'"),
    ("subject,day,amount_mg,route\na,0,5,infusion\n", "infusion needs a positive duration"),
    ("subject,day,amount_mg,duration\na,0,5,1\n", "unit of 'duration' is not stated"),
    ("subject,day,amount_mg,route,duration_days\na,0,5,oral,1\n", "oral dose has no duration"),
    ("subject,day,amount_mg\na,0,5\na,0,6\n", r"two doses .* day 0 \(lines 2 and 3\)"),
    ("subject,day,amount,amount_unit\na,0,5,mg\na,1,5,mg/kg\n", "one drug has one amount"),
])
def test_bad_records_name_line_and_value(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_doses(_write(tmp_path, text))


def test_dose_for_unknown_subject():
    with pytest.raises(DataError, match=r"dose record for subject 'ghost' \(day 3\)"):
        read_doses({"subject": ["a", "ghost"], "day": [0, 3], "amount_mg": [1, 1]},
                   subjects=["a", "b"])


def test_missing_file():
    with pytest.raises(DataError, match="does not exist"):
        read_doses("/nonexistent/doses.csv")
    np.testing.assert_equal(read_doses({"subject": ["a"], "day": [0], "amount_mg": [1]})
                            .duration, [0.0])
