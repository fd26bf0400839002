"""Interacting Multiple Model filter (Blom & Bar-Shalom) for a batch of tracks.

Each of ``N`` tracks carries ``M`` model-conditioned Gaussians (one per motion
model) and the probabilities ``mu`` of the models, all as arrays::

    x   (N, M, D)      model-conditioned means
    P   (N, M, D, D)   their covariances
    mu  (N, M)         model probabilities (each row sums to 1)

One cycle is :meth:`IMM.predict` (mixing, then each model's EKF prediction) and,
for the tracks that have a detection, :meth:`IMM.update` (each model's EKF update,
then the model probabilities); :meth:`IMM.combine` gives the track estimate.
Work is vectorised over tracks and models (the ``M`` models' predictions are ``M``
batched calls, the update is one :func:`~skyfence.track.filters.ekf_update` on the
``N·M`` flattened batch); nothing loops over tracks.

Common state space
------------------
Models may have different state dimensions.  Every model-conditioned state lives
in one common space whose components are the **union** of the models' components:
``[x, y, z, vx, vy, vz]`` first (shared by every model), then each further
component in the order it first appears in ``models``.  When all extra components
come from one model this is the largest model's layout:

- CV + CT: ``[x, y, z, vx, vy, vz, w]`` (D = 7)
- CV + CA: ``[x, y, z, vx, vy, vz, ax, ay, az]`` (D = 9)
- CV + CT + CA: ``[x, y, z, vx, vy, vz, w, ax, ay, az]`` (D = 10); a plain
  "largest dimension" space (D = 9) would make the turn rate and the east
  acceleration share a slot, which mixing would then average.

Embedding a smaller model
-------------------------
A model lacking a component (CV has no ``w``) asserts that it is zero: the
constant-velocity hypothesis *is* "turn rate 0, acceleration 0".  Its
conditioned state therefore holds each missing component at mean 0 with the
fixed variance ``embed_var[name]`` and no correlation to the other components.
Equivalently, in the common space the smaller model is augmented with the
linear-Gaussian transition ``c' = 0·c + e``, ``e ~ N(0, embed_var)`` for each
missing component ``c``: every prediction of that model resets the component,
whatever the mixed input said, and its measurement updates leave it unchanged
(measurement models read only the first six components, which are uncorrelated
with it).

The variance matters in the mixing: when the straight-flight model dominates,
the turn model's mixed prior for ``w`` is close to the CV hypothesis
``N(0, embed_var)``.  With zero variance the turn model would become certain
that ``w = 0`` after a long straight leg and respond slowly to a turn (and its
mixed covariance could become singular); ``embed_var`` plays the role of the
prior spread of the missing component at the onset of a manoeuvre, e.g.
``(5°/s)² ≈ 0.0076 rad²/s²`` for ``w``, a few (m/s²)² for an acceleration.
The alternative "unbiased mixing" (fill a missing component from the receiving
model's own estimate, Granström, Willett & Bar-Shalom, IEEE TAES 2015) keeps the
turn model's ``w`` from being pulled towards 0 during a steady turn; the pull is
weighted by the small mixing probability of CV into CT in that case, and the
zero-hold keeps every conditioned state an exact, simple Gaussian.  The combined
estimate (:meth:`IMM.combine`) is the moment-matched mixture in the common space,
so its variance of a component includes ``embed_var`` times the probability of
the models lacking it.

Equations (for each track; ``Pi[i, j]`` = P(model j now | model i before))::

    c̄_j    = Σ_i Pi[i, j] mu_i                          predicted probabilities
    w_ij   = Pi[i, j] mu_i / c̄_j                        mixing probabilities
    x0_j   = Σ_i w_ij x_i
    P0_j   = Σ_i w_ij (P_i + (x_i - x0_j)(x_i - x0_j)ᵀ)
    x_j, P_j ← EKF prediction of model j from (x0_j, P0_j)
    L_j    = N(ν_j; 0, S_j)                              per model EKF update
    mu_j  ∝ c̄_j L_j                                      in log space

A model with ``c̄_j = 0`` keeps its own estimate (``w_jj = 1``).

No method modifies its inputs.  Units are SI (metres, seconds, radians).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from numbers import Real
from types import MappingProxyType
from typing import NoReturn

import numpy as np
from numpy.typing import ArrayLike, NDArray

from skyfence.track.filters import ekf_update, innovation, log_likelihood
from skyfence.track.measurement import MeasurementModel
from skyfence.track.motion import (
    ConstantAcceleration,
    ConstantVelocity,
    CoordinatedTurn,
    MotionModel,
)

__all__ = ["IMM", "uniform_transition"]

Array = NDArray[np.float64]

_KINEMATIC = ("x", "y", "z", "vx", "vy", "vz")
_LAYOUTS: tuple[tuple[type[MotionModel], tuple[str, ...]], ...] = (
    (ConstantVelocity, _KINEMATIC),
    (ConstantAcceleration, (*_KINEMATIC, "ax", "ay", "az")),
    (CoordinatedTurn, (*_KINEMATIC, "w")),
)
# Largest |row sum - 1| accepted in the transition matrix.
_ROW_SUM_TOL = 1e-9
# Largest |row sum - 1| accepted in model probabilities passed to a method.
_MU_SUM_TOL = 1e-6


def _t(A: Array) -> Array:
    return np.swapaxes(A, -1, -2)


def _sym(P: Array) -> Array:
    return 0.5 * (P + _t(P))


def _components(model: MotionModel, k: int) -> tuple[str, ...]:
    """Names of a model's state components (``models[k]``), checked."""
    for cls, names in _LAYOUTS:
        if type(model) is cls:
            return names
    declared = getattr(model, "components", None)
    if (
        not isinstance(declared, tuple)
        or len(declared) != model.ndim
        or not all(isinstance(n, str) for n in declared)
        or declared[:6] != _KINEMATIC
        or len(set(declared)) != len(declared)
    ):
        raise ValueError(
            f"IMM models[{k}] ({type(model).__name__}) has an unknown state layout: give it a "
            f"`components` attribute, a tuple of its {model.ndim} distinct component names "
            f"starting with {_KINEMATIC}"
        )
    return declared


