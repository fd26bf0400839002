"""The state of all tracks as one structure of arrays.

Means ``x (N, d)``, covariances ``P (N, d, d)`` and parallel arrays of ids,
times and bookkeeping.  With an IMM the table also holds each track's ``M``
model-conditioned states ``xm (N, M, d)``, ``Pm (N, M, d, d)`` and model
probabilities ``mu (N, M)``, and ``x, P`` are their moment-matched combination;
without one ``M = 0``.  Tracks are appended in blocks and removed by mask; ids
are never reused.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["CONFIRMED", "COASTING", "DELETED", "TENTATIVE", "TrackTable"]

TENTATIVE, CONFIRMED, COASTING, DELETED = 0, 1, 2, 3


@dataclass
class TrackTable:
    """N tracks in the tracking frame (ENU metres, m/s)."""

    id: np.ndarray          # (N,) int64, stable
    x: np.ndarray           # (N, d)
    P: np.ndarray           # (N, d, d)
    t: np.ndarray           # (N,) time of the state, UTC epoch s
    status: np.ndarray      # (N,) int8: TENTATIVE, CONFIRMED, COASTING
    t_update: np.ndarray    # (N,) time of the last detection
    t_start: np.ndarray     # (N,) time of the first detection
    hits: np.ndarray        # (N,) int: detections so far
    looks: np.ndarray       # (N,) int: chances to be seen by a position sensor (M-of-N)
    last_sensor: np.ndarray  # (N,) int: sensor of the last update, -1 none
    seen_by: np.ndarray     # (N,) uint64: bit (sensor % 64) set for every sensor that saw it
    last_rcs: np.ndarray    # (N,) RCS of the last detection, dBsm (NaN: none reported)
    last_hint: np.ndarray   # (N,) int64 id_hint code of the last detection, -1 none
    mu: np.ndarray          # (N, M) IMM model probabilities (M = 0 without an IMM)
    xm: np.ndarray          # (N, M, d) model-conditioned means
    Pm: np.ndarray          # (N, M, d, d) model-conditioned covariances

    @classmethod
    def empty(cls, d: int, m: int = 0) -> TrackTable:
        return cls(np.empty(0, np.int64), np.empty((0, d)), np.empty((0, d, d)), np.empty(0),
                   np.empty(0, np.int8), np.empty(0), np.empty(0), np.empty(0, np.int64),
                   np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64),
                   np.empty(0), np.empty(0, np.int64), np.empty((0, m)), np.empty((0, m, d)),
                   np.empty((0, m, d, d)))

    @property
    def n_models(self) -> int:
        return int(self.mu.shape[1])

    def __len__(self) -> int:
        return int(self.id.size)

    @property
    def ndim(self) -> int:
        return int(self.x.shape[1])

    def append(self, other: TrackTable) -> None:
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def keep(self, mask: np.ndarray) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name)[mask])

    def take(self, idx: np.ndarray) -> TrackTable:
        return TrackTable(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})
