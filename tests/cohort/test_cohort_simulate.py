"""simulate_cohort: layout, agreement with simulate(), scenarios, reproducibility, Zarr, Dask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import tgsim
from tgsim.cohort.readouts import ReadoutSettings, ScanProtocol
from tgsim.cohort.simulate import Scenario, apply_effects, have_dask, scenario_grid, simulate_cohort
from tgsim.cohort.virtual import LogNormal, VirtualPopulation
from tgsim.errors import TgsimError, TgsimWarning
from tgsim.observe import ProportionalError
from tgsim.simulation import simulate

TIMES = np.arange(0.0, 169.0, 7.0)
SCEN = {
    "untreated": None,
    "surgery": [tgsim.Surgery(28, 0.9)],
    "chemo": [tgsim.Chemotherapy([0, 21, 42], dose=2.0, half_life_days=1.0, kill_rate=0.3)],
}


def test_layout_units_and_coordinates(gompertz_population):
    ds = simulate_cohort("gompertz", TIMES, gompertz_population, 40, seed=1, scenarios=SCEN,
                         observation=ScanProtocol(every_days="8w"),
                         readouts=ReadoutSettings(burden_days=(84.0,)))
    assert ds.volume.dims == ("scenario", "subject", "time")
    assert ds.volume.shape == (3, 40, TIMES.size)
    assert ds.volume.attrs["units"] == "mm^3" and ds.time.attrs["units"] == "day"
    assert list(ds.scenario.values) == ["untreated", "surgery", "chemo"]
    assert list(ds.solver.values) == ["closed_form", "closed_form", "ode"]
    assert ds.parameters.dims == ("scenario", "subject", "param")
    assert ds.status.dims == ("scenario", "subject") and int(ds.status.max()) == 0
    assert "observed" not in ds  # no swelling anywhere: the observed size is the volume
    assert ds.diameter_mm.attrs["units"] == "mm" and ds.day.attrs["units"] == "day"
    assert ds.burden.dims == ("scenario", "subject", "burden_day")
    np.testing.assert_array_equal(ds.burden.sel(burden_day=84.0),
                                  ds.volume.sel(time=84.0))
    assert ds.attrs["seed"] == "1" and ds.attrs["model"] == "gompertz"
    # every scenario sees the same subjects
    p = ds.parameters.values
    np.testing.assert_array_equal(p[0], p[1])
    np.testing.assert_array_equal(p[0], p[2])


def test_each_scenario_equals_simulate_on_the_same_subjects(gompertz_population):
    ds = simulate_cohort("gompertz", TIMES, gompertz_population, 30, seed=9, scenarios=SCEN)
    draw = gompertz_population.sample(30, 9)
    for name, sched in SCEN.items():
        ref = simulate("gompertz", TIMES, {k: draw[k].to_numpy() for k in draw},
                             schedule=sched)
        np.testing.assert_array_equal(ds.volume.sel(scenario=name).values, ref.volume.values)


def test_scenario_parameter_overrides(gompertz_population):
    sc = [Scenario("base"), Scenario("big_plateau", parameters={"K": 4e5})]
    ds = simulate_cohort("gompertz", TIMES, gompertz_population, 20, seed=2, scenarios=sc)
    k = ds.parameters.sel(param="carrying_capacity")
    assert np.all(k.sel(scenario="big_plateau") == 4e5)
    assert not np.all(k.sel(scenario="base") == 4e5)
    v = ds.volume.isel(time=-1)
    assert np.all(v.sel(scenario="big_plateau") > v.sel(scenario="base"))


def test_effect_parameters_match_an_explicit_per_subject_schedule():
    pop = VirtualPopulation("gompertz", {"initial_volume": LogNormal(2000.0, 0.4),
                                  "growth_rate": 0.006, "carrying_capacity": 1e5,
                                  "immunotherapy.kill_rate": LogNormal(0.02, 0.5)})
    io = tgsim.Immunotherapy(0, 120, kill_rate=0.02,
                             swelling=tgsim.Swelling(infiltration_rate=0.05, clearance_rate=0.04))
    ds = simulate_cohort("gompertz", TIMES, pop, 25, seed=4,
                         scenarios={"io": [io], "no_kill": Scenario(
                             "no_kill", [io], parameters={"immunotherapy.kill_rate": 0.0})})
    draw = pop.sample(25, 4)
    kill = draw["immunotherapy.kill_rate"].to_numpy()
    ref = simulate("gompertz", TIMES, {k: draw[k].to_numpy() for k in
                                             ("initial_volume", "growth_rate",
                                              "carrying_capacity")},
                         schedule=[tgsim.Immunotherapy(0, 120, kill_rate=kill,
                                                       swelling=io.swelling)])
    np.testing.assert_array_equal(ds.volume.sel(scenario="io").values, ref.volume.values)
    np.testing.assert_array_equal(ds.observed.sel(scenario="io").values, ref.observed.values)
    np.testing.assert_array_equal(ds.effects.sel(effect="immunotherapy.kill_rate").values, kill)
    # the override switches the kill off in its scenario only
    assert np.all(ds.volume.sel(scenario="no_kill").isel(time=-1)
                  > ds.volume.sel(scenario="io").isel(time=-1))


def test_apply_effects_matches_by_exact_type():
    sched = tgsim.Schedule([tgsim.TargetedTherapy(0, 10, 0.1),
                            tgsim.Immunotherapy(20, 30, 0.2)])
    out = apply_effects(sched, {"immunotherapy.kill_rate": np.array([0.5, 0.6])})
    assert out.interventions[0].kill_rate == 0.1
    np.testing.assert_array_equal(out.interventions[1].kill_rate, [0.5, 0.6])


def test_scenario_grid():
    grid = scenario_grid(
        {"surgery": {"day30": [tgsim.Surgery(30, 0.9)], "day60": [tgsim.Surgery(60, 0.9)]},
         "acceleration": {"none": None,
                          "x2": Scenario("x2", [tgsim.Acceleration(0, 2.0)],
                                         parameters={"growth_rate": 0.01})}},
        common=[tgsim.TargetedTherapy(0, 100, 0.01)],
    )
    assert [s.name for s in grid] == ["day30/none", "day30/x2", "day60/none", "day60/x2"]
    assert grid[1].labels == {"surgery": "day30", "acceleration": "x2"}
    assert len(grid[1].schedule) == 3 and grid[1].parameters == {"growth_rate": 0.01}
    pop = VirtualPopulation("gompertz", {"initial_volume": LogNormal(1000.0, 0.3)})
    ds = simulate_cohort("gompertz", TIMES, pop, 5, seed=1, scenarios=grid)
    assert list(ds["surgery"].values) == ["day30", "day30", "day60", "day60"]
    assert list(ds["acceleration"].values) == ["none", "x2", "none", "x2"]


def test_failed_subjects_are_flagged_not_fatal():
    pop = VirtualPopulation("gompertz", {"initial_volume": LogNormal(1000.0, 0.3)})
    chemo = [tgsim.Chemotherapy([0, 21], dose=1.0, half_life_days=1.0, kill_rate=0.3)]
    with pytest.warns(TgsimWarning, match="subject-scenario simulation"):
        ds = simulate_cohort("gompertz", TIMES, pop, 6, seed=1, scenarios={"c": chemo},
                             max_steps=3, observation=ScanProtocol(every_days=56),
                             readouts=ReadoutSettings())
    assert np.all(ds.status.values == int(tgsim.errors.Status.MAX_STEPS))
    assert np.all(ds.recist_bor.values == 4)  # NE


def test_bad_arguments(gompertz_population):
    with pytest.raises(TgsimError, match="`n` must be an integer >= 1"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 0)
    with pytest.raises(TgsimError, match="strictly increasing"):
        simulate_cohort("gompertz", [0, 2, 1], gompertz_population, 3)
    with pytest.raises(TgsimError, match="scenario names must be unique"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 3,
                        scenarios=[Scenario("a"), Scenario("a")])
    with pytest.raises(TgsimError, match="need an `observation`"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 3, readouts=ReadoutSettings())
    with pytest.raises(TgsimError, match="burden day 3 is not one of the simulated times"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 3,
                        readouts=ReadoutSettings(recist=False, burden_days=(3.0,)))
    with pytest.raises(TgsimError, match="is for model 'gompertz', not 'logistic'"):
        simulate_cohort("logistic", TIMES, gompertz_population, 3)
    with pytest.raises(TgsimError, match=r"Surgery.resected_fraction has 3 values.*effect "
                                         r"parameters"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 3,
                        scenarios={"s": [tgsim.Surgery(10, [0.5, 0.6, 0.7])]})
    with pytest.raises(TgsimError, match="scenario 'x': model 'gompertz' has no parameter"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 3,
                        scenarios=[Scenario("x", parameters={"bogus": 1.0})])


# ------------------------------------------------------------------ reproducibility
def _swelling_cohort(chunk_size: int, **kw):
    pop = VirtualPopulation("gompertz", {
        "initial_volume": LogNormal(6000.0, 0.5), "growth_rate": LogNormal(0.005, 0.3),
        "carrying_capacity": LogNormal(1.5e5, 0.3),
        "immunotherapy.swelling.infiltration_rate": LogNormal(0.05, 0.8)})
    io = tgsim.Immunotherapy(0, 200, kill_rate=0.02, swelling=tgsim.Swelling(0.05, 0.04))
    return simulate_cohort(
        "gompertz", TIMES, pop, 2500, seed=123, chunk_size=chunk_size,
        scenarios={"untreated": None, "io": [io]},
        observation=ScanProtocol(every_days=42, error=ProportionalError(0.1),
                                detection_limit_mm=5.0),
        readouts=ReadoutSettings(irecist=True, threshold_growth=True), **kw)


def test_same_seed_same_dataset_across_chunk_sizes_and_threads():
    import numba

    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = _swelling_cohort(1_000, scheduler="synchronous")
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        b = _swelling_cohort(100_000, scheduler="synchronous")
    finally:
        numba.set_num_threads(before)
    xr.testing.assert_identical(a, b)
    assert a.sizes["subject"] == 2500 and "true_diameter_mm" in a
    # the measurement error is really there, and shared by the scenarios
    err = a.diameter_mm / a.true_diameter_mm
    assert float(err.std()) > 0.05
    r = (a.diameter_mm.sel(scenario="io") / a.true_diameter_mm.sel(scenario="io")).values
    r0 = (a.diameter_mm.sel(scenario="untreated")
          / a.true_diameter_mm.sel(scenario="untreated")).values
    ok = np.isfinite(r) & np.isfinite(r0)
    np.testing.assert_allclose(r[ok], r0[ok], rtol=1e-12)


def test_zarr_stream_equals_in_memory(tmp_path, gompertz_population):
    pytest.importorskip("zarr")
    kw = dict(seed=5, scenarios=SCEN, observation=ScanProtocol(every_days=56),
              readouts=ReadoutSettings(burden_days=(56.0,)))
    mem = simulate_cohort("gompertz", TIMES, gompertz_population, 250, chunk_size=100,
                          scheduler="synchronous", **kw)
    store = tmp_path / "cohort.zarr"
    lazy = simulate_cohort("gompertz", TIMES, gompertz_population, 250, chunk_size=100,
                           scheduler="synchronous", store=store, **kw)
    xr.testing.assert_identical(mem, lazy.load())
    with pytest.raises(TgsimError, match="already exists"):
        simulate_cohort("gompertz", TIMES, gompertz_population, 5, store=store)


@pytest.mark.skipif(not have_dask(), reason="dask.distributed not installed")
def test_dask_cluster_gives_identical_results(tmp_path, gompertz_population):
    from distributed import LocalCluster

    kw = dict(seed=8, scenarios=SCEN, observation=ScanProtocol(every_days=56),
              readouts=ReadoutSettings(irecist=True))
    ref = simulate_cohort("gompertz", TIMES, gompertz_population, 300, chunk_size=100,
                          scheduler="synchronous", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            got = simulate_cohort("gompertz", TIMES, gompertz_population, 300, chunk_size=100,
                                  scheduler=cluster.scheduler_address, **kw)
            store = tmp_path / "c.zarr"
            lazy = simulate_cohort("gompertz", TIMES, gompertz_population, 300,
                                   chunk_size=100, scheduler=cluster.scheduler_address,
                                   store=store, **kw)
            assert lazy.volume.chunks[1] == (100, 100, 100)
            streamed = lazy.load()
    xr.testing.assert_identical(ref, got)
    xr.testing.assert_identical(ref, streamed)
