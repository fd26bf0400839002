"""Tests of skyfence.eval.pcrlb: Stone Soup 1.9.1's PCRBMetric, the textbook cases, the KF."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from stonesoup.metricgenerator.pcrbmetric import PCRBMetric
from stonesoup.models.measurement.nonlinear import (
    CartesianToElevationBearingRange,
    CartesianToElevationBearingRangeRate,
)
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
)
from stonesoup.models.transition.linear import (
    ConstantVelocity as SsCV,
)
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.groundtruth import GroundTruthPath, GroundTruthState
from stonesoup.types.state import GaussianState

from skyfence.eval import pcrlb as pcrlb_module
from skyfence.eval.pcrlb import PcrlbSensor, pcrlb, position_rmse_bound, probability_within
from skyfence.track.filters import ekf_update
from skyfence.track.measurement import MeasurementModel, Position, Radar3D
from skyfence.track.motion import ConstantVelocity, CoordinatedTurn, MotionModel

T0 = datetime(2025, 7, 28, 2, 0, 0)
PERM = [0, 3, 1, 4, 2, 5]  # Stone Soup [x, vx, y, vy, z, vz] = ours[PERM]


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest error of covariances ``a`` against ``b`` in units of ``b``'s standard deviations.

    ``max |a_ij - b_ij| / sqrt(b_ii b_jj)``: a relative error that small entries
    (velocities next to kilometre positions) cannot hide in.
    """
    sd = np.sqrt(np.diagonal(b, axis1=-2, axis2=-1))
    return float(np.max(np.abs(a - b) / (sd[..., :, None] * sd[..., None, :])))


def cv_truth(rng: np.random.Generator, cv: ConstantVelocity, times: np.ndarray, n: int):
    """Random CV trajectories (T, n, 6): start in a 20 km box, process noise from cv."""
    x = np.zeros((n, 6))
    x[:, :2] = rng.uniform(-10_000.0, 10_000.0, (n, 2))
    x[:, 2] = rng.uniform(100.0, 1_500.0, n)
    x[:, 3:5] = rng.normal(0.0, 25.0, (n, 2))
    x[:, 5] = rng.normal(0.0, 2.0, n)
    out = [x]
    for dt in np.diff(times):
        L = np.linalg.cholesky(cv.noise(np.full(n, dt)))
        x = cv.transition(x, dt) + (L @ rng.normal(size=(n, 6, 1)))[:, :, 0]
        out.append(x)
    return np.stack(out)


def random_spd(rng: np.random.Generator, n: int, scale: np.ndarray) -> np.ndarray:
    d = scale.shape[0]
    A = rng.normal(size=(n, d, d))
    C = A @ np.swapaxes(A, 1, 2) / d + 0.5 * np.eye(d)
    return scale[:, None] * C * scale[None, :]


def test_doctests() -> None:
    assert doctest.testmod(pcrlb_module).failed == 0


# ------------------------------------------------------------ vs Stone Soup


class AnalyticElevationBearingRange(CartesianToElevationBearingRange):
    """Stone Soup's 3D radar model with Stone Soup's own closed-form Jacobian.

    ``CartesianToElevationBearingRange`` differentiates numerically with a step of
    ``max(1e8 * spacing(x), 1e-8)``, which is 1e-8 for every negative entry
    (``spacing(x) < 0`` there): about 1e-4 relative error in H for a coordinate of
    -4 km, 1e-7..1e-6 at best.  The first three rows of the range-rate model's
    analytic Jacobian are the same derivatives.
    """

    def jacobian(self, state, **kwargs):  # type: ignore[no-untyped-def]
        with_rate = CartesianToElevationBearingRangeRate(
            ndim_state=self.ndim_state,
            mapping=self.mapping,
            noise_covar=CovarianceMatrix(np.eye(4)),
            translation_offset=self.translation_offset,
            rotation_offset=self.rotation_offset,
            velocity_mapping=(1, 3, 5),
        )
        return with_rate.jacobian(state, **kwargs)[:3]


