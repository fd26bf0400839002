"""Map of a simulation run: borders, protected zones, sensor sites, truth, detections.

Drawn in longitude/latitude with the aspect set so that a kilometre is the same
length both ways at the map's centre, a scale bar, a legend and the ODbL
attribution of the border data.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from skyfence.config.sensors import SensorDeployment, load_sensors  # noqa: E402
from skyfence.errors import DataError  # noqa: E402
from skyfence.geo.borders import Borders, load_borders  # noqa: E402
from skyfence.geo.geodesy import aer2geodetic, geodesic_direct  # noqa: E402
from skyfence.geo.zones import Zones, load_zones  # noqa: E402
from skyfence.io.tables import read_table  # noqa: E402
from skyfence.model.schema import DETECTION_COLUMNS, TRUTH_COLUMNS  # noqa: E402

__all__ = ["detection_positions", "draw_geography", "draw_sensors", "finish_map", "map_axes",
           "plot_run"]

CLASS_COLOURS = {
    "drone_fixed_wing": "#d62728",
    "drone_rotary": "#ff7f0e",
    "bird": "#2ca02c",
    "aircraft": "#1f77b4",
    "balloon": "#9467bd",
}
KIND_MARKERS = {"radar3d": "^", "radar2d": "v", "rf_df": "d", "acoustic": "s", "eoir": "o",
                "remote_id": "P", "adsb": "X"}
COUNTRY_FILL = {"LT": "#fff7e0", "LV": "#eef3fb", "BY": "#f2eee8", "PL": "#f3f3f3",
                "RU-KGD": "#f6ecec"}


def detection_positions(det: dict[str, np.ndarray], sensors: dict[str, tuple[float, float, float]]
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of every detection that has a position (NaN for bearings).

    Radar plots are placed from the sensor site by range, azimuth and elevation;
    a 2D radar plot (no elevation) is placed at elevation 0.
    """
    n = det["time"].size
    lat = np.array(det["lat_deg"], dtype=float, copy=True)
    lon = np.array(det["lon_deg"], dtype=float, copy=True)
    sid = det["sensor_id"].astype(str)
    radar = np.isin(det["kind"].astype(str), ["radar3d", "radar2d"])
    site = np.full((n, 3), np.nan)
    for s, (la, lo, al) in sensors.items():
        site[sid == s] = (la, lo, al)
    el = np.where(np.isnan(det["elevation_deg"]), 0.0, det["elevation_deg"])
    rlat, rlon, _ = aer2geodetic(det["azimuth_deg"][radar], el[radar], det["range_m"][radar],
                                 site[radar, 0], site[radar, 1], site[radar, 2])
    lat[radar], lon[radar] = rlat, rlon
    return lat, lon


def _scale_bar(ax: Axes, lat_c: float, lon0: float, lat0: float, width_deg: float) -> None:
    km_per_deg = 111.32 * np.cos(np.radians(lat_c))
    target = width_deg * km_per_deg / 5
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500]
    km = max([v for v in nice if v <= target] or [1])
    x1 = lon0 + km / km_per_deg
    ax.plot([lon0, x1], [lat0, lat0], color="k", lw=3, solid_capstyle="butt", zorder=20)
    ax.text((lon0 + x1) / 2, lat0, f"{km} km\n", ha="center", va="bottom", fontsize=8, zorder=20)


