"""The promotion service keeps the alias and the audit trail consistent, with fakes for every port."""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import PromotionRefusedError
from tripcast.core.domain.evaluation import Evaluation, ModelVersion
from tripcast.core.domain.model_spec import FeatureKind, FeatureSpec, ModelSpec
from tripcast.core.ports.audit import AuditLog
from tripcast.core.ports.clock import Clock
from tripcast.core.ports.learning import FeatureBuilder, MetricsCalculator, Predictor, TrainedModel, TrainingSet
from tripcast.core.ports.locks import LockHeldError, LockHolder, Locks
from tripcast.core.ports.tracking import ModelRegistry
from tripcast.core.services.promotion import (
    CHAMPION,
    MOVE_ABANDONED,
    MOVE_STARTED,
    PROMOTED,
    REFUSED,
    promote,
    recover_interrupted_move,
)

SPEC = ModelSpec("toy", (FeatureSpec("x", FeatureKind.NUMERIC),), target="y")
NAME = "m"


class FakeRegistry(ModelRegistry):
    def __init__(self, versions: dict[str, float]) -> None:
        self.rmse = versions  # version -> rmse the fake metrics report
        self.aliases: dict[str, str] = {}
        self.fail_set_alias = False

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        raise NotImplementedError

    def get(self, name: str, ref: str) -> ModelVersion:
        version = self.aliases.get(ref, ref)
        return ModelVersion(name, version, tuple(a for a, v in self.aliases.items() if v == version))

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        return self.get(name, alias) if alias in self.aliases else None

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        if self.fail_set_alias:
            raise ConnectionError("registry database unreachable")
        self.aliases[alias] = version

    def delete_alias(self, name: str, alias: str) -> None:
        self.aliases.pop(alias, None)

    def list_versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, v) for v in self.rmse]

    def load_predictor(self, name: str, ref: str) -> Predictor:
        return self.get(name, ref)  # type: ignore[return-value]  # the fake metrics only read .version


class FakeFeatures(FeatureBuilder):
    spec = SPEC

    def training_set(self, trips: Any, name: str) -> TrainingSet:
        return TrainingSet(features=[], target=[], name=name, digest="d")

    def features_for_requests(self, requests: Sequence[Any]) -> Any:
        return []


class FakeMetrics(MetricsCalculator):
    def __init__(self, registry: FakeRegistry) -> None:
        self.registry = registry

    def evaluate(self, model: TrainedModel | Predictor, data: TrainingSet) -> Evaluation:
        return Evaluation({"rmse": self.registry.rmse[model.version]}, 10, data.name, data.digest)  # type: ignore[union-attr]


class FakeAudit(AuditLog):
    def __init__(self) -> None:
        self.rows: list[AuditEvent] = []
        self.fail_on: set[str] = set()

    def record(self, event: AuditEvent) -> None:
        if event.action in self.fail_on:
            raise OSError("database or disk is full")
        self.rows.append(event)

    def events(
        self, subject_prefix: str = "", limit: int = 100, actions: Collection[str] | None = None
    ) -> list[AuditEvent]:
        found = [
            e
            for e in reversed(self.rows)
            if e.subject.startswith(subject_prefix) and (not actions or e.action in actions)
        ]
        return found[:limit]

    @property
    def actions(self) -> list[str]:
        return [e.action for e in self.rows]


class FakeClock(Clock):
    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)


class FakeLocks(Locks):
    def __init__(self) -> None:
        self.held: set[str] = set()

    @contextlib.contextmanager
    def hold(self, name: str, purpose: str) -> Iterator[None]:
        if name in self.held:
            raise LockHeldError(name, LockHolder("the other test promotion"))
        self.held.add(name)
        try:
            yield
        finally:
            self.held.discard(name)


@pytest.fixture()
def registry() -> FakeRegistry:
    registry = FakeRegistry({"1": 5.0, "2": 4.0, "3": 9.0})
    registry.aliases[CHAMPION] = "1"
    return registry


def run(registry: FakeRegistry, audit: FakeAudit | None, ref: str, locks: Locks | None = None) -> Any:
    return promote(
        registry,
        FakeFeatures(),
        FakeMetrics(registry),
        FakeClock(),
        name=NAME,
        candidate_ref=ref,
        validation_trips=[],
        validation_name="2021-02",
        actor="tester",
        reason="unit test",
        audit=audit,
        locks=locks,
    )


