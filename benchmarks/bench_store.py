"""Benchmark the SQLite event log of skyfence.store (not a pytest test).

Measured on a fresh log in a temporary directory (``--dir`` to put it on the
disk you care about: fsync latency depends on it):

* **detections**: rows per second appended (every ``DETECTION_COLUMNS``
  column), in batches of ``--batch`` rows;
* **track rows**: rows per second appended, one batch per second of picture
  time holding every live track's update (``--live`` tracks alive at a time,
  lifetimes 0.5-1.5 × ``--lifetime-s``, a ``deleted`` row when each ends;
  ``TRACK_COLUMNS`` plus the ``classify`` columns), until ``--track-rows``
  rows are stored: once committing every append, once with group commits
  (``commit_interval_s = --group-s``: the rate of a replay, batches arriving
  faster than real time);
* **durable alert append**: latency of ``append_alerts`` of one revision
  (fsync'd commit), median and 99th percentile over ``--alerts`` appends;
* **picture_at**: latency of the picture at a random time of that log of
  ``--track-rows`` rows, median and 99th percentile over ``--queries`` calls.

Rates are given per wall-clock second and per CPU second of the process (the
latter is steadier on a shared machine; the wall figure includes waiting for
fsync during WAL checkpoints).  Prints a rich table, or JSON with ``--json``::

    python benchmarks/bench_store.py
    python benchmarks/bench_store.py --track-rows 200000 --json
"""

from __future__ import annotations

import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split

import argparse
import json
import platform
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from skyfence.model.schema import (
    ALERT_COLUMNS,
    CLASS_PROB_COLUMNS,
    CLASSIFY_CLASSES,
    DETECTION_COLUMNS,
    TRACK_COLUMNS,
)
from skyfence.store import EventLog

T0 = 1_753_668_000.0


def _blank(columns: dict[str, str], n: int) -> dict[str, np.ndarray]:
    return {k: (np.full(n, "") if v == "str" else np.zeros(n, bool) if v == "bool"
                else np.zeros(n, np.int64) if v == "int64" else np.full(n, np.nan))
            for k, v in columns.items()}


