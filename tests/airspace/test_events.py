"""The airspace event engine on real borders and zones: border crossings (interpolated
point and time), hysteresis against jitter, exits, zones, approach, loiter, state freed by
deleted rows, bad input, configuration, and a tracked run of the jonava-gerbera scenario."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod

from skyfence.airspace.events import (
    PICTURE_COLUMNS,
    REQUIRED_COLUMNS,
    AirspaceConfig,
    AirspaceEngine,
    load_airspace_config,
)
from skyfence.errors import ConfigError, DataError
from skyfence.geo.borders import Borders, load_borders
from skyfence.geo.frame import LocalFrame
from skyfence.geo.zones import Zone, Zones, circle_polygon, load_zones
from skyfence.model.schema import EVENT_COLUMNS, TRACK_COLUMNS

GEOD = Geod(ellps="WGS84")
T0 = 1_753_668_000.0                       # 2025-07-28T02:00:00Z
MEDININKAI = (54.5049, 25.6559)            # a point on the LT–BY border (from the scenario)


@pytest.fixture(scope="module")
def borders() -> Borders:
    return load_borders()


@pytest.fixture(scope="module")
def zones() -> Zones:
    return load_zones()


@pytest.fixture
def engine(borders: Borders, zones: Zones) -> AirspaceEngine:
    return AirspaceEngine(borders, zones)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def rows(lat: np.ndarray, lon: np.ndarray, ve: np.ndarray, vn: np.ndarray, t: np.ndarray,
         tid: int | np.ndarray = 1, sigma: float = 8.0, status: str = "confirmed",
         alt: float = 400.0) -> dict[str, np.ndarray]:
    """Track rows with every column of the tracks schema."""
    n = len(lat)
    out = {
        "time": np.asarray(t, dtype=float), "track_id": np.broadcast_to(tid, n).astype(np.int64),
        "status": np.full(n, status), "lat_deg": np.asarray(lat, dtype=float),
        "lon_deg": np.asarray(lon, dtype=float), "alt_m": np.full(n, alt),
        "vel_east_mps": np.asarray(ve, dtype=float), "vel_north_mps": np.asarray(vn, dtype=float),
        "vel_up_mps": np.zeros(n), "sigma_east_m": np.full(n, sigma),
        "sigma_north_m": np.full(n, sigma), "sigma_up_m": np.full(n, 2 * sigma),
        "class": np.full(n, ""), "class_prob": np.full(n, np.nan),
        "n_updates": np.arange(n, dtype=np.int64) + 5, "sensor_id": np.full(n, "r1"),
        "rcs_dbsm": np.full(n, -20.0), "id_hint": np.full(n, ""),
    }
    assert set(out) == set(TRACK_COLUMNS)
    return out


def straight(lat: float, lon: float, az: float, speed: float, n: int, t0: float = T0,
             dt: float = 1.0, **kw: object) -> dict[str, np.ndarray]:
    """A track along the geodesic from (lat, lon) with initial azimuth ``az`` (deg)."""
    s = speed * dt * np.arange(n)
    lons, lats, back = GEOD.fwd(np.full(n, lon), np.full(n, lat), np.full(n, az), s)
    course = np.radians(np.asarray(back) + 180.0)
    return rows(lats, lons, speed * np.sin(course), speed * np.cos(course),
                t0 + dt * np.arange(n), **kw)  # type: ignore[arg-type]


def take(tr: dict[str, np.ndarray], sel: slice | np.ndarray) -> dict[str, np.ndarray]:
    return {c: v[sel] for c, v in tr.items()}


def feed(engine: AirspaceEngine, tr: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Feed rows one time at a time (as the pipeline would); all events."""
    outs = [engine.step(take(tr, tr["time"] == t)) for t in np.unique(tr["time"])]
    return {c: np.concatenate([o[c] for o in outs]) for c in EVENT_COLUMNS}


def where(ev: dict[str, np.ndarray], kind: str, zone: str | None = None) -> np.ndarray:
    m = ev["kind"] == kind
    if zone is not None:
        m &= ev["zone_id"] == zone
    return np.flatnonzero(m)


def true_crossing(tr: dict[str, np.ndarray], geom: shapely.Geometry,
                  speed: float) -> tuple[float, float, float]:
    """Where and when the path of ``tr`` crosses the outline of ``geom`` (lon/lat
    shapely intersection of the path polyline; time from the geodesic distance)."""
    path = shapely.LineString(np.column_stack([tr["lon_deg"], tr["lat_deg"]]))
    hit = shapely.intersection(path, geom.boundary)
    pts = shapely.get_coordinates(hit)
    assert len(pts) == 1, f"the test path should cross once, crosses {len(pts)} times"
    lon, lat = pts[0]
    _, _, dist = GEOD.inv(tr["lon_deg"][0], tr["lat_deg"][0], lon, lat)
    return float(lat), float(lon), float(tr["time"][0] + dist / speed)


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def by_to_lt(n: int = 200, **kw: object) -> dict[str, np.ndarray]:
    """45 m/s on course 300° from 3 km inside Belarus across the border at Medininkai."""
    lon, lat, _ = GEOD.fwd(MEDININKAI[1], MEDININKAI[0], 120.0, 3000.0)
    return straight(lat, lon, 300.0, 45.0, n, **kw)


