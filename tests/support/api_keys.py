"""API keys for tests: a throwaway SQLite key store and ``Authorization`` headers for a role."""

from __future__ import annotations

from pathlib import Path

from tripcast.core.domain.access import Identity
from tripcast.security.api_keys import Authenticator, KeyHasher, SqlApiKeyStore
from tripcast.security.roles import Role

TEST_SECRET = b"tests-api-key-secret-0123456789"


def key_store(directory: Path) -> SqlApiKeyStore:
    """A key store in ``directory/auth.db``."""
    return SqlApiKeyStore(f"sqlite:///{directory / 'auth.db'}", KeyHasher(TEST_SECRET))


def authenticator(store: SqlApiKeyStore, *, admin_token: str | None = None, ttl: float = 5.0) -> Authenticator:
    """What ``create_app(authenticator=...)`` takes: the store's keys (and an environment admin token)."""
    return Authenticator(store, admin_token=admin_token, ttl_seconds=ttl)


def bearer(store: SqlApiKeyStore, role: Role = Role.OPERATOR, name: str | None = None) -> dict[str, str]:
    """Headers carrying a new key of ``role``."""
    token = store.create(name or f"test-{role.value}", role, actor="tests")
    return {"Authorization": f"Bearer {token}"}


class KeyTable:
    """An authenticator port over a fixed ``token -> Identity`` dict: route tests need no key store."""

    def __init__(self, keys: dict[str, Identity]) -> None:
        self.keys = keys

    def cached(self, token: str) -> tuple[bool, Identity | None]:
        return True, self.keys.get(token)

    def identify(self, token: str) -> Identity | None:
        return self.keys.get(token)

    def close(self) -> None:
        return None
