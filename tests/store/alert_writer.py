"""Appends alerts to an event log one by one, printing each alert id once its append returned.

Before each alert it appends one track update (track id = alert id).  Run by
test_kill.py, which SIGKILLs this process mid-run::

    python tests/store/alert_writer.py LOG COMMIT_INTERVAL_S [COUNT [CHECKPOINT_INTERVAL_S]]
"""

from __future__ import annotations

import sys

import numpy as np

from skyfence.model.schema import ALERT_COLUMNS, TRACK_COLUMNS
from skyfence.store import EventLog


def alert(alert_id: int) -> dict[str, np.ndarray]:
    row: dict[str, np.ndarray] = {}
    for k, v in ALERT_COLUMNS.items():
        row[k] = np.array([""]) if v == "str" else np.array([0], dtype=v)
    row.update(alert_id=np.array([alert_id]), revision=np.array([0]),
               time=np.array([1_753_668_000.0 + alert_id]), state=np.array(["raised"]),
               kind=np.array(["incursion"]), priority=np.array([1]),
               message=np.array([f"alert {alert_id}"]))
    return row


def track(track_id: int) -> dict[str, np.ndarray]:
    row: dict[str, np.ndarray] = {}
    for k, v in TRACK_COLUMNS.items():
        row[k] = np.array([""]) if v == "str" else np.array([0], dtype=v)
    row.update(time=np.array([1_753_668_000.0 + track_id]), track_id=np.array([track_id]),
               status=np.array(["confirmed"]))
    return row


def main() -> None:
    path = sys.argv[1]
    interval = float(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    checkpoint = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    with EventLog(path, name="kill-test", commit_interval_s=interval,
                  checkpoint_interval_s=checkpoint) as log:
        print("ready", flush=True)
        for i in range(count):
            log.append_tracks(track(i))
            log.append_alerts(alert(i))
            print(i, flush=True)


if __name__ == "__main__":
    main()
