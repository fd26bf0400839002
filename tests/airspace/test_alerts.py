"""Alert lifecycle: one alert per incursion, transitions and revision numbering, merges of
broken tracks, who raises nothing, spoofed Remote ID, priorities, throttled position
revisions, and bad input."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from skyfence.airspace.alerts import AlertError, AlertManager, empty_alerts
from skyfence.airspace.rules import RulesConfig, load_rules
from skyfence.airspace.threat import priority_band, threat_score
from skyfence.errors import DataError
from skyfence.model.schema import ALERT_COLUMNS, EVENT_COLUMNS

from .conftest import (
    BORDER_LON,
    PICTURE_DTYPES,
    T0,
    TRACK_DTYPES,
    ZONE_ID,
    Flyer,
    Scene,
    event_row,
    picture_row,
    table,
    track_row,
)

RULES = load_rules()
NO_EVENTS = table([], EVENT_COLUMNS)


def rules(**tables: dict) -> RulesConfig:
    """The default rules with some tables' keys changed."""
    return RulesConfig.model_validate(tables)


def run(manager: AlertManager, scene: Scene, seconds: int, dt: float = 1.0,
        each=None) -> dict[str, np.ndarray]:  # type: ignore[no-untyped-def]
    """Step the scene ``seconds / dt`` times; all revisions, in order."""
    out = []
    for k in range(int(seconds / dt)):
        if each is not None:
            each(k, scene)
        out.append(manager.step(*scene.step(dt)))
    return cat(out)


