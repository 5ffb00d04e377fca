"""``tgsim simulate``: simulate a card for one subject or a small cohort."""

from __future__ import annotations

import argparse
import sys

from ..errors import TgsimError


def _param(text: str) -> tuple[str, float]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    try:
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"value of {name!r} is not a number: {value!r}") from None


def _times(text: str):
    import numpy as np

    parts = text.split(":")
    try:
        nums = [float(x) for x in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--times must be START:STOP:STEP (days), got {text!r}"
        ) from None
    if len(nums) != 3:
        raise argparse.ArgumentTypeError(f"--times must be START:STOP:STEP (days), got {text!r}")
    start, stop, step = nums
    if not np.isfinite(nums).all():
        raise argparse.ArgumentTypeError(f"--times needs finite START:STOP:STEP; got {text!r}")
    if step <= 0 or stop < start:
        raise argparse.ArgumentTypeError(f"--times needs STOP >= START and STEP > 0, got {text!r}")
    n = int(round((stop - start) / step)) + 1
    from ..errors import SizeLimitError
    from ..limits import check_grid

    try:  # before the grid is built
        check_grid(n, f"--times {text}")
    except SizeLimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return start + step * np.arange(n)


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0; got {text!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate a growth law (optionally under a treatment schedule)",
        description=(
            "Simulate tumour volume (mm^3) over time (days) and write an xarray Dataset "
            "(NetCDF). Parameters not given take the card's defaults; --subjects N with "
            "--spread CV draws a log-normal cohort around them."
        ),
        epilog=(
            "example: tgsim simulate gompertz --param growth_rate=0.1 "
            "--param carrying_capacity=2000 --times 0:120:1 --subjects 50 --spread 0.3 "
            "-o gompertz.nc --plot gompertz.png"
        ),
    )
    p.add_argument("model", help="card name (see 'tgsim models') or path to a .toml card")
    p.add_argument(
        "--param",
        action="append",
        type=_param,
        default=[],
        metavar="NAME=VALUE",
        help="parameter value (repeatable); unspecified ones use the card default",
    )
    p.add_argument(
        "--times",
        type=_times,
        default=None,
        metavar="START:STOP:STEP",
        help="output times in days (default 0:100:1)",
    )
    p.add_argument(
        "--subjects",
        type=int,
        default=1,
        metavar="N",
        help="number of virtual subjects (default 1)",
    )
    p.add_argument(
        "--spread",
        type=float,
        default=0.0,
        metavar="CV",
        help="coefficient of variation of log-normal parameter spread (default 0)",
    )
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed for --spread (integer >= 0, default 0)")
    p.add_argument("--schedule", metavar="FILE", help="treatment schedule (TOML)")
    p.add_argument("--solver", choices=["auto", "ode", "closed_form"], default="auto")
    p.add_argument(
        "--model-path",
        action="append",
        metavar="DIR",
        help="extra folder of user cards (repeatable)",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE.nc",
        help="output NetCDF file (written atomically)",
    )
    p.add_argument("--plot", metavar="FILE.png", help="also draw the curves to this image")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from ..engine.catalogue import model as get_model
    from ..io import atomic_path, check_output_file
    from ..simulation import check_output_size, simulate

    check_output_file(args.output, "-o/--output")
    if args.plot:
        check_output_file(args.plot, "--plot")
    mdl = get_model(args.model, path=args.model_path)
    if args.subjects < 1:
        raise TgsimError(f"--subjects must be >= 1; got {args.subjects}")
    times = args.times if args.times is not None else np.arange(0.0, 101.0)
    check_output_size(mdl, args.subjects, times.size, "tgsim simulate")
    if not np.isfinite(args.spread) or args.spread < 0:
        raise TgsimError(f"--spread must be a coefficient of variation >= 0; got {args.spread}")
    params = mdl.defaults()
    for name, value in args.param:
        try:
            params[mdl.parameter(name).name] = value
        except KeyError as exc:
            raise TgsimError(f"--param: {exc.args[0]}") from None
    if args.subjects > 1 and args.spread > 0:
        rng = np.random.default_rng(args.seed)
        sigma = np.sqrt(np.log1p(args.spread**2))
        for par in mdl.parameters:
            if par.name == "psi" or par.unit == "1":
                continue
            draws = params[par.name] * rng.lognormal(0.0, sigma, args.subjects)
            params[par.name] = np.clip(draws, par.lower, par.upper)
    elif args.subjects > 1:
        params["initial_volume"] = np.full(args.subjects, params["initial_volume"])
    solver = None if args.solver == "auto" else args.solver
    ds = simulate(mdl, times, params, schedule=args.schedule, solver=solver)
    ds.attrs["command"] = " ".join(["tgsim", *sys.argv[1:]]) if sys.argv else "tgsim simulate"
    with atomic_path(args.output) as tmp:
        ds.to_netcdf(tmp, engine="scipy")
    ok = int((ds.status == 0).sum())
    print(
        f"wrote {args.output}: {ds.sizes['subject']} subject(s) x {ds.sizes['time']} times, "
        f"model {mdl.name}, solver {ds.attrs['solver']}, {ok} succeeded"
    )
    if args.plot:
        import matplotlib

        from ..plot import growth_curves

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ax = growth_curves(ds)
        with atomic_path(args.plot) as tmp:
            ax.figure.savefig(tmp, dpi=120, format="png")
        plt.close(ax.figure)
        print(f"wrote {args.plot}")
    return 0
