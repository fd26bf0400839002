"""The sensors file (``[[sensor]]`` tables) of docs/interchange.md, validated by pydantic.

Key names are fixed by the shared design (other tools rely on them):
``id kind lat_deg lon_deg alt_m max_range_m scan_period_s sigma_range_m
sigma_azimuth_deg sigma_elevation_deg sigma_radial_velocity_mps sigma_pos_m
fov_azimuth_deg fov_elevation_deg latency_s``.  SkyFence adds a few optional
keys with defaults (detection performance, clutter, dropouts); any other key is
an error naming the key.
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError

__all__ = ["SENSOR_KINDS", "SensorDeployment", "SensorSpec", "load_sensors", "sensors_to_toml"]

SensorKind = Literal["radar3d", "radar2d", "rf_df", "acoustic", "eoir", "remote_id", "adsb"]
SENSOR_KINDS: tuple[str, ...] = typing.get_args(SensorKind)

Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]

# Per-kind defaults, applied where the file leaves a key out.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "radar3d": dict(max_range_m=20_000.0, scan_period_s=1.0, sigma_range_m=10.0,
                    sigma_azimuth_deg=0.3, sigma_elevation_deg=0.3,
                    sigma_radial_velocity_mps=0.5, pd90_rcs_dbsm=-20.0, clutter_per_scan=5.0,
                    fov_elevation_deg=(-2.0, 60.0)),
    "radar2d": dict(max_range_m=40_000.0, scan_period_s=4.0, sigma_range_m=30.0,
                    sigma_azimuth_deg=0.5, sigma_radial_velocity_mps=1.0, pd90_rcs_dbsm=0.0,
                    clutter_per_scan=5.0, fov_elevation_deg=(-1.0, 30.0)),
    "rf_df": dict(max_range_m=10_000.0, scan_period_s=1.0, sigma_azimuth_deg=2.0, pd=0.8,
                  fov_elevation_deg=(-5.0, 90.0)),
    "acoustic": dict(max_range_m=1_500.0, scan_period_s=1.0, sigma_azimuth_deg=5.0, pd=0.7,
                     fov_elevation_deg=(0.0, 90.0)),
    "eoir": dict(max_range_m=6_000.0, scan_period_s=0.5, sigma_azimuth_deg=0.05,
                 sigma_elevation_deg=0.05, pd=0.85, fov_azimuth_deg=(0.0, 60.0),
                 fov_elevation_deg=(-5.0, 45.0)),
    "remote_id": dict(max_range_m=3_000.0, scan_period_s=1.0, sigma_pos_m=5.0, pd=0.95,
                      fov_elevation_deg=(-90.0, 90.0)),
    "adsb": dict(max_range_m=250_000.0, scan_period_s=1.0, sigma_pos_m=15.0, pd=0.98,
                 fov_elevation_deg=(-90.0, 90.0)),
}


class SensorSpec(BaseModel):
    """One sensor site.  Angles in degrees, distances in metres, times in seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    kind: SensorKind
    lat_deg: Annotated[float, Field(ge=-90, le=90)]
    lon_deg: Annotated[float, Field(ge=-180, le=180)]
    alt_m: Annotated[float, Field(ge=-500, le=9_000)]
    name: str = ""
    max_range_m: Pos | None = None
    min_range_m: NonNeg = 0.0
    scan_period_s: Annotated[float, Field(gt=0, le=3600)] | None = None
    sigma_range_m: NonNeg | None = None
    sigma_azimuth_deg: Annotated[float, Field(ge=0, le=45)] | None = None
    sigma_elevation_deg: Annotated[float, Field(ge=0, le=45)] | None = None
    sigma_radial_velocity_mps: NonNeg | None = None
    sigma_pos_m: NonNeg | None = None
    fov_azimuth_deg: tuple[float, Annotated[float, Field(gt=0, le=360)]] = (0.0, 360.0)
    fov_elevation_deg: tuple[Annotated[float, Field(ge=-90, le=90)],
                             Annotated[float, Field(ge=-90, le=90)]] | None = None
    latency_s: NonNeg = 0.0
    latency_jitter_s: NonNeg = 0.0
    # radar detection performance: a Swerling-1 target of rcs pd90_rcs_dbsm is seen
    # with probability 0.9 at pd90_range_m (default: max_range_m).
    pfa: Annotated[float, Field(gt=0, lt=0.1)] = 1e-6
    pd90_range_m: Pos | None = None
    pd90_rcs_dbsm: Annotated[float, Field(ge=-60, le=60)] | None = None
    clutter_per_scan: NonNeg | None = None
    # passive sensors: probability of a report per period for a target inside coverage
    pd: Annotated[float, Field(ge=0, le=1)] | None = None
    # outages: mean number per hour and mean length
    dropout_per_hour: NonNeg = 0.0
    dropout_mean_s: Pos = 60.0

    @model_validator(mode="before")
    @classmethod
    def _fill_kind_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("kind") in _DEFAULTS:
            merged = dict(_DEFAULTS[data["kind"]])
            merged.update({k: v for k, v in data.items() if v is not None})
            return merged
        return data

    @model_validator(mode="after")
    def _check(self) -> SensorSpec:
        lo, hi = self.fov_elevation_deg or (-90.0, 90.0)
        if lo >= hi:
            raise ValueError(f"fov_elevation_deg as [min, max] with min < max, got [{lo}, {hi}]")
        if self.max_range_m is not None and self.min_range_m >= self.max_range_m:
            raise ValueError("min_range_m smaller than max_range_m")
        return self

    # convenient derived values -------------------------------------------------------
    @property
    def ref_range_m(self) -> float:
        """Range at which a target of ``pd90_rcs_dbsm`` has Pd = 0.9 (radars)."""
        return float(self.pd90_range_m or self.max_range_m or 1.0)


class SensorDeployment(BaseModel):
    """A set of sensors (a sensors file, or the ``[[sensor]]`` tables of a scenario)."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    description: str = ""
    sensor: list[SensorSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> SensorDeployment:
        seen: set[str] = set()
        for s in self.sensor:
            if s.id in seen:
                raise ValueError(f"unique sensor ids; '{s.id}' appears twice")
            seen.add(s.id)
        return self

    def by_id(self) -> dict[str, SensorSpec]:
        return {s.id: s for s in self.sensor}


def load_sensors(path: str | Path) -> SensorDeployment:
    """Load a sensors file.  A scenario file may stand in (its ``[[sensor]]`` tables are read).

    Raises :class:`ConfigError` naming the file and key on any mistake.
    """
    data = load_toml(path)
    keep = {k: data[k] for k in ("name", "description", "sensor") if k in data}
    if "sensor" not in data:
        raise ConfigError(path, "sensor", "at least one [[sensor]] table")
    if "scenario" in data or "target" in data or "group" in data:
        return validate_model(SensorDeployment, {"sensor": data["sensor"]}, path)
    extra = set(data) - set(keep)
    if extra:
        key = sorted(extra)[0]
        raise ConfigError(path, key, "unknown key (a sensors file holds name, description "
                          "and [[sensor]] tables)")
    return validate_model(SensorDeployment, keep, path)


def sensors_to_toml(dep: SensorDeployment) -> str:
    """Write a deployment back as a sensors file (every default made explicit)."""
    import tomli_w

    rows = []
    for s in dep.sensor:
        d = s.model_dump(exclude_none=True)
        for k in ("fov_azimuth_deg", "fov_elevation_deg"):
            if k in d:
                d[k] = list(d[k])
        rows.append(d)
    return tomli_w.dumps({"name": dep.name, "description": dep.description, "sensor": rows})
