"""simulate(): results layout, accuracy against exact and independent solutions, bad input."""

import warnings

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import tgsim
from tgsim.errors import TgsimError, TgsimWarning

GOMPERTZ = {"initial_volume": 2.0, "growth_rate": 0.08, "carrying_capacity": 1500.0}

# parameters per card used for the reference comparisons
CARD_PARAMS = {
    "exponential": {"initial_volume": 3.0, "growth_rate": 0.15},
    "logistic": {"initial_volume": 3.0, "growth_rate": 0.25, "carrying_capacity": 900.0},
    "gompertz": GOMPERTZ,
    "von_bertalanffy": {
        "initial_volume": 3.0,
        "growth_rate": 1.2,
        "loss_rate": 0.08,
        "exponent": 0.6666666666666666,
    },
    "power_law": {"initial_volume": 3.0, "growth_rate": 0.7, "exponent": 0.7},
    "exponential_linear": {"initial_volume": 3.0, "growth_rate": 0.3, "linear_rate": 40.0},
    "stein": {"initial_volume": 50.0, "growth_rate": 0.01, "decay_rate": 0.03},
    "two_population": {
        "initial_volume": 5.0,
        "resistant_fraction": 0.05,
        "growth_rate": 0.2,
        "resistant_growth_rate": 0.1,
        "carrying_capacity": 2000.0,
    },
}


def test_cards_covered():
    assert set(CARD_PARAMS) == set(tgsim.models())


def test_dataset_layout():
    t = np.linspace(0, 50, 11)
    ds = tgsim.simulate("gompertz", t, {**GOMPERTZ, "growth_rate": [0.05, 0.1, 0.2]})
    assert ds.volume.dims == ("subject", "time")
    assert ds.volume.shape == (3, 11)
    assert ds.volume.attrs["units"] == "mm^3" and ds.volume.attrs["long_name"]
    assert ds.time.attrs["units"] == "day"
    assert list(ds.param.values) == ["initial_volume", "growth_rate", "carrying_capacity"]
    np.testing.assert_array_equal(ds.parameters.sel(param="growth_rate"), [0.05, 0.1, 0.2])
    assert (ds.status == 0).all()
    assert "flag_meanings" in ds.status.attrs
    assert ds.attrs["model"] == "gompertz" and ds.attrs["card_hash"]
    assert ds.attrs["tgsim_version"] == tgsim.__version__
    assert ds.attrs["solver"] == "closed_form"
    assert "observed" not in ds and "swelling" not in ds  # only with swelling


def test_solver_choice():
    t = [0.0, 10.0]
    assert tgsim.simulate("gompertz", t, GOMPERTZ).attrs["solver"] == "closed_form"
    assert tgsim.simulate("gompertz", t, GOMPERTZ, solver="ode").attrs["solver"] == "ode"
    p = CARD_PARAMS["exponential_linear"]
    assert tgsim.simulate("exponential_linear", t, p).attrs["solver"] == "ode"
    with pytest.raises(TgsimError, match="closed_form.*not available.*no closed form"):
        tgsim.simulate("exponential_linear", t, p, solver="closed_form")


def test_gompertz_closed_form_is_exact():
    t = np.linspace(0, 120, 50)
    ds = tgsim.simulate("gompertz", t, GOMPERTZ)
    V0, r, K = GOMPERTZ.values()
    exact = K * (V0 / K) ** np.exp(-r * t)
    np.testing.assert_allclose(ds.volume[0], exact, rtol=1e-12)


def test_t0_and_negative_times():
    # pre-treatment scans at negative days; the initial volume is given at t0 = -30
    t = np.array([-30.0, -10.0, 0.0, 20.0])
    ds = tgsim.simulate("exponential", t, {"initial_volume": 5.0, "growth_rate": 0.1})
    np.testing.assert_allclose(ds.volume[0], 5.0 * np.exp(0.1 * (t + 30)), rtol=1e-12)
    ds = tgsim.simulate(
        "exponential",
        [10.0, 20.0],
        {"initial_volume": 5.0, "growth_rate": 0.1},
        t0=0.0,
        solver="ode",
    )
    np.testing.assert_allclose(ds.volume[0], 5.0 * np.exp([1.0, 2.0]), rtol=1e-7)


