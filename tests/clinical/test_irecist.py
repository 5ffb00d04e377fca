"""iRECIST hand-worked vectors.

Reference: Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response
criteria for use in trials testing immunotherapeutics. Lancet Oncol 2017;18(3):e143-e152
(sections "Confirming progression" and "Resetting", Table 2 and Figure 2).
"""

from __future__ import annotations

import pytest
from clinical_helpers import responses, row, series, table

from tgsim.clinical import irecist, recist


def assess(*groups, **kw):
    return irecist(table(*groups), **kw)


def test_iupd_confirmed_by_5mm_target_increase():
    # 40 -> 50 (+25 %, +10 mm: iUPD) -> 55 (+5 mm over the iUPD sum, 56 days later: iCPD)
    r = assess(series("P1", [0, 56, 112], [40.0, 50.0, 55.0]))
    assert responses(r) == ["iUPD", "iCPD"]
    assert r.best.loc[0, "best_response"] == "iCPD"


def test_iupd_not_confirmed_without_further_increase():
    # 40 -> 50 (iUPD) -> 54 (+4 mm: not confirmed, still PD by RECIST: stays iUPD)
    r = assess(series("P1", [0, 56, 112], [40.0, 50.0, 54.0]))
    assert responses(r) == ["iUPD", "iUPD"]
    assert r.best.loc[0, "best_response"] == "iUPD"
    # RECIST 1.1 would call both PD
    assert responses(recist(table(series("P1", [0, 56, 112], [40.0, 50.0, 54.0])))) == [
        "PD",
        "PD",
    ]


def test_reset_after_ipr_then_new_iupd_against_nadir():
    # 100 -> 60 (iPR; nadir 60) -> 75 (+25 %/+15 mm over nadir: iUPD)
    # -> 62 (-38 % from baseline, +3 % over nadir: iPR, progression reset)
    # -> 75 (again iUPD, measured against the nadir 60, not the old iUPD sum)
    # -> 80 (+5 mm over the new iUPD sum: iCPD)
    r = assess(series("P1", [0, 56, 112, 168, 224, 280], [100.0, 60.0, 75.0, 62.0, 75.0, 80.0]))
    assert responses(r) == ["iPR", "iUPD", "iPR", "iUPD", "iCPD"]
    assert r.best.loc[0, "best_response"] == "iPR"


def test_reset_to_isd():
    r = assess(series("P1", [0, 56, 112], [40.0, 50.0, 45.0]))
    assert responses(r) == ["iUPD", "iSD"]  # 45 is +12.5 % over the nadir 40
    assert r.best.loc[0, "best_response"] == "iSD"


def test_confirmation_needs_4_weeks():
    # the next assessment 14 days after iUPD cannot confirm; the following one can
    r = assess(series("P1", [0, 56, 70, 98], [40.0, 50.0, 56.0, 57.0]))
    assert responses(r) == ["iUPD", "iUPD", "iCPD"]


def test_new_lesion_iupd_confirmed_by_more_new_lesions():
    # iUPD from a new lesion; the next assessment shows another new lesion: iCPD
    r = assess(
        series("P1", [0, 56, 112], [40.0, 40.0, 40.0]),
        row("P1", 56, "N1", 10.0, kind="new"),
        row("P1", 112, "N1", 10.0, kind="new"),
        row("P1", 112, "N2", 10.0, kind="new"),
    )
    assert responses(r) == ["iUPD", "iCPD"]


def test_new_lesion_iupd_confirmed_by_5mm_growth_of_new_lesions():
    r = assess(
        series("P1", [0, 56, 112], [40.0, 40.0, 40.0]),
        row("P1", 56, "N1", 10.0, kind="new"),
        row("P1", 112, "N1", 15.0, kind="new"),
    )
    assert responses(r) == ["iUPD", "iCPD"]
    assert r.table["new_lesion_sum_mm"].tolist() == [0.0, 10.0, 15.0]
    assert r.table["sum_mm"].tolist() == [40.0, 40.0, 40.0]  # new lesions never summed


def test_new_lesion_unchanged_stays_iupd_and_disappearing_resets():
    r = assess(
        series("P1", [0, 56, 112, 168], [40.0, 40.0, 40.0, 40.0]),
        row("P1", 56, "N1", 10.0, kind="new"),
        row("P1", 112, "N1", 12.0, kind="new"),
        row("P1", 168, "N1", 0.0, kind="new"),
    )
    assert responses(r) == ["iUPD", "iUPD", "iSD"]


def test_non_target_progression_confirms():
    nt = [
        row("P1", 0, "NT", None, kind="non-target", status="present"),
        row("P1", 56, "NT", None, kind="non-target", status="progression"),
        row("P1", 112, "NT", None, kind="non-target", status="progression"),
    ]
    r = assess(series("P1", [0, 56, 112], [40.0, 40.0, 40.0]), nt)
    assert responses(r) == ["iUPD", "iCPD"]


