"""Tests of skyfence.geo.horizon: 4/3-earth radar horizon and smooth-earth line of sight."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from skyfence.geo import horizon
from skyfence.geo.horizon import (
    EARTH_RADIUS_M,
    K_FACTOR,
    line_of_sight,
    max_los_range_m,
    min_visible_height_m,
    radar_horizon_m,
)


def sqrt_formula(h: np.ndarray, k: float = K_FACTOR) -> np.ndarray:
    """Textbook small-height horizon d = sqrt(2 k R h)."""
    return np.sqrt(2.0 * k * EARTH_RADIUS_M * np.asarray(h))


def test_constants() -> None:
    assert EARTH_RADIUS_M == 6_371_000.0
    assert K_FACTOR == pytest.approx(4.0 / 3.0)


def test_docstring_examples() -> None:
    result = doctest.testmod(horizon)
    assert result.attempted >= 5
    assert result.failed == 0


def test_horizon_reference_values() -> None:
    # d = sqrt(2 (4/3) R h): 10 m -> 13.03 km, 100 m -> 41.2 km.
    assert float(radar_horizon_m(10.0)) == pytest.approx(13_034.3, abs=1.0)
    assert float(radar_horizon_m(100.0)) == pytest.approx(41_218.0, abs=10.0)
    assert float(radar_horizon_m(0.0)) == 0.0
    # The rule of thumb 4.12 km * sqrt(h / m).
    h = np.array([1.0, 4.0, 25.0, 400.0])
    np.testing.assert_allclose(radar_horizon_m(h), 4_122.0 * np.sqrt(h), rtol=1e-3)


def test_horizon_matches_sqrt_formula_below_1km() -> None:
    h = np.geomspace(0.01, 1_000.0, 200)
    rel = np.abs(radar_horizon_m(h) / sqrt_formula(h) - 1.0)
    assert np.max(rel) < 1e-3


def test_horizon_is_exact_arc_on_effective_sphere() -> None:
    h = np.array([1_000.0, 10_000.0, 100_000.0, 1_000_000.0])
    re = K_FACTOR * EARTH_RADIUS_M
    np.testing.assert_allclose(radar_horizon_m(h), re * np.arccos(re / (re + h)), rtol=1e-12)
    # k = 1: geometric horizon of the bare earth.
    np.testing.assert_allclose(radar_horizon_m(50.0, k=1.0), sqrt_formula(50.0, 1.0), rtol=1e-5)
    # Horizon grows with height, and with k.
    d = radar_horizon_m(np.linspace(0.0, 5_000.0, 101))
    assert np.all(np.diff(d) > 0)
    assert float(radar_horizon_m(30.0, k=2.0)) > float(radar_horizon_m(30.0))


def test_max_los_range_is_sum_of_horizons() -> None:
    hs = np.array([5.0, 10.0, 30.0])[:, None]
    ht = np.array([0.0, 50.0, 120.0, 3_000.0])[None, :]
    r = max_los_range_m(hs, ht)
    assert r.shape == (3, 4)
    np.testing.assert_allclose(r, radar_horizon_m(hs) + radar_horizon_m(ht), rtol=1e-15)
    assert float(max_los_range_m(10.0, 100.0)) == pytest.approx(54_252.2, abs=0.5)


def test_min_visible_height() -> None:
    hs = 10.0
    d_s = float(radar_horizon_m(hs))
    # Inside the sensor's own horizon the ground itself is visible.
    np.testing.assert_array_equal(min_visible_height_m(hs, [0.0, 1_000.0, d_s * 0.999]), 0.0)
    # Beyond it, the lowest visible height is the one whose horizon closes the gap.
    ht = np.array([1.0, 10.0, 100.0, 1_000.0, 10_000.0])
    d = max_los_range_m(hs, ht)
    np.testing.assert_allclose(min_visible_height_m(hs, d), ht, rtol=1e-9)
    # Monotonic in distance, and the textbook sqrt form for small heights.
    assert float(min_visible_height_m(hs, 30_000.0)) == pytest.approx(
        (30_000.0 - float(sqrt_formula(hs))) ** 2 / (2 * K_FACTOR * EARTH_RADIUS_M), rel=2e-3
    )
    dd = np.linspace(0.0, 500_000.0, 400)
    assert np.all(np.diff(min_visible_height_m(hs, dd)) >= 0.0)
    # A quarter of the effective earth beyond the horizon nothing comes back.
    far = d_s + np.pi / 2.0 * K_FACTOR * EARTH_RADIUS_M + 1.0
    assert np.isinf(min_visible_height_m(hs, far))


def test_line_of_sight_limit_consistency() -> None:
    rng = np.random.default_rng(0)
    hs = rng.uniform(0.0, 100.0, 2_000)
    d = rng.uniform(0.0, 200_000.0, 2_000)
    h_min = min_visible_height_m(hs, d)
    # Exactly at the limit the target grazes the horizon: visible.
    assert np.all(line_of_sight(hs, h_min, d))
    assert np.all(line_of_sight(hs, h_min * (1.0 + 1e-9) + 1e-6, d))
    beyond = h_min > 0.0
    assert not np.any(line_of_sight(hs, h_min * (1.0 - 1e-6) - 1e-6, d)[beyond])
    # The same decision via horizon distances.
    ht = rng.uniform(0.0, 3_000.0, 2_000)
    by_range = d <= max_los_range_m(hs, ht) * (1.0 - 1e-12)
    los = line_of_sight(hs, ht, d)
    assert np.all(los[by_range])
    assert not np.any(los[d > max_los_range_m(hs, ht) * (1.0 + 1e-12)])


def test_line_of_sight_invalid_inputs() -> None:
    # Below ground is never visible, even right next to the sensor.
    assert not bool(line_of_sight(10.0, -0.1, 0.0))
    assert bool(line_of_sight(10.0, 0.0, 100.0))
    out = line_of_sight(10.0, [np.nan, 10.0, 10.0, 10.0], [100.0, np.nan, -5.0, 100.0])
    assert out.dtype == np.bool_
    assert out.tolist() == [False, False, False, True]
    assert not bool(line_of_sight(np.nan, 10.0, 100.0))
    assert not bool(line_of_sight(-1.0, 10.0, 100.0))


def test_invalid_heights_give_nan_without_warning() -> None:
    out = radar_horizon_m([-1.0, np.nan, 5.0])
    assert np.isnan(out[:2]).all() and np.isfinite(out[2])
    assert np.isnan(radar_horizon_m(5.0, k=0.0))
    assert np.isnan(min_visible_height_m(-1.0, 10_000.0))
    assert np.isnan(min_visible_height_m(10.0, -1.0))
    assert np.isnan(max_los_range_m(10.0, np.nan))


def test_shapes_and_types() -> None:
    assert radar_horizon_m(10.0).shape == ()
    assert isinstance(radar_horizon_m(10.0), np.ndarray)
    assert line_of_sight(10.0, 10.0, 1_000.0).shape == ()
    hs = np.array([5.0, 10.0])[:, None, None]
    ht = np.array([1.0, 2.0, 3.0])[None, :, None]
    d = np.array([1e3, 1e4, 1e5, 1e6])
    assert line_of_sight(hs, ht, d).shape == (2, 3, 4)
    assert min_visible_height_m(hs, d).shape == (2, 1, 4)
    assert radar_horizon_m(hs, k=np.array([1.0, 4.0 / 3.0])).shape == (2, 1, 2)


def test_inputs_not_mutated() -> None:
    hs = np.array([5.0, -1.0, np.nan, 30.0])
    ht = np.array([10.0, 20.0, 30.0, -4.0])
    d = np.array([1e3, 2e4, 3e4, 4e5])
    k = np.array([4.0 / 3.0, 1.0, 0.0, 2.0])
    copies = [a.copy() for a in (hs, ht, d, k)]
    radar_horizon_m(hs, k)
    max_los_range_m(hs, ht, k)
    min_visible_height_m(hs, d, k)
    line_of_sight(hs, ht, d, k)
    for a, c in zip((hs, ht, d, k), copies, strict=True):
        np.testing.assert_array_equal(a, c)
