"""Single-subject scenarios: pseudoprogression under working immunotherapy, and
treatment-induced hyperprogression."""

from __future__ import annotations

import numpy as np

import tgsim
from tgsim.clinical.kinetics import tumour_growth_rate
from tgsim.cohort.readouts import (
    IRECIST_CODES,
    RECIST_CODES,
    ReadoutSettings,
    ScanProtocol,
    irecist_timepoints,
    readout_chunk,
    recist_timepoints,
)
from tgsim.observe import sphere_diameter
from tgsim.simulation import simulate

# Gompertz tumour of 8000 mm^3 (25 mm) growing at r ln(K/V0) = 1.2 %/day; the therapy's
# kill (0.025/day) exceeds that, so the tumour shrinks towards K exp(-k/r) = 284 mm^3;
# the infiltrate grows with 0.12 mm^3 per mm^3 of tumour per day, cleared at 0.04/day
# (half-life 17 days).
PSEUDO = {"initial_volume": 8000.0, "growth_rate": 0.004, "carrying_capacity": 1.5e5}
THERAPY = tgsim.Immunotherapy(0, 365, kill_rate=0.025,
                              swelling=tgsim.Swelling(infiltration_rate=0.12,
                                                      clearance_rate=0.04))
SCANS = np.arange(0.0, 365.0, 56.0)  # every 8 weeks


def test_pseudoprogression_single_subject():
    t = np.unique(np.concatenate([np.arange(0.0, 365.0, 1.0), SCANS]))
    ds = simulate("gompertz", t, PSEUDO, schedule=[THERAPY])
    vol = ds.volume.values[0]
    obs = ds.observed.values[0]
    # the tumour itself shrinks throughout
    assert np.all(np.diff(vol) < 0)
    at = {d: int(np.flatnonzero(t == d)[0]) for d in SCANS}
    first = SCANS[1]
    assert 42.0 <= first <= 84.0  # the first scan falls 6-12 weeks into therapy
    # the observed size rises >= 20 % above baseline at the first scan ...
    assert obs[at[first]] >= 1.2 * obs[0]
    # ... and later falls below baseline
    later = [d for d in SCANS[2:] if obs[at[d]] < obs[0]]
    assert later and later[0] <= 168.0
    # which scan RECIST calls progression: the first one, on the observed size; the tumour
    # alone is a partial response by then
    d_obs = sphere_diameter(np.array([obs[at[d]] for d in SCANS]))[None, :]
    d_tum = sphere_diameter(np.array([vol[at[d]] for d in SCANS]))[None, :]
    calls = [RECIST_CODES[c] for c in recist_timepoints(d_obs)[0]]
    assert calls[0] == "PD"
    assert d_obs[0, 1] - d_obs[0, 0] >= 5.0  # the 5 mm rule holds too
    assert RECIST_CODES[recist_timepoints(d_tum)[0, 0]] in ("PR", "SD")
    assert "PD" not in [RECIST_CODES[c] for c in recist_timepoints(d_tum)[0]]
    # iRECIST: unconfirmed at the first scan, and the next scan resets it
    icalls = [IRECIST_CODES[c] for c in irecist_timepoints(d_obs, SCANS)[0]]
    assert icalls[0] == "iUPD" and icalls[1] != "iCPD" and "iCPD" not in icalls


def test_pseudoprogression_readouts_tell_swelling_from_tumour():
    t = np.arange(0.0, 365.0, 7.0)
    ds = simulate("gompertz", t, PSEUDO, schedule=[THERAPY])
    obs = ScanProtocol(days=list(SCANS))
    ro = ReadoutSettings(irecist=True)
    idx = np.searchsorted(t, SCANS)
    measured = sphere_diameter(ds.observed.values[:, idx])
    tumour = sphere_diameter(ds.volume.values[:, idx])
    m = readout_chunk(ro, obs, SCANS, measured)
    tr = readout_chunk(ro, obs, SCANS, tumour)
    assert RECIST_CODES[m["recist_bor"][0]] == "PD" and m["progressed"][0]
    assert m["time_to_progression"][0] == SCANS[1]
    assert not tr["progressed"][0]
    assert m["iupd"][0] and not m["icpd"][0]


def test_hyperprogression_single_subject():
    # Gompertz tumour scanned 8 weeks before treatment and at treatment start; the therapy
    # multiplies the growth term by 4 from its start (and kills a little)
    t = np.arange(-56.0, 113.0, 7.0)
    params = {"initial_volume": 3000.0, "growth_rate": 0.005, "carrying_capacity": 1.5e5}
    hpd = tgsim.Immunotherapy(0, 365, kill_rate=0.005,
                              acceleration=tgsim.Acceleration(onset_day=0, factor=4.0))
    plain = tgsim.Immunotherapy(0, 365, kill_rate=0.005)
    days = np.array([-56.0, 0.0, 56.0])
    idx = np.searchsorted(t, days)
    ratios = {}
    for name, therapy in (("hpd", hpd), ("plain", plain)):
        ds = simulate("gompertz", t, params, schedule=[therapy], t0=-56.0)
        d = sphere_diameter(ds.volume.values[0, idx])
        pre, on = tumour_growth_rate(days, d)  # % per month, reference and on treatment
        ratios[name] = on / pre
        # the same ratio from the specific growth rate of the volume
        v = ds.volume.values[0, idx]
        sgr = np.diff(np.log(v)) / np.diff(days)
        assert np.sign(sgr[1] / sgr[0] - 1) == np.sign(on / pre - 1)
        out = readout_chunk(ReadoutSettings(hyperprogression=("champiat2017", "ferrara2018")),
                            ScanProtocol(days=list(days)), days, d[None, :])
        if name == "hpd":
            assert out["hyperprogression"][0].tolist() == [1.0, 1.0]
        else:
            assert out["hyperprogression"][0].tolist() == [0.0, 0.0]
    assert ratios["hpd"] >= 2.0
    assert ratios["plain"] < 1.0  # Gompertz growth decelerates on its own
