"""The sinks file: valid files build the sinks, wrong ones name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyfence.errors import ConfigError
from skyfence.sinks import (
    ConsoleSink,
    Dispatcher,
    JsonlSink,
    TakSink,
    WebhookSink,
    build_sinks,
    load_sinks_config,
)
from skyfence.store import EventLog

GOOD = """
[dispatch]
backoff_base_s = 0.5
backoff_max_s = 30.0
jitter = 0.0

[[sink]]
kind = "console"
stream = "stderr"

[[sink]]
kind = "jsonl"
path = "out/alerts.jsonl"

[[sink]]
kind = "webhook"
name = "ops"
url = "https://ops.example/alerts"
timeout_s = 1.5
headers = { Authorization = "Bearer t0k3n" }

[[sink]]
kind = "webhook"
name = "backup"
url = "http://10.0.0.2:8080/hook"

[[sink]]
kind = "tak"
host = "239.2.3.1"
port = 6969

[[sink]]
kind = "tak"
name = "tak-server"
host = "tak.example"
port = 8087
protocol = "tcp"
hostile_priority = 1
"""


def test_good_file_builds_every_sink(tmp_path: Path) -> None:
    path = tmp_path / "sinks.toml"
    path.write_text(GOOD, "utf-8")
    cfg = load_sinks_config(path)
    assert cfg.dispatch.backoff_base_s == 0.5
    sinks = build_sinks(cfg)
    assert [type(s) for s in sinks] == [ConsoleSink, JsonlSink, WebhookSink, WebhookSink,
                                        TakSink, TakSink]
    assert [s.name for s in sinks] == ["console", "jsonl", "ops", "backup", "tak",
                                       "tak-server"]
    assert sinks[1].path == tmp_path / "out" / "alerts.jsonl"      # relative to the file
    assert sinks[2].headers == {"Authorization": "Bearer t0k3n"} and sinks[2].timeout_s == 1.5
    assert (sinks[5].protocol, sinks[5].port, sinks[5].hostile_priority) == ("tcp", 8087, 1)
    with EventLog(tmp_path / "events.sqlite") as log:
        d = Dispatcher.from_config(log, cfg)
        assert (d.base_s, d.max_s, d.jitter) == (0.5, 30.0, 0.0)
        assert [s.name for s in d.sinks] == [s.name for s in sinks]


@pytest.mark.parametrize(("text", "key", "message"), [
    ('[[sink]]\nkind = "console"\n[[sink]]\nkind = "pager"\n', "sink[1].kind",
     "expected one of 'console', 'jsonl', 'webhook', 'tak'; got 'pager'"),
    ('[[sink]]\nname = "x"\n', "sink[0].kind", "required key is missing"),
    ('[[sink]]\nkind = "webhook"\n', "sink[0].url", "required key is missing"),
    ('[[sink]]\nkind = "webhook"\nurl = "http://h/x"\ntimeout_s = "2s"\n', "sink[0].timeout_s",
     "expected a plain number in seconds"),
    ('[[sink]]\nkind = "webhook"\nurl = "http://h/x"\ntimeout = 2\n', "sink[0].timeout",
     "did you mean 'timeout_s'"),
    ('[[sink]]\nkind = "webhook"\nurl = "ftp://h/x"\n', "sink[0].url", "http:// or https://"),
    ('[[sink]]\nkind = "tak"\nhost = "h"\nport = 70000\n', "sink[0].port", "less than or equal"),
    ('[[sink]]\nkind = "tak"\nhost = "h"\nport = 1\nprotocol = "sctp"\n', "sink[0].protocol",
     "'udp' or 'tcp'"),
    ('[[sink]]\nkind = "jsonl"\npath = "a"\n[[sink]]\nkind = "jsonl"\npath = "b"\n',
     "sink[1].name", "duplicate sink name 'jsonl'"),
    ('[dispatch]\nbackoff_base_s = 10\nbackoff_max_s = 5\n', "dispatch",
     "backoff_max_s must be at least backoff_base_s"),
    ('[dispatch]\njitter = 1.5\n', "dispatch.jitter", "less than 1"),
    ('[[sinks]]\nkind = "console"\n', "sinks", "unknown key"),
    ('sink = "console"\n', "sink", "array of tables"),
])
def test_malformed_file_names_file_and_key(tmp_path: Path, text: str, key: str,
                                           message: str) -> None:
    path = tmp_path / "sinks.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError) as err:
        load_sinks_config(path)
    assert err.value.file == str(path)
    assert err.value.key == key
    assert message in err.value.message
    assert str(path) in str(err.value) and key in str(err.value)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "sinks.toml"
    path.write_text("[[sink]\nkind = 'console'\n", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as err:
        load_sinks_config(path)
    assert err.value.file == str(path)
    with pytest.raises(ConfigError, match="file not found"):
        load_sinks_config(tmp_path / "nope.toml")
