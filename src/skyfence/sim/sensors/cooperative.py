"""Cooperative reports: Remote ID broadcasts and ADS-B.

These carry the target's *own* position (its GNSS fix, with ``sigma_pos_m``
error) and identity in ``id_hint``.  A Remote ID broadcast can be spoofed: the
target's ``remote_id_spoof_offset_m`` is added to the position it claims.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from skyfence.sim.sensors.base import Geometry, SensorModel, TruthWindow

__all__ = ["ADSBReceiver", "RemoteIDReceiver"]

_M_PER_DEG_LAT = 111_132.0


class _Cooperative(SensorModel):
    detection_kind = "position"
    broadcast = True

    @abstractmethod
    def _ids(self, w: TruthWindow) -> np.ndarray:
        """The identity each target broadcasts ('' for none)."""

    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        ids = self._ids(w)[tid]
        cov = self.coverage(geo, float(self.spec.max_range_m or np.inf)) & (ids != "")
        hit = cov & (rng.uniform(size=tid.size) < float(self.spec.pd or 0.0))
        n = int(hit.sum())
        sp = float(self.spec.sigma_pos_m or 0.0)
        err = rng.normal(0.0, sp, (n, 3)) * np.array([1.0, 1.0, 1.5])
        err[:, :2] += self._claimed_offset(w, tid[hit])
        lat = smp["lat"][hit]
        cos_lat = np.cos(np.radians(lat))
        return self.rows(
            n, time=times[hit], lat_deg=lat + err[:, 1] / _M_PER_DEG_LAT,
            lon_deg=smp["lon"][hit] + err[:, 0] / (_M_PER_DEG_LAT * cos_lat),
            alt_m=smp["alt"][hit] + err[:, 2], sigma_pos_m=np.full(n, sp),
            id_hint=ids[hit], truth_id=tid[hit].astype(np.int64))

    def _claimed_offset(self, w: TruthWindow, tid: np.ndarray) -> np.ndarray:
        return np.zeros((tid.size, 2))


class RemoteIDReceiver(_Cooperative):
    """Receives Remote ID broadcasts (serial number, GNSS position) from drones."""

    def _ids(self, w: TruthWindow) -> np.ndarray:
        return w.targets.remote_id

    def _claimed_offset(self, w: TruthWindow, tid: np.ndarray) -> np.ndarray:
        return w.targets.rid_offset[tid]


class ADSBReceiver(_Cooperative):
    """Receives ADS-B position reports (ICAO 24-bit address) from aircraft."""

    def _ids(self, w: TruthWindow) -> np.ndarray:
        return w.targets.icao24
