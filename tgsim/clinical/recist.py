"""RECIST 1.1: response of solid tumours from lesion diameters.

Diameters in **mm**, days in **days**. The rules encoded (Eisenhauer et al. 2009):

* **Baseline** is the subject's first assessment, or with ``treatment_day`` the last
  assessment on or before it (earlier scans are pre-baseline: kept for growth kinetics,
  not assessed).
* **Target lesions**: at most 5 in all and 2 per organ, measurable at baseline: longest
  diameter >= 10 mm, or short axis >= 15 mm for a lymph node. A baseline target under
  these limits is non-measurable: it is assessed as a non-target lesion (with a
  :class:`~tgsim.errors.TgsimWarning`); targets beyond 5 (or 2 per organ) are likewise
  moved to non-target, keeping the largest.
* **Sum** of target diameters (node short axes included). Non-target and new lesions are
  never added to it.
* Target response: **CR** all non-node targets gone (0 mm) and every target node < 10 mm;
  **PR** >= 30 % decrease from the baseline sum; **PD** >= 20 % increase over the nadir
  (smallest previous complete sum, baseline included) *and* >= 5 mm absolute increase, or,
  after a target CR, a target back (a non-nodal target > 0 mm, a node >= 10 mm short
  axis); **SD** otherwise; **NE** when a target lesion was not assessed, unless the
  measured ones already give PD.
* Non-target response: **CR** all absent (nodes < 10 mm); **PD** unequivocal progression
  (status ``progression``), or a non-target lesion present again after an overall CR;
  **NE** one not assessed; otherwise non-CR/non-PD.
* A **new lesion** is PD.
* Overall response per Table 1 of Eisenhauer 2009; a subject without a measurable target
  lesion is assessed on non-target lesions alone (Table 2: CR, non-CR/non-PD, PD, NE).
* **Best overall response** (BOR): the best response until the first PD. With
  ``confirm=True`` CR and PR must be confirmed by a later assessment at least
  ``confirm_days`` (4 weeks) later; an unconfirmed CR/PR counts as SD, or as
  non-CR/non-PD for non-target-only disease (never SD: Table 2). SD and non-CR/non-PD
  count only when reached at least ``min_sd_days`` after baseline (protocol-defined;
  default 0).

The rules are applied by :mod:`tgsim.clinical.rules`, which the cohort read-outs of
:mod:`tgsim.cohort.readouts` share.

Conventions
-----------
Where the paper leaves a choice (the README's "Conventions" list says the same):

1. Thresholds use a relative tolerance of 1e-9: exactly -30 % is PR, exactly +20 % and
   +5 mm is PD.
2. A missing target gives NE unless the measured targets alone give PD.
3. Node short axes stay in the sum when normal, so two normal nodes can still give
   sum-based PD (15 + 15 -> 4 + 4 -> 8 + 8 mm).
4. Disease back after a CR is PD (footnote to Table 3): a target after a *target* CR (the
   footnote's letter says an overall CR; the lesion measured gone is the one back), a
   non-target lesion after an overall CR.
5. Non-target lesions progress only through ``status=progression`` or point 4; a
   non-measurable baseline target is followed as a non-target lesion, absent at 0 mm (a
   node < 10 mm).
6. Non-target-only disease has no SD (Table 2): an unconfirmed CR is non-CR/non-PD.
7. Confirmation needs every assessment up to one at least ``confirm_days`` later to be
   CR (CR or PR) or NE; a CR then a PR >= 4 weeks later is a confirmed PR (Table 3 makes
   it SD because its PR means disease came back, which is PD here by point 4).
8. ``min_sd_days`` applies to non-CR/non-PD as to SD.

References
----------
Eisenhauer EA, Therasse P, Bogaerts J, et al. New response evaluation criteria in solid
tumours: revised RECIST guideline (version 1.1). *Eur J Cancer* 2009;45(2):228-247.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, TgsimWarning
from . import rules
from .lesiondata import NODE_NORMAL_MM, WHERE, as_lesion_table

__all__ = [
    "MEASURABLE_MM",
    "MEASURABLE_NODE_MM",
    "MAX_TARGETS",
    "MAX_TARGETS_PER_ORGAN",
    "PR_DECREASE",
    "PD_INCREASE",
    "PD_ABSOLUTE_MM",
    "CONFIRM_DAYS",
    "RECIST_RESPONSES",
    "ResponseAssessment",
    "recist",
    "target_sums",
]

#: Smallest measurable longest diameter at baseline (mm).
MEASURABLE_MM: float = 10.0
#: Smallest measurable short axis of a lymph node at baseline (mm).
MEASURABLE_NODE_MM: float = 15.0
#: Most target lesions in all, and per organ.
MAX_TARGETS: int = 5
MAX_TARGETS_PER_ORGAN: int = 2
#: PR: decrease of at least 30 % from the baseline sum.
PR_DECREASE: float = 0.30
#: PD: increase of at least 20 % over the nadir ...
PD_INCREASE: float = 0.20
#: ... and of at least 5 mm.
PD_ABSOLUTE_MM: float = 5.0
#: Minimum interval for confirming CR/PR (4 weeks).
CONFIRM_DAYS: float = 28.0

#: Time-point and best-response labels of RECIST 1.1.
RECIST_RESPONSES: tuple[str, ...] = ("CR", "PR", "SD", "non-CR/non-PD", "PD", "NE")

TreatmentDay = float | Mapping[str, float] | None


# ------------------------------------------------------------------ per-subject data


@dataclass
class _Subject:
    subject: str
    baseline_day: float
    days: np.ndarray  # on-study assessment days, baseline first
    pre_days: np.ndarray  # pre-baseline days
    target_ids: list[str]
    target_node: np.ndarray
    target_d: np.ndarray  # (days, targets), NaN = not assessed
    pre_target_d: np.ndarray  # (pre_days, targets)
    nt_ids: list[str]
    nt_status: np.ndarray  # (days, non-targets) of str, "" = not assessed
    new_count: np.ndarray  # (days,)
    new_sum: np.ndarray  # (days,) mm, measured new lesions
    new_in_involved_organ: list[int | None]  # most new lesions in one involved organ
    new_organ: list[bool | None]  # a new lesion in an organ not involved at baseline
    first_row: str


def _treatment_day_for(treatment_day: TreatmentDay, subject: str) -> float | None:
    if treatment_day is None:
        return None
    if isinstance(treatment_day, Mapping):
        if subject not in treatment_day:
            raise DataError(f"`treatment_day` has no entry for subject {subject!r}")
        value = treatment_day[subject]
    else:
        value = treatment_day
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`treatment_day` must be a number of days; got {value!r}") from exc
    if not np.isfinite(v):
        raise DataError(f"`treatment_day` must be finite; got {value!r}")
    return v


def _prepare(
    table: pd.DataFrame, treatment_day: TreatmentDay, *, skip_missing_baseline: bool = False
) -> tuple[list[_Subject], dict[str, str]]:
    """Per-subject arrays; notes on reclassified lesions are issued as one warning.

    Returns the subjects and, with ``skip_missing_baseline``, the subjects skipped for
    want of a baseline (subject -> reason) instead of raising.
    """
    cols = {
        "subject": table["subject"].astype(str).tolist(),
        "day": table["day"].to_numpy(dtype=np.float64),
        "lesion": table["lesion"].astype(str).tolist(),
        "diameter_mm": table["diameter_mm"].to_numpy(dtype=np.float64),
        "kind": table["kind"].tolist(),
        "status": table["status"].tolist(),
        "organ": table["organ"].tolist(),
        "is_node": table["is_node"].to_numpy(dtype=bool),
        WHERE: table[WHERE].tolist(),
    }
    groups: dict[str, list[int]] = {}
    for i, subj in enumerate(cols["subject"]):
        groups.setdefault(subj, []).append(i)
    subjects: list[_Subject] = []
    notes: list[str] = []
    skipped: dict[str, str] = {}
    for subject, idx in groups.items():
        rows = _Rows(
            day=cols["day"][idx],
            lesion=[cols["lesion"][i] for i in idx],
            diameter=cols["diameter_mm"][idx],
            kind=[cols["kind"][i] for i in idx],
            status=[cols["status"][i] for i in idx],
            organ=[cols["organ"][i] for i in idx],
            node=cols["is_node"][idx],
            where=[cols[WHERE][i] for i in idx],
        )
        try:
            subjects.append(_prepare_one(subject, rows, treatment_day, notes))
        except _NoBaseline as exc:
            if not skip_missing_baseline:
                raise DataError(str(exc)) from None
            skipped[subject] = str(exc)
    if notes:
        more = f" (and {len(notes) - 3} more)" if len(notes) > 3 else ""
        warnings.warn(
            f"{len(notes)} baseline target lesion(s) reassessed as non-target: "
            + "; ".join(notes[:3])
            + more,
            TgsimWarning,
            stacklevel=4,
        )
    return subjects, skipped


class _NoBaseline(Exception):
    pass


@dataclass
class _Rows:
    """One subject's rows, as plain arrays and lists (sorted by day)."""

    day: np.ndarray
    lesion: list[str]
    diameter: np.ndarray
    kind: list[str]
    status: list[str]
    organ: list[str]
    node: np.ndarray
    where: list[str]


