"""The durable event log (SQLite, WAL): detections, track updates, events, alerts, quarantine,
and the alert delivery outbox.  See :mod:`skyfence.store.eventlog`."""

from skyfence.store.eventlog import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    AppendResult,
    EventLog,
    SinkState,
)

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "AppendResult", "EventLog", "SinkState"]
