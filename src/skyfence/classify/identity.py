"""Cooperative identity (ADS-B, Remote ID) and detection of spoofed Remote ID.

Cooperative identity
    A track updated by an ADS-B report takes its ICAO24 address as
    ``cooperative_id`` and is an aircraft with probability
    ``cooperative_confidence``; one updated by a Remote ID report takes the serial
    and is a drone with that probability, rotary unless its kinematics say
    fixed-wing (the model's fixed-wing/rotary odds times the prior odds
    ``remote_id_rotary_prior``).  The identity sticks to the track (later updates
    without an id keep it; a different id replaces it).  An ADS-B report is told
    from a Remote ID one by the kind of the sensor that made it
    (``ClassifierConfig.sensor_kinds``) or, for an unknown sensor, by its form: six
    hexadecimal digits are an ICAO24 address.

Spoofed Remote ID: the correlation rule
    A spoofed broadcast claims a position far from the drone, so it does not gate
    with the drone's radar track: the tracker makes a separate position-only track
    that carries the serial, while the radar track of the real drone carries none.
    The two move together.  For every Remote-ID-only track ``A`` (a serial, no radar
    update) updated in a time slice, each uncooperative radar track ``B`` (radar
    updates, no identity) last updated within ``max_time_gap_s`` and within
    ``max_offset_m`` is compared, ``B`` moved on by its velocity to ``A``'s time:

    * a *moving* sample (either speed ≥ ``min_speed_mps``) is counted, with the
      offset ``p_A − p_B`` and the velocity difference ``|v_A − v_B|``, unless the
      velocities differ by more than ``velocity_reset_factor`` times the tolerance
      ``velocity_tolerance_mps + velocity_tolerance_rel · speed``: that resets the
      pair (they move differently).  Hovering samples are neutral: two hovering
      drones have equal velocities and prove nothing;
    * the pair is flagged once it has ``min_updates`` counted samples, their RMS
      velocity difference is within the tolerance (at their mean speed), the offset
      is *steady* (its spread, the root of the summed east/north variances, below
      ``max(steady_offset_m, steady_offset_sigmas · σ)``) and *far*: its mean is
      longer than ``max(min_offset_m, offset_sigmas · σ)``, with ``σ = sqrt(σ_A² +
      σ_B²)`` the tracks' combined horizontal 1-sigma;
    * a Remote ID track is paired with one radar track at a time: of the pairs
      passing at once, the one with the smallest RMS velocity difference.

    Both tracks are then ``spoofed`` (for good) and the radar track takes the
    claimed serial as its ``cooperative_id``: it is the drone making the claim.
    Limits: a Remote ID drone flying in formation with an uncooperative one at a
    steady distance is indistinguishable from a spoof; a spoof that hovers all the
    time is never flagged (no moving samples).

    Defaults (:class:`~skyfence.classify.config.SpoofConfig`): 20 moving samples
    (about 20 s of flight at 1 Hz), moving at 3 m/s or more, RMS velocity difference
    within 3 m/s + 10 % of the speed, a reset at 2.5 times that, offset spread below
    40 m or 2 σ, mean offset beyond 150 m and 5 σ, radar tracks within 5 km and
    3 s.  On klaipeda-quadcopter (the liar's broadcast 1.2 km off, 25 gulls about)
    the pair is flagged 20 s after the liar starts moving, and no gull ever is.

Spoofed Remote ID: the jump rule
    One serial reported on two different tracks at most ``jump_window_s`` apart in
    time and further apart than ``jump_min_m + jump_max_speed_mps · Δt`` (faster
    than a drone flies): both tracks are ``spoofed``.  Defaults: 500 m + 80 m/s · Δt
    within 30 s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from skyfence.classify.config import SpoofConfig

__all__ = [
    "ADSB",
    "NONE",
    "REMOTE_ID",
    "SpoofDetector",
    "apply_cooperative",
    "hint_kinds",
    "local_offset",
]

#: cooperative kinds of a track's identity
NONE, ADSB, REMOTE_ID = 0, 1, 2

_ICAO24 = re.compile(r"^[0-9A-Fa-f]{6}$")
_EARTH_R = 6_371_008.8


def hint_kinds(hints: np.ndarray, sensor_ids: np.ndarray,
               sensor_kinds: dict[str, str]) -> np.ndarray:
    """Cooperative kind of each row's ``id_hint``: NONE, ADSB or REMOTE_ID (int8).

    Parameters
    ----------
    hints : ndarray of str
        ``id_hint`` per row ("" for none).
    sensor_ids : ndarray of str
        ``sensor_id`` per row.
    sensor_kinds : dict
        Sensor id → kind (``adsb``, ``remote_id``, …); sensors not in it are judged
        by the form of the id.
    """
    out = np.zeros(hints.size, np.int8)
    has = np.flatnonzero(hints != "")
    if has.size == 0:
        return out
    uh, inv = np.unique(hints[has], return_inverse=True)
    form = np.array([ADSB if _ICAO24.match(str(h)) else REMOTE_ID for h in uh], np.int8)[inv]
    sid = sensor_ids[has]
    for s, kind in sensor_kinds.items():
        if kind in ("adsb", "remote_id"):
            form[sid == s] = ADSB if kind == "adsb" else REMOTE_ID
    out[has] = form
    return out


def apply_cooperative(P: np.ndarray, kind: np.ndarray, classes: tuple[str, ...],
                      confidence: float, rotary_prior: float) -> None:
    """Overwrite in place the class probabilities of rows with a cooperative identity.

    Parameters
    ----------
    P : ndarray, shape (n, n_classes)
        Model probabilities (rows sum to 1); modified in place.
    kind : ndarray of int8, shape (n,)
        NONE, ADSB or REMOTE_ID per row.
    classes : tuple of str
        Column names of ``P``.
    confidence : float
        Probability given to the cooperative class (aircraft; drone).
    rotary_prior : float
        Prior share of rotary wings among Remote ID drones.
    """
    ac = classes.index("aircraft")
    fw, rot = classes.index("drone_fixed_wing"), classes.index("drone_rotary")
    for k, cols in ((ADSB, [ac]), (REMOTE_ID, [fw, rot])):
        rows = np.flatnonzero(kind == k)
        if rows.size == 0:
            continue
        p = P[rows]
        rest = p.copy()
        rest[:, cols] = 0.0
        s = rest.sum(axis=1, keepdims=True)
        n_rest = P.shape[1] - len(cols)
        rest = np.where(s > 0, rest / np.where(s > 0, s, 1.0), 1.0 / n_rest)
        rest[:, cols] = 0.0
        out = (1.0 - confidence) * rest
        if k == ADSB:
            out[:, ac] = confidence
        else:
            a = p[:, fw] * (1.0 - rotary_prior)
            b = p[:, rot] * rotary_prior
            tot = a + b
            f = np.where(tot > 0, a / np.where(tot > 0, tot, 1.0), 1.0 - rotary_prior)
            out[:, fw] = confidence * f
            out[:, rot] = confidence * (1.0 - f)
        P[rows] = out


@dataclass
class _Pairs:
    """Correlation state of (Remote ID track, radar track) pairs, sorted by (a, b)."""

    a: np.ndarray
    b: np.ndarray
    count: np.ndarray
    #: (k, N_SUMS): Σ east, Σ north, Σ east², Σ north² of the offset (m, m²), Σ |Δv|²
    #: (m²/s²) and Σ speed of the faster track (m/s) over the counted samples
    sums: np.ndarray
    t_last: np.ndarray

    N_SUMS = 6

    @classmethod
    def empty(cls) -> _Pairs:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                   np.zeros((0, cls.N_SUMS)), np.zeros(0))

    def keep(self, m: np.ndarray) -> None:
        self.a, self.b, self.count = self.a[m], self.b[m], self.count[m]
        self.sums, self.t_last = self.sums[m], self.t_last[m]


@dataclass
class _Serials:
    """Last report of each serial (by code): track, time, position."""

    track: np.ndarray
    time: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    @classmethod
    def empty(cls) -> _Serials:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))

    def grow(self, n: int) -> None:
        k = n - self.track.size
        if k > 0:
            self.track = np.concatenate([self.track, np.full(k, -1, np.int64)])
            self.time = np.concatenate([self.time, np.full(k, np.nan)])
            self.lat = np.concatenate([self.lat, np.full(k, np.nan)])
            self.lon = np.concatenate([self.lon, np.full(k, np.nan)])


def local_offset(lat_a: np.ndarray, lon_a: np.ndarray, lat_b: np.ndarray,
                  lon_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north metres from b to a (local flat earth: a few metres off per ten
    kilometres)."""
    de = np.radians(lon_a - lon_b) * np.cos(np.radians(lat_a)) * _EARTH_R
    dn = np.radians(lat_a - lat_b) * _EARTH_R
    return de, dn


