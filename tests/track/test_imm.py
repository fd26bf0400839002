"""Tests of skyfence.track.imm: against a Stone Soup 1.9.1 reference and on a manoeuvre.

Stone Soup 1.9.1 ships no IMM (``stonesoup.predictor.imm`` / ``stonesoup.updater.imm``
are not in the release), so the reference below is the textbook IMM cycle
(Bar-Shalom, Li & Kirubarajan 2001, §11.6.6) written one track at a time, in
linear probability space, on Stone Soup's parts: its transition models in its
state order (``[x, vx, y, vy, z, vz]`` per axis), ``ExtendedKalmanPredictor``,
``ExtendedKalmanUpdater`` (Joseph form), ``gm_reduce_single`` for both the mixing
and the combination, and a Cholesky-factored Gaussian density for the model likelihoods.
A smaller model is embedded in Stone Soup's algebra as the ``0·c + N(0, v)``
transition of every component it lacks (:func:`held_at_zero`).
"""

from __future__ import annotations

import doctest
from datetime import datetime, timedelta

import numpy as np
import pytest
from scipy.linalg import cholesky, solve_triangular
from stonesoup.base import Property
from stonesoup.functions import gm_reduce_single, mod_bearing
from stonesoup.models.base import TimeVariantModel
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.measurement.nonlinear import CartesianToElevationBearingRangeRate
from stonesoup.models.transition.linear import (
    CombinedLinearGaussianTransitionModel,
    LinearGaussianTimeInvariantTransitionModel,
)
from stonesoup.models.transition.linear import ConstantAcceleration as SsCA
from stonesoup.models.transition.linear import ConstantVelocity as SsCV
from stonesoup.models.transition.nonlinear import GaussianTransitionModel
from stonesoup.predictor.kalman import ExtendedKalmanPredictor
from stonesoup.types.array import CovarianceMatrix, StateVector, StateVectors
from stonesoup.types.detection import Detection
from stonesoup.types.hypothesis import SingleHypothesis
from stonesoup.types.state import GaussianState
from stonesoup.updater.kalman import ExtendedKalmanUpdater

from skyfence.track import imm as imm_module
from skyfence.track.filters import ekf_update, innovation, log_likelihood
from skyfence.track.imm import IMM
from skyfence.track.measurement import MeasurementModel, Position, Radar3D
from skyfence.track.motion import (
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionModel,
)

T0 = datetime(2025, 7, 28, 2, 0, 0)
Q_H, Q_V = 0.4, 0.1  # CV horizontal / vertical acceleration noise, m²/s³
W_VAR, A_VAR = 0.02, 3.0  # embedding variances: rad²/s², m²/s⁴


def test_doctests() -> None:
    assert doctest.testmod(imm_module).failed == 0


def test_public_names() -> None:
    assert imm_module.__all__ == ["IMM", "uniform_transition"]


def test_uniform_transition_composes_over_time() -> None:
    from skyfence.track.imm import uniform_transition

    one = uniform_transition(0.9, 3, 1.0)[0]
    assert np.allclose(one.sum(axis=1), 1.0) and np.allclose(np.diag(one), 0.9)
    # two half-second steps make one second; 0 s is the identity; |dt| for retrodiction
    half = uniform_transition(0.9, 3, 0.5)[0]
    assert np.allclose(half @ half, one, atol=1e-14)
    assert np.allclose(uniform_transition(0.9, 3, 0.0)[0], np.eye(3))
    assert np.allclose(uniform_transition(0.9, 3, -1.0)[0], one)
    with pytest.raises(ValueError, match="stay_per_s"):
        uniform_transition(0.2, 3, 1.0)


def test_predict_with_per_track_transition_matches_the_fixed_one() -> None:
    from skyfence.track.imm import uniform_transition

    imm = IMM([ConstantVelocity(0.5), CoordinatedTurn(0.5, 1e-4)],
              uniform_transition(0.95, 2, 1.0)[0], embed_var={"w": 0.01})
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 7)) * 100
    x, P, mu = imm.initiate(x, np.broadcast_to(np.eye(7) * 50, (4, 7, 7)), [0.3, 0.7])
    a = imm.predict(x, P, mu, 1.0)
    b = imm.predict(x, P, mu, 1.0, transition=uniform_transition(0.95, 2, np.ones(4)))
    for u, v in zip(a, b, strict=True):
        assert np.allclose(u, v, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="transition of shape"):
        imm.predict(x, P, mu, 1.0, transition=np.eye(2))


# --------------------------------------------------------------- Stone Soup reference


def held_at_zero(variance: float) -> LinearGaussianTimeInvariantTransitionModel:
    """One component a model lacks: ``c' = 0·c + e``, ``e ~ N(0, variance)``."""
    return LinearGaussianTimeInvariantTransitionModel(
        transition_matrix=np.zeros((1, 1)), covariance_matrix=CovarianceMatrix([[variance]])
    )


