"""Structured logs: categories from logger names, redaction of every credential shape, JSON and console lines."""

from __future__ import annotations

import json
import logging

import pytest

from tripcast.observability.logs import bind_context, category_of, clear_context, configure_logging, redact


@pytest.mark.parametrize(
    ("logger", "category"),
    [
        ("tripcast.security.api_keys", "security"),
        ("tripcast.api.security", "security"),
        ("tripcast.data_engineering.pipeline.runner", "data"),
        ("tripcast.mlops.serving.real_time.model_holder", "model"),
        ("tripcast.core.services.promotion", "model"),
        ("mlflow.store", "model"),
        ("uvicorn.error", "application"),
        ("tripcast.securityx", "application"),  # a prefix matches whole name parts only
    ],
)
def test_category_follows_the_guides_logging_split(logger: str, category: str) -> None:
    assert category_of(logger) == category


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql+psycopg://tripcast:pa55word@db:5432/x", "postgresql+psycopg://tripcast:***@db:5432/x"),
        ("redis://:hunter2@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
        ("key tc_Zx9_abcdefghijklmnop used", "key tc_*** used"),
        ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: Bearer ***"),
        ("https://api/x?token=abc123&page=2", "https://api/x?token=***&page=2"),
        ("http://host:8000/v1/predictions", "http://host:8000/v1/predictions"),  # a port is not a password
    ],
)
def test_redaction_masks_every_credential_shape(text: str, masked: str) -> None:
    assert redact(text) == masked


def ours(err: str, *loggers: str) -> list[str]:
    """The lines this test's loggers wrote: a background thread left by an earlier test (a log writer retrying,
    say) may log through the same handler meanwhile."""
    return [line for line in err.splitlines() if any(name in line for name in loggers)]


@pytest.fixture()
def restore_logging():  # type: ignore[no-untyped-def]
    root, ours = logging.getLogger(), logging.getLogger("tripcast")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    yield
    root.handlers[:] = handlers
    root.setLevel(levels[0])
    ours.setLevel(levels[1])
    clear_context()


def test_json_lines_carry_category_context_and_no_secret(capsys, restore_logging) -> None:  # type: ignore[no-untyped-def]
    configure_logging(json_lines=True, level="INFO")
    bind_context(request_id="req-1", model_version="7")
    logging.getLogger("tripcast.security.api_keys").warning("store at %s", "postgresql://u:topsecret@h/db")
    logging.getLogger("tripcast.mlops.x").info("loaded", extra={"rows": 3})
    logging.getLogger("somelibrary.internals").info("library internals")  # libraries log at WARNING and above
    written = ours(capsys.readouterr().err, "tripcast.security.api_keys", "tripcast.mlops.x", "somelibrary")
    lines = [json.loads(line) for line in written]
    assert [line["event"] for line in lines] == ["store at postgresql://u:***@h/db", "loaded"]
    first, second = lines
    assert first["category"] == "security" and first["level"] == "warning" and first["timestamp"].endswith("Z")
    assert first["request_id"] == "req-1" and first["model_version"] == "7"
    assert second["category"] == "model" and second["rows"] == 3


def test_console_lines_are_human_readable(capsys, restore_logging) -> None:  # type: ignore[no-untyped-def]
    configure_logging(json_lines=False, level="INFO")
    configure_logging(json_lines=False, level="INFO")  # idempotent: one handler, one line per event
    logging.getLogger("tripcast.data_engineering.pipeline").info("validated %d rows", 12)
    [line] = ours(capsys.readouterr().err, "tripcast.data_engineering.pipeline")
    assert "validated 12 rows" in line and "category=data" in line and not line.startswith("{")


def test_console_lines_name_an_exception_without_its_traceback(capsys, restore_logging) -> None:  # type: ignore[no-untyped-def]
    configure_logging(json_lines=False, level="INFO")
    try:
        raise ConnectionError("no servers available")
    except ConnectionError:
        logging.getLogger("tripcast.data_engineering.streaming").error("encountered error", exc_info=True)
    err = capsys.readouterr().err
    assert "error='ConnectionError: no servers available'" in err or "error=ConnectionError: no servers" in err
    assert "Traceback" not in err


def test_json_lines_keep_the_traceback_for_the_log_store(capsys, restore_logging) -> None:  # type: ignore[no-untyped-def]
    configure_logging(json_lines=True, level="INFO")
    try:
        raise ConnectionError("no servers available")
    except ConnectionError:
        logging.getLogger("tripcast.data_engineering.streaming").error("encountered error", exc_info=True)
    [line] = [json.loads(line) for line in ours(capsys.readouterr().err, "tripcast.data_engineering.streaming")]
    assert "Traceback" in line["exception"] and "ConnectionError: no servers available" in line["exception"]
