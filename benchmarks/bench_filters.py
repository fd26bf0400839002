"""Benchmark the batched EKF of skyfence.track (not a pytest test).

Times one constant-velocity prediction plus one 3D-radar update (range,
azimuth, elevation, radial velocity; each detection with its own sensor site
and rotation) of N tracks, for N = 1,000 / 10,000 / 100,000 by default, and
prints updates per second and microseconds per update as a rich table, or as
JSON with ``--json``::

    python benchmarks/bench_filters.py
    python benchmarks/bench_filters.py --sizes 1000 50000 --repeat 5 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def _track() -> tuple[Any, Any, Any]:
    """Import skyfence.track modules, falling back to the source tree if not installed."""
    try:
        from skyfence.track import filters, measurement, motion
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from skyfence.track import filters, measurement, motion
    return filters, measurement, motion


def _best_time(func: Callable[[], object], repeat: int) -> float:
    """Best wall-clock time of ``repeat`` calls, seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _problem(n: int, seed: int) -> dict[str, Any]:
    """N tracks around a deployment and one radar detection per track."""
    filters, measurement, motion = _track()
    rng = np.random.default_rng(seed)
    lat0, lon0, alt0 = 55.0, 24.0, 120.0
    x = np.column_stack(
        [
            rng.uniform(-40_000.0, 40_000.0, (n, 2)),
            rng.uniform(50.0, 3_000.0, n),
            rng.normal(0.0, 30.0, (n, 3)),
        ]
    )
    P = np.broadcast_to(np.diag([100.0, 100.0, 50.0, 10.0, 10.0, 3.0]) ** 2, (n, 6, 6)).copy()
    # Four radars; each detection carries its radar's site and rotation.
    lat_s = lat0 + np.array([0.2, -0.3, 0.1, -0.1])
    lon_s = lon0 + np.array([0.3, 0.2, -0.4, -0.1])
    which = rng.integers(0, 4, n)
    site = measurement.site_position(lat_s, lon_s, 150.0, lat0, lon0, alt0)[which]
    rot = measurement.enu_rotation(lat_s, lon_s, lat0, lon0)[which]
    radar = measurement.Radar3D(with_radial_velocity=True)
    dt = rng.uniform(0.5, 2.0, n)
    cv = motion.ConstantVelocity(q=1.0, q_vertical=0.2)
    truth = cv.transition(x, dt)
    sigma = np.tile([25.0, np.radians(0.3), np.radians(0.5), 1.0], (n, 1))
    z = radar.h(truth, site, rot) + rng.normal(size=(n, 4)) * sigma
    R = radar.covariance(sigma)
    return dict(filters=filters, cv=cv, radar=radar, x=x, P=P, dt=dt, z=z, site=site, rot=rot, R=R)


def _cases(p: dict[str, Any]) -> dict[str, Callable[[], object]]:
    """The timed calls on one problem: predict, update (of the prediction), both."""
    cv, ekf_update = p["cv"], p["filters"].ekf_update
    meas = (p["z"], p["radar"], p["site"], p["rot"], p["R"])
    xp, Pp = cv.predict(p["x"], p["P"], p["dt"])

    def both() -> object:
        xq, Pq = cv.predict(p["x"], p["P"], p["dt"])
        return ekf_update(xq, Pq, *meas)

    return {
        "predict": lambda: cv.predict(p["x"], p["P"], p["dt"]),
        "update": lambda: ekf_update(xp, Pp, *meas),
        "predict_update": both,
    }


def run(sizes: list[int], repeat: int, seed: int = 0) -> list[dict[str, Any]]:
    """Time predict, update and both for each N; one result dict per N."""
    results = []
    for n in sizes:
        seconds = {name: _best_time(f, repeat) for name, f in _cases(_problem(n, seed)).items()}
        both = seconds["predict_update"]
        results.append(
            {
                "tracks": n,
                "repeat": repeat,
                "predict_seconds": seconds["predict"],
                "update_seconds": seconds["update"],
                "predict_update_seconds": both,
                "updates_per_second": n / both,
                "us_per_update": both / n * 1e6,
            }
        )
    return results


def _print_table(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    repeat = results[0]["repeat"] if results else 0
    table = Table(
        title=(
            f"skyfence.track EKF: CV predict + Radar3D update, best of {repeat} "
            f"(numpy {np.__version__}, {platform.machine()})"
        )
    )
    table.add_column("tracks", justify="right")
    table.add_column("predict (ms)", justify="right")
    table.add_column("update (ms)", justify="right")
    table.add_column("both (ms)", justify="right")
    table.add_column("updates/s", justify="right")
    table.add_column("µs/update", justify="right")
    for r in results:
        table.add_row(
            f"{r['tracks']:,}",
            f"{r['predict_seconds'] * 1e3:.2f}",
            f"{r['update_seconds'] * 1e3:.2f}",
            f"{r['predict_update_seconds'] * 1e3:.2f}",
            f"{r['updates_per_second']:,.0f}",
            f"{r['us_per_update']:.2f}",
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000], help="track counts"
    )
    parser.add_argument("--repeat", type=int, default=5, help="calls timed; best is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(n < 1 for n in args.sizes):
        parser.error("--sizes and --repeat must be positive")
    results = run(args.sizes, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
