"""Tests of skyfence.track.jpda: Stone Soup 1.9.1's JPDA, JPDAwithLBP and PDAUpdater on
linear Gaussian scenes, a brute-force enumeration of the joint events, and invariants."""

from __future__ import annotations

import doctest
import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import chi2
from stonesoup.dataassociator.probability import JPDA, JPDAwithLBP
from stonesoup.hypothesiser.probability import PDAHypothesiser
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    ConstantVelocity,
)
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.state import GaussianState
from stonesoup.types.track import Track
from stonesoup.updater.kalman import KalmanUpdater
from stonesoup.updater.probability import PDAUpdater

from skyfence.track import jpda
from skyfence.track.filters import ekf_correct, log_likelihood, mahalanobis2
from skyfence.track.jpda import jpda_weights, pda_correct

T0 = datetime(2025, 7, 28, 2, 0, 0)
DT = 1.0


# ------------------------------------------------------------------------- references


def _log(v: float) -> float:
    return math.log(v) if v > 0.0 else -math.inf


def brute_force(ti, di, ll, nt, nd, pd, pg, lam):  # type: ignore[no-untyped-def]
    """Marginals by listing every feasible joint event, weighted by the definition
    ``Π_assigned Pd N / λ · Π_unassigned (1 − Pd Pg)`` (in log space)."""
    pd = np.broadcast_to(np.asarray(pd, float), (nt,))
    pg = np.broadcast_to(np.asarray(pg, float), (nt,))
    lam = np.broadcast_to(np.asarray(lam, float), (nd,))
    options = [[None] + [p for p in range(len(ti)) if ti[p] == t] for t in range(nt)]
    events, logw = [], []
    for choice in itertools.product(*options):
        used = [di[p] for p in choice if p is not None]
        if len(used) != len(set(used)):
            continue
        lw = 0.0
        for t, p in enumerate(choice):
            if p is None:
                lw += _log(1.0 - pd[t] * pg[t])
            else:
                lw += _log(pd[t]) + ll[p] - math.log(lam[di[p]])
        events.append(choice)
        logw.append(lw)
    prob = np.exp(np.array(logw) - logsumexp(logw))
    beta, beta0 = np.zeros(len(ti)), np.zeros(nt)
    for pr, choice in zip(prob, events, strict=True):
        for t, p in enumerate(choice):
            if p is None:
                beta0[t] += pr
            else:
                beta[p] += pr
    return beta, beta0


@dataclass
class Scene:
    """A linear Gaussian scene: 2D constant velocity, position measurements."""

    x0: np.ndarray          # (nt, 4) prior means at T0, [x, vx, y, vy]
    P0: np.ndarray          # (nt, 4, 4)
    xp: np.ndarray          # (nt, 4) predicted to T0 + DT
    Pp: np.ndarray
    z: np.ndarray           # (nd, 2)
    H: np.ndarray           # (2, 4)
    R: np.ndarray           # (2, 2)
    pd: float
    pg: float
    lam: float
    tm: CombinedLinearGaussianTransitionModel
    lg: LinearGaussian

    @property
    def nt(self) -> int:
        return len(self.x0)

    @property
    def nd(self) -> int:
        return len(self.z)

    def gate(self):  # type: ignore[no-untyped-def]
        """Gated pairs with innovations, log-likelihoods and per-track S."""
        S = self.H @ self.Pp @ self.H.T + self.R
        ti, di = (a.ravel() for a in np.meshgrid(np.arange(self.nt), np.arange(self.nd),
                                                 indexing="ij"))
        nu = self.z[di] - self.xp[ti] @ self.H.T
        ok = mahalanobis2(nu, S[ti]) <= chi2.ppf(self.pg, 2)
        ti, di, nu = ti[ok], di[ok], nu[ok]
        return ti, di, nu, log_likelihood(nu, S[ti]), S


