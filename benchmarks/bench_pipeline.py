"""Benchmark the whole chain in process (not a pytest test): detection batch in → alert
stored, per live batch (``BATCH_S`` = 0.5 s of arrivals), at about 1,000 live tracks.

The built-in ``scale-10k`` scenario is cut down to ``--targets`` targets (default
1,000: decoys, loitering munitions, quadcopters, birds, aircraft within 60 km of
Vilnius, some of them crossing the Belarus border) and ``--duration`` seconds, two
1 Hz 3D radars with clutter.  Its detections are fed in arrival order, in the
pipeline's live batches (``skyfence.pipeline.runner.BATCH_S`` seconds), through
:class:`skyfence.pipeline.Pipeline` with a real SQLite event log and
a JSONL sink.  For each batch it records the wall time from the batch entering the
pipeline to its alert revisions being stored durably (``StepResult.latency_s``: the
detections logged, tracker, classifier, track rows logged, airspace events, alert
manager, alerts fsync'd) and the time with the sinks served too, the CPU time of
both (``time.process_time``, the process's threads included: on a shared
machine the wall time also holds the waits for the other work and for the
disk) and the wall time of each stage (``StepResult.stages_s``; the detection
batch is logged after the alerts are stored, so ``log_detections`` counts only
in the whole step).  Prints a rich table, or JSON with ``--json``::

    python benchmarks/bench_pipeline.py
    python benchmarks/bench_pipeline.py --targets 1000 --duration 180 --json

Target (issue 5): p99 ≤ 50 ms at 1,000 tracks.
"""

# isort: split
import _onecore  # noqa: F401  (pins the numeric libraries to one thread)

# isort: split
import argparse
import json
import re
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from skyfence.pipeline import Pipeline
from skyfence.pipeline.runner import BATCH_S
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import load_scenario
from skyfence.sinks import JsonlSink
from skyfence.store import EventLog
from skyfence.track.replay import feed


def _scenario(targets: int, duration: float, tmp: Path):  # type: ignore[no-untyped-def]
    text = resources.files("skyfence.sim.scenarios").joinpath("scale-10k.toml").read_text()
    text = re.sub(r"(?m)^count = \d+", f"count = {targets}", text)
    text = re.sub(r"(?m)^duration_s = [\d.]+", f"duration_s = {duration}", text)
    text = text.replace('name = "scale-10k"', f'name = "pipeline-{targets}"')
    path = tmp / f"pipeline-{targets}.toml"
    path.write_text(text, "utf-8")
    return load_scenario(path)


def run(targets: int, duration: float, warmup: int) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        sc = _scenario(targets, duration, tmp)
        chunks = list(Simulation(sc).run())
        det = {k: np.concatenate([c.detections[k] for c in chunks])
               for k in chunks[0].detections}
        log = EventLog(tmp / "events.sqlite", name=sc.name)
        pipe = Pipeline(sc.deployment, log=log, sinks=[JsonlSink(tmp / "alerts.jsonl")],
                        ground_alt_m=sc.scenario.terrain_alt_m)
        stored, served, cpu, served_cpu, live, alerts = [], [], [], [], [], 0
        stages: list[dict[str, float]] = []
        steps = feed(pipe, det, BATCH_S)
        while True:
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                res, _, _ = next(steps)
            except StopIteration:
                break
            served.append(time.perf_counter() - w0)
            served_cpu.append(time.process_time() - c0)
            stored.append(res.latency_s)
            cpu.append(res.cpu_s)
            stages.append(res.stages_s)
            live.append(len(pipe.tracker.tracks))
            alerts += int(np.count_nonzero(res.alerts["revision"] == 0))
        pipe.close()
    keep = slice(warmup, -1)      # the birth of the tracks; the final flush
    s = np.array(stored[keep]) * 1e3
    v = np.array(served[keep]) * 1e3
    c = np.array(cpu[keep]) * 1e3
    vc = np.array(served_cpu[keep]) * 1e3
    names = list(dict.fromkeys(k for st in stages for k in st))
    per_stage = {}
    for name in names:
        x = np.array([st.get(name, 0.0) for st in stages[keep]]) * 1e3
        per_stage[name] = {"median": float(np.median(x)), "p99": float(np.percentile(x, 99)),
                           "mean": float(x.mean())}
    return {
        "targets": targets, "duration_s": duration, "detections": int(det["time"].size),
        "batches_timed": int(s.size), "live_tracks_median": int(np.median(live[keep])),
        "alerts_raised": alerts,
        "to_alert_stored_ms_median": float(np.median(s)),
        "to_alert_stored_ms_p99": float(np.percentile(s, 99)),
        "to_alert_stored_ms_max": float(s.max()),
        "to_alert_stored_cpu_ms_median": float(np.median(c)),
        "to_alert_stored_cpu_ms_p99": float(np.percentile(c, 99)),
        "with_sinks_ms_median": float(np.median(v)),
        "with_sinks_ms_p99": float(np.percentile(v, 99)),
        "with_sinks_cpu_ms_median": float(np.median(vc)),
        "with_sinks_cpu_ms_p99": float(np.percentile(vc, 99)),
        "stages_ms": per_stage,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--warmup", type=int, default=20, help="first batches left out (10 s)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    r = run(args.targets, args.duration, args.warmup)
    if args.json:
        print(json.dumps(r, indent=2))
        return
    t = Table(title=f"Whole chain per {BATCH_S:g}-s batch, detections in → alerts stored "
                    "(one core; target p99 <= 50 ms at 1,000 tracks)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("targets / live tracks (median)", f"{r['targets']:,} / "
              f"{r['live_tracks_median']:,}")
    t.add_row("detections / batches timed", f"{r['detections']:,} / {r['batches_timed']}")
    t.add_row("alerts raised", str(r["alerts_raised"]))
    t.add_row("to alert stored, ms: median / p99 / max",
              f"{r['to_alert_stored_ms_median']:.1f} / {r['to_alert_stored_ms_p99']:.1f} / "
              f"{r['to_alert_stored_ms_max']:.1f}")
    t.add_row("  CPU time of it, ms: median / p99",
              f"{r['to_alert_stored_cpu_ms_median']:.1f} / "
              f"{r['to_alert_stored_cpu_ms_p99']:.1f}")
    t.add_row("with the sinks served (the whole step), ms: median / p99",
              f"{r['with_sinks_ms_median']:.1f} / {r['with_sinks_ms_p99']:.1f}")
    t.add_row("  CPU time of it, ms: median / p99",
              f"{r['with_sinks_cpu_ms_median']:.1f} / {r['with_sinks_cpu_ms_p99']:.1f}")
    for name, f in r["stages_ms"].items():  # type: ignore[union-attr]
        t.add_row(f"  stage {name}, ms: median / p99 / mean",
                  f"{f['median']:.1f} / {f['p99']:.1f} / {f['mean']:.1f}")
    Console().print(t)


if __name__ == "__main__":
    main()
