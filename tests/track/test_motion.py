"""Tests of skyfence.track.motion against Stone Soup 1.9.1, finite differences and integrals."""

from __future__ import annotations

import doctest
from datetime import timedelta

import numpy as np
import pytest
from scipy.integrate import quad_vec
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    KnownTurnRateSandwich,
)
from stonesoup.models.transition.linear import ConstantAcceleration as SsCA
from stonesoup.models.transition.linear import ConstantVelocity as SsCV
from stonesoup.models.transition.nonlinear import ConstantTurnSandwich
from stonesoup.types.array import StateVector
from stonesoup.types.state import State

from skyfence.track import motion
from skyfence.track.motion import (
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionModel,
)

# Our index i holds Stone Soup's state entry PERM[i].
PERM_CV = [0, 2, 4, 1, 3, 5]  # ss [x, vx, y, vy, z, vz]
PERM_CA = [0, 3, 6, 1, 4, 7, 2, 5, 8]  # ss [x, vx, ax, y, vy, ay, z, vz, az]
PERM_CT = [0, 4, 2, 1, 5, 3, 6]  # ss sandwich [x, vx, z, vz, y, vy, w]


def ss_to_ours(M: np.ndarray, perm: list[int]) -> np.ndarray:
    return M[np.ix_(perm, perm)]


def random_dt(rng: np.random.Generator, n: int, low: float = 0.05, high: float = 8.0):
    """Steps exactly representable as timedelta (whole microseconds)."""
    tds = [timedelta(microseconds=int(v)) for v in rng.uniform(low * 1e6, high * 1e6, n)]
    return tds, np.array([td.total_seconds() for td in tds])


def random_cov(rng: np.random.Generator, n: int, d: int, scale: float = 10.0) -> np.ndarray:
    A = rng.normal(size=(n, d, d))
    return scale * (A @ np.swapaxes(A, 1, 2) + d * np.eye(d))


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_doctests() -> None:
    assert doctest.testmod(motion).failed == 0


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda v: ConstantVelocity(v), "q"),
        (lambda v: ConstantVelocity(1.0, q_vertical=v), "q_vertical"),
        (lambda v: ConstantAcceleration(v), "q"),
        (lambda v: CoordinatedTurn(v, 0.01), "q"),
        (lambda v: CoordinatedTurn(1.0, v), "q_w"),
        (lambda v: CoordinatedTurn(1.0, 0.01, q_vertical=v), "q_vertical"),
    ],
)
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), True, "1.0", None])
def test_parameters_checked_at_construction(factory, name, bad) -> None:
    if bad is None and name == "q_vertical":
        return  # None is the default: use q
    with pytest.raises(ValueError, match=rf" {name} must be a positive finite number"):
        factory(bad)


def test_noise_needs_state_for_coordinated_turn() -> None:
    with pytest.raises(ValueError, match="needs the states x"):
        CoordinatedTurn(1.0, 0.01).noise([1.0])


def test_shape_errors_name_the_expected_shape() -> None:
    with pytest.raises(ValueError, match=r"expects states of shape \(N, 6\), got \(4, 7\)"):
        ConstantVelocity(1.0).transition(np.zeros((4, 7)), 1.0)
    with pytest.raises(ValueError, match=r"time steps of shape \(4,\)"):
        ConstantVelocity(1.0).transition(np.zeros((4, 6)), np.ones(3))


def test_base_is_abstract() -> None:
    with pytest.raises(TypeError):
        MotionModel()  # type: ignore[abstract]


# --------------------------------------------------------- against Stone Soup


def test_constant_velocity_matches_stonesoup() -> None:
    rng = np.random.default_rng(1)
    q, qv = 0.7, 0.15
    ss = CombinedLinearGaussianTransitionModel([SsCV(q), SsCV(q), SsCV(qv)])
    cv = ConstantVelocity(q, q_vertical=qv)
    tds, dt = random_dt(rng, 20)
    x = rng.normal(0.0, 100.0, (20, 6))
    P = random_cov(rng, 20, 6)
    F = cv.jacobian(x, dt)
    Q = cv.noise(dt)
    x_pred, P_pred = cv.predict(x, P, dt)
    for k, td in enumerate(tds):
        F_ss = ss_to_ours(ss.matrix(time_interval=td), PERM_CV)
        Q_ss = ss_to_ours(ss.covar(time_interval=td), PERM_CV)
        assert np.allclose(F[k], F_ss, rtol=0, atol=1e-15)
        assert rel_err(Q[k], Q_ss) < 1e-14
        P_ss = F_ss @ P[k] @ F_ss.T + Q_ss
        assert rel_err(P_pred[k], P_ss) < 1e-13
        ss_x = ss.function(State(StateVector(x[k][np.argsort(PERM_CV)])), time_interval=td)
        assert np.allclose(x_pred[k], np.asarray(ss_x, float).ravel()[PERM_CV], rtol=1e-14)


