r"""Reproduce tumgr's ``gdrate`` on the ASCENT-2 control arm (``tumgr_ascent2``).

The method, its models, selection rules and exclusions are those of :func:`tgsim.gdrate`
(see :mod:`tgsim.fitting.regression`). Reference: ``gdrate(sampleData, 0.10, FALSE)``
run with tumgr 0.0.4 (tables ``tumgr_gdrate_results`` and ``tumgr_gdrate_allest``) and the
summary printed in tumgr's README.

References
----------
Stein WD et al. Tumor regression and growth rates determined in five intramural NCI
prostate cancer trials. Clin Cancer Res 2011;17(4):907-917.
Wilkerson J. tumgr: Tumor Growth Rate Analysis, R package 0.0.4 (CRAN 2016).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tgsim.fitting.regression import GDPHI_CARD, MODELS, TumgrResult, _classify, gdphi_model  # noqa: F401  (kept importable from here)
from tgsim.fitting.regression import gdrate as _public_gdrate

from .hook import analysis_hook
from .report import Check, ValidationReport, absolute_check, relative_check

__all__ = ["GDPHI_CARD", "MODELS", "TumgrResult", "gdrate", "reproduce", "analysis"]

DATASET = "tumgr_ascent2"


def gdrate(data: Any = None, *, pval: float = 0.10, data_dir: Any = None) -> TumgrResult:
    """:func:`tgsim.gdrate` on ``data`` (default: the ``tumgr_ascent2`` data set)."""
    from tgsim import datasets as tds

    ds = data if data is not None else tds.load(DATASET, path=data_dir)
    return _public_gdrate(ds, pval=pval)


# ------------------------------------------------------------------------- reporting

#: summary printed in tumgr's README (wilkersj/tumgr, README.md): gdrate(sampleData, 0.10)
README_SUMMARY = {
    "counts": {"gd": 26, "dx": 22, "gdphi": 5, "gx": 4, "not fit": 5, "only 1 eval": 5,
               "2 evals not 20% diff": 1},
    "g": {"N": 35, "median": 0.00137, "mean": 0.003234},
    "d": {"N": 53, "median": 0.020427, "mean": 0.024021},
    "phi": {"N": 5, "median": 0.982854, "mean": 0.871678},
}
_README = "tumgr README (wilkersj/tumgr), out$models and out$sumstats"
_REF = "tumgr 0.0.4 reference run (minpack.lm 1.2-3, R 4.2.2)"


def _stats(frame, col: str) -> dict[str, float]:
    v = frame[col].dropna().to_numpy(float)
    return {"N": float(v.size), "median": float(np.median(v)) if v.size else np.nan,
            "mean": float(np.mean(v)) if v.size else np.nan}


def _checks(ours, ref) -> list[Check]:
    checks: list[Check] = []
    cats = ["gd", "dx", "gx", "gdphi", "not fit", "only 1 eval", "2 evals not 20% diff"]
    for c in cats:
        checks.append(absolute_check(
            f"patients selected: {c}", int((ref["selectedFit"] == c).sum()),
            int((ours["selectedFit"] == c).sum()), 0, source=f"{_REF}: results"))
    for t in ("included", "excluded"):
        checks.append(absolute_check(f"patients {t}", int((ref["type"] == t).sum()),
                                     int((ours["type"] == t).sum()), 0, source=_REF))
    merged = ref.merge(ours, on="name", suffixes=("_tumgr", "_ours"))
    same = merged["selectedFit_tumgr"] == merged["selectedFit_ours"]
    checks.append(absolute_check("same selected model (% of patients)", 100.0,
                                 100.0 * same.mean(), 0.0, source=_REF))
    # per-patient rates where both selected the same model
    for par in ("g", "d", "phi"):
        both = merged[same & merged[f"{par}_tumgr"].notna()]
        if both.empty:
            continue
        rel = np.abs(both[f"{par}_ours"] / both[f"{par}_tumgr"] - 1.0)
        checks.append(absolute_check(
            f"{par}: patients within 1 % of tumgr (same model, n = {len(both)})",
            len(both), int((rel <= 0.01).sum()), 0, source=f"{_REF}: results"))
    gd = merged[same & (merged["selectedFit_tumgr"] == "gd")]
    for par in ("g", "d"):
        rel = np.abs(gd[f"{par}_ours"] / gd[f"{par}_tumgr"] - 1.0)
        checks.append(absolute_check(f"gd patients: max relative difference of {par} (%)",
                                     0.0, 100.0 * float(rel.max()), 1.0,
                                     source=f"{_REF}: results, {len(gd)} gd patients"))
    for par, unit in (("g", "1/day"), ("d", "1/day"), ("phi", "1")):
        r, o = _stats(ref, par), _stats(ours, par)
        checks.append(absolute_check(f"{par}: patients with an estimate", r["N"], o["N"], 0,
                                     source=f"{_REF}: sumstats"))
        for s in ("median", "mean"):
            checks.append(relative_check(f"{par}: {s} ({unit})", r[s], o[s], 0.01,
                                         source=f"{_REF}: sumstats"))
    readme_note = ("the README was produced with an earlier R / minpack.lm: it selects gd for "
                   "26 and gdphi for 5 patients, the reference run (same tumgr 0.0.4) 25 and "
                   "6, so its summaries differ from the run we reproduce")
    for c in ("gd", "gdphi"):
        want = README_SUMMARY["counts"][c]
        got = int((ours["selectedFit"] == c).sum())
        checks.append(absolute_check(f"README: patients selected {c}", want, got, 0,
                                     source=_README, note=readme_note if got != want else ""))
    for par in ("g", "d", "phi"):
        o = _stats(ours, par)
        chk = relative_check(f"README: {par} median", README_SUMMARY[par]["median"],
                             o["median"], 0.01, source=_README)
        if not chk.agrees:
            chk.note = readme_note
        checks.append(chk)
    return checks


def _overlay(run: TumgrResult, ref, n_panels: int):
    """Figure: normalised data, our selected fit and tumgr's selected fit per patient."""
    from .figures import fits_overlay

    sel = run.results.set_index("name")
    refi = ref.set_index("name")
    models = list(MODELS)
    idx = [i for i, nm in enumerate(run.names) if sel.loc[nm, "type"] == "included"]
    idx = idx[:n_panels]

    def ours(i: int, t: np.ndarray) -> np.ndarray:
        nm = run.names[idx[i]]
        m = sel.loc[nm, "selectedFit"]
        return run.predict(m, idx[i], t) if m in models else np.full(t.shape, np.nan)

    def theirs(i: int, t: np.ndarray) -> np.ndarray:
        r = refi.loc[run.names[idx[i]]]
        g = 0.0 if np.isnan(r["g"]) else float(r["g"])
        d = 0.0 if np.isnan(r["d"]) else float(r["d"])
        m = r["selectedFit"]
        if m == "gd":
            return np.exp(-d * t) + np.exp(g * t) - 1.0
        if m == "dx":
            return np.exp(-d * t)
        if m == "gx":
            return np.exp(g * t)
        if m == "gdphi":
            phi = float(r["phi"])
            gt = g / np.sqrt(1.0 - phi)
            return (1 - phi) * np.exp(gt * t) + phi * np.exp(-d * t)
        return np.full(t.shape, np.nan)

    labels = [f"{run.names[i]} ({sel.loc[run.names[i], 'selectedFit']})" for i in idx]
    fig = fits_overlay(run.times[idx], run.values[idx],
                       {"tgsim (selected)": ours, "tumgr (selected)": theirs},
                       subjects=labels, max_subjects=None, ncols=5,
                       ylabel="tumour quantity / first value (1)",
                       xlabel="t = day − day₁ + 1 (day)")
    _dash(fig, "tumgr (selected)")
    return fig


