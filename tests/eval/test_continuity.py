"""Tests of skyfence.eval.continuity on synthetic tables whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from skyfence.errors import DataError
from skyfence.eval.continuity import associate_updates, track_continuity

T = np.arange(60.0)  # truth every second, 0 … 59 s
SCAN = T[:-1] + 0.5  # track updates half-way between truth rows, 0.5 … 58.5 s
OFFSET = np.array([3.0, 4.0, 0.0])  # every track is 5 m off its target


def _target(t: np.ndarray, which: int) -> np.ndarray:
    """Positions (east, north, up) of target 1 (eastbound) or 2 (northbound, 5 km away)."""
    t = np.asarray(t, dtype=float)
    if which == 1:
        return np.stack([20.0 * t, np.zeros_like(t), np.full_like(t, 100.0)], axis=1)
    return np.stack([np.full_like(t, 5000.0), 15.0 * t, np.full_like(t, 300.0)], axis=1)


def _truth() -> dict[str, np.ndarray]:
    pos = np.concatenate([_target(T, 1), _target(T, 2)])
    return {"time": np.concatenate([T, T]), "truth_id": np.repeat([1, 2], T.size),
            "east_m": pos[:, 0], "north_m": pos[:, 1], "up_m": pos[:, 2]}


def _tracks(*segments: tuple[str, np.ndarray, np.ndarray, str]) -> dict[str, np.ndarray]:
    """Rows from (track_id, times, positions, status) segments."""
    pos = np.concatenate([s[2] for s in segments])
    return {
        "time": np.concatenate([s[1] for s in segments]),
        "track_id": np.concatenate([np.full(s[1].size, s[0]) for s in segments]),
        "status": np.concatenate([np.full(s[1].size, s[3]) for s in segments]),
        "east_m": pos[:, 0], "north_m": pos[:, 1], "up_m": pos[:, 2],
    }


def _follow(track_id: str, which: int, times: np.ndarray, status: str = "confirmed"):
    return (track_id, times, _target(times, which) + OFFSET, status)


def _perfect() -> dict[str, np.ndarray]:
    """Tracks A and B tentative at 0.5 and 1.5 s, confirmed from 2.5 s on."""
    return _tracks(
        _follow("A", 1, SCAN[:2], "tentative"), _follow("A", 1, SCAN[2:]),
        _follow("B", 2, SCAN[:2], "tentative"), _follow("B", 2, SCAN[2:]))


def test_perfect_tracker() -> None:
    r = track_continuity(_truth(), _perfect(), gate_m=50.0, max_gap_s=5.0, long_gap_s=10.0)
    # Rows at 0, 1 and 2 s precede the first confirmed update (2.5 s); the rest are
    # 0.5 s from the latest one.
    assert (r.n_truth_steps, r.n_truth_steps_updated) == (120, 114)
    assert r.probability_of_update == pytest.approx(114 / 120)
    assert r.probability_of_update_tracked == 1.0       # from each first update on
    assert (r.n_long_gaps, r.n_track_id_changes, r.n_truth_changes) == (0, 0, 0)
    assert (r.n_counted_updates, r.n_associated_updates, r.n_false_updates) == (114, 114, 0)
    assert (r.false_update_share, r.n_false_tracks) == (0.0, 0)
    np.testing.assert_array_equal(r.truth_ids, [1, 2])
    np.testing.assert_allclose(r.time_to_confirm_s, [2.5, 2.5])
    assert r.position_rmse_m == pytest.approx(5.0, rel=1e-12)
    # Tentative rows are neither counted nor associated.
    a = r.association
    assert not a.counted[:2].any() and (a.truth_index[:2] == -1).all()
    np.testing.assert_allclose(a.distance_m[a.truth_index >= 0], 5.0, rtol=1e-12)


def test_one_id_swap() -> None:
    # At 30 s tracks A and B exchange targets (both truths and both tracks change once).
    early, late = SCAN[2:30], SCAN[30:]
    tracks = _tracks(_follow("A", 1, early), _follow("A", 2, late),
                     _follow("B", 2, early), _follow("B", 1, late))
    r = track_continuity(_truth(), tracks, gate_m=50.0)
    assert (r.n_track_id_changes, r.n_truth_changes) == (2, 2)
    assert (r.n_long_gaps, r.n_false_updates) == (0, 0)
    assert r.probability_of_update == pytest.approx(114 / 120)


def test_track_replaced_is_one_change_seen_from_the_truth() -> None:
    # Target 1 is followed by A, then by a new track C: its track id changes once,
    # while neither track ever changes target.
    tracks = _tracks(_follow("A", 1, SCAN[2:30]), _follow("C", 1, SCAN[30:]),
                     _follow("B", 2, SCAN[2:]))
    r = track_continuity(_truth(), tracks, gate_m=50.0)
    assert (r.n_track_id_changes, r.n_truth_changes) == (1, 0)


def test_a_gap() -> None:
    # Target 1 loses its updates strictly between 20.5 and 35.5 s: a 15 s gap.
    scan = SCAN[2:]
    kept = scan[(scan <= 20.5) | (scan >= 35.5)]
    tracks = _tracks(_follow("A", 1, kept), _follow("B", 2, SCAN[2:]))
    r = track_continuity(_truth(), tracks, gate_m=50.0, max_gap_s=5.0, long_gap_s=10.0)
    assert r.n_long_gaps == 1
    # Rows 26 … 35 s see an update more than 5 s old: 10 fewer rows updated.
    assert r.n_truth_steps_updated == 114 - 10
    assert r.n_track_id_changes == 0
    # A 15 s gap is not long against a 20 s threshold.
    assert track_continuity(_truth(), tracks, gate_m=50.0, long_gap_s=20.0).n_long_gaps == 0


def test_track_lost_before_the_target_ends_is_a_trailing_gap() -> None:
    tracks = _tracks(_follow("A", 1, SCAN[2:40]), _follow("B", 2, SCAN[2:]))
    r = track_continuity(_truth(), tracks, gate_m=50.0, long_gap_s=10.0)
    assert r.n_long_gaps == 1  # last update 39.5 s, target seen until 59 s
    # With coverage ending at 45 s for target 1 the trailing gap is 5.5 s only.
    coverage = np.ones(120, dtype=bool)
    coverage[46:60] = False
    r = track_continuity(_truth(), tracks, gate_m=50.0, long_gap_s=10.0, coverage=coverage)
    assert r.n_long_gaps == 0
    assert r.n_truth_steps == 120 - 14


def test_a_false_track() -> None:
    # F: 10 confirmed updates 2 km from both targets.
    false_pos = np.tile([2000.0, -2000.0, 50.0], (10, 1))
    tracks = _perfect()
    extra = _tracks(("F", SCAN[10:20], false_pos, "confirmed"))
    tracks = {k: np.concatenate([tracks[k], extra[k]]) for k in tracks}
    r = track_continuity(_truth(), tracks, gate_m=50.0)
    assert (r.n_false_updates, r.n_false_tracks) == (10, 1)
    assert r.n_counted_updates == 124
    assert r.false_update_share == pytest.approx(10 / 124)
    assert r.probability_of_update == pytest.approx(114 / 120)  # unaffected
    assert r.position_rmse_m == pytest.approx(5.0)


def test_coverage_moves_the_start_of_time_to_confirm() -> None:
    coverage = np.ones(120, dtype=bool)
    coverage[60:70] = False  # target 2 enters coverage at 10 s
    r = track_continuity(_truth(), _perfect(), gate_m=50.0, coverage=coverage)
    np.testing.assert_allclose(r.time_to_confirm_s, [2.5, 2.5 - 10.0])
    assert (r.n_truth_steps, r.n_truth_steps_updated) == (110, 57 + 50)


def test_untracked_target_and_gate() -> None:
    # B is 60 m off target 2, outside a 50 m gate: target 2 is never confirmed.
    far = ("B", SCAN[2:], _target(SCAN[2:], 2) + [60.0, 0.0, 0.0], "confirmed")
    tracks = _tracks(_follow("A", 1, SCAN[2:]), far)
    r = track_continuity(_truth(), tracks, gate_m=50.0)
    assert np.isnan(r.time_to_confirm_s[1]) and r.time_to_confirm_s[0] == 2.5
    assert (r.n_false_tracks, r.n_false_updates) == (1, SCAN.size - 2)
    assert r.probability_of_update == pytest.approx(57 / 120)
    assert r.probability_of_update_tracked == 1.0       # target 2 was never tracked
    assert track_continuity(_truth(), tracks, gate_m=60.001).n_false_tracks == 0


def test_association_is_optimal_not_greedy() -> None:
    # Truths at east 0 and 10 m; updates at 6 and 16 m.  Greedy nearest-first would
    # pair 6 with 10 and leave 16 out of the 12 m gate; the optimum pairs 6-0, 16-10.
    truth = {"time": np.zeros(2), "truth_id": np.array([5, 8]), "east_m": np.array([0.0, 10.0]),
             "north_m": np.zeros(2), "up_m": np.zeros(2)}
    tracks = {"time": np.zeros(2), "east_m": np.array([6.0, 16.0]), "north_m": np.zeros(2),
              "up_m": np.zeros(2)}
    a = associate_updates(truth, tracks, gate_m=12.0)
    np.testing.assert_array_equal(a.truth_ids[a.truth_index], [5, 8])
    np.testing.assert_allclose(a.distance_m, [6.0, 6.0])
    assert a.counted.all()  # no status column: every row counts


def test_truth_is_interpolated_and_exists_only_between_its_rows() -> None:
    truth = {"time": np.array([10.0, 12.0]), "truth_id": np.array([1, 1]),
             "east_m": np.array([0.0, 100.0]), "north_m": np.zeros(2), "up_m": np.zeros(2)}
    tracks = {"time": np.array([9.9, 10.0, 11.5, 12.0, 12.1]),
              "east_m": np.array([0.0, 0.0, 75.0, 100.0, 100.0]),
              "north_m": np.zeros(5), "up_m": np.zeros(5)}
    a = associate_updates(truth, tracks, gate_m=1.0)
    np.testing.assert_array_equal(a.truth_index, [-1, 0, 0, 0, -1])
    np.testing.assert_allclose(a.distance_m[1:4], 0.0, atol=1e-12)


def test_empty_tables() -> None:
    truth = {"time": np.zeros(0), "truth_id": np.zeros(0, dtype=np.int64),
             "east_m": np.zeros(0), "north_m": np.zeros(0), "up_m": np.zeros(0)}
    tracks = {"time": np.zeros(0), "track_id": np.zeros(0, dtype=np.int64),
              "east_m": np.zeros(0), "north_m": np.zeros(0), "up_m": np.zeros(0)}
    r = track_continuity(truth, tracks, gate_m=10.0)
    assert np.isnan(r.probability_of_update) and np.isnan(r.position_rmse_m)
    assert np.isnan(r.false_update_share)
    assert (r.n_truth_steps, r.n_counted_updates, r.n_long_gaps) == (0, 0, 0)
    r = track_continuity(_truth(), tracks, gate_m=10.0)
    assert r.probability_of_update == 0.0 and np.isnan(r.time_to_confirm_s).all()


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="gate_m must be a finite number > 0, got -1.0"):
        track_continuity(_truth(), _perfect(), gate_m=-1.0)
    with pytest.raises(DataError, match=r"coverage must be a boolean array of one value per "
                       r"truth row \(120,\), got dtype int64 and shape \(3,\)"):
        track_continuity(_truth(), _perfect(), gate_m=10.0, coverage=np.array([1, 0, 1]))
    tracks = _perfect()
    del tracks["track_id"]
    with pytest.raises(DataError, match="track table has no column 'track_id'"):
        track_continuity(_truth(), tracks, gate_m=10.0)


# ------------------------------------------------- sparse association vs a dense reference


def _dense_reference(truth: dict[str, np.ndarray], tracks: dict[str, np.ndarray],
                     gate_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The association written out plainly: at each update time, every counted update
    against every target alive then (np.interp of its rows), one dense assignment of
    min(d, gate)², pairs below the gate kept.  Also returns how crowded it was: updates
    with two or more targets inside the gate, targets with two or more updates."""
    ids = np.unique(truth["truth_id"])
    cols = ("east_m", "north_m", "up_m")
    index = np.full(tracks["time"].size, -1)
    dist = np.full(tracks["time"].size, np.nan)
    crowd = np.zeros(2, dtype=int)
    for t in np.unique(tracks["time"]):
        rows = np.nonzero(tracks["time"] == t)[0]
        alive, pos = [], []
        for n, i in enumerate(ids):
            own = truth["truth_id"] == i
            tt = truth["time"][own]
            if tt.min() <= t <= tt.max():
                o = np.argsort(tt)
                alive.append(n)
                pos.append([np.interp(t, tt[o], truth[c][own][o]) for c in cols])
        if not alive:
            continue
        y = np.stack([tracks[c][rows] for c in cols], axis=1)
        d = cdist(y, np.array(pos))
        ri, ci = linear_sum_assignment(np.minimum(d, gate_m) ** 2)
        keep = d[ri, ci] < gate_m
        index[rows[ri[keep]]] = np.array(alive)[ci[keep]]
        dist[rows[ri[keep]]] = d[ri[keep], ci[keep]]
        crowd += [np.count_nonzero((d < gate_m).sum(axis=1) >= 2),
                  np.count_nonzero((d < gate_m).sum(axis=0) >= 2)]
    return index, dist, crowd


