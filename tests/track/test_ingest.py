"""Bad detections are refused with a reason, counted per sensor and quarantined;
the good ones go on."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.config.sensors import SensorDeployment, SensorSpec
from skyfence.track.ingest import POSITION, RADAR3D, Ingest

DEP = SensorDeployment(sensor=[
    SensorSpec(id="r1", kind="radar3d", lat_deg=54.6, lon_deg=25.6, alt_m=200.0,
               max_range_m=20_000.0),
    SensorSpec(id="df", kind="rf_df", lat_deg=54.7, lon_deg=25.5, alt_m=200.0),
    SensorSpec(id="adsb", kind="adsb", lat_deg=54.6, lon_deg=25.6, alt_m=200.0),
])
T0 = 1.75e9


def table(**cols: list) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    n = len(next(iter(cols.values())))
    base = {"time": [T0 + i for i in range(n)], "sensor_id": ["r1"] * n,
            "kind": ["radar3d"] * n, "range_m": [5000.0] * n, "azimuth_deg": [45.0] * n,
            "elevation_deg": [3.0] * n}
    base.update(cols)
    return {k: np.asarray(v) for k, v in base.items()}


def test_good_rows_pass_in_time_order() -> None:
    ing = Ingest(DEP, (54.6, 25.6, 200.0))
    b = ing(table(time=[T0 + 2, T0, T0 + 1], range_m=[1000.0, 2000.0, 3000.0]))
    assert len(b) == 3
    assert np.all(np.diff(b.time) >= 0)
    assert b.z[:, 0].tolist() == [2000.0, 3000.0, 1000.0]
    assert np.allclose(b.z[:, 1], np.radians(45.0))
    assert set(b.kind.tolist()) == {RADAR3D}
    assert np.allclose(b.sigma[:, 0], 10.0)  # the sensors file's default sigma
    assert len(ing.quarantine) == 0


@pytest.mark.parametrize(("cols", "reason"), [
    ({"sensor_id": ["r1", "zz"]}, "unknown sensor (sensor_id 'zz' is not in the sensors file)"),
    ({"kind": ["radar3d", "sonar"]}, "unknown kind (kind 'sonar' is not one of"),
    ({"range_m": [5000.0, float("nan")]}, "range_m is missing or not finite"),
    ({"range_m": [5000.0, -3.0]}, "range_m is not positive"),
    ({"range_m": [5000.0, 90_000.0]}, "range_m beyond twice the sensor's max_range_m"),
    ({"azimuth_deg": [45.0, 400.0]}, "azimuth_deg outside [0, 360]"),
    ({"elevation_deg": [3.0, 95.0]}, "elevation_deg outside [-90, 90]"),
    ({"time": [T0, float("nan")]}, "time is missing or not finite"),
    ({"time": [T0, T0 + 3600.0]}, "time in the future"),
    ({"time": [T0, T0 - 7200.0]}, "time too old"),
    ({"time": [T0, T0]}, "duplicate of an earlier detection"),
    ({"sensor_id": ["r1", "df"]}, "kind does not fit the sensor (a rf_df sensor cannot report "
                                  "'radar3d')"),
])
def test_bad_rows_are_quarantined_with_a_reason(cols: dict, reason: str) -> None:  # type: ignore[type-arg]
    ing = Ingest(DEP, (54.6, 25.6, 200.0))
    b = ing(table(**cols), now=T0 + 10)
    assert len(b) == 1  # the good row goes on
    q = ing.quarantine.table()
    assert q["row"].tolist() == [1]
    assert q["reason"][0].startswith(reason), q["reason"][0]
    assert sum(ing.quarantine.counts.values()) == 1


def test_duplicates_across_batches_and_counts_per_sensor() -> None:
    ing = Ingest(DEP, (54.6, 25.6, 200.0))
    t = table(time=[T0, T0 + 1])
    ing(t)
    b = ing(t)
    assert len(b) == 0
    assert ing.quarantine.counts[("r1", "duplicate of an earlier detection")] == 2


def test_position_reports_go_to_the_tracking_frame() -> None:
    ing = Ingest(DEP, (54.6, 25.6, 200.0))
    b = ing({"time": np.array([T0]), "sensor_id": np.array(["adsb"]),
             "kind": np.array(["position"]), "lat_deg": np.array([54.6]),
             "lon_deg": np.array([25.6]), "alt_m": np.array([1200.0]),
             "sigma_pos_m": np.array([7.0])})
    assert b.kind.tolist() == [POSITION]
    assert np.allclose(b.z[0, :3], [0.0, 0.0, 1000.0], atol=1e-6)
    assert np.allclose(b.sigma[0, :3], 7.0)


def test_missing_sigma_is_refused_not_guessed() -> None:
    dep = SensorDeployment(sensor=[SensorSpec(id="x", kind="adsb", lat_deg=54.6, lon_deg=25.6,
                                              alt_m=0.0, sigma_pos_m=0.0)])
    ing = Ingest(dep, (54.6, 25.6, 0.0))
    b = ing({"time": np.array([T0]), "sensor_id": np.array(["x"]), "kind": np.array(["position"]),
             "lat_deg": np.array([54.6]), "lon_deg": np.array([25.6]), "alt_m": np.array([10.0])})
    assert len(b) == 0
    reason = ing.quarantine.table()["reason"][0]
    assert reason.startswith("sigma_pos_m is missing, zero or negative")
