"""Tests of the PCRLB of skyfence.eval.harness: hand-made truth and detections, known answers."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.eval import harness
from skyfence.eval.continuity import track_continuity
from skyfence.eval.harness import position_bound, rmse_vs_bound
from skyfence.eval.pcrlb import probability_within
from skyfence.geo.geodesy import geodetic2aer, geodetic2enu
from skyfence.sim.scenario import Scenario
from skyfence.track.config import TrackerConfig

T0 = 1_760_000_000.0


def _scenario(*sensors: dict, dt_s: float = 1.0) -> Scenario:
    return Scenario.model_validate({
        "scenario": {"name": "bound-test", "start_time": "2025-10-09T08:53:20Z",
                     "duration_s": 60.0, "dt_s": dt_s, "terrain_alt_m": 100.0},
        "sensor": list(sensors)})


def _truth(steps: int, tid: int, lat: np.ndarray, lon: np.ndarray, alt: np.ndarray,
           dt_s: float = 1.0) -> dict[str, np.ndarray]:
    z = np.zeros(steps)
    return {"time": T0 + dt_s * np.arange(steps), "truth_id": np.full(steps, tid),
            "lat_deg": lat + z, "lon_deg": lon + z, "alt_m": alt + z, "vel_east_mps": z + 20.0,
            "vel_north_mps": z - 5.0, "vel_up_mps": z}


def _join(*tables: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([t[k] for t in tables]) for k in tables[0]}


def _det(times: list[float], sensor: list[str], tid: list[int]) -> dict[str, np.ndarray]:
    return {"time": np.asarray(times, dtype=float), "sensor_id": np.asarray(sensor),
            "truth_id": np.asarray(tid, dtype=np.int64)}


RID = {"id": "rid", "kind": "remote_id", "lat_deg": 55.0, "lon_deg": 24.0, "alt_m": 100.0,
       "max_range_m": 3000.0, "sigma_pos_m": 5.0}


def _cv_one_second(q_axes: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Transition and process noise of a 3-D constant-velocity model over 1 s, with the
    noise density of each axis (east, north, up)."""
    F = np.eye(6)
    F[:3, 3:] = np.eye(3)
    Q = np.zeros((6, 6))
    for axis, q in enumerate(q_axes):
        Q[np.ix_([axis, axis + 3], [axis, axis + 3])] = q * np.array([[1 / 3, 1 / 2],
                                                                       [1 / 2, 1.0]])
    return F, Q


def test_position_reports_give_the_kalman_filter_covariance() -> None:
    """Position reports and constant velocity are linear: the bound is the Kalman filter's
    covariance, written out here with the textbook F and Q."""
    cfg = TrackerConfig(motion="cv")  # q = 4, q_vertical = 1, 50 m/s and 5 m/s velocity sigmas
    sc = _scenario(RID)
    steps = 20
    truth = _join(_truth(steps, 7, 55.0 + 1e-4 * np.arange(steps), 24.0, 400.0),
                  _truth(steps, 9, 55.01, 24.01, 300.0))  # target 9: never detected
    # target 7: step 4 (3.4 s), 5 (exactly 5 s), 6, 7, two in step 8, none in 9-11, 12-15;
    # a false alarm, a detection by an unknown sensor and one of target 9 by nobody known
    det = _det([3.4, 5.0, 5.5, 6.1, 7.2, 7.9, 11.5, 12.2, 13.6, 14.9, 1.5, 1.5, 2.0],
               ["rid"] * 10 + ["rid", "nope", "nope"], [7] * 10 + [-1, 7, 9])
    det["time"] += T0
    b = position_bound(sc, cfg, truth, det)

    counts = np.zeros(steps, int)
    for k in (4, 5, 6, 7, 8, 8, 12, 13, 14, 15):
        counts[k] += 1
    F, Q = _cv_one_second((4.0, 4.0, 1.0))
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    info = H.T @ H / 25.0
    prior = np.diag([3000.0**-2] * 3 + [50.0**-2, 50.0**-2, 5.0**-2])
    P = np.linalg.inv(prior + counts[4] * info)
    expected = np.full(steps, np.nan)
    expected[4] = np.sqrt(np.trace(P[:3, :3]))
    for k in range(5, steps):
        P = F @ P @ F.T + Q
        if counts[k]:
            P = np.linalg.inv(np.linalg.inv(P) + counts[k] * info)
        expected[k] = np.sqrt(np.trace(P[:3, :3]))
    np.testing.assert_allclose(b[:steps], expected, rtol=1e-9)
    assert np.isnan(b[steps:]).all()
    # only the rows wanted (and the steps before them) are computed
    wanted = np.zeros(2 * steps, bool)
    wanted[10] = True
    np.testing.assert_allclose(position_bound(sc, cfg, truth, det, wanted)[:11],
                               expected[:11], rtol=1e-9)
    assert np.isnan(position_bound(sc, cfg, truth, det, wanted)[11:]).all()


