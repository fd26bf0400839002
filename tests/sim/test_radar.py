"""Radar detection statistics: Pd from the radar equation, clutter, noise, horizon."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.geo.geodesy import aer2geodetic
from skyfence.sim.engine import Simulation
from skyfence.sim.sensors.radar import mean_snr, pd_swerling1, snr_for_pd

from ..conftest import run_all

RADAR = """
[[sensor]]
id = "r1"
kind = "radar3d"
lat_deg = 54.60
lon_deg = 25.60
alt_m = 200.0
max_range_m = 30000.0
scan_period_s = 1.0
sigma_range_m = 10.0
sigma_azimuth_deg = 0.3
sigma_elevation_deg = 0.3
sigma_radial_velocity_mps = 0.5
pd90_range_m = 10000.0
pd90_rcs_dbsm = -20.0
pfa = 1e-6
clutter_per_scan = {clutter}
"""


def hovering(ranges_m: list[float], per_range: int, agl: float = 300.0) -> str:
    """Quadcopters (RCS -20 dBsm) hovering at the given ranges, spread in azimuth."""
    out = []
    k = 0
    for r in ranges_m:
        az = np.linspace(0, 360, per_range, endpoint=False) + 7.0
        lat, lon, _ = aer2geodetic(az, 0.0, r, 54.60, 25.60, 170.0 + agl)
        for la, lo in zip(np.atleast_1d(lat), np.atleast_1d(lon), strict=True):
            out.append(f"""
[[target]]
name = "q{k}"
type = "quadcopter"
waypoints = [{{ lat_deg = {la:.7f}, lon_deg = {lo:.7f}, agl_m = {agl} }},
             {{ lat_deg = {la:.7f}, lon_deg = {lo:.7f}, agl_m = {agl}, hold_s = 100000 }}]
