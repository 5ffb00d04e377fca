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
