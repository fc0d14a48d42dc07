"""Approval policies: one YAML file per environment (``environments/<env>/approval_policy.yaml``).

The file is validated by a pydantic model that forbids unknown keys; a bad file is one
:class:`InvalidInputError` naming the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from tripcast.core.domain.approval import ApprovalPolicy
from tripcast.mlops.policy_files import read_policy

POLICY_FILE = "approval_policy.yaml"


class ApprovalPolicyModel(BaseModel):
    """The YAML schema of an approval policy (see ``DOCS/lifecycle-approvals.md``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    environment: str
    auto_approve_when_gate_passes: bool = False
    require_distinct_approver: bool = True
    require_passing_gate: bool = True
    require_no_drift: bool = False
    require_won_experiment: bool = False

    def to_policy(self) -> ApprovalPolicy:
        """The domain policy."""
        return ApprovalPolicy(**self.model_dump())


def default_policy(environment: str) -> ApprovalPolicy:
    """The policy of an environment without a file: local and development auto-approve a passing gate."""
    relaxed = environment in {"local", "development"}
    return ApprovalPolicy(
        environment=environment,
        auto_approve_when_gate_passes=relaxed,
        require_distinct_approver=not relaxed,
    )


def load_policy(path: Path) -> ApprovalPolicy:
    """The policy in ``path``; InvalidInputError naming the file and each bad field."""
    return read_policy(path, ApprovalPolicyModel).to_policy()
