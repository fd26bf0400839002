"""Benchmark SkyFence's batched tracker against Stone Soup 1.9.1 GNN trackers (not a test).

All trackers run in this one process on the very same detections: N targets
(default 10 / 100 / 1,000 / 10,000) flying nearly-constant-velocity 3D tracks
(white-acceleration spectral density q = 1 m²/s³ on every axis) at 20-60 m/s,
5-60 km from one 3D radar at the tracking origin, 200-3000 m high, seen once a
second with probability ``--pd`` and Gaussian noise (σr = 10 m, σaz = σel =
0.2°), plus 0.1·N false plots per scan uniform in the same volume.

Trackers
    ``stonesoup-gnn``  Stone Soup's standard GNN tracker: ``MultiTargetTracker``
        with ``ExtendedKalmanPredictor`` (CV ``CombinedLinearGaussianTransitionModel``),
        ``ExtendedKalmanUpdater`` with ``CartesianToElevationBearingRange``,
        ``DistanceHypothesiser`` (``Mahalanobis``, finite ``missed_distance`` = the
        99.9 % chi-square gate for 3 dof), ``GNNWith2DAssignment``,
        ``MultiMeasurementInitiator`` (min_points 3) and ``UpdateTimeStepsDeleter``.
    ``stonesoup-kdtree``  The same with ``DetectionKDTreeGNN2D`` as the associator
        of the tracker and of the initiator (see ``_KDTREE_MULTIPLIER``).
    ``skyfence``  ``skyfence.track.tracker.Tracker`` (EKF, CV, GNN, 3-of-5 confirmation).

Figures per tracker and N: detections/s and ms per scan (median, p99; the p99
of ~17 scans is about their maximum) over the scans after the first
``--warmup``; peak memory (the rise of the resident set over the run: the
kernel's peak-RSS mark ``VmHWM`` is reset through ``/proc/self/clear_refs``
before the run; or the tracemalloc peak with ``--memory tracemalloc``, which
slows Stone Soup down); and the mean GOSPA (c = 100 m, p = 2, alpha = 2) of the
reported tracks against the truth over the scans after the first 5.  A Stone
Soup run stops when ``--time-limit`` seconds of wall clock have passed
(SIGALRM, also inside a scan): its figures then come from the scans that
finished, it is marked 'capped', and larger N are skipped for that tracker.
Nothing is extrapolated.  Threads of the numeric libraries are pinned
to one.  Nothing asserts on time.

GOSPA counts SkyFence's tracks of status 'confirmed' (moved to the scan time
along their velocity) and every track Stone Soup's ``MultiTargetTracker`` holds
(its initiator has confirmed them).  Mind the scale: 0.2° of azimuth is 35-210 m
across the beam at 10-60 km, so with c = 100 m a good share of the far targets
count as one missed plus one false for either tracker (``--gospa-c`` changes c).
The geometry is the tangent plane at the radar for truth and both trackers::

    python benchmarks/bench_tracker.py
    python benchmarks/bench_tracker.py --sizes 10 100 1000 --scans 10 --time-limit 60
    python benchmarks/bench_tracker.py --trackers skyfence --sizes 100 1000 10000 --json
"""

from __future__ import annotations

import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split

import argparse
import contextlib
import ctypes
import datetime
import gc
import json
import math
import platform
import signal
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.stats import chi2

from skyfence.eval.gospa import gospa

# ----------------------------------------------------------------------------- scenario

