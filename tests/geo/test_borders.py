"""State borders: the shipped OpenStreetMap extract and user GeoJSON files."""

from __future__ import annotations

import json
import time
from importlib import resources

import numpy as np
import pytest
import shapely
import shapely.ops
from pyproj import Geod

from skyfence.errors import ConfigError
from skyfence.geo.borders import Borders, load_borders

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def borders() -> Borders:
    return load_borders()


# --------------------------------------------------------------------------------------
# the shipped data
# --------------------------------------------------------------------------------------
def test_shipped_countries(borders: Borders) -> None:
    assert borders.ids == ("BY", "LT", "LV", "PL", "RU-KGD")
    assert borders.name("LT") == "Lithuania"
    assert borders.name("BY") == "Belarus"
    assert "Kaliningrad" in borders.name("RU-KGD")
    assert len(borders) == 5 and "LT" in borders and "RU" not in borders
    lon0, lat0, lon1, lat1 = borders.bounds
    assert 14 < lon0 < 15 and 32 < lon1 < 33 and 49 < lat0 < 49.1 and 58 < lat1 < 58.2
    for cid in borders:
        g = borders.geometry(cid)
        assert g.geom_type in ("Polygon", "MultiPolygon") and g.is_valid


def test_shipped_file_attribution_and_order() -> None:
    data = resources.files("skyfence.geo") / "data"
    doc = json.loads((data / "borders.geojson").read_text(encoding="utf-8"))
    ids = [f["properties"]["id"] for f in doc["features"]]
    assert ids == sorted(ids)
    for f in doc["features"]:
        assert "OpenStreetMap" in f["properties"]["source"]
        assert "ODbL" in f["properties"]["source"]
    notice = (data / "NOTICE").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in notice
    assert "https://www.openstreetmap.org/copyright" in notice
    assert "extract_borders.py" in notice


def test_lithuania_belarus_border_length(borders: Borders) -> None:
    lengths = {pair: borders.border_length_m(*pair) / 1000.0
               for pair in [("LT", "BY"), ("LT", "LV"), ("LT", "PL"), ("LT", "RU-KGD"),
                            ("RU-KGD", "PL")]}
    print("measured border lengths (km):",
          ", ".join(f"{a}–{b} {km:.1f}" for (a, b), km in lengths.items()))
    # The territory is maritime (land, internal waters, territorial sea), so a border
    # now runs through border lakes and rivers, across the Curonian Lagoon and out to
    # sea to the 12-nm limit.  (With the land-only data LT–BY measured 653 km, LT–LV
    # 571 km and LT–RU-KGD 215 km: the stretches through lakes, along wide rivers, in
    # the lagoon and at sea were missing.)
    assert 640.0 <= lengths[("LT", "BY")] <= 700.0  # official 679 km; measured 667
    assert 580.0 <= lengths[("LT", "LV")] <= 625.0  # official 588 km + ~22 km at sea; 603
    assert 95.0 <= lengths[("LT", "PL")] <= 110.0  # official 104 km
    # official 273 km including the lagoon, + ~22 km at sea; measured 294
    assert 270.0 <= lengths[("LT", "RU-KGD")] <= 310.0
    # measured from either side, the same border
    assert borders.border_length_m("BY", "LT") == pytest.approx(
        borders.border_length_m("LT", "BY"), rel=0.02)


