"""The tracker end to end on simulated recordings: confirmation, accuracy, continuity,
deletion, crossing targets, multi-sensor fusion, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from skyfence.geo.geodesy import geodetic2enu
from skyfence.sim.engine import Simulation
from skyfence.track.associate import gnn_assign
from skyfence.track.config import TrackerConfig
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker

from ..conftest import run_all

RADAR = """
[[sensor]]
id = "{id}"
kind = "radar3d"
lat_deg = {lat}
lon_deg = {lon}
alt_m = 200.0
max_range_m = 30000.0
scan_period_s = 1.0
sigma_range_m = 10.0
sigma_azimuth_deg = 0.2
sigma_elevation_deg = 0.2
sigma_radial_velocity_mps = 0.5
pd90_range_m = 200000.0
pd90_rcs_dbsm = -20.0
clutter_per_scan = {clutter}
"""


def flight(name: str, a: tuple[float, float], b: tuple[float, float], agl: float,
           type_: str = "gerbera", start: float = 0.0, extra: str = "") -> str:
    return f"""
[[target]]
name = "{name}"
type = "{type_}"
start_s = {start}
{extra}
waypoints = [{{ lat_deg = {a[0]}, lon_deg = {a[1]}, agl_m = {agl} }},
             {{ lat_deg = {b[0]}, lon_deg = {b[1]}, agl_m = {agl} }}]
"""


def track_run(sc, cfg: TrackerConfig | None = None, slice_s: float = 1.0):  # type: ignore[no-untyped-def]
    """Simulate, then feed the detections slice by slice; return truth, tracks, tracker."""
    sim = Simulation(sc)
    truth, det = run_all(sim)
    tracker = Tracker(sc.deployment, cfg or TrackerConfig())
    outs = []
    t = det["time"]
    edges = np.arange(t.min(), t.max() + slice_s, slice_s) if t.size else np.empty(0)
    for lo in edges:
        m = (t >= lo) & (t < lo + slice_s)
        if m.any():
            outs.append(tracker.step({k: v[m] for k, v in det.items()}))
    end = float(t.max()) if t.size else 0.0
    outs.append(tracker.flush(end + 5.0))     # idle for a while: confirmed tracks coast
    outs.append(tracker.flush(end + 3600.0))  # then they are deleted
    tracks = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    return truth, tracks, tracker


@pytest.mark.parametrize("cfg", [TrackerConfig(motion="cv"),
                                 TrackerConfig(motion="cv", association="jpda"),
                                 TrackerConfig(motion="imm")], ids=["gnn", "jpda", "imm"])
def test_single_target_one_stable_accurate_track(scenario_file, cfg) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0)
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    truth, tracks, tr = track_run(scenario_file(body, duration=300), cfg)
    conf = tracks["status"] == "confirmed"
    ids = np.unique(tracks["track_id"][conf])
    assert ids.size == 1                                  # one track, never replaced
    assert tr.stats.initiated == 1
    # position error of confirmed updates against the truth at the same instant
    t = tracks["time"][conf]
    lat = np.interp(t, truth["time"], truth["lat_deg"])
    lon = np.interp(t, truth["time"], truth["lon_deg"])
    alt = np.interp(t, truth["time"], truth["alt_m"])
    e, n, u = geodetic2enu(tracks["lat_deg"][conf], tracks["lon_deg"][conf],
                           tracks["alt_m"][conf], lat, lon, alt)
    err = np.sqrt(e**2 + n**2 + u**2)[20:]               # after the filter has settled
    # raw plots at ~10 km: range 10 m, cross-range and height ~35 m each
    assert np.sqrt(np.mean(err**2)) < 25.0  # measured: 22 m with the default q = 4
    # reported sigmas are honest: normalised errors of order one
    sig = np.sqrt(tracks["sigma_east_m"] ** 2 + tracks["sigma_north_m"] ** 2
                  + tracks["sigma_up_m"] ** 2)[conf][20:]
    assert 0.3 < np.sqrt(np.mean((err / sig) ** 2)) < 2.0
    # velocity: the decoy flies at 44 m/s
    speed = np.hypot(tracks["vel_east_mps"][conf], tracks["vel_north_mps"][conf])[20:]
    assert np.median(speed) == pytest.approx(44.0, abs=2.0)
    # and when the data ends, the track coasts and is deleted (a final 'deleted' row)
    assert "coasting" in set(tracks["status"])
    assert tracks["status"][-1] == "deleted"


def test_clutter_alone_confirms_nothing(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=20.0)
    _, tracks, tr = track_run(scenario_file(body, duration=300, seed=4))
    assert tr.stats.initiated > 1000                       # every plot starts a tentative track
    assert not (tracks["status"] == "confirmed").any()
    assert len(tr.tracks) < 200                            # and they die young


def test_confirmation_takes_m_of_n(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0)
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    _, tracks, _ = track_run(scenario_file(body, duration=30), TrackerConfig(confirm_m=4,
                                                                             confirm_n=6))
    first = np.flatnonzero(tracks["status"] == "confirmed")[0]
    assert tracks["n_updates"][first] == 4


@pytest.mark.parametrize("association", ["gnn", "jpda"])
def test_crossing_targets_keep_their_ids(scenario_file, association) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=2.0)
    body += flight("a", (54.62, 25.55), (54.70, 25.75), 300)
    body += flight("b", (54.70, 25.55), (54.62, 25.75), 700)
    truth, tracks, _ = track_run(scenario_file(body, duration=400, seed=2),
                                 TrackerConfig(motion="cv", association=association))
    conf = tracks["status"] == "confirmed"
    assert np.unique(tracks["track_id"][conf]).size == 2
    # each track stays at its own altitude band the whole way: no swap at the crossing
    for tid in np.unique(tracks["track_id"][conf]):
        alt = tracks["alt_m"][conf & (tracks["track_id"] == tid)][5:]
        assert np.ptp(alt) < 250.0


@pytest.mark.parametrize("association", ["gnn", "jpda"])
def test_two_radars_fuse_into_one_track(scenario_file, association) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=1.0)
    body += RADAR.format(id="r2", lat=54.70, lon=25.70, clutter=1.0)
    body += flight("g", (54.62, 25.55), (54.70, 25.75), 400)
    _, tracks, _ = track_run(scenario_file(body, duration=300, seed=3),
                             TrackerConfig(motion="cv", association=association))
    conf = tracks["status"] == "confirmed"
    assert np.unique(tracks["track_id"][conf]).size == 1
    assert set(tracks["sensor_id"][conf]) >= {"r1", "r2"}


def test_bearings_update_a_radar_track(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0)
    body += """
