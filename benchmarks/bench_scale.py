"""Tracker cost per scan on a whole scenario (default scale-10k: 10,000 targets, 3D radars).

    python benchmarks/bench_scale.py [--scenario scale-10k] [--motion cv|imm|...]
                                     [--config T.toml] [--warmup 5] [--json]

The scenario is simulated in memory, then its detections are fed to a fresh
tracker in arrival order one second at a time (``track.replay.feed``, as a live
feed would deliver them), and every ``Tracker.step`` is timed, in CPU time of
this process and in wall-clock time.  The first ``--warmup`` seconds (tracks
being born) and the final flush are left out.  Not a test: nothing here asserts
on time.  Targets of the tracker issue: median <= 100 ms, p99 <= 250 ms per scan,
with one CV model (``--motion cv``, the default here: the radar EKF the issue names,
run by the compiled kernels); ``--motion imm`` times the shipped default (an IMM over
CV and CT), whatever ``--config`` says of the motion.
"""

from __future__ import annotations

# isort: split
import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split
import argparse
import json
import platform
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import load_scenario
from skyfence.track.config import TrackerConfig, load_tracker_config
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker


def run(name: str, config: str | None, warmup: int, motion: str = "cv"
        ) -> dict[str, float | int | str]:
    sc = load_scenario(name)
    sim = Simulation(sc)
    chunks = list(sim.run())
    det = {k: np.concatenate([c.detections[k] for c in chunks]) for k in chunks[0].detections}
    cfg = TrackerConfig.model_validate({**load_tracker_config(config).model_dump(),
                                        "motion": motion})
    tracker = Tracker(sc.deployment, cfg)
    cpu, wall, sizes, live = [], [], [], []
    steps = feed(tracker, det)
    while True:
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            upd, _, _ = next(steps)
        except StopIteration:
            break
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        sizes.append(int(upd["time"].size))
        live.append(len(tracker.tracks))
    keep = slice(warmup, -1)          # birth of the tracks; the final flush
    c = np.array(cpu[keep]) * 1e3
    w = np.array(wall[keep]) * 1e3
    n_det = int(det["time"].size)
    return {
        "scenario": name, "motion": motion, "targets": len(sim.targets),
        "sensors": len(sim.sensors),
        "detections": n_det, "detections_per_scan": n_det / max(len(cpu), 1),
        "scans_timed": int(c.size), "tracks_live_median": int(np.median(live[keep])),
        "cpu_ms_median": float(np.median(c)), "cpu_ms_p99": float(np.percentile(c, 99)),
        "cpu_ms_max": float(c.max()), "wall_ms_median": float(np.median(w)),
        "wall_ms_p99": float(np.percentile(w, 99)),
        "detections_per_cpu_s": n_det / max(sum(cpu), 1e-9),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scale-10k")
    ap.add_argument("--config", default=None, help="tracker TOML ([tracker] table)")
    ap.add_argument("--motion", default="cv", choices=["cv", "ca", "ct", "imm"],
                    help="motion model (default cv, the issue's radar EKF)")
    ap.add_argument("--warmup", type=int, default=5, help="first seconds left out")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    r = run(args.scenario, args.config, args.warmup, args.motion)
    result = {"benchmark": "tracker per scan", "python": platform.python_version(), **r}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    t = Table(title=f"Tracker ({args.motion}) per 1-s scan on {args.scenario} (one core; "
                    f"target with cv: median "
                    f"<= 100 ms, p99 <= 250 ms)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("targets / sensors", f"{r['targets']:,} / {r['sensors']:,}")
    t.add_row("detections (per scan)", f"{r['detections']:,} ({r['detections_per_scan']:,.0f})")
    t.add_row("scans timed", f"{r['scans_timed']:,}")
    t.add_row("live tracks (median)", f"{r['tracks_live_median']:,}")
    t.add_row("CPU ms per scan: median / p99 / max",
              f"{r['cpu_ms_median']:.1f} / {r['cpu_ms_p99']:.1f} / {r['cpu_ms_max']:.1f}")
    t.add_row("wall ms per scan: median / p99",
              f"{r['wall_ms_median']:.1f} / {r['wall_ms_p99']:.1f}")
    t.add_row("detections per CPU second", f"{r['detections_per_cpu_s']:,.0f}")
    Console().print(t)


if __name__ == "__main__":
    main()
