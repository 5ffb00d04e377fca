"""Hyperprogressive disease (HPD) under immunotherapy: the published definitions.

Input is a series of sums of target-lesion longest diameters (**mm**) on assessment
**days**, and the day treatment starts. The periods:

* **baseline**: the last assessment on or before ``treatment_day``;
* **pre-baseline**: the assessment before baseline; the *reference* period runs from
  pre-baseline to baseline;
* **first evaluation**: the first assessment after ``treatment_day``; the *experimental*
  period runs from baseline to first evaluation.

Growth rates per period (months of 30.4375 days): TGR (Ferté 2014,
:func:`~tgsim.clinical.kinetics.tumour_growth_rate`, % per month) and TGK (Saâda-Bouzid
2017, :func:`~tgsim.clinical.kinetics.tumour_growth_kinetics`, mm per month); ratios
are experimental / reference and ΔTGR = TGR_exp - TGR_ref.

Definitions (``definition=``):

``champiat2017``
    RECIST progression at the first evaluation and TGR ratio >= 2 (Champiat 2017).
``saada-bouzid2017``
    TGK ratio >= 2 (Saâda-Bouzid 2017).
``kato2017``
    Time to treatment failure < 2 months, > 50 % increase in tumour burden from the
    pre-treatment (baseline) scan, and > 2-fold increase in progression pace (Kato 2017).
    Time to treatment failure needs the date treatment was stopped, which a series
    cannot give: it is approximated by RECIST progression at a first evaluation less than
    2 months after treatment start. The progression pace is the TGK (change of the sum per
    month); its ratio must exceed 2.
``ferrara2018``
    RECIST progression at the first evaluation and ΔTGR > 50 (% per month)
    (Ferrara 2018).
``kas2020``
    RECIST progression at the first evaluation and ΔTGR > 100 (% per month), the
    threshold Kas 2020 derived among patients progressing at the first evaluation.
``matos2020``
    At a first evaluation within 2 months of treatment start: a >= 40 % increase of the
    target sum from baseline, or a >= 20 % increase together with multiple new lesions,
    read here as >= 2 new lesions in an organ already involved or a new lesion in a new
    organ (Matos 2020). No pre-baseline scan is needed. The new-lesion part needs
    ``new_lesions_in_involved_organ`` / ``new_organ``, which a sum cannot give.
``lo-russo2019``
    The radiological part of Lo Russo 2019, who call HPD when at least 3 of 5 criteria
    hold: (1) time to treatment failure < 2 months (approximated as for Kato), (2) >= 50 %
    increase of the target sum between baseline and first evaluation, (3) >= 2 new lesions
    in an organ already involved, (4) spread to a new organ, (5) clinical deterioration
    (ECOG performance status worsening >= 2) in the first 2 months. Criterion 5 is
    clinical and is not assessed: HPD here is >= 3 of criteria 1-4, so it can miss
    patients that Lo Russo would count through criterion 5. Criteria 3-4 need
    ``new_lesions_in_involved_organ`` / ``new_organ``; when they are not given and the
    answer depends on them, the result is not computable.

"RECIST progression at the first evaluation" is judged on the target sum (>= 20 % and
>= 5 mm above baseline, the nadir at that point) or a new lesion when ``new_lesions`` (or
the new-organ arguments) say so.

Definitions based on the reference period need a pre-baseline scan (two assessments on
or before ``treatment_day``) and a first evaluation; without them the result has
``computable=False``, NaN kinetics and ``hyperprogression=None``: no value is filled in.
A ratio is NaN when the reference rate is 0; a ratio with a negative reference rate
(a shrinking tumour before treatment) is reported but never counts as acceleration.

References
----------
Ferté C, Fernandez M, Hollebecque A, et al. Tumor growth rate is an early indicator of
antitumor drug activity in phase I clinical trials. *Clin Cancer Res* 2014;20(1):246-252.
Champiat S, Dercle L, Ammari S, et al. Hyperprogressive disease is a new pattern of
progression in cancer patients treated by anti-PD-1/PD-L1. *Clin Cancer Res*
2017;23(8):1920-1928.
Saâda-Bouzid E, Defaucheux C, Karabajakian A, et al. Hyperprogression during anti-PD-1/
PD-L1 therapy in patients with recurrent and/or metastatic head and neck squamous cell
carcinoma. *Ann Oncol* 2017;28(7):1605-1611.
Kato S, Goodman A, Walavalkar V, et al. Hyperprogressors after immunotherapy: analysis
of genomic alterations associated with accelerated growth rate. *Clin Cancer Res*
2017;23(15):4242-4250.
Ferrara R, Mezquita L, Texier M, et al. Hyperprogressive disease in patients with
advanced non-small cell lung cancer treated with PD-1/PD-L1 inhibitors or with
single-agent chemotherapy. *JAMA Oncol* 2018;4(11):1543-1552.
Lo Russo G, Moro M, Sommariva M, et al. Antibody-Fc/FcR interaction on macrophages as a
mechanism for hyperprogressive disease in non-small cell lung cancer subsequent to PD-1/
PD-L1 blockade. *Clin Cancer Res* 2019;25(3):989-999.
Matos I, Martin-Liberal J, García-Ruiz A, et al. Capturing hyperprogressive disease with
immune-checkpoint inhibitors using RECIST 1.1 criteria. *Clin Cancer Res*
2020;26(8):1846-1855.
Kas B, Talbot H, Ferrara R, et al. Clarification of definitions of hyperprogressive
disease during immunotherapy for non-small cell lung cancer. *JAMA Oncol*
2020;6(7):1039-1046.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import DataError
from ._common import DAYS_PER_MONTH, as_float_array, at_least, check_days
from .kinetics import tumour_growth_kinetics, tumour_growth_rate

__all__ = [
    "HYPERPROGRESSION_DEFINITIONS",
    "HyperprogressionResult",
    "HyperprogressionCohort",
    "Agreement",
    "hyperprogression",
    "hyperprogression_cohort",
    "hyperprogression_agreement",
    "cohen_kappa",
]

#: Named definitions: name -> (short rule, needs a pre-baseline scan, citation).
HYPERPROGRESSION_DEFINITIONS: dict[str, tuple[str, bool, str]] = {
    "champiat2017": (
        "RECIST PD at first evaluation and TGR ratio >= 2",
        True,
        "Champiat et al. Clin Cancer Res 2017;23:1920-1928",
    ),
    "saada-bouzid2017": (
        "TGK ratio >= 2",
        True,
        "Saada-Bouzid et al. Ann Oncol 2017;28:1605-1611",
    ),
    "kato2017": (
        "TTF < 2 months (PD at first evaluation < 2 months), > 50 % increase from baseline, "
        "TGK ratio > 2",
        True,
        "Kato et al. Clin Cancer Res 2017;23:4242-4250",
    ),
    "ferrara2018": (
        "RECIST PD at first evaluation and delta TGR > 50 %/month",
        True,
        "Ferrara et al. JAMA Oncol 2018;4:1543-1552",
    ),
    "matos2020": (
        "first evaluation <= 2 months: >= 40 % increase, or >= 20 % with multiple new lesions",
        False,
        "Matos et al. Clin Cancer Res 2020;26:1846-1855",
    ),
    "kas2020": (
        "RECIST PD at first evaluation and delta TGR > 100 %/month",
        True,
        "Kas et al. JAMA Oncol 2020;6:1039-1046",
    ),
    "lo-russo2019": (
        ">= 3 of: TTF < 2 months, >= 50 % increase, >= 2 new lesions in an involved organ, "
        "new organ (ECOG criterion not assessed)",
        False,
        "Lo Russo et al. Clin Cancer Res 2019;25:989-999",
    ),
}

_TWO_MONTHS = 2.0 * DAYS_PER_MONTH


def _definition_name(definition: str) -> str:
    key = str(definition).strip().lower().replace("_", "-").replace(" ", "-")
    key = key.replace("saada-bouzid-", "saada-bouzid").replace("lo-russo-", "lo-russo")
    aliases = {"saadabouzid2017": "saada-bouzid2017", "lorusso2019": "lo-russo2019"}
    key = aliases.get(key.replace("-", ""), key)
    if key not in HYPERPROGRESSION_DEFINITIONS:
        raise DataError(
            f"`definition` must be one of {list(HYPERPROGRESSION_DEFINITIONS)}; got {definition!r}"
        )
    return key


@dataclass(frozen=True)
class HyperprogressionResult:
    """Outcome of one HPD definition for one series.

    Attributes
    ----------
    definition
        Definition name.
    computable
        False when the series lacks what the definition needs (then ``hyperprogression``
        is None).
    hyperprogression
        True / False, or None when not computable.
    reason
        Why, in words.
    prebaseline_day, baseline_day, first_evaluation_day
        Days (NaN if missing).
    change_from_baseline_pct
        Target-sum change at the first evaluation, %.
    tgr_ref, tgr_exp, tgr_ratio, delta_tgr
        TGR in % per month for the reference and experimental periods, their ratio and
        difference.
    tgk_ref, tgk_exp, tgk_ratio
        TGK in mm per month and their ratio.
    """

    definition: str
    computable: bool
    hyperprogression: bool | None
    reason: str
    prebaseline_day: float = math.nan
    baseline_day: float = math.nan
    first_evaluation_day: float = math.nan
    change_from_baseline_pct: float = math.nan
    tgr_ref: float = math.nan
    tgr_exp: float = math.nan
    tgr_ratio: float = math.nan
    delta_tgr: float = math.nan
    tgk_ref: float = math.nan
    tgk_exp: float = math.nan
    tgk_ratio: float = math.nan

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict."""
        return asdict(self)

    def summary(self) -> str:
        """A short text report."""
        rule, _, cite = HYPERPROGRESSION_DEFINITIONS[self.definition]
        verdict = (
            "not computable"
            if not self.computable
            else ("hyperprogression" if self.hyperprogression else "no hyperprogression")
        )
        return (
            f"{self.definition} ({cite}): {rule}\n"
            f"  result: {verdict} - {self.reason}\n"
            f"  days: pre-baseline {self.prebaseline_day:g}, baseline {self.baseline_day:g}, "
            f"first evaluation {self.first_evaluation_day:g}\n"
            f"  change from baseline {self.change_from_baseline_pct:.1f} %\n"
            f"  TGR ref {self.tgr_ref:.1f}, exp {self.tgr_exp:.1f} %/month, ratio "
            f"{self.tgr_ratio:.2f}, delta {self.delta_tgr:.1f}\n"
            f"  TGK ref {self.tgk_ref:.2f}, exp {self.tgk_exp:.2f} mm/month, ratio "
            f"{self.tgk_ratio:.2f}"
        )