def _random_case(rng: np.random.Generator) -> tuple[dict, dict, float]:
    """Crowded clusters (several updates and targets in one gate), far-away targets and
    updates (their pairs all tie at the gate in the dense problem), targets nobody
    updates, false updates; each target sampled at its own irregular times."""
    gate = 50.0
    n_targets = int(rng.integers(5, 30))
    centres = rng.uniform(-5000.0, 5000.0, (4, 3))
    truth = {k: [] for k in ("time", "truth_id", "east_m", "north_m", "up_m")}
    for n in range(n_targets):
        start = rng.uniform(0.0, 10.0)
        times = np.sort(start + np.unique(np.round(rng.uniform(0.0, 15.0, rng.integers(1, 8)),
                                                   1)))
        p0 = centres[rng.integers(4)] + rng.normal(0.0, 30.0, 3)
        if rng.uniform() < 0.2:
            p0 = rng.uniform(-50_000.0, 50_000.0, 3)  # far from everything
        v = rng.normal(0.0, 2.0, 3)
        p = p0 + v * (times - start)[:, None] + rng.normal(0.0, 3.0, (times.size, 3))
        truth["time"].append(times)
        truth["truth_id"].append(np.full(times.size, 100 + 7 * n))
        for j, c in enumerate(("east_m", "north_m", "up_m")):
            truth[c].append(p[:, j])
    truth = {k: np.concatenate(v) for k, v in truth.items()}
    # Updates at a few shared times (many per time), near targets or anywhere.
    n_upd = int(rng.integers(10, 120))
    grid = np.round(rng.uniform(0.0, 26.0, 8), 1)
    t_upd = grid[rng.integers(grid.size, size=n_upd)]
    near = truth["time"].size and rng.integers(truth["time"].size, size=n_upd)
    y = np.stack([truth[c][near] for c in ("east_m", "north_m", "up_m")], axis=1)
    y += rng.normal(0.0, 20.0, y.shape)
    lost = rng.uniform(size=n_upd) < 0.25
    y[lost] = rng.uniform(-20_000.0, 20_000.0, (int(lost.sum()), 3))
    # distinct track ids: a track's repeated rows at one time count once (tested apart)
    tracks = {"time": t_upd, "track_id": rng.permutation(n_upd),
              "status": np.where(rng.uniform(size=n_upd) < 0.85, "confirmed", "tentative"),
              "east_m": y[:, 0], "north_m": y[:, 1], "up_m": y[:, 2]}
    return truth, tracks, gate


