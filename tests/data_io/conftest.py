"""Fixtures for the data-set and series I/O tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))


def shared_data_dir() -> Path | None:
    """The shared data folder: $TGSIM_SHARED_DATA, else ``../shared/data`` from the repo."""
    env = os.environ.get("TGSIM_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for cand in candidates:
        if (cand / "README.md").is_file() or (cand / "benzekry2014_lung").is_dir():
            return cand
    return None


@pytest.fixture
def shared_data() -> Path:
    """Path of the shared data folder; skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("shared data folder not found (set TGSIM_SHARED_DATA)")
    return path


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write text to a CSV file in tmp_path and return its path."""

    def _write(text: str, name: str = "series.csv") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
