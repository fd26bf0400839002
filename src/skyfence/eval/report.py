"""Summaries and pictures of evaluation runs."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from skyfence.eval.harness import GOSPA_C_M, RunScore  # noqa: E402

__all__ = ["plot_runs", "summarise"]


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


def plot_runs(scores: list[RunScore], scenario: str, out: str | Path) -> Path:
    """GOSPA over time for every run (thin) and their mean (thick), with the split."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(11, 7), sharex=True)
    t0 = min(float(s.series["time"][0]) for s in scores if s.series["time"].size)
    for s in scores:
        t = (s.series["time"] - t0) / 60.0
        ax1.plot(t, s.series["gospa"], lw=0.6, alpha=0.5)
    base = scores[0].series
    t = (base["time"] - t0) / 60.0
    ax1.set_ylabel(f"GOSPA (m; c = {GOSPA_C_M:g} m, p = 2, α = 2)")
    ax1.set_title(f"{scenario}: tracker GOSPA over time, {len(scores)} run(s)")
    ax1.grid(True, lw=0.3)
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
