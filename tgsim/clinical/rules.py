"""The RECIST 1.1 and iRECIST rule table, vectorised over subjects.

One implementation of the response rules, shared by :func:`tgsim.clinical.recist` and
:func:`tgsim.clinical.irecist` (any number of lesions, one subject per row) and by the
cohort read-outs of :mod:`tgsim.cohort.readouts` (one simulated lesion per subject, millions of
subjects). Each function takes per-assessment *components*, arrays of shape
``(n_subjects, n_assessments)`` with column 0 the baseline, and loops over assessments
only, so a cohort is judged with a few NumPy operations per scan.

Components (what a reader records at each assessment):

``target_sum``
    Sum of the *measured* target diameters (mm; node short axes included).
``target_complete``
    Every target lesion was measured.
``target_normal``
    Every measured target is normal: a non-nodal target at 0 mm, a node < 10 mm.
``nt_state``
    Non-target lesions: :data:`NT_NONE` (none at baseline), :data:`NT_ABSENT` (all absent,
    nodes < 10 mm), :data:`NT_PRESENT`, :data:`NT_UNKNOWN` (one not assessed) or
    :data:`NT_PROGRESSION` (unequivocal progression).
``new_count``, ``new_sum``
    Number of new lesions and the sum of their measured diameters (mm).

The rules and the conventions where the papers leave a choice are listed in the module
documentation of :mod:`tgsim.clinical.recist` and :mod:`tgsim.clinical.irecist`.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid
tumours: revised RECIST guideline (version 1.1). *Eur J Cancer* 2009;45(2):228-247.
Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria for
use in trials testing immunotherapeutics. *Lancet Oncol* 2017;18(3):e143-e152.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._common import at_least, at_most

__all__ = [
    "CODE_LABELS",
    "CR",
    "PR",
    "SD",
    "NN",
    "PD",
    "NE",
    "UPD",
    "CPD",
    "NONE",
    "NT_NONE",
    "NT_ABSENT",
    "NT_PRESENT",
    "NT_UNKNOWN",
    "NT_PROGRESSION",
    "Timepoints",
    "recist_codes",
    "irecist_codes",
    "best_codes",
]

#: RECIST 1.1 thresholds (Eisenhauer 2009, section 4.3.1)
PR_DECREASE: float = 0.30
PD_INCREASE: float = 0.20
PD_ABSOLUTE_MM: float = 5.0
#: short axis (mm) under which a lymph node is normal (Eisenhauer 2009, section 4.3.1)
NODE_NORMAL_MM: float = 10.0

# time-point codes; iRECIST reuses CR..NE as iCR..iNE and adds UPD and CPD
CR, PR, SD, NN, PD, NE, UPD, CPD = range(8)
#: no assessment (padding; or the target component of non-target-only disease)
NONE = -1
#: labels of the codes (NN is non-CR/non-PD)
CODE_LABELS: tuple[str, ...] = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE", "UPD", "CPD")

# non-target states at an assessment
NT_NONE, NT_ABSENT, NT_PRESENT, NT_UNKNOWN, NT_PROGRESSION = range(5)


@dataclass
class Timepoints:
    """RECIST 1.1 time-point codes, each ``(n_subjects, n_assessments)`` int8.

    ``target`` and ``non_target`` are the components (:data:`NONE` where a subject has no
    lesion of that kind, and in column 0), ``overall`` the response of Table 1 (Table 2 for
    non-target-only disease).
    """

    target: NDArray[np.int8]
    non_target: NDArray[np.int8]
    overall: NDArray[np.int8]


def _is_pd(total: NDArray[np.float64], nadir: NDArray[np.float64]) -> NDArray[np.bool_]:
    """>= 20 % over the nadir and >= 5 mm absolute (nadir 0: the 5 mm rule alone)."""
    with np.errstate(invalid="ignore"):
        rel = np.where(nadir > 0, at_least(total, (1.0 + PD_INCREASE) * nadir), total > 0)
        return rel & at_least(total - nadir, PD_ABSOLUTE_MM)


def _overall(t: NDArray, nt: NDArray, new: NDArray) -> NDArray[np.int8]:
    """Table 1 of Eisenhauer 2009; Table 2 where there is no target (``t == NONE``)."""
    no_target = t == NONE
    nt_cr_or_none = (nt == CR) | (nt == NONE)
    out = np.select(
        [
            (t == PD) | (nt == PD) | new,
            no_target & (nt == NE),
            no_target & (nt == CR),
            no_target,
            t == NE,
            (t == CR) & nt_cr_or_none,
            (t == CR) | (t == PR),  # CR with non-targets present or not evaluated: PR
        ],
        [PD, NE, CR, NN, NE, CR, PR],
        default=SD,
    )
    return out.astype(np.int8)


def _non_target(st: NDArray, had_cr: NDArray[np.bool_]) -> NDArray:
    """Non-target component: a lesion present again after an overall CR is PD."""
    return np.select(
        [
            st == NT_PROGRESSION,
            st == NT_UNKNOWN,
            st == NT_ABSENT,
            (st == NT_PRESENT) & had_cr,
            st == NT_PRESENT,
        ],
        [PD, NE, CR, PD, NN],
        default=NONE,
    )


def recist_codes(
    target_sum: ArrayLike,
    target_complete: ArrayLike,
    target_normal: ArrayLike,
    nt_state: ArrayLike | None,
    new_count: ArrayLike | None,
    *,
    has_targets: ArrayLike,
    valid: ArrayLike | None = None,
) -> Timepoints:
    """RECIST 1.1 time-point responses from the components (see the module docs).

    Parameters
    ----------
    target_sum, target_complete, target_normal, nt_state, new_count
        Components, each ``(n_subjects, n_assessments)``; column 0 is the baseline.
        ``nt_state=None``: no non-target lesions; ``new_count=None``: no new lesions.
    has_targets
        ``(n_subjects,)``: the subject has at least one measurable target lesion.
    valid
        ``(n_subjects, n_assessments)``: the assessment exists (False for padding).

    Returns
    -------
    Timepoints
        Target, non-target and overall codes; :data:`NONE` in column 0 and where not
        ``valid``.

    Notes
    -----
    Target PD is a sum >= 20 % and >= 5 mm over the nadir (the smallest earlier complete
    sum, baseline included), or, after a target CR, any target not normal (a non-nodal
    target > 0 mm or a node >= 10 mm: the Table 3 footnote). Non-target PD is unequivocal
    progression, or a non-target lesion present again after an overall CR (the same
    footnote). A new lesion is PD.
    """
    s = np.asarray(target_sum, dtype=np.float64)
    complete = np.asarray(target_complete, dtype=bool)
    normal = np.asarray(target_normal, dtype=bool)
    n, m = s.shape
    nts = None if nt_state is None else np.broadcast_to(np.asarray(nt_state), (n, m))
    new = np.zeros((n, m), dtype=bool) if new_count is None else np.asarray(new_count) > 0
    has_t = np.asarray(has_targets, dtype=bool)
    ok_rows = np.ones((n, m), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    tgt = np.full((n, m), NONE, dtype=np.int8)
    ntc = np.full((n, m), NONE, dtype=np.int8)
    over = np.full((n, m), NONE, dtype=np.int8)
    base = s[:, 0]
    nadir = base.copy()
    had_target_cr = np.zeros(n, dtype=bool)
    had_cr = np.zeros(n, dtype=bool)
    for j in range(1, m):
        v = ok_rows[:, j]
        x, ok, nrm = s[:, j], complete[:, j], normal[:, j]
        pd_t = _is_pd(x, nadir) | (had_target_cr & ~nrm)
        with np.errstate(invalid="ignore"):
            pr = at_most(x, (1.0 - PR_DECREASE) * base)
        t = np.select([pd_t, ~ok, nrm, pr], [PD, NE, CR, PR], default=SD)
        t = np.where(has_t & v, t, NONE)
        if nts is None:  # no non-target lesions anywhere
            nt = np.full(n, NONE, dtype=np.int8)
        else:
            nt = _non_target(nts[:, j], had_cr)
        nt = np.where(v, nt, NONE)
        o = np.where(v, _overall(t, nt, new[:, j]), NONE)
        tgt[:, j], ntc[:, j], over[:, j] = t, nt, o
        nadir = np.where(v & ok & has_t, np.fmin(nadir, x), nadir)
        had_target_cr |= t == CR
        had_cr |= o == CR
    return Timepoints(tgt, ntc, over)


def irecist_codes(
    days: ArrayLike,
    tp: Timepoints,
    target_sum: ArrayLike,
    target_complete: ArrayLike,
    new_count: ArrayLike,
    new_sum: ArrayLike,
    *,
    confirm_days: float,
) -> NDArray[np.int8]:
    """iRECIST time-point responses from RECIST 1.1 ones (Seymour 2017).

    Parameters
    ----------
    days
        ``(n_subjects, n_assessments)`` or ``(n_assessments,)`` assessment days (NaN for
        padding).
    tp
        The RECIST 1.1 time points of :func:`recist_codes`.
    target_sum, target_complete, new_count, new_sum
        Components as for :func:`recist_codes`.
    confirm_days
        Minimum interval (days) from iUPD to the assessment that confirms it.

    Returns
    -------
    ndarray of int8
        Codes CR, PR, SD, NN, NE (iCR ... iNE), UPD and CPD; every assessment after the
        first CPD is CPD; :data:`NONE` in column 0 and where ``tp.overall`` is NONE.

    Notes
    -----
    The first RECIST PD is iUPD and records which categories caused it and the target sum,
    new-lesion sum and count. A later assessment at least ``confirm_days`` on confirms it
    (iCPD) on further increase (Seymour 2017, Table 2): a target sum >= 5 mm over the iUPD
    sum when targets caused iUPD, or target PD when they did not; non-target PD; a
    new-lesion sum >= 5 mm over the iUPD one or more new lesions (any new lesion when none
    caused iUPD). A target sum that is incomplete at iUPD or now is only a lower bound and
    confirms nothing through the 5 mm rule. An iCR, iPR, iSD or non-iCR/non-iUPD resets.
    """
    r = tp.overall
    n, m = r.shape
    t_days = np.broadcast_to(np.asarray(days, dtype=np.float64), (n, m))
    s = np.asarray(target_sum, dtype=np.float64)
    complete = np.asarray(target_complete, dtype=bool)
    cnt = np.asarray(new_count, dtype=np.int64)
    nsum = np.asarray(new_sum, dtype=np.float64)
    out = np.full((n, m), NONE, dtype=np.int8)
    upd = np.zeros(n, dtype=bool)
    done = np.zeros(n, dtype=bool)
    ref_day = np.full(n, np.nan)
    ref_t = np.zeros(n, dtype=bool)
    ref_new = np.zeros(n, dtype=bool)
    ref_sum = np.full(n, np.nan)  # NaN when incomplete at iUPD
    ref_nsum = np.zeros(n)
    ref_cnt = np.zeros(n, dtype=np.int64)
    for j in range(1, m):
        rj = r[:, j]
        v = rj != NONE
        with np.errstate(invalid="ignore"):
            by_target = np.where(
                ref_t,
                complete[:, j] & at_least(s[:, j] - ref_sum, PD_ABSOLUTE_MM),
                tp.target[:, j] == PD,
            )
            by_new = np.where(
                ref_new,
                at_least(nsum[:, j] - ref_nsum, PD_ABSOLUTE_MM) | (cnt[:, j] > ref_cnt),
                cnt[:, j] > 0,
            )
            late = at_least(t_days[:, j] - ref_day, confirm_days)
        further = by_target | (tp.non_target[:, j] == PD) | by_new
        confirm = v & upd & ~done & late & further
        start = v & ~upd & ~done & (rj == PD)
        reset = v & upd & ~done & ~confirm & (rj >= CR) & (rj <= NN)
        stay = v & upd & ~done & ~confirm & ~reset
        code = rj.copy()
        code[start | stay] = UPD
        code[confirm | (done & v)] = CPD
        out[:, j] = code
        if start.any():
            ref_day[start] = t_days[start, j]
            ref_t[start] = tp.target[start, j] == PD
            ref_new[start] = cnt[start, j] > 0
            ref_sum[start] = np.where(complete[start, j], s[start, j], np.nan)
            ref_nsum[start] = nsum[start, j]
            ref_cnt[start] = cnt[start, j]
        upd = (upd | start) & ~reset
        done |= confirm
    return out


def _first(mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Index of the first True per row; -1 where none."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], -1, dtype=np.int64)
    return np.where(mask.any(axis=1), np.argmax(mask, axis=1), -1)


def _confirmed(c, t, start, end, between, confirm_days) -> NDArray[np.int64]:
    """Index of the first assessment in ``start`` confirmed by one in ``end`` at least
    ``confirm_days`` later with only ``between`` codes in between; -1 where none."""
    n, m = c.shape
    st, en, bw = np.isin(c, start), np.isin(c, end), np.isin(c, between)
    got = np.full(n, -1, dtype=np.int64)
    for i in range(m):
        alive = st[:, i] & (got < 0)
        hit = np.zeros(n, dtype=bool)
        for j in range(i + 1, m):
            with np.errstate(invalid="ignore"):
                hit |= alive & en[:, j] & at_least(t[:, j] - t[:, i], confirm_days)
            alive &= bw[:, j] & ~hit
        got = np.where(hit, i, got)
    return got


def best_codes(
    codes: ArrayLike,
    days_after_baseline: ArrayLike,
    *,
    non_target_only: ArrayLike | bool = False,
    confirm: bool = False,
    confirm_days: float = 28.0,
    min_sd_days: float = 0.0,
) -> tuple[NDArray[np.int8], NDArray[np.int64]]:
    """Best overall response per subject, and the index of the assessment it was reached.

    Parameters
    ----------
    codes
        ``(n_subjects, n_assessments)`` time-point codes without the baseline column
        (:data:`NONE` for padding).
    days_after_baseline
        ``(n_subjects, n_assessments)`` or ``(n_assessments,)`` days since baseline.
    non_target_only
        Per subject: no target lesion, so the best of CR (unconfirmed) and non-CR/non-PD
        is non-CR/non-PD, never SD (Eisenhauer 2009, Table 2).
    confirm, confirm_days, min_sd_days
        CR (PR) needs a CR (CR or PR) at least ``confirm_days`` later with only CR (CR,
        PR) or NE in between; an unconfirmed CR/PR counts as SD (non-CR/non-PD). SD and
        non-CR/non-PD count only from ``min_sd_days`` after baseline.

    Returns
    -------
    (codes, index)
        Best response code (CR, PR, SD, NN, PD; for iRECIST also UPD and CPD; NE when
        nothing counts) and the index of the assessment (-1 for NE).

    Notes
    -----
    Assessments after the first PD (iRECIST: CPD) are ignored; UPD is not terminal and is
    the best response only when nothing better was reached and progression was never
    confirmed.
    """
    c = np.asarray(codes).astype(np.int64)
    n, m = c.shape
    t = np.broadcast_to(np.asarray(days_after_baseline, dtype=np.float64), (n, m))
    terminal = (c == PD) | (c == CPD)
    c = np.where(np.cumsum(terminal, axis=1) - terminal > 0, NONE, c)
    if confirm:
        cr_at = _confirmed(c, t, (CR,), (CR,), (CR, NE), confirm_days)
        pr_at = _confirmed(c, t, (CR, PR), (CR, PR), (CR, PR, NE), confirm_days)
    else:
        cr_at, pr_at = _first(c == CR), _first(c == PR)
    with np.errstate(invalid="ignore"):
        sd_at = _first(np.isin(c, (CR, PR, SD, NN)) & at_least(t, min_sd_days))
    nt_only = np.broadcast_to(np.asarray(non_target_only, dtype=bool), (n,))
    pd_at, cpd_at, upd_at = _first(c == PD), _first(c == CPD), _first(c == UPD)
    choices = [
        (cr_at >= 0, CR, cr_at),
        (pr_at >= 0, PR, pr_at),
        ((sd_at >= 0) & nt_only, NN, sd_at),
        (sd_at >= 0, SD, sd_at),
        (pd_at >= 0, PD, pd_at),
        (cpd_at >= 0, CPD, cpd_at),
        (upd_at >= 0, UPD, upd_at),
    ]
    best = np.select([k for k, _, _ in choices], [b for _, b, _ in choices], default=NE)
    at = np.select([k for k, _, _ in choices], [a for _, _, a in choices], default=-1)
    return best.astype(np.int8), at.astype(np.int64)