LAT0, LON0, ALT0 = 55.0, 24.0, 100.0          # radar site = tracking origin
T0 = 1_750_000_000.0                           # epoch seconds of the first scan
SIGMA_R, SIGMA_AZ_DEG, SIGMA_EL_DEG = 10.0, 0.2, 0.2
Q = 1.0                                        # m²/s³, truth and both trackers, every axis
RANGE_M = (5_000.0, 60_000.0)                  # ground range of targets and clutter
HEIGHT_M = (200.0, 3_000.0)
SPEED_MPS = (20.0, 60.0)
CLUTTER_FRACTION = 0.1                         # false plots per scan per target
GOSPA_C, GOSPA_P, GOSPA_ALPHA = 100.0, 2.0, 2.0
GOSPA_SKIP = 5                                 # GOSPA averaged over scans after the first 5
GATE_PROBABILITY = 0.999                       # Stone Soup: chi-square gate, 3 dof
#: Stone Soup initial velocity sigma (m/s), horizontal / vertical: SkyFence's defaults
INIT_SPEED_SIGMA, INIT_VSPEED_SIGMA = 50.0, 5.0
MIN_POINTS = 3                                 # Stone Soup confirmation; SkyFence: 3 of 5
HOLD_DELETE_STEPS = 2                          # initiator drops a holding track after 2 misses
TRACK_DELETE_STEPS = 3                         # tracker drops a track after 3 misses
#: DetectionKDTreeGNN2D: the tree holds the detections' raw [elevation, bearing, range]
#: vectors, so its Euclidean distance is, to within the angles in radians, the range
#: difference in metres.  Its radius is ``max(diag(S)) * multiplier`` = S_rr · 0.5 m:
#: since S_rr >= σr² = 100 m², that is >= 0.5·σ_r,pred·10 m >= 4.03·σ_r,pred + 9.7 m, wider
#: than the 99.9 % gate (4.03 σ) in range by more than a bearing wrap (2π) adds, so
#: the tree never drops a detection the Mahalanobis gate would keep.
_KDTREE_MULTIPLIER = 0.5

TRACKERS = ("stonesoup-gnn", "stonesoup-kdtree", "skyfence")


@dataclass
class Scenario:
    """Truth and detections of one run, in the tracking frame (ENU metres at the radar)."""

    n: int
    seed: int
    pd: float
    truth: list[np.ndarray]                    # per scan (N, 3) positions
    rng_m: list[np.ndarray]                    # per scan (K,) range, m
    az: list[np.ndarray]                       # per scan (K,) azimuth, rad, clockwise from N
    el: list[np.ndarray]                       # per scan (K,) elevation, rad

    @property
    def scans(self) -> int:
        return len(self.truth)

    def detections(self, k: int) -> int:
        return int(self.rng_m[k].size)


def _cv_noise_chol(q: float, dt: float) -> np.ndarray:
    """Cholesky factor of the discrete white-acceleration noise of one axis [pos, vel]."""
    return np.linalg.cholesky(q * np.array([[dt**3 / 3.0, dt**2 / 2.0], [dt**2 / 2.0, dt]]))


