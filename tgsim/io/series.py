"""Serial tumour measurements: tidy long CSV files <-> series :class:`xarray.Dataset`.

Every fitting and assessment routine in tgsim takes measurements in one layout, the
*series Dataset*, produced by :func:`read_series`, :func:`series_from_frame` and
:func:`tgsim.datasets.load`, and written back to CSV by :func:`write_series`.

Series Dataset layout
---------------------
Dimensions
    ``subject`` (one series per subject: a mouse, a patient, a lesion record) and
    ``obs`` (observation index within a series). Series are ragged: each is padded
    with NaN up to the longest series, so ``obs`` has length ``max(n_obs)``.
Coordinates
    ``subject(subject)``
        Subject labels (strings), in order of first appearance in the input.
    ``arm(subject)``, ``group(subject)`` (optional)
        String labels, present when the input has an ``arm`` / ``group`` column. Each
        must be constant within a subject.
Data variables
    ``time(subject, obs)``
        float64, days (``attrs["units"] == "day"``). Within a subject times are
        **strictly increasing** over ``obs < n_obs``; padding is NaN. Unsorted input is
        sorted (with a :class:`~tgsim.errors.TgsimWarning`); two measurements of one
        subject at the same time are a :class:`~tgsim.errors.DataError` naming both rows
        (unless another ``duplicates`` policy is chosen).
    ``value(subject, obs)``
        float64 measured quantity, ``attrs["units"]`` one of ``"mm^3"`` (volumes),
        ``"mm"`` (diameters) or a pass-through unit for a quantity that is not a size
        (e.g. ``"photons/s"``, ``"as_published"``), and ``attrs["long_name"]``. Padding
        is NaN.
    ``censored(subject, obs)``
        bool; True where the measurement is left-censored at a detection limit, in which
        case ``value`` holds the limit. Padding is False.
    ``n_obs(subject)``
        int64, number of observations of each subject (>= 1).
    Extra columns of the input (anything not listed under *CSV layout* below) become
    ``name(subject)`` when constant within every subject, else ``name(subject, obs)``;
    numbers as float64 (NaN when empty), anything else as strings (``""`` when empty).
Dataset attributes
    ``quantity``
        What ``value`` measures (``"tumour_volume"``, ``"lesion_longest_diameter"``,
        ``"bioluminescence"``, ...).
    ``source``
        The file path read, or ``"<DataFrame>"``.
    ``n_zero_values`` and ``zero_values``
        Count and list of values that are exactly 0: allowed, but a log-scale error
        model cannot use them.
    ``unit_conversion``, ``time_conversion``, ``duplicates_dropped``, ``sorted_subjects``
        Present when the reader changed something, saying what and where.
    Packaged data sets (:mod:`tgsim.datasets`) add ``name``, ``provenance``,
    ``citation``, ``licence``, ``caveats`` and ``reference_numbers`` (text).

Units
    Sizes are stored in mm^3 (volumes) or mm (diameters). Accepted spellings (case
    and surrounding blanks ignored): ``mm^3``, ``mm3``, ``mm³``, ``mm**3``; ``cm^3``,
    ``cm3``, ``cm³``, ``ml`` (x 1000 to mm^3); ``mm``; ``cm`` (x 10 to mm). Mixed volume
    units in one file are all converted to mm^3 (likewise lengths to mm) and the
    conversion is noted in ``attrs["unit_conversion"]``; mixing volumes with lengths is
    refused. A quantity whose name contains ``volume`` or ``diam`` is a size and must
    use one of these units (else :class:`~tgsim.errors.DataError` naming row, column and
    value); any other quantity keeps its unit string as-is, which must then be the same
    on every row. Sizes must be >= 0. Without a ``quantity`` column or argument the
    unit must be a size unit, and the quantity is ``tumour_volume`` or
    ``tumour_diameter``.

CSV layout
----------
Either the simple layout::

    subject,day,value[,unit][,arm][,group][,censored][,extra columns...]

or the tidy layout of the shared data sets::

    subject,group,time,time_unit,value,unit,quantity[,extra columns...]

``time_unit`` is ``day`` (x 1), ``week`` (x 7), ``month`` (x 30.4375) or ``hour``
(/ 24). **The unit is never guessed**: it comes from a ``unit`` column, from the value
column's header (``volume_mm3``, ``diameter_mm``, see below) or from the ``unit``
argument (CLI ``--unit``); without any of these the reader raises a
:class:`~tgsim.errors.DataError` that says how to give one. ``censored`` accepts
``true/false``, ``yes/no``, ``1/0`` (empty = false). Column names are matched without
regard to case. Errors name the file, the 1-based line number (the header is line 1)
and the column. :func:`write_series` writes the simple layout (always with ``unit`` and
``quantity``; ``censored`` when any value is censored; extra variables as columns).

Other spellings, column mapping, dates
--------------------------------------
Header names are compared case-insensitively, with blanks and ``-`` read as ``_``. When a
layout column is missing, one of these spellings stands in for it:

* subject: ``subject_id``, ``id``, ``patient``, ``patient_id``, ``usubjid``, ``mouse``,
  ``mouse_id``, ``animal``, ``animal_id``;
* day: ``days``, ``study_day``, ``time_day``, ``time_days``, ``t_days``;
* date (converted to days): ``date``, ``scan_date``, ``visit_date``, ``assessment_date``,
  ``measurement_date``;
* value, carrying its unit and quantity: ``volume_mm3`` (also ``volume_mm^3``,
  ``volume_cm3``, ``volume_ml``, and the stems ``tumor_volume``, ``tumour_volume``,
  ``tv``), ``diameter_mm`` (also ``diameter_cm`` and the stems ``tumor_diameter``,
  ``tumour_diameter``, ``longest_diameter``, ``ld``); a bare ``volume`` or ``diameter``
  names the quantity but not the unit.

Two candidates for one role are refused; ``columns={"value": "volume_mm3"}`` (CLI
``--columns value=volume_mm3``) chooses. A time column holding dates (ISO 8601 unless
``date_format`` is given, or a datetime column of a DataFrame) becomes days from each
subject's first date, or from the date in a ``date_reference`` column (e.g. the
treatment start); the conversion is noted in ``attrs["time_conversion"]``.
Diameters are stored as diameters (``mm``); :func:`tgsim.fit` fits them as
sphere-equivalent volumes pi d^3 / 6 (noted in the fit's ``conversion``).
Files separated by ``;`` need ``sep=";"``, and decimal commas ``decimal=","``; without
them such a file is refused with a message naming the option.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import DataError, TgsimWarning
from ._atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = [
    "read_series",
    "write_series",
    "series_from_frame",
    "series_to_frame",
    "SIZE_UNITS",
    "TIME_UNITS",
]

#: accepted size-unit spellings (lower case) -> (stored unit, factor to it, dimension)
SIZE_UNITS: dict[str, tuple[str, float, str]] = {
    "mm^3": ("mm^3", 1.0, "volume"),
    "mm3": ("mm^3", 1.0, "volume"),
    "mm³": ("mm^3", 1.0, "volume"),
    "mm**3": ("mm^3", 1.0, "volume"),
    "cm^3": ("mm^3", 1000.0, "volume"),
    "cm3": ("mm^3", 1000.0, "volume"),
    "cm³": ("mm^3", 1000.0, "volume"),
    "cm**3": ("mm^3", 1000.0, "volume"),
    "ml": ("mm^3", 1000.0, "volume"),
    "mm": ("mm", 1.0, "length"),
    "cm": ("mm", 10.0, "length"),
}

#: accepted time units (lower case) -> days per unit
TIME_UNITS: dict[str, float] = {
    "day": 1.0,
    "days": 1.0,
    "d": 1.0,
    "week": 7.0,
    "weeks": 7.0,
    "wk": 7.0,
    "month": 30.4375,
    "months": 30.4375,
    "hour": 1.0 / 24.0,
    "hours": 1.0 / 24.0,
    "h": 1.0 / 24.0,
}

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", ""}

#: columns with a meaning in the CSV layouts (everything else is an extra column)
_KNOWN = (
    "subject",
    "day",
    "time",
    "time_unit",
    "value",
    "unit",
    "quantity",
    "arm",
    "group",
    "censored",
)
#: names an extra column may not take (they are the layout's own variables)
_RESERVED = {"subject", "obs", "time", "value", "censored", "n_obs", "arm", "group"}

_DUPLICATE_POLICIES = ("error", "drop_identical", "first", "last")
DuplicatePolicy = Literal["error", "drop_identical", "first", "last"]

_SIZE_LONG_NAMES = {"volume": "tumour volume", "length": "tumour diameter"}
_DEFAULT_QUANTITY = {"volume": "tumour_volume", "length": "tumour_diameter"}
_MAX_LISTED = 10


# ----------------------------------------------------------------------------- helpers


def _quantity_kind(quantity: str) -> str | None:
    """``"volume"``, ``"length"`` or None (not a size) for a quantity name."""
    q = quantity.lower()
    if "volume" in q:
        return "volume"
    if "diam" in q:
        return "length"
    return None


def _more(n: int) -> str:
    return f" (and {n} more row{'s' if n != 1 else ''})" if n > 0 else ""


class _Table:
    """Column access with row locations for error messages."""

    def __init__(self, frame: pd.DataFrame, locate: Callable[[int], str], source: str,
                 decimal: str = "."):
        self.frame = frame
        self.locate = locate
        self.source = source
        self.decimal = decimal
        self.original: dict[str, str] = {}
        self.n = len(frame)

    def where(self, i: int, column: str) -> str:
        old = self.original.get(column)
        shown = f"{column!r}" if old is None else f"{old!r} (read as {column!r})"
        return f"{self.source}, {self.locate(i)}, column {shown}"

    def fail(self, rows: np.ndarray, column: str, message: Callable[[int], str]) -> None:
        """Raise a DataError for the first of ``rows`` (a bool mask or index array)."""
        idx = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows)
        if idx.size:
            i = int(idx[0])
            raise DataError(f"{self.where(i, column)}: {message(i)}{_more(idx.size - 1)}")

    def raw(self, column: str) -> np.ndarray:
        return self.frame[column].to_numpy(dtype=object)

    def strings(self, column: str) -> np.ndarray:
        """Column as stripped strings; missing (None/NaN) becomes ""."""
        import pandas as pd

        values = self.raw(column)
        out = np.empty(self.n, dtype=object)
        for k, v in enumerate(values):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                out[k] = ""
            else:
                out[k] = str(v).strip()
        return out

    def numbers(self, column: str, *, required: bool = True) -> np.ndarray:
        """Column as float64; non-numbers, and (if ``required``) missing values, raise."""
        import pandas as pd

        series = self.frame[column]
        kind = series.dtype.kind
        if kind in "mM":
            raise DataError(
                f"{self.source}, column {column!r}: expected plain numbers, got {series.dtype}; "
                "convert dates or durations to days first"
            )
        if kind in "iuf":
            values = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            text = self.strings(column)
            parse = text
            if self.decimal == ",":
                both = np.array(["," in t and "." in t for t in text], dtype=bool)
                self.fail(both, column, lambda i: (
                    f"{text[i]!r} has both ',' and '.'; with decimal=',' write numbers "
                    "without a thousands separator"))
                parse = np.array([t.replace(",", ".") for t in text], dtype=object)
            values = pd.to_numeric(pd.Series(parse, dtype=object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            bad = np.isnan(values) & (text != "")
            self.fail(bad, column, lambda i: f"{text[i]!r} is not a number" + (
                "; it has a decimal comma: pass decimal=',' (CLI: --decimal ,)"
                if self.decimal == "." and "," in text[i] else ""))
        if required:
            self.fail(
                np.isnan(values),
                column,
                lambda i: "missing value (empty or NaN); every row needs one",
            )
        self.fail(np.isinf(values), column, lambda i: f"{values[i]!r} is not finite")
        return values

    def booleans(self, column: str) -> np.ndarray:
        text = np.array([s.lower() for s in self.strings(column)], dtype=object)
        out = np.zeros(self.n, dtype=bool)
        for k, s in enumerate(text):
            if s in _TRUE:
                out[k] = True
            elif s not in _FALSE:
                raw = self.raw(column)[k]
                raise DataError(
                    f"{self.where(k, column)}: {raw!r} is not a boolean "
                    "(use true/false, yes/no or 1/0)"
                )
        return out


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise DataError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")



#: header spellings recognised (case-insensitive, blanks and '-' read as '_') for the
#: subject and time columns, when the canonical name is absent
SUBJECT_HEADERS = ("subject", "subject_id", "subjectid", "id", "patient", "patient_id",
                   "patientid", "usubjid", "mouse", "mouse_id", "animal", "animal_id")
DAY_HEADERS = ("day", "days", "study_day", "time_day", "time_days", "t_days")
DATE_HEADERS = ("date", "scan_date", "visit_date", "assessment_date", "measurement_date")


def _value_headers() -> dict[str, tuple[str | None, str]]:
    """Value-column spellings -> (unit carried by the header or None, quantity)."""
    out: dict[str, tuple[str | None, str]] = {}
    vol_units = {"": None, "mm3": "mm^3", "mm^3": "mm^3", "cm3": "cm^3", "cm^3": "cm^3",
                 "ml": "ml"}
    for stem in ("volume", "tumor_volume", "tumour_volume", "tv"):
        for suffix, u in vol_units.items():
            out[f"{stem}_{suffix}" if suffix else stem] = (u, "tumour_volume")
    for stem in ("diameter", "tumor_diameter", "tumour_diameter", "longest_diameter", "ld"):
        for suffix, u in {"": None, "mm": "mm", "cm": "cm"}.items():
            out[f"{stem}_{suffix}" if suffix else stem] = (u, "tumour_diameter")
    return out


#: value-column spellings -> (unit in the header, quantity); ``volume_mm3``, ``diameter_mm``
VALUE_HEADERS: dict[str, tuple[str | None, str]] = _value_headers()

_CANONICAL = ("subject", "day", "date", "time", "time_unit", "value", "unit", "quantity",
              "arm", "group", "censored")


def _norm(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def _parse_columns(columns: Any) -> dict[str, str]:
    """``{"subject": "patient_id", ...}`` or ``"subject=patient_id,day=date"`` -> dict."""
    if columns is None:
        return {}
    if isinstance(columns, str):
        out = {}
        for item in columns.split(","):
            if not item.strip():
                continue
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise DataError(
                    f"columns must be NAME=COLUMN pairs separated by commas "
                    f"(e.g. 'subject=patient_id,day=date,value=volume_mm3'); got {item!r}"
                )
            out[key.strip()] = val.strip()
        columns = out
    if not isinstance(columns, dict):
        raise DataError(
            f"columns must be a mapping such as {{'subject': 'patient_id'}}; got {columns!r}"
        )
    for key, val in columns.items():
        if _norm(key) not in _CANONICAL:
            raise DataError(
                f"columns: {key!r} is not a layout name; use one of {', '.join(_CANONICAL)}"
            )
        if not isinstance(val, str) or not val.strip():
            raise DataError(f"columns: {key!r} must name a column of the file; got {val!r}")
    return {_norm(k): _norm(v) for k, v in columns.items()}


def _canonical_columns(
    frame: pd.DataFrame, columns: Any, source: str, where: str
) -> tuple[str | None, str | None, dict[str, str]]:
    """Rename the file's columns (already normalised) to the layout's names, in place.

    An explicit ``columns`` mapping comes first; then, for a layout name that is still
    missing, the one recognised spelling present (two candidates are refused: the
    mapping must choose). Returns the unit and quantity carried by the value column's
    header (``volume_mm3`` -> ``mm^3``, tumour volume) and ``{layout name: file name}``
    of what was renamed.
    """
    mapping = _parse_columns(columns)
    names = list(frame.columns)
    rename: dict[str, str] = {}
    for canon, col in mapping.items():
        if col not in names:
            raise DataError(
                f"{source}, {where}: columns maps {canon!r} to {col!r}, which is not a column; "
                f"found: {', '.join(names)}"
            )
        rename[col] = canon
    header_unit = header_qty = None
    value_col = mapping.get("value")
    if value_col is not None and value_col in VALUE_HEADERS:
        header_unit, header_qty = VALUE_HEADERS[value_col]

    def taken(canon: str) -> bool:
        return canon in rename.values() or (canon in names and canon not in rename)

    for canon, spellings in (("subject", SUBJECT_HEADERS), ("day", DAY_HEADERS),
                             ("date", DATE_HEADERS), ("value", tuple(VALUE_HEADERS))):
        if taken(canon) or (canon in ("day", "date") and
                            (taken("time") or taken("day") or taken("date"))):
            continue
        found = [c for c in names if c in spellings and c not in rename]
        if len(found) > 1:
            raise DataError(
                f"{source}, {where}: columns {', '.join(map(repr, found))} could each be the "
                f"{canon!r} column; choose one with columns={{{canon!r}: {found[0]!r}}} "
                f"(CLI: --columns {canon}={found[0]})"
            )
        if found:
            rename[found[0]] = canon
            if canon == "value":
                header_unit, header_qty = VALUE_HEADERS[found[0]]
    if rename:
        clash = [new for old, new in rename.items() if new in names and new not in rename]
        if clash:
            raise DataError(
                f"{source}, {where}: column {clash[0]!r} is present and is also mapped from "
                f"{[o for o, n in rename.items() if n == clash[0]][0]!r}; keep one"
            )
        frame.columns = [rename.get(c, c) for c in frame.columns]
    if "date" in frame.columns and "day" not in frame.columns and "time" not in frame.columns:
        frame.columns = ["day" if c == "date" else c for c in frame.columns]
        rename[next((o for o, n in rename.items() if n == "date"), "date")] = "day"
    return header_unit, header_qty, {new: old for old, new in rename.items() if old != new}


def _dates_to_days(
    table: _Table, column: str, subjects: np.ndarray, date_reference: str | None,
    date_format: str | None,
) -> tuple[np.ndarray, str] | None:
    """Days from each subject's first date (or from ``date_reference``) when ``column``
    holds dates; None when it holds plain numbers."""
    import pandas as pd

    series = table.frame[column]
    if series.dtype.kind in "iuf":
        return None
    if series.dtype.kind == "m":
        raise DataError(
            f"{table.source}, column {column!r}: durations ({series.dtype}) are not read as "
            "days implicitly; convert them with .dt.total_seconds() / 86400 first"
        )
    if series.dtype.kind != "M":
        text = table.strings(column)
        num = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
        if bool(num.notna().all()):
            return None
        probe = pd.to_datetime(pd.Series(text[num.isna().to_numpy() & (text != "")],
                                         dtype=object),
                               format=date_format or "ISO8601", errors="coerce")
        if not bool(probe.notna().any()):
            return None  # neither numbers nor dates: the number reader names the value
    stamps = _parse_dates(table, column, date_format)
    if date_reference is None:
        codes, _ = pd.factorize(pd.Series(subjects, dtype=object), sort=False)
        first = pd.Series(stamps).groupby(codes).transform("min").to_numpy()
        origin = "each subject's first date"
    else:
        ref = _norm(date_reference)
        if ref not in table.frame.columns:
            raise DataError(
                f"{table.source}: date_reference {date_reference!r} is not a column; found: "
                f"{', '.join(map(str, table.frame.columns))}"
            )
        first = _parse_dates(table, ref, date_format)
        origin = f"the date in column {ref!r}"
    days = (stamps - first) / np.timedelta64(1, "D")
    shown = table.original.get(column, column)
    note = f"dates in column {shown!r} converted to days from {origin}"
    return np.asarray(days, dtype=np.float64), note


def _parse_dates(table: _Table, column: str, date_format: str | None) -> np.ndarray:
    """A column of dates as datetime64[ns] (ISO 8601 unless ``date_format`` says)."""
    import pandas as pd

    series = table.frame[column]
    if series.dtype.kind == "M":
        values = series.to_numpy(dtype="datetime64[ns]")
        table.fail(np.isnat(values), column, lambda i: "missing date")
        return values
    text = table.strings(column)
    table.fail(text == "", column, lambda i: "missing date")
    fmt = date_format or "ISO8601"
    parsed = pd.to_datetime(pd.Series(text, dtype=object), format=fmt, errors="coerce")
    bad = parsed.isna().to_numpy()
    table.fail(
        bad,
        column,
        lambda i: (
            f"{text[i]!r} is neither a number of days nor a date in "
            + ("ISO 8601 form (YYYY-MM-DD); pass date_format='%d/%m/%Y' (CLI: --date-format) "
               "for other forms" if date_format is None else f"the format {date_format!r}")
        ),
    )
    return parsed.to_numpy(dtype="datetime64[ns]")


# ------------------------------------------------------------------------------- core


def _build(
    frame: pd.DataFrame,
    *,
    locate: Callable[[int], str],
    source: str,
    unit: str | None,
    quantity: str | None,
    duplicates: str,
    keep_extra: bool,
    warn: bool = True,
    columns_map: Any = None,
    decimal: str = ".",
    date_reference: str | None = None,
    date_format: str | None = None,
) -> xr.Dataset:
    """Turn a frame (columns already normalised) into a series Dataset."""
    import pandas as pd
    import xarray as xr

    _check_build_options(duplicates, decimal, unit, quantity)
    header = f"{source}, {locate(-1)}"
    unit, quantity, renamed = _header_unit(frame, columns_map, source, locate(-1), unit,
                                           quantity)
    columns = list(frame.columns)
    _check_layout_columns(frame, columns, header, source)

    table = _Table(frame, locate, source, decimal)
    attrs: dict[str, Any] = {}
    table.original = renamed
    if renamed:
        attrs["column_mapping"] = "columns read as: " + ", ".join(
            f"{old} -> {new}" for new, old in renamed.items())

    # --- subject labels
    subjects = table.strings("subject")
    table.fail(subjects == "", "subject", lambda i: "missing subject label")

    # --- time, values, quantity and units
    days = _read_days(table, columns, subjects, header, date_reference, date_format, attrs)
    values = table.numbers("value")
    censored = table.booleans("censored") if "censored" in columns else np.zeros(table.n, bool)
    qty = _read_quantity(table, columns, quantity)
    ucol, unit_where = _read_units(table, columns, unit, qty, header)
    values, measured = _convert_units(table, ucol, unit_where, qty, values, attrs)
    if measured.kind is not None:
        table.fail(
            values < 0,
            "value",
            lambda i: f"negative size {table.raw('value')[i]!r}; sizes must be >= 0",
        )

    # --- subject-level labels
    codes, labels = pd.factorize(pd.Series(subjects, dtype=object), sort=False)
    coords_extra = _subject_coords(table, columns, subjects, codes, len(labels))

    # --- sort within subject (stable) and check duplicates
    rows = _Rows(source=source, locate=locate, subjects=subjects, codes=codes, labels=labels,
                 days=days, values=values, censored=censored)
    _note_unsorted(rows, warn, attrs)
    grid = _Grid.of(_drop_duplicates(rows, duplicates, warn, attrs), codes, len(labels))

    # --- padding
    time_grid = grid(days, np.nan, np.float64)
    value_grid = grid(values, np.nan, np.float64)
    cens_grid = grid(censored, False, bool)
    attrs_out = _zero_value_attrs(value_grid, time_grid, labels, measured.quantity, source)
    attrs_out.update(attrs)

    data_vars: dict[str, Any] = {
        "time": (("subject", "obs"), time_grid, {"units": "day", "long_name": "time"}),
        "value": (("subject", "obs"), value_grid,
                  {"units": measured.unit, "long_name": measured.long_name}),
        "censored": (
            ("subject", "obs"),
            cens_grid,
            {"long_name": "left-censored at a detection limit (value is the limit)"},
        ),
        "n_obs": (("subject",), grid.n_obs, {"long_name": "number of observations"}),
    }
    if keep_extra:
        _add_extra_columns(table, columns, grid, data_vars, warn)

    coords: dict[str, Any] = {"subject": np.asarray(labels, dtype=object).astype(str)}
    for col, vals in coords_extra.items():
        coords[col] = ("subject", vals)
    ds = xr.Dataset(data_vars, coords=coords, attrs=attrs_out)
    return ds


def _check_build_options(duplicates: str, decimal: str, unit: Any, quantity: Any) -> None:
    """The reader's options: duplicate policy, decimal mark, unit and quantity types."""
    _check_choice("duplicates", duplicates, _DUPLICATE_POLICIES)
    _check_choice("decimal", decimal, (".", ","))
    if unit is not None and not isinstance(unit, str):
        raise DataError(f"unit must be a string such as 'mm^3' or None; got {unit!r}")
    if quantity is not None and (not isinstance(quantity, str) or not quantity.strip()):
        raise DataError(f"quantity must be a non-empty string or None; got {quantity!r}")


