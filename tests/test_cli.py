"""The `skyfence` command: help everywhere, JSON everywhere figures are printed,
simulate → plot on a short run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence.cli.main import app
from skyfence.io.tables import read_table
from skyfence.model.schema import DETECTION_COLUMNS, TRUTH_COLUMNS

runner = CliRunner()
COMMANDS = ["scenarios", "simulate", "plot", "track", "eval", "borders", "zones", "version"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_subcommand_has_help(cmd: str) -> None:
    res = runner.invoke(app, [cmd, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output


def test_scenarios_json() -> None:
    res = runner.invoke(app, ["scenarios", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {r["name"] for r in rows} >= {"jonava-gerbera", "border-day", "scale-10k"}


def test_borders_and_zones_json() -> None:
    res = runner.invoke(app, ["borders", "--json"])
    assert res.exit_code == 0, res.output
    lengths = {(r["a"], r["b"]): r["length_km"] for r in json.loads(res.stdout)}
    assert lengths[("BY", "LT")] >= 620
    res = runner.invoke(app, ["zones", "--json"])
    assert res.exit_code == 0, res.output
    assert len(json.loads(res.stdout)) == 7


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_simulate_then_plot(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "jonava-gerbera", "--out", str(out), "--format", fmt,
                              "--duration", "900", "--json"])
    assert res.exit_code == 0, res.output
    manifest = json.loads(res.stdout)
    assert manifest["detections"] > 100
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["detections." + fmt, "truth." + fmt, "sensors.toml", "scenario.toml", "manifest.json"])
    det = read_table(out / f"detections.{fmt}", DETECTION_COLUMNS)
    truth = read_table(out / f"truth.{fmt}", TRUTH_COLUMNS)
    assert list(det)[: len(DETECTION_COLUMNS)] == list(DETECTION_COLUMNS)
    assert det["time"].size == manifest["detections"]
    assert truth["time"].size == manifest["truth_rows"]
    assert set(det["kind"]) <= {"radar3d", "radar2d", "bearing", "bearing_elev", "position"}
    png = tmp_path / "map.png"
    res = runner.invoke(app, ["plot", str(out), "--out", str(png)])
    assert res.exit_code == 0, res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 50_000


def test_plot_of_a_directory_that_is_no_run(tmp_path: Path) -> None:
    res = runner.invoke(app, ["plot", str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert res.exit_code == 2
    assert "no manifest.json" in res.output


def test_unknown_format(tmp_path: Path) -> None:
    res = runner.invoke(app, ["simulate", "jonava-gerbera", "--out", str(tmp_path / "o"),
                              "--format", "xlsx"])
    assert res.exit_code == 2
    assert "must be one of parquet, csv" in res.output
    assert not (tmp_path / "o").exists()


def test_track_a_simulated_recording(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = runner.invoke(app, ["simulate", "jonava-gerbera", "--out", str(out), "--format", "csv",
                              "--duration", "700", "--json"])
    assert res.exit_code == 0, res.output
    tracks = tmp_path / "tracks.parquet"
    res = runner.invoke(app, ["track", "--sensors", str(out / "sensors.toml"), "--detections",
                              str(out / "detections.csv"), "--out", str(tracks), "--json"])
    assert res.exit_code == 0, res.output
    figures = json.loads(res.stdout)
    assert figures["confirmed_tracks"] >= 1
    assert figures["quarantined"] == 0
    table = read_table(tracks)
    assert list(table)[:4] == ["time", "track_id", "status", "lat_deg"]
    assert (tmp_path / "tracks.quarantine.parquet").exists()
    # a scenario file may stand in for the sensors file; an IMM config; smoothed tracks
    cfg = tmp_path / "imm.toml"
    cfg.write_text('[tracker]\nmotion = "imm"\n', "utf-8")
    smooth = tmp_path / "smoothed.parquet"
    res = runner.invoke(app, ["track", "--sensors", str(out / "scenario.toml"), "--detections",
                              str(out / "detections.csv"), "--out", str(tracks), "--config",
                              str(cfg), "--smoothed", str(smooth), "--json"])
    assert res.exit_code == 0, res.output
    sm = read_table(smooth)
    assert sm["time"].size > 0 and set(sm["status"]) <= {"confirmed", "coasting"}


def test_eval_prints_figures_as_json(tmp_path: Path) -> None:
    png = tmp_path / "eval.png"
    res = runner.invoke(app, ["eval", "jonava-gerbera", "--runs", "1", "--duration", "600",
                              "--plot", str(png), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["runs"] == 1
    assert set(data["summary"]) >= {"gospa_mean_m", "probability_of_update", "id_swaps",
                                    "false_tracks", "position_rmse_m", "pcrlb_rmse_m",
                                    "rmse_over_pcrlb"}
    run = data["per_run"][0]
    assert run["pcrlb_rmse_m"] > 0.0 and run["rmse_over_pcrlb"] > 0.0
    assert data["summary"]["pcrlb_rmse_m"]["mean"] == pytest.approx(run["pcrlb_rmse_m"])
    # continuity per class of target: the one drone is tracked; no bird or aircraft flies
    assert 0.9 <= run["probability_of_update_tracked_drones"] <= 1.0
    assert run["probability_of_update_tracked_drones"] == run["probability_of_update_tracked"]
    assert math.isnan(run["probability_of_update_tracked_birds"])
    # beside them, the figures with the bound-scaled gate, and what they are in words
    assert 0.9 <= run["probability_of_update_tracked_bound_gate"] <= 1.0
    assert 0.9 <= run["probability_of_update_tracked_drones_bound_gate"] <= 1.0
    assert math.isnan(run["probability_of_update_tracked_birds_bound_gate"])
    assert 0 <= run["false_updates_bound_gate"] <= run["false_updates"]
    assert data["labels"]["false_updates_bound_gate"].endswith("gate max(500 m, 3σ PCRLB)")
    assert data["false_alerts"] == []            # the one drone's alert is not false
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_eval_table_shows_the_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from skyfence.eval import harness
    from skyfence.eval.incursion import IncursionScore

    nan = float("nan")

    def fake(sc, runs, cfg, duration_s=None, progress=None):  # noqa: ANN001, ANN202
        t = 1e9 + np.arange(100.0)
        out = []
        for k in range(runs):
            figures = {name: 1.0 for name in harness.RunScore.__dataclass_fields__
                       if name not in ("series", "classification", "incursions")}
            figures.update(seed=k, pcrlb_rmse_m=12.5 + k, rmse_over_pcrlb=1.75)
            series = {"time": t, "gospa": np.full(100, 40.0), "n_truth": np.ones(100),
                      "n_missed": np.zeros(100), "n_false": np.zeros(100),
                      "localisation": np.zeros(100), "bound_time": t[10:],
                      "bound_rmse_m": np.full(90, 20.0), "bound_pcrlb_m": np.full(90, 12.5),
                      "bound_n": np.ones(90, np.int64)}
            # the second run raised one false alert, on a bird
            false = [{"alert_id": 42, "time": 1e9 + 50.0, "track_ids": "901 902",
                      "lat_deg": 54.5, "lon_deg": 25.75, "target_id": 17,
                      "target_class": "bird", "message": "Drone found inside LT"}] * k
            inc = IncursionScore(0, 0, 0, nan, nan, nan, nan, 0, k, k, nan, 0, nan,
                                 {"bird": k} if k else {}, np.zeros(0), false)
            out.append(harness.RunScore(**figures, series=series, incursions=inc))
        return out

    monkeypatch.setattr(harness, "evaluate", fake)
    png = tmp_path / "e.png"
    res = runner.invoke(app, ["eval", "jonava-gerbera", "--runs", "2", "--plot", str(png)])
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "pcrlb_rmse_m" in line)
    assert [c.strip() for c in row.split("│")[2:5]] == ["13", "12.5", "13.5"]
    assert "rmse_over_pcrlb" in res.output
    # the two association gates are told apart in words under the figures' names
    assert "prob. of update once tracked, gate 500 m" in res.output
    assert "false_updates_bound_gate" in res.output and "3σ PCRLB" in res.output
    # the false alert itself: run, alert, time, place, tracks, what it was scored against
    assert "false incursion alerts" in res.output
    row = next(line for line in res.output.splitlines() if "│ 42 " in line)
    assert "2001-09-09" in row and "901 902" in row and "bird 17" in row
    assert "01:47:30" in res.output              # the cell folds in a narrow terminal
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_track_bad_config_names_file_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "tracker.toml"
    cfg.write_text("[tracker]\nconfirm_m = 9\nconfirm_n = 5\n", "utf-8")
    res = runner.invoke(app, ["track", "--sensors", "x.toml", "--detections", "d.csv", "--out",
                              str(tmp_path / "t.csv"), "--config", str(cfg)])
    assert res.exit_code == 2
    assert "tracker.toml: key 'tracker': expected confirm_m <= confirm_n" in res.output