def _prepare_one(subject: str, g: _Rows, treatment_day: TreatmentDay, notes: list[str]) -> _Subject:
    all_days = np.unique(g.day)
    base_day = _baseline_day(subject, g, treatment_day, all_days)
    info, base_d, first_on = _lesion_info(subject, g, base_day)
    targets, nontargets = _baseline_lesions(subject, info, base_d, first_on, base_day)
    targets, derived_nt = _choose_targets(subject, targets, nontargets, info, base_d, notes)

    days = all_days[all_days >= base_day]
    pre_days = all_days[all_days < base_day]
    grid = _Assessments.empty(days, pre_days, len(targets), len(nontargets))
    _fill_assessments(grid, g, info, targets, nontargets, derived_nt)
    new_in_involved, new_organ = _new_lesion_organs(grid.new_lists, info, targets, nontargets)
    return _Subject(
        subject=subject,
        baseline_day=base_day,
        days=days,
        pre_days=pre_days,
        target_ids=targets,
        target_node=np.array([info[x]["node"] for x in targets], dtype=bool),
        target_d=grid.target_d,
        pre_target_d=grid.pre_target_d,
        nt_ids=nontargets,
        nt_status=grid.nt_status,
        new_count=grid.new_count,
        new_sum=grid.new_sum,
        new_in_involved_organ=new_in_involved,
        new_organ=new_organ,
        first_row=g.where[0],
    )


