"""Validation reports: published numbers side by side with ours, with a verdict each.

A :class:`ValidationReport` holds the :class:`Check` rows of one reproduction (one data
set, one paper), per-subject and per-model tables, figures, failed-fit counts and notes.
:meth:`ValidationReport.write` writes ``report.md``, ``checks.csv``, ``tables/*.csv`` and
the figures as PNG, each file atomically.

Checks are built by :func:`relative_check`, :func:`absolute_check`, :func:`rank_check` and
:func:`bound_check`. A verdict is one of ``"agrees"``, ``"differs"`` or ``"not
comparable"`` (the quantity was computed differently from the paper, or a value is
missing); a check that differs should carry a ``note`` giving the likely reason.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tgsim.errors import TgsimError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "VERDICTS",
    "Check",
    "relative_check",
    "absolute_check",
    "rank_check",
    "bound_check",
    "ValidationReport",
]

#: the allowed verdicts
VERDICTS: tuple[str, ...] = ("agrees", "differs", "not comparable")


@dataclass
class Check:
    """One row of the side-by-side table.

    Attributes
    ----------
    quantity : str
        What is compared, with its unit (e.g. ``"mean age error (%)"``).
    paper : float or str
        The published or reference value.
    ours : float or str
        Our value.
    tolerance : str
        Human-readable tolerance (``"≤5 % rel"``, ``"±0.05"``, ``"exact"``).
    verdict : str
        ``"agrees"``, ``"differs"`` or ``"not comparable"``.
    note : str
        When the check differs or is not comparable: the likely reason.
    source : str
        Where the reference number comes from (paper section, table, abstract, file).
    abs_diff : float
        ``ours - paper`` for numbers (NaN otherwise).
    rel_diff : float
        ``(ours - paper) / |paper|`` for numbers (NaN otherwise).
    """

    quantity: str
    paper: float | str
    ours: float | str
    tolerance: str
    verdict: str
    note: str = ""
    source: str = ""
    abs_diff: float = math.nan
    rel_diff: float = math.nan

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise TgsimError(f"`verdict` must be one of {VERDICTS}; got {self.verdict!r}")

    @property
    def agrees(self) -> bool:
        """True when the verdict is ``"agrees"``."""
        return self.verdict == "agrees"

    def difference(self) -> str:
        """The difference as text: absolute and, where defined, relative."""
        if math.isnan(self.abs_diff):
            return "—"
        text = _fmt(self.abs_diff, signed=True)
        if not math.isnan(self.rel_diff):
            text += f" ({100 * self.rel_diff:+.1f} %)"
        return text

    def as_dict(self) -> dict[str, Any]:
        """The row as a flat dict (the columns of ``checks.csv``)."""
        return {"quantity": self.quantity, "paper": self.paper, "ours": self.ours,
                "abs_diff": self.abs_diff, "rel_diff": self.rel_diff,
                "tolerance": self.tolerance, "verdict": self.verdict, "note": self.note,
                "source": self.source}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out


def _fmt(value: Any, signed: bool = False) -> str:
    x = _number(value)
    if x is None:
        return str(value)
    if math.isnan(x):
        return "NaN"
    sign = "+" if signed else ""
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:{sign}.3g}"
    return f"{x:{sign}.4g}"


def _numeric_pair(quantity: str, paper: Any, ours: Any) -> tuple[float, float]:
    p, o = _number(paper), _number(ours)
    if p is None:
        raise TgsimError(f"check {quantity!r}: `paper` must be a number; got {paper!r}")
    if o is None:
        raise TgsimError(f"check {quantity!r}: `ours` must be a number; got {ours!r}")
    return p, o


def _finish(quantity: str, p: float, o: float, within: bool, tolerance: str,
            comparable: bool, source: str, note: str) -> Check:
    finite = math.isfinite(p) and math.isfinite(o)
    abs_diff = o - p if finite else math.nan
    rel_diff = (o - p) / abs(p) if finite and p != 0 else math.nan
    if not finite:
        verdict = "not comparable"
        note = note or "no finite value"
    elif not comparable:
        verdict = "not comparable"
    else:
        verdict = "agrees" if within else "differs"
    return Check(quantity, p, o, tolerance, verdict, note=note, source=source,
                 abs_diff=abs_diff, rel_diff=rel_diff)


def relative_check(quantity: str, paper: float, ours: float, rtol: float = 0.05, *,
                   source: str = "", note: str = "", comparable: bool = True) -> Check:
    """Compare two numbers with a relative tolerance.

    Agrees when :math:`|o - p| \\le \\mathrm{rtol}\\,|p|`.

    Parameters
    ----------
    quantity : str
        What is compared (with unit).
    paper, ours : float
        Published and reproduced values.
    rtol : float
        Relative tolerance (0.05 = 5 %).
    source, note : str
        Where the paper's number comes from; the likely reason for a difference.
    comparable : bool
        False when the two numbers are not computed the same way: the verdict is then
        ``"not comparable"`` whatever the difference (the difference is still shown).

    Returns
    -------
    Check
    """
    if not (rtol >= 0):
        raise TgsimError(f"`rtol` must be >= 0; got {rtol!r}")
    p, o = _numeric_pair(quantity, paper, ours)
    within = abs(o - p) <= rtol * abs(p)
    return _finish(quantity, p, o, within, f"≤{100 * rtol:g} % rel", comparable, source,
                   note)


def absolute_check(quantity: str, paper: float, ours: float, atol: float, *,
                   source: str = "", note: str = "", comparable: bool = True) -> Check:
    """Compare two numbers with an absolute tolerance: agrees when ``|o - p| <= atol``.

    Parameters are those of :func:`relative_check`, with ``atol`` in the quantity's unit.
    """
    if not (atol >= 0):
        raise TgsimError(f"`atol` must be >= 0; got {atol!r}")
    p, o = _numeric_pair(quantity, paper, ours)
    within = abs(o - p) <= atol
    return _finish(quantity, p, o, within, f"±{_fmt(atol)}", comparable, source, note)


def bound_check(quantity: str, bound: float, ours: float, *, above: bool = True,
                source: str = "", note: str = "", comparable: bool = True) -> Check:
    """Check a published inequality such as "R² > 0.92".

    Parameters
    ----------
    quantity : str
    bound : float
        The published bound.
    ours : float
    above : bool
        True: the paper states ``quantity > bound``; False: ``quantity < bound``.
    source, note, comparable
        As in :func:`relative_check`.

    Returns
    -------
    Check
        ``paper`` is the text ``"> bound"`` (or ``"< bound"``); the differences are taken
        from the bound.
    """
    p, o = _numeric_pair(quantity, bound, ours)
    within = o > p if above else o < p
    chk = _finish(quantity, p, o, within, "inequality", comparable, source, note)
    chk.paper = f"{'>' if above else '<'} {_fmt(p)}"
    return chk


def rank_check(quantity: str, paper_order: Sequence[str], ours_order: Sequence[str], *,
               top: int | None = None, source: str = "", note: str = "",
               comparable: bool = True, ordered: bool = True) -> Check:
    """Compare two rankings (best first).

    Parameters
    ----------
    quantity : str
        What is ranked (e.g. ``"best models by summed AIC"``).
    paper_order, ours_order : sequence of str
        Model names, best first. ``paper_order`` may be shorter than ``ours_order`` when
        the paper names only its leaders.
    top : int, optional
        Compare only the first ``top`` names (default: the length of ``paper_order``).
    source, note, comparable
        As in :func:`relative_check`.
    ordered : bool
        False when the paper names its leaders without an order ("A and B describe the
        data best"): the first ``top`` names must then be the same set.

    Returns
    -------
    Check
        Agrees when the first ``top`` names are the same, in the same order (or as a set
        when not ``ordered``).
    """
    paper_order = [str(x) for x in paper_order]
    ours_order = [str(x) for x in ours_order]
    if not paper_order:
        raise TgsimError(f"check {quantity!r}: `paper_order` must name at least one model")
    k = len(paper_order) if top is None else int(top)
    if k < 1 or k > len(paper_order):
        raise TgsimError(f"check {quantity!r}: `top` must be in 1..{len(paper_order)}; "
                         f"got {top!r}")
    a, b = paper_order[:k], ours_order[:k]
    if len(b) < k:
        verdict, note = "not comparable", note or "fewer ranked models than compared"
    elif not comparable:
        verdict = "not comparable"
    else:
        same = a == b if ordered else sorted(a) == sorted(b)
        verdict = "agrees" if same else "differs"
    if k == 1:
        tol = "same best"
    else:
        tol = f"same top {k}" + ("" if ordered else " (any order)")
    sep = " > " if ordered else ", "
    return Check(quantity, sep.join(a), " > ".join(b), tol, verdict, note=note,
                 source=source)


_COLUMNS = ("quantity", "paper", "ours", "difference", "tolerance", "verdict", "note")


@dataclass
class ValidationReport:
    """The result of reproducing one paper's analysis on one data set.

    Attributes
    ----------
    dataset : str
        Data-set name (see :mod:`tgsim.datasets`).
    title : str
    paper : str
        Citation of the paper reproduced.
    reproduced : str
        One line: what was reproduced.
    checks : list of Check
    tables : dict of str to pandas.DataFrame
        Per-subject / per-model tables (written as ``tables/<name>.csv``).
    figures : dict of str to matplotlib Figure
        Written as ``<name>.png``.
    failed_fits : dict of str to int
        Failed fits per model (counted and reported, never dropped silently).
    notes : list of str
    """

    dataset: str
    title: str
    paper: str
    reproduced: str
    checks: list[Check] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    failed_fits: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    # -- summaries -----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        """Number of checks per verdict."""
        return {v: sum(c.verdict == v for c in self.checks) for v in VERDICTS}

    def agreement(self) -> str:
        """One line, e.g. ``"5 of 6 checks agree (1 differs)"``."""
        n = self.counts()
        total = len(self.checks)
        text = f"{n['agrees']} of {total} checks agree"
        extra = []
        if n["differs"]:
            extra.append(f"{n['differs']} differ" + ("s" if n["differs"] == 1 else ""))
        if n["not comparable"]:
            extra.append(f"{n['not comparable']} not comparable")
        return text + (f" ({', '.join(extra)})" if extra else "")

    def _rows(self) -> list[list[str]]:
        return [[c.quantity, _fmt(c.paper), _fmt(c.ours), c.difference(), c.tolerance,
                 c.verdict, c.note] for c in self.checks]

    def table(self, note_width: int = 60) -> str:
        """The side-by-side text table.

        Columns: quantity | paper | ours | difference | tolerance | verdict | note. Long
        notes wrap onto continuation lines.
        """
        rows = self._rows()
        widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(_COLUMNS[:-1])]
        widths.append(note_width)

        def line(cells: Sequence[str]) -> str:
            return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        out = [line(_COLUMNS), "-+-".join("-" * w for w in widths)]
        for r in rows:
            wrapped = textwrap.wrap(r[-1], note_width) or [""]
            out.append(line(r[:-1] + [wrapped[0]]))
            for more in wrapped[1:]:
                out.append(line([""] * (len(widths) - 1) + [more]))
        return "\n".join(out)

    def _failed_text(self) -> str:
        if not self.failed_fits:
            return "none recorded"
        return ", ".join(f"{m}: {n}" for m, n in self.failed_fits.items())

    def summary(self) -> str:
        """Title, paper, what was reproduced, the table, failed fits and notes."""
        head = f"{self.title} ({self.dataset})"
        parts = [head, "=" * len(head), f"paper: {self.paper}",
                 f"reproduced: {self.reproduced}", "", self.table(), "",
                 f"agreement: {self.agreement()}", f"failed fits: {self._failed_text()}"]
        sources = [f"  [{i + 1}] {c.quantity}: {c.source}" for i, c in enumerate(self.checks)
                   if c.source]
        if sources:
            parts += ["sources:"] + sources
        if self.notes:
            parts += ["notes:"] + [textwrap.fill(n, 88, initial_indent="  - ",
                                                 subsequent_indent="    ")
                                   for n in self.notes]
        return "\n".join(parts)

    def to_markdown(self, files: dict[str, str] | None = None) -> str:
        """The report as Markdown; ``files`` ({label: file name}) adds figure and table links."""

        def cell(text: Any) -> str:
            return str(text).replace("|", "\\|").replace("\n", " ")

        md = [f"# {self.title}", "", f"**Data set**: `{self.dataset}`  ",
              f"**Paper**: {self.paper}  ", f"**Reproduced**: {self.reproduced}  ",
              f"**Agreement**: {self.agreement()}", "",
              "| quantity | paper | ours | difference | tolerance | verdict | note | source |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for c, r in zip(self.checks, self._rows(), strict=True):
            md.append("| " + " | ".join(cell(x) for x in r + [c.source]) + " |")
        md += ["", "## Failed fits", ""]
        if self.failed_fits:
            md += ["| model | failed fits |", "| --- | --- |"]
            md += [f"| {m} | {n} |" for m, n in self.failed_fits.items()]
        else:
            md.append("None recorded.")
        if self.notes:
            md += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        if files:
            figs = [(k.split(":", 1)[1], v) for k, v in files.items()
                    if k.startswith("figure:")]
            tabs = [(k.split(":", 1)[1], v) for k, v in files.items()
                    if k.startswith("table:")]
            if figs:
                md += ["", "## Figures", ""]
                for name, fn in figs:
                    md += [f"![{name}]({fn})", ""]
            if tabs:
                md += ["", "## Tables", ""] + [f"- [{name}]({fn})" for name, fn in tabs]
        return "\n".join(md).rstrip() + "\n"

    # -- output --------------------------------------------------------------------------
    def checks_frame(self) -> pd.DataFrame:
        """The checks as a DataFrame (the content of ``checks.csv``)."""
        import pandas as pd

        return pd.DataFrame([c.as_dict() for c in self.checks],
                            columns=list(Check("", "", "", "", "agrees").as_dict()))

    def write(self, out_dir: str | Path, *, dpi: int = 90) -> dict[str, str]:
        """Write the report into ``out_dir`` (created if needed), every file atomically.

        Files: ``report.md``, ``checks.csv``, ``tables/<name>.csv`` and ``<name>.png`` for
        each figure.

        Parameters
        ----------
        out_dir : str or Path
        dpi : int
            Resolution of the PNG figures.

        Returns
        -------
        dict of str to str
            ``{label: file name relative to out_dir}``; labels are ``"report"``,
            ``"checks"``, ``"table:<name>"`` and ``"figure:<name>"``.
        """
        from tgsim.io import atomic_path

        mode = _file_mode()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        for name, fig in self.figures.items():
            rel = f"{_safe(name)}.png"
            with atomic_path(out / rel) as tmp:
                fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")
                os.chmod(tmp, mode)
            files[f"figure:{name}"] = rel
        for name, frame in self.tables.items():
            rel = f"tables/{_safe(name)}.csv"
            with atomic_path(out / rel) as tmp:
                frame.to_csv(tmp, index=False)
                os.chmod(tmp, mode)
            files[f"table:{name}"] = rel
        with atomic_path(out / "checks.csv") as tmp:
            self.checks_frame().to_csv(tmp, index=False)
            os.chmod(tmp, mode)
        with atomic_path(out / "report.md") as tmp:
            tmp.write_text(self.to_markdown(files), encoding="utf-8")
            os.chmod(tmp, mode)
        return {"report": "report.md", "checks": "checks.csv", **files}


def _file_mode() -> int:
    """Permissions of a new ordinary file under the current umask (temporary files are
    created private)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _safe(name: str) -> str:
    text = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))
    if not text.strip("._"):
        raise TgsimError(f"cannot make a file name from {name!r}")
    return text