def test_horizontal_bound_is_the_east_and_north_variances() -> None:
    """Position reports every second: the bound is the Kalman filter's covariance (as
    above); the horizontal bound is sqrt of its east and north variances, the 3-D one adds
    the up variance, both from one computation."""
    cfg = TrackerConfig(q=9.0, q_vertical=0.25)  # horizontal and vertical unlike
    sc = _scenario(RID)
    steps = 12
    truth = _truth(steps, 7, 55.0 + 1e-4 * np.arange(steps), 24.0, 400.0)
    det = _det(list(T0 + np.arange(2.0, 12.0)), ["rid"] * 10, [7] * 10)
    both = harness.position_bounds(sc, cfg, truth, det)
    F, Q = _cv_one_second((9.0, 9.0, 0.25))
    H = np.hstack([np.eye(3), np.zeros((3, 3))])
    info = H.T @ H / 25.0
    P = np.linalg.inv(np.diag([3000.0**-2] * 3 + [50.0**-2, 50.0**-2, 5.0**-2]) + info)
    hor, full = np.full(steps, np.nan), np.full(steps, np.nan)
    for k in range(2, steps):
        if k > 2:
            P = np.linalg.inv(np.linalg.inv(F @ P @ F.T + Q) + info)
        hor[k], full[k] = np.sqrt(P[0, 0] + P[1, 1]), np.sqrt(np.trace(P[:3, :3]))
    np.testing.assert_allclose(both.horizontal_m, hor, rtol=1e-9)
    np.testing.assert_allclose(both.rmse_m, full, rtol=1e-9)
    # the chance an error of that east-north covariance is within 500 m (and within 6 m)
    assert (both.p_within_gate[2:] > 0.999).all() and np.isnan(both.p_within_gate[:2]).all()
    near = harness.position_bounds(sc, cfg, truth, det, gate_m=6.0).p_within_gate
    np.testing.assert_allclose(near[-1], probability_within(P[:2, :2], 6.0), rtol=1e-9)
    assert 0.2 < near[-1] < 0.9
    assert (hor[2:] < full[2:]).all()
    np.testing.assert_array_equal(position_bound(sc, cfg, truth, det, horizontal=True),
                                  both.horizontal_m)
    np.testing.assert_array_equal(position_bound(sc, cfg, truth, det), both.rmse_m)


def test_horizontal_bound_of_a_2d_radar_track_leaves_out_the_unmeasured_height() -> None:
    """A 2D radar measures no height: the 3-D bound keeps the height prior (800 m), the
    horizontal one is the plots' own, a small part of it."""
    radar = {"id": "r2d", "kind": "radar2d", "lat_deg": 55.0, "lon_deg": 24.0, "alt_m": 150.0,
             "max_range_m": 60_000.0, "sigma_range_m": 30.0, "sigma_azimuth_deg": 0.5,
             "scan_period_s": 1.0}
    sc = _scenario(radar)
    truth = _truth(20, 3, 55.1 + 1e-4 * np.arange(20), 24.1, 600.0)
    det = _det(list(T0 + np.arange(20.0)), ["r2d"] * 20, [3] * 20)
    both = harness.position_bounds(sc, TrackerConfig(), truth, det)
    assert (both.horizontal_m <= both.rmse_m).all()
    assert (both.rmse_m > 700.0).all() and (both.horizontal_m < 150.0).all()
    # the up variance is what tells them apart
    up = np.sqrt(both.rmse_m**2 - both.horizontal_m**2)
    assert (up > 700.0).all()


def test_bound_gate_is_the_floor_or_k_sigma() -> None:
    from scipy.stats import chi2

    assert harness.BOUND_GATE_K == pytest.approx(np.sqrt(chi2.ppf(0.99, 2)), rel=1e-12)
    sigma = np.array([10.0, 165.0, 200.0, 1000.0, np.nan, 1000.0])
    use = np.array([True, True, True, True, True, False])
    np.testing.assert_allclose(harness.bound_gate(sigma, use),
                               [500.0, 500.75, 606.97, 3034.85, 500.0, 500.0], atol=0.01)


