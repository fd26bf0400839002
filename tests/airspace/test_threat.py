"""Threat score (properties of the formula), who may alert, priority bands, and the rules
file (defaults and errors naming the file and the key)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from skyfence.airspace.rules import RulesConfig, default_rules_path, load_rules
from skyfence.airspace.threat import (
    alerting_class,
    is_threat,
    priority_band,
    score_arrays,
    threat_score,
)
from skyfence.errors import ConfigError, DataError
from skyfence.model.schema import CLASSIFY_CLASSES

from .conftest import PICTURE_DTYPES, TRACK_DTYPES, picture_row, table, track_row

RULES = load_rules()
N = 4_000
DRONES = ("drone_fixed_wing", "drone_rotary")


def _random_rows(rng: np.random.Generator, n: int = N) -> tuple[dict, dict]:
    """Random but plausible aligned track and picture columns."""
    p = rng.dirichlet(np.full(len(CLASSIFY_CLASSES), 0.7), n)
    cols = {f"p_{c}": p[:, k] for k, c in enumerate(CLASSIFY_CLASSES)}
    speed = rng.uniform(0.0, 80.0, n)
    course = rng.uniform(0.0, 2 * np.pi, n)
    cols |= {
        "track_id": np.arange(n, dtype=np.int64),
        "vel_east_mps": speed * np.sin(course), "vel_north_mps": speed * np.cos(course),
        "class": np.array(CLASSIFY_CLASSES)[p.argmax(1)], "class_prob": p.max(1),
        "cooperative_id": np.where(rng.random(n) < 0.2, "4b1234", ""),
        "spoofed": rng.random(n) < 0.1,
    }
    dist = rng.uniform(0.0, 60_000.0, n)
    closing = speed * rng.uniform(0.0, 1.0, n)
    ttz = np.where(rng.random(n) < 0.7, dist / np.maximum(closing, 0.5), np.nan)
    pic = {
        "track_id": cols["track_id"], "country": np.full(n, "LT"),
        "depth_m": rng.uniform(-20_000.0, 40_000.0, n),
        "in_zone": np.where(rng.random(n) < 0.05, "z", ""),
        "zone_id": np.where(np.isfinite(ttz), "z", ""),
        "time_to_zone_s": ttz, "time_to_zone_sigma_s": 0.1 * np.nan_to_num(ttz),
        "distance_to_zone_m": np.where(np.isfinite(ttz), dist, np.nan),
    }
    return cols, pic


def _score(cols: dict, pic: dict, rules: RulesConfig = RULES) -> np.ndarray:
    return score_arrays(cols, pic, rules.threat)


def test_scores_are_in_range_and_order_the_classes() -> None:
    rows = [track_row(1, cls="drone_fixed_wing", prob=0.97),
            track_row(2, cls="drone_rotary", prob=0.97),
            track_row(3, cls="balloon", prob=0.97, ve=-5.0),
            track_row(4, cls="bird", prob=0.97, ve=-12.0),
            track_row(5, cls="aircraft", prob=0.97, ve=-220.0, coop="4b1234"),
            track_row(6, cls="", prob=math.nan)]
    pic = [picture_row(k, depth=3_000.0, zone="z", ttz=700.0, ttz_sigma=60.0,
                       dist=32_000.0) for k in range(1, 7)]
    s = threat_score(table(rows, TRACK_DTYPES), table(pic, PICTURE_DTYPES), RULES)
    assert s.shape == (6,) and np.all((s >= 0) & (s <= 1)) and np.all(np.isfinite(s))
    drone, rotary, balloon, bird, airliner, unknown = s
    assert drone > balloon > bird and rotary > balloon
    assert bird < 0.05 and airliner < 0.05
    assert 0.3 < unknown < drone          # not yet classified: neither ignored nor a drone


def test_score_follows_the_documented_formula() -> None:
    """One row worked by hand from the module docstring's formula."""
    r = RULES.threat
    row = track_row(1, cls="drone_fixed_wing", prob=0.9, ve=-30.0, vn=40.0)   # 50 m/s
    pic = picture_row(1, depth=5_000.0, zone="z", ttz=1_000.0, ttz_sigma=100.0, dist=40_000.0)
    got = threat_score(table([row], TRACK_DTYPES), table([pic], PICTURE_DTYPES), RULES)[0]
    cw = r.class_weights
    ident = 0.9 * cw.drone_fixed_wing + 0.02 * (cw.drone_rotary + cw.bird + cw.aircraft
                                                + cw.balloon + cw.clutter)
    f_speed = min(50.0 / r.speed_ref_mps, 1.0)
    f_head = min((40_000.0 / 1_000.0) / 50.0, 1.0)
    f_time = math.exp(-(1_000.0 - r.time_to_zone_sigmas * 100.0) / r.time_to_zone_scale_s)
    f_depth = 5_000.0 / r.depth_ref_m
    w = r.weights
    kin = (w.speed * f_speed + w.heading * f_head + w.time_to_zone * f_time
           + w.depth * f_depth) / (w.speed + w.heading + w.time_to_zone + w.depth + w.in_zone)
    assert got == pytest.approx(ident * (r.base + (1 - r.base) * kin), rel=1e-12)


