"""Text summary and Dataset of a :class:`~tgsim.fitting.population_result.PopulationResult`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .population_result import PopulationResult

__all__ = ["summary_text", "to_dataset"]


def _fmt_rse(x: float) -> str:
    return f"{x:>7.1f}" if np.isfinite(x) else f"{'n/a':>7}"


def _parameter_lines(r: PopulationResult) -> list[str]:
    lines = [f"{'fixed effect':<34} {'typical':>11} {'RSE%':>7}   {'two-stage':>11}  unit"]
    for j, nm in enumerate(r.param_names):
        if not r.free[j]:
            lines.append(f"{nm:<34} {r.typical[j]:>11.5g} {'fixed':>7}   {'':>11}  "
                         f"{r.param_units[j]}")
            continue
        lines.append(f"{nm:<34} {r.typical[j]:>11.5g} {_fmt_rse(r.rse_typical[j])}   "
                     f"{r.two_stage['typical'][j]:>11.5g}  {r.param_units[j]}")
    for c in r.covariate_effects:
        rse = 100 * c["se"] / abs(c["beta"]) if c["beta"] else np.nan
        lines.append(f"{'beta ' + c['parameter'][:10] + ': ' + c['covariate']:<34} "
                     f"{c['beta']:>11.4g} {_fmt_rse(rse)}   se {c['se']:.3g}"
                     + (f", factor exp(beta) = {math.exp(c['beta']):.3g}"
                        if c["categorical"] else ""))
    lines += ["", f"{'random effect (log scale)':<34} {'omega (SD)':>11} {'RSE%':>7} "
                  f"{'omega^2':>9} {'shrink%':>8}   {'two-stage omega^2':>17}"]
    for j, nm in enumerate(r.param_names):
        if nm not in r.random_effects:
            continue
        lines.append(f"{nm:<34} {r.omega[j]:>11.4g} {_fmt_rse(r.rse_omega[j])} "
                     f"{r.omega2[j]:>9.4g} {100 * r.shrinkage[j]:>8.1f}   "
                     f"{r.two_stage['omega2'][j]:>17.4g}")
    if r.covariance == "full":
        re = [r.param_names.index(n) for n in r.random_effects]
        for a_, a in enumerate(re):
            for b in re[a_ + 1:]:
                lines.append(f"{'corr(' + r.param_names[a] + ', ' + r.param_names[b] + ')':<34}"
                             f" {r.correlation[a, b]:>11.3f}   se {r.correlation_se[a, b]:.3g}")
    return lines


def summary_text(r: PopulationResult) -> str:
    """Every estimate with its RSE, the likelihoods with their methods, flags."""
    em = r.error_model.name
    meth = r.convergence["methods"]
    lines = [
        f"tgsim population fit (SAEM): model {r.model.name!r}, {em} error, "
        f"{r.subjects.size} subjects, {r.n_obs} observations",
        f"time origin t0 of initial_volume: {r.t0_text}",
        "log-normal random effects: p_i = typical * exp(beta c_i + eta_i), "
        f"eta ~ N(0, Omega) ({r.covariance} Omega)",
        "",
    ]
    lines += _parameter_lines(r)
    lines.append("")
    for k, v in r.error_parameters.items():
        se = r.error_se[k]
        lines.append(f"residual error {k} = {v:.5g} (RSE {100 * se / v:.1f}%)")
    lines.append("")
    for m, v in r.likelihoods.items():
        extra = (f" (Monte Carlo SE {r.neg2ll_se:.2f})" if m == "is" else "")
        tag = "  <- reported" if m == r.neg2ll_method else ""
        lines.append(f"-2 log L by {meth[m]} = {v:.3f}{extra}{tag}")
    lines.append(f"AIC = {r.aic:.3f}; BIC = {r.bic:.3f} (k log(subjects), Monolix), "
                 f"BIC_obs = {r.bic_obs:.3f} (k log(observations), nlme); k = {r.k}; from "
                 f"the {meth[r.neg2ll_method]} -2 log L")
    lines.append("standard errors: Fisher information of the linearised model")
    c = r.convergence
    lines.append(f"SAEM: {c['n_runs']} runs, {c['n_burn']} exploration iterations "
                 f"+ {r.trace['mu'].shape[0] - c['n_burn']} smoothing; converged: "
                 f"{'yes' if r.converged else 'NO'}")
    lines += [f"  evidence: {e}" for e in c["evidence"]]
    lines.append(f"individual estimates: EBEs (conditional modes); "
                 f"{int((r.ebe_status != 0).sum())} did not converge")
    lines.append(f"two-stage: {r.two_stage['n_used']} individual fits converged "
                 "(its omega^2 includes estimation noise)")
    n_ex = int(np.sum(r.excluded))
    if n_ex:
        lines.append(f"{n_ex} point(s) left out (see `excluded`)")
    if r.flags:
        lines += ["", "FLAGS:"] + [f"  - {f}" for f in r.flags]
    return "\n".join(lines)


def to_dataset(r: PopulationResult):
    """The estimates as an :class:`xarray.Dataset` (units in attrs)."""
    import xarray as xr

    names = list(r.param_names)
    return xr.Dataset(
        {
            "typical": (("param",), r.typical),
            "typical_se": (("param",), r.typical_se),
            "rse_typical": (("param",), r.rse_typical, {"units": "%"}),
            "omega": (("param",), r.omega, {"long_name": "SD of the random effect (log)"}),
            "omega_se": (("param",), r.omega_se),
            "omega2": (("param",), r.omega2, {"long_name": "variance of the random effect"}),
            "omega2_se": (("param",), r.omega2_se),
            "rse_omega2": (("param",), r.rse_omega2, {"units": "%"}),
            "omega_covariance": (("param", "param_"), r.omega_covariance),
            "correlation": (("param", "param_"), r.correlation),
            "correlation_se": (("param", "param_"), r.correlation_se),
            "shrinkage": (("param",), r.shrinkage, {"units": "1"}),
            "two_stage_typical": (("param",), r.two_stage["typical"]),
            "two_stage_omega2": (("param",), r.two_stage["omega2"]),
            "individual": (("subject", "param"), r.individual,
                           {"long_name": "empirical Bayes estimate (conditional mode)"}),
            "conditional_mean": (("subject", "param"), r.conditional_mean),
            "ebe_status": (("subject",), r.ebe_status),
            "excluded": (("subject",), r.excluded, {"long_name": "points left out"}),
        },
        coords={"param": names, "param_": names, "subject": r.subjects,
                "param_unit": ("param", list(r.param_units))},
        attrs={"model": r.model.name, "error_model": r.error_model.name,
               **{k: v for k, v in r.error_parameters.items()},
               **{k + "_se": v for k, v in r.error_se.items()},
               "neg2ll": r.neg2ll,
               "neg2ll_method": r.convergence["methods"][r.neg2ll_method],
               **{f"neg2ll_{k}": v for k, v in r.likelihoods.items()},
               "aic": r.aic, "bic": r.bic, "bic_obs": r.bic_obs, "k": r.k,
               "bic_convention": "bic: k log(subjects) (Monolix); bic_obs: k log(obs) (nlme)",
               "t0": r.t0_text, "converged": int(r.converged), "flags": " | ".join(r.flags),
               "random_effects": ",".join(r.random_effects),
               "covariate_effects": "; ".join(f"{c['parameter']}~{c['covariate']}: "
                                              f"{c['beta']:.4g} (se {c['se']:.3g})"
                                              for c in r.covariate_effects),
               "method": "SAEM; SEs by linearisation; EBEs = conditional modes"},
    )
