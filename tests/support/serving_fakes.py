"""Fakes of the registry and predictor ports for unit tests (integration and e2e use the MLflow adapters)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from tripcast.core.domain.errors import NotFoundError
from tripcast.core.domain.evaluation import ModelVersion
from tripcast.core.domain.trip import TripRequest
from tripcast.core.ports.learning import Predictor
from tripcast.core.ports.tracking import ModelRegistry


class FakePredictor(Predictor):
    """minutes = offset + 3 * distance: different versions give visibly different answers."""

    def __init__(self, name: str, version: str, offset: float, delay: threading.Event | None = None) -> None:
        self.model_name = name
        self.model_version = version
        self.offset = offset
        self.calls = 0
        self.delay = delay

    def predict_features(self, features: Any) -> Any:
        return np.asarray(features, dtype=float)[:, 0] * 3 + self.offset

    def predict_trips(self, requests: Sequence[TripRequest]) -> list[float]:
        self.calls += 1
        if self.delay is not None:
            self.delay.wait(5)
        return [self.offset + 3 * r.trip_distance for r in requests]


class FakeRegistry(ModelRegistry):
    """Versions and aliases in memory; ``broken`` versions fail to load."""

    def __init__(self, name: str = "trip-duration") -> None:
        self.name = name
        self.versions: dict[str, ModelVersion] = {}
        self.aliases: dict[str, str] = {}
        self.broken: set[str] = set()
        self.loads: list[str] = []
        self.delay: threading.Event | None = None

    def add(self, version: str, *, alias: str | None = None, metrics: dict[str, float] | None = None) -> None:
        self.versions[version] = ModelVersion(
            self.name, version, metrics=metrics or {"rmse": 5.0}, run_id=f"run{version}"
        )
        if alias:
            self.aliases[alias] = version

    def register(self, model_uri: str, name: str, tags: dict[str, str] | None = None) -> ModelVersion:
        version = str(len(self.versions) + 1)
        self.add(version)
        return self.versions[version]

    def get(self, name: str, ref: str) -> ModelVersion:
        version = self.aliases.get(ref, ref)
        if name != self.name or version not in self.versions:
            raise NotFoundError(f"{name} {ref} not found (have {sorted(self.versions)})")
        aliases = tuple(a for a, v in self.aliases.items() if v == version)
        base = self.versions[version]
        return ModelVersion(base.name, base.version, aliases, base.metrics, base.tags, base.source, None, base.run_id)

    def find_alias(self, name: str, alias: str) -> ModelVersion | None:
        if alias not in self.aliases:
            return None
        return self.get(name, alias)

    def set_alias(self, name: str, alias: str, version: str, tags: dict[str, str] | None = None) -> None:
        self.aliases[alias] = version

    def alias_version(self, name: str, alias: str) -> str | None:
        return self.aliases.get(alias) if name == self.name else None

    def list_versions(self, name: str) -> list[ModelVersion]:
        return [self.get(name, v) for v in sorted(self.versions, key=int, reverse=True)]

    def load_predictor(self, name: str, ref: str) -> Predictor:
        version = self.get(name, ref).version
        self.loads.append(version)
        if version in self.broken:
            raise OSError(f"artifact of version {version} is corrupt")
        return FakePredictor(name, version, offset=float(version) * 100, delay=self.delay)
