r"""Residual error models, the log-likelihood and information criteria.

Every fit in :mod:`tgsim.fit` maximises a likelihood of the data on their original scale
(mm^3 unless stated otherwise). With f_i = f(t_i; theta) the model prediction:

``"additive"``
    y_i = f_i + sigma eps_i,  eps_i ~ N(0, 1);  sd_i = sigma (unit of y).
``"proportional"``
    y_i = f_i (1 + sigma eps_i);  sd_i = sigma f_i (sigma dimensionless: the coefficient
    of variation).
``"combined"``
    y_i = f_i + (a + b f_i) eps_i;  sd_i = a + b f_i (Monolix ``combined1``; ``a`` in the
    unit of y, ``b`` dimensionless), reported as ``sigma_additive`` = a and
    ``sigma_proportional`` = b.
``"lognormal"``
    log y_i = log f_i + sigma eps_i: least squares on log values. Its likelihood on the
    original scale carries the Jacobian 1/y_i of the log transform.

For a measured point

.. math:: -2 \log L_i = \log(2\pi\,\mathrm{sd}_i^2) + (y_i - f_i)^2 / \mathrm{sd}_i^2

(for ``"lognormal"``: :math:`\log(2\pi\sigma^2) + (\log y_i - \log f_i)^2/\sigma^2
+ 2\log y_i`), and for a point left-censored at a detection limit L_i (Beal's M3 method)

.. math:: -2 \log L_i = -2 \log \Phi\big((L_i - f_i) / \mathrm{sd}_i\big)

(with log L_i and log f_i under ``"lognormal"``). The error-model parameters are
*estimated* jointly with the growth parameters by maximum likelihood (when no point is
censored, sigma takes its closed-form conditional maximum at every start, so the result
is the same as profiling it out).

Information criteria count **every** estimated parameter, the error-model ones included
(k = free growth parameters + 1 for sigma, + 2 for the combined model):

.. math::

    \mathrm{AIC} = -2\log L + 2k, \qquad
    \mathrm{AICc} = \mathrm{AIC} + \frac{2k(k+1)}{n-k-1}, \qquad
    \mathrm{BIC} = -2\log L + k\log n.

They are *not* 2k - 2 log(SSR) or n log(SSR/n) + 2k with the error parameter left out;
because the likelihood includes its normalising constants and the log-normal Jacobian,
criteria are comparable across error models fitted to the same data.

References
----------
Akaike H. A new look at the statistical model identification. IEEE Trans Autom Control
1974;19:716-723. Hurvich CM, Tsai CL. Regression and time series model selection in
small samples. Biometrika 1989;76:297-307. Schwarz G. Estimating the dimension of a
model. Ann Stat 1978;6:461-464. Beal SL. Ways to fit a PK model with some data below the
quantification limit. J Pharmacokinet Pharmacodyn 2001;28:481-504.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TgsimError

__all__ = [
    "ErrorModel",
    "ERROR_MODELS",
    "error_model",
    "neg2_loglik",
    "aic",
    "aicc",
    "bic",
    "akaike_weights",
]


@dataclass(frozen=True)
class ErrorModel:
    """A residual error model: its kernel code and its parameters.

    Attributes
    ----------
    name : str
        ``"additive"``, ``"proportional"``, ``"combined"`` or ``"lognormal"``.
    code : int
        Value passed to the kernels.
    parameters : tuple of str
        Names of the error parameters as reported.
    log_scale : bool
        The model works on log values (non-positive values cannot be used).
    """

    name: str
    code: int
    parameters: tuple[str, ...]
    log_scale: bool

    def units(self, data_unit: str) -> tuple[str, ...]:
        """Unit of each error parameter given the unit of the data."""
        if self.name == "additive":
            return (data_unit,)
        if self.name == "combined":
            return (data_unit, "1")
        return ("1",)

    @property
    def n_params(self) -> int:
        return len(self.parameters)

    def sd(self, f: np.ndarray, params: np.ndarray) -> np.ndarray:
        """Standard deviation of an observation given the prediction ``f`` (on the log
        scale for ``"lognormal"``); ``params`` in the order of :attr:`parameters`."""
        p = np.asarray(params, dtype=np.float64)
        f = np.asarray(f, dtype=np.float64)
        if self.name == "additive":
            return np.broadcast_to(p[..., 0:1], f.shape) if p.ndim > 1 else np.full_like(f, p[0])
        if self.name == "proportional":
            return (p[..., 0:1] if p.ndim > 1 else p[0]) * f
        if self.name == "combined":
            a = p[..., 0:1] if p.ndim > 1 else p[0]
            b = p[..., 1:2] if p.ndim > 1 else p[1]
            return a + b * f
        return np.broadcast_to(p[..., 0:1], f.shape) if p.ndim > 1 else np.full_like(f, p[0])


ERROR_MODELS: dict[str, ErrorModel] = {
    "additive": ErrorModel("additive", 0, ("sigma",), False),
    "proportional": ErrorModel("proportional", 1, ("sigma",), False),
    "combined": ErrorModel("combined", 2, ("sigma_additive", "sigma_proportional"), False),
    "lognormal": ErrorModel("lognormal", 3, ("sigma",), True),
}


def error_model(name: str | ErrorModel) -> ErrorModel:
    """Return the :class:`ErrorModel` called ``name``."""
    if isinstance(name, ErrorModel):
        return name
    key = str(name).strip().lower().replace("-", "").replace("_", "")
    aliases = {"lognormal": "lognormal", "log": "lognormal", "exponential": "lognormal",
               "constant": "additive", "additive": "additive", "proportional": "proportional",
               "combined": "combined", "combined1": "combined"}
    if key not in aliases:
        raise TgsimError(
            f"`error_model` must be one of {', '.join(map(repr, ERROR_MODELS))}; got {name!r}"
        )
    return ERROR_MODELS[aliases[key]]


def neg2_loglik(y, f, em: str | ErrorModel, params, censored=None) -> float:
    """-2 log L of one series (the formulas of this module), for checks and reporting.

    Parameters
    ----------
    y, f : array_like
        Observations and predictions (same unit); NaN entries are ignored.
    em : str or ErrorModel
    params : array_like
        Error parameters in the order of ``ErrorModel.parameters``.
    censored : array_like of bool, optional
        Left-censored points (``y`` is the detection limit).
    """
    from scipy.special import log_ndtr

    e = error_model(em)
    y = np.asarray(y, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    c = np.zeros(y.shape, bool) if censored is None else np.asarray(censored, bool)
    ok = ~(np.isnan(y) | np.isnan(f))
    y, f, c = y[ok], f[ok], c[ok]
    if e.log_scale:
        yt, ft = np.log(y), np.log(f)
        sd = np.full_like(f, float(np.asarray(params)[0]))
    else:
        yt, ft = y, f
        sd = e.sd(f, np.asarray(params, dtype=np.float64))
    z = (yt - ft) / sd
    out = np.sum(np.log(2 * np.pi * sd[~c] ** 2) + z[~c] ** 2)
    if e.log_scale:
        out += 2.0 * np.sum(yt[~c])
    out += -2.0 * np.sum(log_ndtr(z[c]))
    return float(out)


def aic(neg2ll, k):
    """Akaike's criterion -2 log L + 2k (k counts the error parameters too)."""
    return np.asarray(neg2ll, dtype=np.float64) + 2.0 * np.asarray(k, dtype=np.float64)


