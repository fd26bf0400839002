"""Motion (transition) models for a batch of tracks in the tracking ENU frame.

Every model moves all ``N`` tracks at once: states are ``(N, d)`` arrays,
covariances ``(N, d, d)`` and time steps ``(N,)`` (one per track, or a scalar
for all), in the tangent-plane ENU frame of the deployment origin (east, north,
up; metres, seconds).  State layouts, position first:

- :class:`ConstantVelocity`: ``[x, y, z, vx, vy, vz]`` (d = 6)
- :class:`ConstantAcceleration`: ``[x, y, z, vx, vy, vz, ax, ay, az]`` (d = 9)
- :class:`CoordinatedTurn`: ``[x, y, z, vx, vy, vz, w]`` (d = 7)

Process noise is continuous white noise on the highest derivative, integrated
over the step: ``Q(dt) = ∫ Φ(dt, τ) L Qc Lᵀ Φ(dt, τ)ᵀ dτ`` (closed form for the
linear models, Gauss-Legendre quadrature for the coordinated turn).
A step ``dt`` may be zero (identity, ``Q = 0``), differ per track, and be
negative (retrodiction, for out-of-sequence measurements): the transition then
runs backwards and ``Q(-T) = F(-T) Q(T) F(-T)ᵀ`` is the noise of the interval
mapped back, so its position-velocity terms change sign (Stone Soup uses
``|dt|`` everywhere, which agrees for ``dt >= 0`` only).

No method modifies its inputs.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ConstantAcceleration", "ConstantVelocity", "CoordinatedTurn", "MotionModel"]

Array = NDArray[np.float64]

# Gauss-Legendre rule for the coordinated-turn noise integrals, mapped to [0, 1].
# The integrands are smooth in the turn angle; with 8 nodes the relative error is
# below 1e-13 for |w dt| <= 2 rad and below 1e-7 for |w dt| <= 5 rad, and Q stays
# positive semi-definite for any step (positive weights on PSD terms).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)
_GL_U = 0.5 * (1.0 + _GL_NODES)
_GL_W = 0.5 * _GL_WEIGHTS

# Below this |turn angle| (rad) the 0/0 turn functions use their Taylor series.
_SERIES_BELOW = 0.5


# ------------------------------------------------------------------------- checks


def _check_density(owner: str, name: str, value: object, unit: str) -> float:
    """Return ``value`` as a float if it is a positive finite number, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{owner} {name} must be a positive finite number ({unit}), got {value!r}")
    number = float(value)
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"{owner} {name} must be a positive finite number ({unit}), got {value!r}")
    return number


def _states(x: ArrayLike, ndim: int, owner: str) -> Array:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != ndim:
        raise ValueError(f"{owner} expects states of shape (N, {ndim}), got {arr.shape}")
    return arr


def _covariances(P: ArrayLike, n: int, ndim: int, owner: str) -> Array:
    arr = np.asarray(P, dtype=np.float64)
    if arr.shape != (n, ndim, ndim):
        raise ValueError(
            f"{owner} expects covariances of shape ({n}, {ndim}, {ndim}), got {arr.shape}"
        )
    return arr


def _intervals(dt: ArrayLike, n: int | None, owner: str) -> Array:
    """Time steps as a 1-d float array, broadcast to ``n`` tracks when ``n`` is given."""
    arr = np.asarray(dt, dtype=np.float64)
    if n is None:
        arr = np.atleast_1d(arr)
        if arr.ndim != 1:
            raise ValueError(f"{owner} expects time steps of shape (N,), got {arr.shape}")
        return arr
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n)):
        raise ValueError(f"{owner} expects time steps of shape ({n},) or a scalar, got {arr.shape}")
    return np.broadcast_to(arr, (n,))


def _symmetrise(P: Array) -> Array:
    return 0.5 * (P + np.swapaxes(P, -1, -2))


# ------------------------------------------------------------------------ base


