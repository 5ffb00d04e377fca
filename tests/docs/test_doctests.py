"""Docstring examples run as doctests: every public name of tgsim, and tgsim.web.

They run in a fresh interpreter: looking up every public name replaces the ``tgsim.fit``
subpackage attribute by the ``fit`` function and the examples emit warnings once, which
would change what later tests in this process see.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import doctest, importlib, inspect, sys
    import matplotlib
    matplotlib.use("Agg")
    import tgsim

    objects, seen = [], set()
    for name in tgsim.__all__:
        obj = getattr(tgsim, name)
        if isinstance(obj, str) or id(obj) in seen:
            continue
        seen.add(id(obj))
        objects.append((f"tgsim.{name}", obj))
    for module in ("tgsim.web", "tgsim.web.state"):
        objects.append((module, importlib.import_module(module)))
    finder = doctest.DocTestFinder(recurse=False)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    ran = failed = 0
    for name, obj in objects:
        module = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
        for test in finder.find(obj, name, module=module, globs=dict(vars(module))):
            if not test.examples:
                continue
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test)
            ran += 1
            failed += runner.failures > 0
    print(f"{ran} docstrings with examples, {failed} failed")
    sys.exit(1 if failed or ran == 0 else 0)
""")


def test_docstring_examples_run():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    print(proc.stdout.strip().splitlines()[-1])
