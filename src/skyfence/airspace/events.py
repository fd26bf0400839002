"""Airspace events of tracks: border crossings, protected zones, approach, loiter.

:class:`AirspaceEngine` consumes batches of track rows (the tracks schema,
``TRACK_COLUMNS``, possibly with classify's columns) and returns the new airspace
events as rows of ``EVENT_COLUMNS``, each event once.  It keeps a little state per
track between calls (arrays keyed by ``track_id``) and a live picture of every track
(:meth:`AirspaceEngine.picture`) for the threat scorer.

Geometry
    Everything is computed on one conformal map plane: an ellipsoidal oblique
    stereographic projection centred on the home country's bounding box, where the map
    is the true local east/north plane rotated and scaled by ``k`` (1.0006 at 300 km
    from the centre; distances are divided by the local ``k``).  The home territory and
    every country of the borders file are projected once (and shared by engines on the
    same ``Borders``/``Zones`` objects).  Near the home outline, within
    ``max(5 km, initial_entry_max_depth_m, 2·max_margin_m)`` of it, everything is
    exact: the side by shapely ``contains_xy`` on the prepared polygon, the distance,
    the nearest point and the crossings of segments by a compiled grid index of the
    outline's segments.  Farther away the side and the distance come from rasters
    computed once (the distance within 0.7 km).  The country of a point outside the
    home country is found with ``contains_xy`` on each neighbour.  Circular zones are
    exact circles on the map (the shipped 128-gon differs by under 2 m); polygon zones
    use their own segment index.

Which rows count
    Rows whose status is in ``AirspaceConfig.statuses`` (default confirmed and
    coasting) are used; tentative rows are ignored (counted in :attr:`stats`), so a
    tentative track never raises an event.  A ``deleted`` row frees the track's state
    at the end of the batch (rows of that track timed after it are skipped).  Rows are
    sorted by track and time; of several rows of one track at one time the last one
    counts (the tracker's refinement); a row older than the track's state (an
    out-of-sequence refinement of the past) is skipped and counted.  Rows that cannot
    be used are counted, logged and kept in :meth:`AirspaceEngine.quarantine` with the
    reason: an unknown status, a non-finite time, a non-finite or out-of-range
    position.  A non-finite velocity keeps the row (position events still work, no
    prediction; counted); a non-finite or negative sigma is replaced by
    ``default_sigma_m`` (counted).  A missing column, a column of the wrong type or of
    the wrong length makes the whole batch unusable: :class:`~skyfence.errors.DataError`
    naming the column.

Hysteresis (no storm of events along a border)
    A track is *decisively inside* the home country when its signed depth (distance
    to the home outline, positive inside) exceeds its entry margin
    ``clip(entry_margin_sigmas · σ⊥, min_margin_m, max_margin_m)``, ``σ⊥`` being the
    track's position sigma across the outline (``sigma_east_m``/``sigma_north_m``
    projected on the outline's normal at the nearest point), and *decisively outside*
    when the depth is below minus its exit margin (``margin_sigmas · σ⊥``, same
    clip).  Between the two it keeps its state.  The band is lopsided on purpose:
    quick to declare an entry (1.5 σ: a track 1.5 σ inside is inside with
    probability 0.93, and an operator hears of an incursion one radar scan sooner
    than with 3 σ) and slow to declare an exit (3 σ), so that an incursion's alert is
    not ended by noise.  A track sliding exactly along the border with white noise of
    its sigma is declared inside with a probability of 6.7 % per update and, once
    inside, outside with 0.13 % per update (so it is taken as inside and the pair of
    events repeats about once in 770 updates), where without hysteresis it would
    change sides about every second update.  A track first seen between the two
    thresholds is taken as outside.  Zones use the same rule with the distance to the
    zone's edge.

Events (``time`` = when it happened, ``detected_time`` = the update that revealed it)
    ``border_entry``
        The state turns to inside.  ``time``, ``lat/lon/alt``: the last crossing of the
        home outline on the segment between the two track updates where the raw side
        last changed (straight segment on the map; time and altitude by the fraction
        along it).  ``country_from``: the country of the update before the crossing,
        or, if that was in no country (a border lake, the sea), the last foreign
        country the track was in since it was last inside the home country; ``""`` if
        none.  ``depth_m``: the depth at the revealing update.
        *A track first seen inside* gets a ``border_entry`` only if it is decisively
        inside, at most ``initial_entry_max_depth_m`` (5 km) deep, and the straight
        line back along its velocity meets the home outline within
        ``initial_entry_lookback_s`` (120 s): the crossing is the first meeting point
        on that line (time extrapolated back), ``country_from`` the country 50 m
        beyond it.  Deeper tracks, or tracks moving outward, are taken as inside
        without an event.  A track first seen inside but within its margin enters when
        it is decisively inside, at the crossing traced back from its first update
        (or, failing that, the border point nearest to it).
        *Predicted entry*: when :meth:`AirspaceEngine.step` is given the feed clock
        ``now``, a confirmed track outside, moving, and last updated at most
        ``predict_entry_s`` (2 s) ago is carried along its velocity to ``now``; if
        that prediction is decisively inside (the entry margin of its sigma across the
        outline grown by ``dt · velocity_sigma_mps``), the track enters then:
        ``detected_time`` is ``now`` (later than the track's last update, which is how
        a predicted entry is told apart), the crossing is on the segment from the last
        update to the prediction, ``depth_m`` the predicted depth.  A radar that
        misses a drone for a few scans at the line, or a 2D radar that reports a
        second late, no longer holds the warning back: on border-day's decoy (44 m/s)
        the entry came 2.1 s after the crossing from the rows alone.  A prediction
        that was wrong is corrected by the rows: one decisively outside raises the
        ``border_exit``.
    ``border_exit``
        The state turns to outside; crossing as for an entry; ``country_to`` the
        country at the revealing update (``""`` over no country); ``depth_m`` the
        deepest point of the incursion.
    ``zone_entry`` / ``zone_exit``
        The same per zone (a track may be in several); ``zone_id`` names it.  A track
        first seen decisively inside a zone gets a ``zone_entry`` (its crossing
        extrapolated back along the velocity within ``initial_entry_lookback_s``, or
        else its first position and time).
    ``zone_approach``
        Once per (track, zone): the first update, outside the zone and moving at least
        ``approach_min_speed_mps``, whose straight-line extrapolation reaches the zone
        within ``approach_lookahead_s``.  ``time_to_zone_s``: that time;
        ``distance_m``: the distance to the zone's edge now; the sigma is
        ``sqrt((σ∥/v)² + (t·σv/v)²)``: ``σ∥`` the position sigma along the course,
        ``v`` the speed, ``σv = velocity_sigma_mps`` an assumed 1-sigma of the speed
        (the track row carries no velocity covariance; 2 m/s suits a confirmed CV
        track on 1-s radar updates).
    ``loiter``
        The track stays within ``loiter_radius_m`` of the running centroid of its
        positions for ``loiter_time_s``; once per episode (a position farther than the
        radius starts a new one).  ``time``: the start of the episode; the position:
        the centroid.  A steady course slower than ``2·loiter_radius_m /
        loiter_time_s`` (5.6 m/s by default: a drifting balloon, a hovering drone)
        counts as loitering too.
    Columns that do not apply are ``""`` or NaN.  ``depth_m`` is never negative: for
    zone events, approaches and loiters it is the track's depth in the home country at
    the revealing update (0 outside).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import shapely
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

from skyfence.airspace._geom import (
    MapPlane,
    Outline,
    SegmentIndex,
    circles_pass,
    segment_circle_fraction,
)
from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError, DataError
from skyfence.geo.borders import Borders
from skyfence.geo.zones import Zones
from skyfence.model.schema import EVENT_COLUMNS, EVENT_KINDS, TRACK_STATUSES

__all__ = ["PICTURE_COLUMNS", "QUARANTINE_COLUMNS", "REQUIRED_COLUMNS", "AirspaceConfig",
           "AirspaceEngine", "load_airspace_config"]

log = logging.getLogger(__name__)

F64 = NDArray[np.float64]
Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]

#: the track columns the engine reads (others are ignored)
REQUIRED_COLUMNS: tuple[str, ...] = (
    "time", "track_id", "status", "lat_deg", "lon_deg", "alt_m", "vel_east_mps",
    "vel_north_mps", "vel_up_mps", "sigma_east_m", "sigma_north_m",
)

#: the live picture: one row per live track (:meth:`AirspaceEngine.picture`)
PICTURE_COLUMNS: dict[str, str] = {
    "track_id": "int64",
    "time": "float64",                  # time of the track's last update, UTC s
    "status": "str",                    # its status then (confirmed | coasting)
    "lat_deg": "float64",
    "lon_deg": "float64",
    "alt_m": "float64",
    "heading_deg": "float64",           # course over ground, clockwise from true north
    "speed_mps": "float64",             # horizontal ground speed
    "country": "str",                   # ISO code of the country it is over, "" if none
    "depth_m": "float64",               # signed distance to the home outline, + inside
    "inside_home": "bool",              # the (hysteresis) state the border events follow
    "in_zone": "str",                   # the zone it is (deepest) inside, "" if none
    "zone_id": "str",                   # the threatened zone: the one it is in, else the
                                        # first its course reaches; "" if none
    "time_to_zone_s": "float64",        # predicted time to that zone (0 in it, NaN if none)
    "time_to_zone_sigma_s": "float64",
    "distance_to_zone_m": "float64",    # distance to that zone's edge (NaN if none)
    "nearest_zone_id": "str",           # the nearest zone whatever the course, "" if none
    "nearest_zone_distance_m": "float64",  # 0 inside it
}

#: rows the engine refused (:meth:`AirspaceEngine.quarantine`)
QUARANTINE_COLUMNS: dict[str, str] = {
    "time": "float64",
    "track_id": "int64",
    "batch": "int64",                   # number of the step() call, from 0
    "row": "int64",                     # index of the row in its batch
    "reason": "str",
}

_KIND = {k: i for i, k in enumerate(EVENT_KINDS)}
_STATUS = {s: i for i, s in enumerate(TRACK_STATUSES)}
_DELETED = _STATUS["deleted"]
_RASTER_MARGIN_M = 150_000.0  # how far beyond the home country its rasters reach
_BEYOND_M = 50.0             # where the country a first-seen track came from is looked up
_QUARANTINE_KEEP = 100_000   # rows kept in the quarantine (the oldest are dropped)


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------
class AirspaceConfig(BaseModel):
    """Parameters of the airspace event engine (TOML ``[airspace]`` table).  SI units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the protected country: an id of the borders file
    home_country: Annotated[str, Field(min_length=1)] = "LT"
    #: track statuses whose rows are used (tentative tracks never raise events)
    statuses: tuple[Literal["confirmed", "coasting"], ...] = Field(
        default=("confirmed", "coasting"), min_length=1)
    #: hysteresis: a track must be outside by this many position sigmas across the
    #: outline, within [min_margin_m, max_margin_m], to be declared outside ...
    margin_sigmas: Pos = 3.0
    #: ... and inside by this many to be declared inside (quick to warn, slow to stand
    #: down)
    entry_margin_sigmas: Pos = 1.5
    min_margin_m: NonNeg = 10.0
    max_margin_m: Pos = 500.0
    #: position sigma assumed for a row whose sigma is missing (NaN or negative), m
    default_sigma_m: Pos = 50.0
    #: zone_approach: raised when the predicted time to a zone drops below this, s
    approach_lookahead_s: Pos = 600.0
    #: the picture predicts arrivals up to this far ahead, s
    picture_horizon_s: Pos = 1800.0
    #: no prediction for tracks slower than this (hovering, drifting), m/s
    approach_min_speed_mps: NonNeg = 2.0
    #: assumed 1-sigma of a track's speed along its course (for time-to-zone sigma), m/s
    velocity_sigma_mps: NonNeg = 2.0
    #: loiter: stays within this radius of its centroid for this long
    loiter_radius_m: Pos = 500.0
    loiter_time_s: Pos = 180.0
    #: a track first seen inside the home country gets a border_entry if at most this
    #: deep and its velocity traced back meets the border within the lookback
    initial_entry_max_depth_m: NonNeg = 5000.0
    initial_entry_lookback_s: Pos = 120.0
    #: predicted entry: a confirmed track not updated since, at most this long ago, is
    #: carried along its velocity to the step's clock and declared inside when the
    #: prediction is decisively inside (its margin from the predicted sigma); 0: never
    predict_entry_s: NonNeg = 2.0

    @model_validator(mode="after")
    def _check(self) -> AirspaceConfig:
        if self.max_margin_m < self.min_margin_m:
            raise ValueError(f"max_margin_m ({self.max_margin_m}) must be at least "
                             f"min_margin_m ({self.min_margin_m})")
        if self.picture_horizon_s < self.approach_lookahead_s:
            raise ValueError(f"picture_horizon_s ({self.picture_horizon_s}) must be at least "
                             f"approach_lookahead_s ({self.approach_lookahead_s})")
        if len(set(self.statuses)) != len(self.statuses):
            raise ValueError(f"statuses must not repeat a status, got {list(self.statuses)}")
        return self


