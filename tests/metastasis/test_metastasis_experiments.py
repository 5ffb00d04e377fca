"""The three experiment files run on tiny cohorts; their outputs are checked for content."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from studies.metastasis import (
    adjuvant_therapy,
    natural_history,
    run_file,
    weighted_roc,
)
from tgsim.errors import ConfigError
from tgsim.metastasis import diameter_to_volume
from tgsim.simulation import simulate
from tgsim.treatment import Radiotherapy, weekday_fractions

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
PNG = b"\x89PNG\r\n\x1a\n"


def _png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG


def test_iatrogenic_threshold(tmp_path, capsys):
    files = run_file(EXPERIMENTS / "iatrogenic_spread.toml", tmp_path, subjects=16)
    assert set(files) == {"cohort", "roc", "table", "roc_figure", "map_figure"}
    out = capsys.readouterr().out
    assert "LI-RADS threshold growth" in out and "sensitivity" in out
    cohort = pd.read_csv(tmp_path / files["cohort"])
    assert len(cohort) == 16
    p = cohort["p_micrometastasis"].to_numpy()
    assert np.all((p >= 0) & (p <= 1)) and p.max() > 0.05 and p.min() < p.max()
    # threshold growth at the intervention scan: the diameter over the 180-day look-back
    # grows by exp(r 180 / 3) for an exponential primary
    r = cohort["growth_rate_per_day"].to_numpy()
    np.testing.assert_array_equal(cohort["threshold_growth"].to_numpy(),
                                  np.exp(r * 180.0 / 3.0) >= 1.5 * (1 - 1e-9))
    np.testing.assert_allclose(cohort["growth_180d_percent"], 100 * np.expm1(r * 60.0), rtol=1e-8)
    # at a fixed growth rate, the larger the primary the likelier a micrometastasis
    for _, g in cohort.groupby("growth_rate_per_day"):
        assert np.all(np.diff(g.sort_values("diameter_mm")["p_micrometastasis"]) > 0)
    table = pd.read_csv(tmp_path / files["table"])
    assert table["predictor"].str.contains("LI-RADS").any()
    assert np.all(table[["sensitivity", "specificity"]].to_numpy() >= 0)
    assert np.all(table[["sensitivity", "specificity"]].to_numpy() <= 1)
    lirads = table[table.predictor.str.startswith("LI-RADS")].iloc[0]
    flag = cohort["threshold_growth"].to_numpy()
    assert lirads.sensitivity == pytest.approx(float((p * flag).sum() / p.sum()), rel=1e-4)
    assert lirads.specificity == pytest.approx(float(((1 - p) * ~flag).sum() / (1 - p).sum()),
                                               rel=1e-4)
    roc = pd.read_csv(tmp_path / files["roc"])
    for _, g in roc.groupby("predictor"):
        assert np.all(np.diff(g["sensitivity"]) >= -1e-12)
        assert g["sensitivity"].iloc[-1] == pytest.approx(1.0)
    _png(tmp_path / files["roc_figure"])
    _png(tmp_path / files["map_figure"])


def test_weighted_roc_known_values():
    # two subjects certainly positive with high scores, two certainly negative: AUC 1
    roc = weighted_roc(np.array([4.0, 3.0, 2.0, 1.0]), np.array([1.0, 1.0, 0.0, 0.0]))
    assert roc["auc"] == pytest.approx(1.0)
    assert roc["best_threshold"] == 3.0
    assert (roc["best_sensitivity"], roc["best_specificity"]) == (1.0, 1.0)
    # scores unrelated to the outcome: AUC 0.5
    roc = weighted_roc(np.array([1.0, 2.0]), np.array([0.5, 0.5]))
    assert roc["auc"] == pytest.approx(0.5)


def test_treatment_induced(tmp_path, capsys):
    files = run_file(EXPERIMENTS / "treatment_induced_metastasis.toml", tmp_path, subjects=5)
    out = capsys.readouterr().out
    assert "break-even seeding factor" in out
    table = pd.read_csv(tmp_path / files["table"])
    be = pd.read_csv(tmp_path / files["breakeven"]).iloc[0]
    factor = float(be.breakeven_seeding_factor)
    assert 1.0 < factor < 20.0
    none = float(table.loc[table.arm == "no therapy", "macrometastases"].iloc[0])
    ther = table[table.arm == "therapy"]
    assert len(ther) == 5
    # the count is linear in the seeding factor: N(f) = N(0) + f (N(1) - N(0))
    n0, n1 = be.macrometastases_factor_0, be.macrometastases_factor_1
    np.testing.assert_allclose(ther.macrometastases, n0 + ther.seeding_factor * (n1 - n0),
                               rtol=1e-6)
    above = ther.seeding_factor > factor
    assert above.any() and (~above).any()
    assert np.all(ther.macrometastases[above] > none)
    assert np.all(ther.macrometastases[~above] < none)
    np.testing.assert_array_equal(ther.more_than_no_therapy, above)
    # the therapy halves the primary: the dose per fraction found reproduces it
    v0 = float(diameter_to_volume(30.0))
    days = weekday_fractions(30, 0.0)
    prim = simulate("gompertz", [0.0, days[-1]], {"initial_volume": v0, "growth_rate": 0.01,
                                                  "carrying_capacity": 1e5},
                    schedule=[Radiotherapy(days=days, dose_gy=float(be.therapy_strength))])
    v = prim.volume.values[0]
    assert v[1] / v[0] == pytest.approx(0.5, rel=1e-6)
    _png(tmp_path / files["figure"])


def test_adjuvant_therapy(tmp_path, capsys):
    files = run_file(EXPERIMENTS / "adjuvant_therapy.toml", tmp_path, subjects=3,
                     overrides={"metastasis": {"birth_points": 80},
                                "followup": {"days": 730.0, "every_days": 30.0}})
    out = capsys.readouterr().out
    assert "surgery + adjuvant" in out
    summary = pd.read_csv(tmp_path / files["summary"]).set_index("arm")
    alone, adj = summary.loc["surgery alone"], summary.loc["surgery + adjuvant"]
    assert adj.burden_end_chemo_mm3 < 0.1 * alone.burden_end_chemo_mm3
    assert adj.p_recurrence_end < alone.p_recurrence_end
    assert 0 < alone.p_recurrence_end <= 1
    subjects = pd.read_csv(tmp_path / files["subjects"])
    assert len(subjects) == 6 and set(subjects.arm) == set(summary.index)
    course = pd.read_csv(tmp_path / files["timecourse"])
    for _, g in course.groupby("arm"):
        assert np.all(np.diff(g.sort_values("day").p_recurrence) >= -1e-12)
    # before the first dose (day 28) both arms are identical: the colony count exactly, the
    # burden up to quadrature (the treated arm uses an 80-node birth grid here)
    early = course[course.day < 28]
    for col, rtol in (("colonies", 1e-9), ("burden_mm3", 2e-2)):
        e = early.pivot(index="day", columns="arm", values=col)
        np.testing.assert_allclose(e["surgery alone"], e["surgery + adjuvant"], rtol=rtol)
    _png(tmp_path / files["figure"])


def test_natural_history_starts_from_one_cell():
    v = np.array([diameter_to_volume(10.0), diameter_to_volume(30.0)])
    t0 = natural_history("exponential", {"growth_rate": 0.01}, v, 1e-6)
    assert t0 == pytest.approx(-math.log(v[1] / 1e-6) / 0.01, rel=1e-12)
    t0 = natural_history("gompertz", {"growth_rate": 0.01, "carrying_capacity": 1e5}, v, 1e-6)
    prim = simulate("gompertz", [t0, 0.0], {"initial_volume": 1e-6, "growth_rate": 0.01,
                                            "carrying_capacity": 1e5}, t0=t0)
    assert float(prim.volume[0, -1]) == pytest.approx(v[1], rel=1e-9)


def test_experiment_config_errors(tmp_path):
    base = {"primary": {"model": "gompertz", "growth_rate": 0.01, "carrying_capacity": 1e5,
                        "diameter_mm": 20.0},
            "adjuvant": {"kill_rate": 1.0}, "metastasis": {"seeding_rate": 1e-4}}
    with pytest.raises(ConfigError, match=r"x\.toml: unknown table .extra."):
        adjuvant_therapy({**base, "extra": {}}, where="x.toml", out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"x\.toml: \[adjuvant\]: missing key 'kill_rate'"):
        adjuvant_therapy({**base, "adjuvant": {}}, where="x.toml", out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"x\.toml: \[primary\]\.model: must be one of"):
        adjuvant_therapy({**base, "primary": {**base["primary"], "model": "stein"}},
                         where="x.toml", out_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"x\.toml: \[metastasis\]\.seeding_rate"):
        adjuvant_therapy({**base, "metastasis": {"seeding_rate": -1.0}}, where="x.toml",
                         out_dir=tmp_path)
