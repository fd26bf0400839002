"""Passive sensors: RF direction finder, acoustic array, EO/IR camera."""

from __future__ import annotations

import numpy as np

from skyfence.sim.sensors.base import Geometry, SensorModel, TruthWindow

__all__ = ["Acoustic", "EOIR", "RFDirectionFinder", "acoustic_level_db"]

#: atmospheric absorption used for engine and rotor noise, dB per metre (≈ 5 dB/km at 500 Hz)
ACOUSTIC_ABSORPTION_DB_PER_M = 0.005
#: level at the array above which detection is likely (background + array gain), dB SPL
ACOUSTIC_THRESHOLD_DB = 20.0


def acoustic_level_db(source_db: np.ndarray, range_m: np.ndarray) -> np.ndarray:
    """Sound level at the array: spherical spreading plus absorption."""
    r = np.maximum(np.asarray(range_m, dtype=float), 1.0)
    return source_db - 20 * np.log10(r) - ACOUSTIC_ABSORPTION_DB_PER_M * r


class _Bearing(SensorModel):
    detection_kind = "bearing"

    def _bearing_rows(self, rng: np.random.Generator, geo: Geometry, hit: np.ndarray,
                      tid: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
        n = int(hit.sum())
        sa = float(self.spec.sigma_azimuth_deg or 0.0)
        cols = dict(time=times[hit], azimuth_deg=(geo.az_deg[hit] + rng.normal(0, sa, n)) % 360,
                    sigma_azimuth_deg=np.full(n, sa), truth_id=tid[hit].astype(np.int64))
        if self.detection_kind == "bearing_elev":
            se = float(self.spec.sigma_elevation_deg or 0.0)
            cols["elevation_deg"] = np.clip(geo.el_deg[hit] + rng.normal(0, se, n), -90, 90)
            cols["sigma_elevation_deg"] = np.full(n, se)
        return self.rows(n, **cols)


class RFDirectionFinder(_Bearing):
    """Bearing to targets whose control or data link transmits; needs line of sight.

    Pd is the spec's ``pd`` out to 70 % of ``max_range_m``, then falls linearly to 0.
    """

    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        rmax = float(self.spec.max_range_m or np.inf)
        cov = self.coverage(geo, rmax) & w.targets.emits_rf[tid]
        pd = float(self.spec.pd or 0.0) * np.clip((1.0 - geo.range_m / rmax) / 0.3, 0.0, 1.0)
        hit = cov & (rng.uniform(size=tid.size) < pd)
        return self._bearing_rows(rng, geo, hit, tid, times)


class Acoustic(_Bearing):
    """Bearing from a microphone array: engines and rotors at short range."""

    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        src = w.targets.acoustic_db[tid]
        cov = self.coverage(geo, float(self.spec.max_range_m or np.inf)) & (src > 0)
        level = acoustic_level_db(src, geo.range_m)
        pd = float(self.spec.pd or 0.0) / (1.0 + np.exp(-(level - ACOUSTIC_THRESHOLD_DB) / 3.0))
        hit = cov & (rng.uniform(size=tid.size) < pd)
        return self._bearing_rows(rng, geo, hit, tid, times)


class EOIR(_Bearing):
    """Staring EO/IR camera: bearing and elevation inside its field of view.

    A target of span ``size_m`` is detected out to ``max_range_m * min(1, size_m / 2 m)``.
    """

    detection_kind = "bearing_elev"

    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        rmax = float(self.spec.max_range_m or np.inf) * np.minimum(1.0, w.targets.size_m[tid] / 2)
        cov = self.coverage(geo, rmax)
        hit = cov & (rng.uniform(size=tid.size) < float(self.spec.pd or 0.0))
        return self._bearing_rows(rng, geo, hit, tid, times)
