r"""Virtual populations: parameter distributions, correlations and reproducible sampling.

A :class:`VirtualPopulation` gives every parameter of a model card a distribution, optionally
correlated, truncated to the card's bounds, and draws virtual subjects from a seed.
Parameters keep their card units (``initial_volume`` in mm³, rates in 1/day, ...).

Distributions
-------------
Each distribution is written as a transform of one standard normal variate
:math:`z \sim N(0, 1)` (the *Gaussian copula* form), which is what lets parameters be
correlated whatever their marginal laws:

* :class:`LogNormal` ``(median m, cv c)``: :math:`x = m\,e^{\sigma z}` with
  :math:`\sigma = \sqrt{\ln(1 + c^2)}`, so the median is :math:`m` and the coefficient of
  variation :math:`\sqrt{e^{\sigma^2} - 1} = c` (the usual inter-individual variability
  model of population pharmacometrics, :math:`x = m\,e^{\eta}`, :math:`\eta \sim N(0,
  \omega^2)`).
* :class:`Normal` ``(mean, sd)``: :math:`x = \mu + s z`.
* :class:`Uniform` ``(low, high)``: :math:`x = a + (b - a)\,\Phi(z)`.
* :class:`Fixed` ``(value)``: every subject gets ``value``.
* :class:`Empirical` ``(values)``: :math:`x = F_n^{-1}(\Phi(z))`, the inverse empirical
  CDF of the values (with independent :math:`z` this is resampling with replacement);
  :meth:`VirtualPopulation.from_estimates` resamples whole rows of a fitted population (keeping
  its correlations) or fits log-normal marginals and their log-scale correlation.

Correlation
-----------
With a correlation matrix :math:`R` (on the normal scale) of Cholesky factor :math:`L`,
the variates are :math:`z = L\,\varepsilon`, :math:`\varepsilon \sim N(0, I)`. For
log-normal parameters :math:`R` is exactly the correlation of the log-parameters
(correlated normals on the log scale); for other marginals it is a Gaussian copula
(rank correlations follow :math:`R`).

Truncation
----------
Each draw is restricted to ``[lower, upper]``: the distribution's own bounds intersected
with the card's admissible interval. Truncation is by inversion, :math:`x =
F^{-1}(F(l) + \Phi(z)\,(F(u) - F(l)))`, so it keeps the copula (no rejection, no
re-draws) and costs nothing when the bounds hold essentially all the mass.

Reproducibility
---------------
Random numbers come from counter-based streams: subjects are grouped in fixed blocks of
:data:`STREAM_BLOCK` consecutive indices and block ``k`` draws from
``Generator(Philox(SeedSequence(seed, spawn_key=(stream, k))))``. Subject ``i`` therefore
gets the same values whatever the cohort size, chunking or thread count:
``sample(n, seed).iloc[a:b]`` equals ``sample_range(a, b, seed)``.

Effect parameters
-----------------
Besides card parameters a population may give treatment magnitudes a per-subject
distribution, named ``<intervention>.<field>`` (``immunotherapy.kill_rate``,
``immunotherapy.swelling.infiltration_rate``, ``acceleration.factor``, ...); see
:data:`EFFECT_FIELDS`. :mod:`tgsim.cohort` substitutes them into every intervention of
that type in every scenario.

References
----------
Nelsen RB. *An Introduction to Copulas*, 2nd ed. Springer 2006.
Mould DR, Upton RN. Basic concepts in population modeling, simulation, and model-based
drug development. *CPT Pharmacometrics Syst Pharmacol* 2012;1:e6.
Allen RJ, Rieger TR, Musante CJ. Efficient generation and selection of virtual
populations in quantitative systems pharmacology models. *CPT Pharmacometrics Syst
Pharmacol* 2016;5:140-146.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import special

from .._deprecation import renamed
from ..engine.catalogue import Model
from ..engine.catalogue import model as get_model
from ..errors import ConfigError, TgsimError
from ..schema import check_unknown
from .streams import (  # noqa: F401  (STREAM_* are part of this module's API)
    STREAM_BLOCK,
    STREAM_OBSERVATION,
    STREAM_PARAMETERS,
    block_generator,
    check_seed,
    stream_normals,
)
from .tables import _empirical_values, _estimates_frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "STREAM_BLOCK",
    "EFFECT_FIELDS",
    "Distribution",
    "LogNormal",
    "Normal",
    "Uniform",
    "Fixed",
    "Empirical",
    "VirtualPopulation",
    "distribution_from_dict",
    "stream_normals",
]


#: Treatment magnitudes that may vary per subject, by TOML table name, with their
#: admissible interval (used for truncation).
EFFECT_FIELDS: dict[str, dict[str, tuple[float, float]]] = {
    "surgery": {"day": (-math.inf, math.inf), "resected_fraction": (0.0, np.nextafter(1.0, 0.0)),
                "shed_colonies": (0.0, math.inf)},
    "radiotherapy": {"dose_gy": (0.0, math.inf), "alpha": (0.0, math.inf),
                     "beta": (0.0, math.inf)},
    "chemotherapy": {"dose": (0.0, math.inf), "half_life_days": (np.nextafter(0.0, 1.0), math.inf),
                     "kill_rate": (0.0, math.inf)},
    "targeted": {"start": (-math.inf, math.inf), "stop": (-math.inf, math.inf),
                 "kill_rate": (0.0, math.inf), "resistance_rate": (0.0, math.inf)},
    "immunotherapy": {"start": (-math.inf, math.inf), "stop": (-math.inf, math.inf),
                      "kill_rate": (0.0, math.inf), "resistance_rate": (0.0, math.inf),
                      "swelling.infiltration_rate": (0.0, math.inf),
                      "swelling.clearance_rate": (0.0, math.inf)},
    "acceleration": {"onset_day": (-math.inf, math.inf),
                     "factor": (np.nextafter(0.0, 1.0), math.inf),
                     "ramp_days": (0.0, math.inf), "seeding_factor": (0.0, math.inf)},
}
for _table in ("surgery", "radiotherapy", "chemotherapy", "targeted", "immunotherapy"):
    for _f, _b in EFFECT_FIELDS["acceleration"].items():
        EFFECT_FIELDS[_table][f"acceleration.{_f}"] = _b


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TgsimError(f"{what} must be a number; got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise TgsimError(f"{what} must be finite; got {value!r}")
    return v


def _bound(value: Any, what: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TgsimError(f"{what} must be a number; got {value!r}")
    v = float(value)
    if math.isnan(v):
        raise TgsimError(f"{what} must not be NaN")
    return v


# ---------------------------------------------------------------------------- laws
@dataclass(frozen=True)
class Distribution:
    """Base class: a marginal law written as a transform of a standard normal variate.

    Subclasses define :meth:`ppf` (quantile function) and :meth:`cdf`; ``lower`` and
    ``upper`` truncate the law (in the parameter's unit).
    """

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        """Quantile function at probabilities ``u`` in [0, 1]."""
        raise NotImplementedError

    def cdf(self, x: float) -> float:  # pragma: no cover - abstract
        """Cumulative distribution function at ``x``."""
        raise NotImplementedError

    @property
    def is_random(self) -> bool:
        """Whether the law varies between subjects (Fixed does not)."""
        return True

    def bounds(self) -> tuple[float, float]:
        """The law's own truncation interval ``(lower, upper)``."""
        lo = getattr(self, "lower", None)
        hi = getattr(self, "upper", None)
        return (-math.inf if lo is None else float(lo), math.inf if hi is None else float(hi))

    def from_normal(self, z: np.ndarray, lower: float = -math.inf,
                    upper: float = math.inf) -> np.ndarray:
        """Map standard normal variates ``z`` to values, truncated to ``[lower, upper]``.

        Truncation is by inversion (see the module notes). ``lower``/``upper`` are
        intersected with the law's own bounds.
        """
        lo, hi = self.bounds()
        lo, hi = max(lo, lower), min(hi, upper)
        f_lo = self.cdf(lo) if math.isfinite(lo) else 0.0
        f_hi = self.cdf(hi) if math.isfinite(hi) else 1.0
        if f_lo <= 0.0 and f_hi >= 1.0:
            return self._transform(z)
        if not f_hi - f_lo > 1e-14:
            raise TgsimError(
                f"{self!r} truncated to [{lo:g}, {hi:g}] keeps no probability mass "
                f"(P = {max(f_hi - f_lo, 0.0):.3g}); check the bounds"
            )
        u = f_lo + special.ndtr(z) * (f_hi - f_lo)
        return np.clip(self.ppf(u), lo, hi)

    def _transform(self, z: np.ndarray) -> np.ndarray:
        return self.ppf(special.ndtr(z))

    def to_dict(self) -> dict[str, Any]:
        """TOML/JSON-able description: ``{"distribution": name, **fields}``."""
        out: dict[str, Any] = {"distribution": _NAMES[type(self)]}
        for k, v in self.__dict__.items():
            if v is None:
                continue
            out[k] = np.asarray(v).tolist() if isinstance(v, np.ndarray) else v
        return out


@dataclass(frozen=True)
class LogNormal(Distribution):
    r"""Log-normal law by median and coefficient of variation.

    :math:`x = m\,e^{\sigma z}`, :math:`\sigma = \sqrt{\ln(1 + c^2)}`: median :math:`m`,
    mean :math:`m\,e^{\sigma^2/2}`, CV :math:`c`.

    Parameters
    ----------
    median : float
        Median (> 0), in the parameter's unit.
    cv : float
        Coefficient of variation (> 0; 0.3 = 30 %).
    lower, upper : float, optional
        Truncation bounds (intersected with the card's bounds).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> law = tgsim.LogNormal(median=0.03, cv=0.3)              # 1/day
    >>> float(law.ppf(np.array([0.5]))[0]), law.cdf(0.03)
    (0.03, 0.5)
    >>> round(law.sigma, 4)                                     # sqrt(log(1 + 0.3**2))
    0.2936
    """

    median: float
    cv: float
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        m = _number(self.median, "LogNormal: `median`")
        if m <= 0:
            raise TgsimError(f"LogNormal: `median` must be > 0; got {self.median!r}")
        c = _number(self.cv, "LogNormal: `cv` (coefficient of variation)")
        if c <= 0:
            raise TgsimError(
                f"LogNormal: `cv` (coefficient of variation) must be > 0; got {self.cv!r} "
                "(use Fixed for a parameter that does not vary)"
            )
        _check_bounds(self, "LogNormal")

    @property
    def sigma(self) -> float:
        """Standard deviation of ``ln x``: ``sqrt(ln(1 + cv^2))``."""
        return math.sqrt(math.log1p(float(self.cv) ** 2))

    def _transform(self, z: np.ndarray) -> np.ndarray:
        return float(self.median) * np.exp(self.sigma * z)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return float(self.median) * np.exp(self.sigma * special.ndtri(u))

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        return float(special.ndtr(math.log(x / float(self.median)) / self.sigma))


@dataclass(frozen=True)
class Normal(Distribution):
    """Normal law :math:`x = \\mu + s z` (truncate with ``lower``/``upper``).

    Parameters
    ----------
    mean : float
    sd : float
        Standard deviation (> 0).
    lower, upper : float, optional
        Truncation bounds (intersected with the card's bounds).

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> law = tgsim.Normal(mean=10.0, sd=2.0, lower=0.0)
    >>> law.ppf(np.array([0.5, 0.8413447460685429])).round(6).tolist()   # mean, mean + sd
    [10.0, 12.0]
    """

    mean: float
    sd: float
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        _number(self.mean, "Normal: `mean`")
        s = _number(self.sd, "Normal: `sd`")
        if s <= 0:
            raise TgsimError(
                f"Normal: `sd` must be > 0; got {self.sd!r} (use Fixed for a constant)"
            )
        _check_bounds(self, "Normal")

    def _transform(self, z: np.ndarray) -> np.ndarray:
        return float(self.mean) + float(self.sd) * z

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return float(self.mean) + float(self.sd) * special.ndtri(u)

    def cdf(self, x: float) -> float:
        return float(special.ndtr((x - float(self.mean)) / float(self.sd)))


@dataclass(frozen=True)
class Uniform(Distribution):
    """Uniform law on ``[low, high]``: :math:`x = a + (b - a)\\,\\Phi(z)`.

    Parameters
    ----------
    low, high : float
        Interval, ``low < high``.

    Examples
    --------
    >>> import numpy as np, tgsim
    >>> tgsim.Uniform(low=1.0, high=3.0).ppf(np.array([0.0, 0.25, 1.0])).tolist()
    [1.0, 1.5, 3.0]
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        a = _number(self.low, "Uniform: `low`")
        b = _number(self.high, "Uniform: `high`")
        if not a < b:
            raise TgsimError(f"Uniform: `low` must be < `high`; got low={a:g}, high={b:g}")

    def ppf(self, u: np.ndarray) -> np.ndarray:
        a, b = float(self.low), float(self.high)
        return a + (b - a) * np.asarray(u)

    def cdf(self, x: float) -> float:
        a, b = float(self.low), float(self.high)
        return min(max((x - a) / (b - a), 0.0), 1.0)


@dataclass(frozen=True)
class Fixed(Distribution):
    """The same value for every subject.

    Parameters
    ----------
    value : float

    Examples
    --------
    >>> import tgsim
    >>> pop = tgsim.VirtualPopulation("exponential", {"initial_volume": tgsim.Fixed(100.0),
    ...                                               "growth_rate": tgsim.LogNormal(0.03, 0.3)})
    >>> draws = pop.sample(5, seed=0)
    >>> draws["initial_volume"].tolist()
    [100.0, 100.0, 100.0, 100.0, 100.0]
    """

    value: float

    def __post_init__(self) -> None:
        _number(self.value, "Fixed: `value`")

    @property
    def is_random(self) -> bool:
        return False

    def from_normal(self, z: np.ndarray, lower: float = -math.inf,
                    upper: float = math.inf) -> np.ndarray:
        v = float(self.value)
        if not lower <= v <= upper:
            raise TgsimError(f"Fixed value {v:g} is outside the admissible [{lower:g}, {upper:g}]")
        return np.full(np.shape(z), v)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.full(np.shape(u), float(self.value))

    def cdf(self, x: float) -> float:
        return 1.0 if x >= float(self.value) else 0.0


@dataclass(frozen=True, eq=False)
class Empirical(Distribution):
    """Empirical law of observed values (e.g. fitted estimates of one parameter).

    :math:`x = F_n^{-1}(\\Phi(z))` with :math:`F_n^{-1}(u) = x_{(\\lceil n u \\rceil)}` the
    inverse empirical CDF of the sorted values: with independent ``z`` every subject gets
    one of the values, each with probability ``1/n`` (resampling with replacement); in a
    correlated population the ranks follow the Gaussian copula.

    Parameters
    ----------
    values : array_like
        At least one finite value, in the parameter's unit.
    lower, upper : float, optional
        Values outside are dropped before sampling (as are values outside the card's
        bounds).

    Examples
    --------
    Every subject gets one of the observed values:

    >>> import tgsim
    >>> pop = tgsim.VirtualPopulation("exponential", {
    ...     "initial_volume": tgsim.Empirical([50.0, 100.0, 200.0]),
    ...     "growth_rate": tgsim.Uniform(0.01, 0.03)})
    >>> sorted(set(pop.sample(100, seed=0)["initial_volume"].tolist()))
    [50.0, 100.0, 200.0]
    """

    values: Any
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        try:
            v = np.array(self.values, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise TgsimError(f"Empirical: `values` must be numbers; got {self.values!r}") from None
        if v.size == 0:
            raise TgsimError("Empirical: `values` is empty; give at least one value")
        bad = ~np.isfinite(v)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TgsimError(f"Empirical: `values` must be finite; got values[{i}]={v[i]!r}")
        object.__setattr__(self, "values", np.sort(v))
        _check_bounds(self, "Empirical")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Empirical) and np.array_equal(self.values, other.values)
                and self.lower == other.lower and self.upper == other.upper)

    __hash__ = None  # type: ignore[assignment]

    def from_normal(self, z: np.ndarray, lower: float = -math.inf,
                    upper: float = math.inf) -> np.ndarray:
        lo, hi = self.bounds()
        lo, hi = max(lo, lower), min(hi, upper)
        v = self.values[(self.values >= lo) & (self.values <= hi)]
        if v.size == 0:
            raise TgsimError(
                f"Empirical: no value lies in the admissible [{lo:g}, {hi:g}] "
                f"(values span [{self.values[0]:g}, {self.values[-1]:g}])"
            )
        return _inverse_ecdf(v, special.ndtr(z))

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return _inverse_ecdf(self.values, np.asarray(u))

    def cdf(self, x: float) -> float:
        return float(np.searchsorted(self.values, x, side="right")) / self.values.size

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"distribution": "empirical", "values": self.values.tolist()}
        if self.lower is not None:
            out["lower"] = self.lower
        if self.upper is not None:
            out["upper"] = self.upper
        return out


def _inverse_ecdf(sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
    n = sorted_values.size
    idx = np.minimum((np.asarray(u) * n).astype(np.int64), n - 1)
    return sorted_values[np.maximum(idx, 0)]


def _check_bounds(d: Distribution, name: str) -> None:
    lo = _bound(getattr(d, "lower", None), f"{name}: `lower`", -math.inf)
    hi = _bound(getattr(d, "upper", None), f"{name}: `upper`", math.inf)
    if not lo < hi:
        raise TgsimError(f"{name}: `lower` must be < `upper`; got lower={lo:g}, upper={hi:g}")


_NAMES: dict[type, str] = {
    LogNormal: "lognormal",
    Normal: "normal",
    Uniform: "uniform",
    Fixed: "fixed",
    Empirical: "empirical",
}
_FROM_NAME: dict[str, type] = {
    "lognormal": LogNormal,
    "log-normal": LogNormal,
    "log_normal": LogNormal,
    "normal": Normal,
    "uniform": Uniform,
    "fixed": Fixed,
    "empirical": Empirical,
}
_KEYS: dict[type, tuple[str, ...]] = {
    LogNormal: ("median", "cv", "lower", "upper"),
    Normal: ("mean", "sd", "lower", "upper"),
    Uniform: ("low", "high"),
    Fixed: ("value",),
    Empirical: ("values", "file", "column", "lower", "upper"),
}
_REQUIRED: dict[type, tuple[str, ...]] = {
    LogNormal: ("median", "cv"),
    Normal: ("mean", "sd"),
    Uniform: ("low", "high"),
    Fixed: ("value",),
    Empirical: (),
}


def distribution_from_dict(spec: Any, *, where: str = "distribution",
                           base_dir: str | os.PathLike[str] | None = None) -> Distribution:
    """Build a distribution from a number or a table such as ``{distribution = "lognormal",
    median = 0.1, cv = 0.3}`` (the experiment-file form).

    Parameters
    ----------
    spec : float or mapping
        A number (:class:`Fixed`) or a mapping with ``distribution`` (``lognormal``,
        ``normal``, ``uniform``, ``fixed``, ``empirical``) and that law's keys. An
        empirical law takes ``values = [...]`` or ``file = "estimates.csv"`` with
        ``column = "growth_rate"`` (CSV, relative to ``base_dir``).
    where : str
        Names the source (file, table and key) in error messages.
    base_dir : path, optional
        Folder that relative ``file`` paths are resolved against.

    Raises
    ------
    ConfigError
        Naming ``where`` and the offending key.
    """
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        try:
            return Fixed(spec)
        except TgsimError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    if not isinstance(spec, Mapping):
        raise ConfigError(
            f"{where}: must be a number or a table with a `distribution` key; got {spec!r}"
        )
    if "distribution" not in spec:
        raise ConfigError(
            f"{where}: missing key 'distribution' (one of lognormal, normal, uniform, fixed, "
            "empirical)"
        )
    kind = spec["distribution"]
    cls = _FROM_NAME.get(str(kind).lower()) if isinstance(kind, str) else None
    if cls is None:
        raise ConfigError(
            f"{where}: unknown distribution {kind!r}; choose one of lognormal, normal, "
            "uniform, fixed, empirical"
        )
    kwargs = {k: v for k, v in spec.items() if k != "distribution"}
    check_unknown(kwargs, _KEYS[cls], f"{where} ({_NAMES[cls]} distribution)")
    missing = [k for k in _REQUIRED[cls] if k not in kwargs]
    if missing:
        raise ConfigError(f"{where}: {_NAMES[cls]} distribution needs key(s) {', '.join(missing)}")
    if cls is Empirical:
        kwargs = _empirical_values(kwargs, where, base_dir)
    try:
        return cls(**kwargs)
    except TgsimError as exc:
        raise ConfigError(f"{where}: {exc}") from None


# -------------------------------------------------------------------- population
@dataclass(frozen=True, eq=False)
class _JointEmpirical:
    """Whole rows of a table of estimates, resampled together (one uniform per subject)."""

    names: tuple[str, ...]
    rows: np.ndarray  # (n_rows, len(names))

    def draw(self, z: np.ndarray) -> np.ndarray:
        n = self.rows.shape[0]
        idx = np.minimum((special.ndtr(z) * n).astype(np.int64), n - 1)
        return self.rows[idx]


@dataclass(eq=False)
class VirtualPopulation:
    """A virtual population for one model: a distribution per parameter, correlations.

    Parameters
    ----------
    model : str or Model
        Card name, card path or :class:`~tgsim.engine.catalogue.Model`.
    distributions : mapping
        Parameter name (or symbol) -> :class:`Distribution` or number (fixed). Card
        parameters not given are fixed at the card default. Effect parameters
        (``"immunotherapy.kill_rate"``, see :data:`EFFECT_FIELDS`) are allowed too.
    correlation : optional
        Correlations on the normal (copula) scale — for log-normal parameters, the
        correlation of the log-parameters. Either a mapping ``{(a, b): rho}``, a list of
        ``(a, b, rho)``, a square ``pandas.DataFrame`` labelled by parameter names, or a
        pair ``(names, matrix)``. Parameters not named are independent. The full matrix
        must be symmetric, with unit diagonal, entries in [-1, 1] and positive definite.
    truncate : bool, default True
        Truncate every law to the card's ``[lower, upper]`` (else a draw outside fails
        validation when simulated).

    Examples
    --------
    >>> from tgsim.cohort.virtual import LogNormal, VirtualPopulation
    >>> pop = VirtualPopulation("gompertz", {
    ...     "initial_volume": LogNormal(median=500.0, cv=0.5),       # mm^3
    ...     "growth_rate": LogNormal(median=0.03, cv=0.3),           # 1/day
    ...     "carrying_capacity": LogNormal(median=3e4, cv=0.4)},     # mm^3
    ...     correlation={("growth_rate", "carrying_capacity"): -0.4})
    >>> s = pop.sample(1000, seed=1)
    >>> s.shape
    (1000, 3)
    >>> bool((s.iloc[10:20] == pop.sample_range(10, 20, seed=1)).all().all())
    True
    """

    model: Any
    distributions: Mapping[str, Any] = field(default_factory=dict)
    correlation: Any = None
    truncate: bool = True
    _joint: list[_JointEmpirical] = field(default_factory=list, repr=False, init=False)

    def __post_init__(self) -> None:
        self.model = get_model(self.model)
        mdl: Model = self.model
        if not isinstance(self.distributions, Mapping):
            raise TgsimError(
                "`distributions` must map parameter names to distributions; "
                f"got {self.distributions!r}"
            )
        dists: dict[str, Distribution] = {}
        for key, spec in self.distributions.items():
            name = self._resolve_name(key)
            if name in dists:
                raise TgsimError(f"`distributions`: parameter {name!r} given twice")
            if isinstance(spec, Distribution):
                dists[name] = spec
            elif isinstance(spec, int | float | np.integer | np.floating) and not isinstance(
                    spec, bool):
                dists[name] = Fixed(float(spec))
            else:
                raise TgsimError(
                    f"`distributions`: {name} must be a Distribution (LogNormal, Normal, "
                    f"Uniform, Fixed, Empirical) or a number; got {spec!r}"
                )
        joint_names = {n for j in self._joint for n in j.names}
        for p in mdl.parameters:
            if p.name not in dists and p.name not in joint_names:
                dists[p.name] = Fixed(p.default)
        clash = joint_names & set(dists)
        if clash:
            raise TgsimError(f"parameter(s) {', '.join(sorted(clash))} given both as "
                             "resampled estimates and as a distribution")
        card = [p.name for p in mdl.parameters]
        effects = [n for n in dists if n not in card]
        self._dists: dict[str, Distribution] = {
            **{n: dists[n] for n in card if n in dists}, **{n: dists[n] for n in effects}}
        self._names = tuple(
            [n for n in card] + [n for n in effects] + [
                n for j in self._joint for n in j.names if n not in card])
        self._random = [n for n, d in self._dists.items() if d.is_random]
        self._bounds: dict[str, tuple[float, float]] = {}
        for n in [*self._dists, *joint_names]:
            self._bounds[n] = self._admissible(n) if self.truncate else (-math.inf, math.inf)
        for n, d in self._dists.items():
            if not d.is_random:
                lo, hi = self._admissible(n)
                if not lo <= float(d.value) <= hi:
                    raise TgsimError(
                        f"{n} = {float(d.value):g} is outside its admissible interval "
                        f"[{lo:g}, {hi:g}] ({self._unit(n)})"
                    )
        self._chol = self._correlation_factor()

    # ------------------------------------------------------------------ helpers
    def _resolve_name(self, key: Any) -> str:
        if not isinstance(key, str):
            raise TgsimError(f"parameter names must be strings; got {key!r}")
        if "." in key:
            table, _, fld = key.partition(".")
            if table not in EFFECT_FIELDS or fld not in EFFECT_FIELDS[table]:
                allowed = ", ".join(f"{t}.{f}" for t in EFFECT_FIELDS
                                    for f in EFFECT_FIELDS[t] if "acceleration." not in f)
                raise TgsimError(
                    f"unknown effect parameter {key!r}; effect parameters are "
                    f"<intervention>.<field>: {allowed} (and <intervention>.acceleration.<field>)"
                )
            return key
        try:
            return self.model.parameter(key).name
        except KeyError as exc:
            raise TgsimError(str(exc.args[0])) from None

    def _admissible(self, name: str) -> tuple[float, float]:
        if "." in name:
            table, _, fld = name.partition(".")
            return EFFECT_FIELDS[table][fld]
        p = self.model.parameter(name)
        return float(p.lower), float(p.upper)

    def _unit(self, name: str) -> str:
        if "." in name:
            return "as in tgsim.treatment"
        return self.model.parameter(name).unit

    def _correlation_factor(self) -> np.ndarray | None:
        spec = self.correlation
        if spec is None:
            return None
        names, R = _correlation_matrix(spec, self._resolve_name)
        if not names:
            return None
        for n in names:
            if n not in self._dists or not self._dists[n].is_random:
                what = "fixed" if n in self._dists else "resampled with its row of estimates"
                raise TgsimError(
                    f"`correlation` names {n!r}, which is {what}; only random parameters "
                    f"can be correlated (random: {', '.join(self._random) or 'none'})"
                )
        full = np.eye(len(self._random))
        idx = [self._random.index(n) for n in names]
        full[np.ix_(idx, idx)] = R
        try:
            return np.linalg.cholesky(full)
        except np.linalg.LinAlgError:
            w = np.linalg.eigvalsh(full)
            raise TgsimError(
                f"`correlation` matrix over {', '.join(names)} is not positive definite "
                f"(smallest eigenvalue {w.min():.3g}); the correlations are inconsistent "
                "(e.g. a=b strongly and b=c strongly but a, c uncorrelated)"
            ) from None

    # ------------------------------------------------------------------ public
    @property
    def names(self) -> tuple[str, ...]:
        """Every sampled column: card parameters (card order), then effect parameters."""
        return self._names

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """The card parameters (card order)."""
        return self.model.parameter_names

    @property
    def effect_names(self) -> tuple[str, ...]:
        """Effect parameters (``<intervention>.<field>``)."""
        return tuple(n for n in self._names if "." in n)

    def distribution(self, name: str) -> Distribution | None:
        """The law of one parameter (None for a parameter resampled with its estimates)."""
        return self._dists.get(self._resolve_name(name))

    def correlation_matrix(self) -> pd.DataFrame:
        """The full correlation matrix of the random parameters (normal/copula scale)."""
        import pandas as pd

        n = len(self._random)
        L = self._chol if self._chol is not None else np.eye(n)
        return pd.DataFrame(L @ L.T, index=self._random, columns=self._random)

    def sample(self, n: int, seed: int | None = None) -> pd.DataFrame:
        """Draw ``n`` virtual subjects.

        Parameters
        ----------
        n : int
            Number of subjects (>= 1).
        seed : int, optional
            Seed (integer >= 0). The same seed gives the same subjects; subject ``i``
            does not depend on ``n`` (see :meth:`sample_range`).

        Returns
        -------
        pandas.DataFrame
            One row per subject (index ``subject`` = 0..n-1), one column per parameter
            (:attr:`names`), in the card units.
        """
        n = _count(n, "n")
        return self.sample_range(0, n, seed)

    def sample_range(self, start: int, stop: int, seed: int | None = None) -> pd.DataFrame:
        """Subjects ``start .. stop-1`` of the cohort that ``sample(N, seed)`` draws (any
        ``N >= stop``): the rows are identical, so a cohort can be drawn chunk by chunk.
        """
        import pandas as pd

        start = _count(start, "start", minimum=0)
        stop = _count(stop, "stop", minimum=start)
        if seed is None:
            raise TgsimError("`seed` is required for sample_range (the chunks must share it)")
        seed = check_seed(seed)
        out = self.sample_arrays(start, stop, seed)
        return pd.DataFrame(out, index=pd.RangeIndex(start, stop, name="subject"))

    def sample_arrays(self, start: int, stop: int, seed: int) -> dict[str, np.ndarray]:
        """Like :meth:`sample_range` but returns ``{name: array}`` (no validation)."""
        m = len(self._random)
        width = m + len(self._joint)
        eps = stream_normals(seed, start, stop, width, STREAM_PARAMETERS)
        z = eps[:, :m] @ self._chol.T if self._chol is not None else eps[:, :m]
        cols: dict[str, np.ndarray] = {}
        for name, d in self._dists.items():
            if d.is_random:
                j = self._random.index(name)
                zj = np.ascontiguousarray(z[:, j])
            else:
                zj = np.zeros(stop - start)
            lo, hi = self._bounds[name]
            try:
                cols[name] = np.asarray(d.from_normal(zj, lo, hi), dtype=np.float64)
            except TgsimError as exc:
                raise TgsimError(f"{name}: {exc}") from None
        for k, joint in enumerate(self._joint):
            rows = joint.draw(eps[:, m + k])
            for j, name in enumerate(joint.names):
                cols[name] = np.ascontiguousarray(rows[:, j])
        return {n: cols[n] for n in self._names}

    @classmethod
    def from_estimates(cls, model: str | Model, estimates: Any, *, kind: str = "empirical",
                       parameters: Sequence[str] | None = None,
                       distributions: Mapping[str, Any] | None = None,
                       truncate: bool = True) -> VirtualPopulation:
        """A population from a fitted one: a table of per-subject estimates.

        Parameters
        ----------
        model : str or Model
        estimates : DataFrame, mapping of arrays, or xarray Dataset
            One row per fitted subject, one column per parameter (card names or symbols).
            A Dataset gives its 2-D ``curvefit_coefficients`` (the :func:`tgsim.fit`
            layout), ``estimates``, ``params`` or ``parameters`` variable over ``param``.
        kind : {"empirical", "lognormal"}
            ``"empirical"`` resamples whole rows (each virtual subject copies one fitted
            subject, so the joint distribution and its correlations are kept exactly);
            ``"lognormal"`` fits log-normal marginals (median = geometric mean, CV from
            the SD of the logs) and their log-scale correlation matrix.
        parameters : list of str, optional
            Which columns to use (default: every column that is a card parameter).
        distributions : mapping, optional
            Laws for the other parameters (default: card defaults).
        truncate : bool
            As for :class:`VirtualPopulation`.
        """
        mdl = get_model(model)
        frame = _estimates_frame(estimates, "`estimates`")
        cols: dict[str, str] = {}
        for c in frame.columns:
            try:
                cols[mdl.parameter(str(c)).name] = c
            except KeyError:
                if parameters is not None and str(c) in parameters:
                    raise TgsimError(f"`parameters`: model {mdl.name!r} has no parameter "
                                     f"{c!r}") from None
        if parameters is not None:
            want = [mdl.parameter(p).name for p in parameters]
            missing = [p for p in want if p not in cols]
            if missing:
                raise TgsimError(f"`estimates` has no column for {', '.join(missing)}")
            cols = {p: cols[p] for p in want}
        if not cols:
            raise TgsimError(
                f"`estimates` has no column named after a parameter of {mdl.name!r} "
                f"({', '.join(mdl.parameter_names)}); got {', '.join(map(str, frame.columns))}"
            )
        table = frame[list(cols.values())].to_numpy(dtype=np.float64)
        keep = np.all(np.isfinite(table), axis=1)
        table = table[keep]
        if table.shape[0] == 0:
            raise TgsimError("`estimates` has no row with every chosen parameter finite")
        names = list(cols)
        other = dict(distributions or {})
        if kind == "empirical":
            pop = cls(mdl, {}, truncate=truncate)
            ok = np.ones(table.shape[0], dtype=bool)
            if truncate:
                for j, n in enumerate(names):
                    lo, hi = pop._admissible(n)
                    ok &= (table[:, j] >= lo) & (table[:, j] <= hi)
            if not ok.any():
                raise TgsimError("`estimates`: no row lies inside the card's bounds")
            joint = _JointEmpirical(tuple(names), np.ascontiguousarray(table[ok]))
            out = cls.__new__(cls)
            out.model, out.distributions, out.correlation = mdl, other, None
            out.truncate, out._joint = truncate, [joint]
            out.__post_init__()
            return out
        if kind == "lognormal":
            if np.any(table <= 0):
                j = int(np.flatnonzero(np.any(table <= 0, axis=0))[0])
                raise TgsimError(f"`estimates`: {names[j]} has values <= 0; a log-normal fit "
                                 "needs positive estimates")
            if table.shape[0] < 3:
                raise TgsimError("`estimates`: a log-normal fit needs at least 3 rows; "
                                 f"got {table.shape[0]}")
            logs = np.log(table)
            sd = logs.std(axis=0, ddof=1)
            dists: dict[str, Any] = {}
            for j, n in enumerate(names):
                med = float(np.exp(logs[:, j].mean()))
                if sd[j] > 0:
                    dists[n] = LogNormal(med, math.sqrt(math.expm1(sd[j] ** 2)))
                else:
                    dists[n] = Fixed(med)
            rnd = [n for j, n in enumerate(names) if sd[j] > 0]
            corr = None
            if len(rnd) > 1:
                idx = [names.index(n) for n in rnd]
                corr = (rnd, np.corrcoef(logs[:, idx], rowvar=False))
            return cls(mdl, {**other, **dists}, correlation=corr, truncate=truncate)
        raise TgsimError(f"`kind` must be 'empirical' or 'lognormal'; got {kind!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (stored in cohort attrs)."""
        out: dict[str, Any] = {"model": self.model.name, "truncate": self.truncate,
                               "parameters": {n: d.to_dict() for n, d in self._dists.items()}}
        if self._chol is not None:
            R = self.correlation_matrix()
            out["correlation"] = {"names": list(R.index), "matrix": R.to_numpy().round(15).tolist()}
        if self._joint:
            out["estimates"] = [{"parameters": list(j.names), "rows": int(j.rows.shape[0])}
                                for j in self._joint]
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    def summary(self) -> str:
        """A table of every parameter's law, truncation interval and unit."""
        lines = [f"Population for model {self.model.name!r}"]
        w = max(len(n) for n in self._names)
        for n in self._names:
            d = self._dists.get(n)
            if d is None:
                desc = "resampled with its row of fitted estimates"
            else:
                fields_ = {k: v for k, v in d.to_dict().items() if k != "distribution"}
                if isinstance(d, Empirical):
                    fields_ = {"n": d.values.size}
                desc = f"{d.to_dict()['distribution']}(" + ", ".join(
                    f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in fields_.items()) + ")"
            lo, hi = self._bounds.get(n, (-math.inf, math.inf))
            lines.append(f"  {n:<{w}}  {desc:<44} in [{lo:.4g}, {hi:.4g}]  {self._unit(n)}")
        if self._chol is not None:
            R = self.correlation_matrix()
            lines.append("correlation (normal scale):")
            for i, a in enumerate(R.index):
                for j in range(i + 1, len(R)):
                    rho = R.iat[i, j]
                    if rho != 0:
                        lines.append(f"  {a} ~ {R.columns[j]}: {rho:+.3f}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<tgsim.VirtualPopulation {self.model.name!r}: {', '.join(self._names)}>"


def _count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise TgsimError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise TgsimError(f"`{name}` must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _correlation_matrix(spec: Any, resolve) -> tuple[list[str], np.ndarray]:
    """Normalise a correlation spec to (names, symmetric matrix) and check it."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        pd = None
    if pd is not None and isinstance(spec, pd.DataFrame):
        if list(spec.index) != list(spec.columns):
            raise TgsimError("`correlation` DataFrame must have the same labels on rows "
                             "and columns")
        names = [resolve(n) for n in spec.columns]
        R = spec.to_numpy(dtype=np.float64)
    elif isinstance(spec, tuple) and len(spec) == 2 and not isinstance(spec[0], str) \
            and np.ndim(spec[1]) == 2:
        names = [resolve(n) for n in spec[0]]
        try:
            R = np.array(spec[1], dtype=np.float64)
        except (TypeError, ValueError):
            raise TgsimError(f"`correlation` matrix must be numbers; got {spec[1]!r}") from None
    else:
        pairs: list[tuple[Any, Any, Any]]
        if isinstance(spec, Mapping):
            pairs = []
            for k, v in spec.items():
                if not (isinstance(k, tuple) and len(k) == 2):
                    raise TgsimError(f"`correlation` keys must be (name, name) pairs; got {k!r}")
                pairs.append((k[0], k[1], v))
        elif isinstance(spec, Sequence) and not isinstance(spec, str):
            pairs = []
            for item in spec:
                if not (isinstance(item, Sequence) and len(item) == 3):
                    raise TgsimError("`correlation` entries must be (name, name, rho); "
                                     f"got {item!r}")
                pairs.append(tuple(item))
        else:
            raise TgsimError(
                "`correlation` must be a mapping {(a, b): rho}, a list of (a, b, rho), a "
                f"square DataFrame or (names, matrix); got {spec!r}"
            )
        names = []
        for a, b, _ in pairs:
            for x in (resolve(a), resolve(b)):
                if x not in names:
                    names.append(x)
        R = np.eye(len(names))
        for a, b, rho in pairs:
            i, j = names.index(resolve(a)), names.index(resolve(b))
            if i == j:
                raise TgsimError(f"`correlation`: a parameter with itself ({a!r}); the "
                                 "diagonal is 1")
            r = _number(rho, f"`correlation` of {a} and {b}")
            if R[i, j] != 0 and R[i, j] != r:
                raise TgsimError(f"`correlation`: {a} and {b} given twice")
            R[i, j] = R[j, i] = r
    k = len(names)
    if len(set(names)) != k:
        raise TgsimError(f"`correlation` names a parameter twice: {names}")
    if R.shape != (k, k):
        raise TgsimError(f"`correlation` matrix must be {k} x {k} for {k} names; "
                         f"got shape {R.shape}")
    if not np.all(np.isfinite(R)):
        raise TgsimError("`correlation` matrix must be finite")
    if not np.allclose(np.diag(R), 1.0, rtol=0, atol=1e-12):
        i = int(np.flatnonzero(~np.isclose(np.diag(R), 1.0))[0])
        raise TgsimError(f"`correlation` diagonal must be 1; got {R[i, i]!r} for {names[i]}")
    if not np.allclose(R, R.T, rtol=0, atol=1e-12):
        i, j = (int(x) for x in np.argwhere(~np.isclose(R, R.T))[0])
        raise TgsimError(f"`correlation` matrix must be symmetric; got {R[i, j]!r} for "
                         f"({names[i]}, {names[j]}) but {R[j, i]!r} for ({names[j]}, {names[i]})")
    R = (R + R.T) / 2.0
    np.fill_diagonal(R, 1.0)
    if np.any(np.abs(R) > 1.0 + 1e-12):
        i, j = (int(x) for x in np.argwhere(np.abs(R) > 1.0 + 1e-12)[0])
        raise TgsimError(f"`correlation` entries must be in [-1, 1]; got {R[i, j]!r} for "
                         f"({names[i]}, {names[j]})")
    return names, np.clip(R, -1.0, 1.0)


#: former names kept for one release (a DeprecationWarning says the new one)
_RENAMED = {"Population": "VirtualPopulation"}


def __getattr__(name: str):
    return renamed(__name__, _RENAMED, name, globals())
