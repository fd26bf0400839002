"""Sensor models of the simulator: each turns a window of truth into detection rows.

``make_sensor(spec, ...)`` builds the model for a :class:`~skyfence.config.sensors.SensorSpec`.
"""

from skyfence.sim.sensors.base import SensorModel, TruthWindow
from skyfence.sim.sensors.factory import make_sensor

__all__ = ["SensorModel", "TruthWindow", "make_sensor"]
