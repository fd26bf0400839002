"""Tests of skyfence.eval.report: pooling of the RMSE-versus-bound series, the plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skyfence.eval.harness import RunScore
from skyfence.eval.report import _binned_rmse_vs_bound, plot_runs, summarise

T0 = 1e9


def _score(seed: int, rmse: float, bound: float, n: int, times: np.ndarray) -> RunScore:
    figures = {name: 1.0 for name in RunScore.__dataclass_fields__ if name != "series"}
    figures.update(seed=seed, pcrlb_rmse_m=bound, rmse_over_pcrlb=rmse / bound)
    k = times.size
    series = {"time": T0 + np.arange(400.0), "gospa": np.full(400, 30.0),
              "n_truth": np.ones(400), "n_missed": np.zeros(400), "n_false": np.zeros(400),
              "localisation": np.zeros(400), "bound_time": T0 + times,
              "bound_rmse_m": np.full(k, rmse), "bound_pcrlb_m": np.full(k, bound),
              "bound_n": np.full(k, n)}
    return RunScore(**figures, series=series)


def test_runs_are_pooled_by_target_times_in_bins(tmp_path: Path) -> None:
    # run 1: one target, RMSE 3, bound 1; run 2: three targets, RMSE 4, bound 2, 0 … 299 s
    times = np.arange(300.0)
    scores = [_score(1, 3.0, 1.0, 1, times), _score(2, 4.0, 2.0, 3, times)]
    centre, rmse, bound, width = _binned_rmse_vs_bound(scores, T0)
    assert width == 2.0  # 300 s in at most 150 bins
    np.testing.assert_allclose(centre, (np.arange(150) + 0.5) * 2.0 / 60.0)
    np.testing.assert_allclose(rmse, np.sqrt((9.0 + 3 * 16.0) / 4))
    np.testing.assert_allclose(bound, np.sqrt((1.0 + 3 * 4.0) / 4))
    assert summarise(scores)["rmse_over_pcrlb"]["mean"] == 2.5
    png = plot_runs(scores, "test", tmp_path / "p.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_no_target_times_still_plots(tmp_path: Path) -> None:
    scores = [_score(1, 3.0, 1.0, 1, np.zeros(0))]
    assert _binned_rmse_vs_bound(scores, T0) is None
    assert plot_runs(scores, "test", tmp_path / "p.png").exists()
