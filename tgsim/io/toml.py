"""A small TOML writer (the standard library reads TOML but does not write it).

Used to write resolved experiment configurations; :func:`toml_dumps` round-trips through
:mod:`tomllib` for the tables, arrays, strings, numbers and booleans of a configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["toml_dumps"]


# ------------------------------------------------------------------- TOML output
def _key(k: str) -> str:
    if k and all(c.isalnum() or c in "_-" for c in k) and k.isascii():
        return k
    return _toml_str(k)


def _toml_str(text: str) -> str:
    """A TOML basic string: quotes, backslashes and every control character (C0, DEL
    and C1) escaped, so that any text reads back unchanged."""
    out = []
    for c in text:
        o = ord(c)
        if c in '"\\':
            out.append("\\" + c)
        elif o < 0x20 or 0x7F <= o <= 0x9F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        f = float(v)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(v, str):
        return _toml_str(v)
    if isinstance(v, list | tuple | np.ndarray):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    if v is None:
        raise TypeError("TOML has no null value")
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def toml_dumps(data: Mapping[str, Any]) -> str:
    """Serialise a mapping (as read by :mod:`tomllib`) back to TOML text.

    Tables become ``[a.b]`` sections, lists of tables ``[[a.b]]``; tables inside arrays
    of tables are written inline. ``tomllib.loads(toml_dumps(d)) == d`` for such data.
    """
    lines: list[str] = []

    def section(prefix: list[str], table: Mapping[str, Any], array: bool) -> None:
        simple = {k: v for k, v in table.items()
                  if not (isinstance(v, Mapping) or _is_table_array(v)) or array}
        nested = {k: v for k, v in table.items() if k not in simple}
        if prefix:
            head = ".".join(_key(p) for p in prefix)
            if lines:
                lines.append("")
            lines.append(f"[[{head}]]" if array else f"[{head}]")
        for k, v in simple.items():
            lines.append(f"{_key(str(k))} = {_value(v)}")
        for k, v in nested.items():
            if isinstance(v, Mapping):
                section([*prefix, str(k)], v, False)
            else:
                for item in v:
                    section([*prefix, str(k)], item, True)

    section([], data, False)
    return "\n".join(lines) + "\n"

