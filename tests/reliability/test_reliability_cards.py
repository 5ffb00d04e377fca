"""Point 5 and the card items of points 11-12: names, keywords, file names, bad cards."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tgsim
from tgsim.cli import main
from tgsim.engine.catalogue import load_model
from tgsim.errors import CardError


def card_text(name="mine", states=("volume",), params=(("initial_volume", "V0"),
                                                       ("growth_rate", "r")), rhs=None) -> str:
    rhs = rhs or {s: f"{params[1][1]} * {s}" for s in states}
    lines = [f'name = "{name}"', "states = [" + ", ".join(f'"{s}"' for s in states) + "]"]
    for pname, sym in params:
        lines += ["[[parameters]]", f'name = "{pname}"', f'symbol = "{sym}"', 'unit = "1"',
                  "default = 1.0", "lower = 0.0", "upper = 100.0"]
    lines += ["[initial]"] + [f'{s} = "{params[0][1]}"' for s in states]
    lines += ["[rhs]"] + [f'{s} = "{e}"' for s, e in rhs.items()]
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str, file="mine.toml") -> Path:
    p = tmp_path / file
    p.write_text(text, encoding="utf-8")
    return p


def test_ligature_parameter_names_collide_at_load(tmp_path):
    text = card_text(params=(("initial_volume", "V0"), ("growth_rate", "fi"),
                             ("other_rate", "\ufb01")), rhs={"volume": "fi * volume"})
    with pytest.raises(CardError) as info:
        load_model(write(tmp_path, text))
    msg = str(info.value)
    assert str(tmp_path / "mine.toml") in msg and "NFKC" in msg and "'fi'" in msg


def test_names_are_normalised_and_looked_up_normalised(tmp_path):
    text = card_text(params=(("initial_volume", "V0"), ("\ufb01t_rate", "r")))
    mdl = load_model(write(tmp_path, text))
    assert mdl.parameter_names == ("initial_volume", "fit_rate")
    assert mdl.parameter("\ufb01t_rate").name == "fit_rate"
    ds = tgsim.simulate(mdl, [0.0, 10.0], {"initial_volume": 1.0, "\ufb01t_rate": 0.1})
    np.testing.assert_allclose(ds.volume.values[0, -1], np.exp(1.0), rtol=1e-7)


@pytest.mark.parametrize("bad", ["lambda", "None", "if", "True", "class"])
@pytest.mark.parametrize("where", ["states", "parameter", "symbol"])
def test_keywords_are_refused_at_load(tmp_path, bad, where):
    if where == "states":
        text = card_text(states=(bad,), rhs={bad: "r * 2"})
    elif where == "parameter":
        text = card_text(params=(("initial_volume", "V0"), (bad, "r")))
    else:
        text = card_text(params=(("initial_volume", "V0"), ("growth_rate", bad)),
                         rhs={"volume": "volume"})
    path = write(tmp_path, text)
    with pytest.raises(CardError) as info:
        load_model(path)
    msg = str(info.value)
    assert str(path) in msg and repr(bad) in msg and "reserved" in msg


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1,
               max_size=8))
def test_any_name_loads_or_gives_a_card_error(tmp_path_factory, name):
    tmp = tmp_path_factory.mktemp("fuzz")
    text = card_text().replace('name = "growth_rate"', f"name = {json.dumps(name)}")
    try:
        mdl = load_model(write(tmp, text))
    except CardError:
        return
    assert all(p.isidentifier() for p in mdl.parameter_names)


def test_user_card_named_like_a_builtin_must_carry_that_name(tmp_path, capsys):
    folder = tmp_path / "cards"
    folder.mkdir()
    write(folder, card_text(name="not_gompertz"), file="gompertz.toml")
    with pytest.raises(CardError) as info:
        tgsim.model("gompertz", path=folder)
    assert "gompertz.toml" in str(info.value) and "'not_gompertz'" in str(info.value)
    assert main(["simulate", "gompertz", "--model-path", str(folder), "-o",
                 str(tmp_path / "a.nc")]) == 2
    assert "not_gompertz" in capsys.readouterr().err


def test_one_bad_card_does_not_hide_the_others(tmp_path, capsys):
    folder = tmp_path / "cards"
    folder.mkdir()
    write(folder, card_text(name="good"), file="good.toml")
    write(folder, "name = 'broken'\nstates = [\n", file="broken.toml")
    assert main(["models", "--model-path", str(folder)]) == 2
    out = capsys.readouterr()
    assert "good" in out.out and "gompertz" in out.out
    assert "broken" in out.out and "invalid" in out.out and "not valid TOML" in out.out
    assert "1 card(s) could not be read" in out.err
