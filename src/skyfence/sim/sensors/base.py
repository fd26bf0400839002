"""Shared machinery of the simulated sensors: truth sampling, scan schedule, outages,
latency, and assembling detection columns."""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from skyfence.config.sensors import SensorSpec
from skyfence.geo.geodesy import ecef2enu, enu2aer, geodetic2ecef
from skyfence.geo.horizon import line_of_sight
from skyfence.model.schema import DETECTION_COLUMNS
from skyfence.sim.kinematics import TargetTable

__all__ = ["Geometry", "SensorModel", "TruthWindow", "empty_detections"]


@dataclass
class TruthWindow:
    """Truth of all targets on a uniform time grid (rows: times, columns: targets)."""

    t: np.ndarray         # (T,) UTC epoch s
    lat: np.ndarray       # (T, N) deg
    lon: np.ndarray       # (T, N) deg
    alt: np.ndarray       # (T, N) m above the ellipsoid
    ecef: np.ndarray      # (T, N, 3) m
    vel: np.ndarray       # (T, N, 3) ECEF velocity, m/s
    present: np.ndarray   # (T, N) bool: flying (not yet launched, down or gone: False)
    targets: TargetTable
    terrain_alt_m: float

    @property
    def dt(self) -> float:
        return float(self.t[1] - self.t[0]) if self.t.size > 1 else 1.0

    @functools.cached_property
    def boxes(self) -> tuple[np.ndarray, ...]:
        """Per target over the window: (present at all, lat min, lat max, lon min, lon max)."""
        p = self.present
        return (p.any(axis=0),
                np.min(np.where(p, self.lat, np.inf), axis=0),
                np.max(np.where(p, self.lat, -np.inf), axis=0),
                np.min(np.where(p, self.lon, np.inf), axis=0),
                np.max(np.where(p, self.lon, -np.inf), axis=0))

    def sample(self, times: np.ndarray, tid: np.ndarray) -> dict[str, np.ndarray]:
        """Linearly interpolate the truth of targets ``tid`` at ``times`` (same shape)."""
        f = (times - self.t[0]) / self.dt
        i = np.floor(f).astype(np.int64)
        ok = (i >= 0) & (i + 1 < self.t.size)
        i = np.clip(i, 0, max(self.t.size - 2, 0))
        n = self.present.shape[1]
        a = i * n + tid            # flat index of (i, tid); b is the next step
        b = a + n
        w = f - i
        pres = self.present.reshape(-1)
        ok &= pres[a] & pres[b]
        ecef = self.ecef.reshape(-1, 3)
        vel = self.vel.reshape(-1, 3)
        w2 = w[:, None]
        out = {"ok": ok,
               "pos": ecef[a] + w2 * (ecef[b] - ecef[a]),
               "vel": vel[a] + w2 * (vel[b] - vel[a])}
        for k in ("lat", "lon", "alt"):
            col = getattr(self, k).reshape(-1)
            out[k] = col[a] + w * (col[b] - col[a])
        return out


@dataclass
class Geometry:
    """Target geometry seen from a sensor site."""

    range_m: np.ndarray
    az_deg: np.ndarray
    el_deg: np.ndarray
    radial_mps: np.ndarray
    ground_m: np.ndarray
    hag_m: np.ndarray


def empty_detections() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k, dt in DETECTION_COLUMNS.items():
        out[k] = np.empty(0, dtype=str if dt == "str" else dt)
    return out


