"""Turn a scenario's ``[[target]]`` and ``[[group]]`` tables into a :class:`TargetTable`.

Everything random here draws from one generator seeded by the scenario, so the
same scenario and seed always give the same targets.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from skyfence.geo.frame import LocalFrame
from skyfence.sim.kinematics import BEHAVIOUR, END, TargetTable
from skyfence.sim.presets import PRESETS, TargetPreset
from skyfence.sim.scenario import GroupSpec, Scenario, TargetSpec

__all__ = ["build_targets"]


@dataclass
class _Row:
    name: str
    p: TargetPreset
    start_t: float
    wps: list[tuple[float, float, float, float, float]]  # map x, y (m), alt, hold, speed
    end_mode: str = "continue"
    end_t: float = np.inf
    icao24: str = ""
    remote_id: str = ""
    rid_offset: tuple[float, float] = (0.0, 0.0)
    ew: dict[str, float] = field(default_factory=dict)


def _height(frame_ground: float, alt: float | None, agl: float | None, default_agl: float) -> float:
    if alt is not None:
        return alt
    return frame_ground + (agl if agl is not None else default_agl)


def _explicit(t: TargetSpec, frame: LocalFrame, ground: float) -> _Row:
    p = PRESETS[t.type].with_overrides(cruise_speed_mps=t.speed_mps, rcs_dbsm=t.rcs_dbsm,
                                       endurance_km=t.endurance_km, emits_rf=t.emits_rf)
    if t.speed_mps is not None and t.speed_mps > p.max_speed_mps:
        p = p.with_overrides(max_speed_mps=t.speed_mps)
    lat = np.array([w.lat_deg for w in t.waypoints])
    lon = np.array([w.lon_deg for w in t.waypoints])
    x, y = frame.to_map(lat, lon)
    wps = [
        (float(x[i]), float(y[i]), _height(ground, w.alt_m, w.agl_m, p.agl_m), w.hold_s,
         np.nan if w.speed_mps is None else w.speed_mps)
        for i, w in enumerate(t.waypoints)
    ]
    ew: dict[str, float] = {}
    if t.ew is not None:
        e = t.ew
        ew = dict(
            spoof_start=t.start_s + e.spoof_start_s if e.spoof_start_s is not None else np.inf,
            spoof_rot=np.radians(t.ew.spoof_rotation_deg), spoof_ramp=t.ew.spoof_ramp_s,
            drift_e=t.ew.spoof_drift_mps[0], drift_n=t.ew.spoof_drift_mps[1],
            jam_start=t.start_s + t.ew.jam_start_s if t.ew.jam_start_s is not None else np.inf,
            gyro=np.radians(t.ew.gyro_drift_deg_s),
        )
    end_t = t.start_s + t.lifetime_s if t.lifetime_s is not None else np.inf
    return _Row(t.name, p, t.start_s, wps, t.end, end_t, t.icao24.lower(), t.remote_id,
                t.remote_id_spoof_offset_m, ew)


def _latlon_on_line(line: list[tuple[float, float]], u: np.ndarray,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if len(line) == 1:
        lat = np.full(u.shape, line[0][0]) + rng.normal(0, 0.003, u.shape)
        lon = np.full(u.shape, line[0][1]) + rng.normal(0, 0.005, u.shape)
        return lat, lon
    a, b = np.array(line[0]), np.array(line[-1])
    pts = a[None, :] + u[:, None] * (b - a)[None, :]
    return pts[:, 0], pts[:, 1]


def _group(g: GroupSpec, gi: int, scen: Scenario, frame: LocalFrame,
           rng: np.random.Generator) -> list[_Row]:
    ground = scen.scenario.terrain_alt_m
    duration = scen.scenario.duration_s
    rows: list[_Row] = []
    if g.kind == "swarm":
        p = PRESETS[g.type]
        lat, lon = _latlon_on_line(g.launch_line, rng.uniform(0, 1, g.count), rng)
        x0, y0 = frame.to_map(lat, lon)
        aim = np.array(g.aim)[rng.integers(0, len(g.aim), g.count)]
        ax, ay = frame.to_map(aim[:, 0], aim[:, 1])
        ax = ax + rng.normal(0, g.aim_spread_m, g.count)
        ay = ay + rng.normal(0, g.aim_spread_m, g.count)
        agl = rng.uniform(g.agl_m[0], g.agl_m[1], g.count)
        starts = g.start_s + rng.uniform(0, g.start_spread_s, g.count)
        for i in range(g.count):
            sp = p.cruise_speed_mps * (1 + rng.uniform(-g.speed_spread, g.speed_spread))
            q = p.with_overrides(cruise_speed_mps=sp, max_speed_mps=max(sp, p.max_speed_mps))
            wps = [(x0[i], y0[i], ground + min(agl[i], 100.0), 0.0, np.nan),
                   (ax[i], ay[i], ground + agl[i], 0.0, np.nan)]
            rows.append(_Row(f"g{gi}-{g.type}-{i:04d}", q, float(starts[i]), wps, "orbit"))
    elif g.kind == "birds":
        assert g.area is not None
        la0, la1, lo0, lo1 = g.area
        lat = rng.uniform(la0, la1, g.count)
        lon = rng.uniform(lo0, lo1, g.count)
        x, y = frame.to_map(lat, lon)
        life = rng.uniform(g.lifetime_s[0], g.lifetime_s[1], g.count)
        latest = np.maximum(duration - life * 0.5, g.start_s)
        starts = rng.uniform(g.start_s, latest)
        agl = rng.uniform(g.agl_m[0], g.agl_m[1], g.count)
        p = PRESETS[g.type]
        for i in range(g.count):
            sp = p.cruise_speed_mps * (1 + rng.uniform(-g.speed_spread, g.speed_spread))
            q = p.with_overrides(cruise_speed_mps=sp)
            rows.append(_Row(f"g{gi}-{g.type}-{i:05d}", q, float(starts[i]),
                             [(x[i], y[i], ground + agl[i], 0.0, np.nan)], "continue",
                             float(starts[i] + life[i])))
    elif g.kind == "airway":
        p = PRESETS[g.type]
        n_dir = max(1, int(round(g.per_hour * duration / 3600.0)))
        route = np.array(g.route)
        rx, ry = frame.to_map(route[:, 0], route[:, 1])
        k = 0
        for direction in ([1, -1] if g.both_ways else [1]):
            starts = np.sort(rng.uniform(g.start_s - 0.0, duration, n_dir))
            alts = rng.uniform(g.alt_m[0], g.alt_m[1], n_dir)
            xs, ys = (rx, ry) if direction == 1 else (rx[::-1], ry[::-1])
            for i in range(n_dir):
                off = rng.normal(0, 300.0, 2)
                wps = [(xs[j] + off[0], ys[j] + off[1], alts[i], 0.0, np.nan)
                       for j in range(len(xs))]
                icao = f"{rng.integers(0x400000, 0x7fffff):06x}"
                rows.append(_Row(f"g{gi}-{g.type}-{k:04d}", p, float(starts[i]), wps, "vanish",
                                 icao24=icao))
                k += 1
    elif g.kind == "random":
        assert g.centre is not None
        types = sorted(g.mix)
        w = np.array([g.mix[t] for t in types], dtype=float)
        choice = rng.choice(len(types), size=g.count, p=w / w.sum())
        cx, cy = frame.to_map(np.array([g.centre[0]]), np.array([g.centre[1]]))
        r = g.radius_m * np.sqrt(rng.uniform(0, 1, g.count))
        ang = rng.uniform(0, 2 * np.pi, g.count)
        x = cx[0] + r * np.sin(ang)
        y = cy[0] + r * np.cos(ang)
        hdg = rng.uniform(0, 2 * np.pi, g.count)
        agl = rng.uniform(g.agl_m[0], g.agl_m[1], g.count)
        starts = g.start_s + rng.uniform(0, g.start_spread_s, g.count)
        for i in range(g.count):
            p = PRESETS[types[choice[i]]]
            h = ground + agl[i] if p.target_class != "aircraft" else ground + 1_000 + agl[i] * 3
            far = 1_000_000.0
            wps = [(x[i], y[i], h, 0.0, np.nan)]
            if p.behaviour == "route":
                wps.append((x[i] + far * np.sin(hdg[i]), y[i] + far * np.cos(hdg[i]), h, 0.0,
                            np.nan))
            icao = f"{rng.integers(0x400000, 0x7fffff):06x}" if p.adsb else ""
            rows.append(_Row(f"g{gi}-{p.type}-{i:05d}", p, float(starts[i]), wps, "continue",
                             icao24=icao))
    return rows


def build_targets(scen: Scenario, frame: LocalFrame, rng: np.random.Generator) -> TargetTable:
    """All targets of a scenario as one :class:`TargetTable` (explicit targets first)."""
    ground = scen.scenario.terrain_alt_m
    rows = [_explicit(t, frame, ground) for t in scen.target]
    for gi, g in enumerate(scen.group):
        rows += _group(g, gi, scen, frame, rng)
    n = len(rows)
    w = max([len(r.wps) for r in rows], default=1)
    wp = np.zeros((n, w, 3))
    hold = np.zeros((n, w))
    spd = np.full((n, w), np.nan)
    for i, r in enumerate(rows):
        arr = np.array(r.wps, dtype=float)
        wp[i, : len(arr)] = arr[:, :3]
        wp[i, len(arr):] = arr[-1, :3]
        hold[i, : len(arr)] = arr[:, 3]
        spd[i, : len(arr)] = arr[:, 4]
    # rows are built in the scenario's map plane (metres); the kinematics want radians
    lat, lon = frame.from_map(wp[..., 0], wp[..., 1])
    wp[..., 0] = np.radians(lat)
    wp[..., 1] = np.radians(lon)

    def col(f, dtype=float):  # type: ignore[no-untyped-def]
        return np.array([f(r) for r in rows], dtype=dtype)

    def ew(key: str, default: float) -> np.ndarray:
        return col(lambda r: r.ew.get(key, default))

    return TargetTable(
        name=col(lambda r: r.name, object).astype(str),
        type=col(lambda r: r.p.type, object).astype(str),
        target_class=col(lambda r: r.p.target_class, object).astype(str),
        behaviour=col(lambda r: BEHAVIOUR[r.p.behaviour], np.int8),
        start_t=col(lambda r: r.start_t),
        end_t=col(lambda r: r.end_t),
        wp=wp, wp_hold=hold, wp_speed=spd,
        n_wp=col(lambda r: len(r.wps), np.int64),
        end_mode=col(lambda r: END[r.end_mode], np.int8),
        cruise=col(lambda r: r.p.cruise_speed_mps),
        vmin=col(lambda r: r.p.min_speed_mps),
        vmax=col(lambda r: r.p.max_speed_mps),
        turn_rate=np.radians(col(lambda r: r.p.max_turn_rate_deg_s)),
        climb=col(lambda r: r.p.max_climb_mps),
        descent=col(lambda r: r.p.max_descent_mps),
        accel=col(lambda r: r.p.max_accel_mps2),
        rcs_dbsm=col(lambda r: r.p.rcs_dbsm),
        size_m=col(lambda r: r.p.size_m),
        acoustic_db=col(lambda r: r.p.acoustic_db),
        emits_rf=col(lambda r: r.p.emits_rf, bool),
        endurance_m=col(lambda r: r.p.endurance_km * 1_000.0),
        glide_ratio=col(lambda r: r.p.glide_ratio),
        icao24=col(lambda r: r.icao24 if (r.icao24 or not r.p.adsb) else
                   f"{zlib.crc32(r.name.encode()) % 0x3fffff + 0x400000:06x}", object).astype(str),
        remote_id=col(lambda r: r.remote_id, object).astype(str),
        rid_offset=np.array([r.rid_offset for r in rows], dtype=float).reshape(n, 2),
        spoof_start=ew("spoof_start", np.inf),
        spoof_rot=ew("spoof_rot", 0.0),
        spoof_ramp=ew("spoof_ramp", 60.0),
        spoof_drift=np.stack([ew("drift_e", 0.0), ew("drift_n", 0.0)], axis=-1).reshape(n, 2),
        jam_start=ew("jam_start", np.inf),
        gyro_drift=ew("gyro", 0.0),
    )
