"""Monte-Carlo evaluation of the tracker on a scenario: simulate, track, score.

For each seed the scenario is simulated in memory, its detections are fed to a
fresh tracker in arrival order one second at a time (as a live feed), and the
confirmed tracks are scored against the truth: GOSPA (with its localisation /
missed / false split), SIAP-style continuity, time to confirm and position RMSE.
A truth row counts as *in coverage* when its target was detected by a radar or
a position sensor within ``coverage_window_s`` of it: a target nobody can see
is not held against the tracker.  The probability of update of a row is
judged against the revisit of the sensors that detected its target around that
time (:func:`coverage_revisit`): a target seen only by a 10-s radar is not
expected to be updated every 5 s.  It counts the rows whose target was detected
within that window *before* the row (:func:`seen_before`): a tracker cannot
update a target from a plot the sensors have not made yet, so a tracker that
turns every detection of every target into an update of its track scores 1.

The position RMSE is also set against the posterior Cramér–Rao lower bound of
each run (:func:`position_bound`, :func:`rmse_vs_bound`): the bound along the
true trajectories with the run's own detections, the tracker's sensors, frame
and motion model.

The continuity figures are given twice.  With the fixed 500-m gate (:data:`GATE_M`)
an update further than that from its target is false and leaves the target
un-updated, even where the target's detections cannot place it to 500 m (a bird
60 km out seen only by 2D radars whose 1° beam is 1 km wide there).  The
``*_bound_gate`` figures gate each target-time at :func:`bound_gate`,
``max(500 m, 3.03 σ_h)`` with ``σ_h`` the target's horizontal PCRLB at that time,
at the rows owed an update (:func:`seen_before`; 500 m elsewhere): the tracker is
asked to be as close as the detections allow, and never closer than 500 m.
The ``probability_of_update_at_bound*`` figures say what the 500-m gate leaves
possible: the mean, over the rows owed an update, of the chance that an error as
small as the bound (a Gaussian of its east-north covariance) is within 500 m, the
probability of update a tracker would score that never missed an update and were
exactly as accurate as the bound.  An estimate, not a ceiling: the bound is an
average over the motion model's random accelerations, and a window may hold more
than one update.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

import numpy as np

from skyfence.classify.config import ClassifierConfig
from skyfence.classify.evaluate import ClassificationReport, evaluate_classification
from skyfence.config.sensors import SensorSpec
from skyfence.errors import DataError
from skyfence.eval.continuity import ContinuityResult, associate_updates, track_continuity
from skyfence.eval.gospa import ENU_COLUMNS, ENU_VELOCITY_COLUMNS, gospa_over_time, table_to_enu
from skyfence.eval.incursion import (
    DRONE_CLASSES,
    IncursionScore,
    broadcast_identities,
    score_incursions,
    true_crossings,
)
from skyfence.eval.pcrlb import PcrlbSensor, pcrlb, position_rmse_bound, probability_within
from skyfence.geo.borders import load_borders
from skyfence.geo.zones import load_zones
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario
from skyfence.track.config import TrackerConfig
from skyfence.track.measurement import (
    Bearing,
    BearingElevation,
    MeasurementModel,
    Position,
    Radar2D,
    Radar3D,
)
from skyfence.track.motion import (
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionModel,
)
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker

__all__ = [
    "RunScore",
    "bound_gate",
    "coverage_mask",
    "coverage_revisit",
    "seen_before",
    "evaluate",
    "evaluate_run",
    "PositionBounds",
    "position_bound",
    "position_bounds",
    "rmse_vs_bound",
]

#: GOSPA parameters: cut-off c (m), order p, alpha
GOSPA_C_M = 500.0
GOSPA_P = 2.0
#: groups of truth target classes whose continuity is reported apart
CLASS_GROUPS: dict[str, tuple[str, ...]] = {
    "drones": ("drone_fixed_wing", "drone_rotary"), "birds": ("bird",),
    "aircraft": ("aircraft",)}
#: a track update further than this from every target is false, m
GATE_M = 500.0
#: target-times whose PCRLB is this large or more are not compared with the tracker, m
MAX_BOUND_M = GATE_M / 3.0
#: a track row whose vertical sigma exceeds this has no measured height (2D radars alone):
#: it is associated with the truth on its horizontal position, m
HEIGHT_UNOBSERVED_SIGMA_M = GATE_M / 3.0
#: the bound-scaled gate of a target-time is max(GATE_M, BOUND_GATE_K × its horizontal
#: PCRLB σ_h): sqrt(chi2.ppf(0.99, 2)) = sqrt(2 ln 100) = 3.03, the radius holding 99 %
#: of a circular 2-D Gaussian in units of its per-axis sigma.  σ_h = sqrt(σ_east² +
#: σ_north²) is the horizontal RMSE bound: √2 per-axis sigmas for a circular error, one
#: for an error along one axis only, so BOUND_GATE_K · σ_h holds 99.76 % (all along one
#: axis) to 99.99 % (circular) of an error as small as the bound allows, whatever its
#: shape
BOUND_GATE_K = float(np.sqrt(2.0 * np.log(100.0)))


@dataclass
class RunScore:
    """Figures of one run (one seed).  Units in the names."""

    seed: int
    targets: int
    detections: int
    gospa_mean_m: float
    gospa_localisation_mean: float
    gospa_missed_mean: float
    gospa_false_mean: float
    probability_of_update: float
    probability_of_update_tracked: float
    #: the same over the rows of drones, birds (single and flocks) and manned aircraft
    probability_of_update_tracked_drones: float
    probability_of_update_tracked_birds: float
    probability_of_update_tracked_aircraft: float
    #: the two probabilities of update above with a fixed 5-s window (before the window
    #: followed the revisit of the covering sensors)
    probability_of_update_fixed_5s: float
    probability_of_update_tracked_fixed_5s: float
    #: probability of update once tracked, overall and per class, with the bound-scaled
    #: gate: per target-time max(500 m, 3.03 σ_h), σ_h its horizontal PCRLB (the 500-m
    #: figures above judge a target whose detections cannot place it to 500 m by a gate it
    #: cannot meet)
    probability_of_update_tracked_bound_gate: float
    probability_of_update_tracked_drones_bound_gate: float
    probability_of_update_tracked_birds_bound_gate: float
    probability_of_update_tracked_aircraft_bound_gate: float
    #: with the 500-m gate, the probability of update of a tracker exactly as accurate
    #: as the bound that never missed an owed update (mean over the owed rows of the
    #: chance an error of the bound's covariance is within 500 m), overall, drones, birds
    probability_of_update_at_bound: float
    probability_of_update_at_bound_drones: float
    probability_of_update_at_bound_birds: float
    long_gaps: int
    track_id_changes: int
    id_swaps: int
    false_updates: int
    false_update_share: float
    #: confirmed updates associated with no target with the bound-scaled gate
    false_updates_bound_gate: int
    false_tracks: int
    confirmed_updates: int
    #: id swaps and false confirmed tracks per confirmed update (the issue's terms)
    id_swap_share: float
    false_track_share: float
    time_to_confirm_median_s: float
    position_rmse_m: float
    pcrlb_rmse_m: float
    rmse_over_pcrlb: float
    tracker_wall_s: float
    tracker_detections_per_s: float
    #: identification: drone/bird/aircraft right 10 s after confirmation (share, tracks)
    class_accuracy_10s: float
    class_tracks_10s: int
    class_ece: float
    #: incursions (:mod:`skyfence.eval.incursion`): true drone crossings in coverage, share
    #: alerted, crossing → alert delay (drones tracked before crossing), false alerts
    drone_crossings_covered: int
    incursion_recall: float
    time_to_alert_median_s: float
    time_to_alert_p95_s: float
    incursion_alerts: int
    false_incursion_alerts: int
    false_incursion_alerts_per_24h: float
    position_error_at_alert_m: float
    #: wall time of the whole chain (tracker, classify, airspace, alerts) per detection
    pipeline_wall_s: float
    #: the run's identification and incursion reports (pooled over runs by the report)
    classification: ClassificationReport | None = field(default=None, repr=False)
    incursions: IncursionScore | None = field(default=None, repr=False)
    series: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def figures(self) -> dict[str, float | int]:
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in ("series", "classification", "incursions")}
        return d


def _target_plots(det: dict[str, np.ndarray]) -> np.ndarray:
    """Detections of a true target by a sensor that places it (radar plot or position
    report): the ones that put a target inside coverage."""
    kinds = det["kind"].astype(str)
    return (det["truth_id"] >= 0) & np.isin(kinds, ["radar3d", "radar2d", "position"])


def coverage_mask(truth: dict[str, np.ndarray], det: dict[str, np.ndarray],
                  window_s: float = 2.0) -> np.ndarray:
    """True for truth rows whose target was detected (radar or position report)
    within ``window_s`` seconds of the row's time."""
    use = _target_plots(det)
    dt_id = det["truth_id"][use]
    d_t = det["time"][use]
    t0 = float(min(truth["time"].min(), d_t.min() if d_t.size else np.inf))
    span = float(max(truth["time"].max(), d_t.max() if d_t.size else -np.inf)) - t0 + 10.0
    key_d = np.sort(dt_id * span + (d_t - t0))
    key_t = truth["truth_id"] * span + (truth["time"] - t0)
    return _nearest_gap(key_d, key_t) <= window_s


