"""``tgsim compile``: build the compiled kernels ahead of use."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compile",
        help="compile kernels ahead of use (warm the kernel cache)",
        description=(
            "Compile the simulation, fit and metastasis kernels of the named cards (or of "
            "every card with --all) into the kernel cache ($TGSIM_CACHE_DIR, default "
            "~/.cache/tgsim/kernels), so that no later call, from the CLI or from Python, "
            "waits for a compile. Useful for a classroom image or a cluster node."
        ),
    )
    p.add_argument("models", nargs="*", metavar="MODEL", help="card names or paths")
    p.add_argument("--all", action="store_true", help="every available card")
    p.add_argument("--jobs", default="simulate,fit,metastasis",
                   help="comma-separated jobs to build (default: simulate,fit,metastasis)")
    p.add_argument("--model-path", action="append", metavar="DIR",
                   help="extra folder of user cards (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..engine.catalogue import model, models
    from ..errors import TgsimError
    from ..warm import compile_kernels

    if not args.models and not args.all:
        raise TgsimError("name one or more cards (e.g. `tgsim compile gompertz`) or use --all")
    names = models(args.model_path) if args.all else args.models
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    compile_kernels([model(n, path=args.model_path) for n in names], jobs)
    return 0
