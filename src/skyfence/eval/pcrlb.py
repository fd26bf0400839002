"""Posterior Cramér–Rao lower bound (PCRLB) for tracking targets along known trajectories.

For additive Gaussian process and measurement noise the Fisher information of
the state follows the recursion of Tichavský, Muravchik & Nehorai, "Posterior
Cramér–Rao bounds for discrete-time nonlinear filtering", IEEE Trans. Signal
Processing 46(5), 1998::

    J_{k+1} = (Q_k + F_k J_k⁻¹ F_kᵀ)⁻¹  +  Σ_s q_{s,k+1} H_{s,k+1}ᵀ R_s⁻¹ H_{s,k+1}
              └──── prediction ─────┘     └────────── measurement information ────────┘

with ``F_k = ∂f/∂x`` and ``Q_k`` the motion model's Jacobian and process noise
over the step from ``times[k]`` to ``times[k+1]``, evaluated at the true state
``x_k``, and ``H_{s,k+1} = ∂h_s/∂x`` of sensor ``s`` at the true state
``x_{k+1}``.  The bound on the error covariance of any unbiased estimator is
``J_k⁻¹``.  Evaluating the Jacobians along one given truth trajectory (instead of
averaging them over the prior of trajectories) is the usual deterministic-
trajectory form (Hernandez, Ristic & Farina 2005; Stone Soup's ``PCRBMetric``):
exact for linear models, the conditional bound for nonlinear ones; for
:class:`~skyfence.track.motion.CoordinatedTurn` the state-dependent ``Q`` is
taken at the true state.

Missed detections use the *information reduction factor* ``q = Pd`` (Niu,
Willett & Bar-Shalom 2001, no clutter): a sensor with detection probability
``Pd`` contributes ``Pd · HᵀR⁻¹H``; ``Pd = 1`` gives the full information.  A
time step at which a sensor cannot see a target (``visible`` False: out of
range, below the horizon, blind) contributes nothing, and neither Jacobian nor
``Pd`` is evaluated there.

The recursion is run in covariance form, ``P = J⁻¹``: the prediction is
``P⁻ = F P Fᵀ + Q`` (:meth:`~skyfence.track.motion.MotionModel.predict`) and the
measurement information ``GᵀG`` (``G`` = the whitened, ``√q``-scaled Jacobians
of all sensors stacked) enters as a Kalman update with unit noise in Joseph
form, so no information matrix is inverted, ``Q`` may be zero and a sensor may
add no information.  A sensor that sees no target at a step is skipped, its
Jacobian is evaluated only for the targets it sees, and when the stacked ``G``
has more rows than the state has dimensions it is replaced by the triangular
factor of its QR decomposition (the same ``GᵀG``), so the update is never larger
than ``d × d`` however many sensors contribute.  All targets are processed at
once; the only loops are over time steps and sensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from skyfence.track.measurement import MeasurementModel
from skyfence.track.motion import MotionModel

__all__ = ["PcrlbSensor", "pcrlb", "position_rmse_bound", "probability_within"]

Array = NDArray[np.float64]


class PcrlbSensor(NamedTuple):
    """One sensor of a PCRLB computation (a plain 4- to 6-tuple is accepted too).

    Attributes
    ----------
    model : MeasurementModel
        Measurement model of the sensor's detections
        (:mod:`skyfence.track.measurement`).
    site : array_like, shape (3,), or None
        Sensor position in the tracking frame, metres (``None``: at the origin).
    rot : array_like, shape (3, 3), or None
        Rotation from tracking-frame axes to the sensor's local ENU axes
        (:func:`~skyfence.track.measurement.enu_rotation`; ``None``: the same axes).
    R : array_like, shape (m, m)
        Measurement noise covariance, symmetric positive definite, in the
        measurement's units (m², rad², m²/s²).
    pd : float or array_like, broadcastable to (T, N)
        Detection probability per time and target, in ``[0, 1]``; default 1.
    visible : bool or array_like of bool, broadcastable to (T, N), or None
        Whether the sensor can see each target at each time; ``None`` (default)
        means always.
    """

    model: MeasurementModel
    site: ArrayLike | None
    rot: ArrayLike | None
    R: ArrayLike
    pd: ArrayLike = 1.0
    visible: ArrayLike | None = None


class _Sensor(NamedTuple):
    """A checked sensor: whitening matrix and information weight per (time, target)."""

    model: MeasurementModel
    site: Array | None
    rot: Array | None
    whiten: Array  # (m, m) C⁻¹ with R = C Cᵀ, so HᵀR⁻¹H = (C⁻¹H)ᵀ(C⁻¹H)
    weight: Array  # (T, N) √(Pd) where visible, else 0


def _check_sensor(i: int, sensor: object, T: int, N: int, d: int) -> _Sensor:
    where = f"pcrlb sensors[{i}]"
    if not isinstance(sensor, tuple) or not 4 <= len(sensor) <= 6:
        raise ValueError(
            f"{where} must be a PcrlbSensor or a tuple (model, site, rot, R[, pd[, visible]]), "
            f"got {sensor!r}"
        )
    s = PcrlbSensor(*sensor)
    if not isinstance(s.model, MeasurementModel):
        raise ValueError(f"{where} model must be a MeasurementModel, got {s.model!r}")
    if s.model.min_state_dim > d:
        raise ValueError(
            f"{where} model {s.model!r} reads states of dimension >= {s.model.min_state_dim}, "
            f"but the truth states have dimension {d}"
        )
    site = None if s.site is None else np.asarray(s.site, dtype=np.float64)
    if site is not None and (site.shape != (3,) or not np.isfinite(site).all()):
        raise ValueError(f"{where} site must be 3 finite numbers (metres), got {s.site!r}")
    rot = None if s.rot is None else np.asarray(s.rot, dtype=np.float64)
    if rot is not None and (rot.shape != (3, 3) or not np.isfinite(rot).all()):
        raise ValueError(
            f"{where} rot must be a finite (3, 3) rotation matrix, got shape {rot.shape}"
        )
    m = s.model.ndim_meas
    R = np.asarray(s.R, dtype=np.float64)
    if R.shape != (m, m):
        raise ValueError(f"{where} R must have shape ({m}, {m}) for {s.model!r}, got {R.shape}")
    try:
        if not np.allclose(R, R.T, rtol=1e-12, atol=0.0):
            raise np.linalg.LinAlgError
        chol = np.linalg.cholesky(R)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"{where} R must be symmetric positive definite, got {R.tolist()}"
        ) from None
    whiten = np.linalg.solve(chol, np.eye(m))
    pd_in = np.asarray(s.pd, dtype=np.float64)
    visible_in = np.asarray(True if s.visible is None else s.visible)
    try:
        pd = np.broadcast_to(pd_in, (T, N))
        visible = np.broadcast_to(visible_in, (T, N))
    except ValueError:
        raise ValueError(
            f"{where} pd and visible must broadcast to (T, N) = ({T}, {N}), got shapes "
            f"{pd_in.shape} and {visible_in.shape}"
        ) from None
    if not (np.isfinite(pd).all() and (pd >= 0.0).all() and (pd <= 1.0).all()):
        raise ValueError(f"{where} pd must be probabilities in [0, 1]")
    if visible.dtype != np.bool_:
        raise ValueError(f"{where} visible must be booleans, got dtype {visible.dtype}")
    weight = np.where(visible, np.sqrt(pd), 0.0)
    return _Sensor(s.model, site, rot, whiten, weight)


def pcrlb(
    truth_states: ArrayLike,
    times: ArrayLike,
    motion: MotionModel,
    sensors: Sequence[PcrlbSensor | tuple[object, ...]],
    P0: ArrayLike,
) -> Array:
    """Posterior Cramér–Rao lower bound of ``N`` targets along their true trajectories.

    Parameters
    ----------
    truth_states : array_like, shape (T, N, d)
        True states of ``N`` targets at ``T`` common times, in the tracking
        frame and the state layout of ``motion`` (SI units), finite.
    times : array_like, shape (T,)
        Times of the rows, seconds, non-decreasing.
    motion : MotionModel
        Motion model (``motion.ndim == d``); gives ``F`` and ``Q`` of each step.
    sensors : sequence of PcrlbSensor or tuple
        ``(model, site, rot, R, pd, visible)`` per sensor (see
        :class:`PcrlbSensor`; ``pd`` and ``visible`` may be left off).  ``pd[k]``
        and ``visible[k]`` refer to ``times[k]``; row 0 is not used, since the
        bound at ``times[0]`` is ``P0``.  May be empty (prediction only).
    P0 : array_like, shape (N, d, d) or (d, d)
        Initial error covariance at ``times[0]`` (``J_0⁻¹``), symmetric
        positive semi-definite.

    Returns
    -------
    ndarray, shape (T, N, d, d)
        The bound ``J_k⁻¹`` on the error covariance at each time (symmetric;
        ``bounds[0] == P0``).  NaN for a target that a sensor sees where its
        Jacobian is undefined (target at the sensor site).

    Raises
    ------
    ValueError
        If a shape, time, probability or covariance is invalid.

    Examples
    --------
    A target known to be nearly at rest, a position report of 10 m per axis
    every second: after ``n`` reports the bound is that of their average,
    ``10 √3 / √n`` m:

    >>> from skyfence.track.measurement import Position
    >>> from skyfence.track.motion import ConstantVelocity
    >>> T = 6
    >>> truth = np.zeros((T, 1, 6))
    >>> sensor = (Position(), None, None, 100.0 * np.eye(3))
    >>> P0 = np.diag([1e6, 1e6, 1e6, 1e-8, 1e-8, 1e-8])
    >>> bounds = pcrlb(truth, np.arange(T), ConstantVelocity(q=1e-9), [sensor], P0[None])
    >>> bounds.shape
    (6, 1, 6, 6)
    >>> position_rmse_bound(bounds)[:, 0].round(1).tolist()
    [1732.1, 17.3, 12.2, 10.0, 8.7, 7.7]
    """
    x = np.asarray(truth_states, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != motion.ndim:
        raise ValueError(
            f"pcrlb expects truth_states of shape (T, N, {motion.ndim}) for {motion!r}, "
            f"got {x.shape}"
        )
    T, N, d = x.shape
    if T == 0:
        raise ValueError("pcrlb expects at least one time step (T >= 1), got T = 0")
    if not np.isfinite(x).all():
        raise ValueError("pcrlb expects finite truth_states; cut targets to their lifetime")
    t = np.asarray(times, dtype=np.float64)
    if t.shape != (T,):
        raise ValueError(f"pcrlb expects times of shape ({T},), got {t.shape}")
    dt = np.diff(t)
    if not np.isfinite(t).all() or (dt < 0.0).any():
        raise ValueError("pcrlb expects finite, non-decreasing times (seconds)")
    P = np.asarray(P0, dtype=np.float64)
    if P.shape == (d, d):
        P = np.broadcast_to(P, (N, d, d))
    if P.shape != (N, d, d) or not np.isfinite(P).all():
        raise ValueError(f"pcrlb expects a finite P0 of shape ({N}, {d}, {d}), got {P.shape}")
    checked = [_check_sensor(i, s, T, N, d) for i, s in enumerate(sensors)]

    bounds = np.empty((T, N, d, d))
    bounds[0] = 0.5 * (P + np.swapaxes(P, 1, 2))
    eye = np.eye(d)
    for k in range(T - 1):
        _, P_pred = motion.predict(x[k], bounds[k], dt[k])
        parts = [_whitened_jacobian(s, x[k + 1], k + 1) for s in checked
                 if s.weight[k + 1].any()]
        if not parts:
            bounds[k + 1] = P_pred
            continue
        G = np.concatenate(parts, axis=1)
        if G.shape[1] > d:
            # Only GᵀG enters the update, and the triangular factor of G's QR
            # decomposition has the same: d rows carry all sensors' information.
            G = np.asarray(np.linalg.qr(G, mode="r"), dtype=np.float64)
        Gt = np.swapaxes(G, 1, 2)
        PGt = P_pred @ Gt
        S = G @ PGt
        S += np.eye(S.shape[1])
        gain = np.swapaxes(np.linalg.solve(S, np.swapaxes(PGt, 1, 2)), 1, 2)
        ikg = eye - gain @ G
        P_post = ikg @ P_pred @ np.swapaxes(ikg, 1, 2) + gain @ np.swapaxes(gain, 1, 2)
        bounds[k + 1] = 0.5 * (P_post + np.swapaxes(P_post, 1, 2))
    return bounds


def _whitened_jacobian(sensor: _Sensor, x: Array, k: int) -> Array:
    """``√q · C⁻¹ H`` at states ``x`` (N, d); zero rows where the sensor adds nothing.

    The Jacobian is evaluated only for the targets the sensor sees at step ``k``
    (no NaN or inf from the others).
    """
    w = sensor.weight[k]
    seen = np.flatnonzero(w > 0.0)
    G = np.zeros((x.shape[0], sensor.whiten.shape[0], x.shape[1]))
    if seen.size:
        H = sensor.model.jacobian(x[seen], sensor.site, sensor.rot)
        G[seen] = w[seen, None, None] * (sensor.whiten @ H)
    return G


def position_rmse_bound(bounds: ArrayLike, horizontal: bool = False) -> Array:
    """Bound on the position RMSE: ``sqrt(trace)`` of the position block.

    Parameters
    ----------
    bounds : array_like, shape (..., d, d)
        Error covariance bounds (from :func:`pcrlb`), state layout position
        first (``[x, y, z, ...]``, metres), ``d >= 3``.
    horizontal : bool, optional
        Bound the horizontal position RMSE instead: the first two axes only
        (east and north), ``sqrt(B[0, 0] + B[1, 1])``.  Default False.

    Returns
    -------
    ndarray, shape (...)
        ``sqrt(B[0, 0] + B[1, 1] + B[2, 2])`` (``sqrt(B[0, 0] + B[1, 1])`` with
        ``horizontal``), metres.

    Examples
    --------
    >>> position_rmse_bound(np.diag([9.0, 16.0, 0.0, 1.0])).tolist()
    5.0
    >>> position_rmse_bound(np.diag([9.0, 16.0, 11.0, 1.0]), horizontal=True).tolist()
    5.0
    """
    B = np.asarray(bounds, dtype=np.float64)
    if B.ndim < 2 or B.shape[-1] != B.shape[-2] or B.shape[-1] < 3:
        raise ValueError(
            f"position_rmse_bound expects bounds of shape (..., d, d) with d >= 3, got {B.shape}"
        )
    n = 2 if horizontal else 3
    return np.asarray(np.sqrt(np.trace(B[..., :n, :n], axis1=-2, axis2=-1)), dtype=np.float64)


#: Gauss-Legendre nodes and weights of :func:`probability_within`; and how many standard
#: deviations of the wide axis it integrates over at most (the normal density beyond 9 is
#: below 1e-18)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)
_GL_REACH = 9.0


def probability_within(cov: ArrayLike, radius: float) -> Array:
    """Probability that a zero-mean 2-D Gaussian error of covariance ``cov`` is within
    ``radius`` of the origin.

    With the eigenvalues ``λ1 >= λ2`` of ``cov`` and ``a = radius / √λ1`` the
    probability is ``∫_{-a}^{a} φ(u) (2 Φ(√((radius² - λ1 u²) / λ2)) - 1) du``,
    integrated over ``|u| <= b = min(a, 9)``.  ``u = b sin θ`` takes the square
    root's kink at ``±a`` away and spreads the density's peak, and the integral over
    θ is a 64-node Gauss-Legendre sum (about 1e-9 or better).  ``λ2 = 0`` (an
    error along one axis) gives ``erf(a / √2)``.

    Parameters
    ----------
    cov : array_like, shape (..., 2, 2)
        Error covariances (symmetric, positive semi-definite), units².
    radius : float
        Radius of the circle, in the units of the error (> 0).

    Returns
    -------
    ndarray, shape (...)
        The probabilities; NaN where ``cov`` holds a NaN.

    Examples
    --------
    A circular error (each axis σ = 100 m) within 200 m: ``1 - exp(-2)``.

    >>> round(float(probability_within(np.eye(2) * 100.0**2, 200.0)), 6)
    0.864665
    >>> round(float(1 - np.exp(-2.0)), 6)
    0.864665
    """
    C = np.asarray(cov, dtype=np.float64)
    if C.ndim < 2 or C.shape[-2:] != (2, 2):
        raise ValueError(f"probability_within expects cov of shape (..., 2, 2), got {C.shape}")
    if not radius > 0:
        raise ValueError(f"probability_within needs radius > 0, got {radius!r}")
    bad = np.isnan(C).any(axis=(-2, -1))
    C = np.where(bad[..., None, None], 0.0, C)
    lam = np.linalg.eigvalsh(0.5 * (C + np.swapaxes(C, -1, -2)))  # ascending
    l2, l1 = np.maximum(lam[..., 0], 0.0), np.maximum(lam[..., 1], 0.0)
    out = np.ones(l1.shape)
    some = l1 > 0
    if some.any():
        s1, s2 = np.sqrt(l1[some])[:, None], np.sqrt(l2[some])[:, None]
        b = np.minimum(radius / s1, _GL_REACH)
        theta = 0.5 * np.pi * _GL_NODES[None, :]               # nodes on [-π/2, π/2]
        u = b * np.sin(theta)
        rest = np.sqrt(np.maximum(radius * radius - l1[some][:, None] * u * u, 0.0))
        with np.errstate(divide="ignore"):
            z = np.where(s2 > 0, rest / s2, np.inf)
        inner = 2.0 * special.ndtr(z) - 1.0
        dens = np.exp(-0.5 * u * u) / np.sqrt(2.0 * np.pi)
        out[some] = np.clip(0.5 * np.pi * (dens * inner * b * np.cos(theta)) @ _GL_WEIGHTS,
                            0.0, 1.0)
    return np.where(bad, np.nan, out)
