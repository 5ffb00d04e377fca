r"""Covariate models of :func:`tgsim.fit_population`: the design of the fixed effects.

For subject i the fitting-scale parameters are :math:`\phi_i = X_i\theta + \eta_i`, where
:math:`\theta` stacks the log typical values :math:`\mu_j` and the covariate coefficients
:math:`\beta_{jk}`, and row j of :math:`X_i` holds 1 in the column of :math:`\mu_j` and the
covariate values :math:`c_{ik}` in the columns of :math:`\beta_{jk}`:

.. math:: \log p_{ij} = \mu_j + \sum_k \beta_{jk} c_{ik} + \eta_{ij}.

A covariate is either a name or an expression of names (the whitelist of
:mod:`tgsim.expr`: ``log(weight/25)``, ``age - 60``); its values come from the data
set's per-subject variables or from ``covariate_data``. A name whose values are not
numbers (or are booleans) is *categorical*: one column per level other than the
reference level (the first in sorted order), each an indicator, so that
:math:`e^{\beta}` is the factor on the typical value in that level.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.expr import NUMPY_FUNCTIONS, names_in, parse
from ..errors import TgsimError

__all__ = ["Design", "build_design", "no_covariates"]


@dataclass
class Design:
    """Fixed-effect design: X (subject, p, q) and the labels of the q coefficients."""

    X: np.ndarray           # (N, p, q)
    coef_param: np.ndarray  # (q,) index in 0..p-1 of the parameter each coefficient acts on
    coef_label: tuple[str, ...]  # "" for a typical value, else the covariate term
    is_mu: np.ndarray       # (q,) bool: column of a typical value (intercept)
    categorical: np.ndarray  # (q,) bool: indicator of a category

    @property
    def q(self) -> int:
        return int(self.coef_param.size)

    @property
    def has_covariates(self) -> bool:
        return bool((~self.is_mu).any())

    def mean(self, theta: np.ndarray) -> np.ndarray:
        """Population means X_i theta, (N, p) (theta (q,)) or (R, N, p) (theta (R, q))."""
        return np.einsum("npq,...q->...np", self.X, theta)

    def subset(self, rows: np.ndarray) -> Design:
        return Design(self.X[rows], self.coef_param, self.coef_label, self.is_mu,
                      self.categorical)


def no_covariates(n: int, p: int) -> Design:
    X = np.broadcast_to(np.eye(p), (n, p, p)).copy()
    return Design(X, np.arange(p), ("",) * p, np.ones(p, bool), np.zeros(p, bool))


def _eval(node: ast.AST, env: Mapping[str, np.ndarray]) -> np.ndarray:
    """Evaluate a whitelisted expression tree on arrays (no ``eval``)."""
    if isinstance(node, ast.Expression):
        return _eval(node.body, env)
    if isinstance(node, ast.Constant):
        return np.asarray(float(node.value))
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        ops = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply,
               ast.Div: np.divide, ast.Pow: np.power}
        return ops[type(node.op)](a, b)
    if isinstance(node, ast.Call):
        fn = getattr(np, NUMPY_FUNCTIONS[node.func.id].split(".")[1])
        return fn(*[_eval(a, env) for a in node.args])
    raise TgsimError(f"covariate expression: unsupported element {ast.dump(node)}")


def _lookup(name: str, data: Any, covariate_data: Any, subjects: np.ndarray) -> np.ndarray:
    """Per-subject values of a covariate, in the order of ``subjects``."""
    if covariate_data is not None:
        try:
            col = covariate_data[name]
        except (KeyError, IndexError, TypeError):
            col = None
        if col is not None:
            if hasattr(col, "reindex") and hasattr(col, "index"):  # pandas Series by subject
                idx = [str(s) for s in col.index]
                if set(str(s) for s in subjects) <= set(idx):
                    pos = {s: k for k, s in enumerate(idx)}
                    return np.asarray(col)[[pos[str(s)] for s in subjects]]
            v = np.asarray(col)
            if v.shape != (subjects.size,):
                raise TgsimError(
                    f"`covariate_data`[{name!r}] must hold one value per subject "
                    f"({subjects.size}, in the data's order) or be indexed by subject; got "
                    f"shape {v.shape}")
            return v
    if hasattr(data, "data_vars") and name in data.variables:
        var = data[name]
        if var.dims != ("subject",):
            raise TgsimError(f"`covariates`: data variable {name!r} must have the single "
                             f"dimension 'subject'; it has {var.dims}")
        lab = [str(s) for s in data["subject"].values]
        pos = {s: k for k, s in enumerate(lab)}
        return np.asarray(var.values)[[pos[str(s)] for s in subjects]]
    raise TgsimError(f"`covariates`: no values for {name!r}: give it as a per-subject "
                     "variable of the data set (dimension 'subject') or in "
                     "`covariate_data` (a mapping or DataFrame column, one value per subject)")


def _is_categorical(v: np.ndarray) -> bool:
    return v.dtype.kind in "OUSb"


def _terms(term: str, data: Any, covariate_data: Any, subjects: np.ndarray,
           where: str) -> list[tuple[str, np.ndarray, bool]]:
    """The design columns of one covariate term: [(label, values, categorical)]."""
    if not isinstance(term, str) or not term.strip():
        raise TgsimError(f"{where}: a covariate must be a name or an expression; got {term!r}")
    text = term.strip()
    if text.isidentifier():
        v = _lookup(text, data, covariate_data, subjects)
        if _is_categorical(v):
            v = v.astype(str)
            levels = sorted(set(v.tolist()))
            if len(levels) < 2:
                raise TgsimError(f"{where}: categorical covariate {text!r} has one level "
                                 f"({levels[0]!r}); it cannot have an effect")
            return [(f"{text}={lv} (vs {levels[0]})", (v == lv).astype(float), True)
                    for lv in levels[1:]]
        return [(text, _numeric(text, v, where), False)]
    tree = ast.parse(text, mode="eval")
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} -
                   set(NUMPY_FUNCTIONS))
    node = parse(text, names, where=where)
    env = {}
    for nm in sorted(names_in(node)):
        v = _lookup(nm, data, covariate_data, subjects)
        if _is_categorical(v):
            raise TgsimError(f"{where}: {nm!r} is categorical and cannot enter an "
                             f"expression ({text!r}); name it alone")
        env[nm] = _numeric(nm, v, where)
    with np.errstate(all="ignore"):
        val = np.broadcast_to(_eval(node, env), subjects.shape).astype(float)
    return [(text, _numeric(text, val, where), False)]


def _numeric(label: str, v: np.ndarray, where: str) -> np.ndarray:
    v = np.asarray(v, dtype=float)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise TgsimError(f"{where}: covariate {label!r} is not finite for subject index "
                         f"{int(bad[0])} (value {v[bad[0]]!r}); every subject needs a value")
    return v


def build_design(covariates: Mapping[str, Sequence[str]] | None, *, param_names: Sequence[str],
                 est_index: np.ndarray, data: Any, covariate_data: Any,
                 subjects: np.ndarray) -> Design:
    """The fixed-effect design for the estimated parameters ``est_index`` (card indices)."""
    p = est_index.size
    n = subjects.size
    cols: list[tuple[int, str, np.ndarray, bool]] = []
    for c in range(p):
        cols.append((c, "", np.ones(n), False))
    for key, terms in (covariates or {}).items():
        where = f"`covariates`[{key!r}]"
        if key not in param_names:
            raise TgsimError(f"{where}: not a growth parameter of the model "
                             f"(one of {', '.join(param_names)})")
        j = list(param_names).index(key)
        hit = np.flatnonzero(est_index == j)
        if hit.size == 0:
            raise TgsimError(f"{where}: {key} is fixed; a covariate acts on an estimated "
                             "parameter")
        if isinstance(terms, str):
            terms = [terms]
        for t in terms:
            for label, v, cat in _terms(t, data, covariate_data, subjects, where):
                if np.ptp(v) == 0:
                    raise TgsimError(f"{where}: covariate {label!r} takes one value for "
                                     "every subject; its effect cannot be estimated")
                cols.append((int(hit[0]), label, v, cat))
    q = len(cols)
    X = np.zeros((n, p, q))
    for k, (c, _, v, _) in enumerate(cols):
        X[:, c, k] = v
    return Design(X, np.array([c for c, *_ in cols]), tuple(lb for _, lb, _, _ in cols),
                  np.array([lb == "" for _, lb, _, _ in cols]),
                  np.array([cat for *_, cat in cols]))
