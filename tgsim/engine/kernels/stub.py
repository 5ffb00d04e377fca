"""Stand-in card for reading, linting and importing the kernel templates on their own.

The templates in ``templates/`` begin with ``from tgsim.engine.kernels.stub import *`` (or an
import of another template) marked ``@card`` / ``@common`` / ``@simulate``. When
:mod:`tgsim.engine.compile` builds a job module it removes those lines and puts the real card's
generated functions and the other templates in front instead; these definitions (a
one-state exponential card) only give the names a meaning outside a job module.
"""

import numpy as np
from numba import njit

from tgsim.errors import Status

NS = 1
NP = 2
NQ = 1
NQV = 1
LANES = 8
SENS = np.array([1.0])
HAS_CLOSED = True
LOGSPACE = False
FIT_ODE = True
FIT_FAST = True
for _s in Status:
    globals()[f"ST_{_s.name}"] = int(_s.value)


@njit(cache=False)
def card_init(p, y):
    y[0] = p[0]


@njit(cache=False)
def card_rhs(y, p, dy):
    dy[0] = p[1] * y[0]


@njit(cache=False)
def card_prep(p, q):
    q[0] = 0.0


@njit(cache=False)
def card_rhs_log(y, p, q, dy):
    dy[0] = p[1]


@njit(cache=False)
def card_rhs_lanes_lin(Y, P, Q, DY):
    for lane in range(LANES):
        DY[0, lane] = P[1, lane] * Y[0, lane]


@njit(cache=False)
def card_rhs_lanes_log(Y, P, Q, DY):
    for lane in range(LANES):
        DY[0, lane] = P[1, lane]


@njit(cache=False)
def card_closed(t, y0, p, kill, accel, y):
    y[0] = y0[0] * np.exp((accel * p[1] - kill) * t)


@njit(cache=False)
def card_rhs_jac(y, p, dy, jy, jp, want):
    dy[0] = p[1] * y[0]
    jy[0, 0] = p[1]
    if want[1]:
        jp[0, 1] = y[0]


@njit(cache=False)
def card_init_jac(p, jy0):
    jy0[0, 0] = 1.0
    jy0[0, 1] = 0.0


@njit(cache=False)
def card_volume(t, p):
    return p[0] * np.exp(p[1] * t)


@njit(cache=False)
def card_volume_prep(p, q):
    q[0] = 0.0


@njit(cache=False)
def card_volume_vg(t, p, q, g):
    v = p[0] * np.exp(p[1] * t)
    g[0] = v / p[0]
    g[1] = v * t
    return v
