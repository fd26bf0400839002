"""Effectiveness of the alerting chain: did every incursion raise an alert, how soon, and
how many alerts were raised for nothing.

True crossings
    The truth of each target is run through the same airspace engine the pipeline
    uses (:class:`~skyfence.airspace.events.AirspaceEngine`), as if it were a perfect
    track (status confirmed, 1 m sigma): its ``border_entry`` events are the true
    crossings (time and point interpolated on the real border).  One geometry for
    truth and tracks, so the two are measured alike.

Matching alerts to targets
    An alert follows one or more tracks (``track_ids``).  Its target is the truth most
    often associated with the confirmed updates of those tracks in the ``target_window_s``
    (60 s) up to the alert's raise time (the association of
    :func:`~skyfence.eval.continuity.associate_updates`): what the tracks followed when
    the alert was raised, where the alert put it.  Failing that, over all their updates
    up to the raise; failing that, over the tracks' whole life; none at all: the alert
    was raised on a false track (clutter).  (Over all updates up to the raise, two
    vilnius-swarm decoys flying in formation lost their crossing alerts: each track had
    followed the other decoy for a while, minutes before, and an alert raised a second
    after the crossing, on a track that had followed its decoy for the last two minutes
    and went on to for twenty-five more, was scored against the other one.)  An alert
    that carries a cooperative identity (ADS-B, Remote ID) broadcast by a true target
    is about that target, wherever the broadcast put it: a drone whose Remote ID lies
    about its position makes a track that follows the lie, and an alert on it concerns
    that drone, not a bird the lie happens to pass (``identities``: serial → truth id,
    from the detections that carried them).

Figures (:class:`IncursionScore`)
    * **recall**: share of true drone crossings, inside sensor coverage, whose target
      raised an incursion alert (any time after the crossing, or within
      ``early_s`` before it);
    * **time to alert**: emission clock of the alert (the feed clock of the batch that
      produced it) minus the true crossing time, for drones that were tracked before
      they crossed (median, p95) and for all alerted crossings;
    * **false incursion alerts**: incursion alerts whose target is a bird, an aircraft
      or nothing (clutter), also per 24 h; balloons are real incursions, counted apart;
    * **position error at alert**: distance of the alert's position to its target at
      the alert's picture time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from skyfence.airspace.events import AirspaceConfig, AirspaceEngine
from skyfence.eval.continuity import UpdateAssociation
from skyfence.geo.borders import Borders
from skyfence.geo.geodesy import geodetic2enu
from skyfence.geo.zones import Zones

__all__ = ["TRUE_CROSSING_MIN_DEPTH_M", "IncursionScore", "broadcast_identities",
           "score_incursions", "true_crossings"]

#: truth classes that are drones
DRONE_CLASSES = ("drone_fixed_wing", "drone_rotary")
#: classes whose incursion alerts are false alarms (with clutter: no target)
FALSE_ALARM_CLASSES = ("bird", "aircraft")


def broadcast_identities(detections: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Cooperative identity → ``truth_id`` of its broadcaster, from simulated detections
    (their ``id_hint`` and ``truth_id``; empty without those columns).  An identity
    heard from several targets (a copied serial) is left out: it names nobody."""
    if "id_hint" not in detections or "truth_id" not in detections:
        return {}
    hint = np.asarray(detections["id_hint"]).astype(str)
    tid = np.asarray(detections["truth_id"])
    has = (hint != "") & (tid >= 0)
    if not has.any():
        return {}
    pairs = np.unique(np.stack([hint[has], tid[has].astype(np.int64).astype(str)]), axis=1)
    serial, count = np.unique(pairs[0], return_counts=True)
    single = set(serial[count == 1].tolist())
    return {h: int(t) for h, t in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)
            if h in single}


#: a true target has crossed into (or back out of) the home country once it is this far
#: past the border line, m: an OSM border is drawn to within metres to tens of metres and
#: the best radar track is tens of metres off, so a drone that grazes 15 m into Lithuania
#: for two seconds and turns back (border-day's decoy) has not made an incursion anybody
#: could be warned of; its crossing, if it comes back deeper, is the later one
TRUE_CROSSING_MIN_DEPTH_M = 50.0


