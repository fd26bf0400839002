"""The sinks file: ``[[sink]]`` tables (console, jsonl, webhook, tak) and ``[dispatch]``.

::

    [dispatch]                 # optional; these are the defaults
    backoff_base_s = 1.0       # wait after the first failure of a sink
    backoff_max_s = 60.0       # longest wait
    jitter = 0.1               # ± fraction of each wait, randomised
    budget_s = 0.5             # time one dispatch call may spend sending
    max_per_sink = 100         # revisions read per sink per call

    [[sink]]
    kind = "console"           # a line per alert revision on the terminal
    stream = "stdout"          # or "stderr"

    [[sink]]
    kind = "jsonl"
    path = "alerts.jsonl"      # relative to this file's directory

    [[sink]]
    kind = "webhook"
    name = "ops-webhook"       # optional (default: the kind); unique
    url = "https://ops.example/alerts"
    timeout_s = 2.0
    headers = { Authorization = "Bearer …" }

    [[sink]]
    kind = "tak"
    host = "239.2.3.1"         # TAK SA multicast group, or a TAK Server
    port = 6969
    protocol = "udp"           # or "tcp" (TAK Server streaming input, e.g. 8087)
    stale_s = 120.0

A sink's ``name`` keys its delivery record in the event log: keep it stable
across restarts; two sinks of one kind need distinct names.  Every error names
the file and the key (``sink[2].url``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError
from skyfence.sinks.base import Sink
from skyfence.sinks.console import ConsoleSink
from skyfence.sinks.jsonl import JsonlSink
from skyfence.sinks.tak import TakSink
from skyfence.sinks.webhook import WebhookSink

__all__ = [
    "SINK_KINDS",
    "ConsoleSinkSpec",
    "DispatchSpec",
    "JsonlSinkSpec",
    "SinkSpec",
    "SinksConfig",
    "TakSinkSpec",
    "WebhookSinkSpec",
    "build_sink",
    "build_sinks",
    "load_sinks_config",
    "parse_sinks_config",
]

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Seconds = Annotated[float, Field(gt=0, le=3600)]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = None

    @property
    def sink_name(self) -> str:
        return self.name or str(getattr(self, "kind"))  # noqa: B009


class ConsoleSinkSpec(_Spec):
    """A rich line per alert revision on the terminal."""

    kind: Literal["console"]
    stream: Literal["stdout", "stderr"] = "stdout"


class JsonlSinkSpec(_Spec):
    """One JSON object per line, appended and fsync'd."""

    kind: Literal["jsonl"]
    path: Path


class WebhookSinkSpec(_Spec):
    """HTTP POST of the JSON alert; non-2xx is a failure."""

    kind: Literal["webhook"]
    url: str
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    headers: dict[str, str] = {}
    proxy: str | None = None

    @field_validator("url", "proxy")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return v
        scheme, sep, rest = v.partition("://")
        if not sep or scheme not in ("http", "https") or not rest.split("/")[0]:
            raise ValueError("an http:// or https:// URL with a host")
        return v


class TakSinkSpec(_Spec):
    """Cursor-on-Target events over UDP or TCP."""

    kind: Literal["tak"]
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)]
    protocol: Literal["udp", "tcp"] = "udp"
    stale_s: Seconds = 120.0
    resolved_stale_s: Seconds = 10.0
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    uid_prefix: Name = "skyfence"
    hostile_priority: Annotated[int, Field(ge=0, le=4)] = 2
    time_source: Literal["alert", "send"] = "alert"
    multicast_ttl: Annotated[int, Field(ge=1, le=255)] = 1


SinkSpec = Annotated[ConsoleSinkSpec | JsonlSinkSpec | WebhookSinkSpec | TakSinkSpec,
                     Field(discriminator="kind")]

_SPECS: dict[str, type[_Spec]] = {"console": ConsoleSinkSpec, "jsonl": JsonlSinkSpec,
                                  "webhook": WebhookSinkSpec, "tak": TakSinkSpec}
SINK_KINDS: tuple[str, ...] = tuple(_SPECS)


