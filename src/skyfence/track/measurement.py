"""Measurement models for a batch of detections, one model per detection kind.

Tracks live in the tangent-plane ENU frame of the deployment origin (the
*tracking frame*).  Each of the ``K`` detections in a batch carries its sensor's
site and orientation:

``site`` ``(K, 3)``
    Sensor position in the tracking frame, metres (:func:`site_position`).
``rot`` ``(K, 3, 3)``
    Rotation from the tracking-frame axes to the sensor's own local ENU axes
    (:func:`enu_rotation`).  A sensor 150 km away has its own north and up, so
    its azimuth is measured clockwise from *its* true north and its elevation
    above *its* local horizontal.

A single ``(3,)`` site or ``(3, 3)`` rotation broadcasts over all detections;
``None`` for ``site`` or ``rot`` means the sensor is at the tracking origin or
its axes are the tracking axes.  Measurement vectors (SI units, radians):

- :class:`Radar3D`: ``[range, azimuth, elevation(, radial_velocity)]``
- :class:`Radar2D`: ``[slant range, azimuth(, radial_velocity)]``
- :class:`Bearing`: ``[azimuth]``
- :class:`BearingElevation`: ``[azimuth, elevation]``
- :class:`Position`: ``[x, y, z]`` in the tracking frame

Sign conventions: azimuth clockwise from the sensor's true north, in
``[0, 2π)``; elevation positive above the sensor's horizontal, in
``[-π/2, π/2]``; radial velocity ``v · (p - site) / |p - site|``, positive
receding (the sensor is at rest).  Models accept any state whose first six
entries are ``[x, y, z, vx, vy, vz]`` (the position models only read the
first three), so they serve every motion model of :mod:`skyfence.track.motion`.

Angles are undefined for a target at the sensor (and azimuth for one straight
above it): the value there is NaN or arbitrary and the Jacobian NaN/inf,
without a warning.  No function modifies its inputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.geo import geodesy

__all__ = [
    "Bearing",
    "BearingElevation",
    "MeasurementModel",
    "Position",
    "Radar2D",
    "Radar3D",
    "enu_rotation",
    "site_position",
]

Array = NDArray[np.float64]

_TWO_PI = 2.0 * np.pi


# -------------------------------------------------------------------- frames


def enu_rotation(
    lat_deg: ArrayLike, lon_deg: ArrayLike, lat0_deg: ArrayLike, lon0_deg: ArrayLike
) -> Array:
    """Rotation from the tracking ENU axes to the local ENU axes at sensor sites.

    ``rot = R_enu(site) · R_enu(origin)ᵀ``, where ``R_enu(φ, λ)`` maps ECEF
    vector components to local east/north/up ones (WGS84 geodetic normal).

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (K,)
        Geodetic latitude and longitude of the sensor sites, degrees.
    lat0_deg, lon0_deg : array_like
        Geodetic latitude and longitude of the tracking origin, degrees.

    Returns
    -------
    ndarray, shape (K, 3, 3)
        ``rot[k] @ v`` gives the sensor-local ENU components of a tracking-frame
        vector ``v``; each is orthonormal with determinant 1.

    Examples
    --------
    >>> rot = enu_rotation(55.0, 26.0, 55.0, 24.0)
    >>> rot.shape
    (1, 3, 3)
    >>> north = rot[0] @ [0.0, 1.0, 0.0]  # the origin's north, seen at the site
    >>> round(float(np.degrees(np.arctan2(north[0], north[1]))), 3)  # its azimuth there
    1.638
    """
    lat, lon, lat0, lon0 = np.broadcast_arrays(
        *(np.asarray(a, dtype=np.float64) for a in (lat_deg, lon_deg, lat0_deg, lon0_deg))
    )
    lat, lon, lat0, lon0 = (np.atleast_1d(a) for a in (lat, lon, lat0, lon0))
    r = _ecef_to_enu(lat, lon)
    if np.all(lat0 == lat0[0]) and np.all(lon0 == lon0[0]):
        # one origin (the usual case): r @ r0ᵀ written out as nine vector sums (neither K
        # small matrix products nor a BLAS call, which may spin threads)
        r0 = _ecef_to_enu(lat0[:1], lon0[:1])[0]
        out = np.empty_like(r)
        for i in range(3):
            for j in range(3):
                out[..., i, j] = r[..., i, 0] * r0[j, 0] + r[..., i, 1] * r0[j, 1] + \
                    r[..., i, 2] * r0[j, 2]
        return out
    r0 = _ecef_to_enu(lat0, lon0)
    return np.einsum("...ik,...jk->...ij", r, r0)


def _ecef_to_enu(lat_deg: Array, lon_deg: Array) -> Array:
    """``R_enu(φ, λ)`` (K, 3, 3): ECEF vector components to local east/north/up."""
    phi, lam = np.radians(lat_deg), np.radians(lon_deg)
    sp, cp, sl, cl = np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)
    r = np.empty((*phi.shape, 3, 3))
    r[..., 0, 0], r[..., 0, 1], r[..., 0, 2] = -sl, cl, 0.0
    r[..., 1, 0], r[..., 1, 1], r[..., 1, 2] = -sp * cl, -sp * sl, cp
    r[..., 2, 0], r[..., 2, 1], r[..., 2, 2] = cp * cl, cp * sl, sp
    return r


def site_position(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    alt_m: ArrayLike,
    lat0_deg: ArrayLike,
    lon0_deg: ArrayLike,
    alt0_m: ArrayLike,
) -> Array:
    """Sensor sites in the tracking frame (:func:`skyfence.geo.geodesy.geodetic2enu`).

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (K,)
        Geodetic latitude and longitude of the sites, degrees.
    alt_m : array_like, shape (K,)
        Site heights above the WGS84 ellipsoid, metres.
    lat0_deg, lon0_deg, alt0_m : array_like
        The tracking origin (degrees, degrees, metres).

    Returns
    -------
    ndarray, shape (K, 3)
        East, north, up of each site, metres.

    Examples
    --------
    >>> (site_position(55.0, 24.0, 150.0, 55.0, 24.0, 100.0).round(9) + 0.0).tolist()
    [[0.0, 0.0, 50.0]]
    """
    enu = geodesy.geodetic2enu(lat_deg, lon_deg, alt_m, lat0_deg, lon0_deg, alt0_m)
    return np.atleast_2d(np.stack(enu, axis=-1))


# ---------------------------------------------------------------------- base


def _state_array(x: ArrayLike, min_dim: int, owner: str) -> Array:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] < min_dim:
        raise ValueError(
            f"{owner} expects states of shape (K, d) with d >= {min_dim}, got {arr.shape}"
        )
    return arr


def _offsets(x: Array, site: ArrayLike | None) -> Array:
    """``p - site`` in the tracking frame, shape (K, 3)."""
    pos = x[:, :3]
    return pos - np.asarray(site, dtype=np.float64) if site is not None else pos.copy()


def _dot3(a: Array, b: Array) -> Array:
    """Row-wise dot product of (K, 3) arrays."""
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _to_sensor(vec: Array, rot: ArrayLike | None) -> Array:
    """Tracking-frame vectors (K, 3) in the sensor's local ENU axes."""
    if rot is None:
        return vec
    return (np.asarray(rot, dtype=np.float64) @ vec[:, :, None])[:, :, 0]


