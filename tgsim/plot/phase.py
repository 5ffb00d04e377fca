r"""Phase plot: the growth rate :math:`dV/dt = g(V)` of each law against the volume.

For a one-state card the right-hand side :math:`g(V)` is a function of the volume only,
so the curve :math:`(V, g(V))` is the whole phase portrait: exponential
:math:`g = rV` (a straight line through 0; on log-log axes of slope 1), logistic
:math:`g = rV(1 - V/K)` (a parabola peaking at :math:`K/2`), Gompertz
:math:`g = rV\ln(K/V)` (peaking at :math:`K/e`). With ``specific=True`` the specific
growth rate :math:`g(V)/V` (1/day) is drawn instead: constant for exponential growth,
falling linearly in :math:`V` for the logistic law and linearly in :math:`\ln V` for
Gompertz.

The card's right-hand side is evaluated with NumPy from its checked expression tree (no
compilation).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import TgsimError
from ._labels import OKABE_ITO, new_axes

_NUMPY = {"exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p,
          "sqrt": np.sqrt, "min": np.minimum, "max": np.maximum, "abs": np.abs}


def _evaluate(node: ast.AST, env: Mapping[str, Any]) -> Any:
    """Evaluate a whitelisted expression tree (see :mod:`tgsim.engine.expr`) on arrays."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _evaluate(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _evaluate(node.left, env), _evaluate(node.right, env)
        op = node.op
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.Div):
            return a / b
        if isinstance(op, ast.Pow):
            return a**b
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _NUMPY[node.func.id](*(_evaluate(x, env) for x in node.args))
    raise TgsimError(f"cannot evaluate expression node {type(node).__name__}")


def growth_rate(model: Any, volumes: Any, params: Mapping[str, float] | None = None
                ) -> np.ndarray:
    """The untreated growth rate :math:`g(V)` (mm³/day) of a one-state card at ``volumes``.

    Parameters
    ----------
    model : str or Model
        A one-state card.
    volumes : array_like
        Volumes (mm³).
    params : mapping, optional
        Parameter values (names or symbols); missing ones take the card defaults.
    """
    from ..engine.catalogue import model as get_model

    mdl = get_model(model)
    if len(mdl.states) != 1:
        raise TgsimError(f"`model` {mdl.name!r} has {len(mdl.states)} states; the phase plot "
                         "needs a one-state card (its growth rate depends on V alone)")
    v = np.asarray(volumes, dtype=np.float64)
    if np.any(~np.isfinite(v)) or np.any(v <= 0):
        raise TgsimError("`volumes` must be finite and > 0 (mm³)")
    values = mdl.defaults()
    for k, x in dict(params or {}).items():
        try:
            values[mdl.parameter(k).name] = float(x)
        except KeyError as exc:
            raise TgsimError(f"`params`: {exc.args[0]}") from None
    env: dict[str, Any] = {}
    for p in mdl.parameters:
        env[p.name] = values[p.name]
        env[p.symbol] = values[p.name]
    env[mdl.states[0]] = v
    tree = mdl._trees[f"rhs.{mdl.states[0]}"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(_evaluate(tree, env), dtype=np.float64)
    return np.broadcast_to(out, v.shape).copy()


def phase_plot(models: Sequence[Any] | Any = ("exponential", "logistic", "gompertz"), *,
               params: Mapping[str, Mapping[str, float]] | None = None,
               volumes: Any = None, specific: bool = False, log: bool = True, ax: Any = None,
               title: str | None = None):
    """Growth rate against volume for several one-state laws.

    Parameters
    ----------
    models : sequence of str or Model
        One-state cards to compare.
    params : mapping, optional
        Card name -> parameter values (missing ones take the card defaults).
    volumes : array_like, optional
        Volumes in mm³ (default 200 log-spaced from 0.1 to 10⁴ mm³).
    specific : bool
        Draw the specific growth rate g(V)/V (1/day) instead of g(V) (mm³/day).
    log : bool
        Logarithmic volume axis (and, for g(V), logarithmic rate axis where positive).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    from ..engine.catalogue import model as get_model

    if isinstance(models, str) or not isinstance(models, Sequence):
        models = [models]
    v = np.geomspace(0.1, 1e4, 200) if volumes is None else np.asarray(volumes, float)
    ax = new_axes(ax)
    for k, m in enumerate(models):
        mdl = get_model(m)
        g = growth_rate(mdl, v, (params or {}).get(mdl.name))
        y = g / v if specific else g
        ax.plot(v, y, color=OKABE_ITO[k % len(OKABE_ITO)], lw=2, label=mdl.title)
    if log:
        ax.set_xscale("log")
        if not specific:
            ax.set_yscale("log")
    ax.set_xlabel("tumour volume V (mm³)")
    ax.set_ylabel("specific growth rate g(V)/V (1/day)" if specific
                  else "growth rate dV/dt (mm³/day)")
    ax.legend(frameon=False, fontsize=8)
    ax.set_title(title if title is not None else
                 ("Specific growth rate against volume" if specific
                  else "Growth rate against volume"))
    return ax
