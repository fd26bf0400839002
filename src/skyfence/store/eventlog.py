"""The durable event log: detections, track updates, airspace events, alerts, in SQLite.

One SQLite file in WAL mode holds everything a run produced, so the picture at
any past time can be rebuilt and every alert can be accounted for:

* ``detections``, ``tracks``, ``events``, ``alerts``: one row per record, the
  columns of :mod:`skyfence.model.schema` (tracks also the ``classify`` columns)
  plus any extra column a producer adds (kept in a column of its own);
* ``quarantine``: rows refused, with the reason and the row as JSON;
* ``track_spans``: per track, its first time, the time bucket of its latest
  row and, once its latest row is ``deleted``, that row's time.  Track rows
  are indexed by (time bucket of ``track_bucket_s`` seconds (in ``meta``; 8 for
  a new log, ``BUCKET_S``), ``track_id``, ``time``):
  a batch's index entries all land in the current bucket, a small region of
  the index, instead of one page per track across the whole index (which
  halved the append rate of a log of a million rows), and the picture at
  ``t`` costs about one index probe per track alive at ``t``;
* the delivery outbox (``deliveries``, ``delivery_failures``, ``sinks``): which
  alert revision reached which sink, and each sink's retry state;
* ``meta`` (schema version, name, creation time) and ``runs`` (one row per
  opening for writing).

Durability.  Every append commits before it returns (unless group commits
are asked for, below).  Bulk tables (detections, track updates, events,
quarantine, the delivery records) commit with ``synchronous=NORMAL``: the
commit writes its pages to the WAL file, which puts them in the operating
system's page cache, and returns without an fsync.  A *killed process*
(SIGKILL, a crash, an exception) therefore loses nothing that an append has
returned for: the kernel owns those pages and writes them out whatever happens
to the process, and the next opening recovers them from the WAL.  Only a
power cut or a kernel crash may lose the last commits (the WAL is fsync'd at
every checkpoint and every alert append, so at most the bulk rows since the
last of those).  :meth:`EventLog.append_alerts` commits with
``synchronous=FULL``: the WAL is fsync'd before it returns, so an alert (and
every row committed before it) is on disk, surviving a power cut, before any
sink can see it (sinks only ever read alerts back from the log).  With
``commit_interval_s > 0`` several bulk appends share one commit, and a killed
process loses at most that interval of bulk rows (never an alert).

Checkpoints.  The writer never checkpoints the WAL into the database itself
(``wal_autocheckpoint=0``): a background thread with a connection of its own
runs a ``PASSIVE`` checkpoint (which never waits for, nor blocks, the writer or
the readers) every ``checkpoint_interval_s`` while there are new commits.  A
checkpoint copies every page changed since the last one and fsyncs twice; in
the writer's commit it stalled an append for 80-140 ms every ~40 MB of WAL.
Crash safety is SQLite's: a checkpoint cut short by a kill is redone from the
WAL at the next opening.

Concurrency.  One process writes (the pipeline); any number may read at the
same time (``EventLog(path, readonly=True)``), WAL gives them a consistent
snapshot per query.  Track ids must be unique within one log: a pipeline that
restarts on an existing log must continue its track numbering.  An
``EventLog`` object may be shared between threads (a lock serialises calls).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sqlite3
import threading
import time as _time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote as url_quote

import numpy as np

from skyfence.errors import DataError, OutputError
from skyfence.model.schema import QUARANTINE_COLUMNS
from skyfence.store.tables import (
    QUARANTINE_TABLE_COLUMNS,
    SQL_TYPES,
    TABLES,
    Prepared,
    TableSpec,
    column_from_values,
    json_value,
    prepare,
    quote,
    row_record,
)

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "AppendResult", "EventLog", "SinkState"]

log = logging.getLogger("skyfence.store")

#: version of the tables' layout; a log of another version is refused with a clear error
SCHEMA_VERSION = 1
#: SQLite header application id of a SkyFence event log ("SkFL")
APPLICATION_ID = 0x536B464C

#: rows converted and inserted per chunk (bounds memory for very large batches)
_CHUNK_ROWS = 16_384
#: rows per INSERT statement (multi-row VALUES: fewer statement steps per row)
_ROWS_PER_STATEMENT = 64

#: seconds per bucket of the track index of a new log (rows are indexed by bucket,
#: track_id, time).  A log keeps the value it was created with (``meta.track_bucket_s``;
#: logs created before it was 8 have 64).  Each commit of a batch touches the index
#: pages of the current bucket that hold its tracks: 8-s buckets of 1,500 tracks span
#: ~12,000 entries, 64-s ones ~100,000, so a commit wrote ~2.5 MB of WAL instead of
#: ~1 MB, and an append cost ~5 ms more CPU.  The price is more probes for a track
#: with a gap in its updates (one per bucket of the gap) and one index range per bucket
#: of a track's life in ``track_history``.
BUCKET_S = 8


def _bucket_sql(bucket_s: int, column: str = "time") -> str:
    """The bucket of a track row, as SQL (the index expression; queries must use it
    verbatim)."""
    return f"CAST({column} / {int(bucket_s)} AS INTEGER)"


def _bucket(t: np.ndarray | float, bucket_s: int) -> np.ndarray:
    """Bucket of times, as SQLite computes ``_bucket_sql`` (division, truncation toward zero)."""
    return np.trunc(np.asarray(t, dtype=np.float64) / bucket_s).astype(np.int64)


_DELIVERED = "delivered"
_REJECTED = "rejected"


class AppendResult(NamedTuple):
    """What an append did: rows stored, rows refused into the quarantine."""

    stored: int
    quarantined: int


@dataclass(frozen=True)
class SinkState:
    """Delivery state of one sink, as the log records it.

    Attributes
    ----------
    name:
        The sink's name.
    failures:
        Consecutive failed attempts since the last delivery.
    next_attempt_time:
        Earliest time of the next attempt (UTC epoch s, the dispatcher's clock), or
        None when not backing off.
    last_error:
        Message of the last failure ("" if none).
    delivered, rejected, pending:
        Alert revisions delivered, rejected for good (undeliverable content) and
        still to deliver.
    """

    name: str
    failures: int
    next_attempt_time: float | None
    last_error: str
    delivered: int
    rejected: int
    pending: int


def _columns_sql(columns: dict[str, str]) -> str:
    return ", ".join(f"{quote(k)} {SQL_TYPES[v]}" for k, v in columns.items())


def _schema_sql() -> list[str]:
    t = TABLES
    return [
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE runs (run_id INTEGER PRIMARY KEY, opened_at REAL NOT NULL, "
        "name TEXT NOT NULL, pid INTEGER, host TEXT, skyfence_version TEXT)",
        "CREATE TABLE extra_columns (pos INTEGER PRIMARY KEY, tbl TEXT NOT NULL, "
        "name TEXT NOT NULL, dtype TEXT NOT NULL, UNIQUE (tbl, name))",
        f"CREATE TABLE detections (seq INTEGER PRIMARY KEY, "
        f"{_columns_sql(t['detections'].columns)})",
        "CREATE INDEX detections_time ON detections(time)",
        f"CREATE TABLE tracks (seq INTEGER PRIMARY KEY, {_columns_sql(t['tracks'].columns)})",
        f"CREATE INDEX tracks_bucket ON tracks({_bucket_sql(BUCKET_S)}, track_id, time)",
        "CREATE TABLE track_spans (track_id INTEGER PRIMARY KEY, first_time REAL NOT NULL, "
        "end_time REAL, last_bucket INTEGER NOT NULL)",
        f"CREATE TABLE events (seq INTEGER PRIMARY KEY, {_columns_sql(t['events'].columns)})",
        "CREATE INDEX events_time ON events(time)",
        "CREATE INDEX events_track ON events(track_id, time)",
        f"CREATE TABLE alerts (seq INTEGER PRIMARY KEY, {_columns_sql(t['alerts'].columns)}, "
        "stored_at REAL NOT NULL)",
        "CREATE UNIQUE INDEX alerts_id_rev ON alerts(alert_id, revision)",
        f"CREATE TABLE quarantine (seq INTEGER PRIMARY KEY, "
        f"{_columns_sql(QUARANTINE_TABLE_COLUMNS)})",
        "CREATE TABLE deliveries (sink TEXT NOT NULL, seq INTEGER NOT NULL, "
        "alert_id INTEGER NOT NULL, revision INTEGER NOT NULL, time REAL, "
        "status TEXT NOT NULL, error TEXT, PRIMARY KEY (sink, seq)) WITHOUT ROWID",
        "CREATE TABLE delivery_failures (id INTEGER PRIMARY KEY, sink TEXT NOT NULL, "
        "alert_id INTEGER, revision INTEGER, time REAL, error TEXT, next_attempt_time REAL)",
        "CREATE INDEX delivery_failures_sink ON delivery_failures(sink, id)",
        "CREATE TABLE sinks (sink TEXT PRIMARY KEY, upto INTEGER NOT NULL DEFAULT 0, "
        "failures INTEGER NOT NULL DEFAULT 0, next_attempt_time REAL, "
        "last_error TEXT NOT NULL DEFAULT '', last_failure_time REAL)",
    ]


_REQUIRED_TABLES = ("meta", "runs", "extra_columns", "detections", "tracks", "track_spans",
                    "events", "alerts", "quarantine", "deliveries", "delivery_failures", "sinks")


def _skyfence_version() -> str:
    try:
        from importlib.metadata import version

        return version("skyfence")
    except Exception:  # noqa: BLE001 - not installed: the source tree
        return "unknown"


class EventLog:
    """The durable event log of one deployment or run (an SQLite file in WAL mode).

    Parameters
    ----------
    path:
        The log file; created (with its tables) when it does not exist.
    name:
        Deployment or scenario name, recorded in ``meta`` (when the log is
        created) and in ``runs`` (each opening for writing).
    readonly:
        Open for reading only (a reader beside a running writer); the file must exist.
    busy_timeout_s:
        How long a statement waits for another connection's lock, seconds.
    checkpoint_interval_s:
        A writer's WAL is checkpointed into the database by a background thread
        this often (wall clock) while there are new commits; 0: by the writer
        itself in the commit that crosses SQLite's threshold (1,000 pages), as
        SQLite does by default.
    commit_interval_s:
        Group commits of the bulk tables: detections, track updates, events and
        quarantined rows appended within this many seconds (wall clock) share
        one transaction, committed by the first write after the interval, by
        an alert append (durably, with them), a delivery record,
        :meth:`flush` or :meth:`close`.  A commit costs about one index page
        per track it touches, so grouping several batches into one commit
        multiplies the rows per second; the price is that a killed process
        loses the bulk rows of the last interval (never an alert), and that
        other readers see them only once committed.  0 (default): every
        append commits.

    Raises
    ------
    DataError
        The file exists but is not a SkyFence event log (not SQLite, another
        application's database, another schema version, tables missing); the
        message names the file.
    OutputError
        The file cannot be created or opened for writing.
    """

    def __init__(self, path: str | Path, *, name: str = "", readonly: bool = False,
                 busy_timeout_s: float = 5.0, commit_interval_s: float = 0.0,
                 checkpoint_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.commit_interval_s = float(commit_interval_s)
        self.checkpoint_interval_s = float(checkpoint_interval_s)
        self._checkpointer: _Checkpointer | None = None
        self._commits = 0                          # commits so far (the checkpointer reads it)
        self._group_since: float | None = None    # monotonic start of the open group
        self._lock = threading.RLock()
        self._extras: dict[str, dict[str, str]] = {t: {} for t in TABLES}
        self.run_id: int | None = None
        self.bucket_s = BUCKET_S                   # the log's own, read when it is opened
        self._bsql = _bucket_sql(BUCKET_S)
        # per-track span cache (writer): sorted ids, first time, latest time, latest deleted
        self._span_ids = np.empty(0, np.int64)
        self._span_first = np.empty(0)
        self._span_last = np.empty(0)
        self._span_del = np.empty(0, bool)
        self._conn = self._connect(busy_timeout_s)
        try:
            self._open(name)
            if not readonly and self.checkpoint_interval_s > 0:
                self._checkpointer = _Checkpointer(self, busy_timeout_s)
                self._conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ opening

    def _connect(self, busy_timeout_s: float) -> sqlite3.Connection:
        if self.readonly:
            if not self.path.is_file():
                raise DataError(f"{self.path}: no such event log")
            uri = f"file:{url_quote(str(self.path.resolve()))}?mode=ro"
            target, uri_flag = uri, True
        else:
            if not self.path.parent.is_dir():
                raise OutputError(f"{self.path}: cannot create the event log: directory "
                                  f"{self.path.parent} does not exist")
            target, uri_flag = str(self.path), False
        try:
            return sqlite3.connect(target, uri=uri_flag, isolation_level=None,
                                   check_same_thread=False, timeout=busy_timeout_s,
                                   cached_statements=256)
        except sqlite3.Error as exc:
            cls = DataError if self.readonly else OutputError
            raise cls(f"{self.path}: cannot open the event log: {exc}") from None

    def _open(self, name: str) -> None:
        c = self._conn
        try:
            app_id = c.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in c.execute(
                "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: not a SkyFence event log (not an SQLite database: "
                            f"{exc})") from None
        if app_id == 0 and not tables:
            if self.readonly:
                raise DataError(f"{self.path}: empty file, not a SkyFence event log")
            self._create(name)
        else:
            self._check(app_id, tables)
        row = c.execute("SELECT value FROM meta WHERE key = 'track_bucket_s'").fetchone()
        self.bucket_s = int(row[0]) if row else 64
        self._bsql = _bucket_sql(self.bucket_s)
        if not self.readonly:
            try:
                c.execute("PRAGMA journal_mode=WAL")
                c.execute("PRAGMA synchronous=NORMAL")
                c.execute("PRAGMA cache_size=-65536")
                # checkpoint the WAL every ~40 MB rather than every 4 MB: one commit of
                # track updates dirties one index page per track
                c.execute("PRAGMA wal_autocheckpoint=10000")
                with self._transaction():
                    cur = c.execute(
                        "INSERT INTO runs(opened_at, name, pid, host, skyfence_version) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (_time.time(), name, os.getpid(), socket.gethostname(),
                         _skyfence_version()))
                    self.run_id = cur.lastrowid
            except sqlite3.Error as exc:
                raise OutputError(f"{self.path}: cannot open the event log for writing: "
                                  f"{exc}") from None
            self._load_spans()
        self._load_extras()

    def _create(self, name: str) -> None:
        c = self._conn
        try:
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("BEGIN IMMEDIATE")
            # another process may have created it between our check and the lock
            if c.execute("PRAGMA application_id").fetchone()[0] != 0:
                c.execute("ROLLBACK")
                tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master")]
                self._check(c.execute("PRAGMA application_id").fetchone()[0], tables)
                return
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            for stmt in _schema_sql():
                c.execute(stmt)
            c.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [
                ("schema_version", str(SCHEMA_VERSION)), ("name", name),
                ("track_bucket_s", str(BUCKET_S)),
                ("created_at", repr(_time.time())), ("skyfence_version", _skyfence_version()),
            ])
            c.execute("COMMIT")
        except sqlite3.Error as exc:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise OutputError(f"{self.path}: cannot create the event log: {exc}") from None

    def _check(self, app_id: int, tables: Sequence[str]) -> None:
        if app_id != APPLICATION_ID:
            if app_id == 0:
                shown = ", ".join(tables[:6]) + (", ..." if len(tables) > 6 else "")
                raise DataError(f"{self.path}: not a SkyFence event log (an SQLite database "
                                f"of another application, with tables: {shown})")
            raise DataError(f"{self.path}: not a SkyFence event log (SQLite application id "
                            f"0x{app_id & 0xFFFFFFFF:08X}, a SkyFence log has "
                            f"0x{APPLICATION_ID:08X})")
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise DataError(f"{self.path}: event log schema version {version}; this SkyFence "
                            f"reads version {SCHEMA_VERSION} (open it with the SkyFence "
                            "that wrote it, or start a new log)")
        missing = [t for t in _REQUIRED_TABLES if t not in tables]
        if missing:
            raise DataError(f"{self.path}: damaged SkyFence event log: table(s) "
                            f"{', '.join(missing)} missing")

    def _load_extras(self) -> None:
        extras: dict[str, dict[str, str]] = {t: {} for t in TABLES}
        for tbl, name, dtype in self._conn.execute(
                "SELECT tbl, name, dtype FROM extra_columns ORDER BY tbl, pos"):
            if tbl in extras:
                extras[tbl][name] = dtype
        self._extras = extras

    def _load_spans(self) -> None:
        rows = self._conn.execute(
            "SELECT s.track_id, s.first_time, s.end_time, "
            "CASE WHEN s.end_time IS NULL THEN "
            f"(SELECT MAX(time) FROM tracks t WHERE {self._bsql} = s.last_bucket "
            "AND t.track_id = s.track_id) END "
            "FROM track_spans s ORDER BY s.track_id").fetchall()
        if not rows:
            return
        ids, first, end, live_last = zip(*rows, strict=True)
        end_a = np.array(end, dtype=np.float64)
        self._span_ids = np.array(ids, dtype=np.int64)
        self._span_first = np.array(first, dtype=np.float64)
        self._span_del = ~np.isnan(end_a)
        self._span_last = np.where(self._span_del, end_a,
                                   np.array(live_last, dtype=np.float64))

    # ------------------------------------------------------------------ plumbing

    def flush(self) -> None:
        """Commit the bulk rows of an open group commit (see ``commit_interval_s``)."""
        with self._lock:
            if self._group_since is not None:
                self._commit_group("commit grouped rows")

    def close(self) -> None:
        """Commit what is pending and close the connection (idempotent).

        The background checkpointer is stopped first; closing the last
        connection checkpoints the WAL into the database.
        """
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        with self._lock:
            if self._conn is not None:
                try:
                    self.flush()
                finally:
                    self._conn.close()
                    self._conn = None  # type: ignore[assignment]

    def checkpoint(self) -> tuple[int, int, int]:
        """Checkpoint the WAL into the database now (``PASSIVE``: waits for nobody).

        Returns SQLite's ``(busy, wal_frames, checkpointed_frames)``.
        """
        with self._lock:
            row = self._writable().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return int(row[0]), int(row[1]), int(row[2])

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _c(self) -> sqlite3.Connection:
        if self._conn is None:
            raise OutputError(f"{self.path}: the event log is closed")
        return self._conn

    def _writable(self) -> sqlite3.Connection:
        c = self._c()
        if self.readonly:
            raise OutputError(f"{self.path}: the event log was opened read-only")
        return c

    def _error(self, what: str, exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
            return OutputError(f"{self.path}: cannot {what}: {exc}")
        return exc

    @contextmanager
    def _transaction(self, what: str = "write", durable: bool = False,
                     bulk: bool = False) -> Iterator[None]:
        """One write operation, atomic: rolled back on any error.

        Alone, it is its own transaction (BEGIN IMMEDIATE … COMMIT).  With group
        commits (``bulk`` and ``commit_interval_s > 0``, or a group already
        open) it is a savepoint inside the group's transaction, which is then
        committed if the interval has passed, or at once after a non-bulk
        operation.  ``durable``: its own transaction, committed with
        synchronous=FULL (the WAL is fsync'd, frames of an earlier group commit
        included) after committing any open group.
        """
        c = self._c()
        grouped = bulk and self.commit_interval_s > 0
        if durable and self._group_since is not None:
            # the safety level cannot change inside a transaction: commit the group
            # first; the durable commit's fsync then covers its WAL frames too
            self._commit_group(what)
        if self._group_since is None and not grouped:
            if durable:
                c.execute("PRAGMA synchronous=FULL")
            try:
                c.execute("BEGIN IMMEDIATE")
                yield
                c.execute("COMMIT")
                self._commits += 1
            except BaseException as exc:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                err = self._error(what, exc)
                if err is exc:
                    raise
                raise err from None
            finally:
                if durable:
                    c.execute("PRAGMA synchronous=NORMAL")
            return
        try:
            if self._group_since is None:
                c.execute("BEGIN IMMEDIATE")
                self._group_since = _time.monotonic()
            c.execute("SAVEPOINT op")
        except sqlite3.Error as exc:
            raise OutputError(f"{self.path}: cannot {what}: {exc}") from None
        try:
            yield
            c.execute("RELEASE op")
        except BaseException as exc:
            try:
                c.execute("ROLLBACK TO op")
                c.execute("RELEASE op")
            except sqlite3.Error:
                self._abort_group()
            err = self._error(what, exc)
            if err is exc:
                raise
            raise err from None
        if not grouped or _time.monotonic() - self._group_since >= self.commit_interval_s:
            self._commit_group(what)

    def _commit_group(self, what: str) -> None:
        try:
            self._c().execute("COMMIT")
            self._group_since = None
            self._commits += 1
        except sqlite3.Error as exc:
            self._abort_group()
            raise OutputError(f"{self.path}: cannot {what}: commit failed ({exc}); the rows "
                              "appended since the last commit are lost") from None

    def _abort_group(self) -> None:
        """Roll the group back and forget what this object remembered of it."""
        c = self._c()
        if c.in_transaction:
            c.execute("ROLLBACK")
        self._group_since = None
        self._load_extras()
        if not self.readonly:
            self._span_ids = np.empty(0, np.int64)
            self._span_first = np.empty(0)
            self._span_last = np.empty(0)
            self._span_del = np.empty(0, bool)
            self._load_spans()

    # ------------------------------------------------------------------ appends

    def append_detections(self, table: dict[str, np.ndarray]) -> AppendResult:
        """Store a batch of detections (``DETECTION_COLUMNS``; extras kept).

        Rows whose ``time`` is not finite go to the quarantine.  Required
        columns: ``time``, ``sensor_id``, ``kind``.
        """
        return self._append(TABLES["detections"], table)

    def append_tracks(self, table: dict[str, np.ndarray]) -> AppendResult:
        """Store a batch of track updates (``TRACK_COLUMNS`` and the ``classify`` columns).

        Extra columns are kept in columns of their own.  Rows with a non-finite
        ``time``, a ``track_id`` that is not an integer or an unknown ``status``
        go to the quarantine.  Required columns: ``time``, ``track_id``, ``status``.
        """
        return self._append(TABLES["tracks"], table)

    def append_events(self, table: dict[str, np.ndarray]) -> AppendResult:
        """Store a batch of airspace events (``EVENT_COLUMNS``)."""
        return self._append(TABLES["events"], table)

    def append_alerts(self, table: dict[str, np.ndarray]) -> AppendResult:
        """Store alert revisions (``ALERT_COLUMNS``, one row per revision), durably.

        The commit is fsync'd (``synchronous=FULL``) before this returns: a stored
        alert survives a killed process and a power cut.  A revision already
        stored (same ``alert_id`` and ``revision``) is refused into the
        quarantine with that reason, not stored twice.
        """
        return self._append(TABLES["alerts"], table, durable=True)

    def append_quarantine(self, table: dict[str, np.ndarray], source: str = "") -> int:
        """Keep refused input rows (``QUARANTINE_COLUMNS``; other columns kept as JSON).

        Parameters
        ----------
        table:
            Columns ``time``, ``sensor_id``, ``kind``, ``row``, ``reason`` (any
            may be missing except ``reason``); every other column is kept in the
            row's ``record`` (a JSON object).
        source:
            Where the rows were refused (e.g. ``"ingest"``).

        Returns
        -------
        int
            Rows stored.
        """
        spec = TableSpec("quarantine", dict(QUARANTINE_COLUMNS), ("reason",))
        with self._lock:
            c = self._writable()
            if not isinstance(table, Mapping):
                raise DataError("append_quarantine: expected a table (dict of column arrays); "
                                f"got {type(table).__name__}")
            sizes = {k: np.shape(v)[0] if np.ndim(v) == 1 else -1 for k, v in table.items()}
            if len(set(sizes.values())) > 1 or -1 in sizes.values():
                desc = ", ".join(f"{k}={v}" for k, v in sizes.items())
                raise DataError("append_quarantine: columns must be one-dimensional and of one "
                                f"length ({desc})")
            known = {k: v for k, v in table.items() if k in QUARANTINE_COLUMNS}
            extra = {k: v for k, v in table.items() if k not in QUARANTINE_COLUMNS}
            prep = prepare(spec, known, {})
            n = prep.n
            cols = {name: col for name, col in zip(prep.names, prep.columns, strict=True)}
            t = cols.get("time", np.full(n, np.nan))
            rows = [(float(t[i]), _s(cols, "sensor_id", i), _s(cols, "kind", i),
                     _i(cols, "row", i), _s(cols, "reason", i), source,
                     row_record(extra, i) if extra else "{}") for i in range(n)]
            with self._transaction("store quarantined rows", bulk=True):
                c.executemany(
                    "INSERT INTO quarantine(time, sensor_id, kind, \"row\", reason, source, "
                    "record) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            return n

    def _append(self, spec: TableSpec, table: dict[str, np.ndarray], *,
                durable: bool = False) -> AppendResult:
        with self._lock:
            c = self._writable()
            prep = prepare(spec, table, self._extras[spec.name])
            bad = prep.bad
            reasons = list(prep.reasons)
            if spec.name == "alerts":
                bad, reasons = self._refuse_stored_revisions(prep, bad, reasons)
            stored = prep.n - int(bad.sum())
            span_rows: list[tuple[Any, ...]] = []
            new_spans: tuple[np.ndarray, ...] | None = None
            if spec.name == "tracks" and stored:
                span_rows, new_spans = self._span_changes(prep, bad)
            with self._transaction(f"append {spec.name}", durable=durable,
                                   bulk=spec.name != "alerts"):
                for col, dtype in prep.new_extras.items():
                    c.execute(f"ALTER TABLE {quote(spec.name)} ADD COLUMN {quote(col)} "
                              f"{SQL_TYPES[dtype]}")
                    c.execute("INSERT INTO extra_columns(tbl, name, dtype) VALUES (?, ?, ?)",
                              (spec.name, col, dtype))
                if stored:
                    self._insert(c, spec.name, prep, bad)
                if bad.any():
                    self._insert_refused(c, spec.name, table, bad, reasons)
                if span_rows:
                    c.executemany(
                        "INSERT INTO track_spans(track_id, first_time, end_time, last_bucket) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT(track_id) DO UPDATE SET "
                        "first_time = excluded.first_time, end_time = excluded.end_time, "
                        "last_bucket = excluded.last_bucket", span_rows)
            # committed: only now update what this object remembers
            self._extras[spec.name].update(prep.new_extras)
            if new_spans is not None:
                (self._span_ids, self._span_first, self._span_last,
                 self._span_del) = new_spans
            nbad = prep.n - stored
            if nbad:
                log.warning("%s: %s: %d of %d rows quarantined (first: %s)", self.path,
                            spec.method, nbad, prep.n, reasons[0])
            return AppendResult(stored, nbad)

    def _refuse_stored_revisions(self, prep: Prepared, bad: np.ndarray,
                                 reasons: list[str]) -> tuple[np.ndarray, list[str]]:
        """Refuse alert rows whose (alert_id, revision) is stored already or repeated."""
        aid = prep.columns[prep.names.index("alert_id")]
        rev = prep.columns[prep.names.index("revision")]
        why = np.full(prep.n, "", dtype=object)
        why[bad] = reasons
        bad = bad.copy()
        seen: set[tuple[int, int]] = set()
        c = self._c()
        for i in np.flatnonzero(~bad):
            key = (int(aid[i]), int(rev[i]))
            if key in seen or c.execute("SELECT 1 FROM alerts WHERE alert_id = ? AND "
                                        "revision = ?", key).fetchone():
                bad[i] = True
                why[i] = f"alert {key[0]} revision {key[1]} is already stored"
            seen.add(key)
        return bad, why[bad].tolist()

    def _insert(self, c: sqlite3.Connection, tbl: str, prep: Prepared, bad: np.ndarray) -> None:
        """INSERT the rows kept, a multi-row statement at a time, in chunks."""
        # columns with nothing in them are not bound (NULL reads back as NaN or "")
        spec = TABLES[tbl]
        use = [i for i, name in enumerate(prep.names)
               if name in spec.required or not prep.empty(i)]
        names = [prep.names[i] for i in use]
        if bad.any():
            keep = ~bad
            columns = [prep.columns[i][keep] for i in use]
        else:
            columns = [prep.columns[i] for i in use]
        n = columns[0].shape[0]
        if tbl == "alerts":
            names.append("stored_at")
            columns = [*columns, np.full(n, _time.time())]
        ncol = len(names)
        one = "(" + ",".join("?" * ncol) + ")"
        head = f"INSERT INTO {quote(tbl)}({', '.join(quote(x) for x in names)}) VALUES "
        k = max(1, min(_ROWS_PER_STATEMENT, 32_000 // ncol))
        sql_k = head + ",".join([one] * k)
        sql_1 = head + one
        w = k * ncol
        for start in range(0, n, _CHUNK_ROWS):
            # the chunk row-major in one object array (numpy boxes each value as a Python
            # float, int or str), then one list: the parameters of statement i are a slice
            m = min(_CHUNK_ROWS, n - start)
            grid = np.empty((m, ncol), dtype=object)
            for j, col in enumerate(columns):
                grid[:, j] = col[start:start + m]
            flat = grid.reshape(-1).tolist()
            full = m // k
            if full:
                c.executemany(sql_k, (flat[i * w:(i + 1) * w] for i in range(full)))
            if full * k < m:
                c.executemany(sql_1, (flat[j:j + ncol]
                                      for j in range(full * w, m * ncol, ncol)))

    def _insert_refused(self, c: sqlite3.Connection, tbl: str, table: dict[str, Any],
                        bad: np.ndarray, reasons: list[str]) -> None:
        cols = {k: np.asarray(v) for k, v in table.items()}
        rows = []
        for i, reason in zip(np.flatnonzero(bad).tolist(), reasons, strict=True):
            t = json_value(cols["time"][i]) if "time" in cols else None
            try:
                tf = float(t) if t is not None else math.nan
            except (TypeError, ValueError):
                tf = math.nan
            rows.append((tf, _str_at(cols, "sensor_id", i), _str_at(cols, "kind", i), i,
                         reason, tbl, row_record(cols, i)))
        c.executemany("INSERT INTO quarantine(time, sensor_id, kind, \"row\", reason, source, "
                      "record) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def _span_changes(self, prep: Prepared, bad: np.ndarray
                      ) -> tuple[list[tuple[Any, ...]], tuple[np.ndarray, ...]]:
        """The track_spans rows a batch changes, and the span cache after it.

        Per track the log keeps its first time, the bucket of its latest row and,
        when its latest row (by time, then storage order) is ``deleted``, that
        row's time (``end_time``).  Only births, deaths, revivals and moves to a
        new bucket write a row, not every update.
        """
        keep = ~bad
        tid = prep.columns[prep.names.index("track_id")][keep]
        t = prep.columns[prep.names.index("time")][keep]
        deleted = prep.columns[prep.names.index("status")][keep] == "deleted"
        n = tid.size
        order = np.lexsort((np.arange(n), t, tid))
        s_id = tid[order]
        starts = np.flatnonzero(np.r_[True, s_id[1:] != s_id[:-1]])
        ends = np.r_[starts[1:], n] - 1
        u = s_id[starts]
        umin = t[order][starts]
        umax = t[order][ends]
        udel = deleted[order][ends]

        ids, first, last, dele = (self._span_ids, self._span_first, self._span_last,
                                  self._span_del)
        pos = np.searchsorted(ids, u)
        found = pos < ids.size
        found[found] = ids[pos[found]] == u[found]
        pe = pos[found]
        f_old, l_old, d_old = first[pe], last[pe], dele[pe]
        f_new = np.minimum(f_old, umin[found])
        later = umax[found] >= l_old
        l_new = np.where(later, umax[found], l_old)
        d_new = np.where(later, udel[found], d_old)
        b_new = _bucket(l_new, self.bucket_s)
        changed = ((f_new != f_old) | (d_new != d_old) | (d_new & (l_new != l_old))
                   | (b_new != _bucket(l_old, self.bucket_s)))
        first2, last2, dele2 = first.copy(), last.copy(), dele.copy()
        first2[pe], last2[pe], dele2[pe] = f_new, l_new, d_new

        rows: list[tuple[Any, ...]] = []
        ch = np.flatnonzero(changed)
        for tr, f0, l0, d0, b0 in zip(u[found][ch].tolist(), f_new[ch].tolist(),
                                      l_new[ch].tolist(), d_new[ch].tolist(),
                                      b_new[ch].tolist(), strict=True):
            rows.append((tr, f0, l0 if d0 else None, b0))
        nu = ~found
        if nu.any():
            at = pos[nu]
            ids = np.insert(ids, at, u[nu])
            first2 = np.insert(first2, at, umin[nu])
            last2 = np.insert(last2, at, umax[nu])
            dele2 = np.insert(dele2, at, udel[nu])
            for tr, f0, l0, d0, b0 in zip(u[nu].tolist(), umin[nu].tolist(),
                                          umax[nu].tolist(), udel[nu].tolist(),
                                          _bucket(umax[nu], self.bucket_s).tolist(),
                                          strict=True):
                rows.append((tr, f0, l0 if d0 else None, b0))
        return rows, (ids, first2, last2, dele2)

    # ------------------------------------------------------------------ queries

    def _columns_of(self, tbl: str) -> dict[str, str]:
        """Every data column of a table (schema, then extras), name → dtype."""
        if tbl == "quarantine":
            return dict(QUARANTINE_TABLE_COLUMNS)
        if not self.readonly:
            return TABLES[tbl].columns | self._extras[tbl]
        self._load_extras()   # a writer may have added columns since
        return TABLES[tbl].columns | self._extras[tbl]

    def _select(self, tbl: str, sql_tail: str, params: Sequence[Any] = (),
                alias: str = "") -> dict[str, np.ndarray]:
        with self._lock:
            c = self._c()
            cols = self._columns_of(tbl)
            prefix = f"{alias}." if alias else ""
            sel = ", ".join(prefix + quote(k) for k in cols)
            try:
                rows = c.execute(f"SELECT {sel} {sql_tail}", tuple(params)).fetchall()
            except sqlite3.Error as exc:
                raise DataError(f"{self.path}: cannot read {tbl}: {exc}") from None
        if not rows:
            return {k: column_from_values((), v) for k, v in cols.items()}
        values = list(zip(*rows, strict=True))
        return {k: column_from_values(v, dt)
                for (k, dt), v in zip(cols.items(), values, strict=True)}

    def picture_at(self, t: float, *, max_age_s: float | None = None) -> dict[str, np.ndarray]:
        """The picture at time ``t``: per track, its latest row at or before ``t``.

        Tracks whose latest row at or before ``t`` is ``deleted`` are left out,
        and so are tracks that had no row yet.  Rows at the same time: the one
        stored last wins (an out-of-sequence update refines the state it had).

        Parameters
        ----------
        t:
            Picture time, UTC epoch seconds.
        max_age_s:
            Also leave out tracks whose latest row is older than ``t - max_age_s``
            (a run that stopped without deleting its tracks).  None: no limit.

        Returns
        -------
        dict[str, np.ndarray]
            Track rows (``TRACK_COLUMNS``, the ``classify`` columns, extras), one
            per track, ordered by ``track_id``.
        """
        t = float(t)
        if not math.isfinite(t):
            raise DataError(f"picture_at: t must be a finite time (UTC epoch seconds); got {t}")
        bt = int(_bucket(t, self.bucket_s))
        latest = (f"SELECT seq FROM tracks WHERE {self._bsql} = ? AND track_id = ? AND time <= ? "
                  "ORDER BY time DESC, seq DESC LIMIT 1")
        with self._lock:
            c = self._c()
            # the tracks alive at t, each probed in the bucket of t (or of its latest row)
            rows = c.execute(
                "SELECT s.track_id, s.first_time, MIN(?, s.last_bucket) AS b, ("
                + latest.replace("= ? AND track_id = ?", "= MIN(?, s.last_bucket) AND "
                                 "track_id = s.track_id") + ") "
                "FROM track_spans s WHERE s.first_time <= ? "
                "AND (s.end_time IS NULL OR s.end_time > ?)", (bt, bt, t, t, t)).fetchall()
            seqs = [r[3] for r in rows if r[3] is not None]
            # a track with no row in that bucket (a gap in its updates): earlier buckets
            for tid, first, b, seq in rows:
                if seq is not None:
                    continue
                b0 = int(_bucket(first, self.bucket_s))
                while b > b0 and seq is None:
                    b -= 1
                    found = c.execute(latest, (b, tid, t)).fetchone()
                    seq = found[0] if found else None
                if seq is not None:
                    seqs.append(seq)
            where = "r.status <> 'deleted'"
            params: list[Any] = []
            if max_age_s is not None:
                where += " AND r.time >= ?"
                params.append(t - float(max_age_s))
            return self._select(
                "tracks", f"FROM tracks r JOIN json_each(?) j ON r.seq = j.value WHERE {where} "
                "ORDER BY r.track_id", [json.dumps(seqs), *params], alias="r")

    def track_history(self, track_id: int) -> dict[str, np.ndarray]:
        """Every row of one track, in time order (ties: storage order)."""
        with self._lock:
            span = self._c().execute("SELECT first_time, last_bucket FROM track_spans "
                                     "WHERE track_id = ?", (int(track_id),)).fetchone()
            if span is None:
                return self._select("tracks", "FROM tracks WHERE 0")
            # one index range per bucket the track lived in
            return self._select(
                "tracks", "FROM (WITH RECURSIVE b(x) AS (SELECT ? UNION ALL SELECT x + 1 "
                "FROM b WHERE x < ?) SELECT x FROM b) bk JOIN tracks r "
                f"ON {_bucket_sql(self.bucket_s, 'r.time')} = bk.x AND r.track_id = ? "
                "ORDER BY r.time, r.seq",
                (int(_bucket(span[0], self.bucket_s)), int(span[1]), int(track_id)),
                alias="r")

    def tracks(self, t0: float | None = None, t1: float | None = None
               ) -> dict[str, np.ndarray]:
        """Track rows with ``t0 <= time <= t1`` (None: open end), by time then storage."""
        where, params = _time_range(t0, t1)
        if t0 is not None:
            where += f" AND {self._bsql} >= ?"
            params.append(int(_bucket(t0, self.bucket_s)))
        if t1 is not None:
            where += f" AND {self._bsql} <= ?"
            params.append(int(_bucket(t1, self.bucket_s)))
        return self._select("tracks", f"FROM tracks{where} ORDER BY time, seq", params)

    def detections(self, t0: float | None = None, t1: float | None = None
                   ) -> dict[str, np.ndarray]:
        """Detections with ``t0 <= time <= t1`` (None: open end), in time order."""
        where, params = _time_range(t0, t1)
        return self._select("detections", f"FROM detections{where} ORDER BY time, seq", params)

    def events(self, t0: float | None = None, t1: float | None = None, *,
               track_id: int | None = None) -> dict[str, np.ndarray]:
        """Airspace events with ``t0 <= time <= t1`` (None: open end), in time order."""
        where, params = _time_range(t0, t1)
        if track_id is not None:
            where += (" AND" if where else " WHERE") + " track_id = ?"
            params.append(int(track_id))
        return self._select("events", f"FROM events{where} ORDER BY time, seq", params)

    def alerts(self, state: str | None = None, *, all_revisions: bool = False
               ) -> dict[str, np.ndarray]:
        """Alerts: the latest revision of each (by ``alert_id``), or every revision.

        Parameters
        ----------
        state:
            Keep only rows in this state (with the latest revision: alerts whose
            current state it is).
        all_revisions:
            Every revision in the order they were stored, instead of the latest.
        """
        where = ""
        params: list[Any] = []
        if all_revisions:
            if state is not None:
                where, params = " WHERE state = ?", [state]
            return self._select("alerts", f"FROM alerts{where} ORDER BY seq", params)
        if state is not None:
            where, params = " AND a.state = ?", [state]
        return self._select(
            "alerts", "FROM alerts a WHERE a.revision = (SELECT MAX(revision) FROM alerts b "
            f"WHERE b.alert_id = a.alert_id){where} ORDER BY a.alert_id", params, alias="a")

    def quarantine(self, source: str | None = None) -> dict[str, np.ndarray]:
        """Refused rows: ``QUARANTINE_COLUMNS`` plus ``source`` and ``record`` (JSON)."""
        where, params = ("", []) if source is None else (" WHERE source = ?", [source])
        return self._select("quarantine", f"FROM quarantine{where} ORDER BY seq", params)

    def meta(self) -> dict[str, str]:
        """The ``meta`` table (schema_version, name, created_at, skyfence_version)."""
        with self._lock:
            return dict(self._c().execute("SELECT key, value FROM meta").fetchall())

    def runs(self) -> list[dict[str, Any]]:
        """One dict per opening for writing: run_id, opened_at, name, pid, host."""
        with self._lock:
            cur = self._c().execute("SELECT run_id, opened_at, name, pid, host, "
                                    "skyfence_version FROM runs ORDER BY run_id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        """Rows per table (detections, tracks, events, alerts, quarantine)."""
        with self._lock:
            c = self._c()
            return {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                    for t in ("detections", "tracks", "events", "alerts", "quarantine")}

    def check(self) -> list[str]:
        """SQLite's ``quick_check``: ``['ok']`` for a sound file."""
        with self._lock:
            return [r[0] for r in self._c().execute("PRAGMA quick_check").fetchall()]

    def pragma(self, name: str) -> Any:
        """The value of a read-only PRAGMA (``journal_mode``, ``synchronous``, …)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._lock:
            row = self._c().execute(f"PRAGMA {name}").fetchone()
            return row[0] if row else None

    # ------------------------------------------------------------------ delivery outbox

    def _alert_dicts(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        cols = TABLES["alerts"].columns | self._current_extras("alerts")
        sel = ", ".join("a." + quote(k) for k in cols)
        rows = self._c().execute(f"SELECT {sel} {sql}", tuple(params)).fetchall()
        out = []
        for r in rows:
            d: dict[str, Any] = {}
            for (k, dt), v in zip(cols.items(), r, strict=True):
                if dt == "str":
                    v = "" if v is None else str(v)
                elif dt == "bool":
                    v = None if v is None else bool(v)
                elif dt == "float64" and v is not None:
                    v = float(v)
                d[k] = v
            out.append(d)
        return out

    def _current_extras(self, tbl: str) -> dict[str, str]:
        if self.readonly:
            self._load_extras()
        return self._extras[tbl]

    def _upto(self, sink: str) -> int:
        row = self._c().execute("SELECT upto FROM sinks WHERE sink = ?", (sink,)).fetchone()
        return int(row[0]) if row else 0

    def pending(self, sink_name: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Alert revisions stored but not yet delivered to (nor rejected by) a sink.

        Parameters
        ----------
        sink_name:
            The sink.
        limit:
            At most this many (the oldest); None: all.

        Returns
        -------
        list of dict
            One dict per revision in storage order, keys ``ALERT_COLUMNS`` (and
            extras); unknown numbers are None, unknown strings "".
        """
        with self._lock:
            upto = self._upto(sink_name)
            lim = -1 if limit is None else max(0, int(limit))
            return self._alert_dicts(
                "FROM alerts a WHERE a.seq > ? AND NOT EXISTS (SELECT 1 FROM deliveries d "
                "WHERE d.sink = ? AND d.seq = a.seq) ORDER BY a.seq LIMIT ?",
                (upto, sink_name, lim))

    def pending_count(self, sink_name: str) -> int:
        """How many alert revisions are pending for a sink."""
        with self._lock:
            upto = self._upto(sink_name)
            return int(self._c().execute(
                "SELECT COUNT(*) FROM alerts a WHERE a.seq > ? AND NOT EXISTS (SELECT 1 FROM "
                "deliveries d WHERE d.sink = ? AND d.seq = a.seq)",
                (upto, sink_name)).fetchone()[0])

    def _seq_of(self, alert_id: int, revision: int) -> int:
        row = self._c().execute("SELECT seq FROM alerts WHERE alert_id = ? AND revision = ?",
                                (int(alert_id), int(revision))).fetchone()
        if row is None:
            raise DataError(f"{self.path}: alert {alert_id} revision {revision} is not stored")
        return int(row[0])

    def _settle(self, sink: str, revisions: Sequence[tuple[int, int]], time: float,
                status: str, error: str | None) -> None:
        """Record revisions settled for a sink and advance its watermark: one commit."""
        c = self._writable()
        with self._transaction(f"record delivery to {sink}"):
            rows = [(sink, self._seq_of(aid, rev), int(aid), int(rev), float(time), status,
                     error) for aid, rev in revisions]
            c.executemany("INSERT INTO deliveries(sink, seq, alert_id, revision, time, status, "
                          "error) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
            c.execute("INSERT INTO sinks(sink) VALUES (?) ON CONFLICT DO NOTHING", (sink,))
            if status == _DELIVERED:
                c.execute("UPDATE sinks SET failures = 0, next_attempt_time = NULL "
                          "WHERE sink = ?", (sink,))
            # advance the watermark past every settled revision
            upto = self._upto(sink)
            nxt = c.execute("SELECT a.seq FROM alerts a WHERE a.seq > ? AND NOT EXISTS "
                            "(SELECT 1 FROM deliveries d WHERE d.sink = ? AND d.seq = a.seq) "
                            "ORDER BY a.seq LIMIT 1", (upto, sink)).fetchone()
            new = (int(nxt[0]) - 1 if nxt else
                   int(c.execute("SELECT COALESCE(MAX(seq), 0) FROM alerts").fetchone()[0]))
            if new != upto:
                c.execute("UPDATE sinks SET upto = ? WHERE sink = ?", (new, sink))

    def mark_delivered(self, sink_name: str, alert_id: int, revision: int, time: float) -> None:
        """Record that a sink received an alert revision (idempotent).

        Resets the sink's failure count and back-off.

        Parameters
        ----------
        sink_name:
            The sink.
        alert_id, revision:
            The revision delivered (must be stored).
        time:
            When, UTC epoch seconds (the dispatcher's clock).
        """
        with self._lock:
            self._settle(sink_name, [(alert_id, revision)], time, _DELIVERED, None)

    def mark_delivered_many(self, sink_name: str, revisions: Sequence[tuple[int, int]],
                            time: float) -> None:
        """Record that a sink received several alert revisions, in one commit (idempotent).

        As :meth:`mark_delivered` for each ``(alert_id, revision)``; all are recorded
        or none (a revision not stored raises :class:`~skyfence.errors.DataError`
        and records nothing).
        """
        if not revisions:
            return
        with self._lock:
            self._settle(sink_name, revisions, time, _DELIVERED, None)

    def mark_rejected(self, sink_name: str, alert_id: int, revision: int, error: str,
                      time: float) -> None:
        """Record that a sink can never take a revision (its content, not the receiver).

        The revision stops being pending for that sink (it would block the ones
        after it); the reason is kept in the delivery record.
        """
        with self._lock:
            self._settle(sink_name, [(alert_id, revision)], time, _REJECTED, str(error))

    def record_failure(self, sink_name: str, alert_id: int, revision: int, error: str,
                       next_attempt_time: float, *, time: float | None = None) -> int:
        """Record a failed attempt to deliver a revision to a sink.

        Parameters
        ----------
        sink_name:
            The sink.
        alert_id, revision:
            The revision that failed (it stays pending).
        error:
            What went wrong.
        next_attempt_time:
            Earliest time of the next attempt, UTC epoch seconds.
        time:
            When it failed (UTC epoch seconds); None: unknown.

        Returns
        -------
        int
            Consecutive failures of the sink, this one included.
        """
        with self._lock:
            c = self._writable()
            with self._transaction(f"record a failure of {sink_name}"):
                c.execute("INSERT INTO delivery_failures(sink, alert_id, revision, time, error, "
                          "next_attempt_time) VALUES (?, ?, ?, ?, ?, ?)",
                          (sink_name, int(alert_id), int(revision),
                           math.nan if time is None else float(time), str(error),
                           float(next_attempt_time)))
                c.execute("INSERT INTO sinks(sink) VALUES (?) ON CONFLICT DO NOTHING",
                          (sink_name,))
                c.execute("UPDATE sinks SET failures = failures + 1, next_attempt_time = ?, "
                          "last_error = ?, last_failure_time = ? WHERE sink = ?",
                          (float(next_attempt_time), str(error),
                           math.nan if time is None else float(time), sink_name))
                return int(c.execute("SELECT failures FROM sinks WHERE sink = ?",
                                     (sink_name,)).fetchone()[0])

    def sink_state(self, sink_name: str) -> SinkState:
        """A sink's delivery state (zeros for a sink never seen)."""
        with self._lock:
            c = self._c()
            row = c.execute("SELECT failures, next_attempt_time, last_error FROM sinks "
                            "WHERE sink = ?", (sink_name,)).fetchone()
            counts = dict(c.execute("SELECT status, COUNT(*) FROM deliveries WHERE sink = ? "
                                    "GROUP BY status", (sink_name,)).fetchall())
            failures, nxt, err = row if row else (0, None, "")
            return SinkState(sink_name, int(failures), None if nxt is None else float(nxt),
                             err or "", int(counts.get(_DELIVERED, 0)),
                             int(counts.get(_REJECTED, 0)), self.pending_count(sink_name))

    def sink_backoff(self, sink_name: str) -> tuple[int, float | None]:
        """A sink's consecutive failures and next attempt time (None: not backing off).

        What :meth:`sink_state` says of it, without counting the delivery record
        (which grows with the log): the dispatcher reads this every call.
        """
        with self._lock:
            row = self._c().execute("SELECT failures, next_attempt_time FROM sinks "
                                    "WHERE sink = ?", (sink_name,)).fetchone()
        if row is None:
            return 0, None
        return int(row[0]), None if row[1] is None else float(row[1])

    def deliveries(self, sink_name: str) -> dict[str, np.ndarray]:
        """The delivery record of a sink, in alert storage order.

        Columns ``alert_id``, ``revision``, ``time`` (delivered/rejected, UTC s),
        ``status`` (``delivered`` | ``rejected``), ``error``.
        """
        with self._lock:
            rows = self._c().execute(
                "SELECT alert_id, revision, time, status, error FROM deliveries "
                "WHERE sink = ? ORDER BY seq", (sink_name,)).fetchall()
        spec = {"alert_id": "int64", "revision": "int64", "time": "float64", "status": "str",
                "error": "str"}
        values = list(zip(*rows, strict=True)) if rows else [()] * len(spec)
        return {k: column_from_values(v, dt)
                for (k, dt), v in zip(spec.items(), values, strict=True)}

    def failures(self, sink_name: str) -> dict[str, np.ndarray]:
        """Every failed attempt of a sink: alert_id, revision, time, error, next_attempt_time."""
        with self._lock:
            rows = self._c().execute(
                "SELECT alert_id, revision, time, error, next_attempt_time FROM "
                "delivery_failures WHERE sink = ? ORDER BY id", (sink_name,)).fetchall()
        spec = {"alert_id": "int64", "revision": "int64", "time": "float64", "error": "str",
                "next_attempt_time": "float64"}
        values = list(zip(*rows, strict=True)) if rows else [()] * len(spec)
        return {k: column_from_values(v, dt)
                for (k, dt), v in zip(spec.items(), values, strict=True)}


#: passive checkpoints in a row before the checkpointer waits again
_CHECKPOINT_ROUNDS = 8
#: WAL frames (pages) beyond which the checkpointer restarts the WAL, making the writer wait
_RESTART_FRAMES = 16_384


class _Checkpointer:
    """Checkpoints a writer's WAL from a thread of its own, off the writer's path.

    Every ``checkpoint_interval_s`` it runs ``PRAGMA wal_checkpoint(PASSIVE)`` on
    a connection of its own when the writer committed since its last run.  The
    sqlite3 module releases the GIL while SQLite works, so the copy and its
    fsyncs overlap the pipeline.  A failed checkpoint is logged and tried again.
    """

    def __init__(self, log: EventLog, busy_timeout_s: float) -> None:
        # a weak reference: an EventLog dropped without close() is still collected
        # (its connection closed); the thread then ends
        self._log = weakref.ref(log)
        self._path = log.path
        self._interval = log.checkpoint_interval_s
        self._conn = sqlite3.connect(str(log.path), isolation_level=None,
                                     check_same_thread=False, timeout=busy_timeout_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="skyfence-checkpoint",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        done = -1
        try:
            while not self._stop.wait(self._interval):
                writer = self._log()
                if writer is None:
                    return
                commits = writer._commits
                del writer
                if commits == done:
                    continue
                try:
                    self._checkpoint()
                    done = commits
                except sqlite3.Error as exc:
                    log.warning("%s: background checkpoint failed (tried again): %s",
                                self._path, exc)
        finally:
            self._conn.close()

    def _checkpoint(self) -> None:
        """Checkpoint until the whole WAL is in the database, so the writer restarts it.

        The writer restarts the WAL from its beginning (and it stops growing) at
        its first transaction after a checkpoint that copied every frame.  A
        checkpoint copies the frames there were when it began; a writer that
        commits meanwhile leaves it incomplete, so it is repeated (each round
        has less to copy) a few times.  A writer working at 1-s batches pauses
        between them and a checkpoint completes in a pause; one that never
        pauses (a replay) would grow the WAL without end, so past
        ``_RESTART_FRAMES`` a ``RESTART`` checkpoint makes the writer wait
        while it copies what the passive rounds left (the transaction in
        flight: milliseconds) and the WAL restarts.
        """
        c = self._conn
        for _ in range(_CHECKPOINT_ROUNDS):
            _, frames, copied = c.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames <= 0 or copied >= frames or self._stop.is_set():
                break
        # frames: the WAL's length since it last restarted; after the passive rounds only
        # the frames of the writer's transaction in flight are left to copy
        if frames > _RESTART_FRAMES and not self._stop.is_set():
            c.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _time_range(t0: float | None, t1: float | None) -> tuple[str, list[Any]]:
    conds, params = [], []
    if t0 is not None:
        conds.append("time >= ?")
        params.append(float(t0))
    if t1 is not None:
        conds.append("time <= ?")
        params.append(float(t1))
    return (" WHERE " + " AND ".join(conds) if conds else ""), params


def _s(cols: dict[str, np.ndarray], name: str, i: int) -> str:
    col = cols.get(name)
    return "" if col is None else str(col[i])


def _i(cols: dict[str, np.ndarray], name: str, i: int) -> int:
    col = cols.get(name)
    if col is None:
        return -1
    v = float(col[i])
    return int(v) if math.isfinite(v) else -1


def _str_at(cols: dict[str, np.ndarray], name: str, i: int) -> str:
    col = cols.get(name)
    if col is None:
        return ""
    v = json_value(col[i])
    return "" if v is None else str(v)

