r"""Effect of drug concentration: the kill hazard :math:`E(C)` (1/day).

* :class:`Linear`: :math:`E = K_D\,C` (Claret et al. 2009, the "KD" drug-effect constant).
* :class:`Emax`: :math:`E = E_{max} C / (EC_{50} + C)`.
* :class:`Hill`: :math:`E = E_{max} C^n / (EC_{50}^n + C^n)` (sigmoid Emax; Hill 1910).

A :class:`~tgsim.tgi.drug.Drug` multiplies :math:`E(C(t))` by the Claret resistance
factor :math:`e^{-\lambda (t - t_1)}` (:math:`t_1` its first dose) and, with a
:class:`Transit`, routes the killed cells through damage compartments (Simeoni et al.
2004) before they leave the tumour.

References
----------
Claret L, Girard P, Hoff PM, et al. Model-based prediction of phase III overall survival
in colorectal cancer on the basis of phase II tumor dynamics. J Clin Oncol
2009;27(25):4103-4108.

Simeoni M, Magni P, Cammia C, et al. Predictive pharmacokinetic-pharmacodynamic modeling
of tumor growth kinetics in xenograft models after administration of anticancer agents.
Cancer Res 2004;64(3):1094-1101.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScheduleError
from ..treatment import _field

__all__ = ["Linear", "Emax", "Hill", "Transit"]


def _v(x: Any) -> float:
    return float(np.asarray(x))


@dataclass(frozen=True)
class Linear:
    """Kill hazard proportional to concentration: ``slope * C`` (1/day).

    Parameters
    ----------
    slope : float or Free
        Kill per unit concentration per day (Claret's KD), >= 0.

    Examples
    --------
    >>> Linear(0.5)(np.array([0.0, 2.0])).tolist()
    [0.0, 1.0]
    """

    slope: Any
    _FREE_NESTED = True

    def __post_init__(self) -> None:
        _field(self, "slope", "Linear.slope")

    def __call__(self, c: np.ndarray) -> np.ndarray:
        return _v(self.slope) * np.asarray(c, dtype=np.float64)


@dataclass(frozen=True)
class Emax:
    """Saturating kill: ``emax * C / (ec50 + C)`` (1/day).

    Parameters
    ----------
    emax : float or Free
        Maximal kill hazard (1/day), >= 0.
    ec50 : float or Free
        Concentration at half the maximal kill (concentration units), > 0.

    Examples
    --------
    >>> Emax(emax=1.0, ec50=2.0)(np.array([2.0])).tolist()
    [0.5]
    """

    emax: Any
    ec50: Any
    _FREE_NESTED = True

    def __post_init__(self) -> None:
        _field(self, "emax", "Emax.emax")
        _field(self, "ec50", "Emax.ec50", lo=0.0, lo_open=True)

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.maximum(np.asarray(c, dtype=np.float64), 0.0)
        return _v(self.emax) * c / (_v(self.ec50) + c)


@dataclass(frozen=True)
class Hill:
    """Sigmoid kill: ``emax * C^hill / (ec50^hill + C^hill)`` (1/day).

    Parameters
    ----------
    emax : float or Free
        Maximal kill hazard (1/day), >= 0.
    ec50 : float or Free
        Concentration at half the maximal kill, > 0.
    hill : float or Free
        Hill coefficient (steepness), > 0.

    Examples
    --------
    >>> Hill(emax=1.0, ec50=2.0, hill=3.0)(np.array([2.0])).tolist()
    [0.5]
    """

    emax: Any
    ec50: Any
    hill: Any
    _FREE_NESTED = True

    def __post_init__(self) -> None:
        _field(self, "emax", "Hill.emax")
        _field(self, "ec50", "Hill.ec50", lo=0.0, lo_open=True)
        _field(self, "hill", "Hill.hill", lo=0.0, lo_open=True)

    def __call__(self, c: np.ndarray) -> np.ndarray:
        c = np.maximum(np.asarray(c, dtype=np.float64), 0.0)
        n = _v(self.hill)
        cn = c**n
        return _v(self.emax) * cn / (_v(self.ec50) ** n + cn)


@dataclass(frozen=True)
class Transit:
    """Simeoni (2004) damage compartments: killed cells pass through ``n`` compartments at
    ``rate`` (1/day) each before they leave the tumour, and count in its size meanwhile.

    With proliferating cells :math:`x_1` and total size :math:`w = x_1 + \\dots + x_{n+1}`:
    :math:`\\dot x_1 = g(w) x_1 / w - E(t) x_1`, :math:`\\dot x_2 = E(t) x_1 - k x_2`,
    :math:`\\dot x_i = k (x_{i-1} - x_i)` for :math:`i = 3..n+1`. Simeoni used ``n = 3``
    (``k = k_1``). The mean time from damage to death is ``n / rate``.

    Parameters
    ----------
    n : int
        Number of damage compartments (>= 1).
    rate : float or Free
        Transit rate (1/day), > 0.
    """

    n: int
    rate: Any
    _FREE_NESTED = True

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int | np.integer) or self.n < 1:
            raise ScheduleError(f"Transit.n must be an integer >= 1; got {self.n!r}")
        _field(self, "rate", "Transit.rate", lo=0.0, lo_open=True)
