"""The parameters of metastatic spread: :class:`MetastasisModel`.

Units: time in days, volumes in mm^3, diameters in mm. The seeding rate is in colonies per
day per (mm^3)^alpha, so that a primary of volume V (mm^3) emits
``beta(V) = seeding_rate * V**seeding_exponent`` colonies per day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from ..engine.catalogue import Model
from ..errors import TgsimError
from .readouts import (
    DEFAULT_DETECTION_LIMIT_MM,
    class_bounds_mm,
    diameter_to_volume,
    volume_to_diameter,
)

__all__ = ["MetastasisModel", "MAX_SEEDING_EXPONENT", "IWATA2000"]

#: Largest admissible seeding exponent alpha (beta = m V^alpha).
MAX_SEEDING_EXPONENT: float = 1.5

#: Iwata, Kawasaki & Shigesada (2000), hepatocellular carcinoma: beta(x) = m x^alpha with x in
#: cells, m = 5.3e-8 /day, alpha = 0.663; Gompertz growth a = 0.00286 /day,
#: b = 7.3e10 cells.
IWATA2000: dict[str, float] = {
    "seeding_rate_per_cell": 5.3e-8,
    "seeding_exponent": 0.663,
    "growth_rate": 0.00286,
    "carrying_capacity_cells": 7.3e10,
}


def _per_subject(value: Any, name: str, *, lo: float, hi: float = math.inf,
                 lo_open: bool = False) -> np.ndarray:
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TgsimError(f"`{name}` must be a number or a 1-D array of numbers; got {value!r}"
                         ) from None
    if a.ndim > 1:
        raise TgsimError(f"`{name}` must be a scalar or 1-D (one value per primary); "
                         f"got shape {a.shape}")
    flat = np.atleast_1d(a)
    if flat.size == 0:
        raise TgsimError(f"`{name}` is empty")
    bad = ~np.isfinite(flat) | ((flat <= lo) if lo_open else (flat < lo)) | (flat > hi)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        rule = f"in {'(' if lo_open else '['}{lo:g}, {hi:g}]" if math.isfinite(hi) else (
            f"{'>' if lo_open else '>='} {lo:g}")
        where = f"{name}[{i}]" if a.ndim else name
        raise TgsimError(f"`{name}` must be {rule}; got {where}={float(flat[i])!r}")
    return a


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TgsimError(f"`{name}` must be a positive number; got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise TgsimError(f"`{name}` must be > 0; got {value!r}")
    return v


@dataclass(frozen=True)
class MetastasisModel:
    r"""Seeding of metastatic colonies by a primary tumour, and their growth.

    The primary, of volume :math:`V_p(t)` (mm^3), emits colonies as a Poisson process of
    rate

    .. math:: \beta(t) = m \, S(t) \, V_p(t)^{\alpha}

    with :math:`m` = ``seeding_rate`` (colonies day^-1 mm^-3alpha), :math:`\alpha` =
    ``seeding_exponent`` (alpha = 2/3: emission from the surface; 1: from every cell) and
    :math:`S(t)` the product of the ``seeding_factor`` of every treatment-induced
    :class:`~tgsim.treatment.Acceleration` whose onset has passed (0 once the primary is
    removed). Each colony starts at ``colony_start_cells`` cells, i.e. at volume
    :math:`x_0` = ``colony_start_cells / cells_per_mm3`` (1e-6 mm^3 by default), and
    grows by the card ``colony_model`` (the primary's law when None) with
    ``colony_params``. The expected colony size density :math:`\rho(t, x)` solves the
    McKendrick-von Foerster equation

    .. math:: \partial_t \rho + \partial_x (g(x, t) \rho) = 0, \qquad
              g(x_0, t)\, \rho(t, x_0) = \beta(t)

    (Iwata et al. 2000; Benzekry et al. 2016), solved by characteristics in
    :func:`tgsim.metastasis.metastatic_spread`.

    Parameters
    ----------
    seeding_rate : float or array
        :math:`m` >= 0, colonies per day per (mm^3)^alpha; an array gives one value per
        primary of the cohort.
    seeding_exponent : float or array, default 2/3
        :math:`\alpha` in [0, 1.5].
    colony_model : str or Model, optional
        Growth law of the colonies (a card name or Model); None = the primary's card.
    colony_params : mapping, optional
        Colony parameters (name -> scalar or per-primary array). With the primary's card
        they override the primary's own values; with another card, missing required
        parameters are an error. ``initial_volume`` is set from ``colony_start_cells``.
    cells_per_mm3 : float, default 1e6
        Cell density used for volume <-> cells (about 1e9 cells per cm^3).
    colony_start_cells : float, default 1
        Cells in a new colony.
    detection_limit_mm : float, default 5
        Imaging detection limit (diameter, mm): a colony of a larger sphere-equivalent
        diameter is detectable.
    size_bins_mm : sequence of float, optional
        Increasing diameter edges (mm) of the size histogram; default 40 log-spaced
        bins from the colony start diameter to 100 mm.
    complete_resection : float, default 0.99
        A :class:`~tgsim.treatment.Surgery` with ``resected_fraction`` at least this
        removes the primary: it emits no colony after that day (other than those the
        operation sheds, ``shed_colonies``). A smaller resection leaves a residual tumour
        that seeds at the rate of its simulated volume.
    extinction_cells : float, default 0
        A colony that falls below this many cells (for example under chemotherapy) is
        eradicated; 0 keeps the continuous description (no extinction).
    secondary_seeding_rate : float or array, default 0
        Seeding by the colonies themselves (metastases from metastases): each colony of
        volume x emits ``secondary_seeding_rate * x**seeding_exponent`` colonies per day.
        The total emission then solves the renewal (Volterra) equation
        :math:`\beta(t) = \beta_p(t) + m_2 \int F(t-\tau)^\alpha\,d\Lambda(\tau)`
        (Iwata et al. 2000). Deterministic mode, untreated colonies only.

    References
    ----------
    Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size
    distribution of multiple metastatic tumors. J Theor Biol 2000;203(2):177-186.
    Benzekry S, Tracz A, Mastri M, et al. Modeling spontaneous metastasis following
    surgery: an in vivo-in silico approach. Cancer Res 2016;76(3):535-547.
    Hartung N, Mollard S, Barbolosi D, et al. Mathematical modeling of tumor growth and
    metastatic spreading: validation in tumor-bearing mice. Cancer Res
    2014;74(22):6397-6407.

    Examples
    --------
    A primary of one cell growing exponentially, seeding colonies at m V^alpha:

    >>> import tgsim
    >>> mm = tgsim.MetastasisModel(seeding_rate=1e-4, seeding_exponent=2 / 3)
    >>> spread = tgsim.metastatic_spread("exponential", mm, times=[0.0, 100.0, 200.0],
    ...                                  params={"initial_volume": 1.0, "growth_rate": 0.05})
    >>> spread.total_colonies.isel(subject=0).round(4).values.tolist()
    [0.0, 0.0811, 2.3543]
    """

    seeding_rate: Any
    seeding_exponent: Any = 2.0 / 3.0
    colony_model: str | Model | None = None
    colony_params: Mapping[str, Any] | None = None
    cells_per_mm3: float = 1e6
    colony_start_cells: float = 1.0
    detection_limit_mm: float = DEFAULT_DETECTION_LIMIT_MM
    size_bins_mm: Sequence[float] | np.ndarray | None = None
    complete_resection: float = 0.99
    extinction_cells: float = 0.0
    secondary_seeding_rate: Any = 0.0

    def __post_init__(self) -> None:
        _per_subject(self.seeding_rate, "seeding_rate", lo=0.0)
        _per_subject(self.seeding_exponent, "seeding_exponent", lo=0.0, hi=MAX_SEEDING_EXPONENT)
        _per_subject(self.secondary_seeding_rate, "secondary_seeding_rate", lo=0.0)
        _positive(self.cells_per_mm3, "cells_per_mm3")
        _positive(self.colony_start_cells, "colony_start_cells")
        _positive(self.detection_limit_mm, "detection_limit_mm")
        try:
            cr = float(self.complete_resection)
        except (TypeError, ValueError):
            cr = math.nan
        if not (0.0 < cr <= 1.0):
            raise TgsimError(
                f"`complete_resection` must be in (0, 1]; got {self.complete_resection!r}")
        try:
            ext = float(self.extinction_cells)
        except (TypeError, ValueError):
            ext = math.nan
        if not (math.isfinite(ext) and ext >= 0.0):
            raise TgsimError(f"`extinction_cells` must be >= 0; got {self.extinction_cells!r}")
        if ext > self.colony_start_cells:
            raise TgsimError(
                f"`extinction_cells` ({ext:g}) must not exceed `colony_start_cells` "
                f"({self.colony_start_cells:g}): a new colony would be extinct at birth")
        if self.colony_model is not None and not isinstance(self.colony_model, str | Model):
            raise TgsimError(
                f"`colony_model` must be a card name or a Model; got {self.colony_model!r}")
        if self.colony_params is not None:
            if not isinstance(self.colony_params, Mapping):
                raise TgsimError(
                    f"`colony_params` must be a mapping of parameter name to value; got "
                    f"{self.colony_params!r}")
            for key in self.colony_params:
                if key in ("initial_volume", "V0"):
                    raise TgsimError(
                        "`colony_params` must not set initial_volume: a colony starts at "
                        "colony_start_cells / cells_per_mm3 (mm^3)")
        object.__setattr__(self, "size_bins_mm", self._check_bins(self.size_bins_mm))

    def _check_bins(self, bins: Any) -> np.ndarray:
        if bins is None:
            d0 = float(volume_to_diameter(self.colony_start_volume))
            return np.geomspace(d0, 100.0, 41)
        try:
            b = np.array(bins, dtype=np.float64)
        except (TypeError, ValueError):
            raise TgsimError(f"`size_bins_mm` must be a 1-D array of diameters (mm); got "
                             f"{bins!r}") from None
        if b.ndim != 1 or b.size < 2:
            raise TgsimError(f"`size_bins_mm` must be 1-D with at least 2 edges (mm); got "
                             f"shape {b.shape}")
        if not np.all(np.isfinite(b)) or np.any(b < 0):
            i = int(np.flatnonzero(~np.isfinite(b) | (b < 0))[0])
            raise TgsimError(f"`size_bins_mm` must be finite and >= 0; got "
                             f"size_bins_mm[{i}]={b[i]!r}")
        d = np.diff(b)
        if np.any(d <= 0):
            i = int(np.flatnonzero(d <= 0)[0]) + 1
            raise TgsimError(
                f"`size_bins_mm` must be strictly increasing; got size_bins_mm[{i}]={b[i]:g} "
                f"after size_bins_mm[{i - 1}]={b[i - 1]:g}")
        b.flags.writeable = False
        return b

    # ------------------------------------------------------------------ derived values
    @property
    def colony_start_volume(self) -> float:
        """Volume of a new colony, ``colony_start_cells / cells_per_mm3`` (mm^3)."""
        return float(self.colony_start_cells) / float(self.cells_per_mm3)

    @property
    def extinction_volume(self) -> float:
        """Volume below which a colony is eradicated (mm^3; 0 = never)."""
        return float(self.extinction_cells) / float(self.cells_per_mm3)

    @property
    def has_secondary_seeding(self) -> bool:
        """Whether colonies seed colonies (``secondary_seeding_rate`` > 0)."""
        return bool(np.any(np.asarray(self.secondary_seeding_rate) > 0))

    @property
    def detection_volume(self) -> float:
        """Sphere volume of the detection limit (mm^3)."""
        return float(diameter_to_volume(self.detection_limit_mm))

    def class_volume_bounds(self) -> tuple[float, float]:
        """Upper volumes (mm^3) of the isolated-tumour-cell and micrometastasis classes."""
        itc, micro = class_bounds_mm()
        return float(diameter_to_volume(itc)), float(diameter_to_volume(micro))

    @classmethod
    def from_cells(cls, seeding_rate_per_cell: float, seeding_exponent: float,
                   cells_per_mm3: float = 1e6, **kwargs: Any) -> MetastasisModel:
        r"""Build from a rate stated for sizes in cells: :math:`\beta = m_c N^\alpha`.

        With :math:`N = \rho V` cells (``cells_per_mm3`` :math:`= \rho`) the rate per
        (mm^3)^alpha is :math:`m = m_c \rho^\alpha`.
        """
        a = _per_subject(seeding_exponent, "seeding_exponent", lo=0.0, hi=MAX_SEEDING_EXPONENT)
        rate = np.asarray(seeding_rate_per_cell, dtype=np.float64) * float(cells_per_mm3) ** a
        return cls(seeding_rate=rate if rate.ndim else float(rate),
                   seeding_exponent=seeding_exponent, cells_per_mm3=cells_per_mm3, **kwargs)

    @classmethod
    def iwata2000(cls, **kwargs: Any) -> MetastasisModel:
        """Seeding of Iwata et al. (2000): m = 5.3e-8 /day per cell^alpha, alpha = 0.663.

        Their primary (a hepatocellular carcinoma) is Gompertzian with growth rate
        0.00286 /day and plateau 7.3e10 cells (7.3e4 mm^3 at 1e6 cells/mm^3); see
        :data:`IWATA2000`.
        """
        return cls.from_cells(IWATA2000["seeding_rate_per_cell"], IWATA2000["seeding_exponent"],
                              **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (stored in result attrs)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name.startswith("_"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                v = v.tolist()
            elif isinstance(v, Model):
                v = v.name
            elif isinstance(v, Mapping):
                v = {k: (np.asarray(x).tolist()) for k, x in v.items()}
            out[f.name] = v
        return out

    def summary(self) -> str:
        """A short text description with units."""
        itc, micro = class_bounds_mm()
        m = np.asarray(self.seeding_rate)
        a = np.asarray(self.seeding_exponent)

        def fmt(x: np.ndarray) -> str:
            if x.ndim == 0:
                return f"{float(x):.4g}"
            return f"{x.min():.4g}..{x.max():.4g} ({x.size} values)"

        colony = self.colony_model if isinstance(self.colony_model, str) else (
            self.colony_model.name if self.colony_model is not None else "same as primary")
        lines = [
            "Metastatic spread model",
            f"  seeding rate beta = m V^alpha: m = {fmt(m)} colonies/day/(mm^3)^alpha, "
            f"alpha = {fmt(a)}",
            f"  colonies: {colony} law, start {self.colony_start_cells:g} cell(s) = "
            f"{self.colony_start_volume:.3g} mm^3 at {self.cells_per_mm3:.3g} cells/mm^3",
            f"  size classes: ITC <= {itc:g} mm < micrometastasis <= {micro:g} mm < "
            "macrometastasis",
            f"  detection limit {self.detection_limit_mm:g} mm "
            f"({self.detection_volume:.4g} mm^3)",
            f"  complete resection: resected_fraction >= {self.complete_resection:g} stops "
            "seeding",
        ]
        if self.extinction_cells > 0:
            lines.append(f"  extinction below {self.extinction_cells:g} cell(s)")
        if self.has_secondary_seeding:
            lines.append(f"  secondary seeding by colonies: m2 = "
                         f"{fmt(np.asarray(self.secondary_seeding_rate))}")
        if self.colony_params:
            lines.append("  colony parameters: " + ", ".join(
                f"{k}={np.asarray(v).tolist()}" for k, v in self.colony_params.items()))
        return "\n".join(lines)
