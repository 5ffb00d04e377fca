"""The validation framework: check verdicts, report text, files written, the run hook."""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest

from studies.validation import (
    Check,
    ValidationReport,
    absolute_check,
    analysis_hook,
    bound_check,
    fits_overlay,
    rank_check,
    ranking_bar,
    relative_check,
)
from tgsim.errors import ConfigError, TgsimError


# ---------------------------------------------------------------- verdicts
def test_relative_check_inside_and_outside_tolerance():
    c = relative_check("rate (1/day)", 0.10, 0.104, rtol=0.05, source="Table 1")
    assert c.verdict == "agrees" and c.source == "Table 1"
    assert c.abs_diff == pytest.approx(0.004)
    assert c.rel_diff == pytest.approx(0.04)
    c = relative_check("rate (1/day)", 0.10, 0.106, rtol=0.05, note="other error model")
    assert c.verdict == "differs" and c.note == "other error model"
    assert c.rel_diff == pytest.approx(0.06)


def test_relative_check_negative_reference_uses_magnitude():
    assert relative_check("x", -2.0, -2.09, rtol=0.05).verdict == "agrees"
    assert relative_check("x", -2.0, -1.8, rtol=0.05).verdict == "differs"


def test_absolute_check_and_missing_values():
    assert absolute_check("R2", 0.90, 0.94, atol=0.05).verdict == "agrees"
    assert absolute_check("R2", 0.90, 0.96, atol=0.05).verdict == "differs"
    c = absolute_check("R2", 0.90, math.nan, atol=0.05)
    assert c.verdict == "not comparable" and c.note


def test_not_comparable_keeps_difference():
    c = relative_check("age error (%)", 78.0, 351.0, comparable=False, note="other method")
    assert c.verdict == "not comparable"
    assert c.abs_diff == pytest.approx(273.0)


def test_bound_check_direction():
    c = bound_check("R2", 0.92, 0.97, above=True)
    assert c.verdict == "agrees" and c.paper == "> 0.92"
    assert bound_check("R2", 0.92, 0.90, above=True).verdict == "differs"
    assert bound_check("score (%)", 70, 60, above=False).verdict == "agrees"


def test_rank_check_top_and_order():
    c = rank_check("best by AIC", ["gompertz", "power_law"], ["power_law", "gompertz", "exp"])
    assert c.verdict == "differs"
    assert c.paper == "gompertz > power_law" and c.ours == "power_law > gompertz"
    assert rank_check("best", ["gompertz", "power_law"], ["gompertz", "power_law", "x"]
                      ).verdict == "agrees"
    assert rank_check("best", ["gompertz", "power_law"], ["gompertz", "x"], top=1
                      ).verdict == "agrees"
    assert rank_check("best", ["a", "b"], ["a"]).verdict == "not comparable"
    c = rank_check("best two", ["a", "b"], ["b", "a", "c"], ordered=False)
    assert c.verdict == "agrees" and c.tolerance == "same top 2 (any order)"
    assert rank_check("best two", ["a", "b"], ["b", "c", "a"], ordered=False
                      ).verdict == "differs"
    with pytest.raises(TgsimError, match="top"):
        rank_check("best", ["a"], ["a"], top=2)


def test_bad_inputs_raise():
    with pytest.raises(TgsimError, match="verdict"):
        Check("x", 1.0, 1.0, "exact", "maybe")
    with pytest.raises(TgsimError, match="ours"):
        relative_check("x", 1.0, "many")
    with pytest.raises(TgsimError, match="rtol"):
        relative_check("x", 1.0, 1.0, rtol=-1)


# ---------------------------------------------------------------- report
def _report(with_figures: bool = True) -> ValidationReport:
    checks = [relative_check("growth rate (1/day)", 0.1, 0.101, source="Table 2"),
              absolute_check("R2", 0.9, 0.5, atol=0.05, note="different error model"),
              rank_check("ranking", ["gompertz"], ["gompertz", "logistic"])]
    figures = {}
    if with_figures:
        T = np.array([[0.0, 1, 2, np.nan], [0, 2, 4, 6]])
        Y = np.array([[1.0, 2, 4, np.nan], [1, 3, 9, 27]])
        figures["fits"] = fits_overlay(
            T, Y, {"exponential": lambda i, t: np.exp(0.6 * t) if i == 0 else 3 ** (t / 2)},
            subjects=["a", "b"], log=True)
        figures["ranking"] = ranking_bar({"gompertz": 10.0, "logistic": 14.0,
                                          "exponential": np.nan}).figure
    return ValidationReport(
        dataset="toy", title="Toy reproduction", paper="Nobody 2000", reproduced="a toy",
        checks=checks, tables={"per subject": pd.DataFrame({"subject": ["a"], "r": [0.1]})},
        figures=figures, failed_fits={"gompertz": 0, "logistic": 2}, notes=["a note"])


