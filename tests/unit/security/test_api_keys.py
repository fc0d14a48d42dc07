"""API keys: stored only as keyed hashes, audited, looked up through a short-TTL cache, roles from one map."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import InvalidInputError, NotFoundError
from tripcast.core.ports.audit import AuditLog
from tripcast.security.api_keys import (
    ENVIRONMENT_ADMIN,
    TOKEN_PREFIX,
    Authenticator,
    KeyHasher,
    KeyStoreUnavailableError,
    SqlApiKeyStore,
    new_token,
    parse_role,
)
from tripcast.security.roles import ROLE_PERMISSIONS, Identity, Permission, Role, roles_with

SECRET = b"unit-test-api-key-secret"


class MemoryAudit(AuditLog):
    def __init__(self, fail: bool = False) -> None:
        self.recorded: list[AuditEvent] = []
        self.fail = fail

    def record(self, event: AuditEvent) -> None:
        if self.fail:
            raise RuntimeError("audit trail unavailable")
        self.recorded.append(event)

    def events(self, subject_prefix: str = "", limit: int = 100) -> list[AuditEvent]:
        return [e for e in reversed(self.recorded) if e.subject.startswith(subject_prefix)][:limit]


class FakeTimer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def audit() -> MemoryAudit:
    return MemoryAudit()


@pytest.fixture()
def store(tmp_path: Path, audit: MemoryAudit) -> SqlApiKeyStore:
    return SqlApiKeyStore(f"sqlite:///{tmp_path / 'keys' / 'auth.db'}", KeyHasher(SECRET), audit=audit)


def test_tokens_are_long_random_and_recognisable() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(t.startswith(TOKEN_PREFIX) and len(t) >= len(TOKEN_PREFIX) + 43 for t in tokens)


def test_the_database_holds_a_keyed_hash_never_the_key(store: SqlApiKeyStore, tmp_path: Path) -> None:
    token = store.create("ci", Role.OPERATOR, actor="alice")
    raw = (tmp_path / "keys" / "auth.db").read_bytes()
    assert token.encode() not in raw and token[len(TOKEN_PREFIX) :].encode() not in raw
    with sqlite3.connect(tmp_path / "keys" / "auth.db") as conn:
        [(stored,)] = conn.execute("SELECT key_hash FROM api_keys").fetchall()
    # Keyed: the same key under another secret (or plain SHA-256) does not match what is stored.
    assert stored == KeyHasher(SECRET)(token) != KeyHasher(b"another-secret")(token)
    assert store.identity_for_hash(stored) == Identity("ci", Role.OPERATOR)
    # Someone who can write the table but lacks the secret cannot mint a key: their hash matches nothing.
    assert Authenticator(store).identify(token) == Identity("ci", Role.OPERATOR)
    other = SqlApiKeyStore(f"sqlite:///{tmp_path / 'keys' / 'auth.db'}", KeyHasher(b"guessed-secret"))
    assert Authenticator(other).identify(token) is None


def test_create_revoke_and_list_write_audit_events(store: SqlApiKeyStore, audit: MemoryAudit) -> None:
    store.create("dashboard", Role.VIEWER, actor="alice")
    store.create("ci", Role.OPERATOR, actor="bob")
    assert [(k.name, k.role, k.created_by) for k in store.list_keys()] == [
        ("ci", Role.OPERATOR, "bob"),
        ("dashboard", Role.VIEWER, "alice"),
    ]
    store.revoke("ci", actor="carol")
    assert [k.name for k in store.list_keys()] == ["dashboard"]
    [revoked] = [k for k in store.list_keys(include_revoked=True) if k.name == "ci"]
    assert revoked.revoked_at is not None
    assert [(e.action, e.subject, e.actor) for e in audit.recorded] == [
        ("api_key.created", "api_key:dashboard", "alice"),
        ("api_key.created", "api_key:ci", "bob"),
        ("api_key.revoked", "api_key:ci", "carol"),
    ]
    assert audit.recorded[1].details == {"role": "operator"}
    assert all("tc_" not in str(e.details) for e in audit.recorded)


def test_names_are_unique_among_active_keys_and_reusable_after_revocation(store: SqlApiKeyStore) -> None:
    first = store.create("ci", Role.OPERATOR, actor="a")
    with pytest.raises(InvalidInputError, match="active key named 'ci' exists"):
        store.create("ci", Role.ADMIN, actor="a")
    store.revoke("ci", actor="a")
    second = store.create("ci", Role.PREDICTOR, actor="a")
    authenticator = Authenticator(store, ttl_seconds=0)
    assert authenticator.identify(first) is None
    assert authenticator.identify(second) == Identity("ci", Role.PREDICTOR)


@pytest.mark.parametrize("name", ["", "a:b", "-x", "x" * 101, "has space", "env:TRIPCAST_API_TOKEN"])
def test_bad_names_are_refused_naming_the_option(store: SqlApiKeyStore, name: str) -> None:
    with pytest.raises(InvalidInputError, match="--name"):
        store.create(name, Role.VIEWER, actor="a")


def test_revoking_an_unknown_key_is_not_found(store: SqlApiKeyStore) -> None:
    with pytest.raises(NotFoundError, match="nobody"):
        store.revoke("nobody", actor="a")


def test_an_audit_failure_leaves_no_key_behind(tmp_path: Path) -> None:
    store = SqlApiKeyStore(f"sqlite:///{tmp_path / 'auth.db'}", KeyHasher(SECRET), audit=MemoryAudit(fail=True))
    with pytest.raises(RuntimeError, match="audit"):
        store.create("ci", Role.ADMIN, actor="a")
    assert store.list_keys(include_revoked=True) == []


def test_roles_parse_case_insensitively_and_name_the_choices() -> None:
    assert parse_role(" Operator ") is Role.OPERATOR
    with pytest.raises(InvalidInputError, match="--role: 'root' is not a role; use one of viewer, predictor"):
        parse_role("root")


def test_the_permission_map() -> None:
    assert ROLE_PERMISSIONS[Role.ADMIN] == frozenset(Permission)
    assert roles_with(Permission.OPERATE) == [Role.OPERATOR, Role.ADMIN]
    assert roles_with(Permission.APPROVE) == [Role.APPROVER, Role.ADMIN]
    assert roles_with(Permission.MANAGE_KEYS) == [Role.ADMIN]
    assert roles_with(Permission.READ_INTERNALS) == [Role.OPERATOR, Role.APPROVER, Role.ADMIN]
    assert Identity("v", Role.VIEWER).can(Permission.READ_MODEL)
    assert not Identity("v", Role.VIEWER).can(Permission.PREDICT)
    assert not Identity("p", Role.PREDICTOR).can(Permission.OPERATE)
    # Every role's permissions include reading which model serves; only admin manages keys.
    assert all(Permission.READ_MODEL in perms for perms in ROLE_PERMISSIONS.values())


def test_the_environment_token_is_an_admin_without_the_database(tmp_path: Path) -> None:
    broken = SqlApiKeyStore("postgresql+psycopg://nobody@127.0.0.1:1/none", KeyHasher(SECRET))
    authenticator = Authenticator(broken, admin_token="env-admin-token-0123456789")
    assert authenticator.identify("env-admin-token-0123456789") == Identity(ENVIRONMENT_ADMIN, Role.ADMIN)
    assert authenticator.identify("env-admin-token-012345678") is None  # not a key: no lookup either
    with pytest.raises(KeyStoreUnavailableError, match="unavailable"):
        authenticator.identify(new_token())


def test_revocation_takes_effect_within_the_cache_ttl(store: SqlApiKeyStore) -> None:
    timer = FakeTimer()
    authenticator = Authenticator(store, ttl_seconds=5, timer=timer)
    token = store.create("svc", Role.PREDICTOR, actor="a")
    assert authenticator.identify(token) == Identity("svc", Role.PREDICTOR)
    store.revoke("svc", actor="a")
    timer.now += 4.9
    assert authenticator.cached(token) == (True, Identity("svc", Role.PREDICTOR))  # still cached: no query
    timer.now += 0.2
    assert authenticator.cached(token) == (False, None)
    assert authenticator.identify(token) is None


def test_unknown_keys_are_cached_too_and_the_cache_is_bounded(store: SqlApiKeyStore) -> None:
    timer = FakeTimer()
    authenticator = Authenticator(store, ttl_seconds=5, max_entries=10, timer=timer)
    made_up = new_token()
    assert authenticator.identify(made_up) is None
    assert authenticator.cached(made_up) == (True, None)  # a flood of one bad key costs one query
    for _ in range(50):
        authenticator.identify(new_token())
    assert len(authenticator._cache) <= 10
