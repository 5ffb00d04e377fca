"""Shared fixtures of the figure tests: small data sets and artist checks (Agg backend)."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def lesion_table():
    """Five subjects, one target lesion each, baseline day 0 then 6-weekly (mm).

    Best change from baseline and RECIST best response, by hand:
    A 50 -> 30 -> 20: -60 %, PR;  B 40 -> 44 -> 52: +10 % then +30 % (PD at day 84);
    C 30 -> 28 -> 31: -6.7 %, SD;  D 20 -> 26: +30 % and +6 mm, PD;  E 60 -> 45 -> 0: CR.
    """
    rows = {
        "A": [50.0, 30.0, 20.0],
        "B": [40.0, 44.0, 52.0],
        "C": [30.0, 28.0, 31.0],
        "D": [20.0, 26.0],
        "E": [60.0, 45.0, 0.0],
    }
    recs = []
    for s, ds in rows.items():
        for k, d in enumerate(ds):
            recs.append({"subject": s, "day": 42.0 * k, "lesion": "L1", "diameter_mm": d,
                         "kind": "target"})
    return pd.DataFrame(recs)
