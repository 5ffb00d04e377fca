"""The browser explorer's view without a browser: schedules, sharing, bad input, CLI."""

from __future__ import annotations

import numpy as np
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


def _random_view(rng) -> View:
    """A gompertz view with random picks, fields and growth (one treated kernel)."""
    view = View.default("gompertz")
    keys = list(PICKS)
    view.enabled = {keys[i] for i in rng.choice(len(keys), rng.integers(0, 4), replace=False)}
    for kind, fields in TREATMENTS.items():
        for f in fields:
            if rng.random() < 0.5:
                view.fields[kind][f.name] = round(rng.uniform(f.lower, f.upper) / f.step) * f.step
    view.params["growth_rate"] *= float(np.exp(rng.normal(0.0, 0.7)))
    view.params["initial_volume"] *= float(np.exp(rng.normal(0.0, 1.0)))
    return view


def test_calls_agree_with_the_lesion_table_functions():
    """The explorer reads one measurable lesion by the array rule table; tgsim.recist and
    tgsim.irecist on the scans' lesion table must give the same call at every scan."""
    from tgsim.clinical.pseudoprogression import scan_categories
    from tgsim.web.state import assess_view, simulate_view

    rng = np.random.default_rng(7)
    compared = 0
    for _ in range(25):
        view = _random_view(rng)
        curves = simulate_view(view)
        if curves["dataset"] is None:
            continue
        calls = assess_view(curves)
        try:
            table = scan_categories(curves["dataset"], treatment_day=curves["treatment_day"])
        except TgsimError:
            assert calls["notes"].startswith("no RECIST reading"), view.to_query()
            continue
        n = len(table)
        assert calls["recist"][-n:] == table["recist"].tolist(), view.to_query()
        assert calls["irecist"][-n:] == table["irecist"].tolist(), view.to_query()
        assert all(c == "pre-baseline" for c in calls["recist"][:-n]), view.to_query()
        compared += 1
    assert compared >= 18


def test_a_small_baseline_is_read_and_named():
    """Under 10 mm at baseline the lesion is not measurable: read by the lesion-table
    functions (as a non-target lesion), with a note."""
    from tgsim.web.state import assess_view, simulate_view

    view = View.default("gompertz")
    view.params["initial_volume"] = 200.0  # about 7 mm across
    calls = assess_view(simulate_view(view))
    assert "not measurable" in calls["notes"]
    assert calls["recist"][0] == "baseline" and "PR" not in calls["recist"]
