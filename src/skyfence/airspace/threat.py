"""Threat score of tracks (0 … 1), who may alert, and the priority bands; vectorised.

The score
---------
For each track row, with the class probabilities ``p_c`` of ``CLASSIFY_CLASSES``
(NaN read as 0) normalised to sum to one, and the rules' ``[threat]`` table::

    identity  I = Σ_c w_c p_c                          (w: threat.class_weights)
                  = w_unknown                          when no probability is given
    cooperative   I ← I × cooperative_factor           (an ADS-B / Remote ID identity, not spoofed)
    spoofed       I ← I + spoofed_boost × (1 − I)      (a spoofed identity raises it)

    speed     f_s = min(v / speed_ref_mps, 1)          v: ground speed, m/s
    heading   f_h = min(c / v, 1)                      c = distance_to_zone / time_to_zone:
                                                       the closing speed on the nearest zone
                                                       (the cosine of the angle off it); 0
                                                       when not approaching any zone
    time      f_t = exp(−max(ttz − k σ, 0) / scale)    ttz, σ: time to zone and its 1-sigma;
                                                       k = time_to_zone_sigmas; 0 when none
    depth     f_d = clip(depth_m / depth_ref_m, 0, 1)  inside the home country only
    zone      f_z = 1 inside a zone, else 0            (f_h = f_t = 1 too inside a zone)

    K = Σ_j a_j f_j / Σ_j a_j                          (a: threat.weights)
    score = I × (base + (1 − base) × K)                ∈ [0, 1]

Monotonicity (the properties the tests check): the score never decreases when
probability moves from any class to a drone class (the drone weights are the largest,
checked by the rules), when the time to zone shrinks at a fixed distance (both ``f_t``
and the closing speed grow), when the track goes deeper inside, nor with speed at a
fixed heading term; a cooperative identity never raises it and a spoofed one never
lowers it.  With the shipped rules a bird or an ADS-B aircraft classified with
p ≥ 0.9 scores below 0.1 wherever it flies (``min_score`` is 0.15); a sure drone scores
at least ``base`` (0.4).

Who may alert
-------------
A track's *alert class* is its ``class`` when that is one of ``CLASSIFY_CLASSES`` and
``class_prob ≥ min_class_prob``, else ``unknown``.  It is a threat when its alert class
is in ``alert_classes`` and its score is at least ``min_score``
(:func:`alerting_class`, :func:`is_threat`).  To *raise* an alert, the probability that
the track is of one of the alert classes, ``P_alert = Σ_{c ∈ alert_classes} p_c`` over
the normalised class probabilities, must moreover reach ``min_alert_prob``
(:func:`alert_probability`, :func:`sure_enough`): a bird whose class wavers between
"bird" and "drone" at 0.5-0.7 is "unknown" or a drone by its label, but not a drone
one can wake an operator for.  A track with no class probabilities at all (not yet
classified) is judged by its alert class alone.  Joining an open alert (a re-found
track) needs the alert class only.

Priority
--------
``priority = 1 + (score < t1) + (score < t2) + (score < t3)`` with ``priority.thresholds
= (t1, t2, t3)``: 1 is the highest (:func:`priority_band`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.airspace.rules import RulesConfig, ThreatRules
from skyfence.errors import DataError
from skyfence.model.schema import CLASSIFY_CLASSES

__all__ = [
    "MISSING_ID",
    "PICTURE_ALIASES",
    "PICTURE_COLUMNS",
    "THREAT_TRACK_COLUMNS",
    "align_picture",
    "alert_probability",
    "alerting_class",
    "is_threat",
    "priority_band",
    "read_columns",
    "score_arrays",
    "threat_score",
]

Table = Mapping[str, ArrayLike]

#: columns of the airspace engine's per-track picture this module reads
PICTURE_COLUMNS: dict[str, str] = {
    "track_id": "int64",
    "country": "str",                  # ISO code of the country under the track, or ""
    "depth_m": "float64",              # signed distance to the home border, + inside
    "in_zone": "str",                  # zone the track is in, or ""
    "zone_id": "str",                  # nearest threatened zone, or ""
    "time_to_zone_s": "float64",       # NaN when not approaching a zone
    "time_to_zone_sigma_s": "float64",
    "distance_to_zone_m": "float64",
}

#: other names of picture columns, read when the first name is absent:
#: ``AirspaceEngine.picture()`` calls the nearest threatened zone ``threatened_zone_id``
PICTURE_ALIASES: dict[str, str] = {"zone_id": "threatened_zone_id"}

#: columns of track rows the score reads (classify's columns included)
THREAT_TRACK_COLUMNS: dict[str, str] = {
    "track_id": "int64",
    "vel_east_mps": "float64",
    "vel_north_mps": "float64",
    "class": "str",
    "class_prob": "float64",
    **{f"p_{c}": "float64" for c in CLASSIFY_CLASSES},
    "cooperative_id": "str",
    "spoofed": "bool",
}

#: an integer cell that was NaN or empty in the input (the alert manager refuses the row)
MISSING_ID = np.iinfo(np.int64).min

_TRUE = frozenset({"true", "1", "yes", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "f", "n", ""})


# --------------------------------------------------------------------------- columns
def read_columns(table: Table | None, columns: Mapping[str, str], which: str,
                 optional: bool = False) -> dict[str, np.ndarray]:
    """The named columns of a table as 1-D arrays of their schema dtype.

    Parameters
    ----------
    table : mapping of str to array_like, or None
        Structure-of-arrays table; extra columns are ignored.
    columns : mapping of str to str
        Column name → schema dtype (``float64``, ``int64``, ``str``, ``bool``).
    which : str
        Name of the table in error messages (``"track"``, ``"event"``, ``"picture"``).
    optional : bool
        Accept ``None`` or a table with no columns at all as a table of zero rows.

    Returns
    -------
    dict of str to ndarray
        One array per column in ``columns``; strings as numpy unicode arrays (``None``
        read as ``""``), booleans from bools, integers or ``true``/``false`` text,
        integers from whole numbers (a NaN cell becomes :data:`MISSING_ID`).  Arrays
        already of the right dtype are not copied.

    Raises
    ------
    DataError
        A column is missing, not 1-D, of another length than the first, or cannot be
        read as its dtype; the message names the table and the column.
    """
    if table is None or (optional and len(table) == 0):
        if table is None and not optional:
            raise DataError(f"{which} table is None; expected a table (dict of columns)")
        return {k: np.empty(0, dtype=str if dt == "str" else dt) for k, dt in columns.items()}
    out: dict[str, np.ndarray] = {}
    n: int | None = None
    first = ""
    for name, dt in columns.items():
        if name not in table:
            have = ", ".join(sorted(table)) or "none"
            raise DataError(f"{which} table has no column '{name}' ({dt}); columns: {have}")
        raw = np.asarray(table[name])
        if raw.ndim != 1:
            raise DataError(f"{which} table column '{name}' must be 1-D, got shape {raw.shape}")
        if n is None:
            n, first = raw.shape[0], name
        elif raw.shape[0] != n:
            raise DataError(f"{which} table column '{name}' has {raw.shape[0]} rows, "
                            f"column '{first}' has {n}")
        out[name] = _convert(raw, dt, which, name)
    return out


def _convert(raw: np.ndarray, dt: str, which: str, name: str) -> np.ndarray:
    try:
        if dt == "str":
            if raw.dtype.kind == "U":
                return raw
            if raw.dtype.kind == "O":
                return np.array(["" if v is None else str(v) for v in raw.tolist()], dtype=str)
            return raw.astype(str)
        if dt == "bool":
            if raw.dtype.kind == "b":
                return raw
            if raw.dtype.kind in "iu":
                return raw.astype(bool)
            text = np.char.lower(np.char.strip(raw.astype(str)))
            bad = ~(np.isin(text, list(_TRUE)) | np.isin(text, list(_FALSE)))
            if bad.any():
                raise ValueError(f"row {int(np.flatnonzero(bad)[0])} is {raw[bad][0]!r}")
            return np.isin(text, list(_TRUE))
        if dt == "int64":
            if raw.dtype.kind in "iub":
                return np.asarray(raw, np.int64)
            f = raw.astype(np.float64)
            ok = np.isfinite(f)
            if not np.array_equal(f[ok], np.round(f[ok])):
                raise ValueError("holds fractions")
            return np.where(ok, f, MISSING_ID).astype(np.int64)
        return np.asarray(raw, np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{which} table column '{name}' cannot be read as {dt} "
                        f"({exc})") from None


def align_picture(picture: Table | None, track_id: NDArray[np.int64]) -> dict[str, np.ndarray]:
    """The airspace picture's rows for each track row, matched by ``track_id``.

    Parameters
    ----------
    picture : table or None
        The airspace engine's per-track picture (:data:`PICTURE_COLUMNS`; a column
        may come under its name in :data:`PICTURE_ALIASES`); None or an empty table: no
        picture.
    track_id : ndarray of int64
        Track ids of the rows to align to.

    Returns
    -------
    dict of str to ndarray
        The picture columns, one value per track row (NaN or ``""`` where the picture
        has no row for the track; the last row wins for a repeated id), and ``"found"``
        (bool): the picture has the track.
    """
    if picture is not None:
        missing = {k: v for k, v in PICTURE_ALIASES.items() if k not in picture and v in picture}
        if missing:
            picture = {**picture, **{k: picture[v] for k, v in missing.items()}}
    pic = read_columns(picture, PICTURE_COLUMNS, "picture", optional=True)
    n = track_id.shape[0]
    pid = pic["track_id"]
    if pid.shape[0] == n and np.array_equal(pid, track_id):
        return {**pic, "found": np.ones(n, bool)}
    out: dict[str, np.ndarray] = {}
    if pid.size:
        order = np.argsort(pid, kind="stable")
        sid = pid[order]
        last = np.ones(sid.size, bool)
        last[:-1] = sid[1:] != sid[:-1]          # the last row of each repeated id
        order, sid = order[last], sid[last]
        pos = np.minimum(np.searchsorted(sid, track_id), sid.size - 1)
        found = sid[pos] == track_id
        src = order[pos]
    else:
        found = np.zeros(n, bool)
        src = np.zeros(n, np.intp)
    for name, dt in PICTURE_COLUMNS.items():
        col = pic[name]
        if dt == "str":
            out[name] = np.where(found, col[src], "") if col.size else np.full(n, "")
        elif dt == "float64":
            out[name] = np.where(found, col[src], np.nan) if col.size else np.full(n, np.nan)
    out["track_id"] = np.asarray(track_id, np.int64)
    out["found"] = found
    return out


# --------------------------------------------------------------------------- score
def score_arrays(cols: Mapping[str, np.ndarray], pic: Mapping[str, np.ndarray],
                 rules: ThreatRules) -> NDArray[np.float64]:
    """The threat score of aligned arrays (the formula of the module docstring).

    Parameters
    ----------
    cols : mapping of str to ndarray
        Track columns of :data:`THREAT_TRACK_COLUMNS` (velocities m/s, probabilities
        0 … 1), as read by :func:`read_columns`.
    pic : mapping of str to ndarray
        Picture columns aligned to the same rows (:func:`align_picture`): ``depth_m``
        (m), ``in_zone``, ``time_to_zone_s`` and ``time_to_zone_sigma_s`` (s),
        ``distance_to_zone_m`` (m).
    rules : ThreatRules
        The ``[threat]`` rules.

    Returns
    -------
    ndarray of float64
        Score per row, 0 … 1 (never NaN).
    """
    cw = rules.class_weights
    n = np.asarray(cols["vel_east_mps"]).shape[0]
    # identity factor
    p = np.empty((len(CLASSIFY_CLASSES), n))
    for k, c in enumerate(CLASSIFY_CLASSES):
        p[k] = cols[f"p_{c}"]
    p = np.where(np.isfinite(p), np.clip(p, 0.0, 1.0), 0.0)
    total = p.sum(axis=0)
    known = total > 0.0
    w = np.array([getattr(cw, c) for c in CLASSIFY_CLASSES])
    ident = np.where(known, (w @ p) / np.where(known, total, 1.0), cw.unknown)
    spoof = np.asarray(cols["spoofed"], bool)
    coop = (np.asarray(cols["cooperative_id"]) != "") & ~spoof
    ident = np.where(coop, ident * rules.cooperative_factor, ident)
    ident = np.where(spoof, ident + rules.spoofed_boost * (1.0 - ident), ident)

    # kinematic terms
    speed = np.hypot(cols["vel_east_mps"], cols["vel_north_mps"])
    speed = np.where(np.isfinite(speed), speed, 0.0)
    f_speed = np.minimum(speed / rules.speed_ref_mps, 1.0)
    in_zone = np.asarray(pic["in_zone"]) != ""
    ttz = np.asarray(pic["time_to_zone_s"], np.float64)
    sig = np.asarray(pic["time_to_zone_sigma_s"], np.float64)
    dist = np.asarray(pic["distance_to_zone_m"], np.float64)
    approaching = np.isfinite(ttz) & (ttz >= 0.0)
    sig = np.where(np.isfinite(sig) & (sig > 0.0), sig, 0.0)
    ttz_eff = np.maximum(np.where(approaching, ttz, 0.0) - rules.time_to_zone_sigmas * sig, 0.0)
    f_time = np.where(approaching, np.exp(-ttz_eff / rules.time_to_zone_scale_s), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        closing = np.where(approaching & np.isfinite(dist),
                           np.where(ttz > 0.0, np.maximum(dist, 0.0) / ttz, np.inf), 0.0)
        f_head = np.where(closing > 0.0, np.minimum(closing / np.maximum(speed, 0.1), 1.0),
                          0.0)
    f_head = np.where(approaching & np.isfinite(dist) & (dist <= 0.0), 1.0, f_head)
    f_time = np.where(in_zone, 1.0, f_time)
    f_head = np.where(in_zone, 1.0, f_head)
    depth = np.asarray(pic["depth_m"], np.float64)
    f_depth = np.where(np.isfinite(depth), np.clip(depth / rules.depth_ref_m, 0.0, 1.0), 0.0)
    a = rules.weights
    kin = (a.speed * f_speed + a.heading * f_head + a.time_to_zone * f_time
           + a.depth * f_depth + a.in_zone * in_zone)
    kin /= a.speed + a.heading + a.time_to_zone + a.depth + a.in_zone
    score = ident * (rules.base + (1.0 - rules.base) * kin)
    return np.clip(score, 0.0, 1.0)


def threat_score(tracks: Table, picture: Table | None,
                 rules: RulesConfig) -> NDArray[np.float64]:
    """Threat score of each track row, 0 … 1 (formula in the module docstring).

    Parameters
    ----------
    tracks : table
        Track rows with classify's columns: ``track_id``, ``vel_east_mps``,
        ``vel_north_mps`` (m/s), ``class``, ``class_prob``, ``p_<class>`` for every
        class of ``CLASSIFY_CLASSES``, ``cooperative_id``, ``spoofed``.
    picture : table or None
        The airspace engine's per-track picture, matched to the rows by ``track_id``
        (:data:`PICTURE_COLUMNS`); a track it lacks scores on identity and speed alone.
    rules : RulesConfig
        Alert rules (the ``[threat]`` table is used).

    Returns
    -------
    ndarray of float64
        One score per track row, in the rows' order.

    Raises
    ------
    DataError
        A needed column is missing or unreadable (the message names it).
    """
    cols = read_columns(tracks, THREAT_TRACK_COLUMNS, "track")
    pic = align_picture(picture, cols["track_id"])
    return score_arrays(cols, pic, rules.threat)


def alerting_class(cls: ArrayLike, class_prob: ArrayLike, rules: RulesConfig) -> NDArray[np.bool_]:
    """Whether each row's alert class (its class, or ``unknown``) may alert.

    Parameters
    ----------
    cls : array_like of str
        The ``class`` column.
    class_prob : array_like of float
        The ``class_prob`` column (0 … 1; NaN: unknown).
    rules : RulesConfig
        ``threat.alert_classes`` and ``threat.min_class_prob`` are used.

    Returns
    -------
    ndarray of bool
    """
    cls = np.asarray(cls)
    prob = np.asarray(class_prob, np.float64)
    tr = rules.threat
    labelled = np.zeros(cls.shape, bool)
    ok = np.zeros(cls.shape, bool)
    for c in CLASSIFY_CLASSES:
        eq = cls == c
        labelled |= eq
        if c in tr.alert_classes:
            ok |= eq
    confident = labelled & (prob >= tr.min_class_prob)   # NaN compares False
    ok &= confident
    if "unknown" in tr.alert_classes:
        ok |= ~confident
    return ok


def alert_probability(probs: Mapping[str, ArrayLike], rules: RulesConfig) -> NDArray[np.float64]:
    """Probability that each row is of one of ``threat.alert_classes``, 0 … 1.

    Parameters
    ----------
    probs : mapping of str to array_like
        The ``p_<class>`` columns of :data:`~skyfence.model.schema.CLASSIFY_CLASSES`
        (NaN read as 0); normalised per row.
    rules : RulesConfig

    Returns
    -------
    ndarray of float64
        NaN for a row with no probability at all.
    """
    alert = set(rules.threat.alert_classes)
    total = None
    num = None
    for c in CLASSIFY_CLASSES:
        v = np.asarray(probs[f"p_{c}"], np.float64)
        v = np.where(np.isfinite(v), np.clip(v, 0.0, 1.0), 0.0)
        total = v if total is None else total + v
        if c in alert:
            num = v if num is None else num + v
    assert total is not None
    if num is None:
        num = np.zeros_like(total)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.0, num / total, np.nan)


def sure_enough(probs: Mapping[str, ArrayLike], rules: RulesConfig) -> NDArray[np.bool_]:
    """Rows sure enough of an alert class to raise: :func:`alert_probability` at least
    ``threat.min_alert_prob`` (rows with no probabilities pass: their alert class decides)."""
    p = alert_probability(probs, rules)
    return ~(p < rules.threat.min_alert_prob)   # NaN passes


def is_threat(cls: ArrayLike, class_prob: ArrayLike, score: ArrayLike,
              rules: RulesConfig) -> NDArray[np.bool_]:
    """Rows whose alert class may alert and whose score reaches ``threat.min_score``."""
    return alerting_class(cls, class_prob, rules) & (
        np.asarray(score, np.float64) >= rules.threat.min_score)


def priority_band(score: ArrayLike | float, rules: RulesConfig,
                  margin: float = 0.0) -> NDArray[np.int64]:
    """Priority of threat scores: 1 (highest) … 4, from ``priority.thresholds``.

    Parameters
    ----------
    score : array_like of float
        Threat scores, 0 … 1 (NaN gives 4).
    rules : RulesConfig
        Alert rules.
    margin : float
        Added to the scores before banding (the alert manager's hysteresis).

    Returns
    -------
    ndarray of int64
        The priorities, in ``score``'s shape.
    """
    s = np.asarray(score, np.float64) + margin
    t: Sequence[float] = rules.priority.thresholds
    s = np.where(np.isfinite(s), s, -np.inf)
    return (1 + (s < t[0]).astype(np.int64) + (s < t[1]) + (s < t[2])).astype(np.int64)
