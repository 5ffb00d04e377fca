"""``tgsim assess``: response criteria and hyperprogression from a lesion CSV.

Examples
--------
``tgsim assess lesions.csv --criteria recist -o out.csv``
``tgsim assess lesions.csv --criteria irecist --best -o best.csv``
``tgsim assess lesions.csv --criteria hyperprogression --treatment-day 0 --definition all``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError

CRITERIA = ("recist", "irecist", "threshold-growth", "hyperprogression")
TABLE_COLUMNS = [
    "subject",
    "day",
    "sum_mm",
    "change_from_baseline_pct",
    "change_from_nadir_pct",
    "response",
]
#: percentages are written to 0.1 (the precision RECIST thresholds are read at)
PCT_COLUMNS = ("change_from_baseline_pct", "change_from_nadir_pct")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``assess`` subcommand."""
    from ..clinical.hpd import HYPERPROGRESSION_DEFINITIONS

    p = subparsers.add_parser(
        "assess",
        help="assess response (RECIST 1.1, iRECIST), threshold growth or hyperprogression",
        description=(
            "Read a tidy lesion CSV (columns subject, day, lesion, diameter_mm and optionally "
            "kind, status, organ, is_node; days and mm) and write one row per subject and "
            "assessment with subject, day, sum_mm, change_from_baseline_pct, "
            "change_from_nadir_pct (to 0.1 %), response (RECIST: CR PR SD non-CR/non-PD PD "
            "NE; iRECIST: iCR iPR iSD non-iCR/non-iUPD iUPD iCPD iNE; empty on the baseline "
            "row) and reason (the rule that gave the response, e.g. 'new lesion', 'sum "
            "+23.0 % over nadir and +6.0 mm', 'node N1 11 mm after CR'). The categories "
            "are decided on unrounded values. With --best, one row per subject "
            "with its best overall "
            "response. Hyperprogression writes one row per subject (and definition) at the "
            "first evaluation after --treatment-day."
        ),
    )
    p.add_argument("lesions", type=Path, help="lesion CSV file")
    p.add_argument(
        "--criteria",
        choices=CRITERIA,
        default="recist",
        help="criteria to apply (default: recist)",
    )
    p.add_argument(
        "--treatment-day",
        type=float,
        default=None,
        metavar="D",
        help="day treatment starts; baseline is the last assessment on or before it "
        "(required for hyperprogression)",
    )
    p.add_argument(
        "-o", "--output", type=Path, default=None, help="output CSV (default: standard output)"
    )
    p.add_argument(
        "--best", action="store_true", help="one row per subject with its best overall response"
    )
    p.add_argument(
        "--confirm",
        action="store_true",
        help="best response: require confirmation of CR/PR at least 4 weeks later",
    )
    p.add_argument(
        "--min-sd-days",
        type=float,
        default=0.0,
        metavar="DAYS",
        help="best response: minimum time after baseline for SD to count (default 0)",
    )
    p.add_argument(
        "--definition",
        default="champiat2017",
        metavar="NAME",
        help="hyperprogression definition: "
        + ", ".join(HYPERPROGRESSION_DEFINITIONS)
        + ", or 'all' (default: champiat2017)",
    )
    p.set_defaults(func=run)
    return p


def _response_table(args: argparse.Namespace, data) -> pd.DataFrame:
    from ..clinical import irecist, recist

    fn = recist if args.criteria == "recist" else irecist
    result = fn(
        data,
        treatment_day=args.treatment_day,
        confirm=args.confirm,
        min_sd_days=args.min_sd_days,
    )
    if args.best:
        return result.best
    return _round_pct(result.table[[*TABLE_COLUMNS, "reason"]].copy())


def _round_pct(frame: pd.DataFrame) -> pd.DataFrame:
    """Percent columns to 0.1 (the categories were decided on the unrounded values)."""
    for col in PCT_COLUMNS:
        if col in frame:
            frame[col] = frame[col].astype(np.float64).round(1)
    return frame


