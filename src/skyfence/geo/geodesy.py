"""Vectorised WGS84 geodesy: geodetic, ECEF, ENU and AER conversions, and geodesics.

Frames
------
geodetic
    Latitude, longitude (degrees, or radians with ``deg=False``) and height above
    the WGS84 ellipsoid (metres).
ECEF
    Earth-centred, earth-fixed Cartesian ``x, y, z`` (metres); ``x`` through
    (0°, 0°), ``z`` through the north pole.
ENU
    Local tangent plane at a reference point ``(lat0, lon0, alt0)``: east, north,
    up (metres), ``up`` along the ellipsoid normal at the reference point.
AER
    Azimuth (clockwise from true north, in [0, 360) degrees), elevation above the
    local tangent plane (degrees) and slant range (metres), as seen from the
    reference point.

Every function broadcasts its arguments like a numpy ufunc (scalars or arrays in,
float64 arrays of the broadcast shape out; 0-d arrays for scalar input), propagates
NaN to every output that depends on it (the azimuth from :func:`enu2aer` does not
depend on ``up``, for instance), and never modifies its inputs.  A latitude outside
[-90°, 90°] is treated as invalid and gives NaN.  Names follow pymap3d (``source2target``).
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "WGS84_A",
    "WGS84_B",
    "WGS84_E2",
    "WGS84_F",
    "aer2enu",
    "aer2geodetic",
    "ecef2enu",
    "ecef2geodetic",
    "enu2aer",
    "enu2ecef",
    "enu2geodetic",
    "enu2uvw",
    "geodesic_direct",
    "geodesic_inverse",
    "geodesic_line_length_m",
    "geodetic2aer",
    "geodetic2ecef",
    "geodetic2enu",
    "small_offset_deg",
    "uvw2enu",
]

Array = NDArray[np.float64]

#: WGS84 semi-major axis (equatorial radius), metres.
WGS84_A: float = 6_378_137.0
#: WGS84 flattening (dimensionless).
WGS84_F: float = 1.0 / 298.257223563
#: WGS84 semi-minor axis (polar radius), metres (6 356 752.314 245...).
WGS84_B: float = WGS84_A * (1.0 - WGS84_F)
#: WGS84 first eccentricity squared, ``f (2 - f)`` (dimensionless).
WGS84_E2: float = WGS84_F * (2.0 - WGS84_F)

# Second eccentricity squared, e'^2 = (a^2 - b^2) / b^2.
_EP2: float = WGS84_E2 / (1.0 - WGS84_E2)

# Bowring iterations in ecef2geodetic.  One leaves up to ~0.1 mm at 100 km height;
# two give < 1e-8 m from 1000 km below the surface out to geostationary height
# (measured on random points against geodetic2ecef; rounding-limited).
_BOWRING_ITERATIONS = 2

_GEOD = pyproj.Geod(ellps="WGS84")


# --------------------------------------------------------------------------- helpers


def _arrays(*args: ArrayLike) -> tuple[Array, ...]:
    """Convert to float64 and broadcast to a common shape (views, never copies in place)."""
    return tuple(np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in args)))


def _out(*arrays: ArrayLike) -> tuple[Array, ...]:
    """Return results as float64 ndarrays (0-d arrays rather than numpy scalars)."""
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def _lat_rad(lat: Array, deg: bool) -> Array:
    """Latitude in radians; NaN where outside [-90°, 90°]."""
    limit = 90.0 if deg else np.pi / 2.0
    valid = np.abs(lat) <= limit
    rad = np.radians(lat) if deg else lat
    return np.where(valid, rad, np.nan)


def _lon_rad(lon: Array, deg: bool) -> Array:
    return np.radians(lon) if deg else lon


def _angle_out(rad: Array, deg: bool) -> Array:
    return np.degrees(rad) if deg else rad


def _wrap_azimuth(az: Array, deg: bool) -> Array:
    """Wrap an azimuth into [0, 360) degrees (or [0, 2π) radians); NaN stays NaN."""
    full = 360.0 if deg else 2.0 * np.pi
    wrapped = np.mod(az, full)
    # mod of a tiny negative number rounds to exactly `full`.
    return np.where(wrapped >= full, 0.0, wrapped)


def _basis(lat0: Array, lon0: Array, deg: bool) -> tuple[Array, Array, Array, Array]:
    """sin/cos of the reference latitude and longitude."""
    phi = _lat_rad(lat0, deg)
    lam = _lon_rad(lon0, deg)
    return np.sin(phi), np.cos(phi), np.sin(lam), np.cos(lam)


# ------------------------------------------------------------------ geodetic <-> ECEF


def geodetic2ecef(
    lat: ArrayLike, lon: ArrayLike, alt: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Convert geodetic coordinates to ECEF.

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
    x, y, z : ndarray
        ECEF coordinates, metres.

    Examples
    --------
    >>> x, y, z = geodetic2ecef(0.0, 0.0, 0.0)
    >>> float(x), float(y), float(z)
    (6378137.0, 0.0, 0.0)
    >>> round(float(geodetic2ecef(90.0, 0.0, 0.0)[2]), 6)
    6356752.314245
    """
    lat, lon, alt = _arrays(lat, lon, alt)
    phi = _lat_rad(lat, deg)
    lam = _lon_rad(lon, deg)
    sphi = np.sin(phi)
    cphi = np.cos(phi)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sphi * sphi)  # prime-vertical radius
    r = (n + alt) * cphi
    x = r * np.cos(lam)
    y = r * np.sin(lam)
    z = (n * (1.0 - WGS84_E2) + alt) * sphi
    return _out(x, y, z)


