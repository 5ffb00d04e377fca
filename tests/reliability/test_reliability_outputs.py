"""Points 6, 7 and 10: --overwrite keeps foreign files, stale temporary folders are
cleaned, the resolved config.toml round-trips any text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tgsim.cli import main
from tgsim.cohort.experiment import load_experiment, toml_dumps
from tgsim.io._outdir import clean_stale

EXPERIMENT = """
title = {title}
[model]
name = "gompertz"
[cohort]
subjects = 4
seed = 1
[times]
start = 0
stop = 56
step = 7
[population]
growth_rate = {{ distribution = "lognormal", median = 0.01, cv = 0.3 }}
[output]
dataset = "cohort.nc"
summary = "summary.csv"
figures = false
"""


def _run(*args: str) -> int:
    return main(["run", *args, "-q", "--no-progress", "--scheduler", "synchronous"])


@pytest.fixture
def experiment(tmp_path):
    p = tmp_path / "exp.toml"
    p.write_text(EXPERIMENT.format(title='"overwrite"'), encoding="utf-8")
    return p


def test_overwrite_keeps_foreign_files(tmp_path, experiment):
    out = tmp_path / "out"
    assert _run(str(experiment), "-o", str(out)) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"].values()) == {"cohort.nc", "summary.csv", "config.toml"}
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    (out / "sub" / "data.csv").write_text("a,b\n")
    inside = out / "experiment.toml"  # the experiment being run, inside the folder
    inside.write_text(experiment.read_text())
    before = (out / "cohort.nc").stat().st_mtime_ns
    assert _run(str(inside), "-o", str(out), "--overwrite", "--seed", "7") == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "sub" / "data.csv").read_text() == "a,b\n"
    assert inside.read_text() == experiment.read_text()
    assert (out / "cohort.nc").stat().st_mtime_ns >= before
    assert tomllib.loads((out / "config.toml").read_text())["cohort"]["seed"] == 7
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_overwrite_never_replaces_a_file_no_run_wrote(tmp_path, experiment, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.csv").write_text("my own summary")  # no manifest: not tgsim's
    assert _run(str(experiment), "-o", str(out), "--overwrite") == 2
    err = capsys.readouterr().err
    assert "summary.csv" in err and "Nothing was changed" in err
    assert [p.name for p in out.iterdir()] == ["summary.csv"]
    assert (out / "summary.csv").read_text() == "my own summary"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_overwrite_removes_outputs_the_new_run_no_longer_writes(tmp_path, experiment):
    out = tmp_path / "out"
    assert _run(str(experiment), "-o", str(out)) == 0
    no_summary = tmp_path / "b.toml"
    no_summary.write_text(experiment.read_text().replace('summary = "summary.csv"',
                                                         "summary = false"))
    (out / "keep.me").write_text("x")
    assert _run(str(no_summary), "-o", str(out), "--overwrite") == 0
    assert not (out / "summary.csv").exists()
    assert sorted(p.name for p in out.iterdir()) == ["cohort.nc", "config.toml", "keep.me",
                                                     "manifest.json"]


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_folders_are_cleaned_on_the_next_run(tmp_path, experiment):
    out = tmp_path / "out"
    dead = tmp_path / f".out.tmp-{_dead_pid()}-deadbeef"  # left by a killed run
    (dead / "cohort.zarr").mkdir(parents=True)
    (dead / "cohort.zarr" / "chunk").write_bytes(b"\0" * 1024)
    old_trash = tmp_path / f".out.old-{_dead_pid()}-cafe0000"
    old_trash.mkdir()
    alive = tmp_path / f".out.tmp-{os.getpid()}-00000000"  # a run still going: kept
    alive.mkdir()
    legacy = tmp_path / ".out.tmp-1a2b3c4d"  # older name without a pid: kept while recent
    legacy.mkdir()
    other = tmp_path / ".other.tmp-1-2"  # another output's folder: not ours to judge
    other.mkdir()
    assert _run(str(experiment), "-o", str(out)) == 0
    assert not dead.exists() and not old_trash.exists()
    assert alive.exists() and legacy.exists() and other.exists()
    os.utime(legacy, (1.0, 1.0))  # a day old and more: stale
    assert legacy in clean_stale(out) and not legacy.exists()


def test_del_character_round_trips_through_config_toml(tmp_path, capsys):
    title = "DEL\x7f, NUL\x00, C1\x85, tab\t, quote\" and \\ back"
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT.format(title=json.dumps(title).replace("\\u007f", "\\u007F")),
                   encoding="utf-8")
    assert load_experiment(exp).title == title
    out = tmp_path / "out"
    assert _run(str(exp), "-o", str(out)) == 0
    cfg = (out / "config.toml").read_text(encoding="utf-8")
    assert "\x7f" not in cfg and "\\u007F" in cfg
    assert tomllib.loads(cfg)["title"] == title
    assert _run(str(out / "config.toml"), "-o", str(tmp_path / "again")) == 0  # re-runs


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_TEXT, st.one_of(_TEXT, st.lists(_TEXT, max_size=3),
                                        st.dictionaries(_TEXT, _TEXT, max_size=3)),
                       max_size=4))
def test_toml_dumps_round_trips_any_text(data):
    assert tomllib.loads(toml_dumps(data)) == data


def test_stale_temporary_files_of_single_file_outputs_are_cleaned(tmp_path):
    from tgsim.io import atomic_path

    final = tmp_path / "a.nc"
    dead = tmp_path / f".a.nc.{_dead_pid()}-x1y2z3.tmp"
    dead.write_bytes(b"half")
    alive = tmp_path / f".a.nc.{os.getpid()}-q9w8e7.tmp"
    alive.write_bytes(b"busy")
    foreign = tmp_path / ".a.nc.notes.tmp"
    foreign.write_bytes(b"mine")
    with atomic_path(final) as tmp:
        tmp.write_text("done")
    assert final.read_text() == "done"
    assert not dead.exists() and alive.exists() and foreign.exists()


def test_sigterm_leaves_no_temporary_folder(tmp_path, experiment, monkeypatch):
    import signal

    import tgsim.cohort.experiment as ex

    def terminated_while_writing(table, path):
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(ex, "_write_summary", terminated_while_writing)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as info:
        _run(str(experiment), "-o", str(tmp_path / "out"))
    assert info.value.code == 128 + signal.SIGTERM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp.toml"]
    assert signal.getsignal(signal.SIGTERM) is before