class MeasurementModel(ABC):
    """Measurement function of one detection kind, batched over detections (abstract).

    Subclasses set :attr:`ndim_meas`, :attr:`angle_mask` and implement
    :meth:`h` and :meth:`jacobian`.
    """

    #: Components that are angles (wrapped by :meth:`residual`), shape (m,).
    angle_mask: NDArray[np.bool_]
    #: Smallest state dimension the model reads.
    min_state_dim: int = 3

    @property
    def ndim_meas(self) -> int:
        """Dimension ``m`` of a measurement vector."""
        return int(self.angle_mask.shape[0])

    @abstractmethod
    def h(self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None) -> Array:
        """Predicted measurements of states ``x`` seen by each detection's sensor.

        Parameters
        ----------
        x : array_like, shape (K, d)
            States ``[x, y, z, vx, vy, vz, ...]`` in the tracking frame.
        site : array_like, shape (K, 3), optional
            Sensor positions in the tracking frame, metres.
        rot : array_like, shape (K, 3, 3), optional
            Rotations from tracking-frame axes to sensor-local ENU axes.

        Returns
        -------
        ndarray, shape (K, m)
        """

    @abstractmethod
    def jacobian(
        self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None
    ) -> Array:
        """Jacobian ``∂h/∂x`` at ``x``, shape (K, m, d) (zero beyond the entries read)."""

    def residual(self, z: ArrayLike, zhat: ArrayLike) -> Array:
        """Difference ``z - zhat`` with angle components wrapped to (−π, π].

        Parameters
        ----------
        z, zhat : array_like, shape (..., m)
            Measurements and predicted measurements (broadcast).

        Returns
        -------
        ndarray, shape (..., m)
        """
        diff = np.asarray(z, dtype=np.float64) - np.asarray(zhat, dtype=np.float64)
        if diff.shape[-1:] != (self.ndim_meas,):
            raise ValueError(
                f"{type(self).__name__}.residual expects measurements of shape (..., "
                f"{self.ndim_meas}), got {diff.shape}"
            )
        if self.angle_mask.any():
            angles = diff[..., self.angle_mask]
            diff[..., self.angle_mask] = np.pi - np.mod(np.pi - angles, _TWO_PI)
        return diff

    def covariance(self, sigmas: ArrayLike) -> Array:
        """Diagonal measurement covariance from 1-σ errors.

        Parameters
        ----------
        sigmas : array_like, shape (K, m)
            1-σ error of each component, in the measurement's units (m, rad, m/s).

        Returns
        -------
        ndarray, shape (K, m, m)
            ``diag(sigmas²)``.
        """
        s = np.asarray(sigmas, dtype=np.float64)
        if s.ndim < 1 or s.shape[-1] != self.ndim_meas:
            raise ValueError(
                f"{type(self).__name__}.covariance expects sigmas of shape (K, "
                f"{self.ndim_meas}), got {s.shape}"
            )
        R = np.zeros(s.shape + (self.ndim_meas,))
        idx = np.arange(self.ndim_meas)
        R[..., idx, idx] = s * s
        return R


