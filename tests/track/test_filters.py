"""Tests of skyfence.track.filters against Stone Soup 1.9.1 updaters and predictors."""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from stonesoup.functions import mod_bearing
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.measurement.nonlinear import (
    CartesianToBearingRangeRate,
    CartesianToElevationBearing,
    CartesianToElevationBearingRange,
    CartesianToElevationBearingRangeRate,
)
from stonesoup.models.transition.linear import ConstantVelocity as SsCV
from stonesoup.models.transition.nonlinear import ConstantTurnSandwich
from stonesoup.predictor.kalman import UnscentedKalmanPredictor
from stonesoup.types.array import CovarianceMatrix, StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.hypothesis import SingleHypothesis
from stonesoup.types.prediction import GaussianStatePrediction
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import (
    ExtendedKalmanUpdater,
    KalmanUpdater,
    UnscentedKalmanUpdater,
)

from skyfence.track import filters
from skyfence.track.filters import (
    ekf_update,
    innovation,
    log_likelihood,
    mahalanobis2,
    ukf_predict,
    ukf_update,
)
from skyfence.track.measurement import (
    BearingElevation,
    Position,
    Radar2D,
    Radar3D,
    enu_rotation,
)
from skyfence.track.motion import ConstantVelocity, CoordinatedTurn

T0 = datetime(2025, 7, 28, 2, 0, 0)
K = 20

# our model -> (Stone Soup class, [(ss row of our column, is azimuth)], extra kwargs)
SS = {
    "Radar3D(True)": (
        CartesianToElevationBearingRangeRate,
        [(2, False), (1, True), (0, False), (3, False)],
        {"velocity_mapping": (3, 4, 5)},
    ),
    "Radar3D(False)": (
        CartesianToElevationBearingRange,
        [(2, False), (1, True), (0, False)],
        {},
    ),
    "Radar2D(True)": (
        CartesianToBearingRangeRate,
        [(1, False), (0, True), (2, False)],
        {"velocity_mapping": (3, 4, 5)},
    ),
    "BearingElevation()": (CartesianToElevationBearing, [(1, True), (0, False)], {}),
}
OURS = {
    "Radar3D(True)": Radar3D(True),
    "Radar3D(False)": Radar3D(False),
    "Radar2D(True)": Radar2D(True),
    "BearingElevation()": BearingElevation(),
}
SIGMAS = {  # 1-σ per our component: m, rad, rad, m/s
    "Radar3D(True)": [25.0, 0.01, 0.015, 1.0],
    "Radar3D(False)": [25.0, 0.01, 0.015],
    "Radar2D(True)": [40.0, 0.012, 0.8],
    "BearingElevation()": [0.004, 0.006],
}


def random_cov(rng: np.random.Generator, n: int, d: int, scale: np.ndarray) -> np.ndarray:
    A = rng.normal(size=(n, d, d))
    C = A @ np.swapaxes(A, 1, 2) / d + 0.5 * np.eye(d)
    return scale[:, None] * C * scale[None, :]


def scenario(rng: np.random.Generator, name: str, k: int = K, d: int = 6):
    model = OURS[name]
    x = np.zeros((k, d))
    x[:, :2] = rng.uniform(-15_000.0, 15_000.0, (k, 2))
    x[:, 2] = rng.uniform(100.0, 3_000.0, k)
    x[:, 3:6] = rng.normal(0.0, 30.0, (k, 3))
    scale = np.array([200.0, 200.0, 80.0, 15.0, 15.0, 5.0, 0.05, 0.05, 0.05][:d])
    P = random_cov(rng, k, d, scale)
    site = rng.uniform(-3_000.0, 3_000.0, (k, 3))
    site[:, 2] = rng.uniform(0.0, 30.0, k)
    angles = rng.uniform(-0.03, 0.03, (k, 3))
    angles[:, 2] = rng.uniform(-np.pi, np.pi, k)
    rot = np.stack(
        [ss_model(name, site[i], angles[i], np.eye(1), d).rotation_matrix for i in range(k)]
    )
    sig = np.tile(SIGMAS[name], (k, 1))
    R = model.covariance(sig)
    truth = x + rng.multivariate_normal(np.zeros(d), np.eye(d), k) * np.sqrt(
        np.diagonal(P, axis1=1, axis2=2)
    )
    z = model.h(truth, site, rot) + rng.normal(size=sig.shape) * sig
    z[:, model.angle_mask] = np.mod(z[:, model.angle_mask], 2 * np.pi)
    return model, x, P, z, site, rot, R, angles


