"""The built-in scenarios: they load, and the flagship one tells the Jonava story."""

from __future__ import annotations

import numpy as np
import pytest

from skyfence.geo.borders import load_borders
from skyfence.geo.geodesy import geodesic_inverse
from skyfence.geo.zones import load_zones
from skyfence.sim.engine import Simulation
from skyfence.sim.scenario import builtin_scenarios, load_scenario

from ..conftest import run_all

BUILTINS = ["border-day", "jonava-gerbera", "klaipeda-quadcopter", "scale-10k", "vilnius-swarm"]


def test_builtins_are_listed_and_load() -> None:
    assert sorted(builtin_scenarios()) == BUILTINS
    for name in BUILTINS:
        sc = load_scenario(name)
        assert sc.name == name
        assert sc.sensor, name


def test_scenario_targets_are_built() -> None:
    counts = {name: len(Simulation(load_scenario(name)).targets) for name in BUILTINS}
    assert counts["scale-10k"] == 10_000
    assert counts["jonava-gerbera"] == 1
    swarm = Simulation(load_scenario("vilnius-swarm")).targets
    assert np.count_nonzero(np.isin(swarm.type, ["gerbera", "shahed"])) >= 50
    assert np.count_nonzero(swarm.target_class == "bird") > 50
    assert np.count_nonzero(swarm.target_class == "aircraft") > 0
    day = Simulation(load_scenario("border-day")).targets
    assert np.count_nonzero(day.target_class == "bird") > 1000
    assert np.count_nonzero(np.char.startswith(day.target_class.astype(str), "drone")) >= 3


@pytest.fixture(scope="module")
def jonava() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return run_all(Simulation(load_scenario("jonava-gerbera")))


def test_jonava_crosses_from_belarus_and_comes_down_near_gaiziunai(jonava) -> None:  # type: ignore[no-untyped-def]
    truth, det = jonava
    borders = load_borders()
    country = borders.country_at(truth["lat_deg"], truth["lon_deg"])
    assert country[0] == "BY"
    assert country[-1] == "LT"
    assert truth["status"][-1] == "down"
    # exactly one crossing, BY → LT
    changes = np.flatnonzero(country[1:] != country[:-1])
    assert len(changes) == 1
    assert (country[changes[0]], country[changes[0] + 1]) == ("BY", "LT")
    # it comes down inside the Gaižiūnai training ground zone (Jonava district)
    zone = load_zones()["gaiziunai-training-ground"]
    d, _, _ = geodesic_inverse(truth["lat_deg"][-1], truth["lon_deg"][-1], zone.lat_deg,
                               zone.lon_deg)
    assert d < zone.radius_m
    # it flew about 100 km inside Lithuania and passed near Vilnius
    inside = country == "LT"
    step, _, _ = geodesic_inverse(truth["lat_deg"][:-1], truth["lon_deg"][:-1],
                                  truth["lat_deg"][1:], truth["lon_deg"][1:])
    km_in_lt = step[inside[1:]].sum() / 1000
    assert 100 <= km_in_lt <= 160
    vilnius = load_zones()["vilnius-centre"]
    dv, _, _ = geodesic_inverse(truth["lat_deg"], truth["lon_deg"], vilnius.lat_deg,
                                vilnius.lon_deg)
    assert dv.min() < 10_000
    # and the sensors saw it on both sides of Vilnius
    seen = det["truth_id"] == 0
    assert np.unique(det["sensor_id"][seen]).size >= 3
