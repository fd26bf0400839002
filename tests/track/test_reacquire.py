"""Re-acquisition: a confirmed track deleted for missed updates is kept lost for a while,
and a plot no live track explains that is consistent with its prediction brings it back,
confirmed at once, under its old id."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.sim.engine import Simulation
from skyfence.track.config import TrackerConfig
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker

from ..conftest import run_all
from .test_tracker import RADAR, flight

ON = {"reacquire": True, "reacquire_s": 60.0, "reacquire_scans": 0.0}


def _run(sc, det, cfg: TrackerConfig, numpy_path: bool = False):  # type: ignore[no-untyped-def]
    tracker = Tracker(sc.deployment, cfg)
    if numpy_path:
        tracker._fast = False          # the numpy gate and update for every frame
    outs = [upd for upd, _, _ in feed(tracker, det)]
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}, tracker


def _gap(det: dict[str, np.ndarray], lo: float, hi: float, target: int | None = None
         ) -> dict[str, np.ndarray]:
    """The detections without those of a target (all targets: None) in (t0 + lo, t0 + hi)."""
    t0 = det["time"].min()
    who = det["truth_id"] >= 0 if target is None else det["truth_id"] == target
    drop = (det["time"] > t0 + lo) & (det["time"] < t0 + hi) & who
    return {k: v[~drop] for k, v in det.items()}


@pytest.fixture
def one_target(scenario_file):  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=20.0)
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    sc = scenario_file(body, duration=300)
    _, det = run_all(Simulation(sc))
    return sc, det


@pytest.mark.parametrize("cfg", [{"motion": "cv"}, {"motion": "imm"},
                                 {"motion": "cv", "filter": "ukf"}],
                         ids=["cv-kernels", "imm", "cv-ukf"])
def test_a_track_lost_in_a_gap_comes_back_under_its_old_id(one_target, cfg) -> None:  # type: ignore[no-untyped-def]
    sc, det = one_target
    det = _gap(det, 100.0, 130.0)       # 30 s without the target: deleted after 12 s
    t0 = det["time"].min()
    back = det["time"][(det["truth_id"] >= 0) & (det["time"] > t0 + 100)].min()
    with_, tracker = _run(sc, det, TrackerConfig(**cfg, **ON))
    without, _ = _run(sc, det, TrackerConfig(**cfg, reacquire=False))
    for tracks, n_ids in ((with_, 1), (without, 2)):
        conf = tracks["status"] == "confirmed"
        assert np.unique(tracks["track_id"][conf]).size == n_ids
    # lost during the gap (coasting, then no row at all: a deleted row would make every
    # stage downstream forget it), then confirmed again at the first plot after it; the
    # one deleted row is the end of the run
    for tracks, deleted_in_gap in ((with_, False), (without, True)):
        first = tracks["track_id"][tracks["status"] == "confirmed"][0]
        deleted = (tracks["track_id"] == first) & (tracks["status"] == "deleted")
        assert deleted.sum() == 1
        assert (tracks["time"][deleted][0] < back) == deleted_in_gap
    conf = with_["status"] == "confirmed"
    assert np.isclose(with_["time"][conf & (with_["time"] >= back)].min(), back)
    assert tracker.stats.reacquired == 1
    # without re-acquisition the new track waits for 3 hits
    conf = without["status"] == "confirmed"
    assert without["time"][conf & (without["time"] >= back)].min() >= back + 2.0


def test_the_kernel_and_numpy_paths_reacquire_alike(one_target) -> None:  # type: ignore[no-untyped-def]
    sc, det = one_target
    det = _gap(det, 100.0, 130.0)
    a, ta = _run(sc, det, TrackerConfig(**ON))
    b, tb = _run(sc, det, TrackerConfig(**ON), numpy_path=True)
    assert ta.stats.reacquired == tb.stats.reacquired == 1
    np.testing.assert_array_equal(a["track_id"], b["track_id"])
    for col in ("time", "lat_deg", "lon_deg", "alt_m", "vel_east_mps", "sigma_east_m"):
        np.testing.assert_allclose(a[col], b[col], rtol=1e-9, atol=1e-9)


def test_the_lost_pool_expires(one_target) -> None:  # type: ignore[no-untyped-def]
    sc, det = one_target
    det = _gap(det, 100.0, 140.0)      # deleted about 12 s into the gap
    for keep_s, n_ids in ((60.0, 1), (10.0, 2)):
        cfg = TrackerConfig(**{**ON, "reacquire_s": keep_s})
        tracks, tracker = _run(sc, det, cfg)
        conf = tracks["status"] == "confirmed"
        assert np.unique(tracks["track_id"][conf]).size == n_ids
        assert tracker.stats.reacquired == 2 - n_ids
        # the final flush, an hour after the end, is long past the window (it runs from
        # when the track was missed): the pool is empty and every confirmed track has had
        # its one deleted row
        assert len(tracker.lost) == 0
        ids = np.unique(tracks["track_id"][conf])
        deleted = tracks["track_id"][tracks["status"] == "deleted"]
        assert all(np.count_nonzero(deleted == i) == 1 for i in ids)


@pytest.mark.parametrize("motion", ["cv", "imm"])
def test_another_target_on_the_lost_tracks_path_does_not_take_its_id(scenario_file,
                                                                    motion) -> None:  # type: ignore[no-untyped-def]
    """A flies east and is lost; B, first seen where A is predicted to be but flying west
    (its radial velocity 70 m/s from A's, seven sigmas of A's velocity predicted 30 s),
    starts its own track.  Without the radial velocity the position alone cannot tell
    them apart and B takes A's id."""
    body = RADAR.format(id="r1", lat=54.60, lon=25.45, clutter=0.0)
    # the same speed from 6.4 km west and 6.4 km east of (54.66 N, 25.60 E): they meet
    body += flight("a", (54.66, 25.50), (54.66, 25.80), 400)
    body += flight("b", (54.66, 25.70), (54.66, 25.40), 400)
    # C, far off, keeps the radar's frames coming while A and B are unseen
    body += flight("c", (54.52, 25.30), (54.52, 25.60), 400)
    sc = scenario_file(body, duration=240)
    truth, det = run_all(Simulation(sc))
    a_id, b_id = (int(truth["truth_id"][truth["name"] == n][0]) for n in ("a", "b"))
    on = {i: truth["truth_id"] == i for i in (a_id, b_id)}
    t_cross = truth["time"][on[b_id]][np.argmin(np.abs(truth["lon_deg"][on[b_id]] - 25.60))]
    at = {i: on[i] & (truth["time"] == t_cross) for i in (a_id, b_id)}
    sep = np.hypot((truth["lat_deg"][at[a_id]] - truth["lat_deg"][at[b_id]]) * 111e3,
                   (truth["lon_deg"][at[a_id]] - truth["lon_deg"][at[b_id]]) * 64e3)
    assert sep < 300.0           # the scene is as meant: they meet
    t0 = det["time"].min()
    # A unseen from 30 s before the meeting on; B unseen until 2 s before it
    det = _gap(det, t_cross - t0 - 30.0, 1e9, a_id)
    det = _gap(det, -1.0, t_cross - t0 - 2.0, b_id)
    first_b = det["time"][det["truth_id"] == b_id].min()
    a_track = None
    for rv in (True, False):
        tracks, tracker = _run(sc, det, TrackerConfig(motion=motion, use_radial_velocity=rv,
                                                      **ON))
        conf = tracks["status"] == "confirmed"
        if a_track is None:          # A's track: the one confirmed before B was seen
            a_track = tracks["track_id"][conf & (tracks["time"] < first_b - 40)
                                         & (np.abs(tracks["lat_deg"] - 54.66) < 0.01)][0]
        a_after = conf & (tracks["track_id"] == a_track) & (tracks["time"] >= first_b)
        # with the radial velocity B starts its own track; without it, B's first plot
        # brings A's track back (and the next ones, flying the other way, leave it)
        assert tracker.stats.reacquired == int(not rv)
        assert a_after.any() == (not rv)
        assert np.unique(tracks["track_id"][conf]).size == 3