def _ratio(exp: float, ref: float) -> float:
    if not (np.isfinite(exp) and np.isfinite(ref)) or ref == 0.0:
        return math.nan
    return exp / ref


def _accelerated(exp: float, ref: float, factor: float, *, strict: bool) -> bool:
    """exp/ref >= factor (or >), counted only for a positive reference rate."""
    if not (np.isfinite(exp) and np.isfinite(ref)) or ref <= 0:
        return False
    r = exp / ref
    return bool(r > factor) if strict else bool(at_least(r, factor))


def hyperprogression(
    days: ArrayLike,
    sums_mm: ArrayLike,
    treatment_day: float,
    definition: str = "champiat2017",
    *,
    new_lesions: bool | None = None,
    new_lesions_in_involved_organ: int | None = None,
    new_organ: bool | None = None,
) -> HyperprogressionResult:
    """Apply one named hyperprogression definition to a series of target sums.

    Parameters
    ----------
    days
        Assessment days, strictly increasing (days).
    sums_mm
        Sum of target-lesion longest diameters at each assessment (mm, >= 0).
    treatment_day
        Day treatment starts (days).
    definition
        One of :data:`HYPERPROGRESSION_DEFINITIONS` (see the module documentation):
        "champiat2017", "saada-bouzid2017", "kato2017", "ferrara2018", "matos2020",
        "kas2020", "lo-russo2019".
    new_lesions
        Whether new lesions were seen at the first evaluation (None: unknown, judged on the
        sum only).
    new_lesions_in_involved_organ
        Most new lesions at the first evaluation in one organ already involved at
        baseline (None: unknown).
    new_organ
        Whether a new lesion at the first evaluation is in an organ not involved at
        baseline (None: unknown).

    Returns
    -------
    HyperprogressionResult

    Raises
    ------
    DataError
        For unsorted days, negative or NaN sums, an unknown definition.

    Examples
    --------
    >>> r = hyperprogression([-60, 0, 60], [50.0, 55.0, 90.0], 0.0, "champiat2017")
    >>> r.hyperprogression, round(r.tgr_ratio, 2)
    (True, 7.15)
    """
    name = _definition_name(definition)
    t, s, td = _check_series(days, sums_mm, treatment_day, new_lesions_in_involved_organ)
    needs_ref = HYPERPROGRESSION_DEFINITIONS[name][1]
    tol = 1e-9 * max(1.0, abs(td))
    before = np.flatnonzero(t <= td + tol)
    after = np.flatnonzero(t > td + tol)
    if before.size == 0 or after.size == 0:
        missing = "an assessment on or before" if before.size == 0 else "an assessment after"
        return HyperprogressionResult(
            name, False, None, f"not computable: no {missing} treatment_day={td:g}"
        )
    ib, ie = int(before[-1]), int(after[0])
    kinetics = _period_kinetics(t, s, ib, ie, int(before[-2]) if before.size >= 2 else None)
    if needs_ref and before.size < 2:
        return HyperprogressionResult(
            name,
            False,
            None,
            "not computable: needs a pre-baseline scan (two assessments on or before "
            f"treatment_day={td:g})",
            **kinetics,
        )
    if needs_ref and not np.isfinite(kinetics.get("tgr_ref", math.nan)):
        return HyperprogressionResult(
            name, False, None, "not computable: the pre-baseline sum is 0", **kinetics
        )

    base, first = float(s[ib]), float(s[ie])
    any_new = bool(new_lesions or (new_lesions_in_involved_organ or 0) > 0 or new_organ)
    sum_pd = base > 0 and bool(at_least(first, 1.2 * base)) and bool(at_least(first - base, 5.0))
    evidence = _Evidence(
        name=name,
        kinetics=kinetics,
        pd_first=sum_pd or any_new,
        early=kinetics["first_evaluation_day"] - td < _TWO_MONTHS,
        within_two_months=bool(kinetics["first_evaluation_day"] - td <= _TWO_MONTHS + tol),
        change=kinetics.get("change_from_baseline_pct", math.nan),
        in_involved_organ=new_lesions_in_involved_organ,
        new_organ=new_organ,
    )
    return _RULES[name](evidence)