class MotionModel(ABC):
    """A transition model for a batch of tracks (abstract).

    Subclasses give the exact transition ``f(x, dt)``, its Jacobian with respect
    to the state and the process-noise covariance; :meth:`predict` combines them
    into the (extended) Kalman prediction.  ``components`` names the state's
    components in order (position and velocity first).
    """

    components: tuple[str, ...] = ()

    @property
    @abstractmethod
    def ndim(self) -> int:
        """Dimension ``d`` of the state vector."""

    @abstractmethod
    def transition(self, x: ArrayLike, dt: ArrayLike) -> Array:
        """Move states ``dt`` seconds forward (noise-free).

        Parameters
        ----------
        x : array_like, shape (N, d)
            States (SI units, see the module docstring for the layout).
        dt : array_like, shape (N,) or scalar
            Time steps, seconds; zero gives the identity, negative runs backwards.

        Returns
        -------
        ndarray, shape (N, d)
            The moved states (a new array).
        """

    @abstractmethod
    def jacobian(self, x: ArrayLike, dt: ArrayLike) -> Array:
        """Jacobian ``F = ∂f(x, dt)/∂x`` of the transition.

        Parameters
        ----------
        x : array_like, shape (N, d)
            States at which to linearise.
        dt : array_like, shape (N,) or scalar
            Time steps, seconds.

        Returns
        -------
        ndarray, shape (N, d, d)
        """

    @abstractmethod
    def noise(self, dt: ArrayLike, x: ArrayLike | None = None) -> Array:
        """Process-noise covariance ``Q`` accumulated over each step.

        Parameters
        ----------
        dt : array_like, shape (N,)
            Time steps, seconds.
        x : array_like, shape (N, d), optional
            States at the start of the steps; needed only by models whose
            noise depends on the state (:class:`CoordinatedTurn`).

        Returns
        -------
        ndarray, shape (N, d, d)
            Symmetric positive semi-definite; zero where ``dt == 0``.
        """

    def predict(self, x: ArrayLike, P: ArrayLike, dt: ArrayLike) -> tuple[Array, Array]:
        """Extended Kalman prediction of every track.

        ``x' = f(x, dt)`` and ``P' = F P Fᵀ + Q`` with ``F`` the Jacobian at
        ``x``; ``P'`` is symmetrised.

        Parameters
        ----------
        x : array_like, shape (N, d)
            State means.
        P : array_like, shape (N, d, d)
            State covariances.
        dt : array_like, shape (N,) or scalar
            Time steps, seconds (may be zero or negative).

        Returns
        -------
        x_pred : ndarray, shape (N, d)
        P_pred : ndarray, shape (N, d, d)
        """
        owner = f"{type(self).__name__}.predict"
        x = _states(x, self.ndim, owner)
        P = _covariances(P, x.shape[0], self.ndim, owner)
        dt = _intervals(dt, x.shape[0], owner)
        F = self.jacobian(x, dt)
        P_pred = F @ P @ np.swapaxes(F, -1, -2) + self.noise(dt, x)
        return self.transition(x, dt), _symmetrise(P_pred)


# ------------------------------------------------------- linear kinematic chains


