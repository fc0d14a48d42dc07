"""Batch scoring: stream trip files in chunks, predict, write parquet; invalid rows go to quarantine."""

from tripcast.mlops.serving.batch.scoring import ScoreReport, score_file
from tripcast.mlops.serving.batch.sources import input_files, iter_chunks

__all__ = ["ScoreReport", "input_files", "iter_chunks", "score_file"]