def _uniform_positions(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` points uniform in the annulus RANGE_M × HEIGHT_M around the radar."""
    lo, hi = RANGE_M
    rho = np.sqrt(rng.uniform(lo**2, hi**2, k))
    phi = rng.uniform(0.0, 2.0 * np.pi, k)
    return np.column_stack([rho * np.sin(phi), rho * np.cos(phi), rng.uniform(*HEIGHT_M, k)])


def _polar(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Range, azimuth (clockwise from north, [0, 2π)) and elevation of ENU positions."""
    e, n, u = pos[:, 0], pos[:, 1], pos[:, 2]
    r = np.sqrt(e**2 + n**2 + u**2)
    return r, np.arctan2(e, n) % (2.0 * np.pi), np.arcsin(u / r)


def make_scenario(n: int, scans: int, pd: float, seed: int) -> Scenario:
    """Simulate ``scans`` one-second radar scans of ``n`` targets plus clutter."""
    rng = np.random.default_rng([seed, n])
    x = np.zeros((n, 6))                        # [e, n, u, ve, vn, vu]
    x[:, :3] = _uniform_positions(rng, n)
    speed = rng.uniform(*SPEED_MPS, n)
    heading = rng.uniform(0.0, 2.0 * np.pi, n)
    x[:, 3], x[:, 4] = speed * np.sin(heading), speed * np.cos(heading)
    x[:, 5] = rng.normal(0.0, 1.0, n)
    chol = _cv_noise_chol(Q, 1.0)
    n_clutter = int(round(CLUTTER_FRACTION * n))
    truth, rr, aa, ee = [], [], [], []
    for k in range(scans):
        if k:
            w = rng.standard_normal((n, 3, 2)) @ chol.T   # (pos, vel) noise per axis
            x[:, :3] += x[:, 3:6] + w[:, :, 0]
            x[:, 3:6] += w[:, :, 1]
        truth.append(x[:, :3].copy())
        seen = x[rng.random(n) < pd, :3]
        r, az, el = _polar(seen)
        r = r + rng.normal(0.0, SIGMA_R, r.size)
        az = (az + rng.normal(0.0, np.radians(SIGMA_AZ_DEG), az.size)) % (2.0 * np.pi)
        el = el + rng.normal(0.0, np.radians(SIGMA_EL_DEG), el.size)
        cr, caz, cel = _polar(_uniform_positions(rng, n_clutter))
        order = rng.permutation(r.size + cr.size)      # targets and clutter mixed
        rr.append(np.concatenate([r, cr])[order])
        aa.append(np.concatenate([az, caz])[order])
        ee.append(np.concatenate([el, cel])[order])
    return Scenario(n, seed, pd, truth, rr, aa, ee)


# ---------------------------------------------------------------------------- GOSPA


def gospa_distance(truth: np.ndarray, tracks: np.ndarray,
                   c: float = GOSPA_C) -> tuple[float, int, int]:
    """GOSPA (cut-off c, p = 2, alpha = 2) between two position sets, with the missed and
    false counts.

    With alpha = 2 a truth-track pair at or beyond c costs as much as leaving both
    unassigned, so the optimal assignment never crosses between the connected
    components of the graph "closer than c": GOSPA^p is exactly the sum over those
    components of :func:`skyfence.eval.gospa.gospa` ^p.  Components of one truth and
    one track cost d^p; a lone point costs c^p/2.  This keeps 10,000 targets out
    of a dense 10,000 × 10,000 distance matrix.
    """
    n, m = len(truth), len(tracks)
    if n == 0 or m == 0 or n * m <= 250_000:
        r = gospa(truth.reshape(n, 3), tracks.reshape(m, 3), c, GOSPA_P, GOSPA_ALPHA)
        return r.distance, r.n_missed, r.n_false
    pairs = cKDTree(truth).sparse_distance_matrix(cKDTree(tracks), c, output_type="ndarray")
    pairs = pairs[pairs["v"] < c]
    graph = coo_matrix((np.ones(pairs.size), (pairs["i"], n + pairs["j"])),
                       shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    size = np.bincount(label)
    half = c**GOSPA_P / GOSPA_ALPHA
    lone = size[label] == 1
    total = half * float(lone.sum())
    missed, false = int(lone[:n].sum()), int(lone[n:].sum())
    # one truth and one track: a single edge, always assigned (d < c)
    single = size[label[pairs["i"]]] == 2
    total += float((pairs["v"][single] ** GOSPA_P).sum())
    # larger clusters: solve each with skyfence's gospa
    big = np.flatnonzero(size > 2)
    if big.size:
        nodes = np.argsort(label, kind="stable")
        starts = np.searchsorted(label[nodes], big)
        for b, s0 in zip(big, starts, strict=True):
            members = nodes[s0:s0 + size[b]]
            ti, tj = members[members < n], members[members >= n] - n
            r = gospa(truth[ti], tracks[tj], c, GOSPA_P, GOSPA_ALPHA)
            total += r.distance**GOSPA_P
            missed += r.n_missed
            false += r.n_false
    return total ** (1.0 / GOSPA_P), missed, false


# ---------------------------------------------------------------- limits and memory


class _TimeLimit(BaseException):
    """Raised by SIGALRM when a run's time limit is over (a BaseException, so that no
    ``except Exception`` inside Stone Soup swallows it)."""


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_TimeLimit` in the main thread after ``seconds`` of wall clock."""
    if seconds is None or not hasattr(signal, "setitimer"):
        yield
        return

    def _alarm(signum: int, frame: object) -> None:
        raise _TimeLimit

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _proc_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _rss_peak_resettable() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _proc_kb("VmHWM")
        return True
    except OSError:
        return False


def _trim_heap() -> None:
    """Free what the garbage collector can and hand free heap pages back to the kernel."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass
class _Memory:
    method: str
    peak_mb: float = math.nan


@contextlib.contextmanager
def _peak_memory(method: str) -> Iterator[_Memory]:
    """Peak memory of the block above its start, MB (1e6 bytes)."""
    mem = _Memory(method)
    _trim_heap()
    if method == "tracemalloc":
        tracemalloc.start()
        try:
            yield mem
        finally:
            mem.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        return
    base = _proc_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                               # VmHWM := VmRSS
    try:
        yield mem
    finally:
        mem.peak_mb = (_proc_kb("VmHWM") - base) * 1024 / 1e6


# ----------------------------------------------------------------------------- trackers


class _StoneSoupRun:
    """One Stone Soup ``MultiTargetTracker`` fed one scan at a time."""

    def __init__(self, associator: str) -> None:
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.dataassociator.tree import DetectionKDTreeGNN2D
        from stonesoup.deleter.time import UpdateTimeStepsDeleter
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.initiator.simple import MultiMeasurementInitiator
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRange
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
            ConstantVelocity,
        )
        from stonesoup.predictor.kalman import ExtendedKalmanPredictor
        from stonesoup.tracker.simple import MultiTargetTracker
        from stonesoup.types.angle import Bearing, Elevation
        from stonesoup.types.array import CovarianceMatrix, StateVector
        from stonesoup.types.detection import Detection
        from stonesoup.types.state import GaussianState
        from stonesoup.updater.kalman import ExtendedKalmanUpdater

        self._Detection, self._StateVector = Detection, StateVector
        self._Bearing, self._Elevation = Bearing, Elevation
        self.start = datetime.datetime(2025, 6, 15, tzinfo=datetime.UTC)
        transition = CombinedLinearGaussianTransitionModel(
            [ConstantVelocity(Q), ConstantVelocity(Q), ConstantVelocity(Q)])
        # one model instance for every detection (the k-d tree needs a single model)
        self.model = CartesianToElevationBearingRange(
            ndim_state=6, mapping=(0, 2, 4),
            noise_covar=np.diag([np.radians(SIGMA_EL_DEG) ** 2, np.radians(SIGMA_AZ_DEG) ** 2,
                                 SIGMA_R**2]),
            translation_offset=StateVector([0.0, 0.0, 0.0]),
            rotation_offset=StateVector([0.0, 0.0, 0.0]))
        predictor = ExtendedKalmanPredictor(transition)
        updater = ExtendedKalmanUpdater(self.model)
        missed = math.sqrt(chi2.ppf(GATE_PROBABILITY, 3))

        def associator_() -> Any:
            hyp = DistanceHypothesiser(predictor, updater, measure=Mahalanobis(),
                                       missed_distance=missed)
            if associator == "kdtree":
                return DetectionKDTreeGNN2D(
                    hypothesiser=hyp, predictor=predictor, updater=updater,
                    max_distance_covariance_multiplier=_KDTREE_MULTIPLIER)
            return GNNWith2DAssignment(hyp)

        prior = GaussianState(
            StateVector([0.0] * 6),
            CovarianceMatrix(np.diag([0.0, INIT_SPEED_SIGMA**2, 0.0, INIT_SPEED_SIGMA**2,
                                      0.0, INIT_VSPEED_SIGMA**2])),
            timestamp=self.start)
        initiator = MultiMeasurementInitiator(
            prior_state=prior, deleter=UpdateTimeStepsDeleter(HOLD_DELETE_STEPS),
            data_associator=associator_(), updater=updater, measurement_model=self.model,
            min_points=MIN_POINTS)
        self._pending: tuple[datetime.datetime, set[Any]] | None = None
        self.tracker = MultiTargetTracker(
            initiator=initiator, deleter=UpdateTimeStepsDeleter(TRACK_DELETE_STEPS),
            detector=self._feed(), data_associator=associator_(), updater=updater)
        iter(self.tracker)

    def _feed(self) -> Iterator[tuple[datetime.datetime, set[Any]]]:
        while True:
            assert self._pending is not None
            yield self._pending

    def prepare(self, sc: Scenario, k: int) -> None:
        """The scan's detections as Stone Soup objects (not timed)."""
        when = self.start + datetime.timedelta(seconds=k)
        bearing = np.pi / 2.0 - sc.az[k]           # counter-clockwise from x (east)
        el, r = sc.el[k], sc.rng_m[k]
        D, SV, B, E, model = (self._Detection, self._StateVector, self._Bearing,
                              self._Elevation, self.model)
        self._pending = (when, {
            D(SV([[E(el[i])], [B(bearing[i])], [r[i]]]), timestamp=when,
              measurement_model=model) for i in range(r.size)})

    def step(self) -> None:
        next(self.tracker)

    def positions(self, k: int) -> np.ndarray:
        """Positions of the tracker's tracks (confirmed by the initiator), all at scan k."""
        tracks = self.tracker.tracks
        if not tracks:
            return np.empty((0, 3))
        return np.array([np.asarray(t.state_vector, float)[[0, 2, 4], 0] for t in tracks])


