"""Who may call what: roles, permissions, identities and API-key records (no framework, no storage).

An API key carries one role; an endpoint requires one permission. ``admin`` holds every permission.
The key store (``tripcast.security.api_keys``) and the HTTP API (``tripcast.api.security``) both use these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tripcast.core.domain.errors import FieldProblem, InvalidInputError, TripcastError


class Role(StrEnum):
    """The role of an API key, from least to most trusted."""

    VIEWER = "viewer"
    PREDICTOR = "predictor"
    OPERATOR = "operator"
    APPROVER = "approver"
    ADMIN = "admin"


class Permission(StrEnum):
    """One thing a caller may do."""

    READ_MODEL = "read_model"  # which model version answers, its metrics
    READ_INTERNALS = "read_internals"  # run ids, artifact storage URIs
    PREDICT = "predict"
    OPERATE = "operate"  # reload models, operational endpoints
    APPROVE = "approve"  # approve model promotions
    MANAGE_KEYS = "manage_keys"  # create and revoke API keys


#: The permission map. Approvers approve but do not operate: separation of duties.
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ_MODEL}),
    Role.PREDICTOR: frozenset({Permission.READ_MODEL, Permission.PREDICT}),
    Role.OPERATOR: frozenset(
        {Permission.READ_MODEL, Permission.READ_INTERNALS, Permission.PREDICT, Permission.OPERATE}
    ),
    Role.APPROVER: frozenset(
        {Permission.READ_MODEL, Permission.READ_INTERNALS, Permission.PREDICT, Permission.APPROVE}
    ),
    Role.ADMIN: frozenset(Permission),
}


def roles_with(permission: Permission) -> list[Role]:
    """Every role holding ``permission``, least trusted first."""
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: the API key's name and its role."""

    name: str
    role: Role

    def can(self, permission: Permission) -> bool:
        """Whether this identity's role holds ``permission``."""
        return permission in ROLE_PERMISSIONS[self.role]


class KeyStoreUnavailableError(TripcastError):
    """The API-key database cannot be reached: callers must refuse (fail closed), never allow."""


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """What is kept about a key: never the key itself."""

    name: str
    role: Role
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None


def parse_role(value: str) -> Role:
    """The role named ``value``, or InvalidInputError listing the roles."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        allowed = ", ".join(role.value for role in Role)
        raise InvalidInputError([FieldProblem("--role", f"{value!r} is not a role; use one of {allowed}")]) from None
