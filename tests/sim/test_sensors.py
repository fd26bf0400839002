"""Passive and cooperative sensors, latency and dropouts."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.geo.geodesy import aer2geodetic, geodesic_inverse
from skyfence.sim.engine import Simulation

from ..conftest import run_all


def site(id_: str, kind: str, extra: str = "") -> str:
    return f"""
[[sensor]]
id = "{id_}"
kind = "{kind}"
lat_deg = 54.60
lon_deg = 25.60
alt_m = 200.0
{extra}
"""


def straight(name: str, type_: str, az: float, r0: float, r1: float, agl: float,
             extra: str = "") -> str:
    la0, lo0, _ = aer2geodetic(az, 0.0, r0, 54.60, 25.60, 170.0)
    la1, lo1, _ = aer2geodetic(az, 0.0, r1, 54.60, 25.60, 170.0)
    return f"""
[[target]]
name = "{name}"
type = "{type_}"
{extra}
waypoints = [{{ lat_deg = {float(la0):.7f}, lon_deg = {float(lo0):.7f}, agl_m = {agl} }},
             {{ lat_deg = {float(la1):.7f}, lon_deg = {float(lo1):.7f}, agl_m = {agl} }}]
"""


def test_rf_df_hears_only_emitters(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("df", "rf_df", "max_range_m = 10000.0\npd = 0.9\nsigma_azimuth_deg = 2.0")
    body += straight("quad", "quadcopter", 40.0, 3000, 4000, 100)       # emits
    body += straight("shahed", "shahed", 200.0, 3000, 9000, 300)         # silent by default
    body += straight("gerbera", "gerbera", 300.0, 3000, 8000, 300, "emits_rf = false")
    sc = scenario_file(body, duration=100)
    _, det = run_all(Simulation(sc))
    assert set(det["kind"]) == {"bearing"}
    assert set(det["truth_id"].tolist()) == {0}
    err = (det["azimuth_deg"] - 40.0 + 180) % 360 - 180
    assert abs(np.median(err)) < 1.5
    assert np.all(np.isnan(det["range_m"]))


def test_acoustic_short_range_only(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("mic", "acoustic", "max_range_m = 2000.0\npd = 0.9")
    body += straight("near", "shahed", 90.0, 600, 700, 150)
    body += straight("far", "shahed", 270.0, 5000, 5100, 150)
    body += straight("bird", "bird", 180.0, 400, 400, 50).replace(
        "waypoints = [", "waypoints = [").split("             {")[0].rstrip(",\n") + "]\n"
    sc = scenario_file(body, duration=60)
    _, det = run_all(Simulation(sc))
    assert set(det["truth_id"].tolist()) == {0}  # the far drone and the silent bird are not heard


def test_eoir_field_of_view(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("cam", "eoir", "max_range_m = 5000.0\nfov_azimuth_deg = [90.0, 40.0]\npd = 1.0")
    body += straight("in-view", "gerbera", 95.0, 3000, 3300, 300)
    body += straight("behind", "gerbera", 270.0, 3000, 3300, 300)
    body += straight("tiny-far", "quadcopter", 90.0, 4000, 4050, 100)  # 0.4 m: seen to 1 km
    sc = scenario_file(body, duration=20)
    _, det = run_all(Simulation(sc))
    assert set(det["truth_id"].tolist()) == {0}
    assert set(det["kind"]) == {"bearing_elev"}
    assert np.all(det["elevation_deg"] > 0)


def test_adsb_reports_aircraft_position_and_icao(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("adsb", "adsb", "sigma_pos_m = 10.0\npd = 1.0")
    body += straight("jet", "airliner", 10.0, 20_000, 60_000, 10_000, 'icao24 = "4b1a2c"')
    body += straight("decoy", "gerbera", 100.0, 5000, 9000, 300)
    sc = scenario_file(body, duration=60)
    truth, det = run_all(Simulation(sc))
    assert set(det["id_hint"]) == {"4b1a2c"}
    assert set(det["kind"]) == {"position"}
    # the reported positions sit within a few sigma of the truth at the same instant
    t = truth["truth_id"] == 0
    lat = np.interp(det["time"], truth["time"][t], truth["lat_deg"][t])
    lon = np.interp(det["time"], truth["time"][t], truth["lon_deg"][t])
    d, _, _ = geodesic_inverse(lat, lon, det["lat_deg"], det["lon_deg"])
    assert np.median(d) < 20.0
    assert d.max() < 60.0


def test_remote_id_spoofed_position_is_offset(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("rid", "remote_id", "sigma_pos_m = 3.0\npd = 1.0")
    body += straight("honest", "quadcopter", 10.0, 500, 900, 80, 'remote_id = "HONEST01"')
    body += straight("liar", "quadcopter", 200.0, 500, 900, 80,
                     'remote_id = "LIAR0001"\nremote_id_spoof_offset_m = [1500.0, 0.0]')
    sc = scenario_file(body, duration=30)
    truth, det = run_all(Simulation(sc))
    for tid, hint, lo, hi in ((0, "HONEST01", 0, 20), (1, "LIAR0001", 1400, 1600)):
        m = det["id_hint"] == hint
        assert m.sum() > 20
        t = truth["truth_id"] == tid
        lat = np.interp(det["time"][m], truth["time"][t], truth["lat_deg"][t])
        lon = np.interp(det["time"][m], truth["time"][t], truth["lon_deg"][t])
        d, az, _ = geodesic_inverse(lat, lon, det["lat_deg"][m], det["lon_deg"][m])
        assert lo <= np.median(d) <= hi


def test_latency_and_dropouts(scenario_file) -> None:  # type: ignore[no-untyped-def]
    extra = ("latency_s = 0.8\nlatency_jitter_s = 0.2\ndropout_per_hour = 30.0\n"
             "dropout_mean_s = 60.0\nclutter_per_scan = 10.0")
    body = site("r", "radar3d", extra)
    sc = scenario_file(body, duration=1800, seed=5)
    sim = Simulation(sc)
    _, det = run_all(sim)
    lag = det["arrival_time"] - det["time"]
    assert lag.min() >= 0.8
    assert lag.mean() == pytest.approx(1.0, abs=0.05)
    radar = sim.sensors[0]
    assert len(radar.outages) > 3
    assert not radar.in_outage(det["time"]).any()
    # every outage left a hole in the clutter: no report inside it
    for a, b in radar.outages:
        if b - a > 5 and a > sim.t0 and b < sim.t0 + 1800:
            assert not ((det["time"] >= a) & (det["time"] < b)).any()


def test_detections_sorted_and_deterministic(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = site("r", "radar3d", "clutter_per_scan = 5.0")
    body += straight("a", "gerbera", 45.0, 2000, 15000, 400)
    a = run_all(Simulation(scenario_file(body, duration=200, seed=11)))
    b = run_all(Simulation(scenario_file(body, duration=200, seed=11)))
    c = run_all(Simulation(scenario_file(body, duration=200, seed=12)))
    assert np.all(np.diff(a[1]["time"]) >= 0)
    for k in a[1]:
        assert np.array_equal(a[1][k].astype(str), b[1][k].astype(str)), k
    assert not np.array_equal(a[1]["range_m"][:50], c[1]["range_m"][:50])
