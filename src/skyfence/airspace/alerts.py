"""Alert lifecycle: one alert per incursion, revised as it evolves, never per scan.

:class:`AlertManager` consumes, once per pipeline step and in time order, the track
rows of the step (with classify's columns), the airspace events of the step and the
airspace engine's per-track picture, and emits *revisions*: rows of
``ALERT_COLUMNS``.  The caller stores every revision before any sink sees it (the
manager itself keeps only the open alerts).

Lifecycle
---------
``raised`` → ``acknowledged`` (an operator) → ``escalated`` (a rule) → ``resolved``;
``escalated`` → ``acknowledged`` when an operator acknowledges the escalation, and any
open state → ``resolved``.  Revision 0 is the raise; every later revision adds 1.

A revision is issued when the state changes, when the priority changes, when a new
track joins the alert, and at most every ``revisions.position_interval_s`` for a
track that moved (so an operator sees it move without a flood).  At most one revision
per alert per step.

Kinds
-----
* ``incursion``: a *threat* track (its alert class may alert, the alert classes
  together are at least ``threat.min_alert_prob`` probable and its score reaches
  ``threat.min_score``; :mod:`skyfence.airspace.threat`) has a ``border_entry``
  event (the crossing time and point and ``country_from`` come from the event), or is
  found inside the home country (``depth_m`` over ``threat.found_inside_min_depth_m``)
  with no alert for it yet: a track
  classified as a drone after it crossed raises then, with the crossing of its own
  earlier ``border_entry`` event if there was one (else NaN; a ``border_entry`` that
  arrives later fills them in, with a revision).  One per incursion: a
  track that has had an incursion alert raises no other until it has left the
  country (a ``border_exit``) and comes back.
* ``zone``: a threat track enters a zone (a ``zone_entry`` event) while it has no
  open incursion or zone alert.  **Choice:** when the track already has an open
  incursion alert, that alert is *escalated* instead (``escalation.on_zone_entry``)
  and names the zone; no second alert is raised.
* ``spoofed_remote_id``: a track's ``spoofed`` flag becomes true (once per track,
  whatever its class; ``spoofed_remote_id.alert``).

A *phantom* (``phantom_of`` ≥ 0: classify found this Remote-ID-only track to follow
the false claims of the drone on radar track ``phantom_of``) is no object: it never
raises, and an alert it raised before the spoof was found is resolved, naming the
drone's track (whose own alerts tell the operator of the incursion and the spoof).

Priority and escalation
-----------------------
Priority is the band of the threat score (:func:`~skyfence.airspace.threat.priority_band`),
with hysteresis: to drop to a lower priority the score must fall
``priority.hysteresis`` below the band.  An incursion alert *escalates* (state
``escalated``, priority raised by ``escalation.approach_boost`` levels) when its
track is predicted to reach a zone within ``escalation.time_to_zone_s`` (the
picture's ``time_to_zone_s`` or a ``zone_approach`` event), and again (by
``escalation.zone_boost``) when it enters a zone.  An escalation stands until the
alert resolves; priorities never go above 1.

Merging re-found tracks
-----------------------
When the track of an open alert is lost (a ``deleted`` row, ``coasting``, or no row
for ``resolve.silent_after_s``), a new track that may raise (its status in
``threat.raise_statuses`` and its alert class in ``threat.alert_classes``; any score)
and that follows no alert joins it when it is consistent with the old track's last
position and velocity (``[merge]`` rules): ``track_ids`` grows, ``track_id`` becomes
the new track's, and a revision says so.  The nearest candidate (distance over gate)
wins; each alert takes one track per step.  If the old track comes back to life
(``confirmed`` again) it is released and may raise its own alert.

Resolution
----------
An incursion alert resolves when its track has stayed out of the home country for
``resolve.after_exit_s`` (a zone alert: out of its zone); any alert resolves when its
track is gone (deleted, or silent for ``resolve.silent_after_s``) and the merge window
(``merge.time_s`` after the track's last update) has passed with no new track
joining.  Operators acknowledge and resolve with :meth:`AlertManager.acknowledge` and
:meth:`AlertManager.resolve`.

Bad input
---------
A table missing a column raises :class:`~skyfence.errors.DataError` naming the table
and the column.  Rows that cannot be used (non-finite time or position, no track id,
an unknown status or event kind) are refused: counted in ``stats.refused``, logged,
and kept in :attr:`AlertManager.quarantine` with the reason; the rest are processed.

Cost
----
The per-track screening of a step is vectorised: with thousands of tracks and no
alert, a step is a handful of numpy passes over the rows (string columns are compared
once each, and only the rows that pass the numeric filters are classed and scored);
Python runs only per open alert, per event and per alert raised.  The rows of the
followed tracks (one per open alert: hundreds in a busy sky) are gathered column by
column in one numpy pass each and handed to their alerts as tuples of Python values,
not read element by element.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skyfence.airspace.rules import RulesConfig
from skyfence.airspace.threat import (
    MISSING_ID,
    THREAT_TRACK_COLUMNS,
    Table,
    alerting_class,
    align_picture,
    read_columns,
    score_arrays,
    sure_enough,
)
from skyfence.errors import DataError, SkyFenceError
from skyfence.geo.geodesy import geodetic2enu, small_offset_deg
from skyfence.model.schema import ALERT_COLUMNS, CLASSIFY_CLASSES, EVENT_KINDS, TRACK_STATUSES

__all__ = [
    "ALERT_EVENT_COLUMNS",
    "ALERT_TRACK_COLUMNS",
    "AlertError",
    "AlertManager",
    "AlertStats",
    "empty_alerts",
]

log = logging.getLogger(__name__)

#: a track last seen within this distance of the home border (either side: one just over
#: the line may not be decisively inside yet) keeps its latest row in memory, for a border
#: entry predicted before its next row (:meth:`AlertManager._recall`)
_RECENT_DEPTH_M = 1000.0
#: ... for this long after that row, s (the airspace engine predicts at most 2 s ahead)
_RECENT_S = 10.0
#: a revision shows its track where it is at the revision's time, carried along its
#: velocity from its last update when that is at most this old, s (older: where it was)
_CARRY_S = 5.0

#: track columns the alert manager reads (TRACK_COLUMNS' and classify's)
ALERT_TRACK_COLUMNS: dict[str, str] = {
    "time": "float64",
    "status": "str",
    "lat_deg": "float64",
    "lon_deg": "float64",
    "alt_m": "float64",
    "n_updates": "int64",
    "phantom_of": "int64",
    **THREAT_TRACK_COLUMNS,
}

#: event columns the alert manager reads (of EVENT_COLUMNS)
ALERT_EVENT_COLUMNS: dict[str, str] = {
    "time": "float64",
    "track_id": "int64",
    "kind": "str",
    "lat_deg": "float64",
    "lon_deg": "float64",
    "country_from": "str",
    "country_to": "str",
    "zone_id": "str",
    "time_to_zone_s": "float64",
    "depth_m": "float64",
}

_THREAT_KINDS = ("incursion", "zone")
_QUARANTINE_MAX = 10_000
_CLASS_LABELS = {
    "drone_fixed_wing": ("Drone", "fixed-wing"),
    "drone_rotary": ("Drone", "rotary"),
    "balloon": ("Balloon", ""),
    "bird": ("Bird", ""),
    "aircraft": ("Aircraft", ""),
    "clutter": ("Clutter", ""),
}

Callback = Callable[[dict[str, np.ndarray]], Any]


class AlertError(SkyFenceError):
    """An operator action names an alert that does not exist or is already resolved."""


@dataclass
class AlertStats:
    """Counters of an :class:`AlertManager` since it was built."""

    steps: int = 0
    raised: Counter[str] = field(default_factory=Counter)      # per alert kind
    revisions: int = 0
    merged: int = 0
    recalled: int = 0       # rows recalled for a predicted border entry (no row that step)
    resolved: Counter[str] = field(default_factory=Counter)    # per reason
    refused: Counter[str] = field(default_factory=Counter)     # input rows, per reason
    store_failures: int = 0


@dataclass
class _Alert:
    """The live state of one open alert (alerts are few: plain Python objects)."""

    alert_id: int
    kind: str
    track_id: int
    track_ids: list[int]
    state: str = "raised"
    revision: int = -1
    level: int = 0                  # escalation: 0 none, 1 approaching a zone, 2 in a zone
    band: int = 4                   # priority band of the score (before escalation)
    priority: int = 4
    score: float = math.nan
    cls: str = ""
    cls_prob: float = math.nan
    coop_id: str = ""
    lat: float = math.nan
    lon: float = math.nan
    alt: float = math.nan
    ve: float = math.nan
    vn: float = math.nan
    t_last: float = math.nan        # time of the track's last live row
    t_seen: float = math.nan        # time of its last row of any status
    status: str = ""
    gone: bool = False              # the track was deleted
    crossing_time: float = math.nan
    crossing_lat: float = math.nan
    crossing_lon: float = math.nan
    country_from: str = ""
    country: str = ""
    depth: float = math.nan
    zone_id: str = ""               # nearest threatened zone
    alert_zone: str = ""            # a zone alert: the zone it is about
    in_zone: str = ""
    ttz: float = math.nan
    loiter: bool = False
    exited_since: float | None = None
    exit_to: str = ""
    last_emit: float = -math.inf
    moved: bool = False
    raised_step: int = -1
    force: str = ""                 # a note that forces a revision this step
    last_row: dict[str, Any] = field(default_factory=dict)


_EMPTY = {k: np.empty(0, dtype=str if dt == "str" else dt) for k, dt in ALERT_COLUMNS.items()}


def empty_alerts() -> dict[str, np.ndarray]:
    """A table of zero alert revisions with the columns and dtypes of ``ALERT_COLUMNS``
    (a new dict; its zero-length arrays are shared)."""
    return dict(_EMPTY)


def _table(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    if not rows:
        return empty_alerts()
    return {k: np.array([r[k] for r in rows], dtype=str if dt == "str" else dt)
            for k, dt in ALERT_COLUMNS.items()}


def _concat(tables: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    tables = [t for t in tables if t["alert_id"].size]
    if not tables:
        return empty_alerts()
    if len(tables) == 1:
        return tables[0]
    return {k: np.concatenate([t[k] for t in tables]) for k in ALERT_COLUMNS}


def _member(ids: NDArray[np.int64], sorted_ids: NDArray[np.int64]) -> NDArray[np.bool_]:
    """``np.isin(ids, sorted_ids)`` for a sorted, unique ``sorted_ids`` (often empty)."""
    if sorted_ids.size == 0:
        return np.zeros(ids.shape, bool)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    return sorted_ids[pos] == ids


def _ids(values: Any) -> NDArray[np.int64]:
    return np.array(sorted(values), dtype=np.int64)


class AlertManager:
    """Raises, revises, merges and resolves alerts from each step's tracks and events.

    Parameters
    ----------
    rules : RulesConfig
        Alert rules (:func:`skyfence.airspace.rules.load_rules`).
    store_callback : callable, optional
        Called with every non-empty table of revisions (of :meth:`step` and of the
        operator actions) before it is returned.  If it raises, the revisions are kept
        and offered to it again, first, at the next call (the error is logged and
        counted in ``stats.store_failures``); the new revisions are returned either way
        (an operator must be warned even when the store is down).
    zone_names : mapping of str to str, optional
        Zone id → display name for the messages (a name's parenthesised tail is
        dropped); default: the zone id.
    first_alert_id : int
        Id of the first alert raised (a restarted pipeline passes one above the
        store's largest).

    Notes
    -----
    The rules of the lifecycle are in the module docstring.
    """

    def __init__(self, rules: RulesConfig, store_callback: Callback | None = None,
                 zone_names: Mapping[str, str] | None = None, first_alert_id: int = 1) -> None:
        self.rules = rules
        self.store_callback = store_callback
        self.zone_names = {k: str(v).split(" (")[0] for k, v in (zone_names or {}).items()}
        self.stats = AlertStats()
        #: refused input rows: dicts with ``table``, ``row``, ``track_id``, ``time``, ``reason``
        self.quarantine: deque[dict[str, Any]] = deque(maxlen=_QUARANTINE_MAX)
        self._next_id = int(first_alert_id)
        self._open: dict[int, _Alert] = {}
        self._resolved: set[int] = set()
        self._follow: dict[int, set[int]] = {}        # track id → open alert ids
        self._incursion_done: set[int] = set()       # tracks with (or after) a threat alert
        self._spoof_done: set[int] = set()
        self._merged_away: set[int] = set()          # old tracks whose alert moved on
        self._crossings: dict[int, tuple[float, float, float, str]] = {}
        self._arrays_dirty = True
        self._followed_arr = np.empty(0, np.int64)
        self._blocked_arr = np.empty(0, np.int64)
        self._spoof_arr = np.empty(0, np.int64)
        self._merged_arr = np.empty(0, np.int64)
        self._seen_id = np.empty(0, np.int64)         # sorted track ids seen
        self._seen_first = np.empty(0, np.float64)
        self._seen_last = np.empty(0, np.float64)
        # the latest row (and picture) of each track just outside that may raise
        self._recent: dict[str, np.ndarray] | None = None
        self._recent_pic: dict[str, np.ndarray] | None = None
        self._unstored: list[dict[str, np.ndarray]] = []
        self._out: list[dict[str, Any]] = []
        self._now = -math.inf
        self._step_no = 0

    # ------------------------------------------------------------------ public
    def step(self, tracks: Table, events: Table | None, picture: Table | None,
             now: float) -> dict[str, np.ndarray]:
        """Process one pipeline step and return the alert revisions it caused.

        Parameters
        ----------
        tracks : table
            Track rows of this step: ``TRACK_COLUMNS`` (at least ``time``,
            ``track_id``, ``status``, ``lat_deg``, ``lon_deg``, ``alt_m``,
            ``vel_east_mps``, ``vel_north_mps``, ``class``, ``class_prob``) and
            classify's ``p_<class>``, ``cooperative_id``, ``spoofed``.  Several rows of
            one track: the latest counts (a ``deleted`` row among them deletes it).
        events : table or None
            Airspace events of this step (``EVENT_COLUMNS``; None or ``{}``: none).
        picture : table or None
            The airspace engine's per-track picture (``track_id``, ``country``,
            ``depth_m``, ``in_zone``, ``zone_id`` (or ``threatened_zone_id``),
            ``time_to_zone_s``, ``time_to_zone_sigma_s``, ``distance_to_zone_m``;
            extra columns ignored); None: no picture (events alone then drive it).
        now : float
            Time of the step (the picture's time), UTC epoch seconds; not earlier
            than the previous step's.

        Returns
        -------
        dict of str to ndarray
            New revisions, rows of ``ALERT_COLUMNS`` (exact columns and dtypes).

        Raises
        ------
        DataError
            A table lacks a column or has unreadable values (named in the message), or
            ``now`` is not finite or goes back in time.
        """
        now = float(now)
        if not math.isfinite(now):
            raise DataError(f"AlertManager.step: now must be finite UTC seconds, got {now}")
        if now < self._now:
            raise DataError(f"AlertManager.step: now = {now:.3f} is before the previous "
                            f"step's {self._now:.3f} (steps must come in time order)")
        rows, deleted, may_raise = self._read_tracks(tracks)
        ev = self._read_events(events)
        pic = align_picture(picture, rows["track_id"])
        rows, deleted, may_raise, pic = self._recall(rows, deleted, may_raise, ev, pic, now)
        self._now = now                  # only once the inputs are known to be usable
        self._step_no += 1
        self.stats.steps += 1
        self._step(rows, deleted, may_raise, ev, pic, now)
        out, self._out = self._out, []
        return self._deliver(_table(out))

    def acknowledge(self, alert_id: int, operator: str, now: float) -> dict[str, np.ndarray]:
        """An operator acknowledges an open alert.

        Parameters
        ----------
        alert_id : int
            The alert.
        operator : str
            Who acknowledged it (named in the message).
        now : float
            Time of the action, UTC epoch seconds (the revision's time).

        Returns
        -------
        dict of str to ndarray
            The new revision (one row of ``ALERT_COLUMNS``), or zero rows when the alert
            is already acknowledged.

        Raises
        ------
        AlertError
            No such alert, or it is resolved.
        """
        a = self._get_open(alert_id)
        if a.state == "acknowledged":
            return empty_alerts()
        a.state = "acknowledged"
        self._emit(a, float(now), prefix=f"Acknowledged by {operator or 'operator'}")
        out, self._out = self._out, []
        return self._deliver(_table(out))

    def resolve(self, alert_id: int, now: float, reason: str) -> dict[str, np.ndarray]:
        """An operator resolves an open alert.

        The track is not alerted again for the same incursion (it raises again only
        after it has left the country and comes back).

        Parameters
        ----------
        alert_id : int
            The alert.
        now : float
            Time of the action, UTC epoch seconds.
        reason : str
            Why (named in the message).

        Returns
        -------
        dict of str to ndarray
            The ``resolved`` revision (one row of ``ALERT_COLUMNS``).

        Raises
        ------
        AlertError
            No such alert, or it is already resolved.
        """
        a = self._get_open(alert_id)
        self._close(a, float(now), f"by operator: {reason}" if reason else "by operator",
                    release=False)
        out, self._out = self._out, []
        return self._deliver(_table(out))

    def open_alerts(self) -> dict[str, np.ndarray]:
        """The latest revision of every open alert (for a client that connects late)."""
        return _table([a.last_row for a in sorted(self._open.values(),
                                                  key=lambda a: a.alert_id) if a.last_row])

    @property
    def pending_store(self) -> int:
        """Revision tables the store callback has not yet taken."""
        return len(self._unstored)

    # ------------------------------------------------------------------ inputs
    def _refuse(self, which: str, bad: NDArray[np.bool_], reason: NDArray[np.str_],
                track_id: NDArray[np.int64], time: NDArray[np.float64]) -> None:
        idx = np.flatnonzero(bad)
        counts = Counter(reason[idx].tolist())
        for r, c in counts.items():
            self.stats.refused[f"{which}: {r}"] += c
        for i in idx.tolist():
            self.quarantine.append({"table": which, "row": i, "track_id": int(track_id[i]),
                                    "time": float(time[i]), "reason": str(reason[i])})
        log.warning("alerts: refused %d %s rows (%s)", idx.size, which,
                    ", ".join(f"{r}: {c}" for r, c in counts.items()))

    def _read_tracks(self, tracks: Table) -> tuple[dict[str, np.ndarray], NDArray[np.bool_],
                                                   NDArray[np.bool_]]:
        """Validated track rows, one per track (the latest), sorted by track id; with the
        masks ``deleted`` (a deleted row among the track's rows) and ``may_raise`` (its
        status is one of ``threat.raise_statuses``)."""
        cols = read_columns(tracks, ALERT_TRACK_COLUMNS, "track", optional=True)
        tid, t, st = cols["track_id"], cols["time"], cols["status"]
        # string comparisons are the costly part: each status is compared once, and
        # the rows neither confirmed nor deleted (few) are checked against the rest
        deleted = st == "deleted"
        confirmed = st == "confirmed"
        other = np.flatnonzero(~(deleted | confirmed))
        raise_st = self.rules.threat.raise_statuses
        may_raise = confirmed.copy() if "confirmed" in raise_st else np.zeros(tid.shape, bool)
        bad_status = np.zeros(tid.shape, bool)
        if other.size:
            so = st[other]
            bad_status[other] = ~np.isin(so, TRACK_STATUSES)
            may_raise[other] = np.isin(so, raise_st)
        lat, lon = cols["lat_deg"], cols["lon_deg"]
        checks = (
            (~np.isfinite(t), "time is not finite"),
            (tid == MISSING_ID, "track_id is missing"),
            (~(np.abs(lat) <= 90.0), "lat_deg is not a latitude"),
            (~(np.abs(lon) <= 180.0), "lon_deg is not a longitude"),
            (bad_status, "status is not one of " + ", ".join(TRACK_STATUSES)),
        )
        bad = checks[0][0].copy()
        for mask, _ in checks[1:]:
            bad |= mask
        if bad.any():
            reason = np.full(tid.shape, "", dtype=object)
            for mask, why in checks[::-1]:          # the first failed check is named
                reason[mask] = why
            self._refuse("track", bad, reason.astype(str), tid, t)
            keep = ~bad
            cols = {k: v[keep] for k, v in cols.items()}
            deleted, may_raise = deleted[keep], may_raise[keep]
            tid, t = cols["track_id"], cols["time"]
        if tid.size > 1 and not bool(np.all(tid[1:] > tid[:-1])):
            order = np.lexsort((t, tid))                 # stable: ties keep input order
            sid = tid[order]
            start = np.ones(sid.size, bool)
            start[1:] = sid[1:] != sid[:-1]
            last = np.ones(sid.size, bool)
            last[:-1] = start[1:]
            deleted = np.logical_or.reduceat(deleted[order], np.flatnonzero(start))
            take = order[last]
            cols = {k: v[take] for k, v in cols.items()}
            may_raise = may_raise[take] & ~deleted
        # a phantom of a spoofed Remote ID is no object: it never raises (its drone does)
        may_raise &= ~(cols["phantom_of"] >= 0)
        return cols, deleted, may_raise

    def _recall(self, rows: dict[str, np.ndarray], deleted: NDArray[np.bool_],
                may_raise: NDArray[np.bool_], ev: dict[str, np.ndarray],
                pic: dict[str, np.ndarray], now: float
                ) -> tuple[dict[str, np.ndarray], NDArray[np.bool_], NDArray[np.bool_],
                           dict[str, np.ndarray]]:
        """Rows for border entries of tracks with no row in this step, from memory.

        The airspace engine declares an entry from a track's prediction to the feed clock
        when the track has not been updated since (a radar missed it at the line, a slow or
        late sensor has not reported yet): the step then holds the event but no row of the
        track. The manager keeps the latest row, and picture, of every track that may raise
        and was last seen within :data:`_RECENT_DEPTH_M` of the home border (either side),
        for :data:`_RECENT_S`; such a track's remembered row joins the step, its picture
        saying what the event says (over the home country, the predicted depth), so the
        entry raises now. The cache is refreshed from this step's own rows first (a track
        with a row this step is not recalled).
        """
        tid = rows["track_id"]
        depth = pic["depth_m"]
        with np.errstate(invalid="ignore"):
            near = may_raise & (np.abs(depth) <= _RECENT_DEPTH_M)
        old, old_pic = self._recent, self._recent_pic
        if old is not None and old_pic is not None and old["track_id"].size:
            fresh = now - old["time"] <= _RECENT_S
            if not fresh.all():
                old = {k: v[fresh] for k, v in old.items()}
                old_pic = {k: v[fresh] for k, v in old_pic.items()}
        take = None
        if old is not None and old["track_id"].size and ev["time"].size:
            entry = ev["kind"] == "border_entry"
            want = np.setdiff1d(ev["track_id"][entry], tid)
            if want.size:
                rt = old["track_id"]
                pos = np.minimum(np.searchsorted(rt, want), rt.size - 1)
                found = rt[pos] == want
                take = pos[found]
                if take.size == 0:
                    take = None
        # refresh: this step's rows replace the remembered ones; stale ones go
        parts = [({k: v[near] for k, v in rows.items()}, {k: v[near] for k, v in pic.items()})]
        if old is not None and old_pic is not None and old["track_id"].size:
            keep = ~_member(old["track_id"], tid)
            parts.append(({k: v[keep] for k, v in old.items()},
                          {k: v[keep] for k, v in old_pic.items()}))
        rec = {k: np.concatenate([p[0][k] for p in parts]) for k in rows}
        rpic = {k: np.concatenate([p[1][k] for p in parts]) for k in pic}
        order = np.argsort(rec["track_id"], kind="stable")
        self._recent = {k: v[order] for k, v in rec.items()}
        self._recent_pic = {k: v[order] for k, v in rpic.items()}
        if take is None:
            return rows, deleted, may_raise, pic
        assert old is not None and old_pic is not None
        add = {k: v[take] for k, v in old.items()}
        add_pic = {k: v[take].copy() for k, v in old_pic.items()}
        # the picture as the entry event has it: over the home country, its depth
        e = np.flatnonzero(ev["kind"] == "border_entry")
        last = {int(t): j for t, j in zip(ev["track_id"][e].tolist(), e.tolist(), strict=True)}
        j = np.array([last[int(t)] for t in add["track_id"].tolist()], dtype=np.intp)
        add_pic["depth_m"] = ev["depth_m"][j].astype(np.float64)
        add_pic["country"] = ev["country_to"][j].astype(add_pic["country"].dtype)
        self.stats.recalled += int(take.size)
        rows = {k: np.concatenate([rows[k], add[k]]) for k in rows}
        pic = {k: np.concatenate([pic[k], add_pic[k]]) for k in pic}
        deleted = np.concatenate([deleted, np.zeros(take.size, bool)])
        may_raise = np.concatenate([may_raise, np.ones(take.size, bool)])
        order = np.argsort(rows["track_id"], kind="stable")
        return ({k: v[order] for k, v in rows.items()}, deleted[order], may_raise[order],
                {k: v[order] for k, v in pic.items()})

    def _read_events(self, events: Table | None) -> dict[str, np.ndarray]:
        ev = read_columns(events, ALERT_EVENT_COLUMNS, "event", optional=True)
        if ev["time"].size == 0:
            return ev
        reason = np.full(ev["time"].shape, "", dtype=object)
        bad = np.zeros(ev["time"].shape, bool)
        for mask, why in ((~np.isfinite(ev["time"]), "time is not finite"),
                          (ev["track_id"] == MISSING_ID, "track_id is missing"),
                          (~np.isin(ev["kind"], EVENT_KINDS),
                           "kind is not one of " + ", ".join(EVENT_KINDS))):
            new = mask & ~bad
            reason[new] = why
            bad |= new
        if bad.any():
            self._refuse("event", bad, reason.astype(str), ev["track_id"], ev["time"])
        order = np.argsort(ev["time"], kind="stable")
        order = order[~bad[order]]
        return {k: v[order] for k, v in ev.items()}

    # ------------------------------------------------------------------ the step
    def _refresh_arrays(self) -> None:
        if not self._arrays_dirty:
            return
        self._followed_arr = _ids(self._follow)
        threat_followed = {t for t, aids in self._follow.items()
                           if any(self._open[a].kind in _THREAT_KINDS for a in aids)}
        self._blocked_arr = _ids(self._incursion_done | threat_followed)
        self._spoof_arr = _ids(self._spoof_done)
        self._merged_arr = _ids(self._merged_away)
        self._arrays_dirty = False

    def _touch_seen(self, tid: NDArray[np.int64], t: NDArray[np.float64]) -> None:
        """Remember when each track was first and last seen (vectorised)."""
        if tid.size == 0:
            return
        seen = self._seen_id
        pos = np.searchsorted(seen, tid)
        known = seen[np.minimum(pos, seen.size - 1)] == tid if seen.size else \
            np.zeros(tid.shape, bool)
        if not known.all():
            ids = np.concatenate([seen, tid[~known]])
            first = np.concatenate([self._seen_first, t[~known]])
            last = np.concatenate([self._seen_last, t[~known]])
            order = np.argsort(ids, kind="stable")
            self._seen_id, self._seen_first, self._seen_last = ids[order], first[order], \
                last[order]
            pos = np.searchsorted(self._seen_id, tid)
        self._seen_last[pos] = np.maximum(self._seen_last[pos], t)

    def _first_seen(self, tid: NDArray[np.int64]) -> NDArray[np.float64]:
        pos = np.searchsorted(self._seen_id, tid)
        return self._seen_first[pos]

    def _step(self, rows: dict[str, np.ndarray], deleted: NDArray[np.bool_],
              may_raise: NDArray[np.bool_], ev: dict[str, np.ndarray],
              pic: dict[str, np.ndarray], now: float) -> None:
        rules = self.rules
        tid = rows["track_id"]
        n = tid.size
        self._touch_seen(tid, rows["time"])
        self._refresh_arrays()
        score = np.full(n, np.nan)

        def class_ok(idx: NDArray[np.intp]) -> NDArray[np.bool_]:
            return alerting_class(rows["class"][idx], rows["class_prob"][idx], rules)

        def raise_ok(idx: NDArray[np.intp]) -> NDArray[np.bool_]:
            """The alert class may alert and the alert classes are sure enough."""
            probs = {f"p_{c}": rows[f"p_{c}"][idx] for c in CLASSIFY_CLASSES}
            return class_ok(idx) & sure_enough(probs, rules)

        def scores(idx: NDArray[np.intp]) -> NDArray[np.float64]:
            todo = idx[np.isnan(score[idx])]
            if todo.size:
                sub = {k: rows[k][todo] for k in THREAT_TRACK_COLUMNS}
                sp = {k: v[todo] for k, v in pic.items()}
                score[todo] = score_arrays(sub, sp, rules.threat)
            return score[idx]

        def row_of(track: int) -> int | None:
            if n == 0:
                return None
            i = int(np.searchsorted(tid, track))
            return i if i < n and tid[i] == track else None

        def threat(i: int) -> bool:
            return bool(may_raise[i] and raise_ok(np.array([i]))[0]
                        and scores(np.array([i]))[0] >= rules.threat.min_score)

        # 1. a merged-away track that is confirmed again is released
        if self._merged_arr.size:
            back = np.flatnonzero(_member(tid, self._merged_arr))
            for i in back[rows["status"][back] == "confirmed"].tolist():
                t = int(tid[i])
                if t not in self._follow:
                    self._merged_away.discard(t)
                    self._incursion_done.discard(t)
                    self._spoof_done.discard(t)
                    self._arrays_dirty = True
        # 2. the rows of followed tracks update their alerts
        fidx = np.flatnonzero(_member(tid, self._followed_arr))
        if fidx.size:
            scores(fidx)
            # the columns gathered for all followed rows at once (one numpy pass each);
            # Python only hands each alert its row
            values = _row_values(rows, pic, fidx)
            for t, sc, dl, v in zip(tid[fidx].tolist(), score[fidx].tolist(),
                                    deleted[fidx].tolist(), values, strict=True):
                for aid in self._follow[t]:
                    self._apply_row(self._open[aid], v, sc, dl)
        for a in self._open.values():
            if not a.gone and now - a.t_seen > rules.resolve.silent_after_s:
                a.gone = True
        # 2b. an alert raised on a track now known to be the phantom of a spoofed Remote ID
        # (its position is the lie) is resolved, naming the drone's radar track
        if fidx.size:
            ph = fidx[rows["phantom_of"][fidx] >= 0]
            for i in ph.tolist():
                for aid in sorted(self._follow.get(int(tid[i]), ())):
                    a = self._open[aid]
                    if a.track_id == int(tid[i]):
                        self._close(a, now, "phantom of a spoofed Remote ID: the drone is "
                                    f"track {int(rows['phantom_of'][i])}", release=False)
            self._refresh_arrays()
        # 3. merges: lost alerts take a new track consistent with the old one
        self._merge(rows, pic, may_raise, class_ok, scores)
        self._refresh_arrays()
        # 4. events, in time order
        for j in range(ev["time"].size):
            self._event(ev, j, rows, pic, score, scores, row_of, threat, now)
        self._refresh_arrays()
        # 5. threats found inside the home country with no alert yet
        deep = pic["depth_m"] > max(rules.threat.found_inside_min_depth_m, 0.0)  # NaN: False
        proven = rows["n_updates"] >= rules.threat.found_inside_min_updates
        cand = np.flatnonzero(may_raise & deep & proven)
        if cand.size and self._blocked_arr.size:
            cand = cand[~_member(tid[cand], self._blocked_arr)]
        if cand.size:
            cand = cand[raise_ok(cand)]
        if cand.size:
            hit = cand[scores(cand) >= rules.threat.min_score]
            for i in hit.tolist():
                cross = self._crossings.get(int(tid[i]))
                self._raise("incursion", rows, pic, i, score, now, cross)
        # 6. spoofed Remote ID
        if rules.spoofed_remote_id.alert:
            sp = np.flatnonzero(may_raise & rows["spoofed"])
            sp = sp[~_member(tid[sp], self._spoof_arr)]
            if sp.size:
                scores(sp)
                for i in sp.tolist():
                    self._raise("spoofed_remote_id", rows, pic, i, score, now,
                                self._crossings.get(int(tid[i])))
        # 7. revise, escalate and resolve the open alerts
        for a in sorted(self._open.values(), key=lambda a: a.alert_id):
            self._revise(a, now)
        # 8. forget deleted and silent tracks
        gone_ids = tid[deleted]
        if self._seen_id.size:
            silent = (now - self._seen_last) > rules.resolve.silent_after_s
            if silent.any():
                gone_ids = np.concatenate([gone_ids, self._seen_id[silent]])
        if gone_ids.size:
            drop = _member(self._seen_id, np.unique(gone_ids))
            if drop.any():
                keep = ~drop
                self._seen_id = self._seen_id[keep]
                self._seen_first = self._seen_first[keep]
                self._seen_last = self._seen_last[keep]
            for t in gone_ids.tolist():
                self._crossings.pop(t, None)
                if t not in self._follow:
                    self._incursion_done.discard(t)
                    self._spoof_done.discard(t)
                    self._merged_away.discard(t)
            self._arrays_dirty = True

    # ------------------------------------------------------------------ pieces
    def _take_row(self, a: _Alert, rows: dict[str, np.ndarray], pic: dict[str, np.ndarray],
                  i: int, score: float, deleted: bool) -> None:
        """Copy track row ``i`` (and its picture) into alert ``a``."""
        self._apply_row(a, _row_values(rows, pic, np.array([i]))[0], score, deleted)

    @staticmethod
    def _apply_row(a: _Alert, v: tuple[Any, ...], score: float, deleted: bool) -> None:
        """Copy one track row's values (a tuple of :func:`_row_values`) into alert ``a``."""
        (t, status, lat, lon, alt, ve, vn, cls, cls_prob, coop, found, country, depth,
         in_zone, zone_id, ttz) = v
        a.t_seen = max(t, a.t_seen) if math.isfinite(a.t_seen) else t
        if deleted:
            a.gone = True
            a.status = "deleted"
            return
        a.gone = False
        a.status = status
        a.t_last = t
        a.lat, a.lon, a.alt = lat, lon, alt
        a.ve, a.vn = ve, vn
        a.cls, a.cls_prob = cls, cls_prob
        a.coop_id = coop
        a.score = score
        a.moved = True
        if found:
            a.country = country
            a.depth = depth
            a.in_zone = in_zone
            a.zone_id = zone_id or in_zone
            a.ttz = ttz
            if in_zone:
                a.zone_id = in_zone
                a.ttz = 0.0
            if a.kind == "incursion" and math.isfinite(depth):
                if depth > 0.0:
                    a.exited_since = None
                elif depth < 0.0 and a.exited_since is None:
                    a.exited_since = a.t_last
                    a.exit_to = a.country
            elif a.kind == "zone":
                if a.in_zone:
                    a.exited_since = None
                elif a.exited_since is None:
                    a.exited_since = a.t_last

    def _merge(self, rows: dict[str, np.ndarray], pic: dict[str, np.ndarray],
               may_raise: NDArray[np.bool_],
               class_ok: Callable[[NDArray[np.intp]], NDArray[np.bool_]],
               scores: Callable[[NDArray[np.intp]], NDArray[np.float64]]) -> None:
        lost = [a for a in self._open.values() if a.gone or a.status == "coasting"]
        if not lost:
            return
        m = self.rules.merge
        tid = rows["track_id"]
        cand = np.flatnonzero(may_raise & ~_member(tid, self._followed_arr))
        cand = cand[class_ok(cand)]
        if cand.size == 0:
            return
        first = self._first_seen(tid[cand])
        t_c = rows["time"][cand]
        pairs: list[tuple[float, int, int]] = []
        for a in lost:
            if not (math.isfinite(a.t_last) and math.isfinite(a.lat)):
                continue
            ok = (first >= a.t_last - m.overlap_s) & (first <= a.t_last + m.time_s)
            if not ok.any():
                continue
            k = np.flatnonzero(ok)
            dt = np.maximum(t_c[k] - a.t_last, 0.0)
            e, nn, _ = geodetic2enu(rows["lat_deg"][cand[k]], rows["lon_deg"][cand[k]], 0.0,
                                    a.lat, a.lon, 0.0)
            ve = a.ve if math.isfinite(a.ve) else 0.0
            vn = a.vn if math.isfinite(a.vn) else 0.0
            miss = np.hypot(e - ve * dt, nn - vn * dt)
            gate = m.distance_m + m.speed_sigma_mps * dt
            within = miss <= gate
            # and it flies the same way (a young track's velocity is rough: a wide bound,
            # but not a track going the other way)
            dv = np.hypot(rows["vel_east_mps"][cand[k]] - ve, rows["vel_north_mps"][cand[k]] - vn)
            within &= ~(dv > m.velocity_tolerance_mps)     # NaN velocity: not held against it
            pairs.extend(zip((miss[within] / gate[within]).tolist(), [a.alert_id] * int(
                within.sum()), cand[k[within]].tolist(), strict=True))
        used_a: set[int] = set()
        used_r: set[int] = set()
        for _, aid, i in sorted(pairs):
            if aid in used_a or i in used_r:
                continue
            used_a.add(aid)
            used_r.add(i)
            a = self._open[aid]
            old, new = a.track_id, int(tid[i])
            self._unfollow(old, aid)
            if a.gone:      # the old track is dead: forget it
                self._incursion_done.discard(old)
                self._spoof_done.discard(old)
            else:           # coasting: it may come back (then it is released)
                self._merged_away.add(old)
            a.track_id = new
            a.track_ids.append(new)
            self._follow.setdefault(new, set()).add(aid)
            (self._spoof_done if a.kind == "spoofed_remote_id" else self._incursion_done).add(new)
            self._take_row(a, rows, pic, i, float(scores(np.array([i]))[0]), False)
            a.force = f"track {old} re-found as track {new}"
            self.stats.merged += 1
            self._arrays_dirty = True

    def _event(self, ev: dict[str, np.ndarray], j: int, rows: dict[str, np.ndarray],
               pic: dict[str, np.ndarray], score: NDArray[np.float64],
               scores: Callable[[NDArray[np.intp]], NDArray[np.float64]],
               row_of: Callable[[int], int | None], threat: Callable[[int], bool],
               now: float) -> None:
        kind = str(ev["kind"][j])
        t = int(ev["track_id"][j])
        mine = self._threat_alert(t)
        esc = self.rules.escalation
        if kind == "border_entry":
            cross = (float(ev["time"][j]), float(ev["lat_deg"][j]), float(ev["lon_deg"][j]),
                     str(ev["country_from"][j]))
            self._crossings[t] = cross
            if mine is not None:
                if mine.kind == "incursion":
                    mine.exited_since = None
                    if not math.isfinite(mine.crossing_time):
                        # raised from the picture a step before the engine's (hysteresis)
                        # event: the event places the crossing
                        (mine.crossing_time, mine.crossing_lat, mine.crossing_lon,
                         mine.country_from) = cross
                        mine.force = "crossing placed"
                return
            i = row_of(t)
            self._incursion_done.discard(t)           # a new incursion
            self._arrays_dirty = True
            if i is not None and threat(i):
                self._raise("incursion", rows, pic, i, score, now, cross)
        elif kind == "border_exit":
            self._crossings.pop(t, None)
            if mine is not None:
                if mine.kind == "incursion" and mine.exited_since is None:
                    mine.exited_since = float(ev["time"][j])
                    mine.exit_to = str(ev["country_to"][j])
            elif t in self._incursion_done:
                self._incursion_done.discard(t)
                self._arrays_dirty = True
        elif kind == "zone_entry":
            zone = str(ev["zone_id"][j])
            if mine is not None:
                mine.in_zone = mine.zone_id = zone
                mine.ttz = 0.0
                if mine.kind == "zone":
                    mine.exited_since = None
                return
            i = row_of(t)
            if i is not None and threat(i):
                self._raise("zone", rows, pic, i, score, now, self._crossings.get(t), zone=zone)
        elif kind == "zone_exit":
            if mine is not None and mine.in_zone == str(ev["zone_id"][j]):
                mine.in_zone = ""
                if mine.kind == "zone" and mine.exited_since is None:
                    mine.exited_since = float(ev["time"][j])
        elif kind == "zone_approach":
            ttz = float(ev["time_to_zone_s"][j])
            if mine is not None and mine.kind == "incursion" and esc.time_to_zone_s > 0 \
                    and math.isfinite(ttz) and ttz <= esc.time_to_zone_s:
                mine.zone_id = str(ev["zone_id"][j]) or mine.zone_id
                mine.ttz = ttz
        elif kind == "loiter" and mine is not None:
            mine.loiter = True

    def _threat_alert(self, track: int) -> _Alert | None:
        for aid in self._follow.get(track, ()):
            a = self._open[aid]
            if a.kind in _THREAT_KINDS:
                return a
        return None

    def _level(self, a: _Alert) -> int:
        """Escalation level the alert's current picture calls for."""
        if a.kind not in _THREAT_KINDS:
            return 0
        esc = self.rules.escalation
        if esc.on_zone_entry and a.in_zone:
            return 2
        if a.kind == "incursion" and esc.time_to_zone_s > 0 and math.isfinite(a.ttz) \
                and a.ttz <= esc.time_to_zone_s:
            return 1
        return 0

    def _band(self, score: float) -> int:
        """:func:`~skyfence.airspace.threat.priority_band` of one score, in plain Python
        (the same rule; numpy's per-call cost would dominate here)."""
        t1, t2, t3 = self.rules.priority.thresholds
        if not math.isfinite(score):
            return 4
        return 1 + (score < t1) + (score < t2) + (score < t3)

    def _priority(self, a: _Alert) -> int:
        esc = self.rules.escalation
        boost = (0, esc.approach_boost, max(esc.approach_boost, esc.zone_boost))[a.level]
        return max(1, a.band - boost)

    def _raise(self, kind: str, rows: dict[str, np.ndarray], pic: dict[str, np.ndarray],
               i: int, score: NDArray[np.float64],
               now: float, cross: tuple[float, float, float, str] | None,
               zone: str = "") -> _Alert:
        t = int(rows["track_id"][i])
        a = _Alert(alert_id=self._next_id, kind=kind, track_id=t, track_ids=[t],
                   raised_step=self._step_no)
        self._next_id += 1
        if cross is not None:
            a.crossing_time, a.crossing_lat, a.crossing_lon, a.country_from = cross
        self._take_row(a, rows, pic, i, float(score[i]), False)
        if zone:
            a.in_zone = a.zone_id = a.alert_zone = zone
            a.ttz = 0.0
            a.exited_since = None
        a.band = self._band(a.score)
        a.level = self._level(a)
        a.priority = self._priority(a)
        self._open[a.alert_id] = a
        self._follow.setdefault(t, set()).add(a.alert_id)
        (self._spoof_done if kind == "spoofed_remote_id" else self._incursion_done).add(t)
        self._arrays_dirty = True
        self.stats.raised[kind] += 1
        self._emit(a, now)
        return a

    def _revise(self, a: _Alert, now: float) -> None:
        """Apply the rules to an open alert after the step's rows and events."""
        r = self.rules
        # resolution
        if a.gone and (not math.isfinite(a.t_last) or now - a.t_last > r.merge.time_s):
            self._close(a, now, "track lost", release=True)
            return
        if a.exited_since is not None and now - a.exited_since >= r.resolve.after_exit_s:
            why = (f"left to {a.exit_to}" if a.exit_to else "left the country") \
                if a.kind == "incursion" else "left the zone"
            self._close(a, now, why, release=True)
            return
        if a.raised_step == self._step_no:
            return
        notes: list[str] = []
        prefix = ""
        level = max(a.level, self._level(a))
        if level > a.level:
            a.level = level
            a.state = "escalated"
            prefix = "ESCALATED (" + (f"entered {self._zone(a.in_zone)}" if level == 2 else
                                      f"{self._zone(a.zone_id)} in {_duration(a.ttz)}") + ")"
        band = self._band(a.score)
        if band > a.band:   # lower priority only past the hysteresis
            band = max(a.band, self._band(a.score + r.priority.hysteresis))
        a.band = band
        priority = self._priority(a)
        if priority != a.priority:
            notes.append(f"priority {a.priority} → {priority}")
            a.priority = priority
        if a.force:
            notes.append(a.force)
            a.force = ""
        due = a.moved and now - a.last_emit >= r.revisions.position_interval_s
        if prefix or notes or due:
            self._emit(a, now, prefix=prefix, note="; ".join(notes))

    def _close(self, a: _Alert, now: float, reason: str, release: bool) -> None:
        a.state = "resolved"
        self._emit(a, now, prefix=f"Resolved ({reason})")
        del self._open[a.alert_id]
        self._resolved.add(a.alert_id)
        for t in a.track_ids:
            self._unfollow(t, a.alert_id)
        if release:   # the track may alert again (it left, or it is gone)
            (self._spoof_done if a.kind == "spoofed_remote_id"
             else self._incursion_done).discard(a.track_id)
        self.stats.resolved[reason.split(":")[0]] += 1
        self._arrays_dirty = True

    def _unfollow(self, track: int, aid: int) -> None:
        aids = self._follow.get(track)
        if aids is not None:
            aids.discard(aid)
            if not aids:
                del self._follow[track]
        self._arrays_dirty = True

    def _get_open(self, alert_id: int) -> _Alert:
        a = self._open.get(int(alert_id))
        if a is None:
            if int(alert_id) in self._resolved:
                raise AlertError(f"alert {alert_id} is already resolved")
            raise AlertError(f"no alert {alert_id} (open alerts: "
                             f"{', '.join(map(str, sorted(self._open))) or 'none'})")
        return a

    # ------------------------------------------------------------------ output
    def _zone(self, zone_id: str) -> str:
        return self.zone_names.get(zone_id, zone_id)

    def _emit(self, a: _Alert, now: float, prefix: str = "", note: str = "") -> None:
        a.revision += 1
        a.last_emit = now
        a.moved = False
        speed = math.hypot(a.ve, a.vn)
        heading = math.degrees(math.atan2(a.ve, a.vn)) % 360.0 if speed > 0 else math.nan
        lat, lon = a.lat, a.lon
        dt = now - a.t_last
        if 0.0 < dt <= _CARRY_S and math.isfinite(speed) and math.isfinite(lat):
            # where the track is now: the batch clock is later than its last update (the
            # sensors' latency, a predicted border entry)
            lat, lon = small_offset_deg(lat, lon, a.ve * dt, a.vn * dt)
        row = {
            "alert_id": a.alert_id, "revision": a.revision, "time": now, "state": a.state,
            "kind": a.kind, "priority": a.priority, "threat_score": a.score,
            "track_id": a.track_id, "track_ids": " ".join(map(str, a.track_ids)),
            "class": a.cls, "class_prob": a.cls_prob, "cooperative_id": a.coop_id,
            "lat_deg": lat, "lon_deg": lon, "alt_m": a.alt, "heading_deg": heading,
            "speed_mps": speed, "crossing_time": a.crossing_time,
            "crossing_lat_deg": a.crossing_lat, "crossing_lon_deg": a.crossing_lon,
            "country_from": a.country_from, "zone_id": a.zone_id,
            "time_to_zone_s": a.ttz if a.zone_id else math.nan,
            "message": self._message(a, heading, speed, prefix, note),
        }
        a.last_row = row
        self._out.append(row)
        self.stats.revisions += 1

    def _message(self, a: _Alert, heading: float, speed: float, prefix: str,
                 note: str) -> str:
        """One line for the operator, e.g. ``Drone (fixed-wing, p=0.97) crossed from BY at
        54.23N 25.80E, 3.1 km inside, heading 290°, 46 m/s; Gaižiūnai in 12 min``."""
        label = _label(a.cls, a.cls_prob, self.rules.threat.min_class_prob)
        if a.kind == "spoofed_remote_id":
            head = f"Spoofed Remote ID '{a.coop_id}' on {label[0].lower() + label[1:]} " \
                   f"(track {a.track_id}) at {_latlon(a.lat, a.lon)}"
        elif a.kind == "zone":
            head = f"{label} entered {self._zone(a.alert_zone)} at {_latlon(a.lat, a.lon)}"
        elif math.isfinite(a.crossing_lat):
            frm = f" from {a.country_from}" if a.country_from else ""
            head = f"{label} crossed{frm} at {_latlon(a.crossing_lat, a.crossing_lon)}"
        else:
            where = f" {a.country}" if a.country else ""
            head = f"{label} found inside{where} at {_latlon(a.lat, a.lon)}"
        parts = [head]
        if math.isfinite(a.depth) and a.depth != 0.0:
            side = "inside" if a.depth > 0 else "outside"
            parts.append(f"{abs(a.depth) / 1000.0:.1f} km {side}")
        if math.isfinite(heading):
            parts.append(f"heading {heading:.0f}°, {speed:.0f} m/s")
        if a.loiter:
            parts.append("loitering")
        text = ", ".join(parts)
        if a.kind != "zone":
            if a.in_zone:
                text += f"; inside {self._zone(a.in_zone)}"
            elif a.zone_id and math.isfinite(a.ttz):
                text += f"; {self._zone(a.zone_id)} in {_duration(a.ttz)}"
        if note:
            text += f" ({note})"
        return f"{prefix}: {text}" if prefix else text

    def _deliver(self, table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Hand new revisions (after any the store has not yet taken) to the store;
        return the new ones."""
        if self.store_callback is None:
            return table
        pending = _concat([*self._unstored, table])
        if pending["alert_id"].size:
            try:
                self.store_callback(pending)
                self._unstored = []
            except Exception:   # the store's failure must not lose alerts nor stop the step
                self.stats.store_failures += 1
                log.exception("alerts: the store callback failed; %d revisions kept for the "
                              "next call", pending["alert_id"].size)
                self._unstored = [pending]
        return table


#: track columns and picture columns an alert copies from its track's row, in order
_ROW_COLUMNS = ("time", "status", "lat_deg", "lon_deg", "alt_m", "vel_east_mps",
                "vel_north_mps", "class", "class_prob", "cooperative_id")
_PIC_COLUMNS = ("found", "country", "depth_m", "in_zone", "zone_id", "time_to_zone_s")
_STR_COLUMNS = frozenset({"status", "class", "cooperative_id", "country", "in_zone", "zone_id"})


def _row_values(rows: dict[str, np.ndarray], pic: dict[str, np.ndarray],
                idx: NDArray[np.intp]) -> list[tuple[Any, ...]]:
    """Rows ``idx`` of the track and picture columns an alert takes, as tuples of Python
    values (each column gathered and converted in one pass)."""
    cols: list[list[Any]] = []
    for name in _ROW_COLUMNS:
        col = rows[name][idx]
        cols.append(col.astype(str).tolist() if name in _STR_COLUMNS else
                    col.astype(np.float64).tolist())
    for name in _PIC_COLUMNS:
        col = pic[name][idx]
        cols.append(col.astype(str).tolist() if name in _STR_COLUMNS else
                    col.astype(bool).tolist() if name == "found" else
                    col.astype(np.float64).tolist())
    return list(zip(*cols, strict=True))


def _label(cls: str, prob: float, min_prob: float) -> str:
    name = _CLASS_LABELS.get(cls)
    if name is None or not (prob >= min_prob):
        return "Unidentified track"
    noun, sub = name
    p = f"p={prob:.2f}"
    return f"{noun} ({sub}, {p})" if sub else f"{noun} ({p})"


def _latlon(lat: float, lon: float) -> str:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "an unknown position"
    return f"{abs(lat):.2f}{'N' if lat >= 0 else 'S'} {abs(lon):.2f}{'E' if lon >= 0 else 'W'}"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown time"
    if seconds < 90.0:
        return f"{max(seconds, 0.0):.0f} s"
    if seconds < 5400.0:
        return f"{seconds / 60.0:.0f} min"
    return f"{seconds / 3600.0:.1f} h"