# --------------------------------------------------------------------------------------
# border crossings
# --------------------------------------------------------------------------------------
def test_crossing_by_to_lt_gives_one_entry_at_the_border(engine: AirspaceEngine,
                                                         borders: Borders) -> None:
    tr = by_to_lt()
    ev = feed(engine, tr)
    assert set(ev) == set(EVENT_COLUMNS)
    for c, d in EVENT_COLUMNS.items():
        assert ev[c].dtype.kind == ("U" if d == "str" else np.dtype(d).kind), c
    border = np.flatnonzero(np.char.startswith(ev["kind"], "border"))
    assert border.size == 1 and ev["kind"][border[0]] == "border_entry"
    k = border[0]
    lat, lon, t = true_crossing(tr, borders.geometry("LT"), 45.0)
    assert metres(ev["lat_deg"][k], ev["lon_deg"][k], lat, lon) < 2.0
    assert ev["time"][k] == pytest.approx(t, abs=0.05)
    # revealed by the first update decisively inside: 3 sigma = 24 m, within 1-2 s
    assert 0.0 < ev["detected_time"][k] - t <= 1.5
    assert ev["country_from"][k] == "BY" and ev["country_to"][k] == "LT"
    assert ev["zone_id"][k] == "" and ev["track_id"][k] == 1
    assert ev["heading_deg"][k] == pytest.approx(300.0, abs=0.5)
    assert ev["speed_mps"][k] == pytest.approx(45.0, abs=0.01)
    assert 24.0 < ev["depth_m"][k] < 24.0 + 45.0
    assert ev["alt_m"][k] == pytest.approx(400.0)
    assert np.isnan(ev["time_to_zone_s"][k]) and np.isnan(ev["distance_m"][k])
    pic = engine.picture()
    assert pic["country"][0] == "LT" and pic["inside_home"][0]
    assert pic["depth_m"][0] > 5000.0


def test_one_batch_in_any_order_gives_the_same_events(borders: Borders, zones: Zones) -> None:
    tr = by_to_lt()
    a = feed(AirspaceEngine(borders, zones), tr)
    shuffled = take(tr, np.random.default_rng(3).permutation(tr["time"].size))
    b = AirspaceEngine(borders, zones).step(shuffled)
    assert list(b["kind"]) == list(a["kind"])
    for c in ("time", "lat_deg", "lon_deg", "detected_time", "depth_m"):
        np.testing.assert_allclose(b[c], a[c], rtol=0, atol=1e-6)


def test_exit_back_to_belarus_and_round_trip(engine: AirspaceEngine, borders: Borders) -> None:
    # in on course 300°, turn, out on course 120° along the same line
    inbound = by_to_lt(n=150)
    lat1, lon1 = inbound["lat_deg"][-1], inbound["lon_deg"][-1]
    outbound = straight(lat1, lon1, 120.0, 45.0, 150, t0=inbound["time"][-1] + 1.0, tid=1)
    ev = feed(engine, {c: np.concatenate([inbound[c], outbound[c]]) for c in inbound})
    border = np.flatnonzero(np.char.startswith(ev["kind"], "border"))
    assert list(ev["kind"][border]) == ["border_entry", "border_exit"]
    k = border[1]
    lat, lon, t = true_crossing(outbound, borders.geometry("LT"), 45.0)
    assert metres(ev["lat_deg"][k], ev["lon_deg"][k], lat, lon) < 2.0
    assert ev["time"][k] == pytest.approx(t, abs=0.05)
    assert 0.0 < ev["detected_time"][k] - t <= 1.5
    assert ev["country_from"][k] == "LT" and ev["country_to"][k] == "BY"
    # depth of an exit: the deepest point of the incursion (the turn, ~4.7 km in)
    deepest = metres(lat1, lon1, *true_crossing(inbound, borders.geometry("LT"), 45.0)[:2])
    assert ev["depth_m"][k] == pytest.approx(deepest, rel=0.3)
    assert ev["depth_m"][k] > 2000.0
    assert not engine.picture()["inside_home"][0]


def test_jitter_along_the_border_raises_no_storm(engine: AirspaceEngine,
                                                 borders: Borders) -> None:
    line = max(shapely.get_parts(borders.shared_border("LT", "BY")), key=lambda g: g.length)
    mid = line.interpolate(0.5, normalized=True)
    frame = LocalFrame(mid.y, mid.x)
    mline = shapely.transform(line, lambda c: np.column_stack(frame.to_map(c[:, 1], c[:, 0])))
    s0 = float(shapely.line_locate_point(mline, shapely.Point(0.0, 0.0)))
    n, speed, sigma = 600, 10.0, 15.0
    s = s0 - 3000.0 + speed * np.arange(n)                    # 6 km along the border
    p = shapely.get_coordinates(shapely.line_interpolate_point(mline, s))
    q = shapely.get_coordinates(shapely.line_interpolate_point(mline, s + 1.0))
    vx, vy = (q - p).T * speed
    rng = np.random.default_rng(11)
    x = p[:, 0] + rng.normal(0.0, sigma, n)
    y = p[:, 1] + rng.normal(0.0, sigma, n)
    lat, lon = frame.from_map(x, y)
    ve, vn = frame.map_velocity_to_enu(x, y, vx, vy)
    tr = rows(lat, lon, ve, vn, T0 + np.arange(n), sigma=sigma)
    # the raw side changes all the time ...
    raw = borders.contains("LT", lat, lon)
    assert np.count_nonzero(raw[1:] != raw[:-1]) > 150
    # ... but the events do not
    ev = feed(engine, tr)
    assert np.count_nonzero(np.char.startswith(ev["kind"], "border")) <= 2
    # (without the margin they would: one event per change of side)
    bare = AirspaceEngine(engine.borders, engine.zones,
                          AirspaceConfig(margin_sigmas=0.01, entry_margin_sigmas=0.01,
                                         min_margin_m=0.0))
    ev = feed(bare, tr)
    assert np.count_nonzero(np.char.startswith(ev["kind"], "border")) > 150


