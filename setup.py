"""Build hook: ship the model cards of the top-level ``models/`` folder inside the package.

The cards are kept in ``models/`` (the documented place to read and edit them); a wheel
carries them as ``tgsim/models/*.toml`` package data, so no link is needed.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCards(build_py):
    """``build_py`` that also copies ``models/*.toml`` into ``tgsim/models``."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "tgsim" / "models"
        target.mkdir(parents=True, exist_ok=True)
        cards = sorted(source.glob("*.toml"))
        if not cards:
            raise RuntimeError(f"no model cards found in {source}")
        for card in cards:
            shutil.copyfile(card, target / card.name)


setup(cmdclass={"build_py": BuildWithCards})
