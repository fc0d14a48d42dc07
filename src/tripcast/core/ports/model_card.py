"""Ports of the model-card use case: slicing evaluation data, reading a version's lineage, rendering and
storing the card."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_card import AliasChange, ModelCard, SliceDimension, TrainingRecord
from tripcast.core.ports.learning import Predictor, TrainingSet


@dataclass(frozen=True, slots=True)
class SliceRows:
    """The rows of one slice, and a predictor that answers them with the predictions already made."""

    dimension: str
    label: str
    rows: TrainingSet
    predictions: Predictor


@dataclass(frozen=True, slots=True)
class SlicedPredictions:
    """One prediction pass over a dataset, replayable on the whole of it and on each slice."""

    overall: Predictor
    slices: list[SliceRows]


class DataSlicer(ABC):
    """Cuts an evaluation dataset into slices along the problem's dimensions."""

    dimensions: Sequence[SliceDimension]

    @abstractmethod
    def predict_and_split(self, data: TrainingSet, predictor: Predictor) -> SlicedPredictions:
        """Predict ``data`` once with ``predictor``; every non-empty slice with its share of the predictions.
        Each dimension's slices cover every row exactly once. The returned predictors keep the model's name
        and version, so metrics computed from them are that version's."""


class TrainingRecords(ABC):
    """What the tracking server recorded about a training run."""

    @abstractmethod
    def training_record(self, run_id: str) -> TrainingRecord:
        """Params, datasets (name, digest, role, rows) and experiment of ``run_id``."""


class AliasHistory(ABC):
    """Where a model's aliases pointed over time (today read from the audit trail; later the ledger)."""

    @abstractmethod
    def changes(self, name: str) -> list[AliasChange]:
        """Every recorded alias move of model ``name``, oldest first."""


class CardRenderer(ABC):
    """Turns a card into documents."""

    @abstractmethod
    def markdown(self, card: ModelCard) -> str:
        """The card as Markdown."""

    @abstractmethod
    def html(self, card: ModelCard) -> str:
        """The card as one self-contained HTML page (plots inline)."""


class CardStore(ABC):
    """Keeps a version's card files with the version in the registry."""

    @abstractmethod
    def store(self, version: ModelVersion, files: dict[str, str]) -> dict[str, str]:
        """Store each ``file name -> text``; return file name -> artifact URI."""

    @abstractmethod
    def read(self, version: ModelVersion, file_name: str) -> str:
        """The text of a stored card file; NotFoundError when the version has none."""
