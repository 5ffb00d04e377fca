"""The teaching gallery builds in quick mode; its pages name figures that exist."""

from __future__ import annotations

import json
import re

import pytest

from studies.gallery import ENTRIES, Entry, Unavailable, build_gallery, entry_slugs
from tgsim.errors import TgsimError


@pytest.fixture(scope="module")
def quick_gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery")
    return build_gallery(out, quick=True)


def _named_files(text: str, pattern: str) -> list[str]:
    return re.findall(pattern, text)


def test_every_entry_is_drawn(quick_gallery):
    g = quick_gallery
    assert [r.entry.slug for r in g.rendered] == entry_slugs()
    assert len(entry_slugs()) == len(set(entry_slugs())) == 10
    for r in g.rendered:
        assert r.unavailable is None, r.unavailable
        assert r.files == [f"{r.entry.slug}.png"]
        assert r.notes, f"{r.entry.slug}: no computed numbers"
    for f in g.files:
        data = f.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_pages_name_existing_figures(quick_gallery):
    g = quick_gallery
    assert sorted(p.name for p in g.pages) == ["index.html", "index.md"]
    md = (g.outdir / "index.md").read_text(encoding="utf-8")
    html = (g.outdir / "index.html").read_text(encoding="utf-8")
    for text, pattern in ((md, r"!\[[^\]]*\]\(([^)]+)\)"), (html, r'<img src="([^"]+)"')):
        named = _named_files(text, pattern)
        assert sorted(named) == sorted(f"{s}.png" for s in entry_slugs())
        for name in named:
            path = g.outdir / name
            assert path.is_file() and path.stat().st_size > 0
    for e in ENTRIES:  # every text and title is on both pages
        assert e.title in md
        assert f'id="{e.slug}"' in html
        first_words = " ".join(e.text.split()[:6])
        assert first_words in md
    manifest = json.loads((g.outdir / "gallery.json").read_text(encoding="utf-8"))
    assert manifest["quick"] is True
    assert [e["files"] for e in manifest["entries"]] == [[f"{s}.png"] for s in entry_slugs()]
    assert "Quick build" in md


def test_texts_are_complete():
    for e in ENTRIES:
        assert len(e.text.split()) > 80, e.slug
        assert e.references, e.slug
        assert "TODO" not in e.text


def test_unavailable_feature_is_reported_not_drawn(tmp_path, monkeypatch):
    import studies.gallery as gal

    def missing(quick):
        raise Unavailable("tgsim.metastasis is not available (test)")

    fake = Entry("needs-feature", "A figure needing a missing feature", "Text. " * 30,
                 missing, ("Ref.",))
    monkeypatch.setattr(gal, "ENTRIES", (gal.ENTRIES[1], fake))
    g = build_gallery(tmp_path, quick=True)
    assert g.rendered[1].unavailable and not g.rendered[1].files
    md = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert "**Not drawn.**" in md and "tgsim.metastasis is not available" in md
    assert "needs-feature.png" not in md
    assert not (tmp_path / "needs-feature.png").exists()
    assert "Not drawn." in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_options_and_cli(tmp_path, capsys):
    from tgsim.cli import main

    with pytest.raises(TgsimError, match="unknown gallery entries"):
        build_gallery(tmp_path, only=["nope"])
    with pytest.raises(TgsimError, match="formats"):
        build_gallery(tmp_path, formats=["pdf"])
    assert main(["gallery", "-o", str(tmp_path), "--list"]) == 0
    assert "growth-laws" in capsys.readouterr().out
    rc = main(["gallery", "-o", str(tmp_path / "g"), "--quick", "--only", "doubling-time"])
    assert rc == 0
    assert (tmp_path / "g" / "doubling-time.png").stat().st_size > 0
    assert "doubling-time.png" in (tmp_path / "g" / "index.md").read_text(encoding="utf-8")


def test_figures_only_writes_no_pages(tmp_path):
    import os
    import stat

    g = build_gallery(tmp_path, quick=True, only=["growth-laws"], formats=())
    assert g.pages == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["growth-laws.png"]
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE(os.stat(tmp_path / "growth-laws.png").st_mode)
    assert mode == 0o666 & ~umask  # the usual permissions, not the private temporary file's
