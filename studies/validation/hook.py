"""Run a reproduction from an experiment file (``tgsim run``'s analysis hook).

:func:`analysis_hook` turns a function
``reproduce(*, quick, seed, data_dir, **options) -> ValidationReport`` into the runner's
hook (see :mod:`tgsim.cohort.experiment`, "Analysis hook"). The experiment file's keys, apart from
those the runner owns, are the keyword arguments of ``reproduce``:

.. code-block:: toml

    title = "Benzekry 2014, lung"
    analysis = "studies.validation.benzekry2014_lung:analysis"
    quick = true                  # any keyword of reproduce, type-checked by its default
    # data_dir = "path"           # relative to the experiment file
    # seed = 1                    # --seed overrides

    [output]
    dir = "out/benzekry2014_lung"
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tgsim.errors import ConfigError, TgsimWarning
from tgsim.schema import check_unknown

from .report import ValidationReport

__all__ = ["analysis_hook"]

_TYPES: dict[type, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float),
                                        str: (str,), list: (list,), tuple: (list,),
                                        dict: (dict,)}


def _check_value(name: str, value: Any, default: Any, where: str) -> Any:
    if default is None or default is inspect.Parameter.empty:
        return value
    want = _TYPES.get(type(default))
    if want is None:
        return value
    ok = isinstance(value, want) and not (isinstance(value, bool) and bool not in want)
    if not ok:
        raise ConfigError(f"{where}: key '{name}' must be {type(default).__name__}; "
                          f"got {value!r}")
    if isinstance(default, tuple):
        return tuple(value)
    if isinstance(default, float):
        return float(value)
    return value


def analysis_hook(reproduce_fn: Callable[..., ValidationReport]) -> Callable[..., dict[str, str]]:
    """Wrap a ``reproduce`` function as a ``tgsim run`` analysis hook.

    Parameters
    ----------
    reproduce_fn : callable
        ``reproduce(*, quick=False, seed=None, data_dir=None, **options)`` returning a
        :class:`~studies.validation.ValidationReport`.

    Returns
    -------
    callable
        ``hook(config, *, where, out_dir, subjects, seed) -> dict[str, str]``. It checks the
        config keys against ``reproduce``'s keyword arguments (a
        :class:`~tgsim.errors.ConfigError` names ``where`` and the key), resolves
        ``data_dir`` relative to the experiment file, calls ``reproduce`` (``--seed``
        overrides the file's ``seed``; ``--subjects`` is passed when ``reproduce`` takes a
        ``subjects`` argument and otherwise ignored with a warning), prints
        :meth:`~studies.validation.ValidationReport.summary` and writes the report into
        ``out_dir``.
    """
    sig = inspect.signature(reproduce_fn)
    params = {n: p for n, p in sig.parameters.items()
              if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}

    @functools.wraps(reproduce_fn)
    def hook(config: dict[str, Any], *, where: str, out_dir: Path, subjects: int | None,
             seed: int | None) -> dict[str, str]:
        kwargs: dict[str, Any] = {}
        check_unknown(config, [k for k in params if k != "subjects"], where)
        for key, value in config.items():
            kwargs[key] = _check_value(key, value, params[key].default, where)
        if "seed" in kwargs and (isinstance(kwargs["seed"], bool)
                                 or not isinstance(kwargs["seed"], int) or kwargs["seed"] < 0):
            raise ConfigError(f"{where}: key 'seed' must be an integer >= 0; "
                              f"got {kwargs['seed']!r}")
        if seed is not None:
            kwargs["seed"] = seed
        if subjects is not None:
            if "subjects" in params:
                kwargs["subjects"] = subjects
            else:
                warnings.warn(f"{where}: --subjects does not apply to this reproduction "
                              "(every subject of the data set is used)", TgsimWarning,
                              stacklevel=2)
        if kwargs.get("data_dir") is not None:
            if not isinstance(kwargs["data_dir"], str):
                raise ConfigError(f"{where}: key 'data_dir' must be a path; "
                                  f"got {kwargs['data_dir']!r}")
            base = Path(where).parent if where else Path.cwd()
            kwargs["data_dir"] = str((base / Path(kwargs["data_dir"]).expanduser()).resolve())
        report = reproduce_fn(**kwargs)
        if not isinstance(report, ValidationReport):
            raise TypeError(f"{reproduce_fn.__module__}.{reproduce_fn.__name__} must return "
                            f"a ValidationReport; got {type(report).__name__}")
        print(report.summary(), flush=True)
        try:
            return report.write(out_dir)
        finally:
            _close(report)

    return hook


def _close(report: ValidationReport) -> None:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    for fig in report.figures.values():
        plt.close(fig)
