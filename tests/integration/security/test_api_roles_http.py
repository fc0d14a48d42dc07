"""Real HTTP against the API wired from settings: every mutating route fails closed, roles decide the rest.

The key store is the one the settings name (SQLite under the data dir, or PostgreSQL by URL); the server
is uvicorn on a real socket; keys are created the way ``tripcast tokens create`` creates them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route

from support.serving_fakes import FakeRegistry
from support.serving_settings import functional_settings
from support.uvicorn_thread import serve_in_thread
from tripcast.api import create_app
from tripcast.api.security import Requires
from tripcast.bootstrap.serving import serving_parts
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.security.api_keys import KeyHasher, SqlApiKeyStore
from tripcast.security.roles import Permission, Role, roles_with
from tripcast.settings import Settings

TRIP = {"pickup_datetime": "2021-02-14T08:30:00", "pickup_zone": 74, "dropoff_zone": 75, "trip_distance": 1.6}
ENV_TOKEN = "environment-admin-token-0123456789"
#: A request body for every mutating route: a new route without one fails the enumeration test below.
SAMPLE_BODIES: dict[str, Any] = {"/v1/predictions": TRIP, "/v1/models/reload": None}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def registry_with_champion() -> FakeRegistry:
    registry = FakeRegistry()
    registry.versions["1"] = ModelVersion(
        "trip-duration", "1", metrics={"rmse": 5.0}, source="s3://models/trip-duration/1", run_id="run-abc123"
    )
    registry.aliases["champion"] = "1"
    return registry


def mutating_routes(app: Any) -> list[tuple[str, str, Requires | None]]:
    """(method, path, its Requires dependency or None) for every route that is not a safe method."""
    found = []
    for route in app.routes:
        if not isinstance(route, Route):
            continue
        for method in sorted((route.methods or set()) - SAFE_METHODS):
            guard = None
            if isinstance(route, APIRoute):
                guards = [d.call for d in route.dependant.dependencies if isinstance(d.call, Requires)]
                guard = guards[0] if guards else None
            found.append((method, route.path, guard))
    return found


@dataclass
class Served:
    base: str
    keys: SqlApiKeyStore
    settings: Settings
    app: Any

    def key(self, role: Role, name: str | None = None) -> dict[str, str]:
        token = self.keys.create(name or f"{role.value}-client", role, actor="tests")
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(params=["sqlite", "postgresql"])
def auth_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'auth.db'}"
    return str(request.getfixturevalue("postgres_url"))


def serve(tmp_path: Path, auth_url: str | None = None, **overrides: Any) -> Iterator[Served]:
    settings = functional_settings(
        data_dir=tmp_path, auth_url=auth_url, api_key_secret="integration-secret-0123456789", **overrides
    )
    # The app builds its authenticator from the settings, as `tripcast serve` does.
    app = create_app(serving_parts(settings, registry_with_champion(), cache=None, poll=False))
    keys = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    with serve_in_thread(app) as port:
        yield Served(f"http://127.0.0.1:{port}", keys, settings, app)
    keys.close()


@pytest.fixture()
def served(tmp_path: Path, auth_url: str) -> Iterator[Served]:
    yield from serve(tmp_path, auth_url, env="staging", api_token=ENV_TOKEN, api_key_cache_seconds=0.5)


def call(served: Served, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = SAMPLE_BODIES[path]
    return httpx.request(method, served.base + path, json=body, headers=headers or {}, timeout=10)


def test_every_mutating_route_requires_a_permission(tmp_path: Path) -> None:
    app = create_app(
        serving_parts(functional_settings(data_dir=tmp_path), registry_with_champion(), cache=None, poll=False)
    )
    routes = mutating_routes(app)
    assert routes, "the app has no mutating routes?"
    unguarded = [f"{method} {path}" for method, path, guard in routes if guard is None]
    assert not unguarded, f"mutating routes without a Requires(...) dependency: {unguarded}"
    untested = [path for _, path, _ in routes if path not in SAMPLE_BODIES]
    assert not untested, f"add a sample body for {untested} to SAMPLE_BODIES so the role tests cover it"


def test_every_mutating_route_refuses_missing_wrong_and_unknown_keys(served: Served) -> None:
    for method, path, guard in mutating_routes(served.app):
        assert guard is not None
        anonymous = call(served, method, path)
        assert anonymous.status_code == 401, (path, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        unknown = call(served, method, path, {"Authorization": "Bearer tc_not-a-key-at-all"})
        assert unknown.status_code == 401 and "invalid_token" in unknown.headers["www-authenticate"]
        basic = call(served, method, path, {"Authorization": "Basic YWxpY2U6c2VjcmV0"})
        assert basic.status_code == 401
        allowed = roles_with(guard.permission)
        for role in Role:
            response = call(served, method, path, served.key(role, f"{role.value}-{path.replace('/', '_')}"))
            if role in allowed:
                assert response.status_code == 200, (path, role, response.text)
            else:
                assert response.status_code == 403, (path, role, response.text)
                detail = response.json()["detail"]
                assert f"needs role {allowed[0].value}" in detail and f"has role {role.value}" in detail
        admin = call(served, method, path, {"Authorization": f"Bearer {ENV_TOKEN}"})
        assert admin.status_code == 200, (path, admin.text)


def test_anonymous_predictions_follow_the_setting(tmp_path: Path) -> None:
    for allowed, expected in ((True, 200), (False, 401)):
        directory = tmp_path / str(allowed)
        for served in serve(directory, allow_anonymous_predictions=allowed):
            answer = httpx.post(served.base + "/v1/predictions", json=TRIP, timeout=10)
            assert answer.status_code == expected, answer.text
            keyed = httpx.post(served.base + "/v1/predictions", json=TRIP, headers=served.key(Role.PREDICTOR))
            assert keyed.status_code == 200
            viewer = httpx.post(served.base + "/v1/predictions", json=TRIP, headers=served.key(Role.VIEWER))
            assert viewer.status_code == 403 and "predict needs role predictor" in viewer.json()["detail"]


def test_anonymous_predictions_are_refused_by_default_outside_local(served: Served) -> None:
    assert served.settings.env.value == "staging"
    refused = httpx.post(served.base + "/v1/predictions", json=TRIP, timeout=10)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"


def test_a_revoked_key_is_refused_within_the_cache_ttl(served: Served) -> None:
    headers = served.key(Role.OPERATOR, "soon-revoked")
    assert call(served, "POST", "/v1/models/reload", headers).status_code == 200
    served.keys.revoke("soon-revoked", actor="tests")
    deadline = time.monotonic() + served.settings.api_key_cache_seconds + 0.5
    while time.monotonic() < deadline:
        response = call(served, "POST", "/v1/models/reload", headers)
        if response.status_code == 401:
            break
        time.sleep(0.05)
    assert response.status_code == 401, "a revoked key still works after the cache TTL"


def test_model_internals_are_shown_to_operators_and_up_only(served: Served) -> None:
    url = served.base + "/v1/models/current"
    anonymous = httpx.get(url, timeout=10).json()
    assert anonymous["model_version"] == "1"
    assert "run_id" not in anonymous and "source" not in anonymous and "s3://" not in str(anonymous)
    for role in Role:
        body = httpx.get(url, headers=served.key(role), timeout=10).json()
        sees = role in roles_with(Permission.READ_INTERNALS)
        assert sees == (role in {Role.OPERATOR, Role.APPROVER, Role.ADMIN})
        assert ("run-abc123" in str(body)) == sees and ("s3://models" in str(body)) == sees, (role, body)
    assert httpx.get(url, headers={"Authorization": "Bearer tc_bogus"}, timeout=10).status_code == 401


@pytest.mark.parametrize("environment", ["local", "staging"])
def test_a_cross_origin_form_post_gets_no_way_in(tmp_path: Path, environment: str) -> None:
    """What a web page on another origin can send: a form POST without credentials, or a CORS preflight.

    Defect 9: in `local` without TRIPCAST_API_TOKEN such a form reloaded the model.
    """
    token = ENV_TOKEN if environment == "staging" else None
    evil = {"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}
    for served in serve(tmp_path, env=environment, api_token=token):
        anonymous = served.app.state.access_policy.anonymous
        for method, path, guard in mutating_routes(served.app):
            assert guard is not None
            posted = httpx.request(method, served.base + path, content=b"force=true", headers=evil, timeout=10)
            # Refused for want of a key, or (anonymous predictions in local) a form is not a trip: 422.
            expected = 422 if guard.permission in anonymous else 401
            assert posted.status_code == expected, (path, posted.text)
            assert not any(h.startswith("access-control-") for h in posted.headers)
            preflight = httpx.options(
                served.base + path,
                headers={
                    "Origin": "https://evil.example",
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization",
                },
                timeout=10,
            )
            assert "access-control-allow-origin" not in preflight.headers
            assert "access-control-allow-credentials" not in preflight.headers
        for middleware in served.app.user_middleware:
            if middleware.cls is CORSMiddleware:
                assert not middleware.kwargs.get("allow_credentials"), "CORS must never allow credentials"
