"""The multi-sensor multi-target tracker: ``Tracker.step(detections) -> track updates``.

Detections of all sensors update the same tracks in time order.  A batch is cut
into sensor frames (one sensor's detections within one scan period); each
frame is gated, assigned and applied in turn:

1. **Gate, coarse**: a k-d tree over the frame's detection positions (radar
   plots and position reports placed in the tracking frame; bearing sensors
   gate every track within range of the site, i.e. along the ray) is queried
   with each track's position and a radius from its uncertainty, the
   detection's and the fastest target's motion over the time gap.
2. **Gate, exact**: each candidate pair is predicted to the detection's own
   time and tested with the chi-square gate on the innovation.
3. **Assign**: global nearest neighbour per connected cluster (``associate``).
4. **Update** the assigned tracks (EKF/UKF), count a *look* for every track
   inside the sensor's coverage (M-of-N), confirm, coast and delete.
5. **Initiate** tentative tracks from radar plots and position reports that fell
   in no gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2

from skyfence.config.sensors import SensorDeployment
from skyfence.geo.geodesy import enu2geodetic
from skyfence.model.schema import TRACK_COLUMNS, TRACK_STATUSES
from skyfence.track import filters, kernels, measurement, motion
from skyfence.track.associate import gnn_assign
from skyfence.track.config import TrackerConfig
from skyfence.track.imm import IMM, uniform_transition
from skyfence.track.ingest import (
    BEARING,
    BEARING_ELEV,
    POSITION,
    RADAR2D,
    RADAR3D,
    RAY_SENSOR_KINDS,
    DetectionBatch,
    Ingest,
)
from skyfence.track.jpda import jpda_weights, pda_correct
from skyfence.track.tracks import COASTING, CONFIRMED, DELETED, TENTATIVE, TrackTable
from skyfence.track.triangulate import triangulate_pairs

__all__ = ["Tracker", "TrackerStats"]


def _motion_model(cfg: TrackerConfig, name: str | None = None,
                  q: float | None = None) -> motion.MotionModel:
    name = name or cfg.motion
    q = cfg.q if q is None else q
    if name == "cv":
        return motion.ConstantVelocity(q, q_vertical=cfg.q_vertical)
    if name == "ca":
        return motion.ConstantAcceleration(q, q_vertical=cfg.q_vertical)
    return motion.CoordinatedTurn(q, cfg.q_turn, q_vertical=cfg.q_vertical)


def _imm(cfg: TrackerConfig) -> IMM:
    """The IMM of ``cfg.imm_models`` (per-cycle transition for one-second cycles)."""
    qs = cfg.imm_q or [cfg.q] * len(cfg.imm_models)
    models = [_motion_model(cfg, name, q) for name, q in zip(cfg.imm_models, qs, strict=True)]
    m = len(models)
    spread = {"w": np.radians(cfg.imm_turn_sigma_deg_s) ** 2,
              "ax": cfg.imm_accel_sigma_mps2 ** 2, "ay": cfg.imm_accel_sigma_mps2 ** 2,
              "az": cfg.imm_accel_sigma_mps2 ** 2}
    names = {c for mod in models for c in mod.components}
    everywhere = set.intersection(*(set(mod.components) for mod in models))
    embed = {c: v for c, v in spread.items() if c in names - everywhere}
    return IMM(models, uniform_transition(cfg.imm_stay_probability, m, 1.0)[0], embed)


def _seen_bits(sensors: np.ndarray) -> np.uint64:
    """The ``TrackTable.seen_by`` bits (sensor index % 64) of the sensors marked in the
    boolean array ``sensors``."""
    bits = np.uint64(0)
    for i in np.flatnonzero(sensors):
        bits |= np.uint64(1) << np.uint64(i % 64)
    return bits


@dataclass
class TrackerStats:
    """Running counts of what the tracker has done."""

    detections: int = 0
    assigned: int = 0
    initiated: int = 0
    confirmed: int = 0
    deleted: int = 0
    frames: int = 0
    #: lost tracks brought back under their old id (``TrackerConfig.reacquire``)
    reacquired: int = 0
    #: lost-track and plot pairs that fitted but were refused for a plot far brighter
    #: than the track (``TrackerConfig.reacquire_max_rcs_db``)
    reacquire_rcs_refused: int = 0
    #: firm tracks dropped as duplicates of an older firm track
    merged: int = 0
    #: gated pairs of a direction finder's bearing and a track a radar or position report
    #: has seen, refused as ambiguous (``TrackerConfig.unambiguous_bearings``)
    bearings_ambiguous: int = 0


class Tracker:
    """Streaming tracker for one deployment.

    Parameters
    ----------
    deployment : SensorDeployment
        The sensors whose detections arrive.
    config : TrackerConfig
        Parameters and component choices.
    """

    def __init__(self, deployment: SensorDeployment, config: TrackerConfig | None = None,
                 keep_history: bool = False) -> None:
        self.cfg = config or TrackerConfig()
        self.deployment = deployment
        if self.cfg.origin is not None:
            self.origin = tuple(float(v) for v in self.cfg.origin)
        else:
            sensors = deployment.sensor
            self.origin = (float(np.mean([s.lat_deg for s in sensors])),
                           float(np.mean([s.lon_deg for s in sensors])),
                           float(np.mean([s.alt_m for s in sensors])))
        self.ingest = Ingest(deployment, self.origin, self.cfg.max_age_s, self.cfg.max_future_s)
        #: the IMM (motion = "imm"), else the single motion model
        self.imm: IMM | None = _imm(self.cfg) if self.cfg.motion == "imm" else None
        self.motion = None if self.imm is not None else _motion_model(self.cfg)
        if self.imm is not None:
            d, m = self.imm.ndim, self.imm.n_models
            self.components: tuple[str, ...] = self.imm.components
        else:
            assert self.motion is not None
            d, m = self.motion.ndim, 0
            self.components = self.motion.components
        #: dimension of the (combined) track state
        self.ndim = d
        self.tracks = TrackTable.empty(d, m)
        #: confirmed tracks deleted for missed updates, kept for re-acquisition until
        #: ``_lost_until`` (their last state, at their last update)
        self.lost = TrackTable.empty(d, m)
        self._lost_until = np.empty(0)
        #: duplicate firm tracks: (older id, younger id) -> consecutive checks found alike
        self._dup_seen: dict[tuple[int, int], int] = {}
        self._next_dup_check = -np.inf
        self.next_id = 1
        self.stats = TrackerStats()
        self._update = filters.ukf_update if self.cfg.filter == "ukf" else filters.ekf_update
        rv = self.cfg.use_radial_velocity
        self._models: dict[tuple[int, bool], measurement.MeasurementModel] = {
            (RADAR3D, False): measurement.Radar3D(with_radial_velocity=False),
            (RADAR3D, True): measurement.Radar3D(with_radial_velocity=True),
            (RADAR2D, False): measurement.Radar2D(with_radial_velocity=False),
            (RADAR2D, True): measurement.Radar2D(with_radial_velocity=True),
            (BEARING, False): measurement.Bearing(),
            (BEARING_ELEV, False): measurement.BearingElevation(),
            (POSITION, False): measurement.Position(),
        }
        self._use_rv = rv
        self.periods = np.array([s.scan_period_s or 1.0 for s in deployment.sensor])
        #: largest process-noise intensity of the motion models, m²/s³ (coarse gate)
        self._q_bound = float(max(self.cfg.imm_q or [self.cfg.q])) if self.imm is not None \
            else float(self.cfg.q)
        #: time of each sensor's latest plot processed (for the looks of rotating radars)
        self._frame_end = np.full(len(deployment.sensor), -np.inf)
        # seen_by bits (sensor % 64) of the sensors of each distinct scan period
        self._period_masks = [
            (float(p), np.bitwise_or.reduce(
                np.uint64(1) << (np.flatnonzero(self.periods == p) % 64).astype(np.uint64)))
            for p in np.unique(self.periods)]
        self.kinds = [s.kind for s in deployment.sensor]
        #: sensors whose detections place a target (radars, position reports), not a ray
        self._places = np.array([k not in RAY_SENSOR_KINDS for k in self.kinds], bool)
        #: the ``seen_by`` bits of the sensors that place a target (radars, position
        #: reports); beyond 64 sensors bits are shared, and a ray sensor sharing a
        #: placing sensor's bit counts as placing
        self._placing_bits = _seen_bits(self._places)
        #: the sensors that measure a target's height (all but 2D radars), and their
        #: seen_by bits
        self._measures_height = np.array([k != "radar2d" for k in self.kinds], bool)
        self._height_bits = _seen_bits(self._measures_height)
        self.max_range = self.ingest.max_range
        self._out: list[dict[str, np.ndarray]] = []
        #: filtered states of confirmed and coasting tracks, kept for smoothing
        self.keep_history = keep_history
        self._history: list[dict[str, np.ndarray]] = []
        #: bearings no track explains, kept a few seconds for triangulation
        self._bearings: DetectionBatch | None = None
        self._bearing_window_s = 3.0
        #: radar frames bigger than this place only the plots that start tracks
        self._place_lazily_above = 256
        #: chi-square gate thresholds by measurement dimension
        self._gate = {m: float(chi2.ppf(self.cfg.gate_probability, m)) for m in range(1, 5)}
        if self.cfg.association == "jpda":
            self._pd, self._clutter = self._jpda_sensor_figures()
        #: radar frames of a CV EKF tracker with GNN go through the compiled kernels
        self._fast = (self.imm is None and self.cfg.motion == "cv" and self.cfg.filter == "ekf"
                      and self.cfg.association == "gnn")
        self._gates = np.array([np.inf] + [self._gate[m] for m in range(1, 5)])
        kernels.warm_up()       # the coarse gate and the looks are compiled for every tracker

    def _jpda_sensor_figures(self) -> tuple[np.ndarray, dict[tuple[int, bool], float]]:
        """Per sensor the detection probability and, per (sensor, with radial velocity),
        the clutter density in measurement space: false detections per frame over the
        volume the sensor measures (range × azimuth × elevation [× radial velocity] for a
        radar, angles for a bearing sensor, the covered volume for position reports)."""
        cfg = self.cfg
        pd = np.empty(len(self.deployment.sensor))
        clutter: dict[tuple[int, bool], float] = {}
        for i, spec in enumerate(self.deployment.sensor):
            pd[i] = spec.pd if spec.pd is not None else cfg.jpda_pd
            rmax = float(self.max_range[i])
            span_r = max(rmax - spec.min_range_m, 1.0)
            span_az = np.radians(spec.fov_azimuth_deg[1])
            lo, hi = spec.fov_elevation_deg or (-90.0, 90.0)
            span_el = np.radians(hi - lo)
            vol = {"radar3d": span_r * span_az * span_el, "radar2d": span_r * span_az,
                   "rf_df": span_az, "acoustic": span_az, "eoir": span_az * span_el,
                   }.get(spec.kind, np.pi * rmax**2 * min(rmax, 20_000.0))
            false = max(spec.clutter_per_scan or 0.0, cfg.jpda_min_false_per_frame)
            clutter[(i, False)] = false / vol
            clutter[(i, True)] = false / (vol * 2.0 * cfg.max_speed_mps)
        return pd, clutter

    # ------------------------------------------------------------------------ public
    def step(self, table: dict[str, np.ndarray], now: float | None = None,
             rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Ingest a table of detection rows and return the track updates it caused.

        Bad rows go to ``self.ingest.quarantine``; the rest update the tracks in
        time order.  Returns a table with the columns of ``TRACK_COLUMNS``.
        """
        batch = self.ingest(table, now=now, rows=rows)
        return self.step_batch(batch)

    def step_batch(self, batch: DetectionBatch) -> dict[str, np.ndarray]:
        """Process an already validated batch (sorted by time)."""
        self._out = []
        self.stats.detections += len(batch)
        if len(batch):
            key = batch.sensor * 1_000_003 + np.floor(batch.time
                                                      / self.periods[batch.sensor]).astype(int)
            _, first, inv = np.unique(key, return_index=True, return_inverse=True)
            by_frame = np.argsort(inv, kind="stable")
            bounds = np.searchsorted(inv[by_frame], np.arange(first.size + 1))
            # plots and position reports placed in the tracking frame all at once; a
            # big radar frame places only its plots that no track explains, later
            big = (np.diff(bounds) > self._place_lazily_above)[inv] & (batch.kind != POSITION)
            pos, cov, sig = self._detection_positions(batch, ~big)
            for f in np.argsort(batch.time[first], kind="stable"):
                rows = by_frame[bounds[f]:bounds[f + 1]]
                self._frame(batch.take(rows), None if big[rows[0]] else
                            (pos[rows], cov[rows], sig[rows]))
            self._triangulate()
        return self._collect()

    def flush(self, now: float) -> dict[str, np.ndarray]:
        """Coast and delete by time alone (no detections): call when the stream is idle."""
        self._out = []
        self._manage(now, np.empty(0, np.int64))
        return self._collect()

    # ------------------------------------------------------------------------ frames
    def _frame(self, fr: DetectionBatch,
               placed: tuple[np.ndarray, np.ndarray, np.ndarray] | None) -> None:
        """Gate, assign and apply one sensor frame; ``placed`` holds its detections'
        positions in the tracking frame (NaN for bearings; None: place the free plots of
        this radar frame when they start tracks)."""
        self.stats.frames += 1
        s = int(fr.sensor[0])
        kind = int(fr.kind[0])
        t_ref = 0.5 * float(fr.time.min() + fr.time.max())
        site = self.ingest.site[s]
        rot = self.ingest.rot[s]
        tr = self.tracks
        n = len(tr)
        ti = np.empty(0, np.int64)
        di = np.empty(0, np.int64)
        if kind in (BEARING, BEARING_ELEV):
            placed = None
        if n:
            ti, di = self._candidates(fr, kind, s, t_ref, placed)
        chosen = np.empty(0, np.int64)
        jpda_updated = np.empty(0, np.int64)
        gated_dets = np.zeros(len(fr), bool)
        fast = self._fast and kind in (RADAR3D, RADAR2D)
        if ti.size and fast:
            # the same gate and update as below, compiled, pair by pair (kernels)
            assert isinstance(self.motion, motion.ConstantVelocity)
            rv_det = fr.has_rv & self._use_rv
            _, cost = kernels.cv_radar_gate(tr.x, tr.P, tr.t, ti, di, fr.time, fr.z, fr.sigma,
                                            rv_det, site, rot, self.motion.q,
                                            self.motion.q_vertical, self._gates,
                                            elevation=kind == RADAR3D, exact=False)
            ok = np.isfinite(cost)
            ti, di, cost = ti[ok], di[ok], cost[ok]
            gated_dets[di] = True
            chosen = self._assign(ti, di, cost, n, len(fr), np.zeros(len(fr), bool),
                                  tr.status[ti] != TENTATIVE)
            if chosen.size:
                idx, dj = ti[chosen], di[chosen]
                x, P, t_new = kernels.cv_radar_update(tr.x, tr.P, tr.t, idx, dj, fr.time, fr.z,
                                                      fr.sigma, rv_det, site, rot,
                                                      self.motion.q, self.motion.q_vertical,
                                                      elevation=kind == RADAR3D)
                tr.x[idx], tr.P[idx], tr.t[idx] = x, P, t_new
                self._mark_hits(idx, fr, dj, s)
        elif ti.size:
            # exact gate: predict each candidate pair to its detection's time
            cost, xp, Pp, rv, at, gated, per_model = self._exact_gate(tr, fr, kind, s, ti, di)
            ok = np.isfinite(cost)
            gated_dets[di[ok]] = True       # a plot inside any gate never starts a track
            if kind == BEARING and self.cfg.unambiguous_bearings and ok.any():
                # a direction finder cannot tell apart targets on one ray: a track a
                # radar or position report has seen takes no ambiguous bearing
                ok[ok] = self._unambiguous_bearings(ti[ok], di[ok], n, len(fr), s)
            ti, di, cost, xp, Pp, rv, at = (ti[ok], di[ok], cost[ok], xp[ok], Pp[ok], rv[ok],
                                            at[ok])
            if per_model is not None:
                per_model = tuple(a[ok] for a in per_model)
            # confirmed and coasting tracks choose first; tentative tracks take what is left
            # (one assignment for all lets an uncertain new track steal a plot and grow
            # into a duplicate)
            firm = tr.status[ti] != TENTATIVE
            taken = np.zeros(len(fr), bool)
            by_gnn = firm
            if self.cfg.association == "jpda":
                # JPDA for firm tracks on time; a late (out-of-sequence) pair goes by GNN
                jp = firm & (fr.time[di] >= tr.t[ti])
                if jp.any():
                    upd, taken = self._jpda(fr, kind, s, ti[jp], di[jp], rv[jp])
                    jpda_updated = upd
                    by_gnn = firm & ~jp & ~np.isin(ti, upd)
            chosen = self._assign(ti, di, cost, n, len(fr), taken, by_gnn, firm)
            if chosen.size:
                self._apply(fr, kind, s, ti[chosen], di[chosen], xp[chosen], Pp[chosen],
                            rv[chosen], at[chosen], gated,
                            None if per_model is None else
                            tuple(a[chosen] for a in per_model))
        # looks for M-of-N: tracks inside this position sensor's coverage
        if kind in (RADAR3D, RADAR2D, POSITION) and n:
            # a look counts only from a sensor that has seen the track before: a radar
            # whose beam cannot reach the target (range, horizon) must not kill it
            tr = self.tracks
            tr.looks[:n] += kernels.radar_looks(
                tr.x[:n], tr.t[:n], t_ref, site, rot, float(self.max_range[s]),
                tr.seen_by[:n], 1 << (s % 64), None if kind == POSITION else self._beam(fr, s))
        updated = np.concatenate([ti[chosen], jpda_updated])
        if kind == RADAR2D and self.cfg.hold_2d_height and updated.size:
            self._reset_height(self.tracks, updated)
        self._manage(float(fr.time.max()), updated)
        if kind in (BEARING, BEARING_ELEV):
            free = fr.take(np.flatnonzero(~gated_dets))
            self._bearings = free if self._bearings is None else \
                DetectionBatch.concat([self._bearings, free])
        if kind in (RADAR3D, RADAR2D, POSITION):
            free = np.flatnonzero(~gated_dets)
            new = fr.take(free)
            pos, cov, _ = self._detection_positions(new) if placed is None else \
                (placed[0][free], placed[1][free], None)
            if len(self.lost) and len(new):
                rest = np.flatnonzero(~self._reacquire(new, kind, s, pos, cov))
                if rest.size < len(new):
                    new, pos, cov = new.take(rest), pos[rest], cov[rest]
            self._initiate(new, kind, s, pos, cov)

    def _exact_gate(self, tr: TrackTable, fr: DetectionBatch, kind: int, s: int,
                    ti: np.ndarray, di: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                               dict[bool, tuple[np.ndarray, ...]],
                               tuple[np.ndarray, ...] | None]:
        """Exact gate of pairs ``(ti, di)`` of tracks of ``tr`` and detections of ``fr``: each
        track predicted to its detection's time, the chi-square test on the innovation.
        Returns per pair the cost (``d² − gate``, +inf outside), the prediction, whether the
        radial velocity is used and the row in its group's gate data ``gated`` (innovation,
        H, S, R by use of the radial velocity, formed once for the update), and with an
        IMM the mixed model-conditioned predictions."""
        site = self.ingest.site[s]
        rot = self.ingest.rot[s]
        dt = fr.time[di] - tr.t[ti]
        xp, Pp, per_model = self._predict(ti, dt, tr)
        rv = fr.has_rv[di] & self._use_rv
        cost = np.full(ti.size, np.inf)
        at = np.zeros(ti.size, np.int64)     # each pair's row in its group's gate data
        gated: dict[bool, tuple[np.ndarray, ...]] = {}
        for use_rv, sel, model, R in self._rv_groups(fr, kind, di, rv):
            m = model.ndim_meas
            z = fr.z[di[sel], :m]
            zhat, H, S = filters.innovation(xp[sel], Pp[sel], model,
                                            np.broadcast_to(site, (sel.size, 3)),
                                            np.broadcast_to(rot, (sel.size, 3, 3)), R)
            nu = model.residual(z, zhat)
            d2 = filters.mahalanobis2(nu, S)
            gate = self._gate[m]
            cost[sel] = np.where(d2 <= gate, d2 - gate, np.inf)
            at[sel] = np.arange(sel.size)
            gated[use_rv] = (nu, H, S, R)   # kept for the update: formed once
        return cost, xp, Pp, rv, at, gated, per_model

    def _unambiguous_bearings(self, ti: np.ndarray, di: np.ndarray, n: int, k: int, s: int
                              ) -> np.ndarray:
        """Which gated pairs ``(ti, di)`` of a bearing frame (``k`` bearings, ``n`` tracks)
        may update their track.  A bearing gives no range, so one inside the gates of two
        tracks could be either's, and a track whose gate holds two bearings of one scan
        could take either: an assignment among them is a guess.  On vilnius-swarm, where
        one direction finder hears sixty control links, optimal assignment of such
        guesses gave bird tracks thousands of the swarm's bearings, which made them look
        like emitters (drones) and held them on the swarm's rays after their bird was gone.
        So a track that a radar or position report has seen (it has better ways to be
        placed) takes from direction finder ``s`` only a bearing that is its alone and
        alone in its gate, until it has taken one: a track ``s`` has heard is an emitter,
        and competes for the ambiguous bearings (by GNN) with the other emitters and with
        the tracks only passive sensors have seen, which keep every gated pair (bearings
        are all they have).  A bird is heard only when the drone that emitted the bearing
        has no track near the ray.  A tentative track a radar has seen takes no bearing
        at all: its radar confirms it or not (one clutter plot and two bearings of a
        swarm's links confirmed a track that then slid along the rays at 145 m/s).
        Counts the pairs refused in ``TrackerStats.bearings_ambiguous``."""
        per_det = np.bincount(di, minlength=k)
        per_track = np.bincount(ti, minlength=n)
        ambiguous = (per_det[di] > 1) | (per_track[ti] > 1)
        seen = self.tracks.seen_by[ti]
        placed = (seen & self._placing_bits) != 0
        heard = (seen & (np.uint64(1) << np.uint64(s % 64))) != 0
        tentative = self.tracks.status[ti] == TENTATIVE
        refuse = placed & (tentative | (ambiguous & ~heard))
        self.stats.bearings_ambiguous += int(refuse.sum())
        return ~refuse

    @staticmethod
    def _assign(ti: np.ndarray, di: np.ndarray, cost: np.ndarray, n: int, k: int,
                taken: np.ndarray, by_gnn: np.ndarray,
                firm: np.ndarray | None = None) -> np.ndarray:
        """GNN in two stages: the firm (confirmed, coasting) tracks of pairs ``by_gnn`` choose
        first, then tentative tracks take what is left (one assignment for all would let an
        uncertain new track steal a plot and grow into a duplicate).  ``taken`` marks the
        detections already used (updated in place).  Returns the chosen pairs."""
        firm = by_gnn if firm is None else firm
        first, _ = gnn_assign(ti[by_gnn], di[by_gnn], cost[by_gnn], n, k)
        first = np.flatnonzero(by_gnn)[first]
        taken[di[first]] = True
        rest = np.flatnonzero(~firm & ~taken[di])
        second, _ = gnn_assign(ti[rest], di[rest], cost[rest], n, k)
        return np.concatenate([first, rest[second]])

    def _mark_hits(self, idx: np.ndarray, fr: DetectionBatch, dj: np.ndarray, s: int,
                   t_det: np.ndarray | None = None) -> None:
        """Book-keeping of tracks ``idx`` updated by sensor ``s`` with detections ``dj`` of
        ``fr`` (at ``t_det``, by default the detections' times)."""
        tr = self.tracks
        t_det = fr.time[dj] if t_det is None else t_det
        # what places the track: a plot or report; a bearing only as the second passive
        # sensor's within the triangulation window of the first's
        if self._places[s]:
            fix = np.ones(idx.size, bool)
        else:
            last = tr.last_sensor[idx]
            fix = (last >= 0) & (last != s) & ~self._places[last] & \
                (np.abs(t_det - tr.t_update[idx]) <= self._bearing_window_s)
        tr.t_fix[idx[fix]] = np.maximum(tr.t_fix[idx[fix]], t_det[fix])
        tr.t_update[idx] = np.maximum(tr.t_update[idx], t_det)
        tr.last_rcs[idx] = fr.rcs[dj]
        tr.last_hint[idx] = fr.hint[dj]
        tr.hits[idx] += 1
        # the mean RCS: the plots' linear RCS, each weighed 1 / hits, at least 1 / rcs_memory
        lin = 10.0 ** (fr.rcs[dj] / 10.0)
        has = np.isfinite(lin)
        if has.any():
            i, lin = idx[has], lin[has]
            w = np.maximum(1.0 / tr.hits[i], 1.0 / self.cfg.rcs_memory)
            old = tr.rcs_m2[i]
            tr.rcs_m2[i] = np.where(np.isfinite(old), old + w * (lin - old), lin)
        tr.last_sensor[idx] = s
        tr.seen_by[idx] |= np.uint64(1) << np.uint64(s % 64)
        self.stats.assigned += idx.size
        # a coasting track that is seen again is confirmed again
        tr.status[idx[tr.status[idx] == COASTING]] = CONFIRMED

    def _predict(self, ti: np.ndarray, dt: np.ndarray, tr: TrackTable | None = None
                 ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...] | None]:
        """Tracks ``ti`` (of ``tr``, by default the live tracks) predicted by ``dt``: the
        (combined) mean and covariance, and with an IMM the mixed model-conditioned
        predictions ``(xm, Pm, mu)`` the update needs."""
        tr = self.tracks if tr is None else tr
        if self.imm is None:
            assert self.motion is not None
            xp, Pp = self.motion.predict(tr.x[ti], tr.P[ti], dt)
            return xp, Pp, None
        pi = uniform_transition(self.cfg.imm_stay_probability, self.imm.n_models, dt)
        xm, Pm, mu = self.imm.predict(tr.xm[ti], tr.Pm[ti], tr.mu[ti], dt, transition=pi)
        xp, Pp = self.imm.combine(xm, Pm, mu)
        return xp, Pp, (xm, Pm, mu)

    def _candidates(self, fr: DetectionBatch, kind: int, s: int, t_ref: float,
                    placed: tuple[np.ndarray, np.ndarray, np.ndarray] | None
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Coarse gate: (track, detection) index pairs that may fall in the exact gate."""
        tr = self.tracks
        spread = float(np.ptp(fr.time)) if len(fr) > 1 else 0.0
        # each track's position and its sigma predicted to t_ref (constant velocity, the
        # trace of the predicted position covariance: a track last seen a scan of a slow
        # radar ago has drifted by its velocity's uncertainty), and how far it may move
        # between t_ref and a detection of the frame (its speed plus 3 sigma of it, at most
        # the fastest target's, over half the frame's span)
        pos_t, sig_t, move = kernels.coarse_reach(tr.x, tr.P, tr.t, t_ref, self._q_bound,
                                                  self.cfg.max_speed_mps, 0.5 * spread + 1e-3)
        g = np.sqrt(self._gate[3])
        if kind in (BEARING, BEARING_ELEV):
            # every track within the sensor's reach can lie on some detection's ray
            site = self.ingest.site[s]
            near = np.flatnonzero(np.linalg.norm(pos_t - site, axis=1)
                                  <= self.max_range[s] + g * sig_t + 1_000.0)
            # ... but rays alone do not hold a track: one nothing has placed for
            # bearing_only_max_s (a bird whose radar plots stopped, on the ray of some
            # drone's control link) takes no more bearings
            near = near[t_ref - tr.t_fix[near] <= self.cfg.bearing_only_max_s]
            ti = np.repeat(near, len(fr))
            di = np.tile(np.arange(len(fr)), near.size)
            return ti, di
        if kind in (RADAR3D, RADAR2D):
            return self._candidates_polar(fr, s, pos_t, sig_t, move, g)
        if placed is None:
            raise ValueError("a frame of position reports needs its detections placed")
        pos_d, _, sig_d = placed
        tree = cKDTree(pos_d)
        radius = g * np.sqrt(sig_t**2 + float(sig_d.max()) ** 2) + move
        hits = tree.query_ball_point(pos_t, radius, return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        ti = np.repeat(np.arange(len(tr)), counts)
        di = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
        return ti, di

    def _candidates_polar(self, fr: DetectionBatch, s: int, pos_t: np.ndarray,
                          sig_t: np.ndarray, move: np.ndarray,
                          g: float) -> tuple[np.ndarray, np.ndarray]:
        """Coarse gate of a radar frame in the radar's own range and azimuth.

        A radar's error ellipse is long across the beam and thin in range, so a
        sphere around each plot would catch many tracks at long range.  Instead the
        plots are sorted by azimuth; each track takes the plots inside its azimuth
        window (one bisection), then those inside its range window.
        """
        # each track's range and azimuth window: g sigmas of the plots' and its own
        # uncertainty, plus its motion (kernels.polar_windows); plots sorted by azimuth,
        # each track's azimuth window found by bisection, then its range window
        # (kernels.polar_candidates)
        az_t, r_t, w_az, w_r = kernels.polar_windows(
            pos_t, sig_t, move, self.ingest.site[s], self.ingest.rot[s], g,
            float(fr.sigma[:, 0].max()), float(fr.sigma[:, 1].max()))
        return kernels.polar_candidates(az_t, r_t, w_az, w_r, fr.z[:, 1], fr.z[:, 0])

    def _detection_positions(self, b: DetectionBatch, which: np.ndarray | None = None
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detections placed in the tracking frame: positions, their covariances and the
        size of their uncertainty (m); NaN for bearings, which have no position, and for
        the rows ``which`` leaves out.

        A 2D radar plot has no elevation: it is placed at ``init_height_above_sensor_m``
        above the radar with ``init_height_sigma_m`` of vertical uncertainty."""
        k = len(b)
        pos = np.full((k, 3), np.nan)
        cov = np.full((k, 3, 3), np.nan)
        want = np.ones(k, bool) if which is None else which
        report = np.flatnonzero((b.kind == POSITION) & want)
        pos[report] = b.z[report, :3]
        cov[report] = np.einsum("ki,ij->kij", b.sigma[report, :3] ** 2, np.eye(3))
        plot = np.flatnonzero(((b.kind == RADAR3D) | (b.kind == RADAR2D)) & want)
        if plot.size:
            z3 = b.z[plot, :3].copy()
            sig3 = b.sigma[plot, :3].copy()
            flat = b.kind[plot] == RADAR2D
            # radar2d: range and azimuth only; the height comes from a broad prior
            r = z3[flat, 0]
            z3[flat, 2] = np.arcsin(np.clip(self.cfg.init_height_above_sensor_m / r, -1, 1))
            sig3[flat, 2] = np.minimum(self.cfg.init_height_sigma_m / r, np.radians(45.0))
            model = self._models[(RADAR3D, False)]
            s = b.sensor[plot]
            pos[plot], cov[plot] = model.inverse(z3, self.ingest.site[s], self.ingest.rot[s],
                                                 model.covariance(sig3))
        return pos, cov, np.sqrt(np.trace(cov, axis1=1, axis2=2))

    def _rv_groups(self, fr: DetectionBatch, kind: int, di: np.ndarray, rv: np.ndarray
                   ) -> Iterator[tuple[bool, np.ndarray, measurement.MeasurementModel, np.ndarray]]:
        """The pairs (detections ``di``) split by whether their radial velocity is used:
        ``(use_rv, rows, measurement model, R)`` for each non-empty group."""
        for use_rv in (False, True):
            sel = np.flatnonzero(rv == use_rv)
            if sel.size == 0:
                continue
            model = self._models[(kind, use_rv and kind in (RADAR3D, RADAR2D))]
            yield use_rv, sel, model, model.covariance(fr.sigma[di[sel], :model.ndim_meas])

    def _apply(self, fr: DetectionBatch, kind: int, s: int, ti: np.ndarray, di: np.ndarray,
               xp: np.ndarray, Pp: np.ndarray, rv: np.ndarray, at: np.ndarray,
               gated: dict[bool, tuple[np.ndarray, ...]],
               per_model: tuple[np.ndarray, ...] | None = None) -> None:
        tr = self.tracks
        site = self.ingest.site[s]
        rot = self.ingest.rot[s]
        for use_rv, sel, model, R in self._rv_groups(fr, kind, di, rv):
            m = model.ndim_meas
            t_det = fr.time[di[sel]]
            late = t_det < tr.t[ti[sel]]
            sites = np.broadcast_to(site, (sel.size, 3))
            rots = np.broadcast_to(rot, (sel.size, 3, 3))
            idx = ti[sel]
            z = fr.z[di[sel], :m]
            if per_model is not None:
                assert self.imm is not None
                xm, Pm, mu = (a[sel] for a in per_model)
                xm, Pm, mu, _, _, _ = self.imm.update(xm, Pm, mu, z, model, sites, rots, R)
                if late.any():
                    k = np.flatnonzero(late)
                    xm[k], Pm[k] = self._oosm_imm(idx[k], tr.t[idx[k]] - t_det[k],
                                                  per_model[0][sel][k], per_model[1][sel][k],
                                                  z[k], model, sites[k], rots[k], R[k])
                    mu[k] = tr.mu[idx[k]]
                x, P = self.imm.combine(xm, Pm, mu)
                tr.xm[idx], tr.Pm[idx], tr.mu[idx] = xm, Pm, mu
            else:
                if self.cfg.filter == "ekf":
                    # the gate already formed the innovation at the same predicted state
                    nu, H, S, _ = (g[at[sel]] for g in gated[bool(use_rv)])
                    x, P = filters.ekf_correct(xp[sel], Pp[sel], nu, H, S, R)
                else:
                    x, P, _, _ = self._update(xp[sel], Pp[sel], z, model, sites, rots, R)
                if late.any():
                    # out of sequence: the track is already past this detection's time
                    k = np.flatnonzero(late)
                    assert self.motion is not None
                    lag = tr.t[idx[k]] - t_det[k]
                    F = self.motion.jacobian(tr.x[idx[k]], -lag)
                    x[k], P[k] = filters.oosm_correct(tr.x[idx[k]], tr.P[idx[k]], F,
                                                      xp[sel][k], Pp[sel][k], z[k], model,
                                                      sites[k], rots[k], R[k])
            if late.any():
                t_det = np.where(late, tr.t[idx], t_det)
            tr.x[idx] = x
            tr.P[idx] = P
            tr.t[idx] = t_det
            self._mark_hits(idx, fr, di[sel], s)

    def _jpda(self, fr: DetectionBatch, kind: int, s: int, ti: np.ndarray, di: np.ndarray,
              rv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """JPDA update of the firm tracks of gated pairs ``(ti, di)`` from one sensor frame.

        Each track is predicted once, to the mean time of its gated detections (within
        one frame they are close), its innovations with all of them are formed there,
        the marginal association probabilities computed per cluster
        (:func:`~skyfence.track.jpda.jpda_weights`) and the PDA update applied
        (:func:`~skyfence.track.jpda.pda_correct`).  The radial velocity is used only
        when every pair has one.  Returns the updated tracks and, per detection of the
        frame, whether the tracks own it (total probability at least one half): the
        rest are left to tentative tracks.
        """
        assert self.motion is not None
        tr = self.tracks
        use_rv = bool(rv.all()) and self._use_rv and kind in (RADAR3D, RADAR2D)
        model = self._models[(kind, use_rv)]
        m = model.ndim_meas
        upd, row = np.unique(ti, return_inverse=True)
        count = np.bincount(row, minlength=upd.size)
        t_q = np.bincount(row, fr.time[di], minlength=upd.size) / count
        xq, Pq = self.motion.predict(tr.x[upd], tr.P[upd], t_q - tr.t[upd])
        first = np.zeros(upd.size, np.int64)
        first[row[::-1]] = np.arange(row.size)[::-1]        # a pair of each track
        Rq = model.covariance(fr.sigma[di[first], :m])
        k = upd.size
        zhat, Hq, Sq = filters.innovation(xq, Pq, model,
                                          np.broadcast_to(self.ingest.site[s], (k, 3)),
                                          np.broadcast_to(self.ingest.rot[s], (k, 3, 3)), Rq)
        nu = model.residual(fr.z[di, :m], zhat[row])
        ll = filters.log_likelihood(nu, Sq[row])
        ll = np.where(np.isfinite(ll), ll, -700.0)
        w = jpda_weights(row, di, ll, k, len(fr), float(self._pd[s]),
                         self.cfg.gate_probability, self._clutter[(s, use_rv)])
        x, P = pda_correct(xq, Pq, nu, Hq, Sq, Rq, w.beta, w.beta0, row)
        tr.x[upd], tr.P[upd], tr.t[upd] = x, P, t_q
        # a track whose detection is more likely missing than among these has not been
        # seen: its state is updated, but it earns no hit and ages towards coasting
        seen = w.beta0 < 0.5
        best = np.zeros(upd.size, np.int64)        # each track's most probable detection
        by_beta = np.argsort(w.beta, kind="stable")
        best[row[by_beta]] = di[by_beta]
        self._mark_hits(upd[seen], fr, best[seen], s, t_q[seen])
        owned = np.bincount(di, w.beta, minlength=len(fr)) >= 0.5
        return upd, owned

    def _oosm_imm(self, idx: np.ndarray, lag: np.ndarray, xr: np.ndarray, Pr: np.ndarray,
                  z: np.ndarray, model: measurement.MeasurementModel, site: np.ndarray,
                  rot: np.ndarray, R: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A late detection applied to each model-conditioned state of IMM tracks ``idx``
        (the one-step-lag update of :func:`~skyfence.track.filters.oosm_correct` per model,
        each with its own model's retrodiction; the model probabilities are left as they
        are)."""
        assert self.imm is not None
        tr = self.tracks
        k, m, d = tr.xm[idx].shape
        x = tr.xm[idx]
        F = np.zeros((k, m, d, d))
        for j, mod in enumerate(self.imm.models):
            ix = self.imm.indices[j]
            F[:, j, ix[:, None], ix[None, :]] = mod.jacobian(x[:, j][:, ix], -lag)
        rep = np.repeat
        xn, Pn = filters.oosm_correct(x.reshape(k * m, d), tr.Pm[idx].reshape(k * m, d, d),
                                      F.reshape(k * m, d, d), xr.reshape(k * m, d),
                                      Pr.reshape(k * m, d, d), rep(z, m, axis=0), model,
                                      rep(site, m, axis=0), rep(rot, m, axis=0),
                                      rep(R, m, axis=0))
        return xn.reshape(k, m, d), Pn.reshape(k, m, d, d)

    def _manage(self, now: float, updated: np.ndarray) -> None:
        tr = self.tracks
        cfg = self.cfg
        self._expire_lost(now)
        if len(tr) == 0:
            return
        tent = tr.status == TENTATIVE
        confirm = tent & (tr.hits >= cfg.confirm_m)
        tr.status[confirm] = CONFIRMED
        self.stats.confirmed += int(confirm.sum())
        # a tentative track that can no longer reach M hits in N looks is dropped
        hopeless = tent & ~confirm & ((tr.looks - tr.hits) > (cfg.confirm_n - cfg.confirm_m))
        age = now - tr.t_update
        revisit = self._revisit(tr.seen_by, now,
                                age > min(cfg.coast_after_s, cfg.delete_after_s))
        coast = (tr.status == CONFIRMED) & \
            (age > np.maximum(cfg.coast_after_s, cfg.coast_after_scans * revisit))
        tr.status[coast] = COASTING
        P = tr.P
        sig = np.sqrt(np.maximum(np.maximum(P[:, 0, 0], P[:, 1, 1]), P[:, 2, 2]))
        missed = age > np.maximum(cfg.delete_after_s, cfg.delete_after_scans * revisit)
        lost = missed | (sig > cfg.max_position_sigma_m)
        dup = self._duplicates(now)
        gone = hopeless | lost | dup
        emit = np.zeros(len(tr), bool)
        emit[updated] = True
        emit |= confirm | coast
        if emit.any():
            self._emit(np.flatnonzero(emit & ~gone))
        if gone.any():
            dead = np.flatnonzero(gone & (tr.status != TENTATIVE))
            pool = np.empty(0, np.int64)
            if dead.size and cfg.reacquire:
                # deleted for missed updates (not for a prediction grown useless); the
                # window runs from when the track was missed, not from now (a flush)
                pool = dead[missed[dead] & ~dup[dead] & (sig[dead] <= cfg.max_position_sigma_m)]
                if pool.size:
                    t_missed = tr.t_update[pool] + np.maximum(
                        cfg.delete_after_s, cfg.delete_after_scans * revisit[pool])
                    # its last state; a height only 2D radars gave goes back to the
                    # prior (a drifted height must not come back with the track)
                    gone_now = tr.take(pool)
                    self._reset_height(gone_now, np.arange(pool.size))
                    self.lost.append(gone_now)
                    # a target seen in few of its looks gets as many more scans (with
                    # reacquire_rate_2d_only, only one that 2D radars alone have seen)
                    rate = np.clip(tr.hits[pool] / np.maximum(tr.looks[pool], 1),
                                   cfg.reacquire_min_rate, 1.0)
                    if cfg.reacquire_rate_2d_only:
                        rate[(tr.seen_by[pool] & self._height_bits) != 0] = 1.0
                    self._lost_until = np.concatenate([self._lost_until, t_missed + np.maximum(
                        cfg.reacquire_s,
                        cfg.reacquire_scans * self._revisit(tr.seen_by[pool])) / rate])
            # a track in the lost pool is not deleted yet: it may come back under its id,
            # and every stage downstream would forget it on a deleted row
            self._emit(np.setdiff1d(dead, pool), status=DELETED)
            self.stats.deleted += int(gone.sum())
            tr.keep(~gone)
            self._expire_lost(now)

    def _duplicates(self, now: float) -> np.ndarray:
        """Firm tracks that duplicate an older firm track: once a second, pairs whose
        positions (predicted to ``now``) are within ``merge_radius_m`` and whose position
        and velocity differ by less than the ``merge_chi2`` Mahalanobis bound (covariance
        P1 + P2); a pair found alike at ``merge_checks`` consecutive checks loses its
        younger track (two tracks on one target otherwise share its plots for good)."""
        tr = self.tracks
        out = np.zeros(len(tr), bool)
        cfg = self.cfg
        if not cfg.merge_duplicates or now < self._next_dup_check:
            return out
        self._next_dup_check = now + 1.0
        firm = np.flatnonzero(tr.status != TENTATIVE)
        if firm.size < 2:
            self._dup_seen = {}
            return out
        pos = tr.x[firm, :3] + tr.x[firm, 3:6] * (now - tr.t[firm])[:, None]
        pairs = cKDTree(pos).query_pairs(cfg.merge_radius_m, output_type="ndarray")
        seen: dict[tuple[int, int], int] = {}
        if pairs.size:
            i, j = pairs[:, 0], pairs[:, 1]
            a, b = firm[i], firm[j]
            dx = np.concatenate([pos[i] - pos[j], tr.x[a, 3:6] - tr.x[b, 3:6]], axis=1)
            S = tr.P[a, :6, :6] + tr.P[b, :6, :6]
            d2 = np.einsum("ki,ki->k", dx, np.linalg.solve(S, dx[..., None])[..., 0])
            alike = np.flatnonzero(d2 < cfg.merge_chi2)
            ida, idb = tr.id[a[alike]], tr.id[b[alike]]
            for x, y in zip(np.minimum(ida, idb).tolist(), np.maximum(ida, idb).tolist(),
                            strict=True):
                seen[(x, y)] = self._dup_seen.get((x, y), 0) + 1
        self._dup_seen = seen
        young = [y for (x, y), k in seen.items() if k >= cfg.merge_checks]
        if young:
            out = np.isin(tr.id, np.array(young, np.int64))
            self.stats.merged += int(out.sum())
        return out

    @property
    def longest_silence_s(self) -> float:
        """The longest a track may go without a row after its last update and still come
        back under its id, seconds: its deletion for missed updates
        (``delete_after_s`` or ``delete_after_scans`` periods) plus its re-acquisition
        window (``reacquire_s`` or ``reacquire_scans`` periods, stretched by
        ``1 / reacquire_min_rate``, with ``reacquire_rate_2d_only`` only for a track
        only 2D radars have seen), for the slowest sensor.  A consumer that takes
        a track silent this long for gone (``resolve.silent_after_s`` of the alerts)
        must wait longer."""
        cfg = self.cfg
        p = self.periods
        missed = np.maximum(cfg.delete_after_s, cfg.delete_after_scans * p)
        if not cfg.reacquire:
            return float(missed.max())
        window = np.maximum(cfg.reacquire_s, cfg.reacquire_scans * p)
        stretch = np.full(p.size, 1.0 / cfg.reacquire_min_rate)
        if cfg.reacquire_rate_2d_only:
            stretch[self._measures_height] = 1.0
        return float((missed + window * stretch).max())

    def _expire_lost(self, now: float) -> None:
        """Lost tracks whose re-acquisition window ended before ``now`` are deleted for
        good: their ``deleted`` row (at their last state) is emitted now."""
        if self._lost_until.size and self._lost_until.min() < now:
            keep = self._lost_until >= now
            self._emit(np.flatnonzero(~keep), status=DELETED, tab=self.lost)
            self.lost.keep(keep)
            self._lost_until = self._lost_until[keep]

    def _reset_height(self, tab: TrackTable, rows: np.ndarray) -> None:
        """In place: the tracks among ``rows`` of ``tab`` that no height-measuring sensor
        has seen (2D radars alone) get the height prior of a new track from a 2D plot of
        their last sensor: ``init_height_above_sensor_m`` above it
        (``init_height_sigma_m``), no vertical speed (``init_vertical_speed_sigma_mps``),
        uncorrelated with the rest.  Such a height is the prior plus whatever the slant
        ranges let it drift to."""
        flat = rows[(tab.seen_by[rows] & self._height_bits) == 0]
        if flat.size == 0:
            return
        cfg = self.cfg
        s = tab.last_sensor[flat]
        site, rot = self.ingest.site[s], self.ingest.rot[s]
        local = np.einsum("kij,kj->ki", rot, tab.x[flat, :3] - site)
        local[:, 2] = cfg.init_height_above_sensor_m
        up = (site + np.einsum("kji,kj->ki", rot, local))[:, 2]
        var = {2: cfg.init_height_sigma_m ** 2, 5: cfg.init_vertical_speed_sigma_mps ** 2}

        def reset(x: np.ndarray, P: np.ndarray) -> None:
            x[..., 2] = up.reshape((-1,) + (1,) * (x.ndim - 2))
            x[..., 5] = 0.0
            for i, v in var.items():
                P[..., i, :] = 0.0
                P[..., :, i] = 0.0
                P[..., i, i] = v

        x, P = tab.x[flat], tab.P[flat]
        reset(x, P)
        tab.x[flat], tab.P[flat] = x, P
        if self.imm is not None:
            xm, Pm = tab.xm[flat], tab.Pm[flat]
            reset(xm, Pm)
            tab.xm[flat], tab.Pm[flat] = xm, Pm
            tab.x[flat], tab.P[flat] = self.imm.combine(xm, Pm, tab.mu[flat])

    def _reacquire(self, fr: DetectionBatch, kind: int, s: int, pos: np.ndarray,
                   cov: np.ndarray) -> np.ndarray:
        """Bring lost tracks back with the detections of ``fr`` (radar plots or position
        reports no live track explains, placed at ``pos`` with covariance ``cov``): a pair
        is eligible if the detection falls in the chi-square gate of the lost track
        predicted to its time (position, and the radial velocity when the plot has one)
        and within ``reacquire_max_m`` of the prediction horizontally, plus
        ``reacquire_plot_sigmas`` sigmas of the plot's own horizontal error (a 2D radar's
        plot 60 km out is a kilometre wide across its beam), and if its RCS is no more
        than ``reacquire_max_rcs_db`` above the track's mean RCS; GNN among the eligible
        pairs.
        A chosen track is updated with its detection, confirmed and returned to the live
        tracks under its old id.  Returns which detections were used."""
        cfg = self.cfg
        lost = self.lost
        used = np.zeros(len(fr), bool)
        # coarse: the last position, widened by the path the track's speed covers since
        t_ref = 0.5 * float(fr.time.min() + fr.time.max())
        spread = 0.5 * float(np.ptp(fr.time))
        speed = np.linalg.norm(lost.x[:, 3:5], axis=1)
        allow = np.full(len(fr), cfg.reacquire_max_m)
        if cfg.reacquire_plot_sigmas > 0:
            # the largest horizontal 1-sigma of each plot (eigenvalue of its 2x2 block)
            hc = cov[:, :2, :2]
            half_tr = 0.5 * (hc[:, 0, 0] + hc[:, 1, 1])
            allow += cfg.reacquire_plot_sigmas * np.sqrt(half_tr + np.sqrt(np.maximum(
                0.25 * (hc[:, 0, 0] - hc[:, 1, 1]) ** 2 + hc[:, 0, 1] ** 2, 0.0)))
        reach = float(allow.max()) + speed * (np.abs(t_ref - lost.t) + spread) + 1.0
        tree = cKDTree(pos[:, :2])
        hits = tree.query_ball_point(lost.x[:, :2], reach, return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if counts.sum() == 0:
            return used
        li = np.repeat(np.arange(len(lost)), counts)
        di = np.fromiter((j for h in hits for j in h), dtype=np.int64, count=int(counts.sum()))
        cost, xp, Pp, rv, at, gated, per_model = self._exact_gate(lost, fr, kind, s, li, di)
        # bounded: a lost track's prediction grows with time; a plot far off is not its own
        far = np.hypot(*(xp[:, :2] - pos[di, :2]).T) > allow[di]
        cost[far] = np.inf
        if cfg.reacquire_max_rcs_db is not None:
            # not its echo: a plot far brighter than the track's mean RCS (unknown: NaN,
            # never refused)
            bright = 10.0 ** (fr.rcs[di] / 10.0) > \
                lost.rcs_m2[li] * 10.0 ** (cfg.reacquire_max_rcs_db / 10.0)
            self.stats.reacquire_rcs_refused += int((bright & np.isfinite(cost)).sum())
            cost[bright] = np.inf
        ok = np.flatnonzero(np.isfinite(cost))
        if ok.size == 0:
            return used
        chosen, _ = gnn_assign(li[ok], di[ok], cost[ok], len(lost), len(fr))
        ch = ok[chosen]
        back = li[ch]
        n = len(self.tracks)
        k = back.size
        self.tracks.append(lost.take(back))
        rows = np.arange(n, n + k)
        self._apply(fr, kind, s, rows, di[ch], xp[ch], Pp[ch], rv[ch], at[ch], gated,
                    None if per_model is None else tuple(a[ch] for a in per_model))
        self.tracks.status[rows] = CONFIRMED
        self.stats.reacquired += k
        self._emit(rows)
        gone = np.ones(len(lost), bool)
        gone[back] = False
        self.lost.keep(gone)
        self._lost_until = self._lost_until[gone]
        used[di[ch]] = True
        return used

    def _beam(self, fr: DetectionBatch, s: int) -> tuple[float, float, float, float]:
        """The beam of radar ``s`` in frame ``fr``, ``(t_r, az_r, t_prev, period)``, for
        :func:`~skyfence.track.kernels.radar_looks`, which counts how often it swept each
        track since the radar's last frame: one look per scan, however the scan is cut
        into frames.

        A rotating radar illuminates azimuth ``a`` at ``t_r + ((a − az_r) mod 360°) / 360° ·
        period`` plus whole periods, ``(t_r, az_r)`` being any of its plots (the latest of
        this frame is used).  The looks of a frame are the illuminations in ``(t_prev + τ,
        t_r + τ]``, ``t_prev`` the latest plot of the sensor's previous frame and ``τ`` 5 %
        of the period (a track a little ahead of the plot in azimuth, by noise, is being
        lit now); a frame older than the previous one (out of sequence) adds none.
        """
        period = float(self.periods[s])
        j = int(np.argmax(fr.time))
        t_r, az_r = float(fr.time[j]), float(fr.z[j, 1])
        t_prev = float(self._frame_end[s]) if np.isfinite(self._frame_end[s]) else t_r - period
        self._frame_end[s] = max(self._frame_end[s], t_r)
        return t_r, az_r, t_prev, period

    def _revisit(self, seen_by: np.ndarray, now: float | None = None,
                 due: np.ndarray | None = None) -> np.ndarray:
        """Per track, the scan period of the sensors expected to update it, s: the fastest
        sensor that has seen it and still covers its position (``now``); the slowest that
        has seen it where none does.  With ``due`` only those tracks get the covering
        sensors' period (the others: the slowest), since only they can be coasted or deleted.
        """
        out = np.zeros(seen_by.size)
        for period, mask in self._period_masks:        # a few distinct periods
            out = np.where((seen_by & mask) != 0, np.maximum(out, period), out)
        if now is None:
            return out
        idx = np.flatnonzero(due) if due is not None else np.arange(seen_by.size)
        if idx.size == 0:
            return out
        tr = self.tracks
        pos = tr.x[idx, :3] + tr.x[idx, 3:6] * (now - tr.t[idx])[:, None]
        bits = seen_by[idx]
        fastest = np.full(idx.size, np.inf)
        any_bits = int(np.bitwise_or.reduce(bits))
        for s in range(len(self.periods)):             # a few dozen sensors
            if not (any_bits >> (s % 64)) & 1:
                continue
            seen = (bits & (np.uint64(1) << np.uint64(s % 64))) != 0
            near = seen.copy()
            near[seen] = np.linalg.norm(pos[seen] - self.ingest.site[s], axis=1) \
                <= self.max_range[s]
            fastest = np.where(near, np.minimum(fastest, self.periods[s]), fastest)
        out[idx] = np.where(np.isfinite(fastest), fastest, out[idx])
        return out

    def _initiate(self, fr: DetectionBatch, kind: int, s: int, pos: np.ndarray,
                  cov: np.ndarray) -> None:
        k = len(fr)
        if k == 0:
            return
        cfg = self.cfg
        site = np.broadcast_to(self.ingest.site[s], (k, 3))
        d = self.ndim
        x = np.zeros((k, d))
        P = np.zeros((k, d, d))
        x[:, :3] = pos
        P[:, :3, :3] = cov
        sh, sv = cfg.init_speed_sigma_mps, cfg.init_vertical_speed_sigma_mps
        Pv = np.zeros((k, 3, 3))
        Pv[:, 0, 0] = Pv[:, 1, 1] = sh**2
        Pv[:, 2, 2] = sv**2
        if kind in (RADAR3D, RADAR2D) and self._use_rv:
            # the radial velocity fixes the velocity along the line of sight
            j = 3 if kind == RADAR3D else 2
            has = fr.has_rv
            los = pos - site
            u = los / np.linalg.norm(los, axis=1, keepdims=True)
            rv = np.where(has, fr.z[:, j], 0.0)
            x[has, 3:6] = (rv[:, None] * u)[has]
            srv = np.where(has, fr.sigma[:, j], 0.0)
            uu = np.einsum("ki,kj->kij", u, u)
            proj = np.eye(3) - uu
            Pv_los = np.einsum("kij,kjl,klm->kim", proj, Pv, proj) + \
                srv[:, None, None] ** 2 * uu
            Pv = np.where(has[:, None, None], Pv_los, Pv)
        P[:, 3:6, 3:6] = Pv
        self._spawn(x, P, fr.time, np.full(k, s, np.int64),
                    np.full(k, np.uint64(1) << np.uint64(s % 64), np.uint64), np.ones(k, np.int64),
                    fr.rcs, fr.hint)

    def _spawn(self, x: np.ndarray, P: np.ndarray, t: np.ndarray, sensor: np.ndarray,
               seen_by: np.ndarray, hits: np.ndarray, rcs: np.ndarray | None = None,
               hint: np.ndarray | None = None) -> None:
        """Append ``k`` new tentative tracks (higher-order states get a broad prior); ``rcs``
        and ``hint`` of the detections that start them (default none)."""
        k = x.shape[0]
        rcs = np.full(k, np.nan) if rcs is None else rcs
        hint = np.full(k, -1, np.int64) if hint is None else hint
        cfg = self.cfg
        for i, name in enumerate(self.components[6:], start=6):  # turn rate or acceleration
            if self.imm is not None:
                P[:, i, i] = np.radians(cfg.imm_turn_sigma_deg_s) ** 2 if name == "w" else \
                    cfg.imm_accel_sigma_mps2 ** 2
            else:
                P[:, i, i] = np.radians(10.0) ** 2 if name == "w" else 25.0
        m = self.tracks.n_models
        if self.imm is not None:
            xm, Pm, mu = self.imm.initiate(x, P, np.full(m, 1.0 / m))
            x, P = self.imm.combine(xm, Pm, mu)
        else:
            xm, Pm, mu = np.empty((k, 0, self.ndim)), np.empty((k, 0, self.ndim, self.ndim)), \
                np.empty((k, 0))
        ids = np.arange(self.next_id, self.next_id + k, dtype=np.int64)
        self.next_id += k
        new = TrackTable(ids, x, P, t.copy(), np.full(k, TENTATIVE, np.int8), t.copy(),
                         t.copy(), t.copy(), hits, hits.copy(), sensor, seen_by, rcs.copy(),
                         10.0 ** (rcs / 10.0), hint.copy(), mu, xm, Pm)
        self.tracks.append(new)
        self.stats.initiated += k
        self._emit(np.arange(len(self.tracks) - k, len(self.tracks)))

    def _triangulate(self) -> None:
        """Start tracks where bearings of two passive sensors that no track explains cross."""
        buf = self._bearings
        if buf is None or len(buf) < 2:
            return
        newest = float(buf.time.max())
        s = buf.sensor
        i, j, pos, cov, t = triangulate_pairs(
            buf.time, s, buf.z[:, 0], np.where(buf.kind == BEARING_ELEV, buf.z[:, 1], np.nan),
            buf.sigma[:, 0], np.where(buf.kind == BEARING_ELEV, buf.sigma[:, 1], np.nan),
            self.ingest.site[s], self.ingest.rot[s], self.max_range[s],
            height_prior=(self.cfg.init_height_above_sensor_m, self.cfg.init_height_sigma_m))
        used = np.zeros(len(buf), bool)
        if i.size:
            # each bearing starts at most one track: closest in time, then tightest, first
            order = np.lexsort((np.trace(cov, axis1=1, axis2=2), buf.time[j] - buf.time[i]))
            take = []
            for p_ in order:
                if not (used[i[p_]] or used[j[p_]]):
                    used[i[p_]] = used[j[p_]] = True
                    take.append(p_)
            sel = np.array(take, dtype=np.int64)
            k = sel.size
            d = self.ndim
            x = np.zeros((k, d))
            P = np.zeros((k, d, d))
            x[:, :3] = pos[sel]
            gap = (buf.time[j] - buf.time[i])[sel]
            P[:, :3, :3] = cov[sel] + np.einsum("k,ij->kij", (self.cfg.init_speed_sigma_mps
                                                               * gap) ** 2, np.eye(3))
            P[:, 3, 3] = P[:, 4, 4] = self.cfg.init_speed_sigma_mps ** 2
            P[:, 5, 5] = self.cfg.init_vertical_speed_sigma_mps ** 2
            bits = (np.uint64(1) << (s[i[sel]] % 64).astype(np.uint64)) | \
                (np.uint64(1) << (s[j[sel]] % 64).astype(np.uint64))
            self._spawn(x, P, t[sel], s[j[sel]], bits, np.full(k, 2, np.int64))
        keep = ~used & (buf.time >= newest - self._bearing_window_s)
        self._bearings = buf.take(np.flatnonzero(keep))

    # ------------------------------------------------------------------------ output
    def _emit(self, idx: np.ndarray, status: int | None = None,
              tab: TrackTable | None = None) -> None:
        """Record the current state of tracks ``idx`` of ``tab`` (default the live
        tracks; converted later, in one batch; the index arrays ``idx`` select are
        copies)."""
        tr = self.tracks if tab is None else tab
        if idx.size == 0:
            return
        rec = {
            "t": tr.t[idx], "id": tr.id[idx], "x": tr.x[idx, :6], "P": tr.P[idx, :3, :3],
            "status": tr.status[idx] if status is None else np.full(idx.size, status),
            "hits": tr.hits[idx],
            "sensor": np.where(tr.t_update[idx] == tr.t[idx], tr.last_sensor[idx], -1),
            "rcs": tr.last_rcs[idx], "hint": tr.last_hint[idx],
        }
        self._out.append(rec)
        if self.keep_history and status is None:
            # the whole filtered state of confirmed and coasting tracks, for smoothed()
            firm = (rec["status"] == CONFIRMED) | (rec["status"] == COASTING)
            if firm.any():
                j = idx[firm]
                self._history.append({**{k: v[firm] for k, v in rec.items()},
                                      "x": tr.x[j], "P": tr.P[j], "xm": tr.xm[j],
                                      "Pm": tr.Pm[j], "mu": tr.mu[j]})

    def smoothed(self) -> dict[str, np.ndarray]:
        """Fixed-interval smoothed states of every track since it was confirmed, for
        forensics (needs ``keep_history=True``): rows of ``TRACK_COLUMNS`` in the
        order of track id and time.  With an IMM the smoother is IMM-aware
        (:func:`~skyfence.track.smooth.imm_smooth_tracks`), else the (extended) RTS
        smoother of the tracker's motion model (:func:`~skyfence.track.smooth.rts_smooth_tracks`).
        """
        from skyfence.track.smooth import imm_smooth_tracks, rts_smooth_tracks

        if not self.keep_history:
            raise ValueError("Tracker.smoothed needs a tracker built with keep_history=True")
        if not self._history:
            return self._rows(None)
        h = {k: np.concatenate([r[k] for r in self._history]) for k in self._history[0]}
        order = np.lexsort((h["t"], h["id"]))
        h = {k: v[order] for k, v in h.items()}
        cuts = np.flatnonzero(np.diff(h["id"])) + 1
        parts = [np.split(h[k], cuts) for k in ("t", "x", "P", "xm", "Pm", "mu")]
        if self.imm is not None:
            imm, stay = self.imm, self.cfg.imm_stay_probability
            xs, Ps, _ = imm_smooth_tracks(
                parts[0], parts[3], parts[4], parts[5], imm,
                transition=lambda dt: uniform_transition(stay, imm.n_models, dt))
        else:
            assert self.motion is not None
            xs, Ps = rts_smooth_tracks(parts[0], parts[1], parts[2], self.motion)
        x = np.concatenate(xs)
        P = np.concatenate(Ps)
        return self._rows({"t": h["t"], "id": h["id"], "x": x[:, :6], "P": P[:, :3, :3],
                           "status": h["status"], "hits": h["hits"], "sensor": h["sensor"],
                           "rcs": h["rcs"], "hint": h["hint"]})

    def _collect(self) -> dict[str, np.ndarray]:
        """The states recorded since the last call, as rows of ``TRACK_COLUMNS``."""
        out, self._out = self._out, []
        return self._rows({k: np.concatenate([o[k] for o in out]) for k in out[0]}
                          if out else None)

    def _rows(self, rec: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
        """Recorded states (``t, id, x`` (K, 6), ``P`` (K, 3, 3), ``status, hits, sensor``)
        as rows of ``TRACK_COLUMNS`` (WGS84, local ENU velocity); None: no rows."""
        if rec is None:
            return {k: np.empty(0, dtype=str if v == "str" else v)
                    for k, v in TRACK_COLUMNS.items()}
        x = rec["x"]
        lat, lon, alt = enu2geodetic(x[:, 0], x[:, 1], x[:, 2], *self.origin)
        # velocity and position sigma in the local east/north/up at the track
        v, sig = kernels.local_velocity_sigma(lat, lon, self.origin[0], self.origin[1],
                                              x[:, 3:6], rec["P"])
        n = x.shape[0]
        sensor = rec["sensor"]
        return {
            "time": rec["t"], "track_id": rec["id"],
            "status": np.array(TRACK_STATUSES)[rec["status"]],
            "lat_deg": lat, "lon_deg": lon, "alt_m": alt,
            "vel_east_mps": v[:, 0], "vel_north_mps": v[:, 1], "vel_up_mps": v[:, 2],
            "sigma_east_m": sig[:, 0], "sigma_north_m": sig[:, 1], "sigma_up_m": sig[:, 2],
            "class": np.full(n, ""), "class_prob": np.full(n, np.nan),
            "n_updates": rec["hits"],
            "sensor_id": np.where(sensor >= 0, self.ingest.ids[np.maximum(sensor, 0)], ""),
            "rcs_dbsm": np.where(sensor >= 0, rec["rcs"], np.nan),
            "id_hint": self._hint_strings(np.where(sensor >= 0, rec["hint"], -1)),
        }

    def _hint_strings(self, code: np.ndarray) -> np.ndarray:
        """id_hint strings of codes (-1: "")."""
        if code.size == 0 or not self.ingest.hints or (code < 0).all():
            return np.full(code.size, "")
        return np.array(["", *self.ingest.hints])[code + 1]
