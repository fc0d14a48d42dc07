"""The lifecycle link over fakes: retraining's `experiment` decision opens (and starts) an A/B test of champion
vs challenger, and an approval that requires a won experiment promotes only a version a decided experiment
shipped, naming that experiment in the ledger row."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from test_retraining_service import MAR, NAME, World

from support.fakes_approvals import FakeApprovalStore, FakeDrift
from support.fakes_experiments import FakeExperimentStore, FakeExposureLog, MovableClock
from support.fakes_ledger import FakeLedger, TaggingRegistry
from support.fakes_ml import FakeAudit, FakeClock, FakeFeatures, FakeLocks, FakeMetrics, FakeRegistry, FakeStore
from tripcast.core.domain.access import Identity, Role
from tripcast.core.domain.approval import ApprovalPolicy, ApprovalRefusedError
from tripcast.core.domain.experiment import Arm, ExperimentDefinition, ExperimentState, Verdict
from tripcast.core.domain.month import Month
from tripcast.core.domain.retraining import DecisionMode, RetrainingPolicy
from tripcast.core.services.approval import Approvals, GateThroughPromotion, WonExperiment
from tripcast.core.services.experiment_lifecycle import ExperimentLifecycle
from tripcast.core.services.experiments import Experiments
from tripcast.core.services.promotion import CHAMPION, Promotion

OPERATOR = Identity("olga", Role.OPERATOR)
APPROVER = Identity("ada", Role.APPROVER)


def experiments_over(registry: FakeRegistry) -> Experiments:
    return Experiments(FakeExperimentStore(), FakeExposureLog(), registry, FakeAudit(), MovableClock())


def retrain_with_experiments(policy: RetrainingPolicy) -> tuple[World, Experiments, str]:
    world = World(policy=policy)
    experiments = experiments_over(world.registry)
    service = world.service()
    service.experiments = lambda: ExperimentLifecycle(experiments)
    detail = service.run(MAR).run.decision_detail
    return world, experiments, detail


def test_the_experiment_decision_creates_and_starts_champion_vs_challenger() -> None:
    world, experiments, detail = retrain_with_experiments(
        RetrainingPolicy("staging", decision=DecisionMode.EXPERIMENT, experiment_treatment_share=0.2)
    )
    [experiment] = experiments.list()
    definition = experiment.definition
    assert experiment.state is ExperimentState.RUNNING
    assert [(a.name, a.model_ref, a.weight) for a in definition.arms] == [
        ("control", "1", pytest.approx(0.8)),
        ("treatment", "2", 0.2),
    ]
    assert definition.experiment_id == f"retrain-{NAME}-2021-03-v2"
    assert f"experiment {definition.experiment_id} is running" in detail  # the id is in the retrain decision
    assert world.registry.aliases[CHAMPION] == "1"  # the experiment decides, not retraining


def test_a_policy_that_does_not_start_experiments_leaves_a_draft_and_says_so() -> None:
    _, experiments, detail = retrain_with_experiments(
        RetrainingPolicy("staging", decision=DecisionMode.EXPERIMENT, experiment_start=False)
    )
    assert [e.state for e in experiments.list()] == [ExperimentState.DRAFT]
    assert "created as a draft, not started: the retraining policy does not start experiments" in detail


def test_a_start_refused_by_a_running_experiment_leaves_a_draft_with_the_reason() -> None:
    world = World(policy=RetrainingPolicy("staging", decision=DecisionMode.EXPERIMENT))
    experiments = experiments_over(world.registry)
    busy = ExperimentDefinition("busy", NAME, (Arm("a", "1", 0.5), Arm("b", "1", 0.5)))
    experiments.create(busy, actor=OPERATOR)
    experiments.start("busy", actor=OPERATOR)
    service = world.service()
    service.experiments = lambda: ExperimentLifecycle(experiments)
    detail = service.run(MAR).run.decision_detail
    assert "not started: experiment 'busy' is already running" in detail
    assert (
        experiments.running_for(NAME) is not None and experiments.running_for(NAME).definition.experiment_id == "busy"
    )  # type: ignore[union-attr]


def approvals_with(
    experiments_of: Callable[[ExperimentLifecycle], WonExperiment],
) -> tuple[Approvals, TaggingRegistry, FakeLedger, Experiments]:
    registry = TaggingRegistry({"1": 3.0, "2": 2.0, "3": 2.5}, tags={v: {"valid_month": "2021-02"} for v in "123"})
    registry.aliases[CHAMPION] = "1"
    ledger = FakeLedger(registry)
    promotion = Promotion(
        registry=registry, store=FakeStore({Month(2021, 2): [1.0, 2.0]}), features=FakeFeatures(),
        metrics=FakeMetrics(registry), clock=FakeClock(), audit=FakeAudit(), locks=FakeLocks(), ledger=ledger,
    )  # fmt: skip
    experiments = experiments_over(registry)
    lifecycle = ExperimentLifecycle(experiments)
    approvals = Approvals(
        store=FakeApprovalStore(), promotion=promotion, gate=GateThroughPromotion(promotion),
        policy=ApprovalPolicy("production", require_won_experiment=True), clock=FakeClock(), audit=FakeAudit(),
        drift=FakeDrift(), won_experiment=experiments_of(lifecycle),
    )  # fmt: skip
    return approvals, registry, ledger, experiments


def decided(experiments: Experiments, name: str, treatment: str, verdict: Verdict) -> None:
    arms = (Arm("control", "champion", 0.5), Arm("treatment", treatment, 0.5))
    experiments.create(ExperimentDefinition(name, NAME, arms), actor=OPERATOR)
    experiments.start(name, actor=OPERATOR)
    experiments.stop(name, actor=OPERATOR)
    experiments.decide(name, verdict, actor=APPROVER)


def test_an_approval_requiring_a_won_experiment_promotes_a_shipped_version_and_the_ledger_names_it() -> None:
    approvals, registry, ledger, experiments = approvals_with(lambda lifecycle: lifecycle.shipped)
    decided(experiments, "ab-ship-v2", "2", Verdict.SHIP)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="won its A/B test")
    approvals.approve(request.request_id, approver=APPROVER)
    assert registry.aliases[CHAMPION] == "2"
    assert ledger.rows[-1].to_version == "2" and ledger.rows[-1].experiment_id == "ab-ship-v2"


@pytest.mark.parametrize(
    ("treatment", "verdict", "stop_only"),
    [("2", Verdict.KEEP_CHAMPION, False), ("3", Verdict.SHIP, False), ("2", Verdict.SHIP, True)],
    ids=["kept-champion", "another-version-shipped", "stopped-not-decided"],
)
def test_without_a_decided_ship_for_the_version_the_approval_is_refused(
    treatment: str, verdict: Verdict, stop_only: bool
) -> None:
    approvals, registry, ledger, experiments = approvals_with(lambda lifecycle: lifecycle.shipped)
    if stop_only:
        arms = (Arm("control", "champion", 0.5), Arm("treatment", treatment, 0.5))
        experiments.create(ExperimentDefinition("ab", NAME, arms), actor=OPERATOR)
        experiments.start("ab", actor=OPERATOR)
        experiments.stop("ab", actor=OPERATOR)
    else:
        decided(experiments, "ab", treatment, verdict)
    request = approvals.request(NAME, "2", requester=OPERATOR, reason="x")
    with pytest.raises(ApprovalRefusedError, match="no decided experiment with verdict 'ship' has v2 as its treatment"):
        approvals.approve(request.request_id, approver=APPROVER)
    assert registry.aliases[CHAMPION] == "1" and ledger.rows == []


def test_an_experiment_retraining_cannot_create_is_said_and_the_challenger_stays_parked() -> None:
    world = World(policy=RetrainingPolicy("staging", decision=DecisionMode.EXPERIMENT))
    experiments = experiments_over(world.registry)
    taken = ExperimentDefinition(f"retrain-{NAME}-2021-03-v2", NAME, (Arm("a", "1", 0.5), Arm("b", "1", 0.5)))
    experiments.create(taken, actor=OPERATOR)  # the name retraining would use
    service = world.service()
    service.experiments = lambda: ExperimentLifecycle(experiments)
    run = service.run(MAR).run
    assert run.decision == "experiment_required" and world.registry.aliases["challenger"] == "2"
    assert f"experiment retrain-{NAME}-2021-03-v2 not created: exists" in run.decision_detail
