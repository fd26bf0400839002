"""Alerts as one line each on the operator's terminal (rich)."""

from __future__ import annotations

import math
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape

__all__ = ["ConsoleSink", "format_alert"]

_PRIORITY_STYLE = {1: "bold white on red", 2: "bold red", 3: "bold yellow", 4: "cyan"}


def _num(alert: dict[str, Any], key: str) -> float | None:
    v = alert.get(key)
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _duration(s: float) -> str:
    """Seconds as '45 s', '2 min 13 s', '1 h 02 min'."""
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        m, sec = divmod(int(round(s)), 60)
        return f"{m} min {sec:02d} s"
    h, rem = divmod(int(round(s)), 3600)
    return f"{h} h {rem // 60:02d} min"


def format_alert(alert: dict[str, Any]) -> str:
    """One alert revision as a line of rich markup for an operator.

    Priority, kind and state, alert id and revision, class and its
    probability, cooperative identity, track, position (degrees, metres),
    course and speed, time since the border crossing (when known), the zone
    threatened and the time to reach it, the engine's message.
    """
    parts: list[str] = []
    t = _num(alert, "time")
    if t is not None:
        parts.append(datetime.fromtimestamp(t, tz=UTC).strftime("%H:%M:%SZ"))
    p = _num(alert, "priority")
    ptxt = f"P{int(p)}" if p is not None else "P?"
    style = _PRIORITY_STYLE.get(int(p) if p is not None else 0, "bold")
    state = str(alert.get("state") or "")
    if state == "resolved":
        style = "green"
    parts.append(f"[{style}]{ptxt}[/]")
    kind = escape(str(alert.get("kind") or "alert")).upper()
    parts.append(f"[bold]{kind}[/] {escape(state)}")
    parts.append(f"#{alert.get('alert_id')} r{alert.get('revision')}")
    cls = str(alert.get("class") or "")
    if cls:
        prob = _num(alert, "class_prob")
        parts.append(escape(cls) + (f" {prob * 100:.0f}%" if prob is not None else ""))
    if alert.get("cooperative_id"):
        parts.append(f"id {escape(str(alert['cooperative_id']))}")
    if alert.get("track_id") is not None:
        parts.append(f"track {alert['track_id']}")
    lat, lon, alt = _num(alert, "lat_deg"), _num(alert, "lon_deg"), _num(alert, "alt_m")
    if lat is not None and lon is not None:
        where = (f"{abs(lat):.4f}°{'N' if lat >= 0 else 'S'} "
                 f"{abs(lon):.4f}°{'E' if lon >= 0 else 'W'}")
        if alt is not None:
            where += f" {alt:.0f} m"
        parts.append(where)
    hdg, spd = _num(alert, "heading_deg"), _num(alert, "speed_mps")
    if hdg is not None and spd is not None:
        parts.append(f"{hdg % 360:.0f}° {spd:.0f} m/s")
    ct = _num(alert, "crossing_time")
    if ct is not None and t is not None:
        frm = str(alert.get("country_from") or "")
        parts.append(f"crossed{' from ' + escape(frm) if frm else ''} {_duration(t - ct)} ago")
    zone = str(alert.get("zone_id") or "")
    if zone:
        ttz = _num(alert, "time_to_zone_s")
        parts.append(f"zone {escape(zone)}" + (f" in {_duration(ttz)}" if ttz is not None
                                                else ""))
    line = "  ".join(parts)
    msg = str(alert.get("message") or "")
    return f"{line}  │ {escape(msg)}" if msg else line


class ConsoleSink:
    """Prints one line per alert revision (see :func:`format_alert`).

    Parameters
    ----------
    console:
        Where to print; default a console on ``stream``.
    name:
        The sink's name (stable: the delivery record is kept per name).
    stream:
        ``"stdout"`` or ``"stderr"`` when no console is given.
    position_every_s:
        A revision that changes nothing but the alert's position (same state, kind,
        priority, class and zone as the last line printed for that alert) is printed
        only if this long (alert time, seconds) has passed since that line; 0: print
        every revision.  An operator reads changes, not a position feed.
    """

    def __init__(self, console: Console | None = None, *, name: str = "console",
                 stream: str = "stdout", position_every_s: float = 60.0) -> None:
        self.name = name
        if console is None:
            console = Console(file=sys.stderr if stream == "stderr" else sys.stdout)
        self.console = console
        self.position_every_s = float(position_every_s)
        self._last: dict[int, tuple[tuple[Any, ...], float]] = {}

    def send(self, alert: dict[str, Any]) -> None:
        """Print the alert's line (a position-only revision at most every
        ``position_every_s``)."""
        key = tuple(alert.get(k) for k in ("state", "kind", "priority", "class", "zone_id"))
        t = _num(alert, "time") or 0.0
        aid = int(alert.get("alert_id", -1))
        last = self._last.get(aid)
        if last is not None and last[0] == key and t - last[1] < self.position_every_s:
            return
        self._last[aid] = (key, t)
        if alert.get("state") == "resolved":
            self._last.pop(aid, None)
        self.console.print(format_alert(alert), highlight=False, soft_wrap=True)
