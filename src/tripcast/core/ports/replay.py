"""Ports of an experiment replay: labelled requests sent as timed traffic, and their outcomes recorded.

A replay turns recorded history (requests whose true outcome is known) into live-looking traffic for a
running experiment. Nothing here knows what a request is: the composition root supplies the requests
(a domain adapter), the sender (HTTP or in-process) and the recorder of outcomes (the feedback use case).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LabelledRequest:
    """A request to replay and the outcome it really had (known later in real life)."""

    payload: object
    outcome: float


@dataclass(frozen=True, slots=True)
class SentRequest:
    """What answered a replayed request: its request id and the experiment that routed it (None: none did)."""

    request_id: str
    experiment: str | None


class ReplaySender(Protocol):
    """Sends one request to the serving system (``send`` may run concurrently, up to the replay's limit)."""

    async def send(self, payload: object) -> SentRequest:
        """Send ``payload``; raise on a failed request (the replay counts it and goes on)."""

    async def aclose(self) -> None:
        """Release connections; make what was served durable (flush logs kept in this process)."""


class OutcomeRecorder(Protocol):
    """Records the true outcomes of served requests, joined on their request ids."""

    def record(self, outcomes: Mapping[str, float]) -> int:
        """Record every ``request id -> outcome``, all or nothing; returns how many were recorded."""
