"""Forward sensitivities of the ODE fit kernels, checked directly.

* Untreated: the ODE Jacobian dV/dp (forward sensitivities integrated with the state)
  equals the closed form's symbolic gradient, card by card.
* Treated (dose, exposure, surgery, radiotherapy): it equals central finite differences
  of the ODE prediction itself (rtol 1e-12), which differentiate through the jumps.
"""

import numpy as np
import pytest

import tgsim
from tgsim.fitting.likelihood import error_model
from tgsim.fitting.lm import build_setup, predict

T = np.array([[0.5, 3.0, 7.0, 12.0, 20.0, 31.0]])
NU = np.array([T.shape[1]])
T0 = np.array([0.0])


def _p(name):
    m = tgsim.model(name)
    vals = m.parameter_set() if m.parameter_sets else m.defaults()
    return m, np.array([[float(vals[p.name]) for p in m.parameters]])


def _setup(m, solver, schedule=None):
    return build_setup(m, 1, error_model("proportional"), solver=solver, schedule=schedule,
                       t_range=(0.0, float(T.max())), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["exponential", "gompertz", "logistic", "von_bertalanffy",
                                  "power_law"])
def test_ode_sensitivities_equal_closed_form_gradient(name):
    m, P = _p(name)
    Fc, Jc, sc = predict(_setup(m, "closed_form"), T, NU, T0, P, jacobian=True)
    Fo, Jo, so = predict(_setup(m, "ode"), T, NU, T0, P, jacobian=True)
    assert sc[0] == 0 and so[0] == 0
    np.testing.assert_allclose(Fo, Fc, rtol=1e-9)
    free = np.flatnonzero(np.abs(Jc[0]).max(axis=0) > 0)
    assert free.size >= 2
    scale = np.abs(Jc[0][:, free]).max(axis=0)
    np.testing.assert_allclose(Jo[0][:, free] / scale, Jc[0][:, free] / scale, atol=1e-8)


@pytest.mark.parametrize("name", ["gompertz", "exponential_linear", "two_population"])
def test_treated_sensitivities_equal_finite_differences(name):
    m, P = _p(name)
    schedule = [
        tgsim.Chemotherapy(days=[2.0, 9.0], dose=1.0, half_life_days=1.5, kill_rate=0.3),
        tgsim.TargetedTherapy(start=10.0, stop=25.0, kill_rate=0.05, resistance_rate=0.1),
        tgsim.Surgery(day=15.0, resected_fraction=0.4),
        tgsim.Radiotherapy(days=[18.0, 19.0], dose_gy=2.0),
    ]
    setup = _setup(m, "ode", schedule)
    F, J, st = predict(setup, T, NU, T0, P, jacobian=True)
    assert st[0] == 0
    for j in np.flatnonzero(setup.free[: setup.NP]):
        h = 1e-6 * max(abs(P[0, j]), 1e-3)
        Pp, Pm = P.copy(), P.copy()
        Pp[0, j] += h
        Pm[0, j] -= h
        fp = predict(setup, T, NU, T0, Pp)[0]
        fm = predict(setup, T, NU, T0, Pm)[0]
        fd = (fp - fm) / (2 * h)
        scale = max(np.abs(fd).max(), 1e-12)
        np.testing.assert_allclose(J[0, :, j] / scale, fd[0] / scale, atol=2e-6,
                                   err_msg=f"{name} parameter {m.parameters[j].name}")
