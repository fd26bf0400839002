"""A deployment's local frame: a flat map plane for simulation and the true local ENU.

:class:`LocalFrame` bundles two different local coordinate systems centred on one
deployment origin ``(lat0, lon0, alt0)``:

Map plane
    An azimuthal equidistant (aeqd) projection of the WGS84 ellipsoid centred on
    ``(lat0, lon0)``: ``x`` east-ish, ``y`` north-ish, metres.  Distances and
    directions *from the centre* are true; elsewhere the map's axes are rotated
    against true east/north by the meridian convergence (about 2.6° 200 km east of
    a 55°N centre) and distances across the radial direction are slightly
    stretched (scale 1 + ρ²/6R², 1.00016 at 200 km).  It is a convenient flat
    plane in which to move simulated targets; convert velocities with
    :meth:`LocalFrame.map_velocity_to_enu` before reporting them as true
    east/north.

Tangent-plane ENU
    The true local east/north/up Cartesian frame at the origin
    (:func:`skyfence.geo.geodesy.geodetic2enu`), metres.  It is what a sensor at
    the origin measures in; it is *not* the same as the map plane away from the
    origin (ENU ``up`` curves away from the ground, the map plane does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Transformer

from skyfence.geo import geodesy

__all__ = ["LocalFrame"]

Array = NDArray[np.float64]

# Half-step of the central differences in map_velocity_to_enu, metres of map plane.
# Truncation error ~ (step / R)^2 ~ 1e-12, rounding ~ 1e-9 m / step ~ 1e-10.
_FD_STEP_M = 10.0


def _transform(transformer: Transformer, a: Array, b: Array, direction: str) -> tuple[Array, Array]:
    """Run a pyproj transform on broadcast arrays of any shape; failures become NaN."""
    shape = a.shape
    a_flat = np.array(a, dtype=np.float64, order="C").ravel()
    b_flat = np.array(b, dtype=np.float64, order="C").ravel()
    out_a, out_b = transformer.transform(a_flat, b_flat, direction=direction)
    out_a = np.reshape(np.asarray(out_a, dtype=np.float64), shape)
    out_b = np.reshape(np.asarray(out_b, dtype=np.float64), shape)
    bad = ~(np.isfinite(out_a) & np.isfinite(out_b))
    return np.where(bad, np.nan, out_a), np.where(bad, np.nan, out_b)


@dataclass(frozen=True)
class LocalFrame:
    """Local frame of a deployment centred on ``(lat0_deg, lon0_deg, alt0_m)``.

    Immutable and hashable; the pyproj transformer is built once per frame.  All
    methods broadcast like numpy ufuncs, propagate NaN and never modify their
    inputs.

    Parameters
    ----------
    lat0_deg, lon0_deg : float
        Geodetic latitude and longitude of the origin, degrees (WGS84).
    alt0_m : float, optional
        Height of the origin above the WGS84 ellipsoid, metres; the origin of
        the tangent-plane ENU (the map plane lies on the ellipsoid).

    Raises
    ------
    ValueError
        If a parameter is not finite or the latitude is outside [-90, 90].

    Examples
    --------
    >>> frame = LocalFrame(55.0, 24.0, 100.0)
    >>> x, y = frame.to_map(55.0, 24.0)
    >>> float(x), float(y)
    (0.0, 0.0)
    >>> lat, lon = frame.from_map(0.0, 1000.0)
    >>> round(float(lat), 6), round(float(lon), 6)
    (55.008983, 24.0)
    """

    lat0_deg: float
    lon0_deg: float
    alt0_m: float = 0.0
    _transformer: Transformer = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        values = {"lat0_deg": self.lat0_deg, "lon0_deg": self.lon0_deg, "alt0_m": self.alt0_m}
        for name, value in values.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"LocalFrame {name} must be a number, got {value!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"LocalFrame {name} must be finite, got {value!r}")
            object.__setattr__(self, name, number)
        if abs(self.lat0_deg) > 90.0:
            raise ValueError(
                f"LocalFrame lat0_deg must be within [-90, 90] degrees, got {self.lat0_deg!r}"
            )
        crs = CRS.from_proj4(
            f"+proj=aeqd +lat_0={self.lat0_deg!r} +lon_0={self.lon0_deg!r} "
            "+x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
        )
        transformer = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
        object.__setattr__(self, "_transformer", transformer)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild the transformer on unpickling rather than pickling it.
        return (type(self), (self.lat0_deg, self.lon0_deg, self.alt0_m))

    # ------------------------------------------------------------------ map plane

    def to_map(self, lat: ArrayLike, lon: ArrayLike, deg: bool = True) -> tuple[Array, Array]:
        """Project geodetic coordinates onto the map plane.

        Parameters
        ----------
        lat, lon : array_like
            Geodetic latitude and longitude, degrees (radians if ``deg=False``).
        deg : bool, optional
            Angles in degrees (default) or radians.

        Returns
        -------
        x_east_m, y_north_m : ndarray
            Map-plane coordinates, metres (axes east/north at the origin only).

        Examples
        --------
        >>> x, y = LocalFrame(0.0, 0.0).to_map(0.0, 1.0)
        >>> round(float(x), 3), round(float(y), 3)
        (111319.491, 0.0)
        """
        lat, lon = np.broadcast_arrays(
            np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
        )
        if not deg:
            lat, lon = np.degrees(lat), np.degrees(lon)
        lat = np.where(np.abs(lat) <= 90.0, lat, np.nan)
        return _transform(self._transformer, lon, lat, "FORWARD")

    def from_map(self, x: ArrayLike, y: ArrayLike, deg: bool = True) -> tuple[Array, Array]:
        """Geodetic coordinates of map-plane points.

        Parameters
        ----------
        x, y : array_like
            Map-plane coordinates (east-ish, north-ish), metres.
        deg : bool, optional
            Return angles in degrees (default) or radians.

        Returns
        -------
        lat, lon : ndarray
            Geodetic latitude and longitude (in [-180, 180]), degrees (radians
            if ``deg=False``).

        Examples
        --------
        >>> lat, lon = LocalFrame(0.0, 0.0).from_map(111319.49079327357, 0.0)
        >>> round(float(lat), 9), round(float(lon), 9)
        (0.0, 1.0)
        """
        x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        lon, lat = _transform(self._transformer, x, y, "INVERSE")
        if not deg:
            lat, lon = np.radians(lat), np.radians(lon)
        return lat, lon

    def _enu_jacobian(self, x: Array, y: Array) -> tuple[Array, Array, Array, Array]:
        """Partial derivatives of true local (east, north) w.r.t. map (x, y) at (x, y).

        Central differences of map points ``±_FD_STEP_M`` along x and y, each
        expressed in the true ENU frame of the (ellipsoid-surface) point itself.
        Returns ``de/dx, de/dy, dn/dx, dn/dy`` (dimensionless).
        """
        h = _FD_STEP_M
        xs = np.stack([x, x + h, x - h, x, x])
        ys = np.stack([y, y, y, y + h, y - h])
        lat, lon = self.from_map(xs, ys)
        e, n, _ = geodesy.geodetic2enu(lat[1:], lon[1:], 0.0, lat[0], lon[0], 0.0)
        de_dx = (e[0] - e[1]) / (2.0 * h)
        dn_dx = (n[0] - n[1]) / (2.0 * h)
        de_dy = (e[2] - e[3]) / (2.0 * h)
        dn_dy = (n[2] - n[3]) / (2.0 * h)
        return de_dx, de_dy, dn_dx, dn_dy

    def map_velocity_to_enu(
        self, x: ArrayLike, y: ArrayLike, vx: ArrayLike, vy: ArrayLike
    ) -> tuple[Array, Array]:
        """Convert a map-plane velocity at a map point to true local east/north.

        Accounts for the meridian convergence (rotation) and the scale distortion
        of the non-conformal aeqd map at ``(x, y)``, using the full local Jacobian
        of the projection (accurate central differences, vectorised).  The
        conversion agrees with geodesics between nearby positions to ~1e-9
        relative in speed and ~1e-7° in heading.

        The map plane is the projected *ellipsoid surface*: the result is the
        horizontal velocity of the target's ground point.  A target at height
        ``h`` moving with that ground-point velocity has a true horizontal speed
        larger by the factor ``1 + h / R`` (1.6e-4 per km of height).  Not defined
        at the poles.

        Parameters
        ----------
        x, y : array_like
            Map-plane position, metres.
        vx, vy : array_like
            Velocity along the map-plane x and y axes, m/s (or any unit).

        Returns
        -------
        v_east, v_north : ndarray
            Velocity along true local east and north at that point, same unit.

        Examples
        --------
        >>> frame = LocalFrame(55.0, 24.0)
        >>> ve, vn = frame.map_velocity_to_enu(200_000.0, 0.0, 0.0, 50.0)
        >>> heading = np.degrees(np.arctan2(ve, vn))
        >>> round(float(heading), 2), round(float(np.hypot(ve, vn)), 3)
        (2.56, 49.992)
        """
        x, y, vx, vy = np.broadcast_arrays(
            *(np.asarray(a, dtype=np.float64) for a in (x, y, vx, vy))
        )
        de_dx, de_dy, dn_dx, dn_dy = self._enu_jacobian(x, y)
        return (
            np.asarray(de_dx * vx + de_dy * vy, dtype=np.float64),
            np.asarray(dn_dx * vx + dn_dy * vy, dtype=np.float64),
        )

    def enu_velocity_to_map(
        self, x: ArrayLike, y: ArrayLike, v_east: ArrayLike, v_north: ArrayLike
    ) -> tuple[Array, Array]:
        """Convert a true local east/north velocity at a map point to map-plane axes.

        Inverse of :meth:`map_velocity_to_enu` (same accuracy and caveats).

        Parameters
        ----------
        x, y : array_like
            Map-plane position, metres.
        v_east, v_north : array_like
            Velocity along true local east and north, m/s (or any unit).

        Returns
        -------
        vx, vy : ndarray
            Velocity along the map-plane x and y axes, same unit.

        Examples
        --------
        >>> frame = LocalFrame(55.0, 24.0)
        >>> vx, vy = frame.enu_velocity_to_map(0.0, 0.0, 3.0, 4.0)
        >>> round(float(vx), 9), round(float(vy), 9)
        (3.0, 4.0)
        """
        x, y, ve, vn = np.broadcast_arrays(
            *(np.asarray(a, dtype=np.float64) for a in (x, y, v_east, v_north))
        )
        de_dx, de_dy, dn_dx, dn_dy = self._enu_jacobian(x, y)
        det = de_dx * dn_dy - de_dy * dn_dx
        vx = (dn_dy * ve - de_dy * vn) / det
        vy = (de_dx * vn - dn_dx * ve) / det
        return np.asarray(vx, dtype=np.float64), np.asarray(vy, dtype=np.float64)

    # --------------------------------------------------------- tangent-plane ENU

    def to_enu(
        self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike, deg: bool = True
    ) -> tuple[Array, Array, Array]:
        """Convert geodetic coordinates to the frame's tangent-plane ENU.

        Parameters
        ----------
        lat, lon : array_like
            Geodetic latitude and longitude, degrees (radians if ``deg=False``).
        alt : array_like
            Height above the WGS84 ellipsoid, metres.
        deg : bool, optional
            Angles in degrees (default) or radians.

        Returns
        -------
        e, n, u : ndarray
            East, north, up relative to the frame origin, metres.

        Examples
        --------
        >>> e, n, u = LocalFrame(55.0, 24.0, 100.0).to_enu(55.0, 24.0, 150.0)
        >>> round(float(u), 9)
        50.0
        """
        lat0, lon0 = self.lat0_deg, self.lon0_deg
        if not deg:
            lat0, lon0 = math.radians(lat0), math.radians(lon0)
        return geodesy.geodetic2enu(lat, lon, alt, lat0, lon0, self.alt0_m, deg=deg)

    def from_enu(
        self, e: ArrayLike, n: ArrayLike, u: ArrayLike, deg: bool = True
    ) -> tuple[Array, Array, Array]:
        """Convert the frame's tangent-plane ENU to geodetic coordinates.

        Parameters
        ----------
        e, n, u : array_like
            East, north, up relative to the frame origin, metres.
        deg : bool, optional
            Return angles in degrees (default) or radians.

        Returns
        -------
        lat, lon : ndarray
            Geodetic latitude and longitude, degrees (radians if ``deg=False``).
        alt : ndarray
            Height above the WGS84 ellipsoid, metres.

        Examples
        --------
        >>> lat, lon, alt = LocalFrame(55.0, 24.0, 100.0).from_enu(0.0, 0.0, 50.0)
        >>> round(float(lat), 9), round(float(lon), 9), round(float(alt), 6)
        (55.0, 24.0, 150.0)
        """
        lat0, lon0 = self.lat0_deg, self.lon0_deg
        if not deg:
            lat0, lon0 = math.radians(lat0), math.radians(lon0)
        return geodesy.enu2geodetic(e, n, u, lat0, lon0, self.alt0_m, deg=deg)