def test_shared_border_is_lonlat_lines(borders: Borders) -> None:
    line = borders.shared_border("LT", "BY")
    assert line.geom_type == "MultiLineString" and not line.is_empty
    lon0, lat0, lon1, lat1 = line.bounds
    assert 23.4 < lon0 < 23.6 and 26.6 < lon1 < 26.9  # Polish tripoint … east of Adutiškis
    assert 53.8 < lat0 < 54.0 and 55.6 < lat1 < 55.8  # south of Druskininkai … Latvian tripoint
    # every vertex lies within the tolerance of both countries
    pts = shapely.points(shapely.get_coordinates(line)[::50])
    for cid in ("LT", "BY"):
        d_deg = shapely.distance(borders.geometry(cid), pts)
        assert np.all(d_deg < 100.0 / 111_000.0 / np.cos(np.radians(56.0)))
    # countries that do not touch
    assert borders.shared_border("BY", "RU-KGD").is_empty
    assert borders.border_length_m("LV", "PL") == 0.0
    # the tolerance widens the border where it follows rivers
    assert borders.border_length_m("LT", "RU-KGD", tolerance_m=200.0) > \
        borders.border_length_m("LT", "RU-KGD")
    with pytest.raises(ValueError):
        borders.shared_border("LT", "LT")
    with pytest.raises(ValueError):
        borders.shared_border("LT", "BY", tolerance_m=-5.0)


def test_kaliningrad_is_its_own_polygon_between_lt_and_pl(borders: Borders) -> None:
    kgd = borders.geometry("RU-KGD")
    lon0, lat0, lon1, lat1 = kgd.bounds
    assert 19.0 <= lon0 and lon1 <= 23.0 and 54.2 <= lat0 and lat1 <= 55.4
    area_km2 = abs(GEOD.geometry_area_perimeter(kgd)[0]) / 1e6
    # 15 125 km² of land and lagoon water + ~3 100 km² of territorial sea (18 260 km²
    # measured; the land-only data had 13 400 km²)
    assert 17_500 < area_km2 < 19_000
    assert borders.neighbours("RU-KGD") == ("LT", "PL")
    assert borders.border_length_m("RU-KGD", "LT") > 150_000
    assert borders.border_length_m("RU-KGD", "PL") > 150_000
    # Lithuania lies to its east/north-east, Poland to its south
    c = kgd.centroid
    assert borders.shared_border("RU-KGD", "LT").centroid.x > c.x
    assert borders.shared_border("RU-KGD", "PL").centroid.y < c.y
    # and the three meet at the Vištytis tripoint
    tri = shapely.intersection(borders.shared_border("LT", "RU-KGD").buffer(0.002),
                               borders.shared_border("LT", "PL").buffer(0.002))
    assert not tri.is_empty
    assert tri.centroid.distance(shapely.Point(22.79, 54.38)) < 0.05


# (country a, country b, a known point near their border (lat, lon), what it is)
BORDER_POINTS = [
    ("LT", "BY", 54.535, 25.695, "Medininkai–Kamenny Log crossing (A3 Vilnius–Minsk)"),
    ("LT", "BY", 54.275, 25.430, "Šalčininkai–Benyakoni crossing area"),
    ("LT", "LV", 56.260, 24.420, "Saločiai–Grenctāle (Via Baltica)"),
    ("LT", "PL", 54.3083, 23.1194, "Kalvarija–Budzisko (Via Baltica), pl.wikipedia"),
    ("LT", "RU-KGD", 54.640, 22.750, "Kybartai–Chernyshevskoye crossing"),
]


@pytest.mark.parametrize(("a", "b", "lat", "lon", "what"), BORDER_POINTS,
                         ids=[p[4].split(" ")[0] for p in BORDER_POINTS])
def test_200_m_either_side_of_the_border(borders: Borders, a: str, b: str, lat: float,
                                         lon: float, what: str) -> None:
    line = borders.shared_border(a, b)
    ref = shapely.Point(lon, lat)
    part = min(line.geoms, key=ref.distance)
    s = part.project(ref)
    q = part.interpolate(s)
    _, _, d_ref = GEOD.inv(lon, lat, q.x, q.y)
    assert d_ref < 2_000.0, f"{what}: nearest border point {d_ref:.0f} m away"
    # the local direction of the border, then 200 m along the normal each way
    p1 = part.interpolate(max(s - 0.001, 0.0))
    p2 = part.interpolate(min(s + 0.001, part.length))
    az, _, _ = GEOD.inv(p1.x, p1.y, p2.x, p2.y)
    lons, lats, _ = GEOD.fwd([q.x, q.x], [q.y, q.y], [az + 90.0, az - 90.0], [200.0, 200.0])
    sides = borders.country_at(lats, lons)
    assert sorted(sides.tolist()) == sorted([a, b]), f"{what}: {sides}"
    # 2 km inland on a's side is still a
    side_a = 0 if sides[0] == a else 1
    lon_a, lat_a, _ = GEOD.fwd(q.x, q.y, az + (90.0 if side_a == 0 else -90.0), 2_000.0)
    assert borders.country_at(lat_a, lon_a) == a


