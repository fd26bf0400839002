"""Vectorised target motion: every target advances one step per call, as arrays.

The motion is integrated on the WGS84 ellipsoid: latitude and longitude advance
by the east/north velocity over the local radii of curvature, so headings and
velocities are true (local east, north, up) with no map projection in the loop.
Distances for guidance are local east/north metres between two points.
Guidance is a turn-rate-limited pursuit of the next waypoint (smooth turns),
first-order speed and climb with limits, holds (hover for rotary wings, orbit
for fixed wings), fuel (endurance) and a glide to the ground when it runs out.
Birds wander (Ornstein-Uhlenbeck turn rate around a home point); balloons
drift with the wind.  EW: spoofing rotates and shifts the drone's *perceived*
position, so its autopilot flies the route in a false picture; jamming leaves
it on a drifting gyro.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from skyfence.geo.geodesy import WGS84_A, WGS84_E2

__all__ = ["BEHAVIOUR", "END", "STATE", "Kinematics", "TargetTable"]

BEHAVIOUR = {"route": 0, "wander": 1, "drift": 2}
END = {"continue": 0, "land": 1, "loop": 2, "vanish": 3, "orbit": 4}
STATE = {"waiting": 0, "flying": 1, "gliding": 2, "down": 3, "gone": 4}


@dataclass
class TargetTable:
    """Static description of N targets (structure of arrays).  Times are seconds after
    the scenario start; waypoints in radians and metres above the ellipsoid."""

    name: np.ndarray          # (N,) str
    type: np.ndarray          # (N,) str
    target_class: np.ndarray  # (N,) str
    behaviour: np.ndarray     # (N,) int8, BEHAVIOUR
    start_t: np.ndarray       # (N,)
    end_t: np.ndarray         # (N,) inf when unlimited
    wp: np.ndarray            # (N, W, 3) latitude (rad), longitude (rad), alt (m)
    wp_hold: np.ndarray       # (N, W) s
    wp_speed: np.ndarray      # (N, W) m/s, NaN = cruise
    n_wp: np.ndarray          # (N,) int
    end_mode: np.ndarray      # (N,) int8, END
    cruise: np.ndarray
    vmin: np.ndarray
    vmax: np.ndarray
    turn_rate: np.ndarray     # rad/s
    climb: np.ndarray
    descent: np.ndarray
    accel: np.ndarray
    rcs_dbsm: np.ndarray
    size_m: np.ndarray
    acoustic_db: np.ndarray
    emits_rf: np.ndarray      # bool
    endurance_m: np.ndarray
    glide_ratio: np.ndarray
    icao24: np.ndarray        # (N,) str, '' = none
    remote_id: np.ndarray     # (N,) str, '' = none
    rid_offset: np.ndarray    # (N, 2) m, east/north error of a spoofed Remote ID broadcast
    spoof_start: np.ndarray   # (N,) inf = none
    spoof_rot: np.ndarray     # rad
    spoof_ramp: np.ndarray
    spoof_drift: np.ndarray   # (N, 2) m/s
    jam_start: np.ndarray     # inf = none
    gyro_drift: np.ndarray    # rad/s

    def __len__(self) -> int:
        return int(self.name.shape[0])


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


def _radii(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Meridional (M) and prime-vertical (N) radii of curvature at ``lat`` (rad), metres."""
    w2 = 1.0 - WGS84_E2 * np.sin(lat) ** 2
    return WGS84_A * (1.0 - WGS84_E2) / w2**1.5, WGS84_A / np.sqrt(w2)