def _baseline_day(
    subject: str, g: _Rows, treatment_day: TreatmentDay, all_days: np.ndarray
) -> float:
    """The last assessment on or before the treatment day (the first one without it)."""
    td = _treatment_day_for(treatment_day, subject)
    if td is None:
        return float(all_days[0])
    cand = all_days[all_days <= td + 1e-9 * max(1.0, abs(td))]
    if cand.size == 0:
        raise _NoBaseline(
            f"{g.where[0]}, column `day`: subject {subject!r} has no baseline: no "
            f"assessment on or before treatment_day={td:g} (first day {all_days[0]:g})"
        )
    return float(cand[-1])


def _lesion_info(
    subject: str, g: _Rows, base_day: float
) -> tuple[dict[str, dict[str, Any]], dict[str, float], dict[str, str]]:
    """Per lesion: kind, node flag, organ and first row; its baseline diameter; and its
    first row on or after baseline. A new lesion at baseline is an error."""
    info: dict[str, dict[str, Any]] = {}
    base_d: dict[str, float] = {}
    first_on: dict[str, str] = {}
    for i in range(len(g.lesion)):
        les, day = g.lesion[i], float(g.day[i])
        if les not in info:
            info[les] = {
                "kind": g.kind[i],
                "node": bool(g.node[i]),
                "organ": g.organ[i],
                "first_row": g.where[i],
            }
        if day == base_day:
            if g.kind[i] == "new":
                raise DataError(
                    f"{g.where[i]}, column `kind`: subject {subject!r} has a lesion of kind "
                    f"'new' ({les!r}) at its baseline day {base_day:g}; a lesion present at "
                    "baseline is a target or non-target lesion"
                )
            base_d[les] = float(g.diameter[i])
        if day >= base_day and les not in first_on:
            first_on[les] = g.where[i]
    return info, base_d, first_on


def _baseline_lesions(
    subject: str, info: dict[str, dict[str, Any]], base_d: dict[str, float],
    first_on: dict[str, str], base_day: float,
) -> tuple[list[str], list[str]]:
    """Target and non-target lesions measured at baseline, in input order; a target or
    non-target lesion first seen after baseline is an error."""
    targets: list[str] = []
    nontargets: list[str] = []
    for les, inf in info.items():
        if inf["kind"] == "new":
            continue
        if les not in base_d:
            if les in first_on:
                raise DataError(
                    f"{first_on[les]}, column `lesion`: lesion {les!r} of subject "
                    f"{subject!r} is a {inf['kind']} lesion without a baseline measurement "
                    f"(baseline day {base_day:g}); a lesion that appears after baseline is a new "
                    "lesion (kind 'new')"
                )
            continue  # pre-baseline only: ignored
        if inf["kind"] == "target":
            targets.append(les)
        else:
            nontargets.append(les)
    return targets, nontargets


def _choose_targets(
    subject: str, targets: list[str], nontargets: list[str], info: dict[str, dict[str, Any]],
    base_d: dict[str, float], notes: list[str],
) -> tuple[list[str], set[str]]:
    """The RECIST 1.1 targets: measurable at baseline, at most 5 and 2 per organ (the
    largest). The others join ``nontargets`` (in place), with a note each; returns the
    targets in input order and the lesions so reclassified."""
    derived_nt: set[str] = set()
    measurable: list[str] = []
    for les in targets:
        d0 = base_d[les]
        limit = MEASURABLE_NODE_MM if info[les]["node"] else MEASURABLE_MM
        if d0 < limit:
            what = "short axis of lymph node" if info[les]["node"] else "longest diameter"
            notes.append(
                f"{info[les]['first_row']}: lesion {les!r} of subject {subject!r} has a baseline "
                f"{what} of {d0:g} mm, under the {limit:g} mm RECIST 1.1 limit (not measurable)"
            )
            nontargets.append(les)
            derived_nt.add(les)
        else:
            measurable.append(les)
    # at most 5, 2 per organ: keep the largest
    chosen: set[str] = set()
    per_organ: dict[str, int] = {}
    for les in sorted(measurable, key=lambda x: -base_d[x]):
        organ = info[les]["organ"] or f"\0{les}"  # unknown organ: its own
        if len(chosen) < MAX_TARGETS and per_organ.get(organ, 0) < MAX_TARGETS_PER_ORGAN:
            chosen.add(les)
            per_organ[organ] = per_organ.get(organ, 0) + 1
        else:
            notes.append(
                f"{info[les]['first_row']}: lesion {les!r} of subject {subject!r} exceeds the "
                f"RECIST 1.1 limit of {MAX_TARGETS} target lesions ({MAX_TARGETS_PER_ORGAN} per "
                "organ)"
            )
            nontargets.append(les)
            derived_nt.add(les)
    return [les for les in measurable if les in chosen], derived_nt  # keep input order