def _check_transition(transition: ArrayLike, m: int) -> Array:
    try:
        Pi = np.array(transition, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"IMM transition must be an ({m}, {m}) array of numbers: {exc}") from None
    if Pi.shape != (m, m):
        raise ValueError(
            f"IMM transition must have shape ({m}, {m}) for {m} models, got {Pi.shape}"
        )
    if not np.isfinite(Pi).all() or (Pi < 0.0).any() or (Pi > 1.0).any():
        raise ValueError(f"IMM transition entries must be probabilities in [0, 1], got {Pi!r}")
    sums = Pi.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_TOL)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"IMM transition rows must sum to 1 (row i holds P(model j next | model i)), "
            f"row {i} sums to {float(sums[i])!r}"
        )
    Pi.setflags(write=False)
    return Pi


def _check_embed_var(embed_var: object, missing: tuple[str, ...]) -> dict[str, float]:
    example = "{" + ", ".join(f"{name!r}: ..." for name in missing) + "}"
    if embed_var is None:
        embed_var = {}
    if not isinstance(embed_var, Mapping):
        raise ValueError(
            f"IMM embed_var must be a mapping from component name to variance, e.g. "
            f"{example}, got {embed_var!r}"
        )
    unknown = sorted(str(k) for k in embed_var if k not in missing)
    if unknown:
        raise ValueError(
            f"IMM embed_var has {unknown!r}, which no model lacks; valid keys: {list(missing)!r}"
        )
    absent = [name for name in missing if name not in embed_var]
    if absent:
        raise ValueError(
            f"IMM embed_var must give the variance of every component that some model lacks "
            f"(SI units squared: rad²/s² for w, m²/s⁴ for accelerations); missing {absent!r}, "
            f"e.g. embed_var={example}"
        )
    out = {}
    for name in missing:
        value = embed_var[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, Real)
            or not (math.isfinite(float(value)) and float(value) > 0.0)
        ):
            raise ValueError(
                f"IMM embed_var[{name!r}] must be a positive finite variance, got {value!r}"
            )
        out[name] = float(value)
    return out


