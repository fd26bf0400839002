"""SkyFence: multi-sensor counter-drone air surveillance.

Surveillance only: SkyFence detects, tracks, identifies, warns and documents.
It never steers, cues or commands a weapon or an effector.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