def cat(tables: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    tables = [t for t in tables if t["alert_id"].size]
    if not tables:
        return empty_alerts()
    return {k: np.concatenate([t[k] for t in tables]) for k in ALERT_COLUMNS}


def step(manager: AlertManager, t: float, tracks: list[dict], pics: list[dict],
         events: list[dict] | None = None) -> dict[str, np.ndarray]:
    return manager.step(table(tracks, TRACK_DTYPES),
                        table(events or [], EVENT_COLUMNS), table(pics, PICTURE_DTYPES), t)


def revisions_of(out: dict[str, np.ndarray], alert_id: int) -> dict[str, np.ndarray]:
    m = out["alert_id"] == alert_id
    return {k: v[m] for k, v in out.items()}


# ------------------------------------------------------------------ one per incursion
def test_one_alert_per_incursion_over_many_steps(scene: Scene) -> None:
    """A fixed-wing drone crosses from BY, heads for the zone, flies through it: one
    alert, escalated twice, with a throttled stream of position revisions."""
    scene.add(Flyer(1, 54.6, 26.05, ve=-46.0))
    events = []
    mgr = AlertManager(RULES, zone_names={ZONE_ID: "Gaižiūnai (training ground)"})
    outs = []
    for _ in range(900):
        tracks, ev, pic, now = scene.step(1.0)
        events.append(ev)
        outs.append(mgr.step(tracks, ev, pic, now))
    out = cat(outs)
    entry = [e for e in events if "border_entry" in e["kind"].tolist()]
    assert len(entry) == 1 and "zone_entry" in np.concatenate([e["kind"] for e in events])
    assert set(out["alert_id"].tolist()) == {1}
    assert set(out["kind"].tolist()) == {"incursion"}
    np.testing.assert_array_equal(out["revision"], np.arange(out["revision"].size))
    # raised once, with the crossing of the event
    first = {k: v[0] for k, v in out.items()}
    assert first["state"] == "raised" and mgr.stats.raised["incursion"] == 1
    assert first["crossing_time"] == pytest.approx(float(entry[0]["time"][0]))
    assert first["crossing_lon_deg"] == BORDER_LON and first["country_from"] == "BY"
    assert first["track_ids"] == "1" and first["class"] == "drone_fixed_wing"
    assert re.fullmatch(r"Drone \(fixed-wing, p=0\.97\) crossed from BY at 54\.60N 26\.00E, "
                        r"0\.\d km inside, heading 270°, 46 m/s; Gaižiūnai in 1\d min",
                        first["message"]), first["message"]
    # escalated when predicted in the zone within 10 min, and again on entering it
    esc = np.flatnonzero(np.char.startswith(out["message"], "ESCALATED"))
    assert esc.size == 2 and np.all(out["state"][esc[0]:] == "escalated")
    assert np.all(out["state"][:esc[0]] == "raised")
    assert out["message"][esc[0]].startswith("ESCALATED (Gaižiūnai in 10 min)")
    assert out["message"][esc[1]].startswith("ESCALATED (entered Gaižiūnai)")
    band = priority_band(out["threat_score"], RULES)
    assert out["priority"][esc[0]] == max(1, band[esc[0]] - 1)
    assert out["priority"][esc[1]] == max(1, band[esc[1]] - 2)
    assert "inside Gaižiūnai" in out["message"][esc[1]]
    # no flood: one position revision per 10 s at most, plus the changes
    assert out["revision"].size <= 900 / RULES.revisions.position_interval_s + 6
    same = (out["state"][1:] == out["state"][:-1]) & (out["priority"][1:] ==
                                                      out["priority"][:-1])
    assert np.all(np.diff(out["time"])[same] >= RULES.revisions.position_interval_s)
    assert np.all(np.diff(out["lon_deg"]) < 0)          # operators see it move west
    assert len(mgr.open_alerts()["alert_id"]) == 1


def test_revisions_have_exactly_the_alert_columns() -> None:
    mgr = AlertManager(RULES)
    out = step(mgr, T0, [track_row(1)], [picture_row(1)])
    assert list(out) == list(ALERT_COLUMNS)
    for name, dt in ALERT_COLUMNS.items():
        assert out[name].shape == (1,)
        if dt == "str":
            assert out[name].dtype.kind == "U", name
        else:
            assert out[name].dtype == np.dtype(dt), name
    empty = step(mgr, T0 + 1, [], [])
    assert list(empty) == list(ALERT_COLUMNS) and empty["alert_id"].size == 0
    assert empty["message"].dtype.kind == "U" and empty["priority"].dtype == np.int64


# ------------------------------------------------------------------ who raises nothing
def test_birds_and_adsb_aircraft_crossing_raise_nothing(scene: Scene) -> None:
    scene.add(Flyer(2, 54.5, 26.01, ve=-12.0, cls="bird", prob=0.9))
    scene.add(Flyer(3, 54.7, 26.3, ve=-220.0, cls="aircraft", prob=0.99, coop="4b1a2c"))
    kinds: list[str] = []
    mgr = AlertManager(RULES)
    outs = []
    for _ in range(200):
        tracks, ev, pic, now = scene.step(1.0)
        kinds += ev["kind"].tolist()
        outs.append(mgr.step(tracks, ev, pic, now))
    assert kinds.count("border_entry") == 2            # both crossed
    assert cat(outs)["alert_id"].size == 0
    assert sum(mgr.stats.raised.values()) == 0


def test_cooperative_drone_far_from_zones_raises_nothing(scene: Scene) -> None:
    """A Remote ID drone that is who it says it is, flying slowly, is not an incursion."""
    scene.add(Flyer(4, 54.9, 26.002, ve=-5.0, cls="drone_rotary", prob=0.95,
                    coop="RID-1581F4"))
    out = run(AlertManager(RULES), scene, 120)
    assert out["alert_id"].size == 0


# ------------------------------------------------------------------ late classification
def test_drone_classified_after_crossing_raises_with_its_crossing(scene: Scene) -> None:
    f = scene.add(Flyer(5, 54.6, 26.01, ve=-20.0, cls="bird", prob=0.8))
    mgr = AlertManager(RULES)
    entry_time = math.nan
    outs = []
    for k in range(200):
        if k == 150:
            f.cls, f.prob = "drone_rotary", 0.9
        tracks, ev, pic, now = scene.step(1.0)
        if "border_entry" in ev["kind"].tolist():
            entry_time = float(ev["time"][0])
        out = mgr.step(tracks, ev, pic, now)
        if k < 150:
            assert out["alert_id"].size == 0
        outs.append(out)
    out = cat(outs)
    assert math.isfinite(entry_time) and entry_time < T0 + 60
    assert out["alert_id"].tolist().count(1) >= 1 and set(out["alert_id"].tolist()) == {1}
    assert out["time"][0] == pytest.approx(T0 + 151)
    assert out["crossing_time"][0] == pytest.approx(entry_time)
    assert out["country_from"][0] == "BY" and out["class"][0] == "drone_rotary"
    assert out["message"][0].startswith("Drone (rotary, p=0.90) crossed from BY at 54.60N")


def test_drone_found_inside_has_no_crossing(scene: Scene) -> None:
    scene.add(Flyer(6, 54.8, 25.2, ve=0.0, vn=30.0))
    out = run(AlertManager(RULES), scene, 30)
    assert set(out["alert_id"].tolist()) == {1}
    assert out["time"][0] == T0 + 1
    assert np.isnan(out["crossing_time"][0]) and np.isnan(out["crossing_lat_deg"][0])
    assert out["country_from"][0] == ""
    assert out["message"][0].startswith("Drone (fixed-wing, p=0.97) found inside LT at 54.80N "
                                        "25.20E, 51.6 km inside, heading 0°, 30 m/s")


def test_a_young_track_found_inside_raises_nothing_yet(scene: Scene) -> None:
    """A track born deep inside (12 updates here) raises only once it has enough."""
    scene.add(Flyer(6, 54.8, 25.2, ve=0.0, vn=30.0))
    strict = RULES.model_copy(update={"threat": RULES.threat.model_copy(
        update={"found_inside_min_updates": 13})})
    assert run(AlertManager(strict), scene, 30)["alert_id"].size == 0


# ------------------------------------------------------------------ spoofed Remote ID
def test_spoofed_track_raises_a_spoofed_remote_id_alert(scene: Scene) -> None:
    f = scene.add(Flyer(7, 54.6, 26.3, ve=0.0, vn=8.0, cls="drone_rotary", prob=0.9,
                        coop="RID-1581F4"))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 20)
    assert out["alert_id"].size == 0                      # outside, honest: nothing
    f.spoofed = True
    out = run(mgr, scene, 60)
    assert set(out["kind"].tolist()) == {"spoofed_remote_id"}
    assert set(out["alert_id"].tolist()) == {1} and out["state"][0] == "raised"
    assert out["cooperative_id"][0] == "RID-1581F4"
    assert out["message"][0].startswith("Spoofed Remote ID 'RID-1581F4' on drone (rotary, "
                                        "p=0.90) (track 7) at 54.60N 26.30E")
    assert mgr.stats.raised["spoofed_remote_id"] == 1
    off = AlertManager(rules(spoofed_remote_id={"alert": False}))
    scene2 = Scene()
    scene2.add(Flyer(7, 54.6, 26.3, ve=0.0, vn=8.0, cls="drone_rotary", prob=0.9,
                     coop="RID-1581F4", spoofed=True))
    assert run(off, scene2, 30)["alert_id"].size == 0


