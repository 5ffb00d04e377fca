"""``tgsim gdrate``: tumgr's regression and growth rates (Stein models) per patient.

Examples
--------
``tgsim gdrate sld.csv --unit mm -o rates.csv``
    One row per patient: ``name, N, type, selectedFit, g, d, phi`` (rates per day), the
    layout of tumgr's ``gdrate`` results.
``tgsim gdrate tumgr_ascent2``
    A packaged data set name works in place of a file.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``gdrate`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "gdrate",
        help="tumgr's gdrate: regression (d) and growth (g) rates per patient",
        description=(
            "Fit tumgr's four Stein models (gd, dx, gx, gdphi) to each patient's series "
            "normalised by its first value, keep the models whose parameters all have "
            "p < --pval, and select the least AIC (tgsim.gdrate). Exclusions as tumgr: one "
            "evaluation; two within 20%%; more than two, all equal."
        ),
    )
    p.add_argument("data", help="CSV file (tidy long layout) or a packaged data set name")
    p.add_argument("--pval", type=float, default=0.10, help="significance level (default 0.10)")
    p.add_argument("--unit", help="unit of the values when the file states none (e.g. mm)")
    p.add_argument("--columns", metavar="ROLE=COLUMN,...",
                   help="column mapping, e.g. subject=patient_id,day=date,value=sld_mm")
    p.add_argument("--sep", default=",", help="field separator (default ',')")
    p.add_argument("--decimal", default=".", choices=[".", ","], help="decimal mark")
    p.add_argument("--output", "-o", metavar="FILE.csv", help="write the per-patient table")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``tgsim gdrate``; returns 0."""
    from ..fitting.regression import gdrate

    if os.path.exists(args.data):
        from ..io.series import read_series

        data = read_series(args.data, unit=args.unit, columns=args.columns, sep=args.sep,
                           decimal=args.decimal)
    else:
        from .. import datasets

        if args.data not in datasets.names():
            raise FileNotFoundError(
                f"{args.data!r} is neither a file nor a packaged data set "
                f"({', '.join(datasets.names())})"
            )
        data = datasets.load(args.data)
    res = gdrate(data, pval=args.pval)
    frame = res.results
    if not args.quiet:
        counts = frame["selectedFit"].value_counts()
        print(f"tgsim gdrate: {len(frame)} patient(s), pval {args.pval:g}")
        for name, c in counts.items():
            print(f"  {name:<22} {c}")
    if args.output:
        from ..io import atomic_path

        with atomic_path(args.output) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
        if not args.quiet:
            print(f"wrote {args.output} ({len(frame)} rows)")
    return 0