def make_scene(seed: int, max_tracks: int = 4, max_dets: int = 5) -> Scene:
    """Tracks close together (overlapping gates), some detected, plus clutter."""
    rng = np.random.default_rng(seed)
    nt = int(rng.integers(1, max_tracks + 1))
    q = float(rng.uniform(0.1, 1.0))
    tm = CombinedLinearGaussianTransitionModel([ConstantVelocity(q), ConstantVelocity(q)])
    R = np.diag(rng.uniform(0.5, 1.5, 2) ** 2)
    lg = LinearGaussian(ndim_state=4, mapping=(0, 2), noise_covar=CovarianceMatrix(R))
    x0 = np.column_stack([rng.uniform(0, 6, nt), rng.normal(0, 1, nt),
                          rng.uniform(0, 6, nt), rng.normal(0, 1, nt)])
    if nt > 1 and rng.random() < 0.3:
        x0[0, [0, 2]] = 60.0                      # a track far from every detection
    A = rng.normal(size=(nt, 4, 4))
    P0 = 0.3 * A @ np.swapaxes(A, 1, 2) + 0.5 * np.eye(4)
    F = tm.matrix(time_interval=timedelta(seconds=DT))
    Q = tm.covar(time_interval=timedelta(seconds=DT))
    xp = x0 @ F.T
    Pp = F @ P0 @ F.T + Q
    H = lg.matrix()
    S = H @ Pp @ H.T + R
    seen = rng.random(nt) < 0.8
    true = [rng.multivariate_normal(H @ xp[t], S[t]) for t in np.flatnonzero(seen)]
    n_clutter = int(rng.integers(0, max(1, max_dets - len(true)) + 1))
    clutter = rng.uniform(-2, 8, (n_clutter, 2))
    z = np.array(true + list(clutter)).reshape(-1, 2)[:max_dets]
    z = z[rng.permutation(len(z))]
    return Scene(x0, P0, xp, Pp, z, H, R, float(rng.uniform(0.5, 0.99)),
                 float(rng.choice([0.9, 0.99, 0.999])), float(rng.uniform(0.005, 0.1)), tm, lg)


def stonesoup_run(sc: Scene, associator: type = JPDA):  # type: ignore[no-untyped-def]
    """Stone Soup's association probabilities and PDA updates for the scene."""
    tracks = [Track([GaussianState(StateVector(sc.x0[t]), CovarianceMatrix(sc.P0[t]),
                                   timestamp=T0)]) for t in range(sc.nt)]
    t1 = T0 + timedelta(seconds=DT)
    dets = [Detection(StateVector(sc.z[j]), timestamp=t1, measurement_model=sc.lg)
            for j in range(sc.nd)]
    hyp = PDAHypothesiser(predictor=KalmanPredictor(sc.tm), updater=KalmanUpdater(sc.lg),
                          clutter_spatial_density=sc.lam, prob_detect=sc.pd, prob_gate=sc.pg)
    result = associator(hypothesiser=hyp).associate(set(tracks), set(dets), t1)
    beta: dict[tuple[int, int], float] = {}
    beta0 = np.zeros(sc.nt)
    x_post, P_post = [], []
    updater = PDAUpdater(measurement_model=sc.lg)
    for t, track in enumerate(tracks):
        for h in result[track]:
            if not h:
                beta0[t] = float(h.probability)
            else:
                j = next(k for k, d in enumerate(dets) if d is h.measurement)
                beta[(t, j)] = float(h.probability)
        upd = updater.update(result[track])
        x_post.append(np.asarray(upd.state_vector, float).ravel())
        P_post.append(np.asarray(upd.covar, float))
    return beta, beta0, np.array(x_post), np.array(P_post)


SEEDS = range(30)


# --------------------------------------------------------------------- (a), (b): Stone Soup


