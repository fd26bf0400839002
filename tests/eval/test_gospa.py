"""Tests of skyfence.eval.gospa: against Stone Soup 1.9.1, by hand and by brute force."""

from __future__ import annotations

import datetime
import doctest
import itertools

import numpy as np
import pytest
from stonesoup.metricgenerator.ospametric import GOSPAMetric, OSPAMetric
from stonesoup.types.state import State, StateVector

from skyfence.errors import DataError
from skyfence.eval import gospa as gospa_module
from skyfence.eval.gospa import (
    ENU_COLUMNS,
    ENU_VELOCITY_COLUMNS,
    gospa,
    gospa_over_time,
    ospa,
    table_to_enu,
)

T0 = datetime.datetime(2025, 1, 1)
RTOL = 1e-9


def _states(points: np.ndarray) -> list[State]:
    return [State(StateVector(row), timestamp=T0) for row in points]


def _close(a: float, b: float, scale: float) -> bool:
    """Agreement to RTOL relative; zeros compared against RTOL × scale."""
    return abs(a - b) <= RTOL * max(abs(a), abs(b), 1e-3 * scale)


def _random_case(rng: np.random.Generator, max_n: int = 9) -> tuple[np.ndarray, np.ndarray]:
    n, m = (int(v) for v in rng.integers(0, max_n + 1, 2))
    if n + m == 0:  # Stone Soup cannot time-stamp two empty sets
        n = 1
    k = int(rng.integers(1, 4))
    spread = rng.uniform(1.0, 30.0)
    return rng.uniform(0, spread, (n, k)), rng.uniform(0, spread, (m, k))


def _brute_gospa(x: np.ndarray, y: np.ndarray, c: float, p: float, alpha: float) -> float:
    """GOSPA by its permutation definition (any alpha), |X| <= |Y| after swapping."""
    if len(x) > len(y):
        x, y = y, x
    best = np.inf
    for perm in itertools.permutations(range(len(y)), len(x)):
        s = sum(min(np.linalg.norm(x[i] - y[j]), c) ** p for i, j in enumerate(perm))
        best = min(best, s)
    return float((best + c**p / alpha * (len(y) - len(x))) ** (1 / p))


def _brute_ospa(x: np.ndarray, y: np.ndarray, c: float, p: float) -> float:
    if len(x) > len(y):
        x, y = y, x
    n = len(y)
    if n == 0:
        return 0.0
    if p == np.inf:
        if len(x) != n:
            return c
        return min(max(min(np.linalg.norm(x[i] - y[j]), c) for i, j in enumerate(perm))
                   for perm in itertools.permutations(range(n)))
    best = min(sum(min(np.linalg.norm(x[i] - y[j]), c) ** p for i, j in enumerate(perm))
               for perm in itertools.permutations(range(n), len(x)))
    return float(((best + c**p * (n - len(x))) / n) ** (1 / p))


# ------------------------------------------------------------------- Stone Soup


# Stone Soup decides which assigned pairs are cut off with `np.power(cost, p) == c ** p`;
# numpy's vectorised power and Python's `**` differ in the last bit for about 5 % of
# values when p is not 1 or 2, and Stone Soup then books a cut-off pair as localisation.
# For the components we use p in {1, 2} with any c, or c whose c**p is exact.
_EXACT_POWERS = [(1.5, [1.0, 4.0, 9.0, 16.0]), (2.5, [1.0, 4.0, 9.0]), (3.0, [2.0, 5.0, 12.0])]


def test_gospa_matches_stonesoup_components_and_assignment() -> None:
    rng = np.random.default_rng(20250101)
    for _ in range(400):
        x, y = _random_case(rng)
        if rng.random() < 0.6:
            p, c = float(rng.choice([1.0, 2.0])), float(rng.uniform(0.5, 20.0))
        else:
            p, cs = _EXACT_POWERS[int(rng.integers(len(_EXACT_POWERS)))]
            c = float(rng.choice(cs))
        ref, ref_assign = GOSPAMetric(c=c, p=p).compute_gospa_metric(_states(y), _states(x))
        got = gospa(x, y, c, p)
        for key in ("distance", "localisation", "missed", "false"):
            scale = c if key == "distance" else c**p
            assert _close(getattr(got, key), float(ref.value[key]), scale), (key, x, y, c, p)
        assert got.distance**p == pytest.approx(
            got.localisation + got.missed + got.false, rel=1e-12, abs=1e-12)
        # Stone Soup gives, per truth, the assigned track or -1.
        expected = np.full(len(x), -1)
        expected[got.assignment[0]] = got.assignment[1]
        if len(x) and len(y):
            np.testing.assert_array_equal(np.asarray(ref_assign), expected)


