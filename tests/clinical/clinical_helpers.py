"""Small builders of lesion tables for the clinical tests (days, mm)."""

from __future__ import annotations

import pandas as pd


def series(subject: str, days, diameters, lesion: str = "L1", **extra) -> list[dict]:
    """Rows of one target lesion measured on ``days``."""
    return [
        {
            "subject": subject,
            "day": d,
            "lesion": lesion,
            "diameter_mm": x,
            "kind": "target",
            **extra,
        }
        for d, x in zip(days, diameters, strict=True)
    ]


def row(subject, day, lesion, diameter, kind="target", status=None, organ=None, is_node=False):
    return {
        "subject": subject,
        "day": day,
        "lesion": lesion,
        "diameter_mm": diameter,
        "kind": kind,
        "status": status,
        "organ": organ,
        "is_node": is_node,
    }


def table(*groups) -> pd.DataFrame:
    rows: list[dict] = []
    for g in groups:
        rows.extend(g if isinstance(g, list) else [g])
    return pd.DataFrame(rows)


def responses(result, subject: str = "P1") -> list:
    """The time-point responses of one subject after baseline."""
    t = result.table
    return t.loc[t["subject"] == subject, "response"].tolist()[1:]
