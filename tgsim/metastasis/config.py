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
_OTHER = frozenset({"bins", "seeding_rate_per_cell"})


def _bins(spec: Any, here: str) -> np.ndarray:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{here}.bins: must be a table {{min_mm, max_mm, count[, spacing]}}; "
                          f"got {spec!r}")
    unknown = set(spec) - {"min_mm", "max_mm", "count", "spacing"}
    if unknown:
        raise ConfigError(f"{here}.bins: unknown key(s) {', '.join(sorted(unknown))}; allowed "
                          "keys are count, max_mm, min_mm, spacing")
    try:
        lo = float(spec["min_mm"])
        hi = float(spec["max_mm"])
        count = spec["count"]
    except KeyError as exc:
        raise ConfigError(f"{here}.bins: missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{here}.bins: min_mm and max_mm must be numbers; got {spec!r}") from None
    if not isinstance(count, int) or count < 1:
        raise ConfigError(f"{here}.bins.count: must be a positive integer; got {count!r}")
    spacing = spec.get("spacing", "log")
    if spacing not in ("log", "linear"):
        raise ConfigError(f"{here}.bins.spacing: must be 'log' or 'linear'; got {spacing!r}")
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
    """
    here = f"{where}: [metastasis]"
    if not isinstance(table, Mapping):
        raise ConfigError(f"{here}: must be a table; got {table!r}")
    unknown = set(table) - MODEL_KEYS - OPTION_KEYS - _OTHER
    if unknown:
        allowed = sorted(MODEL_KEYS | OPTION_KEYS | _OTHER)
        raise ConfigError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}; allowed keys "
                          f"are {', '.join(allowed)}")
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
    if "colony_params" in kw and not isinstance(kw["colony_params"], Mapping):
        raise ConfigError(f"{here}.colony_params: must be a table of parameter values; got "
                          f"{kw['colony_params']!r}")
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
    opts: dict[str, Any] = {}
    mode = table.get("mode", "deterministic")
    if mode not in MODES:
        raise ConfigError(f"{here}.mode: must be one of {', '.join(MODES)}; got {mode!r}")
    opts["mode"] = mode
    for key, lo in (("replicates", 2), ("age_points", 3), ("birth_points", 2)):
        if key in table:
            v = table[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < lo:
                raise ConfigError(f"{here}.{key}: must be an integer >= {lo}; got {v!r}")
            opts[key] = v
    if "seed" in table:
        v = table["seed"]
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ConfigError(f"{here}.seed: must be a non-negative integer; got {v!r}")
        opts["seed"] = v
    return model, opts
