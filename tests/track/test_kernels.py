"""The compiled kernels agree with the numpy path they replace.

Gate and update: ``ConstantVelocity.predict`` → ``filters.innovation`` →
``model.residual`` → ``filters.mahalanobis2`` / ``filters.ekf_correct`` (and the
tracker's one-step-lag out-of-sequence update), on random radar cases with a
sensor away from the origin and rotated, with and without radial velocity, across
north and with detections older than their tracks.  Coarse gate: the same pairs as
the numpy ``searchsorted`` windows, the same per-track reach and windows and the
same M-of-N looks as the numpy passes they replaced.  Assignment: optimal, as scipy's on the whole
problem, with scipy's cluster labels.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from skyfence.track import filters, kernels, measurement, motion
from skyfence.track.associate import gnn_assign

RTOL = 1e-9
Q, QV = 2.0, 0.5
LAT0, LON0 = 55.0, 24.0
GATE = np.array([np.inf, 10.8, 13.8, 16.3, 18.5])   # ~99.9 % chi-square, by dimension
SEEDS = [0, 1, 2, 3]


def _sensor(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A radar some tens of km from the tracking origin: its site and rotation."""
    lat, lon = LAT0 + rng.uniform(-0.4, 0.4), LON0 + rng.uniform(-0.6, 0.6)
    site = measurement.site_position(lat, lon, 150.0, LAT0, LON0, 100.0)[0]
    rot = measurement.enu_rotation(lat, lon, LAT0, LON0)[0]
    return site, rot


def _case(seed: int, elevation: bool, n: int = 120, north: bool = False) -> dict:
    """Tracks around a radar, one detection per track near its prediction, plus pairs of
    every track with a few other detections (some out of sequence: dt < 0)."""
    rng = np.random.default_rng(seed)
    site, rot = _sensor(rng)
    cv = motion.ConstantVelocity(Q, q_vertical=QV)
    # positions in the radar's own axes (range, azimuth, height), then to the tracking frame
    rho = rng.uniform(2_000.0, 40_000.0, n)
    az = rng.normal(0.0, 0.004, n) if north else rng.uniform(0.0, 2.0 * np.pi, n)
    local = np.column_stack([rho * np.sin(az), rho * np.cos(az), rng.uniform(50.0, 3_000.0, n)])
    x = np.zeros((n, 6))
    x[:, :3] = local @ rot + site
    x[:, 3:5] = rng.normal(0.0, 30.0, (n, 2))
    x[:, 5] = rng.normal(0.0, 2.0, n)
    A = rng.normal(size=(n, 6, 6)) * np.array([20.0, 20.0, 20.0, 3.0, 3.0, 1.0])[:, None]
    P = A @ np.swapaxes(A, 1, 2) + np.diag([60.0, 60.0, 40.0, 5.0, 5.0, 2.0]) ** 2
    t = 100.0 + rng.uniform(0.0, 1.0, n)
    time = t + rng.uniform(-1.5, 3.0, n)                  # some detections precede their track
    model3 = measurement.Radar3D(with_radial_velocity=True)
    truth = cv.transition(x, time - t)
    zt = model3.h(truth, site, rot)                       # [r, az, el, rv]
    sig = np.column_stack([rng.uniform(5.0, 30.0, n), np.radians(rng.uniform(0.1, 0.5, n)),
                           np.radians(rng.uniform(0.1, 0.5, n)), rng.uniform(0.3, 2.0, n)])
    zt = zt + rng.normal(size=(n, 4)) * sig * 3.0
    zt[:, 1] %= 2.0 * np.pi
    zt[:, 2] = np.clip(zt[:, 2], -np.pi / 2, np.pi / 2)
    if elevation:
        z, sigma = zt, sig
    else:                                                 # Radar2D layout [r, az, rv, nan]
        z = np.column_stack([zt[:, 0], zt[:, 1], zt[:, 3], np.full(n, np.nan)])
        sigma = np.column_stack([sig[:, 0], sig[:, 1], sig[:, 3], np.full(n, np.nan)])
    use_rv = rng.random(n) < 0.5
    own = np.arange(n)
    other_t = rng.integers(0, n, 3 * n)
    other_d = rng.integers(0, n, 3 * n)
    return dict(x=x, P=P, t=t, time=time, z=z, sigma=sigma, use_rv=use_rv, site=site, rot=rot,
                elevation=elevation, own=own, ti=np.concatenate([own, other_t]),
                di=np.concatenate([own, other_d]))


