"""Docstring examples: every public name of tgsim has one, and they run as doctests.

Every name in ``tgsim.__all__`` (functions, classes, exceptions and the submodules listed
there) has a numpydoc ``Examples`` section with at least one example, none skipped; the
examples of every public name, and of tgsim.web, run and give the output written in them.
Examples that need a long first compilation (a population fit, the tumgr reproduction)
carry the ``+SLOW`` directive: the default run leaves them out, the ``slow`` test runs
them all.

They run in a fresh interpreter: looking up every public name replaces the ``tgsim.fit``
subpackage attribute by the ``fit`` function and the examples emit warnings once, which
would change what later tests in this process see.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r"""
    import doctest, importlib, inspect, os, re, sys
    import matplotlib
    matplotlib.use("Agg")
    import tgsim

    SLOW = doctest.register_optionflag("SLOW")
    run_slow = os.environ.get("TGSIM_DOCTEST_SLOW") == "1"
    objects, seen, problems = [], set(), []
    for name in tgsim.__all__:
        obj = getattr(tgsim, name)
        if isinstance(obj, str) or id(obj) in seen:
            continue
        seen.add(id(obj))
        objects.append((f"tgsim.{name}", obj))
        if not re.search(r"^Examples\n-{8}", inspect.getdoc(obj) or "", re.M):
            problems.append(f"tgsim.{name}: no Examples section")
    for module in ("tgsim.web", "tgsim.web.state"):
        objects.append((module, importlib.import_module(module)))
    finder = doctest.DocTestFinder(recurse=False)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    ran = failed = deferred = 0
    for name, obj in objects:
        module = obj if inspect.ismodule(obj) else inspect.getmodule(obj)
        tests = [t for t in finder.find(obj, name, module=module, globs=dict(vars(module)))
                 if t.examples]
        public = not name.startswith("tgsim.web")  # the explorer's modules: run only
        if public and not tests:
            problems.append(f"{name}: no example in its docstring")
        if public and any(e.options.get(doctest.SKIP) for t in tests for e in t.examples):
            problems.append(f"{name}: an example is skipped (+SKIP); examples must run")
        for test in tests:
            slow = [e for e in test.examples if e.options.get(SLOW)]
            if slow and not run_slow:
                test.examples = [e for e in test.examples if not e.options.get(SLOW)]
                deferred += 1
            if not test.examples:
                continue
            runner = doctest.DocTestRunner(optionflags=flags)
            runner.run(test)
            ran += 1
            failed += runner.failures > 0
    for p in problems:
        print(p)
    print(f"{len(seen)} public objects; {ran} docstrings' examples run, {failed} failed; "
          f"{deferred} with slow examples left to the slow run; {len(problems)} problems")
    sys.exit(1 if failed or problems or ran == 0 else 0)
""")


def _run(slow: bool) -> None:
    env = dict(os.environ, TGSIM_DOCTEST_SLOW="1" if slow else "0")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          timeout=1200, env=env)
    assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
    print(proc.stdout.strip().splitlines()[-1])


def test_every_public_name_has_examples_and_they_run():
    _run(slow=False)


@pytest.mark.slow
def test_slow_examples_run():
    _run(slow=True)
