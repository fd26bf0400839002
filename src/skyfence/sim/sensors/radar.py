"""Radars: Swerling-1 detection from the radar equation, measurement noise, clutter.

Detection model (square-law detector, one look per scan, Swerling 1): the
detector output ``z`` is exponential with mean ``1 + SNR``; a plot is declared
when ``z > T`` with ``T = -ln(Pfa)``, so ``Pd = Pfa ** (1 / (1 + SNR))``.  A
noise-only cell exceeds ``T`` with probability ``Pfa``; false alarms arrive as a
Poisson number per scan (``clutter_per_scan``) with ``z = T + Exp(1)``.  Mean
SNR follows the radar equation, ``SNR ∝ σ / R⁴``, anchored at the spec's
``pd90_range_m`` where a ``pd90_rcs_dbsm`` target has ``Pd = 0.9``.  The
reported ``snr_db`` is the estimate ``z - 1`` and ``rcs_dbsm`` is inferred from
it, so false alarms carry plausible (small) cross-sections.
"""

from __future__ import annotations

import numpy as np

from skyfence.sim.sensors.base import Geometry, SensorModel, TruthWindow

__all__ = ["Radar2D", "Radar3D", "mean_snr", "pd_swerling1", "snr_for_pd"]


def snr_for_pd(pd: float, pfa: float) -> float:
    """Mean linear SNR at which a Swerling-1 target is detected with probability ``pd``."""
    return float(np.log(pfa) / np.log(pd) - 1.0)


def pd_swerling1(snr: np.ndarray | float, pfa: float) -> np.ndarray:
    """Probability of detection of a Swerling-1 target at mean linear ``snr``."""
    return np.power(pfa, 1.0 / (1.0 + np.asarray(snr, dtype=float)))


def mean_snr(range_m: np.ndarray, rcs_dbsm: np.ndarray, ref_range_m: float, ref_rcs_dbsm: float,
             ref_snr: float) -> np.ndarray:
    """Radar equation: linear SNR ∝ σ / R⁴, anchored at (ref_range_m, ref_rcs_dbsm, ref_snr)."""
    r = np.maximum(np.asarray(range_m, dtype=float), 1.0)
    db = 10 * np.log10(ref_snr) + (rcs_dbsm - ref_rcs_dbsm) - 40 * np.log10(r / ref_range_m)
    return np.power(10.0, db / 10.0)


class Radar3D(SensorModel):
    """Rotating 3D radar: range, azimuth, elevation and radial velocity."""

    detection_kind = "radar3d"
    rotating = True
    measures_elevation = True

    def __init__(self, *a, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*a, **kw)
        s = self.spec
        self.threshold = -np.log(s.pfa)
        self.ref_snr = snr_for_pd(0.9, s.pfa)
        self.ref_rcs = float(s.pd90_rcs_dbsm if s.pd90_rcs_dbsm is not None else 0.0)

    def _measure(self, rng: np.random.Generator, r: np.ndarray, az: np.ndarray, el: np.ndarray,
                 rv: np.ndarray, z: np.ndarray, truth_id: np.ndarray,
                 times: np.ndarray) -> dict[str, np.ndarray]:
        s = self.spec
        n = r.size
        sr = float(s.sigma_range_m or 0.0)
        sa = float(s.sigma_azimuth_deg or 0.0)
        se = float(s.sigma_elevation_deg or 0.0)
        sv = float(s.sigma_radial_velocity_mps or 0.0)
        snr_est = np.maximum(z - 1.0, 1e-3)
        rcs = (self.ref_rcs + 10 * np.log10(snr_est / self.ref_snr)
               + 40 * np.log10(np.maximum(r, 1.0) / s.ref_range_m))
        cols = dict(
            time=times,
            range_m=np.maximum(r + rng.normal(0, sr, n), 0.0),
            azimuth_deg=(az + rng.normal(0, sa, n)) % 360.0,
            radial_velocity_mps=rv + rng.normal(0, sv, n),
            sigma_range_m=np.full(n, sr),
            sigma_azimuth_deg=np.full(n, sa),
            sigma_radial_velocity_mps=np.full(n, sv),
            snr_db=10 * np.log10(snr_est),
            rcs_dbsm=rcs,
            truth_id=truth_id,
        )
        if self.measures_elevation:
            cols["elevation_deg"] = np.clip(el + rng.normal(0, se, n), -90.0, 90.0)
            cols["sigma_elevation_deg"] = np.full(n, se)
        return self.rows(n, **cols)

    def _observe(self, w: TruthWindow, times: np.ndarray, tid: np.ndarray,
                 smp: dict[str, np.ndarray], geo: Geometry,
                 rng: np.random.Generator) -> dict[str, np.ndarray]:
        s = self.spec
        cov = self.coverage(geo, float(s.max_range_m or np.inf))
        snr = mean_snr(geo.range_m, w.targets.rcs_dbsm[tid], s.ref_range_m, self.ref_rcs,
                       self.ref_snr)
        z = (1.0 + snr) * rng.exponential(1.0, tid.size)
        hit = cov & (z > self.threshold)
        return self._measure(rng, geo.range_m[hit], geo.az_deg[hit], geo.el_deg[hit],
                             geo.radial_mps[hit], z[hit], tid[hit].astype(np.int64), times[hit])

    def _false_alarms(self, scans: np.ndarray,
                      rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        s = self.spec
        lam = float(s.clutter_per_scan or 0.0)
        counts = rng.poisson(lam, scans.size)
        n = int(counts.sum())
        r0, r1 = s.min_range_m, float(s.max_range_m or 1e4)
        r = np.sqrt(rng.uniform(r0 * r0, r1 * r1, n))
        centre, width = s.fov_azimuth_deg
        az = (centre - width / 2.0 + rng.uniform(0, width, n)) % 360.0
        lo = self.fov_el[0]
        el = rng.uniform(max(lo, 0.0), max(lo, 0.0) + 3.0, n)
        rv = rng.normal(0.0, 1.0, n)
        z = self.threshold + rng.exponential(1.0, n)
        times = np.repeat(scans, counts) + (az / 360.0) * self.period
        return self._measure(rng, r, az, el, rv, z, np.full(n, -1, np.int64), times)


class Radar2D(Radar3D):
    """Rotating 2D surveillance radar: range, azimuth and radial velocity, no elevation."""

    detection_kind = "radar2d"
    measures_elevation = False
