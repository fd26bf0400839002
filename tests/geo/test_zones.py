"""Protected zones: the shipped Lithuanian sites, GeoJSON and TOML zone files."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from pyproj import Geod

from skyfence.errors import ConfigError
from skyfence.geo.borders import load_borders
from skyfence.geo.zones import CIRCLE_VERTICES, Zone, Zones, circle_polygon, load_zones

GEOD = Geod(ellps="WGS84")

EXPECTED = {  # id: (kind, radius_m)
    "vilnius-airport": ("airport", 5000.0),
    "kaunas-airport": ("airport", 5000.0),
    "gaiziunai-training-ground": ("military", 4000.0),
    "rukla": ("military", 2500.0),
    "ignalina-npp": ("nuclear", 3000.0),
    "klaipeda-lng": ("energy", 2000.0),
    "vilnius-centre": ("city", 3000.0),
}

VILNIUS_CATHEDRAL = (54.68477, 25.28793)
KAUNAS_OLD_TOWN = (54.8970, 23.8866)


@pytest.fixture(scope="module")
def zones() -> Zones:
    return load_zones()


def test_shipped_zones(zones: Zones) -> None:
    assert len(zones) == len(EXPECTED)
    assert set(zones.ids) == set(EXPECTED)
    for z in zones:
        kind, radius = EXPECTED[z.id]
        assert (z.kind, z.radius_m) == (kind, radius), z.id
        assert z.is_circle and z.name and z.source
        assert 53.8 < z.lat_deg < 56.5 and 20.9 < z.lon_deg < 26.9
    assert zones.by_id()["rukla"] is zones["rukla"] is zones[zones.ids.index("rukla")]
    assert list(zones) == list(zones.items)
    assert "rukla" in zones and "nowhere" not in zones
    with pytest.raises(KeyError, match="unknown zone id"):
        zones["nowhere"]


def test_shipped_sites_are_where_they_should_be(zones: Zones) -> None:
    borders = load_borders()
    land = [z for z in zones if z.id != "klaipeda-lng"]  # the FSRU is moored in the strait
    got = borders.country_at([z.lat_deg for z in land], [z.lon_deg for z in land])
    assert got.tolist() == ["LT"] * len(land)
    lng = zones["klaipeda-lng"]
    assert GEOD.inv(lng.lon_deg, lng.lat_deg, 21.1443, 55.7033)[2] < 6_000  # Klaipėda port
    # airports: Vilnius airport 5.9 km south of the centre, Kaunas airport ~14 km NE of Kaunas
    vno, ctr = zones["vilnius-airport"], zones["vilnius-centre"]
    assert 4_000 < GEOD.inv(vno.lon_deg, vno.lat_deg, ctr.lon_deg, ctr.lat_deg)[2] < 7_000
    kun = zones["kaunas-airport"]
    assert 10_000 < GEOD.inv(kun.lon_deg, kun.lat_deg, KAUNAS_OLD_TOWN[1],
                             KAUNAS_OLD_TOWN[0])[2] < 16_000
    # the training ground lies next to Rukla, in the Jonava district
    g, r = zones["gaiziunai-training-ground"], zones["rukla"]
    assert GEOD.inv(g.lon_deg, g.lat_deg, r.lon_deg, r.lat_deg)[2] < 8_000


def test_cathedral_in_centre_kaunas_not(zones: Zones) -> None:
    centre = zones["vilnius-centre"]
    assert centre.contains(*VILNIUS_CATHEDRAL)
    assert not centre.contains(*KAUNAS_OLD_TOWN)
    assert [z.id for z in zones.zones_at(*VILNIUS_CATHEDRAL)] == ["vilnius-centre"]
    assert zones.zones_at(*KAUNAS_OLD_TOWN) == ()


def test_circles_are_geodesic(zones: Zones) -> None:
    for z in zones:
        ring = np.asarray(z.geometry.exterior.coords)[:-1]
        assert len(ring) >= 64 and len(ring) == CIRCLE_VERTICES
        _, _, d = GEOD.inv(np.full(len(ring), z.lon_deg), np.full(len(ring), z.lat_deg),
                           ring[:, 0], ring[:, 1])
        np.testing.assert_allclose(d, z.radius_m, rtol=1e-9)
        area = abs(GEOD.geometry_area_perimeter(z.geometry)[0])
        assert area == pytest.approx(math.pi * z.radius_m**2, rel=2e-3)
        assert z.geometry.exterior.is_ccw
    # just inside / just outside the radius, due east
    z = zones["ignalina-npp"]
    lon_in, lat_in, _ = GEOD.fwd(z.lon_deg, z.lat_deg, 90.0, z.radius_m - 30.0)
    lon_out, lat_out, _ = GEOD.fwd(z.lon_deg, z.lat_deg, 90.0, z.radius_m + 30.0)
    assert z.contains([lat_in, lat_out], [lon_in, lon_out]).tolist() == [True, False]
    with pytest.raises(ValueError):
        circle_polygon(55.0, 25.0, 100.0, n=4)


def test_contains_is_vectorised(zones: Zones) -> None:
    idx = {zid: k for k, zid in enumerate(zones.ids)}
    both = (55.035, 24.372)  # between the training ground and Rukla: in both zones
    lat = np.array([VILNIUS_CATHEDRAL[0], KAUNAS_OLD_TOWN[0], both[0], np.nan, 54.6369])
    lon = np.array([VILNIUS_CATHEDRAL[1], KAUNAS_OLD_TOWN[1], both[1], 25.0, 25.2878])
    pi, zi = zones.contains(lat, lon)
    pairs = list(zip(pi.tolist(), zi.tolist(), strict=True))
    assert pairs == sorted([
        (0, idx["vilnius-centre"]),
        (2, idx["gaiziunai-training-ground"]), (2, idx["rukla"]),
        (4, idx["vilnius-airport"]),
    ])
    assert pi.dtype == np.intp and zi.dtype == np.intp
    # 2-D input indexes the flattened array; scalars work
    pi2, zi2 = zones.contains(lat[:4].reshape(2, 2), lon[:4].reshape(2, 2))
    assert list(zip(pi2.tolist(), zi2.tolist(), strict=True)) == pairs[:3]
    p, z = zones.contains(*VILNIUS_CATHEDRAL)
    assert p.tolist() == [0] and z.tolist() == [idx["vilnius-centre"]]
    # many points at once
    rng = np.random.default_rng(3)
    la = rng.uniform(54.55, 54.75, 50_000)
    lo = rng.uniform(25.15, 25.45, 50_000)
    p, z = zones.contains(la, lo)
    inside = zones["vilnius-centre"].contains(la, lo)
    assert np.array_equal(np.sort(p[z == idx["vilnius-centre"]]), np.flatnonzero(inside))


def test_zone_is_frozen(zones: Zones) -> None:
    z = zones["rukla"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        z.radius_m = 1.0  # type: ignore[misc]
    assert isinstance(z, Zone)


# --------------------------------------------------------------------------------------
# user files
# --------------------------------------------------------------------------------------
def _point(props: dict, lon: float = 25.0, lat: float = 54.5) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _write(tmp_path, doc, name: str = "zones.geojson"):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1), encoding="utf-8")
    return path


def test_geojson_polygon_zone(tmp_path) -> None:
    square = [[[25.0, 54.0], [25.1, 54.0], [25.1, 54.1], [25.0, 54.1], [25.0, 54.0]]]
    path = _write(tmp_path, {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "range-7", "kind": "military"},
         "geometry": {"type": "Polygon", "coordinates": square}},
        _point({"id": "hq", "name": "HQ", "kind": "government", "radius_m": 800}),
    ]})
    zs = load_zones(path)
    area = zs["range-7"]
    assert math.isnan(area.radius_m) and not area.is_circle
    assert area.lat_deg == pytest.approx(54.05) and area.lon_deg == pytest.approx(25.05)
    assert area.name == "range-7"
    assert area.contains(54.01, 25.09) and not area.contains(54.01, 25.11)
    assert zs["hq"].radius_m == 800.0 and zs["hq"].name == "HQ"


def test_toml_zones(tmp_path) -> None:
    path = _write(tmp_path, """