class OursInStoneSoupOrder(GaussianTransitionModel, TimeVariantModel):
    """One of our models acting on a Stone Soup ordered state (our CT has no Stone Soup twin).

    ``perm[i]`` is the Stone Soup index of our common-space component ``i``; ``held``
    maps common-space indices the model lacks to their embedding variance.  The noise
    of our coordinated turn depends on the state: :meth:`covar` takes it as
    ``noise_at`` (passed through ``predict(..., noise_at=prior)``).
    """

    model: MotionModel = Property(doc="Our motion model")
    own: list = Property(doc="Common-space indices of the model's components")
    held: dict = Property(doc="Common-space index -> variance of the components it lacks")
    perm: list = Property(doc="Stone Soup index of each common-space component")

    @property
    def ndim_state(self) -> int:
        return len(self.perm)

    def _ours(self, state) -> np.ndarray:
        return np.asarray(state.state_vector, dtype=float).ravel()[self.perm][self.own]

    def _to_ss(self, M: np.ndarray) -> np.ndarray:
        out = np.zeros((self.ndim_state, self.ndim_state))
        out[np.ix_(self.perm, self.perm)] = M
        return out

    def function(self, state, noise=False, time_interval=None, **kwargs):
        new = np.zeros(self.ndim_state)
        new[self.own] = self.model.transition(self._ours(state)[None], dt(time_interval))[0]
        out = np.zeros(self.ndim_state)
        out[self.perm] = new
        return StateVector(out)

    def jacobian(self, state, time_interval=None, **kwargs):
        F = np.zeros((self.ndim_state, self.ndim_state))
        F[np.ix_(self.own, self.own)] = self.model.jacobian(
            self._ours(state)[None], dt(time_interval)
        )[0]
        return self._to_ss(F)

    def covar(self, time_interval=None, noise_at=None, **kwargs):
        Q = np.zeros((self.ndim_state, self.ndim_state))
        Q[np.ix_(self.own, self.own)] = self.model.noise(
            [dt(time_interval)], self._ours(noise_at)[None]
        )[0]
        for i, v in self.held.items():
            Q[i, i] = v
        return CovarianceMatrix(self._to_ss(Q))


def dt(td: timedelta) -> float:
    return td.total_seconds()


def cv_axis(q: float, acc: bool) -> list:
    return [SsCV(q), held_at_zero(A_VAR)] if acc else [SsCV(q)]


# Each case: our models, embed_var, the Stone Soup order (perm[i] = Stone Soup index of
# our component i) and the Stone Soup transition model of each of our models.
def case(name: str):
    ct = CoordinatedTurn(0.3, 2e-3, q_vertical=0.2)
    if name == "CV+CT":  # ours [x y z vx vy vz w], ss [x vx y vy z vz w]
        perm = [0, 2, 4, 1, 3, 5, 6]
        models = [ConstantVelocity(Q_H, q_vertical=Q_V), ct]
        embed = {"w": W_VAR}
        ss = [
            CombinedLinearGaussianTransitionModel(
                [SsCV(Q_H), SsCV(Q_H), SsCV(Q_V), held_at_zero(W_VAR)]
            ),
            OursInStoneSoupOrder(model=ct, own=list(range(7)), held={}, perm=perm),
        ]
    elif name == "CV+CA":  # ours [x y z vx vy vz ax ay az], ss [x vx ax y vy ay z vz az]
        perm = [0, 3, 6, 1, 4, 7, 2, 5, 8]
        models = [ConstantVelocity(Q_H, q_vertical=Q_V), ConstantAcceleration(0.05)]
        embed = {"ax": A_VAR, "ay": A_VAR, "az": A_VAR}
        ss = [
            CombinedLinearGaussianTransitionModel(
                cv_axis(Q_H, True) + cv_axis(Q_H, True) + cv_axis(Q_V, True)
            ),
            CombinedLinearGaussianTransitionModel([SsCA(0.05)] * 3),
        ]
    elif name == "CV+CT+CA":  # ours [x y z vx vy vz w ax ay az], ss [x vx ax y vy ay z vz az w]
        perm = [0, 3, 6, 1, 4, 7, 9, 2, 5, 8]
        models = [ConstantVelocity(Q_H, q_vertical=Q_V), ct, ConstantAcceleration(0.05)]
        embed = {"w": W_VAR, "ax": A_VAR, "ay": A_VAR, "az": A_VAR}
        ss = [
            CombinedLinearGaussianTransitionModel(
                cv_axis(Q_H, True) + cv_axis(Q_H, True) + cv_axis(Q_V, True) + [held_at_zero(W_VAR)]
            ),
            OursInStoneSoupOrder(
                model=ct, own=list(range(7)), held={7: A_VAR, 8: A_VAR, 9: A_VAR}, perm=perm
            ),
            CombinedLinearGaussianTransitionModel([SsCA(0.05)] * 3 + [held_at_zero(W_VAR)]),
        ]
    else:  # "CV+CV": two noise levels, one 6-d layout, nothing embedded
        perm = [0, 2, 4, 1, 3, 5]
        models = [ConstantVelocity(0.05), ConstantVelocity(5.0, q_vertical=1.0)]
        embed = {}
        ss = [
            CombinedLinearGaussianTransitionModel([SsCV(0.05)] * 3),
            CombinedLinearGaussianTransitionModel([SsCV(5.0), SsCV(5.0), SsCV(1.0)]),
        ]
    m = len(models)
    transition = np.full((m, m), 0.06 / (m - 1)) + np.eye(m) * (0.94 - 0.06 / (m - 1))
    return IMM(models, transition, embed_var=embed), np.array(perm), ss


def random_states(rng: np.random.Generator, imm: IMM, n: int):
    """Model-conditioned states that differ per model, embedded as the IMM keeps them."""
    m, d = imm.n_models, imm.ndim
    scale = np.array([300.0, 300.0, 100.0, 20.0, 20.0, 5.0] + [0.1] * (d - 6))
    names = imm.components
    if "w" in names:
        scale[names.index("w")] = 0.1
    x = np.zeros((n, m, d))
    x[..., :2] = rng.uniform(1_000.0, 5_000.0, (n, 1, 2)) + rng.normal(0.0, 30.0, (n, m, 2))
    x[..., 2] = rng.uniform(100.0, 800.0, (n, 1)) + rng.normal(0.0, 10.0, (n, m))
    x[..., 3:6] = rng.normal(0.0, 25.0, (n, 1, 3)) + rng.normal(0.0, 2.0, (n, m, 3))
    x[..., 6:] = rng.normal(0.0, 0.15, (n, m, d - 6))
    A = rng.normal(size=(n, m, d, d))
    P = (A @ np.swapaxes(A, -1, -2) / d + 0.3 * np.eye(d)) * scale[:, None] * scale[None, :] / 25
    for j in range(m):  # hold what model j lacks at 0 with its embedding variance
        for c in range(d):
            if c not in imm.indices[j]:
                x[:, j, c] = 0.0
                P[:, j, c, :] = 0.0
                P[:, j, :, c] = 0.0
                P[:, j, c, c] = imm.embed_var[names[c]]
    mu = rng.dirichlet(np.ones(m), n)
    return x, P, mu


