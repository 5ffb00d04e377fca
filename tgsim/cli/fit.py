"""``tgsim fit``: fit growth laws to a tidy CSV of measurements.

Examples
--------
``tgsim fit volumes.csv --model gompertz -o fits.csv``
    One maximum-likelihood fit per subject; ``fits.csv`` has one row per subject:
    ``subject``, each parameter's estimate under its own name and its standard error as
    ``<name>_se``, then ``aic``, ``bic`` and ``status``.
``tgsim fit volumes.csv --compare exponential,logistic,gompertz -o fits.csv``
    Every model on every subject (a ``model`` column is added); prints the ranking.
``tgsim fit volumes.csv --model gompertz --population -o ebes.csv``
    Nonlinear mixed-effects fit (SAEM); the rows hold the individual estimates (EBEs).
``tgsim fit benzekry2014_lung --model gompertz --plot fits.png``
    A packaged data set name works in place of a file.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["register", "run"]

#: last columns of the per-subject table
_TAIL = ("aic", "bic", "at_bound", "warnings", "status")


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``fit`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "fit",
        help="fit growth laws to measured series (maximum likelihood, batched)",
        description=(
            "Fit a growth law to every subject of a tidy CSV (columns subject, day, value"
            "[, unit, censored]; or a packaged data set name). Times in days (or dates, "
            "converted), volumes in mm^3 (diameters in mm are converted to sphere volumes "
            "pi d^3/6). The unit is never guessed: a 'unit' column, a header such as "
            "volume_mm3 or diameter_mm, or --unit. Writes one row per subject: estimates, "
            "their standard errors (<name>_se), aic, bic, at_bound, warnings, status."
        ),
    )
    p.add_argument("data", help="CSV file (tidy long layout) or a packaged data set name")
    p.add_argument("--model", "-m", default="gompertz", help="card name or path (default gompertz)")
    p.add_argument("--compare", metavar="M1,M2,...",
                   help="comma-separated cards to fit and rank by AIC (replaces --model)")
    p.add_argument("--population", action="store_true",
                   help="nonlinear mixed-effects fit (SAEM, log-normal random effects)")
    p.add_argument("--error-model", "-e", default="proportional",
                   choices=["proportional", "additive", "combined", "lognormal"],
                   help="residual error model (default proportional)")
    p.add_argument("--fixed", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter fixed (repeatable), e.g. initial_volume=1")
    p.add_argument("--t0", type=float, help="time origin of initial_volume (days; default: "
                   "each subject's first time)")
    p.add_argument("--unit", help="unit of the values when the file has no 'unit' column and "
                   "the value header carries none: mm^3, cm^3, ml (volumes), mm, cm "
                   "(diameters, fitted as sphere-equivalent volumes pi d^3/6), or a non-size "
                   "unit such as photons/s (fitted as is). Never guessed")
    p.add_argument("--columns", metavar="ROLE=COLUMN,...",
                   help="which file column plays which role, e.g. "
                   "subject=patient_id,day=date,value=volume_mm3")
    p.add_argument("--sep", default=",", help="field separator (default ','; ';' for many "
                   "spreadsheet exports)")
    p.add_argument("--decimal", default=".", choices=[".", ","],
                   help="decimal mark of numbers (',' needs --sep ';')")
    p.add_argument("--date-reference", metavar="COLUMN",
                   help="column holding each row's reference date (e.g. treatment start) when "
                   "times are dates; default: days from each subject's first date")
    p.add_argument("--date-format", metavar="FMT",
                   help="strptime format of dates (default ISO 8601, YYYY-MM-DD)")
    p.add_argument("--group", action="append", metavar="GROUP",
                   help="keep only this group of a packaged data set (repeatable)")
    p.add_argument("--restarts", type=int, default=3,
                   help="extra starts for subjects whose fit fails (default 3)")
    p.add_argument("--output", "-o", metavar="FILE.csv", help="write the per-subject table")
    p.add_argument("--plot", metavar="FILE.png", help="draw data, fits and bands (<= 16 subjects)")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary, no progress bar")
    p.set_defaults(func=run)
    return p


def _fixed(items: list[str]) -> dict[str, float]:
    from ..errors import TgsimError

    out: dict[str, float] = {}
    for it in items:
        name, sep, value = it.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise TgsimError(f"--fixed must be NAME=VALUE with a number; got {it!r}") from None
    return out


def _load(args: argparse.Namespace):
    from ..errors import TgsimError

    if os.path.exists(args.data):
        if args.group:
            raise TgsimError("--group applies to packaged data sets only")
        from ..io.series import read_series

        return read_series(args.data, unit=args.unit, columns=args.columns, sep=args.sep,
                           decimal=args.decimal, date_reference=args.date_reference,
                           date_format=args.date_format)
    from .. import datasets

    if args.data in datasets.names():
        return datasets.load(args.data, group=args.group)
    raise FileNotFoundError(
        f"{args.data!r} is neither a file nor a packaged data set "
        f"({', '.join(datasets.names())})"
    )


def _write(frame, path: str) -> None:
    from ..io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")


def _plot(results: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..io import atomic_path

    res = results[0]
    n = min(res.n_subjects, 16)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for i in range(rows * cols):
        ax = axes[i // cols][i % cols]
        if i < n:
            res.plot(ax=ax, subject=i)
            ax.title.set_fontsize("small")
            if i:
                leg = ax.get_legend()
                if leg is not None:
                    leg.remove()
        else:
            ax.axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Run ``tgsim fit``; returns the exit code (0 when every subject converged, 3 when
    some failed: see the ``status`` column)."""
    import numpy as np
    import pandas as pd

    from ..fitting import fit
    from ..fitting.comparison import compare
    from ..fitting.saem import fit_population
    from ..io import check_output_file

    for option, value in (("-o/--output", args.output), ("--plot", args.plot)):
        if value:
            check_output_file(value, option)
    data = _load(args)
    fixed = _fixed(args.fixed)
    progress = not args.quiet and sys.stderr.isatty()
    from ..io.series import SIZE_UNITS

    size_unit = args.unit is not None and args.unit.strip().lower() in SIZE_UNITS
    # a size unit was applied when reading; a non-size unit is also the fit's consent
    common = dict(error_model=args.error_model, t0=args.t0,
                  unit=None if size_unit and os.path.exists(args.data) else args.unit)
    n_failed = 0
    if args.population:
        if args.compare:
            from ..errors import TgsimError

            raise TgsimError("--population and --compare cannot be combined")
        pop = fit_population(data, args.model, fixed=fixed or None, progress=progress, **common)
        if not args.quiet:
            print(pop.summary())
        frame = pd.DataFrame({"subject": pop.subjects})
        for j, nm in enumerate(pop.param_names):
            frame[nm] = pop.individual[:, j]
            frame[f"{nm}_se"] = np.nan
        frame["aic"] = np.nan
        frame["bic"] = np.nan
        frame["at_bound"] = False
        frame["warnings"] = ""
        frame["status"] = ["success" if s == 0 else "not_converged" for s in pop.ebe_status]
        n_failed = int(np.sum(pop.ebe_status != 0))
        plots = [pop.individual_fit]
    elif args.compare:
        models = [m.strip() for m in args.compare.split(",") if m.strip()]
        cmp = compare(data, models, fixed={m: fixed for m in models} if fixed else None,
                      restarts=args.restarts, progress=progress, **common)
        if not args.quiet:
            print(cmp.summary())
        parts = []
        for m in cmp.models:
            fr = cmp.fits[m].to_frame()
            keep = ["subject"] + [c for c in fr.columns if c not in
                                  ("subject", "aicc", "neg2ll", "n_obs", "message", *_TAIL)
                                  ] + list(_TAIL)
            fr = fr[keep]
            fr.insert(1, "model", m)
            parts.append(fr)
            n_failed += int((~cmp.fits[m].success).sum())
        frame = pd.concat(parts, ignore_index=True)
        tail = list(_TAIL)
        frame = frame[[c for c in frame.columns if c not in tail] + tail]
        best = cmp.table()["model"].iloc[0]
        plots = [cmp.fits[best]]
    else:
        res = fit(data, args.model, fixed=fixed or None, restarts=args.restarts,
                  progress=progress, **common)
        if not args.quiet:
            print(res.summary())
        fr = res.to_frame()
        keep = ["subject"] + [c for c in fr.columns if c not in
                              ("subject", "aicc", "neg2ll", "n_obs", "message", *_TAIL)
                              ] + list(_TAIL)
        frame = fr[keep]
        n_failed = int((~res.success).sum())
        plots = [res]
    if args.output:
        _write(frame, args.output)
        if not args.quiet:
            print(f"wrote {args.output} ({len(frame)} rows)")
    if args.plot:
        _plot(plots, args.plot)
        if not args.quiet:
            print(f"wrote {args.plot}")
    if n_failed and not args.quiet:
        print(f"{n_failed} fit(s) did not converge; see the status column", file=sys.stderr)
    return 3 if n_failed else 0