@pytest.mark.parametrize(("radial_velocity", "irf"), [(True, 1.0), (True, 0.7), (False, 1.0)])
def test_matches_stonesoup_pcrbmetric(radial_velocity: bool, irf: float) -> None:
    rng = np.random.default_rng(7 + int(radial_velocity) + int(10 * irf))
    n, T = 4, 25
    q, qv = 0.8, 0.2
    cv = ConstantVelocity(q=q, q_vertical=qv)
    steps_us = rng.integers(500_000, 3_000_000, T - 1)
    times_us = np.concatenate([[0], np.cumsum(steps_us)])
    times = times_us / 1e6
    truth = cv_truth(rng, cv, times, n)
    P0 = random_spd(rng, n, np.array([150.0, 150.0, 60.0, 12.0, 12.0, 4.0]))
    sites = np.array([[-2_000.0, 500.0, 20.0], [3_000.0, -4_000.0, 5.0]])

    # Stone Soup: same everything in its state order and measurement order.
    sigmas = {"range": 20.0, "az": 0.008, "el": 0.012, "rv": 0.7}
    angles = np.array([0.01, -0.02, 0.6])
    if radial_velocity:
        ss_cls, kw = CartesianToElevationBearingRangeRate, {"velocity_mapping": (1, 3, 5)}
        ss_sig = [sigmas["el"], sigmas["az"], sigmas["range"], sigmas["rv"]]
        our_sig = [sigmas["range"], sigmas["az"], sigmas["el"], sigmas["rv"]]
    else:
        ss_cls, kw = AnalyticElevationBearingRange, {}
        ss_sig = [sigmas["el"], sigmas["az"], sigmas["range"]]
        our_sig = [sigmas["range"], sigmas["az"], sigmas["el"]]
    ss_meas = ss_cls(
        ndim_state=6,
        mapping=(0, 2, 4),
        noise_covar=CovarianceMatrix(np.diag(np.square(ss_sig))),
        translation_offset=StateVector(np.zeros(3)),
        rotation_offset=StateVector(angles),
        **kw,
    )
    # Stone Soup 1.9.1 slices sensor_locations[:, i] into the translation offset; a
    # StateVectors column comes out 1-d and broadcasts wrongly in nonlinear models
    # (Stone-Soup issue #1269).  A (3, S, 1) array gives (3, 1) columns.
    ss_sites = np.asarray(sites.T, dtype=float)[:, :, None]
    ss_motion = CombinedLinearGaussianTransitionModel([SsCV(q), SsCV(q), SsCV(qv)])
    metrics = []
    for i in range(n):
        path = GroundTruthPath(
            [
                GroundTruthState(
                    StateVector(truth[k, i][PERM]), T0 + timedelta(microseconds=int(t))
                )
                for k, t in enumerate(times_us)
            ]
        )
        prior = GaussianState(
            StateVector(truth[0, i][PERM]), CovarianceMatrix(P0[i][np.ix_(PERM, PERM)]), T0
        )
        generator = PCRBMetric(
            prior=prior,
            transition_model=ss_motion,
            measurement_model=ss_meas,
            sensor_locations=ss_sites,
            velocity_mapping=(1, 3, 5),
            irf=irf,
        )
        manager = SimpleNamespace(states_sets={"groundtruth_paths": [path]})
        metrics.append(generator.compute_metric(manager)[0].value)

    # Ours: the same rotation (Stone Soup's rotation_matrix maps tracking to sensor axes).
    model = Radar3D(with_radial_velocity=radial_velocity)
    R = model.covariance([our_sig])[0]
    rot = np.asarray(ss_meas.rotation_matrix, dtype=float)
    sensors = [PcrlbSensor(model, site, rot, R, pd=irf) for site in sites]
    bounds = pcrlb(truth, times, cv, sensors, P0)

    ours_ss = bounds[:, :, PERM][:, :, :, PERM]  # (T, n, 6, 6) in Stone Soup order
    ss = np.stack([np.asarray(m["inverse_j"], dtype=float) for m in metrics], axis=1)
    assert ss.shape == ours_ss.shape
    assert rel(ours_ss, ss) < 1e-10
    ss_pos = np.stack([np.asarray(m["position_RMSE"], dtype=float) for m in metrics], axis=1)
    assert np.max(np.abs(position_rmse_bound(bounds) / ss_pos - 1.0)) < 1e-10
    # sanity: the sensors actually informed the bound
    assert np.all(position_rmse_bound(bounds)[-1] < 0.5 * position_rmse_bound(bounds)[0])


# ---------------------------------------------------------------- textbook


class Static1D(MotionModel):
    """A 1-d state that does not move and has no process noise."""

    @property
    def ndim(self) -> int:
        return 1

    def transition(self, x, dt):  # type: ignore[no-untyped-def]
        return np.array(x, dtype=float)

    def jacobian(self, x, dt):  # type: ignore[no-untyped-def]
        return np.ones((np.shape(x)[0], 1, 1))

    def noise(self, dt, x=None):  # type: ignore[no-untyped-def]
        return np.zeros((np.atleast_1d(dt).shape[0], 1, 1))


class Position1D(MeasurementModel):
    """Measures the (only) state component: h(x) = 2 x."""

    angle_mask = np.zeros(1, dtype=bool)
    min_state_dim = 1

    def h(self, x, site=None, rot=None):  # type: ignore[no-untyped-def]
        return 2.0 * np.asarray(x)[:, :1]

    def jacobian(self, x, site=None, rot=None):  # type: ignore[no-untyped-def]
        return np.full((np.shape(x)[0], 1, 1), 2.0)


