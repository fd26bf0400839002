"""Joint probabilistic data association (JPDA), batched for dense scenes.

Two steps, both over all tracks of a sensor frame at once:

1. :func:`jpda_weights` turns the gated (track, detection) pairs and their
   Gaussian log-likelihoods into marginal association probabilities: ``β[p]``
   that pair ``p``'s detection is its track's, and ``β₀[t]`` that track ``t``
   has no detection in this frame.
2. :func:`pda_correct` updates each track from all of its gated detections,
   weighted by those probabilities (the PDA update of Bar-Shalom, Daum & Huang).

Model
-----
The parametric JPDA of Bar-Shalom, Daum & Huang, "The probabilistic data
association filter", IEEE Control Systems Magazine 29(6), 2009.  A *feasible
joint event* assigns every detection to at most one track and every track to at
most one detection (the rest are false alarms and missed tracks).  Its weight is::

    Π_(t, j) assigned  Pd_t · N(ν_tj; 0, S_tj) / λ_j   ·   Π_t unassigned  (1 − Pd_t · Pg_t)

where ``Pd`` is the probability of detection, ``Pg`` the gate probability (the
chance that a true detection falls inside the chi-square gate) and ``λ_j`` the
clutter (false alarm) spatial density at detection ``j``.  The marginal ``β_tj``
is the normalised total weight of the events that assign ``j`` to ``t``; ``β₀_t``
that of the events leaving ``t`` unassigned.  Dividing every event weight by the
constant ``Π_t (1 − Pd_t Pg_t)`` leaves one *likelihood ratio* per pair::

    r_tj = Pd_t · N(ν_tj; 0, S_tj) / (λ_j · (1 − Pd_t · Pg_t))

and the weight of an event is the product of the ratios of its assigned pairs.

Clusters and the three paths
----------------------------
The gated pairs form a bipartite graph of tracks and detections; its connected
components (clusters) are independent and each is solved on its own
(:func:`scipy.sparse.csgraph.connected_components`):

* **Singletons** -- clusters of one track and one detection, most clusters in a
  sparse sky -- are closed form and vectorised over all of them:
  ``β = r / (1 + r)``, ``β₀ = 1 / (1 + r)``.
* **Exact** -- every other cluster whose smaller side (tracks or detections) has at
  most ``max_exact`` members and whose table, ``(larger side + 1) · 2^(smaller
  side)`` floats, fits in ``EXACT_TABLE_LIMIT`` = 2^24.  The feasible joint events
  are enumerated exactly, summed by dynamic programming rather than listed one by
  one: the members of the larger side are taken in turn, and the state is the set
  of members of the smaller side already assigned (a bit mask).  A forward and a
  backward pass over those subsets give every marginal; the cost is about
  ``3 · pairs · 2^k`` multiply-adds for a smaller side of ``k`` (about 3 ms for a
  fully gated 10 × 10 cluster).  It runs in plain floating point when the bound
  ``k · log(1 + n · max r) < 600`` on the log of the total event weight (``n``
  members on the larger side) rules out overflow, else in log space.  The results
  equal a brute-force enumeration of the events to rounding.
* **Loopy belief propagation** -- all other clusters, following Williams & Lau,
  "Approximate evaluation of marginal association probabilities with belief
  propagation", IEEE Trans. Aerospace and Electronic Systems 50(4), 2014.
  Messages ``μ`` (track to detection) and ``ν`` (detection to track) are iterated
  on the cluster's edges::

      μ_tj = r_tj / (1 + Σ_{j' ≠ j} r_tj' ν_j't)      ν_jt = 1 / (1 + Σ_{t' ≠ t} μ_t'j)

  from ``ν = 1`` until no ``ν`` changes by more than ``lbp_tol`` relative (or
  ``lbp_max_iter`` sweeps), and the beliefs are
  ``β_tj = r_tj ν_jt / (1 + Σ_j' r_tj' ν_j't)``, ``β₀_t = 1 / (1 + Σ_j' r_tj' ν_j't)``.
  Williams & Lau prove the iteration converges.  On a cluster without cycles (one
  track and its detections, one detection and its tracks, a chain) the result is
  exact.  Elsewhere it is an approximation: on the crowded 3D scenes of
  ``benchmarks/bench_jpda.py`` the mean absolute error of the marginals is about
  0.015, but where two tracks compete for two detections with similar ratios (a
  short cycle) belief propagation is over-confident and single marginals can be
  off by 0.3-0.4.  Hence the exact path takes every cluster it can afford.  The
  leave-one-out sums are formed from prefix and suffix sums, never by
  subtraction, so a dominant ratio cannot cancel the others away; ratios are
  clipped to ``e^±300`` on this path only.

With ``max_exact = 0`` every non-singleton cluster goes to belief propagation.
The per-cluster work runs in :func:`numba.njit` kernels (compiled on first use,
cached on disk).

Units
-----
``log_lik`` is the natural log of the Gaussian density of the innovation,
``log N(ν; 0, S)`` (:func:`skyfence.track.filters.log_likelihood`), in units of
one over the product of the measurement's units (SI, radians).  The clutter
density ``λ`` must be in the same units: the expected number of false detections
*per frame* per unit of measurement-space volume (e.g. per m·rad·rad for a 3D
radar's range, azimuth, elevation; per m³ for a position report; per rad for a
bearing; times 1/(m/s) with radial velocity).  Detections with different
measurement vectors in one frame therefore take per-detection ``λ`` values.

Use from the tracker
--------------------
The gate of :class:`~skyfence.track.tracker.Tracker` produces pairs ``ti, di``
with innovations ``nu``, Jacobians ``H`` and innovation covariances ``S``, each
pair predicted to its own detection's time.  The weights may come straight from
those (``ll = filters.log_likelihood(nu, S)``), or from the per-track prediction
below (``filters.log_likelihood(nu_q, Sq[row])``, consistent with the update).
The PDA update needs one prediction per track: predict each track with a gated
pair once (to the frame's reference time, or the mean time of its gated
detections: within one sensor frame they differ by at most the scan's spread),
form ``zhat, H, S`` there and the innovations of all its detections against that
``zhat``, then call :func:`pda_correct`::

    w = jpda_weights(ti, di, ll, n_tracks, n_dets, pd, cfg.gate_probability, lam)
    upd, row = np.unique(ti, return_inverse=True)     # updated tracks; each pair's row
    xq, Pq = motion.predict(tr.x[upd], tr.P[upd], t_ref - tr.t[upd])
    zhat, Hq, Sq = filters.innovation(xq, Pq, model, site, rot, Rq)
    nu_q = model.residual(fr.z[di, :m], zhat[row])
    x, P = pda_correct(xq, Pq, nu_q, Hq, Sq, Rq, w.beta, w.beta0[upd], row)

All pairs of one :func:`pda_correct` call share one measurement model (one ``m``);
``Rq`` is one noise covariance per track, exact when the detections of a frame
share their noise, otherwise a representative one (e.g. the ``β``-weighted mean).

No function modifies its inputs.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import expit

__all__ = ["JPDAWeights", "jpda_weights", "pda_correct"]

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: largest ``max_exact`` accepted (2^20 subsets per member of the larger side)
MAX_EXACT_LIMIT = 20
#: largest table of the exact path, (larger side + 1) · 2^(smaller side) floats (128 MB)
EXACT_TABLE_LIMIT = 1 << 24
#: likelihood ratios are clipped to e^±_LBP_LOG_CAP on the belief-propagation path
_LBP_LOG_CAP = 300.0


class JPDAWeights(NamedTuple):
    """Marginal association probabilities from :func:`jpda_weights`.

    Attributes
    ----------
    beta : ndarray, shape (P,)
        Probability that pair ``p``'s detection originated from pair ``p``'s track.
    beta0 : ndarray, shape (n_tracks,)
        Probability that the track has no detection in the frame (1 for a track
        in no pair).
    cluster : ndarray, shape (P,)
        Connected-cluster label of each pair.
    approx : ndarray, shape (P,)
        True where the pair's cluster took the belief-propagation path.
    """

    beta: Array
    beta0: Array
    cluster: IntArray
    approx: NDArray[np.bool_]


# --------------------------------------------------------------------- validation


def _count(value: object, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < 0:
        raise ValueError(f"{owner} {name} must be a non-negative integer, got {value!r}")
    return int(value)


def _index(value: ArrayLike, name: str, upper: int, owner: str) -> IntArray:
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise ValueError(f"{owner} {name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{owner} {name} must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= upper:
        raise ValueError(
            f"{owner} {name} must lie in [0, {upper}), got values in "
            f"[{int(arr.min())}, {int(arr.max())}]"
        )
    return arr


def _per_item(value: ArrayLike, name: str, n: int, owner: str, what: str) -> Array:
    """A scalar or a ``(n,)`` array of finite floats, as a ``(n,)`` array."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise ValueError(
            f"{owner} {name} must be a scalar or of shape ({n},) (one per {what}), got "
            f"shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ValueError(f"{owner} {name} must be finite")
    return arr


