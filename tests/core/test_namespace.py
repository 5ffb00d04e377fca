"""The flat public namespace: every name in __all__ resolves; import stays light."""

import subprocess
import sys

import tgsim


def test_every_public_name_resolves():
    for name in tgsim.__all__:
        assert getattr(tgsim, name) is not None, name


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tgsim.nope  # noqa: B018


def test_import_does_not_load_heavy_dependencies():
    code = (
        "import sys, tgsim; heavy = [m for m in ('numba', 'xarray', 'scipy', 'matplotlib', "
        "'pandas') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_type_checking_block_equals_the_lazy_table():
    """Type checkers and IDEs see exactly the names the lazy table serves, from the same
    modules."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(tgsim.__file__).read_text(encoding="utf-8"))
    (block,) = [n for n in tree.body if isinstance(n, ast.If)
                and ast.unparse(n.test) == "TYPE_CHECKING"]
    seen = {}
    for node in block.body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                seen[alias.asname or alias.name] = "." * node.level + node.module
    assert seen == tgsim._LAZY


def test_fit_is_a_plain_function_with_its_signature():
    import inspect

    assert inspect.isfunction(tgsim.fit)
    params = inspect.signature(tgsim.fit).parameters
    assert list(params)[:2] == ["data", "model"] and "error_model" in params


def test_former_paths_and_names_warn_and_still_work():
    import warnings

    import pytest

    with pytest.warns(DeprecationWarning, match="VirtualPopulation"):
        assert tgsim.Population is tgsim.VirtualPopulation
    with pytest.warns(DeprecationWarning, match="ScanProtocol"):
        assert tgsim.Observation is tgsim.ScanProtocol
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "try:\n    from tgsim.fit.population import fit_population\n"
            "except DeprecationWarning as w:\n    print(w)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "tgsim.fitting.saem" in out.stdout, out.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from tgsim.catalogue import model as old_model
        from tgsim.fit.population import fit_population
    assert old_model is tgsim.model and fit_population is tgsim.fit_population
    assert callable(tgsim.fit)  # importing tgsim.fit.<module> leaves the function in place