def test_the_phantom_of_a_spoofed_remote_id_is_resolved_and_never_raises(
        scene: Scene) -> None:
    """A Remote-ID-only track that follows a spoofed broadcast (its position is the lie)
    raised an incursion alert before the spoof was found; once classify names it the
    phantom of the drone's radar track, its alerts are resolved, naming that track, and
    it raises nothing more, while the drone's own track alerts as usual."""
    ph = scene.add(Flyer(8, 54.8, 25.2, ve=0.0, vn=8.0, cls="drone_rotary", prob=0.95,
                         coop="1581F4XFC238M00LIAR"))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 5)
    assert out["kind"].tolist() == ["incursion"] and out["track_id"].tolist() == [8]
    ph.spoofed, ph.phantom_of = True, 3
    drone = scene.add(Flyer(3, 54.79, 25.21, ve=0.0, vn=8.0, cls="drone_rotary", prob=0.95,
                            coop="1581F4XFC238M00LIAR", spoofed=True))
    out = run(mgr, scene, 30)
    mine = out["track_id"] == 8
    assert out["state"][mine].tolist() == ["resolved"]
    assert "phantom of a spoofed Remote ID: the drone is track 3" in out["message"][mine][0]
    # the drone raises its incursion and its spoofed-Remote-ID alert; the phantom nothing
    assert sorted(out["kind"][~mine & (out["revision"] == 0)].tolist()) == \
        ["incursion", "spoofed_remote_id"]
    assert set(out["track_id"][~mine].tolist()) == {drone.track_id}
    assert mgr.stats.resolved["phantom of a spoofed Remote ID"] == 1
    assert set(mgr.open_alerts()["track_id"].tolist()) == {3}


# ------------------------------------------------------------------ transitions
def test_acknowledge_escalate_resolve_and_revision_numbers() -> None:
    mgr = AlertManager(RULES, zone_names={ZONE_ID: "Gaižiūnai training ground (Jonava)"})
    drone = track_row(1, lat=54.6, lon=25.8)
    far = picture_row(1, depth=12_000.0)
    r0 = step(mgr, T0, [drone], [far])
    assert r0["state"].tolist() == ["raised"] and r0["revision"].tolist() == [0]
    band = int(r0["priority"][0])
    assert band == int(priority_band(r0["threat_score"][0], RULES))
    r1 = mgr.acknowledge(1, "op-7", T0 + 2)
    assert r1["state"].tolist() == ["acknowledged"] and r1["revision"].tolist() == [1]
    assert r1["time"][0] == T0 + 2 and r1["message"][0].startswith("Acknowledged by op-7: ")
    assert mgr.acknowledge(1, "op-8", T0 + 3)["alert_id"].size == 0     # already
    # predicted in the zone within the escalation time: escalated, one level up
    near = picture_row(1, depth=12_500.0, zone=ZONE_ID, ttz=300.0, ttz_sigma=20.0,
                       dist=13_800.0)
    r2 = step(mgr, T0 + 4, [track_row(1, T0 + 4, lon=25.79)], [near])
    assert r2["state"].tolist() == ["escalated"] and r2["revision"].tolist() == [2]
    assert r2["priority"][0] == max(1, int(priority_band(r2["threat_score"][0], RULES)) - 1)
    assert r2["message"][0].startswith("ESCALATED (Gaižiūnai training ground in 5 min)")
    r3 = mgr.acknowledge(1, "op-7", T0 + 5)
    assert r3["state"].tolist() == ["acknowledged"] and r3["revision"].tolist() == [3]
    # enters the zone: escalated again (no second alert)
    inside = picture_row(1, depth=20_000.0, in_zone=ZONE_ID, zone=ZONE_ID, ttz=0.0, dist=0.0)
    entry = event_row("zone_entry", 1, T0 + 6, zone=ZONE_ID, country_from="",
                      country_to="")
    r4 = step(mgr, T0 + 6, [track_row(1, T0 + 6, lon=25.6)], [inside], [entry])
    assert r4["state"].tolist() == ["escalated"] and r4["revision"].tolist() == [4]
    assert r4["kind"].tolist() == ["incursion"] and r4["zone_id"][0] == ZONE_ID
    assert r4["priority"][0] == max(1, int(priority_band(r4["threat_score"][0], RULES)) - 2)
    assert r4["message"][0].startswith("ESCALATED (entered Gaižiūnai training ground)")
    # the operator resolves it; the track, still inside, raises nothing more
    r5 = mgr.resolve(1, T0 + 7, "intercept reported by police")
    assert r5["state"].tolist() == ["resolved"] and r5["revision"].tolist() == [5]
    assert r5["message"][0].startswith("Resolved (by operator: intercept reported by police)")
    for k in range(8, 40):
        assert step(mgr, T0 + k, [track_row(1, T0 + k, lon=25.6)], [inside])[
            "alert_id"].size == 0
    with pytest.raises(AlertError, match="alert 1 is already resolved"):
        mgr.acknowledge(1, "op-7", T0 + 41)
    with pytest.raises(AlertError, match="no alert 99"):
        mgr.resolve(99, T0 + 41, "typo")
    assert mgr.open_alerts()["alert_id"].size == 0


