"""State borders: which country a point is in, and the border line between two countries.

The shipped ``data/borders.geojson`` holds the national territory of Lithuania (``LT``),
Latvia (``LV``), Belarus (``BY``), Poland (``PL``) and Russia's Kaliningrad oblast
(``RU-KGD``), from OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0; see
``data/NOTICE``), at the source's 10 m resolution.  Any other country works by
passing your own GeoJSON FeatureCollection::

    {"type": "FeatureCollection", "features": [
      {"type": "Feature", "properties": {"id": "LT", "name": "Lithuania"},
       "geometry": {"type": "MultiPolygon", "coordinates": [...]}}, ...]}

Each feature is a Polygon or MultiPolygon in lon/lat degrees (WGS84) with a unique
``properties.id`` (required) and an optional ``properties.name``; other properties
are ignored.  Invalid rings (self-intersections) are repaired on load.

In the shipped data territory is *maritime*, the extent of national airspace
(Chicago Convention, articles 1–2): land, internal waters (lakes, ports, the Curonian
and Vistula lagoons, the Gulf of Riga) and the territorial sea out to 12 nautical
miles.  Border lakes and rivers, the lagoons and the sea are split along the border
line; only the sea beyond the territorial sea belongs to no country (``country_at``
gives ``''`` there).  A user's file may hold land only: then water is no country's.

Functions follow shapely 2: they take scalars or arrays (broadcast together) and
return the broadcast shape.  Longitudes wrapping the antimeridian are not handled.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod, Transformer
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from skyfence.errors import ConfigError

__all__ = ["DEFAULT_BORDER_TOLERANCE_M", "Borders", "load_borders"]

#: How far (metres) a's boundary may lie from b and still count as their common border.
DEFAULT_BORDER_TOLERANCE_M = 50.0

_GEOD = Geod(ellps="WGS84")
_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator)


# --------------------------------------------------------------------------------------
# the Borders object
# --------------------------------------------------------------------------------------
class Borders:
    """A set of countries (immutable).

    Build one with :func:`load_borders`, or directly from ``{id: geometry}``::

        Borders({"A": polygon_a, "B": polygon_b}, names={"A": "Aland"})

    Geometries are shapely (Multi)Polygons in lon/lat degrees.  Where two countries
    overlap, the one listed first wins in :meth:`country_at`.
    """

    __slots__ = ("_bounds", "_geoms", "_ids", "_index", "_names", "_shared", "_source",
                 "_id_array", "_geom_bounds")

    def __init__(self, geometries: Mapping[str, BaseGeometry],
                 names: Mapping[str, str] | None = None, source: str = "<memory>") -> None:
        if not geometries:
            raise ValueError("Borders needs at least one country")
        names = dict(names or {})
        self._ids: tuple[str, ...] = tuple(geometries)
        self._geoms: tuple[BaseGeometry, ...] = tuple(geometries[i] for i in self._ids)
        for g in self._geoms:
            shapely.prepare(g)
        self._names: dict[str, str] = {i: str(names.get(i) or i) for i in self._ids}
        self._index: dict[str, int] = {i: k for k, i in enumerate(self._ids)}
        self._source = str(source)
        self._id_array: NDArray[np.str_] = np.array((*self._ids, ""))  # index -1 → ''
        self._geom_bounds: NDArray[np.float64] = shapely.bounds(np.array(self._geoms, dtype=object))
        b = self._geom_bounds
        self._bounds = (float(b[:, 0].min()), float(b[:, 1].min()),
                        float(b[:, 2].max()), float(b[:, 3].max()))
        self._shared: dict[tuple[str, str, float], shapely.MultiLineString] = {}

    # -- plain accessors ---------------------------------------------------------------
    @property
    def ids(self) -> tuple[str, ...]:
        """Country ids in file order."""
        return self._ids

    @property
    def source(self) -> str:
        """Where the borders came from (a file path or a description)."""
        return self._source

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(lon_min, lat_min, lon_max, lat_max)`` of all countries, degrees."""
        return self._bounds

    def name(self, country: str) -> str:
        """The country's name (its id when the file gives none)."""
        return self._names[self._check(country)]

    def geometry(self, country: str) -> BaseGeometry:
        """The country's territory: a shapely (Multi)Polygon in lon/lat degrees."""
        return self._geoms[self._index[self._check(country)]]

    def __contains__(self, country: object) -> bool:
        return country in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"Borders({', '.join(self._ids)}; from {self._source})"

    def _check(self, country: str) -> str:
        if country not in self._index:
            raise KeyError(f"unknown country id {country!r}; known: {', '.join(self._ids)}")
        return country

    # -- point in country --------------------------------------------------------------
    def country_at(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.str_]:
        """Id of the country containing each point; ``''`` outside every country.

        ``lat_deg`` and ``lon_deg`` broadcast together; the result has their shape
        (a numpy string scalar for scalar input).  NaN coordinates give ``''``.
        """
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        lat, lon = np.broadcast_arrays(lat, lon)
        out_shape = lat.shape
        y = lat.ravel()
        x = lon.ravel()
        found = np.full(x.size, -1, dtype=np.intp)
        todo = np.isfinite(x) & np.isfinite(y)
        for k, geom in enumerate(self._geoms):
            x0, y0, x1, y1 = self._geom_bounds[k]
            cand = np.flatnonzero(todo & (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
            if cand.size == 0:
                continue
            hit = cand[shapely.contains_xy(geom, x[cand], y[cand])]
            found[hit] = k
            todo[hit] = False
        result = self._id_array[found].reshape(out_shape)
        return result[()] if result.ndim == 0 else result

    def contains(self, country: str, lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.bool_]:
        """Whether each point lies inside ``country`` (broadcast shape)."""
        geom = self.geometry(country)
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, dtype=np.float64),
                                       np.asarray(lon_deg, dtype=np.float64))
        ok = np.isfinite(lat) & np.isfinite(lon)
        out = np.zeros(lat.shape, dtype=bool)
        out[ok] = shapely.contains_xy(geom, lon[ok], lat[ok])
        return out[()] if out.ndim == 0 else out

    # -- common borders ----------------------------------------------------------------
    def shared_border(self, a: str, b: str,
                      tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M) -> shapely.MultiLineString:
        """The border between ``a`` and ``b``: the part of a's boundary within
        ``tolerance_m`` of b, as a MultiLineString in lon/lat degrees (empty if the
        two do not touch).

        The tolerance absorbs small gaps and overlaps between the two outlines; the
        buffering is done in metres, in an azimuthal equidistant projection centred
        on the border region.  In the shipped (maritime) data the border runs on
        through lakes, rivers and lagoons and out to sea to the territorial sea's
        outer limit.  In land-only data, where the border runs along a river or
        through a lake wider than about twice the tolerance, it has no land on one
        side and is not part of the result.
        """
        self._check(a)
        self._check(b)
        if a == b:
            raise ValueError(f"shared_border needs two different countries, got {a!r} twice")
        if not (math.isfinite(tolerance_m) and tolerance_m > 0):
            raise ValueError(f"tolerance_m must be a positive number of metres, got {tolerance_m}")
        key = (a, b, float(tolerance_m))
        if key not in self._shared:
            self._shared[key] = _shared_border(self.geometry(a), self.geometry(b), tolerance_m)
        return self._shared[key]

    def border_length_m(self, a: str, b: str,
                        tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M) -> float:
        """Geodesic length (WGS84, metres) of :meth:`shared_border` ``(a, b)``."""
        line = self.shared_border(a, b, tolerance_m)
        return float(_GEOD.geometry_length(line)) if not line.is_empty else 0.0

    def neighbours(self, country: str,
                   tolerance_m: float = DEFAULT_BORDER_TOLERANCE_M) -> tuple[str, ...]:
        """Ids of the countries sharing a border with ``country`` (file order)."""
        return tuple(o for o in self._ids
                     if o != country and not self.shared_border(country, o, tolerance_m).is_empty)


