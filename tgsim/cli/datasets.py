"""``tgsim datasets``: list the real data sets, show one's provenance, export it as CSV.

Examples
--------
``tgsim datasets``
    Table of the data sets (name, subjects, points, unit, licence, shipped).
``tgsim datasets vaghi2020_breast``
    Provenance summary (add ``--full`` for the whole PROVENANCE.md).
``tgsim datasets laleh2022_lesions --group Study_1_Arm_1 --csv arm.csv``
    Export the tidy series (columns ``subject, group, day, value, unit, quantity, ...``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``datasets`` subcommand to ``subparsers``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``ArgumentParser.add_subparsers``.

    Returns
    -------
    argparse.ArgumentParser
        The new sub-parser.
    """
    parser = subparsers.add_parser(
        "datasets",
        help="list the real data sets, show provenance, export as CSV",
        description=(
            "List the real tumour-growth data sets, print one's provenance (source, paper, "
            "licence, caveats, reference numbers), or export its series as a tidy CSV "
            "(day, value in mm^3 / mm / published unit). Data sets not shipped with tgsim "
            "(licence) are read from $TGSIM_DATA_DIR/<name>/ or --path."
        ),
    )
    parser.add_argument("name", nargs="?", help="data set name (omit to list them all)")
    parser.add_argument(
        "--csv", metavar="FILE", help="write the data set's series to FILE as a tidy CSV"
    )
    parser.add_argument(
        "--group",
        action="append",
        metavar="GROUP",
        help="keep only this group (repeatable), e.g. a trial arm or a drug",
    )
    parser.add_argument(
        "--path",
        metavar="DIR",
        help="local copy of the data (the data set's folder or the folder holding it)",
    )
    parser.add_argument(
        "--full", action="store_true", help="print the whole PROVENANCE.md after the summary"
    )
    parser.set_defaults(func=run)
    return parser


def _listing() -> str:
    from ..datasets import DATASETS

    header = ("name", "subjects", "points", "unit", "shipped", "licence")
    rows = [
        (
            d.name,
            f"{d.subjects:,}",
            f"{d.points:,}",
            d.unit,
            "yes" if d.shipped else "no",
            d.licence,
        )
        for d in DATASETS.values()
    ]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]
    right = {1, 2}

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            row[k].rjust(widths[k]) if k in right else row[k].ljust(widths[k])
            for k in range(len(row) - 1)
        ]
        return "  ".join([*cells, row[-1]])

    lines = [fmt(header), fmt(tuple("-" * w for w in widths))]
    lines += [fmt(r) for r in rows]
    lines.append("")
    lines.append(
        "Not shipped: put a local copy at $TGSIM_DATA_DIR/<name>/tidy.csv (or use --path). "
        "'tgsim datasets NAME' shows provenance."
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Execute ``tgsim datasets``.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (``name``, ``csv``, ``group``, ``path``, ``full``).

    Returns
    -------
    int
        Exit code: 0 on success, 2 on a usage error.
    """
    from .. import datasets
    from ..errors import DataError

    name = getattr(args, "name", None)
    csv_out = getattr(args, "csv", None)
    group = getattr(args, "group", None)
    path = getattr(args, "path", None)
    if name is None:
        if csv_out or group or path:
            print(
                "tgsim datasets: error: --csv, --group and --path need a data set NAME",
                file=sys.stderr,
            )
            return 2
        print(_listing())
        return 0
    if name not in datasets.DATASETS:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(datasets.names())}")
    if csv_out:
        from ..io.series import write_series

        ds = datasets.load(name, group=group, path=path)
        out = write_series(ds, csv_out)
        n_subj = ds.sizes["subject"]
        n_pts = int(ds["n_obs"].sum())
        print(f"wrote {out} ({n_subj:,} series, {n_pts:,} points, value in {ds.value.units})")
        return 0
    print(datasets.info(name).summary())
    if getattr(args, "full", False):
        print()
        print(datasets.provenance(name, path=path))
    return 0