def test_gospa_distance_matches_stonesoup_for_any_c_and_p() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        x, y = _random_case(rng)
        c, p = float(rng.uniform(0.1, 25.0)), float(rng.uniform(1.0, 4.0))
        ref, _ = GOSPAMetric(c=c, p=p).compute_gospa_metric(_states(y), _states(x))
        assert _close(gospa(x, y, c, p).distance, float(ref.value["distance"]), c)


def test_ospa_p1_matches_stonesoup() -> None:
    rng = np.random.default_rng(11)
    for _ in range(300):
        x, y = _random_case(rng)
        c = float(rng.uniform(0.5, 20.0))
        ref = OSPAMetric(c=c, p=1.0).compute_OSPA_distance(_states(y), _states(x)).value
        assert _close(ospa(x, y, c, 1.0).distance, float(ref), c)


def test_ospa_p_above_1_is_optimal_where_stonesoup_is_not() -> None:
    # Stone Soup 1.9.1 assigns on min(d, c) and raises the result to p afterwards,
    # which is not the optimal assignment of min(d, c)**p: it can only be larger.
    rng = np.random.default_rng(12)
    larger = 0
    for _ in range(200):
        x, y = _random_case(rng, max_n=6)
        c, p = float(rng.uniform(0.5, 20.0)), float(rng.choice([1.5, 2.0, 3.0]))
        ref = float(OSPAMetric(c=c, p=p).compute_OSPA_distance(_states(y), _states(x)).value)
        got = ospa(x, y, c, p).distance
        assert got == pytest.approx(_brute_ospa(x, y, c, p), rel=RTOL)
        assert got <= ref * (1 + RTOL)
        larger += ref > got * (1 + 1e-6)
    assert larger > 0  # the cases exist: this test would notice a fixed Stone Soup


# --------------------------------------------------------------------- by hand


def test_hand_computed_gospa() -> None:
    # Pairs (0,0)-(3,4) at 5 m; the truth at (100,0) is missed.
    r = gospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], c=10.0, p=2)
    assert (r.localisation, r.missed, r.false) == (25.0, 50.0, 0.0)
    assert r.distance == pytest.approx(np.sqrt(75.0), rel=1e-15)
    assert (r.n_missed, r.n_false) == (1, 0)
    # p = 1: 5 + 10/2.
    assert gospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], c=10.0, p=1).distance == 10.0
    # A pair exactly at the cut-off is one missed and one false.
    r = gospa([[0.0]], [[10.0]], c=10.0, p=2)
    assert (r.localisation, r.missed, r.false, r.n_missed, r.n_false) == (0.0, 50.0, 50.0, 1, 1)
    assert r.assignment[0].size == 0
    # alpha = 1: the cut-off pair costs c**p, the extra track c**p / 1.
    r = gospa([[0.0]], [[20.0], [3.0]], c=10.0, p=1, alpha=1)
    assert r.distance == pytest.approx(3.0 + 10.0)


@pytest.mark.parametrize("p", [1.0, 2.0, 3.5])
@pytest.mark.parametrize("n", [0, 1, 4])
def test_empty_sets(n: int, p: float) -> None:
    c = 7.0
    pts = np.arange(3.0 * n).reshape(n, 3)
    expected = (c**p / 2 * n) ** (1 / p)
    missed = gospa(pts, np.zeros((0, 3)), c, p)
    assert missed.distance == pytest.approx(expected, rel=1e-15)
    assert (missed.n_missed, missed.n_false, missed.false) == (n, 0, 0.0)
    false = gospa([], pts, c, p)
    assert false.distance == pytest.approx(expected, rel=1e-15)
    assert (false.n_missed, false.n_false, false.missed) == (0, n, 0.0)
    assert ospa(pts, [], c, p).distance == (c if n else 0.0)
    for arr in missed.assignment + false.assignment:
        assert arr.dtype == np.intp and arr.size == 0


