"""How well tracks are identified: confusion, accuracy after confirmation, calibration.

The truth of a track is the target most of its rows are associated with (the
association of :func:`skyfence.eval.continuity.associate_updates`, given by the
caller); a track with no associated row is clutter.  Classes are compared fine
(:data:`~skyfence.model.schema.CLASSIFY_CLASSES`) and coarse
(:data:`COARSE_CLASSES`: both kinds of drone are ``drone``).

Figures (:class:`ClassificationReport`)
    * confusion matrices (truth × predicted, counts of rows) over the counted rows
      (``status`` in ``statuses``, by default confirmed), fine and coarse;
    * accuracy ``after_s`` seconds after confirmation: per track whose truth is a
      drone, bird or aircraft, the class of its latest row at or before its first
      confirmed row's time plus ``after_s`` (its last row if it ends sooner),
      right when its coarse class equals the truth's (a prediction of balloon or
      clutter is wrong); also as a confusion matrix of tracks;
    * reliability of the top-label probability ``class_prob`` over the counted
      rows: bins of predicted probability against the observed frequency of the
      prediction being right (fine classes), and the expected calibration error
      ``ECE = Σ_b (n_b / N) |acc_b − conf_b|``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from skyfence.errors import DataError
from skyfence.model.schema import CLASSIFY_CLASSES

__all__ = [
    "COARSE",
    "COARSE_CLASSES",
    "ClassificationReport",
    "evaluate_classification",
    "reliability",
]

#: fine class → coarse class
COARSE: dict[str, str] = {"drone_fixed_wing": "drone", "drone_rotary": "drone", "bird": "bird",
                          "aircraft": "aircraft", "balloon": "balloon", "clutter": "clutter"}
#: coarse classes, in the order of the coarse confusion matrix
COARSE_CLASSES: tuple[str, ...] = ("drone", "bird", "aircraft", "balloon", "clutter")
#: the coarse classes the accuracy after confirmation is measured on
ACCURACY_CLASSES: tuple[str, ...] = ("drone", "bird", "aircraft")


@dataclass
class ClassificationReport:
    """Identification figures of one run (or pooled runs).

    Attributes
    ----------
    classes, coarse_classes : tuple of str
        Row/column labels of the fine and coarse confusion matrices.
    confusion : ndarray of int64, shape (6, 6)
        Counted rows by truth class (rows) and predicted class (columns).
    confusion_coarse : ndarray of int64, shape (5, 5)
    row_accuracy : float
        Share of counted rows whose fine class is right (NaN: no rows).
    after_s : float
        Seconds after confirmation of the accuracy below.
    accuracy_after : float
        Share of drone/bird/aircraft tracks right ``after_s`` seconds after their
        confirmation (coarse classes; NaN: no such track).
    n_tracks_after : int
        Tracks it was measured on.
    confusion_after : ndarray of int64, shape (3, 5)
        Those tracks by truth (drone, bird, aircraft) and predicted coarse class.
    bin_edges : ndarray, shape (n_bins + 1,)
        Edges of the predicted-probability bins.
    bin_confidence, bin_frequency : ndarray, shape (n_bins,)
        Mean predicted probability and observed frequency of being right per bin (NaN:
        empty bin).
    bin_count : ndarray of int64
    ece : float
        Expected calibration error (0 … 1; NaN: no rows).
    """

    classes: tuple[str, ...]
    coarse_classes: tuple[str, ...]
    confusion: np.ndarray
    confusion_coarse: np.ndarray
    row_accuracy: float
    after_s: float
    accuracy_after: float
    n_tracks_after: int
    confusion_after: np.ndarray
    bin_edges: np.ndarray
    bin_confidence: np.ndarray
    bin_frequency: np.ndarray
    bin_count: np.ndarray
    ece: float
    extra: dict[str, Any] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        """Plain figures for printing or JSON (matrices as nested lists)."""
        return {
            "row_accuracy": self.row_accuracy,
            "after_s": self.after_s,
            "accuracy_after": self.accuracy_after,
            "n_tracks_after": self.n_tracks_after,
            "ece": self.ece,
            "classes": list(self.classes),
            "coarse_classes": list(self.coarse_classes),
            "confusion": self.confusion.tolist(),
            "confusion_coarse": self.confusion_coarse.tolist(),
            "confusion_after": self.confusion_after.tolist(),
            "bin_edges": self.bin_edges.tolist(),
            "bin_confidence": self.bin_confidence.tolist(),
            "bin_frequency": self.bin_frequency.tolist(),
            "bin_count": self.bin_count.tolist(),
            **self.extra,
        }

    @staticmethod
    def pool(reports: Sequence[ClassificationReport]) -> ClassificationReport:
        """Pool several runs' reports (counts added, rates recomputed)."""
        if not reports:
            raise ValueError("no reports to pool")
        r0 = reports[0]
        cf = sum((r.confusion for r in reports), np.zeros_like(r0.confusion))
        cc = sum((r.confusion_coarse for r in reports), np.zeros_like(r0.confusion_coarse))
        ca = sum((r.confusion_after for r in reports), np.zeros_like(r0.confusion_after))
        cnt = sum((r.bin_count for r in reports), np.zeros_like(r0.bin_count))
        conf_sum = sum((np.nan_to_num(r.bin_confidence) * r.bin_count for r in reports),
                       np.zeros(cnt.size))
        freq_sum = sum((np.nan_to_num(r.bin_frequency) * r.bin_count for r in reports),
                       np.zeros(cnt.size))
        with np.errstate(invalid="ignore", divide="ignore"):
            bc = np.where(cnt > 0, conf_sum / np.maximum(cnt, 1), np.nan)
            bf = np.where(cnt > 0, freq_sum / np.maximum(cnt, 1), np.nan)
        n = int(cnt.sum())
        ece = float(np.nansum(cnt / max(n, 1) * np.abs(bf - bc))) if n else float("nan")
        n_after = int(ca.sum())
        return ClassificationReport(
            r0.classes, r0.coarse_classes, cf, cc,
            float(np.trace(cf) / cf.sum()) if cf.sum() else float("nan"), r0.after_s,
            float(_right_after(ca) / n_after) if n_after else float("nan"), n_after, ca,
            r0.bin_edges, bc, bf, cnt, ece)


