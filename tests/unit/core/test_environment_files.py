"""Every environment file under environments/ is valid configuration for the settings model."""

from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import ValidationError

from tripcast.settings import Environment, Settings

ENVIRONMENTS = Path(__file__).resolve().parents[3] / "environments"
FILES = sorted(p for p in ENVIRONMENTS.rglob(".env*") if p.is_file())


def test_every_environment_has_a_file():
    envs = {dotenv_values(p).get("TRIPCAST_ENV") for p in FILES}
    assert envs == {e.value for e in Environment}


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ENVIRONMENTS)))
def test_environment_file_validates(path, monkeypatch):
    values = dotenv_values(path)
    assert all(key.startswith("TRIPCAST_") for key in values), "only TRIPCAST_ settings belong here"
    assert "TRIPCAST_API_TOKEN" not in values, "secrets never live in environment files"
    assert "TRIPCAST_AUDIT_KEY" not in values, "secrets never live in environment files"
    assert "TRIPCAST_API_KEY_SECRET" not in values, "secrets never live in environment files"
    fields = {key.removeprefix("TRIPCAST_").lower(): value for key, value in values.items()}
    strict = fields["env"] in {"staging", "production"}
    if strict:
        with pytest.raises(ValidationError, match="TRIPCAST_API_TOKEN"):
            Settings(_env_file=None, **fields)
        fields["api_token"] = "x" * 32
        with pytest.raises(ValidationError, match="TRIPCAST_AUDIT_KEY"):
            Settings(_env_file=None, **fields)
        fields["audit_key"] = "k" * 32
        with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
            Settings(_env_file=None, **fields)
        fields["api_key_secret"] = "y" * 32
    settings = Settings(_env_file=None, **fields)
    assert settings.env.value == values["TRIPCAST_ENV"]
