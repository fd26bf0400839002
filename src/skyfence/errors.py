"""Errors raised by SkyFence.

Every error says what was expected, what arrived, where (file, key, row) and,
where one exists, the fix.  The hierarchy::

    SkyFenceError                  base of everything SkyFence raises on purpose
     ├── ConfigError               a TOML/GeoJSON configuration file is wrong
     │    │                        (names the file, the key and what was expected)
     │    └── UnknownScenarioError a scenario name is not a built-in nor a file
     ├── DataError                 an input table (detections, truth) is unusable
     └── OutputError               an output location cannot be written
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigError", "DataError", "OutputError", "SkyFenceError", "UnknownScenarioError"]


class SkyFenceError(Exception):
    """Base class of every error SkyFence raises on purpose."""


class ConfigError(SkyFenceError):
    """A configuration file is wrong.

    Parameters
    ----------
    file:
        The file at fault (or a description such as ``"<built-in jonava-gerbera>"``).
    key:
        Dotted path of the key at fault, e.g. ``sensor[2].max_range_m``; empty for
        a problem with the whole file.
    message:
        What was expected and what arrived.
    """

    def __init__(self, file: str | Path, key: str, message: str) -> None:
        self.file = str(file)
        self.key = key
        self.message = message
        where = f"{self.file}: key '{key}'" if key else self.file
        super().__init__(f"{where}: {message}")


class UnknownScenarioError(ConfigError):
    """A scenario name is neither a built-in scenario nor an existing file."""


class DataError(SkyFenceError):
    """An input table cannot be used (missing column, wrong type)."""


class OutputError(SkyFenceError):
    """An output location cannot be written."""