def _nearest_gap(key_d: np.ndarray, key_t: np.ndarray) -> np.ndarray:
    """Per query key ``key_t``, the distance to the nearest of the sorted keys ``key_d``
    (inf if there is none).  Keys are ``target id × span + time``: the nearest detection
    of the same target in time."""
    i = np.searchsorted(key_d, key_t)
    best = np.full(key_t.size, np.inf)
    for j in (i - 1, i):
        ok = (j >= 0) & (j < key_d.size)
        best[ok] = np.minimum(best[ok], np.abs(key_d[j[ok]] - key_t[ok]))
    return best


def coverage_revisit(truth: dict[str, np.ndarray], det: dict[str, np.ndarray],
                     periods: dict[str, float], window_s: float = 2.0,
                     revisit_factor: float = 1.5) -> np.ndarray:
    """Per truth row, the expected update interval of the sensors covering its target:
    the scan period (``periods``, by sensor id) of the fastest radar or position sensor
    that detected the target within ``max(window_s, revisit_factor × its period)`` of the
    row's time, seconds; inf where none did (the rows :func:`coverage_mask` leaves out).
    """
    use = _target_plots(det)
    sid = np.asarray(det["sensor_id"]).astype(str)[use]
    d_id, d_t = det["truth_id"][use], det["time"][use]
    out = np.full(truth["time"].size, np.inf)
    if d_t.size == 0:
        return out
    t0 = float(min(truth["time"].min(), d_t.min()))
    span = float(max(truth["time"].max(), d_t.max())) - t0 + 10.0 * max(window_s, 1.0) + \
        revisit_factor * max(periods.values(), default=0.0)
    key_t = truth["truth_id"] * span + (truth["time"] - t0)
    names, of = np.unique(sid, return_inverse=True)
    for k, name in enumerate(names):
        period = float(periods.get(str(name), np.nan))
        if not np.isfinite(period) or period <= 0:
            continue
        key_d = np.sort(d_id[of == k] * span + (d_t[of == k] - t0))
        near = _nearest_gap(key_d, key_t) <= max(window_s, revisit_factor * period)
        out[near] = np.minimum(out[near], period)
    return out


