"""Gallery entries: a figure builder with its teaching text, and how a figure is saved."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: figure style of the gallery (readable at README size; Okabe-Ito colour cycle)
STYLE: dict[str, Any] = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "legend.fontsize": 8,
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


class Unavailable(Exception):
    """Raised by a builder whose figure needs a feature this installation lacks."""


@dataclass(frozen=True)
class Entry:
    """One gallery figure.

    Attributes
    ----------
    slug : str
        File stem of the figure (``<slug>.png``) and anchor on the index page.
    title : str
        Heading.
    text : str
        The explanation (Markdown: paragraphs, ``*emphasis*``, inline ``code``).
    build : callable
        ``build(quick: bool) -> (Figure, notes)``: ``notes`` are short lines with numbers
        computed for the figure (shown under the text). Raises :class:`Unavailable` when a
        feature it needs is missing.
    references : tuple of str
        Citations.
    """

    slug: str
    title: str
    text: str
    build: Callable[[bool], tuple[Any, list[str]]]
    references: tuple[str, ...] = ()


@dataclass
class Rendered:
    """What building one entry produced."""

    entry: Entry
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unavailable: str | None = None
    seconds: float = 0.0


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The gallery's matplotlib style (Okabe-Ito colour cycle, readable fonts)."""
    import matplotlib as mpl
    from cycler import cycler

    from tgsim.plot import OKABE_ITO

    with mpl.rc_context({**STYLE, "axes.prop_cycle": cycler(color=list(OKABE_ITO))}):
        yield


def panel_label(ax: Any, text: str, *, dy: float = 6.0) -> None:
    """A bold panel letter at the top left, outside the axes (``dy`` points above)."""
    ax.annotate(text, xy=(0.0, 1.0), xycoords="axes fraction", xytext=(-40, dy),
                textcoords="offset points", ha="left", va="bottom", fontweight="bold",
                fontsize=11)
