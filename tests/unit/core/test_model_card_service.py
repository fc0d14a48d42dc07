"""The model-card use case on in-memory fakes: content, comparison, lineage, approvals, storage and audit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from support.fakes_ml import FakeAudit, FakeClock, FakeFeatures, FakeMetrics, FakeRegistry, FakeStore
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.model_card import (
    CARD_HTML,
    CARD_MARKDOWN,
    CARD_WRITTEN,
    AliasChange,
    DatasetRecord,
    ModelCard,
    SliceDimension,
    TrainingRecord,
)
from tripcast.core.domain.month import Month
from tripcast.core.ports.learning import Predictor, TrainingSet
from tripcast.core.ports.model_card import (
    AliasHistory,
    CardRenderer,
    CardStore,
    DataSlicer,
    SlicedPredictions,
    SliceRows,
    TrainingRecords,
)
from tripcast.core.services.model_card import ModelCards
from tripcast.core.services.promotion import CHAMPION, PROMOTED

NAME = "toy-model"
VALID = Month(2021, 2)
SIZE = SliceDimension("size", "x", edges=(5.0,), labels=("small", "large"))


class RunRegistry(FakeRegistry):
    """The shared fake registry, with a run behind each version."""

    def get(self, name: str, ref: str) -> ModelVersion:
        return replace(super().get(name, ref), run_id=f"run-{super().get(name, ref).version}")


class ValueSlicer(DataSlicer):
    """Rows below 5 are "small", the rest "large" (the fake features are the numbers themselves)."""

    dimensions = (SIZE,)

    def predict_and_split(self, data: TrainingSet, predictor: Predictor) -> SlicedPredictions:
        out = []
        for label, keep in (("small", lambda v: v < 5), ("large", lambda v: v >= 5)):
            rows = [v for v in data.features if keep(v)]
            if rows:
                out.append(
                    SliceRows("size", label, TrainingSet(rows, rows, f"{data.name}[{label}]", data.digest), predictor)
                )
        return SlicedPredictions(predictor, out)


class FakeTrainingRecords(TrainingRecords):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def training_record(self, run_id: str) -> TrainingRecord:
        self.asked.append(run_id)
        datasets = (
            DatasetRecord("2021-01", "d-train", "training", 6),
            DatasetRecord("2021-02", "d-valid", "validation", 4),
        )
        return TrainingRecord(run_id, "lightgbm-2021-01", "7", {"train_month": "2021-01"}, datasets)


class FakeAliasHistory(AliasHistory):
    def __init__(self, changes: list[AliasChange]) -> None:
        self.recorded = changes

    def changes(self, name: str) -> list[AliasChange]:
        return list(self.recorded)


class TextRenderer(CardRenderer):
    """Enough of a rendering to see that the card reached the renderer."""

    def markdown(self, card: ModelCard) -> str:
        return f"# {card.title}\nrmse {card.overall.metric('rmse')}"

    def html(self, card: ModelCard) -> str:
        return f"<h1>{card.title}</h1>"


class MemoryCardStore(CardStore):
    def __init__(self) -> None:
        self.files: dict[tuple[str, str], str] = {}

    def store(self, version: ModelVersion, files: dict[str, str]) -> dict[str, str]:
        for file_name, text in files.items():
            self.files[(version.version, file_name)] = text
        return {file_name: f"memory://{version.run_id}/{file_name}" for file_name in files}

    def read(self, version: ModelVersion, file_name: str) -> str:
        return self.files[(version.version, file_name)]


def _move(at_minute: int, version: str, previous: str) -> AliasChange:
    return AliasChange(
        datetime(2026, 1, 1, 10, at_minute, tzinfo=UTC), "ann", PROMOTED, CHAMPION, version, previous, ""
    )


def _cards(
    history: list[AliasChange], audit: FakeAudit | None = None
) -> tuple[ModelCards, RunRegistry, MemoryCardStore]:
    registry = RunRegistry({"1": 3.0, "2": 2.0, "3": 4.0}, tags={v: {"valid_month": str(VALID)} for v in "123"})
    card_store = MemoryCardStore()
    cards = ModelCards(
        registry=registry,
        store=FakeStore({VALID: [1.0, 2.0, 6.0, 8.0]}),
        features=FakeFeatures(),
        metrics=FakeMetrics(registry),
        slicer=ValueSlicer(),
        training_records=FakeTrainingRecords(),
        alias_history=FakeAliasHistory(history),
        renderer=TextRenderer(),
        card_store=card_store,
        audit=audit if audit is not None else FakeAudit(),
        clock=FakeClock(),
        intended_use="toy predictions",
        limitations=("only a toy",),
    )
    return cards, registry, card_store


def test_card_holds_training_metrics_slices_and_the_champion_it_replaced() -> None:
    audit = FakeAudit()
    cards, registry, card_store = _cards([_move(0, "1", ""), _move(5, "2", "1")], audit)
    registry.aliases[CHAMPION] = "2"

    written = cards.write(NAME, CHAMPION, actor="ann")

    card = written.card
    assert card.version.version == "2" and card.evaluation_month == "2021-02"
    assert card.overall.n == 4 and card.overall.metric("rmse") == 2.0
    assert [(s.label, s.n) for s in card.slices] == [("small", 2), ("large", 2)]
    assert sum(s.n for s in card.slices_of("size")) == card.overall.n
    assert card.training.run_id == "run-2" and card.training.datasets[0].rows == 6
    assert card.previous_champion is not None and card.previous_champion.version == "1"
    assert card.previous_champion.overall.metric("rmse") == 3.0
    assert "before v2 was promoted" in card.previous_champion.why
    assert [s.n for s in card.previous_champion.slices] == [2, 2]
    assert card.limitations == ("only a toy",) and card.approvals == ()
    assert card_store.files[("2", CARD_MARKDOWN)] == "# toy-model v2\nrmse 2.0"
    assert card_store.files[("2", CARD_HTML)] == "<h1>toy-model v2</h1>"
    (event,) = audit.rows
    assert (event.action, event.subject, event.actor) == (CARD_WRITTEN, f"model:{NAME}/2", "ann")
    assert event.details["evaluation_month"] == "2021-02" and event.details["rows"] == "4"
    assert event.details["previous_champion"] == "1"
    assert event.details[f"artifact.{CARD_MARKDOWN}"] == "memory://run-2/model_card.md"


def test_a_version_never_promoted_is_compared_with_the_current_champion() -> None:
    cards, registry, _ = _cards([_move(0, "1", "")])
    registry.aliases[CHAMPION] = "1"

    card = cards.write(NAME, "3", actor="bob").card

    assert card.previous_champion is not None
    assert (card.previous_champion.version, card.previous_champion.why) == ("1", "current champion")
    assert [c.version for c in card.alias_history] == ["1"]


def test_the_first_champion_has_nothing_to_compare_with() -> None:
    cards, registry, _ = _cards([_move(0, "1", "")])
    registry.aliases[CHAMPION] = "1"

    assert cards.write(NAME, "1", actor="ann").card.previous_champion is None


def test_approval_steps_on_the_version_are_listed_oldest_first_and_others_are_not() -> None:
    audit = FakeAudit()
    early, late = datetime(2026, 1, 1, 9, tzinfo=UTC), datetime(2026, 1, 1, 11, tzinfo=UTC)
    audit.record(AuditEvent(late, "carol", "model.approved", f"model:{NAME}/2", {"request_id": "r1"}))
    audit.record(AuditEvent(early, "ann", "model.approval_requested", f"model:{NAME}/2", {"request_id": "r1"}))
    audit.record(AuditEvent(early, "ann", "model.approval_requested", f"model:{NAME}/23", {}))
    audit.record(AuditEvent(early, "ann", PROMOTED, f"model:{NAME}/2", {}))
    cards, _, _ = _cards([], audit)

    card = cards.write(NAME, "2", actor="ann").card

    assert [(a.actor, a.action) for a in card.approvals] == [
        ("ann", "model.approval_requested"),
        ("carol", "model.approved"),
    ]


def test_an_unknown_version_is_refused_before_anything_is_written() -> None:
    audit = FakeAudit()
    cards, _, card_store = _cards([], audit)

    with pytest.raises(NotFoundError, match="version 9 does not exist"):
        cards.write(NAME, "9", actor="ann")

    assert card_store.files == {} and audit.rows == []


def test_a_version_without_a_validation_month_tag_is_refused_in_one_line() -> None:
    audit = FakeAudit()
    cards, registry, card_store = _cards([], audit)
    registry.tags["3"] = {}

    with pytest.raises(NotFoundError, match="toy-model v3 has no valid_month tag"):
        cards.write(NAME, "3", actor="ann")

    assert card_store.files == {} and audit.rows == []


def test_slices_use_the_same_predictor_as_the_overall_metrics() -> None:
    cards, _, _ = _cards([])
    loaded: list[str] = []
    original = cards.registry.load_predictor

    def spy(name: str, ref: str) -> Predictor:
        loaded.append(ref)
        return original(name, ref)

    cards.registry.load_predictor = spy  # type: ignore[method-assign]
    card = cards.write(NAME, "2", actor="ann").card

    assert loaded == ["2"] and {s.metrics["rmse"] for s in card.slices} == {2.0}
