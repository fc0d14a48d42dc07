"""The server's log, as an operator collects it: one JSON object per line with timestamp, level, logger and the
guide's category, and no secret in any line, even when a configured URL carries a password."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from test_serving_http_e2e import TOKEN, TRIP, create_key, running_server

SECRET = "s3cret-redis-password"
#: Credentials a log line must never carry: an unmasked URL password, an API key, a bearer token.
LEAKS = (
    re.compile(r"://[^:/@\s]*:(?!\*\*\*@)[^@/\s]+@"),
    re.compile(r"\btc_[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?i)bearer\s+(?!\*\*\*)\S+"),
)


def test_server_logs_are_json_lines_with_categories_and_no_secrets(
    served_registry: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("TRIPCAST_LOG_FORMAT", "json")
    # A cache URL with a password the local Redis does not expect: the cache fails, is logged, and is skipped.
    monkeypatch.setenv("TRIPCAST_CACHE_URL", f"redis://:{SECRET}@127.0.0.1:6379/15")
    key = create_key(served_registry, "operator")
    with running_server(served_registry, tmp_path, "--log-level", "info") as base:
        answered = httpx.post(f"{base}/v1/predictions", json=TRIP, headers={"Authorization": f"Bearer {TOKEN}"})
        assert answered.status_code == 200, answered.text
        refused = httpx.post(f"{base}/v1/models/reload", headers={"Authorization": f"Bearer {key}x"})
        assert refused.status_code == 401
    text = (tmp_path / "server.log").read_text()
    assert SECRET not in text and key not in text and TOKEN not in text
    for pattern in LEAKS:
        assert not pattern.search(text), pattern.pattern
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert len(events) >= 3, text
    for event in events:
        assert {"timestamp", "level", "logger", "category", "event"} <= set(event), event
        assert event["category"] in {"application", "model", "data", "security"}
    loggers = {event["logger"] for event in events}
    assert any(name.startswith("uvicorn") for name in loggers), loggers  # uvicorn's own lines are JSON too
    assert any(name.startswith("tripcast") for name in loggers), loggers
    refusals = [e for e in events if e["category"] == "security" and "unknown or revoked API key" in e["event"]]
    assert refusals and refusals[0]["level"] == "warning"  # the 401 is a security event
    assert all("color_message" not in event for event in events)