def seen_before(truth: dict[str, np.ndarray], det: dict[str, np.ndarray],
                revisit_s: np.ndarray, min_window_s: float = 5.0,
                revisit_factor: float = 1.5) -> np.ndarray:
    """True for truth rows whose target a radar or position sensor detected at or before
    the row's time, within ``max(min_window_s, revisit_factor × revisit_s)`` of it
    (``revisit_s`` per row, from :func:`coverage_revisit`; ``min_window_s`` where it is
    not finite): the rows at which an update of the target was owed."""
    use = _target_plots(det)
    d_id, d_t = det["truth_id"][use], det["time"][use]
    out = np.zeros(truth["time"].size, bool)
    if d_t.size == 0:
        return out
    rev = np.asarray(revisit_s, dtype=np.float64)
    window = np.where(np.isfinite(rev), np.maximum(min_window_s, revisit_factor * rev),
                      min_window_s)
    t0 = float(min(truth["time"].min(), d_t.min()))
    span = float(max(truth["time"].max(), d_t.max())) - t0 + 1.0 + float(window.max())
    key_d = np.sort(d_id * span + (d_t - t0))
    key_t = truth["truth_id"] * span + (truth["time"] - t0)
    i = np.searchsorted(key_d, key_t, side="right") - 1
    ok = i >= 0
    out[ok] = key_t[ok] - key_d[i[ok]] <= window[ok]
    return out


def bound_gate(horizontal_bound_m: np.ndarray, use: np.ndarray | None = None,
               k: float = BOUND_GATE_K, floor_m: float = GATE_M) -> np.ndarray:
    """Per truth row, the bound-scaled association gate ``max(floor_m, k × σ_h)``, metres.

    ``σ_h`` is the target's horizontal PCRLB at that row
    (:func:`position_bounds`): no tracker can place the target better from those
    detections, so an update within ``k σ_h`` of it is as close as its detections
    allow (see :data:`BOUND_GATE_K`), and one within ``floor_m`` is as close as any
    target is asked to be.  ``floor_m`` where the bound is unknown (NaN) and at the
    rows ``use`` leaves out.
    """
    sigma = np.asarray(horizontal_bound_m, dtype=np.float64)
    if use is not None:
        sigma = np.where(use, sigma, np.nan)
    return np.fmax(floor_m, k * sigma)


def run_tracker(sc: Scenario, det: dict[str, np.ndarray], cfg: TrackerConfig,
                slice_s: float = 1.0) -> tuple[dict[str, np.ndarray], float]:
    """Feed detections to a fresh tracker in arrival order; returns (tracks, wall seconds)."""
    tracker = Tracker(sc.deployment, cfg)
    started = time.perf_counter()
    outs = [upd for upd, _, _ in feed(tracker, det, slice_s)]
    wall = time.perf_counter() - started
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}, wall


@dataclass
class ChainRun:
    """What the whole chain produced on a run's detections."""

    tracks: dict[str, np.ndarray]     # classified track rows
    events: dict[str, np.ndarray]
    alerts: dict[str, np.ndarray]     # every alert revision
    emitted: np.ndarray               # feed clock of the batch that emitted each revision
    tracker_wall_s: float             # time spent in the tracker
    wall_s: float                     # time spent in the whole chain


def chain_classifier_config(sc: Scenario, seed: int | None) -> ClassifierConfig:
    """The classifier's configuration for a simulated run of ``sc``: its sensors, its
    ground height and the wind forecast of run ``seed`` (:meth:`Wind.forecast`: the
    simulated chain is never given the true wind)."""
    return ClassifierConfig.for_deployment(sc.deployment, sc.scenario.terrain_alt_m,
                                           wind=sc.wind.forecast(seed))


def run_chain(sc: Scenario, det: dict[str, np.ndarray], cfg: TrackerConfig,
              slice_s: float | None = None, seed: int | None = None) -> ChainRun:
    """Feed detections through a fresh in-process pipeline (tracker → classify → airspace
    → alerts, no store) in arrival order, as a live feed would deliver them (batches of
    ``slice_s`` seconds, default the pipeline's :data:`~skyfence.pipeline.runner.BATCH_S`).
    The classifier is given the wind forecast of run ``seed`` (:meth:`Wind.forecast`)."""
    from skyfence.pipeline.runner import BATCH_S, Pipeline

    slice_s = BATCH_S if slice_s is None else slice_s
    pipe = Pipeline(sc.deployment, tracker=cfg, ground_alt_m=sc.scenario.terrain_alt_m,
                    classify=chain_classifier_config(sc, seed))
    tracker_time = 0.0
    step, flush = pipe.tracker.step, pipe.tracker.flush

    def timed(f: Callable[..., dict[str, np.ndarray]]) -> Callable[..., dict[str, np.ndarray]]:
        def run(*a: Any, **k: Any) -> dict[str, np.ndarray]:
            nonlocal tracker_time
            t = time.perf_counter()
            try:
                return f(*a, **k)
            finally:
                tracker_time += time.perf_counter() - t
        return run

    pipe.tracker.step, pipe.tracker.flush = timed(step), timed(flush)  # type: ignore[method-assign]
    started = time.perf_counter()
    tracks, events, alerts, emitted = [], [], [], []
    for res, clock, _ in feed(pipe, det, slice_s):
        tracks.append(res.tracks)
        if res.events["time"].size:
            events.append(res.events)
        if res.alerts["alert_id"].size:
            alerts.append(res.alerts)
            emitted.append(np.full(res.alerts["alert_id"].size, clock))
    wall = time.perf_counter() - started

    def cat(parts: list[dict[str, np.ndarray]], empty: dict[str, np.ndarray]
            ) -> dict[str, np.ndarray]:
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else empty

    k = cat(tracks, {})
    return ChainRun(k, cat(events, pipe.airspace.step({c: v[:0] for c, v in k.items()})),
                    cat(alerts, pipe.alerts.open_alerts()),
                    np.concatenate(emitted) if emitted else np.empty(0), tracker_time, wall)


