"""Run a scenario: targets move, sensors observe, truth and detections come out in chunks.

The run is cut into fixed chunks of simulated time so memory stays bounded (a
24-hour day or 10,000 targets); results depend on the scenario and seed only.
Detections come out sorted by measurement time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from skyfence.geo.frame import LocalFrame
from skyfence.geo.geodesy import enu2uvw, geodetic2ecef
from skyfence.model.schema import DETECTION_COLUMNS
from skyfence.sim.kinematics import STATE, Kinematics, TargetTable
from skyfence.sim.population import build_targets
from skyfence.sim.scenario import Scenario
from skyfence.sim.sensors import SensorModel, TruthWindow, make_sensor

__all__ = ["Chunk", "Simulation"]

Progress = Callable[[float, float], None]


@dataclass
class Chunk:
    """One slice of a run: truth rows and detection rows (column name → array)."""

    t0: float
    t1: float
    truth: dict[str, np.ndarray]
    detections: dict[str, np.ndarray]


class Simulation:
    """A scenario ready to run.  ``seed`` overrides the scenario's own seed."""

    def __init__(self, scenario: Scenario, seed: int | None = None,
                 duration_s: float | None = None) -> None:
        self.scenario = scenario
        h = scenario.scenario
        self.seed = int(h.seed if seed is None else seed)
        self.dt = float(h.dt_s)
        self.duration = float(h.duration_s if duration_s is None else duration_s)
        self.t0 = scenario.t0
        lat0, lon0 = scenario.origin()
        self.frame = LocalFrame(lat0, lon0, h.terrain_alt_m)
        self.terrain = float(h.terrain_alt_m)
        self.targets: TargetTable = build_targets(scenario, self.frame,
                                                  np.random.default_rng([self.seed, 1]))
        self.wind = scenario.wind.east_north()
        self.sensors: list[SensorModel] = [
            make_sensor(s, i, self.seed, self.t0, self.duration, self.terrain)
            for i, s in enumerate(scenario.sensor)
        ]
        n = max(len(self.targets), 1)
        steps = int(np.clip(2_000_000 // n, 20, 600))
        self.chunk_steps = steps
        longest = max([s.period for s in self.sensors] + [1.0])
        self.margin_steps = int(np.ceil(longest / self.dt)) + 2

    # ------------------------------------------------------------------------------
    def _snapshot(self, k: Kinematics) -> tuple[np.ndarray, ...]:
        present = (k.state == STATE["flying"]) | (k.state == STATE["gliding"])
        return (np.degrees(k.lat), np.degrees(k.lon), k.alt.copy(), k.vx.copy(), k.vy.copy(),
                k.vz.copy(), k.state.copy(), present)

    def _window(self, times: np.ndarray, snaps: list[tuple[np.ndarray, ...]]
                ) -> tuple[TruthWindow, np.ndarray, np.ndarray, np.ndarray]:
        lat = np.stack([s[0] for s in snaps])
        lon = np.stack([s[1] for s in snaps])
        alt = np.stack([s[2] for s in snaps])
        ve = np.stack([s[3] for s in snaps])
        vn = np.stack([s[4] for s in snaps])
        vz = np.stack([s[5] for s in snaps])
        present = np.stack([s[7] for s in snaps])
        ex, ey, ez = geodetic2ecef(lat, lon, alt)
        ux, uy, uz = enu2uvw(ve, vn, vz, lat, lon)
        return TruthWindow(
            t=times, lat=lat, lon=lon, alt=alt,
            ecef=np.stack([ex, ey, ez], axis=-1), vel=np.stack([ux, uy, uz], axis=-1),
            present=present, targets=self.targets, terrain_alt_m=self.terrain,
        ), ve, vn, vz

    def _truth_rows(self, w: TruthWindow, ve: np.ndarray, vn: np.ndarray, vz: np.ndarray,
                    states: np.ndarray, lo: int) -> dict[str, np.ndarray]:
        """Rows of the window from index ``lo`` on: flying targets, plus touchdown rows."""
        sub = slice(lo, None)
        st = states[sub]
        just_down = st == STATE["down"]
        if lo > 0:
            just_down &= states[lo - 1: -1] != STATE["down"]
        keep = w.present[sub] | just_down
        ti, ni = np.nonzero(keep)
        tt = self.targets
        g = lo + ti
        return {
            "time": w.t[g],
            "truth_id": ni.astype(np.int64),
            "name": tt.name[ni],
            "target_type": tt.type[ni],
            "target_class": tt.target_class[ni],
            "lat_deg": w.lat[g, ni],
            "lon_deg": w.lon[g, ni],
            "alt_m": w.alt[g, ni],
            "vel_east_mps": ve[g, ni],
            "vel_north_mps": vn[g, ni],
            "vel_up_mps": np.where(just_down[ti, ni], 0.0, vz[g, ni]),
            "rcs_dbsm": tt.rcs_dbsm[ni],
            "status": np.where(just_down[ti, ni], "down", "flying"),
        }

    def run(self, progress: Progress | None = None) -> Iterator[Chunk]:
        """Yield the run chunk by chunk; ``progress(done_s, total_s)`` after each."""
        kin = Kinematics(self.targets, self.terrain, self.wind,
                         np.random.default_rng([self.seed, 2]))
        n_steps = int(round(self.duration / self.dt))
        hold_back = max([s.period for s in self.sensors] + [0.0]) + 1e-9
        history: list[tuple[np.ndarray, ...]] = []
        hist_t: list[float] = []
        pending: dict[str, np.ndarray] | None = None
        step = 0
        chunk = 0
        while step <= n_steps:
            last = min(step + self.chunk_steps, n_steps + 1)
            for k in range(step, last):
                t_rel = k * self.dt
                if k == 0:
                    kin.activate(0.0)
                else:
                    kin.step(t_rel - self.dt, self.dt)
                history.append(self._snapshot(kin))
                hist_t.append(self.t0 + t_rel)
            lo = len(history) - (last - step)
            times = np.array(hist_t)
            w, ve, vn, vz = self._window(times, history)
            states = np.stack([s[6] for s in history])
            truth = self._truth_rows(w, ve, vn, vz, states, lo)
            c0 = self.t0 + step * self.dt
            c1 = self.t0 + last * self.dt if last <= n_steps else np.inf
            c1_eff = self.t0 + last * self.dt
            dets = [s.observe(w, c0, c1_eff, chunk) for s in self.sensors]
            det = {k: np.concatenate([d[k] for d in dets]) for k in DETECTION_COLUMNS}
            if pending is not None:
                det = {k: np.concatenate([pending[k], det[k]]) for k in det}
            # stable: equal times keep the sensors' order (the pending rows come first)
            order = np.argsort(det["time"], kind="stable")
            det = {k: v[order] for k, v in det.items()}
            cut = det["time"] < (c1 - hold_back) if np.isfinite(c1) else np.ones(order.size, bool)
            out = {k: v[cut] for k, v in det.items()}
            pending = {k: v[~cut] for k, v in det.items()}
            yield Chunk(c0, min(c1, self.t0 + self.duration), truth, out)
            if progress is not None:
                progress(min((last - 1) * self.dt, self.duration), self.duration)
            keep = self.margin_steps
            history = history[-keep:]
            hist_t = hist_t[-keep:]
            step = last
            chunk += 1
