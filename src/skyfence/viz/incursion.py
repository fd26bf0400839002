"""Map of an incursion: the border, zones and sensors, the drones' true paths, the tracks
that were alerted on (coloured by their class), the true and the estimated crossing
points, and where each alert was raised."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from skyfence.config.sensors import SensorDeployment
from skyfence.geo.borders import Borders
from skyfence.geo.zones import Zones
from skyfence.viz.runmap import (
    CLASS_COLOURS,
    draw_geography,
    draw_sensors,
    finish_map,
    map_axes,
)

__all__ = ["plot_incursion"]

_PRIORITY_COLOURS = {1: "#b30000", 2: "#e34a33", 3: "#fc8d59", 4: "#fdbb84"}


def plot_incursion(out: str | Path, *, truth: Mapping[str, np.ndarray],
                   tracks: Mapping[str, np.ndarray], alerts: Mapping[str, np.ndarray],
                   true_crossings: Mapping[str, np.ndarray], events: Mapping[str, np.ndarray],
                   deployment: SensorDeployment, borders: Borders, zones: Zones,
                   title: str = "") -> Path:
    """Draw the incursion map to the PNG ``out``; returns its path.

    ``truth``: truth rows of the targets to show (drones); ``tracks``: classified track
    rows; ``alerts``: alert revisions; ``true_crossings``: border entries of the truth;
    ``events``: the pipeline's airspace events.
    """
    alerted = set()
    for ids in np.asarray(alerts.get("track_ids", np.empty(0, str))).astype(str):
        alerted.update(int(x) for x in ids.split())
    k_id = np.asarray(tracks["track_id"])
    firm = np.isin(np.asarray(tracks["status"]).astype(str), ["confirmed", "coasting"])
    mine = firm & np.isin(k_id, np.array(sorted(alerted), dtype=np.int64))
    lat = np.concatenate([np.asarray(truth["lat_deg"]), np.asarray(tracks["lat_deg"])[mine],
                          np.asarray(alerts.get("lat_deg", np.empty(0)))])
    lon = np.concatenate([np.asarray(truth["lon_deg"]), np.asarray(tracks["lon_deg"])[mine],
                          np.asarray(alerts.get("lon_deg", np.empty(0)))])
    if not np.isfinite(lat).any():
        lat = np.array([s.lat_deg for s in deployment.sensor])
        lon = np.array([s.lon_deg for s in deployment.sensor])
    fig, ax, frame = map_axes(lat, lon, min_half_deg=0.12, pad=1.3)
    xlim, ylim = frame[0], frame[1]
    draw_geography(ax, borders, zones, xlim, ylim)
    draw_sensors(ax, deployment)

    # true paths
    tid = np.asarray(truth["truth_id"])
    seen: set[str] = set()
    for t in np.unique(tid):
        m = tid == t
        o = np.argsort(np.asarray(truth["time"])[m])
        ax.plot(np.asarray(truth["lon_deg"])[m][o], np.asarray(truth["lat_deg"])[m][o],
                color="#444444", lw=1.0, ls="--", zorder=5,
                label="true path" if "truth" not in seen else None)
        seen.add("truth")

    # alerted tracks, coloured by the class each update had
    cls = np.asarray(tracks.get("class", np.full(k_id.size, ""))).astype(str)
    for t in sorted(alerted):
        m = mine & (k_id == t)
        if not m.any():
            continue
        o = np.argsort(np.asarray(tracks["time"])[m])
        x = np.asarray(tracks["lon_deg"])[m][o]
        y = np.asarray(tracks["lat_deg"])[m][o]
        c = cls[m][o]
        for name in np.unique(c):
            sel = c == name
            colour = CLASS_COLOURS.get(str(name), "#7f7f7f")
            label = f"track: {name or 'unclassified'}"
            ax.plot(x[sel], y[sel], ".", color=colour, ms=2.5, zorder=6,
                    label=label if label not in seen else None)
            seen.add(label)
        ax.annotate(f"T{t}", (x[-1], y[-1]), fontsize=8, xytext=(4, -10),
                    textcoords="offset points", zorder=12)

    # crossings
    if np.asarray(true_crossings["time"]).size:
        ax.plot(true_crossings["lon_deg"], true_crossings["lat_deg"], "X", color="k", ms=12,
                mfc="#ffffff", mew=2, zorder=10, label="true crossing")
    ent = np.asarray(events["kind"]).astype(str) == "border_entry"
    ent &= np.isin(np.asarray(events["track_id"]), np.array(sorted(alerted), dtype=np.int64))
    if ent.any():
        ax.plot(np.asarray(events["lon_deg"])[ent], np.asarray(events["lat_deg"])[ent], "o",
                color="#d62728", ms=8, mfc="none", mew=2, zorder=11,
                label="crossing estimated by SkyFence")

    # where each alert was raised (revision 0) and escalated
    a_rev = np.asarray(alerts.get("revision", np.empty(0, np.int64)))
    a_state = np.asarray(alerts.get("state", np.empty(0, str))).astype(str)
    for i in np.flatnonzero(a_rev == 0):
        p = int(alerts["priority"][i])
        ax.plot(alerts["lon_deg"][i], alerts["lat_deg"][i], "^", ms=13,
                color=_PRIORITY_COLOURS.get(p, "#fdbb84"), mec="k", zorder=13,
                label=f"alert raised (priority {p})" if f"p{p}" not in seen else None)
        seen.add(f"p{p}")
        ax.annotate(f"A{int(alerts['alert_id'][i])}", (alerts["lon_deg"][i],
                    alerts["lat_deg"][i]), fontsize=9, fontweight="bold", xytext=(8, 6),
                    textcoords="offset points", zorder=14)
    # escalations: where an alert turned escalated (not each revision while it stays so)
    a_ids = np.asarray(alerts.get("alert_id", np.empty(0, np.int64)))
    order = np.lexsort((a_rev, a_ids))
    prev_same = np.zeros(a_ids.size, bool)
    prev_same[order[1:]] = (a_ids[order][1:] == a_ids[order][:-1]) & \
        (a_state[order][:-1] == "escalated")
    esc = (a_state == "escalated") & ~prev_same
    if esc.any():
        ax.plot(np.asarray(alerts["lon_deg"])[esc], np.asarray(alerts["lat_deg"])[esc], "D",
                ms=8, color="#7b3294", mec="k", zorder=13, label="alert escalated")
    ax.set_title(title, fontsize=11)
    return finish_map(fig, ax, frame, out)
