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
    """Base class for every input error raised by tgsim.

    Examples
    --------
    >>> import tgsim
    >>> try:
    ...     tgsim.sphere_diameter(-1.0)
    ... except tgsim.TgsimError as exc:
    ...     print(type(exc).__name__, "is a TgsimError:", isinstance(exc, ValueError))
    DataError is a TgsimError: True
    """


class CardError(TgsimError):
    """A model card is malformed: the message names the file and the field.

    Examples
    --------
    >>> import tgsim
    >>> try:
    ...     tgsim.model("no_such_law")
    ... except tgsim.CardError as exc:
    ...     print(str(exc)[:40])
    unknown model 'no_such_law'; available m
    """


class ScheduleError(TgsimError):
    """A treatment schedule or intervention is invalid.

    Examples
    --------
    >>> import tgsim
    >>> try:
    ...     tgsim.Surgery(day=10.0, resected_fraction=1.5)
    ... except tgsim.ScheduleError as exc:
    ...     print(exc)
    Surgery.resected_fraction must be in [0, 1); got 1.5
    """


class DataError(TgsimError):
    """A data file or array is invalid: the message names the row and column.

    Examples
    --------
    >>> import tgsim
    >>> try:
    ...     tgsim.doubling_time([0, 30], [100.0, -1.0])
    ... except tgsim.DataError as exc:
    ...     print(exc)
    `volumes` must be > 0; got volumes[1]=-1.0
    """


class ConfigError(TgsimError):
    """An experiment or schedule file is invalid: the message names file, table and key.

    Examples
    --------
    >>> import tgsim
    >>> try:
    ...     tgsim.load_schedule("no_such_schedule.toml")
    ... except tgsim.ConfigError as exc:
    ...     print(type(exc).__name__)
    ConfigError
    """


class SizeLimitError(TgsimError):
    """A job would allocate more than its budget (see :mod:`tgsim.limits`)."""


class TgsimWarning(UserWarning):
    """Something is allowed but probably not what was meant (e.g. an event outside the times).

    Examples
    --------
    A lesion under 10 mm at baseline is not measurable by RECIST 1.1: allowed, with a
    warning.

    >>> import warnings
    >>> import pandas as pd, tgsim
    >>> lesions = pd.DataFrame({"subject": "p1", "day": [0.0, 42.0], "lesion": "L1",
    ...                         "diameter_mm": [8.0, 9.0]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = tgsim.recist(lesions)
    >>> [w.category.__name__ for w in caught]
    ['TgsimWarning']
    """


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
