import pytest
from pydantic import ValidationError

from tripcast.settings import Settings


def test_local_defaults_need_no_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.tracking_uri.startswith("sqlite:///") and settings.tracking_uri.endswith("mlflow.db")
    assert settings.raw_path == tmp_path / "data" / "raw"


@pytest.mark.parametrize("env", ["staging", "production"])
def test_production_refuses_missing_or_default_token(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="TRIPCAST_API_TOKEN"):
        Settings(env=env)
    with pytest.raises(ValidationError, match="TRIPCAST_API_TOKEN"):
        Settings(env=env, api_token="changethis")
    with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
        Settings(env=env, api_token="a-long-random-secret-value")
    with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
        Settings(env=env, api_token="a-long-random-secret-value", api_key_secret="short")
    with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
        Settings(env=env, api_token="a-long-random-secret-value", api_key_secret="tripcast-local-api-key-secret")
    settings = Settings(env=env, api_token="a-long-random-secret-value", api_key_secret="another-long-secret-value")
    assert settings.env.value == env and settings.anonymous_predictions is False


def test_anonymous_predictions_default_by_environment_and_can_be_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Settings(env="local").anonymous_predictions is True
    assert Settings(env="development").anonymous_predictions is True
    assert Settings(env="local", allow_anonymous_predictions=False).anonymous_predictions is False
    assert Settings(env="local").auth_database_url.endswith("auth.db")


def test_environment_variables_configure_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("TRIPCAST_SERVICE", "yellow")
    settings = Settings()
    assert settings.tracking_uri == "postgresql+psycopg://u@h/db" and settings.service == "yellow"
    monkeypatch.setenv("TRIPCAST_SERVICE", "purple")
    with pytest.raises(ValidationError, match="service"):
        Settings()
