"""Per-client API keys: created once, stored only as a keyed hash, looked up cheaply on every request.

A key is ``tc_`` + 32 random bytes (``secrets.token_urlsafe(32)``), shown once when created. The
database keeps ``HMAC-SHA256(secret, key)``: a dump of the table reveals no key, and someone who can
write the table cannot mint one without the server-side secret. SQLite by default, PostgreSQL by URL.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from cachetools import TTLCache
from sqlalchemy import Column, MetaData, String, Table, delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tripcast.core.domain.access import (  # noqa: F401 - re-exported: the key store's public names
    ApiKeyRecord,
    Identity,
    KeyStoreUnavailableError,
    Role,
    parse_role,
)
from tripcast.core.domain.audit import AuditEvent
from tripcast.core.domain.errors import FieldProblem, InvalidInputError, NotFoundError
from tripcast.core.ports.audit import AuditLog
from tripcast.sql_schema import LazySchema

#: Every key starts with this, so a leaked one is recognisable (secret scanners, logs).
TOKEN_PREFIX = "tc_"
#: The identity of ``TRIPCAST_API_TOKEN``; key names cannot contain ``:``, so no key can take it.
ENVIRONMENT_ADMIN = "env:TRIPCAST_API_TOKEN"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

_metadata = MetaData()
api_keys = Table(
    "api_keys",
    _metadata,
    Column("name", String(100), primary_key=True),  # one row per name: concurrent creates cannot both win
    Column("role", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),  # ISO 8601 text, identical in every dialect
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", String(40), nullable=True),
)


@contextmanager
def _reachable(what: str) -> Iterator[None]:
    try:
        yield
    except (IntegrityError, KeyStoreUnavailableError):
        raise
    except SQLAlchemyError as exc:
        # The driver's first line (e.g. "connection refused"), never the URL and its password.
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()[0][:200]
        raise KeyStoreUnavailableError(f"{what}: API-key store unavailable: {reason}") from exc


def new_token() -> str:
    """A fresh API key: the prefix and 256 random bits."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class KeyHasher:
    """HMAC-SHA256 of a key under a server-side secret.

    A slow password hash (argon2, scrypt) protects low-entropy secrets against guessing; a key of 256
    random bits cannot be guessed, so it would only add milliseconds to every request. The HMAC key
    (the "pepper") is what stops someone with write access to the table from inserting a key of their own.
    """

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the API-key hashing secret must not be empty")
        self._secret = secret

    def __call__(self, token: str) -> str:
        return hmac.digest(self._secret, token.encode(), hashlib.sha256).hex()  # one-shot C HMAC: ~1 µs


