"""Target motion: limits respected, holds, fuel, wind drift, EW diversion."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.geo.geodesy import geodesic_inverse
from skyfence.sim.engine import Simulation

from ..conftest import run_all

SENSOR = """
[[sensor]]
id = "adsb"
kind = "adsb"
lat_deg = 54.60
lon_deg = 25.60
alt_m = 200.0
"""


def track(truth: dict[str, np.ndarray], tid: int) -> dict[str, np.ndarray]:
    m = truth["truth_id"] == tid
    return {k: v[m] for k, v in truth.items()}


def heading_rate(tr: dict[str, np.ndarray]) -> np.ndarray:
    hdg = np.degrees(np.arctan2(tr["vel_east_mps"], tr["vel_north_mps"]))
    return ((np.diff(hdg) + 180) % 360 - 180) / np.diff(tr["time"])


def test_fixed_wing_turns_smoothly_within_limits(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[target]]
name = "g"
type = "gerbera"
waypoints = [{ lat_deg = 54.60, lon_deg = 25.60, agl_m = 500 },
             { lat_deg = 54.65, lon_deg = 25.60, agl_m = 500 },
             { lat_deg = 54.65, lon_deg = 25.70, agl_m = 900 },
             { lat_deg = 54.60, lon_deg = 25.70, agl_m = 500 }]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=600)))
    tr = track(truth, 0)
    speed = np.hypot(tr["vel_east_mps"], tr["vel_north_mps"])
    assert speed.max() <= 55.0 + 1e-6
    assert np.median(speed) == pytest.approx(44.0, abs=0.5)
    rate = np.abs(heading_rate(tr))
    assert rate.max() <= 7.0 * 1.01 + 0.05  # never faster than its turn-rate limit
    assert rate.max() > 5.0                  # but it did turn
    assert tr["vel_up_mps"].max() <= 4.0 + 1e-6  # climb limit
    assert tr["alt_m"].max() == pytest.approx(170.0 + 900.0, abs=5.0)


def test_quadcopter_hovers_and_lands(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[target]]
name = "q"
type = "quadcopter"
end = "land"
waypoints = [{ lat_deg = 54.60, lon_deg = 25.60, agl_m = 0 },
             { lat_deg = 54.605, lon_deg = 25.60, agl_m = 60, hold_s = 60 },
             { lat_deg = 54.60, lon_deg = 25.60, agl_m = 30 }]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=300)))
    tr = track(truth, 0)
    speed = np.hypot(tr["vel_east_mps"], tr["vel_north_mps"])
    assert (speed < 0.05).sum() >= 40  # hovering for most of the hold
    assert tr["status"][-1] == "down"
    assert tr["alt_m"][-1] == pytest.approx(170.0)
    d, _, _ = geodesic_inverse(54.60, 25.60, tr["lat_deg"][-1], tr["lon_deg"][-1])
    assert d < 50.0


def test_fixed_wing_cannot_hover_it_orbits(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[target]]
name = "g"
type = "gerbera"
end = "orbit"
waypoints = [{ lat_deg = 54.60, lon_deg = 25.60, agl_m = 500 },
             { lat_deg = 54.62, lon_deg = 25.60, agl_m = 500 }]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=600)))
    tr = track(truth, 0)
    speed = np.hypot(tr["vel_east_mps"], tr["vel_north_mps"])
    assert speed.min() >= 28.0 - 1e-6
    late = tr["time"] > tr["time"][0] + 200
    d, _, _ = geodesic_inverse(54.62, 25.60, tr["lat_deg"][late], tr["lon_deg"][late])
    assert d.max() < 3_000.0  # circles near its last waypoint


def test_out_of_fuel_glides_down(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[target]]
name = "g"
type = "gerbera"
endurance_km = 10.0
waypoints = [{ lat_deg = 54.60, lon_deg = 25.60, agl_m = 400 },
             { lat_deg = 55.60, lon_deg = 25.60, agl_m = 400 }]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=600)))
    tr = track(truth, 0)
    assert tr["status"][-1] == "down"
    d, _, _ = geodesic_inverse(54.60, 25.60, tr["lat_deg"][-1], tr["lon_deg"][-1])
    # 10 km under power, then a glide of about 8 x 400 m
    assert 10_000 + 2_000 < d < 10_000 + 4_500


def test_balloon_drifts_with_the_wind(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[wind]
from_deg = 90.0
speed_mps = 8.0

[[target]]
name = "b"
type = "balloon"
waypoints = [{ lat_deg = 54.60, lon_deg = 25.90, agl_m = 1500 }]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=900)))
    tr = track(truth, 0)
    assert np.mean(tr["vel_east_mps"]) == pytest.approx(-8.0, abs=0.3)  # wind from the east
    assert abs(np.mean(tr["vel_north_mps"])) < 0.3


def test_birds_wander_near_home(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[group]]
kind = "birds"
type = "bird"
count = 30
area = [54.55, 54.65, 25.5, 25.7]
lifetime_s = [1500.0, 1800.0]
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=1800)))
    for tid in np.unique(truth["truth_id"])[:10]:
        tr = track(truth, int(tid))
        d, _, _ = geodesic_inverse(tr["lat_deg"][0], tr["lon_deg"][0], tr["lat_deg"],
                                   tr["lon_deg"])
        assert d.max() < 9_000.0
        speed = np.hypot(tr["vel_east_mps"], tr["vel_north_mps"])
        assert 5.0 < np.median(speed) < 20.0


def test_spoofing_bends_the_true_path(scenario_file) -> None:  # type: ignore[no-untyped-def]
    route = """
