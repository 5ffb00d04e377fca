"""The package's layers (ARCHITECTURE.md): who may import whom.

Rules checked on every module of ``tgsim`` (and on ``studies/``, the applications):

1. a module imports only from its own layer or a layer below;
2. never from a private module (``_name``) of another package;
3. never from the top-level ``tgsim`` package (the table of contents), inside the library;
4. ``plot`` is a leaf of the domain layer: no other domain module imports it at module
   level (a result's ``plot()`` method may import it lazily);
5. no function outside ``tgsim/engine/kernels`` is longer than 150 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package (or module) prefix -> layer, longest prefix wins
LAYERS: dict[str, int] = {
    # 1: engine and foundation
    "tgsim.engine": 1, "tgsim.errors": 1, "tgsim.limits": 1, "tgsim.schema": 1,
    "tgsim._version": 1, "tgsim._xarray_compat": 1, "tgsim._deprecation": 1,
    # 2: domain
    "tgsim.treatment": 2, "tgsim.observe": 2, "tgsim.clinical": 2, "tgsim.io": 2,
    "tgsim.datasets": 2, "tgsim.plot": 2, "tgsim.tgi": 2, "tgsim.freeparams": 2,
    # 3: jobs
    "tgsim.simulation": 3, "tgsim.fitting": 3, "tgsim.cohort": 3, "tgsim.metastasis": 3,
    "tgsim.warm": 3,
    # 4: applications
    "tgsim.cli": 4, "tgsim.web": 4, "tgsim.explore": 4, "tgsim.__main__": 4, "studies": 4,
}
NAMES = {1: "engine", 2: "domain", 3: "jobs", 4: "applications"}
MAX_LINES = 150


def _layer(module: str) -> int | None:
    best = None
    for prefix, layer in LAYERS.items():
        if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > len(best[0])):
            best = (prefix, layer)
    return None if best is None else best[1]


def _modules():
    for top in ("tgsim", "studies"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            yield ".".join(parts), is_pkg, path


def _imports(module: str, is_pkg: bool, tree: ast.AST):
    """(target module, imported names, line, lazy) for every import of a tgsim module."""
    package = module if is_pkg else module.rsplit(".", 1)[0]
    top_level = {id(n) for n in getattr(tree, "body", [])}
    cond = {id(n) for n in ast.walk(tree) if isinstance(n, ast.If)
            and "TYPE_CHECKING" in ast.unparse(n.test)}
    type_only = {id(c) for n in ast.walk(tree) if id(n) in cond for c in ast.walk(n)}
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        lazy = id(node) not in top_level
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            if node.module is None or target in ("tgsim",):
                for n in names:  # `from . import x`: x may be a module
                    yield f"{target}.{n}", [], node.lineno, lazy
            else:
                yield target, names, node.lineno, lazy
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno, lazy


def _violations():
    out = []
    for module, is_pkg, path in _modules():
        if module == "tgsim":
            continue  # the table of contents re-exports everything
        src_layer = _layer(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        own_pkg = ".".join(module.split(".")[:2])
        for target, _names, line, lazy in _imports(module, is_pkg, tree):
            if not target.startswith(("tgsim", "studies")):
                continue
            where = f"{path.relative_to(ROOT)}:{line}"
            if target == "tgsim" or target == "tgsim.__version__":
                out.append(f"{where}: imports the top-level tgsim package")
                continue
            tgt_layer = _layer(target)
            if tgt_layer is None:
                out.append(f"{where}: imports {target}, which has no layer")
                continue
            if src_layer is not None and tgt_layer > src_layer:
                out.append(f"{where}: {module} (layer {src_layer}, {NAMES[src_layer]}) imports "
                           f"{target} (layer {tgt_layer}, {NAMES[tgt_layer]})")
            tgt_pkg = ".".join(target.split(".")[:2])
            private = [p for p in target.split(".")[2:] if p.startswith("_")]
            if tgt_pkg != own_pkg and private and target != "tgsim._version":
                out.append(f"{where}: imports the private module {target}")
            if tgt_pkg == "tgsim.plot" and own_pkg != "tgsim.plot" and src_layer == 2 \
                    and not lazy:
                out.append(f"{where}: {module} imports the plot leaf at module level")
    return out


def test_the_four_layers_are_respected(capsys):
    with capsys.disabled():
        by_layer: dict[int, set[str]] = {}
        for module, _, _ in _modules():
            layer = _layer(module)
            if layer is not None:
                by_layer.setdefault(layer, set()).add(".".join(module.split(".")[:2]))
        print()
        for layer in sorted(by_layer, reverse=True):
            print(f"  layer {layer} {NAMES[layer]:<13} {', '.join(sorted(by_layer[layer]))}")
    assert sorted(by_layer) == [1, 2, 3, 4]
    bad = _violations()
    assert not bad, "\n".join(bad)


def test_every_module_has_a_layer():
    missing = [m for m, _, _ in _modules() if m != "tgsim" and _layer(m) is None]
    assert not missing, missing


def test_the_checker_catches_an_upward_import(tmp_path):
    tree = ast.parse("from ..fitting import fit\n")
    found = list(_imports("tgsim.clinical.recist", False, tree))
    assert found[0][0] == "tgsim.fitting"
    assert _layer(found[0][0]) == 3 > _layer("tgsim.clinical.recist")


@pytest.mark.parametrize("top", ["tgsim", "studies"])
def test_no_function_over_150_lines_outside_the_kernels(top):
    long = []
    for path in sorted((ROOT / top).rglob("*.py")):
        if "kernels" in path.relative_to(ROOT).parts[:3] and "engine" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "\n".join(long)
