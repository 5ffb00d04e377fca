"""Former module paths and names, kept working for one release with a DeprecationWarning.

The package was reorganised into layers (see ``ARCHITECTURE.md``). Code written against the
earlier layout keeps running: ``import tgsim.catalogue`` gives :mod:`tgsim.engine.catalogue`,
``from tgsim.fit.population import fit_population`` gives :mod:`tgsim.fitting.saem`'s, and
each such import warns once with the new path. ``tgsim.fit`` itself is now the plain
function :func:`tgsim.fitting.fit`; the former package path ``tgsim.fit.<module>`` still
imports, through a module registered under that name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["MOVED", "renamed", "install"]

#: former module path -> current one (prefix match on whole dotted components)
MOVED: dict[str, str] = {
    "tgsim.catalogue": "tgsim.engine.catalogue",
    "tgsim.expr": "tgsim.engine.expr",
    "tgsim.logform": "tgsim.engine.logform",
    "tgsim.compile": "tgsim.engine.compile",
    "tgsim.population": "tgsim.cohort.virtual",
    "tgsim.readouts": "tgsim.cohort.readouts",
    "tgsim.experiment": "tgsim.cohort.experiment",
    "tgsim.fit.compare": "tgsim.fitting.comparison",
    "tgsim.fit.forecast": "tgsim.fitting.forecasting",
    "tgsim.fit.gdrate": "tgsim.fitting.regression",
    "tgsim.fit.population": "tgsim.fitting.saem",
    "tgsim.fit": "tgsim.fitting",
}


def _current(name: str) -> str | None:
    for old in sorted(MOVED, key=len, reverse=True):
        if name == old or name.startswith(old + "."):
            return MOVED[old] + name[len(old):]
    return None


def _warn(old: str, new: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} has moved to {new}; the old path will be removed in the next "
                  "release", DeprecationWarning, stacklevel=stacklevel)


def renamed(module: str, table: Mapping[str, str], name: str,
            namespace: Mapping[str, Any]) -> Any:
    """Module ``__getattr__`` helper: a former name returns the current object, with a warning.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     value = renamed("m", {"old": "new"}, "old", {"new": 1})
    >>> value, w[0].category.__name__
    (1, 'DeprecationWarning')
    """
    if name in table:
        new = table[name]
        warnings.warn(f"{module}.{name} is renamed {module}.{new}; the old name will be "
                      "removed in the next release", DeprecationWarning, stacklevel=3)
        return namespace[new]
    raise AttributeError(f"module {module!r} has no attribute {name!r}")


class _Alias(importlib.abc.Loader):
    """Loads a former module path as the current module object (no second copy)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new
        self._spec: Any = None

    def create_module(self, spec: Any) -> types.ModuleType:
        _warn(self.old, self.new, stacklevel=6)
        module = importlib.import_module(self.new)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__spec__ = self._spec  # the import system set the former name's spec


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        new = _current(fullname)
        if new is None or new == fullname:
            return None
        return importlib.util.spec_from_loader(fullname, _Alias(fullname, new))


class _FormerFit(types.ModuleType):
    """``sys.modules['tgsim.fit']``: the former package path of :mod:`tgsim.fitting`.

    Registered without binding ``tgsim.fit``, so the attribute stays the function."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        _warn(f"tgsim.fit.{name}", "tgsim.fitting", stacklevel=3)
        sub = _current(f"tgsim.fit.{name}")
        fitting = importlib.import_module("tgsim.fitting")
        if hasattr(fitting, name) and sub == f"tgsim.fitting.{name}" and \
                not isinstance(getattr(fitting, name), types.ModuleType):
            return getattr(fitting, name)
        try:
            return importlib.import_module(sub)
        except ModuleNotFoundError:
            return getattr(fitting, name)


def install() -> None:
    """Register the finder for former module paths and the former ``tgsim.fit`` package."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
    if "tgsim.fit" not in sys.modules:
        shim = _FormerFit("tgsim.fit", "former path of tgsim.fitting (deprecated)")
        shim.__path__ = []  # a package, so tgsim.fit.<module> is looked up by the finder
        sys.modules["tgsim.fit"] = shim
