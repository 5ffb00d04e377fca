"""The browser explorer's view without a browser: schedules, sharing, bad input, CLI."""

from __future__ import annotations

import pytest

from tgsim import TgsimError
from tgsim.cli import main
from tgsim.errors import ConfigError
from tgsim.treatment import Chemotherapy, Immunotherapy, Surgery, Swelling
from tgsim.web.state import PICKS, TREATMENTS, View, compute


def test_every_pick_gives_its_intervention():
    view = View.default("gompertz")
    view.enabled = set(PICKS)
    kinds = [type(item).__name__ for item in view.schedule()]
    assert kinds == ["Surgery", "Chemotherapy", "Radiotherapy", "TargetedTherapy",
                     "Immunotherapy"]
    immuno = list(view.schedule())[-1]
    assert immuno.swelling is not None and immuno.acceleration is not None


def test_toml_and_query_reproduce_the_view(tmp_path):
    view = View.default("logistic")
    view.enabled = {"chemotherapy", "swelling"}
    view.hypothesis = "norton-simon"
    view.params["growth_rate"] = 0.02
    view.fields["chemotherapy"]["dose"] = 1.5
    path = tmp_path / "view.toml"
    path.write_text(view.to_toml(), encoding="utf-8")
    assert View.from_toml(path) == view
    assert View.from_query("?" + view.to_query()) == view


def test_swelling_gives_pd_then_iupd_and_a_reset():
    view = View.default("gompertz")
    view.enabled = {"swelling"}
    c = compute(view)
    assert "PD" in c["recist"]
    first = c["irecist"].index("iUPD")
    assert any(x in ("iSD", "iPR") for x in c["irecist"][first + 1:])
    assert len(c["doubling_days"]) == len(c["scan_day"]) == len(c["threshold_growth"])


def test_from_schedule_and_its_notes(tmp_path):
    sched = [Surgery(30.0, 0.8), Surgery(60.0, 0.5),
             Chemotherapy([40.0, 61.0, 82.0], 2.0, 1.0, 0.2, hypothesis="norton-simon"),
             Immunotherapy(10.0, 200.0, 0.02, swelling=Swelling(0.05, 0.04))]
    view, notes = View.from_schedule("exponential", sched)
    assert view.enabled == {"surgery", "chemotherapy", "immunotherapy", "swelling"}
    assert view.fields["surgery"]["day"] == 30.0
    assert view.fields["chemotherapy"] == {**view.fields["chemotherapy"], "start": 40.0,
                                           "doses": 3.0, "interval": 21.0}
    assert view.hypothesis == "norton-simon"
    assert any("second surgery" in n for n in notes)


@pytest.mark.parametrize("query, match", [
    ("model=gompertz&treatments=laser", "unknown treatment"),
    ("model=gompertz&hypothesis=fast", "hypothesis"),
    ("model=gompertz&spin=2", "no parameter 'spin'"),
    ("model=gompertz&surgery.when=2", "no field 'when'"),
    ("model=gompertz&growth_rate=abc", "must be a number"),
    ("model=gompertz&growth_rate=nan", "must be finite"),
])
def test_bad_views_are_named(query, match):
    with pytest.raises(ConfigError, match=match):
        View.from_query(query)


def test_every_field_has_a_range_that_holds_its_default():
    for kind, fields in TREATMENTS.items():
        for f in fields:
            assert f.lower <= f.default <= f.upper, (kind, f.name)
            assert f.unit and f.meaning


def test_cli_rejects_window_options_with_web(capsys):
    assert main(["explore", "--web", "--save", "x.png"]) == 2
    assert "--save" in capsys.readouterr().err
    assert main(["explore", "gompertz", "--port", "0"]) == 2
    assert "need --web" in capsys.readouterr().err
    assert main(["explore"]) == 2


def test_missing_bokeh_names_the_extra(monkeypatch):
    import builtins

    import tgsim.web as web

    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "bokeh" or name.startswith("bokeh."):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(TgsimError, match=r"tgsim\[web\]"):
        web.require_bokeh()