def test_entry_is_declared_at_1_5_sigma_and_exit_at_3_sigma(borders: Borders,
                                                           zones: Zones) -> None:
    """The band is lopsided: in at the first update past 1.5 sigma, out only past 3."""
    sigma = 40.0
    eng = AirspaceEngine(borders, zones, AirspaceConfig())
    tr = by_to_lt(n=140, sigma=sigma)                       # 45 m/s, one update a second
    ev = feed(eng, tr)
    k = where(ev, "border_entry")
    assert k.size == 1
    # depth of each update (the engine's picture, one update at a time)
    probe = AirspaceEngine(borders, zones, AirspaceConfig())
    depth = np.array([probe.step(take(tr, [i])) is not None and
                      float(probe.picture()["depth_m"][0]) for i in range(tr["time"].size)])
    first = int(np.flatnonzero(depth > 1.5 * sigma)[0])
    assert ev["detected_time"][k[0]] == tr["time"][first]
    assert depth[first - 1] <= 1.5 * sigma < 3.0 * sigma
    # the way back out: no exit while less than 3 sigma outside, then one
    back = straight(tr["lat_deg"][-1], tr["lon_deg"][-1], 120.0, 45.0, 260,
                    t0=tr["time"][-1] + 1.0, sigma=sigma)
    ev = feed(eng, back)
    x = where(ev, "border_exit")
    assert x.size == 1
    d_back = np.array([probe.step(take(back, [i])) is not None and
                       float(probe.picture()["depth_m"][0]) for i in range(back["time"].size)])
    out = int(np.flatnonzero(d_back < -3.0 * sigma)[0])
    assert ev["detected_time"][x[0]] == back["time"][out]


def test_first_seen_inside_near_the_border_coming_in(engine: AirspaceEngine,
                                                     borders: Borders) -> None:
    full = by_to_lt(n=120)
    lat, lon, t = true_crossing(full, borders.geometry("LT"), 45.0)
    late = take(full, slice(90, None))                    # initiated ~1.3 km inside
    ev = feed(engine, late)
    k = where(ev, "border_entry")
    assert k.size == 1
    k = k[0]
    assert metres(ev["lat_deg"][k], ev["lon_deg"][k], lat, lon) < 2.0
    assert ev["time"][k] == pytest.approx(t, abs=0.05)            # traced back
    assert ev["detected_time"][k] == late["time"][0]
    assert ev["country_from"][k] == "BY"


def test_first_seen_deep_inside_or_going_out_is_no_entry(borders: Borders,
                                                         zones: Zones) -> None:
    full = by_to_lt(n=400)
    deep = take(full, slice(250, None))                    # ~8 km inside
    ev = feed(AirspaceEngine(borders, zones), deep)
    assert where(ev, "border_entry").size == 0
    # initiated 1 km inside, flying out: no entry, then an exit
    lon, lat, _ = GEOD.fwd(MEDININKAI[1], MEDININKAI[0], 300.0, 1000.0)
    out = straight(lat, lon, 120.0, 45.0, 60)
    ev = feed(AirspaceEngine(borders, zones), out)
    assert list(ev["kind"][np.char.startswith(ev["kind"], "border")]) == ["border_exit"]


def test_two_tracks_in_one_batch(engine: AirspaceEngine) -> None:
    a = by_to_lt(n=100, tid=7)
    b = by_to_lt(n=100, tid=3, t0=T0 + 30.0)
    both = {c: np.concatenate([a[c], b[c]]) for c in a}
    ev = engine.step(both)
    k = where(ev, "border_entry")
    assert list(ev["track_id"][k]) == [7, 3]               # by detected time
    assert ev["time"][k[1]] - ev["time"][k[0]] == pytest.approx(30.0, abs=1e-6)
    assert engine.n_tracks == 2


