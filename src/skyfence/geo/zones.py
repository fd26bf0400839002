"""Protected zones: airports, military sites, power plants, city centres.

A zone is either a circle (a centre and a protection radius, built geodesically)
or an area (a polygon).  The shipped ``data/zones.geojson`` lists sites in
Lithuania; pass your own file for any other country, either GeoJSON::

    {"type": "FeatureCollection", "features": [
      {"type": "Feature",
       "properties": {"id": "vilnius-airport", "name": "Vilnius Airport (VNO)",
                      "kind": "airport", "radius_m": 5000, "source": "..."},
       "geometry": {"type": "Point", "coordinates": [25.28778, 54.63694]}}, ...]}

(Point features need ``radius_m``; Polygon/MultiPolygon features are the zone
itself and take no radius), or TOML::

    [[zone]]
    id = "vilnius-airport"
    name = "Vilnius Airport (VNO)"
    kind = "airport"
    lat_deg = 54.63694
    lon_deg = 25.28778
    radius_m = 5000.0

Kinds: ``airport military nuclear energy city government other``.  Mistakes raise
:class:`~skyfence.errors.ConfigError` naming the file and the key.  Zones are in
lon/lat degrees; a zone must not straddle the antimeridian or contain a pole.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError
from skyfence.geo.borders import (
    _builtin,
    _features,
    _geometry,
    _id_prop,
    _read_json,
    _str_prop,
)

__all__ = ["CIRCLE_VERTICES", "ZONE_KINDS", "Zone", "Zones", "ZonesFile", "ZoneSpec",
           "circle_polygon", "load_zones"]

ZoneKind = Literal["airport", "military", "nuclear", "energy", "city", "government", "other"]
ZONE_KINDS: tuple[str, ...] = ("airport", "military", "nuclear", "energy", "city",
                               "government", "other")
#: vertices of a circular zone's polygon
CIRCLE_VERTICES = 128
_ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_GEOD = Geod(ellps="WGS84")


def circle_polygon(lat_deg: float, lon_deg: float, radius_m: float,
                   n: int = CIRCLE_VERTICES) -> shapely.Polygon:
    """The geodesic circle of ``radius_m`` around a point, as a lon/lat polygon.

    Vertices are at equal azimuth steps, ``radius_m`` along the WGS84 geodesic
    (pyproj ``Geod.fwd``); the ring is counter-clockwise.
    """
    if n < 8:
        raise ValueError(f"a circle needs at least 8 vertices, got {n}")
    az = np.linspace(0.0, 360.0, n, endpoint=False)
    lons, lats, _ = _GEOD.fwd(np.full(n, float(lon_deg)), np.full(n, float(lat_deg)), az,
                              np.full(n, float(radius_m)))
    return orient(shapely.Polygon(np.column_stack([lons, lats])), sign=1.0)


@dataclass(frozen=True)
class Zone:
    """One protected zone.

    ``lat_deg``/``lon_deg`` are the centre (the centroid for an area zone);
    ``radius_m`` is NaN for an area zone; ``geometry`` is a shapely polygon in
    lon/lat degrees (the geodesic circle for a circular zone).
    """

    id: str
    name: str
    kind: str
    lat_deg: float
    lon_deg: float
    radius_m: float
    geometry: BaseGeometry
    source: str = ""

    @property
    def is_circle(self) -> bool:
        return not math.isnan(self.radius_m)

    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.bool_]:
        """Whether each point lies inside the zone (broadcast shape)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        out = shapely.contains_xy(self.geometry, lon, lat)
        out = np.asarray(out, dtype=bool) & np.isfinite(lat) & np.isfinite(lon)
        return out[()] if out.ndim == 0 else out


class Zones:
    """An ordered, immutable set of :class:`Zone` with unique ids."""

    __slots__ = ("_by_id", "_items", "_source", "_tree")

    def __init__(self, items: tuple[Zone, ...] | list[Zone], source: str = "<memory>") -> None:
        self._items = tuple(items)
        self._by_id = {z.id: z for z in self._items}
        if len(self._by_id) != len(self._items):
            dup = sorted({z.id for z in self._items if sum(y.id == z.id for y in self._items) > 1})
            raise ValueError(f"zone ids must be unique; repeated: {', '.join(dup)}")
        self._source = str(source)
        geoms = np.array([z.geometry for z in self._items], dtype=object)
        shapely.prepare(geoms)
        self._tree = shapely.STRtree(geoms)

    @property
    def items(self) -> tuple[Zone, ...]:
        return self._items

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    @property
    def source(self) -> str:
        return self._source

    def by_id(self) -> dict[str, Zone]:
        """``{id: zone}`` (a new dict)."""
        return dict(self._by_id)

    def __getitem__(self, key: int | str) -> Zone:
        if isinstance(key, str):
            try:
                return self._by_id[key]
            except KeyError:
                raise KeyError(f"unknown zone id {key!r}; known: {', '.join(self._by_id)}") \
                    from None
        return self._items[key]

    def __iter__(self) -> Iterator[Zone]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._by_id

    def __repr__(self) -> str:
        return f"Zones({', '.join(self._by_id)}; from {self._source})"

    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray[np.intp],
                                                                        NDArray[np.intp]]:
        """Which points lie in which zones, as ``(point_index, zone_index)`` pairs.

        ``lat_deg`` and ``lon_deg`` broadcast together; ``point_index`` indexes the
        flattened (C-order) broadcast array, ``zone_index`` indexes :attr:`items`.
        Pairs are sorted by point, then zone; a point in two zones appears twice.
        NaN coordinates are in no zone.  (Like shapely's ``STRtree.query``.)
        """
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        y = lat.ravel()
        x = lon.ravel()
        ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
        empty = np.zeros(0, dtype=np.intp)
        if ok.size == 0 or not self._items:
            return empty, empty.copy()
        pts = shapely.points(x[ok], y[ok])
        pi, zi = self._tree.query(pts, predicate="within")
        pi = ok[pi]
        order = np.lexsort((zi, pi))
        return pi[order].astype(np.intp), zi[order].astype(np.intp)

    def zones_at(self, lat_deg: float, lon_deg: float) -> tuple[Zone, ...]:
        """The zones containing one point."""
        _, zi = self.contains(lat_deg, lon_deg)
        return tuple(self._items[i] for i in zi)


