"""Alerts appended to a JSON Lines file, on disk (fsync'd) before ``send`` or ``send_batch``
returns."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skyfence.sinks.base import alert_json

__all__ = ["JsonlSink"]


class JsonlSink:
    """One JSON object per alert revision, one per line, appended and fsync'd.

    :meth:`send_batch` appends several revisions with one write and one fsync
    (the dispatcher hands it everything pending for the sink): an fsync costs
    milliseconds whatever it flushes, so one per line was most of the cost of
    serving the sinks.  A revision is on disk before the call returns either way.

    The file is opened on the first ``send`` (and again after a failure), so a
    missing directory or a full disk is a delivery failure the dispatcher
    retries, not an error at start-up.  A line torn by a crash (no final
    newline) is closed before the next one is written, so every complete line
    stays valid JSON.

    Parameters
    ----------
    path:
        The file (created if missing).
    name:
        The sink's name (stable: the delivery record is kept per name).
    """

    def __init__(self, path: str | Path, *, name: str = "jsonl") -> None:
        self.name = name
        self.path = Path(path)
        self._fd: int | None = None

    def _open(self) -> int:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(self.path, "rb") as f:
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        os.write(fd, b"\n")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def send(self, alert: dict[str, Any]) -> None:
        """Append the alert as one line and fsync the file."""
        self.send_batch([alert])

    def send_batch(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Append the alerts, one line each in order, with one write, and fsync the file.

        Raises (``OSError``) when they are not all on disk; some lines may then
        be, and are written again by the retry (delivery is at least once).
        """
        if not alerts:
            return
        data = "".join(json.dumps(alert_json(a), ensure_ascii=False, allow_nan=False,
                                  separators=(",", ":"), default=str) + "\n"
                       for a in alerts).encode("utf-8")
        if self._fd is None:
            self._fd = self._open()
        try:
            written = os.write(self._fd, data)
            if written != len(data):
                raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
            os.fsync(self._fd)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        """Close the file (the next ``send`` reopens it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