@dataclass
class _Assessments:
    """One subject's assessments on the on-study (and pre-baseline) days."""

    pos: dict[float, int]  # on-study day -> row
    pre_pos: dict[float, int]  # pre-baseline day -> row
    target_d: np.ndarray  # (days, targets), NaN = not assessed
    pre_target_d: np.ndarray  # (pre_days, targets)
    nt_status: np.ndarray  # (days, non-targets) of str, "" = not assessed
    new_count: np.ndarray  # (days,)
    new_sum: np.ndarray  # (days,) mm, measured new lesions
    new_lists: list[list[str]]  # new lesions seen on each day

    @classmethod
    def empty(cls, days: np.ndarray, pre_days: np.ndarray, n_targets: int,
              n_nontargets: int) -> _Assessments:
        return cls(
            pos={float(d): i for i, d in enumerate(days)},
            pre_pos={float(d): i for i, d in enumerate(pre_days)},
            target_d=np.full((days.size, n_targets), np.nan),
            pre_target_d=np.full((pre_days.size, n_targets), np.nan),
            nt_status=np.full((days.size, n_nontargets), "", dtype=object),
            new_count=np.zeros(days.size, dtype=np.int64),
            new_sum=np.zeros(days.size),
            new_lists=[[] for _ in range(days.size)],
        )


def _fill_assessments(
    grid: _Assessments, g: _Rows, info: dict[str, dict[str, Any]], targets: list[str],
    nontargets: list[str], derived_nt: set[str],
) -> None:
    """Enter each row: target diameters, non-target states (from the diameter for a
    reclassified target) and new lesions (present when NaN or > 0)."""
    pos, pre_pos = grid.pos, grid.pre_pos
    tpos = {les: j for j, les in enumerate(targets)}
    npos = {les: j for j, les in enumerate(nontargets)}
    for i in range(len(g.lesion)):
        les, day, d = g.lesion[i], float(g.day[i]), float(g.diameter[i])
        if les in tpos:
            if day in pos:
                grid.target_d[pos[day], tpos[les]] = d
            elif day in pre_pos:
                grid.pre_target_d[pre_pos[day], tpos[les]] = d
        elif les in npos and day in pos:
            if les in derived_nt:
                gone = d < NODE_NORMAL_MM if info[les]["node"] else d == 0
                grid.nt_status[pos[day], npos[les]] = "absent" if gone else "present"
            else:
                grid.nt_status[pos[day], npos[les]] = g.status[i]
        elif info[les]["kind"] == "new" and day in pos:
            if np.isnan(d) or d > 0:
                grid.new_count[pos[day]] += 1
                grid.new_lists[pos[day]].append(les)
                if not np.isnan(d):
                    grid.new_sum[pos[day]] += d


def _new_lesion_organs(
    new_lists: list[list[str]], info: dict[str, dict[str, Any]], targets: list[str],
    nontargets: list[str],
) -> tuple[list[int | None], list[bool | None]]:
    """Per day: most new lesions in one organ involved at baseline, and whether a new
    lesion is in an organ not involved; None where an organ is unknown."""
    involved = {info[x]["organ"] for x in (*targets, *nontargets)}
    organ_known = all(info[x]["organ"] for x in (*targets, *nontargets))
    new_in_involved: list[int | None] = []
    new_organ: list[bool | None] = []
    for lst in new_lists:
        organs = [info[x]["organ"] for x in lst]
        if not organ_known or any(o == "" for o in organs):
            new_in_involved.append(None if lst else 0)
            new_organ.append(None if lst else False)
            continue
        counts: dict[str, int] = {}
        for o in organs:
            if o in involved:
                counts[o] = counts.get(o, 0) + 1
        new_in_involved.append(max(counts.values(), default=0))
        new_organ.append(any(o not in involved for o in organs))
    return new_in_involved, new_organ


# -------------------------------------------------------------- time-point response


