"""Batched Kalman filter steps: EKF and UKF updates, UKF prediction, gating statistics.

Each update processes ``K`` (track, detection) pairs at once: row ``k`` of
``x (K, d)`` and ``P (K, d, d)`` is the predicted track paired with detection
``k`` (measurement ``z[k]`` of shape ``(m,)``, noise ``R[k]``, sensor
``site[k]`` and ``rot[k]``, see :mod:`skyfence.track.measurement`).  The caller
gathers the rows (one track may appear in several pairs).  Innovations are
``model.residual(z, zhat)``, so azimuth differences across north are small.

Linear algebra uses solves, never explicit inverses; covariances returned are
symmetrised.  No function modifies its inputs.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.track.measurement import MeasurementModel
from skyfence.track.motion import MotionModel

__all__ = [
    "ekf_correct",
    "ekf_update",
    "innovation",
    "log_likelihood",
    "mahalanobis2",
    "oosm_correct",
    "ukf_predict",
    "ukf_update",
]

Array = NDArray[np.float64]

_LOG_2PI = math.log(2.0 * math.pi)


def _sym(P: Array) -> Array:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


def _sym_inplace(P: Array) -> Array:
    np.add(P, np.swapaxes(P, -1, -2), out=P)
    P *= 0.5
    return P


def _t(A: Array) -> Array:
    return np.swapaxes(A, -1, -2)


def _pairs(x: ArrayLike, P: ArrayLike, owner: str) -> tuple[Array, Array]:
    x = np.asarray(x, dtype=np.float64)
    P = np.asarray(P, dtype=np.float64)
    if x.ndim != 2 or P.shape != (x.shape[0], x.shape[1], x.shape[1]):
        raise ValueError(
            f"{owner} expects x of shape (K, d) and P of shape (K, d, d), got {x.shape} "
            f"and {P.shape}"
        )
    return x, P


def _gain(cross: Array, S: Array) -> Array:
    """Kalman gain ``cross S⁻¹`` (K, d, m) by a solve (S symmetric)."""
    return _t(np.asarray(np.linalg.solve(S, _t(cross)), dtype=np.float64))


# ------------------------------------------------------------------------- EKF


def innovation(
    x: ArrayLike,
    P: ArrayLike,
    model: MeasurementModel,
    site: ArrayLike | None,
    rot: ArrayLike | None,
    R: ArrayLike,
) -> tuple[Array, Array, Array]:
    """Predicted measurement, its Jacobian and the innovation covariance (for gating).

    Parameters
    ----------
    x : array_like, shape (K, d)
        Predicted states in the tracking frame.
    P : array_like, shape (K, d, d)
        Their covariances.
    model : MeasurementModel
        Measurement model of the detections.
    site : array_like, shape (K, 3) or None
        Sensor positions in the tracking frame, metres.
    rot : array_like, shape (K, 3, 3) or None
        Rotations from tracking-frame axes to sensor-local ENU axes.
    R : array_like, shape (K, m, m)
        Measurement noise covariances (SI units, radians).

    Returns
    -------
    zhat : ndarray, shape (K, m)
        ``h(x)``.
    H : ndarray, shape (K, m, d)
        ``∂h/∂x`` at ``x``.
    S : ndarray, shape (K, m, m)
        ``H P Hᵀ + R`` (symmetrised).
    """
    x, P = _pairs(x, P, "innovation")
    zhat = model.h(x, site, rot)
    H = model.jacobian(x, site, rot)
    S = H @ (P @ _t(H)) + np.asarray(R, dtype=np.float64)  # as in ekf_update
    return zhat, H, _sym(S)


def ekf_update(
    x: ArrayLike,
    P: ArrayLike,
    z: ArrayLike,
    model: MeasurementModel,
    site: ArrayLike | None,
    rot: ArrayLike | None,
    R: ArrayLike,
) -> tuple[Array, Array, Array, Array]:
    """Extended Kalman update of ``K`` (track, detection) pairs.

    ``K = P Hᵀ S⁻¹``, ``x⁺ = x + K ν`` and, in Joseph form,
    ``P⁺ = (I - K H) P (I - K H)ᵀ + K R Kᵀ`` (symmetrised), which stays
    positive semi-definite under rounding.

    Parameters
    ----------
    x : array_like, shape (K, d)
        Predicted states.
    P : array_like, shape (K, d, d)
        Their covariances.
    z : array_like, shape (K, m)
        Measurements (SI units, radians).
    model : MeasurementModel
        Measurement model of the detections.
    site : array_like, shape (K, 3) or None
        Sensor positions in the tracking frame, metres.
    rot : array_like, shape (K, 3, 3) or None
        Rotations from tracking-frame axes to sensor-local ENU axes.
    R : array_like, shape (K, m, m)
        Measurement noise covariances.

    Returns
    -------
    x_post : ndarray, shape (K, d)
    P_post : ndarray, shape (K, d, d)
    nu : ndarray, shape (K, m)
        Innovation ``residual(z, h(x))``.
    S : ndarray, shape (K, m, m)
        Innovation covariance ``H P Hᵀ + R``.
    """
    x, P = _pairs(x, P, "ekf_update")
    R = np.asarray(R, dtype=np.float64)
    H = model.jacobian(x, site, rot)
    S = _sym(H @ (P @ _t(H)) + R)
    nu = model.residual(z, model.h(x, site, rot))
    x_post, P_post = ekf_correct(x, P, nu, H, S, R)
    return x_post, P_post, nu, S


def ekf_correct(x: Array, P: Array, nu: Array, H: Array, S: Array,
                R: Array) -> tuple[Array, Array]:
    """The Kalman correction given an innovation already formed (e.g. while gating).

    ``K = P Hᵀ S⁻¹``, ``x⁺ = x + K ν``, ``P⁺ = (I − K H) P (I − K H)ᵀ + K R Kᵀ``.

    Parameters
    ----------
    x, P : (K, d), (K, d, d)
        Predicted means and covariances.
    nu, H, S, R : (K, m), (K, m, d), (K, m, m), (K, m, m)
        Innovation, measurement Jacobian, innovation covariance and noise.
    """
    gain = _gain(P @ _t(H), S)
    x_post = x + (gain @ nu[:, :, None])[:, :, 0]
    ikh = np.eye(x.shape[1]) - gain @ H
    P_post = ikh @ P @ _t(ikh)
    P_post += gain @ (R @ _t(gain))
    return x_post, _sym_inplace(P_post)


def oosm_correct(x: Array, P: Array, F: Array, xr: Array, Pr: Array, z: Array,
                 model: MeasurementModel, site: Array | None, rot: Array | None,
                 R: Array) -> tuple[Array, Array]:
    """Apply late (out-of-sequence) detections to states that are already past them.

    One-step-lag update in the manner of Bar-Shalom's algorithm B1: the state is
    retrodicted to the detection's time (``xr, Pr``; ``F`` the Jacobian of that
    retrodiction, ``(K, d, d)``), the innovation formed there, and the correction
    applied to the current state ``(x, P)`` through the cross covariance ``P Fᵀ``
    (process noise over the lag neglected in it).  Row ``k`` pairs state ``k`` with
    detection ``z[k]``; returns the corrected means and (symmetrised) covariances.
    """
    zhat, H, S = innovation(xr, Pr, model, site, rot, R)
    nu = model.residual(z, zhat)
    cross = np.einsum("kij,klj,kml->kim", P, F, H)          # P Fᵀ Hᵀ  (K, d, m)
    gain = np.linalg.solve(S, np.swapaxes(cross, 1, 2))     # S⁻¹ H F P (K, m, d)
    gain = np.swapaxes(gain, 1, 2)                          # (K, d, m)
    x_new = x + np.einsum("kim,km->ki", gain, nu)
    P_new = P - np.einsum("kim,kjm->kij", gain, cross)
    return x_new, 0.5 * (P_new + np.swapaxes(P_new, 1, 2))


def mahalanobis2(nu: ArrayLike, S: ArrayLike) -> Array:
    """Squared Mahalanobis distance ``νᵀ S⁻¹ ν`` (by a solve).

    Parameters
    ----------
    nu : array_like, shape (..., m)
        Innovations.
    S : array_like, shape (..., m, m)
        Innovation covariances (positive definite); broadcast against ``nu``.

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> float(mahalanobis2([[3.0, 4.0]], [[[9.0, 0.0], [0.0, 4.0]]])[0])
    5.0
    """
    nu = np.asarray(nu, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    sol = np.linalg.solve(S, nu[..., None])[..., 0]
    return np.asarray(np.sum(nu * sol, axis=-1), dtype=np.float64)


def log_likelihood(nu: ArrayLike, S: ArrayLike) -> Array:
    """Gaussian log-likelihood ``log N(ν; 0, S)`` of innovations.

    Parameters
    ----------
    nu : array_like, shape (..., m)
        Innovations.
    S : array_like, shape (..., m, m)
        Innovation covariances (positive definite); NaN is returned where the
        determinant is not positive.

    Returns
    -------
    ndarray, shape (...)
        Natural log of the density (units of ``1 / prod(measurement units)``).

    Examples
    --------
    >>> round(float(log_likelihood([[0.0]], [[[1.0]]])[0]), 6)  # -log(2π)/2
    -0.918939
    """
    nu = np.asarray(nu, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    sign, logdet = np.linalg.slogdet(S)
    ll = -0.5 * (mahalanobis2(nu, S) + logdet + nu.shape[-1] * _LOG_2PI)
    return np.where(sign > 0, ll, np.nan)


# ------------------------------------------------------------------------- UKF


def _ut_weights(
    d: int, alpha: float, beta: float, kappa: float | None, owner: str
) -> tuple[Array, Array, float]:
    """Wan-van der Merwe weights (mean, covariance) and the spread ``d + λ``."""
    for name, value in (("alpha", alpha), ("beta", beta)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
            raise ValueError(f"{owner} {name} must be a finite number, got {value!r}")
    if alpha <= 0.0:
        raise ValueError(f"{owner} alpha must be positive, got {alpha!r}")
    if kappa is None:
        kappa = 3.0 - d
    elif isinstance(kappa, bool) or not isinstance(kappa, Real) or not math.isfinite(kappa):
        raise ValueError(f"{owner} kappa must be a finite number or None, got {kappa!r}")
    if d + kappa <= 0.0:
        raise ValueError(
            f"{owner} kappa must be greater than -d = {-d} (state dimension {d}), got {kappa!r}"
        )
    spread = alpha * alpha * (d + kappa)  # d + λ
    lam = spread - d
    wm = np.full(2 * d + 1, 0.5 / spread)
    wc = wm.copy()
    wm[0] = lam / spread
    wc[0] = lam / spread + 1.0 - alpha * alpha + beta
    return wm, wc, spread


def _sqrt_psd(P: Array) -> Array:
    """Lower Cholesky factors; an eigen square root if some ``P`` is not positive definite."""
    try:
        return np.asarray(np.linalg.cholesky(P), dtype=np.float64)
    except np.linalg.LinAlgError:
        w, V = np.linalg.eigh(_sym(P))
        return np.asarray(V * np.sqrt(np.clip(w, 0.0, None))[..., None, :], dtype=np.float64)


def _sigma_points(x: Array, P: Array, spread: float) -> Array:
    """Sigma points ``x, x ± √(d+λ) Lᵢ`` (columns of L), shape (K, 2d+1, d)."""
    cols = _t(math.sqrt(spread) * _sqrt_psd(P))  # row i = i-th column of L
    centre = x[:, None, :]
    return np.concatenate([centre, centre + cols, centre - cols], axis=1)


def _per_point(a: ArrayLike | None, ndim: int, n: int) -> Array | None:
    """Per-pair sensor data repeated for the ``n`` sigma points of each pair.

    A single sensor's ``site`` (3,) or ``rot`` (3, 3) broadcasts as it is.
    """
    if a is None:
        return None
    arr = np.asarray(a, dtype=np.float64)
    return np.repeat(arr, n, axis=0) if arr.ndim == ndim else arr


def _weighted_cov(wc: Array, a: Array, b: Array) -> Array:
    """``Σ_j wc[j] a[:, j] b[:, j]ᵀ`` for a (K, n, p), b (K, n, q)."""
    return _t(a * wc[None, :, None]) @ b


def ukf_update(
    x: ArrayLike,
    P: ArrayLike,
    z: ArrayLike,
    model: MeasurementModel,
    site: ArrayLike | None,
    rot: ArrayLike | None,
    R: ArrayLike,
    *,
    alpha: float = 0.5,
    beta: float = 2.0,
    kappa: float | None = None,
) -> tuple[Array, Array, Array, Array]:
    """Unscented Kalman update of ``K`` (track, detection) pairs.

    Sigma points are the scaled set of Wan and van der Merwe
    (``λ = α² (d + κ) - d``, points ``x ± √(d + λ)`` times the columns of the
    Cholesky factor of ``P``).  The predicted measurement averages angle
    components on the circle (weighted circular mean, expressed next to the
    central point's angle) and the others arithmetically; deviations use
    ``model.residual``.  ``P⁺ = P - K S Kᵀ`` (symmetrised), as in Stone Soup's
    ``UnscentedKalmanUpdater``, whose defaults the parameters share.

    Parameters
    ----------
    x, P, z, model, site, rot, R
        As for :func:`ekf_update`.
    alpha : float, optional
        Spread of the sigma points (positive), default 0.5.
    beta : float, optional
        Prior-distribution parameter (2 is optimal for a Gaussian), default 2.
    kappa : float, optional
        Secondary spread (``d + κ > 0``); default ``3 - d``.

    Returns
    -------
    x_post, P_post, nu, S
        As for :func:`ekf_update`; ``S`` is the unscented innovation covariance.

    Raises
    ------
    ValueError
        If ``alpha``, ``beta`` or ``kappa`` is out of range.
    """
    x, P = _pairs(x, P, "ukf_update")
    k, d = x.shape
    wm, wc, spread = _ut_weights(d, alpha, beta, kappa, "ukf_update")
    X = _sigma_points(x, P, spread)
    n = X.shape[1]
    Z = model.h(X.reshape(k * n, d), _per_point(site, 2, n), _per_point(rot, 3, n))
    Z = Z.reshape(k, n, -1)

    zhat = wm @ Z
    angles = model.angle_mask
    if angles.any():
        ref = Z[:, 0, angles]
        dev = Z[:, :, angles] - ref[:, None, :]
        zhat[:, angles] = ref + np.arctan2(wm @ np.sin(dev), wm @ np.cos(dev))
    dZ = model.residual(Z, zhat[:, None, :])
    S = _sym(_weighted_cov(wc, dZ, dZ) + np.asarray(R, dtype=np.float64))
    cross = _weighted_cov(wc, X - x[:, None, :], dZ)
    gain = _gain(cross, S)
    nu = model.residual(z, zhat)
    x_post = x + (gain @ nu[:, :, None])[:, :, 0]
    P_post = P - gain @ S @ _t(gain)
    return x_post, _sym_inplace(P_post), nu, S


def ukf_predict(
    x: ArrayLike,
    P: ArrayLike,
    motion: MotionModel,
    dt: ArrayLike,
    *,
    alpha: float = 0.5,
    beta: float = 2.0,
    kappa: float | None = None,
) -> tuple[Array, Array]:
    """Unscented prediction through a (nonlinear) motion model.

    Sigma points of ``(x, P)`` go through ``motion.transition``; the process
    noise ``motion.noise(dt, x)`` (evaluated at the prior means) is added.

    Parameters
    ----------
    x : array_like, shape (N, d)
        State means.
    P : array_like, shape (N, d, d)
        State covariances.
    motion : MotionModel
        Motion model (``motion.ndim == d``).
    dt : array_like, shape (N,) or scalar
        Time steps, seconds.
    alpha, beta, kappa : float, optional
        Sigma-point parameters, as for :func:`ukf_update`.

    Returns
    -------
    x_pred : ndarray, shape (N, d)
    P_pred : ndarray, shape (N, d, d)
        Symmetrised.

    Raises
    ------
    ValueError
        If ``alpha``, ``beta`` or ``kappa`` is out of range.
    """
    x, P = _pairs(x, P, "ukf_predict")
    k, d = x.shape
    dt = np.asarray(dt, dtype=np.float64)
    if dt.ndim > 1 or dt.size not in (1, k):
        raise ValueError(
            f"ukf_predict expects time steps of shape ({k},) or a scalar, got {dt.shape}"
        )
    dt = np.broadcast_to(dt.reshape(-1) if dt.ndim else dt, (k,))
    wm, wc, spread = _ut_weights(d, alpha, beta, kappa, "ukf_predict")
    X = _sigma_points(x, P, spread)
    n = X.shape[1]
    Xp = motion.transition(X.reshape(k * n, d), np.repeat(dt, n)).reshape(k, n, d)
    mean = wm @ Xp
    dev = Xp - mean[:, None, :]
    P_pred = _weighted_cov(wc, dev, dev)
    P_pred += motion.noise(dt, x)
    return mean, _sym_inplace(P_pred)