@pytest.mark.parametrize("name", sorted(CARD_PARAMS))
def test_ode_matches_solve_ivp_dop853(name):
    """Every card's ODE agrees with scipy's DOP853 (rtol 1e-12) to <= 1e-5 relative."""
    from tgsim.engine.compile import kernels

    m = tgsim.model(name)
    params = CARD_PARAMS[name]
    p = tgsim.simulate(name, [0.0], params).parameters.values[0]
    k = kernels(m)
    y0 = np.zeros(len(m.states))
    k.card_init(p, y0)

    def rhs(_t, y):
        dy = np.empty_like(y)
        k.card_rhs(y, p, dy)
        return dy

    t = np.linspace(0, 90, 31)
    ref = solve_ivp(rhs, (0, 90), y0, method="DOP853", rtol=1e-12, atol=1e-14, t_eval=t)
    assert ref.success
    ds = tgsim.simulate(name, t, params, solver="ode")
    ours = ds.volume.values[0]
    np.testing.assert_allclose(ours, ref.y.sum(axis=0), rtol=1e-5)


def test_ode_matches_independent_rhs_for_gompertz():
    """Against a hand-written right-hand side (not the card's), so the card text is checked."""
    V0, r, K = GOMPERTZ.values()
    t = np.linspace(0, 90, 31)
    ref = solve_ivp(
        lambda _t, v: r * v * np.log(K / v),
        (0, 90),
        [V0],
        method="DOP853",
        rtol=1e-12,
        atol=1e-14,
        t_eval=t,
    )
    ds = tgsim.simulate("gompertz", t, GOMPERTZ, solver="ode")
    np.testing.assert_allclose(ds.volume[0], ref.y[0], rtol=1e-6)


def test_convergence_order_of_integrator():
    """Global error falls ~like rtol: tightening rtol by 100 shrinks the error >= 20x."""
    t = np.linspace(0, 60, 7)
    V0, r, K = GOMPERTZ.values()
    exact = K * (V0 / K) ** np.exp(-r * t)
    errs = []
    for rtol in (1e-5, 1e-7, 1e-9):
        v = tgsim.simulate("gompertz", t, GOMPERTZ, solver="ode", rtol=rtol, atol=1e-14)
        errs.append(np.max(np.abs(v.volume.values[0] - exact) / exact))
    assert errs[0] / errs[1] > 20 and errs[1] / errs[2] > 20
    assert errs[2] < 1e-8


def test_two_population_exposes_compartments():
    ds = tgsim.simulate("two_population", [0.0, 30.0], CARD_PARAMS["two_population"])
    assert ds.state_volume.dims == ("subject", "time", "state")
    assert list(ds.state.values) == ["sensitive", "resistant"]
    np.testing.assert_allclose(ds.state_volume.sum("state"), ds.volume)


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_failed_subject_is_flagged_not_fatal(solver):
    # subject 1 grows as exp(10 t): it overflows float64 long before day 200
    t = np.linspace(0, 200, 5)
    p = {"initial_volume": 1.0, "growth_rate": [0.01, 10.0]}
    with pytest.warns(TgsimWarning, match="1 of 2 subject"):
        ds = tgsim.simulate("exponential", t, p, solver=solver)
    assert int(ds.status[0]) == 0 and int(ds.status[1]) == 3
    np.testing.assert_allclose(ds.volume[0], np.exp(0.01 * t), rtol=1e-7)
    with pytest.raises(TgsimError, match="subject 1: a state or parameter became NaN or inf"):
        tgsim.simulate("exponential", t, p, solver=solver, strict=True)