def _nt_states(st: np.ndarray) -> np.ndarray:
    """Non-target state codes of :mod:`~tgsim.clinical.rules` per assessment."""
    if st.shape[1] == 0:
        return np.full(st.shape[0], rules.NT_NONE, dtype=np.int8)
    return np.select(
        [
            np.any(st == "progression", axis=1),
            np.any(st == "", axis=1),
            np.all(st == "absent", axis=1),
        ],
        [rules.NT_PROGRESSION, rules.NT_UNKNOWN, rules.NT_ABSENT],
        default=rules.NT_PRESENT,
    ).astype(np.int8)


def _raw_components(s: _Subject) -> dict[str, np.ndarray]:
    """The rule components of one subject, one value per assessment."""
    d = s.target_d
    measured = ~np.isnan(d)
    node = s.target_node[None, :]
    with np.errstate(invalid="ignore"):
        normal_each = np.where(node, d < NODE_NORMAL_MM, d == 0) | ~measured
    return {
        "target_sum": np.nansum(d, axis=1) if d.shape[1] else np.zeros(d.shape[0]),
        "target_complete": measured.all(axis=1) & (d.shape[1] > 0),
        "target_normal": normal_each.all(axis=1),
        "nt_state": _nt_states(s.nt_status),
        "new_count": s.new_count,
        "new_sum": s.new_sum,
    }


def _stack(rows: list[dict[str, np.ndarray]], fill: dict[str, Any]) -> dict[str, np.ndarray]:
    """Pad per-subject component rows to one ``(n_subjects, n_max)`` array each."""
    m = max((len(r["days"]) for r in rows), default=1)
    out: dict[str, np.ndarray] = {}
    for key, value in fill.items():
        arr = np.full((len(rows), m), value, dtype=np.asarray(value).dtype)
        for i, r in enumerate(rows):
            arr[i, : len(r[key])] = r[key]
        out[key] = arr
    return out


_FILL = {
    "days": np.nan,
    "target_sum": 0.0,
    "target_complete": False,
    "target_normal": False,
    "nt_state": np.int8(rules.NT_NONE),
    "new_count": np.int64(0),
    "new_sum": 0.0,
    "valid": False,
}


@dataclass
class _Judged:
    """Codes of all subjects (padded to the longest), as from :mod:`~tgsim.clinical.rules`."""

    comp: dict[str, np.ndarray]
    tp: rules.Timepoints
    icodes: np.ndarray | None


def _judge(subjects: list[_Subject], *, irecist_days: float | None = None) -> _Judged:
    """RECIST 1.1 (and, with ``irecist_days``, iRECIST) codes of every subject at once."""
    rows = []
    for s in subjects:
        r = _raw_components(s)
        r["days"] = s.days
        r["valid"] = np.ones(s.days.size, dtype=bool)
        rows.append(r)
    comp = _stack(rows, _FILL)
    has_t = np.array([len(s.target_ids) > 0 for s in subjects], dtype=bool)
    tp = rules.recist_codes(
        comp["target_sum"],
        comp["target_complete"],
        comp["target_normal"],
        comp["nt_state"],
        comp["new_count"],
        has_targets=has_t,
        valid=comp["valid"],
    )
    icodes = None
    if irecist_days is not None:
        icodes = rules.irecist_codes(
            comp["days"],
            tp,
            comp["target_sum"],
            comp["target_complete"],
            comp["new_count"],
            comp["new_sum"],
            confirm_days=irecist_days,
        )
    return _Judged(comp, tp, icodes)


@dataclass
class _Components:
    sum_mm: np.ndarray
    complete: np.ndarray
    pct_base: np.ndarray
    pct_nadir: np.ndarray
    target: list[str]
    non_target: list[str]
    new_count: np.ndarray
    new_sum: np.ndarray
    recist: list[str]
    nadir_mm: np.ndarray  # the nadir before each assessment (mm)


def _label(code: int, none: str) -> str:
    return none if code == rules.NONE else rules.CODE_LABELS[code]


def _components(s: _Subject, j: _Judged, k: int) -> _Components:
    """Table columns of subject ``s``, row ``k`` of the judged codes."""
    n = s.days.size
    has_targets = len(s.target_ids) > 0
    complete = j.comp["target_complete"][k, :n]
    sums = np.where(complete, j.comp["target_sum"][k, :n], np.nan)
    if not has_targets:
        sums = np.full(n, np.nan)
    base = sums[0]
    # the nadir before each assessment: smallest complete sum up to the one before
    nadir = np.empty(n)
    nadir[0] = base
    if n > 1:
        nadir[1:] = np.fmin.accumulate(np.where(np.isnan(sums), np.inf, sums))[:-1]
        nadir[1:] = np.where(np.isinf(nadir[1:]), base, nadir[1:])
    with np.errstate(divide="ignore", invalid="ignore"):
        pct_base = 100.0 * (sums / base - 1.0)
        pct_nadir = 100.0 * (sums / nadir - 1.0)
    pct_nadir[0] = 0.0 if has_targets else np.nan
    tcodes, ncodes, ocodes = (x[k, :n] for x in (j.tp.target, j.tp.non_target, j.tp.overall))
    target = [""] + [_label(c, "none") for c in tcodes[1:]]
    non_target = [""] + [_label(c, "none") for c in ncodes[1:]]
    overall = [""] + [_label(c, "") for c in ocodes[1:]]
    return _Components(
        sums, complete, pct_base, pct_nadir, target, non_target, s.new_count, s.new_sum,
        overall, nadir,
    )


