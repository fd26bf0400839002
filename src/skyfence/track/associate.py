"""Global nearest neighbour: an optimal assignment per connected cluster of the gate graph.

Gated (track, detection) pairs form a bipartite graph; each connected cluster
is an independent assignment problem.  Clusters of one track and one detection
(the great majority in a sparse sky) are settled in one vectorised step; the
rest are solved exactly with :func:`scipy.optimize.linear_sum_assignment`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["gnn_assign"]


def gnn_assign(track_idx: np.ndarray, det_idx: np.ndarray, cost: np.ndarray, n_tracks: int,
               n_dets: int) -> tuple[np.ndarray, np.ndarray]:
    """Assign detections to tracks, at most one each, minimising the total cost.

    Parameters
    ----------
    track_idx, det_idx : (P,) int
        The gated pairs.
    cost : (P,) float
        Cost of each pair, **negative** for a pair better than leaving both
        unassigned (e.g. ``d² − gate``): a pair is only taken if it lowers the total.
    n_tracks, n_dets : int
        Sizes of the two sets.

    Returns
    -------
    pairs : (A,) int
        Indices into the pair arrays of the chosen pairs.
    cluster : (P,) int
        The cluster label of every pair (for diagnostics).
    """
    p = track_idx.size
    if p == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    nodes = n_tracks + n_dets
    graph = coo_matrix((np.ones(p), (track_idx, n_tracks + det_idx)), shape=(nodes, nodes))
    _, label = connected_components(graph, directed=False)
    cl = label[track_idx]
    # pairs per cluster: singletons are the clusters with exactly one pair
    counts = np.bincount(cl, minlength=int(label.max()) + 1)
    single = counts[cl] == 1
    chosen = [np.flatnonzero(single & (cost < 0))]
    multi = np.flatnonzero(~single)
    if multi.size:
        order = multi[np.argsort(cl[multi], kind="stable")]
        c = cl[order]
        # compact, per-cluster row and column numbers, all at once
        big = np.int64(n_tracks + n_dets + 1)
        _, t_rank = np.unique(c * big + track_idx[order], return_inverse=True)
        _, d_rank = np.unique(c * big + det_idx[order], return_inverse=True)
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        ends = np.r_[starts[1:], c.size]
        t_first = np.minimum.reduceat(t_rank, starts)
        d_first = np.minimum.reduceat(d_rank, starts)
        rows = t_rank - np.repeat(t_first, ends - starts)
        cols = d_rank - np.repeat(d_first, ends - starts)
        costs = np.minimum(cost[order], 0.0)
        for a, b, t0, d0 in zip(starts.tolist(), ends.tolist(), t_first.tolist(),
                                d_first.tolist(), strict=True):
            r, k = rows[a:b], cols[a:b]
            nt = int(t_rank[a:b].max()) - t0 + 1
            nd = int(d_rank[a:b].max()) - d0 + 1
            mat = np.zeros((nt, nd))               # 0: leave unassigned
            pair_at = np.full((nt, nd), -1, np.int64)
            mat[r, k] = costs[a:b]
            pair_at[r, k] = order[a:b]
            rr, cc = linear_sum_assignment(mat)
            take = pair_at[rr, cc]
            chosen.append(take[(take >= 0) & (mat[rr, cc] < 0)])
    return np.sort(np.concatenate(chosen)), cl