def _real(value: object, name: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{owner} {name} must be a finite number, got {value!r}")
    return float(value)


# -------------------------------------------------------------------- kernels


@numba.njit(cache=True)
def _lse_add(mx: float, s: float, v: float) -> tuple[float, float]:
    """One term of an online log-sum-exp: the pair (max, Σ exp(· − max))."""
    if v == -np.inf:
        return mx, s
    if v <= mx:
        return mx, s + math.exp(v - mx)
    return v, s * math.exp(mx - v) + 1.0


@numba.njit(cache=True)
def _lse_end(mx: float, s: float) -> float:
    return mx + math.log(s) if s > 0.0 else -np.inf


@numba.njit(cache=True)
def _by_row(row: IntArray, col: IntArray, w: Array,
            nr: int) -> tuple[IntArray, IntArray, IntArray, Array]:
    """Edges grouped by row: the permutation, row pointers, columns and log ratios."""
    ne = row.size
    order = np.argsort(row, kind="mergesort")
    ptr = np.zeros(nr + 1, np.int64)
    for e in range(ne):
        ptr[row[e] + 1] += 1
    for k in range(nr):
        ptr[k + 1] += ptr[k]
    ecol = np.empty(ne, np.int64)
    ew = np.empty(ne)
    for q in range(ne):
        ecol[q] = col[order[q]]
        ew[q] = w[order[q]]
    return order, ptr, ecol, ew


@numba.njit(cache=True)
def _exact_cluster(row: IntArray, col: IntArray, w: Array, nr: int, nc: int,
                   beta: Array, miss_row: Array, miss_col: Array) -> None:
    """Exact marginals of one cluster by dynamic programming over subsets of columns.

    ``row, col, w``: each edge's row (0..nr-1), column (0..nc-1) and log ratio.
    Writes the marginal of each edge into ``beta`` (same order as the edges), and the
    probability that each row / column is unassigned into ``miss_row`` / ``miss_col``.
    ``B[k, mask]`` is the total weight of rows k.. using no column of ``mask``;
    ``F[mask]`` that of rows ..k-1 using exactly the columns of ``mask``.  Runs in
    plain floating point when the bound ``Z <= (1 + nr · max r)^nc`` on the total
    weight rules out overflow (``Z >= 1``: what underflows is negligible), otherwise
    in log space.
    """
    order, ptr, ecol, ew = _by_row(row, col, w, nr)
    wmax = -np.inf
    for q in range(ew.size):
        wmax = max(wmax, ew[q])
    bound = nc * math.log1p(nr * math.exp(min(wmax, 700.0)))
    if bound < 600.0:
        _exact_linear(order, ptr, ecol, ew, nr, nc, beta, miss_row, miss_col)
    else:
        _exact_log(order, ptr, ecol, ew, nr, nc, beta, miss_row, miss_col)


@numba.njit(cache=True)
def _exact_linear(order: IntArray, ptr: IntArray, ecol: IntArray, ew: Array, nr: int,
                  nc: int, beta: Array, miss_row: Array, miss_col: Array) -> None:
    """:func:`_exact_cluster` in plain floating point."""
    ne = ew.size
    er = np.empty(ne)
    for q in range(ne):
        er[q] = math.exp(ew[q])
    m = 1 << nc
    B = np.empty((nr + 1, m))
    B[nr, :] = 1.0
    for k in range(nr - 1, -1, -1):
        for mask in range(m):
            v = B[k + 1, mask]
            for q in range(ptr[k], ptr[k + 1]):
                bit = 1 << ecol[q]
                if mask & bit == 0:
                    v += er[q] * B[k + 1, mask | bit]
            B[k, mask] = v
    inv_z = 1.0 / B[0, 0]
    F = np.zeros(m)
    F[0] = 1.0
    Fn = np.empty(m)
    for k in range(nr):
        v = 0.0
        for mask in range(m):
            v += F[mask] * B[k + 1, mask]
        miss_row[k] = v * inv_z
        for q in range(ptr[k], ptr[k + 1]):
            bit = 1 << ecol[q]
            v = 0.0
            for mask in range(m):
                if mask & bit == 0:
                    v += F[mask] * B[k + 1, mask | bit]
            beta[order[q]] = er[q] * v * inv_z
        for mask in range(m):
            v = F[mask]
            for q in range(ptr[k], ptr[k + 1]):
                bit = 1 << ecol[q]
                if mask & bit != 0:
                    v += F[mask ^ bit] * er[q]
            Fn[mask] = v
        F[:] = Fn
    for j in range(nc):
        bit = 1 << j
        v = 0.0
        for mask in range(m):
            if mask & bit == 0:
                v += F[mask]
        miss_col[j] = v * inv_z


@numba.njit(cache=True)
def _exact_log(order: IntArray, ptr: IntArray, ecol: IntArray, ew: Array, nr: int,
               nc: int, beta: Array, miss_row: Array, miss_col: Array) -> None:
    """:func:`_exact_cluster` in log space (for likelihood ratios too large to multiply)."""
    m = 1 << nc
    B = np.empty((nr + 1, m))
    B[nr, :] = 0.0
    for k in range(nr - 1, -1, -1):
        for mask in range(m):
            mx, s = B[k + 1, mask], 1.0          # row k unassigned (never -inf: B >= 0)
            for q in range(ptr[k], ptr[k + 1]):
                bit = 1 << ecol[q]
                if mask & bit == 0:
                    mx, s = _lse_add(mx, s, ew[q] + B[k + 1, mask | bit])
            B[k, mask] = _lse_end(mx, s)
    log_z = B[0, 0]
    F = np.full(m, -np.inf)
    F[0] = 0.0
    Fn = np.empty(m)
    for k in range(nr):
        mx, s = -np.inf, 0.0
        for mask in range(m):
            mx, s = _lse_add(mx, s, F[mask] + B[k + 1, mask])
        miss_row[k] = math.exp(_lse_end(mx, s) - log_z)
        for q in range(ptr[k], ptr[k + 1]):
            bit = 1 << ecol[q]
            mx, s = -np.inf, 0.0
            for mask in range(m):
                if mask & bit == 0:
                    mx, s = _lse_add(mx, s, F[mask] + B[k + 1, mask | bit])
            beta[order[q]] = math.exp(ew[q] + _lse_end(mx, s) - log_z)
        for mask in range(m):
            mx, s = -np.inf, 0.0
            mx, s = _lse_add(mx, s, F[mask])
            for q in range(ptr[k], ptr[k + 1]):
                bit = 1 << ecol[q]
                if mask & bit != 0:
                    mx, s = _lse_add(mx, s, F[mask ^ bit] + ew[q])
            Fn[mask] = _lse_end(mx, s)
        F[:] = Fn
    for j in range(nc):
        bit = 1 << j
        mx, s = -np.inf, 0.0
        for mask in range(m):
            if mask & bit == 0:
                mx, s = _lse_add(mx, s, F[mask])
        miss_col[j] = math.exp(_lse_end(mx, s) - log_z)


@numba.njit(cache=True)
def _lbp_cluster(lt: IntArray, ld: IntArray, w: Array, nt: int, nd: int, tol: float,
                 max_iter: int, beta: Array, beta0: Array) -> int:
    """Loopy belief propagation (Williams & Lau 2014) on one cluster's edges.

    ``lt, ld, w``: each edge's local track, local detection and log ratio, the edges
    sorted by track.  Writes the track-side beliefs into ``beta`` (per edge) and
    ``beta0`` (per track); returns the number of sweeps.  Leave-one-out sums are a
    prefix plus a suffix sum (no subtraction, so no cancellation).
    """
    ne = lt.size
    r = np.empty(ne)
    for e in range(ne):
        r[e] = math.exp(min(max(w[e], -_LBP_LOG_CAP), _LBP_LOG_CAP))
    tptr = np.zeros(nt + 1, np.int64)
    dptr = np.zeros(nd + 1, np.int64)
    for e in range(ne):
        tptr[lt[e] + 1] += 1
        dptr[ld[e] + 1] += 1
    for k in range(nt):
        tptr[k + 1] += tptr[k]
    for k in range(nd):
        dptr[k + 1] += dptr[k]
    by_d = np.argsort(ld, kind="mergesort")
    nu = np.ones(ne)        # detection -> track, by edge
    mu = np.empty(ne)       # track -> detection, by edge
    pre = np.empty(ne)      # prefix sums (scratch)
    sweeps = 0
    for _ in range(max_iter):
        sweeps += 1
        for t in range(nt):
            a, b = tptr[t], tptr[t + 1]
            acc = 0.0
            for e in range(a, b):
                pre[e] = acc
                acc += r[e] * nu[e]
            acc = 0.0
            for e in range(b - 1, a - 1, -1):
                mu[e] = r[e] / (1.0 + pre[e] + acc)
                acc += r[e] * nu[e]
        delta = 0.0
        for j in range(nd):
            a, b = dptr[j], dptr[j + 1]
            acc = 0.0
            for i in range(a, b):
                pre[i] = acc
                acc += mu[by_d[i]]
            acc = 0.0
            for i in range(b - 1, a - 1, -1):
                e = by_d[i]
                new = 1.0 / (1.0 + pre[i] + acc)
                acc += mu[e]
                change = abs(new - nu[e]) / nu[e]
                if change > delta:
                    delta = change
                nu[e] = new
        if delta <= tol:
            break
    for t in range(nt):
        a, b = tptr[t], tptr[t + 1]
        total = 1.0
        for e in range(a, b):
            total += r[e] * nu[e]
        for e in range(a, b):
            beta[e] = r[e] * nu[e] / total
        beta0[t] = 1.0 / total
    return sweeps


@numba.njit(cache=True)
def _solve_clusters(starts: IntArray, tstart: IntArray, lt: IntArray, ld: IntArray,
                    nt: IntArray, nd: IntArray, w: Array, max_exact: int, tol: float,
                    max_iter: int, beta: Array, beta0: Array,
                    approx: NDArray[np.bool_]) -> None:
    """Marginals of every non-singleton cluster (pairs sorted by cluster, then track)."""
    for c in range(starts.size - 1):
        a, b = starts[c], starts[c + 1]
        t0 = tstart[c]
        ntc, ndc = nt[c], nd[c]
        small, big = min(ntc, ndc), max(ntc, ndc)
        # (the shift only runs once small <= max_exact <= 20)
        if small <= max_exact and (big + 1) << small <= EXACT_TABLE_LIMIT:
            miss_t = np.empty(ntc)
            miss_d = np.empty(ndc)
            if ndc <= ntc:   # subsets of detections, tracks taken in turn
                _exact_cluster(lt[a:b], ld[a:b], w[a:b], ntc, ndc, beta[a:b], miss_t, miss_d)
            else:            # subsets of tracks, detections taken in turn
                _exact_cluster(ld[a:b], lt[a:b], w[a:b], ndc, ntc, beta[a:b], miss_d, miss_t)
            beta0[t0:t0 + ntc] = miss_t
        else:
            _lbp_cluster(lt[a:b], ld[a:b], w[a:b], ntc, ndc, tol, max_iter, beta[a:b],
                         beta0[t0:t0 + ntc])
            approx[c] = True


# ----------------------------------------------------------------------- public


def jpda_weights(
    track_idx: ArrayLike,
    det_idx: ArrayLike,
    log_lik: ArrayLike,
    n_tracks: int,
    n_dets: int,
    pd: ArrayLike,
    pg: ArrayLike,
    clutter_density: ArrayLike,
    *,
    max_exact: int = 10,
    lbp_tol: float = 1e-8,
    lbp_max_iter: int = 1000,
) -> JPDAWeights:
    """Marginal JPDA association probabilities of the gated pairs of one frame.

    See the module docstring for the model, the units and which clusters are solved
    in closed form, exactly, or by loopy belief propagation.

    Parameters
    ----------
    track_idx, det_idx : array_like of int, shape (P,)
        The gated pairs (each pair at most once): track in ``[0, n_tracks)``,
        detection in ``[0, n_dets)``.
    log_lik : array_like, shape (P,)
        ``log N(ν; 0, S)`` of each pair (finite or ``-inf``).
    n_tracks, n_dets : int
        Sizes of the two sets.
    pd : float or array_like, shape (n_tracks,)
        Probability of detection, in ``[0, 1]``, for all tracks or per track.
    pg : float or array_like, shape (n_tracks,)
        Gate probability, in ``(0, 1)`` (the chi-square gate's probability).
    clutter_density : float or array_like, shape (n_dets,)
        Clutter spatial density ``λ > 0``, for all detections or per detection:
        expected false detections per frame per unit of measurement-space volume,
        in the units of the densities ``exp(log_lik)``.
    max_exact : int, optional
        Clusters whose smaller side (tracks or detections) has at most this many
        members are solved exactly (default 10, at most 20; and only if the table
        fits in ``EXACT_TABLE_LIMIT``); the others by loopy belief propagation.
        0 sends every non-singleton cluster to belief propagation.
    lbp_tol : float, optional
        Belief propagation stops when no message ``ν`` changes by more than this,
        relative, in a sweep (default 1e-8).
    lbp_max_iter : int, optional
        ... or after this many sweeps (default 1000).

    Returns
    -------
    JPDAWeights
        ``beta (P,)``, ``beta0 (n_tracks,)``, ``cluster (P,)`` and ``approx (P,)``.
        Per track ``beta0 + Σ beta = 1``; per detection ``Σ beta <= 1`` (up to the
        convergence of belief propagation on its path).

    Raises
    ------
    ValueError
        On a shape or index out of range, a duplicate pair, a NaN or ``+inf``
        log-likelihood, ``pd`` outside [0, 1], ``pg`` outside (0, 1), a clutter
        density that is not positive, or bad options; the message names the argument.

    Examples
    --------
    One track, one detection with likelihood ratio ``r = 0.9·1/(0.1·(1 − 0.9·0.99))``:

    >>> w = jpda_weights([0], [0], [0.0], 1, 1, 0.9, 0.99, 0.1)
    >>> r = 0.9 / (0.1 * (1 - 0.9 * 0.99))
    >>> bool(np.isclose(w.beta[0], r / (1 + r))), bool(np.isclose(w.beta0[0], 1 / (1 + r)))
    (True, True)
    """
    owner = "jpda_weights"
    n_tracks = _count(n_tracks, "n_tracks", owner)
    n_dets = _count(n_dets, "n_dets", owner)
    ti = _index(track_idx, "track_idx", n_tracks, owner)
    di = _index(det_idx, "det_idx", n_dets, owner)
    p = ti.size
    if di.size != p:
        raise ValueError(
            f"{owner} track_idx and det_idx must have the same length, got {p} and {di.size}"
        )
    ll = np.asarray(log_lik, dtype=np.float64)
    if ll.shape != (p,):
        raise ValueError(f"{owner} log_lik must be of shape ({p},), got {ll.shape}")
    if np.isnan(ll).any() or (ll == np.inf).any():
        raise ValueError(f"{owner} log_lik must be finite or -inf (no NaN, no +inf)")
    pd_t = _per_item(pd, "pd", n_tracks, owner, "track")
    if ((pd_t < 0.0) | (pd_t > 1.0)).any():
        raise ValueError(f"{owner} pd must lie in [0, 1], got values in "
                         f"[{pd_t.min():g}, {pd_t.max():g}]")
    pg_t = _per_item(pg, "pg", n_tracks, owner, "track")
    if ((pg_t <= 0.0) | (pg_t >= 1.0)).any():
        raise ValueError(f"{owner} pg must lie in (0, 1), got values in "
                         f"[{pg_t.min():g}, {pg_t.max():g}]")
    lam = _per_item(clutter_density, "clutter_density", n_dets, owner, "detection")
    if (lam <= 0.0).any():
        raise ValueError(f"{owner} clutter_density must be positive, got minimum {lam.min():g}")
    if isinstance(max_exact, bool) or not isinstance(max_exact, Integral) \
            or not 0 <= max_exact <= MAX_EXACT_LIMIT:
        raise ValueError(f"{owner} max_exact must be an integer in [0, {MAX_EXACT_LIMIT}], "
                         f"got {max_exact!r}")
    lbp_tol = _real(lbp_tol, "lbp_tol", owner)
    if lbp_tol <= 0.0:
        raise ValueError(f"{owner} lbp_tol must be positive, got {lbp_tol!r}")
    if isinstance(lbp_max_iter, bool) or not isinstance(lbp_max_iter, Integral) \
            or lbp_max_iter < 1:
        raise ValueError(f"{owner} lbp_max_iter must be a positive integer, got "
                         f"{lbp_max_iter!r}")

    beta0 = np.ones(n_tracks)
    if p == 0:
        return JPDAWeights(np.empty(0), beta0, np.empty(0, np.int64), np.zeros(0, bool))
    key = ti * np.int64(n_dets) + di
    if np.unique(key).size != p:
        raise ValueError(f"{owner} track_idx and det_idx hold a duplicate pair")

    # log likelihood ratio of each pair against "track missed, detection clutter"
    pdp = pd_t[ti]
    with np.errstate(divide="ignore"):
        logr = np.log(pdp) + ll - np.log(lam[di]) - np.log1p(-pdp * pg_t[ti])

    nodes = n_tracks + n_dets
    graph = coo_matrix((np.ones(p), (ti, n_tracks + di)), shape=(nodes, nodes))
    _, label = connected_components(graph, directed=False)
    cl = label[ti].astype(np.int64)
    counts = np.bincount(cl)
    single = counts[cl] == 1
    beta = np.empty(p)
    approx = np.zeros(p, bool)

    # singletons: closed form, all at once
    s = np.flatnonzero(single)
    beta[s] = expit(logr[s])
    beta0[ti[s]] = expit(-logr[s])

    multi = np.flatnonzero(~single)
    if multi.size:
        order = multi[np.lexsort((ti[multi], cl[multi]))]   # by cluster, then track
        c, t, d = cl[order], ti[order], di[order]
        new_c = np.r_[True, c[1:] != c[:-1]]
        starts = np.flatnonzero(new_c)
        bounds = np.r_[starts, c.size].astype(np.int64)
        # tracks: consecutive within a cluster after the sort
        new_t = new_c | np.r_[True, t[1:] != t[:-1]]
        t_rank = np.cumsum(new_t) - 1
        tstart = t_rank[starts]
        lt = t_rank - np.repeat(tstart, np.diff(bounds))
        nt = np.diff(np.r_[tstart, t_rank[-1] + 1])
        # detections: rank of (cluster, detection)
        d_key = c * np.int64(n_dets) + d
        _, d_rank = np.unique(d_key, return_inverse=True)
        d_rank = d_rank.reshape(-1).astype(np.int64)
        d_first = np.minimum.reduceat(d_rank, starts)
        ld = d_rank - np.repeat(d_first, np.diff(bounds))
        nd = np.maximum.reduceat(d_rank, starts) - d_first + 1
        b_sorted = np.empty(order.size)
        b0_flat = np.empty(int(t_rank[-1]) + 1)
        approx_c = np.zeros(starts.size, bool)
        _solve_clusters(bounds, tstart.astype(np.int64), lt.astype(np.int64), ld,
                        nt.astype(np.int64), nd.astype(np.int64), logr[order],
                        int(max_exact), lbp_tol, int(lbp_max_iter), b_sorted, b0_flat,
                        approx_c)
        beta[order] = b_sorted
        beta0[t[new_t]] = b0_flat
        approx[order] = np.repeat(approx_c, np.diff(bounds))
    return JPDAWeights(beta, beta0, cl, approx)


def pda_correct(
    xp: ArrayLike,
    Pp: ArrayLike,
    nu: ArrayLike,
    H: ArrayLike,
    S: ArrayLike,
    R: ArrayLike | None,
    beta: ArrayLike,
    beta0: ArrayLike,
    pair_track: ArrayLike,
    *,
    prob_tol: float = 1e-6,
) -> tuple[Array, Array]:
    """(J)PDA state update of ``N`` tracks, each from all of its gated detections.

    For each track, with its pairs ``j``, the gain ``K = P Hᵀ S⁻¹`` (one linearisation
    per track, at its predicted state), the combined innovation ``ν = Σ β_j ν_j`` and::

        x⁺ = x + K ν
        P⁺ = β₀ P + (1 − β₀) P_c + K (Σ β_j ν_j ν_jᵀ − ν νᵀ) Kᵀ

    where ``P_c`` is the covariance after a Kalman update with a single detection:
    ``(I − K H) P (I − K H)ᵀ + K R Kᵀ`` (Joseph form) when ``R`` is given,
    ``P − K S Kᵀ`` when ``R`` is None (equal for the optimal gain).  A track with
    no pairs and ``β₀ = 1`` keeps its prediction.  Vectorised over tracks.

    Parameters
    ----------
    xp : array_like, shape (N, d)
        Predicted states, one per track (at a common time for all its pairs).
    Pp : array_like, shape (N, d, d)
        Their covariances.
    nu : array_like, shape (P, m)
        Innovation of each pair, ``residual(z_j, h(xp[pair_track[j]]))``: formed
        against the track's one predicted measurement.
    H : array_like, shape (N, m, d)
        Measurement Jacobian per track at ``xp``.
    S : array_like, shape (N, m, m)
        Innovation covariance per track, ``H P Hᵀ + R``.
    R : array_like, shape (N, m, m), or None
        Measurement noise per track (Joseph form), or None for ``P − K S Kᵀ``.
    beta : array_like, shape (P,)
        Association probability of each pair (e.g. ``jpda_weights(...).beta``).
    beta0 : array_like, shape (N,)
        Probability of no detection per track (``jpda_weights(...).beta0`` taken
        at the tracks' global indices).
    pair_track : array_like of int, shape (P,)
        Row of ``xp`` each pair belongs to.
    prob_tol : float, optional
        Tolerance on ``β₀ + Σ β = 1`` per track (default 1e-6).

    Returns
    -------
    x_post : ndarray, shape (N, d)
    P_post : ndarray, shape (N, d, d)
        Symmetrised.

    Raises
    ------
    ValueError
        On inconsistent shapes, non-finite values, a probability outside [0, 1],
        a track whose probabilities do not sum to 1, or a ``pair_track`` out of range;
        the message names the argument.
    """
    owner = "pda_correct"
    xp = np.asarray(xp, dtype=np.float64)
    Pp = np.asarray(Pp, dtype=np.float64)
    if xp.ndim != 2:
        raise ValueError(f"{owner} xp must be of shape (N, d), got {xp.shape}")
    n, d = xp.shape
    nu = np.asarray(nu, dtype=np.float64)
    if nu.ndim != 2:
        raise ValueError(f"{owner} nu must be of shape (P, m), got {nu.shape}")
    p, m = nu.shape
    H = np.asarray(H, dtype=np.float64)
    S = np.asarray(S, dtype=np.float64)
    shapes = {"Pp": (Pp, (n, d, d)), "H": (H, (n, m, d)), "S": (S, (n, m, m))}
    if R is not None:
        R = np.asarray(R, dtype=np.float64)
        shapes["R"] = (R, (n, m, m))
    for name, (arr, want) in shapes.items():
        if arr.shape != want:
            raise ValueError(f"{owner} {name} must be of shape {want}, got {arr.shape}")
    for name, arr in (("xp", xp), ("nu", nu), *((k, v[0]) for k, v in shapes.items())):
        if not np.isfinite(arr).all():
            raise ValueError(f"{owner} {name} must be finite")
    beta = np.asarray(beta, dtype=np.float64)
    beta0 = np.asarray(beta0, dtype=np.float64)
    if beta.shape != (p,):
        raise ValueError(f"{owner} beta must be of shape ({p},), got {beta.shape}")
    if beta0.shape != (n,):
        raise ValueError(f"{owner} beta0 must be of shape ({n},), got {beta0.shape}")
    for name, arr in (("beta", beta), ("beta0", beta0)):
        if not ((arr >= 0.0) & (arr <= 1.0)).all():   # also refuses NaN
            raise ValueError(f"{owner} {name} must lie in [0, 1]")
    row = _index(pair_track, "pair_track", n, owner)
    if row.shape != (p,):
        raise ValueError(f"{owner} pair_track must be of shape ({p},), got {row.shape}")
    prob_tol = _real(prob_tol, "prob_tol", owner)

    total = beta0 + np.bincount(row, weights=beta, minlength=n)
    bad = np.abs(total - 1.0) > prob_tol
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{owner} beta0 + the sum of beta over each track's pairs must be 1 "
                         f"(within prob_tol); track row {k} sums to {total[k]!r}")

    # Σ β ν and Σ β ν νᵀ per track, by one sparse product
    A = csr_matrix((beta, (row, np.arange(p))), shape=(n, p))
    outer = (nu[:, :, None] * nu[:, None, :]).reshape(p, m * m)
    nu_c = np.asarray(A @ nu).reshape(n, m)
    spread = np.asarray(A @ outer).reshape(n, m, m)
    spread -= nu_c[:, :, None] * nu_c[:, None, :]

    PHt = Pp @ np.swapaxes(H, 1, 2)                                     # (N, d, m)
    gain = np.swapaxes(np.linalg.solve(S, np.swapaxes(PHt, 1, 2)), 1, 2)  # P Hᵀ S⁻¹
    gT = np.swapaxes(gain, 1, 2)
    x_post = xp + (gain @ nu_c[:, :, None])[:, :, 0]
    b0 = beta0[:, None, None]
    if R is None:
        # β₀ P + (1 − β₀)(P − K S Kᵀ) + K Σ̃ Kᵀ  =  P + K (Σ̃ − (1 − β₀) S) Kᵀ
        spread -= (1.0 - b0) * S
        P_post = gain @ spread @ gT
        P_post += Pp
    else:
        # (1 − β₀) (I − K H) P (I − K H)ᵀ + β₀ P + K ((1 − β₀) R + Σ̃) Kᵀ
        ikh = np.eye(d) - gain @ H
        P_post = ikh @ Pp @ np.swapaxes(ikh, 1, 2)
        P_post *= 1.0 - b0
        P_post += b0 * Pp
        spread += (1.0 - b0) * R
        P_post += gain @ spread @ gT
    P_post += np.swapaxes(P_post, 1, 2)
    P_post *= 0.5
    return x_post, P_post
