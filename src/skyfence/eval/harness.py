"""Monte-Carlo evaluation of the tracker on a scenario: simulate, track, score.

For each seed the scenario is simulated in memory, its detections are fed to a
fresh tracker in arrival order one second at a time (as a live feed), and the
confirmed tracks are scored against the truth: GOSPA (with its localisation /
missed / false split), SIAP-style continuity, time to confirm and position RMSE.
A truth row counts as *in coverage* when its target was detected by a radar or
a position sensor within ``coverage_window_s`` of it: a target nobody can see
is not held against the tracker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from skyfence.eval.continuity import track_continuity
from skyfence.eval.gospa import gospa_over_time, table_to_enu
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario
from skyfence.track.config import TrackerConfig
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker

__all__ = ["RunScore", "coverage_mask", "evaluate_run", "evaluate"]

#: GOSPA parameters: cut-off c (m), order p, alpha
GOSPA_C_M = 500.0
GOSPA_P = 2.0
#: a track update further than this from every target is false, m
GATE_M = 500.0


@dataclass
class RunScore:
    """Figures of one run (one seed).  Units in the names."""

    seed: int
    targets: int
    detections: int
    gospa_mean_m: float
    gospa_localisation_mean: float
    gospa_missed_mean: float
    gospa_false_mean: float
    probability_of_update: float
    long_gaps: int
    track_id_changes: int
    id_swaps: int
    false_updates: int
    false_update_share: float
    false_tracks: int
    confirmed_updates: int
    time_to_confirm_median_s: float
    position_rmse_m: float
    tracker_wall_s: float
    tracker_detections_per_s: float
    series: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def figures(self) -> dict[str, float | int]:
        d = asdict(self)
        d.pop("series")
        return d


def coverage_mask(truth: dict[str, np.ndarray], det: dict[str, np.ndarray],
                  window_s: float = 2.0) -> np.ndarray:
    """True for truth rows whose target was detected (radar or position report)
    within ``window_s`` seconds of the row's time."""
    kinds = det["kind"].astype(str)
    use = (det["truth_id"] >= 0) & np.isin(kinds, ["radar3d", "radar2d", "position"])
    dt_id = det["truth_id"][use]
    d_t = det["time"][use]
    t0 = float(min(truth["time"].min(), d_t.min() if d_t.size else np.inf))
    span = float(max(truth["time"].max(), d_t.max() if d_t.size else -np.inf)) - t0 + 10.0
    key_d = np.sort(dt_id * span + (d_t - t0))
    key_t = truth["truth_id"] * span + (truth["time"] - t0)
    i = np.searchsorted(key_d, key_t)
    best = np.full(key_t.size, np.inf)
    for j in (i - 1, i):
        ok = (j >= 0) & (j < key_d.size)
        best[ok] = np.minimum(best[ok], np.abs(key_d[j[ok]] - key_t[ok]))
    return best <= window_s


def run_tracker(sc: Scenario, det: dict[str, np.ndarray], cfg: TrackerConfig,
                slice_s: float = 1.0) -> tuple[dict[str, np.ndarray], float]:
    """Feed detections to a fresh tracker in arrival order; returns (tracks, wall seconds)."""
    tracker = Tracker(sc.deployment, cfg)
    started = time.perf_counter()
    outs = [upd for upd, _, _ in feed(tracker, det, slice_s)]
    wall = time.perf_counter() - started
    return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}, wall


def evaluate_run(sc: Scenario, seed: int, cfg: TrackerConfig,
                 duration_s: float | None = None) -> RunScore:
    """Simulate ``sc`` with ``seed``, track it and score the confirmed tracks."""
    sim = Simulation(sc, seed=seed, duration_s=duration_s)
    chunks = list(sim.run())
    truth = {k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth}
    det = {k: np.concatenate([c.detections[k] for c in chunks]) for k in chunks[0].detections}
    tracks, wall = run_tracker(sc, det, cfg)
    lat0, lon0 = sc.origin()
    origin = (lat0, lon0, sc.scenario.terrain_alt_m)
    flying = truth["status"].astype(str) == "flying"
    truth = {k: v[flying] for k, v in truth.items()}
    cover = coverage_mask(truth, det)
    T = table_to_enu({k: v[cover] for k, v in truth.items()}, *origin)
    K = table_to_enu(tracks, *origin)
    g = gospa_over_time(T, K, c=GOSPA_C_M, p=GOSPA_P)
    c = track_continuity(table_to_enu(truth, *origin), K, gate_m=GATE_M, coverage=cover)
    ttc = c.time_to_confirm_s[np.isfinite(c.time_to_confirm_s)]

    def mean(a: np.ndarray) -> float:
        return float(np.mean(a)) if a.size else float("nan")

    return RunScore(
        seed=seed, targets=len(sim.targets), detections=int(det["time"].size),
        gospa_mean_m=mean(g["distance"]), gospa_localisation_mean=mean(g["localisation"]),
        gospa_missed_mean=mean(g["missed"]), gospa_false_mean=mean(g["false"]),
        probability_of_update=float(c.probability_of_update), long_gaps=c.n_long_gaps,
        track_id_changes=c.n_track_id_changes, id_swaps=c.n_truth_changes,
        false_updates=c.n_false_updates, false_update_share=float(c.false_update_share),
        false_tracks=c.n_false_tracks, confirmed_updates=c.n_counted_updates,
        time_to_confirm_median_s=float(np.median(ttc)) if ttc.size else float("nan"),
        position_rmse_m=float(c.position_rmse_m), tracker_wall_s=wall,
        tracker_detections_per_s=det["time"].size / wall if wall > 0 else float("nan"),
        series={"time": g["time"], "gospa": g["distance"], "n_truth": g["n_truth"],
                "n_missed": g["n_missed"], "n_false": g["n_false"],
                "localisation": g["localisation"]},
    )


def evaluate(sc: Scenario, runs: int, cfg: TrackerConfig, first_seed: int | None = None,
             duration_s: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> list[RunScore]:
    """``runs`` Monte-Carlo runs with consecutive seeds from the scenario's own."""
    base = sc.scenario.seed if first_seed is None else first_seed
    out = []
    for k in range(runs):
        out.append(evaluate_run(sc, base + k, cfg, duration_s))
        if progress is not None:
            progress(k + 1, runs)
    return out
