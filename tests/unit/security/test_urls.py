import pytest

from tripcast.security.urls import mask_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://tripcast:s3cr%40t@db:5432/mlflow", "postgresql+psycopg://tripcast:***@db:5432/mlflow"),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("https://hooks.example.com/x?token=abc&channel=ops", "https://hooks.example.com/x?token=***&channel=ops"),
        ("postgresql://sslcert@db/x?password=pw", "postgresql://sslcert@db/x?password=***"),
        ("sqlite:////var/lib/tripcast/mlflow.db", "sqlite:////var/lib/tripcast/mlflow.db"),
        ("postgresql://tripcast@db/mlflow", "postgresql://tripcast@db/mlflow"),
        ("data/mlflow.db", "data/mlflow.db"),
    ],
)
def test_passwords_are_masked_and_nothing_else_changes(url, shown):
    assert mask_url(url) == shown


def test_an_unparsable_url_shows_no_credentials():
    assert mask_url("http://user:pw@[::1") == "http://***"