def test_exit_resolves_only_after_staying_out(scene: Scene) -> None:
    """Out and back within after_exit_s keeps the alert; out for good resolves it; a
    new entry after that is a new incursion."""
    f = scene.add(Flyer(1, 54.6, 25.995, ve=-20.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 10)
    assert out["alert_id"].tolist()[:1] == [1]
    f.ve = +20.0                                     # back east across the border ...
    out = cat([out, run(mgr, scene, 60)])
    f.ve = -20.0                                     # ... and in again within 2 min
    out = cat([out, run(mgr, scene, 60)])
    assert set(out["alert_id"].tolist()) == {1} and "resolved" not in out["state"]
    f.ve = +20.0                                     # out for good
    out = cat([out, run(mgr, scene, 60 + RULES.resolve.after_exit_s)])
    res = out["state"] == "resolved"
    assert res.sum() == 1 and out["message"][res][0].startswith("Resolved (left to BY)")
    assert set(out["alert_id"].tolist()) == {1}
    f.ve = -20.0                                     # a new incursion: a new alert
    out = run(mgr, scene, 200)
    assert out["alert_id"][0] == 2 and out["revision"][0] == 0
    assert out["state"][0] == "raised" and out["country_from"][0] == "BY"


# ------------------------------------------------------------------ merges
def test_broken_track_joins_the_existing_alert(scene: Scene) -> None:
    scene.add(Flyer(1, 54.6, 25.9, ve=-40.0, vn=10.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 60)
    scene.break_track(1, 2, gap_s=20.0)
    out = cat([out, run(mgr, scene, 120)])
    assert set(out["alert_id"].tolist()) == {1}
    assert "resolved" not in out["state"].tolist()
    joined = np.flatnonzero(out["track_ids"] == "1 2")
    assert joined.size >= 1
    j = joined[0]
    assert out["track_id"][j] == 2 and out["time"][j] == pytest.approx(T0 + 60 + 20)
    assert "track 1 re-found as track 2" in out["message"][j]
    assert np.all(out["track_id"][j:] == 2)
    assert mgr.stats.merged == 1


def test_coasting_track_is_replaced_by_a_new_one(scene: Scene) -> None:
    f = scene.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 30)
    f.status = "coasting"
    g = scene.add(Flyer(2, f.lat + 200.0 / 111_320.0, f.lon, ve=-40.0))
    out = cat([out, run(mgr, scene, 5)])
    scene.delete(1)                                    # the tracker drops the old one later
    out = cat([out, run(mgr, scene, 60)])
    assert set(out["alert_id"].tolist()) == {1} and mgr.stats.merged == 1
    assert out["track_ids"][-1] == "1 2" and out["track_id"][-1] == g.track_id
    assert "resolved" not in out["state"].tolist()


def test_a_track_going_the_other_way_does_not_take_a_coasting_drones_alert(
        scene: Scene) -> None:
    """border-day: a decoy coasting near a 2D clutter track flying the opposite course;
    the alert stays with the decoy, whose track comes back under its id."""
    f = scene.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 10)
    f.status = "coasting"
    scene.add(Flyer(2, f.lat + 300.0 / 111_320.0, f.lon, ve=45.0, cls="drone_fixed_wing"))
    out = cat([out, run(mgr, scene, 5)])
    f.status = "confirmed"
    out = cat([out, run(mgr, scene, 5)])
    assert mgr.stats.merged == 0
    assert out["track_ids"][out["alert_id"] == 1].tolist() == ["1"] * int(
        (out["alert_id"] == 1).sum())
    # the same track 40° off course and a little faster still joins
    g = Scene()
    f = g.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    run(mgr, g, 10)
    f.status = "coasting"
    g.add(Flyer(2, f.lat + 300.0 / 111_320.0, f.lon, ve=-42.0 * math.cos(math.radians(40)),
                vn=42.0 * math.sin(math.radians(40))))
    run(mgr, g, 3)
    assert mgr.stats.merged == 1


def test_a_replaced_track_that_comes_back_is_released(scene: Scene) -> None:
    """The old track of a merge is confirmed again: two targets after all, so the old
    one may raise its own alert (the merged alert keeps following the new track)."""
    f = scene.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    run(mgr, scene, 10)
    f.status = "coasting"
    scene.add(Flyer(2, f.lat + 300.0 / 111_320.0, f.lon, ve=-40.0))
    out = run(mgr, scene, 3)
    assert mgr.stats.merged == 1 and out["track_ids"].tolist() == ["1 2"]
    f.status = "confirmed"
    out = run(mgr, scene, 3)
    new = out["revision"] == 0
    assert out["alert_id"][new].tolist() == [2] and out["track_id"][new].tolist() == [1]
    assert mgr.open_alerts()["track_id"].tolist() == [2, 1]


@pytest.mark.parametrize(("gap_s", "north_m"), [(20.0, 10_000.0), (90.0, 0.0)],
                         ids=["far-away", "too-late"])
