"""Tests of skyfence.geo.geodesy against published values, pyproj and round trips."""

from __future__ import annotations

import doctest

import numpy as np
import pyproj
import pytest

from skyfence.geo import geodesy
from skyfence.geo.geodesy import (
    WGS84_A,
    WGS84_B,
    WGS84_E2,
    WGS84_F,
    aer2enu,
    aer2geodetic,
    ecef2enu,
    ecef2geodetic,
    enu2aer,
    enu2ecef,
    enu2geodetic,
    enu2uvw,
    geodesic_direct,
    geodesic_inverse,
    geodesic_line_length_m,
    geodetic2aer,
    geodetic2ecef,
    geodetic2enu,
    uvw2enu,
)

MM = 1e-3
# Metres per degree of latitude (upper bound), to express angle errors as distances.
M_PER_DEG = 111_700.0


def dms(deg: float, minutes: float, seconds: float) -> float:
    """Degrees from a signed degrees-minutes-seconds triple (sign on the degrees)."""
    sign = -1.0 if deg < 0 else 1.0
    return sign * (abs(deg) + minutes / 60.0 + seconds / 3600.0)


def angle_diff_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Signed smallest difference a - b of two angles, degrees."""
    return (np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0


def random_geodetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points uniform on the sphere (plus poles and equator), altitudes -500 m .. 100 km."""
    rng = np.random.default_rng(seed)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    lon = rng.uniform(-180.0, 180.0, n)
    alt = rng.uniform(-500.0, 100_000.0, n)
    special_lat = [90.0, -90.0, 89.999999, -89.999999, 0.0, 0.0, 45.0, -45.0]
    special_alt = [100_000.0, -500.0, 0.0, 50_000.0, -500.0, 100_000.0, 0.0, 10.0]
    lat[: len(special_lat)] = special_lat
    alt[: len(special_alt)] = special_alt
    lon[:4] = [0.0, 180.0, -180.0, 90.0]
    return lat, lon, alt


def horizontal_error_m(lat_a, lon_a, lat_b, lon_b) -> np.ndarray:
    """Approximate horizontal distance between two nearby geodetic points, metres."""
    dn = (np.asarray(lat_a) - lat_b) * M_PER_DEG
    de = angle_diff_deg(lon_a, lon_b) * M_PER_DEG * np.cos(np.radians(lat_b))
    return np.hypot(de, dn)


# ----------------------------------------------------------------- constants


def test_wgs84_constants() -> None:
    assert WGS84_A == 6_378_137.0
    assert 1.0 / WGS84_F == pytest.approx(298.257223563, abs=1e-12)
    assert WGS84_B == pytest.approx(6_356_752.314245, abs=1e-6)
    assert WGS84_E2 == pytest.approx(0.00669437999014, abs=1e-14)


