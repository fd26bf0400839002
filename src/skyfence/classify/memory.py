"""Per-track memory of class evidence: a track does not change what it is.

The model scores each track row from features that summarise the track so far, but
those features still move from row to row (a bird's speed estimate after a gust, a
flock's RCS as it spreads): a per-row posterior flips between classes every few
seconds, and every flip towards "drone" is a chance of a false incursion alert.
:class:`ClassMemory` keeps, per track, the exponentially weighted mean of the log
class likelihoods of its rows (a geometric mean of the recent per-row evidence) with
time constant ``memory_s``:

    S_k = d_k S_{k-1} + log L_k,   W_k = d_k W_{k-1} + 1,   d_k = exp(-(t_k - t_{k-1}) / memory_s)

and returns ``S_k / W_k`` for each row.  A new track's first row is its own evidence;
a steady track converges to the mean of its last ``memory_s`` seconds.  A gap between
two rows decays the memory by at most ``max_gap_s`` (``t_k - t_{k-1}`` is clipped
there): evidence is forgotten as new evidence comes, not while nothing is seen.  A bird
track that the tracker kept through a 46-s gap (a lost track re-found) would otherwise
come back with no memory at all, and one row with a jumped velocity estimate made it a
drone (vilnius-swarm: an alert on a 900-update bird track).  A row older
than the track's latest (out of sequence) is folded in without decay.  The mean of
log-likelihoods is a tempered product: it does not pretend that correlated rows are
independent evidence, so the result stays calibrated where the per-row model was.

Rows are folded in per track in time order, vectorised over tracks: one numpy pass
per rank of a row within its track in the batch (a 1-s batch holds one to a few rows
per track).
"""

from __future__ import annotations

import numpy as np

__all__ = ["ClassMemory", "insert_sorted", "locate"]


def locate(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``ids`` is (or would be inserted) in the sorted array ``sorted_ids``,
    and whether it is there."""
    pos = np.searchsorted(sorted_ids, ids)
    if sorted_ids.size == 0:
        return pos, np.zeros(ids.size, bool)
    return pos, sorted_ids[np.minimum(pos, sorted_ids.size - 1)] == ids


def insert_sorted(sorted_ids: np.ndarray, new_ids: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``sorted_ids`` with ``new_ids`` added, sorted, and the order that sorts their
    concatenation: apply it to every per-id column concatenated the same way."""
    allid = np.concatenate([sorted_ids, new_ids])
    order = np.argsort(allid, kind="stable")
    return allid[order], order


class ClassMemory:
    """Exponentially weighted mean of per-row log class likelihoods, per track.

    Parameters
    ----------
    n_classes : int
    memory_s : float
        Time constant, seconds (> 0).
    max_gap_s : float
        Longest gap between two rows that decays the memory in full, seconds (> 0).
    """

    def __init__(self, n_classes: int, memory_s: float, max_gap_s: float = np.inf) -> None:
        if not memory_s > 0:
            raise ValueError(f"memory_s must be positive, got {memory_s}")
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be positive, got {max_gap_s}")
        self.memory_s = float(memory_s)
        self.max_gap_s = float(max_gap_s)
        self.ids = np.zeros(0, np.int64)
        self._S = np.zeros((0, n_classes))
        self._W = np.zeros(0)
        self._t = np.zeros(0)

    def __len__(self) -> int:
        return int(self.ids.size)

    def _slots(self, ids: np.ndarray) -> np.ndarray:
        """Slots of distinct ``ids``, adding the unknown ones (empty memory)."""
        pos, found = locate(self.ids, ids)
        if not found.all():
            new = ids[~found]
            self.ids, order = insert_sorted(self.ids, new)
            self._S = np.concatenate([self._S, np.zeros((new.size, self._S.shape[1]))])[order]
            self._W = np.concatenate([self._W, np.zeros(new.size)])[order]
            self._t = np.concatenate([self._t, np.full(new.size, np.nan)])[order]
            pos = np.searchsorted(self.ids, ids)
        return pos

    def fold(self, track_id: np.ndarray, time: np.ndarray, log_lk: np.ndarray) -> np.ndarray:
        """Fold rows in; returns the remembered log likelihoods of each row (n, n_classes).

        Parameters
        ----------
        track_id : ndarray of int, shape (n,)
        time : ndarray of float, shape (n,)
            Row times, s (a non-finite time is folded in without decay).
        log_lk : ndarray, shape (n, n_classes)
            Log class likelihoods of the rows (finite).
        """
        n = track_id.size
        out = np.empty_like(log_lk)
        if n == 0:
            return out
        t = np.where(np.isfinite(time), time, -np.inf)
        order = np.lexsort((t, track_id))
        tid = track_id[order]
        first = np.ones(n, bool)
        first[1:] = tid[1:] != tid[:-1]
        start = np.flatnonzero(first)
        size = np.diff(np.append(start, n))
        rank = np.arange(n) - np.repeat(start, size)
        slot = np.repeat(self._slots(tid[start]), size)
        for r in range(int(rank.max()) + 1):
            k = np.flatnonzero(rank == r)
            s, rows = slot[k], order[k]
            tr = t[rows]
            dt = tr - self._t[s]
            # new memory: nothing to decay; out of sequence or no time: no decay
            d = np.where(np.isnan(dt), 0.0,
                         np.exp(-np.clip(np.nan_to_num(dt, nan=0.0, neginf=0.0), 0.0,
                                         self.max_gap_s) / self.memory_s))
            self._S[s] = d[:, None] * self._S[s] + log_lk[rows]
            self._W[s] = d * self._W[s] + 1.0
            self._t[s] = np.fmax(self._t[s], np.where(np.isfinite(tr), tr, np.nan))
            out[rows] = self._S[s] / self._W[s][:, None]
        return out

    def forget(self, ids: np.ndarray) -> None:
        """Drop the memory of tracks that ended."""
        if ids.size and self.ids.size:
            keep = ~np.isin(self.ids, ids)
            self.ids, self._S = self.ids[keep], self._S[keep]
            self._W, self._t = self._W[keep], self._t[keep]
