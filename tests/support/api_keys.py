"""API keys for tests: a throwaway SQLite key store and ``Authorization`` headers for a role."""

from __future__ import annotations

from pathlib import Path

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
