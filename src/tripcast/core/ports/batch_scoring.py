"""Ports of batch scoring: where trip batches come from, how they are checked, where scores go.

The core never looks inside a batch's columns (they are adapter tables, Arrow in the shipped
adapters); it counts rows, hands each batch from one port to the next, and keeps the books.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.table import Table


@dataclass(frozen=True, slots=True)
class ScoringPlan:
    """The input files of one run, its two outputs, and the input's row count when known up front."""

    input: Path
    files: tuple[Path, ...]
    output: Path
    quarantine: Path
    total_rows: int | None = None


@dataclass(frozen=True, slots=True)
class TripBatch:
    """Consecutive rows of one input file: ``columns`` hold rows ``first_row .. first_row + num_rows - 1``."""

    source_file: str
    first_row: int
    num_rows: int
    columns: Table


@dataclass(frozen=True, slots=True)
class CheckedBatch:
    """A batch split by the trip rules: every row is in exactly one of ``valid`` and ``refused``.

    ``valid`` holds the rows to score (with their ``source_row``), ``refused`` the others with their
    reasons; ``reasons`` counts refused rows per field at fault.
    """

    valid: Table
    valid_rows: int
    refused: Table
    refused_rows: int
    reasons: dict[str, int] = field(default_factory=dict)


class ScoringSource(Protocol):
    """Trip files to score, read in bounded batches."""

    def plan(self, input_path: Path, output: Path, quarantine: Path | None) -> ScoringPlan:
        """Check the arguments cheaply (before any model loads): the inputs exist and are readable, and
        no output would overwrite an input. Raises a ``TripcastError`` naming the problem."""
        ...

    def batches(self, plan: ScoringPlan, chunk_rows: int) -> Iterator[TripBatch]:
        """The plan's rows in file order, at most ``chunk_rows`` per batch."""
        ...


class BatchChecker(Protocol):
    """The trip rules of the core (those the HTTP API applies), over a whole batch at once."""

    def check(self, batch: TripBatch) -> CheckedBatch:
        """Split ``batch`` into rows to score and rows refused with their reasons."""
        ...


class ColumnFeatureBuilder(Protocol):
    """Model inputs from the columns of valid trips, without a per-row object."""

    def features_for_columns(self, trips: Table) -> Table:
        """Features in the predictor's spec order for the valid rows of a checked batch."""
        ...


class ScoredWriter(Protocol):
    """An open pair of outputs (scored rows, refused rows) of one run."""

    def write(self, checked: CheckedBatch, minutes: Any) -> None:
        """Append a checked batch: its valid rows with their predicted ``minutes``, its refused rows."""
        ...


class ScoredSink(Protocol):
    """Where scored and refused rows go; both outputs appear only when the whole run succeeded."""

    def open(self, plan: ScoringPlan, model_name: str, model_version: str) -> AbstractContextManager[ScoredWriter]:
        """Outputs that become visible when the block exits normally, and are discarded when it raises."""
        ...


class PredictorLoader(Protocol):
    """Loads a registered model version by number or alias (the model registry)."""

    def load_predictor(self, name: str, ref: str) -> Predictor:
        """The version ``ref`` (number or alias) of model ``name``, ready to predict."""
        ...


class ScoringProgress(Protocol):
    """Told how far a run got (a progress bar); the service works the same without one."""

    def start(self, description: str, total_rows: int | None) -> None:
        """A run starts; ``total_rows`` is None when the input's size is unknown (CSV)."""
        ...

    def advance(self, rows: int) -> None:
        """``rows`` more input rows were scored or quarantined."""
        ...
