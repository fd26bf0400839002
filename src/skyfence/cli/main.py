"""``skyfence``: simulate, plot and inspect (typer + rich).

Every command that prints figures also takes ``--json`` and prints the same
figures as JSON on stdout.  Errors print one clear line and exit with status 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from skyfence import __version__
from skyfence.errors import SkyFenceError

app = typer.Typer(
    name="skyfence",
    help="SkyFence: multi-sensor counter-drone air surveillance (surveillance only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the figures as JSON instead.")]


def _fail(exc: Exception) -> None:
    err_console.print("[bold red]error:[/] ", end="", highlight=False)
    err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _deployment(path: Path) -> Any:
    """A sensors file, or a scenario file standing in for one (its sensors resolved)."""
    from skyfence.config.loader import load_toml
    from skyfence.config.sensors import load_sensors
    from skyfence.sim.scenario import load_scenario

    if "scenario" in load_toml(path):
        return load_scenario(path).deployment
    return load_sensors(path)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
def version() -> None:
    """Print the SkyFence version."""
    console.print(__version__)


@app.command()
def scenarios(json_out: JsonOpt = False) -> None:
    """List the built-in scenarios."""
    from skyfence.sim.scenario import builtin_scenarios, load_scenario

    rows = []
    for name, _path in sorted(builtin_scenarios().items()):
        sc = load_scenario(name)
        rows.append({
            "name": name, "title": sc.scenario.title, "duration_s": sc.scenario.duration_s,
            "targets": len(sc.target) + sum(g.count if g.kind != "airway" else 0
                                            for g in sc.group),
            "groups": len(sc.group), "sensors": len(sc.sensor),
        })
    if json_out:
        _print_json(rows)
        return
    t = Table(title="Built-in scenarios")
    for c in ("name", "title", "duration", "targets*", "sensors"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["name"], r["title"], f"{r['duration_s'] / 60:.0f} min", str(r["targets"]),
                  str(r["sensors"]))
    console.print(t)
    console.print("* scripted targets and generated ones, not counting scheduled air traffic")


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or a scenario .toml.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    duration: Annotated[float | None, typer.Option(help="Override the duration (s).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Simulate a scenario: write truth and detections (Parquet or CSV) into OUT."""
    from skyfence.sim.output import simulate_to_dir
    from skyfence.sim.scenario import load_scenario

    try:
        sc = load_scenario(scenario)
        if fmt not in ("parquet", "csv"):
            raise SkyFenceError(f"--format '{fmt}' is not valid, must be one of parquet, csv")
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.fields[done]}"), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=err_console, transient=json_out,
                      disable=json_out) as prog:
            task = prog.add_task(f"simulating {sc.name}", total=float(duration or
                                                                       sc.scenario.duration_s),
                                 done="")

            def tick(done_s: float, total_s: float) -> None:
                prog.update(task, completed=done_s, total=total_s,
                            done=f"{done_s / 60:.0f}/{total_s / 60:.0f} min simulated")

            m = simulate_to_dir(sc, out, fmt=fmt, seed=seed, duration_s=duration, progress=tick)
    except SkyFenceError as exc:
        _fail(exc)
        return
    if json_out:
        _print_json(m)
        return
    t = Table(title=f"{m['scenario']} → {out}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_row("targets", f"{m['targets']:,}")
    t.add_row("sensors", f"{m['sensors']:,}")
    t.add_row("simulated", f"{m['duration_s'] / 60:.1f} min")
    t.add_row("truth rows", f"{m['truth_rows']:,}")
    t.add_row("detections", f"{m['detections']:,}")
    t.add_row("  of which false alarms", f"{m['false_alarms']:,}")
    for k, v in m["detections_by_kind"].items():
        t.add_row(f"  {k}", f"{v:,}")
    t.add_row("wall time", f"{m['wall_time_s']:.1f} s")
    t.add_row("detections generated per second", f"{m['detections_per_s']:,.0f}")
    console.print(t)


@app.command()
def plot(
    run_dir: Annotated[Path, typer.Argument(help="A directory written by skyfence simulate.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG file to write.")],
    borders: Annotated[Path | None, typer.Option(help="Your own borders GeoJSON.")] = None,
    zones: Annotated[Path | None, typer.Option(help="Your own zones GeoJSON/TOML.")] = None,
) -> None:
    """Draw truth, detections, borders, zones and sensor sites on a map (PNG)."""
    from skyfence.viz.runmap import plot_run

    try:
        path = plot_run(run_dir, out, borders_path=borders, zones_path=zones)
    except SkyFenceError as exc:
        _fail(exc)
        return
    console.print(f"wrote {path}")


@app.command()
def track(
    sensors: Annotated[Path, typer.Option("--sensors", help="Sensors TOML (a scenario file "
                                          "may stand in).")],
    detections: Annotated[Path, typer.Option("--detections", help="Detections .parquet/.csv.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Tracks .parquet/.csv to write.")],
    config: Annotated[Path | None, typer.Option("--config", help="Tracker TOML "
                                                "([tracker] table).")] = None,
    smoothed: Annotated[Path | None, typer.Option(
        "--smoothed", help="Also write the smoothed tracks (fixed-interval, IMM-aware) "
        "here, for forensics.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the tracker over a recording; write tracks and the quarantined rows beside them."""
    from skyfence.track.config import load_tracker_config
    from skyfence.track.replay import track_recording

    try:
        cfg = load_tracker_config(config)
        deployment = _deployment(sensors)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.fields[done]}"), TimeElapsedColumn(),
                      console=err_console, disable=json_out) as prog:
            task = prog.add_task("tracking", total=1.0, done="")

            def tick(done_s: float, total_s: float) -> None:
                prog.update(task, completed=done_s, total=max(total_s, 1e-9),
                            done=f"{done_s / 60:.1f}/{total_s / 60:.1f} min of recording")

            res = track_recording(deployment, detections, out, cfg, progress=tick,
                                  smoothed=smoothed)
    except SkyFenceError as exc:
        _fail(exc)
        return
    figures = {
        "detections": res.detections, "track_rows": res.track_rows, "tracks": res.tracks,
        "confirmed_tracks": res.confirmed_tracks, "quarantined": res.quarantined,
        "quarantine_by_reason": res.quarantine_by_reason,
        "wall_time_s": round(res.wall_time_s, 3),
        "detections_per_s": round(res.detections / res.wall_time_s, 1)
        if res.wall_time_s > 0 else None,
    }
    if json_out:
        _print_json(figures)
        return
    t = Table(title=f"tracks → {out}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in figures.items():
        if k != "quarantine_by_reason":
            t.add_row(k.replace("_", " "), f"{v:,}" if isinstance(v, int) else str(v))
    for reason, count in res.quarantine_by_reason.items():
        t.add_row(f"  quarantined: {reason}", f"{count:,}")
    console.print(t)


@app.command("eval")
def eval_cmd(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or a scenario .toml.")],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Monte-Carlo runs (seeds).")] = 5,
    config: Annotated[Path | None, typer.Option("--config", help="Tracker TOML.")] = None,
    duration: Annotated[float | None, typer.Option(help="Override the duration (s).")] = None,
    plot_out: Annotated[Path | None, typer.Option("--plot", help="PNG of GOSPA and of RMSE "
                                                  "vs PCRLB over time (default: "
                                                  "eval-SCENARIO.png).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Simulate, track and score a scenario over several seeds: GOSPA, continuity, RMSE
    and RMSE against the posterior Cramér–Rao bound (PCRLB)."""
    from skyfence.eval.harness import evaluate
    from skyfence.eval.report import FIGURE_LABELS, plot_runs, pooled, summarise
    from skyfence.sim.scenario import load_scenario
    from skyfence.track.config import load_tracker_config

    try:
        sc = load_scenario(scenario)
        cfg = load_tracker_config(config)
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                      TextColumn("{task.completed}/{task.total} runs"), TimeElapsedColumn(),
                      TimeRemainingColumn(), console=err_console, disable=json_out) as prog:
            task = prog.add_task(f"evaluating {sc.name}", total=runs)
            scores = evaluate(sc, runs, cfg, duration_s=duration,
                              progress=lambda k, n: prog.update(task, completed=k))
        png = plot_runs(scores, sc.name, plot_out or Path(f"eval-{sc.name}.png"))
    except SkyFenceError as exc:
        _fail(exc)
        return
    summary = summarise(scores)
    pool = pooled(scores)
    reports = [s.classification for s in scores if s.classification is not None]
    rel_png = None
    if reports:
        from skyfence.classify.evaluate import ClassificationReport
        from skyfence.classify.plot import plot_reliability

        rel_png = plot_reliability(ClassificationReport.pool(reports),
                                   png.with_name(png.stem + "-reliability.png"),
                                   title=f"{sc.name}: identification reliability, {runs} run(s)")
        pool_cls = ClassificationReport.pool(reports).figures()
    # the false incursion alerts themselves, for an analyst to find them in the run
    false_alerts = [{"seed": s.seed, **a} for s in scores if s.incursions is not None
                    for a in s.incursions.false_alerts]
    if json_out:
        _print_json({"scenario": sc.name, "runs": runs, "summary": summary, "pooled": pool,
                     "labels": FIGURE_LABELS,
                     "classification": pool_cls if reports else None,
                     "per_run": [s.figures() for s in scores], "false_alerts": false_alerts,
                     "plot": str(png), "reliability_plot": str(rel_png) if rel_png else None})
        return
    t = Table(title=f"{sc.name}: tracker evaluation over {runs} run(s)",
              caption="gate max(500 m, 3σ PCRLB): σ is the target's horizontal position "
                      "PCRLB at that time; 3.03σ holds at least 99 % of errors as small as "
                      "the bound allows")
    t.add_column("figure", overflow="fold")
    t.add_column("mean", justify="right")
    t.add_column("min", justify="right")
    t.add_column("max", justify="right")
    for name, row in summary.items():
        label = f"{name}\n[dim]{FIGURE_LABELS[name]}[/dim]" if name in FIGURE_LABELS else name
        t.add_row(label, *(f"{row[k]:,.3g}" for k in ("mean", "min", "max")))
    console.print(t)
    p = Table(title=f"{sc.name}: incursions and identification, pooled over {runs} run(s)")
    p.add_column("figure")
    p.add_column("value", justify="right")
    for name, v in pool.items():
        p.add_row(name, f"{v:,.3g}")
    console.print(p)
    if false_alerts:
        console.print(_false_alert_table(false_alerts, sc.name))
    if reports:
        console.print(_confusion_table(ClassificationReport.pool(reports), sc.name, runs))
    console.print(f"plot: {png}" + (f"\nreliability: {rel_png}" if rel_png else ""))


def _false_alert_table(alerts: list[dict[str, Any]], scenario: str) -> Table:
    """The false incursion alerts: seed, alert, when (UTC), where, tracks, scored against."""
    from datetime import UTC, datetime

    t = Table(title=f"{scenario}: false incursion alerts")
    for col in ("seed", "alert", "raised (UTC)", "lat, lon", "tracks", "against", "message"):
        t.add_column(col, overflow="fold")
    for a in alerts:
        when = datetime.fromtimestamp(float(a["time"]), UTC).strftime("%Y-%m-%d %H:%M:%S")
        against = a["target_class"] if int(a["target_id"]) < 0 else \
            f"{a['target_class']} {a['target_id']}"
        t.add_row(str(a["seed"]), str(a["alert_id"]), when,
                  f"{float(a['lat_deg']):.4f}, {float(a['lon_deg']):.4f}", str(a["track_ids"]),
                  against, str(a["message"]))
    return t


def _confusion_table(rep: Any, scenario: str, runs: int) -> Table:
    """The tracks identified 10 s after confirmation: truth (rows) × predicted class."""
    from skyfence.classify.evaluate import ACCURACY_CLASSES

    t = Table(title=f"{scenario}: tracks {rep.after_s:g} s after confirmation, truth × "
                    f"identified (pooled over {runs} run(s))")
    t.add_column("truth \\ identified")
    for c in rep.coarse_classes:
        t.add_column(c, justify="right")
    t.add_column("right", justify="right")
    for i, c in enumerate(ACCURACY_CLASSES):
        row = rep.confusion_after[i]
        n = int(row.sum())
        j = list(rep.coarse_classes).index(c)
        t.add_row(c, *(f"{int(v):,}" for v in row),
                  f"{row[j] / n:.1%}" if n else "–")
    return t


@app.command()
def demo(
    scenario: Annotated[str, typer.Argument(help="Built-in scenario name or a scenario .toml.")]
    = "jonava-gerbera",
    out: Annotated[Path | None, typer.Option(help="Output directory (default: "
                                             "demo-out/SCENARIO).")] = None,
    speed: Annotated[float, typer.Option(help="Pace, × real time (0: as fast as it goes).")]
    = 60.0,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    duration: Annotated[float | None, typer.Option(help="Override the duration (s).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Run a scenario end to end, live: sensors → tracks → classes → border and zone events
    → alerts (console, JSONL, event log), then a summary table and a map of the incursion."""
    from skyfence.pipeline.demo import run_demo

    try:
        res = run_demo(scenario, out or Path("demo-out") / Path(scenario).stem, speed=speed,
                       seed=seed, duration_s=duration,
                       console=err_console if json_out else console, live=not json_out)
    except SkyFenceError as exc:
        _fail(exc)
        return
    s = res.summary
    if json_out:
        _print_json({**s, "map": str(res.map_png), "event_log": str(res.event_log),
                     "alerts_jsonl": str(res.alerts_jsonl)})
        return
    t = Table(title=f"{s['scenario']}: summary (seed {s['seed']}, {s['duration_s']:.0f} s)")
    t.add_column("figure")
    t.add_column("value", justify="right")
    units = {"recall": "", "time_to_alert_median_s": " s",
             "time_to_alert_tracked_before_median_s": " s", "position_error_at_alert_m": " m",
             "latency_median_ms": " ms", "latency_p99_ms": " ms", "duration_s": " s"}
    for k, v in s.items():
        if k in ("scenario", "seed", "duration_s"):
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{a}: {b}" for a, b in v.items()) or "none"
        elif isinstance(v, float):
            v = f"{v:,.3g}{units.get(k, '')}"
        else:
            v = f"{v:,}{units.get(k, '')}"
        t.add_row(k.replace("_", " "), v)
    console.print(t)
    console.print(f"map: {res.map_png}\nevent log: {res.event_log}\nalerts: {res.alerts_jsonl}")


@app.command("borders")
def borders_cmd(
    path: Annotated[Path | None, typer.Option("--file", help="Your own borders GeoJSON.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Measure the borders (on land and at sea) between the countries of the borders file."""
    from skyfence.geo.borders import load_borders

    try:
        b = load_borders(path)
    except SkyFenceError as exc:
        _fail(exc)
        return
    rows = []
    ids = list(b.ids)
    for i, a in enumerate(ids):
        for c in ids[i + 1:]:
            km = b.border_length_m(a, c) / 1000.0
            if km > 0.5:
                rows.append({"a": a, "b": c, "length_km": round(km, 1)})
    if json_out:
        _print_json(rows)
        return
    t = Table(title="Borders (geodesic length, land and sea)")
    t.add_column("countries")
    t.add_column("length", justify="right")
    for r in rows:
        t.add_row(f"{b.name(r['a'])} – {b.name(r['b'])}", f"{r['length_km']:.1f} km")
    console.print(t)


@app.command("zones")
def zones_cmd(
    path: Annotated[Path | None, typer.Option("--file", help="Your own zones file.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List the protected zones."""
    from skyfence.geo.zones import load_zones

    try:
        zs = load_zones(path)
    except SkyFenceError as exc:
        _fail(exc)
        return
    rows = [{"id": z.id, "name": z.name, "kind": z.kind, "lat_deg": z.lat_deg,
             "lon_deg": z.lon_deg, "radius_m": z.radius_m} for z in zs]
    if json_out:
        _print_json(rows)
        return
    t = Table(title="Protected zones")
    for c in ("id", "name", "kind", "lat, lon", "radius"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["id"], r["name"], r["kind"], f"{r['lat_deg']:.4f}, {r['lon_deg']:.4f}",
                  f"{r['radius_m'] / 1000:.1f} km")
    console.print(t)


def main() -> None:  # pragma: no cover
    app()
