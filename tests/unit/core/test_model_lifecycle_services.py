"""Training, Promotion and Optimization use cases on in-memory fakes of every port: results and audit events."""

from __future__ import annotations

import pytest

from support.fakes_ml import (
    FakeAudit,
    FakeClock,
    FakeCompiler,
    FakeFeatures,
    FakeLocks,
    FakeMetrics,
    FakeModel,
    FakeRegistry,
    FakeStore,
    FakeTracker,
    FakeTrainer,
    NoteHook,
)
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import InvalidInputError, NotFoundError, PromotionRefusedError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.month import Month
from tripcast.core.ports.learning import TrainingSet
from tripcast.core.ports.locks import LockHeldError, promotion_lock
from tripcast.core.services.optimization import OPTIMIZED, CompileOnRegistration, Optimization
from tripcast.core.services.promotion import (
    CHALLENGER,
    CHAMPION,
    MOVE_ABANDONED,
    MOVE_STARTED,
    PROMOTED,
    REFUSED,
    Promotion,
)
from tripcast.core.services.training import REGISTERED, Training, TrainingPlan

NAME = "trip-duration"
PLAN = TrainingPlan.consecutive(Month(2021, 1), NAME)
MONTHS = {Month(2021, 1): [1.0, 2.0, 3.0, 4.0], Month(2021, 2): [1.0, 2.0], Month(2021, 3): [5.0]}


# ------------------------------------------------------------------ training
def make_training(registry: FakeRegistry, audit: FakeAudit, hooks: list[NoteHook]) -> tuple[Training, FakeTracker]:
    tracker = FakeTracker()
    training = Training(
        store=FakeStore(dict(MONTHS)),
        features=FakeFeatures(),
        trainer=FakeTrainer("lightgbm", 0.5),
        baseline_trainer=FakeTrainer("sklearn", 2.0),
        metrics=FakeMetrics(),
        tracker=tracker,
        registry=registry,
        clock=FakeClock(),
        audit=audit,
        hooks=hooks,
    )
    return training, tracker


def test_training_registers_the_candidate_audits_it_and_runs_the_hooks() -> None:
    registry, audit, hook = FakeRegistry(), FakeAudit(), NoteHook()
    training, tracker = make_training(registry, audit, [hook])

    report = training.train_and_register(PLAN, actor="alice")

    assert report.version == registry.get(NAME, "1")
    assert report.validation.metric("rmse") == 0.5 and report.baseline_validation.metric("rmse") == 2.0
    assert report.test.dataset == "2021-03" and report.n_train == 4
    assert report.notes == ["noted v1"] and hook.seen == [("1", "lightgbm", "2021-01")]
    tags = registry.tags["1"]
    assert tags["train_month"] == "2021-01" and tags["valid_month"] == "2021-02"
    assert tags["valid_digest"] == "digest-2021-02" and tags["val_rmse"] == "0.5" and tags["test_rmse"] == "0.5"
    candidate_run = tracker.runs["lightgbm-2021-01"]
    assert candidate_run["metrics"]["val_baseline_rmse"] == 2.0 and candidate_run["model"] == "lightgbm"
    assert [c for c, _ in candidate_run["datasets"]] == ["training", "validation", "testing"]
    assert tracker.runs["baseline-2021-01"]["tags"] == {"role": "baseline"}

    [event] = audit.rows
    assert (event.action, event.actor, event.subject) == (REGISTERED, "alice", f"model:{NAME}/1")
    assert event.details["run_id"] == report.run_id and event.details["model_uri"] == registry.sources["1"]
    assert event.details["valid_month"] == "2021-02"


def test_training_on_a_month_not_processed_registers_and_audits_nothing() -> None:
    registry, audit = FakeRegistry(), FakeAudit()
    training, _ = make_training(registry, audit, [])
    with pytest.raises(NotFoundError, match="2021-04 not processed"):
        training.train_and_register(TrainingPlan.consecutive(Month(2021, 3), NAME), actor="alice")
    assert registry.rmse == {} and audit.rows == []


