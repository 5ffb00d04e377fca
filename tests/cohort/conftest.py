"""Fixtures for the cohort, population, read-out and experiment tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

EXPERIMENTS = REPO / "experiments"


@pytest.fixture
def gompertz_population():
    """A small, correlated Gompertz population (mm^3, 1/day)."""
    import tgsim.cohort.virtual as tp

    return tp.VirtualPopulation(
        "gompertz",
        {
            "initial_volume": tp.LogNormal(3000.0, 0.5),
            "growth_rate": tp.LogNormal(0.006, 0.3),
            "carrying_capacity": tp.LogNormal(1.0e5, 0.3),
        },
        correlation={("growth_rate", "carrying_capacity"): -0.3},
    )


@pytest.fixture
def write_toml(tmp_path: Path):
    """Write an experiment file into tmp_path and return its path."""

    def _write(text: str, name: str = "exp.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