name = "test sites"
[[zone]]
id = "vno"
name = "Vilnius airport"
kind = "airport"
lat_deg = 54.63694
lon_deg = 25.28778
radius_m = 5000.0

[[zone]]
id = "plant"
kind = "energy"
lat_deg = 54.9
lon_deg = 23.9
radius_m = 1500
source = "survey"
""", "zones.toml")
    zs = load_zones(path)
    assert zs.ids == ("vno", "plant")
    assert zs["plant"].radius_m == 1500.0 and zs["plant"].source == "survey"
    assert zs["plant"].name == "plant"
    assert zs["vno"].contains(54.63694, 25.28778)
    assert zs.source == str(path)


@pytest.mark.parametrize(("body", "key", "text"), [
    ("[[zone]]\nid = 'a'\nkind = 'airport'\nlat_deg = 54.0\nlon_deg = 25.0\nradius_m = 100.0\n"
     "[[zone]]\nid = 'b'\nkind = 'city'\nlat_deg = 54.0\nlon_deg = 25.0\nradius_m = -5.0\n",
     "zone[1].radius_m", "expected a positive number of metres; got -5.0"),
    ("[[zone]]\nid = 'a'\nkind = 'airport'\nlat_deg = 54.0\nlon_deg = 25.0\nradius_m = 100.0\n"
     "colour = 'red'\n", "zone[0].colour", "unknown key"),
    ("[[zone]]\nid = 'a'\nkind = 'harbour'\nlat_deg = 54.0\nlon_deg = 25.0\nradius_m = 100.0\n",
     "zone[0].kind", "expected input should be 'airport'"),
    ("[[zone]]\nid = 'a'\nkind = 'city'\nlat_deg = 94.0\nlon_deg = 25.0\nradius_m = 100.0\n",
     "zone[0].lat_deg", "expected input should be less than or equal to 90"),
    ("[[zone]]\nid = 'a'\nkind = 'city'\nlon_deg = 25.0\nradius_m = 100.0\n",
     "zone[0].lat_deg", "required key is missing"),
    ("title = 'no zones'\n", "zone", "required key is missing"),
    ("zone = []\n", "zone", "at least one [[zone]] table"),
    ("[[zone]]\nid = 'a'\nkind = 'city'\nlat_deg = 54.0\nlon_deg = 25.0\nradius_m = 100.0\n"
     "[[zone]]\nid = 'a'\nkind = 'city'\nlat_deg = 54.1\nlon_deg = 25.0\nradius_m = 100.0\n",
     "", "unique zone ids; 'a' appears twice"),
    ("[[zone]\nid = 'a'\n", "", "is not valid TOML"),
])
def test_bad_toml_zones(tmp_path, body: str, key: str, text: str) -> None:
    path = _write(tmp_path, body, "my-zones.toml")
    with pytest.raises(ConfigError) as info:
        load_zones(path)
    err = info.value
    assert err.key == key
    assert str(path) in str(err) and text in str(err)


def _fc(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


OK = {"id": "ok", "kind": "city", "radius_m": 1000}


@pytest.mark.parametrize(("doc", "key", "text"), [
    (_fc(_point(OK), _point({"id": "b", "kind": "city", "radius_m": -20})),
     "features[1].properties.radius_m", "expected a positive number of metres; got -20"),
    (_fc(_point(OK), _point({"id": "b", "kind": "city", "radius_m": "5 km"})),
     "features[1].properties.radius_m", "expected a positive number of metres; got '5 km'"),
    (_fc(_point({"id": "b", "kind": "city"})),
     "features[0].properties.radius_m", "required key is missing"),
    (_fc(_point({"id": "b", "radius_m": 10})), "features[0].properties.kind",
     "required key is missing"),
    (_fc(_point({"id": "b", "kind": "stadium", "radius_m": 10})),
     "features[0].properties.kind", "expected one of airport, military, nuclear"),
    (_fc(_point({"kind": "city", "radius_m": 10})), "features[0].properties.id",
     "required key is missing"),
    (_fc(_point({"id": "has space", "kind": "city", "radius_m": 10})),
     "features[0].properties.id", "expected letters, digits and '_.:-' only"),
    (_fc(_point(OK), _point(OK)), "features[1].properties.id", "expected unique ids"),
    (_fc(_point(OK, lon=500_000.0, lat=6_100_000.0)), "features[0].geometry.coordinates",
     "expected [longitude, latitude] in degrees"),
    (_fc({"type": "Feature", "properties": OK,
          "geometry": {"type": "LineString", "coordinates": [[25, 54], [25.1, 54]]}}),
     "features[0].geometry.type", "expected Point or Polygon or MultiPolygon, got 'LineString'"),
    (_fc({"type": "Feature", "properties": OK,
          "geometry": {"type": "Polygon",
                       "coordinates": [[[25, 54], [25.1, 54], [25.1, 54.1], [25, 54]]]}}),
     "features[0].properties.radius_m", "expected no radius_m for a Polygon/MultiPolygon zone"),
    (_fc(), "features", "expected at least one feature"),
    ('{"type": "FeatureCollection", "features": [\n', "", "is not valid JSON"),
])
def test_bad_geojson_zones(tmp_path, doc, key: str, text: str) -> None:
    path = _write(tmp_path, doc, "my-zones.geojson")
    with pytest.raises(ConfigError) as info:
        load_zones(path)
    err = info.value
    assert err.key == key
    assert str(path) in str(err) and text in str(err)
    if key:
        assert f"key '{key}'" in str(err)