def test_first_radar_plot_bound_is_the_plot_covariance() -> None:
    """At a 3D radar's first plot of a hovering target the bound is the plot's own
    position error: range, and azimuth and elevation across the line of sight."""
    radar = {"id": "r3d", "kind": "radar3d", "lat_deg": 55.0, "lon_deg": 24.0, "alt_m": 150.0,
             "max_range_m": 20_000.0, "sigma_range_m": 10.0, "sigma_azimuth_deg": 0.3,
             "sigma_elevation_deg": 0.4, "sigma_radial_velocity_mps": 0.5}
    # a second sensor 50 km east that never reports: the tracking frame is centred between
    # the two, so the radar's site and rotation in it matter
    far = {"id": "far", "kind": "rf_df", "lat_deg": 55.0, "lon_deg": 24.8, "alt_m": 150.0}
    sc = _scenario(radar, far)
    truth = _truth(5, 3, 55.05, 24.05, 800.0)
    truth["vel_east_mps"][:] = truth["vel_north_mps"][:] = 0.0
    det = _det([T0, T0 + 1.0, T0 + 2.0], ["r3d"] * 3, [3] * 3)
    b = position_bound(sc, TrackerConfig(), truth, det)
    _, el, r = geodetic2aer(55.05, 24.05, 800.0, 55.0, 24.0, 150.0)
    el = np.radians(el)
    plot = np.sqrt(10.0**2 + (r * np.cos(el) * np.radians(0.3)) ** 2
                   + (r * np.radians(0.4)) ** 2)
    assert 5_000.0 < r < 8_000.0
    assert b[0] == pytest.approx(plot, rel=1e-4)
    assert b[2] < b[1] < b[0]  # two more plots
    assert b[4] > b[3] > b[2]  # then prediction only


def test_radial_velocity_and_the_tracker_switch() -> None:
    radar = {"id": "r3d", "kind": "radar3d", "lat_deg": 55.0, "lon_deg": 24.0, "alt_m": 150.0,
             "max_range_m": 20_000.0}
    sc = _scenario(radar)
    truth = _truth(30, 3, 55.05 + 1e-4 * np.arange(30), 24.05, 800.0)
    det = _det(list(T0 + np.arange(30.0)), ["r3d"] * 30, [3] * 30)
    with_rv = position_bound(sc, TrackerConfig(), truth, det)
    without = position_bound(sc, TrackerConfig(use_radial_velocity=False), truth, det)
    assert (with_rv[1:] < without[1:]).all()


def test_a_truth_off_the_steps_is_refused() -> None:
    truth = _truth(3, 1, 55.0, 24.0, 300.0)
    truth["time"][1] += 0.3
    with pytest.raises(Exception, match="truth times are not on the scenario's 1 s steps"):
        position_bound(_scenario(RID), TrackerConfig(), truth, _det([T0], ["rid"], [1]))


def test_rmse_against_the_bound_uses_the_right_target_times(monkeypatch) -> None:
    """Target-times: covered, associated with a confirmed update, bound known; several
    updates in one step are pooled; the ratio is of RMS values over the same rows."""
    steps = 10
    truth = _join(_truth(steps, 1, 55.0, 24.0, 300.0), _truth(steps, 2, 55.1, 24.2, 300.0))
    truth["vel_east_mps"][:] = truth["vel_north_mps"][:] = 0.0
    cover = np.ones(2 * steps, bool)
    cover[[2, steps + 5]] = False
    origin = (55.05, 24.1, 100.0)
    enu = np.stack(geodetic2enu(truth["lat_deg"], truth["lon_deg"], truth["alt_m"], *origin), 1)
    # updates: target 1 at 1.5 (step 2, not covered), 2.5, 3.5 and 3.9 (two in step 4),
    # target 2 at 0.2 (no bound there), 4.5, 5.5 (step 6); plus a false one
    rows = np.array([1, 2, 3, 3, steps + 0, steps + 4, steps + 5])
    t_upd = T0 + np.array([1.5, 2.5, 3.5, 3.9, 0.2, 4.5, 5.5])
    off = np.array([3.0, 4.0, 6.0, 8.0, 1.0, 2.0, 5.0])
    pos = enu[rows] + off[:, None] * np.array([1.0, 0.0, 0.0])
    pos = np.vstack([pos, [50_000.0, 0.0, 0.0]])
    tracks = {"time": np.append(t_upd, T0 + 4.0), "track_id": np.array([1] * 4 + [2] * 3 + [3]),
              "east_m": pos[:, 0], "north_m": pos[:, 1], "up_m": pos[:, 2]}
    truth_enu = dict(truth, east_m=enu[:, 0], north_m=enu[:, 1], up_m=enu[:, 2])
    cont = track_continuity(truth_enu, tracks, gate_m=100.0, coverage=cover)
    assert cont.n_associated_updates == 7

    fake = np.full(2 * steps, np.nan)
    fake[1:steps] = 10.0 + np.arange(1, steps)  # target 1 bound from step 1
    fake[steps + 3:] = 40.0  # target 2 bound from step 3
    seen = {}

    def bound(sc, cfg, truth_, det, wanted):  # noqa: ANN001, ANN202
        seen["wanted"] = wanted.copy()
        return fake

    monkeypatch.setattr(harness, "position_bound", bound)
    vs = rmse_vs_bound(_scenario(RID), TrackerConfig(), truth, {}, cover, cont, tracks["time"])
    # target-times: target 1 at step 3 (2.5 s: 4 m) and 4 (3.5 and 3.9 s: 6 and 8 m, pooled),
    # target 2 at step 6 (5.5 s: 5 m); left out: target 1 at step 2 (1.5 s) and target 2
    # at step 5 (4.5 s), not in coverage, and target 2 at step 1 (0.2 s), no bound yet
    e2 = np.array([16.0, 50.0, 25.0])
    b2 = np.array([13.0, 14.0, 40.0]) ** 2
    assert vs["pcrlb_rmse_m"] == pytest.approx(np.sqrt(b2.mean()))
    assert vs["rmse_over_pcrlb"] == pytest.approx(np.sqrt(e2.mean() / b2.mean()))
    np.testing.assert_allclose(vs["time"], T0 + np.array([3.0, 4.0, 6.0]))
    np.testing.assert_allclose(vs["rmse_m"], np.sqrt(e2))
    np.testing.assert_allclose(vs["pcrlb_m"], np.sqrt(b2))
    np.testing.assert_array_equal(vs["n"], [1, 1, 1])
    # the bound is asked for the covered, associated rows only
    assert np.flatnonzero(seen["wanted"]).tolist() == [3, 4, steps + 1, steps + 6]


