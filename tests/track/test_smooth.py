"""Tests of skyfence.track.smooth against Stone Soup 1.9.1's Kalman smoothers and simulation.

The IMM smoother has no Stone Soup counterpart (1.9.1 ships no IMM); it is checked against
:func:`rts_smooth` where it must reduce to it, and on simulated manoeuvres.
"""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta

import numpy as np
import pytest
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
)
from stonesoup.models.transition.linear import (
    ConstantVelocity as SsCV,
)
from stonesoup.models.transition.nonlinear import ConstantTurnSandwich
from stonesoup.predictor.kalman import KalmanPredictor
from stonesoup.smoother.kalman import ExtendedKalmanSmoother, KalmanSmoother
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.hypothesis import SingleHypothesis
from stonesoup.types.prediction import GaussianStatePrediction
from stonesoup.types.state import GaussianState
from stonesoup.types.track import Track
from stonesoup.types.update import GaussianStateUpdate
from stonesoup.updater.kalman import KalmanUpdater

from skyfence.track import smooth as smooth_module
from skyfence.track.filters import ekf_update
from skyfence.track.imm import IMM, uniform_transition
from skyfence.track.measurement import MeasurementModel, Position, Radar3D
from skyfence.track.motion import ConstantVelocity, CoordinatedTurn, MotionModel
from skyfence.track.smooth import (
    imm_smooth,
    imm_smooth_tracks,
    pad_tracks,
    rts_smooth,
    rts_smooth_tracks,
)

T0 = datetime(2025, 7, 28, 2, 0, 0)
CV_PERM = [0, 3, 1, 4, 2, 5]  # Stone Soup CV [x, vx, y, vy, z, vz] = ours[CV_PERM]
CT_PERM = [0, 3, 2, 5, 1, 4, 6]  # ConstantTurnSandwich [x, vx, z, vz, y, vy, w] = ours[CT_PERM]


def rel(a: np.ndarray, b: np.ndarray, P: np.ndarray) -> float:
    """Largest error of means or covariances ``a`` against ``b`` in standard deviations of P.

    Means (T, N, d): ``max |a_i - b_i| / sqrt(P_ii)``; covariances (T, N, d, d):
    ``max |a_ij - b_ij| / sqrt(P_ii P_jj)`` (a relative error that small entries,
    velocities next to kilometre positions, cannot hide in).
    """
    sd = np.sqrt(np.diagonal(P, axis1=-2, axis2=-1))
    scale = sd if a.ndim == sd.ndim else sd[..., :, None] * sd[..., None, :]
    return float(np.max(np.abs(a - b) / scale))


def simulate(
    rng: np.random.Generator, motion: MotionModel, times: np.ndarray, x0: np.ndarray
) -> np.ndarray:
    """Truth (T, N, d) from x0 (N, d) along per-track times (T, N), noise from motion."""
    out = [x0]
    for k in range(1, times.shape[0]):
        dt = times[k] - times[k - 1]
        Q = motion.noise(dt, out[-1])
        w, V = np.linalg.eigh(Q)  # Q may be singular (e.g. the turn rate's own noise)
        noise = V @ (np.sqrt(np.clip(w, 0.0, None)) * rng.normal(size=w.shape))[:, :, None]
        out.append(motion.transition(out[-1], dt) + noise[:, :, 0])
    return np.stack(out)


def run_filter(motion: MotionModel, times, z, R, x0, P0):
    """Our EKF, batched over tracks: filtered and predicted moments at every row."""
    n = z.shape[1]
    Rb = np.broadcast_to(R, (n, 3, 3))
    xp, Pp = np.array(x0, dtype=float), np.array(P0, dtype=float)
    xf, Pf, xps, Pps = [], [], [], []
    for k in range(times.shape[0]):
        if k:
            xp, Pp = motion.predict(xf[-1], Pf[-1], times[k] - times[k - 1])
        x, P, _, _ = ekf_update(xp, Pp, z[k], Position(), None, None, Rb)
        xps.append(xp)
        Pps.append(Pp)
        xf.append(x)
        Pf.append(P)
    return np.stack(xf), np.stack(Pf), np.stack(xps), np.stack(Pps)


