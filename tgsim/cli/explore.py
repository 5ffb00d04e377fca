"""``tgsim explore``: sliders for a growth law and its treatment, in a window or a browser."""

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
            "image without a display. --web serves the explorer to a web browser instead "
            "(needs the 'web' extra): sliders for every card parameter and treatment field, "
            "treatment pickers, RECIST 1.1 / iRECIST / LI-RADS calls per scan, doubling "
            "time and a share link."
        ),
        epilog=(
            "example: tgsim explore gompertz --schedule immuno.toml --every 6w "
            "--save explore.png; tgsim explore --web gompertz --port 0"
        ),
    )
    p.add_argument("model", nargs="?", default=None,
                   help="card name (see 'tgsim models') or path to a .toml card "
                        "(with --web: default gompertz)")
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
    web = p.add_argument_group("browser explorer")
    web.add_argument("--web", action="store_true",
                     help="serve the explorer on http://127.0.0.1:PORT/ and open it")
    web.add_argument("--port", type=int, default=5006,
                     help="TCP port for --web (default 5006; 0 picks a free port)")
    web.add_argument("--no-browser", action="store_true",
                     help="with --web: do not open a browser (print the URL only)")
    web.add_argument("--view", metavar="FILE.toml",
                     help="with --web: start from a view saved with the page's Share button")
    p.set_defaults(func=run)


def run_web(args: argparse.Namespace) -> int:
    """``tgsim explore --web``: serve the browser explorer."""
    from ..web import View, require_bokeh, serve

    require_bokeh()
    if args.save or args.set or args.times is not None or args.log:
        raise TgsimError("--save, --set, --times and --log apply to the window explorer, "
                         "not to --web")
    if args.port < 0 or args.port > 65535:
        raise TgsimError(f"--port must be 0 to 65535; got {args.port}")
    notes: list[str] = []
    if args.view:
        if args.schedule:
            raise TgsimError("give --view or --schedule, not both")
        view = View.from_toml(args.view, model_path=args.model_path)
    elif args.schedule:
        view, notes = View.from_schedule(args.model or "gompertz", args.schedule,
                                         model_path=args.model_path)
    else:
        view = View.default(args.model or "gompertz", model_path=args.model_path)
    from ..engine.catalogue import model as get_model

    card = get_model(view.model, path=args.model_path)
    for name, value in args.param:
        try:
            par = card.parameter(name)
        except KeyError as exc:
            raise TgsimError(f"--param: {exc.args[0]}") from None
        view.params[par.name] = float(value)
    try:
        every = float(args.every)
    except ValueError:
        from ..observe import parse_interval

        every = parse_interval(args.every)
    view.fields["scans"]["every_days"] = every
    serve(view, port=args.port, open_browser=not args.no_browser,
          model_path=args.model_path, notes=notes)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.web:
        return run_web(args)
    if args.port != 5006 or args.no_browser or args.view:
        raise TgsimError("--port, --no-browser and --view need --web")
    if args.model is None:
        raise TgsimError("give a MODEL (see 'tgsim models'), or use --web")
    import matplotlib

    if args.save:
        matplotlib.use("Agg")
    from ..engine.catalogue import model as get_model
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
