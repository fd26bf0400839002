"""Simulator throughput: detections generated per second on a scenario (default scale-10k).

    python benchmarks/bench_sim.py [--scenario scale-10k] [--repeat 3] [--json]

Runs the whole simulation in memory (targets, sensors, clutter; no file output)
and prints the best of ``--repeat`` runs.  Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from rich.console import Console
from rich.table import Table

from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import load_scenario


def run_once(name: str) -> dict[str, float]:
    sc = load_scenario(name)
    t0 = time.perf_counter()
    sim = Simulation(sc)
    t_build = time.perf_counter() - t0
    dets = truth = 0
    t1 = time.perf_counter()
    for chunk in sim.run():
        dets += int(chunk.detections["time"].size)
        truth += int(chunk.truth["time"].size)
    t_run = time.perf_counter() - t1
    return {
        "targets": len(sim.targets), "sensors": len(sim.sensors),
        "simulated_s": sim.duration, "detections": dets, "truth_rows": truth,
        "build_s": t_build, "run_s": t_run,
        "detections_per_s": dets / t_run, "truth_rows_per_s": truth / t_run,
        "realtime_factor": sim.duration / t_run,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scale-10k")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    runs = [run_once(args.scenario) for _ in range(max(1, args.repeat))]
    best = max(runs, key=lambda r: r["detections_per_s"])
    result = {"benchmark": "simulator", "scenario": args.scenario, "repeat": len(runs),
              "python": platform.python_version(), **best}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    t = Table(title=f"Simulator throughput: {args.scenario} (best of {len(runs)}, one core)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("targets", f"{best['targets']:,}")
    t.add_row("sensors", f"{best['sensors']:,}")
    t.add_row("simulated time", f"{best['simulated_s']:.0f} s")
    t.add_row("detections generated", f"{best['detections']:,}")
    t.add_row("truth rows", f"{best['truth_rows']:,}")
    t.add_row("set-up time", f"{best['build_s']:.2f} s")
    t.add_row("run time", f"{best['run_s']:.2f} s")
    t.add_row("detections generated per second", f"{best['detections_per_s']:,.0f}")
    t.add_row("truth rows per second", f"{best['truth_rows_per_s']:,.0f}")
    t.add_row("faster than real time", f"{best['realtime_factor']:.1f}×")
    Console().print(t)


if __name__ == "__main__":
    main()