class _SkyFenceRun:
    def __init__(self) -> None:
        from skyfence.config.sensors import SensorDeployment, SensorSpec
        from skyfence.track.config import TrackerConfig
        from skyfence.track.tracker import Tracker
        from skyfence.track.tracks import CONFIRMED

        deployment = SensorDeployment(sensor=[SensorSpec(
            id="r1", kind="radar3d", lat_deg=LAT0, lon_deg=LON0, alt_m=ALT0,
            max_range_m=100_000.0, scan_period_s=1.0, sigma_range_m=SIGMA_R,
            sigma_azimuth_deg=SIGMA_AZ_DEG, sigma_elevation_deg=SIGMA_EL_DEG,
            sigma_radial_velocity_mps=0.5)])
        self.tracker = Tracker(deployment, TrackerConfig(
            motion="cv", origin=(LAT0, LON0, ALT0), q=Q, q_vertical=Q, use_radial_velocity=False))
        self._confirmed = CONFIRMED
        self._table: dict[str, np.ndarray] = {}

    def prepare(self, sc: Scenario, k: int) -> None:
        """The scan's detections as a table of columns (not timed)."""
        n = sc.detections(k)
        self._table = {
            "time": np.full(n, T0 + k), "sensor_id": np.full(n, "r1"),
            "kind": np.full(n, "radar3d"), "range_m": sc.rng_m[k],
            "azimuth_deg": np.degrees(sc.az[k]), "elevation_deg": np.degrees(sc.el[k]),
            "sigma_range_m": np.full(n, SIGMA_R), "sigma_azimuth_deg": np.full(n, SIGMA_AZ_DEG),
            "sigma_elevation_deg": np.full(n, SIGMA_EL_DEG)}

    def step(self) -> None:
        self.tracker.step(self._table)

    def positions(self, k: int) -> np.ndarray:
        """Confirmed tracks, moved from their last update to scan k along their velocity."""
        tr = self.tracker.tracks
        m = tr.status == self._confirmed
        return tr.x[m, :3] + tr.x[m, 3:6] * (T0 + k - tr.t[m])[:, None]