class _KinematicChain(MotionModel):
    """Linear model: ``order`` + 1 blocks of 3 axes (position, velocity, ...).

    The highest derivative is driven by white noise of spectral density
    ``densities[axis]`` in each axis.
    """

    _order: int
    _unit: str     # unit of the noise densities
    _densities: Array  # (3,) spectral density per axis (east, north, up)

    def __init__(self, q: float, q_vertical: float | None = None) -> None:
        name = type(self).__name__
        self._q = _check_density(name, "q", q, self._unit)
        self._q_vertical = (
            self._q if q_vertical is None
            else _check_density(name, "q_vertical", q_vertical, self._unit)
        )
        self._densities = np.array([self._q, self._q, self._q_vertical])

    @property
    def q(self) -> float:
        """Horizontal noise spectral density (of the driven derivative), in ``_unit``."""
        return self._q

    @property
    def q_vertical(self) -> float:
        """Vertical noise spectral density, in ``_unit``."""
        return self._q_vertical

    def __repr__(self) -> str:
        return f"{type(self).__name__}(q={self._q!r}, q_vertical={self._q_vertical!r})"

    @property
    def ndim(self) -> int:
        return 3 * (self._order + 1)

    def _couplings(self) -> list[tuple[slice, slice, int]]:
        """(rows, cols, power) of the blocks above the diagonal: F[i, j] = dt**p / p!."""
        out = []
        for i in range(self._order):
            for j in range(i + 1, self._order + 1):
                out.append((slice(3 * i, 3 * i + 3), slice(3 * j, 3 * j + 3), j - i))
        return out

    def transition(self, x: ArrayLike, dt: ArrayLike) -> Array:
        owner = f"{type(self).__name__}.transition"
        x = _states(x, self.ndim, owner)
        dt = _intervals(dt, x.shape[0], owner)[:, None]
        out = x.copy()
        for rows, cols, p in self._couplings():
            out[:, rows] += (dt**p / math.factorial(p)) * x[:, cols]
        return out

    def jacobian(self, x: ArrayLike, dt: ArrayLike) -> Array:
        owner = f"{type(self).__name__}.jacobian"
        x = _states(x, self.ndim, owner)
        dt = _intervals(dt, x.shape[0], owner)
        F = np.zeros((x.shape[0], self.ndim, self.ndim))
        diag = np.arange(self.ndim)
        F[:, diag, diag] = 1.0
        axes = np.arange(3)
        for rows, cols, p in self._couplings():
            F[:, rows.start + axes, cols.start + axes] = (dt**p / math.factorial(p))[:, None]
        return F

    def noise(self, dt: ArrayLike, x: ArrayLike | None = None) -> Array:
        dt = _intervals(dt, None, f"{type(self).__name__}.noise")
        n = self._order
        Q = np.zeros((dt.shape[0], self.ndim, self.ndim))
        axes = np.arange(3)
        adt = np.abs(dt)
        for i in range(n + 1):
            for j in range(n + 1):
                value = self._noise_coef(i, j) * adt * dt ** (2 * n - i - j)
                Q[:, 3 * i + axes, 3 * j + axes] = value[:, None] * self._densities
        return Q

    def predict(self, x: ArrayLike, P: ArrayLike, dt: ArrayLike) -> tuple[Array, Array]:
        # Same result as MotionModel.predict, using the block structure of F (rows,
        # then columns, updated in place on one copy) instead of dense products.
        owner = f"{type(self).__name__}.predict"
        x = _states(x, self.ndim, owner)
        P = _covariances(P, x.shape[0], self.ndim, owner)
        dt = _intervals(dt, x.shape[0], owner)
        couplings = self._couplings()  # block row i only reads rows j > i: in place is safe
        scale = {p: (dt**p / math.factorial(p))[:, None, None] for _, _, p in couplings}
        out = P.copy()
        for rows, cols, p in couplings:
            out[:, rows, :] += scale[p] * out[:, cols, :]
        for rows, cols, p in couplings:
            out[:, :, rows] += scale[p] * out[:, :, cols]
        n = self._order
        adt = np.abs(dt)
        for i in range(n + 1):
            for j in range(n + 1):
                value = self._noise_coef(i, j) * adt * dt ** (2 * n - i - j)
                for axis in range(3):
                    out[:, 3 * i + axis, 3 * j + axis] += value * self._densities[axis]
        np.add(out, np.swapaxes(out, 1, 2), out=out)
        out *= 0.5
        return self.transition(x, dt), out

    def _noise_coef(self, i: int, j: int) -> float:
        """Q[i, j] = coef * sign(dt) * dt**(2n+1-i-j) per unit density, blocks i, j."""
        n = self._order
        p = 2 * n + 1 - i - j
        return 1.0 / (p * math.factorial(n - i) * math.factorial(n - j))


