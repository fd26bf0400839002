"""What every alert sink is: a name and ``send(alert)``, which raises when delivery fails."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from skyfence.errors import SkyFenceError

__all__ = ["PermanentSinkError", "Sink", "SinkError", "alert_json"]


@runtime_checkable
class Sink(Protocol):
    """Where alert revisions go: an operator console, a file, a webhook, a TAK network.

    ``name`` is stable across restarts: the event log keeps, per name, which
    revisions were delivered.  ``send`` delivers one revision (an alert row as
    a dict, ``ALERT_COLUMNS`` keys, unknown numbers None) and returns, or
    raises when it was not delivered: :class:`PermanentSinkError` when this
    revision can never be delivered by this sink (its content), any other
    exception for a failure worth retrying (receiver down, timeout, HTTP 500).

    A sink may also have ``send_batch(alerts)``: deliver several revisions, in
    order, all or raise (the :class:`~skyfence.sinks.dispatch.Dispatcher` then
    sends them one by one to find out which); sinks whose cost is per call
    (an fsync, a round trip) use it to pay it once per dispatch round.
    """

    name: str

    def send(self, alert: dict[str, Any]) -> None: ...


class SinkError(SkyFenceError):
    """A delivery failed; worth retrying (the receiver may come back)."""


class PermanentSinkError(SkyFenceError):
    """This alert revision can never be delivered by this sink (e.g. no position for CoT).

    The dispatcher records it as rejected and carries on with the next revision
    instead of retrying it forever.
    """


def alert_json(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of an alert that ``json.dumps(allow_nan=False)`` accepts.

    NaN and infinities become None, numpy scalars Python numbers, bytes text.
    """
    out: dict[str, Any] = {}
    for k, v in alert.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and not math.isfinite(v):
            v = None
        elif isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out[str(k)] = v
    return out
