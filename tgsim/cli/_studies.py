"""Finding the ``studies/`` folder of a source checkout (the gallery, the reproductions)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from ..cohort.experiment_config import studies_checkout
from ..errors import TgsimError


def import_study(module: str, what: str) -> ModuleType:
    """Import ``studies.<...>`` from the checkout around the working folder or the package.

    Raises
    ------
    TgsimError
        When no checkout is found, saying how to get one.
    """
    root = studies_checkout()
    if root is not None:
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return importlib.import_module(module)
    raise TgsimError(f"{what} lives in the studies/ folder of a tgsim source checkout, which "
                     "is not installed with the package: clone the tgsim repository and run "
                     "this command inside it")
