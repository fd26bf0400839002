"""The whole chain in process: detections → tracks → classes → events → alerts → store → sinks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from skyfence.pipeline import Pipeline
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import load_scenario
from skyfence.sinks import JsonlSink
from skyfence.store import EventLog
from skyfence.track.replay import feed

from ..conftest import run_all

#: jonava-gerbera's decoy crosses the border about 810 s into the scenario
CUT_S = 1000.0


@pytest.fixture(scope="module")
def jonava_run(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    sc = load_scenario("jonava-gerbera")
    truth, det = run_all(Simulation(sc, duration_s=CUT_S))
    out = tmp_path_factory.mktemp("pipe")
    log = EventLog(out / "events.sqlite", name=sc.name)
    pipe = Pipeline(sc.deployment, log=log, sinks=[JsonlSink(out / "alerts.jsonl")],
                    ground_alt_m=sc.scenario.terrain_alt_m)
    results = [(res, clock) for res, clock, _ in feed(pipe, det)]
    pipe.close()
    return sc, truth, det, out, results, pipe


def _cat(parts):  # type: ignore[no-untyped-def]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def test_one_incursion_one_alert_stored_and_delivered(jonava_run) -> None:  # type: ignore[no-untyped-def]
    sc, truth, det, out, results, pipe = jonava_run
    alerts = _cat([r.alerts for r, _ in results])
    raised = alerts["revision"] == 0
    assert raised.sum() == 1                               # one alert, not one per scan
    assert alerts["kind"][raised][0] == "incursion"
    assert alerts["country_from"][raised][0] == "BY"
    assert str(alerts["class"][raised][0]).startswith("drone")
    # every revision is in the log, and was delivered to the JSONL sink, in order
    log = EventLog(out / "events.sqlite", readonly=True)
    stored = log.alerts(all_revisions=True)
    assert stored["alert_id"].size == alerts["alert_id"].size
    assert log.pending_count("jsonl") == 0
    lines = [json.loads(x) for x in (out / "alerts.jsonl").read_text().splitlines()]
    assert [(a["alert_id"], a["revision"]) for a in lines] == list(
        zip(alerts["alert_id"].tolist(), alerts["revision"].tolist(), strict=True))
    # the log holds the detection batches, the classified track updates and the events
    counts = log.counts()
    assert counts["detections"] == det["time"].size
    assert counts["tracks"] == sum(r.tracks["time"].size for r, _ in results)
    events = log.events()
    assert "border_entry" in set(events["kind"].astype(str))
    log.close()


def test_alert_soon_after_the_crossing_and_the_past_picture(jonava_run) -> None:  # type: ignore[no-untyped-def]
    from skyfence.eval.incursion import true_crossings

    sc, truth, det, out, results, pipe = jonava_run
    drone = np.char.startswith(truth["target_class"].astype(str), "drone")
    crossings = true_crossings({k: v[drone] for k, v in truth.items()}, pipe.borders,
                               pipe.zones)
    assert crossings["time"].size == 1
    t_cross = float(crossings["time"][0])
    emitted = [clock for r, clock in results if r.alerts["alert_id"].size
               and (r.alerts["revision"] == 0).any()]
    assert 0.0 <= emitted[0] - t_cross < 5.0               # measured: ~2 s
    # the picture a minute after the crossing, rebuilt from the log, shows the drone
    log = EventLog(out / "events.sqlite", readonly=True)
    pic = log.picture_at(t_cross + 60.0)
    firm = pic["status"].astype(str) == "confirmed"
    assert np.any(np.char.startswith(pic["class"][firm].astype(str), "drone"))
    log.close()


def test_killing_the_demo_loses_no_stored_alert(tmp_path: Path) -> None:
    """SIGKILL the demo once it has printed an alert: the log has that alert."""
    out = tmp_path / "demo"
    env = {**os.environ, "COLUMNS": "250"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "skyfence"), "demo", "jonava-gerbera", "--speed", "0",
         "--duration", str(CUT_S), "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seen = []
    deadline = time.monotonic() + 300.0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if "INCURSION" in line and "#" in line:
                seen.append(int(line.split("#")[1].split()[0]))
                break
            if time.monotonic() > deadline:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    assert seen, "the demo printed no alert before the deadline"
    log = EventLog(out / "events.sqlite")     # opens cleanly after the kill
    assert log.check() == ["ok"]
    stored = set(log.alerts(all_revisions=True)["alert_id"].tolist())
    assert set(seen) <= stored
    log.close()


def test_the_batch_is_logged_after_its_alerts_or_when_a_stage_breaks(  # type: ignore[no-untyped-def]
        jonava_run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sc, truth, det, out, results, pipe = jonava_run
    batch = {k: v[:50] for k, v in det.items()}
    log = EventLog(tmp_path / "events.sqlite", name=sc.name)
    p = Pipeline(sc.deployment, log=log, ground_alt_m=sc.scenario.terrain_alt_m)
    res = p.step(batch)
    assert "log_detections" in res.stages_s              # logged after the alerts stored
    assert log.counts()["detections"] == 50               # and before step returned

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a tracker bug")

    monkeypatch.setattr(p.tracker, "step", broken)
    with pytest.raises(RuntimeError, match="a tracker bug"):
        p.step(batch)
    got = log.detections()
    assert got["time"].size == 100                        # the batch that broke it is kept
    np.testing.assert_array_equal(np.sort(got["time"]),
                                  np.sort(np.concatenate([batch["time"], batch["time"]])))
    log.close()


def test_alerts_must_wait_longer_than_the_trackers_lost_window() -> None:
    """The alerts take a track silent for resolve.silent_after_s for gone; a tracker whose
    lost track may come back later than that (a stretched re-acquisition window) is
    refused, naming the key and both durations."""
    from skyfence.airspace.rules import load_rules
    from skyfence.errors import ConfigError
    from skyfence.track.config import TrackerConfig
    from skyfence.track.tracker import Tracker

    dep = load_scenario("jonava-gerbera").deployment
    stretched = TrackerConfig(reacquire_min_rate=0.25, reacquire_rate_2d_only=False)
    longest = Tracker(dep, stretched).longest_silence_s
    # deletion (12 s or 3 scans) plus the window (30 s or 9 scans) / 0.25, slowest sensor
    slowest = max(s.scan_period_s or 1.0 for s in dep.sensor)
    assert longest == pytest.approx(max(12.0, 3 * slowest) + max(30.0, 9 * slowest) / 0.25)
    assert Tracker(dep, TrackerConfig(reacquire_min_rate=1.0)).longest_silence_s == \
        pytest.approx(max(12.0, 3 * slowest) + max(30.0, 9 * slowest))
    # the shipped tracker and rules agree
    Pipeline(dep)
    rules = load_rules()
    short = rules.model_copy(update={"resolve": rules.resolve.model_copy(
        update={"silent_after_s": longest})})
    with pytest.raises(ConfigError, match=r"resolve\.silent_after_s.*lost window"):
        Pipeline(dep, tracker=stretched, rules=short)
    long = rules.model_copy(update={"resolve": rules.resolve.model_copy(
        update={"silent_after_s": longest + 1.0})})
    Pipeline(dep, tracker=stretched, rules=long)
