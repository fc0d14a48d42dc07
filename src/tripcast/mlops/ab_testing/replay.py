"""Senders of an experiment replay: over HTTP to a running API, or in-process through the prediction use case.

The HTTP sender keeps one connection pool for the whole replay (``max_connections`` = the replay's
in-flight limit) and reads the id of each answer from the ``X-Request-Id`` response header, the id the
server logged the prediction under and the one the outcome is joined on.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.replay import SentRequest
from tripcast.core.services.polling import poll_until
from tripcast.core.services.prediction import Prediction

REQUEST_ID_HEADER = "X-Request-Id"


class ReplayRequestError(RuntimeError):
    """A replayed request the server did not answer with a logged prediction."""


class HttpReplaySender:
    """Sends each payload as one ``POST`` to ``url`` + ``path`` (JSON from ``encode``)."""

    def __init__(
        self,
        url: str,
        encode: Callable[[object], dict[str, Any]],
        *,
        path: str = "/v1/predictions",
        token: str | None = None,
        max_in_flight: int = 200,
        timeout_seconds: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
        self.client = httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout_seconds)
        self.path = path
        self.encode = encode

    async def send(self, payload: object) -> SentRequest:
        response = await self.client.post(self.path, json=self.encode(payload))
        if response.status_code != 200:
            raise ReplayRequestError(f"HTTP {response.status_code}: {response.text[:200]}")
        request_id = response.headers.get(REQUEST_ID_HEADER)
        if not request_id:
            raise ReplayRequestError("no X-Request-Id in the answer: is the server's prediction log on?")
        experiment = response.json().get("experiment")
        return SentRequest(request_id, str(experiment) if experiment is not None else None)

    async def aclose(self) -> None:
        await self.client.aclose()


class InProcessReplaySender:
    """Predicts each payload with the prediction use case (its traffic split and log), no HTTP.

    ``close`` makes what was served durable (flushes the prediction log and the exposures).
    """

    def __init__(self, prediction: Prediction, close: Callable[[], None]) -> None:
        self.prediction = prediction
        self.close = close

    async def send(self, payload: object) -> SentRequest:
        if not isinstance(payload, TripRequest):
            raise TypeError(f"the prediction use case predicts TripRequest payloads, got {type(payload).__name__}")
        served = self.prediction.predict([payload])
        if not served.request_ids:
            raise ReplayRequestError("the prediction was not logged: is the prediction log on?")
        route = served.route
        return SentRequest(served.request_ids[0], route.experiment if route is not None else None)

    async def aclose(self) -> None:
        self.close()


class FeedbackOutcomeRecorder:
    """Records replayed outcomes through the feedback use case's ``ingest`` (a CSV of request_id,
    actual_minutes), once the serving side's buffered prediction log holds every one of the ids."""

    def __init__(
        self,
        ingest: Callable[[str], int],
        known_ids: Callable[[list[str]], set[str]],
        *,
        settle_seconds: float = 30.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self.ingest = ingest
        self.known_ids = known_ids
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds

    def record(self, outcomes: Mapping[str, float]) -> int:
        if not outcomes:
            return 0
        self._await_logged(list(outcomes))
        with tempfile.TemporaryDirectory(prefix="tripcast-replay-") as folder:
            path = Path(folder) / "outcomes.csv"
            with path.open("w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(("request_id", "actual_minutes"))
                writer.writerows((rid, repr(minutes)) for rid, minutes in outcomes.items())
            return self.ingest(str(path))

    def _await_logged(self, ids: list[str]) -> None:
        missing, complete = poll_until(
            lambda: len(ids) - len(self.known_ids(ids)),
            lambda count: count == 0,
            seconds=self.settle_seconds,
            every=self.poll_seconds,
        )
        if not complete:
            raise ReplayRequestError(
                f"{missing} of {len(ids)} answered requests never reached the prediction log within "
                f"{self.settle_seconds:g} s: do the server and this command share TRIPCAST_PREDICTION_LOG_URL?"
            )
