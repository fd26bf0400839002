"""SIAP-style track quality: continuity, identity, false tracks and accuracy.

Association
    Each *counted* track update (a tracks-table row whose ``status`` is one of
    ``statuses``, by default ``confirmed``; every row if there is no status
    column) is compared with the truth at the update's own time.  Several rows of
    one track at one time count once, the last of them (a detection that arrives
    out of sequence refines the state at the time it already had, and the
    tracker emits the refined state as another row at that time).  Each target's
    position linearly interpolated between its two truth rows around that time
    (a target exists from its first to its last truth row).  All counted updates
    at one time are assigned to the targets in one optimal assignment
    (:func:`scipy.optimize.linear_sum_assignment`, minimising the sum of squared
    distances), and a pair is kept only if its distance is below ``gate_m``.
    An update is associated with at most one target, a target with at most one
    update per time.  Where several assignments are equally good (exact ties),
    which one is kept is not specified.

    The assignment is computed sparsely, with the same result: the pairs within
    ``gate_m`` are found with a k-d tree over all times at once
    (:class:`scipy.spatial.cKDTree`), and the problem is solved one connected
    component of those pairs at a time (lone pairs and stars at once, the rest
    with :func:`~scipy.optimize.linear_sum_assignment` on their own small
    block), since pairs outside the gate cost the same ``gate_m²`` whatever the
    assignment does with them.  There is no loop over time steps.

Per-pair gates
    With ``gate_per_truth_row`` each target has its own gate at each time (e.g.
    wider where its detections cannot locate it to ``gate_m``).  A pair's gate
    ``g`` is the gate of the target's first truth row at or after the update's
    time: a row's gate holds for the interval that ends at it, ``(t_{k-1},
    t_k]``, the convention of a bound computed per step from the detections of
    the step that ends at or after them
    (:func:`~skyfence.eval.harness.position_bounds`), so an update made from a
    plot is gated by the bound that has the plot in it.  The row before the
    update, or a mean of the two, would gate it by the bound *before* the plot:
    after a detection gap that is the bound of a target nobody has seen for
    minutes, kilometres wide.  The pair is kept only if ``d < g``.

    The assignment then minimises the sum of ``min(d / g, 1)²``: each pair costs
    its distance in units of its own gate, and leaving an update or a target
    out costs 1 for every one of them.  Raw distances would be inconsistent
    with the gates: an update 400 m from a target that can be located to within
    a 500-m gate and 600 m from one whose gate is 2 km would go to the first,
    whose gate it nearly misses, rather than to the second, well inside its
    own; scaled, the update goes where it is least surprising, as a statistical
    (Mahalanobis) distance would send it.  With one gate for all pairs the
    scaled costs are the squared distances divided by ``gate_m²``: the same
    assignment.  Without ``gate_per_truth_row`` nothing is scaled.

Probability of update
    A truth row counts as updated when the target's latest associated update is
    recent enough.  SIAP measures this against the expected update interval of
    the sensors covering the target, so "recent enough" follows their revisit:
    with ``revisit_s`` (per truth row, the scan period of the fastest sensor
    that detected the target around that time) the window of a row is
    ``max(max_gap_s, revisit_factor * revisit_s)``; a target seen only by a
    10-s radar is updated at most every 10 s, and a track that takes every one
    of its plots is counted as updating it throughout (with a fixed 5-s window
    it could never be).  Without ``revisit_s`` the window is ``max_gap_s``
    alone.  The fixed-window figures are kept beside the revisit-aware ones
    (``*_fixed``).

Figures (:class:`ContinuityResult`)
    Probability of update, long gaps, identity changes, false confirmed updates
    and tracks, time to confirm and position RMSE, each defined on its field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from skyfence.errors import DataError
from skyfence.eval.gospa import (
    _ENU_HINT,
    ENU_COLUMNS,
    _column,
    _frozen,
    _matrix,
    _status_mask,
    _times,
)

__all__ = ["ContinuityResult", "UpdateAssociation", "associate_updates", "track_continuity"]

Array = NDArray[np.float64]
Index = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class UpdateAssociation:
    """Which truth each track update was associated with.

    Attributes
    ----------
    truth_ids : ndarray
        The distinct ``truth_id`` values of the truth table, sorted.
    truth_index : ndarray of intp
        Per tracks-table row (input order): index into ``truth_ids`` of the
        associated target, -1 if none (or if the row is not counted).
    distance_m : ndarray of float64
        Per tracks-table row: distance to the associated target's interpolated
        position, metres (unit of the position columns); NaN if none.
    counted : ndarray of bool
        Per tracks-table row: whether its status is one of the counted statuses.
    """

    truth_ids: np.ndarray
    truth_index: Index
    distance_m: Array
    counted: NDArray[np.bool_]

    def first_update_time(self, track_time: ArrayLike) -> Array:
        """Per target of ``truth_ids``, the time of its first associated update (``inf``
        if none); ``track_time`` is the tracks table's time column."""
        a = np.flatnonzero(self.truth_index >= 0)
        first = np.full(self.truth_ids.size, np.inf)
        np.minimum.at(first, self.truth_index[a], np.asarray(track_time, np.float64)[a])
        return first