# -------------------------------------------------------- spherical family


def _check_flag(owner: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{owner} with_radial_velocity must be a bool, got {value!r}")
    return bool(value)


class _Spherical(MeasurementModel):
    """Range / azimuth / elevation / radial-velocity components in the sensor frame."""

    _components: tuple[str, ...]

    def __init__(self, components: tuple[str, ...]) -> None:
        self._components = components
        self.angle_mask = np.array([c in ("azimuth", "elevation") for c in components])
        self.angle_mask.setflags(write=False)
        self.min_state_dim = 6 if "radial_velocity" in components else 3

    @property
    def components(self) -> tuple[str, ...]:
        """Names of the measurement components, in order."""
        return self._components

    def h(self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None) -> Array:
        x = _state_array(x, self.min_state_dim, f"{type(self).__name__}.h")
        dp = _offsets(x, site)
        e, n, u = _to_sensor(dp, rot).T
        rho2 = e * e + n * n
        r = np.sqrt(rho2 + u * u)
        out = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for c in self._components:
                if c == "range":
                    out.append(r)
                elif c == "azimuth":
                    az = np.mod(np.arctan2(e, n), _TWO_PI)
                    out.append(np.where(az >= _TWO_PI, 0.0, az))
                elif c == "elevation":
                    out.append(np.arctan2(u, np.sqrt(rho2)))
                else:
                    out.append(_dot3(x[:, 3:6], dp) / r)
        return np.stack(out, axis=-1)

    def jacobian(
        self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None
    ) -> Array:
        x = _state_array(x, self.min_state_dim, f"{type(self).__name__}.jacobian")
        dp = _offsets(x, site)
        local = _to_sensor(dp, rot)
        e, n, u = local.T
        rho2 = e * e + n * n
        r2 = rho2 + u * u
        r = np.sqrt(r2)
        rho = np.sqrt(rho2)
        k, m = x.shape[0], self.ndim_meas
        # Position rows in sensor axes (G), chained through rot at the end.
        G = np.zeros((k, m, 3))
        H = np.zeros((k, m, x.shape[1]))
        with np.errstate(invalid="ignore", divide="ignore"):
            for i, c in enumerate(self._components):
                if c == "range":
                    G[:, i, :] = local / r[:, None]
                elif c == "azimuth":
                    G[:, i, 0] = n / rho2
                    G[:, i, 1] = -e / rho2
                elif c == "elevation":
                    G[:, i, 0] = -u * e / (r2 * rho)
                    G[:, i, 1] = -u * n / (r2 * rho)
                    G[:, i, 2] = rho / r2
            H[:, :, :3] = G if rot is None else G @ np.asarray(rot, dtype=np.float64)
            if "radial_velocity" in self._components:  # rotation-invariant
                i = self._components.index("radial_velocity")
                los = dp / r[:, None]
                vel = x[:, 3:6]
                rv = _dot3(los, vel)
                H[:, i, :3] = (vel - rv[:, None] * los) / r[:, None]
                H[:, i, 3:6] = los
        return H


class Radar3D(_Spherical):
    """3D radar: ``z = [range, azimuth, elevation(, radial_velocity)]`` (m, rad, rad, m/s).

    Parameters
    ----------
    with_radial_velocity : bool
        Whether detections carry a radial velocity (positive receding).

    Raises
    ------
    TypeError
        If ``with_radial_velocity`` is not a bool.

    Examples
    --------
    >>> radar = Radar3D(with_radial_velocity=True)
    >>> z = radar.h([[1000.0, 0.0, 0.0, 10.0, 0.0, 0.0]])
    >>> (z[0] / [1.0, np.pi / 2, 1.0, 1.0]).round(12).tolist()  # due east, receding
    [1000.0, 1.0, 0.0, 10.0]
    """

    def __init__(self, with_radial_velocity: bool) -> None:
        self.with_radial_velocity = _check_flag("Radar3D", with_radial_velocity)
        rv = ("radial_velocity",) if self.with_radial_velocity else ()
        super().__init__(("range", "azimuth", "elevation", *rv))

    def __repr__(self) -> str:
        return f"Radar3D(with_radial_velocity={self.with_radial_velocity})"

    def inverse(
        self, z: ArrayLike, site: ArrayLike | None, rot: ArrayLike | None, R: ArrayLike
    ) -> tuple[Array, Array]:
        """Position and its covariance in the tracking frame from a measurement.

        The covariance is the first-order (linearised) transform of the
        range/azimuth/elevation block of ``R``; a radial velocity is ignored.

        Parameters
        ----------
        z : array_like, shape (K, m)
            Measurements ``[range, azimuth, elevation(, radial_velocity)]``.
        site : array_like, shape (K, 3) or None
            Sensor positions in the tracking frame, metres.
        rot : array_like, shape (K, 3, 3) or None
            Rotations from tracking-frame axes to sensor-local ENU axes.
        R : array_like, shape (K, m, m)
            Measurement covariances.

        Returns
        -------
        pos : ndarray, shape (K, 3)
            Positions in the tracking frame, metres.
        cov : ndarray, shape (K, 3, 3)
            Their covariances, m².
        """
        z = np.asarray(z, dtype=np.float64)
        R = np.asarray(R, dtype=np.float64)
        if z.ndim != 2 or z.shape[1] != self.ndim_meas:
            raise ValueError(
                f"Radar3D.inverse expects z of shape (K, {self.ndim_meas}), got {z.shape}"
            )
        r, az, el = z[:, 0], z[:, 1], z[:, 2]
        ce, se, ca, sa = np.cos(el), np.sin(el), np.cos(az), np.sin(az)
        local = np.stack([r * ce * sa, r * ce * ca, r * se], axis=-1)
        # J[k] = ∂(e, n, u)/∂(r, az, el) in sensor axes.
        J = np.stack(
            [
                np.stack([ce * sa, r * ce * ca, -r * se * sa], axis=-1),
                np.stack([ce * ca, -r * ce * sa, -r * se * ca], axis=-1),
                np.stack([se, np.zeros_like(r), r * ce], axis=-1),
            ],
            axis=1,
        )
        if rot is not None:
            rot_t = np.swapaxes(np.asarray(rot, dtype=np.float64), -1, -2)
            local = (rot_t @ local[:, :, None])[:, :, 0]
            J = rot_t @ J
        pos = local if site is None else local + np.asarray(site, dtype=np.float64)
        cov = J @ R[:, :3, :3] @ np.swapaxes(J, -1, -2)
        return pos, 0.5 * (cov + np.swapaxes(cov, -1, -2))


class Radar2D(_Spherical):
    """2D surveillance radar: ``z = [slant range, azimuth(, radial_velocity)]`` (m, rad, m/s).

    The range is the 3D slant range (a 2D radar does not measure elevation, but
    its range is still to the target, not to its ground projection).

    Parameters
    ----------
    with_radial_velocity : bool
        Whether detections carry a radial velocity (positive receding).

    Raises
    ------
    TypeError
        If ``with_radial_velocity`` is not a bool.
    """

    def __init__(self, with_radial_velocity: bool) -> None:
        self.with_radial_velocity = _check_flag("Radar2D", with_radial_velocity)
        rv = ("radial_velocity",) if self.with_radial_velocity else ()
        super().__init__(("range", "azimuth", *rv))

    def __repr__(self) -> str:
        return f"Radar2D(with_radial_velocity={self.with_radial_velocity})"


class Bearing(_Spherical):
    """Passive direction finder (RF, acoustic): ``z = [azimuth]`` (rad)."""

    def __init__(self) -> None:
        super().__init__(("azimuth",))

    def __repr__(self) -> str:
        return "Bearing()"


class BearingElevation(_Spherical):
    """Passive angle sensor (EO/IR): ``z = [azimuth, elevation]`` (rad)."""

    def __init__(self) -> None:
        super().__init__(("azimuth", "elevation"))

    def __repr__(self) -> str:
        return "BearingElevation()"


# ------------------------------------------------------------------ position


class Position(MeasurementModel):
    """A reported position (Remote ID, ADS-B): ``z = [x, y, z]`` in the tracking frame (m).

    ``site`` and ``rot`` are accepted for a uniform interface and ignored.
    """

    angle_mask = np.zeros(3, dtype=bool)
    angle_mask.setflags(write=False)
    min_state_dim = 3

    def __repr__(self) -> str:
        return "Position()"

    def h(self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None) -> Array:
        return _state_array(x, 3, "Position.h")[:, :3].copy()

    def jacobian(
        self, x: ArrayLike, site: ArrayLike | None = None, rot: ArrayLike | None = None
    ) -> Array:
        x = _state_array(x, 3, "Position.jacobian")
        H = np.zeros((x.shape[0], 3, x.shape[1]))
        H[:, [0, 1, 2], [0, 1, 2]] = 1.0
        return H

    def inverse(
        self, z: ArrayLike, site: ArrayLike | None, rot: ArrayLike | None, R: ArrayLike
    ) -> tuple[Array, Array]:
        """Position and covariance from a measurement: copies of ``z`` and ``R``.

        Parameters
        ----------
        z : array_like, shape (K, 3)
            Reported positions in the tracking frame, metres.
        site, rot : ignored
        R : array_like, shape (K, 3, 3)
            Their covariances, m².

        Returns
        -------
        pos : ndarray, shape (K, 3)
        cov : ndarray, shape (K, 3, 3)
        """
        return np.array(z, dtype=np.float64), np.array(R, dtype=np.float64)
