"""GOSPA and OSPA distances between a set of true and a set of estimated positions.

GOSPA
    Rahmathullah, García-Fernández & Svensson, "Generalized optimal sub-pattern
    assignment metric", FUSION 2017 (arXiv:1601.05585).  For ``alpha = 2`` (the
    default) it is an assignment between truths and tracks in which every truth
    left unassigned costs ``c**p / 2`` (missed), every track left unassigned costs
    ``c**p / 2`` (false) and every assigned pair costs ``d**p`` with ``d < c``::

        GOSPA**p = min over assignments γ of
                   Σ_(i,j)∈γ d(x_i, y_j)**p  +  c**p / 2 · (|X| - |γ|)  +  c**p / 2 · (|Y| - |γ|)
                   └──────── localisation ┘    └────── missed ───────┘    └────── false ──────┘

OSPA
    Schuhmacher, Vo & Vo, "A consistent metric for performance evaluation of
    multi-object filters", IEEE Trans. Signal Processing 56(8), 2008.

The base distance ``d`` is Euclidean over the columns given, in the input's unit
(metres in SkyFence), cut off at ``c``.  Each time step is one
:func:`scipy.optimize.linear_sum_assignment` on the cut-off cost matrix.

:func:`gospa_over_time` evaluates a whole truth table against a whole tracks
table; positions must be in a local Cartesian frame, which
:func:`table_to_enu` adds to a table of latitude, longitude and altitude.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from skyfence.errors import DataError
from skyfence.geo.geodesy import enu2uvw, geodetic2enu, uvw2enu

__all__ = [
    "ENU_COLUMNS",
    "ENU_VELOCITY_COLUMNS",
    "GospaResult",
    "OspaResult",
    "gospa",
    "gospa_over_time",
    "ospa",
    "table_to_enu",
]

Array = NDArray[np.float64]
Index = NDArray[np.intp]

#: position columns added by :func:`table_to_enu`: east, north, up of the origin's frame, metres
ENU_COLUMNS: tuple[str, str, str] = ("east_m", "north_m", "up_m")
#: velocity columns added by :func:`table_to_enu`: along the origin's east, north, up, m/s
ENU_VELOCITY_COLUMNS: tuple[str, str, str] = ("east_mps", "north_mps", "up_mps")

_GEODETIC_COLUMNS = ("lat_deg", "lon_deg", "alt_m")
_LOCAL_VELOCITY_COLUMNS = ("vel_east_mps", "vel_north_mps", "vel_up_mps")
_ENU_HINT = (
    "positions must be local Cartesian metres; add them to a table of lat_deg, lon_deg, "
    "alt_m with skyfence.eval.gospa.table_to_enu(table, lat0_deg, lon0_deg, alt0_m)"
)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class GospaResult:
    """GOSPA distance between a truth set and a track set, with its components.

    ``distance ** p == localisation + missed + false`` (up to rounding).

    Attributes
    ----------
    distance : float
        GOSPA distance, unit of the positions (metres).
    localisation : float
        Σ d(x, y)**p over the assigned pairs, unit**p (m**p).  For ``alpha == 2``
        only pairs with ``d < c`` are assigned; for ``alpha != 2`` the assignment
        pairs every member of the smaller set and cut-off pairs add ``c**p``.
    missed : float
        ``c**p / alpha`` × ``n_missed``, unit**p (m**p).
    false : float
        ``c**p / alpha`` × ``n_false``, unit**p (m**p).
    assignment : tuple of ndarray
        ``(truth_index, track_index)``: row indices into ``truth`` and ``tracks`` of
        the assigned pairs, both of length ``n_assigned``, sorted by truth index.
    n_missed : int
        Truths not assigned to a track.
    n_false : int
        Tracks not assigned to a truth.
    """

    distance: float
    localisation: float
    missed: float
    false: float
    assignment: tuple[Index, Index]
    n_missed: int
    n_false: int


@dataclass(frozen=True, eq=False)
class OspaResult:
    """OSPA distance between a truth set and a track set, with its two components.

    For finite ``p``, ``distance ** p == localisation ** p + cardinality ** p``.

    Attributes
    ----------
    distance : float
        OSPA distance, unit of the positions (metres), in ``[0, c]``.
    localisation : float
        ``(Σ min(d, c)**p / n) ** (1/p)`` over the assignment, ``n`` the size of the
        larger set, unit of the positions (Schuhmacher et al. 2008).  For
        ``p = inf``: the distance if the sets have equal size, else 0.
    cardinality : float
        ``(c**p · (n - m) / n) ** (1/p)``, ``m`` the size of the smaller set, unit of
        the positions.  For ``p = inf``: 0 if the sets have equal size, else ``c``.
    assignment : tuple of ndarray
        ``(truth_index, track_index)`` of the optimal assignment, which pairs every
        member of the smaller set, including pairs at the cut-off (empty when
        ``p = inf`` and the sizes differ).
    """

    distance: float
    localisation: float
    cardinality: float
    assignment: tuple[Index, Index]


# ------------------------------------------------------------------ single time step


def _check_c(c: float) -> float:
    c = float(c)
    if not (np.isfinite(c) and c > 0.0):
        raise ValueError(f"cut-off c must be a finite distance > 0, got {c!r}")
    return c


def _point_sets(truth: ArrayLike, tracks: ArrayLike) -> tuple[Array, Array]:
    """Both sets as float64 ``(n, k)`` arrays; an empty set may be given as ``[]``."""
    x = np.asarray(truth, dtype=np.float64)
    y = np.asarray(tracks, dtype=np.float64)
    if x.size == 0 and x.ndim != 2:
        x = x.reshape(0, y.shape[1] if y.ndim == 2 else 0)
    if y.size == 0 and y.ndim != 2:
        y = y.reshape(0, x.shape[1])
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(
            f"truth and tracks must be (n, k) and (m, k) arrays, got shapes {x.shape} "
            f"and {y.shape}")
    for name, a in (("truth", x), ("tracks", y)):
        if not np.isfinite(a).all():
            row = int(np.nonzero(~np.isfinite(a).all(axis=1))[0][0])
            raise ValueError(f"{name} row {row} is not finite: {a[row].tolist()}")
    return x, y


def _gospa_from_distances(d: Array, c: float, p: float, alpha: float) -> GospaResult:
    """GOSPA from the ``(n_truth, n_tracks)`` matrix of base distances."""
    n, m = d.shape
    cost = np.minimum(d, c) ** p
    ti, tj = linear_sum_assignment(cost)
    if alpha == 2.0:
        # A pair at the cut-off costs c**p, the same as one missed plus one false.
        keep = d[ti, tj] < c
        ti, tj = ti[keep], tj[keep]
        n_missed, n_false = n - ti.size, m - ti.size
    else:
        n_missed, n_false = max(n - m, 0), max(m - n, 0)
    localisation = float(cost[ti, tj].sum())
    missed = c**p / alpha * n_missed
    false = c**p / alpha * n_false
    distance = float((localisation + missed + false) ** (1.0 / p))
    return GospaResult(
        distance=distance,
        localisation=localisation,
        missed=float(missed),
        false=float(false),
        assignment=(_frozen(ti.astype(np.intp)), _frozen(tj.astype(np.intp))),
        n_missed=int(n_missed),
        n_false=int(n_false),
    )


def _check_gospa_params(c: float, p: float, alpha: float) -> tuple[float, float, float]:
    c, p, alpha = _check_c(c), float(p), float(alpha)
    if not 1.0 <= p < np.inf:
        raise ValueError(f"GOSPA order p must satisfy 1 <= p < inf, got {p!r}")
    if not 0.0 < alpha <= 2.0:
        raise ValueError(f"GOSPA alpha must satisfy 0 < alpha <= 2, got {alpha!r}")
    return c, p, alpha


def gospa(
    truth: ArrayLike, tracks: ArrayLike, c: float, p: float = 2.0, alpha: float = 2.0
) -> GospaResult:
    """GOSPA distance between true and estimated positions at one time.

    Parameters
    ----------
    truth : array_like, shape (n, k)
        True positions, one row each (metres in SkyFence); ``[]`` for none.
    tracks : array_like, shape (m, k)
        Estimated positions in the same columns and unit; ``[]`` for none.
    c : float
        Cut-off distance, > 0, unit of the positions.  A truth and a track
        farther apart than ``c`` (or exactly ``c``) are never paired.
    p : float, optional
        Order, ``1 <= p < inf`` (default 2).
    alpha : float, optional
        ``0 < alpha <= 2`` (default 2).  Only ``alpha = 2`` splits the distance
        into localisation, missed and false targets as in the paper; for other
        values the permutation definition is used: ``missed`` and ``false``
        count only the difference in set sizes and ``localisation`` includes the
        pairs at the cut-off.

    Returns
    -------
    GospaResult
        Distance, its three p-th power components and the assignment.

    Examples
    --------
    >>> r = gospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], c=10.0)
    >>> r.distance, r.localisation, r.missed, r.false, r.n_missed, r.n_false
    (8.660254037844387, 25.0, 50.0, 0.0, 1, 0)
    >>> [a.tolist() for a in r.assignment]
    [[0], [0]]
    >>> gospa([], [], c=10.0).distance
    0.0
    """
    c, p, alpha = _check_gospa_params(c, p, alpha)
    x, y = _point_sets(truth, tracks)
    return _gospa_from_distances(cdist(x, y), c, p, alpha)


def _bottleneck_assignment(cost: Array) -> tuple[Index, Index]:
    """Assignment of a square matrix minimising the largest cost it uses."""
    values = np.unique(cost)
    lo, hi = 0, values.size - 1
    while lo < hi:
        mid = (lo + hi) // 2
        blocked = (cost > values[mid]).astype(np.float64)
        ri, ci = linear_sum_assignment(blocked)
        if blocked[ri, ci].any():
            lo = mid + 1
        else:
            hi = mid
    # Among the assignments under the bottleneck value, take the cheapest.
    ri, ci = linear_sum_assignment(np.where(cost > values[lo], np.inf, cost))
    return ri.astype(np.intp), ci.astype(np.intp)


def ospa(truth: ArrayLike, tracks: ArrayLike, c: float, p: float = 1.0) -> OspaResult:
    """OSPA distance (Schuhmacher et al. 2008) between true and estimated positions.

    Parameters
    ----------
    truth : array_like, shape (n, k)
        True positions, one row each (metres in SkyFence); ``[]`` for none.
    tracks : array_like, shape (m, k)
        Estimated positions in the same columns and unit; ``[]`` for none.
    c : float
        Cut-off distance, > 0, unit of the positions.
    p : float, optional
        Order, ``1 <= p <= inf`` (default 1).

    Returns
    -------
    OspaResult
        Distance (0 when both sets are empty, ``c`` when exactly one is), its
        localisation and cardinality components and the assignment.

    Examples
    --------
    >>> r = ospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], c=10.0)
    >>> r.distance, r.localisation, r.cardinality
    (7.5, 2.5, 5.0)
    """
    c, p = _check_c(c), float(p)
    if not 1.0 <= p <= np.inf:
        raise ValueError(f"OSPA order p must satisfy 1 <= p <= inf, got {p!r}")
    x, y = _point_sets(truth, tracks)
    n_big, n_small = max(len(x), len(y)), min(len(x), len(y))
    empty = np.zeros(0, dtype=np.intp)
    if n_big == 0:
        return OspaResult(0.0, 0.0, 0.0, (_frozen(empty), _frozen(empty.copy())))
    if n_small == 0 or (p == np.inf and n_big != n_small):
        return OspaResult(c, 0.0, c, (_frozen(empty), _frozen(empty.copy())))
    cut = np.minimum(cdist(x, y), c)
    if p == np.inf:
        ti, tj = _bottleneck_assignment(cut)
        worst = float(cut[ti, tj].max())
        return OspaResult(worst, worst, 0.0, (_frozen(ti.astype(np.intp)),
                                              _frozen(tj.astype(np.intp))))
    cost = cut**p
    ti, tj = linear_sum_assignment(cost)
    loc = float(cost[ti, tj].sum()) / n_big
    card = c**p * (n_big - n_small) / n_big
    return OspaResult(
        distance=float((loc + card) ** (1.0 / p)),
        localisation=float(loc ** (1.0 / p)),
        cardinality=float(card ** (1.0 / p)),
        assignment=(_frozen(ti.astype(np.intp)), _frozen(tj.astype(np.intp))),
    )


# ------------------------------------------------------------------------- tables


def _column(
    table: Mapping[str, ArrayLike], name: str, which: str, hint: str = "", rows: int | None = None
) -> np.ndarray:
    """One column of a table as an array; a missing or mis-sized column is a DataError."""
    if name not in table:
        have = ", ".join(sorted(table)) or "none"
        fix = f"; {hint}" if hint else ""
        raise DataError(f"{which} table has no column '{name}' (columns: {have}){fix}")
    col = np.asarray(table[name])
    if rows is not None and col.shape != (rows,):
        raise DataError(
            f"{which} table column '{name}' has shape {col.shape}, expected ({rows},) "
            "like its 'time' column")
    return col


def _matrix(
    table: Mapping[str, ArrayLike], columns: Sequence[str], which: str, rows: int, hint: str = ""
) -> Array:
    """Columns as a float64 ``(rows, k)`` array; each must be finite and ``rows`` long."""
    cols = [np.asarray(_column(table, name, which, hint, rows), dtype=np.float64)
            for name in columns]
    for name, col in zip(columns, cols, strict=True):
        bad = np.nonzero(~np.isfinite(col))[0]
        if bad.size:
            raise DataError(
                f"{which} table column '{name}' is not finite at row {int(bad[0])} "
                f"({bad.size} rows in all); drop or repair those rows first")
    return np.stack(cols, axis=1) if cols else np.zeros((rows, 0))


def _times(table: Mapping[str, ArrayLike], which: str) -> Array:
    t = np.asarray(_column(table, "time", which), dtype=np.float64)
    if t.ndim != 1 or not np.isfinite(t).all():
        raise DataError(f"{which} table column 'time' must be a 1-D array of finite seconds")
    return t


def _status_mask(
    table: Mapping[str, ArrayLike], statuses: Sequence[str], rows: int
) -> NDArray[np.bool_]:
    """Rows whose ``status`` is one of ``statuses``; every row if there is no status column."""
    if "status" not in table:
        return np.ones(rows, dtype=bool)
    status = _column(table, "status", "track", rows=rows).astype(str)
    return np.isin(status, [str(s) for s in statuses])


def table_to_enu(
    table: Mapping[str, ArrayLike], lat0_deg: float, lon0_deg: float, alt0_m: float
) -> dict[str, np.ndarray]:
    """Add local east/north/up positions (and velocities) about an origin to a table.

    Parameters
    ----------
    table : mapping of str to array_like
        Columns ``lat_deg``, ``lon_deg`` (degrees) and ``alt_m`` (metres above the
        WGS84 ellipsoid); optionally ``vel_east_mps``, ``vel_north_mps``,
        ``vel_up_mps`` (m/s along the local east/north/up *at each row's
        position*, as in the truth and tracks tables).  Not modified.
    lat0_deg, lon0_deg : float
        Origin of the local frame, degrees.
    alt0_m : float
        Height of the origin above the WGS84 ellipsoid, metres.

    Returns
    -------
    dict of str to ndarray
        A new dict holding the input's columns plus ``east_m``, ``north_m``,
        ``up_m`` (:data:`ENU_COLUMNS`, metres in the origin's ENU frame) and, when
        the velocity columns are present, ``east_mps``, ``north_mps``, ``up_mps``
        (:data:`ENU_VELOCITY_COLUMNS`, the velocity rotated into the origin's
        axes, m/s).

    Examples
    --------
    >>> t = table_to_enu({"lat_deg": [55.0], "lon_deg": [24.0], "alt_m": [150.0]},
    ...                  55.0, 24.0, 100.0)
    >>> [round(float(t[k][0]), 6) + 0.0 for k in ENU_COLUMNS]
    [0.0, 0.0, 50.0]
    """
    lat, lon, alt = (np.asarray(_column(table, k, "input"), dtype=np.float64)
                     for k in _GEODETIC_COLUMNS)
    out = {k: np.asarray(v) for k, v in table.items()}
    out.update(zip(ENU_COLUMNS, geodetic2enu(lat, lon, alt, lat0_deg, lon0_deg, alt0_m),
                   strict=True))
    if all(k in table for k in _LOCAL_VELOCITY_COLUMNS):
        ve, vn, vu = (np.asarray(table[k], dtype=np.float64) for k in _LOCAL_VELOCITY_COLUMNS)
        uvw = enu2uvw(ve, vn, vu, lat, lon)
        out.update(zip(ENU_VELOCITY_COLUMNS, uvw2enu(*uvw, lat0_deg, lon0_deg), strict=True))
    return out


# ---------------------------------------------------------------------- over time


def gospa_over_time(
    truth_table: Mapping[str, ArrayLike],
    track_table: Mapping[str, ArrayLike],
    c: float,
    p: float = 2.0,
    alpha: float = 2.0,
    columns: Sequence[str] = ENU_COLUMNS,
    *,
    velocity_columns: Sequence[str] | None = ENU_VELOCITY_COLUMNS,
    max_age_s: float = 2.0,
    statuses: Sequence[str] = ("confirmed", "coasting"),
) -> dict[str, np.ndarray]:
    """GOSPA between truth and tracks at every truth time.

    Time alignment: the evaluation times are the distinct ``time`` values of the
    truth table, and the truth set at a time is the truth rows at exactly that
    time.  The track set at time ``t`` holds, for each ``track_id``, its latest
    row with ``t - max_age_s <= time <= t`` (never a later row), kept only if
    that row's ``status`` is one of ``statuses`` (so a track whose latest row is
    ``tentative`` or ``deleted`` is absent), and moved linearly with its
    velocity over ``t - time``.  Times at which the truth table has no row (no
    target exists) are not evaluated, so false tracks then go uncounted.

    Parameters
    ----------
    truth_table : mapping of str to array_like
        Columns ``time`` (seconds) and ``columns``.
    track_table : mapping of str to array_like
        Columns ``time`` (seconds), ``track_id``, ``columns``, ``velocity_columns``
        and optionally ``status`` (every row counts if absent).
    c : float
        Cut-off distance, metres (unit of ``columns``).
    p, alpha : float, optional
        GOSPA order and alpha, as in :func:`gospa`.
    columns : sequence of str, optional
        Position columns in a local Cartesian frame (default :data:`ENU_COLUMNS`,
        added by :func:`table_to_enu`).
    velocity_columns : sequence of str or None, optional
        Track velocity columns in the same frame, m/s (default
        :data:`ENU_VELOCITY_COLUMNS`); ``None`` holds each track at its last
        position.
    max_age_s : float, optional
        Oldest track row used, seconds before the evaluation time (default 2).
    statuses : sequence of str, optional
        Track statuses that count as reported (default confirmed and coasting).

    Returns
    -------
    dict of str to ndarray
        One entry per evaluation time: ``time`` (s), ``distance`` (m),
        ``localisation``, ``missed``, ``false`` (m**p, as in
        :class:`GospaResult`), ``n_truth``, ``n_tracks``, ``n_missed``,
        ``n_false`` (counts).
    """
    c, p, alpha = _check_gospa_params(c, p, alpha)
    if not max_age_s >= 0.0:
        raise ValueError(f"max_age_s must be >= 0 seconds, got {max_age_s!r}")
    tt = _times(truth_table, "truth")
    x_all = _matrix(truth_table, columns, "truth", tt.size, _ENU_HINT)
    kt = _times(track_table, "track")
    y_all = _matrix(track_table, columns, "track", kt.size, _ENU_HINT)
    if velocity_columns is None:
        v_all = np.zeros_like(y_all)
    else:
        hint = "pass velocity_columns=None to hold tracks at their last position"
        v_all = _matrix(track_table, velocity_columns, "track", kt.size, hint)
        if v_all.shape != y_all.shape:
            raise ValueError(f"velocity_columns {list(velocity_columns)} must match "
                             f"columns {list(columns)} one for one")
    ids = _column(track_table, "track_id", "track", rows=kt.size)
    shown = _status_mask(track_table, statuses, kt.size)

    order = np.argsort(tt, kind="stable")
    tt, x_all = tt[order], x_all[order]
    times, starts = np.unique(tt, return_index=True)
    ends = np.append(starts[1:], tt.size)[: starts.size]
    korder = np.argsort(kt, kind="stable")
    kt, y_all, v_all = kt[korder], y_all[korder], v_all[korder]
    ids, shown = ids[korder], shown[korder]
    lo = np.searchsorted(kt, times - max_age_s, side="left")
    hi = np.searchsorted(kt, times, side="right")

    out = {k: np.zeros(times.size) for k in ("distance", "localisation", "missed", "false")}
    counts = {k: np.zeros(times.size, dtype=np.int64)
              for k in ("n_truth", "n_tracks", "n_missed", "n_false")}
    for k, t in enumerate(times):
        # Latest row of each track in the window (rows are in time order).
        _, first_rev = np.unique(ids[lo[k]:hi[k]][::-1], return_index=True)
        rows = hi[k] - 1 - first_rev
        rows = rows[shown[rows]]
        y = y_all[rows] + v_all[rows] * (t - kt[rows])[:, None]
        x = x_all[starts[k]:ends[k]]
        r = _gospa_from_distances(cdist(x, y), c, p, alpha)
        out["distance"][k], out["localisation"][k] = r.distance, r.localisation
        out["missed"][k], out["false"][k] = r.missed, r.false
        counts["n_truth"][k], counts["n_tracks"][k] = len(x), len(y)
        counts["n_missed"][k], counts["n_false"][k] = r.n_missed, r.n_false
    return {"time": times, **out, **counts}
