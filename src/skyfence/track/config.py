"""Tracker configuration (TOML ``[tracker]`` table), validated when it is built.

Every component is chosen here by name and built with its parameters, the way
Stone Soup composes a tracker from parts; a wrong key or value fails with the
file and key named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from skyfence.config.loader import load_toml, validate_model
from skyfence.errors import ConfigError

__all__ = ["TrackerConfig", "load_tracker_config"]

Pos = Annotated[float, Field(gt=0)]


class TrackerConfig(BaseModel):
    """Parameters of the multi-sensor tracker.  SI units; angles in degrees."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: tracking frame: tangent-plane ENU at [lat_deg, lon_deg, alt_m]; default: sensors' mean
    origin: tuple[Annotated[float, Field(ge=-90, le=90)], Annotated[float, Field(ge=-180, le=180)],
                  float] | None = None
    #: motion model: one of cv, ca, ct, or "imm" (an IMM over ``imm_models``, the default:
    #: on vilnius-swarm one CV model gave 2.1x the PCRLB, 2,383 id swaps a run and 28
    #: false alerts in five runs, the IMM 1.16x, 73 and 10 (session 9).  One CV model runs
    #: compiled: 6.3x faster at 10,000 targets, where the IMM takes 0.5 s of each 1-s scan)
    motion: Literal["cv", "ca", "ct", "imm"] = "imm"
    #: process noise: white acceleration spectral density (m²/s³) horizontally / vertically
    q: Pos = 4.0
    q_vertical: Pos = 1.0
    #: coordinated turn: turn-rate noise (rad²/s³)
    q_turn: Pos = 1e-4
    #: IMM: the models, each one's horizontal acceleration noise (m²/s³; default q for
    #: all), the probability of staying in a model from one second to the next, and the
    #: prior spread of a turn rate (deg/s) or acceleration (m/s²) at a manoeuvre's onset
    imm_models: list[Literal["cv", "ca", "ct"]] = Field(default_factory=lambda: ["cv", "ct"],
                                                         min_length=1)
    imm_q: list[Pos] | None = None
    imm_stay_probability: Annotated[float, Field(gt=0, lt=1)] = 0.97
    imm_turn_sigma_deg_s: Pos = 4.0
    imm_accel_sigma_mps2: Pos = 3.0
    filter: Literal["ekf", "ukf"] = "ekf"
    #: data association: global nearest neighbour, or JPDA for confirmed tracks in dense
    #: scenes (tentative tracks always take the detections no confirmed track owns, by GNN)
    association: Literal["gnn", "jpda"] = "gnn"
    #: JPDA: detection probability of a radar (passive sensors use their own ``pd``), and the
    #: fewest false detections per frame assumed for a sensor whose file gives none
    jpda_pd: Annotated[float, Field(gt=0, lt=1)] = 0.9
    jpda_min_false_per_frame: Pos = 0.1
    #: chi-square gate: probability that the true detection falls inside
    gate_probability: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.9995
    #: fastest target worth tracking (bounds the coarse spatial gate), m/s
    max_speed_mps: Pos = 300.0
    use_radial_velocity: bool = True
    #: a track no radar plot, position report or second passive sensor's bearing has
    #: placed for this long takes no more bearings (a single direction finder's rays give
    #: no range: on them alone a track slides along the ray).  On vilnius-swarm, bird
    #: tracks whose plots had stopped took one direction finder's bearings of the swarm's
    #: control links for minutes, wandered off their bird, turned "drone" and raised
    #: four found-inside alerts
    bearing_only_max_s: Pos = 20.0
    #: a track a radar or position report has seen takes a direction finder's bearing
    #: only when no other track's gate holds that bearing and no other bearing of the
    #: scan falls in its own gate (one ray cannot tell targets on it apart), until that
    #: finder has heard it once, and none while tentative.  On vilnius-swarm, one
    #: direction finder hearing sixty control links gave bird tracks thousands of the
    #: swarm's bearings
    unambiguous_bearings: bool = True
    #: a tentative track is confirmed with confirm_m hits in its first confirm_n looks
    confirm_m: Annotated[int, Field(ge=1, le=32)] = 3
    confirm_n: Annotated[int, Field(ge=1, le=32)] = 5
    #: a confirmed track coasts after this long without an update, and is deleted after
    coast_after_s: Pos = 3.0
    delete_after_s: Pos = 12.0
    #: ... or, if longer, after this many scan periods of the fastest sensor that has seen
    #: it and still covers its position, else of the slowest that has seen it (a track held
    #: by a 5-s radar alone is not deleted after two missed scans; one a 1-s radar covers
    #: does not wait 30 s for a 10-s radar that also saw it once)
    coast_after_scans: Pos = 1.5
    delete_after_scans: Pos = 3.0
    #: ... or when its position uncertainty (1-sigma, largest axis) exceeds this
    max_position_sigma_m: Pos = 3_000.0
    #: re-acquisition: a confirmed track deleted for missed updates is kept *lost* for
    #: reacquire_s (or, if longer, reacquire_scans scan periods of the slowest sensor that
    #: saw it) after its deletion; a radar plot or position report that no live track
    #: explains and that falls in the chi-square gate of a lost track predicted to its time
    #: (and within reacquire_max_m of it horizontally, plus reacquire_plot_sigmas sigmas of
    #: the plot's own horizontal noise) brings that track back, confirmed at once under its
    #: old id (GNN when several compete)
    reacquire: bool = True
    reacquire_s: Annotated[float, Field(ge=0)] = 30.0
    reacquire_scans: Annotated[float, Field(ge=0)] = 9.0
    reacquire_max_m: Pos = 500.0
    #: 3 sigmas and 9 scans raise border-day's probability of update (first 2 h, IMM)
    #: from 0.879 to 0.941 and cut its track-id changes from 227 to 37: birds 60 km out
    #: on the 10-s 2D radar, a kilometre wide across the beam, come back instead of
    #: starting again.  Such a bird, kept through long gaps, slows to a balloon's speed in
    #: its velocity estimate; before the classifier knew the wind that raised 2-7 false
    #: balloon alerts in 2 h (0 with ``wind_drift_mps``).  0 and 4 scans: the bound alone
    reacquire_plot_sigmas: Annotated[float, Field(ge=0)] = 3.0
    #: ... and the lost window is stretched by 1 / the track's own detection rate (its
    #: hits over its looks, M-of-N's counts over its life), at least this rate: a target
    #: its radars see once in six scans gets as many chances to come back in the window
    #: as a well-seen one (1 leaves the window as it is).  Three quarters of the owed
    #: bird updates border-day missed (first 2 h, IMM, bound gate) were of flocks and
    #: birds 50-90 km out on the 2D radars, one plot in 5-10 scans, whose lost track had
    #: expired before the next plot; each later plot started a tentative track that 3 hits
    #: in 5 looks cannot confirm.  0.3 (at most 3.3 times: 300 s for a 10-s radar) with
    #: ``reacquire_rate_2d_only`` raises border-day's bird probability of update (2 h,
    #: three seeds, bound gate) from 0.957 / 0.972 / 0.952 to 0.970 / 0.980 / 0.963,
    #: overall 0.969 / 0.978 / 0.969 to 0.979 / 0.984 / 0.976, with 0 false incursion
    #: alerts and id swaps unchanged, false updates up ~10 %.  The longest window must be
    #: shorter than the alerts' ``resolve.silent_after_s`` (the pipeline checks)
    reacquire_min_rate: Annotated[float, Field(gt=0, le=1)] = 0.3
    #: ... only for a track that 2D radars alone have seen (the long-range surveillance
    #: radars' sparse targets): one a 3D radar saw is not stretched.  Without this, 0.15
    #: raised 2 false incursion alerts in border-day's first 2 h: one bird track at the
    #: edge of two 3D radars, kept lost for minutes and brought back by their clutter
    #: time and again (its velocity from plot to plot made it a drone)
    reacquire_rate_2d_only: bool = True
    #: ... and not by a plot whose RCS is more than this many dB above the lost track's
    #: mean RCS (None: RCS is not looked at).  A fluctuating echo (Swerling 1: its power
    #: exponentially distributed about the mean) exceeds ten times its mean with odds
    #: e^-10; clutter at the edge of a long-range radar's cover shows the RCS its
    #: threshold needs there.  In border-day (seed 815, 04:50 UTC) a bird of about
    #: -20 dBsm tracked by one 2D radar vanished, and two clutter plots of another 2D
    #: radar 66 km off (-8 dBsm), 257 s and 467 s later, brought its track back with a
    #: wind-drift velocity: a false balloon alert
    reacquire_max_rcs_db: float | None = 10.0
    #: the track's mean RCS (``TrackTable.rcs_m2``) moves towards each new plot's by
    #: 1 / its detections so far, at least 1 / this: a radar-only track's first plots
    #: weigh equally, then older ones are forgotten with this memory in plots
    rcs_memory: Annotated[float, Field(ge=1)] = 8.0
    #: initial velocity uncertainty of a new track (1-sigma), horizontal / vertical, m/s
    init_speed_sigma_mps: Pos = 50.0
    init_vertical_speed_sigma_mps: Pos = 5.0
    #: a track started from a 2D radar plot (no elevation) is put this high above the
    #: radar with this 1-sigma, m
    init_height_above_sensor_m: float = 400.0
    init_height_sigma_m: Pos = 800.0
    #: a track that only 2D radars have seen keeps that height (and no vertical speed)
    #: after every update, as a 2D tracker at an assumed height does: slant ranges alone
    #: let its height drift kilometres away (below ground, too), and the drift moves its
    #: ground position by up to a kilometre at long range
    hold_2d_height: bool = True
    #: duplicate firm tracks (positions within merge_radius_m, position and velocity alike
    #: within the merge_chi2 bound (chi-square, 6 degrees of freedom, P = 0.99), at
    #: merge_checks checks a second apart): the younger is deleted, the older kept
    merge_duplicates: bool = True
    merge_radius_m: Pos = 300.0
    merge_chi2: Pos = 16.8
    merge_checks: Annotated[int, Field(ge=1, le=100)] = 3
    #: detections older than the newest by more than this are refused, s
    max_age_s: Pos = 600.0
    #: detections from more than this in the future of the wall clock are refused, s
    max_future_s: Pos = 60.0

    @model_validator(mode="after")
    def _check(self) -> TrackerConfig:
        if self.confirm_m > self.confirm_n:
            raise ValueError(f"confirm_m <= confirm_n, got {self.confirm_m} > {self.confirm_n}")
        if self.motion == "imm":
            if self.filter != "ekf":
                raise ValueError(f"filter = 'ekf' with motion = 'imm' (the IMM runs EKFs; "
                                 f"motion is 'imm' unless set): for filter = "
                                 f"'{self.filter}' set motion = 'cv', 'ca' or 'ct'")
            if self.association == "jpda":
                raise ValueError("association = 'gnn' with motion = 'imm' (IMM-JPDA is not "
                                 "built yet; motion is 'imm' unless set): for association = "
                                 "'jpda' set motion = 'cv', 'ca' or 'ct'")
            if self.imm_q is not None and len(self.imm_q) != len(self.imm_models):
                raise ValueError(f"imm_q with one value per model of imm_models "
                                 f"({len(self.imm_models)}), got {len(self.imm_q)}")
        if self.delete_after_s <= self.coast_after_s:
            raise ValueError("delete_after_s greater than coast_after_s")
        return self


def load_tracker_config(path: str | Path | None) -> TrackerConfig:
    """Read the ``[tracker]`` table of a TOML file (defaults when ``path`` is None)."""
    if path is None:
        return TrackerConfig()
    data = load_toml(path)
    extra = set(data) - {"tracker"}
    if extra:
        raise ConfigError(path, sorted(extra)[0], "unknown table (a tracker file holds [tracker])")
    return validate_model(TrackerConfig, data.get("tracker", {}), path, prefix="tracker")
