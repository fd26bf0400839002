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
        bounds = np.flatnonzero(np.diff(cl[order])) + 1
        for grp in np.split(order, bounds):
            ti, tinv = np.unique(track_idx[grp], return_inverse=True)
            di, dinv = np.unique(det_idx[grp], return_inverse=True)
            mat = np.zeros((ti.size, di.size))       # 0: leave unassigned
            pair_at = np.full((ti.size, di.size), -1, np.int64)
            mat[tinv, dinv] = np.minimum(cost[grp], 0.0)
            pair_at[tinv, dinv] = grp
            r, c = linear_sum_assignment(mat)
            take = pair_at[r, c]
            chosen.append(take[(take >= 0) & (mat[r, c] < 0)])
    return np.sort(np.concatenate(chosen)), cl
