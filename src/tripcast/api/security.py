"""Bearer-token guard for endpoints that change server state."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

_bearer = HTTPBearer(auto_error=False, description="Required on mutating endpoints when TRIPCAST_API_TOKEN is set")


def token_guard(token: SecretStr | None) -> Callable[[HTTPAuthorizationCredentials | None], None]:
    """A dependency refusing requests without ``Authorization: Bearer <token>`` (open when no token is set)."""
    expected = token.get_secret_value().encode() if token is not None and token.get_secret_value() else None

    def guard(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if expected is None:
            return
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        # Constant-time comparison: response timing must not reveal how much of the token matched.
        if not secrets.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "invalid bearer token")

    return guard