def load_airspace_config(path: str | Path | None) -> AirspaceConfig:
    """Read the ``[airspace]`` table of a TOML file (defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        Naming the file and the key (``airspace.<key>``) of the first mistake.
    """
    if path is None:
        return AirspaceConfig()
    data = load_toml(path)
    extra = set(data) - {"airspace"}
    if extra:
        raise ConfigError(path, sorted(extra)[0],
                          "unknown table (an airspace file holds [airspace])")
    table = data.get("airspace", {})
    if not isinstance(table, dict):
        raise ConfigError(path, "airspace", "expected a table [airspace]")
    return validate_model(AirspaceConfig, table, path, prefix="airspace")


# --------------------------------------------------------------------------------------
# per-track state: structure of arrays sorted by track id
# --------------------------------------------------------------------------------------
_NAN = float("nan")
_FIELDS: dict[str, tuple[type, Any]] = {
    "t": (np.float64, _NAN), "x": (np.float64, _NAN), "y": (np.float64, _NAN),
    "alt": (np.float64, _NAN), "lat": (np.float64, _NAN), "lon": (np.float64, _NAN),
    "ve": (np.float64, _NAN), "vn": (np.float64, _NAN), "status": (np.int64, -1),
    "seen": (np.bool_, False), "raw_in": (np.bool_, False), "country": (np.int64, -1),
    "depth": (np.float64, _NAN), "se": (np.float64, _NAN), "sn": (np.float64, _NAN),
    # border hysteresis and the pending crossing (the last change of raw side)
    "b_in": (np.bool_, False), "pend_x": (np.float64, _NAN), "pend_y": (np.float64, _NAN),
    "pend_alt": (np.float64, _NAN), "pend_t": (np.float64, _NAN), "pend_from": (np.int64, -1),
    "last_foreign": (np.int64, -1), "max_depth": (np.float64, _NAN),
    # loiter episode: running sums for the centroid
    "l_sx": (np.float64, 0.0), "l_sy": (np.float64, 0.0), "l_salt": (np.float64, 0.0),
    "l_n": (np.float64, 0.0), "l_t0": (np.float64, _NAN), "l_fired": (np.bool_, False),
    # picture
    "in_zone": (np.int64, -1), "thr_zone": (np.int64, -1), "thr_t": (np.float64, _NAN),
    "thr_sig": (np.float64, _NAN), "thr_dist": (np.float64, _NAN),
    "near_zone": (np.int64, -1), "near_dist": (np.float64, _NAN),
    # any zone state set (z_in or z_raw): the track's zone rows must be processed
    "z_any": (np.bool_, False),
}
_ZFIELDS: dict[str, tuple[type, Any]] = {
    "z_raw": (np.bool_, False), "z_in": (np.bool_, False), "z_appr": (np.bool_, False),
    "zp_x": (np.float64, _NAN), "zp_y": (np.float64, _NAN), "zp_alt": (np.float64, _NAN),
    "zp_t": (np.float64, _NAN),
}


