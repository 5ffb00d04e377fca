"""``tgsim models``: list the model cards or describe one."""

from __future__ import annotations

import argparse
import sys

from ..errors import TgsimError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models",
        help="list the growth-law cards, or describe one",
        description=(
            "List the available model cards (built-in and from --model-path / "
            "TGSIM_MODEL_PATH), or print one card's equations, parameters (with units, "
            "defaults and bounds) and references."
        ),
    )
    p.add_argument("name", nargs="?", help="a card name or path to describe")
    p.add_argument("--model-path", action="append", metavar="DIR",
                   help="extra folder of user cards (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..engine.catalogue import model, models

    if args.name:
        print(model(args.name, path=args.model_path).summary())
        return 0
    names = models(args.model_path)
    width = max(len(n) for n in names)
    bad = 0
    for n in names:
        try:
            m = model(n, path=args.model_path)
        except TgsimError as exc:  # one bad card is reported, the others still listed
            print(f"{n:<{width}}  {'invalid':<11}  {exc}")
            bad += 1
            continue
        kind = "closed form" if m.has_closed_form else "ODE"
        print(f"{n:<{width}}  {kind:<11}  {m.title}  ({', '.join(m.parameter_names)})")
    if bad:
        print(f"tgsim models: {bad} card(s) could not be read (marked invalid above)",
              file=sys.stderr)
    return 2 if bad else 0