class DispatchSpec(BaseModel):
    """``[dispatch]``: back-off and time budget of the dispatcher."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backoff_base_s: Seconds = 1.0
    backoff_max_s: Seconds = 60.0
    jitter: Annotated[float, Field(ge=0, lt=1)] = 0.1
    budget_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    max_per_sink: Annotated[int, Field(ge=1, le=100_000)] = 100

    @model_validator(mode="after")
    def _ordered(self) -> DispatchSpec:
        if self.backoff_max_s < self.backoff_base_s:
            raise ValueError("backoff_max_s must be at least backoff_base_s")
        return self


class SinksConfig(BaseModel):
    """The sinks file: ``dispatch`` settings and the ``sink`` list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dispatch: DispatchSpec = DispatchSpec()
    sink: list[SinkSpec] = []


def parse_sinks_config(data: Any, file: str | Path, prefix: str = "",
                       base_dir: str | Path | None = None) -> SinksConfig:
    """Validate sinks configuration already read from TOML.

    Parameters
    ----------
    data:
        The mapping with ``dispatch`` and ``sink`` keys.
    file:
        The file it came from (named in errors).
    prefix:
        Dotted key of ``data`` inside the file, when it is a sub-table.
    base_dir:
        Directory relative ``jsonl`` paths are resolved against (default: the
        file's directory).

    Raises
    ------
    ConfigError
        Naming the file and the key (``sink[1].url``) and what was expected.
    """
    def key(k: str) -> str:
        return f"{prefix}.{k}" if prefix else k

    if not isinstance(data, dict):
        raise ConfigError(file, prefix, f"expected a table; got {type(data).__name__}")
    unknown = [k for k in data if k not in ("dispatch", "sink")]
    if unknown:
        raise ConfigError(file, key(unknown[0]),
                          "unknown key; a sinks file has [dispatch] and [[sink]] tables")
    dispatch = validate_model(DispatchSpec, data.get("dispatch", {}), file, key("dispatch"))
    raw = data.get("sink", [])
    if not isinstance(raw, list):
        raise ConfigError(file, key("sink"), "expected [[sink]] tables (an array of tables); "
                          f"got {type(raw).__name__}")
    base = Path(base_dir) if base_dir is not None else Path(file).parent
    sinks: list[Any] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(raw):
        where = key(f"sink[{i}]")
        if not isinstance(entry, dict):
            raise ConfigError(file, where, f"expected a table; got {type(entry).__name__}")
        kind = entry.get("kind")
        if kind is None:
            raise ConfigError(file, f"{where}.kind", "required key is missing (one of "
                              f"{', '.join(repr(k) for k in SINK_KINDS)})")
        if kind not in _SPECS:
            raise ConfigError(file, f"{where}.kind", "expected one of "
                              f"{', '.join(repr(k) for k in SINK_KINDS)}; got {kind!r}")
        spec = validate_model(_SPECS[kind], entry, file, where)
        if isinstance(spec, JsonlSinkSpec) and not spec.path.is_absolute():
            spec = spec.model_copy(update={"path": base / spec.path})
        name = spec.sink_name
        if name in seen:
            raise ConfigError(file, f"{where}.name", f"duplicate sink name {name!r} (also "
                              f"sink[{seen[name]}]); give each sink of one kind its own "
                              "name: the delivery record is kept per name")
        seen[name] = i
        sinks.append(spec)
    return SinksConfig(dispatch=dispatch, sink=sinks)


def load_sinks_config(path: str | Path) -> SinksConfig:
    """Read and validate a sinks file (see the module docstring).

    Raises
    ------
    ConfigError
        Naming the file and the key.
    """
    return parse_sinks_config(load_toml(path), path)


def build_sink(spec: ConsoleSinkSpec | JsonlSinkSpec | WebhookSinkSpec | TakSinkSpec) -> Sink:
    """The sink a spec describes."""
    name = spec.sink_name
    if isinstance(spec, ConsoleSinkSpec):
        return ConsoleSink(name=name, stream=spec.stream)
    if isinstance(spec, JsonlSinkSpec):
        return JsonlSink(spec.path, name=name)
    if isinstance(spec, WebhookSinkSpec):
        return WebhookSink(spec.url, spec.timeout_s, spec.headers, name=name, proxy=spec.proxy)
    return TakSink(spec.host, spec.port, protocol=spec.protocol, name=name,
                   stale_s=spec.stale_s, resolved_stale_s=spec.resolved_stale_s,
                   timeout_s=spec.timeout_s, uid_prefix=spec.uid_prefix,
                   hostile_priority=spec.hostile_priority, time_source=spec.time_source,
                   multicast_ttl=spec.multicast_ttl)


def build_sinks(config: SinksConfig) -> list[Sink]:
    """The sinks of a config, in file order."""
    return [build_sink(spec) for spec in config.sink]
