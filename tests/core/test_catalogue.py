"""Model catalogue: cards load, list, describe themselves and reject malformed input."""

from pathlib import Path

import numpy as np
import pytest

import tgsim
from tgsim.errors import CardError

EXPECTED = {
    "exponential": ["initial_volume", "growth_rate"],
    "logistic": ["initial_volume", "growth_rate", "carrying_capacity"],
    "gompertz": ["initial_volume", "growth_rate", "carrying_capacity"],
}


def test_builtin_cards_listed():
    names = tgsim.models()
    for required in ("exponential", "logistic", "gompertz", "von_bertalanffy", "power_law",
                     "exponential_linear", "stein", "two_population"):
        assert required in names


@pytest.mark.parametrize("name,params", EXPECTED.items())
def test_required_parameter_names(name, params):
    m = tgsim.model(name)
    assert list(m.parameter_names) == params
    for p in m.parameters:
        assert p.unit and p.description and p.symbol
        assert p.lower <= p.default <= p.upper
    assert m.references


def test_every_card_has_references_and_units():
    for name in tgsim.models():
        m = tgsim.model(name)
        assert m.references, name
        assert m.parameter("initial_volume").unit == "mm^3"
        assert name in m.summary()


def test_parameter_lookup_by_symbol():
    m = tgsim.model("gompertz")
    assert m.parameter("K").name == "carrying_capacity"
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        m.parameter("nope")


def test_unknown_model_lists_alternatives():
    with pytest.raises(CardError, match="unknown model 'gompretz'.*gompertz"):
        tgsim.model("gompretz")


def test_parameter_sets_are_within_bounds():
    for name in tgsim.models():
        m = tgsim.model(name)
        for ps in m.parameter_sets:
            values = m.parameter_set(ps["name"])
            for k, v in values.items():
                par = m.parameter(k)
                assert par.lower <= v <= par.upper


CARD = """
name = "mine"
title = "My law"
states = ["volume"]

[[parameters]]
name = "initial_volume"
symbol = "V0"
unit = "mm^3"
default = 1.0
lower = 1e-9
upper = 1e9
description = "start"

[[parameters]]
name = "growth_rate"
symbol = "a"
unit = "1/day"
default = 0.1
lower = 0.0
upper = 5.0
description = "rate"

[initial]
volume = "V0"

[rhs]
volume = "{rhs}"
"""


