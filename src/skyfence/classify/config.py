"""Classifier configuration (TOML ``[classify]`` table), validated by pydantic.

The fitted model lives in the parameter file (:mod:`skyfence.classify.model`);
this is what belongs to a deployment: the ground height, the kinds of its
sensors, the wind of the day (a meteorological input: balloons drift with it), an
optional class prior, the cooperative-identity confidence and the thresholds of the
Remote ID spoofing rules (:mod:`skyfence.classify.identity`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError
from skyfence.model.schema import CLASSIFY_CLASSES

__all__ = ["ClassifierConfig", "SpoofConfig", "WindInput", "load_classify_config"]

Pos = Annotated[float, Field(gt=0)]
NonNeg = Annotated[float, Field(ge=0)]
SensorKind = Literal["radar3d", "radar2d", "rf_df", "acoustic", "eoir", "remote_id", "adsb"]


class SpoofConfig(BaseModel):
    """Thresholds of the Remote ID spoofing rules (see :mod:`skyfence.classify.identity`).

    Correlation rule: a Remote-ID-only track ``A`` and an uncooperative radar track
    ``B`` within ``max_offset_m`` form a pair.  Each moving sample (either speed at
    least ``min_speed_mps``) is counted, unless the velocities differ by more than
    ``velocity_reset_factor`` times the tolerance ``velocity_tolerance_mps +
    velocity_tolerance_rel × speed``, which resets the pair.  The pair is flagged
    when it has ``min_updates`` counted samples, the RMS velocity difference over
    them is within the tolerance (at the mean speed), the offset between the
    positions is steady (spread below ``steady_offset_m`` or
    ``steady_offset_sigmas`` combined 1-sigmas, whichever is larger) and its mean is
    longer than both ``min_offset_m`` and ``offset_sigmas`` combined 1-sigmas.

    Jump rule: one serial reported on two tracks ``jump_window_s`` or less apart in
    time, further apart than ``jump_min_m + jump_max_speed_mps × Δt``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: moving samples with agreeing velocities needed to flag a pair
    min_updates: Annotated[int, Field(ge=2, le=10_000)] = 20
    #: radar tracks further than this from a Remote ID track are not compared, m
    max_offset_m: Pos = 5_000.0
    #: the mean offset must exceed this, m ...
    min_offset_m: Pos = 150.0
    #: ... and this many combined horizontal 1-sigmas
    offset_sigmas: Pos = 5.0
    #: RMS velocity difference allowed: tolerance_mps + tolerance_rel × mean speed
    velocity_tolerance_mps: Pos = 3.0
    velocity_tolerance_rel: NonNeg = 0.1
    #: one sample whose velocity difference exceeds this many tolerances resets the pair
    velocity_reset_factor: Annotated[float, Field(ge=1.0)] = 2.5
    #: a sample counts when either track moves at least this fast, m/s
    min_speed_mps: NonNeg = 3.0
    #: the radar track's last row and the Remote ID row at most this far apart in time, s
    max_time_gap_s: Pos = 3.0
    #: the offset is steady when its spread (1-sigma, m) is below the larger of these
    steady_offset_m: Pos = 40.0
    steady_offset_sigmas: NonNeg = 2.0
    #: jump rule: fastest plausible drone, m/s; distance allowance, m; time window, s
    jump_max_speed_mps: Pos = 80.0
    jump_min_m: Pos = 500.0
    jump_window_s: Pos = 30.0


