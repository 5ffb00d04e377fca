"""``tgsim datasets`` subcommand (tested through its own parser)."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

import tgsim.datasets as tds
from tgsim.cli import datasets as cli
from tgsim.errors import DataError
from tgsim.io.series import read_series


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tgsim")
    sub = parser.add_subparsers(dest="command")
    cli.register(sub)
    args = parser.parse_args(["datasets", *argv])
    assert args.func is cli.run
    return args.func(args)


def test_listing(capsys):
    assert run([]) == 0
    out = capsys.readouterr().out
    for name in tds.names():
        assert name in out
    assert "shipped" in out and "licence" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("laleh2022_lesions"))
    assert "1,461" in line and "8,416" in line and " mm " in line and "yes" in line
    line = next(ln for ln in out.splitlines() if ln.startswith("pdxe2015_brca"))
    assert " no " in line


def test_provenance_summary(capsys):
    assert run(["vaghi2020_breast"]) == 0
    out = capsys.readouterr().out
    assert "CC-BY 4.0" in out and "Vaghi" in out and "12.2 %" in out
    assert run(["tumgr_ascent2", "--full"]) == 0
    assert "# tumgr_ascent2" in capsys.readouterr().out


def test_csv_export(tmp_path, capsys):
    out = tmp_path / "lung.csv"
    assert run(["benzekry2014_lung", "--csv", str(out)]) == 0
    assert "20 series, 188 points" in capsys.readouterr().out
    back = read_series(out)
    orig = tds.load("benzekry2014_lung")
    np.testing.assert_array_equal(back.value.values, orig.value.values)
    np.testing.assert_array_equal(back.time.values, orig.time.values)


def test_csv_export_group(tmp_path, capsys):
    out = tmp_path / "arm.csv"
    assert run(["laleh2022_lesions", "--group", "Study_1_Arm_3", "--csv", str(out)]) == 0
    assert read_series(out).sizes["subject"] == int(
        tds.load("laleh2022_lesions", group="Study_1_Arm_3").sizes["subject"]
    )


def test_errors(capsys, monkeypatch, tmp_path):
    with pytest.raises(DataError, match="unknown data set 'nope'"):
        run(["nope"])
    assert run(["--csv", "x.csv"]) == 2
    assert "need a data set NAME" in capsys.readouterr().err
    monkeypatch.delenv(tds.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="TGSIM_DATA_DIR"):
        run(["pdxe2015_brca", "--csv", str(tmp_path / "p.csv")])
    assert not (tmp_path / "p.csv").exists()