def test_docstring_examples() -> None:
    result = doctest.testmod(geodesy, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10
    assert result.failed == 0


# ---------------------------------------------------- published reference points


def test_geodetic2ecef_equator_and_poles() -> None:
    x, y, z = geodetic2ecef(0.0, 0.0, 0.0)
    assert (float(x), float(y), float(z)) == (WGS84_A, 0.0, 0.0)
    x, y, z = geodetic2ecef(0.0, 90.0, 0.0)
    assert float(x) == pytest.approx(0.0, abs=1e-9)
    assert float(y) == WGS84_A
    x, y, z = geodetic2ecef([90.0, -90.0], 0.0, 0.0)
    np.testing.assert_allclose(z, [6_356_752.314245, -6_356_752.314245], rtol=0, atol=1e-6)
    np.testing.assert_allclose(x, 0.0, atol=1e-9)


def test_geodetic2ecef_epsg_guidance_note_7_2_example() -> None:
    # IOGP/EPSG Guidance Note 7-2, geographic/geocentric conversions (method 9602),
    # WGS 84: 53°48'33.820"N, 2°07'46.380"E, h = 73.000 m
    # -> X = 3 771 793.968 m, Y = 140 253.342 m, Z = 5 124 304.349 m.
    lat, lon = dms(53, 48, 33.820), dms(2, 7, 46.380)
    x, y, z = geodetic2ecef(lat, lon, 73.0)
    np.testing.assert_allclose(
        [x, y, z], [3_771_793.968, 140_253.342, 5_124_304.349], rtol=0, atol=1e-3
    )
    lat2, lon2, alt2 = ecef2geodetic(3_771_793.968, 140_253.342, 5_124_304.349)
    # Published values are rounded to 1 mm / 0.001"; allow that rounding.
    assert float(lat2) == pytest.approx(lat, abs=1e-3 / M_PER_DEG)
    assert float(lon2) == pytest.approx(lon, abs=1e-3 / M_PER_DEG)
    assert float(alt2) == pytest.approx(73.0, abs=1e-3)


def test_ecef2geodetic_axes_and_poles() -> None:
    lat, lon, alt = ecef2geodetic(WGS84_A + 10.0, 0.0, 0.0)
    assert (float(lat), float(lon), float(alt)) == pytest.approx((0.0, 0.0, 10.0), abs=1e-9)
    lat, lon, alt = ecef2geodetic(0.0, -WGS84_A, 0.0)
    assert (float(lat), float(lon), float(alt)) == pytest.approx((0.0, -90.0, 0.0), abs=1e-9)
    lat, lon, alt = ecef2geodetic(0.0, 0.0, [WGS84_B + 100_000.0, -WGS84_B + 500.0])
    np.testing.assert_array_equal(lat, [90.0, -90.0])
    np.testing.assert_allclose(alt, [100_000.0, -500.0], rtol=0, atol=1e-8)


def test_ecef2geodetic_centre_is_nan_without_warning() -> None:
    lat, lon, alt = ecef2geodetic(0.0, 0.0, 0.0)
    assert np.isnan(lat) and np.isnan(alt)


# -------------------------------------------------------------------- round trips


def test_geodetic_ecef_round_trip_sub_mm() -> None:
    lat, lon, alt = random_geodetic(200_000, seed=1)
    lat2, lon2, alt2 = ecef2geodetic(*geodetic2ecef(lat, lon, alt))
    # Longitude is undefined at the poles; compare the ECEF positions instead there.
    x, y, z = geodetic2ecef(lat, lon, alt)
    x2, y2, z2 = geodetic2ecef(lat2, lon2, alt2)
    assert np.max(np.abs(alt2 - alt)) < 1e-6
    assert np.max(np.abs(lat2 - lat)) * M_PER_DEG < 1e-6
    assert np.max(np.hypot(np.hypot(x2 - x, y2 - y), z2 - z)) < 1e-6
    not_pole = np.abs(lat) < 89.9
    assert np.max(horizontal_error_m(lat2, lon2, lat, lon)[not_pole]) < 1e-6


def test_ecef2geodetic_high_altitudes() -> None:
    lat, lon, _ = random_geodetic(10_000, seed=2)
    for h in (100_000.0, 1_000_000.0, 36_000_000.0):
        lat2, _, alt2 = ecef2geodetic(*geodetic2ecef(lat, lon, h))
        assert np.max(np.abs(alt2 - h)) < 1e-4
        assert np.max(np.abs(np.radians(lat2 - lat)) * (WGS84_A + h)) < 1e-4


def test_geodetic_enu_round_trip_sub_mm() -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    lat0, lon0, alt0 = random_geodetic(n, seed=4)
    e = rng.uniform(-300_000.0, 300_000.0, n)
    nn = rng.uniform(-300_000.0, 300_000.0, n)
    u = rng.uniform(-2_000.0, 100_000.0, n)
    lat, lon, alt = enu2geodetic(e, nn, u, lat0, lon0, alt0)
    e2, n2, u2 = geodetic2enu(lat, lon, alt, lat0, lon0, alt0)
    err = np.hypot(np.hypot(e2 - e, n2 - nn), u2 - u)
    assert np.max(err) < MM

    lat_t, lon_t, alt_t = random_geodetic(n, seed=5)
    # Keep targets within a few hundred km of the origins.
    lat_t = np.clip(lat0 + (lat_t / 90.0) * 2.0, -90.0, 90.0)
    lon_t = lon0 + (lon_t / 180.0) * 2.0
    lat3, lon3, alt3 = enu2geodetic(
        *geodetic2enu(lat_t, lon_t, alt_t, lat0, lon0, alt0), lat0, lon0, alt0
    )
    x, y, z = geodetic2ecef(lat_t, lon_t, alt_t)
    x3, y3, z3 = geodetic2ecef(lat3, lon3, alt3)
    assert np.max(np.hypot(np.hypot(x3 - x, y3 - y), z3 - z)) < MM
    assert np.max(np.abs(alt3 - alt_t)) < MM


def test_aer_round_trips_sub_mm() -> None:
    rng = np.random.default_rng(6)
    n = 50_000
    e = rng.uniform(-100_000.0, 100_000.0, n)
    nn = rng.uniform(-100_000.0, 100_000.0, n)
    u = rng.uniform(-5_000.0, 100_000.0, n)
    az, el, sr = enu2aer(e, nn, u)
    assert np.all((az >= 0.0) & (az < 360.0))
    assert np.all((el >= -90.0) & (el <= 90.0))
    e2, n2, u2 = aer2enu(az, el, sr)
    assert np.max(np.hypot(np.hypot(e2 - e, n2 - nn), u2 - u)) < MM

    lat0, lon0, alt0 = random_geodetic(n, seed=7)
    lat0 = np.clip(lat0, -89.0, 89.0)  # azimuth is undefined at the pole itself
    lat, lon, alt = aer2geodetic(az, el, sr, lat0, lon0, alt0)
    az2, el2, sr2 = geodetic2aer(lat, lon, alt, lat0, lon0, alt0)
    assert np.max(np.abs(sr2 - sr)) < MM
    # Angular errors expressed as the position error they cause at that range.
    assert np.max(np.radians(np.abs(angle_diff_deg(az2, az))) * sr * np.cos(np.radians(el))) < MM
    assert np.max(np.radians(np.abs(el2 - el)) * sr) < MM


def test_rotation_round_trip_and_norm() -> None:
    rng = np.random.default_rng(8)
    u, v, w = rng.normal(size=(3, 1000)) * 100.0
    lat0, lon0, _ = random_geodetic(1000, seed=9)
    e, n, up = uvw2enu(u, v, w, lat0, lon0)
    np.testing.assert_allclose(
        np.sqrt(e**2 + n**2 + up**2), np.sqrt(u**2 + v**2 + w**2), rtol=1e-13
    )
    u2, v2, w2 = enu2uvw(e, n, up, lat0, lon0)
    np.testing.assert_allclose([u2, v2, w2], [u, v, w], rtol=0, atol=1e-11)


# ------------------------------------------------------ cross-check against pyproj


def test_ecef_matches_pyproj_geocentric() -> None:
    lat, lon, alt = random_geodetic(20_000, seed=10)
    to_ecef = pyproj.Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    px, py, pz = to_ecef.transform(lon, lat, alt)
    x, y, z = geodetic2ecef(lat, lon, alt)
    assert np.max(np.abs(np.stack([x - px, y - py, z - pz]))) < 1e-6
    plon, plat, palt = to_ecef.transform(x, y, z, direction="INVERSE")
    lat2, lon2, alt2 = ecef2geodetic(x, y, z)
    # PROJ's +proj=cart inverse is a single Bowring step: ~0.1 mm at 100 km height
    # (our own round trip above is ~1e-8 m), so compare at 1 mm here.
    assert np.max(np.abs(alt2 - palt)) < MM
    assert np.max(np.abs(lat2 - plat)) * M_PER_DEG < MM
    not_pole = np.abs(lat) < 89.9
    assert np.max(horizontal_error_m(lat2, lon2, plat, plon)[not_pole]) < MM
    low = alt < 1_000.0
    assert np.max(np.abs(alt2 - palt)[low]) < 1e-6


@pytest.mark.parametrize(
    ("lat0", "lon0", "alt0"), [(55.0, 24.0, 120.0), (-33.9, 151.2, 5.0), (0.0, -179.9, 0.0)]
)
def test_enu_and_aer_match_pyproj_topocentric(lat0: float, lon0: float, alt0: float) -> None:
    topo = pyproj.Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=cart +ellps=WGS84 "
        f"+step +proj=topocentric +ellps=WGS84 +lat_0={lat0} +lon_0={lon0} +h_0={alt0}"
    )
    rng = np.random.default_rng(11)
    n = 5_000
    lat = lat0 + rng.uniform(-3.0, 3.0, n)
    lon = lon0 + rng.uniform(-3.0, 3.0, n)
    alt = rng.uniform(-500.0, 100_000.0, n)
    pe, pn, pu = topo.transform(lon, lat, alt)
    e, nn, u = geodetic2enu(lat, lon, alt, lat0, lon0, alt0)
    assert np.max(np.abs(np.stack([e - pe, nn - pn, u - pu]))) < 1e-6
    x, y, z = geodetic2ecef(lat, lon, alt)
    e2, n2, u2 = ecef2enu(x, y, z, lat0, lon0, alt0)
    assert np.max(np.abs(np.stack([e2 - pe, n2 - pn, u2 - pu]))) < 1e-6
    az, el, sr = geodetic2aer(lat, lon, alt, lat0, lon0, alt0)
    np.testing.assert_allclose(sr, np.sqrt(pe**2 + pn**2 + pu**2), rtol=1e-12)
    np.testing.assert_allclose(np.sin(np.radians(el)) * sr, pu, rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        np.sin(np.radians(az)) * sr * np.cos(np.radians(el)), pe, rtol=0, atol=1e-6
    )
    # And back through ENU -> ECEF.
    x3, y3, z3 = enu2ecef(pe, pn, pu, lat0, lon0, alt0)
    assert np.max(np.abs(np.stack([x3 - x, y3 - y, z3 - z]))) < 1e-6


