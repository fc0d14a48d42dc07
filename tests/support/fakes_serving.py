"""In-memory fakes of the serving ports (tripcast.core.ports.serving) for tests of the prediction use case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tripcast.core.domain.errors import ModelNotLoadedError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.trip import TripRequest
from tripcast.core.services.prediction import Prediction


@dataclass(frozen=True)
class FakeServedModel:
    """A served model version: any object with ``predict_trips``/``predict_features`` as its predictor."""

    predictor: Any
    version: ModelVersion
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def number(self) -> str:
        return self.version.version

    @property
    def predictor_kind(self) -> str:
        return type(self.predictor).__name__

    @property
    def inference_form(self) -> str | None:
        return None


@dataclass(frozen=True)
class FakeRefresh:
    changed: bool
    version: str | None
    error: str | None = None


class FactoryModelSource:
    """Serves ``factory()`` (called on every ``require``), or nothing while ``factory`` is None."""

    def __init__(self, factory: Callable[[], Any] | None) -> None:
        self.factory = factory

    @property
    def current(self) -> FakeServedModel | None:
        return None if self.factory is None else self.require()

    @property
    def not_ready_reason(self) -> str:
        return "model not loaded yet"

    def require(self) -> FakeServedModel:
        if self.factory is None:
            raise ModelNotLoadedError("model not loaded yet")
        predictor = self.factory()
        return FakeServedModel(predictor, ModelVersion(str(predictor.model_name), str(predictor.model_version)))

    def refresh(self, *, force: bool = False) -> FakeRefresh:
        return FakeRefresh(changed=force, version=None if self.factory is None else self.require().number)

    def start(self, *, load_now: bool = True) -> None:
        """Nothing to follow."""

    def stop(self) -> None:
        """Nothing to stop."""


def predicting_with(factory: Callable[[], Any]) -> Prediction:
    """The prediction use case over ``factory()``'s predictor (a fresh one per call, like a hot swap could give)."""
    return Prediction(FactoryModelSource(factory))


class RecordingMetrics:
    """The metrics port, remembering every call."""

    def __init__(self) -> None:
        self.answered: list[tuple[str, str, int]] = []
        self.served_counts: list[tuple[str, str, int]] = []
        self.cache: list[tuple[int, int]] = []
        self.cache_failures = 0

    def model_answered(self, model_name: str, model_version: str, count: int, seconds: float) -> None:
        assert seconds >= 0
        self.answered.append((model_name, model_version, count))

    def served(self, model_name: str, model_version: str, count: int) -> None:
        self.served_counts.append((model_name, model_version, count))

    def cache_outcome(self, hits: int, misses: int) -> None:
        self.cache.append((hits, misses))

    def cache_failed(self) -> None:
        self.cache_failures += 1


class DictCache:
    """An in-process cache keyed by (model, version, request); ``broken`` makes every call raise."""

    performs_io = False

    def __init__(self, *, broken: bool = False) -> None:
        self.entries: dict[tuple[str, str, TripRequest], float] = {}
        self.broken = broken

    def get_many(self, model_name: str, model_version: str, requests: Sequence[TripRequest]) -> list[float | None]:
        if self.broken:
            raise ConnectionError("cache down")
        return [self.entries.get((model_name, model_version, r)) for r in requests]

    def put_many(
        self, model_name: str, model_version: str, requests: Sequence[TripRequest], minutes: Sequence[float]
    ) -> None:
        if self.broken:
            raise ConnectionError("cache down")
        for request, value in zip(requests, minutes, strict=True):
            self.entries[(model_name, model_version, request)] = value

    def close(self) -> None:
        """Nothing to release."""


class CountingFeatures:
    """Feature rows = one ``[trip_distance]`` row per request; counts how many requests it turned into rows."""

    def __init__(self) -> None:
        self.built = 0

    def rows(self, requests: Sequence[TripRequest]) -> list[list[float]]:
        self.built += len(requests)
        return [[r.trip_distance] for r in requests]


class RecordingDriftWindow:
    """The drift window port: remembers followed versions, observed rows and evaluations."""

    def __init__(self) -> None:
        self.model_key: tuple[str, str] | None = None
        self.followed: list[tuple[str, str]] = []
        self.rows: list[Any] = []
        self.predictions: list[Any] = []
        self.evaluations = 0
        self.fail_observe = False

    def on_model(self, name: str, version: str) -> bool:
        self.followed.append((name, version))
        self.model_key = (name, version)
        return True

    def observe(self, feature_rows: Any, predictions: Any = None) -> None:
        if self.fail_observe:
            raise RuntimeError("window broken")
        self.rows.extend(feature_rows)
        self.predictions.extend(predictions or [])

    def evaluate(self) -> None:
        self.evaluations += 1

    def prediction_distribution(self, bins: int = 20) -> None:
        return None
