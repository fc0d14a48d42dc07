"""Structured logs: one JSON line per event, with the guide's logger categories, and no secret in any line.

Every logger (Tripcast's, MLflow's, uvicorn's) goes through the standard library into one handler on stderr
(stdout stays the commands' output), rendered by structlog:

- ``json``: ``{"timestamp", "level", "logger", "category", "event", ...context}``; ``category`` is the guide's
  ``logging/`` split (application, model, data, security) derived from the logger's name; context bound with
  :func:`bind_context` (request id, model version) and the active trace's ids when tracing is on;
- ``console``: the same fields, human-readable (the default in local and development).

A redaction step masks credentials in URLs, API keys and bearer tokens in every rendered field, so a secret
passed into a log call by mistake never reaches a line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

#: Logger-name prefix -> category (longest prefix wins); anything else is ``application``.
CATEGORIES: dict[str, str] = {
    "tripcast.security": "security",
    "tripcast.api.security": "security",
    "tripcast.data_engineering": "data",
    "tripcast.core.services.ingest_sources": "data",
    "tripcast.core.services.validation": "data",
    "tripcast.mlops": "model",
    "tripcast.core.services.training": "model",
    "tripcast.core.services.promotion": "model",
    "tripcast.core.services.rollback": "model",
    "tripcast.core.services.drift": "model",
    "tripcast.core.services.feedback": "model",
    "mlflow": "model",
    "lightgbm": "model",
}
#: Secrets a line must never carry, with their masked form.
REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@/\s]+)@"),
        r"\g<scheme>\g<user>:***@",
    ),
    (re.compile(r"\btc_[A-Za-z0-9_-]{8,}"), "tc_***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"(?i)\b(password|passwd|secret|token|api_key)=([^&\s]+)"), r"\1=***"),
)


def category_of(logger_name: str) -> str:
    """The guide's logging category of a logger."""
    matches = [prefix for prefix in CATEGORIES if logger_name == prefix or logger_name.startswith(prefix + ".")]
    return CATEGORIES[max(matches, key=len)] if matches else "application"


def redact(text: str) -> str:
    """``text`` with every credential-looking part masked."""
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _add_category(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    event["category"] = category_of(str(event.get("logger", "")))
    return event


#: Extra fields libraries attach that duplicate the event (uvicorn's ANSI-coloured copy of the message).
DROPPED_FIELDS = ("color_message",)


def _redact_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in DROPPED_FIELDS:
        event.pop(key, None)
    for key, value in list(event.items()):
        if isinstance(value, str):
            event[key] = redact(value)
        elif value is not None and not isinstance(value, int | float | bool):
            event[key] = redact(str(value))
    return event


def _trace_ids(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The active span's ids, when OpenTelemetry is installed and a span is recording."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is not None:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event["trace_id"] = f"{context.trace_id:032x}"
            event["span_id"] = f"{context.span_id:016x}"
    return event


def _exception_in_one_line(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Console lines name an exception (``error=NoServersError: ...``) instead of printing its traceback:
    no traceback reaches a user's terminal; JSON lines keep the whole traceback for the log store."""
    exc_info = event.pop("exc_info", None)
    if exc_info is True:
        exc_info = sys.exc_info()
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event["error"] = f"{exc_info[0].__name__}: {exc_info[1]}"
    return event


def formatter(*, json_lines: bool) -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler uses: categories, context, trace ids, redaction, then JSON or console."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        _add_category,
        _trace_ids,
        structlog.stdlib.ExtraAdder(),
    ]
    if json_lines:
        exceptions: Any = structlog.processors.format_exc_info
        renderer: Any = structlog.processors.JSONRenderer()
    else:
        exceptions, renderer = _exception_in_one_line, structlog.dev.ConsoleRenderer(colors=False)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, exceptions, _redact_fields, renderer],
    )


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Route every logger to one stderr handler with :func:`formatter` (idempotent: replaces our handler).

    Tripcast's loggers log at ``level``; libraries at WARNING and above (MLflow's and Alembic's INFO lines
    describe their internals, not the user's work). A library whose level is set explicitly (uvicorn's, by
    ``--log-level``) keeps it.
    """
    # MLflow otherwise installs its own stderr handler (plain text, not propagated) when first imported.
    os.environ["MLFLOW_CONFIGURE_LOGGING"] = "false"
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_logger.handlers.clear()
    mlflow_logger.propagate = True
    mlflow_logger.setLevel(logging.NOTSET)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "tripcast", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(json_lines=json_lines))
    handler.tripcast = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("tripcast").setLevel(level.upper())


def bind_context(**values: Any) -> None:
    """Add ``values`` (request id, model version) to every line logged in this context (task or thread)."""
    structlog.contextvars.bind_contextvars(**values)


def clear_context() -> None:
    """Forget what :func:`bind_context` added in this context."""
    structlog.contextvars.clear_contextvars()
