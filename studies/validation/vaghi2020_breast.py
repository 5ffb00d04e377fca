"""Reproduce Vaghi et al. (2020) on the LM2-4 orthotopic breast volumes (66 mice).

What is reproduced, with the paper's conventions (V = 1 mm³ at the injection, day 0;
zeros dropped; see :mod:`studies.validation._vaghi`):

* population (SAEM) fits of the exponential, logistic and Gompertz laws with the paper's
  combined error model (sd = a + b f): which describes the data, fixed effects, random
  effects and shrinkage, with degenerate fits flagged;
* the population-level correlation of the Gompertz parameters α = r ln(K/Vc) and β = r;
* back-prediction of the injection day from each mouse's last three measurements, by
  Bayesian inference with the reduced Gompertz model and population priors learnt on the
  other mice, and by likelihood maximisation alone (accuracy and precision);
* individual fits of the classical laws (ranking by summed AIC), set beside Benzekry
  et al. (2014), who analysed a breast set of the same cell line.

Run: ``tgsim run experiments/reproduce_vaghi2020_breast.toml -o DIR`` or
:func:`reproduce`.

References
----------
Vaghi C, Rodallec A, Fanciullino R, et al. Population modeling of tumor growth curves and
the reduced Gompertz model improve prediction of the age of experimental tumors. PLoS
Comput Biol 2020;16(2):e1007178.
Benzekry S, Lamont C, Beheshti A, et al. Classical mathematical models for description
and prediction of experimental tumor growth. PLoS Comput Biol 2014;10(8):e1003800.
"""

from __future__ import annotations

import numpy as np

from . import _common as C
from . import _vaghi as V
from .hook import analysis_hook
from .report import ValidationReport, absolute_check, bound_check, rank_check, relative_check

__all__ = ["reproduce", "analysis", "PAPER", "DATASET"]

DATASET = "vaghi2020_breast"
PAPER = ("Vaghi C, Rodallec A, Fanciullino R, Ciccolini J, Mochel JP, Mastri M, Poignard C, "
         "Ebos JML, Benzekry S. Population modeling of tumor growth curves and the reduced "
         "Gompertz model improve prediction of the age of experimental tumors. PLoS Comput "
         "Biol 2020;16(2):e1007178")
ABSTRACT = "Vaghi 2020, Abstract"
POP_MODELS = ("exponential", "logistic", "gompertz")
IND_MODELS = ("exponential", "logistic", "gompertz", "von_bertalanffy", "power_law",
              "exponential_linear")

_METHOD_NOTE = (
    "Method differences: population priors from tgsim's SAEM with log-normal random effects "
    "on r and K and a proportional error (the population fits of the table use the paper's "
    "combined error a + b f; paper: Monolix, random effects on alpha and beta, combined "
    "error); posterior on a grid instead of Stan's NUTS; priors learnt by {cv}.")


def _cv_text(folds: int, n: int) -> str:
    if folds <= 0 or folds >= n:
        return "leave-one-out, as the paper"
    return f"{folds}-fold cross-validation (paper: leave-one-out)"


