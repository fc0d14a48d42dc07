"""A model card: what a registered version is for, what it learned from, how well it does and where.

Plain data, generic over the learning problem: the slices (``SliceDimension``), the intended use and the
known limitations come from the problem's own code (for taxis, ``tripcast.data_engineering.features``);
the card only carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.model_spec import ModelSpec

#: Audit action of a card written and stored with its version.
CARD_WRITTEN = "model.card_written"
#: File names of the card, as stored next to the version.
CARD_MARKDOWN = "model_card.md"
CARD_HTML = "model_card.html"


@dataclass(frozen=True, slots=True)
class SliceDimension:
    """One way of cutting an evaluation dataset into slices, by a feature column.

    Either ``edges`` (ascending inner boundaries; ``labels`` names the ``len(edges) + 1`` bands, a value
    equal to an edge falls in the upper band) or ``categories`` (code -> name; a code without a name is
    labelled by its code).
    """

    name: str
    column: str
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    categories: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.edges and len(self.labels) != len(self.edges) + 1:
            raise ValueError(f"slice {self.name!r}: {len(self.edges)} edges need {len(self.edges) + 1} labels")
        if list(self.edges) != sorted(self.edges):
            raise ValueError(f"slice {self.name!r}: edges must ascend, got {self.edges}")
        if not self.edges and not self.categories:
            raise ValueError(f"slice {self.name!r}: give band edges or category names")


@dataclass(frozen=True, slots=True)
class SliceMetrics:
    """A version's metrics on the rows of one slice."""

    dimension: str
    label: str
    n: int
    metrics: dict[str, float]


@dataclass(frozen=True, slots=True)
class DatasetRecord:
    """A dataset a training run logged: its name, content digest, role and size."""

    name: str
    digest: str
    context: str = ""
    rows: int | None = None


@dataclass(frozen=True, slots=True)
class TrainingRecord:
    """What the tracking server kept of the run that produced a version."""

    run_id: str
    run_name: str = ""
    experiment_id: str = ""
    params: dict[str, str] = field(default_factory=dict)
    datasets: tuple[DatasetRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class AliasChange:
    """One move of an alias, as recorded when it happened."""

    at: datetime
    actor: str
    action: str
    alias: str
    version: str
    previous: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """One step of an approval workflow on the version (requested, approved, rejected...)."""

    at: datetime
    actor: str
    action: str
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ComparedVersion:
    """Another version evaluated on the card's data, with why it is the one compared."""

    version: str
    why: str
    overall: Evaluation
    slices: tuple[SliceMetrics, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelCard:
    """Everything a card says about one registered version."""

    version: ModelVersion
    spec: ModelSpec
    written_at: datetime
    intended_use: str
    limitations: tuple[str, ...]
    training: TrainingRecord
    evaluation_month: str
    overall: Evaluation
    slices: tuple[SliceMetrics, ...]
    dimensions: tuple[SliceDimension, ...]
    previous_champion: ComparedVersion | None
    alias_history: tuple[AliasChange, ...]
    approvals: tuple[ApprovalRecord, ...]

    @property
    def title(self) -> str:
        return f"{self.version.name} v{self.version.version}"

    def slices_of(self, dimension: str) -> list[SliceMetrics]:
        """This version's slices along one dimension, in the dimension's order."""
        return [s for s in self.slices if s.dimension == dimension]


@dataclass(frozen=True, slots=True)
class WrittenCard:
    """A card as rendered and stored: its content and where the registry keeps each file."""

    card: ModelCard
    markdown: str
    html: str
    artifacts: dict[str, str]