def _header_unit(
    frame: pd.DataFrame, columns_map: Any, source: str, where: str, unit: str | None,
    quantity: str | None,
) -> tuple[str | None, str | None, dict[str, str]]:
    """Rename the columns to the layout's names and take the unit and quantity that the
    value column's header carries; returns (unit, quantity, renamed columns)."""
    header_unit, header_qty, renamed = _canonical_columns(frame, columns_map, source, where)
    if header_unit is not None:
        if unit is not None and SIZE_UNITS.get(unit.strip().lower(), (unit,))[0] != \
                SIZE_UNITS[header_unit][0]:
            raise DataError(
                f"{source}, {where}: unit argument {unit!r} contradicts the value column's "
                f"header, which says {header_unit!r}"
            )
        unit = unit if unit is not None else header_unit
    if header_qty is not None and quantity is None and "quantity" not in frame.columns:
        quantity = header_qty
    return unit, quantity, renamed


def _check_layout_columns(
    frame: pd.DataFrame, columns: list[str], header: str, source: str
) -> None:
    """The layout's required columns are present and the frame has rows."""
    found = ", ".join(map(str, columns)) or "(none)"

    def missing(col: str, hint: str = "") -> DataError:
        return DataError(
            f"{header}: missing column {col!r}{hint}; expected columns subject, day, value"
            "[, unit, arm, group, censored] or the tidy layout subject, group, time, "
            f"time_unit, value, unit, quantity; found: {found}"
        )

    for col in ("subject", "value"):
        if col not in columns:
            raise missing(col)
    if "day" in columns and "time" in columns:
        raise DataError(
            f"{header}: both 'day' and 'time' columns are present; keep one ('day' in days, "
            "or 'time' with 'time_unit')"
        )
    if "day" not in columns and "time" not in columns:
        raise missing("day", " (or 'time' with 'time_unit')")
    if "time" in columns and "time_unit" not in columns:
        raise missing("time_unit", " (needed with 'time'; or name the column 'day')")
    if frame.shape[0] == 0:
        raise DataError(f"{source}: no data rows (only a header)")


