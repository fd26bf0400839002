"""The built-in deployment ``lt-east-border``: loads, sits in Lithuania, covers what it should."""

from __future__ import annotations

from collections import Counter
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

from skyfence.config.sensors import SensorDeployment, load_sensors
from skyfence.geo.borders import Borders, load_borders
from skyfence.geo.zones import load_zones

GEOD = Geod(ellps="WGS84")
PATH = Path(str(resources.files("skyfence.sim") / "deployments" / "lt-east-border.toml"))
# LKS94 / Lithuania TM: metres, for distances to the neighbours' territory
LKS94 = Transformer.from_crs("EPSG:4326", "EPSG:3346", always_xy=True)


@pytest.fixture(scope="module")
def dep() -> SensorDeployment:
    return load_sensors(PATH)


@pytest.fixture(scope="module")
def borders() -> Borders:
    return load_borders()


def _to_m(g: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(g, lambda c: np.column_stack(LKS94.transform(c[:, 0], c[:, 1])))


@pytest.fixture(scope="module")
def foreign_m(borders: Borders) -> dict[str, shapely.Geometry]:
    """Neighbours' territory near Lithuania, in LKS94 metres."""
    out = {}
    for cid in ("BY", "LV", "PL", "RU-KGD"):
        g = _to_m(shapely.clip_by_rect(borders.geometry(cid), 19.5, 53.0, 28.5, 57.5))
        shapely.prepare(g)
        out[cid] = g
    return out


def _dist_m(foreign: shapely.Geometry, lat: float, lon: float) -> float:
    return float(shapely.distance(foreign, shapely.Point(*LKS94.transform(lon, lat))))


def test_loads_with_the_expected_mix(dep: SensorDeployment) -> None:
    assert dep.name == "lt-east-border"
    kinds = Counter(s.kind for s in dep.sensor)
    assert 8 <= kinds["radar3d"] <= 12
    assert 2 <= kinds["radar2d"] <= 3
    assert kinds["rf_df"] >= 4 and kinds["acoustic"] >= 3 and kinds["eoir"] >= 4
    assert kinds["remote_id"] >= 3 and kinds["adsb"] >= 1
    for s in dep.sensor:
        if s.kind == "radar3d":
            assert 15_000 <= s.max_range_m <= 25_000 and s.scan_period_s == 1.0
            assert 5.0 <= s.sigma_range_m <= 15.0
            assert 0.2 <= s.sigma_azimuth_deg <= 0.5 and 0.2 <= s.sigma_elevation_deg <= 0.5
            assert s.pd90_rcs_dbsm == -20.0 and 6_000 <= s.pd90_range_m <= 10_000
        elif s.kind == "radar2d":
            assert 60_000 <= s.max_range_m <= 100_000 and 4.0 <= s.scan_period_s <= 10.0
        elif s.kind == "eoir":
            assert s.fov_azimuth_deg[1] < 180.0
        elif s.kind == "adsb":
            assert s.max_range_m == 250_000
        # ellipsoidal antenna heights: terrain 0–300 m + geoid ~25 m + a mast
        assert 25.0 < s.alt_m < 400.0, s.id
        assert s.name


def test_every_site_is_in_lithuania(dep: SensorDeployment, borders: Borders) -> None:
    lat = np.array([s.lat_deg for s in dep.sensor])
    lon = np.array([s.lon_deg for s in dep.sensor])
    where = borders.country_at(lat, lon)
    outside = [(s.id, str(c)) for s, c in zip(dep.sensor, where, strict=True) if c != "LT"]
    assert not outside


def test_sites_keep_clear_of_the_border(dep: SensorDeployment, borders: Borders,
                                        foreign_m: dict[str, shapely.Geometry]) -> None:
    """No site is within 2 km of a neighbour; the border line sites are 2–10 km in."""
    near_by = []
    for s in dep.sensor:
        d = {cid: _dist_m(g, s.lat_deg, s.lon_deg) for cid, g in foreign_m.items()}
        assert min(d.values()) >= 2_000.0, (s.id, d)
        if d["BY"] <= 10_000.0:
            near_by.append(s)
    radars = [s for s in near_by if s.kind == "radar3d"]
    assert len(radars) >= 8
    # they are spread along the whole border, Latvian tripoint to Polish tripoint
    lats = sorted(s.lat_deg for s in radars)
    assert lats[0] < 54.05 and lats[-1] > 55.5


def test_border_cameras_look_across_the_border(dep: SensorDeployment, borders: Borders) -> None:
    for s in dep.sensor:
        if s.kind != "eoir" or "LNG" in s.name:
            continue
        centre, _ = s.fov_azimuth_deg
        d = np.linspace(0.0, s.max_range_m, 60)
        lon, lat, _ = GEOD.fwd(np.full(d.size, s.lon_deg), np.full(d.size, s.lat_deg),
                               np.full(d.size, centre), d)
        assert "BY" in set(borders.country_at(lat, lon).tolist()), s.id


def _covered(dep: SensorDeployment, kind: str, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    n = np.zeros(lat.shape, int)
    for s in dep.sensor:
        if s.kind != kind:
            continue
        _, _, d = GEOD.inv(np.full(lat.size, s.lon_deg), np.full(lat.size, s.lat_deg), lon, lat)
        n += d <= s.max_range_m
    return n


def test_radar_coverage(dep: SensorDeployment, borders: Borders) -> None:
    # the whole Lithuania–Belarus border is inside the long-range radars' reach
    pts = shapely.get_coordinates(shapely.segmentize(borders.shared_border("LT", "BY"), 0.01))
    assert _covered(dep, "radar2d", pts[:, 1], pts[:, 0]).min() >= 1
    assert (_covered(dep, "radar3d", pts[:, 1], pts[:, 0]) >= 1).mean() > 0.6
    # the flagship scenario's corridor: Medininkai → south of Vilnius → Jonava → Kaunas
    # airport, every kilometre under at least one 3D radar and one long-range radar
    way = [(54.54, 25.69), (54.60, 25.25), (55.01, 24.36), (54.964, 24.085)]
    legs = list(zip(way[:-1], way[1:], strict=True))
    lat = np.concatenate([np.linspace(a[0], b[0], 100) for a, b in legs])
    lon = np.concatenate([np.linspace(a[1], b[1], 100) for a, b in legs])
    assert _covered(dep, "radar3d", lat, lon).min() >= 1
    assert _covered(dep, "radar2d", lat, lon).min() >= 1
    # every protected zone is covered by a 3D radar and a Remote ID receiver
    for z in load_zones():
        for kind in ("radar3d", "remote_id"):
            assert _covered(dep, kind, np.array([z.lat_deg]), np.array([z.lon_deg]))[0] >= 1, \
                (z.id, kind)