CITIES = [
    ("Vilnius", 54.6872, 25.2797, "LT"),
    ("Kaunas", 54.8985, 23.9036, "LT"),
    ("Klaipėda", 55.7033, 21.1443, "LT"),
    ("Minsk", 53.9006, 27.5590, "BY"),
    ("Grodno", 53.6694, 23.8131, "BY"),
    ("Riga", 56.9496, 24.1052, "LV"),
    ("Daugavpils", 55.8750, 26.5356, "LV"),
    ("Warsaw", 52.2297, 21.0122, "PL"),
    ("Suwałki", 54.1118, 22.9309, "PL"),
    ("Kaliningrad", 54.7104, 20.4522, "RU-KGD"),
    ("Chernyakhovsk", 54.6333, 21.8167, "RU-KGD"),
    ("Baltic Sea off Nida", 55.30, 20.50, ""),
    ("Baltic Sea, Gotland basin", 57.00, 19.50, ""),
    # the lagoon is internal waters, split between LT and RU-KGD (was "" with land data)
    ("Curonian Lagoon (Lithuanian part)", 55.30, 21.15, "LT"),
    ("Curonian Lagoon (Russian part)", 55.10, 21.00, "RU-KGD"),
    ("Lake Asveja (enclosed lake, Lithuania)", 55.05, 25.50, "LT"),
    ("Moscow (outside the extract)", 55.7558, 37.6173, ""),
]


def test_known_places(borders: Borders) -> None:
    lat = np.array([c[1] for c in CITIES])
    lon = np.array([c[2] for c in CITIES])
    got = borders.country_at(lat, lon)
    want = np.array([c[3] for c in CITIES])
    wrong = [(c[0], g) for c, g in zip(CITIES, got, strict=True) if g != c[3]]
    assert not wrong
    assert np.array_equal(got, want)


def test_country_at_is_vectorised(borders: Borders) -> None:
    rng = np.random.default_rng(7)
    lat = rng.uniform(53.0, 57.0, 100_000)
    lon = rng.uniform(19.0, 29.0, 100_000)
    t0 = time.perf_counter()
    got = borders.country_at(lat, lon)
    elapsed = time.perf_counter() - t0
    assert got.shape == (100_000,)
    assert got.dtype.kind == "U"
    assert set(np.unique(got)) == {"", "BY", "LT", "LV", "PL", "RU-KGD"}
    assert elapsed < 5.0
    # the same answers in any shape, and broadcasting
    grid = borders.country_at(lat[:600].reshape(20, 30), lon[:600].reshape(20, 30))
    assert grid.shape == (20, 30)
    assert np.array_equal(grid.ravel(), got[:600])
    # (20.0°E at this latitude, used before, is the Vistula Lagoon: Russian internal
    # waters now that the data is maritime, and Polish waters fill the Gulf of Gdańsk
    # west of it; 40°E is mainland Russia, outside the extract)
    row = borders.country_at(54.6872, np.array([25.2797, 27.559, 40.0]))
    assert row.tolist() == ["LT", "BY", ""]
    # scalars give a scalar; NaN is nowhere
    one = borders.country_at(54.6872, 25.2797)
    assert np.ndim(one) == 0 and one == "LT"
    assert borders.country_at(np.nan, 25.0) == ""
    assert borders.contains("LT", [54.6872, 53.9006], [25.2797, 27.559]).tolist() == [True, False]


