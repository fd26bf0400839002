"""Cursor-on-Target (CoT) events for SkyFence alerts (the TAK family: ATAK, WinTAK, TAK Server).

A CoT event is one XML element::

    <event version="2.0" uid="skyfence-alert-12" type="a-h-A-M-F-Q" how="m-f"
           time="2025-07-28T02:13:45.120Z" start="…" stale="…">
      <point lat="54.6012" lon="25.7034" hae="350.0" ce="9999999.0" le="9999999.0"/>
      <detail>
        <contact callsign="SF alert 12"/>
        <track course="270.0" speed="45.0"/>
        <remarks source="SkyFence">P1 incursion raised: …</remarks>
        <skyfence alert_id="12" revision="0" state="raised" … />
      </detail>
    </event>

* **uid** is stable per alert (``<prefix>-alert-<alert_id>``): every revision
  replaces the previous one on the receivers' maps.
* **type** is a CoT atom ``a-<affiliation>-<dimension>-<function>``.  The
  function codes come from MIL-STD-2525 as mapped in MITRE's CoT type table
  (``CoTtypes.xml``, e.g. github.com/dB-SPL/cot-types): ``A-M-F-Q``
  "Air/Mil/Fixed/Drone,RPV,UAV", ``A-M-H-Q`` "Air/Mil/Rotor/Drone,RPV,UAV",
  ``A-C-L`` "Air/Civ/Lighter than air", ``A`` "Air track".  The affiliation
  letter is CoT's: ``h`` hostile, ``s`` suspect, ``u`` unknown, ``n``
  neutral, ``f`` friend (the table lists types without it: ``a-.-A-M-F-Q``).
  SkyFence reports an alert of priority ≤ ``hostile_priority`` as hostile,
  any other as unknown: an incursion by a drone of priority 1 becomes
  ``a-h-A-M-F-Q``, a low-priority rotary drone ``a-u-A-M-H-Q``.
* **how** is ``m-f`` ("machine, fused": CoTtypes.xml's how table), the
  position being a multi-sensor track.
* **time/start** are the alert revision's time (picture time), **stale** is
  ``stale_s`` later (``resolved_stale_s`` for a resolved alert, so receivers
  drop it soon).  A receiver ignores an event that is already stale by its own
  clock: when replaying a recording to live receivers, stamp events with the
  send time instead (``now``).
* **point**: WGS84 latitude/longitude (degrees) and height above the ellipsoid
  (``hae``, metres) of the track at this revision; ``ce``/``le`` are the
  CoT "unknown" value 9999999 unless the alert carries ``ce_m``/``le_m``.

SkyFence is surveillance only: these events report; they never task anything.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from skyfence.errors import DataError

__all__ = [
    "COT_UNKNOWN",
    "CotError",
    "affiliation_for",
    "alert_to_cot",
    "cot_time",
    "cot_type_for",
    "cot_uid",
    "parse_cot_time",
]

#: CoT's value for an unknown height or error ("9999999.0" in the CoT schema)
COT_UNKNOWN = 9999999.0

#: CoT function (after the affiliation) of each target class; anything else is an air track
_FUNCTION: dict[str, str] = {
    "drone_fixed_wing": "A-M-F-Q",   # Air/Mil/Fixed/Drone,RPV,UAV
    "drone_rotary": "A-M-H-Q",       # Air/Mil/Rotor/Drone,RPV,UAV
    "balloon": "A-C-L",              # Air/Civ/Lighter than air
    "aircraft": "A",                 # Air track (identity from ADS-B is in the detail)
}
_AIR_TRACK = "A"
_AFFILIATIONS = frozenset("pufnashjko")


class CotError(DataError):
    """An alert cannot be written as a CoT event (no position at all)."""


def _num(alert: Mapping[str, Any], key: str) -> float | None:
    """A finite number from the alert, or None (missing, None, NaN)."""
    v = alert.get(key)
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def cot_time(t: float) -> str:
    """UTC epoch seconds as a CoT (W3C XML Schema) dateTime with milliseconds."""
    dt = datetime.fromtimestamp(round(float(t), 3), tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_cot_time(s: str) -> float:
    """A CoT dateTime (``…Z``, with or without fractional seconds) as UTC epoch seconds."""
    text = s.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text).timestamp()


def cot_uid(alert_id: int, prefix: str = "skyfence") -> str:
    """The uid of an alert's events: the same for every revision."""
    return f"{prefix}-alert-{int(alert_id)}"


def affiliation_for(alert: Mapping[str, Any], hostile_priority: int = 2) -> str:
    """``h`` (hostile) for an alert of priority ≤ ``hostile_priority``, else ``u`` (unknown)."""
    p = _num(alert, "priority")
    return "h" if p is not None and p <= hostile_priority else "u"


def cot_type_for(alert: Mapping[str, Any], hostile_priority: int = 2,
                 affiliation: str | None = None) -> str:
    """The CoT type of an alert: affiliation from its priority, function from its class."""
    aff = affiliation or affiliation_for(alert, hostile_priority)
    if aff not in _AFFILIATIONS:
        raise ValueError(f"not a CoT affiliation: {aff!r}")
    func = _FUNCTION.get(str(alert.get("class") or ""), _AIR_TRACK)
    return f"a-{aff}-{func}"


def _fmt(v: float, digits: int) -> str:
    return f"{v:.{digits}f}"


