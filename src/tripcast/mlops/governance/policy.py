"""Approval policies: one YAML file per environment (``environments/<env>/approval_policy.yaml``).

The file is validated by a pydantic model that forbids unknown keys; a bad file is one
:class:`InvalidInputError` naming the file, the field and the problem.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from tripcast.core.domain.approval import ApprovalPolicy
from tripcast.core.domain.errors import FieldProblem, InvalidInputError

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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError([FieldProblem(str(path), f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InvalidInputError([FieldProblem(str(path), f"not valid YAML{where}: {problem}")]) from None
    if not isinstance(raw, dict):
        raise InvalidInputError([FieldProblem(str(path), "expected a mapping of policy fields")])
    try:
        return ApprovalPolicyModel.model_validate(raw).to_policy()
    except ValidationError as exc:
        problems = [
            FieldProblem(f"{path.name}: {'.'.join(str(p) for p in error['loc']) or 'policy'}", str(error["msg"]))
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None