def to_ss_state(perm: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    out[perm] = x
    return out


def to_ss_cov(perm: np.ndarray, P: np.ndarray) -> np.ndarray:
    out = np.zeros_like(P)
    out[np.ix_(perm, perm)] = P
    return out


def ss_measurement_model(kind: str, perm: np.ndarray, R: np.ndarray, site: np.ndarray):
    mapping = tuple(int(i) for i in perm[:3])
    if kind == "position":
        return LinearGaussian(ndim_state=len(perm), mapping=mapping, noise_covar=R)
    # Our [range, azimuth, elevation, radial velocity] is Stone Soup's [elevation,
    # bearing, range, range rate] with bearing = π/2 - azimuth (the Stone Soup model with
    # an analytic Jacobian); R is diagonal so only the order changes.
    return CartesianToElevationBearingRangeRate(
        ndim_state=len(perm),
        mapping=mapping,
        velocity_mapping=tuple(int(i) for i in perm[3:6]),
        noise_covar=CovarianceMatrix(np.diag(np.diag(R)[RADAR_ORDER])),
        translation_offset=StateVector(site),
        rotation_offset=StateVector([0.0, 0.0, 0.0]),
    )


RADAR_ORDER = [2, 1, 0, 3]  # Stone Soup component k is our component RADAR_ORDER[k]
RADAR_SIGN = np.array([1.0, -1.0, 1.0, 1.0])  # in our order: the azimuth flips


def ss_z(kind: str, z: np.ndarray) -> np.ndarray:
    if kind == "position":
        return z
    return np.array([z[2], mod_bearing(np.pi / 2 - z[1]), z[0], z[3]])


def reference_cycle(imm, perm, ss_models, x, P, mu, dts, z, kind, R, site):
    """One IMM predict + update + combine per track (Bar-Shalom §11.6.6), Stone Soup parts.

    Returns ours-ordered arrays: predicted (x, P, c̄), posterior (x, P, mu), S, loglik,
    combined (x, P).
    """
    n, m, _ = x.shape
    Pi = imm.transition
    out = {k: [] for k in ("xp", "Pp", "cbar", "xu", "Pu", "mu", "S", "ll", "xc", "Pc")}
    for t in range(n):
        means = StateVectors(np.column_stack([to_ss_state(perm, x[t, i]) for i in range(m)]))
        covars = np.stack([to_ss_cov(perm, P[t, i]) for i in range(m)], axis=2)
        cbar = np.array([sum(Pi[i, j] * mu[t, i] for i in range(m)) for j in range(m)])
        xp, Pp, xu, Pu, S, lik = [], [], [], [], [], []
        for j in range(m):
            weights = np.array([Pi[i, j] * mu[t, i] / cbar[j] for i in range(m)])
            x0, P0 = gm_reduce_single(means, covars, weights)
            prior = GaussianState(x0, P0, timestamp=T0)
            td = timedelta(seconds=float(dts[t]))
            pred = ExtendedKalmanPredictor(ss_models[j]).predict(
                prior, timestamp=T0 + td, noise_at=prior
            )
            meas_model = ss_measurement_model(kind, perm, R[t], site[t])
            det = Detection(
                StateVector(ss_z(kind, z[t])), timestamp=T0 + td, measurement_model=meas_model
            )
            post = ExtendedKalmanUpdater(meas_model, use_joseph_cov=True).update(
                SingleHypothesis(pred, det)
            )
            mp = post.hypothesis.measurement_prediction
            S_ss = np.asarray(mp.covar, dtype=float)
            resid = (
                np.asarray(det.state_vector, dtype=float).ravel()
                - np.asarray(mp.state_vector, dtype=float).ravel()
            )
            if kind == "radar":
                resid[1] = mod_bearing(resid[1])
                back = np.argsort(RADAR_ORDER)
                S_ours = S_ss[np.ix_(back, back)] * np.outer(RADAR_SIGN, RADAR_SIGN)
            else:
                S_ours = S_ss
            lik.append(gaussian_density(resid, S_ss))
            xp.append(np.asarray(pred.state_vector, dtype=float).ravel()[perm])
            Pp.append(np.asarray(pred.covar, dtype=float)[np.ix_(perm, perm)])
            xu.append(np.asarray(post.state_vector, dtype=float).ravel()[perm])
            Pu.append(np.asarray(post.covar, dtype=float)[np.ix_(perm, perm)])
            S.append(S_ours)
        mu_post = np.array(lik) * cbar / np.sum(np.array(lik) * cbar)
        xc, Pc = gm_reduce_single(StateVectors(np.column_stack(xu)), np.stack(Pu, axis=2), mu_post)
        for key, val in zip(
            out,
            (xp, Pp, cbar, xu, Pu, mu_post, S, np.log(np.dot(lik, cbar)), xc, Pc),
            strict=True,
        ):
            out[key].append(np.asarray(val, dtype=float))
    res = {k: np.stack(v) for k, v in out.items()}
    res["xc"] = res["xc"].reshape(n, -1)
    return res


def gaussian_density(r: np.ndarray, S: np.ndarray) -> float:
    """``N(r; 0, S)`` by a Cholesky factor.

    (scipy's ``multivariate_normal`` factors ``S`` by eigenvalues, whose error grows with
    the condition number: about 1e-8 relative for a radar's range/angle covariances.)
    """
    L = cholesky(S, lower=True)
    y = solve_triangular(L, r, lower=True)
    return float(np.exp(-0.5 * y @ y - np.log(np.diag(L)).sum() - 0.5 * len(r) * np.log(2 * np.pi)))


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest error relative to the largest magnitude of each track's reference block."""
    axes = tuple(range(1, b.ndim))
    scale = np.max(np.abs(b), axis=axes, keepdims=True) if axes else np.abs(b)
    return float(np.max(np.abs(a - b) / scale))


CASES = ["CV+CT", "CV+CA", "CV+CT+CA", "CV+CV"]
KINDS = ["position", "radar"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", CASES)
def test_cycles_match_stonesoup_reference(name: str, kind: str) -> None:
    rng = np.random.default_rng(100 + 10 * CASES.index(name) + KINDS.index(kind))
    imm, perm, ss_models = case(name)
    n = 6
    x, P, mu = random_states(rng, imm, n)
    site = np.column_stack([rng.uniform(-500.0, 0.0, (n, 2)), rng.uniform(0.0, 30.0, n)])
    for _ in range(3):
        dts = rng.uniform(0.3, 3.0, n).round(6)  # whole microseconds, as timedelta holds them
        if kind == "position":
            meas: MeasurementModel = Position()
            R = meas.covariance(np.tile([12.0, 12.0, 20.0], (n, 1)))
        else:
            meas = Radar3D(True)
            R = meas.covariance(np.tile([15.0, 0.004, 0.006, 0.5], (n, 1)))
        x_comb, P_comb = imm.combine(x, P, mu)
        truth = imm.models[0].transition(x_comb[:, :6], dts)
        z = meas.h(truth, site, None) + rng.normal(size=(n, meas.ndim_meas)) * np.sqrt(
            np.diagonal(R, axis1=1, axis2=2)
        )
        ref = reference_cycle(imm, perm, ss_models, x, P, mu, dts, z, kind, R, site)

        xp, Pp, cbar = imm.predict(x, P, mu, dts)
        x, P, mu, nu, S, loglik = imm.update(xp, Pp, cbar, z, meas, site, None, R)
        xc, Pc = imm.combine(x, P, mu)
        # Measured: ≤ 3e-15 for the states, ≤ 4e-13 for mu and the log-likelihood.
        for ours, key in ((cbar, "cbar"), (xp, "xp"), (Pp, "Pp"), (S, "S"), (x, "xu")):
            assert rel(ours, ref[key]) < 1e-10, key
        for ours, key in ((P, "Pu"), (mu, "mu"), (xc, "xc"), (Pc, "Pc")):
            assert rel(ours, ref[key]) < 1e-10, key
        assert np.max(np.abs(loglik - ref["ll"])) < 1e-10  # = relative error of the density
        assert np.allclose(mu.sum(axis=1), 1.0, rtol=0, atol=1e-14)
        zhat = meas.h(xp.reshape(-1, imm.ndim), np.repeat(site, imm.n_models, axis=0))
        assert np.array_equal(nu, meas.residual(z[:, None, :], zhat.reshape(nu.shape)))


# ------------------------------------------------------------ a target that turns


def turning_truth(speed: float = 30.0, rate_deg_s: float = 5.0, legs=(40, 36, 40)) -> np.ndarray:
    """Truth ``[x, y, z, vx, vy, vz]`` at 1 s steps: straight east, a left turn, straight."""
    rates = np.concatenate([np.zeros(legs[0]), np.full(legs[1], np.radians(rate_deg_s))])
    rates = np.concatenate([rates, np.zeros(legs[2])])
    heading = np.concatenate([[0.0], np.cumsum(rates)])  # after each step, from east
    # Exact integration of the constant-rate arcs (straight where the rate is 0).
    turning = rates != 0.0
    safe = np.where(turning, rates, 1.0)
    chord = np.where(
        turning[:, None],
        np.column_stack(
            [
                np.sin(heading[1:]) - np.sin(heading[:-1]),
                np.cos(heading[:-1]) - np.cos(heading[1:]),
            ]
        )
        / safe[:, None],
        np.column_stack([np.cos(heading[:-1]), np.sin(heading[:-1])]),
    )
    start = np.array([[-1500.0, -800.0]])
    xy = np.vstack([start, start + speed * np.cumsum(chord, axis=0)])
    out = np.zeros((heading.size, 6))
    out[:, :2] = xy
    out[:, 2] = 300.0
    out[:, 3] = speed * np.cos(heading)
    out[:, 4] = speed * np.sin(heading)
    return out


def test_turning_truth_keeps_speed_and_turns_left() -> None:
    truth = turning_truth()
    steps = np.linalg.norm(np.diff(truth[:, :2], axis=0), axis=1)
    assert np.all(steps <= 30.0 + 1e-9) and np.all(steps > 29.9)  # chords of ≤ 5° arcs
    assert np.allclose(np.linalg.norm(truth[:, 3:5], axis=1), 30.0)
    assert np.allclose(truth[-1, 3:5], [-30.0, 0.0], atol=1e-9)  # 180° later: west


@pytest.mark.parametrize("sensor", ["position", "radar"])
def test_imm_follows_a_turn_that_a_low_noise_cv_filter_loses(sensor: str) -> None:
    truth = turning_truth()
    steps = truth.shape[0]
    n = 150  # Monte Carlo runs, filtered as one batch
    rng = np.random.default_rng(2024 if sensor == "position" else 2025)
    if sensor == "position":
        meas: MeasurementModel = Position()
        sig = np.array([10.0, 10.0, 10.0])
        site = None
    else:
        meas = Radar3D(False)
        sig = np.array([8.0, 0.004, 0.004])
        site = np.array([500.0, -2500.0, 20.0])
    R = meas.covariance(np.tile(sig, (n, 1)))
    z = meas.h(np.repeat(truth, n, axis=0), site, None).reshape(steps, n, -1)
    z = z + rng.normal(size=z.shape) * sig
    if sensor == "radar":
        z[..., 1] = np.mod(z[..., 1], 2 * np.pi)

    q = 0.01  # m²/s³: a filter tuned for straight flight
    imm = IMM(
        [ConstantVelocity(q), CoordinatedTurn(q, 1e-4)],
        [[0.95, 0.05], [0.05, 0.95]],
        embed_var={"w": 0.05**2},
    )
    cv = ConstantVelocity(q)
    x0 = np.zeros((n, 7))
    x0[:, :6] = truth[0] + rng.normal(size=(n, 6)) * [10.0, 10.0, 10.0, 3.0, 3.0, 1.0]
    P0 = np.broadcast_to(np.diag([100.0] * 3 + [9.0, 9.0, 1.0] + [0.05**2]), (n, 7, 7))
    x, P, mu = imm.initiate(x0, P0, [0.9, 0.1])
    xc, Pc = x0[:, :6], P0[:, :6, :6]
    mu_ct = np.zeros((steps, n))
    err_imm = np.zeros((steps, n))
    err_cv = np.zeros((steps, n))
    for k in range(1, steps):
        x, P, mu = imm.predict(x, P, mu, 1.0)
        x, P, mu, _, _, loglik = imm.update(x, P, mu, z[k], meas, site, None, R)
        assert np.allclose(mu.sum(axis=1), 1.0, rtol=0, atol=1e-12)
        assert np.isfinite(loglik).all()
        x_comb, _ = imm.combine(x, P, mu)
        xc, Pc = cv.predict(xc, Pc, 1.0)
        xc, Pc, _, _ = ekf_update(xc, Pc, z[k], meas, site, None, R)
        mu_ct[k] = mu[:, 1]
        err_imm[k] = np.sum((x_comb[:, :3] - truth[k, :3]) ** 2, axis=1)
        err_cv[k] = np.sum((xc[:, :3] - truth[k, :3]) ** 2, axis=1)

    mean_ct = mu_ct.mean(axis=1)
    before, turn, after = mean_ct[20:40].mean(), mean_ct[58:76].mean(), mean_ct[96:].mean()
    # Measured (mean over the runs): 0.26 / 0.79 / 0.26 with positions, 0.25 / 0.81 / 0.25
    # with the radar; the turn model also explains straight flight (w ≈ 0), hence 0.26.
    assert turn > 0.7
    assert turn > before + 0.3
    assert after < turn - 0.3
    assert 40 <= int(np.argmax(mean_ct)) <= 76  # the peak is inside the turn

    def rmse(err: np.ndarray, a: int, b: int) -> float:
        return float(np.sqrt(err[a:b].mean()))

    # Measured: 10 m vs 144 m through the turn, 7.8 m vs 6.9 m before it (positions).
    assert rmse(err_imm, 40, 80) < 0.3 * rmse(err_cv, 40, 80)  # through the turn
    assert rmse(err_imm, 10, 40) < 1.3 * rmse(err_cv, 10, 40)  # little cost when straight


# --------------------------------------------------------------------- behaviour


def cv_ct() -> IMM:
    return IMM(
        [ConstantVelocity(Q_H, q_vertical=Q_V), CoordinatedTurn(0.3, 2e-3)],
        [[0.9, 0.1], [0.2, 0.8]],
        embed_var={"w": W_VAR},
    )


def test_common_space_is_the_union_of_the_layouts() -> None:
    cv, ct, ca = ConstantVelocity(1.0), CoordinatedTurn(1.0, 0.01), ConstantAcceleration(1.0)
    kin = ("x", "y", "z", "vx", "vy", "vz")
    assert IMM([cv, ct], np.eye(2), embed_var={"w": 1.0}).components == (*kin, "w")
    assert IMM([cv, ca], np.eye(2), embed_var=dict.fromkeys(("ax", "ay", "az"), 1.0)).ndim == 9
    assert IMM([cv, cv], np.eye(2)).ndim == 6
    three = IMM([cv, ct, ca], np.eye(3), embed_var=dict.fromkeys(("w", "ax", "ay", "az"), 1.0))
    assert three.components == (*kin, "w", "ax", "ay", "az")
    assert [idx.tolist() for idx in three.indices] == [
        [0, 1, 2, 3, 4, 5],
        [0, 1, 2, 3, 4, 5, 6],
        [0, 1, 2, 3, 4, 5, 7, 8, 9],
    ]
    swapped = IMM([ca, ct], np.eye(2), embed_var=dict.fromkeys(("w", "ax", "ay", "az"), 1.0))
    assert swapped.components == (*kin, "ax", "ay", "az", "w")
    assert swapped.indices[1].tolist() == [0, 1, 2, 3, 4, 5, 9]


def test_smaller_model_holds_missing_components_at_zero() -> None:
    imm = IMM(
        [ConstantVelocity(Q_H), CoordinatedTurn(0.3, 2e-3), ConstantAcceleration(0.05)],
        [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]],
        embed_var={"w": W_VAR, "ax": A_VAR, "ay": 2 * A_VAR, "az": 0.5},
    )
    rng = np.random.default_rng(5)
    x, P, mu = random_states(rng, imm, 20)
    z = x[:, 0, :3] + rng.normal(0.0, 10.0, (20, 3))
    x, P, mu = imm.predict(x, P, mu, rng.uniform(0.5, 2.0, 20))
    checks = [(x, P)]
    x, P, *_ = imm.update(x, P, mu, z, Position(), None, None, np.eye(3) * 100.0)
    checks.append((x, P))
    variances = {6: W_VAR, 7: A_VAR, 8: 2 * A_VAR, 9: 0.5}
    for xs, Ps in checks:
        for j, missing in ((0, [6, 7, 8, 9]), (1, [7, 8, 9]), (2, [6])):
            present = [c for c in range(10) if c not in missing]
            assert not xs[:, j, missing].any()
            rows = Ps[:, j, missing, :]
            assert not rows[:, :, present].any()  # uncorrelated with the rest
            held = np.diag([variances[c] for c in missing])
            assert np.array_equal(rows[:, :, missing], np.broadcast_to(held, (20, *held.shape)))


def test_initiate_embeds_each_model() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(6)
    x0 = rng.normal(size=(4, 7))
    A = rng.normal(size=(4, 7, 7))
    P0 = A @ np.swapaxes(A, 1, 2)
    x, P, mu = imm.initiate(x0, P0, [0.7, 0.3])
    assert np.array_equal(x[:, 1], x0) and np.array_equal(P[:, 1], P0)
    assert np.array_equal(x[:, 0, :6], x0[:, :6]) and not x[:, 0, 6].any()
    assert np.array_equal(P[:, 0, :6, :6], P0[:, :6, :6])
    assert not P[:, 0, 6, :6].any() and np.all(P[:, 0, 6, 6] == W_VAR)
    assert np.array_equal(mu, np.tile([0.7, 0.3], (4, 1)))


def test_single_model_imm_is_the_ekf() -> None:
    cv = ConstantVelocity(0.5, q_vertical=0.2)
    imm = IMM([cv], [[1.0]])
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 100.0, (8, 6))
    A = rng.normal(size=(8, 6, 6))
    P = A @ np.swapaxes(A, 1, 2) + 6.0 * np.eye(6)
    dt = rng.uniform(0.5, 2.0, 8)
    z = x[:, :3] + rng.normal(0.0, 5.0, (8, 3))
    R = Position().covariance(np.full((8, 3), 5.0))
    xs, Ps, mus = imm.predict(x[:, None], P[:, None], np.ones((8, 1)), dt)
    xe, Pe = cv.predict(x, P, dt)
    assert np.allclose(xs[:, 0], xe, rtol=1e-14) and np.allclose(Ps[:, 0], Pe, rtol=1e-14)
    xs, Ps, mus, nu, S, loglik = imm.update(xs, Ps, mus, z, Position(), None, None, R)
    xe, Pe, nue, Se = ekf_update(xe, Pe, z, Position(), None, None, R)
    assert np.allclose(xs[:, 0], xe, rtol=1e-13) and np.allclose(Ps[:, 0], Pe, rtol=1e-12)
    assert np.array_equal(mus, np.ones((8, 1)))
    assert np.allclose(loglik, log_likelihood(nue, Se), rtol=1e-12)


