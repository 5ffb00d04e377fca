r"""Cohort read-outs: scans, response categories, progression, hyperprogression, burden.

Units: days, diameters in mm, volumes in mm³, growth rates in % per month (a month is
30.4375 days).

This module turns simulated volumes into what a trial would record, vectorised over
subjects so that it keeps up with cohorts of millions:

* :class:`ScanProtocol` — the scan schedule (every 8 weeks by default), the measurement
  error model (:mod:`tgsim.observe`) and the imaging detection limit. Each subject's tumour
  is one target lesion whose longest diameter is the sphere-equivalent diameter
  :math:`D = (6 V / \pi)^{1/3}` of the *observed* size (tumour plus treatment-induced
  swelling).
* :class:`ReadoutSettings` — which read-outs to compute, per subject, and
  :func:`summarise_cohort` to
  turn them into cohort rates.

Readings
--------
Each read-out is computed for up to three *readings* of the same subjects, along a
``reading`` dimension, so that the cause of a call can be traced:

``measured``
    Observed size with measurement error (what the reader sees).
``error_free``
    Observed size without measurement error (present when an error model is given):
    the difference with ``measured`` is the effect of reader variability alone.
``tumour``
    True tumour volume, no swelling and no error (present when a scenario has
    pseudoprogression swelling): a RECIST PD on ``measured`` that is not PD on ``tumour``
    is a false progression call.

Response criteria (one target lesion)
-------------------------------------
RECIST 1.1 (Eisenhauer et al. 2009), by the rule table :mod:`tgsim.clinical.rules` that
:func:`tgsim.clinical.recist` uses too, specialised to
one non-nodal target lesion of diameter :math:`d`: the baseline is the last scan on or
before ``treatment_day``; it must be measurable (:math:`d_0 \ge 10` mm, else the subject
is not evaluable, ``NE``, and ``measurable`` is False). At each later scan, with nadir
:math:`n` the smallest earlier diameter (baseline included):

* **PD** if :math:`d \ge 1.2\,n` and :math:`d - n \ge 5` mm, or the lesion reappears after
  a CR;
* **CR** if :math:`d = 0` (gone, or below the detection limit);
* **PR** if :math:`d \le 0.7\,d_0`;
* **SD** otherwise; **NE** if not measured (a failed simulation).

Boundaries are compared with a relative tolerance of 1e-9 (exactly +20 % is PD). The
best overall response (BOR) is the best time-point response up to the first PD; with
``confirm`` a CR/PR needs a later CR/PR at least ``confirm_days`` (28) later. SD counts
only from ``min_sd_days`` after baseline. Time to progression is the day of the first PD
minus the baseline day (censored at the last scan).

iRECIST (Seymour et al. 2017): a RECIST PD is *unconfirmed* progression (iUPD). It is
confirmed (iCPD) at a later scan, at least ``confirm_days`` (28) after it, when the
diameter has grown by a further :math:`\ge 5` mm over the iUPD measurement; while it
still meets PD criteria against the nadir it stays iUPD; if it falls back below them the
bar resets (iSD/iPR/iCR) and a new iUPD must again meet RECIST PD. The iBOR is the best
response up to iCPD (iUPD does not end the assessment): iCR > iPR > iSD, then iCPD when
progression was confirmed, else iUPD when it never was.

An iUPD whose sum was incomplete is never confirmed through the 5 mm rule.
:func:`recist_timepoints` and :func:`irecist_timepoints` also take several target lesions
per subject, nodes among them (a node back to >= 10 mm after a CR is PD). A subject whose
lesion is not measurable at baseline is NE and left out of the rates, so a cohort has no
non-target-only disease.

These vectorised rules are cross-checked against :func:`tgsim.clinical.recist`,
:func:`tgsim.clinical.irecist` and :func:`tgsim.clinical.hyperprogression` in the test
suite.

Growth and hyperprogression
---------------------------
The reference period runs from the scan before the baseline to the baseline, the
experimental period from the baseline to the first evaluation (the first scan after
``treatment_day``). Tumour growth rates TGR (% per month, Ferté et al. 2014) and
kinetics TGK (mm per month, Saâda-Bouzid et al. 2017) come from
:mod:`tgsim.clinical.kinetics` (``tgr_ref``, ``tgr_exp``). The hyperprogression
definitions (``definition`` coordinate) are those of :func:`tgsim.clinical.hyperprogression`,
vectorised for one lesion and no new lesions (the model has none):

``champiat2017``
    RECIST PD at the first evaluation and :math:`TGR_{exp} / TGR_{ref} \ge 2`.
``saada-bouzid2017``
    :math:`TGK_{exp} / TGK_{ref} \ge 2`.
``kato2017``
    PD at a first evaluation less than 2 months after treatment start, > 50 % increase
    from baseline and :math:`TGK_{exp} / TGK_{ref} > 2`.
``ferrara2018`` / ``kas2020``
    RECIST PD at the first evaluation and :math:`TGR_{exp} - TGR_{ref}` > 50 (> 100) %
    per month.
``matos2020``
    A first evaluation within 2 months with a >= 40 % increase from baseline.

A ratio counts as acceleration only for a positive reference rate. Definitions with a
reference period need a scan before the baseline; without it (or with a pre-baseline
diameter of 0) the subject is not evaluable: NaN, left out of the rate.

Threshold growth (LI-RADS v2018): a size increase of at least 50 % within 6 months
(:func:`tgsim.clinical.threshold.threshold_growth`), at any scan.

References
----------
Eisenhauer EA, et al. New response evaluation criteria in solid tumours: revised RECIST
guideline (version 1.1). *Eur J Cancer* 2009;45:228-247.
Seymour L, et al. iRECIST: guidelines for response criteria for use in trials testing
immunotherapeutics. *Lancet Oncol* 2017;18:e143-e152.
Champiat S, et al. Hyperprogressive disease is a new pattern of progression in cancer
patients treated by anti-PD-1/PD-L1. *Clin Cancer Res* 2017;23:1920-1928.
Saâda-Bouzid E, et al. Hyperprogression during anti-PD-1/PD-L1 therapy in patients with
recurrent and/or metastatic head and neck squamous cell carcinoma. *Ann Oncol*
2017;28:1605-1611.
Ferrara R, et al. Hyperprogressive disease in patients with advanced non-small cell lung
cancer treated with PD-1/PD-L1 inhibitors or with single-agent chemotherapy. *JAMA Oncol*
2018;4:1543-1552.
Ferté C, et al. Tumor growth rate is an early indicator of antitumor drug activity in
phase I clinical trials. *Clin Cancer Res* 2014;20:246-252.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .._deprecation import renamed
from ..clinical import rules
from ..errors import TgsimError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

    from ..observe import MeasurementError

__all__ = [
    "ScanProtocol",
    "ReadoutSettings",
    "RECIST_CODES",
    "IRECIST_CODES",
    "HYPERPROGRESSION_DEFINITIONS",
    "recist_timepoints",
    "best_response",
    "irecist_timepoints",
    "summarise_cohort",
]

#: RECIST 1.1 thresholds (Eisenhauer 2009), as in :mod:`tgsim.clinical.recist`
MEASURABLE_MM = 10.0
PR_DECREASE = 0.30
PD_INCREASE = 0.20
PD_ABSOLUTE_MM = 5.0
CONFIRM_DAYS = 28.0
REL_TOL = 1e-9
DAYS_PER_MONTH = 30.4375

#: response codes stored in ``recist_bor`` (int8), in order of preference
RECIST_CODES: tuple[str, ...] = ("CR", "PR", "SD", "PD", "NE")
#: response codes stored in ``irecist_bor`` (int8)
IRECIST_CODES: tuple[str, ...] = ("iCR", "iPR", "iSD", "iUPD", "iCPD", "NE")
CR, PR, SD, PD, NE = range(5)
I_CR, I_PR, I_SD, I_UPD, I_CPD, I_NE = range(6)
_NONE = -1  # no assessment (after iCPD)

#: hyperprogression definitions computed here (named as in :mod:`tgsim.clinical.hpd`)
HYPERPROGRESSION_DEFINITIONS: tuple[str, ...] = (
    "champiat2017", "saada-bouzid2017", "kato2017", "ferrara2018", "kas2020", "matos2020")
READINGS: tuple[str, ...] = ("measured", "error_free", "tumour")


def _at_least(value, bound):
    return np.asarray(value) >= np.asarray(bound) - REL_TOL * np.maximum(np.abs(bound), 1.0)


# --------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ScanProtocol:
    """How a cohort is scanned.

    Parameters
    ----------
    every_days : float or str
        Scan interval in days or a string ("6w", "8w", "3mo"); default 8 weeks (56 days).
    start_day, stop_day : float, optional
        First and last possible scan day (days); default the first and last simulated
        time.
    days : sequence of float, optional
        Explicit scan days instead of a regular schedule (increasing, inside the
        simulated times).
    error : MeasurementError, optional
        Reader variability on the diameter (:class:`tgsim.observe.AdditiveError`,
        ``ProportionalError``, ``CombinedError``, ``LogNormalError``), drawn per subject
        and scan from the cohort seed (the same draws in every scenario: common random
        numbers).
    detection_limit_mm : float
        Smallest visible diameter (mm); smaller lesions are recorded as 0 mm (gone).
    treatment_day : float
        Start of treatment (day): the RECIST baseline is the last scan on or before it;
        earlier scans form the reference period of growth kinetics.

    Examples
    --------
    Scans every 4 weeks with a 10 % reader error, treatment from day 28:

    >>> import numpy as np, tgsim
    >>> pop = {"initial_volume": tgsim.LogNormal(1.4e4, 0.3), "growth_rate": 0.01}
    >>> obs = tgsim.ScanProtocol(every_days="4w", error=tgsim.ProportionalError(cv=0.1),
    ...                          treatment_day=28.0)
    >>> ds = tgsim.simulate_cohort("exponential", np.arange(0.0, 169.0), pop, 10, seed=1,
    ...                            observation=obs)
    >>> ds.day.values.tolist(), dict(ds.diameter_mm.sizes)
    ([0.0, 28.0, 56.0, 84.0, 112.0, 140.0, 168.0], {'scenario': 1, 'subject': 10, 'scan': 7})
    """

    every_days: float | str = 56.0
    start_day: float | None = None
    stop_day: float | None = None
    days: Sequence[float] | None = None
    error: MeasurementError | None = None
    detection_limit_mm: float = 0.0
    treatment_day: float = 0.0

    def __post_init__(self) -> None:
        from ..observe import MeasurementError, parse_interval

        try:
            parse_interval(self.every_days)
        except TgsimError as exc:
            raise TgsimError(f"ScanProtocol: {exc}") from None
        for name in ("start_day", "stop_day"):
            v = getattr(self, name)
            if v is not None and not (isinstance(v, int | float) and math.isfinite(v)):
                raise TgsimError(f"ScanProtocol: `{name}` must be a finite number (days); "
                                 f"got {v!r}")
        if not (isinstance(self.detection_limit_mm, int | float)
                and math.isfinite(self.detection_limit_mm) and self.detection_limit_mm >= 0):
            raise TgsimError("ScanProtocol: `detection_limit_mm` must be a number >= 0; got "
                             f"{self.detection_limit_mm!r}")
        if not (isinstance(self.treatment_day, int | float) and math.isfinite(self.treatment_day)):
            raise TgsimError("ScanProtocol: `treatment_day` must be a finite number (days); got "
                             f"{self.treatment_day!r}")
        if self.error is not None and not isinstance(self.error, MeasurementError):
            raise TgsimError(
                "ScanProtocol: `error` must be None or a tgsim.observe MeasurementError "
                f"(AdditiveError, ProportionalError, CombinedError, LogNormalError); got "
                f"{self.error!r}"
            )
        if self.days is not None:
            d = np.asarray(self.days, dtype=np.float64).reshape(-1)
            if d.size == 0 or not np.all(np.isfinite(d)) or np.any(np.diff(d) <= 0):
                raise TgsimError("ScanProtocol: `days` must be finite and strictly increasing; "
                                 f"got {list(self.days)!r}")
            object.__setattr__(self, "days", tuple(float(x) for x in d))

    def scan_days(self, times: np.ndarray) -> np.ndarray:
        """The scan days for simulated ``times`` (validated: inside the times, with a
        baseline scan on or before ``treatment_day``)."""
        from ..observe import scan_schedule

        lo, hi = float(times[0]), float(times[-1])
        if self.days is not None:
            s = np.asarray(self.days, dtype=np.float64)
        else:
            s = scan_schedule(self.every_days, lo if self.start_day is None else self.start_day,
                              hi if self.stop_day is None else self.stop_day)
        tol = 1e-9 * max(1.0, abs(lo), abs(hi))
        out = (s < lo - tol) | (s > hi + tol)
        if out.any():
            raise TgsimError(
                f"ScanProtocol: scan day {float(s[np.flatnonzero(out)[0]]):g} lies outside the "
                f"simulated times [{lo:g}, {hi:g}] (days)"
            )
        if not np.any(s <= self.treatment_day + tol):
            raise TgsimError(
                f"ScanProtocol: no scan on or before treatment_day={self.treatment_day:g} "
                f"to serve as the baseline (first scan on day {s[0]:g})"
            )
        return s

    def baseline_index(self, days: np.ndarray) -> int:
        """Index of the baseline scan: the last on or before ``treatment_day``."""
        tol = 1e-9 * max(1.0, abs(self.treatment_day))
        return int(np.flatnonzero(days <= self.treatment_day + tol)[-1])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "every_days": self.every_days, "detection_limit_mm": self.detection_limit_mm,
            "treatment_day": self.treatment_day, "error": repr(self.error),
        }
        for k in ("start_day", "stop_day", "days"):
            v = getattr(self, k)
            if v is not None:
                out[k] = list(v) if k == "days" else v
        return out


@dataclass(frozen=True)
class ReadoutSettings:
    """Which per-subject read-outs a cohort run computes.

    Parameters
    ----------
    recist : bool
        RECIST 1.1 best overall response, progression and time to progression.
    irecist : bool
        iRECIST best overall response, unconfirmed (iUPD) and confirmed (iCPD)
        progression.
    confirm : bool
        Require confirmation of CR/PR for the best response.
    confirm_days : float
        Minimum interval (days) between a response and its confirmation (28).
    min_sd_days : float
        Minimum time after baseline (days) for SD to count as best response.
    threshold_growth : bool
        LI-RADS threshold growth (>= 50 % size increase in <= 6 months).
    hyperprogression : sequence of str
        Definitions to apply (see :data:`HYPERPROGRESSION_DEFINITIONS`); needs a scan
        before the baseline.
    burden_days : sequence of float
        Days at which to record the tumour volume (mm³); each must be a simulated time.

    Examples
    --------
    Untreated exponential growth at 1 %/day: by day 84 every diameter is 1.32 times its
    baseline, so every subject progresses by RECIST 1.1.

    >>> import numpy as np, tgsim
    >>> pop = {"initial_volume": tgsim.LogNormal(1.4e4, 0.3), "growth_rate": 0.01}
    >>> ds = tgsim.simulate_cohort("exponential", np.arange(0.0, 85.0), pop, 10, seed=1,
    ...                            observation=tgsim.ScanProtocol(every_days=42),
    ...                            readouts=tgsim.ReadoutSettings(recist=True, irecist=True))
    >>> bool(ds.progressed.all())
    True
    """

    recist: bool = True
    irecist: bool = False
    confirm: bool = False
    confirm_days: float = CONFIRM_DAYS
    min_sd_days: float = 0.0
    threshold_growth: bool = False
    hyperprogression: Sequence[str] = ()
    burden_days: Sequence[float] = ()

    def __post_init__(self) -> None:
        for name in ("recist", "irecist", "confirm", "threshold_growth"):
            if not isinstance(getattr(self, name), bool):
                raise TgsimError(f"ReadoutSettings: `{name}` must be true or false; got "
                                 f"{getattr(self, name)!r}")
        for name in ("confirm_days", "min_sd_days"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                    or v < 0:
                raise TgsimError(f"ReadoutSettings: `{name}` must be a number of days >= 0; "
                                 f"got {v!r}")
        hp = self.hyperprogression
        if isinstance(hp, str):
            hp = (hp,)
        hp = tuple(hp)
        bad = [d for d in hp if d not in HYPERPROGRESSION_DEFINITIONS]
        if bad:
            raise TgsimError(
                f"ReadoutSettings: unknown hyperprogression definition {bad[0]!r}; choose from "
                f"{', '.join(HYPERPROGRESSION_DEFINITIONS)}"
            )
        object.__setattr__(self, "hyperprogression", hp)
        try:
            bd = tuple(float(x) for x in self.burden_days)
        except (TypeError, ValueError):
            raise TgsimError("ReadoutSettings: `burden_days` must be a list of days; got "
                             f"{self.burden_days!r}") from None
        if not all(math.isfinite(x) for x in bd) or any(b <= a for a, b in zip(bd, bd[1:],
                                                                                strict=False)):
            raise TgsimError(f"ReadoutSettings: `burden_days` must be finite and increasing; "
                             f"got {bd!r}")
        object.__setattr__(self, "burden_days", bd)

    @property
    def needs_scans(self) -> bool:
        return self.recist or self.irecist or self.threshold_growth or bool(self.hyperprogression)

    def to_dict(self) -> dict[str, Any]:
        return {"recist": self.recist, "irecist": self.irecist, "confirm": self.confirm,
                "confirm_days": self.confirm_days, "min_sd_days": self.min_sd_days,
                "threshold_growth": self.threshold_growth,
                "hyperprogression": list(self.hyperprogression),
                "burden_days": list(self.burden_days)}


# ------------------------------------------------------------- time-point rules
# The rules themselves live in tgsim.clinical.rules, shared with tgsim.clinical.recist and
# tgsim.clinical.irecist; these functions turn diameters into the rule components and the
# shared codes into the int8 codes stored in a cohort Dataset.

#: shared rule code -> RECIST_CODES / IRECIST_CODES index (NONE, the last entry, -> -1)
_TO_RECIST = np.array([CR, PR, SD, NE, PD, NE, PD, PD, _NONE], dtype=np.int8)
_TO_IRECIST = np.array([I_CR, I_PR, I_SD, I_NE, I_CPD, I_NE, I_UPD, I_CPD, _NONE],
                       dtype=np.int8)


def _components(diameters_mm: np.ndarray, is_node: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, None]:
    """Target sum, completeness and normality per scan (and no new lesions: None)."""
    d = np.asarray(diameters_mm, dtype=np.float64)
    if d.ndim == 2 and is_node is None:  # one non-nodal lesion: the cohort's fast path
        gone = np.isnan(d)
        return np.where(gone, 0.0, d), ~gone, (d == 0) | gone, None
    if d.ndim == 2:
        d = d[:, :, None]
    if d.ndim != 3:
        raise TgsimError("`diameters_mm` must have shape (n_subjects, n_scans) or "
                         f"(n_subjects, n_scans, n_lesions); got shape {d.shape}")
    n, m, k = d.shape
    node = np.zeros((n, k), dtype=bool) if is_node is None else np.asarray(is_node, dtype=bool)
    try:
        node = np.broadcast_to(node, (n, k))[:, None, :]
    except ValueError:
        raise TgsimError(f"`is_node` must have shape ({k},) or ({n}, {k}) for {k} lesion(s); "
                         f"got shape {np.shape(is_node)}") from None
    measured = ~np.isnan(d)
    with np.errstate(invalid="ignore"):
        normal = (np.where(node, d < rules.NODE_NORMAL_MM, d == 0) | ~measured).all(axis=2)
    return np.nansum(d, axis=2), measured.all(axis=2), normal, None


def _timepoints(diameters_mm: np.ndarray, is_node: np.ndarray | None
                ) -> tuple[rules.Timepoints, np.ndarray, np.ndarray, np.ndarray]:
    total, complete, normal, _ = _components(diameters_mm, is_node)
    tp = rules.recist_codes(total, complete, normal, None, None,
                            has_targets=np.ones(total.shape[0], dtype=bool))
    zeros = np.zeros(total.shape, dtype=np.int64)
    return tp, total, complete, zeros


def recist_timepoints(diameters_mm: np.ndarray, is_node: np.ndarray | None = None
                      ) -> np.ndarray:
    """RECIST 1.1 time-point responses of target lesions, per subject.

    Parameters
    ----------
    diameters_mm : ndarray, shape (n_subjects, n_scans) or (n_subjects, n_scans, n_lesions)
        Column 0 is the baseline, later columns the assessments (mm; 0 = not seen,
        NaN = not measured). A 2-D array is one target lesion per subject; every lesion is
        taken as a measurable target (no non-target or new lesions).
    is_node : ndarray of bool, shape (n_lesions,) or (n_subjects, n_lesions), optional
        Which lesions are lymph nodes (measured by short axis; normal below 10 mm).

    Returns
    -------
    ndarray of int8, shape (n_subjects, n_scans - 1)
        Codes into :data:`RECIST_CODES` (CR, PR, SD, PD, NE), by the rules of
        :mod:`tgsim.clinical.rules` (the same as :func:`tgsim.clinical.recist`).
    """
    tp, *_ = _timepoints(diameters_mm, is_node)
    return _TO_RECIST[tp.overall[:, 1:]]


def irecist_timepoints(diameters_mm: np.ndarray, days: np.ndarray | None = None, *,
                       confirm_days: float = CONFIRM_DAYS,
                       is_node: np.ndarray | None = None) -> np.ndarray:
    """iRECIST time-point responses of target lesions, per subject.

    Same layout as :func:`recist_timepoints`, with ``days`` the scan days (column 0 the
    baseline; default: ``confirm_days`` apart); codes into :data:`IRECIST_CODES`, and
    -1 for scans after confirmed progression (iCPD ends the assessment). An iUPD is
    confirmed at a scan at least ``confirm_days`` after it by the rules of
    :func:`tgsim.clinical.rules.irecist_codes` (the same as :func:`tgsim.clinical.irecist`).
    """
    tp, total, complete, zeros = _timepoints(diameters_mm, is_node)
    m = total.shape[1]
    t = (np.arange(m, dtype=np.float64) * confirm_days if days is None
         else np.asarray(days, dtype=np.float64))
    codes = rules.irecist_codes(t, tp, total, complete, zeros, np.zeros(total.shape),
                                confirm_days=confirm_days)[:, 1:]
    cpd = codes == rules.CPD
    after = (np.cumsum(cpd, axis=1) - cpd) > 0
    return np.where(after, _NONE, _TO_IRECIST[codes]).astype(np.int8)


def best_response(codes: np.ndarray, days_after_baseline: np.ndarray, *, irecist: bool = False,
                  confirm: bool = False, confirm_days: float = CONFIRM_DAYS,
                  min_sd_days: float = 0.0) -> np.ndarray:
    """Best overall response from time-point codes, per subject.

    RECIST: the best response up to the first PD (CR > PR > SD > PD > NE). iRECIST: up to
    iCPD, iUPD not terminal (iCR > iPR > iSD, then iCPD if progression was confirmed, else
    iUPD if it never was, else NE). With ``confirm`` a CR
    (PR) needs a CR (CR or PR) at least ``confirm_days`` later with nothing but CR (CR,
    PR) or NE in between; an unconfirmed response counts as SD. SD needs
    ``days_after_baseline >= min_sd_days``. The rules are those of
    :func:`tgsim.clinical.rules.best_codes`.

    Parameters
    ----------
    codes : ndarray (n_subjects, n_assessments)
    days_after_baseline : ndarray (n_assessments,)
    """
    c = np.asarray(codes, dtype=np.int64)
    if irecist:
        shared = np.array([rules.CR, rules.PR, rules.SD, rules.UPD, rules.CPD, rules.NE,
                           rules.NONE])
        back = _TO_IRECIST
    else:
        shared = np.array([rules.CR, rules.PR, rules.SD, rules.PD, rules.NE, rules.NONE])
        back = _TO_RECIST
    best, _ = rules.best_codes(shared[c], days_after_baseline, confirm=confirm,
                               confirm_days=confirm_days, min_sd_days=min_sd_days)
    return back[best].astype(np.int8)


# ------------------------------------------------------------------ per chunk
def scan_chunk(obs: ScanProtocol, times: np.ndarray, volume: np.ndarray,
               observed: np.ndarray | None, seed: int, start: int) -> dict[str, np.ndarray]:
    """Scan one chunk of subjects (rows ``start ..``) of one scenario.

    Returns ``diameter_mm`` (measured), and, when they differ, ``true_diameter_mm``
    (observed size without error) and ``tumour_diameter_mm`` (tumour alone), each
    ``(n, n_scans)`` in mm, with the detection limit applied (0 = not seen).
    """
    import xarray as xr

    from ..observe import scan
    from .streams import STREAM_BLOCK, STREAM_OBSERVATION, block_generator

    days = obs.scan_days(times)
    n = volume.shape[0]
    src = volume if observed is None else observed
    ds = xr.Dataset({"volume": (("subject", "time"), np.where(np.isnan(src), np.nan,
                                                               np.maximum(src, 0.0)))},
                    coords={"subject": np.arange(n), "time": times})
    sc = scan(ds, days=days, detection_limit_mm=obs.detection_limit_mm)
    true_d = sc["diameter_mm"].values  # error free, detection limit applied
    out: dict[str, np.ndarray] = {}
    if obs.error is None:
        out["diameter_mm"] = true_d
    else:
        raw = sc["true_diameter_mm"].values
        visible = sc["visible"].values
        noisy = np.empty_like(raw)
        stop = start + n
        for k in range(start // STREAM_BLOCK, (stop - 1) // STREAM_BLOCK + 1):
            a, b = k * STREAM_BLOCK, (k + 1) * STREAM_BLOCK
            lo, hi = max(a, start), min(b, stop)
            padded = np.full((STREAM_BLOCK, days.size), np.nan)
            padded[lo - a:hi - a] = raw[lo - start:hi - start]
            noisy[lo - start:hi - start] = obs.error.apply(
                padded, block_generator(seed, STREAM_OBSERVATION, k))[lo - a:hi - a]
        out["diameter_mm"] = np.where(visible, noisy, np.where(np.isnan(raw), np.nan, 0.0))
        out["true_diameter_mm"] = true_d
    if observed is not None:
        tv = xr.Dataset({"volume": (("subject", "time"), np.where(
            np.isnan(volume), np.nan, np.maximum(volume, 0.0)))},
            coords={"subject": np.arange(n), "time": times})
        out["tumour_diameter_mm"] = scan(tv, days=days,
                                         detection_limit_mm=obs.detection_limit_mm)[
            "diameter_mm"].values
    return out


def readings_of(scans: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The diameters of each reading present in a :func:`scan_chunk` result."""
    out = {"measured": scans["diameter_mm"]}
    if "true_diameter_mm" in scans:
        out["error_free"] = scans["true_diameter_mm"]
    if "tumour_diameter_mm" in scans:
        out["tumour"] = scans["tumour_diameter_mm"]
    return out


