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
        Settings(env=env, api_token="a-long-random-secret-value", audit_key="another-long-random-secret")
    with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
        Settings(
            env=env,
            api_token="a-long-random-secret-value",
            audit_key="another-long-random-secret",
            api_key_secret="short",
        )
    with pytest.raises(ValidationError, match="TRIPCAST_API_KEY_SECRET"):
        Settings(
            env=env,
            api_token="a-long-random-secret-value",
            audit_key="another-long-random-secret",
            api_key_secret="tripcast-local-api-key-secret",
        )
    settings = Settings(
        env=env,
        api_token="a-long-random-secret-value",
        audit_key="another-long-random-secret",
        api_key_secret="another-long-secret-value",
    )
    assert settings.env.value == env and settings.anonymous_predictions is False


@pytest.mark.parametrize("env", ["staging", "production"])
def test_production_refuses_missing_or_development_audit_key(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    secrets = {"api_token": "a-long-random-secret-value", "api_key_secret": "another-long-secret-value"}
    with pytest.raises(ValidationError, match="TRIPCAST_AUDIT_KEY"):
        Settings(env=env, **secrets)
    with pytest.raises(ValidationError, match="TRIPCAST_AUDIT_KEY"):
        Settings(env=env, audit_key="short", **secrets)
    assert Settings(env="local").audit_key.get_secret_value()  # the development key is fine on a laptop


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


def test_relative_locations_are_resolved_once_at_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        data_dir="data",
        raw_dir="incoming/raw",
        feature_store_dir="fs",
        mlflow_tracking_uri="sqlite:///data/mlflow.db?timeout=5",
        audit_url="sqlite:///audit.db",
        mlflow_artifact_location="artifacts",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # nothing read later may depend on the directory a library runs in
    assert settings.data_dir == tmp_path / "data"
    assert settings.raw_path == tmp_path / "incoming" / "raw"
    assert settings.feature_store_path == tmp_path / "fs"
    assert settings.processed_path == tmp_path / "data" / "processed"
    assert settings.tracking_uri == f"sqlite:///{tmp_path}/data/mlflow.db?timeout=5"
    assert settings.audit_database_url == f"sqlite:///{tmp_path}/audit.db"
    assert settings.artifact_location == str(tmp_path / "artifacts")


def test_absolute_and_server_locations_are_kept_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings(
        data_dir=tmp_path / "d",
        mlflow_tracking_uri="postgresql+psycopg://u@h/db",
        audit_url="sqlite:////var/lib/audit.db",
        mlflow_artifact_location="s3://bucket/artifacts",
    )
    assert settings.data_dir == tmp_path / "d" and settings.feature_store_path == tmp_path / "d" / "feature_store"
    assert settings.tracking_uri == "postgresql+psycopg://u@h/db"
    assert settings.audit_database_url == "sqlite:////var/lib/audit.db"
    assert settings.artifact_location == "s3://bucket/artifacts"
