"""Column schemas of the interchange tables (docs/interchange.md).

Each schema maps a column name to its numpy dtype string.  Readers accept extra
columns and carry them along; writers emit exactly these columns in this order
(plus extras the producer adds, such as ``truth_id``).
"""

from __future__ import annotations

__all__ = [
    "DETECTION_COLUMNS",
    "DETECTION_KINDS",
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
}

#: quarantined detections: the row as it arrived (its columns) plus why it was refused.
QUARANTINE_COLUMNS: dict[str, str] = {
    "time": "float64",
    "sensor_id": "str",
    "kind": "str",
    "row": "int64",                    # index of the row in its input batch or file
    "reason": "str",
}