def test_constant_acceleration_matches_stonesoup() -> None:
    rng = np.random.default_rng(2)
    q = 0.3
    ss = CombinedLinearGaussianTransitionModel([SsCA(q)] * 3)
    ca = ConstantAcceleration(q)
    tds, dt = random_dt(rng, 20)
    x = rng.normal(0.0, 50.0, (20, 9))
    P = random_cov(rng, 20, 9)
    x_pred, P_pred = ca.predict(x, P, dt)
    Q = ca.noise(dt)
    for k, td in enumerate(tds):
        F_ss = ss_to_ours(ss.matrix(time_interval=td), PERM_CA)
        Q_ss = ss_to_ours(ss.covar(time_interval=td), PERM_CA)
        assert rel_err(ca.jacobian(x[k : k + 1], dt[k])[0], F_ss) < 1e-15
        assert rel_err(Q[k], Q_ss) < 1e-13
        assert rel_err(P_pred[k], F_ss @ P[k] @ F_ss.T + Q_ss) < 1e-13
        assert rel_err(x_pred[k], F_ss @ x[k]) < 1e-14


def random_ct_states(rng: np.random.Generator, n: int) -> np.ndarray:
    x = np.column_stack(
        [
            rng.normal(0.0, 2000.0, (n, 3)),
            rng.normal(0.0, 30.0, (n, 3)),
            rng.uniform(-0.6, 0.6, n),
        ]
    )
    x[:3, 6] = [0.0, 1e-12, -3e-9]  # straight flight and tiny turn rates
    return x


def test_coordinated_turn_transition_matches_stonesoup() -> None:
    rng = np.random.default_rng(3)
    ct = CoordinatedTurn(q=0.5, q_w=0.02, q_vertical=0.1)
    ss = ConstantTurnSandwich(
        linear_noise_coeffs=np.array([0.5, 0.5]), turn_noise_coeff=0.02, model_list=[SsCV(0.1)]
    )
    tds, dt = random_dt(rng, 20)
    x = random_ct_states(rng, 20)
    # Stone Soup evaluates (1 - cos wdt) / w directly, which loses all precision
    # for tiny w; those cases are checked against the constant-velocity limit.
    x[:3, 6] = [0.01, -0.4, 0.6]
    out = ct.transition(x, dt)
    inv = np.argsort(PERM_CT)
    for k, td in enumerate(tds):
        ss_x = ss.function(State(StateVector(x[k][inv])), time_interval=td)
        assert np.allclose(out[k], np.asarray(ss_x, float).ravel()[PERM_CT], rtol=1e-12, atol=1e-9)


def test_coordinated_turn_jacobian_matches_stonesoup_known_turn_rate() -> None:
    # For a fixed turn rate the position/velocity block of our Jacobian is the
    # (linear) KnownTurnRate transition matrix.
    rng = np.random.default_rng(4)
    ct = CoordinatedTurn(q=0.5, q_w=0.02)
    tds, dt = random_dt(rng, 20)
    x = random_ct_states(rng, 20)
    x[:3, 6] = [0.05, -0.3, 0.6]  # KnownTurnRate divides by the turn rate
    F = ct.jacobian(x, dt)
    perm6 = [0, 4, 2, 1, 5, 3]  # ss sandwich [x, vx, z, vz, y, vy]
    for k, td in enumerate(tds):
        ss = KnownTurnRateSandwich(
            turn_noise_diff_coeffs=np.array([0.5, 0.5]), turn_rate=x[k, 6], model_list=[SsCV(1.0)]
        )
        F_ss = ss_to_ours(ss.matrix(time_interval=td), perm6)
        assert np.allclose(F[k, :6, :6], F_ss, rtol=1e-12, atol=1e-12)