class _State:
    """Per-track arrays (``a``) and per-(track, zone) arrays (``z``), rows sorted by id."""

    def __init__(self, n_zones: int) -> None:
        self.nz = n_zones
        self.ids = np.zeros(0, dtype=np.int64)
        self.a = {k: np.zeros(0, dtype=d) for k, (d, _) in _FIELDS.items()}
        self.z = {k: np.zeros((0, n_zones), dtype=d) for k, (d, _) in _ZFIELDS.items()}

    def __len__(self) -> int:
        return int(self.ids.size)

    def add(self, new_ids: NDArray[np.int64]) -> None:
        """Add fresh rows for ``new_ids`` (not present yet) and re-sort."""
        if new_ids.size == 0:
            return
        m = new_ids.size
        ids = np.concatenate([self.ids, new_ids])
        order = np.argsort(ids, kind="stable")
        self.ids = ids[order]
        for k, (d, fill) in _FIELDS.items():
            self.a[k] = np.concatenate([self.a[k], np.full(m, fill, dtype=d)])[order]
        for k, (d, fill) in _ZFIELDS.items():
            self.z[k] = np.concatenate([self.z[k], np.full((m, self.nz), fill, dtype=d)])[order]

    def slots(self, ids: NDArray[np.int64]) -> NDArray[np.intp]:
        return np.searchsorted(self.ids, ids)

    def find(self, ids: NDArray[np.int64]) -> tuple[NDArray[np.bool_], NDArray[np.intp]]:
        """Whether each id has state, and its slot (valid where present)."""
        s = np.searchsorted(self.ids, ids)
        sc = np.minimum(s, max(self.ids.size - 1, 0))
        present = (s < self.ids.size) & (self.ids[sc] == ids) if self.ids.size else \
            np.zeros(ids.size, dtype=bool)
        return present, sc

    def remove(self, ids: NDArray[np.int64]) -> int:
        present, s = self.find(ids)
        if not present.any():
            return 0
        keep = np.ones(self.ids.size, dtype=bool)
        keep[s[present]] = False
        self.ids = self.ids[keep]
        for k in self.a:
            self.a[k] = self.a[k][keep]
        for k in self.z:
            self.z[k] = self.z[k][keep]
        return int(present.sum())


# --------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------
class _Geography:
    """Borders and zones on the engine's map plane (immutable; shared between engines
    built on the same ``Borders`` and ``Zones`` objects)."""

    def __init__(self, borders: Borders, zones: Zones, home: str, exact_m: float) -> None:
        self.borders = borders                                  # keeps the cache key alive
        self.zones = zones
        self.cids = tuple(borders.ids)
        self.cid_str = np.array([*self.cids, ""])               # code -1 → ""
        self.home_code = self.cids.index(home)
        lon0, lat0, lon1, lat1 = borders.geometry(home).bounds
        self.plane = MapPlane(0.5 * (lat0 + lat1), 0.5 * (lon0 + lon1))
        # countries on the map, the home country first (it wins where outlines overlap)
        order = [self.home_code] + [k for k in range(len(self.cids)) if k != self.home_code]
        self.countries: list[tuple[int, Any, tuple[float, ...]]] = []
        for k in order:
            g = self.plane.geometry(borders.geometry(self.cids[k]))
            shapely.prepare(g)
            self.countries.append((k, g, tuple(shapely.bounds(g))))
        self.home_geom = self.countries[0][1]
        self.home = Outline(self.home_geom, exact_m, cell_m=500.0, margin_m=_RASTER_MARGIN_M)
        hx0, hy0, hx1, hy1 = shapely.bounds(self.home_geom)
        self.plane.tabulate_axes(hx0 - _RASTER_MARGIN_M, hy0 - _RASTER_MARGIN_M,
                                 hx1 + _RASTER_MARGIN_M, hy1 + _RASTER_MARGIN_M)
        # zones: circles analytically, polygons through their own index
        self.zone_ids = np.array([*(z.id for z in zones), ""])   # index -1 → ""
        self.circ = np.array([k for k, z in enumerate(zones) if z.is_circle], dtype=np.intp)
        self.poly = np.array([k for k, z in enumerate(zones) if not z.is_circle],
                             dtype=np.intp)
        self.cx = self.cy = self.cr = np.zeros(0)
        if self.circ.size:
            clat = np.array([zones[int(k)].lat_deg for k in self.circ])
            clon = np.array([zones[int(k)].lon_deg for k in self.circ])
            self.cx, self.cy, nx, ny = self.plane.forward_axes(clat, clon)
            self.cr = np.array([zones[int(k)].radius_m for k in self.circ]) * np.hypot(nx, ny)
        self.polys: list[tuple[Any, SegmentIndex]] = []
        for k in self.poly:
            g = self.plane.geometry(zones[int(k)].geometry)
            shapely.prepare(g)
            self.polys.append((g, SegmentIndex(g)))


_GEOGRAPHY: dict[tuple[int, int, str, float], _Geography] = {}


def _geography(borders: Borders, zones: Zones, home: str, exact_m: float) -> _Geography:
    """The prepared geography, from a small cache (building it takes ~0.2 s)."""
    key = (id(borders), id(zones), home, float(exact_m))
    geo = _GEOGRAPHY.get(key)
    if geo is None or geo.borders is not borders or geo.zones is not zones:
        geo = _Geography(borders, zones, home, exact_m)
        while len(_GEOGRAPHY) >= 4:
            _GEOGRAPHY.pop(next(iter(_GEOGRAPHY)))
        _GEOGRAPHY[key] = geo
    return geo


def _map_velocity(ve: F64, vn: F64, nx: F64, ny: F64) -> tuple[F64, F64]:
    """A local east/north velocity on the map plane, whose north at a point is the
    direction ``(nx, ny)`` (scaled by the plane's ``k``): east maps to ``(ny, -nx)``."""
    return ve * ny + vn * nx, -ve * nx + vn * ny


class _Events:
    """Columns of events accumulated during a step (codes; strings at the end)."""

    _COLS = ("kind", "time", "det", "tid", "x", "y", "alt", "cfrom", "cto", "zone",
             "heading", "speed", "depth", "tz", "tzs", "dist")

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, kind: str, n: int, **cols: Any) -> None:
        if n == 0:
            return
        part = {}
        for c in self._COLS[1:]:
            v = cols.get(c)
            if v is None:
                v = -1 if c in ("cfrom", "cto", "zone") else _NAN
            part[c] = np.broadcast_to(np.asarray(v), (n,)).copy()
        part["kind"] = np.full(n, _KIND[kind], dtype=np.int64)
        self.parts.append(part)

    def gather(self) -> dict[str, np.ndarray]:
        if not self.parts:
            return {c: np.zeros(0) for c in self._COLS}
        return {c: np.concatenate([p[c] for p in self.parts]) for c in self._COLS}


