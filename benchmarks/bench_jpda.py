"""Benchmark skyfence.track.jpda: JPDA weights plus the PDA update of a dense scene (not a test).

N targets (default 1,000 and 10,000) are spread uniformly in a box whose size
puts on average ``--crowding`` other targets inside each track's gate (default
1.5); each is tracked with a constant-velocity state (position, velocity; 3D) whose
position error is 15-30 m (1σ, per track), is detected with probability
``--pd`` as a 3D position report with σ = 10 m per axis, and ``--clutter`` × N
false reports per frame fall uniformly in the box.  Pairs are gated with the
chi-square gate (probability ``--pg``, 3 dof), which is also the ``Pg`` of the
weights; the clutter density is the false reports over the box volume (per m³).

Timed, per N (median of ``--repeat`` calls after one warm-up call, which also
loads or compiles the numba kernels):

* ``jpda_weights`` -- clusters, closed-form singletons, exact enumeration of
  clusters whose smaller side is at most ``--max-exact``, loopy belief
  propagation for the rest;
* ``pda_correct`` -- the batched PDA update of every track with a gated pair, in
  Joseph form (``R`` given; in the total) and in the short form (``R=None``).

The gate itself is not timed.  Threads of the numeric libraries are pinned to one::

    python benchmarks/bench_jpda.py
    python benchmarks/bench_jpda.py --sizes 1000 10000 100000 --crowding 3 --json
"""

from __future__ import annotations

import _onecore  # noqa: F401  (first: one thread per numeric library; finds skyfence)

# isort: split

import argparse
import json
import math
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import chi2

from skyfence.track import filters, jpda

SIGMA_Z = 10.0                     # m, position report noise per axis
SIGMA_TRACK = (15.0, 30.0)         # m, range of the tracks' position 1σ
SIGMA_VEL = 5.0                    # m/s, velocity 1σ


def make_scene(n: int, crowding: float, clutter: float, pd: float, pg: float,
               seed: int) -> dict[str, Any]:
    """Tracks, detections, the gated pairs and everything the two calls need."""
    rng = np.random.default_rng([seed, n])
    gate = float(chi2.ppf(pg, 3))
    # box side: `crowding` other targets expected inside a gate of the mean S
    s_mean = math.sqrt(np.mean(np.square(SIGMA_TRACK)) + SIGMA_Z**2)
    v_gate = 4.0 / 3.0 * math.pi * (math.sqrt(gate) * s_mean) ** 3
    side = (n * v_gate / max(crowding, 1e-9)) ** (1.0 / 3.0)
    truth = rng.uniform(0.0, side, (n, 3))
    sig_t = rng.uniform(*SIGMA_TRACK, n)
    # track states: truth plus their own error; covariances with a random orientation
    x = np.zeros((n, 6))
    x[:, :3] = truth + sig_t[:, None] * rng.standard_normal((n, 3))
    x[:, 3:] = rng.normal(0.0, 30.0, (n, 3))
    A = rng.standard_normal((n, 3, 3))
    Q_, _ = np.linalg.qr(A)
    scale = sig_t[:, None] * rng.uniform(0.7, 1.3, (n, 3))
    Ppos = np.einsum("nij,nj,nkj->nik", Q_, scale**2, Q_)
    P = np.zeros((n, 6, 6))
    P[:, :3, :3] = Ppos
    P[:, 3:, 3:] = SIGMA_VEL**2 * np.eye(3)
    P[:, :3, 3:] = P[:, 3:, :3] = 0.3 * sig_t[:, None, None] * SIGMA_VEL * np.eye(3)
    seen = rng.random(n) < pd
    n_clutter = int(round(clutter * n))
    z = np.concatenate([truth[seen] + SIGMA_Z * rng.standard_normal((int(seen.sum()), 3)),
                        rng.uniform(0.0, side, (n_clutter, 3))])
    z = z[rng.permutation(len(z))]
    k = len(z)
    lam = n_clutter / side**3 if n_clutter else 1.0 / side**3
    # gate: coarse k-d tree sphere, then the exact chi-square test
    H = np.zeros((n, 3, 6))
    H[:, [0, 1, 2], [0, 1, 2]] = 1.0
    R = np.broadcast_to(SIGMA_Z**2 * np.eye(3), (n, 3, 3)).copy()
    S = H @ P @ np.swapaxes(H, 1, 2) + R
    radius = math.sqrt(gate) * np.sqrt(np.linalg.eigvalsh(S)[:, -1])
    hits = cKDTree(z).query_ball_point(x[:, :3], radius)
    counts = np.fromiter((len(h) for h in hits), np.int64, n)
    ti = np.repeat(np.arange(n), counts)
    di = np.fromiter((j for h in hits for j in h), np.int64, int(counts.sum()))
    nu = z[di] - x[ti, :3]
    d2 = filters.mahalanobis2(nu, S[ti])
    ok = d2 <= gate
    ti, di, nu = ti[ok], di[ok], nu[ok]
    ll = filters.log_likelihood(nu, S[ti])
    return dict(n=n, k=k, side=side, lam=lam, x=x, P=P, H=H, S=S, R=R, ti=ti, di=di, nu=nu,
                ll=ll)


