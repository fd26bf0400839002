"""Fixed-interval Rauch–Tung–Striebel smoothing of finished tracks, batched over tracks.

Given the filtered means ``x_f (T, N, d)`` and covariances ``P_f (T, N, d, d)``
of ``N`` tracks at their update times ``times (T, N)``, the backward pass of
Rauch, Tung & Striebel (AIAA J. 3(8), 1965) runs from each track's last row to
its first::

    x⁻ = f(x_k, dt),  P⁻ = F P_k Fᵀ + Q          prediction to the next row
    G  = P_k Fᵀ (P⁻)⁻¹                            smoother gain (by a solve)
    x_k^s = x_k + G (x_{k+1}^s - x⁻)
    P_k^s = P_k + G (P_{k+1}^s - P⁻) Gᵀ

with ``F`` the motion model's Jacobian at the filtered ``x_k`` (the extended RTS
smoother for nonlinear models such as
:class:`~skyfence.track.motion.CoordinatedTurn`; the plain RTS smoother for the
linear ones) and ``dt`` the time to the track's next valid row.  The prediction
is recomputed with :meth:`~skyfence.track.motion.MotionModel.predict`, so the
result is the smoother of an (extended) Kalman filter that ran this motion
model between exactly these rows; Stone Soup's ``KalmanSmoother`` reads the same
prediction from the track instead.

Rows need not line up across tracks: a ``valid (T, N)`` mask (by default
"``times`` is finite") marks the rows of each track, and the rows of one track
may start late, end early and have holes; invalid rows come back as NaN.
:func:`pad_tracks` builds that layout from a list of tracks of different
lengths and :func:`rts_smooth_tracks` does the round trip.

An IMM-aware smoother is not implemented yet.  It would be a sibling function,
say ``imm_smooth(x_f (T, N, M, d), P_f (T, N, M, d, d), mu (T, N, M), times,
motions, transition_matrix, valid=None)``, taking per-mode filtered moments and
mode probabilities in the same time-major, ``valid``-masked layout (so
:func:`pad_tracks` serves it too), reusing the per-mode backward step of this
module, and returning the mode-combined ``x_s, P_s`` of the same shapes as
:func:`rts_smooth` (plus smoothed mode probabilities).

No function modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.track.motion import MotionModel

__all__ = ["pad_tracks", "rts_smooth", "rts_smooth_tracks"]

Array = NDArray[np.float64]


def _t(A: Array) -> Array:
    return np.swapaxes(A, -1, -2)


def _backward_step(
    motion: MotionModel, x: Array, P: Array, dt: Array, x_next: Array, P_next: Array
) -> tuple[Array, Array]:
    """One RTS step for ``K`` rows: filtered ``(x, P)`` and the smoothed next row."""
    F = motion.jacobian(x, dt)
    x_pred, P_pred = motion.predict(x, P, dt)
    # Gᵀ = (P⁻)⁻¹ F P, as P and P⁻ are symmetric.
    gain_t = np.asarray(np.linalg.solve(P_pred, F @ P), dtype=np.float64)
    gain = _t(gain_t)
    x_s = x + (gain @ (x_next - x_pred)[:, :, None])[:, :, 0]
    P_s = P + gain @ (P_next - P_pred) @ gain_t
    return x_s, 0.5 * (P_s + _t(P_s))


def rts_smooth(
    x_f: ArrayLike,
    P_f: ArrayLike,
    times: ArrayLike,
    motion: MotionModel,
    *,
    valid: ArrayLike | None = None,
) -> tuple[Array, Array]:
    """Rauch–Tung–Striebel (extended) smoothing of ``N`` finished tracks at once.

    Parameters
    ----------
    x_f : array_like, shape (T, N, d)
        Filtered state means of each track at each of its rows, in the tracking
        frame and the state layout of ``motion`` (SI units).
    P_f : array_like, shape (T, N, d, d)
        Their covariances.
    times : array_like, shape (T, N) or (T,)
        Time of each row, seconds (``(T,)``: the same for every track).  The
        valid rows of a track must be in non-decreasing time order.
    motion : MotionModel
        The motion model the filter used (``motion.ndim == d``).
    valid : array_like of bool, shape (T, N), optional
        Which rows hold a filtered state; default ``np.isfinite(times)``.  The
        values of invalid rows are never read (they may be NaN).

    Returns
    -------
    x_s : ndarray, shape (T, N, d)
        Smoothed means; NaN in invalid rows.  A track's last valid row equals
        its filtered state.
    P_s : ndarray, shape (T, N, d, d)
        Smoothed covariances (symmetrised); NaN in invalid rows.

    Raises
    ------
    ValueError
        If a shape is wrong, a valid row is not finite, or a track's times
        decrease.

    Examples
    --------
    Two position fixes of a constant-velocity track: smoothing pulls the first
    estimate's velocity uncertainty down to that of the last.

    >>> from skyfence.track.motion import ConstantVelocity
    >>> cv = ConstantVelocity(q=0.01)
    >>> P0 = np.diag([100.0, 100.0, 100.0, 400.0, 400.0, 400.0])
    >>> P1 = np.diag([50.0, 50.0, 50.0, 25.0, 25.0, 25.0])
    >>> x_f = np.zeros((2, 1, 6))
    >>> P_f = np.stack([P0, P1])[:, None]
    >>> x_s, P_s = rts_smooth(x_f, P_f, [0.0, 2.0], cv)
    >>> bool(P_s[0, 0, 3, 3] < 0.2 * P_f[0, 0, 3, 3])
    True
    >>> np.array_equal(P_s[1], P_f[1])
    True
    """
    x = np.asarray(x_f, dtype=np.float64)
    d = motion.ndim
    if x.ndim != 3 or x.shape[2] != d:
        raise ValueError(
            f"rts_smooth expects x_f of shape (T, N, {d}) for {motion!r}, got {x.shape}"
        )
    T, N, _ = x.shape
    P = np.asarray(P_f, dtype=np.float64)
    if P.shape != (T, N, d, d):
        raise ValueError(f"rts_smooth expects P_f of shape ({T}, {N}, {d}, {d}), got {P.shape}")
    t = np.asarray(times, dtype=np.float64)
    if t.shape == (T,):
        t = np.broadcast_to(t[:, None], (T, N))
    if t.shape != (T, N):
        raise ValueError(f"rts_smooth expects times of shape ({T}, {N}) or ({T},), got {t.shape}")
    if valid is None:
        ok = np.isfinite(t)
    else:
        ok = np.asarray(valid)
        if ok.shape != (T, N) or ok.dtype != np.bool_:
            raise ValueError(
                f"rts_smooth expects valid as booleans of shape ({T}, {N}), got "
                f"{ok.dtype} {ok.shape}"
            )
    if not (np.isfinite(t[ok]).all() and np.isfinite(x[ok]).all() and np.isfinite(P[ok]).all()):
        raise ValueError("rts_smooth expects finite times, x_f and P_f in every valid row")

    x_s = np.full((T, N, d), np.nan)
    P_s = np.full((T, N, d, d), np.nan)
    cols = np.arange(N)
    following = np.full(N, -1)  # per track: row index of the next valid row, -1 if none
    for k in range(T - 1, -1, -1):
        row = ok[k]
        last = row & (following < 0)
        x_s[k, last] = x[k, last]
        P_s[k, last] = P[k, last]
        idx = cols[row & (following >= 0)]
        if idx.size:
            j = following[idx]
            dt = t[j, idx] - t[k, idx]
            if (dt < 0.0).any():
                bad = int(idx[np.argmax(dt < 0.0)])
                raise ValueError(
                    f"rts_smooth expects non-decreasing times in each track; track {bad} "
                    f"goes back in time after row {k}"
                )
            x_s[k, idx], P_s[k, idx] = _backward_step(
                motion, x[k, idx], P[k, idx], dt, x_s[j, idx], P_s[j, idx]
            )
        following = np.where(row, k, following)
    return x_s, P_s


def pad_tracks(
    times: Sequence[ArrayLike],
    means: Sequence[ArrayLike],
    covariances: Sequence[ArrayLike],
) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Stack tracks of different lengths into the padded layout of :func:`rts_smooth`.

    Track ``i`` fills rows ``0 .. T_i - 1`` of column ``i``; the rest is NaN.

    Parameters
    ----------
    times : sequence of array_like, each shape (T_i,)
        Times of each track's rows, seconds.
    means : sequence of array_like, each shape (T_i, d)
        Filtered state means.
    covariances : sequence of array_like, each shape (T_i, d, d)
        Their covariances.

    Returns
    -------
    times : ndarray, shape (T, N)
        ``T = max T_i`` (0 for no tracks); NaN padding.
    x : ndarray, shape (T, N, d)
    P : ndarray, shape (T, N, d, d)
    valid : ndarray of bool, shape (T, N)
        True on the rows taken from the tracks.

    Raises
    ------
    ValueError
        If the sequences differ in length or a track's arrays do not match.
    """
    if not len(times) == len(means) == len(covariances):
        raise ValueError(
            f"pad_tracks expects as many times as means and covariances, got {len(times)}, "
            f"{len(means)} and {len(covariances)}"
        )
    ts = [np.asarray(a, dtype=np.float64) for a in times]
    xs = [np.asarray(a, dtype=np.float64) for a in means]
    Ps = [np.asarray(a, dtype=np.float64) for a in covariances]
    d = xs[0].shape[-1] if xs and xs[0].ndim == 2 else 0
    for i, (t, x, P) in enumerate(zip(ts, xs, Ps, strict=True)):
        n = t.shape[0] if t.ndim == 1 else -1
        if x.shape != (n, d) or P.shape != (n, d, d):
            raise ValueError(
                f"pad_tracks track {i}: expected times (T_i,), means (T_i, d) and covariances "
                f"(T_i, d, d) with d = {d}, got {t.shape}, {x.shape} and {P.shape}"
            )
    T, N = max((t.shape[0] for t in ts), default=0), len(ts)
    t_out = np.full((T, N), np.nan)
    x_out = np.full((T, N, d), np.nan)
    P_out = np.full((T, N, d, d), np.nan)
    valid = np.zeros((T, N), dtype=bool)
    for i, (t, x, P) in enumerate(zip(ts, xs, Ps, strict=True)):
        n = t.shape[0]
        t_out[:n, i], x_out[:n, i], P_out[:n, i], valid[:n, i] = t, x, P, True
    return t_out, x_out, P_out, valid