def test_step_budget_is_flagged():
    t = np.linspace(0, 100, 5)
    p = {**CARD_PARAMS["gompertz"], "growth_rate": [0.01, 2.0]}
    with pytest.warns(TgsimWarning):
        ds = tgsim.simulate("gompertz", t, p, solver="ode", max_steps=40)
    assert int(ds.status[1]) == 1 and int(ds.status[0]) == 0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"times": [0.0, np.nan]}, r"times\[1\]=nan"),
        (
            {"times": [0.0, 5.0, 2.0]},
            r"increasing \(unsorted\); got times\[2\]=2 after times\[1\]=5",
        ),
        ({"times": [0.0, 5.0, 5.0]}, r"duplicate"),
        ({"times": []}, "empty"),
        ({"times": [[0.0, 1.0]]}, "1-D"),
        ({"params": {**GOMPERTZ, "growth_rate": np.nan}}, "growth_rate must be finite"),
        ({"params": {**GOMPERTZ, "growth_rate": np.inf}}, "growth_rate must be finite"),
        ({"params": {**GOMPERTZ, "initial_volume": -1.0}}, r"initial_volume must be in \[1e-12"),
        ({"params": {**GOMPERTZ, "growth_rate": [0.1, -0.2]}}, r"growth_rate\[1\] must be in"),
        ({"params": {**GOMPERTZ, "growth_rate": 50.0}}, r"growth_rate must be in \[1e-09, 10\]"),
        ({"params": {**GOMPERTZ, "speed": 1.0}}, "no parameter 'speed'"),
        (
            {"params": {"initial_volume": 1.0, "growth_rate": 0.1}},
            "missing value.*carrying_capacity",
        ),
        (
            {"params": {**GOMPERTZ, "growth_rate": [0.1, 0.2], "initial_volume": [1, 2, 3]}},
            "mismatched length",
        ),
        ({"model": "gompretz"}, "unknown model"),
        ({"solver": "rk4"}, "solver"),
        ({"t0": 5.0}, "t0"),
        ({"rtol": -1.0}, "rtol"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"model": "gompertz", "times": [0.0, 1.0, 2.0], "params": GOMPERTZ}
    args.update(kwargs)
    model, times, params = args.pop("model"), args.pop("times"), args.pop("params")
    with pytest.raises(TgsimError, match=match):
        tgsim.simulate(model, times, params, **args)


def test_bad_input_is_a_value_error():
    with pytest.raises(ValueError):
        tgsim.simulate("gompertz", [1.0, 0.0], GOMPERTZ)


def test_optional_parameter_default():
    p = dict(CARD_PARAMS["exponential_linear"])
    ds = tgsim.simulate("exponential_linear", [0.0, 1.0], p)
    assert float(ds.parameters.sel(param="psi")[0]) == 20.0


def test_no_warning_for_plain_runs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tgsim.simulate("gompertz", [0.0, 1.0], GOMPERTZ)


