"""The console line an operator reads, and the JSON Lines file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from skyfence.sinks import ConsoleSink, JsonlSink, alert_json, format_alert
from tests.store.factories import T0, one_alert


def _console() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, width=400, color_system=None, force_terminal=False), buf


def test_console_line_has_what_an_operator_needs() -> None:
    console, buf = _console()
    sink = ConsoleSink(console)
    sink.send(one_alert(12, 0, T0 + 133.0))
    line = buf.getvalue()
    assert line.count("\n") == 1
    for part in ("02:02:13Z", "P1", "INCURSION raised", "#12 r0", "drone_fixed_wing 87%",
                 "track 120", "54.7200°N 25.7000°E 350 m", "270° 45 m/s",
                 "crossed from BY 2 min 13 s ago", "zone VLN in 1 min 35 s",
                 "Drone crossed the border from BY (alert 12)"):
        assert part in line, part


def test_console_line_with_unknowns_and_markup_in_the_message() -> None:
    alert = one_alert(3, 2, T0, state="resolved", priority=4, crossing_time=float("nan"),
                      lat_deg=float("nan"), zone_id="", message="[bold]not markup[/bold]")
    alert.update(heading_deg=None, speed_mps=None, class_prob=None)
    console, buf = _console()
    ConsoleSink(console).send(alert)
    line = buf.getvalue()
    assert "P4" in line and "resolved" in line and "drone_fixed_wing" in line
    assert "crossed" not in line and "°N" not in line and "m/s" not in line
    assert "[bold]not markup[/bold]" in line
    assert "crossed from BY 45 s ago" in format_alert(one_alert(1, 0, T0, crossing_time=T0 - 45))


def test_console_prints_changes_and_a_position_line_now_and_then() -> None:
    console, buf = _console()
    sink = ConsoleSink(console, position_every_s=60.0)
    sink.send(one_alert(5, 0, T0))
    for r in range(1, 6):                           # position revisions every 10 s
        sink.send(one_alert(5, r, T0 + 10.0 * r))
    assert buf.getvalue().count("\n") == 1
    sink.send(one_alert(5, 6, T0 + 60.0))           # a minute on: one position line
    sink.send(one_alert(5, 7, T0 + 61.0, priority=2))   # a change: printed at once
    sink.send(one_alert(9, 0, T0 + 61.0))           # another alert: its own line
    lines = buf.getvalue().splitlines()
    assert [ln.split("#")[1].split()[:2] for ln in lines] == [
        ["5", "r0"], ["5", "r6"], ["5", "r7"], ["9", "r0"]]
    every, buf2 = _console()
    s2 = ConsoleSink(every, position_every_s=0.0)
    for r in range(3):
        s2.send(one_alert(5, r, T0 + r))
    assert buf2.getvalue().count("\n") == 3


def test_jsonl_lines_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_bytes(b'{"alert_id": 0, "torn')          # a line torn by a crash
    sink = JsonlSink(path)
    alerts = [one_alert(1, 0, T0), one_alert(1, 1, T0 + 5, state="escalated"),
              one_alert(2, 0, T0 + 6, lat_deg=float("nan"))]
    for a in alerts:
        sink.send(a)
    lines = path.read_text("utf-8").splitlines()       # readable before close: flushed
    assert lines[0] == '{"alert_id": 0, "torn'
    got = [json.loads(x) for x in lines[1:]]
    assert got == [alert_json(a) for a in alerts]
    assert got[2]["lat_deg"] is None                   # NaN is not JSON
    assert got[1]["state"] == "escalated"
    sink.close()
    sink.send(one_alert(3, 0, T0))                     # reopens
    sink.close()
    assert json.loads(path.read_text("utf-8").splitlines()[-1])["alert_id"] == 3


def test_jsonl_unwritable_is_a_failure_to_retry(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "missing-dir" / "alerts.jsonl")
    with pytest.raises(OSError):
        sink.send(one_alert(1))
    (tmp_path / "missing-dir").mkdir()
    sink.send(one_alert(1))
    sink.close()
    assert len((tmp_path / "missing-dir" / "alerts.jsonl").read_text().splitlines()) == 1


def test_jsonl_batch_is_one_write_and_one_fsync(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import skyfence.sinks.jsonl as jsonl

    calls: list[str] = []
    real_write, real_fsync = jsonl.os.write, jsonl.os.fsync

    def write(fd: int, data: bytes) -> int:
        calls.append("write")
        return real_write(fd, data)

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    monkeypatch.setattr(jsonl.os, "write", write)
    monkeypatch.setattr(jsonl.os, "fsync", fsync)
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink(path)
    alerts = [one_alert(i, 0, T0 + i) for i in range(5)]
    sink.send_batch(alerts)
    sink.send_batch([])                                 # nothing to do: no fsync
    assert calls == ["write", "fsync"]
    assert [json.loads(x) for x in path.read_text("utf-8").splitlines()] == [
        alert_json(a) for a in alerts]
    sink.close()