def test_symmetry_and_permutation_invariance() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        x, y = _random_case(rng)
        c, p = float(rng.uniform(1, 20)), float(rng.uniform(1, 3))
        a, b = gospa(x, y, c, p), gospa(y, x, c, p)
        assert a.distance == pytest.approx(b.distance, rel=1e-12)
        assert (a.missed, a.false, a.n_missed, a.n_false) == pytest.approx(
            (b.false, b.missed, b.n_false, b.n_missed), rel=1e-12)
        px, py = rng.permutation(len(x)), rng.permutation(len(y))
        s = gospa(x[px], y[py], c, p)
        assert s.distance == pytest.approx(a.distance, rel=1e-12)
        # Same pairs, renamed by the permutations.
        pairs = {(int(px[i]), int(py[j])) for i, j in zip(*s.assignment, strict=True)}
        assert pairs == {(int(i), int(j)) for i, j in zip(*a.assignment, strict=True)}
        o1, o2 = ospa(x, y, c, p).distance, ospa(y[py], x[px], c, p).distance
        assert o1 == pytest.approx(o2, rel=1e-12)


@pytest.mark.parametrize("alpha", [2.0, 1.0, 0.5])
def test_gospa_equals_permutation_definition(alpha: float) -> None:
    rng = np.random.default_rng(int(alpha * 10))
    for _ in range(60):
        x, y = _random_case(rng, max_n=5)
        c, p = float(rng.uniform(1, 20)), float(rng.uniform(1, 3))
        r = gospa(x, y, c, p, alpha)
        assert r.distance == pytest.approx(_brute_gospa(x, y, c, p, alpha), rel=RTOL)
        assert r.distance**p == pytest.approx(r.localisation + r.missed + r.false, rel=1e-12)


def test_triangle_inequality() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        k, c, p = 2, float(rng.uniform(1, 15)), float(rng.uniform(1, 3))
        sets = [rng.uniform(0, 20, (int(rng.integers(0, 6)), k)) for _ in range(3)]
        for alpha in (2.0, 1.0):
            d = {(i, j): gospa(sets[i], sets[j], c, p, alpha).distance
                 for i in range(3) for j in range(3)}
            assert d[0, 2] <= d[0, 1] + d[1, 2] + 1e-9
        o = {(i, j): ospa(sets[i], sets[j], c, p).distance for i in range(3) for j in range(3)}
        assert o[0, 2] <= o[0, 1] + o[1, 2] + 1e-9


def test_ospa_components_and_p_inf() -> None:
    r = ospa([[0.0, 0.0], [100.0, 0.0]], [[3.0, 4.0]], c=10.0, p=2)
    assert r.localisation == pytest.approx(np.sqrt(25 / 2))
    assert r.cardinality == pytest.approx(np.sqrt(100 / 2))
    assert r.distance == pytest.approx(np.sqrt(125 / 2))
    assert ospa([[0.0]], [[1.0], [2.0]], c=5.0, p=np.inf).distance == 5.0
    rng = np.random.default_rng(9)
    for _ in range(60):
        n = int(rng.integers(1, 6))
        x, y = rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (n, 2))
        r = ospa(x, y, 6.0, np.inf)
        assert r.distance == pytest.approx(_brute_ospa(x, y, 6.0, np.inf), rel=1e-12)
        cut = np.minimum(np.linalg.norm(x[r.assignment[0]] - y[r.assignment[1]], axis=1), 6)
        assert cut.max() == pytest.approx(r.distance)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="cut-off c must be a finite distance > 0, got 0.0"):
        gospa([[0.0]], [[1.0]], c=0.0)
    with pytest.raises(ValueError, match=r"p must satisfy 1 <= p < inf, got 0.5"):
        gospa([[0.0]], [[1.0]], c=1.0, p=0.5)
    with pytest.raises(ValueError, match=r"alpha must satisfy 0 < alpha <= 2, got 3.0"):
        gospa([[0.0]], [[1.0]], c=1.0, alpha=3)
    with pytest.raises(ValueError, match=r"\(n, k\) and \(m, k\) arrays, got shapes"):
        gospa(np.zeros((2, 3)), np.zeros((2, 2)), c=1.0)
    with pytest.raises(ValueError, match=r"tracks row 1 is not finite"):
        ospa([[0.0]], [[1.0], [np.nan]], c=1.0)


