"""Known pitfalls in published tumour-growth code, each a test that fails if tgsim had it.

The pitfalls are those found in the released code of Laleh et al. 2022
(KatherLab/ImmunotherapyModels; see the laleh2022_lesions PROVENANCE): an inverted AIC,
the classic Bertalanffy exponent written ``V**2/3``, plus two common ones — non-target
lesions summed into the RECIST sum of diameters, and failed fits dropped silently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp

import tgsim
import tgsim.datasets as tds
from tgsim.clinical import recist, target_sums
from tgsim.fitting import fit
from tgsim.fitting.comparison import compare
from tgsim.fitting.likelihood import aic

# ----------------------------------------------------------------------------- AIC


def _saturating_data():
    """Gompertz growth towards 2000 mm^3 with additive noise (sd 20 mm^3), days 0-39."""
    t = np.arange(0.0, 40.0, 3.0)
    y = 2000.0 * (50.0 / 2000.0) ** np.exp(-0.1 * t)
    return t, y + np.random.default_rng(1).normal(0.0, 20.0, t.size)


def test_aic_is_minus_two_loglik_plus_2k():
    t, y = _saturating_data()
    res = fit((t, y), "gompertz", error_model="additive")
    assert res.success[0]
    n = int(res.n_obs[0])
    ssr = float(np.nansum(res.residuals[0] ** 2))
    k = res.k  # 3 growth parameters + sigma
    assert k == 4
    # least squares: -2 ln L at the ML sigma^2 = SSR/n is n ln(SSR/n) + n (ln 2 pi + 1)
    expected = n * np.log(ssr / n) + n * (np.log(2 * np.pi) + 1) + 2 * k
    assert res.aic[0] == pytest.approx(expected, rel=1e-6)
    assert res.aic[0] == pytest.approx(res.neg2ll[0] + 2 * k, rel=1e-12)
    assert aic(10.0, 3) == 16.0
    inverted = 2 * k - 2 * np.log(ssr)
    assert abs(res.aic[0] - inverted) > 10.0


def test_better_fit_gets_the_lower_aic():
    t, y = _saturating_data()
    cmp = compare((t, y), ["exponential", "gompertz"], error_model="additive")
    i_exp, i_gom = cmp.models.index("exponential"), cmp.models.index("gompertz")
    ssr = {m: float(np.nansum(cmp.fits[m].residuals[0] ** 2)) for m in cmp.models}
    assert ssr["gompertz"] < ssr["exponential"] / 10  # saturating data: Gompertz fits better
    assert cmp.aic[0, i_gom] < cmp.aic[0, i_exp]
    assert cmp.best()[0] == "gompertz" and cmp.rank[0, i_gom] == 1
    # the inverted formula 2k - 2 ln(SSR) would have preferred the worse fit
    k = {m: cmp.fits[m].k for m in cmp.models}
    inverted = {m: 2 * k[m] - 2 * np.log(ssr[m]) for m in cmp.models}
    assert inverted["exponential"] < inverted["gompertz"]


# ------------------------------------------------------------------ Bertalanffy V^(2/3)

_V0, _A, _B = 10.0, 1.0, 0.1
_DAYS = np.linspace(0.0, 0.2, 9)  # short: the wrong ODE blows up soon after


def _solve(rhs):
    sol = solve_ivp(lambda t, v: rhs(v), (0.0, _DAYS[-1]), [_V0], t_eval=_DAYS,
                    rtol=1e-11, atol=1e-12, method="DOP853")
    assert sol.success
    return sol.y[0]


@pytest.mark.parametrize("solver", [None, "ode"])
def test_von_bertalanffy_uses_v_to_the_two_thirds(solver):
    params = {"initial_volume": _V0, "growth_rate": _A, "loss_rate": _B,
              "exponent": 2.0 / 3.0}
    ours = tgsim.simulate("von_bertalanffy", _DAYS, params, solver=solver).volume.values[0]
    right = _solve(lambda v: _A * v ** (2.0 / 3.0) - _B * v)
    wrong = _solve(lambda v: _A * v**2 / 3 - _B * v)  # the published typo: (V^2)/3
    np.testing.assert_allclose(ours, right, rtol=1e-7)
    assert np.max(np.abs(wrong - ours) / ours) > 0.1


def test_von_bertalanffy_card_plateau():
    # dV/dt = a V^(2/3) - b V has its plateau at (a/b)^3; (V^2)/3 - bV has none above 3b/a
    ds = tgsim.simulate("von_bertalanffy", np.array([0.0, 2000.0]),
                        {"initial_volume": _V0, "growth_rate": _A, "loss_rate": _B,
                         "exponent": 2.0 / 3.0})
    assert ds.volume.values[0, -1] == pytest.approx((_A / _B) ** 3, rel=1e-6)


# ------------------------------------------------------------------ RECIST sum of targets


def _lesions(non_target_status: str) -> pd.DataFrame:
    rows = [
        # subject, day, lesion, diameter_mm, kind, status
        ("p1", 0.0, "T1", 30.0, "target", ""),
        ("p1", 0.0, "T2", 20.0, "target", ""),
        ("p1", 0.0, "N1", 50.0, "non-target", "present"),
        ("p1", 56.0, "T1", 20.0, "target", ""),
        ("p1", 56.0, "T2", 15.0, "target", ""),
        ("p1", 56.0, "N1", 80.0, "non-target", non_target_status),
    ]
    return pd.DataFrame(rows, columns=["subject", "day", "lesion", "diameter_mm", "kind",
                                       "status"])


def test_recist_sum_uses_target_lesions_only():
    sums = target_sums(_lesions("present"))
    assert sums["sum_mm"].tolist() == [50.0, 35.0]  # not 100 and 115
    res = recist(_lesions("present"))
    row = res.table[res.table["day"] == 56.0].iloc[0]
    assert row["sum_mm"] == 35.0
    assert row["change_from_baseline_pct"] == pytest.approx(-30.0)
    # targets -30 %: PR; with the non-target summed in it would be +15 %: SD
    assert row["response"] == "PR"


def test_non_target_acts_only_through_unequivocal_progression():
    res = recist(_lesions("progression"))
    row = res.table[res.table["day"] == 56.0].iloc[0]
    assert row["sum_mm"] == 35.0
    assert row["target_response"] == "PR"
    assert row["non_target_response"] == "PD" and row["response"] == "PD"


# ------------------------------------------------------------------ failed fits reported


def _batch():
    t = np.arange(0.0, 30.0, 3.0)
    rng = np.random.default_rng(7)
    T = np.tile(t, (4, 1))
    Y = np.vstack([v0 * np.exp(r * t) * (1 + 0.05 * rng.standard_normal(t.size))
                   for v0, r in ((50, 0.08), (80, 0.05), (30, 0.1), (60, 0.07))])
    T[2, 1:] = np.nan  # subject 2 has a single point: cannot be fitted
    Y[2, 1:] = np.nan
    return T, Y


def test_failed_fit_is_reported_and_others_unaffected():
    T, Y = _batch()
    res = fit((T, Y), "gompertz")
    assert res.success.tolist() == [True, True, False, True]
    assert res.status[2] != 0 and res.message[2]
    assert np.all(np.isnan(res.aic[2:3]))
    alone = fit((T[[0, 1, 3]], Y[[0, 1, 3]]), "gompertz")
    np.testing.assert_allclose(res.estimate[[0, 1, 3]], alone.estimate, rtol=1e-6)
    cmp = compare((T, Y), ["exponential", "gompertz"])
    assert cmp.n_failed.tolist() == [1, 1]
    table = cmp.table()
    assert table["n_failed"].tolist() == [1, 1]
    assert (table["n_subjects"] == 4).all()
    assert cmp.best()[2] == ""


def test_validation_report_counts_failed_fits():
    from studies.validation import tumgr_ascent2 as tv

    run = tv.gdrate()
    res = run.fits["gdphi"]
    failed = [run.names[i] for i in np.flatnonzero(~res.success)
              if np.isfinite(run.values[i]).sum() > tv.MODELS["gdphi"]]
    assert failed  # patient 30011: its gdphi fit does not converge
    report = tv.reproduce(quick=True)
    assert report.failed_fits["gdphi"] == len(failed)
    assert any("30011" in n for n in report.notes)
    # the patient keeps its result from the other models: the same selection as tumgr
    ref = tds.reference("tumgr_ascent2", "tumgr_gdrate_results")
    want = ref.assign(name=ref["name"].astype(str)).set_index("name").loc["30011"]
    row = run.results.set_index("name").loc["30011"]
    assert row["type"] == "included" and row["selectedFit"] == want["selectedFit"]
    assert row["d"] == pytest.approx(want["d"], rel=0.01)
