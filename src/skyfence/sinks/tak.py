"""Alerts as Cursor-on-Target events to a TAK network, over UDP or TCP.

Why plain sockets and not pytak's transports: pytak (Apache-2.0) runs its
senders as asyncio workers fed by a queue, which hides from a synchronous
caller whether (and when) an event left the process; the dispatcher needs
``send`` to return only once the event was handed to the network, and to raise
when it was not, so that the event log's outbox stays true.  pytak's CoT
builders stamp ``time``/``start``/``stale`` with the wall clock, whereas an
alert's event must carry the alert's own time (replays, stale computed from
it).  So the XML is built by :mod:`skyfence.interop.cot` (stdlib ElementTree)
and sent here over a socket: one datagram per event (UDP, unicast or
multicast, e.g. the TAK SA group 239.2.3.1:6969), or events back to back on a
TCP stream (TAK Server's plain streaming input, e.g. port 8087).

Delivery guarantees differ: UDP is fire and forget (``send`` succeeds once the
datagram is handed to the kernel, whether anybody listens or not).  TCP
reports a refused or reset connection; a peer that closed the stream since the
last event is noticed before the next one is written, and the sink reconnects.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Callable
from typing import Any

from skyfence.interop.cot import CotError, alert_to_cot
from skyfence.sinks.base import PermanentSinkError, SinkError

__all__ = ["TakSink"]

#: largest UDP payload over IPv4
_MAX_DATAGRAM = 65_507


class TakSink:
    """Sends each alert revision as a CoT event (see :mod:`skyfence.interop.cot`).

    Parameters
    ----------
    host, port:
        Receiver (TAK Server, an ATAK device, a multicast group).
    protocol:
        ``"udp"`` or ``"tcp"``.
    name:
        The sink's name (stable: the delivery record is kept per name).
    stale_s, resolved_stale_s:
        Event lifetime after the alert time, seconds (resolved alerts: the second).
    timeout_s:
        TCP connect and send timeout, seconds.
    uid_prefix:
        Event uids are ``<uid_prefix>-alert-<alert_id>``.
    hostile_priority:
        Alerts of this priority or higher (1 is highest) are typed hostile, others unknown.
    time_source:
        ``"alert"``: events carry the alert's time; ``"send"``: the time of sending
        (``clock()``), for replays to live receivers.
    multicast_ttl:
        IP TTL of multicast datagrams.
    clock:
        Wall clock for ``time_source="send"`` (UTC epoch seconds).
    """

    def __init__(self, host: str, port: int, *, protocol: str = "udp", name: str = "tak",
                 stale_s: float = 120.0, resolved_stale_s: float = 10.0,
                 timeout_s: float = 2.0, uid_prefix: str = "skyfence",
                 hostile_priority: int = 2, time_source: str = "alert",
                 multicast_ttl: int = 1, clock: Callable[[], float] = time.time) -> None:
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"protocol must be 'udp' or 'tcp'; got {protocol!r}")
        if time_source not in ("alert", "send"):
            raise ValueError(f"time_source must be 'alert' or 'send'; got {time_source!r}")
        self.name = name
        self.host = host
        self.port = int(port)
        self.protocol = protocol
        self.stale_s = float(stale_s)
        self.resolved_stale_s = float(resolved_stale_s)
        self.timeout_s = float(timeout_s)
        self.uid_prefix = uid_prefix
        self.hostile_priority = int(hostile_priority)
        self.time_source = time_source
        self.multicast_ttl = int(multicast_ttl)
        self.clock = clock
        self._sock: socket.socket | None = None
        self._addr: Any = None

    @property
    def where(self) -> str:
        return f"tak {self.host}:{self.port} ({self.protocol})"

    def event(self, alert: dict[str, Any]) -> bytes:
        """The CoT event this sink sends for an alert revision."""
        return alert_to_cot(alert, stale_s=self.stale_s, resolved_stale_s=self.resolved_stale_s,
                            uid_prefix=self.uid_prefix, hostile_priority=self.hostile_priority,
                            now=self.clock() if self.time_source == "send" else None)

    def send(self, alert: dict[str, Any]) -> None:
        """Send the alert's CoT event; raises :class:`SinkError` when the network refuses."""
        try:
            data = self.event(alert)
        except CotError as exc:
            raise PermanentSinkError(f"{self.where}: {exc}") from None
        if self.protocol == "udp":
            self._send_udp(data)
        else:
            self._send_tcp(data)

    # -- UDP
    def _send_udp(self, data: bytes) -> None:
        if len(data) > _MAX_DATAGRAM:
            raise PermanentSinkError(f"{self.where}: event of {len(data)} bytes does not fit "
                                     "in a datagram")
        try:
            if self._sock is None:
                family, _, _, _, addr = socket.getaddrinfo(self.host, self.port,
                                                           type=socket.SOCK_DGRAM)[0]
                sock = socket.socket(family, socket.SOCK_DGRAM)
                if family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL,
                                    self.multicast_ttl)
                self._sock, self._addr = sock, addr
            self._sock.sendto(data, self._addr)
        except OSError as exc:
            self.close()
            raise SinkError(f"{self.where}: {exc}") from None

    # -- TCP
    def _peer_closed(self) -> bool:
        """Whether the receiver closed the stream (anything it sent us is discarded)."""
        assert self._sock is not None
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
            if not readable:
                return False
            return self._sock.recv(65_536) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def _send_tcp(self, data: bytes) -> None:
        if self._sock is not None and self._peer_closed():
            self.close()
        try:
            if self._sock is None:
                self._sock = socket.create_connection((self.host, self.port),
                                                      timeout=self.timeout_s)
            self._sock.sendall(data)
        except OSError as exc:
            self.close()
            msg = f"timed out after {self.timeout_s:g} s" if isinstance(exc, TimeoutError) \
                else str(exc)
            raise SinkError(f"{self.where}: {msg}") from None

    def close(self) -> None:
        """Close the socket (the next ``send`` opens a new one)."""
        if self._sock is not None:
            sock, self._sock = self._sock, None
            sock.close()
