r"""Stochastic spread: Poisson emission of individual colonies, replicated.

For each primary and replicate the number of colonies emitted on the simulated interval
is Poisson with mean :math:`\Lambda(T)` (the cumulative intensity, see
:mod:`tgsim.metastasis.seeding`), and their birth times are independent draws from the
distribution :math:`\Lambda(\tau)/\Lambda(T)`, sampled by inverting the analytic
:math:`\Lambda` (the inverse-of-the-cumulative-intensity construction of an inhomogeneous
Poisson process; Cinlar 1975, Lewis & Shedler 1979). Each shed bolus adds a Poisson number
of colonies born at the operation day. Each colony then grows from one cell: untreated
colonies read the tabulated age curve :math:`F(t - \tau)` (log-linear interpolation),
treated colonies are integrated individually from their birth.

Replicates give means, standard errors (sd / sqrt(R)) and the empirical probability of at
least one colony per class. Random numbers come from ``numpy.random.default_rng(seed)``,
drawn in a fixed order, so a seed reproduces a run.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import TgsimError
from . import _kernels as K
from .colonies import ColonyGrowth, age_table, grow
from .deterministic import Counts, birth_grid
from .seeding import Intensity

__all__ = ["sample_counts"]


def sample_counts(intensity: Intensity, growth: ColonyGrowth, t: NDArray[np.float64],
                  vol_itc: float, vol_micro: float, v_det: float, edges: NDArray[np.float64],
                  *, replicates: int, seed: int | None, v_ext: float, age_points: int,
                  birth_points: int, rtol: float, atol: float, max_steps: int,
                  max_colonies: int) -> tuple[Counts, dict[str, NDArray[np.float64]]]:
    """Replicated colony counts. Returns a :class:`Counts` (with ``p_any`` and ``se``)
    and the histogram mean (key ``hist``) and class means (``classes``)."""
    I = intensity
    n = I.n
    R = int(replicates)
    rng = np.random.default_rng(seed)
    tend = float(t[-1])
    lam_end = I.cumulative(np.array([tend]))[:, 0]
    cont_end = I.continuous(np.array([tend]))[:, 0]
    expected = R * lam_end
    if np.any(expected > max_colonies):
        i = int(np.argmax(expected))
        raise TgsimError(
            f"primary {i} is expected to emit {expected[i]:.3g} colonies over {R} replicates, "
            f"more than max_colonies={max_colonies:g}; use mode='deterministic', fewer "
            "replicates or a larger max_colonies")

    untreated = not growth.treated
    if untreated:
        ages, logF, ok = age_table(growth, float(t[-1] - I.w[0]), age_points)
        untreated = bool(np.all(ok))
    if untreated:
        A_det = np.empty((logF.shape[0], 1))
        K.invert_log_table(ages, logF, np.array([np.log(v_det)]), A_det)
        A_det = A_det[:, 0]
        method = "age"
    else:
        packed = growth.schedule.pack(n, float(I.w[0]), float(t[-1]), warn=False)
        grid = birth_grid(I, t, birth_points, packed.bp)
        out_idx = np.searchsorted(grid, t).astype(np.int64)
        method = "characteristics"

    Kt = t.size
    sums = np.zeros((n, Kt, 5))
    sumsq = np.zeros((n, Kt, 5))
    anyc = np.zeros((n, Kt, 5))
    bsum = np.zeros((n, Kt))
    bsq = np.zeros((n, Kt))
    B = edges.size - 1
    hist = np.zeros((n, Kt, B))
    first_time = np.full((n, R), np.inf)
    status = np.zeros(n, dtype=np.int8)
    thr = np.array([vol_itc, vol_micro])

    # chunk primaries so that one chunk holds about max_colonies / 4 colonies
    budget = max(1.0, max_colonies / 4.0)
    starts = [0]
    acc = 0.0
    for i in range(n):
        if acc > 0 and acc + expected[i] > budget:
            starts.append(i)
            acc = 0.0
        acc += expected[i]
    starts.append(n)
    atom_nodes = np.flatnonzero(I.atoms.any(axis=0) & (I.w <= tend))
    for c0, c1 in zip(starts[:-1], starts[1:], strict=True):
        rows = np.arange(c0, c1)
        nc = rows.size
        Cend = cont_end[rows]
        ncont = rng.poisson(np.repeat(Cend, R)).reshape(nc, R)
        natom = [rng.poisson(np.repeat(I.atoms[rows, j], R)).reshape(nc, R)
                 for j in atom_nodes]
        counts = ncont + (np.sum(natom, axis=0) if natom else 0)
        offsets = np.concatenate([[0], np.cumsum(counts.ravel())]).astype(np.int64)
        M = int(offsets[-1])
        births = np.empty(M)
        owner = np.empty(M, dtype=np.int64)
        # continuous births first within each group, then each bolus
        pos = offsets[:-1].copy()
        grp_owner = np.repeat(rows, R)
        nflat = ncont.ravel()
        idx = np.repeat(pos, nflat) + _ranks(nflat)
        u = rng.uniform(0.0, 1.0, size=idx.size) * np.repeat(np.repeat(Cend, R), nflat)
        ow = np.repeat(grp_owner, nflat).astype(np.int64)
        tb = np.empty(idx.size)
        K.sample_births(I.w, I.C, I.amp, I.kk, ow, u, tb)
        births[idx] = tb
        owner[idx] = ow
        pos += nflat
        for j, na in zip(atom_nodes, natom, strict=True):
            nf = na.ravel()
            idx = np.repeat(pos, nf) + _ranks(nf)
            births[idx] = I.w[j]
            owner[idx] = np.repeat(grp_owner, nf)
            pos += nf
        if untreated:
            X = np.empty((M, Kt))
            row_of = owner if logF.shape[0] > 1 else np.zeros(M, dtype=np.int64)
            K.interp_log_table(ages, logF, row_of, births, t, X)
            ad = A_det[row_of] if A_det.size > 1 else np.full(M, A_det[0])
            fdet = births + ad
        else:
            X, fdet, st = grow(growth, packed, grid, out_idx, births, owner, v_ext=v_ext,
                               v_det=v_det, rtol=rtol, atol=atol, max_steps=max_steps)
            for i in rows:
                bad = st[owner == i] != 0
                if bad.any():
                    status[i] = st[owner == i][bad][0]
        # first detection per replicate (min over its colonies)
        fd = np.full(nc * R, np.inf)
        grp = np.repeat(np.arange(nc * R), counts.ravel())
        if M:
            np.minimum.at(fd, grp, fdet)
        first_time[rows] = np.where(fd <= tend, fd, np.inf).reshape(nc, R)
        firstk = np.empty(nc * R, dtype=np.int64)
        s_, q_, a_ = np.zeros((nc, Kt, 5)), np.zeros((nc, Kt, 5)), np.zeros((nc, Kt, 5))
        b_, bq_, h_ = np.zeros((nc, Kt)), np.zeros((nc, Kt)), np.zeros((nc, Kt, B))
        K.tally(np.ascontiguousarray(X), offsets, R, thr, float(v_det), edges, s_, q_, a_,
                b_, bq_, h_, firstk)
        sums[rows], sumsq[rows], anyc[rows] = s_, q_, a_
        bsum[rows], bsq[rows], hist[rows] = b_, bq_, h_

    mean = sums / R
    var = np.maximum(sumsq / R - mean**2, 0.0) * (R / max(R - 1, 1))
    se = np.sqrt(var / R)
    bmean = bsum / R
    bse = np.sqrt(np.maximum(bsq / R - bmean**2, 0.0) * (R / max(R - 1, 1)) / R)
    # above-threshold layout shared with the deterministic path: [0 (all), itc, micro, det]
    above = np.stack([mean[..., 4], mean[..., 1] + mean[..., 2], mean[..., 2], mean[..., 3]],
                     axis=2)
    med = np.median(first_time, axis=1)
    ttd = np.where(np.isfinite(med), med, np.nan)
    cum = np.mean(first_time[:, None, :] <= t[None, :, None], axis=2)
    counts = Counts(above=above, burden=bmean, time_to_detection=ttd, p_detected=cum[:, -1],
                    cum_detected=cum, status=status, method=method, p_any=anyc / R,
                    se={"colonies": se[..., :3], "detectable": se[..., 3],
                        "total_colonies": se[..., 4], "burden": bse})
    extra = {"hist": hist / R, "classes": mean[..., :3]}
    return counts, extra


def _ranks(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """0..c-1 for each entry c of ``counts``, concatenated."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total, dtype=np.int64) - starts