def _median_time(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """Time the two calls on one scene of ``n`` targets."""
    sc = make_scene(n, args.crowding, args.clutter, args.pd, args.pg, args.seed)
    ti, di, ll = sc["ti"], sc["di"], sc["ll"]

    def weights() -> jpda.JPDAWeights:
        return jpda.jpda_weights(ti, di, ll, n, sc["k"], args.pd, args.pg, sc["lam"],
                                 max_exact=args.max_exact)

    w = weights()                                   # warm-up (numba load or compile)
    upd, row = np.unique(ti, return_inverse=True)

    def correct(joseph: bool = True) -> object:
        return jpda.pda_correct(sc["x"][upd], sc["P"][upd], sc["nu"], sc["H"][upd],
                                sc["S"][upd], sc["R"][upd] if joseph else None, w.beta,
                                w.beta0[upd], row)

    correct()
    t_w = _median_time(weights, args.repeat)
    t_c = _median_time(correct, args.repeat)
    t_c_plain = _median_time(lambda: correct(joseph=False), args.repeat)
    # cluster statistics
    cl = w.cluster
    n_cl = np.bincount(cl)
    used = np.flatnonzero(n_cl)
    pairs_in = n_cl[cl]
    tracks_c = np.bincount(cl[np.unique(cl * np.int64(n) + ti, return_index=True)[1]])
    dets_c = np.bincount(cl[np.unique(cl * np.int64(sc["k"]) + di, return_index=True)[1]])
    small = np.minimum(tracks_c[used], dets_c[used])
    lbp_c = np.zeros(cl.max() + 1, bool)
    lbp_c[cl[w.approx]] = True
    total = t_w + t_c
    return {
        "tracks": n,
        "detections": sc["k"],
        "pairs": int(ti.size),
        "tracks_updated": int(upd.size),
        "clusters": int(used.size),
        "singleton_clusters": int((n_cl[used] == 1).sum()),
        "exact_clusters": int(((n_cl[used] > 1) & ~lbp_c[used]).sum()),
        "lbp_clusters": int(lbp_c[used].sum()),
        "pairs_in_multi_clusters": int((pairs_in > 1).sum()),
        "pairs_lbp": int(w.approx.sum()),
        "largest_cluster_tracks": int(tracks_c.max()),
        "largest_cluster_dets": int(dets_c.max()),
        "largest_smaller_side": int(small.max()),
        "jpda_weights_ms": t_w * 1e3,
        "pda_correct_ms": t_c * 1e3,
        "pda_correct_no_R_ms": t_c_plain * 1e3,
        "total_ms": total * 1e3,
        "us_per_track": total / n * 1e6,
        "clutter_density_per_m3": sc["lam"],
        "box_side_m": sc["side"],
    }


def _print(results: list[dict[str, Any]], meta: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=(
        f"skyfence.track.jpda: jpda_weights + pda_correct, median of {meta['repeat']}; "
        f"crowding {meta['crowding']:g}, clutter {meta['clutter']:g}·N, Pd {meta['pd']:g}, "
        f"Pg {meta['pg']:g}, max_exact {meta['max_exact']}"))
    cols = ("tracks", "detections", "pairs (in LBP clusters)", "clusters: 1×1 / exact / LBP",
            "largest cluster (tracks×dets)", "jpda_weights ms", "pda_correct ms",
            "pda_correct R=None ms", "total ms", "µs/track")
    for c in cols:
        table.add_column(c, justify="right")
    for r in results:
        table.add_row(f"{r['tracks']:,}", f"{r['detections']:,}",
                      f"{r['pairs']:,} ({r['pairs_lbp']:,})",
                      f"{r['singleton_clusters']:,} / {r['exact_clusters']:,} / "
                      f"{r['lbp_clusters']:,}",
                      f"{r['largest_cluster_tracks']}×{r['largest_cluster_dets']}",
                      f"{r['jpda_weights_ms']:.2f}", f"{r['pda_correct_ms']:.2f}",
                      f"{r['pda_correct_no_R_ms']:.2f}",
                      f"{r['total_ms']:.2f}", f"{r['us_per_track']:.2f}")
    con = Console()
    if not con.is_terminal:
        con = Console(width=170)
    con.print(table)
    con.print(f"[dim]{meta['platform']}; threads pinned to 1; gate not timed; total = "
              "jpda_weights + pda_correct (Joseph form, with R)[/dim]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000],
                        help="target counts N")
    parser.add_argument("--crowding", type=float, default=1.5,
                        help="mean number of other targets inside a track's gate")
    parser.add_argument("--clutter", type=float, default=0.2,
                        help="false reports per frame, times N")
    parser.add_argument("--pd", type=float, default=0.9, help="probability of detection")
    parser.add_argument("--pg", type=float, default=0.9995, help="gate probability")
    parser.add_argument("--max-exact", type=int, default=10,
                        help="jpda_weights max_exact (larger clusters: belief propagation)")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls; median kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if any(n < 1 for n in args.sizes) or args.repeat < 1 or args.crowding <= 0 \
            or args.clutter < 0 or not 0 < args.pd <= 1 or not 0 < args.pg < 1:
        parser.error("sizes >= 1, repeat >= 1, crowding > 0, clutter >= 0, 0 < pd <= 1, "
                     "0 < pg < 1")
    results = [run_one(n, args) for n in args.sizes]
    import numba
    import scipy

    meta = {
        "repeat": args.repeat, "crowding": args.crowding, "clutter": args.clutter,
        "pd": args.pd, "pg": args.pg, "max_exact": args.max_exact, "seed": args.seed,
        "sigma_report_m": SIGMA_Z, "sigma_track_m": list(SIGMA_TRACK),
        "platform": (f"Python {platform.python_version()}, numpy {np.__version__}, "
                     f"scipy {scipy.__version__}, numba {numba.__version__}, "
                     f"{platform.machine()}"),
    }
    if args.json:
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        _print(results, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
