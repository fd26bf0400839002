"""The event log on a real SQLite file: WAL, appends, the picture at past times, errors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from skyfence.errors import DataError, OutputError
from skyfence.model.schema import (
    CLASS_PROB_COLUMNS,
    DETECTION_COLUMNS,
    EVENT_COLUMNS,
    TRACK_COLUMNS,
)
from skyfence.store import APPLICATION_ID, SCHEMA_VERSION, AppendResult, EventLog
from tests.store.factories import T0, alert_rows, track_rows


@pytest.fixture
def log(tmp_path: Path):  # type: ignore[no-untyped-def]
    with EventLog(tmp_path / "events.sqlite", name="jonava-gerbera") as lg:
        yield lg


def test_new_log_is_wal_and_identified(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with EventLog(path, name="border-day") as lg:
        assert lg.pragma("journal_mode") == "wal"
        assert lg.meta()["name"] == "border-day"
        assert lg.meta()["schema_version"] == str(SCHEMA_VERSION)
        assert lg.runs()[0]["name"] == "border-day"
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"   # persistent
        assert raw.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()
    with EventLog(path, name="border-day-2") as lg:   # reopening: a second run
        assert [r["name"] for r in lg.runs()] == ["border-day", "border-day-2"]
        assert lg.meta()["name"] == "border-day"


def test_picture_at_few_tracks(log: EventLog) -> None:
    log.append_tracks(track_rows(T0, [1, 2, 3], "tentative"))
    log.append_tracks(track_rows(T0 + 1, [1, 2, 3], ["confirmed", "confirmed", "deleted"]))
    log.append_tracks(track_rows(T0 + 2, [1, 2], ["coasting", "deleted"]))
    log.append_tracks(track_rows(T0 + 3, [4], "tentative"))

    assert log.picture_at(T0 - 1)["track_id"].size == 0
    p = log.picture_at(T0 + 0.5)
    assert p["track_id"].tolist() == [1, 2, 3]
    assert p["status"].tolist() == ["tentative"] * 3
    p = log.picture_at(T0 + 1)                 # a row exactly at t counts; 3 is deleted
    assert p["track_id"].tolist() == [1, 2]
    assert p["time"].tolist() == [T0 + 1, T0 + 1]
    p = log.picture_at(T0 + 2.5)
    assert p["track_id"].tolist() == [1]
    assert p["status"].tolist() == ["coasting"]
    p = log.picture_at(T0 + 10)
    assert p["track_id"].tolist() == [1, 4]
    assert log.picture_at(T0 + 10, max_age_s=7.5)["track_id"].tolist() == [4]
    # every column comes back, with the schema's dtypes
    for k, dtype in (TRACK_COLUMNS | CLASS_PROB_COLUMNS).items():
        assert k in p
        assert p[k].dtype.kind == {"float64": "f", "int64": "i", "str": "O", "bool": "b"}[dtype]
    np.testing.assert_allclose(p["lat_deg"], track_rows(T0 + 2, [1], "x")["lat_deg"].tolist()
                               + track_rows(T0 + 3, [4], "x")["lat_deg"].tolist())


def _reference(rows: list[tuple[float, int, str, int]], t: float) -> dict[int, tuple[float, int]]:
    """Per track, the latest row at or before t (ties: the later stored), unless deleted."""
    latest: dict[int, tuple[float, int, str]] = {}
    for time, tid, status, tag in rows:
        if time <= t and (tid not in latest or time >= latest[tid][0]):
            latest[tid] = (time, tag, status)
    return {k: (v[0], v[1]) for k, v in sorted(latest.items()) if v[2] != "deleted"}


@pytest.mark.parametrize("created_with_bucket_s", [8, 64])
def test_picture_at_matches_brute_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        created_with_bucket_s: int) -> None:
    """Random batches with out-of-order rows, ties, deletions, revivals and gaps of several
    index buckets, across reopenings; also every track's history and time ranges.  A log
    keeps the bucket it was created with (64 s before new logs got 8 s), and its queries
    use its index."""
    from skyfence.store import eventlog

    rng = np.random.default_rng(7)
    path = tmp_path / "events.sqlite"
    with monkeypatch.context() as m:
        m.setattr(eventlog, "BUCKET_S", created_with_bucket_s)
        EventLog(path).close()
    with EventLog(path) as lg:
        assert lg.bucket_s == created_with_bucket_s
        assert lg.meta()["track_bucket_s"] == str(created_with_bucket_s)
        plan = " ".join(str(r) for r in lg._c().execute(
            f"EXPLAIN QUERY PLAN SELECT seq FROM tracks WHERE {lg._bsql} = ? AND track_id = ? "
            "AND time <= ?", (1, 2, 3.0)).fetchall())
        assert "tracks_bucket" in plan
    stored: list[tuple[float, int, str, int]] = []
    tag = 0
    statuses = np.array(["tentative", "confirmed", "coasting", "deleted"])
    for batch in range(8):
        with EventLog(path) as lg:        # reopened each batch: the span cache is reloaded
            n = int(rng.integers(1, 60))
            tid = rng.integers(0, 25, n)
            t = T0 + np.round(rng.uniform(0, 700, n))   # whole seconds: ties; ~11 buckets
            st = statuses[rng.choice(4, n, p=[0.2, 0.4, 0.15, 0.25])]
            tags = np.arange(tag, tag + n)
            tag += n
            res = lg.append_tracks(track_rows(t, tid, st, n_updates=tags))
            assert res == AppendResult(n, 0)
            stored += list(zip(t.tolist(), tid.tolist(), st.tolist(), tags.tolist(),
                               strict=True))
            for q in [T0 - 1, *np.unique(t).tolist(), *(T0 + rng.uniform(0, 701, 30)).tolist()]:
                ref = _reference(stored, q)
                got = lg.picture_at(q)
                assert got["track_id"].tolist() == list(ref), (batch, q)
                assert got["n_updates"].tolist() == [v[1] for v in ref.values()], (batch, q)
                assert got["time"].tolist() == [v[0] for v in ref.values()]
            for tr in range(25):
                ref_h = sorted((r[0], r[3]) for r in stored if r[1] == tr)
                h = lg.track_history(tr)
                assert list(zip(h["time"].tolist(), h["n_updates"].tolist(), strict=True)) \
                    == ref_h, (batch, tr)
            a, b = sorted(T0 + rng.uniform(0, 700, 2))
            ref_r = sorted((r[0], r[3]) for r in stored if a <= r[0] <= b)
            r = lg.tracks(a, b)
            assert list(zip(r["time"].tolist(), r["n_updates"].tolist(), strict=True)) == ref_r


def test_track_history_extras_and_classify_columns(log: EventLog) -> None:
    rows = track_rows([T0 + 2, T0, T0 + 1], [7, 7, 7], "confirmed",
                      truth_id=[3, 3, 3], note=["b", "a", "c"])
    rows |= {"p_bird": np.array([0.1, 0.2, np.nan]), "spoofed": np.array([True, False, True]),
             "cooperative_id": np.array(["", "4CA123", ""])}
    log.append_tracks(rows)
    log.append_tracks(track_rows(T0 + 3, [7], "coasting"))       # without the extras
    h = log.track_history(7)
    assert h["time"].tolist() == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert h["truth_id"].dtype == np.int64
    assert h["truth_id"].tolist() == [3, 3, 3, -1]                 # missing → -1
    assert h["note"].tolist() == ["a", "c", "b", ""]
    np.testing.assert_array_equal(h["p_bird"], [0.2, np.nan, 0.1, np.nan])
    assert h["spoofed"].tolist() == [False, True, True, False]
    assert h["cooperative_id"].tolist() == ["4CA123", "", "", ""]
    assert log.track_history(99)["time"].size == 0
    assert log.tracks(T0 + 1, T0 + 2)["time"].tolist() == [T0 + 1, T0 + 2]


def test_bad_rows_are_quarantined_not_dropped(log: EventLog) -> None:
    rows = track_rows([T0, np.nan, T0, T0], [1, 2, 3, 4],
                      ["confirmed", "confirmed", "exploded", "confirmed"])
    rows["track_id"] = np.array([1.0, 2.0, 3.0, 4.5])               # 4.5 is not an id
    res = log.append_tracks(rows)
    assert res == AppendResult(stored=1, quarantined=3)
    q = log.quarantine()
    assert q["source"].tolist() == ["tracks"] * 3
    assert q["row"].tolist() == [1, 2, 3]
    reasons = q["reason"].tolist()
    assert "time" in reasons[0] and "status" in reasons[1] and "track_id" in reasons[2]
    record = json.loads(q["record"][1])
    assert record["status"] == "exploded" and record["track_id"] == 3.0
    assert log.picture_at(T0)["track_id"].tolist() == [1]


@pytest.mark.parametrize(("table", "message"), [
    ({"time": np.zeros(2), "track_id": np.zeros(3), "status": np.full(2, "tentative")},
     "different lengths"),
    ({"time": np.zeros(2), "status": np.full(2, "tentative")}, "'track_id' is missing"),
    ({"time": np.array(["noon", "dusk"]), "track_id": np.zeros(2, int),
      "status": np.full(2, "tentative")}, "column 'time' must hold numbers"),
    ({"time": np.zeros(1), "track_id": np.zeros(1, int), "status": np.full(1, "tentative"),
      "seq": np.zeros(1)}, "reserves"),
    ({"time": np.zeros(1), "track_id": np.zeros(1, int), "status": np.full(1, "tentative"),
      "Lat_Deg": np.zeros(1)}, "only by case"),
    ([1, 2, 3], "expected a table"),
])
def test_malformed_batches_are_refused_whole(log: EventLog, table: object, message: str) -> None:
    with pytest.raises(DataError, match=message) as err:
        log.append_tracks(table)  # type: ignore[arg-type]
    assert "append_tracks" in str(err.value)
    assert log.counts()["tracks"] == 0


def test_not_a_skyfence_log(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_bytes(b"these are not the bytes of a database\n" * 200)
    with pytest.raises(DataError, match="not a SkyFence event log") as err:
        EventLog(junk)
    assert str(junk) in str(err.value)

    other = tmp_path / "other.db"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    raw.commit()
    raw.close()
    with pytest.raises(DataError, match=r"another application, with tables: users"):
        EventLog(other)

    app = tmp_path / "app.db"
    raw = sqlite3.connect(app)
    raw.execute("PRAGMA application_id = 1234")
    raw.execute("CREATE TABLE x (a)")
    raw.commit()
    raw.close()
    with pytest.raises(DataError, match="application id"):
        EventLog(app, readonly=True)

    with pytest.raises(DataError, match="no such event log"):
        EventLog(tmp_path / "missing.sqlite", readonly=True)
    with pytest.raises(OutputError, match="does not exist"):
        EventLog(tmp_path / "no-dir" / "events.sqlite")


def test_schema_version_mismatch_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    EventLog(path).close()
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(DataError, match=r"schema version 99; this SkyFence reads version 1") \
            as err:
        EventLog(path)
    assert str(path) in str(err.value)


def test_reader_while_writer_appends(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with EventLog(path) as writer:
        writer.append_tracks(track_rows(T0, [1, 2], "confirmed"))
        with EventLog(path, readonly=True) as reader:
            assert reader.picture_at(T0)["track_id"].tolist() == [1, 2]
            writer.append_tracks(track_rows(T0 + 1, [1, 3], ["deleted", "tentative"],
                                            quality=[0.5, 0.7]))
            p = reader.picture_at(T0 + 1)
            assert p["track_id"].tolist() == [2, 3]
            np.testing.assert_array_equal(p["quality"], [np.nan, 0.7])   # new extra seen
            with pytest.raises(OutputError, match="read-only"):
                reader.append_tracks(track_rows(T0, [5], "tentative"))
    writer.close()
    with pytest.raises(OutputError, match="closed"):
        writer.picture_at(T0)


def test_alert_revisions_latest_and_duplicates(log: EventLog) -> None:
    log.append_alerts(alert_rows([1, 2], 0, T0))
    log.append_alerts(alert_rows([1], 1, T0 + 5, state="escalated", priority=1))
    log.append_alerts(alert_rows([2], 1, T0 + 6, state="resolved"))
    res = log.append_alerts(alert_rows([1, 3, 3], [1, 0, 0], T0 + 7))
    assert res == AppendResult(stored=1, quarantined=2)    # 1/1 stored before, 3/0 twice
    assert log.quarantine("alerts")["reason"].tolist() == [
        "alert 1 revision 1 is already stored", "alert 3 revision 0 is already stored"]

    latest = log.alerts()
    assert latest["alert_id"].tolist() == [1, 2, 3]
    assert latest["revision"].tolist() == [1, 1, 0]
    assert latest["state"].tolist() == ["escalated", "resolved", "raised"]
    assert log.alerts("resolved")["alert_id"].tolist() == [2]
    every = log.alerts(all_revisions=True)
    assert list(zip(every["alert_id"].tolist(), every["revision"].tolist(), strict=True)) == [
        (1, 0), (2, 0), (1, 1), (2, 1), (3, 0)]
    assert every["message"][0] == "Drone crossed the border from BY (alert 1)"
    assert log.alerts("raised", all_revisions=True)["alert_id"].tolist() == [1, 2, 3]


def test_events_and_detections_by_time(log: EventLog) -> None:
    n = 6
    ev = {k: (np.full(n, "") if v == "str" else np.full(n, np.nan) if v == "float64"
              else np.zeros(n, np.int64)) for k, v in EVENT_COLUMNS.items()}
    ev.update(time=T0 + np.arange(n, dtype=float), track_id=np.array([1, 2, 1, 2, 1, 2]),
              kind=np.array(["border_entry", "zone_entry", "zone_exit", "border_exit",
                             "loiter", "zone_approach"]), country_to=np.full(n, "LT"))
    log.append_events(ev)
    got = log.events(T0 + 1, T0 + 4)
    assert got["kind"].tolist() == ["zone_entry", "zone_exit", "border_exit", "loiter"]
    assert log.events(track_id=1)["time"].tolist() == [T0, T0 + 2, T0 + 4]
    assert log.events(t0=T0 + 5)["kind"].tolist() == ["zone_approach"]

    m = 4
    det = {k: (np.full(m, "r1") if v == "str" else np.full(m, 1.5) if v == "float64"
               else np.full(m, -1, np.int64)) for k, v in DETECTION_COLUMNS.items()}
    det["time"] = T0 + np.array([3.0, 1.0, 2.0, 0.0])
    det["kind"] = np.full(m, "radar3d")
    det["snr_db"] = np.array([10.0, np.nan, 12.0, 13.0])
    det["clutter_map"] = np.array(["x", "y", "z", "w"], dtype=object)      # an extra
    assert log.append_detections(det) == AppendResult(4, 0)
    d = log.detections(T0 + 1, T0 + 3)
    assert d["time"].tolist() == [T0 + 1, T0 + 2, T0 + 3]
    assert d["clutter_map"].tolist() == ["y", "z", "x"]
    np.testing.assert_array_equal(d["snr_db"], [np.nan, 12.0, 10.0])
    assert d["truth_id"].tolist() == [-1, -1, -1]
    assert log.counts() == {"detections": 4, "tracks": 0, "events": 6, "alerts": 0,
                            "quarantine": 0}


def test_append_quarantine_keeps_the_row(log: EventLog) -> None:
    table = {"time": np.array([T0, np.nan]), "sensor_id": np.array(["r1", "df-2"]),
             "kind": np.array(["radar3d", "bearing"]), "row": np.array([12, 40]),
             "reason": np.array(["range_m is negative (-5.0)", "time is not finite"]),
             "range_m": np.array([-5.0, np.nan])}
    assert log.append_quarantine(table, source="ingest") == 2
    q = log.quarantine("ingest")
    assert q["sensor_id"].tolist() == ["r1", "df-2"]
    assert q["row"].tolist() == [12, 40]
    assert json.loads(q["record"][0]) == {"range_m": -5.0}
    assert json.loads(q["record"][1]) == {"range_m": None}
    assert np.isnan(q["time"][1])


def test_group_commit(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite"
    with EventLog(path, commit_interval_s=3600) as writer, \
            EventLog(path, readonly=True) as reader:
        writer.append_tracks(track_rows(T0, [1, 2], "confirmed"))
        assert writer.picture_at(T0)["track_id"].tolist() == [1, 2]     # its own rows
        assert reader.picture_at(T0)["track_id"].size == 0             # not committed yet
        writer.append_alerts(alert_rows([1], 0, T0))                    # commits, durably
        assert reader.picture_at(T0)["track_id"].tolist() == [1, 2]
        assert reader.alerts()["alert_id"].tolist() == [1]

        writer.append_tracks(track_rows(T0 + 1, [3], "tentative"))
        with pytest.raises(DataError, match="not stored"):             # fails inside the group
            writer.mark_delivered("webhook", 99, 0, T0)
        writer.append_tracks(track_rows(T0 + 2, [4], "tentative"))
        assert reader.picture_at(T0 + 2)["track_id"].tolist() == [1, 2]
        writer.flush()
        assert reader.picture_at(T0 + 2)["track_id"].tolist() == [1, 2, 3, 4]
        writer.append_tracks(track_rows(T0 + 3, [1], "deleted"))
    with EventLog(path, readonly=True) as reader:                       # close() committed
        assert reader.picture_at(T0 + 3)["track_id"].tolist() == [2, 3, 4]


def test_append_quarantine_refuses_ragged_columns(log: EventLog) -> None:
    with pytest.raises(DataError, match="one length"):
        log.append_quarantine({"reason": np.array(["a", "b"]), "x": np.zeros(3)})
    with pytest.raises(DataError, match="'reason' is missing"):
        log.append_quarantine({"time": np.zeros(2)})


def _wal_salt(path: Path) -> bytes:
    """Salt-1 of the WAL header: SQLite changes it each time the WAL restarts."""
    with open(path.with_name(path.name + "-wal"), "rb") as f:
        return f.read(32)[16:20]


def test_background_checkpoints_move_the_wal_and_restart_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer never checkpoints; a thread does, and restarts the WAL of a writer
    that never pauses (else the WAL would grow without end)."""
    from skyfence.store import eventlog

    monkeypatch.setattr(eventlog, "_RESTART_FRAMES", 32)
    path = tmp_path / "events.sqlite"
    with EventLog(path, checkpoint_interval_s=0.005) as log:
        assert log.pragma("wal_autocheckpoint") == 0
        ids = np.arange(200)
        salt0 = _wal_salt(path)
        in_db = 0
        t = T0
        for _ in range(20_000):           # stops long before, as soon as both are seen
            log.append_tracks(track_rows(t, ids, "confirmed"))
            t += 1.0
            if in_db == 0:
                # the database file alone (the WAL ignored) holds checkpointed rows
                raw = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
                try:
                    in_db = raw.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
                except sqlite3.DatabaseError:     # not even the schema copied yet
                    in_db = 0
                finally:
                    raw.close()
            if in_db and _wal_salt(path) != salt0:
                break
        assert in_db > 0
        assert _wal_salt(path) != salt0
        assert log.check() == ["ok"]
    with EventLog(path, readonly=True) as reader:
        assert reader.counts()["tracks"] == ids.size * round(t - T0)


def test_no_background_checkpoints(tmp_path: Path) -> None:
    with EventLog(tmp_path / "events.sqlite", checkpoint_interval_s=0) as log:
        assert log.pragma("wal_autocheckpoint") == 10_000
        log.append_tracks(track_rows(T0, [1], "confirmed"))
        busy, frames, copied = log.checkpoint()
        assert busy == 0 and copied == frames > 0


def test_a_log_dropped_without_close_ends_its_checkpointer(tmp_path: Path) -> None:
    import gc
    import threading
    import time

    def checkpointers() -> int:
        return sum(t.name == "skyfence-checkpoint" for t in threading.enumerate())

    before = checkpointers()
    log = EventLog(tmp_path / "events.sqlite", checkpoint_interval_s=0.01)
    log.append_tracks(track_rows(T0, [1], "confirmed"))
    assert checkpointers() == before + 1
    del log
    gc.collect()
    deadline = time.monotonic() + 30
    while checkpointers() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointers() == before
    with EventLog(tmp_path / "events.sqlite", readonly=True) as reader:
        assert reader.counts()["tracks"] == 1
