"""Whitelisted arithmetic expressions for model cards.

A card's right-hand side, initial state and closed form are written as text, e.g.
``"growth_rate * volume * log(carrying_capacity / volume)"``. This module parses such
text with :mod:`ast` and accepts only

* numbers (int or float literals),
* names from an allowed set (the card's parameters, their symbols, its states, ``t``
  and a few reserved names),
* the operators ``+ - * / **`` and unary ``-``/``+``,
* calls of ``exp expm1 log log1p sqrt min max abs`` with positional arguments.

Anything else — attribute access, subscripts, lambdas, comparisons, strings, keyword
arguments, unknown names or functions — is refused with a :class:`~tgsim.errors.CardError`
naming the card, the field and the offending token. Nothing is ever ``eval``-ed: the
parsed tree is re-emitted as Numba source by :func:`to_source`, and can be differentiated
symbolically by :func:`diff`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence

from ..errors import CardError

__all__ = ["FUNCTIONS", "NUMPY_FUNCTIONS", "parse", "names_in", "to_source", "diff",
           "substitute", "cse"]

#: function name in a card -> the scalar function the generated Numba code calls
FUNCTIONS: dict[str, str] = {
    "exp": "math.exp",
    "expm1": "math.expm1",
    "log": "math.log",
    "log1p": "math.log1p",
    "sqrt": "math.sqrt",
    "min": "min",
    "max": "max",
    "abs": "abs",
}
#: the same functions as NumPy ufuncs (vectorised closed-form evaluation)
NUMPY_FUNCTIONS: dict[str, str] = {
    "exp": "np.exp",
    "expm1": "np.expm1",
    "log": "np.log",
    "log1p": "np.log1p",
    "sqrt": "np.sqrt",
    "min": "np.minimum",
    "max": "np.maximum",
    "abs": "np.abs",
}
_ARITY = {"exp": 1, "expm1": 1, "log1p": 1, "log": 1, "sqrt": 1, "abs": 1, "min": 2, "max": 2}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.USub, ast.UAdd)


def _token(node: ast.AST, text: str) -> str:
    seg = ast.get_source_segment(text, node)
    return seg if seg else type(node).__name__


def _check_expression_size(text: str, where: str) -> None:
    from ..limits import get_limit

    limit = get_limit("expression_chars")
    if len(text) > limit:
        raise CardError(f"{where}: expression has {len(text)} characters, over the limit of "
                        f"{limit} (TGSIM_MAX_EXPRESSION_CHARS); {text[:40]!r}...")


def _check_depth(tree: ast.AST, where: str) -> None:
    """Refuse trees nested deeper than the limit, walking without recursion (the checks,
    derivatives and code generation that follow recurse once per level)."""
    from ..limits import get_limit

    limit = get_limit("expression_depth")
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise CardError(f"{where}: expression nests more than {limit} operations deep "
                            "(TGSIM_MAX_EXPRESSION_DEPTH); split it or simplify it")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def parse(text: object, allowed: Iterable[str], *, where: str) -> ast.expr:
    """Parse ``text`` and check it against the whitelist.

    Parameters
    ----------
    text : str
        The expression.
    allowed : iterable of str
        Names the expression may use.
    where : str
        Where the expression came from, e.g. ``"models/gompertz.toml, [rhs] volume"``;
        it starts every error message.

    Returns
    -------
    ast.expr
        The checked expression tree.

    Raises
    ------
    CardError
        If the text is not a string, does not parse, or uses anything outside the whitelist.
    """
    if not isinstance(text, str) or not text.strip():
        raise CardError(f"{where}: expected a non-empty expression string, got {text!r}")
    _check_expression_size(text, where)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CardError(f"{where}: cannot parse expression {text!r}: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise CardError(f"{where}: expression nests too deeply to parse "
                        f"({len(text)} characters)") from None
    _check_depth(tree, where)
    allowed = set(allowed)
    src = text.strip()

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            check(node.body)
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise CardError(
                    f"{where}: operator {type(node.op).__name__} is not allowed "
                    f"(only + - * / **) in {_token(node, src)!r}"
                )
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                raise CardError(f"{where}: operator in {_token(node, src)!r} is not allowed")
            check(node.operand)
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise CardError(
                    f"{where}: only numeric literals are allowed, got {_token(node, src)!r}"
                )
        elif isinstance(node, ast.Name):
            if node.id not in allowed:
                raise CardError(
                    f"{where}: unknown name {node.id!r}; allowed names are "
                    f"{', '.join(sorted(allowed))}"
                )
        elif isinstance(node, ast.Call):
            fname = node.func.id if isinstance(node.func, ast.Name) else None
            if fname not in FUNCTIONS:
                raise CardError(
                    f"{where}: call of {_token(node.func, src)!r} is not allowed; allowed "
                    f"functions are {', '.join(FUNCTIONS)}"
                )
            if node.keywords:
                raise CardError(f"{where}: keyword arguments are not allowed in {fname}()")
            if len(node.args) != _ARITY[fname]:
                raise CardError(
                    f"{where}: {fname}() takes {_ARITY[fname]} argument(s), got {len(node.args)}"
                )
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise CardError(f"{where}: starred arguments are not allowed")
                check(arg)
        else:
            raise CardError(
                f"{where}: {type(node).__name__} is not allowed in an expression "
                f"(token {_token(node, src)!r})"
            )

    check(tree)
    return tree.body


def names_in(node: ast.AST) -> set[str]:
    """Names used as values (not as called functions) in an expression tree."""
    callees = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in callees}


class _Renamer(ast.NodeTransformer):
    def __init__(self, rename: Mapping[str, str]):
        self.rename = rename

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.rename:
            return ast.copy_location(ast.Name(id=self.rename[node.id], ctx=ast.Load()), node)
        return node


def substitute(node: ast.expr, mapping: Mapping[str, ast.expr]) -> ast.expr:
    """Replace names by expression trees (used to inline initial states)."""

    class _Sub(ast.NodeTransformer):
        def visit_Call(self, n: ast.Call) -> ast.AST:
            n.args = [self.visit(a) for a in n.args]
            return n

        def visit_Name(self, n: ast.Name) -> ast.AST:
            if n.id in mapping:
                return _copy(mapping[n.id])
            return n

    return _Sub().visit(_copy(node))


def _copy(node: ast.expr) -> ast.expr:
    return ast.parse(ast.unparse(node), mode="eval").body


def to_source(
    node: ast.expr,
    rename: Mapping[str, str] | None = None,
    functions: Mapping[str, str] = FUNCTIONS,
) -> str:
    """Emit Numba-compilable Python source for a checked expression.

    Names are mapped through ``rename`` (e.g. a symbol to its parameter name) and the
    whitelisted functions through ``functions``: their :mod:`math` equivalents by
    default, or :data:`NUMPY_FUNCTIONS` for array code. Integer literals become
    floats so that ``2/3`` and ``V**(2/3)`` are float arithmetic.
    """
    tree = _Renamer(rename or {}).visit(_copy(node))

    class _Emit(ast.NodeTransformer):
        def visit_Call(self, n: ast.Call) -> ast.AST:
            n.args = [self.visit(a) for a in n.args]
            fname = n.func.id  # type: ignore[attr-defined]
            n.func = ast.parse(functions[fname], mode="eval").body
            return n

        def visit_Constant(self, n: ast.Constant) -> ast.AST:
            return ast.copy_location(ast.Constant(value=float(n.value)), n)

    return ast.unparse(_Emit().visit(tree))


# --------------------------------------------------------------------------- symbolic d/dx
def _num(v: float) -> ast.expr:
    return ast.Constant(value=float(v))


def _is_num(n: ast.expr, v: float | None = None) -> bool:
    if isinstance(n, ast.Constant) and isinstance(n.value, int | float):
        return v is None or float(n.value) == v
    return False


def _add(a: ast.expr, b: ast.expr) -> ast.expr:
    if _is_num(a, 0.0):
        return b
    if _is_num(b, 0.0):
        return a
    return ast.BinOp(a, ast.Add(), b)


def _sub(a: ast.expr, b: ast.expr) -> ast.expr:
    if _is_num(b, 0.0):
        return a
    if _is_num(a, 0.0):
        return ast.UnaryOp(ast.USub(), b)
    return ast.BinOp(a, ast.Sub(), b)


def _mul(a: ast.expr, b: ast.expr) -> ast.expr:
    if _is_num(a, 0.0) or _is_num(b, 0.0):
        return _num(0.0)
    if _is_num(a, 1.0):
        return b
    if _is_num(b, 1.0):
        return a
    return ast.BinOp(a, ast.Mult(), b)


def _div(a: ast.expr, b: ast.expr) -> ast.expr:
    if _is_num(a, 0.0):
        return _num(0.0)
    if _is_num(b, 1.0):
        return a
    return ast.BinOp(a, ast.Div(), b)


def _call(name: str, *args: ast.expr) -> ast.expr:
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[])


def _pow_minus_one(a: ast.expr, c: ast.expr) -> ast.expr:
    """a^(c-1), written as a^c / a where a != 0 (and as the power itself at a == 0).

    The value a^c is always computed too (it is the function being differentiated), so
    after :func:`cse` this costs a division instead of a second ``pow`` (an exp and a log).
    Integer exponents stay plain powers (the compiler expands them into products).
    """
    plain = ast.BinOp(_copy(a), ast.Pow(), _sub(_copy(c), _num(1.0)))
    if _is_num(c) and float(c.value) == int(c.value):  # type: ignore[attr-defined]
        return plain
    test = ast.Compare(left=_copy(a), ops=[ast.NotEq()], comparators=[_num(0.0)])
    reuse = ast.BinOp(ast.BinOp(_copy(a), ast.Pow(), _copy(c)), ast.Div(), _copy(a))
    return ast.IfExp(test=test, body=reuse, orelse=plain)


def diff(node: ast.expr, var: str) -> ast.expr:
    """Symbolic derivative of a checked expression with respect to the name ``var``.

    Supports everything :func:`parse` accepts; ``min``/``max``/``abs`` are differentiated
    piecewise (the derivative of the active branch). The result is a new tree suitable
    for :func:`to_source`; it is lightly simplified (``0*x``, ``1*x``, ``x+0``).
    """
    if isinstance(node, ast.Constant):
        return _num(0.0)
    if isinstance(node, ast.Name):
        return _num(1.0 if node.id == var else 0.0)
    if isinstance(node, ast.UnaryOp):
        d = diff(node.operand, var)
        if isinstance(node.op, ast.USub):
            return _num(0.0) if _is_num(d, 0.0) else ast.UnaryOp(ast.USub(), d)
        return d
    if isinstance(node, ast.BinOp):
        a, b = node.left, node.right
        da, db = diff(a, var), diff(b, var)
        if isinstance(node.op, ast.Add):
            return _add(da, db)
        if isinstance(node.op, ast.Sub):
            return _sub(da, db)
        if isinstance(node.op, ast.Mult):
            return _add(_mul(da, _copy(b)), _mul(_copy(a), db))
        if isinstance(node.op, ast.Div):
            # (a/b)' = a'/b - a b'/b^2
            return _sub(
                _div(da, _copy(b)),
                _div(_mul(_copy(a), db), ast.BinOp(_copy(b), ast.Pow(), _num(2.0))),
            )
        if isinstance(node.op, ast.Pow):
            if _is_num(db, 0.0):
                # (a^c)' = c a^(c-1) a'
                if _is_num(da, 0.0):
                    return _num(0.0)
                return _mul(_mul(_copy(b), _pow_minus_one(a, b)), da)
            # (a^b)' = a^b (b' log a + b a'/a)
            term = _add(_mul(db, _call("log", _copy(a))), _div(_mul(_copy(b), da), _copy(a)))
            return _mul(_copy(node), term)
    if isinstance(node, ast.Call):
        fname = node.func.id  # type: ignore[attr-defined]
        args = node.args
        if fname in ("min", "max"):
            a, b = args
            cmp = ast.Compare(
                left=_copy(a),
                ops=[ast.LtE() if fname == "min" else ast.GtE()],
                comparators=[_copy(b)],
            )
            return ast.IfExp(test=cmp, body=diff(a, var), orelse=diff(b, var))
        (a,) = args
        da = diff(a, var)
        if _is_num(da, 0.0):
            return _num(0.0)
        if fname == "exp":
            return _mul(_copy(node), da)
        if fname == "expm1":
            return _mul(_call("exp", _copy(a)), da)
        if fname == "log":
            return _div(da, _copy(a))
        if fname == "log1p":
            return _div(da, _add(_num(1.0), _copy(a)))
        if fname == "sqrt":
            return _div(da, _mul(_num(2.0), _copy(node)))
        if fname == "abs":
            test = ast.Compare(left=_copy(a), ops=[ast.GtE()], comparators=[_num(0.0)])
            return ast.IfExp(test=test, body=da, orelse=ast.UnaryOp(ast.USub(), _copy(da)))
    raise CardError(f"cannot differentiate {ast.unparse(node)!r}")  # pragma: no cover


# --------------------------------------------------------------------------- common subexpressions
def hoist(trees: Sequence[ast.expr], variables: set[str], prefix: str = "_q"
          ) -> tuple[list[tuple[str, ast.expr]], list[ast.expr]]:
    """Replace the maximal subtrees free of ``variables`` that cost something (a call, a
    power or a division) by temporaries ``{prefix}0, {prefix}1, ...`` (shared when
    identical), so that they can be computed once outside a loop over the variables.

    Returns the hoisted ``(name, tree)`` pairs and the rewritten ``trees``.
    """
    hoisted: list[tuple[str, ast.expr]] = []
    memo: dict[str, str] = {}

    def worth(n: ast.expr) -> bool:
        return any(isinstance(m, ast.Call) or (isinstance(m, ast.BinOp)
                                                and isinstance(m.op, ast.Pow | ast.Div))
                   for m in ast.walk(n))

    def visit(n: ast.expr) -> ast.expr:
        if not (names_in(n) & variables) and worth(n) and not isinstance(n, ast.Constant):
            key = ast.dump(n)
            if key not in memo:
                memo[key] = f"{prefix}{len(hoisted)}"
                hoisted.append((memo[key], n))
            return ast.Name(id=memo[key], ctx=ast.Load())
        if isinstance(n, ast.BinOp):
            return ast.BinOp(visit(n.left), n.op, visit(n.right))
        if isinstance(n, ast.UnaryOp):
            return ast.UnaryOp(n.op, visit(n.operand))
        if isinstance(n, ast.Call):
            return ast.Call(func=n.func, args=[visit(a) for a in n.args], keywords=[])
        # a conditional is left whole: its branches may not be evaluable everywhere
        return n

    return hoisted, [visit(_copy(t)) for t in trees]


def share_expm1(trees: Sequence[ast.expr]) -> list[ast.expr]:
    """Rewrite ``exp(x)`` as ``expm1(x) + 1`` wherever ``expm1(x)`` of the same ``x`` also
    occurs in ``trees`` (one library call instead of two once common subexpressions are
    merged). The absolute error stays at rounding level; symbolic derivatives of closed
    forms written with ``expm1`` produce such pairs."""
    args: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "expm1" and len(node.args) == 1):
                args.add(ast.dump(node.args[0]))
    if not args:
        return [_copy(t) for t in trees]

    class _Swap(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            if (isinstance(node.func, ast.Name) and node.func.id == "exp"
                    and len(node.args) == 1 and ast.dump(node.args[0]) in args):
                return ast.BinOp(_call("expm1", node.args[0]), ast.Add(), _num(1.0))
            return node

    return [_Swap().visit(_copy(t)) for t in trees]


def cse(trees: Sequence[ast.expr], prefix: str = "_c") -> tuple[list[tuple[str, ast.expr]],
                                                                list[ast.expr]]:
    """Common-subexpression elimination over several expression trees.

    Every call or arithmetic subtree that occurs more than once (across all ``trees``) is
    computed once into a temporary named ``{prefix}0, {prefix}1, ...``; one that occurs
    only inside the branches of conditionals stays there (it may not be needed at all). Symbolic
    derivatives repeat the same ``exp``/``log`` terms many times; compilers cannot merge
    repeated calls of library functions such as ``expm1``, so this is done here.

    Returns
    -------
    assignments : list of (name, tree)
        In dependency order (a temporary only uses earlier ones).
    reduced : list of trees
        ``trees`` rewritten to use the temporaries.
    """
    counts: dict[str, int] = {}
    outside: set[str] = set()  # occurs outside the branches of a conditional

    def count(node: ast.AST, in_branch: bool) -> None:
        if isinstance(node, ast.Call | ast.BinOp | ast.UnaryOp):
            key = ast.dump(node)
            counts[key] = counts.get(key, 0) + 1
            if not in_branch:
                outside.add(key)
        if isinstance(node, ast.IfExp):
            count(node.test, in_branch)
            count(node.body, True)
            count(node.orelse, True)
            return
        for child in ast.iter_child_nodes(node):
            count(child, in_branch)

    for tree in trees:
        count(tree, False)
    memo: dict[str, str] = {}
    assignments: list[tuple[str, ast.expr]] = []

    def rewrite(node: ast.expr) -> ast.expr:
        key = ast.dump(node)
        if key in memo:
            return ast.Name(id=memo[key], ctx=ast.Load())
        if isinstance(node, ast.Call):
            new: ast.expr = ast.Call(func=node.func, args=[rewrite(a) for a in node.args],
                                     keywords=[])
        elif isinstance(node, ast.BinOp):
            new = ast.BinOp(rewrite(node.left), node.op, rewrite(node.right))
        elif isinstance(node, ast.UnaryOp):
            new = ast.UnaryOp(node.op, rewrite(node.operand))
        elif isinstance(node, ast.IfExp):
            return ast.IfExp(test=rewrite(node.test), body=rewrite(node.body),
                             orelse=rewrite(node.orelse))
        elif isinstance(node, ast.Compare):
            return ast.Compare(left=rewrite(node.left), ops=node.ops,
                               comparators=[rewrite(c) for c in node.comparators])
        else:
            return node
        if counts.get(key, 0) > 1 and key in outside:  # never hoist out of a branch only
            name = f"{prefix}{len(assignments)}"
            assignments.append((name, new))
            memo[key] = name
            return ast.Name(id=name, ctx=ast.Load())
        return new

    reduced = [rewrite(_copy(t)) for t in trees]
    return assignments, reduced
