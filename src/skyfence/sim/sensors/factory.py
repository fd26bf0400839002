"""Build the simulated sensor model for a sensor spec."""

from __future__ import annotations

from skyfence.config.sensors import SensorSpec
from skyfence.sim.sensors.base import SensorModel
from skyfence.sim.sensors.cooperative import ADSBReceiver, RemoteIDReceiver
from skyfence.sim.sensors.passive import EOIR, Acoustic, RFDirectionFinder
from skyfence.sim.sensors.radar import Radar2D, Radar3D

__all__ = ["MODELS", "make_sensor"]

MODELS: dict[str, type[SensorModel]] = {
    "radar3d": Radar3D,
    "radar2d": Radar2D,
    "rf_df": RFDirectionFinder,
    "acoustic": Acoustic,
    "eoir": EOIR,
    "remote_id": RemoteIDReceiver,
    "adsb": ADSBReceiver,
}


def make_sensor(spec: SensorSpec, index: int, seed: int, t_start: float, duration_s: float,
                terrain_alt_m: float) -> SensorModel:
    """The simulator model of ``spec`` (one per sensor kind)."""
    return MODELS[spec.kind](spec, index, seed, t_start, duration_s, terrain_alt_m)
