"""tgsim.datasets: catalogue, loaders (layout and counts), packaged copies, licences."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import tgsim.datasets as tds
from tgsim.errors import DataError
from tgsim.io.series import read_series, write_series

PACKAGE_DATA = Path(tds.__file__).parent / "data"

# name -> (subjects, source rows, observations in the Dataset, unit, quantity)
EXPECTED = {
    "benzekry2014_lung": (20, 188, 188, "mm^3", "tumour_volume"),
    "vaghi2020_breast": (66, 583, 583, "mm^3", "tumour_volume"),
    "vaghi2020_breast_fluo": (8, 64, 64, "photons/s", "bioluminescence"),
    "laleh2022_lesions": (1461, 8416, 8409, "mm", "lesion_longest_diameter"),
    "tumgr_ascent2": (68, 453, 453, "as_published", "tumour_quantity_psa_likely"),
    "pdxe2015_brca": (849, 12717, 12717, "mm^3", "tumour_volume"),
}
SHIPPED = [n for n in EXPECTED if n != "pdxe2015_brca"]


@pytest.fixture(scope="module")
def loaded() -> dict:
    """Each shipped data set, loaded once for the module."""
    return {name: tds.load(name) for name in SHIPPED}


def test_catalogue():
    assert tds.names() == list(EXPECTED)
    assert list(tds.DATASETS) == tds.names()
    for name, (subjects, points, _, unit, quantity) in EXPECTED.items():
        entry = tds.DATASETS[name]
        assert entry.name == name
        assert (entry.subjects, entry.points, entry.unit) == (subjects, points, unit)
        assert entry.quantity == quantity
        assert entry.shipped == (name in SHIPPED)
        assert entry.licence and entry.citation and entry.upstream and entry.description
        assert entry.reference_numbers and entry.caveats
        assert name in str(tds.info(name)) and entry.licence[:10] in str(tds.info(name))
    frame = tds.table()
    assert list(frame.columns) == [
        "name",
        "description",
        "subjects",
        "points",
        "unit",
        "licence",
        "shipped",
    ]
    assert frame["shipped"].tolist() == [n in SHIPPED for n in EXPECTED]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_loader_layout_and_counts(assert_layout, loaded, name):
    ds = loaded[name]
    subjects, _, observations, unit, quantity = EXPECTED[name]
    assert_layout(ds)
    assert ds.sizes["subject"] == subjects
    assert int(ds.n_obs.sum()) == observations
    assert ds.value.attrs["units"] == unit
    assert ds.attrs["quantity"] == quantity
    for key in (
        "name",
        "provenance",
        "citation",
        "licence",
        "caveats",
        "reference_numbers",
        "source",
        "upstream",
    ):
        assert isinstance(ds.attrs[key], str) and ds.attrs[key], key
    assert ds.attrs["name"] == name
    assert ds.attrs["provenance"].startswith(f"# {name}")
    assert ds.attrs["data_origin"] == "packaged copy"
    assert "group" in ds.coords
    assert not ds.censored.any()


def test_animal_counts_match_vaghi_abstract(loaded):
    lung, breast, fluo = (
        loaded[n] for n in ("benzekry2014_lung", "vaghi2020_breast", "vaghi2020_breast_fluo")
    )
    assert breast.attrs["n_zero_values"] == 2
    assert "mouse34 at day 11" in breast.attrs["zero_values"]
    assert "mouse43 at day 11" in breast.attrs["zero_values"]
    nonzero = sum(int((d.value > 0).sum()) for d in (lung, breast, fluo))
    assert nonzero == 833  # "833 measurements in 94 animals"
    assert sum(d.sizes["subject"] for d in (lung, breast, fluo)) == 94
    assert float(lung.time.min()) == 4 and float(lung.time.max()) == 24
    assert lung.attrs["n_zero_values"] == 0 and fluo.attrs["n_zero_values"] == 0


def test_laleh_lesions(loaded):
    ds = loaded["laleh2022_lesions"]
    assert ds["response_label"].dims == ("subject",)
    assert set(np.unique(ds["response_label"].values)) == {"up", "down", "flux"}
    for var in ("volume_mm3", "normvol", "nominal_week"):
        assert ds[var].dims == ("subject", "obs")
    assert ds["volume_mm3"].attrs["units"] == "mm^3"
    valid = ~np.isnan(ds.value.values)
    np.testing.assert_allclose(
        ds["volume_mm3"].values[valid], 0.52 * ds.value.values[valid] ** 3, rtol=1e-9
    )
    assert int(ds["readings"].sum()) == 8416
    assert int((ds["readings"] >= 6).sum()) == 641
    assert int((ds["n_obs"] >= 6).sum()) == 641
    assert len(np.unique(ds.group.values)) == 14
    assert len(np.unique(ds.study.values)) == 5
    assert len({s.split("-")[0] for s in ds.subject.values}) == 1452
    assert ds.attrs["n_zero_values"] == 368
    assert "0332bdd735b55b898d994c7449d52dec-S5, day 57" in ds.attrs["duplicates_dropped"]
    conflict = ds.sel(subject="0332bdd735b55b898d994c7449d52dec-S5")
    assert conflict.value.values[: int(conflict.n_obs)].tolist() == [10.0, 12.0, 14.0]
    assert float(ds.time.min()) < 0  # baseline scans before treatment start
    per_arm = {
        g: int(ds.readings.where(ds.group == g).sum()) for g in ("Study_4_Arm_2", "Study_1_Arm_3")
    }
    assert per_arm == {"Study_4_Arm_2": 2432, "Study_1_Arm_3": 45}


def test_laleh_battle_reference_order_matches_dataset(loaded):
    ds = loaded["laleh2022_lesions"]
    ref = tds.reference("laleh2022_lesions")
    assert ref.shape[0] == 641
    six = ds.subject.values[ds.readings.values >= 6]
    assert ref["Pt_hashID"].tolist() == list(six)
    assert ref["readings"].tolist() == ds.readings.sel(subject=six).values.tolist()


def test_tumgr(loaded):
    ds = loaded["tumgr_ascent2"]
    assert float(ds.value.min()) == 0.06
    assert float(ds.time.min()) == 1 and float(ds.time.max()) == 568
    assert tds.references("tumgr_ascent2") == ["tumgr_gdrate_results", "tumgr_gdrate_allest"]
    res = tds.reference("tumgr_ascent2", "tumgr_gdrate_results")
    assert res.shape[0] == 68
    assert res["type"].value_counts().to_dict() == {"included": 57, "excluded": 11}
    assert sorted("pt" + str(n) for n in res["name"]) == sorted(ds.subject.values)
    with pytest.raises(DataError, match="which must be one of"):
        tds.reference("tumgr_ascent2")


def test_group_filter(assert_layout):
    ds = tds.load("laleh2022_lesions", group="Study_1_Arm_3")
    assert_layout(ds)
    assert int(ds.readings.sum()) == 45
    assert set(ds.group.values) == {"Study_1_Arm_3"}
    both = tds.load("laleh2022_lesions", group=["Study_1_Arm_1", "Study_1_Arm_3"])
    assert int(both.readings.sum()) == 127 + 45
    with pytest.raises(DataError, match="group 'Study_9' is not a group of .*Study_1_Arm_1"):
        tds.load("laleh2022_lesions", group="Study_9")
    with pytest.raises(DataError, match="group must be"):
        tds.load("benzekry2014_lung", group=[])


def test_unknown_name():
    with pytest.raises(DataError, match="name must be one of benzekry2014_lung"):
        tds.load("benzekry")
    with pytest.raises(DataError):
        tds.info("nope")


def test_unshipped_without_local_copy(monkeypatch, tmp_path):
    monkeypatch.delenv(tds.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match=r"not shipped.*TGSIM_DATA_DIR/pdxe2015_brca/"):
        tds.load("pdxe2015_brca")
    monkeypatch.setenv(tds.ENV_VAR, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tds.load("pdxe2015_brca")
    with pytest.raises(FileNotFoundError, match="path="):
        tds.load("pdxe2015_brca", path=tmp_path)
    # the provenance text ships even though the data do not
    assert "do not ship" in tds.provenance("pdxe2015_brca")


def test_pdxe_from_local_copy(assert_layout, shared_data, monkeypatch):
    monkeypatch.setenv(tds.ENV_VAR, str(shared_data))
    ds = tds.load("pdxe2015_brca")
    assert ds.attrs["data_origin"].startswith("local copy")
    assert_layout(ds)
    assert ds.sizes["subject"] == 849 and int(ds.n_obs.sum()) == 12717
    assert ds.value.attrs["units"] == "mm^3"
    for var in ("patient", "drug", "control_subject"):
        assert ds[var].dims == ("subject",)
    assert ds["body_weight_g"].dims == ("subject", "obs")
    assert len(np.unique(ds.patient.values)) == 43
    assert len(np.unique(ds.drug.values)) == 22
    assert int((ds.drug == "untreated").sum()) == 39
    assert 2 <= int(ds.n_obs.min()) and int(ds.n_obs.max()) == 50
    assert float(ds.time.max()) == 181
    controls = ds.control_subject.values
    treated = ds.drug.values != "untreated"
    assert set(controls[treated & (controls != "")]) <= set(ds.subject.values[~treated])
    via_path = tds.load("pdxe2015_brca", path=shared_data / "pdxe2015_brca", group="untreated")
    assert via_path.sizes["subject"] == 39
    ref = tds.reference("pdxe2015_brca")
    assert ref.shape[0] == 849


@pytest.mark.parametrize("name", SHIPPED)
def test_load_from_local_copy_equals_packaged(shared_data, loaded, name):
    local = tds.load(name, path=shared_data)
    a, b = loaded[name], local
    for var in a.data_vars:
        np.testing.assert_array_equal(a[var].values, b[var].values)
    np.testing.assert_array_equal(a.subject.values, b.subject.values)


def _read_packaged(path: Path) -> bytes:
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


@pytest.mark.parametrize("name", list(EXPECTED))
def test_packaged_copy_equals_shared_copy(shared_data, name):
    folder = PACKAGE_DATA / name
    files = sorted(p for p in folder.iterdir() if p.is_file())
    assert files
    for packaged in files:
        shared_name = packaged.name.removesuffix(".gz")
        shared = shared_data / name / shared_name
        assert shared.is_file(), shared
        assert _read_packaged(packaged) == shared.read_bytes(), packaged.name
    # every reference table of a shipped set is packaged
    if tds.DATASETS[name].shipped:
        shared_refs = {p.name for p in (shared_data / name).glob("reference_*.csv")}
        packaged_refs = {p.name.removesuffix(".gz") for p in folder.glob("reference_*")}
        assert shared_refs == packaged_refs


def test_unshipped_data_are_not_packaged():
    for name, entry in tds.DATASETS.items():
        folder = PACKAGE_DATA / name
        has_data = any(folder.glob("tidy.csv*")) or any(folder.glob("reference_*"))
        assert has_data == entry.shipped, name
        assert (folder / "PROVENANCE.md").is_file()


def test_package_is_small():
    total = sum(p.stat().st_size for p in PACKAGE_DATA.rglob("*") if p.is_file())
    assert total < 2_000_000


@pytest.mark.parametrize("name", SHIPPED)
def test_round_trip_of_packaged_sets(loaded, tmp_path, name):
    ds = loaded[name]
    back = read_series(write_series(ds, tmp_path / f"{name}.csv"))
    for var in ds.data_vars:
        np.testing.assert_array_equal(ds[var].values, back[var].values, err_msg=var)
    assert back.value.attrs == ds.value.attrs
    assert back.attrs["quantity"] == ds.attrs["quantity"]