def ss_model(name: str, site_k, angles_k, R_ours_k, d: int):
    cls, columns, kw = SS[name]
    m_ss = len(columns)
    noise = np.zeros((m_ss, m_ss))
    if R_ours_k.shape == (m_ss, m_ss):
        rows = [row for row, _ in columns]
        noise[np.ix_(rows, rows)] = R_ours_k
    else:
        noise = np.eye(m_ss)
    return cls(
        ndim_state=d,
        mapping=(0, 1, 2),
        noise_covar=CovarianceMatrix(noise),
        translation_offset=StateVector(site_k),
        rotation_offset=StateVector(angles_k),
        **kw,
    )


def ss_measurement(name: str, z_k: np.ndarray) -> StateVector:
    _, columns, _ = SS[name]
    out = np.zeros(len(columns))
    for col, (row, is_az) in enumerate(columns):
        out[row] = mod_bearing(np.pi / 2 - z_k[col]) if is_az else z_k[col]
    return StateVector(out)


def ss_to_ours_meas(name: str, S_ss: np.ndarray) -> np.ndarray:
    """Innovation covariance in our component order (bearing = π/2 - azimuth: sign flips)."""
    _, columns, _ = SS[name]
    rows = [row for row, _ in columns]
    sign = np.array([-1.0 if is_az else 1.0 for _, is_az in columns])
    return sign[:, None] * S_ss[np.ix_(rows, rows)] * sign[None, :]


def run_stonesoup(updater_cls, name, x, P, z, angles, site, R, **kw):
    out = []
    for k in range(x.shape[0]):
        model = ss_model(name, site[k], angles[k], R[k], x.shape[1])
        updater = updater_cls(measurement_model=model, **kw)
        prediction = GaussianStatePrediction(
            StateVector(x[k]), CovarianceMatrix(P[k]), timestamp=T0
        )
        detection = Detection(ss_measurement(name, z[k]), timestamp=T0, measurement_model=model)
        post = updater.update(SingleHypothesis(prediction, detection))
        S_ss = np.asarray(post.hypothesis.measurement_prediction.covar, dtype=float)
        out.append(
            (
                np.asarray(post.state_vector, dtype=float).ravel(),
                np.asarray(post.covar, dtype=float),
                ss_to_ours_meas(name, S_ss),
            )
        )
    return [np.stack(a) for a in zip(*out, strict=True)]