@dataclass(frozen=True, eq=False)
class ContinuityResult:
    """Track quality figures from :func:`track_continuity`.

    Attributes
    ----------
    probability_of_update : float
        Share (dimensionless, 0…1) of evaluated truth rows at whose time ``t``
        the target's latest associated update (at or before ``t``) is at most
        the row's window old: ``max(max_gap_s, revisit_factor * revisit_s)``
        with ``revisit_s`` (the revisit of the sensors covering the row; see the
        module docstring), ``max_gap_s`` without; NaN if no truth row was
        evaluated.
    probability_of_update_tracked : float
        The same over the evaluated rows of targets once they are tracked: rows at
        or after the target's first associated update (a target never tracked, or
        the time before its track is confirmed, does not count; a track lost while
        its target is still in coverage does).  NaN if there is no such row.
    probability_of_update_fixed, probability_of_update_tracked_fixed : float
        The two figures above with the fixed window ``max_gap_s`` for every row
        (whatever ``revisit_s``): the figures before the window followed the
        sensors' revisit.  Equal to them without ``revisit_s``.
    n_truth_steps : int
        Evaluated truth rows: the ``owed`` ones if given, else those inside
        ``coverage`` (all rows without either).
    n_truth_steps_updated : int
        Evaluated truth rows counted as updated (the numerator above).
    n_long_gaps : int
        Gaps longer than ``long_gap_s``.  A gap of a target is the time between
        two consecutive updates associated with it, or between its last
        associated update and its last truth row inside ``coverage``; the time
        before its first associated update is not a gap (see
        ``time_to_confirm_s``).  Interior gaps ignore ``coverage``.
    n_track_id_changes : int
        Identity swaps seen from the truth: along each target's associated
        updates in time order, the number of times the track id differs from the
        previous one (a target followed by two tracks alternately counts every
        alternation).
    n_truth_changes : int
        Identity swaps seen from the track: along each track's associated
        updates in time order, the number of times the target differs from the
        previous one.
    n_counted_updates : int
        Counted (by default confirmed) track updates.
    n_false_updates : int
        Counted updates associated with no target.
    false_update_share : float
        ``n_false_updates / n_counted_updates`` (dimensionless); NaN if none.
    n_false_tracks : int
        Track ids with at least one counted update but none associated.
    truth_ids : ndarray
        The distinct truth ids, sorted; the order of ``time_to_confirm_s``.
    time_to_confirm_s : ndarray of float64
        Per target, seconds from its first truth row inside ``coverage`` to its
        first associated update; NaN if it has neither.  Negative if the track
        was confirmed before the target entered ``coverage``.
    position_rmse_m : float
        Root mean square distance of the associated updates to the interpolated
        truth, metres; NaN if none.
    n_associated_updates : int
        Counted updates associated with a target.
    association : UpdateAssociation
        The association the figures were computed from.
    """

    probability_of_update: float
    probability_of_update_tracked: float
    probability_of_update_fixed: float
    probability_of_update_tracked_fixed: float
    n_truth_steps: int
    n_truth_steps_updated: int
    n_long_gaps: int
    n_track_id_changes: int
    n_truth_changes: int
    n_counted_updates: int
    n_false_updates: int
    false_update_share: float
    n_false_tracks: int
    truth_ids: np.ndarray
    time_to_confirm_s: Array
    position_rmse_m: float
    n_associated_updates: int
    association: UpdateAssociation