class SpoofDetector:
    """State and rules of the spoofing checks (see the module docstring).

    Parameters
    ----------
    config : SpoofConfig
    """

    def __init__(self, config: SpoofConfig) -> None:
        self.cfg = config
        self.pairs = _Pairs.empty()
        self.serials = _Serials.empty()

    def correlate(self, a_ids: np.ndarray, a_t: np.ndarray, a_state: np.ndarray,
                  b_ids: np.ndarray, b_t: np.ndarray, b_state: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Fold one sample of every nearby (A, B) pair into the correlation state.

        Parameters
        ----------
        a_ids, a_t : ndarray
            Remote-ID-only tracks updated now, and the time of their row (UTC s).
        a_state, b_state : ndarray, shape (k, 5)
            Latitude, longitude (degrees), east and north velocity (m/s), horizontal
            1-sigma (m) of each track's latest row.
        b_ids, b_t : ndarray
            Candidate uncooperative radar tracks and the time of their latest row.

        Returns
        -------
        a, b : ndarray of int64
            Track ids of the pairs flagged now (each may already have been flagged).
        """
        none = (np.zeros(0, np.int64), np.zeros(0, np.int64))
        if a_ids.size == 0 or b_ids.size == 0:
            return none
        flagged_a, flagged_b = [], []
        # A tracks are few (Remote ID broadcasters); radar tracks may be thousands
        chunk = max(1, 2_000_000 // max(b_ids.size, 1))
        for lo in range(0, a_ids.size, chunk):
            sl = slice(lo, lo + chunk)
            fa, fb = self._correlate_block(a_ids[sl], a_t[sl], a_state[sl], b_ids, b_t, b_state)
            flagged_a.append(fa)
            flagged_b.append(fb)
        return np.concatenate(flagged_a), np.concatenate(flagged_b)

    def _correlate_block(self, a_ids: np.ndarray, a_t: np.ndarray, a_state: np.ndarray,
                         b_ids: np.ndarray, b_t: np.ndarray, b_state: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
        c = self.cfg
        dt = a_t[:, None] - b_t[None, :]
        recent = np.abs(dt) <= c.max_time_gap_s
        lat_b = b_state[None, :, 0] + np.degrees(b_state[None, :, 3] * dt / _EARTH_R)
        lon_b = b_state[None, :, 1] + np.degrees(
            b_state[None, :, 2] * dt / (_EARTH_R * np.cos(np.radians(b_state[None, :, 0]))))
        de, dn = local_offset(a_state[:, None, 0], a_state[:, None, 1], lat_b, lon_b)
        near = recent & (np.hypot(de, dn) <= c.max_offset_m)
        ia, ib = np.nonzero(near)
        if ia.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        de, dn = de[ia, ib], dn[ia, ib]
        va, vb = a_state[ia, 2:4], b_state[ib, 2:4]
        sa, sb = np.hypot(va[:, 0], va[:, 1]), np.hypot(vb[:, 0], vb[:, 1])
        fastest = np.maximum(sa, sb)
        moving = fastest >= c.min_speed_mps
        dv = np.hypot(*(va - vb).T)
        tol = c.velocity_tolerance_mps + c.velocity_tolerance_rel * fastest
        apart = moving & (dv > c.velocity_reset_factor * tol)
        good = moving & ~apart
        pa, pb = a_ids[ia], b_ids[ib]
        # find or add the pairs' state
        P = self.pairs
        key_old = np.stack([P.a, P.b], axis=1)
        key_new = np.stack([pa, pb], axis=1)
        allk, inv = np.unique(np.concatenate([key_old, key_new]), axis=0, return_inverse=True)
        inv = inv.ravel()
        n_all = allk.shape[0]
        count = np.zeros(n_all, np.int64)
        sums = np.zeros((n_all, _Pairs.N_SUMS))
        t_last = np.full(n_all, -np.inf)
        old = inv[: P.a.size]
        count[old], sums[old], t_last[old] = P.count, P.sums, P.t_last
        j = inv[P.a.size:]
        count[j[apart]] = 0
        sums[j[apart]] = 0.0
        count[j[good]] += 1
        sums[j[good]] += np.stack([de, dn, de * de, dn * dn, dv * dv, fastest], axis=1)[good]
        t_last[j] = np.maximum(t_last[j], a_t[ia])
        self.pairs = _Pairs(allk[:, 0].copy(), allk[:, 1].copy(), count, sums, t_last)
        # the flag test, on the pairs sampled now
        cnt = count[j].astype(np.float64)
        enough = cnt >= c.min_updates
        s = sums[j] / np.maximum(cnt, 1.0)[:, None]
        mean = np.hypot(s[:, 0], s[:, 1])
        spread = np.sqrt(np.maximum(s[:, 2] - s[:, 0] ** 2, 0.0)
                         + np.maximum(s[:, 3] - s[:, 1] ** 2, 0.0))
        sig = np.nan_to_num(np.sqrt(a_state[ia, 4] ** 2 + b_state[ib, 4] ** 2), nan=0.0)
        steady = spread <= np.maximum(c.steady_offset_m, c.steady_offset_sigmas * sig)
        agree = np.sqrt(s[:, 4]) <= c.velocity_tolerance_mps + c.velocity_tolerance_rel * s[:, 5]
        far = mean > np.maximum(c.min_offset_m, c.offset_sigmas * sig)
        hit = good & enough & steady & agree & far
        if not hit.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        # one radar track per Remote ID track: the closest in velocity (RMS difference)
        h = np.flatnonzero(hit)
        order = np.lexsort((s[h, 4], pa[h]))
        h = h[order]
        first = np.ones(h.size, bool)
        first[1:] = pa[h[1:]] != pa[h[:-1]]
        h = h[first]
        return pa[h], pb[h]

    def jumps(self, code: np.ndarray, track: np.ndarray, time: np.ndarray, lat: np.ndarray,
              lon: np.ndarray) -> np.ndarray:
        """Apply the jump rule to Remote ID rows; returns the track ids to flag.

        Parameters
        ----------
        code : ndarray of int64
            Serial code of each Remote ID row.
        track, time, lat, lon : ndarray
            Its track id, time (UTC s) and position (degrees).
        """
        c = self.cfg
        if code.size == 0:
            return np.zeros(0, np.int64)
        S = self.serials
        S.grow(int(code.max()) + 1)
        order = np.lexsort((time, code))
        code, track, time, lat, lon = (v[order] for v in (code, track, time, lat, lon))
        first = np.ones(code.size, bool)
        first[1:] = code[1:] != code[:-1]
        # the previous report of each row: the one before it, or the stored one
        p_track = np.where(first, S.track[code], np.roll(track, 1))
        p_time = np.where(first, S.time[code], np.roll(time, 1))
        p_lat = np.where(first, S.lat[code], np.roll(lat, 1))
        p_lon = np.where(first, S.lon[code], np.roll(lon, 1))
        de, dn = local_offset(lat, lon, p_lat, p_lon)
        gap = np.abs(time - p_time)
        jump = (p_track >= 0) & (p_track != track) & (gap <= c.jump_window_s) & \
            (np.hypot(de, dn) > c.jump_min_m + c.jump_max_speed_mps * gap)
        last = np.ones(code.size, bool)
        last[:-1] = code[1:] != code[:-1]
        S.track[code[last]] = track[last]
        S.time[code[last]] = time[last]
        S.lat[code[last]] = lat[last]
        S.lon[code[last]] = lon[last]
        if not jump.any():
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate([track[jump], p_track[jump]]))

    def forget(self, ids: np.ndarray, now: float, stale_s: float) -> None:
        """Drop the pairs of tracks ``ids`` and pairs not sampled for ``stale_s`` seconds."""
        P = self.pairs
        if P.a.size == 0:
            return
        keep = ~(np.isin(P.a, ids) | np.isin(P.b, ids)) & (P.t_last >= now - stale_s)
        P.keep(keep)
