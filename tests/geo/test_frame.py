"""Tests of skyfence.geo.frame.LocalFrame: aeqd map plane, velocities and tangent ENU."""

from __future__ import annotations

import copy
import dataclasses
import doctest
import pickle

import numpy as np
import pyproj
import pytest

from skyfence.geo import frame as frame_module
from skyfence.geo.frame import LocalFrame
from skyfence.geo.geodesy import (
    enu2geodetic,
    geodesic_inverse,
    geodetic2ecef,
    geodetic2enu,
)

M_PER_DEG = 111_700.0


def angle_diff_deg(a, b) -> np.ndarray:
    return (np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0


def random_map_points(n: int, radius_m: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-radius_m, radius_m, n), rng.uniform(-radius_m, radius_m, n)


FRAMES = [
    LocalFrame(55.0, 24.0, 120.0),
    LocalFrame(0.0, 0.0),
    LocalFrame(-33.9, 151.2, 30.0),
    LocalFrame(64.0, 179.9),  # map crosses the antimeridian
]


def test_docstring_examples() -> None:
    result = doctest.testmod(frame_module)
    assert result.attempted >= 10
    assert result.failed == 0


# ----------------------------------------------------------------- the object


def test_frame_is_frozen_hashable_and_picklable() -> None:
    f = LocalFrame(55, 24, 100)
    assert (f.lat0_deg, f.lon0_deg, f.alt0_m) == (55.0, 24.0, 100.0)
    assert isinstance(f.lat0_deg, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.lat0_deg = 56.0  # type: ignore[misc]
    assert f == LocalFrame(55.0, 24.0, 100.0)
    assert f != LocalFrame(55.0, 24.0, 0.0)
    assert hash(f) == hash(LocalFrame(55.0, 24.0, 100.0))
    assert "_transformer" not in repr(f)
    for g in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert g == f
        np.testing.assert_allclose(g.to_map(55.5, 24.5), f.to_map(55.5, 24.5), rtol=0, atol=0)


@pytest.mark.parametrize(
    "args", [(91.0, 0.0), (-90.5, 0.0), (np.nan, 0.0), (0.0, np.inf), (0.0, 0.0, np.nan), ("x", 0)]
)
def test_invalid_origin_rejected(args) -> None:
    with pytest.raises(ValueError, match="LocalFrame"):
        LocalFrame(*args)


# ------------------------------------------------------------------- map plane


@pytest.mark.parametrize("f", FRAMES, ids=repr)
def test_map_round_trip_sub_mm(f: LocalFrame) -> None:
    x, y = random_map_points(20_000, 400_000.0, seed=1)
    lat, lon = f.from_map(x, y)
    x2, y2 = f.to_map(lat, lon)
    assert np.max(np.hypot(x2 - x, y2 - y)) < 1e-3
    lat2, lon2 = f.from_map(x2, y2)
    err = np.hypot((lat2 - lat) * M_PER_DEG, angle_diff_deg(lon2, lon) * M_PER_DEG)
    assert np.max(err) < 1e-3
    assert np.all((lon >= -180.0) & (lon <= 180.0))


@pytest.mark.parametrize("f", FRAMES, ids=repr)
def test_map_is_equidistant_from_the_centre(f: LocalFrame) -> None:
    # aeqd: distance and azimuth from the centre are the true geodesic ones.
    x, y = random_map_points(5_000, 300_000.0, seed=2)
    lat, lon = f.from_map(x, y)
    s, az, _ = geodesic_inverse(f.lat0_deg, f.lon0_deg, lat, lon)
    np.testing.assert_allclose(s, np.hypot(x, y), rtol=1e-9)
    assert np.max(np.abs(angle_diff_deg(az, np.degrees(np.arctan2(x, y))))) < 1e-7
    x0, y0 = f.to_map(f.lat0_deg, f.lon0_deg)
    assert abs(float(x0)) < 1e-9 and abs(float(y0)) < 1e-9


def test_map_radians_match_degrees() -> None:
    f = FRAMES[0]
    x, y = f.to_map(np.radians(55.3), np.radians(24.9), deg=False)
    xd, yd = f.to_map(55.3, 24.9)
    np.testing.assert_allclose([x, y], [xd, yd], rtol=0, atol=1e-9)
    lat, lon = f.from_map(xd, yd, deg=False)
    np.testing.assert_allclose(np.degrees([lat, lon]), [55.3, 24.9], rtol=0, atol=1e-12)


def test_map_transformer_is_wgs84_aeqd() -> None:
    f = LocalFrame(55.0, 24.0)
    ref = pyproj.Transformer.from_crs(
        "EPSG:4326", "+proj=aeqd +lat_0=55 +lon_0=24 +ellps=WGS84 +units=m", always_xy=True
    )
    lat = np.array([54.0, 55.5, 57.0])
    lon = np.array([22.0, 24.5, 27.0])
    rx, ry = ref.transform(lon, lat)
    x, y = f.to_map(lat, lon)
    np.testing.assert_allclose([x, y], [rx, ry], rtol=0, atol=1e-6)


# ------------------------------------------------------------------ velocities


@pytest.mark.parametrize("f", FRAMES, ids=repr)
def test_map_velocity_matches_geodesic_between_positions_1s_apart(f: LocalFrame) -> None:
    n = 3_000
    x, y = random_map_points(n, 300_000.0, seed=3)
    rng = np.random.default_rng(4)
    vx = rng.uniform(-80.0, 80.0, n)
    vy = rng.uniform(-80.0, 80.0, n)
    ve, vn = f.map_velocity_to_enu(x, y, vx, vy)
    # Two positions 1 s apart, centred on the evaluation point.
    lat1, lon1 = f.from_map(x - vx / 2.0, y - vy / 2.0)
    lat2, lon2 = f.from_map(x + vx / 2.0, y + vy / 2.0)
    s, az12, az21 = geodesic_inverse(lat1, lon1, lat2, lon2)
    # Heading at the midpoint: mean of the forward azimuths at both ends.
    heading = az12 + angle_diff_deg(az21 + 180.0, az12) / 2.0
    speed = np.hypot(ve, vn)
    assert np.max(np.abs(speed / s - 1.0)) < 1e-6
    assert np.max(np.abs(angle_diff_deg(np.degrees(np.arctan2(ve, vn)), heading))) < 1e-5


def test_meridian_convergence_is_corrected() -> None:
    # 200 km east of a 55°N origin the map's y axis is ~2.6° east of true north;
    # ignoring that would mis-report every heading there.
    f = LocalFrame(55.0, 24.0)
    ve, vn = f.map_velocity_to_enu(200_000.0, 0.0, 0.0, 1.0)
    grid_to_true = float(np.degrees(np.arctan2(ve, vn)))
    assert 2.0 < grid_to_true < 3.0
    # Agrees with PROJ's meridian convergence (true north seen in map axes).
    lat, lon = f.from_map(200_000.0, 0.0)
    proj = pyproj.Proj("+proj=aeqd +lat_0=55 +lon_0=24 +ellps=WGS84 +units=m")
    conv = proj.get_factors(float(lon), float(lat)).meridian_convergence
    mx, my = f.enu_velocity_to_map(200_000.0, 0.0, 0.0, 1.0)
    assert float(np.degrees(np.arctan2(mx, my))) == pytest.approx(-conv, abs=1e-6)
    # At the origin the map axes are true east/north, scale 1.
    ve0, vn0 = f.map_velocity_to_enu(0.0, 0.0, 3.0, 4.0)
    np.testing.assert_allclose([ve0, vn0], [3.0, 4.0], rtol=0, atol=1e-8)


@pytest.mark.parametrize("f", FRAMES, ids=repr)
def test_enu_velocity_to_map_is_inverse(f: LocalFrame) -> None:
    x, y = random_map_points(2_000, 300_000.0, seed=5)
    rng = np.random.default_rng(6)
    ve = rng.normal(0.0, 40.0, 2_000)
    vn = rng.normal(0.0, 40.0, 2_000)
    vx, vy = f.enu_velocity_to_map(x, y, ve, vn)
    ve2, vn2 = f.map_velocity_to_enu(x, y, vx, vy)
    np.testing.assert_allclose([ve2, vn2], [ve, vn], rtol=0, atol=1e-9)


def test_velocity_broadcasting_and_no_mutation() -> None:
    f = FRAMES[0]
    x = np.array([0.0, 10_000.0, 150_000.0])[:, None]
    y = np.array([-50_000.0, 0.0, 50_000.0, 90_000.0])
    vx = np.array(12.0)
    vy = np.full(4, -7.0)
    copies = [a.copy() for a in (x, y, vx, vy)]
    ve, vn = f.map_velocity_to_enu(x, y, vx, vy)
    assert ve.shape == vn.shape == (3, 4)
    ve1, vn1 = f.map_velocity_to_enu(x[2, 0], y[3], 12.0, -7.0)
    assert ve1.shape == () and isinstance(ve1, np.ndarray)
    assert float(ve1) == pytest.approx(float(ve[2, 3]), rel=1e-12)
    vx2, vy2 = f.enu_velocity_to_map(x, y, ve, vn)
    assert vx2.shape == (3, 4)
    for a, c in zip((x, y, vx, vy), copies, strict=True):
        np.testing.assert_array_equal(a, c)


def test_map_broadcasting_nan_and_no_mutation() -> None:
    f = FRAMES[0]
    lat = np.array([[55.0], [55.5], [np.nan]])
    lon = np.array([24.0, 25.0])
    copies = (lat.copy(), lon.copy())
    x, y = f.to_map(lat, lon)
    assert x.shape == y.shape == (3, 2)
    assert np.isnan(x[2]).all() and np.isfinite(x[:2]).all()
    lat2, lon2 = f.from_map(x, y)
    assert lat2.shape == (3, 2)
    assert np.isnan(lat2[2]).all()
    np.testing.assert_array_equal(lat, copies[0])
    np.testing.assert_array_equal(lon, copies[1])
    xs, ys = f.to_map(55.0, 24.0)
    assert xs.shape == () and isinstance(xs, np.ndarray)
    assert np.isnan(f.to_map(91.0, 24.0)[0])
    ve, vn = f.map_velocity_to_enu([np.nan, 0.0], 0.0, 1.0, 1.0)
    assert np.isnan(ve[0]) and np.isfinite(ve[1])


# ------------------------------------------------------------- tangent-plane ENU


def test_enu_delegates_to_geodesy_and_round_trips() -> None:
    f = LocalFrame(55.0, 24.0, 120.0)
    rng = np.random.default_rng(7)
    n = 5_000
    lat = 55.0 + rng.uniform(-2.0, 2.0, n)
    lon = 24.0 + rng.uniform(-3.0, 3.0, n)
    alt = rng.uniform(-500.0, 100_000.0, n)
    e, nn, u = f.to_enu(lat, lon, alt)
    np.testing.assert_array_equal([e, nn, u], geodetic2enu(lat, lon, alt, 55.0, 24.0, 120.0))
    lat2, lon2, alt2 = f.from_enu(e, nn, u)
    np.testing.assert_array_equal([lat2, lon2, alt2], enu2geodetic(e, nn, u, 55.0, 24.0, 120.0))
    xyz = np.stack(geodetic2ecef(lat, lon, alt))
    xyz2 = np.stack(geodetic2ecef(lat2, lon2, alt2))
    assert np.max(np.linalg.norm(xyz2 - xyz, axis=0)) < 1e-3
    e0, n0, u0 = f.to_enu(55.0, 24.0, 120.0)
    assert max(abs(float(e0)), abs(float(n0)), abs(float(u0))) < 1e-6
    er, nr, ur = f.to_enu(np.radians(lat), np.radians(lon), alt, deg=False)
    np.testing.assert_allclose([er, nr, ur], [e, nn, u], rtol=0, atol=1e-6)
    latr, lonr, _ = f.from_enu(e, nn, u, deg=False)
    np.testing.assert_allclose(np.degrees(latr), lat2, rtol=0, atol=1e-10)


def test_map_plane_is_not_the_tangent_plane() -> None:
    # 100 km north: the map plane stays on the ground, ENU 'up' drops by ~785 m.
    f = LocalFrame(55.0, 24.0)
    lat, lon = f.from_map(0.0, 100_000.0)
    e, n, u = f.to_enu(lat, lon, 0.0)
    assert float(u) == pytest.approx(-(100_000.0**2) / (2 * 6_378_500.0), rel=5e-3)
    assert float(n) == pytest.approx(100_000.0, rel=1e-3)
    assert abs(float(e)) < 1e-6
