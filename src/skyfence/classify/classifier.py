"""The identification stage: track rows in, the same rows with classes out.

:class:`Classifier` keeps, per live track, a fixed-size state in arrays sorted by
track id: the exponentially weighted evidence of :mod:`skyfence.classify.features`,
the previous row, the cooperative identity and the spoofing flag.  Each
:meth:`Classifier.step` folds the batch's rows into that state in time order
and, after every row, reads the track's feature vector and evaluates the fitted
model (:mod:`skyfence.classify.model`), so every row carries the posterior given
the track's history up to it.  The model's class likelihoods then pass through the
track's memory (:mod:`skyfence.classify.memory`, a geometric mean over the last
``class_memory_s`` seconds) before the operating prior and any cooperative identity
are applied: a track keeps its class through the row-to-row wobble of its features.

Why a short-window feature vector and a fitted discriminative model rather than
naive log-odds accumulation: consecutive updates of a track are strongly
correlated (the filtered speed seen ten times is not ten independent
observations), so summing per-update log-likelihoods is over-confident unless
tempered by hand; and the telling evidence (RCS fluctuation, heading steadiness,
share of hovering) exists only over a window anyway.  The exponentially
weighted window keeps a constant-size state per track and forgets (time
constant ``tau_s``), so a track changes its class when its behaviour changes;
the model, fitted on snapshots of tracks of every age, is calibrated by
construction on its training mix and learns itself how little a young track
reveals.

Vectorised: the rows of a time slice are ordered by track and time, and the
recursion loops over the *rank* of a row within its track (one pass when each
track has one row in the slice), each pass over all tracks at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skyfence.classify.config import ClassifierConfig
from skyfence.classify.features import (
    FEATURE_NAMES,
    N_ACC,
    FeatureSettings,
    TrackRows,
    features_from_acc,
    update_acc,
)
from skyfence.classify.identity import (
    NONE,
    REMOTE_ID,
    SpoofDetector,
    apply_cooperative,
    hint_kinds,
    local_offset,
)
from skyfence.classify.memory import ClassMemory, insert_sorted, locate
from skyfence.classify.model import ClassifierParams, load_params
from skyfence.errors import DataError
from skyfence.model.schema import CLASS_PROB_COLUMNS, CLASSIFY_CLASSES

__all__ = ["REQUIRED_COLUMNS", "Classifier", "ClassifierStats", "TrackEvidence", "check_tracks"]

log = logging.getLogger(__name__)

#: track columns the classifier reads
REQUIRED_COLUMNS: tuple[str, ...] = (
    "time", "track_id", "status", "lat_deg", "lon_deg", "alt_m", "vel_east_mps",
    "vel_north_mps", "vel_up_mps", "sigma_east_m", "sigma_north_m", "sigma_up_m",
    "n_updates", "sensor_id", "rcs_dbsm", "id_hint",
)

N_FEATURES = len(FEATURE_NAMES)

#: smallest class likelihood whose logarithm enters a track's memory
_MIN_LIKELIHOOD = 1e-12

_FLOAT_COLUMNS = ("time", "lat_deg", "lon_deg", "alt_m", "vel_east_mps", "vel_north_mps",
                  "vel_up_mps", "sigma_east_m", "sigma_north_m", "sigma_up_m", "rcs_dbsm")


@dataclass
class ClassifierStats:
    """Counters of a classifier's life.

    Attributes
    ----------
    rows : int
        Rows classified.
    bad_rows : dict
        Rows with unusable values, by reason (they are classified from what is known
        and passed on, never dropped).
    tracks_freed : int
        Track states freed (deleted rows, or stale).
    spoof_pairs : int
        (Remote ID track, radar track) pairs flagged by correlation.
    spoof_jumps : int
        Serial jumps between far-apart tracks.
    """

    rows: int = 0
    bad_rows: dict[str, int] = field(default_factory=dict)
    tracks_freed: int = 0
    spoof_pairs: int = 0
    spoof_jumps: int = 0

    def count_bad(self, reason: str, n: int) -> None:
        if n:
            self.bad_rows[reason] = self.bad_rows.get(reason, 0) + n
            log.warning("classify: %d track rows with %s", n, reason)


class _Store:
    """Per-track state, arrays sorted by track id."""

    def __init__(self) -> None:
        self.id = np.zeros(0, np.int64)
        self.t_first = np.zeros(0)
        self.t_last = np.zeros(0)
        self.prev = np.zeros((0, 5))          # lat, lon, v_east, v_north, sigma_h
        self.acc = np.zeros((0, N_ACC))
        self.coop_code = np.zeros(0, np.int64)
        self.coop_kind = np.zeros(0, np.int8)
        self.n_radar = np.zeros(0, np.int64)
        self.spoofed = np.zeros(0, bool)
        self.phantom_of = np.zeros(0, np.int64)   # the radar track a phantom follows, or -1

    _FIELDS = ("id", "t_first", "t_last", "prev", "acc", "coop_code", "coop_kind", "n_radar",
               "spoofed", "phantom_of")

    def __len__(self) -> int:
        return int(self.id.size)

    def slots(self, ids: np.ndarray) -> np.ndarray:
        """Slots of ``ids`` (distinct), adding new tracks first."""
        pos, found = locate(self.id, ids)
        if not found.all():
            new = ids[~found]
            k = new.size
            fresh = {
                "id": new, "t_first": np.full(k, np.nan), "t_last": np.full(k, np.nan),
                "prev": np.full((k, 5), np.nan), "acc": np.zeros((k, N_ACC)),
                "coop_code": np.full(k, -1, np.int64), "coop_kind": np.zeros(k, np.int8),
                "n_radar": np.zeros(k, np.int64), "spoofed": np.zeros(k, bool),
                "phantom_of": np.full(k, -1, np.int64),
            }
            _, order = insert_sorted(self.id, new)
            for f in self._FIELDS:
                setattr(self, f, np.concatenate([getattr(self, f), fresh[f]])[order])
            pos = np.searchsorted(self.id, ids)
        return pos

    def find(self, ids: np.ndarray) -> np.ndarray:
        """Slots of ``ids``, -1 where unknown."""
        pos, found = locate(self.id, ids)
        return np.where(found, pos, -1)

    def keep(self, mask: np.ndarray) -> None:
        for f in self._FIELDS:
            setattr(self, f, getattr(self, f)[mask])


def check_tracks(tracks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The columns the classifier reads, converted; :class:`DataError` naming what is wrong.

    Raises
    ------
    DataError
        If required columns are missing (the message names them), their lengths
        differ or a numeric column is not numeric.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in tracks]
    if missing:
        raise DataError(f"track rows lack the column(s) {', '.join(missing)} "
                        f"(classify needs {', '.join(REQUIRED_COLUMNS)})")
    sizes = {c: np.shape(tracks[c]) for c in REQUIRED_COLUMNS}
    n = sizes["time"]
    odd = [c for c, s in sizes.items() if s != n or len(s) != 1]
    if odd:
        raise DataError(f"track columns of unequal length or not one-dimensional: "
                        f"{', '.join(f'{c} {sizes[c]}' for c in odd)} (time has {n})")
    out: dict[str, np.ndarray] = {}
    for c in _FLOAT_COLUMNS:
        try:
            out[c] = np.asarray(tracks[c], dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"track column '{c}' is not numeric") from None
    try:
        out["track_id"] = np.asarray(tracks["track_id"]).astype(np.int64)
        out["n_updates"] = np.nan_to_num(np.asarray(tracks["n_updates"], np.float64),
                                         nan=0.0).astype(np.int64)
    except (TypeError, ValueError):
        raise DataError("track columns 'track_id' and 'n_updates' must be integers") from None
    for c in ("status", "sensor_id", "id_hint"):
        out[c] = np.asarray(tracks[c]).astype(str)
    return out


class TrackEvidence:
    """The per-track state: accumulated features, cooperative identity, spoofing flags.

    Parameters
    ----------
    settings : FeatureSettings
        How features are accumulated (those the model was fitted with).
    config : ClassifierConfig
    """

    def __init__(self, settings: FeatureSettings, config: ClassifierConfig) -> None:
        self.settings = settings
        self.config = config
        self.stats = ClassifierStats()
        self._store = _Store()
        self._spoof = SpoofDetector(config.spoof)
        self._serial_code: dict[str, int] = {}
        self._serials: list[str] = []
        self._rf_sensors = [s for s, k in config.sensor_kinds.items() if k == "rf_df"]
        self._wind_en = config.wind.east_north() if config.wind is not None else None
        self._site_index = {s: i for i, s in enumerate(config.sensor_sites)}
        self._sites = np.array(list(config.sensor_sites.values()), np.float64).reshape(-1, 3)
        self._unsited: set[str] = set()
        self._now = -np.inf
        self._freed: list[np.ndarray] = []

    @property
    def n_tracks(self) -> int:
        """Tracks whose state is held."""
        return len(self._store)

    def track_ids(self) -> np.ndarray:
        """Ids of the tracks whose state is held (sorted)."""
        return self._store.id.copy()

    @property
    def now(self) -> float:
        """Latest row time folded in, UTC s (-inf before any)."""
        return self._now

    def pop_freed(self) -> np.ndarray:
        """Ids of the tracks whose state was freed since the last call."""
        out = np.concatenate(self._freed) if self._freed else np.zeros(0, np.int64)
        self._freed = []
        return out

    def phantoms(self, track_ids: np.ndarray) -> np.ndarray:
        """Per track id, the radar track whose drone broadcasts the spoofed Remote ID that
        this (Remote-ID-only) track is made of, as found by the correlation rule so far;
        -1 for every other track (and for tracks whose state is gone)."""
        slot = self._store.find(np.asarray(track_ids, np.int64))
        out = np.full(slot.size, -1, np.int64)
        known = slot >= 0
        out[known] = self._store.phantom_of[slot[known]]
        return out

    def identity_strings(self, code: np.ndarray) -> np.ndarray:
        """Cooperative ids of identity codes (-1: "")."""
        return np.array(["", *self._serials])[code + 1]

    def advance(self, cols: dict[str, np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Fold checked rows (:func:`check_tracks`) in, in time order.

        Returns
        -------
        X : ndarray, shape (n, n_features)
            Each row's track features after the row (NaN: missing).
        code : ndarray of int64
            Each row's cooperative identity code (-1: none; see :meth:`identity_strings`).
        kind : ndarray of int8
            NONE, ADSB or REMOTE_ID.
        spoofed : ndarray of bool
        """
        n = cols["time"].size
        X = np.full((n, N_FEATURES), np.nan)
        code = np.full(n, -1, np.int64)
        kind = np.zeros(n, np.int8)
        spoofed = np.zeros(n, bool)
        if n == 0:
            return X, code, kind, spoofed
        t = cols["time"]
        good = np.isfinite(t)
        self.stats.count_bad("a time that is not finite", int((~good).sum()))
        order = np.flatnonzero(good)
        order = order[np.argsort(t[order], kind="stable")]
        if order.size:
            ts = t[order]
            cut = np.flatnonzero(np.diff(np.floor((ts - ts[0]) / self.config.slice_s))) + 1
            for rows in np.split(order, cut):
                self._slice(cols, rows, X, code, kind, spoofed)
        if (~good).any():
            # rows with no usable time: the track's current identity, no new evidence
            bad = np.flatnonzero(~good)
            slot = self._store.find(cols["track_id"][bad])
            ok = slot >= 0
            code[bad[ok]] = self._store.coop_code[slot[ok]]
            kind[bad[ok]] = self._store.coop_kind[slot[ok]]
            spoofed[bad[ok]] = self._store.spoofed[slot[ok]]
        self.stats.rows += n
        return X, code, kind, spoofed

    def _serial_codes(self, hints: np.ndarray) -> np.ndarray:
        code = np.full(hints.size, -1, np.int64)
        has = np.flatnonzero(hints != "")
        if has.size:
            uh, inv = np.unique(hints[has], return_inverse=True)
            uc = np.empty(uh.size, np.int64)
            for i, h in enumerate(uh.tolist()):
                c = self._serial_code.get(h)
                if c is None:
                    c = self._serial_code[h] = len(self._serials)
                    self._serials.append(h)
                uc[i] = c
            code[has] = uc[inv.ravel()]
        return code

    def _slice(self, cols: dict[str, np.ndarray], rows: np.ndarray, X: np.ndarray,
               code_out: np.ndarray, kind_out: np.ndarray, spoofed_out: np.ndarray) -> None:
        """Fold the rows of one time slice (``rows``: indices, sorted by time) in."""
        st = self._store
        s = self.settings
        cfg = self.config
        tid = cols["track_id"][rows]
        if tid.size > 1 and (np.diff(tid) < 0).any():
            # by track, then time: the rows come sorted by time, and the sort is stable
            order = np.argsort(tid, kind="stable")
            rows = rows[order]
            tid = tid[order]
        newgrp = np.ones(rows.size, bool)
        newgrp[1:] = tid[1:] != tid[:-1]
        start = np.flatnonzero(newgrp)
        rank = np.arange(rows.size) - np.repeat(start, np.diff(np.append(start, rows.size)))
        uslot = st.slots(tid[start])
        slot = np.repeat(uslot, np.diff(np.append(start, rows.size)))

        g = {c: cols[c][rows] for c in cols}
        sid = g["sensor_id"]
        updated = sid != ""
        rf = np.zeros(rows.size, bool)
        for r_ in self._rf_sensors:
            rf |= sid == r_
        hcode = self._serial_codes(g["id_hint"])
        hkind = hint_kinds(g["id_hint"], sid, cfg.sensor_kinds)
        sig_h = np.hypot(g["sigma_east_m"], g["sigma_north_m"])
        radial = self._radial_speed(g)
        bad_pos = ~(np.isfinite(g["lat_deg"]) & np.isfinite(g["lon_deg"]) &
                    np.isfinite(g["alt_m"]))
        bad_vel = ~(np.isfinite(g["vel_east_mps"]) & np.isfinite(g["vel_north_mps"]))
        self.stats.count_bad("a position that is not finite", int(bad_pos.sum()))
        self.stats.count_bad("a velocity that is not finite", int((bad_vel & ~bad_pos).sum()))

        for r in range(int(rank.max()) + 1):
            k = np.flatnonzero(rank == r)
            sl = slot[k]
            t = g["time"][k]
            tr = TrackRows(time=t, lat_deg=g["lat_deg"][k], lon_deg=g["lon_deg"][k],
                           alt_m=g["alt_m"][k], vel_east_mps=g["vel_east_mps"][k],
                           vel_north_mps=g["vel_north_mps"][k], vel_up_mps=g["vel_up_mps"][k],
                           sigma_h_m=sig_h[k], sigma_up_m=g["sigma_up_m"][k],
                           n_updates=g["n_updates"][k], updated=updated[k], rf=rf[k],
                           rcs_dbsm=g["rcs_dbsm"][k], radial_speed_mps=radial[k])
            acc = st.acc[sl]
            prev = st.prev[sl]
            t_last = st.t_last[sl]
            update_acc(acc, prev, t_last, tr, cfg.ground_alt_m, s, self._wind_en)
            st.acc[sl] = acc
            st.prev[sl] = prev
            t_first = np.where(np.isnan(st.t_first[sl]), t, st.t_first[sl])
            st.t_first[sl] = t_first
            st.t_last[sl] = np.where(np.isnan(t_last), t, np.fmax(t_last, t))
            speed = np.hypot(tr.vel_east_mps, tr.vel_north_mps)
            kin = (tr.n_updates >= s.kin_min_updates) & np.isfinite(speed)
            X[rows[k]] = features_from_acc(acc, speed, tr.n_updates.astype(np.float64),
                                           t - t_first, kin)
            # cooperative identity: the latest id sticks
            hk = hkind[k]
            has = hk != NONE
            st.coop_code[sl[has]] = hcode[k][has]
            st.coop_kind[sl[has]] = hk[has]
            st.n_radar[sl] += np.isfinite(tr.rcs_dbsm)
            code_out[rows[k]] = st.coop_code[sl]
            kind_out[rows[k]] = st.coop_kind[sl]

        self._now = max(self._now, float(g["time"].max()))
        flagged = self._spoof_checks(g, slot, hcode, hkind, uslot)
        spoofed_out[rows] = st.spoofed[slot]
        if flagged.size:
            # a radar track that took a serial this slice: its rows of the slice carry it
            f = np.isin(tid, flagged)
            code_out[rows[f]] = st.coop_code[slot[f]]
            kind_out[rows[f]] = st.coop_kind[slot[f]]
        self._free(uslot, g["status"], slot)

    def _radial_speed(self, g: dict[str, np.ndarray]) -> np.ndarray:
        """|velocity · line of sight| from the site of each row's radar, m/s (NaN: no radar
        update or unknown site)."""
        out = np.full(g["time"].size, np.nan)
        radar = np.isfinite(g["rcs_dbsm"])
        if not radar.any():
            return out
        rows = np.flatnonzero(radar)
        us, inv = np.unique(g["sensor_id"][rows], return_inverse=True)
        site_u = np.array([self._site_index.get(str(u), -1) for u in us], np.int64)
        for u in us[site_u < 0].tolist():
            if u not in self._unsited:
                self._unsited.add(u)
                log.warning("classify: radar %r has no site in ClassifierConfig.sensor_sites; "
                            "its updates give no radial speed", u)
        site = site_u[inv.ravel()]
        ok = site >= 0
        rows, site = rows[ok], site[ok]
        if rows.size == 0:
            return out
        s = self._sites[site]
        de, dn = local_offset(g["lat_deg"][rows], g["lon_deg"][rows], s[:, 0], s[:, 1])
        du = g["alt_m"][rows] - s[:, 2]
        rng = np.sqrt(de * de + dn * dn + du * du)
        v = (g["vel_east_mps"][rows] * de + g["vel_north_mps"][rows] * dn
             + g["vel_up_mps"][rows] * du) / np.maximum(rng, 1.0)
        out[rows] = np.abs(v)
        return out

    def _spoof_checks(self, g: dict[str, np.ndarray], slot: np.ndarray, hcode: np.ndarray,
                      hkind: np.ndarray, uslot: np.ndarray) -> np.ndarray:
        """Run both spoofing rules on the slice; returns the ids of tracks flagged now."""
        st = self._store
        flagged: list[np.ndarray] = []
        # jump rule: every Remote ID row of the slice
        rid = np.flatnonzero(hkind == REMOTE_ID)
        if rid.size:
            j = self._spoof.jumps(hcode[rid], st.id[slot[rid]], g["time"][rid],
                                  g["lat_deg"][rid], g["lon_deg"][rid])
            js = st.find(j)
            j, js = j[js >= 0], js[js >= 0]
            new = ~st.spoofed[js]
            if new.any():
                self.stats.spoof_jumps += int(new.sum())
                log.warning("Remote ID spoofing: serial %s reported on tracks far apart "
                            "(tracks %s)", self._serials[int(st.coop_code[js[new][0]])]
                            if st.coop_code[js[new][0]] >= 0 else "?",
                            ", ".join(map(str, j[new].tolist())))
                st.spoofed[js] = True
                flagged.append(j[new])
        # correlation rule: Remote-ID-only tracks updated now against uncooperative radar
        a = uslot[(st.coop_kind[uslot] == REMOTE_ID) & (st.n_radar[uslot] == 0)]
        if a.size:
            cand = (st.n_radar > 0) & (st.coop_kind == NONE) & \
                (st.t_last >= self._now - self.config.spoof.max_time_gap_s - self.config.slice_s)
            b = np.flatnonzero(cand)
            fa, fb = self._spoof.correlate(st.id[a], st.t_last[a], st.prev[a], st.id[b],
                                           st.t_last[b], st.prev[b])
            if fa.size:
                sa, sb = st.find(fa), st.find(fb)
                for x, y, c in zip(fa.tolist(), fb.tolist(), st.coop_code[sa].tolist(),
                                   strict=True):
                    log.warning("Remote ID spoofing: serial %s (track %d) moves with the "
                                "uncooperative radar track %d at a steady offset; the radar "
                                "track takes the serial", self._serials[c], x, y)
                self.stats.spoof_pairs += int(fa.size)
                st.spoofed[sa] = True
                st.spoofed[sb] = True
                # the radar track is the drone making the claim: it takes the serial, and
                # the Remote-ID-only track is a phantom of it (no object flies there)
                st.phantom_of[sa] = fb
                st.coop_code[sb] = st.coop_code[sa]
                st.coop_kind[sb] = REMOTE_ID
                flagged.append(fb)
        return np.concatenate(flagged) if flagged else np.zeros(0, np.int64)

    def _free(self, uslot: np.ndarray, status: np.ndarray, slot: np.ndarray) -> None:
        """Free the state of tracks with a deleted row in the slice, and stale ones."""
        st = self._store
        gone = np.zeros(len(st), bool)
        gone[slot[status == "deleted"]] = True
        gone |= st.t_last < self._now - self.config.stale_after_s
        if gone.any():
            ids = st.id[gone]
            st.keep(~gone)
            self._freed.append(ids)
            self._spoof.forget(ids, self._now, self.config.stale_after_s)
            self.stats.tracks_freed += int(ids.size)