class IMM:
    """Interacting Multiple Model filter over motion models in a common state space.

    See the module docstring for the layout of the common space, how a smaller
    model is embedded in it and the equations.

    Parameters
    ----------
    models : sequence of MotionModel
        The ``M >= 1`` motion models (:class:`~skyfence.track.motion.ConstantVelocity`,
        :class:`~skyfence.track.motion.ConstantAcceleration`,
        :class:`~skyfence.track.motion.CoordinatedTurn`, or any model with a
        ``components`` attribute naming its state components, the first six being
        ``x, y, z, vx, vy, vz``).
    transition : array_like, shape (M, M)
        Markov model-transition matrix per cycle: ``transition[i, j]`` is the
        probability of model ``j`` at the next update given model ``i`` now.  Entries
        in ``[0, 1]``, rows summing to 1 (within 1e-9).
    embed_var : mapping of str to float, optional
        Variance at which a model lacking a component holds it (at mean 0), for every
        component some model lacks, in SI units squared (``"w"``: rad²/s²;
        ``"ax"``, ``"ay"``, ``"az"``: m²/s⁴).  Not needed when all models share one
        layout.

    Raises
    ------
    ValueError
        If a parameter is invalid; the message names it.

    Examples
    --------
    >>> from skyfence.track.motion import ConstantVelocity, CoordinatedTurn
    >>> imm = IMM([ConstantVelocity(0.1), CoordinatedTurn(0.1, 1e-4)],
    ...           [[0.95, 0.05], [0.1, 0.9]], embed_var={"w": 0.01})
    >>> imm.components
    ('x', 'y', 'z', 'vx', 'vy', 'vz', 'w')
    >>> x, P, mu = imm.initiate(np.zeros((1, 7)), np.eye(7)[None], [0.5, 0.5])
    >>> x, P, mu = imm.predict(x, P, mu, 1.0)
    >>> mu.round(12).tolist()  # predicted model probabilities
    [[0.525, 0.475]]
    >>> float(P[0, 0, 6, 6])  # CV holds w at 0 with variance embed_var["w"]
    0.01
    """

    __slots__ = ("_components", "_embed", "_embed_diag", "_index", "_missing", "_models", "_pi")

    _components: tuple[str, ...]
    _embed: Mapping[str, float]
    _embed_diag: Array
    _index: tuple[NDArray[np.intp], ...]
    _missing: tuple[NDArray[np.intp], ...]
    _models: tuple[MotionModel, ...]
    _pi: Array

    def __init__(
        self,
        models: Sequence[MotionModel],
        transition: ArrayLike,
        embed_var: Mapping[str, float] | None = None,
    ) -> None:
        if isinstance(models, MotionModel) or not isinstance(models, Sequence) or not models:
            raise ValueError(f"IMM models must be a non-empty list of MotionModel, got {models!r}")
        for k, model in enumerate(models):
            if not isinstance(model, MotionModel):
                raise ValueError(
                    f"IMM models[{k}] must be a MotionModel (skyfence.track.motion), got {model!r}"
                )
        layouts = [_components(model, k) for k, model in enumerate(models)]
        names = list(_KINEMATIC)
        for layout in layouts:
            names.extend(n for n in layout if n not in names)
        position = {n: i for i, n in enumerate(names)}
        missing = tuple(n for n in names if any(n not in layout for layout in layouts))
        embed = _check_embed_var(embed_var, missing)
        index, lacking = [], []
        for layout in layouts:
            idx = np.array([position[n] for n in layout], dtype=np.intp)
            out = np.array([position[n] for n in names if n not in layout], dtype=np.intp)
            idx.setflags(write=False)
            out.setflags(write=False)
            index.append(idx)
            lacking.append(out)
        diag = np.array([embed.get(n, 0.0) for n in names])
        diag.setflags(write=False)
        setattr_ = object.__setattr__
        setattr_(self, "_models", tuple(models))
        setattr_(self, "_pi", _check_transition(transition, len(models)))
        setattr_(self, "_components", tuple(names))
        setattr_(self, "_embed", MappingProxyType(embed))
        setattr_(self, "_embed_diag", diag)
        setattr_(self, "_index", tuple(index))
        setattr_(self, "_missing", tuple(lacking))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"IMM is immutable; build a new one instead of setting {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"IMM is immutable; cannot delete {name!r}")

    def __repr__(self) -> str:
        return (
            f"IMM(models={list(self._models)!r}, transition={self._pi.tolist()!r}, "
            f"embed_var={dict(self._embed)!r})"
        )

    # ------------------------------------------------------------------ accessors

    @property
    def models(self) -> tuple[MotionModel, ...]:
        """The motion models, in order."""
        return self._models

    @property
    def transition(self) -> Array:
        """Markov model-transition matrix, shape (M, M) (read-only)."""
        return self._pi

    @property
    def embed_var(self) -> Mapping[str, float]:
        """Variance at which a model lacking a component holds it at 0 (read-only)."""
        return self._embed

    @property
    def components(self) -> tuple[str, ...]:
        """Names of the components of the common state space, length D."""
        return self._components

    @property
    def ndim(self) -> int:
        """Dimension ``D`` of the common state space."""
        return len(self._components)

    @property
    def n_models(self) -> int:
        """Number ``M`` of models."""
        return len(self._models)

    @property
    def indices(self) -> tuple[NDArray[np.intp], ...]:
        """Per model, the positions of its state components in the common space."""
        return self._index

    # ------------------------------------------------------------------- checks

    def _check(
        self, x: ArrayLike, P: ArrayLike, mu: ArrayLike, owner: str
    ) -> tuple[Array, Array, Array]:
        m, d = self.n_models, self.ndim
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3 or x.shape[1:] != (m, d):
            raise ValueError(f"IMM.{owner} expects x of shape (N, {m}, {d}), got {x.shape}")
        n = x.shape[0]
        P = np.asarray(P, dtype=np.float64)
        if P.shape != (n, m, d, d):
            raise ValueError(f"IMM.{owner} expects P of shape ({n}, {m}, {d}, {d}), got {P.shape}")
        return x, P, self._probabilities(mu, n, owner)

    def _probabilities(self, mu: ArrayLike, n: int, owner: str) -> Array:
        m = self.n_models
        mu = np.asarray(mu, dtype=np.float64)
        if mu.shape != (n, m):
            raise ValueError(f"IMM.{owner} expects mu of shape ({n}, {m}), got {mu.shape}")
        if not (mu >= 0.0).all() or (np.abs(mu.sum(axis=1) - 1.0) > _MU_SUM_TOL).any():
            raise ValueError(
                f"IMM.{owner} expects model probabilities mu >= 0 with rows summing to 1"
            )
        return mu

    def _embed_missing(self, x: Array, P: Array, j: int) -> None:
        """Hold model ``j``'s missing components of ``x (N, D)``, ``P (N, D, D)`` in place."""
        out = self._missing[j]
        if out.size:
            x[:, out] = 0.0
            P[:, out, :] = 0.0
            P[:, :, out] = 0.0
            P[:, out, out] = self._embed_diag[out]

    # ---------------------------------------------------------------- the filter

    def initiate(self, x: ArrayLike, P: ArrayLike, mu: ArrayLike) -> tuple[Array, Array, Array]:
        """Model-conditioned states of new tracks from one Gaussian each.

        Every model starts from ``(x, P)``, with the components it lacks held at 0
        with variance ``embed_var`` (uncorrelated).

        Parameters
        ----------
        x : array_like, shape (N, D)
            Initial means in the common space (:attr:`components`).
        P : array_like, shape (N, D, D)
            Their covariances.
        mu : array_like, shape (M,) or (N, M)
            Initial model probabilities (rows summing to 1).

        Returns
        -------
        x : ndarray, shape (N, M, D)
        P : ndarray, shape (N, M, D, D)
        mu : ndarray, shape (N, M)
        """
        m, d = self.n_models, self.ndim
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"IMM.initiate expects x of shape (N, {d}), got {x.shape}")
        n = x.shape[0]
        P = np.asarray(P, dtype=np.float64)
        if P.shape != (n, d, d):
            raise ValueError(f"IMM.initiate expects P of shape ({n}, {d}, {d}), got {P.shape}")
        mu = np.asarray(mu, dtype=np.float64)
        mu = self._probabilities(
            np.broadcast_to(mu, (n, m)) if mu.shape == (m,) else mu, n, "initiate"
        ).copy()
        xs = np.repeat(x[:, None, :], m, axis=1)
        Ps = np.repeat(P[:, None, :, :], m, axis=1)
        for j in range(m):
            self._embed_missing(xs[:, j], Ps[:, j], j)
        return xs, Ps, mu

    def mix(self, x: ArrayLike, P: ArrayLike, mu: ArrayLike) -> tuple[Array, Array, Array]:
        """IMM mixing (interaction): each model's initial condition for the next cycle.

        Parameters
        ----------
        x : array_like, shape (N, M, D)
            Model-conditioned means.
        P : array_like, shape (N, M, D, D)
            Model-conditioned covariances.
        mu : array_like, shape (N, M)
            Model probabilities.

        Returns
        -------
        x0 : ndarray, shape (N, M, D)
            Mixed means ``Σ_i w_ij x_i``.
        P0 : ndarray, shape (N, M, D, D)
            Mixed covariances (with the spread of the means), symmetrised.
        c_bar : ndarray, shape (N, M)
            Predicted model probabilities ``Σ_i Pi[i, j] mu_i``.
        """
        return self._mix(*self._check(x, P, mu, "mix"))

    def _mix(
        self, x: Array, P: Array, mu: Array, pi: Array | None = None
    ) -> tuple[Array, Array, Array]:
        n, m, d = x.shape
        if pi is None:
            pi = self._pi[None, :, :]
        c_bar = (mu[:, None, :] @ pi)[:, 0, :]
        live = c_bar > 0.0
        w = np.divide(
            mu[:, :, None] * pi,
            c_bar[:, None, :],
            out=np.zeros((n, m, m)),
            where=live[:, None, :],
        )
        w = np.where(live[:, None, :], w, np.eye(m)[None])  # dead model keeps its own
        wt = _t(w)  # (N, j, i)
        x0 = wt @ x
        P0 = (wt @ P.reshape(n, m, d * d)).reshape(n, m, d, d)
        dx = x[:, None, :, :] - x0[:, :, None, :]  # (N, j, i, D)
        P0 += _t(dx * wt[..., None]) @ dx
        return x0, _sym(P0), c_bar

    def predict(
        self,
        x: ArrayLike,
        P: ArrayLike,
        mu: ArrayLike,
        dt: ArrayLike,
        transition: ArrayLike | None = None,
    ) -> tuple[Array, Array, Array]:
        """Mixing, then each model's (extended) Kalman prediction.

        Parameters
        ----------
        x : array_like, shape (N, M, D)
            Model-conditioned means.
        P : array_like, shape (N, M, D, D)
            Model-conditioned covariances.
        mu : array_like, shape (N, M)
            Model probabilities.
        dt : array_like, shape (N,) or scalar
            Time steps, seconds (see :mod:`skyfence.track.motion`).
        transition : array_like, shape (N, M, M), optional
            A transition matrix per track for this step (e.g. from
            :func:`uniform_transition` for steps of different lengths); default the
            IMM's own per-cycle :attr:`transition`.

        Returns
        -------
        x_pred : ndarray, shape (N, M, D)
        P_pred : ndarray, shape (N, M, D, D)
            Symmetrised; a model's missing components are held at 0 with variance
            ``embed_var``.
        mu_pred : ndarray, shape (N, M)
            Predicted model probabilities ``c̄``.
        """
        x, P, mu = self._check(x, P, mu, "predict")
        pi = None
        if transition is not None:
            m = self.n_models
            pi = np.asarray(transition, dtype=np.float64)
            if pi.shape != (x.shape[0], m, m):
                raise ValueError(
                    f"IMM.predict expects transition of shape ({x.shape[0]}, {m}, {m}), "
                    f"got {pi.shape}"
                )
        x0, P0, c_bar = self._mix(x, P, mu, pi)
        n, m, d = x0.shape
        x_pred = np.zeros((n, m, d))
        P_pred = np.zeros((n, m, d, d))
        for j, model in enumerate(self._models):
            idx = self._index[j]
            block = (slice(None), j, idx[:, None], idx[None, :])
            xj, Pj = model.predict(x0[:, j][:, idx], P0[block], dt)
            x_pred[:, j, idx] = xj
            P_pred[block] = Pj
            out = self._missing[j]
            if out.size:
                P_pred[:, j, out, out] = self._embed_diag[out]
        return x_pred, P_pred, c_bar

    def update(
        self,
        x: ArrayLike,
        P: ArrayLike,
        mu: ArrayLike,
        z: ArrayLike,
        meas_model: MeasurementModel,
        site: ArrayLike | None,
        rot: ArrayLike | None,
        R: ArrayLike,
    ) -> tuple[Array, Array, Array, Array, Array, Array]:
        """Each model's EKF update with one detection per track, then the model probabilities.

        Row ``n`` of the batch is paired with detection ``n`` (gather the tracks'
        rows for the pairs first, as for :func:`~skyfence.track.filters.ekf_update`).
        The probabilities are ``mu⁺_j ∝ mu_j N(ν_j; 0, S_j)``, computed in log space
        (log-sum-exp), so they stay exact when every likelihood underflows.  A model
        whose ``S`` is not positive definite gets likelihood 0; a track where every
        model does keeps ``mu``.

        Parameters
        ----------
        x : array_like, shape (N, M, D)
            Predicted model-conditioned means.
        P : array_like, shape (N, M, D, D)
            Their covariances.
        mu : array_like, shape (N, M)
            Predicted model probabilities (from :meth:`predict`).
        z : array_like, shape (N, m)
            Measurements (SI units, radians).
        meas_model : MeasurementModel
            Measurement model of the detections.
        site : array_like, shape (N, 3) or (3,), or None
            Sensor positions in the tracking frame, metres.
        rot : array_like, shape (N, 3, 3) or (3, 3), or None
            Rotations from tracking-frame axes to sensor-local ENU axes.
        R : array_like, shape (N, m, m) or (m, m)
            Measurement noise covariances.

        Returns
        -------
        x_post : ndarray, shape (N, M, D)
        P_post : ndarray, shape (N, M, D, D)
        mu_post : ndarray, shape (N, M)
            Updated model probabilities (rows sum to 1).
        nu : ndarray, shape (N, M, m)
            Innovations of each model.
        S : ndarray, shape (N, M, m, m)
            Innovation covariances of each model.
        loglik : ndarray, shape (N,)
            Log-likelihood of the detection under the IMM,
            ``log Σ_j mu_j N(ν_j; 0, S_j)`` (``-inf`` where no model explains it);
            per-model values are ``log_likelihood(nu, S)``.
        """
        x, P, mu = self._check(x, P, mu, "update")
        n, m, d = x.shape
        k = meas_model.ndim_meas
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (n, k):
            raise ValueError(f"IMM.update expects z of shape ({n}, {k}), got {z.shape}")
        x_post, P_post, nu, S = ekf_update(
            x.reshape(n * m, d),
            P.reshape(n * m, d, d),
            np.repeat(z, m, axis=0),
            meas_model,
            _per_model(site, 1, m),
            _per_model(rot, 2, m),
            _per_model_noise(R, m),
        )
        ll = log_likelihood(nu, S).reshape(n, m)
        with np.errstate(divide="ignore"):
            log_w = np.log(mu) + np.where(np.isnan(ll), -np.inf, ll)
        top = log_w.max(axis=1)
        alive = np.isfinite(top)
        shifted = np.exp(log_w - np.where(alive, top, 0.0)[:, None])
        total = shifted.sum(axis=1)
        mu_post = np.where(alive[:, None], shifted / np.where(alive, total, 1.0)[:, None], mu)
        with np.errstate(divide="ignore"):
            loglik = np.where(alive, top + np.log(np.where(alive, total, 1.0)), -np.inf)
        return (
            x_post.reshape(n, m, d),
            P_post.reshape(n, m, d, d),
            mu_post,
            nu.reshape(n, m, k),
            S.reshape(n, m, k, k),
            loglik,
        )

    def combine(self, x: ArrayLike, P: ArrayLike, mu: ArrayLike) -> tuple[Array, Array]:
        """Moment-matched track estimate ``Σ_j mu_j N(x_j, P_j)`` → one Gaussian.

        Parameters
        ----------
        x : array_like, shape (N, M, D)
            Model-conditioned means.
        P : array_like, shape (N, M, D, D)
            Model-conditioned covariances.
        mu : array_like, shape (N, M)
            Model probabilities.

        Returns
        -------
        x_comb : ndarray, shape (N, D)
            ``Σ_j mu_j x_j``.
        P_comb : ndarray, shape (N, D, D)
            ``Σ_j mu_j (P_j + (x_j - x_comb)(x_j - x_comb)ᵀ)``, symmetrised.
        """
        x, P, mu = self._check(x, P, mu, "combine")
        n, m, d = x.shape
        x_comb = (mu[:, None, :] @ x)[:, 0, :]
        dx = x - x_comb[:, None, :]
        P_comb = (mu[:, None, :] @ P.reshape(n, m, d * d)).reshape(n, d, d)
        P_comb += _t(dx * mu[:, :, None]) @ dx
        return x_comb, _sym(P_comb)

    def gate_innovation(
        self,
        x: ArrayLike,
        P: ArrayLike,
        mu: ArrayLike,
        z: ArrayLike,
        meas_model: MeasurementModel,
        site: ArrayLike | None,
        rot: ArrayLike | None,
        R: ArrayLike,
    ) -> tuple[Array, Array]:
        """Innovation and its covariance of the combined (moment-matched) state, for gating.

        Row ``n`` is paired with detection ``n``; feed the result to
        :func:`~skyfence.track.filters.mahalanobis2`.  The combined covariance
        includes the spread between the models, so a detection that fits any
        likely model falls inside the gate.

        Parameters
        ----------
        x, P, mu
            Predicted model-conditioned means, covariances and model probabilities,
            shapes (N, M, D), (N, M, D, D), (N, M).
        z : array_like, shape (N, m)
            Measurements.
        meas_model, site, rot, R
            As for :meth:`update` (``R`` (N, m, m) or (m, m)).

        Returns
        -------
        nu : ndarray, shape (N, m)
            ``residual(z, h(x_comb))``.
        S : ndarray, shape (N, m, m)
            ``H P_comb Hᵀ + R``.
        """
        x_comb, P_comb = self.combine(x, P, mu)
        n = x_comb.shape[0]
        k = meas_model.ndim_meas
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (n, k):
            raise ValueError(f"IMM.gate_innovation expects z of shape ({n}, {k}), got {z.shape}")
        zhat, _, S = innovation(x_comb, P_comb, meas_model, site, rot, R)
        return meas_model.residual(z, zhat), S


