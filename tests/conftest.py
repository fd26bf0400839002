"""Helpers for simulator tests: small scenarios written as TOML and run in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario, load_scenario

HEADER = """
[scenario]
name = "{name}"
start_time = 2025-07-28T02:00:00Z
duration_s = {duration}
dt_s = 1.0
seed = {seed}
origin = [54.60, 25.60]
terrain_alt_m = 170.0
"""


def run_all(sim: Simulation) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run a simulation to the end; return (truth, detections) as whole tables."""
    truth, dets = [], []
    for ch in sim.run():
        truth.append(ch.truth)
        dets.append(ch.detections)
    t = {k: np.concatenate([c[k] for c in truth]) for k in truth[0]}
    d = {k: np.concatenate([c[k] for c in dets]) for k in dets[0]}
    return t, d


@pytest.fixture
def scenario_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a scenario from a body of TOML tables; returns the loaded Scenario."""

    def make(body: str, name: str = "test", duration: float = 120, seed: int = 1) -> Scenario:
        path = tmp_path / f"{name}-{seed}.toml"
        path.write_text(HEADER.format(name=name, duration=duration, seed=seed) + body, "utf-8")
        return load_scenario(path)

    return make
