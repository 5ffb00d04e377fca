"""The documentation site builds warning-free, with a page for every public name.

Runs ``sphinx -W`` on docs/ (tutorials executed by MyST-NB, gallery drawn with
``quick=True``) into a temporary folder, then checks the pages that must exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tgsim

pytest.importorskip("sphinx", reason="the docs extra (sphinx) is not installed")
pytest.importorskip("myst_nb", reason="the docs extra (myst-nb) is not installed")
pytest.importorskip("numpydoc", reason="the docs extra (numpydoc) is not installed")

DOCS = Path(__file__).parents[2] / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True, text=True, env=env, timeout=900)
    warnings = [ln for ln in proc.stderr.splitlines() if "IPKernelApp" not in ln]
    assert proc.returncode == 0, "sphinx -W failed:\n" + "\n".join(warnings[-60:])
    return out / "html"


def test_every_public_name_has_a_reference_page(site):
    missing = [n for n in tgsim.__all__
               if not (site / "api" / "generated" / f"tgsim.{n}.html").exists()]
    assert not missing, f"no API page for {missing}"


def test_guide_tutorials_gallery_and_validation_pages(site):
    for page in ("index", "guide/simulate", "guide/treatment", "guide/observe-assess",
                 "guide/fit", "guide/cohorts", "guide/metastasis", "guide/validation",
                 "guide/benchmarks", "guide/explorer", "gallery/index", "tutorials/index",
                 "validation/benzekry2014_lung/report"):
        assert (site / f"{page}.html").exists(), page
    tutorial = (site / "tutorials" / "04_pseudoprogression.html").read_text(encoding="utf-8")
    assert "iUPD" in tutorial  # executed at build time: its output is on the page
    gallery = (site / "gallery" / "index.html").read_text(encoding="utf-8")
    from studies.gallery import ENTRIES

    assert gallery.count('class="highlight-python') >= len(ENTRIES)
    for entry in ENTRIES:  # each figure shows the code that draws it
        assert f"{entry.build.__module__}.{entry.build.__name__}" in gallery, entry.slug
        assert f">{entry.build.__name__}<" in gallery, entry.slug
