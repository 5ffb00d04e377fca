"""Standard errors, convergence verdict and flags of a population fit, and its result."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..errors import TgsimWarning
from .population_result import LIKELIHOOD_METHODS, PopulationResult
from .saem_engine import SaemOutput, SaemProblem
from .saem_error import EP_BOUNDS

__all__ = ["assemble", "run_agreement"]

_RSE_FLAG = 200.0
#: runs agree when their spread is within this many standard errors (or the floors below)
_AGREE_SE, _AGREE_MU, _AGREE_LOGVAR = 1.0, 0.01, 0.05


def _variance_ses(prob: SaemProblem, lin, Omega: np.ndarray, NP: int):
    """SEs of variances and of correlations (delta method) on the card's index."""
    idx = prob.idx
    om2_se = np.full(NP, np.nan)
    corr_se = np.full((NP, NP), np.nan)
    C = lin.cov_var
    pos = {pr: k for k, pr in enumerate(lin.var_pairs)}
    for (a, b), k in pos.items():
        if a == b:
            om2_se[idx[a]] = np.sqrt(max(C[k, k], 0.0))
    for (a, b), k in pos.items():
        if a == b:
            continue
        ka, kb = pos[(a, a)], pos[(b, b)]
        va, vb, cab = Omega[a, a], Omega[b, b], Omega[a, b]
        rho = cab / np.sqrt(va * vb)
        g = np.zeros(C.shape[0])
        g[k], g[ka], g[kb] = 1 / np.sqrt(va * vb), -rho / (2 * va), -rho / (2 * vb)
        s = float(np.sqrt(max(g @ C @ g, 0.0)))
        corr_se[idx[a], idx[b]] = corr_se[idx[b], idx[a]] = s
    return om2_se, corr_se


def _error_ses(em: str, lin, ep: np.ndarray) -> tuple[dict, dict]:
    C = lin.cov_var
    if em == "combined":
        n = C.shape[0]
        return ({"sigma_additive": float(ep[0]), "sigma_proportional": float(ep[1])},
                {"sigma_additive": float(np.sqrt(max(C[n - 2, n - 2], 0))),
                 "sigma_proportional": float(np.sqrt(max(C[n - 1, n - 1], 0)))})
    se2 = float(np.sqrt(max(C[-1, -1], 0.0)))
    return {"sigma": float(ep[0])}, {"sigma": se2 / (2 * ep[0])}


def run_agreement(out: SaemOutput, prob: SaemProblem, se_theta: np.ndarray,
                  rse_var: np.ndarray, labels: list[str]) -> tuple[bool, list[str]]:
    """Do the independent runs agree? (spread within max(1 SE, floor))."""
    R = out.theta.shape[0]
    if R < 2:
        return True, []
    why = []
    spread = np.ptp(out.theta, axis=0)
    tol = np.maximum(_AGREE_SE * np.nan_to_num(se_theta, nan=0.0), _AGREE_MU)
    for k in np.flatnonzero(spread > tol):
        why.append(f"{labels[k]}: runs span {spread[k]:.3g} (tolerance {tol[k]:.3g})")
    re = np.flatnonzero(prob.re)
    lv = np.log(np.diagonal(out.omega, axis1=1, axis2=2)[:, re])
    sp = np.ptp(lv, axis=0)
    tolv = np.maximum(_AGREE_SE * np.nan_to_num(rse_var, nan=0.0) / 100, _AGREE_LOGVAR)
    q = out.theta.shape[1]
    for c in np.flatnonzero(sp > tolv):
        why.append(f"{labels[q + c]}: runs span {sp[c]:.3g} (tolerance {tolv[c]:.3g})")
    return not why, why


def _flags(res_parts: dict[str, Any], em: str, ep: np.ndarray) -> list[str]:
    flags = []
    for name, rse in res_parts["rse"].items():
        if not np.isfinite(rse):
            flags.append(f"{name}: standard error not computable (information matrix "
                         "singular): the parameter is not identified")
        elif rse > _RSE_FLAG:
            flags.append(f"{name}: RSE {rse:.0f} % > {_RSE_FLAG:.0f} %: not identified by "
                         "these data")
    lo, hi = EP_BOUNDS["additive" if em == "additive" else "sigma"]
    val = ep[1] if em == "combined" else ep[0]
    if em == "combined":
        lo, hi = EP_BOUNDS["sigma"]
    if val <= lo * 1.0001 or val >= hi * 0.9999:
        flags.append(f"residual error parameter {val:.4g} at its bound [{lo:g}, {hi:g}]: "
                     "a degenerate fit (the model does not describe the data)")
    return flags


