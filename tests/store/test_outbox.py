"""The delivery outbox: what each sink still has to receive, kept across restarts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skyfence.errors import DataError
from skyfence.store import EventLog
from tests.store.factories import T0, alert_rows


def _ids(rows: list[dict]) -> list[tuple[int, int]]:
    return [(r["alert_id"], r["revision"]) for r in rows]


def test_pending_in_storage_order_and_marking(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.sqlite") as log:
        assert log.pending("webhook") == []
        log.append_alerts(alert_rows([5, 3], 0, T0))
        log.append_alerts(alert_rows([5], 1, T0 + 1, state="escalated"))
        log.append_alerts(alert_rows([3], 1, T0 + 2, state="resolved"))
        assert _ids(log.pending("webhook")) == [(5, 0), (3, 0), (5, 1), (3, 1)]
        assert _ids(log.pending("webhook", limit=2)) == [(5, 0), (3, 0)]

        row = log.pending("webhook")[0]
        assert row["class"] == "drone_fixed_wing"
        assert row["cooperative_id"] == ""               # unknown strings: ""
        assert isinstance(row["time"], float)

        log.mark_delivered("webhook", 3, 0, T0 + 10)     # out of order is allowed
        assert _ids(log.pending("webhook")) == [(5, 0), (5, 1), (3, 1)]
        log.mark_delivered("webhook", 5, 0, T0 + 11)
        log.mark_delivered("webhook", 5, 0, T0 + 12)     # idempotent
        assert _ids(log.pending("webhook")) == [(5, 1), (3, 1)]
        assert _ids(log.pending("jsonl")) == [(5, 0), (3, 0), (5, 1), (3, 1)]   # per sink

        log.mark_rejected("webhook", 5, 1, "no position", T0 + 13)
        assert _ids(log.pending("webhook")) == [(3, 1)]
        st = log.sink_state("webhook")
        assert (st.delivered, st.rejected, st.pending) == (2, 1, 1)
        d = log.deliveries("webhook")
        assert d["alert_id"].tolist() == [5, 3, 5]
        assert d["status"].tolist() == ["delivered", "delivered", "rejected"]
        assert d["time"].tolist() == [T0 + 11, T0 + 10, T0 + 13]

        with pytest.raises(DataError, match="alert 9 revision 0 is not stored"):
            log.mark_delivered("webhook", 9, 0, T0)


def test_failures_and_backoff_state(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2], 0, T0))
        assert log.record_failure("tak", 1, 0, "connection refused", T0 + 1, time=T0) == 1
        assert log.record_failure("tak", 1, 0, "HTTP 500", T0 + 3, time=T0 + 1) == 2
        st = log.sink_state("tak")
        assert (st.failures, st.next_attempt_time, st.last_error) == (2, T0 + 3, "HTTP 500")
        assert st.pending == 2
        assert log.failures("tak")["error"].tolist() == ["connection refused", "HTTP 500"]
        log.mark_delivered("tak", 1, 0, T0 + 3)
        st = log.sink_state("tak")
        assert (st.failures, st.next_attempt_time, st.pending) == (0, None, 1)
        assert log.sink_state("never-seen").failures == 0


PENDING_SCRIPT = """
import json, sys
from skyfence.store import EventLog
with EventLog(sys.argv[1]) as log:
    st = log.sink_state("webhook")
    print(json.dumps({"pending": [[r["alert_id"], r["revision"]] for r in log.pending("webhook")],
                      "failures": st.failures, "next": st.next_attempt_time}))
"""


def test_outbox_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with EventLog(path) as log:
        log.append_alerts(alert_rows([1, 2, 3], 0, T0))
        log.mark_delivered("webhook", 1, 0, T0 + 1)
        log.record_failure("webhook", 2, 0, "HTTP 503", T0 + 5, time=T0 + 2)
    out = subprocess.run([sys.executable, "-c", PENDING_SCRIPT, str(path)], check=True,
                         capture_output=True, text=True, timeout=60)
    state = json.loads(out.stdout)
    assert state == {"pending": [[2, 0], [3, 0]], "failures": 1, "next": T0 + 5}


def test_mark_delivered_many_is_one_commit_all_or_nothing(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.sqlite") as log:
        log.append_alerts(alert_rows([1, 2, 3], 0, T0))
        log.mark_delivered_many("jsonl", [(1, 0), (2, 0)], T0 + 1)
        assert _ids(log.pending("jsonl")) == [(3, 0)]
        with pytest.raises(DataError, match="alert 9 revision 0 is not stored"):
            log.mark_delivered_many("jsonl", [(3, 0), (9, 0)], T0 + 2)
        assert _ids(log.pending("jsonl")) == [(3, 0)]        # nothing recorded
        log.mark_delivered_many("jsonl", [(3, 0), (1, 0)], T0 + 3)   # idempotent
        assert log.pending_count("jsonl") == 0
        assert log.deliveries("jsonl")["time"].tolist() == [T0 + 1, T0 + 1, T0 + 3]
        assert log.sink_backoff("jsonl") == (0, None)
        log.record_failure("jsonl", 3, 0, "down", next_attempt_time=T0 + 9, time=T0 + 4)
        assert log.sink_backoff("jsonl") == (1, T0 + 9)
        assert log.sink_backoff("never-seen") == (0, None)