def test_gap_between_countries_counts_the_last_country(tmp_path: Path) -> None:
    """Over no country (a border lake) the origin is the country last seen."""
    a = shapely.box(24.00, 54.0, 24.20, 54.2)
    b = shapely.box(24.21, 54.0, 24.40, 54.2)             # a ~650 m strip of no country
    two = Borders({"A": a, "B": b})
    eng = AirspaceEngine(two, Zones([]), AirspaceConfig(home_country="A"))
    tr = straight(54.1, 24.25, 270.0, 30.0, 200)           # B → strip → A
    ev = feed(eng, tr)
    k = where(ev, "border_entry")
    assert k.size == 1 and ev["country_from"][k[0]] == "B"
    lat, lon, t = true_crossing(tr, a, 30.0)
    assert metres(ev["lat_deg"][k[0]], ev["lon_deg"][k[0]], lat, lon) < 2.0
    # a track first seen over the strip has no known origin
    eng = AirspaceEngine(two, Zones([]), AirspaceConfig(home_country="A"))
    ev = feed(eng, straight(54.1, 24.205, 270.0, 30.0, 60))
    k = where(ev, "border_entry")
    assert k.size == 1 and ev["country_from"][k[0]] == ""
    with pytest.raises(ConfigError, match="home_country"):
        AirspaceEngine(two, Zones([]))                      # "LT" is not in these borders


# --------------------------------------------------------------------------------------
# zones
# --------------------------------------------------------------------------------------
def test_zone_approach_entry_exit_against_a_hand_computation(engine: AirspaceEngine,
                                                             zones: Zones) -> None:
    vno = zones["vilnius-airport"]                          # a 5 km circle
    lon, lat, _ = GEOD.fwd(vno.lon_deg, vno.lat_deg, 90.0, 20_000.0)
    az, _, _ = GEOD.inv(lon, lat, vno.lon_deg, vno.lat_deg)  # straight at the centre
    v, sigma = 50.0, 10.0
    tr = straight(lat, lon, az, v, 700, sigma=sigma)
    ev = feed(engine, tr)
    k = where(ev, "zone_approach", "vilnius-airport")
    assert k.size == 1                                      # once, not per update
    k = k[0]
    assert ev["detected_time"][k] == T0 and ev["time"][k] == T0
    # 15 km to the edge at 50 m/s; sigma from 10 m along the course and 2 m/s of speed
    assert ev["time_to_zone_s"][k] == pytest.approx(300.0, abs=0.2)
    assert ev["time_to_zone_sigma_s"][k] == pytest.approx(
        np.sqrt((sigma / v) ** 2 + (300.0 * 2.0 / v) ** 2), rel=1e-3)
    assert ev["distance_m"][k] == pytest.approx(15_000.0, abs=5.0)
    entry = where(ev, "zone_entry", "vilnius-airport")
    exit_ = where(ev, "zone_exit", "vilnius-airport")
    assert entry.size == 1 and exit_.size == 1
    assert ev["time"][entry[0]] == pytest.approx(T0 + 300.0, abs=0.1)
    assert ev["time"][exit_[0]] == pytest.approx(T0 + 500.0, abs=0.1)
    for j in (entry[0], exit_[0]):
        d = metres(ev["lat_deg"][j], ev["lon_deg"][j], vno.lat_deg, vno.lon_deg)
        assert d == pytest.approx(5000.0, abs=3.0)
        assert 0.0 < ev["detected_time"][j] - ev["time"][j] <= 1.5
        assert ev["country_from"][j] == "" and ev["depth_m"][j] > 0.0
    # the picture while inside, then after leaving
    eng2 = AirspaceEngine(engine.borders, engine.zones)
    feed(eng2, take(tr, slice(0, 400)))
    pic = eng2.picture()
    assert pic["in_zone"][0] == "vilnius-airport"
    assert pic["nearest_zone_id"][0] == "vilnius-airport"
    assert pic["nearest_zone_distance_m"][0] == 0.0
    assert pic["zone_id"][0] == "vilnius-airport" and pic["time_to_zone_s"][0] == 0.0
    # approaching: the threatened zone, with the time and distance of the approach
    eng3 = AirspaceEngine(engine.borders, engine.zones)
    feed(eng3, take(tr, slice(0, 100)))
    pic = eng3.picture()
    assert pic["zone_id"][0] == "vilnius-airport" and pic["in_zone"][0] == ""
    assert pic["time_to_zone_s"][0] == pytest.approx(201.0, abs=0.2)
    assert pic["distance_to_zone_m"][0] == pytest.approx(10_050.0, abs=5.0)
    assert pic["time_to_zone_sigma_s"][0] > 0.0


def test_polygon_zone_and_picture(borders: Borders) -> None:
    square = shapely.box(25.00, 54.80, 25.10, 54.86)        # ~6.4 km × 6.7 km
    circle = circle_polygon(54.70, 25.05, 2000.0)
    zs = Zones([Zone("square", "Square", "other", 54.83, 25.05, float("nan"), square),
                Zone("ring", "Ring", "other", 54.70, 25.05, 2000.0, circle)])
    eng = AirspaceEngine(borders, zs)
    # due north along lon 25.05: through the ring (r = 2 km), then into the square
    tr = straight(54.58, 25.05, 0.0, 40.0, 700)
    ev = feed(eng, tr)
    kinds = [(str(k), str(z)) for k, z in zip(ev["kind"], ev["zone_id"], strict=True)]
    assert kinds == [("zone_approach", "ring"), ("zone_approach", "square"),
                     ("zone_entry", "ring"), ("zone_exit", "ring"), ("zone_entry", "square")]
    entry = where(ev, "zone_entry", "square")[0]
    lat, lon, t = true_crossing(tr, square, 40.0)
    assert metres(ev["lat_deg"][entry], ev["lon_deg"][entry], lat, lon) < 2.0
    assert ev["time"][entry] == pytest.approx(t, abs=0.05)
    appr = where(ev, "zone_approach", "square")[0]
    _, _, d0 = GEOD.inv(tr["lon_deg"][0], tr["lat_deg"][0], lon, lat)
    t_appr = ev["detected_time"][appr]
    assert ev["time_to_zone_s"][appr] == pytest.approx(t - t_appr, abs=0.1)
    assert t - t_appr == pytest.approx(600.0, abs=1.5)      # raised at the look-ahead
    pic = eng.picture()
    assert set(pic) == set(PICTURE_COLUMNS)
    for c, d in PICTURE_COLUMNS.items():
        assert pic[c].dtype.kind == ("U" if d == "str" else np.dtype(d).kind), c
    assert pic["in_zone"][0] == "square" and pic["country"][0] == "LT"
    assert pic["zone_id"][0] == "square" and pic["time_to_zone_s"][0] == 0.0
    assert pic["depth_m"][0] > 20_000.0
    assert (pic["heading_deg"][0] + 180.0) % 360.0 - 180.0 == pytest.approx(0.0, abs=0.5)