TWELVE_NM_M = 12 * 1852.0
# points where the LT–BY, LT–PL and LT–LV borders ran in the land-only data
# (countries-land-10m, before the switch to maritime data): the nearest border
# vertex to Medininkai (tests/airspace/test_events.py), Kalvarija–Budzisko and
# Saločiai–Grenctāle
LAND_BORDER_POINTS = [
    ("LT", "BY", 54.504973, 25.655608),
    ("LT", "PL", 54.308450, 23.119353),
    ("LT", "LV", 56.262158, 24.421208),
]


def test_territory_is_maritime(borders: Borders) -> None:
    """National airspace: land + internal waters + territorial sea (12 nm)."""
    # The Curonian Lagoon south of Klaipėda port, water 1.2 km from either shore, and
    # the Klaipėda LNG terminal's berth (water, 280 m from the quay), were in no
    # country with land data.  (55.68 N 21.13 E, a few km north, is land: the
    # Curonian Spit at Smiltynė.)
    assert borders.country_at(55.62, 21.15) == "LT"
    assert borders.country_at(55.66451, 21.13762) == "LT"
    # the Klaipėda strait between Smiltynė and the port
    assert borders.country_at(55.705, 21.115) == "LT"
    # west from the beach at Palanga: 10 km out is Lithuania's territorial sea, which
    # ends 12 nm (22.2 km) out; 40 km out is international airspace
    coast_lat, coast_lon = 55.92, 21.0495
    dists = np.array([10_000.0, 21_000.0, 24_000.0, 40_000.0])
    lons, lats, _ = GEOD.fwd(np.full(4, coast_lon), np.full(4, coast_lat),
                             np.full(4, 270.0), dists)
    assert borders.country_at(lats, lons).tolist() == ["LT", "LT", "", ""]
    assert dists[1] < TWELVE_NM_M < dists[2]
    # the land borders are where the land data had them
    for a, b, lat, lon in LAND_BORDER_POINTS:
        line = borders.shared_border(a, b)
        q = shapely.ops.nearest_points(line, shapely.Point(lon, lat))[0]
        assert GEOD.inv(lon, lat, q.x, q.y)[2] < 5.0, (a, b)
    # 300 m either side of the Medininkai border point: Lithuania to the north-west,
    # Belarus to the south-east
    lat, lon = LAND_BORDER_POINTS[0][2:]
    lons, lats, _ = GEOD.fwd([lon, lon], [lat, lat], [300.0, 120.0], [300.0, 300.0])
    assert borders.country_at(lats, lons).tolist() == ["LT", "BY"]


def test_unknown_country_and_immutability(borders: Borders) -> None:
    with pytest.raises(KeyError, match="unknown country id 'XX'"):
        borders.geometry("XX")
    with pytest.raises(AttributeError):
        borders.ids = ("LT",)  # type: ignore[misc]
    assert load_borders() is borders  # the shipped file is loaded once


# --------------------------------------------------------------------------------------
# user files
# --------------------------------------------------------------------------------------
def _square(lon0: float, lat0: float, size: float = 0.1) -> list:
    return [[[lon0, lat0], [lon0 + size, lat0], [lon0 + size, lat0 + size],
             [lon0, lat0 + size], [lon0, lat0]]]


def _fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _feat(props: dict | None, geom: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geom}


def _write(tmp_path, doc, name: str = "countries.geojson"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1), encoding="utf-8")
    return path