waypoints = [{ lat_deg = 54.40, lon_deg = 26.00, agl_m = 500 },
             { lat_deg = 53.00, lon_deg = 26.00, agl_m = 500 }]
"""
    body = SENSOR + f"""
[[target]]
name = "honest"
type = "gerbera"
{route}
[[target]]
name = "spoofed"
type = "gerbera"
{route}
[target.ew]
spoof_start_s = 60.0
spoof_rotation_deg = -120.0
spoof_ramp_s = 120.0
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=1200)))
    honest, spoofed = track(truth, 0), track(truth, 1)
    _, az_h, _ = geodesic_inverse(honest["lat_deg"][0], honest["lon_deg"][0],
                                  honest["lat_deg"][-1], honest["lon_deg"][-1])
    _, az_s, _ = geodesic_inverse(spoofed["lat_deg"][300], spoofed["lon_deg"][300],
                                  spoofed["lat_deg"][-1], spoofed["lon_deg"][-1])
    assert abs(((az_h - 180.0) + 180) % 360 - 180) < 2.0   # the honest one flies south
    # spoofed: the perceived picture is rotated by -120°, so the true course is 180 + 120
    assert abs(((az_s - 300.0) + 180) % 360 - 180) < 5.0
    rate = np.abs(heading_rate(spoofed))
    assert rate.max() <= 7.1  # the bend is flown, not jumped


def test_jamming_makes_it_circle(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = SENSOR + """
[[target]]
name = "j"
type = "gerbera"
waypoints = [{ lat_deg = 54.40, lon_deg = 26.00, agl_m = 500 },
             { lat_deg = 53.00, lon_deg = 26.00, agl_m = 500 }]
[target.ew]
jam_start_s = 60.0
gyro_drift_deg_s = 2.0
"""
    truth, _ = run_all(Simulation(scenario_file(body, duration=1000)))
    tr = track(truth, 0)
    late = tr["time"] > tr["time"][0] + 120
    rate = heading_rate({k: v[late] for k, v in tr.items()})
    assert np.median(rate) == pytest.approx(2.0, abs=0.05)
    d, _, _ = geodesic_inverse(tr["lat_deg"][late][0], tr["lon_deg"][late][0],
                               tr["lat_deg"][late], tr["lon_deg"][late])
    assert d.max() < 3_000.0  # a circle of radius v / ω ≈ 1.26 km
