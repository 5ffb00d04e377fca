"""Lesion tables: validation and the xarray layout used by the response criteria.

A lesion table is tidy and long: one row per lesion per assessment, with columns

=============  ========  ==================================================================
column         required  meaning
=============  ========  ==================================================================
subject        yes       subject identifier (read as text)
day            yes       assessment day (days; any origin, e.g. days from treatment start)
lesion         yes       lesion identifier within the subject (read as text)
diameter_mm    yes       longest diameter in mm (short axis for lymph nodes); 0 = gone.
                         Required (>= 0) for target lesions; may be empty for non-target
                         and new lesions
kind           no        ``target`` (default), ``non-target`` or ``new``
status         no        non-target lesions: ``present``, ``absent`` or ``progression``
                         (unequivocal progression); default from the diameter
                         (``absent`` if 0, or under 10 mm for a node, else ``present``)
organ          no        organ or site, for the 2-per-organ target rule
is_node        no        lymph node (true/false); nodes are measured by short axis
=============  ========  ==================================================================

A lesion that was not assessed at a visit has no row for that visit (an empty
diameter for a target lesion is an error, not "not assessed").

Dataset layout (:func:`lesions_to_dataset`): a single dimension ``record`` (one per row),
with variables ``subject, day, lesion, diameter_mm, kind, status, organ, is_node``, all
of dim ``record``; ``day`` has ``units="days"`` and ``diameter_mm`` ``units="mm"``.
This long layout keeps per-subject visit days and lesion names without padding.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import DataError, TgsimWarning

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "KINDS",
    "STATUSES",
    "validate_lesion_table",
    "lesions_to_dataset",
    "lesions_from_dataset",
    "as_lesion_table",
]

REQUIRED_COLUMNS: tuple[str, ...] = ("subject", "day", "lesion", "diameter_mm")
OPTIONAL_COLUMNS: tuple[str, ...] = ("kind", "status", "organ", "is_node")
KINDS: tuple[str, ...] = ("target", "non-target", "new")
STATUSES: tuple[str, ...] = ("present", "absent", "progression")

_KIND_ALIASES = {
    "target": "target",
    "t": "target",
    "non-target": "non-target",
    "non_target": "non-target",
    "nontarget": "non-target",
    "non target": "non-target",
    "nt": "non-target",
    "new": "new",
}
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", ""}

#: lymph nodes with a short axis under 10 mm are normal (RECIST 1.1)
NODE_NORMAL_MM: float = 10.0

#: internal column holding a human-readable name of each input row
WHERE = "_where"


_BLANK_TEXT = {"", "nan", "na", "n/a", "none", "null"}


def _blank(x: Any) -> bool:
    """Empty cell: None, NaN, or text such as "", "NaN", "NA"."""
    return (
        x is None
        or (isinstance(x, float) and np.isnan(x))
        or (isinstance(x, str) and x.strip().lower() in _BLANK_TEXT)
    )


def validate_lesion_table(
    frame: pd.DataFrame, *, source: str | None = None, first_line: int | None = None
) -> pd.DataFrame:
    """Check and normalise a lesion table; return a new, sorted DataFrame.

    Parameters
    ----------
    frame
        Table with the columns described in :mod:`tgsim.clinical.lesiondata`.
    source
        Name of the file the table came from, used in messages.
    first_line
        File line number of the first data row (2 for a CSV with a header); rows are then
        named "line N", otherwise "row <index label>".

    Returns
    -------
    pandas.DataFrame
        Columns ``subject, day, lesion, diameter_mm, kind, status, organ, is_node`` (and an
        internal ``_where``), sorted by subject (order of first appearance) and day.

    Raises
    ------
    DataError
        Naming the file, row and column: a missing column, a non-numeric, negative or NaN
        diameter (NaN is allowed for non-target and new lesions), an unknown kind or status,
        a duplicate (subject, day, lesion), a lesion whose kind changes.

    Warns
    -----
    TgsimWarning
        When a lesion's days are not in increasing order in the input (the rows are
        sorted; a table grouped by lesion, each lesion's days increasing, is fine).
    """
    prefix = f"{source}: " if source else ""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{prefix}lesion data must be a pandas DataFrame; got {type(frame)}")
    cols = [str(c).strip() for c in frame.columns]
    df = frame.copy()
    df.columns = cols
    for c in REQUIRED_COLUMNS:
        if c not in cols:
            raise DataError(
                f"{prefix}missing required column `{c}`; the columns are {cols}. "
                f"Required: {list(REQUIRED_COLUMNS)}"
            )
    if first_line is not None:
        where = [f"line {i + first_line}" for i in range(len(df))]
    else:
        where = [f"row {lab}" for lab in df.index]
    df = df.reset_index(drop=True)
    df[WHERE] = where

    _read_labels(df, prefix)
    _read_days(df, prefix)
    _read_kinds(df, prefix)
    diam = _read_diameters(df, prefix)
    if "organ" in df.columns:
        df["organ"] = ["" if _blank(v) else str(v).strip() for v in df["organ"].tolist()]
    else:
        df["organ"] = ""
    _read_nodes(df, prefix)
    _read_statuses(df, prefix, diam)
    _check_unique_records(df, prefix)
    _check_constant_per_lesion(df, prefix)
    df = _sort_by_subject_and_day(df, prefix)
    return df[[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, WHERE]]


def _fail(df: pd.DataFrame, prefix: str, i: int, col: str, rule: str, value: Any) -> DataError:
    """The error for row ``i`` of ``df``, naming the file, row, column, rule and value."""
    return DataError(f"{prefix}{df[WHERE].iat[i]}, column `{col}`: {rule}; got {value!r}")


def _read_labels(df: pd.DataFrame, prefix: str) -> None:
    """``subject`` and ``lesion`` as non-empty text (whole-number floats without ``.0``)."""
    for col in ("subject", "lesion"):
        vals = df[col].tolist()
        out = []
        for i, v in enumerate(vals):
            if _blank(v):
                raise _fail(df, prefix, i, col, "must not be empty", v)
            if isinstance(v, float) and float(v).is_integer():
                v = int(v)
            out.append(str(v).strip())
        df[col] = out


def _read_days(df: pd.DataFrame, prefix: str) -> None:
    """``day`` as finite float64 numbers of days."""
    day = pd.to_numeric(df["day"], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(day))
    if bad.size:
        i = int(bad[0])
        raise _fail(df, prefix, i, "day", "must be a finite number of days", df["day"].iat[i])
    df["day"] = day


def _read_kinds(df: pd.DataFrame, prefix: str) -> None:
    """``kind`` as one of :data:`KINDS` (aliases accepted; empty or absent = target)."""
    if "kind" not in df.columns:
        df["kind"] = "target"
        return
    kinds = []
    for i, v in enumerate(df["kind"].tolist()):
        if _blank(v):
            kinds.append("target")
            continue
        k = _KIND_ALIASES.get(str(v).strip().lower())
        if k is None:
            raise _fail(df, prefix, i, "kind", f"must be one of {list(KINDS)}", v)
        kinds.append(k)
    df["kind"] = kinds


def _read_diameters(df: pd.DataFrame, prefix: str) -> np.ndarray:
    """``diameter_mm`` as float64 >= 0, NaN allowed for non-target and new lesions only;
    returns the diameters."""
    raw_d = df["diameter_mm"]
    diam = pd.to_numeric(raw_d, errors="coerce").to_numpy(dtype=np.float64)
    for i in range(len(df)):
        d = diam[i]
        if np.isnan(d):
            if not _blank(raw_d.iat[i]):
                raise _fail(df, prefix, i, "diameter_mm", "must be a number of mm", raw_d.iat[i])
            if df["kind"].iat[i] == "target":
                raise _fail(
                    df,
                    prefix,
                    i,
                    "diameter_mm",
                    "must be a number >= 0 for a target lesion (NaN/empty; a lesion not "
                    "assessed at a visit should have no row)",
                    raw_d.iat[i],
                )
        elif not np.isfinite(d) or d < 0:
            raise _fail(df, prefix, i, "diameter_mm", "must be a finite number >= 0", d)
    df["diameter_mm"] = diam
    return diam


def _read_nodes(df: pd.DataFrame, prefix: str) -> None:
    """``is_node`` as bool (true/false, yes/no, 1/0; empty or absent = False)."""
    if "is_node" not in df.columns:
        df["is_node"] = False
        return
    nodes = []
    for i, v in enumerate(df["is_node"].tolist()):
        if isinstance(v, bool | np.bool_):
            nodes.append(bool(v))
            continue
        s = "" if _blank(v) else str(v).strip().lower()
        if s in _TRUE:
            nodes.append(True)
        elif s in _FALSE:
            nodes.append(False)
        else:
            raise _fail(df, prefix, i, "is_node", "must be true or false", v)
    df["is_node"] = nodes


def _read_statuses(df: pd.DataFrame, prefix: str, diam: np.ndarray) -> None:
    """``status`` as one of :data:`STATUSES` or ""; an empty status of a non-target lesion
    follows from its diameter (absent if 0, or under 10 mm for a node)."""
    statuses: list[str] = []
    has_status = "status" in df.columns
    for i in range(len(df)):
        v = df["status"].iat[i] if has_status else None
        kind = df["kind"].iat[i]
        if _blank(v):
            if kind == "non-target":
                d = diam[i]
                gone = d < NODE_NORMAL_MM if df["is_node"].iat[i] else d == 0
                statuses.append("absent" if gone else "present")
            else:
                statuses.append("")
            continue
        s = str(v).strip().lower()
        if s not in STATUSES:
            raise _fail(df, prefix, i, "status", f"must be one of {list(STATUSES)} or empty", v)
        statuses.append(s)
    df["status"] = statuses


def _check_unique_records(df: pd.DataFrame, prefix: str) -> None:
    """No two rows share (subject, day, lesion)."""
    key = df[["subject", "day", "lesion"]]
    dup = key.duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())
        first = rows[0]
        same = [j for j in rows if (key.iloc[j] == key.iloc[first]).all()]
        s, d, les = key.iloc[first]
        d = float(d)
        raise DataError(
            f"{prefix}{df[WHERE].iat[same[0]]} and {df[WHERE].iat[same[1]]}, columns "
            f"`subject, day, lesion`: duplicate (subject, day, lesion) = ({s!r}, {d!r}, {les!r})"
        )


def _check_constant_per_lesion(df: pd.DataFrame, prefix: str) -> None:
    """One kind and one node flag per lesion."""
    for (s, les), g in df.groupby(["subject", "lesion"], sort=False):
        for col in ("kind", "is_node"):
            vals = g[col].tolist()
            if any(v != vals[0] for v in vals):
                j = next(k for k, v in enumerate(vals) if v != vals[0])
                raise DataError(
                    f"{prefix}{g[WHERE].iat[j]}, column `{col}`: lesion {les!r} of subject "
                    f"{s!r} must keep one {col}; got {vals[j]!r} after {vals[0]!r} "
                    f"({g[WHERE].iat[0]})"
                )


def _sort_by_subject_and_day(df: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Rows sorted by subject (order of first appearance), then day (stable), with a
    warning when a lesion's days were not increasing."""
    order = {s: k for k, s in enumerate(dict.fromkeys(df["subject"]))}
    unsorted = []
    for (s, _), g in df.groupby(["subject", "lesion"], sort=False):
        if np.any(np.diff(g["day"].to_numpy()) < 0) and s not in unsorted:
            unsorted.append(s)
    if unsorted:
        warnings.warn(
            f"{prefix}days are not in increasing order for subject(s) "
            f"{', '.join(map(repr, unsorted[:5]))}{' ...' if len(unsorted) > 5 else ''}; "
            "the rows were sorted by day",
            TgsimWarning,
            stacklevel=3,
        )
    df["_order"] = df["subject"].map(order)
    df = df.sort_values(["_order", "day"], kind="stable").drop(columns="_order")
    return df.reset_index(drop=True)