def test_user_file(tmp_path) -> None:
    bowtie = [[[10.0, 50.0], [10.1, 50.1], [10.1, 50.0], [10.0, 50.1], [10.0, 50.0]]]
    path = _write(tmp_path, _fc(
        _feat({"id": "A", "name": "Aland", "colour": "red"},
              {"type": "Polygon", "coordinates": _square(10.0, 50.0)}),
        _feat({"id": "B"}, {"type": "MultiPolygon", "coordinates": [_square(10.1, 50.0)]}),
        _feat({"id": "C"}, {"type": "Polygon", "coordinates": bowtie}),
    ))
    b = load_borders(path)
    assert b.ids == ("A", "B", "C") and b.name("A") == "Aland" and b.name("B") == "B"
    assert b.geometry("C").is_valid  # the bow-tie is repaired
    # A wins where A and C overlap (file order)
    assert b.country_at([50.05, 50.05, 50.05], [10.02, 10.15, 10.5]).tolist() == ["A", "B", ""]
    # A and B share the meridian 10.1°E from 50.0 to 50.1°N: 11.1 km
    expected = GEOD.inv(10.1, 50.0, 10.1, 50.1)[2]
    assert b.border_length_m("A", "B") == pytest.approx(expected, rel=0.01)
    assert b.bounds == pytest.approx((10.0, 50.0, 10.2, 50.1))


@pytest.mark.parametrize(("doc", "key", "text"), [
    ('{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",, }]}', "",
     "is not valid JSON: Expecting property name enclosed in double quotes at line 3 column"),
    ([1, 2], "", "expected a GeoJSON FeatureCollection (a JSON object), got a list"),
    ({"type": "Feature", "features": []}, "type", "expected \"FeatureCollection\", got 'Feature'"),
    ({"type": "FeatureCollection"}, "features", "required key is missing"),
    (_fc(), "features", "expected at least one feature; the collection is empty"),
    (_fc(_feat({"id": "A"}, {"type": "Polygon", "coordinates": _square(0, 0)}),
         _feat({"name": "nameless"}, {"type": "Polygon", "coordinates": _square(1, 0)})),
     "features[1].properties.id", "required key is missing"),
    (_fc(_feat({"id": "A"}, {"type": "Polygon", "coordinates": _square(0, 0)}),
         _feat({"id": "A"}, {"type": "Polygon", "coordinates": _square(1, 0)})),
     "features[1].properties.id", "expected unique ids; 'A' is already used by features[0]"),
    (_fc(_feat({"id": 7}, {"type": "Polygon", "coordinates": _square(0, 0)})),
     "features[0].properties.id", "expected a non-empty string, got 7"),
    (_fc(_feat({"id": "A"}, {"type": "LineString", "coordinates": [[0, 0], [1, 1]]})),
     "features[0].geometry.type", "expected Polygon or MultiPolygon, got 'LineString'"),
    (_fc(_feat({"id": "A"}, None)), "features[0].geometry", "required key is missing"),
    (_fc(_feat(None, {"type": "Polygon", "coordinates": _square(0, 0)})),
     "features[0].properties", "required key is missing"),
    (_fc(_feat({"id": "A"}, {"type": "Polygon", "coordinates": [[[0, 0], [1]]]})),
     "features[0].geometry.coordinates", "expected valid Polygon coordinates"),
    (_fc(_feat({"id": "A"}, {"type": "Polygon",
                             "coordinates": _square(500_000.0, 6_000_000.0, 1000.0)})),
     "features[0].geometry.coordinates", "expected [longitude, latitude] in degrees"),
    (_fc({"type": "Feature", "id": "A"}), "features[0].properties", "required key is missing"),
    (_fc("not a feature"), "features[0]", "expected a Feature object, got a string"),
])
def test_bad_geojson(tmp_path, doc, key: str, text: str) -> None:
    path = _write(tmp_path, doc, "my-borders.geojson")
    with pytest.raises(ConfigError) as info:
        load_borders(path)
    err = info.value
    assert err.key == key
    assert str(path) in str(err)
    assert text in str(err)
    if key:
        assert f"key '{key}'" in str(err)


def test_missing_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="nope.geojson: file not found"):
        load_borders(tmp_path / "nope.geojson")