class ConstantVelocity(_KinematicChain):
    """Nearly constant velocity in 3D, state ``[x, y, z, vx, vy, vz]`` (m, m/s).

    Continuous white-noise acceleration with spectral density ``q`` on east and
    north and ``q_vertical`` on up; per axis
    ``Q = q [[|dt|³/3, dt|dt|/2], [dt|dt|/2, |dt|]]``.

    Parameters
    ----------
    q : float
        Acceleration noise spectral density, m²/s³ (positive, finite).
    q_vertical : float, optional
        Spectral density for the up axis, m²/s³; defaults to ``q``.

    Raises
    ------
    ValueError
        If a density is not a positive finite number.

    Examples
    --------
    >>> cv = ConstantVelocity(q=1.0)
    >>> cv.transition([[0.0, 0.0, 100.0, 10.0, 0.0, -1.0]], 2.0).tolist()
    [[20.0, 0.0, 98.0, 10.0, 0.0, -1.0]]
    >>> cv.noise([3.0])[0, 0, :4].tolist()
    [9.0, 0.0, 0.0, 4.5]
    """

    components = ("x", "y", "z", "vx", "vy", "vz")

    _order = 1
    _unit = "m²/s³"


class ConstantAcceleration(_KinematicChain):
    """Nearly constant acceleration in 3D, state ``[x, y, z, vx, vy, vz, ax, ay, az]``.

    Units m, m/s, m/s².  Continuous white-noise jerk with spectral density ``q``
    on east and north and ``q_vertical`` on up; per axis
    ``Q = q [[dt⁵/20, dt⁴/8, dt³/6], [dt⁴/8, dt³/3, dt²/2], [dt³/6, dt²/2, dt]]``
    for ``dt >= 0`` (see the module docstring for ``dt < 0``).

    Parameters
    ----------
    q : float
        Jerk noise spectral density, m²/s⁵ (positive, finite).
    q_vertical : float, optional
        Spectral density for the up axis, m²/s⁵; defaults to ``q``.

    Raises
    ------
    ValueError
        If a density is not a positive finite number.

    Examples
    --------
    >>> ca = ConstantAcceleration(q=0.5)
    >>> ca.transition([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 2.0, 0.0, 0.0]], 2.0)[0, :4].tolist()
    [6.0, 0.0, 0.0, 5.0]
    """

    components = ("x", "y", "z", "vx", "vy", "vz", "ax", "ay", "az")

    _order = 2
    _unit = "m²/s⁵"


# ------------------------------------------------------------- coordinated turn


def _blend(theta: Array, closed: object, coeffs: tuple[float, ...], odd: bool) -> Array:
    """Evaluate a 0/0-at-zero function: Taylor series near 0, ``closed(theta)`` elsewhere.

    The series is ``Σ coeffs[k] θ^(2k)`` (times ``θ`` if ``odd``).
    """
    small = np.abs(theta) < _SERIES_BELOW
    safe = np.where(small, 1.0, theta)
    t2 = theta * theta
    series = np.zeros_like(theta)
    for c in reversed(coeffs):
        series = series * t2 + c
    if odd:
        series = series * theta
    return np.where(small, series, closed(safe))  # type: ignore[operator]


_TERMS = range(1, 10)
# (θ cos θ - sin θ) / θ² = Σ_{k≥1} (-1)^k 2k θ^(2k-1) / (2k+1)!
_DSINC = tuple((-1) ** k * 2 * k / math.factorial(2 * k + 1) for k in _TERMS)
# (θ sin θ - 1 + cos θ) / θ² = Σ_{k≥1} (-1)^(k+1) (2k-1) θ^(2k-2) / (2k)!
_DCOSC = tuple((-1) ** (k + 1) * (2 * k - 1) / math.factorial(2 * k) for k in _TERMS)
# (θ - sin θ) / θ² = Σ_{k≥1} (-1)^(k+1) θ^(2k-1) / (2k+1)!
_SINM = tuple((-1) ** (k + 1) / math.factorial(2 * k + 1) for k in _TERMS)


