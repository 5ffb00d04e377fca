"""Result of :func:`tgsim.sample`: draws, ArviZ container, diagnostics and forecasts."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...engine.catalogue import Model
from ...errors import TgsimError
from ..data import SeriesBatch
from ..likelihood import ErrorModel
from . import engine
from .priors import Prior

__all__ = ["SampleResult", "require_arviz"]

#: the ArviZ major version this module is written against (InferenceData)
ARVIZ_MAJOR = 0
#: flagged as not identified when the posterior sd of the sampled coordinate is above this
#: fraction of its prior sd (little learnt from the data)
IDENTIFIED_MAX_SD_RATIO = 0.5
CELL_VOLUME = 1e-6


def require_arviz() -> Any:
    """Import ArviZ (the ``bayes`` extra) or say how to install it."""
    try:
        import arviz as az
    except ImportError:  # pragma: no cover - depends on the environment
        raise TgsimError("this needs ArviZ: pip install 'tgsim[bayes]'") from None
    major = int(az.__version__.split(".")[0])
    if major != ARVIZ_MAJOR:  # pragma: no cover - depends on the environment
        raise TgsimError(f"tgsim's sampler results are written for ArviZ {ARVIZ_MAJOR}.x "
                         f"(InferenceData); found {az.__version__}: pip install 'tgsim[bayes]'")
    return az


@dataclass
class SampleResult:
    """Posterior draws of every subject (see :func:`tgsim.sample`).

    Attributes
    ----------
    model : Model
    error_model : ErrorModel
    subjects : ndarray
    param_names : tuple of str
        The card's parameters, then ``"sigma"``.
    units : dict
        Unit of each parameter.
    draws : ndarray, (chain, draw, subject, param)
        Natural-scale draws (fixed parameters repeat their value).
    stats : ndarray, (chain, draw, subject, stat)
        Sample statistics, named by :data:`tgsim.fitting.bayes.engine.STAT_NAMES`.
    data : SeriesBatch
        The data as sampled.
    priors : dict of Prior
        Priors of the sampled parameters.
    prior_text : str
        The priors as printed.
    fixed : list of str
        Parameters held fixed.
    options : dict
        Sampler settings.
    population : Dataset or None
        Population parameters of the hierarchical model (:func:`sample_population`).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> t = np.arange(0.0, 30.0, 3.0)
    >>> res = tgsim.sample((t, 50 * np.exp(0.1 * t) * np.exp(0.05 * np.sin(t))),
    ...                    "exponential", draws=200, warmup=200, quiet=True)  # doctest: +SLOW
    >>> res.draws.shape                                                      # doctest: +SLOW
    (4, 200, 1, 3)
    """

    model: Model
    error_model: ErrorModel
    subjects: np.ndarray
    param_names: tuple[str, ...]
    units: dict[str, str]
    draws: np.ndarray
    stats: np.ndarray
    data: SeriesBatch
    priors: dict[str, Prior]
    prior_text: str
    fixed: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    population: Any = None
    _target: Any = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_chains(cls, mdl: Model, em: ErrorModel, batch: SeriesBatch, ch: engine.Chains,
                    chains: int, priors: dict[str, Prior], text: str, units: dict[str, str],
                    fixed: list[str], options: dict[str, Any]) -> SampleResult:
        n = batch.n
        K = ch.OUT.shape[2]
        out = ch.OUT.reshape(n, chains, ch.draws, K).transpose(1, 2, 0, 3)
        st = ch.ST.reshape(n, chains, ch.draws, engine.N_STATS).transpose(1, 2, 0, 3)
        names = (*[p.name for p in mdl.parameters], "sigma")
        return cls(mdl, em, np.asarray(batch.subjects), names, units,
                   np.ascontiguousarray(out), np.ascontiguousarray(st), batch, priors, text,
                   fixed, options)

    # ------------------------------------------------------------------ containers
    @property
    def n_subjects(self) -> int:
        return int(self.draws.shape[2])

    @property
    def posterior(self):
        """Draws as an ``xarray.Dataset``: one variable per parameter, dims
        (chain, draw, subject), ``units`` in attrs."""
        import xarray as xr

        coords = self._coords()
        return xr.Dataset(
            {name: (("chain", "draw", "subject"), self.draws[..., j],
                    {"units": self.units[name], "long_name": name.replace("_", " ")})
             for j, name in enumerate(self.param_names)},
            coords=coords, attrs=self._attrs())

    @property
    def sample_stats(self):
        """Sample statistics (ArviZ names; ``diverging`` boolean), dims (chain, draw,
        subject)."""
        import xarray as xr

        data = {}
        for k, name in enumerate(engine.STAT_NAMES):
            v = self.stats[..., k]
            if name == "diverging":
                v = v > 0.5
            elif name in ("tree_depth", "n_steps"):
                v = v.astype(np.int64)
            data[name] = (("chain", "draw", "subject"), v)
        ds = xr.Dataset(data, coords=self._coords(), attrs=self._attrs())
        ds["step_size"].attrs["units"] = "1 (unconstrained coordinates)"
        return ds

    def _coords(self) -> dict[str, Any]:
        c, d = self.draws.shape[:2]
        return {"chain": np.arange(c), "draw": np.arange(d), "subject": self.subjects}

    def _attrs(self) -> dict[str, Any]:
        return {"model": self.model.name, "card_hash": self.model.card_hash,
                "error_model": self.error_model.name, "data_unit": self.data.unit,
                "time_unit": "days", "sampler": "NUTS (multinomial, diagonal metric; "
                "Hoffman & Gelman 2014, Betancourt 2017)", "inference_library": "tgsim",
                "priors": self.prior_text, "fixed": ",".join(self.fixed),
                **{k: str(v) for k, v in self.options.items()}}

    def _obs_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        b = self.data
        mask = np.arange(b.T.shape[1])[None, :] < b.nu[:, None]
        T = np.where(mask, b.T, np.nan)
        Y = np.where(mask, b.Y, np.nan)
        return T, Y, mask

    def model_volume(self, times: np.ndarray) -> np.ndarray:
        """Model volume f(t) (no measurement error) at ``times`` (days; shape (T,) for
        every subject or (subject, T)) for every draw: (chain, draw, subject, T)."""
        from ...engine.compile import numpy_volume_vg

        vg = numpy_volume_vg(self.model)
        c, d, n, _ = self.draws.shape
        t = np.asarray(times, dtype=np.float64)
        t = np.broadcast_to(t if t.ndim == 2 else t[None, :], (n, t.shape[-1]))
        NP = len(self.model.parameters)
        P = self.draws[..., :NP].reshape(-1, NP)
        dt = np.broadcast_to((t - self.data.t0[:, None])[None], (c * d, n, t.shape[1]))
        with np.errstate(all="ignore"):
            F, _ = vg(np.ascontiguousarray(dt).reshape(-1, t.shape[1]), P, False)
        return np.asarray(F).reshape(c, d, n, t.shape[1])

    def log_likelihood(self):
        """Pointwise log-likelihood ``y`` (chain, draw, subject, obs) of the measured points
        (NaN at padding), on the data's original scale."""
        import xarray as xr

        T, Y, mask = self._obs_arrays()
        F = self.model_volume(np.where(mask, T, self.data.t0[:, None]))
        sig = self.draws[..., -1][..., None]
        with np.errstate(all="ignore"):
            if self.error_model.name == "lognormal":
                r = np.log(Y) - np.log(F)
                ll = -np.log(sig) - 0.5 * (r / sig) ** 2 - np.log(Y)
            else:
                sd = sig * F if self.error_model.name == "proportional" else sig
                ll = -np.log(sd) - 0.5 * ((Y - F) / sd) ** 2
            ll = ll - 0.5 * math.log(2 * math.pi)
        ll = np.where(mask, ll, np.nan)
        return xr.Dataset({"y": (("chain", "draw", "subject", "obs"), ll,
                                 {"units": "1", "long_name": "pointwise log-likelihood"})},
                          coords=self._coords())

    def _noise(self, F: np.ndarray, sig: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        e = rng.standard_normal(F.shape)
        if self.error_model.name == "lognormal":
            return F * np.exp(sig * e)
        if self.error_model.name == "proportional":
            return F * (1.0 + sig * e)
        return F + sig * e

    def posterior_predictive(self, seed: int | None = 0):
        """Replicated measurements ``y`` (chain, draw, subject, obs) at the observed times,
        with measurement error (in the data unit)."""
        import xarray as xr

        T, _, mask = self._obs_arrays()
        F = self.model_volume(np.where(mask, T, self.data.t0[:, None]))
        with np.errstate(all="ignore"):
            y = self._noise(F, self.draws[..., -1][..., None], np.random.default_rng(seed))
        y = np.where(mask, y, np.nan)
        return xr.Dataset({"y": (("chain", "draw", "subject", "obs"), y,
                                 {"units": self.data.unit, "long_name": "replicated value"})},
                          coords=self._coords())

    def observed_data(self):
        """The data: ``y`` and ``time`` (subject, obs), NaN at padding."""
        import xarray as xr

        T, Y, _ = self._obs_arrays()
        return xr.Dataset({"y": (("subject", "obs"), Y, {"units": self.data.unit}),
                           "time": (("subject", "obs"), T, {"units": "days"})},
                          coords={"subject": self.subjects})

    def to_inference_data(self):
        """An ArviZ ``InferenceData`` with groups posterior, sample_stats, log_likelihood,
        posterior_predictive and observed_data (ArviZ 0.x; the ``bayes`` extra)."""
        az = require_arviz()
        if "idata" not in self._cache:
            post = self.posterior
            if self.population is not None:
                post = post.merge(self.population.rename(
                    {k: f"population_{k}" for k in self.population.data_vars}))
            self._cache["idata"] = az.InferenceData(
                posterior=post, sample_stats=self.sample_stats,
                log_likelihood=self.log_likelihood(),
                posterior_predictive=self.posterior_predictive(),
                observed_data=self.observed_data())
        return self._cache["idata"]

    def to_netcdf(self, path: str | os.PathLike[str]) -> str:
        """Write the InferenceData to ``path`` (NetCDF; temp file, then renamed)."""
        from ...io import atomic_path

        idata = self.to_inference_data()
        with atomic_path(path) as tmp:
            idata.to_netcdf(str(tmp))
        return os.fspath(path)

    # ------------------------------------------------------------------ diagnostics
    def diagnostics(self):
        """R-hat (rank-normalised), bulk and tail ESS from ArviZ, per subject and sampled
        parameter; divergences per subject; ``identified`` False where the posterior sd of
        the sampled coordinate is above half its prior sd (flagged, not hidden)."""
        import xarray as xr

        if "diag" in self._cache:
            return self._cache["diag"]
        az = require_arviz()
        post = self.posterior[[k for k in self.param_names if k in self.priors]]
        rhat = az.rhat(post)
        bulk = az.ess(post, method="bulk")
        tail = az.ess(post, method="tail")
        names = list(post.data_vars)
        out = xr.Dataset(coords={"subject": self.subjects, "param": names})
        out["r_hat"] = (("subject", "param"), np.stack([rhat[k].values for k in names], -1))
        out["ess_bulk"] = (("subject", "param"), np.stack([bulk[k].values for k in names], -1))
        out["ess_tail"] = (("subject", "param"), np.stack([tail[k].values for k in names], -1))
        out["identified"] = (("subject", "param"), np.stack(
            [self._identified(k) for k in names], -1))
        div = self.stats[..., engine.STAT_NAMES.index("diverging")] > 0.5
        out["divergences"] = ("subject", div.sum(axis=(0, 1)).astype(np.int64))
        out["max_tree_depth_hits"] = ("subject", (
            self.stats[..., engine.STAT_NAMES.index("tree_depth")]
            >= self.options.get("max_tree_depth", 10)).sum(axis=(0, 1)).astype(np.int64))
        self._cache["diag"] = out
        return out

    def _identified(self, name: str) -> np.ndarray:
        j = self.param_names.index(name)
        p = self.priors[name]
        x = self.draws[..., j]
        with np.errstate(all="ignore"):
            if p.kind == "population":
                return np.ones(self.n_subjects, bool)
            if p.kind in ("lognormal", "half_normal") or (p.kind != "uniform"
                                                          and np.all(x > 0)):
                post_sd = np.log(x).std(axis=(0, 1))
                prior_sd = p.b if p.kind == "lognormal" else float(
                    np.log(p.draw(np.random.default_rng(0), 20000)).std())
            elif p.kind == "uniform":
                s = (x - p.a) / (p.b - p.a)
                post_sd = (np.log(s) - np.log1p(-s)).std(axis=(0, 1))
                prior_sd = math.pi / math.sqrt(3.0)  # sd of the standard logistic
            else:
                post_sd = x.std(axis=(0, 1))
                prior_sd = p.b
        return post_sd <= IDENTIFIED_MAX_SD_RATIO * prior_sd

    def summary(self) -> str:
        """Posterior medians and 90 % intervals, diagnostics and flags, as text."""
        d = self.diagnostics()
        c, dr, n, _ = self.draws.shape
        lines = [f"tgsim.sample: {self.model.name}, {self.error_model.name} error, {n} "
                 f"subject(s) x {c} chain(s) x {dr} draws (NUTS)", self.prior_text]
        for j, name in enumerate(self.param_names):
            if name not in self.priors:
                continue
            q = np.quantile(self.draws[..., j], [0.05, 0.5, 0.95], axis=(0, 1))
            lines.append(f"  {name} [{self.units[name]}]: median of medians {np.median(q[1]):.4g}"
                         f" (90 % interval of subject 0: {q[0, 0]:.4g} .. {q[2, 0]:.4g})")
        rh = d["r_hat"].values
        eb = d["ess_bulk"].values
        idf = d["identified"].values
        rh_max = float(np.nanmax(np.where(idf, rh, np.nan))) if idf.any() else np.nan
        eb_min = float(np.nanmin(np.where(idf, eb, np.nan))) if idf.any() else np.nan
        lines.append(f"  max R-hat {rh_max:.4f}, min bulk ESS {eb_min:.0f} (identified "
                     f"parameters); divergences {int(d['divergences'].sum())}")
        bad = [(str(s), str(p)) for s, p in zip(*np.nonzero(~idf), strict=True)]
        if bad:
            shown = ", ".join(f"{self.subjects[int(s)]}:{d['param'].values[int(p)]}"
                              for s, p in bad[:8])
            lines.append(f"  not identified by the data (posterior sd > "
                         f"{IDENTIFIED_MAX_SD_RATIO:g} x prior sd): {len(bad)} "
                         f"(subject:parameter) — {shown}{' ...' if len(bad) > 8 else ''}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ forecasts
    def predict(self, times: Any, *, seed: int | None = 0):
        """Posterior predictive volumes and diameters at ``times`` (days, on the data's
        time axis), with measurement error.

        Returns a Dataset with ``volume`` (the replicated measurement, data unit),
        ``model_volume`` (no measurement error) and, for volumes in mm^3, ``diameter``
        (sphere-equivalent, mm), dims (chain, draw, subject, time).

        Examples
        --------
        >>> pp = res.predict([20.0, 30.0])            # doctest: +SKIP
        >>> pp["volume"].quantile([0.05, 0.95], dim=("chain", "draw"))  # doctest: +SKIP
        """
        import xarray as xr

        t = np.asarray(times, dtype=np.float64).ravel()
        if t.size == 0 or not np.all(np.isfinite(t)):
            raise TgsimError(f"`times` must be finite days; got {times!r}")
        F = self.model_volume(t)
        with np.errstate(all="ignore"):
            y = self._noise(F, self.draws[..., -1][..., None], np.random.default_rng(seed))
        dims = ("chain", "draw", "subject", "time")
        ds = xr.Dataset({"volume": (dims, y, {"units": self.data.unit,
                                              "long_name": "predicted measurement"}),
                         "model_volume": (dims, F, {"units": self.data.unit,
                                                    "long_name": "model volume"})},
                        coords={**self._coords(), "time": ("time", t, {"units": "days"})})
        if self.data.unit == "mm^3":
            from ..data import SPHERE

            ds["diameter"] = (dims, np.cbrt(np.maximum(y, 0.0) / SPHERE),
                              {"units": "mm", "long_name": "predicted diameter"})
        return ds

    def prob_progression(self, next_scan_day: float, criteria: str = "recist", *,
                         treatment_day: float | None = None, n_draws: int = 400,
                         seed: int | None = 0):
        """Probability that a scan on ``next_scan_day`` reads progressive disease.

        Each subject's measured history (sphere-equivalent diameters of the volumes, one
        target lesion) plus one posterior predictive diameter at ``next_scan_day`` (with
        measurement error) is assessed by :func:`tgsim.recist` (RECIST 1.1: PD) or
        :func:`tgsim.irecist` (iUPD or iCPD), for ``n_draws`` posterior draws.

        Returns a DataArray (subject) of probabilities.
        """
        import pandas as pd
        import xarray as xr

        from ... import clinical

        if criteria not in ("recist", "irecist"):
            raise TgsimError(f"`criteria` must be 'recist' or 'irecist'; got {criteria!r}")
        if self.data.unit != "mm^3":
            raise TgsimError("prob_progression needs volumes in mm^3 (sizes); the data are in "
                             f"{self.data.unit!r}")
        day = float(next_scan_day)
        T, Y, mask = self._obs_arrays()
        last = np.nanmax(T, axis=1)
        if np.any(day <= last):
            s = int(np.flatnonzero(day <= last)[0])
            raise TgsimError(f"`next_scan_day`={day:g} must be after subject "
                             f"{self.subjects[s]!r}'s last measurement (day {last[s]:g})")
        pp = self.predict([day], seed=seed)["diameter"].values[..., 0]  # (c, d, n)
        flat = pp.reshape(-1, self.n_subjects)
        rng = np.random.default_rng(seed)
        pick = rng.choice(flat.shape[0], size=min(n_draws, flat.shape[0]), replace=False)
        from ..data import SPHERE

        D = np.cbrt(np.where(mask, Y, np.nan) / SPHERE)
        rows = []
        for s in range(self.n_subjects):
            hist = [(float(T[s, k]), float(D[s, k])) for k in range(int(self.data.nu[s]))]
            for i, dr in enumerate(pick):
                name = f"{s}#{i}"
                rows += [(name, t, d) for t, d in hist]
                rows.append((name, day, float(flat[dr, s])))
        df = pd.DataFrame(rows, columns=["subject", "day", "diameter_mm"])
        df["lesion"] = "L1"
        fn = clinical.recist if criteria == "recist" else clinical.irecist
        tab = fn(df, treatment_day=treatment_day).table
        at = tab[tab["day"] == day]
        resp = at["response"].astype(str)
        pd_hit = resp.isin(["PD"]) if criteria == "recist" else resp.isin(["iUPD", "iCPD"])
        subj = at["subject"].str.split("#").str[0].astype(int)
        prob = pd_hit.groupby(subj).mean().reindex(range(self.n_subjects)).to_numpy()
        return xr.DataArray(prob, dims="subject", coords={"subject": self.subjects},
                            name="prob_progression",
                            attrs={"units": "1", "criteria": criteria, "scan_day": day,
                                   "n_draws": int(pick.size)})

    def tumour_age(self, volume: float = CELL_VOLUME, *, horizon: float = 5000.0):
        """Posterior of the tumour's age at its first measurement: the time (days) since
        the model volume was ``volume`` (default one cell, 1e-6 mm^3), found by bisection
        on the closed form for every draw. NaN where the law does not reach ``volume``
        within ``horizon`` days back. Dims (chain, draw, subject)."""
        import xarray as xr

        if not (isinstance(volume, float | int) and volume > 0):
            raise TgsimError(f"`volume` must be a positive number of mm^3; got {volume!r}")
        c, d, n, _ = self.draws.shape
        t0 = self.data.t0
        first = self.data.T[:, 0]
        lo = np.broadcast_to((t0 - horizon)[None, None, :], (c, d, n)).copy()
        hi = np.broadcast_to(t0[None, None, :], (c, d, n)).copy()

        def f_at(t: np.ndarray) -> np.ndarray:
            return self._volume_per_draw(t)

        ok = (np.nan_to_num(f_at(lo), nan=-np.inf) <= volume) & (f_at(hi) >= volume)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = ~(f_at(mid) > volume)
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        age = np.where(ok, first[None, None, :] - 0.5 * (lo + hi), np.nan)
        return xr.DataArray(age, dims=("chain", "draw", "subject"), coords=self._coords(),
                            name="tumour_age",
                            attrs={"units": "days", "long_name": f"time since volume "
                                   f"{volume:g} {self.data.unit} at the first measurement"})

    def _volume_per_draw(self, t: np.ndarray) -> np.ndarray:
        from ...engine.compile import numpy_volume_vg

        NP = len(self.model.parameters)
        P = self.draws[..., :NP].reshape(-1, NP)
        dt = (t - self.data.t0[None, None, :]).reshape(-1, 1)
        with np.errstate(all="ignore"):
            F, _ = numpy_volume_vg(self.model)(dt, P, False)
        return np.asarray(F).reshape(t.shape)

    # ------------------------------------------------------------------ plots
    def plot(self, subject: int | str = 0, *, ax=None, level: float = 0.9, n_grid: int = 100):
        """Data, posterior median and ``level`` posterior predictive band of one subject.

        Returns the Axes.
        """
        import matplotlib.pyplot as plt

        s = subject if isinstance(subject, int) else int(
            np.flatnonzero(self.subjects == subject)[0])
        if ax is None:
            _, ax = plt.subplots()
        T, Y, mask = self._obs_arrays()
        tt = np.linspace(self.data.t0[s], np.nanmax(T[s]) * 1.1 + 1e-9, n_grid)
        pp = self.predict(tt).isel(subject=s)
        a = (1 - level) / 2
        q = pp["volume"].quantile([a, 0.5, 1 - a], dim=("chain", "draw")).values
        ax.fill_between(tt, q[0], q[2], alpha=0.3, label=f"{level:.0%} predictive")
        ax.plot(tt, q[1], label="posterior median")
        ax.plot(T[s][mask[s]], Y[s][mask[s]], "o", color="k", label="data")
        ax.set_xlabel("time (days)")
        ax.set_ylabel(f"volume ({self.data.unit})")
        ax.set_title(f"{self.subjects[s]} — {self.model.name}")
        ax.legend()
        return ax
