"""Alert rules: the threat score's weights, who alerts, priorities, escalation, merging
of re-found tracks and auto-resolution (TOML, validated by pydantic).

The shipped default is ``airspace/data/rules.toml``; a deployment passes its own file
to :func:`load_rules`.  Every table and key is optional in a user's file (the defaults
are the shipped values), unknown keys are refused, and every mistake raises
:class:`~skyfence.errors.ConfigError` naming the file and the key, e.g.
``rules.toml: key 'merge.distance_m': expected input should be greater than 0; got -5``.

Layout of the file (units in the key names: ``_s`` seconds, ``_m`` metres, ``_mps``
metres per second)::

    [threat]              who may alert, and the score's parameters (skyfence.airspace.threat)
    [threat.class_weights]  how threatening each class is, 0 … 1 (drones the highest)
    [threat.weights]      relative weights of the kinematic terms of the score
    [priority]            score thresholds of priorities 1, 2, 3 (below the last: 4)
    [escalation]          when an open alert is escalated and by how many priority levels
    [merge]               when a new track joins the alert of a lost one
    [resolve]             when an alert resolves by itself
    [revisions]           how often an open alert's position is re-issued
    [spoofed_remote_id]   whether a spoofed Remote ID raises its own alert
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.model.schema import CLASSIFY_CLASSES, TRACK_STATUSES

__all__ = [
    "ALERTABLE_CLASSES",
    "ClassWeights",
    "EscalationRules",
    "KinematicWeights",
    "MergeRules",
    "PriorityRules",
    "ResolveRules",
    "RevisionRules",
    "RulesConfig",
    "SpoofRules",
    "ThreatRules",
    "default_rules_path",
    "load_rules",
]

#: class names the rules accept: the classify classes plus ``unknown`` (a track whose
#: class is empty, not one of the classes, or less probable than ``min_class_prob``)
ALERTABLE_CLASSES: tuple[str, ...] = (*CLASSIFY_CLASSES, "unknown")

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Pos = Annotated[float, Field(gt=0.0)]
NonNeg = Annotated[float, Field(ge=0.0)]
_FROZEN = ConfigDict(extra="forbid", frozen=True)


class ClassWeights(BaseModel):
    """How threatening each class is, 0 … 1 (the score's identity factor).

    The score's monotonicity in the drone probability (moving probability from any
    class to a drone class never lowers the score) needs the two drone weights to be
    the largest; this is checked.
    """

    model_config = _FROZEN

    drone_fixed_wing: Unit = 1.0
    drone_rotary: Unit = 1.0
    bird: Unit = 0.02
    aircraft: Unit = 0.05
    balloon: Unit = 0.5
    clutter: Unit = 0.02
    #: a track with no class probabilities at all (classify has not seen it yet)
    unknown: Unit = 0.6

    @model_validator(mode="after")
    def _drones_highest(self) -> ClassWeights:
        low = min(self.drone_fixed_wing, self.drone_rotary)
        for name in ("bird", "aircraft", "balloon", "clutter", "unknown"):
            if getattr(self, name) > low:
                raise ValueError(f"drone weights (drone_fixed_wing, drone_rotary) at least as "
                                 f"large as every other class weight; {name} = "
                                 f"{getattr(self, name)} > {low}")
        return self


class KinematicWeights(BaseModel):
    """Relative weights of the kinematic terms of the score (normalised by their sum)."""

    model_config = _FROZEN

    speed: NonNeg = 0.15
    heading: NonNeg = 0.2
    time_to_zone: NonNeg = 0.3
    depth: NonNeg = 0.2
    in_zone: NonNeg = 0.15

    @model_validator(mode="after")
    def _some(self) -> KinematicWeights:
        if self.speed + self.heading + self.time_to_zone + self.depth + self.in_zone <= 0:
            raise ValueError("at least one positive kinematic weight")
        return self


class ThreatRules(BaseModel):
    """Who may alert, and the parameters of :func:`skyfence.airspace.threat.threat_score`."""

    model_config = _FROZEN

    #: classes that may raise an alert (``unknown``: no confident class)
    alert_classes: list[str] = Field(
        default_factory=lambda: ["drone_fixed_wing", "drone_rotary", "balloon", "unknown"])
    #: below this probability a track's class is "unknown"
    min_class_prob: Unit = 0.5
    #: to raise an alert, the probability of the alert classes together must reach this
    min_alert_prob: Unit = 0.8
    #: a track alerts only with at least this threat score
    min_score: Unit = 0.15
    #: a threat found inside the home country with no border_entry event raises once
    #: this deep, m (the engine's border_entry, which carries the crossing, comes first
    #: for a track that has just crossed; 0: at once)
    found_inside_min_depth_m: NonNeg = 200.0
    #: ... and once its track has been updated by this many detections (a track born
    #: deep inside from a few coinciding clutter plots must prove itself first)
    found_inside_min_updates: Annotated[int, Field(ge=0)] = 10
    #: track statuses that may raise an alert or join one (updates come from any status)
    raise_statuses: list[str] = Field(default_factory=lambda: ["confirmed", "coasting"])
    #: score of a certain threat class with no kinematic term at all (0 … 1)
    base: Unit = 0.4
    #: identity factor × this for a track with a cooperative (ADS-B / Remote ID) identity
    cooperative_factor: Unit = 0.3
    #: a spoofed identity moves the identity factor this fraction of the way to 1
    spoofed_boost: Unit = 0.5
    #: ground speed at which the speed term saturates, m/s
    speed_ref_mps: Pos = 50.0
    #: time to zone giving the term exp(-1), s
    time_to_zone_scale_s: Pos = 600.0
    #: the time-to-zone term uses ttz - k * sigma (a pessimistic arrival), k =
    time_to_zone_sigmas: NonNeg = 1.0
    #: depth inside the home country at which the depth term saturates, m
    depth_ref_m: Pos = 10_000.0
    class_weights: ClassWeights = Field(default_factory=ClassWeights)
    weights: KinematicWeights = Field(default_factory=KinematicWeights)

    @field_validator("alert_classes")
    @classmethod
    def _known_classes(cls, v: list[str]) -> list[str]:
        for name in v:
            if name not in ALERTABLE_CLASSES:
                raise ValueError(f"class names among {', '.join(ALERTABLE_CLASSES)}; "
                                 f"'{name}' is not one")
        return v

    @field_validator("raise_statuses")
    @classmethod
    def _known_statuses(cls, v: list[str]) -> list[str]:
        allowed = [s for s in TRACK_STATUSES if s != "deleted"]
        for name in v:
            if name not in allowed:
                raise ValueError(f"track statuses among {', '.join(allowed)}; "
                                 f"'{name}' is not one")
        if not v:
            raise ValueError("at least one track status")
        return v


class PriorityRules(BaseModel):
    """Priority bands of the threat score: 1 (highest) … 4."""

    model_config = _FROZEN

    #: score thresholds of priorities 1, 2 and 3 (decreasing); lower scores get 4
    thresholds: tuple[Unit, Unit, Unit] = (0.8, 0.6, 0.4)
    #: an alert moves to a lower priority only when its score is this far below the band
    hysteresis: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05

    @field_validator("thresholds")
    @classmethod
    def _decreasing(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not (v[0] > v[1] > v[2]):
            raise ValueError(f"three strictly decreasing scores (priority 1, 2, 3); got "
                             f"{list(v)}")
        return v


class EscalationRules(BaseModel):
    """When an open incursion alert is escalated (state ``escalated``, priority raised)."""

    model_config = _FROZEN

    #: escalate when the track is predicted to reach a zone within this time, s (0: never)
    time_to_zone_s: NonNeg = 600.0
    #: escalate when the track enters a zone (else the zone is only named in the message)
    on_zone_entry: bool = True
    #: priority levels gained when predicted to reach a zone / when inside a zone
    approach_boost: Annotated[int, Field(ge=0, le=3)] = 1
    zone_boost: Annotated[int, Field(ge=0, le=3)] = 2


class MergeRules(BaseModel):
    """When a new track joins the alert of a lost one (a track broken by the tracker).

    A lost track is one deleted, coasting, or silent for ``resolve.silent_after_s``.  A
    new track (first seen at most ``overlap_s`` before the old track's last update, at
    most ``time_s`` after it) joins when its position is within ``distance_m +
    speed_sigma_mps × dt`` of the old track's last position carried forward by its last
    velocity (``dt``: the time between the two), and its velocity differs from the old
    track's last by at most ``velocity_tolerance_mps`` (a track missing a velocity is not
    held to it).  The velocity bound keeps an alert from jumping to a track going
    another way near a drone that is merely coasting (border-day: a decoy's alert
    followed a 2D clutter track flying the opposite course, and the decoy's own track,
    re-found under its id, raised a second alert); a drone that turned sharply in the
    gap gets a new alert of its own instead, which an operator can tell apart.
    """

    model_config = _FROZEN

    time_s: Pos = 60.0
    distance_m: Pos = 1_500.0
    speed_sigma_mps: NonNeg = 15.0
    velocity_tolerance_mps: Pos = 30.0
    overlap_s: NonNeg = 2.0


class ResolveRules(BaseModel):
    """When an alert resolves by itself.

    An alert whose track is gone (deleted, or silent for ``silent_after_s``) resolves
    once the merge window (``merge.time_s`` after its last update) has passed.
    """

    model_config = _FROZEN

    #: an incursion alert resolves when its track has stayed out of the home country
    #: this long (a zone alert: out of its zone), s
    after_exit_s: NonNeg = 120.0
    #: a track with no row for this long is taken as gone (a lost "deleted" row), s.
    #: Longer than the tracker's lost window (``Tracker.longest_silence_s``; the
    #: pipeline refuses a shorter one): a track it lost emits no row while it may still
    #: come back under its id (deletion after 3 scans, then 9 scans stretched by
    #: ``1 / reacquire_min_rate`` for a track only 2D radars saw: 330 s with a 10-s 2D
    #: radar), and its alert must wait for it rather than resolve and raise anew
    silent_after_s: Pos = 360.0


class RevisionRules(BaseModel):
    """How often an open alert is re-issued with its track's new position."""

    model_config = _FROZEN

    #: a position-only revision of an open alert at most this often, s
    position_interval_s: Pos = 10.0


