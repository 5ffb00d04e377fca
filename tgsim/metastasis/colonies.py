"""Growth of metastatic colonies: their card, parameters, schedule and trajectories.

A colony starts at the volume :math:`x_0` (mm^3) of ``colony_start_cells`` cells and grows
by a model card. Systemic therapies (chemotherapy, targeted and immunotherapy) reach the
colonies as they reach the primary; surgery and radiotherapy are local and do not. A
treatment-induced :class:`~tgsim.treatment.Acceleration` accelerates colonies only with
``colony_growth=True``.

* Untreated colonies (no systemic therapy, no colony acceleration) follow one age curve
  :math:`X(t; \\tau) = F(t - \\tau)`: :func:`age_table` tabulates :math:`F` (closed form
  when the card has one, else the adaptive ODE kernel) and the count of colonies above a
  size is then exact (see :mod:`tgsim.metastasis.deterministic`).
* Treated colonies depend on their birth time; :func:`grow` integrates each one from its
  birth with the card's Dormand-Prince kernel (the ``metastasis_grow_colonies`` template).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..engine.catalogue import Model, load_model
from ..engine.catalogue import model as get_model
from ..engine.compile import announce, kernels
from ..engine.kernels.rows import run_rows
from ..errors import TgsimError
from ..simulation import parameter_matrix, run_kernel
from ..treatment import (
    Acceleration,
    Chemotherapy,
    Immunotherapy,
    PackedSchedule,
    Schedule,
    TargetedTherapy,
)
from .model import MetastasisModel

__all__ = ["ColonyGrowth", "colony_growth", "colony_schedule", "age_table", "grow"]


def colony_schedule(schedule: Schedule) -> Schedule:
    """The part of a schedule that acts on metastatic colonies.

    Keeps chemotherapy, targeted and immunotherapy (without their swelling, and with their
    acceleration only when it has ``colony_growth=True``) and every acceleration with
    ``colony_growth=True`` (those attached to surgery or radiotherapy included, onsets in
    absolute days). Drops surgery and radiotherapy, which are local to the primary.
    """
    items: list[Any] = []
    for x in schedule:
        if isinstance(x, Chemotherapy | TargetedTherapy):
            changes: dict[str, Any] = {"acceleration": None}
            if isinstance(x, Immunotherapy):
                changes["swelling"] = None
            items.append(dataclasses.replace(x, **changes))
    for a in schedule.accelerations():
        if a.colony_growth:
            items.append(Acceleration(onset_day=a.onset_day, factor=a.factor,
                                      ramp_days=a.ramp_days, colony_growth=True, name=a.name))
    return Schedule(items)


@dataclass
class ColonyGrowth:
    """Resolved colony growth for a cohort of n primaries.

    Attributes
    ----------
    model : Model
        The colony card.
    P : ndarray (n, n_params)
        Colony parameters per primary (``initial_volume`` = the start volume).
    schedule : Schedule
        The systemic part of the schedule (see :func:`colony_schedule`).
    shared : bool
        Whether every primary's colonies have the same parameters.
    """

    model: Model
    P: NDArray[np.float64]
    schedule: Schedule

    @property
    def shared(self) -> bool:
        return bool(np.all(self.P == self.P[:1]))

    @property
    def treated(self) -> bool:
        return len(self.schedule) > 0


def _primary_card(primary_attrs: Mapping[str, Any]) -> Model | None:
    name = primary_attrs.get("model")
    if name is None:
        return None
    try:
        card = get_model(name)
    except (KeyError, TgsimError):
        card = None
    path = primary_attrs.get("card_path")
    want = primary_attrs.get("card_hash")
    if (card is None or (want and card.card_hash != want)) and path:
        try:
            card = load_model(path)
        except (OSError, TgsimError):
            pass
    return card


def colony_growth(model: MetastasisModel, primary_attrs: Mapping[str, Any],
                  primary_params: NDArray[np.float64] | None,
                  primary_param_names: list[str] | None, n: int,
                  schedule: Schedule) -> ColonyGrowth:
    """Resolve the colony card and the (n, n_params) colony parameter matrix."""
    x0 = model.colony_start_volume
    primary = _primary_card(primary_attrs)
    if model.colony_model is None:
        if primary is None:
            raise TgsimError(
                "the primary Dataset does not name a model card (attrs 'model'); give "
                "MetastasisModel(colony_model=...) and colony_params")
        card = primary
    else:
        card = get_model(model.colony_model)
    user = dict(model.colony_params or {})
    same = primary is not None and card.card_hash == primary.card_hash
    if same and primary_params is not None and primary_param_names is not None:
        P0 = np.asarray(primary_params, dtype=np.float64)
        base = {name: P0[:, j] for j, name in enumerate(primary_param_names)}
        for key, value in user.items():
            try:
                base[card.parameter(key).name] = value
            except KeyError as exc:
                raise TgsimError(f"`colony_params`: {exc.args[0]}") from None
        params = base
    else:
        params = user
    params = {k: v for k, v in params.items() if card.parameter(k).name != "initial_volume"}
    params["initial_volume"] = x0
    try:
        P = parameter_matrix(card, params, n, where="colony_params")
    except TgsimError as exc:
        raise TgsimError(f"{exc} (colony model {card.name!r})") from None
    return ColonyGrowth(model=card, P=P, schedule=colony_schedule(schedule))


def age_table(growth: ColonyGrowth, horizon: float, points: int, *, rtol: float = 1e-10
              ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Untreated colony volume F(a) on an age grid, for each distinct parameter row.

    Returns
    -------
    ages : ndarray (points,)
        Ages 0 .. horizon (days).
    logF : ndarray (nF, points)
        log of the colony volume (mm^3); nF = 1 when the rows are shared, else n.
    ok : ndarray of bool (nF,)
        Rows whose curve is finite and non-decreasing (usable for inversion).
    """
    P = growth.P[:1] if growth.shared else growth.P
    # one curve per primary: bound the table at about 8e6 values (log-linear interpolation
    # of a smooth curve on >= 257 nodes is accurate to about 1e-5 in log volume)
    points = int(points) if P.shape[0] == 1 else min(int(points), max(257, 8_000_000 //
                                                                       P.shape[0]))
    ages = np.linspace(0.0, max(float(horizon), 1e-9), points)
    packed = Schedule().pack(P.shape[0], 0.0, float(ages[-1]), warn=False)
    solver = "closed_form" if growth.model.has_closed_form else "ode"
    x0 = float(P[0, growth.model.parameter_names.index("initial_volume")])
    states, status = run_kernel(growth.model, ages, 0.0, P, packed, solver=solver, rtol=rtol,
                                atol=x0 * 1e-9, max_steps=1_000_000)
    F = states.sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        logF = np.log(F)
    ok = (status == 0) & np.all(np.isfinite(logF), axis=1)
    ok &= np.all(np.diff(np.where(np.isfinite(logF), logF, 0.0), axis=1) >= -1e-12, axis=1)
    # round-off wiggles on a plateau must not break the inversion
    logF = np.where(ok[:, None], np.maximum.accumulate(np.nan_to_num(logF, nan=-np.inf), axis=1),
                    logF)
    return ages, np.ascontiguousarray(logF), ok