def _dash(fig, label: str) -> None:
    """Draw the reference curves dashed so that coinciding curves stay visible."""
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_label() == label:
                line.set_linestyle("--")
    for leg in fig.legends:
        for line in leg.get_lines():
            if line.get_label() == label:
                line.set_linestyle("--")


def _counts_figure(ours, ref):
    """Figure: how often each model was selected, tgsim beside tumgr."""
    from tgsim.plot import OKABE_ITO, new_axes

    cats = ["gd", "dx", "gx", "gdphi", "not fit", "only 1 eval", "2 evals not 20% diff"]
    a = [int((ref["selectedFit"] == c).sum()) for c in cats]
    b = [int((ours["selectedFit"] == c).sum()) for c in cats]
    ax = new_axes(None, figsize=(6.4, 3.0))
    x = np.arange(len(cats))
    ax.bar(x - 0.2, a, 0.4, label="tumgr 0.0.4", color=OKABE_ITO[5])
    ax.bar(x + 0.2, b, 0.4, label="tgsim", color=OKABE_ITO[1])
    ax.set_xticks(x, cats, fontsize=7, rotation=20)
    ax.set_ylabel("patients")
    ax.set_title("Selected model per patient (least AIC among eligible fits)", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return ax.figure


def _failures(run: TumgrResult) -> list[str]:
    out = []
    for m, res in run.fits.items():
        for i in np.flatnonzero(~res.success & (run.values.shape[1] > 0)):
            n = int(np.isfinite(run.values[i]).sum())
            if n > MODELS[m]:
                out.append(f"{m} for patient {run.names[i]} ({res.message[i]})")
    return out


def reproduce(*, quick: bool = False, seed: int | None = None, data_dir: str | None = None,
              pval: float = 0.10) -> ValidationReport:
    """Reproduce ``gdrate(sampleData, 0.10, FALSE)`` of tumgr 0.0.4.

    Parameters
    ----------
    quick : bool
        Draw fewer panels in the fits figure (the fits take about a second either way:
        all 68 patients are always analysed).
    seed : int, optional
        Unused (the procedure is deterministic); accepted for the common interface.
    data_dir : str, optional
        Local copy of the data set (default: the packaged copy).
    pval : float
        tumgr's significance level (0.10 in the reference run).

    Returns
    -------
    ValidationReport
    """
    from tgsim import datasets as tds

    ref = tds.reference(DATASET, "tumgr_gdrate_results", path=data_dir)
    ref = ref.assign(name=ref["name"].astype(str))
    run = gdrate(pval=pval, data_dir=data_dir)
    ours = run.results
    report = ValidationReport(
        dataset=DATASET,
        title="tumgr gdrate on the ASCENT-2 control arm",
        paper="Wilkerson J. tumgr 0.0.4 (CRAN 2016), Stein WD et al. Clin Cancer Res "
        "2011;17(4):907-917 (the g/d regression-growth method)",
        reproduced="tumgr's per-patient model selection (gd, dx, gx, gdphi by least squares, "
        "p < 0.10 for every parameter, least AIC), its g, d and phi and its summary "
        "statistics, on 68 patients",
        checks=_checks(ours, ref),
        failed_fits=dict(run.failed),
    )
    merged = ref.merge(ours, on="name", suffixes=("_tumgr", "_ours"))
    report.tables["per_patient"] = merged
    report.tables["candidate_fits"] = run.allest
    report.figures["fits_overlay"] = _overlay(run, ref, 10 if quick else 20)
    report.figures["model_ranking"] = _counts_figure(ours, ref)
    diff = merged[merged["selectedFit_tumgr"] != merged["selectedFit_ours"]]
    report.notes += [
        "Normalisation as tumgr: f = y / y_1, t = day - day_1 + 1, model value 1 at t = 0; "
        "standard errors from RSS/(n - p) and t tests with n - p degrees of freedom, as "
        "R's summary.nls; AIC = -2 log L + 2k with tumgr's k (2, 1, 1, 3).",
        "Patients whose selected model differs from tumgr: "
        + (", ".join(f"{r.name} (tumgr {r.selectedFit_tumgr}, ours {r.selectedFit_ours})"
                     for r in diff.itertuples()) or "none") + ".",
        "tumgr reports g·sqrt(1 - phi) as the growth rate of a gdphi fit; so do we.",
        "Failed fits count only patients with more points than the model has parameters "
        "(tumgr skips the others); a failed fit makes that model ineligible, as in tumgr. "
        "Failed here: " + (", ".join(_failures(run)) or "none") + ".",
    ]
    return report


analysis = analysis_hook(reproduce)
