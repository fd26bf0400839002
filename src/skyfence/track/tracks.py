"""The state of all tracks as one structure of arrays.

Means ``x (N, d)``, covariances ``P (N, d, d)`` and parallel arrays of ids,
times and bookkeeping.  With an IMM the table also holds each track's ``M``
model-conditioned states ``xm (N, M, d)``, ``Pm (N, M, d, d)`` and model
probabilities ``mu (N, M)``, and ``x, P`` are their moment-matched combination;
without one ``M = 0``.  Tracks are appended in blocks and removed by mask; ids
are never reused.

The columns are views of the first N rows of storage with room to spare: an
append writes only the new rows (the storage doubles when full), a removal
compacts the rows kept into a second, spare storage and swaps the two.  A
tracker appends and removes tracks in every frame; reallocating and copying the
whole table (10k tracks: 3 MB of covariances) twice a frame cost more than
gating it.  So a column array held across an ``append`` or ``keep`` may be
overwritten: copy what must outlive them (``take`` returns copies).
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
    t_fix: np.ndarray       # (N,) time of the last detection that placed it: a radar plot,
    #                         a position report, or a bearing of a second passive sensor
    hits: np.ndarray        # (N,) int: detections so far
    looks: np.ndarray       # (N,) int: chances to be seen by a position sensor (M-of-N)
    last_sensor: np.ndarray  # (N,) int: sensor of the last update, -1 none
    seen_by: np.ndarray     # (N,) uint64: bit (sensor % 64) set for every sensor that saw it
    last_rcs: np.ndarray    # (N,) RCS of the last detection, dBsm (NaN: none reported)
    rcs_m2: np.ndarray      # (N,) mean RCS of its radar plots (exponentially weighted,
    #                         linear), m² (NaN: none reported)
    last_hint: np.ndarray   # (N,) int64 id_hint code of the last detection, -1 none
    mu: np.ndarray          # (N, M) IMM model probabilities (M = 0 without an IMM)
    xm: np.ndarray          # (N, M, d) model-conditioned means
    Pm: np.ndarray          # (N, M, d, d) model-conditioned covariances

    @classmethod
    def empty(cls, d: int, m: int = 0) -> TrackTable:
        return cls(np.empty(0, np.int64), np.empty((0, d)), np.empty((0, d, d)), np.empty(0),
                   np.empty(0, np.int8), np.empty(0), np.empty(0), np.empty(0),
                   np.empty(0, np.int64),
                   np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint64),
                   np.empty(0), np.empty(0), np.empty(0, np.int64), np.empty((0, m)),
                   np.empty((0, m, d)),
                   np.empty((0, m, d, d)))

    @property
    def n_models(self) -> int:
        return int(self.mu.shape[1])

    def __post_init__(self) -> None:
        # the columns' storage (at first the arrays given) and the spare of the same size
        self._store = {f.name: getattr(self, f.name) for f in fields(self)}
        self._spare: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.id.size)

    @property
    def ndim(self) -> int:
        return int(self.x.shape[1])

    def append(self, other: TrackTable) -> None:
        """Add the tracks of ``other`` after these."""
        n, k = len(self), len(other)
        if n + k > self._store["id"].shape[0]:
            size = max(2 * (n + k), 64)
            for f in fields(self):
                col = getattr(self, f.name)
                grown = np.empty((size, *col.shape[1:]), dtype=col.dtype)
                grown[:n] = col
                self._store[f.name] = grown
            self._spare = None
        for f in fields(self):
            store = self._store[f.name]
            store[n:n + k] = getattr(other, f.name)
            setattr(self, f.name, store[:n + k])

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the tracks where ``mask`` is true, in their order."""
        idx = np.flatnonzero(mask)
        if self._spare is None:
            self._spare = {k: np.empty_like(v) for k, v in self._store.items()}
        for f in fields(self):
            spare = self._spare[f.name]
            # mode="clip": valid indices, and no temporary copy (mode="raise" buffers)
            np.take(getattr(self, f.name), idx, axis=0, out=spare[:idx.size], mode="clip")
            setattr(self, f.name, spare[:idx.size])
        self._store, self._spare = self._spare, self._store

    def take(self, idx: np.ndarray) -> TrackTable:
        return TrackTable(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})
