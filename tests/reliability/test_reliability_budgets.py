"""Point 2: size budgets refuse work too large to finish, before allocating it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

import tgsim
from tgsim import limits
from tgsim.cli import main
from tgsim.errors import CardError, ConfigError, SizeLimitError, TgsimError

GOMPERTZ = {"initial_volume": 1.0, "growth_rate": 0.1, "carrying_capacity": 2000.0}

EXPERIMENT = """
title = "budget"
[model]
name = "gompertz"
[cohort]
subjects = 10
seed = 1
[times]
start = 0
stop = 56
step = 7
[population]
growth_rate = { distribution = "lognormal", median = 0.01, cv = 0.3 }
"""


@pytest.fixture
def small_budget():
    previous = limits.set_limits(output_bytes=1 << 20)  # 1 MiB
    yield
    limits.set_limits(**previous)


def test_simulate_refuses_an_output_over_the_budget(small_budget):
    with pytest.raises(SizeLimitError) as info:
        tgsim.simulate("gompertz", np.arange(0.0, 10_000.0), GOMPERTZ | {
            "growth_rate": np.full(100, 0.1)})
    msg = str(info.value)
    assert "100 subject(s) x 10000 time(s)" in msg and "MiB" in msg
    assert "TGSIM_MAX_OUTPUT_BYTES" in msg and "Zarr" in msg
    ds = tgsim.simulate("gompertz", np.arange(0.0, 10.0), GOMPERTZ)  # a small one still runs
    assert ds.volume.shape == (1, 10)


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("TGSIM_MAX_OUTPUT_BYTES", "2K")
    assert limits.get_limit("output_bytes") == 2048
    with pytest.raises(SizeLimitError):
        tgsim.simulate("gompertz", np.arange(0.0, 100.0), GOMPERTZ)
    monkeypatch.setenv("TGSIM_MAX_OUTPUT_BYTES", "lots")
    with pytest.raises(SizeLimitError, match="TGSIM_MAX_OUTPUT_BYTES='lots'"):
        limits.get_limit("output_bytes")
    monkeypatch.delenv("TGSIM_MAX_OUTPUT_BYTES")
    assert 0 < limits.get_limit("output_bytes") <= limits.available_memory()
    with pytest.raises(SizeLimitError, match="positive integer"):
        limits.set_limits(output_bytes=-1)


def test_cli_simulate_times_1e9_fails_fast(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "available_memory", lambda: 64 << 30)  # any machine's answer
    started = time.perf_counter()
    with pytest.raises(SystemExit) as info:  # a usage error, refused before allocating
        main(["simulate", "gompertz", "--times", "0:1e9:1", "-o", str(tmp_path / "a.nc")])
    assert info.value.code == 2 and time.perf_counter() - started < 10
    err = capsys.readouterr().err
    assert "--times 0:1e9:1 (1000000001 times)" in err and "over the budget" in err
    assert not (tmp_path / "a.nc").exists()


@pytest.mark.parametrize("scheduler", ["synchronous", "local"])
def test_run_with_1e12_subjects_fails_fast(tmp_path, capsys, scheduler):
    if scheduler == "local":
        pytest.importorskip("distributed")
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    started = time.perf_counter()
    code = main(["run", str(exp), "--subjects", "1000000000000", "--scheduler", scheduler,
                 "-o", str(tmp_path / "out"), "-q", "--no-progress"])
    assert code == 2 and time.perf_counter() - started < 30
    err = capsys.readouterr().err
    assert "number of chunks" in err and "1000000000000 subject(s)" in err
    assert not (tmp_path / "out").exists()


def test_cohort_over_the_budget_points_to_zarr_and_smaller_chunks(small_budget):
    pop = {"growth_rate": tgsim.LogNormal(0.01, 0.3)}
    days = np.arange(0.0, 1000.0)
    with pytest.raises(SizeLimitError) as info:  # 2000 x 1000 x 8 bytes: 15 MiB > 1 MiB
        tgsim.simulate_cohort("gompertz", days, pop, 2000, seed=1, chunk_size=50,
                              scheduler="synchronous")
    assert "cohort result" in str(info.value) and "Zarr" in str(info.value)
    with pytest.raises(SizeLimitError, match="smaller chunk_size"):  # one chunk: 3.8 MiB
        tgsim.simulate_cohort("gompertz", days, pop, 2000, seed=1, chunk_size=500,
                              scheduler="synchronous")


def test_schedule_with_a_billion_fractions(tmp_path):
    path = tmp_path / "rt.toml"
    path.write_text("[[radiotherapy]]\ndose_gy = 2.0\nweekdays = { fractions = 1e9 }\n")
    with pytest.raises(TgsimError) as info:
        tgsim.load_schedule(path)
    assert str(path) in str(info.value) and "1000000000" in str(info.value)
    assert isinstance(info.value, SizeLimitError | ConfigError)
    with pytest.raises(SizeLimitError, match="TGSIM_MAX_EVENTS"):
        tgsim.weekday_fractions(10**9)


def _card(tmp_path: Path, rhs: str, states=("volume",), name="big") -> Path:
    path = tmp_path / f"{name}.toml"
    st = ", ".join(f'"{s}"' for s in states)
    init = "\n".join(f'{s} = "initial_volume"' for s in states)
    rhs_lines = "\n".join(f'{s} = "{rhs}"' for s in states)
    path.write_text(f'''name = "{name}"
states = [{st}]
[[parameters]]
name = "initial_volume"
unit = "mm^3"
default = 1.0
lower = 0.0
upper = 1e9
[[parameters]]
name = "growth_rate"
symbol = "r"
unit = "1/day"
default = 0.1
lower = 0.0
upper = 10.0
[initial]
{init}
[rhs]
{rhs_lines}
''', encoding="utf-8")
    return path


def test_card_with_a_3000_term_expression(tmp_path):
    path = _card(tmp_path, " + ".join(["r * volume"] * 3000))
    with pytest.raises(CardError) as info:
        tgsim.load_model(path)
    msg = str(info.value)
    assert str(path) in msg and "[rhs] volume" in msg and "limit" in msg


def test_card_with_too_many_states(tmp_path):
    states = [f"s{i}" for i in range(65)]
    path = _card(tmp_path, "r * s0", states=states)
    with pytest.raises(CardError) as info:
        tgsim.load_model(path)
    assert str(path) in str(info.value) and "states" in str(info.value) and "65" in str(
        info.value)


def test_schedule_sizes_are_budgeted(small_budget):
    with pytest.raises(SizeLimitError, match="the number of days of Radiotherapy is 200000"):
        tgsim.simulate("gompertz", [0.0, 10.0], GOMPERTZ,
                       schedule=[tgsim.Radiotherapy(days=np.arange(200_000.0), dose_gy=2.0)])
    many = GOMPERTZ | {"growth_rate": np.full(2000, 0.1)}
    with pytest.raises(SizeLimitError, match=r"schedule for 2000 subject\(s\) x 100 event"):
        tgsim.simulate("gompertz", [0.0, 10.0], many,
                       schedule=[tgsim.Radiotherapy(days=np.arange(100.0), dose_gy=2.0)])