def delta_en(lat0: np.ndarray, lon0: np.ndarray, lat1: np.ndarray,
             lon1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north metres from point 0 to point 1 (radians), on the local radii at the
    mid-latitude: exact to a few metres per 100 km, which is all guidance needs."""
    mid = 0.5 * (lat0 + lat1)
    m, n = _radii(mid)
    return _wrap(lon1 - lon0) * n * np.cos(mid), (lat1 - lat0) * m


_STATE_FIELDS = ("lat", "lon", "alt", "heading", "speed", "vz", "wp_idx", "hold_left", "dist",
                 "state", "omega", "home", "home_alt", "spoof_c", "vx", "vy")


class _Subset:
    """The moving state of some targets, gathered for one step and scattered back."""

    def __init__(self, k: Kinematics, idx: np.ndarray) -> None:
        for name in _STATE_FIELDS:
            setattr(self, name, getattr(k, name)[idx])

    def scatter(self, k: Kinematics, idx: np.ndarray) -> None:
        for name in _STATE_FIELDS:
            getattr(k, name)[idx] = getattr(self, name)


class Kinematics:
    """The moving state of all targets; :meth:`step` advances it by ``dt``."""

    def __init__(self, tt: TargetTable, terrain_alt_m: float, wind_en: tuple[float, float],
                 rng: np.random.Generator) -> None:
        self.tt = tt
        self.ground = float(terrain_alt_m)
        self.wind = np.asarray(wind_en, dtype=float)
        self.rng = rng
        n = len(tt)
        first = tt.wp[np.arange(n), 0]
        self.lat = first[:, 0].copy()
        self.lon = first[:, 1].copy()
        self.alt = first[:, 2].copy()
        has_next = tt.n_wp > 1
        nxt = tt.wp[np.arange(n), np.minimum(1, tt.wp.shape[1] - 1)]
        de, dn = delta_en(self.lat, self.lon, nxt[:, 0], nxt[:, 1])
        hdg = np.arctan2(de, dn)
        rand_hdg = rng.uniform(-np.pi, np.pi, n)
        self.heading = np.where(has_next, hdg, rand_hdg)
        wind_hdg = np.arctan2(self.wind[0], self.wind[1])
        self.heading = np.where(tt.behaviour == BEHAVIOUR["drift"], wind_hdg, self.heading)
        self.speed = np.where(tt.behaviour == BEHAVIOUR["drift"], float(np.hypot(*self.wind)),
                              tt.cruise).astype(float)
        self.vz = np.zeros(n)
        self.wp_idx = np.where(has_next, 1, 0).astype(np.int64)
        self.hold_left = np.full(n, np.nan)
        self.dist = np.zeros(n)
        self.state = np.zeros(n, dtype=np.int8)
        self.omega = np.zeros(n)                 # wander turn rate
        self.home = first[:, :2].copy()
        self.home_alt = first[:, 2].copy()
        self.spoof_c = np.full((n, 2), np.nan)   # where spoofing began (lat, lon rad)
        self.vx = np.zeros(n)                    # east, m/s
        self.vy = np.zeros(n)                    # north, m/s
        # the active subset last stepped and its table, reused while the subset holds
        self._sub: tuple[np.ndarray, TargetTable] | None = None

    # ------------------------------------------------------------------------------
    def activate(self, t: float) -> None:
        """Start the targets whose start time has come, without moving anything."""
        new = (self.state == STATE["waiting"]) & (self.tt.start_t <= t)
        if new.any():
            self.state[new] = STATE["flying"]
            self.vx[new] = (self.speed * np.sin(self.heading))[new]
            self.vy[new] = (self.speed * np.cos(self.heading))[new]

    def step(self, t: float, dt: float) -> None:
        """Advance every target from time ``t`` to ``t + dt`` (seconds after start).

        Only the targets in the air are computed: on a 24-hour day most of the
        population is not yet launched or already gone.
        """
        self.activate(t)
        act = np.flatnonzero((self.state == STATE["flying"]) | (self.state == STATE["gliding"]))
        if act.size == 0:
            return
        if act.size == len(self.tt):
            self._advance(self, self.tt, t, dt)
            return
        if self._sub is None or not np.array_equal(self._sub[0], act):
            self._sub = (act, TargetTable(**{f.name: getattr(self.tt, f.name)[act]
                                             for f in dataclasses.fields(TargetTable)}))
        sub = _Subset(self, act)
        self._advance(sub, self._sub[1], t, dt)
        sub.scatter(self, act)

    def _advance(self, k: Any, tt: TargetTable, t: float, dt: float) -> None:
        """One step for the targets held by ``k`` (self, or a subset), described by ``tt``."""
        n = len(tt)
        idx = np.arange(n)
        st = k.state
        st[(st <= STATE["gliding"]) & (st > 0) & (t >= tt.end_t)] = STATE["gone"]
        fly = st == STATE["flying"]
        glide = st == STATE["gliding"]
        moving = fly | glide
        route = tt.behaviour == BEHAVIOUR["route"]

        # perceived position under spoofing -------------------------------------------
        sp = moving & (t >= tt.spoof_start)
        newc = sp & np.isnan(k.spoof_c[:, 0])
        k.spoof_c[newc, 0] = k.lat[newc]
        k.spoof_c[newc, 1] = k.lon[newc]
        since = np.where(sp, t - tt.spoof_start, 0.0)
        theta = np.where(sp, tt.spoof_rot * np.clip(since / tt.spoof_ramp, 0.0, 1.0), 0.0)
        # everything relative to c: where spoofing began (or the target itself)
        c_lat = np.where(sp, k.spoof_c[:, 0], k.lat)
        c_lon = np.where(sp, k.spoof_c[:, 1], k.lon)
        rx, ry = delta_en(c_lat, c_lon, k.lat, k.lon)
        # the perceived position: rotated clockwise by theta about c, then shifted
        c, s = np.cos(theta), np.sin(theta)
        px = c * rx + s * ry + tt.spoof_drift[:, 0] * since
        py = -s * rx + c * ry + tt.spoof_drift[:, 1] * since
        jam = moving & (t >= tt.jam_start)

        # route guidance --------------------------------------------------------------
        last_w = tt.wp.shape[1] - 1
        tgt = tt.wp[idx, np.minimum(k.wp_idx, last_w)]
        wx, wy = delta_en(c_lat, c_lon, tgt[:, 0], tgt[:, 1])
        dist = np.hypot(wx - px, wy - py)
        fixed = tt.vmin > 0
        turn_radius = np.where(fixed, k.speed / np.maximum(tt.turn_rate, 1e-6), 0.0)
        capture = np.maximum.reduce([1.5 * k.speed * dt, np.minimum(turn_radius, 2_000.0),
                                     np.full(n, 20.0)])
        done = k.wp_idx >= tt.n_wp          # past the last waypoint
        reached = fly & route & ~done & ~jam & (dist < capture)
        hold_s = tt.wp_hold[idx, np.minimum(k.wp_idx, last_w)]
        start_hold = reached & (hold_s > 0) & np.isnan(k.hold_left)
        k.hold_left[start_hold] = hold_s[start_hold]
        holding = fly & ~np.isnan(k.hold_left)
        k.hold_left[holding] -= dt
        finished_hold = holding & (k.hold_left <= 0)
        k.hold_left[finished_hold] = np.nan
        advance = (reached & (hold_s <= 0)) | finished_hold
        k.wp_idx[advance] += 1
        loop = advance & (k.wp_idx >= tt.n_wp) & (tt.end_mode == END["loop"])
        k.wp_idx[loop] = 0
        done = k.wp_idx >= tt.n_wp
        ended = fly & route & done
        st[ended & (tt.end_mode == END["vanish"])] = STATE["gone"]
        landing = ended & (tt.end_mode == END["land"])
        orbit_end = ended & (tt.end_mode == END["orbit"])
        holding = fly & ~np.isnan(k.hold_left)
        safe_idx = np.minimum(k.wp_idx, last_w)
        tgt = tt.wp[idx, safe_idx]
        last = tt.wp[idx, np.maximum(tt.n_wp - 1, 0)]
        tgt = np.where(done[:, None], last, tgt)
        wx, wy = delta_en(c_lat, c_lon, tgt[:, 0], tgt[:, 1])
        desired = np.arctan2(wx - px, wy - py) - theta
        desired = np.where(ended & (tt.end_mode == END["continue"]), k.heading, desired)
        orbiting = (holding | orbit_end) & fixed
        desired = np.where(orbiting, k.heading + tt.turn_rate * dt * 1.5, desired)
        hover = (holding | orbit_end | landing) & ~fixed

        # jammed: a drifting gyro instead of satellite navigation
        desired = np.where(jam, k.heading + tt.gyro_drift * dt, desired)

        # wandering birds: OU turn rate with a pull back toward home
        wander = moving & (tt.behaviour == BEHAVIOUR["wander"])
        if wander.any():
            tau = 30.0
            a = np.exp(-dt / tau)
            sig = 0.35 * tt.turn_rate
            k.omega = a * k.omega + sig * np.sqrt(1 - a * a) * self.rng.standard_normal(n)
            hx, hy = delta_en(k.lat, k.lon, k.home[:, 0], k.home[:, 1])
            far = np.hypot(hx, hy) > 5_000.0
            home_hdg = np.arctan2(hx, hy)
            desired = np.where(wander, k.heading + k.omega * dt, desired)
            desired = np.where(wander & far, home_hdg, desired)

        err = _wrap(desired - k.heading)
        lim = tt.turn_rate * dt
        turn = np.clip(err, -lim, lim)
        drift = tt.behaviour == BEHAVIOUR["drift"]
        k.heading = np.where(moving & ~drift, _wrap(k.heading + turn), k.heading)

        # speed -----------------------------------------------------------------------
        wp_v = tt.wp_speed[idx, safe_idx]
        cmd = np.where(np.isnan(wp_v), tt.cruise, wp_v)
        cmd = np.where(hover, 0.0, cmd)
        if wander.any():
            cmd = np.where(wander, tt.cruise * (1 + 0.1 * np.sin(k.omega * 20)), cmd)
        cmd = np.clip(cmd, tt.vmin, tt.vmax)
        dv = np.clip(cmd - k.speed, -tt.accel * dt, tt.accel * dt)
        k.speed = np.where(fly & ~drift, k.speed + dv, k.speed)

        # vertical --------------------------------------------------------------------
        alt_cmd = np.where(route, tgt[:, 2], k.home_alt)
        alt_cmd = np.where(landing, self.ground, alt_cmd)
        if wander.any():
            k.home_alt = np.where(wander, k.home_alt
                                     + 0.5 * self.rng.standard_normal(n) * np.sqrt(dt),
                                     k.home_alt)
            k.home_alt = np.maximum(k.home_alt, self.ground + 20.0)
        vz = np.clip((alt_cmd - k.alt) / 8.0, -tt.descent, tt.climb)
        sink = np.where(tt.glide_ratio > 0, k.speed / np.maximum(tt.glide_ratio, 1e-6),
                        2 * tt.descent)
        vz = np.where(glide, -sink, vz)
        k.vz = np.where(moving, vz, 0.0)

        # balloons drift with the wind (plus a little turbulence)
        if drift.any():
            turb = 0.5 * self.rng.standard_normal((n, 2))
            vx_d = self.wind[0] + turb[:, 0]
            vy_d = self.wind[1] + turb[:, 1]
        else:
            vx_d = vy_d = np.zeros(n)

        vx = np.where(drift, vx_d, k.speed * np.sin(k.heading))
        vy = np.where(drift, vy_d, k.speed * np.cos(k.heading))
        k.vx = np.where(moving, vx, 0.0)
        k.vy = np.where(moving, vy, 0.0)
        m, nrad = _radii(k.lat)
        k.lat = k.lat + k.vy * dt / (m + k.alt)
        k.lon = _wrap(k.lon + k.vx * dt / ((nrad + k.alt) * np.cos(k.lat)))
        k.alt = k.alt + k.vz * dt
        k.dist = k.dist + np.where(moving, np.hypot(k.vx, k.vy) * dt, 0.0)

        # fuel and the ground -----------------------------------------------------------
        st[fly & (k.dist >= tt.endurance_m)] = STATE["gliding"]
        hit = moving & (k.alt <= self.ground + 0.5) & (glide | landing)
        crashed = moving & (k.alt <= self.ground) & (k.vz < 0)
        down = hit | crashed
        k.alt = np.where(down, self.ground, k.alt)
        k.vx = np.where(down, 0.0, k.vx)
        k.vy = np.where(down, 0.0, k.vy)
        k.vz = np.where(down, 0.0, k.vz)
        k.speed = np.where(down, 0.0, k.speed)
        st[down] = STATE["down"]