# ------------------------------------------------------------------ promotion
def make_promotion(registry: FakeRegistry, audit: FakeAudit, locks: FakeLocks | None = None) -> Promotion:
    return Promotion(
        registry=registry,
        store=FakeStore(dict(MONTHS)),
        features=FakeFeatures(),
        metrics=FakeMetrics(registry),
        clock=FakeClock(),
        audit=audit,
        locks=locks or FakeLocks(),
    )


@pytest.fixture()
def registry() -> FakeRegistry:
    """v1 champion (rmse 5), v2 better (4), v3 worse (9), all validated on 2021-02."""
    registry = FakeRegistry({"1": 5.0, "2": 4.0, "3": 9.0}, tags={v: {"valid_month": "2021-02"} for v in "123"})
    registry.aliases[CHAMPION] = "1"
    return registry


def test_promotion_moves_champion_to_a_better_candidate_with_intent_and_outcome_audited(registry) -> None:  # type: ignore[no-untyped-def]
    audit, locks = FakeAudit(), FakeLocks()
    promotion = make_promotion(registry, audit, locks)

    result = promotion.promote(promotion.candidate(NAME, "2"), actor="bob", reason="better", force=False)

    assert result.decision.approved and (result.version, result.previous_champion) == ("2", "1")
    assert registry.aliases[CHAMPION] == "2" and registry.tags["2"]["promotion.actor"] == "bob"
    assert audit.actions == [MOVE_STARTED, PROMOTED]
    outcome = audit.rows[-1]
    assert outcome.subject == f"model:{NAME}/2" and outcome.details["previous_champion"] == "1"
    assert outcome.details["promotion.reason"] == "better" and outcome.details["from"] == "1"
    assert locks.taken == [promotion_lock(NAME)]


def test_promotion_refuses_a_worse_candidate_parks_it_as_challenger_and_audits_the_refusal(registry) -> None:  # type: ignore[no-untyped-def]
    audit = FakeAudit()
    promotion = make_promotion(registry, audit)
    with pytest.raises(PromotionRefusedError, match="v3 not promoted"):
        promotion.promote(promotion.candidate(NAME, "3"), actor="bob", reason="try")
    assert registry.aliases == {CHAMPION: "1", CHALLENGER: "3"}
    assert audit.actions == [MOVE_STARTED, REFUSED]


def test_promotion_candidate_defaults_to_the_newest_and_says_when_there_is_none(registry) -> None:  # type: ignore[no-untyped-def]
    promotion = make_promotion(registry, FakeAudit())
    assert promotion.candidate(NAME).version == "3"
    assert promotion.validation_month(promotion.candidate(NAME)) == Month(2021, 2)
    with pytest.raises(NotFoundError, match="run `tripcast train` first"):
        make_promotion(FakeRegistry(), FakeAudit()).candidate(NAME)


def test_promotion_refused_while_another_holds_the_lock_changes_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    audit, locks = FakeAudit(), FakeLocks()
    locks.held.add(promotion_lock(NAME))
    promotion = make_promotion(registry, audit, locks)
    with pytest.raises(LockHeldError):
        promotion.promote(promotion.candidate(NAME, "2"), actor="bob", reason="better")
    assert registry.aliases == {CHAMPION: "1"} and audit.rows == []


def test_evaluate_scores_a_version_on_given_trips(registry) -> None:  # type: ignore[no-untyped-def]
    evaluation, data = make_promotion(registry, FakeAudit()).evaluate(NAME, CHAMPION, [1.0, 2.0, 3.0], "march")
    assert evaluation.metric("rmse") == 5.0 and evaluation.n == 3
    assert data.digest == "digest-march" == evaluation.dataset_digest