def _merge_prior(given: dict[str, float] | None, default: np.ndarray) -> np.ndarray:
    """A prior over ``CLASSIFY_CLASSES`` from a partial mapping: the classes it leaves out
    share what is left in the proportions of ``default``."""
    p = np.asarray(default, np.float64) / np.sum(default)
    if given is None:
        return p
    named = np.array([c in given for c in CLASSIFY_CLASSES])
    p[named] = [given[c] for c in CLASSIFY_CLASSES if c in given]
    left = max(1.0 - float(p[named].sum()), 1e-9)
    if (~named).any():
        p[~named] *= left / p[~named].sum()
    return p / p.sum()


class Classifier:
    """Identify tracks: drone (fixed-wing, rotary), bird, aircraft, balloon, clutter.

    Parameters
    ----------
    params : ClassifierParams, path or None
        The fitted model; a path to a parameter file; None: the shipped parameters
        (``classify/data/params.json``).
    config : ClassifierConfig, optional
        Deployment parameters (ground height, sensor kinds, spoofing thresholds …);
        defaults when None.

    Examples
    --------
    >>> clf = Classifier(config=ClassifierConfig(ground_alt_m=170.0))   # doctest: +SKIP
    >>> out = clf.step(track_rows)                                      # doctest: +SKIP
    >>> out["class"], out["p_drone_rotary"], out["cooperative_id"]      # doctest: +SKIP
    """

    def __init__(self, params: ClassifierParams | str | Path | None = None,
                 config: ClassifierConfig | None = None) -> None:
        if params is None or isinstance(params, str | Path):
            params = load_params(params)
        self.params = params
        self.config = config or ClassifierConfig()
        self.evidence = TrackEvidence(params.settings, self.config)
        #: the anchor prior (configured or the parameter file's) and the operating prior
        self.prior_anchor = _merge_prior(self.config.class_prior, params.prior)
        self.prior = self.prior_anchor.copy()
        self.prior_tentative = _merge_prior(self.config.class_prior_tentative,
                                            params.prior_tentative)
        nc = len(CLASSIFY_CLASSES)
        self._live_ids = np.zeros(0, np.int64)        # confirmed tracks' latest likelihoods
        self._live_lk = np.zeros((0, nc))
        self._hist = np.zeros(nc)                      # decayed soft counts of ended tracks
        self._hist_t = -np.inf
        #: per-track memory of class evidence (None: each row on its own)
        self.memory = ClassMemory(nc, self.config.class_memory_s,
                                  self.config.class_memory_max_gap_s) \
            if self.config.class_memory_s > 0 else None

    @property
    def stats(self) -> ClassifierStats:
        """Counters: rows, bad rows by reason, freed states, spoofing flags."""
        return self.evidence.stats

    @property
    def n_tracks(self) -> int:
        """Tracks whose state is held."""
        return self.evidence.n_tracks

    def track_ids(self) -> np.ndarray:
        """Ids of the tracks whose state is held (sorted)."""
        return self.evidence.track_ids()

    def step(self, tracks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Classify a batch of track rows (any number of tracks, several rows per track).

        Parameters
        ----------
        tracks : mapping of str to ndarray
            Rows of :data:`~skyfence.model.schema.TRACK_COLUMNS` (at least
            :data:`REQUIRED_COLUMNS`; extra columns are carried along).  Rows are
            folded into their tracks' state in time order, ``config.slice_s`` seconds
            at a time; a track's state is freed after its ``deleted`` row.

        Returns
        -------
        dict of str to ndarray
            The same rows in the same order, ``class`` and ``class_prob`` filled, plus
            :data:`~skyfence.model.schema.CLASS_PROB_COLUMNS`.

        Raises
        ------
        DataError
            If required columns are missing (the message names them), their lengths
            differ or a numeric column is not numeric.
        """
        return self._step(tracks)[0]

    def _step(self, tracks: Mapping[str, np.ndarray]
              ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """:meth:`step`, also returning the rows' features and cooperative kinds."""
        cols = check_tracks(tracks)
        X, code, kind, spoofed = self.evidence.advance(cols)
        tentative = cols["status"] == "tentative"
        lk = self.params.aggregate(self.params.logits(X))
        freed = self.evidence.pop_freed()
        if self.memory is not None:
            lk = self._remember(cols, lk, freed)
        if self.config.adapt_prior:
            self._adapt(cols, lk, kind, freed)
        P = self._posterior(lk, kind, tentative)
        return self._output(tracks, P, code, spoofed), X, kind

    def _remember(self, cols: dict[str, np.ndarray], lk: np.ndarray,
                  freed: np.ndarray) -> np.ndarray:
        """The rows' class likelihoods through each track's memory (:class:`ClassMemory`)."""
        assert self.memory is not None
        log_lk = np.log(np.maximum(lk, _MIN_LIKELIHOOD))
        out = self.memory.fold(cols["track_id"], cols["time"], log_lk)
        self.memory.forget(freed)
        out -= out.max(axis=1, keepdims=True)
        m = np.exp(out)
        return m / m.sum(axis=1, keepdims=True)

    def _posterior(self, lk: np.ndarray, kind: np.ndarray | None,
                   tentative: np.ndarray | None) -> np.ndarray:
        """Class probabilities from class likelihoods ``lk`` (the model's posterior under
        its balanced training prior) under the operating priors and, where ``kind``
        says so, the cooperative identities."""
        w = np.broadcast_to(self.prior / self.params.training_prior, lk.shape).copy()
        if tentative is not None and np.any(tentative):
            w[tentative] = self.prior_tentative / self.params.training_prior
        P = lk * w
        P /= np.maximum(P.sum(axis=1, keepdims=True), 1e-300)
        if kind is not None:
            apply_cooperative(P, kind, CLASSIFY_CLASSES, self.config.cooperative_confidence,
                              self.config.remote_id_rotary_prior)
        return P

    def _adapt(self, cols: dict[str, np.ndarray], lk: np.ndarray, kind: np.ndarray,
               freed: np.ndarray) -> None:
        """Re-estimate the operating prior of confirmed tracks from the deployment's own
        tracks (EM for the class weights of a mixture; Saerens et al. 2002).

        Each confirmed track with ``prior_min_updates`` updates or more (a young
        track's likelihoods are too alike to tell classes apart, and EM would spread
        weight onto whatever class they resemble) contributes its latest likelihood
        vector (the model's posterior under its balanced training prior, through the
        track's memory, cooperative identities applied);
        tracks that ended contribute their last responsibilities as soft counts that
        fade with the time constant ``prior_memory_s``; the anchor prior weighs as
        ``prior_strength_tracks`` tracks.  A few EM iterations per step.
        """
        cfg = self.config
        now = self.evidence.now
        status = cols["status"]
        firm = np.flatnonzero(((status == "confirmed") | (status == "coasting"))
                              & (cols["n_updates"] >= cfg.prior_min_updates))
        if firm.size:
            lk = lk[firm]
            apply_cooperative(lk, kind[firm], CLASSIFY_CLASSES, cfg.cooperative_confidence,
                              cfg.remote_id_rotary_prior)
            tid = cols["track_id"][firm]
            # the latest row of each track
            order = np.lexsort((cols["time"][firm], tid))
            last = np.ones(order.size, bool)
            last[:-1] = tid[order][1:] != tid[order][:-1]
            sel = order[last]
            ids, lk = tid[sel], lk[sel]
            pos, known = locate(self._live_ids, ids)
            self._live_lk[pos[known]] = lk[known]
            if (~known).any():
                self._live_ids, o = insert_sorted(self._live_ids, ids[~known])
                self._live_lk = np.concatenate([self._live_lk, lk[~known]])[o]
        # decay the ended tracks' counts, then move the newly ended ones there
        if np.isfinite(self._hist_t) and now > self._hist_t:
            self._hist *= np.exp(-(now - self._hist_t) / cfg.prior_memory_s)
        self._hist_t = max(self._hist_t, now)
        if freed.size and self._live_ids.size:
            gone = np.isin(self._live_ids, freed)
            if gone.any():
                self._hist += self._responsibilities(self._live_lk[gone]).sum(axis=0)
                self._live_ids = self._live_ids[~gone]
                self._live_lk = self._live_lk[~gone]
        # EM for the class weights
        a = cfg.prior_strength_tracks
        n = self._hist.sum() + self._live_ids.size + a
        for _ in range(4):
            live = self._responsibilities(self._live_lk).sum(axis=0)
            self.prior = (self._hist + live + a * self.prior_anchor) / n

    def _responsibilities(self, lk: np.ndarray) -> np.ndarray:
        """Posterior of each class for likelihood vectors under the current prior."""
        w = lk * (self.prior / self.params.training_prior)
        return w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)

    def predict(self, X: np.ndarray, kind: np.ndarray | None = None,
                tentative: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities (n, n_classes) of feature rows under the current operating
        priors (``tentative`` rows take the tentative prior) and, where ``kind`` says so,
        the cooperative identities.  Does not change any state."""
        return self._posterior(self.params.aggregate(self.params.logits(X)), kind, tentative)

    def _output(self, tracks: Mapping[str, np.ndarray], P: np.ndarray, code: np.ndarray,
                spoofed: np.ndarray) -> dict[str, np.ndarray]:
        out = {k: np.asarray(v) for k, v in tracks.items()}
        n = P.shape[0]
        names = np.array(CLASSIFY_CLASSES)
        if n:
            best = np.argmax(P, axis=1)
            out["class"] = names[best]
            out["class_prob"] = P[np.arange(n), best]
        else:
            out["class"] = np.zeros(0, dtype=names.dtype)
            out["class_prob"] = np.zeros(0)
        for j, c in enumerate(CLASSIFY_CLASSES):
            out[f"p_{c}"] = P[:, j].copy()
        out["cooperative_id"] = self.evidence.identity_strings(code)
        out["spoofed"] = spoofed
        out["phantom_of"] = self.evidence.phantoms(np.asarray(tracks["track_id"]))
        assert set(CLASS_PROB_COLUMNS) <= set(out)
        return out