def lesions_to_dataset(table: pd.DataFrame, *, attrs: dict[str, Any] | None = None) -> xr.Dataset:
    """Lesion table (validated or not) to the record-layout Dataset described above."""
    import xarray as xr

    df = table if WHERE in table.columns else validate_lesion_table(table)
    n = len(df)

    def text(col: str) -> np.ndarray:
        vals = df[col].astype(str).to_numpy()
        return vals.astype(str) if n else np.array([], dtype="<U1")

    ds = xr.Dataset(
        {
            "subject": ("record", text("subject"), {"long_name": "subject identifier"}),
            "day": (
                "record",
                df["day"].to_numpy(dtype=np.float64),
                {"units": "days", "long_name": "assessment day"},
            ),
            "lesion": ("record", text("lesion"), {"long_name": "lesion identifier"}),
            "diameter_mm": (
                "record",
                df["diameter_mm"].to_numpy(dtype=np.float64),
                {
                    "units": "mm",
                    "long_name": "longest diameter (short axis for lymph nodes); 0 = gone",
                },
            ),
            "kind": ("record", text("kind"), {"long_name": "target, non-target or new"}),
            "status": (
                "record",
                text("status"),
                {"long_name": "non-target status: present, absent or progression"},
            ),
            "organ": ("record", text("organ"), {"long_name": "organ or site"}),
            "is_node": ("record", df["is_node"].to_numpy(dtype=bool), {"long_name": "lymph node"}),
        },
        coords={"record": np.arange(n)},
        attrs={
            "layout": "long: one record per lesion per assessment",
            "time_units": "days",
            "size_units": "mm",
            **(attrs or {}),
        },
    )
    return ds