""")
            k += 1
    return "".join(out)


def test_pd_formula_matches_definition() -> None:
    snr = snr_for_pd(0.9, 1e-6)
    assert pd_swerling1(snr, 1e-6) == pytest.approx(0.9)
    # 40 log R: double the range, SNR falls by 12.04 dB
    s1 = mean_snr(10_000.0, -20.0, 10_000.0, -20.0, snr)
    s2 = mean_snr(20_000.0, -20.0, 10_000.0, -20.0, snr)
    assert 10 * np.log10(s1 / s2) == pytest.approx(12.0412, abs=1e-3)
    # 10 dB more RCS is 10 dB more SNR
    assert mean_snr(10_000.0, -10.0, 10_000.0, -20.0, snr) == pytest.approx(10 * s1)


def test_detection_probability_over_many_seeds(scenario_file) -> None:  # type: ignore[no-untyped-def]
    ranges = [6_000.0, 10_000.0, 14_000.0, 18_000.0]
    body = RADAR.format(clutter=0.0) + hovering(ranges, per_range=12)
    hits = {r: 0 for r in ranges}
    trials = {r: 0 for r in ranges}
    for seed in range(4):
        sc = scenario_file(body, duration=150, seed=seed)
        sim = Simulation(sc)
        truth, det = run_all(sim)
        tid = det["truth_id"]
        # looks at each target: the beam passes azimuth az at t_k + az/360 s, and the
        # truth runs from t0 to t0 + 150 s
        radar = sim.sensors[0]
        scans = radar.scans_in(sim.t0 - 5, sim.t0 + 160)
        az = (np.linspace(0, 360, 12, endpoint=False) + 7.0) / 360.0
        looks = scans[:, None] + az[None, :]
        n_looks = int(((looks >= sim.t0) & (looks < sim.t0 + 150)).sum())
        for i, r in enumerate(ranges):
            ids = np.arange(i * 12, (i + 1) * 12)
            hits[r] += int(np.isin(tid, ids).sum())
            trials[r] += n_looks
    snr_ref = snr_for_pd(0.9, 1e-6)
    for r in ranges:
        expected = float(pd_swerling1(mean_snr(r, -20.0, 10_000.0, -20.0, snr_ref), 1e-6))
        got = hits[r] / trials[r]
        sigma = np.sqrt(expected * (1 - expected) / trials[r])
        assert abs(got - expected) < 4 * sigma + 1e-3, (r, got, expected)
    assert hits[6_000.0] > hits[18_000.0]


def test_clutter_is_poisson_and_uniform_in_area(scenario_file) -> None:  # type: ignore[no-untyped-def]
    lam = 20.0
    counts = []
    ranges = []
    for seed in range(5):
        sc = scenario_file(RADAR.format(clutter=lam), duration=200, seed=seed)
        _, det = run_all(Simulation(sc))
        fa = det["truth_id"] < 0
        assert fa.all()  # no targets: everything is clutter
        t = det["time"][fa]
        sim = Simulation(sc)
        # count per scan: scans start at t_first + k
        k = np.floor((t - sim.sensors[0].t_first) / 1.0).astype(int)
        c = np.bincount(k)[1:-2]  # drop the partial first / last scans
        counts.append(c)
        ranges.append(det["range_m"][fa])
    c = np.concatenate(counts)
    assert c.mean() == pytest.approx(lam, rel=0.03)
    assert c.var() / c.mean() == pytest.approx(1.0, abs=0.12)  # Poisson: variance = mean
    r = np.concatenate(ranges)
    # uniform in area out to 30 km: E[r^2] = R^2 / 2 (measurement noise is negligible)
    assert np.mean(r**2) == pytest.approx(30_000.0**2 / 2, rel=0.03)
    # false alarms exceed the threshold: estimated SNR above -ln(Pfa) - 1
    sc = scenario_file(RADAR.format(clutter=lam), duration=30, seed=9)
    _, det = run_all(Simulation(sc))
    assert np.all(det["snr_db"] >= 10 * np.log10(-np.log(1e-6) - 1) - 1e-9)


def test_measurement_noise_matches_sigmas(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(clutter=0.0) + hovering([5_000.0], per_range=10)
    sc = scenario_file(body, duration=300, seed=3)
    truth, det = run_all(Simulation(sc))
    # the hovering targets barely move after the first seconds: compare with the truth
    late = det["time"] > det["time"].min() + 60
    from skyfence.geo.geodesy import geodetic2aer

    tt = truth["time"] > truth["time"].min() + 60
    for i in range(10):
        m = late & (det["truth_id"] == i)
        tm = tt & (truth["truth_id"] == i)
        az, el, rng = geodetic2aer(truth["lat_deg"][tm][0], truth["lon_deg"][tm][0],
                                   truth["alt_m"][tm][0], 54.60, 25.60, 200.0)
        dr = det["range_m"][m] - rng
        assert abs(dr.mean()) < 3.0
        assert dr.std() == pytest.approx(10.0, rel=0.2)
        daz = (det["azimuth_deg"][m] - az + 180) % 360 - 180
        assert daz.std() == pytest.approx(0.3, rel=0.2)


def test_radar_horizon_masks_low_targets(scenario_file) -> None:  # type: ignore[no-untyped-def]
    # radar 30 m above ground: horizon ≈ 22.6 km; a target at 20 m AGL is visible to
    # ≈ 41 km on the 4/3 earth.  At 28 km and 20 m it is masked; at 28 km and 300 m not.
    body = RADAR.format(clutter=0.0).replace("max_range_m = 30000.0", "max_range_m = 60000.0")
    body = body.replace("pd90_range_m = 10000.0", "pd90_range_m = 60000.0")
    body += hovering([45_000.0], per_range=6, agl=20.0).replace('name = "q', 'name = "low')
    body += hovering([45_000.0], per_range=6, agl=600.0).replace('name = "q', 'name = "high')
    sc = scenario_file(body, duration=60, seed=4)
    _, det = run_all(Simulation(sc))
    low = np.isin(det["truth_id"], np.arange(6))
    high = np.isin(det["truth_id"], np.arange(6, 12))
    assert low.sum() == 0
    assert high.sum() > 100
