"""``skyfence demo``: a scenario end to end, in process, faster than real time.

The scenario is simulated in memory, then its detections are fed to a
:class:`~skyfence.pipeline.runner.Pipeline` in the order they arrive, one second
at a time, paced at ``speed`` × real time.  A live console shows the air picture
(confirmed tracks by class), the alerts as they fire with the time since the
*true* border crossing (known here because the scenario is simulated), and the
chain's latency.  Alerts go to the console, to ``alerts.jsonl`` and into the
event log ``events.sqlite``; at the end a summary table (also as JSON) and a PNG
map of the incursion are written to the output directory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from skyfence.eval.continuity import associate_updates
from skyfence.eval.gospa import table_to_enu
from skyfence.eval.harness import (
    GATE_M,
    HEIGHT_UNOBSERVED_SIGMA_M,
    chain_classifier_config,
    coverage_mask,
)
from skyfence.eval.incursion import (
    DRONE_CLASSES,
    broadcast_identities,
    score_incursions,
    true_crossings,
)
from skyfence.pipeline.runner import BATCH_S, Pipeline
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario, load_scenario
from skyfence.sinks import ConsoleSink, JsonlSink
from skyfence.store import EventLog
from skyfence.track.replay import feed
from skyfence.viz.incursion import plot_incursion

__all__ = ["DemoResult", "run_demo"]

_CLASS_ORDER = ("drone_fixed_wing", "drone_rotary", "balloon", "bird", "aircraft", "clutter",
                "")


@dataclass
class DemoResult:
    """What a demo run produced."""

    summary: dict[str, Any]
    map_png: Path
    event_log: Path
    alerts_jsonl: Path


def _utc(t: float) -> str:
    return str(np.datetime64(int(round(t)), "s")).replace("T", " ")


def _fresh(path: Path) -> Path:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
    return path


class _Picture:
    """The live air picture and alert board the console shows."""

    def __init__(self, crossings: dict[str, np.ndarray]) -> None:
        self.cls: dict[int, str] = {}       # confirmed/coasting track → class
        self.alerts: dict[int, dict[str, Any]] = {}
        self.crossings = crossings
        self.clock = float("nan")

    def update(self, tracks: dict[str, np.ndarray], alerts: dict[str, np.ndarray],
               clock: float) -> None:
        self.clock = clock
        st = tracks["status"].astype(str)
        for tid, s, c in zip(tracks["track_id"].tolist(), st.tolist(),
                             tracks["class"].astype(str).tolist(), strict=True):
            if s in ("confirmed", "coasting"):
                self.cls[tid] = c
            else:
                self.cls.pop(tid, None)
        for i in range(alerts["alert_id"].size):
            aid = int(alerts["alert_id"][i])
            row = {k: v[i] for k, v in alerts.items()}
            raised = self.alerts.get(aid, {}).get("emitted", clock)
            row["emitted"] = raised
            row["since_true_crossing_s"] = self._since_crossing(row, raised)
            self.alerts[aid] = row

    def _since_crossing(self, row: dict[str, Any], emitted: float) -> float:
        """Seconds from the nearest true crossing (in time, within 5 min) to the alert."""
        c_t = self.crossings["time"]
        if row["kind"] != "incursion" or c_t.size == 0:
            return float("nan")
        d = emitted - c_t
        ok = (d > -60.0) & (d < 300.0)
        return float(d[ok][np.argmin(np.abs(d[ok]))]) if ok.any() else float("nan")

    def render(self, header: str, stats: str) -> Group:
        counts = {c: 0 for c in _CLASS_ORDER}
        for c in self.cls.values():
            counts[c if c in counts else ""] += 1
        t = Table(title="air picture: confirmed tracks", expand=False)
        for c in _CLASS_ORDER:
            t.add_column(c.replace("_", " ") or "unclassified", justify="right")
        t.add_row(*(str(counts[c]) for c in _CLASS_ORDER))
        a = Table(title="alerts", expand=True)
        for col in ("id", "prio", "state", "kind", "class", "track", "raised (UTC)",
                    "since true crossing", "zone"):
            a.add_column(col, overflow="fold")
        for aid in sorted(self.alerts)[-8:]:
            r = self.alerts[aid]
            since = r["since_true_crossing_s"]
            a.add_row(str(aid), str(int(r["priority"])), str(r["state"]), str(r["kind"]),
                      f"{r['class']} {r['class_prob']:.2f}" if r["class"] else "?",
                      str(int(r["track_id"])), _utc(r["emitted"])[11:],
                      f"{since:+.1f} s" if np.isfinite(since) else "–",
                      f"{r['zone_id']} in {r['time_to_zone_s'] / 60:.0f} min"
                      if r["zone_id"] and np.isfinite(r["time_to_zone_s"]) else
                      str(r["zone_id"]) or "–")
        return Group(Text(header, style="bold"), t, a, Text(stats, style="dim"))


def run_demo(scenario: str | Path | Scenario, out_dir: str | Path, *, speed: float = 60.0,
             seed: int | None = None, duration_s: float | None = None,
             console: Console | None = None, live: bool = True) -> DemoResult:
    """Run ``scenario`` end to end (see the module docstring).

    Parameters
    ----------
    scenario : name, path or Scenario
        A built-in scenario name or a scenario TOML.
    out_dir : path
        Where the event log, the alerts (JSONL), the summary and the map go.
    speed : float
        Pace of the feed, × real time; 0 or less: as fast as it goes.
    seed, duration_s : optional
        Override the scenario's seed and duration (s).
    console : Console, optional
        Where the live display and the alert lines go (default stdout).
    live : bool
        Show the live display (else only the alert lines and the summary).
    """
    console = console or Console()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    sim = Simulation(sc, seed=seed, duration_s=duration_s)
    chunks = []
    with Progress(TextColumn("[bold]simulating {task.description}"), BarColumn(),
                  TextColumn("{task.completed:.0f}/{task.total:.0f} s"), TimeElapsedColumn(),
                  console=console, transient=True) as prog:
        task = prog.add_task(sc.name, total=sim.duration)
        for c in sim.run():
            chunks.append(c)
            prog.update(task, completed=min(float(c.truth["time"].max() - sim.t0), sim.duration)
                        if c.truth["time"].size else 0.0)
    truth = {k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth}
    det = {k: np.concatenate([c.detections[k] for c in chunks]) for k in chunks[0].detections}
    flying = truth["status"].astype(str) == "flying"
    truth = {k: v[flying] for k, v in truth.items()}
    drone = np.isin(truth["target_class"].astype(str), DRONE_CLASSES)
    drones = {k: v[drone] for k, v in truth.items()}

    log_path = _fresh(out / "events.sqlite")
    jsonl = out / "alerts.jsonl"
    jsonl.unlink(missing_ok=True)
    log = EventLog(log_path, name=sc.name)
    pipe = Pipeline(sc.deployment, log=log, sinks=[ConsoleSink(console), JsonlSink(jsonl)],
                    ground_alt_m=sc.scenario.terrain_alt_m,
                    classify=chain_classifier_config(sc, sim.seed))
    crossings = true_crossings(drones, pipe.borders, pipe.zones)
    pic = _Picture(crossings)

    kept: list[dict[str, np.ndarray]] = []
    events: list[dict[str, np.ndarray]] = []
    alerts: list[dict[str, np.ndarray]] = []
    emitted: list[np.ndarray] = []
    wall0 = time.perf_counter()
    t_first: float | None = None
    title = f"SkyFence demo · {sc.name}: {sc.scenario.title}"

    def frame() -> Group:
        elapsed = time.perf_counter() - wall0
        lat = np.array(pipe.stats.latency_s[-2000:]) * 1e3
        stats = (f"{pipe.stats.detections:,} detections · {pipe.stats.track_updates:,} track "
                 f"updates · {pipe.stats.events} events · {pipe.stats.alerts_raised} alerts · "
                 f"latency p99 {np.percentile(lat, 99) if lat.size else float('nan'):.1f} ms · "
                 f"wall {elapsed:.0f} s")
        clock = _utc(pic.clock) if np.isfinite(pic.clock) else "–"
        pace = f"{speed:g}× real time" if speed > 0 else "as fast as it goes"
        return pic.render(f"{title}\nscenario clock {clock} UTC ({pace})", stats)

    view: Live | _Null = Live(frame(), console=console, refresh_per_second=6,
                              redirect_stdout=False) if live else _Null()
    with view:
        for res, clock, _ in feed(pipe, det, BATCH_S):
            t_first = clock if t_first is None else t_first
            firm = np.isin(res.tracks["status"].astype(str), ["confirmed", "coasting", "deleted"])
            kept.append({k: v[firm] for k, v in res.tracks.items()})
            if res.events["time"].size:
                events.append(res.events)
            if res.alerts["alert_id"].size:
                alerts.append(res.alerts)
                emitted.append(np.full(res.alerts["alert_id"].size, clock))
            pic.update(res.tracks, res.alerts, clock)
            if live:
                view.update(frame())
            if speed > 0 and t_first is not None:
                ahead = (clock - t_first) / speed - (time.perf_counter() - wall0)
                if ahead > 0:
                    time.sleep(min(ahead, 1.0))
        if live:
            view.update(frame())
    pipe.close()

    tracks = _cat(kept)
    ev = _cat(events) if events else pipe.airspace.step({k: v[:0] for k, v in tracks.items()})
    al = _cat(alerts) if alerts else pipe.alerts.open_alerts()
    em = np.concatenate(emitted) if emitted else np.empty(0)
    summary = _summary(sc, sim, truth, det, tracks, ev, al, em, crossings, pipe)
    png = plot_incursion(out / "map.png", truth=drones, tracks=tracks, alerts=al,
                         true_crossings=crossings, events=ev, deployment=sc.deployment,
                         borders=pipe.borders, zones=pipe.zones,
                         title=f"{sc.name}: {sc.scenario.title}\nseed {sim.seed} · "
                         f"{summary['alerts_raised']} alert(s) · true crossings ✕, "
                         "SkyFence's ○, alerts ▲")
    return DemoResult(summary, png, log_path, jsonl)


class _Null:
    """A stand-in context for no live display."""

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *_: object) -> None:
        return None


def _cat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _summary(sc: Scenario, sim: Simulation, truth: dict[str, np.ndarray],
             det: dict[str, np.ndarray], tracks: dict[str, np.ndarray],
             events: dict[str, np.ndarray], alerts: dict[str, np.ndarray],
             emitted: np.ndarray, crossings: dict[str, np.ndarray],
             pipe: Pipeline) -> dict[str, Any]:
    """The run's figures: the chain's counts and the incursion score against the truth."""
    lat0, lon0 = sc.origin()
    origin = (lat0, lon0, sc.scenario.terrain_alt_m)
    T = table_to_enu(truth, *origin)
    K = table_to_enu(tracks, *origin)
    flat = np.asarray(tracks["sigma_up_m"], float) > HEIGHT_UNOBSERVED_SIGMA_M
    assoc = associate_updates(T, K, gate_m=GATE_M, horizontal=flat)
    cover = coverage_mask(truth, det)
    score = score_incursions(truth, crossings, cover, tracks, assoc, alerts, emitted,
                             duration_s=sim.duration, identities=broadcast_identities(det))
    lat = np.array(pipe.stats.latency_s) * 1e3
    confirmed = tracks["status"].astype(str) == "confirmed"
    last_cls: dict[int, str] = {}
    for tid, c in zip(tracks["track_id"][confirmed].tolist(),
                      tracks["class"][confirmed].astype(str).tolist(), strict=True):
        last_cls[tid] = c
    by_class: dict[str, int] = {}
    for c in last_cls.values():
        by_class[c or "unclassified"] = by_class.get(c or "unclassified", 0) + 1
    return {
        "scenario": sc.name, "seed": sim.seed, "duration_s": sim.duration,
        "detections": pipe.stats.detections, "track_updates": pipe.stats.track_updates,
        "confirmed_tracks": len(last_cls), "confirmed_tracks_by_class": by_class,
        "events": pipe.stats.events, "alerts_raised": pipe.stats.alerts_raised,
        "alert_revisions": pipe.stats.alert_revisions,
        "true_drone_crossings": score.drone_crossings,
        "recall": score.recall,
        "time_to_alert_median_s": score.time_to_alert_all_median_s,
        "time_to_alert_tracked_before_median_s": score.time_to_alert_median_s,
        "false_incursion_alerts": score.false_incursion_alerts,
        "position_error_at_alert_m": score.position_error_at_alert_median_m,
        "latency_median_ms": float(np.median(lat)) if lat.size else float("nan"),
        "latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        "quarantined": pipe.quarantine(),
    }