# --------------------------------------------------------------------------------------
# loiter
# --------------------------------------------------------------------------------------
def orbit(lat0: float, lon0: float, radius: float, speed: float, n: int, t0: float
          ) -> dict[str, np.ndarray]:
    frame = LocalFrame(lat0, lon0)
    w = speed / radius
    a = w * np.arange(n)
    lat, lon = frame.from_map(radius * np.cos(a), radius * np.sin(a))
    ve, vn = frame.map_velocity_to_enu(radius * np.cos(a), radius * np.sin(a),
                                       -speed * np.sin(a), speed * np.cos(a))
    return rows(lat, lon, ve, vn, t0 + np.arange(n))


def test_loiter_once_per_episode(engine: AirspaceEngine) -> None:
    c1, c2 = (54.90, 24.90), (54.95, 24.95)
    first = orbit(*c1, 300.0, 20.0, 400, T0)
    transit = straight(first["lat_deg"][-1], first["lon_deg"][-1], 30.0, 40.0, 100,
                       t0=T0 + 400.0)
    second = orbit(*c2, 200.0, 15.0, 300, T0 + 500.0)
    ev = feed(engine, {c: np.concatenate([first[c], transit[c], second[c]]) for c in first})
    k = where(ev, "loiter")
    assert k.size == 2
    assert ev["time"][k[0]] == T0 and ev["detected_time"][k[0]] == T0 + 180.0
    assert metres(ev["lat_deg"][k[0]], ev["lon_deg"][k[0]], *c1) < 60.0
    assert ev["time"][k[1]] == T0 + 500.0
    assert metres(ev["lat_deg"][k[1]], ev["lon_deg"][k[1]], *c2) < 60.0
    # a straight transit is no loiter
    assert where(feed(AirspaceEngine(engine.borders, engine.zones), by_to_lt(400)),
                 "loiter").size == 0


# --------------------------------------------------------------------------------------
# lifecycle and bad input
# --------------------------------------------------------------------------------------
def test_deleted_rows_free_the_state(engine: AirspaceEngine) -> None:
    tr = by_to_lt(n=100)
    feed(engine, tr)
    assert engine.n_tracks == 1
    gone = take(tr, slice(99, 100))
    gone["status"] = np.array(["deleted"])
    gone["time"] = gone["time"] + 1.0
    late = take(tr, slice(99, 100))
    late["time"] = late["time"] + 2.0                      # after the deletion: skipped
    assert engine.step({c: np.concatenate([gone[c], late[c]]) for c in gone})["time"].size == 0
    assert engine.n_tracks == 0 and engine.picture()["track_id"].size == 0
    assert engine.stats["deleted"] == 1 and engine.stats["after_deleted"] == 1
    # the id seen again is a new track: first seen 1 km inside, coming in → an entry
    ev = feed(engine, take(by_to_lt(n=100, t0=T0 + 500.0), slice(90, None)))
    assert where(ev, "border_entry").size == 1
    # a deletion needs no time
    gone["time"] = np.array([np.nan])
    engine.step(gone)
    assert engine.n_tracks == 0 and engine.stats["rejected"] == 0


def test_same_rows_twice_and_old_rows_give_no_new_events(engine: AirspaceEngine) -> None:
    tr = by_to_lt(n=100)
    first = feed(engine, tr)
    assert where(first, "border_entry").size == 1
    again = engine.step(take(tr, slice(90, None)))          # 90..98 older: stale
    assert again["time"].size == 0
    assert engine.stats["stale"] == 9


def test_tentative_tracks_never_raise_events(engine: AirspaceEngine) -> None:
    ev = feed(engine, by_to_lt(status="tentative"))
    assert ev["time"].size == 0 and engine.n_tracks == 0
    assert engine.stats["ignored_status"] == 200


