"""Scenario files: TOML validated by pydantic, with built-ins shipped in ``scenarios/``.

A scenario names the time window, the deployment (built-in name, a path, or
its own ``[[sensor]]`` tables), explicit ``[[target]]`` flights and generated
``[[group]]`` populations.  See docs/scenarios.md for every key.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.config.sensors import SensorDeployment, SensorSpec, load_sensors
from skyfence.errors import ConfigError, UnknownScenarioError
from skyfence.sim.presets import PRESETS

__all__ = [
    "EWSpec",
    "GroupSpec",
    "Scenario",
    "ScenarioHeader",
    "TargetSpec",
    "Waypoint",
    "builtin_scenarios",
    "load_scenario",
]

Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
NonNeg = Annotated[float, Field(ge=0)]
Pos = Annotated[float, Field(gt=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_type(v: str) -> str:
    if v not in PRESETS:
        raise ValueError(f"one of {', '.join(sorted(PRESETS))}")
    return v


class Waypoint(_Strict):
    """A point of a route: height either ``alt_m`` (above the ellipsoid) or ``agl_m``."""

    lat_deg: Lat
    lon_deg: Lon
    alt_m: Annotated[float, Field(ge=-500, le=20_000)] | None = None
    agl_m: Annotated[float, Field(ge=0, le=20_000)] | None = None
    hold_s: NonNeg = 0.0
    speed_mps: Annotated[float, Field(gt=0, le=400)] | None = None

    @model_validator(mode="after")
    def _one_height(self) -> Waypoint:
        if self.alt_m is not None and self.agl_m is not None:
            raise ValueError("either alt_m or agl_m, not both")
        return self


class EWSpec(_Strict):
    """Electronic warfare against a drone's navigation.

    Spoofing: from ``spoof_start_s`` (seconds after the target's start) the drone's
    perceived position is rotated by up to ``spoof_rotation_deg`` about the point
    where spoofing began (reached over ``spoof_ramp_s``) and pushed by
    ``spoof_drift_mps`` [east, north]; the autopilot keeps chasing its route in
    the false picture, so the true path bends away.  Jamming: from
    ``jam_start_s`` satellite navigation is lost; the drone holds its heading on
    a drifting gyro (``gyro_drift_deg_s``) and wanders or circles.
    """

    spoof_start_s: NonNeg | None = None
    spoof_rotation_deg: Annotated[float, Field(ge=-180, le=180)] = 0.0
    spoof_ramp_s: Pos = 60.0
    spoof_drift_mps: tuple[float, float] = (0.0, 0.0)
    jam_start_s: NonNeg | None = None
    gyro_drift_deg_s: Annotated[float, Field(ge=-30, le=30)] = 0.5


class TargetSpec(_Strict):
    """One explicitly scripted target."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    type: str
    start_s: NonNeg = 0.0
    waypoints: list[Waypoint] = Field(default_factory=list)
    end: Literal["continue", "land", "loop", "vanish", "orbit"] = "continue"
    speed_mps: Annotated[float, Field(gt=0, le=400)] | None = None
    rcs_dbsm: Annotated[float, Field(ge=-60, le=60)] | None = None
    endurance_km: Pos | None = None
    emits_rf: bool | None = None
    remote_id: str = ""
    remote_id_spoof_offset_m: tuple[float, float] = (0.0, 0.0)
    icao24: Annotated[str, Field(pattern=r"^([0-9a-fA-F]{6})?$")] = ""
    lifetime_s: Pos | None = None
    ew: EWSpec | None = None

    _type = field_validator("type")(classmethod(lambda cls, v: _check_type(v)))

    @model_validator(mode="after")
    def _route(self) -> TargetSpec:
        behaviour = PRESETS[self.type].behaviour
        if behaviour == "route" and not self.waypoints:
            raise ValueError(f"a '{self.type}' needs waypoints (at least one)")
        if behaviour != "route" and len(self.waypoints) != 1:
            raise ValueError(f"a '{self.type}' takes exactly one waypoint: its start point")
        return self


class GroupSpec(_Strict):
    """A generated population of targets (swarm, birds, air traffic, random fill).

    * ``swarm``: ``count`` targets of ``type`` launched across ``launch_line`` over
      ``start_spread_s`` seconds, each flying to one of ``aim`` (± ``aim_spread_m``).
    * ``birds``: ``count`` birds or flocks (``type`` bird/flock) wandering inside
      ``area`` [lat_min, lat_max, lon_min, lon_max], each present for a random
      ``lifetime_s`` within the run.
    * ``airway``: aircraft of ``type`` along ``route`` at ``per_hour`` in each
      direction (``both_ways``), at ``alt_m``.
    * ``random``: ``count`` targets of the ``mix`` types within ``radius_m`` of
      ``centre``, straight and level with gentle random turns.
    """

    kind: Literal["swarm", "birds", "airway", "random"]
    type: str = "gerbera"
    count: Annotated[int, Field(ge=0, le=200_000)] = 0
    start_s: NonNeg = 0.0
    start_spread_s: NonNeg = 0.0
    launch_line: list[tuple[Lat, Lon]] = Field(default_factory=list)
    aim: list[tuple[Lat, Lon]] = Field(default_factory=list)
    aim_spread_m: NonNeg = 2_000.0
    agl_m: tuple[NonNeg, NonNeg] = (200.0, 800.0)
    speed_spread: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    area: tuple[Lat, Lat, Lon, Lon] | None = None
    lifetime_s: tuple[Pos, Pos] = (600.0, 3600.0)
    route: list[tuple[Lat, Lon]] = Field(default_factory=list)
    per_hour: NonNeg = 0.0
    both_ways: bool = True
    alt_m: tuple[NonNeg, NonNeg] = (9_000.0, 11_500.0)
    centre: tuple[Lat, Lon] | None = None
    radius_m: Pos = 50_000.0
    mix: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> GroupSpec:
        for t in [self.type, *self.mix]:
            _check_type(t)
        if self.agl_m[0] > self.agl_m[1]:
            raise ValueError("agl_m as [min, max] with min <= max")
        if self.kind == "swarm" and (len(self.launch_line) < 1 or not self.aim):
            raise ValueError("a swarm needs launch_line (1-2 points) and aim (>= 1 point)")
        if self.kind == "birds" and self.area is None:
            raise ValueError("birds need area = [lat_min, lat_max, lon_min, lon_max]")
        if self.kind == "airway" and (len(self.route) < 2 or self.per_hour <= 0):
            raise ValueError("an airway needs route (>= 2 points) and per_hour > 0")
        if self.kind == "random" and (self.centre is None or not self.mix):
            raise ValueError("a random group needs centre and mix")
        return self


class ScenarioHeader(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    title: str = ""
    description: str = ""
    start_time: dt.datetime
    duration_s: Annotated[float, Field(gt=0, le=7 * 86_400)]
    dt_s: Annotated[float, Field(gt=0, le=10)] = 1.0
    seed: Annotated[int, Field(ge=0)] = 0
    origin: tuple[Lat, Lon] | None = None
    terrain_alt_m: Annotated[float, Field(ge=-500, le=5_000)] = 150.0
    sensors: str = ""

    @field_validator("start_time")
    @classmethod
    def _utc(cls, v: dt.datetime) -> dt.datetime:
        if v.tzinfo is None:
            raise ValueError("a UTC date-time with offset, e.g. 2025-07-28T02:00:00Z")
        return v.astimezone(dt.UTC)


#: 1-sigma error per component of the met service's wind forecast that the chain is
#: given (the simulated air moves with the scenario's true wind), m/s
FORECAST_SIGMA_MPS = 1.5


class Wind(_Strict):
    from_deg: Annotated[float, Field(ge=0, lt=360)] = 270.0
    speed_mps: Annotated[float, Field(ge=0, le=60)] = 5.0

    def east_north(self) -> tuple[float, float]:
        """The wind as a velocity (east, north), m/s: where the air goes."""
        to = np.radians(self.from_deg + 180.0)
        return (self.speed_mps * float(np.sin(to)), self.speed_mps * float(np.cos(to)))

    def forecast(self, seed: int | None, sigma_mps: float = FORECAST_SIGMA_MPS
                 ) -> tuple[float, float]:
        """The wind a met forecast would give for run ``seed``: the true wind plus an
        error ``N(0, sigma_mps)`` per horizontal component, as (from_deg, speed_mps).
        The simulated chain is given this, never the truth."""
        e, n = self.east_north()
        de, dn = np.random.default_rng([0 if seed is None else seed, 79]).normal(
            0.0, sigma_mps, 2)
        e, n = e + de, n + dn
        return (float(np.degrees(np.arctan2(-e, -n)) % 360.0), float(np.hypot(e, n)))


class Scenario(_Strict):
    """A validated scenario, its sensors resolved."""

    scenario: ScenarioHeader
    wind: Wind = Wind()
    target: list[TargetSpec] = Field(default_factory=list)
    group: list[GroupSpec] = Field(default_factory=list)
    sensor: list[SensorSpec] = Field(default_factory=list)
    source: str = ""

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def t0(self) -> float:
        return self.scenario.start_time.timestamp()

    @property
    def deployment(self) -> SensorDeployment:
        return SensorDeployment(name=self.scenario.sensors or self.name, sensor=self.sensor)

    def origin(self) -> tuple[float, float]:
        if self.scenario.origin is not None:
            return self.scenario.origin
        pts = [(s.lat_deg, s.lon_deg) for s in self.sensor]
        for t in self.target:
            pts += [(w.lat_deg, w.lon_deg) for w in t.waypoints]
        if not pts:
            raise ConfigError(self.source, "scenario.origin", "an origin when there are no sensors")
        lat = sum(p[0] for p in pts) / len(pts)
        lon = sum(p[1] for p in pts) / len(pts)
        return (lat, lon)


def builtin_scenarios() -> dict[str, Path]:
    """Names and paths of the shipped scenarios."""
    root = resources.files("skyfence.sim") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def builtin_deployments() -> dict[str, Path]:
    root = resources.files("skyfence.sim") / "deployments"
    return {Path(str(p)).stem: Path(str(p)) for p in root.iterdir() if str(p).endswith(".toml")}


def _resolve_sensors(ref: str, scenario_path: Path) -> tuple[list[SensorSpec], Path]:
    deployments = builtin_deployments()
    if ref in deployments:
        path = deployments[ref]
    else:
        path = (scenario_path.parent / ref).resolve()
        if not path.exists():
            valid = ", ".join(sorted(deployments))
            raise ConfigError(scenario_path, "scenario.sensors",
                              f"a built-in deployment ({valid}) or an existing sensors file; "
                              f"got '{ref}'")
    return list(load_sensors(path).sensor), path


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a scenario TOML file by path.

    Raises :class:`ConfigError` naming the file and the key on any mistake.
    """
    builtins = builtin_scenarios()
    text = str(name_or_path)
    if text in builtins:
        path = builtins[text]
    else:
        path = Path(name_or_path)
        if not path.exists():
            valid = ", ".join(sorted(builtins))
            raise UnknownScenarioError(path, "", f"is neither a built-in scenario ({valid}) "
                                       "nor an existing file")
    data: dict[str, Any] = load_toml(path)
    header = data.get("scenario")
    sensors = list(data.get("sensor", []))
    if isinstance(header, dict) and isinstance(header.get("sensors"), str) and header["sensors"]:
        extra, _ = _resolve_sensors(header["sensors"], path)
        own_ids = {s.get("id") for s in sensors if isinstance(s, dict)}
        # the scenario's own [[sensor]] tables come first and win on id clashes
        sensors = sensors + [s.model_dump() for s in extra if s.id not in own_ids]
    data = {**data, "sensor": sensors, "source": str(path)}
    scen = validate_model(Scenario, data, path)
    if not scen.sensor:
        raise ConfigError(path, "sensor", "at least one sensor ([[sensor]] tables or "
                          "scenario.sensors naming a deployment)")
    names = [t.name for t in scen.target]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError(path, "target.name", f"unique target names; '{sorted(dup)[0]}' repeats")
    return scen
