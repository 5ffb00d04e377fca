"""Shared helpers of the reproduction tests (a uniquely named module, imported directly)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pandas as pd

from tgsim.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_quick_cli(name: str, tmp: Path) -> tuple[Path, str, pd.DataFrame]:
    """Run experiments/reproduce_<name>.toml with ``quick = true`` through the CLI entry.

    Returns the output folder, what was printed and the checks table (by quantity).
    """
    text = (ROOT / "experiments" / f"reproduce_{name}.toml").read_text()
    assert "quick = false" in text
    exp = tmp / f"reproduce_{name}.toml"
    exp.write_text(text.replace("quick = false", "quick = true"))
    out = tmp / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["run", str(exp), "-o", str(out)]) == 0
    return out, buf.getvalue(), pd.read_csv(out / "checks.csv").set_index("quantity")


def check_row(checks: pd.DataFrame, start: str) -> pd.Series:
    """The one check whose quantity starts with ``start``."""
    hits = [q for q in checks.index if q.startswith(start)]
    assert len(hits) == 1, (start, list(checks.index))
    return checks.loc[hits[0]]
