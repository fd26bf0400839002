"""Where alerts go: the operator's console, a JSON Lines file, a webhook, a TAK network.

Sinks only ever see alerts read back from the event log (stored durably
first); the :class:`Dispatcher` sends each sink its pending revisions in
order, backs off a failing sink, and records every delivery in the log.
"""

from skyfence.sinks.base import PermanentSinkError, Sink, SinkError, alert_json
from skyfence.sinks.config import (
    SINK_KINDS,
    ConsoleSinkSpec,
    DispatchSpec,
    JsonlSinkSpec,
    SinksConfig,
    TakSinkSpec,
    WebhookSinkSpec,
    build_sink,
    build_sinks,
    load_sinks_config,
    parse_sinks_config,
)
from skyfence.sinks.console import ConsoleSink, format_alert
from skyfence.sinks.dispatch import Dispatcher, DispatchReport
from skyfence.sinks.jsonl import JsonlSink
from skyfence.sinks.tak import TakSink
from skyfence.sinks.webhook import WebhookSink

__all__ = [
    "SINK_KINDS",
    "ConsoleSink",
    "ConsoleSinkSpec",
    "DispatchReport",
    "DispatchSpec",
    "Dispatcher",
    "JsonlSink",
    "JsonlSinkSpec",
    "PermanentSinkError",
    "Sink",
    "SinkError",
    "SinksConfig",
    "TakSink",
    "TakSinkSpec",
    "WebhookSink",
    "WebhookSinkSpec",
    "alert_json",
    "build_sink",
    "build_sinks",
    "format_alert",
    "load_sinks_config",
    "parse_sinks_config",
]