def test_coordinated_turn_noise_reduces_to_stonesoup_when_straight_and_still() -> None:
    rng = np.random.default_rng(5)
    ct = CoordinatedTurn(q=0.5, q_w=0.02, q_vertical=0.1)
    ss = ConstantTurnSandwich(
        linear_noise_coeffs=np.array([0.5, 0.5]), turn_noise_coeff=0.02, model_list=[SsCV(0.1)]
    )
    tds, dt = random_dt(rng, 10)
    x = np.zeros((10, 7))
    x[:, :3] = rng.normal(0.0, 1000.0, (10, 3))
    Q = ct.noise(dt, x)
    for k, td in enumerate(tds):
        assert rel_err(Q[k], ss_to_ours(ss.covar(time_interval=td), PERM_CT)) < 1e-13


@pytest.mark.parametrize(
    ("w", "dt"),
    [(0.0, 2.0), (1e-10, 3.0), (0.3, 2.0), (-0.8, 2.5), (0.45, -1.5), (1.9, 1.0), (0.2, 0.0)],
)
def test_coordinated_turn_noise_is_the_integral(w: float, dt: float) -> None:
    """Q = ∫ Φ(dt, τ) L Qc Lᵀ Φ(dt, τ)ᵀ dτ with Φ the Jacobian along the trajectory."""
    ct = CoordinatedTurn(q=0.7, q_w=0.03, q_vertical=0.2)
    qc = np.diag([0.0, 0.0, 0.0, 0.7, 0.7, 0.2, 0.03])
    x = np.array([[10.0, -5.0, 100.0, 30.0, -20.0, 2.0, w]])

    def integrand(tau: float) -> np.ndarray:
        F = ct.jacobian(ct.transition(x, tau), dt - tau)[0]
        return F @ qc @ F.T

    Q = ct.noise([dt], x)[0]
    if dt == 0.0:
        assert np.array_equal(Q, np.zeros((7, 7)))
        return
    ref = np.sign(dt) * quad_vec(integrand, 0.0, dt, epsabs=0.0, epsrel=1e-13)[0]
    assert rel_err(Q, ref) < 1e-12
    assert np.allclose(Q, Q.T, rtol=0, atol=0)
    assert np.linalg.eigvalsh(Q).min() > 0.0


# -------------------------------------------------------------- derivatives


def central_jacobian(model: MotionModel, x: np.ndarray, dt: np.ndarray) -> np.ndarray:
    d = x.shape[1]
    J = np.empty((x.shape[0], d, d))
    for i in range(d):
        h = 1e-6 * np.maximum(1.0, np.abs(x[:, i]))[:, None]
        e = np.zeros(d)
        e[i] = 1.0
        J[:, :, i] = (model.transition(x + h * e, dt) - model.transition(x - h * e, dt)) / h / 2
    return J


def test_coordinated_turn_jacobian_matches_finite_differences() -> None:
    rng = np.random.default_rng(6)
    ct = CoordinatedTurn(q=1.0, q_w=0.01)
    x = random_ct_states(rng, 50)
    x[3:8, 6] = [0.25, -0.25, 0.2499999, 0.2500001, 1e-5]  # either side of the series switch
    dt = rng.uniform(-4.0, 4.0, 50)
    dt[3:8] = 2.0
    J = ct.jacobian(x, dt)
    Jn = central_jacobian(ct, x, dt)
    # Rounding in the differences of ~km positions limits agreement to ~1e-7.
    assert np.max(np.abs(J - Jn) / np.maximum(1.0, np.abs(J))) < 1e-6


def test_coordinated_turn_tends_to_constant_velocity() -> None:
    rng = np.random.default_rng(7)
    x = random_ct_states(rng, 30)
    dt = rng.uniform(0.1, 5.0, 30)
    cv = ConstantVelocity(1.0)
    for w in (0.0, 1e-14, -1e-9):
        x[:, 6] = w
        out = CoordinatedTurn(1.0, 0.01).transition(x, dt)
        assert np.allclose(out[:, :6], cv.transition(x[:, :6], dt), rtol=1e-12, atol=1e-6)
        F = CoordinatedTurn(1.0, 0.01).jacobian(x, dt)
        assert np.allclose(F[:, :6, :6], cv.jacobian(x[:, :6], dt), rtol=0, atol=1e-7)