def _deg_margin(tolerance_m: float, lat_max: float) -> tuple[float, float]:
    """A (lon, lat) margin in degrees surely wider than ``tolerance_m`` near ``lat_max``."""
    dlat = tolerance_m / _M_PER_DEG_LAT
    coslat = max(math.cos(math.radians(min(abs(lat_max), 89.0))), 1e-3)
    return dlat / coslat, dlat


def _shared_border(ga: BaseGeometry, gb: BaseGeometry, tol: float) -> shapely.MultiLineString:
    empty = shapely.MultiLineString()
    ax0, ay0, ax1, ay1 = ga.bounds
    bx0, by0, bx1, by1 = gb.bounds
    mx, my = _deg_margin(2.0 * tol, max(abs(ay0), abs(ay1), abs(by0), abs(by1)))
    # R1: where a's boundary can be near b (the common bounding box, grown by the
    # margin so that no edge of a lies on R1's own edges); R2: R1 grown so that
    # cutting b to it adds no edge within the tolerance of a's boundary inside R1.
    r1 = (max(ax0, bx0) - mx, max(ay0, by0) - my, min(ax1, bx1) + mx, min(ay1, by1) + my)
    if r1[0] > r1[2] or r1[1] > r1[3]:
        return empty
    r2 = (r1[0] - 2 * mx, r1[1] - 2 * my, r1[2] + 2 * mx, r1[3] + 2 * my)
    a_line = shapely.clip_by_rect(ga.boundary, *r1)
    b_part = shapely.clip_by_rect(gb, *r2)
    if a_line.is_empty or b_part.is_empty or not shapely.dwithin(a_line, b_part, max(mx, my)):
        return empty
    lon0 = 0.5 * (r1[0] + r1[2])
    lat0 = 0.5 * (r1[1] + r1[3])
    crs = f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs"
    fwd = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    inv = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)

    def project(g: BaseGeometry, t: Transformer) -> BaseGeometry:
        return shapely.transform(g, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))

    zone = shapely.buffer(project(b_part, fwd), tol, quad_segs=4)
    near = shapely.intersection(project(a_line, fwd), zone)
    lines = [p for p in shapely.get_parts(near) if p.geom_type in ("LineString", "MultiLineString")]
    if not lines:
        return empty
    merged = shapely.line_merge(shapely.union_all(lines))
    merged = project(merged, inv)
    parts = [p for p in shapely.get_parts(merged) if p.geom_type == "LineString" and not p.is_empty]
    return shapely.MultiLineString(parts) if parts else empty