# ------------------------------------------------------------------ best response


def best_overall_response(
    days: np.ndarray,
    responses: list[str],
    baseline_day: float,
    *,
    confirm: bool = False,
    confirm_days: float = CONFIRM_DAYS,
    min_sd_days: float = 0.0,
    non_target_only: bool = False,
) -> tuple[str, float]:
    """Best overall response of one subject from its time-point responses.

    ``responses`` use the RECIST labels (CR, PR, SD, non-CR/non-PD, PD, NE) plus, for
    iRECIST, "UPD" (unconfirmed progression, not terminal) and "CPD" (confirmed,
    terminal). Assessments after the first PD are ignored. Returns the label and the day
    it was first reached (NaN for NE).

    With ``confirm`` a CR needs a CR at least ``confirm_days`` later, a PR a CR or PR,
    with only CR (CR, PR) or NE in between; an unconfirmed CR/PR counts as SD, or as
    non-CR/non-PD for ``non_target_only`` disease (Eisenhauer 2009, Table 2 has no SD).
    SD and non-CR/non-PD count only from ``min_sd_days`` after baseline.

    Examples
    --------
    Responses at the assessments after a baseline on day 0: a PR confirmed 42 days later
    is the best response; unconfirmed it counts as SD.

    >>> import numpy as np, tgsim
    >>> days = np.array([42.0, 84.0, 126.0])
    >>> tgsim.best_overall_response(days, ["PR", "PR", "PD"], 0.0, confirm=True)
    ('PR', 42.0)
    >>> tgsim.best_overall_response(days, ["PR", "SD", "PD"], 0.0, confirm=True)
    ('SD', 42.0)
    """
    days = np.asarray(days, dtype=np.float64)
    index = {label: code for code, label in enumerate(rules.CODE_LABELS)}
    bad = [r for r in responses if r not in index]
    if bad:
        raise DataError(
            f"`responses` must hold the labels {', '.join(rules.CODE_LABELS)}; got {bad[0]!r}"
        )
    if days.shape != (len(responses),):
        raise DataError(
            f"`days` must have one day per response ({len(responses)}); got shape {days.shape}"
        )
    codes = np.array([[index[r] for r in responses]], dtype=np.int64).reshape(1, -1)
    best, at = rules.best_codes(
        codes,
        days - baseline_day,
        non_target_only=non_target_only,
        confirm=confirm,
        confirm_days=confirm_days,
        min_sd_days=min_sd_days,
    )
    label = rules.CODE_LABELS[best[0]] if best[0] != rules.NE else "NE"
    return label, float(days[at[0]]) if at[0] >= 0 else float("nan")


# ----------------------------------------------------------------------- results


