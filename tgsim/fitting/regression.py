r"""tumgr's ``gdrate``: tumour regression and growth rates per patient (Stein models).

tumgr (Wilkerson, R package 0.0.4) estimates tumour regression and growth rates per
patient with the Stein models, fitted to the tumour quantity normalised by its first
value, :math:`f = y / y_1`, against :math:`t = \text{day} - \text{day}_1 + 1` (days):

=========  ==========================================  ====================
model      :math:`f(t)`                                parameters (bounds)
=========  ==========================================  ====================
``gd``     :math:`e^{-d t} + e^{g t} - 1`               g, d in [0, 1]
``dx``     :math:`e^{-d t}`                             d in [0, 1]
``gx``     :math:`e^{g t}`                              g in [0, 1]
``gdphi``  :math:`(1-\phi) e^{g t} + \phi e^{-d t}`     φ, g, d in [0, 1]
=========  ==========================================  ====================

All by least squares (``minpack.lm::nlsLM``), rates starting at 0.00511 per day and φ at
0.9. A model is eligible when it converged, has more points than parameters and every
parameter has a t-test p value below ``pval`` (0.10); the eligible model with the least
AIC = −2 log L + 2k (k = 2, 1, 1, 3) is selected; a patient with no eligible model is
"not fit". Patients are excluded before fitting when they have one evaluation, two
evaluations whose last/first ratio lies in (0.8, 1.2), or more than two evaluations all
equal. For ``gdphi`` the reported growth rate is :math:`g\sqrt{1-\phi}`.

Here every model is fitted by :func:`tgsim.fit` (additive error, i.e. least squares;
``gd``, ``dx`` and ``gx`` are the ``stein`` card with V0 = 1 and d or g fixed at 0;
``gdphi`` is a small card built from :data:`GDPHI_CARD`). Standard errors are the
least-squares ones (σ² = RSS/(n − p)), as in R's ``summary.nls``, and p values come from
Student's t with n − p degrees of freedom. On the ASCENT-2 control arm this reproduces all
68 selections of ``gdrate(sampleData, 0.10, FALSE)`` of tumgr 0.0.4
(:mod:`studies.validation.tumgr_ascent2` checks it).

References
----------
Stein WD et al. Tumor regression and growth rates determined in five intramural NCI
prostate cancer trials. Clin Cancer Res 2011;17(4):907-917.
Wilkerson J. tumgr: Tumor Growth Rate Analysis, R package 0.0.4 (CRAN 2016).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["GDPHI_CARD", "MODELS", "TumgrResult", "GdrateResult", "gdrate", "gdphi_model"]

#: tumgr's candidate models, in its order, with their number of parameters
MODELS: dict[str, int] = {"gd": 2, "dx": 1, "gx": 1, "gdphi": 3}
_START = 0.00511  # tumgr's start value for every rate (1/day)

#: the gdphi model as a card (two exponentials sharing V0, split by phi)
GDPHI_CARD = '''name = "tumgr_gdphi"
title = "tumgr gdphi model"
description = """
Two-population regression-growth model of tumgr: a fraction phi regresses at rate d and
the rest grows at rate g, V(t) = V0 ((1 - phi) exp(g t) + phi exp(-d t)).
"""
states = ["growing", "regressing"]

[[parameters]]
name = "initial_volume"
symbol = "V0"
unit = "1"
default = 1.0
lower = 1e-12
upper = 1e12
description = "tumour quantity at t0 (1 after tumgr's normalisation)"

[[parameters]]
name = "regressing_fraction"
symbol = "phi"
unit = "1"
default = 0.9
lower = 0.0
upper = 1.0
description = "fraction of the tumour that regresses"

[[parameters]]
name = "growth_rate"
symbol = "g"
unit = "1/day"
default = 0.00511
lower = 0.0
upper = 1.0
description = "growth rate of the growing fraction"

[[parameters]]
name = "decay_rate"
symbol = "d"
unit = "1/day"
default = 0.00511
lower = 0.0
upper = 1.0
description = "decay rate of the regressing fraction"

[initial]
growing = "V0 * (1 - phi)"
regressing = "V0 * phi"

[rhs]
growing = "g * growing"
regressing = "-d * regressing"

[closed_form]
growing = "growing * exp(accel * g * t)"
regressing = "regressing * exp(-accel * d * t)"
'''


def gdphi_model():
    """The ``gdphi`` card as a :class:`~tgsim.Model` (written once to a per-user
    temporary folder, atomically, so it compiles and caches like any user card)."""
    import os
    import tempfile
    from pathlib import Path

    from ..engine.catalogue import load_model

    uid = os.getuid() if hasattr(os, "getuid") else "user"
    folder = Path(tempfile.gettempdir()) / f"tgsim_validation_cards_{uid}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tumgr_gdphi.toml"
    if not path.is_file() or path.read_text(encoding="utf-8") != GDPHI_CARD:
        tmp = folder / f".tumgr_gdphi.{os.getpid()}.toml"
        tmp.write_text(GDPHI_CARD, encoding="utf-8")
        tmp.replace(path)
    return load_model(path)


@dataclass
class TumgrResult:
    """Our run of tumgr's procedure.

    Attributes
    ----------
    results : pandas.DataFrame
        One row per patient: ``name, N, type, selectedFit, g, d, phi`` (rates per day),
        the layout of tumgr's ``results``.
    allest : pandas.DataFrame
        Every converged candidate fit: ``name, fit, parameter, Estimate, StdError,
        t.value, p.value, AIC``.
    fits : dict of str to FitResult
        The four batched fits (rows = analysable patients).
    names : list of str
        Patient names of the rows of ``fits``.
    times, values : ndarray
        Normalised series of those patients (t = day - day_1 + 1, f = y / y_1).
    failed : dict of str to int
        Fits that did not converge, per model, among patients with more points than
        the model has parameters.
    """

    results: Any
    allest: Any
    fits: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)
    times: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    values: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    failed: dict[str, int] = field(default_factory=dict)

    def predict(self, model: str, i: int, t: np.ndarray) -> np.ndarray:
        """Fitted f(t) of analysable patient ``i`` under ``model`` (NaN if it failed)."""
        res = self.fits[model]
        if not res.success[i]:
            return np.full(np.shape(t), np.nan)
        return res.predict(np.asarray(t, float), i)


def _classify(y: np.ndarray) -> str:
    """tumgr's exclusion rule for one series (values in time order)."""
    n = y.size
    if n == 0 or y[0] == 0:
        return "No measurement data"
    if n == 1:
        return "only 1 eval"
    if np.unique(y).size == 1 and n > 2:
        return "error data"
    if n == 2 and 0.8 < y[-1] / y[0] < 1.2:
        return "2 evals not 20% diff"
    return "analyze"