def test_missing_or_malformed_columns_are_data_errors(engine: AirspaceEngine) -> None:
    tr = by_to_lt(n=5)
    for col in REQUIRED_COLUMNS:
        bad = {c: v for c, v in tr.items() if c != col}
        with pytest.raises(DataError, match=f"'{col}'"):
            engine.step(bad)
    with pytest.raises(DataError, match="'lat_deg'"):
        engine.step({**tr, "lat_deg": tr["lat_deg"][:3]})
    with pytest.raises(DataError, match="'track_id'"):
        engine.step({**tr, "track_id": np.array([1.0, 1.0, np.nan, 1.0, 1.0])})
    with pytest.raises(DataError, match="'vel_east_mps'"):
        engine.step({**tr, "vel_east_mps": np.array(["a"] * 5)})
    assert engine.n_tracks == 0                               # nothing half-done


def test_bad_rows_are_quarantined_and_the_rest_used(engine: AirspaceEngine) -> None:
    tr = by_to_lt()
    tr["lat_deg"][40] = np.nan
    tr["status"][41] = "lost"
    tr["time"][42] = np.inf
    tr["vel_east_mps"][43] = np.nan
    tr["sigma_north_m"][44] = -1.0
    ev = feed(engine, tr)
    assert where(ev, "border_entry").size == 1
    q = engine.quarantine()
    assert list(q["row"]) == [0, 0, 0] and list(q["track_id"]) == [1, 1, 1]
    reasons = " | ".join(q["reason"])
    assert "position" in reasons and "unknown status 'lost'" in reasons and "time" in reasons
    assert engine.stats["rejected"] == 3
    assert engine.stats["velocity_unknown"] == 1 and engine.stats["sigma_defaulted"] == 1
    assert engine.stats["used"] == 197


# --------------------------------------------------------------------------------------
# the geometry kernels against shapely
# --------------------------------------------------------------------------------------
def test_geometry_kernels_agree_with_shapely(engine: AirspaceEngine) -> None:
    rng = np.random.default_rng(5)
    lat = rng.uniform(52.5, 57.5, 4000)
    lon = rng.uniform(19.0, 29.0, 4000)
    x, y = engine.plane.forward(lat, lon)
    home = engine._home
    inside, d, qx, qy = home.locate(x, y)
    np.testing.assert_array_equal(inside, shapely.contains_xy(home.geom, x, y))
    ref = shapely.distance(home.geom.boundary, shapely.points(x, y))
    exact = np.isfinite(qx)
    assert exact[ref < 5000.0].all()                       # exact near the border
    np.testing.assert_allclose(d[exact], ref[exact], rtol=0, atol=1e-6)
    assert np.abs(d - ref)[~exact].max() < 500.0 * np.sqrt(2.0)
    np.testing.assert_allclose(np.hypot(qx - x, qy - y)[exact], ref[exact], atol=1e-6)
    # crossings of random 3-km segments: the first and last of shapely's intersections
    ang = rng.uniform(0, 2 * np.pi, x.size)
    x1, y1 = x + 3000.0 * np.cos(ang), y + 3000.0 * np.sin(ang)
    lo, hi = home.index.crossings(x, y, x1, y1)
    seg = shapely.linestrings(np.stack([np.column_stack([x, y]), np.column_stack([x1, y1])], 1))
    hits = shapely.intersection(seg, home.geom.boundary)
    np.testing.assert_array_equal(np.isfinite(lo), ~shapely.is_empty(hits))
    for k in np.flatnonzero(np.isfinite(lo))[:300]:
        f = np.hypot(*(shapely.get_coordinates(hits[k]) - [x[k], y[k]]).T) / 3000.0
        assert lo[k] == pytest.approx(f.min(), abs=1e-9)
        assert hi[k] == pytest.approx(f.max(), abs=1e-9)
    # the tabulated axes of the map against a projected northward step
    _, _, nx, ny = engine.plane.forward_axes(lat, lon)
    nx2, ny2 = engine.plane._axes_exact(lat, lon, x, y)
    assert np.abs(nx - nx2).max() < 1e-6 and np.abs(ny - ny2).max() < 1e-6
    assert np.all(np.abs(np.hypot(nx, ny) - 1.0) < 2e-3)   # conformal scale near 1


# --------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------
def test_config_file_and_its_errors(tmp_path: Path) -> None:
    path = tmp_path / "airspace.toml"
    path.write_text('[airspace]\nhome_country = "LT"\napproach_lookahead_s = 300.0\n'
                    'statuses = ["confirmed"]\n', "utf-8")
    cfg = load_airspace_config(path)
    assert cfg.approach_lookahead_s == 300.0 and cfg.statuses == ("confirmed",)
    assert load_airspace_config(None) == AirspaceConfig()
    cases = {
        "[airspace]\nloiter_radius = 3.0\n": "airspace.loiter_radius",
        "[airspace]\nloiter_time_s = -1\n": "airspace.loiter_time_s",
        '[airspace]\nstatuses = ["tentative"]\n': "airspace.statuses[0]",
        "[airspace]\nmin_margin_m = 50.0\nmax_margin_m = 20.0\n": "airspace",
        "[tracker]\nq = 1.0\n": "tracker",
    }
    for text, key in cases.items():
        path.write_text(text, "utf-8")
        with pytest.raises(ConfigError) as info:
            load_airspace_config(path)
        assert info.value.file == str(path) and info.value.key == key, text
    path.write_text("[airspace]\nmax_margin_m = 20.0\nmin_margin_m = 50.0\n", "utf-8")
    with pytest.raises(ConfigError, match="max_margin_m"):
        load_airspace_config(path)


