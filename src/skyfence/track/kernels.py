"""Compiled (numba) kernels for the tracker's hot loops on constant-velocity tracks.

Each kernel fuses, per (track, detection) pair, what the numpy path does in
several batched passes, so that no ``(K, 6, 6)`` temporaries are formed:

:func:`cv_radar_gate`
    Predict the track to the detection's time (:class:`~skyfence.track.motion.
    ConstantVelocity`), form the radar's predicted measurement, Jacobian and
    innovation covariance (:class:`~skyfence.track.measurement.Radar3D` or
    :class:`~skyfence.track.measurement.Radar2D`, with or without the radial
    velocity), the wrapped residual and the squared Mahalanobis distance, as
    ``motion.predict → filters.innovation → model.residual → filters.mahalanobis2``;
    optionally (``exact=False``) skipping the pairs whose range or azimuth residual
    alone already puts them outside the gate.
:func:`cv_radar_update`
    The same prediction and innovation followed by the EKF correction of
    :func:`~skyfence.track.filters.ekf_correct` (Joseph form, symmetrised), or for
    a detection older than its track the tracker's one-step-lag out-of-sequence
    update.
:func:`polar_candidates`
    The coarse gate of a radar frame in range and azimuth (the pairs, in the same
    order, of the tracker's sorted ``searchsorted`` windows).
:func:`coarse_reach`, :func:`polar_windows`
    The per-track figures the coarse gate needs (position and its uncertainty
    predicted to the frame, how far the track may move within it; its window in a
    radar's range and azimuth), one pass over the track table instead of a dozen
    numpy passes per frame.
:func:`radar_looks`
    The M-of-N looks of one frame: tracks the sensor has seen and covers, and for
    a rotating radar the passes of its beam over each.
:func:`local_velocity_sigma`
    The output rows' velocity and position sigmas in the local east/north/up at
    each track.
:func:`gnn_clusters`
    Connected clusters of the gate graph and their optimal assignment, used by
    :func:`skyfence.track.associate.gnn_assign`.

The arithmetic follows the numpy code step by step without ``fastmath``, so the
results agree with it to rounding (about 1e-12 relative; the tests ask 1e-9).
Division by zero gives inf/NaN as in numpy (``error_model="numpy"``).

Compilation: the compiled kernels (gate and update share one, so their common
code is compiled once; the small helpers are inlined into it, which also spares
a reference count per array per pair).  The machine code is cached on disk
(``cache=True``, in ``__pycache__`` or ``NUMBA_CACHE_DIR``): the first call in a
fresh environment compiles, for some seconds (``benchmarks/bench_kernels.py``
reports how long), later processes load it in well under a second.  Each public
function coerces its inputs to C-contiguous float64 / int64 / bool arrays, so
each kernel is compiled for one signature only.
"""

from __future__ import annotations

import math
from time import perf_counter

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

__all__ = ["coarse_reach", "cv_radar_gate", "cv_radar_update", "gnn_clusters",
           "local_velocity_sigma", "polar_candidates", "polar_candidates_numpy",
           "polar_windows", "radar_looks", "warm_up"]

Array = NDArray[np.float64]

_TWO_PI = 2.0 * math.pi
_PI = math.pi
_THIRD = 1.0 / 3.0  # motion._KinematicChain._noise_coef(0, 0) for CV
_NO_GATE = np.full(5, np.inf)


# ------------------------------------------------------------------ scalar helpers


@njit(cache=True, error_model="numpy", inline="always")
def _mod(a: float, b: float) -> float:  # pragma: no cover - compiled
    """``np.mod`` of floats for ``b > 0``: Python's ``%`` (the result has the sign of ``b``).

    Within two turns (``|a| < 2b``, every angle here) without ``fmod``, a library call
    that cost a fifth of the gate: ``fmod(a, b)`` is then ``a``, ``a − b`` or ``a + b``,
    each exact (Sterbenz), and the same sign correction follows, so the result is the
    same to the bit (a zero is +0, as ``%`` gives).
    """
    if -2.0 * b < a < 2.0 * b:
        r = a - b if a >= b else (a + b if a <= -b else a)
        return r + b if r < 0.0 else r + 0.0
    return a % b


@njit(cache=True, error_model="numpy", inline="always")
def _wrap(a: float) -> float:  # pragma: no cover - compiled
    """An angle difference wrapped to (−π, π] as ``MeasurementModel.residual`` does."""
    return _PI - _mod(_PI - a, _TWO_PI)


@njit(cache=True, error_model="numpy", inline="always")
def _predict_cv(x: Array, P: Array, i: int, dt: float, q: float, qv: float, xp: Array,
                Pp: Array) -> None:  # pragma: no cover - compiled
    """Track ``i`` moved ``dt`` seconds: ``ConstantVelocity.predict`` for one state."""
    for a in range(3):
        xp[a] = x[i, a] + dt * x[i, a + 3]
        xp[a + 3] = x[i, a + 3]
    # F P Fᵀ by block rows, then block columns (as motion._KinematicChain.predict)
    for r in range(6):
        for c in range(6):
            Pp[r, c] = P[i, r, c]
    for r in range(3):
        for c in range(6):
            Pp[r, c] += dt * Pp[r + 3, c]
    for r in range(6):
        for c in range(3):
            Pp[r, c] += dt * Pp[r, c + 3]
    adt = abs(dt)
    v00 = _THIRD * adt * (dt * dt)
    v01 = 0.5 * adt * dt
    v11 = 1.0 * adt
    for a in range(3):
        dens = qv if a == 2 else q
        Pp[a, a] += v00 * dens
        Pp[a, a + 3] += v01 * dens
        Pp[a + 3, a] += v01 * dens
        Pp[a + 3, a + 3] += v11 * dens
    for r in range(6):
        for c in range(r + 1, 6):
            s = (Pp[r, c] + Pp[c, r]) * 0.5
            Pp[r, c] = s
            Pp[c, r] = s