def track_times(rng: np.random.Generator, T: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Irregular per-track times (T, n), whole microseconds, and the microseconds."""
    steps = rng.integers(300_000, 2_500_000, (T - 1, n))
    us = np.concatenate([np.zeros((1, n), dtype=np.int64), np.cumsum(steps, axis=0)])
    return us / 1e6, us


def test_doctests() -> None:
    assert doctest.testmod(smooth_module).failed == 0


# ------------------------------------------------------------ vs Stone Soup


def test_linear_matches_stonesoup_kalman_smoother() -> None:
    rng = np.random.default_rng(1)
    T, n = 20, 4
    q, qv = 1.5, 0.2
    cv = ConstantVelocity(q=q, q_vertical=qv)
    times, us = track_times(rng, T, n)
    x0 = np.column_stack(
        [rng.uniform(-5e3, 5e3, (n, 2)), rng.uniform(100, 800, n), rng.normal(0, 15, (n, 3))]
    )
    truth = simulate(rng, cv, times, x0)
    sig = np.array([20.0, 25.0, 40.0])
    R = np.diag(sig**2)
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    prior_x = np.column_stack([z[0], np.zeros((n, 3))])
    prior_P = np.diag([900.0, 900.0, 2500.0, 400.0, 400.0, 100.0])
    xf, Pf, _, _ = run_filter(cv, times, z, R, prior_x, np.broadcast_to(prior_P, (n, 6, 6)))
    xs, Ps = rts_smooth(xf, Pf, times, cv)

    ss_cv = CombinedLinearGaussianTransitionModel([SsCV(q), SsCV(q), SsCV(qv)])
    meas = LinearGaussian(ndim_state=6, mapping=(0, 2, 4), noise_covar=CovarianceMatrix(R))
    predictor, updater = KalmanPredictor(ss_cv), KalmanUpdater(meas)
    p = np.ix_(CV_PERM, CV_PERM)
    inv = np.argsort(CV_PERM)
    ss_f, ss_s = [], []
    for i in range(n):
        state = GaussianState(StateVector(prior_x[i][CV_PERM]), CovarianceMatrix(prior_P[p]), T0)
        track = Track()
        for k in range(T):
            stamp = T0 + timedelta(microseconds=int(us[k, i]))
            prediction = predictor.predict(state, timestamp=stamp)
            detection = Detection(StateVector(z[k, i]), timestamp=stamp, measurement_model=meas)
            state = updater.update(SingleHypothesis(prediction, detection))
            track.append(state)
        smoothed = KalmanSmoother(ss_cv).smooth(track)
        ss_f.append(
            [(np.ravel(s.state_vector)[inv], np.asarray(s.covar)[np.ix_(inv, inv)]) for s in track]
        )
        ss_s.append(
            [
                (np.ravel(s.state_vector)[inv], np.asarray(s.covar)[np.ix_(inv, inv)])
                for s in smoothed
            ]
        )
    xf_ss = np.array([[m for m, _ in row] for row in ss_f]).swapaxes(0, 1).astype(float)
    Pf_ss = np.array([[c for _, c in row] for row in ss_f]).swapaxes(0, 1).astype(float)
    xs_ss = np.array([[m for m, _ in row] for row in ss_s]).swapaxes(0, 1).astype(float)
    Ps_ss = np.array([[c for _, c in row] for row in ss_s]).swapaxes(0, 1).astype(float)

    assert rel(Pf, Pf_ss, Pf_ss) < 1e-10 and rel(xf, xf_ss, Pf_ss) < 1e-10  # same filter
    assert rel(Ps, Ps_ss, Ps_ss) < 1e-8
    assert rel(xs, xs_ss, Ps_ss) < 1e-8
    assert not np.allclose(Ps, Pf)  # the smoother did something


class AnalyticConstantTurnSandwich(ConstantTurnSandwich):
    """Stone Soup's constant turn with our closed-form Jacobian (in its state order).

    Stone Soup's own (finite-difference) Jacobian steps by max(1e8 ulp, 1e-8): only
    1e-8 for negative entries, too small for coordinates of kilometres.
    """

    def jacobian(self, state, **kwargs):  # type: ignore[no-untyped-def]
        ct = CoordinatedTurn(q=1.0, q_w=1.0)  # the Jacobian does not depend on the noise
        inv = np.argsort(CT_PERM)
        x = np.ravel(np.asarray(state.state_vector, dtype=float))[inv]
        F = ct.jacobian(x[None], kwargs["time_interval"].total_seconds())[0]
        return F[np.ix_(CT_PERM, CT_PERM)]


def test_extended_matches_stonesoup_extended_kalman_smoother() -> None:
    # Our EKF writes the track (its predictions included); Stone Soup's EKS smooths it.
    rng = np.random.default_rng(2)
    T, n = 25, 3
    ct = CoordinatedTurn(q=0.5, q_w=0.003, q_vertical=0.1)
    times, us = track_times(rng, T, n)
    x0 = np.column_stack(
        [
            rng.uniform(-5e3, 5e3, (n, 2)),
            rng.uniform(100, 800, n),
            rng.normal(0, 20, (n, 3)),
            rng.uniform(-0.08, 0.08, n),
        ]
    )
    truth = simulate(rng, ct, times, x0)
    sig = np.array([15.0, 15.0, 30.0])
    R = np.diag(sig**2)
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    prior_x = np.column_stack([z[0], np.zeros((n, 3)), np.zeros(n)])
    prior_P = np.diag([225.0, 225.0, 900.0, 400.0, 400.0, 100.0, 0.01])
    xf, Pf, xp, Pp = run_filter(ct, times, z, R, prior_x, np.broadcast_to(prior_P, (n, 7, 7)))
    xs, Ps = rts_smooth(xf, Pf, times, ct)

    ss_ct = AnalyticConstantTurnSandwich(
        linear_noise_coeffs=np.array([0.5, 0.5]), turn_noise_coeff=0.003, model_list=[SsCV(0.1)]
    )
    meas = LinearGaussian(ndim_state=7, mapping=(0, 4, 2), noise_covar=CovarianceMatrix(R))
    p = np.ix_(CT_PERM, CT_PERM)
    inv = np.argsort(CT_PERM)
    xs_ss, Ps_ss = np.empty_like(xs), np.empty_like(Ps)
    for i in range(n):
        track = Track()
        for k in range(T):
            stamp = T0 + timedelta(microseconds=int(us[k, i]))
            prediction = GaussianStatePrediction(
                StateVector(xp[k, i][CT_PERM]), CovarianceMatrix(Pp[k, i][p]), timestamp=stamp
            )
            detection = Detection(StateVector(z[k, i]), timestamp=stamp, measurement_model=meas)
            track.append(
                GaussianStateUpdate(
                    StateVector(xf[k, i][CT_PERM]),
                    CovarianceMatrix(Pf[k, i][p]),
                    hypothesis=SingleHypothesis(prediction, detection),
                    timestamp=stamp,
                )
            )
        smoothed = ExtendedKalmanSmoother(ss_ct).smooth(track)
        for k, s in enumerate(smoothed):
            xs_ss[k, i] = np.ravel(s.state_vector)[inv]
            Ps_ss[k, i] = np.asarray(s.covar, dtype=float)[np.ix_(inv, inv)]
    assert rel(Ps, Ps_ss, Ps_ss) < 1e-8
    assert rel(xs, xs_ss, Ps_ss) < 1e-8


# ------------------------------------------------------------ simulation


@pytest.mark.parametrize("model", ["cv", "ct"])
def test_smoothed_rmse_below_filtered(model: str) -> None:
    rng = np.random.default_rng(3)
    T, n = 40, 300
    times = np.broadcast_to(np.arange(T, dtype=float)[:, None], (T, n))
    x0 = np.column_stack(
        [rng.uniform(-5e3, 5e3, (n, 2)), rng.uniform(100, 800, n), rng.normal(0, 15, (n, 3))]
    )
    if model == "cv":
        motion: MotionModel = ConstantVelocity(q=1.0, q_vertical=0.1)
        P0 = np.diag([400.0, 400.0, 1600.0, 400.0, 400.0, 100.0])
    else:
        motion = CoordinatedTurn(q=0.2, q_w=1e-4, q_vertical=0.1)
        x0 = np.column_stack([x0, rng.uniform(-0.1, 0.1, n)])
        P0 = np.diag([400.0, 400.0, 1600.0, 400.0, 400.0, 100.0, 0.01])
    d = motion.ndim
    truth = simulate(rng, motion, times, x0)
    sig = np.array([20.0, 20.0, 40.0])
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    prior = np.zeros((n, d))
    prior[:, :3] = z[0]
    xf, Pf, _, _ = run_filter(
        motion, times, z, np.diag(sig**2), prior, np.broadcast_to(P0, (n, d, d))
    )
    xs, Ps = rts_smooth(xf, Pf, times, motion)

    def rmse(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.sum((x[:, :, :3] - truth[:, :, :3]) ** 2, axis=-1))))

    assert rmse(xs) < 0.8 * rmse(xf)
    assert np.all(np.trace(Ps, axis1=2, axis2=3) <= np.trace(Pf, axis1=2, axis2=3) + 1e-9)
    if model == "cv":  # consistent covariance: average NEES ≈ d (the EKF's CT is optimistic)
        err = (xs - truth)[..., None]
        nees = float(np.mean(np.swapaxes(err, -1, -2) @ np.linalg.solve(Ps, err)))
        assert 0.8 * d < nees < 1.25 * d


# ------------------------------------------------------------ ragged tracks


def test_ragged_tracks_and_holes_match_one_by_one() -> None:
    rng = np.random.default_rng(4)
    cv = ConstantVelocity(q=0.5)
    lengths = [7, 1, 12, 0, 4]
    times, means, covs = [], [], []
    for n_rows in lengths:
        t = np.cumsum(rng.uniform(0.5, 2.0, n_rows))
        x = rng.normal(0, 100, (n_rows, 6))
        A = rng.normal(size=(n_rows, 6, 6))
        times.append(t)
        means.append(x)
        covs.append(A @ np.swapaxes(A, 1, 2) + np.eye(6))
    snapshot = [a.copy() for a in means + covs + times]
    xs, Ps = rts_smooth_tracks(times, means, covs, cv)
    for a, b in zip(snapshot, means + covs + times, strict=True):
        np.testing.assert_array_equal(a, b)  # inputs untouched
    for t, x, P, x_s, P_s in zip(times, means, covs, xs, Ps, strict=True):
        assert x_s.shape == x.shape and P_s.shape == P.shape
        if len(t) == 0:
            continue
        one_x, one_P = rts_smooth(x[:, None], P[:, None], t, cv)
        np.testing.assert_allclose(x_s, one_x[:, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(P_s, one_P[:, 0], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(x_s[-1], x[-1])  # last row = filtered
    assert rts_smooth_tracks([], [], [], cv) == ([], [])

    # Holes and a late start in the padded layout equal the compacted track.
    t_pad, x_pad, P_pad, valid = pad_tracks(times, means, covs)
    assert valid.sum(axis=0).tolist() == lengths
    T = t_pad.shape[0]
    spread = np.full((2 * T + 1, t_pad.shape[1]), np.nan)
    x_spread = np.full((2 * T + 1,) + x_pad.shape[1:], np.nan)
    P_spread = np.full((2 * T + 1,) + P_pad.shape[1:], np.nan)
    spread[1::2], x_spread[1::2], P_spread[1::2] = t_pad, x_pad, P_pad
    x_h, P_h = rts_smooth(x_spread, P_spread, spread, cv)
    assert np.isnan(x_h[0::2]).all() and np.isnan(P_h[0::2]).all()
    for i, n_rows in enumerate(lengths):
        np.testing.assert_allclose(x_h[1 : 2 * n_rows : 2, i], xs[i], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(P_h[1 : 2 * n_rows : 2, i], Ps[i], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ bad input


def test_bad_inputs_are_named() -> None:
    cv = ConstantVelocity(q=1.0)
    x = np.zeros((3, 2, 6))
    P = np.broadcast_to(np.eye(6), (3, 2, 6, 6))
    with pytest.raises(ValueError, match=r"x_f of shape \(T, N, 6\)"):
        rts_smooth(np.zeros((3, 2, 7)), P, np.arange(3.0), cv)
    with pytest.raises(ValueError, match=r"P_f of shape \(3, 2, 6, 6\)"):
        rts_smooth(x, P[..., :5], np.arange(3.0), cv)
    with pytest.raises(ValueError, match=r"times of shape \(3, 2\) or \(3,\)"):
        rts_smooth(x, P, np.arange(4.0), cv)
    with pytest.raises(ValueError, match="track 1 goes back in time after row 0"):
        rts_smooth(x, P, np.array([[0.0, 5.0], [1.0, 4.0], [2.0, 6.0]]), cv)
    with pytest.raises(ValueError, match="finite times, x_f and P_f in every valid row"):
        rts_smooth(np.full((3, 2, 6), np.nan), P, np.arange(3.0), cv)
    with pytest.raises(ValueError, match=r"pad_tracks track 0"):
        pad_tracks([np.arange(3.0)], [np.zeros((2, 6))], [np.zeros((3, 6, 6))])


# ------------------------------------------------------------ IMM smoothing


def test_public_names() -> None:
    assert smooth_module.__all__ == [
        "IMMSmoothed",
        "imm_smooth",
        "imm_smooth_tracks",
        "pad_tracks",
        "rts_smooth",
        "rts_smooth_tracks",
    ]


def run_imm(imm: IMM, times, z, meas: MeasurementModel, site, R, x0, P0, mu0, transition=None):
    """IMM filter batched over tracks: update with row 0, then predict/update per row.

    ``transition``: None (the IMM's own) or a function of the steps (N,) -> (N, M, M).
    Returns the filtered x (T, N, M, D), P (T, N, M, D, D), mu (T, N, M).
    """
    x, P, mu = imm.initiate(x0, P0, mu0)
    xs, Ps, mus = [], [], []
    for k in range(times.shape[0]):
        if k:
            dt = times[k] - times[k - 1]
            pi = None if transition is None else transition(dt)
            x, P, mu = imm.predict(x, P, mu, dt, transition=pi)
        x, P, mu, *_ = imm.update(x, P, mu, z[k], meas, site, None, R)
        xs.append(x)
        Ps.append(P)
        mus.append(mu)
    return np.stack(xs), np.stack(Ps), np.stack(mus)


def cv_ct_imm(q: float = 0.01) -> IMM:
    """CV + CT tuned for straight flight (as in test_imm): the CT model takes the turns."""
    return IMM(
        [ConstantVelocity(q), CoordinatedTurn(q, 1e-4)],
        uniform_transition(0.95, 2, 1.0)[0],
        embed_var={"w": 0.05**2},
    )


def stay(dt: np.ndarray) -> np.ndarray:
    """Per-step transition matrices of cv_ct_imm for steps of dt seconds."""
    return uniform_transition(0.95, 2, dt)


@pytest.mark.parametrize("model", ["cv", "ct"])
def test_imm_smooth_with_one_model_is_rts_smooth(model: str) -> None:
    rng = np.random.default_rng(11)
    T, n = 25, 4
    times, _ = track_times(rng, T, n)
    if model == "cv":
        motion: MotionModel = ConstantVelocity(q=0.5, q_vertical=0.1)
        x0 = np.zeros((n, 6))
        P0 = np.diag([400.0, 400.0, 900.0, 100.0, 100.0, 25.0])
    else:
        motion = CoordinatedTurn(q=0.5, q_w=0.003, q_vertical=0.1)
        x0 = np.zeros((n, 7))
        x0[:, 6] = rng.uniform(-0.08, 0.08, n)
        P0 = np.diag([400.0, 400.0, 900.0, 100.0, 100.0, 25.0, 0.01])
    d = motion.ndim
    x0[:, :3] = rng.uniform(-3e3, 3e3, (n, 3))
    x0[:, 3:6] = rng.normal(0, 15, (n, 3))
    truth = simulate(rng, motion, times, x0)
    sig = np.array([15.0, 15.0, 30.0])
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    prior = x0 + rng.normal(size=(n, d)) * np.sqrt(np.diag(P0))
    xf, Pf, _, _ = run_filter(
        motion, times, z, np.diag(sig**2), prior, np.broadcast_to(P0, (n, d, d))
    )
    xs, Ps = rts_smooth(xf, Pf, times, motion)

    imm = IMM([motion], [[1.0]])
    out = imm_smooth(xf[:, :, None], Pf[:, :, None], np.ones((T, n, 1)), times, imm)
    assert rel(out.x, xs, Ps) < 1e-10 and rel(out.P, Ps, Ps) < 1e-10
    assert rel(out.x_models[:, :, 0], xs, Ps) < 1e-10
    assert np.array_equal(out.mu, np.ones((T, n, 1)))


def test_identical_models_keep_the_filtered_probabilities() -> None:
    # Two copies of one model, started from identical states: the measurements cannot tell
    # them apart, so the filtered probabilities are the Markov chain's prior ones,
    # mu[k+1] = Πᵀ mu[k], and the smoothed ones must equal them (no information about the
    # mode in any data), while the track estimate is the single-model EKF's and its RTS.
    rng = np.random.default_rng(12)
    T, n = 30, 5
    times, _ = track_times(rng, T, n)
    cv = ConstantVelocity(q=0.8, q_vertical=0.2)
    pi = np.array([[0.9, 0.1], [0.3, 0.7]])
    imm = IMM([cv, ConstantVelocity(q=0.8, q_vertical=0.2)], pi)
    x0 = np.column_stack([rng.uniform(-3e3, 3e3, (n, 3)), rng.normal(0, 15, (n, 3))])
    truth = simulate(rng, cv, times, x0)
    sig = np.array([15.0, 15.0, 30.0])
    R = np.diag(sig**2)
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    P0 = np.broadcast_to(np.diag([400.0, 400.0, 900.0, 100.0, 100.0, 25.0]), (n, 6, 6))
    prior = x0 + rng.normal(size=(n, 6)) * 10.0
    mu0 = [0.05, 0.95]  # far from the stationary [0.75, 0.25]: the probabilities drift
    xf, Pf, muf = run_imm(imm, times, z, Position(), None, R, prior, P0, mu0)
    ekf_x, ekf_P, _, _ = run_filter(cv, times, z, R, prior, P0)

    # What the forward filter did.
    assert rel(xf[:, :, 1], xf[:, :, 0], Pf[:, :, 0]) < 1e-10
    prior_mu = np.stack([np.linalg.matrix_power(pi.T, k) @ mu0 for k in range(T)])
    np.testing.assert_allclose(muf, np.broadcast_to(prior_mu[:, None], muf.shape), atol=1e-12)
    assert muf[-1, 0, 0] > 0.7  # from 0.05

    out = imm_smooth(xf, Pf, muf, times, imm)
    np.testing.assert_allclose(out.mu, muf, rtol=0, atol=1e-12)
    xs, Ps = rts_smooth(ekf_x, ekf_P, times, cv)
    assert rel(out.x, xs, Ps) < 1e-10 and rel(out.P, Ps, Ps) < 1e-10
    for i in range(2):
        assert rel(out.x_models[:, :, i], xs, Ps) < 1e-10
        assert rel(out.P_models[:, :, i], Ps, Ps) < 1e-10


def turn_truth(
    legs: tuple[int, int, int] = (40, 36, 40), rate_deg_s: float = 5.0, speed: float = 30.0
) -> np.ndarray:
    """Truth [x, y, z, vx, vy, vz] at 1 s steps: straight east, a left turn, straight west."""
    ct = CoordinatedTurn(q=1.0, q_w=1.0)  # noise-free transition only
    rates = np.repeat([0.0, np.radians(rate_deg_s), 0.0], legs)
    x = np.array([[-1500.0, -800.0, 300.0, speed, 0.0, 0.0, 0.0]])
    out = [x[0, :6]]
    for w in rates:
        x[0, 6] = w
        x = ct.transition(x, 1.0)
        out.append(x[0, :6])
    return np.array(out)


def test_turn_truth_turns_left_through_180_degrees() -> None:
    truth = turn_truth()
    assert np.allclose(np.linalg.norm(truth[:, 3:5], axis=1), 30.0)
    assert np.allclose(truth[40, 3:5], [30.0, 0.0]) and np.allclose(truth[-1, 3:5], [-30.0, 0.0])
    assert truth[76, 1] - truth[40, 1] > 600.0  # a 5°/s turn at 30 m/s: radius 344 m


def test_imm_smoothing_of_a_manoeuvre_beats_the_filter() -> None:
    truth = turn_truth()
    steps, n = truth.shape[0], 60  # Monte Carlo runs, filtered and smoothed as one batch
    rng = np.random.default_rng(2026)
    meas = Radar3D(False)
    sig = np.array([8.0, 0.004, 0.004])  # m, rad, rad: ~10 m across at 2-3 km
    site = np.array([500.0, -2500.0, 20.0])
    R = meas.covariance(np.tile(sig, (n, 1)))
    z = meas.h(np.repeat(truth, n, axis=0), site, None).reshape(steps, n, 3)
    z = z + rng.normal(size=z.shape) * sig
    z[..., 1] = np.mod(z[..., 1], 2 * np.pi)
    imm = cv_ct_imm()
    x0 = np.zeros((n, 7))
    x0[:, :6] = truth[0] + rng.normal(size=(n, 6)) * [10.0, 10.0, 10.0, 3.0, 3.0, 1.0]
    P0 = np.broadcast_to(np.diag([100.0] * 3 + [9.0, 9.0, 1.0] + [0.05**2]), (n, 7, 7))
    times = np.broadcast_to(np.arange(steps, dtype=float)[:, None], (steps, n))
    xf, Pf, muf = run_imm(imm, times, z, meas, site, R, x0, P0, [0.9, 0.1], transition=stay)
    out = imm_smooth(xf, Pf, muf, times, imm, transition=stay)
    x_filt = np.stack([imm.combine(xf[k], Pf[k], muf[k])[0] for k in range(steps)])

    def rmse(x: np.ndarray, a: int = 0, b: int = steps) -> float:
        err = x[a:b, :, :3] - truth[a:b, None, :3]
        return float(np.sqrt(np.mean(np.sum(err**2, axis=-1))))

    # Measured (position RMSE, filtered -> smoothed): 7.8 -> 3.9 m overall, 8.5 -> 4.2 m
    # through the turn (rows 40-80), 6.8 -> 3.1 m on the first leg (rows 10-40).  Kim's
    # backward pass alone (no correction for the filter's mixed prediction) gives 9.8, 9.9
    # and 14.1 m here: worse than the filter, as the stiff CV model's conditioned states
    # are smoothed into a straight line through the turn.
    assert rmse(out.x) < 0.6 * rmse(x_filt)
    assert rmse(out.x, 40, 80) < 0.65 * rmse(x_filt, 40, 80)
    assert rmse(out.x, 10, 40) < 0.65 * rmse(x_filt, 10, 40)
    # Smoothed covariances stay positive definite and shrink on average.
    assert np.all(np.linalg.eigvalsh(out.P) > 0.0)
    assert np.mean(np.trace(out.P[..., :3, :3], axis1=2, axis2=3)) < np.mean(
        np.trace(imm.combine(xf[50], Pf[50], muf[50])[1][:, :3, :3], axis1=1, axis2=2)
    )

    # Mode probabilities: smoothing makes them decisive.  Measured means of P(CT) over the
    # runs and rows 10-38 / 44-76 / 80-116 (first leg / turn / last leg): filtered 0.26 /
    # 0.82 / 0.28, smoothed 0.03 / 0.98 / 0.06; the smoothed one stays above 0.90 in the turn.
    ct_f, ct_s = muf[:, :, 1].mean(axis=1), out.mu[:, :, 1].mean(axis=1)
    turn = slice(44, 76)  # inside the turn (rows 40-76), past its onset
    assert ct_s[turn].mean() > 0.9 and ct_s[turn].mean() > ct_f[turn].mean() + 0.1
    assert ct_s[turn].min() > 0.7
    assert ct_s[10:38].mean() < 0.15 and ct_s[80:].mean() < 0.2
    assert np.allclose(out.mu.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    # The smoothed turn rate of the CT model follows the truth through the turn.
    w_ct = out.x_models[turn, :, 1, 6].mean()
    assert abs(w_ct - np.radians(5.0)) < np.radians(0.5)
    # The last row is the filtered one.
    np.testing.assert_array_equal(out.x_models[-1], xf[-1])
    np.testing.assert_array_equal(out.mu[-1], muf[-1])


def imm_tracks(rng: np.random.Generator, lengths: list[int]):
    """Filtered CV + CT tracks of the given lengths at irregular times (lists per track)."""
    n, T = len(lengths), max(lengths)
    times, _ = track_times(rng, T, n)
    ct = CoordinatedTurn(q=0.5, q_w=0.002, q_vertical=0.1)
    x0 = np.column_stack(
        [
            rng.uniform(-3e3, 3e3, (n, 2)),
            rng.uniform(100, 500, n),
            rng.normal(0, 15, (n, 3)),
            rng.uniform(-0.1, 0.1, n),
        ]
    )
    truth = simulate(rng, ct, times, x0)
    sig = np.array([15.0, 15.0, 30.0])
    z = truth[:, :, :3] + rng.normal(size=(T, n, 3)) * sig
    imm = cv_ct_imm(q=0.5)
    prior = np.column_stack([z[0], np.zeros((n, 4))])
    P0 = np.broadcast_to(np.diag([225.0, 225.0, 900.0, 400.0, 400.0, 100.0, 0.0025]), (n, 7, 7))
    xf, Pf, muf = run_imm(
        imm, times, z, Position(), None, np.diag(sig**2), prior, P0, [0.5, 0.5], transition=stay
    )
    # Track i keeps its first lengths[i] rows (a filter's output does not depend on later rows).
    return imm, [
        (times[:m, i], xf[:m, i], Pf[:m, i], muf[:m, i]) for i, m in enumerate(lengths)
    ]


def test_imm_valid_mask_late_starts_and_holes_match_one_by_one() -> None:
    rng = np.random.default_rng(13)
    lengths = [9, 1, 14, 0, 5, 2]
    imm, tracks = imm_tracks(rng, lengths)

    # One by one.
    alone = []
    for t, x, P, mu in tracks:
        if len(t) == 0:
            alone.append(None)
            continue
        out = imm_smooth(x[:, None], P[:, None], mu[:, None], t, imm, transition=stay)
        alone.append(out)
        np.testing.assert_array_equal(out.x_models[-1, 0], x[-1])

    # The list convenience.
    xs, Ps, mus = imm_smooth_tracks(
        [t for t, *_ in tracks],
        [x for _, x, _, _ in tracks],
        [P for _, _, P, _ in tracks],
        [mu for *_, mu in tracks],
        imm,
        transition=stay,
    )
    for one, x_s, P_s, mu_s, m in zip(alone, xs, Ps, mus, lengths, strict=True):
        assert x_s.shape == (m, 7) and P_s.shape == (m, 7, 7) and mu_s.shape == (m, 2)
        if one is not None:
            np.testing.assert_allclose(x_s, one.x[:, 0], rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(P_s, one.P[:, 0], rtol=1e-12, atol=1e-9)
            np.testing.assert_allclose(mu_s, one.mu[:, 0], rtol=0, atol=1e-12)
    assert imm_smooth_tracks([], [], [], [], imm) == ([], [], [])

    # Late starts and holes: track i starts at row 2 i and has a hole after every row; the
    # invalid rows hold garbage (not NaN), which must never be read.
    n, T = len(tracks), 2 * max(lengths) + 2 * len(tracks)
    t_pad = np.full((T, n), 1e9)
    x_pad = np.full((T, n, 2, 7), 5e3)
    P_pad = np.full((T, n, 2, 7, 7), -1.0)
    mu_pad = np.full((T, n, 2), 7.0)
    valid = np.zeros((T, n), dtype=bool)
    rows = []
    for i, (t, x, P, mu) in enumerate(tracks):
        r = 2 * i + 2 * np.arange(len(t))
        t_pad[r, i], x_pad[r, i], P_pad[r, i], mu_pad[r, i], valid[r, i] = t, x, P, mu, True
        rows.append(r)
    out = imm_smooth(x_pad, P_pad, mu_pad, t_pad, imm, transition=stay, valid=valid)
    for array in out:
        assert np.isnan(array[~valid]).all()
    for i, (one, r) in enumerate(zip(alone, rows, strict=True)):
        if one is None:
            continue
        for got, want in zip(out, one, strict=True):
            np.testing.assert_allclose(got[r, i], want[:, 0], rtol=1e-12, atol=1e-9)


def test_imm_smooth_does_not_modify_its_inputs() -> None:
    rng = np.random.default_rng(14)
    imm, tracks = imm_tracks(rng, [6, 6, 6])
    t = np.stack([tr[0] for tr in tracks], axis=1)
    x = np.stack([tr[1] for tr in tracks], axis=1)
    P = np.stack([tr[2] for tr in tracks], axis=1)
    mu = np.stack([tr[3] for tr in tracks], axis=1)
    valid = np.ones(t.shape, dtype=bool)
    valid[2, 1] = False
    arrays = [x, P, mu, t, valid]
    snapshot = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)  # any write raises
    seen = []

    def transition(dt: np.ndarray) -> np.ndarray:
        seen.append(dt)
        return stay(dt)

    out = imm_smooth(x, P, mu, t, imm, transition=transition, valid=valid)
    for a, b in zip(snapshot, arrays, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(seen) == 5 and np.all(np.concatenate(seen) > 0.0)
    assert all(np.isfinite(a[valid]).all() for a in out)


def test_imm_smooth_bad_inputs_are_named() -> None:
    imm = cv_ct_imm()
    T, n = 3, 2
    x = np.zeros((T, n, 2, 7))
    P = np.broadcast_to(np.eye(7), (T, n, 2, 7, 7))
    mu = np.full((T, n, 2), 0.5)
    t = np.arange(3.0)
    with pytest.raises(ValueError, match=r"x_f of shape \(T, N, 2, 7\)"):
        imm_smooth(np.zeros((T, n, 2, 6)), P, mu, t, imm)
    with pytest.raises(ValueError, match=r"x_f of shape"):
        imm_smooth(np.zeros((T, n, 7)), P, mu, t, imm)
    with pytest.raises(ValueError, match=r"P_f of shape \(3, 2, 2, 7, 7\)"):
        imm_smooth(x, P[..., :6], mu, t, imm)
    with pytest.raises(ValueError, match=r"mu_f of shape \(3, 2, 2\)"):
        imm_smooth(x, P, mu[..., :1], t, imm)
    with pytest.raises(ValueError, match=r"times of shape \(3, 2\) or \(3,\)"):
        imm_smooth(x, P, mu, np.arange(4.0), imm)
    with pytest.raises(ValueError, match=r"valid as booleans of shape \(3, 2\)"):
        imm_smooth(x, P, mu, t, imm, valid=np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"transition of shape \(2, 2\)"):
        imm_smooth(x, P, mu, t, imm, transition=np.eye(3))
    with pytest.raises(ValueError, match=r"transition to be an \(2, 2\) array"):
        imm_smooth(x, P, mu, t, imm, transition=[["a", "b"], ["c", "d"]])
    with pytest.raises(ValueError, match=r"transition rows to sum to 1"):
        imm_smooth(x, P, mu, t, imm, transition=[[0.9, 0.2], [0.1, 0.9]])
    with pytest.raises(ValueError, match=r"transition\(dt\) to return shape \(2, 2, 2\)"):
        imm_smooth(x, P, mu, t, imm, transition=lambda dt: np.eye(2))
    with pytest.raises(ValueError, match=r"transition\(dt\) entries to be probabilities"):
        imm_smooth(x, P, mu, t, imm, transition=lambda dt: np.full((dt.size, 2, 2), -0.5))
    with pytest.raises(ValueError, match="mu_f to hold model probabilities"):
        imm_smooth(x, P, np.full((T, n, 2), 0.7), t, imm)
    with pytest.raises(ValueError, match="finite times, x_f, P_f and mu_f"):
        imm_smooth(np.full((T, n, 2, 7), np.nan), P, mu, t, imm)
    with pytest.raises(ValueError, match="track 1 goes back in time after row 0"):
        imm_smooth(x, P, mu, np.array([[0.0, 5.0], [1.0, 4.0], [2.0, 6.0]]), imm)
    with pytest.raises(ValueError, match="imm to be an IMM"):
        imm_smooth(x, P, mu, t, ConstantVelocity(1.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="as many times as means, covariances and probabilities"):
        imm_smooth_tracks([t], [x[:, 0]], [], [mu[:, 0]], imm)
    with pytest.raises(ValueError, match=r"track 0: expected means of shape \(3, 2, 7\)"):
        imm_smooth_tracks([t], [x[:, 0, 0]], [P[:, 0]], [mu[:, 0]], imm)
    with pytest.raises(ValueError, match=r"track 0: expected probabilities of shape \(3, 2\)"):
        imm_smooth_tracks([t], [x[:, 0]], [P[:, 0]], [mu[:2, 0]], imm)
    with pytest.raises(ValueError, match=r"track 0: expected times of shape \(T_i,\)"):
        imm_smooth_tracks([t[:, None]], [x[:, 0]], [P[:, 0]], [mu[:, 0]], imm)
