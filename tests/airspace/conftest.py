"""Hand-built inputs of the alert manager: track rows (with classify's columns), airspace
events and the per-track picture, written the way the upstream stages write them.

``Scene`` moves a few straight-flying tracks over a toy geography -- the home country
(``LT``) west of the meridian ``BORDER_LON``, ``BY`` east of it, and one circular zone
-- and writes, per step, the three tables the alert manager consumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from skyfence.model.schema import (
    CLASS_PROB_COLUMNS,
    CLASSIFY_CLASSES,
    EVENT_COLUMNS,
    TRACK_COLUMNS,
)

T0 = 1_753_668_000.0            # 2025-07-28T02:00:00Z
BORDER_LON = 26.0               # LT west of it, BY east of it
LAT0 = 54.6
M_LAT = 111_320.0               # metres per degree of latitude (flat toy geography)
M_LON = 111_320.0 * math.cos(math.radians(LAT0))
ZONE_ID = "gaiziunai"
ZONE_LAT, ZONE_LON, ZONE_R = 54.6, 25.5, 4_000.0

PICTURE_DTYPES = {"track_id": "int64", "country": "str", "depth_m": "float64",
                  "in_zone": "str", "zone_id": "str", "time_to_zone_s": "float64",
                  "time_to_zone_sigma_s": "float64", "distance_to_zone_m": "float64"}


def probs(cls: str, prob: float) -> dict[str, float]:
    """Class probabilities: ``prob`` on ``cls``, the rest shared; all NaN for ``""``."""
    if not cls:
        return {f"p_{c}": math.nan for c in CLASSIFY_CLASSES}
    rest = (1.0 - prob) / (len(CLASSIFY_CLASSES) - 1)
    return {f"p_{c}": prob if c == cls else rest for c in CLASSIFY_CLASSES}


def table(rows: list[dict], columns: dict[str, str]) -> dict[str, np.ndarray]:
    """Rows (dicts) as a structure-of-arrays table of the given schema."""
    return {k: np.array([r[k] for r in rows], dtype=str if dt == "str" else dt)
            for k, dt in columns.items()}


TRACK_DTYPES = {**TRACK_COLUMNS, **CLASS_PROB_COLUMNS}


def track_row(track_id: int = 1, time: float = T0, *, status: str = "confirmed",
              lat: float = LAT0, lon: float = 25.9, alt: float = 300.0,
              ve: float = -46.0, vn: float = 0.0, cls: str = "drone_fixed_wing",
              prob: float = 0.97, coop: str = "", spoofed: bool = False,
              phantom_of: int = -1) -> dict:
    """One track row with every column of TRACK_COLUMNS and CLASS_PROB_COLUMNS."""
    return {
        "time": time, "track_id": track_id, "status": status, "lat_deg": lat,
        "lon_deg": lon, "alt_m": alt, "vel_east_mps": ve, "vel_north_mps": vn,
        "vel_up_mps": 0.0, "sigma_east_m": 30.0, "sigma_north_m": 30.0, "sigma_up_m": 50.0,
        "class": cls, "class_prob": prob if cls else math.nan, "n_updates": 12,
        "sensor_id": "radar-1", "rcs_dbsm": -12.0, "id_hint": coop,
        **probs(cls, prob), "cooperative_id": coop, "spoofed": spoofed,
        "phantom_of": phantom_of,
    }


def picture_row(track_id: int = 1, *, depth: float = 3_000.0, in_zone: str = "",
                zone: str = "", ttz: float = math.nan, ttz_sigma: float = math.nan,
                dist: float = math.nan, country: str | None = None) -> dict:
    """One row of the airspace engine's per-track picture."""
    if country is None:
        country = "LT" if depth > 0 else ("BY" if depth < 0 else "")
    return {"track_id": track_id, "country": country, "depth_m": depth, "in_zone": in_zone,
            "zone_id": zone, "time_to_zone_s": ttz, "time_to_zone_sigma_s": ttz_sigma,
            "distance_to_zone_m": dist}


def event_row(kind: str, track_id: int = 1, time: float = T0, *, lat: float = LAT0,
              lon: float = BORDER_LON, country_from: str = "BY", country_to: str = "LT",
              zone: str = "", ttz: float = math.nan) -> dict:
    """One airspace event row with every column of EVENT_COLUMNS."""
    return {"time": time, "detected_time": time, "track_id": track_id, "kind": kind,
            "lat_deg": lat, "lon_deg": lon, "alt_m": 300.0, "country_from": country_from,
            "country_to": country_to, "zone_id": zone, "heading_deg": 270.0,
            "speed_mps": 46.0, "depth_m": 0.0, "time_to_zone_s": ttz,
            "time_to_zone_sigma_s": math.nan, "distance_m": math.nan}


