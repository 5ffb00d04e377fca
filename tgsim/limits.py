"""Size budgets: refuse work too large to finish before allocating anything.

Every job estimates what it is about to allocate and compares it with a budget, so a typo
such as ``--times 0:1e9:1`` or ``--subjects 1000000000000`` ends at once with a clear
:class:`~tgsim.errors.SizeLimitError` instead of exhausting memory or disk.

==================== =============================================== ==================
budget               default                                         variable
==================== =============================================== ==================
``output_bytes``     half the memory available when asked            ``OUTPUT_BYTES``
``chunks``           100 000 chunks (tasks) per cohort run           ``CHUNKS``
``events``           100 000 events per intervention                 ``EVENTS``
``expression_chars`` 10 000 characters per card expression           ``EXPRESSION_CHARS``
``expression_depth`` 100 nested operations per expression            ``EXPRESSION_DEPTH``
``states``           64 states per card                              ``STATES``
``parameters``       256 parameters per card                         ``PARAMETERS``
==================== =============================================== ==================

Each is read from the environment variable ``TGSIM_MAX_<variable>`` (e.g.
``TGSIM_MAX_OUTPUT_BYTES=8G``) when set.

``output_bytes`` bounds results held in memory (subjects x times x variables x 8 bytes,
and every chunk of a streamed run); a run streamed to Zarr is bounded instead by the free
space of the disk it writes to. Byte values in the environment may carry a suffix
(``8G``, ``512M``, ``1.5T``; powers of 1024). :func:`set_limits` overrides any budget
for the current process (``None`` restores the default).
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from .errors import SizeLimitError

__all__ = ["get_limit", "set_limits", "check_bytes", "check_count", "check_grid",
           "available_memory", "format_bytes", "DEFAULTS"]

#: default budgets (``output_bytes`` None: a fraction of the available memory)
DEFAULTS: dict[str, int | None] = {
    "output_bytes": None,
    "chunks": 100_000,
    "events": 100_000,
    "expression_chars": 10_000,
    "expression_depth": 100,
    "states": 64,
    "parameters": 256,
}

#: share of the available memory one in-memory result may take by default
MEMORY_FRACTION = 0.5

#: results up to this size pass the default budget without asking the system
SMALL_BYTES = 64 << 20

_ENV = {k: f"TGSIM_MAX_{k.upper()}" for k in DEFAULTS}
_OVERRIDES: dict[str, int] = {}
_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def available_memory() -> int:
    """Bytes of memory available to new allocations (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return 8 << 30


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.4g} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _parse(name: str, text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = _SUFFIX.get(t[-1:], None) if t and t[-1].isalpha() else 1
    num = t[:-1] if t and t[-1].isalpha() else t
    try:
        value = float(num) * (mult if mult is not None else float("nan"))
    except ValueError:
        value = float("nan")
    if not value >= 1 or value == float("inf"):
        raise SizeLimitError(f"environment variable {_ENV[name]}={text!r} must be a positive "
                             "number (bytes may end in K, M, G or T)")
    return int(value)


def get_limit(name: str) -> int:
    """The current budget ``name`` (see the table in :mod:`tgsim.limits`)."""
    if name not in DEFAULTS:
        raise SizeLimitError(f"unknown limit {name!r}; limits are {', '.join(DEFAULTS)}")
    if name in _OVERRIDES:
        return _OVERRIDES[name]
    env = os.environ.get(_ENV[name], "").strip()
    if env:
        return _parse(name, env)
    default = DEFAULTS[name]
    if default is None:
        return int(available_memory() * MEMORY_FRACTION)
    return default


def set_limits(**limits: int | None) -> dict[str, int | None]:
    """Override budgets for this process; ``None`` restores the default.

    Parameters
    ----------
    **limits : int or None
        Any of the names in :data:`DEFAULTS`, e.g. ``output_bytes=16 * 2**30``.

    Returns
    -------
    dict
        The previous overrides of the names given (pass them back to restore).
    """
    previous: dict[str, int | None] = {}
    for name, value in limits.items():
        if name not in DEFAULTS:
            raise SizeLimitError(f"unknown limit {name!r}; limits are {', '.join(DEFAULTS)}")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise SizeLimitError(f"limit {name} must be a positive integer or None; "
                                 f"got {value!r}")
        previous[name] = _OVERRIDES.get(name)
        if value is None:
            _OVERRIDES.pop(name, None)
        else:
            _OVERRIDES[name] = int(value)
    return previous


def check_bytes(nbytes: float, what: str, hint: str, *, disk: str | None = None) -> None:
    """Raise :class:`SizeLimitError` if ``nbytes`` exceeds the budget.

    Parameters
    ----------
    nbytes : float
        The estimate (a float: products of huge counts must not wrap around).
    what : str
        What is being sized, with its shape, for the message.
    hint : str
        How to make it fit (stream to Zarr, fewer outputs, ...).
    disk : str, optional
        A folder: compare with the free space of its disk instead of the memory budget.
    """
    if disk is not None:
        try:
            free = shutil.disk_usage(disk).free
        except OSError:
            return
        if nbytes > free:
            raise SizeLimitError(f"{what} needs about {format_bytes(nbytes)} but the disk "
                                 f"holding {disk!r} has {format_bytes(free)} free; {hint}")
        return
    if (nbytes <= SMALL_BYTES and "output_bytes" not in _OVERRIDES
            and not os.environ.get(_ENV["output_bytes"], "").strip()):
        return  # small enough for any machine: skip reading the available memory
    limit = get_limit("output_bytes")
    if nbytes > limit:
        raise SizeLimitError(
            f"{what} needs about {format_bytes(nbytes)} of memory, over the budget of "
            f"{format_bytes(limit)} ({_ENV['output_bytes']} or "
            f"tgsim.limits.set_limits(output_bytes=...) to change it); {hint}")


def check_count(name: str, value: Any, what: str, hint: str = "") -> None:
    """Raise :class:`SizeLimitError` if ``value`` exceeds the budget ``name``."""
    limit = get_limit(name)
    if value > limit:
        tail = f"; {hint}" if hint else ""
        raise SizeLimitError(f"{what} is {value}, over the limit of {limit} "
                             f"({_ENV[name]} to change it){tail}")


#: bytes a time grid costs per point once simulated: at least one subject with a state,
#: its volume and the observed size/swelling, 8 bytes each
GRID_POINT_BYTES = 40.0


def check_grid(n_points: float, what: str) -> None:
    """Refuse a time grid (``start:stop:step``) whose simulation alone, for a single
    subject, would exceed the output budget; checked before the grid is built."""
    check_bytes(GRID_POINT_BYTES * n_points, f"{what} ({n_points:.12g} times)",
                "use a larger step or a shorter span")