def detection_batch(n: int, t0: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` radar detections with every column filled as a simulator would."""
    d = _blank(DETECTION_COLUMNS, n)
    d.update(time=t0 + np.sort(rng.uniform(0, 1, n)),
             sensor_id=np.array(["radar-1", "radar-2", "df-1"])[rng.integers(0, 3, n)],
             kind=np.full(n, "radar3d"), range_m=rng.uniform(500, 20_000, n),
             azimuth_deg=rng.uniform(0, 360, n), elevation_deg=rng.uniform(0, 10, n),
             radial_velocity_mps=rng.normal(0, 20, n), sigma_range_m=np.full(n, 10.0),
             sigma_azimuth_deg=np.full(n, 0.3), sigma_elevation_deg=np.full(n, 0.3),
             sigma_radial_velocity_mps=np.full(n, 0.5), snr_db=rng.uniform(5, 30, n),
             rcs_dbsm=rng.normal(-15, 5, n), arrival_time=np.full(n, t0 + 1.2),
             truth_id=rng.integers(-1, 5000, n))
    return d


class TrackScene:
    """Tracks born and ended over time; ``batch(s)`` is second ``s``'s track updates."""

    def __init__(self, live: int, lifetime_s: float, duration_s: int,
                 rng: np.random.Generator) -> None:
        n = int(np.ceil(live * (duration_s + lifetime_s) / lifetime_s))
        self.birth = np.floor(rng.uniform(-lifetime_s, duration_s, n))
        self.end = self.birth + np.round(rng.uniform(0.5, 1.5, n) * lifetime_s)
        self.ids = np.arange(1, n + 1, dtype=np.int64)
        self.lat = rng.uniform(54.0, 55.5, n)
        self.lon = rng.uniform(24.0, 26.5, n)
        self.rng = rng

    def batch(self, s: int) -> dict[str, np.ndarray]:
        alive = (self.birth <= s) & (s <= self.end)
        idx = np.flatnonzero(alive)
        m = idx.size
        rng = self.rng
        d = _blank(TRACK_COLUMNS | CLASS_PROB_COLUMNS, m)
        status = np.where(self.end[idx] == s, "deleted",
                          np.where(s - self.birth[idx] < 3, "tentative", "confirmed"))
        probs = rng.dirichlet(np.ones(len(CLASSIFY_CLASSES)), m)
        best = probs.argmax(axis=1)
        d.update(time=T0 + s + rng.uniform(0, 0.99, m), track_id=self.ids[idx], status=status,
                 lat_deg=self.lat[idx] + 1e-4 * (s - self.birth[idx]), lon_deg=self.lon[idx],
                 alt_m=rng.uniform(50, 3000, m), vel_east_mps=rng.normal(0, 30, m),
                 vel_north_mps=rng.normal(0, 30, m), vel_up_mps=rng.normal(0, 1, m),
                 sigma_east_m=rng.uniform(5, 50, m), sigma_north_m=rng.uniform(5, 50, m),
                 sigma_up_m=rng.uniform(10, 80, m),
                 n_updates=(s - self.birth[idx]).astype(np.int64),
                 sensor_id=np.full(m, "radar-1"), rcs_dbsm=rng.normal(-15, 5, m),
                 cooperative_id=np.full(m, ""), spoofed=np.zeros(m, bool),
                 class_prob=probs[np.arange(m), best],
                 **{"class": np.array(CLASSIFY_CLASSES)[best]},
                 **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSIFY_CLASSES)})
        return d


def one_alert(i: int) -> dict[str, np.ndarray]:
    d = _blank(ALERT_COLUMNS, 1)
    d.update(alert_id=np.array([i]), revision=np.array([0]), time=np.array([T0 + i]),
             state=np.array(["raised"]), kind=np.array(["incursion"]),
             priority=np.array([1]), lat_deg=np.array([54.6]), lon_deg=np.array([25.7]),
             message=np.array([f"Drone crossed the border (alert {i})"]))
    return d


def _pct(x: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(x), q))


def _append_tracks(path: Path, scene: TrackScene, rows: int, interval_s: float
                   ) -> tuple[dict[str, Any], float]:
    """Append track batches until ``rows``; the result and the end of the log's time."""
    with EventLog(path, commit_interval_s=interval_s) as log:
        total, wall, cpu, s = 0, 0.0, 0.0, 0
        while total < rows:
            batch = scene.batch(s)
            s += 1
            if batch["time"].size == 0:
                continue
            w0, c0 = time.perf_counter(), time.process_time()
            log.append_tracks(batch)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            total += batch["time"].size
        w0, c0 = time.perf_counter(), time.process_time()
        log.flush()
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    what = "append track rows" + (f", commit_interval_s={interval_s:g}" if interval_s else "")
    return ({"measurement": what, "columns": len(TRACK_COLUMNS | CLASS_PROB_COLUMNS),
             "count": total, "seconds": wall, "cpu_seconds": cpu,
             "rows_per_second": total / wall, "rows_per_cpu_second": total / cpu,
             "batch_rows_mean": total / s, "commit_interval_s": interval_s}, T0 + s)


def run(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    rng = np.random.default_rng(args.seed)
    results: list[dict[str, Any]] = []

    # detections
    with EventLog(workdir / "detections.sqlite") as log:
        total, wall, cpu, s = 0, 0.0, 0.0, 0
        while total < args.detection_rows:
            n = min(args.batch, args.detection_rows - total)
            batch = detection_batch(n, T0 + s, rng)
            w0, c0 = time.perf_counter(), time.process_time()
            log.append_detections(batch)
            wall += time.perf_counter() - w0
            cpu += time.process_time() - c0
            total += n
            s += 1
        results.append({"measurement": "append detections", "columns": len(DETECTION_COLUMNS),
                        "count": total, "seconds": wall, "cpu_seconds": cpu,
                        "rows_per_second": total / wall, "rows_per_cpu_second": total / cpu,
                        "batch_rows_mean": float(args.batch)})

    # track rows (one commit per batch, then grouped), picture_at on the first log
    duration = int(np.ceil(args.track_rows / args.live)) + 1
    path = workdir / "tracks.sqlite"
    res, t_end = _append_tracks(path, TrackScene(args.live, args.lifetime_s, duration,
                                                 np.random.default_rng(args.seed)),
                                args.track_rows, 0.0)
    results.append(res)
    if args.group_s > 0:
        res2, _ = _append_tracks(workdir / "tracks-grouped.sqlite",
                                 TrackScene(args.live, args.lifetime_s, duration,
                                            np.random.default_rng(args.seed)),
                                 args.track_rows, args.group_s)
        results.append(res2)
    with EventLog(path, readonly=True) as log:
        qs = T0 + rng.uniform(0, t_end - T0, args.queries)
        log.picture_at(float(qs[0]))                     # warm the page cache
        lat, sizes = [], []
        for q in qs:
            start = time.perf_counter()
            pic = log.picture_at(float(q))
            lat.append(time.perf_counter() - start)
            sizes.append(pic["track_id"].size)
        results.append({"measurement": "picture_at", "log_track_rows": res["count"],
                        "count": len(qs), "median_ms": 1e3 * _pct(lat, 50),
                        "p99_ms": 1e3 * _pct(lat, 99),
                        "tracks_per_picture": float(np.mean(sizes))})

    # durable alert appends
    with EventLog(workdir / "alerts.sqlite") as log:
        lat = []
        for i in range(args.alerts):
            row = one_alert(i)
            start = time.perf_counter()
            log.append_alerts(row)
            lat.append(time.perf_counter() - start)
        results.append({"measurement": "durable alert append", "count": args.alerts,
                        "median_ms": 1e3 * _pct(lat, 50), "p99_ms": 1e3 * _pct(lat, 99)})
    return results


def _print_table(results: list[dict[str, Any]], where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"skyfence.store event log (SQLite {sqlite3.sqlite_version}, "
                        f"{platform.machine()}, {where})")
    table.add_column("measurement")
    table.add_column("rows per append", justify="right")
    table.add_column("rows / calls", justify="right")
    table.add_column("rows/s wall", justify="right")
    table.add_column("rows/s CPU", justify="right")
    table.add_column("median", justify="right")
    table.add_column("p99", justify="right")
    for r in results:
        if "rows_per_second" in r:
            what = f"{r['measurement']} ({r['columns']} cols)"
            if r.get("commit_interval_s"):
                what = f"track rows, commit_interval_s={r['commit_interval_s']:g}"
            table.add_row(what, f"{r['batch_rows_mean']:,.0f}", f"{r['count']:,}",
                          f"{r['rows_per_second']:,.0f}", f"{r['rows_per_cpu_second']:,.0f}",
                          "", "")
        else:
            what = r["measurement"]
            if "log_track_rows" in r:
                what += (f" ({r['log_track_rows'] / 1e6:.1f} M rows, "
                         f"{r['tracks_per_picture']:,.0f} tracks)")
            table.add_row(what, "", f"{r['count']:,} calls", "", "", f"{r['median_ms']:.2f} ms",
                          f"{r['p99_ms']:.2f} ms")
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detection-rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="detections per append")
    parser.add_argument("--track-rows", type=int, default=1_000_000)
    parser.add_argument("--live", type=int, default=2_000, help="tracks alive at a time")
    parser.add_argument("--lifetime-s", type=float, default=300.0, help="mean track life, s")
    parser.add_argument("--group-s", type=float, default=1.0,
                        help="commit_interval_s of the grouped track run (0: skip it)")
    parser.add_argument("--alerts", type=int, default=200, help="durable alert appends timed")
    parser.add_argument("--queries", type=int, default=50, help="picture_at calls timed")
    parser.add_argument("--dir", type=Path, default=None, help="where the logs are written")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if min(args.detection_rows, args.batch, args.track_rows, args.live, args.alerts,
           args.queries) < 1 or args.lifetime_s <= 0:
        parser.error("counts and --lifetime-s must be positive")
    with tempfile.TemporaryDirectory(prefix="bench-store-", dir=args.dir) as tmp:
        results = run(args, Path(tmp))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results, str(args.dir or tempfile.gettempdir()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