def lesions_from_dataset(dataset: xr.Dataset) -> pd.DataFrame:
    """Record-layout Dataset back to a (not yet validated) lesion table."""
    missing = [c for c in REQUIRED_COLUMNS if c not in dataset.variables]
    if missing:
        raise DataError(
            f"lesion Dataset is missing variable(s) {missing}; expected the 'record' layout "
            f"with {list(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}"
        )
    cols = {}
    for c in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS):
        if c in dataset.variables:
            cols[c] = np.asarray(dataset[c].values).reshape(-1)
    return pd.DataFrame(cols)


def as_lesion_table(data: Any) -> pd.DataFrame:
    """Validated lesion table from a DataFrame, a record-layout Dataset or :func:`scan` output.

    A scan Dataset (dims ``subject, scan`` with ``diameter_mm`` and ``day``) becomes one
    target lesion per subject (see :func:`tgsim.observe.scans_to_lesions`).
    """
    if isinstance(data, pd.DataFrame):
        if WHERE in data.columns:
            return data
        return validate_lesion_table(data)
    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        xr = None
    if xr is not None and isinstance(data, xr.Dataset):
        if "scan" in data.dims and "diameter_mm" in data.data_vars:
            from ..observe import scans_to_lesions

            return validate_lesion_table(scans_to_lesions(data))
        return validate_lesion_table(lesions_from_dataset(data), source="lesion Dataset")
    raise DataError(
        "lesion data must be a pandas DataFrame or an xarray Dataset (record layout, or the "
        f"output of tgsim.observe.scan); got {type(data).__name__}"
    )