def _read_days(
    table: _Table, columns: list[str], subjects: np.ndarray, header: str,
    date_reference: str | None, date_format: str | None, attrs: dict[str, Any],
) -> np.ndarray:
    """Times in days: a ``day`` column (numbers, or dates made days from each subject's
    first date) or ``time`` with ``time_unit``; a conversion is noted in ``attrs``."""
    if "day" not in columns:
        return _time_in_units(table, attrs)
    dated = _dates_to_days(table, "day", subjects, date_reference, date_format)
    if dated is not None:
        days, attrs["time_conversion"] = dated
        return days
    if date_reference is not None:
        raise DataError(
            f"{header}: date_reference={date_reference!r} given but the time column "
            "holds numbers (days), not dates"
        )
    return table.numbers("day")


def _time_in_units(table: _Table, attrs: dict[str, Any]) -> np.ndarray:
    """Days from the ``time`` and ``time_unit`` columns."""
    import pandas as pd

    t = table.numbers("time")
    tu = np.array([s.lower() for s in table.strings("time_unit")], dtype=object)
    factors = np.empty(table.n)
    for name in pd.unique(tu):
        rows = tu == name
        if name not in TIME_UNITS:
            raw = table.raw("time_unit")
            table.fail(
                rows,
                "time_unit",
                lambda i, raw=raw: (
                    f"unknown time unit {raw[i]!r}; use one of day, "
                    "week (x 7), month (x 30.4375) or hour (/ 24)"
                ),
            )
        factors[rows] = TIME_UNITS[name]
    days = t * factors
    converted = sorted({str(n) for n in pd.unique(tu) if TIME_UNITS[n] != 1.0})
    if converted:
        attrs["time_conversion"] = "converted to days: " + "; ".join(
            f"{n} x {TIME_UNITS[n]:g}" for n in converted
        )
    return days


