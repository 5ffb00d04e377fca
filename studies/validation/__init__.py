"""Scientific validation: reproduce published analyses of the real data sets.

Each data set with a published analysis has a module ``studies.validation.<name>`` with

* ``reproduce(*, quick=False, seed=None, data_dir=None, ...) -> ValidationReport``: fit
  the data as the paper did (same models, error model, criterion and metrics as far as the
  paper states them), and put the paper's numbers beside ours as :class:`Check` rows;
* ``analysis``: the same as a ``tgsim run`` analysis hook
  (``experiments/reproduce_<name>.toml``).

A report prints as a side-by-side table (:meth:`ValidationReport.summary`) and writes
``report.md``, ``checks.csv``, per-subject tables and figures
(:meth:`ValidationReport.write`). Nothing is tuned to match a paper: where we differ, the
check says ``"differs"`` and its note gives the likely reason.

>>> from studies.validation import relative_check
>>> relative_check("growth rate (1/day)", 0.10, 0.102, rtol=0.05).verdict
'agrees'
"""

from .figures import fits_overlay, ranking_bar, scatter_compare
from .hook import analysis_hook
from .report import (
    VERDICTS,
    Check,
    ValidationReport,
    absolute_check,
    bound_check,
    rank_check,
    relative_check,
)

__all__ = [
    "VERDICTS",
    "Check",
    "relative_check",
    "absolute_check",
    "rank_check",
    "bound_check",
    "ValidationReport",
    "analysis_hook",
    "fits_overlay",
    "ranking_bar",
    "scatter_compare",
]
