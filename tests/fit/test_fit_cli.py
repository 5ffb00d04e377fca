"""The ``tgsim fit`` command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fit_helpers import GOMPERTZ_TRUE, TIMES, gompertz, noisy

from tgsim.cli import main


@pytest.fixture
def csv(tmp_path, rng):
    y = noisy(gompertz(TIMES, *GOMPERTZ_TRUE.values()), rng, n=3)
    rows = ["subject,day,value,unit"]
    for s in range(3):
        rows += [f"m{s},{t:g},{float(v)!r},mm^3" for t, v in zip(TIMES, y[s], strict=True)]
    rows += ["short,0,10,mm^3", "short,3,12,mm^3"]
    path = tmp_path / "data.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_fit_writes_one_row_per_subject(csv, tmp_path, capsys):
    out = tmp_path / "fits.csv"
    png = tmp_path / "fits.png"
    rc = main(["fit", str(csv), "--model", "gompertz", "-o", str(out), "--plot", str(png)])
    assert rc == 3  # one subject could not be fitted
    df = pd.read_csv(out)
    assert list(df.columns) == [
        "subject", "initial_volume", "initial_volume_se", "growth_rate", "growth_rate_se",
        "carrying_capacity", "carrying_capacity_se", "sigma", "sigma_se", "aic", "bic",
        "at_bound", "warnings", "status",
    ]
    assert list(df["subject"]) == ["m0", "m1", "m2", "short"]
    assert list(df["status"]) == ["success"] * 3 + ["not_identifiable"]
    assert png.stat().st_size > 1000
    assert "converged: 3 of 4" in capsys.readouterr().out


def test_compare_and_fixed(csv, tmp_path, capsys):
    out = tmp_path / "cmp.csv"
    rc = main(["fit", str(csv), "--compare", "exponential,gompertz", "--error-model",
               "lognormal", "--fixed", "growth_rate=0.1", "-o", str(out)])
    assert rc == 3
    df = pd.read_csv(out)
    assert set(df["model"]) == {"exponential", "gompertz"} and len(df) == 8
    assert list(df.columns[:2]) == ["subject", "model"]
    assert list(df.columns[-5:]) == ["aic", "bic", "at_bound", "warnings", "status"]
    assert np.allclose(df["growth_rate"], 0.1)
    assert "model comparison" in capsys.readouterr().out


def test_bad_arguments_give_clear_errors(csv, capsys):
    assert main(["fit", str(csv), "--fixed", "growth_rate"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["fit", "no-such-file.csv"]) == 2
    assert "neither a file nor a packaged data set" in capsys.readouterr().err
