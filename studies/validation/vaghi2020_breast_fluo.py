"""Reproduce Vaghi et al. (2020) on the LM2-4 breast bioluminescence series (8 mice).

The signal is whole-tumour bioluminescence (photons/s). The paper's conventions
(plumky): the series starts at the injection, day 0, from
:math:`V_0 = V_c = 1.519\\times10^7 \\times 0.08` photons/s (its conversion ratio times
the injected volume). What is reproduced:

* population (SAEM) fits of the exponential, logistic and Gompertz laws;
* the population-level correlation of the Gompertz parameters α = r ln(K/Vc), β = r
  (the paper: R² > 0.92 in all groups), and the same from individual fits;
* the age back-prediction of :mod:`studies.validation._vaghi` (leave-one-out priors),
  reported without a published counterpart (the abstract gives it for the volumes only).

Run: ``tgsim run experiments/reproduce_vaghi2020_breast_fluo.toml -o DIR`` or
:func:`reproduce`.

References
----------
Vaghi C, Rodallec A, Fanciullino R, et al. Population modeling of tumor growth curves and
the reduced Gompertz model improve prediction of the age of experimental tumors. PLoS
Comput Biol 2020;16(2):e1007178.
"""

from __future__ import annotations

import numpy as np

from . import _common as C
from . import _vaghi as V
from .hook import analysis_hook
from .report import ValidationReport, absolute_check, bound_check, rank_check

__all__ = ["reproduce", "analysis", "PAPER", "DATASET"]

DATASET = "vaghi2020_breast_fluo"
PAPER = ("Vaghi C, Rodallec A, Fanciullino R, Ciccolini J, Mochel JP, Mastri M, Poignard C, "
         "Ebos JML, Benzekry S. Population modeling of tumor growth curves and the reduced "
         "Gompertz model improve prediction of the age of experimental tumors. PLoS Comput "
         "Biol 2020;16(2):e1007178")
ABSTRACT = "Vaghi 2020, Abstract"
UNIT = "photons/s"
MODELS = ("exponential", "logistic", "gompertz")