def _sinc(theta: Array) -> Array:
    """sin θ / θ."""
    return np.sinc(theta / np.pi)


def _cosc(theta: Array) -> Array:
    """(1 - cos θ) / θ = (θ/2) sinc²(θ/2)."""
    half = 0.5 * theta
    s = _sinc(half)
    return half * s * s


def _cosc2(theta: Array) -> Array:
    """(1 - cos θ) / θ² = sinc²(θ/2) / 2."""
    s = _sinc(0.5 * theta)
    return 0.5 * s * s


def _dsinc(theta: Array) -> Array:
    """d/dθ (sin θ / θ) = (θ cos θ - sin θ) / θ²."""
    return _blend(theta, lambda t: (t * np.cos(t) - np.sin(t)) / (t * t), _DSINC, odd=True)


def _dcosc(theta: Array) -> Array:
    """d/dθ ((1 - cos θ) / θ) = (θ sin θ - 1 + cos θ) / θ²."""
    return _blend(theta, lambda t: (t * np.sin(t) - 1.0 + np.cos(t)) / (t * t), _DCOSC, odd=False)


def _sinm(theta: Array) -> Array:
    """(θ - sin θ) / θ²."""
    return _blend(theta, lambda t: (t - np.sin(t)) / (t * t), _SINM, odd=True)