def _read_quantity(table: _Table, columns: list[str], quantity: str | None) -> str | None:
    """The one quantity of the file: its ``quantity`` column, else the argument (or None)."""
    import pandas as pd

    if "quantity" not in columns:
        return quantity.strip() if quantity else None
    qcol = table.strings("quantity")
    fill = quantity.strip() if quantity else None
    if fill is None:
        table.fail(qcol == "", "quantity", lambda i: "missing quantity")
    else:
        qcol = np.where(qcol == "", fill, qcol)
    distinct = pd.unique(qcol)
    if len(distinct) > 1:
        table.fail(
            qcol != qcol[0],
            "quantity",
            lambda i: (
                f"quantity {qcol[i]!r} differs from {qcol[0]!r} on the first row; "
                "a series file holds one quantity"
            ),
        )
    if quantity is not None and quantity.strip() != qcol[0]:
        raise DataError(
            f"quantity argument {quantity!r} contradicts the file's quantity column "
            f"({qcol[0]!r})"
        )
    return str(qcol[0])


def _read_units(
    table: _Table, columns: list[str], unit: str | None, qty: str | None, header: str
) -> tuple[np.ndarray, str]:
    """Each row's unit as written (the ``unit`` column, else the ``unit`` argument) and
    the column that errors about it name."""
    if "unit" in columns:
        ucol = table.strings("unit")
        if unit is not None:
            ucol = np.where(ucol == "", unit.strip(), ucol)
        else:
            table.fail(
                ucol == "",
                "unit",
                lambda i: "missing unit (give one per row, or pass unit=... as the default)",
            )
        return ucol, "unit"
    if unit is None and qty is not None and _quantity_kind(qty) is None:
        raise DataError(
            f"{header}: no 'unit' column and no unit argument; quantity {qty!r} is not a "
            "size, so its unit cannot be assumed: add a 'unit' column or pass unit=..."
        )
    if unit is None:
        raise DataError(
            f"{header}: the values have no unit, and tgsim does not guess one (a diameter "
            "read as a volume is a silent, large error). Give it as a 'unit' column, in the "
            "value column's name (volume_mm3, volume_cm3, diameter_mm, diameter_cm), or as "
            "unit='mm^3' / unit='mm' (CLI: --unit mm^3 or --unit mm); diameters are fitted "
            "as sphere-equivalent volumes pi d^3 / 6"
        )
    return np.full(table.n, unit.strip(), dtype=object), "value"