def _model(elevation: bool, rv: bool) -> measurement.MeasurementModel:
    return measurement.Radar3D(rv) if elevation else measurement.Radar2D(rv)


def _numpy_gate(c: dict, ti: np.ndarray, di: np.ndarray) -> tuple[np.ndarray, ...]:
    """d2, predicted x, P and the per-pair (nu, H, S, R) groups, as the tracker forms them."""
    cv = motion.ConstantVelocity(Q, q_vertical=QV)
    xp, Pp = cv.predict(c["x"][ti], c["P"][ti], c["time"][di] - c["t"][ti])
    rv = c["use_rv"][di]
    d2 = np.empty(ti.size)
    for use in (False, True):
        sel = np.flatnonzero(rv == use)
        model = _model(c["elevation"], use)
        m = model.ndim_meas
        R = model.covariance(c["sigma"][di[sel], :m])
        zhat, H, S = filters.innovation(xp[sel], Pp[sel], model,
                                        np.broadcast_to(c["site"], (sel.size, 3)),
                                        np.broadcast_to(c["rot"], (sel.size, 3, 3)), R)
        nu = model.residual(c["z"][di[sel], :m], zhat)
        d2[sel] = filters.mahalanobis2(nu, S)
    return d2, xp, Pp


def _numpy_update(c: dict, ti: np.ndarray, di: np.ndarray,
                  oosm: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    _, xp, Pp = _numpy_gate(c, ti, di)
    x_new = np.empty_like(xp)
    P_new = np.empty_like(Pp)
    t_det = c["time"][di]
    late = t_det < c["t"][ti]
    rv = c["use_rv"][di]
    for use in (False, True):
        sel = np.flatnonzero(rv == use)
        model = _model(c["elevation"], use)
        m = model.ndim_meas
        R = model.covariance(c["sigma"][di[sel], :m])
        site = np.broadcast_to(c["site"], (sel.size, 3))
        rot = np.broadcast_to(c["rot"], (sel.size, 3, 3))
        zhat, H, S = filters.innovation(xp[sel], Pp[sel], model, site, rot, R)
        nu = model.residual(c["z"][di[sel], :m], zhat)
        x_new[sel], P_new[sel] = filters.ekf_correct(xp[sel], Pp[sel], nu, H, S, R)
        k = np.flatnonzero(late[sel]) if oosm else np.empty(0, np.int64)
        if k.size:
            s = sel[k]
            F = motion.ConstantVelocity(Q, q_vertical=QV).jacobian(c["x"][ti[s]],
                                                                   t_det[s] - c["t"][ti[s]])
            x_new[s], P_new[s] = filters.oosm_correct(c["x"][ti[s]], c["P"][ti[s]], F, xp[s],
                                                      Pp[s], c["z"][di[s], :m], model,
                                                      site[k], rot[k], R[k])
    t_new = np.where(late, c["t"][ti], t_det) if oosm else t_det
    return x_new, P_new, t_new


def _args(c: dict, ti: np.ndarray, di: np.ndarray) -> tuple:
    return (c["x"], c["P"], c["t"], ti, di, c["time"], c["z"], c["sigma"], c["use_rv"],
            c["site"], c["rot"], Q, QV)


def _assert_states_close(x: np.ndarray, P: np.ndarray, x_ref: np.ndarray,
                         P_ref: np.ndarray) -> None:
    """Means to RTOL of max(|x|, sigma); covariances to RTOL of sqrt(P_ii P_jj)."""
    sig = np.sqrt(np.einsum("kii->ki", P_ref))
    assert np.all(np.abs(x - x_ref) <= RTOL * np.maximum(np.abs(x_ref), sig))
    assert np.all(np.abs(P - P_ref) <= RTOL * sig[:, :, None] * sig[:, None, :])


# -------------------------------------------------------------------------------- gate


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("elevation", [True, False])
@pytest.mark.parametrize("north", [False, True])
def test_gate_matches_numpy(seed: int, elevation: bool, north: bool) -> None:
    c = _case(seed, elevation, north=north)
    ti, di = c["ti"], c["di"]
    d2, cost = kernels.cv_radar_gate(*_args(c, ti, di), GATE, elevation=elevation)
    ref, _, _ = _numpy_gate(c, ti, di)
    np.testing.assert_allclose(d2, ref, rtol=RTOL, atol=0.0)
    m = (3 if elevation else 2) + c["use_rv"][di]
    np.testing.assert_array_equal(cost, np.where(d2 <= GATE[m], d2 - GATE[m], np.inf))
    # the case covers what it claims: late detections, both groups, both gate outcomes
    assert (c["time"][di] < c["t"][ti]).any() and c["use_rv"][di].any()
    assert np.isfinite(cost).any() and np.isinf(cost).any()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("elevation", [True, False])
def test_gate_without_exact_d2_outside_gives_the_same_costs(seed: int, elevation: bool) -> None:
    c = _case(seed + 20, elevation, north=seed % 2 == 0)
    ti, di = c["ti"], c["di"]
    # a tight gate too: more pairs near its edge
    for gate in (GATE, GATE / 8.0):
        d2, cost = kernels.cv_radar_gate(*_args(c, ti, di), gate, elevation=elevation)
        d2_fast, cost_fast = kernels.cv_radar_gate(*_args(c, ti, di), gate, elevation=elevation,
                                                   exact=False)
        np.testing.assert_array_equal(cost_fast, cost)
        inside = np.isfinite(cost)
        np.testing.assert_array_equal(d2_fast[inside], d2[inside])
        m = (3 if elevation else 2) + c["use_rv"][di]
        # outside: d2 or a lower bound of it, still above the gate
        assert np.all(d2_fast[~inside] <= d2[~inside] * (1 + 1e-9))
        assert np.all(d2_fast[~inside] > gate[m][~inside])
        assert (d2_fast[~inside] < d2[~inside] * (1 - 1e-6)).any()


def test_gate_wraps_azimuth_at_north() -> None:
    c = _case(5, True, n=60, north=True)
    own = c["own"]
    zhat = measurement.Radar3D(False).h(motion.ConstantVelocity(Q, q_vertical=QV).transition(
        c["x"], c["time"] - c["t"]), c["site"], c["rot"])
    # detections and predictions on both sides of north: the residual must be small
    c["z"][own, 1] = (zhat[:, 1] + np.where(np.arange(own.size) % 2, 1, -1) * 0.002) \
        % (2 * np.pi)
    assert (np.abs(c["z"][own, 1] - zhat[:, 1]) > np.pi).any()
    d2, cost = kernels.cv_radar_gate(*_args(c, own, own), GATE)
    ref, _, _ = _numpy_gate(c, own, own)
    np.testing.assert_allclose(d2, ref, rtol=RTOL, atol=0.0)
    assert np.all(d2 < 1e4)


def test_gate_of_no_pairs_and_bad_input() -> None:
    c = _case(0, True, n=10)
    e = np.empty(0, np.int64)
    d2, cost = kernels.cv_radar_gate(*_args(c, e, e), GATE)
    assert d2.shape == cost.shape == (0,)
    with pytest.raises(ValueError, match="out of range"):
        kernels.cv_radar_gate(*_args(c, np.array([10]), np.array([0])), GATE)
    with pytest.raises(ValueError, match="gate thresholds"):
        kernels.cv_radar_gate(*_args(c, e, e), GATE[:4])
    with pytest.raises(ValueError, match="constant-velocity"):
        kernels.cv_radar_gate(c["x"][:, :4], *_args(c, e, e)[1:], GATE)


def test_gate_of_a_track_at_the_radar_is_outside() -> None:
    c = _case(1, True, n=10)
    c["x"][0, :3] = c["site"]
    c["time"][0] = c["t"][0]
    d2, cost = kernels.cv_radar_gate(*_args(c, np.array([0]), np.array([0])), GATE)
    assert np.isnan(d2[0]) and np.isinf(cost[0])


# ------------------------------------------------------------------------------ update


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("elevation", [True, False])
@pytest.mark.parametrize("oosm", [True, False])
def test_update_matches_numpy(seed: int, elevation: bool, oosm: bool) -> None:
    c = _case(seed + 10, elevation, north=seed % 2 == 1)
    own = c["own"]
    x, P, t = kernels.cv_radar_update(*_args(c, own, own), elevation=elevation, oosm=oosm)
    x_ref, P_ref, t_ref = _numpy_update(c, own, own, oosm)
    assert (c["time"] < c["t"]).any()
    _assert_states_close(x, P, x_ref, P_ref)
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(P, np.swapaxes(P, 1, 2))


def test_update_of_a_repeated_track_and_no_pairs() -> None:
    c = _case(2, True, n=20)
    ti = np.array([3, 3, 7])
    di = np.array([3, 5, 7])
    x, P, t = kernels.cv_radar_update(*_args(c, ti, di))
    x_ref, P_ref, t_ref = _numpy_update(c, ti, di, True)
    _assert_states_close(x, P, x_ref, P_ref)
    e = np.empty(0, np.int64)
    x, P, t = kernels.cv_radar_update(*_args(c, e, e))
    assert x.shape == (0, 6) and P.shape == (0, 6, 6) and t.shape == (0,)


def test_inputs_are_not_modified() -> None:
    c = _case(3, True, n=30)
    before = {k: np.copy(v) for k, v in c.items() if isinstance(v, np.ndarray)}
    kernels.cv_radar_gate(*_args(c, c["ti"], c["di"]), GATE)
    kernels.cv_radar_update(*_args(c, c["own"], c["own"]))
    for k, v in before.items():
        np.testing.assert_array_equal(c[k], v)


# ------------------------------------------------------------------------- coarse gate


@pytest.mark.parametrize("seed", SEEDS)
def test_polar_candidates_match_numpy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 400, 300
    az_t = rng.uniform(0.0, 2 * np.pi, n)
    az_t[:40] = rng.uniform(0.0, 0.01, 40)                      # around north
    az_t[40:80] = 2 * np.pi - rng.uniform(1e-9, 0.01, 40)
    r_t = rng.uniform(0.0, 50_000.0, n)
    w_az = np.minimum(rng.exponential(0.02, n), np.pi)
    w_az[:5] = np.pi                                            # the whole turn
    w_r = rng.exponential(500.0, n)
    az_d = rng.uniform(0.0, 2 * np.pi, k)
    az_d[:20] = rng.uniform(-0.005, 0.005, 20) % (2 * np.pi)
    az_d[20] = 2 * np.pi                                        # 360 deg is north
    az_d[21:25] = az_d[30]                                      # ties
    r_d = rng.uniform(0.0, 50_000.0, k)
    r_d[:20] = r_t[:20]
    # windows ending exactly on a plot, in azimuth and in range (both ends count)
    az_d[40:44] = [1.0, 2.0, 0.25, 6.0]
    r_d[40:44] = [1_000.0, 1_500.0, 1_000.0, 3_000.0]
    az_t[100:104] = [1.5, 1.5, 0.75, 5.5]
    w_az[100:104] = 0.5
    r_t[100:104] = [1_000.0, 1_000.0, 1_500.0, 2_000.0]
    w_r[100:104] = [0.0, 500.0, 500.0, 1_000.0]
    # a track with no position: no pairs
    az_t[104], r_t[104], w_az[104], w_r[104] = np.nan, np.nan, np.pi, np.nan
    ti, di = kernels.polar_candidates(az_t, r_t, w_az, w_r, az_d, r_d)
    ti_ref, di_ref = kernels.polar_candidates_numpy(az_t, r_t, w_az, w_r, az_d, r_d)
    np.testing.assert_array_equal(ti, ti_ref)
    np.testing.assert_array_equal(di, di_ref)
    assert ti.size > 0
    pairs = set(zip(ti.tolist(), di.tolist(), strict=True))
    assert {(100, 40), (101, 40), (101, 41), (102, 40), (103, 43)} <= pairs
    assert 104 not in ti
    # each pair at most once
    assert np.unique(ti * k + di).size == ti.size


def test_polar_candidates_without_tracks_or_plots() -> None:
    one = np.ones(3)
    e = np.empty(0)
    for args in ((e, e, e, e, one, one), (one, one, one, one, e, e)):
        ti, di = kernels.polar_candidates(*args)
        assert ti.size == di.size == 0
        assert ti.dtype == di.dtype == np.int64


def _tracks_around(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Random CV tracks (x, P, t) some km around the origin, a few of them degenerate."""
    x = np.concatenate([rng.uniform(-30_000, 30_000, (n, 2)), rng.uniform(50, 3_000, (n, 1)),
                        rng.normal(0.0, 40.0, (n, 3))], axis=1)
    A = rng.normal(0.0, 1.0, (n, 6, 6))
    P = np.einsum("kij,klj->kil", A, A) * rng.uniform(1.0, 400.0, (n, 1, 1))
    P[:3, :3, :3] *= -1.0                      # a negative variance: a sigma of zero
    t = 100.0 + rng.uniform(-8.0, 2.0, n)
    return x, P, t


@pytest.mark.parametrize("seed", SEEDS)
def test_coarse_reach_and_polar_windows_match_numpy(seed: int) -> None:
    """Position, sigma and motion predicted to the frame, and the polar windows, as the
    tracker's former numpy passes computed them."""
    rng = np.random.default_rng(seed)
    n = 300
    x, P, t = _tracks_around(rng, n)
    site, rot = _sensor(rng)
    x[5, :3] = site                            # a track on the radar: zero range
    x[5, 3:] = 0.0
    t_ref, q, vmax, half = 101.0, 3.0, 80.0, 0.6
    pos, sig, move = kernels.coarse_reach(x, P, t, t_ref, q, vmax, half)
    dt = t_ref - t
    var = (P[:, 0, 0] + P[:, 1, 1] + P[:, 2, 2] + 2.0 * dt * (P[:, 0, 3] + P[:, 1, 4] + P[:, 2, 5])
           + dt**2 * (P[:, 3, 3] + P[:, 4, 4] + P[:, 5, 5]) + q * np.abs(dt) ** 3)
    np.testing.assert_allclose(pos, x[:, :3] + x[:, 3:6] * dt[:, None], rtol=RTOL)
    np.testing.assert_allclose(sig, np.sqrt(np.maximum(var, 0.0)), rtol=RTOL)
    assert (sig[:3] >= 0.0).all()
    speed = np.linalg.norm(x[:, 3:6], axis=1)
    sig_v = np.sqrt(np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2))
    np.testing.assert_allclose(move, np.minimum(speed + 3.0 * sig_v, vmax) * half, rtol=RTOL)
    g, s_r, s_az = 4.0, 15.0, 0.004
    az_t, r_t, w_az, w_r = kernels.polar_windows(pos, sig, move, site, rot, g, s_r, s_az)
    local = np.einsum("ij,kj->ki", rot, pos - site)
    r_ref = np.linalg.norm(local, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_az_ref = g * np.sqrt(s_az**2 + (sig / r_ref) ** 2) + move / r_ref
    w_az_ref = np.where(np.isfinite(w_az_ref), np.minimum(w_az_ref, np.pi), np.pi)
    np.testing.assert_allclose(r_t, r_ref, rtol=RTOL, atol=1e-6)
    np.testing.assert_allclose(az_t, np.arctan2(local[:, 0], local[:, 1]) % (2 * np.pi),
                               rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(w_r, g * np.sqrt(s_r**2 + sig**2) + move, rtol=RTOL)
    np.testing.assert_allclose(w_az, w_az_ref, rtol=RTOL)
    assert w_az[5] == np.pi and ((az_t >= 0.0) & (az_t < 2 * np.pi)).all()
    # d > 6 (turn rate or acceleration after the velocity) is read the same way
    x8 = np.concatenate([x, np.ones((n, 2))], axis=1)
    P8 = np.zeros((n, 8, 8))
    P8[:, :6, :6] = P
    for a, b in zip(kernels.coarse_reach(x8, P8, t, t_ref, q, vmax, half),
                    (pos, sig, move), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", SEEDS)
def test_radar_looks_match_numpy(seed: int) -> None:
    """Looks of a frame: the tracks seen before and in range, and a rotating radar's beam
    passes over each, as the tracker's former numpy version counted them."""
    rng = np.random.default_rng(seed)
    n = 400
    x, _, t = _tracks_around(rng, n)
    site, rot = _sensor(rng)
    seen = rng.integers(0, 4, n).astype(np.uint64)
    bit, t_ref, reach = 2, 100.5, 35_000.0
    pos = x[:, :3] + x[:, 3:6] * (t_ref - t)[:, None]
    inside = (np.linalg.norm(pos - site, axis=1) <= reach) & ((seen & np.uint64(bit)) != 0)
    assert 0 < inside.sum() < n
    x[0, :3] = np.nan                          # no position: no look
    inside[0] = False
    np.testing.assert_array_equal(
        kernels.radar_looks(x, t, t_ref, site, rot, reach, seen, bit, None), inside)
    for t_r, az_r, t_prev, period in [(100.9, 1.0, 99.9, 1.0), (100.9, 6.2, 96.0, 1.0),
                                      (104.0, 3.0, 100.0, 8.0), (100.0, 0.5, 101.0, 1.0)]:
        tol = 0.05 * period
        local = (pos - site) @ rot.T
        az = np.arctan2(local[:, 0], local[:, 1])
        ahead = np.mod(az - az_r, 2.0 * np.pi) / (2.0 * np.pi) * period
        t_last = t_r + np.where(ahead <= tol, ahead, ahead - period)
        passes = np.where(t_last > t_prev + tol,
                          np.floor((t_last - t_prev - tol) / period) + 1.0, 0.0)
        got = kernels.radar_looks(x, t, t_ref, site, rot, reach, seen, bit,
                                  (t_r, az_r, t_prev, period))
        np.testing.assert_array_equal(got, np.where(inside, passes, 0).astype(np.int64))
    assert got.sum() == 0                      # a frame older than the previous one


def test_local_velocity_sigma_match_numpy() -> None:
    """Velocity and sigmas in the local ENU at each track, as the rotation of
    ``measurement.enu_rotation`` gives them."""
    rng = np.random.default_rng(7)
    n = 500
    lat = LAT0 + rng.uniform(-2.0, 2.0, n)
    lon = LON0 + rng.uniform(-3.0, 3.0, n)
    v = rng.normal(0.0, 50.0, (n, 3))
    A = rng.normal(0.0, 30.0, (n, 3, 3))
    P = np.einsum("kij,klj->kil", A, A)
    rot = measurement.enu_rotation(lat, lon, LAT0, LON0)
    v_loc, sig = kernels.local_velocity_sigma(lat, lon, LAT0, LON0, v, P)
    np.testing.assert_allclose(v_loc, np.einsum("kij,kj->ki", rot, v), rtol=RTOL, atol=1e-9)
    np.testing.assert_allclose(sig, np.sqrt(np.sum((rot @ P) * rot, axis=2)), rtol=RTOL)


def test_mod_is_python_modulo() -> None:
    """The compiled modulo without fmod gives Python's ``%`` to the bit, zeros and the
    far ends included."""
    b = kernels._TWO_PI
    a = np.concatenate([np.random.default_rng(0).uniform(-3 * b, 3 * b, 10_000),
                        [0.0, -0.0, b, -b, 2 * b, -2 * b, np.nextafter(2 * b, 0),
                         np.nextafter(-2 * b, 0), -1e-300, 1e-300, np.inf, -np.inf, np.nan]])
    got = np.array([kernels._mod(v, b) for v in a])
    want = np.array([v % b if np.isfinite(v) else np.nan for v in a])
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got[np.isfinite(got)]).any()


# -------------------------------------------------------------------------- assignment


def _optimum(ti: np.ndarray, di: np.ndarray, cost: np.ndarray, nt: int, nd: int) -> float:
    """The best total over the whole problem at once (scipy, dense, 0 = unassigned)."""
    mat = np.zeros((nt, nd))
    np.minimum.at(mat, (ti, di), np.minimum(cost, 0.0))
    r, k = linear_sum_assignment(mat)
    return float(mat[r, k].sum())


@pytest.mark.parametrize("seed", SEEDS)
def test_gnn_is_optimal_and_labels_as_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        nt, nd = int(rng.integers(1, 30)), int(rng.integers(1, 30))
        mask = rng.uniform(size=(nt, nd)) < rng.uniform(0.02, 0.4)
        ti, di = np.nonzero(mask)
        perm = rng.permutation(ti.size)
        ti, di = ti[perm], di[perm]
        cost = rng.uniform(-10.0, 2.0, ti.size)
        chosen, cluster = gnn_assign(ti, di, cost, nt, nd)
        assert np.all(np.diff(chosen) > 0)
        assert np.unique(ti[chosen]).size == chosen.size
        assert np.unique(di[chosen]).size == chosen.size
        assert np.all(cost[chosen] < 0)
        assert float(cost[chosen].sum()) == pytest.approx(_optimum(ti, di, cost, nt, nd),
                                                          rel=1e-12, abs=1e-12)
        if ti.size:
            graph = coo_matrix((np.ones(ti.size), (ti, nt + di)), shape=(nt + nd, nt + nd))
            _, label = connected_components(graph, directed=False)
            np.testing.assert_array_equal(cluster, label[ti])


def test_gnn_singletons_stars_and_never_taken_costs() -> None:
    # track 0 alone with det 0; track 1 sees dets 1, 2, 3 (a star); det 4 seen by tracks 2, 3
    ti = np.array([0, 1, 1, 1, 2, 3, 4])
    di = np.array([0, 1, 2, 3, 4, 4, 5])
    cost = np.array([-1.0, -2.0, -5.0, 1.0, -3.0, -4.0, np.nan])
    chosen, cluster = gnn_assign(ti, di, cost, 5, 6)
    assert chosen.tolist() == [0, 2, 5]
    assert cluster[1] == cluster[2] == cluster[3] and cluster[4] == cluster[5]
    # a cost of +inf or >= 0 is never taken
    chosen, _ = gnn_assign(np.array([0]), np.array([0]), np.array([np.inf]), 1, 1)
    assert chosen.size == 0
    with pytest.raises(ValueError, match="-inf"):
        gnn_assign(np.array([0]), np.array([0]), np.array([-np.inf]), 1, 1)
    with pytest.raises(ValueError, match="out of range"):
        gnn_assign(np.array([1]), np.array([0]), np.array([-1.0]), 1, 1)


def test_warm_up_compiles_or_loads_every_kernel() -> None:
    assert kernels.warm_up() >= 0.0
    for kernel in (kernels._pair_kernel, kernels._polar_kernel, kernels._gnn_kernel):
        assert len(kernel.signatures) == 1    # one signature each: inputs are coerced
