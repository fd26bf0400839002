"""Radar horizon and line of sight over a smooth earth (4/3 effective-earth model).

Standard atmospheric refraction bends radar (and, roughly, radio) rays downwards;
the usual model replaces the earth by a smooth sphere of radius ``k * R`` with
``k = 4/3`` and treats rays as straight lines.  On that sphere everything here is
exact spherical geometry:

- the horizon of an antenna at height ``h`` is at arc length
  ``k R arccos(k R / (k R + h))`` along the surface, which for small ``h`` is the
  familiar ``sqrt(2 k R h)`` ≈ 4.12 km · sqrt(h / m);
- a target is visible when the sensor's and the target's horizon distances add up
  to at least their ground distance.

Conventions
-----------
* Heights are metres above the local terrain (ground) under the antenna or the
  target, treated as heights above the smooth effective sphere.  Terrain and
  obstacles between them are ignored: this is a smooth-earth bound, an optimistic
  one in hilly or built-up ground.
* Ground distance is metres measured along the earth's surface (e.g. a geodesic
  distance); the model maps it one-to-one onto arc length on the effective sphere.
* All functions broadcast like numpy ufuncs and never modify their inputs.  A
  negative height or ground distance is invalid and gives NaN (``False`` in
  :func:`line_of_sight`); NaN propagates.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "EARTH_RADIUS_M",
    "K_FACTOR",
    "line_of_sight",
    "max_los_range_m",
    "min_visible_height_m",
    "radar_horizon_m",
]

#: Mean earth radius (IUGG), metres.
EARTH_RADIUS_M: float = 6_371_000.0
#: Effective-earth-radius factor for a standard atmosphere (dimensionless).
K_FACTOR: float = 4.0 / 3.0


def _effective_radius(k: ArrayLike) -> NDArray[np.float64]:
    """``k * R``, NaN for a non-positive k."""
    k = np.asarray(k, dtype=np.float64)
    return np.where(k > 0.0, k * EARTH_RADIUS_M, np.nan)


def _nonnegative(a: ArrayLike) -> NDArray[np.float64]:
    a = np.asarray(a, dtype=np.float64)
    return np.where(a >= 0.0, a, np.nan)


def _horizon_angle(height_m: NDArray[np.float64], re: NDArray[np.float64]) -> NDArray[np.float64]:
    """Earth-centre angle (radians) from an antenna at ``height_m`` to its horizon.

    ``arccos(re / (re + h))`` written as an arctan, which keeps full precision for
    small heights.
    """
    h = _nonnegative(height_m)
    return np.arctan2(np.sqrt(h * (2.0 * re + h)), re)


def radar_horizon_m(height_m: ArrayLike, k: ArrayLike = K_FACTOR) -> NDArray[np.float64]:
    """Distance to the radar horizon for an antenna above a smooth earth.

    Parameters
    ----------
    height_m : array_like
        Antenna height above the ground, metres (>= 0; negative gives NaN).
    k : array_like, optional
        Effective-earth-radius factor (dimensionless, > 0); 4/3 by default.

    Returns
    -------
    ndarray
        Ground distance to the horizon, metres: the arc length
        ``k R arccos(k R / (k R + h))`` on the effective sphere of radius ``k R``.

    Examples
    --------
    >>> round(float(radar_horizon_m(10.0)), 1)
    13034.3
    >>> float(radar_horizon_m(0.0))
    0.0
    """
    height_m, k = np.broadcast_arrays(np.asarray(height_m, dtype=np.float64), np.asarray(k))
    re = _effective_radius(k)
    return np.asarray(re * _horizon_angle(height_m, re), dtype=np.float64)


def max_los_range_m(
    h_sensor_m: ArrayLike, h_target_m: ArrayLike, k: ArrayLike = K_FACTOR
) -> NDArray[np.float64]:
    """Largest ground distance at which a sensor can see a target over a smooth earth.

    Parameters
    ----------
    h_sensor_m : array_like
        Sensor antenna height above the ground, metres (>= 0).
    h_target_m : array_like
        Target height above the ground, metres (>= 0).
    k : array_like, optional
        Effective-earth-radius factor (dimensionless, > 0); 4/3 by default.

    Returns
    -------
    ndarray
        The sum of both horizon distances, metres of ground distance.

    Examples
    --------
    >>> round(float(max_los_range_m(10.0, 100.0)) / 1000.0, 2)
    54.25
    """
    h_sensor_m, h_target_m, k = np.broadcast_arrays(
        np.asarray(h_sensor_m, dtype=np.float64),
        np.asarray(h_target_m, dtype=np.float64),
        np.asarray(k, dtype=np.float64),
    )
    return np.asarray(radar_horizon_m(h_sensor_m, k) + radar_horizon_m(h_target_m, k))


def min_visible_height_m(
    h_sensor_m: ArrayLike, ground_distance_m: ArrayLike, k: ArrayLike = K_FACTOR
) -> NDArray[np.float64]:
    """Lowest target height a sensor can see at a given ground distance.

    Parameters
    ----------
    h_sensor_m : array_like
        Sensor antenna height above the ground, metres (>= 0).
    ground_distance_m : array_like
        Ground distance from the sensor to the target, metres, measured along the
        earth's surface (>= 0).
    k : array_like, optional
        Effective-earth-radius factor (dimensionless, > 0); 4/3 by default.

    Returns
    -------
    ndarray
        Minimum target height above the ground, metres: 0 within the sensor's own
        horizon, ``inf`` a quarter of the effective earth beyond it (where the
        sensor's tangent ray never comes back).

    Examples
    --------
    >>> float(min_visible_height_m(10.0, 5_000.0))
    0.0
    >>> round(float(min_visible_height_m(10.0, 30_000.0)), 1)
    16.9
    """
    h_sensor_m, d, k = np.broadcast_arrays(
        np.asarray(h_sensor_m, dtype=np.float64),
        np.asarray(ground_distance_m, dtype=np.float64),
        np.asarray(k, dtype=np.float64),
    )
    re = _effective_radius(k)
    # Earth-centre angle left beyond the sensor's horizon for the target to cover.
    theta = _nonnegative(d) / re - _horizon_angle(h_sensor_m, re)
    safe = np.clip(theta, 0.0, 1.0)  # keep cos() away from 0 in the masked-out branch
    # re / cos(theta) - re, written to keep precision for small theta.
    height = re * 2.0 * np.sin(safe / 2.0) ** 2 / np.cos(safe)
    height = np.where(theta >= np.pi / 2.0, np.inf, height)
    height = np.where(theta <= 0.0, 0.0, height)
    return np.asarray(height, dtype=np.float64)


def line_of_sight(
    h_sensor_m: ArrayLike,
    h_target_m: ArrayLike,
    ground_distance_m: ArrayLike,
    k: ArrayLike = K_FACTOR,
) -> NDArray[np.bool_]:
    """Whether a target is above the sensor's radar horizon (smooth earth).

    Parameters
    ----------
    h_sensor_m : array_like
        Sensor antenna height above the ground, metres (>= 0).
    h_target_m : array_like
        Target height above the ground, metres.  A negative height (below
        ground) is never visible.
    ground_distance_m : array_like
        Ground distance from the sensor to the target, metres, measured along the
        earth's surface (>= 0).
    k : array_like, optional
        Effective-earth-radius factor (dimensionless, > 0); 4/3 by default.

    Returns
    -------
    ndarray of bool
        True where ``h_target_m >= min_visible_height_m(h_sensor_m, ground_distance_m)``
        (a target exactly at the limit grazes the horizon and counts as visible);
        False for invalid or NaN input.

    Examples
    --------
    >>> line_of_sight(10.0, [10.0, 20.0], 30_000.0).tolist()
    [False, True]
    """
    h_sensor_m, h_target_m, d, k = np.broadcast_arrays(
        np.asarray(h_sensor_m, dtype=np.float64),
        np.asarray(h_target_m, dtype=np.float64),
        np.asarray(ground_distance_m, dtype=np.float64),
        np.asarray(k, dtype=np.float64),
    )
    h_min = min_visible_height_m(h_sensor_m, d, k)
    return np.asarray((h_target_m >= 0.0) & (h_target_m >= h_min), dtype=np.bool_)