def test_results_are_read_only() -> None:
    r = gospa([[0.0]], [[1.0]], c=5.0)
    with pytest.raises(ValueError, match="read-only"):
        r.assignment[0][0] = 3


def test_doctests() -> None:
    result = doctest.testmod(gospa_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 6
    assert result.failed == 0


# ------------------------------------------------------------------- over time


def _tables() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Two targets at 1 s steps; track A follows target 0 with updates every 2 s."""
    t = np.arange(10.0)
    truth = {
        "time": np.concatenate([t, t[:5]]),
        "truth_id": np.array([0] * 10 + [1] * 5),
        "east_m": np.concatenate([10.0 * t, np.full(5, 500.0)]),
        "north_m": np.concatenate([np.zeros(10), 20.0 * t[:5]]),
        "up_m": np.full(15, 100.0),
    }
    ku = t[::2]
    tracks = {
        "time": np.concatenate([ku, [3.0, 4.0]]),
        "track_id": np.array(["A"] * 5 + ["B", "B"]),
        "status": np.array(["confirmed"] * 4 + ["deleted", "tentative", "confirmed"]),
        "east_m": np.concatenate([10.0 * ku + 3.0, [500.0, 500.0]]),
        "north_m": np.concatenate([np.zeros(5), [60.0, 84.0]]),
        "up_m": np.full(7, 100.0),
        "east_mps": np.concatenate([np.full(5, 10.0), [0.0, 0.0]]),
        "north_mps": np.concatenate([np.zeros(5), [20.0, 20.0]]),
        "up_mps": np.zeros(7),
    }
    return truth, tracks


def test_gospa_over_time_alignment() -> None:
    truth, tracks = _tables()
    out = gospa_over_time(truth, tracks, c=50.0, p=2, max_age_s=1.5)
    np.testing.assert_array_equal(out["time"], np.arange(10.0))
    # Track A (3 m east of target 0, moved with the target's own velocity) is shown
    # until its 'deleted' row at 8 s; track B from its confirmed row at 4 s (its
    # tentative row at 3 s is not shown) until that row is older than 1.5 s.
    np.testing.assert_array_equal(out["n_truth"], [2, 2, 2, 2, 2, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(out["n_tracks"], [1, 1, 1, 1, 2, 2, 1, 1, 0, 0])
    np.testing.assert_array_equal(out["n_missed"], [1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(out["n_false"], [0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    # t = 4: both pairs assigned, 3 m and 4 m off.
    assert out["localisation"][4] == pytest.approx(9.0 + 16.0)
    assert out["distance"][4] == pytest.approx(5.0)
    # t = 7: A's row at 6 s, 1 s old, moved 10 m east: still 3 m off.
    assert out["localisation"][7] == pytest.approx(9.0)
    assert out["distance"][8] == pytest.approx(np.sqrt(50.0**2 / 2))
    for k, t in enumerate(out["time"]):
        x = np.stack([truth[c][truth["time"] == t] for c in ENU_COLUMNS], axis=1)
        assert gospa(x, _shown(tracks, t, 1.5), 50.0, 2).distance == pytest.approx(
            out["distance"][k], rel=1e-12)


def _shown(tracks: dict[str, np.ndarray], t: float, max_age: float) -> np.ndarray:
    """The track set at t, written out the slow way."""
    pts = []
    for tid in np.unique(tracks["track_id"]):
        rows = np.nonzero((tracks["track_id"] == tid) & (tracks["time"] <= t)
                          & (tracks["time"] >= t - max_age))[0]
        if rows.size == 0:
            continue
        r = rows[np.argmax(tracks["time"][rows])]
        if tracks["status"][r] not in ("confirmed", "coasting"):
            continue
        dt = t - tracks["time"][r]
        pts.append([tracks[p][r] + tracks[v][r] * dt
                    for p, v in zip(ENU_COLUMNS, ENU_VELOCITY_COLUMNS, strict=True)])
    return np.array(pts).reshape(-1, 3)


def test_gospa_over_time_random_against_slow_selection() -> None:
    rng = np.random.default_rng(21)
    n_truth_rows, n_track_rows = 60, 80
    truth = {"time": rng.integers(0, 15, n_truth_rows).astype(float)}
    truth.update({c: rng.uniform(0, 200, n_truth_rows) for c in ENU_COLUMNS})
    tracks = {"time": rng.uniform(0, 15, n_track_rows),
              "track_id": rng.integers(0, 8, n_track_rows),
              "status": rng.choice(["tentative", "confirmed", "coasting", "deleted"],
                                   n_track_rows)}
    tracks.update({c: rng.uniform(0, 200, n_track_rows) for c in ENU_COLUMNS})
    tracks.update({c: rng.uniform(-5, 5, n_track_rows) for c in ENU_VELOCITY_COLUMNS})
    out = gospa_over_time(truth, tracks, c=40.0, p=1, max_age_s=2.0)
    for k, t in enumerate(out["time"]):
        x = np.stack([truth[c][truth["time"] == t] for c in ENU_COLUMNS], axis=1)
        y = _shown(tracks, t, 2.0)
        r = gospa(x, y, 40.0, 1)
        assert (out["n_truth"][k], out["n_tracks"][k]) == (len(x), len(y))
        assert out["distance"][k] == pytest.approx(r.distance, rel=1e-12)
        assert (out["n_missed"][k], out["n_false"][k]) == (r.n_missed, r.n_false)


def test_gospa_over_time_without_velocity_or_status() -> None:
    truth = {"time": np.array([0.0, 1.0]), "east_m": np.array([0.0, 10.0]),
             "north_m": np.zeros(2), "up_m": np.zeros(2)}
    tracks = {"time": np.array([0.0]), "track_id": np.array([1]), "east_m": np.array([0.0]),
              "north_m": np.zeros(1), "up_m": np.zeros(1)}
    out = gospa_over_time(truth, tracks, c=100.0, p=1, velocity_columns=None)
    np.testing.assert_allclose(out["distance"], [0.0, 10.0])
    with pytest.raises(DataError, match="pass velocity_columns=None"):
        gospa_over_time(truth, tracks, c=100.0)


def test_gospa_over_time_names_missing_columns() -> None:
    truth = {"time": np.zeros(1), "lat_deg": np.zeros(1), "lon_deg": np.zeros(1),
             "alt_m": np.zeros(1)}
    with pytest.raises(DataError, match=r"truth table has no column 'east_m' \(columns: alt_m, "
                       r"lat_deg, lon_deg, time\); positions must be local Cartesian metres; "
                       r"add them .* with skyfence\.eval\.gospa\.table_to_enu"):
        gospa_over_time(truth, truth, c=10.0)
    bad = {"time": np.zeros(2), "east_m": np.array([0.0, np.nan]), "north_m": np.zeros(2),
           "up_m": np.zeros(2)}
    with pytest.raises(DataError, match="column 'east_m' is not finite at row 1"):
        gospa_over_time(bad, bad, c=10.0)


def test_table_to_enu() -> None:
    table = {"lat_deg": np.array([55.0, 55.01]), "lon_deg": np.array([24.0, 24.2]),
             "alt_m": np.array([100.0, 300.0]), "vel_east_mps": np.array([10.0, 0.0]),
             "vel_north_mps": np.array([0.0, 10.0]), "vel_up_mps": np.array([0.0, 0.0]),
             "truth_id": np.array([3, 4])}
    before = {k: v.copy() for k, v in table.items()}
    out = table_to_enu(table, 55.0, 24.0, 100.0)
    for k, v in before.items():  # input untouched, carried along
        np.testing.assert_array_equal(table[k], v)
        np.testing.assert_array_equal(out[k], v)
    np.testing.assert_allclose([out[c][0] for c in ENU_COLUMNS], 0.0, atol=1e-9)
    np.testing.assert_allclose([out[c][0] for c in ENU_VELOCITY_COLUMNS], [10.0, 0.0, 0.0],
                               atol=1e-12)
    # 12.8 km east of the origin, local north is turned by the meridian convergence
    # (about Δlon · sin(lat) = 0.164°) and tilted by the curvature.
    v = np.array([out[c][1] for c in ENU_VELOCITY_COLUMNS])
    assert np.linalg.norm(v) == pytest.approx(10.0, rel=1e-12)
    assert np.degrees(np.arctan2(-v[0], v[1])) == pytest.approx(0.2 * np.sin(np.radians(55)),
                                                                rel=1e-2)
    assert out["east_m"][1] == pytest.approx(12_800, rel=0.01)
