"""Reading parameter tables for virtual populations: empirical values and fitted estimates
from CSV or NetCDF files (paths relative to the experiment file)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, TgsimError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__: list[str] = []


def _empirical_values(kwargs: dict[str, Any], where: str,
                      base_dir: str | os.PathLike[str] | None) -> dict[str, Any]:
    has_values, has_file = "values" in kwargs, "file" in kwargs
    if has_values == has_file:
        raise ConfigError(f"{where}: an empirical distribution needs exactly one of "
                          "`values` (a list) or `file` (a CSV with `column`)")
    out = {k: v for k, v in kwargs.items() if k in ("lower", "upper")}
    if has_values:
        if "column" in kwargs:
            raise ConfigError(f"{where}: `column` goes with `file`, not with `values`")
        out["values"] = kwargs["values"]
        return out
    if "column" not in kwargs:
        raise ConfigError(f"{where}: `file` needs `column` (the CSV column to read)")
    path = _resolve(kwargs["file"], base_dir)
    table = _read_table(path, where)
    col = kwargs["column"]
    if col not in table.columns:
        raise ConfigError(f"{where}: column {col!r} not in {path} (columns: "
                          f"{', '.join(map(str, table.columns))})")
    out["values"] = table[col].to_numpy(dtype=np.float64)
    return out


def _resolve(path: Any, base_dir: str | os.PathLike[str] | None) -> str:
    p = os.path.expanduser(os.fspath(path))
    if not os.path.isabs(p) and base_dir is not None:
        p = os.path.join(os.fspath(base_dir), p)
    return os.path.abspath(p)


def _read_table(path: str, where: str) -> pd.DataFrame:
    import pandas as pd

    if not os.path.isfile(path):
        raise ConfigError(f"{where}: file {path!r} does not exist")
    if path.endswith((".nc", ".zarr")):
        return _estimates_frame(_open_dataset(path), where)
    try:
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"{where}: cannot read {path!r} as CSV: {exc}") from None


def _open_dataset(path: str):
    import xarray as xr

    return xr.open_zarr(path) if path.endswith(".zarr") else xr.load_dataset(path)


_ESTIMATE_VARS = ("curvefit_coefficients", "estimates", "params", "parameters")


def _estimates_frame(data: Any, where: str) -> pd.DataFrame:
    """A (rows x parameter) table from a DataFrame, a mapping of arrays or a Dataset."""
    import pandas as pd

    try:
        import xarray as xr
    except ImportError:  # pragma: no cover
        xr = None
    if xr is not None and isinstance(data, xr.Dataset):
        for name in _ESTIMATE_VARS:
            if name in data.data_vars:
                var = data[name]
                pdim = next((d for d in ("param", "parameter") if d in var.dims), None)
                if pdim is None or var.ndim != 2:
                    continue
                other = next(d for d in var.dims if d != pdim)
                arr = var.transpose(other, pdim).values
                return pd.DataFrame(arr, columns=[str(c) for c in var[pdim].values])
        raise TgsimError(
            f"{where}: the Dataset has no 2-D estimates variable over a `param` dimension "
            f"(looked for {', '.join(_ESTIMATE_VARS)})"
        )
    if xr is not None and isinstance(data, xr.DataArray):
        return _estimates_frame(data.to_dataset(name="estimates"), where)
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame({k: np.asarray(v, dtype=np.float64) for k, v in data.items()})
    raise TgsimError(
        f"{where}: estimates must be a DataFrame, a mapping of arrays or a Dataset; "
        f"got {type(data).__name__}"
    )