@dataclass(frozen=True)
class _Measured:
    """What ``value`` holds once read: quantity, stored unit, long name and size kind
    (``"volume"``, ``"length"`` or None for a quantity that is not a size)."""

    quantity: str
    unit: str
    long_name: str
    kind: str | None


def _convert_units(
    table: _Table, ucol: np.ndarray, unit_where: str, qty: str | None, values: np.ndarray,
    attrs: dict[str, Any],
) -> tuple[np.ndarray, _Measured]:
    """Values in the stored unit (sizes in mm^3 or mm; other quantities as given) and
    what they measure; a conversion is noted in ``attrs``."""
    import pandas as pd

    kind = _quantity_kind(qty) if qty is not None else None
    distinct_units = list(pd.unique(ucol))
    if qty is not None and kind is None:
        # pass-through unit of a quantity that is not a size: must be uniform
        if len(distinct_units) > 1:
            table.fail(
                ucol != ucol[0],
                unit_where,
                lambda i: (
                    f"unit {ucol[i]!r} differs from {ucol[0]!r} on the first row; "
                    f"quantity {qty!r} is not a size, so its units cannot be converted: "
                    "use one unit throughout"
                ),
            )
        return values, _Measured(qty, str(ucol[0]), qty.replace("_", " "), None)
    factor, dim = _size_factors(table, ucol, unit_where, qty, kind, distinct_units)
    out_unit = "mm^3" if dim == "volume" else "mm"
    if qty is None:
        qty = _DEFAULT_QUANTITY[dim]
    long_name = (
        _SIZE_LONG_NAMES[dim] if qty in _DEFAULT_QUANTITY.values() else (qty.replace("_", " "))
    )
    changed = factor != 1.0
    if changed.any():
        notes = []
        for u in distinct_units:
            stored, f, _ = SIZE_UNITS[str(u).lower()]
            if f != 1.0:
                k = int(np.sum(ucol == u))
                notes.append(f"{u} x {f:g} on {k} row{'s' if k != 1 else ''}")
        attrs["unit_conversion"] = f"converted to {out_unit}: " + "; ".join(notes)
    return values * factor, _Measured(qty, out_unit, long_name, dim)


def _size_factors(
    table: _Table, ucol: np.ndarray, unit_where: str, qty: str | None, kind: str | None,
    distinct_units: list[Any],
) -> tuple[np.ndarray, str]:
    """Each row's factor to the stored size unit and the one dimension (``"volume"`` or
    ``"length"``) of the file's size units."""
    dims_seen: dict[str, int] = {}
    factor = np.ones(table.n)
    for u in distinct_units:
        rows = ucol == u
        key = str(u).lower()
        if key not in SIZE_UNITS:
            what = f"quantity {qty!r}" if qty is not None else "a size column"
            table.fail(
                rows,
                unit_where,
                lambda i, u=u, what=what: (
                    f"unknown unit {u!r} for {what}; use mm^3, cm^3, mm or cm"
                    + (
                        ""
                        if qty is not None
                        else " (for a quantity that is not a size, pass quantity=... or add a "
                        "'quantity' column)"
                    )
                ),
            )
        stored, f, dim = SIZE_UNITS[key]
        if kind is not None and dim != kind:
            table.fail(
                rows,
                unit_where,
                lambda i, u=u, dim=dim: (
                    f"unit {u!r} is a {dim} but quantity {qty!r} is a {kind}"
                ),
            )
        dims_seen.setdefault(dim, int(np.flatnonzero(rows)[0]))
        factor[rows] = f
    if len(dims_seen) > 1:
        first = max(dims_seen.values())
        raise DataError(
            f"{table.where(first, unit_where)}: unit {ucol[first]!r} mixes lengths and "
            "volumes in one file; a series file holds one quantity"
        )
    return factor, next(iter(dims_seen))