def test_report_text_has_every_row_and_the_agreement():
    rep = _report(with_figures=False)
    assert rep.agreement() == "2 of 3 checks agree (1 differs)"
    text = rep.table()
    for word in ("quantity", "paper", "ours", "difference", "tolerance", "verdict", "note",
                 "growth rate (1/day)", "differs", "different error model"):
        assert word in text
    s = rep.summary()
    assert "Toy reproduction" in s and "logistic: 2" in s and "a note" in s
    assert "Table 2" in s
    md = rep.to_markdown()
    assert md.startswith("# Toy reproduction") and "| R2 |" in md


def test_write_produces_every_file(tmp_path):
    rep = _report()
    files = rep.write(tmp_path / "out")
    for rel in files.values():
        assert (tmp_path / "out" / rel).is_file(), rel
    assert files["report"] == "report.md" and files["checks"] == "checks.csv"
    assert files["figure:fits"] == "fits.png" and files["table:per subject"].endswith(".csv")
    checks = pd.read_csv(tmp_path / "out" / "checks.csv")
    assert list(checks["verdict"]) == ["agrees", "differs", "agrees"]
    md = (tmp_path / "out" / "report.md").read_text()
    assert "![fits](fits.png)" in md
    # no temporary file left behind
    assert not [p for p in os.listdir(tmp_path / "out") if p.endswith(".tmp")]


def test_write_is_atomic_on_failure(tmp_path):
    rep = _report(with_figures=False)
    out = tmp_path / "out"
    rep.write(out)
    before = (out / "checks.csv").read_text()

    class Broken:
        def savefig(self, path, **kw):
            with open(path, "w") as fh:
                fh.write("half")
            raise OSError("disk full")

    rep.figures["broken"] = Broken()
    rep.checks[0] = relative_check("growth rate (1/day)", 0.1, 0.5)
    with pytest.raises(OSError, match="disk full"):
        rep.write(out)
    assert not (out / "broken.png").exists()
    assert not [p for p in os.listdir(out) if p.endswith(".tmp")]
    assert (out / "checks.csv").read_text() == before


# ---------------------------------------------------------------- hook
_CALLS: list[dict] = []


def _toy_reproduce(*, quick: bool = False, seed: int | None = None, data_dir=None,
                   n_starts: int = 3, scale: float = 1.0) -> ValidationReport:
    _CALLS.append({"quick": quick, "seed": seed, "data_dir": data_dir, "n_starts": n_starts,
                   "scale": scale})
    rep = _report(with_figures=False)
    rep.notes.append(f"quick={quick} seed={seed} n_starts={n_starts} scale={scale} "
                     f"data_dir={data_dir}")
    return rep


def test_hook_runs_prints_and_writes(tmp_path, capsys):
    hook = analysis_hook(_toy_reproduce)
    files = hook({"quick": True, "n_starts": 5, "scale": 2}, where=str(tmp_path / "x.toml"),
                 out_dir=tmp_path, subjects=None, seed=7)
    out = capsys.readouterr().out
    assert "quantity" in out and "Toy reproduction" in out
    assert _CALLS[-1] == {"quick": True, "seed": 7, "data_dir": None, "n_starts": 5,
                          "scale": 2.0}
    assert (tmp_path / files["report"]).is_file()


def test_hook_resolves_data_dir_relative_to_the_file(tmp_path, capsys):
    hook = analysis_hook(_toy_reproduce)
    hook({"data_dir": "data", "seed": 3}, where=str(tmp_path / "exp" / "x.toml"),
         out_dir=tmp_path, subjects=None, seed=None)
    assert _CALLS[-1]["data_dir"] == str((tmp_path / "exp" / "data").resolve())
    assert _CALLS[-1]["seed"] == 3


@pytest.mark.parametrize("config, key", [({"quik": True}, "quik"),
                                         ({"quick": "yes"}, "quick"),
                                         ({"n_starts": 2.5}, "n_starts"),
                                         ({"n_starts": True}, "n_starts"),
                                         ({"seed": -1}, "seed")])
def test_hook_bad_key_names_file_and_key(tmp_path, config, key):
    hook = analysis_hook(_toy_reproduce)
    with pytest.raises(ConfigError) as err:
        hook(config, where="exp.toml", out_dir=tmp_path, subjects=None, seed=None)
    assert "exp.toml" in str(err.value) and f"'{key}'" in str(err.value)


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        files = _report(with_figures=False).write(tmp_path)
    finally:
        os.umask(old)
    for rel in files.values():
        assert (tmp_path / rel).stat().st_mode & 0o777 == 0o644, rel
