"""Experiment files and ``tgsim run``: shipped experiments, outputs, errors, atomicity,
the analysis hook and the Dask scheduler."""

from __future__ import annotations

import errno
import os
import sys
import tomllib
import types
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tgsim.cli import main
from tgsim.cohort import experiment as ex
from tgsim.cohort.readouts import HYPERPROGRESSION_DEFINITIONS
from tgsim.cohort.simulate import have_dask
from tgsim.errors import ConfigError

SHIPPED = ["quickstart", "pseudoprogression", "hyperprogression", "chemo_mtd_vs_metronomic",
           "radiotherapy_fractionation", "surgery_timing"]
PNG = b"\x89PNG\r\n\x1a\n"
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _run_cli(*args: str) -> int:
    return main(["run", *args, "--no-progress", "-q"])


def _stat(table: pd.DataFrame, scenario: str, readout: str, reading: str, statistic: str):
    row = table[(table.scenario == scenario) & (table.readout == readout)
                & (table.reading == reading) & (table.statistic == statistic)]
    assert len(row) == 1, (scenario, readout, reading, statistic)
    return float(row["value"].iloc[0])


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_experiment_runs_with_a_tiny_cohort(tmp_path, name):
    out = tmp_path / name
    assert _run_cli(str(EXPERIMENTS / f"{name}.toml"), "-o", str(out), "--subjects", "60",
                    "--seed", "1") == 0
    exp = ex.load_experiment(EXPERIMENTS / f"{name}.toml")
    files = {p.name for p in out.iterdir()}
    assert {"cohort.nc", "summary.csv", "config.toml", "manifest.json"} <= files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders
    for fig in exp.output["figures"]:
        data = (out / f"{fig}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000
    ds = xr.load_dataset(out / "cohort.nc")
    assert ds.volume.dims == ("scenario", "subject", "time")
    assert ds.sizes["subject"] == 60 and ds.sizes["scenario"] == len(exp.scenarios)
    assert ds.volume.attrs["units"] == "mm^3" and ds.time.attrs["units"] == "day"
    assert ds.diameter_mm.attrs["units"] == "mm"
    assert int((ds.status != 0).sum()) == 0
    assert np.all(np.isfinite(ds.volume.values)) and float(ds.volume.min()) >= 0.0
    table = pd.read_csv(out / "summary.csv")
    assert list(table.columns) == ["scenario", "readout", "reading", "statistic", "value",
                                   "unit", "n"]
    assert set(table.scenario) == {s.name for s in exp.scenarios}
    rates = table[table.unit.str.startswith("%")]["value"].dropna()
    assert len(rates) > 0 and rates.between(0.0, 100.0).all()
    cfg = tomllib.loads((out / "config.toml").read_text())
    assert cfg["cohort"]["subjects"] == 60 and cfg["cohort"]["seed"] == 1
    _CHECKS[name](ds, table)


def _quickstart(ds, t):
    untreated = _stat(t, "untreated", "burden_day_364", "tumour", "median")
    assert _stat(t, "targeted", "burden_day_364", "tumour", "median") < untreated
    assert _stat(t, "surgery_day28", "burden_day_182", "tumour", "median") < \
        _stat(t, "untreated", "burden_day_182", "tumour", "median")
    assert _stat(t, "untreated", "recist", "measured", "objective_response_rate") == 0.0
    assert _stat(t, "targeted", "recist", "measured", "objective_response_rate") > 10.0


def _pseudoprogression(ds, t):
    # RECIST calls PD on the observed size far more often than the tumour progresses
    called = _stat(t, "immunotherapy", "recist", "measured", "progressed")
    real = _stat(t, "immunotherapy", "recist", "tumour", "progressed")
    assert called > real + 10.0
    assert _stat(t, "immunotherapy", "recist", "measured vs tumour",
                 "false_progression_rate") > 50.0
    assert _stat(t, "immunotherapy", "irecist", "measured", "unconfirmed_iupd_rate") > 10.0
    # without a kill every progression is real and iRECIST confirms most of it
    assert _stat(t, "true_progression", "recist", "tumour", "progressed") == 100.0
    assert _stat(t, "true_progression", "irecist", "measured", "iCPD_rate") > 50.0
    flip = _stat(t, "immunotherapy", "recist", "measured vs error_free", "category_flip_rate")
    assert 0.0 < flip < 60.0
    assert set(ds.reading.values) == {"measured", "error_free", "tumour"}
    assert float(ds.swelling.sel(scenario="immunotherapy").max()) > 0.0


def _hyperprogression(ds, t):
    assert list(ds.definition.values) == list(HYPERPROGRESSION_DEFINITIONS)
    for d in ("champiat2017", "saada-bouzid2017", "matos2020"):
        acc = _stat(t, "immunotherapy", "hyperprogression", "measured", f"{d}_rate")
        base = _stat(t, "no_acceleration", "hyperprogression", "measured", f"{d}_rate")
        assert acc > base
    values = [_stat(t, "immunotherapy", "hyperprogression", "measured", f"{d}_rate")
              for d in HYPERPROGRESSION_DEFINITIONS]
    assert max(values) > 2 * min(values)  # the definitions disagree
    assert ds.day.values[0] < 0.0 <= ds.day.values[1]  # a pre-treatment scan


def _chemo(ds, t):
    u = _stat(t, "untreated", "burden_day_112", "tumour", "median")
    for s in ("mtd_log-kill", "metronomic_log-kill", "mtd_norton-simon",
              "metronomic_norton-simon"):
        assert _stat(t, s, "burden_day_112", "tumour", "median") < u / 10
    assert list(ds.hypothesis.values) == ["none", "log-kill", "log-kill", "norton-simon",
                                          "norton-simon"]
    assert set(ds.solver.values[1:]) == {"ode"}


def _radiotherapy(ds, t):
    u = _stat(t, "untreated", "recist", "measured", "objective_response_rate")
    for s in ("conventional_30x2Gy", "moderate_15x3.544Gy", "hypofractionated_5x8Gy"):
        assert _stat(t, s, "recist", "measured", "objective_response_rate") > u + 50.0
    sched = [eval_json(x) for x in ds.schedule.values[1:]]
    bed10 = [len(s[0]["days"]) * s[0]["dose_gy"] * (1 + s[0]["dose_gy"] / 10) for s in sched]
    np.testing.assert_allclose(bed10, 72.0, rtol=1e-3)


def _surgery(ds, t):
    for day in ("day30", "day60", "day90"):
        assert _stat(t, f"{day}_accelerated", "burden_day_365", "tumour", "median") > \
            _stat(t, day, "burden_day_365", "tumour", "median")
    assert _stat(t, "day90", "burden_day_180", "tumour", "median") < \
        _stat(t, "day30", "burden_day_180", "tumour", "median")
    assert list(ds.acceleration.values) == ["none", "post_operative"] * 3


def eval_json(text):
    import json

    return json.loads(text)


_CHECKS = {"quickstart": _quickstart, "pseudoprogression": _pseudoprogression,
           "hyperprogression": _hyperprogression, "chemo_mtd_vs_metronomic": _chemo,
           "radiotherapy_fractionation": _radiotherapy, "surgery_timing": _surgery}


def test_resolved_config_repeats_the_run(tmp_path):
    a = ex.run_experiment(EXPERIMENTS / "quickstart.toml", tmp_path / "a", subjects=15, seed=4)
    b = ex.run_experiment(a.out_dir / "config.toml", tmp_path / "b")
    xr.testing.assert_identical(a.dataset(), b.dataset())
    assert "wrote" in a.summary() and a.table is not None


def test_zarr_output(tmp_path, write_toml):
    pytest.importorskip("zarr")
    text = (EXPERIMENTS / "quickstart.toml").read_text()
    text = text.replace('dataset = "cohort.nc"', 'dataset = "cohort.zarr"')
    res = ex.run_experiment(write_toml(text), tmp_path / "out", subjects=12, seed=2)
    assert (tmp_path / "out" / "cohort.zarr").is_dir()
    ds = res.dataset()
    assert ds.sizes["subject"] == 12 and ds.volume.attrs["units"] == "mm^3"


# ------------------------------------------------------------------------ errors
MINIMAL = """
model = "gompertz"
[times]
start = 0
stop = 112
step = 7
[population]
growth_rate = { distribution = "lognormal", median = 0.01, cv = 0.3 }
"""


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        ex.load_experiment(path)
    return str(info.value)


def test_malformed_toml_names_the_file(write_toml, capsys):
    p = write_toml("model = 'gompertz'\n[times\nstart = 0\n")
    msg = _error(p)
    assert str(p) in msg and "not valid TOML" in msg
    assert main(["run", str(p)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (('cv = 0.3 }', 'cv = 0.3, shape = 2 }'),
         r"\[population\] growth_rate \(lognormal distribution\): unknown key 'shape'"),
        (('"lognormal"', '"gamma"'),
         r"\[population\] growth_rate: unknown distribution 'gamma'"),
        (('cv = 0.3', 'cv = 0.0'), r"\[population\] growth_rate: LogNormal: `cv`.*must be > 0"),
        (('cv = 0.3', 'cv = -1'), r"\[population\] growth_rate: .*must be > 0; got -1"),
        (('[times]', 'colour = "red"\n[times]'), r"unknown top-level key 'colour'"),
        (('step = 7', 'step = 7\nend = 3'), r"\[times\]: unknown key 'end'"),
        (('[population]', '[cohort]\nsubject = 3\n[population]'),
         r"\[cohort\]: unknown key 'subject' \(did you mean 'subjects'\?\)"),
        (('[population]', '[cohort]\nsubjects = 0\n[population]'),
         r"\[cohort\] subjects must be an integer >= 1; got 0"),
        (('growth_rate =', 'growth =',),
         r"\[population\]: unknown key 'growth' \(did you mean 'growth_rate'\?\)"),
    ],
)
def test_bad_keys_and_values_name_file_table_and_key(write_toml, edit, pattern):
    p = write_toml(MINIMAL.replace(*edit))
    msg = _error(p)
    assert msg.startswith(str(p))
    assert pytest.importorskip("re").search(pattern, msg), msg


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ('[[scenario]]\nname = "s"\n[[scenario.surgery]]\nday = 3\nfraction = 0.5\n',
         r"\[\[surgery\]\] #1: unknown key 'fraction'"),
        ('[[scenario]]\nname = "s"\ncolour = 1\n', r"\[\[scenario\]\] 's': unknown key 'colour'"),
        ('[observation]\nevery = 56\nerror = { model = "proportional", sd = 1 }\n',
         r"\[observation\] error \(model 'proportional'\): unknown key 'sd'"),
        ('[observation]\nevery = 56\nerror = { model = "gaussian" }\n',
         r"unknown error model 'gaussian'"),
        ('[readouts]\nrecist = true\n', r"\[readouts\] recist needs an \[observation\]"),
        ('[observation]\nevery = 56\n[readouts]\nhyperprogression = ["champiat"]\n',
         r"unknown hyperprogression definition 'champiat'"),
        ('[output]\nformat = "nc"\n', r"\[output\]: unknown key 'format'"),
        ('[output]\ndataset = "out.h5"\n', r"\[output\] dataset must be a plain file name"),
        ('[population.correlation]\nnames = ["growth_rate"]\n',
         r"a correlation table takes names"),
    ],
)
def test_bad_tables(write_toml, extra, pattern):
    import re

    msg = _error(write_toml(MINIMAL + extra))
    assert re.search(pattern, msg), msg


