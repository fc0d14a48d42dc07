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
    token = "a-long-random-secret-value"
    assert Settings(env=env, api_token=token, audit_key="another-long-random-secret").env.value == env


@pytest.mark.parametrize("env", ["staging", "production"])
def test_production_refuses_missing_or_development_audit_key(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    token = "a-long-random-secret-value"
    with pytest.raises(ValidationError, match="TRIPCAST_AUDIT_KEY"):
        Settings(env=env, api_token=token)
    with pytest.raises(ValidationError, match="TRIPCAST_AUDIT_KEY"):
        Settings(env=env, api_token=token, audit_key="short")
    assert Settings(env="local").audit_key.get_secret_value()  # the development key is fine on a laptop


def test_environment_variables_configure_settings(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPCAST_MLFLOW_TRACKING_URI", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("TRIPCAST_SERVICE", "yellow")
    settings = Settings()
    assert settings.tracking_uri == "postgresql+psycopg://u@h/db" and settings.service == "yellow"
    monkeypatch.setenv("TRIPCAST_SERVICE", "purple")
    with pytest.raises(ValidationError, match="service"):
        Settings()
