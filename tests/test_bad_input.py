"""Bad scenario and sensors files fail with one clear message naming file and key,
and nothing is half-written to the output directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skyfence.cli.main import app
from skyfence.config.sensors import load_sensors
from skyfence.errors import ConfigError
from skyfence.sim.scenario import load_scenario

GOOD = """
[scenario]
name = "tiny"
start_time = 2025-07-28T02:00:00Z
duration_s = 30
seed = 3

[[sensor]]
id = "r1"
kind = "radar3d"
lat_deg = 54.6
lon_deg = 25.6
alt_m = 200.0
max_range_m = 20000.0

[[target]]
name = "g"
type = "gerbera"
waypoints = [{ lat_deg = 54.60, lon_deg = 25.70, agl_m = 400 },
             { lat_deg = 54.70, lon_deg = 25.70, agl_m = 400 }]
"""

CASES = [
    # (replace this, with this, key named, words in the message)
    ("max_range_m = 20000.0", "max_range_km = 20.0", "sensor[0].max_range_km",
     "did you mean 'max_range_m'"),
    ("max_range_m = 20000.0", 'max_range_m = "far"', "sensor[0].max_range_m", "valid number"),
    ("max_range_m = 20000.0", "max_range_m = -5.0", "sensor[0].max_range_m", "greater than 0"),
    ("max_range_m = 20000.0", 'max_range_m = "20 km"', "sensor[0].max_range_m",
     "expected a plain number in metres; got '20 km'"),
    ('kind = "radar3d"', 'kind = "radar"', "sensor[0].kind", "'radar3d', 'radar2d'"),
    ("lat_deg = 54.6\n", "lat_deg = 154.6\n", "sensor[0].lat_deg", "less than or equal to 90"),
    ('type = "gerbera"', 'type = "zeppelin"', "target[0].type", "one of airliner, balloon"),
    ("duration_s = 30", "duration_sec = 30", "scenario.duration_sec",
     "did you mean 'duration_s'"),
    ("start_time = 2025-07-28T02:00:00Z", "start_time = 2025-07-28T02:00:00",
     "scenario.start_time", "UTC"),
    ("agl_m = 400 },\n", "agl_m = 400, alt_m = 500 },\n", "target[0].waypoints[0]",
     "either alt_m or agl_m"),
]


@pytest.mark.parametrize(("old", "new", "key", "words"), CASES)
def test_scenario_errors_name_file_and_key(tmp_path: Path, old: str, new: str, key: str,
                                           words: str) -> None:
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new, 1), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: key '{key}'"), msg
    assert words in msg, msg
    assert info.value.key == key


def test_exact_message_for_a_wrong_unit(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD.replace("max_range_m = 20000.0", "max_range_km = 20.0"), "utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(info.value) == (
        f"{path}: key 'sensor[0].max_range_km': unknown key; did you mean 'max_range_m'? "
        "(SkyFence files use SI units: metres, seconds, m/s; angles in degrees)")


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD.replace("seed = 3", "seed = = 3"), "utf-8")
    with pytest.raises(ConfigError, match=r"s\.toml: is not valid TOML: .*line 6"):
        load_scenario(path)


def test_unknown_scenario_lists_builtins() -> None:
    with pytest.raises(ConfigError, match="neither a built-in scenario .*jonava-gerbera"):
        load_scenario("no-such-scenario")


def test_sensors_file_errors(tmp_path: Path) -> None:
    path = tmp_path / "sensors.toml"
    path.write_text('[[sensor]]\nid = "a"\nkind = "rf_df"\nlat_deg = 54.0\nlon_deg = 25.0\n'
                    'alt_m = 100.0\nsigma_azimth_deg = 2.0\n', "utf-8")
    with pytest.raises(ConfigError) as info:
        load_sensors(path)
    assert str(info.value).startswith(f"{path}: key 'sensor[0].sigma_azimth_deg': unknown key; "
                                      "did you mean 'sigma_azimuth_deg'?")
    path.write_text('title = "x"\n[[sensor]]\nid = "a"\nkind = "rf_df"\nlat_deg = 54.0\n'
                    'lon_deg = 25.0\nalt_m = 100.0\n', "utf-8")
    with pytest.raises(ConfigError, match=r"key 'title': unknown key"):
        load_sensors(path)
    dup = ('[[sensor]]\nid = "a"\nkind = "adsb"\nlat_deg = 54.0\nlon_deg = 25.0\nalt_m = 1.0\n')
    path.write_text(dup + dup, "utf-8")
    with pytest.raises(ConfigError, match="unique sensor ids; 'a' appears twice"):
        load_sensors(path)
    path.write_text('[[sensor]]\nid = "a"\nkind = "eoir"\nlat_deg = 54.0\nlon_deg = 25.0\n'
                    'alt_m = 1.0\nfov_elevation_deg = [10.0, -5.0]\n', "utf-8")
    with pytest.raises(ConfigError, match=r"sensor\[0\]': expected fov_elevation_deg as"):
        load_sensors(path)


def test_cli_bad_scenario_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace("max_range_m = 20000.0", "max_range_m = -1.0"), "utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["simulate", str(path), "--out", str(out)])
    assert res.exit_code == 2
    assert "sensor[0].max_range_m" in res.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]  # no staging directory left behind either


def test_failed_run_leaves_existing_output_untouched(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from skyfence.sim import output
    from skyfence.sim.engine import Simulation

    good = tmp_path / "good.toml"
    good.write_text(GOOD, "utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier run", "utf-8")

    def boom(self, progress=None):  # type: ignore[no-untyped-def]
        yield from ()
        raise RuntimeError("disk full")

    monkeypatch.setattr(Simulation, "run", boom)
    with pytest.raises(RuntimeError):
        output.simulate_to_dir(load_scenario(good), out)
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.toml", "out"]
