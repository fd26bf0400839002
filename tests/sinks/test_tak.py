"""Cursor-on-Target events: the XML, and its reception by real UDP and TCP sockets."""

from __future__ import annotations

import select
import socket
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from skyfence.interop.cot import CotError, alert_to_cot, cot_time, parse_cot_time
from skyfence.sinks import Dispatcher, PermanentSinkError, SinkError, TakSink
from skyfence.store import EventLog
from tests.store.factories import T0, alert_rows, one_alert


def test_cot_event_fields() -> None:
    alert = one_alert(12, 3, T0 + 0.25)
    root = ET.fromstring(alert_to_cot(alert))
    assert root.tag == "event" and root.get("version") == "2.0"
    assert root.get("uid") == "skyfence-alert-12"
    assert root.get("type") == "a-h-A-M-F-Q"           # priority 1, fixed-wing drone: hostile
    assert root.get("how") == "m-f"
    assert root.get("time") == root.get("start") == "2025-07-28T02:00:00.250Z"
    assert parse_cot_time(root.get("stale")) - parse_cot_time(root.get("time")) == 120.0
    pt = root.find("point")
    assert float(pt.get("lat")) == pytest.approx(54.72)
    assert float(pt.get("lon")) == pytest.approx(25.7)
    assert float(pt.get("hae")) == 350.0
    assert float(pt.get("ce")) == 9999999.0
    detail = root.find("detail")
    assert detail.find("contact").get("callsign") == "SF alert 12"
    assert detail.find("track").attrib == {"course": "270.0", "speed": "45.00"}
    remarks = detail.find("remarks").text
    assert remarks.startswith("P1 incursion raised; drone_fixed_wing (87 %); track 120")
    assert "crossed from BY 133 s before" in remarks
    assert remarks.endswith("Drone crossed the border from BY (alert 12)")
    sf = detail.find("skyfence")
    assert (sf.get("alert_id"), sf.get("revision"), sf.get("track_id")) == ("12", "3", "120")
    assert float(sf.get("crossing_time")) == T0 + 0.25 - 133.0


@pytest.mark.parametrize(("over", "cot_type"), [
    ({"priority": 3, "class": "drone_rotary"}, "a-u-A-M-H-Q"),
    ({"priority": 2, "class": "drone_rotary"}, "a-h-A-M-H-Q"),
    ({"priority": 4, "class": "bird"}, "a-u-A"),
    ({"priority": 1, "class": ""}, "a-h-A"),
    ({"priority": 3, "class": "balloon"}, "a-u-A-C-L"),
])
def test_cot_type_from_priority_and_class(over: dict, cot_type: str) -> None:
    assert ET.fromstring(alert_to_cot(one_alert(1, **over))).get("type") == cot_type


def test_cot_uid_stable_resolved_stale_and_fallbacks() -> None:
    a0 = ET.fromstring(alert_to_cot(one_alert(7, 0, T0)))
    a1 = ET.fromstring(alert_to_cot(one_alert(7, 1, T0 + 9, state="resolved")))
    assert a0.get("uid") == a1.get("uid")
    assert parse_cot_time(a1.get("stale")) - parse_cot_time(a1.get("time")) == 10.0
    # no track position: the crossing point
    ev = ET.fromstring(alert_to_cot(one_alert(7, lat_deg=float("nan"), alt_m=float("nan"))))
    assert float(ev.find("point").get("lat")) == 54.55
    assert float(ev.find("point").get("hae")) == 9999999.0
    with pytest.raises(CotError, match="no position"):
        alert_to_cot(one_alert(7, lat_deg=float("nan"), crossing_lat_deg=float("nan")))
    stamped = ET.fromstring(alert_to_cot(one_alert(7, 0, T0), now=T0 + 3600))
    assert stamped.get("time") == cot_time(T0 + 3600)


def test_udp_receiver_gets_the_event() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        sink = TakSink("127.0.0.1", rx.getsockname()[1], protocol="udp", stale_s=60)
        try:
            sink.send(one_alert(21, 0, T0, priority=3, **{"class": "drone_rotary"}))
            data, _ = rx.recvfrom(65_535)
        finally:
            sink.close()
    root = ET.fromstring(data)
    assert root.get("uid") == "skyfence-alert-21"
    assert root.get("type") == "a-u-A-M-H-Q"
    assert float(root.find("point").get("lat")) == pytest.approx(54.81)
    assert parse_cot_time(root.get("stale")) - parse_cot_time(root.get("time")) == 60.0


def _read_events(conn: socket.socket, n: int) -> list[ET.Element]:
    buf = b""
    conn.settimeout(10)
    while buf.count(b"</event>") < n:
        chunk = conn.recv(65_536)
        assert chunk, "stream closed early"
        buf += chunk
    docs = [d for d in buf.split(b"<?xml") if d.strip()]
    return [ET.fromstring(b"<?xml" + d) for d in docs]


def test_tcp_listener_gets_events_and_sink_reconnects() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        listener.settimeout(10)
        sink = TakSink("127.0.0.1", port, protocol="tcp", timeout_s=5)
        try:
            sink.send(one_alert(1, 0, T0))
            sink.send(one_alert(1, 1, T0 + 1, state="escalated"))
            conn, _ = listener.accept()
            with conn:
                events = _read_events(conn, 2)
            assert [e.find("detail/skyfence").get("revision") for e in events] == ["0", "1"]
            assert {e.get("uid") for e in events} == {"skyfence-alert-1"}
            # the receiver closed the stream: wait until the sink's end sees it
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if select.select([sink._sock], [], [], 0.05)[0]:
                    break
            sink.send(one_alert(2, 0, T0 + 2))          # noticed, reconnects
            conn2, _ = listener.accept()
            with conn2:
                (event,) = _read_events(conn2, 1)
            assert event.get("uid") == "skyfence-alert-2"
        finally:
            sink.close()


def test_tcp_refused_and_unplaceable_alert() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = TakSink("127.0.0.1", port, protocol="tcp", timeout_s=5)
    with pytest.raises(SinkError, match=r"tak 127\.0\.0\.1:\d+ \(tcp\): .*refused"):
        sink.send(one_alert(1))
    with pytest.raises(PermanentSinkError, match="no position"):
        sink.send(one_alert(1, lat_deg=float("nan"), crossing_lat_deg=float("nan")))


def test_dispatcher_rejects_an_unplaceable_alert_and_carries_on(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx, \
            EventLog(tmp_path / "events.sqlite") as log:
        rx.bind(("127.0.0.1", 0))
        rx.settimeout(10)
        log.append_alerts(alert_rows([1], 0, T0, lat_deg=float("nan"),
                                     crossing_lat_deg=float("nan")))
        log.append_alerts(alert_rows([2], 0, T0 + 1))
        d = Dispatcher(log, [TakSink("127.0.0.1", rx.getsockname()[1])], jitter=0.0)
        r = d.dispatch(T0 + 1)
        d.close()
        assert r.rejected == {"tak": 1} and r.delivered == {"tak": 1} and r.failed == {}
        data, _ = rx.recvfrom(65_535)
        assert ET.fromstring(data).get("uid") == "skyfence-alert-2"
        dl = log.deliveries("tak")
        assert dl["status"].tolist() == ["rejected", "delivered"]
        assert "no position" in dl["error"][0]
        assert log.pending("tak") == []
