"""Wiring of the approval workflow (``tc.approvals``): the request store in the registry's database, the
environment's policy file, the promotion gate of ``tc.ml.promotion`` and the drift check of ``tc.drift``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tripcast.core.domain.approval import ApprovalPolicy, DriftCheck
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.month import Month
from tripcast.core.ports.approval import DriftEvidence
from tripcast.core.services.approval import Approvals, GateThroughPromotion
from tripcast.core.services.experiment_lifecycle import ExperimentLifecycle
from tripcast.mlops.governance.policy import POLICY_FILE, default_policy, load_policy
from tripcast.mlops.governance.store import SqlApprovalStore
from tripcast.mlops.policy_files import environment_policy
from tripcast.mlops.policy_files import policy_path as environment_policy_path

if TYPE_CHECKING:
    from tripcast.bootstrap import Tripcast
    from tripcast.settings import Settings


def policy_path(settings: Settings) -> Path | None:
    """The policy file the settings name, else ``environments/<env>/approval_policy.yaml`` under the home."""
    return environment_policy_path(settings.home, settings.env.value, POLICY_FILE, settings.approval_policy_file)


def approval_policy(settings: Settings) -> ApprovalPolicy:
    """The environment's policy: its file, or the environment's built-in default."""
    return environment_policy(policy_path(settings), settings.env.value, default_policy, load_policy)


class DriftOfValidationMonth(DriftEvidence):
    """Dataset drift of the validation month against the candidate's reference profile (``tc.drift.check``)."""

    def __init__(self, tc: Tripcast) -> None:
        self.tc = tc

    def check(self, candidate: ModelVersion, month: str) -> DriftCheck:
        from tripcast.core.services.drift import CheckRequest

        request = CheckRequest(current=month, reference=candidate.version, month=Month.parse(month), predictions=False)
        report = self.tc.drift.check(request).report
        columns = ", ".join(report.drifted_columns) or "none"
        return DriftCheck(report.dataset_drift, f"drifted columns: {columns} ({report.n_current:,} rows)")


def approvals(tc: Tripcast) -> Approvals:
    """The approval use cases over the root's promotion service, audit trail and clock."""
    promotion = tc.ml.promotion
    return Approvals(
        store=SqlApprovalStore(tc.tracking_store_uri),
        promotion=promotion,
        gate=GateThroughPromotion(promotion),
        policy=approval_policy(tc.settings),
        clock=tc.clock,
        audit=tc.audit,
        drift=DriftOfValidationMonth(tc),
        won_experiment=lambda model, version: ExperimentLifecycle(tc.experiments.service).shipped(model, version),
    )