# --------------------------------------------------------------------------------------
# reading GeoJSON (also used by skyfence.geo.zones)
# --------------------------------------------------------------------------------------
def _read_json(path: Path, label: str) -> Any:
    """Parse a JSON file; errors become :class:`ConfigError` with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(label, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(label, "", f"cannot be read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(label, "", f"is not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}") from None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _features(doc: Any, label: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Check the FeatureCollection frame; return ``(key, properties, geometry)`` per feature.

    ``key`` is ``features[i]``; ``geometry`` is the raw GeoJSON geometry object.
    """
    if not isinstance(doc, dict):
        raise ConfigError(label, "", f"expected a GeoJSON FeatureCollection (a JSON object), "
                          f"got {_type_name(doc)}")
    if doc.get("type") != "FeatureCollection":
        raise ConfigError(label, "type", f"expected \"FeatureCollection\", got {doc.get('type')!r}"
                          if "type" in doc else "required key is missing "
                          "(expected \"FeatureCollection\")")
    feats = doc.get("features")
    if "features" not in doc:
        raise ConfigError(label, "features", "required key is missing")
    if not isinstance(feats, list):
        raise ConfigError(label, "features",
                          f"expected a list of features, got {_type_name(feats)}")
    if not feats:
        raise ConfigError(label, "features",
                          "expected at least one feature; the collection is empty")
    out = []
    for i, feat in enumerate(feats):
        key = f"features[{i}]"
        if not isinstance(feat, dict):
            raise ConfigError(label, key, f"expected a Feature object, got {_type_name(feat)}")
        if feat.get("type") != "Feature":
            raise ConfigError(label, f"{key}.type",
                              f"expected \"Feature\", got {feat.get('type')!r}")
        if "properties" not in feat or feat["properties"] is None:
            raise ConfigError(label, f"{key}.properties", "required key is missing")
        props = feat["properties"]
        if not isinstance(props, dict):
            raise ConfigError(label, f"{key}.properties",
                              f"expected an object, got {_type_name(props)}")
        geom = feat.get("geometry")
        if geom is None:
            raise ConfigError(label, f"{key}.geometry", "required key is missing")
        if not isinstance(geom, dict):
            raise ConfigError(label, f"{key}.geometry", f"expected a GeoJSON geometry object, "
                              f"got {_type_name(geom)}")
        out.append((key, props, geom))
    return out