class AirspaceEngine:
    """Border, zone, approach and loiter events of tracks, vectorised over tracks.

    Parameters
    ----------
    borders : Borders
        Country polygons (:func:`skyfence.geo.borders.load_borders`).
    zones : Zones
        Protected zones (:func:`skyfence.geo.zones.load_zones`); may be empty.
    config : AirspaceConfig, optional
        Defaults when omitted.

    Raises
    ------
    ConfigError
        If ``config.home_country`` is not a country of ``borders``.

    Attributes
    ----------
    stats : dict of str to int
        Counters since the engine was built: ``rows`` received, ``used``,
        ``ignored_status`` (tentative rows, or statuses not configured), ``superseded``
        (an earlier row of a track at the same time), ``stale`` (older than the track's
        state), ``after_deleted``, ``rejected`` (in the quarantine),
        ``velocity_unknown``, ``sigma_defaulted``, ``deleted`` (tracks freed),
        ``events`` and ``predicted_entries`` (border entries declared from a track's
        prediction to the feed clock).

    Notes
    -----
    Preparing the geography (every country projected, the home outline indexed and
    rasterised) takes about 0.2 s for the shipped borders; it is shared by engines
    built on the same ``Borders`` and ``Zones`` objects.  The compiled kernels are
    cached on disk after the first run.
    """

    def __init__(self, borders: Borders, zones: Zones, config: AirspaceConfig | None = None
                 ) -> None:
        self.config = cfg = config or AirspaceConfig()
        if cfg.home_country not in borders:
            raise ConfigError(borders.source, "airspace.home_country",
                              f"expected one of the borders' countries "
                              f"({', '.join(borders.ids)}); got {cfg.home_country!r}")
        self.borders = borders
        self.zones = zones
        nz = len(zones)
        exact_m = max(5000.0, cfg.initial_entry_max_depth_m, 2.0 * cfg.max_margin_m)
        geo = _geography(borders, zones, cfg.home_country, exact_m)
        self.plane = geo.plane
        self._cids, self._cid_str, self._home_code = geo.cids, geo.cid_str, geo.home_code
        self._countries, self._home_geom, self._home = geo.countries, geo.home_geom, geo.home
        self._home_index = geo.home.index
        self._zone_ids, self._circ, self._poly = geo.zone_ids, geo.circ, geo.poly
        self._cx, self._cy, self._cr, self._polys = geo.cx, geo.cy, geo.cr, geo.polys
        self._state = _State(nz)
        self._batch = 0
        self._quarantine: list[dict[str, np.ndarray]] = []
        self.stats: dict[str, int] = {
            "rows": 0, "used": 0, "ignored_status": 0, "superseded": 0, "stale": 0,
            "after_deleted": 0, "rejected": 0, "velocity_unknown": 0, "sigma_defaulted": 0,
            "deleted": 0, "events": 0, "predicted_entries": 0,
        }

    # ------------------------------------------------------------------ public API
    @property
    def n_tracks(self) -> int:
        """Number of live tracks (with state)."""
        return len(self._state)

    def quarantine(self) -> dict[str, np.ndarray]:
        """The refused rows so far (``QUARANTINE_COLUMNS``), oldest first."""
        if not self._quarantine:
            return {c: np.zeros(0, dtype=d if d != "str" else np.str_)
                    for c, d in QUARANTINE_COLUMNS.items()}
        return {c: np.concatenate([q[c] for q in self._quarantine])
                for c in QUARANTINE_COLUMNS}

    def picture(self) -> dict[str, np.ndarray]:
        """The live picture: one row per live track (``PICTURE_COLUMNS``), by track id.

        ``depth_m`` is signed (positive inside the home country); ``in_zone`` the zone
        the track is deepest inside (by the same hysteresis as the zone events);
        ``zone_id`` the threatened zone: ``in_zone`` when the track is in one (time,
        sigma and distance 0), else the zone its straight-line course reaches first
        within ``picture_horizon_s`` (speed at least ``approach_min_speed_mps``), with
        ``time_to_zone_s`` (s), its sigma (s, as for ``zone_approach``) and
        ``distance_to_zone_m`` (m, to the zone's edge);
        ``nearest_zone_id`` and ``nearest_zone_distance_m`` the nearest zone whatever
        the course (0 m inside it).  Values are those of each track's last update.
        """
        a = self._state.a
        zid = self._zone_ids
        status = np.array(TRACK_STATUSES + ("",))[a["status"]]
        heading = np.degrees(np.arctan2(a["ve"], a["vn"])) % 360.0
        return {
            "track_id": self._state.ids.copy(),
            "time": a["t"].copy(),
            "status": status,
            "lat_deg": a["lat"].copy(),
            "lon_deg": a["lon"].copy(),
            "alt_m": a["alt"].copy(),
            "heading_deg": heading,
            "speed_mps": np.sqrt(a["ve"] ** 2 + a["vn"] ** 2),
            "country": self._cid_str[a["country"]],
            "depth_m": a["depth"].copy(),
            "inside_home": a["b_in"].copy(),
            "in_zone": zid[a["in_zone"]],
            "zone_id": zid[a["thr_zone"]],
            "time_to_zone_s": a["thr_t"].copy(),
            "time_to_zone_sigma_s": a["thr_sig"].copy(),
            "distance_to_zone_m": a["thr_dist"].copy(),
            "nearest_zone_id": zid[a["near_zone"]],
            "nearest_zone_distance_m": a["near_dist"].copy(),
        }

    def step(self, tracks: Mapping[str, np.ndarray], now: float | None = None
             ) -> dict[str, np.ndarray]:
        """Take a batch of track rows; return the new events (``EVENT_COLUMNS``).

        Parameters
        ----------
        tracks : mapping of column name to 1-D array
            Rows of the tracks schema (at least ``REQUIRED_COLUMNS``; others ignored),
            of any number of tracks, several rows per track possible, in any order.
            Time in UTC epoch seconds, positions in degrees and metres, velocities in
            m/s (local east/north/up), sigmas in metres.

        Returns
        -------
        dict of str to ndarray
            Exactly the columns of ``EVENT_COLUMNS`` with their dtypes, one row per
            event, sorted by ``detected_time`` then track and kind.

        Raises
        ------
        DataError
            If a required column is missing, is not 1-D, has the wrong length or cannot
            be read as its type (the message names the column).
        """
        cols = self._read(tracks)
        batch = self._batch
        self._batch += 1
        ev = _Events()
        rows = self._select(cols, batch)
        if rows is not None and rows["n"]:
            g = self._geometry(rows)
            self._run(g, ev)
            self._finish_picture(g)
        if rows is not None and rows["deleted_ids"].size:
            self.stats["deleted"] += self._state.remove(rows["deleted_ids"])
        if now is not None and self.config.predict_entry_s > 0 and len(self._state):
            self._predict_entries(float(now), ev)
        out = self._emit(ev)
        self.stats["events"] += int(out["time"].size)
        return out

    # ------------------------------------------------------------------ input
    def _read(self, tracks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if not isinstance(tracks, Mapping):
            raise DataError(f"track rows must be a mapping of column name to array, "
                            f"got {type(tracks).__name__}")
        out: dict[str, np.ndarray] = {}
        n: int | None = None
        for name in REQUIRED_COLUMNS:
            if name not in tracks:
                raise DataError(f"track rows: required column '{name}' is missing (the "
                                f"airspace engine reads {', '.join(REQUIRED_COLUMNS)})")
            raw = np.asarray(tracks[name])
            if raw.ndim != 1:
                raise DataError(f"track rows: column '{name}' must be one-dimensional, got "
                                f"shape {raw.shape}")
            if n is None:
                n = raw.size
            elif raw.size != n:
                raise DataError(f"track rows: column '{name}' has {raw.size} rows, expected "
                                f"{n} (like '{REQUIRED_COLUMNS[0]}')")
            if name == "status":
                if raw.size and raw.dtype.kind not in "UOS":
                    raise DataError(f"track rows: column 'status' must hold strings "
                                    f"({', '.join(TRACK_STATUSES)}), got dtype {raw.dtype}")
                out[name] = raw.astype(str) if raw.size else raw.astype("U1")
            elif name == "track_id":
                out[name] = self._int_column(name, raw)
            else:
                try:
                    out[name] = np.asarray(raw, dtype=np.float64)
                except (TypeError, ValueError):
                    raise DataError(f"track rows: column '{name}' must hold numbers "
                                    f"(float64), got dtype {raw.dtype}") from None
        return out

    @staticmethod
    def _int_column(name: str, raw: np.ndarray) -> NDArray[np.int64]:
        if raw.size == 0 or raw.dtype.kind in "iu":
            return raw.astype(np.int64)
        if raw.dtype.kind == "f":
            ok = np.isfinite(raw) & (raw == np.round(raw))
            if ok.all():
                return raw.astype(np.int64)
            bad = int(np.flatnonzero(~ok)[0])
            raise DataError(f"track rows: column '{name}' must hold integers, row {bad} "
                            f"has {raw[bad]!r}")
        raise DataError(f"track rows: column '{name}' must hold integers (int64), got "
                        f"dtype {raw.dtype}")

    def _reject(self, cols: dict[str, np.ndarray], rows: NDArray[np.intp], reason: str,
                batch: int) -> None:
        if rows.size == 0:
            return
        self.stats["rejected"] += int(rows.size)
        log.warning("airspace: %d track row(s) of batch %d refused: %s", rows.size, batch,
                    reason)
        self._quarantine.append({
            "time": cols["time"][rows].copy(), "track_id": cols["track_id"][rows].copy(),
            "batch": np.full(rows.size, batch, dtype=np.int64),
            "row": rows.astype(np.int64), "reason": np.full(rows.size, reason),
        })
        total = sum(q["time"].size for q in self._quarantine)
        while total > _QUARANTINE_KEEP and len(self._quarantine) > 1:
            total -= self._quarantine.pop(0)["time"].size

    def _select(self, cols: dict[str, np.ndarray], batch: int) -> dict[str, Any] | None:
        """Validate rows, sort them by track and time, drop what is not to be used."""
        n = cols["time"].size
        self.stats["rows"] += n
        if n == 0:
            return None
        status = cols["status"]
        code = np.full(n, -1, dtype=np.int64)
        for name, c in _STATUS.items():
            code[status == name] = c
        bad_status = code < 0
        if bad_status.any():
            for u in np.unique(status[bad_status]):
                self._reject(cols, np.flatnonzero(status == u),
                             f"unknown status {str(u)!r} (expected one of "
                             f"{', '.join(TRACK_STATUSES)})", batch)
        t = cols["time"]
        is_del = code == _DELETED
        bad_time = ~bad_status & ~is_del & ~np.isfinite(t)     # a deletion needs no time
        self._reject(cols, np.flatnonzero(bad_time), "non-finite time", batch)
        want = np.array([_STATUS[s] for s in self.config.statuses])
        used = ~bad_status & ~bad_time & np.isin(code, want)
        lat = cols["lat_deg"]
        lon = cols["lon_deg"]
        bad_pos = used & ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90.0)
                           & (np.abs(lon) <= 180.0))
        self._reject(cols, np.flatnonzero(bad_pos),
                     "non-finite or out-of-range position (lat_deg/lon_deg)", batch)
        used &= ~bad_pos
        deleted = is_del
        self.stats["ignored_status"] += int((~bad_status & ~bad_time & ~used & ~deleted
                                             & ~bad_pos).sum())
        tid = cols["track_id"]
        # deletions: the track's state goes at the end of the batch; later rows are skipped
        del_ids = np.unique(tid[deleted])
        if del_ids.size:
            first_del = np.full(del_ids.size, np.inf)
            np.minimum.at(first_del, np.searchsorted(del_ids, tid[deleted]),
                          np.where(np.isfinite(t[deleted]), t[deleted], np.inf))
            k = np.searchsorted(del_ids, tid[used])
            kc = np.minimum(k, del_ids.size - 1)
            after = (del_ids[kc] == tid[used]) & (t[used] > first_del[kc])
            self.stats["after_deleted"] += int(after.sum())
            used[np.flatnonzero(used)[after]] = False
        idx = np.flatnonzero(used)
        if idx.size == 0:
            return {"deleted_ids": del_ids, "n": 0} if del_ids.size else None
        order = np.lexsort((idx, t[idx], tid[idx]))
        idx = idx[order]
        # several rows of one track at one time: the last one counts
        same = (tid[idx][1:] == tid[idx][:-1]) & (t[idx][1:] == t[idx][:-1])
        if same.any():
            self.stats["superseded"] += int(same.sum())
            idx = idx[np.concatenate([~same, [True]])]
        # older than the track's state: an out-of-sequence refinement of the past
        present, slot = self._state.find(tid[idx])
        last_t = np.full(idx.size, -np.inf)
        last_t[present] = self._state.a["t"][slot[present]]
        stale = t[idx] < last_t
        if stale.any():
            self.stats["stale"] += int(stale.sum())
            idx = idx[~stale]
        if idx.size == 0:
            return {"deleted_ids": del_ids, "n": 0} if del_ids.size else None
        self.stats["used"] += int(idx.size)
        tids = tid[idx]
        present, _ = self._state.find(tids)
        self._state.add(np.unique(tids[~present]))
        starts = np.flatnonzero(np.concatenate([[True], tids[1:] != tids[:-1]]))
        counts = np.diff(np.concatenate([starts, [idx.size]]))
        rank = np.arange(idx.size) - np.repeat(starts, counts)
        rows = {c: cols[c][idx] for c in REQUIRED_COLUMNS}
        rows.update(code=code[idx], rank=rank, slot=self._state.slots(tids),
                    last=np.repeat(starts + counts - 1, counts) == np.arange(idx.size),
                    deleted_ids=del_ids, n=int(idx.size))
        return rows

    # ------------------------------------------------------------------ geometry per row
    def _country(self, x: F64, y: F64, inside: NDArray[np.bool_]) -> NDArray[np.int64]:
        """Country code of each map point (home where ``inside``); -1 in none."""
        out = np.full(x.size, -1, dtype=np.int64)
        out[inside] = self._home_code
        todo = ~inside & np.isfinite(x) & np.isfinite(y)
        for k, geom, (x0, y0, x1, y1) in self._countries[1:]:
            cand = np.flatnonzero(todo & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
            if cand.size == 0:
                continue
            hit = cand[shapely.contains_xy(geom, x[cand], y[cand])]
            out[hit] = k
            todo[hit] = False
        return out

    def _came_from(self, country: NDArray[np.int64], last_foreign: NDArray[np.int64]
                   ) -> NDArray[np.int64]:
        """The country a crossing into the home country came from: the country of the
        point before it, or, over no country or the home one, the last foreign country
        the track was in."""
        return np.where((country >= 0) & (country != self._home_code), country, last_foreign)

    @staticmethod
    def _sigma_dir(g: dict[str, Any], rows: NDArray[np.intp], dx: F64, dy: F64) -> F64:
        """Position sigma (m) of ``rows`` along the map directions ``(dx, dy)`` (any
        length); the larger of the two sigmas where the direction is undefined."""
        ux, uy = g["nux"][rows], g["nuy"][rows]
        se, sn = g["sig_e"][rows], g["sig_n"][rows]
        norm = np.hypot(dx, dy)
        with np.errstate(invalid="ignore", divide="ignore"):
            ne = (dx * uy - dy * ux) / norm           # east in the map is (uy, -ux)
            nn = (dx * ux + dy * uy) / norm
            s = np.hypot(ne * se, nn * sn)
        return np.where(np.isfinite(s) & (norm > 0), s, np.maximum(se, sn))

    def _decide(self, depth: F64, sigma: F64) -> NDArray[np.int8]:
        """Decisive side of depths with their sigmas across the edge: 1 inside, -1
        outside, 0 within the hysteresis band (entry and exit margins)."""
        c = self.config
        m_in = np.clip(c.entry_margin_sigmas * sigma, c.min_margin_m, c.max_margin_m)
        m_out = np.clip(c.margin_sigmas * sigma, c.min_margin_m, c.max_margin_m)
        return np.where(depth > m_in, np.int8(1),
                        np.where(depth < -m_out, np.int8(-1), np.int8(0)))

    def _geometry(self, rows: dict[str, Any]) -> dict[str, Any]:
        """Everything about each row that does not depend on the state machines."""
        cfg = self.config
        st = self._state.a
        g: dict[str, Any] = {"n": rows["n"], "rank": rows["rank"], "slot": rows["slot"],
                             "last": rows["last"], "code": rows["code"]}
        t = g["t"] = rows["time"]
        g["lat"], g["lon"], g["alt"] = rows["lat_deg"], rows["lon_deg"], rows["alt_m"]
        ve, vn, vu = rows["vel_east_mps"], rows["vel_north_mps"], rows["vel_up_mps"]
        vel_ok = np.isfinite(ve) & np.isfinite(vn)
        self.stats["velocity_unknown"] += int((~vel_ok).sum())
        g["ve"] = ve = np.where(vel_ok, ve, np.nan)
        g["vn"] = vn = np.where(vel_ok, vn, np.nan)
        g["vu"] = np.where(np.isfinite(vu), vu, 0.0)
        g["speed"] = np.sqrt(ve * ve + vn * vn)
        g["heading"] = np.degrees(np.arctan2(ve, vn)) % 360.0
        sig = []
        for c in ("sigma_east_m", "sigma_north_m"):
            s = rows[c]
            ok = np.isfinite(s) & (s >= 0)
            self.stats["sigma_defaulted"] += int((~ok).sum())
            sig.append(np.where(ok, s, cfg.default_sigma_m))
        g["sig_e"], g["sig_n"] = sig
        x, y, nx, ny = self.plane.forward_axes(g["lat"], g["lon"])
        k = np.sqrt(nx * nx + ny * ny)
        g["x"], g["y"], g["k"], g["nux"], g["nuy"] = x, y, k, nx / k, ny / k
        # map velocity: east maps to (ny, -nx), north to (nx, ny), both scaled by k
        ve0 = np.where(vel_ok, ve, 0.0)
        vn0 = np.where(vel_ok, vn, 0.0)
        vmx, vmy = g["vmx"], g["vmy"] = _map_velocity(ve0, vn0, nx, ny)
        moving = g["moving"] = vel_ok & (g["speed"] >= cfg.approach_min_speed_mps)
        # --- home country: side, depth, margin, country
        inside, dist, qx, qy = self._home.locate(x, y)
        g["inside"] = inside
        g["depth"] = depth = np.where(inside, dist, -dist) / k
        g["qx"], g["qy"] = qx, qy
        dec = np.where(depth > 0, 1, -1)
        band = np.flatnonzero(np.abs(depth) <= cfg.max_margin_m)   # else decided anyway
        if band.size:
            dec[band] = self._decide(depth[band], self._sigma_dir(g, band, x[band] - qx[band],
                                                                  y[band] - qy[band]))
        g["dec"] = dec
        g["country"] = self._country(x, y, inside)
        # --- the previous update of each row's track (state, or the row before)
        slot = g["slot"]
        first = g["rank"] == 0
        g["new"] = new = first & ~st["seen"][slot]
        has_prev = g["has_prev"] = ~new
        prev = np.maximum(np.arange(t.size) - 1, 0)
        for key, skey in (("x", "x"), ("y", "y"), ("alt", "alt"), ("t", "t"),
                          ("inside", "raw_in"), ("country", "country")):
            g["p_" + key] = np.where(first, st[skey][slot], g[key][prev])
        # crossing on the segment from the previous update, where the raw side changed
        chg = np.flatnonzero(has_prev & (inside != g["p_inside"]))
        g["bx"], g["by"], g["balt"], g["bt"] = (np.full(t.size, np.nan) for _ in range(4))
        if chg.size:
            _, f = self._home_index.crossings(g["p_x"][chg], g["p_y"][chg], x[chg], y[chg])
            self._put_crossing(g, chg, np.where(np.isfinite(f), f, 1.0), "b")
        # first seen inside: the crossing traced back along the velocity
        g["bk_hit"] = np.zeros(t.size, dtype=bool)
        g["bk_from"] = np.full(t.size, -1, dtype=np.int64)
        fs = np.flatnonzero(new & inside)
        if fs.size:
            L = cfg.initial_entry_lookback_s
            bx1 = x[fs] - vmx[fs] * L
            by1 = y[fs] - vmy[fs] * L
            f, _ = self._home_index.crossings(x[fs], y[fs], bx1, by1)
            hit = np.isfinite(f) & moving[fs]
            g["bk_hit"][fs] = hit
            f = np.where(hit, f, 0.0)
            g["bx"][fs] = np.where(hit, x[fs] - f * vmx[fs] * L,
                                   np.where(np.isfinite(qx[fs]), qx[fs], x[fs]))
            g["by"][fs] = np.where(hit, y[fs] - f * vmy[fs] * L,
                                   np.where(np.isfinite(qy[fs]), qy[fs], y[fs]))
            g["bt"][fs] = t[fs] - f * L
            g["balt"][fs] = g["alt"][fs] - g["vu"][fs] * f * L
            if hit.any():
                h = fs[hit]
                sp = np.hypot(vmx[h], vmy[h])
                step = _BEYOND_M * g["k"][h] / sp
                cx = g["bx"][h] - vmx[h] * step
                cy = g["by"][h] - vmy[h] * step
                c = self._country(cx, cy, shapely.contains_xy(self._home_geom, cx, cy))
                g["bk_from"][h] = np.where(c == self._home_code, -1, c)
        if self.zones.items:
            self._zone_geometry(g)
        return g

    @staticmethod
    def _put_crossing(g: dict[str, Any], rows: NDArray[np.intp], f: F64, p: str,
                      zone: NDArray[np.intp] | None = None) -> None:
        """Store the point at fraction ``f`` from the previous update to the row."""
        vals = {}
        for key in ("x", "y", "alt", "t"):
            a = g["p_" + key][rows]
            vals[key] = a + f * (g[key][rows] - a)
        if zone is None:
            for key in ("x", "y", "alt", "t"):
                g[p + key][rows] = vals[key]
        else:
            for key in ("x", "y", "alt", "t"):
                g[p + key][rows, zone] = vals[key]

    def _zone_geometry(self, g: dict[str, Any]) -> None:
        """Per (row, zone): raw side, signed depth, decision, crossings, prediction."""
        cfg = self.config
        n, nz = g["t"].size, len(self.zones)
        x, y, k = g["x"], g["y"], g["k"]
        vmx, vmy = g["vmx"], g["vmy"]
        moving = g["moving"]
        H = cfg.picture_horizon_s
        mm = cfg.max_margin_m
        reach = np.where(moving, np.sqrt(vmx * vmx + vmy * vmy) * H, -1.0)     # map metres
        band_r, band_z, band_s = [], [], []        # pairs near an edge, and their sigma
        only_circles = self._circ.size == nz
        if not only_circles:
            raw = np.zeros((n, nz), dtype=bool)
            depth = np.zeros((n, nz))
            tz = np.full((n, nz), np.inf)
        if self._circ.size:
            circ = self._circ
            inside, dc, tc = circles_pass(x, y, vmx, vmy, k, reach, self._cx, self._cy,
                                          self._cr, H)
            if only_circles:                        # circ is 0, 1, ... nz - 1
                raw, depth, tz = inside, dc, tc
            else:
                raw[:, circ] = inside
                depth[:, circ] = dc
                tz[:, circ] = tc
            rr, cc = np.nonzero(np.abs(dc) <= mm)
            if rr.size:
                band_r.append(rr)
                band_z.append(circ[cc])
                band_s.append(self._sigma_dir(g, rr, x[rr] - self._cx[cc], y[rr] - self._cy[cc]))
        for j, (geom, index) in zip(self._poly, self._polys, strict=True):
            inside = shapely.contains_xy(geom, x, y)
            d, qx, qy = index.nearest(x, y)
            raw[:, j] = inside
            depth[:, j] = dp = np.where(inside, d, -d) / k
            c = np.flatnonzero(~inside & (d <= reach))
            if c.size:
                f, _ = index.crossings(x[c], y[c], x[c] + vmx[c] * H, y[c] + vmy[c] * H)
                tz[c, j] = np.where(np.isfinite(f), f * H, np.inf)
            tz[inside & moving, j] = 0.0
            rr = np.flatnonzero(np.abs(dp) <= mm)
            band_r.append(rr)
            band_z.append(np.full(rr.size, j))
            band_s.append(self._sigma_dir(g, rr, x[rr] - qx[rr], y[rr] - qy[rr]))
        g["zraw"] = raw
        g["zdepth"] = depth
        dec = np.where(depth > 0.0, np.int8(1), np.int8(-1))
        if band_r:
            rr, zz = np.concatenate(band_r), np.concatenate(band_z)
            dec[rr, zz] = self._decide(depth[rr, zz], np.concatenate(band_s))
        g["zdec"] = dec
        g["tz"] = tz
        # rows with nothing to do for any zone (far from all, none predicted) are skipped
        # by the state machine unless the track has zone state
        g["zact"] = (raw | (dec >= 0) | (tz <= cfg.approach_lookahead_s)).any(axis=1)
        # crossings where the raw side changed since the previous update, and where a
        # track is first seen inside a zone (dense arrays only when there are any)
        st = self._state.z
        slot, first = g["slot"], g["rank"] == 0
        prev = np.maximum(np.arange(n) - 1, 0)
        praw = np.where(first[:, None], st["z_raw"][slot], raw[prev])
        rc, zc = np.nonzero(g["has_prev"][:, None] & (raw != praw))
        rn, zn = np.nonzero(g["new"][:, None] & raw)
        g["zx"] = None
        if rc.size or rn.size:
            for key in ("zx", "zy", "zalt", "zt"):
                g[key] = np.full((n, nz), np.nan)
        if rc.size:
            f = np.full(rc.size, np.nan)
            self._zone_cross(g, rc, zc, f, back=False)
            self._put_crossing(g, rc, np.where(np.isfinite(f), f, 1.0), "z", zone=zc)
        # first seen inside a zone: traced back along the velocity, or the first position
        if rn.size:
            L = cfg.initial_entry_lookback_s
            f = np.full(rn.size, np.nan)
            self._zone_cross(g, rn, zn, f, back=True)
            f = np.where(np.isfinite(f) & moving[rn], f, 0.0)
            g["zx"][rn, zn] = x[rn] - f * vmx[rn] * L
            g["zy"][rn, zn] = y[rn] - f * vmy[rn] * L
            g["zalt"][rn, zn] = g["alt"][rn] - g["vu"][rn] * f * L
            g["zt"][rn, zn] = g["t"][rn] - f * L

    def _tz_sigma(self, g: dict[str, Any], rows: NDArray[np.intp], t: F64) -> F64:
        """1-sigma (s) of predicted times ``t`` (s) of ``rows``: the position sigma along
        the course and the assumed speed sigma, ``sqrt((σ∥/v)² + (t·σv/v)²)``."""
        v = g["speed"][rows]
        s_along = self._sigma_dir(g, rows, g["vmx"][rows], g["vmy"][rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.sqrt((s_along / v) ** 2 + (t * self.config.velocity_sigma_mps / v) ** 2)

    def _zone_cross(self, g: dict[str, Any], rr: NDArray[np.intp], zz: NDArray[np.intp],
                    out: F64, back: bool) -> None:
        """Fraction of the crossing of zone ``zz`` by each row's segment: from the previous
        update (its last crossing) or, with ``back``, along the velocity traced back
        ``initial_entry_lookback_s`` (its first)."""
        x, y = g["x"][rr], g["y"][rr]
        if back:
            L = self.config.initial_entry_lookback_s
            x0, y0, x1, y1 = x, y, x - g["vmx"][rr] * L, y - g["vmy"][rr] * L
        else:
            x0, y0, x1, y1 = g["p_x"][rr], g["p_y"][rr], x, y
        is_circ = np.zeros(len(self.zones), dtype=np.intp) - 1
        is_circ[self._circ] = np.arange(self._circ.size)
        c = is_circ[zz]
        m = c >= 0
        if m.any():
            cx, cy, r = self._cx[c[m]], self._cy[c[m]], self._cr[c[m]]
            out[m] = segment_circle_fraction(x0[m] - cx, y0[m] - cy, x1[m] - cx, y1[m] - cy,
                                             r, last=not back)
        for j, (_, index) in zip(self._poly, self._polys, strict=True):
            m = zz == j
            if m.any():
                lo, hi = index.crossings(x0[m], y0[m], x1[m], y1[m])
                out[m] = lo if back else hi

    # ------------------------------------------------------------------ state machines
    def _run(self, g: dict[str, Any], ev: _Events) -> None:
        """Advance every track through its rows, one rank (row of each track) at a time."""
        rank = g["rank"]
        order = np.argsort(rank, kind="stable")
        bounds = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
        for r in range(int(rank.max()) + 1):
            i = order[bounds[r]:bounds[r + 1]]
            s = g["slot"][i]
            new = g["new"][i]
            self._border(g, i, s, new, ev)
            if self.zones.items:
                self._zones(g, i, s, new, ev)
            self._loiter(g, i, s, new, ev)
            a = self._state.a
            for key, gk in (("t", "t"), ("x", "x"), ("y", "y"), ("alt", "alt"),
                            ("lat", "lat"), ("lon", "lon"), ("ve", "ve"), ("vn", "vn"),
                            ("status", "code"), ("country", "country"), ("depth", "depth"),
                            ("raw_in", "inside"), ("se", "sig_e"), ("sn", "sig_n")):
                a[key][s] = g[gk][i]
            a["seen"][s] = True

    def _common(self, g: dict[str, Any], i: NDArray[np.intp]) -> dict[str, Any]:
        return {"det": g["t"][i], "tid": self._state.ids[g["slot"][i]],
                "heading": g["heading"][i], "speed": g["speed"][i]}

    def _border(self, g: dict[str, Any], i: NDArray[np.intp], s: NDArray[np.intp],
                new: NDArray[np.bool_], ev: _Events) -> None:
        a = self._state.a
        cfg = self.config
        home = self._home_code
        inside, dec, depth = g["inside"][i], g["dec"][i], g["depth"][i]
        ex = ~new
        # a change of raw side since the previous update: remember where it crossed
        chg = ex & (inside != a["raw_in"][s])
        if chg.any():
            ic, sc = i[chg], s[chg]
            for key in ("x", "y", "alt", "t"):
                a["pend_" + key][sc] = g["b" + key][ic]
            pc = g["p_country"][ic]
            frm = self._came_from(pc, a["last_foreign"][sc])
            a["pend_from"][sc] = np.where(inside[chg], frm, home)
        # first seen: take its side; inside near the border and coming in: an entry
        if new.any():
            iN, sN = i[new], s[new]
            a["b_in"][sN] = dec[new] > 0
            for key in ("x", "y", "alt", "t"):
                a["pend_" + key][sN] = g["b" + key][iN]
            a["pend_from"][sN] = g["bk_from"][iN]
            a["max_depth"][sN] = np.where(dec[new] > 0, depth[new], np.nan)
            fe = (dec[new] > 0) & (depth[new] <= cfg.initial_entry_max_depth_m) & g["bk_hit"][iN]
            if fe.any():
                self._border_event(g, "border_entry", iN[fe], sN[fe], ev)
        enter = ex & ~a["b_in"][s] & (dec > 0)
        leave = ex & a["b_in"][s] & (dec < 0)
        if enter.any():
            self._border_event(g, "border_entry", i[enter], s[enter], ev)
            a["b_in"][s[enter]] = True
            a["max_depth"][s[enter]] = depth[enter]
        if leave.any():
            self._border_event(g, "border_exit", i[leave], s[leave], ev)
            a["b_in"][s[leave]] = False
        stay = a["b_in"][s]
        a["max_depth"][s[stay]] = np.fmax(a["max_depth"][s[stay]], depth[stay])
        country = g["country"][i]
        a["last_foreign"][s] = np.where(inside, -1, np.where(country >= 0, country,
                                                              a["last_foreign"][s]))

    def _border_event(self, g: dict[str, Any], kind: str, i: NDArray[np.intp],
                      s: NDArray[np.intp], ev: _Events) -> None:
        a = self._state.a
        entry = kind == "border_entry"
        ev.add(kind, i.size, time=a["pend_t"][s], x=a["pend_x"][s], y=a["pend_y"][s],
               alt=a["pend_alt"][s],
               cfrom=a["pend_from"][s] if entry else self._home_code,
               cto=self._home_code if entry else g["country"][i],
               depth=np.maximum(g["depth"][i] if entry else a["max_depth"][s], 0.0),
               **self._common(g, i))

    def _zones(self, g: dict[str, Any], i: NDArray[np.intp], s: NDArray[np.intp],
               new: NDArray[np.bool_], ev: _Events) -> None:
        act = g["zact"][i] | self._state.a["z_any"][s]
        if not act.all():
            i, s, new = i[act], s[act], new[act]
            if i.size == 0:
                return
        z = self._state.z
        cfg = self.config
        raw, dec = g["zraw"][i], g["zdec"][i]
        ex = ~new
        chg = ex[:, None] & (raw != z["z_raw"][s])
        rr, zz = np.nonzero(chg)
        if rr.size:
            for key in ("x", "y", "alt", "t"):
                z["zp_" + key][s[rr], zz] = g["z" + key][i[rr], zz]
        if new.any():
            iN, sN = i[new], s[new]
            if g["zx"] is not None:
                for key in ("x", "y", "alt", "t"):
                    z["zp_" + key][sN] = g["z" + key][iN]
            z["z_in"][sN] = dec[new] > 0
            rr, zz = np.nonzero(dec[new] > 0)
            self._zone_event(g, "zone_entry", iN[rr], sN[rr], zz, ev)
        enter = ex[:, None] & ~z["z_in"][s] & (dec > 0)
        leave = ex[:, None] & z["z_in"][s] & (dec < 0)
        rr, zz = np.nonzero(enter)
        if rr.size:
            self._zone_event(g, "zone_entry", i[rr], s[rr], zz, ev)
            z["z_in"][s[rr], zz] = True
        rr, zz = np.nonzero(leave)
        if rr.size:
            self._zone_event(g, "zone_exit", i[rr], s[rr], zz, ev)
            z["z_in"][s[rr], zz] = False
        z["z_raw"][s] = raw
        self._state.a["z_any"][s] = (z["z_in"][s] | raw).any(axis=1)
        appr = (~z["z_in"][s] & ~raw & ~z["z_appr"][s]
                & (g["tz"][i] <= cfg.approach_lookahead_s))
        rr, zz = np.nonzero(appr)
        if rr.size:
            ir = i[rr]
            ev.add("zone_approach", rr.size, time=g["t"][ir], x=g["x"][ir], y=g["y"][ir],
                   alt=g["alt"][ir], zone=zz, depth=np.maximum(g["depth"][ir], 0.0),
                   tz=g["tz"][ir, zz], tzs=self._tz_sigma(g, ir, g["tz"][ir, zz]),
                   dist=np.maximum(-g["zdepth"][ir, zz], 0.0),
                   **self._common(g, ir))
            z["z_appr"][s[rr], zz] = True

    def _zone_event(self, g: dict[str, Any], kind: str, i: NDArray[np.intp],
                    s: NDArray[np.intp], zz: NDArray[np.intp], ev: _Events) -> None:
        if i.size == 0:
            return
        z = self._state.z
        ev.add(kind, i.size, time=z["zp_t"][s, zz], x=z["zp_x"][s, zz], y=z["zp_y"][s, zz],
               alt=z["zp_alt"][s, zz], zone=zz, depth=np.maximum(g["depth"][i], 0.0),
               **self._common(g, i))

    def _loiter(self, g: dict[str, Any], i: NDArray[np.intp], s: NDArray[np.intp],
                new: NDArray[np.bool_], ev: _Events) -> None:
        a = self._state.a
        cfg = self.config
        x, y, alt, t = g["x"][i], g["y"][i], g["alt"][i], g["t"][i]
        with np.errstate(invalid="ignore", divide="ignore"):
            cx = a["l_sx"][s] / a["l_n"][s]
            cy = a["l_sy"][s] / a["l_n"][s]
            far = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) / g["k"][i] > cfg.loiter_radius_m
        reset = new | ~(a["l_n"][s] > 0) | far
        a["l_sx"][s] = np.where(reset, x, a["l_sx"][s] + x)
        a["l_sy"][s] = np.where(reset, y, a["l_sy"][s] + y)
        a["l_salt"][s] = np.where(reset, alt, a["l_salt"][s] + alt)
        a["l_n"][s] = np.where(reset, 1.0, a["l_n"][s] + 1.0)
        a["l_t0"][s] = np.where(reset, t, a["l_t0"][s])
        a["l_fired"][s] = a["l_fired"][s] & ~reset
        fire = ~a["l_fired"][s] & (t - a["l_t0"][s] >= cfg.loiter_time_s)
        if fire.any():
            sf, n = s[fire], a["l_n"][s[fire]]
            ev.add("loiter", int(fire.sum()), time=a["l_t0"][sf], x=a["l_sx"][sf] / n,
                   y=a["l_sy"][sf] / n, alt=a["l_salt"][sf] / n,
                   depth=np.maximum(g["depth"][i[fire]], 0.0), **self._common(g, i[fire]))
            a["l_fired"][sf] = True

    # ------------------------------------------------------------------ picture, output
    def _predict_entries(self, now: float, ev: _Events) -> None:
        """Border entries of tracks carried along their velocity to ``now``.

        Candidates: confirmed tracks outside (by the hysteresis state), moving at least
        ``approach_min_speed_mps``, last updated ``0 < now - t <= predict_entry_s`` ago and
        near enough to reach the border. The predicted position is the last one plus the map
        velocity times ``dt``; its sigma across the outline is ``sqrt(σ⊥² +
        (dt·velocity_sigma_mps)²)``. Decisively inside (past the entry margin of that
        sigma): a ``border_entry`` whose crossing is the last crossing of the segment from
        the last update to the prediction (time by the fraction along it; for a track whose
        last update is already over the line, within its margin, the crossing its rows
        made), ``detected_time`` = ``now``, ``depth_m`` the predicted depth. The track's
        state stays at its last update (its next rows are not stale); only its side turns to
        inside, so its next rows raise no second entry, and rows that put it decisively
        outside raise the exit.
        """
        cfg = self.config
        a = self._state.a
        dt = now - a["t"]
        speed = np.hypot(a["ve"], a["vn"])
        with np.errstate(invalid="ignore"):
            cand = np.flatnonzero(
                a["seen"] & ~a["b_in"] & (a["status"] == _STATUS["confirmed"])
                & (dt > 0.0) & (dt <= cfg.predict_entry_s)
                & (speed >= cfg.approach_min_speed_mps)
                & (a["depth"] + speed * dt > cfg.min_margin_m))
        if cand.size == 0:
            return
        dt, speed = dt[cand], speed[cand]
        x0, y0, nx, ny = self.plane.forward_axes(a["lat"][cand], a["lon"][cand])
        k = np.sqrt(nx * nx + ny * ny)
        ve, vn = a["ve"][cand], a["vn"][cand]
        vmx, vmy = _map_velocity(ve, vn, nx, ny)
        x1, y1 = x0 + vmx * dt, y0 + vmy * dt
        inside, dist, qx, qy = self._home.locate(x1, y1)
        depth = np.where(inside, dist, -dist) / k
        g = {"nux": nx / k, "nuy": ny / k, "sig_e": a["se"][cand], "sig_n": a["sn"][cand]}
        rows = np.arange(cand.size)
        s_perp = self._sigma_dir(g, rows, x1 - qx, y1 - qy)
        sigma = np.sqrt(s_perp ** 2 + (dt * cfg.velocity_sigma_mps) ** 2)
        enter = inside & (self._decide(depth, sigma) > 0)
        if not enter.any():
            return
        c, e = cand[enter], np.flatnonzero(enter)
        home = self._home_code
        # a track whose last update is already over the line (within the margin) crossed
        # where its rows did (the pending crossing); the others on the predicted segment
        out = ~a["raw_in"][c]
        if out.any():
            co, eo = c[out], e[out]
            _, f = self._home_index.crossings(x0[eo], y0[eo], x1[eo], y1[eo])
            f = np.where(np.isfinite(f), f, 1.0)
            a["pend_x"][co] = x0[eo] + f * (x1[eo] - x0[eo])
            a["pend_y"][co] = y0[eo] + f * (y1[eo] - y0[eo])
            a["pend_alt"][co] = a["alt"][co]
            a["pend_t"][co] = a["t"][co] + f * dt[eo]
            a["pend_from"][co] = self._came_from(a["country"][co], a["last_foreign"][co])
        a["b_in"][c] = True
        a["max_depth"][c] = depth[e]
        ev.add("border_entry", c.size, time=a["pend_t"][c], x=a["pend_x"][c],
               y=a["pend_y"][c], alt=a["pend_alt"][c], cfrom=a["pend_from"][c], cto=home,
               depth=depth[e], det=now, tid=self._state.ids[c],
               heading=np.degrees(np.arctan2(ve[e], vn[e])) % 360.0, speed=speed[e])
        self.stats["predicted_entries"] += int(c.size)

    def _finish_picture(self, g: dict[str, Any]) -> None:
        """Store each track's zone figures from its last row of the batch."""
        i = np.flatnonzero(g["last"])
        s = g["slot"][i]
        a = self._state.a
        if not self.zones.items:
            return
        z_in = self._state.z["z_in"][s]
        if i.size == g["t"].size:                   # one row per track: no copies
            zdepth, tz = g["zdepth"], g["tz"]
        else:
            zdepth, tz = g["zdepth"][i], g["tz"][i]
        rows = np.arange(i.size)
        inz = z_in.any(axis=1)
        jin = np.argmax(np.where(z_in, zdepth, -np.inf), axis=1)
        a["in_zone"][s] = np.where(inz, jin, -1)
        # threatened: the zone it is in (time 0), else the first its course reaches
        j = np.argmin(np.where(z_in, np.inf, tz), axis=1)
        t = tz[rows, j]
        ok = np.isfinite(t) & ~inz
        sig = np.full(i.size, np.nan)
        sig[ok] = self._tz_sigma(g, i[ok], t[ok])
        a["thr_zone"][s] = np.where(inz, jin, np.where(ok, j, -1))
        a["thr_t"][s] = np.where(inz, 0.0, np.where(ok, t, np.nan))
        a["thr_sig"][s] = np.where(inz, 0.0, sig)
        a["thr_dist"][s] = np.where(inz, 0.0, np.where(ok, np.maximum(-zdepth[rows, j], 0.0),
                                                        np.nan))
        jn = np.argmax(zdepth, axis=1)                     # the nearest: the least outside
        a["near_zone"][s] = jn
        a["near_dist"][s] = np.maximum(-zdepth[rows, jn], 0.0)

    def _emit(self, ev: _Events) -> dict[str, np.ndarray]:
        e = ev.gather()
        n = e["time"].size
        out: dict[str, np.ndarray] = {}
        if n == 0:
            for c, d in EVENT_COLUMNS.items():
                out[c] = np.zeros(0, dtype=np.str_ if d == "str" else d)
            return out
        order = np.lexsort((e["zone"], e["kind"], e["tid"], e["det"]))
        e = {c: v[order] for c, v in e.items()}
        lat, lon = self.plane.inverse(e["x"], e["y"])
        kinds = np.array(EVENT_KINDS)
        vals = {
            "time": e["time"], "detected_time": e["det"], "track_id": e["tid"],
            "kind": kinds[e["kind"].astype(np.intp)], "lat_deg": lat, "lon_deg": lon,
            "alt_m": e["alt"], "country_from": self._cid_str[e["cfrom"].astype(np.intp)],
            "country_to": self._cid_str[e["cto"].astype(np.intp)],
            "zone_id": self._zone_ids[e["zone"].astype(np.intp)],
            "heading_deg": e["heading"], "speed_mps": e["speed"], "depth_m": e["depth"],
            "time_to_zone_s": e["tz"], "time_to_zone_sigma_s": e["tzs"],
            "distance_m": e["dist"],
        }
        for c, d in EVENT_COLUMNS.items():
            out[c] = np.asarray(vals[c]).astype(str) if d == "str" else \
                np.asarray(vals[c], dtype=d)
        return out

