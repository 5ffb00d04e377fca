# Kernel template for tgsim.metastasis: growth of metastatic colonies born at given times.
#
# A colony is the card's tumour started from the initial state that the parameter row
# P[owner] defines (initial_volume = the colony's start volume, e.g. one cell), at its own
# birth time, under the systemic part of the schedule (doses, exposures, accelerations;
# no jumps: surgery and radiotherapy are local to the primary). It reuses integrate_one.
#
# Extinction: a colony whose total volume falls below ``v_ext`` (mm^3) at a grid time is
# eradicated from then on (size 0). ``v_ext = 0`` disables extinction.


import math

import numpy as np
from numba import njit

from tgsim.engine.kernels.templates.simulate import *  # noqa: F403  @simulate


@njit(cache=True, error_model="numpy", nogil=True)
def metastasis_grow_colonies(start, stop, grid, out_idx, births, owner, P, dose, expo, acc, bp,
                             v_ext, v_det, rtol, atol, max_steps, out, first_det, status):
    """Sizes of colonies start..stop-1, born at ``births[m]`` (days); GIL released.

    grid      (G,)   increasing evaluation times (days); the colony is integrated through
                     every grid time after its birth (finer grid = finer extinction and
                     detection timing)
    out_idx   (K,)   indices into grid of the output times
    births    (M,)   birth time of each colony (days)
    owner     (M,)   row of P / schedule arrays for each colony (int64)
    out       (M, K) colony volume (mm^3) at the output times: 0 before birth or after
                     extinction, NaN after an integration failure
    first_det (M,)   first time the colony volume exceeds v_det (log-linear crossing between
                     grid times; inf if never)
    status    (M,)   integrate_one status per colony
    """
    ng = grid.shape[0]
    nk = out_idx.shape[0]
    for m in range(start, stop):
        o = owner[m]
        tb = births[m]
        buf = np.empty((ng, NS))
        jt0 = np.empty(0)
        jf0 = np.empty(0)
        st = integrate_one(grid, tb, P[o], jt0, jf0, dose[o], expo[o], acc[o], 0.0, bp[o], 0,
                           rtol, atol, max_steps, buf)
        status[m] = st
        size = np.zeros(ng)
        dead = False
        fd = np.inf
        y0 = np.zeros(NS)
        card_init(P[o], y0)
        prev = 0.0
        for i in range(NS):
            prev += y0[i]
        prev_t = tb
        for g in range(ng):
            if grid[g] < tb:
                size[g] = 0.0
                continue
            s = 0.0
            for i in range(NS):
                s += buf[g, i]
            if not math.isfinite(s):
                size[g] = np.nan
                continue
            if dead or s < v_ext:
                dead = True
                size[g] = 0.0
                continue
            size[g] = s
            if s > v_det and fd == np.inf:
                fd = grid[g]
                if prev > 0.0 and prev <= v_det and grid[g] > prev_t:
                    # log-linear crossing since the previous time (birth or grid time)
                    f = math.log(v_det / prev) / math.log(s / prev)
                    fd = prev_t + f * (grid[g] - prev_t)
            prev = s
            prev_t = grid[g]
        first_det[m] = fd
        for k in range(nk):
            out[m, k] = size[out_idx[k]]