def _subject_coords(
    table: _Table, columns: list[str], subjects: np.ndarray, codes: np.ndarray, n_subj: int
) -> dict[str, np.ndarray]:
    """``arm`` and ``group`` per subject; each must be constant within a subject."""
    coords_extra: dict[str, np.ndarray] = {}
    for col in ("arm", "group"):
        if col in columns:
            text = table.strings(col)
            first_row = np.full(n_subj, -1)
            seen = np.zeros(n_subj, bool)
            for k in range(table.n):
                c = codes[k]
                if not seen[c]:
                    seen[c] = True
                    first_row[c] = k
            per_subject = text[first_row]
            table.fail(
                text != per_subject[codes],
                col,
                lambda i, text=text, ps=per_subject, col=col: (
                    f"{col} {text[i]!r} differs from {ps[codes[i]]!r} given earlier for "
                    f"subject {subjects[i]!r}; {col} must be constant within a subject"
                ),
            )
            coords_extra[col] = per_subject.astype(str)
    return coords_extra


@dataclass(frozen=True)
class _Rows:
    """The input rows once read, one entry per row in file order."""

    source: str
    locate: Callable[[int], str]
    subjects: np.ndarray  # subject label of each row
    codes: np.ndarray  # subject index of each row (order of first appearance)
    labels: Any  # subject labels in order of first appearance
    days: np.ndarray
    values: np.ndarray
    censored: np.ndarray


def _note_unsorted(rows: _Rows, warn: bool, attrs: dict[str, Any]) -> None:
    """Note (and warn about) subjects whose times are not increasing in file order."""
    codes = rows.codes
    file_order = np.argsort(codes, kind="stable")
    same_subject = codes[file_order][1:] == codes[file_order][:-1]
    went_back = same_subject & (np.diff(rows.days[file_order]) < 0)
    if went_back.any():
        bad = np.unique(codes[file_order][1:][went_back])
        names = [str(rows.labels[c]) for c in bad]
        listed = ", ".join(names[:_MAX_LISTED]) + (" ..." if len(names) > _MAX_LISTED else "")
        attrs["sorted_subjects"] = f"times sorted within {len(names)} subject(s): {listed}"
        if warn:
            warnings.warn(
                f"{rows.source}: times not in increasing order for {len(names)} subject(s) "
                f"({listed}); sorted",
                TgsimWarning,
                stacklevel=4,
            )


def _drop_duplicates(
    rows: _Rows, duplicates: str, warn: bool, attrs: dict[str, Any]
) -> np.ndarray:
    """Indices of the rows kept, sorted by subject then time (stable: equal keys keep file
    order), after applying the ``duplicates`` policy to rows at one (subject, time)."""
    order = np.lexsort((rows.days, rows.codes))  # stable: equal keys keep file order
    s_codes = rows.codes[order]
    s_days = rows.days[order]
    dup = np.flatnonzero((s_codes[1:] == s_codes[:-1]) & (s_days[1:] == s_days[:-1])) + 1
    drop = np.zeros(order.size, bool)  # in sorted order
    if dup.size:
        identical = _apply_duplicate_policy(rows, order, dup, duplicates, drop)
        kept_note = []
        for j in np.flatnonzero(drop):
            i = order[j]
            kept_note.append(
                f"{rows.locate(int(i))} (subject {rows.subjects[i]}, day {rows.days[i]:g})")
        n_conflicting = int((~identical).sum())
        attrs["duplicates_dropped"] = (
            f"{len(kept_note)} row(s) at a duplicate (subject, time) dropped, keeping the "
            f"{'last' if duplicates == 'last' else 'first'} in file order; {n_conflicting} "
            "with a different value: " + "; ".join(kept_note)
        )
        if warn and n_conflicting:
            warnings.warn(f"{rows.source}: {attrs['duplicates_dropped']}", TgsimWarning,
                          stacklevel=4)
    return order[~drop]


def _apply_duplicate_policy(
    rows: _Rows, order: np.ndarray, dup: np.ndarray, duplicates: str, drop: np.ndarray
) -> np.ndarray:
    """Mark in ``drop`` (sorted order) the repeats at the sorted positions ``dup``, or raise
    as the policy says; returns whether each repeat equals the first of its block."""
    s_codes = rows.codes[order]
    s_days = rows.days[order]
    s_vals = rows.values[order]
    s_cens = rows.censored[order]

    def block_start(j: int) -> int:
        k = j - 1
        while k > 0 and s_codes[k - 1] == s_codes[j] and s_days[k - 1] == s_days[j]:
            k -= 1
        return k

    def describe(j: int) -> str:
        i0 = order[block_start(j)]
        i1 = order[j]
        return (
            f"{rows.source}: duplicate time: subject {rows.subjects[i1]!r} has two "
            f"measurements at day {rows.days[i1]:g} ({rows.locate(int(i0))} and "
            f"{rows.locate(int(i1))}, values {rows.values[i0]:g} and {rows.values[i1]:g})"
        )

    if duplicates == "error":
        raise DataError(
            f"{describe(int(dup[0]))}{_more(dup.size - 1)}; times within a subject must be "
            "distinct"
        )
    identical = np.array(
        [
            s_vals[j] == s_vals[block_start(j)] and s_cens[j] == s_cens[block_start(j)]
            for j in dup
        ]
    )
    if duplicates == "drop_identical" and not identical.all():
        j = int(dup[~identical][0])
        raise DataError(
            f"{describe(j)}{_more(int((~identical).sum()) - 1)}; the values differ, so "
            "they cannot be merged (duplicates='drop_identical')"
        )
    if duplicates == "last":
        for j in dup:
            drop[block_start(int(j)) : j] = True
    else:  # first, drop_identical
        drop[dup] = True
    return identical


@dataclass(frozen=True)
class _Grid:
    """Where each kept row goes in the padded (subject, obs) layout."""

    keep: np.ndarray  # indices of the kept rows, sorted by subject then time
    codes: np.ndarray  # subject index of each kept row
    pos: np.ndarray  # obs index of each kept row
    n_obs: np.ndarray  # int64 number of observations per subject
    width: int  # length of the obs dimension

    @classmethod
    def of(cls, keep: np.ndarray, codes: np.ndarray, n_subj: int) -> _Grid:
        codes_k = codes[keep]
        n_obs = np.bincount(codes_k, minlength=n_subj).astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(n_obs)[:-1]))
        pos = np.arange(keep.size) - starts[codes_k]
        return cls(keep, codes_k, pos, n_obs, int(n_obs.max()))

    def __call__(self, src: np.ndarray, fill: Any, dtype: Any) -> np.ndarray:
        """A per-row array (input row order) as a padded (subject, obs) grid."""
        out = np.full((self.n_obs.size, self.width), fill, dtype=dtype)
        out[self.codes, self.pos] = src[self.keep]
        return out


def _zero_value_attrs(
    value_grid: np.ndarray, time_grid: np.ndarray, labels: Any, qty: str, source: str
) -> dict[str, Any]:
    """The Dataset's first attributes: quantity, source and the values exactly 0."""
    zero = value_grid == 0
    n_zero = int(zero.sum())
    attrs_out: dict[str, Any] = {"quantity": qty, "source": source}
    attrs_out["n_zero_values"] = n_zero
    if n_zero:
        zs, zo = np.nonzero(zero)
        listed = "; ".join(
            f"{labels[s]} at day {time_grid[s, o]:g}"
            for s, o in zip(zs[:_MAX_LISTED], zo[:_MAX_LISTED], strict=True)
        ) + (" ..." if n_zero > _MAX_LISTED else "")
        attrs_out["zero_values"] = (
            f"{n_zero} value(s) are exactly 0 (a log-scale error model cannot use them): {listed}"
        )
    return attrs_out


