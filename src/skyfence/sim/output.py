"""Write a simulation run to a directory, all or nothing.

Files (docs/interchange.md): ``truth.<fmt>``, ``detections.<fmt>``,
``sensors.toml`` (the deployment used, a valid sensors file), ``scenario.toml``
(the scenario as given) and ``manifest.json`` (what, when, how many).  Everything
is written to a hidden staging directory beside the target and moved into
place only when the run has finished, so a failed run leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from skyfence import __version__
from skyfence.config.sensors import sensors_to_toml
from skyfence.errors import OutputError
from skyfence.io.tables import TableWriter
from skyfence.model.schema import DETECTION_COLUMNS, TRUTH_COLUMNS
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario

__all__ = ["RunSummary", "simulate_to_dir"]

RunSummary = dict[str, Any]


def _staging(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.partial-{os.getpid()}"
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir()
    return stage


def simulate_to_dir(scenario: Scenario, out: str | Path, fmt: str = "parquet",
                    seed: int | None = None, duration_s: float | None = None,
                    progress: Callable[[float, float], None] | None = None) -> RunSummary:
    """Run ``scenario`` and write its files into ``out``; returns the manifest."""
    if fmt not in ("parquet", "csv"):
        raise OutputError(f"format '{fmt}' is not valid, must be one of parquet, csv")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    sim = Simulation(scenario, seed=seed, duration_s=duration_s)
    stage = _staging(out)
    started = time.perf_counter()
    try:
        by_sensor: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        false_alarms = 0
        with TableWriter(stage / f"truth.{fmt}", TRUTH_COLUMNS) as tw, \
                TableWriter(stage / f"detections.{fmt}", DETECTION_COLUMNS) as dw:
            for chunk in sim.run(progress):
                tw.write(chunk.truth)
                dw.write(chunk.detections)
                d = chunk.detections
                by_sensor.update(Counter(d["sensor_id"].tolist()))
                by_kind.update(Counter(d["kind"].tolist()))
                false_alarms += int(np.count_nonzero(d["truth_id"] < 0))
            truth_rows, det_rows = tw.rows, dw.rows
        elapsed = time.perf_counter() - started
        (stage / "sensors.toml").write_text(sensors_to_toml(scenario.deployment), "utf-8")
        if scenario.source and Path(scenario.source).is_file():
            shutil.copyfile(scenario.source, stage / "scenario.toml")
        tt = sim.targets
        manifest: RunSummary = {
            "skyfence_version": __version__,
            "scenario": scenario.name,
            "title": scenario.scenario.title,
            "seed": sim.seed,
            "start_time": sim.t0,
            "duration_s": sim.duration,
            "dt_s": sim.dt,
            "origin_deg": list(scenario.origin()),
            "terrain_alt_m": sim.terrain,
            "format": fmt,
            "files": {"truth": f"truth.{fmt}", "detections": f"detections.{fmt}",
                      "sensors": "sensors.toml"},
            "targets": len(tt),
            "targets_by_type": dict(sorted(Counter(tt.type.tolist()).items())),
            "sensors": len(scenario.sensor),
            "truth_rows": truth_rows,
            "detections": det_rows,
            "false_alarms": false_alarms,
            "detections_by_sensor": dict(sorted(by_sensor.items())),
            "detections_by_kind": dict(sorted(by_kind.items())),
            "wall_time_s": round(elapsed, 3),
            "detections_per_s": round(det_rows / elapsed, 1) if elapsed > 0 else None,
        }
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
        out.mkdir(parents=True, exist_ok=True)
        for f in stage.iterdir():
            os.replace(f, out / f.name)
        stage.rmdir()
        return manifest
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
