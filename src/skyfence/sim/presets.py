"""Target types: kinematic limits and signatures of each kind of thing that flies.

Figures are public ballpark values (manufacturer data, open reporting, radar
literature); every one is a default a scenario can override per target.

===============  =========  ==========  ======  =====  ==========================
type             class      cruise m/s  turn    RCS    notes
===============  =========  ==========  ======  =====  ==========================
gerbera          fixed-wing 44          7 °/s   -15    foam/plywood decoy, 2.5 m
shahed           fixed-wing 50          5 °/s   -10    loitering munition
quadcopter       rotary     15          90 °/s  -20    hovers, dashes at 25 m/s
bird             bird       12          25 °/s  -25    single large bird
flock            bird       13          15 °/s  -12    tight flock, one echo
light_aircraft   aircraft   60          3 °/s   5      ADS-B out
airliner         aircraft   230         1.5 °/s 20     ADS-B out, airways
balloon          balloon    wind        —       -10    drifts with the wind
===============  =========  ==========  ======  =====  ==========================
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

__all__ = ["PRESETS", "Behaviour", "TargetPreset", "preset"]

Behaviour = Literal["route", "wander", "drift"]


@dataclass(frozen=True)
class TargetPreset:
    """Kinematic limits (SI) and signatures of one target type."""

    type: str
    target_class: str           # one of skyfence.model.TARGET_CLASSES
    behaviour: Behaviour
    cruise_speed_mps: float
    max_speed_mps: float
    min_speed_mps: float        # > 0 for fixed wing: it cannot hover
    max_turn_rate_deg_s: float
    max_climb_mps: float
    max_descent_mps: float
    max_accel_mps2: float
    rcs_dbsm: float             # mean radar cross-section (Swerling 1 fluctuation)
    size_m: float               # span, for EO/IR detection range
    acoustic_db: float          # source level, dB SPL at 1 m (0: silent)
    emits_rf: bool              # control/data link a direction finder can hear
    endurance_km: float         # distance it can fly before it comes down
    glide_ratio: float          # when the engine stops
    agl_m: float                # default height above ground
    adsb: bool = False          # carries an ADS-B transponder
    remote_id: bool = False     # broadcasts Remote ID

    def with_overrides(self, **kw: Any) -> TargetPreset:
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in kw.items() if k in known and v is not None})


PRESETS: dict[str, TargetPreset] = {
    p.type: p
    for p in (
        TargetPreset("gerbera", "drone_fixed_wing", "route", 44.0, 55.0, 28.0, 7.0, 4.0, 6.0,
                     1.5, -15.0, 2.5, 90.0, True, 600.0, 8.0, 500.0),
        TargetPreset("shahed", "drone_fixed_wing", "route", 50.0, 60.0, 30.0, 5.0, 5.0, 8.0,
                     1.5, -10.0, 2.5, 100.0, False, 2000.0, 6.0, 800.0),
        TargetPreset("quadcopter", "drone_rotary", "route", 15.0, 25.0, 0.0, 90.0, 5.0, 4.0,
                     4.0, -20.0, 0.4, 80.0, True, 25.0, 0.0, 80.0),
        TargetPreset("bird", "bird", "wander", 12.0, 20.0, 6.0, 25.0, 2.0, 3.0, 2.0, -25.0,
                     0.8, 0.0, False, 1e9, 10.0, 150.0),
        TargetPreset("flock", "bird", "wander", 13.0, 20.0, 8.0, 15.0, 2.0, 3.0, 1.5, -12.0,
                     6.0, 0.0, False, 1e9, 10.0, 250.0),
        TargetPreset("light_aircraft", "aircraft", "route", 60.0, 75.0, 30.0, 3.0, 4.0, 5.0,
                     1.0, 5.0, 10.0, 110.0, False, 1500.0, 9.0, 900.0, adsb=True),
        TargetPreset("airliner", "aircraft", "route", 230.0, 250.0, 80.0, 1.5, 12.0, 12.0,
                     1.0, 20.0, 35.0, 120.0, False, 8000.0, 15.0, 10_500.0, adsb=True),
        TargetPreset("balloon", "balloon", "drift", 0.0, 40.0, 0.0, 0.0, 1.0, 1.0, 0.2,
                     -10.0, 2.0, 0.0, False, 1e9, 0.0, 2_000.0),
    )
}


def preset(name: str) -> TargetPreset:
    """Look up a target type; the error lists the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        valid = ", ".join(sorted(PRESETS))
        raise ValueError(f"'{name}' is not a valid target type, must be one of {valid}") from None