class WindInput(BaseModel):
    """The wind at the heights where balloons fly, from the met service (a forecast or
    a sounding): the direction it blows *from*, degrees clockwise from true north, and
    its speed, m/s.  A balloon's track moves with it; a bird's or a drone's does not.
    The model was fitted with forecasts ``N(0, 1.5 m/s)`` per component off the true
    wind, so a forecast that good is what it expects."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    from_deg: Annotated[float, Field(ge=0, lt=360)]
    speed_mps: Annotated[float, Field(ge=0, le=80)]

    def east_north(self) -> tuple[float, float]:
        """The wind as a velocity (east, north), m/s: where the air goes."""
        to = np.radians(self.from_deg + 180.0)
        return (self.speed_mps * float(np.sin(to)), self.speed_mps * float(np.cos(to)))


class ClassifierConfig(BaseModel):
    """Deployment parameters of the classifier.  SI units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: ground height above the WGS84 ellipsoid, metres (heights above ground use it)
    ground_alt_m: Annotated[float, Field(ge=-500, le=5_000)] = 0.0
    #: kind of each sensor by id: RF direction finders give evidence of a drone's link;
    #: ``adsb`` / ``remote_id`` tell identities apart (without it: a 6-hex-digit id_hint
    #: is an ICAO24 address, anything else a Remote ID serial)
    sensor_kinds: dict[str, SensorKind] = Field(default_factory=dict)
    #: site of each radar by id: [lat_deg, lon_deg, alt_m] (for the radial speed of its
    #: updates; radars not in it give none)
    sensor_sites: dict[str, tuple[Annotated[float, Field(ge=-90, le=90)],
                                  Annotated[float, Field(ge=-180, le=180)], float]] = \
        Field(default_factory=dict)
    #: the wind of the day (None: unknown; the ``wind_drift_mps`` feature is then
    #: missing and a balloon is told by its other features only)
    wind: WindInput | None = None
    #: operating prior of each class for confirmed (coasting, deleted) rows: the expected
    #: mix of a deployment's confirmed tracks; classes left out share what is left in the
    #: proportions of the parameter file's prior.  None: the parameter file's prior (the
    #: mix of confirmed tracks of its training runs)
    class_prior: dict[str, Annotated[float, Field(gt=0, le=1)]] | None = None
    #: the same for tentative rows (most tentative tracks are clutter)
    class_prior_tentative: dict[str, Annotated[float, Field(gt=0, le=1)]] | None = None
    #: re-estimate the confirmed-track prior from the deployment's own tracks (EM over
    #: the live and recently ended confirmed tracks, anchored at ``class_prior``): a
    #: quiet border learns that its tracks are mostly birds, a raid that they are drones
    adapt_prior: bool = True
    #: ended tracks fade from the estimate with this time constant, s
    prior_memory_s: Pos = 3_600.0
    #: weight of the anchor prior, in tracks
    prior_strength_tracks: Pos = 30.0
    #: tracks count in the estimate once they have this many updates
    prior_min_updates: Annotated[int, Field(ge=1)] = 20
    #: time constant of each track's memory of its class evidence, s: a row's class
    #: likelihoods are the weighted geometric mean of its track's recent rows' (0: each
    #: row on its own; :mod:`skyfence.classify.memory`)
    class_memory_s: NonNeg = 30.0
    #: a gap between two rows of a track decays that memory by at most this long, s (a
    #: track re-found after a minute unseen is still what it was; 10 s: the slowest
    #: radar's revisit, so that regular updates decay in full)
    class_memory_max_gap_s: Pos = 10.0
    #: a step's rows are processed in time slices of this length, s
    slice_s: Pos = 1.0
    #: probability of the class a cooperative identity gives (aircraft, drone)
    cooperative_confidence: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.999
    #: prior share of rotary wings among drones broadcasting Remote ID
    remote_id_rotary_prior: Annotated[float, Field(gt=0, lt=1)] = 0.8
    #: per-track state not updated for this long (s) is freed (the tracker drops
    #: tentative tracks without a ``deleted`` row)
    stale_after_s: Pos = 120.0
    spoof: SpoofConfig = SpoofConfig()

    @field_validator("class_prior", "class_prior_tentative")
    @classmethod
    def _prior(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is None:
            return v
        bad = sorted(set(v) - set(CLASSIFY_CLASSES))
        if bad:
            raise ValueError(f"classes among {', '.join(CLASSIFY_CLASSES)}; got '{bad[0]}'")
        if sum(v.values()) > 1.0 + 1e-9:
            raise ValueError(f"probabilities summing to at most 1, got {sum(v.values()):.3f}")
        return v

    @classmethod
    def for_deployment(cls, deployment: Any, ground_alt_m: float,
                       wind: tuple[float, float] | None = None, **kw: Any) -> ClassifierConfig:
        """A config for a :class:`~skyfence.config.sensors.SensorDeployment` (its sensor
        kinds and radar sites), a ground height (e.g. the scenario's ``terrain_alt_m``) and
        the wind as (from_deg, speed_mps) (e.g. ``scenario.wind.forecast(seed)``)."""
        kinds = {s.id: s.kind for s in deployment.sensor}
        sites = {s.id: (s.lat_deg, s.lon_deg, s.alt_m) for s in deployment.sensor
                 if s.kind in ("radar3d", "radar2d")}
        if wind is not None:
            kw["wind"] = WindInput(from_deg=wind[0], speed_mps=wind[1])
        return cls(ground_alt_m=ground_alt_m, sensor_kinds=kinds, sensor_sites=sites, **kw)


def load_classify_config(path: str | Path | None) -> ClassifierConfig:
    """Read the ``[classify]`` table of a TOML file (defaults when ``path`` is None)."""
    if path is None:
        return ClassifierConfig()
    data = load_toml(path)
    extra = set(data) - {"classify"}
    if extra:
        raise ConfigError(path, sorted(extra)[0],
                          "unknown table (a classifier file holds [classify])")
    return validate_model(ClassifierConfig, data.get("classify", {}), path, prefix="classify")