def evaluate_run(sc: Scenario, seed: int, cfg: TrackerConfig,
                 duration_s: float | None = None) -> RunScore:
    """Simulate ``sc`` with ``seed``, track it and score the confirmed tracks."""
    sim = Simulation(sc, seed=seed, duration_s=duration_s)
    chunks = list(sim.run())
    truth = {k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth}
    det = {k: np.concatenate([c.detections[k] for c in chunks]) for k in chunks[0].detections}
    chain = run_chain(sc, det, cfg, seed=sim.seed)
    tracks, wall = chain.tracks, chain.tracker_wall_s
    lat0, lon0 = sc.origin()
    origin = (lat0, lon0, sc.scenario.terrain_alt_m)
    flying = truth["status"].astype(str) == "flying"
    truth = {k: v[flying] for k, v in truth.items()}
    cover = coverage_mask(truth, det)
    T = table_to_enu({k: v[cover] for k, v in truth.items()}, *origin)
    K = table_to_enu(tracks, *origin)
    g = gospa_over_time(T, K, c=GOSPA_C_M, p=GOSPA_P)
    T_all = table_to_enu(truth, *origin)
    # a track whose height nobody measured (2D radars alone) is judged over the ground
    flat = np.asarray(tracks["sigma_up_m"], float) > HEIGHT_UNOBSERVED_SIGMA_M
    assoc = associate_updates(T_all, K, gate_m=GATE_M, horizontal=flat)
    periods = {sp.id: float(sp.scan_period_s) for sp in sc.deployment.sensor
               if sp.scan_period_s is not None}
    revisit = coverage_revisit(truth, det, periods)
    # continuity over the rows at which an update was owed (a detection before them)
    owed = seen_before(truth, det, revisit)
    c = track_continuity(T_all, K, gate_m=GATE_M, coverage=cover, association=assoc,
                         revisit_s=revisit, owed=owed)
    # the PCRLB of every covered or owed row, once: the 3-D bound for RMSE / PCRLB, the
    # horizontal one for the bound-scaled gate of the owed rows.  Not the rows covered
    # just before a plot that ends a detection gap: their bound is of a target nobody
    # has seen for minutes, kilometres wide, and no update is owed there
    bounds = position_bounds(sc, cfg, truth, det, cover | owed)
    assoc_b = associate_updates(T_all, K, gate_m=GATE_M, horizontal=flat,
                                gate_per_truth_row=bound_gate(bounds.horizontal_m, owed))
    c_b = track_continuity(T_all, K, gate_m=GATE_M, coverage=cover, association=assoc_b,
                           revisit_s=revisit, owed=owed)
    # per class of target: the same association (all targets), rows of one class counted
    cls = np.asarray(truth["target_class"]).astype(str) if "target_class" in truth else \
        np.full(truth["time"].size, "")
    by_class, by_class_b = {}, {}
    for name, members in CLASS_GROUPS.items():
        mine = np.isin(cls, members)
        for out, a in ((by_class, assoc), (by_class_b, assoc_b)):
            out[name] = float(track_continuity(T_all, K, gate_m=GATE_M, coverage=cover,
                                               association=a, revisit_s=revisit,
                                               owed=owed & mine)
                              .probability_of_update_tracked) if mine.any() else float("nan")
    # over the rows the 500-m probability of update once tracked counts: owed, at or after
    # the target's first update within 500 m
    # (the association's targets are the truth's, sorted)
    t_rank = np.searchsorted(assoc.truth_ids, truth["truth_id"])
    once = owed & (truth["time"] >= assoc.first_update_time(K["time"])[t_rank])
    at_bound = {}
    for name, members in (("all", None), *CLASS_GROUPS.items()):
        p = bounds.p_within_gate[once if members is None else once & np.isin(cls, members)]
        p = p[np.isfinite(p)]
        at_bound[name] = float(p.mean()) if p.size else float("nan")
    ttc = c.time_to_confirm_s[np.isfinite(c.time_to_confirm_s)]
    vs = rmse_vs_bound(sc, cfg, truth, det, cover, c, K["time"], bound=bounds.rmse_m)
    ident = evaluate_classification(truth, tracks, assoc)
    borders, zones = load_borders(), load_zones()
    drone = np.isin(cls, DRONE_CLASSES)
    crossings = true_crossings({k: v[drone] for k, v in truth.items()}, borders, zones)
    inc = score_incursions(truth, crossings, cover, tracks, assoc, chain.alerts,
                           chain.emitted, duration_s=sim.duration,
                           identities=broadcast_identities(det))

    def mean(a: np.ndarray) -> float:
        return float(np.mean(a)) if a.size else float("nan")

    return RunScore(
        seed=seed, targets=len(sim.targets), detections=int(det["time"].size),
        gospa_mean_m=mean(g["distance"]), gospa_localisation_mean=mean(g["localisation"]),
        gospa_missed_mean=mean(g["missed"]), gospa_false_mean=mean(g["false"]),
        probability_of_update=float(c.probability_of_update),
        probability_of_update_tracked=float(c.probability_of_update_tracked),
        probability_of_update_tracked_drones=by_class["drones"],
        probability_of_update_tracked_birds=by_class["birds"],
        probability_of_update_tracked_aircraft=by_class["aircraft"],
        probability_of_update_fixed_5s=float(c.probability_of_update_fixed),
        probability_of_update_tracked_fixed_5s=float(c.probability_of_update_tracked_fixed),
        probability_of_update_tracked_bound_gate=float(c_b.probability_of_update_tracked),
        probability_of_update_tracked_drones_bound_gate=by_class_b["drones"],
        probability_of_update_tracked_birds_bound_gate=by_class_b["birds"],
        probability_of_update_tracked_aircraft_bound_gate=by_class_b["aircraft"],
        probability_of_update_at_bound=at_bound["all"],
        probability_of_update_at_bound_drones=at_bound["drones"],
        probability_of_update_at_bound_birds=at_bound["birds"],
        long_gaps=c.n_long_gaps,
        track_id_changes=c.n_track_id_changes, id_swaps=c.n_truth_changes,
        false_updates=c.n_false_updates, false_update_share=float(c.false_update_share),
        false_updates_bound_gate=c_b.n_false_updates,
        false_tracks=c.n_false_tracks, confirmed_updates=c.n_counted_updates,
        id_swap_share=c.n_truth_changes / max(c.n_counted_updates, 1),
        false_track_share=c.n_false_tracks / max(c.n_counted_updates, 1),
        time_to_confirm_median_s=float(np.median(ttc)) if ttc.size else float("nan"),
        position_rmse_m=float(c.position_rmse_m), pcrlb_rmse_m=vs["pcrlb_rmse_m"],
        rmse_over_pcrlb=vs["rmse_over_pcrlb"], tracker_wall_s=wall,
        tracker_detections_per_s=det["time"].size / wall if wall > 0 else float("nan"),
        class_accuracy_10s=float(ident.accuracy_after), class_tracks_10s=ident.n_tracks_after,
        class_ece=float(ident.ece), drone_crossings_covered=inc.drone_crossings_covered,
        incursion_recall=inc.recall, time_to_alert_median_s=inc.time_to_alert_median_s,
        time_to_alert_p95_s=inc.time_to_alert_p95_s, incursion_alerts=inc.incursion_alerts,
        false_incursion_alerts=inc.false_incursion_alerts,
        false_incursion_alerts_per_24h=inc.false_incursion_alerts_per_24h,
        position_error_at_alert_m=inc.position_error_at_alert_median_m,
        pipeline_wall_s=chain.wall_s,
        classification=ident, incursions=inc,
        series={"time": g["time"], "gospa": g["distance"], "n_truth": g["n_truth"],
                "n_missed": g["n_missed"], "n_false": g["n_false"],
                "localisation": g["localisation"], "bound_time": vs["time"],
                "bound_rmse_m": vs["rmse_m"], "bound_pcrlb_m": vs["pcrlb_m"],
                "bound_n": vs["n"]},
    )


