"""Per-lesion diameters: tidy CSV <-> xarray Dataset.

The CSV is long: one row per lesion per assessment, with columns ``subject, day, lesion,
diameter_mm`` and optionally ``kind`` (``target`` [default], ``non-target``, ``new``),
``status`` (non-target lesions: ``present``, ``absent``, ``progression``), ``organ`` and
``is_node``. Days are in days, diameters in mm (short axis for lymph nodes).

The Dataset has one dimension, ``record`` (one per CSV row), and the variables
``subject, day, lesion, diameter_mm, kind, status, organ, is_node``; ``day`` carries
``units="days"`` and ``diameter_mm`` ``units="mm"``. See
:mod:`tgsim.clinical.lesiondata` for the rules checked on reading.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..clinical.lesiondata import (
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    WHERE,
    lesions_from_dataset,
    lesions_to_dataset,
    validate_lesion_table,
)
from ..errors import DataError
from ._atomic import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

__all__ = ["read_lesions", "write_lesions", "read_lesion_table"]


def read_lesions(path: str | os.PathLike[str]) -> xr.Dataset:
    """Read a tidy lesion CSV into a Dataset (dimension ``record``).

    Parameters
    ----------
    path
        CSV file with a header row and the columns described above.

    Returns
    -------
    xarray.Dataset
        Record layout; rows sorted by subject (order of first appearance) and day.

    Raises
    ------
    DataError
        Naming the file, line and column: a missing column, a negative, non-numeric or
        NaN diameter of a target lesion, an unknown kind or status, a duplicate
        (subject, day, lesion).
    FileNotFoundError
        If ``path`` does not exist.

    Warns
    -----
    TgsimWarning
        When a lesion's days are not in increasing order (the rows are sorted).

    Examples
    --------
    >>> import os, tempfile, tgsim
    >>> text = '''subject,day,lesion,diameter_mm,kind
    ... p1,0,liver,30,target
    ... p1,0,lung,20,target
    ... p1,42,liver,20,target
    ... p1,42,lung,12,target
    ... '''
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "lesions.csv")
    ...     with open(path, "w") as fh:
    ...         _ = fh.write(text)
    ...     lesions = tgsim.read_lesions(path)
    >>> lesions.sizes["record"], lesions.diameter_mm.values.tolist()
    (4, [30.0, 20.0, 20.0, 12.0])
    >>> tgsim.recist(lesions).table["response"].tolist()
    [nan, 'PR']
    """
    return lesions_to_dataset(read_lesion_table(path))


def read_lesion_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and validate a lesion CSV into a tidy DataFrame.

    Like :func:`read_lesions`, but returns the validated table, which remembers each
    row's file line so that later errors (e.g. a subject without a baseline) can name
    it.
    """
    p = Path(path)
    try:
        frame = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataError(
            f"{p}: the file is empty; expected a header with {REQUIRED_COLUMNS}"
        ) from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{p}: not a readable CSV file: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"{p}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    table = validate_lesion_table(frame, source=str(p), first_line=2)
    table[WHERE] = [f"{p}: {w}" for w in table[WHERE]]
    return table


def write_lesions(dataset: xr.Dataset | pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write lesion data (record-layout Dataset or tidy DataFrame) to a CSV, atomically.

    Columns ``subject, day, lesion, diameter_mm, kind, status, organ, is_node``; a
    diameter that is NaN is written as an empty cell, ``is_node`` as true/false.
    :func:`read_lesions` reads the file back to an equal Dataset.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import os, tempfile, pandas as pd, tgsim
    >>> lesions = pd.DataFrame({"subject": "p1", "day": [0.0, 0.0, 42.0, 42.0],
    ...                         "lesion": ["liver", "lung"] * 2,
    ...                         "diameter_mm": [30.0, 20.0, 20.0, 12.0]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = tgsim.write_lesions(lesions, os.path.join(tmp, "lesions.csv"))
    ...     back = tgsim.read_lesions(path)
    >>> back.diameter_mm.values.tolist()
    [30.0, 20.0, 20.0, 12.0]
    """
    if isinstance(dataset, pd.DataFrame):
        frame = dataset
    else:
        frame = lesions_from_dataset(dataset)
    table = validate_lesion_table(frame)
    out = table[[*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS]].copy()
    out["is_node"] = np.where(out["is_node"].to_numpy(dtype=bool), "true", "false")
    final = Path(path)
    with atomic_path(final) as tmp:
        out.to_csv(tmp, index=False, na_rep="", float_format=None)
    return final
