"""The per-track memory of class evidence (skyfence.classify.memory)."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.classify.memory import ClassMemory


def _sequential(track_id, time, log_lk, memory_s):
    """Reference: one row at a time, in time order per track, plain Python."""
    state: dict[int, tuple[np.ndarray, float, float]] = {}
    out = np.empty_like(log_lk)
    for i in np.lexsort((time, track_id)):
        tid = int(track_id[i])
        if tid in state:
            S, W, t = state[tid]
            d = np.exp(-max(time[i] - t, 0.0) / memory_s)
            S, W, t = d * S + log_lk[i], d * W + 1.0, max(t, time[i])
        else:
            S, W, t = log_lk[i].copy(), 1.0, time[i]
        state[tid] = (S, W, t)
        out[i] = S / W
    return out


def test_first_row_is_its_own_evidence():
    m = ClassMemory(3, 20.0)
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    np.testing.assert_allclose(m.fold(np.array([7]), np.array([100.0]), x), x)


def test_two_rows_are_weighted_by_their_age():
    m = ClassMemory(2, 10.0)
    a = np.log(np.array([[0.9, 0.1]]))
    b = np.log(np.array([[0.1, 0.9]]))
    m.fold(np.array([1]), np.array([0.0]), a)
    got = m.fold(np.array([1]), np.array([10.0]), b)
    d = np.exp(-1.0)
    np.testing.assert_allclose(got, (d * a + b) / (d + 1.0))


def test_batches_of_many_tracks_equal_one_row_at_a_time():
    rng = np.random.default_rng(5)
    n = 400
    tid = rng.integers(0, 30, n)
    t = np.sort(rng.uniform(0, 120, n))
    x = np.log(rng.dirichlet(np.ones(4), n))
    want = _sequential(tid, t, x, 15.0)
    m = ClassMemory(4, 15.0)
    got = np.empty_like(x)
    # uneven batches, rows of a batch shuffled: several rows per track per batch
    cuts = [0, 3, 50, 51, 200, 333, n]
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        idx = rng.permutation(np.arange(a, b))
        got[idx] = m.fold(tid[idx], t[idx], x[idx])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_late_row_is_folded_without_decay():
    m = ClassMemory(2, 5.0)
    a = np.log(np.array([[0.5, 0.5]]))
    b = np.log(np.array([[0.9, 0.1]]))
    m.fold(np.array([3]), np.array([50.0]), a)
    got = m.fold(np.array([3]), np.array([40.0]), b)      # older than the last row
    np.testing.assert_allclose(got, (a + b) / 2.0)


def test_forget_frees_the_track():
    m = ClassMemory(2, 5.0)
    x = np.log(np.array([[0.5, 0.5], [0.8, 0.2]]))
    m.fold(np.array([1, 2]), np.array([0.0, 0.0]), x)
    assert len(m) == 2
    m.forget(np.array([1]))
    assert m.ids.tolist() == [2]
    # a track id seen again after being forgotten starts afresh
    y = np.log(np.array([[0.1, 0.9]]))
    np.testing.assert_allclose(m.fold(np.array([1]), np.array([1.0]), y), y)


def test_memory_time_must_be_positive():
    with pytest.raises(ValueError, match="memory_s"):
        ClassMemory(2, 0.0)


def test_a_long_gap_decays_the_memory_only_as_far_as_max_gap_s():
    """A track re-found after a minute unseen keeps what it was: one odd row after the
    gap does not decide its class."""
    bird = np.log(np.array([[0.2, 0.8]]))
    odd = np.log(np.array([[0.999, 0.001]]))    # a jumped velocity: loud evidence
    t = np.arange(30.0)
    capped, amnesic = ClassMemory(2, 30.0, max_gap_s=10.0), ClassMemory(2, 30.0)
    for m in (capped, amnesic):
        m.fold(np.ones(30, np.int64), t, np.repeat(bird, 30, axis=0))
    after = np.array([29.0 + 46.0])
    kept = capped.fold(np.array([1]), after, odd)
    lost = amnesic.fold(np.array([1]), after, odd)
    assert kept[0, 1] > kept[0, 0]                  # still a bird
    assert lost[0, 0] > lost[0, 1]                  # forgotten: the odd row decides
    # the capped gap decays as 10 s would
    ref = ClassMemory(2, 30.0)
    ref.fold(np.ones(30, np.int64), t, np.repeat(bird, 30, axis=0))
    np.testing.assert_allclose(kept, ref.fold(np.array([1]), np.array([39.0]), odd))
    with pytest.raises(ValueError, match="max_gap_s"):
        ClassMemory(2, 30.0, max_gap_s=0.0)