def readout_chunk(ro: ReadoutSettings, obs: ScanProtocol | None, days: np.ndarray | None,
                  diameters: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per-subject read-outs of one reading: ``{name: array (n, ...)}``.

    ``diameters`` is ``(n, n_scans)`` in mm on scan ``days``.
    """
    out: dict[str, np.ndarray] = {}
    if diameters is None or obs is None or days is None:
        return out
    d = np.asarray(diameters, dtype=np.float64)
    b = obs.baseline_index(days)
    post = d[:, b:]
    t_after = days[b + 1:] - days[b]
    base = d[:, b]
    with np.errstate(invalid="ignore"):
        measurable = _at_least(base, MEASURABLE_MM) & ~np.isnan(base)
    if ro.recist:
        codes = recist_timepoints(post)
        codes[~measurable] = NE
    if ro.recist:
        bor = best_response(codes, t_after, confirm=ro.confirm, confirm_days=ro.confirm_days,
                            min_sd_days=ro.min_sd_days)
        bor[~measurable] = NE
        out["measurable"] = measurable
        out["recist_bor"] = bor
        is_pd = codes == PD
        progressed = is_pd.any(axis=1)
        first = np.argmax(is_pd, axis=1)
        ttp = np.where(progressed, t_after[first] if t_after.size else np.nan, np.nan)
        measured_any = ~np.isnan(post[:, 1:])
        last = np.where(measured_any.any(axis=1),
                        (measured_any.shape[1] - 1) - np.argmax(measured_any[:, ::-1], axis=1), -1)
        censor = np.where(last >= 0, t_after[np.maximum(last, 0)] if t_after.size else np.nan,
                          np.nan)
        out["progressed"] = progressed & measurable
        out["time_to_progression"] = np.where(measurable, np.where(progressed, ttp, censor),
                                              np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            change = 100.0 * (post[:, 1:] / base[:, None] - 1.0)
        valid = (np.cumsum(is_pd, axis=1) - is_pd == 0) & ~np.isnan(change)
        best = np.where(valid, change, np.inf).min(axis=1, initial=np.inf)
        best = np.where(np.isinf(best), np.nan, best)
        out["best_change_pct"] = np.where(measurable, best, np.nan)
    if ro.irecist:
        icodes = irecist_timepoints(post, days[b:], confirm_days=ro.confirm_days)
        icodes[~measurable] = I_NE
        ibor = best_response(icodes, t_after, irecist=True, confirm=ro.confirm,
                             confirm_days=ro.confirm_days, min_sd_days=ro.min_sd_days)
        ibor[~measurable] = I_NE
        out["irecist_bor"] = ibor
        out["iupd"] = (icodes == I_UPD).any(axis=1) & measurable
        out["icpd"] = (icodes == I_CPD).any(axis=1) & measurable
    if ro.threshold_growth:
        from ..clinical.threshold import threshold_growth

        out["threshold_growth"] = threshold_growth(days, d).any(axis=-1)
    if ro.hyperprogression:
        out.update(_hyperprogression(ro, days, d, b, obs.treatment_day))
    return out


def _hyperprogression(ro: ReadoutSettings, days: np.ndarray, d: np.ndarray, b: int,
                      treatment_day: float) -> dict[str, np.ndarray]:
    """Vectorised :func:`tgsim.clinical.hyperprogression` for one lesion per subject (no
    new lesions: the model has none)."""
    from ..clinical.kinetics import tumour_growth_kinetics, tumour_growth_rate

    n = d.shape[0]
    k = len(ro.hyperprogression)
    nan = np.full(n, np.nan)
    if b + 1 >= days.size:
        return {"tgr_ref": nan, "tgr_exp": nan.copy(), "hyperprogression": np.full((n, k), np.nan)}
    base, first = d[:, b], d[:, b + 1]
    ok_exp = np.isfinite(base) & np.isfinite(first)

    def rates(t2: np.ndarray, a: np.ndarray, c: np.ndarray, ok: np.ndarray):
        pair = np.stack([np.where(ok, a, 1.0), np.where(ok, c, 1.0)], axis=1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            tgr = np.asarray(tumour_growth_rate(t2, pair), dtype=np.float64).reshape(n)
            tgk = np.asarray(tumour_growth_kinetics(t2, pair), dtype=np.float64).reshape(n)
        return np.where(ok, tgr, np.nan), np.where(ok, tgk, np.nan)

    tgr_exp, tgk_exp = rates(days[b:b + 2], base, first, ok_exp)
    if b >= 1:
        pre = d[:, b - 1]
        ok_ref = np.isfinite(pre) & np.isfinite(base)
        tgr_ref, tgk_ref = rates(days[b - 1:b + 1], pre, base, ok_ref)
    else:
        tgr_ref, tgk_ref = nan, nan.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        pd_first = (base > 0) & _at_least(first, (1.0 + PD_INCREASE) * base) & _at_least(
            first - base, PD_ABSOLUTE_MM)
        change = np.where(base > 0, 100.0 * (first / base - 1.0), np.nan)
        delta = tgr_exp - tgr_ref

        def accelerated(exp, ref, strict):
            good = np.isfinite(exp) & np.isfinite(ref) & (ref > 0)
            r = exp / np.where(good, ref, 1.0)
            return good & ((r > 2.0) if strict else _at_least(r, 2.0))

    tol = 1e-9 * max(1.0, abs(treatment_day))
    first_after = days[b + 1] - treatment_day
    early = first_after < 2.0 * DAYS_PER_MONTH
    computable_ref = ok_exp & np.isfinite(tgr_ref)
    out = np.full((n, k), np.nan)
    for i, name in enumerate(ro.hyperprogression):
        if name == "champiat2017":
            hit, ev = pd_first & accelerated(tgr_exp, tgr_ref, False), computable_ref
        elif name == "saada-bouzid2017":
            hit, ev = accelerated(tgk_exp, tgk_ref, False), computable_ref
        elif name == "kato2017":
            hit = (pd_first & early) & (np.nan_to_num(change, nan=-np.inf) > 50.0) & \
                accelerated(tgk_exp, tgk_ref, True)
            ev = computable_ref
        elif name in ("ferrara2018", "kas2020"):
            limit = 50.0 if name == "ferrara2018" else 100.0
            hit, ev = pd_first & (np.nan_to_num(delta, nan=-np.inf) > limit), computable_ref
        else:  # matos2020, with no new lesions
            within = first_after <= 2.0 * DAYS_PER_MONTH + tol
            hit = within & _at_least(np.nan_to_num(change, nan=-np.inf), 40.0)
            ev = ok_exp
        out[:, i] = np.where(ev, hit.astype(np.float64), np.nan)
    return {"tgr_ref": tgr_ref, "tgr_exp": tgr_exp, "hyperprogression": out}


# ------------------------------------------------------------------- summaries
def _km_median(time: np.ndarray, event: np.ndarray) -> float:
    """Kaplan-Meier median (days): the first time the survival estimate is <= 0.5."""
    ok = np.isfinite(time)
    t, e = time[ok], event[ok].astype(bool)
    if t.size == 0:
        return math.nan
    order = np.lexsort((~e, t))  # events before censorings at tied times
    t, e = t[order], e[order]
    uniq, first = np.unique(t, return_index=True)
    at_risk = t.size - first
    deaths = np.add.reduceat(e.astype(np.int64), first)
    surv = np.cumprod(1.0 - deaths / at_risk)
    hit = np.flatnonzero(surv <= 0.5 + 1e-12)
    return float(uniq[hit[0]]) if hit.size else math.nan


def summarise_cohort(ds: xr.Dataset) -> pd.DataFrame:
    """Cohort rates from a cohort Dataset (:func:`tgsim.simulate_cohort` output).

    Returns
    -------
    pandas.DataFrame
        Tidy table, one row per statistic: ``scenario, readout, reading, statistic,
        value, unit, n`` (``n`` = subjects the statistic is computed over: its
        denominator). Rates are in percent of the evaluable subjects; times in days;
        volumes in mm³. Subjects whose simulation failed (``status != 0``) are left out
        of every read-out and counted in ``failed``; with none evaluable, rates are NaN.

    Notes
    -----
    ===================  ==========================================================
    readout              statistics
    ===================  ==========================================================
    status               ``subjects``, ``failed`` (status != 0), ``evaluable``
    burden_day_D         ``median``, ``q05``, ``q95`` of the tumour volume on day D
    recist               ``measurable``; ``CR_rate`` ... ``NE_rate`` (best overall
                         response, % of measurable subjects);
                         ``objective_response_rate`` (CR + PR);
                         ``disease_control_rate`` (CR + PR + SD); ``progressed``
                         (any PD); ``median_time_to_progression`` (Kaplan-Meier,
                         days; NaN when not reached)
    recist, reading      ``category_flip_rate``: best response differs between the
    "measured vs         two readings (reader error alone);
    error_free" / "...   ``false_progression_rate``: % of subjects progressed on the
    vs tumour"           measured size whose tumour never progressed
    irecist              ``iCR_rate`` ... ``NE_rate``; ``unconfirmed_iupd_rate``
                         (iUPD never confirmed); ``recist_pd_not_confirmed`` (% of
                         RECIST-progressed subjects without iCPD);
                         ``category_flip_rate``
    threshold_growth     ``rate``
    hyperprogression     ``<definition>_rate`` (% of evaluable subjects)
    ===================  ==========================================================

    Examples
    --------
    Untreated growth at 1 %/day: SD at day 42 (diameters x 1.15), PD at day 84 (x 1.32).

    >>> import numpy as np, tgsim
    >>> pop = {"initial_volume": tgsim.LogNormal(1.4e4, 0.3), "growth_rate": 0.01}
    >>> ds = tgsim.simulate_cohort("exponential", np.arange(0.0, 85.0), pop, 10, seed=1,
    ...     observation=tgsim.ScanProtocol(every_days=42), readouts=tgsim.ReadoutSettings())
    >>> recist = tgsim.summarise_cohort(ds).query("readout == 'recist'").set_index("statistic")
    >>> recist.loc[["SD_rate", "progressed", "median_time_to_progression"], "value"].tolist()
    [100.0, 100.0, 84.0]
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    scen = [str(s) for s in ds["scenario"].values]
    readings = [str(r) for r in ds["reading"].values] if "reading" in ds.coords else []

    def add(s, readout, reading, stat, value, unit, n):
        rows.append({"scenario": s, "readout": readout, "reading": reading, "statistic": stat,
                     "value": float(value), "unit": unit, "n": int(n)})

    def load(name: str) -> np.ndarray:
        return np.asarray(ds[name].values)

    status = load("status")
    ok = status == 0  # read-outs count only the evaluable (non-failed) subjects
    for i, s in enumerate(scen):
        add(s, "status", "", "subjects", status.shape[1], "count", status.shape[1])
        add(s, "status", "", "failed", int(np.sum(~ok[i])), "count", status.shape[1])
        add(s, "status", "", "evaluable", int(np.sum(ok[i])), "count", status.shape[1])
    if "burden" in ds.data_vars:
        burden = load("burden")
        for i, s in enumerate(scen):
            for j, day in enumerate(ds["burden_day"].values):
                x = burden[i, :, j][ok[i]]
                x = x[np.isfinite(x)]
                for stat, q in (("median", 0.5), ("q05", 0.05), ("q95", 0.95)):
                    v = np.quantile(x, q) if x.size else math.nan
                    add(s, f"burden_day_{float(day):g}", "tumour", stat, v, "mm^3", x.size)
    if "recist_bor" in ds.data_vars:
        bor = load("recist_bor")
        meas = load("measurable")
        ttp = load("time_to_progression")
        prog = load("progressed")
        for i, s in enumerate(scen):
            for r, reading in enumerate(readings):
                m = meas[i, :, r].astype(bool) & ok[i]
                b = bor[i, :, r][m]
                nm = int(m.sum())
                add(s, "recist", reading, "measurable", nm, "count", int(ok[i].sum()))
                for code, label in enumerate(RECIST_CODES):
                    add(s, "recist", reading, f"{label}_rate", _pct(b == code), "%", nm)
                add(s, "recist", reading, "objective_response_rate", _pct(b <= PR), "%", nm)
                add(s, "recist", reading, "disease_control_rate", _pct(b <= SD), "%", nm)
                add(s, "recist", reading, "progressed", _pct(prog[i, :, r][m]), "%", nm)
                add(s, "recist", reading, "median_time_to_progression",
                    _km_median(ttp[i, :, r][m], prog[i, :, r][m]), "day", nm)
            if "measured" in readings and "error_free" in readings:
                a, e = readings.index("measured"), readings.index("error_free")
                m = meas[i, :, a].astype(bool) & meas[i, :, e].astype(bool) & ok[i]
                add(s, "recist", "measured vs error_free", "category_flip_rate",
                    _pct(bor[i, :, a][m] != bor[i, :, e][m]), "%", int(m.sum()))
            if "measured" in readings and "tumour" in readings:
                a, t = readings.index("measured"), readings.index("tumour")
                called = prog[i, :, a].astype(bool) & ok[i]
                add(s, "recist", "measured vs tumour", "false_progression_rate",
                    _pct(~prog[i, :, t][called].astype(bool)), "% of progressed",
                    int(called.sum()))
    if "irecist_bor" in ds.data_vars:
        ibor = load("irecist_bor")
        iupd = load("iupd")
        icpd = load("icpd")
        meas = load("measurable") if "measurable" in ds else None
        prog = load("progressed") if "progressed" in ds else None
        for i, s in enumerate(scen):
            for r, reading in enumerate(readings):
                m = (meas[i, :, r].astype(bool) if meas is not None
                     else ibor[i, :, r] != I_NE) & ok[i]
                b = ibor[i, :, r][m]
                nm = int(m.sum())
                for code, label in enumerate(IRECIST_CODES):
                    add(s, "irecist", reading, f"{label}_rate", _pct(b == code), "%", nm)
                up, cp = iupd[i, :, r][m].astype(bool), icpd[i, :, r][m].astype(bool)
                add(s, "irecist", reading, "unconfirmed_iupd_rate", _pct(up & ~cp), "%", nm)
                if prog is not None:
                    pd_ = prog[i, :, r][m].astype(bool)
                    add(s, "irecist", reading, "recist_pd_not_confirmed",
                        _pct(~cp[pd_]), "% of progressed", int(pd_.sum()))
            if "measured" in readings and "error_free" in readings:
                a, e = readings.index("measured"), readings.index("error_free")
                m = (ibor[i, :, a] != I_NE) & ok[i]
                add(s, "irecist", "measured vs error_free", "category_flip_rate",
                    _pct(ibor[i, :, a][m] != ibor[i, :, e][m]), "%", int(m.sum()))
    if "threshold_growth" in ds.data_vars:
        tg = load("threshold_growth")
        for i, s in enumerate(scen):
            for r, reading in enumerate(readings):
                add(s, "threshold_growth", reading, "rate", _pct(tg[i, :, r][ok[i]]), "%",
                    int(ok[i].sum()))
    if "hyperprogression" in ds.data_vars:
        hp = load("hyperprogression")
        defs = [str(x) for x in ds["definition"].values]
        for i, s in enumerate(scen):
            for r, reading in enumerate(readings):
                for k, name in enumerate(defs):
                    x = hp[i, :, r, k]
                    ev = np.isfinite(x) & ok[i]
                    add(s, "hyperprogression", reading, f"{name}_rate",
                        100.0 * float(np.mean(x[ev])) if ev.any() else math.nan, "%",
                        int(ev.sum()))
    return pd.DataFrame(rows, columns=["scenario", "readout", "reading", "statistic", "value",
                                       "unit", "n"])


def _pct(mask: np.ndarray) -> float:
    mask = np.asarray(mask, dtype=bool)
    return 100.0 * float(mask.mean()) if mask.size else math.nan


def code_attrs(codes: Sequence[str], long_name: str) -> dict[str, Any]:
    """CF flag attrs for a response-code variable."""
    return {"flag_values": list(range(len(codes))),
            "flag_meanings": " ".join(c.replace("/", "_") for c in codes),
            "long_name": long_name}


@dataclass
class _VarSpec:
    dims: tuple[str, ...]
    dtype: Any
    attrs: dict[str, Any] = field(default_factory=dict)


def readout_layout(ro: ReadoutSettings, has_scans: bool) -> dict[str, _VarSpec]:
    """Variables (beyond ``scenario, subject, reading``) each read-out adds."""
    base = ("scenario", "subject", "reading")
    out: dict[str, _VarSpec] = {}
    if not has_scans:
        return out
    if ro.recist:
        out["measurable"] = _VarSpec(base, np.bool_, {
            "long_name": "target lesion measurable at baseline (>= 10 mm)"})
        out["recist_bor"] = _VarSpec(base, np.int8, code_attrs(
            RECIST_CODES, "RECIST 1.1 best overall response"))
        out["progressed"] = _VarSpec(base, np.bool_, {"long_name": "RECIST progression seen"})
        out["time_to_progression"] = _VarSpec(base, np.float64, {
            "units": "day", "long_name": "time to RECIST progression from baseline "
            "(censored at the last scan when progressed is false)"})
        out["best_change_pct"] = _VarSpec(base, np.float64, {
            "units": "%", "long_name": "best change of the target diameter from baseline"})
    if ro.irecist:
        out["irecist_bor"] = _VarSpec(base, np.int8, code_attrs(
            IRECIST_CODES, "iRECIST best overall response"))
        out["iupd"] = _VarSpec(base, np.bool_, {"long_name": "iRECIST unconfirmed progression "
                                                             "(iUPD) seen"})
        out["icpd"] = _VarSpec(base, np.bool_, {"long_name": "iRECIST confirmed progression "
                                                             "(iCPD) seen"})
    if ro.threshold_growth:
        out["threshold_growth"] = _VarSpec(base, np.bool_, {
            "long_name": "LI-RADS threshold growth (>= 50 % in <= 6 months) at any scan"})
    if ro.hyperprogression:
        out["tgr_ref"] = _VarSpec(base, np.float64, {
            "units": "%/month", "long_name": "tumour growth rate, reference (pre-treatment) "
            "period"})
        out["tgr_exp"] = _VarSpec(base, np.float64, {
            "units": "%/month", "long_name": "tumour growth rate, experimental period "
            "(baseline to first evaluation)"})
        out["hyperprogression"] = _VarSpec((*base, "definition"), np.float64, {
            "long_name": "hyperprogression (1 yes, 0 no, NaN not evaluable)"})
    return out


#: former names kept for one release (a DeprecationWarning says the new one)
_RENAMED = {"Observation": "ScanProtocol", "Readouts": "ReadoutSettings",
            "summarise": "summarise_cohort"}


def __getattr__(name: str):
    return renamed(__name__, _RENAMED, name, globals())