def _pvalues(est: np.ndarray, se: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Two-sided t-test p values; an estimate at 0 (a lower bound) gets p = 1."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
        p = 2.0 * stats.t.sf(np.abs(t), dof[:, None])
    return np.where(est == 0.0, 1.0, p)


def gdrate(data: Any, *, pval: float = 0.10, unit: str | None = None) -> TumgrResult:
    """tumgr's ``gdrate``: regression (d) and growth (g) rates per patient.

    Each patient's series is normalised, f = y / y_1 against t = day - day_1 + 1; the
    four Stein models ``gd``, ``dx``, ``gx`` and ``gdphi`` (module docstring) are fitted by
    least squares; a model is eligible when it converged, has more points than
    parameters and every parameter's t-test p value is below ``pval``; the eligible model
    with the least AIC is selected, else the patient is "not fit". tumgr's exclusion
    rules apply first: one evaluation; two within 20 % of each other; more than two, all
    equal.

    Parameters
    ----------
    data : xarray.Dataset, path or DataFrame
        Serial tumour quantity (e.g. sum of longest diameters) per patient: a series
        Dataset (:func:`tgsim.io.read_series`, :func:`tgsim.datasets.load`), a CSV path or
        a tidy DataFrame. The rates do not depend on the unit (the series are normalised),
        but a file must still state it (``unit=``).
    pval : float
        Significance level every parameter of a model must reach (tumgr's ``pval``).
    unit : str, optional
        Unit of a CSV or DataFrame without one.

    Returns
    -------
    TumgrResult
        ``results`` (one row per patient: ``name, N, type, selectedFit, g, d, phi``, rates
        per day, tumgr's layout), ``allest`` (every eligible-candidate estimate), the fits.

    Examples
    --------
    The first ten patients of the tumgr ASCENT-2 example data:

    >>> import tgsim
    >>> data = tgsim.datasets.load("tumgr_ascent2").isel(subject=slice(0, 10))
    >>> res = tgsim.gdrate(data)                      # doctest: +SLOW
    >>> res.results.selectedFit.value_counts().sort_index().to_dict()  # doctest: +SLOW
    {'dx': 4, 'gd': 2, 'gx': 1, 'not fit': 2, 'only 1 eval': 1}
    """
    import os

    import pandas as pd
    import xarray as xr

    from ..errors import TgsimError
    from .core import fit

    if not (isinstance(pval, float | int) and 0 < pval < 1):
        raise TgsimError(f"`pval` must be in (0, 1); got {pval!r}")
    if isinstance(data, str | os.PathLike):
        from ..io.series import read_series

        data = read_series(data, unit=unit)
    elif isinstance(data, pd.DataFrame):
        from ..io.series import series_from_frame

        data = series_from_frame(data, unit=unit)
    if not isinstance(data, xr.Dataset):
        raise TgsimError(
            f"`data` must be a series Dataset, a CSV path or a DataFrame; got "
            f"{type(data).__name__}"
        )
    for var in ("time", "value", "n_obs"):
        if var not in data.variables:
            raise TgsimError(f"`data`: missing variable {var!r} of the series layout")
    ds = data
    T = np.asarray(ds["time"].values, float)
    Y = np.asarray(ds["value"].values, float)
    n_obs = np.asarray(ds["n_obs"].values, int)
    labels = [str(s).removeprefix("pt") for s in ds["subject"].values]
    kinds = [_classify(Y[i, : n_obs[i]]) for i in range(len(labels))]
    rows = [i for i, k in enumerate(kinds) if k == "analyze"]
    Tn = T[rows] - T[rows, :1] + 1.0
    Yn = Y[rows] / Y[rows, :1]
    n = n_obs[rows]

    base = {"initial_volume": 1.0}
    opts = {"error_model": "additive", "unit": "1", "t0": 0.0}
    specs = {
        "gd": ("stein", {}, {"growth_rate": _START, "decay_rate": _START}),
        "dx": ("stein", {"growth_rate": 0.0}, {"decay_rate": _START}),
        "gx": ("stein", {"decay_rate": 0.0}, {"growth_rate": _START}),
        "gdphi": (gdphi_model(), {}, {"regressing_fraction": 0.9, "growth_rate": _START,
                                      "decay_rate": _START}),
    }
    fits: dict[str, Any] = {}
    aic = np.full((len(rows), len(MODELS)), np.nan)
    eligible = np.zeros((len(rows), len(MODELS)), bool)
    failed: dict[str, int] = {}
    est_rows = []
    for j, (m, k) in enumerate(MODELS.items()):
        card, fixed, start = specs[m]
        res = fit((Tn, Yn), card, fixed={**base, **fixed}, start=start, **opts)
        fits[m] = res
        free = [p for p, f in zip(res.param_names, res.free, strict=True)
                if f and p != "sigma"]
        idx = [res.param_names.index(p) for p in free]
        est = res.estimate[:, idx]
        se = res.stderr[:, idx]
        p = _pvalues(est, se, n - k)
        enough = n > k
        ok = res.success & enough
        failed[m] = int((~res.success & enough).sum())
        aic[ok, j] = res.neg2ll[ok] + 2 * k
        eligible[:, j] = ok & np.all(p < pval, axis=1)
        for i in np.flatnonzero(ok):
            for c, name in enumerate(free):
                est_rows.append({"name": labels[rows[i]], "fit": m, "parameter": name,
                                 "Estimate": est[i, c], "StdError": se[i, c],
                                 "t.value": est[i, c] / se[i, c] if se[i, c] > 0 else np.nan,
                                 "p.value": p[i, c], "AIC": aic[i, j]})

    out = []
    models = list(MODELS)
    for i, lab in enumerate(labels):
        rec = {"name": lab, "N": int(n_obs[i]), "type": "excluded", "selectedFit": kinds[i],
               "g": np.nan, "d": np.nan, "phi": np.nan}
        if kinds[i] == "analyze":
            r = rows.index(i)
            cand = np.where(eligible[r], aic[r], np.inf)
            if np.isfinite(cand).any():
                m = models[int(np.argmin(cand))]
                x = fits[m].param_dict(r)
                rec.update(type="included", selectedFit=m)
                if m in ("gd", "gx", "gdphi"):
                    rec["g"] = x["growth_rate"]
                if m in ("gd", "dx", "gdphi"):
                    rec["d"] = x["decay_rate"]
                if m == "gdphi":
                    rec["phi"] = x["regressing_fraction"]
                    rec["g"] = x["growth_rate"] * np.sqrt(1.0 - x["regressing_fraction"])
            else:
                rec["selectedFit"] = "not fit"
        out.append(rec)
    return TumgrResult(results=pd.DataFrame(out), allest=pd.DataFrame(est_rows), fits=fits,
                       names=[labels[i] for i in rows], times=Tn, values=Yn, failed=failed)


#: the result of :func:`gdrate` (same class, a descriptive name)
GdrateResult = TumgrResult