def test_no_merge_when_far_away_or_too_late(scene: Scene, gap_s: float,
                                            north_m: float) -> None:
    scene.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 60)
    scene.break_track(1, 2, gap_s=gap_s, offset_north_m=north_m)
    out = cat([out, run(mgr, scene, 150)])
    assert mgr.stats.merged == 0
    one, two = revisions_of(out, 1), revisions_of(out, 2)
    assert one["state"][-1] == "resolved" and one["track_ids"][-1] == "1"
    assert one["message"][-1].startswith("Resolved (track lost)")
    # lost at T0+60: resolved once the merge window after its last update has passed
    assert one["time"][-1] == pytest.approx(T0 + 60 + RULES.merge.time_s + 1)
    assert two["revision"][0] == 0 and two["track_ids"][0] == "2"
    assert two["time"][0] == pytest.approx(T0 + 60 + gap_s + 1)


def test_a_track_silent_in_the_trackers_lost_pool_keeps_its_alert(scene: Scene) -> None:
    """A tracker holds a lost track (no rows) for its lost window and may bring it back
    under its id: 120 s with 10-s radars and the default re-acquisition, up to 330 s for
    a track only a 10-s 2D radar saw (its window stretched by 1 / 0.3).  The alert waits
    for it instead of resolving and raising anew."""
    f = scene.add(Flyer(1, 54.6, 25.9, ve=-40.0))
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 30)
    f.hidden_until = scene.t + 330.0
    out = cat([out, run(mgr, scene, 360)])
    assert set(out["alert_id"].tolist()) == {1}
    assert "resolved" not in out["state"].tolist()
    assert out["time"][-1] > T0 + 360            # it follows the track again
    # silent for longer than resolve.silent_after_s: gone, and resolved
    f.hidden_until = scene.t + 1_000.0
    t_last = scene.t
    out = run(mgr, scene, 400)
    one = revisions_of(out, 1)
    assert one["state"][-1] == "resolved" and one["message"][-1].startswith(
        "Resolved (track lost)")
    assert one["time"][-1] == pytest.approx(t_last + RULES.resolve.silent_after_s + 1)


# ------------------------------------------------------------------ who may raise
def test_a_wavering_class_raises_only_once_sure_enough() -> None:
    """A track labelled drone at 0.6 (a bird whose class wavers) raises nothing; the same
    track raises once the drone classes together reach min_alert_prob, and a track with
    no class probabilities at all is judged by its (unknown) class."""
    mgr = AlertManager(RULES)
    assert RULES.threat.min_alert_prob == pytest.approx(0.8)
    out = step(mgr, T0, [track_row(1, T0, prob=0.6)], [picture_row(1, depth=3_000.0)])
    assert out["alert_id"].size == 0
    out = step(mgr, T0 + 1, [track_row(1, T0 + 1, prob=0.85)], [picture_row(1, depth=3_000.0)])
    assert out["kind"].tolist() == ["incursion"]
    # no probabilities: "unknown", which the shipped rules let alert
    mgr = AlertManager(RULES)
    out = step(mgr, T0, [track_row(2, T0, cls="")], [picture_row(2, depth=3_000.0)])
    assert out["kind"].tolist() == ["incursion"]


