"""A built wheel ships the model cards as package data (no link to the checkout)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build a wheel from a copy of the sources (the checkout is left untouched)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "tgsim", src / "tgsim", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "models", src / "models", ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if run.returncode != 0 and "setuptools" in run.stderr and "Could not" in run.stderr:
        pytest.skip(f"no build backend available: {run.stderr.strip()[-300:]}")
    assert run.returncode == 0, run.stderr
    (built,) = out.glob("tgsim-*.whl")
    return built


def test_no_symlink_in_the_source_tree():
    links = [p for p in (ROOT / "tgsim").rglob("*") if p.is_symlink()]
    assert links == []


def test_wheel_carries_every_card_as_a_regular_file(wheel: Path):
    cards = sorted(p.name for p in (ROOT / "models").glob("*.toml"))
    assert cards, "the checkout has no cards in models/"
    with zipfile.ZipFile(wheel) as z:
        shipped = {}
        for info in z.infolist():
            if info.filename.startswith("tgsim/models/"):
                mode = info.external_attr >> 16
                assert not stat.S_ISLNK(mode), f"{info.filename} is a link in the wheel"
                shipped[info.filename.rsplit("/", 1)[1]] = z.read(info)
    assert sorted(shipped) == cards
    for name in cards:
        assert shipped[name] == (ROOT / "models" / name).read_bytes(), name


def test_installed_wheel_finds_its_cards(wheel: Path, tmp_path: Path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tgsim, tgsim.engine.catalogue as c;"
        "print(c.builtin_model_dir()); print(','.join(tgsim.models()))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stderr
    where, names = run.stdout.split()
    assert Path(where) == site / "tgsim" / "models"
    assert names.split(",") == sorted(p.stem for p in (ROOT / "models").glob("*.toml"))
