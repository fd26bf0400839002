"""One deployment's chain of stages, in process: detections in, alerts out.

::

    detections ─► tracker ─► classify ─► airspace events ─► alerts ─► store ─► sinks
        │            │           │              │              │
        └────────────┴───────────┴──────────────┴──────────────┴──► event log

Each call of :meth:`Pipeline.step` takes one batch of detections (as a live feed
delivers them) and runs it through every stage.  The event log receives the
classified track updates, the events and the alert revisions, in that order, each
committed before the next stage runs; an alert revision is committed durably
(fsync'd, with the track rows before it) before any sink sees it (the alert
manager hands it to the log first, the dispatcher reads the sinks' pending
revisions back from the log).  The detection batch is logged last, after the
alerts are stored and the sinks served: it is evidence, not on the alerts' path,
and its ~20 columns per detection cost several milliseconds.  It is logged too
when a stage raises on it (the batch that broke a stage is kept), and always
before :meth:`Pipeline.step` returns, so every batch a step has returned for is in
the log, committed.  A stage that refuses rows quarantines them and the chain
carries on.

A live feed is cut into batches of :data:`BATCH_S` seconds of arrivals (the demo,
the evaluation and the benchmark all feed it so): half a second keeps the wait for
a batch to close below a radar's revisit, and on ``vilnius-swarm`` it took the
median time from a true border crossing to its alert from 2.0 to 1.6 s against
one-second batches, for no more tracker time over the run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from skyfence.airspace.alerts import AlertManager
from skyfence.airspace.events import AirspaceConfig, AirspaceEngine
from skyfence.airspace.rules import RulesConfig, load_rules
from skyfence.classify import Classifier, ClassifierConfig
from skyfence.config.sensors import SensorDeployment
from skyfence.errors import ConfigError
from skyfence.geo.borders import Borders, load_borders
from skyfence.geo.zones import Zones, load_zones
from skyfence.sinks.base import Sink
from skyfence.sinks.dispatch import Dispatcher
from skyfence.store import EventLog
from skyfence.track.config import TrackerConfig
from skyfence.track.tracker import Tracker

__all__ = ["BATCH_S", "Pipeline", "PipelineStats", "StepResult"]

#: seconds of arrivals per batch of a live feed (see the module docstring)
BATCH_S = 0.5


@dataclass
class StepResult:
    """What one batch produced: classified track updates, events, alert revisions."""

    tracks: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    alerts: dict[str, np.ndarray]
    #: feed clock of the batch (UTC epoch s)
    clock: float
    #: wall time from the batch entering the pipeline to its alerts being stored, s
    #: (the detections are logged after that: see the module docstring)
    latency_s: float
    #: wall time per stage, s: ``tracker``, ``classifier``, ``log_tracks``,
    #: ``airspace``, ``log_events``, ``alerts`` (the manager, without the store),
    #: ``store_alerts`` (``EventLog.append_alerts``), then, after ``latency_s``,
    #: ``dispatch`` and ``log_detections``
    stages_s: dict[str, float] = field(default_factory=dict)
    #: CPU time of this process from the batch entering to its alerts stored, s
    cpu_s: float = 0.0


@dataclass
class PipelineStats:
    """Running totals of a pipeline."""

    batches: int = 0
    detections: int = 0
    track_updates: int = 0
    events: int = 0
    alert_revisions: int = 0
    alerts_raised: int = 0
    latency_s: list[float] = field(default_factory=list)


class Pipeline:
    """The stages of one deployment wired in order (see the module docstring).

    Parameters
    ----------
    deployment : SensorDeployment
        The sensors.
    tracker, classify, airspace, rules : configs, optional
        Stage configurations (defaults when None; the classifier's ground height
        and sensor kinds come from ``ground_alt_m`` and the deployment unless its
        config is given).
    borders, zones : optional
        Geography (the shipped borders and zones when None).
    log : EventLog, optional
        The event log; without one nothing is stored and no sink is served.
    sinks : sequence of Sink
        Alert sinks, served from the log after every batch (needs ``log``).
    ground_alt_m : float
        Ground height above the ellipsoid, metres (for heights above ground).
    dispatcher : Dispatcher, optional
        A ready dispatcher (instead of one built from ``sinks``).
    """

    def __init__(self, deployment: SensorDeployment, *, tracker: TrackerConfig | None = None,
                 classify: ClassifierConfig | None = None, airspace: AirspaceConfig | None = None,
                 rules: RulesConfig | None = None, borders: Borders | None = None,
                 zones: Zones | None = None, log: EventLog | None = None,
                 sinks: Sequence[Sink] = (), ground_alt_m: float = 0.0,
                 dispatcher: Dispatcher | None = None) -> None:
        if sinks and log is None and dispatcher is None:
            raise ValueError("sinks are served from the event log: give a log as well")
        self.deployment = deployment
        self.tracker = Tracker(deployment, tracker or TrackerConfig())
        self.classifier = Classifier(config=classify or ClassifierConfig.for_deployment(
            deployment, ground_alt_m))
        self.borders = borders if borders is not None else load_borders()
        self.zones = zones if zones is not None else load_zones()
        self.airspace = AirspaceEngine(self.borders, self.zones, airspace or AirspaceConfig())
        self.log = log
        self._stages: dict[str, float] = {}
        rules = rules or load_rules()
        longest = self.tracker.longest_silence_s
        if rules.resolve.silent_after_s <= longest:
            # an alert would take a track in the tracker's lost pool for gone, resolve, and
            # raise again when the track comes back under its id
            raise ConfigError(
                "<alert rules>", "resolve.silent_after_s",
                f"{rules.resolve.silent_after_s:g} s is not longer than the tracker's lost "
                f"window ({longest:g} s: tracker.delete_after_*, reacquire_* and "
                f"reacquire_min_rate for the slowest sensor); give more, or shorten the window")
        self.alerts = AlertManager(
            rules, store_callback=self._store_alerts if log else None,
            zone_names={z.id: z.name for z in self.zones},
            first_alert_id=_next_alert_id(log))
        self.dispatcher = dispatcher if dispatcher is not None else (
            Dispatcher(log, list(sinks)) if (log is not None and sinks) else None)
        self.stats = PipelineStats()

    def step(self, detections: dict[str, np.ndarray], now: float | None = None,
             rows: np.ndarray | None = None) -> StepResult:
        """Run one batch of detections through every stage.

        ``now`` is the feed clock (the newest arrival time; default the newest
        detection time); ``rows`` numbers the batch's rows for the quarantine.
        """
        started, cpu0 = time.perf_counter(), time.process_time()
        self._stages = st = {}
        n = int(np.asarray(detections["time"]).size) if "time" in detections else 0
        try:
            tracks = self.tracker.step(detections, now=now, rows=rows)
            _lap(st, "tracker", started)
            clock = float(now) if now is not None else self.tracker.ingest.newest
            return self._downstream(tracks, clock, started, cpu0, n)
        finally:
            # the batch is logged after its alerts are stored and served (it is not on
            # their path), or when a stage failed on it (so the batch that broke it is
            # kept); either way before step returns or raises
            if self.log is not None and n:
                t = time.perf_counter()
                self.log.append_detections(detections)
                _lap(st, "log_detections", t)

    def flush(self, now: float) -> StepResult:
        """Advance to ``now`` with no detections (tracks coast and end)."""
        started, cpu0 = time.perf_counter(), time.process_time()
        self._stages = st = {}
        tracks = self.tracker.flush(now)
        _lap(st, "tracker", started)
        return self._downstream(tracks, float(now), started, cpu0, 0)

    def _store_alerts(self, table: dict[str, np.ndarray]) -> None:
        """The alert manager's store callback: the revisions into the log, durably."""
        assert self.log is not None
        t = time.perf_counter()
        try:
            self.log.append_alerts(table)
        finally:
            _lap(self._stages, "store_alerts", t)

    def _downstream(self, tracks: dict[str, np.ndarray], clock: float, started: float,
                    cpu0: float, n_det: int) -> StepResult:
        st = self._stages
        t = time.perf_counter()
        tracks = self.classifier.step(tracks)
        t = _lap(st, "classifier", t)
        if self.log is not None and tracks["time"].size:
            self.log.append_tracks(tracks)
        t = _lap(st, "log_tracks", t)
        events = self.airspace.step(tracks, now=clock)
        picture = self.airspace.picture()
        t = _lap(st, "airspace", t)
        if self.log is not None and events["time"].size:
            self.log.append_events(events)
        t = _lap(st, "log_events", t)
        # the alert manager stores its revisions (durably) before returning them
        alerts = self.alerts.step(tracks, events, picture, clock)
        end = time.perf_counter()
        st["alerts"] = end - t - st.get("store_alerts", 0.0)
        latency = end - started
        cpu = time.process_time() - cpu0
        if self.dispatcher is not None and alerts["alert_id"].size:
            self.dispatcher.dispatch(time.time())
        _lap(st, "dispatch", end)
        s = self.stats
        s.batches += 1
        s.detections += n_det
        s.track_updates += int(tracks["time"].size)
        s.events += int(events["time"].size)
        s.alert_revisions += int(alerts["alert_id"].size)
        s.alerts_raised += int(np.count_nonzero(alerts["revision"] == 0))
        s.latency_s.append(latency)
        return StepResult(tracks, events, alerts, clock, latency, st, cpu)

    def dispatch(self) -> None:
        """Serve the sinks now (also retries deliveries that failed earlier)."""
        if self.dispatcher is not None:
            self.dispatcher.dispatch(time.time())

    def quarantine(self) -> dict[str, int]:
        """Rows refused so far, per stage."""
        return {"tracker": len(self.tracker.ingest.quarantine),
                "airspace": int(self.airspace.quarantine()["time"].size),
                "alerts": len(self.alerts.quarantine)}

    def close(self) -> None:
        """Deliver what is pending, then close the log."""
        if self.dispatcher is not None:
            self.dispatcher.dispatch(time.time())
        if self.log is not None:
            self.log.close()


def _lap(stages: dict[str, float], name: str, since: float) -> float:
    """Add the wall time since ``since`` to ``stages[name]``; return the time now."""
    now = time.perf_counter()
    stages[name] = stages.get(name, 0.0) + now - since
    return now


def _next_alert_id(log: EventLog | None) -> int:
    """One above the largest alert id in the log (1 for a new log)."""
    if log is None:
        return 1
    a = log.alerts(all_revisions=True)
    return int(a["alert_id"].max()) + 1 if a["alert_id"].size else 1
