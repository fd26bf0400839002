"""From detection rows to a validated batch in the tracking frame, bad rows quarantined.

A detection row is refused — never silently dropped — when it names an unknown
sensor or kind, lacks the measurement its kind needs, holds an impossible value
(NaN, a negative range, an azimuth outside [0, 360]°, an elevation outside
±90°), is far in the past or the future, or repeats an earlier row exactly.  The
refused row goes to the quarantine with its reason and is counted per sensor;
the rest of the batch goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from skyfence.config.sensors import SensorDeployment
from skyfence.geo.geodesy import geodetic2enu
from skyfence.model.schema import DETECTION_KINDS
from skyfence.track.measurement import enu_rotation, site_position

__all__ = ["KIND_CODE", "RAY_SENSOR_KINDS", "DetectionBatch", "Ingest", "Quarantine"]

KIND_CODE = {k: i for i, k in enumerate(DETECTION_KINDS)}
RADAR3D, RADAR2D, BEARING, BEARING_ELEV, POSITION = range(5)

#: which detection kinds each sensor kind may report
_SENSOR_KINDS = {
    "radar3d": {"radar3d"}, "radar2d": {"radar2d"}, "rf_df": {"bearing"},
    "acoustic": {"bearing", "bearing_elev"}, "eoir": {"bearing_elev", "bearing"},
    "remote_id": {"position"}, "adsb": {"position"},
}
#: sensor kinds that report rays only (bearings, bearings with elevation): no range
RAY_SENSOR_KINDS = frozenset(k for k, kinds in _SENSOR_KINDS.items()
                             if kinds <= {"bearing", "bearing_elev"})
#: measurement columns each kind needs, in the order of ``z``
_NEEDS = {
    "radar3d": ("range_m", "azimuth_deg", "elevation_deg"),
    "radar2d": ("range_m", "azimuth_deg"),
    "bearing": ("azimuth_deg",),
    "bearing_elev": ("azimuth_deg", "elevation_deg"),
    "position": ("lat_deg", "lon_deg", "alt_m"),
}
_SIGMA_OF = {"range_m": "sigma_range_m", "azimuth_deg": "sigma_azimuth_deg",
             "elevation_deg": "sigma_elevation_deg", "lat_deg": "sigma_pos_m",
             "lon_deg": "sigma_pos_m", "alt_m": "sigma_pos_m",
             "radial_velocity_mps": "sigma_radial_velocity_mps"}


@dataclass
class DetectionBatch:
    """Validated detections (structure of arrays), sorted by time.

    ``z`` holds the measurement in the order of the kind's model: radar3d
    [range, azimuth, elevation, radial velocity]; radar2d [range, azimuth, radial
    velocity]; bearing [azimuth]; bearing_elev [azimuth, elevation]; position
    [east, north, up] in the tracking frame.  Angles in radians, NaN padding.
    """

    time: np.ndarray      # (K,)
    sensor: np.ndarray    # (K,) index into the deployment
    kind: np.ndarray      # (K,) KIND_CODE
    z: np.ndarray         # (K, 4)
    sigma: np.ndarray     # (K, 4) 1-sigma of each z component
    has_rv: np.ndarray    # (K,) a radial velocity was measured
    row: np.ndarray       # (K,) index of the source row
    rcs: np.ndarray       # (K,) radar cross-section reported with it, dBsm (NaN if none)
    hint: np.ndarray      # (K,) int64 code of its id_hint (``Ingest.hints``), -1 if none

    def __len__(self) -> int:
        return int(self.time.size)

    def take(self, idx: np.ndarray) -> DetectionBatch:
        return DetectionBatch(self.time[idx], self.sensor[idx], self.kind[idx], self.z[idx],
                              self.sigma[idx], self.has_rv[idx], self.row[idx], self.rcs[idx],
                              self.hint[idx])

    @staticmethod
    def concat(parts: list[DetectionBatch]) -> DetectionBatch:
        return DetectionBatch(*(np.concatenate([getattr(p, f) for p in parts])
                                for f in ("time", "sensor", "kind", "z", "sigma", "has_rv",
                                          "row", "rcs", "hint")))


@dataclass
class Quarantine:
    """Refused rows with their reasons, and counts per sensor and reason."""

    time: list[np.ndarray] = field(default_factory=list)
    sensor_id: list[np.ndarray] = field(default_factory=list)
    kind: list[np.ndarray] = field(default_factory=list)
    row: list[np.ndarray] = field(default_factory=list)
    reason: list[np.ndarray] = field(default_factory=list)
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, time: np.ndarray, sensor_id: np.ndarray, kind: np.ndarray, row: np.ndarray,
            reason: np.ndarray) -> None:
        if row.size == 0:
            return
        self.time.append(time)
        self.sensor_id.append(sensor_id.astype(str))
        self.kind.append(kind.astype(str))
        self.row.append(row)
        self.reason.append(reason.astype(str))
        # count by the reason's first words (the part before a quoted value)
        short = np.char.partition(reason.astype(str), " (")[:, 0]
        self.counts.update(zip(sensor_id.astype(str).tolist(), short.tolist(), strict=True))

    def __len__(self) -> int:
        return int(sum(r.size for r in self.row))

    def table(self) -> dict[str, np.ndarray]:
        def cat(parts: list[np.ndarray], dtype: str | type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

        return {"time": cat(self.time, float), "sensor_id": cat(self.sensor_id, str),
                "kind": cat(self.kind, str), "row": cat(self.row, np.int64),
                "reason": cat(self.reason, str)}


#: distinct strings a column is matched against one by one before the per-row look-up
_FEW_DISTINCT = 8


def _lookup(values: np.ndarray, codes: dict[str, int]) -> np.ndarray:
    """Integer code of each string (-1 when unknown).

    A column holds few distinct strings (a batch is mostly one sensor, one kind):
    each is found with one vectorised comparison of the rows not yet matched; after
    ``_FEW_DISTINCT`` of them the rest are looked up row by row in the dict (which
    still beats sorting strings with ``np.unique`` by an order of magnitude).
    """
    out = np.full(values.size, -1, dtype=np.int64)
    rest = np.arange(values.size)
    left = values
    for _ in range(_FEW_DISTINCT):
        if rest.size == 0:
            return out
        same = left == left[0]
        out[rest[same]] = codes.get(str(left[0]), -1)
        rest, left = rest[~same], left[~same]
    if rest.size:
        get = codes.get
        out[rest] = np.fromiter((get(v, -1) for v in left.tolist()), dtype=np.int64,
                                count=rest.size)
    return out


def _repeats(keys: np.ndarray) -> np.ndarray:
    """True for every key that repeats an earlier one of the array (the first stays False)."""
    dup = np.zeros(keys.size, bool)
    if keys.size < 2:
        return dup
    order = np.argsort(keys)
    sk = keys[order]
    rep = sk[1:] == sk[:-1]
    if rep.any():
        # runs of equal keys: all but the earliest row of each run repeat it
        start = np.flatnonzero(np.r_[True, ~rep])
        earliest = np.minimum.reduceat(order, start)
        run = np.cumsum(np.r_[True, ~rep]) - 1
        dup[order] = order != earliest[run]
    return dup


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Whether each key is in the sorted array."""
    if sorted_keys.size == 0:
        return np.zeros(keys.size, bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys


def _row_hash(time: np.ndarray, z: np.ndarray, sensor: np.ndarray) -> np.ndarray:
    """A 64-bit hash of (time, measurement, sensor) per row, vectorised (NaN-safe)."""
    vals = np.concatenate([time[:, None], z, sensor[:, None].astype(float)], axis=1)
    bits = np.where(np.isnan(vals), 0.0, vals).view(np.uint64)
    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                     0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53],
                    dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = (bits * mult[: bits.shape[1]]).sum(axis=1, dtype=np.uint64)
        return h ^ (h >> np.uint64(29))


