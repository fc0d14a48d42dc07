"""The monthly data pipeline: ingest -> validate -> transform -> quality -> export, resumable and engine-agnostic."""

from tripcast.core.ports.pipeline import PipelineReport, StepReport
from tripcast.data_engineering.pipeline.runner import PipelineRunner

__all__ = ["PipelineReport", "PipelineRunner", "StepReport"]