def _add_extra_columns(
    table: _Table, columns: list[str], grid: _Grid, data_vars: dict[str, Any], warn: bool
) -> None:
    """Extra columns as ``name(subject)`` when constant within every subject, else
    ``name(subject, obs)``; numbers as float64, anything else as strings."""
    import pandas as pd

    for col in columns:
        if col in _KNOWN:
            continue
        name = str(col)
        if name in _RESERVED or name in data_vars:
            if warn:
                warnings.warn(
                    f"{table.source}: extra column {name!r} clashes with a layout name; "
                    "skipped",
                    TgsimWarning,
                    stacklevel=4,
                )
            continue
        series = table.frame[col]
        if series.dtype.kind in "iufb":
            arr: np.ndarray = series.to_numpy(dtype=np.float64, na_value=np.nan)
            numeric = True
        else:
            text = table.strings(col)
            num = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            numeric = bool(np.all(~np.isnan(num) | (text == ""))) and bool(np.any(text != ""))
            arr = num if numeric else text
        g = grid(arr, np.nan if numeric else "", np.float64 if numeric else object)
        valid = np.arange(grid.width)[None, :] < grid.n_obs[:, None]
        first = g[:, 0]
        if numeric:
            same = (g == first[:, None]) | (np.isnan(g) & np.isnan(first)[:, None])
        else:
            same = g == first[:, None]
        if np.all(same | ~valid):
            data_vars[name] = (("subject",), first if numeric else first.astype(str))
        else:
            data_vars[name] = (("subject", "obs"), g if numeric else g.astype(str))


def _lower_columns(frame: pd.DataFrame, source: str, locate: Callable[[int], str]) -> None:
    names = [_norm(c) for c in frame.columns]
    seen: dict[str, int] = {}
    for k, n in enumerate(names):
        if n in seen:
            raise DataError(
                f"{source}, {locate(-1)}: column {n!r} appears twice (columns {seen[n] + 1} "
                f"and {k + 1}; names are compared without regard to case)"
            )
        seen[n] = k
    frame.columns = names


# ----------------------------------------------------------------------------- public


def series_from_frame(
    df: pd.DataFrame,
    *,
    unit: str | None = None,
    quantity: str | None = None,
    duplicates: DuplicatePolicy = "error",
    keep_extra: bool = True,
    source: str = "<DataFrame>",
    columns: Mapping[str, str] | str | None = None,
    date_reference: str | None = None,
    date_format: str | None = None,
) -> xr.Dataset:
    """Build a series Dataset from a tidy long DataFrame.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per measurement, with columns ``subject``, ``value`` and either ``day``
        or ``time`` + ``time_unit``; optional ``unit``, ``quantity``, ``arm``,
        ``group``, ``censored`` and extra columns (see the module docstring).
    unit : str, optional
        Unit of rows without one (or of all rows when there is no ``unit`` column). There
        is no default: without a ``unit`` column, a unit in the value column's header
        (``volume_mm3``, ``diameter_mm``) or this argument, a :class:`DataError` says how
        to give one.
    quantity : str, optional
        What ``value`` measures, when there is no ``quantity`` column. A quantity whose
        name contains ``volume`` or ``diam`` is a size (units converted to mm^3 / mm);
        any other keeps its unit as given.
    duplicates : {"error", "drop_identical", "first", "last"}
        What to do with two rows of one subject at the same time: raise (default),
        drop repeats with the same value (raise if values differ), or keep the first /
        last row in input order. Dropped rows are listed in
        ``attrs["duplicates_dropped"]``; a :class:`~tgsim.errors.TgsimWarning` is issued
        when a dropped row had a different value.
    keep_extra : bool
        Keep extra columns as variables (default True).
    source : str
        Name used in messages and stored in ``attrs["source"]``.
    columns : mapping or str, optional
        Which input column plays which layout role, ``{"subject": "patient_id", "day":
        "date", "value": "volume_mm3"}`` or the same as ``"subject=patient_id,day=date,
        value=volume_mm3"``. Without it the recognised spellings of the module docstring
        are used (case-insensitive).
    date_reference : str, optional
        Column holding each row's reference date (e.g. the treatment start) when the time
        column holds dates; default: days from each subject's first date.
    date_format : str, optional
        :func:`datetime.strptime` format of the dates (default ISO 8601, YYYY-MM-DD).

    Returns
    -------
    xarray.Dataset
        A series Dataset (layout in :mod:`tgsim.io.series`).

    Raises
    ------
    DataError
        Missing column, missing or non-numeric time/value, negative size, unknown or
        mixed unit, duplicate time, inconsistent ``arm``/``group``; the message names the
        row (``row k``, 1-based position, with the index label) and the column.
    """
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise DataError(f"df must be a pandas DataFrame; got {type(df).__name__}")
    frame = df.copy()
    index = list(frame.index)

    def locate(i: int) -> str:
        if i < 0:
            return "columns"
        return f"row {i + 1} (index {index[i]!r})"

    _lower_columns(frame, source, locate)
    if frame.shape[0] == 0 and frame.shape[1] == 0:
        raise DataError(f"{source}: empty DataFrame (no columns, no rows)")
    return _build(
        frame,
        locate=locate,
        source=source,
        unit=unit,
        quantity=quantity,
        duplicates=duplicates,
        keep_extra=keep_extra,
        columns_map=columns,
        date_reference=date_reference,
        date_format=date_format,
    )


def _read_rows(path: Path, sep: str = ",") -> tuple[list[str], list[list[str]], list[int]]:
    """Header, rows and 1-based line numbers of a CSV file (plain or .gz)."""
    name = str(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError) as exc:
        if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
            raise
        raise DataError(f"{name}: cannot read the file ({exc})") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{name}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8"
        ) from exc
    if not text.strip():
        raise DataError(f"{name}: the file is empty (expected a CSV header and rows)")
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\r\n\"":
        raise DataError(f"sep must be one character such as ',' or ';'; got {sep!r}")
    first_line = text.lstrip().splitlines()[0]
    for other in (";", "\t"):
        if sep != other and sep not in first_line and other in first_line:
            shown = "\\t" if other == "\t" else other
            raise DataError(
                f"{name}, line 1 (header): the header has no {sep!r} but has {other!r}; the "
                f"file looks {other!r}-separated: pass sep={shown!r} (CLI: --sep '{shown}'), "
                "and decimal=',' if numbers use decimal commas"
            )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not f.strip() for f in row):
                continue
            if header is None:
                header = row
                continue
            if len(row) != len(header):
                raise DataError(
                    f"{name}, line {reader.line_num}: malformed CSV row: {len(row)} fields "
                    f"where the header (line 1) has {len(header)}"
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"{name}, line {reader.line_num}: malformed CSV ({exc})") from exc
    if header is None:  # only separators and blanks
        raise DataError(f"{name}: no CSV header (the file holds only blank fields)")
    return header, rows, lines


