"""The experiment use case over in-memory fakes: the state machine, roles, bad input, audit, analysis."""

from __future__ import annotations

from dataclasses import replace

import pytest

from support.fakes_experiments import FakeAnalyzer, FakeExperimentStore, FakeExposureLog, FakeOutcomes, MovableClock
from support.fakes_ml import FakeAudit, FakeRegistry
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.domain.experiment import (
    Arm,
    ExperimentConflictError,
    ExperimentDefinition,
    ExperimentState,
    Exposure,
    Verdict,
)
from tripcast.core.services.experiments import AnalysisEngineMissingError, Experiments

NAME = "trip-duration"
OPERATOR = Identity("olga", Role.OPERATOR)
APPROVER = Identity("ada", Role.APPROVER)
VIEWER = Identity("vic", Role.VIEWER)
AB = ExperimentDefinition("ab-1", NAME, (Arm("control", "champion", 0.5), Arm("treatment", "2", 0.5)))


def make(analyzer: FakeAnalyzer | None = None, outcomes: FakeOutcomes | None = None):
    registry = FakeRegistry({"1": 3.0, "2": 2.0})
    registry.aliases["champion"] = "1"
    store, exposures, audit, clock = FakeExperimentStore(), FakeExposureLog(), FakeAudit(), MovableClock()
    service = Experiments(
        store,
        exposures,
        registry,
        audit,
        clock,
        analyzer=(lambda: analyzer) if analyzer is not None else None,
        outcomes=outcomes or FakeOutcomes(),
    )
    return service, store, exposures, audit


def test_the_lifecycle_runs_draft_running_stopped_decided_and_audits_each_step() -> None:
    service, store, _, audit = make()
    assert service.create(AB, actor=OPERATOR).state is ExperimentState.DRAFT
    assert service.start("ab-1", actor=OPERATOR).state is ExperimentState.RUNNING
    assert service.running_for(NAME) is not None
    assert service.stop("ab-1", actor=OPERATOR).state is ExperimentState.STOPPED
    decided = service.decide("ab-1", Verdict.SHIP, actor=APPROVER)
    assert decided.state is ExperimentState.DECIDED and decided.verdict is Verdict.SHIP
    assert [e.action for e in audit.rows] == [
        "experiment.created",
        "experiment.started",
        "experiment.stopped",
        "experiment.decided",
    ]
    assert audit.rows[-1].details["verdict"] == "ship" and audit.rows[-1].actor == "ada"
    assert store.get("ab-1").decided_at is not None and service.running_for(NAME) is None


def test_an_arm_naming_a_missing_version_is_named_and_nothing_is_stored() -> None:
    service, store, _, audit = make()
    bad = replace(AB, arms=(Arm("a", "champion", 0.5), Arm("b", "9", 0.5)))
    with pytest.raises(InvalidInputError) as refused:
        service.create(bad, actor=OPERATOR)
    assert "arm 'b' names version 9 of trip-duration, which does not exist" in str(refused.value)
    assert store.rows == {} and audit.rows == []


def test_splits_not_summing_to_one_are_refused() -> None:
    service, store, _, _ = make()
    with pytest.raises(InvalidInputError, match=r"weights must sum to 1, got 0\.9"):
        service.create(replace(AB, arms=(Arm("a", "1", 0.5), Arm("b", "2", 0.4))), actor=OPERATOR)
    assert store.rows == {}


def test_a_second_running_experiment_on_the_same_model_is_refused() -> None:
    service, store, _, audit = make()
    service.create(AB, actor=OPERATOR)
    service.create(replace(AB, experiment_id="ab-2"), actor=OPERATOR)
    service.start("ab-1", actor=OPERATOR)
    with pytest.raises(ExperimentConflictError, match="'ab-1' is already running"):
        service.start("ab-2", actor=OPERATOR)
    assert store.get("ab-2").state is ExperimentState.DRAFT
    assert [e.action for e in audit.rows].count("experiment.started") == 1


def test_illegal_transitions_change_nothing() -> None:
    service, store, _, _ = make()
    service.create(AB, actor=OPERATOR)
    with pytest.raises(ExperimentConflictError, match="is draft: cannot become stopped"):
        service.stop("ab-1", actor=OPERATOR)
    with pytest.raises(ExperimentConflictError, match="cannot become decided"):
        service.decide("ab-1", Verdict.SHIP, actor=APPROVER)
    assert store.get("ab-1").state is ExperimentState.DRAFT
    with pytest.raises(NotFoundError):
        service.start("nope", actor=OPERATOR)


def test_roles_are_enforced() -> None:
    service, store, _, _ = make()
    with pytest.raises(ExperimentConflictError, match="may not create experiments: needs role operator or admin"):
        service.create(AB, actor=VIEWER)
    service.create(AB, actor=OPERATOR)
    service.start("ab-1", actor=OPERATOR)
    service.stop("ab-1", actor=OPERATOR)
    with pytest.raises(ExperimentConflictError, match="needs role approver or admin"):
        service.decide("ab-1", Verdict.SHIP, actor=OPERATOR)
    assert store.get("ab-1").state is ExperimentState.STOPPED


def test_analysis_joins_exposures_to_outcomes_and_calls_the_analyzer() -> None:
    analyzer = FakeAnalyzer()
    outcomes = FakeOutcomes({"r1": (10.0, 12.0), "r2": (20.0, 15.0)})
    service, _, exposures, _ = make(analyzer, outcomes)
    service.create(AB, actor=OPERATOR)
    at = MovableClock().now()
    exposures.record(
        [Exposure("ab-1", "control", "u1", "r1", at, "1"), Exposure("ab-1", "treatment", "u2", "r2", at, "2")]
    )
    result = service.analyze("ab-1")  # flushes what is queued first
    assert result.verdict is Verdict.CONTINUE and result.n_per_arm == {"control": 1, "treatment": 1}
    assert sorted(o["outcome"] for o in analyzer.seen[0]) == [2.0, 5.0]


def test_analysing_with_no_exposures_or_no_engine_is_a_clear_error() -> None:
    service, _, _, _ = make(FakeAnalyzer())
    service.create(AB, actor=OPERATOR)
    with pytest.raises(InvalidInputError, match="has no exposures yet"):
        service.analyze("ab-1")
    bare, _, _, _ = make()
    bare.create(AB, actor=OPERATOR)
    with pytest.raises(AnalysisEngineMissingError, match="analysis engine not installed"):
        bare.sample_size("ab-1", 12.0, 8.0)
    assert service.sample_size("ab-1", 12.0, 8.0) == 1234
    with pytest.raises(InvalidInputError, match="--baseline-std"):
        service.sample_size("ab-1", 12.0, 0.0)