def _remarks(alert: Mapping[str, Any]) -> str:
    parts = []
    p = _num(alert, "priority")
    head = f"P{int(p)} " if p is not None else ""
    parts.append(f"{head}{alert.get('kind') or 'alert'} {alert.get('state') or ''}".strip())
    cls = alert.get("class") or ""
    if cls:
        prob = _num(alert, "class_prob")
        parts.append(cls + (f" ({prob * 100:.0f} %)" if prob is not None else ""))
    if alert.get("cooperative_id"):
        parts.append(f"id {alert['cooperative_id']}")
    tid = alert.get("track_id")
    if tid is not None:
        parts.append(f"track {tid}")
    ct, t = _num(alert, "crossing_time"), _num(alert, "time")
    if ct is not None and t is not None:
        frm = alert.get("country_from") or ""
        parts.append(f"crossed{' from ' + frm if frm else ''} {max(0.0, t - ct):.0f} s before")
    ttz = _num(alert, "time_to_zone_s")
    if alert.get("zone_id") and ttz is not None:
        parts.append(f"zone {alert['zone_id']} in {ttz:.0f} s")
    msg = str(alert.get("message") or "")
    text = "; ".join(parts)
    return f"{text}: {msg}" if msg else text


def alert_to_cot(alert: Mapping[str, Any], *, stale_s: float = 120.0,
                 resolved_stale_s: float = 10.0, uid_prefix: str = "skyfence",
                 hostile_priority: int = 2, now: float | None = None,
                 callsign: str | None = None) -> bytes:
    """One alert revision as a CoT event (UTF-8 XML with its declaration).

    Parameters
    ----------
    alert:
        An alert row (``ALERT_COLUMNS`` keys; unknown numbers None or NaN).
    stale_s:
        How long the event stays valid after its time, seconds.
    resolved_stale_s:
        The same for a ``resolved`` revision (receivers drop it soon after).
    uid_prefix:
        Prefix of the event uid (``<prefix>-alert-<alert_id>``).
    hostile_priority:
        Alerts of this priority or higher (1 is highest) are typed hostile.
    now:
        Stamp ``time``/``start`` with this time (UTC epoch s) instead of the
        alert's own time (replaying to live receivers).
    callsign:
        Map label; default ``SF alert <alert_id>``.

    Returns
    -------
    bytes
        The XML document.

    Raises
    ------
    CotError
        The alert has neither a track position nor a crossing point.
    """
    alert_id = alert.get("alert_id")
    if alert_id is None:
        raise CotError("alert has no alert_id")
    t = now if now is not None else _num(alert, "time")
    if t is None:
        raise CotError(f"alert {alert_id}: no time")
    lat, lon = _num(alert, "lat_deg"), _num(alert, "lon_deg")
    if lat is None or lon is None:
        lat, lon = _num(alert, "crossing_lat_deg"), _num(alert, "crossing_lon_deg")
    if lat is None or lon is None:
        raise CotError(f"alert {alert_id} revision {alert.get('revision')}: no position "
                       "(neither lat_deg/lon_deg nor the crossing point)")
    hae = _num(alert, "alt_m")
    ce = _num(alert, "ce_m")
    le = _num(alert, "le_m")
    life = resolved_stale_s if alert.get("state") == "resolved" else stale_s

    event = ET.Element("event", {
        "version": "2.0",
        "uid": cot_uid(int(alert_id), uid_prefix),
        "type": cot_type_for(alert, hostile_priority),
        "how": "m-f",
        "time": cot_time(t),
        "start": cot_time(t),
        "stale": cot_time(t + life),
    })
    ET.SubElement(event, "point", {
        "lat": _fmt(lat, 7), "lon": _fmt(lon, 7),
        "hae": _fmt(hae, 1) if hae is not None else _fmt(COT_UNKNOWN, 1),
        "ce": _fmt(ce, 1) if ce is not None else _fmt(COT_UNKNOWN, 1),
        "le": _fmt(le, 1) if le is not None else _fmt(COT_UNKNOWN, 1),
    })
    detail = ET.SubElement(event, "detail")
    ET.SubElement(detail, "contact", {"callsign": callsign or f"SF alert {int(alert_id)}"})
    course, speed = _num(alert, "heading_deg"), _num(alert, "speed_mps")
    if course is not None and speed is not None:
        # CoT <track>: course in degrees clockwise from true north, speed in m/s
        ET.SubElement(detail, "track", {"course": _fmt(course % 360.0, 1),
                                        "speed": _fmt(speed, 2)})
    remarks = ET.SubElement(detail, "remarks", {"source": "SkyFence"})
    remarks.text = _remarks(alert)
    info: dict[str, str] = {}
    for key in ("alert_id", "revision", "state", "kind", "priority", "threat_score",
                "track_id", "track_ids", "class", "class_prob", "cooperative_id",
                "crossing_time", "crossing_lat_deg", "crossing_lon_deg", "country_from",
                "zone_id", "time_to_zone_s"):
        v = alert.get(key)
        if v is None or v == "" or (isinstance(v, float) and not math.isfinite(v)):
            continue
        info[key] = repr(v) if isinstance(v, float) else str(v)
    if _num(alert, "time") is not None:
        info["alert_time"] = cot_time(float(alert["time"]))
    ET.SubElement(detail, "skyfence", info)
    return ET.tostring(event, encoding="utf-8", xml_declaration=True)
