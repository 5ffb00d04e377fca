"""``tgsim explore``: sliders for a growth law and its treatment, or a saved view."""

from __future__ import annotations

import argparse

from ..errors import TgsimError
from .simulate import _param, _times


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explore",
        help="interactive explorer: sliders for parameters and treatment knobs",
        description=(
            "Open a matplotlib window with sliders for the card's parameters and the "
            "magnitudes of the schedule's interventions. The tumour volume and observed "
            "size (mm^3, against days), the scans and their RECIST 1.1 / iRECIST "
            "categories update as the sliders move. --save renders the same view to an "
            "image without a display."
        ),
        epilog=(
            "example: tgsim explore gompertz --schedule immuno.toml --every 6w "
            "--save explore.png"
        ),
    )
    p.add_argument("model", help="card name (see 'tgsim models') or path to a .toml card")
    p.add_argument("--schedule", metavar="FILE", help="treatment schedule (TOML)")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="NAME=VALUE",
                   help="starting parameter value (repeatable); others use the card default")
    p.add_argument("--set", action="append", type=_param, default=[], metavar="KNOB=VALUE",
                   help="starting value of any knob, e.g. immunotherapy_kill_rate=0.03")
    p.add_argument("--times", type=_times, default=None, metavar="START:STOP:STEP",
                   help="simulated times in days (default 0:364:1)")
    p.add_argument("--every", default="6w", metavar="INTERVAL",
                   help="scan interval: days or 6w, 8w, 3mo (default 6w)")
    p.add_argument("--treatment-day", type=float, default=None, metavar="DAY",
                   help="treatment start for the RECIST baseline (default: first therapy day)")
    p.add_argument("--log", action="store_true", help="logarithmic volume axis")
    p.add_argument("--model-path", action="append", metavar="DIR",
                   help="extra folder of user cards (repeatable)")
    p.add_argument("--save", metavar="FILE.png",
                   help="render the view to this image (headless) instead of opening a window")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    if args.save:
        matplotlib.use("Agg")
    from ..catalogue import model as get_model
    from ..explore import Explorer

    mdl = get_model(args.model, path=args.model_path)
    try:
        every: float | str = float(args.every)
    except ValueError:
        every = args.every
    ex = Explorer(mdl, schedule=args.schedule, params=dict(args.param), times=args.times,
                  every_days=every, treatment_day=args.treatment_day, log=args.log)
    if args.set:
        ex.update(**dict(args.set))
    if args.save:
        ex.save(args.save)
        print(ex.summary())
        print(f"wrote {args.save}")
        return 0
    backend = matplotlib.get_backend().lower()
    if backend in ("agg", "pdf", "ps", "svg", "cairo", "template") or "inline" in backend:
        raise TgsimError(f"no interactive matplotlib backend (backend is {backend!r}); run "
                         "with a display, or use --save FILE.png for a static view")
    ex.show()
    return 0
