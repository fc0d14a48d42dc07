"""Batch scoring: stream trip files in chunks, predict, write parquet; invalid rows go to quarantine."""

from tripcast.mlops.serving.batch.outputs import OutputWriteError
from tripcast.mlops.serving.batch.scoring import ScoreReport, score_file
from tripcast.mlops.serving.batch.sources import UnreadableInputError, input_files, iter_chunks

__all__ = ["OutputWriteError", "ScoreReport", "UnreadableInputError", "input_files", "iter_chunks", "score_file"]