# ------------------------------------------------------------------------------ running


@dataclass
class Result:
    tracker: str
    n: int
    scans_requested: int
    scans_run: int = 0
    scans_timed: int = 0
    detections_timed: int = 0
    seconds_timed: float = 0.0
    detections_per_s: float | None = None
    ms_median: float | None = None
    ms_p99: float | None = None
    peak_mb: float | None = None
    memory: str = ""
    gospa: float | None = None
    gospa_scans: int = 0
    mean_missed: float | None = None
    mean_false: float | None = None
    reported_tracks_last: int | None = None
    capped: bool = False
    skipped: bool = False
    unfinished_scan_s: float | None = None
    unfinished_scan_detections: int | None = None
    wall_s: float = 0.0
    scan_ms: list[float] = field(default_factory=list)
    note: str = ""


def run_one(name: str, sc: Scenario, warmup: int, time_limit: float | None,
            memory: str, gospa_c: float = GOSPA_C) -> Result:
    """Run one tracker over a scenario and measure it."""
    res = Result(name, sc.n, sc.scans)
    seconds: list[float] = []
    dets: list[int] = []
    gos: list[tuple[float, int, int]] = []
    n_rep = 0
    t_wall = time.perf_counter()
    t_step: float | None = None
    with _peak_memory(memory) as mem:
        try:
            with _deadline(time_limit):
                run: _StoneSoupRun | _SkyFenceRun
                if name == "skyfence":
                    run = _SkyFenceRun()
                else:
                    run = _StoneSoupRun("kdtree" if name == "stonesoup-kdtree" else "gnn")
                for k in range(sc.scans):
                    run.prepare(sc, k)
                    t_step = time.perf_counter()
                    run.step()
                    seconds.append(time.perf_counter() - t_step)
                    t_step = None
                    dets.append(sc.detections(k))
                    est = run.positions(k)
                    n_rep = len(est)
                    if k >= GOSPA_SKIP:
                        gos.append(gospa_distance(sc.truth[k], est, gospa_c))
        except _TimeLimit:
            res.capped = True
            if t_step is not None:
                res.unfinished_scan_s = time.perf_counter() - t_step
                res.unfinished_scan_detections = sc.detections(len(seconds))
        finally:
            run = None  # type: ignore[assignment]   # free the tracker inside the window
    res.wall_s = time.perf_counter() - t_wall
    res.peak_mb, res.memory = mem.peak_mb, mem.method
    res.scans_run = len(seconds)
    res.scan_ms = [s * 1e3 for s in seconds]
    res.reported_tracks_last = n_rep
    notes = []
    lo = warmup
    if len(seconds) <= warmup:
        lo = 1                    # a capped run: every finished scan but the empty first
        if len(seconds) > 1:
            notes.append(f"timed scans 2-{len(seconds)} (within warm-up)")
    timed = np.array(seconds[lo:])
    if timed.size:
        res.scans_timed = int(timed.size)
        res.detections_timed = int(sum(dets[lo:]))
        res.seconds_timed = float(timed.sum())
        res.detections_per_s = res.detections_timed / res.seconds_timed
        res.ms_median = float(np.median(timed) * 1e3)
        res.ms_p99 = float(np.percentile(timed, 99) * 1e3)
    if gos:
        g = np.array(gos, dtype=float)
        res.gospa, res.gospa_scans = float(g[:, 0].mean()), len(gos)
        res.mean_missed, res.mean_false = float(g[:, 1].mean()), float(g[:, 2].mean())
    if res.capped:
        what = f"capped at {time_limit:g} s after {len(seconds)} of {sc.scans} scans"
        if res.unfinished_scan_s is not None:
            what += f"; scan {len(seconds) + 1} unfinished after {res.unfinished_scan_s:.1f} s"
        notes.insert(0, what)
    if not gos:
        notes.append(f"no GOSPA (needs > {GOSPA_SKIP} scans)")
    res.note = "; ".join(notes)
    return res


