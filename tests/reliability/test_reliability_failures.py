"""Points 3 and 8: one failing subject never sinks a cohort; rates count evaluable subjects."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

import tgsim
from tgsim.cli import main
from tgsim.errors import Status, TgsimWarning

OVERFLOW = """
title = "overflow"
[model]
name = "exponential"
[cohort]
subjects = {n}
seed = 1
[times]
start = 0
stop = 364
step = 7
[population]
initial_volume = {{ distribution = "lognormal", median = 2000.0, cv = 0.5 }}
growth_rate = {{ distribution = "lognormal", median = {median}, cv = {cv} }}
[[scenario]]
name = "untreated"
[observation]
every = "8w"
start = 0
treatment_day = 0
error = {{ model = "proportional", cv = 0.05 }}
[readouts]
recist = true
irecist = true
burden_days = [182, 364]
[output]
dataset = "cohort.nc"
summary = "summary.csv"
figures = false
"""


def test_closed_form_flags_overflow_per_subject_with_nan_not_inf():
    rates = np.array([0.01, 5.0, 0.02])  # exp(5 * 364) overflows float64
    with pytest.warns(TgsimWarning, match="1 of 3 subject"):
        ds = tgsim.simulate("exponential", np.arange(0.0, 365.0, 7.0),
                            {"initial_volume": 100.0, "growth_rate": rates})
    assert ds.attrs["solver"] == "closed_form"
    assert ds.status.values.tolist() == [0, Status.NON_FINITE, 0]
    v = ds.volume.values
    assert not np.isinf(v).any()
    assert np.isfinite(v[[0, 2]]).all()
    bad = v[1]
    first = int(np.flatnonzero(np.isnan(bad))[0])
    assert np.isfinite(bad[:first]).all() and np.isnan(bad[first:]).all()


def _run(tmp_path, capsys, n, median, cv):
    exp = tmp_path / "exp.toml"
    exp.write_text(OVERFLOW.format(n=n, median=median, cv=cv))
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        assert main(["run", str(exp), "-o", str(out), "-q", "--no-progress",
                     "--scheduler", "synchronous"]) == 0, capsys.readouterr().err
    return pd.read_csv(out / "summary.csv"), out


def _stat(table, readout, reading, statistic):
    row = table[(table.readout == readout) & (table.reading.fillna("") == reading)
                & (table.statistic == statistic)]
    assert len(row) == 1, (readout, reading, statistic)
    return float(row["value"].iloc[0]), int(row["n"].iloc[0])


def test_overflowing_closed_form_cohort_finishes_and_skips_failed_subjects(tmp_path, capsys):
    # an exponential cohort with growth-rate CV 20: a few subjects overflow
    table, out = _run(tmp_path, capsys, 400, 0.002, 20)
    failed, n_all = _stat(table, "status", "", "failed")
    evaluable, _ = _stat(table, "status", "", "evaluable")
    assert n_all == 400 and 0 < failed < 400 and evaluable == 400 - failed
    measurable, denominator = _stat(table, "recist", "measured", "measurable")
    assert denominator == evaluable and measurable <= evaluable
    _, n_rate = _stat(table, "recist", "measured", "PD_rate")
    assert n_rate == measurable
    import xarray as xr

    with xr.open_dataset(out / "cohort.nc") as ds:
        status = ds.status.values[0]
        assert not np.isinf(ds.volume.values).any()
        diam = ds.diameter_mm.values[0]
        assert np.isnan(diam[status != 0]).all()  # failed subjects are not scanned


def test_all_failed_cohort_gives_nan_rates(tmp_path, capsys):
    table, _ = _run(tmp_path, capsys, 30, 9.0, 0.01)  # every subject overflows
    assert _stat(table, "status", "", "failed") == (30.0, 30)
    assert _stat(table, "status", "", "evaluable") == (0.0, 30)
    for reading in ("measured", "error_free"):
        for stat in ("SD_rate", "objective_response_rate", "PD_rate", "disease_control_rate"):
            value, n = _stat(table, "recist", reading, stat)
            assert math.isnan(value) and n == 0, (reading, stat, value)
    value, n = _stat(table, "burden_day_182", "tumour", "median")
    assert math.isnan(value) and n == 0


def test_scan_skips_failed_subjects_and_says_how_many():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        ds = tgsim.simulate("exponential", np.arange(0.0, 365.0, 7.0),
                            {"initial_volume": 500.0, "growth_rate": np.array([0.01, 5.0])})
    with pytest.warns(TgsimWarning, match="1 of 2 subject"):
        sc = tgsim.scan(ds, every_days=56)
    d = sc["diameter"].transpose("subject", ...).values
    assert np.isfinite(d[0]).all() and np.isnan(d[1]).all()