def uniform_transition(stay_per_s: float, m: int, dt: ArrayLike) -> Array:
    """Transition matrices over steps of ``dt`` seconds for a chain that leaves its model
    to any other with equal probability, staying ``stay_per_s`` over one second.

    The family ``a I + (1 - a) U`` (``U`` the matrix with every entry ``1/m``) is closed
    under products, ``(a I + (1-a) U)(b I + (1-b) U) = ab I + (1-ab) U``, so the
    continuous-time chain over ``dt`` has ``a(dt) = a₁^|dt|`` with ``a₁`` fixed by the
    one-second stay probability ``a₁ + (1 - a₁)/m``.  A step of 0 s is the identity,
    so several detections at one time do not make the models switch.

    Returns
    -------
    ndarray, shape (N, m, m)
    """
    dt = np.atleast_1d(np.asarray(dt, dtype=np.float64))
    if m == 1:
        return np.ones((dt.size, 1, 1))
    if not 1.0 / m <= stay_per_s <= 1.0:
        raise ValueError(f"stay_per_s must be in [1/m, 1] = [{1.0 / m:g}, 1], got {stay_per_s!r}")
    a1 = (stay_per_s - 1.0 / m) / (1.0 - 1.0 / m)
    a = a1 ** np.abs(dt)
    out = np.empty((dt.size, m, m))
    out[:] = ((1.0 - a) / m)[:, None, None]
    idx = np.arange(m)
    out[:, idx, idx] += a[:, None]
    return out


def _per_model(a: ArrayLike | None, single_ndim: int, m: int) -> Array | None:
    """Per-track sensor data repeated for the ``m`` models; a single one broadcasts as is."""
    if a is None:
        return None
    arr = np.asarray(a, dtype=np.float64)
    return np.repeat(arr, m, axis=0) if arr.ndim > single_ndim else arr


def _per_model_noise(R: ArrayLike, m: int) -> Array:
    """Per-track noise covariances ``(N, k, k)`` repeated for the models; ``(k, k)`` as is."""
    arr = np.asarray(R, dtype=np.float64)
    return np.repeat(arr, m, axis=0) if arr.ndim > 2 else arr