def reproduce(*, quick: bool = False, seed: int | None = None, data_dir: str | None = None,
              age_prediction: bool = True, saem_burn: int = 300,
              saem_iter: int = 200) -> ValidationReport:
    """Run the reproduction and return its report.

    Parameters
    ----------
    quick : bool
        Fewer SAEM iterations (a smoke run).
    seed : int, optional
        Seed of the SAEM chains (default 0).
    data_dir : str, optional
        Folder with a local copy of the data set (default: the packaged copy).
    age_prediction : bool
        Also back-predict the injection day (8 leave-one-out population fits).
    saem_burn, saem_iter : int
        SAEM iterations of the population fits (the back-prediction's training fits use
        half of them).

    Returns
    -------
    ValidationReport
    """
    import pandas as pd

    seed = 0 if seed is None else int(seed)
    if quick:
        saem_burn, saem_iter = 100, 60
    v0 = V.FLUO_V0
    ds = C.load(DATASET, data_dir)
    n_points = int(np.isfinite(ds["value"].values).sum())

    cmp = C.compare_quiet(ds, MODELS, t0=0.0, unit=UNIT,
                          fixed={m: {"initial_volume": v0} for m in MODELS})
    ind_table, per_subject = C.model_table(cmp)
    gi = cmp.fits["gompertz"]
    a_ind, b_ind = V.alpha_beta(np.where(gi.success, gi.estimate[:, 1], np.nan),
                                gi.estimate[:, 2], v0)
    r2_ind = C.r_squared(b_ind, a_ind)

    pops = {m: V.population(ds, m, v0=v0, unit=UNIT, seed=seed, n_burn=saem_burn,
                            n_iter=saem_iter,
                            covariance="diagonal" if m == "exponential" else "full",
                                fast=quick)
            for m in MODELS}
    pop_table = V.population_table(pops, unit=UNIT)
    bic = {m: pops[m].bic for m in MODELS}
    g = pops["gompertz"]
    jr, jk = g.param_names.index("growth_rate"), g.param_names.index("carrying_capacity")
    alpha, beta = V.alpha_beta(g.individual[:, jr], g.individual[:, jk], v0)
    r2 = C.r_squared(beta, alpha)
    lo = pops["logistic"]
    k_logistic = float(lo.typical[lo.param_names.index("carrying_capacity")])

    checks = [
        absolute_check("measurements (8 mice)", 64, n_points, 0,
                       source="PROVENANCE; Vaghi 2020 abstract total 833 = 188 + 581 + 64"),
        rank_check("best population model (BIC) of exponential, logistic, Gompertz",
                   ["gompertz"], sorted(bic, key=bic.get), top=1,
                   source=ABSTRACT + ": exponential and logistic failed to describe the data, "
                   "Gompertz gave very good fits"),
        bound_check("Gompertz alpha-beta correlation R² (population EBEs)", 0.92, r2,
                    source=ABSTRACT + ": R² > 0.92 in all groups",
                    note="" if r2 > 0.92 else
                    "random effects on (r, K) rather than (alpha, beta)"),
        bound_check("Gompertz alpha-beta correlation R² (individual fits)", 0.92, r2_ind,
                    comparable=False, source=ABSTRACT + ": R² > 0.92 in all groups",
                    note="the paper's correlation is population-level (Monolix EBEs); this "
                    "one comes from each mouse fitted alone"),
    ]
    tables = {"population": pop_table, "individual_models": ind_table,
              "individual_fits": per_subject,
              "alpha_beta": pd.DataFrame({"subject": [str(s) for s in g.subjects],
                                          "alpha_population": alpha, "beta_population": beta,
                                          "alpha_individual": a_ind,
                                          "beta_individual": b_ind})}
    figures = {
        "fits": C.fits_figure(ds, {m: cmp.fits[m] for m in MODELS}, ylabel="bioluminescence "
                              "(photons/s)", ncols=4,
                              title="Individual fits, V0 = Vc at injection (day 0)"),
        "ranking": V.population_bic_figure(bic),
        "alpha_beta": V.alpha_beta_figure(beta, alpha, r2),
    }
    notes = [
        f"V0 = Vc = {v0:.4g} photons/s at day 0 (conversion ratio {V.FLUO_RATIO:.4g} "
        "photons/s per mm³ times 0.08 mm³, the paper's code).",
        "Population -2LL / BIC: " + ", ".join(f"{m} {pops[m].neg2ll:.1f} / {bic[m]:.1f}"
                                              for m in MODELS) + f". The logistic typical "
        f"carrying capacity is {k_logistic:.3g} {UNIT}: the law cannot bend with the series.",
        "Population estimates (no published counterpart consulted): " + "; ".join(
            f"{r.model} {r.parameter}: typical {r.typical:.4g} {r.unit} (RSE "
            f"{r.rse_pct:.0f} %), omega² {r.omega2:.3g}, shrinkage {r.shrinkage_pct:.0f} %"
            for r in pop_table.itertuples()) + ".",
    ]
    notes.append(C.MISFIT_NOTE)
    notes.append(V.flag_note(pops))
    if age_prediction:
        ages = V.age_prediction(ds, v_inj=v0, unit=UNIT, folds=0, seed=seed,
                                n_burn=max(saem_burn // 2, 50),
                                n_iter=max(saem_iter // 2, 30), gompertz_sigma=float(g.sigma))
        tables["age_prediction"] = ages
        acc = {k: V.accuracy(ages, k) for k in ("bayes_reduced", "lm_reduced", "lm_gompertz")}
        notes.append(
            "Age back-prediction from the last three points (leave-one-out priors; no "
            "published number for this set was consulted): mean |error| / mean 95 % PI width "
            + ", ".join(f"{k} {a:.1f} % / {w:.1f} days ({n} mice)"
                        for k, (a, w, n) in acc.items()) + ".")
    notes.append(f"Options: quick={quick}, seed={seed}, age_prediction={age_prediction}, "
                 f"SAEM {saem_burn}+{saem_iter} iterations.")
    return ValidationReport(
        dataset=DATASET,
        title="Vaghi 2020 — orthotopic breast tumour bioluminescence (LM2-4)",
        paper=PAPER,
        reproduced="population Gompertz vs exponential/logistic and the alpha-beta "
                   "correlation on bioluminescence",
        checks=checks, tables=tables, figures=figures, failed_fits=C.failed(cmp),
        notes=notes,
    )


analysis = analysis_hook(reproduce)