def grow(growth: ColonyGrowth, packed: PackedSchedule, grid: NDArray[np.float64],
         out_idx: NDArray[np.int64], births: NDArray[np.float64], owner: NDArray[np.int64],
         *, v_ext: float, v_det: float, rtol: float, atol: float, max_steps: int
         ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int8]]:
    """Integrate colonies born at ``births`` (days) for primaries ``owner``.

    Returns the colony volumes at ``grid[out_idx]`` (M, K) (0 before birth or after
    extinction), the first grid time each exceeds ``v_det`` (inf if never) and the status
    of each integration.
    """
    k = kernels(growth.model, "metastasis")
    m = births.size
    out = np.empty((m, out_idx.size))
    first = np.empty(m)
    status = np.zeros(m, dtype=np.int64)
    if m:
        announce(k, "metastasis_grow_colonies")
        run_rows(
            k.metastasis_grow_colonies, m, np.ascontiguousarray(grid, dtype=np.float64),
            np.ascontiguousarray(out_idx, dtype=np.int64),
            np.ascontiguousarray(births, dtype=np.float64),
            np.ascontiguousarray(owner, dtype=np.int64),
            np.ascontiguousarray(growth.P), packed.dose, packed.expo, packed.acc, packed.bp,
            float(v_ext), float(v_det), float(rtol), float(atol), int(max_steps), out, first,
            status)
    return out, first, status.astype(np.int8)
