"""``tgsim gallery``: render the teaching gallery (figures and an index page)."""

from __future__ import annotations

import argparse

from ._studies import import_study


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gallery",
        help="render the teaching gallery: explained figures and an index page",
        description=(
            "Render the teaching figures (growth laws, doubling time, log-kill vs "
            "Norton-Simon, radiotherapy fractionation, resistance, hyperprogression, "
            "pseudoprogression, LI-RADS threshold growth, micrometastases, measurement "
            "error) as PNG files with index.md and index.html explaining each."
        ),
        epilog=(
            "examples: tgsim gallery -o gallery --quick;  tgsim gallery -o docs/figures "
            "--figures-only --dpi 80 --only growth-laws --only pseudoprogression"
        ),
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quick", action="store_true",
                   help="coarser grids, fewer replicates, lower resolution")
    p.add_argument("--dpi", type=int, default=None, help="PNG resolution (default 110; quick 72)")
    p.add_argument("--only", action="append", metavar="SLUG",
                   help="build only this entry (repeatable); see --list")
    p.add_argument("--figures-only", action="store_true",
                   help="write the PNGs only (no index pages), e.g. for a README")
    p.add_argument("--list", action="store_true", help="list the entries and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    gallery = import_study("studies.gallery", "the gallery")
    ENTRIES, build_gallery = gallery.ENTRIES, gallery.build_gallery

    if args.list:
        for e in ENTRIES:
            print(f"{e.slug:<28} {e.title}")
        return 0
    g = build_gallery(args.output, quick=args.quick, dpi=args.dpi, only=args.only,
                      formats=() if args.figures_only else ("md", "html"),
                      progress=lambda slug: print(f"  {slug} ...", flush=True))
    print(g.summary())
    return 0
