r"""Tumour growth inhibition on the PDXE breast subset (``pdxe2015_brca``): Claret-type kill.

Each untreated mouse is fitted with exponential growth (rate :math:`K_L`). Each treated
mouse with a matched control (``control_subject``) and at least five positive volumes is
fitted twice by :func:`tgsim.fitting.treated.fit_treatment` (log-normal error, zero
volumes left out):

* growth only: :math:`dV/dt = K_L V` with :math:`V_0, K_L` free;
* TGI (Claret et al. 2009): :math:`dV/dt = K_L V - K_D e^{-\lambda t} V` with the matched
  control's :math:`K_L` fixed and :math:`V_0, K_D, \lambda` free. The data hold no dosing
  records, so the exposure is 1 over the whole series (a ``TargetedTherapy``).

Read-outs per treated mouse: the AIC of both fits; the time to regrowth
:math:`\ln(K_D/K_L)/\lambda` (Claret 2009; :func:`tgsim.tgi.readouts.ttg_claret`); the
model-based T/C at day 21, :math:`\exp(-K_D (1 - e^{-21\lambda})/\lambda)` (treated model
over its control's model, both from the same :math:`V_0`); the model-free T/C at day 21
against the matched control (:func:`tgsim.tgi.readouts.t_over_c`); and Xeva's mRECIST
class (Gao 2015 definitions, as recomputed by Xeva).

No paper fits a TGI model to these series, so the checks are agreements between our
model-based read-outs and the published-definition mRECIST classes, and are marked
"not comparable" with a paper: they describe, they do not reproduce.

References
----------
Gao H, Korn JM, Ferretti S, et al. Nat Med 2015;21(11):1318-1325 (PDXE).
Claret L, Girard P, Hoff PM, et al. J Clin Oncol 2009;27(25):4103-4108.
Bissery MC, et al. Cancer Res 1991;51(18):4845-4852 (T/C <= 42 % active).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from tgsim.errors import DataError

from .hook import analysis_hook
from .pdxe2015_brca import _locate
from .report import Check, ValidationReport

__all__ = ["fit_series", "reproduce", "analysis"]

DATASET = "pdxe2015_brca"
TC_DAY = 21.0
#: T/C at or below this (%) counts as active (Bissery 1991, NCI)
ACTIVE_TC = 42.0


def _positive(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(t) & np.isfinite(y) & (y > 0)
    return t[keep], y[keep]


def _claret_fit(t: np.ndarray, y: np.ndarray, kl: float):
    from tgsim.fitting.treated import fit_treatment
    from tgsim.treatment import Free, TargetedTherapy

    kill = TargetedTherapy(start=float(t[0]), stop=float(t[-1]) + 1.0,
                           kill_rate=Free(0.05, upper=5.0),
                           resistance_rate=Free(0.02, upper=5.0), name="drug")
    return fit_treatment((t, y), "exponential", [kill], fixed={"growth_rate": kl})


def fit_series(ds: Any, sens: Any, *, limit: int = 0) -> Any:
    """One row per treated mouse with a matched control: estimates, AIC, TTG, T/C,
    mRECIST (see the module docstring). ``limit`` > 0 keeps the first ``limit`` mice."""
    import pandas as pd

    from tgsim.fitting.treated import fit_treatment
    from tgsim.tgi.readouts import t_over_c, ttg_claret

    subs = [str(s) for s in ds["subject"].values]
    n_obs = ds["n_obs"].values
    series = {s: (ds["time"].values[i][: n_obs[i]], ds["value"].values[i][: n_obs[i]])
              for i, s in enumerate(subs)}
    drug = dict(zip(subs, (str(d) for d in ds["drug"].values), strict=True))
    ctrl_of = dict(zip(subs, (str(c) for c in ds["control_subject"].values), strict=True))
    mrecist = dict(zip(sens["model.id"], sens["mRECIST"].fillna(""), strict=True))
    treated = [s for s in subs if drug[s] != "untreated" and ctrl_of[s] in series]
    if limit:
        treated = treated[:limit]
    kl: dict[str, float] = {}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in treated:
            c = ctrl_of[s]
            if c not in kl:
                tc_, yc_ = _positive(*series[c])
                kl[c] = (float(fit_treatment((tc_, yc_), "exponential", []).estimate[0, 1])
                         if tc_.size >= 3 else math.nan)
            t, y = _positive(*series[s])
            if t.size < 5 or not np.isfinite(kl[c]) or kl[c] <= 0:
                continue
            base = fit_treatment((t, y), "exponential", [])
            tgi = _claret_fit(t, y, kl[c])
            kd, lam = float(tgi.estimate[0, 1]), float(tgi.estimate[0, 2])
            fade = (1 - math.exp(-TC_DAY * lam)) / lam if lam > 0 else TC_DAY
            rows.append({
                "subject": s, "drug": drug[s], "control": c, "n_points": int(t.size),
                "growth_rate_control": kl[c], "kill_rate": kd, "kill_rate_se":
                float(tgi.stderr[0, 1]), "resistance_rate": lam,
                "resistance_rate_se": float(tgi.stderr[0, 2]),
                "aic_growth": float(base.aic[0]), "aic_tgi": float(tgi.aic[0]),
                "ttg_day": ttg_claret(kl[c], kd, lam),
                "tc_model_d21": 100.0 * math.exp(-kd * fade),
                "tc_data_d21": t_over_c(series[s], series[c], TC_DAY),
                "mrecist": mrecist.get(s, ""), "converged": bool(tgi.success[0]),
            })
    return pd.DataFrame(rows)


def _checks(df: Any) -> list[Check]:
    from tgsim.clinical import cohen_kappa

    nc = "no paper fits a TGI model to these series"
    out = [Check("treated series fitted (>= 5 positive volumes, matched control)",
                 "not reported", len(df), "—", "not comparable", note=nc)]
    has = df["mrecist"].isin(["CR", "PR", "SD", "PD"]) & np.isfinite(df["tc_model_d21"])
    d = df[has]
    active = d["tc_model_d21"] <= ACTIVE_TC
    responds = d["mrecist"].isin(["CR", "PR", "SD"])
    agree = float((active == responds).mean()) * 100 if len(d) else math.nan
    kappa = cohen_kappa(active.to_numpy(), responds.to_numpy()) if len(d) else math.nan
    out.append(Check(f"model T/C <= {ACTIVE_TC:g} % at day 21 vs mRECIST CR/PR/SD: agreement "
                     "(%)", "not reported", round(agree, 1), "—", "not comparable",
                     note=f"{nc}; Cohen's kappa {kappa:.2f} on {len(d)} series",
                     source="Gao 2015 classes (Xeva recomputation)"))
    objective = d["mrecist"].isin(["CR", "PR"])
    agree_or = float((active == objective).mean()) * 100 if len(d) else math.nan
    kappa_or = cohen_kappa(active.to_numpy(), objective.to_numpy()) if len(d) else math.nan
    out.append(Check(f"model T/C <= {ACTIVE_TC:g} % at day 21 vs mRECIST CR/PR: agreement (%)",
                     "not reported", round(agree_or, 1), "—", "not comparable",
                     note=f"{nc}; Cohen's kappa {kappa_or:.2f} on {len(d)} series",
                     source="Gao 2015 classes (Xeva recomputation)"))
    med = [float(d.loc[d["mrecist"] == c, "kill_rate"].median()) for c in ("CR", "PR", "SD",
                                                                          "PD")]
    falling = all(a > b for a, b in zip(med[:-1], med[1:], strict=True))
    out.append(Check("median kill rate (1/day) by mRECIST class CR, PR, SD, PD",
                     "not reported", ", ".join(f"{m:.3g}" for m in med), "—",
                     "not comparable", note=f"{nc}; decreasing from CR to PD: "
                     f"{'yes' if falling else 'no'}"))
    both = np.isfinite(d["tc_data_d21"])
    r = (float(np.corrcoef(np.log(d["tc_model_d21"][both]),
                           np.log(d["tc_data_d21"][both]))[0, 1]) if both.sum() > 2
         else math.nan)
    out.append(Check("model vs data T/C at day 21: correlation of logs", "not reported",
                     round(r, 3), "—", "not comparable", note=f"{nc}; {int(both.sum())} series"))
    win = float((df["aic_tgi"] < df["aic_growth"]).mean()) * 100 if len(df) else math.nan
    out.append(Check("TGI fit has the lower AIC (% of series)", "not reported",
                     round(win, 1), "—", "not comparable", note=nc))
    for c in ("CR", "PR", "SD", "PD"):
        ttg = d.loc[d["mrecist"] == c, "ttg_day"].replace(np.inf, np.nan)
        out.append(Check(f"median TTG of mRECIST {c} series (day)", "not reported",
                         round(float(ttg.median()), 1) if ttg.notna().any() else "—", "—",
                         "not comparable",
                         note=f"{int((d['mrecist'] == c).sum())} series; never regrowing "
                         "(no resistance) left out"))
    return out


def reproduce(*, quick: bool = False, seed: int | None = None,
              data_dir: str | None = None) -> ValidationReport:
    """Fit growth on the controls and the Claret-type kill on the treated arms.

    Parameters
    ----------
    quick : bool
        The first 60 treated mice only.
    seed : int, optional
        Unused (deterministic); accepted for the common interface.
    data_dir : str, optional
        Folder holding ``pdxe2015_brca/``; default ``$TGSIM_DATA_DIR``.

    Returns
    -------
    ValidationReport
    """
    import pandas as pd

    ds, folder = _locate(data_dir)
    sens_file = folder / "export_sensitivity.csv"
    if not sens_file.is_file():
        raise DataError(f"{str(sens_file)!r} not found: the local copy of {DATASET} needs "
                        "Xeva's export_sensitivity.csv beside tidy.csv")
    df = fit_series(ds, pd.read_csv(sens_file), limit=60 if quick else 0)
    report = ValidationReport(
        dataset=DATASET,
        title="PDXE breast: Claret-type tumour growth inhibition",
        paper="Gao H et al. Nat Med 2015;21(11):1318-1325 (data, mRECIST); Claret L et al. "
        "J Clin Oncol 2009;27(25):4103-4108 (model)",
        reproduced="growth on untreated controls, Claret-type kill on treated mice; AIC, "
        "TTG and T/C against the mRECIST classes" + (" (quick: 60 mice)" if quick else ""),
        checks=_checks(df),
        failed_fits={"claret": int((~df["converged"]).sum()) if len(df) else 0},
    )
    report.tables["series"] = df
    if len(df):
        q = df.groupby("drug")["kill_rate"].describe()[["count", "25%", "50%", "75%"]]
        report.tables["kill_rate_by_drug"] = q.reset_index()
    report.notes += [
        "Exposure is 1 on the whole series (no dosing records in the data): KD is a kill "
        "hazard (1/day), not a potency per concentration.",
        "Kill and resistance rates are bounded at 5/day; estimates at the bound mean a kill "
        "so fast (or fading so fast) that the series cannot tell its size.",
        "Data: a local copy of the Xeva export (not shipped with tgsim).",
    ]
    return report


analysis = analysis_hook(reproduce)
