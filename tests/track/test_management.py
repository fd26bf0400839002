"""Track management beyond M-of-N: how long a confirmed track lives without updates when
sensors of different revisit have seen it, and duplicate firm tracks on one target."""

from __future__ import annotations

import numpy as np

from skyfence.track.config import TrackerConfig
from skyfence.track.tracker import Tracker
from skyfence.track.tracks import CONFIRMED

from .test_tracker import RADAR


def _deployment(scenario_file):  # type: ignore[no-untyped-def]
    """A 1-s 3D radar (r3, 30 km) and a 10-s 2D radar (r2, 80 km) 60 km east of it."""
    body = RADAR.format(id="r3", lat=54.60, lon=25.00, clutter=0.0)
    body += RADAR.format(id="r2", lat=54.60, lon=25.93, clutter=0.0).replace(
        'kind = "radar3d"', 'kind = "radar2d"').replace(
        "scan_period_s = 1.0", "scan_period_s = 10.0").replace(
        "max_range_m = 30000.0", "max_range_m = 80000.0")
    return scenario_file(body, duration=10)


def _add(tracker: Tracker, ids, east_m, seen_by, vel=(10.0, 0.0, 0.0), t=0.0,
         sigma=(30.0, 30.0, 30.0, 2.0, 2.0, 1.0)) -> None:  # type: ignore[no-untyped-def]
    """Confirmed tracks at ``east_m`` along the tracking frame's east axis, 300 m up, all
    last updated at ``t``."""
    k = len(ids)
    tab = tracker.tracks
    x = np.zeros((k, 6))
    x[:, 0] = east_m
    x[:, 2] = 300.0
    x[:, 3:6] = vel
    P = np.tile(np.diag(np.square(sigma)), (k, 1, 1))
    d, m = tab.x.shape[1], tab.mu.shape[1]
    tab.append(type(tab)(
        np.asarray(ids, np.int64), x, P, np.full(k, t), np.full(k, CONFIRMED, np.int8),
        np.full(k, t), np.full(k, t), np.full(k, t), np.full(k, 9), np.full(k, 9),
        np.zeros(k, np.int64),
        np.asarray(seen_by, np.uint64), np.full(k, np.nan), np.full(k, np.nan), np.full(k, -1),
        np.empty((k, m)), np.empty((k, m, d)), np.empty((k, m, d, d))))


def test_a_track_lives_by_the_fastest_sensor_that_still_covers_it(scenario_file) -> None:  # type: ignore[no-untyped-def]
    sc = _deployment(scenario_file)
    cfg = TrackerConfig(motion="cv", reacquire=True, merge_duplicates=False)
    tracker = Tracker(sc.deployment, cfg)
    ids = [s.id for s in sc.deployment.sensor]
    b3, b2 = 1 << ids.index("r3"), 1 << ids.index("r2")
    r3 = tracker.ingest.site[ids.index("r3")]
    # 1 and 2 were seen by both radars; 1 is inside the 3D radar's 30 km, 2 beyond it;
    # 3 only by the 2D radar, inside the 3D radar's range
    _add(tracker, [1, 2, 3], [r3[0] + 5e3, r3[0] + 45e3, r3[0] + 5e3],
         [b3 | b2, b3 | b2, b2], vel=(0.0, 0.0, 0.0))
    tracker.flush(13.0)
    # 13 s without an update: past 3 scans of the 1-s radar (12 s) for 1, which it covers;
    # 2 and 3 are kept for 3 scans of the 10-s radar (30 s)
    assert list(tracker.lost.id) == [1]
    assert sorted(tracker.tracks.id.tolist()) == [2, 3]
    tracker.flush(31.0)
    assert sorted(tracker.lost.id.tolist()) == [1, 2, 3]
    # lost, each is kept for re-acquisition reacquire_scans scans of the slowest sensor
    # that saw it (9 × 10 s) after it was missed, whichever sensor set its deletion
    window = cfg.reacquire_scans * 10.0
    assert window == 90.0
    np.testing.assert_allclose(sorted(tracker._lost_until), [12.0 + window, 30.0 + window,
                                                             30.0 + window])


def test_two_firm_tracks_on_one_target_keep_the_older(scenario_file) -> None:  # type: ignore[no-untyped-def]
    sc = _deployment(scenario_file)
    tracker = Tracker(sc.deployment, TrackerConfig(motion="cv", merge_checks=3))
    r3 = tracker.ingest.site[0]
    # 7 and 9: one drone (30 m apart, same velocity); 8: 250 m off, flying the other way
    _add(tracker, [7, 9], [r3[0] + 5e3, r3[0] + 5e3 + 30.0], [1, 1])
    _add(tracker, [8], [r3[0] + 5e3 + 250.0], [1], vel=(-10.0, 0.0, 0.0))
    for t in (0.5, 1.5):
        tracker.tracks.t_update[:] = t          # kept fresh: no coasting
        tracker.flush(t)
        assert sorted(tracker.tracks.id.tolist()) == [7, 8, 9]
    tracker.tracks.t_update[:] = 2.5
    out = tracker.flush(2.5)                  # alike at 3 checks a second apart
    assert sorted(tracker.tracks.id.tolist()) == [7, 8]
    assert tracker.stats.merged == 1
    # the duplicate is deleted outright (not kept lost for re-acquisition)
    assert out["track_id"][out["status"] == "deleted"].tolist() == [9]
    assert len(tracker.lost) == 0
    off = Tracker(sc.deployment, TrackerConfig(motion="cv", merge_duplicates=False))
    _add(off, [7, 9], [r3[0] + 5e3, r3[0] + 5e3 + 30.0], [1, 1])
    for t in (0.5, 1.5, 2.5, 3.5):
        off.tracks.t_update[:] = t
        off.flush(t)
    assert sorted(off.tracks.id.tolist()) == [7, 9]