@dataclass
class ResponseAssessment:
    """Result of :func:`recist` or :func:`~tgsim.clinical.irecist`.

    Attributes
    ----------
    criteria
        "RECIST 1.1" or "iRECIST".
    table
        One row per subject and assessment (baseline first, with an empty response):
        ``subject, day, sum_mm, change_from_baseline_pct, change_from_nadir_pct,
        target_response, non_target_response, new_lesions, response, reason`` (days,
        mm, %); iRECIST adds ``new_lesion_sum_mm`` before ``response``.
        ``change_from_nadir_pct`` is relative to the nadir before that assessment (the
        reference for PD); ``reason`` says which rule gave the response ("new lesion",
        "sum +23.0 % over nadir and +6.0 mm", "node N1 11 mm after CR", ...).
    best
        One row per subject: ``subject, best_response, best_response_day``.
    settings
        The options used (treatment day, confirmation, minimum SD duration).
    """

    criteria: str
    table: pd.DataFrame
    best: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def plot(self, kind: str = "waterfall", **kwargs):
        """Waterfall (default), spider or swimmer plot via :func:`tgsim.plot.plot`."""
        from ..plot import plot

        return plot(self, kind=kind, **kwargs)

    def summary(self) -> str:
        """Counts of best overall response, as text."""
        counts = self.best["best_response"].value_counts()
        n = len(self.best)
        lines = [
            f"{self.criteria}: {n} subject(s), {len(self.table)} assessment row(s)",
            f"settings: {self.settings}",
            "best overall response:",
        ]
        for label, c in counts.items():
            lines.append(f"  {label:<14} {c:>5}  ({100.0 * c / max(n, 1):.1f} %)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<ResponseAssessment {self.criteria}: {len(self.best)} subject(s)>"


_TABLE_COLUMNS = (
    "subject",
    "day",
    "sum_mm",
    "change_from_baseline_pct",
    "change_from_nadir_pct",
    "target_response",
    "non_target_response",
    "new_lesions",
)


def _assess(
    data: Any,
    treatment_day: TreatmentDay,
    *,
    confirm: bool,
    confirm_days: float,
    min_sd_days: float,
    irecist: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The assessment table and the best-response table of all subjects.

    All subjects are judged together by :mod:`~tgsim.clinical.rules` (the rule table the
    cohort read-outs share); iRECIST confirms progression after ``confirm_days``.
    """
    from ._reasons import reasons

    table = as_lesion_table(data)
    subjects, _ = _prepare(table, treatment_day)
    judged = _judge(subjects, irecist_days=confirm_days if irecist else None)
    prefix = "i" if irecist else ""
    cols: dict[str, list[Any]] = {c: [] for c in _TABLE_COLUMNS}
    if irecist:
        cols["new_lesion_sum_mm"] = []
    cols["response"], cols["reason"] = [], []
    for k, s in enumerate(subjects):
        c = _components(s, judged, k)
        n = s.days.size
        cols["subject"].extend([s.subject] * n)
        cols["day"].extend(s.days.tolist())
        cols["sum_mm"].extend(c.sum_mm.tolist())
        cols["change_from_baseline_pct"].extend(c.pct_base.tolist())
        cols["change_from_nadir_pct"].extend(c.pct_nadir.tolist())
        cols["target_response"].extend(c.target)
        cols["non_target_response"].extend(c.non_target)
        cols["new_lesions"].extend(c.new_count.tolist())
        codes = judged.icodes[k, :n] if judged.icodes is not None else judged.tp.overall[k, :n]
        if irecist:
            cols["new_lesion_sum_mm"].extend(c.new_sum.tolist())
        cols["response"].extend([""] + [_i_label(int(x), prefix) for x in codes[1:]])
        cols["reason"].extend(reasons(s, c, judged, k, irecist=irecist))
    out = pd.DataFrame(cols)
    out["subject"] = out["subject"].astype(object)
    out["day"] = out["day"].astype(np.float64)
    out["new_lesions"] = out["new_lesions"].astype(np.int64)
    for col in ("sum_mm", "change_from_baseline_pct", "change_from_nadir_pct"):
        out[col] = out[col].astype(np.float64)
    for col in ("target_response", "non_target_response", "response", "reason"):
        out[col] = out[col].replace("", pd.NA)
    codes = judged.icodes if judged.icodes is not None else judged.tp.overall
    days = judged.comp["days"]
    best, at = rules.best_codes(
        codes[:, 1:],
        days[:, 1:] - days[:, :1],
        non_target_only=np.array([not s.target_ids for s in subjects], dtype=bool),
        confirm=confirm,
        confirm_days=confirm_days,
        min_sd_days=min_sd_days,
    )
    best_df = pd.DataFrame(
        {
            "subject": [s.subject for s in subjects],
            "best_response": [_i_label(int(b), prefix) for b in best],
            "best_response_day": [
                float(days[k, 1 + a]) if a >= 0 else float("nan") for k, a in enumerate(at)
            ],
        },
        columns=["subject", "best_response", "best_response_day"],
    )
    return out, best_df


_I_LABELS = {
    rules.CR: "iCR",
    rules.PR: "iPR",
    rules.SD: "iSD",
    rules.NN: "non-iCR/non-iUPD",
    rules.PD: "iCPD",
    rules.NE: "iNE",
    rules.UPD: "iUPD",
    rules.CPD: "iCPD",
}


def _i_label(code: int, prefix: str) -> str:
    """RECIST label of a code, or the iRECIST one with ``prefix == "i"``."""
    if code == rules.NONE:
        return ""
    return _I_LABELS[code] if prefix else rules.CODE_LABELS[code]


def recist(
    data: Any,
    *,
    treatment_day: TreatmentDay = None,
    confirm: bool = False,
    confirm_days: float = CONFIRM_DAYS,
    min_sd_days: float = 0.0,
) -> ResponseAssessment:
    """Assess response by RECIST 1.1 (Eisenhauer et al. 2009).

    See the module documentation for the rules.

    Parameters
    ----------
    data
        Lesion data: a tidy DataFrame (columns ``subject, day, lesion, diameter_mm`` and
        optionally ``kind, status, organ, is_node``), a lesion Dataset from
        :func:`tgsim.io.read_lesions`, or :func:`tgsim.observe.scan` output (one target
        lesion per subject). Days in days, diameters in mm.
    treatment_day
        Day treatment starts (a number or a mapping subject -> day). Baseline is then the
        last assessment on or before it. Default: each subject's first assessment.
    confirm
        Require confirmation of CR and PR for the best overall response.
    confirm_days
        Minimum interval (days) between a response and its confirmation; 28 (4 weeks).
    min_sd_days
        Minimum time (days) after baseline for SD to count as best response.

    Returns
    -------
    ResponseAssessment
        ``.table`` per assessment, ``.best`` per subject, ``.summary()``.

    Raises
    ------
    DataError
        For invalid lesion data (naming row and column), a subject without a baseline
        assessment, or a target/non-target lesion first measured after baseline.

    Warns
    -----
    TgsimWarning
        For non-measurable baseline targets, too many targets, or unsorted days.

    References
    ----------
    Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised
    RECIST guideline (version 1.1). *Eur J Cancer* 2009;45(2):228-247.

    Examples
    --------
    Two target lesions: the sum falls 36 % (PR), then rises 37.5 % over the nadir (PD).

    >>> import pandas as pd, tgsim
    >>> lesions = pd.DataFrame({"subject": "p1", "day": [0, 0, 42, 42, 84, 84],
    ...                         "lesion": ["liver", "lung"] * 3,
    ...                         "diameter_mm": [30.0, 20.0, 20.0, 12.0, 28.0, 16.0]})
    >>> r = tgsim.recist(lesions)
    >>> r.table[["day", "sum_mm", "response"]].values.tolist()
    [[0.0, 50.0, nan], [42.0, 32.0, 'PR'], [84.0, 44.0, 'PD']]
    >>> r.best[["best_response", "best_response_day"]].values.tolist()
    [['PR', 42.0]]
    """
    _check_options(confirm_days, min_sd_days)
    table, best = _assess(
        data,
        treatment_day,
        confirm=confirm,
        confirm_days=confirm_days,
        min_sd_days=min_sd_days,
    )
    return ResponseAssessment(
        "RECIST 1.1",
        table,
        best,
        {
            "treatment_day": treatment_day,
            "confirm": confirm,
            "confirm_days": confirm_days,
            "min_sd_days": min_sd_days,
        },
    )


def _check_options(confirm_days: float, min_sd_days: float) -> None:
    for name, v in (("confirm_days", confirm_days), ("min_sd_days", min_sd_days)):
        if not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
            raise DataError(f"`{name}` must be a number of days >= 0; got {v!r}")


def target_sums(
    data: Any, *, treatment_day: TreatmentDay = None, skip_missing_baseline: bool = False
) -> pd.DataFrame:
    """Sum of the baseline target lesions' diameters at every assessment (mm).

    Includes pre-baseline scans (days before the baseline chosen by ``treatment_day``),
    which growth kinetics and hyperprogression need. Targets are selected at baseline as
    in :func:`recist`.

    Returns
    -------
    pandas.DataFrame
        ``subject, day, sum_mm, phase`` with phase "pre-baseline", "baseline" or
        "on-study"; ``sum_mm`` is NaN where a target lesion was not measured. Also
        ``new_lesions`` (count), ``new_in_involved_organ`` and ``new_organ`` (None when
        organs are not recorded) per assessment. With ``skip_missing_baseline``, subjects
        without an assessment on or before ``treatment_day`` are left out and listed in
        ``.attrs["skipped"]`` (subject -> reason) instead of raising a DataError.

    Examples
    --------
    >>> import pandas as pd, tgsim
    >>> lesions = pd.DataFrame({"subject": "p1", "day": [-30, -30, 0, 0, 42, 42],
    ...                         "lesion": ["liver", "lung"] * 3,
    ...                         "diameter_mm": [25.0, 18.0, 30.0, 20.0, 20.0, 12.0]})
    >>> sums = tgsim.target_sums(lesions, treatment_day=0)
    >>> sums[["day", "sum_mm", "phase"]].values.tolist()
    [[-30.0, 43.0, 'pre-baseline'], [0.0, 50.0, 'baseline'], [42.0, 32.0, 'on-study']]
    """
    table = as_lesion_table(data)
    rows = []
    subjects, skipped = _prepare(table, treatment_day, skip_missing_baseline=skip_missing_baseline)
    for s in subjects:
        if not s.target_ids:
            continue
        for k, day in enumerate(s.pre_days):
            d = s.pre_target_d[k]
            rows.append((s.subject, float(day), float(np.sum(d)), "pre-baseline", 0, 0, False))
        for i, day in enumerate(s.days):
            d = s.target_d[i]
            rows.append(
                (
                    s.subject,
                    float(day),
                    float(np.sum(d)),
                    "baseline" if i == 0 else "on-study",
                    int(s.new_count[i]),
                    s.new_in_involved_organ[i],
                    s.new_organ[i],
                )
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "subject",
            "day",
            "sum_mm",
            "phase",
            "new_lesions",
            "new_in_involved_organ",
            "new_organ",
        ],
    )
    out.attrs["skipped"] = skipped
    return out