def rmse_vs_bound(sc: Scenario, cfg: TrackerConfig, truth: dict[str, np.ndarray],
                  det: dict[str, np.ndarray], cover: np.ndarray, cont: ContinuityResult,
                  track_time: np.ndarray, max_bound_m: float = MAX_BOUND_M,
                  bound: np.ndarray | None = None) -> dict[str, Any]:
    """The tracker's position RMSE against the PCRLB (:func:`position_bound`).

    Target-times are truth rows (target, step) in coverage, from the target's
    first detection on, at which a confirmed update of some track is associated
    with the target (:func:`~skyfence.eval.continuity.track_continuity`); an
    update counts in the step that ends at or after it.  The tracker's error at
    a target-time is the RMS distance of its associated updates in that step.

    Target-times whose bound is ``max_bound_m`` or more are left out: an update
    is associated only within the association gate, so where the bound comes
    near the gate the tracker's errors there are cut off by the gate, not
    measured (a target seen only by 2D radars, for one, has a height bound that
    grows without limit while its track is still associated).  A handful of
    such target-times would otherwise dominate both RMS values.

    Parameters
    ----------
    sc, cfg, truth, det
        As for :func:`position_bound` (``truth``: the flying rows scored).
    cover : ndarray of bool
        Per truth row, in coverage (:func:`coverage_mask`).
    cont : ContinuityResult
        The continuity of the run's tracks against ``truth`` (same rows).
    track_time : ndarray
        ``time`` of the tracks table ``cont`` was computed from.
    max_bound_m : float, optional
        Largest bound of a target-time compared, metres (default
        :data:`MAX_BOUND_M`, a third of the association gate).
    bound : ndarray, optional
        :func:`position_bound` per truth row when it is at hand, computed for at
        least the covered rows (a row's bound does not depend on which other rows
        are wanted); computed for the target-times when omitted.

    Returns
    -------
    dict
        ``pcrlb_rmse_m`` (RMS of the bound over the target-times, m),
        ``rmse_over_pcrlb`` (the tracker's RMSE over the same target-times divided
        by it; NaN without target-times) and per distinct time of the
        target-times: ``time`` (s), ``rmse_m`` and ``pcrlb_m`` (RMS over the
        targets at that time, m) and ``n`` (how many targets).
    """
    t = np.asarray(truth["time"], dtype=np.float64)
    empty: dict[str, Any] = {"pcrlb_rmse_m": float("nan"), "rmse_over_pcrlb": float("nan"),
                             "time": np.zeros(0), "rmse_m": np.zeros(0), "pcrlb_m": np.zeros(0),
                             "n": np.zeros(0, np.int64)}
    a = np.nonzero(cont.association.truth_index >= 0)[0]
    if t.size == 0 or a.size == 0:
        return empty
    dt = float(sc.scenario.dt_s)
    t0 = float(t.min())
    step = np.rint((t - t0) / dt).astype(np.int64)
    rank = np.searchsorted(cont.truth_ids, truth["truth_id"])
    span = int(step.max()) + 2
    key = rank.astype(np.int64) * span + step
    order = np.argsort(key, kind="stable")
    a_step = np.ceil((np.asarray(track_time, dtype=np.float64)[a] - t0) / dt - 1e-9)
    a_key = cont.association.truth_index[a].astype(np.int64) * span + a_step.astype(np.int64)
    i = np.minimum(np.searchsorted(key[order], a_key), order.size - 1)
    found = key[order][i] == a_key
    rows, inv = np.unique(order[i[found]], return_inverse=True)
    d2 = cont.association.distance_m[a][found] ** 2
    e2 = np.bincount(inv, d2) / np.bincount(inv)
    wanted = np.zeros(t.size, bool)
    wanted[rows] = cover[rows]
    b = (position_bound(sc, cfg, truth, det, wanted) if bound is None else
         np.asarray(bound, dtype=np.float64))[rows]
    use = cover[rows] & (b < max_bound_m)  # NaN (no bound) is left out too
    if not use.any():
        return empty
    rows, e2, b2 = rows[use], e2[use], b[use] ** 2
    times, k = np.unique(t[rows], return_inverse=True)
    per = np.bincount(k)
    bound = float(np.sqrt(b2.mean()))
    return {"pcrlb_rmse_m": bound, "rmse_over_pcrlb": float(np.sqrt(e2.mean())) / bound,
            "time": times, "rmse_m": np.sqrt(np.bincount(k, e2) / per),
            "pcrlb_m": np.sqrt(np.bincount(k, b2) / per), "n": per}