def test_static_position_information_adds_up() -> None:
    T, n = 12, 3
    truth = np.zeros((T, n, 1))
    J0 = np.array([0.5, 2.0, 10.0])
    sigma = 4.0
    sensor = (Position1D(), None, None, [[sigma**2]])
    bounds = pcrlb(truth, np.arange(T) * 1.5, Static1D(), [sensor], (1.0 / J0)[:, None, None])
    k = np.arange(T)[:, None]
    info = J0[None, :] + k * 2.0**2 / sigma**2  # J_k = J_0 + k HᵀR⁻¹H
    np.testing.assert_allclose(bounds[:, :, 0, 0], 1.0 / info, rtol=1e-13)


def test_detection_probability_and_visibility() -> None:
    rng = np.random.default_rng(3)
    T, n = 15, 4
    truth = np.zeros((T, n, 1))
    pd_a = rng.uniform(0.0, 1.0, (T, n))
    vis_a = rng.uniform(size=(T, n)) < 0.6
    vis_b = rng.uniform(size=(T, 1)) < 0.5  # per time only: broadcasts over targets
    sensors = [
        (Position1D(), None, None, [[9.0]], pd_a, vis_a),
        PcrlbSensor(Position1D(), None, None, [[4.0]], pd=0.8, visible=vis_b),
    ]
    J0 = 0.25
    bounds = pcrlb(truth, np.arange(T), Static1D(), sensors, np.full((1, 1), 1.0 / J0))
    gain = pd_a * vis_a * 4.0 / 9.0 + 0.8 * vis_b * 4.0 / 4.0
    gain[0] = 0.0  # no measurement at the first time: the bound there is P0
    info = J0 + np.cumsum(gain, axis=0)
    np.testing.assert_allclose(bounds[:, :, 0, 0], 1.0 / info, rtol=1e-12)


def test_unseen_target_at_the_sensor_adds_nothing_and_no_nan() -> None:
    # A target sitting on the radar has an undefined Jacobian; masked out, it is harmless.
    cv = ConstantVelocity(q=0.1)
    site = np.array([100.0, 200.0, 10.0])
    truth = np.zeros((4, 2, 6))
    truth[:, 0, :3] = site
    truth[:, 1, :3] = [5_000.0, 0.0, 300.0]
    visible = np.array([[False, True]] * 4)
    R = Radar3D(False).covariance([[10.0, 0.01, 0.01]])[0]
    P0 = np.broadcast_to(np.diag([1e4, 1e4, 1e4, 100.0, 100.0, 100.0]), (2, 6, 6))
    bounds = pcrlb(truth, np.arange(4.0), cv, [(Radar3D(False), site, None, R, 1.0, visible)], P0)
    assert np.isfinite(bounds).all()
    no_sensor = pcrlb(truth, np.arange(4.0), cv, [], P0)
    np.testing.assert_allclose(bounds[:, 0], no_sensor[:, 0], rtol=1e-14)
    assert position_rmse_bound(bounds[-1, 1]) < position_rmse_bound(no_sensor[-1, 1])


def test_linear_gaussian_bound_is_the_kalman_covariance() -> None:
    # Linear dynamics and measurements: the PCRLB is the Kalman filter's covariance.
    rng = np.random.default_rng(11)
    cv = ConstantVelocity(q=2.0, q_vertical=0.3)
    T, n = 20, 6
    times = np.cumsum(np.concatenate([[0.0], rng.uniform(0.3, 2.0, T - 1)]))
    truth = cv_truth(rng, cv, times, n)
    P0 = random_spd(rng, n, np.array([80.0, 80.0, 30.0, 8.0, 8.0, 2.0]))
    R = Position().covariance([[15.0, 15.0, 25.0]])[0]
    R2 = Position().covariance([[40.0, 30.0, 60.0]])[0]
    sensors = [(Position(), None, None, R), (Position(), None, None, R2)]
    bounds = pcrlb(truth, times, cv, sensors, P0)

    x, P = truth[0], P0
    for k in range(1, T):
        x, P = cv.predict(x, P, times[k] - times[k - 1])
        for cov in (R, R2):
            x, P, _, _ = ekf_update(
                x, P, x[:, :3], Position(), None, None, np.broadcast_to(cov, (n, 3, 3))
            )
        assert rel(bounds[k], P) < 1e-9