# ------------------------------------------------------------------- AER details


def test_enu2aer_cardinal_directions() -> None:
    az, el, sr = enu2aer(
        [0.0, 1.0, 0.0, -1.0, 0.0, 1.0],
        [1.0, 0.0, -1.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 0.0, 0.0, 5.0, np.sqrt(2.0)],
    )
    np.testing.assert_allclose(az, [0.0, 90.0, 180.0, 270.0, 0.0, 45.0], atol=1e-12)
    np.testing.assert_allclose(el, [0.0, 0.0, 0.0, 0.0, 90.0, 45.0], atol=1e-12)
    np.testing.assert_allclose(sr, [1.0, 1.0, 1.0, 1.0, 5.0, 2.0], atol=1e-12)


def test_azimuth_never_reaches_360() -> None:
    az, _, _ = enu2aer([-1e-300, -1e-17, -0.0], 1.0, 0.0)
    assert np.all(az < 360.0) and np.all(az >= 0.0)
    az_r, _, _ = enu2aer(-1e-300, 1.0, 0.0, deg=False)
    assert 0.0 <= float(az_r) < 2.0 * np.pi


def test_distant_target_at_same_height_is_below_horizontal() -> None:
    # ~100 km due north on the ellipsoid: elevation ~ -s / (2 M), M = meridian radius.
    s, _, _ = geodesic_inverse(55.0, 24.0, 55.9, 24.0)
    az, el, sr = geodetic2aer(55.9, 24.0, 0.0, 55.0, 24.0, 0.0)
    assert float(el) == pytest.approx(-np.degrees(float(s) / 2.0 / 6_378_500.0), rel=2e-3)
    assert float(sr) < float(s)
    assert float(angle_diff_deg(az, 0.0)) == pytest.approx(0.0, abs=1e-9)


