"""The monthly data pipeline: ingest -> validate -> transform -> quality -> export, resumable and engine-agnostic."""

from tripcast.data_engineering.pipeline.runner import PipelineReport, StepReport, run_pipeline

__all__ = ["PipelineReport", "StepReport", "run_pipeline"]
