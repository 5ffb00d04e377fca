"""Claret-type TGI on PDX series: the per-series pipeline on synthetic mice with known
parameters, and the real PDXE breast subset (skipped without a local copy)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from studies.validation import pdxe2015_tgi as pt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
HAVE_DATA = (DATA / "pdxe2015_brca" / "export_sensitivity.csv").is_file()


def _mouse(t, v0, kl, kd, lam):
    return v0 * np.exp(kl * t - kd / lam * (1 - np.exp(-lam * t)))


def test_pipeline_recovers_known_kill_and_read_outs():
    t = np.arange(0.0, 43.0, 3.0)
    kl, kd, lam = 0.05, 0.12, 0.04
    ctrl = 150.0 * np.exp(kl * t)
    trt = _mouse(t, 150.0, kl, kd, lam)
    ds = xr.Dataset(
        {"time": (("subject", "obs"), np.stack([t, t])),
         "value": (("subject", "obs"), np.stack([ctrl, trt]), {"units": "mm^3"}),
         "n_obs": ("subject", [t.size, t.size]),
         "drug": ("subject", ["untreated", "drugA"]),
         "control_subject": ("subject", ["", "c1"])},
        coords={"subject": ["c1", "m1"]})
    sens = pd.DataFrame({"model.id": ["m1", "c1"], "mRECIST": ["SD", "PD"]})
    df = pt.fit_series(ds, sens)
    row = df.iloc[0]
    assert row["growth_rate_control"] == pytest.approx(kl, rel=1e-6)
    assert row["kill_rate"] == pytest.approx(kd, rel=1e-5)
    assert row["resistance_rate"] == pytest.approx(lam, rel=1e-5)
    assert row["ttg_day"] == pytest.approx(math.log(kd / kl) / lam, rel=1e-5)
    want_tc = 100 * math.exp(-kd * (1 - math.exp(-21 * lam)) / lam)
    assert row["tc_model_d21"] == pytest.approx(want_tc, rel=1e-5)
    assert row["tc_data_d21"] == pytest.approx(want_tc, rel=1e-9)    # day 21 is a point
    assert row["aic_tgi"] < row["aic_growth"] and row["mrecist"] == "SD"
    checks = pt._checks(df)
    assert checks[0].ours == 1 and all(c.verdict == "not comparable" for c in checks)


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_DATA, reason="PDXE local copy not found (not shipped)")
def test_quick_reproduction_on_pdxe():
    rep = pt.reproduce(quick=True, data_dir=str(DATA))
    df = rep.tables["series"]
    assert len(df) >= 50 and df["converged"].mean() > 0.9
    assert "kill_rate_by_drug" in rep.tables