def test_radians_match_degrees() -> None:
    lat, lon, alt = random_geodetic(100, seed=12)
    lat0, lon0, alt0 = 55.0, 24.0, 100.0
    e, n, u = geodetic2enu(lat, lon, alt, lat0, lon0, alt0)
    er, nr, ur = geodetic2enu(
        np.radians(lat), np.radians(lon), alt, np.radians(lat0), np.radians(lon0), alt0, deg=False
    )
    np.testing.assert_allclose([er, nr, ur], [e, n, u], rtol=1e-12, atol=1e-6)
    az, el, sr = geodetic2aer(lat, lon, alt, lat0, lon0, alt0)
    azr, elr, srr = geodetic2aer(
        np.radians(lat), np.radians(lon), alt, np.radians(lat0), np.radians(lon0), alt0, deg=False
    )
    np.testing.assert_allclose(np.degrees(azr), az, atol=1e-9)
    np.testing.assert_allclose(np.degrees(elr), el, atol=1e-9)
    latr, lonr, altr = ecef2geodetic(*geodetic2ecef(lat, lon, alt), deg=False)
    np.testing.assert_allclose(np.degrees(latr), lat, atol=1e-9)


# ---------------------------------------------------------------------- geodesics


def test_geodesic_inverse_vincenty_flinders_peak_buninyong() -> None:
    # Geoscience Australia's worked example of Vincenty's inverse formula (GRS80,
    # which differs from WGS84 by 0.1 mm in the semi-minor axis).
    lat1, lon1 = dms(-37, 57, 3.72030), dms(144, 25, 29.52440)
    lat2, lon2 = dms(-37, 39, 10.15610), dms(143, 55, 35.38390)
    s, az12, az21 = geodesic_inverse(lat1, lon1, lat2, lon2)
    assert float(s) == pytest.approx(54_972.271, abs=1e-3)
    assert float(az12) == pytest.approx(dms(306, 52, 5.37), abs=0.01 / 3600.0)
    # Published reverse azimuth 127°10'25.07" is the azimuth at Buninyong back to
    # Flinders Peak, i.e. our az21.
    assert float(az21) == pytest.approx(dms(127, 10, 25.07), abs=0.01 / 3600.0)

    lat2d, lon2d, az21d = geodesic_direct(lat1, lon1, dms(306, 52, 5.37), 54_972.271)
    err = horizontal_error_m(lat2d, lon2d, lat2, lon2)
    assert float(err) < 0.01  # the published azimuth is rounded to 0.01" (2.7 mm here)
    assert float(az21d) == pytest.approx(dms(127, 10, 25.07), abs=0.01 / 3600.0)


