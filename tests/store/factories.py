"""Tables for the store and sinks tests: track rows and alert revisions with every schema column."""

from __future__ import annotations

from typing import Any

import numpy as np

from skyfence.model.schema import ALERT_COLUMNS, TRACK_COLUMNS

T0 = 1_753_668_000.0   # 2025-07-28T02:00:00Z


def _blank(columns: dict[str, str], n: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, v in columns.items():
        if v == "str":
            out[k] = np.full(n, "")
        elif v == "float64":
            out[k] = np.full(n, np.nan)
        elif v == "bool":
            out[k] = np.zeros(n, bool)
        else:
            out[k] = np.zeros(n, np.int64)
    return out


def track_rows(time: Any, track_id: Any, status: Any, **over: Any) -> dict[str, np.ndarray]:
    """Rows of TRACK_COLUMNS; position and velocity derived from the id and time."""
    tid = np.atleast_1d(np.asarray(track_id, dtype=np.int64))
    n = tid.size
    t = np.broadcast_to(np.asarray(time, dtype=np.float64), (n,)).copy()
    st = np.broadcast_to(np.asarray(status), (n,)).astype(str)
    d = _blank(TRACK_COLUMNS, n)
    d.update(time=t, track_id=tid, status=st,
             lat_deg=54.0 + 0.01 * tid + 1e-6 * (t - T0), lon_deg=25.0 + 0.001 * tid,
             alt_m=100.0 + tid.astype(float), vel_east_mps=np.full(n, 10.0),
             vel_north_mps=np.full(n, -3.0), vel_up_mps=np.zeros(n),
             sigma_east_m=np.full(n, 20.0), sigma_north_m=np.full(n, 20.0),
             sigma_up_m=np.full(n, 40.0), n_updates=np.arange(n, dtype=np.int64),
             sensor_id=np.full(n, "radar-1"), rcs_dbsm=np.full(n, -15.0))
    for k, v in over.items():
        d[k] = np.broadcast_to(np.asarray(v), (n,)).copy()
    return d


def alert_rows(alert_id: Any, revision: Any, time: Any, **over: Any) -> dict[str, np.ndarray]:
    """Rows of ALERT_COLUMNS (an incursion by a fixed-wing drone unless overridden)."""
    aid = np.atleast_1d(np.asarray(alert_id, dtype=np.int64))
    n = aid.size
    d = _blank(ALERT_COLUMNS, n)
    t = np.broadcast_to(np.asarray(time, dtype=np.float64), (n,)).copy()
    d.update(alert_id=aid,
             revision=np.broadcast_to(np.asarray(revision, dtype=np.int64), (n,)).copy(),
             time=t, state=np.full(n, "raised"), kind=np.full(n, "incursion"),
             priority=np.full(n, 1, np.int64), threat_score=np.full(n, 0.9),
             track_id=aid * 10, track_ids=np.array([f"{a * 10}" for a in aid]),
             **{"class": np.full(n, "drone_fixed_wing")}, class_prob=np.full(n, 0.87),
             lat_deg=54.6 + 0.01 * aid, lon_deg=np.full(n, 25.7), alt_m=np.full(n, 350.0),
             heading_deg=np.full(n, 270.0), speed_mps=np.full(n, 45.0),
             crossing_time=t - 133.0, crossing_lat_deg=np.full(n, 54.55),
             crossing_lon_deg=np.full(n, 25.9), country_from=np.full(n, "BY"),
             zone_id=np.full(n, "VLN"), time_to_zone_s=np.full(n, 95.0),
             message=np.array([f"Drone crossed the border from BY (alert {a})" for a in aid]))
    for k, v in over.items():
        d[k] = np.broadcast_to(np.asarray(v), (n,)).copy()
    return d


def one_alert(alert_id: int, revision: int = 0, time: float = T0, **over: Any) -> dict[str, Any]:
    """One alert revision as the dict a sink receives."""
    rows = alert_rows(alert_id, revision, time, **over)
    out: dict[str, Any] = {}
    for k, v in rows.items():
        x = v[0].item()
        out[k] = None if isinstance(x, float) and x != x else x
    return out