def test_more_drone_like_is_never_lower() -> None:
    rng = np.random.default_rng(1)
    cols, pic = _random_rows(rng)
    before = _score(cols, pic)
    # move a random share of a random non-drone class onto a random drone class
    src = rng.choice([c for c in CLASSIFY_CLASSES if c not in DRONES], N)
    dst = rng.choice(DRONES, N)
    share = rng.uniform(0.0, 1.0, N)
    moved = {k: v.copy() for k, v in cols.items()}
    for c in CLASSIFY_CLASSES:
        take = (src == c) * share * cols[f"p_{c}"]
        moved[f"p_{c}"] = moved[f"p_{c}"] - take
        for d in DRONES:
            moved[f"p_{d}"] = moved[f"p_{d}"] + np.where(dst == d, take, 0.0)
    after = _score(moved, pic)
    assert np.all(after >= before - 1e-12)
    assert np.mean(after > before + 1e-6) > 0.5        # and it usually rises


def test_shorter_time_to_zone_is_never_lower() -> None:
    rng = np.random.default_rng(2)
    cols, pic = _random_rows(rng)
    before = _score(cols, pic)
    sooner = dict(pic)
    sooner["time_to_zone_s"] = pic["time_to_zone_s"] * rng.uniform(0.05, 1.0, N)
    after = _score(cols, sooner)
    assert np.all(after >= before - 1e-12)
    approaching = np.isfinite(pic["time_to_zone_s"]) & (pic["in_zone"] == "")
    assert np.mean(after[approaching] > before[approaching] + 1e-9) > 0.5


def test_deeper_inside_and_faster_on_the_same_heading_are_never_lower() -> None:
    rng = np.random.default_rng(3)
    cols, pic = _random_rows(rng)
    before = _score(cols, pic)
    deeper = dict(pic, depth_m=pic["depth_m"] + rng.uniform(0.0, 20_000.0, N))
    assert np.all(_score(cols, deeper) >= before - 1e-12)
    # k times faster on the same course reaches the zone k times sooner: the heading
    # term (closing speed over speed) is unchanged
    k = rng.uniform(1.0, 3.0, N)
    faster = dict(cols, vel_east_mps=cols["vel_east_mps"] * k,
                  vel_north_mps=cols["vel_north_mps"] * k)
    sooner = dict(pic, time_to_zone_s=pic["time_to_zone_s"] / k)
    assert np.all(_score(faster, sooner) >= before - 1e-12)