@njit(cache=True, error_model="numpy", inline="always")
def _radar(xp: Array, site: Array, rot: Array, elevation: bool, rv: bool, zhat: Array,
           H: Array) -> int:  # pragma: no cover - compiled
    """Predicted radar measurement and its Jacobian (``_Spherical.h`` / ``.jacobian``).

    Fills ``zhat[:m]`` and ``H[:m, :]``; returns ``m``.
    """
    dp0 = xp[0] - site[0]
    dp1 = xp[1] - site[1]
    dp2 = xp[2] - site[2]
    e = rot[0, 0] * dp0 + rot[0, 1] * dp1 + rot[0, 2] * dp2
    n = rot[1, 0] * dp0 + rot[1, 1] * dp1 + rot[1, 2] * dp2
    u = rot[2, 0] * dp0 + rot[2, 1] * dp1 + rot[2, 2] * dp2
    rho2 = e * e + n * n
    r2 = rho2 + u * u
    r = math.sqrt(r2)
    rho = math.sqrt(rho2)
    # rows in sensor axes (G), then H = G @ rot
    g0 = e / r
    g1 = n / r
    g2 = u / r
    zhat[0] = r
    az = _mod(math.atan2(e, n), _TWO_PI)
    zhat[1] = 0.0 if az >= _TWO_PI else az
    for c in range(6):
        for row in range(4):
            H[row, c] = 0.0
    for c in range(3):
        H[0, c] = g0 * rot[0, c] + g1 * rot[1, c] + g2 * rot[2, c]
        H[1, c] = (n / rho2) * rot[0, c] + (-e / rho2) * rot[1, c]
    m = 2
    if elevation:
        zhat[2] = math.atan2(u, rho)
        den = r2 * rho
        h0 = -u * e / den
        h1 = -u * n / den
        h2 = rho / r2
        for c in range(3):
            H[2, c] = h0 * rot[0, c] + h1 * rot[1, c] + h2 * rot[2, c]
        m = 3
    if rv:
        vx = xp[3]
        vy = xp[4]
        vz = xp[5]
        zhat[m] = (vx * dp0 + vy * dp1 + vz * dp2) / r
        l0 = dp0 / r
        l1 = dp1 / r
        l2 = dp2 / r
        rvl = l0 * vx + l1 * vy + l2 * vz
        H[m, 0] = (vx - rvl * l0) / r
        H[m, 1] = (vy - rvl * l1) / r
        H[m, 2] = (vz - rvl * l2) / r
        H[m, 3] = l0
        H[m, 4] = l1
        H[m, 5] = l2
        m += 1
    return m


@njit(cache=True, error_model="numpy", inline="always")
def _marginal_bound(xp: Array, Pp: Array, site: Array, rot: Array, z: Array, sigma: Array,
                    j: int) -> float:  # pragma: no cover - compiled
    """A lower bound of ``νᵀ S⁻¹ ν`` from the range and azimuth residuals alone:
    ``max(ν_r² / S_rr, ν_az² / S_az,az)`` (``νᵀ S⁻¹ ν >= ν_k² / S_kk`` for any component)."""
    dp0 = xp[0] - site[0]
    dp1 = xp[1] - site[1]
    dp2 = xp[2] - site[2]
    e = rot[0, 0] * dp0 + rot[0, 1] * dp1 + rot[0, 2] * dp2
    n = rot[1, 0] * dp0 + rot[1, 1] * dp1 + rot[1, 2] * dp2
    u = rot[2, 0] * dp0 + rot[2, 1] * dp1 + rot[2, 2] * dp2
    rho2 = e * e + n * n
    r = math.sqrt(rho2 + u * u)
    az = _mod(math.atan2(e, n), _TWO_PI)
    if az >= _TWO_PI:
        az = 0.0
    hr0 = (e * rot[0, 0] + n * rot[1, 0] + u * rot[2, 0]) / r
    hr1 = (e * rot[0, 1] + n * rot[1, 1] + u * rot[2, 1]) / r
    hr2 = (e * rot[0, 2] + n * rot[1, 2] + u * rot[2, 2]) / r
    ha0 = (n * rot[0, 0] - e * rot[1, 0]) / rho2
    ha1 = (n * rot[0, 1] - e * rot[1, 1]) / rho2
    ha2 = (n * rot[0, 2] - e * rot[1, 2]) / rho2
    s_rr = (hr0 * (Pp[0, 0] * hr0 + Pp[0, 1] * hr1 + Pp[0, 2] * hr2)
            + hr1 * (Pp[1, 0] * hr0 + Pp[1, 1] * hr1 + Pp[1, 2] * hr2)
            + hr2 * (Pp[2, 0] * hr0 + Pp[2, 1] * hr1 + Pp[2, 2] * hr2)
            + sigma[j, 0] * sigma[j, 0])
    s_aa = (ha0 * (Pp[0, 0] * ha0 + Pp[0, 1] * ha1 + Pp[0, 2] * ha2)
            + ha1 * (Pp[1, 0] * ha0 + Pp[1, 1] * ha1 + Pp[1, 2] * ha2)
            + ha2 * (Pp[2, 0] * ha0 + Pp[2, 1] * ha1 + Pp[2, 2] * ha2)
            + sigma[j, 1] * sigma[j, 1])
    nu_r = z[j, 0] - r
    nu_a = _wrap(z[j, 1] - az)
    return max(nu_r * nu_r / s_rr, nu_a * nu_a / s_aa)


@njit(cache=True, error_model="numpy", inline="always")
def _innovate(Pp: Array, H: Array, m: int, zhat: Array, z: Array, sigma: Array, j: int,
              elevation: bool, PHt: Array, S: Array,
              nu: Array) -> None:  # pragma: no cover - compiled
    """``P Hᵀ``, ``S = H P Hᵀ + R`` (symmetrised) and the wrapped residual ``ν``.

    The products run over all four rows of ``H`` (those past ``m`` are zero): loops of
    fixed length, which the compiler unrolls.
    """
    for a in range(6):
        for k in range(4):
            s = 0.0
            for b in range(6):
                s += Pp[a, b] * H[k, b]
            PHt[a, k] = s
    for k in range(4):
        for c in range(4):
            s = 0.0
            for a in range(6):
                s += H[k, a] * PHt[a, c]
            S[k, c] = s
    for k in range(m):
        S[k, k] += sigma[j, k] * sigma[j, k]
    for k in range(m):
        for c in range(k + 1, m):
            s = (S[k, c] + S[c, k]) * 0.5
            S[k, c] = s
            S[c, k] = s
    n_ang = 3 if elevation else 2  # range, azimuth(, elevation): angles are 1 (and 2)
    for k in range(m):
        d = z[j, k] - zhat[k]
        if k >= 1 and k < n_ang:
            d = _wrap(d)
        nu[k] = d


@njit(cache=True, error_model="numpy", inline="always")
def _ldl(S: Array, m: int, L: Array, D: Array) -> None:  # pragma: no cover - compiled
    """``S = L D Lᵀ`` (unit lower ``L``), no pivoting: S is symmetric positive definite."""
    for j in range(m):
        d = S[j, j]
        for k in range(j):
            d -= L[j, k] * L[j, k] * D[k]
        D[j] = d
        L[j, j] = 1.0
        for i in range(j + 1, m):
            s = S[i, j]
            for k in range(j):
                s -= L[i, k] * L[j, k] * D[k]
            L[i, j] = s / d