def _col(table: dict[str, np.ndarray], name: str, n: int) -> np.ndarray:
    if name in table:
        return np.asarray(table[name], dtype=float)
    return np.full(n, np.nan)


class Ingest:
    """Turns detection tables into :class:`DetectionBatch` for one deployment and frame."""

    def __init__(self, deployment: SensorDeployment, origin: tuple[float, float, float],
                 max_age_s: float = 600.0, max_future_s: float = 60.0) -> None:
        self.deployment = deployment
        self.origin = origin
        self.ids = np.array([s.id for s in deployment.sensor], dtype=str)
        #: distinct id_hint values seen so far; a batch's ``hint`` codes index it
        self.hints: list[str] = []
        self._hint_code: dict[str, int] = {}
        self.index = {s.id: i for i, s in enumerate(deployment.sensor)}
        lat = np.array([s.lat_deg for s in deployment.sensor])
        lon = np.array([s.lon_deg for s in deployment.sensor])
        alt = np.array([s.alt_m for s in deployment.sensor])
        self.site = site_position(lat, lon, alt, *origin)            # (S, 3)
        self.rot = enu_rotation(lat, lon, origin[0], origin[1])      # (S, 3, 3)
        self.max_range = np.array([s.max_range_m or np.inf for s in deployment.sensor])
        self.max_age_s = max_age_s
        self.max_future_s = max_future_s
        self.newest = -np.inf
        self.quarantine = Quarantine()
        self._defaults = {
            name: np.array([np.nan if getattr(s, name, None) is None else getattr(s, name)
                            for s in deployment.sensor], dtype=float)
            for name in set(_SIGMA_OF.values())
        }
        self.dup_window_s = 60.0
        #: keys of the rows of recent batches: (newest time of the batch, earliest and
        #: latest time of its kept rows, their keys sorted)
        self._recent: list[tuple[float, float, float, np.ndarray]] = []
        #: (sensor, kind code) → may the sensor report the kind
        self._fits = np.array([[k in _SENSOR_KINDS[s.kind] for k in DETECTION_KINDS]
                               for s in deployment.sensor], dtype=bool)

    def __call__(self, table: dict[str, np.ndarray], now: float | None = None,
                 rows: np.ndarray | None = None) -> DetectionBatch:
        """Validate a table of detection rows (column name → array) into a batch.

        ``now`` is the wall-clock time (UTC epoch s) for the future check; by
        default the newest time seen so far.  ``rows`` numbers the rows (their
        index in the source file, for the quarantine); by default 0, 1, 2, …
        """
        n = int(np.asarray(table["time"]).shape[0]) if "time" in table else 0
        time = _col(table, "time", n)
        sid = np.asarray(table.get("sensor_id", np.full(n, "")), dtype=str)
        kind_s = np.asarray(table.get("kind", np.full(n, "")), dtype=str)
        rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, np.int64)
        reason = np.full(n, "", dtype=object)
        refused = np.zeros(n, bool)         # reason != "", kept as a mask

        def refuse(mask: np.ndarray, why: str | Callable[[np.ndarray], list[str]]) -> None:
            """Give the rows in ``mask`` that have no reason yet this one (a string, or a
            function of their indices that words each row's own reason)."""
            fresh = np.flatnonzero(mask & ~refused)
            if fresh.size:
                reason[fresh] = why if isinstance(why, str) else why(fresh)
                refused[fresh] = True

        sidx = _lookup(sid, self.index)
        known = sidx >= 0
        refuse(~known, lambda i: [f"unknown sensor (sensor_id '{v}' is not in the sensors "
                                  "file)" for v in sid[i]])
        sidx = np.maximum(sidx, 0)
        kcode = _lookup(kind_s, KIND_CODE)
        refuse(kcode < 0, lambda i: [f"unknown kind (kind '{v}' is not one of "
                                     f"{', '.join(DETECTION_KINDS)})" for v in kind_s[i]])
        # does the kind fit the sensor?  a table of (sensor, kind code) → allowed
        bad = known & (kcode >= 0) & ~self._fits[sidx, np.maximum(kcode, 0)]
        refuse(bad, lambda i: [f"kind does not fit the sensor (a {self.deployment.sensor[j].kind}"
                               f" sensor cannot report '{k}')"
                               for j, k in zip(sidx[i], kind_s[i], strict=True)])
        refuse(~np.isfinite(time), "time is missing or not finite")
        # the future is judged against the wall clock, or without one against the batch's
        # median time (a live batch is mostly 'now'); the past against the newest time seen
        finite = np.isfinite(time)
        ref = now if now is not None else (float(np.median(time[finite])) if finite.any()
                                           else self.newest)
        refuse(time > ref + self.max_future_s,
               f"time in the future (more than {self.max_future_s:g} s ahead)")
        newest = max(self.newest, float(np.max(time[~refused], initial=-np.inf)))
        if np.isfinite(newest):
            refuse(time < newest - self.max_age_s,
                   f"time too old (more than {self.max_age_s:g} s before the newest)")

        z = np.full((n, 4), np.nan)
        sig = np.full((n, 4), np.nan)
        for kname, cols in _NEEDS.items():
            this = (kcode == KIND_CODE[kname]) & ~refused
            if not this.any():
                continue
            for j, c in enumerate(cols):
                v = _col(table, c, n)
                refuse(this & ~np.isfinite(v), f"{c} is missing or not finite")
                z[this, j] = v[this]
                s_col = _col(table, _SIGMA_OF[c], n)
                s_def = self._defaults[_SIGMA_OF[c]][sidx]
                s_val = np.where(np.isfinite(s_col), s_col, s_def)
                refuse(this & ~(s_val > 0), f"{_SIGMA_OF[c]} is missing, zero or negative "
                       "(neither the row nor the sensors file gives it)")
                sig[this, j] = s_val[this]
        rv = _col(table, "radial_velocity_mps", n)
        rv_sig = np.where(np.isfinite(_col(table, "sigma_radial_velocity_mps", n)),
                          _col(table, "sigma_radial_velocity_mps", n),
                          self._defaults["sigma_radial_velocity_mps"][sidx] if n else 0.0)
        radar = (kcode == RADAR3D) | (kcode == RADAR2D)
        has_rv = radar & np.isfinite(rv) & (rv_sig > 0)
        j_rv = np.where(kcode == RADAR3D, 3, 2)
        rows_rv = np.nonzero(has_rv)[0]
        z[rows_rv, j_rv[rows_rv]] = rv[rows_rv]
        sig[rows_rv, j_rv[rows_rv]] = rv_sig[rows_rv]

        # impossible values
        rng_m = _col(table, "range_m", n)
        az = _col(table, "azimuth_deg", n)
        el = _col(table, "elevation_deg", n)
        lat = _col(table, "lat_deg", n)
        lon = _col(table, "lon_deg", n)
        with np.errstate(invalid="ignore"):
            refuse(radar & (rng_m <= 0), "range_m is not positive")
            limit = 2.0 * self.max_range[sidx] if n else np.empty(0)
            refuse(radar & (rng_m > limit), "range_m beyond twice the sensor's max_range_m")
            uses_az = radar | (kcode == BEARING) | (kcode == BEARING_ELEV)
            refuse(uses_az & ((az < 0) | (az > 360)), "azimuth_deg outside [0, 360]")
            uses_el = (kcode == RADAR3D) | (kcode == BEARING_ELEV)
            refuse(uses_el & (np.abs(el) > 90), "elevation_deg outside [-90, 90]")
            pos = kcode == POSITION
            refuse(pos & ((np.abs(lat) > 90) | (np.abs(lon) > 180)),
                   "lat_deg/lon_deg outside [-90, 90] / [-180, 180]")
            refuse(has_rv & (np.abs(rv) > 2_000), "radial_velocity_mps beyond 2000 m/s")

        # exact repeats of an earlier row (same sensor, time and measurement): within this
        # batch, and of the batches of the last ``dup_window_s`` seconds.  A repeat has the
        # time of the row it repeats, so only batches whose times overlap are searched.
        ok = ~refused
        if ok.any():
            okr = np.nonzero(ok)[0]
            t_ok = time[okr]
            lo, hi = float(t_ok.min()), float(t_ok.max())
            keys = _row_hash(t_ok, z[okr], sidx[okr])
            dup = _repeats(keys)
            for _, b_lo, b_hi, b_keys in self._recent:
                if b_lo <= hi and b_hi >= lo:
                    dup |= _member(keys, b_keys)
            mask = np.zeros(n, bool)
            mask[okr[dup]] = True
            refuse(mask, "duplicate of an earlier detection (same sensor, time and values)")
            kept = ~dup
            t_kept = t_ok[kept]
            self._recent.append((hi, float(t_kept.min(initial=np.inf)),
                                 float(t_kept.max(initial=-np.inf)), np.sort(keys[kept])))
            horizon_t = hi - self.dup_window_s
            self._recent = [b for b in self._recent if b[0] >= horizon_t]

        bad = refused
        self.quarantine.add(time[bad], sid[bad], kind_s[bad], rows[bad],
                            reason[bad].astype(str))
        good = np.nonzero(~bad)[0]
        if good.size:
            self.newest = max(self.newest, float(time[good].max()))
        # into the tracking frame: angles to radians, positions to ENU
        zg, sg = z[good], sig[good]
        kg = kcode[good]
        ang = np.zeros((good.size, 4), bool)
        ang[kg == RADAR3D, 1:3] = True
        ang[kg == RADAR2D, 1] = True
        ang[kg == BEARING, 0] = True
        ang[kg == BEARING_ELEV, 0:2] = True
        zg[ang] = np.radians(zg[ang])
        sg[ang] = np.radians(sg[ang])
        pos = kg == POSITION
        if pos.any():
            e, nn, u = geodetic2enu(zg[pos, 0], zg[pos, 1], zg[pos, 2], *self.origin)
            zg[pos, 0], zg[pos, 1], zg[pos, 2] = e, nn, u
        order = np.argsort(time[good], kind="stable")
        keep = good[order]
        return DetectionBatch(time[keep], sidx[keep], kg[order], zg[order], sg[order],
                              has_rv[keep], rows[keep], _col(table, "rcs_dbsm", n)[keep],
                              self._hint_codes(table, keep))

    def _hint_codes(self, table: dict[str, np.ndarray], keep: np.ndarray) -> np.ndarray:
        """Codes of the ``id_hint`` of rows ``keep`` in ``self.hints`` (-1: none)."""
        codes = np.full(keep.size, -1, dtype=np.int64)
        if "id_hint" not in table or keep.size == 0:
            return codes
        h = np.asarray(table["id_hint"])[keep].astype(str)
        has = np.flatnonzero(h != "")
        if has.size:
            distinct, inv = np.unique(h[has], return_inverse=True)
            for v in distinct.tolist():
                if v not in self._hint_code:
                    self._hint_code[v] = len(self.hints)
                    self.hints.append(v)
            codes[has] = np.array([self._hint_code[v] for v in distinct.tolist()])[inv]
        return codes
