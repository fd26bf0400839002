"""The dispatcher: time budget, fairness, isolation of a failing sink, restarts, background."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from skyfence.sinks import Dispatcher, JsonlSink, PermanentSinkError
from skyfence.store import EventLog
from tests.store.factories import T0, alert_rows


class Clock:
    """A monotonic clock the test advances."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class SlowSink:
    """A sink whose every send takes ``cost_s`` on the given clock; may raise."""

    def __init__(self, name: str, clock: Clock, cost_s: float, error: Exception | None = None):
        self.name = name
        self.clock = clock
        self.cost_s = cost_s
        self.error = error
        self.got: list[tuple[int, int]] = []

    def send(self, alert: dict[str, Any]) -> None:
        self.clock.t += self.cost_s
        if self.error is not None:
            raise self.error
        self.got.append((alert["alert_id"], alert["revision"]))


def test_budget_bounds_a_call_and_sinks_take_turns(tmp_path: Path) -> None:
    clock = Clock()
    a, b = SlowSink("a", clock, 0.3), SlowSink("b", clock, 0.3)
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2, 3, 4], 0, T0))
        d = Dispatcher(log, [a, b], budget_s=1.0, jitter=0.0, clock=clock)
        r = d.dispatch(T0)
        assert r.budget_exhausted
        assert r.delivered == {"a": 2, "b": 2}          # a, b, a, b: then 1.2 s > 1.0 s
        assert r.pending == {"a": 2, "b": 2}
        r = d.dispatch(T0 + 1)                          # the next call starts with b
        assert r.delivered == {"b": 2, "a": 2} and not r.budget_exhausted
        assert a.got == b.got == [(1, 0), (2, 0), (3, 0), (4, 0)]


def test_a_sink_that_raises_anything_does_not_stop_the_others(tmp_path: Path) -> None:
    clock = Clock()
    bad = SlowSink("bad", clock, 0.0, error=ZeroDivisionError("division by zero"))
    good = SlowSink("good", clock, 0.0)
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2], 0, T0))
        d = Dispatcher(log, [bad, good], jitter=0.0, clock=clock)
        r = d.dispatch(T0)
        assert r.failed == {"bad": "ZeroDivisionError: division by zero"}
        assert r.delivered == {"good": 2}
        assert log.sink_state("bad").pending == 2


def test_backoff_is_honoured_by_a_new_process_and_clock_jumps_are_ignored(
        tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    clock = Clock()
    with EventLog(path) as log:
        log.append_alerts(alert_rows([1], 0, T0))
        Dispatcher(log, [SlowSink("s", clock, 0, error=OSError("down"))], base_s=4.0,
                   jitter=0.0).dispatch(T0)
    sink = SlowSink("s", clock, 0)
    with EventLog(path) as log:                         # restarted
        d = Dispatcher(log, [sink], base_s=4.0, max_s=60.0, jitter=0.0)
        assert d.dispatch(T0 + 3.9).backing_off == {"s": T0 + 4.0}
        assert sink.got == []
        assert d.dispatch(T0 + 4.0).delivered == {"s": 1}
        # a next attempt far beyond any back-off (the clock jumped) does not block the sink
        log.append_alerts(alert_rows([2], 0, T0 + 5))
        log.record_failure("s", 2, 0, "down", next_attempt_time=T0 + 1e6, time=T0 + 5)
        assert d.dispatch(T0 + 6).delivered == {"s": 1}


def test_a_closed_log_is_reported_not_raised(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.sqlite")
    d = Dispatcher(log, [JsonlSink(tmp_path / "a.jsonl")])
    log.close()
    r = d.dispatch(T0)
    assert r.errors and "closed" in r.errors[0]
    assert r.total_delivered == 0


def test_background_thread_delivers_after_wake(tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    with EventLog(tmp_path / "events.sqlite") as log:
        d = Dispatcher(log, [JsonlSink(out)], jitter=0.0)
        d.start(interval_s=30.0)                        # long interval: wake() must do it
        try:
            log.append_alerts(alert_rows([1, 2, 3], 0, T0))
            d.wake()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if out.exists() and len(out.read_text("utf-8").splitlines()) == 3:
                    break
                time.sleep(0.02)
        finally:
            d.close()
        assert [json.loads(x)["alert_id"] for x in out.read_text("utf-8").splitlines()] == [
            1, 2, 3]
        assert log.pending("jsonl") == []


class BatchSink(SlowSink):
    """A sink with ``send_batch``; ``bad`` revisions are refused for good (one by one)."""

    def __init__(self, name: str, clock: Clock, bad: set[tuple[int, int]] | None = None,
                 error: Exception | None = None) -> None:
        super().__init__(name, clock, 0.0, error)
        self.bad = bad or set()
        self.batches: list[int] = []

    def send(self, alert: dict[str, Any]) -> None:
        if (alert["alert_id"], alert["revision"]) in self.bad:
            raise PermanentSinkError("no position")
        super().send(alert)

    def send_batch(self, alerts: list[dict[str, Any]]) -> None:
        if self.error is not None:
            raise self.error
        if any((a["alert_id"], a["revision"]) in self.bad for a in alerts):
            raise PermanentSinkError("no position")
        self.batches.append(len(alerts))
        self.got += [(a["alert_id"], a["revision"]) for a in alerts]


def test_a_batch_sink_gets_everything_pending_in_one_call(tmp_path: Path) -> None:
    clock = Clock()
    sink = BatchSink("b", clock)
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2, 3, 4], 0, T0))
        r = Dispatcher(log, [sink], jitter=0.0, clock=clock).dispatch(T0)
        assert r.delivered == {"b": 4} and r.pending == {"b": 0}
        assert sink.batches == [4]
        assert sink.got == [(1, 0), (2, 0), (3, 0), (4, 0)]
        assert log.deliveries("b")["alert_id"].tolist() == [1, 2, 3, 4]


def test_a_failed_batch_is_sent_one_by_one(tmp_path: Path) -> None:
    """A revision the sink can never take is rejected, the others delivered, in order; a
    sink that is down backs off with everything still pending."""
    clock = Clock()
    picky = BatchSink("picky", clock, bad={(2, 0)})
    down = BatchSink("down", clock, error=OSError("disk full"))
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2, 3], 0, T0))
        r = Dispatcher(log, [picky, down], jitter=0.0, clock=clock).dispatch(T0)
        assert r.delivered == {"picky": 2} and r.rejected == {"picky": 1}
        assert picky.got == [(1, 0), (3, 0)]
        assert r.failed == {"down": "OSError: disk full"}
        assert log.sink_state("down").pending == 3
        assert log.sink_backoff("down")[0] == 1