def test_a_lost_2d_radar_track_gets_the_height_prior_back(scenario_file) -> None:  # type: ignore[no-untyped-def]
    """A track only 2D radars saw has no measured height: in the lost pool its height is
    the prior of a new 2D track again; a track a 3D radar saw keeps its own."""
    body = RADAR.format(id="r3", lat=54.60, lon=25.60, clutter=0.0)
    body += RADAR.format(id="r2", lat=54.70, lon=25.90, clutter=0.0).replace(
        'kind = "radar3d"', 'kind = "radar2d"')
    sc = scenario_file(body, duration=10)
    cfg = TrackerConfig(motion="cv", reacquire=True)
    tracker = Tracker(sc.deployment, cfg)
    tab = tracker.tracks
    s2 = [s.id for s in sc.deployment.sensor].index("r2")
    s3 = 1 - s2
    tab.append(type(tab)(
        np.array([1, 2]), np.array([[5e3, 8e3, 6e3, 10.0, 0.0, 3.0]] * 2),
        np.tile(np.diag([50.0, 50.0, 300.0, 5.0, 5.0, 2.0]) ** 2, (2, 1, 1)), np.zeros(2),
        np.ones(2, np.int8), np.zeros(2), np.zeros(2), np.zeros(2), np.full(2, 9), np.full(2, 9),
        np.array([s2, s3]), np.array([1 << s2, (1 << s2) | (1 << s3)], np.uint64),
        np.full(2, np.nan), np.full(2, np.nan), np.full(2, -1), np.empty((2, 0)),
        np.empty((2, 0, 6)), np.empty((2, 0, 6, 6))))
    tracker.flush(20.0)       # both deleted for missed updates (after 12 s), both lost
    lost = tracker.lost
    assert list(lost.id) == [1, 2]
    site, rot = tracker.ingest.site[s2], tracker.ingest.rot[s2]
    above = (rot @ (lost.x[0, :3] - site))[2]
    # (the tracking frame's up is tilted from the radar's by a few hundredths of a degree)
    assert abs(above - cfg.init_height_above_sensor_m) < 1.0
    assert lost.x[0, 5] == 0.0
    assert np.isclose(lost.P[0, 2, 2], cfg.init_height_sigma_m ** 2)
    assert np.isclose(lost.P[0, 5, 5], cfg.init_vertical_speed_sigma_mps ** 2)
    assert lost.P[0, 2, 0] == lost.P[0, 0, 2] == 0.0
    np.testing.assert_array_equal(lost.x[0, [0, 1, 3, 4]], [5e3, 8e3, 10.0, 0.0])
    np.testing.assert_array_equal(lost.x[1], [5e3, 8e3, 6e3, 10.0, 0.0, 3.0])