def read_series(
    path: str | os.PathLike[str],
    *,
    unit: str | None = None,
    quantity: str | None = None,
    duplicates: DuplicatePolicy = "error",
    keep_extra: bool = True,
    columns: Mapping[str, str] | str | None = None,
    sep: str = ",",
    decimal: Literal[".", ","] = ".",
    date_reference: str | None = None,
    date_format: str | None = None,
) -> xr.Dataset:
    """Read a tidy long CSV of serial measurements into a series Dataset.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file (``.csv`` or gzip-compressed ``.csv.gz``), UTF-8, comma-separated, one
        header line. Layouts and units: see :mod:`tgsim.io.series`.
    unit, quantity, duplicates, keep_extra, columns, date_reference, date_format
        As in :func:`series_from_frame`. The unit is never assumed.
    sep : str
        Field separator (default ``","``; ``";"`` for many European spreadsheet exports).
        A header with no ``sep`` but a ``;`` or tab is refused with a message naming
        this option.
    decimal : {".", ","}
        Decimal mark of numbers. With ``","`` (decimal commas, ``12,5``) use
        ``sep=";"``. A number with a decimal comma read with ``"."`` is refused with a
        message naming this option.

    Returns
    -------
    xarray.Dataset
        The series Dataset; ``attrs["source"]`` is ``path``.

    Raises
    ------
    DataError
        Empty file, malformed CSV, missing column, non-numeric or missing time/value,
        negative size, unknown unit, duplicate (subject, day), ...: the message names the
        file, the 1-based line number and the column.
    FileNotFoundError
        ``path`` does not exist.

    Examples
    --------
    >>> import os, tempfile
    >>> text = "subject,day,value,unit\\nmouse01,0,50.0,mm^3\\nmouse01,7,120.5,mm^3\\n"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "volumes.csv")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     ds = read_series(path)
    >>> ds.value.sel(subject="mouse01").values.tolist(), ds.value.attrs["units"]
    ([50.0, 120.5], 'mm^3')
    """
    import pandas as pd

    p = Path(path)
    source = str(path)
    if decimal == "," and sep == ",":
        raise DataError("decimal=',' needs another separator than ','; pass sep=';'")
    header, rows, lines = _read_rows(p, sep)
    frame = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
    frame.columns = header
    line_of = np.asarray(lines)

    def locate(i: int) -> str:
        if i < 0:
            return "line 1 (header)"
        return f"line {int(line_of[i])}"

    _lower_columns(frame, source, locate)
    return _build(
        frame,
        locate=locate,
        source=source,
        unit=unit,
        quantity=quantity,
        duplicates=duplicates,
        keep_extra=keep_extra,
        columns_map=columns,
        decimal=decimal,
        date_reference=date_reference,
        date_format=date_format,
    )


def _check_layout(dataset: Any) -> None:
    import xarray as xr

    if not isinstance(dataset, xr.Dataset):
        raise DataError(f"dataset must be an xarray.Dataset; got {type(dataset).__name__}")
    for var, dims in (("time", ("subject", "obs")), ("value", ("subject", "obs"))):
        if var not in dataset.variables:
            raise DataError(f"dataset: missing variable {var!r} of the series layout")
        if tuple(dataset[var].dims) != dims:
            raise DataError(
                f"dataset: variable {var!r} must have dims {dims}; got {tuple(dataset[var].dims)}"
            )


def series_to_frame(dataset: xr.Dataset) -> pd.DataFrame:
    """Tidy long DataFrame (the :func:`write_series` layout) of a series Dataset.

    Parameters
    ----------
    dataset : xarray.Dataset
        A series Dataset.

    Returns
    -------
    pandas.DataFrame
        Columns ``subject[, arm][, group], day, value, unit, quantity[, censored]`` and one
        column per extra variable; one row per observation (padding dropped).
    """
    import pandas as pd

    _check_layout(dataset)
    time = np.asarray(dataset["time"].values, dtype=np.float64)
    value = np.asarray(dataset["value"].values, dtype=np.float64)
    n_subj, width = time.shape
    if "n_obs" in dataset:
        n_obs = np.asarray(dataset["n_obs"].values, dtype=np.int64)
    else:
        n_obs = np.sum(~np.isnan(time), axis=1).astype(np.int64)
    valid = np.arange(width)[None, :] < n_obs[:, None]
    s_idx, o_idx = np.nonzero(valid)
    labels = np.asarray(dataset["subject"].values).astype(str)
    out: dict[str, Any] = {"subject": labels[s_idx]}
    for col in ("arm", "group"):
        if col in dataset.coords or col in dataset.data_vars:
            out[col] = np.asarray(dataset[col].values).astype(str)[s_idx]
    out["day"] = time[s_idx, o_idx]
    out["value"] = value[s_idx, o_idx]
    out["unit"] = str(dataset["value"].attrs.get("units", "mm^3"))
    quantity = dataset.attrs.get("quantity")
    if quantity:
        out["quantity"] = str(quantity)
    if "censored" in dataset:
        cens = np.asarray(dataset["censored"].values, dtype=bool)[s_idx, o_idx]
        if cens.any():
            out["censored"] = np.where(cens, "true", "false")
    skip = {"time", "value", "censored", "n_obs", "arm", "group", "subject"}
    for name, var in dataset.data_vars.items():
        if name in skip:
            continue
        vals = np.asarray(var.values)
        if var.dims == ("subject",):
            out[str(name)] = vals[s_idx]
        elif var.dims == ("subject", "obs"):
            out[str(name)] = vals[s_idx, o_idx]
    return pd.DataFrame(out)


def write_series(dataset: xr.Dataset, path: str | os.PathLike[str]) -> Path:
    """Write a series Dataset as a tidy long CSV (atomically).

    Parameters
    ----------
    dataset : xarray.Dataset
        A series Dataset (layout in :mod:`tgsim.io.series`).
    path : str or os.PathLike
        Output file; a name ending in ``.gz`` is gzip-compressed. Written to a temporary
        file beside it and renamed into place, so a failed write leaves no partial file.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    Columns: ``subject[, arm][, group], day, value, unit, quantity[, censored]`` and one
    column per extra ``(subject)`` or ``(subject, obs)`` variable. Floats are written
    with full precision, so :func:`read_series` gives back the same numbers.

    Examples
    --------
    >>> import os, tempfile, numpy as np, tgsim
    >>> ds = tgsim.datasets.load("vaghi2020_breast")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = tgsim.write_series(ds, os.path.join(tmp, "vaghi.csv"))
    ...     back = tgsim.read_series(path, unit="mm^3")
    >>> bool(np.array_equal(back.value.values, ds.value.values, equal_nan=True))
    True
    """
    frame = series_to_frame(dataset)
    final = Path(path)
    compression = "gzip" if final.suffix == ".gz" else None
    with atomic_path(final) as tmp:
        if compression:
            with gzip.GzipFile(tmp, "wb", mtime=0) as gz:
                gz.write(frame.to_csv(index=False, na_rep="", lineterminator="\n").encode())
        else:
            frame.to_csv(tmp, index=False, na_rep="", lineterminator="\n")
    return final