def write_card(tmp_path: Path, rhs: str = "a * volume", name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(CARD.replace("{rhs}", rhs))
    return p


def test_user_card_from_any_folder(tmp_path):
    path = write_card(tmp_path, rhs="a * sqrt(volume)")
    m = tgsim.load_model(path)
    assert m.name == "mine" and not m.has_closed_form
    assert "mine" in tgsim.models(path=tmp_path)
    assert tgsim.model("mine", path=tmp_path).card_hash == m.card_hash
    ds = tgsim.simulate(path, [0.0, 10.0], {"initial_volume": 4.0, "growth_rate": 0.2})
    # dV/dt = a sqrt(V): sqrt(V) = sqrt(V0) + a t / 2
    exact = (2.0 + 0.2 * 10 / 2) ** 2
    assert float(ds.volume[0, -1]) == pytest.approx(exact, rel=1e-7)


@pytest.mark.parametrize(
    "rhs,token",
    [
        ("__import__('os')", "__import__"),
        ("open(1)", "open"),
        ("volume.real", "Attribute"),
        ("(lambda: 1)()", "lambda"),
        ("volume if volume else 1", "IfExp"),
        ("'x'", "numeric"),
        ("volume[0]", "Subscript"),
        ("exp(x=volume)", "keyword"),
        ("t * volume", "unknown name 't'"),
        ("volume @ volume", "MatMult"),
    ],
)
def test_forbidden_tokens_are_refused(tmp_path, rhs, token):
    path = write_card(tmp_path, rhs=rhs.replace('"', "'"))
    with pytest.raises(CardError) as err:
        tgsim.load_model(path)
    msg = str(err.value)
    assert str(path) in msg and "[rhs] volume" in msg
    assert token.lower() in msg.lower()


@pytest.mark.parametrize(
    "mutate,expect",
    [
        (lambda s: s.replace('states = ["volume"]', ""), "missing required field 'states'"),
        (lambda s: s.replace("default = 0.1", "default = 9.0"), "outside"),
        (lambda s: s.replace("[rhs]\nvolume", "[rhs]\nvolum"), "state"),
        (lambda s: "bogus = 1\n" + s, "unknown field"),
        (lambda s: s.replace('name = "growth_rate"', 'name = "t"'), "reserved"),
        (lambda s: s.replace("[initial]", "[initial"), "not valid TOML"),
    ],
)
def test_malformed_cards(tmp_path, mutate, expect):
    p = tmp_path / "bad.toml"
    p.write_text(mutate(CARD.replace("{rhs}", "a * volume")))
    with pytest.raises(CardError, match=expect):
        tgsim.load_model(p)


def test_card_hash_changes_with_content(tmp_path):
    a = tgsim.load_model(write_card(tmp_path, "a * volume", "a.toml"))
    b = tgsim.load_model(write_card(tmp_path, "2 * a * volume", "b.toml"))
    assert a.card_hash != b.card_hash


def test_symbolic_gradient_matches_finite_differences():
    from tgsim.engine.compile import kernels

    for name in ("exponential", "gompertz", "logistic", "von_bertalanffy", "power_law", "stein"):
        m = tgsim.model(name)
        k = kernels(m)
        p = np.array([m.parameter_set()[n] if m.parameter_sets else m.defaults()[n]
                      for n in m.parameter_names])
        g = np.empty(len(p))
        q = np.empty(k.NQV)
        k.card_volume_prep(p, q)
        v = k.card_volume_vg(7.0, p, q, g)
        assert v == pytest.approx(k.card_volume(7.0, p), rel=1e-14)
        for j in range(len(p)):
            h = 1e-6 * max(abs(p[j]), 1e-3)
            pp, pm = p.copy(), p.copy()
            pp[j] += h
            pm[j] -= h
            fd = (k.card_volume(7.0, pp) - k.card_volume(7.0, pm)) / (2 * h)
            assert g[j] == pytest.approx(fd, rel=1e-5, abs=1e-8), (name, j)


def test_shared_parameter_names_keep_one_meaning_and_unit():
    from tgsim.engine.catalogue import PARAMETER_MEANINGS

    seen = set()
    for name in tgsim.models():
        for p in tgsim.model(name).parameters:
            if p.name in PARAMETER_MEANINGS:
                assert p.unit == PARAMETER_MEANINGS[p.name][1], (name, p.name, p.unit)
                seen.add(p.name)
    assert seen == set(PARAMETER_MEANINGS)


def test_renamed_parameter_keeps_its_old_name_as_an_alias(tmp_path):
    text = CARD.replace("{rhs}", "a * volume").replace(
        'name = "growth_rate"', 'name = "specific_rate"\naliases = ["growth_rate"]')
    p = tmp_path / "renamed.toml"
    p.write_text(text)
    m = tgsim.load_model(p)
    assert m.parameter_names == ("initial_volume", "specific_rate")
    with pytest.warns(DeprecationWarning, match="'growth_rate' is now called 'specific_rate'"):
        assert m.parameter("growth_rate").name == "specific_rate"
    with pytest.warns(DeprecationWarning):
        ds = tgsim.simulate(m, [0.0, 1.0], {"initial_volume": 1.0, "growth_rate": 0.5})
    np.testing.assert_allclose(ds.volume.values.ravel()[-1], np.exp(0.5), rtol=1e-6)
    assert list(ds.param.values) == ["initial_volume", "specific_rate"]


@pytest.mark.parametrize("aliases, expect", [
    ('aliases = ["V0x"]\n', None),
    ('aliases = ["initial_volume"]\n', "also names"),
    ('aliases = ["a"]\n', "also names"),
    ('aliases = "old"\n', "must be a list"),
])
def test_alias_rules(tmp_path, aliases, expect):
    text = CARD.replace("{rhs}", "a * volume").replace('symbol = "a"\n',
                                                       'symbol = "a"\n' + aliases)
    p = tmp_path / "alias.toml"
    p.write_text(text)
    if expect is None:
        assert tgsim.load_model(p).parameter("growth_rate").aliases == ("V0x",)
    else:
        with pytest.raises(CardError, match=expect):
            tgsim.load_model(p)


def test_an_alias_of_two_parameters_is_ambiguous(tmp_path):
    text = CARD.replace("{rhs}", "a * volume").replace(
        'symbol = "a"\n', 'symbol = "a"\naliases = ["old"]\n').replace(
        'symbol = "V0"\n', 'symbol = "V0"\naliases = ["old"]\n')
    p = tmp_path / "twice.toml"
    p.write_text(text)
    with pytest.raises(CardError, match="ambiguous"):
        tgsim.load_model(p)
