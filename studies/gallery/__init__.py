"""Teaching gallery: explained figures and an index page, built by :func:`build_gallery`
(``tgsim gallery -o DIR [--quick]``).

Each :class:`~studies.gallery._base.Entry` pairs a figure builder with a text written for
clinicians and modellers; figures that need a feature this installation lacks are listed
as not drawn instead of being drawn wrongly. Units: days, mm, mm³.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tgsim.errors import TgsimError

from ._base import Entry, Rendered, Unavailable
from .clinical import HYPERPROGRESSION, MEASUREMENT, PSEUDO, THRESHOLD
from .laws import DOUBLING, LAWS
from .spread import MICROMETASTASES
from .therapy import KILL, RADIOTHERAPY, RESISTANCE

__all__ = ["ENTRIES", "Entry", "Gallery", "Unavailable", "build_gallery", "entry_slugs"]

#: the gallery, in reading order
ENTRIES: tuple[Entry, ...] = (
    LAWS,
    DOUBLING,
    KILL,
    RADIOTHERAPY,
    RESISTANCE,
    HYPERPROGRESSION,
    PSEUDO,
    THRESHOLD,
    MICROMETASTASES,
    MEASUREMENT,
)

#: resolution (dots per inch) of the full and the quick gallery
DPI_FULL = 110
DPI_QUICK = 72


def _readable(path: Path) -> None:
    """Give a file the usual permissions (``0o666`` less the umask): the temporary files
    behind atomic writes are private."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def entry_slugs() -> list[str]:
    """Slugs of the gallery entries, in order."""
    return [e.slug for e in ENTRIES]


@dataclass
class Gallery:
    """Result of :func:`build_gallery`.

    Attributes
    ----------
    outdir : Path
    rendered : list of Rendered
        Per entry: figure files (relative to ``outdir``), computed notes, or why it was
        not drawn.
    pages : list of Path
        The index pages written.
    quick : bool
    """

    outdir: Path
    rendered: list[Rendered] = field(default_factory=list)
    pages: list[Path] = field(default_factory=list)
    quick: bool = False

    @property
    def files(self) -> list[Path]:
        """Every figure file written."""
        return [self.outdir / f for r in self.rendered for f in r.files]

    def summary(self) -> str:
        """One line per entry."""
        lines = [f"gallery in {self.outdir} ({'quick' if self.quick else 'full'} build)"]
        for r in self.rendered:
            what = f"not drawn: {r.unavailable}" if r.unavailable else ", ".join(r.files)
            lines.append(f"  {r.entry.slug:<28} {what} ({r.seconds:.1f} s)")
        lines += [f"  page: {p}" for p in self.pages]
        return "\n".join(lines)


def build_gallery(outdir: str | Path, *, quick: bool = False, dpi: int | None = None,
                  only: Sequence[str] | None = None, formats: Sequence[str] = ("md", "html"),
                  progress: Callable[[str], Any] | None = None) -> Gallery:
    """Render the gallery figures and write the index pages.

    Parameters
    ----------
    outdir : path
        Output folder (created); figures are ``<slug>.png``, pages ``index.md`` and
        ``index.html``, and ``gallery.json`` lists what was built. Every file is written
        atomically.
    quick : bool
        Coarser grids, fewer replicates and a lower resolution (for tests and previews).
    dpi : int, optional
        Resolution of the PNGs (default 110, quick 72).
    only : sequence of str, optional
        Build only these entries (slugs); the pages list only them.
    formats : sequence of {"md", "html"}
        Which index pages to write; empty: figures only (no pages, no ``gallery.json``).
    progress : callable, optional
        Called with each entry's slug before it is built.

    Returns
    -------
    Gallery

    Examples
    --------
    >>> import os, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     gallery = build_gallery(tmp, quick=True, only=["growth-laws"], formats=())
    ...     print(sorted(os.listdir(tmp)))
    ['growth-laws.png']
    """
    import matplotlib.pyplot as plt

    from tgsim.io import atomic_path

    from ._base import style
    from .pages import write_pages

    out = Path(outdir)
    entries = list(ENTRIES)
    if only is not None:
        unknown = sorted(set(only) - set(entry_slugs()))
        if unknown:
            raise TgsimError(f"`only`: unknown gallery entries {unknown}; entries are "
                             f"{entry_slugs()}")
        entries = [e for e in entries if e.slug in set(only)]
    bad = sorted(set(formats) - {"md", "html"})
    if bad:
        raise TgsimError(f"`formats` must be 'md' and/or 'html'; got {bad}")
    if dpi is None:
        dpi = DPI_QUICK if quick else DPI_FULL
    elif int(dpi) != dpi or dpi < 20:
        raise TgsimError(f"`dpi` must be an integer >= 20; got {dpi!r}")
    out.mkdir(parents=True, exist_ok=True)
    gallery = Gallery(out, quick=quick)
    for e in entries:
        if progress is not None:
            progress(e.slug)
        r = Rendered(e)
        start = time.perf_counter()
        try:
            with style():
                fig, notes = e.build(quick)
                try:
                    name = f"{e.slug}.png"
                    with atomic_path(out / name) as tmp:
                        fig.savefig(tmp, format="png", dpi=int(dpi))
                    _readable(out / name)
                finally:
                    plt.close(fig)
            r.files.append(name)
            r.notes = list(notes)
        except Unavailable as exc:
            r.unavailable = f"this figure needs a feature this installation lacks: {exc}"
        r.seconds = time.perf_counter() - start
        gallery.rendered.append(r)
    if not formats:  # figures only (e.g. for a README)
        return gallery
    gallery.pages = write_pages(out, gallery.rendered, quick=quick, formats=formats)
    for page in gallery.pages:
        _readable(page)
    manifest = {
        "quick": quick,
        "dpi": int(dpi),
        "pages": [p.name for p in gallery.pages],
        "entries": [{"slug": r.entry.slug, "title": r.entry.title, "files": r.files,
                     "notes": r.notes, "unavailable": r.unavailable}
                    for r in gallery.rendered],
    }
    with atomic_path(out / "gallery.json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    _readable(out / "gallery.json")
    return gallery