def test_coverage_revisit_is_the_fastest_sensor_that_saw_the_target_around_then() -> None:
    truth = {"time": T0 + np.arange(60.0), "truth_id": np.full(60, 7)}
    # a 10-s radar sees the target every 10 s throughout; a 1-s radar from 20 s to 29 s
    t2 = T0 + np.arange(0.0, 60.0, 10.0)
    t3 = T0 + np.arange(20.0, 30.0)
    det = {"time": np.concatenate([t2, t3]), "truth_id": np.full(t2.size + t3.size, 7),
           "kind": np.array(["radar2d"] * t2.size + ["radar3d"] * t3.size),
           "sensor_id": np.array(["slow"] * t2.size + ["fast"] * t3.size)}
    rev = harness.coverage_revisit(truth, det, {"slow": 10.0, "fast": 1.0})
    k = np.arange(60)
    # the 1-s radar covers rows within max(2 s, 1.5 s) of its plots: 18 … 31 s
    np.testing.assert_array_equal(rev, np.where((k >= 18) & (k <= 31), 1.0, 10.0))
    # a detection of another target, or of an unknown sensor, covers nothing
    det["truth_id"] = np.full(det["time"].size, 8)
    assert np.isinf(harness.coverage_revisit(truth, det, {"slow": 10.0, "fast": 1.0})).all()
    det["truth_id"] = np.full(det["time"].size, 7)
    assert np.isinf(harness.coverage_revisit(truth, det, {})).all()


def test_seen_before_owes_an_update_only_after_a_detection() -> None:
    truth = {"time": T0 + np.arange(60.0), "truth_id": np.full(60, 7)}
    # a 10-s radar sees the target at 5, 25 and 45 s (it missed 15 and 35 s)
    t2 = T0 + np.array([5.0, 25.0, 45.0])
    det = {"time": t2, "truth_id": np.full(3, 7), "kind": np.array(["radar2d"] * 3),
           "sensor_id": np.array(["slow"] * 3)}
    rev = harness.coverage_revisit(truth, det, {"slow": 10.0})
    owed = harness.seen_before(truth, det, rev)
    k = np.arange(60)
    # owed from each plot to 15 s after it (1.5 scans), never before the plot
    since = k[:, None] - np.array([5, 25, 45])[None, :]
    np.testing.assert_array_equal(owed, ((since >= 0) & (since <= 15)).any(axis=1))
    # symmetric coverage counts 3 and 4 s, before the first plot: no tracker could be
    # updated there; seen_before does not
    cover = harness.coverage_mask(truth, det)
    assert cover[3] and cover[4] and not owed[3] and not owed[4]
    # unknown revisit: the 5-s floor; another target's plots owe nothing
    np.testing.assert_array_equal(harness.seen_before(truth, det, np.full(60, np.inf)),
                                  ((since >= 0) & (since <= 5)).any(axis=1))
    det["truth_id"] = np.full(3, 8)
    assert not harness.seen_before(truth, det, rev).any()