def assemble(*, mdl, em, ind, batch, prob: SaemProblem, start, out: SaemOutput, theta,
             Omega, ep, cm, ebe, ebe_status, lin, likes, method, is_se, t0_text, covariance,
             re, units) -> PopulationResult:
    """Everything reported, from the SAEM output and the likelihood computations."""
    NP, idx, d = prob.setup.NP, prob.idx, prob.design
    su = prob.setup
    names = mdl.parameter_names
    free = np.zeros(NP, bool)
    free[idx] = True
    re_mask = np.array([n in re for n in names])
    se_th = np.sqrt(np.clip(np.diag(lin.cov_theta), 0, None))
    mu = prob.fixed_w[0].copy()
    mu[idx] = theta[d.is_mu]
    mu_se = np.full(NP, np.nan)
    mu_se[idx] = se_th[d.is_mu]
    log_scale = su.scale == 1
    typical = np.where(log_scale, np.exp(mu), mu)
    typ_se = np.where(log_scale, typical * mu_se, mu_se)
    om2 = np.full(NP, np.nan)
    om2[idx[prob.re]] = np.diag(Omega)[prob.re]
    Om_full = np.zeros((NP, NP))
    Om_full[np.ix_(idx, idx)] = np.where(np.outer(prob.re, prob.re), Omega, 0.0)
    om2_se, corr_se = _variance_ses(prob, lin, Omega, NP)
    s = np.sqrt(np.diag(Om_full))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(np.outer(re_mask, re_mask), Om_full / np.outer(s, s), np.nan)
    err, err_se = _error_ses(em.name, lin, ep)
    cov_eff = [{"parameter": names[idx[d.coef_param[k]]], "covariate": d.coef_label[k],
                "beta": float(theta[k]), "se": float(se_th[k]),
                "categorical": bool(d.categorical[k])} for k in np.flatnonzero(~d.is_mu)]
    mean = d.mean(theta)
    eta = ebe[:, idx] - mean
    with np.errstate(invalid="ignore", divide="ignore"):
        shr = 1.0 - np.std(eta, axis=0, ddof=1) / np.sqrt(np.diag(Omega))
    shrink = np.full(NP, np.nan)
    shrink[idx[prob.re]] = shr[prob.re]
    rse_var = np.where(prob.re, 100 * om2_se[idx] / np.diag(Omega), np.nan)[prob.re]
    agree, why = run_agreement(out, prob, se_th, rse_var, start["labels"])
    converged = agree and not out.burn_trending
    evidence = []
    if out.burn_trending:
        evidence.append(f"burn-in reached its limit ({out.n_burn} iterations) with traces "
                        f"still trending: {out.trend_evidence}")
    evidence += ["independent runs disagree: " + w for w in why]
    rse = {f"typical {names[j]}": 100 * mu_se[j] for j in idx}
    rse.update({f"omega {names[j]}": 100 * om2_se[j] / (2 * om2[j]) for j in idx[prob.re]})
    rse.update({k: 100 * err_se[k] / v for k, v in err.items()})
    flags = _flags({"rse": rse}, em.name, ep)
    if not converged:
        flags.append("not converged: " + "; ".join(evidence))
        warnings.warn("fit_population: SAEM did not converge: " + "; ".join(evidence)
                      + ". Raise n_burn / max_burn or n_iter.", TgsimWarning, stacklevel=3)
    if flags and converged:
        warnings.warn("fit_population: degenerate fit: " + "; ".join(flags), TgsimWarning,
                      stacklevel=3)
    keep = start["keep"]

    def natural(ph):
        return su.to_natural(np.concatenate([ph, np.zeros((ph.shape[0], 2))], 1))

    individual = np.full((batch.n, NP), np.nan)
    individual[keep] = natural(ebe)
    cmf = prob.fixed_w.copy()
    cmf[:, idx] = cm
    cmean = np.full((batch.n, NP), np.nan)
    cmean[keep] = natural(cmf)
    status = np.full(batch.n, -1, dtype=np.int8)
    status[keep] = ebe_status
    n_re = int(prob.re.sum())
    k = int(d.q + n_re + (n_re * (n_re - 1) // 2 if covariance == "full" else 0)
            + em.n_params + int((~prob.re).sum()) * 0)
    ts_mu, ts_var = start["ts_mu"], start["ts_var"].copy()
    ts_var[~re_mask] = np.nan
    th_runs = out.trace_theta
    mu_tr = np.repeat(mu[None], th_runs.shape[0], 0)
    mu_tr[:, idx] = th_runs.mean(1)[:, d.is_mu]
    om_tr = np.full((th_runs.shape[0], NP), np.nan)
    om_tr[:, idx] = out.trace_omega2.mean(1)
    return PopulationResult(
        model=mdl, error_model=em, param_names=names, param_units=units,
        random_effects=tuple(re), covariance=covariance, free=free, typical=typical,
        typical_se=typ_se, mu=mu, mu_se=mu_se, omega2=om2, omega2_se=om2_se,
        omega_covariance=Om_full, correlation=corr, correlation_se=corr_se,
        covariate_effects=cov_eff, error_parameters=err, error_se=err_se, shrinkage=shrink,
        subjects=batch.subjects, individual=individual, conditional_mean=cmean,
        likelihoods=likes, neg2ll_method=method, neg2ll_se=is_se, k=k, n_obs=prob.n_obs,
        t0_text=t0_text, converged=bool(converged),
        convergence={"n_burn": out.n_burn, "trending": out.burn_trending,
                     "trend_evidence": out.trend_evidence, "runs_agree": agree,
                     "run_disagreement": why, "n_runs": out.theta.shape[0],
                     "evidence": evidence, "methods": LIKELIHOOD_METHODS},
        flags=flags, excluded=np.asarray(batch.excluded), ebe_status=status,
        two_stage={"mu": ts_mu, "omega2": ts_var,
                   "typical": np.where(log_scale, np.exp(ts_mu), ts_mu),
                   "n_used": start["n_used"]},
        trace={"mu": mu_tr, "omega2": om_tr, "sigma": out.trace_ep.mean(1)[:, 0],
               "theta_runs": out.trace_theta, "omega2_runs": out.trace_omega2,
               "error_runs": out.trace_ep, "labels": start["labels"], "n_burn": out.n_burn},
        individual_fit=ind,
        _internal={"prob": prob, "theta": theta, "Omega": Omega, "ep": ep, "ebe_phi": ebe,
                   "lin": lin, "keep": keep},
    )
