"""Summaries and pictures of evaluation runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import LogFormatter  # noqa: E402

from skyfence.classify.evaluate import ClassificationReport  # noqa: E402
from skyfence.eval.harness import GOSPA_C_M, RunScore  # noqa: E402

__all__ = ["FIGURE_LABELS", "plot_runs", "pooled", "summarise"]

_FIXED = "gate 500 m"
_BOUND = "gate max(500 m, 3σ PCRLB)"
#: what the figures that come with two association gates are, in words (the eval table
#: prints them under the figure's name; ``--json`` gives them as ``labels``)
FIGURE_LABELS: dict[str, str] = {
    "probability_of_update_tracked": f"prob. of update once tracked, {_FIXED}",
    "probability_of_update_tracked_drones": f"the same, drones, {_FIXED}",
    "probability_of_update_tracked_birds": f"the same, birds, {_FIXED}",
    "probability_of_update_tracked_aircraft": f"the same, aircraft, {_FIXED}",
    "probability_of_update_tracked_bound_gate": f"prob. of update once tracked, {_BOUND}",
    "probability_of_update_tracked_drones_bound_gate": f"the same, drones, {_BOUND}",
    "probability_of_update_tracked_birds_bound_gate": f"the same, birds, {_BOUND}",
    "probability_of_update_tracked_aircraft_bound_gate": f"the same, aircraft, {_BOUND}",
    "probability_of_update_at_bound": "prob. of update of a tracker as accurate as the "
                                      f"PCRLB, {_FIXED}",
    "probability_of_update_at_bound_drones": f"the same, drones, {_FIXED}",
    "probability_of_update_at_bound_birds": f"the same, birds, {_FIXED}",
    "false_updates": f"confirmed updates on no target, {_FIXED}",
    "false_updates_bound_gate": f"confirmed updates on no target, {_BOUND}",
}


def pooled(scores: list[RunScore]) -> dict[str, float | int]:
    """Incursion and identification figures pooled over the runs: every crossing, alert
    and classified track of every run counted together (the issue's targets are stated
    over crossings and tracks, not as a mean of per-run figures)."""
    inc = [s.incursions for s in scores if s.incursions is not None]
    cls = [s.classification for s in scores if s.classification is not None]
    covered = sum(i.drone_crossings_covered for i in inc)
    alerted = sum(i.drone_crossings_alerted for i in inc)
    delays = np.concatenate([i.delays_tracked_before_s for i in inc]) if inc else np.zeros(0)
    hours = sum(float(s.series["time"][-1] - s.series["time"][0]) if s.series["time"].size
                else 0.0 for s in scores) / 3600.0
    false = sum(i.false_incursion_alerts for i in inc)
    out: dict[str, float | int] = {
        "drone_crossings_covered": covered, "drone_crossings_alerted": alerted,
        "incursion_recall": alerted / covered if covered else float("nan"),
        "time_to_alert_median_s": float(np.median(delays)) if delays.size else float("nan"),
        "time_to_alert_p95_s": float(np.percentile(delays, 95)) if delays.size
        else float("nan"),
        "crossings_timed": int(delays.size),
        "false_incursion_alerts": false,
        "false_incursion_alerts_per_24h": false * 24.0 / hours if hours > 0 else float("nan"),
    }
    if cls:
        r = ClassificationReport.pool(cls)
        out.update(class_accuracy_10s=r.accuracy_after, class_tracks_10s=r.n_tracks_after,
                   class_ece=r.ece)
    return out


def summarise(scores: list[RunScore]) -> dict[str, dict[str, float]]:
    """Mean, min and max of every figure over the runs (NaN-aware)."""
    out: dict[str, dict[str, float]] = {}
    for name in scores[0].figures():
        if name == "seed":
            continue
        vals = np.array([s.figures()[name] for s in scores], dtype=float)
        fin = vals[np.isfinite(vals)]
        out[name] = {"mean": float(fin.mean()) if fin.size else float("nan"),
                     "min": float(fin.min()) if fin.size else float("nan"),
                     "max": float(fin.max()) if fin.size else float("nan")}
    return out


def _binned_rmse_vs_bound(scores: list[RunScore], t0: float
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """Tracker RMSE and PCRLB pooled over runs in time bins: (bin centre in minutes since
    ``t0``, RMSE, bound, bin width in seconds); None without target-times."""
    t = np.concatenate([s.series.get("bound_time", np.zeros(0)) for s in scores])
    if t.size == 0:
        return None
    n = np.concatenate([s.series["bound_n"] for s in scores]).astype(float)
    e2 = np.concatenate([s.series["bound_rmse_m"] ** 2 for s in scores]) * n
    b2 = np.concatenate([s.series["bound_pcrlb_m"] ** 2 for s in scores]) * n
    width = float(max(1.0, np.ceil((t.max() - t0) / _BINS)))
    k = np.floor((t - t0) / width).astype(np.int64)
    used, k = np.unique(k, return_inverse=True)
    w = np.bincount(k, n)
    centre = (used + 0.5) * width / 60.0
    return centre, np.sqrt(np.bincount(k, e2) / w), np.sqrt(np.bincount(k, b2) / w), width


#: time bins of the RMSE-versus-bound panel over the plotted span
_BINS = 150


def plot_runs(scores: list[RunScore], scenario: str, out: str | Path) -> Path:
    """GOSPA over time for every run (thin), the tracker's position RMSE against the
    PCRLB (pooled over the runs in time bins, log scale) and the GOSPA split."""
    fig, (ax1, ax3, ax2) = plt.subplots(3, 1, figsize=(11, 10), sharex=True,
                                        height_ratios=(3, 3, 2))
    t0 = min(float(s.series["time"][0]) for s in scores if s.series["time"].size)
    for s in scores:
        t = (s.series["time"] - t0) / 60.0
        ax1.plot(t, s.series["gospa"], lw=0.6, alpha=0.5)
    base = scores[0].series
    t = (base["time"] - t0) / 60.0
    ax1.set_ylabel(f"GOSPA (m; c = {GOSPA_C_M:g} m, p = 2, α = 2)")
    ax1.set_title(f"{scenario}: tracker GOSPA over time, {len(scores)} run(s)")
    ax1.grid(True, lw=0.3)

    binned = _binned_rmse_vs_bound(scores, t0)
    if binned is None:
        ax3.text(0.5, 0.5, "no confirmed track on a detected target in coverage",
                 ha="center", va="center", transform=ax3.transAxes)
    else:
        tb, rmse, bound, width = binned
        ax3.semilogy(tb, rmse, ".-", ms=3, lw=1, color="#d62728",
                     label="tracker position RMSE")
        ax3.semilogy(tb, bound, ".-", ms=3, lw=1, color="k",
                     label="PCRLB (given the detections)")
        ratio = [s.rmse_over_pcrlb for s in scores if np.isfinite(s.rmse_over_pcrlb)]
        ax3.set_title(f"position RMSE vs PCRLB at target-times with an associated confirmed "
                      f"track ({width:g} s bins, all runs); RMSE / PCRLB = "
                      f"{np.mean(ratio):.2f} (mean of runs)", fontsize=10)
        ax3.legend(fontsize=8)
    ax3.set_ylabel("position error (m)")
    ax3.yaxis.set_major_formatter(LogFormatter())  # 10, 100 rather than 10¹, 10²
    ax3.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
    ax3.grid(True, which="both", lw=0.3)

    ax2.plot(t, base["n_truth"], label="targets in coverage", color="k", lw=1)
    ax2.plot(t, base["n_missed"], label="missed", color="#d62728", lw=1)
    ax2.plot(t, base["n_false"], label="false tracks", color="#1f77b4", lw=1)
    ax2.set_ylabel(f"count (run seed {scores[0].seed})")
    ax2.set_xlabel("time since start (min)")
    ax2.legend(fontsize=8)
    ax2.grid(True, lw=0.3)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
