"""The fitted model: a binned additive multinomial logistic regression.

Each feature ``f`` is cut into bins (edges fitted on training quantiles) plus one
bin for "missing"; every bin holds one log-odds contribution per class, and a
row's class log-probabilities are the softmax of the bias plus the contributions
of its bins:

.. math::  \\log p(c \\mid x) = b_c + \\sum_f W_f[\\mathrm{bin}_f(x_f), c] - \\log Z(x)

This is a generalised additive model with piecewise-constant shape functions:
each feature may act non-monotonically (slow is bird *or* hovering rotor, fast
is aircraft), missing evidence has its own learnt weight, and prediction is one
``searchsorted`` per feature and one gather, vectorised over any number of rows.
It is fitted by penalised maximum likelihood (:func:`fit_additive`: weighted
cross-entropy, a ridge penalty and a smoothness penalty on neighbouring bins,
L-BFGS) and the logits are then scaled by a temperature fitted on held-out
tracks so that the probabilities are calibrated.  Classes are scored as
sub-classes (single birds and flocks apart, light aircraft and airliners apart)
and summed, and an operating prior is applied by Bayes' rule
(:class:`ClassifierParams`).

Parameters are stored as JSON (:meth:`ClassifierParams.save`,
:func:`load_params`); the shipped file is ``classify/data/params.json``, written
by ``scripts/train_classifier.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from skyfence.classify.features import FEATURE_NAMES, FeatureSettings
from skyfence.errors import ConfigError
from skyfence.model.schema import CLASSIFY_CLASSES

__all__ = [
    "PARAMS_VERSION",
    "ClassifierParams",
    "class_quantile_edges",
    "fit_additive",
    "fit_temperature",
    "load_params",
    "quantile_edges",
]

#: format version of the parameter file
PARAMS_VERSION = 1


@dataclass(frozen=True, eq=False)
class ClassifierParams:
    """Everything the classifier was fitted with.

    The model scores *sub-classes* (e.g. single birds and flocks, light aircraft and
    airliners), each belonging to one output class; an output class's probability is
    the sum of its sub-classes'.  A class whose signatures are two far-apart clusters
    (a flock's RCS is a balloon's, a single bird's is smaller than a quadcopter's) is
    thus two additive models, not one forced compromise.

    The fit weighs every output class equally (a uniform training prior).  The
    probabilities reported use an *operating prior* instead, one for tentative rows
    (most tentative tracks are clutter) and one for the others, by Bayes' rule:
    each sub-class's log-odds shift by ``log(prior[c] / training_prior[c])`` of its
    output class ``c``.

    Attributes
    ----------
    classes : tuple of str
        The output classes, in the column order of the probabilities
        (:data:`~skyfence.model.schema.CLASSIFY_CLASSES`).
    subclasses : tuple of str
        The classes the model scores.
    subclass_of : ndarray of int64
        Index into ``classes`` of each sub-class.
    feature_names : tuple of str
        The features, in the column order of the feature matrix.
    edges : tuple of ndarray
        Per feature, the sorted inner bin edges (``b - 1`` edges → ``b`` bins); a value
        ``x`` falls in bin ``searchsorted(edges, x, "right")``.
    weights : tuple of ndarray
        Per feature, shape ``(b + 1, n_subclasses)``: log-odds of each bin, the last row
        for a missing (NaN) value.
    bias : ndarray, shape (n_subclasses,)
    training_prior : ndarray, shape (n_classes,)
        Class prior of the fit (uniform).
    prior, prior_tentative : ndarray, shape (n_classes,)
        Operating priors of confirmed (coasting, deleted) and of tentative rows.
    settings : FeatureSettings
        How the features were accumulated.
    meta : dict
        Provenance: training seeds, scenarios, sizes, held-out figures.
    """

    classes: tuple[str, ...]
    subclasses: tuple[str, ...]
    subclass_of: np.ndarray
    feature_names: tuple[str, ...]
    edges: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    bias: np.ndarray
    training_prior: np.ndarray
    prior: np.ndarray
    prior_tentative: np.ndarray
    settings: FeatureSettings = FeatureSettings()
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        nf, nc, ns = len(self.feature_names), len(self.classes), len(self.subclasses)
        if len(self.edges) != nf or len(self.weights) != nf:
            raise ValueError(f"edges and weights for each of the {nf} features")
        sub_of = np.asarray(self.subclass_of, np.int64)
        if sub_of.shape != (ns,) or (sub_of < 0).any() or (sub_of >= nc).any() or \
                np.unique(sub_of).size != nc:
            raise ValueError("subclass_of: an output class index for each sub-class, every "
                             "class covered")
        if self.bias.shape != (ns,):
            raise ValueError(f"bias of shape ({ns},), got {self.bias.shape}")
        for name in ("training_prior", "prior", "prior_tentative"):
            p = getattr(self, name)
            if p.shape != (nc,) or not (p > 0).all():
                raise ValueError(f"{name}: {nc} positive probabilities")
        offsets = [0]
        for e, w in zip(self.edges, self.weights, strict=True):
            if w.shape != (e.size + 2, ns):
                raise ValueError(f"weights of shape ({e.size + 2}, {ns}) for {e.size} edges, "
                                 f"got {w.shape}")
            offsets.append(offsets[-1] + w.shape[0])
        M = np.zeros((ns, nc))
        M[np.arange(ns), sub_of] = 1.0
        object.__setattr__(self, "subclass_of", sub_of)
        object.__setattr__(self, "_offsets", np.array(offsets[:-1], np.int64))
        object.__setattr__(self, "_table", np.concatenate(self.weights, axis=0))
        object.__setattr__(self, "_members", M)
        object.__setattr__(self, "_edges_flat",
                           np.ascontiguousarray(np.concatenate([np.zeros(0), *self.edges]),
                                                dtype=np.float64))
        object.__setattr__(self, "_edge_start", np.concatenate(
            [[0], np.cumsum([e.size for e in self.edges])]).astype(np.int64))
        object.__setattr__(self, "_table", np.ascontiguousarray(self._table))  # type: ignore
        object.__setattr__(self, "bias", np.ascontiguousarray(self.bias, dtype=np.float64))

    @property
    def n_bins_total(self) -> int:
        """Bins over all features (missing bins included)."""
        return int(self._table.shape[0])  # type: ignore[attr-defined]

    def bin_index(self, X: np.ndarray) -> np.ndarray:
        """Global bin index of every (row, feature): shape ``(n, n_features)``, int64."""
        X = np.asarray(X, dtype=np.float64)
        out = np.empty(X.shape, np.int64)
        for j, e in enumerate(self.edges):
            x = X[:, j]
            b = np.searchsorted(e, x, side="right")
            b[np.isnan(x)] = e.size + 1
            out[:, j] = b + self._offsets[j]  # type: ignore[attr-defined]
        return out

    def logits(self, X: np.ndarray, compiled: bool = True) -> np.ndarray:
        """Sub-class log-odds of feature rows ``X`` (n, n_features), under the training
        prior: shape (n, n_subclasses).

        ``compiled`` uses the numba kernel (one pass over the rows: a binary search per
        feature and the sum of the bins' weights); otherwise the numpy path
        (:meth:`bin_index`, one gather per feature).  They agree to rounding.
        """
        X = np.ascontiguousarray(X, dtype=np.float64)
        table: np.ndarray = self._table  # type: ignore[attr-defined]
        if compiled:
            return _logits_kernel(X, self._edges_flat, self._edge_start,  # type: ignore
                                  self._offsets, table, self.bias)  # type: ignore
        idx = self.bin_index(X)
        z = np.broadcast_to(self.bias, (idx.shape[0], self.bias.size)).copy()
        for j in range(idx.shape[1]):
            z += table[idx[:, j]]
        return z

    def prior_shift(self, prior: np.ndarray) -> np.ndarray:
        """Log-odds added to each sub-class for an operating ``prior`` (n_classes,)."""
        return np.log(np.asarray(prior) / self.training_prior)[self.subclass_of]

    def proba(self, X: np.ndarray, prior: np.ndarray | None = None,
              tentative: np.ndarray | None = None,
              prior_tentative: np.ndarray | None = None) -> np.ndarray:
        """Output-class probabilities of feature rows ``X``: shape (n, n_classes).

        Parameters
        ----------
        X : ndarray, shape (n, n_features)
        prior : ndarray, optional
            Operating prior of the rows (default :attr:`prior`); ``training_prior``
            gives the model's own balanced posterior.
        tentative : ndarray of bool, optional
            Rows that take the tentative prior instead.
        prior_tentative : ndarray, optional
            That prior (default :attr:`prior_tentative`).
        """
        z = self.logits(X)
        shift = self.prior_shift(self.prior if prior is None else prior)
        z += shift
        if tentative is not None and np.any(tentative):
            pt = self.prior_tentative if prior_tentative is None else prior_tentative
            z[tentative] += self.prior_shift(pt) - shift
        return self.aggregate(z)

    def aggregate(self, z: np.ndarray) -> np.ndarray:
        """Softmax of sub-class log-odds ``z`` (n, n_subclasses), summed into the output
        classes: shape (n, n_classes)."""
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return p @ self._members  # type: ignore[attr-defined]

    def log_proba(self, X: np.ndarray, prior: np.ndarray | None = None) -> np.ndarray:
        """Logarithm of :meth:`proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.proba(X, prior))

    # ------------------------------------------------------------------ file
    def to_dict(self) -> dict[str, Any]:
        def probs(p: np.ndarray) -> dict[str, float]:
            return {c: round(float(v), 6) for c, v in zip(self.classes, p, strict=True)}

        return {
            "format": "skyfence.classify.params",
            "version": PARAMS_VERSION,
            "classes": list(self.classes),
            "subclasses": [{"name": n, "class": self.classes[int(c)]}
                           for n, c in zip(self.subclasses, self.subclass_of, strict=True)],
            "training_prior": probs(self.training_prior),
            "prior": probs(self.prior),
            "prior_tentative": probs(self.prior_tentative),
            "settings": self.settings.to_dict(),
            "bias": [round(float(v), 6) for v in self.bias],
            "features": [
                {"name": n, "edges": [float(v) for v in e],
                 "weights": [[round(float(v), 6) for v in row] for row in w]}
                for n, e, w in zip(self.feature_names, self.edges, self.weights, strict=True)
            ],
            "meta": self.meta,
        }

    def save(self, path: str | Path) -> Path:
        """Write the parameters as JSON to ``path``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")
        return path

    def replace(self, **kw: Any) -> ClassifierParams:
        """A copy with some fields replaced."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        d.update(kw)
        return ClassifierParams(**d)

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> ClassifierParams:
        """Parameters from their JSON form; :class:`ConfigError` naming the key if wrong."""
        try:
            if d.get("version") != PARAMS_VERSION:
                raise ConfigError(source, "version", f"{PARAMS_VERSION}, got {d.get('version')!r}")
            classes = tuple(str(c) for c in d["classes"])
            if classes != CLASSIFY_CLASSES:
                raise ConfigError(source, "classes", f"{list(CLASSIFY_CLASSES)}, got "
                                  f"{list(classes)}")
            feats = d["features"]
            names = tuple(str(f["name"]) for f in feats)
            if names != FEATURE_NAMES:
                raise ConfigError(source, "features", f"the features {list(FEATURE_NAMES)} in "
                                  f"this order, got {list(names)}")
            subs = d["subclasses"]
            for i, sc in enumerate(subs):
                if sc["class"] not in classes:
                    raise ConfigError(source, f"subclasses[{i}].class",
                                      f"one of {', '.join(classes)}, got {sc['class']!r}")

            def probs(key: str) -> np.ndarray:
                p = d[key]
                missing = [c for c in classes if c not in p]
                if missing:
                    raise ConfigError(source, f"{key}.{missing[0]}", "required key is missing")
                return np.array([float(p[c]) for c in classes])

            return cls(
                classes=classes,
                subclasses=tuple(str(sc["name"]) for sc in subs),
                subclass_of=np.array([classes.index(sc["class"]) for sc in subs], np.int64),
                feature_names=names,
                edges=tuple(np.asarray(f["edges"], np.float64) for f in feats),
                weights=tuple(np.asarray(f["weights"], np.float64) for f in feats),
                bias=np.asarray(d["bias"], np.float64),
                training_prior=probs("training_prior"), prior=probs("prior"),
                prior_tentative=probs("prior_tentative"),
                settings=FeatureSettings(**d.get("settings", {})),
                meta=dict(d.get("meta", {})),
            )
        except KeyError as exc:
            raise ConfigError(source, str(exc.args[0]), "required key is missing") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(source, "", f"is not a valid parameter file: {exc}") from None


@njit(cache=True, error_model="numpy")
def _logits_kernel(X: np.ndarray, edges: np.ndarray, edge_start: np.ndarray,
                   offsets: np.ndarray, table: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Per row: bias plus, per feature, the weights of the bin its value falls in
    (``searchsorted(edges_j, x, "right")``; NaN: the missing bin)."""
    n, nf = X.shape
    nc = bias.size
    z = np.empty((n, nc))
    for i in range(n):
        for c in range(nc):
            z[i, c] = bias[c]
        for j in range(nf):
            lo = edge_start[j]
            hi = edge_start[j + 1]
            x = X[i, j]
            if np.isnan(x):
                b = hi - lo + 1
            else:
                a, e = lo, hi            # first edge > x, as searchsorted side="right"
                while a < e:
                    m = (a + e) >> 1
                    if edges[m] <= x:
                        a = m + 1
                    else:
                        e = m
                b = a - lo
            row = offsets[j] + b
            for c in range(nc):
                z[i, c] += table[row, c]
    return z


def load_params(path: str | Path | None = None) -> ClassifierParams:
    """Read a parameter file; ``None``: the shipped ``classify/data/params.json``."""
    if path is None:
        res = resources.files("skyfence.classify") / "data" / "params.json"
        source = str(res)
        text = res.read_text(encoding="utf-8")
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(source, "", f"cannot be read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, "", f"is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "", "a JSON object")
    return ClassifierParams.from_dict(data, source)


# ---------------------------------------------------------------------- fitting

def quantile_edges(x: np.ndarray, n_bins: int, weights: np.ndarray | None = None
                   ) -> np.ndarray:
    """Inner bin edges at the (weighted) quantiles of the finite values of ``x``.

    Parameters
    ----------
    x : ndarray
        Values (NaN: missing, ignored).
    n_bins : int
        Bins wanted; fewer result where quantiles coincide (duplicates are merged).
    weights : ndarray, optional
        Weight of each value (e.g. class-balanced training weights), default equal.
    """
    v = np.asarray(x, dtype=np.float64)
    w = np.ones(v.size) if weights is None else np.asarray(weights, np.float64)
    ok = np.isfinite(v) & (w > 0)
    v, w = v[ok], w[ok]
    if v.size == 0:
        return np.zeros(0)
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cw = np.cumsum(w)
    q = np.arange(1, n_bins) / n_bins * cw[-1]
    e = np.unique(v[np.minimum(np.searchsorted(cw, q, side="left"), v.size - 1)])
    # an edge at the minimum would leave its lower bin empty
    return e[e > v[0]]


def class_quantile_edges(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_per_class: int,
                         extra: tuple[float, ...] = (), digits: int = 3) -> np.ndarray:
    """Inner bin edges resolving every class: the union of each class's weighted quantiles.

    Pooled quantiles put the edges where the most common class lies and lump a rare
    class's range (an airliner's speed) with its neighbour's; the union of per-class
    quantiles resolves each class's own distribution.

    Parameters
    ----------
    x : ndarray
        Feature values (NaN: missing, ignored).
    y : ndarray of int
        Class of each value.
    w : ndarray
        Weight of each value.
    n_per_class : int
        Bins per class (its quantiles at ``1/n … (n-1)/n``).
    extra : tuple of float
        Edges always included (e.g. for shares: 0.05, 0.5, …).
    digits : int
        Edges are rounded to this many significant digits and duplicates merged.
    """
    parts = [np.asarray(extra, np.float64)]
    for c in np.unique(y):
        m = y == c
        parts.append(quantile_edges(x[m], n_per_class, w[m]))
    e = np.concatenate(parts)
    e = e[np.isfinite(e)]
    if e.size == 0:
        return e
    mag = np.where(e != 0, np.floor(np.log10(np.abs(np.where(e != 0, e, 1.0)))), 0.0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.unique(np.round(e * scale) / scale)


def fit_additive(X: np.ndarray, y: np.ndarray, w: np.ndarray, edges: list[np.ndarray],
                 n_classes: int, ridge: float = 1e-4, smooth: float = 1e-2,
                 max_iter: int = 500,
                 progress: Callable[[int], None] | None = None
                 ) -> tuple[list[np.ndarray], np.ndarray, dict[str, Any]]:
    """Fit the bin weights by penalised weighted maximum likelihood (L-BFGS).

    Parameters
    ----------
    X : ndarray, shape (n, n_features)
        Feature rows (NaN: missing).
    y : ndarray of int, shape (n,)
        Class index of each row.
    w : ndarray, shape (n,)
        Weight of each row (normalised to sum to one inside).
    edges : list of ndarray
        Inner bin edges per feature.
    n_classes : int
    ridge : float
        Penalty on the squared weights.
    smooth : float
        Penalty on squared differences of neighbouring (non-missing) bins.
    max_iter : int
        L-BFGS iterations at most.
    progress : callable, optional
        Called with the iteration number after each iteration.

    Returns
    -------
    weights : list of ndarray
        Per feature, shape ``(len(edges) + 2, n_classes)``.
    bias : ndarray, shape (n_classes,)
    info : dict
        ``loss`` (final penalised loss), ``iterations``, ``converged``.
    """
    from scipy.optimize import minimize
    from scipy.sparse import csr_matrix

    n, nf = X.shape
    sizes = [e.size + 2 for e in edges]
    offs = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    nb = int(sum(sizes))
    idx = np.empty((n, nf), np.int64)
    for j, e in enumerate(edges):
        b = np.searchsorted(e, X[:, j], side="right")
        b[np.isnan(X[:, j])] = e.size + 1
        idx[:, j] = b + offs[j]
    D = csr_matrix((np.ones(n * nf), idx.ravel(), np.arange(0, n * nf + 1, nf)), shape=(n, nb))
    DT = D.T.tocsr()
    wn = np.asarray(w, np.float64) / float(np.sum(w))
    Y = np.zeros((n, n_classes))
    Y[np.arange(n), y] = 1.0
    # neighbouring, non-missing bins of the same feature: pairs (a, a + 1)
    left = np.concatenate([offs[j] + np.arange(sizes[j] - 2) for j in range(nf)])

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return theta[: nb * n_classes].reshape(nb, n_classes), theta[nb * n_classes:]

    it = [0]

    def fun(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = unpack(theta)
        z = D @ W + b
        z -= z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
        logp = z - lse
        loss = -float(np.sum(wn * np.sum(Y * logp, axis=1)))
        G = (np.exp(logp) - Y) * wn[:, None]
        gW = DT @ G
        gb = G.sum(axis=0)
        d = W[left + 1] - W[left]
        loss += ridge * float(np.sum(W * W)) + smooth * float(np.sum(d * d))
        gW += 2.0 * ridge * W
        np.add.at(gW, left + 1, 2.0 * smooth * d)
        np.add.at(gW, left, -2.0 * smooth * d)
        return loss, np.concatenate([gW.ravel(), gb])

    def cb(_: np.ndarray) -> None:
        it[0] += 1
        if progress is not None:
            progress(it[0])

    res = minimize(fun, np.zeros(nb * n_classes + n_classes), jac=True, method="L-BFGS-B",
                   callback=cb, options={"maxiter": max_iter})
    W, b = unpack(res.x)
    weights = [W[offs[j]: offs[j] + sizes[j]].copy() for j in range(nf)]
    return weights, b.copy(), {"loss": float(res.fun), "iterations": int(res.nit),
                               "converged": bool(res.success)}


def fit_temperature(logits: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Temperature ``T`` minimising the weighted cross-entropy of ``softmax(logits / T)``."""
    from scipy.optimize import minimize_scalar

    wn = np.asarray(w, np.float64) / float(np.sum(w))

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -float(np.sum(wn * logp[np.arange(y.size), y]))

    res = minimize_scalar(nll, bounds=(np.log(0.2), np.log(5.0)), method="bounded")
    return float(np.exp(res.x))
