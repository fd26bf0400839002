"""Run the tracker over a recording: a sensors file and a detections table in, tracks out.

Detections are fed in the order they would have arrived (``arrival_time`` when
the table has it, else ``time``), in slices of ``slice_s`` seconds, as a live
feed would deliver them.  Extra columns of the detections are not needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyfence.config.sensors import SensorDeployment, load_sensors
from skyfence.io.tables import TableWriter, read_table
from skyfence.model.schema import QUARANTINE_COLUMNS, TRACK_COLUMNS
from skyfence.track.config import TrackerConfig
from skyfence.track.tracker import Tracker

__all__ = ["ReplayResult", "track_recording"]


@dataclass
class ReplayResult:
    detections: int
    track_rows: int
    tracks: int
    confirmed_tracks: int
    quarantined: int
    quarantine_by_reason: dict[str, int]
    wall_time_s: float


def track_recording(sensors: SensorDeployment | str | Path, detections: str | Path,
                    out: str | Path,
                    config: TrackerConfig | None = None, slice_s: float = 1.0,
                    progress: Callable[[float, float], None] | None = None) -> ReplayResult:
    """Track a recording and write the track table to ``out`` (Parquet or CSV by suffix).

    The quarantined rows go beside it as ``<out stem>.quarantine.<suffix>``.
    """
    import time as _time

    dep = sensors if isinstance(sensors, SensorDeployment) else load_sensors(sensors)
    det = read_table(detections, {"time": "float64", "sensor_id": "str", "kind": "str"})
    tracker = Tracker(dep, config)
    order_key = det["arrival_time"] if "arrival_time" in det else det["time"]
    order_key = np.where(np.isfinite(order_key), order_key, det["time"])
    order = np.argsort(order_key, kind="stable")
    key = order_key[order]
    finite = np.isfinite(key)
    t0 = float(key[finite].min()) if finite.any() else 0.0
    t1 = float(key[finite].max()) if finite.any() else 0.0
    out = Path(out)
    qpath = out.with_name(f"{out.stem}.quarantine{out.suffix}")
    started = _time.perf_counter()
    ids: set[int] = set()
    confirmed: set[int] = set()
    rows = 0
    with TableWriter(out, TRACK_COLUMNS) as w:
        edges = np.searchsorted(key, np.arange(t0 + slice_s, t1 + slice_s, slice_s), "left")
        start = 0
        for end in [*edges.tolist(), order.size]:
            if end <= start:
                continue
            idx = order[start:end]
            upd = tracker.step({k: v[idx] for k, v in det.items()}, now=float(key[end - 1]),
                               rows=idx)
            w.write(upd)
            rows += upd["time"].size
            ids.update(upd["track_id"].tolist())
            confirmed.update(upd["track_id"][upd["status"] == "confirmed"].tolist())
            if progress is not None:
                progress(float(key[end - 1]) - t0, t1 - t0)
            start = end
        final = tracker.flush(t1 + 3600.0)
        w.write(final)
        rows += final["time"].size
    q = tracker.ingest.quarantine
    with TableWriter(qpath, QUARANTINE_COLUMNS) as qw:
        qw.write(q.table())
    by_reason: dict[str, int] = {}
    for (_, reason), n in q.counts.items():
        by_reason[reason] = by_reason.get(reason, 0) + n
    return ReplayResult(int(det["time"].size), rows, len(ids), len(confirmed), len(q),
                        dict(sorted(by_reason.items())), _time.perf_counter() - started)