@dataclass
class Flyer:
    """A track flying a straight line at constant velocity (m/s east, north)."""

    track_id: int
    lat: float
    lon: float
    ve: float
    vn: float = 0.0
    cls: str = "drone_fixed_wing"
    prob: float = 0.97
    coop: str = ""
    spoofed: bool = False
    phantom_of: int = -1                # the drone's radar track, for a spoofed RID's phantom
    status: str = "confirmed"
    hidden_until: float = -math.inf     # no rows before this time
    deleting: bool = False              # emit one "deleted" row, then vanish

    def move(self, dt: float) -> None:
        self.lat += self.vn * dt / M_LAT
        self.lon += self.ve * dt / M_LON


class Scene:
    """Straight-flying tracks over the toy geography, one table triple per step."""

    def __init__(self) -> None:
        self.t = T0
        self.flyers: dict[int, Flyer] = {}
        self.prev: dict[int, tuple[float, float, float, bool]] = {}

    def add(self, flyer: Flyer) -> Flyer:
        self.flyers[flyer.track_id] = flyer
        return flyer

    def delete(self, track_id: int) -> None:
        """The tracker drops the track: one ``deleted`` row at the next step."""
        self.flyers[track_id].deleting = True

    def break_track(self, old: int, new: int, gap_s: float, offset_east_m: float = 0.0,
                    offset_north_m: float = 0.0) -> Flyer:
        """Delete track ``old``; the same target reappears as ``new`` after ``gap_s``."""
        f = self.flyers[old]
        self.delete(old)
        g = Flyer(new, f.lat + offset_north_m / M_LAT, f.lon + offset_east_m / M_LON, f.ve,
                  f.vn, f.cls, f.prob, f.coop, f.spoofed, hidden_until=self.t + gap_s)
        # placed now, so after the gap it is where the target has flown to (plus the offset)
        self.flyers[new] = g
        return g

    @staticmethod
    def depth(lon: float) -> float:
        return (BORDER_LON - lon) * M_LON

    def _zone(self, f: Flyer) -> tuple[str, str, float, float, float]:
        e = (f.lon - ZONE_LON) * M_LON
        n = (f.lat - ZONE_LAT) * M_LAT
        d = math.hypot(e, n)
        if d <= ZONE_R:
            return ZONE_ID, ZONE_ID, 0.0, 0.0, 0.0
        closing = -(e * f.ve + n * f.vn) / d
        if closing <= 0.5:
            return "", "", math.nan, math.nan, math.nan
        ttz = (d - ZONE_R) / closing
        return "", ZONE_ID, ttz, 0.1 * ttz, d - ZONE_R

    def step(self, dt: float = 1.0) -> tuple[dict, dict, dict, float]:
        """Advance ``dt`` seconds; return (tracks, events, picture, now)."""
        self.t += dt
        trk, evs, pic = [], [], []
        for tid in sorted(self.flyers):
            f = self.flyers[tid]
            f.move(dt)
            if self.t < f.hidden_until:
                continue
            if f.deleting:
                trk.append(track_row(tid, self.t, status="deleted", lat=f.lat, lon=f.lon,
                                     ve=f.ve, vn=f.vn, cls=f.cls, prob=f.prob, coop=f.coop,
                                     spoofed=f.spoofed, phantom_of=f.phantom_of))
                del self.flyers[tid]
                self.prev.pop(tid, None)
                continue
            depth = self.depth(f.lon)
            in_zone, zone, ttz, sig, dist = self._zone(f)
            trk.append(track_row(tid, self.t, status=f.status, lat=f.lat, lon=f.lon, ve=f.ve,
                                 vn=f.vn, cls=f.cls, prob=f.prob, coop=f.coop,
                                 spoofed=f.spoofed, phantom_of=f.phantom_of))
            pic.append(picture_row(tid, depth=depth, in_zone=in_zone, zone=zone, ttz=ttz,
                                   ttz_sigma=sig, dist=dist))
            if tid in self.prev:
                pdepth, plat, plon, pzone = self.prev[tid]
                if (pdepth <= 0.0) != (depth <= 0.0):
                    w = pdepth / (pdepth - depth)
                    entry = depth > 0.0
                    evs.append(event_row(
                        "border_entry" if entry else "border_exit", tid, self.t - dt + w * dt,
                        lat=plat + w * (f.lat - plat), lon=BORDER_LON,
                        country_from="BY" if entry else "LT",
                        country_to="LT" if entry else "BY"))
                if pzone != bool(in_zone):
                    evs.append(event_row("zone_entry" if in_zone else "zone_exit", tid, self.t,
                                         lat=f.lat, lon=f.lon, zone=ZONE_ID))
            self.prev[tid] = (depth, f.lat, f.lon, bool(in_zone))
        return (table(trk, TRACK_DTYPES), table(evs, EVENT_COLUMNS),
                table(pic, PICTURE_DTYPES), self.t)


@pytest.fixture
def scene() -> Scene:
    return Scene()
