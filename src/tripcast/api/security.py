"""Who may call what over HTTP: bearer API keys, roles, and refusals that fail closed.

Every route that changes anything carries a :class:`Requires` dependency naming the permission it needs
(``tests/integration/security/test_api_roles_http.py`` fails on a non-GET route without one). No key:
401 with ``WWW-Authenticate: Bearer`` unless anonymous callers hold the permission; a key whose role
lacks it: 403 naming the roles that have it; the key store unreachable: 503, never "let it through".
No cookies are read and no CORS headers are sent, so a web page on another origin cannot call in
with a user's credentials.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from fastapi import HTTPException, Request, status
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from starlette.concurrency import run_in_threadpool

from tripcast.core.domain.access import Identity, KeyStoreUnavailableError, Permission, roles_with
from tripcast.core.ports.access import Authenticator

#: Refusals are security events (category ``security`` in the structured logs); a token is never logged.
log = logging.getLogger(__name__)
#: RFC 6750 challenges.
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class AccessPolicy:
    """Identities from bearer tokens (through ``authenticator``) and what callers without one may do."""

    def __init__(self, authenticator: Authenticator, anonymous: Iterable[Permission] = ()) -> None:
        self.authenticator = authenticator
        self.anonymous = frozenset(anonymous)

    async def identity(self, request: Request) -> Identity | None:
        """The caller's identity; None without an ``Authorization`` header; 401/503 for a bad one."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "expected Authorization: Bearer <API key>", _CHALLENGE)
        known, identity = self.authenticator.cached(token)
        if not known:
            try:
                # A database round trip: off the event loop.
                identity = await run_in_threadpool(self.authenticator.identify, token)
            except KeyStoreUnavailableError:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    "cannot check the API key right now; retry later",
                    {"Retry-After": "5"},
                ) from None
        if identity is None:
            log.warning("refused %s %s: unknown or revoked API key", request.method, request.url.path)
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key", _INVALID_TOKEN)
        return identity


class Requires(SecurityBase):
    """A route dependency: the caller must hold ``permission`` (or anonymous callers must).

    Returns the identity (None for an allowed anonymous caller); a key's identity is also left on
    ``request.state.identity`` (read it with ``identity_of(request)``).
    Subclassing ``SecurityBase`` documents the bearer scheme in the OpenAPI spec.
    """

    def __init__(self, policy: AccessPolicy, permission: Permission) -> None:
        self.policy = policy
        self.permission = permission
        self.model = HTTPBearerModel(description="An API key from `tripcast tokens create`")
        self.scheme_name = "ApiKey"

    async def __call__(self, request: Request) -> Identity | None:
        identity = await self.policy.identity(request)
        if identity is None:
            if self.permission in self.policy.anonymous:
                return None
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"an API key is required ({self._needed()}); send Authorization: Bearer <key>",
                _CHALLENGE,
            )
        if not identity.can(self.permission):
            log.warning("refused %s %s: key %r has role %s", request.method, request.url.path, identity.name,
                        identity.role.value)  # fmt: skip
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"{self._needed()}; key {identity.name!r} has role {identity.role.value}"
            )
        request.state.identity = identity  # only for a key: anonymous requests skip building the State
        return identity

    def _needed(self) -> str:
        *others, last = [role.value for role in roles_with(self.permission)]
        roles = f"{', '.join(others)} or {last}" if others else last
        return f"{self.permission.value} needs role {roles}"


def identity_of(request: Request) -> Identity | None:
    """The identity a :class:`Requires` dependency found for ``request``; None when anonymous."""
    return getattr(request.state, "identity", None)