def test_coordinated_turn_runs_and_tightens() -> None:
    ct = CoordinatedTurn(q=0.5, q_w=0.01)
    T, n = 30, 5
    rng = np.random.default_rng(5)
    x = np.zeros((n, 7))
    x[:, :2] = rng.uniform(-5_000.0, 5_000.0, (n, 2))
    x[:, 2] = 200.0
    x[:, 3:5] = rng.normal(0.0, 20.0, (n, 2))
    x[:, 6] = rng.uniform(-0.1, 0.1, n)
    truth = [x]
    for _ in range(T - 1):
        truth.append(ct.transition(truth[-1], 1.0))
    truth_arr = np.stack(truth)
    before = truth_arr.copy()
    P0 = np.diag([1e4, 1e4, 1e4, 400.0, 400.0, 400.0, 0.01])
    R = Radar3D(True).covariance([[15.0, 0.01, 0.01, 0.5]])[0]
    sensor = PcrlbSensor(Radar3D(True), np.zeros(3), np.eye(3), R, pd=0.9)
    bounds = pcrlb(truth_arr, np.arange(T), ct, [sensor], P0)
    np.testing.assert_array_equal(truth_arr, before)  # inputs untouched
    assert bounds.shape == (T, n, 7, 7)
    assert np.all(np.linalg.eigvalsh(bounds) > 0.0)
    rmse = position_rmse_bound(bounds)
    assert rmse.shape == (T, n)
    assert np.all(rmse[-1] < 0.3 * rmse[0])


# ---------------------------------------------------------------- bad input


def test_bad_inputs_are_named() -> None:
    cv = ConstantVelocity(q=1.0)
    truth = np.zeros((3, 2, 6))
    P0 = np.eye(6)
    R = np.eye(3)
    with pytest.raises(ValueError, match=r"truth_states of shape \(T, N, 6\)"):
        pcrlb(np.zeros((3, 2, 4)), np.arange(3), cv, [], P0)
    with pytest.raises(ValueError, match="non-decreasing"):
        pcrlb(truth, [0.0, 2.0, 1.0], cv, [], P0)
    with pytest.raises(ValueError, match=r"sensors\[0\] R must have shape \(3, 3\)"):
        pcrlb(truth, np.arange(3), cv, [(Position(), None, None, np.eye(2))], P0)
    with pytest.raises(ValueError, match="symmetric positive definite"):
        pcrlb(truth, np.arange(3), cv, [(Position(), None, None, -R)], P0)
    with pytest.raises(ValueError, match=r"broadcast to \(T, N\) = \(3, 2\)"):
        pcrlb(truth, np.arange(3), cv, [(Position(), None, None, R, np.ones(5))], P0)
    with pytest.raises(ValueError, match=r"pd must be probabilities in \[0, 1\]"):
        pcrlb(truth, np.arange(3), cv, [(Position(), None, None, R, 1.5)], P0)
    with pytest.raises(ValueError, match=r"position_rmse_bound expects"):
        position_rmse_bound(np.eye(2))


def test_probability_within_matches_the_closed_forms() -> None:
    """A circular error: 1 - exp(-r² / 2σ²); an error along one axis: erf(r / √2 σ),
    whatever the axis; no error: 1; a NaN covariance: NaN."""
    from scipy.special import erf

    sig = np.array([50.0, 100.0, 250.0, 1000.0])
    circ = np.eye(2) * (sig**2)[:, None, None]
    np.testing.assert_allclose(probability_within(circ, 300.0),
                               1.0 - np.exp(-(300.0**2) / (2.0 * sig**2)), rtol=1e-10)
    ang = np.deg2rad(37.0)
    u = np.array([np.cos(ang), np.sin(ang)])
    line = (sig**2)[:, None, None] * np.outer(u, u)[None]
    np.testing.assert_allclose(probability_within(line, 300.0),
                               erf(300.0 / (np.sqrt(2.0) * sig)), rtol=1e-10)
    assert probability_within(np.zeros((2, 2)), 1.0) == 1.0
    assert np.isnan(probability_within(np.full((2, 2), np.nan), 1.0))
    with pytest.raises(ValueError, match="radius > 0"):
        probability_within(np.eye(2), 0.0)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2, 2\)"):
        probability_within(np.eye(3), 1.0)


def test_probability_within_matches_sampling() -> None:
    """Random elongated, rotated covariances: the quadrature against the share of 400,000
    samples within the radius (binomial sd < 0.0008)."""
    rng = np.random.default_rng(11)
    A = rng.normal(size=(8, 2, 2)) * 300.0
    C = A @ np.swapaxes(A, 1, 2)
    p = probability_within(C, 500.0)
    assert ((p > 0.05) & (p < 0.99)).sum() >= 5
    for Ci, pi in zip(C, p, strict=True):
        z = rng.multivariate_normal(np.zeros(2), Ci, size=400_000)
        assert abs(pi - np.mean(np.hypot(z[:, 0], z[:, 1]) < 500.0)) < 0.004

