"""Hyperprogression definitions, hand-computed.

TGR: Ferté C et al. Clin Cancer Res 2014;20:246-252, TG = 3 ln(D2/D1)/dt (months),
TGR = 100 (exp(TG) - 1). TGK: Saâda-Bouzid E et al. Ann Oncol 2017;28:1605-1611.
Definitions: Champiat 2017 (Clin Cancer Res 23:1920), Saâda-Bouzid 2017, Kato 2017
(Clin Cancer Res 23:4242), Ferrara 2018 (JAMA Oncol 4:1543), Lo Russo 2019 (Clin Cancer
Res 25:989), Matos 2020 (Clin Cancer Res 26:1846), Kas 2020 (JAMA Oncol 6:1039).
A month is 30.4375 days.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from clinical_helpers import row, series, table

from tgsim.clinical import (
    HYPERPROGRESSION_DEFINITIONS,
    cohen_kappa,
    hyperprogression,
    hyperprogression_agreement,
    hyperprogression_cohort,
)
from tgsim.errors import DataError

M = 30.4375


def tgr(d1, d2, dt_days):
    """Ferté 2014 by hand."""
    return 100.0 * (math.exp(3.0 * math.log(d2 / d1) / (dt_days / M)) - 1.0)


def test_definitions_listed():
    assert set(HYPERPROGRESSION_DEFINITIONS) == {
        "champiat2017",
        "saada-bouzid2017",
        "kato2017",
        "ferrara2018",
        "matos2020",
        "kas2020",
        "lo-russo2019",
    }


def test_tgr_and_tgk_of_the_periods_by_hand():
    r = hyperprogression([-56, 0, 56], [50.0, 55.0, 80.0], 0, "champiat2017")
    assert r.tgr_ref == pytest.approx(tgr(50, 55, 56))
    assert r.tgr_exp == pytest.approx(tgr(55, 80, 56))
    assert r.tgr_ratio == pytest.approx(tgr(55, 80, 56) / tgr(50, 55, 56))
    assert r.delta_tgr == pytest.approx(tgr(55, 80, 56) - tgr(50, 55, 56))
    assert r.tgk_ref == pytest.approx(5.0 / (56 / M))
    assert r.tgk_exp == pytest.approx(25.0 / (56 / M))
    assert r.tgk_ratio == pytest.approx(5.0)
    assert (r.prebaseline_day, r.baseline_day, r.first_evaluation_day) == (-56, 0, 56)
    assert r.change_from_baseline_pct == pytest.approx(100 * (80 / 55 - 1))


def test_champiat():
    # PD (+45 %) and TGR ratio ~5 >= 2
    assert hyperprogression([-56, 0, 56], [50.0, 55.0, 80.0], 0, "champiat2017").hyperprogression
    # PD (+24 %) but the pre-treatment growth was as fast: ratio < 2
    r = hyperprogression([-56, 0, 56], [40.0, 50.0, 62.0], 0, "champiat2017")
    assert r.computable and r.hyperprogression is False
    # accelerated but not RECIST PD (+18 %)
    r = hyperprogression([-56, 0, 56], [50.0, 50.5, 59.5], 0, "champiat2017")
    assert r.tgr_ratio > 2 and r.hyperprogression is False
    # with a new lesion at the first evaluation it is PD
    r = hyperprogression([-56, 0, 56], [50.0, 50.5, 59.5], 0, "champiat2017", new_lesions=True)
    assert r.hyperprogression is True


def test_negative_reference_rate_is_not_acceleration():
    r = hyperprogression([-56, 0, 56], [60.0, 50.0, 80.0], 0, "champiat2017")
    assert r.tgr_ratio < 0 and r.hyperprogression is False


def test_saada_bouzid_tgk_ratio_boundary():
    # TGK ref 2 mm/month, exp 4 mm/month: ratio exactly 2 -> HPD
    r = hyperprogression([-M, 0, M], [40.0, 42.0, 46.0], 0, "saada-bouzid2017")
    assert r.tgk_ratio == pytest.approx(2.0)
    assert r.hyperprogression is True
    r = hyperprogression([-M, 0, M], [40.0, 42.0, 45.9], 0, "saada-bouzid2017")
    assert r.hyperprogression is False


def test_kato():
    # first evaluation 56 d (< 2 months), +54.5 %, pace ratio 6
    assert hyperprogression([-56, 0, 56], [50.0, 55.0, 85.0], 0, "kato2017").hyperprogression
    # first evaluation after 2 months (63 d > 60.875 d): time to failure not < 2 months
    assert not hyperprogression([-56, 0, 63], [50.0, 55.0, 85.0], 0, "kato2017").hyperprogression
    # exactly +50 % is not "> 50 %"
    assert not hyperprogression([-56, 0, 56], [50.0, 55.0, 82.5], 0, "kato2017").hyperprogression


def test_ferrara_and_kas_delta_tgr():
    # delta TGR = 84.2 - 16.8 = 67.4: > 50 (Ferrara) but not > 100 (Kas)
    r_f = hyperprogression([-56, 0, 56], [50.0, 55.0, 80.0], 0, "ferrara2018")
    r_k = hyperprogression([-56, 0, 56], [50.0, 55.0, 80.0], 0, "kas2020")
    assert r_f.delta_tgr == pytest.approx(tgr(55, 80, 56) - tgr(50, 55, 56))
    assert 50 < r_f.delta_tgr < 100
    assert r_f.hyperprogression is True and r_k.hyperprogression is False
    r_k = hyperprogression([-56, 0, 56], [50.0, 55.0, 90.0], 0, "kas2020")
    assert r_k.delta_tgr > 100 and r_k.hyperprogression is True


def test_matos():
    # no pre-baseline needed: +40 % at a first evaluation within 2 months
    r = hyperprogression([0, 56], [50.0, 70.0], 0, "matos2020")
    assert r.computable and r.hyperprogression is True
    assert math.isnan(r.tgr_ratio)
    # +30 %: depends on multiple new lesions
    r = hyperprogression([0, 56], [50.0, 65.0], 0, "matos2020")
    assert not r.computable and r.hyperprogression is None
    r = hyperprogression([0, 56], [50.0, 65.0], 0, "matos2020", new_organ=True)
    assert r.hyperprogression is True
    r = hyperprogression(
        [0, 56], [50.0, 65.0], 0, "matos2020", new_organ=False, new_lesions_in_involved_organ=2
    )
    assert r.hyperprogression is True
    r = hyperprogression(
        [0, 56], [50.0, 65.0], 0, "matos2020", new_organ=False, new_lesions_in_involved_organ=1
    )
    assert r.hyperprogression is False
    assert hyperprogression([0, 56], [50.0, 55.0], 0, "matos2020").hyperprogression is False
    assert hyperprogression([0, 70], [50.0, 80.0], 0, "matos2020").hyperprogression is False


def test_lo_russo_radiological_part():
    # TTF proxy (PD at 56 d) and +60 %: 2 of 4 known; a new organ makes 3
    r = hyperprogression([0, 56], [50.0, 80.0], 0, "lo-russo2019", new_organ=True)
    assert r.hyperprogression is True
    r = hyperprogression([0, 56], [50.0, 80.0], 0, "lo-russo2019")
    assert not r.computable  # depends on the unknown new-lesion criteria
    r = hyperprogression(
        [0, 56], [50.0, 80.0], 0, "lo-russo2019", new_organ=False, new_lesions_in_involved_organ=0
    )
    assert r.computable and r.hyperprogression is False
    # TTF proxy false (+10 %: not PD), +50 % false, new organ false: at most 1 of 4
    r = hyperprogression([0, 56], [50.0, 55.0], 0, "lo-russo2019", new_organ=False)
    assert r.computable and r.hyperprogression is False


def test_not_computable_without_pre_baseline():
    for name, (_, needs_ref, _) in HYPERPROGRESSION_DEFINITIONS.items():
        r = hyperprogression([0, 56], [50.0, 90.0], 0, name)
        if needs_ref:
            assert r.computable is False and r.hyperprogression is None, name
            assert math.isnan(r.tgr_ratio) and math.isnan(r.tgk_ratio) and math.isnan(r.tgr_ref)
            assert "pre-baseline" in r.reason
    r = hyperprogression([0, 10], [50.0, 90.0], 20, "champiat2017")
    assert not r.computable and "after" in r.reason
    r = hyperprogression([10, 20], [50.0, 90.0], 0, "matos2020")
    assert not r.computable and "on or before" in r.reason


def test_summary_and_bad_input():
    r = hyperprogression([-56, 0, 56], [50.0, 55.0, 80.0], 0)
    assert "champiat2017" in r.summary() and "hyperprogression" in r.summary()
    with pytest.raises(DataError, match="`definition` must be one of"):
        hyperprogression([0, 56], [50.0, 80.0], 0, "smith2021")
    with pytest.raises(DataError, match=r"`days` must be increasing"):
        hyperprogression([0, 56, 10], [50.0, 80.0, 1.0], 0)
    with pytest.raises(DataError, match=r"`sums_mm` must be >= 0"):
        hyperprogression([0, 56], [50.0, -80.0], 0)
    # spelling variants of the names
    assert hyperprogression([-M, 0, M], [40.0, 42.0, 46.0], 0, "Saada_Bouzid_2017").definition == (
        "saada-bouzid2017"
    )


def test_cohen_kappa_by_hand():
    # po = 3/4, pa = 1/2, pb = 1/4, pe = 1/8 + 3/8 = 1/2 -> kappa = 0.5 (Cohen 1960)
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert cohen_kappa([1, 0, 1], [1, 0, 1]) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa([0, 0], [0, 0]))
    assert math.isnan(cohen_kappa([], []))


def test_agreement_table():
    flags = pd.DataFrame(
        {"a": [True, True, False, False, None], "b": [True, False, False, False, True]},
        index=["p1", "p2", "p3", "p4", "p5"],
    )
    ag = hyperprogression_agreement(flags)
    assert ag.kappa.loc["a", "b"] == pytest.approx(0.5)
    assert ag.jaccard.loc["a", "b"] == pytest.approx(0.5)
    assert ag.n.loc["a", "b"] == 4
    assert ag.incidence.loc["a", "computable"] == 4
    assert ag.incidence.loc["b", "hyperprogression"] == 2
    assert "kappa" in ag.summary()


def test_cohort_from_lesion_data():
    rows = (
        # P1: accelerating, with a new lesion in a new organ at the first evaluation
        series("P1", [-56, 0, 56], [50.0, 55.0, 85.0], organ="lung")
        + [row("P1", 56, "N1", 12.0, kind="new", organ="liver")]
        # P2: steady growth
        + series("P2", [-56, 0, 56], [40.0, 50.0, 62.0], organ="lung")
        # P3: no pre-baseline scan
        + series("P3", [0, 56], [50.0, 90.0], organ="lung")
        # P4: no scan before treatment at all
        + series("P4", [10, 56], [50.0, 90.0], organ="lung")
    )
    cohort = hyperprogression_cohort(table(rows), treatment_day=0)
    f = cohort.flags
    assert f.loc["P1", "champiat2017"] == True  # noqa: E712
    assert f.loc["P2", "champiat2017"] == False  # noqa: E712
    assert f.loc["P3", "champiat2017"] is None
    assert f.loc["P4", "matos2020"] is None
    # P1's new lesion in a new organ: Lo Russo criteria 1, 2 and 4
    assert f.loc["P1", "lo-russo2019"] == True  # noqa: E712
    t = cohort.table
    p4 = t[(t["subject"] == "P4")]
    assert not p4["computable"].any() and p4["reason"].str.contains("no baseline").all()
    ag = cohort.agreement()
    assert set(ag.kappa.index) == set(HYPERPROGRESSION_DEFINITIONS)
    assert "subject" in cohort.summary()


def test_cohort_from_sum_table():
    sums = pd.DataFrame(
        {
            "subject": ["a"] * 3 + ["b"] * 3,
            "day": [-56, 0, 56] * 2,
            "sum_mm": [50, 55, 80, 40, 50, 62],
        }
    )
    cohort = hyperprogression_cohort(sums, 0, ["champiat2017", "kas2020"])
    assert list(cohort.flags.columns) == ["champiat2017", "kas2020"]
    assert cohort.flags.loc["a", "champiat2017"] == True  # noqa: E712
    assert np.isfinite(cohort.table["tgr_ratio"]).all()
