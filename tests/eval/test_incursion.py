"""Scoring alerts against the truth (skyfence.eval.incursion): whose alert is it?"""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.eval.continuity import UpdateAssociation
from skyfence.eval.incursion import broadcast_identities, score_incursions
from skyfence.model.schema import ALERT_COLUMNS

T0 = 1_750_000_000.0


def _truth() -> dict[str, np.ndarray]:
    """A drone (1) and a bird (2), 60 s each, 1 s apart."""
    t = T0 + np.arange(60.0)
    n = t.size
    return {
        "time": np.concatenate([t, t]), "truth_id": np.repeat([1, 2], n),
        "target_class": np.repeat(["drone_rotary", "bird"], n),
        "lat_deg": np.full(2 * n, 54.7), "lon_deg": np.full(2 * n, 25.3),
        "alt_m": np.full(2 * n, 300.0),
    }


def _alert(track_id: int, coop: str) -> dict[str, np.ndarray]:
    row = {c: np.zeros(1, dtype=str if d == "str" else d) for c, d in ALERT_COLUMNS.items()}
    row.update(alert_id=np.array([7]), revision=np.array([0]), time=np.array([T0 + 30.0]),
               kind=np.array(["incursion"]), track_id=np.array([track_id]),
               track_ids=np.array([str(track_id)]), cooperative_id=np.array([coop]),
               lat_deg=np.array([54.7]), lon_deg=np.array([25.3]), alt_m=np.array([300.0]))
    return row


def _score(coop: str, identities: dict[str, int] | None):
    truth = _truth()
    # one track (5), all its updates associated with the bird (index 1 of truth ids 1, 2)
    t = T0 + np.arange(40.0)
    tracks = {"time": t, "track_id": np.full(t.size, 5), "status": np.full(t.size, "confirmed")}
    assoc = UpdateAssociation(truth_ids=np.array([1, 2]), truth_index=np.ones(t.size, np.intp),
                              distance_m=np.full(t.size, 10.0), counted=np.ones(t.size, bool))
    crossings = {"track_id": np.zeros(0, np.int64), "time": np.zeros(0)}
    return score_incursions(truth, crossings, np.ones(truth["time"].size, bool), tracks, assoc,
                            _alert(5, coop), np.array([T0 + 30.5]), duration_s=60.0,
                            identities=identities)


def test_an_alert_on_a_track_near_a_bird_is_a_false_alert() -> None:
    s = _score("", None)
    assert s.false_incursion_alerts == 1 and s.false_alert_classes == {"bird": 1}
    # listed for an analyst: which alert, when, where, on which tracks, against what
    (a,) = s.false_alerts
    assert (a["alert_id"], a["time"], a["track_ids"], a["target_id"], a["target_class"]) == \
        (7, T0 + 30.0, "5", 2, "bird")
    assert (a["lat_deg"], a["lon_deg"]) == (54.7, 25.3)
    assert _score("1581F4XFC238M00LIAR", {"1581F4XFC238M00LIAR": 1}).false_alerts == []


def test_an_alert_carrying_a_drones_broadcast_identity_is_about_that_drone() -> None:
    # the track follows a spoofed Remote ID position that passes the bird: the serial,
    # broadcast by the drone, says whose alert it is
    s = _score("1581F4XFC238M00LIAR", {"1581F4XFC238M00LIAR": 1})
    assert s.false_incursion_alerts == 0
    # an identity nobody in the truth broadcast changes nothing
    s = _score("UNKNOWN-SERIAL", {"1581F4XFC238M00LIAR": 1})
    assert s.false_incursion_alerts == 1


