"""``tgsim sample``: writes ArviZ NetCDF, refuses what it cannot do."""

from __future__ import annotations

import numpy as np
import pytest

from tgsim.cli import main

az = pytest.importorskip("arviz")


def _csv(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["subject,day,value,unit"]
    for s in range(3):
        for t in np.arange(0.0, 15.0, 3.0):
            v = 2000.0 * np.exp(0.1 * t) * np.exp(0.1 * rng.standard_normal())
            rows.append(f"m{s},{t},{v:.3f},mm^3")
    path = tmp_path / "volumes.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_sample_writes_inference_data(tmp_path, capsys):
    out = tmp_path / "post.nc"
    code = main(["sample", str(_csv(tmp_path)), "--model", "exponential", "-o", str(out),
                 "--draws", "100", "--warmup", "100", "--chains", "2"])
    assert code in (0, 3)  # 3: an R-hat >= 1.01 (short chains)
    idata = az.from_netcdf(out)
    assert set(idata.posterior["subject"].values) == {"m0", "m1", "m2"}
    assert idata.posterior.sizes["chain"] == 2 and idata.posterior.sizes["draw"] == 100
    assert idata.posterior["initial_volume"].attrs["units"] == "mm^3"
    text = capsys.readouterr()
    assert "R-hat" in text.out and "log-normal" in text.err


def test_sample_population_writes_population_variables(tmp_path):
    out = tmp_path / "pop.nc"
    code = main(["sample", str(_csv(tmp_path)), "--model", "exponential", "-o", str(out),
                 "--draws", "30", "--warmup", "30", "--chains", "1", "--population", "-q"])
    assert code in (0, 3)
    idata = az.from_netcdf(out)
    assert "population_typical" in idata.posterior
    assert idata.posterior["population_typical"].dims == ("chain", "draw", "param")


def test_population_refuses_a_non_lognormal_error_model(tmp_path, capsys):
    code = main(["sample", str(_csv(tmp_path)), "-o", str(tmp_path / "x.nc"), "--population",
                 "--error-model", "proportional", "-q"])
    assert code == 2
    assert "lognormal" in capsys.readouterr().err
    assert not (tmp_path / "x.nc").exists()
