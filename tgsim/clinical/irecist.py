"""iRECIST: RECIST 1.1 adapted to immunotherapy, with confirmation of progression.

Diameters in **mm**, days in **days**. Each assessment is first judged by RECIST 1.1
(:mod:`tgsim.clinical.recist`: target sum against baseline and nadir, non-target status,
new lesions; new lesions are recorded but never added to the target sum). Then
(Seymour et al. 2017):

* The first RECIST progression is **iUPD** (unconfirmed). The categories that caused it
  (target, non-target, new lesions) and the target sum, new-lesion sum and new-lesion
  count at that assessment are the reference.
* At the next assessment at least ``confirm_days`` (4 weeks; the guideline asks for
  4-8 weeks) later, progression is confirmed, **iCPD**, when there is further increase:

  - target lesions: the sum increased by >= 5 mm over the iUPD sum (if targets caused
    iUPD), or targets now meet RECIST PD (if they did not). An incomplete target sum
    confirms nothing through the 5 mm rule: when a target was missing at the iUPD scan
    the sum there is only a lower bound (and the later sum must be complete too);
  - non-target lesions: non-target PD again (status ``progression``, or a lesion back
    after an overall iCR);
  - new lesions: their sum of diameters increased by >= 5 mm, or there are more new
    lesions than at iUPD (or any new lesion if none caused iUPD).

  An assessment later than 8 weeks is still used (the guideline asks for the next one).
* Progression is **reset** when a later assessment meets iSD, iPR, iCR or
  non-iCR/non-iUPD (RECIST SD, PR, CR or non-CR/non-PD against baseline and nadir; a new
  lesion still present keeps it iUPD; an iNE keeps the iUPD pending). The next
  progression is then again iUPD, measured against the nadir.
* Otherwise the status stays iUPD. After iCPD every later assessment is iCPD.

Non-target-only disease is iCR, non-iCR/non-iUPD, iUPD/iCPD or iNE, never iSD. The rules
are applied by :mod:`tgsim.clinical.rules` (shared with :mod:`tgsim.cohort.readouts`); the
conventions are listed in :mod:`tgsim.clinical.recist` and the README.

The split of new lesions into "new target" (>= 10 mm, at most 5) and "new non-target"
is simplified: the new-lesion sum adds every measured new lesion, and the count counts
every new lesion.

References
----------
Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria for
use in trials testing immunotherapeutics. *Lancet Oncol* 2017;18(3):e143-e152.
"""

from __future__ import annotations

from typing import Any

from .recist import (
    CONFIRM_DAYS,
    ResponseAssessment,
    TreatmentDay,
    _assess,
    _check_options,
)

__all__ = ["IRECIST_RESPONSES", "irecist"]

#: Time-point and best-response labels of iRECIST.
IRECIST_RESPONSES: tuple[str, ...] = (
    "iCR",
    "iPR",
    "iSD",
    "non-iCR/non-iUPD",
    "iUPD",
    "iCPD",
    "iNE",
)


def irecist(
    data: Any,
    *,
    treatment_day: TreatmentDay = None,
    confirm: bool = False,
    confirm_days: float = CONFIRM_DAYS,
    min_sd_days: float = 0.0,
) -> ResponseAssessment:
    """Assess response by iRECIST (Seymour et al. 2017).

    See the module documentation for the rules. Time-point responses are iCR, iPR, iSD,
    iUPD, iCPD and iNE (and non-iCR/non-iUPD for non-target-only disease).

    Parameters
    ----------
    data
        Lesion data as for :func:`~tgsim.clinical.recist` (DataFrame, lesion Dataset or
        scan Dataset); days in days, diameters in mm.
    treatment_day
        Day treatment starts (number or mapping subject -> day); baseline is the last
        assessment on or before it. Default: each subject's first assessment.
    confirm
        Require confirmation of iCR / iPR (>= ``confirm_days`` apart) for the best
        overall response.
    confirm_days
        Minimum interval in days for confirming iUPD (and iCR/iPR); 28 (4 weeks).
    min_sd_days
        Minimum time after baseline for iSD (and non-iCR/non-iUPD) to count as best
        response.

    Returns
    -------
    ResponseAssessment
        ``.table`` (one row per subject and assessment, with ``new_lesion_sum_mm``),
        ``.best`` (best overall response: the best of iCR > iPR > iSD > iUPD > iCPD until
        the first iCPD; iUPD only when progression was never confirmed), ``.summary()``.

    References
    ----------
    Seymour L, Bogaerts J, Perrone A, et al. iRECIST: guidelines for response criteria
    for use in trials testing immunotherapeutics. *Lancet Oncol* 2017;18(3):e143-e152.

    Examples
    --------
    The same lesions as for :func:`tgsim.recist`: RECIST PD is iRECIST's unconfirmed
    progression, iUPD.

    >>> import pandas as pd, tgsim
    >>> lesions = pd.DataFrame({"subject": "p1", "day": [0, 0, 42, 42, 84, 84],
    ...                         "lesion": ["liver", "lung"] * 3,
    ...                         "diameter_mm": [30.0, 20.0, 20.0, 12.0, 28.0, 16.0]})
    >>> tgsim.irecist(lesions).table["response"].tolist()
    [nan, 'iPR', 'iUPD']
    """
    _check_options(confirm_days, min_sd_days)
    table, best = _assess(
        data,
        treatment_day,
        confirm=confirm,
        confirm_days=confirm_days,
        min_sd_days=min_sd_days,
        irecist=True,
    )
    return ResponseAssessment(
        "iRECIST",
        table,
        best,
        {
            "treatment_day": treatment_day,
            "confirm": confirm,
            "confirm_days": confirm_days,
            "min_sd_days": min_sd_days,
        },
    )
