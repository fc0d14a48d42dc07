"""The Retraining use case with in-memory fakes of every port: triggers, window, decision per policy,
idempotence and resumption, the lock, bad input, and the live-error guardrail."""

from __future__ import annotations

from dataclasses import replace

import pytest

from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import (
    FakeAudit,
    FakeClock,
    FakeFeatures,
    FakeLocks,
    FakeMetrics,
    FakeStore,
    FakeTracker,
    FakeTrainer,
)
from support.fakes_retraining import FakeAlerter, FakeLive, FakeMonths, FixedTrigger, MemoryRuns, Slice
from tripcast.core.domain.approval import ApprovalPolicy
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import (
    DecisionMode,
    GuardScope,
    NoValidRowsError,
    RetrainingPolicy,
    RetrainStage,
)
from tripcast.core.ports.locks import LockHeldError
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.promotion import CHALLENGER, CHAMPION, Promotion
from tripcast.core.services.retraining import GUARDRAIL_ALERT, RETRAIN_DECIDED, Retraining, retrain_lock
from tripcast.core.services.rollback import Rollback
from tripcast.core.services.training import Training

NAME = "toy"
JAN, FEB, MAR = Month(2021, 1), Month(2021, 2), Month(2021, 3)


class MemoryApprovalStore:
    def __init__(self) -> None:
        self.requests: dict[str, object] = {}

    def add(self, request: object) -> None:
        self.requests[request.request_id] = request  # type: ignore[attr-defined]


class World:
    """Every collaborator of a Retraining, reachable from the test."""

    def __init__(
        self, *, champion_rmse: float | None = 5.0, policy: RetrainingPolicy | None = None, fired: bool = True
    ):
        rmse = {"1": champion_rmse} if champion_rmse is not None else {}
        self.registry = TaggingRegistry(rmse, tags={v: {"valid_month": str(JAN), "val_rmse": "5.0"} for v in rmse})
        self.ledger = FakeLedger(self.registry)
        self.audit, self.locks, self.clock = FakeAudit(), FakeLocks(), FakeClock()
        store = FakeStore({JAN: [1.0, 2.0], FEB: [3.0], MAR: [4.0, 5.0]})
        self.promotion = Promotion(
            registry=self.registry, store=store, features=FakeFeatures(), metrics=FakeMetrics(self.registry),
            clock=self.clock, audit=self.audit, locks=self.locks, ledger=self.ledger,
        )  # fmt: skip
        if champion_rmse is not None:
            self.promotion.promote(self.registry.get(NAME, "1"), actor="alice", reason="first champion")
        self.trainer = FakeTrainer("lightgbm", 0.5)
        self.tracker = FakeTracker()
        self.training = Training(
            store=store, features=FakeFeatures(), trainer=self.trainer, baseline_trainer=FakeTrainer("sklearn", 2.0),
            metrics=FakeMetrics(), tracker=self.tracker, registry=self.registry, clock=self.clock, audit=self.audit,
        )  # fmt: skip
        self.months = FakeMonths({JAN: 2, FEB: 1, MAR: 2})
        self.triggers = [FixedTrigger("schedule", fired), FixedTrigger("drift", False)]
        self.runs = MemoryRuns()
        self.live = FakeLive()
        self.alerter = FakeAlerter()
        self.rollback = Rollback(promotion=self.promotion, ledger=self.ledger, registry=self.registry, clock=self.clock)
        self.approval_store = MemoryApprovalStore()
        self.policy = policy or RetrainingPolicy("local", window_months=2)

    def service(self) -> Retraining:
        approvals = Approvals(
            store=self.approval_store,  # type: ignore[arg-type]
            promotion=self.promotion, gate=GateThroughPromotion(self.promotion),
            policy=ApprovalPolicy("production"), clock=self.clock, audit=self.audit,
        )  # fmt: skip
        return Retraining(
            model_name=NAME, policy=self.policy, data=self.months, triggers=self.triggers, runs=self.runs,
            training=self.training, gate=GateThroughPromotion(self.promotion), promotion=self.promotion,
            approvals=lambda: approvals, rollback=lambda: self.rollback, live=self.live, alerter=self.alerter,
            locks=self.locks, audit=self.audit, clock=self.clock,
        )  # fmt: skip