def _check_positive(name: str, value: float) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def _time_ranks(*times: Array) -> tuple[list[NDArray[np.int64]], np.int64]:
    """Rank of every time among the distinct times of all arrays, and their count."""
    distinct, inv = np.unique(np.concatenate(times), return_inverse=True)
    bounds = np.cumsum([0] + [t.size for t in times])
    ranks = [inv[lo:hi].astype(np.int64) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    return ranks, np.int64(distinct.size)


def _latest_at_or_before(
    group_ref: Index, key_ref: NDArray[np.int64], group_q: Index, key_q: NDArray[np.int64]
) -> Index:
    """Per query, the index of the latest reference row of the same group at or before it.

    Keys are ``group * span + time_rank`` (see :func:`_time_ranks`); ``key_ref``
    must be sorted.  -1 where the group has no row at or before the query time.
    """
    idx = np.searchsorted(key_ref, key_q, side="right") - 1
    ok = idx >= 0
    ok[ok] = group_ref[idx[ok]] == group_q[ok]
    return np.where(ok, idx, -1)


def associate_updates(
    truth_table: Mapping[str, ArrayLike],
    track_table: Mapping[str, ArrayLike],
    gate_m: float,
    columns: Sequence[str] = ENU_COLUMNS,
    statuses: Sequence[str] = ("confirmed",),
    horizontal: ArrayLike | None = None,
    gate_per_truth_row: ArrayLike | None = None,
) -> UpdateAssociation:
    """Associate each counted track update with a target (see the module docstring).

    Parameters
    ----------
    truth_table : mapping of str to array_like
        Columns ``time`` (s), ``truth_id`` and ``columns``.
    track_table : mapping of str to array_like
        Columns ``time`` (s), ``columns`` and optionally ``status``.
    gate_m : float
        Largest distance of an associated pair (exclusive), metres.
    columns : sequence of str, optional
        Position columns in a local Cartesian frame, metres (default
        :data:`~skyfence.eval.gospa.ENU_COLUMNS`).
    statuses : sequence of str, optional
        Track statuses that are counted (default ``("confirmed",)``).
    horizontal : array_like of bool, optional
        Per track row: measure its distance on the first two ``columns`` only (east
        and north: a track whose height nobody measured, such as one seen by 2D radars
        alone, is judged on where it is over the ground).  Default: every row in all
        ``columns``.
    gate_per_truth_row : array_like of float, optional
        Per truth row: the gate of the target at that time, metres, used instead of
        ``gate_m`` (NaN: ``gate_m``); e.g. wider where the target cannot be located
        to ``gate_m`` from its detections.  A row's gate holds for the time since
        the target's previous row: a pair's gate is that of the target's first row
        at or after the update's time, and the assignment weighs each pair by its
        distance over its gate (see "Per-pair gates" in the module docstring).
        Default: ``gate_m`` for every pair, the distances unweighted.

    Returns
    -------
    UpdateAssociation
    """
    gate_m = _check_positive("gate_m", gate_m)
    tt = _times(truth_table, "truth")
    tid = _column(truth_table, "truth_id", "truth", rows=tt.size)
    x_all = _matrix(truth_table, columns, "truth", tt.size, _ENU_HINT)
    kt = _times(track_table, "track")
    y_all = _matrix(track_table, columns, "track", kt.size, _ENU_HINT)
    counted = _status_mask(track_table, statuses, kt.size)
    if "track_id" in track_table and counted.any():
        # one update per track and time: the last row (an out-of-sequence refinement)
        rows = np.flatnonzero(counted)
        tids = np.asarray(track_table["track_id"])[rows]
        _, tid_rank = np.unique(tids, return_inverse=True)
        order = np.lexsort((rows, kt[rows], tid_rank))
        r, tr_, tm = rows[order], tid_rank[order], kt[rows][order]
        later = np.append((tr_[1:] == tr_[:-1]) & (tm[1:] == tm[:-1]), False)
        counted = counted.copy()
        counted[r[later]] = False

    gates = None
    if gate_per_truth_row is not None:
        gates = np.asarray(gate_per_truth_row, dtype=np.float64)
        if gates.shape != tt.shape:
            raise DataError(f"gate_per_truth_row must be one gate per truth row {tt.shape}, got "
                            f"shape {gates.shape}")
        gates = np.where(np.isnan(gates), gate_m, gates)
        if not (np.isfinite(gates) & (gates > 0.0)).all():
            raise DataError("gate_per_truth_row must be finite gates > 0 (metres; NaN: gate_m)")

    truth_ids, rank = np.unique(tid, return_inverse=True)
    order = np.lexsort((tt, rank))
    truth = _SortedTruth(rank[order], tt[order], x_all[order],
                         None if gates is None else gates[order])

    truth_index = np.full(kt.size, -1, dtype=np.intp)
    distance = np.full(kt.size, np.nan)
    rows = np.nonzero(counted)[0]
    flat = np.zeros(kt.size, bool) if horizontal is None else np.asarray(horizontal, bool)
    if flat.shape != kt.shape:
        raise DataError(f"horizontal must be one boolean per track row {kt.shape}, got shape "
                        f"{flat.shape}")
    rows = np.concatenate([rows[~flat[rows]], rows[flat[rows]]])
    n3 = int(np.count_nonzero(~flat[rows]))
    u, n, d, g = _gated_pairs(truth, kt[rows[:n3]], y_all[rows[:n3]], gate_m)
    if n3 < rows.size:
        flat_truth = _SortedTruth(truth.rank, truth.time, truth.pos[:, :2], truth.gate)
        u2, n2, d2, g2 = _gated_pairs(flat_truth, kt[rows[n3:]], y_all[rows[n3:], :2], gate_m)
        u, n = np.concatenate([u, u2 + n3]), np.concatenate([n, n2])
        d, g = np.concatenate([d, d2]), np.concatenate([g, g2])
    if u.size:
        # A target at one time is one node: key (rank of the update time, target).
        _, time_rank = np.unique(kt[rows], return_inverse=True)
        key = time_rank[u].astype(np.int64) * truth_ids.size + n
        # per-pair gates: each pair costs its distance in units of its own gate
        keep = _assign(u, key, d, gate_m) if gates is None else _assign(u, key, d / g, 1.0)
        truth_index[rows[u[keep]]] = n[keep]
        distance[rows[u[keep]]] = d[keep]
    return UpdateAssociation(
        truth_ids=_frozen(truth_ids),
        truth_index=_frozen(truth_index),
        distance_m=_frozen(distance),
        counted=_frozen(counted.copy()),
    )


@dataclass(frozen=True, eq=False)
class _SortedTruth:
    """Truth rows sorted by target, then time."""

    rank: Index  # target of each row (index into the sorted distinct ids)
    time: Array
    pos: Array  # (rows, k)
    gate: Array | None = None  # gate of each row, metres (None: one gate for all)


def _gated_pairs(
    truth: _SortedTruth, t: Array, y: Array, gate_m: float
) -> tuple[Index, Index, Array, Array]:
    """Every (update, target) pair closer than its gate at the update's time.

    Returns the update index (into ``t``), the target, the distance to the
    target's position interpolated at ``t`` and the pair's gate, for each pair
    whose target exists at that time (its first truth row <= ``t`` <= its last).
    The gate is ``gate_m``, or with ``truth.gate`` that of the target's first row
    at or after ``t``.

    Candidates come from one k-d tree query in (position, scaled time): a pair
    closer than ``gate_m`` has the target's latest row at or before ``t`` no
    more than ``G`` (the longest time between two rows of a target) before it
    and no further than ``gate_m + L`` from the update (``L`` the longest step
    between two rows of a target): inside a box of half-width ``gate_m + L``
    about ``(y, t - G/2)`` once time is scaled by ``(gate_m + L) / (G/2)``, so
    within ``√2 (gate_m + L)`` of it.  Each candidate is then checked exactly.
    The cost grows with ``G`` and ``L``: a truth table sampled sparsely makes
    more candidates, never a wrong answer.  With per-row gates the search uses
    the largest of them for ``gate_m``,
    and each candidate is checked against its own gate.
    """
    empty = (np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0), np.zeros(0))
    if t.size == 0 or truth.time.size == 0:
        return empty
    rank_s, tt_s, x_s = truth.rank, truth.time, truth.pos
    same = rank_s[1:] == rank_s[:-1]  # rows r and r + 1 belong to one target
    t_next = np.full(tt_s.size, np.inf)  # time of the target's next row
    t_next[:-1][same] = tt_s[1:][same]
    steps = np.diff(x_s, axis=0)[same]
    longest_step = float(np.sqrt((steps**2).sum(axis=1)).max(initial=0.0))
    longest_gap = float(np.diff(tt_s)[same].max(initial=0.0))

    search_m = gate_m if truth.gate is None else float(truth.gate.max())
    # Margins keep rounding from losing a candidate; extra ones are checked out below.
    reach = (search_m + longest_step) * (1.0 + 1e-9) + 1e-6
    half = 0.5 * longest_gap * (1.0 + 1e-9) + 1e-6
    scale = reach / half
    t0 = min(float(tt_s.min()), float(t.min()))
    tree_truth = cKDTree(np.column_stack([x_s, scale * (tt_s - t0)]))
    tree_upd = cKDTree(np.column_stack([y, scale * (t - 0.5 * longest_gap - t0)]))
    # Inside the box means within √2·reach (Euclidean), which the tree answers fastest.
    near = tree_upd.sparse_distance_matrix(tree_truth, np.sqrt(2.0) * reach * (1.0 + 1e-9),
                                           output_type="ndarray")
    u = near["i"].astype(np.intp)
    i = near["j"].astype(np.intp)

    # Keep the target's latest row at or before t, where the target exists at t.
    tu = t[u]
    ok = (tt_s[i] <= tu) & (tu < t_next[i]) & (np.isfinite(t_next[i]) | (tt_s[i] == tu))
    u, i, tu = u[ok], i[ok], tu[ok]
    j = i + (tt_s[i] < tu)
    dt = np.where(j > i, tt_s[j] - tt_s[i], 1.0)
    w = np.where(j > i, (tu - tt_s[i]) / dt, 0.0)
    x = x_s[i] + w[:, None] * (x_s[j] - x_s[i])
    d = np.sqrt(((y[u] - x) ** 2).sum(axis=1))
    if truth.gate is None:
        gate = np.full(d.size, gate_m)
    else:
        gate = truth.gate[j]
    inside = d < gate
    return u[inside], rank_s[i[inside]].astype(np.intp), d[inside], gate[inside]


