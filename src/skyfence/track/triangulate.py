"""Track initiation from bearings: where rays of two passive sensors cross.

A drone seen only by RF direction finders (or acoustic arrays, EO/IR cameras)
gives no range.  Two bearings from sensors some distance apart, taken at nearly
the same time, cross at the target; their crossing, with a covariance from the
geometry (first order in the two bearing errors), starts a tentative track that
later bearings confirm.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ray_directions", "triangulate_pairs"]


def ray_directions(az: np.ndarray, el: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """Unit vectors (K, 3) in the tracking frame of bearings measured in each sensor's
    local ENU (azimuth clockwise from north, elevation; radians; NaN elevation = 0)."""
    el0 = np.where(np.isfinite(el), el, 0.0)
    local = np.stack([np.sin(az) * np.cos(el0), np.cos(az) * np.cos(el0), np.sin(el0)], -1)
    return np.einsum("kji,kj->ki", rot, local)          # rot maps tracking → sensor: use rotᵀ


def _cross_2d(pa: np.ndarray, ua: np.ndarray, pb: np.ndarray,
              ub: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distances along two horizontal rays to their crossing, and the crossing (P, 2)."""
    det = ua[:, 0] * (-ub[:, 1]) - ua[:, 1] * (-ub[:, 0])
    d = pb - pa
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = (d[:, 0] * (-ub[:, 1]) - d[:, 1] * (-ub[:, 0])) / det
        tb = (ua[:, 0] * d[:, 1] - ua[:, 1] * d[:, 0]) / det
    return ta, tb, pa + ta[:, None] * ua


def triangulate_pairs(time: np.ndarray, sensor: np.ndarray, az: np.ndarray, el: np.ndarray,
                      sig_az: np.ndarray, sig_el: np.ndarray, site: np.ndarray,
                      rot: np.ndarray, max_range: np.ndarray, max_dt_s: float = 2.0,
                      min_angle_deg: float = 8.0, height_prior: tuple[float, float] = (400.0,
                                                                                       800.0)
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Crossings of pairs of bearings from different sensors.

    Parameters
    ----------
    time, sensor, az, el, sig_az, sig_el : (B,)
        The bearings (radians; ``el`` NaN where only azimuth was measured).
    site, rot : (B, 3), (B, 3, 3)
        Each bearing's sensor position in the tracking frame and its rotation.
    max_range : (B,)
        Each sensor's reach, m: a crossing beyond it is a ghost.
    max_dt_s : float
        Largest time between the two bearings of a pair.
    min_angle_deg : float
        Smallest angle between the rays (shallow crossings are too uncertain).
    height_prior : (float, float)
        Height above the sensors and its 1-sigma when neither bearing has an elevation.

    Returns
    -------
    i, j : (P,) int
        The bearings of each pair, ``time[i] <= time[j]``.
    pos, cov : (P, 3), (P, 3, 3)
        Crossing position and covariance in the tracking frame.
    t : (P,)
        Time of the pair (the later bearing).
    """
    b = time.size
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 3)),
             np.empty((0, 3, 3)), np.empty(0))
    if b < 2:
        return empty
    i, j = np.triu_indices(b, k=1)
    ok = (sensor[i] != sensor[j]) & (np.abs(time[i] - time[j]) <= max_dt_s)
    i, j = i[ok], j[ok]
    if i.size == 0:
        return empty
    swap = time[i] > time[j]
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    u = ray_directions(az, el, rot)
    uh = u[:, :2] / np.linalg.norm(u[:, :2], axis=1, keepdims=True)
    sin_angle = np.abs(uh[i, 0] * uh[j, 1] - uh[i, 1] * uh[j, 0])
    ta, tb, xy = _cross_2d(site[i, :2], uh[i], site[j, :2], uh[j])
    good = ((sin_angle >= np.sin(np.radians(min_angle_deg))) & (ta > 0) & (tb > 0)
            & (ta <= max_range[i]) & (tb <= max_range[j]))
    i, j, ta, tb, xy = i[good], j[good], ta[good], tb[good], xy[good]
    if i.size == 0:
        return empty
    # horizontal covariance: first order in the two bearing errors (numerical Jacobian)
    h = 1e-6
    jac = np.empty((i.size, 2, 2))
    for col, (which, step) in enumerate(((i, h), (j, h))):
        az2 = az.copy()
        daz = np.zeros_like(az)
        daz[which] = step
        ua = ray_directions(az2 + daz, el, rot)[:, :2]
        ua = ua / np.linalg.norm(ua, axis=1, keepdims=True)
        _, _, xy2 = _cross_2d(site[i, :2], ua[i], site[j, :2], ua[j])
        jac[:, :, col] = (xy2 - xy) / step
    sig = np.stack([sig_az[i], sig_az[j]], -1)
    cov_h = np.einsum("pab,pb,pcb->pac", jac, sig**2, jac)
    # height: from an elevation where one was measured, else from the prior
    z = np.full(i.size, np.nan)
    sz = np.full(i.size, np.nan)
    for k, dist in ((i, ta), (j, tb)):
        has = np.isfinite(el[k]) & np.isnan(z)
        z[has] = site[k, 2][has] + dist[has] * np.tan(el[k][has])
        sz[has] = dist[has] * sig_el[k][has] / np.cos(el[k][has]) ** 2
    none = np.isnan(z)
    z[none] = 0.5 * (site[i, 2] + site[j, 2])[none] + height_prior[0]
    sz[none] = height_prior[1]
    pos = np.column_stack([xy, z])
    cov = np.zeros((i.size, 3, 3))
    cov[:, :2, :2] = cov_h
    cov[:, 2, 2] = sz**2
    return i, j, pos, cov, time[j]