def plot_run(run_dir: str | Path, out: str | Path, max_points: int = 150_000,
             borders_path: str | Path | None = None, zones_path: str | Path | None = None) -> Path:
    """Draw the run in ``run_dir`` to the PNG ``out``; returns the path written."""
    run_dir = Path(run_dir)
    manifest_path = run_dir / "manifest.json"
    if not manifest_path.exists():
        raise DataError(f"{run_dir}: not a simulation output directory (no manifest.json); "
                        "make one with: skyfence simulate SCENARIO --out DIR")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    files = manifest["files"]
    truth = read_table(run_dir / files["truth"], {k: TRUTH_COLUMNS[k] for k in
                                                  ("time", "truth_id", "lat_deg", "lon_deg")})
    det = read_table(run_dir / files["detections"],
                     {k: DETECTION_COLUMNS[k] for k in ("time", "sensor_id", "kind")})
    dep = load_sensors(run_dir / files["sensors"])
    sites = {s.id: (s.lat_deg, s.lon_deg, s.alt_m) for s in dep.sensor}
    borders = load_borders(borders_path)
    zones = load_zones(zones_path)

    # extent: the truth, padded; never smaller than 40 km across
    if truth["time"].size:
        lat_pts, lon_pts = truth["lat_deg"], truth["lon_deg"]
    else:
        lat_pts = np.array([s[0] for s in sites.values()])
        lon_pts = np.array([s[1] for s in sites.values()])
    fig, ax, (xlim, ylim, lat_c, k) = map_axes(lat_pts, lon_pts)
    draw_geography(ax, borders, zones, xlim, ylim)
    draw_sensors(ax, dep)

    # detections (subsampled when huge)
    n = det["time"].size
    idx = np.arange(n)
    if n > max_points:
        idx = np.sort(np.random.default_rng(0).choice(n, max_points, replace=False))
    sub = {k: v[idx] for k, v in det.items()}
    for col, dt in DETECTION_COLUMNS.items():
        if col not in sub:
            sub[col] = np.full(idx.size, np.nan) if dt != "str" else np.full(idx.size, "", object)
    dlat, dlon = detection_positions(sub, sites)
    false = sub["truth_id"] < 0 if "truth_id" in sub else np.zeros(idx.size, bool)
    # clutter can outnumber real plots 100:1; show a thin sample so the picture stays legible
    fa_idx = np.flatnonzero(false)
    shown = fa_idx[:: max(1, fa_idx.size // 20_000)]
    n_false = int(np.count_nonzero(det["truth_id"] < 0)) if "truth_id" in det else 0
    ax.plot(dlon[shown], dlat[shown], ".", color="#888888", ms=1.2, alpha=0.35, zorder=4,
            label=f"false alarms ({n_false:,}; {shown.size:,} shown)")
    ax.plot(dlon[~false], dlat[~false], ".", color="#000000", ms=2, alpha=0.5, zorder=5,
            label=f"target detections ({int(np.count_nonzero(~false & ~np.isnan(dlat))):,} "
            "with a position shown)")
    bearing = np.isin(sub["kind"].astype(str), ["bearing", "bearing_elev"]) & ~false
    if bearing.any():
        b = np.nonzero(bearing)[0][:: max(1, int(bearing.sum() // 300))]
        for i in b:
            la, lo, al = sites[str(sub["sensor_id"][i])]
            la2, lo2, _ = geodesic_direct(la, lo, sub["azimuth_deg"][i], 8_000.0)
            ax.plot([lo, lo2], [la, la2], color="#8c564b", lw=0.4, alpha=0.35, zorder=4)
        ax.plot([], [], color="#8c564b", lw=0.8, label="bearings (RF, acoustic, EO/IR; sample)")

    classes_seen: set[str] = set()
    tid = truth["truth_id"]
    order = np.lexsort((truth["time"], tid))
    tid_s = tid[order]
    cuts = np.flatnonzero(np.diff(tid_s)) + 1
    cls_col = truth.get("target_class", np.full(tid.size, "drone_fixed_wing", object))
    status = truth.get("status", np.full(tid.size, "flying", object))
    for seg in np.split(order, cuts):
        if seg.size == 0:
            continue
        cls = str(cls_col[seg[0]])
        colour = CLASS_COLOURS.get(cls, "#333333")
        lw = 2.2 if cls.startswith("drone") else 0.9
        ax.plot(truth["lon_deg"][seg], truth["lat_deg"][seg], color=colour, lw=lw, zorder=6,
                alpha=0.9, label=f"truth: {cls}" if cls not in classes_seen else None)
        classes_seen.add(cls)
        if cls.startswith("drone"):
            ax.plot(truth["lon_deg"][seg[0]], truth["lat_deg"][seg[0]], ">", color=colour,
                    ms=8, zorder=7)
            if str(status[seg[-1]]) == "down":
                ax.plot(truth["lon_deg"][seg[-1]], truth["lat_deg"][seg[-1]], "X", color=colour,
                        ms=12, mec="k", zorder=9, label="came down" if "down" not in
                        classes_seen else None)
                classes_seen.add("down")

    start = np.datetime64(int(manifest["start_time"]), "s")
    ax.set_title(f"{manifest['scenario']}: {manifest.get('title', '')}\n"
                 f"{start} UTC + {manifest['duration_s'] / 60:.0f} min · seed {manifest['seed']}"
                 f" · {manifest['targets']} targets · {manifest['detections']:,} detections",
                 fontsize=11)
    return finish_map(fig, ax, (xlim, ylim, lat_c, k), out)


def map_axes(lat: np.ndarray, lon: np.ndarray, min_half_deg: float = 0.18, pad: float = 1.15
             ) -> tuple[Figure, Axes, tuple[tuple[float, float], tuple[float, float], float,
                                            float]]:
    """A figure and axes framing the points (padded, at least ``2·min_half_deg`` of
    latitude tall), with a kilometre the same length both ways at the centre; returns
    ``fig, ax, (xlim, ylim, centre latitude, cos of it)``."""
    la0, la1 = float(np.nanmin(lat)), float(np.nanmax(lat))
    lo0, lo1 = float(np.nanmin(lon)), float(np.nanmax(lon))
    lat_c = (la0 + la1) / 2
    k = float(np.cos(np.radians(lat_c)))
    half_h = max((la1 - la0) / 2 * pad, min_half_deg)
    half_w = max((lo1 - lo0) / 2 * pad, min_half_deg / k)
    if half_w * k > half_h * 1.5:
        half_h = half_w * k / 1.5
    elif half_h > half_w * k * 1.2:
        half_w = half_h / k * 1.2
    xlim = ((lo0 + lo1) / 2 - half_w, (lo0 + lo1) / 2 + half_w)
    ylim = (lat_c - half_h, lat_c + half_h)
    fig, ax = plt.subplots(figsize=(14.5, 11 * half_h / (half_w * k) + 1.2))
    ax.set_facecolor("#dfeef7")
    return fig, ax, (xlim, ylim, lat_c, k)


def draw_geography(ax: Axes, borders: Borders, zones: Zones, xlim: tuple[float, float],
                   ylim: tuple[float, float]) -> None:
    """Countries (filled, outlined, named when visible) and protected zones."""
    from shapely.geometry import MultiPolygon, Polygon, box

    view = box(xlim[0], ylim[0], xlim[1], ylim[1])
    for cid in borders.ids:
        geom = borders.geometry(cid)
        polys = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
        for poly in polys:
            if not isinstance(poly, Polygon):
                continue
            xs, ys = poly.exterior.xy
            ax.fill(xs, ys, color=COUNTRY_FILL.get(cid, "#f4f4f4"), zorder=0, lw=0)
            ax.plot(xs, ys, color="#555555", lw=1.2, zorder=1)
        visible = geom.intersection(view)
        if not visible.is_empty and visible.area > 0.02 * view.area:
            c = visible.representative_point()
            ax.text(c.x, c.y, borders.name(cid).upper(), fontsize=13, color="#999999",
                    ha="center", zorder=1, alpha=0.8)
    for z in zones:
        xs, ys = z.geometry.exterior.xy
        ax.fill(xs, ys, color="#ffcc00", alpha=0.25, zorder=2, lw=0)
        ax.plot(xs, ys, color="#b38f00", lw=1, zorder=2)
        if xlim[0] < z.lon_deg < xlim[1] and ylim[0] < z.lat_deg < ylim[1]:
            ax.annotate(z.name, (z.lon_deg, z.lat_deg), fontsize=8, color="#806600",
                        xytext=(6, 6), textcoords="offset points", zorder=3)


def draw_sensors(ax: Axes, dep: SensorDeployment) -> None:
    """Sensor sites by kind, with the radars' instrumented range dotted."""
    kinds_seen: set[str] = set()
    for s in dep.sensor:
        mk = KIND_MARKERS.get(s.kind, "o")
        ax.plot(s.lon_deg, s.lat_deg, mk, color="k", ms=7, mfc="white", zorder=8,
                label=f"sensor: {s.kind}" if s.kind not in kinds_seen else None)
        kinds_seen.add(s.kind)
        if s.kind in ("radar3d", "radar2d") and s.max_range_m:
            az = np.linspace(0, 360, 121)
            la, lo, _ = geodesic_direct(np.full(az.size, s.lat_deg), np.full(az.size, s.lon_deg),
                                        az, np.full(az.size, s.max_range_m))
            ax.plot(lo, la, color="k", lw=0.5, ls=":", alpha=0.5, zorder=2)


def finish_map(fig: Figure, ax: Axes, frame: tuple[tuple[float, float], tuple[float, float],
                                                    float, float], out: str | Path) -> Path:
    """Limits, aspect, grid, scale bar, legend and the border data's attribution; writes
    the PNG ``out`` and returns its path."""
    xlim, ylim, lat_c, k = frame
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect(1.0 / k)
    ax.set_xlabel("longitude (° E)")
    ax.set_ylabel("latitude (° N)")
    ax.grid(True, lw=0.3, color="#999999")
    _scale_bar(ax, lat_c, xlim[0] + 0.05 * (xlim[1] - xlim[0]),
               ylim[0] + 0.04 * (ylim[1] - ylim[0]), xlim[1] - xlim[0])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, framealpha=0.9,
              borderaxespad=0.0)
    fig.text(0.01, 0.005, "Borders © OpenStreetMap contributors (ODbL 1.0), via geo-maps "
             "countries-maritime-10m", fontsize=7, color="#555555")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
