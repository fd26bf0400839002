"""Pictures for people: maps of runs, tracks, coverage (matplotlib, drawn headless)."""

from skyfence.viz.runmap import plot_run

__all__ = ["plot_run"]