def test_model_probabilities_in_log_space_survive_underflow() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(8)
    x, P, mu = random_states(rng, imm, 5)
    z = x[:, 0, :3] + 1e5  # 100 km off with 1 m noise: every likelihood underflows
    R = np.eye(3)
    x1, P1, mu1, nu, S, loglik = imm.update(x, P, mu, z, Position(), None, None, R)
    ll = log_likelihood(nu, S)
    assert (ll < -1e3).all() and (np.exp(ll) == 0.0).all()
    expected = np.log(mu) + ll
    expected = np.exp(expected - expected.max(axis=1, keepdims=True))
    assert np.allclose(mu1, expected / expected.sum(axis=1, keepdims=True), rtol=1e-12)
    assert np.allclose(mu1.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert np.allclose(loglik, np.logaddexp(*(np.log(mu) + ll).T), rtol=1e-14)


def test_a_model_with_no_probability_keeps_its_estimate() -> None:
    imm = IMM(
        [ConstantVelocity(Q_H), CoordinatedTurn(0.3, 2e-3)], np.eye(2), embed_var={"w": W_VAR}
    )
    rng = np.random.default_rng(9)
    x, P, _ = random_states(rng, imm, 3)
    mu = np.tile([1.0, 0.0], (3, 1))
    x0, P0, c_bar = imm.mix(x, P, mu)
    assert np.array_equal(c_bar, mu)
    assert np.allclose(x0, x, rtol=1e-15) and np.allclose(P0, P, rtol=1e-15)
    z = x[:, 0, :3]
    *_, mu1, _, _, _ = imm.update(x, P, mu, z, Position(), None, None, np.eye(3))
    assert np.array_equal(mu1, mu)
    # Every model impossible (S not positive definite): the probabilities are kept.
    bad_R = -1e9 * np.eye(3)
    *_, mu2, _, _, loglik = imm.update(x, P, mu, z, Position(), None, None, bad_R)
    assert np.array_equal(mu2, mu) and np.all(loglik == -np.inf)


def test_prediction_alone_drifts_to_the_stationary_distribution() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(10)
    x, P, mu = random_states(rng, imm, 4)
    for _ in range(200):
        x, P, mu = imm.predict(x, P, mu, 0.0)
        assert np.allclose(mu.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    # π Pi = π for Pi = [[0.9, 0.1], [0.2, 0.8]]: π = (2/3, 1/3).
    assert np.allclose(mu, [2.0 / 3.0, 1.0 / 3.0], rtol=1e-12)


def test_mix_and_combine_are_moment_matching() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(11)
    x, P, mu = random_states(rng, imm, 5)
    x0, P0, c_bar = imm.mix(x, P, mu)
    Pi = imm.transition
    for t in range(5):
        for j in range(2):
            w = Pi[:, j] * mu[t] / c_bar[t, j]
            mean = w @ x[t]
            dev = x[t] - mean
            cov = np.einsum("i,ijk->jk", w, P[t]) + (w[:, None] * dev).T @ dev
            assert np.allclose(x0[t, j], mean, rtol=1e-13)
            assert np.allclose(P0[t, j], cov, rtol=1e-12)
    xc, Pc = imm.combine(x, P, mu)
    for t in range(5):
        dev = x[t] - xc[t]
        cov = np.einsum("i,ijk->jk", mu[t], P[t]) + (mu[t][:, None] * dev).T @ dev
        assert np.allclose(xc[t], mu[t] @ x[t], rtol=1e-13)
        assert np.allclose(Pc[t], cov, rtol=1e-12)
        assert np.linalg.eigvalsh(Pc[t]).min() > 0.0


def test_gate_innovation_uses_the_combined_state() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(12)
    x, P, mu = random_states(rng, imm, 6)
    meas = Radar3D(True)
    site = np.array([100.0, -200.0, 10.0])
    R = meas.covariance(np.tile([10.0, 0.003, 0.003, 0.5], (6, 1)))
    z = meas.h(x[:, 0], site, None)
    nu, S = imm.gate_innovation(x, P, mu, z, meas, site, None, R)
    xc, Pc = imm.combine(x, P, mu)
    zhat, _, S_expected = innovation(xc, Pc, meas, site, None, R)
    assert np.array_equal(S, S_expected)
    assert np.array_equal(nu, meas.residual(z, zhat))
    # The spread between the models widens the gate beyond either model's own S.
    _, _, _, _, S_models, _ = imm.update(x, P, mu, z, meas, site, None, R)
    assert (np.linalg.det(S) > np.linalg.det(S_models).min(axis=1)).all()


def test_single_sensor_and_noise_broadcast_like_per_track_ones() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(13)
    n = 5
    x, P, mu = random_states(rng, imm, n)
    meas = Radar3D(False)
    site = np.array([50.0, 80.0, 5.0])
    rot = np.eye(3)
    R = meas.covariance([[9.0, 0.004, 0.005]])[0]
    z = meas.h(x[:, 1], site, rot)
    single = imm.update(x, P, mu, z, meas, site, rot, R)
    per_track = imm.update(
        x, P, mu, z, meas, np.tile(site, (n, 1)), np.tile(rot, (n, 1, 1)), np.tile(R, (n, 1, 1))
    )
    for a, b in zip(single, per_track, strict=True):
        assert np.allclose(a, b, rtol=1e-14, atol=0)


def test_inputs_are_not_modified() -> None:
    imm = cv_ct()
    rng = np.random.default_rng(14)
    x, P, mu = random_states(rng, imm, 4)
    z = x[:, 0, :3] + 3.0
    R = np.tile(np.eye(3) * 25.0, (4, 1, 1))
    dt = np.full(4, 1.5)
    arrays = (x, P, mu, z, R, dt)
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)  # any in-place write would raise
    imm.mix(x, P, mu)
    imm.predict(x, P, mu, dt)
    imm.update(x, P, mu, z, Position(), None, None, R)
    imm.combine(x, P, mu)
    imm.gate_innovation(x, P, mu, z, Position(), None, None, R)
    imm.initiate(x[:, 0], P[:, 0], mu)
    for a, c in zip(arrays, copies, strict=True):
        assert np.array_equal(a, c)


def test_ten_thousand_tracks_in_one_batch() -> None:
    imm = IMM(
        [ConstantVelocity(Q_H), CoordinatedTurn(0.3, 2e-3), ConstantAcceleration(0.05)],
        [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]],
        embed_var={"w": W_VAR, "ax": A_VAR, "ay": A_VAR, "az": A_VAR},
    )
    n, m, d = 10_000, 3, 10
    rng = np.random.default_rng(15)
    x0 = np.zeros((n, d))
    x0[:, :3] = rng.uniform(-5_000.0, 5_000.0, (n, 3))
    x0[:, 3:6] = rng.normal(0.0, 20.0, (n, 3))
    P0 = np.broadcast_to(np.diag([100.0] * 3 + [25.0] * 3 + [W_VAR] + [A_VAR] * 3), (n, d, d))
    x, P, mu = imm.initiate(x0, P0, [0.6, 0.2, 0.2])
    x, P, mu = imm.predict(x, P, mu, rng.uniform(0.5, 2.0, n))
    assert x.shape == (n, m, d) and P.shape == (n, m, d, d) and mu.shape == (n, m)
    meas = Radar3D(True)
    R = meas.covariance([[10.0, 0.004, 0.004, 0.5]])[0]
    z = meas.h(x0, np.zeros(3), None)
    x, P, mu, nu, S, loglik = imm.update(x, P, mu, z, meas, np.zeros(3), None, R)
    assert x.shape == (n, m, d) and P.shape == (n, m, d, d)
    assert nu.shape == (n, m, 4) and S.shape == (n, m, 4, 4) and loglik.shape == (n,)
    assert np.allclose(mu.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    xc, Pc = imm.combine(x, P, mu)
    assert xc.shape == (n, d) and Pc.shape == (n, d, d)
    nu_g, S_g = imm.gate_innovation(x, P, mu, z, meas, np.zeros(3), None, R)
    assert nu_g.shape == (n, 4) and S_g.shape == (n, 4, 4)
    assert np.isfinite(Pc).all() and np.isfinite(loglik).all()


# -------------------------------------------------------------------- validation


class Hover(MotionModel):
    """A custom 6-d model (stands still) that declares its components."""

    components = ("x", "y", "z", "vx", "vy", "vz")

    @property
    def ndim(self) -> int:
        return 6

    def transition(self, x, dt):
        return np.array(x, dtype=float)

    def jacobian(self, x, dt):
        return np.broadcast_to(np.eye(6), (np.shape(x)[0], 6, 6)).copy()

    def noise(self, dt, x=None):
        return np.broadcast_to(np.eye(6), (np.size(dt), 6, 6)) * 0.1


class Unnamed(Hover):
    components = None  # type: ignore[assignment]


def test_custom_model_with_declared_components() -> None:
    imm = IMM([Hover(), CoordinatedTurn(0.3, 2e-3)], [[0.5, 0.5], [0.5, 0.5]], {"w": W_VAR})
    assert imm.ndim == 7
    x0 = np.zeros((2, 7))
    x0[:, :6] = [[10.0, 20.0, 30.0, 1.0, 2.0, 3.0]]
    x, P, mu = imm.initiate(x0, np.broadcast_to(np.eye(7), (2, 7, 7)), [0.5, 0.5])
    x, P, mu = imm.predict(x, P, mu, 1.0)
    assert np.array_equal(x[:, 0, :6], x0[:, :6])  # it stands still
    assert np.allclose(P[:, 0, :6, :6], 1.1 * np.eye(6), rtol=1e-15)  # identity + its noise
    assert not x[:, 0, 6].any() and np.all(P[:, 0, 6, 6] == W_VAR)


CV, CT = ConstantVelocity(1.0), CoordinatedTurn(1.0, 0.01)
OK_PI = [[0.9, 0.1], [0.1, 0.9]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"models": []}, "IMM models must be a non-empty list of MotionModel"),
        ({"models": CV}, "IMM models must be a non-empty list"),
        ({"models": [CV, "ct"]}, r"IMM models\[1\] must be a MotionModel"),
        ({"models": [CV, Unnamed()]}, r"IMM models\[1\] \(Unnamed\) has an unknown state layout"),
        ({"transition": [[1.0]]}, r"IMM transition must have shape \(2, 2\) for 2 models"),
        ({"transition": [[0.9, 0.2], [0.1, 0.9]]}, "row 0 sums to 1.1"),
        ({"transition": [[1.2, -0.2], [0.1, 0.9]]}, r"probabilities in \[0, 1\]"),
        ({"transition": [[np.nan, 1.0], [0.1, 0.9]]}, r"probabilities in \[0, 1\]"),
        ({"transition": [["a", "b"], [0.1, 0.9]]}, "IMM transition must be an"),
        ({"embed_var": None}, r"IMM embed_var must give the variance .* missing \['w'\]"),
        ({"embed_var": {}}, r"missing \['w'\], e.g. embed_var=\{'w': ...\}"),
        ({"embed_var": {"w": 0.1, "ax": 1.0}}, r"IMM embed_var has \['ax'\], which no model"),
        ({"embed_var": {"w": 0.0}}, r"IMM embed_var\['w'\] must be a positive finite variance"),
        ({"embed_var": {"w": True}}, r"IMM embed_var\['w'\] must be a positive"),
        ({"embed_var": {"w": float("inf")}}, r"IMM embed_var\['w'\] must be a positive"),
        ({"embed_var": 0.1}, "IMM embed_var must be a mapping from component name"),
    ],
)
def test_parameters_checked_at_construction(kwargs: dict, message: str) -> None:
    args = {"models": [CV, CT], "transition": OK_PI, "embed_var": {"w": 0.1}} | kwargs
    with pytest.raises(ValueError, match=message):
        IMM(**args)


