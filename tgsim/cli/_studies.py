"""Finding the ``studies/`` folder of a source checkout (the gallery, the reproductions)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

from ..errors import TgsimError


def import_study(module: str, what: str) -> ModuleType:
    """Import ``studies.<...>`` from the checkout around the working folder or the package.

    Raises
    ------
    TgsimError
        When no checkout is found, saying how to get one.
    """
    here = Path.cwd().resolve()
    package = Path(__file__).resolve().parents[2]
    for folder in (here, *here.parents, package):
        if (folder / "studies" / "__init__.py").is_file():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module(module)
    raise TgsimError(f"{what} lives in the studies/ folder of a tgsim source checkout, which "
                     "is not installed with the package: clone the tgsim repository and run "
                     "this command inside it")