def rel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-pair relative error, max over the trailing axes."""
    axes = tuple(range(1, a.ndim))
    return np.max(np.abs(a - b), axis=axes) / np.max(np.abs(b), axis=axes)


def test_doctests() -> None:
    assert doctest.testmod(filters).failed == 0


# --------------------------------------------------------- EKF vs Stone Soup


@pytest.mark.parametrize("d", [6, 9])
def test_ekf_update_matches_stonesoup(d: int) -> None:
    # Radar3D with radial velocity: the Stone Soup model with an analytic Jacobian.
    name = "Radar3D(True)"
    rng = np.random.default_rng(20 + d)
    model, x, P, z, site, rot, R, angles = scenario(rng, name, d=d)
    x_post, P_post, nu, S = ekf_update(x, P, z, model, site, rot, R)
    x_ss, P_ss, S_ss = run_stonesoup(ExtendedKalmanUpdater, name, x, P, z, angles, site, R)
    assert rel(S, S_ss).max() < 1e-12
    assert rel(P_post, P_ss).max() < 1e-8
    assert rel(x_post, x_ss).max() < 1e-10
    assert np.allclose(nu, model.residual(z, model.h(x, site, rot)))


def test_ekf_update_linear_position_matches_stonesoup_kalman() -> None:
    rng = np.random.default_rng(30)
    d = 7
    x = rng.normal(0.0, 500.0, (K, d))
    P = random_cov(rng, K, d, np.array([50.0, 50.0, 30.0, 5.0, 5.0, 2.0, 0.1]))
    z = x[:, :3] + rng.normal(0.0, 10.0, (K, 3))
    R = Position().covariance(np.tile([8.0, 8.0, 15.0], (K, 1)))
    x_post, P_post, _, S = ekf_update(x, P, z, Position(), None, None, R)
    for k in range(K):
        lg = LinearGaussian(ndim_state=d, mapping=(0, 1, 2), noise_covar=CovarianceMatrix(R[k]))
        pred = GaussianStatePrediction(StateVector(x[k]), CovarianceMatrix(P[k]), timestamp=T0)
        det = Detection(StateVector(z[k]), timestamp=T0, measurement_model=lg)
        post = KalmanUpdater(measurement_model=lg).update(SingleHypothesis(pred, det))
        assert rel(P_post[k : k + 1], np.asarray(post.covar, float)[None]).max() < 1e-9
        assert np.allclose(x_post[k], np.asarray(post.state_vector, float).ravel(), rtol=1e-11)


def test_innovation_matches_update_and_gating_statistics() -> None:
    rng = np.random.default_rng(31)
    model, x, P, z, site, rot, R, _ = scenario(rng, "Radar3D(False)")
    zhat, H, S = innovation(x, P, model, site, rot, R)
    _, _, nu, S_upd = ekf_update(x, P, z, model, site, rot, R)
    assert np.array_equal(S, S_upd)
    assert np.allclose(zhat, model.h(x, site, rot))
    assert np.array_equal(H, model.jacobian(x, site, rot))
    d2 = mahalanobis2(nu, S)
    assert np.allclose(d2, np.einsum("ki,kij,kj->k", nu, np.linalg.inv(S), nu), rtol=1e-10)
    ll = log_likelihood(nu, S)
    expected = [multivariate_normal.logpdf(nu[k], cov=S[k]) for k in range(K)]
    assert np.allclose(ll, expected, rtol=1e-12)


def test_gating_statistics_broadcast_and_reject_bad_covariances() -> None:
    nu = np.array([[[1.0, 2.0]], [[0.5, -1.0]]])  # (2, 1, 2): tracks x detections
    S = np.array([[[4.0, 0.0], [0.0, 1.0]]])
    assert np.allclose(mahalanobis2(nu, S), [[4.25], [1.0625]])
    bad = np.array([[[1.0, 2.0], [2.0, 1.0]]])  # indefinite
    assert np.isnan(log_likelihood([[0.1, 0.1]], bad)).all()


# --------------------------------------------------------- UKF vs Stone Soup


@pytest.mark.parametrize("name", sorted(SS))
@pytest.mark.parametrize(
    ("alpha", "beta", "kappa"), [(0.5, 2.0, None), (1.0, 2.0, 0.0), (0.3, 0.0, 1.0)]
)
def test_ukf_update_matches_stonesoup(name: str, alpha: float, beta: float, kappa) -> None:
    rng = np.random.default_rng(40)
    model, x, P, z, site, rot, R, angles = scenario(rng, name)
    x_post, P_post, nu, S = ukf_update(
        x, P, z, model, site, rot, R, alpha=alpha, beta=beta, kappa=kappa
    )
    x_ss, P_ss, S_ss = run_stonesoup(
        UnscentedKalmanUpdater, name, x, P, z, angles, site, R, alpha=alpha, beta=beta, kappa=kappa
    )
    assert rel(S, S_ss).max() < 1e-9
    assert rel(P_post, P_ss).max() < 1e-8
    assert rel(x_post, x_ss).max() < 1e-10


def test_ukf_predict_is_exact_for_a_linear_model() -> None:
    rng = np.random.default_rng(50)
    cv = ConstantVelocity(0.5, q_vertical=0.1)
    x = rng.normal(0.0, 100.0, (K, 6))
    P = random_cov(rng, K, 6, np.array([100.0, 100.0, 50.0, 10.0, 10.0, 3.0]))
    dt = rng.uniform(-2.0, 6.0, K)
    x_u, P_u = ukf_predict(x, P, cv, dt)
    x_e, P_e = cv.predict(x, P, dt)
    assert rel(x_u, x_e).max() < 1e-12
    assert rel(P_u, P_e).max() < 1e-10


def test_ukf_predict_coordinated_turn_matches_stonesoup_sigma_points() -> None:
    # Stone Soup's ConstantTurn noise is per axis only, ours is the full integral:
    # compare the sigma-point part, P_pred - Q.
    rng = np.random.default_rng(51)
    ct = CoordinatedTurn(q=0.5, q_w=0.02, q_vertical=0.1)
    ss_ct = ConstantTurnSandwich(
        linear_noise_coeffs=np.array([0.5, 0.5]), turn_noise_coeff=0.02, model_list=[SsCV(0.1)]
    )
    perm = [0, 4, 2, 1, 5, 3, 6]  # ours[i] = ss[perm[i]]
    inv = np.argsort(perm)
    x = np.column_stack(
        [rng.normal(0.0, 1000.0, (K, 3)), rng.normal(0.0, 30.0, (K, 3)), rng.uniform(-0.3, 0.3, K)]
    )
    # Cholesky factors (hence sigma points) agree across the two state orders only if
    # the permutation keeps the order inside each correlated group: couple each
    # axis's position and velocity, nothing else.
    P = np.zeros((K, 7, 7))
    for axis, (sp, sv) in enumerate([(50.0, 5.0), (50.0, 5.0), (20.0, 2.0)]):
        block = random_cov(rng, K, 2, np.array([sp, sv]))
        P[np.ix_(np.arange(K), [axis, axis + 3], [axis, axis + 3])] = block
    P[:, 6, 6] = 0.05**2
    tds = [timedelta(microseconds=int(v)) for v in rng.uniform(0.2e6, 4e6, K)]
    dt = np.array([td.total_seconds() for td in tds])
    x_u, P_u = ukf_predict(x, P, ct, dt, alpha=0.7, beta=2.0, kappa=0.0)
    Q = ct.noise(dt, x)
    predictor = UnscentedKalmanPredictor(ss_ct, alpha=0.7, beta=2.0, kappa=0.0)
    for k, td in enumerate(tds):
        prior = GaussianState(StateVector(x[k][inv]), CovarianceMatrix(P[k][np.ix_(inv, inv)]), T0)
        pred = predictor.predict(prior, timestamp=T0 + td)
        mean_ss = np.asarray(pred.state_vector, float).ravel()[perm]
        cov_ss = np.asarray(pred.covar, float) - np.asarray(ss_ct.covar(time_interval=td))
        assert np.allclose(x_u[k], mean_ss, rtol=1e-11, atol=1e-9)
        assert rel((P_u[k] - Q[k])[None], cov_ss[np.ix_(perm, perm)][None]).max() < 1e-9


# ----------------------------------------------------------------- angles


def north_of_radar_case():
    """A track just east of due north of a radar at the origin, 10 km out."""
    x = np.array(
        [
            [
                10_000.0 * np.sin(np.radians(0.1)),
                10_000.0 * np.cos(np.radians(0.1)),
                500.0,
                0.0,
                0.0,
                0.0,
            ]
        ]
    )
    P = np.diag([400.0**2, 100.0**2, 50.0**2, 10.0, 10.0, 10.0])[None]
    radar = Radar3D(with_radial_velocity=False)
    z = radar.h(x)
    z[0, 1] = np.radians(359.9)  # measured just west of north
    R = radar.covariance([[10.0, np.radians(0.2), np.radians(0.3)]])
    return radar, x, P, z, R


@pytest.mark.parametrize("update", [ekf_update, ukf_update])
def test_update_across_north_uses_the_short_way_round(update) -> None:
    radar, x, P, z, R = north_of_radar_case()
    x_post, P_post, nu, S = update(x, P, z, radar, None, None, R)
    assert abs(nu[0, 1] - np.radians(-0.2)) < np.radians(0.01)  # not +359.8°
    assert x_post[0, 0] < x[0, 0]  # moved west
    az_post = np.degrees(np.arctan2(x_post[0, 0], x_post[0, 1]))
    assert -0.1 < az_post < 0.1
    assert np.all(np.linalg.eigvalsh(P_post) > 0.0)


def test_ukf_predicted_azimuth_averages_on_the_circle() -> None:
    # Sigma points straddle north (azimuths near 0 and near 2π): the mean is near 0, not π.
    radar, x, P, z, R = north_of_radar_case()
    P = P.copy()
    P[0, 0, 0] = 2_000.0**2
    _, _, nu, S = ukf_update(x, P, z, radar, None, None, R)
    zhat_az = z[0, 1] - nu[0, 1]
    assert abs(radar.residual([[0.0, zhat_az, 0.0]], [[0.0, 0.0, 0.0]])[0, 1]) < np.radians(1.0)
    assert np.sqrt(S[0, 1, 1]) < np.radians(20.0)


# ---------------------------------------------------------------- contract


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"alpha": 0.0}, "alpha must be positive"),
        ({"alpha": float("nan")}, "alpha must be a finite number"),
        ({"beta": float("inf")}, "beta must be a finite number"),
        ({"kappa": -6.0}, r"kappa must be greater than -d = -6 \(state dimension 6\)"),
        ({"kappa": "1"}, "kappa must be a finite number or None"),
    ],
)
def test_unscented_parameters_checked(kw, message) -> None:
    radar, x, P, z, R = north_of_radar_case()
    with pytest.raises(ValueError, match=message):
        ukf_update(x, P, z, radar, None, None, R, **kw)
    with pytest.raises(ValueError, match=message):
        ukf_predict(x, P, ConstantVelocity(1.0), 1.0, **kw)


def test_shape_errors() -> None:
    radar, x, P, z, R = north_of_radar_case()
    with pytest.raises(ValueError, match=r"P of shape \(K, d, d\)"):
        ekf_update(x, P[:, :3, :3], z, radar, None, None, R)


@pytest.mark.parametrize("update", [ekf_update, ukf_update])
def test_inputs_are_not_modified(update) -> None:
    rng = np.random.default_rng(60)
    model, x, P, z, site, rot, R, _ = scenario(rng, "Radar3D(True)")
    arrays = (x, P, z, site, rot, R)
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)
    update(x, P, z, model, site, rot, R)
    innovation(x, P, model, site, rot, R)
    ukf_predict(x, P, ConstantVelocity(1.0), np.ones(K))
    for a, c in zip(arrays, copies, strict=True):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("update", [ekf_update, ukf_update])
def test_large_batch(update) -> None:
    rng = np.random.default_rng(61)
    n = 10_000
    model, x, P, z, site, _, R, angles = scenario(rng, "Radar3D(True)", k=n)
    rot = enu_rotation(55.0 + angles[:, 0], 24.0 + angles[:, 1], 55.0, 24.0)
    x_post, P_post, nu, S = update(x, P, z, model, site, rot, R)
    assert x_post.shape == (n, 6) and P_post.shape == (n, 6, 6)
    assert nu.shape == (n, 4) and S.shape == (n, 4, 4)
    assert np.isfinite(P_post).all()


def test_ukf_predict_large_batch() -> None:
    rng = np.random.default_rng(62)
    n = 10_000
    x = np.column_stack(
        [rng.normal(0, 1e3, (n, 3)), rng.normal(0, 20, (n, 3)), rng.normal(0, 0.1, n)]
    )
    P = np.broadcast_to(np.diag([100.0, 100.0, 50.0, 5.0, 5.0, 2.0, 0.01]), (n, 7, 7))
    x_pred, P_pred = ukf_predict(x, P, CoordinatedTurn(1.0, 0.01), rng.uniform(0.0, 4.0, n))
    assert x_pred.shape == (n, 7) and P_pred.shape == (n, 7, 7)
    assert np.isfinite(P_pred).all()


def test_ukf_handles_a_singular_covariance() -> None:
    # A turn rate known exactly (zero variance): no Cholesky factor, eigen square root.
    ct = CoordinatedTurn(1.0, 0.01)
    x = np.array([[0.0, 0.0, 100.0, 20.0, 0.0, 0.0, 0.1]])
    P = np.diag([100.0, 100.0, 25.0, 4.0, 4.0, 1.0, 0.0])[None]
    x_pred, P_pred = ukf_predict(x, P, ct, 2.0)
    assert np.isfinite(P_pred).all()
    assert np.allclose(x_pred, ct.transition(x, 2.0), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match=r"time steps of shape \(1,\) or a scalar, got \(2,\)"):
        ukf_predict(x, P, ct, [1.0, 2.0])


@pytest.mark.parametrize("module_name", ["motion", "measurement", "filters"])
def test_public_names_are_exported(module_name: str) -> None:
    import importlib

    module = importlib.import_module(f"skyfence.track.{module_name}")
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == module.__name__
        and callable(value)
    }
    assert public == set(module.__all__)


@pytest.mark.parametrize("update", [ekf_update, ukf_update])
def test_one_sensor_site_and_rotation_broadcast(update) -> None:
    rng = np.random.default_rng(63)
    model, x, P, z, site, rot, R, _ = scenario(rng, "Radar3D(True)")
    one_site = np.broadcast_to(site[0], site.shape)
    one_rot = np.broadcast_to(rot[0], rot.shape)
    expected = update(x, P, z, model, one_site, one_rot, R)
    got = update(x, P, z, model, site[0], rot[0], R)
    for a, b in zip(got, expected, strict=True):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
