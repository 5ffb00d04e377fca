"""The ``tgsim`` command line: a thin layer over the public API.

Each subcommand lives in its own module exposing ``register(subparsers)``, which adds
its parser and sets ``func`` to a callable taking the parsed arguments and returning
an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from ..errors import TgsimError

#: subcommand modules, in the order ``tgsim --help`` lists them
SUBCOMMANDS = ("run", "simulate", "fit", "sample", "gdrate", "assess", "models", "datasets",
               "explore", "gallery", "compile")


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="tgsim",
        description=(
            "Simulate, assess and fit tumour growth. Times are in days, volumes in mm^3, "
            "diameters in mm. Run 'tgsim COMMAND --help' for each command's options."
        ),
    )
    from .._version import __version__

    parser.add_argument("--version", action="version", version=f"tgsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # a subcommand not shipped in this build
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tgsim`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    previous = _exit_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except TgsimError as exc:
        print(f"tgsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        print(f"tgsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _exit_on_sigterm():
    """Turn SIGTERM into SystemExit while a command runs, so that its temporary outputs are
    removed as for an error (SIGKILL cannot be caught: the next run cleans up instead)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _terminated)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
