"""Run the tracker over a recording: a sensors file and a detections table in, tracks out.

Detections are fed in the order they would have arrived (``arrival_time`` when
the table has it, else ``time``), in slices of ``slice_s`` seconds, as a live
feed would deliver them.  Extra columns of the detections are not needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from skyfence.config.sensors import SensorDeployment, load_sensors
from skyfence.io.tables import TableWriter, read_table
from skyfence.model.schema import QUARANTINE_COLUMNS, TRACK_COLUMNS
from skyfence.track.config import TrackerConfig
from skyfence.track.tracker import Tracker

__all__ = ["ReplayResult", "Stage", "feed", "track_recording"]

R = TypeVar("R", covariant=True)


@dataclass
class ReplayResult:
    detections: int
    track_rows: int
    tracks: int
    confirmed_tracks: int
    quarantined: int
    quarantine_by_reason: dict[str, int]
    wall_time_s: float


class Stage(Protocol[R]):
    """Anything fed like a tracker: a :class:`Tracker`, or a whole pipeline."""

    def step(self, table: dict[str, np.ndarray], now: float | None = None,
             rows: np.ndarray | None = None) -> R: ...

    def flush(self, now: float) -> R: ...


def feed(tracker: Stage[R], det: dict[str, np.ndarray], slice_s: float = 1.0
         ) -> Iterator[tuple[R, float, float]]:
    """Feed a detections table to ``tracker`` as a live feed would deliver it.

    Rows go in the order they arrived (``arrival_time`` where the table has a
    finite one, else ``time``), ``slice_s`` seconds at a time, and the stream
    ends with a flush that coasts and deletes every track.  Yields ``(what the
    stage returned (a tracker: track updates), feed clock of the slice, last
    arrival of the recording)``.
    """
    key = det["arrival_time"] if "arrival_time" in det else det["time"]
    key = np.where(np.isfinite(key), key, det["time"])
    order = np.argsort(key, kind="stable")
    key = key[order]
    finite = np.isfinite(key)
    if not finite.any():
        yield tracker.flush(0.0), 0.0, 0.0
        return
    t0, t1 = float(key[finite].min()), float(key[finite].max())
    edges = np.searchsorted(key, np.arange(t0 + slice_s, t1 + slice_s, slice_s), "left")
    start = 0
    for end in [*edges.tolist(), order.size]:
        if end > start:
            idx = order[start:end]
            clock = float(key[end - 1])
            yield tracker.step({k: v[idx] for k, v in det.items()}, now=clock, rows=idx), \
                clock, t1
            start = end
    yield tracker.flush(t1 + 3600.0), t1, t1


def track_recording(sensors: SensorDeployment | str | Path, detections: str | Path,
                    out: str | Path,
                    config: TrackerConfig | None = None, slice_s: float = 1.0,
                    progress: Callable[[float, float], None] | None = None,
                    smoothed: str | Path | None = None) -> ReplayResult:
    """Track a recording and write the track table to ``out`` (Parquet or CSV by suffix).

    The quarantined rows go beside it as ``<out stem>.quarantine.<suffix>``.  With
    ``smoothed``, the fixed-interval smoothed tracks (from confirmation on) are written
    there too, for forensics.
    """
    import time as _time

    dep = sensors if isinstance(sensors, SensorDeployment) else load_sensors(sensors)
    det = read_table(detections, {"time": "float64", "sensor_id": "str", "kind": "str"})
    tracker = Tracker(dep, config, keep_history=smoothed is not None)
    out = Path(out)
    qpath = out.with_name(f"{out.stem}.quarantine{out.suffix}")
    started = _time.perf_counter()
    ids: set[int] = set()
    confirmed: set[int] = set()
    rows = 0
    t0: float | None = None
    with TableWriter(out, TRACK_COLUMNS) as w:
        for upd, clock, t1 in feed(tracker, det, slice_s):
            w.write(upd)
            rows += upd["time"].size
            ids.update(upd["track_id"].tolist())
            confirmed.update(upd["track_id"][upd["status"] == "confirmed"].tolist())
            t0 = clock if t0 is None else t0
            if progress is not None:
                progress(clock - t0, t1 - t0)
    if smoothed is not None:
        with TableWriter(smoothed, TRACK_COLUMNS) as sw:
            sw.write(tracker.smoothed())
    q = tracker.ingest.quarantine
    with TableWriter(qpath, QUARANTINE_COLUMNS) as qw:
        qw.write(q.table())
    by_reason: dict[str, int] = {}
    for (_, reason), n in q.counts.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    return ReplayResult(int(det["time"].size), rows, len(ids), len(confirmed), len(q),
                        dict(sorted(by_reason.items())), _time.perf_counter() - started)
