"""Benchmark the compiled tracker kernels against the numpy path they replace (not a test).

One radar scan of N tracks (default 10,000; constant velocity, 5-60 km from a 3D
radar that stands 10-20 km from the tracking origin, 200-3000 m high, 20-60 m/s),
seen with probability 0.9 plus 0.1·N clutter plots, every plot with a radial
velocity (σr = 10 m, σaz = σel = 0.2°, σrv = 0.5 m/s), all plots of the scan
at one time (as in ``bench_tracker.py``), the tracks one scan old.  The candidate
pairs come from the tracker's polar coarse gate.  Timed, numpy against kernel, on
the same inputs:

``coarse gate``   pairs within each track's range and azimuth window (windows given):
                  sorted ``searchsorted`` windows / :func:`kernels.polar_candidates`
``exact gate``    predict every pair to its plot's time, innovation, residual, d²
                  (grouped by radial velocity as the tracker does) /
                  :func:`kernels.cv_radar_gate`, with ``exact=False`` too (pairs whose
                  range or azimuth residual alone is outside skip the rest; same costs)
``assignment``    GNN of the gated pairs: scipy ``connected_components`` +
                  ``linear_sum_assignment`` per cluster (the former ``gnn_assign``) /
                  :func:`associate.gnn_assign` (compiled clusters)
``update``        EKF correction of the assigned pairs from the gate's kept innovation
                  (``filters.ekf_correct``) / :func:`kernels.cv_radar_update`, which
                  predicts and forms the innovation again

Figures are the median and best of ``--repeat`` calls, after a warm-up call (so
numba's compilation is not timed); the time of each kernel's first call in this
process (a cache load, or a compilation when the cache is cold) and, unless
``--no-cold``, the compilation time with an empty cache (in a subprocess with its
own ``NUMBA_CACHE_DIR``) are reported too.  ``agree`` is the largest relative
difference between the two results (d², costs, states; pair and assignment sets
must be equal).  The total counts the exact gate once, with ``exact=False``.
Threads of the numeric libraries are pinned to one::

    python benchmarks/bench_kernels.py
    python benchmarks/bench_kernels.py --tracks 1000 10000 100000 --repeat 9 --json
    python benchmarks/bench_kernels.py --cpu --no-cold     # CPU time, on a busy machine
"""

from __future__ import annotations

import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2

from skyfence.track import filters, kernels, measurement, motion
from skyfence.track.associate import gnn_assign

LAT0, LON0, ALT0 = 55.0, 24.0, 100.0           # tracking origin
RADAR = (55.1, 24.15, 150.0)                   # the radar: ~14 km away, own north and up
T0 = 1_750_000_000.0
SIGMA = (10.0, np.radians(0.2), np.radians(0.2), 0.5)
Q, QV = 1.0, 1.0
GATE_PROBABILITY = 0.9995
MAX_SPEED = 300.0
PD, CLUTTER = 0.9, 0.1


# ------------------------------------------------------------------------------ problem


