"""Free treatment fields: naming, validation, substitution, identifiability."""

import math

import numpy as np
import pytest

import tgsim
from tgsim import Free, ScheduleError
from tgsim.errors import ConfigError
from tgsim.treatment import schedule_from_tables


def _chemo(**kw):
    base = dict(days=[0, 7, 14], dose=1.0, half_life_days=0.5, kill_rate=0.2)
    base.update(kw)
    return tgsim.Chemotherapy(**base)


def test_free_field_named_by_intervention_name_or_type():
    s = tgsim.Schedule([
        _chemo(kill_rate=Free(0.2, lower=0), name="docetaxel"),
        tgsim.TargetedTherapy(0, 28, kill_rate=0.1, resistance_rate=Free(0.02)),
        tgsim.Radiotherapy(days=[1, 2], dose_gy=2.0, alpha=Free(0.3, upper=1.0)),
        tgsim.Immunotherapy(0, 50, kill_rate=0.02, name="pd1",
                            swelling=tgsim.Swelling(Free(0.1), 0.03),
                            acceleration=tgsim.Acceleration(10, factor=Free(2.0))),
    ])
    names = list(s.free_parameters())
    assert names == ["docetaxel.kill_rate", "TargetedTherapy.resistance_rate",
                     "Radiotherapy.alpha", "pd1.acceleration.factor",
                     "pd1.swelling.infiltration_rate"]


def test_bounds_cut_to_field_range():
    s = tgsim.Schedule([_chemo(kill_rate=Free(0.2), half_life_days=Free(1.0),
                               name="c")])
    f = s.free_parameters()
    assert f["c.kill_rate"].lower == 0.0 and f["c.kill_rate"].upper == math.inf
    assert 0.0 < f["c.half_life_days"].lower < 1e-11        # open end moved inside
    surg = tgsim.Surgery(day=3, resected_fraction=Free(0.5))
    fr = tgsim.Schedule([surg]).free_parameters()["Surgery.resected_fraction"]
    assert fr.lower == 0.0 and fr.upper < 1.0


@pytest.mark.parametrize("kw, match", [
    (dict(value=2.0, lower=3.0), "exclude the start value 2"),
    (dict(value=2.0, upper=1.0), "exclude the start value 2"),
    (dict(value=1.0, lower=1.0, upper=1.0), "lower must be below upper"),
    (dict(value=float("nan")), "finite"),
    (dict(value="a"), "must be a number; got 'a'"),
])
def test_free_rejects_bad_bounds(kw, match):
    with pytest.raises(ScheduleError, match=match):
        Free(**kw)


def test_free_start_outside_field_range_names_field():
    with pytest.raises(ScheduleError, match=r"kill_rate \(start of Free\).*got -0.1"):
        _chemo(kill_rate=Free(-0.1))
    with pytest.raises(ScheduleError, match="leave no room"):
        _chemo(kill_rate=Free(0.0, lower=-2, upper=0.0))


def test_days_cannot_be_free():
    with pytest.raises(ScheduleError, match="days cannot be free"):
        _chemo(days=Free(3.0))


def test_unknown_field_lists_numeric_fields():
    s = tgsim.Schedule([_chemo(name="c")])
    with pytest.raises(ScheduleError, match=r"no intervention has a numeric field 'kil_rate'.*"
                                            r"c\.kill_rate"):
        s.free(["kil_rate"])
    with pytest.raises(ScheduleError, match="not a free treatment parameter"):
        s.with_values({"c.kill_rate": 0.3})


def test_free_by_bare_name_and_duplicate_labels():
    s = tgsim.Schedule([_chemo(name="a"), _chemo(days=[1, 8], name="b")])
    assert list(s.free(["kill_rate"]).free_parameters()) == ["a.kill_rate", "b.kill_rate"]
    assert s.free({"b.dose": Free(2.0, lower=1.0)}).free_parameters()["b.dose"].lower == 1.0
    dup = tgsim.Schedule([_chemo(kill_rate=Free(0.1)), _chemo(days=[1, 8],
                                                              kill_rate=Free(0.2))])
    with pytest.raises(ScheduleError, match="give them different names"):
        dup.free_parameters()


def test_with_values_substitutes_and_validates():
    s = tgsim.Schedule([_chemo(kill_rate=Free(0.2), name="c")])
    fixed = s.with_values({"c.kill_rate": 0.35})
    assert fixed.interventions[0].kill_rate == 0.35 and not fixed.free_parameters()
    with pytest.raises(ScheduleError, match=r"c\.kill_rate.*got -1"):
        s.with_values({"c.kill_rate": -1.0})


def test_free_simulates_at_its_start_value():
    days = np.linspace(0, 30, 7)
    tumour = {"initial_volume": 100.0, "growth_rate": 0.05}
    a = tgsim.simulate("exponential", days, tumour,
                       schedule=[_chemo(kill_rate=Free(0.2, lower=0), name="c")])
    b = tgsim.simulate("exponential", days, tumour, schedule=[_chemo(name="c")])
    np.testing.assert_array_equal(a["volume"].values, b["volume"].values)


def test_uninformed_when_no_dose_before_last_observation():
    s = tgsim.Schedule([
        tgsim.TargetedTherapy(30, 60, kill_rate=Free(0.05), name="late"),
        _chemo(kill_rate=Free(0.2), name="early"),
        tgsim.Surgery(day=21, resected_fraction=Free(0.5), name="op"),
    ])
    u = s.uninformed(np.array([21.0, 40.0]))
    np.testing.assert_array_equal(u["late.kill_rate"], [True, False])
    np.testing.assert_array_equal(u["early.kill_rate"], [False, False])
    np.testing.assert_array_equal(u["op.resected_fraction"], [False, False])  # jump seen
    assert s.uninformed(20.0)["op.resected_fraction"].tolist() == [True]


def test_toml_free_tables_and_to_dict():
    s = schedule_from_tables(
        {"chemotherapy": [{"days": [0, 7], "dose": 1.0, "half_life_days": 0.5,
                           "kill_rate": {"free": 0.1, "lower": 0, "upper": 2}, "name": "c"}]},
        "test.toml")
    f = s.free_parameters()["c.kill_rate"]
    assert (f.value, f.lower, f.upper) == (0.1, 0.0, 2.0)
    assert s.to_dict()[0]["kill_rate"] == {"free": 0.1, "lower": 0.0, "upper": 2.0}
    with pytest.raises(ConfigError, match="exclude the start"):
        schedule_from_tables({"chemotherapy": [{"days": [0], "dose": 1.0,
                                                "half_life_days": 0.5,
                                                "kill_rate": {"free": 3, "upper": 2}}]}, "t")
