"""Fixed-interval smoothing of finished tracks, batched over tracks.

Rauch–Tung–Striebel smoothing
-----------------------------
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
prediction from the track instead.  :func:`rts_smooth` does this.

IMM smoothing
-------------
:func:`imm_smooth` smooths the output of the IMM filter of
:mod:`skyfence.track.imm`: per-model filtered moments ``x_f (T, N, M, D)``,
``P_f (T, N, M, D, D)`` in the IMM's common state space and model probabilities
``mu_f (T, N, M)``. Its backward pass is the pairwise one of Kim's smoother for
Markov-switching models (C.-J. Kim, "Dynamic linear models with
Markov-switching", J. Econometrics 60(1-2), 1994, pp. 1-22), with the correction
for an IMM forward filter that underlies the smoother of Lopez & Danès
("Low-complexity IMM smoothing for jump Markov nonlinear systems", IEEE Trans.
Aerosp. Electron. Syst. 53(3), 2017, pp. 1261-1272): the smoothed moments of the
next row were built on the filter's own *mixed* prediction, so that prediction
is divided out to give a backward likelihood, and it is this likelihood, not the
smoothed density, that each model pair is conditioned on and weighed by. The
arrangement (pairwise RTS steps from the next row rather than fusion of
information at this row) and the closed forms are this module's. One backward
step from row ``k + 1`` (already smoothed) to row ``k`` of a track, with ``Π``
the transition matrix of the step (``Π_ij`` = P(model j at k+1 | model i at k)),
``(x_i, P_i)`` and ``μ_i`` the filtered moments and probabilities of row ``k``
and ``(x^s_j, P^s_j)``, ``μ^s_j`` the smoothed ones of row ``k + 1``::

    b_j, B_j, c̄_j  IMM.predict of row k (mixing, then model j): the filter's
                   prediction to row k+1 and its predicted probabilities
    ℓ_j(x)       = N(x; x^s_j, P^s_j) / N(x; b_j, B_j)       backward likelihood
    r_j          = μ^s_j / c̄_j                                (0 where c̄_j = 0)
    a_ij, A_ij     model j's prediction from (x_i, P_i), F_ij its Jacobian at x_i
    ρ_ij         = ∫ N(x; a_ij, A_ij) ℓ_j(x) dx                pair likelihood
    x̃_ij, P̃_ij    moments of N(x; a_ij, A_ij) ℓ_j(x) / ρ_ij   pair state at k+1
    G_ij         = P_i F_ijᵀ A_ij⁻¹
    x_ij         = x_i + G_ij (x̃_ij - a_ij)                   RTS step of the pair
    P_ij         = P_i + G_ij (P̃_ij - A_ij) G_ijᵀ
    μ^s_i        ∝ μ_i Σ_j Π_ij r_j ρ_ij                        smoothed probabilities
    ν_j|i        ∝ Π_ij r_j ρ_ij,  Σ_j ν_j|i = 1                P(j at k+1 | i at k, data)
    x^s_i, P^s_i = moment-matched Σ_j ν_j|i N(x_ij, P_ij)

and the track estimate is :meth:`~skyfence.track.imm.IMM.combine` of the
``(x^s_i, P^s_i)`` with weights ``μ^s_i``. Why: the later data enter row ``k``
only through ``x_{k+1}`` and the model at ``k + 1``; given them, ``p(later data
| x_{k+1}, j)`` is ``ℓ_j`` times a constant ``∝ r_j``, because the smoothed
density of row ``k + 1`` is the filter's prediction times that likelihood. So
``μ_i Π_ij r_j ρ_ij`` is ``P(i at k, j at k+1 | all data)`` and ``x̃_ij, P̃_ij``
the smoothed state at ``k + 1`` given both models. ``ρ_ij`` and ``x̃_ij`` are
computed in closed form in coordinates whitening ``B_j``. In directions where
the smoothed covariance is broader than ``B_j`` (which collapsing a mixture, or
filtered moments that are not a consistent filter's, can cause) ``ℓ_j`` would
not be integrable: it is taken as flat there, and the excess variance and mean
shift of the smoothed density are added to every pair's ``x̃_ij, P̃_ij``
unchanged. The approximations are the usual ones: one Gaussian per model and
row, and linearisation at the filtered means. Model ``j`` acts in the common
space as :meth:`IMM.predict <skyfence.track.imm.IMM.predict>` embeds it: each
component it lacks moves to 0 with variance ``embed_var`` whatever its value
before, so ``ℓ_j`` and the gain only involve model ``j``'s own components, while
a component it lacks is still corrected at ``k`` through its correlation with
the others.

With one model, and whenever the pair predictions equal the filter's
(``a_ij, A_ij = b_j, B_j``: e.g. identical models from identical states),
``ρ = 1`` and ``x̃_ij, P̃_ij = x^s_j, P^s_j``, which is Kim's smoother; with one
model it is :func:`rts_smooth`, and with models the data cannot tell apart the
smoothed probabilities equal the filtered ones.  The correction matters when a
model is much stiffer than the motion: for a CV + CT filter with a 0.01 m²/s³ CV
model on a 5°/s turn, Kim's pass alone smooths the CV-conditioned states into a
straight line through the turn and, in simulation, ends up worse than the filter.

What the forward filter is assumed to have done between consecutive valid rows
``k`` and ``k + 1`` of a track (``dt`` apart):
:meth:`IMM.predict(x_f[k], P_f[k], mu_f[k], dt, Π) <skyfence.track.imm.IMM.predict>`
with the ``Π`` that ``transition`` gives for ``dt``, then
:meth:`~skyfence.track.imm.IMM.update` with the detection of row ``k + 1``, whose
output is row ``k + 1``.  The prediction is recomputed with
:meth:`~skyfence.track.imm.IMM.predict`.

The two-filter IMM smoother of Helmick, Blair & Hoffman (IEEE Trans. Inf.
Theory 41(6), 1995) was not used: its backward-time filter needs invertible
transitions, and a smaller model's embedded transition (``0·c + e``) is not.

Layout
------
Rows need not line up across tracks: a ``valid (T, N)`` mask (by default
"``times`` is finite") marks the rows of each track, and the rows of one track
may start late, end early and have holes; invalid rows come back as NaN.
:func:`pad_tracks` builds that layout from a list of tracks of different
lengths, and :func:`rts_smooth_tracks` and :func:`imm_smooth_tracks` do the
round trip.

No function modifies its inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.track.imm import IMM
from skyfence.track.motion import MotionModel

__all__ = [
    "IMMSmoothed",
    "imm_smooth",
    "imm_smooth_tracks",
    "pad_tracks",
    "rts_smooth",
    "rts_smooth_tracks",
]

Array = NDArray[np.float64]
Transition = ArrayLike | Callable[[Array], ArrayLike] | None

# Largest |row sum - 1| accepted in a transition matrix (as skyfence.track.imm).
_ROW_SUM_TOL = 1e-9
# Largest |row sum - 1| accepted in the filtered model probabilities (as skyfence.track.imm).
_MU_SUM_TOL = 1e-6
# Smallest ratio of a smoothed to a predicted variance (whitened eigenvalue) used.
_SIGMA_FLOOR = 1e-12


def _t(A: Array) -> Array:
    return np.swapaxes(A, -1, -2)


def _sym(P: Array) -> Array:
    return 0.5 * (P + _t(P))


# ------------------------------------------------------------------ shared layout


def _times_and_valid(
    times: ArrayLike, valid: ArrayLike | None, T: int, N: int, owner: str
) -> tuple[Array, NDArray[np.bool_]]:
    """``times`` as (T, N) and the valid mask, checked."""
    t = np.asarray(times, dtype=np.float64)
    if t.shape == (T,):
        t = np.broadcast_to(t[:, None], (T, N))
    if t.shape != (T, N):
        raise ValueError(f"{owner} expects times of shape ({T}, {N}) or ({T},), got {t.shape}")
    if valid is None:
        return t, np.isfinite(t)
    ok = np.asarray(valid)
    if ok.shape != (T, N) or ok.dtype != np.bool_:
        raise ValueError(
            f"{owner} expects valid as booleans of shape ({T}, {N}), got {ok.dtype} {ok.shape}"
        )
    return t, ok


def _next_rows(t: Array, ok: NDArray[np.bool_], owner: str) -> NDArray[np.intp]:
    """Per row, the row index of the same track's next valid row (-1 if none).

    Raises ValueError if a track's valid rows go back in time (naming the latest such row).
    """
    T, N = ok.shape
    nxt = np.full((T, N), -1, dtype=np.intp)
    following = np.full(N, -1, dtype=np.intp)
    for k in range(T - 1, -1, -1):
        nxt[k] = following
        following = np.where(ok[k], k, following)
    rows, cols = np.nonzero(ok & (nxt >= 0))
    back = t[nxt[rows, cols], cols] < t[rows, cols]
    if back.any():
        k = int(rows[back].max())
        bad = int(cols[back & (rows == k)].min())
        raise ValueError(
            f"{owner} expects non-decreasing times in each track; track {bad} "
            f"goes back in time after row {k}"
        )
    return nxt


# ---------------------------------------------------------------------- RTS


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
    return x_s, _sym(P_s)


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
    t, ok = _times_and_valid(times, valid, T, N, "rts_smooth")
    if not (np.isfinite(t[ok]).all() and np.isfinite(x[ok]).all() and np.isfinite(P[ok]).all()):
        raise ValueError("rts_smooth expects finite times, x_f and P_f in every valid row")
    nxt = _next_rows(t, ok, "rts_smooth")

    x_s = np.full((T, N, d), np.nan)
    P_s = np.full((T, N, d, d), np.nan)
    cols = np.arange(N)
    for k in range(T - 1, -1, -1):
        last = ok[k] & (nxt[k] < 0)
        x_s[k, last] = x[k, last]
        P_s[k, last] = P[k, last]
        idx = cols[ok[k] & (nxt[k] >= 0)]
        if idx.size:
            j = nxt[k, idx]
            dt = t[j, idx] - t[k, idx]
            x_s[k, idx], P_s[k, idx] = _backward_step(
                motion, x[k, idx], P[k, idx], dt, x_s[j, idx], P_s[j, idx]
            )
    return x_s, P_s


# ---------------------------------------------------------------------- IMM


class IMMSmoothed(NamedTuple):
    """Result of :func:`imm_smooth`; a tuple ``(x, P, mu, x_models, P_models)``.

    Every array is NaN in the invalid rows.

    Attributes
    ----------
    x : ndarray, shape (T, N, D)
        Smoothed track means (moment-matched over the models) in the IMM's
        common state space.
    P : ndarray, shape (T, N, D, D)
        Their covariances (symmetrised).
    mu : ndarray, shape (T, N, M)
        Smoothed model probabilities (rows sum to 1).
    x_models : ndarray, shape (T, N, M, D)
        Smoothed model-conditioned means.
    P_models : ndarray, shape (T, N, M, D, D)
        Smoothed model-conditioned covariances (symmetrised).
    """

    x: Array
    P: Array
    mu: Array
    x_models: Array
    P_models: Array


def _check_stochastic(pi: Array, owner: str, what: str) -> None:
    """Entries in [0, 1] and rows summing to 1 (last axis), else ValueError."""
    if not np.isfinite(pi).all() or (pi < 0.0).any() or (pi > 1.0).any():
        raise ValueError(f"{owner} expects {what} entries to be probabilities in [0, 1]")
    sums = pi.sum(axis=-1)
    if (np.abs(sums - 1.0) > _ROW_SUM_TOL).any():
        worst = float(sums.flat[np.argmax(np.abs(sums - 1.0))])
        raise ValueError(
            f"{owner} expects {what} rows to sum to 1 (row i holds P(model j next | model i)), "
            f"one sums to {worst!r}"
        )


def _transition_function(transition: Transition, imm: IMM, owner: str) -> Callable[[Array], Array]:
    """``transition`` as a function of the steps ``dt (K,)`` giving checked ``(K, M, M)``."""
    m = imm.n_models
    if transition is None or not callable(transition):
        try:
            fixed = imm.transition if transition is None else np.asarray(transition, dtype=float)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{owner} expects transition to be an ({m}, {m}) array of numbers, a callable "
                f"or None: {exc}"
            ) from None
        if fixed.shape != (m, m):
            raise ValueError(
                f"{owner} expects transition of shape ({m}, {m}) for {m} models, a callable "
                f"of the steps dt (K,) returning (K, {m}, {m}), or None; got shape {fixed.shape}"
            )
        _check_stochastic(fixed, owner, "transition")
        return lambda dt: np.broadcast_to(fixed, (dt.shape[0], m, m))
    func = transition

    def per_step(dt: Array) -> Array:
        pi = np.asarray(func(dt.copy()), dtype=np.float64)
        if pi.shape != (dt.shape[0], m, m):
            raise ValueError(
                f"{owner} expects transition(dt) to return shape ({dt.shape[0]}, {m}, {m}) "
                f"for dt of shape {dt.shape}, got {pi.shape}"
            )
        _check_stochastic(pi, owner, "transition(dt)")
        return pi

    return per_step


def _model_steps(
    imm: IMM,
    j: int,
    x: Array,
    P: Array,
    dt: Array,
    pred: tuple[Array, Array],
    smoothed: tuple[Array, Array],
) -> tuple[Array, Array, Array]:
    """The backward steps of every model pair ``(i, j)`` for model ``j`` at the next row.

    ``x (K, M, D)``, ``P (K, M, D, D)``: filtered moments of row ``k``; ``dt (K,)``;
    ``pred``: the filter's prediction ``(b, B)`` of model ``j`` at the next row and
    ``smoothed``: model ``j``'s smoothed moments ``(s, S)`` there, both restricted to
    model ``j``'s own components, shapes (K, dj) and (K, dj, dj).

    Returns the pair-conditioned smoothed moments of row ``k``, (K, M, D) and
    (K, M, D, D), and ``log ρ_ij`` (K, M).

    Everything happens in model ``j``'s own components: its transition resets the
    others (``0·c + e``), so neither the backward likelihood nor the gain involves
    them, and their likelihood factor is the same for every ``i``.  The backward
    likelihood ``ℓ = N(s, S) / N(b, B)`` is handled in coordinates ``z = W (x - b)``
    with ``W = Uᵀ L⁻¹`` (``B = L Lᵀ``, ``L⁻¹ S L⁻ᵀ = U diag(σ) Uᵀ``), where the
    filter's prediction is ``N(0, I)`` and the smoothed density ``N(ẑ, diag σ)``:
    ``ℓ(z) ∝ exp(-½ zᵀ Λ z + θᵀ z)`` with ``Λ = diag(1/σ - 1)`` and ``θ = ẑ / σ``.
    ``Λ`` is clipped at 0 where ``σ > 1`` (the smoothed density broader than the
    prediction, as a collapsed mixture can be), which keeps ``ℓ`` integrable
    against any Gaussian and continuous in ``σ``; the excess variance and shift
    that ``ℓ`` then misses are added to every pair's state unchanged.
    """
    K, M, D = x.shape
    own = imm.indices[j]
    model = imm.models[j]
    b, B = pred
    s, S = smoothed
    dj = own.size
    eye = np.eye(dj)

    chol = np.linalg.cholesky(B)
    l_inv = np.asarray(np.linalg.solve(chol, np.broadcast_to(eye, chol.shape)), dtype=np.float64)
    sigma, U = np.linalg.eigh(_sym(l_inv @ S @ _t(l_inv)))
    sigma = np.maximum(sigma, _SIGMA_FLOOR)
    W = _t(U) @ l_inv
    W_inv = chol @ U
    z_s = (W @ (s - b)[:, :, None])[:, :, 0]
    lam = np.maximum(1.0 / sigma - 1.0, 0.0)
    theta = z_s / sigma
    log_e0 = 0.5 * np.sum(theta * theta / (1.0 + lam) - np.log1p(lam), axis=1)

    # Model j's prediction from each model's filtered moments (K·M rows).
    X = x.reshape(K * M, D)
    PP = P.reshape(K * M, D, D)
    h = np.repeat(dt, M)
    x_own = X[:, own]
    F = model.jacobian(x_own, h)
    a, A = model.predict(x_own, PP[:, own[:, None], own[None, :]], h)

    Wr, W_inv_r = np.repeat(W, M, axis=0), np.repeat(W_inv, M, axis=0)
    lam_r, theta_r = np.repeat(lam, M, axis=0), np.repeat(theta, M, axis=0)
    root = np.sqrt(lam_r)
    alpha = (Wr @ (a - np.repeat(b, M, axis=0))[:, :, None])[:, :, 0]
    gamma = _sym(Wr @ A @ _t(Wr))
    # Posterior of N(α, Γ) times ℓ: covariance (Γ⁻¹ + Λ)⁻¹ in Joseph form (PSD by
    # construction), with D = Λ^½, N = I + D Γ D, Y = N⁻¹ D Γ and gain Yᵀ D.
    d_gamma = root[:, :, None] * gamma
    n_mat = eye + d_gamma * root[:, None, :]
    y_mat = np.linalg.solve(n_mat, d_gamma)
    rest = eye - _t(y_mat) * root[:, None, :]  # I - gain
    P_post = _sym(rest @ gamma @ _t(rest) + _t(y_mat) @ y_mat)
    v = theta_r - lam_r * alpha
    # Where σ > 1, ℓ cannot carry the smoothed density's excess variance σ - 1 and
    # the part ẑ (1 - 1/σ) of its shift: both pass to the pair unchanged, so that a
    # pair whose prediction is the filter's gets exactly the smoothed moments.
    excess = np.repeat(np.maximum(sigma - 1.0, 0.0), M, axis=0)
    carried = np.repeat(z_s - theta / (1.0 + lam), M, axis=0)
    post_shift = (P_post @ v[:, :, None])[:, :, 0]
    shift = post_shift + carried  # the pair's smoothed mean - α
    log_det_n = 2.0 * np.sum(np.log(np.diagonal(np.linalg.cholesky(n_mat), axis1=1, axis2=2)), 1)
    log_e = (
        np.sum(theta_r * alpha - 0.5 * lam_r * alpha * alpha, axis=1)
        - 0.5 * log_det_n
        + 0.5 * np.sum(v * post_shift, axis=1)
    )
    log_rho = (log_e - np.repeat(log_e0, M)).reshape(K, M)

    # RTS step of model j from (x_i, P_i) to the pair's smoothed state at the next row.
    dx_next = (W_inv_r @ shift[:, :, None])[:, :, 0]  # x̃ - a
    P_post[:, np.arange(dj), np.arange(dj)] += excess
    dP_next = W_inv_r @ (P_post - gamma) @ _t(W_inv_r)  # P̃ - A
    gain_t = np.asarray(np.linalg.solve(A, F @ PP[:, own, :]), dtype=np.float64)  # Gᵀ
    gain = _t(gain_t)
    x_s = X + (gain @ dx_next[:, :, None])[:, :, 0]
    P_s = PP + gain @ dP_next @ gain_t
    return x_s.reshape(K, M, D), _sym(P_s).reshape(K, M, D, D), log_rho


def _pair_weights(
    pi: Array, mu: Array, c_bar: Array, mu_next: Array, log_rho: Array
) -> tuple[Array, Array]:
    """``ν_j|i`` (K, M, M) and the smoothed probabilities ``μ^s`` (K, M) of row ``k``.

    ``P(model i at k, model j at k+1 | all data) ∝ μ_i Π_ij r_j ρ_ij`` with
    ``r_j = μ^s_j(k+1) / c̄_j``, computed in log space.  Where no pair is possible
    for model ``i`` its row of ``ν`` is ``Π``'s; where none is for the track, ``μ^s``
    is the filtered ``μ``.
    """
    with np.errstate(divide="ignore"):
        log_r = np.log(mu_next) - np.log(np.where(c_bar > 0.0, c_bar, 1.0))
        log_r = np.where(c_bar > 0.0, log_r, -np.inf)
        ell = np.log(pi) + log_r[:, None, :] + log_rho
        log_mu = np.log(mu)
    top = ell.max(axis=2)
    live = np.isfinite(top)
    w = np.exp(ell - np.where(live, top, 0.0)[:, :, None])
    total = w.sum(axis=2)
    nu = np.where(live[:, :, None], w / np.where(live, total, 1.0)[:, :, None], pi)
    with np.errstate(divide="ignore"):
        log_back = np.where(live, top + np.log(np.where(live, total, 1.0)), -np.inf)
    score = log_mu + log_back
    best = score.max(axis=1)
    any_live = np.isfinite(best)
    e = np.exp(score - np.where(any_live, best, 0.0)[:, None])
    mu_s = np.where(
        any_live[:, None], e / np.where(any_live, e.sum(axis=1), 1.0)[:, None], mu
    )
    return nu, mu_s


def imm_smooth(
    x_f: ArrayLike,
    P_f: ArrayLike,
    mu_f: ArrayLike,
    times: ArrayLike,
    imm: IMM,
    *,
    transition: Transition = None,
    valid: ArrayLike | None = None,
) -> IMMSmoothed:
    """Fixed-interval smoothing of ``N`` finished IMM tracks at once.

    See the module docstring for the algorithm, its approximations and what the
    forward filter is assumed to have done.  Work is vectorised over tracks and
    model pairs; the loops run over the rows and the ``M`` models.

    Parameters
    ----------
    x_f : array_like, shape (T, N, M, D)
        Filtered (updated) model-conditioned means of each track at each of its
        rows, in the common state space of ``imm`` (:attr:`IMM.components
        <skyfence.track.imm.IMM.components>`), as :meth:`IMM.update
        <skyfence.track.imm.IMM.update>` returns them.
    P_f : array_like, shape (T, N, M, D, D)
        Their covariances.
    mu_f : array_like, shape (T, N, M)
        Filtered model probabilities (rows summing to 1).
    times : array_like, shape (T, N) or (T,)
        Time of each row, seconds (``(T,)``: the same for every track).  The
        valid rows of a track must be in non-decreasing time order.
    imm : IMM
        The IMM whose models, embedding and (by default) transition matrix the
        filter used.
    transition : None, array_like of shape (M, M), or callable, optional
        The model transition matrix the filter passed to :meth:`IMM.predict
        <skyfence.track.imm.IMM.predict>` for each step: ``None`` (default) for
        ``imm.transition``; an ``(M, M)`` matrix for every step; or a function of
        the steps ``dt`` (ndarray (K,), seconds, between consecutive valid rows of
        ``K`` tracks) returning ``(K, M, M)`` matrices, e.g.
        ``lambda dt: uniform_transition(0.95, M, dt)``.
    valid : array_like of bool, shape (T, N), optional
        Which rows hold a filtered state; default ``np.isfinite(times)``.  The
        values of invalid rows are never read (they may be NaN).

    Returns
    -------
    IMMSmoothed
        ``(x, P, mu, x_models, P_models)``: smoothed track means (T, N, D) and
        covariances (T, N, D, D), model probabilities (T, N, M), and the
        model-conditioned means (T, N, M, D) and covariances (T, N, M, D, D); NaN
        in invalid rows.  A track's last valid row equals its filtered state
        (``x``, ``P``: :meth:`IMM.combine <skyfence.track.imm.IMM.combine>` of it).

    Raises
    ------
    ValueError
        If a shape is wrong (the message names the argument), a valid row is not
        finite, the probabilities or transition matrices are not probabilities,
        or a track's times decrease.

    Examples
    --------
    With a single model this is :func:`rts_smooth`:

    >>> from skyfence.track.motion import ConstantVelocity
    >>> cv = ConstantVelocity(q=0.01)
    >>> P0 = np.diag([100.0, 100.0, 100.0, 400.0, 400.0, 400.0])
    >>> P1 = np.diag([50.0, 50.0, 50.0, 25.0, 25.0, 25.0])
    >>> x_f = np.zeros((2, 1, 1, 6))
    >>> P_f = np.stack([P0, P1])[:, None, None]
    >>> out = imm_smooth(x_f, P_f, np.ones((2, 1, 1)), [0.0, 2.0], IMM([cv], [[1.0]]))
    >>> np.allclose(out.P, rts_smooth(x_f[:, :, 0], P_f[:, :, 0], [0.0, 2.0], cv)[1])
    True
    >>> out.mu.shape, out.x_models.shape
    ((2, 1, 1), (2, 1, 1, 6))
    """
    owner = "imm_smooth"
    if not isinstance(imm, IMM):
        raise ValueError(f"{owner} expects imm to be an IMM (skyfence.track.imm), got {imm!r}")
    m, d = imm.n_models, imm.ndim
    x = np.asarray(x_f, dtype=np.float64)
    if x.ndim != 4 or x.shape[2:] != (m, d):
        raise ValueError(
            f"{owner} expects x_f of shape (T, N, {m}, {d}) for {m} models in a {d}-d common "
            f"space, got {x.shape}"
        )
    T, N = x.shape[:2]
    P = np.asarray(P_f, dtype=np.float64)
    if P.shape != (T, N, m, d, d):
        raise ValueError(
            f"{owner} expects P_f of shape ({T}, {N}, {m}, {d}, {d}), got {P.shape}"
        )
    mu = np.asarray(mu_f, dtype=np.float64)
    if mu.shape != (T, N, m):
        raise ValueError(f"{owner} expects mu_f of shape ({T}, {N}, {m}), got {mu.shape}")
    t, ok = _times_and_valid(times, valid, T, N, owner)
    per_step = _transition_function(transition, imm, owner)
    if not (
        np.isfinite(t[ok]).all()
        and np.isfinite(x[ok]).all()
        and np.isfinite(P[ok]).all()
        and np.isfinite(mu[ok]).all()
    ):
        raise ValueError(f"{owner} expects finite times, x_f, P_f and mu_f in every valid row")
    if (mu[ok] < 0.0).any() or (np.abs(mu[ok].sum(axis=-1) - 1.0) > _MU_SUM_TOL).any():
        raise ValueError(
            f"{owner} expects mu_f to hold model probabilities (>= 0, summing to 1) in every "
            f"valid row"
        )
    nxt = _next_rows(t, ok, owner)

    xm = np.full((T, N, m, d), np.nan)
    Pm = np.full((T, N, m, d, d), np.nan)
    mu_s = np.full((T, N, m), np.nan)
    cols = np.arange(N)
    for k in range(T - 1, -1, -1):
        last = ok[k] & (nxt[k] < 0)
        xm[k, last], Pm[k, last], mu_s[k, last] = x[k, last], P[k, last], mu[k, last]
        idx = cols[ok[k] & (nxt[k] >= 0)]
        if not idx.size:
            continue
        j_row = nxt[k, idx]
        dt = t[j_row, idx] - t[k, idx]
        x_k, P_k, mu_k = x[k, idx], P[k, idx], mu[k, idx]
        x_next, P_next, mu_next = xm[j_row, idx], Pm[j_row, idx], mu_s[j_row, idx]
        K = idx.size
        pi = per_step(dt)
        # The filter's prediction of row k to the next row: mixing, then each model.
        x_pred, P_pred, c_bar = imm.predict(x_k, P_k, mu_k, dt, transition=pi)
        # Pair-conditioned smoothed moments: axis 1 the model at k, axis 2 the model at k+1.
        x_pair = np.empty((K, m, m, d))
        P_pair = np.empty((K, m, m, d, d))
        log_rho = np.empty((K, m, m))
        for j, own in enumerate(imm.indices):
            block = (slice(None), j, own[:, None], own[None, :])
            x_pair[:, :, j], P_pair[:, :, j], log_rho[:, :, j] = _model_steps(
                imm,
                j,
                x_k,
                P_k,
                dt,
                (x_pred[:, j, own], P_pred[block]),
                (x_next[:, j, own], P_next[block]),
            )
        nu, mu_s[k, idx] = _pair_weights(pi, mu_k, c_bar, mu_next, log_rho)
        x_mix = (nu[:, :, None, :] @ x_pair)[:, :, 0, :]
        dx = x_pair - x_mix[:, :, None, :]
        spread = dx[..., :, None] * dx[..., None, :]
        P_mix = (nu[:, :, None, :] @ (P_pair + spread).reshape(K, m, m, d * d))[:, :, 0, :]
        xm[k, idx] = x_mix
        Pm[k, idx] = _sym(P_mix.reshape(K, m, d, d))

    x_s = np.full((T, N, d), np.nan)
    P_s = np.full((T, N, d, d), np.nan)
    if ok.any():
        x_s[ok], P_s[ok] = imm.combine(xm[ok], Pm[ok], mu_s[ok])
    return IMMSmoothed(x_s, P_s, mu_s, xm, Pm)


# ------------------------------------------------------------------ ragged lists


def _pad(arrays: Sequence[Array], T: int, tail: tuple[int, ...]) -> Array:
    """Stack arrays of shape (T_i, *tail) into (T, len(arrays), *tail), NaN padded."""
    out = np.full((T, len(arrays), *tail), np.nan)
    for i, a in enumerate(arrays):
        out[: a.shape[0], i] = a
    return out


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
    T = max((t.shape[0] for t in ts), default=0)
    valid = np.zeros((T, len(ts)), dtype=bool)
    for i, t in enumerate(ts):
        valid[: t.shape[0], i] = True
    return _pad(ts, T, ()), _pad(xs, T, (d,)), _pad(Ps, T, (d, d)), valid


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


def imm_smooth_tracks(
    times: Sequence[ArrayLike],
    means: Sequence[ArrayLike],
    covariances: Sequence[ArrayLike],
    probabilities: Sequence[ArrayLike],
    imm: IMM,
    *,
    transition: Transition = None,
) -> tuple[list[Array], list[Array], list[Array]]:
    """Smooth a list of IMM tracks of different lengths in one batch (:func:`imm_smooth`).

    Parameters
    ----------
    times : sequence of array_like, each shape (T_i,)
        Times of each track's rows, seconds, non-decreasing.
    means : sequence of array_like, each shape (T_i, M, D)
        Filtered model-conditioned means in the common space of ``imm``.
    covariances : sequence of array_like, each shape (T_i, M, D, D)
        Their covariances.
    probabilities : sequence of array_like, each shape (T_i, M)
        Filtered model probabilities.
    imm : IMM
        The IMM the filter used.
    transition : None, array_like of shape (M, M), or callable, optional
        As for :func:`imm_smooth`.

    Returns
    -------
    means : list of ndarray, each shape (T_i, D)
        Smoothed (model-combined) means, one per track.
    covariances : list of ndarray, each shape (T_i, D, D)
        Smoothed covariances.
    probabilities : list of ndarray, each shape (T_i, M)
        Smoothed model probabilities.

    Raises
    ------
    ValueError
        If the sequences differ in length or a track's arrays do not match
        (the message names the track and the argument).
    """
    owner = "imm_smooth_tracks"
    if not len(times) == len(means) == len(covariances) == len(probabilities):
        raise ValueError(
            f"{owner} expects as many times as means, covariances and probabilities, got "
            f"{len(times)}, {len(means)}, {len(covariances)} and {len(probabilities)}"
        )
    if not isinstance(imm, IMM):
        raise ValueError(f"{owner} expects imm to be an IMM (skyfence.track.imm), got {imm!r}")
    m, d = imm.n_models, imm.ndim
    ts = [np.asarray(a, dtype=np.float64) for a in times]
    xs = [np.asarray(a, dtype=np.float64) for a in means]
    Ps = [np.asarray(a, dtype=np.float64) for a in covariances]
    mus = [np.asarray(a, dtype=np.float64) for a in probabilities]
    for i, (t, x, P, mu) in enumerate(zip(ts, xs, Ps, mus, strict=True)):
        if t.ndim != 1:
            raise ValueError(f"{owner} track {i}: expected times of shape (T_i,), got {t.shape}")
        n = t.shape[0]
        for name, a, shape in (
            ("means", x, (n, m, d)),
            ("covariances", P, (n, m, d, d)),
            ("probabilities", mu, (n, m)),
        ):
            if a.shape != shape:
                raise ValueError(
                    f"{owner} track {i}: expected {name} of shape {shape} for {n} times, "
                    f"got {a.shape}"
                )
    if not ts:
        return [], [], []
    T = max(t.shape[0] for t in ts)
    valid = np.zeros((T, len(ts)), dtype=bool)
    for i, t in enumerate(ts):
        valid[: t.shape[0], i] = True
    out = imm_smooth(
        _pad(xs, T, (m, d)),
        _pad(Ps, T, (m, d, d)),
        _pad(mus, T, (m,)),
        _pad(ts, T, ()),
        imm,
        transition=transition,
        valid=valid,
    )
    lengths = [t.shape[0] for t in ts]
    return (
        [out.x[:n, i].copy() for i, n in enumerate(lengths)],
        [out.P[:n, i].copy() for i, n in enumerate(lengths)],
        [out.mu[:n, i].copy() for i, n in enumerate(lengths)],
    )
