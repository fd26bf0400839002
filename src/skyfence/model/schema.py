"""Column schemas of the interchange tables (docs/interchange.md).

Each schema maps a column name to its numpy dtype string.  Readers accept extra
columns and carry them along; writers emit exactly these columns in this order
(plus extras the producer adds, such as ``truth_id``).
"""

from __future__ import annotations

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_KINDS",
    "ALERT_STATES",
    "CLASSIFY_CLASSES",
    "CLASS_PROB_COLUMNS",
    "DETECTION_COLUMNS",
    "DETECTION_KINDS",
    "EVENT_COLUMNS",
    "EVENT_KINDS",
    "QUARANTINE_COLUMNS",
    "TARGET_CLASSES",
    "TRACK_COLUMNS",
    "TRACK_STATUSES",
    "TRUTH_COLUMNS",
]

#: measurement kinds of a detection row
DETECTION_KINDS: tuple[str, ...] = ("radar3d", "radar2d", "bearing", "bearing_elev", "position")

#: truth classes written by the simulator (coarse classes used by ``classify``)
TARGET_CLASSES: tuple[str, ...] = (
    "drone_fixed_wing",
    "drone_rotary",
    "bird",
    "aircraft",
    "balloon",
)

#: detections: one row per detection.  NaN where a column does not apply to the kind.
DETECTION_COLUMNS: dict[str, str] = {
    "time": "float64",                 # measurement time, UTC epoch seconds
    "sensor_id": "str",
    "kind": "str",                     # one of DETECTION_KINDS
    "range_m": "float64",
    "azimuth_deg": "float64",          # clockwise from true north, [0, 360)
    "elevation_deg": "float64",
    "radial_velocity_mps": "float64",  # positive receding
    "lat_deg": "float64",
    "lon_deg": "float64",
    "alt_m": "float64",                # metres above the WGS84 ellipsoid
    "sigma_range_m": "float64",
    "sigma_azimuth_deg": "float64",
    "sigma_elevation_deg": "float64",
    "sigma_radial_velocity_mps": "float64",
    "sigma_pos_m": "float64",
    "snr_db": "float64",
    "rcs_dbsm": "float64",
    "id_hint": "str",                  # cooperative identity (ICAO24, Remote ID serial) or ""
    # extras written by the simulator (readers carry them, never require them)
    "arrival_time": "float64",         # when the report reaches the fusion centre
    "truth_id": "int64",               # index of the true target; -1 for a false alarm
}

#: truth: one row per target per simulation step while the target exists.
TRUTH_COLUMNS: dict[str, str] = {
    "time": "float64",
    "truth_id": "int64",
    "name": "str",
    "target_type": "str",              # preset name: gerbera, shahed, quadcopter, bird, ...
    "target_class": "str",             # one of TARGET_CLASSES
    "lat_deg": "float64",
    "lon_deg": "float64",
    "alt_m": "float64",
    "vel_east_mps": "float64",
    "vel_north_mps": "float64",
    "vel_up_mps": "float64",
    "rcs_dbsm": "float64",             # mean radar cross-section
    "status": "str",                   # flying | down (the last row of a target that came down)
}

#: track statuses, in the order of their integer codes inside the tracker
TRACK_STATUSES: tuple[str, ...] = ("tentative", "confirmed", "coasting", "deleted")

#: tracks: one row per track per update (and one ``deleted`` row when a track ends).
TRACK_COLUMNS: dict[str, str] = {
    "time": "float64",                 # time of the state, UTC epoch seconds
    "track_id": "int64",               # stable for the life of the track
    "status": "str",                   # one of TRACK_STATUSES
    "lat_deg": "float64",
    "lon_deg": "float64",
    "alt_m": "float64",
    "vel_east_mps": "float64",         # local east/north/up at the track's position
    "vel_north_mps": "float64",
    "vel_up_mps": "float64",
    "sigma_east_m": "float64",         # position 1-sigma along local east/north/up
    "sigma_north_m": "float64",
    "sigma_up_m": "float64",
    "class": "str",                    # identification (empty until classify runs)
    "class_prob": "float64",
    "n_updates": "int64",              # detections that have updated the track
    "sensor_id": "str",                # sensor of the last update ("" when coasting)
    "rcs_dbsm": "float64",             # RCS of the detection of this update (NaN if none)
    "id_hint": "str",                  # cooperative id of the detection of this update, or ""
}