def aicc(neg2ll, k, n):
    """Small-sample AIC: AIC + 2k(k+1)/(n-k-1); NaN where n - k - 1 <= 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    den = n - k - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(den > 0, 2.0 * k * (k + 1.0) / np.where(den > 0, den, 1.0), np.nan)
    return aic(neg2ll, k) + corr


def bic(neg2ll, k, n):
    """Schwarz's criterion -2 log L + k log n."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.asarray(neg2ll, dtype=np.float64) + np.asarray(k, dtype=np.float64) * np.log(n)


def akaike_weights(criteria, axis: int = -1) -> np.ndarray:
    """Akaike weights w_m = exp(-Delta_m / 2) / sum exp(-Delta / 2) along ``axis``.

    Delta_m is the difference to the smallest criterion; NaN criteria (failed fits) get
    weight NaN and are left out of the normalisation (all-NaN slices give NaN).

    Examples
    --------
    Criteria 100, 102 and 110: weights proportional to 1, exp(-1) and exp(-5).

    >>> import numpy as np, tgsim
    >>> w = tgsim.akaike_weights([100.0, 102.0, 110.0])
    >>> w.round(4).tolist()
    [0.7275, 0.2676, 0.0049]
    >>> bool(np.isclose(w[1] / w[0], np.exp(-1.0)))
    True
    """
    a = np.asarray(criteria, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        best = np.nanmin(np.where(np.isnan(a), np.inf, a), axis=axis, keepdims=True)
        rel = np.exp(-0.5 * (a - best))
        rel = np.where(np.isnan(a), 0.0, rel)
        tot = rel.sum(axis=axis, keepdims=True)
        w = np.where(tot > 0, rel / np.where(tot > 0, tot, 1.0), np.nan)
    return np.where(np.isnan(a), np.nan, w)
