"""Wiring of access control: the API-key store and the authenticator the HTTP API checks tokens with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tripcast.core.domain.access import Permission
from tripcast.core.ports.access import ApiKeyStore, Authenticator
from tripcast.settings import Settings

if TYPE_CHECKING:
    from tripcast.core.ports.audit import AuditLog


def api_key_store(settings: Settings, audit: AuditLog | None = None) -> ApiKeyStore:
    """The API keys in ``settings.auth_database_url``; key events go to ``audit`` when given."""
    from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore

    return SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret), audit=audit)


def authenticator_from_settings(settings: Settings) -> Authenticator:
    """The environment's admin token (``TRIPCAST_API_TOKEN``) and the API keys in ``settings.auth_database_url``."""
    from tripcast.security.api_keys import Authenticator as KeyAuthenticator
    from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore

    store = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    token = settings.api_token.get_secret_value() if settings.api_token is not None else None
    return KeyAuthenticator(store, admin_token=token or None, ttl_seconds=settings.api_key_cache_seconds)


def anonymous_permissions(settings: Settings) -> frozenset[Permission]:
    """What callers without a key may do: read which model serves, and predict when the settings allow."""
    allowed = {Permission.READ_MODEL}
    if settings.anonymous_predictions:
        allowed.add(Permission.PREDICT)
    return frozenset(allowed)
