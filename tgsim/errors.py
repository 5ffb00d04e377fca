"""Exception and warning classes, and the one table of per-subject status messages.

Every error tgsim raises for bad input is a :class:`TgsimError`, which is also a
:class:`ValueError`, so ``except ValueError`` keeps working for callers that do not
know tgsim.  Messages name the argument (or file and field), the rule that was broken
and the offending value.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "TgsimError",
    "CardError",
    "ScheduleError",
    "DataError",
    "ConfigError",
    "SizeLimitError",
    "TgsimWarning",
    "Status",
    "STATUS_MESSAGES",
]


class TgsimError(ValueError):
    """Base class for every input error raised by tgsim."""


class CardError(TgsimError):
    """A model card is malformed: the message names the file and the field."""


class ScheduleError(TgsimError):
    """A treatment schedule or intervention is invalid."""


class DataError(TgsimError):
    """A data file or array is invalid: the message names the row and column."""


class ConfigError(TgsimError):
    """An experiment or schedule file is invalid: the message names file, table and key."""


class SizeLimitError(TgsimError):
    """A job would allocate more than its budget (see :mod:`tgsim.limits`)."""


class TgsimWarning(UserWarning):
    """Something is allowed but probably not what was meant (e.g. an event outside the times)."""


class Status(IntEnum):
    """Per-subject outcome codes shared by the simulation and fitting kernels.

    The integer values are what the Numba kernels write; :data:`STATUS_MESSAGES`
    holds the one user-facing message for each.
    """

    SUCCESS = 0
    MAX_STEPS = 1
    STEP_TOO_SMALL = 2
    NON_FINITE = 3
    NEGATIVE_STATE = 4
    NOT_CONVERGED = 5
    NOT_IDENTIFIABLE = 6
    BAD_DATA = 7
    MAX_ITERATIONS = 8


STATUS_MESSAGES: dict[int, str] = {
    Status.SUCCESS: "success",
    Status.MAX_STEPS: "the integrator took its maximum number of steps",
    Status.STEP_TOO_SMALL: (
        "the integrator step size fell below its minimum (stiff or singular dynamics)"
    ),
    Status.NON_FINITE: "a state or parameter became NaN or infinite",
    Status.NEGATIVE_STATE: "a tumour state became negative",
    Status.NOT_CONVERGED: "the optimiser did not converge",
    Status.NOT_IDENTIFIABLE: "fewer usable points than free parameters: not identifiable",
    Status.BAD_DATA: (
        "the series has no usable data (NaN, non-positive under a log error model, or empty)"
    ),
    Status.MAX_ITERATIONS: "the optimiser reached its maximum number of iterations",
}


def flag_attrs() -> dict[str, object]:
    """CF-style ``flag_values`` / ``flag_meanings`` attrs for a ``status`` variable."""
    codes = sorted(int(s) for s in Status)
    return {
        "flag_values": codes,
        "flag_meanings": " ".join(Status(c).name.lower() for c in codes),
        "long_name": "per-subject status (0 = success)",
    }
