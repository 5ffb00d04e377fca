"""One small declarative validator for configuration tables.

Every reader of a configuration table (experiment files, schedules, model cards, virtual
population tables, metastasis settings, reproduction hooks) states its keys once, as a
:class:`Schema` of :class:`Key` entries, and calls :meth:`Schema.check`.  The checks and
their messages are the same everywhere:

- an unknown key names the closest allowed key ("did you mean ...?") and lists them all;
- a missing required key says what it is for;
- a value of the wrong type, outside its range or not among its choices is named with the
  file, the table and the key.

The schema checks the *shape* of a table.  Checks that tie several keys together (``give
either A or B``) stay with the reader, after :meth:`Schema.check`.

Examples
--------
>>> from tgsim.schema import Key, Schema
>>> bins = Schema("bins", [
...     Key("min_mm", "number", required=True, min=0.0),
...     Key("max_mm", "number", required=True, min=0.0, min_open=True),
...     Key("count", "integer", required=True, min=1),
...     Key("spacing", "string", choices=("log", "linear"), default="log"),
... ])
>>> bins.check({"min_mm": 0.1, "max_mm": 10, "count": 20}, "run.toml: [metastasis].bins")
{'min_mm': 0.1, 'max_mm': 10, 'count': 20, 'spacing': 'log'}
>>> bins.check({"min_mm": 0.1, "max_mm": 10, "cuont": 20}, "run.toml")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tgsim.errors.ConfigError: run.toml: bins: unknown key 'cuont' (did you mean 'count'?)...
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, TgsimError

__all__ = ["Key", "Schema", "check_unknown", "closest"]

_MISSING: Any = object()

#: The kinds a key may declare, and the Python types each accepts (bool is never a number).
_KINDS: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "bool": (bool,),
    "table": (Mapping,),
    "list": (list, tuple),
    "any": (object,),
}
_KIND_WORDS = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "bool": "true or false",
    "table": "a table",
    "list": "a list",
    "any": "a value",
}


def closest(word: str, allowed: Iterable[str]) -> str | None:
    """The allowed word closest to ``word`` (for "did you mean"), or None.

    Examples
    --------
    >>> closest("seedng_rate", ["seeding_rate", "mode"])
    'seeding_rate'
    """
    match = difflib.get_close_matches(str(word), sorted(map(str, allowed)), n=1, cutoff=0.6)
    return match[0] if match else None


def check_unknown(given: Iterable[str], allowed: Iterable[str], where: str, *,
                  what: str = "key", error: type[TgsimError] = ConfigError) -> None:
    """Raise ``error`` naming the first unknown entry of ``given`` with a "did you mean".

    Parameters
    ----------
    given : iterable of str
        The keys found (in the order of the file).
    allowed : iterable of str
        The keys the table accepts.
    where : str
        File and table, prefixed to the message.
    what : str
        What the entries are called in the message (``key``, ``table``, ``parameter``).
    error : type
        The :class:`~tgsim.errors.TgsimError` subclass to raise.

    Examples
    --------
    >>> check_unknown(["mode", "seed"], ["mode", "seed", "replicates"], "run.toml")
    >>> check_unknown(["replicate"], ["mode", "replicates"], "run.toml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tgsim.errors.ConfigError: run.toml: unknown key 'replicate' (did you mean 'replicates'?); ...
    """
    allowed = sorted(set(map(str, allowed)))
    unknown = [k for k in given if k not in allowed]
    if not unknown:
        return
    first = unknown[0]
    hint = closest(first, allowed)
    more = f" (and {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else ""
    mean = f" (did you mean {hint!r}?)" if hint else ""
    listing = f"allowed {what}s are {', '.join(allowed)}" if allowed else f"no {what}s are allowed"
    raise error(f"{where}: unknown {what} {first!r}{mean}{more}; {listing}")


@dataclass(frozen=True)
class Key:
    """One key of a configuration table.

    Parameters
    ----------
    name : str
        The key as written in the file.
    kind : str or tuple of str
        ``"number"``, ``"integer"``, ``"string"``, ``"bool"``, ``"table"``, ``"list"`` or
        ``"any"``; a tuple allows several (e.g. ``("number", "table")``).
    required : bool
        Whether the key must be present.
    default : object, optional
        Filled in by :meth:`Schema.check` when the key is absent.
    min, max : float, optional
        Range of a number (inclusive unless ``min_open`` / ``max_open``).
    choices : sequence, optional
        The allowed values.
    unit : str, optional
        Unit of a number, shown in messages (``"days"``, ``"mm"``, ``"mm^3"``).
    help : str, optional
        What the key is for, shown when it is missing.

    Examples
    --------
    >>> Key("seed", "integer", min=0).check(3, "run.toml: [cohort]")
    3
    >>> Key("seed", "integer", min=0).check(-1, "run.toml: [cohort]")
    Traceback (most recent call last):
    ...
    tgsim.errors.ConfigError: run.toml: [cohort].seed: must be an integer >= 0; got -1
    """

    name: str
    kind: str | tuple[str, ...] = "any"
    required: bool = False
    default: Any = _MISSING
    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False
    choices: Sequence[Any] | None = None
    unit: str | None = None
    help: str = ""

    def __post_init__(self) -> None:
        kinds = (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)
        bad = [k for k in kinds if k not in _KINDS]
        if bad:
            raise ValueError(f"Key {self.name!r}: unknown kind {bad[0]!r}; use one of "
                             f"{', '.join(_KINDS)}")

    @property
    def kinds(self) -> tuple[str, ...]:
        """The declared kinds as a tuple."""
        return (self.kind,) if isinstance(self.kind, str) else tuple(self.kind)

    def _type_ok(self, value: Any) -> str | None:
        for kind in self.kinds:
            if kind in ("number", "integer") and isinstance(value, bool):
                continue
            if isinstance(value, _KINDS[kind]):
                return kind
        return None

    def describe(self) -> str:
        """What the key accepts, in words (``"an integer >= 2"``, ``"a number <= 1 mm"``)."""
        words = " or ".join(_KIND_WORDS[k] for k in self.kinds)
        bounds = []
        if self.min is not None:
            bounds.append(f"{'>' if self.min_open else '>='} {self.min:g}")
        if self.max is not None:
            bounds.append(f"{'<' if self.max_open else '<='} {self.max:g}")
        unit = f" {self.unit}" if self.unit and bounds else ""
        return f"{words} {' and '.join(bounds)}{unit}".rstrip() if bounds else words

    def check(self, value: Any, where: str, error: type[TgsimError] = ConfigError) -> Any:
        """Check one value of this key; return it unchanged or raise ``error``."""
        here = f"{where}.{self.name}:"
        kind = self._type_ok(value)
        if kind is None:
            raise error(f"{here} must be {self.describe()}; got {value!r}")
        if self.choices is not None and value not in self.choices:
            hint = closest(value, map(str, self.choices)) if isinstance(value, str) else None
            mean = f" (did you mean {hint!r}?)" if hint else ""
            raise error(f"{here} must be one of {', '.join(map(str, self.choices))}; "
                        f"got {value!r}{mean}")
        if kind in ("number", "integer"):
            if not math.isfinite(value):
                raise error(f"{here} must be finite; got {value!r}")
            low_bad = self.min is not None and (value <= self.min if self.min_open
                                                else value < self.min)
            high_bad = self.max is not None and (value >= self.max if self.max_open
                                                 else value > self.max)
            if low_bad or high_bad:
                raise error(f"{here} must be {self.describe()}; got {value!r}")
        return value


class Schema:
    """The keys of one configuration table, checked in one call.

    Parameters
    ----------
    title : str
        What the table is called in messages (``"[metastasis]"``, ``"bins"``).
    keys : iterable of Key or str
        The allowed keys; a bare string is a key of any type.
    error : type
        The :class:`~tgsim.errors.TgsimError` subclass raised (default
        :class:`~tgsim.errors.ConfigError`).

    Examples
    --------
    >>> s = Schema("[cohort]", [Key("subjects", "integer", required=True, min=1), "seed"])
    >>> s.check({"subjects": 10}, "trial.toml")
    {'subjects': 10}
    >>> s.names
    ('seed', 'subjects')
    """

    def __init__(self, title: str, keys: Iterable[Key | str], *,
                 error: type[TgsimError] = ConfigError) -> None:
        self.title = title
        self.error = error
        self.keys: dict[str, Key] = {}
        for k in keys:
            key = Key(k) if isinstance(k, str) else k
            if key.name in self.keys:
                raise ValueError(f"Schema {title!r}: key {key.name!r} declared twice")
            self.keys[key.name] = key

    @property
    def names(self) -> tuple[str, ...]:
        """The allowed keys, sorted."""
        return tuple(sorted(self.keys))

    def __contains__(self, name: object) -> bool:
        return name in self.keys

    def where(self, where: str) -> str:
        """``where`` followed by the table's title (unless already part of it)."""
        return where if not self.title or self.title in where else f"{where}: {self.title}"

    def check(self, table: Any, where: str, *, defaults: bool = True) -> dict[str, Any]:
        """Check a table against the schema.

        Parameters
        ----------
        table : mapping
            The parsed table.
        where : str
            The source (file name, and table if the title does not say it).
        defaults : bool
            Fill absent keys that declare a default.

        Returns
        -------
        dict
            The table's entries (in file order), with defaults appended.

        Raises
        ------
        TgsimError
            ``self.error``, naming the source, the table and the key.
        """
        here = self.where(where)
        if not isinstance(table, Mapping):
            raise self.error(f"{here}: must be a table; got {table!r}")
        check_unknown(list(table), self.keys, here, error=self.error)
        out = {}
        for name, value in table.items():
            out[name] = self.keys[name].check(value, here, self.error)
        for key in self.keys.values():
            if key.name in out:
                continue
            if key.required:
                what = f" ({key.help})" if key.help else ""
                raise self.error(f"{here}: missing key {key.name!r}{what}")
            if defaults and key.default is not _MISSING:
                out[key.name] = key.default
        return out