def _ratios(results: list[Result]) -> list[dict[str, Any]]:
    """SkyFence detections/s over each Stone Soup tracker's, per N (bounds where capped)."""
    by = {(r.tracker, r.n): r for r in results}
    out = []
    for (name, n), sf in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if name != "skyfence" or not sf.detections_per_s:
            continue
        for other in ("stonesoup-gnn", "stonesoup-kdtree"):
            ss = by.get((other, n))
            if ss is None or ss.skipped:
                continue
            row: dict[str, Any] = {"n": n, "versus": other, "ratio": None, "bound": None}
            if ss.detections_per_s:
                row["ratio"] = sf.detections_per_s / ss.detections_per_s
            elif ss.unfinished_scan_s and ss.unfinished_scan_detections:
                # Stone Soup needed more than unfinished_scan_s for one scan of K detections
                k = ss.unfinished_scan_detections
                row["bound"] = sf.detections_per_s / (k / ss.unfinished_scan_s)
            out.append(row)
    return out


def _slope(results: list[Result]) -> dict[str, Any] | None:
    """Log-log slope of SkyFence's median ms/scan from N = 100 to N = 10,000 (or the
    widest span of the sizes run, N >= 100)."""
    pts = sorted((r.n, r.ms_median) for r in results
                 if r.tracker == "skyfence" and r.ms_median and r.n >= 100)
    if len(pts) < 2:
        return None
    want = {n: ms for n, ms in pts}
    a, b = (100, 10_000) if 100 in want and 10_000 in want else (pts[0][0], pts[-1][0])
    return {"from_n": a, "to_n": b,
            "slope": math.log(want[b] / want[a]) / math.log(b / a)}


