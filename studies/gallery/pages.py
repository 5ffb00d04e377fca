"""Index pages of the gallery: Markdown (``index.md``) and static HTML (``index.html``)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tgsim.io import atomic_path

TITLE = "tgsim teaching gallery"

INTRO = """\
Explained figures made with tgsim: growth laws, treatment effects and how clinical
read-outs (RECIST 1.1, iRECIST, LI-RADS, hyperprogression definitions) see simulated
tumours. Time is in days, volumes in mm³ and diameters in mm. Every figure is rebuilt by
`tgsim gallery -o DIR`; the numbers under each text were computed for the figure."""


def paragraphs(text: str) -> list[str]:
    """Split a wrapped text into paragraphs, each on one line."""
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _inline_html(text: str) -> str:
    """Escape and render **bold**, *italic* and `code` / ``code``."""
    out = html.escape(text, quote=False)
    out = re.sub(r"``(.+?)``", r"<code>\1</code>", out)
    out = re.sub(r"`(.+?)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)
    return out


def markdown_page(rendered: Sequence[Any], *, quick: bool) -> str:
    """The Markdown index page."""
    lines = [f"# {TITLE}", "", *paragraphs(INTRO), ""]
    if quick:
        lines += ["*Quick build: coarser grids and fewer replicates than the full gallery.*",
                  ""]
    lines.append("Contents:")
    lines.append("")
    for k, r in enumerate(rendered, 1):
        lines.append(f"{k}. [{r.entry.title}](#{r.entry.slug})")
    lines.append("")
    for k, r in enumerate(rendered, 1):
        e = r.entry
        lines += [f'<a id="{e.slug}"></a>', "", f"## {k}. {e.title}", ""]
        if r.unavailable:
            lines += [f"> **Not drawn.** {r.unavailable}", ""]
            continue
        for f in r.files:
            lines += [f"![{e.title}]({f})", ""]
        for p in paragraphs(e.text):
            lines += [p, ""]
        if r.notes:
            lines += ["*In this figure:*", ""]
            lines += [f"- {n}" for n in r.notes]
            lines.append("")
        if e.references:
            lines += ["References:", ""]
            lines += [f"- {ref}" for ref in e.references]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_CSS = """\
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;line-height:1.5;color:#222}
img{max-width:100%;height:auto;border:1px solid #ddd}
.note{color:#555;font-size:.92em}.refs{font-size:.85em;color:#444}
.missing{background:#fff4e5;border-left:4px solid #E69F00;padding:.5rem 1rem}
code{background:#f3f3f3;padding:0 .2em}"""


def html_page(rendered: Sequence[Any], *, quick: bool) -> str:
    """The static HTML index page."""
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>{html.escape(TITLE)}</title>", f"<style>{_CSS}</style>", "</head>",
           "<body>", f"<h1>{html.escape(TITLE)}</h1>"]
    out += [f"<p>{_inline_html(p)}</p>" for p in paragraphs(INTRO)]
    if quick:
        out.append("<p><em>Quick build: coarser grids and fewer replicates than the full "
                   "gallery.</em></p>")
    out.append("<ol>")
    for r in rendered:
        out.append(f'<li><a href="#{r.entry.slug}">{html.escape(r.entry.title)}</a></li>')
    out.append("</ol>")
    for k, r in enumerate(rendered, 1):
        e = r.entry
        out.append(f'<section id="{e.slug}">')
        out.append(f"<h2>{k}. {html.escape(e.title)}</h2>")
        if r.unavailable:
            out.append(f'<p class="missing"><strong>Not drawn.</strong> '
                       f"{html.escape(r.unavailable)}</p></section>")
            continue
        for f in r.files:
            out.append(f'<figure><img src="{html.escape(f)}" alt="{html.escape(e.title)}">'
                       "</figure>")
        out += [f"<p>{_inline_html(p)}</p>" for p in paragraphs(e.text)]
        if r.notes:
            out.append('<p class="note"><em>In this figure:</em></p><ul class="note">')
            out += [f"<li>{html.escape(n)}</li>" for n in r.notes]
            out.append("</ul>")
        if e.references:
            out.append('<ul class="refs">')
            out += [f"<li>{html.escape(ref)}</li>" for ref in e.references]
            out.append("</ul>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_pages(outdir: Path, rendered: Sequence[Any], *, quick: bool,
                formats: Sequence[str] = ("md", "html")) -> list[Path]:
    """Write the index pages atomically; returns their paths."""
    paths = []
    for fmt in formats:
        if fmt == "md":
            path, text = outdir / "index.md", markdown_page(rendered, quick=quick)
        elif fmt == "html":
            path, text = outdir / "index.html", html_page(rendered, quick=quick)
        else:
            raise ValueError(f"unknown page format {fmt!r}")
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
