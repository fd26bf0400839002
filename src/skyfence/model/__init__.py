"""Records every layer shares.  Units are SI: metres, seconds (UTC epoch), radians inside,
degrees at the edges (files, JSON, UI).  Imports numpy only."""

from skyfence.model.schema import (
    DETECTION_COLUMNS,
    DETECTION_KINDS,
    TARGET_CLASSES,
    TRUTH_COLUMNS,
)

__all__ = ["DETECTION_COLUMNS", "DETECTION_KINDS", "TARGET_CLASSES", "TRUTH_COLUMNS"]
