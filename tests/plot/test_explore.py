"""The explorer's update logic, headless: sliders moved programmatically."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tgsim.errors import TgsimError
from tgsim.explore import Explorer
from tgsim.treatment import Immunotherapy, Surgery, Swelling

V0, R = 100.0, 0.01


def test_update_recomputes_the_closed_form():
    ex = Explorer("exponential", params={"initial_volume": V0, "growth_rate": R})
    t = ex.curves["time"]
    np.testing.assert_allclose(ex.curves["volume"], V0 * np.exp(R * t), rtol=1e-9)
    c = ex.update(growth_rate=0.02, initial_volume=50.0)
    np.testing.assert_allclose(c["volume"], 50.0 * np.exp(0.02 * t), rtol=1e-9)
    np.testing.assert_array_equal(c["observed"], c["volume"])  # no swelling
    # scans every 6 weeks from day 0, sphere-equivalent diameters of the volume
    np.testing.assert_allclose(c["scan_day"], np.arange(0.0, 365.0, 42.0))
    d = np.cbrt(6 * 50.0 * np.exp(0.02 * c["scan_day"]) / math.pi)
    np.testing.assert_allclose(c["scan_diameter_mm"], d, rtol=1e-9)
    np.testing.assert_allclose(c["change_pct"], 100 * (d / d[0] - 1), rtol=1e-9)


def test_slider_moves_the_lines():
    sched = [Immunotherapy(0.0, 365.0, 0.025, swelling=Swelling(0.1, 0.03))]
    ex = Explorer("exponential", params={"initial_volume": 1.4e4, "growth_rate": R},
                  schedule=sched)
    assert {"immunotherapy_kill_rate", "immunotherapy_resistance_rate",
            "immunotherapy_infiltration_rate", "immunotherapy_clearance_rate"} <= set(ex.knobs)
    ex.figure()
    line = ex._artists["volume"]
    before = np.array(line.get_ydata(), dtype=float)
    assert ex.curves["recist"][:3] == ["baseline", "PD", "SD"]
    assert ex.curves["irecist"][:3] == ["baseline", "iUPD", "iSD"]
    # move the kill-rate slider: the tumour now shrinks at (k - r) = 0.03 / day
    ex.set_value("immunotherapy_kill_rate", 0.04)
    after = np.array(line.get_ydata(), dtype=float)
    t = ex.curves["time"]
    np.testing.assert_allclose(after, 1.4e4 * np.exp((R - 0.04) * t), rtol=1e-6)
    assert not np.allclose(before, after)
    assert ex.sliders["immunotherapy_kill_rate"].valtext.get_text() == "0.04"
    # less swelling: no pseudoprogression any more
    ex.set_value("immunotherapy_infiltration_rate", 0.0)
    vol = np.array(ex._artists["volume"].get_ydata(), dtype=float)
    np.testing.assert_allclose(vol, 1.4e4 * np.exp((R - 0.04) * t), rtol=1e-6)
    np.testing.assert_allclose(ex._artists["observed"].get_ydata(), vol, rtol=1e-12)
    assert "PD" not in ex.curves["recist"]
    # category labels drawn on the change panel follow the curves
    texts = [t.get_text() for t in ex._bottom.texts if "\n" in t.get_text()]
    assert texts and all("PD" not in x for x in texts)


def test_slider_callback_updates_like_a_mouse_drag():
    ex = Explorer("gompertz", params={"initial_volume": 1000.0})
    ex.figure()
    s = ex.sliders["growth_rate"]
    knob = ex.knobs["growth_rate"]
    assert knob.log
    s.set_val(math.log10(0.05))  # what a drag does: the callback runs update()
    assert ex.values["growth_rate"] == pytest.approx(0.05)
    p = {"initial_volume": 1000.0, "growth_rate": 0.05, "carrying_capacity": 2000.0}
    t = ex.curves["time"]
    want = p["carrying_capacity"] * np.exp(np.log(1000.0 / 2000.0) * np.exp(-0.05 * t))
    np.testing.assert_allclose(ex._artists["volume"].get_ydata(), want, rtol=1e-8)


def test_surgery_knob_and_bad_values(tmp_path):
    ex = Explorer("exponential", params={"initial_volume": V0, "growth_rate": R},
                  schedule=[Surgery(100.0, 0.5)], every_days="8w")
    c = ex.update(surgery_resected_fraction=0.9)
    i = int(np.searchsorted(c["time"], 100.0))
    assert c["volume"][i] == pytest.approx(0.1 * V0 * math.exp(R * 100.0), rel=1e-9)
    assert ex.treatment_day == 100.0
    with pytest.raises(TgsimError, match="unknown knob"):
        ex.update(nope=1.0)
    with pytest.raises(TgsimError):
        ex.update(surgery_resected_fraction=1.5)
    assert ex.values["surgery_resected_fraction"] == 0.9  # a failed update changes nothing
    assert "baseline diameter" in c["notes"]  # 100 mm³ is 5.8 mm: not measurable
    out = tmp_path / "view.png"
    ex.save(out)
    assert out.stat().st_size > 10_000


def test_cli_explore_save(tmp_path, capsys):
    from tgsim.cli import main

    sched = tmp_path / "s.toml"
    sched.write_text("[[immunotherapy]]\nstart = 0\nstop = 200\nkill_rate = 0.03\n"
                     "swelling = { infiltration_rate = 0.1, clearance_rate = 0.03 }\n")
    out = tmp_path / "e.png"
    rc = main(["explore", "exponential", "--schedule", str(sched), "--param",
               "initial_volume=14000", "--param", "growth_rate=0.01", "--times", "0:200:1",
               "--set", "immunotherapy_kill_rate=0.025", "--save", str(out)])
    assert rc == 0
    assert out.stat().st_size > 10_000
    text = capsys.readouterr().out
    assert "day 42: RECIST PD, iRECIST iUPD" in text
