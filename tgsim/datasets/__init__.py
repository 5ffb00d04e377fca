"""Real tumour-growth data sets as series Datasets, with their provenance.

:func:`load` returns the series Dataset layout documented in :mod:`tgsim.io.series`
(dims ``subject``/``obs``; ``time`` in days, ``value`` in mm^3, mm or the published unit;
``censored``; ``n_obs``), with ``name``, ``provenance``, ``citation``, ``licence``,
``caveats`` and ``reference_numbers`` in its attrs.

Which data sets ship inside the package
---------------------------------------
Five are redistributable and ship as packaged copies under ``tgsim/datasets/data/``
(``tidy.csv`` — gzip-compressed where large — ``PROVENANCE.md`` and the small
``reference_*.csv`` tables of published numbers). ``pdxe2015_brca`` does not: its
measurements come with no licence that allows redistribution (see its provenance), so
only its ``PROVENANCE.md`` ships. To use it, put a local copy of its folder (holding
``tidy.csv``) at ``$TGSIM_DATA_DIR/pdxe2015_brca/`` or pass ``path=`` to :func:`load`;
nothing is downloaded.

:data:`DATASETS` is the catalogue (name, description, subjects, points, unit, licence,
shipped, ...); :func:`table` gives it as a DataFrame.

Examples
--------
>>> import tgsim.datasets as tds
>>> tds.names()                                        # doctest: +NORMALIZE_WHITESPACE
['benzekry2014_lung', 'vaghi2020_breast', 'vaghi2020_breast_fluo', 'laleh2022_lesions',
 'tumgr_ascent2', 'pdxe2015_brca']
>>> info = tds.info("vaghi2020_breast")
>>> info.subjects, info.unit, info.shipped
(66, 'mm^3', True)
>>> ds = tds.load("vaghi2020_breast")
>>> ds.sizes["subject"], ds.attrs["name"]
(66, 'vaghi2020_breast')
"""

from __future__ import annotations

import gzip
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import DataError, TgsimWarning

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import xarray as xr

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "ENV_VAR",
    "names",
    "info",
    "provenance",
    "load",
    "references",
    "reference",
    "table",
]

#: environment variable naming a folder that holds ``<name>/tidy.csv`` for each data set
ENV_VAR = "TGSIM_DATA_DIR"


