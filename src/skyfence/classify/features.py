"""Per-track evidence for identification, accumulated recursively as each track lives.

Every track row updates its track's *exponentially weighted* (EW) moments: each
accumulator decays by ``exp(-Δt / τ)`` over the time ``Δt`` since the track's
previous row and then takes the new sample, so the statistics describe roughly
the last ``τ`` seconds of the track and old evidence is forgotten (the class
can change when the behaviour does).  The state of a track is a fixed handful of
numbers (:data:`N_ACC` accumulators plus the previous row), kept in arrays.

After each row the track's feature vector (:data:`FEATURE_NAMES`) is read off
its accumulators; a feature is NaN ("missing") when there is not yet enough
evidence for it (no radar update for the RCS, height unknown, …).

Features (units in the names)
-----------------------------
``speed_mps``
    Horizontal speed of this row (the tracker's filtered estimate), once the track
    has ``kin_min_updates`` updates.
``speed_rough_mps``
    The same before that (two updates or more): a rough early estimate, kept apart
    so that the model weighs it as such (a track of a slowly scanning 2D radar has
    only a few updates ten seconds after its confirmation).
``speed_mean_mps``, ``speed_std_mps``
    EW mean and standard deviation of the horizontal speed.
``heading_unsteadiness``
    ``1 - R`` where ``R`` is the length of the EW mean of the unit heading vector
    (0: a steady course; near 1: wandering).  Rows slower than
    ``heading_min_speed_mps`` carry no heading.
``turn_rate_deg_s``
    EW mean of the absolute change of heading between consecutive rows over their
    time gap.
``hover_share``
    EW share of rows slower than ``hover_speed_mps`` (rotary wings hover).
``agl_m``, ``climb_abs_mps``
    EW mean height above the ground (``alt_m - ground_alt_m``) and absolute
    vertical speed; missing while the height is unknown (vertical 1-sigma above
    ``max_sigma_up_m``, as for tracks of 2D radars only).
``radial_speed_mps``
    Decaying maximum (the old maximum shrinks by the forgetting factor) of the
    speed along the line of sight of the radar that made each update.  A radar
    measures radial velocity precisely, so this is a sound lower bound of the speed
    even while a young track's cross-range velocity is still poor (a 2D radar's
    track a few scans old): no bird closes at 30 m/s.  Needs the radars' sites
    (``ClassifierConfig.sensor_sites``); missing without a radar update.
``rcs_mean_dbsm``, ``rcs_std_db``
    EW mean and standard deviation of the RCS of the radar updates.  A Swerling-1
    echo fluctuates by ~5.6 dB from scan to scan; a false alarm has the threshold's
    steady SNR.
``residual``
    EW mean of the horizontal jump of a row from where the previous row's velocity
    put it, over the combined horizontal 1-sigma (consistency: clutter jumps).
``update_share``
    EW share of rows that were updates (the rest coast).
``rf_share``
    EW share of rows updated by an RF direction finder (it hears drones' links).
``n_updates``, ``age_s``
    Detections so far, and seconds since the track's first row.
``wind_drift_mps``
    EW mean of the horizontal distance between the track's velocity and the wind
    (``ClassifierConfig.wind``): a balloon moves with the air, so near zero for it
    (up to the forecast's and the velocity's errors); missing when the wind is not
    given.  A bird's track whose velocity estimate has slowed to a balloon's speed
    through sparse 2D plots still moves across the wind, not with it.

Velocity-based features use rows with at least ``kin_min_updates`` updates: a
track's first velocities are little more than its initiation prior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ACC",
    "FEATURES_VERSION",
    "FEATURE_NAMES",
    "N_ACC",
    "FeatureSettings",
    "TrackRows",
    "features_from_acc",
    "update_acc",
]

#: names of the features, in the column order of the feature matrix
FEATURE_NAMES: tuple[str, ...] = (
    "speed_mps",
    "speed_rough_mps",
    "speed_mean_mps",
    "speed_std_mps",
    "heading_unsteadiness",
    "turn_rate_deg_s",
    "hover_share",
    "radial_speed_mps",
    "agl_m",
    "climb_abs_mps",
    "rcs_mean_dbsm",
    "rcs_std_db",
    "residual",
    "update_share",
    "rf_share",
    "n_updates",
    "age_s",
    "wind_drift_mps",
)

#: changes whenever the features are computed differently (cached features are keyed by it)
FEATURES_VERSION = 4

#: accumulator columns: ``W_*`` are the EW weights of a group of samples
ACC: dict[str, int] = {name: i for i, name in enumerate((
    "W_KIN", "SPD", "SPD2", "HOV",
    "W_HDG", "HX", "HY",
    "W_TURN", "TURN",
    "W_VERT", "AGL", "CLIMB",
    "W_RCS", "RCS", "RCS2",
    "W_RAD", "RADMAX",
    "W_RES", "RES",
    "W_ALL", "UPD", "RF",
    "W_DRIFT", "DRIFT",
))}
N_ACC = len(ACC)

_EARTH_R = 6_371_008.8  # mean radius, m: local displacements between consecutive rows


@dataclass(frozen=True)
class FeatureSettings:
    """How evidence is accumulated (part of the fitted parameters: the model was fitted
    on features made with these values).

    Attributes
    ----------
    tau_s : float
        Time constant of the exponential forgetting, seconds.
    kin_min_updates : int
        Fewest updates of a track before its velocity is used.
    hover_speed_mps : float
        Below this horizontal speed a row counts as hovering, m/s.
    heading_min_speed_mps : float
        Below this horizontal speed a row has no heading, m/s.
    max_sigma_up_m : float
        Above this vertical 1-sigma the height is unknown, metres.
    max_residual : float
        Normalised residuals are clipped here (one wild jump is evidence, not all).
    """

    tau_s: float = 30.0
    kin_min_updates: int = 5
    hover_speed_mps: float = 2.0
    heading_min_speed_mps: float = 3.0
    max_sigma_up_m: float = 250.0
    max_residual: float = 20.0

    def to_dict(self) -> dict[str, float]:
        return {"tau_s": self.tau_s, "kin_min_updates": self.kin_min_updates,
                "hover_speed_mps": self.hover_speed_mps,
                "heading_min_speed_mps": self.heading_min_speed_mps,
                "max_sigma_up_m": self.max_sigma_up_m, "max_residual": self.max_residual}


@dataclass
class TrackRows:
    """One row per track (distinct tracks), the inputs of one recursion step.

    Attributes
    ----------
    time : ndarray
        UTC epoch seconds.
    lat_deg, lon_deg, alt_m : ndarray
        Position (degrees, metres above the WGS84 ellipsoid).
    vel_east_mps, vel_north_mps, vel_up_mps : ndarray
        Velocity in local east/north/up, m/s.
    sigma_h_m, sigma_up_m : ndarray
        Horizontal (root sum of squares of east and north) and vertical 1-sigma, m.
    n_updates : ndarray
        Detections that have updated the track so far.
    updated : ndarray of bool
        The row is an update (has a sensor), not a coasting or deletion row.
    rf : ndarray of bool
        The row's update came from an RF direction finder.
    rcs_dbsm : ndarray
        RCS of the row's radar detection, dBsm (NaN: none).
    radial_speed_mps : ndarray
        Speed of the row along the line of sight from the radar that made the update,
        m/s (absolute value; NaN: not a radar update, or its site unknown).
    """

    time: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    alt_m: np.ndarray
    vel_east_mps: np.ndarray
    vel_north_mps: np.ndarray
    vel_up_mps: np.ndarray
    sigma_h_m: np.ndarray
    sigma_up_m: np.ndarray
    n_updates: np.ndarray
    updated: np.ndarray
    rf: np.ndarray
    rcs_dbsm: np.ndarray
    radial_speed_mps: np.ndarray


def update_acc(acc: np.ndarray, prev: np.ndarray, t_last: np.ndarray, r: TrackRows,
               ground_alt_m: float, s: FeatureSettings,
               wind_en: tuple[float, float] | None = None) -> None:
    """Fold one row per track into its accumulators, in place.

    Parameters
    ----------
    acc : ndarray, shape (k, N_ACC)
        The tracks' accumulators (a gathered copy; the caller scatters it back).
    prev : ndarray, shape (k, 5)
        Previous row of each track: latitude, longitude (degrees), east and north
        velocity (m/s), horizontal 1-sigma (m); NaN for a new track.  Updated in place
        to this row.
    t_last : ndarray, shape (k,)
        Time of the previous row, UTC s (NaN: new track).  Not modified.
    r : TrackRows
        This row of each track (``k`` rows).
    ground_alt_m : float
        Ground height above the ellipsoid, metres.
    s : FeatureSettings
    wind_en : (float, float), optional
        The wind's velocity (east, north), m/s; None: unknown (no drift evidence).
    """
    A = ACC
    first = ~np.isfinite(t_last)
    dt = np.where(first, 0.0, r.time - np.where(first, 0.0, t_last))
    dt_pos = np.maximum(dt, 0.0)
    acc *= np.where(first, 0.0, np.exp(-dt_pos / s.tau_s))[:, None]

    ve, vn = r.vel_east_mps, r.vel_north_mps
    speed = np.hypot(ve, vn)
    kin = (r.n_updates >= s.kin_min_updates) & np.isfinite(speed)
    kf = kin.astype(np.float64)
    sp0 = np.where(kin, speed, 0.0)
    acc[:, A["W_KIN"]] += kf
    acc[:, A["SPD"]] += sp0
    acc[:, A["SPD2"]] += sp0 * sp0
    acc[:, A["HOV"]] += kf * (sp0 < s.hover_speed_mps)

    if wind_en is not None:
        drift = np.hypot(ve - wind_en[0], vn - wind_en[1])
        acc[:, A["W_DRIFT"]] += kf
        acc[:, A["DRIFT"]] += np.where(kin, drift, 0.0)

    moving = kin & (speed >= s.heading_min_speed_mps)
    inv = np.where(moving, 1.0 / np.where(moving, speed, 1.0), 0.0)
    acc[:, A["W_HDG"]] += moving
    acc[:, A["HX"]] += np.where(moving, ve, 0.0) * inv
    acc[:, A["HY"]] += np.where(moving, vn, 0.0) * inv

    pve, pvn = prev[:, 2], prev[:, 3]
    prev_moving = np.hypot(pve, pvn) >= s.heading_min_speed_mps  # NaN: False
    turn_ok = moving & prev_moving & ~first & (dt >= 0.2)
    cross = pve * vn - pvn * ve
    dot = pve * ve + pvn * vn
    rate = np.degrees(np.abs(np.arctan2(cross, dot))) / np.where(turn_ok, dt, 1.0)
    acc[:, A["W_TURN"]] += turn_ok
    acc[:, A["TURN"]] += np.where(turn_ok, rate, 0.0)

    vert = kin & (r.sigma_up_m <= s.max_sigma_up_m) & np.isfinite(r.alt_m) & \
        np.isfinite(r.vel_up_mps)
    acc[:, A["W_VERT"]] += vert
    acc[:, A["AGL"]] += np.where(vert, r.alt_m - ground_alt_m, 0.0)
    acc[:, A["CLIMB"]] += np.where(vert, np.abs(r.vel_up_mps), 0.0)

    has_rcs = np.isfinite(r.rcs_dbsm)
    rc0 = np.where(has_rcs, r.rcs_dbsm, 0.0)
    acc[:, A["W_RCS"]] += has_rcs
    acc[:, A["RCS"]] += rc0
    acc[:, A["RCS2"]] += rc0 * rc0

    has_rad = np.isfinite(r.radial_speed_mps)
    acc[:, A["W_RAD"]] += has_rad
    acc[:, A["RADMAX"]] = np.maximum(acc[:, A["RADMAX"]],
                                     np.where(has_rad, r.radial_speed_mps, 0.0))

    # consistency: where this row lies against the previous row moved on by its velocity
    plat, plon = prev[:, 0], prev[:, 1]
    de = np.radians(r.lon_deg - plon) * np.cos(np.radians(r.lat_deg)) * _EARTH_R - pve * dt_pos
    dn = np.radians(r.lat_deg - plat) * _EARTH_R - pvn * dt_pos
    sig = np.sqrt(prev[:, 4] ** 2 + r.sigma_h_m ** 2 + 1.0)
    res = np.hypot(de, dn) / sig
    res_ok = ~first & r.updated & np.isfinite(res) & (dt > 0)
    acc[:, A["W_RES"]] += res_ok
    acc[:, A["RES"]] += np.where(res_ok, np.minimum(res, s.max_residual), 0.0)

    acc[:, A["W_ALL"]] += 1.0
    acc[:, A["UPD"]] += r.updated
    acc[:, A["RF"]] += r.rf

    ok = np.isfinite(r.lat_deg) & np.isfinite(r.lon_deg)
    prev[ok, 0] = r.lat_deg[ok]
    prev[ok, 1] = r.lon_deg[ok]
    vok = np.isfinite(ve) & np.isfinite(vn)
    prev[vok, 2] = ve[vok]
    prev[vok, 3] = vn[vok]
    prev[:, 4] = np.where(np.isfinite(r.sigma_h_m), r.sigma_h_m, prev[:, 4])


def features_from_acc(acc: np.ndarray, speed_now: np.ndarray, n_updates: np.ndarray,
                      age_s: np.ndarray, kin: np.ndarray) -> np.ndarray:
    """Feature matrix (:data:`FEATURE_NAMES` columns, NaN where missing) of accumulators.

    Parameters
    ----------
    acc : ndarray, shape (k, N_ACC)
    speed_now : ndarray, shape (k,)
        Horizontal speed of the current row, m/s.
    n_updates : ndarray, shape (k,)
    age_s : ndarray, shape (k,)
        Seconds since each track's first row.
    kin : ndarray of bool, shape (k,)
        The current row's velocity is usable (enough updates); rows with fewer (but two
        or more) give ``speed_rough_mps`` instead.

    Returns
    -------
    ndarray, shape (k, len(FEATURE_NAMES)), float64
    """
    A = ACC
    k = acc.shape[0]
    out = np.full((k, len(FEATURE_NAMES)), np.nan)

    def ratio(num: str, den: str, least: float) -> np.ndarray:
        w = acc[:, A[den]]
        ok = w >= least
        return np.where(ok, acc[:, A[num]] / np.where(ok, w, 1.0), np.nan)

    def spread(s1: str, s2: str, den: str, least: float) -> np.ndarray:
        w = acc[:, A[den]]
        ok = w >= least
        wd = np.where(ok, w, 1.0)
        m = acc[:, A[s1]] / wd
        v = np.maximum(acc[:, A[s2]] / wd - m * m, 0.0)
        return np.where(ok, np.sqrt(v), np.nan)

    out[:, 0] = np.where(kin, speed_now, np.nan)
    out[:, 1] = np.where(~kin & (n_updates >= 2), speed_now, np.nan)
    out[:, 2] = ratio("SPD", "W_KIN", 0.5)
    out[:, 3] = spread("SPD", "SPD2", "W_KIN", 2.0)
    w = acc[:, A["W_HDG"]]
    ok = w >= 2.0
    out[:, 4] = np.where(ok, 1.0 - np.hypot(acc[:, A["HX"]], acc[:, A["HY"]])
                         / np.where(ok, w, 1.0), np.nan)
    out[:, 5] = ratio("TURN", "W_TURN", 1.0)
    out[:, 6] = ratio("HOV", "W_KIN", 0.5)
    out[:, 7] = np.where(acc[:, A["W_RAD"]] >= 0.5, acc[:, A["RADMAX"]], np.nan)
    out[:, 8] = ratio("AGL", "W_VERT", 0.5)
    out[:, 9] = ratio("CLIMB", "W_VERT", 0.5)
    out[:, 10] = ratio("RCS", "W_RCS", 0.5)
    out[:, 11] = spread("RCS", "RCS2", "W_RCS", 2.0)
    out[:, 12] = ratio("RES", "W_RES", 0.5)
    out[:, 13] = ratio("UPD", "W_ALL", 0.5)
    out[:, 14] = ratio("RF", "W_ALL", 0.5)
    out[:, 15] = n_updates
    out[:, 16] = age_s
    out[:, 17] = ratio("DRIFT", "W_DRIFT", 0.5)
    return out
