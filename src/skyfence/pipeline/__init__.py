"""Wiring of the stages for one deployment (``runner``) and the live demo (``demo``)."""

from skyfence.pipeline.runner import Pipeline, PipelineStats, StepResult

__all__ = ["Pipeline", "PipelineStats", "StepResult"]