def test_shape_errors_name_the_expected_shape() -> None:
    imm = cv_ct()
    x, P, mu = imm.initiate(np.zeros((3, 7)), np.broadcast_to(np.eye(7), (3, 7, 7)), [0.5, 0.5])
    with pytest.raises(ValueError, match=r"IMM.mix expects x of shape \(N, 2, 7\), got \(3, 7\)"):
        imm.mix(x[:, 0], P, mu)
    with pytest.raises(ValueError, match=r"IMM.predict expects P of shape \(3, 2, 7, 7\)"):
        imm.predict(x, P[:, :, :6, :6], mu, 1.0)
    with pytest.raises(ValueError, match=r"IMM.combine expects mu of shape \(3, 2\)"):
        imm.combine(x, P, mu[:, :1])
    with pytest.raises(ValueError, match="rows summing to 1"):
        imm.combine(x, P, mu * 0.5)
    with pytest.raises(ValueError, match=r"IMM.update expects z of shape \(3, 3\), got \(3, 2\)"):
        imm.update(x, P, mu, np.zeros((3, 2)), Position(), None, None, np.eye(3))
    with pytest.raises(ValueError, match=r"IMM.initiate expects x of shape \(N, 7\)"):
        imm.initiate(np.zeros((3, 6)), np.zeros((3, 6, 6)), [0.5, 0.5])


def test_imm_is_immutable() -> None:
    imm = cv_ct()
    with pytest.raises(AttributeError, match="IMM is immutable"):
        imm.embed_var = {"w": 1.0}  # type: ignore[misc]
    with pytest.raises(AttributeError, match="IMM is immutable"):
        imm._pi = np.eye(2)  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        imm.transition[0, 0] = 0.5
    with pytest.raises(TypeError):
        imm.embed_var["w"] = 1.0  # type: ignore[index]
    assert "IMM(models=[ConstantVelocity" in repr(imm)
