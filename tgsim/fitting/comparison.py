r"""Model comparison: several growth laws fitted to the same series.

For every subject and model, :func:`compare` reports -2 log L, AIC, AICc and BIC (k counts
the error parameters; see :mod:`tgsim.fitting.likelihood`), the Akaike weights

.. math:: w_m = \frac{\exp(-\Delta_m/2)}{\sum_{m'} \exp(-\Delta_{m'}/2)},
          \qquad \Delta_m = \mathrm{AIC}_m - \min_{m'} \mathrm{AIC}_{m'},

(computed on AICc when ``criterion="aicc"``), and the residual standard error. Overall, per
model: the number of failed fits (counted, never dropped silently), criteria summed over
the subjects where **every** model converged (so the sums compare like with like), the mean
Akaike weight and how often the model ranks first.

References
----------
Burnham KP, Anderson DR. Model Selection and Multimodel Inference, 2nd ed. Springer 2002.
Benzekry S et al. Classical mathematical models for description and prediction of
experimental tumor growth. PLoS Comput Biol 2014;10:e1003800.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import TgsimError
from .core import fit
from .likelihood import akaike_weights
from .result import FitResult

__all__ = ["compare", "Comparison"]

_CRITERIA = ("aic", "aicc", "bic")


@dataclass
class Comparison:
    """Result of :func:`compare`.

    Attributes
    ----------
    models : tuple of str
        Model names, in the order given.
    fits : dict of str to FitResult
        The individual fits.
    criterion : str
        Criterion used for weights and ranks (``"aic"``, ``"aicc"`` or ``"bic"``).
    subjects : ndarray
    neg2ll, aic, aicc, bic, weight, resid_se : ndarray, (subject, model)
        Per-subject values (NaN where the fit failed); ``resid_se`` is the residual
        standard error (sigma with n - p degrees of freedom), not to be confused with the
        relative standard error of an estimate (RSE %, ``rse_pct``). The old name ``rse``
        still works with a :class:`DeprecationWarning`.
    rank : ndarray, (subject, model)
        1 = best by ``criterion`` among the models that converged for that subject.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))
    >>> c = tgsim.compare((t, y), ["exponential", "gompertz"], unit="mm^3")
    >>> c.models, c.weight.round(3).tolist()
    (('exponential', 'gompertz'), [[0.0, 1.0]])
    >>> print(c.summary())                            # doctest: +ELLIPSIS
    model comparison on 1 subject(s), criterion AIC (k includes the error parameters)
    ...
    """

    models: tuple[str, ...]
    fits: dict[str, FitResult]
    criterion: str
    subjects: np.ndarray
    neg2ll: np.ndarray
    aic: np.ndarray
    aicc: np.ndarray
    bic: np.ndarray
    weight: np.ndarray
    resid_se: np.ndarray
    rank: np.ndarray
    k: np.ndarray

    @property
    def rse(self) -> np.ndarray:
        """Deprecated name of :attr:`resid_se` (residual standard error)."""
        import warnings

        warnings.warn("Comparison.rse is now Comparison.resid_se (residual standard error)",
                      DeprecationWarning, stacklevel=2)
        return self.resid_se

    @property
    def rse_pct(self) -> np.ndarray:
        """Median relative standard error (%) of each fit's free growth parameters,
        (subject, model); NaN where the fit failed."""
        out = np.full(self.aic.shape, np.nan)
        for m, name in enumerate(self.models):
            f = self.fits[name]
            npg = len(f.growth_names)
            cols = np.flatnonzero(f.free[:npg])
            if cols.size:
                r = np.where(np.isfinite(f.rse[:, cols]), f.rse[:, cols], np.inf)
                med = np.median(r, axis=1)  # an undetermined s.e. counts as +inf
                out[:, m] = np.where(f.success & np.isfinite(med), med, np.nan)
        return out

    def delta(self) -> np.ndarray:
        """Delta of the summed criterion per model: sum over the subjects where every
        model converged minus the smallest such sum (0 for the best model). The one
        definition of delta used by :meth:`table`, :meth:`summary` and :meth:`plot`."""
        crit = getattr(self, self.criterion)
        c = self.complete
        if not c.any():
            return np.full(len(self.models), np.nan)
        tot = np.sum(crit[c], axis=0)
        return tot - np.min(tot)

    @property
    def n_failed(self) -> np.ndarray:
        """Failed fits per model."""
        return np.array([int((~self.fits[m].success).sum()) for m in self.models])

    @property
    def complete(self) -> np.ndarray:
        """Subjects where every model converged."""
        return np.all(np.isfinite(self.aic), axis=1)

    def table(self):
        """Overall table (one row per model) as a DataFrame, best first by the summed
        criterion over complete subjects; ``delta_<criterion>`` is :meth:`delta`,
        ``median_resid_se`` the median residual standard error and ``median_rse_pct`` the
        median relative standard error (%) of the growth parameters."""
        import pandas as pd

        c = self.complete
        crit = getattr(self, self.criterion)
        with np.errstate(invalid="ignore"):
            rows = {
                "model": list(self.models),
                "k": self.k,
                "n_failed": self.n_failed,
                "n_subjects": np.full(len(self.models), self.subjects.size),
                f"sum_{self.criterion}": np.sum(crit[c], axis=0) if c.any()
                else np.full(len(self.models), np.nan),
                "sum_aic": np.sum(self.aic[c], axis=0) if c.any() else np.nan,
                "sum_bic": np.sum(self.bic[c], axis=0) if c.any() else np.nan,
                f"delta_{self.criterion}": self.delta(),
                "mean_weight": np.nanmean(self.weight, axis=0),
                "n_best": np.sum(self.rank == 1, axis=0),
                "median_resid_se": np.nanmedian(self.resid_se, axis=0),
                "median_rse_pct": np.nanmedian(self.rse_pct, axis=0),
            }
        df = pd.DataFrame(rows)
        return df.sort_values(f"sum_{self.criterion}", kind="stable").reset_index(drop=True)

    def best(self) -> np.ndarray:
        """Best model name per subject (empty string where no model converged)."""
        crit = getattr(self, self.criterion)
        out = np.full(self.subjects.size, "", dtype=object)
        ok = np.isfinite(crit).any(axis=1)
        out[ok] = np.asarray(self.models, dtype=object)[np.nanargmin(crit[ok], axis=1)]
        return out

    def plot(self, subject: Any = None, ax: Any = None):
        """The comparison of the cohort, or of one named subject; returns the Axes.

        With ``subject=None`` (default): per model, the distribution over subjects of the
        per-subject delta (criterion minus that subject's best) as a box with points,
        each model labelled with the delta of the summed criterion and the mean Akaike
        weight, the numbers of :meth:`table` (same definition, :meth:`delta`). With a
        subject label (or position): that subject's Akaike weights
        (:func:`tgsim.plot.model_comparison`), titled with the subject.
        """
        from ..plot import model_comparison

        crit_all = getattr(self, self.criterion)
        name = self.criterion.upper()
        if subject is not None:
            labels = self.subjects.tolist()
            row = labels.index(subject) if subject in labels else int(subject)
            return model_comparison(dict(zip(self.models, crit_all[row], strict=True)),
                                    criterion=name, ax=ax,
                                    title=f"subject {self.subjects[row]}: {name} weights")
        from ..plot import new_axes

        ax = new_axes(ax, figsize=(6.4, max(2.4, 0.5 * len(self.models) + 1.4)))
        with np.errstate(invalid="ignore"):
            per = crit_all - np.nanmin(crit_all, axis=1, keepdims=True)
        delta = self.delta()
        mean_w = np.nanmean(self.weight, axis=0)
        pos = np.arange(len(self.models))
        data = [per[np.isfinite(per[:, m]), m] for m in pos]
        ax.boxplot([d if d.size else [np.nan] for d in data], positions=pos,
                   orientation="horizontal",
                   widths=0.5, showfliers=False)
        for m in pos:
            ax.plot(data[m], np.full(data[m].size, m), "o", ms=3, alpha=0.5, color="0.3")
        ax.set_yticks(pos)
        ax.set_yticklabels([f"{mdl}\nΔΣ{name} = {d:.1f}, mean w = {w:.2f}"
                            for mdl, d, w in zip(self.models, delta, mean_w, strict=True)],
                           fontsize="small")
        ax.set_xlabel(f"per-subject Δ{name} (from each subject's best model)")
        ax.set_title(f"cohort: {self.subjects.size} subjects; ΔΣ{name} over the "
                     f"{int(self.complete.sum())} where every model converged",
                     fontsize="small")
        return ax

    def summary(self) -> str:
        """Ranking table with failed-fit counts and the conventions used."""
        df = self.table()
        c = int(self.complete.sum())
        lines = [
            f"model comparison on {self.subjects.size} subject(s), criterion "
            f"{self.criterion.upper()} (k includes the error parameters)",
            f"sums over the {c} subject(s) where every model converged; failed fits are "
            "counted, not dropped",
            "",
            f"{'model':<20} {'k':>2} {'failed':>7} {'sum ' + self.criterion.upper():>13} "
            f"{'delta':>8} {'sum BIC':>12} {'mean w':>7} {'best in':>8} {'resid se':>9} "
            f"{'RSE %':>7}",
        ]
        for _, r in df.iterrows():
            lines.append(
                f"{r['model']:<20} {int(r['k']):>2} {int(r['n_failed']):>7} "
                f"{r[f'sum_{self.criterion}']:>13.2f} {r[f'delta_{self.criterion}']:>8.2f} "
                f"{r['sum_bic']:>12.2f} {r['mean_weight']:>7.3f} {int(r['n_best']):>8} "
                f"{r['median_resid_se']:>9.4g} {r['median_rse_pct']:>7.3g}"
            )
        lines.append("")
        lines.append("delta = sum minus the best sum; w = Akaike weight (per subject, averaged); "
                     "resid se = residual standard error (sigma with n - p d.f.); RSE % = "
                     "median relative standard error of the growth parameters")
        for m in self.models:
            fr = self.fits[m]
            if (~fr.success).any():
                codes, counts = np.unique(fr.status[~fr.success], return_counts=True)
                why = ", ".join(f"{cnt} {fr.message[int(np.flatnonzero(fr.status == c)[0])]}"
                                for c, cnt in zip(codes, counts, strict=True))
                lines.append(f"{m}: failed fits: {why}")
        return "\n".join(lines)

    def to_dataset(self):
        """Per-subject and per-model criteria as an :class:`xarray.Dataset` (dims
        ``subject, model``), with ``n_failed(model)`` and ``k(model)``."""
        import xarray as xr

        dims = ("subject", "model")
        return xr.Dataset(
            {
                "neg2ll": (dims, self.neg2ll, {"long_name": "-2 log-likelihood"}),
                "aic": (dims, self.aic, {"long_name": "AIC"}),
                "aicc": (dims, self.aicc, {"long_name": "AICc"}),
                "bic": (dims, self.bic, {"long_name": "BIC"}),
                "weight": (dims, self.weight,
                           {"long_name": f"Akaike weight ({self.criterion.upper()})"}),
                "rank": (dims, self.rank, {"long_name": "rank (1 = best)"}),
                "resid_se": (dims, self.resid_se, {"long_name": "residual standard error"}),
                "rse_pct": (dims, self.rse_pct,
                            {"long_name": "median relative standard error of the growth "
                                          "parameters", "units": "%"}),
                "n_failed": (("model",), self.n_failed),
                "k": (("model",), self.k, {"long_name": "estimated parameters"}),
            },
            coords={"subject": self.subjects, "model": list(self.models)},
            attrs={"criterion": self.criterion,
                   "error_model": next(iter(self.fits.values())).error_model.name},
        )

    def __repr__(self) -> str:
        return f"<tgsim.Comparison models={list(self.models)} subjects={self.subjects.size}>"


def compare(
    data: Any,
    models: Sequence[str | Model] = ("exponential", "logistic", "gompertz", "von_bertalanffy",
                                     "power_law"),
    *,
    criterion: str = "aic",
    fixed: dict[str, dict[str, Any]] | None = None,
    **fit_kwargs: Any,
) -> Comparison:
    """Fit several growth laws to the same data and compare them.

    Parameters
    ----------
    data
        Anything :func:`tgsim.fit` accepts.
    models : sequence of str or Model
        Cards to compare (default: the five classical untreated laws).
    criterion : {"aic", "aicc", "bic"}
        Criterion for the Akaike weights and ranks.
    fixed : dict, optional
        Per-model fixed parameters, ``{"gompertz": {"initial_volume": 1.0}}``.
    **fit_kwargs
        Passed to :func:`tgsim.fit` for every model (``error_model``, ``t0``, ...).

    Returns
    -------
    Comparison
        With ``summary()``, ``table()``, ``best()``, ``to_dataset()`` and the fits.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> y = 2000 * (50 / 2000) ** np.exp(-0.1 * t) * (1 + 0.05 * np.sin(t))   # Gompertz
    >>> c = tgsim.compare((t, y), ["exponential", "gompertz"], unit="mm^3")
    >>> c.best().tolist()                             # the best model of each subject
    ['gompertz']
    """
    if criterion not in _CRITERIA:
        raise TgsimError(f"`criterion` must be one of {', '.join(_CRITERIA)}; got {criterion!r}")
    mdls = [get_model(m) for m in models]
    names = tuple(m.name for m in mdls)
    if len(set(names)) != len(names) or not names:
        raise TgsimError(f"`models` must be non-empty and without repeats; got {list(names)}")
    for key in fixed or {}:
        if key not in names:
            raise TgsimError(f"`fixed` names model {key!r}, which is not among {list(names)}")
    fits = {}
    for m in mdls:
        fits[m.name] = fit(data, m, fixed=(fixed or {}).get(m.name), **fit_kwargs)
    first = fits[names[0]]
    subjects = first.subjects
    stack = {c: np.stack([getattr(fits[n], c) for n in names], axis=1)
             for c in ("neg2ll", "aic", "aicc", "bic")}
    resid_se = np.stack([fits[n].residual_standard_error for n in names], axis=1)
    crit = stack[criterion]
    weight = akaike_weights(crit, axis=1)
    order = np.argsort(np.where(np.isnan(crit), np.inf, crit), axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, len(names) + 1)[None, :].repeat(len(subjects), 0),
                      axis=1)
    rank = np.where(np.isnan(crit), 0, rank)
    return Comparison(
        models=names, fits=fits, criterion=criterion, subjects=subjects,
        neg2ll=stack["neg2ll"], aic=stack["aic"], aicc=stack["aicc"], bic=stack["bic"],
        weight=weight, resid_se=resid_se, rank=rank, k=np.array([fits[n].k for n in names]),
    )