def test_target_iupd_confirmed_by_a_new_category():
    # iUPD by target lesions; at confirmation a new lesion appears: iCPD
    r = assess(
        series("P1", [0, 56, 112], [40.0, 50.0, 50.0]),
        row("P1", 112, "N1", 10.0, kind="new"),
    )
    assert responses(r) == ["iUPD", "iCPD"]


def test_icpd_is_final():
    r = assess(series("P1", [0, 56, 112, 168], [40.0, 50.0, 55.0, 20.0]))
    assert responses(r) == ["iUPD", "iCPD", "iCPD"]


def test_responses_and_best_with_confirmation():
    r = assess(series("P1", [0, 56, 84], [50.0, 35.0, 34.0]), confirm=True)
    assert responses(r) == ["iPR", "iPR"]
    assert r.best.loc[0, "best_response"] == "iPR"
    r = assess(series("P1", [0, 56, 84], [20.0, 0.0, 0.0]), confirm=True)
    assert r.best.loc[0, "best_response"] == "iCR"


def test_table_columns():
    r = assess(series("P1", [0, 56], [40.0, 50.0]))
    assert list(r.table.columns) == [
        "subject",
        "day",
        "sum_mm",
        "change_from_baseline_pct",
        "change_from_nadir_pct",
        "target_response",
        "non_target_response",
        "new_lesions",
        "new_lesion_sum_mm",
        "response",
        "reason",
    ]
    assert r.criteria == "iRECIST"
    assert r.table["change_from_baseline_pct"].iloc[1] == pytest.approx(25.0)


# ------------------------------------------------------------------ issue cases


def test_node_back_after_icr_is_iupd_and_confirms():
    # Eisenhauer 2009, footnote to Table 3 (after a CR any disease seen again is PD; a
    # node is disease at >= 10 mm) carried into iRECIST (Seymour 2017: RECIST 1.1 PD is
    # iUPD). 20 -> 8 (iCR) -> 11 (iUPD) -> 16 (+5 mm over the iUPD sum: iCPD).
    nodes = [row("P1", d, "N1", x, is_node=True) for d, x in
             [(0, 20.0), (56, 8.0), (112, 11.0), (168, 16.0)]]
    r = irecist(table(nodes))
    assert responses(r) == ["iCR", "iUPD", "iCPD"]
    # iUPD caused by a new lesion, confirmed by the node's return: a category newly
    # meeting RECIST PD confirms (Seymour 2017, Table 2)
    rows = [row("P1", d, "N1", x, is_node=True) for d, x in
            [(0, 20.0), (56, 8.0), (112, 8.0), (168, 11.0)]]
    rows.append(row("P1", 112, "X1", 6.0, kind="new"))
    rows.append(row("P1", 168, "X1", 6.0, kind="new"))
    r = irecist(table(rows))
    assert responses(r) == ["iCR", "iUPD", "iCPD"]


def test_missing_target_at_iupd_does_not_confirm_by_5mm():
    # Seymour 2017, Table 2: target-driven iUPD is confirmed by a sum >= 5 mm over the
    # iUPD sum. At iUPD T2 was not assessed: the sum there was at least 125 mm, so 120 mm
    # later is no further increase, even though it is +20 % over the nadir.
    rows = [
        *series("P1", [0, 56, 112], [50.0, 125.0, 95.0], lesion="T1"),
        *series("P1", [0, 112], [50.0, 25.0], lesion="T2"),
    ]
    r = irecist(table(rows))
    assert responses(r) == ["iUPD", "iUPD"]
    assert r.best.loc[0, "best_response"] == "iUPD"
    assert "incomplete" in r.table["reason"].tolist()[2]
    # RECIST 1.1 itself calls both PD
    assert responses(recist(table(rows))) == ["PD", "PD"]
    # other categories still confirm: a new lesion at the next assessment
    rows.append(row("P1", 112, "X1", 12.0, kind="new"))
    assert responses(irecist(table(rows))) == ["iUPD", "iCPD"]
    # a complete iUPD sum is confirmed by the 5 mm rule as usual
    full = [
        *series("P1", [0, 56, 112], [50.0, 95.0, 95.0], lesion="T1"),
        *series("P1", [0, 56, 112], [50.0, 30.0, 35.0], lesion="T2"),
    ]
    assert responses(irecist(table(full))) == ["iUPD", "iCPD"]


def test_non_target_only_best_is_never_isd():
    # Seymour 2017: non-target-only disease is iCR or non-iCR/non-iUPD, never iSD
    rows = [
        row("P1", 0, "NT1", None, kind="non-target", status="present"),
        row("P1", 70, "NT1", None, kind="non-target", status="absent"),
    ]
    r = irecist(table(rows), confirm=True)
    assert responses(r) == ["iCR"]
    assert r.best.loc[0, "best_response"] == "non-iCR/non-iUPD"
