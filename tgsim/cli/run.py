"""``tgsim run``: run an experiment file and write its outputs.

Examples
--------
``tgsim run experiments/quickstart.toml -o quickstart_results``
    Simulate the quick-start cohort; write ``cohort.nc``, ``summary.csv``, figures,
    ``config.toml`` and ``manifest.json`` into ``quickstart_results/``.
``tgsim run experiments/pseudoprogression.toml --subjects 50 --seed 1``
    A tiny cohort with another seed (smoke test).
``tgsim run big.toml --scheduler tcp://10.0.0.5:8786``
    Run the chunks on an existing ``dask.distributed`` cluster.

The output directory is built under a temporary name and renamed at the end, so a failed
run leaves nothing under the final name. See :mod:`tgsim.cohort.experiment` for the file format.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {v}")
    return v


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}") from None
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {v}")
    return v


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``run`` subcommand to ``subparsers``.

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
        "run",
        help="run an experiment file (virtual cohort, scenarios, read-outs)",
        description=(
            "Run an in-silico experiment from a TOML file: sample a virtual cohort, simulate "
            "every scenario (days, mm^3), scan it and compute read-outs (RECIST, iRECIST, "
            "hyperprogression, burden); write the dataset (NetCDF or Zarr), a summary CSV, "
            "figures and the resolved configuration into an output directory, atomically."
        ),
    )
    parser.add_argument("file", help="experiment file (.toml), e.g. experiments/quickstart.toml")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="output directory (default: [output] dir, else <file>_results)")
    parser.add_argument("--subjects", type=_positive_int, metavar="N",
                        help="number of virtual subjects (overrides [cohort] subjects)")
    parser.add_argument("--seed", type=_seed, metavar="S",
                        help="random seed (overrides [cohort] seed)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="dask.distributed scheduler address (tcp://host:port), 'local' for "
                             "a new LocalCluster, or 'synchronous' to run in this process")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an existing non-empty output directory, replacing "
                             "only the files its manifest.json lists (other files are kept)")
    bar = parser.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show progress bars")
    bar.add_argument("--no-progress", dest="progress", action="store_false",
                     help="never show progress bars")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Execute ``tgsim run``.

    Returns
    -------
    int
        0 on success, 1 when writing failed (e.g. a full disk), 2 for an invalid file or
        option (raised as :class:`~tgsim.errors.TgsimError` and reported by the CLI).
    """
    from ..cohort.experiment import load_experiment

    exp = load_experiment(args.file)
    try:
        result = exp.run(args.output, subjects=args.subjects, seed=args.seed,
                         scheduler=args.scheduler, overwrite=args.overwrite,
                         progress=getattr(args, "progress", None))
    except OSError as exc:
        print(f"tgsim run: error: could not write the output: {exc}; nothing was written",
              file=sys.stderr)
        return 1
    if not args.quiet:
        print(result.summary())
    return 0