[[sensor]]
id = "df"
kind = "rf_df"
lat_deg = 54.66
lon_deg = 25.66
alt_m = 200.0
max_range_m = 15000.0
sigma_azimuth_deg = 1.0
pd = 1.0
"""
    body += flight("g", (54.62, 25.55), (54.70, 25.75), 400)
    _, tracks, _ = track_run(scenario_file(body, duration=200))
    conf = tracks["status"] == "confirmed"
    assert np.unique(tracks["track_id"][conf]).size == 1
    assert "df" in set(tracks["sensor_id"][conf])


def test_bad_rows_never_stop_the_tracker(scenario_file) -> None:  # type: ignore[no-untyped-def]
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0)
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    sc = scenario_file(body, duration=60)
    _, det = run_all(Simulation(sc))
    det = {k: v.copy() for k, v in det.items()}
    det["range_m"][5] = np.nan
    det["sensor_id"] = det["sensor_id"].astype(object)
    det["sensor_id"][7] = "ghost"
    det["azimuth_deg"][9] = 720.0
    tracker = Tracker(sc.deployment)
    out = tracker.step(det)
    assert (out["status"] == "confirmed").any()
    q = tracker.ingest.quarantine.table()
    assert sorted(q["row"].tolist()) == [5, 7, 9]
    assert tracker.ingest.quarantine.counts[("ghost", "unknown sensor")] == 1


def _brute_force(ti: np.ndarray, di: np.ndarray, cost: np.ndarray) -> float:
    best = 0.0
    pairs = list(range(ti.size))
    for r in range(1, min(np.unique(ti).size, np.unique(di).size) + 1):
        for combo in itertools.combinations(pairs, r):
            c = list(combo)
            if np.unique(ti[c]).size == r and np.unique(di[c]).size == r:
                best = min(best, float(np.minimum(cost[c], 0).sum()))
    return best


def test_gnn_is_optimal_on_random_clusters() -> None:
    rng = np.random.default_rng(7)
    for _ in range(60):
        nt, nd = rng.integers(1, 5), rng.integers(1, 5)
        mask = rng.uniform(size=(nt, nd)) < 0.6
        ti, di = np.nonzero(mask)
        cost = rng.uniform(-10, 2, ti.size)
        chosen, _ = gnn_assign(ti, di, cost, int(nt), int(nd))
        # a valid assignment: each track and detection at most once
        assert np.unique(ti[chosen]).size == chosen.size
        assert np.unique(di[chosen]).size == chosen.size
        assert float(cost[chosen].sum()) == pytest.approx(_brute_force(ti, di, cost))


DF = """
[[sensor]]
id = "{id}"
kind = "rf_df"
lat_deg = {lat}
lon_deg = {lon}
alt_m = 200.0
max_range_m = 15000.0
sigma_azimuth_deg = 1.0
pd = 0.9
"""


@pytest.mark.parametrize("motion", ["cv", "imm"])
def test_direction_finders_alone_start_and_hold_a_track(scenario_file, motion) -> None:  # type: ignore[no-untyped-def]
    body = DF.format(id="df1", lat=54.60, lon=25.60) + DF.format(id="df2", lat=54.66, lon=25.72)
    body += DF.format(id="df3", lat=54.58, lon=25.78)
    body += flight("quad", (54.62, 25.66), (54.65, 25.70), 100, type_="quadcopter")
    truth, tracks, tr = track_run(scenario_file(body, duration=240, seed=5),
                                  TrackerConfig(motion=motion))
    conf = tracks["status"] == "confirmed"
    assert conf.any()
    ids = np.unique(tracks["track_id"][conf])
    assert ids.size == 1 and tr.stats.initiated == 1
    t = tracks["time"][conf]
    lat = np.interp(t, truth["time"], truth["lat_deg"])
    lon = np.interp(t, truth["time"], truth["lon_deg"])
    e, n, _ = geodetic2enu(tracks["lat_deg"][conf], tracks["lon_deg"][conf], 0.0, lat, lon, 0.0)
    horiz = np.hypot(e, n)
    assert np.median(horiz) < 100.0           # measured 48 m: bearings of 1° from 3-8 km


@pytest.mark.parametrize("motion", ["cv", "imm"])
def test_late_sensor_is_used_not_dropped(scenario_file, motion) -> None:  # type: ignore[no-untyped-def]
    """A radar whose reports arrive 2.5 s late still improves the track (out of sequence),
    with one motion model and with the IMM (late updates applied per model)."""
    from skyfence.eval.harness import run_tracker

    fast = RADAR.format(id="fast", lat=54.60, lon=25.60, clutter=0.0)
    late = RADAR.format(id="late", lat=54.70, lon=25.70, clutter=0.0).replace(
        "clutter_per_scan = 0.0", "clutter_per_scan = 0.0\nlatency_s = 2.5")
    target = flight("g", (54.62, 25.55), (54.70, 25.75), 400)
    errors = {}
    for name, body in (("fast only", fast + target), ("fast + late", fast + late + target)):
        sc = scenario_file(body, duration=300, seed=6, name=name.replace(" ", "").replace("+", ""))
        truth, det = run_all(Simulation(sc))
        tracks, _ = run_tracker(sc, det, TrackerConfig(motion=motion))
        conf = tracks["status"] == "confirmed"
        assert np.unique(tracks["track_id"][conf]).size == 1
        if name == "fast + late":
            assert "late" in set(tracks["sensor_id"][conf])     # late reports were applied
        # per track, output times never run backwards
        for tid in np.unique(tracks["track_id"]):
            tt = tracks["time"][tracks["track_id"] == tid]
            assert np.all(np.diff(tt) >= -1e-9)
        t = tracks["time"][conf]
        lat = np.interp(t, truth["time"], truth["lat_deg"])
        lon = np.interp(t, truth["time"], truth["lon_deg"])
        alt = np.interp(t, truth["time"], truth["alt_m"])
        e, n, u = geodetic2enu(tracks["lat_deg"][conf], tracks["lon_deg"][conf],
                               tracks["alt_m"][conf], lat, lon, alt)
        errors[name] = float(np.sqrt(np.mean((e**2 + n**2 + u**2)[30:])))
    assert errors["fast + late"] < errors["fast only"]


@pytest.mark.parametrize("motion", ["cv", "imm"])
def test_smoothed_track_is_closer_to_the_truth(scenario_file, motion) -> None:  # type: ignore[no-untyped-def]
    """For forensics: the fixed-interval smoothed track (RTS, or IMM-aware with an IMM)
    of a finished track is more accurate than the live, filtered one."""
    from skyfence.track.replay import feed

    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=1.0)
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    sc = scenario_file(body, duration=240, seed=4)
    truth, det = run_all(Simulation(sc))
    tracker = Tracker(sc.deployment, TrackerConfig(motion=motion), keep_history=True)
    live = [u for u, _, _ in feed(tracker, det)]
    filtered = {k: np.concatenate([u[k] for u in live]) for k in live[0]}
    smooth = tracker.smoothed()
    assert set(smooth["status"]) <= {"confirmed", "coasting"}
    assert np.all(np.diff(smooth["time"]) >= 0)                 # one track, in time order

    def rmse(tab: dict[str, np.ndarray]) -> float:
        keep = np.isin(tab["status"], ["confirmed", "coasting"]) & np.isin(
            tab["time"], smooth["time"])
        t = tab["time"][keep]
        e, n, u = geodetic2enu(tab["lat_deg"][keep], tab["lon_deg"][keep], tab["alt_m"][keep],
                               np.interp(t, truth["time"], truth["lat_deg"]),
                               np.interp(t, truth["time"], truth["lon_deg"]),
                               np.interp(t, truth["time"], truth["alt_m"]))
        return float(np.sqrt(np.mean(e**2 + n**2 + u**2)))

    assert rmse(smooth) < 0.8 * rmse(filtered), (rmse(smooth), rmse(filtered))
    with pytest.raises(ValueError, match="keep_history=True"):
        Tracker(sc.deployment).smoothed()


RID = """
[[sensor]]
id = "rid1"
kind = "remote_id"
lat_deg = 54.60
lon_deg = 25.60
alt_m = 200.0
max_range_m = 20000.0
scan_period_s = 1.0
sigma_pos_m = 5.0
fov_elevation_deg = [-90.0, 90.0]
"""


def test_track_rows_carry_rcs_and_cooperative_id(scenario_file) -> None:  # type: ignore[no-untyped-def]
    """A track update carries the RCS and the id_hint of the detection that made it."""
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0) + RID
    body += flight("q", (54.62, 25.58), (54.64, 25.64), 120, type_="quadcopter",
                   extra='remote_id = "1596F3A7XK0042"')
    truth, tracks, _ = track_run(scenario_file(body, duration=200))
    conf = tracks["status"] == "confirmed"
    radar = conf & (tracks["sensor_id"] == "r1")
    rid = conf & (tracks["sensor_id"] == "rid1")
    assert radar.sum() > 50 and rid.sum() > 50
    # radar updates: the plot's RCS, scattered about the target's mean RCS
    assert np.all(np.isfinite(tracks["rcs_dbsm"][radar]))
    assert abs(np.median(tracks["rcs_dbsm"][radar]) - np.median(truth["rcs_dbsm"])) < 6.0
    # Remote ID updates: the broadcast serial, and no RCS
    serials = set(tracks["id_hint"][rid])
    assert len(serials) == 1 and serials != {""}
    assert np.all(np.isnan(tracks["rcs_dbsm"][rid]))


def test_a_slow_radar_keeps_its_track_through_a_missed_scan(scenario_file) -> None:  # type: ignore[no-untyped-def]
    """Deletion counts scans of the slowest sensor that saw the track, not only seconds."""
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=20.0).replace(
        "scan_period_s = 1.0", "scan_period_s = 8.0")
    body += flight("g", (54.65, 25.50), (54.70, 25.75), 400)
    sc = scenario_file(body, duration=400)
    truth, det = run_all(Simulation(sc))
    # the scan around t0 + 200 s misses the target (its clutter plots still come): a 16-s
    # gap, longer than delete_after_s = 12
    t0 = det["time"].min()
    keep = ~((det["time"] > t0 + 196) & (det["time"] < t0 + 204) & (det["truth_id"] >= 0))
    det = {k: v[keep] for k, v in det.items()}
    target = det["truth_id"] >= 0
    assert np.diff(np.sort(det["time"][target])).max() > 12.0
    # (without re-acquisition, which would bring the deleted track back under its id)
    for cfg, n_ids in ((TrackerConfig(), 1),
                       (TrackerConfig(delete_after_scans=1.0, reacquire=False), 2)):
        tracker = Tracker(sc.deployment, cfg)
        outs = [upd for upd, _, _ in feed(tracker, det)]
        tracks = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
        conf = tracks["status"] == "confirmed"
        assert np.unique(tracks["track_id"][conf]).size == n_ids
        # confirmed at the third scan (3 of 5): the coarse gate lets a new track's plot of
        # the next scan through, and the radar's looks are counted once per scan
        assert tracks["time"][conf].min() - det["time"][target].min() < 2 * 8.0 + 1.0


@pytest.mark.parametrize("motion_name", ["cv", "imm"])
def test_a_track_only_2d_radars_saw_holds_the_assumed_height(scenario_file,
                                                             motion_name: str) -> None:
    """With hold_2d_height every confirmed row of a 2D-radar-only track is at the assumed
    height above the radar, with no vertical speed (a 2D tracker at an assumed height);
    without it the slant ranges move the height off the prior."""
    body = RADAR.format(id="r2", lat=54.60, lon=25.60, clutter=0.0).replace(
        'kind = "radar3d"', 'kind = "radar2d"').replace("scan_period_s = 1.0",
                                                        "scan_period_s = 4.0")
    body += flight("g", (54.70, 25.45), (54.72, 25.85), 900)
    sc = scenario_file(body, duration=240)
    out = {}
    for hold in (True, False):
        cfg = TrackerConfig(motion=motion_name, hold_2d_height=hold)
        _, tracks, tracker = track_run(sc, cfg)
        conf = tracks["status"].astype(str) == "confirmed"
        assert conf.sum() > 20
        site = sc.deployment.sensor[0]
        out[hold] = (tracks["alt_m"][conf] - site.alt_m, tracks["vel_up_mps"][conf])
    above, climb = out[True]
    # the tracking frame is the radar's own here: the assumed height to the millimetre
    # (the geodetic conversion of a point 10-20 km away adds its curvature drop)
    drop = 20e3 ** 2 / (2 * 6.371e6)
    assert np.all(np.abs(above - TrackerConfig().init_height_above_sensor_m) < drop + 1.0)
    # no vertical speed in the tracking frame: in the local up at the track, only the
    # horizontal speed times the tilt between the two (hundredths of a degree)
    assert np.all(np.abs(climb) < 0.1)
    above_free, _ = out[False]
    assert np.max(np.abs(above_free - TrackerConfig().init_height_above_sensor_m)) > 50.0


@pytest.mark.parametrize("n_df, held", [(1, False), (2, True)])
def test_one_direction_finder_alone_does_not_hold_a_track(scenario_file, n_df,  # type: ignore[no-untyped-def]
                                                         held) -> None:
    """A radar track whose plots stop at 100 s takes one direction finder's bearings for
    bearing_only_max_s (20 s) and no more: a ray gives no range.  With a second direction
    finder each bearing after the other's places it, and the track is held to the end."""
    body = RADAR.format(id="r1", lat=54.60, lon=25.60, clutter=0.0)
    body += DF.format(id="df1", lat=54.66, lon=25.66).replace("pd = 0.9", "pd = 1.0")
    if n_df == 2:
        body += DF.format(id="df2", lat=54.58, lon=25.78).replace("pd = 0.9", "pd = 1.0")
    body += flight("g", (54.62, 25.62), (54.64, 25.70), 400, type_="quadcopter")
    sc = scenario_file(body, duration=200, seed=3)
    truth, det = run_all(Simulation(sc))
    t0 = det["time"].min()
    drop = (det["sensor_id"] == "r1") & (det["time"] > t0 + 100.0)
    det = {k: v[~drop] for k, v in det.items()}
    tracker = Tracker(sc.deployment, TrackerConfig())
    outs = [upd for upd, _, _ in feed(tracker, det, 1.0)]
    tracks = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    conf = tracks["status"] == "confirmed"
    ids = np.unique(tracks["track_id"][conf])
    assert ids.size == 1
    df_rows = conf & np.char.startswith(tracks["sensor_id"].astype(str), "df")
    last = tracks["time"][df_rows].max() - t0
    if held:
        assert last > 190.0
    else:
        assert 115.0 < last <= 121.0 + 1e-6
        assert tracker.stats.initiated == 1    # one ray starts nothing