def _check_series(
    days: ArrayLike, sums_mm: ArrayLike, treatment_day: float,
    new_lesions_in_involved_organ: int | None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Days, sums and treatment day as checked floats."""
    t = check_days(days)
    s = as_float_array("sums_mm", sums_mm, minimum=0.0)
    if s.shape != t.shape:
        raise DataError(f"`sums_mm` must have the shape of `days` {t.shape}; got {s.shape}")
    try:
        td = float(treatment_day)
    except (TypeError, ValueError) as exc:
        raise DataError(f"`treatment_day` must be a number of days; got {treatment_day!r}") from exc
    if not math.isfinite(td):
        raise DataError(f"`treatment_day` must be finite; got {treatment_day!r}")
    if new_lesions_in_involved_organ is not None and (
        not isinstance(new_lesions_in_involved_organ, int | np.integer)
        or new_lesions_in_involved_organ < 0
    ):
        raise DataError(
            "`new_lesions_in_involved_organ` must be None or an integer >= 0; "
            f"got {new_lesions_in_involved_organ!r}"
        )
    return t, s, td


def _period_kinetics(
    t: np.ndarray, s: np.ndarray, ib: int, ie: int, ip: int | None
) -> dict[str, float]:
    """Days, change from baseline and TGR / TGK of the experimental period (baseline ``ib``
    to first evaluation ``ie``) and, with a pre-baseline scan ``ip``, of the reference
    period and the ratios: the fields of a :class:`HyperprogressionResult`."""
    kinetics: dict[str, float] = {}
    kinetics["baseline_day"] = float(t[ib])
    kinetics["first_evaluation_day"] = float(t[ie])
    base, first = float(s[ib]), float(s[ie])
    if base > 0:
        kinetics["change_from_baseline_pct"] = 100.0 * (first / base - 1.0)
    tgr_exp = float(tumour_growth_rate([t[ib], t[ie]], [base, first]))
    tgk_exp = float(tumour_growth_kinetics([t[ib], t[ie]], [base, first]))
    kinetics.update(tgr_exp=tgr_exp, tgk_exp=tgk_exp)
    if ip is not None:
        pre = float(s[ip])
        tgr_ref = float(tumour_growth_rate([t[ip], t[ib]], [pre, base]))
        tgk_ref = float(tumour_growth_kinetics([t[ip], t[ib]], [pre, base]))
        kinetics.update(
            prebaseline_day=float(t[ip]),
            tgr_ref=tgr_ref,
            tgk_ref=tgk_ref,
            tgr_ratio=_ratio(tgr_exp, tgr_ref),
            tgk_ratio=_ratio(tgk_exp, tgk_ref),
            delta_tgr=tgr_exp - tgr_ref if np.isfinite(tgr_ref) else math.nan,
        )
    return kinetics


@dataclass(frozen=True)
class _Evidence:
    """What the definitions judge: the period kinetics, RECIST progression at the first
    evaluation (on the sum or by new lesions), its timing and the new-lesion counts."""

    name: str
    kinetics: dict[str, float]
    pd_first: bool
    early: bool  # first evaluation less than 2 months after treatment start
    within_two_months: bool  # ... at most 2 months after (with a rounding tolerance)
    change: float  # change of the sum from baseline, %
    in_involved_organ: int | None
    new_organ: bool | None

    def result(self, flag: bool | None, reason: str) -> HyperprogressionResult:
        return HyperprogressionResult(self.name, flag is not None, flag, reason,
                                      **self.kinetics)


def _champiat2017(ev: _Evidence) -> HyperprogressionResult:
    acc = _accelerated(ev.kinetics["tgr_exp"], ev.kinetics["tgr_ref"], 2.0, strict=False)
    return ev.result(
        ev.pd_first and acc, f"PD at first evaluation: {ev.pd_first}; TGR ratio >= 2: {acc}"
    )


def _saada_bouzid2017(ev: _Evidence) -> HyperprogressionResult:
    acc = _accelerated(ev.kinetics["tgk_exp"], ev.kinetics["tgk_ref"], 2.0, strict=False)
    return ev.result(acc, f"TGK ratio >= 2: {acc}")


def _kato2017(ev: _Evidence) -> HyperprogressionResult:
    ttf = ev.pd_first and ev.early
    burden = bool(np.isfinite(ev.change) and ev.change > 50.0)
    pace = _accelerated(ev.kinetics["tgk_exp"], ev.kinetics["tgk_ref"], 2.0, strict=True)
    return ev.result(
        ttf and burden and pace,
        f"PD at first evaluation < 2 months: {ttf}; > 50 % increase: {burden}; "
        f"pace (TGK) ratio > 2: {pace}",
    )


def _delta_tgr(ev: _Evidence) -> HyperprogressionResult:
    """Ferrara 2018 (delta TGR > 50) and Kas 2020 (> 100)."""
    limit = 50.0 if ev.name == "ferrara2018" else 100.0
    delta = ev.kinetics["delta_tgr"]
    big = bool(np.isfinite(delta) and delta > limit)
    return ev.result(
        ev.pd_first and big, f"PD at first evaluation: {ev.pd_first}; delta TGR > {limit:g}: {big}"
    )


def _matos2020(ev: _Evidence) -> HyperprogressionResult:
    if not ev.within_two_months:
        return ev.result(False, "first evaluation later than 2 months after treatment start")
    big = bool(np.isfinite(ev.change) and at_least(ev.change, 40.0))
    moderate = bool(np.isfinite(ev.change) and at_least(ev.change, 20.0))
    multiple = _either(
        None if ev.in_involved_organ is None else ev.in_involved_organ >= 2,
        ev.new_organ,
    )
    if big:
        return ev.result(True, ">= 40 % increase from baseline at first evaluation")
    if not moderate:
        return ev.result(False, "< 20 % increase from baseline at first evaluation")
    if multiple is None:
        return ev.result(
            None,
            "not computable: >= 20 % increase, and whether multiple new lesions appeared is "
            "unknown (give new_lesions_in_involved_organ / new_organ)",
        )
    return ev.result(multiple, f">= 20 % increase; multiple new lesions: {multiple}")


def _lo_russo2019(ev: _Evidence) -> HyperprogressionResult:
    crit: list[bool | None] = [
        ev.pd_first and ev.early,
        bool(np.isfinite(ev.change) and at_least(ev.change, 50.0)),
        None if ev.in_involved_organ is None else ev.in_involved_organ >= 2,
        ev.new_organ,
    ]
    met = sum(1 for c in crit if c is True)
    unknown = sum(1 for c in crit if c is None)
    text = (
        f"criteria met: TTF < 2 months {crit[0]}, >= 50 % increase {crit[1]}, >= 2 new "
        f"lesions in an involved organ {crit[2]}, new organ {crit[3]} (ECOG not assessed)"
    )
    if met >= 3:
        return ev.result(True, text)
    if met + unknown < 3:
        return ev.result(False, text)
    return ev.result(None, "not computable: " + text)


_RULES = {
    "champiat2017": _champiat2017,
    "saada-bouzid2017": _saada_bouzid2017,
    "kato2017": _kato2017,
    "ferrara2018": _delta_tgr,
    "kas2020": _delta_tgr,
    "matos2020": _matos2020,
    "lo-russo2019": _lo_russo2019,
}


def _either(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


# ------------------------------------------------------------------------- cohort


def cohen_kappa(a: ArrayLike, b: ArrayLike) -> float:
    r"""Cohen's kappa of two binary ratings.

    .. math:: \kappa = \frac{p_o - p_e}{1 - p_e}, \quad
              p_e = p_a p_b + (1 - p_a)(1 - p_b)

    with :math:`p_o` the observed agreement and :math:`p_a, p_b` the rates of "yes".
    NaN when there are no pairs or :math:`p_e = 1` (both raters constant and equal).

    References
    ----------
    Cohen J. A coefficient of agreement for nominal scales. *Educ Psychol Meas*
    1960;20(1):37-46.

    Examples
    --------
    Observed agreement 5/6, chance agreement 1/2: kappa = (5/6 - 1/2) / (1 - 1/2) = 2/3.

    >>> import tgsim
    >>> round(tgsim.cohen_kappa([1, 1, 0, 0, 1, 0], [1, 0, 0, 0, 1, 0]), 4)
    0.6667
    """
    x = np.asarray(a, dtype=bool)
    y = np.asarray(b, dtype=bool)
    if x.size == 0:
        return math.nan
    po = float(np.mean(x == y))
    pa, pb = float(np.mean(x)), float(np.mean(y))
    pe = pa * pb + (1.0 - pa) * (1.0 - pb)
    if pe >= 1.0:
        return math.nan
    return (po - pe) / (1.0 - pe)


@dataclass
class Agreement:
    """Agreement between HPD definitions across a cohort.

    Attributes
    ----------
    kappa
        Pairwise Cohen's kappa (definitions x definitions), over subjects computable by
        both.
    jaccard
        Pairwise Jaccard index: subjects flagged by both / by either.
    n
        Pairwise number of subjects computable by both.
    incidence
        Per definition: number computable, number flagged, fraction flagged.
    """

    kappa: pd.DataFrame
    jaccard: pd.DataFrame
    n: pd.DataFrame
    incidence: pd.DataFrame

    def summary(self) -> str:
        """Incidence and pairwise kappa as text."""
        return (
            "Hyperprogression incidence per definition:\n"
            f"{self.incidence.to_string()}\n\nPairwise Cohen's kappa:\n"
            f"{self.kappa.round(2).to_string()}"
        )


def hyperprogression_agreement(flags: pd.DataFrame) -> Agreement:
    """Pairwise agreement of hyperprogression definitions.

    Parameters
    ----------
    flags
        One row per subject, one column per definition, values True / False, or
        None/NaN where not computable (e.g. :attr:`HyperprogressionCohort.flags`).

    Returns
    -------
    Agreement
        Cohen's kappa, Jaccard index and pair counts, and the incidence per definition.

    Examples
    --------
    >>> import pandas as pd, tgsim
    >>> flags = pd.DataFrame({"def_a": [True, True, False, False, True, False],
    ...                       "def_b": [True, False, False, False, True, False]})
    >>> agree = tgsim.hyperprogression_agreement(flags)
    >>> round(float(agree.kappa.loc["def_a", "def_b"]), 3)
    0.667
    """
    if not isinstance(flags, pd.DataFrame):
        raise DataError(f"`flags` must be a pandas DataFrame; got {type(flags).__name__}")
    names = [str(c) for c in flags.columns]
    known = flags.notna().to_numpy()
    vals = flags.fillna(False).astype(bool).to_numpy()
    k = len(names)
    kappa = np.full((k, k), np.nan)
    jac = np.full((k, k), np.nan)
    npair = np.zeros((k, k), dtype=np.int64)
    for i in range(k):
        for j in range(k):
            m = known[:, i] & known[:, j]
            npair[i, j] = int(m.sum())
            x, y = vals[m, i], vals[m, j]
            kappa[i, j] = cohen_kappa(x, y)
            either = int(np.sum(x | y))
            jac[i, j] = np.sum(x & y) / either if either else np.nan
    computable = known.sum(axis=0)
    flagged = (vals & known).sum(axis=0)
    incidence = pd.DataFrame(
        {
            "computable": computable,
            "hyperprogression": flagged,
            "fraction": np.where(computable > 0, flagged / np.maximum(computable, 1), np.nan),
        },
        index=names,
    )
    return Agreement(
        pd.DataFrame(kappa, index=names, columns=names),
        pd.DataFrame(jac, index=names, columns=names),
        pd.DataFrame(npair, index=names, columns=names),
        incidence,
    )


@dataclass
class HyperprogressionCohort:
    """Hyperprogression of every subject under several definitions.

    Attributes
    ----------
    table
        One row per subject and definition: the fields of :class:`HyperprogressionResult`.
    flags
        One row per subject, one column per definition: True/False, None if not computable.
    """

    table: pd.DataFrame
    flags: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def agreement(self) -> Agreement:
        """Pairwise agreement between the definitions (:func:`hyperprogression_agreement`)."""
        return hyperprogression_agreement(self.flags)

    def summary(self) -> str:
        """Incidence per definition and pairwise kappa."""
        return f"{len(self.flags)} subject(s)\n" + self.agreement().summary()


def hyperprogression_cohort(
    data: Any,
    treatment_day: float | Mapping[str, float],
    definitions: Sequence[str] | None = None,
) -> HyperprogressionCohort:
    """Apply hyperprogression definitions to every subject of a cohort.

    Parameters
    ----------
    data
        Either lesion data (as for :func:`~tgsim.clinical.recist`; target sums, new
        lesions and their organs are derived from it, pre-baseline scans included; a
        subject without an assessment on or before ``treatment_day`` is reported as not
        computable), or a
        DataFrame with columns ``subject, day, sum_mm`` (and optionally ``new_lesions``,
        ``new_in_involved_organ``, ``new_organ``).
    treatment_day
        Day treatment starts: a number, or a mapping subject -> day.
    definitions
        Names from :data:`HYPERPROGRESSION_DEFINITIONS`; default all.

    Returns
    -------
    HyperprogressionCohort

    Examples
    --------
    Subject "a" grows seven times faster on treatment than before it; "b" stops growing.

    >>> import pandas as pd, tgsim
    >>> sums = pd.DataFrame({"subject": ["a"] * 3 + ["b"] * 3, "day": [-60, 0, 60] * 2,
    ...                      "sum_mm": [50.0, 55.0, 90.0, 50.0, 52.0, 50.0]})
    >>> hc = tgsim.hyperprogression_cohort(sums, treatment_day=0.0,
    ...                                    definitions=["champiat2017", "kato2017"])
    >>> hc.flags.astype(bool).to_dict("list")
    {'champiat2017': [True, False], 'kato2017': [True, False]}
    """
    from .recist import target_sums

    names = [_definition_name(d) for d in (definitions or HYPERPROGRESSION_DEFINITIONS)]
    if isinstance(data, pd.DataFrame) and "sum_mm" in data.columns and "lesion" not in data:
        sums = data.copy()
        for c in ("subject", "day"):
            if c not in sums.columns:
                raise DataError(f"sum table: missing required column `{c}`")
        sums["subject"] = sums["subject"].astype(str)
    else:
        sums = target_sums(data, treatment_day=treatment_day, skip_missing_baseline=True)
    rows = []
    flag_rows: dict[str, dict[str, bool | None]] = {}
    for subject, why in sums.attrs.get("skipped", {}).items():
        flag_rows[subject] = {}
        for name in names:
            rows.append(
                {
                    "subject": subject,
                    **HyperprogressionResult(name, False, None, "not computable: " + why).as_dict(),
                }
            )
            flag_rows[subject][name] = None
    for subject, g in sums.groupby("subject", sort=False):
        g = g.sort_values("day")
        g = g[np.isfinite(g["sum_mm"].to_numpy(dtype=np.float64))]
        td = treatment_day[subject] if isinstance(treatment_day, Mapping) else treatment_day
        days = g["day"].to_numpy(dtype=np.float64)
        first = np.flatnonzero(days > float(td))
        extra: dict[str, Any] = {}
        if first.size:
            r0 = g.iloc[int(first[0])]
            if "new_lesions" in g:
                extra["new_lesions"] = bool(r0["new_lesions"] > 0)
            if "new_in_involved_organ" in g and pd.notna(r0["new_in_involved_organ"]):
                extra["new_lesions_in_involved_organ"] = int(r0["new_in_involved_organ"])
            if "new_organ" in g and pd.notna(r0["new_organ"]):
                extra["new_organ"] = bool(r0["new_organ"])
        flag_rows[str(subject)] = {}
        for name in names:
            res = hyperprogression(days, g["sum_mm"].to_numpy(), td, name, **extra)
            rows.append({"subject": str(subject), **res.as_dict()})
            flag_rows[str(subject)][name] = res.hyperprogression
    columns = ["subject", *(f.name for f in fields(HyperprogressionResult))]
    table = pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)  # no subjects
    flags = pd.DataFrame.from_dict(flag_rows, orient="index", columns=names).astype(object)
    flags.index.name = "subject"
    return HyperprogressionCohort(
        table, flags, {"treatment_day": treatment_day, "definitions": names}
    )