@pytest.mark.parametrize("kind,north_m,sigmas,comes_back", [
    ("radar2d", 60_000.0, 3.0, True), ("radar2d", 60_000.0, 0.0, False),
    ("radar3d", 3_000.0, 3.0, False)])
def test_the_bound_allows_for_the_plots_own_noise(scenario_file, kind, north_m, sigmas,
                                                  comes_back) -> None:  # type: ignore[no-untyped-def]
    """A plot 900 m across the beam from a lost track's prediction: with
    ``reacquire_plot_sigmas`` = 3, from a 1° 2D radar 60 km out (a kilometre of noise
    across the beam) it is the track's own and brings it back (not with the default 0);
    from a 3D radar 3 km out (10 m of noise) it is beyond ``reacquire_max_m``."""
    body = RADAR.format(id="r", lat=54.60, lon=25.60, clutter=0.0).replace(
        'kind = "radar3d"', f'kind = "{kind}"').replace(
        "max_range_m = 30000.0", "max_range_m = 80000.0").replace(
        "sigma_azimuth_deg = 0.2", "sigma_azimuth_deg = 1.0")
    sc = scenario_file(body, duration=10)
    cfg = TrackerConfig(motion="cv", reacquire=True, reacquire_max_m=500.0,
                        reacquire_plot_sigmas=sigmas)
    tracker = Tracker(sc.deployment, cfg)
    site, rot = tracker.ingest.site[0], tracker.ingest.rot[0]
    up = cfg.init_height_above_sensor_m if kind == "radar2d" else 300.0
    x0 = site + rot.T @ np.array([0.0, north_m, up])
    tab = tracker.tracks
    # a confirmed track seen by this radar, still, 800 m uncertain horizontally
    tab.append(type(tab)(
        np.array([1]), np.array([[*x0, 0.0, 0.0, 0.0]]),
        np.diag([800.0, 800.0, 300.0, 1.0, 1.0, 1.0])[None] ** 2, np.zeros(1),
        np.ones(1, np.int8), np.zeros(1), np.zeros(1), np.zeros(1), np.full(1, 9), np.full(1, 9),
        np.zeros(1, np.int64), np.ones(1, np.uint64), np.full(1, np.nan), np.full(1, np.nan),
        np.full(1, -1),
        np.empty((1, 0)), np.empty((1, 0, 6)), np.empty((1, 0, 6, 6))))
    tracker.flush(40.0)                # deleted for missed updates: lost
    assert list(tracker.lost.id) == [1]
    e, n = 900.0, north_m
    rng = float(np.sqrt(e ** 2 + n ** 2 + (up - 0.0) ** 2))
    plot = {"time": np.array([41.0]), "sensor_id": np.array(["r"]), "kind": np.array([kind]),
            "range_m": np.array([rng]), "azimuth_deg": np.array([np.degrees(np.arctan2(e, n))]),
            "elevation_deg": np.array([np.degrees(np.arcsin(up / rng))
                                       if kind == "radar3d" else np.nan])}
    out = tracker.step(plot, now=41.0)
    assert tracker.stats.reacquired == int(comes_back)
    assert (1 in set(out["track_id"][out["status"] == "confirmed"].tolist())) == comes_back