@njit(cache=True, error_model="numpy", inline="always")
def _ldl_solve(L: Array, D: Array, m: int, b: Array) -> None:  # pragma: no cover - compiled
    """Solve ``L D Lᵀ w = b`` in place."""
    for i in range(m):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * b[k]
        b[i] = s
    for i in range(m):
        b[i] /= D[i]
    for i in range(m - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, m):
            s -= L[k, i] * b[k]
        b[i] = s


@njit(cache=True, error_model="numpy", inline="always")
def _mahalanobis2(L: Array, D: Array, m: int, nu: Array,
                  y: Array) -> float:  # pragma: no cover - compiled
    """``νᵀ S⁻¹ ν = yᵀ D⁻¹ y`` with ``L y = ν`` (``y`` scratch)."""
    d2 = 0.0
    for i in range(m):
        s = nu[i]
        for k in range(i):
            s -= L[i, k] * y[k]
        y[i] = s
        d2 += s * s / D[i]
    return d2


# ------------------------------------------------------------------------ kernels


@njit(cache=True, error_model="numpy")
def _pair_kernel(x: Array, P: Array, t: Array, ti: NDArray[np.int64], di: NDArray[np.int64],
                 time: Array, z: Array, sigma: Array, use_rv: NDArray[np.bool_],
                 site: Array, rot: Array, q: float, qv: float, elevation: bool,
                 gate: Array, update: bool, oosm: bool,
                 exact: bool) -> tuple[Array, Array, Array, Array, Array]:  # pragma: no cover
    """Gate (``update`` False: d2, cost) or update (x, P, t) of every pair: one kernel,
    so that the shared prediction and innovation code is compiled once."""
    k_pairs = ti.size
    k_gate = 0 if update else k_pairs
    k_upd = k_pairs if update else 0
    d2 = np.empty(k_gate)
    cost = np.empty(k_gate)
    x_out = np.empty((k_upd, 6))
    P_out = np.empty((k_upd, 6, 6))
    t_out = np.empty(k_upd)
    xp = np.empty(6)
    Pp = np.empty((6, 6))
    zhat = np.empty(4)
    H = np.empty((4, 6))
    PHt = np.empty((6, 4))
    S = np.empty((4, 4))
    nu = np.empty(4)
    L = np.zeros((4, 4))
    D = np.empty(4)
    y = np.empty(4)
    K = np.empty((6, 4))
    w = np.empty(4)
    ikh = np.empty((6, 6))
    tmp = np.empty((6, 6))
    out = np.empty((6, 6))
    rr = np.empty(4)
    for k in range(k_pairs):
        i = ti[k]
        j = di[k]
        dt = time[j] - t[i]
        _predict_cv(x, P, i, dt, q, qv, xp, Pp)
        if not update and not exact:
            m = (3 if elevation else 2) + (1 if use_rv[j] else 0)
            g = gate[m]
            lb = _marginal_bound(xp, Pp, site, rot, z, sigma, j)
            if lb > g * (1.0 + 1e-6):
                d2[k] = lb
                cost[k] = np.inf
                continue
        m = _radar(xp, site, rot, elevation, use_rv[j], zhat, H)
        _innovate(Pp, H, m, zhat, z, sigma, j, elevation, PHt, S, nu)
        _ldl(S, m, L, D)
        if not update:
            v = _mahalanobis2(L, D, m, nu, y)
            d2[k] = v
            g = gate[m]
            cost[k] = v - g if v <= g else np.inf
            continue
        if oosm and dt < 0.0:
            # one-step-lag (Bar-Shalom B1): innovation at the retrodicted state, applied to
            # the current one through the cross covariance P Fᵀ Hᵀ (F: the CV step by dt)
            for a in range(6):
                for c in range(m):
                    s = 0.0
                    for b in range(3):
                        s += P[i, a, b] * H[c, b]
                    for b in range(3, 6):
                        s += P[i, a, b] * (H[c, b] + dt * H[c, b - 3])
                    PHt[a, c] = s
            for a in range(6):
                for c in range(m):
                    w[c] = PHt[a, c]
                _ldl_solve(L, D, m, w)
                for c in range(m):
                    K[a, c] = w[c]
            for a in range(6):
                s = 0.0
                for c in range(m):
                    s += K[a, c] * nu[c]
                x_out[k, a] = x[i, a] + s
            for a in range(6):
                for b in range(6):
                    s = 0.0
                    for c in range(m):
                        s += K[a, c] * PHt[b, c]
                    tmp[a, b] = P[i, a, b] - s
            for a in range(6):
                for b in range(6):
                    P_out[k, a, b] = (tmp[a, b] + tmp[b, a]) * 0.5
            t_out[k] = t[i]
            continue
        # K = P Hᵀ S⁻¹, row by row (S symmetric); columns past m stay zero
        for a in range(6):
            for c in range(m):
                w[c] = PHt[a, c]
            _ldl_solve(L, D, m, w)
            for c in range(4):
                K[a, c] = w[c] if c < m else 0.0
        for c in range(4):
            rr[c] = sigma[j, c] * sigma[j, c] if c < m else 0.0
        for a in range(6):
            s = 0.0
            for c in range(m):
                s += K[a, c] * nu[c]
            x_out[k, a] = xp[a] + s
        # Joseph form: (I - K H) P (I - K H)ᵀ + K R Kᵀ
        for a in range(6):
            for b in range(6):
                s = 0.0
                for c in range(4):
                    s += K[a, c] * H[c, b]
                ikh[a, b] = (1.0 if a == b else 0.0) - s
        for a in range(6):
            for b in range(6):
                s = 0.0
                for c in range(6):
                    s += ikh[a, c] * Pp[c, b]
                tmp[a, b] = s
        for a in range(6):
            for b in range(6):
                s = 0.0
                for c in range(6):
                    s += tmp[a, c] * ikh[b, c]
                kr = 0.0
                for c in range(4):
                    kr += K[a, c] * (rr[c] * K[b, c])
                out[a, b] = s + kr
        for a in range(6):
            for b in range(6):
                P_out[k, a, b] = (out[a, b] + out[b, a]) * 0.5
        t_out[k] = time[j]
    return d2, cost, x_out, P_out, t_out


@njit(cache=True, error_model="numpy", inline="always")
def _less(a: float, b: float) -> bool:  # pragma: no cover - compiled
    """numpy's sort order: NaN after every number."""
    return a < b or (b != b and a == a)