def _threshold_table(args: argparse.Namespace, data) -> pd.DataFrame:
    from ..clinical import recist, threshold_growth
    from ..clinical.lesiondata import as_lesion_table

    table = as_lesion_table(data)
    base = recist(table, treatment_day=args.treatment_day).table[TABLE_COLUMNS[:-1]].copy()
    flagged: dict[tuple[str, float], list[str]] = {}
    for (subject, lesion), g in table.groupby(["subject", "lesion"], sort=False):
        g = g[np.isfinite(g["diameter_mm"].to_numpy(dtype=np.float64))]
        if len(g) < 2:
            continue
        flags = threshold_growth(g["day"].to_numpy(), g["diameter_mm"].to_numpy())
        for day in g["day"].to_numpy()[flags]:
            flagged.setdefault((str(subject), float(day)), []).append(str(lesion))
    keys = list(zip(base["subject"], base["day"], strict=True))
    base["response"] = ["threshold growth" if k in flagged else "no threshold growth" for k in keys]
    base["lesions"] = [" ".join(flagged.get(k, [])) for k in keys]
    return _round_pct(base)


def _hyperprogression_table(args: argparse.Namespace, data) -> tuple[pd.DataFrame, str]:
    from ..clinical import hyperprogression_cohort

    if args.treatment_day is None:
        raise DataError("--criteria hyperprogression needs --treatment-day (days)")
    defs = None if args.definition.strip().lower() == "all" else [args.definition]
    cohort = hyperprogression_cohort(data, args.treatment_day, defs)
    t = cohort.table
    response = np.where(
        ~t["computable"].to_numpy(dtype=bool),
        "not computable",
        np.where(t["hyperprogression"].to_numpy() == True, "HPD", "no HPD"),  # noqa: E712
    )
    out = pd.DataFrame(
        {
            "subject": t["subject"],
            "day": t["first_evaluation_day"],
            "sum_mm": np.nan,
            "change_from_baseline_pct": t["change_from_baseline_pct"],
            "change_from_nadir_pct": t["change_from_baseline_pct"],
            "response": response,
            "definition": t["definition"],
            "tgr_ref": t["tgr_ref"],
            "tgr_exp": t["tgr_exp"],
            "tgr_ratio": t["tgr_ratio"],
            "delta_tgr": t["delta_tgr"],
            "tgk_ref": t["tgk_ref"],
            "tgk_exp": t["tgk_exp"],
            "tgk_ratio": t["tgk_ratio"],
            "reason": t["reason"],
        }
    )
    # the target sum at the first evaluation
    from ..clinical import target_sums

    sums = target_sums(data, treatment_day=args.treatment_day, skip_missing_baseline=True)
    lookup = {
        (s, d): v for s, d, v in zip(sums["subject"], sums["day"], sums["sum_mm"], strict=True)
    }
    out["sum_mm"] = [
        lookup.get((s, d), np.nan) for s, d in zip(out["subject"], out["day"], strict=True)
    ]
    note = cohort.summary() if defs is None else ""
    return _round_pct(out), note


def run(args: argparse.Namespace) -> int:
    """Run ``tgsim assess``; returns the exit code."""
    from ..io import atomic_path
    from ..io.lesions import read_lesion_table

    data = read_lesion_table(args.lesions)
    note = ""
    if args.criteria in ("recist", "irecist"):
        frame = _response_table(args, data)
    elif args.best:
        raise DataError(f"--best applies to recist and irecist, not {args.criteria}")
    elif args.criteria == "threshold-growth":
        frame = _threshold_table(args, data)
    else:
        frame, note = _hyperprogression_table(args, data)
    if note:
        print(note, file=sys.stderr)
    if args.output is None:
        frame.to_csv(sys.stdout, index=False)
        return 0
    with atomic_path(args.output) as tmp:
        frame.to_csv(tmp, index=False)
    print(f"wrote {len(frame)} row(s) ({args.criteria}) to {args.output}")
    return 0
