"""Pictures of identification quality: the reliability diagram and the confusion matrix.

Drawn with matplotlib's Agg backend (no display needed), in the style of
:mod:`skyfence.viz`: one figure, labelled axes with units, written to a PNG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skyfence.classify.evaluate import ClassificationReport  # noqa: E402

__all__ = ["plot_reliability"]


def plot_reliability(report: ClassificationReport, out: str | Path, title: str = "") -> Path:
    """Draw the reliability diagram and the coarse confusion matrix of a report to a PNG.

    Left: observed frequency of the top-label class being right against the mean
    predicted probability per bin (the diagonal is perfect calibration), with the
    rows per bin below on a log scale and the expected calibration error.  Right:
    the coarse confusion matrix of the counted rows, each truth row normalised to
    one, with the counts written in the cells.

    Parameters
    ----------
    report : ClassificationReport
        From :func:`~skyfence.classify.evaluate.evaluate_classification` (or pooled).
    out : str or Path
        PNG written (its directory is created).
    title : str
        Figure title (e.g. the scenario and seeds).

    Returns
    -------
    Path
        The file written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig = plt.figure(figsize=(12, 5.5))
    gs = fig.add_gridspec(2, 2, height_ratios=(3, 1), width_ratios=(1, 1), hspace=0.08,
                          wspace=0.25)
    ax = fig.add_subplot(gs[0, 0])
    axn = fig.add_subplot(gs[1, 0], sharex=ax)
    axc = fig.add_subplot(gs[:, 1])

    e = report.bin_edges
    centre = 0.5 * (e[:-1] + e[1:])
    width = np.diff(e)
    ok = report.bin_count > 0
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect calibration")
    ax.bar(centre[ok], report.bin_frequency[ok], width=width[ok] * 0.9, color="#1f77b4",
           alpha=0.35, edgecolor="#1f77b4", label="observed frequency")
    ax.plot(report.bin_confidence[ok], report.bin_frequency[ok], "o-", color="#d62728",
            label="mean predicted → observed")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency of a right class")
    ax.set_title(f"reliability (top class, fine): ECE {report.ece:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    plt.setp(ax.get_xticklabels(), visible=False)
    axn.bar(centre[ok], report.bin_count[ok], width=width[ok] * 0.9, color="0.5")
    axn.set_yscale("log")
    axn.set_xlabel("predicted probability of the top class")
    axn.set_ylabel("rows")
    axn.grid(alpha=0.3)

    cm = report.confusion_coarse.astype(np.float64)
    tot = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, tot, out=np.zeros_like(cm), where=tot > 0)
    axc.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    labels = list(report.coarse_classes)
    axc.set_xticks(range(len(labels)), labels, rotation=30)
    axc.set_yticks(range(len(labels)), labels)
    axc.set_xlabel("predicted")
    axc.set_ylabel("truth")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if cm[i, j] > 0:
                axc.text(j, i, f"{int(cm[i, j]):,}", ha="center", va="center", fontsize=8,
                         color="white" if norm[i, j] > 0.6 else "black")
    acc = report.accuracy_after
    axc.set_title(f"confirmed rows (coarse); drone/bird/aircraft {report.after_s:g} s after "
                  f"confirmation: {acc:.1%} of {report.n_tracks_after} tracks"
                  if np.isfinite(acc) else "confirmed rows (coarse)", fontsize=9)
    if title:
        fig.suptitle(title)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