def _fmt(v: float | None, spec: str) -> str:
    return "—" if v is None or not math.isfinite(v) else format(v, spec)


def _print(results: list[Result], ratios: list[dict[str, Any]], slope: dict[str, Any] | None,
           meta: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    if not con.is_terminal:
        con = Console(width=170)
    table = Table(title=(
        f"GNN trackers on the same 3D-radar detections: {meta['scans']} scans at 1 Hz, "
        f"Pd {meta['pd']:g}, clutter 0.1·N/scan; timing after {meta['warmup']} warm-up "
        f"scans; GOSPA(c={meta['gospa']['c']:g} m, p={GOSPA_P:g}, α={GOSPA_ALPHA:g}) after "
        f"{GOSPA_SKIP} scans"))
    for col in ("tracker", "N", "scans", "detections/s", "ms/scan median", "ms/scan p99",
                f"peak MB ({meta['memory']})", "GOSPA m", "missed/false", "note"):
        table.add_column(col, justify="left" if col in ("tracker", "note") else "right",
                         overflow="fold")
    for r in results:
        if r.skipped:
            table.add_row(r.tracker, f"{r.n:,}", "—", "—", "—", "—", "—", "—", "—", r.note)
            continue
        table.add_row(r.tracker, f"{r.n:,}", f"{r.scans_run}/{r.scans_requested}",
                      _fmt(r.detections_per_s, ",.0f"), _fmt(r.ms_median, ",.2f"),
                      _fmt(r.ms_p99, ",.2f"), _fmt(r.peak_mb, ",.1f"), _fmt(r.gospa, ",.1f"),
                      "—" if r.mean_missed is None else
                      f"{r.mean_missed:,.1f}/{r.mean_false:,.1f}", r.note)
    con.print(table)
    for row in ratios:
        if row["ratio"] is not None:
            con.print(f"N={row['n']:>6,}: SkyFence / {row['versus']} speed (detections/s) "
                      f"= {row['ratio']:,.1f}×")
        elif row["bound"] is not None:
            con.print(f"N={row['n']:>6,}: SkyFence / {row['versus']} speed (detections/s) "
                      f"> {row['bound']:,.0f}× (Stone Soup did not finish one timed scan)")
    if slope:
        con.print(f"SkyFence median ms/scan log-log slope, N={slope['from_n']:,} → "
                  f"N={slope['to_n']:,}: {slope['slope']:.2f}")
    con.print(f"[dim]{meta['platform']}; threads pinned to 1; peak MB = "
              f"{meta['memory_doc']}[/dim]")
    con.print("[dim]GOSPA tracks: SkyFence status 'confirmed' (moved to the scan time along "
              "their velocity), Stone Soup tracker.tracks; missed/false: mean per scan[/dim]")
    con.print(f"[dim]Stone Soup: {meta['stonesoup_config']}[/dim]")


def _stonesoup_config() -> str:
    return (
        "MultiTargetTracker(ExtendedKalmanPredictor(CombinedLinearGaussianTransitionModel("
        f"3×ConstantVelocity({Q:g}))), ExtendedKalmanUpdater(CartesianToElevationBearingRange("
        "mapping=(0,2,4), noise_covar=diag[σel², σaz², σr²], translation/rotation offset 0)), "
        "data_associator=GNNWith2DAssignment or DetectionKDTreeGNN2D("
        f"max_distance_covariance_multiplier={_KDTREE_MULTIPLIER:g}) over "
        "DistanceHypothesiser(Mahalanobis(), missed_distance="
        f"sqrt(chi2.ppf({GATE_PROBABILITY:g}, 3))={math.sqrt(chi2.ppf(GATE_PROBABILITY, 3)):.3f}),"
        f" initiator=MultiMeasurementInitiator(min_points={MIN_POINTS}, prior velocity σ "
        f"{INIT_SPEED_SIGMA:g}/{INIT_SPEED_SIGMA:g}/{INIT_VSPEED_SIGMA:g} m/s, "
        f"UpdateTimeStepsDeleter({HOLD_DELETE_STEPS}), same associator type), "
        f"deleter=UpdateTimeStepsDeleter({TRACK_DELETE_STEPS}))")


def _preload() -> None:
    """Import both trackers and build each once (module imports, caches)."""
    _SkyFenceRun()
    _StoneSoupRun("gnn")
    _StoneSoupRun("kdtree")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1_000, 10_000],
                        help="target counts N")
    parser.add_argument("--scans", type=int, default=20, help="radar scans (1 Hz)")
    parser.add_argument("--warmup", type=int, default=3,
                        help="first scans left out of the timing figures")
    parser.add_argument("--pd", type=float, default=0.95, help="probability of detection")
    parser.add_argument("--time-limit", type=float, default=120.0,
                        help="wall-clock seconds per Stone Soup configuration and N")
    parser.add_argument("--trackers", nargs="+", choices=TRACKERS, default=list(TRACKERS))
    parser.add_argument("--memory", choices=("rss", "tracemalloc"), default="rss",
                        help="peak memory: rise of the peak RSS (default) or tracemalloc peak")
    parser.add_argument("--gospa-c", type=float, default=GOSPA_C,
                        help="GOSPA cut-off c, m (p = 2, alpha = 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sizes) or args.scans < 2 or not 0 < args.pd <= 1 \
            or args.warmup < 0 or args.time_limit <= 0 or args.gospa_c <= 0:
        parser.error("sizes >= 1, scans >= 2, 0 < pd <= 1, warmup >= 0, time-limit > 0, "
                     "gospa-c > 0")
    memory = args.memory
    if memory == "rss" and not _rss_peak_resettable():
        memory = "tracemalloc"                      # no /proc/self/clear_refs here
    memory_doc = ("rise of the process's peak resident set (VmHWM, reset through "
                  "/proc/self/clear_refs) over its resident set at the run's start"
                  if memory == "rss" else "tracemalloc peak of the run (slows Stone Soup)")

    _preload()                                     # imports stay out of the memory figures
    results: list[Result] = []
    capped: dict[str, int] = {}
    for n in sorted(set(args.sizes)):
        sc = make_scenario(n, args.scans, args.pd, args.seed)
        for name in args.trackers:
            if name in capped:
                r = Result(name, n, args.scans, skipped=True,
                           note=f"skipped (capped at N={capped[name]:,})")
            else:
                limit = None if name == "skyfence" else args.time_limit
                r = run_one(name, sc, args.warmup, limit, memory, args.gospa_c)
                if r.capped:
                    capped[name] = n
            results.append(r)
            if not args.json:
                print(f"  {name:<17} N={n:>6,}: {r.scans_run} scans, {r.wall_s:.1f} s wall"
                      + (" (skipped)" if r.skipped else ""), file=sys.stderr, flush=True)
        del sc
    ratios, slope = _ratios(results), _slope(results)
    import stonesoup

    meta = {
        "scans": args.scans, "warmup": args.warmup, "pd": args.pd, "seed": args.seed,
        "time_limit_s": args.time_limit, "memory": memory, "memory_doc": memory_doc,
        "clutter_per_scan": f"{CLUTTER_FRACTION:g}·N", "q": Q,
        "sigma": {"range_m": SIGMA_R, "azimuth_deg": SIGMA_AZ_DEG,
                  "elevation_deg": SIGMA_EL_DEG},
        "gospa": {"c": args.gospa_c, "p": GOSPA_P, "alpha": GOSPA_ALPHA, "after_scans": GOSPA_SKIP,
                  "skyfence_tracks": "status confirmed", "stonesoup_tracks": "tracker.tracks"},
        "stonesoup_config": _stonesoup_config(),
        "platform": (f"Python {platform.python_version()}, numpy {np.__version__}, "
                     f"stonesoup {stonesoup.__version__}, {platform.machine()}"),
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": [asdict(r) for r in results],
                          "speed_ratios": ratios, "skyfence_loglog_slope": slope}, indent=2))
    else:
        _print(results, ratios, slope, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