def rts_smooth_tracks(
    times: Sequence[ArrayLike],
    means: Sequence[ArrayLike],
    covariances: Sequence[ArrayLike],
    motion: MotionModel,
) -> tuple[list[Array], list[Array]]:
    """Smooth a list of tracks of different lengths in one batch (:func:`rts_smooth`).

    Parameters
    ----------
    times : sequence of array_like, each shape (T_i,)
        Times of each track's rows, seconds, non-decreasing.
    means : sequence of array_like, each shape (T_i, d)
        Filtered state means (``d == motion.ndim``).
    covariances : sequence of array_like, each shape (T_i, d, d)
        Their covariances.
    motion : MotionModel
        The motion model the filter used.

    Returns
    -------
    means : list of ndarray, each shape (T_i, d)
        Smoothed means, one per track.
    covariances : list of ndarray, each shape (T_i, d, d)
        Smoothed covariances.
    """
    if len(times) == 0:
        return [], []
    t, x, P, valid = pad_tracks(times, means, covariances)
    x_s, P_s = rts_smooth(x, P, t, motion, valid=valid)
    lengths = valid.sum(axis=0)
    return (
        [x_s[:n, i].copy() for i, n in enumerate(lengths)],
        [P_s[:n, i].copy() for i, n in enumerate(lengths)],
    )