def test_cooperative_identity_lowers_and_spoofing_raises() -> None:
    rng = np.random.default_rng(4)
    cols, pic = _random_rows(rng)
    plain = dict(cols, cooperative_id=np.full(N, ""), spoofed=np.zeros(N, bool))
    coop = dict(plain, cooperative_id=np.full(N, "RID-1581F4"))
    spoofed = dict(coop, spoofed=np.ones(N, bool))
    s_plain, s_coop, s_spoof = _score(plain, pic), _score(coop, pic), _score(spoofed, pic)
    assert np.all(s_coop <= s_plain + 1e-12) and np.all(s_spoof >= s_plain - 1e-12)
    assert np.all(s_coop < s_plain) and np.all(s_spoof > s_coop)


def test_picture_is_matched_by_track_id_and_may_lack_tracks() -> None:
    rows = [track_row(k, ve=-10.0 * k) for k in (5, 9, 2)]
    pics = [picture_row(9, depth=8_000.0, zone="z", ttz=100.0, ttz_sigma=5.0, dist=9_000.0),
            picture_row(2, depth=-4_000.0), picture_row(5, depth=1_000.0)]
    tracks = table(rows, TRACK_DTYPES)
    shuffled = threat_score(tracks, table(pics, PICTURE_DTYPES), RULES)
    aligned = threat_score(tracks, table([pics[2], pics[0], pics[1]], PICTURE_DTYPES), RULES)
    np.testing.assert_array_equal(shuffled, aligned)
    # a track the picture lacks scores on identity and speed alone, like one far outside
    partial = threat_score(tracks, table(pics[:2], PICTURE_DTYPES), RULES)
    far_out = threat_score(tracks, table([*pics[:2], picture_row(5, depth=-50_000.0)],
                                         PICTURE_DTYPES), RULES)
    assert partial[0] == pytest.approx(far_out[0])
    assert np.all(np.isfinite(threat_score(tracks, None, RULES)))


def test_missing_column_is_a_data_error_naming_it() -> None:
    tracks = table([track_row(1)], TRACK_DTYPES)
    del tracks["p_bird"]
    with pytest.raises(DataError, match="track table has no column 'p_bird'"):
        threat_score(tracks, None, RULES)
    pic = table([picture_row(1)], PICTURE_DTYPES)
    del pic["depth_m"]
    with pytest.raises(DataError, match="picture table has no column 'depth_m'"):
        threat_score(table([track_row(1)], TRACK_DTYPES), pic, RULES)
    bad = table([track_row(1), track_row(2)], TRACK_DTYPES)
    bad["class_prob"] = np.array(["high", "low"])
    with pytest.raises(DataError, match="column 'class_prob' cannot be read as float64"):
        threat_score(bad, None, RULES)


def test_who_may_alert() -> None:
    cls = np.array(["drone_rotary", "bird", "bird", "aircraft", "", "balloon", "clutter",
                    "drone_fixed_wing", "zeppelin"])
    prob = np.array([0.9, 0.9, 0.3, 0.99, np.nan, 0.8, 0.9, 0.45, 0.9])
    got = alerting_class(cls, prob, RULES)
    # a confident bird/aircraft/clutter never; an unsure bird is "unknown" and may
    np.testing.assert_array_equal(got, [True, False, True, False, True, True, False, True,
                                        True])
    strict = RulesConfig.model_validate({"threat": {"alert_classes": ["drone_rotary"]}})
    np.testing.assert_array_equal(alerting_class(cls, prob, strict),
                                  [True] + [False] * 8)
    score = np.full(cls.size, RULES.threat.min_score)
    score[0] = RULES.threat.min_score - 1e-9
    np.testing.assert_array_equal(is_threat(cls, prob, score, RULES), [False, *got[1:]])