def true_crossings(truth: Mapping[str, np.ndarray], borders: Borders, zones: Zones,
                   config: AirspaceConfig | None = None) -> dict[str, np.ndarray]:
    """The border entries of the true targets (rows of ``EVENT_COLUMNS``; ``track_id`` is
    the ``truth_id``), found by the airspace engine on the truth as perfect tracks: a
    target is in once :data:`TRUE_CROSSING_MIN_DEPTH_M` past the line, out once as far
    outside (the default ``config``); ``time`` is when it crossed the line."""
    t = {k: np.asarray(v) for k, v in truth.items()}
    n = t["time"].size
    rows = {
        "time": t["time"], "track_id": t["truth_id"].astype(np.int64),
        "status": np.full(n, "confirmed"), "lat_deg": t["lat_deg"], "lon_deg": t["lon_deg"],
        "alt_m": t["alt_m"], "vel_east_mps": t["vel_east_mps"],
        "vel_north_mps": t["vel_north_mps"], "vel_up_mps": t["vel_up_mps"],
        "sigma_east_m": np.ones(n), "sigma_north_m": np.ones(n), "sigma_up_m": np.ones(n),
    }
    eng = AirspaceEngine(borders, zones, config or AirspaceConfig(
        min_margin_m=TRUE_CROSSING_MIN_DEPTH_M))
    # one simulation step at a time, as a live picture would see it
    order = np.argsort(t["time"], kind="stable")
    times = t["time"][order]
    cuts = np.flatnonzero(np.diff(times)) + 1
    out = []
    for idx in np.split(order, cuts):
        ev = eng.step({k: v[idx] for k, v in rows.items()})
        if ev["time"].size:
            out.append(ev)
    if not out:
        ev = eng.step({k: v[:0] for k, v in rows.items()})
        return {k: v[ev["kind"] == "border_entry"] for k, v in ev.items()}
    ev = {k: np.concatenate([o[k] for o in out]) for k in out[0]}
    return {k: v[ev["kind"] == "border_entry"] for k, v in ev.items()}


@dataclass
class IncursionScore:
    """Figures of :func:`score_incursions` (see the module docstring)."""

    drone_crossings: int             # true drone border entries
    drone_crossings_covered: int     # of which inside sensor coverage
    drone_crossings_alerted: int     # of the covered ones, with an incursion alert
    recall: float                    # alerted / covered (NaN if none covered)
    time_to_alert_median_s: float    # drones tracked before they crossed
    time_to_alert_p95_s: float
    time_to_alert_all_median_s: float  # every alerted crossing
    n_time_to_alert: int             # crossings behind the first two figures
    incursion_alerts: int            # incursion alerts raised
    false_incursion_alerts: int      # on birds, aircraft or clutter
    false_incursion_alerts_per_24h: float
    balloon_alerts: int
    position_error_at_alert_median_m: float
    false_alert_classes: dict[str, int]
    #: crossing → alert delays of the drones tracked before they crossed, s
    delays_tracked_before_s: np.ndarray
    #: the false incursion alerts, one dict each (raising revision): ``alert_id``,
    #: ``time`` (UTC epoch s), ``track_ids``, ``lat_deg``, ``lon_deg``, the
    #: ``target_id`` and ``target_class`` it was scored against (-1, "clutter": none)
    #: and its ``message``, for an analyst to find it in the run
    false_alerts: list[dict[str, object]] = field(default_factory=list)