def test_geodesic_karney_jfk_lhr() -> None:
    # Karney (2013), "Algorithms for geodesics": JFK (40.6, -73.8) -> LHR (51.6, -0.5)
    # s12 = 5 551 759.400 m, azi1 = 51.198882845°, azi2 = 107.821776735° (forward
    # azimuth at point 2).
    s, az12, az21 = geodesic_inverse(40.6, -73.8, 51.6, -0.5)
    assert float(s) == pytest.approx(5_551_759.400, abs=1e-3)
    assert float(az12) == pytest.approx(51.198882845, abs=1e-8)
    assert float(angle_diff_deg(az21, 107.821776735 + 180.0)) == pytest.approx(0.0, abs=1e-8)
    lat2, lon2, az21d = geodesic_direct(40.6, -73.8, 51.198882845, 5_551_759.400)
    assert float(horizontal_error_m(lat2, lon2, 51.6, -0.5)) < 1e-3
    assert float(angle_diff_deg(az21d, 287.821776735)) == pytest.approx(0.0, abs=1e-8)


def test_geodesic_direct_inverse_round_trip_vectorised() -> None:
    rng = np.random.default_rng(13)
    n = 20_000
    lat1, lon1, _ = random_geodetic(n, seed=14)
    lat1 = np.clip(lat1, -89.0, 89.0)
    az = rng.uniform(0.0, 360.0, n)
    dist = rng.uniform(0.0, 5_000_000.0, n)
    lat2, lon2, az21 = geodesic_direct(lat1, lon1, az, dist)
    s, az12, az21b = geodesic_inverse(lat1, lon1, lat2, lon2)
    np.testing.assert_allclose(s, dist, rtol=0, atol=1e-6)
    long_enough = dist > 1.0
    assert np.max(np.abs(angle_diff_deg(az12, az))[long_enough]) < 1e-6
    assert np.max(np.abs(angle_diff_deg(az21b, az21))[long_enough]) < 1e-6
    assert np.all((az12 >= 0.0) & (az12 < 360.0) & (az21 >= 0.0) & (az21 < 360.0))


def test_geodesic_line_length() -> None:
    lats = np.array([0.0, 0.0, 1.0, 1.5])
    lons = np.array([0.0, 1.0, 1.0, 2.0])
    segs, _, _ = geodesic_inverse(lats[:-1], lons[:-1], lats[1:], lons[1:])
    assert float(geodesic_line_length_m(lats, lons)) == pytest.approx(float(np.sum(segs)))
    # Batches along leading axes, broadcasting lats against lons.
    batch = geodesic_line_length_m(np.stack([lats, lats[::-1]]), lons[None, :])
    assert batch.shape == (2,)
    assert float(batch[0]) == pytest.approx(float(np.sum(segs)))
    assert float(geodesic_line_length_m([10.0], [20.0])) == 0.0
    assert float(geodesic_line_length_m([], [])) == 0.0
    assert np.isnan(geodesic_line_length_m([0.0, np.nan, 1.0], [0.0, 1.0, 1.0]))


# ----------------------------------------------- broadcasting, NaN, no mutation