class SensorModel(ABC):
    """Base of every simulated sensor.

    Subclasses implement :meth:`_observe` for the scans that start in a window.
    A scan starting at ``t_k`` reports a target at ``t_k + frac * period``:
    ``frac`` is the target's azimuth / 360 for a rotating radar, a per-target
    broadcast phase for cooperative reports, 0 for a staring sensor.
    """

    detection_kind: str = ""
    rotating: bool = False
    broadcast: bool = False

    def __init__(self, spec: SensorSpec, index: int, seed: int, t_start: float,
                 duration_s: float, terrain_alt_m: float) -> None:
        self.spec = spec
        self.index = index
        self.seed = seed
        self.terrain = terrain_alt_m
        self.period = float(spec.scan_period_s or 1.0)
        rng = np.random.default_rng([seed, 1_000 + index])
        self.phase = float(rng.uniform(0, self.period))
        self.t_first = t_start + self.phase
        self.site_ecef = np.array(geodetic2ecef(spec.lat_deg, spec.lon_deg, spec.alt_m), float)
        self.site_hag = max(spec.alt_m - terrain_alt_m, 0.0)
        # outages over the whole run
        n_out = rng.poisson(spec.dropout_per_hour * duration_s / 3600.0)
        starts = t_start + rng.uniform(0, duration_s, n_out)
        self.outages = np.stack([starts, starts + rng.exponential(spec.dropout_mean_s, n_out)], -1)
        self.fov_el = spec.fov_elevation_deg or (-90.0, 90.0)

    # -- schedule --------------------------------------------------------------------
    def scans_in(self, c0: float, c1: float) -> np.ndarray:
        """Start times of the scans this window owns: t_k in [c0 - P, c1 - P)."""
        p = self.period
        k0 = int(np.ceil((c0 - p - self.t_first) / p - 1e-9))
        k1 = int(np.ceil((c1 - p - self.t_first) / p - 1e-9))
        k = np.arange(max(k0, 0), max(k1, 0))
        return self.t_first + k * p

    def in_outage(self, times: np.ndarray) -> np.ndarray:
        out = np.zeros(times.shape, bool)
        for a, b in self.outages:
            out |= (times >= a) & (times < b)
        return out

    # -- geometry --------------------------------------------------------------------
    def geometry(self, pos: np.ndarray, vel: np.ndarray, alt: np.ndarray) -> Geometry:
        s = self.spec
        e, n, u = ecef2enu(pos[:, 0], pos[:, 1], pos[:, 2], s.lat_deg, s.lon_deg, s.alt_m)
        az, el, rng_m = enu2aer(e, n, u)
        d = pos - self.site_ecef
        with np.errstate(invalid="ignore", divide="ignore"):
            radial = np.einsum("ij,ij->i", vel, d) / rng_m
        return Geometry(np.asarray(rng_m), np.asarray(az), np.asarray(el), radial,
                        np.hypot(e, n), alt - self.terrain)

    def coverage(self, g: Geometry, max_range: np.ndarray | float) -> np.ndarray:
        """Inside range limits, the field of view, and above the 4/3-earth horizon."""
        s = self.spec
        centre, width = s.fov_azimuth_deg
        off = (g.az_deg - centre + 180.0) % 360.0 - 180.0
        in_az = np.abs(off) <= width / 2.0 if width < 360 else np.ones(g.az_deg.shape, bool)
        in_el = (g.el_deg >= self.fov_el[0]) & (g.el_deg <= self.fov_el[1])
        in_r = (g.range_m >= s.min_range_m) & (g.range_m <= max_range)
        los = line_of_sight(self.site_hag, g.hag_m, g.ground_m)
        return in_az & in_el & in_r & np.asarray(los, bool)

    def candidates(self, w: TruthWindow, reach_m: float) -> np.ndarray:
        """Targets whose latitude/longitude box over the window comes within ``reach_m``
        (generously rounded up) of the site: a cheap pre-filter, not the coverage test."""
        present, la0, la1, lo0, lo1 = w.boxes
        if not present.any():
            return np.nonzero(present)[0]
        s = self.spec
        margin = reach_m * 1.05 + 2_000.0
        dlat = np.degrees(margin / 6_335_000.0)  # smallest meridional radius: an upper bound
        worst = min(abs(s.lat_deg) + dlat, 89.0)
        dlon = np.degrees(margin / (6_378_137.0 * np.cos(np.radians(worst))))
        with np.errstate(invalid="ignore"):
            near = (present & (la1 >= s.lat_deg - dlat) & (la0 <= s.lat_deg + dlat)
                    & (lo1 >= s.lon_deg - dlon) & (lo0 <= s.lon_deg + dlon))
        return np.nonzero(near)[0]

    def rough_azimuth(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray) -> np.ndarray:
        """Azimuth (deg) of targets at the grid step nearest ``times``, on a local flat
        earth: good to a fraction of a degree, enough to time a rotating beam."""
        if not self.rotating:
            return np.zeros(times.shape)
        i = np.clip(np.rint((times - w.t[0]) / w.dt).astype(np.int64), 0, w.t.size - 1)
        lat = w.lat[i, tid]
        lon = w.lon[i, tid]
        de = (lon - self.spec.lon_deg) * np.cos(np.radians(self.spec.lat_deg))
        dn = lat - self.spec.lat_deg
        with np.errstate(invalid="ignore"):
            return np.degrees(np.arctan2(de, dn)) % 360.0

    def frac(self, tid: np.ndarray, az_deg: np.ndarray) -> np.ndarray:
        if self.rotating:
            return (az_deg % 360.0) / 360.0
        if self.broadcast:
            # a fixed per-target phase of its own transmitter
            h = (tid.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(1_000_003)
            return h.astype(float) / 1_000_003.0
        return np.zeros(tid.shape)

    # -- the main entry ----------------------------------------------------------------
    def observe(self, w: TruthWindow, c0: float, c1: float, chunk: int) -> dict[str, np.ndarray]:
        """Detections (and false alarms) of the scans that this window owns."""
        scans = self.scans_in(c0, c1)
        rng = np.random.default_rng([self.seed, 3_000 + self.index, chunk])
        reach = float(self.spec.max_range_m or 1e7)
        cand = self.candidates(w, reach)
        ks, tid = np.meshgrid(scans, cand, indexing="ij")
        ks, tid = ks.ravel(), tid.ravel()
        if tid.size:
            # where is each target as the scan starts?  then when does the scan see it?
            times = ks + self.frac(tid, self.rough_azimuth(w, ks, tid)) * self.period
            smp = w.sample(times, tid)
            keep = smp["ok"]
            times, tid = times[keep], tid[keep]
            smp = {k: v[keep] for k, v in smp.items()}
            geo = self.geometry(smp["pos"], smp["vel"], smp["alt"])
            det = self._observe(w, times, tid, smp, geo, rng)
        else:
            det = empty_detections()
        fa = self._false_alarms(scans, rng)
        out = {k: np.concatenate([det[k], fa[k]]) for k in det} if fa else det
        keep = ~self.in_outage(out["time"])
        out = {k: v[keep] for k, v in out.items()}
        n = out["time"].size
        lat = self.spec.latency_s + (rng.exponential(self.spec.latency_jitter_s, n)
                                     if self.spec.latency_jitter_s > 0 else np.zeros(n))
        out["arrival_time"] = out["time"] + lat
        out["sensor_id"] = np.full(n, self.spec.id)
        out["kind"] = np.full(n, self.detection_kind)
        return out

    # -- to implement ------------------------------------------------------------------
    @abstractmethod
    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Detections of targets ``tid`` at ``times``, given their truth and geometry."""

    def _false_alarms(self, scans: np.ndarray,
                      rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        return None

    # -- helpers for subclasses ----------------------------------------------------------
    def rows(self, n: int, **cols: np.ndarray) -> dict[str, np.ndarray]:
        """A detection table of ``n`` rows with the given columns and NaN / '' elsewhere."""
        out: dict[str, np.ndarray] = {}
        for k, dt in DETECTION_COLUMNS.items():
            if k in cols:
                out[k] = np.asarray(cols[k])
            elif dt == "str":
                out[k] = np.full(n, "")
            elif dt == "int64":
                out[k] = np.full(n, -1, dtype=np.int64)
            else:
                out[k] = np.full(n, np.nan)
        return out