# --------------------------------------------------------------------------------------
# a tracked scenario
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_jonava_gerbera_tracked_crossing(borders: Borders, zones: Zones) -> None:
    from skyfence.sim.engine import Simulation
    from skyfence.sim.scenario import load_scenario
    from skyfence.track.config import TrackerConfig
    from skyfence.track.tracker import Tracker

    from ..conftest import run_all

    sc = load_scenario("jonava-gerbera")
    sim = Simulation(sc, duration_s=880.0)                  # the decoy crosses at ~816 s
    truth, det = run_all(sim)
    # the truth crossing, with the same geometry as the synthetic tests
    on = truth["status"] == "flying"
    tt = {c: v[on] for c, v in truth.items()}
    side = borders.contains("LT", tt["lat_deg"], tt["lon_deg"])
    k = int(np.flatnonzero(~side[:-1] & side[1:])[0])
    seg = shapely.LineString([(tt["lon_deg"][k], tt["lat_deg"][k]),
                              (tt["lon_deg"][k + 1], tt["lat_deg"][k + 1])])
    lon_x, lat_x = shapely.get_coordinates(shapely.intersection(
        seg, borders.geometry("LT").boundary))[0]
    frac = metres(tt["lat_deg"][k], tt["lon_deg"][k], lat_x, lon_x) / metres(
        tt["lat_deg"][k], tt["lon_deg"][k], tt["lat_deg"][k + 1], tt["lon_deg"][k + 1])
    t_x = tt["time"][k] + frac * (tt["time"][k + 1] - tt["time"][k])
    # track the last two and a half minutes before the crossing and one after
    keep = det["time"] >= t_x - 150.0
    det = {c: v[keep] for c, v in det.items()}
    tracker = Tracker(sc.deployment, TrackerConfig())
    engine = AirspaceEngine(borders, zones)
    outs = []
    t = det["time"]
    for lo in np.arange(t.min(), t.max() + 1.0, 1.0):
        m = (t >= lo) & (t < lo + 1.0)
        if m.any():
            outs.append(engine.step(tracker.step({c: v[m] for c, v in det.items()})))
    ev = {c: np.concatenate([o[c] for o in outs]) for c in EVENT_COLUMNS}
    k = where(ev, "border_entry")
    assert k.size == 1, ev["kind"]
    k = k[0]
    assert ev["country_from"][k] == "BY"
    assert abs(ev["time"][k] - t_x) < 1.0                  # measured: 0.03 s
    assert 0.0 < ev["detected_time"][k] - t_x < 2.0        # measured: 0.8 s
    assert metres(ev["lat_deg"][k], ev["lon_deg"][k], lat_x, lon_x) < 50.0   # 0.7 m
    assert np.count_nonzero(np.char.startswith(ev["kind"], "border")) == 1


# --------------------------------------------------------------------------------------
# predicted entry: a track not updated since is carried to the feed clock
# --------------------------------------------------------------------------------------
def _until_before_border(tr: dict[str, np.ndarray], borders: Borders,
                         seconds: float) -> tuple[dict[str, np.ndarray], float]:
    """The rows of ``tr`` more than ``seconds`` before its true crossing, and that time."""
    _, _, t_cross = true_crossing(tr, borders.geometry("LT"), 45.0)
    return take(tr, tr["time"] < t_cross - seconds), t_cross


def test_entry_predicted_to_the_clock_when_the_track_is_not_updated(
        engine: AirspaceEngine, borders: Borders) -> None:
    """A radar misses the drone at the line: the engine carries its track along its
    velocity to each step's clock and declares the entry once the prediction is past the
    entry margin of the predicted sigma, at the true crossing, revealed at that clock."""
    tr = by_to_lt()
    before, t_cross = _until_before_border(tr, borders, 0.0)
    assert where(feed(engine, before), "border_entry").size == 0
    t_last = float(before["time"][-1])
    found = None
    for now in np.arange(t_last + 0.1, t_last + 2.0, 0.1):
        ev = engine.step(take(tr, slice(0, 0)), now=float(now))
        if ev["time"].size:
            found = (float(now), ev)
            break
    assert found is not None, "no entry predicted within 2 s"
    now, ev = found
    assert ev["kind"].tolist() == ["border_entry"] and ev["track_id"][0] == 1
    # past the margin of the grown sigma: sqrt(8² + (dt·2)²) · 1.5, and not one step later
    dt = now - t_last
    margin = 1.5 * np.hypot(8.0, 2.0 * dt)
    depth_now = 45.0 * (now - t_cross)
    assert depth_now > margin - 1.0 and 45.0 * (now - 0.1 - t_cross) < margin + 1.0
    assert ev["detected_time"][0] == now and ev["time"][0] == pytest.approx(t_cross, abs=0.05)
    assert ev["country_from"][0] == "BY" and ev["country_to"][0] == "LT"
    assert ev["depth_m"][0] == pytest.approx(depth_now, abs=3.0)
    lat, lon, _ = true_crossing(tr, borders.geometry("LT"), 45.0)
    assert metres(ev["lat_deg"][0], ev["lon_deg"][0], lat, lon) < 3.0
    assert engine.stats["predicted_entries"] == 1 and engine.picture()["inside_home"][0]
    # the track's own rows, when they come (a late radar), are not stale and raise no
    # second entry
    rest = take(tr, tr["time"] > t_last)
    again = feed(engine, rest)
    assert where(again, "border_entry").size == 0 and where(again, "border_exit").size == 0
    assert engine.stats["stale"] == 0


