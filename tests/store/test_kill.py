"""Killing the writer mid-run loses no alert whose append had returned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skyfence.store import EventLog
from tests.store.factories import T0, alert_rows

WRITER = Path(__file__).with_name("alert_writer.py")


@pytest.mark.parametrize(("commit_interval_s", "checkpoint_interval_s", "before_kill"),
                         [(0.0, 1.0, 40), (3600.0, 1.0, 40), (0.0, 0.001, 400),
                          (0.0, 0.0, 40)])
def test_sigkill_mid_run_loses_no_stored_alert(tmp_path: Path, commit_interval_s: float,
                                               checkpoint_interval_s: float,
                                               before_kill: int) -> None:
    """Each alert append returned before its id was printed; all must be in the log.

    The track update appended before each alert (a bulk row, committed without
    an fsync) survives too: a killed process leaves its committed WAL pages to
    the kernel.  With group commits it is committed with the alert.  With a
    background checkpointer running all the time (every millisecond) the kill
    lands in or between checkpoints; with none (0) the writer checkpoints.
    """
    path = tmp_path / "events.sqlite"
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path), str(commit_interval_s),
                             "1000000", str(checkpoint_interval_s)],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    printed: list[int] = []
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        while len(printed) < before_kill:
            line = proc.stdout.readline()
            assert line, f"writer ended early: {proc.stderr.read() if proc.stderr else ''}"
            printed.append(int(line))
        os.kill(proc.pid, signal.SIGKILL)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    printed += [int(x) for x in rest.split()]

    with EventLog(path) as log:                       # opens cleanly after the kill
        assert log.check() == ["ok"]
        ids = log.alerts()["alert_id"].tolist()
        missing = sorted(set(printed) - set(ids))
        assert not missing, f"alerts printed as stored but missing: {missing}"
        # stored in order, without holes; at most the one being appended was not printed
        assert ids == list(range(len(ids)))
        assert len(ids) - len(printed) in (0, 1)
        tracks = log.tracks()["track_id"].tolist()
        assert set(printed) <= set(tracks)
        # the log takes appends again
        log.append_alerts(alert_rows([10_000], 0, T0))
        assert 10_000 in log.alerts()["alert_id"].tolist()
        assert np.all(log.pending("webhook")[0]["alert_id"] == 0)