@njit(cache=True, error_model="numpy", inline="always")
def _search(a: Array, v: float, right: bool) -> int:  # pragma: no cover - compiled
    """``np.searchsorted(a, v, 'right' if right else 'left')`` (branch-free halving)."""
    n = a.size
    if n == 0:
        return 0
    base = 0
    while n > 1:
        half = n >> 1
        x = a[base + half]
        below = not _less(v, x) if right else _less(x, v)
        base = base + half if below else base
        n -= half
    x = a[base]
    below = not _less(v, x) if right else _less(x, v)
    return base + 1 if below else base


@njit(cache=True, error_model="numpy")
def _polar_kernel(az_t: Array, r_t: Array, w_az: Array, w_r: Array, az_sorted: Array,
                  r_sorted: Array, order: NDArray[np.int64]
                  ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:  # pragma: no cover
    k = az_sorted.size
    n = az_t.size
    # the plots' azimuths repeated one turn either side for the wrap at north
    az3 = np.empty(3 * k)
    for p in range(k):
        a = az_sorted[p]
        az3[p] = a - _TWO_PI
        az3[k + p] = a
        az3[2 * k + p] = a + _TWO_PI
    lo = np.empty(n, np.int64)
    hi = np.empty(n, np.int64)
    total = 0
    for i in range(n):
        lo_i = _search(az3, az_t[i] - w_az[i], False)
        a_ = _search(az3, az_t[i] + w_az[i], True)
        hi_i = min(a_, lo_i + k)       # never the same plot twice
        lo[i] = lo_i
        hi[i] = max(hi_i, lo_i)
        total += hi[i] - lo[i]
    ti = np.empty(total, np.int64)
    di = np.empty(total, np.int64)
    c = 0
    for i in range(n):
        rt = r_t[i]
        wr = w_r[i]
        p = lo[i]
        while p < hi[i]:
            # the window in the tripled array, one turn (a run of plots) at a time
            turn = p // k
            q0 = p - turn * k
            q1 = min(hi[i] - turn * k, k)
            for q in range(q0, q1):
                if abs(r_sorted[q] - rt) <= wr:
                    ti[c] = i
                    di[c] = order[q]
                    c += 1
            p = (turn + 1) * k
    return ti[:c].copy(), di[:c].copy()


@njit(cache=True, error_model="numpy")
def _reach_kernel(x: Array, P: Array, t: Array, t_ref: float, q_bound: float, max_speed: float,
                  half_span: float) -> tuple[Array, Array, Array]:  # pragma: no cover
    n = t.size
    pos = np.empty((n, 3))
    sig = np.empty(n)
    move = np.empty(n)
    for i in range(n):
        dt = t_ref - t[i]
        for a in range(3):
            pos[i, a] = x[i, a] + x[i, a + 3] * dt
        var = (P[i, 0, 0] + P[i, 1, 1] + P[i, 2, 2]
               + 2.0 * dt * (P[i, 0, 3] + P[i, 1, 4] + P[i, 2, 5])
               + dt * dt * (P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5])
               + q_bound * abs(dt) ** 3.0)
        sig[i] = math.sqrt(0.0 if var < 0.0 else var)
        speed = math.sqrt(x[i, 3] * x[i, 3] + x[i, 4] * x[i, 4] + x[i, 5] * x[i, 5])
        v = speed + 3.0 * math.sqrt(P[i, 3, 3] + P[i, 4, 4] + P[i, 5, 5])
        move[i] = (max_speed if v > max_speed else v) * half_span
    return pos, sig, move


@njit(cache=True, error_model="numpy")
def _polar_window_kernel(pos: Array, sig: Array, move: Array, site: Array, rot: Array,
                         g: float, s_r: float, s_az: float
                         ) -> tuple[Array, Array, Array, Array]:  # pragma: no cover
    n = sig.size
    az_t = np.empty(n)
    r_t = np.empty(n)
    w_az = np.empty(n)
    w_r = np.empty(n)
    for i in range(n):
        d0 = pos[i, 0] - site[0]
        d1 = pos[i, 1] - site[1]
        d2 = pos[i, 2] - site[2]
        e = rot[0, 0] * d0 + rot[0, 1] * d1 + rot[0, 2] * d2
        nn = rot[1, 0] * d0 + rot[1, 1] * d1 + rot[1, 2] * d2
        u = rot[2, 0] * d0 + rot[2, 1] * d1 + rot[2, 2] * d2
        r = math.sqrt(e * e + nn * nn + u * u)
        r_t[i] = r
        az_t[i] = _mod(math.atan2(e, nn), _TWO_PI)
        s = sig[i]
        w_r[i] = g * math.sqrt(s_r * s_r + s * s) + move[i]
        sr = s / r
        w = g * math.sqrt(s_az * s_az + sr * sr) + move[i] / r
        w_az[i] = min(w, _PI) if math.isfinite(w) else _PI
    return az_t, r_t, w_az, w_r


@njit(cache=True, error_model="numpy")
def _looks_kernel(x: Array, t: Array, t_ref: float, site: Array, rot: Array, max_range: float,
                  seen_by: NDArray[np.uint64], bit: np.uint64, radar: bool, t_r: float,
                  az_r: float, t_prev: float, period: float,
                  tol: float) -> NDArray[np.int64]:  # pragma: no cover
    n = t.size
    looks = np.zeros(n, np.int64)
    for i in range(n):
        if (seen_by[i] & bit) == 0:
            continue
        dt = t_ref - t[i]
        d0 = x[i, 0] + x[i, 3] * dt - site[0]
        d1 = x[i, 1] + x[i, 4] * dt - site[1]
        d2 = x[i, 2] + x[i, 5] * dt - site[2]
        if not math.sqrt(d0 * d0 + d1 * d1 + d2 * d2) <= max_range:
            continue
        if not radar:
            looks[i] = 1
            continue
        e = rot[0, 0] * d0 + rot[0, 1] * d1 + rot[0, 2] * d2
        nn = rot[1, 0] * d0 + rot[1, 1] * d1 + rot[1, 2] * d2
        ahead = _mod(math.atan2(e, nn) - az_r, _TWO_PI) / _TWO_PI * period
        t_last = t_r + (ahead if ahead <= tol else ahead - period)
        if t_last > t_prev + tol:
            looks[i] = int(math.floor((t_last - t_prev - tol) / period) + 1.0)
    return looks


