"""Sphinx configuration of the tgsim documentation site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (needs the ``docs`` extra).
At build time this file writes the API reference list (every name in ``tgsim.__all__``)
and the gallery page (figures drawn by ``studies.gallery.build_gallery``, each with the code
that draws it); the tutorials are executed by MyST-NB.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import tgsim  # noqa: E402

project = "tgsim"
author = "tgsim developers"
copyright = "tgsim developers"  # noqa: A001
release = version = tgsim.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**/tables/**", "validation/regenerate.sh", "gallery/figures",
                    "**/.ipynb_checkpoints"]
templates_path = ["_templates"]
html_theme = "alabaster"
html_title = f"tgsim {release}"
html_static_path: list[str] = []

autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# the tutorials run at build time (TGSIM_DOCS_EXECUTE=off skips them for a quick preview)
nb_execution_mode = os.environ.get("TGSIM_DOCS_EXECUTE", "force")
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
# validation reports link their CSV tables, which are not pages of the site
suppress_warnings = ["myst.xref_missing"]


# ----------------------------------------------------------------- API reference
def _write_api_index() -> None:
    """docs/api/index.rst: one autosummary entry (and page) per name in tgsim.__all__."""
    from tgsim import _LAZY, _SUBMODULES

    groups: dict[str, list[str]] = {}
    for name in tgsim.__all__:
        if name in _LAZY:
            module = _LAZY[name].lstrip(".").split(".")[0]
        elif name in _SUBMODULES or inspect.ismodule(getattr(tgsim, name)):
            module = "submodules"
        elif name == "__version__":
            module = "version"
        else:
            module = "errors"
        groups.setdefault(module, []).append(name)
    lines = ["API reference", "=============", "",
             "Every public name of ``tgsim`` (its ``__all__``), grouped by the module that",
             "defines it. Each has its own page built from its numpydoc docstring.", "",
             ".. currentmodule:: tgsim", ""]
    for module, names in groups.items():
        lines += [module, "-" * len(module), "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", ""]
        lines += [f"   {n}" for n in names]
        lines.append("")
    text = "\n".join(lines)
    path = HERE / "api" / "index.rst"
    path.parent.mkdir(parents=True, exist_ok=True)  # a clean checkout has no docs/api yet
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------- gallery
def _write_gallery() -> None:
    """docs/gallery/index.md: every gallery figure, its text and the code that draws it."""
    from studies.gallery import ENTRIES, build_gallery

    out = HERE / "gallery"
    figures = out / "figures"
    if os.environ.get("TGSIM_DOCS_GALLERY", "build") == "build" or not figures.exists():
        import matplotlib

        matplotlib.use("Agg")
        build_gallery(figures, quick=True)
    built = json.loads((figures / "gallery.json").read_text(encoding="utf-8"))
    notes = {e["slug"]: e for e in built["entries"]}
    lines = ["# Gallery", "",
             "Explained teaching figures; `tgsim gallery -o DIR` draws the full-resolution",
             "set. Under each figure, *the code that draws it* shows the function of",
             "`studies.gallery` that made it (drawn here with `quick=True`).", ""]
    for k, entry in enumerate(ENTRIES, 1):
        fn = entry.build
        src = Path(inspect.getsourcefile(fn)).resolve()
        rel = os.path.relpath(src, out)
        lines += [f"## {k}. {entry.title}", ""]
        info = notes.get(entry.slug, {})
        for f in info.get("files", []):
            lines += [f"![{entry.title}](figures/{f})", ""]
        lines += [entry.text.strip(), ""]
        if info.get("notes"):
            lines += ["*In this figure:*", ""] + [f"- {n}" for n in info["notes"]] + [""]
        lines += [f"**The code that draws it** (`{fn.__module__}.{fn.__name__}`):", "",
                  f"```{{literalinclude}} {rel}", ":language: python",
                  f":pyobject: {fn.__name__}", "```", ""]
    text = "\n".join(lines)
    page = out / "index.md"
    if not page.exists() or page.read_text(encoding="utf-8") != text:
        page.write_text(text, encoding="utf-8")


_write_api_index()
_write_gallery()
