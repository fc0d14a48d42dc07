"""Ports of access control: who a bearer token is, and the store of API keys behind it."""

from __future__ import annotations

from typing import Protocol

from tripcast.core.domain.access import ApiKeyRecord, Identity, Role


class Authenticator(Protocol):
    """Bearer token -> identity; lookups are cached briefly so a request rarely reaches the key store."""

    def cached(self, token: str) -> tuple[bool, Identity | None]:
        """``(True, identity or None)`` when answerable without the key store, else ``(False, None)``."""

    def identify(self, token: str) -> Identity | None:
        """The identity, None for an unknown or revoked token; KeyStoreUnavailableError when unreachable."""

    def close(self) -> None:
        """Release the key store's connections."""


class ApiKeyStore(Protocol):
    """The API keys: created once (the key is shown once), revoked, listed; never the keys themselves."""

    def create(self, name: str, role: Role, *, actor: str) -> str:
        """A new key named ``name`` with ``role``; returns the key (not kept)."""

    def revoke(self, name: str, *, actor: str) -> None:
        """Revoke the key named ``name``."""

    def list_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        """What is kept about each key, oldest first."""