def _id_prop(props: dict[str, Any], key: str, label: str, seen: dict[str, str],
             pattern: str | None = None) -> str:
    if "id" not in props or props["id"] is None:
        raise ConfigError(label, f"{key}.properties.id", "required key is missing")
    value = props["id"]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(label, f"{key}.properties.id",
                          f"expected a non-empty string, got {value!r}")
    if pattern is not None:
        if not re.fullmatch(pattern, value):
            raise ConfigError(label, f"{key}.properties.id", f"expected letters, digits and "
                              f"'_.:-' only (a slug), got {value!r}")
    if value in seen:
        raise ConfigError(label, f"{key}.properties.id", f"expected unique ids; {value!r} is "
                          f"already used by {seen[value]}")
    seen[value] = key
    return value


def _str_prop(props: dict[str, Any], name: str, key: str, label: str, default: str) -> str:
    value = props.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ConfigError(label, f"{key}.properties.{name}",
                          f"expected a string, got {value!r}")
    return value


def _check_lonlat(geom: BaseGeometry, key: str, label: str) -> None:
    x0, y0, x1, y1 = geom.bounds
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x0 < -180 or x1 > 180 \
            or y0 < -90 or y1 > 90:
        raise ConfigError(label, f"{key}.geometry.coordinates",
                          "expected [longitude, latitude] in degrees (lon -180…180, lat -90…90); "
                          f"got values spanning lon {x0:g}…{x1:g}, lat {y0:g}…{y1:g} "
                          "(projected coordinates? GeoJSON is lon/lat WGS84)")


def _geometry(raw: dict[str, Any], key: str, label: str, allowed: Sequence[str]) -> BaseGeometry:
    """Build a shapely geometry from a GeoJSON geometry object; polygons are repaired."""
    gtype = raw.get("type")
    if gtype not in allowed:
        raise ConfigError(label, f"{key}.geometry.type",
                          f"expected {' or '.join(allowed)}, got {gtype!r}")
    if "coordinates" not in raw:
        raise ConfigError(label, f"{key}.geometry.coordinates", "required key is missing")
    try:
        geom = shape(raw)
    except Exception as exc:  # shapely raises ValueError/TypeError/GEOSException/IndexError
        raise ConfigError(label, f"{key}.geometry.coordinates",
                          f"expected valid {gtype} coordinates ({exc})") from None
    if geom.is_empty:
        raise ConfigError(label, f"{key}.geometry.coordinates",
                          f"expected a non-empty {gtype}")
    _check_lonlat(geom, key, label)
    if gtype in ("Polygon", "MultiPolygon"):
        geom = _polygonal(geom)
        if geom.is_empty:
            raise ConfigError(label, f"{key}.geometry.coordinates",
                              "expected a polygon with an area; it collapses to nothing")
    return geom


def _polygonal(geom: BaseGeometry) -> BaseGeometry:
    if geom.is_valid:
        return geom
    fixed = shapely.make_valid(geom)
    parts = [q for p in shapely.get_parts(fixed) if p.geom_type in ("Polygon", "MultiPolygon")
             for q in shapely.get_parts(p)]
    if not parts:
        return shapely.MultiPolygon()
    merged = shapely.union_all(parts)
    return merged


def _builtin(name: str) -> Path:
    ref = resources.files("skyfence.geo") / "data" / name
    return Path(str(ref))


# --------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------
def load_borders(path: str | Path | None = None) -> Borders:
    """Load borders from a GeoJSON FeatureCollection (default: the shipped file).

    Raises :class:`~skyfence.errors.ConfigError` naming the file and the key
    (e.g. ``features[3].properties.id``) on any mistake.  The shipped file is read
    once per process and shared (a :class:`Borders` is immutable).
    """
    if path is None:
        return _load_builtin()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_builtin() -> Borders:
    return _load(_builtin("borders.geojson"))


def _load(path: Path) -> Borders:
    label = str(path)
    doc = _read_json(path, label)
    seen: dict[str, str] = {}
    geoms: dict[str, BaseGeometry] = {}
    names: dict[str, str] = {}
    for key, props, raw in _features(doc, label):
        cid = _id_prop(props, key, label, seen)
        names[cid] = _str_prop(props, "name", key, label, cid)
        geoms[cid] = _geometry(raw, key, label, ("Polygon", "MultiPolygon"))
    return Borders(geoms, names, source=label)
