"""The clinical guide page's "Conventions (RECIST 1.1 and iRECIST)" list against the code.

Each numbered convention is checked twice: the README states it (a phrase of the item)
and the code does it (a small worked case). References: Eisenhauer 2009 (RECIST 1.1) and
Seymour 2017 (iRECIST), cited per item in the README.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from clinical_helpers import responses, row, series, table

from tgsim.clinical import irecist, recist
from tgsim.clinical._common import REL_TOL
from tgsim.cohort.readouts import RECIST_CODES, ReadoutSettings, ScanProtocol, readout_chunk

README = Path(__file__).resolve().parents[2] / "docs" / "guide" / "observe-assess.md"


def _conventions() -> dict[int, str]:
    text = README.read_text(encoding="utf-8")
    part = text.split("### Conventions (RECIST 1.1 and iRECIST)", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n(?=\d+\. )", part)
    out = {}
    for item in items:
        m = re.match(r"(\d+)\. (.*)", item, re.S)
        if m:
            out[int(m.group(1))] = " ".join(m.group(2).split())
    return out


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _node(days, sizes, lesion="N1"):
    return [row("P1", d, lesion, x, is_node=True) for d, x in zip(days, sizes, strict=True)]


def _nt(days, statuses, lesion="NT1"):
    return [row("P1", d, lesion, None, kind="non-target", status=s)
            for d, s in zip(days, statuses, strict=True)]


def check_1():
    assert REL_TOL == 1e-9
    assert responses(recist(table(series("P1", [0, 56], [50.0, 35.0])))) == ["PR"]
    assert responses(recist(table(series("P1", [0, 56], [25.0, 30.0])))) == ["PD"]


def check_2():
    a = series("P1", [0, 56], [30.0, 30.0], lesion="A") + series("P1", [0], [30.0], lesion="B")
    b = series("P1", [0, 56], [30.0, 80.0], lesion="A") + series("P1", [0], [30.0], lesion="B")
    assert responses(recist(table(a))) == ["NE"]
    assert responses(recist(table(b))) == ["PD"]


def check_3():
    rows = _node([0, 56, 112], [15.0, 4.0, 8.0], "N1") + _node([0, 56, 112], [15.0, 4.0, 8.0],
                                                               "N2")
    assert responses(recist(table(rows))) == ["CR", "PD"]


def check_4():
    assert responses(recist(table(_node([0, 56, 112], [20.0, 8.0, 11.0])))) == ["CR", "PD"]
    assert responses(recist(table(_nt([0, 56, 112], ["present", "absent", "present"])))) == [
        "CR", "PD"]
    # a target back after a target CR while a non-target remains (overall PR): PD
    rows = series("P1", [0, 56, 112], [20.0, 0.0, 3.0]) + _nt([0, 56, 112], ["present"] * 3)
    assert responses(recist(table(rows))) == ["PR", "PD"]


def check_5():
    rows = series("P1", [0, 56], [30.0, 30.0]) + _nt([0, 56], ["present", "present"])
    assert responses(recist(table(rows))) == ["SD"]
    rows = series("P1", [0, 56], [30.0, 30.0]) + _nt([0, 56], ["present", "progression"])
    assert responses(recist(table(rows))) == ["PD"]
    small = _quiet(recist, table(series("P1", [0, 56, 112], [8.0, 30.0, 0.0])))
    assert small.table["non_target_response"].tolist()[1:] == ["non-CR/non-PD", "CR"]


def check_6():
    rows = _nt([0, 70], ["present", "absent"])
    assert recist(table(rows), confirm=True).best.loc[0, "best_response"] == "non-CR/non-PD"
    assert irecist(table(rows), confirm=True).best.loc[0, "best_response"] == \
        "non-iCR/non-iUPD"
    small = _quiet(recist, table(series("P1", [0, 70], [8.0, 0.0])), confirm=True)
    assert small.best.loc[0, "best_response"] == "non-CR/non-PD"


def check_7():
    # PR at 56, NE at 70 (a target missed), PR at 84: confirmed through the NE
    rows = series("P1", [0, 56, 70, 84], [50.0, 30.0, 30.0, 30.0], lesion="A") + series(
        "P1", [0, 56, 84], [50.0, 30.0, 30.0], lesion="B")
    assert recist(table(rows), confirm=True).best.loc[0, "best_response"] == "PR"
    # an SD in between breaks it
    rows = series("P1", [0, 56, 70, 84], [50.0, 30.0, 40.0, 30.0])
    assert recist(table(rows), confirm=True).best.loc[0, "best_response"] == "SD"
    # CR, then target CR with the non-target not assessed (PR) 28 days later: confirmed PR
    rows = series("P1", [0, 56, 84], [20.0, 0.0, 0.0]) + _nt([0, 56], ["present", "absent"])
    r = recist(table(rows), confirm=True)
    assert responses(r) == ["CR", "PR"]
    assert r.best.loc[0, "best_response"] == "PR"


def check_8():
    rows = _nt([0, 28, 56], ["present", "present", "present"])
    assert recist(table(rows), min_sd_days=42).best.loc[0, "best_response"] == "non-CR/non-PD"
    assert recist(table(rows), min_sd_days=84).best.loc[0, "best_response"] == "NE"


def check_9():
    r = recist(table(series("P1", [0, 56, 112], [20.0, 30.0, 10.0])))
    assert r.best.loc[0, "best_response"] == "PD"
    i = irecist(table(series("P1", [0, 56, 112], [20.0, 30.0, 10.0])))
    assert i.best.loc[0, "best_response"] == "iPR"
    i = irecist(table(series("P1", [0, 56, 112], [20.0, 30.0, 32.0])))
    assert i.best.loc[0, "best_response"] == "iUPD"


def check_10():
    rows = series("P1", [0, 56, 112], [50.0, 125.0, 95.0], lesion="T1") + series(
        "P1", [0, 112], [50.0, 25.0], lesion="T2")
    assert responses(irecist(table(rows))) == ["iUPD", "iUPD"]
    # a later assessment than 8 weeks still confirms
    assert responses(irecist(table(series("P1", [0, 56, 200], [40.0, 50.0, 55.0])))) == [
        "iUPD", "iCPD"]


def check_11():
    rows = series("P1", [0, 56, 84, 112], [40.0, 50.0, 50.0, 40.0], lesion="A") + series(
        "P1", [0, 56, 112], [40.0, 50.0, 40.0], lesion="B")
    assert responses(irecist(table(rows))) == ["iUPD", "iUPD", "iSD"]


def check_12():
    obs = ScanProtocol(days=[0.0, 56.0])
    out = readout_chunk(ReadoutSettings(), obs, np.array(obs.days), np.array([[8.0, 0.0]]))
    assert not out["measurable"][0] and RECIST_CODES[out["recist_bor"][0]] == "NE"


PHRASES = {
    1: "relative tolerance of 1e-9",
    2: "unless the measured targets alone already give PD",
    3: "two normal nodes can still give sum-based PD",
    4: "footnote to Table 3",
    5: "only from `status=progression`",
    6: "never SD (iSD)",
    7: "counts as a confirmed PR",
    8: "applies to SD and to non-CR/non-PD",
    9: "stops at the first PD (iCPD)",
    10: "incomplete target sum confirms nothing through the 5 mm rule",
    11: "an NE keeps the iUPD pending",
    12: "no non-target-only disease",
}


def test_every_convention_is_checked():
    assert sorted(_conventions()) == sorted(PHRASES)


@pytest.mark.parametrize("number", sorted(PHRASES))
def test_convention(number):
    item = _conventions()[number]
    assert PHRASES[number].lower() in item.lower(), item
    globals()[f"check_{number}"]()