def test_run_trains_on_the_window_before_the_month_and_promotes_a_better_challenger() -> None:
    world = World()
    outcome = world.service().run(MAR, actor="bob")
    run = outcome.run
    assert run.window == ("2021-01", "2021-02") and world.trainer.fitted_on == ["2021-01..2021-02"]
    assert run.decision == "promoted" and world.registry.aliases[CHAMPION] == run.challenger_version == "2"
    assert run.champion_version == "1" and run.champion_metrics["rmse"] == 5.0
    assert run.challenger_metrics["rmse"] == 2.0 and run.evaluation_data["month"] == "2021-03"
    assert [t.name for t in run.fired] == ["schedule"] and run.fired[0].why == "schedule says True"
    assert world.ledger.rows[-1].reason == "retrain 2021-03: schedule"
    decided = [e for e in world.audit.rows if e.action == RETRAIN_DECIDED]
    assert len(decided) == 1 and decided[0].details["decision"] == "promoted"
    assert world.registry.tags["2"]["train_months"] == "2021-01,2021-02"
    assert world.runs.get(NAME, "2021-03").stage is RetrainStage.DECIDED  # type: ignore[union-attr]
    assert [r.stage for r in world.runs.history] == ["started", "trained", "evaluated", "decided"]


def test_a_decided_month_returns_its_decision_without_retraining_and_force_retrains() -> None:
    world = World()
    service = world.service()
    first = service.run(MAR)
    again = service.run(MAR)
    assert again.reused and again.run == first.run and len(world.registry.rmse) == 2
    forced = service.run(MAR, force=True)
    assert not forced.reused and forced.run.challenger_version == "3"


def test_a_run_killed_after_training_resumes_at_the_evaluation_with_the_recorded_challenger() -> None:
    world = World()
    service = world.service()
    service.run(MAR)
    trained = next(r for r in world.runs.history if r.stage is RetrainStage.TRAINED)
    world.runs.saved[(NAME, "2021-03")] = trained  # as if killed right after recording the training
    world.registry.aliases[CHAMPION] = "1"
    resumed = service.run(MAR)
    assert resumed.resumed and resumed.run.challenger_version == "2" and len(world.registry.rmse) == 2
    assert world.trainer.fitted_on == ["2021-01..2021-02"]  # trained once


def test_no_trigger_records_nothing_and_trains_nothing() -> None:
    world = World(fired=False)
    outcome = world.service().run(MAR)
    assert outcome.run.decision == "no_trigger" and world.trainer.fitted_on == [] and world.runs.saved == {}


def test_a_worse_challenger_keeps_the_champion() -> None:
    world = World(champion_rmse=1.5)
    run = world.service().run(MAR).run
    assert run.decision == "champion_kept" and world.registry.aliases[CHAMPION] == "1"
    assert "not better" in run.decision_detail


def test_request_approval_policy_opens_a_request_and_moves_nothing() -> None:
    world = World(policy=RetrainingPolicy("production", decision=DecisionMode.REQUEST_APPROVAL))
    run = world.service().run(MAR).run
    assert run.decision == "approval_requested" and world.registry.aliases[CHAMPION] == "1"
    [request] = world.approval_store.requests.values()
    assert request.requested_by.startswith("retrain:") and request.reason == "retrain 2021-03: schedule"  # type: ignore[attr-defined]


def test_experiment_policy_parks_the_challenger() -> None:
    world = World(policy=RetrainingPolicy("staging", decision=DecisionMode.EXPERIMENT))
    run = world.service().run(MAR).run
    assert run.decision == "experiment_required"
    assert world.registry.aliases[CHALLENGER] == "2" and world.registry.aliases[CHAMPION] == "1"


def test_a_month_without_valid_rows_is_one_error_and_changes_nothing() -> None:
    world = World()
    world.months.rows[MAR] = 0
    with pytest.raises(NoValidRowsError, match="2021-03 has no valid rows"):
        world.service().run(MAR)
    assert world.runs.saved == {} and len(world.registry.rmse) == 1 and world.trainer.fitted_on == []


def test_a_second_run_is_refused_by_the_lock() -> None:
    world = World()
    world.locks.held.add(retrain_lock(NAME))
    with pytest.raises(LockHeldError, match="retrain-toy"):
        world.service().run(MAR)
    assert world.runs.saved == {}