def test_kernel_cache_reused_across_processes(tmp_path):
    """A second process finds the generated source and Numba's cache: nothing recompiled."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, TGSIM_CACHE_DIR=str(tmp_path))
    code = (
        "import time, tgsim; t=time.perf_counter();"
        "tgsim.simulate('exponential', [0.0, 1.0], {'initial_volume': 1.0, 'growth_rate': 0.1},"
        " solver='ode'); print(time.perf_counter()-t)"
    )
    first = float(
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    files = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert any(f.endswith(".py") for f in files) and any(f.endswith(".nbi") for f in files)
    second = float(
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == files
    assert second < first


def test_untreated_closed_form_needs_no_jit(tmp_path):
    """An untreated closed-form cohort is evaluated with NumPy: Numba is never imported."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, TGSIM_CACHE_DIR=str(tmp_path))
    code = (
        "import sys, tgsim; tgsim.simulate('gompertz', [0.0, 1.0, 5.0], {'initial_volume': 1.0,"
        " 'growth_rate': 0.1, 'carrying_capacity': 1000.0}); print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


@pytest.mark.parametrize("name", ["exponential", "logistic", "gompertz", "power_law",
                                  "von_bertalanffy", "stein"])
def test_vectorised_closed_form_equals_compiled_kernel(name):
    """The NumPy closed form (untreated cohorts) and the compiled piecewise kernel (used as
    soon as a schedule has an event; here a resection of a negligible fraction on the
    last day) give the same numbers to rounding."""
    mdl = tgsim.model(name)
    rng = np.random.default_rng(3)
    n = 257
    params = {}
    for p in mdl.parameters:
        lo = max(p.lower, p.default * 0.5) if p.default > 0 else p.lower
        hi = min(p.upper, p.default * 1.5) if p.default > 0 else p.upper
        params[p.name] = rng.uniform(lo, hi, n)
    times = np.linspace(0.0, 120.0, 41)
    fast = tgsim.simulate(name, times, params, solver="closed_form")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = tgsim.simulate(name, times, params, solver="closed_form",
                              schedule=[tgsim.Surgery(day=120.0, resected_fraction=1e-300)])
    assert fast.attrs["solver"] == slow.attrs["solver"] == "closed_form"
    np.testing.assert_array_equal(fast.status.values, slow.status.values)
    np.testing.assert_allclose(fast.volume.values[:, :-1], slow.volume.values[:, :-1],
                               rtol=1e-13, atol=0)


def test_vectorised_closed_form_flags_overflow_per_subject():
    """A subject whose closed form overflows is flagged NON_FINITE; the others are exact."""
    with pytest.warns(TgsimWarning, match="1 of 2 subject"):
        ds = tgsim.simulate("exponential", [0.0, 10.0, 365.0],
                            {"initial_volume": 1.0, "growth_rate": [0.01, 10.0]},
                            solver="closed_form")
    assert ds.status.values.tolist() == [0, 3]
    np.testing.assert_allclose(ds.volume.values[0], np.exp(0.01 * np.array([0, 10, 365.0])),
                               rtol=1e-14)


def test_division_by_zero_in_a_card_is_a_status_not_an_exception(tmp_path):
    """Card expressions are compiled with NumPy float semantics: a division by a parameter
    that is zero gives inf/NaN, flagged per subject, never an exception from the kernel."""
    card = tmp_path / "ratio.toml"
    card.write_text(
        'name = "ratio"\ntitle = "test"\ndescription = "test"\nstates = ["volume"]\n'
        '[[parameters]]\nname = "initial_volume"\nsymbol = "V0"\nunit = "mm^3"\n'
        'default = 1.0\nlower = 1e-12\nupper = 1e12\ndescription = "v0"\n'
        '[[parameters]]\nname = "shape"\nsymbol = "nu"\nunit = "1"\ndefault = 1.0\n'
        'lower = -1.0\nupper = 1.0\ndescription = "shape"\n'
        '[initial]\nvolume = "V0"\n[rhs]\nvolume = "expm1(nu * 0.1) / nu * volume"\n'
    )
    with pytest.warns(TgsimWarning, match="1 of 2 subject"):
        ds = tgsim.simulate(tgsim.load_model(card), [0.0, 1.0, 2.0],
                            {"initial_volume": 1.0, "shape": [0.5, 0.0]}, solver="ode")
    assert ds.status.values[0] == 0 and ds.status.values[1] != 0


@pytest.mark.parametrize("solver", ["ode", "closed_form"])
def test_serial_and_parallel_kernels_agree(solver):
    """Small cohorts run on the calling thread, large ones on the thread pool: the same
    subjects give bit-identical volumes either way (treated, so the kernels are used)."""
    from tgsim.engine.kernels.rows import SERIAL_MAX

    rng = np.random.default_rng(5)
    n = 3 * SERIAL_MAX
    params = {"initial_volume": rng.uniform(1, 10, n), "growth_rate": rng.uniform(0.05, 0.2, n),
              "carrying_capacity": rng.uniform(500, 5000, n)}
    sched = [tgsim.Surgery(day=20.0, resected_fraction=0.7)]
    t = np.linspace(0.0, 60.0, 13)
    big = tgsim.simulate("gompertz", t, params, schedule=sched, solver=solver)
    small = tgsim.simulate("gompertz", t, {k: v[:5] for k, v in params.items()}, schedule=sched,
                           solver=solver)
    np.testing.assert_array_equal(big.volume.values[:5], small.volume.values)


def test_closed_form_thread_pool_survives_fork():
    """The closed-form thread pool is kept per process: a forked child (the parent's
    threads do not exist there) makes its own instead of waiting forever on the parent's."""
    import subprocess
    import sys

    code = (
        "import os, numpy as np, tgsim\n"
        "p = {'initial_volume': np.full(40000, 2.0), 'growth_rate': 0.1,"
        " 'carrying_capacity': 1e3}\n"
        "t = np.linspace(0, 50, 20)\n"
        "a = tgsim.simulate('gompertz', t, p).volume.values\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    b = tgsim.simulate('gompertz', t, p).volume.values\n"
        "    os._exit(0 if np.array_equal(a, b) else 3)\n"
        "_, st = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(st))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split()[-1] == "0"
