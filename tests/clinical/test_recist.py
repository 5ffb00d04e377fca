"""RECIST 1.1 hand-worked vectors.

Reference for every rule tested here: Eisenhauer EA, Therasse P, Bogaerts J, et al.
New response evaluation criteria in solid tumours: revised RECIST guideline (version
1.1). Eur J Cancer 2009;45(2):228-247 (sections 4.3-4.4, Tables 1 and 3).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from clinical_helpers import responses, row, series, table

from tgsim.clinical import recist
from tgsim.errors import DataError, TgsimWarning
from tgsim.io import read_lesions, write_lesions


def assess(*groups, **kw):
    return recist(table(*groups), **kw)


# ------------------------------------------------------------------- boundaries


def test_pr_at_exactly_30_percent_decrease():
    # Eisenhauer 2009 s4.3.1: PR is "at least a 30% decrease"; 50 -> 35 is -30.0 %
    r = assess(series("P1", [0, 56], [50.0, 35.0]))
    assert responses(r) == ["PR"]
    assert r.table["change_from_baseline_pct"].iloc[1] == pytest.approx(-30.0)


def test_pr_boundary_with_floating_point_sums():
    # 10.1 + 20.2 + 30.3 = 60.6 ; 70 % of it is 42.42 = 7.07 + 14.14 + 21.21, whose
    # floating-point sum is not exactly 0.7 * 60.6: exactly -30 % must still be PR.
    base = [10.1, 20.2, 30.3]
    after = [7.07, 14.14, 21.21]
    rows = []
    for k, (b, a) in enumerate(zip(base, after, strict=True)):
        rows += series("P1", [0, 56], [b + 0.0, a], lesion=f"L{k}")
    # ensure the lesions are all measurable (>= 10 mm): 10.1 mm is
    r = assess(rows)
    assert responses(r) == ["PR"]


def test_just_under_30_percent_is_sd():
    # Eisenhauer 2009 s4.3.1: -29.9 % is neither PR nor PD
    assert responses(assess(series("P1", [0, 56], [100.0, 70.1]))) == ["SD"]


def test_pd_at_exactly_20_percent_and_5_mm():
    # Eisenhauer 2009 s4.3.1: PD is ">= 20 % increase ... and >= 5 mm absolute"
    r = assess(series("P1", [0, 56], [50.0, 60.0]))
    assert responses(r) == ["PD"]
    assert r.table["change_from_nadir_pct"].iloc[1] == pytest.approx(20.0)


def test_pd_boundary_with_floating_point():
    # 1.2 * 33.3 = 39.96 in floating point is 39.959999999999994 or so; 39.96 is +20 %
    r = assess(series("P1", [0, 56], [33.3, 39.96]))
    assert responses(r) == ["PD"]


def test_just_under_20_percent_is_sd():
    assert responses(assess(series("P1", [0, 56], [50.0, 59.9]))) == ["SD"]


def test_five_mm_rule_small_sum_is_not_pd():
    # Eisenhauer 2009 s4.3.1: 20 % of a 20 mm sum is 4 mm, under the 5 mm minimum: not PD
    assert responses(assess(series("P1", [0, 56], [20.0, 24.0]))) == ["SD"]
    # +5 mm (25 %) is PD
    assert responses(assess(series("P1", [0, 56], [20.0, 25.0]))) == ["PD"]


def test_pd_is_measured_from_the_nadir_not_the_baseline():
    # Eisenhauer 2009 s4.3.1: PD reference is the smallest sum on study.
    # 100 -> 60 (PR, nadir 60) -> 72: -28 % from baseline but +20 % / +12 mm over the nadir
    r = assess(series("P1", [0, 56, 112], [100.0, 60.0, 72.0]))
    assert responses(r) == ["PR", "PD"]
    t = r.table
    assert t["change_from_baseline_pct"].iloc[2] == pytest.approx(-28.0)
    assert t["change_from_nadir_pct"].iloc[2] == pytest.approx(20.0)


def test_nadir_includes_baseline():
    # baseline is the nadir when the sum only grows: 50 -> 55 (SD) -> 60 (PD vs 50)
    r = assess(series("P1", [0, 56, 112], [50.0, 55.0, 60.0]))
    assert responses(r) == ["SD", "PD"]


def test_new_lesion_is_pd_even_with_shrinking_targets():
    # Eisenhauer 2009 s4.3.3 and Table 1: the appearance of a new lesion is PD
    r = assess(
        series("P1", [0, 56], [50.0, 30.0]),
        row("P1", 56, "N1", 8.0, kind="new"),
    )
    assert responses(r) == ["PD"]
    assert r.table["target_response"].iloc[1] == "PR"
    assert r.table["new_lesions"].iloc[1] == 1
    assert r.table["sum_mm"].iloc[1] == 30.0  # the new lesion is not in the sum


def test_non_target_lesions_are_never_summed():
    # Regression: non-target (and new) lesions must never enter the target sum
    # (Eisenhauer 2009 s4.2: only target lesions are summed).
    r = assess(
        series("P1", [0, 56, 112], [30.0, 30.0, 30.0]),
        row("P1", 0, "NT1", 80.0, kind="non-target", status="present"),
        row("P1", 56, "NT1", 120.0, kind="non-target", status="present"),
        row("P1", 112, "NT1", 200.0, kind="non-target", status="present"),
    )
    assert r.table["sum_mm"].tolist() == [30.0, 30.0, 30.0]
    assert responses(r) == ["SD", "SD"]


def test_unequivocal_non_target_progression_is_pd():
    # Eisenhauer 2009 s4.3.2
    r = assess(
        series("P1", [0, 56], [30.0, 30.0]),
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 56, "NT1", None, kind="non-target", status="progression"),
    )
    assert responses(r) == ["PD"]
    assert r.table["non_target_response"].iloc[1] == "PD"


def test_cr_needs_all_targets_gone_and_nodes_under_10mm():
    # Eisenhauer 2009 s4.3.1: CR = disappearance of all target lesions and every
    # pathological node < 10 mm short axis; node diameters stay in the sum.
    node = [row("P1", d, "LN", x, is_node=True) for d, x in [(0, 16.0), (56, 9.0)]]
    r = assess(series("P1", [0, 56], [20.0, 0.0]), node)
    assert responses(r) == ["CR"]
    assert r.table["sum_mm"].iloc[1] == 9.0
    node10 = [row("P1", d, "LN", x, is_node=True) for d, x in [(0, 16.0), (56, 10.0)]]
    r = assess(series("P1", [0, 56], [20.0, 0.0]), node10)
    assert responses(r) == ["PR"]  # 10 mm node: not CR; 36 -> 10 is -72 %


def test_target_cr_with_non_target_present_is_pr():
    # Eisenhauer 2009 Table 1: target CR + non-target non-CR/non-PD -> PR
    r = assess(
        series("P1", [0, 56], [20.0, 0.0]),
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 56, "NT1", None, kind="non-target", status="present"),
    )
    assert responses(r) == ["PR"]
    r = assess(
        series("P1", [0, 56], [20.0, 0.0]),
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 56, "NT1", None, kind="non-target", status="absent"),
    )
    assert responses(r) == ["CR"]


def test_missing_target_is_ne_unless_already_pd():
    # Eisenhauer 2009 s4.3.1 note: a target not assessed makes the time point NE,
    # unless the measured lesions alone already show PD.
    a = series("P1", [0, 56], [30.0, 30.0], lesion="A") + series("P1", [0], [30.0], lesion="B")
    assert responses(assess(a)) == ["NE"]
    b = series("P1", [0, 56], [30.0, 80.0], lesion="A") + series("P1", [0], [30.0], lesion="B")
    assert responses(assess(b)) == ["PD"]


def test_reappearance_after_cr_is_pd():
    r = assess(series("P1", [0, 56, 112], [20.0, 0.0, 3.0]))
    assert responses(r) == ["CR", "PD"]


def test_treatment_day_picks_baseline_and_skips_pre_baseline():
    r = assess(series("P1", [-60, -5, 56], [20.0, 40.0, 28.0]), treatment_day=0)
    t = r.table
    assert t["day"].tolist() == [-5.0, 56.0]
    assert responses(r) == ["PR"]  # 40 -> 28 is -30 %


# ---------------------------------------------------------------- best response


def test_best_response_without_confirmation():
    # Eisenhauer 2009 s4.4.1: best response recorded until PD
    r = assess(series("P1", [0, 56, 112, 168], [50.0, 35.0, 30.0, 36.0]))
    assert responses(r) == ["PR", "PR", "PD"]
    assert r.best.loc[0, "best_response"] == "PR"
    assert r.best.loc[0, "best_response_day"] == 56.0


def test_confirmed_pr_needs_a_second_pr_4_weeks_later():
    # Eisenhauer 2009 s4.4.2 / Table 3: PR, PR (>= 4 weeks) -> PR; PR, SD -> SD
    ok = assess(series("P1", [0, 56, 84], [50.0, 35.0, 34.0]), confirm=True)
    assert ok.best.loc[0, "best_response"] == "PR"
    not_ok = assess(series("P1", [0, 56, 84], [50.0, 35.0, 40.0]), confirm=True)
    assert not_ok.best.loc[0, "best_response"] == "SD"
    too_soon = assess(series("P1", [0, 56, 70], [50.0, 35.0, 34.0]), confirm=True)
    assert too_soon.best.loc[0, "best_response"] == "SD"
    # without confirmation the unconfirmed PR counts
    assert assess(series("P1", [0, 56, 84], [50.0, 35.0, 40.0])).best.loc[0, "best_response"] == (
        "PR"
    )


def test_confirmed_cr():
    # Table 3: CR, CR -> CR; CR then PD -> SD when the SD minimum is met
    r = assess(series("P1", [0, 56, 84], [20.0, 0.0, 0.0]), confirm=True)
    assert r.best.loc[0, "best_response"] == "CR"
    r = assess(series("P1", [0, 56, 84], [20.0, 0.0, 6.0]), confirm=True)
    assert responses(r) == ["CR", "PD"]
    assert r.best.loc[0, "best_response"] == "SD"
    r = assess(series("P1", [0, 56, 84], [20.0, 0.0, 6.0]), confirm=True, min_sd_days=60)
    assert r.best.loc[0, "best_response"] == "PD"


def test_best_response_ne_when_nothing_evaluable():
    a = series("P1", [0, 56], [30.0, 30.0], lesion="A") + series("P1", [0], [30.0], lesion="B")
    assert assess(a).best.loc[0, "best_response"] == "NE"


def test_summary_mentions_counts():
    r = assess(series("P1", [0, 56], [50.0, 35.0]), series("P2", [0, 56], [50.0, 70.0]))
    text = r.summary()
    assert "RECIST 1.1" in text and "PR" in text and "PD" in text


# ------------------------------------------------------------- measurability


def test_baseline_target_under_10mm_is_warned_and_non_measurable():
    # Eisenhauer 2009 s3.1: measurable lesions are >= 10 mm (nodes >= 15 mm short axis)
    rows = series("P1", [0, 56], [30.0, 30.0]) + series("P1", [0, 56], [8.0, 8.0], lesion="S")
    with pytest.warns(TgsimWarning, match="under the 10 mm"):
        r = recist(table(rows))
    assert r.table["sum_mm"].tolist() == [30.0, 30.0]
    assert r.table["non_target_response"].iloc[1] == "non-CR/non-PD"


def test_node_under_15mm_is_not_measurable():
    rows = series("P1", [0, 56], [30.0, 30.0]) + [
        row("P1", 0, "LN", 12.0, is_node=True),
        row("P1", 56, "LN", 12.0, is_node=True),
    ]
    with pytest.warns(TgsimWarning, match="short axis"):
        r = recist(table(rows))
    assert r.table["sum_mm"].tolist() == [30.0, 30.0]


def test_at_most_5_targets_and_2_per_organ():
    # Eisenhauer 2009 s3.3: at most 5 target lesions in total, 2 per organ
    rows = []
    for k, d in enumerate([50.0, 40.0, 30.0]):
        rows += [
            row("P1", 0, f"liver{k}", d, organ="liver"),
            row("P1", 56, f"liver{k}", d, organ="liver"),
        ]
    for k, d in enumerate([20.0, 19.0, 18.0, 17.0]):
        rows += [
            row("P1", 0, f"o{k}", d, organ=f"organ{k}"),
            row("P1", 56, f"o{k}", d, organ=f"organ{k}"),
        ]
    with pytest.warns(TgsimWarning, match="limit of 5 target lesions"):
        r = recist(table(rows))
    # kept: liver 50, liver 40, and the three largest others 20, 19, 18
    assert r.table["sum_mm"].iloc[0] == pytest.approx(50 + 40 + 20 + 19 + 18)


def test_non_target_only_disease_uses_table_2():
    rows = [
        row("P1", 0, "S", 8.0),
        row("P1", 56, "S", 8.0),
    ]
    with pytest.warns(TgsimWarning):
        r = recist(table(rows))
    assert responses(r) == ["non-CR/non-PD"]
    assert np.isnan(r.table["sum_mm"].iloc[0])


# ------------------------------------------------------------------ bad input


def test_missing_column_is_named():
    df = table(series("P1", [0, 56], [50.0, 35.0])).drop(columns="lesion")
    with pytest.raises(DataError, match="missing required column `lesion`"):
        recist(df)


def test_negative_diameter_names_row_and_column():
    df = table(series("P1", [0, 56], [50.0, -1.0]))
    with pytest.raises(DataError, match=r"row 1, column `diameter_mm`.*>= 0.*-1\.0"):
        recist(df)


def test_nan_target_diameter_names_row_and_column():
    df = table(series("P1", [0, 56], [50.0, np.nan]))
    with pytest.raises(DataError, match=r"row 1, column `diameter_mm`"):
        recist(df)


def test_duplicate_subject_day_lesion():
    df = table(series("P1", [0, 56, 56], [50.0, 35.0, 36.0]))
    with pytest.raises(DataError, match=r"row 1 and row 2.*duplicate \(subject, day, lesion\)"):
        recist(df)


def test_no_baseline_before_treatment_day():
    df = table(series("P1", [10, 56], [50.0, 35.0]))
    with pytest.raises(DataError, match=r"row 0, column `day`.*has no baseline"):
        recist(df, treatment_day=0)


def test_target_lesion_without_baseline_measurement():
    df = table(series("P1", [0, 56], [50.0, 35.0]), series("P1", [56], [12.0], lesion="L2"))
    with pytest.raises(DataError, match=r"row 2, column `lesion`.*without a baseline"):
        recist(df)


def test_new_lesion_at_baseline_is_an_error():
    df = table(series("P1", [0, 56], [50.0, 35.0]), row("P1", 0, "X", 5.0, kind="new"))
    with pytest.raises(DataError, match="kind 'new'"):
        recist(df)


def test_unsorted_days_are_sorted_with_a_warning():
    df = table(series("P1", [56, 0, 112], [35.0, 50.0, 30.0]))
    with pytest.warns(TgsimWarning, match="sorted"):
        r = recist(df)
    assert r.table["day"].tolist() == [0.0, 56.0, 112.0]
    assert responses(r) == ["PR", "PR"]


def test_bad_kind_and_status():
    df = table(series("P1", [0], [50.0]))
    df["kind"] = ["tumour"]
    with pytest.raises(DataError, match=r"row 0, column `kind`"):
        recist(df)
    df = table(row("P1", 0, "A", 50.0), row("P1", 0, "B", 5.0, kind="non-target", status="big"))
    with pytest.raises(DataError, match=r"row 1, column `status`"):
        recist(df)


def test_bad_options():
    with pytest.raises(DataError, match="confirm_days"):
        recist(table(series("P1", [0], [50.0])), confirm_days=-1)


# -------------------------------------------------------------- data sources


def test_lesion_dataset_and_csv_inputs(tmp_path):
    df = table(
        series("P1", [0, 56], [50.0, 35.0]),
        row("P1", 0, "NT", None, kind="non-target", status="present"),
        row("P1", 56, "NT", None, kind="non-target", status="absent"),
    )
    path = tmp_path / "lesions.csv"
    write_lesions(df, path)
    ds = read_lesions(path)
    a = recist(df).table
    b = recist(ds).table
    pd.testing.assert_frame_equal(a, b)


def test_no_warning_for_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recist(table(series("P1", [0, 56], [50.0, 35.0])))


# ------------------------------------------------ issue cases: the Table 3 footnote etc.


def _node(subject, days, sizes, lesion="N1"):
    return [row(subject, d, lesion, x, is_node=True) for d, x in zip(days, sizes, strict=True)]


def test_node_back_to_10mm_after_cr_is_pd():
    # Eisenhauer 2009, footnote to Table 3: after a CR "any disease seen at a subsequent
    # time point ... makes the disease PD"; a node is disease again at >= 10 mm short axis
    # (s4.3.1: a node < 10 mm is normal). 20 -> 8 (CR) -> 11 (+3 mm only: not sum PD).
    r = assess(_node("P1", [0, 56, 112], [20.0, 8.0, 11.0]))
    assert responses(r) == ["CR", "PD"]
    assert r.table["target_response"].tolist()[1:] == ["CR", "PD"]
    assert r.best.loc[0, "best_response"] == "CR"
    # with confirmation the CR is unconfirmed: SD (Table 3: CR then PD is SD when the
    # minimum SD duration is met), never a "confirmed PR"
    assert recist(table(_node("P1", [0, 56, 112], [20.0, 8.0, 11.0])), confirm=True).best.loc[
        0, "best_response"
    ] == "SD"
    # a node still under 10 mm stays CR; exactly 10 mm is no longer normal
    assert responses(assess(_node("P1", [0, 56, 112], [20.0, 8.0, 9.9]))) == ["CR", "CR"]
    assert responses(assess(_node("P1", [0, 56, 112], [20.0, 8.0, 10.0]))) == ["CR", "PD"]


def test_node_after_cr_without_the_cr_is_not_pd():
    # the footnote applies only after a CR: 20 -> 12 (PR, node not normal) -> 14 is
    # +16.7 % and +2 mm over the nadir (not PD) and still -30 % from baseline: PR
    assert responses(assess(_node("P1", [0, 56, 112], [20.0, 12.0, 14.0]))) == ["PR", "PR"]


def test_non_target_only_best_response_is_never_sd():
    # Eisenhauer 2009 Table 2 (non-target disease only) has CR, non-CR/non-PD, PD and NE:
    # an unconfirmed CR is non-CR/non-PD, not SD.
    rows = [
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 70, "NT1", None, kind="non-target", status="absent"),
    ]
    r = recist(table(rows), confirm=True)
    assert responses(r) == ["CR"]
    assert r.best.loc[0, "best_response"] == "non-CR/non-PD"
    assert recist(table(rows)).best.loc[0, "best_response"] == "CR"
    # min_sd_days applies to non-CR/non-PD as it does to SD
    r = recist(table(rows), confirm=True, min_sd_days=84)
    assert r.best.loc[0, "best_response"] == "NE"


def test_non_measurable_only_target_best_response_is_non_cr_non_pd():
    # Eisenhauer 2009 s3.1.3: a baseline lesion under 10 mm is non-measurable and is
    # followed as non-target disease (Table 2): 8 -> 0 mm unconfirmed is non-CR/non-PD.
    with pytest.warns(TgsimWarning, match="not measurable"):
        r = recist(table(series("P1", [0, 70], [8.0, 0.0])), confirm=True)
    assert responses(r) == ["CR"]
    assert r.best.loc[0, "best_response"] == "non-CR/non-PD"


def test_non_target_back_after_cr_is_pd():
    # Eisenhauer 2009, footnote to Table 3: after an overall CR a non-target lesion seen
    # again is PD (disease must have reappeared), without `status=progression`.
    rows = [
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 56, "NT1", None, kind="non-target", status="absent"),
        row("P1", 112, "NT1", None, kind="non-target", status="present"),
    ]
    r = recist(table(rows))
    assert responses(r) == ["CR", "PD"]
    assert r.table["reason"].tolist()[2] == "non-target lesion back after CR"
    # without a CR before, a present non-target lesion is non-CR/non-PD (Table 2)
    rows[1]["status"] = "present"
    assert responses(recist(table(rows))) == ["non-CR/non-PD", "non-CR/non-PD"]
    # with targets in PR (not an overall CR), the non-target's return is not PD (Table 1)
    rows = [
        *series("P1", [0, 56, 112], [50.0, 30.0, 30.0]),
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 56, "NT1", None, kind="non-target", status="absent"),
        row("P1", 112, "NT1", None, kind="non-target", status="present"),
    ]
    assert responses(recist(table(rows))) == ["PR", "PR"]
