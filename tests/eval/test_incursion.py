"""Scoring alerts against the truth (skyfence.eval.incursion): whose alert is it?"""

from __future__ import annotations

import numpy as np

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


def test_an_alert_carrying_a_drones_broadcast_identity_is_about_that_drone() -> None:
    # the track follows a spoofed Remote ID position that passes the bird: the serial,
    # broadcast by the drone, says whose alert it is
    s = _score("1581F4XFC238M00LIAR", {"1581F4XFC238M00LIAR": 1})
    assert s.false_incursion_alerts == 0
    # an identity nobody in the truth broadcast changes nothing
    s = _score("UNKNOWN-SERIAL", {"1581F4XFC238M00LIAR": 1})
    assert s.false_incursion_alerts == 1


def test_broadcast_identities_from_the_detections() -> None:
    det = {"id_hint": np.array(["A", "A", "", "B", "C", "C", "D"]),
           "truth_id": np.array([1, 1, 2, 3, 4, 5, -1])}
    # C is heard from two targets (a copied serial) and D from no target: both left out
    assert broadcast_identities(det) == {"A": 1, "B": 3}
    assert broadcast_identities({"time": np.zeros(2)}) == {}