class SqlApiKeyStore:
    """API keys in the SQL database at ``url``; key events go to ``audit`` when given."""

    def __init__(
        self,
        url: str,
        hasher: KeyHasher,
        *,
        audit: AuditLog | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.schema = LazySchema(url, _metadata)
        self.engine: Engine = self.schema.engine
        self.hasher = hasher
        self.audit = audit
        self.now = now

    def _ready(self) -> Engine:
        return self.schema.ready()

    def create(self, name: str, role: Role, *, actor: str) -> str:
        """Store a new key named ``name`` and return it: the only time the key is ever visible."""
        if not NAME_PATTERN.match(name):
            raise InvalidInputError(
                [FieldProblem("--name", f"{name!r}: use 1-100 letters, digits, '.', '_' or '-', starting alphanumeric")]
            )
        token = new_token()
        at = self.now()
        try:
            with _reachable("creating the key"), self._ready().begin() as conn:
                # A revoked key's name may be reused; its history stays in the audit trail.
                conn.execute(delete(api_keys).where(api_keys.c.name == name, api_keys.c.revoked_at.is_not(None)))
                conn.execute(
                    api_keys.insert().values(
                        name=name,
                        role=role.value,
                        key_hash=self.hasher(token),
                        created_at=at.isoformat(),
                        created_by=actor,
                    )
                )
                # Inside the transaction: if the audit write fails, no key exists without its event.
                self._audit("api_key.created", name, actor, at, {"role": role.value})
        except IntegrityError:
            raise InvalidInputError([FieldProblem("--name", f"an active key named {name!r} exists")]) from None
        return token

    def revoke(self, name: str, *, actor: str) -> None:
        """Revoke the active key ``name`` (NotFoundError when there is none)."""
        at = self.now()
        with _reachable("revoking the key"), self._ready().begin() as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=at.isoformat())
            )
            if done.rowcount != 1:
                raise NotFoundError(f"no active API key named {name!r}")
            self._audit("api_key.revoked", name, actor, at, {})

    def list_keys(self, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
        """Keys by name (active only unless ``include_revoked``)."""
        query = select(api_keys).order_by(api_keys.c.name)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with _reachable("listing keys"), self._ready().connect() as conn:
            return [
                ApiKeyRecord(
                    name=row.name,
                    role=Role(row.role),
                    created_at=datetime.fromisoformat(row.created_at),
                    created_by=row.created_by,
                    revoked_at=datetime.fromisoformat(row.revoked_at) if row.revoked_at else None,
                )
                for row in conn.execute(query)
            ]

    def identity_for_hash(self, key_hash: str) -> Identity | None:
        """The identity of the active key with this hash; KeyStoreUnavailableError when unreachable."""
        query = select(api_keys.c.name, api_keys.c.role).where(
            api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)
        )
        with _reachable("looking up a key"), self._ready().connect() as conn:
            row = conn.execute(query).first()
        return Identity(row.name, Role(row.role)) if row is not None else None

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def _audit(self, action: str, name: str, actor: str, at: datetime, details: dict[str, str]) -> None:
        if self.audit is not None:
            self.audit.record(AuditEvent(at=at, actor=actor, action=action, subject=f"api_key:{name}", details=details))


class Authenticator:
    """Bearer token -> identity: the environment's admin token, else an API key through a short-TTL cache.

    Lookups are remembered (hits and misses) for ``ttl_seconds`` per process, so a request costs one HMAC
    and a dict lookup; a revoked key therefore stops working within ``ttl_seconds`` on every worker.
    The cache is bounded, so a flood of made-up tokens cannot grow memory.
    """

    def __init__(
        self,
        store: SqlApiKeyStore | None,
        *,
        admin_token: str | None = None,
        ttl_seconds: float = 5.0,
        max_entries: int = 10_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._admin = admin_token.encode() if admin_token else None
        self._cache: TTLCache[str, Identity | None] = TTLCache(max_entries, ttl_seconds, timer=timer)
        self._enabled = ttl_seconds > 0
        self._lock = threading.Lock()  # the cache is shared by the event loop and threadpool lookups

    def close(self) -> None:
        """Release the key store's connections (the server's shutdown)."""
        if self.store is not None:
            self.store.close()

    def cached(self, token: str) -> tuple[bool, Identity | None]:
        """``(True, identity or None)`` when answerable without the database, else ``(False, None)``."""
        # Constant-time: response timing must not reveal how much of the admin token matched.
        if self._admin is not None and secrets.compare_digest(token.encode(), self._admin):
            return True, Identity(ENVIRONMENT_ADMIN, Role.ADMIN)
        if self.store is None or not token.startswith(TOKEN_PREFIX):
            return True, None
        with self._lock:
            if self._enabled and (key := self.store.hasher(token)) in self._cache:
                return True, self._cache[key]
        return False, None

    def identify(self, token: str) -> Identity | None:
        """The caller's identity, None for an unknown or revoked token; may query the database."""
        known, identity = self.cached(token)
        if known:
            return identity
        assert self.store is not None
        key = self.store.hasher(token)
        identity = self.store.identity_for_hash(key)
        if self._enabled:
            with self._lock:
                self._cache[key] = identity
        return identity