def score_incursions(truth: Mapping[str, np.ndarray], crossings: Mapping[str, np.ndarray],
                     coverage: np.ndarray, tracks: Mapping[str, np.ndarray],
                     association: UpdateAssociation, alerts: Mapping[str, np.ndarray],
                     emitted: np.ndarray, duration_s: float, early_s: float = 60.0,
                     covered_within_s: float = 30.0,
                     identities: Mapping[str, int] | None = None,
                     target_window_s: float = 60.0) -> IncursionScore:
    """Score the alerts of a run against the truth.

    Parameters
    ----------
    truth : mapping
        Truth rows (``truth_id``, ``time``, ``target_class``, position), flying only.
    crossings : mapping
        :func:`true_crossings` of that truth.
    coverage : ndarray of bool
        Per truth row, inside sensor coverage (:func:`~skyfence.eval.harness.coverage_mask`).
    tracks : mapping
        The run's track rows (``time``, ``track_id``, ``status``).
    association : UpdateAssociation
        Of those track rows with the truth.
    alerts : mapping
        Every alert revision the run emitted (``ALERT_COLUMNS``).
    emitted : ndarray
        Per alert revision, the feed clock of the batch that emitted it, s.
    duration_s : float
        Length of the run, s (for the rate per 24 h).
    early_s : float
        An alert raised up to this long before the true crossing still counts for it, s.
    covered_within_s : float
        A crossing is covered when its target is in coverage within this long after it, s.
    identities : mapping of str to int, optional
        Cooperative identity (``id_hint`` of the detections) → ``truth_id`` of the
        target that broadcast it (:func:`broadcast_identities`).
    target_window_s : float
        An alert's target is voted by its tracks' associated updates this long before
        its raise, s (see the module's notes).
    """
    tid = np.asarray(truth["truth_id"])
    tt = np.asarray(truth["time"], dtype=float)
    cls_of = dict(zip(tid.tolist(), np.asarray(truth["target_class"]).astype(str).tolist(),
                      strict=True))
    ids = association.truth_ids
    k_tid = np.asarray(tracks["track_id"])
    k_t = np.asarray(tracks["time"], dtype=float)
    k_truth = np.where(association.truth_index >= 0,
                       ids[np.maximum(association.truth_index, 0)], -1)

    # each alert (its raising revision) → target
    a_id = np.asarray(alerts["alert_id"])
    first = np.asarray(alerts["revision"]) == 0
    raised_kind = np.asarray(alerts["kind"]).astype(str)
    last_ids: dict[int, str] = {}
    for i in range(a_id.size):          # alerts are few: objects at the edge
        last_ids[int(a_id[i])] = str(alerts["track_ids"][i])
    alert_target: dict[int, int] = {}
    alert_raise: dict[int, tuple[float, float, int]] = {}
    for i in np.flatnonzero(first & (raised_kind == "incursion")):
        aid = int(a_id[i])
        tracks_of = np.array([int(x) for x in last_ids[aid].split()], dtype=np.int64)
        mine = np.isin(k_tid, tracks_of) & (k_truth >= 0)
        t_raise = float(alerts["time"][i])
        before = mine & (k_t <= t_raise + 1e-6)
        recent = before & (k_t >= t_raise - target_window_s)
        use = recent if recent.any() else before if before.any() else mine
        coop = str(alerts["cooperative_id"][i]) if "cooperative_id" in alerts else ""
        if identities and coop in identities:
            alert_target[aid] = int(identities[coop])
        elif use.any():
            vals, counts = np.unique(k_truth[use], return_counts=True)
            alert_target[aid] = int(vals[np.argmax(counts)])
        else:
            alert_target[aid] = -1
        alert_raise[aid] = (float(emitted[i]), float(alerts["time"][i]), i)

    # crossings of drones, covered?
    c_tid = np.asarray(crossings["track_id"])
    c_t = np.asarray(crossings["time"], dtype=float)
    drone = np.array([cls_of.get(int(x), "") in DRONE_CLASSES for x in c_tid], dtype=bool)
    covered = np.zeros(c_tid.size, bool)
    tracked_before = np.zeros(c_tid.size, bool)
    for j in np.flatnonzero(drone):
        rows = (tid == c_tid[j]) & (tt >= c_t[j]) & (tt <= c_t[j] + covered_within_s)
        covered[j] = bool(np.any(coverage[rows]))
        tracked_before[j] = bool(np.any((k_truth == c_tid[j]) & (k_t <= c_t[j])))
    delay = np.full(c_tid.size, np.nan)
    for j in np.flatnonzero(drone & covered):
        best = np.inf
        for aid, target in alert_target.items():
            if target == int(c_tid[j]):
                d = alert_raise[aid][0] - c_t[j]
                if d >= -early_s and d < best:
                    best = d
        if np.isfinite(best):
            delay[j] = best
    alerted = drone & covered & np.isfinite(delay)

    # false alerts and position error
    false_classes: dict[str, int] = {}
    balloons = 0
    pos_err = []
    false_list: list[dict[str, object]] = []
    for aid, target in alert_target.items():
        c = cls_of.get(target, "clutter") if target >= 0 else "clutter"
        if c in FALSE_ALARM_CLASSES or c == "clutter":
            false_classes[c] = false_classes.get(c, 0) + 1
            i = alert_raise[aid][2]
            false_list.append({
                "alert_id": aid, "time": float(alerts["time"][i]),
                "track_ids": str(alerts["track_ids"][i]),
                "lat_deg": float(alerts["lat_deg"][i]), "lon_deg": float(alerts["lon_deg"][i]),
                "target_id": int(target), "target_class": c,
                "message": str(alerts["message"][i]) if "message" in alerts else ""})
        elif c == "balloon":
            balloons += 1
        if target >= 0:
            i = alert_raise[aid][2]
            t_a = float(alerts["time"][i])
            m = tid == target
            lat = np.interp(t_a, tt[m], np.asarray(truth["lat_deg"])[m])
            lon = np.interp(t_a, tt[m], np.asarray(truth["lon_deg"])[m])
            alt = np.interp(t_a, tt[m], np.asarray(truth["alt_m"])[m])
            e, n, u = geodetic2enu(float(alerts["lat_deg"][i]), float(alerts["lon_deg"][i]),
                                   float(alerts["alt_m"][i]), lat, lon, alt)
            pos_err.append(float(np.sqrt(e**2 + n**2 + u**2)))
    n_false = sum(false_classes.values())
    d_tb = delay[alerted & tracked_before]
    d_all = delay[alerted]

    def q(a: np.ndarray, p: float) -> float:
        return float(np.percentile(a, p)) if a.size else float("nan")

    n_cov = int(np.count_nonzero(drone & covered))
    return IncursionScore(
        drone_crossings=int(drone.sum()), drone_crossings_covered=n_cov,
        drone_crossings_alerted=int(alerted.sum()),
        recall=int(alerted.sum()) / n_cov if n_cov else float("nan"),
        time_to_alert_median_s=q(d_tb, 50), time_to_alert_p95_s=q(d_tb, 95),
        time_to_alert_all_median_s=q(d_all, 50), n_time_to_alert=int(d_tb.size),
        incursion_alerts=len(alert_target), false_incursion_alerts=n_false,
        false_incursion_alerts_per_24h=n_false * 86400.0 / duration_s if duration_s > 0
        else float("nan"),
        balloon_alerts=balloons,
        position_error_at_alert_median_m=float(np.median(pos_err)) if pos_err
        else float("nan"),
        false_alert_classes=false_classes, delays_tracked_before_s=d_tb,
        false_alerts=false_list)