#: classes ``classify`` gives probabilities over (the truth classes plus clutter)
CLASSIFY_CLASSES: tuple[str, ...] = (*TARGET_CLASSES, "clutter")

#: per-class probability columns ``classify`` adds to track rows (``p_<class>``), beside
#: ``class`` (the most probable) and ``class_prob`` (its probability)
CLASS_PROB_COLUMNS: dict[str, str] = {f"p_{c}": "float64" for c in CLASSIFY_CLASSES} | {
    "cooperative_id": "str",           # ADS-B / Remote ID identity the track took, or ""
    "spoofed": "bool",                 # a Remote ID report claiming this track disagrees
    "phantom_of": "int64",             # a track made of a spoofed Remote ID's false claims:
                                       # the radar track of the drone making them (else -1)
}

#: airspace events, in the order of their codes
EVENT_KINDS: tuple[str, ...] = (
    "border_entry",      # crossed into the protected country
    "border_exit",       # crossed back out
    "zone_entry",        # entered a protected zone
    "zone_exit",         # left it
    "zone_approach",     # predicted to reach a zone within the look-ahead
    "loiter",            # stayed within a small area for a while
)

#: events: one row per airspace event of a track (``airspace`` emits them once each)
EVENT_COLUMNS: dict[str, str] = {
    "time": "float64",                 # when it happened (a crossing: interpolated), UTC s
    "detected_time": "float64",        # time of the track update that revealed it (a
                                       # predicted border entry: the clock it was carried to)
    "track_id": "int64",
    "kind": "str",                     # one of EVENT_KINDS
    "lat_deg": "float64",              # where (a crossing: the interpolated crossing point)
    "lon_deg": "float64",
    "alt_m": "float64",
    "country_from": "str",             # ISO code of the side it came from ("" if n/a)
    "country_to": "str",
    "zone_id": "str",                  # zone events: the zone ("" otherwise)
    "heading_deg": "float64",          # course over ground, clockwise from true north
    "speed_mps": "float64",
    "depth_m": "float64",              # distance inside the protected country (≥ 0)
    "time_to_zone_s": "float64",       # zone_approach: predicted time to the zone
    "time_to_zone_sigma_s": "float64",
    "distance_m": "float64",           # zone_approach: distance to the zone now
}

#: alert lifecycle states
ALERT_STATES: tuple[str, ...] = ("raised", "acknowledged", "escalated", "resolved")

#: what an alert is about
ALERT_KINDS: tuple[str, ...] = ("incursion", "zone", "spoofed_remote_id")

#: alerts: one row per revision (raised, each change of state or priority, resolved)
ALERT_COLUMNS: dict[str, str] = {
    "alert_id": "int64",               # one per incursion, stable across revisions
    "revision": "int64",               # 0 when raised, +1 per change
    "time": "float64",                 # time of this revision (picture time), UTC s
    "state": "str",                    # one of ALERT_STATES
    "kind": "str",                     # one of ALERT_KINDS
    "priority": "int64",               # 1 (highest) … 4
    "threat_score": "float64",         # 0 … 1
    "track_id": "int64",               # the track it follows now
    "track_ids": "str",                # every track merged into it, space-separated
    "class": "str",
    "class_prob": "float64",
    "cooperative_id": "str",
    "lat_deg": "float64",              # the track at this revision's time (carried ≤ 5 s)
    "lon_deg": "float64",
    "alt_m": "float64",
    "heading_deg": "float64",
    "speed_mps": "float64",
    "crossing_time": "float64",        # the border crossing that raised it (NaN if none)
    "crossing_lat_deg": "float64",
    "crossing_lon_deg": "float64",
    "country_from": "str",
    "zone_id": "str",                  # nearest threatened zone ("" if none)
    "time_to_zone_s": "float64",
    "message": "str",                  # one line for the operator
}

#: quarantined detections: the row as it arrived (its columns) plus why it was refused.
QUARANTINE_COLUMNS: dict[str, str] = {
    "time": "float64",
    "sensor_id": "str",
    "kind": "str",
    "row": "int64",                    # index of the row in its input batch or file
    "reason": "str",
}