def _right_after(conf_after: np.ndarray) -> int:
    return int(sum(conf_after[i, COARSE_CLASSES.index(c)]
                   for i, c in enumerate(ACCURACY_CLASSES)))


def reliability(prob: np.ndarray, correct: np.ndarray, n_bins: int = 10
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Reliability-diagram data of top-label probabilities.

    Parameters
    ----------
    prob : ndarray
        Predicted probability of each prediction (0 … 1).
    correct : ndarray of bool
        Whether each prediction was right.
    n_bins : int
        Equal-width bins over [0, 1].

    Returns
    -------
    edges, confidence, frequency, count, ece
        Bin edges; mean probability and observed frequency per bin (NaN: empty);
        rows per bin; expected calibration error (NaN without rows).
    """
    prob = np.asarray(prob, np.float64)
    correct = np.asarray(correct, bool)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ok = np.isfinite(prob)
    b = np.clip(np.searchsorted(edges, prob[ok], side="right") - 1, 0, n_bins - 1)
    cnt = np.bincount(b, minlength=n_bins)
    s_p = np.bincount(b, prob[ok], minlength=n_bins)
    s_c = np.bincount(b, correct[ok].astype(np.float64), minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(cnt > 0, s_p / np.maximum(cnt, 1), np.nan)
        freq = np.where(cnt > 0, s_c / np.maximum(cnt, 1), np.nan)
    n = int(cnt.sum())
    ece = float(np.nansum(cnt / n * np.abs(freq - conf))) if n else float("nan")
    return edges, conf, freq, cnt.astype(np.int64), ece


def evaluate_classification(truth: Mapping[str, np.ndarray], tracks: Mapping[str, np.ndarray],
                            association: Any,
                            truth_ids: np.ndarray | None = None, after_s: float = 10.0,
                            statuses: Sequence[str] = ("confirmed",),
                            n_bins: int = 10) -> ClassificationReport:
    """Confusion, accuracy ``after_s`` after confirmation and reliability of classified tracks.

    Parameters
    ----------
    truth : mapping of str to ndarray
        Truth rows with ``truth_id`` and ``target_class``.
    tracks : mapping of str to ndarray
        Classified track rows: ``time``, ``track_id``, ``status``, ``class``,
        ``class_prob``.
    association : UpdateAssociation or ndarray
        Per track row, the associated target: an
        :class:`~skyfence.eval.continuity.UpdateAssociation` of these rows, or an
        array of indices into ``truth_ids`` (-1: none).
    truth_ids : ndarray, optional
        The distinct truth ids the indices refer to (needed with an array; taken from
        the association otherwise).
    after_s : float
        Seconds after confirmation for the accuracy, s.
    statuses : sequence of str
        Statuses of the rows counted in the confusion matrices and the reliability.
    n_bins : int
        Bins of the reliability diagram.

    Returns
    -------
    ClassificationReport

    Raises
    ------
    DataError
        If a column is missing or the association does not match the rows.
    """
    for c in ("time", "track_id", "status", "class", "class_prob"):
        if c not in tracks:
            raise DataError(f"classified track rows lack the column '{c}'")
    for c in ("truth_id", "target_class"):
        if c not in truth:
            raise DataError(f"truth rows lack the column '{c}'")
    if hasattr(association, "truth_index"):   # an UpdateAssociation
        ti = np.asarray(association.truth_index)
        truth_ids = np.asarray(association.truth_ids)
    else:
        ti = np.asarray(association)
        if truth_ids is None:
            raise DataError("truth_ids are needed with an array association")
    t = np.asarray(tracks["time"], np.float64)
    n = t.size
    if ti.size != n:
        raise DataError(f"the association has {ti.size} rows, the tracks {n}")
    tid = np.asarray(tracks["track_id"]).astype(np.int64)
    status = np.asarray(tracks["status"]).astype(str)
    pred = np.asarray(tracks["class"]).astype(str)
    prob = np.asarray(tracks["class_prob"], np.float64)

    # class of each target
    t_id = np.asarray(truth["truth_id"]).astype(np.int64)
    u_id, first = np.unique(t_id, return_index=True)
    cls_of = np.asarray(truth["target_class"]).astype(str)[first]
    pos = np.searchsorted(u_id, np.asarray(truth_ids).astype(np.int64))
    if np.any(pos >= u_id.size) or np.any(u_id[np.minimum(pos, u_id.size - 1)] != truth_ids):
        raise DataError("the association names targets that are not in the truth rows")
    target_class = cls_of[pos]

    # truth of each track: its most frequently associated target
    track_ids, rank = np.unique(tid, return_inverse=True)
    rank = rank.ravel()
    nt = track_ids.size
    track_class = np.full(nt, "clutter", dtype=object)
    a = ti >= 0
    if a.any():
        pairs, cnt = np.unique(np.stack([rank[a], ti[a]], axis=1), axis=0, return_counts=True)
        order = np.lexsort((-cnt, pairs[:, 0]))
        pairs = pairs[order]
        keep = np.ones(pairs.shape[0], bool)
        keep[1:] = pairs[1:, 0] != pairs[:-1, 0]
        track_class[pairs[keep, 0]] = target_class[pairs[keep, 1]]
    track_class = track_class.astype(str)
    row_truth = track_class[rank]

    fine = {c: i for i, c in enumerate(CLASSIFY_CLASSES)}
    coarse = {c: i for i, c in enumerate(COARSE_CLASSES)}

    def codes(names: np.ndarray, lut: dict[str, int], map_: dict[str, str] | None = None
              ) -> np.ndarray:
        u, inv = np.unique(names, return_inverse=True)
        vals = np.array([lut.get(map_.get(str(x), str(x)) if map_ else str(x), -1) for x in u],
                        np.int64)
        return vals[inv.ravel()] if u.size else np.zeros(0, np.int64)

    counted = np.isin(status, list(statuses))
    yt, yp = codes(row_truth[counted], fine), codes(pred[counted], fine)
    ok = (yt >= 0) & (yp >= 0)
    k = len(CLASSIFY_CLASSES)
    conf = np.bincount(yt[ok] * k + yp[ok], minlength=k * k).reshape(k, k)
    ct, cp = codes(row_truth[counted], coarse, COARSE), codes(pred[counted], coarse, COARSE)
    okc = (ct >= 0) & (cp >= 0)
    kc = len(COARSE_CLASSES)
    conf_c = np.bincount(ct[okc] * kc + cp[okc], minlength=kc * kc).reshape(kc, kc)
    row_acc = float(np.mean(yt[ok] == yp[ok])) if ok.any() else float("nan")

    # accuracy after confirmation, per track
    conf_after = np.zeros((len(ACCURACY_CLASSES), kc), np.int64)
    confirmed = status == "confirmed"
    if confirmed.any():
        t_conf = np.full(nt, np.inf)
        np.minimum.at(t_conf, rank[confirmed], t[confirmed])
        live = status != "deleted"
        cand = live & (t <= t_conf[rank] + after_s)
        if cand.any():
            rows = np.flatnonzero(cand)
            # the latest candidate row of each track (ties: the later row)
            order = np.lexsort((rows, t[rows], rank[rows]))
            rows = rows[order]
            last = np.ones(rows.size, bool)
            last[:-1] = rank[rows[1:]] != rank[rows[:-1]]
            rows = rows[last]
            tr = rank[rows]
            use = np.isfinite(t_conf[tr]) & np.isin(
                np.array([COARSE.get(c, c) for c in track_class[tr]]), ACCURACY_CLASSES)
            rows, tr = rows[use], tr[use]
            at = codes(track_class[tr], {c: i for i, c in enumerate(ACCURACY_CLASSES)}, COARSE)
            ap = codes(pred[rows], coarse, COARSE)
            good = (at >= 0) & (ap >= 0)
            np.add.at(conf_after, (at[good], ap[good]), 1)
    n_after = int(conf_after.sum())
    acc_after = float(_right_after(conf_after) / n_after) if n_after else float("nan")

    correct = (pred[counted] == row_truth[counted])
    edges, bc, bf, bn, ece = reliability(prob[counted], correct, n_bins)
    return ClassificationReport(CLASSIFY_CLASSES, COARSE_CLASSES, conf.astype(np.int64),
                                conf_c.astype(np.int64), row_acc, float(after_s), acc_after,
                                n_after, conf_after, edges, bc, bf, bn, ece)