@pytest.mark.parametrize("seed", SEEDS)
def test_marginals_match_stonesoup_jpda(seed: int) -> None:
    sc = make_scene(seed)
    ti, di, _, ll, _ = sc.gate()
    w = jpda_weights(ti, di, ll, sc.nt, sc.nd, sc.pd, sc.pg, sc.lam)
    ss_beta, ss_beta0, _, _ = stonesoup_run(sc)
    assert set(ss_beta) == set(zip(ti.tolist(), di.tolist(), strict=True))
    for p in range(ti.size):
        assert w.beta[p] == pytest.approx(ss_beta[(int(ti[p]), int(di[p]))], abs=1e-9)
    np.testing.assert_allclose(w.beta0, ss_beta0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("joseph", [True, False])
def test_update_matches_stonesoup_pda_updater(seed: int, joseph: bool) -> None:
    sc = make_scene(seed)
    ti, di, nu, ll, S = sc.gate()
    w = jpda_weights(ti, di, ll, sc.nt, sc.nd, sc.pd, sc.pg, sc.lam)
    H = np.broadcast_to(sc.H, (sc.nt, 2, 4))
    R = np.broadcast_to(sc.R, (sc.nt, 2, 2)) if joseph else None
    # every track is a row, the ones without a gated detection too (β₀ = 1)
    x, P = pda_correct(sc.xp, sc.Pp, nu, H, S, R, w.beta, w.beta0, ti)
    _, _, ss_x, ss_P = stonesoup_run(sc)
    np.testing.assert_allclose(x, ss_x, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(P, ss_P, rtol=1e-9, atol=1e-9)


def test_scenes_exercise_clusters_of_several_tracks() -> None:
    """The Stone Soup scenes above include singletons, multi-track clusters and misses."""
    sizes, empty = [], 0
    for seed in SEEDS:
        sc = make_scene(seed)
        ti, di, _, ll, _ = sc.gate()
        w = jpda_weights(ti, di, ll, sc.nt, sc.nd, sc.pd, sc.pg, sc.lam)
        empty += int(ti.size == 0 or sc.nt > np.unique(ti).size)
        for c in np.unique(w.cluster):
            sizes.append((np.unique(ti[w.cluster == c]).size, np.unique(di[w.cluster == c]).size))
    assert (1, 1) in sizes
    assert sum(t >= 2 and d >= 2 for t, d in sizes) >= 8
    assert sum(t >= 3 for t, d in sizes) >= 3
    assert empty >= 3


@pytest.mark.parametrize("seed", range(12))
def test_lbp_path_matches_stonesoup_jpda_with_lbp(seed: int) -> None:
    """The belief-propagation path is Williams & Lau's algorithm, as Stone Soup has it
    (Stone Soup stops at a bound of 1e-3 on the messages' error)."""
    sc = make_scene(seed, max_tracks=5, max_dets=6)
    ti, di, _, ll, _ = sc.gate()
    w = jpda_weights(ti, di, ll, sc.nt, sc.nd, sc.pd, sc.pg, sc.lam, max_exact=0,
                     lbp_tol=1e-12)
    ss_beta, ss_beta0, _, _ = stonesoup_run(sc, JPDAwithLBP)
    for p in range(ti.size):
        assert w.beta[p] == pytest.approx(ss_beta[(int(ti[p]), int(di[p]))], abs=2e-3)
    np.testing.assert_allclose(w.beta0, ss_beta0, rtol=0, atol=2e-3)


# -------------------------------------------------------------- exact path vs enumeration


def _random_pairs(rng: np.random.Generator, nt: int, nd: int, density: float):  # type: ignore[no-untyped-def]
    mask = rng.random((nt, nd)) < density
    ti, di = np.nonzero(mask)
    return ti.astype(np.int64), di.astype(np.int64)


@pytest.mark.parametrize("seed", range(40))
def test_exact_path_equals_brute_force_with_per_track_pd_and_per_detection_clutter(
        seed: int) -> None:
    rng = np.random.default_rng(seed)
    nt, nd = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    ti, di = _random_pairs(rng, nt, nd, 0.6)
    ll = rng.normal(-3.0, 2.0, ti.size)
    pd = rng.uniform(0.0, 1.0, nt)
    pd[rng.random(nt) < 0.15] = 1.0
    pg = rng.uniform(0.9, 0.9999, nt) if seed % 2 else 0.995
    lam = rng.uniform(0.01, 0.2, nd) if seed % 3 else 0.05
    w = jpda_weights(ti, di, ll, nt, nd, pd, pg, lam)
    beta, beta0 = brute_force(ti, di, ll, nt, nd, pd, pg, lam)
    assert not w.approx.any()
    np.testing.assert_allclose(w.beta, beta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w.beta0, beta0, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("nt", "nd"), [(2, 7), (7, 2), (5, 5), (3, 6)])
def test_exact_path_on_dense_clusters_either_orientation(nt: int, nd: int) -> None:
    """The subsets run over the smaller side: tracks or detections."""
    rng = np.random.default_rng(nt * 10 + nd)
    ti, di = _random_pairs(rng, nt, nd, 1.0)
    ll = rng.normal(-2.0, 1.5, ti.size)
    w = jpda_weights(ti, di, ll, nt, nd, 0.9, 0.99, 0.1)
    beta, beta0 = brute_force(ti, di, ll, nt, nd, 0.9, 0.99, 0.1)
    np.testing.assert_allclose(w.beta, beta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w.beta0, beta0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("log_lam", [-100.0, -650.0])
def test_exact_path_with_huge_likelihood_ratios(log_lam: float) -> None:
    """Ratios of e^100 stay in plain floating point; e^650 take the log-space path."""
    rng = np.random.default_rng(7)
    ti, di = _random_pairs(rng, 4, 4, 0.8)
    ll = rng.normal(-2.0, 3.0, ti.size)
    lam = math.exp(log_lam)
    w = jpda_weights(ti, di, ll, 4, 4, 0.9, 0.99, lam)
    beta, beta0 = brute_force(ti, di, ll, 4, 4, 0.9, 0.99, lam)
    assert np.isfinite(w.beta).all() and np.isfinite(w.beta0).all()
    np.testing.assert_allclose(w.beta, beta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w.beta0, beta0, rtol=0, atol=1e-12)


def test_exact_kernels_agree_in_linear_and_log_space() -> None:
    rng = np.random.default_rng(3)
    ti, di = _random_pairs(rng, 6, 4, 0.7)
    w = rng.normal(1.0, 3.0, ti.size)
    w[0] = -np.inf                                 # a pair of zero ratio (pd = 0)
    out = []
    for kernel in (jpda._exact_linear, jpda._exact_log):
        order, ptr, ecol, ew = jpda._by_row(ti, di, w, 6)
        beta, miss_r, miss_c = np.empty(ti.size), np.empty(6), np.empty(4)
        kernel(order, ptr, ecol, ew, 6, 4, beta, miss_r, miss_c)
        out.append(np.concatenate([beta, miss_r, miss_c]))
    assert out[0][0] == 0.0
    np.testing.assert_allclose(out[0], out[1], rtol=0, atol=1e-13)


# -------------------------------------------------------------------------- (d) singletons


def test_singleton_closed_form_equals_enumeration() -> None:
    rng = np.random.default_rng(11)
    n = 60
    ti = np.arange(n)
    di = rng.permutation(n)
    ll = rng.normal(-3.0, 3.0, n)
    ll[5] = -np.inf
    pd = rng.uniform(0.0, 1.0, n)
    pd[:3] = [0.0, 1.0, 0.5]
    pg = rng.uniform(0.9, 0.9999, n)
    lam = rng.uniform(1e-4, 1.0, n)
    w = jpda_weights(ti, di, ll, n, n, pd, pg, lam)
    assert np.unique(w.cluster).size == n and not w.approx.any()
    r = pd * np.exp(ll) / (lam[di] * (1 - pd * pg))
    np.testing.assert_allclose(w.beta, r / (1 + r), rtol=1e-12, atol=0)
    np.testing.assert_allclose(w.beta0, 1 / (1 + r), rtol=1e-12, atol=0)
    assert w.beta[0] == 0.0 and w.beta0[0] == 1.0 and w.beta[5] == 0.0
    for p in range(n):
        beta, beta0 = brute_force([0], [0], [ll[p]], 1, 1, pd[p], pg[p], lam[di[p]])
        assert w.beta[p] == pytest.approx(beta[0], abs=1e-14)
        assert w.beta0[p] == pytest.approx(beta0[0], abs=1e-14)


def test_singleton_closed_form_equals_the_exact_kernel() -> None:
    for logr in (-30.0, -1.0, 0.0, 2.5, 40.0):
        beta, miss_r, miss_c = np.empty(1), np.empty(1), np.empty(1)
        jpda._exact_cluster(np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([logr]),
                            1, 1, beta, miss_r, miss_c)
        r = math.exp(logr)
        assert beta[0] == pytest.approx(r / (1 + r), rel=1e-14)
        assert miss_r[0] == pytest.approx(1 / (1 + r), rel=1e-14)
        assert miss_c[0] == pytest.approx(1 / (1 + r), rel=1e-14)


# ---------------------------------------------------------------- (c) exact vs LBP


def _crowd(rng: np.random.Generator, n: int, box: float):  # type: ignore[no-untyped-def]
    """n targets in a small square, each detected, all pairs gated (S = 2 I)."""
    xt = rng.uniform(0, box, (n, 2))
    z = xt[rng.permutation(n)] + rng.normal(0, 1.0, (n, 2))
    ti, di = (a.ravel() for a in np.meshgrid(np.arange(n), np.arange(n), indexing="ij"))
    ll = log_likelihood(z[di] - xt[ti], np.broadcast_to(2.0 * np.eye(2), (ti.size, 2, 2)))
    return ti, di, ll


def test_lbp_close_to_exact_on_dense_6x6_clusters() -> None:
    rng = np.random.default_rng(5)
    worst, errors = 0.0, []
    for _ in range(40):
        ti, di, ll = _crowd(rng, 6, float(rng.uniform(0.5, 3.0)))
        exact = jpda_weights(ti, di, ll, 6, 6, 0.9, 0.99, 0.01)
        lbp = jpda_weights(ti, di, ll, 6, 6, 0.9, 0.99, 0.01, max_exact=0)
        assert not exact.approx.any() and lbp.approx.all()
        err = np.abs(np.concatenate([exact.beta - lbp.beta, exact.beta0 - lbp.beta0]))
        worst = max(worst, float(err.max()))
        errors.append(err.mean())
    # belief propagation is approximate on these loopy graphs: ~0.01 on average
    assert np.mean(errors) < 0.015, np.mean(errors)
    assert worst < 0.1, worst


def _tree_scenes() -> list[tuple[str, np.ndarray, np.ndarray, int, int]]:
    """Association graphs without cycles, where belief propagation is exact."""
    scenes = [("one track", np.zeros(7, np.int64), np.arange(7), 1, 7),
              ("one detection", np.arange(7), np.zeros(7, np.int64), 7, 1)]
    # chain t0 - d0 - t1 - d1 - ... - t6
    ti = np.r_[np.arange(7), np.arange(1, 7)]
    di = np.r_[np.arange(7), np.arange(6)]
    scenes.append(("chain", ti, di, 7, 7))
    rng = np.random.default_rng(2)
    for k in range(4):
        # random bipartite tree: each new node joins one node of the other side
        tracks, dets, pairs = [0], [], []
        for _ in range(14):
            if rng.random() < 0.5 or not dets:
                d = len(dets)
                dets.append(d)
                pairs.append((int(rng.choice(tracks)), d))
            else:
                t = len(tracks)
                tracks.append(t)
                pairs.append((t, int(rng.choice(dets))))
        a = np.array(pairs)
        scenes.append((f"random tree {k}", a[:, 0], a[:, 1], len(tracks), len(dets)))
    return scenes


@pytest.mark.parametrize("scene", _tree_scenes(), ids=lambda s: s[0])
def test_lbp_is_exact_on_trees(scene) -> None:  # type: ignore[no-untyped-def]
    _, ti, di, nt, nd = scene
    rng = np.random.default_rng(nt * 31 + nd)
    ll = rng.normal(-1.0, 2.0, ti.size)
    pd = rng.uniform(0.5, 1.0, nt)
    exact = jpda_weights(ti, di, ll, nt, nd, pd, 0.99, 0.1, max_exact=20)
    lbp = jpda_weights(ti, di, ll, nt, nd, pd, 0.99, 0.1, max_exact=0, lbp_tol=1e-13)
    assert not exact.approx.any() and lbp.approx.all()
    np.testing.assert_allclose(lbp.beta, exact.beta, rtol=0, atol=1e-10)
    np.testing.assert_allclose(lbp.beta0, exact.beta0, rtol=0, atol=1e-10)
    if ti.size <= 8:
        beta, beta0 = brute_force(ti, di, ll, nt, nd, pd, 0.99, 0.1)
        np.testing.assert_allclose(exact.beta, beta, rtol=0, atol=1e-12)
        np.testing.assert_allclose(exact.beta0, beta0, rtol=0, atol=1e-12)


def test_max_exact_chooses_the_path_per_cluster() -> None:
    """A 3×3 cluster is exact with max_exact = 3 and goes to LBP with 2; singletons never."""
    ti = np.array([0, 0, 1, 1, 2, 2, 3])
    di = np.array([0, 1, 1, 2, 2, 0, 3])
    ll = np.linspace(-3, 0, 7)
    for max_exact, expect in ((3, False), (2, True)):
        w = jpda_weights(ti, di, ll, 4, 4, 0.9, 0.99, 0.1, max_exact=max_exact)
        assert w.approx[:6].tolist() == [expect] * 6
        assert not w.approx[6]
        assert w.cluster[6] != w.cluster[0]


def test_exact_table_too_large_goes_to_lbp() -> None:
    """A smaller side of 16 within max_exact, but 301 · 2^16 floats > EXACT_TABLE_LIMIT."""
    nt, nd = 300, 16
    ti = np.r_[np.arange(nt), np.arange(nt)]
    di = np.r_[np.arange(nt) % nd, (np.arange(nt) + 1) % nd]
    ll = np.linspace(-4.0, 0.0, ti.size)
    assert (nt + 1) << nd > jpda.EXACT_TABLE_LIMIT
    w = jpda_weights(ti, di, ll, nt, nd, 0.9, 0.99, 0.1, max_exact=20)
    assert w.approx.all()
    per_track = w.beta0 + np.bincount(ti, weights=w.beta, minlength=nt)
    np.testing.assert_allclose(per_track, 1.0, rtol=0, atol=1e-12)
    small = jpda_weights(ti[:40], di[:40], ll[:40], 40, nd, 0.9, 0.99, 0.1, max_exact=20)
    assert not small.approx.any()


# ---------------------------------------------------------------------- (e) invariants


@pytest.mark.parametrize("max_exact", [0, 3, 10])
@pytest.mark.parametrize("seed", range(6))
def test_probabilities_sum_to_one_per_track_and_at_most_one_per_detection(
        seed: int, max_exact: int) -> None:
    rng = np.random.default_rng(seed)
    nt, nd = 300, 330
    # tracks and detections on a line, gated within a window: clusters of all sizes
    xt = np.sort(rng.uniform(0, 300, nt))
    zd = rng.uniform(0, 300, nd)
    ti, di = np.nonzero(np.abs(xt[:, None] - zd[None, :]) < rng.uniform(1.0, 3.0))
    ll = -0.5 * (xt[ti] - zd[di]) ** 2 - 0.5 * math.log(2 * math.pi)
    pd = rng.uniform(0.3, 1.0, nt)
    lam = rng.uniform(0.05, 0.5, nd)
    w = jpda_weights(ti, di, ll, nt, nd, pd, 0.999, lam, max_exact=max_exact)
    assert ((w.beta >= 0) & (w.beta <= 1)).all() and ((w.beta0 >= 0) & (w.beta0 <= 1)).all()
    per_track = w.beta0 + np.bincount(ti, weights=w.beta, minlength=nt)
    np.testing.assert_allclose(per_track, 1.0, rtol=0, atol=1e-12)
    per_det = np.bincount(di, weights=w.beta, minlength=nd)
    exact_det = np.ones(nd, bool)
    exact_det[di[w.approx]] = False
    assert (per_det[exact_det] <= 1 + 1e-12).all()
    assert (per_det[~exact_det] <= 1 + 1e-6).all()    # LBP: up to its convergence
    assert (w.beta0[np.setdiff1d(np.arange(nt), ti)] == 1.0).all()
    if max_exact == 0:
        assert w.approx.any()


def test_no_pairs() -> None:
    w = jpda_weights(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), 3, 2,
                     0.9, 0.99, 0.1)
    assert w.beta.shape == (0,) and w.beta0.tolist() == [1.0, 1.0, 1.0]
    x, P = pda_correct(np.ones((2, 4)), np.broadcast_to(np.eye(4), (2, 4, 4)),
                       np.empty((0, 2)), np.zeros((2, 2, 4)),
                       np.broadcast_to(np.eye(2), (2, 2, 2)), None, np.empty(0),
                       np.ones(2), np.empty(0, np.int64))
    assert (x == 1).all() and (P == np.eye(4)).all()


def test_pair_order_does_not_matter() -> None:
    rng = np.random.default_rng(9)
    ti, di = _random_pairs(rng, 12, 12, 0.3)
    ll = rng.normal(-2.0, 1.0, ti.size)
    w = jpda_weights(ti, di, ll, 12, 12, 0.9, 0.99, 0.1, max_exact=3)
    perm = rng.permutation(ti.size)
    v = jpda_weights(ti[perm], di[perm], ll[perm], 12, 12, 0.9, 0.99, 0.1, max_exact=3)
    np.testing.assert_allclose(v.beta, w.beta[perm], rtol=0, atol=1e-12)
    np.testing.assert_allclose(v.beta0, w.beta0, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------ pda_correct


def test_pda_with_one_certain_detection_is_the_kalman_update() -> None:
    rng = np.random.default_rng(4)
    n, d, m = 5, 4, 2
    x = rng.normal(size=(n, d))
    A = rng.normal(size=(n, d, d))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(d)
    H = rng.normal(size=(n, m, d))
    R = np.broadcast_to(np.diag([0.5, 2.0]), (n, m, m)).copy()
    S = H @ P @ np.swapaxes(H, 1, 2) + R
    nu = rng.normal(size=(n, m))
    xk, Pk = ekf_correct(x, P, nu, H, S, R)
    for Rarg in (R, None):
        xj, Pj = pda_correct(x, P, nu, H, S, Rarg, np.ones(n), np.zeros(n), np.arange(n))
        np.testing.assert_allclose(xj, xk, rtol=1e-11, atol=1e-11)
        np.testing.assert_allclose(Pj, Pk, rtol=1e-9, atol=1e-10)


def test_pda_update_by_hand_and_inputs_unchanged() -> None:
    """Two tracks; the first with two detections, the second with none (β₀ = 1)."""
    rng = np.random.default_rng(8)
    d, m = 4, 2
    x = rng.normal(size=(2, d))
    A = rng.normal(size=(2, d, d))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(d)
    H = np.broadcast_to(np.eye(m, d), (2, m, d)).copy()
    R = np.broadcast_to(np.eye(m), (2, m, m)).copy()
    S = H @ P @ np.swapaxes(H, 1, 2) + R
    nu = rng.normal(size=(2, m))
    beta, beta0 = np.array([0.5, 0.3]), np.array([0.2, 1.0])
    args = [x, P, nu, H, S, R, beta, beta0, np.array([0, 0])]
    copies = [a.copy() for a in args]
    xn, Pn = pda_correct(*args)
    for a, c in zip(args, copies, strict=True):
        assert np.array_equal(a, c)
    K = P[0] @ H[0].T @ np.linalg.inv(S[0])
    v = beta @ nu
    spread = sum(b * np.outer(n_, n_) for b, n_ in zip(beta, nu, strict=True)) - np.outer(v, v)
    P_expect = 0.2 * P[0] + 0.8 * (P[0] - K @ S[0] @ K.T) + K @ spread @ K.T
    np.testing.assert_allclose(xn[0], x[0] + K @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(Pn[0], P_expect, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xn[1], x[1], rtol=0, atol=0)
    np.testing.assert_allclose(Pn[1], P[1], rtol=0, atol=1e-15)
    assert np.array_equal(Pn, np.swapaxes(Pn, 1, 2))


def test_large_batch_is_consistent_with_small_batches() -> None:
    """One call over many tracks equals one call per track (vectorised, no coupling)."""
    rng = np.random.default_rng(12)
    n, d, m = 200, 6, 3
    x = rng.normal(size=(n, d))
    A = rng.normal(size=(n, d, d))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(d)
    H = rng.normal(size=(n, m, d))
    R = np.broadcast_to(np.eye(m), (n, m, m)).copy()
    S = H @ P @ np.swapaxes(H, 1, 2) + R
    row = rng.integers(0, n, 500)
    nu = rng.normal(size=(500, m))
    beta = rng.uniform(0.01, 1.0, 500)
    share = np.bincount(row, weights=beta, minlength=n)
    scale = rng.uniform(0.3, 1.0, n) / np.maximum(share, 1e-300)
    beta = beta * scale[row]
    beta0 = 1.0 - np.bincount(row, weights=beta, minlength=n)
    xb, Pb = pda_correct(x, P, nu, H, S, R, beta, beta0, row)
    for t in rng.choice(n, 10, replace=False):
        sel = np.flatnonzero(row == t)
        xt, Pt = pda_correct(x[t:t + 1], P[t:t + 1], nu[sel], H[t:t + 1], S[t:t + 1],
                             R[t:t + 1], beta[sel], beta0[t:t + 1], np.zeros(sel.size, int))
        np.testing.assert_allclose(xb[t], xt[0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(Pb[t], Pt[0], rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------ (f) bad input


def _good() -> dict[str, object]:
    return dict(track_idx=np.array([0, 1]), det_idx=np.array([0, 0]),
                log_lik=np.array([-1.0, -2.0]), n_tracks=2, n_dets=1, pd=0.9, pg=0.99,
                clutter_density=0.1)


WEIGHT_ERRORS = [
    ({"track_idx": np.array([[0, 1]])}, "track_idx must be one-dimensional"),
    ({"track_idx": np.array([0.0, 1.0])}, "track_idx must hold integers"),
    ({"track_idx": np.array([0, 2])}, r"track_idx must lie in \[0, 2\)"),
    ({"det_idx": np.array([0, -1])}, r"det_idx must lie in \[0, 1\)"),
    ({"det_idx": np.array([0])}, "track_idx and det_idx must have the same length"),
    ({"det_idx": np.array([0, 0]), "track_idx": np.array([1, 1])},
     "track_idx and det_idx hold a duplicate pair"),
    ({"log_lik": np.array([-1.0])}, r"log_lik must be of shape \(2,\)"),
    ({"log_lik": np.array([np.nan, 0.0])}, "log_lik must be finite or -inf"),
    ({"log_lik": np.array([np.inf, 0.0])}, "log_lik must be finite or -inf"),
    ({"n_tracks": -1}, "n_tracks must be a non-negative integer"),
    ({"n_dets": 1.5}, "n_dets must be a non-negative integer"),
    ({"pd": 1.2}, r"pd must lie in \[0, 1\]"),
    ({"pd": np.array([0.9, -0.1])}, r"pd must lie in \[0, 1\]"),
    ({"pd": np.array([0.9, 0.9, 0.9])}, r"pd must be a scalar or of shape \(2,\)"),
    ({"pd": np.nan}, "pd must be finite"),
    ({"pg": 1.0}, r"pg must lie in \(0, 1\)"),
    ({"pg": 0.0}, r"pg must lie in \(0, 1\)"),
    ({"clutter_density": -0.1}, "clutter_density must be positive"),
    ({"clutter_density": 0.0}, "clutter_density must be positive"),
    ({"clutter_density": np.array([0.1, 0.1])},
     r"clutter_density must be a scalar or of shape \(1,\) \(one per detection\)"),
]


@pytest.mark.parametrize(("change", "message"), WEIGHT_ERRORS)
def test_jpda_weights_bad_arguments(change: dict[str, object], message: str) -> None:
    kw = _good() | change
    with pytest.raises(ValueError, match="jpda_weights " + message):
        jpda_weights(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("option", "value"), [("max_exact", 21), ("max_exact", -1),
                                               ("max_exact", 2.0), ("lbp_tol", 0.0),
                                               ("lbp_tol", np.nan), ("lbp_max_iter", 0)])
def test_jpda_weights_bad_options(option: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"jpda_weights {option} must"):
        jpda_weights(**_good(), **{option: value})  # type: ignore[arg-type]


def _good_update() -> dict[str, np.ndarray | None]:
    n, d, m = 2, 4, 2
    P = np.broadcast_to(np.eye(d), (n, d, d)).copy()
    H = np.broadcast_to(np.eye(m, d), (n, m, d)).copy()
    R = np.broadcast_to(np.eye(m), (n, m, m)).copy()
    return dict(xp=np.zeros((n, d)), Pp=P, nu=np.ones((3, m)), H=H, S=H @ P @ H.mT + R, R=R,
                beta=np.array([0.5, 0.2, 0.9]), beta0=np.array([0.3, 0.1]),
                pair_track=np.array([0, 0, 1]))


UPDATE_ERRORS = [
    ({"xp": np.zeros(4)}, r"xp must be of shape \(N, d\)"),
    ({"Pp": np.zeros((2, 4, 3))}, r"Pp must be of shape \(2, 4, 4\)"),
    ({"nu": np.ones(3)}, r"nu must be of shape \(P, m\)"),
    ({"H": np.zeros((2, 3, 4))}, r"H must be of shape \(2, 2, 4\)"),
    ({"S": np.zeros((1, 2, 2))}, r"S must be of shape \(2, 2, 2\)"),
    ({"R": np.zeros((2, 3, 3))}, r"R must be of shape \(2, 2, 2\)"),
    ({"S": np.full((2, 2, 2), np.inf)}, "S must be finite"),
    ({"beta": np.array([0.5, 0.2])}, r"beta must be of shape \(3,\)"),
    ({"beta": np.array([0.5, 0.2, 1.5])}, r"beta must lie in \[0, 1\]"),
    ({"beta0": np.array([0.3])}, r"beta0 must be of shape \(2,\)"),
    ({"beta0": np.array([0.3, np.nan])}, r"beta0 must lie in \[0, 1\]"),
    ({"beta0": np.array([0.3, 0.5])}, "beta0 \\+ the sum of beta .* track row 1"),
    ({"pair_track": np.array([0, 0, 2])}, r"pair_track must lie in \[0, 2\)"),
    ({"pair_track": np.array([0, 1])}, r"pair_track must be of shape \(3,\)"),
]


@pytest.mark.parametrize(("change", "message"), UPDATE_ERRORS)
def test_pda_correct_bad_arguments(change: dict[str, object], message: str) -> None:
    kw = _good_update() | change
    pda_correct(**_good_update())              # the unchanged arguments are fine
    with pytest.raises(ValueError, match="pda_correct " + message):
        pda_correct(**kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ misc


def test_doctests() -> None:
    assert doctest.testmod(jpda).failed == 0


def test_public_names_are_exported() -> None:
    public = {name for name, value in vars(jpda).items()
              if not name.startswith("_") and callable(value)
              and getattr(value, "__module__", None) == jpda.__name__}
    assert public == set(jpda.__all__)
