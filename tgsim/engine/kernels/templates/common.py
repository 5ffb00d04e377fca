# Kernel template shared by every job (simulate, fit, metastasis): the Dormand-Prince
# tableau, treatment rates and jumps. A job module is the card's generated functions,
# then this file, then the job's own template (see tgsim.engine.compile and README.md here).
#
# The card part defines NS (number of tumour states), NP (number of parameters), SENS
# (kill sensitivity per state) and the njit functions
#   card_init(p, y)                         initial tumour states from parameters
#   card_rhs(y, p, dy)                      untreated growth term g(y)
#   card_closed(t, y0, p, kill, accel, y)   closed form from y0 after time t (if any)
#   card_volume(t, p)                       untreated closed-form volume
#   card_volume_prep(p, q), card_volume_vg(t, p, q, g)  its parameter-only terms (NQV of
#                                           them), then volume and gradient at t
#   card_prep(p, q), card_rhs_log(u, p, q, du)  the growth term in log-states u = log y
#                                           (du_i = g_i / y_i; q: parameter-only terms, NQ
#                                           of them); LOGSPACE says whether it is cheaper
#   card_rhs_lanes_lin(Y, P, Q, DY), card_rhs_lanes_log(...)  both forms for LANES
#                                           subjects at once, arrays indexed [slot, lane]
#
# The region between the "per-form integrator" markers is compiled twice: its suffix becomes
# "lin" (stepping the states) and "log" (stepping their logs), see tgsim.engine.compile.
#
# Arrays only: every argument is a contiguous float64 array or a scalar; kernels write
# in place and return an int status (see tgsim.errors.Status); they never raise.
#
# Treatment encoding, per subject (rows padded with +inf times and zero effects):
#   jt[J], jf[J]      jump times and factors: jf >= 0 removes that fraction of every state
#                     (surgery: factor 1 - resected fraction, whatever the sensitivity);
#                     jf < 0 is a cell kill with surviving fraction |jf| for fully
#                     sensitive cells, acting on state i as |jf| ** SENS[i] (radiotherapy)
#   dose[D, 5]        bolus doses: time, amount, elimination rate (1/day), kill rate,
#                     hypothesis (0 = log-kill, 1 = Norton-Simon)
#   expo[E, 5]        exposures on [start, stop): start, stop, kill rate, resistance
#                     rate, infiltration rate (swelling source)
#   acc[A, 3]         accelerations: onset, factor, ramp duration
#   clear             swelling clearance rate (1/day)
#   bp[B]             sorted breakpoints (every event time); integration never steps over one
#
# Piecewise switches (a dose given, an exposure on, an onset passed) are decided at the
# start of the current segment ``tseg``, so the end-point evaluation of a step that lands
# on a breakpoint still belongs to the interval it closes (half-open [start, stop)).


from numba import njit

from tgsim.engine.kernels.static import (  # noqa: F401
    _norm,
    dose_groups,
    first_step,
    record_until,
    segment_end,
    step_to,
    treatment_rates,
)
from tgsim.engine.kernels.stub import *  # noqa: F403  @card (the card functions, ST_* codes)

NT = NS + 1  # state slots: tumour states plus the swelling compartment
ST_NOT_LOG = -1  # internal: the subject cannot be integrated in log-states

# Dormand-Prince 5(4) tableau (Dormand & Prince 1980; Hairer, Norsett & Wanner, vol. I)
A21 = 1.0 / 5.0
A31 = 3.0 / 40.0
A32 = 9.0 / 40.0
A41 = 44.0 / 45.0
A42 = -56.0 / 15.0
A43 = 32.0 / 9.0
A51 = 19372.0 / 6561.0
A52 = -25360.0 / 2187.0
A53 = 64448.0 / 6561.0
A54 = -212.0 / 729.0
A61 = 9017.0 / 3168.0
A62 = -355.0 / 33.0
A63 = 46732.0 / 5247.0
A64 = 49.0 / 176.0
A65 = -5103.0 / 18656.0
A71 = 35.0 / 384.0
A73 = 500.0 / 1113.0
A74 = 125.0 / 192.0
A75 = -2187.0 / 6784.0
A76 = 11.0 / 84.0
C2 = 0.2
C3 = 0.3
C4 = 0.8
C5 = 8.0 / 9.0
E1 = 71.0 / 57600.0
E3 = -71.0 / 16695.0
E4 = 71.0 / 1920.0
E5 = -17253.0 / 339200.0
E6 = 22.0 / 525.0
E7 = -1.0 / 40.0
# dense output (Hairer's CONTD5 coefficients)
D1 = -12715105075.0 / 11282082432.0
D3 = 87487479700.0 / 32700410799.0
D4 = -10690763975.0 / 1880347072.0
D5 = 701980252875.0 / 199316789632.0
D6 = -1453857185.0 / 822651844.0
D7 = 69997945.0 / 29380423.0


@njit(cache=True, error_model="numpy", inline="always")
def apply_treatment(y, dy, a, lk, ns, infil, clear, nsw):
    """Turn the growth term in ``dy`` into the treated right-hand side, in place."""
    tot = 0.0
    for i in range(NS):
        s = SENS[i]
        dy[i] = a * (1.0 - ns * s) * dy[i] - lk * s * y[i]
        tot += y[i]
    if nsw > 0:
        dy[NS] = infil * tot - clear * y[NS]


@njit(cache=True, error_model="numpy", inline="always")
def jump_factor(f, i):
    """Factor of jump ``f`` on tumour state ``i``: a removal (f >= 0) acts on every state,
    a cell kill (f < 0, surviving fraction |f|) on each state by its sensitivity."""
    if f >= 0.0:
        return f
    s = SENS[i]
    if s == 1.0:
        return -f
    if s == 0.0:
        return 1.0
    return (-f) ** s


@njit(cache=True, error_model="numpy")
def apply_jumps(y, jt, jf, ij, at, nblocks, stride):
    """Apply the jumps at time ``at`` (surgery, radiotherapy) and pass over earlier ones.

    Multiplies the tumour states ``y[stride * c + i]`` (``c < nblocks``, ``i < NS``: the
    state and, in the fitting kernels, its sensitivity blocks) by each jump's factor on
    that state (``jump_factor``) and returns the index of the first jump after ``at``.
    """
    nj = jt.shape[0]
    while ij < nj and jt[ij] <= at:
        if jt[ij] == at:
            for i in range(NS):
                fi = jump_factor(jf[ij], i)
                for c in range(nblocks):
                    y[stride * c + i] *= fi
        ij += 1
    return ij
