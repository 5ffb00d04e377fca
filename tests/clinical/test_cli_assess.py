"""The ``tgsim assess`` subcommand, run through its own parser."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest

from tgsim.cli import assess
from tgsim.errors import DataError

CSV = """subject,day,lesion,diameter_mm,kind
P1,-56,L1,50,target
P1,0,L1,55,target
P1,56,L1,80,target
P1,112,L1,90,target
P2,-56,L1,40,target
P2,0,L1,40,target
P2,56,L1,28,target
P2,84,L1,27,target
"""


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tgsim")
    sub = parser.add_subparsers(dest="command")
    assess.register(sub)
    args = parser.parse_args(["assess", *argv])
    return args.func(args)


@pytest.fixture
def lesions(tmp_path):
    p = tmp_path / "lesions.csv"
    p.write_text(CSV)
    return p


def test_recist_rows(lesions, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert run(str(lesions), "--criteria", "recist", "--treatment-day", "0", "-o", str(out)) == 0
    assert str(out) in capsys.readouterr().out
    t = pd.read_csv(out)
    assert list(t.columns) == [
        "subject",
        "day",
        "sum_mm",
        "change_from_baseline_pct",
        "change_from_nadir_pct",
        "response",
        "reason",
    ]
    assert t.loc[t.subject == "P1", "response"].tolist()[1:] == ["PD", "PD"]
    assert t.loc[t.subject == "P2", "response"].tolist()[1:] == ["PR", "PR"]
    assert t["day"].min() == 0.0  # pre-baseline scans are not assessed


def test_irecist_and_best(lesions, tmp_path):
    out = tmp_path / "out.csv"
    run(str(lesions), "--criteria", "irecist", "--treatment-day", "0", "-o", str(out))
    t = pd.read_csv(out)
    assert t.loc[t.subject == "P1", "response"].tolist()[1:] == ["iUPD", "iCPD"]
    run(str(lesions), "--criteria", "irecist", "--treatment-day", "0", "--best", "-o", str(out))
    best = pd.read_csv(out)
    assert best.set_index("subject")["best_response"].to_dict() == {"P1": "iCPD", "P2": "iPR"}
    run(str(lesions), "--best", "--confirm", "--treatment-day", "0", "-o", str(out))
    best = pd.read_csv(out)
    assert best.set_index("subject")["best_response"].to_dict() == {"P1": "PD", "P2": "PR"}


def test_threshold_growth(lesions, tmp_path):
    out = tmp_path / "out.csv"
    run(str(lesions), "--criteria", "threshold-growth", "-o", str(out))
    t = pd.read_csv(out, keep_default_na=False)
    p1 = t[t.subject == "P1"]
    # 50 -> 80 in 112 days is +60 %: threshold growth at day 56 (and 112: 90/50)
    assert p1["response"].tolist() == [
        "no threshold growth",
        "no threshold growth",
        "threshold growth",
        "threshold growth",
    ]
    assert p1["lesions"].tolist()[2] == "L1"


def test_hyperprogression(lesions, tmp_path, capsys):
    out = tmp_path / "out.csv"
    run(str(lesions), "--criteria", "hyperprogression", "--treatment-day", "0", "-o", str(out))
    t = pd.read_csv(out).set_index("subject")
    assert t.loc["P1", "response"] == "HPD"
    assert t.loc["P2", "response"] == "no HPD"
    assert t.loc["P1", "sum_mm"] == 80.0
    run(
        str(lesions),
        "--criteria",
        "hyperprogression",
        "--treatment-day",
        "0",
        "--definition",
        "all",
        "-o",
        str(out),
    )
    t = pd.read_csv(out)
    assert len(t) == 2 * 7
    assert "kappa" in capsys.readouterr().err


def test_hyperprogression_needs_treatment_day(lesions):
    with pytest.raises(DataError, match="--treatment-day"):
        run(str(lesions), "--criteria", "hyperprogression")


def test_stdout(lesions, capsys):
    assert run(str(lesions)) == 0
    assert capsys.readouterr().out.startswith("subject,day,sum_mm")


def test_bad_file_names_line(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("subject,day,lesion,diameter_mm\nP1,0,a,-1\n")
    with pytest.raises(DataError, match="line 2, column `diameter_mm`"):
        run(str(p))


def test_percentages_are_rounded_to_a_tenth(tmp_path):
    # 25 -> 18 is -28.000000000000004 % in floating point; 30 -> 20.02 is -33.2666... %
    p = tmp_path / "l.csv"
    p.write_text(
        "subject,day,lesion,diameter_mm\nA,0,L1,25\nA,56,L1,18\nB,0,L1,30\nB,56,L1,20.02\n"
    )
    out = tmp_path / "out.csv"
    run(str(p), "-o", str(out))
    text = out.read_text()
    assert "-28.000000000000004" not in text
    t = pd.read_csv(out).set_index("subject")
    assert t.loc["A", "change_from_baseline_pct"].tolist()[1] == -28.0
    assert t.loc["B", "change_from_baseline_pct"].tolist()[1] == -33.3
    assert t.loc["B", "change_from_nadir_pct"].tolist()[1] == -33.3


def test_boundary_category_is_decided_before_rounding(tmp_path):
    # 100 -> 70.04 is -29.96 %: shown as -30.0 but SD, not PR (Eisenhauer 2009 s4.3.1)
    p = tmp_path / "l.csv"
    p.write_text("subject,day,lesion,diameter_mm\nA,0,L1,100\nA,56,L1,70.04\n")
    out = tmp_path / "out.csv"
    run(str(p), "-o", str(out))
    t = pd.read_csv(out)
    assert t["change_from_baseline_pct"].tolist()[1] == -30.0
    assert t["response"].tolist()[1] == "SD"


REASONS_CSV = """subject,day,lesion,diameter_mm,kind,is_node
N,0,N1,20,target,true
N,56,N1,8,target,true
N,112,N1,11,target,true
S,0,L1,26,target,false
S,56,L1,27,target,false
S,112,L1,32,target,false
S,112,X1,7,new,false
G,0,L1,26,target,false
G,56,L1,32,target,false
"""


def test_reason_column(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text(REASONS_CSV)
    out = tmp_path / "out.csv"
    run(str(p), "-o", str(out))
    t = pd.read_csv(out, keep_default_na=False)
    reason = {(s, d): r for s, d, r in zip(t.subject, t.day, t.reason, strict=True)}
    assert reason[("N", 112.0)] == "node N1 11 mm after CR"
    assert reason[("N", 56.0)] == "all target lesions gone"
    # 26 -> 32: +23.1 % over the nadir (26) and +6 mm
    assert reason[("G", 56.0)] == "sum +23.1 % over nadir and +6.0 mm"
    # 27 -> 32 is +23.1 % over the nadir 26 and +6 mm, and a new lesion
    assert reason[("S", 112.0)] == "sum +23.1 % over nadir and +6.0 mm; new lesion"
    assert reason[("S", 56.0)] == "sum +3.8 % from baseline, +3.8 % over nadir"
    assert reason[("N", 0.0)] == ""
    run(str(p), "--criteria", "irecist", "-o", str(out))
    t = pd.read_csv(out, keep_default_na=False)
    assert t.loc[(t.subject == "N") & (t.day == 112.0), "reason"].item() == (
        "unconfirmed: node N1 11 mm after CR"
    )