def _bad_promotion(world: World, *, reason: str = "forced") -> None:
    world.registry.rmse["2"] = 9.0
    world.registry.tags["2"] = {"valid_month": str(JAN), "val_rmse": "9.0"}
    world.promotion.promote(world.registry.get(NAME, "2"), actor="mallory", reason=reason, force=True)


def test_guard_rolls_back_a_champion_worse_than_the_previous_and_alerts() -> None:
    world = World(policy=RetrainingPolicy("local", guard_scope=GuardScope.ANY, guard_min_rows=10))
    _bad_promotion(world)
    world.live.errors = {"2": Slice(100, 8.0), "1": Slice(100, 5.0)}
    verdict = world.service().guard()
    assert verdict.action == "rolled_back" and world.registry.aliases[CHAMPION] == "1"
    assert world.ledger.rows[-1].reason.startswith("rollback: guardrail: v2 live RMSE 8")
    assert world.alerter.sent and world.alerter.sent[0].severity == "critical"
    assert GUARDRAIL_ALERT in world.audit.actions


def test_guard_uses_the_validation_rmse_without_live_error_of_the_previous_champion_and_audits_failed_alerts() -> None:
    world = World(policy=RetrainingPolicy("local", guard_scope=GuardScope.ANY, guard_min_rows=10))
    _bad_promotion(world)
    world.live.errors = {"2": Slice(50, 6.0)}
    world.alerter.fail = True
    verdict = world.service().guard()
    assert verdict.action == "rolled_back" and verdict.evidence["baseline"] == "validation RMSE"
    alert = next(e for e in world.audit.rows if e.action == GUARDRAIL_ALERT)
    assert alert.details["delivery"].startswith("not delivered")


@pytest.mark.parametrize(
    ("policy", "errors", "reason", "why"),
    [
        (RetrainingPolicy("p"), {"2": Slice(900, 50.0)}, "forced", "not automatic"),
        (RetrainingPolicy("p", guard_scope=GuardScope.ANY), {"2": Slice(10, 50.0)}, "forced", "fewer than 500"),
        (RetrainingPolicy("p", guard_scope=GuardScope.ANY, guard_min_rows=5), {"2": Slice(10, 5.2)}, "x", "within"),
    ],
)
def test_guard_leaves_the_champion_alone(
    policy: RetrainingPolicy, errors: dict[str, Slice], reason: str, why: str
) -> None:
    world = World(policy=policy)
    _bad_promotion(world, reason=reason)
    world.live.errors = errors
    verdict = world.service().guard()
    assert verdict.action in {"skipped", "ok"} and why in verdict.why
    assert world.registry.aliases[CHAMPION] == "2" and not world.alerter.sent


def test_guard_watches_automatic_promotions_by_default() -> None:
    world = World(policy=replace(RetrainingPolicy("p"), guard_min_rows=5))
    _bad_promotion(world, reason="retrain 2021-03: schedule")
    world.live.errors = {"2": Slice(10, 7.0)}
    assert world.service().guard().action == "rolled_back"


def test_training_plan_window_keeps_train_month_for_one_month_callers() -> None:
    from tripcast.core.services.training import TrainingPlan

    plan = TrainingPlan.window(FEB, 3, NAME, valid_month=MAR)
    assert plan.train_months == (Month(2020, 12), JAN, FEB) and plan.train_month == FEB
    assert plan.test_month == MAR and plan.window_label == "2020-12..2021-02"
    single = TrainingPlan.consecutive(JAN, NAME)
    assert single.train_months == (JAN,) and single.window_label == "2021-01"
    assert TrainingPlan(JAN, FEB, MAR, NAME, (Month(2020, 12), JAN)).train_month == JAN


def test_training_on_a_window_logs_every_month_and_tags_the_version() -> None:
    world = World()
    world.service().run(MAR)
    [(name, log)] = [(n, log) for n, log in world.tracker.runs.items() if n.startswith("lightgbm-")]
    assert name == "lightgbm-2021-01..2021-02" and log["params"]["train_months"] == "2021-01,2021-02"
    assert ("training", "2021-01..2021-02") in log["datasets"]
