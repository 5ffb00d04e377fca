"""Common-subexpression elimination in generated card code (tgsim.engine.expr.cse)."""

import ast
import math

import numpy as np
import pytest

import tgsim
from tgsim.engine import expr
from tgsim.engine.compile import _closed_volume_tree

CLOSED = [m for m in tgsim.models() if tgsim.model(m).has_closed_form]


def _evaluate(node: ast.expr, env: dict[str, float]) -> float:
    src = expr.to_source(node)
    return eval(src, {"math": math, "min": min, "max": max, "abs": abs}, dict(env))  # noqa: S307


@pytest.mark.parametrize("name", CLOSED)
def test_cse_keeps_value_and_gradient(name):
    """The CSE'd volume and gradient equal the plain expressions to rounding, and the
    repeated transcendental calls are computed once."""
    mdl = tgsim.model(name)
    vol = _closed_volume_tree(mdl)
    grads = [expr.diff(vol, p.name) for p in mdl.parameters]
    temps, reduced = expr.cse([vol, *grads])
    rng = np.random.default_rng(0)
    for _ in range(20):
        env = {p.name: float(p.default * rng.uniform(0.7, 1.3)) for p in mdl.parameters}
        env["t"] = float(rng.uniform(0.0, 60.0))
        plain = [_evaluate(n, env) for n in [vol, *grads]]
        local = dict(env)
        for tmp, node in temps:
            local[tmp] = _evaluate(node, local)
        fast = [_evaluate(n, local) for n in reduced]
        np.testing.assert_allclose(fast, plain, rtol=1e-13, atol=1e-300)
    src = "\n".join(expr.to_source(n) for _, n in temps) + "\n".join(
        expr.to_source(n) for n in reduced)
    plain_src = "\n".join(expr.to_source(n) for n in [vol, *grads])
    for fn in ("math.exp(", "math.expm1(", "math.log("):
        assert src.count(fn) <= plain_src.count(fn)
    if name == "gompertz":  # 1 log, 1 expm1 and 2 exp instead of 4, 4 and 5
        assert src.count("math.expm1(") == 1 and plain_src.count("math.expm1(") > 1


def test_cse_order_is_dependency_order():
    tree = expr.parse("exp(a*b) + exp(a*b)*log(a*b)", {"a", "b"}, where="test")
    temps, reduced = expr.cse([tree])
    names = [n for n, _ in temps]
    for i, (_, node) in enumerate(temps):
        used = {x.id for x in ast.walk(node) if isinstance(x, ast.Name)}
        assert not (used & set(names[i:]))
    assert len(temps) == 2  # a*b and exp(a*b)
