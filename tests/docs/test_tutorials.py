"""The tutorials run: every notebook in docs/tutorials executes, exercises included.

Each notebook is run top to bottom in a fresh Jupyter kernel (nbclient); a cell that
raises fails the test. The hidden solution cells are tagged ``solution`` and run too;
most check their answer with an ``assert``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="the docs extra (nbformat) is not installed")
nbclient = pytest.importorskip("nbclient", reason="the docs extra (nbclient) is not installed")
pytest.importorskip("ipykernel", reason="the docs extra (ipykernel) is not installed")

TUTORIALS = sorted((Path(__file__).parents[2] / "docs" / "tutorials").glob("*.ipynb"))


def test_there_are_tutorials_with_exercises():
    assert len(TUTORIALS) >= 5
    for path in TUTORIALS:
        nb = nbformat.read(path, as_version=4)
        solutions = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
        assert solutions, f"{path.name} has no exercise solution"
        for cell in solutions:  # hidden in Jupyter and on the docs site
            assert cell.metadata.get("jupyter", {}).get("source_hidden") is True
            assert "hide-cell" in cell.metadata["tags"]
        assert any("Exercise" in c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    start = time.perf_counter()
    client.execute()
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