def test_positive_turn_rate_turns_left() -> None:
    ct = CoordinatedTurn(q=1.0, q_w=0.01)
    north = np.array([[0.0, 0.0, 0.0, 0.0, 20.0, 0.0, np.pi / 20]])  # quarter turn in 10 s
    out = ct.transition(north, 10.0)[0]
    assert np.allclose(out[3:5], [-20.0, 0.0], atol=1e-12)  # heading west
    radius = 20.0 / (np.pi / 20)
    assert np.allclose(out[:2], [-radius, radius], atol=1e-9)


# ---------------------------------------------------------- dt = 0, dt < 0


MODELS = [
    ConstantVelocity(0.5, q_vertical=0.1),
    ConstantAcceleration(0.2),
    CoordinatedTurn(0.5, 0.02),
]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_zero_step_is_identity(model: MotionModel) -> None:
    rng = np.random.default_rng(8)
    d = model.ndim
    x = rng.normal(0.0, 10.0, (5, d))
    P = random_cov(rng, 5, d)
    x_pred, P_pred = model.predict(x, P, 0.0)
    assert np.array_equal(x_pred, x)
    assert np.allclose(P_pred, P, rtol=1e-15, atol=0)
    assert np.array_equal(model.jacobian(x, np.zeros(5)), np.broadcast_to(np.eye(d), (5, d, d)))
    assert not model.noise(np.zeros(5), x).any()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_negative_step_retrodicts(model: MotionModel) -> None:
    rng = np.random.default_rng(9)
    d = model.ndim
    x = rng.normal(0.0, 10.0, (10, d))
    if d == 7:
        x[:, 6] = rng.uniform(-0.5, 0.5, 10)
    dt = rng.uniform(0.1, 5.0, 10)
    back = model.transition(model.transition(x, dt), -dt)
    assert np.allclose(back, x, rtol=1e-12, atol=1e-9)
    # Q(-T) = F(-T) Q(T) F(-T)ᵀ, the noise of the interval mapped back.
    x_end = model.transition(x, dt)
    F_back = model.jacobian(x_end, -dt)
    Q_fwd = model.noise(dt, x)
    Q_back = model.noise(-dt, x_end)
    expected = F_back @ Q_fwd @ np.swapaxes(F_back, 1, 2)
    scale = np.max(np.abs(expected), axis=(1, 2))[:, None, None]
    assert np.max(np.abs(Q_back - expected) / scale) < 1e-9
    assert (np.linalg.eigvalsh(Q_back) > -1e-9 * np.abs(Q_back).max()).all()


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_predict_equals_dense_formula_per_track_steps(model: MotionModel) -> None:
    rng = np.random.default_rng(10)
    d = model.ndim
    x = rng.normal(0.0, 10.0, (12, d))
    if d == 7:
        x[:, 6] = rng.uniform(-0.5, 0.5, 12)
    P = random_cov(rng, 12, d)
    dt = rng.uniform(-3.0, 6.0, 12)
    x_pred, P_pred = model.predict(x, P, dt)
    F = model.jacobian(x, dt)
    expected = F @ P @ np.swapaxes(F, 1, 2) + model.noise(dt, x)
    assert rel_err(P_pred, expected) < 1e-13
    assert np.array_equal(P_pred, np.swapaxes(P_pred, 1, 2))
    assert np.allclose(x_pred, model.transition(x, dt), rtol=0, atol=0)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_inputs_are_not_modified(model: MotionModel) -> None:
    rng = np.random.default_rng(11)
    d = model.ndim
    x = rng.normal(0.0, 10.0, (6, d))
    P = random_cov(rng, 6, d)
    dt = rng.uniform(0.0, 3.0, 6)
    copies = [a.copy() for a in (x, P, dt)]
    for a in (x, P, dt):
        a.setflags(write=False)  # any in-place write would raise
    model.predict(x, P, dt)
    model.transition(x, dt)
    model.jacobian(x, dt)
    model.noise(dt, x)
    for a, c in zip((x, P, dt), copies, strict=True):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: type(m).__name__)
def test_large_batch_shapes(model: MotionModel) -> None:
    rng = np.random.default_rng(12)
    n, d = 10_000, model.ndim
    x = rng.normal(0.0, 10.0, (n, d))
    if d == 7:
        x[:, 6] = rng.uniform(-0.5, 0.5, n)
    P = np.broadcast_to(np.eye(d), (n, d, d))
    x_pred, P_pred = model.predict(x, P, rng.uniform(0.0, 4.0, n))
    assert x_pred.shape == (n, d)
    assert P_pred.shape == (n, d, d)
    assert np.isfinite(P_pred).all()
