"""The integrator's two forms (states or their logs) and its lane kernels.

Untreated cohorts larger than the serial threshold are integrated in groups of ``LANES``
subjects sharing steps; cards whose log form is cheaper are integrated in log-states. Both
must give the same answers as the plain per-subject integration and as an independent
solver.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from test_simulate import CARD_PARAMS  # same folder (rootdir-relative imports)

import tgsim
from tgsim.engine import logform
from tgsim.engine.compile import _expand_forms, _symbols_to_names, kernels
from tgsim.engine.kernels.rows import SERIAL_MAX
from tgsim.errors import TgsimWarning

#: cards whose log form needs no more transcendental calls than the original
LOG_CARDS = {"exponential", "gompertz", "power_law", "von_bertalanffy"}


def cohort(name: str, n: int, seed: int = 3) -> dict[str, np.ndarray]:
    """``n`` subjects spread (CV ~20 %) around the card's reference parameters."""
    rng = np.random.default_rng(seed)
    out = {}
    for key, val in CARD_PARAMS[name].items():
        spread = rng.lognormal(0.0, 0.2, n)
        out[key] = np.clip(val * spread, 0, 0.95) if key in ("exponent", "resistant_fraction") \
            else val * spread
    return out


@pytest.mark.parametrize("name", sorted(CARD_PARAMS))
def test_log_form_choice_and_values(name):
    """du/dt = g(y)/y at random positive states, where the card uses the log form."""
    m = tgsim.model(name)
    k = kernels(m)
    assert bool(k.LOGSPACE) == (name in LOG_CARDS)
    if not k.LOGSPACE:
        return
    rng = np.random.default_rng(0)
    p = tgsim.simulate(name, [0.0], CARD_PARAMS[name]).parameters.values[0]
    q = np.zeros(k.NQ)
    k.card_prep(p, q)
    for _ in range(50):
        y = rng.lognormal(3.0, 2.0, len(m.states))
        g = np.empty_like(y)
        du = np.empty_like(y)
        k.card_rhs(y, p, g)
        k.card_rhs_log(np.log(y), p, q, du)
        np.testing.assert_allclose(du, g / y, rtol=1e-12, atol=1e-300)


def test_log_form_simplifies_gompertz():
    m = tgsim.model("gompertz")
    rhs = [_symbols_to_names(m, m._trees["rhs.volume"])]
    form = logform.log_form(rhs, m.states)
    assert form.cost == 0 and form.linear_cost == 1
    assert [ast.unparse(t) for _, t in form.hoisted] == ["log(carrying_capacity)"]
    # the state factor cancelled and log(exp(u)) collapsed: no call left on the state
    assert not any(isinstance(n, ast.Call) for n in ast.walk(form.rhs[0]))


def test_log_form_without_state_factor_divides():
    """A growth term that is not a multiple of the state is divided by exp(u)."""
    tree = ast.parse("c + 0 * volume", mode="eval").body
    form = logform.log_form([tree], ["volume"])
    u = 1.7
    code = compile(ast.fix_missing_locations(ast.Expression(form.rhs[0])), "<t>", "eval")
    val = eval(code,
               {"exp": math.exp, "c": 2.0, "volume": u})
    assert val == pytest.approx(2.0 / math.exp(u), rel=1e-14)
    assert not form.cheaper


def test_template_forms_are_expanded():
    text = ("head\n# ---- begin per-form integrator (x)\ndef f_FORM():\n    return LOG_FORM\n"
            "# ---- end per-form integrator\ntail\n")
    out = _expand_forms(text)
    assert "def f_lin():\n    return LOG_lin" in out and "def f_log():\n    return LOG_log" in out
    assert "FORM" not in out and out.startswith("head\n") and out.rstrip().endswith("tail")


@pytest.mark.parametrize("name", sorted(CARD_PARAMS))
def test_lane_cohort_matches_dop853(name):
    """A cohort large enough for the lane kernels (with a remainder that is not a whole
    group) agrees with scipy's DOP853 (rtol 1e-12) to <= 1e-6 relative, subject by
    subject, at the default tolerances."""
    m = tgsim.model(name)
    k = kernels(m)
    n = 2 * SERIAL_MAX + 3
    params = cohort(name, n)
    t = np.linspace(0, 90, 16)
    ds = tgsim.simulate(name, t, params, solver="ode")
    assert (ds.status.values == 0).all()
    for s in (0, 7, 8, n - 4, n - 1):
        p = ds.parameters.values[s]
        y0 = np.zeros(len(m.states))
        k.card_init(p, y0)

        def rhs(_t, y, p=p):
            dy = np.empty_like(y)
            k.card_rhs(y, p, dy)
            return dy

        ref = solve_ivp(rhs, (0, 90), y0, method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t)
        assert ref.success
        np.testing.assert_allclose(ds.volume.values[s], ref.y.sum(axis=0), rtol=1e-6,
                                   err_msg=f"{name} subject {s}")


