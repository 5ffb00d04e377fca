"""Simulation Datasets as tidy tables, one row per subject and time.

``Dataset.to_dataframe()`` broadcasts every variable over every dimension of the
Dataset, so the parameter matrix ``parameters(subject, param)`` multiplies the rows of
``volume(subject, time)`` by the number of parameters. :func:`simulation_frame` keeps the
layers apart: the time-dependent variables become columns indexed by (subject, time),
and each parameter becomes one column, constant within a subject.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError

__all__ = ["simulation_frame"]


def simulation_frame(ds: Any):
    """One row per (subject, time): the time-dependent variables, each subject's status
    and its parameters as columns; units in ``frame.attrs["units"]``.

    Parameters
    ----------
    ds : xarray.Dataset
        A :func:`tgsim.simulate` result (dims ``subject``, ``time`` and ``param``).

    Returns
    -------
    pandas.DataFrame
        Indexed by (subject, time); also ``ds.tgsim.to_dataframe()``.

    Raises
    ------
    DataError
        If ``ds`` has no ``time`` or ``subject`` dimension.

    Examples
    --------
    >>> import tgsim
    >>> ds = tgsim.simulate("exponential", [0.0, 1.0],
    ...                     {"initial_volume": 1.0, "growth_rate": 0.1})
    >>> simulation_frame(ds).columns.tolist()
    ['volume', 'status', 'initial_volume', 'growth_rate']
    """
    import xarray as xr

    if not isinstance(ds, xr.Dataset) or not {"subject", "time"} <= set(ds.dims):
        raise DataError("`ds` must be a simulation Dataset with dims 'subject' and 'time'; "
                        f"got {type(ds).__name__} with dims {dict(getattr(ds, 'sizes', {}))}")
    timed = [v for v in ds.data_vars if "time" in ds[v].dims and "param" not in ds[v].dims]
    frame = ds[timed].transpose("subject", "time", ...).to_dataframe()
    units = {v: ds[v].attrs.get("units", "") for v in timed}
    n_time = ds.sizes["time"]
    for v in ds.data_vars:
        if ds[v].dims == ("subject",):
            frame[v] = np.repeat(ds[v].values, n_time)
    if "parameters" in ds.data_vars and "param" in ds.dims:
        P = ds["parameters"].transpose("subject", "param").values
        pu = ds["param_unit"].values if "param_unit" in ds.coords else [""] * P.shape[1]
        for j, name in enumerate(ds["param"].values):
            frame[str(name)] = np.repeat(P[:, j], n_time)
            units[str(name)] = str(pu[j])
    frame.attrs["units"] = units
    return frame