def make_problem(n: int, seed: int, use_rv: bool) -> dict[str, Any]:
    """One scan: tracks (state one scan old), plots, coarse-gate windows."""
    rng = np.random.default_rng([seed, n])
    site = measurement.site_position(*RADAR, LAT0, LON0, ALT0)[0]
    rot = measurement.enu_rotation(RADAR[0], RADAR[1], LAT0, LON0)[0]
    radar = measurement.Radar3D(with_radial_velocity=True)
    cv = motion.ConstantVelocity(Q, q_vertical=QV)

    def around(k: int) -> np.ndarray:
        """k positions 5-60 km from the radar (its axes), 200-3000 m high, tracking frame."""
        rho = np.sqrt(rng.uniform(5e3**2, 60e3**2, k))
        phi = rng.uniform(0.0, 2 * np.pi, k)
        local = np.column_stack([rho * np.sin(phi), rho * np.cos(phi), rng.uniform(200, 3e3, k)])
        return local @ rot + site

    truth = np.zeros((n, 6))
    truth[:, :3] = around(n)
    speed, heading = rng.uniform(20.0, 60.0, n), rng.uniform(0.0, 2 * np.pi, n)
    truth[:, 3], truth[:, 4] = speed * np.sin(heading), speed * np.cos(heading)
    truth[:, 5] = rng.normal(0.0, 1.0, n)
    # tracks: half a plot's position covariance, a few m/s of velocity error, one scan ago
    z_true = radar.h(truth, site, rot)
    R3 = np.broadcast_to(np.diag(np.square(SIGMA[:3])), (n, 3, 3))
    _, cov = measurement.Radar3D(False).inverse(z_true[:, :3], site, rot, R3)
    P = np.zeros((n, 6, 6))
    P[:, :3, :3] = 0.5 * cov + np.eye(3) * 25.0
    P[:, 3:, 3:] = np.diag([9.0, 9.0, 1.0])
    L = np.linalg.cholesky(P)
    x = truth + np.einsum("kij,kj->ki", L, rng.standard_normal((n, 6)))
    t = np.full(n, T0 - 1.0)
    x = cv.transition(x, -np.ones(n))                    # the tracks' state time
    # plots: seen targets and clutter, timed by azimuth across the 1 s scan
    seen = np.flatnonzero(rng.random(n) < PD)
    n_clutter = int(round(CLUTTER * n))
    clutter = np.zeros((n_clutter, 6))
    clutter[:, :3] = around(n_clutter)
    zt = radar.h(np.concatenate([truth[seen], clutter]), site, rot)
    zt = zt + rng.standard_normal(zt.shape) * SIGMA
    zt[:, 1] %= 2 * np.pi
    order = rng.permutation(zt.shape[0])
    z = zt[order]
    m = z.shape[0]
    sigma = np.tile(SIGMA, (m, 1))
    time_ = np.full(m, T0)                               # as bench_tracker: one time a scan
    # coarse-gate windows as Tracker._candidates_polar forms them
    g = float(np.sqrt(chi2.ppf(GATE_PROBABILITY, 3)))
    t_ref = 0.5 * float(time_.min() + time_.max())
    spread = float(np.ptp(time_))
    pos = x[:, :3] + x[:, 3:6] * (t_ref - t)[:, None]
    sig_t = np.sqrt(np.trace(P[:, :3, :3], axis1=1, axis2=2))
    local = np.einsum("ij,kj->ki", rot, pos - site)
    r_t = np.linalg.norm(local, axis=1)
    az_t = np.arctan2(local[:, 0], local[:, 1]) % (2 * np.pi)
    move = np.minimum(np.linalg.norm(x[:, 3:6], axis=1) + 3.0 * np.sqrt(
        np.trace(P[:, 3:6, 3:6], axis1=1, axis2=2)), MAX_SPEED) * (0.5 * spread + 1e-3)
    w_r = g * np.sqrt(SIGMA[0] ** 2 + sig_t**2) + move
    w_az = np.minimum(g * np.sqrt(SIGMA[1] ** 2 + (sig_t / r_t) ** 2) + move / r_t, np.pi)
    gate = np.array([np.inf] + [float(chi2.ppf(GATE_PROBABILITY, k)) for k in range(1, 5)])
    return dict(n=n, x=x, P=P, t=t, time=time_, z=z, sigma=sigma,
                use_rv=np.full(m, use_rv), site=site, rot=rot, az_t=az_t, r_t=r_t,
                w_az=w_az, w_r=w_r, gate=gate)


# ------------------------------------------------------------------------- numpy path