@njit(cache=True, error_model="numpy", inline="always")
def _enu_axes(lat_deg: float, lon_deg: float, r: Array) -> None:  # pragma: no cover - compiled
    """``R_enu(φ, λ)``: ECEF vector components to local east/north/up, into ``r``
    (``measurement._ecef_to_enu`` for one place)."""
    phi = lat_deg * (_PI / 180.0)
    lam = lon_deg * (_PI / 180.0)
    sp, cp, sl, cl = math.sin(phi), math.cos(phi), math.sin(lam), math.cos(lam)
    r[0, 0], r[0, 1], r[0, 2] = -sl, cl, 0.0
    r[1, 0], r[1, 1], r[1, 2] = -sp * cl, -sp * sl, cp
    r[2, 0], r[2, 1], r[2, 2] = cp * cl, cp * sl, sp


@njit(cache=True, error_model="numpy")
def _local_kernel(lat: Array, lon: Array, lat0: float, lon0: float, v: Array,
                  P: Array) -> tuple[Array, Array]:  # pragma: no cover - compiled
    n = lat.size
    r0 = np.empty((3, 3))
    _enu_axes(lat0, lon0, r0)
    r = np.empty((3, 3))
    rot = np.empty((3, 3))
    v_loc = np.empty((n, 3))
    sig = np.empty((n, 3))
    for k in range(n):
        _enu_axes(lat[k], lon[k], r)
        for i in range(3):
            for j in range(3):
                rot[i, j] = r[i, 0] * r0[j, 0] + r[i, 1] * r0[j, 1] + r[i, 2] * r0[j, 2]
        for i in range(3):
            v_loc[k, i] = rot[i, 0] * v[k, 0] + rot[i, 1] * v[k, 1] + rot[i, 2] * v[k, 2]
            s = 0.0
            for a in range(3):
                s += rot[i, a] * (P[k, a, 0] * rot[i, 0] + P[k, a, 1] * rot[i, 1]
                                  + P[k, a, 2] * rot[i, 2])
            sig[k, i] = math.sqrt(s)
    return v_loc, sig


@njit(cache=True, error_model="numpy", inline="always")
def _find(parent: NDArray[np.int64], v: int) -> int:  # pragma: no cover - compiled
    while parent[v] != v:
        parent[v] = parent[parent[v]]
        v = parent[v]
    return v