@pytest.mark.parametrize(("window_s", "drone"), [(10.0, True), (1e9, False)])
def test_an_alert_is_about_what_its_track_followed_when_it_was_raised(window_s, drone) -> None:  # type: ignore[no-untyped-def]
    """A track follows the bird for 40 s, then the drone for 15 s; the alert is raised at
    54.5 s, after the drone's crossing at 50 s.  By the updates of the last 10 s (all the
    drone's) the alert is the drone's; by all its updates (40 bird, 15 drone), the bird's."""
    truth = _truth()
    t = T0 + np.arange(55.0)
    tracks = {"time": t, "track_id": np.full(t.size, 5), "status": np.full(t.size, "confirmed")}
    index = np.where(t < T0 + 40.0, 1, 0).astype(np.intp)     # bird (2), then drone (1)
    assoc = UpdateAssociation(truth_ids=np.array([1, 2]), truth_index=index,
                              distance_m=np.full(t.size, 10.0), counted=np.ones(t.size, bool))
    alert = _alert(5, "")
    alert["time"] = np.array([T0 + 54.5])
    crossings = {"track_id": np.array([1]), "time": np.array([T0 + 50.0])}
    s = score_incursions(truth, crossings, np.ones(truth["time"].size, bool), tracks, assoc,
                         alert, np.array([T0 + 55.0]), duration_s=60.0,
                         target_window_s=window_s)
    assert s.drone_crossings_alerted == int(drone)
    assert s.false_incursion_alerts == int(not drone)


def test_broadcast_identities_from_the_detections() -> None:
    det = {"id_hint": np.array(["A", "A", "", "B", "C", "C", "D"]),
           "truth_id": np.array([1, 1, 2, 3, 4, 5, -1])}
    # C is heard from two targets (a copied serial) and D from no target: both left out
    assert broadcast_identities(det) == {"A": 1, "B": 3}
    assert broadcast_identities({"time": np.zeros(2)}) == {}


def test_a_graze_of_the_border_is_no_crossing_the_deeper_entry_after_it_is() -> None:
    import math

    import shapely

    from skyfence.airspace.events import AirspaceConfig
    from skyfence.eval.incursion import TRUE_CROSSING_MIN_DEPTH_M, true_crossings
    from skyfence.geo.borders import Borders
    from skyfence.geo.zones import Zones

    # toy geography: Lithuania west of 26° E, Belarus east of it (short edges: a long
    # meridian drawn straight in the engine's projection bows off it by metres)
    borders = Borders({"LT": shapely.box(25.0, 54.5, 26.0, 54.7),
                       "BY": shapely.box(26.0, 54.5, 27.0, 54.7)})
    m_lon = 111_320.0 * math.cos(math.radians(54.6))
    # depth into Lithuania (m): from 300 m out, 20 m in at 32 s (a graze), back out to
    # 300 m at 64 s, then 600 m in at 154 s; 10 m/s, a row a second
    t = np.arange(155.0)
    depth = np.where(t <= 32, -300 + 10 * t, np.where(t <= 64, 20 - 10 * (t - 32),
                                                       -300 + 10 * (t - 64)))
    n = t.size
    truth = {"time": T0 + t, "truth_id": np.ones(n, np.int64), "lat_deg": np.full(n, 54.6),
             "lon_deg": 26.0 - depth / m_lon, "alt_m": np.full(n, 300.0),
             "vel_east_mps": -np.gradient(depth, t), "vel_north_mps": np.zeros(n),
             "vel_up_mps": np.zeros(n)}
    assert TRUE_CROSSING_MIN_DEPTH_M > 20.0
    cr = true_crossings(truth, borders, Zones([]))
    # one crossing: the deep one, at the moment it crossed the line (94 s), not 50 m in
    assert cr["time"].size == 1
    assert cr["time"][0] - T0 == pytest.approx(94.0, abs=0.5)
    # with a 10-m threshold the graze is a crossing of its own (at 30 s)
    cr10 = true_crossings(truth, borders, Zones([]), AirspaceConfig(min_margin_m=10.0))
    np.testing.assert_allclose(cr10["time"] - T0, [30.0, 94.0], atol=0.5)
