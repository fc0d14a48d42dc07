"""``tripcast tokens``: the key is printed once as stdout's last line, listed never, and every change is audited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tripcast.cli.app import app
from tripcast.security.api_keys import TOKEN_PREFIX, Authenticator, KeyHasher, SqlApiKeyStore
from tripcast.security.roles import Identity, Role
from tripcast.settings import Settings

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRIPCAST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TRIPCAST_ENV", "local")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def authenticator() -> Authenticator:
    settings = Settings()
    store = SqlApiKeyStore(settings.auth_database_url, KeyHasher(settings.api_key_hash_secret))
    return Authenticator(store, ttl_seconds=0)


def test_create_prints_the_key_as_the_last_line_of_stdout_for_tail(data_dir: Path) -> None:
    command = f"{sys.executable} -c 'from tripcast.cli.app import main; main()' tokens create --name ci --role operator"
    captured = subprocess.run(
        f"{command} | tail -1", shell=True, capture_output=True, text=True, env=os.environ, check=True, timeout=120
    )
    token = captured.stdout.strip()
    assert token.startswith(TOKEN_PREFIX) and len(token) >= 46 and " " not in token
    assert authenticator().identify(token) == Identity("ci", Role.OPERATOR)


def test_list_and_revoke_never_show_the_key_and_are_audited(data_dir: Path) -> None:
    created = runner.invoke(app, ["tokens", "create", "--name", "dashboard", "--role", "viewer"])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    listed = runner.invoke(app, ["tokens", "list"])
    assert listed.exit_code == 0 and "dashboard" in listed.output and "viewer" in listed.output
    assert token not in listed.output and token[len(TOKEN_PREFIX) : len(TOKEN_PREFIX) + 8] not in listed.output
    assert authenticator().identify(token) == Identity("dashboard", Role.VIEWER)

    revoked = runner.invoke(app, ["tokens", "revoke", "dashboard"])
    assert revoked.exit_code == 0, revoked.output
    assert authenticator().identify(token) is None
    assert "dashboard" not in runner.invoke(app, ["tokens", "list"]).output
    assert "dashboard" in runner.invoke(app, ["tokens", "list", "--revoked"]).output

    trail = runner.invoke(app, ["audit", "--subject", "api_key:"])
    assert trail.exit_code == 0 and "api_key.created" in trail.output and "api_key.revoked" in trail.output
    assert token not in trail.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tokens", "create", "--name", "x", "--role", "root"], "--role"),
        (["tokens", "create", "--name", "a:b", "--role", "viewer"], "--name"),
        (["tokens", "revoke", "nobody"], "nobody"),
    ],
)
def test_mistakes_are_one_line_errors(data_dir: Path, args: list[str], fragment: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert fragment in result.output and "Traceback" not in result.output


def test_a_second_active_key_with_the_same_name_is_refused(data_dir: Path) -> None:
    assert runner.invoke(app, ["tokens", "create", "--name", "ci", "--role", "viewer"]).exit_code == 0
    again = runner.invoke(app, ["tokens", "create", "--name", "ci", "--role", "admin"])
    assert again.exit_code == 1 and "exists" in again.output


def test_an_unreachable_key_database_is_a_one_line_error(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPCAST_AUTH_URL", "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/auth")
    result = runner.invoke(app, ["tokens", "list"])
    assert result.exit_code == 1 and "unavailable" in result.output
    assert "Traceback" not in result.output and "hunter2" not in result.output


def test_missing_secrets_in_production_are_a_one_line_error(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIPCAST_ENV", "production")
    monkeypatch.setenv("TRIPCAST_API_TOKEN", "a-long-random-admin-token-value")
    monkeypatch.setenv("TRIPCAST_AUDIT_KEY", "a-long-random-audit-key-value")
    monkeypatch.delenv("TRIPCAST_API_KEY_SECRET", raising=False)
    result = runner.invoke(app, ["tokens", "create", "--name", "ci", "--role", "admin"])
    assert result.exit_code == 1 and "TRIPCAST_API_KEY_SECRET" in result.output
    assert "Traceback" not in result.output and "pydantic" not in result.output
