"""The log-state form of a card's right-hand side, for integrating u = log(state).

Tumour states are positive, and the law of most growth models is simplest in log-volume:
the Gompertz rate r V log(K/V) becomes du/dt = r (log K - u), exponential growth becomes
du/dt = r, a power law a V^g becomes a exp((g - 1) u). The integrator can step in u when
that is cheaper: it needs fewer transcendental calls per stage, takes fewer steps (the
solution is smoother in u), and keeps states positive by construction. An error of e in u
is a relative error of e in the state, so the mixed tolerance ``atol + rtol |y|`` becomes
``rtol + atol / y`` on u, the same criterion.

This module derives, symbolically, for each state y_i with growth term g_i(y):

    du_i/dt = g_i(exp(u)) / exp(u_i)

with the state factor cancelled where g_i is a product containing y_i, logs of
exponentials collapsed, and parameter-only subexpressions (``log(K)``) hoisted into
temporaries computed once per subject. :func:`log_form` returns it together with a cost
estimate; :mod:`tgsim.engine.compile` uses the log form only when it is no more expensive per
evaluation than the original.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

from . import expr

__all__ = ["LogForm", "log_form", "cost"]

#: cost, in transcendental-call units, of one evaluation of each function
_CALL_COST = {"exp": 1, "expm1": 1, "log": 1, "log1p": 1, "sqrt": 1, "abs": 0, "min": 0,
              "max": 0}


@dataclass(frozen=True)
class LogForm:
    """Right-hand side in log-states.

    Attributes
    ----------
    rhs : list of ast.expr
        du_i/dt per state, in terms of the state names (holding u = log y), parameter
        names and the temporaries.
    hoisted : list of (name, ast.expr)
        Parameter-only temporaries ``_q0, _q1, ...`` in dependency order.
    cost, linear_cost : int
        Transcendental calls per evaluation in the log form and in the original form (with
        parameter-only parts hoisted in both).
    """

    rhs: list[ast.expr]
    hoisted: list[tuple[str, ast.expr]]
    cost: int
    linear_cost: int

    @property
    def cheaper(self) -> bool:
        """Whether stepping in log-states costs no more per evaluation."""
        return self.cost <= self.linear_cost


def _is_call(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == name)


def _strip_factor(node: ast.expr, name: str) -> ast.expr | None:
    """``node / name`` with the factor cancelled, or None when ``node`` is not a product
    (or sum of products) carrying ``name`` as a factor."""
    if isinstance(node, ast.Name):
        return expr._num(1.0) if node.id == name else None
    if isinstance(node, ast.UnaryOp):
        inner = _strip_factor(node.operand, name)
        return None if inner is None else ast.UnaryOp(node.op, inner)
    if isinstance(node, ast.BinOp):
        a, b = node.left, node.right
        if isinstance(node.op, ast.Mult):
            sa = _strip_factor(a, name)
            if sa is not None:
                return expr._mul(sa, b)
            sb = _strip_factor(b, name)
            return None if sb is None else expr._mul(a, sb)
        if isinstance(node.op, ast.Div):
            sa = _strip_factor(a, name)
            return None if sa is None else expr._div(sa, b)
        if isinstance(node.op, ast.Add | ast.Sub):
            sa, sb = _strip_factor(a, name), _strip_factor(b, name)
            if sa is None or sb is None:
                return None
            return ast.BinOp(sa, node.op, sb)
        if isinstance(node.op, ast.Pow):
            if (isinstance(a, ast.Name) and a.id == name
                    and name not in expr.names_in(b)):
                return ast.BinOp(a, ast.Pow(), expr._sub(b, expr._num(1.0)))
    return None


def _simplify(node: ast.expr) -> ast.expr:
    """Bottom-up rewrites valid for every value where the input is defined: logs of
    exponentials, powers and products of exponentials (exp(x) > 0 always)."""
    if isinstance(node, ast.BinOp):
        a, b = _simplify(node.left), _simplify(node.right)
        op = node.op
        if isinstance(op, ast.Pow) and _is_call(a, "exp"):
            return _simplify(expr._call("exp", expr._mul(a.args[0], b)))  # type: ignore[attr-defined]
        if isinstance(op, ast.Mult) and _is_call(a, "exp") and _is_call(b, "exp"):
            return expr._call("exp", expr._add(a.args[0], b.args[0]))  # type: ignore[attr-defined]
        if isinstance(op, ast.Div) and _is_call(b, "exp"):
            if _is_call(a, "exp"):
                return expr._call("exp", expr._sub(a.args[0], b.args[0]))  # type: ignore[attr-defined]
            neg = ast.UnaryOp(ast.USub(), b.args[0])  # type: ignore[attr-defined]
            return expr._mul(a, expr._call("exp", neg))
        if isinstance(op, ast.Add):
            return expr._add(a, b)
        if isinstance(op, ast.Sub):
            return expr._sub(a, b)
        if isinstance(op, ast.Mult):
            return expr._mul(a, b)
        if isinstance(op, ast.Div):
            return expr._div(a, b)
        return ast.BinOp(a, op, b)
    if isinstance(node, ast.UnaryOp):
        inner = _simplify(node.operand)
        if isinstance(node.op, ast.UAdd):
            return inner
        if isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub):
            return inner.operand
        return ast.UnaryOp(node.op, inner)
    if isinstance(node, ast.Call):
        args = [_simplify(a) for a in node.args]
        if _is_call(node, "log"):
            (x,) = args
            if _is_call(x, "exp"):
                return x.args[0]  # type: ignore[attr-defined]
            if isinstance(x, ast.BinOp) and isinstance(x.op, ast.Mult | ast.Div):
                a, b = x.left, x.right
                # split off a positive exponential factor: log(a e^v) = log(a) + v
                if _is_call(b, "exp"):
                    rest = _simplify(expr._call("log", a))
                    v = b.args[0]  # type: ignore[attr-defined]
                    return expr._add(rest, v) if isinstance(x.op, ast.Mult) else expr._sub(rest, v)
                if _is_call(a, "exp"):
                    v = a.args[0]  # type: ignore[attr-defined]
                    if isinstance(x.op, ast.Mult):
                        return expr._add(v, _simplify(expr._call("log", b)))
                    return expr._sub(v, _simplify(expr._call("log", b)))
        return ast.Call(func=node.func, args=args, keywords=[])
    return node


def cost(trees: Sequence[ast.expr]) -> int:
    """Transcendental calls per evaluation (a power with a non-integer or variable
    exponent counts as two: a log and an exp); shared subtrees are counted once."""
    seen: set[str] = set()
    total = 0
    for tree in trees:
        for n in ast.walk(tree):
            key = ast.dump(n)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                if key not in seen:
                    total += _CALL_COST.get(n.func.id, 1)
            elif isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow):
                e = n.right
                integral = isinstance(e, ast.Constant) and float(e.value) == int(e.value)
                if key not in seen:
                    total += 0 if integral else 2
            seen.add(key)
    return total


def log_form(rhs: Sequence[ast.expr], states: Sequence[str]) -> LogForm:
    """Derive du_i/dt = g_i(exp(u)) / exp(u_i) from the growth terms ``rhs`` (trees over
    state and parameter names, symbols already resolved)."""
    names = set(states)
    to_exp = {s: expr._call("exp", ast.Name(id=s, ctx=ast.Load())) for s in states}
    out = []
    for s, g in zip(states, rhs, strict=True):
        stripped = _strip_factor(expr._copy(g), s)
        if stripped is None:
            stripped = ast.BinOp(expr._copy(g), ast.Div(), ast.Name(id=s, ctx=ast.Load()))
        out.append(_simplify(expr.substitute(stripped, to_exp)))
    hoisted, reduced = expr.hoist(out, names)
    _, linear = expr.hoist(rhs, names)
    return LogForm(rhs=reduced, hoisted=hoisted, cost=cost(reduced), linear_cost=cost(linear))
