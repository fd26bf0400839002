"""Benchmark the vectorised geodesy of skyfence.geo (not a pytest test).

Times :func:`skyfence.geo.geodesy.geodetic2aer` and
:func:`skyfence.geo.geodesy.ecef2geodetic` on random points (1e6 by default) and
prints points per second as a rich table, or as JSON with ``--json``::

    python benchmarks/bench_geo.py
    python benchmarks/bench_geo.py --points 200000 --repeat 5 --json
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


def _geodesy() -> Any:
    """Import skyfence.geo.geodesy, falling back to the source tree if not installed."""
    try:
        from skyfence.geo import geodesy
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from skyfence.geo import geodesy
    return geodesy


def _best_time(func: Callable[[], object], repeat: int) -> float:
    """Best wall-clock time of ``repeat`` calls, seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def run(points: int, repeat: int, seed: int = 0) -> list[dict[str, Any]]:
    """Time the benchmarked functions; one result dict per function."""
    geodesy = _geodesy()
    rng = np.random.default_rng(seed)
    lat0, lon0, alt0 = 55.0, 24.0, 120.0
    lat = lat0 + rng.uniform(-2.0, 2.0, points)
    lon = lon0 + rng.uniform(-3.0, 3.0, points)
    alt = rng.uniform(0.0, 5_000.0, points)
    x, y, z = geodesy.geodetic2ecef(lat, lon, alt)
    cases: dict[str, Callable[[], object]] = {
        "geodetic2aer": lambda: geodesy.geodetic2aer(lat, lon, alt, lat0, lon0, alt0),
        "ecef2geodetic": lambda: geodesy.ecef2geodetic(x, y, z),
    }
    results = []
    for name, func in cases.items():
        seconds = _best_time(func, repeat)
        results.append(
            {
                "function": name,
                "points": points,
                "repeat": repeat,
                "best_seconds": seconds,
                "points_per_second": points / seconds,
            }
        )
    return results


def _print_table(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"skyfence.geo geodesy (numpy {np.__version__}, {platform.machine()})")
    table.add_column("function")
    table.add_column("points", justify="right")
    table.add_column("best of", justify="right")
    table.add_column("time (ms)", justify="right")
    table.add_column("points/s", justify="right")
    for r in results:
        table.add_row(
            r["function"],
            f"{r['points']:,}",
            str(r["repeat"]),
            f"{r['best_seconds'] * 1e3:.1f}",
            f"{r['points_per_second']:,.0f}",
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="points per call")
    parser.add_argument("--repeat", type=int, default=3, help="calls timed; best is kept")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.points < 1 or args.repeat < 1:
        parser.error("--points and --repeat must be positive")
    results = run(args.points, args.repeat)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