def test_sparse_association_equals_the_dense_one_on_random_cases() -> None:
    rng = np.random.default_rng(20251126)
    crowd = np.zeros(2, dtype=int)
    for _ in range(150):
        truth, tracks, gate = _random_case(rng)
        a = associate_updates(truth, tracks, gate_m=gate)
        confirmed = tracks["status"] == "confirmed"
        ref_index, ref_dist, ref_crowd = _dense_reference(
            truth, {k: v[confirmed] for k, v in tracks.items()}, gate)
        index = np.full(tracks["time"].size, -1)
        index[confirmed] = ref_index
        dist = np.full(tracks["time"].size, np.nan)
        dist[confirmed] = ref_dist
        np.testing.assert_array_equal(a.truth_index, index)
        np.testing.assert_allclose(a.distance_m, dist, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(a.counted, confirmed)
        crowd += ref_crowd
    # the cases did exercise updates sharing a gate and targets with several updates in it
    assert (crowd > 100).all(), crowd


def test_exact_tie_keeps_one_of_the_equal_optimal_assignments() -> None:
    # Two targets 10 m apart, two updates on the perpendicular bisector: both ways of
    # pairing them cost the same; either is an answer, both pairs are kept.
    truth = {"time": np.zeros(2), "truth_id": np.array([1, 2]), "east_m": np.array([0.0, 10.0]),
             "north_m": np.zeros(2), "up_m": np.zeros(2)}
    tracks = {"time": np.zeros(3), "east_m": np.array([5.0, 5.0, 9000.0]),
              "north_m": np.array([1.0, -1.0, 0.0]), "up_m": np.zeros(3)}
    a = associate_updates(truth, tracks, gate_m=20.0)
    assert sorted(a.truth_index[:2].tolist()) == [0, 1] and a.truth_index[2] == -1
    np.testing.assert_allclose(a.distance_m[:2], np.sqrt(26.0))


def test_rows_of_one_track_at_one_time_count_once() -> None:
    """An out-of-sequence detection refines a track's state at the time it already had;
    the tracker emits that as a second row at the same time: only the last counts."""
    t = np.arange(0.0, 10.0)
    truth = {"time": t, "truth_id": np.full(t.size, 5), "east_m": 100.0 * t,
             "north_m": np.zeros(t.size), "up_m": np.full(t.size, 500.0)}
    upd_t = np.array([1.0, 2.0, 2.0, 3.0])
    tracks = {"time": upd_t, "track_id": np.full(4, 7), "status": np.full(4, "confirmed"),
              "east_m": 100.0 * upd_t + np.array([5.0, 9.0, 3.0, 5.0]),
              "north_m": np.zeros(4), "up_m": np.full(4, 500.0)}
    a = associate_updates(truth, tracks, gate_m=50.0)
    assert a.counted.tolist() == [True, False, True, True]
    assert a.truth_index.tolist() == [0, -1, 0, 0]
    assert a.distance_m[2] == pytest.approx(3.0)
    r = track_continuity(truth, tracks, gate_m=50.0)
    assert r.n_false_updates == 0 and r.n_counted_updates == 3


def test_a_lost_track_counts_against_the_tracked_probability_of_update() -> None:
    # A follows target 1 from 2.5 s to 30 s and is then lost while the target flies on
    lost = _tracks(_follow("A", 1, SCAN[(SCAN >= 2.5) & (SCAN <= 30.0)]))
    r = track_continuity(_truth(), lost, gate_m=50.0, max_gap_s=5.0)
    # target 1's rows from 3 s to 59 s (57) are tracked; held: 3 s … 34 s (32; last at 29.5 s)
    assert r.probability_of_update_tracked == pytest.approx(32 / 57)


def test_a_given_association_gives_the_same_figures() -> None:
    truth, tracks = _truth(), _perfect()
    coverage = np.ones(120, dtype=bool)
    coverage[60:] = False                                   # score target 1 alone
    assoc = associate_updates(truth, tracks, gate_m=50.0)
    a = track_continuity(truth, tracks, gate_m=50.0, coverage=coverage)
    b = track_continuity(truth, tracks, gate_m=50.0, coverage=coverage, association=assoc)
    assert a.probability_of_update == b.probability_of_update
    assert a.probability_of_update_tracked == b.probability_of_update_tracked
    assert (a.n_false_updates, a.n_long_gaps) == (b.n_false_updates, b.n_long_gaps)
    other = associate_updates(truth, {k: v[:10] for k, v in tracks.items()}, gate_m=50.0)
    with pytest.raises(DataError, match="belongs to other tables"):
        track_continuity(truth, tracks, gate_m=50.0, association=other)


def test_a_track_without_height_is_associated_over_the_ground() -> None:
    # B is 5 m off target 2 over the ground but 800 m off in height (2D radars alone)
    flat = ("B", SCAN[2:], _target(SCAN[2:], 2) + [3.0, 4.0, 800.0], "confirmed")
    tracks = _tracks(_follow("A", 1, SCAN[2:]), flat)
    r3 = associate_updates(_truth(), tracks, gate_m=50.0)
    assert np.all(r3.truth_index[SCAN.size - 2:] == -1)     # in 3D it is a false track
    horizontal = np.asarray(tracks["track_id"]) == "B"
    r2 = associate_updates(_truth(), tracks, gate_m=50.0, horizontal=horizontal)
    assert np.all(r2.truth_index == np.repeat([0, 1], SCAN.size - 2))
    assert np.allclose(r2.distance_m, 5.0)
    # a horizontal row still has to be near over the ground
    far = ("B", SCAN[2:], _target(SCAN[2:], 2) + [60.0, 0.0, 800.0], "confirmed")
    tracks = _tracks(_follow("A", 1, SCAN[2:]), far)
    r = associate_updates(_truth(), tracks, gate_m=50.0, horizontal=horizontal)
    assert np.all(r.truth_index[SCAN.size - 2:] == -1)
    with pytest.raises(DataError, match="horizontal"):
        associate_updates(_truth(), tracks, gate_m=50.0, horizontal=horizontal[:3])


def test_the_window_follows_the_revisit_of_the_covering_sensors() -> None:
    # Target 1 is seen by a 10-s radar only, target 2 by a 1-s radar; track A takes every
    # plot of target 1 (0.5, 10.5, … 50.5 s), track B every second of target 2.
    slow = SCAN[::10]
    tracks = _tracks(_follow("A", 1, slow), _follow("B", 2, SCAN))
    revisit = np.repeat([10.0, 1.0], T.size)
    fixed = track_continuity(_truth(), tracks, gate_m=50.0, max_gap_s=5.0)
    r = track_continuity(_truth(), tracks, gate_m=50.0, max_gap_s=5.0, revisit_s=revisit)
    # Fixed 5-s window: of target 1's 59 rows from 1 s on, only those at most 5 s after
    # its latest update are held (1 … 5 s, 11 … 15 s, …: about half); target 2's 59 all are.
    age1 = T[1:] - slow[np.searchsorted(slow, T[1:], side="right") - 1]
    assert fixed.probability_of_update_tracked == pytest.approx(
        (np.count_nonzero(age1 <= 5.0) + 59) / 118)
    assert fixed.probability_of_update_tracked < 0.8
    # Window max(5, 1.5 × 10 s) = 15 s: a track that takes every plot is always updated.
    assert r.probability_of_update_tracked == 1.0
    assert r.probability_of_update == pytest.approx(118 / 120)
    # the fixed-window figures are kept beside the new ones, and equal without revisit_s
    assert r.probability_of_update_tracked_fixed == fixed.probability_of_update_tracked
    assert r.probability_of_update_fixed == fixed.probability_of_update
    assert fixed.probability_of_update_fixed == fixed.probability_of_update
    # Two missed plots in a row (10.5 and 20.5 s) are still a miss: rows 16 … 30 s are
    # 15.5 … 29.5 s past the update at 0.5 s (15 rows).
    missed = _tracks(_follow("A", 1, slow[[0, 3, 4, 5]]), _follow("B", 2, SCAN))
    m = track_continuity(_truth(), missed, gate_m=50.0, revisit_s=revisit)
    assert m.n_truth_steps_updated == 118 - 15
    # unknown revisit (inf, NaN) falls back to max_gap_s; a revisit <= 0 is refused
    unknown = track_continuity(_truth(), tracks, gate_m=50.0,
                               revisit_s=np.where(revisit > 5.0, np.inf, np.nan))
    assert unknown.probability_of_update == fixed.probability_of_update
    with pytest.raises(DataError, match="revisit_s"):
        track_continuity(_truth(), tracks, gate_m=50.0, revisit_s=np.zeros(120))
    with pytest.raises(DataError, match="revisit_s"):
        track_continuity(_truth(), tracks, gate_m=50.0, revisit_s=revisit[:5])


def test_owed_rows_replace_coverage_for_the_probability_of_update_only() -> None:
    # track A takes target 1's plots at 0.5, 20.5 and 40.5 s (a 10-s radar that missed
    # every other scan); B follows target 2 every second
    plots = SCAN[[0, 20, 40]]
    tracks = _tracks(_follow("A", 1, plots), _follow("B", 2, SCAN))
    revisit = np.repeat([10.0, 1.0], T.size)
    # owed: target 1 only in the 15 s after each plot, target 2 from its first plot on
    age = T - plots[np.maximum(np.searchsorted(plots, T, side="right") - 1, 0)]
    owed = np.concatenate([(T >= plots[0]) & (age <= 15.0), T >= SCAN[0]])
    r = track_continuity(_truth(), tracks, gate_m=50.0, revisit_s=revisit, owed=owed)
    # every owed row is held: the track turned each plot into an update
    assert r.n_truth_steps == int(owed.sum())
    assert r.probability_of_update == 1.0
    assert r.probability_of_update_tracked == 1.0
    # without owed, every row counts and those more than 15 s after a plot are misses
    full = track_continuity(_truth(), tracks, gate_m=50.0, revisit_s=revisit)
    assert full.probability_of_update_tracked < 1.0
    # time to confirm and the trailing gap still come from coverage: target 1 is last
    # updated at 40.5 s while it is covered to 59 s (a long gap); owed changes neither
    assert r.n_long_gaps == full.n_long_gaps
    np.testing.assert_array_equal(r.time_to_confirm_s, full.time_to_confirm_s)
    with pytest.raises(DataError, match="owed"):
        track_continuity(_truth(), tracks, gate_m=50.0, owed=owed[:-1])


# ------------------------------------------------------------------ gates per truth row


def test_per_row_gates_all_equal_to_the_gate_give_the_same_association() -> None:
    rng = np.random.default_rng(20260112)
    for _ in range(60):
        truth, tracks, gate = _random_case(rng)
        fixed = associate_updates(truth, tracks, gate_m=gate)
        rows = np.full(truth["time"].size, gate)
        # the per-row gates replace gate_m; NaN rows take gate_m
        for gate_m, per_row in ((gate, rows), (1.0, rows), (gate, np.full_like(rows, np.nan))):
            a = associate_updates(truth, tracks, gate_m=gate_m, gate_per_truth_row=per_row)
            np.testing.assert_array_equal(a.truth_index, fixed.truth_index)
            np.testing.assert_array_equal(a.distance_m, fixed.distance_m)


def test_an_update_700_m_off_is_associated_only_within_a_wider_row_gate() -> None:
    truth = _truth()
    tracks = _tracks(("A", SCAN[2:], _target(SCAN[2:], 1) + [0.0, 700.0, 0.0], "confirmed"))
    assert (associate_updates(truth, tracks, gate_m=500.0).truth_index == -1).all()
    wide = np.where(truth["truth_id"] == 1, 3.03 * 300.0, 500.0)  # a 300-m bound: 909 m
    a = associate_updates(truth, tracks, gate_m=500.0, gate_per_truth_row=wide)
    assert (a.truth_index == 0).all()
    np.testing.assert_allclose(a.distance_m, 700.0)
    r = track_continuity(truth, tracks, gate_m=500.0, association=a)
    assert r.n_false_updates == 0 and r.probability_of_update_tracked == 1.0
    # target 2's wide gate does not reach target 1's updates
    other = np.where(truth["truth_id"] == 2, 3.03 * 300.0, 500.0)
    assert (associate_updates(truth, tracks, gate_m=500.0, gate_per_truth_row=other)
            .truth_index == -1).all()


def test_a_pair_is_gated_by_the_first_truth_row_at_or_after_the_update() -> None:
    # target 1's rows at 10 and 11 s have 500- and 800-m gates: the update at 10.5 s is
    # gated at 800 m (the row that ends its step, the bound with the update's plot in it),
    # the one at 10.0 s at 500 m
    truth = _truth()
    gates = np.full(truth["time"].size, 500.0)
    gates[11] = 800.0
    times = np.array([10.0, 10.5, 10.5])
    off = np.array([[0.0, 700.0, 0.0], [0.0, 790.0, 0.0], [0.0, 810.0, 0.0]])
    tracks = {"time": times, "track_id": np.array(["A", "B", "C"]),
              "east_m": _target(times, 1)[:, 0] + off[:, 0],
              "north_m": _target(times, 1)[:, 1] + off[:, 1],
              "up_m": _target(times, 1)[:, 2] + off[:, 2]}
    a = associate_updates(truth, tracks, gate_m=500.0, gate_per_truth_row=gates)
    assert a.truth_index.tolist() == [-1, 0, -1]


def test_per_pair_gates_weigh_the_assignment_by_distance_over_gate() -> None:
    # one update 400 m from target 5 (gate 500 m) and 600 m from target 8 (gate 2 km): in
    # units of their gates 0.8 and 0.3, so it goes to 8; with one 2-km gate, to 5
    truth = {"time": np.zeros(2), "truth_id": np.array([5, 8]),
             "east_m": np.array([0.0, 1000.0]), "north_m": np.zeros(2), "up_m": np.zeros(2)}
    tracks = {"time": np.zeros(1), "east_m": np.array([400.0]), "north_m": np.zeros(1),
              "up_m": np.zeros(1)}
    a = associate_updates(truth, tracks, gate_m=500.0,
                          gate_per_truth_row=np.array([500.0, 2000.0]))
    assert a.truth_ids[a.truth_index].tolist() == [8] and a.distance_m[0] == 600.0
    assert associate_updates(truth, tracks, gate_m=2000.0).truth_index.tolist() == [0]
    # a second update 100 m from 5 takes it; the first still goes to 8 (a dense block)
    tracks = {k: np.append(v, [0.0] if k != "east_m" else [100.0]) for k, v in tracks.items()}
    a = associate_updates(truth, tracks, gate_m=500.0,
                          gate_per_truth_row=np.array([500.0, 2000.0]))
    assert a.truth_ids[a.truth_index].tolist() == [8, 5]


def _dense_reference_per_row(truth: dict[str, np.ndarray], tracks: dict[str, np.ndarray],
                             gates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The per-row-gate association written out plainly: at each update time, every
    update against every target alive then, the gate of the target's first row at or
    after that time, one dense assignment of min(d / gate, 1)², pairs inside kept."""
    ids = np.unique(truth["truth_id"])
    cols = ("east_m", "north_m", "up_m")
    index = np.full(tracks["time"].size, -1)
    dist = np.full(tracks["time"].size, np.nan)
    for t in np.unique(tracks["time"]):
        rows = np.nonzero(tracks["time"] == t)[0]
        alive, pos, gate = [], [], []
        for n, i in enumerate(ids):
            own = np.nonzero(truth["truth_id"] == i)[0]
            own = own[np.argsort(truth["time"][own])]
            tt = truth["time"][own]
            if tt.min() <= t <= tt.max():
                alive.append(n)
                pos.append([np.interp(t, tt, truth[c][own]) for c in cols])
                gate.append(gates[own][np.searchsorted(tt, t)])
        if not alive:
            continue
        y = np.stack([tracks[c][rows] for c in cols], axis=1)
        d = cdist(y, np.array(pos))
        ri, ci = linear_sum_assignment(np.minimum(d / np.array(gate)[None, :], 1.0) ** 2)
        keep = d[ri, ci] < np.array(gate)[ci]
        index[rows[ri[keep]]] = np.array(alive)[ci[keep]]
        dist[rows[ri[keep]]] = d[ri[keep], ci[keep]]
    return index, dist


def test_per_row_gates_sparse_equals_dense_on_random_cases() -> None:
    rng = np.random.default_rng(20260113)
    wider = 0
    for _ in range(120):
        truth, tracks, gate = _random_case(rng)
        gates = gate * rng.choice([0.5, 1.0, 1.0, 2.0, 4.0], truth["time"].size)
        a = associate_updates(truth, tracks, gate_m=gate, gate_per_truth_row=gates)
        confirmed = tracks["status"] == "confirmed"
        ref_index, ref_dist = _dense_reference_per_row(
            truth, {k: v[confirmed] for k, v in tracks.items()}, gates)
        np.testing.assert_array_equal(a.truth_index[confirmed], ref_index)
        assert (a.truth_index[~confirmed] == -1).all()
        np.testing.assert_allclose(a.distance_m[confirmed], ref_dist, rtol=1e-9, atol=1e-9)
        wider += int(np.count_nonzero(a.distance_m >= gate))
    assert wider > 50  # pairs outside the common gate but inside their own were kept


def test_bad_per_row_gates() -> None:
    with pytest.raises(DataError, match="gate_per_truth_row must be one gate per truth row"):
        associate_updates(_truth(), _perfect(), gate_m=50.0, gate_per_truth_row=np.ones(3))
    for bad in (0.0, -1.0, np.inf):
        g = np.full(120, 50.0)
        g[7] = bad
        with pytest.raises(DataError, match="finite gates > 0"):
            associate_updates(_truth(), _perfect(), gate_m=50.0, gate_per_truth_row=g)