def reproduce(*, quick: bool = False, seed: int | None = None, data_dir: str | None = None,
              folds: int = 0, saem_burn: int = 300, saem_iter: int = 200) -> ValidationReport:
    """Run the reproduction and return its report.

    Parameters
    ----------
    quick : bool
        Fewer SAEM iterations and 3 cross-validation folds (a smoke run).
    seed : int, optional
        Seed of the SAEM chains (default 0).
    data_dir : str, optional
        Folder with a local copy of the data set (default: the packaged copy).
    folds : int
        Cross-validation folds for the age back-prediction priors; 0 (default) =
        leave-one-out as in the paper (66 population fits, about half a minute on two
        cores); k > 0 = k-fold cross-validation (faster).
    saem_burn, saem_iter : int
        SAEM iterations of the all-mouse population fits (each training fit of the
        back-prediction uses half of them).

    Returns
    -------
    ValidationReport
    """
    import pandas as pd

    seed = 0 if seed is None else int(seed)
    if quick:
        folds, saem_burn, saem_iter = 3, 100, 60
    ds = C.load(DATASET, data_dir)
    n_mice = int(ds.sizes["subject"])
    n_points = int(np.isfinite(ds["value"].values).sum())

    # -- population fits ---------------------------------------------------------------
    pops = {}
    for m in POP_MODELS:
        pops[m] = V.population(ds, m, v0=1.0, seed=seed, n_burn=saem_burn, n_iter=saem_iter,
                               covariance="diagonal" if m == "exponential" else "full",
                               error_model="combined", fast=quick)
    pop_table = V.population_table(pops)
    bic = {m: pops[m].bic for m in POP_MODELS}
    pop_order = sorted(bic, key=bic.get)
    g = pops["gompertz"]
    jr, jk = g.param_names.index("growth_rate"), g.param_names.index("carrying_capacity")
    alpha, beta = V.alpha_beta(g.individual[:, jr], g.individual[:, jk], 1.0)
    r2 = C.r_squared(beta, alpha)

    # -- individual fits ---------------------------------------------------------------
    cmp = C.compare_quiet(ds, IND_MODELS, t0=0.0,
                          fixed={m: {"initial_volume": 1.0} for m in IND_MODELS})
    ind_table, per_subject = C.model_table(cmp)
    ind_order = list(ind_table["model"])

    # -- age back-prediction -----------------------------------------------------------
    ages = V.age_prediction(ds, v_inj=1.0, folds=folds, seed=seed,
                            n_burn=max(saem_burn // 2, 50), n_iter=max(saem_iter // 2, 30),
                            gompertz_sigma=float(g.sigma))
    acc = {k: V.accuracy(ages, k) for k in ("bayes_reduced", "lm_reduced", "lm_gompertz")}
    sem_bayes = float(100 * ages["bayes_reduced_error"].abs().sem())
    cv = _cv_text(folds, n_mice)
    method_note = _METHOD_NOTE.format(cv=cv)

    checks = [
        absolute_check("measurements used (zeros dropped)", 581, n_points, 0,
                       source="PROVENANCE: 833 measurements in 94 animals (Vaghi 2020 "
                       "abstract) = 188 lung + 581 breast + 64 bioluminescence"),
        rank_check("best population model (BIC) of exponential, logistic, Gompertz",
                   ["gompertz"], pop_order, top=1,
                   source=ABSTRACT + ": exponential and logistic failed to describe the data, "
                   "Gompertz gave very good fits"),
        bound_check("Gompertz alpha-beta correlation R² (population EBEs)", 0.92, r2,
                    source=ABSTRACT + ": R² > 0.92 in all groups",
                    note="" if r2 > 0.92 else
                    "random effects on (r, K) rather than (alpha, beta)"),
        relative_check("age back-prediction, Bayesian reduced Gompertz: mean |error| (%)",
                       12.2, acc["bayes_reduced"][0], rtol=0.05, source=ABSTRACT,
                       note=(f"our SEM {sem_bayes:.1f} %. " + method_note)),
        relative_check("age back-prediction, Bayesian reduced Gompertz: mean 95 % PI width "
                       "(days)", 15.6, acc["bayes_reduced"][1], rtol=0.05, source=ABSTRACT,
                       note="same method differences as the row above"),
        relative_check("age back-prediction, likelihood only (reduced Gompertz): mean "
                       "|error| (%)", 78.0, acc["lm_reduced"][0], rtol=0.05, source=ABSTRACT,
                       note=("three points leave the rate barely determined; the mean is "
                             "dominated by a few mice predicted far too early (median "
                             f"{100 * ages['lm_reduced_error'].abs().median():.0f} %, largest "
                             f"{100 * ages['lm_reduced_error'].abs().max():.0f} %), "
                             "so it depends on the error parameters held (paper: Monolix "
                             "combined-error estimates), on how failed or unbounded "
                             "predictions are counted, and on which model the abstract's 78 % "
                             "refers to (full Gompertz by likelihood here: "
                             f"{acc['lm_gompertz'][0]:.0f} %)")),
        relative_check("age back-prediction, likelihood only (reduced Gompertz): mean 95 % "
                       "PI width (days)", 210.0, acc["lm_reduced"][1], rtol=0.05,
                       source=ABSTRACT,
                       note=("delta-method intervals of a nearly undetermined rate; widths "
                             f"over {V.MAX_PI_WIDTH:g} days are counted as undetermined "
                             "(as the paper's code does)")),
        rank_check("best two by summed AIC, individual fits (Benzekry 2014 breast set)",
                   ["gompertz", "exponential_linear"], ind_order, top=2, ordered=False,
                   comparable=False,
                   source="Benzekry 2014, Abstract (breast data: Gompertz and "
                   "exponential-linear)",
                   note="a breast set of the same LM2-4 model, but it is not established "
                   "that the animals are these; their error model and fit details differ"),
    ]

    # -- figures -------------------------------------------------------------------------
    figures = {
        "fits": C.fits_figure(ds, {m: cmp.fits[m] for m in POP_MODELS},
                              title="Individual fits, V = 1 mm³ at injection (day 0)"),
        "ranking": V.population_bic_figure(bic),
        "ranking_individual": C.ranking_figure(ind_table,
                                               title="Individual fits: summed AIC"),
        "alpha_beta": V.alpha_beta_figure(beta, alpha, r2),
        "age_prediction": _age_figure(ages),
    }
    notes = [
        f"{ds.attrs['n_zeros_dropped']} zero volumes dropped before fitting (as the paper's "
        "code does).",
        *_population_notes(pops, pop_table, bic),
        f"Age back-prediction: {acc['bayes_reduced'][2]} of {n_mice} mice predicted by the "
        f"Bayesian method, {acc['lm_reduced'][2]} by likelihood (reduced Gompertz), "
        f"{acc['lm_gompertz'][2]} by likelihood (Gompertz); priors by {cv}. Likelihood-only "
        f"Gompertz: mean |error| {acc['lm_gompertz'][0]:.0f} %, mean PI width "
        f"{acc['lm_gompertz'][1]:.0f} days.",
        C.MISFIT_NOTE,
        f"Options: quick={quick}, seed={seed}, folds={folds}, SAEM {saem_burn}+{saem_iter} "
        "iterations" + (" (quick: one run, no burn-in extension, linearised -2LL)" if quick
                        else " planned (3 runs; burn-in extended while traces trend)") + ".",
    ]
    return ValidationReport(
        dataset=DATASET,
        title="Vaghi 2020 — orthotopic breast tumour volumes (LM2-4)",
        paper=PAPER,
        reproduced="population Gompertz vs exponential/logistic, alpha-beta correlation, "
                   "age back-prediction (Bayesian reduced Gompertz vs likelihood only)",
        checks=checks,
        tables={"population": pop_table, "individual_models": ind_table,
                "individual_fits": per_subject, "age_prediction": ages,
                "alpha_beta": pd.DataFrame({"subject": [str(s) for s in g.subjects],
                                            "alpha": alpha, "beta": beta})},
        figures=figures,
        failed_fits=C.failed(cmp),
        notes=notes,
    )


def _population_notes(pops, pop_table, bic) -> list[str]:
    """The notes on the population fits: estimates, error model, criteria, flags."""
    return [
        "Fixed effects, random-effect variances and shrinkage of the paper's Monolix fits "
        "(its tables) could not be consulted here, so the population estimates below are "
        "reported without a published counterpart: "
        + "; ".join(f"{r.model} {r.parameter}: typical {r.typical:.4g} {r.unit} "
                    f"(RSE {r.rse_pct:.0f} %), omega {r.omega:.3g} (SD), shrinkage "
                    f"{r.shrinkage_pct:.0f} %" for r in pop_table.itertuples()) + ".",
        "Population fits: the paper's combined error model sd = a + b f (" + "; ".join(
            f"{m}: a = {pops[m].error_parameters['sigma_additive']:.3g} mm³, b = "
            f"{pops[m].error_parameters['sigma_proportional']:.3g}" for m in POP_MODELS)
        + "). -2LL (" + pops["gompertz"].convergence["methods"][pops["gompertz"].neg2ll_method]
        + ") / BIC (k log(mice), Monolix's convention): " + ", ".join(
            f"{m} {pops[m].neg2ll:.1f} / {bic[m]:.1f}" for m in POP_MODELS) + ".",
        V.flag_note(pops),
    ]


def _age_figure(ages):
    import matplotlib.pyplot as plt

    from tgsim.plot import GREY, OKABE_ITO

    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    x = np.arange(len(ages))
    for k, (key, label) in enumerate((("bayes_reduced", "Bayesian, reduced Gompertz"),
                                      ("lm_reduced", "likelihood only, reduced Gompertz"))):
        m = ages[key].to_numpy()
        lo, hi = ages[key + "_lo"].to_numpy(), ages[key + "_hi"].to_numpy()
        ok = np.isfinite(m)
        yerr = np.vstack([np.clip(m - lo, 0, None), np.clip(hi - m, 0, None)])[:, ok]
        ax.errorbar(x[ok] + 0.25 * k, m[ok], yerr=np.nan_to_num(yerr), fmt="o", ms=3,
                    color=OKABE_ITO[k], lw=0.8, label=label)
    ax.axhline(0, color=GREY, ls="--", lw=1, label="true injection day")
    ax.set_ylim(-60, 40)
    ax.set_xlabel("mouse")
    ax.set_ylabel("predicted injection day (day)")
    ax.set_title("Back-prediction from the last three measurements (95 % intervals)",
                 fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    return fig


analysis = analysis_hook(reproduce)