# ------------------------------------------------------------------ priority
def _prob_for(score: float) -> float:
    """Fixed-wing probability giving a drone 10 km inside at 46 m/s this threat score."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        s = threat_score(table([track_row(1, prob=mid)], TRACK_DTYPES),
                         table([picture_row(1, depth=10_000.0)], PICTURE_DTYPES), RULES)[0]
        lo, hi = (mid, hi) if s < score else (lo, mid)
    return hi


def test_priority_bands_with_hysteresis() -> None:
    t3 = RULES.priority.thresholds[2]
    h = RULES.priority.hysteresis
    scores = [t3 + 0.01, t3 - h / 2, t3 + 0.01, t3 - h / 2, t3 - 2 * h, t3 - h / 2, t3 + 0.01]
    expect = [3, 3, 3, 3, 4, 4, 3]
    # the scores are set through the drone probability, some below min_alert_prob: the
    # rule that needs a sure class to raise is not what this test is about
    mgr = AlertManager(RULES.model_copy(update={
        "threat": RULES.threat.model_copy(update={"min_alert_prob": 0.0})}))
    got = []
    revs = []
    for k, s in enumerate(scores):
        out = step(mgr, T0 + k, [track_row(1, T0 + k, prob=_prob_for(s))],
                   [picture_row(1, depth=10_000.0)])
        revs.append(out)
        got.append(int(mgr.open_alerts()["priority"][0]))     # its latest revision
        if out["alert_id"].size:
            assert out["threat_score"][0] == pytest.approx(s, abs=1e-9)
    assert got == expect
    out = cat(revs)
    # revisions only for the raise and the two real changes (no position revision yet)
    assert out["revision"].tolist() == [0, 1, 2]
    assert out["priority"].tolist() == [3, 4, 3]
    assert "priority 3 → 4" in out["message"][1] and "priority 4 → 3" in out["message"][2]


def test_priorities_of_different_threats(scene: Scene) -> None:
    """Higher threat, higher priority: a slow balloon low, a fast drone in a zone high."""
    mgr = AlertManager(RULES)
    tracks = [track_row(1, cls="balloon", prob=0.9, ve=-3.0),
              track_row(2, cls="drone_rotary", prob=0.95, ve=-15.0),
              track_row(3, ve=-46.0)]
    pics = [picture_row(1, depth=500.0), picture_row(2, depth=15_000.0),
            picture_row(3, depth=30_000.0, in_zone=ZONE_ID, zone=ZONE_ID, ttz=0.0, dist=0.0)]
    out = step(mgr, T0, tracks, pics)
    pr = dict(zip(out["track_id"].tolist(), out["priority"].tolist(), strict=True))
    assert pr[1] == 4 and pr[3] == 1 and pr[1] > pr[2] > pr[3]


# ------------------------------------------------------------------ throttling
@pytest.mark.parametrize("interval", [10.0, 30.0])
def test_position_revisions_are_throttled(scene: Scene, interval: float) -> None:
    scene.add(Flyer(1, 54.6, 25.9, ve=0.0, vn=40.0))       # inside, away from the zone
    mgr = AlertManager(rules(revisions={"position_interval_s": interval}))
    out = run(mgr, scene, 120)
    assert set(out["state"].tolist()) == {"raised"}
    np.testing.assert_allclose(np.diff(out["time"]), interval)
    assert out["revision"].size == int(119 // interval) + 1
    assert np.all(np.diff(out["lat_deg"]) > 0)


# ------------------------------------------------------------------ zone alerts
def test_zone_alert_for_a_track_without_an_incursion_alert() -> None:
    """A threat entering a zone where the picture has no home-country depth (a zone
    abroad, say) raises a zone alert, which resolves after it has stayed out."""
    mgr = AlertManager(RULES, zone_names={ZONE_ID: "Gaižiūnai training ground (Jonava)"})
    nowhere = picture_row(1, depth=math.nan, country="")
    assert step(mgr, T0, [track_row(1)], [nowhere])["alert_id"].size == 0
    in_zone = picture_row(1, depth=math.nan, country="", in_zone=ZONE_ID, zone=ZONE_ID,
                          ttz=0.0, dist=0.0)
    out = step(mgr, T0 + 1, [track_row(1, T0 + 1)], [in_zone],
               [event_row("zone_entry", 1, T0 + 1, zone=ZONE_ID)])
    assert out["kind"].tolist() == ["zone"] and out["zone_id"][0] == ZONE_ID
    assert out["message"][0].startswith("Drone (fixed-wing, p=0.97) entered Gaižiūnai "
                                        "training ground at 54.60N 25.90E")
    assert out["priority"][0] == max(1, int(priority_band(out["threat_score"][0], RULES)) - 2)
    step(mgr, T0 + 2, [track_row(1, T0 + 2)], [nowhere],
         [event_row("zone_exit", 1, T0 + 2, zone=ZONE_ID)])
    outs = [step(mgr, T0 + k, [track_row(1, T0 + k)], [nowhere]) for k in range(3, 200)]
    done = cat(outs)
    res = done["state"] == "resolved"
    assert res.sum() == 1 and done["message"][res][0].startswith("Resolved (left the zone)")
    assert done["time"][res][0] == pytest.approx(T0 + 2 + RULES.resolve.after_exit_s)


# ------------------------------------------------------------------ the store
def test_store_callback_takes_every_revision_and_gets_a_retry() -> None:
    stored: list[dict[str, np.ndarray]] = []
    fail = [True]

    def store(t: dict[str, np.ndarray]) -> None:
        if fail[0]:
            raise OSError("disk full")
        stored.append(t)

    mgr = AlertManager(RULES, store_callback=store)
    out = step(mgr, T0, [track_row(1)], [picture_row(1)])
    assert out["alert_id"].tolist() == [1]                  # the operator still sees it
    assert mgr.stats.store_failures == 1 and mgr.pending_store == 1 and not stored
    fail[0] = False
    ack = mgr.acknowledge(1, "op", T0 + 1)
    assert ack["revision"].tolist() == [1]
    assert len(stored) == 1 and stored[0]["revision"].tolist() == [0, 1]
    assert mgr.pending_store == 0


# ------------------------------------------------------------------ bad input
def test_missing_columns_are_data_errors_naming_them() -> None:
    mgr = AlertManager(RULES)
    tracks = table([track_row(1)], TRACK_DTYPES)
    pic = table([picture_row(1)], PICTURE_DTYPES)
    ev = table([event_row("border_entry")], EVENT_COLUMNS)
    no_spoof = {k: v for k, v in tracks.items() if k != "spoofed"}
    with pytest.raises(DataError, match="track table has no column 'spoofed'"):
        mgr.step(no_spoof, ev, pic, T0 + 100)
    with pytest.raises(DataError, match="event table has no column 'zone_id'"):
        mgr.step(tracks, {k: v for k, v in ev.items() if k != "zone_id"}, pic, T0)
    with pytest.raises(DataError, match="picture table has no column 'in_zone'"):
        mgr.step(tracks, ev, {k: v for k, v in pic.items() if k != "in_zone"}, T0)
    short = dict(tracks, lat_deg=np.array([54.6, 54.7]))
    with pytest.raises(DataError, match="column 'lat_deg' has 2 rows"):
        mgr.step(short, ev, pic, T0)
    # nothing was half-done (not even the clock): the good tables still raise the alert
    assert mgr.step(tracks, ev, pic, T0)["alert_id"].tolist() == [1]


def test_bad_rows_are_refused_counted_and_kept() -> None:
    mgr = AlertManager(RULES)
    rows = [track_row(1, math.nan), track_row(2, status="flying"), track_row(3),
            track_row(4, lat=math.nan)]
    ev = [event_row("teleport", 3), event_row("border_entry", 3, T0 - 0.5)]
    out = step(mgr, T0, rows, [picture_row(k) for k in (1, 2, 3, 4)], ev)
    assert out["track_id"].tolist() == [3]
    assert out["crossing_time"][0] == T0 - 0.5            # the good event was used
    assert sum(mgr.stats.refused.values()) == 4
    reasons = {(q["table"], q["row"]): q["reason"] for q in mgr.quarantine}
    assert reasons[("track", 0)] == "time is not finite"
    assert reasons[("track", 1)].startswith("status is not one of tentative")
    assert reasons[("track", 3)] == "lat_deg is not a latitude"
    assert reasons[("event", 0)].startswith("kind is not one of border_entry")


def test_time_must_not_go_back() -> None:
    mgr = AlertManager(RULES)
    step(mgr, T0 + 10, [track_row(1, T0 + 10)], [picture_row(1)])
    with pytest.raises(DataError, match="before the previous step"):
        step(mgr, T0 + 5, [track_row(1, T0 + 5)], [picture_row(1)])
    with pytest.raises(DataError, match="finite"):
        step(mgr, math.nan, [], [])


def test_latest_row_of_a_track_counts() -> None:
    mgr = AlertManager(RULES)
    rows = [track_row(1, T0 + 0.8, lat=54.70), track_row(1, T0 + 0.2, lat=54.65)]
    out = step(mgr, T0 + 1, rows, [picture_row(1)])
    assert out["lat_deg"][0] == pytest.approx(54.70, abs=1e-6)
    # shown where it is at the step's time: carried 0.2 s west at 46 m/s (9.2 m)
    moved = (25.9 - out["lon_deg"][0]) * 111_320.0 * math.cos(math.radians(54.70))
    assert moved == pytest.approx(9.2, abs=0.1)
    # and a deleted row among a track's rows ends it: its alert resolves as lost
    rows = [track_row(1, T0 + 2, lat=54.71), track_row(1, T0 + 2, status="deleted")]
    step(mgr, T0 + 2, rows, [picture_row(1)])
    outs = [step(mgr, T0 + k, [], []) for k in range(3, 70)]
    done = cat(outs)
    assert done["state"].tolist() == ["resolved"]
    assert done["time"][0] == pytest.approx(T0 + 2 + RULES.merge.time_s + 1)


# ------------------------------------------------------------------ events alone
def test_events_drive_the_lifecycle_without_a_picture() -> None:
    """With no picture (the engine lags or is absent) the events alone raise, escalate
    and resolve: entry raises with the event's crossing, a zone_approach escalates, an
    exit followed by a re-entry keeps the alert, an exit for good resolves it."""
    mgr = AlertManager(RULES)

    def at(k: float, *events: dict) -> dict[str, np.ndarray]:
        return mgr.step(table([track_row(1, T0 + k)], TRACK_DTYPES),
                        table(list(events), EVENT_COLUMNS), None, T0 + k)

    r0 = at(1, event_row("border_entry", 1, T0 + 0.4, lat=54.61))
    assert r0["kind"].tolist() == ["incursion"] and r0["crossing_time"][0] == T0 + 0.4
    assert r0["message"][0] == ("Drone (fixed-wing, p=0.97) crossed from BY at 54.61N "
                                "26.00E, heading 270°, 46 m/s")
    r1 = at(2, event_row("zone_approach", 1, T0 + 2, zone=ZONE_ID, ttz=300.0))
    assert r1["state"].tolist() == ["escalated"]
    assert r1["message"][0].startswith(f"ESCALATED ({ZONE_ID} in 5 min)")
    at(10, event_row("border_exit", 1, T0 + 10, country_from="LT", country_to="BY"))
    outs = [at(k) for k in range(11, 60)]
    outs.append(at(60, event_row("border_entry", 1, T0 + 60)))
    outs += [at(k) for k in range(61, 70)]
    outs.append(at(70, event_row("border_exit", 1, T0 + 70, country_to="BY")))
    outs += [at(k) for k in range(71, 300)]
    out = cat(outs)
    res = out["state"] == "resolved"
    assert set(out["alert_id"].tolist()) == {1} and res.sum() == 1
    assert out["time"][res][0] == T0 + 70 + RULES.resolve.after_exit_s
    assert out["message"][res][0].startswith("Resolved (left to BY)")


def test_a_track_that_was_there_before_the_loss_does_not_join(scene: Scene) -> None:
    """A drone track flying just outside the border beside the alerted one (no alert of
    its own) is within the distance gate when the alerted track is lost, but it was
    seen long before: it is another target, not the lost one re-found."""
    scene.add(Flyer(1, 54.6, BORDER_LON - 0.004, ve=0.0, vn=30.0))        # 260 m inside
    scene.add(Flyer(3, 54.6, BORDER_LON + 0.004, ve=0.0, vn=30.0, cls="drone_rotary",
                    prob=0.9))                                             # 260 m outside
    mgr = AlertManager(RULES)
    out = run(mgr, scene, 60)
    assert set(out["track_id"].tolist()) == {1}
    scene.delete(1)
    out = cat([out, run(mgr, scene, 100)])
    assert mgr.stats.merged == 0 and set(out["track_ids"].tolist()) == {"1"}
    assert out["state"][-1] == "resolved"


def test_a_late_border_event_places_the_crossing_of_an_alert_raised_from_the_picture() -> None:
    """A track just inside with no border event yet waits for it (found_inside_min_depth_m);
    deeper, it raises at once, and a border_entry that comes later fills the crossing in."""
    mgr = AlertManager(RULES)
    shallow = RULES.threat.found_inside_min_depth_m - 50.0
    assert step(mgr, T0, [track_row(1, T0)], [picture_row(1, depth=shallow)])[
        "alert_id"].size == 0
    r0 = step(mgr, T0 + 1, [track_row(1, T0 + 1)], [picture_row(1, depth=shallow + 100.0)])
    assert r0["state"].tolist() == ["raised"] and np.isnan(r0["crossing_time"][0])
    assert r0["message"][0].startswith("Drone (fixed-wing, p=0.97) found inside LT at")
    r1 = step(mgr, T0 + 2, [track_row(1, T0 + 2)], [picture_row(1, depth=shallow + 150.0)],
              [event_row("border_entry", 1, T0 + 0.5, lat=54.58)])
    assert r1["alert_id"].tolist() == [1] and r1["revision"].tolist() == [1]
    assert r1["crossing_time"][0] == T0 + 0.5 and r1["country_from"][0] == "BY"
    assert r1["message"][0].startswith("Drone (fixed-wing, p=0.97) crossed from BY at 54.58N")
    assert r1["message"][0].endswith("(crossing placed)")


def test_the_engine_name_of_the_threatened_zone_is_read() -> None:
    """``AirspaceEngine.picture()`` names the zone ``threatened_zone_id``."""
    pic = table([picture_row(1, zone=ZONE_ID, ttz=900.0, ttz_sigma=60.0, dist=30_000.0)],
                PICTURE_DTYPES)
    pic["threatened_zone_id"] = pic.pop("zone_id")
    out = AlertManager(RULES).step(table([track_row(1)], TRACK_DTYPES), None, pic, T0)
    assert out["zone_id"].tolist() == [ZONE_ID] and out["time_to_zone_s"][0] == 900.0
    assert threat_score(table([track_row(1)], TRACK_DTYPES), pic, RULES)[0] == pytest.approx(
        out["threat_score"][0])


# ------------------------------------------------------------------ predicted entries
def _entry(track_id: int, t: float, depth: float) -> dict:
    return {**event_row("border_entry", track_id, t - 0.4), "detected_time": t, "depth_m": depth}


def test_a_predicted_entry_raises_from_the_tracks_remembered_row() -> None:
    """The airspace engine declares the entry of a drone its radar missed at the line
    (a prediction to the clock): the step has the event but no row of the track.  The
    manager raises from the drone's last row, with the event's crossing and depth; a
    bird's last row, a track it never saw near the border and a row too old raise
    nothing."""
    mgr = AlertManager(RULES)
    rows = [track_row(1, T0, lon=26.0005), track_row(2, T0, lon=26.0006, cls="bird", prob=0.9),
            track_row(4, T0, lon=26.0005)]
    pics = [picture_row(1, depth=-30.0), picture_row(2, depth=-40.0),
            picture_row(4, depth=-30.0)]
    assert step(mgr, T0, rows, pics)["alert_id"].size == 0
    # track 4 is seen again, deep outside: it is no longer remembered near the border
    assert step(mgr, T0 + 0.5, [track_row(4, T0 + 0.5, lon=26.1)],
                [picture_row(4, depth=-6000.0)])["alert_id"].size == 0
    out = step(mgr, T0 + 1.5, [], [],
               [_entry(1, T0 + 1.5, 45.0), _entry(2, T0 + 1.5, 20.0), _entry(3, T0 + 1.5, 30.0),
                _entry(4, T0 + 1.5, 30.0)])
    assert out["track_id"].tolist() == [1] and out["state"][0] == "raised"
    assert out["kind"][0] == "incursion" and out["class"][0] == "drone_fixed_wing"
    assert out["crossing_time"][0] == pytest.approx(T0 + 1.1)
    assert out["country_from"][0] == "BY"
    assert out["message"][0].startswith("Drone (fixed-wing, p=0.97) crossed from BY")
    assert mgr.stats.recalled == 2 and mgr.stats.raised["incursion"] == 1
    # its next real row, inside, continues the same alert (no second raise)
    again = step(mgr, T0 + 2.0, [track_row(1, T0 + 2.0, lon=25.999)],
                 [picture_row(1, depth=60.0)])
    assert set(again["alert_id"].tolist()) <= {1} and mgr.stats.raised["incursion"] == 1
    # a remembered row older than 10 s is not used
    late = AlertManager(RULES)
    step(late, T0, [track_row(1, T0, lon=26.0005)], [picture_row(1, depth=-30.0)])
    assert step(late, T0 + 11.0, [], [], [_entry(1, T0 + 11.0, 45.0)])["alert_id"].size == 0
    assert late.stats.recalled == 0


def test_a_predicted_entry_of_a_track_just_over_the_line_raises_too() -> None:
    """Its last row was already over the line (within the engine's margin, not yet
    decisively inside): it is remembered as well."""
    mgr = AlertManager(RULES)
    assert step(mgr, T0, [track_row(5, T0, lon=25.9997)],
                [picture_row(5, depth=20.0)])["alert_id"].size == 0
    out = step(mgr, T0 + 1.5, [], [], [_entry(5, T0 + 1.5, 70.0)])
    assert out["track_id"].tolist() == [5] and out["kind"][0] == "incursion"