# --------------------------------------------------------------------------------------
# TOML schema
# --------------------------------------------------------------------------------------
class ZoneSpec(BaseModel):
    """One ``[[zone]]`` table of a TOML zones file (a circular zone)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=_ID_PATTERN)]
    name: str = ""
    kind: ZoneKind
    lat_deg: Annotated[float, Field(ge=-90, le=90)]
    lon_deg: Annotated[float, Field(ge=-180, le=180)]
    radius_m: float
    source: str = ""

    @field_validator("radius_m")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError("a positive number of metres")
        return v


class ZonesFile(BaseModel):
    """A TOML zones file: optional ``name``/``description`` and ``[[zone]]`` tables."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    zone: list[ZoneSpec]

    @field_validator("zone")
    @classmethod
    def _not_empty(cls, v: list[ZoneSpec]) -> list[ZoneSpec]:
        if not v:
            raise ValueError("at least one [[zone]] table")
        return v

    @model_validator(mode="after")
    def _unique(self) -> ZonesFile:
        seen: set[str] = set()
        for z in self.zone:
            if z.id in seen:
                raise ValueError(f"unique zone ids; '{z.id}' appears twice")
            seen.add(z.id)
        return self


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------
def load_zones(path: str | Path | None = None) -> Zones:
    """Load zones from GeoJSON or TOML (by suffix ``.toml``; default: the shipped file).

    Raises :class:`~skyfence.errors.ConfigError` naming the file and the key
    (e.g. ``features[1].properties.radius_m``) on any mistake.
    """
    if path is None:
        return _load_builtin()
    path = Path(path)
    if path.suffix.lower() == ".toml":
        return _load_toml(path)
    return _load_geojson(path)


@lru_cache(maxsize=1)
def _load_builtin() -> Zones:
    return _load_geojson(_builtin("zones.geojson"))


def _circle_zone(zid: str, name: str, kind: str, lat: float, lon: float, radius: float,
                 source: str) -> Zone:
    return Zone(zid, name or zid, kind, float(lat), float(lon), float(radius),
                circle_polygon(lat, lon, radius), source)


def _load_toml(path: Path) -> Zones:
    label = str(path)
    data = load_toml(path)
    if "zone" not in data:
        raise ConfigError(label, "zone", "required key is missing (at least one [[zone]] table)")
    spec = validate_model(ZonesFile, data, label)
    return Zones([_circle_zone(z.id, z.name, z.kind, z.lat_deg, z.lon_deg, z.radius_m, z.source)
                  for z in spec.zone], source=label)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _load_geojson(path: Path) -> Zones:
    label = str(path)
    doc = _read_json(path, label)
    seen: dict[str, str] = {}
    zones: list[Zone] = []
    for key, props, raw in _features(doc, label):
        zid = _id_prop(props, key, label, seen, pattern=_ID_PATTERN)
        name = _str_prop(props, "name", key, label, zid)
        source = _str_prop(props, "source", key, label, "")
        if "kind" not in props or props["kind"] is None:
            raise ConfigError(label, f"{key}.properties.kind", "required key is missing "
                              f"(one of {', '.join(ZONE_KINDS)})")
        kind = props["kind"]
        if kind not in ZONE_KINDS:
            raise ConfigError(label, f"{key}.properties.kind",
                              f"expected one of {', '.join(ZONE_KINDS)}; got {kind!r}")
        geom = _geometry(raw, key, label, ("Point", "Polygon", "MultiPolygon"))
        radius = props.get("radius_m")
        rkey = f"{key}.properties.radius_m"
        if geom.geom_type == "Point":
            if radius is None:
                raise ConfigError(label, rkey, "required key is missing (a Point zone needs a "
                                  "protection radius in metres)")
            if not (_number(radius) and math.isfinite(radius) and radius > 0):
                raise ConfigError(label, rkey, f"expected a positive number of metres; "
                                  f"got {radius!r}")
            zones.append(_circle_zone(zid, name, kind, geom.y, geom.x, radius, source))
        else:
            if radius is not None:
                raise ConfigError(label, rkey, "expected no radius_m for a Polygon/MultiPolygon "
                                  "zone (the polygon is the zone); remove it or use a Point")
            c = geom.centroid
            zones.append(Zone(zid, name, kind, float(c.y), float(c.x), math.nan, geom, source))
    return Zones(zones, source=label)
