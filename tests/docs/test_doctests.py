"""Docstring examples run as doctests: every public name of tgsim, and tgsim.web."""

from __future__ import annotations

import doctest
import importlib
import inspect

import pytest

import tgsim


def _objects():
    seen: set[int] = set()
    out = []
    for name in tgsim.__all__:
        obj = getattr(tgsim, name)
        if isinstance(obj, str) or id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append((f"tgsim.{name}", obj))
    for module in ("tgsim.web", "tgsim.web.state"):
        out.append((module, importlib.import_module(module)))
    return out


def _examples():
    finder = doctest.DocTestFinder(recurse=False)
    cases = []
    for name, obj in _objects():
        module = inspect.getmodule(obj) if not inspect.ismodule(obj) else obj
        globs = dict(vars(module)) if module else {}
        for test in finder.find(obj, name, module=module, globs=globs):
            if test.examples:
                cases.append(test)
    return cases


CASES = _examples()


@pytest.mark.parametrize("test", CASES, ids=[t.name for t in CASES])
def test_docstring_examples(test):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{test.name}: {result.failed} example(s) failed"