def test_correlation_matrix_not_positive_definite(write_toml):
    text = MINIMAL + (
        'carrying_capacity = { distribution = "lognormal", median = 1e5, cv = 0.3 }\n'
        'initial_volume = { distribution = "lognormal", median = 1e3, cv = 0.3 }\n'
        '[population.correlation]\n'
        'names = ["growth_rate", "carrying_capacity", "initial_volume"]\n'
        'matrix = [[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]]\n')
    msg = _error(write_toml(text))
    assert "[population]" in msg and "not positive definite" in msg


def test_existing_output_directory(tmp_path, write_toml, capsys):
    p = write_toml(MINIMAL)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["run", str(p), "-o", str(out), "-q"]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert _run_cli(str(p), "-o", str(out), "--overwrite", "--subjects", "3") == 0
    assert (out / "keep.txt").read_text() == "mine" and (out / "cohort.nc").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run_cli(str(p), "-o", str(empty), "--subjects", "3") == 0


def test_disk_full_mid_write_leaves_nothing(tmp_path, write_toml, monkeypatch, capsys):
    p = write_toml(MINIMAL + '[observation]\nevery = 56\n')

    def full_disk(table, path):
        with open(path, "w") as fh:  # half a file under the final name of the summary
            fh.write("scenario,readout")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(ex, "_write_summary", full_disk)
    out = tmp_path / "out"
    with pytest.raises(OSError) as info:
        ex.run_experiment(p, out, subjects=5)
    assert info.value.errno == errno.ENOSPC
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [p]  # no temporary folder left behind
    # through the CLI: exit status 1 and a clear message
    assert main(["run", str(p), "-o", str(out), "--subjects", "5", "-q"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists()
    # an existing output survives a failed --overwrite
    out.mkdir()
    (out / "old.txt").write_text("old")
    assert main(["run", str(p), "-o", str(out), "--overwrite", "-q"]) == 1
    assert (out / "old.txt").read_text() == "old"


def test_disk_full_in_the_netcdf_writer(tmp_path, write_toml, monkeypatch):
    def full_disk(self, path, *args, **kwargs):
        Path(path).write_bytes(b"CDF\x01")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full_disk)
    out = tmp_path / "out"
    with pytest.raises(OSError):
        ex.run_experiment(write_toml(MINIMAL), out, subjects=3)
    assert not out.exists() and [q.name for q in tmp_path.iterdir()] == ["exp.toml"]


# ------------------------------------------------------------------ analysis hook
def test_analysis_hook(tmp_path, write_toml, monkeypatch):
    calls = {}

    def analyse(config, *, where, out_dir, subjects, seed):
        calls.update(config=config, where=where, out_dir=out_dir, subjects=subjects, seed=seed)
        if config.get("spread", {}).get("bad"):
            raise ConfigError(f"{where}: [spread] unknown key 'bad'")
        (out_dir / "result.csv").write_text("a,b\n1,2\n")
        return {"table": "result.csv"}

    module = types.ModuleType("tgsim._hook_for_tests")
    module.analyse = analyse
    monkeypatch.setitem(sys.modules, "tgsim._hook_for_tests", module)
    text = ('title = "hook"\ndescription = "d"\nanalysis = "tgsim._hook_for_tests:analyse"\n'
            '[spread]\nrate = 2.0\n[output]\ndir = "x"\n')
    p = write_toml(text)
    out = tmp_path / "out"
    assert _run_cli(str(p), "-o", str(out), "--subjects", "7", "--seed", "3") == 0
    assert calls["config"] == {"spread": {"rate": 2.0}}
    assert calls["where"] == str(p) and calls["subjects"] == 7 and calls["seed"] == 3
    assert calls["out_dir"] != out and calls["out_dir"].parent == out.parent
    assert (out / "result.csv").read_text() == "a,b\n1,2\n"
    assert {q.name for q in out.iterdir()} == {"result.csv", "config.toml", "manifest.json"}
    # the hook's own errors propagate and leave nothing behind
    bad = write_toml(text.replace("rate = 2.0", "bad = true"), "bad.toml")
    with pytest.raises(ConfigError, match=r"bad.toml: \[spread\] unknown key 'bad'"):
        ex.run_experiment(bad, tmp_path / "out2")
    assert not (tmp_path / "out2").exists()
    # only modules under tgsim.
    msg = _error(write_toml('analysis = "os.path:join"\n', "os.toml"))
    assert "module under 'tgsim.'" in msg
    msg = _error(write_toml('analysis = "tgsim._hook_for_tests:analyse"\n[output]\n'
                            'dataset = "a.nc"\n', "out.toml"))
    assert "[output]: unknown key 'dataset'" in msg


def test_toml_round_trip():
    data = {"title": "t", "x": 1.5, "flag": True, "n": [1, 2], "m": [[1.0, 0.5], [0.5, 1.0]],
            "table": {"a": "é \"q\"", "sub": {"inf": float("inf")}},
            "scenario": [{"name": "a", "surgery": [{"day": 3, "f": 0.5}]}, {"name": "b"}],
            "dotted key": {"k.x": 1}}
    assert tomllib.loads(ex.toml_dumps(data)) == data


# ------------------------------------------------------------------------- Dask
@pytest.mark.skipif(not have_dask(), reason="dask.distributed not installed")
def test_scheduler_option_gives_identical_results(tmp_path, write_toml):
    from distributed import LocalCluster

    text = (EXPERIMENTS / "quickstart.toml").read_text().replace(
        "seed = 2024", "seed = 2024\nchunk_size = 40")
    p = write_toml(text)
    assert _run_cli(str(p), "-o", str(tmp_path / "local"), "--subjects", "120",
                    "--scheduler", "synchronous") == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            assert _run_cli(str(p), "-o", str(tmp_path / "dask"), "--subjects", "120",
                            "--scheduler", cluster.scheduler_address) == 0
    a = xr.load_dataset(tmp_path / "local" / "cohort.nc")
    b = xr.load_dataset(tmp_path / "dask" / "cohort.nc")
    xr.testing.assert_identical(a, b)
    assert (tmp_path / "local" / "summary.csv").read_text() == \
        (tmp_path / "dask" / "summary.csv").read_text()


def test_the_documented_example_is_a_valid_experiment(tmp_path, write_toml):
    doc = ex.__doc__
    block = doc.split(".. code-block:: toml\n\n", 1)[1].split("\nIntervention tables", 1)[0]
    text = "\n".join(line[4:] for line in block.splitlines())
    exp = ex.load_experiment(write_toml(text))
    assert [s.name for s in exp.scenarios] == ["untreated", "surgery"]
    assert exp.population.effect_names == ("immunotherapy.kill_rate",)
    res = exp.run(tmp_path / "out", subjects=8)
    ds = res.dataset()
    assert list(ds.arm.values) == ["", "surgery"]
    assert "hyperprogression" in ds and "threshold_growth" in ds and "irecist_bor" in ds


def test_observation_problems_are_found_when_loading(write_toml):
    text = MINIMAL + '[observation]\nevery = 56\n[readouts]\nhyperprogression = true\n'
    msg = _error(write_toml(text))
    assert "needs a scan before the baseline" in msg and "[observation]/[readouts]" in msg
