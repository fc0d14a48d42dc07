"""Per-environment policy files (``environments/<env>/<name>_policy.yaml``): one reader for every policy.

The approval and retraining policies share the rules: a YAML mapping validated by a pydantic model, each bad
field named with the file; the file sits under the settings' home unless the settings name one; and a policy
written for another environment is refused (a local, auto-approving policy copied into production would
promote without an approver).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from tripcast.core.domain.errors import FieldProblem, InvalidInputError

ModelT = TypeVar("ModelT", bound=BaseModel)
PolicyT = TypeVar("PolicyT", bound="EnvironmentPolicy")


class EnvironmentPolicy(Protocol):
    """What every policy says about itself: the environment it was written for."""

    @property
    def environment(self) -> str: ...


def policy_path(home: Path | None, environment: str, file_name: str, configured: Path | None) -> Path | None:
    """``configured`` (relative: under ``home``), else ``<home>/environments/<environment>/<file_name>`` when
    it exists, else None (the environment's built-in default applies)."""
    if configured is not None:
        path = configured.expanduser()
        return path if path.is_absolute() or home is None else home / path
    candidate = (home or Path("/nonexistent")) / "environments" / environment / file_name
    return candidate if candidate.is_file() else None


def read_policy(path: Path, model: type[ModelT]) -> ModelT:
    """The policy file at ``path`` validated by ``model``; InvalidInputError naming the file and each bad field."""
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
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [
            FieldProblem(f"{path.name}: {'.'.join(str(p) for p in error['loc']) or 'policy'}", str(error["msg"]))
            for error in exc.errors()
        ]
        raise InvalidInputError(problems) from None


def refuse_other_environment(policy: EnvironmentPolicy, environment: str, path: Path) -> None:
    """InvalidInputError when ``policy`` was written for another environment than ``environment``."""
    if policy.environment != environment:
        problem = f"is {policy.environment!r} but TRIPCAST_ENV is {environment!r}"
        raise InvalidInputError([FieldProblem(f"{path.name}: environment", problem)])


def environment_policy(
    path: Path | None, environment: str, default: Callable[[str], PolicyT], load: Callable[[Path], PolicyT]
) -> PolicyT:
    """The policy at ``path`` (refused when written for another environment), or ``default(environment)``
    when no file applies: the one rule every per-environment policy follows."""
    if path is None:
        return default(environment)
    policy = load(path)
    refuse_other_environment(policy, environment, path)
    return policy