def test_priority_bands() -> None:
    t1, t2, t3 = RULES.priority.thresholds
    s = np.array([1.0, t1, t1 - 1e-9, t2, t3, t3 - 1e-9, 0.0, np.nan])
    np.testing.assert_array_equal(priority_band(s, RULES), [1, 1, 2, 2, 3, 4, 4, 4])
    assert priority_band(t1 - 0.01, RULES, margin=0.02) == 1


# ------------------------------------------------------------------------ rules file
def test_shipped_rules_are_the_defaults() -> None:
    assert default_rules_path().is_file()
    assert load_rules() == RulesConfig()
    assert load_rules(default_rules_path()) == RulesConfig()


def test_partial_rules_file_keeps_the_other_defaults(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[merge]\ntime_s = 90.0\n\n[threat.class_weights]\nballoon = 0.7\n")
    rules = load_rules(path)
    assert rules.merge.time_s == 90.0 and rules.threat.class_weights.balloon == 0.7
    assert rules.merge.distance_m == RulesConfig().merge.distance_m


@pytest.mark.parametrize(("body", "key", "words"), [
    ("[merge]\ndistance_km = 1.5\n", "merge.distance_km", "did you mean 'distance_m'"),
    ("[threat]\nmin_scor = 0.3\n", "threat.min_scor", "did you mean 'min_score'"),
    ("[threat]\nmin_score = \"high\"\n", "threat.min_score", "valid number"),
    ("[threat]\nmin_score = 1.5\n", "threat.min_score", "less than or equal to 1"),
    ("[resolve]\nafter_exit_s = \"2 min\"\n", "resolve.after_exit_s",
     "expected a plain number in seconds"),
    ("[priority]\nthresholds = [0.4, 0.6, 0.8]\n", "priority.thresholds",
     "strictly decreasing"),
    ("[priority]\nthresholds = 0.5\n", "priority.thresholds", "valid"),
    ("[threat]\nalert_classes = [\"drone\"]\n", "threat.alert_classes", "'drone' is not one"),
    ("[threat.class_weights]\nbird = 1.0\ndrone_rotary = 0.5\n", "threat.class_weights",
     "drone weights"),
    ("[escalation]\non_zone_entry = \"sometimes\"\n", "escalation.on_zone_entry",
     "valid boolean"),
    ("[alerts]\nx = 1\n", "alerts", "unknown key"),
])
def test_rules_errors_name_file_and_key(tmp_path: Path, body: str, key: str,
                                        words: str) -> None:
    path = tmp_path / "my-rules.toml"
    path.write_text(body)
    with pytest.raises(ConfigError) as err:
        load_rules(path)
    assert err.value.key == key
    assert err.value.file == str(path)
    assert words in err.value.message
    assert "my-rules.toml" in str(err.value)


def test_rules_file_missing_or_not_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[threat\nmin_score = 0.2\n")
    with pytest.raises(ConfigError, match="bad.toml: is not valid TOML"):
        load_rules(bad)


def test_alert_probability_sums_the_alert_classes_normalised() -> None:
    from skyfence.airspace.threat import alert_probability, sure_enough

    p = {f"p_{c}": np.array([0.0, 0.0, np.nan]) for c in CLASSIFY_CLASSES}
    p["p_drone_fixed_wing"] = np.array([0.4, 0.2, np.nan])
    p["p_drone_rotary"] = np.array([0.3, 0.2, np.nan])
    p["p_bird"] = np.array([0.1, 0.6, np.nan])
    p["p_balloon"] = np.array([0.2, 0.0, np.nan])   # row 0 sums to 1; row 1 to 1.0 too
    got = alert_probability(p, RULES)
    assert got[0] == pytest.approx(0.9) and got[1] == pytest.approx(0.4)
    assert np.isnan(got[2])
    # halving every probability of a row changes nothing (normalised)
    half = {k: v * 0.5 for k, v in p.items()}
    np.testing.assert_allclose(alert_probability(half, RULES), got)
    assert sure_enough(p, RULES).tolist() == [True, False, True]   # NaN: judged by class
