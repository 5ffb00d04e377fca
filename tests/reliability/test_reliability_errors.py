"""Points 11-12: each former traceback or silent coercion gives a clear error naming the
value, or documented behaviour."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import tgsim
from tgsim.cli import main
from tgsim.cohort.experiment import load_experiment
from tgsim.errors import Status, TgsimError, TgsimWarning

GOMPERTZ = {"initial_volume": 50.0, "growth_rate": 0.1, "carrying_capacity": 2000.0}

EXPERIMENT = """
title = "errors"
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
growth_rate = { distribution = "lognormal", median = 0.01, cv = 0.3 }
[output]
figures = false
"""


@pytest.mark.parametrize("argv", [
    ["simulate", "gompertz", "--subjects", "3", "--spread", "0.2", "--seed", "-1"],
    ["run", "EXP", "--seed", "-1"],
])
def test_negative_seed_is_a_usage_error(argv, tmp_path, capsys):
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    argv = [str(exp) if a == "EXP" else a for a in argv] + ["-o", str(tmp_path / "o.nc")]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "--seed: must be an integer >= 0; got '-1'" in capsys.readouterr().err.replace(
        "got -1", "got '-1'")


@pytest.mark.parametrize("value", [float("nan"), "x", 0, -3, 2.5, True, None])
def test_max_steps_must_be_a_positive_integer(value):
    with pytest.raises(TgsimError, match=r"`max_steps` must be a positive integer; got"):
        tgsim.simulate("gompertz", [0.0, 1.0], GOMPERTZ, max_steps=value)
    pop = {"growth_rate": tgsim.LogNormal(0.1, 0.3)}
    with pytest.raises(TgsimError, match=r"`max_steps` must be a positive integer"):
        tgsim.simulate_cohort("gompertz", [0.0, 1.0], pop, 2, seed=1, max_steps=value)


def test_max_steps_in_an_experiment_file(tmp_path):
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT.replace('name = "gompertz"', 'name = "gompertz"\nmax_steps = "x"'))
    with pytest.raises(TgsimError, match=r"\[model\] max_steps must be an integer"):
        load_experiment(exp)


def test_header_only_lesion_file_with_hyperprogression(tmp_path, capsys):
    path = tmp_path / "lesions.csv"
    path.write_text("subject,day,lesion,diameter_mm\n")
    assert main(["assess", str(path), "--criteria", "hyperprogression",
                 "--treatment-day", "0"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("subject,day,sum_mm") and len(out.strip().splitlines()) == 1


def test_a_3000_term_expression_is_a_card_error(tmp_path):
    card = (tgsim.model("exponential").path)
    text = open(card, encoding="utf-8").read()
    rhs = " + ".join(["r * volume / 3000"] * 3000)
    text = text.replace(text[text.index("[rhs]"):].splitlines()[1], f'volume = "{rhs}"')
    path = tmp_path / "exponential.toml"
    path.write_text(text)
    with pytest.raises(tgsim.CardError, match="59997 characters, over the limit"):
        tgsim.load_model(path)
    from tgsim import limits

    previous = limits.set_limits(expression_chars=10**6)
    try:  # no RecursionError past the length limit either
        with pytest.raises(tgsim.CardError, match=r"\[rhs\] volume: expression nests"):
            tgsim.load_model(path)
    finally:
        limits.set_limits(**previous)


def test_an_expression_nested_past_the_depth_limit(tmp_path):
    text = open(tgsim.model("exponential").path, encoding="utf-8").read()
    rhs = " + ".join(["r * volume / 150"] * 150)  # 2,700 characters, 150 levels
    text = text.replace(text[text.index("[rhs]"):].splitlines()[1], f'volume = "{rhs}"')
    path = tmp_path / "exponential.toml"
    path.write_text(text)
    with pytest.raises(tgsim.CardError, match="nests more than 100 operations deep"):
        tgsim.load_model(path)


@pytest.mark.parametrize("command", ["simulate", "fit"])
def test_output_that_is_a_folder(command, tmp_path, capsys):
    data = tmp_path / "data.csv"
    pd.DataFrame({"subject": "a", "day": [0.0, 7.0, 14.0, 21.0],
                  "value": [50.0, 80.0, 120.0, 170.0]}).to_csv(data, index=False)
    argv = (["simulate", "gompertz"] if command == "simulate" else ["fit", str(data)])
    assert main([*argv, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"-o/--output {str(tmp_path)!r} is a folder" in err


def test_data_argument_that_is_a_folder(tmp_path, capsys):
    assert main(["fit", str(tmp_path)]) == 2
    assert "Is a directory" in capsys.readouterr().err


@pytest.mark.parametrize("address", ["tcp://not a host::x", "tcp://host:99999", "http://h:1",
                                     "localhost"])
def test_malformed_scheduler_address_fails_fast(address, tmp_path, capsys):
    pytest.importorskip("distributed")
    exp = tmp_path / "exp.toml"
    exp.write_text(EXPERIMENT)
    started = time.perf_counter()
    assert main(["run", str(exp), "-o", str(tmp_path / "out"), "-q", "--scheduler",
                 address]) == 2
    assert time.perf_counter() - started < 20
    assert repr(address) in capsys.readouterr().err


def test_waterfall_of_a_scan_dataset():
    ds = tgsim.simulate("gompertz", np.arange(0.0, 120.0), GOMPERTZ | {
        "growth_rate": np.array([0.1, 0.2])})
    sc = tgsim.scan(ds, every_days=28)
    with pytest.raises(TgsimError, match="got a Dataset"):
        tgsim.plot.waterfall(sc)
    with pytest.raises(TgsimError, match="array of numbers"):
        tgsim.plot.waterfall({"a": "big", "b": [1, 2]})


@pytest.mark.parametrize("value", [True, np.array([True, False]), "0.1", None])
def test_non_numeric_parameters_are_refused(value):
    with pytest.raises(TgsimError, match="growth_rate must be a number or 1-D array"):
        tgsim.simulate("gompertz", [0.0, 1.0], GOMPERTZ | {"growth_rate": value})


def test_empty_parameter_array_is_refused():
    with pytest.raises(TgsimError, match="growth_rate is an empty array"):
        tgsim.simulate("gompertz", [0.0, 1.0], GOMPERTZ | {"growth_rate": np.array([])})


@pytest.mark.parametrize("error_model", ["proportional", "additive", "lognormal"])
@pytest.mark.parametrize("model", ["gompertz", "exponential"])
def test_noise_free_data_fit_to_the_exact_solution(model, error_model):
    truth = {k: v for k, v in GOMPERTZ.items() if k in tgsim.model(model).parameter_names}
    days = np.arange(0.0, 60.0, 4.0)
    v = tgsim.simulate(model, days, truth).volume.values[0]
    data = pd.DataFrame({"subject": "a", "day": days, "value": v, "unit": "mm^3"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TgsimWarning)
        res = tgsim.fit(data, model, error_model=error_model)
    assert res.status.tolist() == [Status.SUCCESS]
    frame = res.to_frame()
    for name, value in truth.items():
        assert frame[name].iloc[0] == pytest.approx(value, rel=1e-8), name
    assert frame["sigma"].iloc[0] < 1e-8