class SpoofRules(BaseModel):
    """Spoofed Remote ID alerts."""

    model_config = _FROZEN

    #: raise a ``spoofed_remote_id`` alert when a track's Remote ID is found spoofed
    alert: bool = True


class RulesConfig(BaseModel):
    """Every rule of the threat score and the alert lifecycle (a rules TOML file)."""

    model_config = _FROZEN

    threat: ThreatRules = Field(default_factory=ThreatRules)
    priority: PriorityRules = Field(default_factory=PriorityRules)
    escalation: EscalationRules = Field(default_factory=EscalationRules)
    merge: MergeRules = Field(default_factory=MergeRules)
    resolve: ResolveRules = Field(default_factory=ResolveRules)
    revisions: RevisionRules = Field(default_factory=RevisionRules)
    spoofed_remote_id: SpoofRules = Field(default_factory=SpoofRules)


def default_rules_path() -> Path:
    """Path of the shipped default rules file (``skyfence/airspace/data/rules.toml``)."""
    return Path(str(resources.files("skyfence.airspace") / "data" / "rules.toml"))


def load_rules(path: str | Path | None = None) -> RulesConfig:
    """Load alert rules from a TOML file (the shipped default when ``path`` is None).

    Parameters
    ----------
    path : str or Path, optional
        A rules file; any table or key left out takes the shipped default.

    Returns
    -------
    RulesConfig
        The validated, immutable rules.

    Raises
    ------
    ConfigError
        The file is missing, not TOML, or a key is unknown or has a wrong value; the
        message names the file and the dotted key (``threat.class_weights.bird``).
    """
    if path is None:
        return _load_default()
    return _load(Path(path))


@lru_cache(maxsize=1)
def _load_default() -> RulesConfig:
    return _load(default_rules_path())


def _load(path: Path) -> RulesConfig:
    return validate_model(RulesConfig, load_toml(path), path)
