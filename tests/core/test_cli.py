"""The thin CLI: `tgsim models` and `tgsim simulate` as a new user runs them."""

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from tgsim.cli import main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("simulate", "models", "assess", "datasets"):
        assert cmd in out
    assert "days" in out and "mm^3" in out


def test_models_lists_and_describes(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "gompertz" in out and "closed form" in out and "ODE" in out
    assert main(["models", "gompertz"]) == 0
    out = capsys.readouterr().out
    assert "carrying_capacity" in out and "mm^3" in out and "Laird" in out


def test_simulate_writes_netcdf_and_png(tmp_path, capsys):
    nc, png = tmp_path / "out" / "g.nc", tmp_path / "out" / "g.png"
    rc = main(["simulate", "gompertz", "--param", "growth_rate=0.1", "--param",
               "carrying_capacity=2000", "--times", "0:60:2", "--subjects", "20",
               "--spread", "0.3", "--seed", "3", "-o", str(nc), "--plot", str(png)])
    assert rc == 0
    out = capsys.readouterr().out
    assert f"wrote {nc}" in out and f"wrote {png}" in out
    ds = xr.open_dataset(nc)
    assert ds.volume.shape == (20, 31) and ds.volume.attrs["units"] == "mm^3"
    assert ds.attrs["model"] == "gompertz"
    assert np.all(np.isfinite(ds.volume)) and np.all(ds.volume > 0)
    assert png.stat().st_size > 5000
    assert sorted(p.name for p in nc.parent.iterdir()) == ["g.nc", "g.png"]  # no temp files
    ds.close()


def test_simulate_with_schedule_and_user_card(tmp_path):
    card = tmp_path / "cards" / "linear.toml"
    card.parent.mkdir()
    card.write_text(
        'name = "linear"\nstates = ["volume"]\n'
        '[[parameters]]\nname = "initial_volume"\nunit = "mm^3"\ndefault = 1.0\n'
        'lower = 1e-9\nupper = 1e9\n'
        '[[parameters]]\nname = "slope"\nunit = "mm^3/day"\ndefault = 2.0\nlower = 0.0\n'
        'upper = 100.0\n'
        '[initial]\nvolume = "initial_volume"\n[rhs]\nvolume = "slope"\n'
        '[closed_form]\nvolume = "volume + accel * slope * t"\n'
        '[[references]]\ncitation = "linear growth"\n'
    )
    sched = tmp_path / "s.toml"
    sched.write_text("[[surgery]]\nday = 5\nresected_fraction = 0.5\n")
    nc = tmp_path / "lin.nc"
    rc = main(["simulate", "linear", "--model-path", str(card.parent), "--times", "0:10:1",
               "--schedule", str(sched), "-o", str(nc)])
    assert rc == 0
    v = xr.open_dataset(nc).volume.values[0]
    expected = np.where(np.arange(11) >= 5, 0.5 * (1 + 2 * 5) + 2 * (np.arange(11) - 5),
                        1 + 2 * np.arange(11))
    np.testing.assert_allclose(v, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "args,msg",
    [
        (["simulate", "gompretz", "-o", "x.nc"], "unknown model 'gompretz'"),
        (["simulate", "gompertz", "--param", "speed=1", "-o", "x.nc"], "no parameter 'speed'"),
        (["simulate", "gompertz", "--param", "growth_rate=-1", "-o", "x.nc"], "growth_rate"),
        (["simulate", "gompertz", "--subjects", "0", "-o", "x.nc"], "--subjects"),
    ],
)
def test_simulate_errors_are_clear(tmp_path, capsys, args, msg, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err
    assert not (tmp_path / "x.nc").exists()


def test_bad_times_argument(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "gompertz", "--times", "0:10", "-o", "x.nc"])
    assert exc.value.code == 2
    assert "START:STOP:STEP" in capsys.readouterr().err


def test_console_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "tgsim", "models"], capture_output=True,
                         text=True, check=True)
    assert "exponential" in out.stdout
