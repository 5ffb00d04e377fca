"""The ``[metastasis]`` table of an experiment file.

.. code-block:: toml

    [metastasis]
    seeding_rate = 5e-4          # colonies/day/(mm^3)^alpha
    seeding_exponent = 0.663     # alpha, in [0, 1.5]
    colony_model = "gompertz"    # optional; default: the primary's card
    colony_params = { growth_rate = 0.01, carrying_capacity = 1e5 }
    cells_per_mm3 = 1e6
    colony_start_cells = 1
    detection_limit_mm = 5.0
    bins = { min_mm = 0.01, max_mm = 50, count = 40 }   # or size_bins_mm = [...]
    complete_resection = 0.99
    extinction_cells = 0
    secondary_seeding_rate = 0   # colonies seeding colonies (deterministic mode)
    mode = "deterministic"       # or "stochastic"
    replicates = 1000            # stochastic mode
    seed = 1
    age_points = 4097
    birth_points = 400

:func:`metastasis_from_table` returns the :class:`MetastasisModel` and the options of
:func:`tgsim.metastasis.metastatic_spread` (mode, replicates, seed, age_points,
birth_points). Errors are :class:`~tgsim.errors.ConfigError` naming the file, the table
and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, TgsimError
from ..schema import Key, Schema
from .model import MetastasisModel
from .spread import MODES

__all__ = ["metastasis_from_table", "MODEL_KEYS", "OPTION_KEYS"]

#: Keys that build the :class:`MetastasisModel`.
MODEL_KEYS = frozenset({
    "seeding_rate", "seeding_exponent", "colony_model", "colony_params", "cells_per_mm3",
    "colony_start_cells", "detection_limit_mm", "size_bins_mm", "complete_resection",
    "extinction_cells", "secondary_seeding_rate",
})
#: Keys that set options of :func:`~tgsim.metastasis.metastatic_spread`.
OPTION_KEYS = frozenset({"mode", "replicates", "seed", "age_points", "birth_points"})

_BINS = Schema("bins", [
    Key("min_mm", "number", required=True, min=0.0, unit="mm"),
    Key("max_mm", "number", required=True, min=0.0, min_open=True, unit="mm"),
    Key("count", "integer", required=True, min=1),
    Key("spacing", "string", choices=("log", "linear"), default="log"),
])
_TABLE = Schema("[metastasis]", [
    *(Key(k, "number") for k in ("seeding_rate", "seeding_exponent", "cells_per_mm3",
                                 "colony_start_cells", "complete_resection",
                                 "extinction_cells", "secondary_seeding_rate",
                                 "seeding_rate_per_cell")),
    Key("detection_limit_mm", "number", unit="mm"),
    Key("colony_model", "string"),
    Key("colony_params", "table"),
    Key("size_bins_mm", "list"),
    Key("bins", "table"),
    Key("mode", "string", choices=MODES),
    Key("replicates", "integer", min=2),
    Key("age_points", "integer", min=3),
    Key("birth_points", "integer", min=2),
    Key("seed", "integer", min=0),
])


def _bins(spec: Any, here: str) -> np.ndarray:
    spec = _BINS.check(spec, f"{here}.bins")
    lo, hi, count, spacing = (float(spec["min_mm"]), float(spec["max_mm"]), spec["count"],
                              spec["spacing"])
    if not (0 < lo < hi) if spacing == "log" else not (0 <= lo < hi):
        raise ConfigError(f"{here}.bins: need 0 < min_mm < max_mm; got min_mm={lo:g}, "
                          f"max_mm={hi:g}")
    return (np.geomspace if spacing == "log" else np.linspace)(lo, hi, count + 1)


def metastasis_from_table(table: Mapping[str, Any], where: str
                          ) -> tuple[MetastasisModel, dict[str, Any]]:
    """Build the spread model and the solver options from a parsed ``[metastasis]`` table.

    Parameters
    ----------
    table : mapping
        The parsed table.
    where : str
        The source (file name) for error messages.

    Returns
    -------
    (MetastasisModel, dict)
        The model and the options (keys among ``mode``, ``replicates``, ``seed``,
        ``age_points``, ``birth_points``).

    Raises
    ------
    ConfigError
        Naming ``where``, the table and the key.

    Examples
    --------
    >>> model, opts = metastasis_from_table({"seeding_rate": 5e-4, "seed": 1}, "run.toml")
    >>> opts
    {'mode': 'deterministic', 'seed': 1}
    """
    here = f"{where}: [metastasis]"
    table = _TABLE.check(table, here)
    kw = {k: v for k, v in table.items() if k in MODEL_KEYS}
    if "bins" in table:
        if "size_bins_mm" in table:
            raise ConfigError(f"{here}: give either bins or size_bins_mm, not both")
        kw["size_bins_mm"] = _bins(table["bins"], here)
    if "seeding_rate_per_cell" in table:
        if "seeding_rate" in table:
            raise ConfigError(f"{here}: give either seeding_rate or seeding_rate_per_cell")
    elif "seeding_rate" not in table:
        raise ConfigError(f"{here}: missing key 'seeding_rate' (colonies/day/(mm^3)^alpha)")
    try:
        if "seeding_rate_per_cell" in table:
            model = MetastasisModel.from_cells(table["seeding_rate_per_cell"],
                                               kw.pop("seeding_exponent", 2.0 / 3.0),
                                               **kw)
        else:
            model = MetastasisModel(**kw)
    except TgsimError as exc:
        msg = str(exc)
        key = msg.split("`")[1] if msg.count("`") >= 2 else ""
        raise ConfigError(f"{here}{'.' + key if key else ''}: {msg}") from None
    opts: dict[str, Any] = {"mode": table.get("mode", "deterministic")}
    opts.update({k: table[k] for k in ("replicates", "age_points", "birth_points", "seed")
                 if k in table})
    return model, opts
