"""Identification: drone (fixed-wing, rotary), bird, aircraft, balloon or clutter, cooperative
identity (ADS-B, Remote ID) and spoofed Remote ID.

Modules
-------
classifier
    :class:`Classifier` (``step(tracks) -> tracks``) and the per-track state.
features
    The exponentially weighted per-track evidence.
model
    The fitted binned additive logistic model and its parameter file.
identity
    Cooperative identity and the Remote ID spoofing rules.
config
    :class:`ClassifierConfig` (TOML ``[classify]``).
evaluate, plot
    Confusion matrices, accuracy after confirmation, reliability and its picture.
training
    Simulated training data: tracks labelled against the truth.
"""

from skyfence.classify.classifier import REQUIRED_COLUMNS, Classifier, ClassifierStats
from skyfence.classify.config import (
    ClassifierConfig,
    SpoofConfig,
    WindInput,
    load_classify_config,
)
from skyfence.classify.model import ClassifierParams, load_params

__all__ = [
    "REQUIRED_COLUMNS",
    "Classifier",
    "ClassifierConfig",
    "ClassifierParams",
    "ClassifierStats",
    "SpoofConfig",
    "WindInput",
    "load_classify_config",
    "load_params",
]
