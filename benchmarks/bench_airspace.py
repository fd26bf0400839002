"""Benchmark the airspace event engine (not a pytest test).

Moves N tracks (100, 1,000, 10,000 by default) near the Lithuania–Belarus border
(random positions in a box around Medininkai, random courses at 10–60 m/s, position
sigmas 5–30 m), one row per track per 1-s step, through
:class:`skyfence.airspace.events.AirspaceEngine` with the shipped borders and zones,
and prints the CPU time per step (median and worst over the timed steps, after the
first step that creates every track's state) as a rich table, or JSON with ``--json``::

    python benchmarks/bench_airspace.py
    python benchmarks/bench_airspace.py --tracks 100 1000 10000 --steps 20 --json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np


def _modules() -> Any:
    """Import the engine, falling back to the source tree if not installed."""
    try:
        from skyfence.airspace import events
    except ModuleNotFoundError:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
        from skyfence.airspace import events
    from skyfence.geo.borders import load_borders
    from skyfence.geo.zones import load_zones
    return events, load_borders, load_zones


_M_PER_DEG_LAT = 111_250.0


def _rows(lat: np.ndarray, lon: np.ndarray, ve: np.ndarray, vn: np.ndarray, sig: np.ndarray,
          t: float) -> dict[str, np.ndarray]:
    n = lat.size
    return {
        "time": np.full(n, t), "track_id": np.arange(n, dtype=np.int64),
        "status": np.full(n, "confirmed"), "lat_deg": lat, "lon_deg": lon,
        "alt_m": np.full(n, 400.0), "vel_east_mps": ve, "vel_north_mps": vn,
        "vel_up_mps": np.zeros(n), "sigma_east_m": sig, "sigma_north_m": sig,
    }


def run(sizes: list[int], steps: int, seed: int = 0) -> list[dict[str, Any]]:
    """Time the engine per step for each number of tracks; one result dict per size."""
    events, load_borders, load_zones = _modules()
    borders, zones = load_borders(), load_zones()
    results = []
    for n in sizes:
        rng = np.random.default_rng([seed, n])
        engine = events.AirspaceEngine(borders, zones)
        lat = rng.uniform(54.25, 54.75, n)        # the border runs through this box
        lon = rng.uniform(25.45, 26.15, n)
        course = rng.uniform(0.0, 2.0 * np.pi, n)
        speed = rng.uniform(10.0, 60.0, n)
        ve, vn = speed * np.sin(course), speed * np.cos(course)
        sig = rng.uniform(5.0, 30.0, n)
        coslat = np.cos(np.radians(lat))
        t0 = 1.75e9
        start = time.process_time()
        n_events = engine.step(_rows(lat, lon, ve, vn, sig, t0))["time"].size
        first = time.process_time() - start
        per_step = []
        for k in range(1, steps + 1):
            lat = lat + vn / _M_PER_DEG_LAT
            lon = lon + ve / (_M_PER_DEG_LAT * coslat)
            noisy_lat = lat + rng.normal(0.0, sig) / _M_PER_DEG_LAT
            noisy_lon = lon + rng.normal(0.0, sig) / (_M_PER_DEG_LAT * coslat)
            rows = _rows(noisy_lat, noisy_lon, ve, vn, sig, t0 + k)
            start = time.process_time()
            out = engine.step(rows)
            per_step.append(time.process_time() - start)
            n_events += out["time"].size
        ms = np.array(per_step) * 1e3
        results.append({
            "tracks": n, "steps": steps, "first_step_ms": first * 1e3,
            "median_step_ms": float(np.median(ms)), "max_step_ms": float(ms.max()),
            "tracks_per_second": n / (float(np.median(ms)) / 1e3), "events": int(n_events),
        })
    return results


def _print_table(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"skyfence.airspace events: CPU time per 1-s step "
                        f"(numpy {np.__version__}, {platform.machine()})")
    table.add_column("tracks", justify="right")
    table.add_column("steps", justify="right")
    table.add_column("first step (ms)", justify="right")
    table.add_column("median step (ms)", justify="right")
    table.add_column("worst step (ms)", justify="right")
    table.add_column("track updates/s", justify="right")
    table.add_column("events", justify="right")
    for r in results:
        table.add_row(f"{r['tracks']:,}", str(r["steps"]), f"{r['first_step_ms']:.1f}",
                      f"{r['median_step_ms']:.2f}", f"{r['max_step_ms']:.2f}",
                      f"{r['tracks_per_second']:,.0f}", f"{r['events']:,}")
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[100, 1_000, 10_000],
                        help="numbers of tracks to time")
    parser.add_argument("--steps", type=int, default=20, help="1-s steps timed per size")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.steps < 1 or any(n < 1 for n in args.tracks):
        parser.error("--tracks and --steps must be positive")
    results = run(args.tracks, args.steps)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
