"""Tests of skyfence.track.smooth against Stone Soup 1.9.1's Kalman smoothers and simulation."""

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
from skyfence.track.measurement import Position
from skyfence.track.motion import ConstantVelocity, CoordinatedTurn, MotionModel
from skyfence.track.smooth import pad_tracks, rts_smooth, rts_smooth_tracks

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
