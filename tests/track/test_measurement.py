"""Tests of skyfence.track.measurement against Stone Soup 1.9.1, geodesy and finite differences."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from stonesoup.models.measurement.linear import LinearGaussian
from stonesoup.models.measurement.nonlinear import (
    CartesianToBearingRangeRate,
    CartesianToElevationBearing,
    CartesianToElevationBearingRange,
    CartesianToElevationBearingRangeRate,
)
from stonesoup.types.array import StateVector
from stonesoup.types.detection import Detection
from stonesoup.types.state import State

from skyfence.geo import geodesy
from skyfence.track import measurement
from skyfence.track.measurement import (
    Bearing,
    BearingElevation,
    MeasurementModel,
    Position,
    Radar2D,
    Radar3D,
    enu_rotation,
    site_position,
)

K = 25


def scenario(rng: np.random.Generator, k: int = K, d: int = 6):
    """Random targets, sensor sites and Stone Soup rotation offsets (rad)."""
    x = np.zeros((k, d))
    x[:, :3] = rng.uniform(-20_000.0, 20_000.0, (k, 3))
    x[:, 2] = rng.uniform(50.0, 3_000.0, k)
    x[:, 3:6] = rng.normal(0.0, 40.0, (k, 3))
    if d > 6:
        x[:, 6:] = rng.normal(0.0, 1.0, (k, d - 6))
    site = rng.uniform(-5_000.0, 5_000.0, (k, 3))
    site[:, 2] = rng.uniform(0.0, 40.0, k)
    angles = rng.uniform(-0.05, 0.05, (k, 3))  # small tilts, like sites ~100 km apart
    angles[:, 2] = rng.uniform(-np.pi, np.pi, k)
    return x, site, angles


def ss_model(cls, site_k: np.ndarray, angles_k: np.ndarray, ndim_state: int, **kw):
    kwargs = dict(
        ndim_state=ndim_state,
        mapping=(0, 1, 2),
        noise_covar=np.eye(kw.pop("ndim_meas")),
        translation_offset=StateVector(site_k),
        rotation_offset=StateVector(angles_k),
    )
    return cls(**kwargs, **kw)


def ss_value(model, x_k: np.ndarray) -> np.ndarray:
    return np.asarray(model.function(State(StateVector(x_k))), dtype=float).ravel()


def ss_jacobian(model, x_k: np.ndarray) -> np.ndarray:
    """Stone Soup's Jacobian where it is analytic; else central differences of its h.

    (Its own numerical Jacobian is a forward difference with a 1e-8 step for
    small coordinates, good to only ~1e-4.)
    """
    if isinstance(model, CartesianToElevationBearingRangeRate):
        return np.asarray(model.jacobian(State(StateVector(x_k))), dtype=float)
    step = 1e-3
    cols = []
    for i in range(x_k.size):
        e = np.zeros(x_k.size)
        e[i] = step
        diff = ss_value(model, x_k + e) - ss_value(model, x_k - e)
        cols.append(np.angle(np.exp(1j * diff)) / (2 * step))  # angles stay small
    return np.column_stack(cols)


def az_from_bearing(bearing: np.ndarray) -> np.ndarray:
    """Stone Soup bearing (counter-clockwise from x = east) to azimuth (clockwise from north)."""
    return np.mod(np.pi / 2 - bearing, 2 * np.pi)


def wrapped_close(a: np.ndarray, b: np.ndarray, atol: float) -> bool:
    return bool(np.all(np.abs(np.angle(np.exp(1j * (a - b)))) <= atol))


def test_doctests() -> None:
    assert doctest.testmod(measurement).failed == 0


# --------------------------------------------------------- against Stone Soup

# (our model, Stone Soup class, Stone Soup ndim_meas, our column <- (ss row, is azimuth))
CASES = [
    (Radar3D(True), CartesianToElevationBearingRangeRate, 4, [(2, 0), (1, 1), (0, 0), (3, 0)]),
    (Radar3D(False), CartesianToElevationBearingRange, 3, [(2, 0), (1, 1), (0, 0)]),
    (Radar2D(True), CartesianToBearingRangeRate, 3, [(1, 0), (0, 1), (2, 0)]),
    (Radar2D(False), CartesianToBearingRangeRate, 3, [(1, 0), (0, 1)]),
    (Bearing(), CartesianToElevationBearing, 2, [(1, 1)]),
    (BearingElevation(), CartesianToElevationBearing, 2, [(1, 1), (0, 0)]),
]


def _ss_kwargs(cls) -> dict:
    if cls in (CartesianToElevationBearingRangeRate, CartesianToBearingRangeRate):
        return {"velocity_mapping": (3, 4, 5)}
    return {}


@pytest.mark.parametrize("d", [6, 9])
@pytest.mark.parametrize(("model", "cls", "m_ss", "columns"), CASES, ids=lambda c: repr(c))
def test_h_and_jacobian_match_stonesoup(model, cls, m_ss, columns, d) -> None:
    rng = np.random.default_rng(100 + d)
    x, site, angles = scenario(rng, d=d)
    rot = np.stack(
        [ss_model(cls, site[k], angles[k], d, ndim_meas=m_ss).rotation_matrix for k in range(K)]
    )
    z = model.h(x, site, rot)
    H = model.jacobian(x, site, rot)
    assert z.shape == (K, model.ndim_meas)
    assert H.shape == (K, model.ndim_meas, d)
    analytic = cls is CartesianToElevationBearingRangeRate
    for k in range(K):
        ss = ss_model(cls, site[k], angles[k], d, ndim_meas=m_ss, **_ss_kwargs(cls))
        value = ss_value(ss, x[k])
        jac = ss_jacobian(ss, x[k])
        for col, (row, is_az) in enumerate(columns):
            if is_az:
                assert wrapped_close(z[k, col], az_from_bearing(value[row]), 1e-12)
                expected_row = -jac[row]  # d(π/2 - bearing) = -d bearing
            else:
                assert np.isclose(z[k, col], value[row], rtol=1e-12, atol=1e-12)
                expected_row = jac[row]
            scale = np.max(np.abs(expected_row))
            tol = 1e-12 if analytic else 1e-7
            assert np.max(np.abs(H[k, col] - expected_row)) <= tol * scale


def test_position_matches_stonesoup_linear_gaussian() -> None:
    rng = np.random.default_rng(7)
    x, site, _ = scenario(rng, d=7)
    ss = LinearGaussian(ndim_state=7, mapping=(0, 1, 2), noise_covar=np.eye(3))
    model = Position()
    assert np.array_equal(model.h(x, site, None), x[:, :3])
    assert np.array_equal(model.jacobian(x)[0], ss.matrix())
    pos, cov = model.inverse(x[:, :3], None, None, np.broadcast_to(np.eye(3), (K, 3, 3)))
    assert np.array_equal(pos, x[:, :3])
    assert np.array_equal(cov, np.broadcast_to(np.eye(3), (K, 3, 3)))


# -------------------------------------------------------------- derivatives


MODELS = [
    Radar3D(True),
    Radar3D(False),
    Radar2D(True),
    Radar2D(False),
    Bearing(),
    BearingElevation(),
    Position(),
]


@pytest.mark.parametrize("model", MODELS, ids=repr)
@pytest.mark.parametrize("d", [6, 7, 9])
def test_jacobian_matches_central_differences(model: MeasurementModel, d: int) -> None:
    rng = np.random.default_rng(200 + d)
    x, site, angles = scenario(rng, d=d)
    rot = enu_rotation(55.0 + angles[:, 0], 24.0 + angles[:, 1] * 20, 55.0, 24.0)
    H = model.jacobian(x, site, rot)
    Hn = np.empty_like(H)
    step = 1e-3
    for i in range(d):
        e = np.zeros(d)
        e[i] = step
        diff = model.residual(model.h(x + e, site, rot), model.h(x - e, site, rot))
        Hn[:, :, i] = diff / (2 * step)
    scale = np.max(np.abs(H), axis=2, keepdims=True)
    assert np.max(np.abs(H - Hn) / scale) < 1e-7
    assert not H[:, :, 6:].any()  # entries past the velocity are not read


# -------------------------------------------------------- sensor geometry


LAT0, LON0, ALT0 = 55.0, 24.0, 100.0


def radar_east_of_origin(distance_m: float = 150_000.0):
    lat, lon, _ = geodesy.geodesic_direct(LAT0, LON0, 90.0, distance_m)
    return float(lat), float(lon), 150.0


def test_azimuth_is_measured_from_the_sensors_own_north() -> None:
    lat_r, lon_r, alt_r = radar_east_of_origin()
    site = site_position(lat_r, lon_r, alt_r, LAT0, LON0, ALT0)
    rot = enu_rotation(lat_r, lon_r, LAT0, LON0)
    lat_t, lon_t, _ = geodesy.geodesic_direct(lat_r, lon_r, 0.0, 20_000.0)  # due north
    alt_t = 1_150.0
    pos = site_position(lat_t, lon_t, alt_t, LAT0, LON0, ALT0)
    # Moving north in the radar's frame at 30 m/s.
    vel = rot[0].T @ np.array([0.0, 30.0, 0.0])
    x = np.concatenate([pos[0], vel])[None, :]
    radar = Radar3D(with_radial_velocity=True)
    z = radar.h(x, site, rot)[0]
    assert abs(radar.residual(z, [z[0], 0.0, z[2], z[3]])[1]) < 1e-9  # azimuth ≈ 0
    az, el, srange = geodesy.geodetic2aer(lat_t, lon_t, alt_t, lat_r, lon_r, alt_r)
    assert np.isclose(z[0], srange, rtol=1e-12)
    assert wrapped_close(z[1], np.radians(az), 1e-9)
    assert np.isclose(z[2], np.radians(el), rtol=0, atol=1e-9)
    north_in_radar = (rot[0] @ (pos[0] - site[0]))[1]
    assert np.isclose(z[3], 30.0 * north_in_radar / z[0], rtol=1e-12)  # receding: positive
    # Ignoring the sensor's own axes would put the target ~1.6° west of north.
    naive = radar.h(x, site, None)[0]
    assert np.degrees(abs(radar.residual(naive, z)[1])) > 1.0


def test_enu_rotation_axes_are_the_sites_east_north_up() -> None:
    lat = np.array([55.0, 56.3, 54.1])
    lon = np.array([24.0, 26.1, 21.7])
    rot = enu_rotation(lat, lon, LAT0, LON0)
    assert rot.shape == (3, 3, 3)
    assert np.allclose(rot @ np.swapaxes(rot, 1, 2), np.eye(3), atol=1e-15)
    assert np.allclose(np.linalg.det(rot), 1.0, atol=1e-15)
    assert np.allclose(rot[0], np.eye(3), atol=1e-15)
    # Row i of rot is the site's i-th axis in tracking-frame coordinates.
    base = site_position(lat, lon, 0.0, LAT0, LON0, ALT0)
    delta = 1e-6
    east = site_position(lat, lon + delta, 0.0, LAT0, LON0, ALT0) - base
    north = site_position(lat + delta, lon, 0.0, LAT0, LON0, ALT0) - base
    up = site_position(lat, lon, 1.0, LAT0, LON0, ALT0) - base
    for i, axis in enumerate((east, north, up)):
        unit = axis / np.linalg.norm(axis, axis=1, keepdims=True)
        assert np.allclose(rot[:, i, :], unit, atol=1e-7)


def test_site_position_is_geodetic2enu() -> None:
    e, n, u = geodesy.geodetic2enu([55.1, 54.9], [24.3, 23.5], [120.0, 80.0], LAT0, LON0, ALT0)
    out = site_position([55.1, 54.9], [24.3, 23.5], [120.0, 80.0], LAT0, LON0, ALT0)
    assert np.array_equal(out, np.column_stack([e, n, u]))


# ------------------------------------------------------------------ residual


def test_azimuth_residual_wraps_across_north() -> None:
    radar = Radar3D(with_radial_velocity=False)
    z = np.array([[1000.0, np.radians(359.9), 0.1]])
    zhat = np.array([[990.0, np.radians(0.1), 0.1]])
    res = radar.residual(z, zhat)
    assert np.allclose(res, [[10.0, np.radians(-0.2), 0.0]], rtol=1e-12, atol=1e-15)
    assert np.allclose(radar.residual(zhat, z)[0, 1], np.radians(0.2), rtol=1e-12)


def test_residual_interval_is_minus_pi_exclusive_to_pi_inclusive() -> None:
    bearing = Bearing()
    diffs = np.array([[np.pi], [-np.pi], [3 * np.pi], [-3 * np.pi], [0.0], [1.0], [-1.0]])
    res = bearing.residual(diffs, np.zeros((7, 1)))
    assert np.allclose(res[:, 0], [np.pi, np.pi, np.pi, np.pi, 0.0, 1.0, -1.0], atol=1e-12)
    assert (res > -np.pi).all() and (res <= np.pi).all()
    # Ranges and radial velocities are never wrapped.
    radar = Radar2D(with_radial_velocity=True)
    assert np.allclose(radar.residual([[10.0, 0.0, -7.0]], [[0.0, 0.0, 0.0]]), [[10.0, 0.0, -7.0]])


def test_covariance_is_diagonal_of_squares() -> None:
    radar = Radar3D(with_radial_velocity=True)
    sig = np.array([[10.0, 0.01, 0.02, 1.5], [20.0, 0.02, 0.03, 0.5]])
    R = radar.covariance(sig)
    assert R.shape == (2, 4, 4)
    assert np.array_equal(np.diagonal(R, axis1=1, axis2=2), sig**2)
    assert np.count_nonzero(R) == 8
    with pytest.raises(ValueError, match=r"sigmas of shape \(K, 4\), got \(2, 3\)"):
        radar.covariance(sig[:, :3])


# -------------------------------------------------------------------- inverse


@pytest.mark.parametrize("rv", [False, True])
def test_radar3d_inverse_round_trip_and_linearised_covariance(rv: bool) -> None:
    rng = np.random.default_rng(11)
    x, site, angles = scenario(rng)
    rot = np.stack(
        [
            ss_model(
                CartesianToElevationBearingRange, site[k], angles[k], 6, ndim_meas=3
            ).rotation_matrix
            for k in range(K)
        ]
    )
    radar = Radar3D(with_radial_velocity=rv)
    z = radar.h(x, site, rot)
    R = radar.covariance(np.tile([15.0, 0.01, 0.02, 1.0][: radar.ndim_meas], (K, 1)))
    pos, cov = radar.inverse(z, site, rot, R)
    assert np.allclose(pos, x[:, :3], rtol=0, atol=1e-8)
    # The position Jacobian of h is the inverse of the inverse's Jacobian.
    Hp = radar.jacobian(x, site, rot)[:, :3, :3]
    back = Hp @ cov @ np.swapaxes(Hp, 1, 2)
    scale = 1.0 / np.sqrt(np.diagonal(R[:, :3, :3], axis1=1, axis2=2))
    normalised = scale[:, :, None] * back * scale[:, None, :]  # correlation-like, should be I
    assert np.allclose(normalised, np.eye(3), rtol=0, atol=1e-9)
    for k in range(K):
        ss = ss_model(CartesianToElevationBearingRange, site[k], angles[k], 6, ndim_meas=3)
        meas = StateVector([z[k, 2], np.pi / 2 - z[k, 1], z[k, 0]])
        ss_pos = np.asarray(ss.inverse_function(Detection(meas)), dtype=float).ravel()[:3]
        assert np.allclose(pos[k], ss_pos, rtol=0, atol=1e-8)


# ------------------------------------------------------------------ contract


def test_parameters_checked_at_construction() -> None:
    with pytest.raises(TypeError, match="Radar3D with_radial_velocity must be a bool, got 1"):
        Radar3D(with_radial_velocity=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Radar2D with_radial_velocity must be a bool"):
        Radar2D(with_radial_velocity="yes")  # type: ignore[arg-type]


def test_state_shape_checked() -> None:
    with pytest.raises(ValueError, match=r"d >= 6, got \(3, 3\)"):
        Radar3D(True).h(np.zeros((3, 3)))
    assert Radar3D(False).h(np.array([[0.0, 1000.0, 0.0]])).shape == (1, 3)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_inputs_are_not_modified(model: MeasurementModel) -> None:
    rng = np.random.default_rng(12)
    x, site, angles = scenario(rng)
    rot = enu_rotation(55.0 + angles[:, 0], 24.0 + angles[:, 1], 55.0, 24.0)
    z = model.h(x, site, rot) + 0.01
    R = model.covariance(np.full((K, model.ndim_meas), 0.1))
    arrays = (x, site, rot, z, R)
    copies = [a.copy() for a in arrays]
    for a in arrays:
        a.setflags(write=False)
    model.h(x, site, rot)
    model.jacobian(x, site, rot)
    model.residual(z, model.h(x, site, rot))
    if hasattr(model, "inverse"):
        model.inverse(z, site, rot, R)
    for a, c in zip(arrays, copies, strict=True):
        assert np.array_equal(a, c)


@pytest.mark.parametrize("model", MODELS, ids=repr)
def test_large_batch_shapes(model: MeasurementModel) -> None:
    rng = np.random.default_rng(13)
    k = 10_000
    x, site, angles = scenario(rng, k=k, d=7)
    rot = enu_rotation(55.0 + angles[:, 0], 24.0 + angles[:, 1], 55.0, 24.0)
    assert model.h(x, site, rot).shape == (k, model.ndim_meas)
    H = model.jacobian(x, site, rot)
    assert H.shape == (k, model.ndim_meas, 7)
    assert np.isfinite(H).all()