def test_no_prediction_without_the_clock_too_long_after_or_for_coasting_tracks(
        borders: Borders, zones: Zones) -> None:
    tr = by_to_lt()
    before, t_cross = _until_before_border(tr, borders, 0.0)
    t_last = float(before["time"][-1])
    cases = {
        "off": (AirspaceConfig(predict_entry_s=0.0), before, 1.5),
        "too long": (AirspaceConfig(), before, 2.5),            # 2 s at most
        "coasting": (AirspaceConfig(), {**before, "status": np.full(before["time"].size,
                                                                     "coasting")}, 1.5),
    }
    for name, (cfg, rows_, dt) in cases.items():
        eng = AirspaceEngine(borders, zones, cfg)
        feed(eng, rows_)
        ev = eng.step(take(tr, slice(0, 0)), now=t_last + dt)
        assert where(ev, "border_entry").size == 0, name
    # the same track with the clock and a recent enough update does enter
    eng = AirspaceEngine(borders, zones)
    feed(eng, before)
    assert eng.step(take(tr, slice(0, 0)), now=t_last + 1.5)["kind"].tolist() == ["border_entry"]
    assert t_last + 1.5 > t_cross


def test_a_wrong_prediction_is_undone_by_the_rows(borders: Borders, zones: Zones) -> None:
    """The drone turned back at the line: its next rows, decisively outside, end the
    predicted incursion with an exit."""
    eng = AirspaceEngine(borders, zones)
    tr = by_to_lt()
    before, t_cross = _until_before_border(tr, borders, 0.0)
    feed(eng, before)
    t_last = float(before["time"][-1])
    assert eng.step(take(tr, slice(0, 0)), now=t_last + 1.5)["kind"].tolist() == \
        ["border_entry"]
    # it really went back east: rows from its last position on course 120°
    back = straight(before["lat_deg"][-1], before["lon_deg"][-1], 120.0, 45.0, 10,
                    t0=t_last + 1.0)
    ev = feed(eng, back)
    assert where(ev, "border_exit").size == 1 and where(ev, "border_entry").size == 0
    ev = {c: v[where(ev, "border_exit")] for c, v in ev.items()}
    assert ev["country_to"][0] == "BY" and not eng.picture()["inside_home"][0]


def test_a_predicted_entry_of_a_track_already_over_the_line_keeps_its_rows_crossing(
        borders: Borders) -> None:
    """The last update is just over the line, inside the 1.5-sigma margin (not yet
    decisively inside): the predicted entry places the crossing where the rows crossed,
    from Belarus, not at the predicted point."""
    eng = AirspaceEngine(borders, load_zones())
    tr = by_to_lt(sigma=30.0)                     # margin 45 m: a second past the line
    lat, lon, t_cross = true_crossing(tr, borders.geometry("LT"), 45.0)
    before = take(tr, tr["time"] < t_cross + 1.0)
    assert 0.0 < 45.0 * (before["time"][-1] - t_cross) < 45.0
    assert where(feed(eng, before), "border_entry").size == 0
    ev = eng.step(take(tr, slice(0, 0)), now=float(before["time"][-1]) + 1.5)
    k = where(ev, "border_entry")
    assert k.size == 1
    assert ev["country_from"][k[0]] == "BY"
    assert ev["time"][k[0]] == pytest.approx(t_cross, abs=0.05)
    assert metres(ev["lat_deg"][k[0]], ev["lon_deg"][k[0]], lat, lon) < 3.0


def test_crossing_from_the_kaliningrad_exclave_and_back(engine: AirspaceEngine,
                                                        borders: Borders) -> None:
    """North from Russia's Kaliningrad oblast (near Sovetsk) over the Neman into
    Lithuania: one entry from RU-KGD at the river border; back south: one exit to
    RU-KGD.  The exclave is a country of its own in the borders (not Russia, which has no
    border with Lithuania there)."""
    start = (55.02, 21.9)
    assert borders.geometry("RU-KGD").contains(shapely.Point(start[1], start[0]))
    tr = straight(*start, 0.0, 45.0, 200)
    lat, lon, t = true_crossing(tr, borders.geometry("LT"), 45.0)
    ev = feed(engine, tr)
    k = where(ev, "border_entry")
    assert k.size == 1 and where(ev, "border_exit").size == 0
    assert ev["country_from"][k[0]] == "RU-KGD" and ev["country_to"][k[0]] == "LT"
    assert metres(ev["lat_deg"][k[0]], ev["lon_deg"][k[0]], lat, lon) < 2.0
    assert ev["time"][k[0]] == pytest.approx(t, abs=0.05)
    back = straight(tr["lat_deg"][-1], tr["lon_deg"][-1], 180.0, 45.0, 200,
                    t0=tr["time"][-1] + 1.0)
    ev = feed(engine, back)
    x = where(ev, "border_exit")
    assert x.size == 1 and where(ev, "border_entry").size == 0
    assert ev["country_to"][x[0]] == "RU-KGD"
    assert engine.picture()["country"][0] == "RU-KGD"
