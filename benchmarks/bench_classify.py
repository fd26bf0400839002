"""Benchmark skyfence.classify: one Classifier.step over N live tracks (not a test).

N tracks (default 1,000 and 10,000) fly straight with random speeds (2-250 m/s),
headings and heights in a 100 km box; every step (1 s of picture time) brings
``--rows-per-track`` rows per track (radar updates with an RCS; one track in 200
carries an ADS-B address and one in 500 a Remote ID serial, so the identity and
spoofing paths run too).  After ``--warmup`` steps (the tracks' state is created
and has filled), ``--steps`` further steps are timed; the table gives the median
wall time of one step and rows classified per second.  A ``churn`` case replaces a
tenth of the tracks every step (deleted rows free their state, new ids arrive).
Threads of the numeric libraries are pinned to one::

    python benchmarks/bench_classify.py
    python benchmarks/bench_classify.py --sizes 10000 50000 --rows-per-track 2 --json
"""

from __future__ import annotations

import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split

import argparse
import json
import platform
import time
from typing import Any

import numpy as np

from skyfence.classify import Classifier, ClassifierConfig


class Scene:
    """N straight-flying tracks and the rows they produce each step."""

    def __init__(self, n: int, rows_per_track: int, churn: float, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n
        self.k = rows_per_track
        self.churn = churn
        self.next_id = 0
        self.t = 1.75e9
        self._spawn(np.arange(n))

    def _spawn(self, idx: np.ndarray) -> None:
        rng = self.rng
        k = idx.size
        if not hasattr(self, "ids"):
            self.ids = np.zeros(self.n, np.int64)
            self.lat = np.zeros(self.n)
            self.lon = np.zeros(self.n)
            self.alt = np.zeros(self.n)
            self.ve = np.zeros(self.n)
            self.vn = np.zeros(self.n)
            self.rcs = np.zeros(self.n)
            self.hint = np.full(self.n, "", dtype="<U20")
            self.nupd = np.zeros(self.n, np.int64)
        self.ids[idx] = np.arange(self.next_id, self.next_id + k)
        self.next_id += k
        self.lat[idx] = rng.uniform(54.0, 55.0, k)
        self.lon[idx] = rng.uniform(24.0, 25.5, k)
        self.alt[idx] = rng.uniform(200.0, 11_000.0, k)
        speed = rng.uniform(2.0, 250.0, k)
        hdg = rng.uniform(0, 2 * np.pi, k)
        self.ve[idx] = speed * np.sin(hdg)
        self.vn[idx] = speed * np.cos(hdg)
        self.rcs[idx] = rng.uniform(-30.0, 20.0, k)
        u = rng.uniform(size=k)
        ids = self.ids[idx]
        self.hint[idx] = np.where(u < 0.005, np.char.mod("%06x", 0x400000 + ids),
                                  np.where(u > 0.998, np.char.mod("1581F5FJD%011d", ids), ""))
        self.nupd[idx] = 0

    def step(self) -> dict[str, np.ndarray]:
        """The rows of one second of picture time."""
        rng = self.rng
        n, k = self.n, self.k
        parts = []
        for _ in range(k):
            dt = 1.0 / k
            self.t += dt
            self.lat += self.vn * dt / 111_132.0
            self.lon += self.ve * dt / (111_320.0 * np.cos(np.radians(self.lat)))
            self.nupd += 1
            parts.append({
                "time": np.full(n, self.t) + rng.uniform(0, 0.01, n),
                "track_id": self.ids.copy(),
                "status": np.where(self.nupd >= 3, "confirmed", "tentative"),
                "lat_deg": self.lat + rng.normal(0, 3e-4, n),
                "lon_deg": self.lon + rng.normal(0, 5e-4, n),
                "alt_m": self.alt + rng.normal(0, 30, n),
                "vel_east_mps": self.ve + rng.normal(0, 2, n),
                "vel_north_mps": self.vn + rng.normal(0, 2, n),
                "vel_up_mps": rng.normal(0, 1, n),
                "sigma_east_m": np.full(n, 30.0), "sigma_north_m": np.full(n, 30.0),
                "sigma_up_m": np.full(n, 40.0),
                "class": np.full(n, ""), "class_prob": np.full(n, np.nan),
                "n_updates": self.nupd.copy(),
                "sensor_id": np.full(n, "r3d-1"),
                "rcs_dbsm": self.rcs + rng.normal(0, 5.6, n),
                "id_hint": self.hint.copy(),
            })
        rows = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        if self.churn > 0:
            gone = np.flatnonzero(rng.uniform(size=n) < self.churn)
            if gone.size:
                last = {c: v[-n:][gone].copy() for c, v in rows.items()}
                last["status"] = np.full(gone.size, "deleted")
                rows = {c: np.concatenate([rows[c], last[c]]) for c in rows}
                self._spawn(gone)
        return rows


def run_case(n: int, rows_per_track: int, churn: float, warmup: int, steps: int
             ) -> dict[str, Any]:
    scene = Scene(n, rows_per_track, churn)
    clf = Classifier(config=ClassifierConfig(ground_alt_m=150.0,
                                             sensor_kinds={"r3d-1": "radar3d"},
                                             sensor_sites={"r3d-1": (54.5, 24.75, 200.0)}))
    batches = [scene.step() for _ in range(warmup + steps)]
    for b in batches[:warmup]:
        clf.step(b)
    times = []
    rows = 0
    for b in batches[warmup:]:
        t0 = time.perf_counter()
        out = clf.step(b)
        times.append(time.perf_counter() - t0)
        rows += out["time"].size
    med = float(np.median(times))
    return {"tracks": n, "rows_per_track": rows_per_track, "churn": churn,
            "rows_per_step": rows // steps, "steps": steps, "median_step_ms": med * 1e3,
            "max_step_ms": max(times) * 1e3, "rows_per_s": rows / sum(times),
            "tracks_held": clf.n_tracks}


def _print_table(results: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"skyfence.classify Classifier.step (numpy {np.__version__}, "
                        f"{platform.machine()}, one thread)")
    for c in ("tracks", "rows/track/step", "churn/step", "rows/step", "median step (ms)",
              "max step (ms)", "rows/s", "states held"):
        table.add_column(c, justify="right")
    for r in results:
        table.add_row(f"{r['tracks']:,}", str(r["rows_per_track"]), f"{r['churn']:.0%}",
                      f"{r['rows_per_step']:,}", f"{r['median_step_ms']:.2f}",
                      f"{r['max_step_ms']:.2f}", f"{r['rows_per_s']:,.0f}",
                      f"{r['tracks_held']:,}")
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000],
                    help="tracks (N) per case")
    ap.add_argument("--rows-per-track", type=int, default=1, help="rows per track per step")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    ap.add_argument("--steps", type=int, default=20, help="timed steps")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = ap.parse_args(argv)
    if min(args.sizes) < 1 or args.rows_per_track < 1 or args.steps < 1 or args.warmup < 0:
        ap.error("--sizes, --rows-per-track and --steps must be positive")
    results = []
    for n in args.sizes:
        results.append(run_case(n, args.rows_per_track, 0.0, args.warmup, args.steps))
        results.append(run_case(n, args.rows_per_track, 0.1, args.warmup, args.steps))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