def test_an_approved_promotion_records_intent_then_outcome_after_the_move(registry):
    audit = FakeAudit()
    result = run(registry, audit, "2")
    assert result.version == "2" and registry.aliases[CHAMPION] == "2"
    assert audit.actions == [MOVE_STARTED, PROMOTED]
    started, promoted = audit.rows
    assert started.details["from"] == "1" and started.details["to"] == "2"
    assert promoted.details["move_id"] == started.details["move_id"]
    assert promoted.details["previous_champion"] == "1"


def test_a_refusal_parks_the_candidate_and_records_the_refusal(registry):
    audit = FakeAudit()
    with pytest.raises(PromotionRefusedError):
        run(registry, audit, "3")
    assert registry.aliases == {CHAMPION: "1", "challenger": "3"}
    assert audit.actions == [MOVE_STARTED, REFUSED]


def test_when_the_trail_cannot_record_the_intent_nothing_moves(registry):
    audit = FakeAudit()
    audit.fail_on = {MOVE_STARTED}
    with pytest.raises(OSError, match="disk is full"):
        run(registry, audit, "2")
    assert registry.aliases[CHAMPION] == "1" and audit.rows == []


def test_a_failed_alias_move_records_no_promotion(registry):
    audit = FakeAudit()
    registry.fail_set_alias = True
    with pytest.raises(ConnectionError):
        run(registry, audit, "2")
    assert registry.aliases[CHAMPION] == "1"
    assert audit.actions == [MOVE_STARTED, MOVE_ABANDONED]
    assert "alias move failed" in audit.rows[-1].details["reason"]


def test_when_the_outcome_cannot_be_recorded_the_alias_moves_back(registry):
    audit = FakeAudit()
    audit.fail_on = {PROMOTED}
    with pytest.raises(OSError):
        run(registry, audit, "2")
    assert registry.aliases[CHAMPION] == "1"
    assert audit.actions == [MOVE_STARTED, MOVE_ABANDONED]


def test_a_first_promotion_that_cannot_be_recorded_removes_the_alias_again():
    registry = FakeRegistry({"1": 5.0})
    audit = FakeAudit()
    audit.fail_on = {PROMOTED}
    with pytest.raises(OSError):
        run(registry, audit, "1")
    assert CHAMPION not in registry.aliases


def test_an_interrupted_move_that_happened_gets_its_outcome_before_the_next_promotion(registry):
    audit = FakeAudit()
    audit.fail_on = {PROMOTED}
    registry.delete_alias = lambda name, alias: None  # type: ignore[method-assign]  # the kill: no undo
    registry.set_alias = _only_first_move(registry)  # type: ignore[method-assign]
    with pytest.raises(OSError):
        run(registry, audit, "2")
    assert registry.aliases[CHAMPION] == "2"  # moved, outcome missing: what a SIGKILL leaves
    audit.fail_on = set()
    note = recover_interrupted_move(registry, audit, FakeClock(), name=NAME, actor="next")
    assert "had happened" in note
    assert audit.rows[-1].action == PROMOTED and audit.rows[-1].details["recovered"] == "true"
    assert recover_interrupted_move(registry, audit, FakeClock(), name=NAME, actor="next") == ""


def test_an_interrupted_move_that_did_not_happen_is_closed_as_abandoned(registry):
    audit = FakeAudit()
    audit.record(
        AuditEvent(
            FakeClock().now(),
            "killed",
            MOVE_STARTED,
            f"model:{NAME}/2",
            {"move_id": "x", "alias": CHAMPION, "from": "1", "to": "2", "outcome": PROMOTED},
        )
    )
    note = recover_interrupted_move(registry, audit, FakeClock(), name=NAME, actor="next")
    assert "had not happened" in note
    assert audit.actions == [MOVE_STARTED, MOVE_ABANDONED]
    assert PROMOTED not in audit.actions


def test_a_second_promotion_while_one_runs_is_refused_and_changes_nothing(registry):
    audit = FakeAudit()
    locks = FakeLocks()
    with locks.hold(f"promote-{NAME}", "first"), pytest.raises(LockHeldError, match="the other test promotion"):
        run(registry, audit, "2", locks)
    assert registry.aliases[CHAMPION] == "1" and audit.rows == []
    run(registry, audit, "2", locks)
    assert registry.aliases[CHAMPION] == "2"


def _only_first_move(registry: FakeRegistry) -> Any:
    moves: list[str] = []

    def set_alias(name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        if not moves:
            registry.aliases[alias] = version
        moves.append(version)

    return set_alias
