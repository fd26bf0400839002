"""Global nearest neighbour: an optimal assignment per connected cluster of the gate graph.

Gated (track, detection) pairs form a bipartite graph; each connected cluster
is an independent assignment problem.  One compiled pass
(:func:`skyfence.track.kernels.gnn_clusters`) finds the clusters with a
union-find, settles those of one pair (the great majority in a sparse sky) and
the stars (one track or one detection: the cheapest pair) directly, and solves
the rest exactly by shortest augmenting paths (Kuhn-Munkres with potentials).
"""

from __future__ import annotations

import numpy as np

from skyfence.track.kernels import gnn_clusters

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
        unassigned (e.g. ``d² − gate``): a pair is only taken if it lowers the total
        (a NaN or ``+inf`` cost is never taken).
    n_tracks, n_dets : int
        Sizes of the two sets.

    Returns
    -------
    pairs : (A,) int
        Indices into the pair arrays of the chosen pairs, ascending.
    cluster : (P,) int
        The cluster label of every pair (for diagnostics): clusters are numbered in
        the order of their smallest node, tracks before detections.

    Raises
    ------
    ValueError
        If the arrays differ in shape, an index is out of range or a cost is ``-inf``.
    """
    ti = np.asarray(track_idx, dtype=np.int64)
    di = np.asarray(det_idx, dtype=np.int64)
    c = np.asarray(cost, dtype=np.float64)
    p = ti.size
    if ti.shape != (p,) or di.shape != (p,) or c.shape != (p,):
        raise ValueError(f"gnn_assign expects pair arrays of one shape (P,), got {ti.shape}, "
                         f"{di.shape} and {c.shape}")
    if p == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if np.isneginf(c).any():
        raise ValueError("gnn_assign: a cost is -inf")
    chosen, cluster = gnn_clusters(ti, di, c, n_tracks, n_dets)
    return np.flatnonzero(chosen), cluster