FUNCTIONS_3_TO_3 = [
    (geodetic2ecef, (55.0, 24.0, 100.0)),
    (ecef2geodetic, (3_500_000.0, 1_500_000.0, 5_200_000.0)),
    (enu2aer, (100.0, 200.0, 30.0)),
    (aer2enu, (30.0, 5.0, 1000.0)),
]
FUNCTIONS_5_TO_3 = [
    (uvw2enu, (1.0, 2.0, 3.0, 55.0, 24.0)),
    (enu2uvw, (1.0, 2.0, 3.0, 55.0, 24.0)),
]
FUNCTIONS_6_TO_3 = [
    (ecef2enu, (3_500_000.0, 1_500_000.0, 5_200_000.0, 55.0, 24.0, 100.0)),
    (enu2ecef, (100.0, 200.0, 30.0, 55.0, 24.0, 100.0)),
    (geodetic2enu, (55.1, 24.1, 300.0, 55.0, 24.0, 100.0)),
    (enu2geodetic, (100.0, 200.0, 30.0, 55.0, 24.0, 100.0)),
    (geodetic2aer, (55.1, 24.1, 300.0, 55.0, 24.0, 100.0)),
    (aer2geodetic, (30.0, 5.0, 1000.0, 55.0, 24.0, 100.0)),
]
FUNCTIONS_4_TO_3 = [
    (geodesic_inverse, (55.0, 24.0, 55.1, 24.3)),
    (geodesic_direct, (55.0, 24.0, 30.0, 10_000.0)),
]
ALL_FUNCTIONS = FUNCTIONS_3_TO_3 + FUNCTIONS_5_TO_3 + FUNCTIONS_6_TO_3 + FUNCTIONS_4_TO_3


@pytest.mark.parametrize(("func", "args"), ALL_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_scalar_in_gives_0d_arrays(func, args) -> None:
    out = func(*args)
    assert len(out) == 3
    for o in out:
        assert isinstance(o, np.ndarray) and o.shape == () and o.dtype == np.float64
        assert np.isfinite(o)


@pytest.mark.parametrize(("func", "args"), ALL_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_broadcasting_matches_elementwise(func, args) -> None:
    # First argument varies along axis 0, last along axis 1; the rest stay scalar.
    first = np.array([args[0], args[0] * 0.5, args[0] * 1.1])[:, None]
    last = np.array([args[-1], args[-1] * 0.9])[None, :]
    out = func(first, *args[1:-1], last)
    for o in out:
        assert o.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            single = func(first[i, 0], *args[1:-1], last[0, j])
            for o, s in zip(out, single, strict=True):
                assert float(o[i, j]) == pytest.approx(float(s), rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(("func", "args"), ALL_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_inputs_not_mutated(func, args) -> None:
    arrays = [np.full(4, float(a)) + np.arange(4) * 1e-3 for a in args]
    copies = [a.copy() for a in arrays]
    func(*arrays)
    for a, c in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(("func", "args"), ALL_FUNCTIONS, ids=lambda v: getattr(v, "__name__", ""))
def test_nan_propagates(func, args) -> None:
    # A NaN reaches every output that depends on it (e.g. the azimuth from enu2aer
    # does not depend on 'up') and leaves the other elements alone.
    for k in range(len(args)):
        bad = list(args)
        bad[k] = [np.nan, args[k]]
        out = func(*bad)
        assert all(o.shape == (2,) for o in out)
        assert any(np.isnan(o[0]) for o in out)
        assert all(np.isfinite(o[1]) for o in out)
        # Replacing a NaN latitude/longitude/position makes the whole point NaN.
        if func in (geodetic2ecef, geodetic2enu, geodetic2aer) and k in (0, 2, 3, 4, 5):
            assert all(np.isnan(o[0]) for o in out)


def test_line_length_does_not_mutate() -> None:
    lats = np.array([0.0, 0.5, 1.0])
    lons = np.array([0.0, 0.5, 1.0])
    geodesic_line_length_m(lats, lons)
    np.testing.assert_array_equal(lats, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(lons, [0.0, 0.5, 1.0])


def test_latitude_out_of_range_is_nan() -> None:
    x, y, z = geodetic2ecef([90.5, -91.0, 45.0], 0.0, 0.0)
    assert np.isnan(x[:2]).all() and np.isfinite(x[2])
    e, _, _ = geodetic2enu(45.0, 0.0, 0.0, 100.0, 0.0, 0.0)
    assert np.isnan(e)
    s, _, _ = geodesic_inverse(95.0, 0.0, 0.0, 0.0)
    assert np.isnan(s)


def test_small_offset_agrees_with_the_exact_conversion() -> None:
    """Within 5 cm of enu2geodetic for offsets up to 600 m, anywhere from the equator to
    70° of latitude."""
    rng = np.random.default_rng(11)
    for _ in range(200):
        lat, lon = rng.uniform(-70.0, 70.0), rng.uniform(-180.0, 180.0)
        e, n = rng.uniform(-420.0, 420.0, 2)
        la, lo = geodesy.small_offset_deg(lat, lon, e, n)
        de, dn, _ = geodesy.geodetic2enu(la, lo, 0.0, lat, lon, 0.0)
        assert abs(float(de) - e) < 0.05 and abs(float(dn) - n) < 0.05