def ecef2geodetic(
    x: ArrayLike, y: ArrayLike, z: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Convert ECEF coordinates to geodetic latitude, longitude and height.

    Uses Bowring's (1976) method with a fixed number (two) of iterations
    (vectorised, no per-point loop).  The error is below 1e-8 m (position) from
    1000 km below the surface to geostationary height, including at the poles.
    Points deep inside the earth are outside its domain (the earth's centre
    itself gives NaN).

    Parameters
    ----------
    x, y, z : array_like
        ECEF coordinates, metres.
    deg : bool, optional
        Return angles in degrees (default) or radians.

    Returns
    -------
    lat, lon : ndarray
        Geodetic latitude in [-90, 90] and longitude in [-180, 180], degrees
        (radians if ``deg=False``).
    alt : ndarray
        Height above the WGS84 ellipsoid, metres.

    Examples
    --------
    >>> lat, lon, alt = ecef2geodetic(6378137.0, 0.0, 0.0)
    >>> float(lat), float(lon), float(alt)
    (0.0, 0.0, 0.0)
    >>> lat, lon, alt = ecef2geodetic(0.0, 0.0, -6356752.314245 - 1000.0)
    >>> float(lat), round(float(alt), 6)
    (-90.0, 1000.0)
    """
    x, y, z = _arrays(x, y, z)
    with np.errstate(invalid="ignore", divide="ignore"):  # the earth's centre -> NaN
        return _ecef2geodetic(x, y, z, deg)


def _ecef2geodetic(x: Array, y: Array, z: Array, deg: bool) -> tuple[Array, Array, Array]:
    p = np.hypot(x, y)
    lam = np.arctan2(y, x)
    # Parametric (reduced) latitude beta as (sin, cos) pair; Bowring's initial guess.
    s = z
    c = (1.0 - WGS84_F) * p
    for _ in range(_BOWRING_ITERATIONS):
        norm = np.hypot(s, c)
        sb = s / norm
        cb = c / norm
        num = z + _EP2 * WGS84_B * sb * sb * sb
        den = p - WGS84_E2 * WGS84_A * cb * cb * cb
        # tan(beta) = (1 - f) tan(phi)
        s = (1.0 - WGS84_F) * num
        c = den
    phi = np.arctan2(num, den)
    sphi = np.sin(phi)
    cphi = np.cos(phi)
    # Height along the normal; well conditioned at the equator and at the poles.
    h = p * cphi + z * sphi - WGS84_A * np.sqrt(1.0 - WGS84_E2 * sphi * sphi)
    return _out(_angle_out(phi, deg), _angle_out(lam, deg), h)


# ----------------------------------------------------------- rotations ECEF <-> ENU


def uvw2enu(
    u: ArrayLike, v: ArrayLike, w: ArrayLike, lat0: ArrayLike, lon0: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Rotate an ECEF-axes vector into local east/north/up axes (no translation).

    Use this for velocities, accelerations and other free vectors.

    Parameters
    ----------
    u, v, w : array_like
        Vector components along the ECEF x, y, z axes (any unit, e.g. m or m/s).
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the local frame, degrees (radians if
        ``deg=False``).
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    east, north, up : ndarray
        Vector components along local east, north and up, same unit as the input.

    Examples
    --------
    >>> e, n, up = uvw2enu(0.0, 1.0, 0.0, 0.0, 0.0)
    >>> float(e), float(n), float(up)
    (1.0, 0.0, 0.0)
    """
    u, v, w, lat0, lon0 = _arrays(u, v, w, lat0, lon0)
    sphi, cphi, slam, clam = _basis(lat0, lon0, deg)
    t = clam * u + slam * v
    east = -slam * u + clam * v
    up = cphi * t + sphi * w
    north = -sphi * t + cphi * w
    return _out(east, north, up)


def enu2uvw(
    e: ArrayLike, n: ArrayLike, up: ArrayLike, lat0: ArrayLike, lon0: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Rotate a local east/north/up vector into ECEF axes (no translation).

    Inverse of :func:`uvw2enu`; use it for velocities and other free vectors.

    Parameters
    ----------
    e, n, up : array_like
        Vector components along local east, north, up (any unit, e.g. m/s).
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the local frame, degrees (radians if
        ``deg=False``).
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    u, v, w : ndarray
        Vector components along ECEF x, y, z, same unit as the input.

    Examples
    --------
    >>> u, v, w = enu2uvw(0.0, 0.0, 1.0, 90.0, 0.0)
    >>> round(float(u), 12), round(float(v), 12), round(float(w), 12)
    (0.0, 0.0, 1.0)
    """
    e, n, up, lat0, lon0 = _arrays(e, n, up, lat0, lon0)
    sphi, cphi, slam, clam = _basis(lat0, lon0, deg)
    t = cphi * up - sphi * n
    w = sphi * up + cphi * n
    u = clam * t - slam * e
    v = slam * t + clam * e
    return _out(u, v, w)


def ecef2enu(
    x: ArrayLike,
    y: ArrayLike,
    z: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Convert ECEF coordinates to local ENU coordinates about a reference point.

    Parameters
    ----------
    x, y, z : array_like
        ECEF coordinates of the target, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the reference point, degrees (radians
        if ``deg=False``).
    alt0 : array_like
        Height of the reference point above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    e, n, u : ndarray
        East, north, up of the target relative to the reference point, metres.

    Examples
    --------
    >>> e, n, u = ecef2enu(6378237.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    >>> float(e), float(n), float(u)
    (0.0, 0.0, 100.0)
    """
    x, y, z, lat0, lon0, alt0 = _arrays(x, y, z, lat0, lon0, alt0)
    x0, y0, z0 = geodetic2ecef(lat0, lon0, alt0, deg=deg)
    return uvw2enu(x - x0, y - y0, z - z0, lat0, lon0, deg=deg)


def enu2ecef(
    e: ArrayLike,
    n: ArrayLike,
    u: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Convert local ENU coordinates about a reference point to ECEF.

    Parameters
    ----------
    e, n, u : array_like
        East, north, up of the target relative to the reference point, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the reference point, degrees (radians
        if ``deg=False``).
    alt0 : array_like
        Height of the reference point above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    x, y, z : ndarray
        ECEF coordinates of the target, metres.

    Examples
    --------
    >>> x, y, z = enu2ecef(0.0, 0.0, 100.0, 0.0, 0.0, 0.0)
    >>> float(x), float(y), float(z)
    (6378237.0, 0.0, 0.0)
    """
    e, n, u, lat0, lon0, alt0 = _arrays(e, n, u, lat0, lon0, alt0)
    x0, y0, z0 = geodetic2ecef(lat0, lon0, alt0, deg=deg)
    dx, dy, dz = enu2uvw(e, n, u, lat0, lon0, deg=deg)
    return _out(x0 + dx, y0 + dy, z0 + dz)


# -------------------------------------------------------------- geodetic <-> ENU


def geodetic2enu(
    lat: ArrayLike,
    lon: ArrayLike,
    alt: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Convert geodetic coordinates to local ENU coordinates about a reference point.

    Parameters
    ----------
    lat, lon : array_like
        Geodetic latitude and longitude of the target, degrees (radians if
        ``deg=False``).
    alt : array_like
        Height of the target above the WGS84 ellipsoid, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the reference point, degrees (radians
        if ``deg=False``).
    alt0 : array_like
        Height of the reference point above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    e, n, u : ndarray
        East, north, up of the target relative to the reference point, metres.

    Examples
    --------
    >>> e, n, u = geodetic2enu(55.0, 24.0, 150.0, 55.0, 24.0, 100.0)
    >>> abs(float(e)) < 1e-9, abs(float(n)) < 1e-9, round(float(u), 9)
    (True, True, 50.0)
    """
    lat, lon, alt, lat0, lon0, alt0 = _arrays(lat, lon, alt, lat0, lon0, alt0)
    x, y, z = geodetic2ecef(lat, lon, alt, deg=deg)
    return ecef2enu(x, y, z, lat0, lon0, alt0, deg=deg)


def enu2geodetic(
    e: ArrayLike,
    n: ArrayLike,
    u: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Convert local ENU coordinates about a reference point to geodetic coordinates.

    Parameters
    ----------
    e, n, u : array_like
        East, north, up of the target relative to the reference point, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the reference point, degrees (radians
        if ``deg=False``).
    alt0 : array_like
        Height of the reference point above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    lat, lon : ndarray
        Geodetic latitude and longitude of the target, degrees (radians if
        ``deg=False``).
    alt : ndarray
        Height of the target above the WGS84 ellipsoid, metres.

    Examples
    --------
    >>> lat, lon, alt = enu2geodetic(0.0, 0.0, 50.0, 55.0, 24.0, 100.0)
    >>> round(float(lat), 9), round(float(lon), 9), round(float(alt), 6)
    (55.0, 24.0, 150.0)
    """
    e, n, u, lat0, lon0, alt0 = _arrays(e, n, u, lat0, lon0, alt0)
    x, y, z = enu2ecef(e, n, u, lat0, lon0, alt0, deg=deg)
    return ecef2geodetic(x, y, z, deg=deg)


# ------------------------------------------------------------------- ENU <-> AER


def enu2aer(
    e: ArrayLike, n: ArrayLike, u: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Convert local ENU coordinates to azimuth, elevation and slant range.

    Parameters
    ----------
    e, n, u : array_like
        East, north, up, metres.
    deg : bool, optional
        Return angles in degrees (default) or radians.

    Returns
    -------
    az : ndarray
        Azimuth clockwise from north, in [0, 360) degrees ([0, 2π) radians if
        ``deg=False``).  0 for a target straight up or at the origin.
    el : ndarray
        Elevation above the local tangent plane, in [-90, 90] degrees.
    srange : ndarray
        Slant range, metres.

    Examples
    --------
    >>> az, el, srange = enu2aer(-1.0, 0.0, 0.0)
    >>> float(az), float(el), float(srange)
    (270.0, 0.0, 1.0)
    """
    e, n, u = _arrays(e, n, u)
    r = np.hypot(e, n)
    srange = np.hypot(r, u)
    el = np.arctan2(u, r)
    az = _wrap_azimuth(_angle_out(np.arctan2(e, n), deg), deg)
    return _out(az, _angle_out(el, deg), srange)


def aer2enu(
    az: ArrayLike, el: ArrayLike, srange: ArrayLike, deg: bool = True
) -> tuple[Array, Array, Array]:
    """Convert azimuth, elevation and slant range to local ENU coordinates.

    Parameters
    ----------
    az : array_like
        Azimuth clockwise from north, degrees (radians if ``deg=False``); any value
        (not restricted to [0, 360)).
    el : array_like
        Elevation above the local tangent plane, degrees (radians if ``deg=False``).
    srange : array_like
        Slant range, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    e, n, u : ndarray
        East, north, up, metres.

    Examples
    --------
    >>> e, n, u = aer2enu(90.0, 0.0, 1000.0)
    >>> round(float(e), 9), round(float(n), 9), round(float(u), 9)
    (1000.0, 0.0, 0.0)
    """
    az, el, srange = _arrays(az, el, srange)
    a = np.radians(az) if deg else az
    b = np.radians(el) if deg else el
    r = srange * np.cos(b)
    return _out(r * np.sin(a), r * np.cos(a), srange * np.sin(b))


def geodetic2aer(
    lat: ArrayLike,
    lon: ArrayLike,
    alt: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Azimuth, elevation and slant range of a target seen from a reference point.

    Parameters
    ----------
    lat, lon : array_like
        Geodetic latitude and longitude of the target, degrees (radians if
        ``deg=False``).
    alt : array_like
        Height of the target above the WGS84 ellipsoid, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the observer, degrees (radians if
        ``deg=False``).
    alt0 : array_like
        Height of the observer above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    az : ndarray
        Azimuth clockwise from true north, in [0, 360) degrees.
    el : ndarray
        Elevation above the observer's tangent plane, degrees.
    srange : ndarray
        Slant range, metres.

    Examples
    --------
    >>> az, el, srange = geodetic2aer(55.0, 24.02, 100.0, 55.0, 24.0, 100.0)
    >>> round(float(az), 3), round(float(el), 4), round(float(srange), 1)
    (89.992, -0.0057, 1279.9)
    """
    e, n, u = geodetic2enu(lat, lon, alt, lat0, lon0, alt0, deg=deg)
    return enu2aer(e, n, u, deg=deg)


def aer2geodetic(
    az: ArrayLike,
    el: ArrayLike,
    srange: ArrayLike,
    lat0: ArrayLike,
    lon0: ArrayLike,
    alt0: ArrayLike,
    deg: bool = True,
) -> tuple[Array, Array, Array]:
    """Geodetic position of a target given its azimuth, elevation and slant range.

    Parameters
    ----------
    az : array_like
        Azimuth clockwise from true north, degrees (radians if ``deg=False``).
    el : array_like
        Elevation above the observer's tangent plane, degrees (radians if
        ``deg=False``).
    srange : array_like
        Slant range, metres.
    lat0, lon0 : array_like
        Geodetic latitude and longitude of the observer, degrees (radians if
        ``deg=False``).
    alt0 : array_like
        Height of the observer above the WGS84 ellipsoid, metres.
    deg : bool, optional
        Angles in degrees (default) or radians.

    Returns
    -------
    lat, lon : ndarray
        Geodetic latitude and longitude of the target, degrees (radians if
        ``deg=False``).
    alt : ndarray
        Height of the target above the WGS84 ellipsoid, metres.

    Examples
    --------
    >>> lat, lon, alt = aer2geodetic(0.0, 90.0, 1000.0, 55.0, 24.0, 100.0)
    >>> round(float(lat), 9), round(float(lon), 9), round(float(alt), 6)
    (55.0, 24.0, 1100.0)
    """
    az, el, srange, lat0, lon0, alt0 = _arrays(az, el, srange, lat0, lon0, alt0)
    e, n, u = aer2enu(az, el, srange, deg=deg)
    return enu2geodetic(e, n, u, lat0, lon0, alt0, deg=deg)


# --------------------------------------------------------------------- geodesics


def _flat(*arrays: Array) -> tuple[Array, ...]:
    """Contiguous 1-d float64 copies, as pyproj wants them."""
    return tuple(np.array(a, dtype=np.float64, order="C").ravel() for a in arrays)


def _valid_lat_deg(lat: Array) -> Array:
    return np.where(np.abs(lat) <= 90.0, lat, np.nan)


def geodesic_inverse(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> tuple[Array, Array, Array]:
    """Solve the inverse geodesic problem on WGS84 (Karney's algorithm via pyproj).

    Parameters
    ----------
    lat1, lon1 : array_like
        Latitude and longitude of point 1, degrees.
    lat2, lon2 : array_like
        Latitude and longitude of point 2, degrees.

    Returns
    -------
    distance_m : ndarray
        Length of the shortest geodesic from point 1 to point 2, metres.
    az12_deg : ndarray
        Azimuth of the geodesic at point 1 towards point 2, clockwise from north,
        in [0, 360) degrees.
    az21_deg : ndarray
        *Back* azimuth: the azimuth at point 2 of the geodesic towards point 1,
        in [0, 360) degrees.  This is pyproj's convention; Karney's ``azi2`` (the
        forward azimuth at point 2, the direction of travel on arrival) is
        ``(az21_deg - 180) % 360``.

    Examples
    --------
    >>> s, az12, az21 = geodesic_inverse(0.0, 0.0, 0.0, 1.0)
    >>> round(float(s), 3), float(az12), float(az21)
    (111319.491, 90.0, 270.0)
    """
    lat1, lon1, lat2, lon2 = _arrays(lat1, lon1, lat2, lon2)
    shape = lat1.shape
    la1, lo1, la2, lo2 = _flat(_valid_lat_deg(lat1), lon1, _valid_lat_deg(lat2), lon2)
    az12, az21, dist = _GEOD.inv(lo1, la1, lo2, la2)
    az12 = _wrap_azimuth(np.asarray(az12, dtype=np.float64), True)
    az21 = _wrap_azimuth(np.asarray(az21, dtype=np.float64), True)
    return _out(np.reshape(dist, shape), np.reshape(az12, shape), np.reshape(az21, shape))


def geodesic_direct(
    lat1: ArrayLike, lon1: ArrayLike, az12_deg: ArrayLike, distance_m: ArrayLike
) -> tuple[Array, Array, Array]:
    """Solve the direct geodesic problem on WGS84 (Karney's algorithm via pyproj).

    Parameters
    ----------
    lat1, lon1 : array_like
        Latitude and longitude of the start point, degrees.
    az12_deg : array_like
        Azimuth at the start point, clockwise from north, degrees.
    distance_m : array_like
        Distance to travel along the geodesic, metres (negative goes backwards).

    Returns
    -------
    lat2, lon2 : ndarray
        Latitude and longitude of the end point, degrees; longitude in
        [-180, 180].
    az21_deg : ndarray
        *Back* azimuth: the azimuth at the end point of the geodesic back
        towards the start point, in [0, 360) degrees (see
        :func:`geodesic_inverse`).

    Examples
    --------
    >>> lat2, lon2, az21 = geodesic_direct(0.0, 0.0, 90.0, 111319.49079327357)
    >>> round(float(lat2), 9), round(float(lon2), 9), float(az21)
    (0.0, 1.0, 270.0)
    """
    lat1, lon1, az12, dist = _arrays(lat1, lon1, az12_deg, distance_m)
    shape = lat1.shape
    la1, lo1, az, d = _flat(_valid_lat_deg(lat1), lon1, az12, dist)
    lo2, la2, az21 = _GEOD.fwd(lo1, la1, az, d)
    az21 = _wrap_azimuth(np.asarray(az21, dtype=np.float64), True)
    return _out(np.reshape(la2, shape), np.reshape(lo2, shape), np.reshape(az21, shape))


def geodesic_line_length_m(lats: ArrayLike, lons: ArrayLike) -> Array:
    """Total geodesic length of a polyline on WGS84.

    Parameters
    ----------
    lats, lons : array_like
        Vertex latitudes and longitudes, degrees, with the vertices along the
        last axis; leading axes broadcast and hold independent polylines.
        Consecutive vertices are joined by the shortest geodesic.

    Returns
    -------
    ndarray
        Length in metres, one value per polyline (shape of the broadcast input
        without its last axis).  0 for fewer than two vertices; NaN if any
        vertex is NaN.

    Examples
    --------
    >>> round(float(geodesic_line_length_m([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])), 3)
    221893.879
    """
    lats, lons = _arrays(np.atleast_1d(lats), np.atleast_1d(lons))
    if lats.shape[-1] < 2:
        return np.zeros(lats.shape[:-1], dtype=np.float64)
    dist, _, _ = geodesic_inverse(lats[..., :-1], lons[..., :-1], lats[..., 1:], lons[..., 1:])
    return np.asarray(np.sum(dist, axis=-1), dtype=np.float64)


def small_offset_deg(lat: float, lon: float, east_m: float, north_m: float
                     ) -> tuple[float, float]:
    """The point ``east_m``, ``north_m`` from (``lat``, ``lon``), degrees, for one point
    and a small offset: on the ellipsoid's meridian and prime-vertical radii of
    curvature at ``lat``, exact to a few centimetres over a few hundred metres and to
    ~0.2 m at 1.5 km (:func:`enu2geodetic` is exact at any distance but costs ~100 µs a
    call on scalars; this is plain arithmetic, ~1 µs).

    Examples
    --------
    >>> lat, lon = small_offset_deg(54.7, 25.3, 300.0, 400.0)
    >>> e, n, _ = geodetic2enu(lat, lon, 0.0, 54.7, 25.3, 0.0)
    >>> round(float(e), 1), round(float(n), 1)
    (300.0, 400.0)
    """
    s = math.sin(math.radians(lat))
    w = math.sqrt(1.0 - WGS84_E2 * s * s)
    meridian = WGS84_A * (1.0 - WGS84_E2) / (w * w * w)
    normal = WGS84_A / w
    return (lat + math.degrees(north_m / meridian),
            lon + math.degrees(east_m / (normal * math.cos(math.radians(lat)))))