@pytest.mark.parametrize("unambiguous", [True, False])
def test_a_track_that_emits_nothing_takes_no_bearing_of_an_emitter_on_its_ray(
        scenario_file, unambiguous) -> None:  # type: ignore[no-untyped-def]
    """Two quadcopters that emit and one that does not (a bird, to a direction finder)
    fly out along one ray of a direction finder, a radar placing all three.  Every
    bearing falls in all three tracks' gates: with the ambiguity check the silent
    target's track takes none of them; without it, optimal assignment hands it some of
    its neighbours' bearings.  (A lone emitter's track taking its bearings with the check
    on: ``test_one_direction_finder_alone_does_not_hold_a_track``.)"""
    body = RADAR.format(id="r1", lat=54.55, lon=25.75, clutter=0.0)
    body += DF.format(id="df1", lat=54.60, lon=25.60)
    for name, r0, silent in (("a", 0.02, False), ("b", 0.04, False), ("s", 0.03, True)):
        body += flight(name, (54.60 + r0, 25.60 + 1.7 * r0), (54.60 + r0 + 0.03,
                       25.60 + 1.7 * (r0 + 0.03)), 100, type_="quadcopter",
                       extra="emits_rf = false" if silent else "")
    sc = scenario_file(body, duration=180, seed=4)
    truth, tracks, tr = track_run(sc, TrackerConfig(unambiguous_bearings=unambiguous))
    conf = tracks["status"] == "confirmed"
    # each confirmed row's target: the nearest truth at its time
    silent_id = int(truth["truth_id"][truth["name"] == "s"][0])
    rows = np.flatnonzero(conf)
    tt = np.round(truth["time"])
    owner = np.empty(rows.size, np.int64)
    for i, r in enumerate(rows):
        m = tt == np.round(tracks["time"][r])
        d = np.hypot(truth["lat_deg"][m] - tracks["lat_deg"][r],
                     (truth["lon_deg"][m] - tracks["lon_deg"][r]) * 0.58)
        owner[i] = truth["truth_id"][m][np.argmin(d)]
    df = np.char.startswith(tracks["sensor_id"][rows].astype(str), "df")
    silent_bearings = int((df & (owner == silent_id)).sum())
    emitter_bearings = int((df & (owner != silent_id)).sum())
    if unambiguous:
        # all three share every ray: no bearing is any one track's
        assert silent_bearings == emitter_bearings == 0
        assert tr.stats.bearings_ambiguous > 0
    else:
        assert silent_bearings > 10             # 98 here, against 226 for the emitters
        assert tr.stats.bearings_ambiguous == 0


@pytest.mark.parametrize("unambiguous", [True, False])
def test_a_tentative_radar_track_is_confirmed_by_its_radar_not_by_bearings(
        scenario_file, unambiguous) -> None:  # type: ignore[no-untyped-def]
    """One emitting quadcopter, a radar and a direction finder: with the check on, the
    finder's bearings update its track only once the radar has confirmed it (one clutter
    plot and two bearings of a swarm's links once confirmed a track that then slid along
    the rays); without it, bearings update the tentative track too."""
    body = RADAR.format(id="r1", lat=54.55, lon=25.75, clutter=0.0)
    body += DF.format(id="df1", lat=54.60, lon=25.60).replace("pd = 0.9", "pd = 1.0")
    body += flight("q", (54.62, 25.64), (54.65, 25.70), 100, type_="quadcopter")
    sc = scenario_file(body, duration=120, seed=6)
    _, tracks, _ = track_run(sc, TrackerConfig(unambiguous_bearings=unambiguous))
    df = np.char.startswith(tracks["sensor_id"].astype(str), "df")
    tentative = tracks["status"] == "tentative"
    assert (df & (tracks["status"] == "confirmed")).sum() > 50
    assert ((df & tentative).sum() == 0) == unambiguous