@njit(cache=True, error_model="numpy")
def _hungarian(a: Array, nr: int, nc: int, col_of: NDArray[np.int64]) -> None:  # pragma: no cover
    """Minimum-cost assignment of every row of ``a[:nr, :nc]`` (``nr <= nc``) to a distinct
    column: shortest augmenting paths with row and column potentials (Kuhn-Munkres).
    ``col_of[r]`` receives row r's column."""
    inf = np.inf
    u = np.zeros(nr + 1)
    v = np.zeros(nc + 1)
    p = np.zeros(nc + 1, np.int64)       # p[j]: row (1-based) holding column j, 0 none
    way = np.zeros(nc + 1, np.int64)
    minv = np.empty(nc + 1)
    used = np.empty(nc + 1, np.bool_)
    for row in range(1, nr + 1):
        p[0] = row
        j0 = 0
        minv[:] = inf
        used[:] = False
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = inf
            j1 = 0
            for j in range(1, nc + 1):
                if not used[j]:
                    cur = a[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(nc + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    for j in range(1, nc + 1):
        if p[j] != 0:
            col_of[p[j] - 1] = j - 1


@njit(cache=True, error_model="numpy")
def _gnn_kernel(ti: NDArray[np.int64], di: NDArray[np.int64], cost: Array, n_tracks: int,
                n_dets: int) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:  # pragma: no cover
    n_pairs = ti.size
    nodes = n_tracks + n_dets
    parent = np.empty(nodes, np.int64)
    for v in range(nodes):
        parent[v] = v
    for k in range(n_pairs):
        a = _find(parent, ti[k])
        b = _find(parent, n_tracks + di[k])
        if a < b:
            parent[b] = a
        elif b < a:
            parent[a] = b
    # labels in the order of each cluster's smallest node (as scipy's connected_components)
    label_of_root = np.empty(nodes, np.int64)
    label_of_root[:] = -1
    n_labels = 0
    for v in range(nodes):
        root = _find(parent, v)
        if label_of_root[root] < 0:
            label_of_root[root] = n_labels
            n_labels += 1
    cl = np.empty(n_pairs, np.int64)
    count = np.zeros(n_labels + 1, np.int64)
    for k in range(n_pairs):
        c = label_of_root[_find(parent, ti[k])]
        cl[k] = c
        count[c + 1] += 1
    for c in range(n_labels):
        count[c + 1] += count[c]
    order = np.empty(n_pairs, np.int64)          # pairs grouped by cluster, stable
    fill = count[:n_labels].copy()
    for k in range(n_pairs):
        order[fill[cl[k]]] = k
        fill[cl[k]] += 1
    chosen = np.zeros(n_pairs, np.bool_)
    loc_t = np.empty(n_tracks, np.int64)
    loc_t[:] = -1
    loc_d = np.empty(n_dets, np.int64)
    loc_d[:] = -1
    for c in range(n_labels):
        a0 = count[c]
        a1 = count[c + 1]
        if a1 - a0 == 0:
            continue
        if a1 - a0 == 1:
            k = order[a0]
            chosen[k] = cost[k] < 0.0
            continue
        # local numbers of the cluster's tracks and detections
        nt = 0
        nd = 0
        for s in range(a0, a1):
            k = order[s]
            if loc_t[ti[k]] < 0:
                loc_t[ti[k]] = nt
                nt += 1
            if loc_d[di[k]] < 0:
                loc_d[di[k]] = nd
                nd += 1
        if nt == 1 or nd == 1:
            # a star: at most one pair can be taken, the cheapest
            best = -1
            for s in range(a0, a1):
                k = order[s]
                if cost[k] < 0.0 and (best < 0 or cost[k] < cost[best]):
                    best = k
            if best >= 0:
                chosen[best] = True
        else:
            # dense problem, rows the smaller side; 0 = leave unassigned
            flip = nt > nd
            nr = nd if flip else nt
            nc = nt if flip else nd
            mat = np.zeros((nr, nc))
            pair_at = np.empty((nr, nc), np.int64)
            pair_at[:] = -1
            for s in range(a0, a1):
                k = order[s]
                if cost[k] < 0.0:
                    r = loc_d[di[k]] if flip else loc_t[ti[k]]
                    col = loc_t[ti[k]] if flip else loc_d[di[k]]
                    if cost[k] < mat[r, col]:
                        mat[r, col] = cost[k]
                        pair_at[r, col] = k
            col_of = np.empty(nr, np.int64)
            col_of[:] = -1
            _hungarian(mat, nr, nc, col_of)
            for r in range(nr):
                col = col_of[r]
                if col >= 0 and pair_at[r, col] >= 0:
                    chosen[pair_at[r, col]] = True
        for s in range(a0, a1):
            k = order[s]
            loc_t[ti[k]] = -1
            loc_d[di[k]] = -1
    return chosen, cl


# --------------------------------------------------------------------- public API


def _f8(a: ArrayLike) -> Array:
    return np.ascontiguousarray(a, dtype=np.float64)


def _i8(a: ArrayLike) -> NDArray[np.int64]:
    return np.ascontiguousarray(a, dtype=np.int64)


def _pair_args(x: ArrayLike, P: ArrayLike, t: ArrayLike, ti: ArrayLike, di: ArrayLike,
               time: ArrayLike, z: ArrayLike, sigma: ArrayLike, use_rv: ArrayLike,
               site: ArrayLike, rot: ArrayLike, elevation: bool, owner: str) -> tuple:
    x, P, t = _f8(x), _f8(P), _f8(t)
    ti, di = _i8(ti), _i8(di)
    time, z, sigma = _f8(time), _f8(z), _f8(sigma)
    use_rv = np.ascontiguousarray(use_rv, dtype=np.bool_)
    site = _f8(site).reshape(3)
    rot = _f8(rot).reshape(3, 3)
    n, m = t.shape[0], time.shape[0]
    if x.shape != (n, 6) or P.shape != (n, 6, 6):
        raise ValueError(f"{owner} expects constant-velocity tracks x (N, 6), P (N, 6, 6) and "
                         f"t (N,), got {x.shape}, {P.shape} and {t.shape}")
    need = 3 if elevation else 2
    if z.ndim != 2 or z.shape[0] != m or z.shape[1] < need + 1 or sigma.shape != z.shape \
            or use_rv.shape != (m,):
        raise ValueError(f"{owner} expects detections time (M,), z and sigma (M, >= {need + 1}) "
                         f"and use_rv (M,), got {time.shape}, {z.shape}, {sigma.shape} and "
                         f"{use_rv.shape}")
    if ti.shape != di.shape or ti.ndim != 1:
        raise ValueError(f"{owner} expects pair indices ti, di of one shape (K,), got "
                         f"{ti.shape} and {di.shape}")
    if ti.size and (ti.min() < 0 or ti.max() >= n or di.min() < 0 or di.max() >= m):
        raise ValueError(f"{owner}: a pair index is out of range ({n} tracks, {m} detections)")
    return x, P, t, ti, di, time, z, sigma, use_rv, site, rot


def cv_radar_gate(x: ArrayLike, P: ArrayLike, t: ArrayLike, ti: ArrayLike, di: ArrayLike,
                  time: ArrayLike, z: ArrayLike, sigma: ArrayLike, use_rv: ArrayLike,
                  site: ArrayLike, rot: ArrayLike, q: float, q_vertical: float,
                  gate: ArrayLike, *, elevation: bool = True,
                  exact: bool = True) -> tuple[Array, Array]:
    """Exact gate of (track, detection) pairs of one radar: CV prediction + EKF innovation.

    For pair ``k`` the track ``ti[k]`` is predicted from ``t[ti[k]]`` to
    ``time[di[k]]`` (any sign) with ``ConstantVelocity(q, q_vertical)``; then
    ``d2 = νᵀ S⁻¹ ν`` with ``ν = residual(z, h(x))`` and ``S = H P Hᵀ + R``, as
    ``filters.innovation`` / ``model.residual`` / ``filters.mahalanobis2`` give.

    Parameters
    ----------
    x, P, t : (N, 6), (N, 6, 6), (N,) float
        Track states, covariances and state times (the whole track table).
    ti, di : (K,) int
        The pairs: track rows and detection rows.
    time : (M,) float
        Detection times.
    z, sigma : (M, >= 4) float
        Measurements and their 1-sigma errors in ``DetectionBatch`` layout: with
        ``elevation`` ``[range, azimuth, elevation, radial velocity]`` (Radar3D),
        else ``[range, azimuth, radial velocity]`` (Radar2D); radians, SI units.
    use_rv : (M,) bool
        Whether each detection's radial velocity is used (``has_rv & use_radial_velocity``).
    site, rot : (3,), (3, 3) float
        The radar's site in the tracking frame and its rotation to sensor ENU axes.
    q, q_vertical : float
        White-acceleration densities of the CV model (horizontal, vertical).
    gate : (5,) float
        Chi-square gate by measurement dimension: ``gate[m]`` for an ``m``-vector.
    elevation : bool
        Radar3D (True) or Radar2D (False).
    exact : bool
        With False a pair whose range or azimuth residual alone puts it outside the
        gate (``ν_k² / S_kk > gate[m]``, a lower bound of ``d2``) skips the rest of
        the work and gets that bound as its ``d2``: ``cost`` is the same either way,
        and a third faster to get when most candidates fall outside (as from the
        coarse gate).

    Returns
    -------
    d2 : (K,) float
        Squared Mahalanobis distances (NaN where the geometry is degenerate; with
        ``exact=False`` a lower bound above the gate for some pairs outside it).
    cost : (K,) float
        ``d2 - gate[m]`` inside the gate, ``inf`` outside (and for NaN).
    """
    args = _pair_args(x, P, t, ti, di, time, z, sigma, use_rv, site, rot, elevation,
                      "cv_radar_gate")
    g = _f8(gate)
    if g.shape != (5,):
        raise ValueError(f"cv_radar_gate expects gate thresholds of shape (5,), got {g.shape}")
    d2, cost, _, _, _ = _pair_kernel(*args, float(q), float(q_vertical), bool(elevation), g,
                                     False, False, bool(exact))
    return d2, cost


def cv_radar_update(x: ArrayLike, P: ArrayLike, t: ArrayLike, ti: ArrayLike, di: ArrayLike,
                    time: ArrayLike, z: ArrayLike, sigma: ArrayLike, use_rv: ArrayLike,
                    site: ArrayLike, rot: ArrayLike, q: float, q_vertical: float, *,
                    elevation: bool = True,
                    oosm: bool = True) -> tuple[Array, Array, Array]:
    """EKF update of assigned (track, detection) pairs of one radar, prediction included.

    Arguments as for :func:`cv_radar_gate` (the pairs are now the assigned ones,
    each track at most once).  A pair whose detection is not older than its
    track is predicted to the detection's time and corrected as
    ``filters.ekf_correct`` does (Joseph form, symmetrised).  With ``oosm`` a
    pair whose detection is older than its track (``time[di] < t[ti]``) gets
    the tracker's one-step-lag out-of-sequence update instead: innovation at
    the retrodicted state, correction of the current state through the cross
    covariance ``P Fᵀ Hᵀ``, the state time unchanged; without ``oosm`` it is
    retrodicted and updated like the others.

    Returns
    -------
    x_new : (K, 6) float
    P_new : (K, 6, 6) float
    t_new : (K,) float
        The time of each new state: the detection's, or the track's for an
        out-of-sequence update.
    """
    args = _pair_args(x, P, t, ti, di, time, z, sigma, use_rv, site, rot, elevation,
                      "cv_radar_update")
    _, _, x_new, P_new, t_new = _pair_kernel(*args, float(q), float(q_vertical),
                                             bool(elevation), _NO_GATE, True, bool(oosm),
                                             True)
    return x_new, P_new, t_new


def polar_candidates(az_t: ArrayLike, r_t: ArrayLike, w_az: ArrayLike, w_r: ArrayLike,
                     az_d: ArrayLike, r_d: ArrayLike) -> tuple[NDArray[np.int64],
                                                               NDArray[np.int64]]:
    """Coarse gate of a radar frame in its own range and azimuth.

    Track ``i`` (azimuth ``az_t[i]`` in [0, 2π), range ``r_t[i]``) takes every
    plot ``j`` with azimuth ``az_d[j] mod 2π`` within ``w_az[i]`` of it (across
    north too, each plot at most once, ``w_az <= π``) and range within
    ``w_r[i]``: the pair set of ``Tracker._candidates_polar``'s sorted
    ``searchsorted`` windows, for the same windows.

    Returns
    -------
    ti, di : (K,) int64
        Pairs by track, then by plot azimuth (the numpy version's order).
    """
    az_t, r_t, w_az, w_r = _f8(az_t), _f8(r_t), _f8(w_az), _f8(w_r)
    az_d, r_d = _f8(az_d), _f8(r_d)
    n, k = az_t.shape[0], az_d.shape[0]
    if az_t.ndim != 1 or r_t.shape != (n,) or w_az.shape != (n,) or w_r.shape != (n,) \
            or az_d.ndim != 1 or r_d.shape != (k,):
        raise ValueError("polar_candidates expects 1-d track arrays of one length and 1-d plot "
                         "arrays of one length")
    # sorted here, by numpy's own argsort: the pairs come in the numpy version's order
    az = az_d % (2.0 * np.pi)
    order = np.argsort(az)
    return _polar_kernel(az_t, r_t, w_az, w_r, az[order], r_d[order], _i8(order))


def polar_candidates_numpy(az_t: ArrayLike, r_t: ArrayLike, w_az: ArrayLike, w_r: ArrayLike,
                           az_d: ArrayLike, r_d: ArrayLike) -> tuple[NDArray[np.int64],
                                                                     NDArray[np.int64]]:
    """:func:`polar_candidates` in numpy: the same pairs in the same order.

    The plots are sorted by azimuth and repeated one turn either side for the wrap at
    north; each track's azimuth window is found with ``searchsorted``, then its range
    window applied.  The reference the kernel is tested and benchmarked against.
    """
    az_t, r_t, w_az, w_r = (np.asarray(a, dtype=np.float64) for a in (az_t, r_t, w_az, w_r))
    r_d = np.asarray(r_d, dtype=np.float64)
    az = np.asarray(az_d, dtype=np.float64) % _TWO_PI
    order = np.argsort(az)
    k = order.size
    az3 = np.concatenate([az[order] - _TWO_PI, az[order], az[order] + _TWO_PI])
    idx3 = np.concatenate([order, order, order])
    lo = np.searchsorted(az3, az_t - w_az, "left")
    hi = np.minimum(np.searchsorted(az3, az_t + w_az, "right"), lo + k)  # no plot twice
    counts = hi - lo
    ti = np.repeat(np.arange(az_t.size), counts)
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    di = idx3[np.repeat(lo, counts) + offs]
    near = np.abs(r_d[di] - r_t[ti]) <= w_r[ti]
    return ti[near].astype(np.int64), di[near].astype(np.int64)


def coarse_reach(x: ArrayLike, P: ArrayLike, t: ArrayLike, t_ref: float, q_bound: float,
                 max_speed: float, half_span: float) -> tuple[Array, Array, Array]:
    """Where each track may be at ``t_ref``, for the coarse gate, in one pass.

    Parameters
    ----------
    x, P, t : (N, d), (N, d, d), (N,) float
        Track states (position, velocity first; ``d >= 6``), covariances, state times.
    t_ref : float
        The frame's reference time.
    q_bound : float
        The largest process-noise intensity of the motion models, m²/s³.
    max_speed : float
        The fastest target's speed, m/s.
    half_span : float
        How long a detection of the frame may be from ``t_ref``, s.

    Returns
    -------
    pos : (N, 3) float
        Positions predicted to ``t_ref`` at constant velocity.
    sig : (N,) float
        The size of the position uncertainty there: the square root of the trace of
        the position covariance predicted at constant velocity (cross terms
        included) plus ``q_bound·|dt|³``.
    move : (N,) float
        How far the track may move in ``half_span``: its speed plus 3 sigma of it,
        at most ``max_speed``.
    """
    x, P, t = _f8(x), _f8(P), _f8(t)
    n = t.shape[0]
    if x.ndim != 2 or x.shape[0] != n or x.shape[1] < 6 or P.shape != (n, x.shape[1], x.shape[1]):
        raise ValueError(f"coarse_reach expects x (N, >= 6), P (N, d, d) and t (N,), got "
                         f"{x.shape}, {P.shape} and {t.shape}")
    return _reach_kernel(x, P, t, float(t_ref), float(q_bound), float(max_speed),
                         float(half_span))


def polar_windows(pos: ArrayLike, sig: ArrayLike, move: ArrayLike, site: ArrayLike,
                  rot: ArrayLike, g: float, s_r: float,
                  s_az: float) -> tuple[Array, Array, Array, Array]:
    """Each track's range and azimuth window in a radar's frame, for
    :func:`polar_candidates`.

    A track at ``pos`` (tracking frame; ``sig``, ``move`` from :func:`coarse_reach`)
    seen from the radar at ``site`` with rotation ``rot`` to its own ENU axes:
    range ``r_t``, azimuth ``az_t`` in [0, 2π), and the half-widths
    ``w_r = g·√(s_r² + sig²) + move`` and ``w_az = g·√(s_az² + (sig/r)²) + move/r``
    (at most π; π where it is not finite), ``s_r`` and ``s_az`` the frame's largest
    range and azimuth sigmas, ``g`` the gate's radius in sigmas.

    Returns
    -------
    az_t, r_t, w_az, w_r : (N,) float
    """
    pos, sig, move = _f8(pos), _f8(sig), _f8(move)
    n = sig.shape[0]
    if pos.shape != (n, 3) or move.shape != (n,):
        raise ValueError(f"polar_windows expects pos (N, 3), sig and move (N,), got "
                         f"{pos.shape}, {sig.shape} and {move.shape}")
    return _polar_window_kernel(pos, sig, move, _f8(site).reshape(3), _f8(rot).reshape(3, 3),
                                float(g), float(s_r), float(s_az))


def radar_looks(x: ArrayLike, t: ArrayLike, t_ref: float, site: ArrayLike, rot: ArrayLike,
                max_range: float, seen_by: ArrayLike, bit: int,
                beam: tuple[float, float, float, float] | None) -> NDArray[np.int64]:
    """Looks (M-of-N) one sensor frame gives each track.

    A track counts only if the sensor has seen it before (``seen_by & bit``) and its
    position predicted to ``t_ref`` at constant velocity is within ``max_range`` of
    the ``site``.  A position sensor (``beam`` None) then gives it one look; a
    rotating radar, ``beam = (t_r, az_r, t_prev, period)``, gives it the passes of
    its beam over the track's azimuth (in the radar's axes, ``rot``) in
    ``(t_prev + τ, t_r + τ]``, ``τ`` 5 % of the period: see
    ``Tracker._beam``.

    Returns
    -------
    looks : (N,) int64
    """
    x, t = _f8(x), _f8(t)
    n = t.shape[0]
    seen = np.ascontiguousarray(seen_by, dtype=np.uint64)
    if x.ndim != 2 or x.shape[0] != n or x.shape[1] < 6 or seen.shape != (n,):
        raise ValueError(f"radar_looks expects x (N, >= 6), t and seen_by (N,), got {x.shape}, "
                         f"{t.shape} and {seen.shape}")
    t_r, az_r, t_prev, period = beam if beam is not None else (0.0, 0.0, 0.0, 1.0)
    return _looks_kernel(x, t, float(t_ref), _f8(site).reshape(3), _f8(rot).reshape(3, 3),
                         float(max_range), seen, np.uint64(bit), beam is not None,
                         float(t_r), float(az_r), float(t_prev), float(period),
                         0.05 * float(period))


def local_velocity_sigma(lat_deg: ArrayLike, lon_deg: ArrayLike, lat0_deg: float,
                         lon0_deg: float, v: ArrayLike, P: ArrayLike) -> tuple[Array, Array]:
    """Velocities and position sigmas of the tracking frame in the local east/north/up
    at each track, for the output rows.

    With ``rot = R_enu(track) · R_enu(origin)ᵀ`` (as
    :func:`~skyfence.track.measurement.enu_rotation`), ``rot @ v`` and the square root
    of the diagonal of ``rot P rotᵀ``, in one pass (no (K, 3, 3) rotations, nor a
    small matrix product per row).

    Parameters
    ----------
    lat_deg, lon_deg : (K,) float
        Where the tracks are, degrees.
    lat0_deg, lon0_deg : float
        The tracking origin, degrees.
    v, P : (K, 3), (K, 3, 3) float
        Velocities and position covariances in the tracking frame.

    Returns
    -------
    v_local, sigma_local : (K, 3) float
    """
    lat, lon, v, P = _f8(lat_deg), _f8(lon_deg), _f8(v), _f8(P)
    k = lat.shape[0]
    if lat.ndim != 1 or lon.shape != (k,) or v.shape != (k, 3) or P.shape != (k, 3, 3):
        raise ValueError(f"local_velocity_sigma expects lat, lon (K,), v (K, 3) and P (K, 3, 3), "
                         f"got {lat.shape}, {lon.shape}, {v.shape} and {P.shape}")
    return _local_kernel(lat, lon, float(lat0_deg), float(lon0_deg), v, P)


def gnn_clusters(ti: ArrayLike, di: ArrayLike, cost: ArrayLike, n_tracks: int,
                 n_dets: int) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Clusters of a gate graph and the optimal assignment within each.

    Returns a (P,) bool array, True for the chosen pairs (each track and each
    detection at most once, minimising the sum of the negative costs taken), and
    the (P,) cluster label of every pair (numbered by each cluster's smallest
    node, tracks ``0..n_tracks-1`` before detections).  See
    :func:`skyfence.track.associate.gnn_assign`.
    """
    ti, di, c = _i8(ti), _i8(di), _f8(cost)
    if ti.ndim != 1 or di.shape != ti.shape or c.shape != ti.shape:
        raise ValueError(f"gnn_clusters expects pair arrays of one shape (P,), got {ti.shape}, "
                         f"{di.shape} and {c.shape}")
    if ti.size and (ti.min() < 0 or ti.max() >= n_tracks or di.min() < 0
                    or di.max() >= n_dets):
        raise ValueError(f"gnn_clusters: a pair index is out of range ({n_tracks} tracks, "
                         f"{n_dets} detections)")
    return _gnn_kernel(ti, di, c, int(n_tracks), int(n_dets))


def warm_up() -> float:
    """Compile (or load from the cache) every kernel now, on tiny inputs; returns seconds.

    The first call of a kernel in a process costs that time once (a cache load: a
    fraction of a second; a compilation with a cold cache: seconds); a tracker can
    pay it when it is built instead of in its first radar frame.
    """
    start = perf_counter()
    n = 2
    x = np.zeros((n, 6))
    x[:, 0] = 1_000.0
    P = np.zeros((n, 6, 6))
    P[:] = np.eye(6)
    t = np.zeros(n)
    z = np.ones((n, 4))
    idx = np.arange(n, dtype=np.int64)
    use = np.ones(n, np.bool_)
    cv_radar_gate(x, P, t, idx, idx, t, z, z, use, np.zeros(3), np.eye(3), 1.0, 1.0, _NO_GATE)
    cv_radar_update(x, P, t, idx, idx, t, z, z, use, np.zeros(3), np.eye(3), 1.0, 1.0)
    polar_candidates(t, t, t, t, t, t)
    pos, sig, move = coarse_reach(x, P, t, 0.0, 1.0, 100.0, 0.5)
    polar_windows(pos, sig, move, np.zeros(3), np.eye(3), 3.0, 10.0, 0.01)
    radar_looks(x, t, 0.0, np.zeros(3), np.eye(3), 1e4, np.ones(n, np.uint64), 1,
                (0.0, 0.0, -1.0, 1.0))
    local_velocity_sigma(t, t, 0.0, 0.0, x[:, 3:6], P[:, :3, :3])
    gnn_clusters(idx, idx, -np.ones(n), n, n)
    return perf_counter() - start
