"""Data-driven multi-start of saturating laws: shrinking, jumping and levelling series
reach an optimum at least as good as the parameters that generated them."""

from __future__ import annotations

import numpy as np
import pytest

import tgsim
from tgsim.engine.catalogue import model
from tgsim.fitting.likelihood import error_model
from tgsim.fitting.lm import build_setup
from tgsim.fitting.starts import plateau_candidates

T = np.array([0.0, 6.0, 12.0, 18.0, 24.0, 30.0, 36.0])


def logistic(t, v0, r, k):
    return k * v0 / (v0 + (k - v0) * np.exp(-r * t))


def bertalanffy(t, v0, a, b, g=2.0 / 3.0):
    return (v0 ** (1 - g) * np.exp(-(1 - g) * b * t)
            - a * np.expm1(-(1 - g) * b * t) / b) ** (1 / (1 - g))


def gompertz(t, v0, r, k):
    return k * (v0 / k) ** np.exp(-r * t)


#: (card, law, true parameters, fixed): each a series a single start does not fit well
CASES = {
    "logistic, step down to a plateau": ("logistic", logistic, (2.0, 3.0, 0.8), {}),
    "logistic, hyperbolic decay": ("logistic", logistic, (1.0, 2e-6, 1e-7), {}),
    "logistic, step up to a plateau": ("logistic", logistic, (0.5, 3.0, 1.1), {}),
    "gompertz, decay to a plateau": ("gompertz", gompertz, (3.0, 0.15, 0.5), {}),
    "bertalanffy (2/3), decay to a plateau": ("von_bertalanffy", bertalanffy,
                                              (8.0, 0.05, 0.2), {"exponent": 2.0 / 3.0}),
}


def neg2ll(y, f, s):
    return float(np.sum(((y - f) / s) ** 2) + y.size * np.log(2 * np.pi * s**2))


@pytest.mark.parametrize("case", list(CASES))
def test_fit_is_no_worse_than_the_generating_parameters(case):
    card, law, p, fixed = CASES[case]
    rng = np.random.default_rng(3)
    f = law(T, *p)
    y = f * (1 + 0.05 * rng.standard_normal(T.size))
    s = 0.1 * y.mean()
    res = tgsim.fit((T, y), card, error_model="additive", unit="1",
                    fixed={**fixed, "sigma": s}, max_iter=1000)
    assert res.success[0], res.message[0]
    # the optimum is at least as good as the truth (a necessary condition of the
    # global optimum that needs no reference optimiser), to 1e-6 in -2 log L
    assert res.neg2ll[0] <= neg2ll(y, f, s) + 1e-6, (res.neg2ll[0], neg2ll(y, f, s))
    if res.subject_at_bound[0]:
        assert "at a bound" in res.warnings[0]


def test_candidates_follow_the_data_and_keep_fixed_values():
    y = np.array([[2.0, 1.2, 0.9, 0.8, 0.8, 0.85, 0.8]])
    mdl = model("von_bertalanffy")
    setup = build_setup(mdl, 1, error_model("additive"), fixed={"exponent": 0.5},
                        t_range=(0.0, 36.0))
    from tgsim.fitting.data import as_batch

    batch = as_batch((T, y), unit="1", log_scale=False)
    X = np.zeros((1, setup.K))
    X[:, :4] = np.log([1.0, 1.0, 0.05, 0.5])
    C, rows = plateau_candidates(setup, batch, X)
    P = np.exp(C[0, :, :4])
    assert rows.tolist() == [0]
    np.testing.assert_allclose(P[:, 0], 2.0)  # the first value
    np.testing.assert_allclose(P[:, 3], 0.5)  # the fixed exponent
    plateau = (P[:, 1] / P[:, 2]) ** (1 / (1 - 0.5))  # a / b = K^(1 - gamma)
    for k in (0.8, 2.1, np.mean(y[0, 1:])):
        assert np.any(np.isclose(plateau, k, rtol=1e-9)), k
    # a growing law without a plateau gets no candidates
    assert plateau_candidates(build_setup(model("exponential"), 1, error_model("additive"),
                                          t_range=(0.0, 36.0)), batch, X[:, :4]) is None


#: training points (nominal weeks from the first visit, normalised volume; all but the last
#: two readings, as in TumorGrowth.jl's battle) of Laleh 2022 lesion records whose fit
#: from the default start alone ended in a local optimum, 2.4 to 21.9 above the
#: multi-start reference in -2 log L
HARD_RECORDS = {
    "logistic": {
        "b5db7040242c6bea5445b73d1f77fbff-S1": (
            [0.0, 6.9, 12.9, 18.9, 24.9, 29.9, 35.9],
            [0.0231705, 0.0210968, 0.0132855, 0.00992622, 0.012561, 0.0210968, 0.0301975]),
        "5495fdb962c96595dba44409ab41b39f-S3": (
            [0.0, 6.9, 11.9, 18.9, 24.9],
            [8.43714e-05, 6.15068e-05, 4.31982e-05, 8.43714e-05, 8.43714e-05]),
        "795ff61298fab922d76d6fdf9e7f086e-S5": (
            [0.0, 8.9, 17.9, 26.9], [0.00276468, 0.00581496, 0.00276468, 0.00361743]),
    },
    "classical_bertalanffy": {
        "b4f589c851a89641b44eefa69730301a-S2": (
            [0.0, 5.9, 11.9, 17.9], [0.0678648, 0.0482425, 0.0574968, 0.065699]),
        "88bb334c6f973ff03dc373e99a616fa6-S5": (
            [0.0, 8.9, 18.9, 28.9, 38.9, 47.9, 56.9],
            [0.00185212, 0.00933081, 0.0071871, 0.00462963, 0.00361743, 0.00251351,
             0.00361743]),
    },
}
#: largest excess of tgsim's -2 log L over the multi-start reference (a likelihood ratio
#: of exp(0.05), far below any test's resolution); measured against 20 starts on all 641
#: battle records: at most 0.018 (logistic) and 0.056 (classical Bertalanffy)
TOL_NEG2LL = 0.1


@pytest.mark.parametrize("law", list(HARD_RECORDS))
def test_hard_laleh_records_reach_the_multistart_reference(law):
    from fit_helpers import LALEH_LAWS, multistart_reference

    card, fixed, f, lo, hi, starts = LALEH_LAWS[law]
    for rid, (t, y) in HARD_RECORDS[law].items():
        t, y = np.array(t), np.array(y)
        s = 0.1 * float(np.mean(y))
        res = tgsim.fit((t, y), card, error_model="additive", unit="1",
                        fixed={**fixed, "sigma": s}, max_iter=1000)
        ref = multistart_reference(f, t, y, s, lo, hi, starts(y, 10), [True] * 3,
                                   max_nfev=300)
        assert res.success[0], (rid, res.message[0])
        assert res.neg2ll[0] <= ref + TOL_NEG2LL, (rid, res.neg2ll[0], ref)
