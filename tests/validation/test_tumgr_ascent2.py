"""tumgr's gdrate reproduced with tgsim's fitter, against tumgr 0.0.4's own output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tgsim.datasets as tds
from studies.validation import tumgr_ascent2 as tv
from tgsim.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run():
    return tv.gdrate()


@pytest.fixture(scope="module")
def ref():
    r = tds.reference("tumgr_ascent2", "tumgr_gdrate_results")
    return r.assign(name=r["name"].astype(str))


@pytest.fixture(scope="module")
def report():
    return tv.reproduce(quick=True)


def test_exclusion_rules():
    assert tv._classify(np.array([3.0])) == "only 1 eval"
    assert tv._classify(np.array([3.0, 3.3])) == "2 evals not 20% diff"
    assert tv._classify(np.array([3.0, 4.0])) == "analyze"
    assert tv._classify(np.array([2.0, 2.0, 2.0])) == "error data"
    assert tv._classify(np.array([0.0, 2.0, 2.0])) == "No measurement data"


def test_selected_models_match_tumgr_patient_by_patient(run, ref):
    m = ref.merge(run.results, on="name", suffixes=("_tumgr", "_ours"))
    assert len(m) == 68
    assert (m["selectedFit_tumgr"] == m["selectedFit_ours"]).all()
    assert (m["type_tumgr"] == m["type_ours"]).all()
    counts = run.results["selectedFit"].value_counts().to_dict()
    assert counts == {"gd": 25, "dx": 22, "gdphi": 6, "gx": 4, "not fit": 5,
                      "only 1 eval": 5, "2 evals not 20% diff": 1}


def test_rates_within_one_percent(run, ref):
    m = ref.merge(run.results, on="name", suffixes=("_tumgr", "_ours"))
    for par in ("g", "d", "phi"):
        both = m[m[f"{par}_tumgr"].notna()]
        assert both[f"{par}_ours"].notna().all()
        rel = np.abs(both[f"{par}_ours"] / both[f"{par}_tumgr"] - 1)
        assert rel.max() < 0.01, par
    gd = m[m["selectedFit_tumgr"] == "gd"]
    assert len(gd) == 25


def test_standard_errors_match_nls(run):
    allest = tds.reference("tumgr_ascent2", "tumgr_gdrate_allest")
    ours = run.allest
    row = ours[(ours["name"] == "10004") & (ours["fit"] == "gd")
               & (ours["parameter"] == "growth_rate")].iloc[0]
    theirs = allest[(allest["name"] == 10004) & (allest["fit"] == "gd")
                    & (allest["parameter"] == "g")].iloc[0]
    assert row["StdError"] == pytest.approx(theirs["StdError"], rel=0.01)
    assert row["p.value"] == pytest.approx(theirs["p.value"], rel=0.05)


def test_report_checks_and_readme_disagreement_stated(report):
    by = {c.quantity: c for c in report.checks}
    assert by["patients selected: gd"].agrees
    assert by["same selected model (% of patients)"].agrees
    assert by["g: median (1/day)"].agrees and by["d: median (1/day)"].agrees
    # the README summary came from another R / minpack.lm: stated, not hidden
    readme = by["README: patients selected gd"]
    assert readme.verdict == "differs" and "README" in readme.note
    assert set(report.failed_fits) == {"gd", "dx", "gx", "gdphi"}
    assert "fits_overlay" in report.figures and "model_ranking" in report.figures


def test_tgsim_run_prints_table_and_writes_figures(tmp_path, capsys):
    out = tmp_path / "tumgr"
    rc = main(["run", str(ROOT / "experiments" / "reproduce_tumgr_ascent2.toml"), "-o",
               str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "quantity" in text and "verdict" in text and "patients selected: gd" in text
    for f in ("report.md", "checks.csv", "fits_overlay.png", "model_ranking.png"):
        assert (out / f).is_file(), f
