"""Records every layer shares.  Units are SI: metres, seconds (UTC epoch), radians inside,
degrees at the edges (files, JSON, UI).  Imports numpy only."""

from skyfence.model.schema import (
    DETECTION_COLUMNS,
    DETECTION_KINDS,
    QUARANTINE_COLUMNS,
    TARGET_CLASSES,
    TRACK_COLUMNS,
    TRACK_STATUSES,
    TRUTH_COLUMNS,
)

__all__ = [
    "DETECTION_COLUMNS",
    "DETECTION_KINDS",
    "QUARANTINE_COLUMNS",
    "TARGET_CLASSES",
    "TRACK_COLUMNS",
    "TRACK_STATUSES",
    "TRUTH_COLUMNS",
]