@pytest.mark.parametrize("name", ["gompertz", "logistic"])
def test_lanes_agree_with_one_by_one(name):
    """The same subjects, integrated in lanes (big cohort) and one at a time (small
    cohorts), agree to well within the requested tolerance."""
    n = 4 * SERIAL_MAX
    params = cohort(name, n, seed=11)
    t = np.linspace(0, 200, 41)
    big = tgsim.simulate(name, t, params, solver="ode", rtol=1e-6, atol=1e-9)
    for a in range(0, n, SERIAL_MAX):
        part = {key: v[a:a + SERIAL_MAX] for key, v in params.items()}
        small = tgsim.simulate(name, t, part, solver="ode", rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(big.volume.values[a:a + SERIAL_MAX], small.volume.values,
                                   rtol=2e-5)


def test_failure_in_a_lane_group_falls_back_per_subject():
    """One overflowing subject among a group: only it is flagged; its group-mates get the
    right answer (the group is redone subject by subject)."""
    n = 3 * SERIAL_MAX
    rates = np.full(n, 0.01)
    rates[9] = 10.0  # exp(10 t) overflows float64 long before day 200
    t = np.linspace(0, 200, 5)
    with pytest.warns(TgsimWarning, match="1 of 48 subject"):
        ds = tgsim.simulate("exponential", t, {"initial_volume": 1.0, "growth_rate": rates},
                            solver="ode")
    status = ds.status.values
    assert status[9] == 3 and (np.delete(status, 9) == 0).all()
    assert np.isnan(ds.volume.values[9, -1])
    np.testing.assert_allclose(np.delete(ds.volume.values, 9, axis=0),
                               np.exp(0.01 * t)[None, :].repeat(n - 1, 0), rtol=1e-7)


def test_step_budget_in_a_lane_group_is_per_subject():
    """A fast subject exhausting max_steps does not take its group-mates down with it."""
    n = 3 * SERIAL_MAX
    rates = np.full(n, 0.01)
    rates[3] = 2.0
    params = {**CARD_PARAMS["gompertz"], "growth_rate": rates}
    with pytest.warns(TgsimWarning):
        ds = tgsim.simulate("gompertz", np.linspace(0, 100, 5), params, solver="ode",
                            max_steps=40)
    assert ds.status.values[3] == 1
    assert (np.delete(ds.status.values, 3) == 0).all()


def test_jump_to_zero_uses_the_linear_form():
    """A jump factor of zero cannot be taken in log-states (the public schedules never
    make one, so the kernel is called directly): the subject is integrated in the states,
    and the tumour is exactly gone afterwards."""
    k = kernels(tgsim.model("exponential"))
    n = 3
    t = np.linspace(0.0, 30.0, 7)
    P = np.tile([2.0, 0.08], (n, 1))
    jt = np.full((n, 1), 10.0)
    jf = np.array([[0.0], [0.5], [1.0]])
    none3 = np.empty((n, 0, 5))
    out = np.full((n, t.size, 1), np.nan)
    status = np.zeros(n, np.int64)
    logged = np.zeros(n, np.bool_)
    k.sim_ode_rows(0, n, t, 0.0, P, jt, jf, none3, none3, np.empty((n, 0, 3)), np.zeros(n),
                    jt.copy(), 0, 1e-8, 1e-12, 100000, out, status, logged)
    assert (status == 0).all() and list(logged) == [False, True, True]
    vol = out[:, :, 0].copy()
    vol[1:] = np.exp(vol[1:])
    assert (vol[0, 2:] == 0.0).all()
    grown = 2.0 * np.exp(0.08 * t)
    np.testing.assert_allclose(vol[0, :2], grown[:2], rtol=1e-7)
    np.testing.assert_allclose(vol[1], np.where(t >= 10.0, 0.5, 1.0) * grown, rtol=1e-7)
    np.testing.assert_allclose(vol[2], grown, rtol=1e-7)
