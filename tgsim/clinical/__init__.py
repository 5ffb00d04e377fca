"""Clinical read-outs: response criteria, growth kinetics, hyperprogression and staging.

Units: time in **days**, diameters in **mm**, volumes in **mm^3**; "per month" means
per 30.4375 days (:data:`DAYS_PER_MONTH`).

=================================  =======================================================
:func:`recist`                     RECIST 1.1 (Eisenhauer 2009)
:func:`irecist`                    iRECIST (Seymour 2017)
:func:`threshold_growth`           LI-RADS v2018 / EASL threshold growth
:func:`tumour_growth_rate`         TGR, % per month (Ferté 2014)
:func:`tumour_growth_kinetics`     TGK, mm per month (Saâda-Bouzid 2017)
:func:`hyperprogression`           named HPD definitions (Champiat 2017, Saâda-Bouzid
                                   2017, Kato 2017, Ferrara 2018, Lo Russo 2019, Matos
                                   2020, Kas 2020)
:func:`hyperprogression_cohort`    all definitions over a cohort, with
:func:`hyperprogression_agreement` pairwise Cohen's kappa
:func:`doubling_time`              volume doubling time, days
:func:`specific_growth_rate`       SGR, 1/day
:func:`t_stage`                    AJCC 8th ed. T category from size (lung, breast)
:func:`metastasis_size_class`      ITC / micrometastasis / macrometastasis
:func:`assess_pseudoprogression`   scans of one subject read by RECIST 1.1 and iRECIST
=================================  =======================================================
"""

from __future__ import annotations

from ._common import DAYS_PER_MONTH
from .hpd import (
    HYPERPROGRESSION_DEFINITIONS,
    Agreement,
    HyperprogressionCohort,
    HyperprogressionResult,
    cohen_kappa,
    hyperprogression,
    hyperprogression_agreement,
    hyperprogression_cohort,
)
from .irecist import IRECIST_RESPONSES, irecist
from .kinetics import (
    doubling_time,
    specific_growth_rate,
    tumour_growth_kinetics,
    tumour_growth_rate,
)
from .pseudoprogression import (
    PseudoprogressionAssessment,
    assess_pseudoprogression,
    pd_thresholds,
    scan_categories,
)
from .recist import (
    RECIST_RESPONSES,
    ResponseAssessment,
    best_overall_response,
    recist,
    target_sums,
)
from .staging import ITC_MAX_MM, MICRO_MAX_MM, metastasis_size_class, t_stage
from .threshold import THRESHOLD_GROWTH_WINDOW_DAYS, threshold_growth

__all__ = [
    "DAYS_PER_MONTH",
    "assess_pseudoprogression",
    "PseudoprogressionAssessment",
    "scan_categories",
    "pd_thresholds",
    "recist",
    "irecist",
    "best_overall_response",
    "target_sums",
    "ResponseAssessment",
    "RECIST_RESPONSES",
    "IRECIST_RESPONSES",
    "threshold_growth",
    "THRESHOLD_GROWTH_WINDOW_DAYS",
    "tumour_growth_rate",
    "tumour_growth_kinetics",
    "doubling_time",
    "specific_growth_rate",
    "hyperprogression",
    "hyperprogression_cohort",
    "hyperprogression_agreement",
    "cohen_kappa",
    "HyperprogressionResult",
    "HyperprogressionCohort",
    "Agreement",
    "HYPERPROGRESSION_DEFINITIONS",
    "t_stage",
    "metastasis_size_class",
    "ITC_MAX_MM",
    "MICRO_MAX_MM",
]