def test_move_alias_is_audited_and_recovery_closes_an_interrupted_move(registry) -> None:  # type: ignore[no-untyped-def]
    audit = FakeAudit()
    promotion = make_promotion(registry, audit)
    rollback = AuditEvent(FakeClock().now(), "carol", PROMOTED, f"model:{NAME}/2", {"promotion.reason": "rollback"})
    promotion.move_alias(alias=CHAMPION, version="2", outcome=rollback)
    assert registry.aliases[CHAMPION] == "2" and audit.actions == [MOVE_STARTED, PROMOTED]

    # a process died after recording its intent to move champion to v3, before moving it
    started = {"move_id": "x", "alias": CHAMPION, "from": "2", "to": "3", "outcome": PROMOTED}
    audit.record(AuditEvent(FakeClock().now(), "dave", MOVE_STARTED, f"model:{NAME}/3", started))
    note = promotion.recover_interrupted_move(NAME, actor="erin")
    assert "had not happened" in note and audit.actions[-1] == MOVE_ABANDONED
    assert audit.rows[-1].actor == "erin" and registry.aliases[CHAMPION] == "2"
    assert promotion.recover_interrupted_move(NAME, actor="erin") == ""


# ------------------------------------------------------------------ optimisation
def make_optimization(compiler: FakeCompiler, audit: FakeAudit) -> Optimization:
    registry = FakeRegistry({"1": 5.0, "2": 4.0})
    registry.aliases[CHAMPION] = "2"
    return Optimization(registry=registry, compiler=compiler, clock=FakeClock(), audit=audit)


def test_optimization_compiles_the_version_an_alias_names_and_audits_it() -> None:
    compiler, audit = FakeCompiler(), FakeAudit()
    form = make_optimization(compiler, audit).compile(NAME, CHAMPION, actor="frank", level="O1")

    assert (form.version, form.compiler_options) == ("2", ("-O1",))
    assert compiler.compiled == [("2", ("-O1",), False, False)]
    [event] = audit.rows
    assert (event.action, event.actor, event.subject) == (OPTIMIZED, "frank", f"model:{NAME}/2")
    assert event.details["artifact"] == "optimized/v2/lib.so" and event.details["compiler_options"] == "-O1"
    assert event.details["sha256"] == "ab" * 32


def test_optimization_refuses_an_unknown_level_naming_the_field_and_compiles_nothing() -> None:
    compiler, audit = FakeCompiler(), FakeAudit()
    with pytest.raises(InvalidInputError, match="--level"):
        make_optimization(compiler, audit).compile(NAME, "1", actor="frank", level="O9")
    assert compiler.compiled == [] and audit.rows == []


def test_compile_on_registration_uses_the_fitted_model_and_audits() -> None:
    compiler, audit = FakeCompiler(), FakeAudit()
    hook = CompileOnRegistration(make_optimization(compiler, audit), actor="trainer")
    train = TrainingSet([1.0, 2.0], [1.0, 2.0], "2021-01", "d")

    note = hook.after_registration(ModelVersion(NAME, "1"), FakeModel("lightgbm", 0.5), train)

    assert note.startswith("compiled inference form (-Os) in 1.5 s") and "102 rows" in note
    assert compiler.compiled == [("1", ("-Os",), True, True)]
    assert [(e.action, e.actor) for e in audit.rows] == [(OPTIMIZED, "trainer")]


def test_compile_on_registration_skips_other_flavors_and_never_fails_the_registration() -> None:
    audit = FakeAudit()
    train = TrainingSet([1.0], [1.0], "2021-01", "d")
    skipped = CompileOnRegistration(make_optimization(FakeCompiler(), audit))
    assert "skipped" in skipped.after_registration(ModelVersion(NAME, "1"), FakeModel("sklearn", 1.0), train)
    failing = CompileOnRegistration(make_optimization(FakeCompiler(fail="gcc: error\nmore"), audit))
    note = failing.after_registration(ModelVersion(NAME, "1"), FakeModel("lightgbm", 1.0), train)
    assert note == "compiled form NOT published for v1 (serving stays native): gcc: error"
    assert audit.rows == []