def evaluate(sc: Scenario, runs: int, cfg: TrackerConfig, first_seed: int | None = None,
             duration_s: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[RunScore]:
    """``runs`` Monte-Carlo runs with consecutive seeds from the scenario's own."""
    base = sc.scenario.seed if first_seed is None else first_seed
    out = []
    for k in range(runs):
        out.append(evaluate_run(sc, base + k, cfg, duration_s))
        if progress is not None:
            progress(k + 1, runs)
    return out


# --------------------------------------------------------------------- the PCRLB

#: largest (targets × time steps) of one pcrlb batch (memory: ~1 kB per entry)
_BOUND_BATCH = 250_000
#: initial sigmas of the states above velocity, as the tracker's initiation uses them:
#: acceleration (m/s², constant acceleration) and turn rate (rad/s, coordinated turn)
_INIT_ACCEL_SIGMA = 5.0
_INIT_TURN_SIGMA = np.radians(10.0)
#: sensor kinds whose detection measures height (the rest start with the height prior)
_MEASURES_HEIGHT = ("radar3d", "eoir", "remote_id", "adsb")


def _bound_motion(cfg: TrackerConfig) -> MotionModel:
    """The tracker configuration's motion model (constant velocity for one not known here)."""
    if cfg.motion == "ca":
        return ConstantAcceleration(cfg.q, q_vertical=cfg.q_vertical)
    if cfg.motion == "ct":
        return CoordinatedTurn(cfg.q, cfg.q_turn, q_vertical=cfg.q_vertical)
    return ConstantVelocity(cfg.q, q_vertical=cfg.q_vertical)


def _sensor_model(spec: SensorSpec, use_rv: bool) -> tuple[MeasurementModel, np.ndarray] | None:
    """Measurement model and noise covariance of a sensor (None if it cannot be used).

    By sensor kind: radar3d → Radar3D, radar2d → Radar2D (with radial velocity
    when the sensor reports one, ``sigma_radial_velocity_mps > 0``, and the
    tracker uses it), rf_df and acoustic → Bearing, eoir → BearingElevation,
    remote_id and adsb → Position; ``R`` from the sensor's sigmas (angles in
    radians).  A sensor missing a sigma its kind needs is left out, as the
    tracker refuses its detections.
    """
    deg = np.radians
    rv = spec.sigma_radial_velocity_mps
    with_rv = bool(use_rv and rv is not None and rv > 0)
    sig: list[float | None]
    if spec.kind == "radar3d":
        model: MeasurementModel = Radar3D(with_radial_velocity=with_rv)
        sig = [spec.sigma_range_m, _opt(deg, spec.sigma_azimuth_deg),
               _opt(deg, spec.sigma_elevation_deg)]
    elif spec.kind == "radar2d":
        model = Radar2D(with_radial_velocity=with_rv)
        sig = [spec.sigma_range_m, _opt(deg, spec.sigma_azimuth_deg)]
    elif spec.kind in ("rf_df", "acoustic"):
        model, sig = Bearing(), [_opt(deg, spec.sigma_azimuth_deg)]
    elif spec.kind == "eoir":
        model = BearingElevation()
        sig = [_opt(deg, spec.sigma_azimuth_deg), _opt(deg, spec.sigma_elevation_deg)]
    elif spec.kind in ("remote_id", "adsb"):
        model, sig = Position(), [spec.sigma_pos_m] * 3
    else:
        return None
    if with_rv:
        sig.append(rv)
    if not all(s is not None and s > 0 for s in sig):
        return None
    return model, np.diag(np.square(np.array(sig, dtype=float)))


def _opt(f: Callable[[float], float], v: float | None) -> float | None:
    return None if v is None else float(f(v))


def _states_for(motion: MotionModel, pos: np.ndarray, vel: np.ndarray, dt: float) -> np.ndarray:
    """True states ``(T, N, d)`` in ``motion``'s layout from positions and velocities.

    Accelerations and the horizontal turn rate (states of the constant
    acceleration and coordinated turn models) are central differences of the
    true velocity along each target's rows.
    """
    x = np.concatenate([pos, vel], axis=-1)
    if motion.ndim == 6:
        return x
    acc = np.gradient(vel, dt, axis=0) if vel.shape[0] > 1 else np.zeros_like(vel)
    if motion.ndim == 9:
        return np.concatenate([x, acc], axis=-1)
    speed2 = vel[..., 0] ** 2 + vel[..., 1] ** 2
    turn = np.where(speed2 > 1.0, (vel[..., 0] * acc[..., 1] - vel[..., 1] * acc[..., 0])
                    / np.maximum(speed2, 1.0), 0.0)
    return np.concatenate([x, turn[..., None]], axis=-1)


class PositionBounds(NamedTuple):
    """Per truth row, the PCRLB on a target's position RMSE (:func:`position_bounds`), m."""

    #: in 3-D: ``sqrt`` of the east, north and up variances of the bound ``J⁻¹``
    rmse_m: np.ndarray
    #: over the ground: ``sqrt`` of its east and north variances
    horizontal_m: np.ndarray
    #: the chance that a Gaussian error of the bound's east-north covariance is within
    #: the gate (``gate_m`` of :func:`position_bounds`) over the ground: how often a
    #: tracker as accurate as the bound would place the target within it
    p_within_gate: np.ndarray


def position_bound(sc: Scenario, cfg: TrackerConfig, truth: dict[str, np.ndarray],
                   det: dict[str, np.ndarray], wanted: np.ndarray | None = None,
                   horizontal: bool = False) -> np.ndarray:
    """PCRLB on the position RMSE of each target along its true trajectory, per truth row:
    in 3-D, or over the ground with ``horizontal`` (see :func:`position_bounds`, which
    gives both from one computation)."""
    b = position_bounds(sc, cfg, truth, det, wanted)
    return b.horizontal_m if horizontal else b.rmse_m


def position_bounds(sc: Scenario, cfg: TrackerConfig, truth: dict[str, np.ndarray],
                    det: dict[str, np.ndarray], wanted: np.ndarray | None = None,
                    gate_m: float = GATE_M) -> PositionBounds:
    """PCRLB on the position RMSE of each target along its true trajectory, per truth row,
    in 3-D and over the ground.

    The posterior Cramér–Rao bound (:func:`skyfence.eval.pcrlb.pcrlb`) *conditional
    on the realised detection sequence*: sensor ``s`` adds its information
    ``HᵀR⁻¹H`` at step ``k`` for target ``n`` only if the simulated detections hold
    a detection of that ``truth_id`` by ``s`` in that step (``visible``; ``pd`` = 1),
    once per such detection.  It bounds the error of an estimator that knows
    which detections are the target's (no clutter, no association errors).
    Like every Bayesian bound it is an average over the motion model's process
    noise: a target flying straighter than the model's random accelerations
    (density ``cfg.q``) can be tracked better than the bound on that one
    trajectory, so an RMSE below it says the tracker's ``q`` is generous for
    the target, not that the bound is wrong.

    * Steps are the truth rows, every ``dt_s`` of the scenario; a detection
      counts in the step that ends at or after it (``t_{k-1} < t <= t_k``) and
      its Jacobian is taken at the true state of ``t_k``.
    * Frame, sites and rotations: the tracker's own (a :class:`Tracker` built
      from ``sc.deployment`` and ``cfg``: its origin, ``ingest.site``,
      ``ingest.rot``); the truth is converted to that frame.  Distances do not
      depend on the frame, so the bound compares with RMSE measured in any
      other local frame.
    * Measurement models and ``R`` by sensor kind (see :func:`_sensor_model`);
      only sensors that ever detected a target of a batch take part.
    * Motion: ``cfg.motion`` with ``cfg.q`` and ``cfg.q_vertical`` (``cv`` →
      ConstantVelocity; ``ca`` → ConstantAcceleration and ``ct`` →
      CoordinatedTurn with ``cfg.q_turn``, their extra states taken from
      differences of the true velocity); any other motion is replaced by
      ``ConstantVelocity(cfg.q, q_vertical=cfg.q_vertical)``.
    * Start: each target's first detection step, with the prior information of
      the tracker's initiation: velocity sigmas ``init_speed_sigma_mps``
      (east, north) and ``init_vertical_speed_sigma_mps`` (up), the height
      prior ``init_height_sigma_m`` when no detection of that step measures
      height (2D radar, bearings), a horizontal position prior as wide as the
      detecting sensors' reach (``max_range_m``), and broad priors for the
      states above velocity, plus the information of every detection of the
      step; for a radar 3D plot this makes the position block the plot's own
      (linearised) covariance, as the tracker starts it.

    Parameters
    ----------
    sc : Scenario
        The simulated scenario (its deployment and ``dt_s``).
    cfg : TrackerConfig
        The tracker's configuration.
    truth : dict of str to ndarray
        Truth rows of the simulation (``time``, ``truth_id``, ``lat_deg``,
        ``lon_deg``, ``alt_m``, ``vel_east_mps``, ``vel_north_mps``,
        ``vel_up_mps``), one row per target per step while it flies.
    det : dict of str to ndarray
        The simulated detections (``time``, ``sensor_id``, ``truth_id``).
    wanted : ndarray of bool, optional
        Truth rows whose bound is wanted (default all); targets with none, and
        the steps after a target's last, are not computed.
    gate_m : float, optional
        Radius of ``p_within_gate`` (default :data:`GATE_M`), metres.

    Returns
    -------
    PositionBounds
        Per truth row (float64 arrays), the bound on the position RMSE
        (``rmse_m``: ``sqrt`` of the east, north and up variances of ``J⁻¹``) and on
        the horizontal position RMSE (``horizontal_m``: east and north only, in the
        tracker's frame, whose up axis is the vertical at its origin: tilted from a
        target's own vertical by its distance from there over the Earth's radius,
        0.5° at 60 km), metres; NaN before the target's first detection, after its
        last wanted row, and for targets with no wanted row; and the chance that a
        Gaussian error of ``J⁻¹``'s east-north block is within ``gate_m`` over the
        ground (``p_within_gate``, :func:`~skyfence.eval.pcrlb.probability_within`).
        All come from the same ``J⁻¹``, one pass over the targets.
    """
    dt = float(sc.scenario.dt_s)
    t = np.asarray(truth["time"], dtype=np.float64)
    out = np.full(t.size, np.nan)
    out_h = np.full(t.size, np.nan)
    out_p = np.full(t.size, np.nan)
    if t.size == 0:
        return PositionBounds(out, out_h, out_p)
    wanted = np.ones(t.size, bool) if wanted is None else np.asarray(wanted, bool)
    ref = Tracker(sc.deployment, cfg)
    enu = table_to_enu(truth, *ref.origin)
    pos = np.stack([enu[k] for k in ENU_COLUMNS], axis=1)
    vel = np.stack([enu[k] for k in ENU_VELOCITY_COLUMNS], axis=1)
    motion = _bound_motion(cfg)
    d = motion.ndim

    t0 = float(t.min())
    step = np.rint((t - t0) / dt).astype(np.int64)
    if not np.allclose(t0 + step * dt, t, rtol=0.0, atol=1e-6 * dt):
        raise DataError(f"truth times are not on the scenario's {dt:g} s steps")
    ids, rank = np.unique(truth["truth_id"], return_inverse=True)
    order = np.lexsort((step, rank))
    rank_s, step_s = rank[order], step[order]
    first_row = np.searchsorted(rank_s, np.arange(ids.size))
    n_rows = np.diff(np.append(first_row, rank_s.size))
    first_step = step_s[first_row]
    if (np.diff(step_s)[rank_s[1:] == rank_s[:-1]] != 1).any():
        raise DataError("truth must hold one row per target per step while it flies")

    # Detections of known targets by usable sensors, credited to their step.
    specs = list(sc.deployment.sensor)
    models = [_sensor_model(s, cfg.use_radial_velocity) for s in specs]
    sensor_ix = {s.id: i for i, s in enumerate(specs) if models[i] is not None}
    names, name_of = np.unique(np.asarray(det["sensor_id"]).astype(str), return_inverse=True)
    s_of = np.array([sensor_ix.get(n, -1) for n in names], dtype=np.int64)[name_of]
    d_tid = np.asarray(det["truth_id"])
    n_of = np.searchsorted(ids, d_tid)
    ok = (d_tid >= 0) & (s_of >= 0) & (n_of < ids.size)
    ok[ok] = ids[n_of[ok]] == d_tid[ok]
    d_step = np.ceil((np.asarray(det["time"], dtype=np.float64)[ok] - t0) / dt - 1e-9)
    d_n, d_s = n_of[ok], s_of[ok]
    d_step = np.maximum(d_step.astype(np.int64), first_step[d_n])
    inside = d_step < first_step[d_n] + n_rows[d_n]
    d_n, d_s, d_step = d_n[inside], d_s[inside], d_step[inside]
    start = np.full(ids.size, np.iinfo(np.int64).max)
    np.minimum.at(start, d_n, d_step)

    # Steps wanted per target: from its first detection to its last wanted row.
    w_rows = np.nonzero(wanted & (step >= start[rank]))[0]
    end = np.full(ids.size, -1, dtype=np.int64)
    np.maximum.at(end, rank[w_rows], step[w_rows])
    todo = np.nonzero(end >= 0)[0]
    if todo.size == 0:
        return PositionBounds(out, out_h, out_p)
    length = end[todo] - start[todo] + 1
    todo, length = todo[np.argsort(length, kind="stable")], np.sort(length, kind="stable")
    keep_det = end[d_n] >= d_step
    d_n, d_s, d_step = d_n[keep_det], d_s[keep_det], d_step[keep_det]

    batch_start = 0
    while batch_start < todo.size:
        # the longest target of a batch sets its length: targets sorted by length
        stop = batch_start + 1
        while stop < todo.size and (stop + 1 - batch_start) * length[stop] <= _BOUND_BATCH:
            stop += 1
        tg = todo[batch_start:stop]
        T = int(length[stop - 1])
        N = tg.size
        k_rel = np.minimum(np.arange(T)[:, None], (end[tg] - start[tg])[None, :])  # (T, N)
        rows = order[first_row[tg][None, :] + (start[tg] - first_step[tg])[None, :] + k_rel]
        x = _states_for(motion, pos[rows], vel[rows], dt)
        live = np.arange(T)[:, None] <= (end[tg] - start[tg])[None, :]

        # counts[s][k, n]: detections of target n by sensor s in step k
        col = np.full(ids.size, -1)
        col[tg] = np.arange(N)
        sel = col[d_n] >= 0
        bn, bs, bk = col[d_n[sel]], d_s[sel], d_step[sel] - start[d_n[sel]]
        sensors: list[PcrlbSensor] = []
        info0 = np.zeros((N, d, d))
        reach = np.zeros(N)
        height = np.zeros(N, bool)
        for s in np.unique(bs):
            model, R = models[s]  # type: ignore[misc]
            this = bs == s
            count = np.zeros((T, N), np.int64)
            np.add.at(count, (bk[this], bn[this]), 1)
            count *= live
            site, rot = ref.ingest.site[s], ref.ingest.rot[s]
            at0 = count[0] > 0
            if at0.any():
                H = model.jacobian(x[0, at0], site, rot)
                info0[at0] += count[0, at0, None, None] * (
                    np.swapaxes(H, 1, 2) @ np.linalg.solve(R, H))
                reach[at0] = np.maximum(reach[at0], specs[s].max_range_m or 0.0)
                height[at0] |= specs[s].kind in _MEASURES_HEIGHT
            for j in range(1, int(count[1:].max(initial=0)) + 1):
                sensors.append(PcrlbSensor(model, site, rot, R, 1.0, count >= j))
        reach = np.where(reach > 0, reach, _FAR_M)
        P0 = np.linalg.inv(info0 + _prior_information(cfg, motion, reach, height))
        bounds = pcrlb(x, np.arange(T) * dt, motion, sensors, 0.5 * (P0 + np.swapaxes(P0, 1, 2)))
        out[rows[live]] = position_rmse_bound(bounds)[live]
        out_h[rows[live]] = position_rmse_bound(bounds, horizontal=True)[live]
        out_p[rows[live]] = probability_within(bounds[live][:, :2, :2], gate_m)
        batch_start = stop
    return PositionBounds(out, out_h, out_p)


#: horizontal position prior of a target first seen by a sensor of unknown reach, m
_FAR_M = 100_000.0


def _prior_information(cfg: TrackerConfig, motion: MotionModel, reach: np.ndarray,
                       height: np.ndarray) -> np.ndarray:
    """Prior information ``(N, d, d)`` of the tracker's initiation (see :func:`position_bound`)."""
    d = motion.ndim
    J = np.zeros((reach.size, d, d))
    J[:, 0, 0] = J[:, 1, 1] = reach**-2.0
    J[:, 2, 2] = np.where(height, reach**-2.0, cfg.init_height_sigma_m**-2.0)
    J[:, 3, 3] = J[:, 4, 4] = cfg.init_speed_sigma_mps**-2.0
    J[:, 5, 5] = cfg.init_vertical_speed_sigma_mps**-2.0
    for i in range(6, d):
        J[:, i, i] = (_INIT_ACCEL_SIGMA if d == 9 else _INIT_TURN_SIGMA) ** -2.0
    return J