def _assign(u: Index, v: NDArray[np.int64], d: Array, gate_m: float) -> NDArray[np.bool_]:
    """Which gated pairs an optimal assignment keeps, one connected component at a time.

    ``u`` and ``v`` name the two sides of each pair (an update; a target at the
    update's time), ``d`` < ``gate_m`` its distance (with per-pair gates: its
    distance over its gate, and ``gate_m`` = 1).  Minimising the sum of
    ``min(d, gate_m)²`` over all updates and targets of a time step only ever
    trades pairs inside the gate against each other, so the problem splits
    into the connected components of the gated pairs: a lone pair is kept, a
    star (one update or one target) keeps its nearest pair, and any other
    component is solved with :func:`scipy.optimize.linear_sum_assignment` on
    its own small dense block (``gate_m²`` where there is no pair), as the
    dense problem would.  Returns a mask over the pairs.
    """
    uu, u_node = np.unique(u, return_inverse=True)
    _, v_node = np.unique(v, return_inverse=True)
    n_u = uu.size
    n_nodes = n_u + int(v_node.max()) + 1
    graph = coo_matrix((np.ones(u.size, np.int8), (u_node, n_u + v_node)),
                       shape=(n_nodes, n_nodes))
    _, label = connected_components(graph, directed=False)
    comp = label[u_node]
    edges = np.bincount(comp)
    n_u_in = np.bincount(label[:n_u], minlength=edges.size)
    n_v_in = np.bincount(label[n_u:], minlength=edges.size)
    keep = np.zeros(u.size, dtype=bool)

    # Lone pairs and stars: the nearest pair of the component (first of equals).
    star = (n_u_in[comp] == 1) | (n_v_in[comp] == 1)
    by = np.lexsort((d, comp))
    by = by[star[by]]
    first = np.ones(by.size, dtype=bool)
    first[1:] = comp[by][1:] != comp[by][:-1]
    keep[by[first]] = True

    # The rest: one small dense assignment each.
    rest = np.nonzero(~star)[0]
    rest = rest[np.argsort(comp[rest], kind="stable")]
    bounds = np.flatnonzero(np.diff(comp[rest])) + 1
    for part in np.split(rest, bounds) if rest.size else []:
        ru, r = np.unique(u_node[part], return_inverse=True)
        cv, c = np.unique(v_node[part], return_inverse=True)
        dist = np.full((ru.size, cv.size), np.inf)
        dist[r, c] = d[part]
        ri, ci = linear_sum_assignment(np.minimum(dist, gate_m) ** 2)
        pair = np.full((ru.size, cv.size), -1, dtype=np.intp)
        pair[r, c] = part
        chosen = pair[ri, ci]
        keep[chosen[(chosen >= 0) & (dist[ri, ci] < gate_m)]] = True
    return keep