@pytest.mark.parametrize("min_rate, only_2d, n_ids",
                         [(0.15, False, 1), (0.5, False, 1), (1.0, False, 2), (0.15, True, 2)])
def test_a_sparsely_seen_target_is_kept_lost_longer(one_target, min_rate, only_2d,  # type: ignore[no-untyped-def]
                                                    n_ids) -> None:
    """A target seen in one look of two (its track's hits over its looks) is kept in the
    lost pool twice as long: 100 s without it outlasts the 60-s window, not 120 s.  With
    ``reacquire_rate_2d_only`` a track a 3D radar has seen keeps the plain window."""
    sc, det = one_target
    t0 = det["time"].min()
    odd = (det["truth_id"] >= 0) & (np.floor(det["time"] - t0).astype(int) % 2 == 1)
    det = _gap({k: v[~odd] for k, v in det.items()}, 100.0, 200.0)
    tracks, tracker = _run(sc, det, TrackerConfig(**ON, reacquire_min_rate=min_rate,
                                                reacquire_rate_2d_only=only_2d))
    conf = tracks["status"] == "confirmed"
    assert np.unique(tracks["track_id"][conf]).size == n_ids
    assert tracker.stats.reacquired == 2 - n_ids


@pytest.mark.parametrize("brighter_db, max_db, n_ids",
                         [(5.0, 10.0, 1), (15.0, 10.0, 2), (15.0, None, 1), (15.0, 20.0, 1)])
def test_a_plot_far_brighter_than_the_lost_track_does_not_bring_it_back(
        one_target, brighter_db, max_db, n_ids) -> None:  # type: ignore[no-untyped-def]
    """After a 30-s gap the target's plots come back ``brighter_db`` above its RCS before
    the gap (as clutter of a far radar would, at the RCS its threshold needs there): 15 dB
    is not the lost track's echo with ``reacquire_max_rcs_db`` = 10 and they start a
    track of their own; 5 dB is, and so is anything with the check off."""
    sc, det = one_target
    det = _gap(det, 100.0, 130.0)
    t0 = det["time"].min()
    after = (det["truth_id"] >= 0) & (det["time"] > t0 + 100.0)
    det = {**det, "rcs_dbsm": np.where(after, det["rcs_dbsm"] + brighter_db, det["rcs_dbsm"])}
    tracks, tracker = _run(sc, det, TrackerConfig(**ON, reacquire_max_rcs_db=max_db))
    conf = tracks["status"] == "confirmed"
    assert np.unique(tracks["track_id"][conf]).size == n_ids
    assert tracker.stats.reacquired == 2 - n_ids
    assert (tracker.stats.reacquire_rcs_refused > 0) == (n_ids == 2)
    if n_ids == 2:
        # the new track starts at the first bright plot, not later
        back = det["time"][after].min()
        new = tracks["track_id"][conf][tracks["track_id"][conf] != tracks["track_id"][conf][0]]
        assert tracks["time"][tracks["track_id"] == new[0]].min() == back


def test_the_mean_rcs_weighs_the_first_plots_alike_then_the_last_ones(one_target) -> None:  # type: ignore[no-untyped-def]
    """``rcs_m2``: the mean of a track's first plots' linear RCS, then an exponential
    average with a memory of ``rcs_memory`` plots."""
    sc, det = one_target
    t0 = det["time"].min()
    mine = det["truth_id"] >= 0
    for until, memory in ((4.5, 8.0), (60.0, 8.0), (60.0, 1.0)):
        part = {k: v[det["time"] <= t0 + until] for k, v in det.items()}
        tracker = Tracker(sc.deployment, TrackerConfig(**ON, rcs_memory=memory))
        states = [(tracker.tracks.hits.copy(), tracker.tracks.rcs_m2.copy())
                  for _ in feed(tracker, part)]
        hits, rcs_m2 = states[-2]          # before the final flush deletes every track
        row = int(np.argmax(hits))
        own = mine[det["time"] <= t0 + until]
        lin = 10.0 ** (part["rcs_dbsm"][own] / 10.0)
        assert hits[row] == lin.size
        if memory == 1.0:
            expect = lin[-1]
        elif lin.size <= memory:
            expect = lin.mean()
        else:
            expect = lin[:int(memory)].mean()
            for v in lin[int(memory):]:
                expect += (v - expect) / memory
        assert np.isclose(rcs_m2[row], expect, rtol=1e-9)
