"""``tgsim sample``: posteriors of growth parameters for every subject of a CSV.

Examples
--------
``tgsim sample volumes.csv --model gompertz -o posterior.nc``
    NUTS, 4 chains x 1,000 draws per subject; writes ArviZ InferenceData (NetCDF) and
    prints the priors, posterior summary and diagnostics (R-hat, ESS, divergences).
``tgsim sample benzekry2014_lung --model gompertz --population -o posterior.nc``
    The hierarchical model (log-normal random effects; Gibbs + NUTS).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sample`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "sample",
        help="Bayesian posteriors of growth parameters (NUTS, all subjects in one call)",
        description=(
            "Sample the posterior of a growth law's parameters for every subject of a tidy "
            "CSV (columns subject, day, value[, unit]; or a packaged data set name). Times in "
            "days, volumes in mm^3 (diameters in mm are converted to sphere volumes); the "
            "unit is never guessed. Writes ArviZ InferenceData as NetCDF (posterior, "
            "sample_stats, log_likelihood, posterior_predictive, observed_data). Needs the "
            "'bayes' extra (ArviZ)."
        ),
    )
    p.add_argument("data", help="CSV file (tidy long layout) or a packaged data set name")
    p.add_argument("--model", "-m", default="gompertz", help="card name or path (default gompertz)")
    p.add_argument("--population", action="store_true",
                   help="hierarchical model: log-normal random effects, Gibbs + NUTS")
    p.add_argument("--error-model", "-e", default="lognormal",
                   choices=["lognormal", "proportional", "additive"],
                   help="residual error model (default lognormal)")
    p.add_argument("--fixed", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter fixed (repeatable), e.g. sigma=0.1")
    p.add_argument("--chains", type=int, default=4, help="chains per subject (default 4)")
    p.add_argument("--draws", type=int, default=1000, help="draws per chain (default 1000)")
    p.add_argument("--warmup", type=int, default=1000, help="warm-up iterations (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--unit", help="unit of the values when the file does not state it: mm^3, "
                   "cm^3, ml, mm, cm. Never guessed")
    p.add_argument("--group", action="append", metavar="GROUP",
                   help="keep only this group of a packaged data set (repeatable)")
    p.add_argument("--output", "-o", metavar="FILE.nc", required=True,
                   help="write the InferenceData (NetCDF)")
    p.add_argument("--quiet", "-q", action="store_true", help="no summary, no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``tgsim sample``; returns 0, or 3 when an identified parameter has R-hat >= 1.01."""
    import numpy as np

    from ..fitting.bayes import sample, sample_population
    from ..io import check_output_file
    from .fit import _fixed, _load

    check_output_file(args.output, "-o/--output")
    args.columns, args.sep, args.decimal = None, ",", "."
    args.date_reference, args.date_format = None, None
    data = _load(args)
    progress = not args.quiet
    common = dict(chains=args.chains, draws=args.draws, warmup=args.warmup, seed=args.seed,
                  progress=progress, quiet=args.quiet)
    if args.population:
        if args.fixed:
            from ..errors import TgsimError

            raise TgsimError("--fixed is not available with --population")
        res = sample_population(data, args.model, error_model=args.error_model, **common)
    else:
        res = sample(data, args.model, error_model=args.error_model,
                     fixed=_fixed(args.fixed) or None, **common)
    res.to_netcdf(args.output)
    d = res.diagnostics()
    if not args.quiet:
        print(res.summary())
        print(f"wrote {args.output}")
    rh = np.where(d["identified"].values, d["r_hat"].values, np.nan)
    return 3 if np.nanmax(rh, initial=1.0) >= 1.01 else 0
