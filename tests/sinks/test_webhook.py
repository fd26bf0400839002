"""Delivery to a real HTTP server on localhost that is down, then failing, then up."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from skyfence.sinks import Dispatcher, JsonlSink, SinkError, WebhookSink
from skyfence.store import EventLog
from tests.store.factories import T0, alert_rows, one_alert


class Receiver:
    """An HTTP server in a thread: answers each POST with the next code queued (then 200)."""

    def __init__(self, port: int = 0, codes: tuple[int, ...] = (), delay_s: float = 0.0):
        self.codes: deque[int] = deque(codes)
        self.delay_s = delay_s
        self.attempts = 0
        self.received: list[dict] = []           # bodies answered with 2xx
        self.headers: list[dict[str, str]] = []
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                rx.attempts += 1
                if rx.delay_s:
                    time.sleep(rx.delay_s)
                code = rx.codes.popleft() if rx.codes else 200
                if 200 <= code < 300:
                    rx.received.append(json.loads(body))
                    rx.headers.append(dict(self.headers))
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                try:
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    yield rx
    rx.close()


def closed_port() -> int:
    """A localhost port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webhook_posts_json_with_headers(receiver: Receiver) -> None:
    sink = WebhookSink(receiver.url, timeout_s=5, headers={"Authorization": "Bearer abc"})
    alert = one_alert(4, 2, T0, lat_deg=float("nan"))
    sink.send(alert)
    assert receiver.received == [{**alert, "lat_deg": None}]
    h = receiver.headers[0]
    assert h["Content-Type"] == "application/json"
    assert h["Authorization"] == "Bearer abc"
    assert h["Idempotency-Key"] == "skyfence-4-2"


@pytest.mark.parametrize("code", [500, 404, 302])
def test_non_2xx_is_a_failure(code: int) -> None:
    rx = Receiver(codes=(code,))
    try:
        with pytest.raises(SinkError, match=f"HTTP {code}"):
            WebhookSink(rx.url, timeout_s=5).send(one_alert(1))
        assert rx.received == []
    finally:
        rx.close()


def test_timeout_is_a_failure() -> None:
    rx = Receiver(delay_s=0.6)
    try:
        with pytest.raises(SinkError, match="timed out"):
            WebhookSink(rx.url, timeout_s=0.1).send(one_alert(1))
    finally:
        rx.close()


def test_down_then_500_then_up_delivers_everything_once_in_order(tmp_path: Path) -> None:
    port = closed_port()
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2, 3], 0, T0))
        webhook = WebhookSink(f"http://127.0.0.1:{port}/alerts", timeout_s=5)
        jsonl = JsonlSink(tmp_path / "alerts.jsonl")
        d = Dispatcher(log, [webhook, jsonl], base_s=1.0, max_s=60.0, jitter=0.0, budget_s=60)

        r = d.dispatch(T0)                                  # receiver down: port closed
        assert "refused" in r.failed["webhook"].lower()
        assert r.delivered == {"jsonl": 3}                  # the other sink carries on
        assert r.pending == {"webhook": 3, "jsonl": 0}
        assert log.sink_state("webhook").next_attempt_time == T0 + 1.0

        r = d.dispatch(T0 + 0.5)                            # backing off: not tried
        assert r.backing_off == {"webhook": T0 + 1.0} and r.failed == {}

        rx = Receiver(port, codes=(500,))                   # up, but failing once
        try:
            log.append_alerts(alert_rows([1], 1, T0 + 1, state="escalated"))
            r = d.dispatch(T0 + 1.0)
            assert rx.attempts == 1 and r.failed["webhook"].endswith("HTTP 500 Internal "
                                                                      "Server Error")
            assert r.delivered == {"jsonl": 1}
            assert log.sink_state("webhook").next_attempt_time == T0 + 3.0   # 1 s, then 2 s

            r = d.dispatch(T0 + 2.9)
            assert r.backing_off == {"webhook": T0 + 3.0} and rx.attempts == 1

            r = d.dispatch(T0 + 3.0)                        # up: everything, in order
            assert r.delivered == {"webhook": 4} and r.failed == {}
            assert [(a["alert_id"], a["revision"]) for a in rx.received] == [
                (1, 0), (2, 0), (3, 0), (1, 1)]
            assert rx.attempts == 5
            assert rx.received[3]["state"] == "escalated"

            r = d.dispatch(T0 + 4.0)                        # nothing twice
            assert r.total_delivered == 0 and rx.attempts == 5
            assert r.pending == {"webhook": 0, "jsonl": 0}
            st = log.sink_state("webhook")
            assert (st.delivered, st.failures, st.next_attempt_time) == (4, 0, None)
            f = log.failures("webhook")
            assert (f["next_attempt_time"] - f["time"]).tolist() == [1.0, 2.0]
        finally:
            rx.close()
            d.close()
        lines = (tmp_path / "alerts.jsonl").read_text("utf-8").splitlines()
        assert [(json.loads(x)["alert_id"], json.loads(x)["revision"]) for x in lines] == [
            (1, 0), (2, 0), (3, 0), (1, 1)]


def test_backoff_doubles_up_to_the_ceiling(tmp_path: Path) -> None:
    port = closed_port()
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1], 0, T0))
        d = Dispatcher(log, [WebhookSink(f"http://127.0.0.1:{port}/", timeout_s=5)],
                       base_s=1.0, max_s=30.0, jitter=0.0)
        now = T0
        for _ in range(8):
            r = d.dispatch(now)
            assert "webhook" in r.failed
            assert d.dispatch(now + 0.01).backing_off        # not retried before it is due
            now = log.sink_state("webhook").next_attempt_time
        f = log.failures("webhook")
        assert (f["next_attempt_time"] - f["time"]).tolist() == [1, 2, 4, 8, 16, 30, 30, 30]
        assert log.pending_count("webhook") == 1


def test_jitter_stays_within_its_fraction(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.sqlite") as log:
        d = Dispatcher(log, [], base_s=2.0, max_s=60.0, jitter=0.25, seed=3)
        waits = [d.backoff_s(k) for k in range(1, 6) for _ in range(50)]
        for k in range(1, 6):
            w = waits[(k - 1) * 50:k * 50]
            nominal = min(60.0, 2.0 * 2 ** (k - 1))
            assert min(w) >= 0.75 * nominal and max(w) <= min(60.0, 1.25 * nominal)
            assert len(set(w)) > 1
