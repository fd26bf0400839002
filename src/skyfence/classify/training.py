"""Training and evaluation data from the simulator: simulate, track, label, featurise.

A run simulates a scenario with one seed, feeds its detections to a fresh
tracker as a live feed (:func:`skyfence.track.replay.feed`) and folds each batch
of track updates into a :class:`~skyfence.classify.classifier.TrackEvidence` as
the pipeline would, so the features are exactly those the classifier sees live.

Labels (:func:`label_tracks`): every track row is associated with the truth by
:func:`skyfence.eval.continuity.associate_updates` (statuses tentative,
confirmed, coasting); a track takes the target most of its rows are associated
with when that is at least half of its rows.  Tracks left over (a duplicate
track of a target, whose rows the one-to-one association gave to the other
track) are associated again on their own, the same way; what is still left is
clutter.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skyfence.classify.classifier import Classifier, TrackEvidence, check_tracks
from skyfence.classify.config import ClassifierConfig
from skyfence.classify.evaluate import ClassificationReport
from skyfence.classify.features import FeatureSettings
from skyfence.classify.model import ClassifierParams
from skyfence.errors import DataError
from skyfence.eval.continuity import associate_updates
from skyfence.eval.gospa import table_to_enu
from skyfence.eval.harness import chain_classifier_config
from skyfence.model.schema import CLASSIFY_CLASSES
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import Scenario, load_scenario
from skyfence.track.config import TrackerConfig
from skyfence.track.replay import feed
from skyfence.track.tracker import Tracker

__all__ = [
    "GATE_M",
    "LABEL_STATUSES",
    "RunData",
    "TrackLabels",
    "classify_run",
    "label_tracks",
    "run_scenario",
    "scenario_from_toml",
    "scenario_origin",
    "site_mix_toml",
    "wide_mix_toml",
]

#: association gate of track rows to targets, m (as the tracker evaluation's)
GATE_M = 500.0
#: statuses of the rows that are associated and learnt from
LABEL_STATUSES: tuple[str, ...] = ("tentative", "confirmed", "coasting")


@dataclass
class RunData:
    """One simulated and tracked run.

    Attributes
    ----------
    truth : dict
        Truth rows (flying and touchdown rows, as the simulator writes them).
    tracks : dict
        Track rows in the order the tracker emitted them.
    X : ndarray, shape (n_rows, n_features)
        Features of each track row after the row.
    coop_kind : ndarray of int8
        Cooperative kind of each row's track (NONE, ADSB, REMOTE_ID).
    coop_code : ndarray of int64
    spoofed : ndarray of bool
    evidence : TrackEvidence
        The evidence state after the run (identity strings, statistics).
    origin : tuple of float
        Latitude, longitude (degrees) and height (m) of the scenario's ENU origin.
    batch_sizes : list of int
        Rows of each batch of track updates, in order (the live feed's slices).
    classified : dict or None
        With parameters given: the rows as the live classifier returned them (classes,
        probabilities, identity), batch by batch.
    classifier : Classifier or None
        That classifier, after the run.
    """

    truth: dict[str, np.ndarray]
    tracks: dict[str, np.ndarray]
    X: np.ndarray
    coop_kind: np.ndarray
    coop_code: np.ndarray
    spoofed: np.ndarray
    evidence: TrackEvidence
    origin: tuple[float, float, float]
    batch_sizes: list[int]
    classified: dict[str, np.ndarray] | None = None
    classifier: Classifier | None = None


def scenario_origin(sc: Scenario) -> tuple[float, float, float]:
    """ENU origin of a scenario for evaluation: its origin at its ground height."""
    lat0, lon0 = sc.origin()
    return (lat0, lon0, float(sc.scenario.terrain_alt_m))


def run_scenario(sc: Scenario, seed: int, duration_s: float | None = None,
                 settings: FeatureSettings | None = None,
                 config: ClassifierConfig | None = None,
                 tracker_config: TrackerConfig | None = None,
                 progress: Callable[[float, float], None] | None = None,
                 params: ClassifierParams | None = None) -> RunData:
    """Simulate ``sc`` with ``seed``, track it as a live feed and featurise every track row
    (with ``params``: classify it live too, batch by batch, as the pipeline does).

    Parameters
    ----------
    sc : Scenario
    seed : int
    duration_s : float, optional
        Cut the run to this many seconds.
    settings : FeatureSettings, optional
        Feature accumulation (default settings when None).
    config : ClassifierConfig, optional
        Default: the scenario's sensors' kinds, its ground height and the wind forecast
        of ``seed`` (:meth:`~skyfence.sim.scenario.Wind.forecast`).
    tracker_config : TrackerConfig, optional
    progress : callable, optional
        ``progress(done_s, total_s)`` of the tracking.
    params : ClassifierParams, optional
        Run a :class:`~skyfence.classify.classifier.Classifier` live (its features are
        the ones returned; ``settings`` is then ignored).
    """
    sim = Simulation(sc, seed=seed, duration_s=duration_s)
    chunks = list(sim.run())
    truth = {k: np.concatenate([c.truth[k] for c in chunks]) for k in chunks[0].truth}
    det = {k: np.concatenate([c.detections[k] for c in chunks])
           for k in chunks[0].detections}
    cfg = config or chain_classifier_config(sc, sim.seed)
    clf = Classifier(params, cfg) if params is not None else None
    ev = clf.evidence if clf is not None else TrackEvidence(settings or FeatureSettings(), cfg)
    tracker = Tracker(sc.deployment, tracker_config or TrackerConfig())
    outs, Xs, kinds, codes, spoofs, done = [], [], [], [], [], []
    t_start = None
    for upd, clock, t1 in feed(tracker, det, 1.0):
        if clf is not None:
            out, X, kind = clf._step(upd)
            done.append(out)
            code = np.full(kind.size, -1, np.int64)   # identities: from ``classified``
            spoofed = out["spoofed"]
        else:
            X, code, kind, spoofed = ev.advance(check_tracks(upd))
        outs.append(upd)
        Xs.append(X)
        kinds.append(kind)
        codes.append(code)
        spoofs.append(spoofed)
        t_start = clock if t_start is None else t_start
        if progress is not None:
            progress(clock - t_start, t1 - t_start)
    tracks = {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    classified = {k: np.concatenate([o[k] for o in done]) for k in done[0]} if done else None
    return RunData(truth, tracks, np.concatenate(Xs), np.concatenate(kinds),
                   np.concatenate(codes), np.concatenate(spoofs), ev, scenario_origin(sc),
                   [int(o["time"].size) for o in outs], classified, clf)


def classify_run(sc: Scenario, rd: RunData, params: ClassifierParams,
                 config: ClassifierConfig | None = None, gate_m: float = GATE_M,
                 after_s: float = 10.0) -> tuple[dict[str, np.ndarray], ClassificationReport]:
    """Score a run's classified track rows (classified live when the run was made with
    parameters; otherwise now, from its features, with the anchor prior).

    Parameters
    ----------
    sc : Scenario
        The run's scenario (its origin for the association).
    rd : RunData
        From :func:`run_scenario` with ``params.settings``.
    params : ClassifierParams
    config : ClassifierConfig, optional
        As for the run (default: the scenario's sensors and ground height).
    gate_m : float
        Association gate, m.
    after_s : float
        Seconds after confirmation of the accuracy, s.

    Returns
    -------
    tracks : dict
        The run's track rows with ``class``, ``class_prob``, the per-class
        probabilities, ``cooperative_id`` and ``spoofed``.
    report : ClassificationReport
        Scored against the truth with
        :func:`~skyfence.eval.continuity.associate_updates` (confirmed rows).
    """
    from skyfence.classify.evaluate import evaluate_classification

    if rd.classified is not None:
        tracks = dict(rd.classified)
    else:
        cfg = config or ClassifierConfig.for_deployment(sc.deployment,
                                                        sc.scenario.terrain_alt_m)
        clf = Classifier(params, cfg)
        P = clf.predict(rd.X, rd.coop_kind,
                        np.asarray(rd.tracks["status"]).astype(str) == "tentative")
        tracks = dict(rd.tracks)
        best = P.argmax(axis=1)
        tracks["class"] = np.array(CLASSIFY_CLASSES)[best]
        tracks["class_prob"] = P[np.arange(best.size), best]
        for j, c in enumerate(CLASSIFY_CLASSES):
            tracks[f"p_{c}"] = P[:, j]
        tracks["cooperative_id"] = rd.evidence.identity_strings(rd.coop_code)
        tracks["spoofed"] = rd.spoofed
        tracks["phantom_of"] = rd.evidence.phantoms(np.asarray(rd.tracks["track_id"]))
    fl = np.asarray(rd.truth["status"]).astype(str) == "flying"
    truth = {k: v[fl] for k, v in rd.truth.items()}
    assoc = associate_updates(table_to_enu(truth, *rd.origin), table_to_enu(tracks, *rd.origin),
                              gate_m)
    return tracks, evaluate_classification(truth, tracks, assoc, after_s=after_s)


@dataclass
class TrackLabels:
    """Truth labels of track rows.

    Attributes
    ----------
    row_truth_index : ndarray of intp
        Per track row, the target it was associated with by
        :func:`~skyfence.eval.continuity.associate_updates` (index into
        ``truth_ids``; -1: none).
    track_ids : ndarray of int64
        The distinct track ids, sorted.
    track_truth_index : ndarray of intp
        Per track (order of ``track_ids``), its target (index into ``truth_ids``),
        -1: clutter.
    truth_ids : ndarray
        The distinct truth ids, sorted.
    truth_class : ndarray of str
        Class of each target (order of ``truth_ids``).
    truth_type : ndarray of str
        Type (preset) of each target.
    row_class : ndarray of str
        Per track row, the class of its track's target, or ``clutter``.
    row_type : ndarray of str
        Per track row, the type (preset) of its track's target, or "".
    """

    row_truth_index: np.ndarray
    track_ids: np.ndarray
    track_truth_index: np.ndarray
    truth_ids: np.ndarray
    truth_class: np.ndarray
    truth_type: np.ndarray
    row_class: np.ndarray
    row_type: np.ndarray

    def row_class_index(self) -> np.ndarray:
        """Per track row, the index of its class in ``CLASSIFY_CLASSES``."""
        lut = {c: i for i, c in enumerate(CLASSIFY_CLASSES)}
        u, inv = np.unique(self.row_class, return_inverse=True)
        return np.array([lut[str(c)] for c in u], np.int64)[inv.ravel()]


def _majority(track_rank: np.ndarray, truth_index: np.ndarray, counted: np.ndarray,
              n_tracks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per track: the most frequent associated target and its share of the counted rows."""
    best = np.full(n_tracks, -1, np.intp)
    share = np.zeros(n_tracks)
    n_counted = np.bincount(track_rank[counted], minlength=n_tracks)
    a = counted & (truth_index >= 0)
    if a.any():
        pairs, cnt = np.unique(np.stack([track_rank[a], truth_index[a]], axis=1), axis=0,
                               return_counts=True)
        order = np.lexsort((-cnt, pairs[:, 0]))
        pairs, cnt = pairs[order], cnt[order]
        first = np.ones(pairs.shape[0], bool)
        first[1:] = pairs[1:, 0] != pairs[:-1, 0]
        tr, tt, c = pairs[first, 0], pairs[first, 1], cnt[first]
        best[tr] = tt
        share[tr] = c / np.maximum(n_counted[tr], 1)
    return best, share


def label_tracks(truth: Mapping[str, np.ndarray], tracks: Mapping[str, np.ndarray],
                 origin: tuple[float, float, float], gate_m: float = GATE_M,
                 min_share: float = 0.5) -> TrackLabels:
    """Label every track row with its track's target class (see the module docstring).

    Parameters
    ----------
    truth : mapping
        Truth rows (``time``, ``truth_id``, ``target_class``, ``target_type``,
        positions; rows whose ``status`` is not ``flying`` are ignored).
    tracks : mapping
        Track rows (``time``, ``track_id``, ``status``, positions).
    origin : tuple of float
        ENU origin (latitude, longitude in degrees, height in m) for the distances.
    gate_m : float
        Association gate, metres.
    min_share : float
        Least share of a track's rows associated with its target.
    """
    for c in ("time", "truth_id", "target_class", "target_type", "lat_deg", "lon_deg", "alt_m"):
        if c not in truth:
            raise DataError(f"truth rows lack the column '{c}'")
    if "status" in truth:
        fl = np.asarray(truth["status"]).astype(str) == "flying"
        truth = {k: np.asarray(v)[fl] for k, v in truth.items()}
    T = table_to_enu(truth, *origin)
    K = table_to_enu(tracks, *origin)
    a1 = associate_updates(T, K, gate_m, statuses=LABEL_STATUSES)
    tid = np.asarray(tracks["track_id"]).astype(np.int64)
    track_ids, rank = np.unique(tid, return_inverse=True)
    rank = rank.ravel()
    best, share = _majority(rank, a1.truth_index, a1.counted, track_ids.size)
    ok = share >= min_share
    row_ti = np.array(a1.truth_index, copy=True)
    # second pass: the tracks left over, on their own (duplicates of a target)
    left = ~ok
    rows_left = left[rank]
    if rows_left.any():
        sub = {k: v[rows_left] for k, v in K.items()}
        a2 = associate_updates(T, sub, gate_m, statuses=LABEL_STATUSES)
        b2, s2 = _majority(rank[rows_left], a2.truth_index, a2.counted, track_ids.size)
        take = left & (s2 >= min_share)
        best = np.where(take, b2, best)
        ok |= take
        r2 = np.flatnonzero(rows_left)
        row_ti[r2] = np.where(a2.truth_index >= 0, a2.truth_index, row_ti[r2])
    best = np.where(ok, best, -1)
    truth_ids = a1.truth_ids
    t_id = np.asarray(truth["truth_id"]).astype(np.int64)
    first = np.unique(t_id, return_index=True)[1]
    tclass = np.asarray(truth["target_class"]).astype(str)[first]
    ttype = np.asarray(truth["target_type"]).astype(str)[first]
    tb = best[rank]
    if tclass.size:
        row_class = np.where(tb >= 0, tclass[np.maximum(tb, 0)], "clutter")
        row_type = np.where(tb >= 0, ttype[np.maximum(tb, 0)], "")
    else:
        row_class, row_type = np.full(tid.size, "clutter"), np.full(tid.size, "")
    return TrackLabels(row_ti, track_ids, best, truth_ids, tclass, ttype,
                       np.asarray(row_class).astype(str), np.asarray(row_type).astype(str))


# ------------------------------------------------------------------ purpose-built mixes

def scenario_from_toml(text: str, name: str = "generated") -> Scenario:
    """Load a scenario from TOML text (written to a temporary file for the loader)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        return load_scenario(path)


def _offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """Latitude and longitude of a point ``east_m``, ``north_m`` from (lat, lon)."""
    return (lat + north_m / 111_132.0,
            lon + east_m / (111_320.0 * np.cos(np.radians(lat))))


def _route(rng: np.random.Generator, lat: float, lon: float, radius_m: float, n: int,
           agl: tuple[float, float], holds: float = 0.0, hold_s: tuple[float, float] = (0, 0),
           ground_start: bool = False) -> str:
    pts = []
    for i in range(n):
        r = radius_m * np.sqrt(rng.uniform())
        a = rng.uniform(0, 2 * np.pi)
        la, lo = _offset(lat, lon, r * np.sin(a), r * np.cos(a))
        h = 0.0 if (ground_start and i == 0) else rng.uniform(*agl)
        hold = rng.uniform(*hold_s) if (i > 0 and rng.uniform() < holds) else 0.0
        pts.append(f"{{ lat_deg = {la:.6f}, lon_deg = {lo:.6f}, agl_m = {h:.1f}, "
                   f"hold_s = {hold:.1f} }}")
    return "waypoints = [\n    " + ",\n    ".join(pts) + ",\n]\n"


def _crossing(rng: np.random.Generator, lat: float, lon: float, radius_m: float,
              agl: tuple[float, float] | None = None, alt: tuple[float, float] | None = None
              ) -> str:
    a = rng.uniform(0, 2 * np.pi)
    miss = rng.uniform(-0.5, 0.5) * radius_m
    pts = []
    for sgn in (-1.0, 1.0):
        e = sgn * 1.3 * radius_m * np.sin(a) + miss * np.cos(a)
        n = sgn * 1.3 * radius_m * np.cos(a) - miss * np.sin(a)
        la, lo = _offset(lat, lon, e, n)
        h = f"agl_m = {rng.uniform(*agl):.1f}" if agl else f"alt_m = {rng.uniform(*alt):.1f}"
        pts.append(f"{{ lat_deg = {la:.6f}, lon_deg = {lo:.6f}, {h} }}")
    return "waypoints = [" + ", ".join(pts) + "]\n"


def site_mix_toml(seed: int, duration_s: float = 900.0) -> str:
    """A randomised site-protection scene (one seed, one scene): a short-range 3D radar
    (sometimes two), maybe an RF direction finder, ADS-B and Remote ID receivers;
    quadcopters that hover, fixed-wing drones crossing, birds and flocks low down, a
    light aircraft, an airliner overhead, sometimes a balloon.

    Parameters
    ----------
    seed : int
        Draws the layout, sensor figures and targets; also the scenario's seed.
    duration_s : float
        Length of the scenario, s.

    Returns
    -------
    str
        Scenario TOML (load it with :func:`scenario_from_toml`).
    """
    rng = np.random.default_rng([seed, 77])
    lat = float(rng.uniform(54.2, 55.8))
    lon = float(rng.uniform(22.0, 26.5))
    ground = float(rng.uniform(0.0, 300.0))
    rmax = float(rng.uniform(5_000.0, 20_000.0))
    body = [f"""
[scenario]
name = "site-mix-{seed}"
start_time = 2025-06-01T{int(rng.integers(0, 24)):02d}:00:00Z
duration_s = {duration_s}
dt_s = 1.0
seed = {seed}
origin = [{lat:.5f}, {lon:.5f}]
terrain_alt_m = {ground:.1f}

[wind]
from_deg = {rng.uniform(0, 360):.1f}
speed_mps = {rng.uniform(1, 12):.1f}
"""]
    n_radar = 2 if rng.uniform() < 0.3 else 1
    for i in range(n_radar):
        la, lo = _offset(lat, lon, *(rng.normal(0, 0.15 * rmax, 2) if i else (0.0, 0.0)))
        body.append(f"""
[[sensor]]
id = "radar-{i}"
kind = "radar3d"
lat_deg = {la:.6f}
lon_deg = {lo:.6f}
alt_m = {ground + rng.uniform(5, 40):.1f}
max_range_m = {rmax:.0f}
scan_period_s = {rng.choice([0.5, 1.0, 1.0, 2.0])}
sigma_range_m = {rng.uniform(3, 15):.1f}
sigma_azimuth_deg = {rng.uniform(0.15, 0.5):.2f}
sigma_elevation_deg = {rng.uniform(0.15, 0.5):.2f}
sigma_radial_velocity_mps = {rng.uniform(0.2, 0.8):.2f}
pd90_range_m = {rmax * rng.uniform(0.4, 0.9):.0f}
pd90_rcs_dbsm = -20.0
clutter_per_scan = {rng.uniform(0.5, 5.0):.2f}
""")
    if rng.uniform() < 0.5:
        body.append(f"""
[[sensor]]
id = "rfdf"
kind = "rf_df"
lat_deg = {lat:.6f}
lon_deg = {lon:.6f}
alt_m = {ground + 10:.1f}
max_range_m = {min(rmax, 8000.0):.0f}
sigma_azimuth_deg = {rng.uniform(1.0, 4.0):.1f}
pd = 0.85
""")
    if rng.uniform() < 0.6:
        body.append(f"""
[[sensor]]
id = "rid"
kind = "remote_id"
lat_deg = {lat:.6f}
lon_deg = {lon:.6f}
alt_m = {ground + 10:.1f}
max_range_m = {min(rmax, 4000.0):.0f}
sigma_pos_m = 5.0
pd = 0.95
""")
    if rng.uniform() < 0.7:
        body.append(f"""
[[sensor]]
id = "adsb"
kind = "adsb"
lat_deg = {lat:.6f}
lon_deg = {lon:.6f}
alt_m = {ground + 10:.1f}
max_range_m = 250000.0
sigma_pos_m = 15.0
pd = 0.98
""")
    reach = 0.8 * rmax

    def start() -> float:
        return float(rng.uniform(0.0, 0.6 * duration_s))

    for i in range(int(rng.integers(2, 6))):
        rid = f'remote_id = "1581F{seed:05d}Q{i:02d}"\n' if rng.uniform() < 0.3 else ""
        body.append(f"""
[[target]]
name = "quad-{i}"
type = "quadcopter"
start_s = {start():.1f}
end = "land"
{rid}""" + _route(rng, lat, lon, reach, int(rng.integers(3, 7)), (15.0, 200.0), 0.6,
                  (10.0, 150.0), ground_start=True))
    for i in range(int(rng.integers(1, 4))):
        kind = "gerbera" if rng.uniform() < 0.7 else "shahed"
        body.append(f"""
[[target]]
name = "fw-{i}"
type = "{kind}"
start_s = {start():.1f}
end = "vanish"
""" + _crossing(rng, lat, lon, reach, agl=(100.0, 1500.0)))
    body.append(f"""
[[group]]
kind = "birds"
type = "bird"
count = {int(rng.integers(10, 40))}
area = [{_offset(lat, lon, 0, -reach)[0]:.5f}, {_offset(lat, lon, 0, reach)[0]:.5f},
        {_offset(lat, lon, -reach, 0)[1]:.5f}, {_offset(lat, lon, reach, 0)[1]:.5f}]
lifetime_s = [300.0, {duration_s:.0f}]
agl_m = [10.0, {rng.uniform(150, 500):.0f}]

[[group]]
kind = "birds"
type = "flock"
count = {int(rng.integers(3, 12))}
area = [{_offset(lat, lon, 0, -reach)[0]:.5f}, {_offset(lat, lon, 0, reach)[0]:.5f},
        {_offset(lat, lon, -reach, 0)[1]:.5f}, {_offset(lat, lon, reach, 0)[1]:.5f}]
lifetime_s = [300.0, {duration_s:.0f}]
agl_m = [30.0, {rng.uniform(300, 900):.0f}]
""")
    if rng.uniform() < 0.6:
        body.append(f"""
[[target]]
name = "light-aircraft"
type = "light_aircraft"
start_s = {start():.1f}
end = "vanish"
""" + _crossing(rng, lat, lon, reach, agl=(300.0, 1500.0)))
    body.append(f"""
[[target]]
name = "airliner"
type = "airliner"
start_s = {start():.1f}
end = "vanish"
""" + _crossing(rng, lat, lon, 3 * rmax, alt=(8_000.0, 12_000.0)))
    if rng.uniform() < 0.5:
        la, lo = _offset(lat, lon, *rng.uniform(-0.5, 0.5, 2) * reach)
        body.append(f"""
[[target]]
name = "balloon"
type = "balloon"
start_s = {start():.1f}
waypoints = [{{ lat_deg = {la:.6f}, lon_deg = {lo:.6f}, agl_m = {rng.uniform(300, 3000):.0f} }}]
""")
    return "".join(body)


#: (latitude, longitude) of inland 3D radar sites of the ``lt-east-border`` deployment
#: around which the wide mixes are centred
_WIDE_CENTRES: tuple[tuple[float, float], ...] = (
    (54.981, 25.762), (54.62, 25.98), (54.55, 25.35), (54.30, 25.38), (54.72, 25.00),
    (55.17, 26.45), (54.02, 24.10), (55.585, 26.5),
)


def wide_mix_toml(seed: int, duration_s: float = 900.0) -> str:
    """A randomised scene on the ``lt-east-border`` deployment: every target type at random
    around one of its radar sites, straight and level with gentle turns, plus birds.

    Parameters
    ----------
    seed : int
    duration_s : float
        Length, s.
    """
    rng = np.random.default_rng([seed, 78])
    lat, lon = _WIDE_CENTRES[int(rng.integers(0, len(_WIDE_CENTRES)))]
    ground = float(rng.uniform(120.0, 220.0))
    radius = float(rng.uniform(8_000.0, 20_000.0))
    lo_agl = float(rng.uniform(30.0, 300.0))
    mix = {"gerbera": 0.22, "shahed": 0.08, "quadcopter": 0.15, "bird": 0.2, "flock": 0.15,
           "light_aircraft": 0.08, "airliner": 0.04, "balloon": 0.08}
    mix_s = ", ".join(f"{k} = {v}" for k, v in mix.items())
    la0, la1 = _offset(lat, lon, 0, -radius)[0], _offset(lat, lon, 0, radius)[0]
    lo0, lo1 = _offset(lat, lon, -radius, 0)[1], _offset(lat, lon, radius, 0)[1]
    return f"""
[scenario]
name = "wide-mix-{seed}"
start_time = 2025-06-01T{int(rng.integers(0, 24)):02d}:00:00Z
duration_s = {duration_s}
dt_s = 1.0
seed = {seed}
origin = [{lat:.5f}, {lon:.5f}]
terrain_alt_m = {ground:.1f}
sensors = "lt-east-border"

[wind]
from_deg = {rng.uniform(0, 360):.1f}
speed_mps = {rng.uniform(1, 12):.1f}

[[group]]
kind = "random"
count = {int(rng.integers(40, 90))}
centre = [{lat:.5f}, {lon:.5f}]
radius_m = {radius:.0f}
start_spread_s = {0.7 * duration_s:.0f}
agl_m = [{lo_agl:.0f}, {lo_agl + rng.uniform(300, 1500):.0f}]
mix = {{ {mix_s} }}

[[group]]
kind = "birds"
type = "bird"
count = {int(rng.integers(10, 40))}
area = [{la0:.5f}, {la1:.5f}, {lo0:.5f}, {lo1:.5f}]
lifetime_s = [300.0, {duration_s:.0f}]
agl_m = [10.0, {rng.uniform(150, 500):.0f}]
"""