def polar_numpy(p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Tracker._candidates_polar after its windows, in numpy (the kernel's reference)."""
    return kernels.polar_candidates_numpy(p["az_t"], p["r_t"], p["w_az"], p["w_r"],
                                          p["z"][:, 1], p["z"][:, 0])


def gate_numpy(p: dict[str, Any], ti: np.ndarray, di: np.ndarray) -> tuple[Any, ...]:
    """The tracker's exact gate: cost per pair and the kept (xp, Pp, nu, H, S, R) groups."""
    cv = motion.ConstantVelocity(Q, q_vertical=QV)
    xp, Pp = cv.predict(p["x"][ti], p["P"][ti], p["time"][di] - p["t"][ti])
    rv = p["use_rv"][di]
    d2 = np.empty(ti.size)
    cost = np.full(ti.size, np.inf)
    at = np.zeros(ti.size, np.int64)
    kept = {}
    for use in (False, True):
        sel = np.flatnonzero(rv == use)
        if sel.size == 0:
            continue
        model = measurement.Radar3D(with_radial_velocity=use)
        m = model.ndim_meas
        R = model.covariance(p["sigma"][di[sel], :m])
        zhat, H, S = filters.innovation(xp[sel], Pp[sel], model,
                                        np.broadcast_to(p["site"], (sel.size, 3)),
                                        np.broadcast_to(p["rot"], (sel.size, 3, 3)), R)
        nu = model.residual(p["z"][di[sel], :m], zhat)
        d2[sel] = filters.mahalanobis2(nu, S)
        gate = p["gate"][m]
        cost[sel] = np.where(d2[sel] <= gate, d2[sel] - gate, np.inf)
        at[sel] = np.arange(sel.size)
        kept[use] = (nu, H, S, R)
    return d2, cost, xp, Pp, rv, at, kept


def update_numpy(xp: np.ndarray, Pp: np.ndarray, rv: np.ndarray, at: np.ndarray,
                 kept: dict[bool, tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """The tracker's EKF update of the assigned pairs from the gate's kept innovation."""
    x = np.empty_like(xp)
    P = np.empty_like(Pp)
    for use in (False, True):
        sel = np.flatnonzero(rv == use)
        if sel.size == 0:
            continue
        nu, H, S, R = (a[at[sel]] for a in kept[use])
        x[sel], P[sel] = filters.ekf_correct(xp[sel], Pp[sel], nu, H, S, R)
    return x, P


def gnn_scipy(ti: np.ndarray, di: np.ndarray, cost: np.ndarray, n_tracks: int,
              n_dets: int) -> np.ndarray:
    """The former gnn_assign: scipy clusters, singletons at once, LSA per larger cluster."""
    p = ti.size
    if p == 0:
        return np.empty(0, np.int64)
    nodes = n_tracks + n_dets
    graph = coo_matrix((np.ones(p), (ti, n_tracks + di)), shape=(nodes, nodes))
    _, label = connected_components(graph, directed=False)
    cl = label[ti]
    counts = np.bincount(cl, minlength=int(label.max()) + 1)
    single = counts[cl] == 1
    chosen = [np.flatnonzero(single & (cost < 0))]
    multi = np.flatnonzero(~single)
    if multi.size:
        order = multi[np.argsort(cl[multi], kind="stable")]
        c = cl[order]
        big = np.int64(n_tracks + n_dets + 1)
        _, t_rank = np.unique(c * big + ti[order], return_inverse=True)
        _, d_rank = np.unique(c * big + di[order], return_inverse=True)
        starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
        ends = np.r_[starts[1:], c.size]
        t_first = np.minimum.reduceat(t_rank, starts)
        d_first = np.minimum.reduceat(d_rank, starts)
        rows = t_rank - np.repeat(t_first, ends - starts)
        cols = d_rank - np.repeat(d_first, ends - starts)
        costs = np.minimum(cost[order], 0.0)
        for a, b, t0, d0 in zip(starts.tolist(), ends.tolist(), t_first.tolist(),
                                d_first.tolist(), strict=True):
            r, k = rows[a:b], cols[a:b]
            nt = int(t_rank[a:b].max()) - t0 + 1
            nd = int(d_rank[a:b].max()) - d0 + 1
            mat = np.zeros((nt, nd))
            pair_at = np.full((nt, nd), -1, np.int64)
            mat[r, k] = costs[a:b]
            pair_at[r, k] = order[a:b]
            rr, cc = linear_sum_assignment(mat)
            take = pair_at[rr, cc]
            chosen.append(take[(take >= 0) & (mat[rr, cc] < 0)])
    return np.sort(np.concatenate(chosen))


# ------------------------------------------------------------------------------ timing


#: the clock of the timings: wall clock, or with --cpu this thread's CPU time
_CLOCK = time.perf_counter


def _times(func: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, best) seconds of ``repeat`` calls after one warm-up call."""
    func()
    out = []
    for _ in range(repeat):
        start = _CLOCK()
        func()
        out.append(_CLOCK() - start)
    return float(np.median(out)), float(np.min(out))


def _first_calls() -> dict[str, float]:
    """Seconds of each kernel's first call in this process (cache load or compilation)."""
    n = 4
    x = np.zeros((n, 6))
    x[:, 0] = 1_000.0
    P = np.broadcast_to(np.eye(6), (n, 6, 6)).copy()
    t = np.zeros(n)
    z = np.ones((n, 4))
    idx = np.arange(n)
    use = np.ones(n, bool)
    calls: dict[str, Callable[[], object]] = {   # one compiled kernel each
        "cv_radar_gate + cv_radar_update": lambda: kernels.cv_radar_gate(
            x, P, t, idx, idx, t, z, z, use, np.zeros(3), np.eye(3), 1.0, 1.0, np.ones(5)),
        "polar_candidates": lambda: kernels.polar_candidates(t, t, t, t, t, t),
        "gnn_clusters (gnn_assign)": lambda: kernels.gnn_clusters(idx, idx, -np.ones(n), n, n),
    }
    out = {}
    for name, f in calls.items():
        start = time.perf_counter()
        f()
        out[name] = time.perf_counter() - start
    return out


def cold_compile() -> dict[str, float] | None:
    """Compilation seconds with an empty numba cache (in a subprocess)."""
    paths = [str(Path(__file__).resolve().parent), *sys.path[:1]]
    code = (f"import json, sys; sys.path[:0] = {paths!r}; import bench_kernels as b; "
            "print(json.dumps(b._first_calls()))")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NUMBA_CACHE_DIR=tmp)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, check=False)
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rel(a: np.ndarray, b: np.ndarray, scale: np.ndarray | None = None) -> float:
    if a.size == 0:
        return 0.0
    s = np.abs(b) if scale is None else scale
    return float(np.max(np.abs(a - b) / np.maximum(s, 1e-300)))


def run(n: int, repeat: int, seed: int = 0, use_rv: bool = True) -> dict[str, Any]:
    """Time the four steps for one scan of ``n`` tracks; one result dict."""
    p = make_problem(n, seed, use_rv)
    args = (p["x"], p["P"], p["t"])
    plots = (p["time"], p["z"], p["sigma"], p["use_rv"], p["site"], p["rot"], Q, QV)
    rows: list[dict[str, Any]] = []

    def row(step: str, numpy_f: Callable[[], object], kernel_f: Callable[[], object],
            agree: float) -> None:
        med_np, best_np = _times(numpy_f, repeat)
        med_k, best_k = _times(kernel_f, repeat)
        rows.append({"step": step, "numpy_ms": med_np * 1e3, "numpy_best_ms": best_np * 1e3,
                     "kernel_ms": med_k * 1e3, "kernel_best_ms": best_k * 1e3,
                     "speedup": med_np / med_k, "agree": agree})

    # coarse gate
    ti_np, di_np = polar_numpy(p)
    ti, di = kernels.polar_candidates(p["az_t"], p["r_t"], p["w_az"], p["w_r"], p["z"][:, 1],
                                      p["z"][:, 0])
    if not (np.array_equal(ti, ti_np) and np.array_equal(di, di_np)):
        raise AssertionError("coarse gate: the kernel's pairs differ from numpy's")
    row("coarse gate", lambda: polar_numpy(p),
        lambda: kernels.polar_candidates(p["az_t"], p["r_t"], p["w_az"], p["w_r"],
                                         p["z"][:, 1], p["z"][:, 0]), 0.0)
    # exact gate
    d2_np, cost_np, xp, Pp, rv, at, kept = gate_numpy(p, ti, di)
    d2, cost = kernels.cv_radar_gate(*args, ti, di, *plots, p["gate"])
    row("exact gate", lambda: gate_numpy(p, ti, di),
        lambda: kernels.cv_radar_gate(*args, ti, di, *plots, p["gate"]), _rel(d2, d2_np))
    if not np.array_equal(np.isfinite(cost), np.isfinite(cost_np)):
        raise AssertionError("exact gate: the kernel gates other pairs than numpy")
    _, cost_fast = kernels.cv_radar_gate(*args, ti, di, *plots, p["gate"], exact=False)
    if not np.array_equal(cost_fast, cost):
        raise AssertionError("exact gate: exact=False changed a cost")
    row("exact gate, exact=False", lambda: gate_numpy(p, ti, di),
        lambda: kernels.cv_radar_gate(*args, ti, di, *plots, p["gate"], exact=False),
        _rel(cost[np.isfinite(cost)], cost_np[np.isfinite(cost)]))
    ok = np.isfinite(cost)
    gti, gdi, gcost = ti[ok], di[ok], cost[ok]
    # assignment
    chosen_np = gnn_scipy(gti, gdi, gcost, n, p["z"].shape[0])
    chosen, _ = gnn_assign(gti, gdi, gcost, n, p["z"].shape[0])
    if not np.array_equal(chosen, chosen_np):
        raise AssertionError("assignment: the compiled GNN chose other pairs than scipy's")
    row("assignment", lambda: gnn_scipy(gti, gdi, gcost, n, p["z"].shape[0]),
        lambda: gnn_assign(gti, gdi, gcost, n, p["z"].shape[0]), 0.0)
    # update
    sel = np.flatnonzero(ok)[chosen]
    uti, udi = ti[sel], di[sel]
    x_np, P_np = update_numpy(xp[sel], Pp[sel], rv[sel], at[sel], kept)
    x_k, P_k, _ = kernels.cv_radar_update(*args, uti, udi, *plots)
    sig = np.sqrt(np.einsum("kii->ki", P_np))
    agree = max(_rel(x_k, x_np, np.maximum(np.abs(x_np), sig)),
                _rel(P_k, P_np, sig[:, :, None] * sig[:, None, :]))
    row("update", lambda: update_numpy(xp[sel], Pp[sel], rv[sel], at[sel], kept),
        lambda: kernels.cv_radar_update(*args, uti, udi, *plots), agree)
    # the tracker's path: coarse gate, exact gate (exact=False), assignment, update
    path = [r for r in rows if r["step"] != "exact gate"]
    total = {k: sum(r[k] for r in path) for k in ("numpy_ms", "numpy_best_ms", "kernel_ms",
                                                   "kernel_best_ms")}
    rows.append({"step": "total (exact=False)", **total,
                 "speedup": total["numpy_ms"] / total["kernel_ms"],
                 "agree": max(r["agree"] for r in path)})
    return {"tracks": n, "detections": int(p["z"].shape[0]), "candidate_pairs": int(ti.size),
            "gated_pairs": int(gti.size), "assigned": int(chosen.size),
            "radial_velocity": use_rv, "repeat": repeat,
            "clock": "cpu" if _CLOCK is time.thread_time else "wall", "steps": rows}


def _print(results: list[dict[str, Any]], first: dict[str, float],
           cold: dict[str, float] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for res in results:
        table = Table(title=(
            f"skyfence.track kernels, one radar scan: {res['tracks']:,} tracks, "
            f"{res['detections']:,} plots, {res['candidate_pairs']:,} candidate pairs, "
            f"{res['gated_pairs']:,} gated, {res['assigned']:,} assigned "
            f"(radial velocity {'on' if res['radial_velocity'] else 'off'}); median of "
            f"{res['repeat']} (best), {res['clock']} time — numpy {np.__version__}, "
            f"{platform.machine()}"))
        table.add_column("step")
        table.add_column("numpy (ms)", justify="right")
        table.add_column("kernel (ms)", justify="right")
        table.add_column("speed-up", justify="right")
        table.add_column("agree", justify="right")
        for r in res["steps"]:
            table.add_row(r["step"], f"{r['numpy_ms']:.2f} ({r['numpy_best_ms']:.2f})",
                          f"{r['kernel_ms']:.2f} ({r['kernel_best_ms']:.2f})",
                          f"{r['speedup']:.1f}x", f"{r['agree']:.1e}")
        console.print(table)
    comp = Table(title="numba compilation (s), excluded from the timings above")
    comp.add_column("kernel")
    comp.add_column("first call here", justify="right")
    comp.add_column("cold (empty cache)", justify="right")
    for name, sec in first.items():
        comp.add_row(name, f"{sec:.2f}",
                     "—" if cold is None else f"{cold.get(name, float('nan')):.2f}")
    console.print(comp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=[10_000], help="track counts")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls; median and best")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-rv", action="store_true", help="plots without radial velocity")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the compilation with an empty cache (a subprocess)")
    parser.add_argument("--cpu", action="store_true",
                        help="time this thread's CPU time, not the wall clock (a shared machine)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    global _CLOCK
    _CLOCK = time.thread_time if args.cpu else time.perf_counter
    if args.repeat < 1 or any(n < 1 for n in args.tracks):
        parser.error("--tracks and --repeat must be positive")
    first = _first_calls()
    cold = None if args.no_cold else cold_compile()
    results = [run(n, args.repeat, args.seed, not args.no_rv) for n in args.tracks]
    if args.json:
        print(json.dumps({"results": results, "clock": "cpu" if args.cpu else "wall",
                          "first_call_s": first,
                          "cold_compile_s": cold, "numpy": np.__version__,
                          "machine": platform.machine()}, indent=2))
    else:
        _print(results, first, cold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