class CoordinatedTurn(MotionModel):
    """Coordinated turn in the horizontal plane, nearly constant velocity vertically.

    State ``[x, y, z, vx, vy, vz, w]`` (m, m/s, rad/s).  The horizontal velocity
    keeps its speed and turns at rate ``w``; **``w > 0`` turns counter-clockwise
    seen from above, i.e. to the left** (east towards north), ``w < 0`` to the
    right.  Over a step ``dt`` with ``θ = w dt``::

        x'  = x + (vx sin θ - vy (1 - cos θ)) / w      vx' = vx cos θ - vy sin θ
        y'  = y + (vx (1 - cos θ) + vy sin θ) / w      vy' = vx sin θ + vy cos θ
        z'  = z + vz dt                                vz' = vz,   w' = w

    evaluated through ``sin θ / θ`` and friends so that ``w → 0`` is the exact
    constant-velocity limit (Taylor series below ``|θ| = 0.5``, no division by
    zero).  Same dynamics and sign as Stone Soup's ``ConstantTurn`` (whose state
    order is ``[x, vx, y, vy, w]``).

    Process noise: white acceleration of spectral density ``q`` on east and north,
    ``q_vertical`` on up, and white turn-rate acceleration of density ``q_w``,
    propagated through the turn linearised about the noise-free trajectory
    (``Q = ∫ Φ(dt, τ) L Qc Lᵀ Φ(dt, τ)ᵀ dτ``, 8-point Gauss-Legendre on scalar
    integrands: relative error < 1e-13 for ``|w dt| <= 2`` rad, and positive
    semi-definite for any step).  It therefore depends on the
    state: turn-rate noise spreads across the velocity (a 50 m/s target with
    ``q_w = 0.01`` rad²/s³ gains ``q_w v² dt⁵/20 = 40`` m² of across-track
    position variance in a 2 s step, which a per-axis model misses).  Stone Soup's
    ``ConstantTurn`` keeps only the per-axis blocks; the two agree when
    ``w = 0`` and the velocity is zero.

    Parameters
    ----------
    q : float
        Horizontal acceleration noise spectral density, m²/s³.
    q_w : float
        Turn-rate noise spectral density, rad²/s³.
    q_vertical : float, optional
        Vertical acceleration noise spectral density, m²/s³; defaults to ``q``.

    Raises
    ------
    ValueError
        If a density is not a positive finite number.

    Examples
    --------
    A target heading north at 10 m/s turning left at 0.1 rad/s drifts west:

    >>> ct = CoordinatedTurn(q=1.0, q_w=0.01)
    >>> x = ct.transition([[0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.1]], 1.0)
    >>> bool(x[0, 0] < 0.0 and x[0, 3] < 0.0)
    True
    """

    components = ("x", "y", "z", "vx", "vy", "vz", "w")

    def __init__(self, q: float, q_w: float, q_vertical: float | None = None) -> None:
        self._q = _check_density("CoordinatedTurn", "q", q, "m²/s³")
        self._q_w = _check_density("CoordinatedTurn", "q_w", q_w, "rad²/s³")
        self._q_vertical = (
            self._q
            if q_vertical is None
            else _check_density("CoordinatedTurn", "q_vertical", q_vertical, "m²/s³")
        )

    @property
    def ndim(self) -> int:
        return 7

    @property
    def q(self) -> float:
        """Horizontal acceleration noise spectral density, m²/s³."""
        return self._q

    @property
    def q_w(self) -> float:
        """Turn-rate noise spectral density, rad²/s³."""
        return self._q_w

    @property
    def q_vertical(self) -> float:
        """Vertical acceleration noise spectral density, m²/s³."""
        return self._q_vertical

    def __repr__(self) -> str:
        return f"CoordinatedTurn(q={self._q!r}, q_w={self._q_w!r}, q_vertical={self._q_vertical!r})"

    def transition(self, x: ArrayLike, dt: ArrayLike) -> Array:
        owner = "CoordinatedTurn.transition"
        x = _states(x, 7, owner)
        dt = _intervals(dt, x.shape[0], owner)
        vx, vy, vz, w = x[:, 3], x[:, 4], x[:, 5], x[:, 6]
        theta = w * dt
        s1 = dt * _sinc(theta)  # sin(θ)/w
        c1 = dt * _cosc(theta)  # (1 - cos θ)/w
        cos, sin = np.cos(theta), np.sin(theta)
        out = np.empty_like(x)
        out[:, 0] = x[:, 0] + vx * s1 - vy * c1
        out[:, 1] = x[:, 1] + vx * c1 + vy * s1
        out[:, 2] = x[:, 2] + vz * dt
        out[:, 3] = vx * cos - vy * sin
        out[:, 4] = vx * sin + vy * cos
        out[:, 5] = vz
        out[:, 6] = w
        return out

    def jacobian(self, x: ArrayLike, dt: ArrayLike) -> Array:
        owner = "CoordinatedTurn.jacobian"
        x = _states(x, 7, owner)
        dt = _intervals(dt, x.shape[0], owner)
        vx, vy, w = x[:, 3], x[:, 4], x[:, 6]
        theta = w * dt
        s1 = dt * _sinc(theta)
        c1 = dt * _cosc(theta)
        ds1 = dt * dt * _dsinc(theta)  # ∂(sin(θ)/w)/∂w
        dc1 = dt * dt * _dcosc(theta)  # ∂((1 - cos θ)/w)/∂w
        cos, sin = np.cos(theta), np.sin(theta)
        F = np.zeros((x.shape[0], 7, 7))
        diag = np.arange(7)
        F[:, diag, diag] = 1.0
        F[:, 0, 3], F[:, 0, 4], F[:, 0, 6] = s1, -c1, vx * ds1 - vy * dc1
        F[:, 1, 3], F[:, 1, 4], F[:, 1, 6] = c1, s1, vx * dc1 + vy * ds1
        F[:, 2, 5] = dt
        F[:, 3, 3], F[:, 3, 4], F[:, 3, 6] = cos, -sin, -dt * (vx * sin + vy * cos)
        F[:, 4, 3], F[:, 4, 4], F[:, 4, 6] = sin, cos, dt * (vx * cos - vy * sin)
        return F

    def noise(self, dt: ArrayLike, x: ArrayLike | None = None) -> Array:
        owner = "CoordinatedTurn.noise"
        if x is None:
            raise ValueError(
                f"{owner} needs the states x: the coordinated-turn process noise depends "
                "on the turn rate and the velocity"
            )
        x = _states(x, 7, owner)
        dt = _intervals(dt, x.shape[0], owner)
        q, qw, qv = self._q, self._q_w, self._q_vertical
        adt = np.abs(dt)
        w = x[:, 6]
        # Velocity at the end of the step (v) and v turned left by 90° (u).
        theta = w * dt
        cos, sin = np.cos(theta), np.sin(theta)
        v = np.stack([x[:, 3] * cos - x[:, 4] * sin, x[:, 3] * sin + x[:, 4] * cos], axis=-1)
        u = np.stack([-v[:, 1], v[:, 0]], axis=-1)

        # Quadrature over s = time from the noise impulse to the end of the step.
        s = dt[:, None] * _GL_U  # (N, m), signed
        wt = adt[:, None] * _GL_W  # (N, m), sign(dt) * ds
        th = w[:, None] * s
        c2 = _cosc2(th)
        hr = s * s * _sinm(th)  # position response to a turn-rate impulse, along v
        hi = s * s * c2  # ... and along u

        def integral(f: Array) -> Array:
            return np.asarray(np.sum(wt * f, axis=1), dtype=np.float64)

        # Horizontal white acceleration (isotropic): the responses are rotations.
        a_pp = integral(2.0 * s * s * c2)  # ∫ |(e^{iws} - 1)/(iw)|² ds
        a_pv = integral(s * _sinc(th))
        a_pv_cross = integral(s * _cosc(th))
        # Turn-rate white noise: position response hr v + hi u, velocity s u.
        i_r, i_i = integral(hr), integral(hi)
        is_r, is_i = integral(s * hr), integral(s * hi)
        i_rr, i_ri, i_ii = integral(hr * hr), integral(hr * hi), integral(hi * hi)

        def outer(a: Array, b: Array) -> Array:
            return a[:, :, None] * b[:, None, :]

        def scaled(c: Array, m: Array) -> Array:
            return c[:, None, None] * m

        vv, uu, vu = outer(v, v), outer(u, u), outer(v, u)
        eye2 = np.eye(2)
        q_pp = scaled(q * a_pp, eye2) + qw * (
            scaled(i_rr, vv) + scaled(i_ri, vu + np.swapaxes(vu, 1, 2)) + scaled(i_ii, uu)
        )
        rot = np.stack(
            [np.stack([a_pv, a_pv_cross], -1), np.stack([-a_pv_cross, a_pv], -1)], axis=1
        )
        q_pv = q * rot + qw * (scaled(is_r, vu) + scaled(is_i, uu))
        q_vv = scaled(q * adt, eye2) + scaled(qw * adt * dt * dt / 3.0, uu)

        Q = np.zeros((x.shape[0], 7, 7))
        Q[:, 0:2, 0:2] = q_pp
        Q[:, 0:2, 3:5] = q_pv
        Q[:, 3:5, 0:2] = np.swapaxes(q_pv, 1, 2)
        Q[:, 3:5, 3:5] = q_vv
        q_pw = qw * (i_r[:, None] * v + i_i[:, None] * u)
        q_vw = qw * (0.5 * adt * dt)[:, None] * u
        Q[:, 0:2, 6] = Q[:, 6, 0:2] = q_pw
        Q[:, 3:5, 6] = Q[:, 6, 3:5] = q_vw
        Q[:, 6, 6] = qw * adt
        Q[:, 2, 2] = qv * adt * dt * dt / 3.0
        Q[:, 2, 5] = Q[:, 5, 2] = qv * 0.5 * adt * dt
        Q[:, 5, 5] = qv * adt
        return Q