@dataclass(frozen=True)
class DatasetInfo:
    """One row of the data-set catalogue.

    Attributes
    ----------
    name : str
        Identifier passed to :func:`load`.
    description : str
        One line: what was measured, in what, and by whom.
    subjects : int
        Number of series (mice, patients or lesion records) in the source.
    points : int
        Number of measurement rows in the source ``tidy.csv``.
    unit : str
        Unit of ``value`` in the loaded Dataset.
    licence : str
        Licence(s) under which the data are available.
    shipped : bool
        True if a copy of the data is inside the package.
    quantity : str
        What ``value`` measures.
    subject_kind : str
        What one series is (mouse, patient, lesion record).
    citation : str
        Papers (and software) to cite.
    upstream : str
        Where the source file was taken from (repository/package, version, commit).
    caveats : str
        Known pitfalls and count discrepancies.
    reference_numbers : str
        Published numbers to compare reproductions against.
    references : tuple of str
        Names of the ``reference_*.csv`` tables (for :func:`reference`).
    """

    name: str
    description: str
    subjects: int
    points: int
    unit: str
    licence: str
    shipped: bool
    quantity: str
    subject_kind: str
    citation: str
    upstream: str
    caveats: str
    reference_numbers: str
    references: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """Multi-line human-readable summary (what ``str(info)`` gives)."""
        import textwrap

        shipped = (
            "yes (packaged copy)"
            if self.shipped
            else f"no: needs a local copy (${ENV_VAR}/{self.name}/tidy.csv or path=...)"
        )
        fields = [
            ("series", f"{self.subjects:,} ({self.subject_kind})"),
            ("points", f"{self.points:,}"),
            ("quantity", f"{self.quantity} [{self.unit}]"),
            ("licence", self.licence),
            ("shipped", shipped),
            ("upstream", self.upstream),
            ("citation", self.citation),
            ("caveats", self.caveats),
            ("reference", self.reference_numbers),
        ]
        if self.references:
            fields.append(("tables", ", ".join(self.references)))
        lines = textwrap.wrap(f"{self.name}: {self.description}", width=88)
        for key, text in fields:
            lines += textwrap.wrap(
                text,
                width=88,
                initial_indent=f"  {key:<10}: ",
                subsequent_indent=" " * 14,
                break_on_hyphens=False,
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


_PLUMKY = "cristinavaghi/plumky, commit b1abd49 (7 Jul 2020)"
_BENZEKRY = (
    "Benzekry S, Lamont C, Beheshti A, Tracz A, Ebos JML, Hlatky L, Hahnfeldt P. Classical "
    "mathematical models for description and prediction of experimental tumor growth. "
    "PLoS Comput Biol 2014;10(8):e1003800."
)
_VAGHI = (
    "Vaghi C, Rodallec A, Fanciullino R, Ciccolini J, Mochel JP, Mastri M, Poignard C, "
    "Ebos JML, Benzekry S. Population modeling of tumor growth curves and the reduced "
    "Gompertz model improve prediction of the age of experimental tumors. PLoS Comput Biol "
    "2020;16(2):e1007178."
)
_VAGHI_ABSTRACT = (
    "Vaghi 2020 abstract: 833 measurements in 94 animals over the three data sets "
    "(lung 188 + breast 581 without its 2 zeros + fluorescence 64); Gompertz parameters "
    "correlated at population level with R^2 > 0.92 in all groups; tumour age predicted "
    "from three late measurements with the reduced Gompertz model, Bayesian vs likelihood "
    "maximisation alone, for the breast cell line: mean prediction error 12.2 % vs 78 %, "
    "mean width of the 95 % prediction interval 15.6 vs 210 days."
)

_CATALOGUE: tuple[DatasetInfo, ...] = (
    DatasetInfo(
        name="benzekry2014_lung",
        description="Lewis lung carcinoma s.c. in C57BL/6 mice, untreated; caliper volume "
        "(Benzekry 2014; Vaghi 2020)",
        subjects=20,
        points=188,
        unit="mm^3",
        licence="CC-BY 4.0 (papers); data file only, carried by GPL-3.0 repository plumky",
        shipped=True,
        quantity="tumour_volume",
        subject_kind="mice",
        citation=f"{_BENZEKRY} {_VAGHI}",
        upstream=f"data/lung_vol_data.txt of {_PLUMKY}; original deposit Zenodo 3572401",
        caveats="Days after injection (4-24); no zeros. Authors' conventions: V0 = 1 mm^3 "
        "at injection (about 1e6 cells), Vc = 1 mm^3, lambda_alpha = 0.929. Volumes from "
        "caliper length and width (ellipsoid formula).",
        reference_numbers="Benzekry 2014 abstract: for the lung data the Gompertz and power "
        "law models gave the most parsimonious and identifiable description; no model "
        "reached a substantial prediction rate (>= 70 %) beyond the next-day point without "
        "a priori information. " + _VAGHI_ABSTRACT,
    ),
    DatasetInfo(
        name="vaghi2020_breast",
        description="MDA-MB-231 LM2-4 breast tumours orthotopic in mice, untreated; caliper "
        "volume (Vaghi 2020)",
        subjects=66,
        points=583,
        unit="mm^3",
        licence="CC-BY 4.0 (papers); data file only, carried by GPL-3.0 repository plumky",
        shipped=True,
        quantity="tumour_volume",
        subject_kind="mice",
        citation=f"{_VAGHI} {_BENZEKRY}",
        upstream=f"data/breast_vol_data.txt of {_PLUMKY}; original deposit Zenodo 3574531",
        caveats="Two values are exactly 0 (mouse34 and mouse43 at day 11): kept here; the "
        "authors drop zero observations before fitting (581 points). Days after "
        "injection (7-38). Benzekry 2014 analysed a breast set of the same LM2-4 model; "
        "that the animals are identical is not established. Authors' conventions: "
        "V0 = Vc = 1 mm^3, lambda_alpha = 0.837, error model combined1 (a + b f).",
        reference_numbers=_VAGHI_ABSTRACT,
    ),
    DatasetInfo(
        name="vaghi2020_breast_fluo",
        description="MDA-MB-231 LM2-4 breast tumours orthotopic in mice, untreated; "
        "whole-tumour bioluminescence (Vaghi 2020)",
        subjects=8,
        points=64,
        unit="photons/s",
        licence="CC-BY 4.0 (paper); data file only, carried by GPL-3.0 repository plumky",
        shipped=True,
        quantity="bioluminescence",
        subject_kind="mice",
        citation=_VAGHI,
        upstream=f"data/breast_fluo_data.txt of {_PLUMKY}; original deposit Zenodo 3593919",
        caveats="The signal is not a volume (unit photons/s, kept as published). Authors' "
        "conversion 1.519e7 photons/s per mm^3, V0 = Vc = 0.08 x that ratio, "
        "lambda_alpha = 0.965. Some series are not monotone (ID 2: 4.0e9 -> 6.0e8 -> "
        "1.16e10). Days 18-52.",
        reference_numbers=_VAGHI_ABSTRACT,
    ),
    DatasetInfo(
        name="laleh2022_lesions",
        description="Target-lesion longest diameters in five atezolizumab/docetaxel trials "
        "(OAK, POPLAR, BIRCH, FIR, IMvigor210; Laleh 2022, via TumorGrowth.jl)",
        subjects=1461,
        points=8416,
        unit="mm",
        licence="CC-BY 4.0 (paper); MIT (TumorGrowth.jl)",
        shipped=True,
        quantity="lesion_longest_diameter",
        subject_kind="lesion records",
        citation="Ghaffari Laleh N, Loeffler CML, Grajek J, Stankova K, Pearson AT, Muti HS, "
        "Trautwein C, Enderling H, Poleszczuk J, Kather JN. Classical mathematical models "
        "for prediction of response to chemotherapy and immunotherapy. PLoS Comput Biol "
        "2022;18(2):e1009822. TumorGrowth.jl (A. Blaom), version 0.3.2.",
        upstream="data/flat_patient_data.csv of ablaom/TumorGrowth.jl 0.3.2, commit 8ed9826 "
        "(20 Nov 2024)",
        caveats="One series = one lesion record (1,452 distinct patient hashes); group = "
        "Study_k_Arm_j (trial names not given per study). time = days from treatment start "
        "(negative = baseline scan). 7 duplicate (record, day) pairs in the source: 6 "
        "identical rows are dropped and 1 conflicting pair (0332bdd7...-S5, day 57: 12 vs "
        "41 mm) keeps the first row, so the Dataset holds 8,409 observations; "
        "`readings(subject)` keeps the source count (641 records have >= 6). Record "
        "0ccda100...-S2 was not in time order (sorted). 370 source diameters are 0 (368 "
        "after dropping duplicates). Count discrepancy: the paper's abstract says 1,472 "
        "patients with >= 3 measurements and 652 with >= 6 (11 more than this file). "
        "Pitfalls in the paper's code: classic Bertalanffy written V^2/3; AIC sign inverted.",
        reference_numbers="TumorGrowth.jl 'Model Battle': mean absolute hold-out error on "
        "the last 2 points of each of the 641 records with >= 6 readings, for 8 models "
        "(exponential, gompertz, logistic, classical_bertalanffy, bertalanffy, "
        "bertalanffy2, neural_1d, neural_2d), fitted to T_weeks vs Lesion_normvol "
        "(normvol) on the earlier points; table reference_tumorgrowthjl_battle_errors. "
        "Paper abstract: 1,472 patients with >= 3 and 652 with >= 6 measurements.",
        references=("tumorgrowthjl_battle_errors",),
    ),
    DatasetInfo(
        name="tumgr_ascent2",
        description="Serial tumour quantity (likely serum PSA) in the control arm of the "
        "ASCENT-2 prostate cancer trial (tumgr example data)",
        subjects=68,
        points=453,
        unit="as_published",
        licence="MIT (tumgr 0.0.4); data shared through Project Data Sphere",
        shipped=True,
        quantity="tumour_quantity_psa_likely",
        subject_kind="patients",
        citation="Wilkerson J. tumgr: Tumor Growth Rate Analysis, R package 0.0.4 (CRAN "
        "2016). Stein WD et al. Clin Cancer Res 2011;17(4):907-917. ASCENT-2 (DN-101 + "
        "docetaxel in androgen-independent prostate cancer; sponsor Novacea), via Project "
        "Data Sphere.",
        upstream="data/sampleData.rda of CRAN tumgr 0.0.4 (cran/tumgr commit 7d88838)",
        caveats="Unit not stated by the package: values 0.06-1,876 fit PSA in ng/mL, so the "
        "unit is kept as 'as_published' (not a size, never converted). The help page says "
        "1250 observations; the file has 453. Days 1-568. tumgr normalises each series by "
        "its first value and uses time = date - date_1 + 1.",
        reference_numbers="tumgr gdrate(sampleData, 0.10, FALSE) (tumgr 0.0.4, minpack.lm "
        "1.2-3, R 4.2.2): 57 patients included, 11 excluded; selected fits gd 25, dx 22, "
        "gdphi 6, gx 4, not fit 5, only 1 eval 5, '2 evals not 20% diff' 1; rates per day "
        "(tables reference_tumgr_gdrate_results and reference_tumgr_gdrate_allest).",
        references=("tumgr_gdrate_results", "tumgr_gdrate_allest"),
    ),
    DatasetInfo(
        name="pdxe2015_brca",
        description="Novartis PDX Encyclopedia, breast subset: one mouse per PDX model x "
        "treatment, volume (Gao 2015, via Xeva)",
        subjects=849,
        points=12717,
        unit="mm^3",
        licence="no explicit licence for the measurements (Gao 2015 supplementary data); "
        "Xeva GPL-3; not redistributed",
        shipped=False,
        quantity="tumour_volume",
        subject_kind="mice (43 PDX models x 22 treatments incl. 39 untreated)",
        citation="Gao H, Korn JM, Ferretti S, et al. High-throughput screening using "
        "patient-derived tumor xenografts to predict clinical trial drug response. Nat Med "
        "2015;21(11):1318-1325. Mer AS et al. (Xeva) Cancer Res 2019;79(17):4539-4550.",
        upstream="data/brca.rda of Bioconductor Xeva 1.23.1 (bhklab/Xeva commit 54c191f)",
        caveats="Not shipped: provide a local copy. time = days from treatment start "
        "(up to 181); 2-50 points per series; 132 volumes are 0 (Xeva adds 1 to all "
        "volumes when V0 = 0). control_subject is the untreated mouse of the same model "
        "('' for the 39 untreated series and 4 'LFW527 + everolimus' series); "
        "body_weight_g is missing on 10 rows. Gao's published metrics were evidently "
        "computed on other (probably untrimmed) series.",
        reference_numbers="Gao 2015 per-series BestResponse = min over t >= 10 d of "
        "100 (V_t - V_0)/V_0, BestAvgResponse, mRECIST (CR/PR/SD/PD) "
        "(reference_gao2015_published in the local copy). Recomputing from these series "
        "reproduces Xeva exactly (max difference 5e-13); against the published values best "
        "response agrees within 0.1 point for 38 % of series, best average response for "
        "66 %, and the class for 77.6 % of the 625 single-class series (140 of 507 "
        "published PD are SD by the formula).",
        references=("gao2015_published",),
    ),
)

#: the catalogue, name -> :class:`DatasetInfo`, in a fixed order
DATASETS: Mapping[str, DatasetInfo] = MappingProxyType({d.name: d for d in _CATALOGUE})

# loader options per data set: duplicate policy, warnings to silence (known and documented)
_DUPLICATES = {"laleh2022_lesions": "first"}
_QUIET = {"laleh2022_lesions"}
_EXTRA_ATTRS: dict[str, dict[str, dict[str, str]]] = {
    "laleh2022_lesions": {
        "volume_mm3": {"units": "mm^3", "long_name": "lesion volume 0.52 d^3"},
        "normvol": {"units": "1", "long_name": "volume / largest volume in the file"},
        "nominal_week": {"units": "week", "long_name": "nominal visit week (0.1 = baseline)"},
        "response_label": {"long_name": "trajectory label of the paper (up/down/flux)"},
    },
    "pdxe2015_brca": {
        "body_weight_g": {"units": "g", "long_name": "body weight"},
        "patient": {"long_name": "PDX model"},
        "drug": {"long_name": "treatment"},
        "control_subject": {"long_name": "untreated mouse of the same PDX model"},
    },
}


# ------------------------------------------------------------------------ lookups


def names() -> list[str]:
    """Names of the data sets, in catalogue order.

    Returns
    -------
    list of str
    """
    return list(DATASETS)


def _entry(name: str) -> DatasetInfo:
    if not isinstance(name, str) or name not in DATASETS:
        raise DataError(f"name must be one of {', '.join(DATASETS)}; got {name!r}")
    return DATASETS[name]


def info(name: str) -> DatasetInfo:
    """Catalogue entry of a data set (``print`` it for a provenance summary).

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    DatasetInfo
    """
    return _entry(name)


def table() -> pd.DataFrame:
    """The catalogue as a DataFrame.

    Returns
    -------
    pandas.DataFrame
        One row per data set: name, description, subjects, points, unit, licence,
        shipped.
    """
    import pandas as pd

    cols = ["name", "description", "subjects", "points", "unit", "licence", "shipped"]
    return pd.DataFrame([{c: getattr(d, c) for c in cols} for d in _CATALOGUE], columns=cols)


def _packaged_dir(name: str) -> Path:
    return Path(str(resources.files(__name__).joinpath("data", name)))


def _find_tidy(folder: Path) -> Path | None:
    for fname in ("tidy.csv", "tidy.csv.gz"):
        if (folder / fname).is_file():
            return folder / fname
    return None


def _locate(name: str, path: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """Folder holding the data set's files, and a description of where it came from."""
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return p.parent, f"local copy {p.parent}"
        for cand in (p, p / name):
            if cand.is_dir() and _find_tidy(cand) is not None:
                return cand, f"local copy {cand}"
        raise FileNotFoundError(
            f"path={str(path)!r}: no tidy.csv (or tidy.csv.gz) for {name!r} there or in "
            f"{str(p / name)!r}; point path at the data set's folder, its tidy.csv, or the "
            "folder that holds one sub-folder per data set"
        )
    entry = _entry(name)
    if entry.shipped:
        folder = _packaged_dir(name)
        if _find_tidy(folder) is not None:
            return folder, "packaged copy"
    env = os.environ.get(ENV_VAR)
    if env:
        cand = Path(env).expanduser() / name
        if _find_tidy(cand) is not None:
            return cand, f"local copy {cand} (${ENV_VAR})"
        where = f"; ${ENV_VAR} is {env!r} but {str(cand / 'tidy.csv')!r} does not exist"
    else:
        where = f"; ${ENV_VAR} is not set"
    if entry.shipped:  # pragma: no cover - only if the installation lost its data files
        reason = "its packaged copy is missing from this installation"
    else:
        reason = f"it is not shipped with tgsim (licence: {entry.licence})"
    raise FileNotFoundError(
        f"data set {name!r} is not available: {reason}{where}. Put a local copy of the data "
        f"set's folder (with tidy.csv, columns subject, group, time, time_unit, value, unit, "
        f"quantity, ...) at $TGSIM_DATA_DIR/{name}/ , or call load({name!r}, path=...) "
        f"with that folder. Upstream source: {entry.upstream}."
    )


def provenance(name: str, *, path: str | os.PathLike[str] | None = None) -> str:
    """Full text of the data set's ``PROVENANCE.md``.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    path : str or os.PathLike, optional
        A local copy to read it from (default: the packaged copy, which exists for every
        data set, shipped or not).

    Returns
    -------
    str
    """
    _entry(name)
    folders = []
    if path is not None:
        folders.append(_locate(name, path)[0])
    folders.append(_packaged_dir(name))
    for folder in folders:
        f = folder / "PROVENANCE.md"
        if f.is_file():
            return f.read_text(encoding="utf-8")
    return DATASETS[name].summary()  # pragma: no cover - packaged file missing


# ------------------------------------------------------------------------ loading


def load(
    name: str,
    *,
    group: str | Sequence[str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> xr.Dataset:
    """Load a data set as a series Dataset.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    group : str or sequence of str, optional
        Keep only subjects whose ``group`` coordinate is (one of) these, e.g. a trial arm
        of ``laleh2022_lesions`` (``"Study_1_Arm_1"``) or a drug of ``pdxe2015_brca``.
    path : str or os.PathLike, optional
        Read a local copy instead of the packaged one: the data set's folder, its
        ``tidy.csv``, or a folder holding ``<name>/tidy.csv``. Without it, data sets not
        shipped are looked for under ``$TGSIM_DATA_DIR/<name>/``.

    Returns
    -------
    xarray.Dataset
        Series layout of :mod:`tgsim.io.series`; attrs add ``name``, ``title``,
        ``provenance`` (full PROVENANCE.md), ``citation``, ``licence``, ``upstream``,
        ``caveats``, ``reference_numbers`` and ``data_origin``. Extra per-record data
        become variables: ``laleh2022_lesions`` has ``response_label``, ``study`` and
        ``readings`` per subject and ``volume_mm3``, ``normvol``, ``nominal_week`` per
        observation; ``pdxe2015_brca`` has ``patient``, ``drug``, ``control_subject`` per
        subject and ``body_weight_g`` per observation.

    Raises
    ------
    DataError
        Unknown ``name`` or ``group``.
    FileNotFoundError
        The data set is not shipped and no local copy was found; the message says where
        to put one.
    """
    import numpy as np

    from ..io.series import read_series

    entry = _entry(name)
    folder, origin = _locate(name, path)
    if path is not None and Path(path).is_file():
        tidy = Path(path)
    else:
        found = _find_tidy(folder)
        assert found is not None
        tidy = found
    with warnings.catch_warnings():
        if name in _QUIET:
            warnings.simplefilter("ignore", TgsimWarning)
        ds = read_series(tidy, duplicates=_DUPLICATES.get(name, "error"))  # type: ignore[arg-type]

    if name == "laleh2022_lesions":
        import pandas as pd

        counts = pd.read_csv(tidy, usecols=["subject"], dtype=str)["subject"].value_counts()
        ds["readings"] = (
            ("subject",),
            counts.reindex(ds["subject"].values).to_numpy(dtype=np.int64),
            {"long_name": "points in the source record (duplicates included)"},
        )
        groups = np.asarray(ds["group"].values).astype(str)
        ds["study"] = (("subject",), np.array([g.split("_Arm")[0] for g in groups]))
    for var, attrs in _EXTRA_ATTRS.get(name, {}).items():
        if var in ds:
            ds[var].attrs.update(attrs)

    ds.attrs.update(
        {
            "name": name,
            "title": entry.description,
            "citation": entry.citation,
            "licence": entry.licence,
            "upstream": entry.upstream,
            "caveats": entry.caveats,
            "reference_numbers": entry.reference_numbers,
            "data_origin": origin,
            "provenance": provenance(name, path=folder if path is not None else None),
        }
    )
    if group is not None:
        ds = _select_groups(ds, name, group)
    return ds


def _select_groups(ds: xr.Dataset, name: str, group: str | Sequence[str]) -> xr.Dataset:
    import numpy as np

    wanted = [group] if isinstance(group, str) else list(group)
    if not wanted or not all(isinstance(g, str) for g in wanted):
        raise DataError(f"group must be a string or a non-empty list of strings; got {group!r}")
    available = list(dict.fromkeys(np.asarray(ds["group"].values).astype(str)))
    unknown = [g for g in wanted if g not in available]
    if unknown:
        raise DataError(
            f"group {unknown[0]!r} is not a group of {name!r}; groups: {', '.join(available)}"
        )
    keep = np.isin(np.asarray(ds["group"].values).astype(str), wanted)
    out = ds.isel(subject=np.flatnonzero(keep))
    width = int(out["n_obs"].max())
    out = out.isel(obs=slice(0, width))
    out.attrs["group_filter"] = ", ".join(wanted)
    return out


# ---------------------------------------------------------------------- references


def references(name: str) -> list[str]:
    """Names of the reference tables of a data set (published numbers to compare with).

    Parameters
    ----------
    name : str
        One of :func:`names`.

    Returns
    -------
    list of str
        Pass one to :func:`reference`.
    """
    return list(_entry(name).references)


def reference(
    name: str, which: str | None = None, *, path: str | os.PathLike[str] | None = None
) -> pd.DataFrame:
    """A reference table (``reference_<which>.csv``) of published or recomputed numbers.

    Parameters
    ----------
    name : str
        One of :func:`names`.
    which : str, optional
        One of :func:`references` ``(name)``; may be omitted when there is only one.
    path : str or os.PathLike, optional
        Local copy to read from (as in :func:`load`).

    Returns
    -------
    pandas.DataFrame
        The table as published (columns unchanged).
    """
    import pandas as pd

    entry = _entry(name)
    if not entry.references:
        raise DataError(f"data set {name!r} has no reference tables")
    if which is None:
        if len(entry.references) > 1:
            raise DataError(
                f"which must be one of {', '.join(entry.references)} for {name!r}; got None"
            )
        which = entry.references[0]
    if which not in entry.references:
        raise DataError(
            f"which must be one of {', '.join(entry.references)} for {name!r}; got {which!r}"
        )
    folder, _ = _locate(name, path)
    for fname in (f"reference_{which}.csv", f"reference_{which}.csv.gz"):
        f = folder / fname
        if f.is_file():
            if f.suffix == ".gz":
                with gzip.open(f, "rt", encoding="utf-8") as fh:
                    return pd.read_csv(fh)
            return pd.read_csv(f)
    raise FileNotFoundError(f"{str(folder)!r}: no reference_{which}.csv for {name!r}")