def _changes(group: Index, value: Index, time: Array) -> int:
    """How often ``value`` changes along each group's rows in time order."""
    o = np.lexsort((time, group))
    g, v = group[o], value[o]
    return int(np.count_nonzero((g[1:] == g[:-1]) & (v[1:] != v[:-1])))


def track_continuity(
    truth_table: Mapping[str, ArrayLike],
    track_table: Mapping[str, ArrayLike],
    gate_m: float,
    *,
    max_gap_s: float = 5.0,
    long_gap_s: float = 10.0,
    coverage: ArrayLike | None = None,
    columns: Sequence[str] = ENU_COLUMNS,
    statuses: Sequence[str] = ("confirmed",),
    association: UpdateAssociation | None = None,
    revisit_s: ArrayLike | None = None,
    revisit_factor: float = 1.5,
    owed: ArrayLike | None = None,
) -> ContinuityResult:
    """SIAP-style track quality of a tracks table against a truth table.

    Parameters
    ----------
    truth_table : mapping of str to array_like
        Columns ``time`` (s), ``truth_id`` and ``columns``.
    track_table : mapping of str to array_like
        Columns ``time`` (s), ``track_id``, ``columns`` and optionally ``status``.
    gate_m : float
        Largest distance of an associated update (exclusive), metres.
    max_gap_s : float, optional
        Oldest associated update that still counts a truth row as updated,
        seconds (default 5); the least window when ``revisit_s`` is given.
    long_gap_s : float, optional
        Gaps longer than this count as long, seconds (default 10).
    coverage : array_like of bool, optional
        Per truth row: inside the sensors' coverage.  Only these rows count
        towards the probability of update, the start of time to confirm and the
        end of a trailing gap.  Default: every row.
    columns : sequence of str, optional
        Position columns in a local Cartesian frame, metres (default
        :data:`~skyfence.eval.gospa.ENU_COLUMNS`).
    statuses : sequence of str, optional
        Track statuses that are counted as updates (default ``("confirmed",)``).
    association : UpdateAssociation, optional
        :func:`associate_updates` of these tables with this ``gate_m``, ``columns`` and
        ``statuses``, when it is already at hand (e.g. to score several ``coverage``
        masks of one run); computed when omitted.
    revisit_s : array_like of float, optional
        Per truth row: the expected update interval of the sensors covering the
        target at that time (the scan period of the fastest sensor that detected
        it), seconds; NaN or inf where unknown (the window is then ``max_gap_s``).
        The row's window is ``max(max_gap_s, revisit_factor * revisit_s)``.
        Default: ``max_gap_s`` for every row.
    revisit_factor : float, optional
        Revisits a row's window spans (default 1.5: one missed look is not held
        against the tracker, two are).
    owed : array_like of bool, optional
        Per truth row: an update of the target is owed at that time (e.g. the target
        was detected within the row's window before it,
        :func:`~skyfence.eval.harness.seen_before`).  When given, the probability of
        update counts these rows instead of ``coverage`` (which still bounds time to
        confirm and the trailing gaps).

    Returns
    -------
    ContinuityResult
    """
    max_gap_s = _check_positive("max_gap_s", max_gap_s)
    revisit_factor = _check_positive("revisit_factor", revisit_factor)
    long_gap_s = _check_positive("long_gap_s", long_gap_s)
    assoc = association if association is not None else \
        associate_updates(truth_table, track_table, gate_m, columns, statuses)
    tt = _times(truth_table, "truth")
    rank = np.searchsorted(assoc.truth_ids, _column(truth_table, "truth_id", "truth"))
    kt = _times(track_table, "track")
    if assoc.truth_index.size != kt.size:
        raise DataError(f"association has {assoc.truth_index.size} track rows, the tracks "
                        f"table {kt.size}: it belongs to other tables")
    _, track_rank = np.unique(_column(track_table, "track_id", "track", rows=kt.size),
                              return_inverse=True)
    if coverage is None:
        mask = np.ones(tt.size, dtype=bool)
    else:
        mask = np.asarray(coverage)
        if mask.dtype != bool or mask.shape != tt.shape:
            raise DataError(f"coverage must be a boolean array of one value per truth row "
                            f"{tt.shape}, got dtype {mask.dtype} and shape {mask.shape}")
    n_truth = assoc.truth_ids.size
    window = np.full(tt.size, max_gap_s)
    if revisit_s is not None:
        rev = np.asarray(revisit_s, dtype=np.float64)
        if rev.shape != tt.shape:
            raise DataError(f"revisit_s must be one value per truth row {tt.shape}, got shape "
                            f"{rev.shape}")
        if (rev <= 0).any():
            raise DataError("revisit_s must be > 0 (NaN or inf where unknown)")
        known = np.isfinite(rev)
        window[known] = np.maximum(max_gap_s, revisit_factor * rev[known])

    a = np.nonzero(assoc.truth_index >= 0)[0]
    a_truth, a_time, a_track = assoc.truth_index[a], kt[a], track_rank[a]
    o = np.lexsort((a_time, a_truth))
    s_truth, s_time = a_truth[o], a_time[o]

    # Probability of update over the evaluated truth rows.
    qc = np.nonzero(mask)[0]
    if owed is None:
        q = qc
    else:
        due = np.asarray(owed)
        if due.dtype != bool or due.shape != tt.shape:
            raise DataError(f"owed must be a boolean array of one value per truth row "
                            f"{tt.shape}, got dtype {due.dtype} and shape {due.shape}")
        q = np.nonzero(due)[0]
    (s_rank_t, q_rank_t), span = _time_ranks(s_time, tt[q])
    idx = _latest_at_or_before(s_truth, s_truth.astype(np.int64) * span + s_rank_t,
                               rank[q], rank[q].astype(np.int64) * span + q_rank_t)
    age = np.full(q.size, np.inf)
    age[idx >= 0] = tt[q][idx >= 0] - s_time[idx[idx >= 0]]
    held = age <= window[q]
    held_fixed = age <= max_gap_s
    n_steps, n_held = int(q.size), int(np.count_nonzero(held))
    first_upd = assoc.first_update_time(kt)
    tracked = tt[q] >= first_upd[rank[q]]
    n_tracked = int(tracked.sum())

    def share(num: int, den: int) -> float:
        return num / den if den else float("nan")

    # Long gaps: between consecutive associated updates, and after the last one.
    same = s_truth[1:] == s_truth[:-1]
    interior = int(np.count_nonzero(same & (np.diff(s_time) > long_gap_s)))
    last_cov = np.full(n_truth, -np.inf)
    np.maximum.at(last_cov, rank[qc], tt[qc])
    last_upd = np.full(n_truth, np.inf)
    if s_time.size:
        ends = np.append(~same, True)
        last_upd[s_truth[ends]] = s_time[ends]
    trailing = int(np.count_nonzero(last_cov - last_upd > long_gap_s))

    # Time to confirm.
    first_cov = np.full(n_truth, np.inf)
    np.minimum.at(first_cov, rank[qc], tt[qc])
    known = np.isfinite(first_cov) & np.isfinite(first_upd)
    ttc = np.where(known, first_upd - np.where(known, first_cov, 0.0), np.nan)

    counted = assoc.counted
    n_counted = int(np.count_nonzero(counted))
    n_false = n_counted - a.size
    false_tracks = np.setdiff1d(track_rank[counted], a_track).size
    d = assoc.distance_m[a]
    return ContinuityResult(
        probability_of_update=share(n_held, n_steps),
        probability_of_update_tracked=share(int(np.count_nonzero(held & tracked)), n_tracked),
        probability_of_update_fixed=share(int(np.count_nonzero(held_fixed)), n_steps),
        probability_of_update_tracked_fixed=share(int(np.count_nonzero(held_fixed & tracked)),
                                                  n_tracked),
        n_truth_steps=n_steps,
        n_truth_steps_updated=n_held,
        n_long_gaps=interior + trailing,
        n_track_id_changes=_changes(a_truth, a_track, a_time),
        n_truth_changes=_changes(a_track, a_truth, a_time),
        n_counted_updates=n_counted,
        n_false_updates=n_false,
        false_update_share=n_false / n_counted if n_counted else float("nan"),
        n_false_tracks=int(false_tracks),
        truth_ids=assoc.truth_ids,
        time_to_confirm_s=_frozen(ttc),
        position_rmse_m=float(np.sqrt(np.mean(d**2))) if d.size else float("nan"),
        n_associated_updates=int(a.size),
        association=assoc,
    )
