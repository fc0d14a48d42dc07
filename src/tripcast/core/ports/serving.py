"""Ports of the prediction use case: the served model, the prediction cache, metrics and the drift window.

Every capability the prediction service and the HTTP API use is declared here, so no caller probes an
adapter with ``getattr``. Adapters live in ``tripcast.mlops.serving`` and ``tripcast.mlops.drift_detection``;
the composition root (``tripcast.bootstrap.serving``) picks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor


class ServedModel(Protocol):
    """One loaded model version: what answers a request, and which version it is."""

    @property
    def version(self) -> ModelVersion:
        """The registry's description of the version."""

    @property
    def predictor(self) -> Predictor:
        """The loaded model."""

    @property
    def loaded_at(self) -> datetime:
        """When this process loaded it."""

    @property
    def name(self) -> str:
        """The registered model's name."""

    @property
    def number(self) -> str:
        """The version number, as text."""

    @property
    def predictor_kind(self) -> str:
        """The implementation answering requests (native or an optimised form), for operators."""

    @property
    def inference_form(self) -> str | None:
        """The row-at-a-time form answering small requests, None when the model has no such choice."""


class RefreshResult(Protocol):
    """What looking at the registry alias did."""

    @property
    def changed(self) -> bool:
        """Whether another version (or a forced reload) now serves."""

    @property
    def version(self) -> str | None:
        """The version serving afterwards, None when none."""

    @property
    def error(self) -> str | None:
        """Why the look or the load failed, None when it did not."""


class ModelSource(Protocol):
    """The model version being served, swapped atomically when the registry alias moves."""

    @property
    def current(self) -> ServedModel | None:
        """The served version, None before the first successful load."""

    @property
    def not_ready_reason(self) -> str:
        """Why nothing is served: a fixed sentence, never an error's text."""

    def require(self) -> ServedModel:
        """The served version, or ModelNotLoadedError."""

    def refresh(self, *, force: bool = False) -> RefreshResult:
        """Look at the registry alias now and load its version when it changed (or when ``force``)."""

    def start(self, *, load_now: bool = True) -> None:
        """Follow the alias in the background."""

    def stop(self) -> None:
        """Stop following the alias."""


class PredictionCache(Protocol):
    """Predicted minutes per (model version, request); misses come back as None."""

    #: Whether a lookup leaves the process (Redis): servers then keep it off their event loop.
    performs_io: bool

    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        """Cached minutes for each request, in order, None where absent."""

    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        """Remember ``minutes[i]`` for ``requests[i]`` under that model version."""

    def close(self) -> None:
        """Release connections."""


class PredictionMetrics(Protocol):
    """Counters and timings of the prediction use case."""

    def model_answered(self, model_name: str, model_version: str, count: int, seconds: float) -> None:
        """The model computed ``count`` predictions in ``seconds`` (cache hits excluded)."""

    def served(self, model_name: str, model_version: str, count: int) -> None:
        """``count`` predictions were answered (cache hits included)."""

    def cache_outcome(self, hits: int, misses: int) -> None:
        """How a cache lookup went."""

    def cache_failed(self) -> None:
        """The cache could not be read or written (predictions went on without it)."""


class RequestFeatures(Protocol):
    """Turns trip requests into the model's feature rows (a matrix in the model spec's column order)."""

    def rows(self, requests: Sequence[TripRequest]) -> Any:
        """Feature rows for ``requests``, in order."""


@dataclass(frozen=True, slots=True)
class DistributionComparison:
    """A histogram of the window's predictions next to the training reference's, over the same bins.

    ``edges`` has one more entry than each share list; the bins span the reference's central 99 % and the
    end bins also hold the values beyond them (the tails), so each share list sums to 1.
    """

    edges: list[float]
    reference: list[float]
    current: list[float]
    n_reference: int
    n_current: int


class DriftWindow(Protocol):
    """The online drift monitor of the served version: a window of served feature rows, tested periodically."""

    @property
    def model_key(self) -> tuple[str, str] | None:
        """The (name, version) whose reference profile the window compares against, None before any."""

    def on_model(self, name: str, version: str) -> object:
        """Follow the served version (load its reference profile); may do I/O, so off the request path."""

    def observe(self, feature_rows: Any, predictions: Any = None) -> None:
        """Add served feature rows (spec order) and their predictions to the window: must be cheap."""

    def evaluate(self) -> object:
        """Run the drift tests on the window and publish the result."""

    def prediction_distribution(self, bins: int = 20) -> DistributionComparison | None:
        """The window's predictions vs the reference profile's, in ``bins`` bins; None without either."""


@dataclass(frozen=True, slots=True)
class Route:
    """Which model answers a request when traffic is split (an experiment), and under which name."""

    model: ServedModel
    experiment: str
    arm: str


class TrafficSplit(Protocol):
    """Splits a served model's traffic between versions (experiments); the prediction use case asks it first."""

    def route(self, unit_id: str) -> Route | None:
        """The route of the unit, or None when no split is active (the served model answers)."""

    def served(
        self,
        route: Route,
        unit_id: str,
        request_ids: Sequence[str],
        requests: Sequence[TripRequest],
        minutes: Sequence[float],
        seconds: float | None = None,
    ) -> None:
        """Record what answered (cheaply: queued), in ``seconds``, and hand any mirrored scoring to the background."""

    def failed(self, route: Route, unit_id: str, request_ids: Sequence[str], seconds: float) -> None:
        """Record that the route's arm failed the requests (the error-rate guardrail)."""
